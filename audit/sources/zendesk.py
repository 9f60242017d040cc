"""Zendesk: the ticket audits export (the audits API's JSON, or JSON lines of audits).

One audit = one update: `ticket_id`, `created_at`, `author_id` (names from a sideloaded
`users` list; -1 is Zendesk itself, i.e. no person) and `events` of type Create/Change
(`field_name`, `value`, `previous_value`) or Comment (`public`).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from audit.errors import InputError
from audit.gcpause import paused_gc
from audit.ingest.jsontext import loads, may_hold, refuse_lone_surrogates
from audit.sources.common import Collector, wrong_shape
from audit.sources.config import TicketingConfig
from audit.sources.ticketing import UpdateRow, Updates, updates_to_table

SYSTEM = "zendesk"


def load_audits(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, str]]:
    """(record number, audit) pairs and user id -> name, from JSON or JSON lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=path) from exc
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
        for user in listed:
            if isinstance(user, dict) and "id" in user:
                users[str(user["id"])] = str(user.get("name") or user["id"])
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
                                 row=number) from exc
            except RecursionError as exc:
                raise InputError("malformed JSON: nested too deeply", file=path,
                                 row=number) from exc
            if isinstance(item, dict) and isinstance(item.get("user"), dict):
                users[str(item["user"].get("id"))] = str(item["user"].get("name"))
            else:
                audits.append((number, item))
    for number, audit in audits:
        if not isinstance(audit, dict) or "ticket_id" not in audit or \
                "created_at" not in audit or "events" not in audit:
            raise InputError("not a Zendesk ticket audit (needs ticket_id, created_at, events)",
                             file=path, row=number)
    if may_hold(text):
        refuse_lone_surrogates([*((number, "", audit) for number, audit in audits),
                                (None, "users", users)], file=path)  # users: id -> name
    return audits, users


def _content(audit: dict[str, Any]) -> tuple[object, ...]:
    return (json.dumps(audit, sort_keys=True),)


def _not_id(value: object) -> bool:
    return type(value) is not int and type(value) is not str  # (a bool is not an id)


def read(path: Path, cfg: TicketingConfig) -> Collector:
    audits, users = load_audits(path)
    collector = Collector(SYSTEM, path)
    updates: list[UpdateRow] = []
    seen = collector.seen
    # Author id as found (a number or a text) -> name; -1 is Zendesk itself (no person).
    authors: dict[object, str | None] = {None: None, -1: None, "-1": None}
    for number, audit in audits:
        ticket_id, audit_id = audit["ticket_id"], audit.get("id")
        if _not_id(ticket_id) or (audit_id is not None and _not_id(audit_id)):
            raise wrong_shape(path, number, "ticket_id" if _not_id(ticket_id) else "id",
                              "an id (a number or a text)")
        ticket = str(ticket_id)
        key = (f"{SYSTEM}:{ticket}:{audit_id}" if "id" in audit
               else f"{SYSTEM}:{ticket}:row{number}")
        content = partial(_content, audit)
        if key in seen:
            collector.duplicate(key, number, content)
            continue
        seen[key] = (number, content)
        time = str(audit["created_at"])
        if not time.strip():
            collector.quarantine(number, "created_at", time, "empty timestamp")
            continue
        author_id = audit.get("author_id")
        if author_id is not None and _not_id(author_id):  # checked before the cache lookup
            raise wrong_shape(path, number, "author_id", "an id (a number or a text)")
        try:
            author = authors[author_id]
        except KeyError:
            author = authors[author_id] = users.get(str(author_id), str(author_id))
        changes: dict[str, str | None] = {}
        public = False
        events = audit["events"] or []
        if type(events) is not list:
            raise wrong_shape(path, number, "events", "a list of events (objects)")
        for event in events:
            if type(event) is not dict:
                raise wrong_shape(path, number, "events", "a list of events (objects)")
            kind = event.get("type", "")  # only a text equals "Create", "Change", "Comment"
            if (kind == "Create" or kind == "Change") and "field_name" in event:
                value = event.get("value")
                if value is not None and type(value) is not str:
                    value = " ".join(str(v) for v in value) if isinstance(value, list) \
                        else str(value)
                name = event["field_name"]
                changes[name if type(name) is str else str(name)] = value
            elif kind == "Comment" and bool(event.get("public")):
                public = True
        updates.append((ticket, time, author, key, number, changes, public, None, None))
    updates_to_table(Updates.of_rows(updates), cfg, collector)
    return collector
