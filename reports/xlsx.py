"""findings.xlsx: a summary sheet, every finding on one filterable sheet, one sheet per rule family.

Written with reports.ooxml, which writes text only as text (never a formula, URL or
number); text that a spreadsheet would read as a formula once a user edits its cell is
written as it is, in a style with Excel's quote prefix (`ooxml.quoted`), not with the CSV's
apostrophe (the CSV has no styles). Findings use the CSV's fixed columns. Each finding's
row is built once and written on both its sheets (Findings and its family's): set aside in a
temporary file beside the workbook from the first until the second.
"""

from __future__ import annotations

import numbers
import operator
import re
import shlex
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from audit.currency import CURRENCIES, minor_units
from audit.findings import SEVERITIES, Finding
from audit.rules.base import FAMILIES
from audit.runid import run_id_is
from audit.safety import PASSED_OVER, needs_apostrophe
from audit.store import (
    earlier_quarantine_text,
    findings_json_written,
    imported_earlier_report,
)
from reports import ooxml
from reports.ooxml import (
    AMOUNT,
    AMOUNT_IN,
    BOLD,
    CELL,
    COUNT,
    DATETIME,
    HEADER,
    PERCENT,
    TITLE,
    WRAP,
)
from reports.records import FINDING_COLUMNS, flat_texts, flat_value

if TYPE_CHECKING:
    from audit.checkrun import CheckRun

MAX_CELL = 32_767
"""Excel's limit on characters in one cell."""


def _inserted(columns: Sequence[str], after: str, column: str) -> tuple[str, ...]:
    """`columns` with `column` right after the column named `after` (at the end where
    there is none)."""
    listed = list(columns)
    listed.insert(listed.index(after) + 1 if after in listed else len(listed), column)
    return tuple(listed)


XLSX_COLUMNS = _inserted(_inserted(FINDING_COLUMNS, "severity", "severity_rank"), "timestamp",
                         "timestamp_utc")
"""The findings sheets' columns: the CSV's (FINDING_COLUMNS); after `severity` (a text,
which sorts critical < high < info < low < medium) `severity_rank`, a number that sorts
most severe first (`SEVERITY_RANK`: 1 critical ... 5 info); and after `timestamp` (ISO
8601 text) `timestamp_utc`, the same time as an Excel date and time in UTC, which Excel's
date filters, "between" and a pivot's grouping by month or quarter read."""
FIELD_OF = {"timestamp_utc": "timestamp", "severity_rank": "severity"}
"""The finding's field a column of XLSX_COLUMNS is made of, where it is not its name."""
WIDTHS = {"rule": 8, "name": 24, "severity": 9, "severity_rank": 8, "case_id": 14,
          "timestamp": 25,
          "timestamp_utc": 19, "message": 60,
          "amount_at_risk": 13, "currency": 9, "resources": 22, "activities": 36,
          "event_ids": 26, "sources": 26, "waived": 8, "waiver_reason": 24, "waiver_expired": 24,
          "fingerprint": 18,
          "evidence": 50,
          "case_quarantined_rows": 12, "channel": 13}
SEVERITY_RANK = {severity: len(SEVERITIES) - k for k, severity in enumerate(SEVERITIES)}
"""A severity's `severity_rank` in findings.xlsx: 1 critical, 2 high, 3 medium, 4 low, 5
info (sorted ascending, most severe first; a text severity sorts alphabetically)."""
SUMMARY_SHEET = "Summary"
NO_CHANNEL = "(no channel)"
"""What the summary calls the channel of cases stating none (the findings' column: empty)."""
FINDINGS_SHEET = "Findings"
COLUMNS_SHEET = "Columns"
MAX_ROWS = 1_048_576
"""Rows of one Excel worksheet, the header included: longer lists continue on the next sheet
('Findings (2)', ...), since Excel cannot open more."""


def family_sheet_name(family: str) -> str:
    """'AP' -> 'AP approvals' (at most 31 characters, as Excel requires)."""
    return f"{family} {FAMILIES.get(family, '')}".strip()[:31]


def continued_sheet_name(name: str, part: int) -> str:
    """The name of part `part` (1-based) of a sheet split at MAX_ROWS: 'Findings (2)'."""
    if part == 1:
        return name
    suffix = f" ({part})"
    return name[: 31 - len(suffix)] + suffix


FULL_IN = "findings.json"
"""Where a cut cell's note says the whole value is (`write_xlsx` names the run's findings
file: findings.json, else findings.csv)."""
LISTED = {"event_ids": "event ids", "activities": "activities", "resources": "resources",
          "sources": "sources"}
"""The columns that hold a list (its items joined by '; '), and what the items are."""


def excel_length(text: str) -> int:
    """`text`'s length as Excel counts it, in UTF-16 code units (a character beyond U+FFFF,
    an emoji, counts two): its limit of MAX_CELL characters a cell is of these."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def _within(text: str, room: int) -> str:
    """The longest start of `text` whose `excel_length` is at most `room`."""
    if 2 * len(text) <= room or excel_length(text) <= room:
        return text
    if text.isascii():
        return text[:room]
    units = 0
    for end, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > room:
            return text[:end]
    return text


def cut_text(text: str, items: Sequence[Any] | None = None, unit: str = "",
             where: str = FULL_IN) -> str:
    """`text` as one cell holds it: as it is where it has at most MAX_CELL characters as
    Excel counts them (`excel_length`: an emoji counts two; Excel repairs a file whose cell
    holds more, dropping what it likes), else its start and a note that says how much was
    left out and where the whole is, e.g. `... [8,701 of 10,000 event ids not shown: an
    Excel cell holds at most 32,767 characters; findings.json lists all]`. Of a list
    (`items`, which `text` joins by '; ', after a prefix if any), whole
    items are kept and the note counts the items left out; of other text (or a list whose
    first item alone is too long), the characters (Python's: an emoji counts one)."""
    if 2 * len(text) <= MAX_CELL or excel_length(text) <= MAX_CELL:
        return text
    if items:
        texts = [item if type(item) is str else str(item) for item in items]
        total = len(texts)
        note = (f" … [{{:,}} of {total:,} {unit} not shown: an Excel cell holds at most "
                f"{MAX_CELL:,} characters; {where} lists all]")
        room = MAX_CELL - len(note.format(total))
        end = len(text) - len("; ".join(texts))  # (a prefix, if any)
        used, kept = end, 0
        for item in texts:
            after = used + (2 if kept else 0) + excel_length(item)
            if after > room:
                break
            end, used, kept = end + (2 if kept else 0) + len(item), after, kept + 1
        if kept:
            return text[:end] + note.format(total - kept)
    note = (f" … [{{:,}} of {len(text):,} characters not shown: an Excel cell holds at most "
            f"{MAX_CELL:,} characters; {where} has the whole text]")
    head = _within(text, MAX_CELL - len(note.format(len(text))))
    return head + note.format(len(text) - len(head))


def _text(value: str, items: Sequence[Any] | None = None, unit: str = "",
          where: str = FULL_IN) -> str:
    """A text cell's text: the text as it is, cut to a cell (`cut_text`); one that a
    spreadsheet would read as a formula has a quoted style (`_styled`), no apostrophe."""
    return cut_text(value, items, unit, where)


def _styled(value: Any, style: int) -> int:
    """The style of a cell of `value`: `style`, quoted (`ooxml.quoted`: Excel's quote
    prefix) for a text a spreadsheet would read as a formula once edited, or such a text
    after apostrophes (`needs_apostrophe`: `'=x` would lose its apostrophe when edited)."""
    return ooxml.quoted(style) if type(value) is str and needs_apostrophe(value) else style


_ROW = "\x01"
"""Stands for the row number in a finding's prepared cells (text never holds it: control
characters are escaped)."""
_WRAPPED = ("message", "evidence", "activities")


class _Grid:
    """Cells of a small sheet put in any order, written row by row (the summary)."""

    def __init__(self) -> None:
        self.cells: dict[int, dict[int, tuple[Any, int]]] = {}

    def put(self, row: int, col: int, value: Any, style: int = CELL) -> None:
        self.cells.setdefault(row, {})[col] = (value, style)

    def write(self, sheet: ooxml.Sheet) -> None:
        for row in sorted(self.cells):
            cells = self.cells[row]
            xml = "".join(
                ooxml.cell_xml(f"{ooxml.column_letters(col)}{row + 1}",
                               _text(value) if isinstance(value, str) else value,
                               _styled(str(value), style) if isinstance(value, str)
                               else style)
                for col, (value, style) in sorted(cells.items()))
            sheet.row_xml(row + 1, xml)


def _cell_value(column: str, raw: Any, where: str = FULL_IN) -> Any:
    """A finding's cell in `column`: text cut to Excel's cell limit with a
    note saying what was left out and that `where` holds it whole (`cut_text`), the amount
    at risk a number, waived a boolean, a missing value ''. It depends on flat_value(raw)
    only (and on the items of a list, which that text joins)."""
    if column == "timestamp_utc":  # (an int serial, or '' for no time Excel can hold)
        serial = int(ooxml.excel_serials([raw])[0])
        return "" if serial < 0 else serial
    if column == "severity_rank":  # (a number, of the finding's severity)
        return SEVERITY_RANK.get(raw, "") if type(raw) is str else ""
    value = flat_value(raw)
    if column == "amount_at_risk" and isinstance(value, numbers.Real) \
            and not isinstance(value, bool):
        return float(value)
    if column == "waived":
        return bool(value)
    if column in _COUNTS and type(value) is int:  # (a number; any other value as text)
        return value
    if value == "":
        return value
    listed = column in LISTED and isinstance(raw, list | tuple)
    return _text(str(value), raw if listed else None, LISTED.get(column, ""), where)


def cell_by_cell(finding: Finding, where: str = FULL_IN) -> str:
    """A finding's row made one cell at a time, `_cell_xml(col, _cell_value(column, field),
    currency, waived)` for each of XLSX_COLUMNS: what `prepared_rows` gives (tests compare
    them)."""
    return "".join(_cell_xml(col, _cell_value(column, getattr(finding, FIELD_OF.get(
        column, column)), where), finding.currency, bool(finding.waived))
        for col, column in enumerate(XLSX_COLUMNS))


def amount_style(currency: Any) -> int:
    """The style of an amount in `currency`: shown in its minor units where it is a known
    currency (9,526 JPY; 12.50 EUR; 1.390 KWD), as report.html shows it; else AMOUNT."""
    if type(currency) is str and currency in CURRENCIES:
        return AMOUNT_IN.get(minor_units(currency), AMOUNT)
    return AMOUNT


def _cell_xml(col: int, value: Any, currency: Any = None, muted: bool = False) -> str:
    """A cell's XML, its row number left as _ROW (an empty cell is not written: it reads as
    empty anyway); an amount in the style of its finding's `currency`; `muted` (a waived
    finding's) in its style's grey italic variant (`ooxml.muted`)."""
    if value == "":
        return ""
    if XLSX_COLUMNS[col] == "timestamp_utc":
        head, tail = _serial_parts(col, muted)
        return f"{head}{value}{tail}"
    # (a count, case_quarantined_rows, with its thousands grouped as the Summary's counts:
    # before, 12345 read ungrouped beside the Summary's 12,345)
    style = amount_style(currency) if isinstance(value, float) else COUNT \
        if XLSX_COLUMNS[col] in _COUNTS and type(value) is int else _styled(value, (
            WRAP if XLSX_COLUMNS[col] in ("message", "evidence") else CELL))
    return ooxml.cell_xml(_LETTERS[col] + _ROW, value, ooxml.muted(style) if muted else style)


_STYLE_OF_CELL = re.compile(f'(<c r="[A-Z]+{_ROW}" s=")([0-9]+)"')
"""A prepared cell's style (a text's `<` is escaped: only a cell's tag matches)."""


def _muted_row(row: str) -> str:
    """A prepared row with each cell in its style's muted variant (a waived finding's)."""
    return _STYLE_OF_CELL.sub(lambda m: f'{m.group(1)}{ooxml.muted(int(m.group(2)))}"', row)


_LETTERS = [ooxml.column_letters(c) for c in range(len(XLSX_COLUMNS))]
_REPEATING = frozenset(("rule", "name", "severity", "currency", "resources", "activities",
                        "waiver_reason", "waiver_expired", "channel"))
"""Columns whose cells repeat across findings (their values are text)."""


_COUNTS = frozenset(("case_quarantined_rows", "severity_rank"))
"""Columns of a count (an int): a number cell."""
_AS_TEXT = frozenset(FINDING_COLUMNS) - {"amount_at_risk", "waived"} - _COUNTS
"""Columns whose flat text is the cell's text (the others make a number, a boolean)."""


def _text_cell_parts(col: int, quoted: bool = False) -> tuple[str, str, str]:
    """What `_cell_xml` puts before and after the escaped text of a text cell in `col`
    (`quoted`: of a text in the quoted style, `_styled`): the head of a text without
    leading or trailing white space, the head of one with, and the tail."""
    style = WRAP if XLSX_COLUMNS[col] in ("message", "evidence") else CELL
    if quoted:
        style = ooxml.quoted(style)
    plain = ooxml.cell_xml(_LETTERS[col] + _ROW, "\ue000", style)
    spaced = ooxml.cell_xml(_LETTERS[col] + _ROW, " \ue000", style)
    head, tail = plain.split("\ue000")
    return head, spaced.split(" \ue000")[0], tail


_BLOCK = 10_000
"""Findings whose cells `prepared_rows` builds at a time: the cells of every column are held
until their rows are joined (of all 235,008 findings at 1M cases, about 0.35 GB more)."""


def prepared_rows(findings: Sequence[Finding], where: str = FULL_IN) -> list[str]:
    """Each finding's row as XML, its row number left as _ROW: built once for both sheets,
    column by column (`_column_xml`), _BLOCK findings at a time (`prepared_blocks`); a cut
    cell's note names `where` as the file that holds it whole."""
    return [row for block in prepared_blocks(findings, where) for row in block]


def prepared_blocks(findings: Sequence[Finding], where: str = FULL_IN) -> Iterator[list[str]]:
    """`prepared_rows`, _BLOCK findings' rows at a time, each block made when asked for."""
    memos: list[dict[Any, str]] = [{} for _ in XLSX_COLUMNS]
    for start in range(0, len(findings), _BLOCK):
        block = findings[start:start + _BLOCK]
        currencies = [f.currency for f in block]
        columns = [_column_xml(col, column, list(map(operator.attrgetter(
                                   FIELD_OF.get(column, column)), block)),
                               memos[col], where, currencies)
                   for col, column in enumerate(XLSX_COLUMNS)]
        rows = list(map("".join, zip(*columns, strict=True)))
        waived = [k for k, finding in enumerate(block) if finding.waived]
        for k in waived:  # (a waived finding's row in grey italics: its cells' styles)
            rows[k] = _muted_row(rows[k])
        yield rows


def _column_xml(col: int, column: str, values: list[Any], memo: dict[Any, str],
                where: str = FULL_IN, currencies: Sequence[Any] | None = None) -> list[str]:
    """The cells of one column, `_cell_xml(col, _cell_value(column, value, where),
    currency)` of each value and its finding's currency (tests compare them). The cell of
    each distinct value of a repeating column is made once: a cell's XML depends on its
    column and flat value only (a cut list's note counts its items, which the flat value
    joins: a value that long is made each time). The text cells of any other column are put
    together here: for the whole column at once where its texts allow (`_plain_column`),
    else one by one, escaped only where the column's texts, checked all at once, need it.
    `memo`: the column's cells by flat value, kept from one block of findings to the next."""
    if column == "timestamp_utc":
        return _serial_column(col, values)
    if column in _REPEATING or column == "waived" or column in _COUNTS:
        flat = flat_texts(values) if column in _REPEATING else None
        # (a value not a plain text keyed by its kind too: 1 and True, a str subclass and
        # its text, are equal keys but other cells; a waived cell is bool(value) whatever
        # its kind)
        keys = flat if flat is not None else list(map(flat_value, values)) \
            if column == "waived" else [key if type(key) is str else (type(key), key)
                                        for key in map(flat_value, values)]
        found = list(map(memo.get, keys))  # (most values were met in an earlier block)
        if None not in found:
            return found  # type: ignore[return-value]
        cells = []
        for raw, key, xml in zip(values, keys, found, strict=True):
            if xml is None:
                xml = memo.get(key)  # (made for an earlier value of this block)
                if xml is None:
                    xml = _cell_xml(col, _cell_value(column, raw, where))
                    if type(key) is not str or excel_length(key) < MAX_CELL:
                        memo[key] = xml
            cells.append(xml)
        return cells
    if column == "amount_at_risk":  # a float's cell put together here, as cell_xml does
        parts: dict[int, list[str]] = {}  # by style: the cell's XML before and after
        inf = float("inf")
        cells = []
        for raw, currency in zip(values, currencies or [None] * len(values), strict=True):
            if type(raw) is float and -inf < raw < inf:
                style = amount_style(currency)
                around = parts.get(style)
                if around is None:
                    around = parts[style] = ooxml.cell_xml(
                        _LETTERS[col] + _ROW, 0.5, style).split("0.5")
                cells.append(around[0] + repr(raw) + around[1])
            else:
                cells.append(_cell_xml(col, _cell_value(column, raw), currency))
        return cells
    if column not in _AS_TEXT:
        return [_cell_xml(col, _cell_value(column, raw, where)) for raw in values]
    head, spaced, tail = _text_cell_parts(col)
    fast = _plain_column(flat_texts(values), head, tail)
    if fast is not None:
        return fast
    flat = [raw if type(raw) is str else flat_value(raw) for raw in values]
    escape = ooxml.escape if ooxml.needs_escape(
        "\n".join([value for value in flat if type(value) is str])) else None
    cut = MAX_CELL
    listed, unit = column in LISTED, LISTED.get(column, "")
    quoted_head, quoted_spaced, _ = _text_cell_parts(col, quoted=True)
    cells = []
    for raw, value in zip(values, flat, strict=True):
        if type(value) is not str:
            cells.append(_cell_xml(col, _cell_value(column, raw, where)))
        elif not value:
            cells.append("")
        else:
            formula = needs_apostrophe(value)  # the quoted style, as _cell_xml gives it
            if 2 * len(value) > cut and excel_length(value) > cut:
                value = cut_text(value, raw if listed and isinstance(raw, list | tuple)
                                 else None, unit, where)
            spaced_text = value[0].isspace() or value[-1].isspace()
            cells.append(((quoted_spaced if spaced_text else quoted_head) if formula
                          else spaced if spaced_text else head)
                         + (value if escape is None else escape(value)) + tail)
    return cells


def _serial_parts(col: int, muted: bool = False) -> tuple[str, str]:
    """What a cell of the `timestamp_utc` column holds before and after its serial's
    digits (`ooxml.excel_serials`: an integer of 1e-11 days, and its exponent)."""
    style = ooxml.muted(DATETIME) if muted else DATETIME
    head, tail = ooxml.cell_xml(_LETTERS[col] + _ROW, 0.5, style).split("0.5")
    return head, ooxml.SERIAL_EXPONENT + tail


def _serial_column(col: int, values: list[Any]) -> list[str]:
    """The cells of the `timestamp_utc` column: the times (`values`, the findings'
    `timestamp`) parsed all at once (`ooxml.excel_serials`), their cells put together as
    one text (as `_plain_column` does); no cell where there is no time Excel can hold."""
    serials = ooxml.excel_serials(values)
    if not len(serials):
        return []
    head, tail = _serial_parts(col)
    joined = "\x00".join(map(str, serials.tolist()))
    cells = f"{head}{joined.replace(chr(0), tail + chr(0) + head)}{tail}".split("\x00")
    if (serials < 0).any():
        missing = f"{head}-1{tail}"
        cells = ["" if cell == missing else cell for cell in cells]
    return cells


_CONTROL = re.compile(r"[\x01-\x08\x0b-\x1f\ufffe\uffff]")
_X_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_")
"""What `ooxml.escape` writes as `_xHHHH_` (but NUL, which joins texts here), and the
literal `_xHHHH_` it escapes: ooxml's `_NOT_XML` in two (a search of both at once took
three times as long)."""
_STARTS = re.compile(r"\x00'*[\s=+\-@" + PASSED_OVER + "]")
"""In texts joined and begun by NULs, a text that starts with white space
(`ooxml.space_kept`) or a formula start (`needs_apostrophe`; one after white space or
control characters is found as those, one after apostrophes with them; a NUL in a text is
found by the count of NULs)."""
_ENDS = re.compile(r"\x00\s")
"""In the reversed texts, a text that ends with white space."""


def _plain_column(flat: list[str] | None, head: str, tail: str) -> list[str] | None:
    """The cells of a text column (`flat`: its flat texts) put together for the whole column
    at once, where none of its texts needs more than the escape of `&`, `<`, `>`: none
    with a character written as `_xHHHH_` or a literal `_xHHHH_`, none starting or ending
    with white space or starting with a formula start, none holding a NUL, none longer than
    a cell can hold. None where one does, or where the column is not
    all texts (`flat` None): then `_column_xml` makes each cell. An empty text is no cell
    (''). At 1M cases (258,620 findings) the rows' cells took 1.75 s instead of 3.9 s, the
    repeating columns' memo read a column at a time too (one run each, the other core
    busy)."""
    if flat is None:
        return None
    if not flat:
        return []
    joined = "\x00".join(flat)
    if (_CONTROL.search(joined) is not None
            or ("_x" in joined and _X_ESCAPE.search(joined) is not None)
            or _STARTS.search(f"\x00{joined}") is not None
            or _ENDS.search(f"{joined}\x00"[::-1]) is not None
            or joined.count("\x00") != len(flat) - 1):
        return None
    longest = max(map(len, flat))  # (an emoji counts two in Excel's limit: see cut_text)
    if longest >= MAX_CELL or (2 * longest >= MAX_CELL and not joined.isascii()
                               and max(map(excel_length, flat)) >= MAX_CELL):
        return None
    joined = joined.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "" in flat:
        return [head + text + tail if text else "" for text in joined.split("\x00")]
    return f"{head}{joined.replace(chr(0), tail + chr(0) + head)}{tail}".split("\x00")


class _Time:
    """A time of the manifest (ISO 8601) on the summary: an Excel date and time in UTC
    (`ooxml.excel_serials`), and beside it the manifest's text (its offset and fraction of
    a second as written)."""

    def __init__(self, iso: str | None) -> None:
        self.iso = iso

    def put(self, grid: _Grid, row: int) -> None:
        serial = ooxml.serial_float(int(ooxml.excel_serials([self.iso])[0]))
        grid.put(row, 1, serial, DATETIME)
        grid.put(row, 2, self.iso or "")


def _summary(grid: _Grid, run: CheckRun) -> None:
    from reports.view import clock_source  # (report.html's words for the clock's source)

    manifest, summary = run.manifest(), run.summary()

    def put(row: int, col: int, value: Any, style: int = CELL) -> None:
        # (a count shown with its thousands grouped, 144,758 as report.html shows it:
        # before, the summary's counts showed 144758)
        grid.put(row, col, value, COUNT if style == CELL and type(value) is int else style)

    put(0, 0, "Refund audit: summary", TITLE)
    cases = int(summary["cases"])
    late = int(summary.get("events_after_clock", 0))
    not_complete = int(summary.get("events_not_complete", 0))
    in_log = summary["events"] + late + not_complete
    copies = in_log - summary["imported"] + summary.get("left_out", 0)
    rows: list[tuple[str, Any]] = [
        ("Tool", f"refund-audit {manifest['version']}"),
        # (the manifest's run id, `audit.runid`: report.html's header shows the same)
        ("Run id", manifest["run_id"]),
        ("Run id is", run_id_is(run.memo.get("formats"))),
        # (the tool's code as the run read it, `audit.runid.code_digest`, part of the run id)
        ("Code digest", str((manifest.get("code") or {}).get("sha256") or "")),
        ("Run started (UTC)", _Time(manifest["started"])),
        ("Run finished (UTC)", _Time(manifest["finished"])),
        # (under SOURCE_DATE_EPOCH: the two times are its, not the run's)
        *([("Run times from", f"SOURCE_DATE_EPOCH {manifest['source_date_epoch']}, not the "
            "time of the run")] if manifest.get("source_date_epoch") is not None else []),
        ("Audit clock, as of (UTC)", _Time(manifest["as_of"])),
        ("Audit clock from", clock_source(manifest) or manifest.get("as_of_source") or ""),
        ("First event of the log (UTC)", _Time(manifest["events_period"]["first"])),
        ("Last event of the log (UTC)", _Time(manifest["events_period"]["last"])),
        # (as a POSIX shell reads it back: the manifest's words quoted where they need it)
        ("Command", shlex.join(map(str, manifest.get("command") or []))),
        ("Working directory", manifest.get("working_directory") or ""),
        ("Policy", manifest["policy"]["file"] or "(default)"),
        ("Policy sha256", manifest["policy"]["sha256"] or ""),
        ("Cases", cases),
        # (summary.events counts the events judged, as the log stood at the clock: those
        # after it, and those whose lifecycle:transition is not complete, are counted
        # apart, not judged; the log holds all three, as report.html's population line adds
        # them up. Before, "Events" on the judged ones alone read as the log's; then the
        # log's total left the starts out: the sample with 400 starts read 2196, its rows
        # 2596.)
        ("Events judged (dated up to the audit clock)", summary["events"]),
        ("Events dated after the clock, not judged", late),
        ("Events not complete (lifecycle:transition start etc.), not judged", not_complete),
        ("Events in the log (judged + after the clock + not complete)", in_log),
        # (as report.html tells them: a charge refunded in several cases is an event of each)
        *([("Events more than the rows imported (a charge refunded in several cases is an "
            "event of each)", copies)] if copies > 0 else []),
        # (where any: not at an end of their SOP, an event less than running_for before the
        # clock; the SOP tasks after their last event are not due yet)
        *([("Cases running at the clock (SOP tasks after their last event not due yet)",
            summary["running_cases"])] if summary.get("running_cases") else []),
        ("Rows read", summary["read"]),
        ("Rows imported", summary["imported"]),
        ("Rows quarantined", summary["quarantined"]),
        ("Quarantined rows in cases with findings",
         summary.get("quarantined_in_cases_with_findings", 0)),
        # (A canonical log's own import: its quarantined rows, apart from the rows read.)
        *([("Earlier import's quarantined rows", summary["earlier_quarantined"]),
           ("Earlier import's quarantined rows in cases with findings",
            summary.get("earlier_quarantined_in_cases_with_findings", 0)),
           ("Earlier import's quarantined rows not counted (file missing or not matching)",
            summary.get("earlier_quarantined_not_counted", 0))]
          if summary.get("earlier_quarantined") else []),
        # (counted from a file a log of an older version holds no sha256 of)
        *([("Earlier import's quarantined rows counted unverified (no sha256 in the record)",
            summary["earlier_quarantined_not_verified"])]
          if summary.get("earlier_quarantined_not_verified") else []),
        ("Duplicate records dropped", summary.get("duplicates_dropped", 0)),
        ("Charges left out as sales", summary.get("left_out", 0)),
        ("Findings", summary["findings"]),
        ("Cases with findings", summary["cases_with_findings"]),
        ("Waived findings", summary["waived"]),
        # (The findings sheets' rows: Findings above counts the open ones only.)
        ("Rows on the findings sheets", len(run.result.findings)),
        ("Waived findings on the findings sheets",
         "listed, in grey italics, waived TRUE (filter waived to FALSE for the open "
         "findings Findings counts)"),
        ("Suppressed by precedence", summary["suppressed_by_precedence"]),
        ("Rules that crashed", summary["errors"]),
    ]
    row = 2
    for label, value in rows:
        put(row, 0, label, BOLD)
        if isinstance(value, _Time):
            value.put(grid, row)
        else:
            put(row, 1, value)
        row += 1
    # (a count, as "Cases with findings" above; the share on a row of its own: before, the
    # label "Cases without findings" held the share, 0.75 read back beside a count of 75)
    put(row, 0, "Cases without findings", BOLD)
    put(row, 1, cases - summary["cases_with_findings"])
    row += 1
    put(row, 0, "Share of cases without findings", BOLD)
    put(row, 1, (cases - summary["cases_with_findings"]) / cases if cases else 1.0,
        PERCENT)
    for warning in manifest["warnings"]:
        row += 1
        put(row, 0, "Warning", BOLD)
        put(row, 1, warning)
    row += 2

    put(row, 0, "Money at risk", HEADER)
    put(row, 1, "Amount", HEADER)
    put(row, 2, "Definition", HEADER)
    put(row, 3, summary["money_at_risk_definition"])
    for currency, amount in summary["money_at_risk"].items():
        row += 1
        put(row, 0, currency)
        put(row, 1, float(amount), amount_style(currency))
    row += 2

    put(row, 0, "Severity", HEADER)
    put(row, 1, "Findings", HEADER)
    for severity in reversed(SEVERITIES):
        row += 1
        put(row, 0, severity)
        put(row, 1, int(summary["by_severity"][severity]))
    row += 2

    # Per channel (the one the rules judged each case by): its part of the counts and of
    # the money at risk above, one row per currency.
    for col, head in enumerate(("Channel", "Cases", "Cases with findings", "Findings",
                                "Waived", "Money at risk", "Currency")):
        put(row, col, head, HEADER)
    for channel, entry in summary["by_channel"].items():
        money = list(entry["money_at_risk"].items()) or [("", None)]
        for k, (currency, amount) in enumerate(money):
            row += 1
            put(row, 0, channel or NO_CHANNEL)
            if k == 0:
                for col, key in enumerate(("cases", "cases_with_findings", "findings",
                                           "waived"), start=1):
                    put(row, col, int(entry[key]))
            if amount is not None:
                put(row, 5, float(amount), amount_style(currency))
                put(row, 6, currency)
    row += 2

    # (each rule's logic version, as the manifest records it (`rule_versions`): which version
    # of its judgement made its findings; a run's findings.json before format 4 has none)
    versions = manifest.get("rule_versions") or {}
    # (report.html's rule table's columns, in its order, Waived among them: before, this
    # table had no Waived column and its Family stood after the counts, and report.html's
    # had no Status column)
    waived = Counter(f.rule for f in run.result.findings if f.waived)
    for col, head in enumerate(("Rule", "Name", "Family", "Severity", "Findings", "Cases",
                                "Waived", "Status", "Logic version")):
        put(row, col, head, HEADER)
    for code, entry in summary["by_rule"].items():
        row += 1
        crashed = entry.get("status") == "crashed"  # not run: no counts to give
        for col, value in enumerate((code, entry["name"], FAMILIES.get(code[:2], ""),
                                     entry["severity"],
                                     "crashed" if crashed else int(entry["findings"]),
                                     "crashed" if crashed else int(entry["cases"]),
                                     "crashed" if crashed else waived.get(code, 0),
                                     "crashed (not run)" if crashed
                                     else f"ran, {entry['note']}: judged no case"
                                     if entry.get("note") else "ran",
                                     versions.get(code, "not recorded"))):
            put(row, col, value)
    row += 2

    # (the columns of report.html's inputs table, in its order: read = imported + quarantined
    # + duplicates dropped, then the sales left out of the imported; before, the last two
    # were the other way round here, the sheet's sixth column report.html's seventh)
    put(row, 0, "Input", HEADER)
    for col, head in enumerate(("sha256", "Read", "Imported", "Quarantined",
                                "Duplicates dropped", "Sales left out"), start=1):
        put(row, col, head, HEADER)
    for entry in manifest["inputs"]:
        row += 1
        for col, value in enumerate((entry["file"], entry["sha256"], entry["read"],
                                     entry["imported"], entry["quarantined"],
                                     entry.get("duplicates_dropped"), entry.get("left_out"))):
            put(row, col, value)
        if entry.get("imported_earlier"):
            # (The counts above are of the log's events: its import's quarantine is told.)
            row += 1
            put(row, 0, "Imported earlier", BOLD)
            put(row, 1, imported_earlier_report(Path(entry["file"]), entry["imported_earlier"],
                                                Path(entry["file"]).name))
            rows_told = earlier_quarantine_text(
                entry.get("earlier_quarantine"),
                json_written=findings_json_written(run.memo.get("formats")))
            if rows_told:  # (of those quarantined rows, the ones in cases with findings)
                row += 1
                put(row, 0, "Earlier quarantine", BOLD)
                put(row, 1, rows_told[:1].upper() + rows_told[1:])
    for note in manifest.get("import_notes", []):
        row += 1
        put(row, 0, "Import note", BOLD)
        put(row, 1, note)
    if manifest["sop"]:  # (the SOPs the conformance check read, as the run details list them)
        row += 2
        for col, head in enumerate(("SOP channel", "sha256", "File", "Process")):
            put(row, col, head, HEADER)
        for sop in manifest["sop"]:
            row += 1
            for col, value in enumerate((sop["channel"], sop["sha256"] or "(file missing)",
                                         sop["file"], sop.get("process") or "")):
                put(row, col, value)
    if summary["waivers"]:
        row += 2
        for col, head in enumerate(("Waiver rule", "Case", "Status", "Matched",
                                    "No longer waives", "Expires", "Fingerprint",
                                    "Approved by", "Reason")):
            put(row, col, head, HEADER)
        for waiver in summary["waivers"]:
            row += 1
            for col, value in enumerate((waiver["rule"], waiver["case"], waiver["status"],
                                         int(waiver["matched"]),
                                         int(waiver.get("no_longer_waives") or 0),
                                         waiver["expires"],
                                         waiver.get("fingerprint"), waiver.get("approved_by"),
                                         waiver.get("reason"))):
                day = ooxml.date_serial(value) if col == 5 else None
                if day is not None:  # (the expiry a date, as the run's times above are,
                    put(row, col, day, ooxml.DATE)  # for Excel's date filters and sorting)
                else:
                    put(row, col, value)


def _columns(grid: _Grid, run: CheckRun) -> None:
    """The Columns sheet: each findings column's type, meaning and an example
    (`reports.columns.COLUMNS`, the table docs/reports.md holds), and which event's time
    `timestamp` is, per rule of the run."""
    from reports.columns import COLUMNS, EVIDENCE_KEYS, TIMESTAMP_OF

    for col, head in enumerate(("column", "type", "meaning", "example")):
        grid.put(0, col, head, HEADER)
    described = {c.name: c for c in COLUMNS}
    row = 0
    for name in XLSX_COLUMNS:  # (every column: a test checks each is described)
        row += 1
        column = described.get(name)
        for col, value in enumerate((name, *((column.kind, column.meaning, column.example)
                                              if column else ("", "(not described)", "")))):
            grid.put(row, col, value, WRAP)
    row += 2
    for col, head in enumerate(("rule", "name", "timestamp is the time of", "evidence keys")):
        grid.put(row, col, head, HEADER)
    for rule in run.result.rules:
        row += 1
        for col, value in enumerate((rule.code, rule.name, TIMESTAMP_OF.get(rule.code, ""),
                                     ", ".join(EVIDENCE_KEYS.get(rule.code, ())))):
            grid.put(row, col, value, WRAP)


def _findings_sheets(book: ooxml.Workbook, name: str, rows: Iterable[str]) -> None:
    """Prepared rows on sheet `name`, continued on 'name (2)', ... where one sheet cannot
    hold them: the fixed columns, a frozen header row, an autofilter over all rows. The
    rows are written as `rows` gives them (compressed by the workbook's second thread
    meanwhile)."""
    per_sheet = MAX_ROWS - 1
    part, number = 1, 1  # the header is row 1
    row_xml = _findings_sheet(book, continued_sheet_name(name, part))
    for prepared in rows:
        if number > per_sheet:  # this sheet is full: the rest on the next
            part += 1
            row_xml, number = _findings_sheet(book, continued_sheet_name(name, part)), 1
        number += 1
        row_xml(number, prepared.replace(_ROW, str(number)))


PRINTED = ooxml.Printed(
    landscape=True, fit_width=True, title_rows=1, grid_lines=True,
    header="Refund audit findings: every finding, the waived ones included (waived TRUE, "
           "in grey italics)", footer="Page &P of &N")
"""How a findings sheet prints: landscape, its columns on one page's width, the header row
on every page, and a page header saying that waived findings are listed."""


def _findings_sheet(book: ooxml.Workbook, name: str) -> Callable[[int, str], None]:
    """A findings sheet begun: its columns, frozen header row and filter, print settings
    (PRINTED); its row writer."""
    sheet = book.add_sheet(name)
    sheet.print_as(PRINTED)
    for col, column in enumerate(XLSX_COLUMNS):
        sheet.set_column(col, WIDTHS.get(column, 14), WRAP if column in _WRAPPED else None)
    sheet.freeze_first_row()
    sheet.autofilter(len(XLSX_COLUMNS))
    sheet.row([(column, HEADER) for column in XLSX_COLUMNS])
    return sheet.row_xml


_END = "\x00"
"""Ends each row set aside for a family's sheet: no prepared row holds it (ooxml writes the
characters XML cannot hold as `_xHHHH_` escapes)."""


def _spill_file(out: Path) -> IO[str]:
    """An unnamed temporary file in `out`, beside the workbook, for a family's rows: kept in
    the process they take about 0.25 GB at 1M cases (235,008 rows of about 1 KB), held
    until the last family's sheet is written, at the process tree's memory peak (the forked
    XLSX writer's end beside the HTML's). XlsxWriter's constant-memory mode sets rows aside
    in temporary files too."""
    return tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="", dir=out,
                                  prefix=".findings-", suffix=".rows")


_READ_BACK = 1 << 20
"""Characters read back from a family's spill file at a time."""


def _read_back(spill: IO[str]) -> Iterator[str]:
    """The rows set aside in `spill`, in the order they were written, read _READ_BACK
    characters at a time."""
    spill.seek(0)
    rest = ""
    while chunk := spill.read(_READ_BACK):
        rows = (rest + chunk).split(_END)
        rest = rows.pop()
        yield from rows
    if rest:
        raise ValueError("a family's rows set aside did not end as written")


def whole_in(run: CheckRun) -> str:
    """The findings file a cut cell's note names as holding the whole value: findings.json
    where the run writes it, else findings.csv, else how to have one written
    (`write_reports` records the run's formats in its memo; all where not recorded)."""
    formats = run.memo.get("formats")
    if formats is None or "json" in formats:
        return FULL_IN
    if "csv" in formats:
        return "findings.csv"
    return "findings.json (check --format json writes it)"


def write_xlsx(run: CheckRun, out: Path) -> Path:
    """Writer: findings.xlsx."""
    path = out / "findings.xlsx"
    run.finding_sources()  # (each finding's sources, where not yet: once per run)
    # The file's properties date it by the run (the manifest's `finished`), not by the
    # moment this writer ran.
    with ooxml.Workbook(path, title="Refund audit findings", author="refund-audit",
                        created=run.finished) as book:
        grid = _Grid()
        _summary(grid, run)
        sheet = book.add_sheet(SUMMARY_SHEET)
        for col, width in ((0, 30), (1, 44), *((c, 12) for c in range(2, 7))):
            sheet.set_column(col, width)
        grid.write(sheet)
        findings = run.result.findings
        families = list(dict.fromkeys(rule.code[:2] for rule in run.result.rules))
        with ExitStack() as stack:
            spills = {family: stack.enter_context(_spill_file(out)) for family in families}

            def spilled(blocks: Iterator[list[str]]) -> Iterator[str]:
                """The Findings sheet's rows as their blocks are made (the second thread
                compresses them meanwhile), each also set aside for its family's sheet."""
                start = 0
                for block in blocks:
                    by_family: dict[str, list[str]] = defaultdict(list)
                    for finding, row in zip(findings[start:start + len(block)], block,
                                            strict=True):
                        by_family[finding.rule[:2]].append(row)
                    for family, rows in by_family.items():
                        if family in spills:
                            spills[family].write(_END.join(rows) + _END)
                    start += len(block)
                    yield from block

            _findings_sheets(book, FINDINGS_SHEET,
                             spilled(prepared_blocks(findings, whole_in(run))))
            for family in families:
                _findings_sheets(book, family_sheet_name(family), _read_back(spills[family]))
        columns = _Grid()
        _columns(columns, run)
        sheet = book.add_sheet(COLUMNS_SHEET)
        for col, width in ((0, 22), (1, 22), (2, 80), (3, 40)):
            sheet.set_column(col, width, WRAP)
        sheet.freeze_first_row()
        columns.write(sheet)
        if run.result.errors:
            errors = _Grid()
            for col, head in enumerate(("rule", "name", "error")):
                errors.put(0, col, head, HEADER)
            for row, error in enumerate(run.result.errors, start=1):
                for col, value in enumerate((error.rule, error.name, error.error)):
                    errors.put(row, col, value)
            errors.write(book.add_sheet("Errors"))
    return path
