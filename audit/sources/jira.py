"""Jira (Service Management): issues with their changelog, as the REST API returns them.

`{"issues": [{"key", "fields": {"created", "reporter", ...}, "changelog": {"histories":
[{"id", "author": {"displayName"}, "created", "items": [{"field", "fromString", "toString"}]}]
}}]}` (a bare list of issues, or one issue, is read too). The issue's creation is an update of
its own (the reporter at `fields.created`); each history is one more.

The export `{"issues": [...]}` is first decoded into typed records that keep only the fields
read (`_typed`; an issue's `fields` stay a dict, as exported): fewer Python objects to make
and free. What that decoder cannot take as it is (another layout, a value of another type, an
escaped surrogate) is read by the general path, which gives the value or the error it always
gave.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import Any, cast

import msgspec
import numpy as np
import numpy.typing as npt
import pandas as pd
from msgspec import UNSET

from audit import canonical as C
from audit.errors import InputError
from audit.gcpause import paused_gc
from audit.ingest.jsontext import (
    as_text,
    loads,
    may_hold,
    read_export,
    refuse_lone_surrogates,
)
from audit.ingest.raw import IdCells
from audit.sources.common import (
    BadValue,
    Collector,
    arrow_texts,
    cells_of_rows,
    listed_records,
    millis_iso_text,
    offset_iso_column,
    records_located,
    strptime,
    update_id,
    wrong_shape,
)
from audit.sources.config import TicketingConfig
from audit.sources.ticketing import Updates, fields_used, updates_to_table
from audit.sources.zendesk_events import (
    NotAValue,
    json_text,
    not_id,
    scalar_text,
    unstated,
)

SYSTEM = "jira"


def iso(text: str) -> str:
    """Jira writes 2026-07-03T10:12:00.000+0200; make the offset ISO 8601."""
    value = text.strip()
    try:
        return strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").isoformat()
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
        except ValueError as exc:
            raise BadValue("not a Jira timestamp (e.g. 2026-07-03T10:12:00.000+0200)") from exc


FORMER_USER = "former user"
"""The displayName Jira Cloud gives every deleted account ("Former user", compared without
case): a placeholder that names no one, which two deleted people share."""


def _former(value: dict[str, Any], path: Path, ordinal: int, field: str) -> str | None:
    """A deleted account's person: `Former user (<accountId>)`, its account id telling one
    deleted person from another, as the name cannot (two of them were one person to the
    segregation-of-duty rules: one's request approved by the other read as self-approval);
    no one where the account id is missing or Jira's `unknown` (a record it cannot
    resolve), since none tells who it was."""
    account = value.get("accountId")
    if account is not None and type(account) is not str and type(account) is not int:
        raise wrong_shape(path, ordinal, f"{field}.accountId", "a person's name (a text)")
    text = "" if account is None else str(account).strip()
    if not text or text.casefold() == "unknown":
        return None
    return f"{value['displayName'].strip()} ({text})"


def _account(account: object) -> str | None:
    """A living user's accountId as stated (a text or a whole number, not blank, not Jira's
    `unknown`), else None: what tells two people of one displayName apart (`_told_apart`).
    One of another kind is None here: `_person` refuses it where it names the person."""
    if type(account) is not str and type(account) is not int:
        return None
    text = str(account).strip()
    return text if text and text.casefold() != "unknown" else None


def _person(value: Any, path: Path, ordinal: int, field: str,
            at: int | None = None) -> str | None:
    """The person of a Jira user object (`reporter`, a history's `author`) read at issue
    `ordinal` from `field`: its `displayName`, else `name`, else `accountId`, the first
    stated (null, empty or blank: not stated); a deleted account's placeholder name
    ("Former user") with its account id (`_former`). One of these that is neither a text nor a
    whole number (true, 1.5, a list, an object) is refused, naming it: as its Python text
    it would become a person. A text or a whole number in place of the object is the
    person as written; null is no one; another kind is refused, not read as no one. `at`:
    the history's place, put into `field` (`{}`) for an error only (the loop over a
    million histories makes no text for it)."""
    if value is None:
        return None
    if type(value) is str or type(value) is int:  # (a name or an id written bare)
        text = str(value)
        return text if text.strip() else None
    if not isinstance(value, dict):
        raise wrong_shape(path, ordinal, field.format(at),
                          "a person (an object with a displayName)")
    shown = value.get("displayName")
    if type(shown) is str and shown.strip().casefold() == FORMER_USER:
        return _former(value, path, ordinal, field.format(at) if at is not None else field)
    for key in ("displayName", "name", "accountId"):
        name = value.get(key)
        if name is None:
            continue
        if type(name) is not str and type(name) is not int:
            raise wrong_shape(path, ordinal, f"{field.format(at)}.{key}",
                              "a person's name (a text)")
        text = str(name)
        if text.strip():
            return text
    return None


def field_text(value: object, path: Path, ordinal: int, name: str) -> str:
    """The text of an issue's own field as the Jira UI shows it: a text as it is; a number
    field's double without a trailing ".0" where it is whole (order 100234, not "100234.0");
    a select list's option (`{"value": ...}`) or a version, component or similar object
    (`{"name": ...}`) by its value or name. Any other object, a list (a multi-select or
    labels) or a true/false is refused, naming the issue and the field: what to read from
    it is undefined."""
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return str(int(value)) if value.is_integer() and abs(value) < 2.0 ** 53 else repr(value)
    if type(value) is dict:
        for key in ("value", "name"):
            inner = value.get(key)
            if type(inner) is str:
                return inner
    raise wrong_shape(path, ordinal, f"fields.{name}",
                      "a text, a number or a single option ({\"value\": ...})")


ID_CELLS = IdCells(partial(update_id, SYSTEM, "key", "changelog.histories.id", ("created",)))
"""Where a Jira record's id was read (`IdCells`): a history's `jira:<key>:<id>` from the
issue's `key` and the history's `id`; an issue's creation, `jira:<key>:created`, and a
history stating no id, `jira:<key>:row<N>` (its place in the file), are made by the
reader of the issue's `key`, which they name."""


def _content(fields: dict[str, Any]) -> tuple[object, ...]:
    return (json.dumps(fields, sort_keys=True, default=str),)


CSV_EXPORT_TOLD = (
    "a Jira issue CSV export (its column 'Issue key') holds each issue as it stands now, "
    "not the history of its statuses (who approved, paid and closed it, and when), which "
    "the audit reads: export the issues as JSON with their changelog (the REST API's issue "
    "search with expand=changelog; docs/sources.md, Jira) and read that")
"""Why a Jira CSV export is not read (`jira_csv_columns`)."""


_CSV_HEAD = 65_536
"""How much of a text that is not JSON is read as a CSV header (`load_issues`): a
header is far shorter, and the csv module refuses a field above 131,072 characters."""


def jira_csv_columns(columns: list[str]) -> bool:
    """Whether a CSV header is a Jira issue export's (Jira's "Export CSV": `Issue key`,
    `Issue id`, `Status`, ...)."""
    names = {c.strip().lower() for c in columns}
    return "issue key" in names and bool(names & {"issue id", "status", "summary"})


def load_issues(path: Path, text: str | None = None) -> list[dict[str, Any]]:
    """The issues of an export (`text`: the file's text, if read already)."""
    if text is None:
        text = as_text(read_export(path))
    try:
        document = loads(text)
    except json.JSONDecodeError as exc:
        import csv

        # Only the start of the text: a one-line JSON document is not copied whole, and a
        # quote opening a long value (a truncated export) is not read past the CSV module's
        # field limit (csv.Error, then the JSON error stands).
        head = text[:_CSV_HEAD].lstrip("\ufeff").split("\n", 1)[0]
        try:
            first = next(csv.reader([head]), [])
        except csv.Error:
            first = []
        if jira_csv_columns(first):
            raise InputError(f"not JSON: {CSV_EXPORT_TOLD}", file=path, line=1) from exc
        raise InputError(f"not JSON: {exc.msg} (column {exc.colno})", file=path,
                         line=exc.lineno) from exc
    except RecursionError as exc:
        raise InputError("malformed JSON: nested too deeply", file=path) from exc
    issues = document.get("issues") if isinstance(document, dict) and "issues" in document \
        else document if isinstance(document, list) else [document]
    if not isinstance(issues, list):
        raise InputError("not a Jira issue export: 'issues' is not a list", file=path)
    for k, issue in enumerate(issues, start=1):
        if not isinstance(issue, dict) or "key" not in issue or "fields" not in issue:
            raise InputError("not a Jira issue (needs key and fields)", file=path, record=k)
        if "changelog" not in issue:
            raise InputError(f"issue {issue['key']} has no changelog: export with "
                             "expand=changelog", file=path, record=k)
    if may_hold(text):
        refuse_lone_surrogates([(k, "", issue) for k, issue in enumerate(issues, start=1)],
                               file=path)
    return issues


@dataclass
class _Reading:
    """What the typed and the general way of reading an export collect, issue after issue:
    the updates, each issue's own fields, the times to read and the record number."""

    cfg: TicketingConfig
    collector: Collector
    updates: Updates = field(default_factory=Updates)
    """Column by column: no tuple per update to make and take apart again."""
    fields_of: dict[str, dict[str, str]] = field(default_factory=dict)
    times: list[tuple[int, str, object]] = field(default_factory=list)
    """Per update: where its quarantine row would go, the field and its value. Times are
    read after the loop, column-wise; a bad one is quarantined in its reading order."""
    number: int = 0
    """The record number of the last record read (an issue, then each of its histories)."""
    accounts: list[str | None] = field(default_factory=list)
    """Per update (as `updates`): the accountId of its author (the reporter of a creation),
    where a living user's object states one, as stated (`_told_apart` reads it with
    `_account`), else None."""

    def issue(self, key: str, fields: dict[str, Any], ordinal: int) -> None:
        """An issue's own fields (order number, currency) and its creation, an update of its
        own. An issue read before in this file (pages of a search that overlap) is a repeat
        of its creation, counted, or a conflict, quarantined (its fields not taken); its
        histories are read all the same, each a record of its own, repeats of one history
        dropped as any repeated event is (a later copy may hold histories the first lacks).
        `ordinal`: the issue's place in the file, for an error."""
        cfg, collector = self.cfg, self.collector
        self.number += 1
        path = collector.file
        known: dict[str, str] = {}  # (a text as it is: field_text's first case)
        for name in (cfg.order_field, cfg.currency_field):
            if name and (value := fields.get(name)) is not None and value != "":
                known[name] = value if type(value) is str else field_text(value, path,
                                                                          ordinal, name)
        created_key = f"{SYSTEM}:{key}:created"
        if created_key in collector.seen:
            collector.duplicate(created_key, self.number, partial(_content, fields), case=key,
                                cells=("key", key))
            return
        self.fields_of.setdefault(key, {}).update(known)
        collector.seen[created_key] = (self.number, partial(_content, fields))
        if not cfg.created_activity:
            return
        created = fields.get("created")
        if created is None or (type(created) is str and not created.strip()):
            # (null, empty or none: the creation, with its requested amount, has no time;
            # quarantined, not left out without a line)
            collector.quarantine(self.number, "fields.created", created,
                                 "empty timestamp" if "created" in fields else
                                 "no fields.created: the issue's creation has no time",
                                 case=key)
            return
        requested = fields.get(cfg.requested_amount_field or "")
        self.times.append((len(collector.problems), "fields.created", created))
        reporter = fields.get("reporter")
        # (its displayName where it names one and not a deleted account, as a rule: what
        # `_person` reads first; `_person` reads "Former user" with its account id)
        shown = reporter.get("displayName") if type(reporter) is dict else None
        if (type(shown) is not str or not (bare := shown.strip())
                or bare.casefold() == FORMER_USER):
            self.accounts.append(None)
            shown = _person(reporter, path, ordinal, "fields.reporter")
        else:
            self.accounts.append(_living_account(reporter))
        self.updates.append(key, str(created), shown,
                            created_key, self.number, {}, False, cfg.created_activity,
                            None if requested in (None, "") else field_text(
                                requested, path, ordinal, cfg.requested_amount_field
                                or ""))

    def finish(self, changed: dict[str, dict[int, str | None]] | None = None) -> Collector:
        """The updates as records. `changed`: the changes of the fields the mapping reads
        by update position (what `updates_to_table` would find in the updates' changes),
        where the reading collected them; renumbered here if updates with a bad time are
        left out."""
        _told_apart(self.updates.author, self.accounts, self.collector,
                    self.updates.row)
        updates, keep = _timed(self.updates, self.times, self.collector)
        if changed is not None and keep is not None:
            place = np.cumsum(keep) - 1
            changed = {name: {int(place[k]): value for k, value in values.items() if keep[k]}
                       for name, values in changed.items()}
        self.collector.fields.update({C.CASE: "key", C.TIMESTAMP: "created"})
        self.collector.field_rows[C.TIMESTAMP] = _time_fields
        updates_to_table(updates, self.cfg, self.collector, self.fields_of, changed=changed)
        return self.collector


def _time_fields(frame: pd.DataFrame, at: npt.NDArray[np.intp],
                 _rows: npt.NDArray[np.int64]) -> list[str]:
    """The field the time of each record at `at` was read from, for the normaliser's lines:
    the issue's `fields.created` for its creation (record id `jira:KEY:created`), else
    the history's `created`."""
    ids = frame[C.EVENT_ID].iloc[at].astype(str).tolist()
    return ["fields.created" if i.endswith(":created") else "created" for i in ids]


# The typed layout: only the fields `read` uses; the others are skipped while decoding. Struct
# instances hold no reference to one another, so the cyclic collector need not track them.
class _Item(msgspec.Struct, gc=False):
    field: Any = ""
    toString: Any = None  # (Jira's names)
    fieldId: Any = None


class _Author(msgspec.Struct, gc=False):
    """A history's author: only the names `_person` reads (Jira's `self`, `avatarUrls` and
    the rest skipped while decoding); a missing one is as a null one to `_person`."""

    displayName: Any = None  # (Jira's names)
    name: Any = None
    accountId: Any = None


class _History(msgspec.Struct, gc=False):
    id: Any = UNSET
    # (a text or a whole number is the person as written; another kind is no `_Author` and
    # is read by the general path, which refuses it naming the field)
    author: _Author | str | int | None = None
    created: Any = UNSET
    items: list[_Item] | None = None


class _Changelog(msgspec.Struct, gc=False):
    histories: list[_History] | None = None
    startAt: Any = None  # (Jira's names)
    total: Any = None


class _Issue(msgspec.Struct, gc=False):
    key: int | str
    fields: dict[str, Any] | None
    changelog: _Changelog | None


class _Export(msgspec.Struct, gc=False):
    issues: list[_Issue]


_decode_typed = msgspec.json.Decoder(_Export).decode


def _typed(path: Path, text: bytes | str, cfg: TicketingConfig) -> Collector | None:
    """The file read through the typed layout, or None where `read`'s general path must
    read it: a text the layout does not decode (a bare list or one issue, a value of another
    type, malformed JSON), one that escapes a surrogate (to be checked for a lone one), or
    one the general path refuses (a history id, or a read item's toString, of another
    kind: it names the record and field).
    The collector holds what the general path's would; the loop is the general path's, with
    the checks the layout's types make left out."""
    if may_hold(text):
        return None
    try:
        with paused_gc():
            issues = _decode_typed(text).issues
    except (msgspec.DecodeError, RecursionError):  # a ValidationError is a DecodeError
        return None
    reading = _Reading(cfg, Collector(SYSTEM, path, id_cells=ID_CELLS))
    collector, updates, times = reading.collector, reading.updates, reading.times
    # The changes of the fields the mapping reads, by update position, collected here (what
    # `_changed` would find in the updates' changes): the others are not kept at all.
    changed: dict[str, dict[int, str | None]] = {name: {} for name in fields_used(cfg)}
    read = changed.get
    unchanged: dict[str, str | None] = {}  # every update's changes: not read
    # The histories' authors' display names judged (the name as one text object where it is
    # a living user's, '' where `_person` reads the author) and their accountIds as read
    living_names: dict[str, str] = {}
    stated_accounts: dict[str, str] = {}
    # A history's update, column by column: its ticket, time, author, record id and row
    # appended here; its changes (none: `changed` holds them), public comment (none),
    # activity and amount (its own: none) after the issue's histories.
    add_ticket, add_time, add_author, add_id, add_row, add_account = (
        updates.ticket.append, updates.time.append, updates.author.append,
        updates.record_id.append, updates.row.append, reading.accounts.append)
    for ordinal, issue in enumerate(issues, start=1):
        fields = issue.fields or {}
        changelog = issue.changelog
        histories = (None if changelog is None else changelog.histories) or []
        key = str(issue.key)
        if changelog is not None:
            _whole_changelog(path, ordinal, key, changelog.startAt, changelog.total,
                             len(histories))
        reading.issue(key, fields, ordinal)
        number = reading.number
        problems = len(collector.problems)  # (a history quarantines none here)
        prefix = f"{SYSTEM}:{key}:"
        for h, history in enumerate(histories):
            number += 1
            created = history.created
            if type(created) is str:  # (as a rule)
                time = created
            elif created is UNSET:
                created, time = None, ""
            else:
                time = str(created)
            times.append((problems, "created", created))
            position = len(updates.ticket)
            for item in history.items or ():
                name = item.field
                # By name and by id, in this order: a later item's value wins, as it
                # would in the update's changes.
                hit = read(name) if type(name) is str else read(str(name))
                field_id = item.fieldId
                if field_id:
                    by_id = read(str(field_id))
                    if hit is None and by_id is None:  # a field the mapping does not read
                        continue
                elif hit is None:  # (as a rule, an item names no field id)
                    continue
                else:
                    by_id = None
                value = item.toString
                if value is not None and type(value) is not str:
                    try:
                        value = scalar_text(value)
                    except NotAValue:
                        return None  # (refused by the general path, naming it)
                if hit is not None:
                    hit[position] = value
                if by_id is not None:
                    by_id[position] = value
            # (an id given as null or empty is no id, as a missing one; one of another kind is
            # refused by the general path, naming it)
            stated = history.id
            if type(stated) is str and stated.strip():  # (as a rule)
                record_id = prefix + stated
            elif type(stated) is int:
                record_id = f"{prefix}{stated}"
            elif stated is UNSET or unstated(stated):
                record_id = f"{prefix}row{number}"
            else:  # (not_id)
                return None
            # The author's displayName where it names one and not a deleted account (as a
            # rule; what `_person` reads first), else `_person` of what the history states
            # (which reads a deleted account's "Former user" with its account id).
            author = history.author
            account: str | None = None
            person: str | None
            if type(author) is _Author:
                shown = author.displayName
                # (each distinct name judged once, and read as one text object: its
                # histories' authors are then converted to Arrow, and hashed by
                # `_told_apart`, as a few objects rather than one decoded text each)
                living = living_names.get(shown) if type(shown) is str else ""
                if living is None:
                    bare = shown.strip()
                    living = living_names[shown] = \
                        shown if bare and bare.casefold() != FORMER_USER else ""
                if living:
                    # (as stated where a text, as a rule: `_told_apart` reads the
                    # distinct ones, `_account`)
                    person, stated_id = living, author.accountId
                    account = (stated_accounts.setdefault(stated_id, stated_id)
                               if type(stated_id) is str else _account(stated_id))
                else:
                    person = _person({"displayName": shown, "name": author.name,
                                      "accountId": author.accountId},
                                     path, ordinal, "changelog.histories[{}].author", h)
            else:
                person = _person(author, path, ordinal, "changelog.histories[{}].author", h)
            add_ticket(key)
            add_time(time)
            add_author(person)
            add_id(record_id)
            add_row(number)
            add_account(account)
        read_here = len(updates.ticket) - len(updates.changes)
        updates.changes.extend(repeat(unchanged, read_here))
        updates.public_comment.extend(repeat(False, read_here))
        updates.activity.extend(repeat(None, read_here))
        updates.amount.extend(repeat(None, read_here))
        reading.number = number
    return reading.finish(changed)


def read(path: Path, cfg: TicketingConfig) -> Collector:
    """The export's issue updates; an error naming an issue (a record) names its line too
    (`records_located`)."""
    with records_located(path, listed_records("issues")):
        return _read(path, cfg)


def _read(path: Path, cfg: TicketingConfig) -> Collector:
    data = read_export(path)
    typed = _typed(path, data, cfg)
    if typed is not None:
        return typed
    issues = load_issues(path, as_text(data))
    del data
    reading = _Reading(cfg, Collector(SYSTEM, path, id_cells=ID_CELLS))
    updates, times = reading.updates, reading.times
    used = frozenset(fields_used(cfg))
    for ordinal, issue in enumerate(issues, start=1):
        key_value, fields = issue["key"], issue.get("fields") or {}
        if type(key_value) is not str and type(key_value) is not int:
            raise wrong_shape(path, ordinal, "key", "an issue key (a text)")
        if type(fields) is not dict:
            raise wrong_shape(path, ordinal, "fields", "an object")
        changelog = issue.get("changelog") or {}
        if type(changelog) is not dict:
            raise wrong_shape(path, ordinal, "changelog", "an object")
        histories = changelog.get("histories") or []
        if type(histories) is not list:
            raise wrong_shape(path, ordinal, "changelog.histories", "a list")
        key = str(key_value)
        _whole_changelog(path, ordinal, key, changelog.get("startAt"), changelog.get("total"),
                         len(histories))
        reading.issue(key, fields, ordinal)
        number, collector = reading.number, reading.collector
        for h, history in enumerate(histories):
            if type(history) is not dict:
                raise wrong_shape(path, ordinal, f"changelog.histories[{h}]", "an object")
            items = history.get("items")
            if items is not None and type(items) is not list:
                raise wrong_shape(path, ordinal, f"changelog.histories[{h}].items",
                                  "a list of objects")
            number += 1
            created = history.get("created")
            times.append((len(collector.problems), "created", created))
            time = str(history.get("created", ""))
            changes: dict[str, str | None] = {}
            for i, item in enumerate(items or []):
                if type(item) is not dict:
                    raise wrong_shape(path, ordinal, f"changelog.histories[{h}].items",
                                      "a list of objects")
                name = item.get("field", "")
                if type(name) is not str:
                    name = str(name)
                value = item.get("toString")
                field_id = item.get("fieldId")
                if value is not None and type(value) is not str:
                    try:
                        value = scalar_text(value)  # (a number or true/false as JSON's)
                    except NotAValue:
                        if name in used or (field_id and str(field_id) in used):
                            raise wrong_shape(
                                path, ordinal,
                                f"changelog.histories[{h}].items[{i}].toString",
                                "a text") from None
                        value = None  # (a field the mapping does not read)
                changes[name] = value
                if field_id:
                    changes[str(field_id)] = value
            history_id = history.get("id")  # (null or empty: no id, as a missing one)
            if history_id is not None and not_id(history_id):
                raise wrong_shape(path, ordinal, f"changelog.histories[{h}].id",
                                  "an id (a number or a text)")
            made = f"row{number}" if unstated(history_id) else history_id
            stated = history.get("author")
            author = _person(stated, path, ordinal, "changelog.histories[{}].author", h)
            reading.accounts.append(_living_account(stated))
            updates.append(key, time, author, f"{SYSTEM}:{key}:{made}", number, changes)
        reading.number = number
    return reading.finish()


def _whole_changelog(path: Path, ordinal: int, key: str, start: object, total: object,
                     held: int) -> None:
    """Refuse an issue whose changelog is one page of a longer one: Jira's
    `expand=changelog` returns at most 100 histories (`total` says how many there are,
    `startAt` where the page starts), and the updates left out are usually the last ones,
    the approvals and the closing; audited without them, the case would read as never
    approved. Where the export does not say (no `total`), the histories are taken as all."""
    first = start if type(start) is int else 0
    if type(total) is int and (first > 0 or total > held):
        raise InputError(
            f"issue {key}: its changelog holds histories {first + 1}-{first + held} of "
            f"{total} (one page; fetch each issue's whole changelog, e.g. from "
            "/rest/api/3/issue/KEY/changelog, into the export)", file=path, record=ordinal,
            field="changelog.total")


def _timed(updates: Updates, times: list[tuple[int, str, object]],
           collector: Collector) -> tuple[Updates, list[bool] | None]:
    """The updates with their times as ISO 8601, and which of them are kept (None: all);
    those with a time that is not a Jira timestamp become quarantine rows, at the place in
    the problems they were read at."""
    written = arrow_texts(updates.time)  # (read once, for both)
    # (the time's quarantine value as written, not as ISO 8601)
    collector.field_values[C.TIMESTAMP] = cells_of_rows(
        updates.row, updates.time if written is None else written)
    made = None if written is None else millis_iso_text(written)
    if made is not None:  # Jira's usual times, all: kept in Arrow, no text per update made
        updates.time, updates.time_text = [], made
        return updates, None
    fast = offset_iso_column(updates.time if written is None else written)
    failed: list[tuple[int, dict[str, object]]] = []
    if None not in fast:  # every time read column-wise (as a rule): no loop over them
        updates.time = cast(list[str], fast)
        return updates, None
    for k, value in enumerate(fast):
        if value is None:
            try:
                fast[k] = iso(updates.time[k])
            except BadValue as exc:
                position, name, cell = times[k]
                failed.append((position, {
                    "file": collector.file.name, "row": updates.row[k], "field": name,
                    "value": json_text(cell), "reason": str(exc),
                    "case": updates.ticket[k] or ""}))
    updates.time = [t for t in fast if t is not None]
    if not failed:
        return updates, None
    for position, problem in reversed(failed):
        collector.problems.insert(position, problem)
    keep = [t is not None for t in fast]
    kept = Updates()
    for name in ("ticket", "author", "record_id", "row", "changes", "public_comment",
                 "activity", "amount"):
        setattr(kept, name, [v for v, k in zip(getattr(updates, name), keep, strict=True)
                             if k])
    kept.time = updates.time
    return kept, keep


def _living_account(value: object) -> str | None:
    """The accountId of a user object (`_account`) whose person is its displayName (as
    `_person` reads it: stated, not blank, not a deleted account's "Former user"), else
    None."""
    if type(value) is not dict:
        return None
    shown = value.get("displayName")
    if type(shown) is not str or not shown.strip() or shown.strip().casefold() == FORMER_USER:
        return None
    return _account(value.get("accountId"))


@dataclass
class Accounts:
    """A Jira export's display names stated with an accountId, for the import to tell two
    people of one name apart across its Jira exports (`told_apart_across`) as `_told_apart`
    does within one: January's export may state one Ben Carter, February's the other."""

    ids: dict[str, set[str]]
    """Per name (`person_key`): the accountIds the export states with it."""
    named: dict[str, str]
    """Per name as stated and left bare in the export (one accountId there): that
    accountId."""
    bare_rows: dict[str, list[int]]
    """Per name of `named`: the rows of its updates that state no accountId (who it was
    cannot be told: they keep the bare name)."""
    shown: dict[str, str]
    """Per name (`person_key`): as the notes and warnings show it (the first as stated,
    without surrounding spaces)."""
    told: set[str] = field(default_factory=set)
    """Of a log an earlier import made (`told_apart_before`): the names (`person_key`) it
    tells apart, though it may hold one of the people only."""


def _told_apart(authors: list[str | None], accounts: list[str | None],
                collector: Collector, rows: list[int] | None = None) -> None:
    """Where one display name (compared as people are, `person_key`) is stated with more
    than one accountId in the export, each such author becomes `<name> (<accountId>)`, as a
    deleted account's "Former user" does: two living people of one name (two Ben Carters)
    are two people to the segregation-of-duty rules (before, one's request approved by the
    other was self-approval, SD001, and one's approval after the other's evidence was no
    four-eyes breach of two people). Names stated with one accountId stay as they are, so
    reports read as before; an update of such a name stating no accountId keeps the bare
    name (who it was cannot be told). The import's notes name the names told apart.
    `collector.people` keeps what the import needs to name them alike in its other Jira
    exports (`Accounts`; `rows`: each update's row)."""
    # (the distinct pairs first, in C: as a rule one accountId per name, and no update is
    # visited again)
    ids: dict[str, set[str]] = {}
    pairs: dict[tuple[str, str], tuple[str, str]] = {}  # (name, as stated) -> (key, id)
    distinct = set(zip(authors, accounts, strict=True))
    for name, stated in distinct:
        account = None if stated is None else _account(stated)
        if name is not None and account is not None:
            key = C.person_key(name)
            ids.setdefault(key, set()).add(account)
            pairs[name, cast(str, stated)] = (key, account)
    shared = {key for key, held in ids.items() if len(held) > 1}
    if ids and rows is not None:
        named = {name: account for (name, _), (key, account) in pairs.items()
                 if key not in shared}
        bare_rows: dict[str, list[int]] = {}
        if unstated := {name for name, stated in distinct if name in named
                        and (stated is None or _account(stated) is None)}:  # (as a rule none)
            for name, stated, row in zip(authors, accounts, rows, strict=True):
                if name in unstated and (stated is None or _account(stated) is None):
                    bare_rows.setdefault(name, []).append(int(row))
        collector.people = Accounts(ids, named, bare_rows, {
            key: name.strip() for (name, _), (key, _) in sorted(pairs.items(), reverse=True)})
    if not shared:
        return
    renamed = {pair: f"{pair[0].strip()} ({account})"
               for pair, (key, account) in pairs.items() if key in shared}
    shown = {key: name.strip() for (name, _), (key, _) in sorted(pairs.items())
             if key in shared}
    for k, pair in enumerate(zip(authors, accounts, strict=True)):
        if pair in renamed:
            authors[k] = renamed[pair]
    first = min(shared)
    collector.notes.append(
        f"{collector.file.name}: {len(shared):,} display name(s) are stated with several "
        "accountIds (different people of one name): each such author is named with its "
        f"accountId, so that they are told apart (the first: {shown[first]}, accountIds "
        f"{', '.join(sorted(ids[first]))}); a role history names them so too, e.g. "
        f"{shown[first]} ({sorted(ids[first])[0]})")


def told_apart_across(logs: list[tuple[str, pd.DataFrame, Accounts]]) -> list[str]:
    """Two people of one display name told apart across the import's Jira exports: where
    the exports together state one name with several accountIds, each author of it stating
    one is `<name> (<accountId>)` in every export, as `_told_apart` names them within one
    (before, an export stating one of them left him bare, and the same person was two names:
    his self-approval in January's issue repeated in February's export was not found, and
    the issue's creation, named otherwise in each, was a conflict instead of a repeat).
    `logs`: per Jira export, its label, its log (renamed in place) and its `Accounts`.
    The notes name the names told apart only across the exports."""
    ids: dict[str, set[str]] = {}
    told: set[str] = set()
    for _label, _log, people in logs:
        told |= people.told
        for key, held in people.ids.items():
            ids.setdefault(key, set()).update(held)
    shared = {key for key, held in ids.items() if len(held) > 1} | (told & set(ids))
    across: dict[str, str] = {}  # key -> name as shown, of the names renamed here
    labels: list[str] = []
    for label, log, people in logs:
        renamed = {name: f"{name.strip()} ({account})"
                   for name, account in people.named.items()
                   if C.person_key(name) in shared}
        if not renamed or C.RESOURCE not in log.columns:
            continue
        resource = log[C.RESOURCE].astype(object)
        values = resource.to_numpy(copy=True)
        rows = log[C.SOURCE_ROW].to_numpy()
        for name, named in renamed.items():
            at = values == name
            if bare := people.bare_rows.get(name):
                at &= ~np.isin(rows, bare)
            if at.any():
                values[at] = named
                across.setdefault(C.person_key(name), name.strip())
        log[C.RESOURCE] = pd.Series(values, index=log.index, dtype=object)
        C.compact(log)
        labels.append(label)
    if not across:
        return []
    first = min(across)
    return [
        f"{', '.join(labels)}: {len(across):,} display name(s) are stated with different "
        "accountIds in different Jira exports (different people of one name): each such "
        "author is named with its accountId in every export, so that they are told apart "
        f"and one person is one name throughout (the first: {across[first]}, accountIds "
        f"{', '.join(sorted(ids[first]))}); a role history names them so too, e.g. "
        f"{across[first]} ({sorted(ids[first])[0]})"]


def told_apart_names(people: list[Accounts]) -> dict[str, tuple[str, list[str]]]:
    """The names the import's Jira exports state with several accountIds (each such author
    named `<name> (<accountId>)`): per name (`person_key`), as shown and its accountIds."""
    ids: dict[str, set[str]] = {}
    shown: dict[str, str] = {}
    told: set[str] = set()
    for one in people:
        told |= one.told
        for key, held in one.ids.items():
            ids.setdefault(key, set()).update(held)
            shown.setdefault(key, one.shown[key])
    return {key: (shown[key], sorted(held)) for key, held in sorted(ids.items())
            if len(held) > 1 or key in told}


_ACCOUNT_ID = re.compile(r"\d+:[0-9a-f]+(?:-[0-9a-f]+)*|qm:[0-9a-f-]+:[0-9a-f-]+|[0-9a-f]{24}")
"""What a Jira Cloud accountId looks like: a number, a colon and a UUID
(`557058:f58131cb-b67d-...`), a service-desk customer's `qm:<uuid>:<uuid>`, or 24 hex
digits (`5b10ac8d82e05b22cc7d4ef5`): told from a display name's own parentheses (`Ben
(Ops)`, `Dana Lee (ext:vendor)`; before, any `x:y` was taken for one, and a Dana Lee of
this month's export was renamed as another person than last month's `Dana Lee (ext:vendor)`)."""


def told_apart_before(log: pd.DataFrame) -> Accounts | None:
    """The Jira names an earlier import told apart, as a log it made holds them (a month's
    run: last month's log beside this month's exports): its Jira events' authors named
    `<name> (<accountId>)`, a deleted account's "Former user" aside; None where it holds
    none. This month's export stating one of them alone names him so too (before, bare:
    the events of his issues given in both, named otherwise in each, were conflicts)."""
    if C.RESOURCE not in log.columns or C.SOURCE_SYSTEM not in log.columns:
        return None
    system, resource = log[C.SOURCE_SYSTEM], log[C.RESOURCE]
    if isinstance(system.dtype, pd.CategoricalDtype):  # (as a log's, coded: no text compared
        if SYSTEM not in system.cat.categories:       # per event)
            return None
        jira = system.cat.codes.to_numpy() == system.cat.categories.get_loc(SYSTEM)
    else:
        jira = np.asarray(system.astype(object) == SYSTEM, dtype=bool)
    if not jira.any():
        return None
    if isinstance(resource.dtype, pd.CategoricalDtype):
        codes = np.unique(resource.cat.codes.to_numpy()[jira])
        names = resource.cat.categories.take(codes[codes >= 0])
    else:
        names = pd.unique(resource[jira].dropna())
    ids: dict[str, set[str]] = {}
    shown: dict[str, str] = {}
    for value in (str(name) for name in names if ")" in str(name)):
        found = _TOLD_APART.fullmatch(value.strip())
        if found is None or not _ACCOUNT_ID.fullmatch(found[2]) or \
                found[1].strip().casefold() == FORMER_USER:
            continue
        key = C.person_key(found[1])
        ids.setdefault(key, set()).add(found[2])
        shown.setdefault(key, found[1].strip())
    return Accounts(ids, {}, {}, shown, set(ids)) if ids else None


_TOLD_APART = re.compile(r"(.*) \(([^()]*)\)", re.DOTALL)


def same_but_told_apart(kept: pd.Series, repeat: pd.Series,
                        told: dict[str, tuple[str, list[str]]]) -> np.ndarray:
    """Per pair of an event kept and its repeat's (`resource`, aligned by position): whether
    they are one name but that one of them is told apart (`<name> (<accountId>)`, the name
    and accountId among `told`, `told_apart_names`) and the other bare: a log's event of
    last month naming one Ben Carter bare, repeated in this month's export that tells him
    from the other (a repeat, not a conflict). Blank or other names: False."""
    def plain(value: object) -> str | None:
        if type(value) is not str:
            return None
        found = _TOLD_APART.fullmatch(value.strip())
        if found is not None and (key := C.person_key(found[1])) in told and \
                found[2] in told[key][1]:
            return key
        return None

    out = np.zeros(len(kept), dtype=bool)
    for k, (one, other) in enumerate(zip(kept.astype(object).tolist(),
                                         repeat.astype(object).tolist(), strict=True)):
        if type(one) is not str or type(other) is not str:
            continue
        if (key := plain(other)) is not None and plain(one) is None:
            out[k] = C.person_key(one) == key
        elif (key := plain(one)) is not None and plain(other) is None:
            out[k] = C.person_key(other) == key
    return out


def _bare_and_apart(log: pd.DataFrame, told: dict[str, tuple[str, list[str]]],
                    ) -> tuple[pd.Series, dict[str, list[str]], dict[str, list[str]]]:
    """The log's resources, and per name the Jira exports tell apart (`person_key`) the
    values events hold of it bare and those told apart (`<name> (<accountId>)`)."""
    resource = log[C.RESOURCE]
    values: Any
    if isinstance(resource.dtype, pd.CategoricalDtype):  # the names events hold (not an
        codes = np.unique(resource.cat.codes.to_numpy())  # unused category: "0 event(s)")
        values = resource.cat.categories.take(codes[codes >= 0])
    else:
        values = resource.dropna().unique()
    bare: dict[str, list[str]] = {}
    apart: dict[str, list[str]] = {}
    for value in values:
        if type(value) is not str:
            continue
        key = C.person_key(value)
        if key in told:
            bare.setdefault(key, []).append(value)
        elif (found := _TOLD_APART.fullmatch(value.strip())) is not None and \
                (named := C.person_key(found[1])) in told and found[2] in told[named][1]:
            apart.setdefault(named, []).append(value)
    return resource, bare, apart


def _meeting(log: pd.DataFrame, resource: pd.Series, bare: list[str],
             apart: list[str]) -> list[str]:
    """The cases (sorted texts) holding an event of a bare name and one of the same name
    told apart by accountId."""
    if not bare or not apart:
        return []
    held = resource.isin(bare).to_numpy(dtype=bool)
    other = resource.isin(apart).to_numpy(dtype=bool)
    return sorted(set(log[C.CASE][held].astype(str)) & set(log[C.CASE][other].astype(str)))


def told_apart_cases(log: pd.DataFrame, told: dict[str, tuple[str, list[str]]],
                     ) -> list[str]:
    """The cases (sorted texts) where a name the Jira exports tell apart (`told_apart_names`)
    is held bare by some events and told apart by others: the segregation-of-duty rules
    compare the two as two people there (no SD001, SD002 or SD003 finding, whoever it
    was), so they could not judge those events (findings.json `unjudged_cases`); the
    cases `told_apart_warnings` names."""
    if not told or C.RESOURCE not in log.columns:
        return []
    resource, bare, apart = _bare_and_apart(log, told)
    return sorted({case for key in bare
                   for case in _meeting(log, resource, bare[key], apart.get(key, []))})


def told_apart_warnings(log: pd.DataFrame, told: dict[str, tuple[str, list[str]]],
                        role_people: Any = None) -> list[str]:
    """A warning per name the Jira exports tell apart (`told_apart_names`) that the log
    also holds bare (another system's export: a Stripe refund's `executed_by`; a Jira
    update stating no accountId) or that the role history gives roles to bare: that name
    is neither of the people told apart, so the segregation-of-duty rules compare its
    events with neither (an approval by `Ben Carter (557058:aaaa)` and a payout by
    `Ben Carter` are no SD002 finding, whoever paid) and a role given to it is given to
    neither (AP004 and SD004 read their roles as not recorded). Who is who cannot be told
    from the data: the warning names the name, where it is bare and the cases where both
    meet, for the auditor to resolve. `role_people`: the role history's people (texts)."""
    if not told or C.RESOURCE not in log.columns:
        return []
    resource, bare, apart = _bare_and_apart(log, told)
    in_roles = {C.person_key(str(person)) for person in (role_people or ())} & set(told)
    out = []
    for key, (shown, ids) in told.items():
        if key not in bare and key not in in_roles:
            continue
        where = []
        cases: list[str] = []
        if key in bare:
            held = resource.isin(bare[key]).to_numpy(dtype=bool)
            files = sorted(set(log[C.SOURCE_FILE][held].astype(str)))
            where.append(f"{int(held.sum()):,} event(s) of {', '.join(files)} name "
                         f"'{shown}' without an accountId")
            cases = _meeting(log, resource, bare[key], apart.get(key, []))
        if key in in_roles:
            where.append(f"the role history gives roles to '{shown}'")
        met = (f"; {len(cases):,} case(s) hold both ({', '.join(cases[:5])}"
               f"{', ...' if len(cases) > 5 else ''}), where an approval by one and a payout "
               "or request by the bare name are compared as two people (no SD001, SD002 or "
               "SD003 finding, whoever it was)" if cases else "")
        told_as = (f"is {len(ids)} people in the Jira exports (accountIds {', '.join(ids)}, "
                   f"named '{shown} ({ids[0]})' and so on)" if len(ids) > 1 else
                   f"is told apart by accountId in the Jira exports (accountId {ids[0]}, "
                   f"named '{shown} ({ids[0]})')")
        out.append(
            f"'{shown}' {told_as}, but "
            f"{' and '.join(where)}: that name is neither of them, and who is who cannot be "
            f"told from the data{met}; a role given to '{shown}' is given to neither "
            "(unauthorized-approver and unauthorized-performer read their roles as not "
            "recorded). Resolve who is who: name each in the role history as the log does "
            f"('{shown} ({ids[0]})'), and the person another system names (see "
            "docs/sources.md, Jira)")
    return out
