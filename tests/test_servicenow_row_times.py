"""ServiceNow: a row of an update (a record's checkpoint) whose own `sys_created_on` is no
time, or another than its update's, is quarantined naming its file, row and field, and its
change is not read into the update. Before, only an update's first row's time was read: a
later row stating `=now()`, nothing, or another day was imported without a word."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from audit.sources import servicenow
from audit.sources.config import load_sources_config

SAMPLE = (Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "exports"
          / "servicenow_sys_audit.csv")
ZONE = "Europe/London"


def _export(tmp_path: Path, times: dict[int, str] | None = None) -> Path:
    """The sample export's first record (its insert, checkpoint 0, and the update that
    collects evidence, checkpoint 1: rows 8-10, receipt at row 9, photo at row 10), with
    the `sys_created_on` of the file rows given in `times` replaced."""
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[:10]
    header = rows[0]
    at = header.index("sys_created_on")
    for row, text in (times or {}).items():
        rows[row - 1][at] = text
    path = tmp_path / "sys_audit.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _read(path: Path) -> tuple[dict[str, list[object]], list[dict[str, object]]]:
    cfg = load_sources_config().ticketing["servicenow"]
    got = servicenow.read(path, cfg, assume_tz=ZONE)
    columns = {name: column.to_pylist() if hasattr(column, "to_pylist") else list(column)
               for name, column in (got.columns or {}).items()}
    return columns, got.problems


def test_the_rows_of_an_update_stating_its_time_are_read_as_before(tmp_path: Path) -> None:
    # (the photo row's time with spaces around it: the same time)
    columns, problems = _read(_export(tmp_path, {10: " 2026-07-02 11:17:04 "}))
    assert problems == []
    assert columns["time:timestamp"] == ["2026-07-01T12:40:44+00:00",
                                         "2026-07-02T10:17:04+00:00"]
    assert columns["evidence:receipt"] == [None, "receipt-CS0000283.jpg"]
    assert columns["evidence:photo"] == [None, "photo-CS0000283.jpg"]


@pytest.mark.parametrize(("written", "said"), [
    ("=now()", "not a time in the format %Y-%m-%d %H:%M:%S"),
    ("", "empty"),
    ("   ", "empty"),
], ids=["formula", "empty", "blank"])
def test_a_later_row_of_an_update_without_a_time_is_quarantined(
        tmp_path: Path, written: str, said: str) -> None:
    columns, problems = _read(_export(tmp_path, {9: written}))
    assert [(p["file"], p["row"], p["field"], p["case"]) for p in problems] == [
        ("sys_audit.csv", 9, "sys_created_on", "CS0000283")]
    reason = str(problems[0]["reason"])
    assert "its first row, row 8, states 2026-07-02 11:17:04" in reason
    assert f"this row's is {said}" in reason
    assert "its change of u_receipt left out of the update" in reason
    # The update is read from its other rows, at its time; the receipt is not read.
    assert columns["time:timestamp"][1] == "2026-07-02T10:17:04+00:00"
    assert columns["concept:name"] == ["Receive refund request", "Collect evidence"]
    assert columns["evidence:receipt"] == [None, None]
    assert columns["evidence:photo"] == [None, "photo-CS0000283.jpg"]


def test_a_later_row_of_an_update_stating_another_time_is_quarantined(
        tmp_path: Path) -> None:
    columns, problems = _read(_export(tmp_path, {10: "2026-07-05 09:00:00"}))
    assert [(p["row"], p["field"], p["value"]) for p in problems] == [
        (10, "sys_created_on", "2026-07-05 09:00:00")]
    assert "this row's is another time" in str(problems[0]["reason"])
    assert "its change of u_photo left out" in str(problems[0]["reason"])
    assert columns["time:timestamp"][1] == "2026-07-02T10:17:04+00:00"
    assert columns["evidence:receipt"] == [None, "receipt-CS0000283.jpg"]
    assert columns["evidence:photo"] == [None, None]


def test_a_record_whose_number_row_states_another_time_has_no_number_read(
        tmp_path: Path) -> None:
    # The insert's rows 2-7 (number at row 2): the order row first, the number row later
    # at another time. Its number is not read from it: every update of the record is
    # quarantined as of no number, besides the row's own line.
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[:10]
    rows[1], rows[2] = rows[2], rows[1]
    rows[2][rows[0].index("sys_created_on")] = "2026-07-09 10:00:00"
    path = tmp_path / "sys_audit.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    columns, problems = _read(path)
    assert columns.get("event:id", []) == []
    assert sorted((p["row"], p["field"]) for p in problems) == [
        (2, "documentkey"), (3, "sys_created_on"), (8, "documentkey")]
