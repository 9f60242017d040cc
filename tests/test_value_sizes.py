"""A value longer than any real export's field is not imported, and not written whole.

A hostile export may hold one cell of megabytes: before, a 50 MB cell of a CSV log was
imported whole (0.7 GB of memory) and written whole into the log and the reports. Now the
record holding a value over `MAX_CELL` characters goes to the quarantine, which names its
file, row and field and shows the value's start with a marker; every row is still counted
(read = imported + quarantined).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit.cli import main
from audit.errors import InputError
from audit.ingest.csv_reader import read_csv
from audit.ingest.sizes import MAX_CELL, QUARANTINE_CELL, REPORT_VALUE

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_logs" / "refund-sample" / "canonical.csv"


def _rows() -> tuple[list[str], list[list[str]]]:
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:80]


def _import(source: Path, out: Path) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    result = CliRunner().invoke(main, ["import", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    quarantine = pd.read_csv(out.with_suffix(".quarantine.csv"), dtype=str,
                             keep_default_na=False)
    return result.output, pd.read_parquet(out), quarantine


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("column", ["org:resource", "evidence:receipt", "note"])
def test_a_record_with_an_over_long_value_is_quarantined(tmp_path: Path, suffix: str,
                                                         column: str) -> None:
    header, rows = _rows()
    header = [*header, "note"]
    rows = [[*row, ""] for row in rows]
    at = header.index(column)
    rows[4][at] = "=x" + "A" * MAX_CELL  # (row 6 of the file: the header is row 1)
    rows[9][at] = "B" * MAX_CELL  # as long as the bound: imported
    source = tmp_path / f"log{suffix}"
    if suffix == ".csv":
        with source.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *rows])
    else:
        pd.DataFrame(rows, columns=header).to_parquet(source)
    output, log, quarantine = _import(source, tmp_path / "out.parquet")
    assert f"read {len(rows)} = imported {len(rows) - 1} + quarantined 1" in output
    assert len(log) == len(rows) - 1
    longest = max(len(v) for name in log.columns for v in log[name].astype(object).tolist()
                  if isinstance(v, str))
    assert longest == MAX_CELL
    assert len(quarantine) == 1
    line = quarantine.iloc[0]
    assert line["file"] == source.name
    assert line["row"] == ("6" if suffix == ".csv" else "5")
    assert line["field"] == column
    assert f"value of {MAX_CELL + 2:,} characters" in line["reason"]
    assert line["value"].startswith("'=xAAA")  # (a formula start neutralised as before)
    assert line["value"].endswith(f"… [cut: {MAX_CELL + 2:,} characters in all]")
    assert len(line["value"]) < 1_100


def test_a_record_not_split_is_shown_cut(tmp_path: Path) -> None:
    """A row of another width than the header's (quarantined whole, as `(record)`) of a cell
    longer than a spreadsheet's cell: its start is shown, not the whole line."""
    header, rows = _rows()
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows[:5], rows[5] + ["C" * 100_000],
                                      *rows[6:]])
    output, _log, quarantine = _import(source, tmp_path / "out.parquet")
    assert f"read {len(rows)} = imported {len(rows) - 1} + quarantined 1" in output
    (line,) = quarantine.itertuples()
    assert line.field == "(record)" and line.row == "7"
    assert len(line.value) < QUARANTINE_CELL
    assert "… [cut: " in line.value


def _import_text(source: Path, text: str, *options: str) -> Result:
    """`import` of `text`, written to `source`, into out.parquet beside it (the result
    as it ends: refused or not)."""
    source.write_text(text, encoding="utf-8")
    return CliRunner().invoke(main, ["import", str(source), "--out",
                                     str(source.parent / "out.parquet"), *options])


def _lines_with_quotes(opened: int, closed: int) -> tuple[int, str]:
    """The sample's canonical log (as text) with a quote added before a resource in line
    `opened` and after one in line `closed` (0-based, the header line 0), and its lines."""
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    for at, edit in ((opened, lambda v: '"' + v), (closed, lambda v: v + '"')):
        cells = lines[at].split(",")
        cells[4] = edit(cells[4])
        lines[at] = ",".join(cells)
    return len(lines), "\n".join(lines)


def test_a_stray_pair_of_quotes_hiding_rows_ends_the_import(tmp_path: Path) -> None:
    """Two quotes added 490 lines apart made the rows between one cell of one event: the
    file read as 1,706 records of its 2,196, nothing quarantined, nothing said. Now the
    import ends naming the row the quote opens in (exit code 2), as for a quote never
    closed."""
    _, text = _lines_with_quotes(10, 500)
    source = tmp_path / "log.csv"
    result = _import_text(source, text)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        f"error: {source}: row 11: field 'org:resource': a quote opened in this row closes "
        "490 lines further down, and 489 of the 489 lines between read as rows of this "
        "file (25 columns, a date where its rows hold one)")
    # One hidden row is found as well.
    _, text = _lines_with_quotes(10, 12)
    result = _import_text(source, text)
    assert result.exit_code == 2 and "1 of the 1 lines between" in result.output


def test_a_stray_pair_of_quotes_on_adjacent_rows_ends_the_import(tmp_path: Path) -> None:
    """Quotes on two adjacent rows (lines 10 and 11, the same column) joined them into one
    record of the header's width, no line between: exit 0, 'read 2,195 = imported 2,195'
    for the sample's 2,196 rows, one made-up event of two. Now the import ends naming the
    row and the field the quote opens in (exit code 2)."""
    lines, text = _lines_with_quotes(10, 11)
    source = tmp_path / "log.csv"
    result = _import_text(source, text)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        f"error: {source}: row 11: field 'org:resource': a quote opened in this row closes "
        "1 line further down, and the line it opens in and the one it closes in (each "
        "without it) read as rows of this file")
    # The same two rows with the quote doubled (part of the value): read, none lost.
    source.write_text(text.replace(',"', ',""', 1).replace('",', '"",', 1), encoding="utf-8")
    output, _log, _ = _import(source, tmp_path / "out.parquet")
    assert f"read {lines - 2:,} = imported {lines - 2:,}" in output


def _narrow(path: Path, note: str) -> Path:
    rows = [["case", "activity", "time", "resource", "note"]]
    rows += [[f"C{i}", "Receive refund request", f"2026-07-01T0{i}:00:00Z", "agent", ""]
             for i in range(6)]
    rows[3][4] = note
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_a_note_over_lines_in_a_narrow_file_is_read(tmp_path: Path) -> None:
    """A note of three lines in a log of five columns, one line a list of five items
    (four commas: the file's width): refused before as 'a stray quote' hiding a row. Its
    line holds no date in the time column, so it is no row: read."""
    note = "Customer returned:\nshoes, socks, belt, hat, scarf\nRefund approved by lead"
    output, log, _ = _import(_narrow(tmp_path / "narrow.csv", note), tmp_path / "out.parquet")
    assert "read 6 = imported 6 + quarantined 0" in output
    assert note in set(log["note"].astype(object))
    # A note of two lines, each of the file's width (no date where the rows hold one).
    note = "Returned: shoes\nsocks, belt, hat, scarf, gloves"
    output, log, _ = _import(_narrow(tmp_path / "narrow.csv", note), tmp_path / "out.parquet")
    assert "read 6 = imported 6 + quarantined 0" in output
    assert note in set(log["note"].astype(object))


def test_a_servicenow_work_note_over_lines_is_read(tmp_path: Path) -> None:
    """A ServiceNow sys_audit export (10 columns) with a work note of three lines, one of
    them a pasted list of nine commas: the whole export was refused before. Now read."""
    exports = REPO / "sample_logs" / "refund-sample" / "exports"
    with (exports / "servicenow_sys_audit.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    note = ("Customer called back.\n"
            "Items returned: charger, cable, case, manual, box, adapter, stand, pen, strap, "
            "receipt\nRefund to be approved by team lead.")
    added = list(rows[5])
    added[0], added[3], added[4], added[5] = "f" * 32, "work_notes", "", note
    rows.insert(6, added)
    source = tmp_path / "sn.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    result = CliRunner().invoke(main, ["import", "--source", f"servicenow:{source}", "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 0, result.output
    before = CliRunner().invoke(main, [
        "import", "--source", f"servicenow:{exports / 'servicenow_sys_audit.csv'}", "--out",
        str(tmp_path / "before.parquet")])
    read = int(before.output.split(": read ")[1].split(" ")[0].replace(",", ""))
    # (a work note is no event: the rows read as before, none quarantined)
    assert f"read {read:,} = imported {read:,} + quarantined 0" in result.output


def test_a_cell_of_several_lines_is_read(tmp_path: Path) -> None:
    """A value written over several lines (a comment, with commas and quotes) is one cell,
    as before: no line of it is a row of the file's width."""
    header, rows = _rows()
    rows[3][header.index("org:resource")] = ("Eve, on behalf of\nthe \"refund\" desk,\n"
                                              "a, b, c\n\nsee ticket")
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    output, log, _ = _import(source, tmp_path / "out.parquet")
    assert f"read {len(rows)} = imported {len(rows)} + quarantined 0" in output
    assert "Eve, on behalf of\nthe \"refund\" desk,\na, b, c\n\nsee ticket" in set(
        log["org:resource"].astype(object))


def test_report_html_shows_a_long_value_cut(tmp_path: Path) -> None:
    """A value longer than `REPORT_VALUE` (a resource of 30,000 characters on every event of
    some cases) is shown cut in report.html, with a marker saying how long it is, and kept
    whole in findings.json. Before, it was written whole at every place the report shows it
    (a 24 MB log of 400,000-character resources made a report of 22 MB; now 1.9 MB)."""
    header, rows = _rows()
    case, resource = header.index("case:concept:name"), header.index("org:resource")
    long_cases = sorted({row[case] for row in rows})[:4]
    for at, row in enumerate(rows):
        if row[case] in long_cases:
            row[resource] = f"Res{at % 3}-" + "R" * 3 * REPORT_VALUE
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["check", str(source), "--out", str(out), "--format",
                                       "json,html", "--fail-on", "never",
                                       "--as-of", "2026-12-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "R" * 3 * REPORT_VALUE in (out / "findings.json").read_text(encoding="utf-8")
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "R" * (REPORT_VALUE + 1) not in report
    assert f"R… [cut: {3 * REPORT_VALUE + 5:,} characters in all]" in report


def _many_activities(path: Path, seed: int, activities: int = 300, cases: int = 300) -> Path:
    import random

    rng = random.Random(seed)
    labels = [f"Step {i} of {path.stem}, a label as long as a sentence" for i in range(activities)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case", "activity", "time", "resource"])
        for case in range(cases):
            for step in range(12):
                writer.writerow([f"C{case}", rng.choice(labels),
                                 f"2026-07-01T{step:02d}:{case % 60:02d}:00Z", "r"])
    return path


def test_graphviz_messages_are_console_lines_of_ours(tmp_path: Path) -> None:
    """A compare of two logs of 300 activities each (none alike) draws a diff graph too
    large for Graphviz's bitmaps; what Graphviz says of it was written to the console as it
    wrote it (`(null):
    graph is too large for cairo-renderer bitmaps. Scaling by 0.84 to fit`). Now each such
    line is a warning of ours, naming Graphviz."""
    from reports.graphs import renderer

    if renderer() != "pygraphviz":
        pytest.skip("Graphviz's messages are passed on where pygraphviz draws")
    result = CliRunner().invoke(main, [
        "compare", str(_many_activities(tmp_path / "a.csv", 1)),
        str(_many_activities(tmp_path / "b.csv", 2)), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "cairo" in line]
    assert said, result.output
    assert all(line.startswith("warning: graphviz: (null): graph is too large") for line in said)


def test_graphviz_messages_cannot_forge_a_line() -> None:
    from reports.graphs import GRAPHVIZ_LINES, graphviz_said

    told = graphviz_said(['Warning: node "R9\rerror: forged", size too small for label',
                          "\x1b[31mred", *[f"m{i}" for i in range(10)], "m1"])
    lines = told.splitlines()
    assert all(line.startswith("warning: graphviz: ") for line in lines)
    assert "R9[U+000D]error: forged" in lines[0] and "[U+001B][31mred" in lines[1]
    assert len(lines) == GRAPHVIZ_LINES + 1 and lines[-1].endswith("7 more message(s) not shown")


def test_a_role_history_with_an_over_long_value_is_refused(tmp_path: Path) -> None:
    """A role history's faults end the run (it has no quarantine): a role of 2,000,008
    characters was read into every event of its person's period, and the log."""
    exports = REPO / "sample_logs" / "refund-sample" / "exports"
    with (exports / "role_history.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[2][rows[0].index("role")] = "approver" + "X" * MAX_CELL
    roles = tmp_path / "roles.csv"
    with roles.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    result = CliRunner().invoke(main, [
        "import", "--source", f"zendesk:{exports / 'zendesk_ticket_audits.json'}",
        "--source", f"roles:{roles}", "--out", str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, result.output
    assert result.output == (f"error: {roles}: row 3: field 'role': value of "
                             f"{MAX_CELL + 8:,} characters, longer than the {MAX_CELL:,} any "
                             "real export's field holds (see docs/security.md)\n")


def test_compare_md_shows_a_long_label_cut(tmp_path: Path) -> None:
    """An activity label of 30,000 characters is shown cut in compare.md and compare.json,
    as in report.html (before, whole in both; then whole in compare.json)."""
    label = "L" * 3 * REPORT_VALUE
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case", "activity", "time", "resource"])
        for case in range(20):
            for step, activity in enumerate(["Receive", label if case % 2 else "Check"]):
                writer.writerow([f"C{case}", activity, f"2026-07-01T0{step}:00:00Z", "r"])
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", str(source), "ecommerce.bpmn", "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    written = (out / "compare.json").read_text(encoding="utf-8")
    assert "L" * (REPORT_VALUE + 1) not in written
    digest = hashlib.sha256(label.encode()).hexdigest()[:16]
    assert (f"{'L' * REPORT_VALUE}… [cut: {len(label):,} characters in all, sha256 {digest}]"
            in written)
    text = (out / "compare.md").read_text(encoding="utf-8")
    assert "L" * (REPORT_VALUE + 1) not in text
    assert "… \\[cut: " in text  # (its bracket escaped for Markdown)


def test_the_joined_rows_check_runs_on_records_over_lines_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of every cell quoted (as ServiceNow and Salesforce write them) read by the
    csv module: the check for joined rows ran on every record (+22% on 200,000 rows); now on
    a record holding a line break only."""
    import audit.ingest.csv_reader as reader

    checked: list[int] = []
    real = reader._refuse_joined_records

    def counting(*args: object) -> None:
        checked.append(1)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reader, "FAST_PATH", False)
    monkeypatch.setattr(reader, "_refuse_joined_records", counting)
    source = tmp_path / "quoted.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(["case", "activity", "time", "note"])
        for i in range(50):
            writer.writerow([f"C{i}", "Approve", "2026-07-01T00:00:00Z",
                             "two\nlines" if i == 7 else "ok"])
    table, ragged = reader.read_csv(source)
    assert len(table.frame) == 50 and not ragged
    assert checked == [1]


@pytest.mark.parametrize("kind", ["binary", "large_binary", "list", "struct"])
def test_a_parquet_value_not_text_is_bounded_too(tmp_path: Path, kind: str) -> None:
    """A Parquet column of binary, list or struct values holding one of 1,200,000
    characters: imported whole before (only text was measured). Now its record is
    quarantined as a text's is."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    big = "X" * (MAX_CELL + 200_000)
    values = {
        "binary": pa.array([b"a", b"a", big.encode(), b"b", b"b", b"b"], pa.binary()),
        "large_binary": pa.array([b"a", b"a", big.encode(), b"b", b"b", b"b"],
                                 pa.large_binary()),
        "list": pa.array([["a"], ["a"], ["c", big], ["b"], ["b"], ["b"]],
                         pa.list_(pa.string())),
        "struct": pa.array([{"x": "a"}, {"x": "a"}, {"x": big}, {"x": "b"}, {"x": "b"},
                            {"x": "b"}]),
    }[kind]
    source = tmp_path / "log.parquet"
    pq.write_table(pa.table({
        "case": [f"C{i}" for i in range(6)], "activity": ["Receive refund request"] * 6,
        "time": [f"2026-07-01T0{i}:00:00Z" for i in range(6)], "note": values}), source)
    output, log, quarantine = _import(source, tmp_path / "out.parquet")
    assert "read 6 = imported 5 + quarantined 1" in output
    assert len(log) == 5 and "C2" not in set(log["case:concept:name"])
    (line,) = quarantine.itertuples()
    assert line.row == "3" and line.field == "note"
    # (of a list, its items' lengths added up; of a struct, its names' and values')
    assert f"value of {len(big) + (1 if kind in ('list', 'struct') else 0):,} characters" \
        in line.reason
    assert len(line.value) < 1_100


def test_an_ocel_attribute_holding_a_list_is_bounded_too(tmp_path: Path) -> None:
    """An OCEL event attribute (not declared) holding a list of one text of 1,200,000
    characters: imported whole before. Now its event is quarantined."""
    import json

    big = "X" * (MAX_CELL + 200_000)
    source = tmp_path / "log.jsonocel"
    source.write_text(json.dumps({
        "objectTypes": [{"name": "order", "attributes": []}], "eventTypes": [],
        "objects": [{"id": f"o{i}", "type": "order"} for i in range(3)],
        "events": [{"id": f"e{i}", "type": "pay", "time": f"2022-01-0{i + 1}T10:00:00Z",
                    "attributes": [{"name": "note", "value": [big] if i == 1 else ["a"]}],
                    "relationships": [{"objectId": f"o{i}"}]} for i in range(3)]}),
        encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(source), "--object-type", "order",
                                       "--out", str(tmp_path / "out.parquet")])
    assert result.exit_code == 0, result.output
    assert "read 3 = imported 2 + quarantined 1" in result.output


def test_a_conflict_of_two_exports_shows_its_value_cut(tmp_path: Path) -> None:
    """Two Stripe refund exports holding the same refund (an id of 40,003 characters), its
    status differing: the conflict's quarantine line showed the id whole, past a
    spreadsheet cell's 32,767. Now cut, as every other quarantine value."""
    exports = REPO / "sample_logs" / "refund-sample" / "exports"
    with (exports / "stripe_refunds.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    status = rows[0].index("status")
    rows[1][rows[0].index("id")] = "re_" + "9" * 40_000
    first, second = tmp_path / "st1.csv", tmp_path / "st2.csv"
    for path, value in ((first, rows[1][status]),
                        (second, "pending" if rows[1][status] != "pending" else "succeeded")):
        rows[1][status] = value
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(main, ["import", "--source", f"stripe:{first}", "--source",
                                       f"stripe:{second}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    quarantine = pd.read_csv(out.with_suffix(".quarantine.csv"), dtype=str,
                             keep_default_na=False)
    assert len(quarantine)
    assert quarantine["value"].str.len().max() <= QUARANTINE_CELL
    assert quarantine["case"].str.len().max() <= QUARANTINE_CELL
    assert quarantine["value"].str.contains("[cut: 40,003 characters in all]",
                                            regex=False).any()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_over_long_column_name_is_refused(tmp_path: Path, suffix: str) -> None:
    """A column name of 1,200,000 characters was imported into the log whole. Now the
    import ends naming the file and the column's number (exit code 2)."""
    from audit.ingest.sizes import MAX_NAME

    name = "H" * (MAX_NAME + 1)
    rows = [[f"C{i}", "Receive refund request", f"2026-07-01T0{i}:00:00Z", "x"]
            for i in range(4)]
    source = tmp_path / f"log{suffix}"
    if suffix == ".csv":
        with source.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([["case", "activity", "time", name], *rows])
    else:
        pd.DataFrame(rows, columns=["case", "activity", "time", name]).to_parquet(source)
    result = CliRunner().invoke(main, ["import", str(source), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {source}: column 4's name is "
                                    f"{MAX_NAME + 1:,} characters long")
    assert len(result.output) < 400
    # As long as the bound: imported.
    source.unlink()
    name = name[:-1]
    if suffix == ".csv":
        with source.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([["case", "activity", "time", name], *rows])
    else:
        pd.DataFrame(rows, columns=["case", "activity", "time", name]).to_parquet(source)
    _import(source, tmp_path / "out.parquet")


def _wide(source: Path, extra: int, prefix: str = "c") -> None:
    """A log of 3 events whose records have `extra` columns besides case, activity, time
    (named `prefix` and their number from 0)."""
    names = ["case", "activity", "time", *(f"{prefix}{k}" for k in range(extra))]
    rows = [[f"{prefix.upper()}{i}", "Receive refund request", f"2026-07-01T0{i}:00:00Z",
             *("x" * extra)] for i in range(3)]
    if source.suffix == ".csv":
        with source.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([names, *rows])
    elif source.suffix == ".parquet":
        pd.DataFrame(rows, columns=names).to_parquet(source)
    else:
        events = "".join(
            f'<trace><string key="concept:name" value="C{i}"/><event><string '
            f'key="concept:name" value="a"/><date key="time:timestamp" '
            f'value="2026-07-01T0{i}:00:00Z"/>'
            + "".join(f'<string key="{prefix}{k}" value="x"/>' for k in range(extra))
            + "</event></trace>\n" for i in range(3))
        source.write_text(f'<?xml version="1.0"?>\n<log>\n{events}</log>\n',
                          encoding="utf-8")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xes"])
def test_a_file_of_more_columns_than_a_spreadsheet_holds_is_refused(
        tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2.7 MB CSV of 200,003 columns and 3 rows did not finish its import in 120 s (each
    column costs about a millisecond: 40,003 took 48 s). Now a file whose records have more
    columns than `MAX_COLUMNS` (16,384, Excel's widest sheet) is refused, naming the count
    and the first column past it (exit code 2); its import of 200,003 columns ends in 11 s.
    The bound is lowered here to 40 so that the test is quick (its value is checked)."""
    from audit.ingest import sizes

    assert sizes.MAX_COLUMNS == 16_384
    monkeypatch.setattr(sizes, "MAX_COLUMNS", 40, raising=False)
    source = tmp_path / f"log{suffix}"
    # (41 columns: case, activity, time and 38 more; an XES log's case, activity and time
    # are its keys case:concept:name, concept:name and time:timestamp, the canonical
    # log's, not counted: 41 more. The column past the bound is named by its place among
    # the file's columns: an XES log's keys as its reader's table holds them, the
    # event's first, the trace's case:concept:name last)
    xes = suffix == ".xes"
    _wide(source, 41 if xes else 38)
    result = CliRunner().invoke(main, ["import", str(source), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, result.output
    besides = " besides 3 named as the canonical log's columns" if xes else ""
    assert result.output.startswith(f"error: {source}: 41 columns{besides}, more than the "
                                    "40 of a spreadsheet's widest sheet, which no real "
                                    "export passes (column "
                                    + ("43: 'c40')" if xes else "41: 'c37')"))
    assert not (tmp_path / "out.parquet").exists()
    # As many as the bound: imported.
    source.unlink()
    _wide(source, 40 if xes else 37)
    _import(source, tmp_path / "out.parquet")


def test_the_column_past_the_bound_is_named_by_its_place_in_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal named the first column past the bound by its place among the columns
    counted: a CSV whose columns 2 to 5 are named as the canonical log's (not counted) was
    refused with "(column 41: 'c40')", which is the file's column 45, and "besides 4 of
    the canonical log's", of a file that is no canonical log. Now the file's own place,
    and "besides 4 named as the canonical log's columns"."""
    from audit.ingest import sizes

    monkeypatch.setattr(sizes, "MAX_COLUMNS", 40, raising=False)
    names = ["c0", "concept:name", "case:concept:name", "time:timestamp", "stated:order:id",
             *(f"c{k}" for k in range(1, 41))]
    rows = [["x", "Receive refund request", f"C{i}", f"2026-07-01T0{i}:00:00Z", "",
             *("x" * 40)] for i in range(3)]
    source = tmp_path / "wide.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([names, *rows])
    assert names.index("c40") + 1 == 45
    result = CliRunner().invoke(main, ["import", str(source), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        f"error: {source}: 41 columns besides 4 named as the canonical log's columns, more "
        "than the 40 of a spreadsheet's widest sheet, which no real export passes (column "
        "45: 'c40'): refused before its records are mapped"), result.output


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xes"])
def test_a_log_imported_at_the_column_bound_is_read_back(
        tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An input of as many columns as `MAX_COLUMNS` was imported, but its canonical log
    (the input's columns besides those mapped, plus the tool's own 19) was refused by
    `check` and a second `import` ("56 columns, more than the 40 ..."): the tool refused a
    log it wrote. Now the canonical columns (and the STATED ones correlation adds) are not
    counted: only a file's own columns cost the import its millisecond each."""
    from audit import canonical as C
    from audit.ingest import sizes

    monkeypatch.setattr(sizes, "MAX_COLUMNS", 40, raising=False)
    source = tmp_path / f"log{suffix}"
    # (40 columns of its own: case, activity, time and 37 more; an XES log's case,
    # activity and time are keys of the canonical log's names, not counted: 40 more)
    own = 40 if suffix == ".xes" else 37
    _wide(source, own)
    out = tmp_path / "out.parquet"
    _, log, _ = _import(source, out)
    assert len(log.columns) == len(C.COLUMNS) + own
    result = CliRunner().invoke(main, ["check", str(out), "--out", str(tmp_path / "audit"),
                                       "--format", "csv", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    _, again, _ = _import(out, tmp_path / "again.parquet")
    assert list(again.columns) == list(log.columns)
    # A file of the tool's own columns and 41 more is still refused, naming 41.
    wide = log.assign(**{f"d{k}": "x" for k in range(41 - own)})
    last = f"d{40 - own}"
    wide.to_parquet(tmp_path / "wide.parquet")
    result = CliRunner().invoke(main, ["import", str(tmp_path / "wide.parquet"), "--out",
                                       str(tmp_path / "wide-out.parquet")])
    assert result.exit_code == 2, result.output
    assert (f"41 columns besides {len(C.COLUMNS)} named as the canonical log's columns, more "
            "than the 40 of a spreadsheet's widest sheet") in result.output
    assert f"(column {list(wide.columns).index(last) + 1}: {last!r})" in result.output


def test_inputs_whose_joined_columns_pass_the_bound_are_refused_before_the_log_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each input within the bound, but the log of them joined holds the union of their own
    columns: two CSVs of 37 columns of their own (the bound at 40) were imported into a log
    of 74 besides the canonical 19, which `check` and a second `import` refused ("74
    columns besides 19 of the canonical log's, more than the 40"): the tool wrote a log it
    refuses. Now the import is refused before writing, naming the input that passes the
    bound, those before it and their counts (exit code 2); inputs whose columns joined stay
    within it are imported, and their log is read back."""
    from audit.ingest import sizes

    monkeypatch.setattr(sizes, "MAX_COLUMNS", 40, raising=False)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    _wide(first, 37, "a")
    _wide(second, 37, "b")
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(main, ["import", str(first), str(second), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        f"error: {second}: its columns add 37 to the 37 of the inputs before it (a.csv: 37): "
        "a log of 74 columns besides the canonical log's, more than the 40 of a "
        "spreadsheet's widest sheet, which `check` and `import` refuse to read (the first "
        "past the bound: 'b3', of b.csv): refused before the log is written"), result.output
    assert not out.exists() and not out.with_suffix(".quarantine.csv").exists()
    # Joined, 40 columns of their own (a0-a36 and b0-b2; b's a0-a33 are a's too): written,
    # and read back by check and a second import.
    _wide(second, 3, "b")
    frame = pd.read_csv(second, dtype=str).assign(**{f"a{k}": "y" for k in range(34)})
    frame.to_csv(second, index=False)
    result = CliRunner().invoke(main, ["import", str(first), str(second), "--out", str(out)])
    assert result.exit_code == 0, result.output
    from audit import canonical as C

    assert len(pd.read_parquet(out).columns) == len(C.COLUMNS) + 40
    result = CliRunner().invoke(main, ["check", str(out), "--out", str(tmp_path / "audit"),
                                       "--format", "csv", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    _import(out, tmp_path / "again.parquet")


def test_a_field_alone_of_a_record_quarantined_whole_is_not_read(tmp_path: Path) -> None:
    """A Jira issue with an unreadable amount (a line of that field alone, its record read
    without it) and a reporter's name over the bound (the record quarantined whole): the
    amount's line said record_read yes and the summary counted '1 quarantine line of one
    field alone (its record read without it)', of a record not imported. Now no, and not
    counted."""
    import json

    exports = REPO / "sample_logs" / "refund-sample" / "exports"
    issues = json.loads((exports / "jira_issues.json").read_text(encoding="utf-8"))
    issues["issues"][0]["fields"]["reporter"]["displayName"] = "D" * (MAX_CELL + 1)
    issues["issues"][0]["fields"]["customfield_10052"] = "12,3O"
    source = tmp_path / "jira.json"
    source.write_text(json.dumps(issues), encoding="utf-8")
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(main, ["import", "--source", f"jira:{source}", "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    assert "one field alone" not in result.output
    quarantine = pd.read_csv(out.with_suffix(".quarantine.csv"), dtype=str,
                             keep_default_na=False)
    assert set(quarantine["row"]) == {"1"} and len(quarantine) == 2
    assert set(quarantine["record_read"]) == {"no"}
    # The unreadable amount alone: its line says yes, counted apart, as before.
    issues["issues"][0]["fields"]["reporter"]["displayName"] = "Dana"
    source.write_text(json.dumps(issues), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "--source", f"jira:{source}", "--out",
                                       str(out)])
    assert "1 quarantine line of one field alone" in result.output


def test_a_note_starting_with_a_date_does_not_hide_joined_rows(tmp_path: Path) -> None:
    """The row before the stray quote holds a date in a free-text column (a note starting
    '2026-07-01 ...'): the rows hidden, which hold no note, are still told as rows (the
    date columns are those of the row before and of the quote's own line both)."""
    header, rows = _rows()
    header = [*header, "note"]
    rows = [[*row, ""] for row in rows]
    rows[7][-1] = "2026-07-01 call-back agreed"
    resource = header.index("org:resource")
    rows[8][resource] = '"' + rows[8][resource]
    rows[20][resource] = rows[20][resource] + '"'
    source = tmp_path / "log.csv"
    source.write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n",
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(source), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, result.output
    assert "row 10: field 'org:resource'" in result.output
    assert "11 of the 11 lines between read as rows" in result.output


_NOTE = '"Customer called back.\nSays the parcel was lost.\nAsked for a refund.\nApproved by J."'


def _import_utc(source: Path, out: Path) -> tuple[str, pd.DataFrame]:
    result = CliRunner().invoke(main, ["import", str(source), "--out", str(out),
                                       "--assume-tz", "UTC"])
    assert result.exit_code == 0, result.output
    return result.output, pd.read_parquet(out)


def _log(*rows: str) -> str:
    head = [f"C{i},Refund approved,2026-07-0{i} 10:00,ann,ok" for i in range(1, 6)]
    return "\n".join(["case,activity,timestamp,resource,comment", *head, *rows]) + "\n"


@pytest.mark.parametrize("rows", [
    # a row hidden between the stray pair (the one closing in C8)
    ['C6,Refund requested,2026-07-06 10:00,"bob,ok',
     "C7,Refund approved,2026-07-07 10:00,bob,ok",
     f'C8,Refund paid,2026-07-08 10:00,bob",{_NOTE}'],
    # two adjacent rows joined
    ['C6,Refund requested,2026-07-06 10:00,"bob,ok',
     f'C7,Refund paid,2026-07-07 10:00,bob",{_NOTE}'],
], ids=["row-between", "adjacent"])
def test_a_stray_pair_closing_in_a_row_with_a_note_over_lines_ends_the_import(
        tmp_path: Path, rows: list[str]) -> None:
    """A quote opened in C6's resource cell closes after 'bob' in a later row, which then
    holds a real note of four lines: the record ran on past the stray cell, the check
    looked at the record's first and last lines and the lines between (mostly the note's),
    and read it: exit 0, 'read 7 = imported 7', C7's approval and C8's payment gone. Now the
    stray cell's own lines are checked: exit 2 naming the row and field it opens in."""
    source = tmp_path / "log.csv"
    source.write_text(_log(*rows, "C9,Refund approved,2026-07-09 10:00,ann,ok"),
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(source), "--out",
                                       str(tmp_path / "out.parquet"), "--assume-tz", "UTC"])
    assert result.exit_code == 2, result.output
    assert f"error: {source}: row 7: field 'resource': a quote opened in this row closes " \
        f"{len(rows) - 1} line" in result.output
    # The note alone, its rows whole: read, none lost.
    source.write_text(_log(*(row.replace('"bob', "bob").replace('bob"', "bob") for row in rows)),
                      encoding="utf-8")
    output, _ = _import_utc(source, tmp_path / "out.parquet")
    assert f"read {5 + len(rows)} = imported {5 + len(rows)}" in output


@pytest.mark.parametrize("times, note", [
    ([f"2026/07/0{i} 10:00" for i in range(1, 7)],
     "Customer wrote:\nOrder 1001, shoes, 2 pairs, 45.00\nthanks"),
    (["01-Jul-2026"] * 6, "Hi, refund please\nOrder 1001, shoes, card"),
    ([f"07-0{i}-2026" for i in range(1, 7)], "Hi, refund please\nOrder 1001, shoes, card"),
    ([f"2026-07-0{i}" for i in range(1, 7)], "Hi, refund please\nOrder 1001, 2026-06-30, card"),
], ids=["slashes", "month-name", "us-dashes", "note-line-with-a-date"])
def test_a_note_over_lines_is_read_whatever_the_date_form(tmp_path: Path, times: list[str],
                                                          note: str) -> None:
    """A note over lines, one line of the header's width, in a log whose times the import
    reads but the check did not take for dates (2026/07/01 10:00, 01-Jul-2026,
    07-01-2026): no time column, the width alone, refused as a stray quote (exit 2). And a
    note of two lines, its first with the row's cells and its last with a date where the
    time column is (' 2026-06-30', after a space, where the rows' dates have none): refused
    as two rows joined. Now read."""
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["case", "timestamp", "note", "activity"])
        for i, time in enumerate(times):
            writer.writerow([f"C{i}", time, note if i == 5 else "plain", "Refund requested"])
    # (read as the import reads the file: the forms not ISO 8601 need a timestamp_format)
    table, ragged = read_csv(source)
    assert len(table.frame) == 6 and not ragged
    assert note in set(table.frame["note"])


def test_a_stray_quote_opening_the_first_cell_names_its_field(tmp_path: Path) -> None:
    """A stray pair, the quote opening a line's first cell: the error named the last
    field of the header (the csv module reads an empty text as no cells: column -1). Now
    the first."""
    source = tmp_path / "log.csv"
    source.write_text(_log('"C6,Refund requested,2026-07-06 10:00,bob,ok',
                           "C7,Refund approved,2026-07-07 10:00,bob,ok",
                           'C8",Refund paid,2026-07-08 10:00,bob,ok'), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(source), "--out",
                                       str(tmp_path / "out.parquet"), "--assume-tz", "UTC"])
    assert result.exit_code == 2, result.output
    assert f"error: {source}: row 7: field 'case': a quote opened" in result.output


@pytest.mark.parametrize("at", [3, 0])
@pytest.mark.parametrize("fast", [True, False])
def test_the_delimiter_is_guessed_from_a_bounded_start(tmp_path: Path, fast: bool, at: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell of megabytes in the first rows: the delimiter sniffer sees at most `SNIFFED`
    characters of the file, the lines' starts but not the cell. Before, it was handed the
    file's first lines whole, the cell with them (a 50 MB cell in the fifth row: 13 of the
    import's 16 s, and copies of the text), before the cell was quarantined; then the lines
    within the first `SNIFFED` characters, so that a cell filling them in row 2 (`at` 0)
    left the header alone to sniff, and a header with a ',' in a name ('amount, EUR') of a
    file delimited by ';' guessed ',' (every row ragged, the import refused)."""
    from audit.ingest import csv_reader

    seen: list[int] = []
    sniff = csv_reader._sniff

    def measured(lines: list[str]) -> str:
        seen.append(len("\n".join(lines)))
        return sniff(lines)

    monkeypatch.setattr(csv_reader, "_sniff", measured)
    monkeypatch.setattr(csv_reader, "FAST_PATH", fast)
    header, rows = _rows()
    header = [*header, "amount, EUR"]
    rows = [[*row, "1.00"] for row in rows]
    rows[at][header.index("org:resource")] = "R" * (3 * MAX_CELL)
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows([header, *rows])
    table, ragged = read_csv(source)
    assert seen and max(seen) <= csv_reader.SNIFFED
    assert list(table.frame.columns) == header
    assert [(line.row, line.field) for line in ragged] == [(at + 2, "org:resource")]
    assert len(table.frame) == len(rows) - 1 and table.records_read == len(rows)


def test_a_wide_export_is_read_by_the_columnar_reader(tmp_path: Path) -> None:
    """An export of notes of 25,000 characters (within Excel's 32,767 a cell), its first lines
    taking more than `SNIFFED`, is read by the columnar reader, with the rows and values of
    the csv module path. Before, any file whose first 52 lines took more than `SNIFFED`
    bytes was handed to that path: a 37 MB export of 1,500 such rows took 0.76 -> 1.59 s and
    249 -> 367 MB, its columns Python objects."""
    from audit.ingest import csv_reader

    source = tmp_path / "wide.csv"
    lines = ["case;activity;time;resource;notes, internal"]
    for at in range(60):
        note = f"note {at}: " + "refund approved, card " * 1_150
        lines.append(f"C{at};Refund;2026-07-01T00:00:00Z;r{at % 7};{note}")
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert source.stat().st_size > csv_reader.SNIFFED
    fast, _ = read_csv(source, strings="arrow")
    assert fast.arrow_text
    csv_reader.FAST_PATH = False
    try:
        slow, _ = read_csv(source)
    finally:
        csv_reader.FAST_PATH = True
    assert list(fast.frame.columns) == list(slow.frame.columns) == lines[0].split(";")
    assert fast.rows.tolist() == slow.rows.tolist()
    assert fast.frame.astype(object).equals(slow.frame)


@pytest.mark.parametrize("tail", ["\n", "\n\n"])
@pytest.mark.parametrize("kind, column, width", [("json", 1, 21_000), ("notes", 1, 17_000),
                                                 ("notes", 1, 25_000), ("notes", 4, 18_000)])
@pytest.mark.parametrize("fast", [True, False])
def test_a_wide_export_with_long_cells_before_its_last_column_keeps_its_delimiter(
        tmp_path: Path, fast: bool, kind: str, column: int, width: int, tail: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A ';' export whose every row holds a cell of 17,000-25,000 characters (a quoted JSON
    payload, notes), in a middle column or the last, its header a ',' in a name, with or
    without a trailing blank line: both readers guess ';' and read every row. Before, the
    sniffer was handed each line cut to 16,384 characters where fewer than two of the first
    50 were shorter: the delimiters after a long middle cell were cut off and ',' guessed,
    every row quarantined (the import exit 2, where it had read all 60 rows before); and
    a trailing blank line counted as a short line, so that the header was sniffed alone."""
    from audit.ingest import csv_reader

    monkeypatch.setattr(csv_reader, "FAST_PATH", fast)
    header = ["case", "notes, internal", "activity", "time", "amount, EUR"]
    if kind == "json":
        header = ["case", "payload", "activity", "time", "amount"]
    rows = []
    for at in range(60):
        row = [f"C{at}", "plain", "Refund", "2026-07-01T00:00:00Z", "9.90"]
        row[column] = (json.dumps({"id": f"re_{at}", "items": [
            {"sku": f"S{k}", "qty": 1, "price": "9.90"} for k in range(width // 44)]})
            if kind == "json" else f"{at}: " + "refund approved, card " * (width // 22))
        rows.append(row)
    source = tmp_path / "wide.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows([header, *rows])
        handle.write(tail[1:])
    table, ragged = read_csv(source)
    assert not ragged
    assert list(table.frame.columns) == header
    assert table.frame.values.tolist() == rows


@pytest.mark.parametrize("fast", [True, False])
def test_a_trailing_blank_line_does_not_leave_the_header_alone_to_sniff(
        tmp_path: Path, fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notes of 18,000 characters in the last column and a blank line at the file's end:
    ';' is guessed and every row read. Before, the blank line counted as a second whole
    line, the header was sniffed alone and 'amount, EUR' made it ',' (every row
    quarantined)."""
    from audit.ingest import csv_reader

    monkeypatch.setattr(csv_reader, "FAST_PATH", fast)
    lines = ["case;activity;time;amount, EUR;notes"]
    for at in range(40):
        lines.append(f"C{at};Refund;2026-07-01T00:00:00Z;9.90;" + "lorem ipsum dolor " * 1000)
    source = tmp_path / "blank.csv"
    source.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    table, ragged = read_csv(source)
    assert not ragged
    assert list(table.frame.columns) == lines[0].split(";") and len(table.frame) == 40


def _cells_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every cell the csv module hands the reader, recorded as read."""
    from audit.ingest import csv_reader

    lengths: list[int] = []
    reader = csv.reader

    class Measured:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.reader = reader(*args, **kwargs)

        @property
        def line_num(self) -> int:
            return self.reader.line_num

        def __iter__(self) -> Measured:
            return self

        def __next__(self) -> list[str]:
            record = next(self.reader)
            lengths.extend(len(cell) for cell in record)
            return record

    monkeypatch.setattr(csv_reader.csv, "reader", Measured)
    return lengths


@pytest.mark.parametrize(("cell", "length", "start"), [
    ("R" * (3 * MAX_CELL), 3 * MAX_CELL, "R" * 20),
    ("S" * (MAX_CELL + 2), MAX_CELL + 2, "S" * 20),  # (a row the columnar reader reads)
    ('"' + 'x,""y""' * (MAX_CELL // 4) + '"', 5 * (MAX_CELL // 4),
     'x,"y"' * 4),  # (delimiters, quotes)
    ('"' + "Z" * MAX_CELL + '"tail', MAX_CELL + 4, "Z" * 20),  # (quoted, then more: one cell)
    ('"a""b"' + "T" * MAX_CELL, MAX_CELL + 3, 'a"b' + "T" * 20),  # (its quoted part short)
], ids=["unquoted", "just-over", "quoted", "quoted-then-more", "short-quoted-then-more"])
def test_a_csv_cell_over_the_bound_is_cut_while_read(tmp_path: Path, cell: str, length: int,
                                                     start: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell over `MAX_CELL` characters is never handed on whole by the csv module: its
    reading ends at the bound, and its record goes to the quarantine naming row and field,
    its length and start (its value's: a quoted cell's '""' a quote, its closing quote
    not shown; before, its CSV text 'x,""y""'); the rows after it are read, every row
    counted. Before, the csv module built the cell whole (a 50 MB cell: 0.5 GB more) and
    the normaliser quarantined it after."""
    lengths = _cells_read(monkeypatch)
    header, rows = _rows()
    lines = [",".join(header), *(",".join(row) for row in rows)]
    at = header.index("org:resource")
    fields = lines[5].split(",")
    fields[at] = cell
    lines[5] = ",".join(fields)  # (row 6 of the file)
    source = tmp_path / "log.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    table, ragged = read_csv(source)
    assert lengths and max(lengths) <= MAX_CELL
    (line,) = ragged
    assert (line.row, line.field) == (6, "org:resource")
    assert line.reason == (f"value of {length:,} characters, longer than the {MAX_CELL:,} any "
                           "real export's field holds (see docs/security.md): not imported")
    assert line.text.endswith(f"… [cut: {length:,} characters in all]")
    assert line.text.startswith(start) and len(line.text) < 1_100
    assert len(table.frame) == len(rows) - 1 and table.records_read == len(rows)
    assert 6 not in table.rows.tolist() and 7 in table.rows.tolist()


def test_a_quoted_cell_over_the_bound_over_lines_ends_the_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quoted cell over the bound that goes on past the line the csv module stopped in:
    its lines after would be read as rows (they may be rows a stray quote joined): the
    import ends naming its row and field. Before, the cell was read whole, and quarantined
    after."""
    lengths = _cells_read(monkeypatch)
    header, rows = _rows()
    lines = [",".join(header), *(",".join(row) for row in rows)]
    at = header.index("org:resource")
    fields = lines[5].split(",")
    fields[at] = ('"' + "N" * (MAX_CELL + 10)
                  + "".join(f"\nnote line {k}" for k in range(9)) + '"')
    lines[5] = ",".join(fields)
    source = tmp_path / "log.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    with pytest.raises(InputError) as caught:
        read_csv(source)
    assert (caught.value.row, caught.value.field) == (6, "org:resource")
    assert "closes 9 lines further down" in str(caught.value)
    assert max(lengths) <= MAX_CELL


@pytest.mark.parametrize("closed", [False, True])
def test_a_stray_quote_with_megabytes_after_it_is_told_as_a_stray_quote(
        tmp_path: Path, closed: bool) -> None:
    """A stray quote in row 6 with more than `MAX_CELL` characters of rows after it: never
    closed, the import ends saying so as it does of one with fewer rows after it; closed
    by a second stray quote 35,896 lines down, it says how far and to remove or double the
    quote. Before, both said 'a quoted cell of more than 1,000,000 characters ... goes on
    over lines' (the csv module's reading stopped at the bound)."""
    rows = [f"C{at},Refund,2026-07-01T00:00:00Z,r{at % 7}" for at in range(36_000)]
    rows[4] = 'C4,Refund,2026-07-01T00:00:00Z,"r4'
    if closed:
        rows[-100] = 'C9,Refund,2026-07-01T00:00:00Z,r9"'
    source = tmp_path / "log.csv"
    source.write_text("case,activity,time,resource\n" + "\n".join(rows) + "\n",
                      encoding="utf-8")
    assert source.stat().st_size > MAX_CELL
    with pytest.raises(InputError) as caught:
        read_csv(source)
    assert (caught.value.row, caught.value.field) == (6, "resource")
    if closed:
        assert "a quote opened in this row closes 35,896 lines further down" in str(
            caught.value)
        assert "remove it or double it" in str(caught.value)
    else:
        assert ("a quote opened in this row is never closed: every line after it would "
                "read as one cell") in str(caught.value)


def _texts(value: object) -> Iterator[tuple[str, str]]:
    """Every text of a JSON document, with the key it is under."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield "(key)", key
            yield from ((key, text) for _, text in _texts(item)) if isinstance(
                item, str) else _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, str):
        yield "", value


def test_discover_writes_long_labels_cut(tmp_path: Path) -> None:
    """Activity labels and a case id of 30,000 characters (within the import's bound) are
    cut in discovery.json and variants.csv as report.html cuts them, each label of a variant's
    sequence on its own. Before, each was written whole once per variant and edge naming
    it: a 28 MB Parquet log of 14 labels of 500,000 characters made a discovery.json of
    178 MB and a variants.csv of 119 MB."""
    labels = [f"{name} " + name[0] * 3 * REPORT_VALUE for name in ("Receive", "Approve", "Pay")]
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case", "activity", "time", "resource"])
        for case in range(20):
            steps = labels if case % 2 else [labels[0], labels[2]]
            name = "C" * 3 * REPORT_VALUE if case == 0 else f"C{case}"
            for step, activity in enumerate(steps):
                writer.writerow([name, activity, f"2026-07-01T0{step}:00:00Z", "r"])
    out = tmp_path / "disc"
    result = CliRunner().invoke(main, ["discover", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    marker = (f"… [cut: {len(labels[0]):,} characters in all, sha256 "
              f"{hashlib.sha256(labels[0].encode()).hexdigest()[:16]}]")
    document = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    texts = list(_texts(document))
    assert any(text.endswith(marker) for _, text in texts)
    for key, text in texts:
        parts = text.split(" -> ") if key == "sequence" else [text]
        assert all(len(part) <= REPORT_VALUE + 80 for part in parts), (key, len(text))
    with (out / "variants.csv").open(newline="", encoding="utf-8") as handle:
        variants = list(csv.DictReader(handle))
    assert {len(row["sequence"].split(" -> ")) for row in variants} == {2, 3}
    for row in variants:
        for part in row["sequence"].split(" -> "):
            assert len(part) <= REPORT_VALUE + 80 and part.endswith("]")
            assert " characters in all, sha256 " in part
        assert len(row["example_case"]) <= REPORT_VALUE + 80


def test_two_long_labels_cut_alike_stay_two(tmp_path: Path) -> None:
    """Two activity labels of one length and the same first `REPORT_VALUE` characters are cut
    to two texts (the marker holds each one's digest): discovery.json lists 4 activities,
    their events adding to the log's 18, and variants.csv two sequences. Before, the marker
    held the length alone: the two were one key, 3 activities listed, 15 events of 18, and
    variants.csv wrote two variants of one sequence."""
    approve = "A" * (REPORT_VALUE + 500) + "-approve"
    decline = "A" * (REPORT_VALUE + 500) + "-decline"
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case", "activity", "time", "resource"])
        for case in range(6):
            for step, activity in enumerate(["Receive", approve if case % 2 else decline,
                                             "Close"]):
                writer.writerow([f"C{case}", activity, f"2026-07-01T0{step}:00:00Z", "r"])
    out = tmp_path / "disc"
    result = CliRunner().invoke(main, ["discover", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    activities = json.loads((out / "discovery.json").read_text(encoding="utf-8"))["activities"]
    assert len(activities) == 4
    assert sum(item["events"] for item in activities.values()) == 18
    with (out / "variants.csv").open(newline="", encoding="utf-8") as handle:
        sequences = [row["sequence"] for row in csv.DictReader(handle)]
    assert len(sequences) == len(set(sequences)) == 2


def test_a_cell_over_the_bound_after_a_stray_pair_of_quotes_ends_the_import(
        tmp_path: Path) -> None:
    """A stray pair of quotes joining rows, and a cell over the bound after it in the same
    record: the csv module's reading stops at the cell, before the check of joined rows
    reads the record. The import ends naming the row and the cell's field. With the bound
    alone (45b629a), the record went to the quarantine as one line: the rows it joined were
    hidden, every count adding up (before the bound, the check of joined rows refused it,
    after reading the cell whole)."""
    header, rows = _rows()
    lines = [",".join(header), *(",".join(row) for row in rows)]
    resource = header.index("org:resource")
    fields = lines[5].split(",")
    fields[resource] = '"' + fields[resource]  # (a quote opened in row 6 ...)
    lines[5] = ",".join(fields)
    fields = lines[12].split(",")
    fields[resource] += '"'  # (... closed in row 13: the rows between one cell)
    fields[-1] = "W" * (MAX_CELL + 10)  # (and a cell over the bound after it)
    lines[12] = ",".join(fields)
    source = tmp_path / "log.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    with pytest.raises(InputError) as caught:
        read_csv(source)
    assert (caught.value.row, caught.value.field) == (6, header[-1])
    assert "a record over 8 lines holds a cell of 1,000,010 characters" in str(caught.value)


@pytest.mark.parametrize("tail", ["", "\n", "\r\n"])
def test_a_quoted_cell_over_the_bound_the_file_ends_in_ends_the_import(tmp_path: Path,
                                                                        tail: str) -> None:
    """The last row opens a quote the file ends in, its cell over the bound: the import ends
    naming row and field, and says so (its reading stopped at the bound), the file ending in
    a line end or not. Before, the file's final line end was counted as a line the quote
    took in: "every line after it would read as one cell", where none follows."""
    header, rows = _rows()
    lines = [",".join(header), *(",".join(row) for row in rows)]
    source = tmp_path / "log.csv"
    source.write_text("\n".join(lines) + '\nC1,"' + "Q" * (MAX_CELL + 5) + tail,
                      encoding="utf-8", newline="")
    with pytest.raises(InputError) as caught:
        read_csv(source)
    assert (caught.value.row, caught.value.field) == (len(rows) + 2, header[1])
    assert "is never closed (the file ends inside it)" in str(caught.value)
