"""A small streaming writer of Excel workbooks (SpreadsheetML in a zip, ECMA-376 part 1).

Written for findings.xlsx, where XlsxWriter spent most of the report's time in its per-cell
Python calls (about 45 µs a cell): here a row is one string built from cells escaped once,
and the zip's compression runs in a second thread (ISA-L where it is installed, else zlib;
both release the GIL) while the next rows are built. What it can write is what the report
needs and no more: text, numbers and booleans, eight fixed cell styles, column widths, a
frozen header row, an autofilter and the document's title and author. Text is always an
inline string, never a formula, a number or a link; characters XML cannot hold, and a
carriage return (which XML reads as a line feed), are written as Excel's `_xHHHH_` escapes.
"""

from __future__ import annotations

import numbers
import queue
import re
import threading
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

# Cell styles: indexes into cellXfs of STYLES below.
DEFAULT, CELL, WRAP, AMOUNT, HEADER, TITLE, BOLD, PERCENT, AMOUNT_0, AMOUNT_2, AMOUNT_3 = range(11)
AMOUNT_IN = {0: AMOUNT_0, 2: AMOUNT_2, 3: AMOUNT_3}
"""The style of an amount by its currency's minor units (JPY 9,526; EUR 12.50; KWD 1.391);
AMOUNT (two or three decimals) where the currency is not known."""
COUNT = AMOUNT_0
"""A count: a whole number with its thousands grouped (`#,##0`: 144,758)."""

STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="5"><numFmt numFmtId="164" formatCode="#,##0.00#"/>\
<numFmt numFmtId="165" formatCode="0.0%"/><numFmt numFmtId="166" formatCode="#,##0"/>\
<numFmt numFmtId="167" formatCode="#,##0.00"/><numFmt numFmtId="168" formatCode="#,##0.000"/>\
</numFmts>\
<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/>\
</font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/>\
</font>\
<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/>\
</font></fonts>\
<fills count="3"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFDDE6F0"/><bgColor indexed="64"/>\
</patternFill></fill></fills>\
<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>\
<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>\
<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom>\
<diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="11">\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">\
<alignment vertical="top"/></xf>\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">\
<alignment vertical="top" wrapText="1"/></xf>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" \
applyAlignment="1"><alignment vertical="top"/></xf>\
<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" \
applyBorder="1" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>\
<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" \
applyAlignment="1"><alignment vertical="top"/></xf>\
<xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" \
applyAlignment="1"><alignment vertical="top"/></xf>\
<xf numFmtId="168" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" \
applyAlignment="1"><alignment vertical="top"/></xf>\
</cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" \
defaultPivotStyle="PivotStyleLight16"/></styleSheet>"""

_XF = re.compile(r"<xf [^>]*?/>|<xf [^>]*?>.*?</xf>")
_STYLES_XFS: list[str] = _XF.findall(STYLES.split("<cellXfs", 1)[1].split("</cellXfs>", 1)[0])
"""STYLES' cell styles (DEFAULT ... AMOUNT_3)."""
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
_MORE_FORMATS = {200: DATETIME_FORMAT, 201: DATE_FORMAT}
"""Number formats `STYLESHEET` adds to STYLES' (ids apart from STYLES' 164-168)."""
_MORE_XFS = ['<xf numFmtId="200" fontId="0" fillId="0" borderId="0" xfId="0" '
             'applyNumberFormat="1" applyAlignment="1"><alignment vertical="top"/></xf>',
             '<xf numFmtId="201" fontId="0" fillId="0" borderId="0" xfId="0" '
             'applyNumberFormat="1" applyAlignment="1"><alignment vertical="top"/></xf>']
"""Cell styles `STYLESHEET` adds after STYLES': DATETIME, DATE."""
DATETIME = len(_STYLES_XFS)
"""A date and time (a number: days since 1899-12-30, `excel_serials`), shown as
`DATETIME_FORMAT`."""
DATE = DATETIME + 1
"""A day (a whole number of days since 1899-12-30, `date_serial`), shown as
`DATE_FORMAT`."""
_BASE_XFS = _STYLES_XFS + _MORE_XFS
"""The base styles, of which `STYLESHEET` adds the variants."""
_BASE = len(_BASE_XFS)
_QUOTED = 1
"""A variant's flag: the style with quotePrefix="1" (`quoted`)."""
_MUTED = 2
"""A variant's flag: the style in grey italics (`muted`)."""
_VARIANTS = 4
"""Variants of each base style: its flags 0 to _VARIANTS - 1, a style's index being
base + _BASE * flags."""
MUTED_COLOR = "FF595959"
"""The muted text's grey: 7:1 against white (WCAG AAA), so it stays readable."""


def quoted(style: int) -> int:
    """`style` with Excel's quote prefix (quotePrefix="1", ECMA-376 part 1, 18.8.45): the
    cell's text is text as it is, never a formula, also when a user edits the cell and
    presses Enter (the formula bar shows it after an apostrophe, which is not part of the
    value). A string cell is never evaluated when the file is opened: the prefix keeps
    `=1+1` a text once edited (ECMA-376's attribute: not checked here in LibreOffice)."""
    flags, base = divmod(style, _BASE)
    return base + _BASE * (flags | _QUOTED)


def muted(style: int) -> int:
    """`style` in grey italics (its font's muted copy, `MUTED_COLOR`): a waived finding's
    row, told apart from the open ones without colour too (italics)."""
    flags, base = divmod(style, _BASE)
    return base + _BASE * (flags | _MUTED)


_FONTS: list[str] = re.findall(r"<font>.*?</font>", STYLES.split("<fonts", 1)[1].split(
    "</fonts>", 1)[0])
"""STYLES' fonts, of which `STYLESHEET` adds a muted copy each (after them, in order)."""


def _muted_font(font: str) -> str:
    """A font's grey italic copy (CT_Font's children in their order: b, i, ..., sz, color,
    name)."""
    font = font.replace("<sz ", "<i/><sz ", 1)
    return font.replace("<name ", f'<color rgb="{MUTED_COLOR}"/><name ', 1)


def _variant(xf: str, flags: int) -> str:
    if flags & _QUOTED:
        xf = xf.replace("<xf ", '<xf quotePrefix="1" ', 1)
    if flags & _MUTED:
        font = int(xf.split('fontId="', 1)[1].split('"', 1)[0])
        xf = xf.replace(f'fontId="{font}"', f'fontId="{font + len(_FONTS)}"', 1)
        if "applyFont=" not in xf:
            xf = xf.replace("<xf ", '<xf applyFont="1" ', 1)
    return xf


def _stylesheet() -> str:
    """STYLES with the number formats and fonts it adds, and every base style's variants
    (`quoted`, `muted`) appended to its cellXfs."""
    xfs = [_variant(xf, flags) for flags in range(_VARIANTS) for xf in _BASE_XFS]
    head, rest = STYLES.split("<cellXfs", 1)
    tail = rest.split("</cellXfs>", 1)[1]
    before, formats = head.split("<numFmts", 1)
    listed, after = formats.split("</numFmts>", 1)
    listed = listed.split(">", 1)[1] + "".join(
        f'<numFmt numFmtId="{k}" formatCode="{code}"/>' for k, code in _MORE_FORMATS.items())
    head = (f'{before}<numFmts count="{listed.count("<numFmt ")}">{listed}</numFmts>'
            f"{after}")
    fonts = [*_FONTS, *map(_muted_font, _FONTS)]
    before, rest = head.split("<fonts", 1)
    after = rest.split("</fonts>", 1)[1]
    head = f'{before}<fonts count="{len(fonts)}">{"".join(fonts)}</fonts>{after}'
    return f'{head}<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>{tail}'


_DAY = 86_400_000_000
"""Microseconds a day."""
FIRST_SERIAL, LAST_SERIAL = 61, 2_958_466
"""The days `excel_serials` gives: from 1900-03-01 (Excel counts a 1900-02-29 that never
was, so an earlier day's serial shows the day after it) to before 10000-01-01."""
SERIAL_EXPONENT = "E-11"
"""`excel_serials` gives a serial as an integer of 1e-11 days (0.864 µs): written with
this exponent (`4629650000000000E-11`, 2026-10-01 12:00), an xsd:double (as XlsxWriter
writes `1E-05`; read back by openpyxl here, to the microsecond; a float's repr, `46296.5`,
took 2-4 times as long to write as the integer's digits)."""


def excel_serials(times: Sequence[Any]) -> Any:
    """Each of `times` (ISO 8601 texts with an offset, as findings and the manifest hold
    them) as Excel's date-time serial in UTC, days since 1899-12-30 00:00 UTC, in units of
    1e-11 days (SERIAL_EXPONENT): an int64 array, -1 where a time is missing, not a text,
    not ISO 8601, or before FIRST_SERIAL or from LAST_SERIAL days (an empty cell). One
    parse of all of them (pandas) and integer arithmetic, no Python per time."""
    import numpy as np
    import pandas as pd

    texts = pd.Series([t if type(t) is str else None for t in times], dtype=object)
    parsed = pd.to_datetime(texts, utc=True, errors="coerce", format="ISO8601")
    missing = parsed.isna().to_numpy()
    micros = parsed.dt.as_unit("us").astype("int64").to_numpy() - _EPOCH_MICROS
    days, rest = np.divmod(np.where(missing, 0, micros), _DAY)
    serials = days * 100_000_000_000 + (rest * 125 + 54) // 108  # (rest / 0.864, rounded)
    serials[missing | (days < FIRST_SERIAL) | (days >= LAST_SERIAL)] = -1
    return serials


def date_serial(day: str) -> int | None:
    """A day written `YYYY-MM-DD` (a waiver's `expires`) as Excel's serial of that day, days
    since 1899-12-30; None where it is not such a day or Excel cannot hold it (before
    FIRST_SERIAL or from LAST_SERIAL)."""
    from datetime import date

    try:
        serial = (date.fromisoformat(day) - date(1899, 12, 30)).days
    except (TypeError, ValueError):
        return None
    return serial if FIRST_SERIAL <= serial < LAST_SERIAL else None


def serial_float(serial: int) -> float | None:
    """A serial of `excel_serials` in days (None for -1, no time)."""
    return None if serial < 0 else float(f"{serial}{SERIAL_EXPONENT}")


_EPOCH_MICROS = -2_209_161_600_000_000
"""1899-12-30 00:00 UTC in microseconds since 1970-01-01."""

STYLESHEET = _stylesheet()
"""The workbook's styles.xml: STYLES and their variants."""

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

MAX_COLUMNS = 16_384
MAX_CELL = 32_767
"""Excel's limit on characters in one cell."""
_NOT_XML = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
"""What `escape` writes as Excel's `_xHHHH_`: the characters XML cannot hold, a carriage
return (which XML reads as a line feed: `a\rb` came back as `a\nb`, `\r\n` as `\n`), and
a literal `_xHHHH_` (as `_x005F_xHHHH_`, so that it is not read as an escape)."""
_CHUNK = 1 << 20


def column_letters(index: int) -> str:
    """0 -> 'A', 25 -> 'Z', 26 -> 'AA'."""
    if not 0 <= index < MAX_COLUMNS:
        raise ValueError(f"column {index} is outside a worksheet")
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _excel_escape(match: re.Match[str]) -> str:
    text = match.group(0)
    if len(text) == 1:
        return f"_x{ord(text):04X}_"
    return "_x005F" + text  # a literal "_x0041_" stays literal instead of reading as "A"


def escape(text: str) -> str:
    """Text as XML character data that Excel reads back as `text`."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _NOT_XML.search(text):
        text = _NOT_XML.sub(_excel_escape, text)
    return text


def needs_escape(text: str) -> bool:
    """Whether `escape` changes `text` (of many texts joined by a line break, whether it
    changes any of them: a line break is kept as it is and ends every escaped sequence)."""
    return "&" in text or "<" in text or ">" in text or _NOT_XML.search(text) is not None


def _attribute(text: str) -> str:
    return escape(text).replace('"', "&quot;")


_EXACT = 2 ** 53
"""Integers below this (in magnitude) a double holds exactly, as Excel keeps numbers."""


def cell_xml(ref: str, value: Any, style: int) -> str:
    """One cell: `value` text (inline string), a number, a bool, or None/'' (an empty cell
    that keeps its style)."""
    if isinstance(value, bool):
        return f'<c r="{ref}" s="{style}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Integral) and -_EXACT < int(value) < _EXACT:
        # (written as the integer it is: "1.0" reads back as the float 1.0, in openpyxl and
        # pandas, where a count is meant; one beyond a double's exact integers is the
        # number Excel would hold of it)
        return f'<c r="{ref}" s="{style}"><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Real):
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"cell {ref}: {value!r} is not a number Excel can hold")
        return f'<c r="{ref}" s="{style}"><v>{number!r}</v></c>'
    if value is None or value == "":
        return f'<c r="{ref}" s="{style}"/>'
    text = str(value)
    return (f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{space_kept(text)}>'
            f"{escape(text)}</t></is></c>")


PRESERVE = ' xml:space="preserve"'


def space_kept(text: str) -> str:
    """The attribute that keeps a text's leading or trailing white space (which Excel
    would otherwise trim), where it has any; '' for other text (most cells: 20 bytes less
    each to build and compress)."""
    return PRESERVE if text[:1].isspace() or text[-1:].isspace() else ""


class Sheet:
    """One worksheet, its rows streamed into the zip as they are given (in row order)."""

    def __init__(self, book: Workbook, name: str, index: int) -> None:
        self.book, self.name, self.index = book, name, index
        self.widths: list[tuple[int, float, int | None]] = []
        self.freeze_header = False
        self.filter_columns = 0
        self.printed: Printed | None = None
        self.rows = 0
        self._started = False
        self._closed = False

    def set_column(self, col: int, width: float, style: int | None = None) -> None:
        if self._started:
            raise RuntimeError("columns are set before the first row")
        self.widths.append((col, width, style))

    def freeze_first_row(self) -> None:
        if self._started:
            raise RuntimeError("the header is frozen before the first row")
        self.freeze_header = True

    def print_as(self, printed: Printed) -> None:
        """How the sheet prints (`Printed`)."""
        if self._started:
            raise RuntimeError("the print settings are set before the first row")
        self.printed = printed

    def autofilter(self, columns: int) -> None:
        """A filter over the first `columns` columns of every row written."""
        self.filter_columns = columns

    def _start(self) -> None:
        self._started = True
        selected = ' tabSelected="1"' if self.index == 0 else ""
        if self.freeze_header:
            view = (f'<sheetView{selected} workbookViewId="0"><pane ySplit="1" '
                    'topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>')
        else:
            view = f'<sheetView{selected} workbookViewId="0"/>'
        fit = ('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
               if self.printed is not None and self.printed.fit_width else "")
        parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">{fit}'
                 f'<sheetViews>{view}</sheetViews><sheetFormatPr defaultRowHeight="15"/>']
        if self.widths:
            parts.append("<cols>")
            for col, width, style in sorted(self.widths):
                styled = "" if style is None else f' style="{style}"'
                parts.append(f'<col min="{col + 1}" max="{col + 1}" '
                             f'width="{width + 0.7109375:.7g}"{styled} customWidth="1"/>')
            parts.append("</cols>")
        parts.append("<sheetData>")
        self.book._write("".join(parts))

    def row(self, cells: Sequence[tuple[Any, int]]) -> None:
        """The next row: (value, style) per column from A."""
        refs = [column_letters(c) for c in range(len(cells))]
        number = self.rows + 1
        self.row_xml(number, "".join(cell_xml(f"{ref}{number}", value, style)
                                     for ref, (value, style) in zip(refs, cells, strict=True)))

    def row_xml(self, number: int, cells: str) -> None:
        """Row `number` (1-based, ascending) from its cells' XML."""
        if self._closed:
            raise RuntimeError(f"sheet {self.name!r} is finished")
        if not self._started:
            self._start()
        if number <= self.rows:
            raise ValueError(f"row {number} after row {self.rows}")
        self.rows = number
        self.book._write(f'<row r="{number}">{cells}</row>')

    def close(self) -> None:
        if self._closed:
            return
        if not self._started:
            self._start()
        tail = ["</sheetData>"]
        ref = self.filter_ref
        if ref is not None:
            tail.append(f'<autoFilter ref="{ref.replace("$", "")}"/>')
        printed = self.printed
        if printed is not None and printed.grid_lines:
            tail.append('<printOptions gridLines="1"/>')
        tail.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
                    'header="0.3" footer="0.3"/>')
        if printed is not None:
            tail.append(printed.xml())
        tail.append("</worksheet>")
        self.book._write("".join(tail))
        self._closed = True
        self.book._end_sheet()

    @property
    def filter_ref(self) -> str | None:
        """The autofilter's range over every row written ($A$1:$O$N), None without one."""
        if not self.filter_columns:
            return None
        last = column_letters(self.filter_columns - 1)
        return f"$A$1:${last}${max(self.rows, 2)}"


@dataclass(frozen=True)
class Printed:
    """How a sheet prints: `landscape`; `fit_width`, its columns scaled to one page's width
    (as many pages down as its rows take); `title_rows`, the first rows repeated at the top
    of every page (the workbook's `_xlnm.Print_Titles` name of the sheet); `grid_lines`
    printed; `header`, the text at the top of each page (left) and `footer` (centred),
    each in Excel's header codes (`&P` the page, `&N` the pages, `&&` an ampersand)."""

    landscape: bool = False
    fit_width: bool = False
    title_rows: int = 0
    grid_lines: bool = False
    header: str = ""
    footer: str = ""

    def xml(self) -> str:
        """pageSetup and headerFooter, which follow pageMargins (ECMA-376 part 1, 18.3.1.99,
        CT_Worksheet's sequence: ... printOptions, pageMargins, pageSetup, headerFooter)."""
        setup = []
        if self.landscape:
            setup.append('orientation="landscape"')
        if self.fit_width:
            setup.append('fitToWidth="1" fitToHeight="0"')
        parts = [f"<pageSetup {' '.join(setup)}/>"] if setup else []
        if self.header or self.footer:
            parts.append("<headerFooter>"
                         + (f"<oddHeader>&amp;L{escape(self.header)}</oddHeader>"
                            if self.header else "")
                         + (f"<oddFooter>&amp;C{escape(self.footer)}</oddFooter>"
                            if self.footer else "")
                         + "</headerFooter>")
        return "".join(parts)


def _fast_deflate(stream: IO[bytes], level: int | None) -> bool:
    """Have ISA-L deflate the zip entry being written by `stream` (`ZipFile.open(info,
    "w")`), where `isal` is installed and the workbook's `level` is 1, the default: the
    same raw deflate stream format zlib writes, made 3-4 times as fast at a smaller size
    (findings.xlsx at 1M cases: its 540 MB of sheets deflated in 0.64 s instead of 2.3 s of
    CPU, 76 MB instead of 78). The entry's compressor is zipfile's private attribute: where
    a Python release names it otherwise, zlib deflates, as before. True where ISA-L does."""
    if level != 1 or type(getattr(stream, "_compressor", None)) is not _ZLIB_COMPRESSOR:
        return False
    try:
        from isal import isal_zlib
    except ImportError:
        return False
    stream._compressor = isal_zlib.compressobj(  # type: ignore[attr-defined]
        1, isal_zlib.DEFLATED, -zlib.MAX_WBITS)
    return True


_ZLIB_COMPRESSOR = type(zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS))
"""The type of zipfile's compressor of a deflated entry."""


def _set_level(info: zipfile.ZipInfo, level: int | None) -> None:
    """The deflate level of an entry opened for streaming: `ZipFile.open(info, "w")` takes it
    from the ZipInfo, not from the ZipFile, and a ZipInfo made by hand has none, so zlib's
    default (6) applied. (The attribute is public from Python 3.13 on.)"""
    if hasattr(info, "compress_level"):
        info.compress_level = level
    else:
        info._compresslevel = level  # type: ignore[attr-defined]


class Workbook:
    """A workbook written sheet after sheet: `add_sheet`, rows, the next `add_sheet` (the
    previous sheet is finished), `close`. Use as a context manager; on an exception the
    partial file is removed."""

    def __init__(self, path: Path, *, title: str = "", author: str = "",
                 compresslevel: int = 1, created: datetime | None = None) -> None:
        self.path = path
        self.title, self.author = title, author
        self.created = created
        """The file properties' created and modified time (None: the time of writing)."""
        self.sheets: list[Sheet] = []
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True,
                                    compresslevel=compresslevel)
        self._current: Sheet | None = None
        self._buffer: list[str] = []
        self._size = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None
        self.isal = False
        """Whether ISA-L deflates the sheet being written (`_fast_deflate`)."""

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            try:
                self.close()
            except BaseException:  # (the disk full at the end, a text that cannot be encoded)
                self._abandon()
                raise
            return
        self._abandon()

    def add_sheet(self, name: str) -> Sheet:
        """A new sheet (Excel's rules: 1-31 characters, none of []:*?/\\, unique)."""
        if not 1 <= len(name) <= 31 or any(c in name for c in "[]:*?/\\") or \
                name.startswith("'") or name.endswith("'"):
            raise ValueError(f"{name!r} is not a worksheet name Excel accepts")
        if name.lower() in (s.name.lower() for s in self.sheets):
            raise ValueError(f"two sheets named {name!r}")
        if self._current is not None:
            self._current.close()
        sheet = Sheet(self, name, len(self.sheets))
        self.sheets.append(sheet)
        self._current = sheet
        self._begin_sheet(f"xl/worksheets/sheet{sheet.index + 1}.xml")
        return sheet

    # --- streaming one zip entry, compressed in a second thread --------------------------
    def _begin_sheet(self, entry: str) -> None:
        info = zipfile.ZipInfo(entry, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        _set_level(info, self._zip.compresslevel)
        stream = self._zip.open(info, "w", force_zip64=True)
        self.isal = _fast_deflate(stream, self._zip.compresslevel)

        def drain() -> None:
            try:
                while (chunk := self._queue.get()) is not None:
                    stream.write(chunk)
            except BaseException as exc:  # handed to the producing thread
                self._error = exc
                while self._queue.get() is not None:  # unblock the producer
                    pass
            finally:
                try:
                    stream.close()
                except BaseException as exc:
                    self._error = self._error or exc

        self._writer = threading.Thread(target=drain, name="xlsx-deflate", daemon=True)
        self._writer.start()

    def _write(self, text: str) -> None:
        self._buffer.append(text)
        self._size += len(text)
        if self._size >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._error is not None:
            raise self._error
        if self._buffer:
            self._queue.put("".join(self._buffer).encode("utf-8"))
            self._buffer, self._size = [], 0

    def _end_sheet(self) -> None:
        self._flush()
        self._queue.put(None)
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        self._current = None
        if self._error is not None:
            raise self._error

    # --- the package parts -------------------------------------------------------------
    def close(self) -> None:
        if self._current is not None:
            self._current.close()
        if not self.sheets:
            self.add_sheet("Sheet1").close()
        self._entry("[Content_Types].xml", self._content_types())
        self._entry("_rels/.rels", (
            f'<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/extended-properties" '
            'Target="docProps/app.xml"/></Relationships>'))
        self._entry("docProps/app.xml", (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>refund-audit</Application></Properties>'))
        now = (self.created or datetime.now(UTC)).astimezone(UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        self._entry("docProps/core.xml", (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{escape(self.title)}</dc:title>"
            f"<dc:creator>{escape(self.author)}</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
            "</cp:coreProperties>"))
        self._entry("xl/workbook.xml", self._workbook())
        rels = "".join(f'<Relationship Id="rId{s.index + 1}" Type="{_REL}/worksheet" '
                       f'Target="worksheets/sheet{s.index + 1}.xml"/>' for s in self.sheets)
        styles = len(self.sheets) + 1
        self._entry("xl/_rels/workbook.xml.rels", (
            f'<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{styles}" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>"))
        self._entry("xl/styles.xml", STYLESHEET)
        self._zip.close()

    def _abandon(self) -> None:
        """After an error: the partial file is removed (the error is the caller's to see)."""
        try:
            if self._writer is not None:
                self._queue.put(None)
                self._writer.join()
            self._zip.close()
        except (ValueError, OSError):
            pass  # a broken entry: the file goes anyway
        finally:
            self.path.unlink(missing_ok=True)

    def _entry(self, name: str, xml: str) -> None:
        if not xml.startswith("<?xml"):
            xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, xml)

    def _content_types(self) -> str:
        sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{s.index + 1}.xml" '
                         f'ContentType="{_SHEET_TYPE}"/>' for s in self.sheets)
        return (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{sheets}"
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>')

    def _workbook(self) -> str:
        sheets = "".join(f'<sheet name="{_attribute(s.name)}" sheetId="{s.index + 1}" '
                         f'r:id="rId{s.index + 1}"/>' for s in self.sheets)
        names = []
        for sheet in self.sheets:
            ref = sheet.filter_ref
            if ref is not None:  # Excel keeps an autofilter's range under this hidden name
                quoted = "'" + sheet.name.replace("'", "''") + "'"
                names.append(f'<definedName name="_xlnm._FilterDatabase" '
                             f'localSheetId="{sheet.index}" hidden="1">'
                             f"{escape(quoted)}!{ref}</definedName>")
        for sheet in self.sheets:  # (after them: Excel lists its names sorted)
            if sheet.printed is not None and sheet.printed.title_rows:
                quoted = "'" + sheet.name.replace("'", "''") + "'"
                names.append(f'<definedName name="_xlnm.Print_Titles" '
                             f'localSheetId="{sheet.index}">{escape(quoted)}!$1:'
                             f"${sheet.printed.title_rows}</definedName>")
        defined = f"<definedNames>{''.join(names)}</definedNames>" if names else ""
        return (f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
                '<bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" '
                'windowHeight="9660"/></bookViews>'
                f"<sheets>{sheets}</sheets>{defined}<calcPr calcId="
                '"124519" fullCalcOnLoad="1"/></workbook>')
