"""Generic CSV reader: detects encoding (UTF-8, UTF-8 with BOM, GBK/GB18030, ...) and delimiter.

Rows with the wrong number of fields are not dropped: they come back as problems for the
quarantine, numbered as a spreadsheet numbers them (header = row 1).

Two readers give the same result: a columnar fast path (pyarrow.csv, no Python object per cell)
for the common case, UTF-8 text with one record per line, and the csv module for everything
else. The fast path checks its own preconditions and hands over to the csv module whenever
the file is anything but plain (another encoding, a record spanning lines, a ragged row, a cell
the csv module would read differently): it never raises, so errors always come from the csv
module path and read the same.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from audit.canonical import sorted_distinct
from audit.errors import InputError
from audit.ingest.raw import RawTable
from audit.ingest.sizes import MAX_CELL, SHOWN, cut, too_long_reason
from audit.words import counted

if TYPE_CHECKING:
    import pyarrow as pa

_DELIMITERS = ",;\t|"
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class RaggedRow:
    """A record the table does not hold, for the quarantine: one whose number of fields is
    not the header's, or (`problem` given) one that is malformed in another way."""

    row: int
    found: int
    expected: int
    text: str
    problem: str = ""
    field: str = "(record)"
    """The field the quarantine names: the record's own, or (a cell over `MAX_CELL`) the
    cell's."""

    @property
    def reason(self) -> str:
        """The quarantine reason."""
        if self.problem:
            return self.problem
        return f"{counted(self.found, 'field')} where the header has {self.expected}"


QUOTE_LEFT_OPEN = "a quote opened in this row is never closed (the file ends inside it)"


def _undecodable(
    data: bytes, exc: UnicodeDecodeError, *, file: Path, what: str, hint: str = ""
) -> InputError:
    """The error for bytes that `what` cannot decode, naming the row of the first bad byte
    as the quarantine numbers rows (`_rows_after_sep`)."""
    line = _rows_after_sep(data, data[: exc.start].count(b"\n") + 1)
    return InputError(f"cannot be decoded as {what} (byte {exc.start}){hint}", file=file, row=line)


def _rows_after_sep(data: bytes | str, line: int) -> int:
    """A line number of the file as a row number: one less after an Excel `sep=X` first line,
    which is no row (Excel shows the header as row 1; so do the quarantine's numbers)."""
    start = data[:4].lower() if isinstance(data, str) else data.lstrip(
        codecs.BOM_UTF8)[:4].lower()
    sep = start == ("sep=" if isinstance(data, str) else b"sep=")
    return line - 1 if sep and line > 1 else line


# Encodings whose text has the same byte shape as GB2312 (two bytes, both 0xA1-0xFE): when the
# detector names one of them, its judgement stands.
_EUC_RIVALS = frozenset(
    {"euc_kr", "cp949", "johab", "euc_jp", "euc_jis_2004", "euc_jisx0213"})


def _looks_like_gbk(data: bytes) -> bool:
    """True if `data` reads as GB18030 and (nearly) every non-ASCII character is a two-byte one
    of the GB2312 zone (both bytes 0xA1-0xFE), the shape of Chinese text saved as GBK.

    Single-byte text (Latin, Cyrillic, Thai, ...) almost never has that shape, while the
    detector, on a few short labels, often takes GBK for a single-byte code page such as cp874.
    """
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    wide = [m.group() for m in itertools.islice(_NON_ASCII.finditer(text), 20_000)]
    if not wide:
        return False
    in_zone = 0
    for char in wide:
        encoded = char.encode("gb18030")
        in_zone += len(encoded) == 2 and encoded[0] >= 0xA1 and encoded[1] >= 0xA1
    return in_zone >= 0.9 * len(wide)


_SINGLE_BYTE_LETTERS = (("cp1251", "Cyrillic"), ("cp1253", "Greek"), ("cp1255", "Hebrew"),
                        ("cp1256", "Arabic"))
"""Single-byte code pages whose letters all lie in 0xC0-0xFF, where two of them side by side
have the byte shape of one GB2312 character."""


def _refuse_gbk_or_single_byte_letters(data: bytes, *, file: Path) -> None:
    """An InputError where bytes of GBK's shape are, every one of them, also a letter of a
    single-byte code page (0xC0-0xFF). Cyrillic cp1251 "Оплата", "Иван Петров" (words of an
    even number of letters) read as GB18030 "物豚蜞", "肉囗 襄蝠钼", with a note only, and
    the four-eyes rules then compared garbled names. Chinese text almost always has a byte
    below 0xC0 (退 is 0xCD 0xCB, 款 0xBF 0xEE), so it is read as before."""
    if data.translate(None, bytes(range(0x80)) + bytes(range(0xC0, 0x100))):
        return  # (a byte 0x80-0xBF: no letter of those pages)
    gbk = data.decode("gb18030")
    examples = []
    for page, script in _SINGLE_BYTE_LETTERS:
        reading = data.decode(page, errors="replace")
        word = next((m.group() for m in _NON_ASCII_RUN.finditer(reading)), "")
        examples.append(f"'{word}' ({page}, {script})")
    first = next((m.group() for m in _NON_ASCII_RUN.finditer(gbk)), "")
    raise InputError(
        f"is not UTF-8, and its encoding cannot be told from its bytes: they read as Chinese "
        f"'{first}' (gb18030) or as {' or '.join(examples)}: pass --encoding (e.g. cp1251 "
        "for Cyrillic, gbk for Chinese)", file=file)


def text_codec(encoding: str, *, file: Path | None = None) -> codecs.CodecInfo:
    """The codec of an --encoding, which must turn bytes into text; else an InputError
    naming `file`, or (None: checked before any file is read, by every command that takes
    the option, so that a value no input needs is not silently ignored) --encoding."""
    field = "--encoding" if file is None else None
    try:
        codec = codecs.lookup(encoding)
    except LookupError as exc:
        raise InputError(f"unknown encoding '{encoding}'", file=file, field=field) from exc
    if not getattr(codec, "_is_text_encoding", True):
        # rot13, base64, hex, zlib, ...: codecs of text to text or bytes to bytes, which
        # bytes.decode refuses (a LookupError that was reported as an internal error).
        raise InputError(
            f"{'' if field else '--encoding '}'{encoding}' is not a text encoding (Python's "
            f"{codec.name!r} codec does not turn bytes into text): name the file's "
            "character encoding, e.g. utf-8, cp1252, latin-1 or gbk", file=file, field=field)
    return codec


def decode(data: bytes, *, file: Path, encoding: str | None) -> tuple[str, str]:
    """Decode bytes; return (text, encoding used). Raises InputError naming the offending line."""
    if encoding is not None:
        named = text_codec(encoding, file=file).name
        if named == "utf-8" and data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"  # (the mark is no part of the first column's name)
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc, file=file, what=encoding) from exc
        except UnicodeError as exc:  # (`undefined`, `punycode`, `idna`: no position given)
            raise InputError(f"cannot be decoded with --encoding '{encoding}' ({exc}): name "
                             "the file's character encoding, e.g. utf-8, cp1252, latin-1 or "
                             "gbk", file=file) from exc
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            exc.start += len(codecs.BOM_UTF8)
            raise _undecodable(data, exc, file=file, what="UTF-8",
                               hint=" although the file starts with a UTF-8 BOM") from exc
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        # (before UTF-16: UTF-32's little-endian mark, FF FE 00 00, begins with UTF-16's)
        try:
            return data.decode("utf-32"), "utf-32"
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc, file=file, what="UTF-32") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc, file=file, what="UTF-16") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        not_utf8 = exc
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    guessed = None if best is None or best.encoding is None else str(best.encoding)
    if (guessed is None or guessed.lower() not in _EUC_RIVALS) and _looks_like_gbk(data):
        _refuse_gbk_or_single_byte_letters(data, file=file)
        guessed = "gb18030"
    if guessed is None:
        raise _undecodable(
            data, not_utf8, file=file, what="UTF-8",
            hint=" and its encoding cannot be told; pass --encoding (e.g. gbk, latin-1)",
        ) from None
    # GBK text is a subset of GB18030; reading it as GB18030 never loses a character.
    if guessed.lower() in ("gbk", "gb2312"):
        guessed = "gb18030"
    text = data.decode(guessed)
    _refuse_single_byte_guess(data, text, guessed, file=file)
    return text, guessed


_LATIN_PAGES = ("cp1252", "cp1250")
"""The single-byte code pages a guess is compared with: Windows' Western and Central
European ones, which Excel writes CSV in and which charset detection confuses most."""


def _refuse_single_byte_guess(data: bytes, text: str, guessed: str, *, file: Path) -> None:
    """An InputError where the guessed encoding is a single-byte code page and it, cp1252 and
    cp1250 do not all read the bytes alike. A guess between single-byte code pages is a coin
    toss on an export's few names: Latin-1 "José Peña" was guessed as cp1250 and imported as
    "José Peńa", Polish cp1250 "Łukasz" as cp1252 "£ukasz", each with a note only, and the
    four-eyes rules then compare garbled names. Where they all read the bytes alike (German
    umlauts and ß) the guess stands."""
    if len(bytes(range(256)).decode(guessed, errors="replace")) != 256:
        return  # (a multi-byte encoding: its guess rests on byte patterns, not a toss-up)
    readings = {guessed: text}
    for page in _LATIN_PAGES:
        if codecs.lookup(page).name != codecs.lookup(guessed).name:
            try:
                readings[page] = data.decode(page)
            except UnicodeDecodeError:
                continue  # (bytes that page does not define: not a reading of the file)
    if len(set(readings.values())) == 1:
        return
    examples: list[str] = []
    for at in range(len(text)):
        chars = {page: reading[at] for page, reading in readings.items()
                 if len(reading) == len(text)}
        if len(set(chars.values())) > 1:
            example = " or ".join(f"'{c}' ({page})" for page, c in chars.items())
            if example not in examples:
                examples.append(example)
            if len(examples) == 3:
                break
    told = "; its bytes read as " + "; ".join(examples) if examples else ""
    raise InputError(
        f"is not UTF-8, and its single-byte encoding cannot be told from its bytes (the best "
        f"guess, {guessed}, is no more likely than another){told}: pass --encoding (e.g. "
        "cp1252 or latin-1 for Western European text, cp1250 for Central European, cp1251 "
        "for Cyrillic)", file=file)


SNIFFED = 1 << 20
"""The most characters of a file's start the delimiter is guessed from (`sniff_delimiter`).
Before, the lines were taken whole however long: a CSV log with a 50 MB cell in its fifth
row had all 50 MB sniffed (13 of the import's 16 s, and copies of the text), before the
cell was quarantined as too long."""

SNIFFED_LINES = 50
"""The lines of a file's start the delimiter is guessed from."""

_LINE_START = SNIFFED // 64
"""The most characters of one line the sniffer is handed (`_first_lines`): at most
`SNIFFED_LINES` of them make less than `SNIFFED`."""


def _first_lines(text: str, count: int = SNIFFED_LINES, start: int = 0) -> list[str]:
    """The lines of `text`'s first `count` from `start` (ended by '\r\n', '\r' or '\n', as
    the csv module ends them) the guess is handed (`_sniffed`), each found without a copy: '\n' by
    str.find, then a '\r' between the line's start and it. Before, each line end was found
    by a regular expression scanning the whole line (0.7 s for a line of 50 MB, against
    0.0025 s for the byte lines of the columnar reader); before that, the lines within the
    first `SNIFFED` characters were taken: where row 2 filled them, the header alone was
    sniffed, and a header 'case;activity;amount, EUR' guessed ',' (every row ragged)."""
    spans: list[tuple[int, int]] = []
    at, newline = start, start - 1
    while len(spans) < count and at < len(text):
        if newline < at:  # (a '\n' found far on serves the lines ended by '\r' before it)
            newline = text.find("\n", at)
            if newline < 0:
                newline = len(text)
        ret = text.find("\r", at, newline)
        end = newline if ret < 0 else ret
        spans.append((at, end))
        if end >= len(text):
            break
        at = end + (2 if text.startswith("\r\n", end) else 1)
    return _sniffed(
        [end - at for at, end in spans],
        lambda k, budget: (None if spans[k][1] - spans[k][0] > budget
                           else text[spans[k][0]:spans[k][1]]),
        lambda k: text[spans[k][0]:min(spans[k][1], spans[k][0] + _LINE_START)])


def _sniffed(lengths: list[int], whole: Callable[[int, int], str | None],
             start: Callable[[int], str]) -> list[str]:
    """Of the first lines (their lengths, at most those in characters; `whole` gives line
    k where it has at most `budget` characters, else None; `start` its first `_LINE_START`),
    those the sniffer is handed: the whole lines that are not blank while together they stay
    within `SNIFFED` characters, a line that does not fit skipped, not ending the count; where
    fewer than two are, every line's start (a line's start holds fewer delimiters than its
    row, which would spoil the sniffer's count). Before, the lines were cut to their starts
    and the whole ones taken where two were: where fewer than two lines of the first 50 had
    at most 16,384 characters, the starts of lines with a long cell in a middle column were
    sniffed, without the delimiters after it, and guessed ',' (a ';' export of 60 rows
    with a 21 KB JSON payload: read whole before, then every row quarantined); a trailing
    blank line counted as a whole line, and the header was sniffed alone."""
    budget = SNIFFED
    taken: list[str] = []
    for k, length in enumerate(lengths):
        if length > 0 and length <= budget * 4:  # (a character is at most 4 bytes)
            line = whole(k, budget)
            if line is not None and len(line) <= budget and line.strip():
                taken.append(line)
                budget -= len(line) + 1  # (the sniffer's sample joins them by '\n')
    return taken if len(taken) >= 2 else [start(k) for k in range(len(lengths))]


def _first_byte_lines(data: bytes, offset: int,
                      count: int = SNIFFED_LINES) -> list[str] | None:
    """`_first_lines` of the UTF-8 text of `data` from `offset` (lines ended by '\n' or
    '\r\n' alone: the columnar reader takes no other), decoding only the lines (or the
    lines' starts) handed on; None where one is not UTF-8."""
    spans: list[tuple[int, int]] = []
    at = offset
    while len(spans) < count and at < len(data):
        newline = data.find(b"\n", at)
        end = len(data) if newline < 0 else newline
        if end > at and data[end - 1] == 13 and newline >= 0:
            end -= 1
        spans.append((at, end))
        if newline < 0:
            break
        at = newline + 1

    def whole(k: int, budget: int) -> str | None:
        at, end = spans[k]
        return None if end - at > 4 * budget else bytes(data[at:end]).decode("utf-8")

    def start(k: int) -> str:
        at, end = spans[k]
        # A character takes 4 bytes at most: enough bytes for `_LINE_START` characters,
        # cut before a character's continuation bytes.
        stop = min(end, at + 4 * _LINE_START + 3)
        if stop < end:
            while stop > at and data[stop] & 0xC0 == 0x80:
                stop -= 1
        return bytes(data[at:stop]).decode("utf-8")[:_LINE_START]

    try:
        return _sniffed([end - at for at, end in spans], whole, start)
    except UnicodeDecodeError:
        return None


def sniff_delimiter(text: str, start: int = 0) -> str:
    """The delimiter guessed from the lines of `text` from `start` (`_first_lines`), without
    a copy of the text (before, the csv module path handed it the text after the blank
    lines before the header: a copy of the whole file where one preceded it)."""
    return _sniff(_first_lines(text, start=start))


def _sniff(lines: list[str]) -> str:
    """The delimiter of `_DELIMITERS` guessed from `lines` (a file's first, `_first_lines`):
    the one the largest share of records repeat the header's count of (outside double
    quotes, `_counts`), the header holding one at least; of those, the one whose records
    hold fewest quotes within a field, then the one most records fit, then the one the
    header holds most of, then ',' before tab, ';' and '|'; ',' where the header holds
    none. Each character is looked at a
    few times (str.split and str.count per candidate), however the lines are made.

    Before, csv.Sniffer guessed: its regular expressions backtrack, and a start of lines of
    quotes (',\'' repeated: 20 lines of 10,000 characters) took more than 220 s of CPU
    before the import was stopped; and it guessed ',' for a ';' export whose last column
    is a quoted JSON cell of 21,000 characters (the commas within the quotes counted):
    every row quarantined."""
    records = _counts(lines)

    def score(at: int) -> tuple[bool, Fraction, int, int, int, int]:
        rows = records[at]
        wanted = rows[0][0] if rows else 0
        # (first the share of the records repeating the header's count; then the fewest
        # records holding a quote within a field: read with another delimiter than the
        # file's, a quoted multi-line note's quotes stand within fields and its inner
        # lines are records of their own, which may fit as well as the records do. Before,
        # the fewest such records came first: one unquoted cell `said,"refund now"` in a
        # ';' export whose header holds a comma outweighed every row that fit, and the
        # guess was ',')
        others = rows[1:]
        fit = sum(1 for count, _ in others if count == wanted)
        share = Fraction(fit, len(others)) if others else Fraction(0)
        strays = sum(1 for _, stray in rows if stray)
        return (wanted > 0, share, -strays, fit, wanted,
                -_PREFERRED.index(_DELIMITERS[at]))

    best = max(range(len(_DELIMITERS)), key=score)
    return _DELIMITERS[best] if records[best] and records[best][0][0] else ","


_PREFERRED = ",\t;|"
"""The order in which a tie of `_sniff`'s guess is settled (as csv.Sniffer's)."""


def _counts(lines: list[str]) -> list[list[tuple[int, bool]]]:
    """For each of `_DELIMITERS`, of each record `lines` hold read with it (a quoted cell
    may take lines: a line that leaves a quote open goes on in the next), how many of it
    stand outside double quotes, and whether a quote stands within a field (a character of
    it, where read with this delimiter). A quote opens a quoted cell only at a field's start
    (the line's, or right after that delimiter), as the csv module reads: a quote within a
    field (an unquoted inch mark, `27"`) is a character of it; a doubled quote inside a
    quoted cell is one quote. Where a quote stays open at the end (the lines end inside a
    quoted cell of several; lines' starts, cut in a quoted cell; a line skipped), the
    records closed before it are kept and the open tail left out; where fewer than two
    closed, each line is a record of its own. Each line is split at its quotes once, each
    part counted once per candidate.
    Before, one quote state served every candidate and any quote opened or closed a cell:
    a ';' export whose header holds a comma (`amount, EUR`), one early row ending `Monitor
    27" curved` and later notes of three lines quoted (a comma each) was read with every
    later line's quotes flipped, and guessed ',' (the import refused, exit code 2)."""
    split = [line.split('"') for line in lines]
    every: list[list[tuple[int, bool]]] = []
    for delimiter in _DELIMITERS:
        records: list[tuple[int, bool]] = []
        count, quoted, stray = 0, False, False
        for line, parts in zip(lines, split, strict=True):
            if len(parts) == 1 and not quoted:
                records.append((line.count(delimiter), False))
                continue
            more, quoted, within = _outside(parts, delimiter, quoted)
            count, stray = count + more, stray or within
            if not quoted:
                records.append((count, stray))
                count, stray = 0, False
        if quoted and len(records) < 2:
            records = [_outside(parts, delimiter, False)[::2] for parts in split]
        every.append(records)
    return every


def _outside(parts: list[str], delimiter: str, quoted: bool) -> tuple[int, bool, bool]:
    """How many `delimiter`s a line (`parts`, split at its quotes) holds outside quoted
    cells, the line starting inside one where `quoted`; whether it ends inside one; and
    whether a quote stands within a field (no quoted cell's start or end)."""
    count, stray = 0, False
    at_start = not quoted  # (at a field's start: the line's, not within a quoted cell)
    k, last = 0, len(parts) - 1
    while True:
        part = parts[k]
        if quoted:
            if k == last:
                return count, True, stray
            if parts[k + 1] == "" and k + 1 < last:  # ("" inside quotes: one quote)
                k += 2
                continue
            quoted, at_start = False, False  # (what follows the closing quote is no start)
        else:
            count += part.count(delimiter)
            if part:
                at_start = part.endswith(delimiter)
            if k == last:
                return count, False, stray
            quoted, stray = at_start, stray or not at_start
        k += 1


def _header_names(header: list[str], path: Path, row: int = 1) -> list[str]:
    """The header's column names; InputError where one appears twice, which a Jira issue
    CSV export's header does (a column per watcher, label, comment, attachment, sprint):
    then the error says what that export lacks (`audit.sources.jira.CSV_EXPORT_TOLD`), as
    the import says of one without a repeated column, not only which column repeats."""
    names = [h.strip() or f"(unnamed column {i + 1})" for i, h in enumerate(header)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            from audit.sources.jira import CSV_EXPORT_TOLD, jira_csv_columns

            if jira_csv_columns(names):
                raise InputError(
                    f"{CSV_EXPORT_TOLD} (its column '{name}' appears twice in the header, "
                    "as that export repeats a column per watcher, label, comment, "
                    "attachment or sprint)", file=path, row=row, field=name)
            raise InputError(f"column '{name}' appears twice in the header", file=path,
                             row=row, field=name)
        seen.add(name)
    return names


_SEP_LINE = re.compile(r"sep=(.*?)(\r\n|\n|\r|$)", re.IGNORECASE)


def excel_sep_line(text: str, *, file: Path | None = None) -> tuple[str, int] | None:
    """The delimiter an Excel `sep=X` first line names and the line's length with its line
    end; None where the text does not start so. Excel reads such a line as the delimiter
    and shows no row for it. InputError where it names no single character."""
    found = _SEP_LINE.match(text)
    if found is None:
        return None
    named = found.group(1)
    if len(named) != 1 or named in '"':
        raise InputError(f"the first line {found.group(0).strip()!r} names no delimiter: "
                         "Excel's 'sep=' line names one character (sep=; or sep=,)",
                         file=file, row=1)
    return named, found.end()


def skip_blank_lines(lines: list[str]) -> int:
    """How many of `lines` lead before the first that is not blank (whitespace alone)."""
    return next((k for k, line in enumerate(lines) if line.strip()), len(lines))


Strings = Literal["object", "arrow"]
FAST_PATH = True
"""Switch for the columnar reader (tests compare it with the csv module path)."""


def read_csv(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None,
    strings: Strings = "object",
) -> tuple[RawTable, list[RaggedRow]]:
    """Read a CSV file as text cells; every cell stays a string ('' where empty).

    Blank lines before the header are skipped and counted as rows (a spreadsheet shows
    them); an Excel `sep=X` first line names the delimiter and is no row (Excel shows
    none: the header is row 1 after it).

    ``strings="object"`` gives object columns of Python str; ``"arrow"`` gives the same values
    as pandas string columns backed by Arrow (no Python object per cell) where the fast path
    reads the file, and object columns where the csv module does (then
    ``RawTable.arrow_text`` is False).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=path) from exc
    if not data[: 1 << 16].strip() and not data.strip():
        raise InputError("the file is empty", file=path)
    with _field_limit(len(data) + 1):
        return _read(path, data, encoding=encoding, delimiter=delimiter, strings=strings)


@contextmanager
def _field_limit(size: int) -> Iterator[None]:
    """The csv module's cell size limit (131,072 characters) raised to `size` while a file is
    read: one long cell (a pasted e-mail thread, a JSON payload) aborted the whole file
    ("field larger than field limit"). The file's size in bytes bounds every cell (a
    character takes a byte at least); the records are read under `MAX_CELL` (`_read`), a
    longer cell quarantined as it is read. Set back after (it is the process's)."""
    before = csv.field_size_limit()
    csv.field_size_limit(max(before, size))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _read(
    path: Path, data: bytes, *, encoding: str | None, delimiter: str | None,
    strings: Strings,
) -> tuple[RawTable, list[RaggedRow]]:
    if FAST_PATH:
        fast = _read_fast(path, data, encoding=encoding, delimiter=delimiter, strings=strings)
        if fast is not None:
            return fast, []
    text, used = decode(data, file=path, encoding=encoding)
    del data
    _refuse_surrogates(text, path, used)
    excel = excel_sep_line(text, file=path)
    if excel is not None:
        delimiter = delimiter or excel[0]
        text = text[excel[1]:]
    sep = delimiter or sniff_delimiter(text, _leading_blank_length(text))
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, delimiter=sep)
    row = header_start = 0
    try:
        for header in reader:  # the first record that is not a blank line
            row += 1
            if header and not (len(header) == 1 and not header[0].strip()):
                break
            header_start = stream.tell()
        else:
            raise InputError("the file holds no header (only blank lines)", file=path)
    except csv.Error as exc:
        raise InputError(f"unreadable header: {exc}", file=path, row=row + 1) from exc
    if _quote_left_open(text[header_start:stream.tell()], sep, path, row):
        raise InputError("a quote opened in the header is never closed", file=path, row=row)
    header = _header_names(header, path, row)
    width = len(header)
    records: list[list[str]] = []
    rows: list[int] = []
    ragged: list[RaggedRow] = []
    start = last_start = stream.tell()  # where the record read last starts in the text
    # The lines read so far (the csv module's count): a record of more than one line holds
    # a line break in a quoted cell, and only such a record can have joined rows (the check
    # ran on every record with a quote: a fifth more time on a file of every cell quoted).
    lines_read = reader.line_num
    # A cell longer than any real export's (`MAX_CELL`) ends the csv module's reading of it
    # there, as it is read: before, it was read whole (a 50 MB cell took 0.5 GB more, the
    # module building it four bytes a character) and quarantined after.
    csv.field_size_limit(MAX_CELL)
    try:
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if not str(exc).startswith("field larger than field limit"):
                    raise
                row += 1
                last_start, start = start, stream.tell()
                lines = reader.line_num - lines_read
                lines_read = reader.line_num
                ragged.append(_over_long(text, last_start, start, sep, header, path, row,
                                         lines))
                continue
            row += 1
            last_start, start = start, stream.tell()
            if reader.line_num - lines_read > 1:
                with _field_limit(len(text) + 1):
                    _refuse_joined_records(text, last_start, start, sep, header,
                                           records[-20:], path, row)
            lines_read = reader.line_num
            # A blank line is no record, but spreadsheets show it as a row. A quote and
            # blanks ('""', or a lone '"' on the last line, which the csv module reads as
            # one blank cell) is no blank line but a record of one field.
            if (not record or (len(record) == 1 and not record[0].strip())) and (
                    '"' not in text[last_start:start]):
                continue
            if len(record) != width:
                # (its cells joined; a line of blank cells, such as '""', as written)
                shown = sep.join(record)
                ragged.append(RaggedRow(row, len(record), width, shown if shown.strip()
                                        else text[last_start:start].rstrip("\r\n")))
                continue
            records.append(record)
            rows.append(row)
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=path, row=row + 1) from exc
    if _quote_left_open(text[last_start:], sep, path, row):
        # The last record, on one line, opens a quote the file ends in (a file cut short
        # in a quoted cell, a stray '"'): the csv module reads it to the end of the file
        # without a word, as a record that may even have the header's width.
        if ragged and ragged[-1].row == row:
            ragged.pop()
        elif rows and rows[-1] == row:
            records.pop()
            rows.pop()
        ragged.append(RaggedRow(row, 0, width, text[last_start:].rstrip("\r\n"),
                                problem=QUOTE_LEFT_OPEN))
    frame = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(
        {h: pd.Series(dtype=object) for h in header})
    notes = [] if used == "utf-8" else [f"{path.name}: read as {used}"]
    table = RawTable(frame=frame, rows=np.asarray(rows, dtype=np.int64), system="csv", file=path,
                     notes=notes, records_read=len(records) + len(ragged))
    return table, ragged


def _over_long(text: str, begin: int, end: int, sep: str, header: list[str], path: Path,
               row: int, lines: int = 1) -> RaggedRow:
    """The quarantine line of the record `text[begin:end]` (row `row`), whose reading the csv
    module ended at a cell over `MAX_CELL` characters: naming the cell's field and length,
    its value cut (`cut`), as the normaliser names a value over the bound. Found without a
    copy of the record (a scan of the text as the csv module reads it: a quote opens a
    quoted cell at a cell's start only, '""' in it is a quote).

    InputError where the csv module's reading stopped inside a quoted cell that goes on
    past the lines it read: the lines after would be read as records, though they are the
    cell's (and a stray quote may have joined rows into it, which the check of joined
    rows, `_refuse_joined_records`, could not see); and where the record read takes more
    than one line (`lines`): a stray pair of quotes before the cell may have joined rows
    into it, which that check, reading the record's lines, would have to copy."""
    cell_end = re.compile(f"{re.escape(sep)}|\r\n?|\n")
    column = 0
    at = begin
    # (column, where its text starts, its length, where its quoted text ends or -1, its end)
    found: tuple[int, int, int, int, int] | None = None
    while at < end:
        opened = text.startswith('"', at)
        first = at + opened
        length = 0
        quoted_end = -1
        if opened:
            inner = _QUOTED_TEXT.match(text, first, end)
            assert inner is not None  # (it matches the empty text)
            length = inner.end() - first - text.count('""', first, inner.end())
            at = inner.end()
            if at >= end or not text.startswith('"', at):
                _refuse_open_quote(text, first, header[column] if column < len(header)
                                   else None, path, row)
            quoted_end = at
            at += 1  # (the closing quote; what follows it up to a delimiter is the cell's)
        stop = cell_end.search(text, at, end)
        close = end if stop is None else stop.start()
        length += close - at
        if found is None and length > MAX_CELL:
            found = (column, first, length, quoted_end, close)
        if stop is None or stop.group() != sep:
            break
        at, column = close + 1, column + 1
    if found is None:  # (not expected: the csv module found one)
        raise InputError(f"a cell is longer than the {MAX_CELL:,} characters any real "
                         "export's field holds (see docs/security.md)", file=path, row=row)
    column, first, length, quoted_end, close = found
    if lines > 1:
        raise InputError(
            f"a record over {lines:,} lines holds a cell of {length:,} characters, longer "
            f"than the {MAX_CELL:,} any real export's field holds: its lines are not read, "
            "as rows a stray quote joined into the record could not be told (see "
            "docs/security.md)", file=path, row=row,
            field=header[column] if column < len(header) else None)
    shown = text[first:first + SHOWN + 1]
    if quoted_end >= 0:
        # Its value, not its CSV text: '""' a quote, without the closing one (before, the
        # quarantine showed 'a""b'). Twice the characters shown hold them at least.
        raw = text[first:min(quoted_end, first + 2 * SHOWN + 2)]
        shown = raw.replace('""', '"')
        if len(shown) <= SHOWN:
            shown += text[quoted_end + 1:min(close, quoted_end + 1 + SHOWN + 1 - len(shown))]
    return RaggedRow(row, column + 1, len(header), cut(shown) if len(shown) <= SHOWN
                     else f"{shown[:SHOWN]}… [cut: {length:,} characters in all]",
                     problem=too_long_reason(length),
                     field=header[column] if column < len(header) else "(record)")


def _refuse_open_quote(text: str, first: int, field: str | None, path: Path,
                       row: int) -> None:
    """InputError for a quoted cell (its text from `first`, after the opening quote, in row
    `row`) that the csv module's reading stopped inside, at `MAX_CELL`: where its quote is
    never closed and takes in lines after it, as `_quote_left_open` says; where it is
    closed lines further down, saying how many and what to do with a stray quote (as the
    check of joined rows says, which this record's reading never reaches); where the file
    ends inside it on its own line, so. Its close is found without a copy of the cell.
    Before, each was 'a quoted cell of more than 1,000,000 characters ... goes on over
    lines', though a stray quote 40,000 rows before the file's end had said it is never
    closed, and a stray pair 39,896 lines apart what joined rows it hid."""
    close = _QUOTED_TEXT.match(text, first)
    assert close is not None  # (it matches the empty text)
    stop = close.end()
    if stop >= len(text):  # (the file's own last line end takes in no line after the quote;
        while stop > first and text[stop - 1] in "\r\n":  # before, it was counted as one)
            stop -= 1
    ends = (text.count("\n", first, stop) + text.count("\r", first, stop)
            - text.count("\r\n", first, stop))
    if close.end() >= len(text) and ends:
        raise InputError("a quote opened in this row is never closed: every line after it "
                         "would read as one cell", file=path, row=row, field=field)
    if close.end() >= len(text):
        raise InputError(
            f"a quoted cell of more than {MAX_CELL:,} characters, longer than any real "
            "export's field, is never closed (the file ends inside it) (see "
            "docs/security.md)", file=path, row=row, field=field)
    raise InputError(
        f"a quote opened in this row closes {counted(ends, 'line', spec=',')} further down, "
        f"and the cell it opens holds more than {MAX_CELL:,} characters, longer than any "
        "real export's field: its lines are not read, as rows it would hide in one cell "
        "could not be told. Where the quote is stray (an edit, a '\"' left in a value), "
        "remove it or double it (see docs/security.md)", file=path, row=row, field=field)


_QUOTED_TEXT = re.compile(r'(?:[^"]++|"")*+')
"""The text of a quoted cell after its opening quote, up to its closing one."""


def _leading_blank_length(text: str) -> int:
    """How many characters of `text` the blank lines before its first other line take."""
    at = 0
    while True:
        end = text.find("\n", at)
        if end < 0 or text[at:end].strip():
            return at
        at = end + 1


def _quote_left_open(last: str, sep: str, path: Path, row: int) -> bool:
    """Whether the last record (its text `last`, row `row`) opens a quote that the file ends
    in. InputError where that quote took in the lines after it: the csv module reads to the
    end of the file as one cell, and the rows after the quote would be one quarantined
    record, counted once. (Checked once per file, on the last record's text only.)"""
    if '"' not in last:
        return False
    try:
        for _ in csv.reader(io.StringIO(last, newline=""), delimiter=sep, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc):
            return False
        if "\n" in last.rstrip("\r\n") or "\r" in last.rstrip("\r\n"):
            raise InputError("a quote opened in this row is never closed: every line after "
                             "it would read as one cell", file=path, row=row) from exc
        return True
    return False


_LINE_END = re.compile(r"\r\n|\r|\n")


_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_TIME_LIKE = re.compile(
    r"\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    rf"|\d{{1,2}}[-/. ]?{_MONTH}[-/., ]*\d{{2,4}}"
    rf"|{_MONTH}[-/. ]?\d{{1,2}}(?:st|nd|rd|th)?,?[-/. ]*\d{{2,4}})",
    re.IGNORECASE)
"""The start of a date in the forms the import reads (2026-07-01, 2026/07/01, 01/07/2026,
07-01-2026, 1.7.26, 01-Jul-2026, 1 July 2026, Jul 1, 2026): what a row's time cell holds."""


def _shape(value: str) -> str:
    """`value` with each run of digits written 9 and each of letters a (2026-07-01 10:00 is
    9-9-9 9:9): how the cells of one column of an export look alike."""
    return re.sub(r"[^\W\d_]+", "a", re.sub(r"\d+", "9", value))


def _quoted_spans(record: str, sep: str) -> list[tuple[int, int, int, int, int]] | None:
    """The quoted cells of `record` (a record's text) that span lines, read as the csv
    module does (a quote opens a quoted cell at a cell's start only; '""' in it is a quote,
    and a quote otherwise closes it): for each, its column, the line it opens in and where
    in that line, the line it closes in and where in that line. None where the record ends
    inside a quote."""
    breaks = [found.end() for found in _LINE_END.finditer(record)]

    def line_of(at: int) -> tuple[int, int]:
        line = bisect.bisect_right(breaks, at)
        return line, at - (breaks[line - 1] if line else 0)

    spans = []
    column = at = 0
    tokens = re.compile(f'"|{re.escape(sep)}')
    while (found := tokens.search(record, at)) is not None:
        at = found.start()
        if found.group() == sep:
            column += 1
        elif at == 0 or record[at - 1] in (sep, "\r", "\n"):  # (a cell's start)
            close = record.find('"', at + 1)
            while close >= 0 and record.startswith('"', close + 1):
                close = record.find('"', close + 2)
            if close < 0:
                return None
            (first, opened), (last, closed) = line_of(at), line_of(close)
            if last > first:
                spans.append((column, first, opened, last, closed))
            at = close
        at += 1
    return spans


def _row_like(fields: list[str], width: int, times: dict[int, str | None]) -> bool:
    """Whether `fields` read as a row of the file: `width` cells, and in each column where
    the file's rows before hold a date (`times`), the start of one, of the same look as
    theirs where they all have one (`_shape`: a line of a note, 'Order 1001, 2026-06-30,
    card', has a space before its date where the rows have none)."""
    return len(fields) == width and all(
        _TIME_LIKE.match(fields[at]) and (shape is None or _shape(fields[at]) == shape)
        for at, shape in times.items())


def _refuse_joined_records(text: str, begin: int, end: int, sep: str, header: list[str],
                           before: list[list[str]], path: Path, row: int) -> None:
    """InputError where the record `text[begin:end]` (row `row`) holds a quoted cell
    spanning lines that read as rows of the file: a stray quote (a pair of them, the second
    rows further down) joined those rows into one cell, and the file's records would be
    fewer by as many, without a word (an export with two quotes added hid 490 refund events
    so: read 1,706 records of 2,196; two quotes on adjacent rows made one made-up event of
    two). Each quoted cell spanning lines is checked on its own lines, from the one it
    opens in to the one it closes in (the record may run on past it: a real note of four
    lines in the row the stray quote closes in outvoted the row it hid).

    A line reads as a row where it has the header's width and the start of a date (of the
    look of theirs, where theirs have one look) in each column where each of the rows
    before (`before`, the last 20 read) holds one and, before the quote's column, the
    cell's own first line too (a line of a comment with commas in it has the width by
    chance, not a date in the time column; a note of one row that starts with a date makes
    no time column); where no column does, the width alone. Refused where most of the
    lines between the first and the last are such rows, or where the first line without
    its opening quote and the last without its closing one each are (two rows joined,
    nothing between). A cell of text over several lines (a note, a pasted list) is read."""
    record = text[begin:end].rstrip("\r\n")
    lines = _LINE_END.split(record)  # (not str.splitlines: a U+2028 ends no CSV record)
    if len(lines) < 2:
        return
    spans = _quoted_spans(record, sep)
    if spans is None:  # (a quote the file ends in: `_quote_left_open` says so)
        return
    width = len(header)
    for column, first_line, opened, last_line, closed in spans:
        opening, closing = lines[first_line], lines[last_line]
        # (its column in its line, read as its line: where the line starts in a cell
        # before it, as the line's cells would be read without that cell's quotes)
        local = len(next(csv.reader([opening[:opened] + "x"], delimiter=sep))) - 1
        first = next(csv.reader([opening[:opened] + opening[opened + 1:]], delimiter=sep), [])
        last = next(csv.reader([closing[:closed] + closing[closed + 1:]], delimiter=sep), [])
        # The columns holding a date in each row before and, before the quote's column, in
        # the quote's own line too (its cells there are its row's).
        times = {
            at: (shapes.pop() if len(shapes := {_shape(fields[at]) for fields in before}) == 1
                 else None)
            for at in range(width)
            if all(_TIME_LIKE.match(fields[at]) for fields in before)
            and (at >= local or (at < len(first) and _TIME_LIKE.match(first[at])))
            and (before or at < local)}
        between = lines[first_line + 1:last_line]
        hidden = sum(1 for fields in csv.reader(between, delimiter=sep)
                     if _row_like(fields, width, times))
        if hidden * 2 > len(between) > 0:
            which = f"{hidden:,} of the {len(between):,} lines between"
        elif _row_like(first, width, times) and _row_like(last, width, times):
            which = "the line it opens in and the one it closes in (each without it)"
        else:
            continue
        raise InputError(
            f"a quote opened in this row closes "
            f"{counted(last_line - first_line, 'line', spec=',')} further down, "
            f"and {which} read as rows of this file ({width} columns, a date where its rows "
            "hold one): they would be read as one cell, and the file's rows fewer by as "
            "many. Where the quote is stray (an edit, a '\"' left in a value), remove it or "
            "double it; a value whose lines read as this file's rows is not taken, as it "
            "would hide them",
            file=path, row=row,
            field=header[column] if column < width else None)


def _refuse_surrogates(text: str, path: Path, used: str) -> None:
    """InputError naming the line where the decoded text holds a lone surrogate: what some
    codecs (UTF-7, unicode_escape) decode bad input to, which is no character and cannot be
    written as UTF-8 (the log's text)."""
    found = _SURROGATE.search(text)
    if found is not None:
        line = _rows_after_sep(text.lstrip("\ufeff"), text.count("\n", 0, found.start()) + 1)
        raise InputError(f"decodes as {used} to a lone surrogate (U+{ord(found.group()):04X}), "
                         "which is no character: the file is not text in that encoding "
                         "(pass the right --encoding)", file=path, row=line)


def _utf8_body(data: bytes, encoding: str | None) -> tuple[int, str] | None:
    """Where the UTF-8 text starts and the encoding the csv module path would name, or None if
    the file is not (declared or detected as) UTF-8."""
    bom = data.startswith(codecs.BOM_UTF8)
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            return None
        if name != "utf-8":
            return None
        # A UTF-8 file named as such: its byte order mark, if any, is no part of the text.
        return (len(codecs.BOM_UTF8), "utf-8-sig") if bom else (0, encoding)
    if bom:
        return len(codecs.BOM_UTF8), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
        return None
    return 0, "utf-8"


def _line_layout(
    data: bytes, offset: int, quotes: bool, *, blank_free: bool
) -> tuple[np.ndarray, str, list[str], np.ndarray] | None:
    """The 0-based numbers of the lines that hold records, the header line, and the lines with
    a quote character (their text and numbers); None if one of those lines is not UTF-8, the
    header line is blank or there is no second line.

    Lines end with '\n' or '\r\n' (the caller has checked that no '\r' stands alone).
    `blank_free`: take it that no line is blank (the caller checks that against the number of
    records Arrow finds, as Arrow skips blank lines).
    """
    body = memoryview(data)[offset:]
    first_end = data.find(b"\n", offset)
    if first_end < 0:
        return None
    if blank_free and not quotes:
        # Every line is one record: no need to find where lines start.
        header = bytes(body[: first_end - offset])
        total = data.count(b"\n", offset) + (0 if data.endswith(b"\n") else 1)
        try:
            header_text = header.removesuffix(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not header_text:
            return None
        return np.arange(1, total, dtype=np.int64), header_text, [], np.zeros(0, np.int64)
    raw = np.frombuffer(body, dtype=np.uint8)
    newlines = np.flatnonzero(raw == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(raw)]))
    if starts[-1] == len(raw):  # the final line end closes the last line; no line follows
        starts, ends = starts[:-1], ends[:-1]
    if len(starts) < 2:
        return None
    content = ends - starts
    has_cr = np.zeros(len(ends), dtype=bool)
    closed = ends < len(raw)
    has_cr[closed] = raw[np.maximum(ends[closed] - 1, 0)] == 13
    has_cr &= content > 0
    content = content - has_cr
    is_blank = content == 0
    if is_blank[0]:
        return None

    def line_text(k: int) -> str:
        return bytes(body[starts[k]: starts[k] + content[k]]).decode("utf-8")

    quoted = np.zeros(0, dtype=np.int64)
    if quotes:
        quoted = sorted_distinct(  # the lines of the quotes, in order
            np.searchsorted(starts, np.flatnonzero(raw == 34), side="right") - 1)
    try:
        return (np.flatnonzero(~is_blank[1:]) + 1, line_text(0),
                [line_text(int(k)) for k in quoted], quoted)
    except UnicodeDecodeError:
        return None


def _read_fast(
    path: Path, data: bytes, *, encoding: str | None, delimiter: str | None, strings: Strings,
) -> RawTable | None:
    """The columnar reader; None whenever its result might differ from the csv module's."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    start = _utf8_body(data, encoding)
    if start is None:
        return None
    offset, used = start
    # Line ends: '\n' or '\r\n' only (a lone '\r' ends a line for both readers, but keep the
    # line arithmetic simple).
    if data.find(b"\r") >= 0 and data.count(b"\r") != data.count(b"\r\n"):
        return None
    # An Excel `sep=X` line (no row), then blank lines (rows: `shift`) before the header.
    if data[offset:offset + 4].lower() == b"sep=":
        end = data.find(b"\n", offset)
        try:
            excel = excel_sep_line(bytes(data[offset:len(data) if end < 0 else end + 1])
                                   .decode("utf-8"))
        except (UnicodeDecodeError, InputError):
            return None  # (the csv module path raises the error)
        if excel is None or end < 0:
            return None
        delimiter = delimiter or excel[0]
        offset = end + 1
    shift = 0
    while True:
        end = data.find(b"\n", offset)
        if end < 0 or data[offset:end].strip():
            break
        offset, shift = end + 1, shift + 1
    body = memoryview(data)[offset:]
    if delimiter is None:
        # (the lines the csv module path sniffs, `_first_lines`: before, a file whose first
        # 52 lines took more than `SNIFFED` bytes went to that path, a wide export of 25 KB
        # notes read in twice the time)
        first = _first_byte_lines(data, offset)
        if first is None:
            return None
        delimiter = _sniff(first)
    sep = delimiter
    if len(sep) != 1 or sep in "\r\n\"":
        return None

    quotes = data.find(b'"', offset) >= 0
    lines = _line_layout(data, offset, quotes, blank_free=True)
    if lines is None:
        return None
    data_lines, header_text, quoted_texts, quoted = lines
    # Each line is one record for the csv module iff no line that has a quote leaves a quoted
    # cell open: then parsing those lines alone gives one record per line (and the sentinel
    # line after them stays a record of its own).
    # (a cell over `MAX_CELL` is not read whole here either: the csv module path quarantines
    # it, `_over_long`)
    limit = csv.field_size_limit(MAX_CELL)
    try:
        parsed = list(csv.reader(io.StringIO("\n".join([*quoted_texts, "\x00"]),
                                             newline=""), delimiter=sep))
    except csv.Error:
        return None
    finally:
        csv.field_size_limit(limit)
    if len(parsed) != len(quoted) + 1 or parsed[-1] != ["\x00"]:
        return None
    header = parsed[0] if len(quoted) and quoted[0] == 0 else next(
        csv.reader(io.StringIO(header_text, newline=""), delimiter=sep), [])
    width = len(header)
    if width < 2 or len(data_lines) == 0:
        return None
    names = [h.strip() or f"(unnamed column {i + 1})" for i, h in enumerate(header)]
    if len(set(names)) != len(names):
        return None  # the csv module path raises the error
    keys = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=keys, skip_rows=1, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char='"', double_quote=True,
                                              escape_char=False, newlines_in_values=False,
                                              ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(keys, pa.large_string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False, check_utf8=True))
    except (pa.ArrowException, ValueError):
        return None  # ragged rows, bytes that are not UTF-8, ...
    if table.num_rows != len(data_lines) and not quotes:  # blank lines: find them
        lines = _line_layout(data, offset, quotes, blank_free=False)
        if lines is None:
            return None
        data_lines = lines[0]
    if table.num_rows != len(data_lines) or table.num_rows == 0:
        return None
    if any(_longest(table.column(i)) > MAX_CELL for i in range(width)):
        return None  # (the csv module path quarantines a cell over the bound as it reads it)
    if len(quoted):
        # The lines with quotes must read as the csv module reads them.
        records = quoted >= 1
        positions = np.searchsorted(data_lines, quoted[records])
        if not np.array_equal(data_lines[positions], quoted[records]):
            return None
        picked = table.take(pa.array(positions, type=pa.int64()))
        columns = [picked.column(i).to_pylist() for i in range(width)]
        expected = [p for p, is_record in zip(parsed[:-1], records, strict=True) if is_record]
        for i, record in enumerate(expected):
            if record != [column[i] for column in columns]:
                return None
    frame = _frame(table, names, strings)
    notes = [] if used == "utf-8" else [f"{path.name}: read as {used}"]
    return RawTable(frame=frame, rows=(data_lines + 1 + shift).astype(np.int64), system="csv",
                    file=path, notes=notes, records_read=len(frame),
                    arrow_text=strings == "arrow")


def _longest(column: pa.ChunkedArray) -> int:
    """The most bytes a cell of `column` holds (a character takes one at least)."""
    import pyarrow.compute as pc

    most = pc.max(pc.binary_length(column)).as_py()
    return 0 if most is None else int(most)


def _frame(table: pa.Table, names: list[str], strings: Strings) -> pd.DataFrame:
    columns: dict[str, object] = {}
    for i, name in enumerate(names):
        column = table.column(i)
        if strings == "arrow":
            columns[name] = pd.arrays.ArrowStringArray(column)
        else:
            columns[name] = column.to_numpy()
    frame = pd.DataFrame(columns, columns=names, dtype=None if strings == "arrow" else object)
    return frame
