"""ServiceNow: the sys_audit table (or its history) exported as CSV.

Columns `documentkey` (the record's sys_id), `fieldname`, `oldvalue`, `newvalue`, `user`
(user name), `sys_created_on` (local time of the exporting user: set `time_zone`) and
`record_checkpoint` (the update count). The rows of one record and checkpoint are one update;
the ticket number comes from the `number` field written when the record was inserted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit.errors import InputError
from audit.ingest.csv_reader import read_csv
from audit.sources.common import (
    BadValue,
    Collector,
    local_column,
    local_to_utc,
    object_array,
    require_columns,
)
from audit.sources.config import TicketingConfig
from audit.sources.ticketing import Updates, fields_used, updates_to_table

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
    # Column-wise: the rows are grouped into updates, and the changes of the fields the
    # mapping reads are taken per update, by codes, not by a dict and a tuple per row.
    columns = [str(c) for c in frame.columns]
    cells = {c: frame[c].to_numpy(dtype=object) for c in columns}  # str (read_csv)
    rows = np.asarray(table.rows, dtype=np.int64)
    documents = object_array([d.strip() for d in cells["documentkey"].tolist()])
    fieldnames, newvalues = cells["fieldname"], cells["newvalue"]
    created, users = cells["sys_created_on"], cells["user"]
    stamps = ([s.strip() for s in cells["record_checkpoint"].tolist()]
              if "record_checkpoint" in cells else [""] * len(rows))
    # An update is a record's checkpoint, else its rows of one time and user.
    group_text = object_array([s or f"{c}|{u}" for s, c, u in zip(
        stamps, created.tolist(), users.tolist(), strict=True)])
    # The same audit row exported twice (all fields but sys_id equal): read once.
    repeated = frame.duplicated(subset=[c for c in frame.columns if c != "sys_id"]
                                ).to_numpy(dtype=bool)
    collector.deduplicated += int(repeated.sum())
    kept = np.flatnonzero(~repeated)
    document_codes, document_names = pd.factorize(documents)
    group, first = _updates_of(document_codes[kept], group_text[kept])
    first = kept[first]  # each update's first row, in the order the updates are first read
    ticket = _numbers(document_codes, len(document_names), fieldnames, newvalues,
                      cfg.number_field or "number")[document_codes[first]]
    times = object_array(local_column(created[first].tolist(), TIME_FORMAT, zone))
    good = np.ones(len(first), dtype=bool)
    # Times read column-wise where the zone's offset is plain; others one by one, and
    # updates without a ticket number or with a bad time quarantined in reading order.
    for k in np.flatnonzero(_none(ticket) | _none(times)).tolist():
        row = int(first[k])
        if ticket[k] is None:
            collector.quarantine(int(rows[row]), "documentkey", documents[row],
                                 f"no '{cfg.number_field or 'number'}' row for this record "
                                 "in the export, so its ticket number is unknown")
            good[k] = False
            continue
        try:
            times[k] = local_to_utc(created[row], TIME_FORMAT, zone)
        except BadValue as exc:
            collector.quarantine(int(rows[row]), "sys_created_on", created[row], str(exc))
            good[k] = False
    position = np.cumsum(good) - 1  # an update's place among those read
    changed = _changes(group, good, position, fieldnames[kept], newvalues[kept],
                       fields_used(cfg))
    at = first[good]
    n = len(at)
    unchanged: dict[str, str | None] = {}  # every update's changes: not read
    updates = Updates(
        ticket=ticket[good].tolist(), time=times[good].tolist(),
        author=[u.strip() or None for u in users[at].tolist()],
        record_id=[f"{SYSTEM}:{d}:{g}" for d, g in zip(documents[at].tolist(),
                                                      group_text[at].tolist(), strict=True)],
        row=rows[at].tolist(), changes=[unchanged] * n, public_comment=[False] * n,
        activity=[None] * n, amount=[None] * n)
    updates_to_table(updates, cfg, collector, changed=changed)
    return collector


def _none(values: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    return np.fromiter((v is None for v in values.tolist()), dtype=np.bool_,
                       count=len(values))


def _updates_of(documents: npt.NDArray[np.intp], groups: npt.NDArray[np.object_],
                ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Each row's update (numbered in the order the updates are first read: record, then
    checkpoint or time and user) and each update's first row."""
    if not len(documents):
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    group_codes, distinct = pd.factorize(groups)
    update, _ = pd.factorize(documents.astype(np.int64) * len(distinct) + group_codes)
    first = np.unique(update, return_index=True)[1]
    return np.asarray(update, dtype=np.intp), np.asarray(first, dtype=np.intp)


def _numbers(documents: npt.NDArray[np.intp], n: int, fieldnames: npt.NDArray[np.object_],
             values: npt.NDArray[np.object_], number_field: str) -> npt.NDArray[np.object_]:
    """Per record (code): the first non-empty value its rows write to the number field
    (stripped), None where none does."""
    at = np.flatnonzero(fieldnames == number_field)
    stated = object_array([v.strip() for v in values[at].tolist()])
    written = np.fromiter((bool(v) for v in stated.tolist()), dtype=np.bool_,
                          count=len(stated))
    at, stated = at[written], stated[written]
    records, firsts = np.unique(documents[at], return_index=True)
    numbers = object_array(None, n)
    numbers[records] = stated[firsts]
    return numbers


def _changes(update: npt.NDArray[np.intp], good: npt.NDArray[np.bool_],
             position: npt.NDArray[np.intp], fieldnames: npt.NDArray[np.object_],
             values: npt.NDArray[np.object_], names: list[str],
             ) -> dict[str, dict[int, str | None]]:
    """For each of `names`: the updates read (`good`) that change it, by their place among
    those read (`position`), and the value their last row of that field writes (None where
    blank), as the updates' changes would give them to `updates_to_table`."""
    codes, distinct = pd.factorize(fieldnames)
    code_of = {name: k for k, name in enumerate(distinct.tolist())}
    changed: dict[str, dict[int, str | None]] = {}
    for name in names:
        code = code_of.get(name)
        if code is None:
            changed[name] = {}
            continue
        rows = np.flatnonzero(codes == code)[::-1]  # the last row of an update comes first
        updates, last = np.unique(update[rows], return_index=True)
        read = good[updates]
        written = values[rows[last[read]]].tolist()
        changed[name] = dict(zip(position[updates[read]].tolist(),
                                 [v if v.strip() else None for v in written], strict=True))
    return changed
