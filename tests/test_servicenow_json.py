"""ServiceNow's sys_audit pulled as JSON (the JSONv2 processor's `records`, the Table API's
`result`, its fields as texts or as `sysparm_display_value=all` value objects) imports as
the CSV export of the same audit history does: the same events, quarantine, notes and
correlation. A JSON pull's sys_created_on is the database's value, in UTC, where the CSV
export writes the user's local time (the sources file's `time_zone`, Europe/London here)."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.errors import InputError
from audit.ingest import detect_format
from audit.sources.pipeline import import_and_correlate
from tests.sample_exports import SAMPLE_EXPORTS

CSV_NAME = "servicenow_sys_audit.csv"
LOCAL = ZoneInfo("Europe/London")  # the bundled sources file's time_zone for ServiceNow
FORMS = ("jsonv2", "table", "table-all")


def _utc(text: str) -> str:
    """A CSV export's local sys_created_on as the database holds it (UTC); a text that is
    no time stays as it is (its reading quarantines it either way)."""
    try:
        local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=LOCAL)
    except ValueError:
        return text
    return local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S")


def _records(rows: list[dict[str, str]], form: str) -> list[dict[str, object]]:
    """The CSV's rows as the JSON pull of `form` gives them."""
    if form == "table-all":
        return [{name: {"display_value": value,
                        "value": _utc(value) if name == "sys_created_on" else value}
                 for name, value in row.items()} for row in rows]
    return [{**row, "sys_created_on": _utc(row["sys_created_on"])} for row in rows]


def _write(path: Path, rows: list[dict[str, str]], form: str, pages: int = 1) -> Path:
    """`rows` as a JSON pull of `form` at PATH, in `pages` documents saved one after
    another (a script's pages with sysparm_limit)."""
    key = "records" if form == "jsonv2" else "result"
    records = _records(rows, form)
    size = -(-len(records) // pages)
    path.write_text("\n".join(json.dumps({key: records[k:k + size]}, indent=1)
                              for k in range(0, len(records), size)), encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _with_quarantined(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The sample's rows and three that its reading quarantines: an update of a record whose
    number no row gives, and an update whose time is no time."""
    first = rows[0]
    return [*rows,
            {**first, "sys_id": "a" * 32, "documentkey": "f" * 32, "fieldname": "state",
             "newvalue": "2", "record_checkpoint": "1"},
            {**first, "sys_id": "b" * 32, "fieldname": "state", "newvalue": "3",
             "sys_created_on": "2026-07-01 25:61:00", "record_checkpoint": "9"}]


ZONE_NOTE = "sys_created_on read as local time in "
"""How the note of a CSV export's times read in the sources file's zone goes on: a pull's
times are UTC, so only the CSV's import has it."""


def _no_zone_note(notes: list[str]) -> list[str]:
    return [n for n in notes if ZONE_NOTE not in n]


def _outcome(paths: list[Path], json_file: str | None) -> tuple[pd.DataFrame, ...]:
    """The import's log, quarantine, correlation and notes, the JSON pull's file named and
    numbered as the CSV's (its records are numbered from 1, the CSV's rows from 2: the
    header is row 1)."""
    result = import_and_correlate([(p, None) for p in paths])
    log = result.log.copy()
    quarantine = result.quarantine.copy()
    problems = (result.correlation_problems.copy() if result.correlation_problems is not None
                else pd.DataFrame())
    notes = pd.DataFrame({"note": pd.Series(_no_zone_note(result.notes), dtype=object)})
    if json_file is not None:
        mine = log[C.SOURCE_FILE].astype(str) == json_file
        log[C.SOURCE_FILE] = log[C.SOURCE_FILE].astype(str).replace({json_file: CSV_NAME})
        log.loc[mine, C.SOURCE_ROW] = log.loc[mine, C.SOURCE_ROW] + 1
        for frame in (quarantine, problems):
            if len(frame) and "file" in frame.columns:
                at = frame["file"].astype(str) == json_file
                frame.loc[at, "row"] = frame.loc[at, "row"].astype(int) + 1
                frame["file"] = frame["file"].astype(str).replace({json_file: CSV_NAME})
        notes["note"] = notes["note"].str.replace(json_file, CSV_NAME, regex=False)
    log[C.SOURCE_FILE] = log[C.SOURCE_FILE].astype(str)
    counts = pd.DataFrame([(f.file.replace(json_file or CSV_NAME, CSV_NAME), f.system, f.read,
                            f.imported, f.quarantined, f.deduplicated) for f in result.files])
    return (log.reset_index(drop=True), quarantine.reset_index(drop=True),
            problems.reset_index(drop=True), notes, counts)


def _cli(*args: str) -> tuple[int, str]:
    """Exit code and standard error of a command."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stderr


def _sample_with(folder: Path, servicenow: Path) -> list[Path]:
    """The bundled sample's exports, its ServiceNow CSV replaced by `servicenow`."""
    return [servicenow if p.name == CSV_NAME else p
            for p in sorted(SAMPLE_EXPORTS.iterdir()) if p.name != "role_history.csv"]


@pytest.mark.parametrize("form", FORMS)
def test_a_json_pull_imports_as_the_csv_export_of_the_same_history(
        tmp_path: Path, form: str) -> None:
    rows = _with_quarantined(_rows(SAMPLE_EXPORTS / CSV_NAME))
    exported = _csv(tmp_path / CSV_NAME, rows)
    pulled = _write(tmp_path / f"sys_audit_{form}.json", rows, form)
    assert detect_format(pulled) == "servicenow"
    expected = _outcome(_sample_with(tmp_path, exported), None)
    got = _outcome(_sample_with(tmp_path, pulled), pulled.name)
    assert len(expected[1]) == 2  # (the two updates quarantined, in both)
    for want, have in zip(expected, got, strict=True):
        pd.testing.assert_frame_equal(want, have)


def test_pages_saved_one_after_another_overlapping_are_read_once(tmp_path: Path) -> None:
    """A script's pages saved into one file, the second page starting again with the first
    page's last records (the offset moved while new rows came in): the repeated records are
    dropped and counted, as the CSV export's repeated rows are."""
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)
    records = _records(rows, "table")
    path = tmp_path / "sys_audit_pages.json"
    path.write_text(json.dumps({"result": records[:200]}) + json.dumps(
        {"result": records[190:]}), encoding="utf-8")
    doubled = _csv(tmp_path / CSV_NAME, rows[:200] + rows[190:])
    got = _outcome([path], path.name)
    want = _outcome([doubled], None)
    for one, other in zip(want, got, strict=True):
        pd.testing.assert_frame_equal(one, other)
    assert got[4].iloc[0, 5] == 2  # the two updates of the ten records read twice: dropped


def test_pages_one_per_file_are_joined_as_the_csv_pages_are(tmp_path: Path) -> None:
    """One page per file, the page's end cutting an update (a record's checkpoint) in two:
    read as one event, as the CSV export paged by row count is (the same log, quarantine
    and notes), and as the whole pull is."""
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)

    def imported(paths: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
        result = import_and_correlate([(p, None) for p in paths])
        log = result.log.drop(columns=[C.SOURCE_FILE, C.SOURCE_ROW]).reset_index(drop=True)
        notes = [n.replace(".csv", ".json") for n in _no_zone_note(result.notes)]
        return log, result.quarantine.drop(columns=["row"]), notes

    pulled = imported([_write(tmp_path / "page1.json", rows[:7], "table-all"),
                       _write(tmp_path / "page2.json", rows[7:], "table-all")])
    exported = imported([_csv(tmp_path / "page1.csv", rows[:7]),
                         _csv(tmp_path / "page2.csv", rows[7:])])
    assert pulled[1].empty
    pd.testing.assert_frame_equal(exported[0], pulled[0])
    # (the same notes, the CSV's rows 2 and 3 the pull's records 1 and 2)
    assert [n.replace("row(s) 2, 3", "row(s) 1, 2").replace("rows 2, 3", "rows 1, 2")
            for n in exported[2]] == pulled[2]
    assert any("update(s) cut between this export and page2.json" in n for n in pulled[2])
    whole = imported([_write(tmp_path / "whole.json", rows, "table-all")])[0]
    stated = [c for c in whole.columns if c.startswith("stated:")]
    pd.testing.assert_frame_equal(whole.drop(columns=stated).astype("string"),
                                  pulled[0].drop(columns=stated).astype("string"))


def test_value_objects_are_read_by_their_value_and_times_as_utc(tmp_path: Path) -> None:
    """`sysparm_display_value=all`: the value, not the display value (the user's time zone
    and format); a CSV export's time is local (Europe/London: 13:40 BST is 12:40 UTC)."""
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)[:4]
    records = [{name: {"display_value": f"shown {value}", "value": value}
                for name, value in row.items()} for row in rows]
    for record in records:
        record["sys_created_on"] = {"display_value": "01/07/2026 13:40:44",
                                    "value": "2026-07-01 12:40:44"}
        record["documentkey"]["link"] = "https://instance/api/now/table/x/1"  # type: ignore
    path = tmp_path / "all.json"
    path.write_text(json.dumps({"result": records}), encoding="utf-8")
    from audit.sources import read_source

    table, quarantine = read_source(path, "servicenow")
    assert quarantine.empty
    csv_table, _ = read_source(_csv(tmp_path / "four.csv", rows), "servicenow")
    assert rows[0]["sys_created_on"] == "2026-07-01 13:40:44"
    assert table.frame.astype(str).equals(csv_table.frame.astype(str))


def test_detected_by_content_and_read_with_format_servicenow(tmp_path: Path) -> None:
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)[:8]
    for form in FORMS:
        path = _write(tmp_path / f"{form}.json", rows, form)
        assert detect_format(path) == "servicenow", form
        out = tmp_path / f"{form}.parquet"
        assert _cli("-q", "import", str(path), "--out", str(out)) == (0, "")
        again = tmp_path / f"{form}-named.parquet"
        assert _cli("-q", "import", str(path), "--format", "servicenow",
                    "--out", str(again)) == (0, "")
        assert pd.read_parquet(out).equals(pd.read_parquet(again))
    # Other JSON exports are not taken for it
    assert detect_format(SAMPLE_EXPORTS / "zendesk_ticket_audits.json") == "zendesk"
    assert detect_format(SAMPLE_EXPORTS / "jira_issues.json") == "jira"
    other = tmp_path / "incidents.json"
    other.write_text(json.dumps({"result": [{"number": "INC1", "sys_id": "x"}]}),
                     encoding="utf-8")
    with pytest.raises(InputError):
        detect_format(other)


def _one_a_line(envelope: str, records: list[object]) -> str:
    """A document listing its records one a line: record k on line k + 1."""
    return (f'{{"{envelope}": [\n' + ",\n".join(json.dumps(r) for r in records) + "\n]}")


def _error(path: Path) -> InputError:
    from audit.sources import read_source

    with pytest.raises(InputError) as caught:
        read_source(path, "servicenow")
    return caught.value


def test_a_malformed_document_is_an_input_error_naming_file_and_record(
        tmp_path: Path) -> None:
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)[:5]
    text = json.dumps({"result": _records(rows, "table")}, indent=1)
    broken = tmp_path / "broken.json"
    # The third record's closing brace lost
    third = text.index('"sys_id"', text.index(rows[2]["sys_id"]) - 20)
    cut = text.index("}", third)
    broken.write_text(text[:cut] + text[cut + 1:], encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as decoding:
        json.loads(broken.read_text(encoding="utf-8"))
    error = _error(broken)
    assert error.file == str(broken) and error.record == 3, error
    assert (error.unit, error.row) == ("line", decoding.value.lineno), error
    assert "malformed JSON" in error.message
    out = tmp_path / "x.parquet"
    code, err = _cli("import", str(broken), "--out", str(out))
    assert code == 2 and f"{broken}: record 3 (line {decoding.value.lineno}): malformed " \
        "JSON" in err, err
    # A download of the second page cut off in its last record: numbered over the file
    pages = tmp_path / "pages.json"
    second = json.dumps({"result": _records(rows[:4], "table")})
    pages.write_text(text + "\n" + second[:-len('"}]}')], encoding="utf-8")
    error = _error(pages)
    assert error.record == 5 + 4 and "(document 2 of the file)" in error.message, error
    assert error.row == text.count("\n") + 2, error  # (the second page: one line)
    # A record that is not an object; a field that is neither a text nor a value object
    shapes = tmp_path / "shapes.json"
    records: list[object] = list(_records(rows, "table"))
    records[1] = ["not", "a", "record"]
    shapes.write_text(_one_a_line("records", records), encoding="utf-8")
    error = _error(shapes)
    assert (error.record, error.row, error.field) == (2, 3, "(record)"), error
    assert "shapes.json: record 2 (line 3): field '(record)': not an object" in str(error)
    records = list(_records(rows, "table"))
    records[3] = {**records[3], "newvalue": {"display_value": "x"}}  # type: ignore[dict-item]
    shapes.write_text(_one_a_line("records", records), encoding="utf-8")
    error = _error(shapes)
    assert (error.record, error.row, error.field) == (4, 5, "newvalue"), error
    # A lone surrogate, deep nesting, and no records' list at all
    records = list(_records(rows, "table"))
    records[4] = {**records[4], "newvalue": "\ud800"}  # type: ignore[dict-item]
    shapes.write_text(_one_a_line("result", records), encoding="utf-8")
    error = _error(shapes)
    assert (error.record, error.row, error.field) == (5, 6, "newvalue"), error
    assert "surrogate" in error.message
    shapes.write_text('{"result": [' + "[" * 100_000 + "]" * 100_000 + "]}",
                      encoding="utf-8")
    assert "nested too deeply" in _error(shapes).message
    shapes.write_text(json.dumps({"error": {"message": "User Not Authenticated",
                                            "detail": "Required to provide Auth"},
                                  "status": "failure"}), encoding="utf-8")
    assert "Table API error response" in _error(shapes).message
    shapes.write_text('{"result": []}\n{"result": []}', encoding="utf-8")
    assert "no records to import" in _error(shapes).message  # (as a CSV of a header only)


def test_a_record_without_a_key_field_is_quarantined_naming_it(tmp_path: Path) -> None:
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)[:8]
    records = _records(rows, "jsonv2")
    del records[2]["user"]
    path = tmp_path / "missing.json"
    path.write_text(json.dumps({"records": records}), encoding="utf-8")
    from audit.sources import read_source

    table, quarantine = read_source(path, "servicenow")
    assert quarantine[["row", "field"]].values.tolist() == [[3, "user"]]
    assert quarantine["file"].tolist() == ["missing.json"]
    assert table.records_read == len(table.frame) + 1


def test_a_csv_export_beside_an_overlapping_json_pull_reads_each_update_once(
        tmp_path: Path) -> None:
    """A month's CSV export (local times) beside a pull of an overlapping range (UTC): the
    updates in both are one update, its rows compared by their instants, not by their texts
    (before, the pull's rows of the updates the two share were quarantined as "not one
    update", an hour off, and updates of theirs lost), as two CSV exports of it are."""
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)
    first = _csv(tmp_path / "first.csv", rows[:400])

    def imported(second: Path) -> tuple[pd.DataFrame, list[tuple[object, ...]]]:
        result = import_and_correlate([(first, None), (second, None)])
        assert result.quarantine.empty, result.quarantine
        log = result.log.drop(columns=[C.SOURCE_FILE, C.SOURCE_ROW]).reset_index(drop=True)
        return log, [(f.read, f.imported, f.deduplicated) for f in result.files]

    exported = imported(_csv(tmp_path / "second.csv", rows[300:]))
    pulled = imported(_write(tmp_path / "second.json", rows[300:], "table-all"))
    pd.testing.assert_frame_equal(exported[0], pulled[0])
    assert exported[1] == pulled[1]


def test_assume_tz_does_not_move_a_json_pulls_times_and_says_so(tmp_path: Path) -> None:
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)[:8]
    path = _write(tmp_path / "pull.json", rows, "table")
    plain = import_and_correlate([(path, None)])
    given = import_and_correlate([(path, None)], assume_tz="America/New_York")
    pd.testing.assert_series_equal(plain.log[C.TIMESTAMP], given.log[C.TIMESTAMP])
    assert plain.log[C.TIMESTAMP].iloc[0] == pd.Timestamp("2026-07-01 12:40:44", tz="UTC")
    assert not any("--assume-tz" in n for n in plain.notes)
    assert any(n.startswith("pull.json: sys_created_on read as UTC") and
               "--assume-tz America/New_York" in n for n in given.notes), given.notes


def test_a_csv_exports_times_read_in_the_sources_files_zone_are_told(tmp_path: Path) -> None:
    """A CSV export's local times were read in the sources file's time_zone (the bundled
    file's Europe/London for anyone's export) unsaid: a note now names the zone, unless
    --assume-tz named it; a JSON pull's times, UTC, have no such note."""
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)[:8]
    csv = _csv(tmp_path / "export.csv", rows)
    plain = import_and_correlate([(csv, None)])
    assert [n for n in plain.notes if ZONE_NOTE in n] == [
        "export.csv: sys_created_on read as local time in Europe/London, the sources file's "
        "time_zone for ServiceNow (the zone of the exporting user; where theirs is another, "
        "pass --assume-tz)"]
    given = import_and_correlate([(csv, None)], assume_tz="Europe/London")
    assert not any(ZONE_NOTE in n for n in given.notes)
    pulled = import_and_correlate([(_write(tmp_path / "pull.json", rows, "table"), None)])
    assert not any(ZONE_NOTE in n for n in pulled.notes)


def test_the_zone_note_of_an_export_in_pages_is_said_once(tmp_path: Path) -> None:
    """An export in ten pages said "sys_created_on read as local time in ..." ten times, a
    line per page (at 1M cases, ten identical lines): now once, naming the first page and
    how many others; pages read in another zone keep their own note, and so does the note
    of --assume-tz over the sources file's zone and of a JSON pull's UTC."""
    rows = _rows(SAMPLE_EXPORTS / CSV_NAME)[:120]
    pages = [_csv(tmp_path / f"page_{k}.csv", rows[k * 40:(k + 1) * 40]) for k in range(3)]
    result = import_and_correlate([(page, None) for page in pages])
    assert [n for n in result.notes if "sys_created_on read" in n] == [
        "page_0.csv and 2 other ServiceNow exports: sys_created_on read as local time in "
        "Europe/London, the sources file's time_zone for ServiceNow (the zone of the "
        "exporting user; where theirs is another, pass --assume-tz)"]
    given = import_and_correlate([(page, None) for page in pages], assume_tz="Asia/Tokyo")
    assert [n for n in given.notes if "sys_created_on read" in n] == [
        "page_0.csv and 2 other ServiceNow exports: sys_created_on read in --assume-tz "
        "Asia/Tokyo, not in the sources file's time_zone Europe/London for ServiceNow"]
    pulls = [_write(tmp_path / f"pull_{k}.json", rows[k * 60:(k + 1) * 60], "table")
             for k in range(2)]
    mixed = import_and_correlate([(pages[0], None), *[(p, None) for p in pulls]],
                                 assume_tz="Asia/Tokyo")
    assert [n.split(":")[0] for n in mixed.notes if "sys_created_on read" in n] == [
        "page_0.csv", "pull_0.json and 1 other ServiceNow export"]
