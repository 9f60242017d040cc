"""Streamed reader for XES event logs (plain or gzip) that refuses DTDs and entity declarations.

Also home of the hardened XML plumbing (`iter_xml_elements`) that the OCEL 2.0 XML reader shares.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections.abc import Iterator, Sequence
from io import BufferedReader, RawIOBase
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lxml import etree

from audit.errors import InputError
from audit.ingest.raw import RawTable

GZIP_MAGIC = b"\x1f\x8b"
GZIP_MOST_RATIO = 200
"""The most a gzip input may decompress to, as a multiple of the compressed bytes read so
far, once past `GZIP_FREE`: real logs compress 20 to 45 times (the shared test data's XES
logs: 08_receipt 19, bpic2012 22, teleclaims 37, helpdesk 43; a log of one event per case,
all alike but their case ids, 61), a gzip bomb about 1,000 times (4 MB of gzip holding
4 GB of spaces)."""
SPARSE_FREE = 20_000_000
"""Cells (rows x attribute keys) a log's table may have before `SPARSE_RATIO` is checked."""
SPARSE_RATIO = 200
"""The most cells of a log's table (rows x attribute keys) per value read, once past
`SPARSE_FREE`: events whose attributes each have a key of their own make a table of
events x keys, nearly all empty (4 MB of XES of 20,000 such events took 6.7 GB and more than
300 s); a real log's events share their keys (a log of 50 activities with 10 attributes of
their own each fills 1 cell in 50)."""
GZIP_FREE = 64 << 20
"""Decompressed bytes read before `GZIP_MOST_RATIO` is checked: a small file's ratio is no
risk, whatever it is."""
_CHUNK = 1 << 20
_MEMORY_STEP = 64 << 20
"""Decompressed bytes read whole between two looks at the memory left (`_BoundedGzip`)."""
# A prolog (XML declaration, comments, processing instructions) this long is not a real log;
# bounding it keeps the DTD scan from buffering an arbitrarily large file.
_PROLOG_LIMIT = 4 << 20
_ROOT_NAME = re.compile(r"[^\s/>]+")

# XES attribute elements whose `value` we keep, by local tag name. `list` and `container` carry
# no value of their own and are skipped with their children.
_STRING, _DATE, _INT, _FLOAT, _BOOL = "string", "date", "int", "float", "boolean"
_LISTS = "list"
_VALUE_KINDS: dict[str, str] = {
    "string": _STRING,
    "id": _STRING,
    "date": _DATE,
    "int": _INT,
    "float": _FLOAT,
    "boolean": _BOOL,
}
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})

ArrayLike = pd.api.extensions.ExtensionArray | np.ndarray[Any, Any]


def source_line(element: etree._Element) -> int | None:
    """The line an element starts on, if lxml knows it."""
    line: Any = element.sourceline  # the stubs type this attribute loosely
    return line if isinstance(line, int) and line > 0 else None


def local_name(tag: str) -> str:
    """The tag without its `{namespace}` part: XES files come with and without xmlns."""
    return tag[tag.rfind("}") + 1 :]


def open_binary(path: Path) -> BufferedReader:
    """Open `path` for reading, transparently decompressing gzip (detected by magic bytes);
    gzip that decompresses to more than `GZIP_MOST_RATIO` times its size is refused as it is
    read (`_BoundedGzip`)."""
    try:
        with path.open("rb") as probe:
            magic = probe.read(2)
        if magic == GZIP_MAGIC:
            return BufferedReader(_BoundedGzip(path), buffer_size=_CHUNK)
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open file: {exc.strerror or exc}", file=path) from exc


class _BoundedGzip(RawIOBase):
    """A gzip file's decompressed bytes, refused (InputError naming the file) once more than
    `GZIP_FREE` of them were read and more than `GZIP_MOST_RATIO` times the compressed bytes
    read so far: a gzip bomb stops within a few hundred megabytes, before a reader holds
    it whole (OCEL JSON is read whole) or streams gigabytes of it (XES)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._file = path.open("rb")
        self._gzip = gzip.GzipFile(fileobj=self._file, mode="rb")
        self._out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._gzip.readinto(buffer)
        self._out += n
        if self._out > GZIP_FREE and self._out > GZIP_MOST_RATIO * self._file.tell():
            raise InputError(
                f"decompresses to more than {GZIP_MOST_RATIO} times its compressed size "
                f"({self._out:,} bytes from the first {self._file.tell():,}; real logs "
                "compress 20 to 45 times): refused as a likely compression bomb; if it is "
                "a real log, decompress it (gunzip) and import the plain file",
                file=self._path)
        return n

    def readall(self) -> bytes:
        """The rest, read `_CHUNK` bytes at a time (RawIOBase's reads 8 KiB at a time), as
        a reader that holds the file whole reads it (OCEL JSON): refused (InputError naming
        the file) once the bytes read, which are joined into one copy of them at the end,
        are more than the memory left (`available_memory`, looked at every
        `_MEMORY_STEP` bytes). The ratio bound lets 50 MB of gzip of a real log's ratio
        hold 2 to 10 GB: before, read whole, then copied, until the memory ran out."""
        parts = []
        buffer = bytearray(_CHUNK)
        held = looked = 0
        while n := self.readinto(buffer):
            parts.append(bytes(memoryview(buffer)[:n]))
            held += n
            if held - looked >= _MEMORY_STEP:
                looked = held
                self._refuse_beyond_memory(held)
        return b"".join(parts)

    def _refuse_beyond_memory(self, held: int) -> None:
        from audit.memory import available_memory, memory_text

        left = available_memory()
        if left is None or held <= left:
            return
        raise InputError(
            f"decompresses to more than the memory available: {held:,} bytes decompressed "
            f"from the first {self._file.tell():,} compressed bytes, held whole and then "
            f"copied once, but {memory_text(left)} is available: refused before it is "
            "held whole; import it where more memory is free", file=self._path)

    def close(self) -> None:
        try:
            self._gzip.close()
            self._file.close()
        finally:
            super().close()


def _prolog_text(data: bytes) -> str:
    """Decode the start of a document well enough to find markup in its prolog."""
    boms = (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00", "utf-16-le"),
        (b"\x00<", "utf-16-be"),
    )
    for bom, codec in boms:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    data = data.removeprefix(b"\xef\xbb\xbf")
    # Markup is ASCII in every other encoding lxml would accept without a BOM, so a byte-wise
    # decode finds it without knowing whether the text is UTF-8 or Latin-1.
    return data.decode("latin-1")


def _scan_prolog(text: str, at_eof: bool) -> tuple[str, str, int] | None:
    """Classify what follows the prolog: ("root", name, line), ("dtd", "", line) or ("junk", ...).

    Returns None when more text is needed to decide.
    """
    pos = 1 if text.startswith("\ufeff") else 0
    end = len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        # Wait for enough text to tell "<!--" from "<!DOCTYPE" and to read the root name.
        if not at_eof and end - pos < 64:
            return None
        if text.startswith("<?", pos) or text.startswith("<!--", pos):
            closing = "?>" if text[pos + 1] == "?" else "-->"
            close = text.find(closing, pos + 2)
            if close < 0:
                return None if not at_eof else ("junk", "", _line_at(text, pos))
            pos = close + len(closing)
        elif text.startswith("<!", pos):
            return ("dtd", "", _line_at(text, pos))
        elif text.startswith("<", pos):
            match = _ROOT_NAME.match(text, pos + 1)
            return ("root", match.group(0) if match else "", _line_at(text, pos))
        else:
            return ("junk", "", _line_at(text, pos))


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _xml_error(path: Path, exc: etree.XMLSyntaxError) -> InputError:
    line: int | None = exc.position[0] if exc.position and exc.position[0] > 0 else None
    detail = str(exc.msg or exc)
    if line is None:
        # With entity resolution off, libxml2 reports an undefined entity only in its error
        # log and then fails with a line-less "no element found"; the log has the real cause.
        entries: Any = exc.error_log
        for entry in entries:
            if entry.line > 0:
                line, detail = int(entry.line), str(entry.message)
                break
    detail, what = _libxml_detail(detail)
    if line is None:
        return InputError(f"{what} (line unknown): {detail}", file=path)
    return InputError(f"{what}: {detail}", file=path, line=line)


_POSITION = re.compile(r",?\s*line (\d+), column (\d+)\s*$")


def _libxml_detail(detail: str) -> tuple[str, str]:
    """libxml2's message made one line, and what it tells: its ', line L, column C' suffix
    (the error names the line) becomes '(column C)'; a limit against hostile input (nesting
    deeper than 256, a text or value longer than 10,000,000 characters) is said as such,
    not as libxml2's advice to 'try XML_PARSE_HUGE', an option of the library no user can
    set. Returned: (detail, what: 'malformed XML' or the limit's heading)."""
    detail = " ".join(detail.split())
    column = ""
    found = _POSITION.search(detail)
    if found is not None:
        detail, column = detail[:found.start()].rstrip(" ,"), f" (column {found.group(2)})"
    if "XML_PARSE_HUGE" not in detail and "Huge input lookup" not in detail:
        return detail + column, "malformed XML"
    if "depth" in detail.lower():
        told = "elements nested more than 256 elements deep"
    else:
        told = "a text or value longer than 10,000,000 characters"
    return told + column, "beyond the XML reader's limits against hostile input"


def iter_xml_elements(
    path: Path, *, tags: Sequence[str], root: str, label: str
) -> Iterator[etree._Element]:
    """Yield each element named in `tags` once it is complete, streaming the file.

    Before lxml sees a byte, the prolog is checked: a DOCTYPE (and so any entity declaration,
    which can only live inside one) is refused, since libxml2 expands internal entities in
    attribute values even with entity resolution off. The root element must be `root`.
    Callers may clear and detach yielded elements to keep memory flat.
    """
    # libxml2's error log is per thread and outlives a parse: clear it so that a line-less
    # error is never explained by an earlier file's entry.
    etree.clear_error_log()
    parser = etree.XMLPullParser(
        events=("end",),
        tag=list(tags),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=True,
        remove_blank_text=True,
        remove_pis=True,
    )
    with open_binary(path) as stream:
        pending = b""
        checked = False
        at_eof = False
        try:
            while not at_eof:
                chunk = stream.read(_CHUNK)
                at_eof = not chunk
                if not checked:
                    pending += chunk
                    verdict = _scan_prolog(_prolog_text(pending), at_eof)
                    if verdict is None:
                        if len(pending) > _PROLOG_LIMIT:
                            raise InputError(
                                f"no root element in the first {_PROLOG_LIMIT} bytes",
                                file=path,
                            )
                        continue
                    _check_encoding(path, _prolog_text(pending), label=label)
                    _check_prolog(path, verdict, root=root, label=label)
                    checked = True
                    chunk, pending = pending, b""
                if chunk:
                    parser.feed(chunk)
                    yield from _completed(parser)
            parser.close()
            yield from _completed(parser)
        except etree.XMLSyntaxError as exc:
            raise _xml_error(path, exc) from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"cannot read compressed data: {exc}", file=path) from exc


def _completed(parser: etree.XMLPullParser) -> Iterator[etree._Element]:
    for _event, element in parser.read_events():
        # Only "end" events were asked for, and those always carry an element.
        if isinstance(element, etree._Element):
            yield element


_DECLARED_ENCODING = re.compile(r"""\ufeff?<\?xml\s[^>]*?\bencoding\s*=\s*(["'])(.*?)\1""")
_ASCII_BASED = ("utf-8", "ascii", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
                "utf-32-be", *(f"cp{n}" for n in range(1250, 1259)),
                *(f"iso8859-{n}" for n in range(1, 17)))
"""The encodings (Python's names) an XML file may declare: those in which the prolog's
markup reads as `_prolog_text` reads it (ASCII as itself, or UTF-16/32 told by their
first bytes), so that the check for a DTD sees what libxml2 will parse."""


def _check_encoding(path: Path, text: str, *, label: str) -> None:
    """Refuse a declared encoding other than `_ASCII_BASED`: in UTF-7, say, `+AC0ALQA+-`
    reads as `-->` to libxml2, which would end a comment the check for a DTD still reads
    as open, and a DOCTYPE after it (its entities expanded) would pass unseen."""
    declared = _DECLARED_ENCODING.match(text)
    if declared is None:
        return
    name = declared.group(2).strip()
    try:
        known = codecs.lookup(name).name
    except LookupError:
        known = ""
    if known not in _ASCII_BASED:
        raise InputError(f"{label} files must be UTF-8, UTF-16, UTF-32, ASCII, ISO-8859 or "
                         f"windows-125x: the XML declaration names encoding '{name}'",
                         file=path, line=1)


def _check_prolog(path: Path, verdict: tuple[str, str, int], *, root: str, label: str) -> None:
    kind, name, line = verdict
    if kind == "dtd":
        raise InputError(
            f"{label} files must not contain a DTD or entity declarations", file=path, line=line
        )
    if kind == "junk":
        raise InputError(
            "malformed XML: no root element where one was expected",
            file=path,
            line=line,
        )
    if name.rpartition(":")[2] != root:
        raise InputError(
            f"not an {label} file: the root element is <{name}>, expected <{root}>",
            file=path,
            line=line,
        )


def _trace_over_event(trace: list[Any], take: np.ndarray[Any, Any],
                      own: list[Any]) -> tuple[list[Any], int]:
    """The trace's value per event (`take`: each event's trace), else the event's own
    attribute of the same `case:` name; and how many events hold one that differs from their
    trace's."""
    from_trace = np.empty(len(trace), dtype=object)
    from_trace[:] = trace
    from_trace = from_trace[take]
    from_event = np.empty(len(own), dtype=object)
    from_event[:] = own
    has_trace = pd.notna(from_trace)
    both = has_trace & pd.notna(from_event)
    differ = int(np.count_nonzero(np.not_equal(from_trace[both], from_event[both])))
    merged: list[Any] = np.where(has_trace, from_trace, from_event).tolist()
    return merged, differ


_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
"""The range of an XES int (xs:long)."""


def _convert(kind: str, raw: str) -> Any:
    """Python value of one typed XES attribute; raises ValueError when `raw` does not fit."""
    if kind == _INT:  # xs:long: digits with an optional sign, in 64 bits
        value = int(raw)
        if "_" in raw or not _LONG_MIN <= value <= _LONG_MAX:
            raise ValueError(raw)
        return value
    if kind == _FLOAT:
        if "_" in raw:  # (Python's float reads 1_0.5; xs:double does not)
            raise ValueError(raw)
        return float(raw)
    if kind == _BOOL:
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(raw)
    return raw


_EXACT = 2**53
"""Integers below this magnitude are exact as a float64; from it on, only some are (and a
float of it may be the rounding of one above it)."""


def typed_array(values: list[Any], kinds: set[str]) -> tuple[ArrayLike, str]:
    """One column as the dtype its XES types call for, and ""; or, where no one type holds
    its values (no Parquet column could: a text beside a number, a boolean beside a number,
    an integer beyond 64 bits or one that a float would round), their text (`value_text`)
    and why, for a note. A boolean is no number here: True and 1 are two kinds of value."""
    if not kinds or kinds <= {_STRING, _DATE}:
        return pd.array(values, dtype="str"), ""
    if kinds == {_INT}:
        try:
            return pd.array(values, dtype="Int64"), ""
        except (OverflowError, TypeError, ValueError):  # an OCEL JSON integer beyond 64 bits
            return _texts(values), "integers beyond 64 bits"
    if kinds <= {_INT, _FLOAT}:
        try:
            floats = np.array(values, dtype=np.float64)  # (None: NaN, counted below)
        except OverflowError:  # (an OCEL JSON integer beyond a float's range)
            return _texts(values), _INEXACT
        # Only an integer beyond 2^53 may be no float; those (rare) are looked at one by one.
        with np.errstate(invalid="ignore"):
            large = np.abs(floats) >= _EXACT
        if large.any() and any(type(v) is int and float(v) != v
                               for v in np.asarray(values, dtype=object)[large]):
            return _texts(values), _INEXACT
        return _not_a_number_kept(floats, values), ""
    if kinds == {_BOOL}:
        return pd.array(values, dtype="boolean"), ""
    if len(kinds) == 1:  # (OCEL JSON objects or lists, SQLite blobs: as they are)
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out, ""
    return _texts(values), f"values of several types ({', '.join(sorted(kinds))})"


_INEXACT = "integers and decimals, some integers beyond what a decimal (float64) holds exactly"


def _not_a_number_kept(floats: np.ndarray[Any, Any], values: list[Any]) -> ArrayLike:
    """`floats`; where the file wrote NaN (not a missing value), a Float64 array whose NaN
    stays apart from its missing values (<NA>), so that an amount of NaN is quarantined as
    not a number rather than taken as not recorded (`normalise._typed_amounts`)."""
    nans = int(np.count_nonzero(np.isnan(floats)))
    if nans == 0 or nans == values.count(None):  # (the common case: no NaN written)
        return floats
    missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    return pd.arrays.FloatingArray(np.where(missing, 0.0, floats), missing)


def value_text(value: Any) -> str | None:
    """A typed value as text: text and dates as written, integers in decimal, floats as
    Python's shortest repr that reads back as the same float, booleans as true/false (as XES
    and JSON write them), JSON objects and lists as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _texts(values: list[Any]) -> ArrayLike:
    return pd.array([value_text(v) for v in values], dtype="str")


def typed_column(file: Path, name: str, values: list[Any], kinds: set[str],
                 notes: list[str]) -> ArrayLike:
    """`typed_array`, with a note naming the column where its values were kept as text."""
    array, why = typed_array(values, kinds)
    if why:
        notes.append(f"{file.name}: column '{name}' holds {why}: kept as text")
    return array


def too_sparse(keys: int, rows: int, values: int) -> bool:
    """Whether a table of `rows` x `keys` cells from `values` values read would pass
    `SPARSE_FREE` cells with more than `SPARSE_RATIO` of them a value (see `SPARSE_RATIO`)."""
    cells = keys * rows
    return cells > SPARSE_FREE and cells > SPARSE_RATIO * values


def refuse_sparse(path: Path, keys: int, rows: int, values: int, *, key: str,
                  line: int | None = None, record: int | None = None) -> None:
    """InputError where a table of `rows` x `keys` cells holding `values` values would pass
    `SPARSE_FREE` cells with fewer than one in `SPARSE_RATIO` filled (see `SPARSE_RATIO`),
    naming `key`, the key that made it so, and where it came (`line` or `record`)."""
    if not too_sparse(keys, rows, values):
        return
    cells = keys * rows
    raise InputError(
        f"{keys:,} attribute keys over {rows:,} rows with {values:,} values: a table of "
        f"{cells:,} cells, fewer than 1 in {SPARSE_RATIO} filled (events whose attributes "
        "each have a key of their own, which would take gigabytes of empty cells): refused",
        file=path, line=line, record=record, field=key)


class _Columns:
    """Column-wise store: one padded list per key, so the frame is built once at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: dict[str, list[Any]] = {}
        self.first_kind: dict[str, str] = {}
        self.more_kinds: dict[str, set[str]] = {}
        self.kind_of_tag: dict[str, str] = {}
        self.skipped: dict[str, int] = {}
        """Per key of a `list` or `container` attribute: how many were left out."""
        self.repeated: dict[str, int] = {}
        """Per key given twice in one element: how many times the later value replaced one."""
        self.taken = 0
        """Values stored (for `refuse_sparse`)."""
        self.first_line: dict[str, int | None] = {}
        """Per key: the line of its first use (for `refuse_sparse`'s error)."""

    def take(self, element: etree._Element, row: int) -> None:
        """Store the typed attribute children of `element` as row `row`.

        This runs once per event of logs with millions of them, hence the local aliases.
        """
        values = self.values
        first_kind = self.first_kind
        kind_of_tag = self.kind_of_tag
        for child in element:
            tag = child.tag
            kind = kind_of_tag.get(tag)
            if kind is None:
                # `list`/`container` carry no value of their own (_LISTS), and a trace's
                # <event> children were handled when they ended ("").
                local = local_name(tag)
                kind = kind_of_tag[tag] = _VALUE_KINDS.get(local, _LISTS if local in (
                    "list", "container") else "")
            if not kind:
                continue
            if kind is _LISTS:  # left out, and counted for the import's note
                listed = str(child.get("key"))
                self.skipped[listed] = self.skipped.get(listed, 0) + 1
                continue
            key = child.get("key")
            raw = child.get("value")
            if key is None or raw is None:
                raise self._error(child, "key" if key is None else "value", key)
            value: Any = raw
            if kind is not _STRING and kind is not _DATE:
                try:
                    value = _convert(kind, raw)
                except ValueError:
                    raise self._error(child, "", key) from None
            self.taken += 1
            column = values.get(key)
            if column is None:
                line = self.first_line[key] = source_line(child)
                refuse_sparse(self.path, len(values) + 1, row + 1, self.taken, key=key,
                              line=line)
                column = values[key] = [None] * row
                first_kind[key] = kind
            elif first_kind[key] is not kind:
                self.more_kinds.setdefault(key, set()).add(kind)
            gap = row - len(column)
            if gap == 0:
                column.append(value)
            elif gap > 0:
                column.extend([None] * gap)
                column.append(value)
            else:
                # A key repeated within one element: the later value wins (as pm4py reads
                # it), counted for the import's note.
                column[row] = value
                self.repeated[key] = self.repeated.get(key, 0) + 1

    def _error(self, child: etree._Element, missing: str, key: str | None) -> InputError:
        local = local_name(child.tag)
        line = source_line(child)
        if missing:
            message = f"<{local}> attribute without a '{missing}'"
        else:
            message = f"not a valid XES {local} value: {child.get('value')!r}"
        return InputError(message, file=self.path, line=line, field=key)

    def padded(self, length: int) -> dict[str, tuple[list[Any], set[str]]]:
        """Each key's values, `length` of them, and the XES types they were given in."""
        # (keys that came early, rows without them after: `refuse_sparse`)
        if self.values and too_sparse(len(self.values), length, self.taken):
            key = self.sparsest()
            refuse_sparse(self.path, len(self.values), length, self.taken, key=key,
                          line=self.first_line[key])
        out: dict[str, tuple[list[Any], set[str]]] = {}
        for key, column in self.values.items():
            if len(column) < length:
                column.extend([None] * (length - len(column)))
            out[key] = column, {self.first_kind[key], *self.more_kinds.get(key, ())}
        return out

    def filled(self) -> dict[str, int]:
        """Per key, the values it holds (where a refused table is explained: a pass over
        each column)."""
        return {key: len(column) - column.count(None) for key, column in self.values.items()}

    def sparsest(self) -> str:
        """The key that adds most empty cells to the table: the one holding fewest values
        (every key adds a cell a row); of those, the latest to come (a log's usual keys come
        first)."""
        filled = self.filled()
        fewest = min(filled.values())
        return [key for key, count in filled.items() if count == fewest][-1]


def read_xes(path: Path) -> RawTable:
    """Read an XES (or gzip-compressed XES) file: one row per event, trace attributes `case:`."""
    events = _Columns(path)
    traces = _Columns(path)
    event_trace: list[int] = []
    n_traces = 0
    empty_traces = 0
    current_trace: etree._Element | None = None
    is_event: dict[str, bool] = {}

    for element in iter_xml_elements(path, tags=("{*}event", "{*}trace"), root="log", label="XES"):
        tag = element.tag
        event = is_event.get(tag)
        if event is None:
            event = is_event[tag] = local_name(tag) == "event"
        parent = element.getparent()
        if event:
            if parent is not current_trace:
                _check_trace(path, element, parent)
                current_trace = parent
            events.take(element, len(event_trace))
            event_trace.append(n_traces)
            element.clear()
            # Finished events are detached so a trace with millions of them stays small.
            previous = element.getprevious()
            while previous is not None and previous.tag == tag and parent is not None:
                parent.remove(previous)
                previous = element.getprevious()
            continue

        # A <trace>: its events were handled as they ended; what is left are its own
        # attributes, which may sit before or after the events.
        if parent is None or parent is not element.getroottree().getroot():
            line = source_line(element)
            raise InputError(
                "not an XES log: <trace> not directly inside <log>",
                file=path,
                line=line,
            )
        if not event_trace or event_trace[-1] != n_traces:
            empty_traces += 1
        traces.take(element, n_traces)
        n_traces += 1
        current_trace = None
        element.clear()
        while element.getprevious() is not None:
            del parent[0]

    n_events = len(event_trace)
    notes: list[str] = []
    own = events.padded(n_events)
    of_traces = traces.padded(n_traces) if n_traces else {}
    # An event attribute named like its trace's `case:` column: the two are merged below.
    merged = {f"case:{key}" for key in of_traces} & own.keys()
    _refuse_copied_traces(path, events, traces, n_events, len(own), len(of_traces) - len(merged))
    columns = {key: typed_column(path, key, values, kinds, notes)
               for key, (values, kinds) in own.items() if key not in merged}
    take = np.asarray(event_trace, dtype=np.intp)
    for key, (values, kinds) in of_traces.items():
        name = f"case:{key}"
        if name not in merged:
            columns[name] = typed_column(path, name, values, kinds, notes).take(take)
            continue
        own_values, own_kinds = own[name]
        # Typed once merged: the event's own values may be of another type than the trace's.
        values, replaced = _trace_over_event(values, take, own_values)
        columns[name] = typed_column(path, name, values, kinds | own_kinds, notes)
        if replaced:
            whose = ("event's", "its") if replaced == 1 else ("events'", "their")
            notes.append(f"{replaced} {whose[0]} own '{name}' "
                         f"differs from {whose[1]} trace's "
                         f"'{key}', which is taken")
    order = [*own, *(f"case:{key}" for key in of_traces if f"case:{key}" not in merged)]
    columns = {name: columns[name] for name in order}  # (the events' own columns first)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n_events))
    if empty_traces:
        noun = "trace" if empty_traces == 1 else "traces"
        notes.append(f"{empty_traces} {noun} without events")
    notes.extend(_left_out_notes(path, events, traces))
    return RawTable(
        frame=frame,
        rows=np.arange(1, n_events + 1, dtype=np.int64),
        system="xes",
        file=path,
        notes=notes,
    )


def _refuse_copied_traces(path: Path, events: _Columns, traces: _Columns, n_events: int,
                          own_keys: int, trace_keys: int) -> None:
    """InputError where the events' table, each trace's attributes copied onto each of its
    events, would pass `SPARSE_FREE` cells with more than `SPARSE_RATIO` of them for a
    value read (`refuse_sparse` bounds the events' own keys and the traces' table; the
    copies are not bounded by those: one trace of 4,000 keys and 40,000 events, 2.3 MB of
    XES, made 160 million cells, 1.7 GB). Names the trace key that adds most cells for the
    values it was read with (`sparsest`; an event key where the events' own keys are
    already past `SPARSE_RATIO`, under `SPARSE_FREE`) and the line of its first use."""
    keys = own_keys + trace_keys
    values = events.taken + traces.taken
    if not trace_keys or not too_sparse(keys, n_events, values):
        return
    columns = traces if own_keys * n_events <= SPARSE_RATIO * events.taken else events
    key = columns.sparsest()
    raise InputError(
        f"{keys:,} attribute keys ({trace_keys:,} of them the traces', each copied "
        f"onto every event of its trace) over {n_events:,} events with {values:,} values "
        f"read: a table of {keys * n_events:,} cells, more than {SPARSE_RATIO} for each value "
        "read (which would take gigabytes): refused",
        file=path, line=columns.first_line[key], field=key)


def _left_out_notes(path: Path, events: _Columns, traces: _Columns) -> list[str]:
    """The import's notes on what the reader did not take as it stands: `list` and
    `container` attributes (no value of their own: left out), and a key given twice in one
    event or trace (the later value taken, as pm4py takes it)."""
    notes = []
    for where, columns in (("event", events), ("trace", traces)):
        if columns.skipped:
            keys = ", ".join(f"'{k}' ({n:,})" for k, n in sorted(columns.skipped.items())[:5])
            more = len(columns.skipped) - 5
            notes.append(f"{path.name}: {sum(columns.skipped.values()):,} {where} list or "
                         f"container attribute(s) left out (no value of their own): {keys}"
                         + (f" and {more} more key(s)" if more > 0 else ""))
        if columns.repeated:
            keys = ", ".join(f"'{k}' ({n:,})" for k, n in sorted(columns.repeated.items())[:5])
            notes.append(f"{path.name}: a key given twice in one {where} "
                         f"({sum(columns.repeated.values()):,} time(s)): the later value is "
                         f"taken: {keys}")
    return notes


def _check_trace(path: Path, event: etree._Element, parent: etree._Element | None) -> None:
    """An <event> must sit in a <trace> directly under the root <log>."""
    root = event.getroottree().getroot()
    if parent is None or local_name(parent.tag) != "trace" or parent.getparent() is not root:
        line = source_line(event)
        raise InputError(
            "not an XES log: <event> outside a <trace>", file=path, line=line
        )
