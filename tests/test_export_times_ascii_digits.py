"""An export's time written in another script's digits is quarantined, not read.

Python's strptime, which reads the times of the exports that are not of their plain shape,
takes any script's digits (its patterns use \\d): a PayPal `Date` of `01/07/２０２６`, an
Adyen `Creation Date` or a ServiceNow `sys_created_on` of `２０２６-07-01 ...` were imported
as 2026 (found by tests/fuzz_imports.py), where a generic log's time of them is quarantined
as "not a timestamp in ISO 8601". No export writes them: such a value is quarantined as not
a time of the export's format.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from audit.ingest import import_sources

DATA = Path(__file__).parent / "data" / "sources"


@pytest.mark.parametrize(("system", "name", "column", "row", "value"), [
    ("paypal", "activity.csv", "Date", 1, "01/07/２０２６"),  # (shown with its Time and zone)
    ("adyen", "settlement_details.csv", "Creation Date", 1, "２０２６-07-01 12:00:00"),
    ("servicenow", "sys_audit.csv", "sys_created_on", 1, "２０２６-07-06 09:15:00"),
])
def test_a_time_in_another_scripts_digits_is_quarantined(
        tmp_path: Path, system: str, name: str, column: str, row: int, value: str) -> None:
    with (DATA / system / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    at = rows[0].index(column)
    # (ServiceNow: every row of the update holds its time: all of them written so)
    same = [k for k, r in enumerate(rows) if k and r[at] == rows[row][at]] \
        if system == "servicenow" else [row]
    for k in same:
        rows[k][at] = value
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    result = import_sources([(path, system)])
    if system == "paypal":  # (a time read from three cells names them all)
        column = "Date, Time, TimeZone"
        cells = dict(zip(rows[0], rows[row], strict=True))
        value = f"{value}, {cells['Time']}, {cells['TimeZone']}"
    lines = result.quarantine[result.quarantine["field"] == column]
    assert len(lines) >= 1, result.quarantine
    assert set(lines["value"]) == {value}
    assert lines["reason"].str.contains("not a time").all(), lines["reason"].tolist()
