"""ServiceNow: the sys_audit table pulled as JSON instead of exported as CSV.

Two layouts, both one document (or several saved one after another, a script's pages):
- the JSONv2 processor (`sys_audit_list.do?JSONv2&...`): `{"records": [{field: "text", ...}]}`;
- the REST Table API (`/api/now/table/sys_audit`): `{"result": [{field: "text", ...}]}`, or with
  `sysparm_display_value=all` each field an object `{"display_value": ..., "value": ...}` (a
  reference field's with a `link` too), of which the `value` is read.

The records are turned into the table of text cells the CSV export reads as (a column per
field, a row per audit row, '' for an empty field), so that `servicenow.read` joins and maps
them exactly as it does the CSV's rows. What differs is the time: the Table API documents a
date field's value as the database's, in UTC, and only its display value in the user's time
zone; a JSON pull's `sys_created_on` is therefore read as UTC (`UTC_ZONE`), not in the
sources file's `time_zone` or `--assume-tz`, which say how a CSV export's local times read.
A pull made with `sysparm_display_value=true` holds display values (local times) that
nothing in the file tells apart: pull with `false` (the default) or `all`.

Hostile input is handled as the other JSON readers handle it: msgspec or `json.loads`, never
an eval; nesting too deep, a lone surrogate, a record that is not an object or a field that
is neither a text nor a value object are input errors naming the file, the record and the
field; a record without one of the key fields is quarantined, naming it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.errors import InputError
from audit.gcpause import paused_gc
from audit.ingest.jsontext import as_text, loads, may_hold, read_export, refuse_lone_surrogates
from audit.ingest.raw import RawTable
from audit.sources.common import listed_records, records_located, wrong_shape

UTC_ZONE = "UTC"
"""The zone of a JSON pull's sys_created_on: the database's value (see the module's text)."""

ENVELOPES = ("records", "result")
"""The list of records: JSONv2's `records`, the Table API's `result`."""

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_ENVELOPE_START = re.compile(r'\{\s*"(?:records|result)"\s*:\s*\[')


@dataclass
class Rows:
    """A sys_audit pull as the CSV reader would give it: `table` (text cells, `rows` the
    records' numbers in the file, 1-based over all its documents) and the records set
    aside: (record, field, value, reason)."""

    table: RawTable
    quarantine: list[tuple[int, str, str, str]] = field(default_factory=list)


def is_json(path: Path) -> bool:
    """Whether a sys_audit file is a JSON pull (its first character, after a byte order mark
    and blanks, opens an object: no CSV header does)."""
    try:
        with path.open("rb") as file:
            head = file.read(1 << 12)
    except OSError:
        return False
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    return text.startswith("{")


def read_rows(path: Path, key_columns: tuple[str, ...], read_columns: tuple[str, ...]) -> Rows:
    """The records of a sys_audit JSON pull at PATH as text cells (see the module's text).
    `key_columns`: those every record must hold (else it is quarantined, naming the field);
    `read_columns`: those whose value must be a text (or a value object holding one). An
    error naming a record names its line too (`records_located`)."""
    with records_located(path, listed_records(*ENVELOPES)):
        return _read_rows(path, key_columns, read_columns)


def _read_rows(path: Path, key_columns: tuple[str, ...], read_columns: tuple[str, ...],
               ) -> Rows:
    content = read_export(path)
    text = as_text(content)
    if not text.strip():
        raise InputError("the file is empty", file=path)
    documents = _documents(text, path)
    numbered: list[tuple[int, dict[str, Any]]] = []
    for document in documents:
        for record in _records(document, path):
            numbered.append((len(numbered) + 1, record))
    if not numbered:  # (as a CSV export of a header only)
        raise InputError("no records to import (its records' lists are empty)", file=path)
    if may_hold(content):
        refuse_lone_surrogates(((number, "", record) for number, record in numbered),
                               file=path)
    columns: dict[str, list[str]] = {}
    rows: list[int] = []
    quarantine: list[tuple[int, str, str, str]] = []
    present = {name for _, record in numbered if isinstance(record, dict) for name in record}
    for number, record in numbered:
        if not isinstance(record, dict):
            raise wrong_shape(path, number, "(record)", "an object (a sys_audit record)")
        cells: dict[str, str] = {}
        for name, value in record.items():
            cells[name] = _cell(value, path, number, name, name in read_columns)
        missing = [c for c in key_columns if c in present and c not in cells]
        if missing:
            quarantine.append((number, missing[0], "", (
                f"no '{missing[0]}' in this record (the file's other records have it): "
                "not an audit row that can be read")))
            continue
        for name in cells:
            if name not in columns:
                columns[name] = [""] * len(rows)
        for name, cells_of in columns.items():
            cells_of.append(cells.get(name, ""))
        rows.append(number)
    frame = pd.DataFrame({name: pd.Series(cells, dtype=object)
                          for name, cells in columns.items()}, columns=list(columns))
    table = RawTable(frame=frame, rows=np.asarray(rows, dtype=np.int64), system="servicenow",
                     file=path)
    return Rows(table, quarantine)


def _cell(value: object, path: Path, number: int, name: str, read: bool) -> str:
    """A field's value as the CSV export's cell: a text as it is, null as empty, a value
    object (`sysparm_display_value=all`) by its `value`. A field the reading uses must be
    one of these (else the file is refused, naming the record and field); another field
    (not read, only compared to tell a record exported twice) keeps its JSON text."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if type(value) is dict and "value" in value:
        inner = value["value"]
        if type(inner) is str:
            return inner
        if inner is None:
            return ""
        if read:
            raise wrong_shape(path, number, f"{name}.value", "a text")
    elif read:
        raise wrong_shape(path, number, name,
                          "a text, nor an object with a 'value' (sysparm_display_value=all)")
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _records(document: object, path: Path) -> list[Any]:
    """The records of one document: its `records` (JSONv2) or `result` (Table API) list (a
    Table API read of one record by its sys_id: `result` one object)."""
    if not isinstance(document, dict):
        raise InputError("not a ServiceNow JSON document: expected an object with a "
                         "'records' (JSONv2) or 'result' (Table API) list", file=path)
    for key in ENVELOPES:
        if key in document:
            found = document[key]
            if type(found) is dict:
                return [found]
            if type(found) is not list:
                raise InputError("not a list", file=path, field=key)
            return found
    error = document.get("error")
    if isinstance(error, dict):  # a Table API error response saved as the page
        raise InputError(f"a Table API error response, not records: {error.get('message')}"
                         f" ({error.get('detail')})", file=path)
    raise InputError("not a ServiceNow JSON document: no 'records' (JSONv2) or 'result' "
                     f"(Table API) list (keys: {', '.join(map(str, list(document)[:8]))})",
                     file=path)


def _documents(text: str, path: Path) -> list[object]:
    """The file's documents: one, or several saved one after another (pages). A malformed
    one is an input error naming its line and column, and the record it breaks in where the
    document is a plain `{"records": [...]}` or `{"result": [...]}`."""
    try:
        with paused_gc():
            return [loads(text)]
    except json.JSONDecodeError:
        pass
    except RecursionError as exc:
        raise InputError("malformed JSON: nested too deeply", file=path) from exc
    decoder = json.JSONDecoder()
    documents: list[object] = []
    records_before = 0
    at = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    while at < len(text):
        try:
            document, end = decoder.raw_decode(text, at)
        except RecursionError as exc:
            raise InputError("malformed JSON: nested too deeply", file=path,
                             record=records_before + 1) from exc
        except json.JSONDecodeError as exc:
            record = _broken_record(text, at, decoder)
            where = f" (document {len(documents) + 1} of the file)" if documents else ""
            raise InputError(f"malformed JSON: {exc.msg} (column {exc.colno}){where}",
                             file=path, line=exc.lineno,
                             record=None if record is None else records_before + record
                             ) from exc
        documents.append(document)
        if isinstance(document, dict):
            for key in ENVELOPES:
                if type(document.get(key)) is list:
                    records_before += len(document[key])
                    break
        at = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
    return documents


def _broken_record(text: str, at: int, decoder: json.JSONDecoder) -> int | None:
    """The number (in its document) of the record a malformed document breaks in, read one
    record after another from `at`; None where the document does not open with its list."""
    opened = _ENVELOPE_START.match(text, at)
    if opened is None:
        return None
    at, count = opened.end(), 0
    while True:
        at = _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]
        if count == 0 and text.startswith("]", at):
            return None  # (an empty list: the break is after it)
        try:
            _, at = decoder.raw_decode(text, at)
        except (json.JSONDecodeError, RecursionError):
            return count + 1
        count += 1
        at = _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]
        if text.startswith(",", at):
            at += 1
            continue
        return None if text.startswith("]", at) else count + 1
