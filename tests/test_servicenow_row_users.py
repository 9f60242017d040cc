"""ServiceNow: a row of an update (a record's checkpoint) whose `user` is not its update's
author (the user most of its rows name) is quarantined naming its file, row and field
`user` and the author, and its change is not read into the update; an update is one user's
transaction, and its author decides the segregation-of-duty rules. Before, a later row
naming another user was imported without a word, and the update's author was whoever its
first row named, so one edited row could make an update another user's. A row whose user
is empty names no other: read, the author taken from the rows that name one (before: an
empty first row left the update without an author)."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.sample_exports import SERVICENOW_SAMPLE, edited_export, read_export

AUTHOR = "felix.weber"  # (every row of the sample's first record)


def _export(tmp_path: Path, users: dict[int, str]) -> Path:
    """The sample export's first record (its insert, rows 2-7, and checkpoint 1, rows 8-10:
    stage at row 8, receipt at row 9, photo at row 10), with the `user` of the file rows
    given in `users` replaced."""
    with SERVICENOW_SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[:10]
    assert {row[rows[0].index("user")] for row in rows[1:]} == {AUTHOR}
    return edited_export(tmp_path, "user", users)


def test_an_update_of_one_user_is_read_as_before(tmp_path: Path) -> None:
    columns, problems = read_export(_export(tmp_path, {}))
    assert problems == []
    assert columns["org:resource"] == [AUTHOR, AUTHOR]
    assert columns["evidence:receipt"] == [None, "receipt-CS0000283.jpg"]
    assert columns["evidence:photo"] == [None, "photo-CS0000283.jpg"]


def test_a_later_row_naming_another_user_is_quarantined(tmp_path: Path) -> None:
    columns, problems = read_export(_export(tmp_path, {9: "amira.haddad"}))
    assert [(p["file"], p["row"], p["field"], p["value"], p["case"]) for p in problems] == [
        ("sys_audit.csv", 9, "user", "amira.haddad", "CS0000283")]
    reason = str(problems[0]["reason"])
    assert f"its author is {AUTHOR}, named by 2 of its 3 rows" in reason
    assert "this row's is amira.haddad" in reason
    assert "its change of 'u_receipt' left out of the update" in reason
    # The update is read from its other rows, by its author; the receipt is not read.
    assert columns["org:resource"] == [AUTHOR, AUTHOR]
    assert columns["concept:name"] == ["Receive refund request", "Collect evidence"]
    assert columns["evidence:receipt"] == [None, None]
    assert columns["evidence:photo"] == [None, "photo-CS0000283.jpg"]


def test_the_earliest_row_naming_another_user_is_quarantined(tmp_path: Path) -> None:
    # Row 8 (the update's first and earliest row, its stage change) names another user
    # than rows 9-10. Before, the update was read as that user's. Now the row is the one
    # quarantined (the author is the user most rows name), and the update, without its
    # stage, states no activity: its evidence is said not carried, as for a row of no time.
    columns, problems = read_export(_export(tmp_path, {8: "amira.haddad"}))
    assert [(p["row"], p["field"]) for p in problems] == [
        (8, "user"), (9, "u_receipt"), (9, "u_photo")]
    assert problems[0]["value"] == "amira.haddad"
    assert f"its author is {AUTHOR}" in str(problems[0]["reason"])
    assert "amira.haddad" not in columns["org:resource"]
    assert columns["concept:name"] == ["Receive refund request"]


def test_an_insert_whose_number_row_names_another_user_has_no_numberread_export(
        tmp_path: Path) -> None:
    # Row 2 (the insert's number row) names another user than rows 3-7: quarantined, and
    # the record has no number read (the rule for a missing number is unchanged).
    columns, problems = read_export(_export(tmp_path, {2: "amira.haddad"}))
    assert columns.get("event:id", []) == []
    assert sorted((p["row"], p["field"]) for p in problems) == [
        (2, "user"), (3, "documentkey"), (8, "documentkey")]


def test_an_empty_user_on_a_row_names_no_other(tmp_path: Path) -> None:
    # An empty user names nobody else: the row is read, and the update is its other rows'
    # author's, even where the empty one is the update's first row (before: no author).
    for row in (8, 9):
        columns, problems = read_export(_export(tmp_path, {row: ""}))
        assert problems == []
        assert columns["org:resource"] == [AUTHOR, AUTHOR]
        assert columns["evidence:receipt"] == [None, "receipt-CS0000283.jpg"]
        assert columns["concept:name"] == ["Receive refund request", "Collect evidence"]


def test_a_row_off_in_user_and_another_off_in_time(tmp_path: Path) -> None:
    # Both checks at once: each row quarantined by its own field, the update read from
    # its remaining row (the stage), at its time, by its author.
    path = _export(tmp_path, {9: "amira.haddad"})
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[9][rows[0].index("sys_created_on")] = "2026-07-05 09:00:00"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    columns, problems = read_export(path)
    assert sorted((p["row"], p["field"]) for p in problems) == [
        (9, "user"), (10, "sys_created_on")]
    assert columns["org:resource"] == [AUTHOR, AUTHOR]
    assert columns["time:timestamp"][1] == "2026-07-02T10:17:04+00:00"
    assert columns["evidence:receipt"] == [None, None]
    assert columns["evidence:photo"] == [None, None]
