"""Reader for OCEL 2.0 logs (JSON, XML, SQLite), flattened to cases of one chosen object type.

Each (event, related object of that type) becomes one row; the object id is the case.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import zlib
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from lxml import etree

from audit.errors import InputError
from audit.ingest.jsontext import (
    line_of_value,
    loads,
    may_hold,
    refuse_lone_surrogates,
    undecodable_at,
)
from audit.ingest.mapping import check_time_zone
from audit.ingest.raw import RawTable
from audit.ingest.timestamps import local_time_reason
from audit.ingest.xes import (
    ArrayLike,
    iter_xml_elements,
    local_name,
    open_binary,
    refuse_sparse,
    source_line,
    typed_column,
)
from audit.memory import available_memory, memory_text
from audit.safety import shown_on_one_line
from audit.words import counted

CASE = "case:concept:name"
ACTIVITY = "concept:name"
TIMESTAMP = "time:timestamp"
EVENT_ID = "ocel:eid"
QUALIFIER = "ocel:qualifier"
VIA = "ocel:o2o"
"""Of an event brought into a case by --follow-o2o: the object it relates to and the
object-to-object relation tying that object to the case's (`'O1' (Refund -> Order 'refund
of')`); absent where no event came so."""
_RESERVED = (CASE, ACTIVITY, TIMESTAMP, EVENT_ID, QUALIFIER)

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_TABLES = ("event", "object", "event_object", "event_map_type", "object_map_type")
_SQLITE_META = frozenset({"ocel_id", "ocel_time", "ocel_changed_field", "ocel_type"})
_SUFFIXES = {
    ".jsonocel": "json",
    ".json": "json",
    ".xmlocel": "xml",
    ".xml": "xml",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
}


@dataclass
class _Event:
    eid: str
    activity: str
    time: str
    attributes: list[tuple[str, Any]]
    relations: list[tuple[str, str | None]]
    line: int | None = None
    """The line its element starts on (XML); JSON's is found where an error needs it."""


@dataclass
class _Log:
    """What the flattening needs from any encoding, with attribute values still as stored."""

    object_type: dict[str, str] = field(default_factory=dict)
    """Object id -> object type, for every object of the file."""
    object_keys: dict[str, str] = field(default_factory=dict)
    """Object id without surrounding white space -> the id as written (ids given twice)."""
    history: dict[str, list[tuple[str, str | None, Any]]] = field(default_factory=dict)
    """Object id -> (attribute, time, value) in file order; only objects of the chosen type."""
    events: list[_Event] = field(default_factory=list)
    event_attr_types: dict[str, dict[str, str]] = field(default_factory=dict)
    """Event type -> attribute -> declared OCEL type ("string", "integer", "time", ...)."""
    object_attr_types: dict[str, dict[str, str]] = field(default_factory=dict)
    o2o: list[tuple[str, str, str | None]] = field(default_factory=list)
    """Object-to-object relations: (source id, target id, qualifier) in file order."""


def read_ocel(path: Path, object_type: str | None, *, assume_tz: str | None = None,
              follow: Sequence[str] = ()) -> RawTable:
    """Read an OCEL 2.0 file and flatten it to one case per object of `object_type`. An
    object's attribute values are taken as of each event's time: times without a zone are
    read in `assume_tz` (--assume-tz), and without it compared as they are, which is refused
    where they meet times with a zone. An event relating to no object of the type but to an
    object of a type in `follow` (--follow-o2o) that an object-to-object relation, either
    way, ties to objects of the type is an event of each of their cases (one hop)."""
    encoding = _encoding(path)
    if encoding == "json":
        log = _read_json(path, object_type)
    elif encoding == "xml":
        log = _read_xml(path, object_type)
    else:
        log = _read_sqlite(path, object_type)
    try:
        return _flatten(path, log, object_type, assume_tz, tuple(follow))
    except InputError as exc:  # (naming the n-th event: a record, and its line)
        if exc.record is None or not 0 < exc.record <= len(log.events):
            raise
        if encoding == "sqlite":  # (a row of its event table, a table's row)
            raise InputError(exc.message, file=exc.file, field=exc.field,
                             row=exc.record) from exc.__cause__
        line = (_json_line(path, ["events", exc.record - 1]) if encoding == "json"
                else log.events[exc.record - 1].line)
        raise exc.at_line(line) from exc.__cause__


def _encoding(path: Path) -> str:
    """JSON, XML or SQLite: by the file's first bytes, else by its name."""
    try:
        with open_binary(path) as stream:
            head = stream.read(64)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read file: {exc}", file=path) from exc
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[")):
        return "json"
    if text.startswith(b"<"):
        return "xml"
    name = path.name.lower().removesuffix(".gz")
    for suffix, encoding in _SUFFIXES.items():
        if name.endswith(suffix):
            return encoding
    raise InputError(
        "not an OCEL 2.0 file: expected JSON (.jsonocel), XML (.xmlocel) or SQLite (.sqlite)",
        file=path,
    )


# --- JSON -------------------------------------------------------------------------------------


JSON_CONTAINER_BYTES = 56
"""The least memory an object or array of a JSON text takes once decoded (Python's empty
list: 56 bytes; an empty dict: 64), not counting the pointer its holder keeps to it."""


def _refuse_json_beyond_memory(path: Path, text: str) -> None:
    """InputError where the objects and arrays of `text` (its `{` and `[`, counted without
    parsing: those within strings too, an overcount) would take more than the memory left
    (`available_memory`) once decoded, at `JSON_CONTAINER_BYTES` each: two or three bytes
    of JSON (`{},`) decode to about 70 bytes of Python, and a .jsonocel.gz of 5.4 MB
    (74 times compressed, under the gzip bound's 200) held 400 MB of JSON that would have
    taken about 10 GB (before: a MemoryError traceback, or the system's out-of-memory
    killer). A real OCEL log holds an object or array every 30 bytes or more (an event
    with its relationships): its decoding took 12 times its text."""
    left = available_memory()
    if left is None:
        return
    containers = text.count("{") + text.count("[")
    if containers * JSON_CONTAINER_BYTES <= left:
        return
    # (Counted again outside strings: a valid log of 250 objects whose notes were long
    # runs of '{', 36 MB, was refused as "36,000,763 objects and arrays" needing 1.9 GiB;
    # it holds 763 and imports at a max RSS of 205 MiB.)
    containers = _containers_outside_strings(text)
    need = containers * JSON_CONTAINER_BYTES
    if need <= left:
        return
    raise InputError(
        f"its {len(text):,} characters of JSON hold {containers:,} objects and arrays, "
        f"whose reading needs at least {memory_text(need)} of memory more "
        f"({JSON_CONTAINER_BYTES} bytes each at the least), but {memory_text(left)} is "
        "available: refused before they are decoded (a few MB of gzip can hold hundreds of "
        "MB of JSON; see docs/security.md); import it where more memory is free",
        file=path)


_BRACED_STRING = re.compile(
    r'(?:[^"]++|"[^"\\{\[]*+(?:\\.[^"\\{\[]*+)*+")*+'
    r'(?:("[^"\\]*+(?:\\.[^"\\]*+)*+")|"|\Z)', re.DOTALL)
"""What lies before the next JSON string that holds a `{` or `[` (text outside strings, and
strings holding neither, quotes and escapes honoured: a `\\"` within a string does not end
it), then that string (group 1); or a quote that opens no string (one no quote closes: the
text ends within it, so is no JSON), or the end. Its quantifiers are possessive (no
backtracking within a match), but a match that meets a quote opening no string has
scanned to the text's end: matched again from every position after it (as `finditer`
does), text of many such quotes took time quadratic in its length (`\\"` 600 times before
2,000,000 `{`, 2 KB of gzip: 15 s; 3,000 times, 47 s or more), so
`_containers_outside_strings` stops there."""


def _containers_outside_strings(text: str) -> int:
    """The `{` and `[` of `text` that are not within a string: its objects and arrays,
    where it is valid JSON. Its strings are found by the regular expression (each from its
    opening quote, the first quote past the string before), not copied, those holding a
    `{` or `[` only handed to Python: 60 MB of `["a"],` took 0.5 s (5 s handing every
    string to Python), `["{"],` as long about 5 s. Each match starts where the string
    before ended, and the count stops at a quote that opens no string: JSON cannot go on
    past a string no quote closes, and the `{` and `[` after it are counted, the safe
    side (before, the search was taken up again after each such quote, each time to the
    text's end: quadratic). Asked only where the count of every `{` and `[` says
    refuse."""
    containers = text.count("{") + text.count("[")
    count, match = text.count, _BRACED_STRING.match
    at, end = 0, len(text)
    while at < end:
        found = match(text, at)  # (it always matches: a quote alone, or the end)
        if found is None or found.start(1) < 0:  # the end, or a quote opening no string
            break
        start, stop = found.span(1)
        containers -= count("{", start, stop) + count("[", start, stop)
        at = stop
    return containers


def _read_json(path: Path, chosen: str | None) -> _Log:
    data = b""
    try:
        with open_binary(path) as stream:
            data = stream.read()
        # Decoded strictly (json.loads of bytes would let encoded surrogates through).
        text = data.decode(json.detect_encoding(data))
        data = b""
        _refuse_json_beyond_memory(path, text)
        document = loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON: {exc.msg} (column {exc.colno})", file=path, line=exc.lineno
        ) from exc
    except UnicodeDecodeError as exc:
        if json.detect_encoding(data).startswith("utf-8"):  # (named by line and byte)
            line, where = undecodable_at(data, exc)
            raise InputError(f"not UTF-8 JSON text: {where}", file=path, line=line) from exc
        raise InputError(f"not UTF-8 JSON text: {exc.reason}", file=path) from exc
    except RecursionError as exc:
        raise InputError("malformed JSON: nested too deeply", file=path) from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read compressed data: {exc}", file=path) from exc
    if not isinstance(document, dict):
        raise InputError("not an OCEL 2.0 JSON log: the top level is not an object", file=path)
    if may_hold(text):
        refuse_lone_surrogates([(None, "", document)], file=path)
    del text
    if "ocel:events" in document:
        raise InputError("this is an OCEL 1.0 JSON log; only OCEL 2.0 is supported", file=path)

    log = _Log()
    for key, into in (("eventTypes", log.event_attr_types), ("objectTypes", log.object_attr_types)):
        for number, declared in enumerate(_json_list(path, document, key, required=False), 1):
            what = f"{key}[{number}]"
            name = _json_text(path, declared, "name", what)
            into[name] = {
                _json_text(path, attribute, "name", what): str(attribute.get("type", ""))
                for attribute in _json_list(path, declared, "attributes", required=False, at=what)
            }

    for number, obj in enumerate(_json_list(path, document, "objects"), 1):
        what = f"object {number}"
        oid = _json_text(path, obj, "id", what)
        otype = _json_text(path, obj, "type", f"object '{oid}'")
        _add_object(path, log, oid, otype)
        for related in _json_list(path, obj, "relationships", required=False,
                                  at=f"object '{oid}'"):
            target = _json_text(path, related, "objectId", f"object '{oid}'")
            qualifier = related.get("qualifier")
            log.o2o.append((oid, target, None if qualifier is None else _json_text(
                path, related, "qualifier", f"object '{oid}'")))
        if otype != chosen:
            continue
        history = log.history.setdefault(oid, [])
        for attribute in _json_list(path, obj, "attributes", required=False, at=f"object '{oid}'"):
            name = _json_text(path, attribute, "name", f"object '{oid}'")
            time = attribute.get("time")
            history.append((name, None if time is None else str(time), attribute.get("value")))

    for number, event in enumerate(_json_list(path, document, "events"), 1):
        try:
            log.events.append(_json_event(path, event, number))
        except InputError as exc:  # (the n-th event: a record, and its line)
            raise exc.at_line(_json_line(path, ["events", number - 1])) from exc.__cause__
    return log


def _json_event(path: Path, event: dict[str, Any], number: int) -> _Event:
    what = f"event {number}"
    eid = _json_text(path, event, "id", what, record=number)
    what = f"event '{eid}'"
    activity = _json_text(path, event, "type", what, record=number)
    time = _json_text(path, event, "time", what, record=number)
    attributes = [
        (_json_text(path, a, "name", what, record=number), a.get("value"))
        for a in _json_list(path, event, "attributes", required=False, at=what, record=number)
    ]
    relations = [
        (_json_text(path, r, "objectId", what, record=number),
         None if r.get("qualifier") is None
         else _json_text(path, r, "qualifier", what, record=number))
        for r in _json_list(path, event, "relationships", required=False, at=what,
                            record=number)
    ]
    return _Event(eid, activity, time, attributes, relations)


def _json_line(path: Path, steps: list[str | int]) -> int | None:
    """The line of the value at `steps` in the JSON file (read again: for an error only);
    None where it cannot be read again, the error then told without its line: a gzip file's
    second read, through the memory bound while the decoded log holds memory, could be
    refused, and its InputError of memory was told instead of the record's error."""
    try:
        with open_binary(path) as stream:
            data = stream.read()
        return line_of_value(data.decode(json.detect_encoding(data)), steps)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, InputError, MemoryError):
        return None


def _add_object(path: Path, log: _Log, oid: str, otype: str) -> None:
    """Record object `oid`'s type; an id given to two objects is refused (OCEL 2.0 ids are
    unique: the second object's relations and attribute values would be taken as the
    first's)."""
    key = oid.strip()  # (case ids are read stripped: " o1" and "o1" would be one case)
    if key in log.object_keys:
        other = log.object_keys[key]
        raise InputError(f"object id '{oid}' is given to two objects (of types "
                         f"'{log.object_type[other]}' and '{otype}')", file=path, field="id")
    log.object_keys[key] = oid
    log.object_type[oid] = otype


def _json_list(
    path: Path,
    container: dict[str, Any],
    key: str,
    *,
    required: bool = True,
    at: str = "the top level",
    record: int | None = None,
) -> list[dict[str, Any]]:
    """`container[key]` as a list of JSON objects; absent optional lists are empty."""
    value = container.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        problem = "missing" if value is None else "not a list"
        raise InputError(
            f"not an OCEL 2.0 JSON log: '{key}' of {at} is {problem}", file=path,
            record=record)
    for item in value:
        if not isinstance(item, dict):
            raise InputError(
                f"not an OCEL 2.0 JSON log: an entry of '{key}' of {at} is not an object",
                file=path,
                record=record,
            )
    return value


def _json_text(
    path: Path, container: dict[str, Any], key: str, what: str, record: int | None = None
) -> str:
    value = container.get(key)
    # Numbers are accepted as ids because some exporters write numeric ids unquoted; a whole
    # float as its integer (an object 1000.0 is the object a relation to 1000 names).
    if isinstance(value, str) or type(value) is int:
        return str(value)
    if type(value) is float:
        return str(int(value)) if value.is_integer() and abs(value) < 2.0 ** 53 else repr(value)
    problem = "missing" if value is None else "not text"
    raise InputError(f"{what}: '{key}' is {problem}", file=path, record=record, field=key)


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


# --- XML --------------------------------------------------------------------------------------


def _read_xml(path: Path, chosen: str | None) -> _Log:
    log = _Log()
    tags = ("{*}object-type", "{*}event-type", "{*}object", "{*}event")
    for element in iter_xml_elements(path, tags=tags, root="log", label="OCEL XML"):
        kind = local_name(element.tag)
        if kind == "object":
            _xml_object(path, element, log, chosen)
        elif kind == "event":
            _xml_event(path, element, log)
        else:
            name = _xml_required(path, element, "name")
            into = log.event_attr_types if kind == "event-type" else log.object_attr_types
            into[name] = {
                _xml_required(path, attribute, "name"): attribute.get("type", "")
                for attribute in _xml_children(element, "attributes")
            }
        # The caller holds everything it needs from the element; detaching it (and finished
        # siblings) keeps memory flat on large logs.
        element.clear()
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]
    return log


def _xml_children(element: etree._Element, group: str) -> Iterator[etree._Element]:
    """The grandchildren of `element` under its <group> children, e.g. attributes/attribute."""
    for child in element:
        if local_name(child.tag) == group:
            yield from child


def _xml_required(path: Path, element: etree._Element, name: str) -> str:
    value = element.get(name)
    if value is None:
        line = source_line(element)
        raise InputError(
            f"<{local_name(element.tag)}> without '{name}'",
            file=path,
            line=line,
            field=name,
        )
    return value


def _xml_object(path: Path, element: etree._Element, log: _Log, chosen: str | None) -> None:
    oid = _xml_required(path, element, "id")
    otype = _xml_required(path, element, "type")
    _add_object(path, log, oid, otype)
    for related in _xml_children(element, "objects"):
        log.o2o.append((oid, _xml_required(path, related, "object-id"),
                        related.get("qualifier")))
    if otype != chosen:
        return
    history = log.history.setdefault(oid, [])
    for attribute in _xml_children(element, "attributes"):
        name = _xml_required(path, attribute, "name")
        history.append((name, attribute.get("time"), attribute.text or ""))


def _xml_event(path: Path, element: etree._Element, log: _Log) -> None:
    attributes = [
        (_xml_required(path, attribute, "name"), attribute.text or "")
        for attribute in _xml_children(element, "attributes")
    ]
    relations = [
        (_xml_required(path, relation, "object-id"), relation.get("qualifier"))
        for relation in _xml_children(element, "objects")
    ]
    log.events.append(
        _Event(
            _xml_required(path, element, "id"),
            _xml_required(path, element, "type"),
            _xml_required(path, element, "time"),
            attributes,
            relations,
            source_line(element),
        )
    )


# --- SQLite -----------------------------------------------------------------------------------


def _read_sqlite(path: Path, chosen: str | None) -> _Log:
    try:
        with path.open("rb") as probe:
            if probe.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                raise InputError("not a SQLite database", file=path)
        _refuse_journal_beside(path)
        # immutable: SQLite reads the file alone, as its digest was taken (no write-ahead
        # log or journal beside it is read, no lock or -shm file is made beside it).
        uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            # The file is untrusted: its schema must not get to run functions with side effects.
            connection.execute("PRAGMA trusted_schema = OFF")
            return _sqlite_log(path, connection, chosen)
    except sqlite3.Error as exc:
        raise InputError(f"cannot read the SQLite database: {exc}", file=path) from exc
    except UnicodeDecodeError as exc:  # (sqlite3's own message quoting a damaged schema)
        raise InputError("cannot read the SQLite database: text in it is not UTF-8: "
                         f"{exc.object[:80]!r}", file=path) from exc
    except OSError as exc:
        raise InputError(f"cannot open file: {exc.strerror or exc}", file=path) from exc


_JOURNALS = ("-wal", "-journal")
"""The files SQLite keeps beside a database while it is written: a write-ahead log holds
committed changes the database file does not (yet); a hot rollback journal the pages a
change never finished overwrote, the database file holding that change half-written."""

_HOT_JOURNAL = bytes.fromhex("d9d505f920a163d7")
"""How a rollback journal that SQLite would play back starts (its header's magic): one
left by `journal_mode=PERSIST` after its change was committed has its header zeroed."""


def _regular_start(journal: Path) -> tuple[int, bytes] | None:
    """The size and first bytes of `journal` where it is a regular file that is not empty;
    None else (missing, unreadable, a FIFO, a device, a directory), the name checked
    before it is opened, and opened without waiting (O_NONBLOCK) and asked again (fstat).
    Before, the journal was opened as it was named: a FIFO named `log.sqlite-journal` beside
    the database hung the import, waiting for a writer."""
    try:
        named = journal.stat()
    except OSError:
        return None
    if not stat.S_ISREG(named.st_mode) or not named.st_size:
        return None
    try:
        descriptor = os.open(journal, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        opened = os.fstat(descriptor)
        if not stat.S_ISREG(opened.st_mode):
            return None
        return opened.st_size, os.read(descriptor, len(_HOT_JOURNAL))
    except OSError:
        return None
    finally:
        os.close(descriptor)


def _refuse_journal_beside(path: Path) -> None:
    """InputError where a write-ahead log that is not empty, or a rollback journal that
    SQLite would play back (`_HOT_JOURNAL`), lies beside the database or beside the file a
    link to it names: the file the import reads (immutable: the file alone) and digests is
    then not the database SQLite holds (committed changes sit in the log, or the file holds
    a change half-written). Before, a `log.sqlite-wal` beside a `log.sqlite` deleting an
    event was read (8 events of 9, the file's bytes and sha256 those of the log with 9), and
    opening a database in WAL mode made a `-shm` and a `-wal` file beside the input; then a
    journal left by `journal_mode=PERSIST` (its header zeroed, the file complete) was
    refused, and a `-wal` beside the file a symbolic link names was not looked for."""
    places = dict.fromkeys([path, path.resolve()])
    for place in places:
        for suffix in _JOURNALS:
            journal = place.with_name(place.name + suffix)
            found = _regular_start(journal)
            if found is None:
                continue
            size, start = found
            if not size or (suffix == "-journal" and start != _HOT_JOURNAL):
                continue
            kind, holds = (("write-ahead log", "which holds committed changes the database "
                            "file does not") if suffix == "-wal" else
                           ("rollback journal", "of a change never finished, which the "
                            "database file holds half-written"))
            shown = journal.name if place == path else str(journal)
            raise InputError(
                f"a SQLite {kind} lies beside it ({shown}, {size:,} bytes), {holds}: the "
                "file the import reads alone and digests is not the database SQLite holds: "
                "export the database anew, or import a copy of both after opening the copy "
                "with SQLite, which writes the log into the file or plays the journal back "
                "(sqlite3 COPY.sqlite 'PRAGMA wal_checkpoint(TRUNCATE)')", file=path)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(connection: sqlite3.Connection, table: str, columns: str = "*") -> sqlite3.Cursor:
    """All rows of `table` in insertion order (the file's order), where the table has one."""
    # Table names come from the database's own catalogue and are quoted, never from the user.
    sql = f"SELECT {columns} FROM {_quoted(table)}"  # noqa: S608
    try:
        return connection.execute(sql + " ORDER BY rowid")
    except sqlite3.OperationalError:
        # A WITHOUT ROWID table has no insertion order to offer.
        return connection.execute(sql)


def _sqlite_log(path: Path, connection: sqlite3.Connection, chosen: str | None) -> _Log:
    tables = {
        str(name)
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    missing = [t for t in _SQLITE_TABLES if t not in tables]
    if missing:
        raise InputError(
            f"not an OCEL 2.0 SQLite log: missing table(s) {', '.join(missing)}", file=path
        )
    _refuse_computed_columns(path, connection, _SQLITE_TABLES)
    event_tables = _type_tables(connection, "event_map_type", "event_", tables)
    object_tables = _type_tables(connection, "object_map_type", "object_", tables)
    _refuse_computed_columns(path, connection, [
        *sorted(set(event_tables.values()) | set(object_tables.values())),
        *(["object_object"] if "object_object" in tables else [])])

    log = _Log()
    for oid, otype in _select(connection, "object", "ocel_id, ocel_type"):
        _add_object(path, log, str(oid), str(otype))
    if chosen is not None and chosen in object_tables:
        _sqlite_objects(connection, object_tables[chosen], log)
    if "object_object" in tables:  # (the standard's table of object-to-object relations)
        for source, target, qualifier in _select(
                connection, "object_object", "ocel_source_id, ocel_target_id, ocel_qualifier"):
            log.o2o.append((str(source), str(target), _optional_text(qualifier)))

    relations: dict[str, list[tuple[str, str | None]]] = {}
    for eid, oid, qualifier in _select(
        connection, "event_object", "ocel_event_id, ocel_object_id, ocel_qualifier"
    ):
        relations.setdefault(str(eid), []).append((str(oid), _optional_text(qualifier)))

    per_type: dict[str, dict[str, tuple[str | None, list[tuple[str, Any]]]]] = {}
    for number, (eid, activity) in enumerate(_select(connection, "event", "ocel_id, ocel_type"), 1):
        eid, activity = str(eid), str(activity)
        if activity not in per_type:
            if activity not in event_tables:
                raise InputError(
                    f"event '{eid}' has type '{activity}', which has no event_<type> table",
                    file=path,
                    row=number,
                )
            per_type[activity] = _sqlite_events(connection, event_tables[activity])
        time, attributes = per_type[activity].get(eid, (None, []))
        if time is None:
            raise InputError(
                f"event '{eid}' has no time in table {event_tables[activity]}",
                file=path,
                row=number,
                field=TIMESTAMP,
            )
        log.events.append(_Event(eid, activity, time, attributes, relations.get(eid, [])))
    return log


def _refuse_computed_columns(
    path: Path, connection: sqlite3.Connection, tables: Sequence[str]
) -> None:
    """Refuse a table to be read that has a virtual generated column (`GENERATED ALWAYS AS
    (...) VIRTUAL`): SQLite computes it as each row is read, so a few bytes of schema can make
    gigabytes (`printf('%.*c', 200000000, 'x')`: 200 MB a row; a 32 KB file of 40 events
    took more than 5.6 GB). No OCEL 2.0 log holds one; a stored generated column is stored
    data, read as any other."""
    for table in tables:
        # (table_xinfo's `hidden`: 2 a virtual generated column, 3 a stored one)
        for row in connection.execute(f"PRAGMA table_xinfo({_quoted(table)})"):
            if row[6] == 2:
                raise InputError(
                    f"table {table}: column {row[1]} is computed as it is read (a virtual "
                    "generated column), which no OCEL 2.0 log holds and which can make "
                    "gigabytes of a few bytes: refused", file=path)


def _type_tables(
    connection: sqlite3.Connection, map_table: str, prefix: str, tables: set[str]
) -> dict[str, str]:
    """OCEL type -> the per-type table holding its attributes, for tables that exist."""
    out: dict[str, str] = {}
    for ocel_type, suffix in _select(connection, map_table, "ocel_type, ocel_type_map"):
        table = f"{prefix}{suffix}"
        if table in tables:
            out[str(ocel_type)] = table
    return out


def _sqlite_objects(connection: sqlite3.Connection, table: str, log: _Log) -> None:
    cursor = _select(connection, table)
    names = [d[0] for d in cursor.description]
    attributes = [n for n in names if n not in _SQLITE_META]
    for row in cursor:
        record = dict(zip(names, row, strict=True))
        time = record.get("ocel_time")
        changed = record.get("ocel_changed_field")
        # A change row carries only the field it changes; the initial row carries them all.
        fields = [changed] if changed in attributes else attributes
        history = log.history.setdefault(str(record.get("ocel_id")), [])
        for name in fields:
            if record[name] is not None:
                history.append((name, None if time is None else str(time), record[name]))


def _sqlite_events(
    connection: sqlite3.Connection, table: str
) -> dict[str, tuple[str | None, list[tuple[str, Any]]]]:
    cursor = _select(connection, table)
    names = [d[0] for d in cursor.description]
    out: dict[str, tuple[str | None, list[tuple[str, Any]]]] = {}
    for row in cursor:
        record = dict(zip(names, row, strict=True))
        time = record.get("ocel_time")
        attributes = [(n, v) for n, v in record.items() if n not in _SQLITE_META and v is not None]
        out[str(record.get("ocel_id"))] = (None if time is None else str(time), attributes)
    return out


# --- flattening -------------------------------------------------------------------------------


def _choose(path: Path, log: _Log, object_type: str | None) -> str:
    counts = Counter(log.object_type.values())
    if object_type is not None and counts.get(object_type):
        return object_type
    names = sorted(counts)
    listed = [f"{name} ({counts[name]})" for name in names]
    if listed:
        noun = "object" if counts[names[0]] == 1 else "objects"
        listed[0] = f"{names[0]} ({counts[names[0]]} {noun})"
    choices = ", ".join(listed) if listed else "none (the file has no objects)"
    lead = "" if object_type is None else f"no objects of type '{object_type}' in this file; "
    raise InputError(f"{lead}choose --object-type: {choices}", file=path)


@dataclass
class _Clock:
    """Reads the instants attribute values are picked by: a time without a zone in `zone`
    (--assume-tz); without one, as if in UTC, counting the times of each kind it read, so
    that a comparison across the kinds is refused (`mixed`)."""

    zone: tzinfo | None = None
    naive: int = 0
    aware: int = 0
    first_naive: tuple[str, str, int | None, str] | None = None
    """Of the first time read without a zone: its text, where it is (`where`), the event's
    number (a record) where an event's time, and its field (`time:timestamp`, an object's
    attribute)."""
    first_aware: tuple[str, str, int | None, str] | None = None

    def instant(self, text: str | None, where: str = "", record: int | None = None,
                field: str = TIMESTAMP) -> datetime | None:
        """A comparable instant; None when the text is not ISO 8601. `where` (and `record`,
        an event's number) say whose time it is, for the error of `mixed`."""
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            return None
        if moment.tzinfo is not None:
            self.aware += 1
            if self.first_aware is None:
                self.first_aware = (text, where, record, field)
            return moment
        if self.zone is not None:
            return moment.replace(tzinfo=self.zone).astimezone(UTC)
        self.naive += 1
        if self.first_naive is None:
            self.first_naive = (text, where, record, field)
        return moment.replace(tzinfo=UTC)

    def mixed_error(self, path: Path) -> InputError:
        """The error of times without a zone beside times with one (`mixed`), naming the
        first of each: which time, whose (an event, by its number and so its line; an
        object's attribute), so that the analyst finds them (before, the file alone)."""
        naive, aware = self.first_naive, self.first_aware
        assert naive is not None and aware is not None
        return InputError(
            f"times have no time zone beside times with one: {naive[0]!r} ({naive[1]}) "
            f"beside {aware[0]!r} ({aware[1]}) (an object's attribute values are picked by "
            "each event's time, so each would be an hour or more off the other); say which "
            "zone the times without one are in with --assume-tz", file=path,
            record=naive[2], field=naive[3])

    def change(self, text: str | None, where: str = "", field: str = TIMESTAMP
               ) -> datetime | str:
        """The instant of an object attribute's change at `text` (`instant`), or why it has
        none: no time, no ISO 8601 time, or a local time that `zone` skips or has twice (a
        DST change), which is never placed by a guess (before, the first of the two
        readings was taken, silently, as the event times' reader refuses to)."""
        moment = self.instant(text, where, field=field)
        if moment is None:
            return "no time" if text is None else f"{text!r} is no ISO 8601 time"
        if self.zone is not None and text is not None:
            local = datetime.fromisoformat(text.strip())
            if local.tzinfo is None:
                first = local.replace(tzinfo=self.zone, fold=0)
                second = local.replace(tzinfo=self.zone, fold=1)
                if first.utcoffset() != second.utcoffset():
                    # A time that exists reads back as itself from UTC; a skipped one not.
                    skipped = first.astimezone(UTC).astimezone(self.zone).replace(
                        tzinfo=None) != local
                    return local_time_reason(str(local), str(self.zone), skipped=skipped)
        return moment

    def mixed(self) -> bool:
        return self.zone is None and self.naive > 0 and self.aware > 0


class _History:
    """One object's attribute values over time, answering "what was it at instant t"."""

    def __init__(self, changes: list[tuple[str, str | None, Any]], clock: _Clock, *,
                 path: Path, oid: str) -> None:
        """InputError (naming the file, the object and the attribute) where a value of an
        attribute with several has a time that cannot be placed (`_Clock.change`): which
        value an event sees would be a guess. (Before, such an attribute's history was
        dropped and its first value given to every event, silently.)"""
        self.first: dict[str, Any] = {}
        self.timeline: dict[str, tuple[list[datetime], list[Any]] | None] = {}
        grouped: dict[str, list[tuple[str | None, Any]]] = {}
        for name, time, value in changes:
            grouped.setdefault(name, []).append((time, value))
        for name, values in grouped.items():
            # (A lone value is never compared: its time is not read.)
            if len(values) == 1:
                self.timeline[name] = None
                self.first[name] = values[0][1]
                continue
            known: list[datetime] = []
            for time, value in values:
                moment = clock.change(time, f"object '{oid}', attribute '{name}'", name)
                if isinstance(moment, str):
                    raise InputError(
                        f"object '{oid}': attribute '{name}' changes to {value!r} at a time "
                        f"that cannot be placed ({moment}), so its value at each event's "
                        "time cannot be told", file=path, field=name)
                known.append(moment)
            order = sorted(range(len(values)), key=known.__getitem__)
            self.timeline[name] = ([known[k] for k in order], [values[k][1] for k in order])
            self.first[name] = values[order[0]][1]

    def at(self, moment: datetime | None) -> Iterator[tuple[str, Any]]:
        for name, first in self.first.items():
            line = self.timeline[name]
            if moment is None or line is None:
                yield name, first
                continue
            position = bisect_right(line[0], moment)
            # Before the first recorded value the attribute had none yet; the earliest value
            # is the best available description of the object.
            yield name, line[1][position - 1] if position else first


def _coerce(value: Any, declared: str | None) -> Any:
    """A stored value as its declared OCEL type; raises ValueError when it does not fit."""
    if value is None or not declared:
        return value
    declared = declared.lower()
    if declared in ("integer", "int"):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value.strip()) if isinstance(value, str) else int(value)
    if declared in ("float", "double"):
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if declared == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(value)
    # "string" and "time" (whose text a later stage parses) are kept as text; another JSON
    # value as JSON writes it (true, {"a": 1}: not Python's True, {'a': 1}).
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, bool | list | dict) \
        else str(value)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, list):  # (a JSON list: no column holds lists beside objects)
        return "list"
    return "object"


class _Table:
    """Rows collected column-wise so the frame is built once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: dict[str, list[Any]] = {name: [] for name in _RESERVED}
        self.length = 0
        self.taken = 0
        """Values added (for `refuse_sparse`)."""

    def add(self, cells: Iterable[tuple[str, Any]], record: int) -> None:
        for name, value in cells:
            self.taken += 1
            column = self.columns.get(name)
            if column is None:
                refuse_sparse(self.path, len(self.columns) + 1, self.length + 1, self.taken,
                              key=name, record=record)
                column = self.columns[name] = [None] * self.length
            column.append(value)
        self.length += 1
        for column in self.columns.values():
            if len(column) < self.length:
                column.append(None)

    def frame(self, file: Path, notes: list[str]) -> pd.DataFrame:
        """The columns, each of one type (see `typed_column`: a note where one is kept as
        text, its values being of several types)."""
        arrays: dict[str, ArrayLike] = {}
        # Event attributes first, then the object's `case:` attributes, each in first-seen order.
        names = sorted(self.columns, key=lambda n: n not in _RESERVED and n.startswith("case:"))
        for name in names:
            values = self.columns[name]
            kinds = {_kind(v) for v in values if v is not None}
            arrays[name] = typed_column(file, name, values, kinds, notes)
        return pd.DataFrame(arrays, index=pd.RangeIndex(self.length))


def _ties(log: _Log, chosen: str) -> dict[str, list[tuple[str, str]]]:
    """Each object that an object-to-object relation, either way, ties to objects of the
    chosen type -> those objects, with the relation as told (`Refund -> Order 'refund of'`),
    in file order, each object once (the first relation naming it)."""
    ties: dict[str, dict[str, str]] = {}
    for source, target, qualifier in log.o2o:
        types = log.object_type.get(source), log.object_type.get(target)
        if None in types or (types[0] == chosen) == (types[1] == chosen):
            continue  # (an undefined object; neither or both ends of the chosen type)
        # (Text of the file, written into notes and a column: a line break or an escape in a
        # type or qualifier is shown, never a console line of its own.)
        told = (f"{shown_on_one_line(str(types[0]))} -> {shown_on_one_line(str(types[1]))}"
                + ("" if qualifier is None else f" {qualifier!r}"))
        other, case = (target, source) if types[0] == chosen else (source, target)
        ties.setdefault(other, {}).setdefault(case, told)
    return {other: list(cases.items()) for other, cases in ties.items()}


def _follow_types(path: Path, log: _Log, chosen: str, follow: tuple[str, ...]) -> set[str]:
    """The types of --follow-o2o, each of which the file must have (and not be the chosen
    one: its events are the cases' own)."""
    counts = Counter(log.object_type.values())
    for name in follow:
        if name == chosen:
            raise InputError(f"--follow-o2o {name}: the type of the cases (--object-type); "
                             "name the types of objects related to them", file=path)
        if not counts.get(name):
            listed = ", ".join(f"{n} ({counts[n]})" for n in sorted(counts) if n != chosen)
            raise InputError(f"--follow-o2o: no objects of type '{name}' in this file; "
                             f"its other types: {listed or 'none'}", file=path)
    return set(follow)


def _option_value(text: str) -> str:
    """`text` as a shell word (quoted where it holds anything but letters, digits, `-_.`)."""
    plain = text and all(c.isalnum() or c in "-_." for c in text)
    return text if plain else "'" + text.replace("'", "'\\''") + "'"


def _flatten(path: Path, log: _Log, object_type: str | None,
             assume_tz: str | None = None, follow: tuple[str, ...] = ()) -> RawTable:
    chosen = _choose(path, log, object_type)
    followed = _follow_types(path, log, chosen, follow)
    ties = _ties(log, chosen)
    came = Counter[str]()  # (events brought in by a relation, per relation as told)
    came_events = 0
    came_rows = 0
    reachable = Counter[str]()  # (events outside that a type's relation would bring in)
    reachable_events = 0
    reached_two = 0
    reached_most = 0
    first_reached_two = ""
    clock = _Clock(None if assume_tz is None else ZoneInfo(check_time_zone(assume_tz)))
    object_types = log.object_attr_types.get(chosen, {})
    histories: dict[str, _History] = {}
    for oid, changes in log.history.items():
        coerced = []
        for name, time, value in changes:
            try:
                coerced.append((name, time, _coerce(value, object_types.get(name))))
            except (ValueError, TypeError):
                raise InputError(
                    f"object '{oid}': value {value!r} is not of the declared type "
                    f"'{object_types.get(name)}'",
                    file=path,
                    field=name,
                ) from None
        histories[oid] = _History(coerced, clock, path=path, oid=oid)

    table = _Table(path)
    rows: list[int] = []
    outside = 0
    dangling = 0
    first_dangling = ""  # (the first event relating to an object the file does not define)
    shadowed: set[str] = set()
    shadowed_objects: set[str] = set()
    first_number: dict[str, int] = {}
    shared = 0  # (events relating to several objects of the chosen type: a row in each case)
    shared_most = 0
    first_shared = ""
    for number, event in enumerate(log.events, 1):
        # OCEL 2.0 event ids are unique; two events under one id would be one event to the
        # rules (and to a waiver naming it), each of them half the truth.
        earlier = first_number.setdefault(event.eid.strip(), number)  # (read stripped)
        if earlier != number:
            raise InputError(f"event id '{event.eid}' is given to two events (events "
                             f"{earlier} and {number} of the file)", file=path, record=number,
                             field="id")
        related: dict[str, list[str]] = {}
        for oid, qualifier in event.relations:
            otype = log.object_type.get(oid)
            if otype is None:
                dangling += 1
                if not first_dangling:
                    first_dangling = f"event {event.eid!r} (row {number}) relates to {oid!r}"
            elif otype == chosen:
                # One row per (event, object): several qualifiers for the pair are joined.
                qualifiers = related.setdefault(oid, [])
                if qualifier is not None and qualifier not in qualifiers:
                    qualifiers.append(qualifier)
        via: dict[str, list[str]] = {}  # (case -> the tied objects the event came by)
        if not related:
            reach: set[str] = set()
            could: set[str] = set()
            for oid, qualifier in event.relations:
                otype = log.object_type.get(oid)
                for case, told in ties.get(oid, ()):
                    if otype in followed:
                        qualifiers = related.setdefault(case, [])
                        if qualifier is not None and qualifier not in qualifiers:
                            qualifiers.append(qualifier)
                        if f"{oid!r} ({told})" not in via.setdefault(case, []):
                            via[case].append(f"{oid!r} ({told})")
                        reach.add(told)
                    elif otype is not None:
                        could.add(otype)
            if not related:
                outside += 1
                reachable.update(could)
                reachable_events += bool(could)
                continue
            came_events += 1
            came_rows += len(related)
            came.update(reach)
            if len(related) > 1:
                reached_two += 1
                reached_most = max(reached_most, len(related))
                if not first_reached_two:
                    cases = ", ".join(repr(case) for case in list(related)[:3])
                    more = f" and {len(related) - 3} more" if len(related) > 3 else ""
                    tied = dict.fromkeys(oid for oid, _ in event.relations
                                         if log.object_type.get(oid) in followed
                                         and oid in ties)
                    first_reached_two = (f"event {event.eid!r} (row {number}), through "
                                         f"{', '.join(repr(oid) for oid in tied)} to "
                                         f"{cases}{more}")
        elif len(related) > 1:
            shared += 1
            shared_most = max(shared_most, len(related))
            if not first_shared:
                objects = ", ".join(repr(oid) for oid in list(related)[:3])
                more = f" and {len(related) - 3} more" if len(related) > 3 else ""
                first_shared = f"event {event.eid!r} (row {number}), objects {objects}{more}"
        declared = log.event_attr_types.get(event.activity, {})
        attributes: dict[str, Any] = {}
        for name, value in event.attributes:
            if name in _RESERVED:
                shadowed.add(name)
                continue
            try:
                coerced = _coerce(value, declared.get(name))
            except (ValueError, TypeError):
                raise InputError(
                    f"event '{event.eid}': value {value!r} is not of the declared type "
                    f"'{declared.get(name)}'",
                    file=path,
                    record=number,
                    field=name,
                ) from None
            if name in attributes and attributes[name] != coerced:
                raise InputError(
                    f"event '{event.eid}': attribute '{name}' is given twice, as "
                    f"{attributes[name]!r} and {coerced!r}", file=path, record=number,
                    field=name)
            attributes[name] = coerced
        moment = clock.instant(event.time, f"event '{event.eid}'", number)
        for oid, qualifiers in related.items():
            cells: dict[str, Any] = {
                CASE: oid,
                ACTIVITY: event.activity,
                TIMESTAMP: event.time,
                EVENT_ID: event.eid,
                QUALIFIER: "; ".join(qualifiers) if qualifiers else None,
            }
            cells.update(attributes)
            if oid in via:  # (an event of the case through a related object: which one)
                if VIA in attributes:
                    shadowed.add(VIA)
                cells[VIA] = "; ".join(via[oid])
            history = histories.get(oid)
            if history is not None:
                # The object's attributes are its case's (`case:<name>`): over an event
                # attribute of that name; never over a flattening column.
                for name, value in history.at(moment):
                    column = f"case:{name}"
                    if column in _RESERVED:
                        shadowed_objects.add(name)
                    else:
                        if column in attributes:
                            shadowed.add(column)
                        cells[column] = value
            table.add(cells.items(), number)
            rows.append(number)

    if clock.mixed():  # (each would be an hour or more off the other, silently)
        raise clock.mixed_error(path)
    through = "" if not followed else (
        f", directly or through a related {' or '.join(repr(t) for t in sorted(followed))} "
        "object")
    # (none where every event is part of the cases: "0 of 2192 events relate to no ..." was
    # told, a count of nothing; the counts with thousands separators, as the other notes)
    notes = [
        f"{outside:,} of {len(log.events):,} events relate to no {chosen!r} object{through}"
        f"{',' if through else ''} and are not part of these cases"
    ] if outside else []
    if reachable:
        # (Not followed unless asked: which relations mean "part of the refund" is the
        # analyst's call, and the cases stay pm4py's flattening by default.)
        types = sorted(reachable, key=lambda t: (-reachable[t], t))
        listed = ", ".join(f"{t!r} {reachable[t]:,}" for t in types)
        flags = " ".join(f"--follow-o2o {_option_value(t)}" for t in types)
        notes.append(
            f"of these, {counted(reachable_events, 'event', spec=',')} "
            f"{'relates' if reachable_events == 1 else 'relate'} to objects that an "
            f"object-to-object relation ties to {chosen!r} objects (by their type: {listed}); "
            f"{flags} would make them events of those cases")
    if came_events:
        relations = ", ".join(f"{told} ({counted(came[told], 'event', spec=',')})"
                              for told in sorted(came))
        kinds = " or ".join(repr(t) for t in sorted(followed))
        notes.append(
            f"{counted(came_events, 'event', spec=',')} relating to no {chosen!r} object but "
            f"to {kinds} objects that an object-to-object relation ties to {chosen!r} objects "
            f"{'is an event' if came_events == 1 else 'are events'} of their cases "
            f"(--follow-o2o, one hop; column {VIA} names the object and the relation): "
            f"{counted(came_rows, 'row', spec=',')}, by {relations}")
        if reached_two:
            how_many = "two" if reached_most == 2 else f"several (up to {reached_most:,})"
            notes.append(
                f"{counted(reached_two, 'event', spec=',')} brought in so "
                f"{'reaches' if reached_two == 1 else 'reach'} {how_many} {chosen!r} "
                f"cases (an object tied to several: which one it belongs to the log does "
                f"not say) and {'is' if reached_two == 1 else 'are each'} an event of each, "
                f"every attribute copied, an amount too (a charge so copied is one capture, "
                f"never added up across the cases; a payout so copied is paid in each) (the "
                f"first: {first_reached_two})")
    if shared:
        # (Each copy states the event's attributes, its amount among them: a payout of two
        # refunds in one event pays each case the whole amount, and the rules judge it so.)
        how_many = "two" if shared_most == 2 else f"several (up to {shared_most:,})"
        notes.append(
            f"{counted(shared, 'event', spec=',')} {'relates' if shared == 1 else 'relate'} "
            f"to {how_many} "
            f"{chosen!r} objects and {'is' if shared == 1 else 'are each'} an event of each "
            f"of their cases, every attribute copied (an amount too: counted in each case): "
            f"{len(rows) - came_rows:,} rows from {len(log.events) - outside - came_events:,} "
            f"events{' (those brought in by --follow-o2o not counted)' if came_events else ''} "
            f"(the first: {first_shared})")
    if dangling:
        notes.append(f"{counted(dangling, 'event-object relation')} "
                     f"{'names an object' if dangling == 1 else 'name objects'} the file does "
                     f"not define (the first: {first_dangling})")
    if shadowed:
        names = ", ".join(sorted(shadowed))
        notes.append("event attributes named like flattening columns or the object's "
                     f"attributes were dropped: {names}")
    if shadowed_objects:
        names = ", ".join(sorted(shadowed_objects))
        notes.append(f"object attributes named like flattening columns were dropped: {names}")
    frame = table.frame(path, notes)
    return RawTable(
        frame=frame,
        rows=np.asarray(rows, dtype=np.int64),
        system="ocel",
        file=path,
        notes=notes,
        records_read=len(rows),
    )
