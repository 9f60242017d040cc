"""Zendesk: the incremental ticket event export (`/api/v2/incremental/ticket_events`).

A year of a ticket history is pulled from the incremental export rather than from each
ticket's audits. Each response page is an object with `ticket_events` (and `next_page`,
`end_time`, `count`, `end_of_stream`); the pages are saved as one document (a single page),
a JSON list of pages, or one page after another (one a line, or pretty-printed one after the
other). One ticket event is one update of a ticket, as one audit is: `id`, `ticket_id`,
`created_at` (ISO 8601, UTC) and `timestamp` (Unix seconds), `updater_id`, `via`,
`event_type` and `child_events`. A child event of `event_type` `Create` or `Change` names the
field it sets by a key of its own holding the new value (`"status": "solved"`, with
`previous_value` beside it), a custom field by `custom_ticket_fields` (field id -> value); a
comment is a child event of type `Comment` with `public` (the `comment_events` sideload), or
is told by `comment_present` and `comment_public` (without it).

Each ticket event becomes the update the audits reader makes of the audit of that update
(`audit.sources.zendesk`): the same ticket, time, author (`updater_id`, its name from a
`users` list where a page holds one; -1 is Zendesk itself), record id
(`zendesk:<ticket>:<event id>`), field changes and public comment, so that the sources
configuration maps it to the same activity. A time-based incremental export gives the events
at a page's boundary again on the next page: an event id read again with the same content
is dropped and counted (a note says how many, and the first), with other content it is
quarantined.

The record number (`source:row`, and an error's row) is the ticket event's ordinal in the
file, counted across its pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from audit import canonical as C
from audit.errors import InputError
from audit.ingest.jsontext import loads, may_hold, refuse_lone_surrogates, shown
from audit.ingest.raw import IdCells
from audit.sources.common import Collector, update_id, wrong_shape
from audit.sources.config import TicketingConfig
from audit.sources.ticketing import (
    UpdateRow,
    Updates,
    fields_used,
    one_value_fields,
    updates_to_table,
)

SYSTEM = "zendesk"
PAGE_KEY = "ticket_events"
FIELDS = {C.CASE: "ticket_id", C.TIMESTAMP: "created_at"}
"""The fields of an audit or ticket event that the records' case and time were read from,
as the normaliser's quarantine lines name them (a ticket event's `timestamp`, read where it
has no `created_at`, is checked by the reader itself)."""

# The keys of a Create/Change child event that are not the field it changes.
_NOT_FIELDS = frozenset({
    "id", "via", "via_reference_id", "event_type", "type", "previous_value", "audit_id",
    "created_at", "author_id", "ticket_id", "timestamp", "updater_id", "system", "metadata",
})
_CUSTOM = "custom_ticket_fields"
EARLY_UNIX_TIME = ("a Unix time before 1973 (under 9 digits), which no Zendesk time is: a "
                   "date without separators (YYYYMMDD)?")
"""Why a ticket event's `timestamp` below 10**8 is quarantined: read as Unix seconds, a
compact date 20260301 was imported as 1970-08-23 11:51:41, silently."""
_FIRST_SECOND = -(-pd.Timestamp.min.value // 10**9)
_LAST_SECOND = pd.Timestamp.max.value // 10**9
"""The Unix seconds a timestamp holds (whole seconds within 1677-09-21 .. 2262-04-11)."""


def not_id(value: object) -> bool:
    """Whether `value` is no Zendesk id (a number or a text; a bool is not one)."""
    return type(value) is not int and type(value) is not str


def user(value: object, path: Path, field: str, record: int | None = None,
         ) -> tuple[str, str] | None:
    """(id, name) of a side-loaded user (`field`: where it was read, e.g. `users[3]`), or
    None where it names no one (not an object, or no id or a null one). The name is a text
    (a whole number read as its text); a null, empty or blank one, or none, leaves the id
    to show the person. An id or a name of another kind (true, 1.5, a list, an object) is
    refused, naming the field: taken as its Python text it would become a person."""
    if not isinstance(value, dict) or value.get("id") is None:
        return None
    ident, name = value["id"], value.get("name")
    if not_id(ident):
        raise InputError("not an id (a number or a text)", file=path, record=record,
                         field=f"{field}.id")
    if name is not None and type(name) is not str and type(name) is not int:
        raise InputError("not a user's name (a text)", file=path, record=record,
                         field=f"{field}.name")
    shown = "" if name is None else str(name)
    return str(ident), shown if shown.strip() else str(ident)


def users_of(listed: list[Any], path: Path, field: str = "users") -> dict[str, str]:
    """User id -> name of a side-loaded `users` list (`user`)."""
    found: dict[str, str] = {}
    for k, value in enumerate(listed):
        named = user(value, path, f"{field}[{k}]")
        if named is not None:
            found[named[0]] = named[1]
    return found


def json_text(value: object) -> str:
    """A value's text as the file wrote it: a text as it is, null as empty, another kind as
    JSON writes it (`true`, `{"a": 1}`; not Python's `True`, `{'a': 1}`), so that a
    quarantine line shows what an auditor finds in the file."""
    if type(value) is str:
        return value
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def is_public(comment: dict[str, Any], public: bool, path: Path, number: int,
              field: str) -> bool:
    """Whether an update holds a public comment, `public` what its earlier events said and
    `comment` one more (at `field`): its `public` true, false or null (none, as false); of
    another kind ("false", 1, a list) refused, naming it, where `bool` would have taken
    "false" for a public comment."""
    stated = comment.get("public")
    if stated is True:
        return True
    if stated is not None and stated is not False:
        raise wrong_shape(path, number, f"{field}.public", "true or false")
    return public


def unstated(ident: object) -> bool:
    """Whether a record's `id` states none: null, or an empty or blank text, as a missing
    one (the record is then named by its place in the file, not `<ticket>:` shared by all
    such records of a ticket)."""
    return ident is None or (type(ident) is str and not ident.strip())


class Authors:
    """The person each author id names, for both Zendesk readers: the side-loaded users'
    name, else the id as text; -1 is Zendesk itself and an empty or blank id states none
    (no person, as a null one: never a person named by blanks whom a four-eyes check
    would take for one). Looked up once per id."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.known: dict[object, str | None] = {None: None, -1: None, "-1": None}

    def of(self, author_id: object, path: Path, number: int, field: str) -> str | None:
        """The person of `author_id`, read at record `number` of `path` from `field` (an
        id of another kind is refused there, before the lookup)."""
        if author_id is not None and not_id(author_id):
            raise wrong_shape(path, number, field, "an id (a number or a text)")
        try:
            return self.known[author_id]
        except KeyError:
            name = self.known[author_id] = (
                None if unstated(author_id)
                else self.users.get(str(author_id), str(author_id)))
            return name


class NotAValue(ValueError):
    """A field's value that is an object, or a list holding a list or an object: no text
    that a change of a field states."""


NOT_A_VALUE = "a field's value (a text, a number, true/false or a list of them)"
"""What a field's value must be, for the error refusing one the mapping reads."""


def scalar_text(value: object) -> str:
    """A JSON text, number or true/false as a field's text, as JSON writes it: true as
    `true` (not Python's `True`), a whole float without a trailing `.0` (1e3 as `1000`).
    NotAValue for anything else."""
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return str(int(value)) if value.is_integer() and abs(value) < 2.0 ** 53 \
            else repr(value)
    raise NotAValue


class ListForOneValue(ValueError):
    """A list given for a field the mapping reads as one value (`one_value_fields`): that
    change alone is quarantined naming the field (`quarantine`), its record read without it
    (before, the whole record was quarantined, its approval or status change with it). The
    line is written with `alone` (`Collector.quarantine`): a field alone, its record read."""

    def __init__(self, name: str, value: list[object], what: str) -> None:
        super().__init__(name)
        self.name, self.value, self.what = name, value, what

    def quarantine(self, collector: Collector, number: int, ticket: str,
                   record: str = "ticket event") -> None:
        """`record`: what the record is called (an audit, a ticket event)."""
        collector.quarantine(
            number, self.name, json.dumps(self.value, ensure_ascii=False, default=str),
            f"a list where {self.what} is expected (the mapping reads this field as one "
            f"value); this field alone is not read: the {record} is read without it",
            case=ticket, alone=True)


READ_UNREADABLE = frozenset({"an amount", "a currency"})
"""What a field read as one value is (`one_value_fields`) where a list in it is kept as
the list's JSON text (`listed_text`), an unreadable value of that very field: an amount
field's, not read and no other amount field's value taken instead (a list in the approved
amount read as the request's 80.00: a limit nobody approved); a currency's, read as a
currency that is no code (the ticket's amounts not read), not as none."""


def listed_text(name: str, value: list[object], single: dict[str, str]) -> str:
    """A list given for a field the mapping reads as one value (`single`): its JSON text
    where that field is an amount or the currency (`READ_UNREADABLE`: the ticket reader
    quarantines it as that field's unreadable value); ListForOneValue, raised, for any
    other (an order number: the record read without it)."""
    what = single[name]
    if what in READ_UNREADABLE:
        return json.dumps(value, ensure_ascii=False, default=str)
    raise ListForOneValue(name, value, what)


def put_listed(into: MutableMapping[Any, str | None], key: Any, name: str, value: list[object],
               single: dict[str, str], listed: list[ListForOneValue]) -> None:
    """A list given for `name`, a field read as one value: its text (`listed_text`: an
    amount's or the currency's, that field's bad value) put into `into[key]`; for any other
    field, that field alone not read (its ListForOneValue added to `listed`, to be
    quarantined) and an earlier change of it in `into[key]` taken back."""
    try:
        into[key] = listed_text(name, value, single)
    except ListForOneValue as other:
        listed.append(other)
        into.pop(key, None)


def field_value(value: object) -> str | None:
    """A field's new value as the audits reader keeps it: None, a text as it is, a number
    or true/false as JSON writes it (`scalar_text`), a list's items joined by spaces
    (tags; a null item is none). NotAValue for an object, or a list holding a list or an
    object: the caller refuses it where the mapping reads the field."""
    if value is None or type(value) is str:
        return value
    if type(value) is list:
        return " ".join(scalar_text(v) for v in value if v is not None)
    return scalar_text(value)


def _value(value: object, name: str, used: frozenset[str], path: Path, number: int,
           child: int, within: str = "", *, single: dict[str, str]) -> str | None:
    """`field_value` of a field's value; one that is none, where the mapping reads the
    field (`used`), is refused naming it (`child_events[child].<within><name>`, made for
    the error only: the reader passes here for every change of every event); where the
    mapping does not read it, it is never read. ListForOneValue, raised, for a list in a
    field the mapping reads as one value (`single`: `one_value_fields`)."""
    if type(value) is list and name in single:
        return listed_text(name, value, single)
    try:
        return field_value(value)
    except NotAValue:
        if name in used:
            raise wrong_shape(path, number, f"child_events[{child}].{within}{name}",
                              NOT_A_VALUE) from None
        return None


def _children(children: list[Any], changes: dict[str, str | None], used: frozenset[str],
              single: dict[str, str], path: Path, number: int,
              listed: list[ListForOneValue]) -> bool:
    """The changes an event's child events state, into `changes`; whether one of them is
    a public comment. A list in a field read as one value (`_value`'s ListForOneValue) is
    put in `listed`, its field not read (an earlier change of it in the event taken back)."""
    public = False
    for k, child in enumerate(children):
        if type(child) is not dict:
            raise wrong_shape(path, number, f"child_events[{k}]",
                              "a child event (an object)")
        kind = child.get("event_type")
        if kind == "Create" or kind == "Change":
            for name, value in child.items():
                if name in _NOT_FIELDS:
                    continue
                if name == _CUSTOM:
                    if type(value) is not dict:
                        raise wrong_shape(path, number, f"child_events[{k}].{_CUSTOM}",
                                          "an object of custom field id -> value")
                    for field_id, stated in value.items():
                        try:
                            changes[str(field_id)] = _value(
                                stated, str(field_id), used, path, number, k, f"{_CUSTOM}.",
                                single=single)
                        except ListForOneValue as one:
                            changes.pop(one.name, None)
                            listed.append(one)
                else:
                    try:
                        changes[name] = _value(value, name, used, path, number, k,
                                               single=single)
                    except ListForOneValue as one:
                        changes.pop(one.name, None)
                        listed.append(one)
        elif kind == "Comment" or child.get("type") == "Comment":
            public = is_public(child, public, path, number, f"child_events[{k}]")
        if child.get("comment_present") is True and child.get("comment_public") is True:
            public = True  # (the export without the comment_events sideload)
    return public


def _is_page(value: object) -> bool:
    return isinstance(value, dict) and PAGE_KEY in value


def _values(text: str, start: int) -> Iterator[tuple[int, int, Any]]:
    """(line, end, value) of each JSON value in `text` from `start` on, one after another
    (JSON lines, or pretty-printed values one after the other). JSONDecodeError at the
    first that is not JSON; RecursionError where one nests too deeply."""
    decode = json.JSONDecoder().raw_decode
    at, n, line, counted = start, len(text), 1, 0
    while True:
        while at < n and text[at] in " \t\r\n":
            at += 1
        if at >= n:
            return
        line += text.count("\n", counted, at)  # (counted from the last value on)
        counted = at
        value, end = decode(text, at)
        yield line, end, value
        at = end


def pages_of(path: Path, text: str) -> list[tuple[int, int, Any]] | None:
    """The pages of an incremental ticket event export as (page number, line, page), or
    None where `text` is not one (its first JSON value is no object holding
    `ticket_events`, nor a list of such): the audits reader then reads it. InputError where
    the first value is a page and a later part of the file is not JSON."""
    if PAGE_KEY not in text:
        return None
    try:
        document = loads(text)
    except json.JSONDecodeError:
        document = None
    except RecursionError:
        return None  # (the audits reader refuses it, naming the nesting)
    if isinstance(document, dict):
        return [(1, 1, document)] if _is_page(document) else None
    if isinstance(document, list):
        if document and _is_page(document[0]):
            return [(k, 1, page) for k, page in enumerate(document, start=1)]
        return None
    start = len(text) - len(text.lstrip())
    values = _values(text, start)
    try:
        first = next(values)
    except (json.JSONDecodeError, RecursionError, StopIteration):
        return None
    if not _is_page(first[2]):
        return None
    pages = [(1, first[0], first[2])]
    try:
        for line, _end, page in values:
            pages.append((len(pages) + 1, line, page))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"page {len(pages) + 1} of the incremental ticket event export (at line "
            f"{exc.lineno}) is not JSON: {exc.msg} (a page cut short?)", file=path) from exc
    except RecursionError as exc:
        raise InputError(f"page {len(pages) + 1}: malformed JSON: nested too deeply",
                         file=path) from exc
    return pages


def _time(event: dict[str, Any]) -> tuple[str, str, str | None]:
    """(field, text, why it cannot be read) of a ticket event's time: `created_at` as
    written (the normaliser reads it, as the audits' `created_at`), else `timestamp` (Unix
    seconds) as ISO 8601 UTC; `why` is None but for a `timestamp` that is no integer of
    seconds within the years a time holds, or empty."""
    created = event.get("created_at")
    if created is not None:
        text = json_text(created)
        return "created_at", text, None if text.strip() else "empty timestamp"
    stamp = event.get("timestamp")
    text = json_text(stamp)
    if type(stamp) is not int:
        return "timestamp", text, ("empty timestamp" if not text.strip() else
                                   "not a Unix time (an integer of seconds)")
    beyond = "a Unix time beyond the years a time holds"
    # (the years a timestamp holds, 1677-2262: a year Python's datetime holds beyond them
    # was passed on, and quarantined as its ISO text under time:timestamp)
    if not _FIRST_SECOND <= stamp <= _LAST_SECOND:
        return "timestamp", text, beyond
    if stamp < 10 ** 8:  # (20260301 read as Unix seconds: 1970-08-23 11:51:41)
        return "timestamp", text, EARLY_UNIX_TIME
    try:
        return "timestamp", datetime.fromtimestamp(stamp, UTC).isoformat(), None
    except (OverflowError, OSError, ValueError):
        return "timestamp", text, beyond


ID_CELLS = IdCells(partial(update_id, SYSTEM, "ticket_id", "id", ()))
"""Where a Zendesk audit's or ticket event's record id `zendesk:<ticket_id>:<id>` was read:
its `ticket_id` and `id` (`IdCells`); one without an id is `zendesk:<ticket_id>:row<N>`,
its ticket and its place in the file, and names its `ticket_id`."""


def cells_of(ticket: str, ident: object, stated: bool) -> tuple[str, str]:
    """The fields and cells an audit's or ticket event's record id was read from: its
    `ticket_id` and, where its record id has it (`stated`), its `id`."""
    return ("ticket_id, id", f"{ticket}, {ident}") if stated else ("ticket_id", ticket)


def _content(event: dict[str, Any]) -> tuple[object, ...]:
    return (json.dumps(event, sort_keys=True),)


def read_pages(path: Path, pages: list[tuple[int, int, Any]], text: str,
               cfg: TicketingConfig) -> Collector:
    """The export's ticket events as the audits reader's updates, into a collector."""
    users: dict[str, str] = {}
    events: list[tuple[int, int, int, dict[str, Any]]] = []  # (record, page, position, event)
    for page_number, line, page in pages:
        where = f"page {page_number} (line {line})"
        if not isinstance(page, dict) or PAGE_KEY not in page:
            raise InputError(f"{where} is not a page of the incremental ticket event export "
                             "(an object with a 'ticket_events' list)", file=path)
        listed, found = page.get("users") or [], page[PAGE_KEY]
        for name, value in ((PAGE_KEY, found), ("users", listed)):
            if type(value) is not list:
                raise InputError(f"not a list ({where})", file=path, field=name)
        users.update(users_of(listed, path))
        for position, event in enumerate(found):
            events.append((len(events) + 1, page_number, position, event))
    last = pages[-1][2] if pages else {}
    for number, page_number, position, event in events:
        if not isinstance(event, dict) or "ticket_id" not in event or \
                "child_events" not in event or (
                    "created_at" not in event and "timestamp" not in event):
            raise InputError(
                "not a Zendesk ticket event (needs ticket_id, created_at or timestamp, "
                f"child_events) (page {page_number}, ticket_events[{position}])",
                file=path, record=number)
    if may_hold(text):
        refuse_lone_surrogates([*((number, "", event) for number, _, _, event in events),
                                (None, "users", users)], file=path)
    collector = Collector(SYSTEM, path, fields=dict(FIELDS), id_cells=ID_CELLS)
    seen = collector.seen
    repeated: list[tuple[str, int, int]] = []  # (event id, first page, page read again)
    page_of: dict[str, int] = {}
    authors = Authors(users)
    updates: list[UpdateRow] = []
    used = frozenset(fields_used(cfg))
    single = one_value_fields(cfg)
    for number, page_number, _position, event in events:
        ticket_id, event_id = event["ticket_id"], event.get("id")
        if not_id(ticket_id) or (event_id is not None and not_id(event_id)):
            raise wrong_shape(path, number, "ticket_id" if not_id(ticket_id) else "id",
                              "an id (a number or a text)")
        ticket, stated = str(ticket_id), not unstated(event_id)
        key = (f"{SYSTEM}:{ticket}:{event_id}" if stated
               else f"{SYSTEM}:{ticket}:row{number}")
        content = partial(_content, event)
        if key in seen:
            quarantined = len(collector.problems)
            collector.duplicate(key, number, content, case=ticket,
                                cells=cells_of(ticket, event_id, stated))
            if len(collector.problems) == quarantined:  # the same event again: dropped
                repeated.append((str(event_id), page_of[key], page_number))
            continue
        seen[key] = (number, content)
        page_of[key] = page_number
        field, time, unread = _time(event)
        if unread is not None:
            collector.quarantine(number, field, time, unread, case=ticket)
            continue
        author = authors.of(event.get("updater_id"), path, number, "updater_id")
        changes: dict[str, str | None] = {}
        children = event["child_events"] or []
        if type(children) is not list:
            raise wrong_shape(path, number, "child_events", "a list of child events (objects)")
        lists: list[ListForOneValue] = []
        public = _children(children, changes, used, single, path, number, lists)
        for one in lists:  # (the event read without that field)
            one.quarantine(collector, number, ticket)
        updates.append((ticket, time, author, key, number, changes, public, None, None))
    if repeated:
        event_id, first, again = repeated[0]
        collector.notes.append(
            f"{path.name}: {len(repeated)} ticket event(s) given again on a later page (the "
            "incremental export repeats the events at a page's boundary), dropped by event "
            f"id (the first: event {event_id}, page {first} and page {again})")
    if isinstance(last, dict) and last.get("end_of_stream") is False:
        # (the URL as printable text: a lone surrogate escaped, a long value cut)
        following = shown(str(last.get("next_page")))
        following = following if len(following) <= 300 else following[:300] + "..."
        collector.notes.append(
            f"{path.name}: its last page says end_of_stream false: the stream goes on after "
            f"it (its next_page: {following}); unless another input holds the pages after "
            "it, the events after it are not read")
    updates_to_table(Updates.of_rows(updates), cfg, collector)
    return collector
