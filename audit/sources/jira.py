"""Jira (Service Management): issues with their changelog, as the REST API returns them.

`{"issues": [{"key", "fields": {"created", "reporter", ...}, "changelog": {"histories":
[{"id", "author": {"displayName"}, "created", "items": [{"field", "fromString", "toString"}]}]
}}]}` (a bare list of issues, or one issue, is read too). The issue's creation is an update of
its own (the reporter at `fields.created`); each history is one more.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from audit.errors import InputError
from audit.sources.common import BadValue, Collector, strptime
from audit.sources.config import TicketingConfig
from audit.sources.ticketing import Update, updates_to_table

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


def _person(value: Any) -> str | None:
    if isinstance(value, dict):
        name = value.get("displayName") or value.get("name") or value.get("accountId")
        return None if name is None else str(name)
    return None


def _content(fields: dict[str, Any]) -> tuple[object, ...]:
    return (json.dumps(fields, sort_keys=True, default=str),)


def load_issues(path: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=path) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", file=path, row=exc.lineno) from exc
    issues = document.get("issues") if isinstance(document, dict) and "issues" in document \
        else document if isinstance(document, list) else [document]
    if not isinstance(issues, list):
        raise InputError("not a Jira issue export: 'issues' is not a list", file=path)
    for k, issue in enumerate(issues, start=1):
        if not isinstance(issue, dict) or "key" not in issue or "fields" not in issue:
            raise InputError("not a Jira issue (needs key and fields)", file=path, row=k)
        if "changelog" not in issue:
            raise InputError(f"issue {issue['key']} has no changelog: export with "
                             "expand=changelog", file=path, row=k)
    return issues


def read(path: Path, cfg: TicketingConfig) -> Collector:
    issues = load_issues(path)
    collector = Collector(SYSTEM, path)
    updates: list[Update] = []
    fields_of: dict[str, dict[str, str]] = {}
    number = 0
    for issue in issues:
        key = str(issue["key"])
        fields = issue.get("fields") or {}
        number += 1
        known = {name: str(fields[name]) for name in (cfg.order_field, cfg.currency_field)
                 if name and fields.get(name) not in (None, "")}
        fields_of.setdefault(key, {}).update(known)
        if collector.duplicate(f"{SYSTEM}:{key}:created", number, partial(_content, fields)):
            histories = (issue.get("changelog") or {}).get("histories") or []
            number += len(histories)
            collector.deduplicated += len(histories)
            continue
        if cfg.created_activity and fields.get("created"):
            try:
                created = iso(str(fields["created"]))
            except BadValue as exc:
                collector.quarantine(number, "fields.created", fields["created"], str(exc))
            else:
                requested = fields.get(cfg.requested_amount_field or "")
                updates.append(Update(key, created, _person(fields.get("reporter")),
                                      f"{SYSTEM}:{key}:created", number,
                                      activity=cfg.created_activity,
                                      amount=None if requested in (None, "") else
                                      str(requested)))
        for history in (issue.get("changelog") or {}).get("histories") or []:
            number += 1
            history_id = str(history.get("id", f"row{number}"))
            try:
                time = iso(str(history.get("created", "")))
            except BadValue as exc:
                collector.quarantine(number, "created", history.get("created"), str(exc))
                continue
            changes: dict[str, str | None] = {}
            for item in history.get("items") or []:
                name = str(item.get("field", ""))
                value = item.get("toString")
                changes[name] = None if value is None else str(value)
                field_id = item.get("fieldId")
                if field_id:
                    changes[str(field_id)] = changes[name]
            updates.append(Update(key, time, _person(history.get("author")),
                                  f"{SYSTEM}:{key}:{history_id}", number, changes))
    updates_to_table(updates, cfg, collector, fields_of)
    return collector
