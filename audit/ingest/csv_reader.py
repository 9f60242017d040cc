"""Generic CSV reader: detects encoding (UTF-8, UTF-8 with BOM, GBK/GB18030, ...) and delimiter.

Rows with the wrong number of fields are not dropped: they come back as problems for the
quarantine, numbered as a spreadsheet numbers them (header = row 1).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from audit.errors import InputError
from audit.ingest.raw import RawTable

_DELIMITERS = ",;\t|"
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True)
class RaggedRow:
    row: int
    found: int
    expected: int
    text: str


def _undecodable(
    data: bytes, exc: UnicodeDecodeError, *, file: Path, what: str, hint: str = ""
) -> InputError:
    """The error for bytes that `what` cannot decode, naming the line of the first bad byte."""
    line = data[: exc.start].count(b"\n") + 1
    return InputError(f"cannot be decoded as {what} (byte {exc.start}){hint}", file=file, row=line)


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


def decode(data: bytes, *, file: Path, encoding: str | None) -> tuple[str, str]:
    """Decode bytes; return (text, encoding used). Raises InputError naming the offending line."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise InputError(f"unknown encoding '{encoding}'", file=file) from exc
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc, file=file, what=encoding) from exc
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            exc.start += len(codecs.BOM_UTF8)
            raise _undecodable(data, exc, file=file, what="UTF-8",
                               hint=" although the file starts with a UTF-8 BOM") from exc
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
        guessed = "gb18030"
    if guessed is None:
        raise _undecodable(
            data, not_utf8, file=file, what="UTF-8",
            hint=" and its encoding cannot be told; pass --encoding (e.g. gbk, latin-1)",
        ) from None
    # GBK text is a subset of GB18030; reading it as GB18030 never loses a character.
    if guessed.lower() in ("gbk", "gb2312"):
        guessed = "gb18030"
    return data.decode(guessed), guessed


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = text.split("\n", 1)[0]
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def read_csv(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> tuple[RawTable, list[RaggedRow]]:
    """Read a CSV file as text cells; every cell stays a string ('' where empty)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=path) from exc
    if not data.strip():
        raise InputError("the file is empty", file=path)
    text, used = decode(data, file=path, encoding=encoding)
    sep = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise InputError("the file is empty", file=path) from exc
    except csv.Error as exc:
        raise InputError(f"unreadable header: {exc}", file=path, row=1) from exc
    header = [h.strip() or f"(unnamed column {i + 1})" for i, h in enumerate(header)]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(f"column '{name}' appears twice in the header", file=path, row=1,
                             field=name)
        seen.add(name)
    width = len(header)
    records: list[list[str]] = []
    rows: list[int] = []
    ragged: list[RaggedRow] = []
    row = 1
    try:
        for record in reader:
            row += 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line is no record, but spreadsheets show it as a row
            if len(record) != width:
                ragged.append(RaggedRow(row, len(record), width, sep.join(record)))
                continue
            records.append(record)
            rows.append(row)
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=path, row=row + 1) from exc
    frame = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(
        {h: pd.Series(dtype=object) for h in header})
    notes = [] if used == "utf-8" else [f"{path.name}: read as {used}"]
    table = RawTable(frame=frame, rows=np.asarray(rows, dtype=np.int64), system="csv", file=path,
                     notes=notes, records_read=len(records) + len(ragged))
    return table, ragged
