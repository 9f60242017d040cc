"""ServiceNow's sys_audit rows -> updates, read column-wise (`servicenow.read`), against a
row-by-row reading written from the export's definition: rows of one record and checkpoint
(else of one time and user) are one update, a row exported twice is read once (an update
some of whose rows are repeats counted once among the repeats), the ticket
number is the record's first non-empty `number` row, and the last row of a field in an
update gives its value."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pyarrow as pa
import pytest

from audit.sources import servicenow
from audit.sources.common import BadValue, Collector, local_to_utc
from audit.sources.config import load_sources_config
from audit.sources.ticketing import Update, updates_to_table

ZONE = "Europe/Berlin"
"""--assume-tz, which wins over the zone the sources file names for ServiceNow."""
HEADER = ["sys_id", "tablename", "documentkey", "fieldname", "oldvalue", "newvalue", "user",
          "sys_created_on", "record_checkpoint", "reason"]
# Plain times, the hour the clocks skip and the one they repeat, and texts that are no time.
TIMES = ["2026-07-06 09:15:00", "2026-07-06 11:00:00", "2026-03-29 01:30:00",
         "2026-03-29 02:30:00", "2026-10-25 01:30:00", "2026-10-25 02:30:00",
         " 2026-07-07 10:00:00", "2026-13-01 10:00:00", "soon"]


def _reference(path: Path) -> Collector:
    cfg = load_sources_config().ticketing["servicenow"]
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    collector = Collector("servicenow", path)
    seen: set[tuple[str, ...]] = set()
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    numbers: dict[str, str] = {}
    repeated: set[tuple[str, str]] = set()  # the updates some of whose rows are repeats
    for row, record in enumerate(records, start=2):
        record["row"] = str(row)
        content = tuple(v for k, v in record.items() if k not in ("sys_id", "row"))
        document = record["documentkey"].strip()
        stamp = record.get("record_checkpoint", "").strip()
        group = stamp or f"{record['sys_created_on']}|{record['user']}"
        if content in seen:
            repeated.add((document, group))
            continue
        seen.add(content)
        groups.setdefault((document, group), []).append(record)
        if record["fieldname"] == "number" and record["newvalue"].strip():
            numbers.setdefault(document, record["newvalue"].strip())
    collector.deduplicated = len(repeated)  # counted in updates, as the records read are
    updates = []
    # (the row of each update's last change of an amount, the currency or an evidence
    # item: its lines name it)
    named = [*cfg.amount_fields, *([cfg.currency_field] if cfg.currency_field else []),
             *cfg.evidence_fields]
    field_rows: dict[str, dict[int, int]] = {name: {} for name in named}
    for (document, group), rows in groups.items():
        first = rows[0]
        if document not in numbers:
            collector.quarantine(int(first["row"]), "documentkey", document,
                                 "no 'number' row for this record in the export, so its "
                                 "ticket number is unknown")
            continue
        try:
            time = local_to_utc(first["sys_created_on"], servicenow.TIME_FORMAT,
                                ZONE)
        except BadValue as exc:
            collector.quarantine(int(first["row"]), "sys_created_on",
                                 first["sys_created_on"], str(exc),
                                 case=numbers[document])  # (the quarantine's case column)
            continue
        changes = {r["fieldname"]: r["newvalue"] if r["newvalue"].strip() else None
                   for r in rows}
        for r in rows:
            if r["fieldname"] in field_rows:
                field_rows[r["fieldname"]][len(updates)] = int(r["row"])
        updates.append(Update(numbers[document], time, first["user"].strip() or None,
                              f"servicenow:{document}:{group}", int(first["row"]), changes))
    updates_to_table(updates, cfg, collector, field_rows=field_rows)
    return collector


def _export(path: Path, rng: random.Random, *, checkpoints: bool) -> None:
    cfg = load_sources_config().ticketing["servicenow"]
    fields = ["number", "state", *dict.fromkeys(
        name for name in [*(r.field for r in cfg.activities), cfg.order_field,
                          cfg.currency_field, *cfg.amount_fields, *cfg.evidence_fields]
        if name and name != "comment")]
    stages = [r.value for r in cfg.activities] + ["", " ", "other", "Zoë"]
    rows: list[list[str]] = []
    for record in range(40):
        document = f"doc{record}" if rng.random() < 0.8 else f" doc{record} "
        has_number = rng.random() < 0.85
        for checkpoint in range(rng.randrange(1, 5)):
            time, user = rng.choice(TIMES), rng.choice(["ana", "ben", "", " ana "])
            for _ in range(rng.randrange(1, 6)):
                name = rng.choice(fields)
                if name == "number":
                    if not has_number:
                        continue
                    value = rng.choice(["", f"CS{record:07d}", f" CS{record:07d} "])
                elif name in cfg.amount_fields:
                    value = rng.choice(["12.50", "", "1,5"])
                else:
                    value = rng.choice([*stages, "EUR", "O-1", "photo.jpg"])
                row = [f"s{len(rows)}", "sn_customerservice_case", document, name,
                       rng.choice(["", "x"]), value, user, time, str(checkpoint), ""]
                rows.append(row)
                if rng.random() < 0.1:  # the same audit row exported twice
                    rows.append([f"s{len(rows)}", *row[1:]])
    rng.shuffle(rows)  # the rows of an update need not be next to each other
    header = HEADER if checkpoints else [h for h in HEADER if h != "record_checkpoint"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row if checkpoints else row[:8] + row[9:])


def _content(collector: Collector) -> tuple[object, ...]:
    columns = {name: column.to_pylist() if isinstance(column, pa.Array) else list(column)
               for name, column in (collector.columns or {}).items()}
    return (columns, [int(row) for row in collector.rows], collector.problems,
            collector.deduplicated, collector.skipped)


@pytest.mark.parametrize("checkpoints", [True, False], ids=["checkpoints", "time-and-user"])
@pytest.mark.parametrize("seed", range(4))
def test_servicenow_reads_updates_as_the_row_by_row_reading_does(
        tmp_path: Path, seed: int, checkpoints: bool) -> None:
    path = tmp_path / "sys_audit.csv"
    _export(path, random.Random(seed), checkpoints=checkpoints)
    cfg = load_sources_config().ticketing["servicenow"]
    got = servicenow.read(path, cfg, assume_tz=ZONE)
    expected = _reference(path)
    assert _content(got) == _content(expected)
    # The generated rows reach every branch: repeats, missing numbers, bad and DST times.
    assert expected.deduplicated and expected.columns is not None
    fields = {p["field"] for p in expected.problems}
    assert {"documentkey", "sys_created_on"} <= fields
