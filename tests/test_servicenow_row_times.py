"""ServiceNow: a row of an update (a record's checkpoint) whose own `sys_created_on` is no
time, or more than `TIME_TOLERANCE` (5) seconds from its update's other rows, is quarantined
naming its file, row and field, and its change is not read into the update; rows a few
seconds apart are one update, read at its earliest time. Before, only an update's first
row's time was read: a later row stating `=now()`, nothing, or another day was imported
without a word; then (0d5104e) a row one second off the first row was quarantined."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.sample_exports import SERVICENOW_SAMPLE, edited_export, read_export


def _export(tmp_path: Path, times: dict[int, str] | None = None) -> Path:
    """The sample export's first record (its insert, checkpoint 0, and the update that
    collects evidence, checkpoint 1: rows 8-10, receipt at row 9, photo at row 10), with
    the `sys_created_on` of the file rows given in `times` replaced."""
    return edited_export(tmp_path, "sys_created_on", times or {})


def test_the_rows_of_an_update_stating_its_time_are_read_as_before(tmp_path: Path) -> None:
    # (the photo row's time with spaces around it: the same time)
    columns, problems = read_export(_export(tmp_path, {10: " 2026-07-02 11:17:04 "}))
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
    columns, problems = read_export(_export(tmp_path, {9: written}))
    assert [(p["file"], p["row"], p["field"], p["case"]) for p in problems] == [
        ("sys_audit.csv", 9, "sys_created_on", "CS0000283")]
    reason = str(problems[0]["reason"])
    assert "read at row 8's 2026-07-02 11:17:04, the earliest of its rows within 5 seconds" \
        in reason
    assert f"this row's is {said}" in reason
    assert "its change of 'u_receipt' left out of the update" in reason
    # The update is read from its other rows, at its time; the receipt is not read.
    assert columns["time:timestamp"][1] == "2026-07-02T10:17:04+00:00"
    assert columns["concept:name"] == ["Receive refund request", "Collect evidence"]
    assert columns["evidence:receipt"] == [None, None]
    assert columns["evidence:photo"] == [None, "photo-CS0000283.jpg"]


def test_a_later_row_of_an_update_stating_another_time_is_quarantined(
        tmp_path: Path) -> None:
    columns, problems = read_export(_export(tmp_path, {10: "2026-07-05 09:00:00"}))
    assert [(p["row"], p["field"], p["value"]) for p in problems] == [
        (10, "sys_created_on", "2026-07-05 09:00:00")]
    assert "this row's is another time, more than 5 seconds from the update's" in str(
        problems[0]["reason"])
    assert "its change of 'u_photo' left out" in str(problems[0]["reason"])
    assert columns["time:timestamp"][1] == "2026-07-02T10:17:04+00:00"
    assert columns["evidence:receipt"] == [None, "receipt-CS0000283.jpg"]
    assert columns["evidence:photo"] == [None, None]


def test_a_record_whose_number_row_states_another_time_has_no_numberread_export(
        tmp_path: Path) -> None:
    # The insert's rows 2-7 (number at row 2): the order row first, the number row later
    # at another time. Its number is not read from it: every update of the record is
    # quarantined as of no number, besides the row's own line.
    with SERVICENOW_SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[:10]
    rows[1], rows[2] = rows[2], rows[1]
    rows[2][rows[0].index("sys_created_on")] = "2026-07-09 10:00:00"
    path = tmp_path / "sys_audit.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    columns, problems = read_export(path)
    assert columns.get("event:id", []) == []
    assert sorted((p["row"], p["field"]) for p in problems) == [
        (2, "documentkey"), (3, "sys_created_on"), (8, "documentkey")]


# Rows of one update a few seconds apart (a large update crossing a second boundary):
# one update, read at its earliest time. Before, a row one second off its update's first
# row was quarantined, and with it its change (here: the insert's order, currency, state,
# stage and amount; or the record's number, so the whole record).

def test_an_insert_whose_first_row_is_a_second_later_is_read_whole(tmp_path: Path) -> None:
    # The insert's rows 2-7 state 2026-07-01 13:40:44; row 2 (the number) one second later.
    columns, problems = read_export(_export(tmp_path, {2: "2026-07-01 13:40:45"}))
    assert problems == []
    # Read at the earliest time its rows state (row 3's), not the file's first row's.
    assert columns["time:timestamp"] == ["2026-07-01T12:40:44+00:00",
                                         "2026-07-02T10:17:04+00:00"]
    assert columns["concept:name"] == ["Receive refund request", "Collect evidence"]
    assert columns["case:concept:name"] == ["CS0000283", "CS0000283"]
    with SERVICENOW_SAMPLE.open(newline="", encoding="utf-8") as handle:
        sample = list(csv.reader(handle))[:10]
    header = sample[0]
    insert = {r[header.index("fieldname")]: r[header.index("newvalue")] for r in sample[1:7]}
    assert columns["order:id"][0] == insert["u_order_number"]
    assert columns["refund:currency"][0] == insert["u_currency"]
    assert columns["refund:amount"][0] == insert["u_requested_amount"]


def test_a_number_row_a_second_earlier_keeps_the_record(tmp_path: Path) -> None:
    # The number row (row 2) a second before the insert's other rows: the record is read,
    # at the number row's time (the earliest).
    columns, problems = read_export(_export(tmp_path, {2: "2026-07-01 13:40:43"}))
    assert problems == []
    assert columns["case:concept:name"] == ["CS0000283", "CS0000283"]
    assert columns["time:timestamp"][0] == "2026-07-01T12:40:43+00:00"


def test_rows_of_an_update_spread_within_the_tolerance_are_one_update(
        tmp_path: Path) -> None:
    # Rows 2-7 from 13:40:44 to 13:40:49 (5 seconds, the tolerance): one update.
    columns, problems = read_export(_export(tmp_path, {
        row: f"2026-07-01 13:40:{44 + row - 2}" for row in range(2, 8)}))
    assert problems == []
    assert columns["time:timestamp"][0] == "2026-07-01T12:40:44+00:00"
    assert columns["concept:name"][0] == "Receive refund request"


def test_a_row_beyond_the_tolerance_is_still_quarantined(tmp_path: Path) -> None:
    # Row 4 six seconds after the insert's others: not one update with them.
    columns, problems = read_export(_export(tmp_path, {4: "2026-07-01 13:40:50"}))
    assert [(p["file"], p["row"], p["field"], p["value"]) for p in problems] == [
        ("sys_audit.csv", 4, "sys_created_on", "2026-07-01 13:40:50")]
    reason = str(problems[0]["reason"])
    assert "more than 5 seconds" in reason
    assert columns["case:concept:name"] == ["CS0000283", "CS0000283"]
    assert columns["time:timestamp"][0] == "2026-07-01T12:40:44+00:00"


def test_the_first_row_far_off_leaves_the_othersread_export(tmp_path: Path) -> None:
    # The file's first row of the insert (the number) a day off: the insert is its other
    # five rows, at their time; only the number row is quarantined (and with it the
    # record's number, so the record: the rule for a missing number is unchanged).
    columns, problems = read_export(_export(tmp_path, {2: "2026-07-02 13:40:44"}))
    assert columns.get("event:id", []) == []
    assert columns.get("event:id", []) == []
    assert sorted((p["row"], p["field"]) for p in problems) == [
        (2, "sys_created_on"), (3, "documentkey"), (8, "documentkey")]
    # (the insert is read at row 3, the earliest of its five rows of one time)
    reason = next(str(p["reason"]) for p in problems if p["row"] == 2)
    assert "read at row 3's 2026-07-01 13:40:44" in reason


def test_an_update_whose_first_row_states_no_time_is_read_from_its_others(
        tmp_path: Path) -> None:
    # Row 8 (the first row of checkpoint 1, its stage) empty: that row is quarantined, the
    # update read at its other rows' time. Before, the whole update was quarantined at row
    # 8 (the reason saying only that its time is no time).
    columns, problems = read_export(_export(tmp_path, {8: ""}))
    assert (problems[0]["row"], problems[0]["field"]) == (8, "sys_created_on")
    reason = str(problems[0]["reason"])
    assert "read at row 9's 2026-07-02 11:17:04" in reason
    assert "this row's is empty" in reason
    assert "its change of 'u_refund_stage' left out" in reason
    # (without its stage the update states no activity, so no event: its evidence is said
    # not carried, at the update's row, now row 9)
    assert columns["concept:name"] == ["Receive refund request"]
    assert [(p["row"], p["field"]) for p in problems[1:]] == [(9, "u_receipt"),
                                                              (9, "u_photo")]
