"""ServiceNow: the sys_audit table (or its history) exported as CSV.

Columns `documentkey` (the record's sys_id), `fieldname`, `oldvalue`, `newvalue`, `user`
(user name), `sys_created_on` (local time of the exporting user: set `time_zone`) and
`record_checkpoint` (the update count). The rows of one record and checkpoint are one update;
the ticket number comes from the `number` field written when the record was inserted.
"""

from __future__ import annotations

from pathlib import Path

from audit.errors import InputError
from audit.ingest.csv_reader import read_csv
from audit.sources.common import (
    BadValue,
    Collector,
    local_column,
    local_to_utc,
    require_columns,
)
from audit.sources.config import TicketingConfig
from audit.sources.ticketing import UpdateRow, Updates, updates_to_table

SYSTEM = "servicenow"
KEY_COLUMNS = ("documentkey", "fieldname", "oldvalue", "newvalue", "user", "sys_created_on")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def read(path: Path, cfg: TicketingConfig, *, encoding: str | None = None,
         assume_tz: str | None = None) -> Collector:
    table, ragged = read_csv(path, encoding=encoding)
    frame = table.frame
    require_columns(list(frame.columns), KEY_COLUMNS, system="ServiceNow sys_audit", file=path)
    zone = cfg.time_zone or assume_tz
    if zone is None:
        raise InputError("sys_created_on has no time zone: set time_zone for servicenow in "
                         "the sources file or pass --assume-tz", file=path)
    collector = Collector(SYSTEM, path)
    for bad in ragged:
        collector.quarantine(bad.row, "(record)", bad.text,
                             f"{bad.found} fields where the header has {bad.expected}")
    # Plain column lists: one pass over the rows without a pandas object per row or cell.
    columns = [str(c) for c in frame.columns]
    cells = {c: [str(v) for v in frame[c].tolist()] for c in columns}
    rows = [int(r) for r in table.rows]
    documents = [d.strip() for d in cells["documentkey"]]
    fieldnames, newvalues = cells["fieldname"], cells["newvalue"]
    created, users = cells["sys_created_on"], cells["user"]
    stamps = ([s.strip() for s in cells["record_checkpoint"]]
              if "record_checkpoint" in cells else [""] * len(rows))
    contents = list(zip(*(cells[c] for c in columns if c != "sys_id"), strict=True))
    groups: dict[tuple[str, str], list[int]] = {}
    seen_rows: dict[tuple[str, ...], int] = {}
    for position, content in enumerate(contents):
        if content in seen_rows:  # the same audit row exported twice
            collector.deduplicated += 1
            continue
        seen_rows[content] = rows[position]
        group = stamps[position] or f"{created[position]}|{users[position]}"
        groups.setdefault((documents[position], group), []).append(position)
    numbers: dict[str, str] = {}
    number_field = cfg.number_field or "number"
    for document, name, value in zip(documents, fieldnames, newvalues, strict=True):
        if name == number_field and value.strip():
            numbers.setdefault(document, value.strip())
    updates: list[UpdateRow] = []
    # Times read column-wise where the zone's offset is plain; others one by one.
    fast = local_column([created[positions[0]] for positions in groups.values()],
                        TIME_FORMAT, zone)
    for ((document, group), positions), time_text in zip(groups.items(), fast, strict=True):
        first = positions[0]
        row = rows[first]
        ticket = numbers.get(document)
        if ticket is None:
            collector.quarantine(row, "documentkey", document,
                                 f"no '{number_field}' row for this record in the export, so "
                                 "its ticket number is unknown")
            continue
        try:
            time = time_text if time_text is not None else local_to_utc(
                created[first], TIME_FORMAT, zone)
        except BadValue as exc:
            collector.quarantine(row, "sys_created_on", created[first], str(exc))
            continue
        changes: dict[str, str | None] = {}
        for position in positions:
            value = newvalues[position]
            changes[fieldnames[position]] = value if value.strip() else None
        user = users[first].strip() or None
        updates.append((ticket, time, user, f"{SYSTEM}:{document}:{group}", row, changes,
                        False, None, None))
    updates_to_table(Updates.of_rows(updates), cfg, collector)
    return collector
