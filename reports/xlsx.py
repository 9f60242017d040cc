"""findings.xlsx: a summary sheet, every finding on one filterable sheet, one sheet per rule family.

Written with XlsxWriter, which never turns text into formulas, URLs or numbers here
(`strings_to_*` off); text that a spreadsheet would still read as a formula when edited is
neutralised as in the CSV. Findings use the CSV's fixed columns.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlsxwriter  # type: ignore[import-untyped]

from audit.findings import SEVERITIES, Finding
from audit.rules.base import FAMILIES
from audit.safety import neutralise_cell
from reports.records import FINDING_COLUMNS, flat_value

if TYPE_CHECKING:
    from audit.checkrun import CheckRun

MAX_CELL = 32_767
"""Excel's limit on characters in one cell."""
WIDTHS = {"rule": 8, "name": 24, "severity": 9, "case_id": 14, "timestamp": 25, "message": 60,
          "amount_at_risk": 13, "currency": 9, "resources": 22, "activities": 36,
          "event_ids": 26, "waived": 8, "waiver_reason": 24, "fingerprint": 18, "evidence": 50}
SUMMARY_SHEET = "Summary"
FINDINGS_SHEET = "Findings"
MAX_ROWS = 1_048_576
"""Rows of one Excel worksheet, the header included: longer lists continue on the next sheet
('Findings (2)', ...), since Excel cannot open more and XlsxWriter drops them silently."""


def family_sheet_name(family: str) -> str:
    """'AP' -> 'AP approvals' (at most 31 characters, as Excel requires)."""
    return f"{family} {FAMILIES.get(family, '')}".strip()[:31]


def continued_sheet_name(name: str, part: int) -> str:
    """The name of part `part` (1-based) of a sheet split at MAX_ROWS: 'Findings (2)'."""
    if part == 1:
        return name
    suffix = f" ({part})"
    return name[: 31 - len(suffix)] + suffix


def _text(value: str) -> str:
    value = neutralise_cell(value)
    return value if len(value) <= MAX_CELL else value[: MAX_CELL - 1] + "…"


class _Sheets:
    """Cell writing with the workbook's formats; every value goes through one typed path."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.header = book.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1,
                                       "text_wrap": True, "valign": "top"})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.bold = book.add_format({"bold": True})
        self.amount = book.add_format({"num_format": "#,##0.00", "valign": "top"})
        self.percent = book.add_format({"num_format": "0.0%"})
        self.cell = book.add_format({"valign": "top"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})

    def put(self, sheet: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value, fmt or self.cell)
        elif isinstance(value, numbers.Real):
            sheet.write_number(row, col, float(value), fmt or self.cell)
        elif value is None or value == "":
            sheet.write_blank(row, col, None, fmt or self.cell)
        else:
            sheet.write_string(row, col, _text(str(value)), fmt or self.cell)

    def findings(self, sheet: Any, rows: list[list[Any]]) -> None:
        """The fixed columns, a frozen header row and an autofilter over all rows; `rows` are
        findings as `finding_cells` gives them."""
        for col, column in enumerate(FINDING_COLUMNS):
            sheet.write_string(0, col, column, self.header)
            wrap = column in ("message", "evidence", "activities")
            sheet.set_column(col, col, WIDTHS.get(column, 14), self.wrap if wrap else None)
        formats = [self.wrap if column in ("message", "evidence") else self.cell
                   for column in FINDING_COLUMNS]
        write_string, write_number = sheet.write_string, sheet.write_number
        write_boolean = sheet.write_boolean
        for row, cells in enumerate(rows, start=1):
            for col, value in enumerate(cells):
                if isinstance(value, str):
                    if value:  # an empty cell is not written: it reads as empty anyway
                        write_string(row, col, value, formats[col])
                elif isinstance(value, bool):
                    write_boolean(row, col, value, formats[col])
                else:
                    write_number(row, col, value, self.amount)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(rows), 1), len(FINDING_COLUMNS) - 1)


def finding_cells(finding: Finding) -> list[Any]:
    """A finding as the cells of its row: text neutralised and cut to Excel's cell limit,
    the amount at risk a number, waived a boolean, a missing value ''."""
    cells: list[Any] = []
    for column in FINDING_COLUMNS:
        value = flat_value(getattr(finding, column))
        if column == "amount_at_risk" and isinstance(value, numbers.Real) \
                and not isinstance(value, bool):
            cells.append(float(value))
        elif column == "waived":
            cells.append(bool(value))
        else:
            cells.append(value if value == "" else _text(str(value)))
    return cells


def _summary(sheets: _Sheets, sheet: Any, run: CheckRun) -> None:
    manifest, summary = run.manifest(), run.summary()
    put = sheets.put
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 44)
    sheet.set_column(2, 6, 12)
    sheet.write_string(0, 0, "Refund audit: summary", sheets.title)
    cases = int(summary["cases"])
    rows: list[tuple[str, Any]] = [
        ("Tool", f"refund-audit {manifest['version']}"),
        ("Run started", manifest["started"]),
        ("Run finished", manifest["finished"]),
        ("Audit clock (as of)", manifest["as_of"]),
        ("Policy", manifest["policy"]["file"] or "(default)"),
        ("Policy sha256", manifest["policy"]["sha256"] or ""),
        ("Cases", cases),
        ("Events", summary["events"]),
        ("Rows read", summary["read"]),
        ("Rows imported", summary["imported"]),
        ("Rows quarantined", summary["quarantined"]),
        ("Findings", summary["findings"]),
        ("Cases with findings", summary["cases_with_findings"]),
        ("Waived findings", summary["waived"]),
        ("Suppressed by precedence", summary["suppressed_by_precedence"]),
        ("Rules that crashed", summary["errors"]),
    ]
    row = 2
    for label, value in rows:
        put(sheet, row, 0, label, sheets.bold)
        put(sheet, row, 1, value)
        row += 1
    put(sheet, row, 0, "Cases without findings", sheets.bold)
    put(sheet, row, 1, (cases - summary["cases_with_findings"]) / cases if cases else 1.0,
        sheets.percent)
    row += 2

    put(sheet, row, 0, "Money at risk", sheets.header)
    put(sheet, row, 1, "Amount", sheets.header)
    for currency, amount in summary["money_at_risk"].items():
        row += 1
        put(sheet, row, 0, currency)
        put(sheet, row, 1, float(amount), sheets.amount)
    row += 2

    put(sheet, row, 0, "Severity", sheets.header)
    put(sheet, row, 1, "Findings", sheets.header)
    for severity in reversed(SEVERITIES):
        row += 1
        put(sheet, row, 0, severity)
        put(sheet, row, 1, int(summary["by_severity"][severity]))
    row += 2

    for col, head in enumerate(("Rule", "Name", "Severity", "Findings", "Cases", "Family")):
        put(sheet, row, col, head, sheets.header)
    for code, entry in summary["by_rule"].items():
        row += 1
        for col, value in enumerate((code, entry["name"], entry["severity"],
                                     int(entry["findings"]), int(entry["cases"]),
                                     FAMILIES.get(code[:2], ""))):
            put(sheet, row, col, value)
    row += 2

    put(sheet, row, 0, "Input", sheets.header)
    for col, head in enumerate(("sha256", "Read", "Imported", "Quarantined"), start=1):
        put(sheet, row, col, head, sheets.header)
    for entry in manifest["inputs"]:
        row += 1
        for col, value in enumerate((entry["file"], entry["sha256"], entry["read"],
                                     entry["imported"], entry["quarantined"])):
            put(sheet, row, col, value)
    if summary["waivers"]:
        row += 2
        for col, head in enumerate(("Waiver rule", "Case", "Status", "Matched", "Expires")):
            put(sheet, row, col, head, sheets.header)
        for waiver in summary["waivers"]:
            row += 1
            for col, value in enumerate((waiver["rule"], waiver["case"], waiver["status"],
                                         int(waiver["matched"]), waiver["expires"])):
                put(sheet, row, col, value)


def _findings_sheets(sheets: _Sheets, book: Any, name: str, rows: list[list[Any]]) -> None:
    """`rows` on sheet `name`, continued on 'name (2)', ... where one sheet cannot hold them."""
    per_sheet = MAX_ROWS - 1
    for part, start in enumerate(range(0, max(len(rows), 1), per_sheet), start=1):
        sheets.findings(book.add_worksheet(continued_sheet_name(name, part)),
                        rows[start:start + per_sheet])


def write_xlsx(run: CheckRun, out: Path) -> Path:
    """Writer: findings.xlsx."""
    path = out / "findings.xlsx"
    book = xlsxwriter.Workbook(str(path), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "default_date_format": "yyyy-mm-dd hh:mm:ss", "constant_memory": True,
    })
    book.set_properties({"title": "Refund audit findings", "creator": "refund-audit"})
    sheets = _Sheets(book)
    try:
        _summary(sheets, book.add_worksheet(SUMMARY_SHEET), run)
        rows = [finding_cells(f) for f in run.result.findings]
        _findings_sheets(sheets, book, FINDINGS_SHEET, rows)
        families = list(dict.fromkeys(rule.code[:2] for rule in run.result.rules))
        for family in families:
            mine = [cells for f, cells in zip(run.result.findings, rows, strict=True)
                    if f.rule.startswith(family)]
            _findings_sheets(sheets, book, family_sheet_name(family), mine)
        if run.result.errors:
            sheet = book.add_worksheet("Errors")
            for col, head in enumerate(("rule", "name", "error")):
                sheet.write_string(0, col, head, sheets.header)
            for row, error in enumerate(run.result.errors, start=1):
                for col, value in enumerate((error.rule, error.name, error.error)):
                    sheets.put(sheet, row, col, value)
    finally:
        book.close()
    return path
