"""Zendesk: the ticket audits export (the audits API's JSON, or JSON lines of audits), and
the incremental ticket event export (`audit.sources.zendesk_events`), told apart by its shape.

One audit = one update: `ticket_id`, `created_at`, `author_id` (names from a sideloaded
`users` list; -1 is Zendesk itself, i.e. no person) and `events` of type Create/Change
(`field_name`, `value`, `previous_value`) or Comment (`public`).

The audits API's document (`{"audits": [...], "users": [...]}`) is first decoded into typed
records that keep only the fields read (`_typed`): fewer Python objects to make and free
than a dict per audit and event (a 120 MB part of 250k audits: decode 0.45 -> 0.24 s, free
0.22 -> 0.08 s). What that decoder or its loop cannot take as it is (another layout, a value
of another type, an audit id read twice, an escaped surrogate) is read by the general path,
which gives the value or the error it always gave.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from msgspec import UNSET, UnsetType

from audit.errors import InputError
from audit.gcpause import paused_gc
from audit.ingest.jsontext import (
    as_text,
    loads,
    may_hold,
    read_export,
    record_line,
    refuse_lone_surrogates,
)
from audit.sources import zendesk_events
from audit.sources.common import TEXT, Collector, records_located, wrong_shape
from audit.sources.config import TicketingConfig
from audit.sources.ticketing import (
    UpdateRow,
    Updates,
    fields_used,
    one_value_fields,
    updates_to_table,
)
from audit.sources.zendesk_events import (
    NOT_A_VALUE,
    ListForOneValue,
    NotAValue,
    field_value,
    json_text,
    not_id,
    put_listed,
    unstated,
    user,
    users_of,
)

SYSTEM = "zendesk"


def load_audits(path: Path, text: str | None = None,
                ) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, str]]:
    """(record number, audit) pairs and user id -> name, from JSON or JSON lines (`text`:
    the file's text, if read already)."""
    if text is None:
        text = as_text(read_export(path))
    users: dict[str, str] = {}
    audits: list[tuple[int, dict[str, Any]]] = []
    stripped = text.lstrip()
    if not stripped:
        raise InputError("the file is empty", file=path)
    try:
        with paused_gc():
            document = loads(text)
    except json.JSONDecodeError:
        document = None
    except RecursionError as exc:
        raise InputError("malformed JSON: nested too deeply", file=path) from exc
    if isinstance(document, dict):
        if "audits" not in document:
            raise InputError("not a Zendesk ticket audits export: no 'audits' list", file=path)
        raw = document.get("audits") or []
        listed = document.get("users") or []
        for name, value in (("audits", raw), ("users", listed)):
            if type(value) is not list:
                raise InputError("not a list", file=path, field=name)
        users = users_of(listed, path)
        audits = list(enumerate(raw, start=1))
    elif isinstance(document, list):
        audits = list(enumerate(document, start=1))
    else:  # JSON lines: one audit (or one user: {"user": {...}}) per line
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"neither JSON nor JSON lines: {exc.msg}", file=path,
                                 line=number) from exc
            except RecursionError as exc:
                raise InputError("malformed JSON: nested too deeply", file=path,
                                 line=number) from exc
            if isinstance(item, dict) and isinstance(item.get("user"), dict):
                named = user(item["user"], path, "user", number)
                if named is not None:
                    users[named[0]] = named[1]
            else:
                audits.append((number, item))
    for number, audit in audits:
        if not isinstance(audit, dict) or "ticket_id" not in audit or \
                "created_at" not in audit or "events" not in audit:
            raise InputError("not a Zendesk ticket audit (needs ticket_id, created_at, events)",
                             file=path, record=number)
    if may_hold(text):
        refuse_lone_surrogates([*((number, "", audit) for number, audit in audits),
                                (None, "users", users)], file=path)  # users: id -> name
    return audits, users


def _content(audit: dict[str, Any]) -> tuple[object, ...]:
    return (json.dumps(audit, sort_keys=True),)


# The typed layout: only the fields `read` uses; the others are skipped while decoding. Struct
# instances hold no reference to one another, so the cyclic collector need not track them.
class _Event(msgspec.Struct, gc=False):
    type: Any = ""
    field_name: Any = UNSET
    value: Any = None
    public: Any = None


class _Audit(msgspec.Struct, gc=False):
    ticket_id: int | str
    created_at: Any
    events: list[_Event] | None
    id: int | str | UnsetType | None = UNSET
    author_id: int | str | None = None


class _Export(msgspec.Struct, gc=False):
    audits: list[_Audit] | None
    users: list[Any] | None = None


_decode_typed = msgspec.json.Decoder(_Export).decode


def _typed(path: Path, text: bytes | str, cfg: TicketingConfig) -> Collector | None:
    """The file read through the typed layout, or None where `read`'s general path must
    read it: a text the layout does not decode (a JSON-lines file, a bare list, a value of
    another type, malformed JSON), one that escapes a surrogate (to be checked for a lone
    one), an audit id read twice (told apart by all the audit's fields, kept only by the
    general path), or a comment's `public` of another kind (refused by the general path,
    naming it). The collector holds what the general path's would."""
    if may_hold(text):
        return None
    try:
        with paused_gc():
            document = _decode_typed(text)
    except (msgspec.DecodeError, RecursionError):  # a ValidationError is a DecodeError
        return None
    users = users_of(document.users or [], path)
    collector = Collector(SYSTEM, path, fields=dict(zendesk_events.FIELDS),
                          id_cells=zendesk_events.ID_CELLS)
    # The updates column by column (`Updates`' fields), appended audit by audit: no tuple
    # per update to make and take apart again.
    tickets: list[str] = []
    times: list[str] = []
    people: list[str | None] = []
    rows: list[int] = []
    publics: list[bool] = []
    # Every audit's ticket and id as decoded (the updates' among them), for the record ids
    # (`_record_ids`)
    ticket_ids: list[object] = []
    audit_ids: list[object] = []
    left_out: list[int] = []  # the audits quarantined (their places among `keys`)
    authors: dict[object, str | None] = {None: None, -1: None, "-1": None}
    # The changes of the fields the mapping reads, by update position, collected here (what
    # `_changed` would find in the updates' changes): the others are not kept at all.
    changed: dict[str, dict[int, str | None]] = {name: {} for name in fields_used(cfg)}
    read = changed.get
    single = one_value_fields(cfg)
    position = 0  # the update's, among the updates made
    for number, audit in enumerate(document.audits or [], start=1):
        ticket_id = audit.ticket_id
        ticket = str(ticket_id)
        ticket_ids.append(ticket_id)
        audit_ids.append(audit.id)
        time = audit.created_at
        if type(time) is not str:
            time = json_text(time)
        if not time.strip():
            collector.quarantine(number, "created_at", time, "empty timestamp",
                                 case=ticket)
            left_out.append(number - 1)
            continue
        author_id = audit.author_id
        try:
            author = authors[author_id]
        except KeyError:
            author = authors[author_id] = (None if unstated(author_id)
                                           else users.get(str(author_id), str(author_id)))
        public = False
        listed: list[ListForOneValue] = []
        for event in audit.events or ():
            kind = event.type
            if kind == "Create" or kind == "Change":
                name = event.field_name
                # (a field name of another kind as its text; none, UNSET: no change)
                hit = read(name) if type(name) is str else \
                    None if name is UNSET else read(str(name))
                if hit is None:  # a field the mapping does not read
                    continue
                value = event.value
                if value is not None and type(value) is not str:
                    named = str(name)
                    if type(value) is list and named in single:
                        put_listed(hit, position, named, value, single, listed)
                        continue
                    try:
                        value = field_value(value)
                    except NotAValue:
                        e = next(k for k, one in enumerate(audit.events or ()) if one is event)
                        raise wrong_shape(path, number, f"events[{e}].value",
                                          NOT_A_VALUE) from None
                hit[position] = value
            elif kind == "Comment":
                stated = event.public
                if stated is True:
                    public = True
                elif stated is not None and stated is not False:
                    return None  # (refused by the general path, naming it)
        for one in listed:  # (the audit read without that field)
            one.quarantine(collector, number, ticket, "audit")
        tickets.append(ticket)
        times.append(time)
        people.append(author)
        rows.append(number)
        publics.append(public)
        position += 1
    keys = _record_ids(ticket_ids, audit_ids)
    # (integer ids all distinct, as a rule, make distinct record ids: told by hashing the
    # integers, not the texts)
    if not (isinstance(keys, pa.Array) and len(set(audit_ids)) == len(audit_ids)) and \
            len(set(_listed(keys))) < len(keys):
        return None
    if left_out:
        if isinstance(keys, pa.Array):
            kept = np.ones(len(keys), dtype=np.bool_)
            kept[left_out] = False
            keys = keys.filter(pa.array(kept))
        else:
            out = set(left_out)
            keys = [key for k, key in enumerate(keys) if k not in out]
    unchanged: dict[str, str | None] = {}  # every update's changes: not read
    updates_to_table(Updates(tickets, times, people, keys, rows, [unchanged] * position,
                             publics, [None] * position, [None] * position),
                     cfg, collector, changed=changed)
    return collector


def _record_ids(ticket_ids: list[object], audit_ids: list[object]) -> list[str] | pa.Array:
    """Each audit's record id, `zendesk:<ticket_id>:<id>`, or `zendesk:<ticket_id>:row<N>`
    (N: its place in the file) where it has no id (an id given as null, or empty, is no
    id, as a missing one: `null` is every such audit's). Where every ticket and audit id is
    an integer (as a rule), as Arrow text made column-wise: no text per audit made in
    Python and converted to Arrow again (0.05 s a 250k-audit part)."""
    try:
        tickets = pa.array(ticket_ids, type=pa.int64())
        numbers = pa.array(audit_ids, type=pa.int64())
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        tickets = numbers = None  # (a text, an id not stated, an integer beyond 64 bits)
    if tickets is not None and numbers is not None and not numbers.null_count:
        return pc.binary_join_element_wise(
            pa.scalar(SYSTEM, TEXT), tickets.cast(TEXT), numbers.cast(TEXT),
            pa.scalar(":", TEXT))
    return [f"{SYSTEM}:{ticket}:{audit_id}" if type(audit_id) is int
            or not (audit_id is UNSET or unstated(audit_id))
            else f"{SYSTEM}:{ticket}:row{number}"
            for number, (ticket, audit_id) in enumerate(zip(ticket_ids, audit_ids, strict=True),
                                                         start=1)]


def _listed(keys: list[str] | pa.Array) -> list[str]:
    listed: list[str] = keys.to_pylist() if isinstance(keys, pa.Array) else keys
    return listed


def read(path: Path, cfg: TicketingConfig) -> Collector:
    """The export's ticket updates (audits, or the incremental ticket event export's
    events); an error naming a record names its line too (`records_located`)."""
    with records_located(path, _locate):
        return _read(path, cfg)


def _locate(text: str, number: int) -> tuple[int | None, bool]:
    """The line record `number` starts on, and whether it is a record: an audit of a
    JSON document or a ticket event of a page; of JSON lines (numbered by their lines)
    the line itself."""
    try:
        pages = zendesk_events.pages_of(Path(), text)
    except InputError:
        return None, True
    if pages is not None:
        return record_line(text, (zendesk_events.PAGE_KEY,), number), True
    try:
        loads(text)
    except (json.JSONDecodeError, RecursionError):
        return number, False
    return record_line(text, ("audits",), number), True


def _read(path: Path, cfg: TicketingConfig) -> Collector:
    data = read_export(path)
    typed = _typed(path, data, cfg)
    if typed is not None:
        return typed
    text = as_text(data)
    del data
    pages = zendesk_events.pages_of(path, text)
    if pages is not None:  # the incremental ticket event export, not audits
        return zendesk_events.read_pages(path, pages, text, cfg)
    audits, users = load_audits(path, text)
    del text
    collector = Collector(SYSTEM, path, fields=dict(zendesk_events.FIELDS),
                          id_cells=zendesk_events.ID_CELLS)
    updates: list[UpdateRow] = []
    seen = collector.seen
    authors = zendesk_events.Authors(users)
    used = frozenset(fields_used(cfg))
    single = one_value_fields(cfg)
    for number, audit in audits:
        ticket_id, audit_id = audit["ticket_id"], audit.get("id")
        if not_id(ticket_id) or (audit_id is not None and not_id(audit_id)):
            raise wrong_shape(path, number, "ticket_id" if not_id(ticket_id) else "id",
                              "an id (a number or a text)")
        ticket, stated = str(ticket_id), not unstated(audit_id)
        key = (f"{SYSTEM}:{ticket}:{audit_id}" if stated
               else f"{SYSTEM}:{ticket}:row{number}")
        content = partial(_content, audit)
        if key in seen:
            collector.duplicate(key, number, content, case=ticket,
                                cells=zendesk_events.cells_of(ticket, audit_id, stated))
            continue
        seen[key] = (number, content)
        time = json_text(audit["created_at"])
        if not time.strip():
            collector.quarantine(number, "created_at", time, "empty timestamp",
                                 case=ticket)
            continue
        author = authors.of(audit.get("author_id"), path, number, "author_id")
        changes: dict[str, str | None] = {}
        events = audit["events"] or []
        if type(events) is not list:
            raise wrong_shape(path, number, "events", "a list of events (objects)")
        listed: list[ListForOneValue] = []
        public = _events(events, changes, used, single, path, number, listed)
        for one in listed:  # (the audit read without that field)
            one.quarantine(collector, number, ticket, "audit")
        updates.append((ticket, time, author, key, number, changes, public, None, None))
    updates_to_table(Updates.of_rows(updates), cfg, collector)
    return collector


def _events(events: list[Any], changes: dict[str, str | None], used: frozenset[str],
            single: dict[str, str], path: Path, number: int,
            listed: list[ListForOneValue]) -> bool:
    """The changes an audit's events state, into `changes`; whether one of them is a
    public comment. A list in a field the mapping reads as one value (`single`) is put in
    `listed`, that field not read (an earlier change of it in the audit taken back)."""
    public = False
    for e, event in enumerate(events):
        if type(event) is not dict:
            raise wrong_shape(path, number, "events", "a list of events (objects)")
        kind = event.get("type", "")  # only a text equals "Create", "Change", "Comment"
        if (kind == "Create" or kind == "Change") and "field_name" in event:
            value = event.get("value")
            name = event["field_name"]
            name = name if type(name) is str else str(name)
            if value is not None and type(value) is not str:
                if type(value) is list and name in single:
                    put_listed(changes, name, name, value, single, listed)
                    continue
                try:
                    value = field_value(value)
                except NotAValue:
                    if name in used:
                        raise wrong_shape(path, number, f"events[{e}].value",
                                          NOT_A_VALUE) from None
                    value = None  # (a field the mapping does not read)
            changes[name] = value
        elif kind == "Comment":
            public = zendesk_events.is_public(event, public, path, number, f"events[{e}]")
    return public
