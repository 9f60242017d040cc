"""ServiceNow: an update (a record's checkpoint) cut across two page files by an export paged
by row count is read as the export in one file reads it: its author is the user most of its
rows on both pages name (an empty user, on either page, names none and is read), and its
time the earliest of its rows on both pages. Before, the next page's rows were compared
with the first page's first row's user (a row naming its update's author quarantined where
that first row named another, an empty user quarantined as differing), and a joined row a
few seconds earlier than the first page's rows did not count toward the update's time.

And an update whose rows name users none of which most of them name (three rows, three
users; two rows, two users) is no update whose author can be told: every row of it is
quarantined, naming its file, row and field `user`, and the update is not read (before: the
user its first row named won, the others' rows quarantined), the run's summary counting each
row as quarantined."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from tests.sample_exports import SERVICENOW_SAMPLE, SERVICENOW_ZONE, read_export

AUTHOR = "felix.weber"  # (every row of the sample's first record)
COLLECTED = "servicenow:da9020879a415697c52ded6d0b58d18f:1"
"""The first record's checkpoint 1: its stage at file row 8, receipt at 9, photo at 10."""


def _exports(folder: Path, edits: dict[tuple[int, str], str],
             cut: int = 7, receipt_first: bool = False) -> tuple[Path, list[Path]]:
    """The sample export with the cells given in `edits` ({(file row, column): text})
    replaced: as one file, and in two pages by row count, the first ending after `cut`
    rows (7: checkpoint 1's stage row, file row 8, on page 1; its receipt and photo, rows 9
    and 10, on page 2, as its rows 2 and 3). `receipt_first`: checkpoint 1's receipt row
    written before its stage row (file row 8 the receipt, 9 the stage), before the edits:
    an update whose page-1 row is left out still has its stage, so is an event."""
    with SERVICENOW_SAMPLE.open(newline="", encoding="utf-8") as handle:
        header, *body = list(csv.reader(handle))
    if receipt_first:
        body[6], body[7] = body[7], body[6]
    for (row, column), text in edits.items():
        body[row - 2][header.index(column)] = text
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, rows: list[list[str]]) -> Path:
        path = folder / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *rows])
        return path

    return write("sys_audit.csv", body), [write("sys_audit_p1.csv", body[:cut]),
                                          write("sys_audit_p2.csv", body[cut:])]


def _read(paths: list[Path]) -> tuple[pd.DataFrame, list[tuple[str, int, str, str]]]:
    """The events imported (without their provenance) and the quarantine as (file, row in
    the export in one file, field, value): a page's rows numbered as in the whole."""
    from audit.sources.pipeline import import_and_correlate

    result = import_and_correlate([(p, "servicenow") for p in paths], assume_tz=SERVICENOW_ZONE)
    log = result.log
    log = log[[c for c in log.columns if not c.startswith(("source:", "stated:"))]]
    log = log.astype("string").fillna("").sort_values(C.EVENT_ID, ignore_index=True)
    offset = {"sys_audit.csv": 0, "sys_audit_p1.csv": 0, "sys_audit_p2.csv": 7}
    quarantine = sorted((str(q["file"]), int(q["row"]) + offset[str(q["file"])],
                         str(q["field"]), str(q["value"]))
                        for q in result.quarantine.to_dict("records"))
    return log, quarantine


def _collected(log: pd.DataFrame) -> pd.Series:
    rows = log[log[C.EVENT_ID] == COLLECTED]
    assert len(rows) == 1
    return rows.iloc[0]


def test_an_empty_user_on_the_next_page_is_read_as_within_one_page(tmp_path: Path) -> None:
    # The receipt row (row 9, page 2) names no user: read, as it is in one file. Before,
    # it was quarantined as naming another user than page 1's row 8 ("" != felix.weber).
    whole, pages = _exports(tmp_path, {(9, "user"): ""})
    log, quarantine = _read(pages)
    assert quarantine == []
    assert _collected(log)["evidence:receipt"] == "receipt-CS0000283.jpg"
    assert _collected(log)[C.RESOURCE] == AUTHOR
    one_log, one_quarantine = _read([whole])
    assert one_quarantine == []
    pd.testing.assert_frame_equal(log, one_log)


def test_the_author_of_a_cut_update_is_decided_over_both_pages(tmp_path: Path) -> None:
    # Row 8 (page 1, the update's first row) names amira.haddad, rows 9-10 (page 2) its
    # author felix.weber: row 8 is the row quarantined, as in one file (where the author
    # is the user 2 of its 3 rows name). Before, rows 9 and 10 were quarantined as not
    # naming row 8's user, and the update was read as amira.haddad's.
    whole, pages = _exports(tmp_path, {(8, "user"): "amira.haddad"})
    log, quarantine = _read(pages)
    one_log, one_quarantine = _read([whole])
    assert [q[1:] for q in one_quarantine] == [
        (8, "user", "amira.haddad"), (9, "u_photo", "photo-CS0000283.jpg"),
        (9, "u_receipt", "receipt-CS0000283.jpg")]
    # (The update, without its stage, states no activity: its evidence is said not
    # carried, at the update's row, its first row read: row 9, page 2's row 2, the page
    # that reads it, as in one file. Before: at the row quarantined, row 8 of page 1.)
    assert quarantine == [
        ("sys_audit_p1.csv", 8, "user", "amira.haddad"),
        ("sys_audit_p2.csv", 9, "u_photo", "photo-CS0000283.jpg"),
        ("sys_audit_p2.csv", 9, "u_receipt", "receipt-CS0000283.jpg")]
    assert COLLECTED not in log[C.EVENT_ID].tolist()  # (no activity: no event, as in one file)
    pd.testing.assert_frame_equal(log, one_log)


def test_a_row_on_the_next_page_naming_another_user_is_quarantined_there(
        tmp_path: Path) -> None:
    # Row 10 (page 2) names another user than rows 8-9: quarantined in page 2, naming the
    # update's author and how many of its rows on both pages name it.
    whole, pages = _exports(tmp_path, {(10, "user"): "amira.haddad"})
    from audit.sources.pipeline import import_and_correlate

    result = import_and_correlate([(p, "servicenow") for p in pages],
                                  assume_tz=SERVICENOW_ZONE)
    problems = result.quarantine.to_dict("records")
    assert [(p["file"], p["row"], p["field"], p["value"]) for p in problems] == [
        ("sys_audit_p2.csv", 3, "user", "amira.haddad")]
    reason = str(problems[0]["reason"])
    assert f"its author is {AUTHOR}, named by 2 of its 3 rows" in reason
    assert "its change of 'u_photo' left out of the update" in reason
    log, _ = _read(pages)
    assert _collected(log)["evidence:photo"] == ""
    assert _collected(log)["evidence:receipt"] == "receipt-CS0000283.jpg"
    pd.testing.assert_frame_equal(log, _read([whole])[0])


def test_a_cut_update_is_read_at_the_earliest_of_its_rows_on_both_pages(
        tmp_path: Path) -> None:
    # The receipt (row 9, page 2) two seconds before the stage (row 8, page 1): the update
    # is read at 11:17:02 local (10:17:02 UTC), as in one file. Before: at row 8's 11:17:04.
    whole, pages = _exports(tmp_path, {(9, "sys_created_on"): "2026-07-02 11:17:02"})
    log, quarantine = _read(pages)
    assert quarantine == []
    assert _collected(log)[C.TIMESTAMP] == "2026-07-02 10:17:02+00:00"
    assert _collected(log)["evidence:receipt"] == "receipt-CS0000283.jpg"
    pd.testing.assert_frame_equal(log, _read([whole])[0])


def test_an_update_of_three_rows_naming_three_users_is_not_read(tmp_path: Path) -> None:
    columns, problems = read_export(_exports(tmp_path, {
        (9, "user"): "amira.haddad", (10, "user"): "nadia.rossi"})[0])
    assert [(p["file"], p["row"], p["field"], p["value"], p["case"]) for p in problems] == [
        ("sys_audit.csv", 8, "user", AUTHOR, "CS0000283"),
        ("sys_audit.csv", 9, "user", "amira.haddad", "CS0000283"),
        ("sys_audit.csv", 10, "user", "nadia.rossi", "CS0000283")]
    for p in problems:
        reason = str(p["reason"])
        assert "whose author is not known" in reason
        assert (f"no author can be told: no user is named by most of its rows naming one "
                f"({AUTHOR} by 1, amira.haddad by 1, nadia.rossi by 1, of its 3 rows)"
                ) in reason
        assert "the update is not read" in reason
    # The update is not read (before: as felix.weber's, its receipt and photo quarantined);
    # the record's insert is, as before.
    assert COLLECTED not in columns["event:id"]
    at = [k for k, case in enumerate(columns["case:concept:name"]) if case == "CS0000283"]
    assert [columns["event:id"][k] for k in at][:2] == [
        COLLECTED.removesuffix("1") + "0", COLLECTED.removesuffix("1") + "2"]


def test_two_rows_naming_two_users_and_an_empty_one_have_no_author(tmp_path: Path) -> None:
    # felix.weber, amira.haddad and an empty user: one against one, no author; the empty
    # row is quarantined with them (the update is not read).
    columns, problems = read_export(_exports(tmp_path, {
        (9, "user"): "amira.haddad", (10, "user"): ""})[0])
    assert [(p["row"], p["field"], p["value"]) for p in problems] == [
        (8, "user", AUTHOR), (9, "user", "amira.haddad"), (10, "user", "")]
    assert COLLECTED not in columns["event:id"]


def test_a_majority_of_the_rows_naming_one_is_still_the_author(tmp_path: Path) -> None:
    # Two of three rows name felix.weber: the third is quarantined, as before.
    columns, problems = read_export(_exports(tmp_path, {(10, "user"): "amira.haddad"})[0])
    assert [(p["row"], p["field"]) for p in problems] == [(10, "user")]
    assert COLLECTED in columns["event:id"]


def test_an_update_without_an_author_across_two_pages_is_not_read(tmp_path: Path) -> None:
    # Row 8 (page 1) felix.weber, rows 9 and 10 (page 2) amira.haddad and nadia.rossi:
    # every row quarantined in its own page, as in one file.
    edits = {(9, "user"): "amira.haddad", (10, "user"): "nadia.rossi"}
    whole, pages = _exports(tmp_path, edits)
    log, quarantine = _read(pages)
    assert quarantine == [("sys_audit_p1.csv", 8, "user", AUTHOR),
                          ("sys_audit_p2.csv", 9, "user", "amira.haddad"),
                          ("sys_audit_p2.csv", 10, "user", "nadia.rossi")]
    assert COLLECTED not in log[C.EVENT_ID].tolist()
    pd.testing.assert_frame_equal(log, _read([whole])[0])


def test_the_import_summary_counts_the_rows_of_an_update_without_an_author(
        tmp_path: Path) -> None:
    whole, _ = _exports(tmp_path / "in", {(9, "user"): "amira.haddad",
                                          (10, "user"): "nadia.rossi"})
    plain, _ = _exports(tmp_path / "plain", {})
    said = {}
    for name, path in (("edited", whole), ("plain", plain)):
        result = CliRunner().invoke(main, ["import", str(path), "--assume-tz", SERVICENOW_ZONE,
                                           "--out", str(tmp_path / name / "log.parquet")])
        assert result.exit_code == 0, result.output
        said[name] = next(line for line in result.output.splitlines()
                          if line.startswith("total: read"))
    # The three rows quarantined, each a line, and the update not imported (read: the
    # updates imported and the lines quarantined).
    assert said["plain"].startswith("total: read 305 = imported 305 + quarantined 0")
    assert said["edited"].startswith("total: read 307 = imported 304 + quarantined 3")
    quarantine = pd.read_csv(tmp_path / "edited" / "log.quarantine.csv", dtype=str)
    assert quarantine["row"].tolist() == ["8", "9", "10"]


def _as_pull(page: Path) -> Path:
    """A CSV page of the sample's rows as the same rows pulled as JSON (JSONv2 `records`),
    their times in UTC (the sample's local times are BST, UTC+1, in July)."""
    import json
    from datetime import datetime, timedelta

    with page.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        local = datetime.strptime(row["sys_created_on"], "%Y-%m-%d %H:%M:%S")
        row["sys_created_on"] = (local - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    pulled = page.with_suffix(".json")
    pulled.write_text(json.dumps({"records": rows}), encoding="utf-8")
    page.unlink()
    return pulled


@pytest.mark.parametrize(("receipt", "at"), [
    ("2026-07-02 11:17:02", "02"),  # two seconds before the stage: read at the receipt's
    ("2026-07-02 11:17:05", "04"),  # a second after it: joined, read at the stage's
], ids=["earlier", "later"])
def test_a_cut_update_with_a_json_page_is_read_as_the_csv_pages(
        tmp_path: Path, receipt: str, at: str) -> None:
    # The one page a CSV export (local times), the other a JSON pull (UTC), whichever:
    # the rows compared as instants, joined within 5 seconds and the update read at the
    # earliest. Before, such rows a few seconds apart were not joined at all (their
    # instants were taken of the UTC text made for comparing them, no time in the
    # export's format): the receipt quarantined, "more than 5 seconds" from the stage.
    from audit.sources.pipeline import import_and_correlate

    for pulled in (0, 1):
        folder = tmp_path / f"pulled{pulled}"
        _, pages = _exports(folder, {(9, "sys_created_on"): receipt})
        pages[pulled] = _as_pull(pages[pulled])
        result = import_and_correlate([(p, "servicenow") for p in pages],
                                      assume_tz=SERVICENOW_ZONE)
        assert result.quarantine.empty, result.quarantine.to_dict("records")
        log = result.log.astype({C.TIMESTAMP: "string"})
        collected = log[log[C.EVENT_ID] == COLLECTED]
        assert collected[C.TIMESTAMP].tolist() == [f"2026-07-02 10:17:{at}+00:00"], pulled
        assert collected["evidence:receipt"].tolist() == ["receipt-CS0000283.jpg"]
        assert collected["evidence:photo"].tolist() == ["photo-CS0000283.jpg"]


def _source(paths: list[Path]) -> tuple[str, str, int]:
    """Checkpoint 1's event as read from `paths`: its time (UTC) and the file and row it
    names as its source."""
    from audit.sources.pipeline import import_and_correlate

    log = import_and_correlate([(p, "servicenow") for p in paths],
                               assume_tz=SERVICENOW_ZONE).log
    event = log[log[C.EVENT_ID] == COLLECTED]
    assert len(event) == 1
    return (str(event[C.TIMESTAMP].iloc[0]), str(event[C.SOURCE_FILE].iloc[0]),
            int(event[C.SOURCE_ROW].iloc[0]))


def test_a_cut_update_whose_page_1_rows_are_all_left_out_is_read_on_page_2(
        tmp_path: Path) -> None:
    # Page 1 holds only the receipt (row 8) naming amira.haddad at 11:17:01; the author's
    # stage and photo (rows 9-10) are on page 2 at 11:17:04. The receipt is quarantined
    # for its user, and the update read at the earliest row read, row 9 (page 2's row 2),
    # as in one file. Before: at the quarantined row's 11:17:01, naming p1 row 8.
    whole, pages = _exports(tmp_path, {(8, "user"): "amira.haddad",
                                       (8, "sys_created_on"): "2026-07-02 11:17:01"},
                            receipt_first=True)
    log, quarantine = _read(pages)
    one_log, one_quarantine = _read([whole])
    assert one_quarantine == [("sys_audit.csv", 8, "user", "amira.haddad")]
    assert quarantine == [("sys_audit_p1.csv", 8, "user", "amira.haddad")]
    assert _source([whole]) == ("2026-07-02 10:17:04+00:00", "sys_audit.csv", 9)
    assert _source(pages) == ("2026-07-02 10:17:04+00:00", "sys_audit_p2.csv", 2)
    assert _collected(log)["evidence:receipt"] == ""
    assert _collected(log)["evidence:photo"] == "photo-CS0000283.jpg"
    pd.testing.assert_frame_equal(log, one_log)


def test_a_cut_update_whose_page_1_row_states_no_time_is_read_from_page_2(
        tmp_path: Path) -> None:
    # Page 1's receipt (row 8) states no time: quarantined for it, as in one file, and the
    # stage and photo on page 2 (rows 9-10) read at their 11:17:04. Before: they were
    # compared with the receipt's empty time and quarantined as "more than 5 seconds" from
    # it, the update lost.
    whole, pages = _exports(tmp_path, {(8, "sys_created_on"): ""}, receipt_first=True)
    log, quarantine = _read(pages)
    one_log, one_quarantine = _read([whole])
    assert one_quarantine == [("sys_audit.csv", 8, "sys_created_on", "")]
    assert quarantine == [("sys_audit_p1.csv", 8, "sys_created_on", "")]
    assert _source(pages) == ("2026-07-02 10:17:04+00:00", "sys_audit_p2.csv", 2)
    assert _collected(log)["evidence:photo"] == "photo-CS0000283.jpg"
    pd.testing.assert_frame_equal(log, one_log)


def test_the_time_of_a_cut_update_is_judged_without_its_rows_naming_another_user(
        tmp_path: Path) -> None:
    # Row 8 (page 1) names amira.haddad at 11:17:00, the author's rows 9-10 (page 2) state
    # 11:17:06, six seconds later: row 8 is left out for its user, and rows 9-10 judged
    # among themselves, read at 11:17:06, as in one file. Before: they were compared with
    # row 8's time and quarantined as more than 5 seconds from it.
    whole, pages = _exports(tmp_path, {
        (8, "user"): "amira.haddad", (8, "sys_created_on"): "2026-07-02 11:17:00",
        (9, "sys_created_on"): "2026-07-02 11:17:06",
        (10, "sys_created_on"): "2026-07-02 11:17:06"}, receipt_first=True)
    log, quarantine = _read(pages)
    one_log, one_quarantine = _read([whole])
    assert one_quarantine == [("sys_audit.csv", 8, "user", "amira.haddad")]
    assert quarantine == [("sys_audit_p1.csv", 8, "user", "amira.haddad")]
    assert _source(pages) == ("2026-07-02 10:17:06+00:00", "sys_audit_p2.csv", 2)
    pd.testing.assert_frame_equal(log, one_log)
