"""findings.xlsx opened as Excel would: sheets, frozen header, filters, inert cells, numbers."""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.rules.base import FAMILIES
from reports import ooxml
from reports.records import FINDING_COLUMNS
from reports.xlsx import (
    FINDINGS_SHEET,
    SUMMARY_SHEET,
    XLSX_COLUMNS,
    cell_by_cell,
    family_sheet_name,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    return out


def _rows(sheet: Any) -> list[dict[str, Any]]:
    values = list(sheet.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


def test_workbook_layout_and_numbers_equal_findings_json(demo: Path) -> None:
    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    summary, findings = document["summary"], document["findings"]
    book = openpyxl.load_workbook(demo / "findings.xlsx")
    families = list(dict.fromkeys(code[:2] for code in document["manifest"]["rules"]))
    assert book.sheetnames == [SUMMARY_SHEET, FINDINGS_SHEET,
                               *(family_sheet_name(f) for f in families), "Columns"]
    assert family_sheet_name("SD") == "SD " + FAMILIES["SD"]

    sheet = book[FINDINGS_SHEET]
    assert sheet.freeze_panes == "A2"
    last = ooxml.column_letters(len(XLSX_COLUMNS) - 1)
    assert sheet.auto_filter.ref == f"A1:{last}{len(findings) + 1}"
    assert [c.value for c in sheet[1]] == list(XLSX_COLUMNS)
    assert [c for c in XLSX_COLUMNS if c not in ("timestamp_utc", "severity_rank")] \
        == list(FINDING_COLUMNS)
    rows = _rows(sheet)
    assert len(rows) == len(findings)
    assert [r["fingerprint"] for r in rows] == [f["fingerprint"] for f in findings]
    for row, finding in zip(rows, findings, strict=True):
        assert row["rule"] == finding["rule"] and row["case_id"] == finding["case_id"]
        assert row["waived"] is finding["waived"]
        if finding["amount_at_risk"] is None:
            assert row["amount_at_risk"] is None
        else:
            assert row["amount_at_risk"] == pytest.approx(finding["amount_at_risk"])
        assert json.loads(row["evidence"]) == finding["evidence"]
        # A count reads back as the integer it is (before: 0.0, a float, in every row).
        assert type(row["case_quarantined_rows"]) is int
        assert row["case_quarantined_rows"] == finding["case_quarantined_rows"]

    per_family = 0
    for family in families:
        part = book[family_sheet_name(family)]
        assert part.freeze_panes == "A2" and part.auto_filter.ref
        mine = _rows(part)
        assert {r["rule"][:2] for r in mine} <= {family}
        assert len(mine) == sum(1 for f in findings if f["rule"].startswith(family))
        per_family += len(mine)
    assert per_family == len(findings)

    labels = {row[0]: row[1] for row in book[SUMMARY_SHEET].iter_rows(values_only=True)
              if row and isinstance(row[0], str)}
    for label, key in (("Findings", "findings"), ("Cases", "cases"),
                       ("Events judged (dated up to the audit clock)", "events"),
                       ("Cases with findings", "cases_with_findings"),
                       ("Waived findings", "waived"), ("Rows read", "read"),
                       ("Rows imported", "imported"), ("Rows quarantined", "quarantined"),
                       ("Charges left out as sales", "left_out")):
        assert labels[label] == summary[key], label
        assert type(labels[label]) is int, (label, labels[label])  # (before: 300.0)
    # The log's events add up as report.html's population line tells them: no event after
    # the demo's clock; a charge refunded in several cases is an event of each, so the
    # events are more than the rows imported (before: "Events" alone, unexplained).
    assert labels["Events dated after the clock, not judged"] == 0
    assert (labels["Events in the log (judged + after the clock + not complete)"]
            == summary["events"])
    copies = summary["events"] - summary["imported"] + summary["left_out"]
    assert copies > 0
    assert labels["Events more than the rows imported (a charge refunded in several cases "
                  "is an event of each)"] == copies
    html = (demo / "report.html").read_text(encoding="utf-8")
    assert f'data-metric="charge-copies" data-value="{copies}"' in html
    # Cases without findings: a count as the cases with findings above it, and the share
    # apart (before: the label "Cases without findings" on 0.75, shown as 75.0%, read back
    # as 0.75 of a case beside "Cases with findings" 75).
    without = summary["cases"] - summary["cases_with_findings"]
    assert labels["Cases without findings"] == without
    assert type(labels["Cases without findings"]) is int
    assert labels["Share of cases without findings"] == pytest.approx(
        without / summary["cases"])
    for severity, count in summary["by_severity"].items():
        assert labels[severity] == count and type(labels[severity]) is int, severity
    for currency, amount in summary["money_at_risk"].items():
        assert labels[currency] == pytest.approx(amount)
    # (Findings: the fifth column, after Rule, Name, Family and Severity, as report.html's)
    by_rule = {row[0]: row[4] for row in book[SUMMARY_SHEET].iter_rows(values_only=True)
               if row and row[0] in summary["by_rule"]}
    assert by_rule == {code: r["findings"] for code, r in summary["by_rule"].items()}
    assert {type(count) for count in by_rule.values()} == {int}


def test_severity_rank_sorts_the_findings_most_severe_first(demo: Path) -> None:
    """`severity` is a text, which Excel sorts alphabetically (critical < high < info <
    low < medium): a committee sorting the Findings sheet by it had high before low before
    medium. `severity_rank`, right after it on every findings sheet, is a number, 1
    critical ... 5 info, which a sort smallest to largest puts in order of severity."""
    order = ["critical", "high", "medium", "low", "info"]
    findings = json.loads((demo / "findings.json").read_text(encoding="utf-8"))["findings"]
    book = openpyxl.load_workbook(demo / "findings.xlsx")
    for name in book.sheetnames:
        sheet = book[name]
        head = [c.value for c in sheet[1]]
        if "severity" not in head:
            continue
        assert head[head.index("severity") + 1] == "severity_rank", name
        at = head.index("severity_rank")
        cells = [row[at] for row in sheet.iter_rows(min_row=2)]
        rows = _rows(sheet)
        assert all(c.data_type == "n" and type(c.value) is int for c in cells), name
        assert [r["severity_rank"] for r in rows] == [order.index(r["severity"]) + 1
                                                      for r in rows], name
        # sorted by it, most severe first; by the text, not so (the defect)
        by_rank = [r["severity"] for r in sorted(rows, key=lambda r: r["severity_rank"])]
        assert by_rank == sorted(by_rank, key=order.index), name
    everything = _rows(book[FINDINGS_SHEET])
    assert len(everything) == len(findings)
    assert {r["severity"] for r in everything} >= {"critical", "high", "medium", "low"}
    assert sorted(r["severity"] for r in everything) != sorted(
        (r["severity"] for r in everything), key=order.index)
    # The Columns sheet says what it holds.
    described = {row[0]: row[2] for row in book["Columns"].iter_rows(values_only=True)}
    assert "1 critical, 2 high, 3 medium, 4 low, 5 info" in described["severity_rank"]


def _formula_like(text: str) -> bool:
    return text.lstrip("'").lstrip()[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_formula_like_cells_are_neutralised(tmp_path: Path) -> None:
    """A text a spreadsheet would read as a formula was stored with an apostrophe before
    it (`'=HYPERLINK(...)`): Excel showed the apostrophe, and a lookup of the source's id
    failed. It is now stored as it is, in a style with Excel's quote prefix (quotePrefix,
    which keeps it text when a user edits the cell); every other text has no prefix."""
    log = tmp_path / "hostile.csv"
    log.write_text(
        "case,activity,timestamp,resource,role,amount,currency,channel\n"
        'C1,Receive refund request,2026-07-01T09:00:00Z,"=HYPERLINK(""http://x.invalid"")",'
        "customer-service,10,EUR,ecommerce\n"
        "C1,+cmd|' /C calc'!A0,2026-07-01T10:00:00Z,@SUM(A1),customer-service,,,ecommerce\n"
        "C1,-2+3,2026-07-01T11:00:00Z,\tTAB,customer-service,,,ecommerce\n",
        encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--format",
                                       "xlsx", "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    book = openpyxl.load_workbook(out / "findings.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c for c in cells if isinstance(c.value, str)]
    assert not [c.coordinate for c in texts if _formula_like(c.value) and not c.quotePrefix]
    assert not [c.coordinate for c in texts if c.quotePrefix and not _formula_like(c.value)]
    assert not [c.value for c in texts if c.value.startswith("'")]  # (no apostrophe added)
    joined = "\n".join(c.value for c in texts)
    assert '=HYPERLINK("http://x.invalid")' in joined and "@SUM(A1)" in joined
    assert "+cmd|' /C calc'!A0" in joined
    resources = [c for c in cells if c.value == '=HYPERLINK("http://x.invalid")']
    assert resources and all(c.quotePrefix for c in resources)


def test_findings_beyond_a_sheet_continue_on_the_next(demo: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Excel holds 1,048,576 rows a sheet: longer lists continue on 'Findings (2)', ...
    (shown here with sheets of 4 rows: a header and 3 findings)."""
    import reports.xlsx as xlsx_module
    from audit.checkrun import run_check
    from audit.policy import default_policy_path

    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    run = run_check([Path(document["manifest"]["inputs"][0]["file"])], default_policy_path())
    fingerprints = [f.fingerprint for f in run.result.findings]
    assert len(fingerprints) > 7
    monkeypatch.setattr(xlsx_module, "MAX_ROWS", 4)
    book = openpyxl.load_workbook(xlsx_module.write_xlsx(run, tmp_path))
    parts = [name for name in book.sheetnames
             if name == FINDINGS_SHEET or name.startswith(f"{FINDINGS_SHEET} (")]
    assert parts == [FINDINGS_SHEET] + [f"{FINDINGS_SHEET} ({k})"
                                        for k in range(2, len(parts) + 1)]
    listed = [r["fingerprint"] for name in parts for r in _rows(book[name])]
    assert listed == fingerprints  # every finding once, in order, none dropped
    assert all(len(_rows(book[name])) <= 3 for name in parts)
    assert xlsx_module.continued_sheet_name("X" * 31, 12) == "X" * 26 + " (12)"


def _hostile_findings() -> list[Any]:
    from audit.findings import Finding

    texts = ["", "plain", "=1+1", "+cmd", "-2", "@SUM(A1)", "\tTAB", "\rCR", "a & b <c> d",
             "ctl \x01\x0b\x1f end", "_x0041_ literal", "x" * 40_000, "=" + "y" * 40_000,
             "日本語 😀", "line\nbreak", "\ufffe", " lead", "trail ", "\n", "in  side",
             "=x ", "\u3000wide"]
    out = []
    for k, text in enumerate(texts):
        out.append(Finding(
            rule="EV001", name="missing-evidence", severity="high", case_id=text or "C",
            event_ids=[text, "e2"] if k % 2 else [], activities=[text], resources=[text],
            timestamp=text or None, message=text,
            evidence={"note": text, "n": k} if k % 3 else {},
            amount_at_risk=[None, 12.5, 0.0, -3.25][k % 4], currency=text or None,
            waived=bool(k % 2), waiver_reason=text or None, fingerprint=text))
    return out


def test_prepared_rows_equal_the_cell_by_cell_xml(monkeypatch: pytest.MonkeyPatch) -> None:
    """prepared_rows puts most text cells together itself: each row must be what
    _cell_xml(_cell_value(...)) gives for every column, hostile text included."""
    from reports.xlsx import prepared_rows

    findings = _hostile_findings()
    expected = [cell_by_cell(f) for f in findings]
    assert prepared_rows(findings) == expected
    # Column by column, escaped only where a column's texts need it: each finding alone too
    # (most have no text to escape).
    assert [prepared_rows([f])[0] for f in findings] == expected
    from reports import xlsx

    monkeypatch.setattr(xlsx, "_BLOCK", 4)  # blocks of findings, the last one shorter
    assert len(findings) % 4 and prepared_rows(findings) == expected
    # Findings whose messages and case ids need no escaping, with float amounts: those
    # columns take the path without escape.
    plain = [f for f in findings if not ooxml.needs_escape(f.message + f.case_id)
             and type(f.amount_at_risk) is float]
    assert len(plain) >= 3 and ooxml.needs_escape("\n".join(f.message for f in findings))
    assert prepared_rows(plain) == [expected[findings.index(f)] for f in plain]
    # Columns that mix kinds: lists with items that are not text, a tuple, a dict among
    # texts, evidence that is not a dict.
    findings[0].resources = ["-1", 2.5, None]
    findings[1].event_ids = [7, "=x"]
    findings[2].activities = ("a", "=b")  # type: ignore[assignment]
    findings[3].message = {"=": 1}  # type: ignore[assignment]
    findings[4].evidence = "plain text"  # type: ignore[assignment]
    mixed = [cell_by_cell(f) for f in findings]
    assert prepared_rows(findings) == mixed and mixed != expected
    assert any(f's="{ooxml.quoted(ooxml.CELL)}" t="inlineStr"><is><t>=1+1</t>' in row
               for row in expected) and any("_x0001_" in row for row in expected)
    assert not any("'=" in row for row in expected)
    for amount in (float("nan"), float("inf"), -float("inf")):  # no number Excel can hold
        findings[1].amount_at_risk = amount
        with pytest.raises(ValueError, match="is not a number Excel can hold"):
            prepared_rows(findings[1:2])
    assert any("…" in row for row in expected)


def test_a_repeating_columns_equal_values_of_other_kinds_are_cells_of_their_own() -> None:
    """A repeating column's cells are made once per distinct value (its memo); values that
    are equal and hash alike but make other cells were taken for one: `True` after `1` was
    written `1` (and `1.0`), a str subclass with a text of its own, or a plain `=x` after
    an equal subclass's, the first one's cell (`S!=x` for the neutralised `'=x`)."""
    from reports.xlsx import _cell_value, _cell_xml, _column_xml

    class Shown(str):
        def __str__(self) -> str:
            return "S!" + super().__str__()

    for col, column in ((XLSX_COLUMNS.index(c), c)
                        for c in ("currency", "waiver_reason", "rule")):
        for values in ([1, True, 1.0, "1"], [Shown("=x"), "=x", Shown("é"), "é"],
                       [0, False, "", None]):
            expected = [_cell_xml(col, _cell_value(column, v)) for v in values]
            assert _column_xml(col, column, values, {}) == expected, (column, values)
            memo: dict[Any, str] = {}  # (and from one block to the next)
            assert [cell for v in values for cell in _column_xml(col, column, [v], memo)] \
                == expected, (column, values)


@pytest.mark.parametrize("text", [
    "", "plain", "=1+1", "+cmd", "-2", "@SUM(A1)", "\tTAB", "\rCR", "a & b <c> d",
    "ctl \x01\x0b\x1f end", "_x0041_ literal", "_x004G_ not one", "x" * 40_000, "日本語 😀",
    "line\nbreak", "\ufffe", " lead", "trail ", "\n", "in  side", "ends =", "ends -",
    "nbsp\u00a0", "\u2028sep", "\u3000wide", "nul \x00 inside", "\x00", "\x1c"])
def test_a_column_put_together_at_once_is_the_cell_by_cell_xml(text: str) -> None:
    """A text column none of whose texts needs more than `&`, `<`, `>` escaped is put
    together as a whole (`_plain_column`): one text that needs more (or a NUL, which joins
    them there) must send the column back to the cells made one by one, and either way each
    cell is `_cell_xml(_cell_value(...))`."""
    from reports.records import flat_texts
    from reports.xlsx import _cell_value, _cell_xml, _column_xml, _plain_column

    plain = ["C-1", "a & b", "", "x <y> z", "ends."]
    assert _plain_column(flat_texts(plain), "<c>", "</c>") == [
        "<c>C-1</c>", "<c>a &amp; b</c>", "", "<c>x &lt;y&gt; z</c>", "<c>ends.</c>"]
    for col, column in enumerate(XLSX_COLUMNS):
        if column in ("amount_at_risk", "waived"):
            continue
        listed = column in ("event_ids", "activities", "resources")
        for values in ([*plain, text], [text], [text, text, "C-2"]):
            raw: list[Any] = ([[v, "e2"] if v else [] for v in values] if listed
                              else [{"note": v} for v in values] if column == "evidence"
                              else values)
            expected = [_cell_xml(col, _cell_value(column, v)) for v in raw]
            assert _column_xml(col, column, raw, {}) == expected, (column, values)


def test_a_cell_is_cut_at_excels_limit_as_excel_counts_it() -> None:
    """Excel's 32,767 characters a cell are UTF-16 code units: an emoji counts two. 20,000
    emoji (40,000 units) were written whole, and Excel repairs such a file, cutting or
    dropping what it likes; they are cut here, the note counting characters as Python does
    (an emoji one), a list by whole items."""
    from reports.xlsx import (
        MAX_CELL,
        _cell_value,
        _cell_xml,
        _column_xml,
        cut_text,
        excel_length,
    )

    assert excel_length("😀") == 2 and excel_length("aé€") == 3
    text = "😀" * 20_000
    cut = cut_text(text)
    kept = cut.split(" … [")[0]
    assert set(kept) == {"😀"} and excel_length(cut) <= MAX_CELL
    assert excel_length(cut) > MAX_CELL - 200  # (as much as fits beside the note)
    assert cut.endswith(f" … [{20_000 - len(kept):,} of 20,000 characters not shown: an "
                        "Excel cell holds at most 32,767 characters; findings.json has the "
                        "whole text]")
    items = ["😀" * 9] * 3_000  # 27,000 characters, 56,994 units joined
    listed = cut_text("; ".join(items), items, "event ids")
    shown = listed.split(" … [")[0].split("; ")
    assert shown == items[:len(shown)] and excel_length(listed) <= MAX_CELL
    assert listed.endswith(f"[{3_000 - len(shown):,} of 3,000 event ids not shown: an "
                           "Excel cell holds at most 32,767 characters; findings.json "
                           "lists all]")
    assert cut_text("😀" * 16_383) == "😀" * 16_383  # 32,766 units: whole
    # The columns put together at once cut them too, as the cells made one by one do.
    for col, column in ((XLSX_COLUMNS.index(c), c) for c in ("message", "event_ids")):
        values: list[Any] = [text, "plain"] if column == "message" else [items, ["e1"]]
        cells = _column_xml(col, column, values, {})
        assert cells == [_cell_xml(col, _cell_value(column, v)) for v in values]
        assert "not shown" in cells[0] and "not shown" not in cells[1]


def _written(row: list[Any]) -> tuple[str, ...]:
    """A row's cells as csv.writer writes them: texts as they are, None empty, others by
    str()."""
    return tuple(cell if isinstance(cell, str) else "" if cell is None else str(cell)
                 for cell in row)


def test_csv_rows_built_by_column_equal_csv_row_per_finding() -> None:
    """The CSV writer builds its rows column by column; each must be `csv_row` of its
    finding as csv.writer would write it (hostile text, lists, evidence, None, numbers and
    booleans), whichever kinds of value a column mixes."""
    from reports.writers import csv_row, csv_rows

    findings = _hostile_findings()
    expected = [_written(csv_row(f)) for f in findings]
    assert list(csv_rows(findings)) == expected
    assert any(cell == "'=1+1" for row in expected for cell in row)
    assert any(cell in ("12.5", "-3.25") for row in expected for cell in row)
    assert list(csv_rows([])) == []
    # Each finding alone: a column of one value, formula-like or not.
    assert [next(csv_rows([f])) for f in findings] == expected
    # Lists with items that are not text (joined by their str()), formula-like first;
    # texts in the amounts' column; a dict among texts.
    findings[0].resources = ["-1", 2.5, None]
    findings[1].event_ids = [7, "=x"]
    findings[2].amount_at_risk = "=2"  # type: ignore[assignment]
    findings[3].message = {"=": 1}  # type: ignore[assignment]
    findings[4].waived = None  # type: ignore[assignment]
    rows = list(csv_rows(findings))
    assert rows == [_written(csv_row(f)) for f in findings]
    assert "'-1; 2.5; None" in rows[0] and "7; =x" in rows[1]
    assert "'=2" in rows[2] and '{"=": 1}' in rows[3]
    assert rows[4][FINDING_COLUMNS.index("waived")] == ""


def test_csv_amounts_are_written_in_their_currencys_minor_units() -> None:
    """findings.csv wrote an amount as Python writes a float: 77.8 GBP, 7208.0 JPY, beside
    51.04 EUR; a compliance team's tools read the column as text. An amount of a known
    currency now has its minor units, as findings.xlsx shows it; one of no or an unknown
    currency is written as before (nothing rounded away), and a blank stays blank."""
    from audit.findings import Finding
    from reports.writers import CSV_COLUMNS, csv_row, csv_rows

    given = [(77.8, "GBP", "77.80"), (7208.0, "JPY", "7208"), (1.5, "KWD", "1.500"),
             (0.1 + 0.2, "EUR", "0.30"), (12, "USD", "12.00"), (1.2345, "XYZ", "1.2345"),
             (3.5, None, "3.5"), (None, "EUR", "")]
    findings = [Finding(rule="EV005", name="refund-exceeds-charge", severity="high",
                        case_id=f"C{k}", event_ids=[], activities=[], resources=[],
                        timestamp=None, message="m", evidence={}, amount_at_risk=amount,
                        currency=currency, fingerprint=f"f{k}")
                for k, (amount, currency, _) in enumerate(given)]
    column = list(CSV_COLUMNS).index("amount_at_risk")
    assert [row[column] for row in csv_rows(findings)] == [text for *_, text in given]
    assert [csv_row(f)[column] for f in findings] == [text for *_, text in given]


def test_csv_lines_read_back_as_written_and_equal_csv_writer() -> None:
    """csv_lines' text read by csv.reader gives back every cell, hostile ones included;
    it is csv.writer's text byte for byte, except where a cell holds a carriage return
    without a line feed: csv.writer leaves that cell unquoted, and csv.reader then splits
    the row there (a broken row in the findings CSV); csv_lines quotes it."""
    import csv
    import io

    from audit.csvtext import csv_lines
    from reports.writers import csv_rows

    rows = list(csv_rows(_hostile_findings()))
    rows.append(tuple(["a,b", 'say "hi"', "x\r\ny", "\r", "", "\n\n", "plain"]
                      + [""] * (len(rows[0]) - 7)))
    columns = [list(column) for column in zip(*rows, strict=True)]
    text = csv_lines(columns)
    assert list(map(tuple, csv.reader(io.StringIO(text, newline="")))) == rows
    reference = io.StringIO(newline="")
    csv.writer(reference, lineterminator="\n").writerows(rows)

    def lone_cr(row: tuple[str, ...]) -> bool:
        return any("\r" in cell.replace("\r\n", "") for cell in row)

    assert any(map(lone_cr, rows))
    from tests.test_csvtext import _writer_leaves_a_lone_cr_bare

    if _writer_leaves_a_lone_cr_bare():  # Python 3.11: csv.writer's rows split there
        assert len(list(csv.reader(io.StringIO(reference.getvalue(), newline="")))) > len(rows)
    plain = [row for row in rows if not lone_cr(row)]
    reference = io.StringIO(newline="")
    csv.writer(reference, lineterminator="\n").writerows(plain)
    assert csv_lines([list(c) for c in zip(*plain, strict=True)]) == reference.getvalue()
    # One column: an empty field is written quoted, as csv.writer does (not a blank line).
    assert csv_lines([["a", "", "b,c"]]) == 'a\n""\n"b,c"\n'
    assert csv_lines([]) == "" and csv_lines([[], []]) == ""
    # A str subclass with its own str(): written as its text, as csv.writer writes it,
    # alone in its column or beside plain texts and None.
    from audit.safety import neutralise_cell
    from reports.writers import _csv_cells

    class Labelled(str):
        def __str__(self) -> str:
            return "not the text"

    for cells in ([Labelled("x,1"), Labelled("y")], [Labelled("=x"), "plain", None],
                  [Labelled("y"), None]):
        reference = io.StringIO(newline="")
        csv.writer(reference, lineterminator="\n").writerows(
            [neutralise_cell(c)] if c is not None else [""] for c in cells)
        assert csv_lines([_csv_cells(cells)]) == reference.getvalue()


@pytest.mark.parametrize("level", [1, 9])
def test_sheets_are_deflated_at_the_workbooks_level(tmp_path: Path, level: int) -> None:
    """A sheet streamed into the zip is compressed at the Workbook's level (a hand-made
    ZipInfo carries none, and zipfile then used zlib's default, 6): its compressed size is
    what zlib gives for its XML at that level (at level 1, the default, ISA-L's level 1
    where it deflates, see test_ooxml), and level 1 and 9 differ."""
    import zipfile
    import zlib

    from reports import ooxml

    path = tmp_path / f"level{level}.xlsx"
    with ooxml.Workbook(path, compresslevel=level) as book:
        sheet = book.add_sheet("Rows")
        isal = book.isal
        for k in range(3000):
            sheet.row([(f"case {k % 97}", 0), (k * 1.5, 0), (f"refund approved by {k % 13}", 0)])
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        data = z.read(info)
    assert isal == (level == 1 and importlib.util.find_spec("isal") is not None)
    deflate = (importlib.import_module("isal.isal_zlib") if isal else zlib).compressobj(
        level, zlib.DEFLATED, -15)
    assert info.compress_size == len(deflate.compress(data) + deflate.flush())
    other = zlib.compressobj(9 if level == 1 else 1, zlib.DEFLATED, -15)
    assert info.compress_size != len(other.compress(data) + other.flush())


def test_family_sheets_hold_the_findings_rows_set_aside(demo: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Each family's sheet holds the Findings sheet's rows of its rules, in order, with
    hostile text (line breaks, control characters, long and non-ASCII text) set aside in a
    temporary file and read back 7 characters at a time (rows split between reads); the
    files are closed, and gone, afterwards."""
    import dataclasses

    import reports.xlsx as xlsx_module
    from audit.checkrun import run_check
    from audit.policy import default_policy_path

    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    run = run_check([Path(document["manifest"]["inputs"][0]["file"])], default_policy_path())
    codes = [rule.code for rule in run.result.rules]
    # Spread over the rules with a step prime to their number (5 covered every code of 24
    # rules, but only five of 25, and no timing rule: the input, Adyen's report, has none).
    step = next(s for s in range(5, 50) if math.gcd(s, len(codes)) == 1)
    hostile = [dataclasses.replace(f, rule=codes[k * step % len(codes)])
               for k, f in enumerate(_hostile_findings())]
    run.result.findings[3:3] = hostile
    monkeypatch.setattr(xlsx_module, "_BLOCK", 4)
    monkeypatch.setattr(xlsx_module, "_READ_BACK", 7)
    spills: list[Any] = []
    spill_file = xlsx_module._spill_file

    def recorded(out: Path) -> Any:
        spills.append(spill_file(out))
        return spills[-1]

    monkeypatch.setattr(xlsx_module, "_spill_file", recorded)
    out = tmp_path / "out"
    out.mkdir()
    book = openpyxl.load_workbook(xlsx_module.write_xlsx(run, out))
    assert sorted(p.name for p in out.iterdir()) == ["findings.xlsx"]
    assert spills and all(spill.closed for spill in spills)  # (unnamed on Linux: closed)
    rows = list(book[FINDINGS_SHEET].iter_rows(values_only=True))[1:]
    assert len(rows) == len(run.result.findings)
    families = list(dict.fromkeys(code[:2] for code in codes))
    assert len(families) > 3
    for family in families:
        mine = list(book[family_sheet_name(family)].iter_rows(values_only=True))[1:]
        assert mine == [row for row in rows if str(row[0]).startswith(family)], family
        assert mine, family
    assert any("line\nbreak" in str(v) for row in rows for v in row)


def test_a_formula_after_white_space_is_neutralised_everywhere(tmp_path: Path) -> None:
    """" =1+1" and "\u00a0=2+2" (a program that trims a cell reads them as formulas) went
    unprefixed into quarantine.csv, and such a waiver reason into findings.csv and the
    XLSX summary. Each is now written with the apostrophe; white space alone, or inside a
    text, is left alone."""
    from audit.safety import neutralise_cell
    from reports.writers import _csv_cells

    assert [neutralise_cell(t) for t in (" =1+1", "\u00a0@x", "  -2", " ", "a =b")] == [
        "' =1+1", "'\u00a0@x", "'  -2", " ", "a =b"]
    assert _csv_cells(["plain", " =1+1"]) == ["plain", "' =1+1"]
    assert _csv_cells(["\u00a0+x", "plain"]) == ["'\u00a0+x", "plain"]
    log = tmp_path / "spaced.csv"
    log.write_text(
        "case,activity,timestamp,resource,role,amount,currency,channel\n"
        "C1,Receive refund request, =1+1,ann,customer-service,10,EUR,ecommerce\n"
        "C1,Receive refund request,2026-07-01T09:00:00Z,\u00a0=2+2,customer-service,10,EUR,"
        "ecommerce\n"
        # (approved: missing-evidence judges a refund once paid or approved, and the
        # waiver below needs its finding)
        "C1,Approve refund,2026-07-01T10:00:00Z,bob,supervisor,10,EUR,ecommerce\n",
        encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text((REPO / "models" / "policy.default.yaml").read_text(encoding="utf-8")
                      .replace("waivers: []", "waivers:\n  - {rule: EV001, case: C1, "
                               "reason: ' =HYPERLINK(\"x\")', approved_by: ann, "
                               "expires: 2099-01-01}"), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--out",
                                       str(out), "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    quarantined = (out / "quarantine.csv").read_text(encoding="utf-8")
    assert "' =1+1," in quarantined
    findings = (out / "findings.csv").read_text(encoding="utf-8")
    assert "\"' =HYPERLINK(\"\"x\"\") (approved by ann" in findings
    assert ",'=2+2," in findings  # (the import strips the person's white space)
    book = openpyxl.load_workbook(out / "findings.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if _formula_like(c.value) and not c.quotePrefix]
    assert [c.quotePrefix for c in cells if c.value == " =HYPERLINK(\"x\")"] == [True]
    assert [c.quotePrefix for c in cells if c.value == "=2+2"]
    assert all(c.quotePrefix for c in cells if c.value == "=2+2")


def test_the_apostrophe_added_is_one_a_reader_can_take_off() -> None:
    """A text of apostrophes before a formula start (`'=x`, a case id as exported) was
    written as it is, and `=x` was written `'=x` too: two texts, one cell, and a reader
    (`check` of a log, reading LOG.quarantine.csv back) could not tell which. Now such a
    text gets one apostrophe more, in every writer (the CSV's column search and the XLSX's
    too), and `restored_cell` takes it off: every text of these characters up to five
    long reads back as it is."""
    import itertools

    from audit.findings import Finding
    from audit.safety import is_formula, needs_apostrophe, neutralise_cell, restored_cell
    from reports.writers import _csv_cells
    from reports.xlsx import prepared_rows

    texts = ["".join(chars) for n in range(6)
             for chars in itertools.product("'= a-", repeat=n)]
    written = [neutralise_cell(t) for t in texts]
    assert len(set(written)) == len(texts)  # (one cell per text)
    assert [restored_cell(w) for w in written] == texts
    # A spreadsheet never reads one as a formula, and an apostrophe is added only where
    # one is needed (a formula start, or apostrophes before one).
    assert not [w for w in written if is_formula(w)]
    assert [t for t, w in zip(texts, written, strict=True) if w != t] == [
        t for t in texts if is_formula(t.lstrip("'"))]
    assert neutralise_cell("'=x") == "''=x" and neutralise_cell("'plain") == "'plain"
    assert needs_apostrophe("''-1") and not needs_apostrophe("'a=b")
    # The CSV's column search finds it, alone in its column or beside others.
    assert _csv_cells(["'=x", "plain"]) == ["''=x", "plain"]
    assert _csv_cells(["plain", "''@x", "'p"]) == ["plain", "'''@x", "'p"]
    assert _csv_cells(texts) == written
    # The XLSX's cells: put together as a column, or one by one, the same: the text as it
    # is, in the quoted style where the CSV adds an apostrophe.
    finding = Finding(rule="DQ002", name="missing-resource", severity="low", case_id="'=c",
                      event_ids=["'-e1"], activities=["'plain"], resources=["''+r"],
                      timestamp=None, message="'@m")
    expected = cell_by_cell(finding)
    assert prepared_rows([finding]) == [expected]
    quoted, plain = ooxml.quoted(ooxml.CELL), ooxml.CELL
    for style, cell in ((quoted, ">'=c<"), (quoted, ">'-e1<"), (plain, ">'plain<"),
                        (quoted, ">''+r<"), (ooxml.quoted(ooxml.WRAP), ">'@m<")):
        assert f's="{style}" t="inlineStr"><is><t{cell}' in expected, cell


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_each_formula_start_alone_in_a_csv_column_is_neutralised(start: str) -> None:
    """The CSV's column search (one pass for every formula start after a separator) finds
    each start on its own, first cell or later; a start inside a text is left alone."""
    from audit.safety import FORMULA_START
    from reports.writers import _csv_cells

    assert start in FORMULA_START
    assert _csv_cells(["plain", f"{start}x", f"a{start}b"]) == ["plain", f"'{start}x",
                                                               f"a{start}b"]
    assert _csv_cells([f"{start}x", "plain"]) == [f"'{start}x", "plain"]
    assert _csv_cells([f"a{start}b", "plain"]) == [f"a{start}b", "plain"]


def test_a_cell_cut_at_excels_limit_says_what_it_leaves_out_and_where_it_is(
        tmp_path: Path) -> None:
    """A case of 4,000 events without a resource: missing-resource lists them all, about
    100,000 characters of event ids, and Excel's cell holds 32,767. The cell was cut with a
    bare '…', not saying that ids were left out, how many, or where they all are. Now it
    keeps whole ids and ends with a note that counts the rest and names findings.json
    (findings.csv, or how to have one written, where the run writes no JSON)."""
    from reports.xlsx import MAX_CELL

    lines = ["case,activity,timestamp,resource,role,amount,currency,channel",
             "C1,Receive refund request,2026-07-01T09:00:00Z,ann,customer-service,10,EUR,"
             "ecommerce"]
    lines += [f"C1,Internal note,2026-07-02T{k // 3600:02d}:{k // 60 % 60:02d}:{k % 60:02d}Z"
              ",,,10,EUR,ecommerce" for k in range(4000)]
    log = tmp_path / "notes.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for formats, where in (("all", "findings.json lists all]"),
                           ("csv,xlsx", "findings.csv lists all]"),
                           ("xlsx", "findings.json (check --format json writes it) lists all]")):
        out = tmp_path / formats.replace(",", "-")
        result = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--format",
                                           formats, "--fail-on", "never"])
        assert result.exit_code == 0, (result.output, result.exception)
        rows = _rows(openpyxl.load_workbook(out / "findings.xlsx")[FINDINGS_SHEET])
        row = next(r for r in rows if r["name"] == "missing-resource")
        cell = row["event_ids"]
        assert len(cell) <= MAX_CELL and cell.endswith(where), cell[-200:]
        shown, note = cell.split(" … [")
        assert note.startswith(f"{4000 - len(shown.split('; ')):,} of 4,000 event ids not "
                               "shown: an Excel cell holds at most 32,767 characters; ")
        assert len(shown) > MAX_CELL - 200  # (as many whole ids as fit beside the note)
    ids = json.loads((tmp_path / "all" / "findings.json").read_text(encoding="utf-8"))
    finding = next(f for f in ids["findings"] if f["name"] == "missing-resource")
    assert len(finding["event_ids"]) == 4000
    kept = shown.split("; ")
    assert kept == finding["event_ids"][:len(kept)]

    # Other text: its characters are counted.
    from reports.xlsx import cut_text, prepared_rows

    text = "=" + "x" * 39_999
    cut = cut_text(text)
    assert MAX_CELL - 2 <= len(cut) <= MAX_CELL and text.startswith(cut.split(" … [")[0])
    assert cut.endswith(f" … [{40_000 - len(cut.split(' … [')[0]):,} of 40,000 characters "
                        "not shown: an Excel cell holds at most 32,767 characters; "
                        "findings.json has the whole text]")
    # A list whose first item alone is longer than a cell: its characters too.
    assert "characters not shown" in cut_text("y" * 40_000 + "; z", ["y" * 40_000, "z"])
    # A short text is left as it is.
    assert cut_text("a; b", ["a", "b"], "event ids") == "a; b"

    # The rows put together column by column give the same cells, neutralised first.
    from audit.findings import Finding
    long = Finding(rule="DQ002", name="missing-resource", severity="low", case_id="C1",
                   event_ids=[f"=id-{k:06d}" for k in range(5000)],
                   activities=["Internal note"] * 5000, resources=["-person"] * 5000,
                   timestamp=None, message="m")
    expected = cell_by_cell(long)
    assert prepared_rows([long]) == [expected]
    assert f's="{ooxml.quoted(ooxml.CELL)}" t="inlineStr"><is><t>=id-000000; =id-000001; ' \
        in expected  # quoted, and cut
    assert " of 5,000 event ids not shown" in expected
    assert " of 5,000 activities not shown" in expected
    assert " of 5,000 resources not shown" in expected


def test_amounts_show_their_currencys_minor_units(tmp_path: Path) -> None:
    """Every amount had the format '#,##0.00#': 9526 JPY showed as 9,526.00 and 1.39 KWD as
    1.39, where report.html and the findings' messages say 9526 JPY and 1.390 KWD. An
    amount now shows its currency's minor units, on the Findings sheet, the family sheets
    and the summary's money at risk; an unknown or missing currency keeps two or three
    decimals."""
    from audit.findings import Finding
    from reports.xlsx import prepared_rows

    log = tmp_path / "paid.csv"
    log.write_text(
        "case,activity,timestamp,resource,role,amount,currency,channel\n"
        "C1,Receive refund request,2026-07-01T09:00:00Z,ann,customer-service,9526,JPY,ecommerce\n"
        "C1,Execute payout,2026-07-02T09:00:00Z,pat,payments,9526,JPY,ecommerce\n"
        "C2,Receive refund request,2026-07-01T09:00:00Z,ann,customer-service,1.39,KWD,ecommerce\n"
        "C2,Execute payout,2026-07-02T09:00:00Z,pat,payments,1.39,KWD,ecommerce\n"
        "C3,Receive refund request,2026-07-01T09:00:00Z,ann,customer-service,12.5,EUR,ecommerce\n"
        "C3,Execute payout,2026-07-02T09:00:00Z,pat,payments,12.5,EUR,ecommerce\n",
        encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--fail-on",
                                       "never", "--format", "xlsx"])
    assert result.exit_code == 0, (result.output, result.exception)
    book = openpyxl.load_workbook(out / "findings.xlsx")
    formats = {"JPY": "#,##0", "KWD": "#,##0.000", "EUR": "#,##0.00"}
    for name in (FINDINGS_SHEET, family_sheet_name("AP")):
        sheet = book[name]
        header = [c.value for c in sheet[1]]
        amount, currency = header.index("amount_at_risk"), header.index("currency")
        shown = {(row[currency].value, row[amount].number_format)
                 for row in sheet.iter_rows(min_row=2) if row[amount].value is not None}
        assert shown == set(formats.items()), name
    summary = {row[0].value: row[1].number_format for row in book[SUMMARY_SHEET].iter_rows()
               if row[0].value in formats}
    assert summary == formats

    # Cell by cell and column by column alike, an unknown or missing currency as before.
    findings = [Finding(rule="AP001", name="missing-approval", severity="high", case_id="C",
                        event_ids=[], activities=[], resources=[], timestamp=None,
                        message="m", amount_at_risk=amount, currency=currency)
                for amount, currency in ((9526.0, "JPY"), (1.39, "KWD"), (12.5, "EUR"),
                                         (3.25, None), (3.5, "XYZ"), (None, "JPY"))]
    expected = [cell_by_cell(f) for f in findings]
    assert prepared_rows(findings) == expected
    amount = f'<c r="{ooxml.column_letters(XLSX_COLUMNS.index("amount_at_risk"))}\x01" s="'
    styles = [row.split(amount)[1].split('"')[0] if amount in row else None
              for row in expected]
    assert styles == [str(ooxml.AMOUNT_0), str(ooxml.AMOUNT_3), str(ooxml.AMOUNT_2),
                      str(ooxml.AMOUNT), str(ooxml.AMOUNT), None]


def test_the_workbooks_properties_date_it_by_the_run(demo: Path, tmp_path: Path) -> None:
    """The file's created and modified times are the run's `finished` (the manifest's), not
    the moment the writer ran (before: the time of writing, not in the manifest)."""
    from dataclasses import replace

    from audit.checkrun import run_check
    from audit.policy import default_policy_path
    from reports.xlsx import write_xlsx

    manifest = json.loads((demo / "findings.json").read_text(encoding="utf-8"))["manifest"]
    properties = openpyxl.load_workbook(demo / "findings.xlsx").properties
    finished = datetime.fromisoformat(manifest["finished"]).astimezone(UTC)
    assert properties.created is not None and properties.modified == properties.created
    assert properties.created.replace(tzinfo=UTC) == finished.replace(microsecond=0)
    run = run_check([Path(manifest["inputs"][0]["file"])], default_policy_path())
    then = datetime(2026, 1, 31, 23, 59, 58, 900000, tzinfo=UTC)
    book = openpyxl.load_workbook(write_xlsx(replace(run, finished=then), tmp_path))
    assert book.properties.created == book.properties.modified == datetime(2026, 1, 31, 23,
                                                                            59, 58)


def test_finding_times_and_the_summarys_times_are_excel_dates_in_utc(demo: Path) -> None:
    """`timestamp` and the Summary's run and clock times were text only: Excel's date
    filters, "between" and a pivot's grouping by month or quarter did not work. Beside the
    ISO text, `timestamp_utc` now holds the same instant as an Excel date and time in UTC
    (the Summary's times too, labelled UTC); a finding without a time has an empty cell."""
    from audit.findings import Finding
    from reports.xlsx import prepared_rows

    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(demo / "findings.xlsx")
    for name in (FINDINGS_SHEET, family_sheet_name("AP")):
        sheet = book[name]
        header = [c.value for c in sheet[1]]
        assert header.index("timestamp_utc") == header.index("timestamp") + 1
        col = header.index("timestamp_utc")
        cells = [row[col] for row in sheet.iter_rows(min_row=2)]
        texts = [row[col - 1].value for row in sheet.iter_rows(min_row=2)]
        if name == FINDINGS_SHEET:
            assert texts == [f["timestamp"] for f in document["findings"]]
        assert len(cells) > 5
        for cell, text in zip(cells, texts, strict=True):
            if text is None:
                assert cell.value is None
                continue
            assert cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm:ss"
            assert cell.value == datetime.fromisoformat(text).astimezone(UTC).replace(
                tzinfo=None), text
    summary = {row[0].value: row[1:3] for row in book[SUMMARY_SHEET].iter_rows()
               if row[0].value}
    manifest = document["manifest"]
    for label, key in (("Run started (UTC)", "started"), ("Run finished (UTC)", "finished"),
                       ("Audit clock, as of (UTC)", "as_of")):
        when, text = summary[label]
        assert when.is_date and when.number_format == "yyyy-mm-dd hh:mm:ss"
        assert text.value == manifest[key]
        expected = datetime.fromisoformat(manifest[key]).astimezone(UTC).replace(tzinfo=None)
        assert abs((when.value - expected).total_seconds()) < 0.001, label

    # An offset, a fraction of a second, no time, a time that is no time, one before
    # 1900-03-01 (Excel's serials of earlier days are off by one): each cell alone and in a
    # column alike.
    times = ["2026-09-24T13:09:33.250+02:00", None, "=1+1", "1899-12-31T00:00:00+00:00",
             "2026-10-01T00:00:00+00:00"]
    findings = [Finding(rule="AP001", name="missing-approval", severity="high", case_id="C",
                        event_ids=[], activities=[], resources=[], timestamp=t, message="m")
                for t in times]
    rows = prepared_rows(findings)
    assert rows == [cell_by_cell(f) for f in findings]
    letter = ooxml.column_letters(XLSX_COLUMNS.index("timestamp_utc"))
    shown = [row.split(f'<c r="{letter}\x01"')[1].split("</v>")[0] if f'"{letter}\x01"' in row
             else None for row in rows]
    assert shown[1] is None and shown[2] is None and shown[3] is None
    assert shown[0].startswith(f' s="{ooxml.DATETIME}"><v>')
    assert float(shown[0].split("<v>")[1]) == pytest.approx(
        46289 + (11 * 3600 + 9 * 60 + 33.25) / 86400, abs=1e-9)  # 11:09:33.250 UTC
    assert float(shown[4].split("<v>")[1]) == 46296.0


def test_the_summary_holds_the_run_details_of_the_manifest(demo: Path) -> None:
    """The Summary lacked what findings.json's manifest and report.html's run details hold:
    the SOP files and their sha256, where the audit clock came from, the command and the
    period of the log's events. It now gives them, read from the manifest."""
    import shlex

    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    manifest = document["manifest"]
    rows = [[c.value for c in row] for row in
            openpyxl.load_workbook(demo / "findings.xlsx")[SUMMARY_SHEET].iter_rows()]
    labels = {row[0]: row[1:] for row in rows if row and isinstance(row[0], str)}
    assert labels["Command"][0] == shlex.join(manifest["command"])
    assert labels["Working directory"][0] == manifest["working_directory"]
    assert manifest["as_of_source"] in ("--as-of", "policy", "clock")
    assert labels["Audit clock from"][0] == {"policy": "as_of in the policy",
                                             "--as-of": "set by --as-of"}.get(
        manifest["as_of_source"], labels["Audit clock from"][0])
    assert labels["Audit clock from"][0]
    # The period of the log's events: the manifest's, which is the log's first and last.
    period = manifest["events_period"]
    import pandas as pd

    from audit import canonical as C

    stamps = pd.read_parquet(demo / "canonical.parquet")[C.TIMESTAMP].dropna()
    assert period == {"first": stamps.min().isoformat(), "last": stamps.max().isoformat()}
    for label, key in (("First event of the log (UTC)", "first"),
                       ("Last event of the log (UTC)", "last")):
        when, text = labels[label][:2]
        assert text == period[key]
        assert when == datetime.fromisoformat(period[key]).astimezone(UTC).replace(tzinfo=None)
    # Each SOP the run read, with its sha256, as the manifest names them.
    assert manifest["sop"]
    head = next(k for k, row in enumerate(rows) if row[0] == "SOP channel")
    assert rows[head][:4] == ["SOP channel", "sha256", "File", "Process"]
    listed = [row[:4] for row in rows[head + 1:head + 1 + len(manifest["sop"])]]
    assert listed == [[s["channel"], s["sha256"], s["file"], s["process"] or None]
                      for s in manifest["sop"]]
    assert all(len(s["sha256"]) == 64 for s in manifest["sop"])


WORKSHEET_ORDER = ["sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData",
                   "sheetCalcPr", "sheetProtection", "protectedRanges", "scenarios",
                   "autoFilter", "sortState", "dataConsolidate", "customSheetViews",
                   "mergeCells", "phoneticPr", "conditionalFormatting", "dataValidations",
                   "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter"]
"""CT_Worksheet's children in their order (ECMA-376 part 1, 18.3.1.99), up to headerFooter."""


def test_waived_rows_are_marked_and_the_findings_sheets_print_readably(
        demo: Path, tmp_path: Path) -> None:
    """Waived findings looked like open ones (same font), though the sheet lists them and
    the Summary's Findings counts the open ones only; and the 17-column sheet had no print
    settings. A waived finding's row is now in grey italics, the Summary and each page's
    header say that waived findings are listed, and a findings sheet prints landscape, one
    page wide, its header row on every page."""
    import zipfile

    from lxml import etree

    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    target = document["findings"][0]
    policy = tmp_path / "policy.yaml"
    policy.write_text((REPO / "models" / "policy.default.yaml").read_text(encoding="utf-8")
                      .replace("waivers: []", "waivers:\n  - {rule: " + target["rule"]
                               + ", case: '" + target["case_id"] + "', reason: accepted, "
                               "approved_by: CFO, expires: 2099-01-01}"), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(demo / "canonical.parquet"), "--policy",
                                       str(policy), "--out", str(out), "--fail-on", "never",
                                       "--format", "json,xlsx"])
    assert result.exit_code == 0, (result.output, result.exception)
    waived_run = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    waived = [f["fingerprint"] for f in waived_run["findings"] if f["waived"]]
    assert waived and len(waived) < len(waived_run["findings"])
    book = openpyxl.load_workbook(out / "findings.xlsx")
    for name in (FINDINGS_SHEET, family_sheet_name(target["rule"][:2])):
        sheet = book[name]
        header = [c.value for c in sheet[1]]
        mark = header.index("waived")
        seen = {True: 0, False: 0}
        for row in sheet.iter_rows(min_row=2):
            is_waived = row[mark].value
            seen[is_waived] += 1
            for cell in row:
                if cell.value is None:
                    continue
                assert bool(cell.font.i) is is_waived, (name, cell.coordinate)
                grey = cell.font.color is not None and cell.font.color.rgb == "FF595959"
                assert grey is is_waived, (name, cell.coordinate)
            # (the style's number format, wrapping and quote prefix are kept)
            assert row[header.index("timestamp_utc")].number_format == "yyyy-mm-dd hh:mm:ss" \
                or row[header.index("timestamp_utc")].value is None
        assert seen[True] == len([f for f in waived_run["findings"] if f["waived"] and (
            name == FINDINGS_SHEET or f["rule"][:2] == target["rule"][:2])])
        assert seen[False]
        # Printed: landscape, one page wide, the header row on every page, and a page header
        # that says the waived findings are listed.
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.print_title_rows == "$1:$1"
        assert sheet.print_options.gridLines
        assert "waived ones included" in sheet.oddHeader.left.text
        assert sheet.oddFooter.center.text == "Page &P of &N"
    summary = {row[0]: row[1] for row in book[SUMMARY_SHEET].iter_rows(values_only=True)
               if row and row[0]}
    assert summary["Findings"] == waived_run["summary"]["findings"]
    assert summary["Waived findings"] == len(waived)
    assert summary["Rows on the findings sheets"] == len(waived_run["findings"])
    assert "grey italics" in summary["Waived findings on the findings sheets"]
    # The sheets' parts in the order ECMA-376 sets (Excel refuses a file otherwise).
    with zipfile.ZipFile(out / "findings.xlsx") as archive:
        for index in range(len(book.sheetnames)):
            root = etree.fromstring(archive.read(f"xl/worksheets/sheet{index + 1}.xml"))
            tags = [etree.QName(child).localname for child in root]
            assert tags == sorted(tags, key=WORKSHEET_ORDER.index), (index, tags)
        names = etree.fromstring(archive.read("xl/workbook.xml")).find(
            "{*}definedNames")
        titles = [n.text for n in names if n.get("name") == "_xlnm.Print_Titles"]
        assert titles == [f"'{n}'!$1:$1" for n in book.sheetnames
                          if n not in (SUMMARY_SHEET, "Columns", "Errors")]


def test_the_columns_sheet_and_the_docs_describe_every_column_from_one_table(
        demo: Path) -> None:
    """The columns were documented by name and number format only: not which event's time
    `timestamp` is (approval-after-payout dates a finding by the case's first approval,
    not by the payout), nor that `resources` are the distinct people of the cited events,
    nor where the evidence's keys come from; and the workbook held no legend. A Columns
    sheet now describes each column (type, meaning, example) and, per rule, which event's
    time `timestamp` is, from the one table docs/reports.md's table is printed from."""
    from audit.rules import default_rules
    from reports.columns import COLUMNS, EVIDENCE_KEYS, TIMESTAMP_OF, markdown

    assert [c.name for c in COLUMNS] == list(XLSX_COLUMNS)  # every column, in order
    assert all(c.kind and c.meaning and c.example for c in COLUMNS)
    codes = [rule.code for rule in default_rules()]
    assert sorted(TIMESTAMP_OF) == sorted(codes) == sorted(EVIDENCE_KEYS)
    # The evidence keys as each rule's code names them (`evidence=(...)` of its findings).
    import inspect
    import re

    for rule in default_rules():
        source = inspect.getsource(inspect.getmodule(type(rule)))  # type: ignore[arg-type]
        named = [key for found in re.findall(r"evidence=\(([^)]*)\)", source)
                 for key in re.findall(r'"([^"]+)"', found)]
        assert set(EVIDENCE_KEYS[rule.code]) == set(named), rule.code
    docs = (REPO / "docs" / "reports.md").read_text(encoding="utf-8")
    assert markdown() in docs, "docs/reports.md: paste `python -m reports.columns`"

    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    rows = list(openpyxl.load_workbook(demo / "findings.xlsx")["Columns"].iter_rows(
        values_only=True))
    assert rows[0][:4] == ("column", "type", "meaning", "example")
    assert [row[:4] for row in rows[1:1 + len(COLUMNS)]] == [
        (c.name, c.kind, c.meaning, c.example) for c in COLUMNS]
    head = next(k for k, row in enumerate(rows)
                if row[:4] == ("rule", "name", "timestamp is the time of", "evidence keys"))
    per_rule = {row[0]: (row[1], row[2]) for row in rows[head + 1:]}
    keys_of = {row[0]: row[3] for row in rows[head + 1:]}
    assert keys_of["SD001"] == "who"
    assert list(per_rule) == document["manifest"]["rules"]
    names = {f["rule"]: f["name"] for f in document["findings"]}
    assert all(per_rule[code][0] == name for code, name in names.items())
    assert per_rule["AP002"][1] == "the case's first approval (either level)"

    # What the table says, checked against the findings themselves.
    findings = document["findings"]
    log = __import__("pandas").read_parquet(demo / "canonical.parquet")
    from audit import canonical as C

    times = dict(zip(log[C.EVENT_ID], log[C.TIMESTAMP], strict=True))
    people = dict(zip(log[C.EVENT_ID], log[C.RESOURCE], strict=True))
    for finding in findings:
        assert set(finding["evidence"]) <= set(EVIDENCE_KEYS[finding["rule"]])
        cited = [people.get(e) for e in finding["event_ids"]]
        named = list(dict.fromkeys(str(p) for p in cited if isinstance(p, str) and p))
        assert finding["resources"] == named, finding["fingerprint"]
        said = TIMESTAMP_OF[finding["rule"]]
        if said.startswith("the earliest of the") and " it cites" in said \
                and finding["timestamp"]:
            stamps = [times[e] for e in finding["event_ids"] if e in times]
            assert finding["timestamp"] == min(stamps).isoformat(), finding["fingerprint"]
    # The case's first payout, first or last approval, where the table says so.
    kinds = {"the case's first payout": (("Execute payout",), min),
             "the case's first approval (either level)":
                 (("Approve refund", "Approve refund (second level)"), min),
             "the case's last approval":
                 (("Approve refund", "Approve refund (second level)"), max),
             # (EV003: the demo's cases withdraw or end none of their approvals)
             "the case's last approval in force (from its first not withdrawn by a "
             "rejection nor ended by a close and a new request)":
                 (("Approve refund", "Approve refund (second level)"), max)}
    checked = set()
    for finding in findings:
        said = TIMESTAMP_OF[finding["rule"]]
        if said not in kinds:
            continue
        labels, pick = kinds[said]
        case = log[(log[C.CASE].astype(str) == finding["case_id"])
                   & log[C.ACTIVITY].astype(str).isin(labels)]
        assert finding["timestamp"] == pick(case[C.TIMESTAMP]).isoformat(), finding["rule"]
        checked.add(finding["rule"])
    assert checked == {"AP001", "AP002", "AP005", "EV002", "EV003", "EV007"}


def _assert_quoted_in_xlsx_row(text: str) -> None:
    """A finding whose case id, event id and resource are `text`: its XLSX row, made column
    by column (`prepared_rows`), is the one made cell by cell, and those three cells carry
    the quote prefix style."""
    from audit.findings import Finding
    from reports.xlsx import prepared_rows

    finding = Finding(rule="DQ002", name="missing-resource", severity="low", case_id=text,
                      event_ids=[text], activities=["A"], resources=[text],
                      timestamp=None, message="m")
    row = prepared_rows([finding])[0]
    assert row == cell_by_cell(finding)
    cells = re.findall(r' s="(\d+)" t="inlineStr"><is><t[^>]*>([^<]*)<', row)
    others = {"DQ002", "missing-resource", "low", "m", "A", "{}", finding.fingerprint}
    assert [s for s, cell in cells if cell not in others] == [str(ooxml.quoted(ooxml.CELL))] * 3


@pytest.mark.parametrize("text", ["\x00", "\x00x", "\x00=x", "\x01=x", "\x1b@x", "\x7f+x",
                                  " \x01-x", "\x08\t=x"])
def test_a_nul_or_control_characters_before_a_formula_start_are_neutralised(text: str) -> None:
    """A text starting with a NUL (ASVS 5.0 1.2.10 lists it with = + - @ and tab: a program
    that drops it reads what follows), or with control characters before a formula start
    (`\\x01=cmd`, read from a CSV or Parquet log as it is), was written as it was: in
    findings.csv as a cell beginning `\\x00=cmd`, in findings.xlsx without the quote prefix.
    Such control characters are passed over as white space is, in every writer (the CSV's
    column search, the XLSX's column as a whole and cell by cell); the text reads back."""
    from audit.safety import needs_apostrophe, neutralise_cell, restored_cell
    from reports.writers import _csv_cells

    assert needs_apostrophe(text) and neutralise_cell(text) == "'" + text
    assert restored_cell(neutralise_cell(text)) == text
    assert _csv_cells(["plain", text]) == ["plain", "'" + text]
    assert _csv_cells([text, "plain"]) == ["'" + text, "plain"]
    # (a control character that no formula start follows is no formula: left alone)
    assert _csv_cells(["\x01x", "a\x00=b"]) == ["\x01x", "a\x00=b"]
    # (resources: a repeating column, made cell by cell; case_id and event_ids: put
    # together as a whole column where its texts allow)
    _assert_quoted_in_xlsx_row(text)


@pytest.mark.parametrize("text", ["\ufeff=HYPERLINK(\"http://evil\",\"x\")", "\u200b@SUM(A1)",
                                  "\u202e=1+1", "\u2066-2+3\u2069", "\u200e+1", "\u2060=x",
                                  "\u180e=x", " \ufeff=x", "\ufeff\t=x", "\u200d\u00a0@x"])
def test_a_formula_start_after_invisible_characters_is_neutralised(text: str) -> None:
    """A text that starts with characters that draw nothing (a byte order mark U+FEFF, a
    zero-width space, a bidi control or mark, a word joiner) and then a formula start was
    written as it was: findings.csv's cell `\\ufeff=HYPERLINK(...)`, findings.xlsx's without
    the quote prefix. A program that trims a cell reads the formula: JavaScript's trim()
    (a web spreadsheet's or a GRC tool's import) takes off U+FEFF, .NET Framework's
    String.Trim up to 3.5 U+200B and U+FEFF too, and one that drops what it cannot show
    drops a bidi control. They are now passed over as white space is, in every writer (the
    CSV's column search, the XLSX's column as a whole and cell by cell); the text reads
    back, and such a character inside a text, or before no formula start, is left alone."""
    from audit.safety import needs_apostrophe, neutralise_cell, restored_cell
    from reports.writers import _csv_cells

    assert needs_apostrophe(text) and neutralise_cell(text) == "'" + text
    assert restored_cell(neutralise_cell(text)) == text
    assert neutralise_cell("'" + text) == "''" + text
    assert _csv_cells(["plain", text]) == ["plain", "'" + text]
    assert _csv_cells([text, "plain"]) == ["'" + text, "plain"]
    assert _csv_cells(["\ufeffx", "a\u202e=b", "\u200b"]) == ["\ufeffx", "a\u202e=b", "\u200b"]
    _assert_quoted_in_xlsx_row(text)


def test_a_formula_after_a_byte_order_mark_is_neutralised_in_every_file(tmp_path: Path) -> None:
    """Through a check of a CSV log: a person `\\ufeff=2+2`, a case `\\u202e=1` and an
    unreadable time `\\u200b@x` were written without the apostrophe into findings.csv and
    quarantine.csv, and without the quote prefix into findings.xlsx; findings.json keeps
    the text as it is."""
    log = tmp_path / "invisible.csv"
    log.write_text(
        "case,activity,timestamp,resource,role,amount,currency,channel\n"
        "\u202e=1,Receive refund request,\u200b@x,ann,customer-service,10,EUR,ecommerce\n"
        "\u202e=1,Receive refund request,2026-07-01T09:00:00Z,\ufeff=2+2,customer-service,"
        "10,EUR,ecommerce\n"
        "\u202e=1,Approve refund,2026-07-01T10:00:00Z,bob,supervisor,10,EUR,ecommerce\n",
        encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out),
                                       "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    quarantined = (out / "quarantine.csv").read_text(encoding="utf-8")
    assert ",'\u200b@x," in quarantined and ",'\u202e=1,no\n" in quarantined
    findings = (out / "findings.csv").read_text(encoding="utf-8")
    assert ",'\u202e=1," in findings and ",\u202e=1," not in findings
    assert "'\ufeff=2+2" in findings
    assert "\ufeff=2+2" in [r for f in json.loads((out / "findings.json").read_text(
        encoding="utf-8"))["findings"] for r in f["resources"]]
    book = openpyxl.load_workbook(out / "findings.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value[:1] in ("\u202e", "\ufeff")]
    assert {c.value for c in cells} >= {"\u202e=1", "\ufeff=2+2"}
    assert all(c.quotePrefix for c in cells), [(c.coordinate, c.value) for c in cells]


def test_a_waivers_expiry_on_the_summary_is_a_date(tmp_path: Path) -> None:
    """The Summary's waiver table held `Expires` as the text `2099-01-01`: Excel's date
    filters, "before" and a sort by date did not read it, while the run's times beside it
    are dates. It is now an Excel date (a whole number of days, shown `yyyy-mm-dd`); an
    expired waiver's too."""
    log = tmp_path / "log.csv"
    log.write_text(
        "case,activity,timestamp,resource,role,amount,currency,channel\n"
        "C1,Receive refund request,2026-07-01T09:00:00Z,ann,customer-service,10,EUR,ecommerce\n"
        "C1,Approve refund,2026-07-01T10:00:00Z,bob,supervisor,10,EUR,ecommerce\n",
        encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text((REPO / "models" / "policy.default.yaml").read_text(encoding="utf-8")
                      .replace("waivers: []", "waivers:\n  - {rule: EV001, case: C1, "
                               "reason: agreed, approved_by: ann, expires: 2099-01-31}\n"
                               "  - {rule: SD001, case: C1, reason: old, approved_by: ann, "
                               "expires: 2026-01-02}"), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--out",
                                       str(out), "--fail-on", "never", "--format", "xlsx"])
    assert result.exit_code == 0, (result.output, result.exception)
    sheet = openpyxl.load_workbook(out / "findings.xlsx")["Summary"]
    rows = [list(row) for row in sheet.iter_rows()]
    head = next(i for i, row in enumerate(rows) if row[0].value == "Waiver rule")
    at = [c.value for c in rows[head]].index("Expires")
    expiries = [rows[head + n][at] for n in (1, 2)]
    assert [c.value for c in expiries] == [datetime(2099, 1, 31), datetime(2026, 1, 2)]
    assert [c.number_format for c in expiries] == ["yyyy-mm-dd"] * 2
    assert [c.is_date for c in expiries] == [True, True]
