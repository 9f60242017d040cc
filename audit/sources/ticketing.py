"""Ticket updates -> canonical events, shared by the Zendesk, Jira and ServiceNow adapters.

Each adapter reads its export into `Update`s (one per audit / changelog history / sys_audit
update); the activity, amount, currency, order number and evidence items of each come from
the system's mapping in the sources file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audit import canonical as C
from audit.sources.common import BadValue, Collector, money, parse_major
from audit.sources.config import TicketingConfig


@dataclass
class Update:
    ticket: str
    time: str
    """ISO 8601 with offset."""
    author: str | None
    record_id: str
    row: int
    changes: dict[str, str | None] = field(default_factory=dict)
    public_comment: bool = False
    activity: str | None = None
    """Set by the adapter when the update means an activity by itself (e.g. creation)."""
    amount: str | None = None


def updates_to_table(updates: list[Update], cfg: TicketingConfig, collector: Collector,
                     ticket_fields: dict[str, dict[str, str]] | None = None) -> None:
    """Turn updates into records in `collector`; `ticket_fields` are values known per ticket
    outside the updates (e.g. Jira's `fields` at creation)."""
    known: dict[str, dict[str, str]] = {t: dict(v) for t, v in (ticket_fields or {}).items()}
    for update in updates:
        state = known.setdefault(update.ticket, {})
        for name in (cfg.order_field, cfg.currency_field):
            value = update.changes.get(name or "")
            if name and value:
                state.setdefault(name, value)
    ordered = sorted(updates, key=lambda u: (u.ticket, u.time, u.row))
    for update in ordered:
        activity = update.activity or cfg.activity_of(update.changes, update.public_comment)
        if activity is None:
            collector.skipped += 1
            continue
        amount_text = update.amount
        for name in cfg.amount_fields:
            if update.changes.get(name):
                amount_text = update.changes[name]
        amount: str | None = None
        if amount_text:
            try:
                amount = money(parse_major(amount_text))
            except BadValue as exc:
                collector.quarantine(update.row, C.AMOUNT, amount_text, str(exc))
                continue
        state = known.get(update.ticket, {})
        record: dict[str, str | None] = {
            C.EVENT_ID: update.record_id,
            C.CASE: update.ticket,
            C.ACTIVITY: activity,
            C.TIMESTAMP: update.time,
            C.RESOURCE: update.author,
            C.LIFECYCLE: "complete",
            C.AMOUNT: amount,
            C.CURRENCY: state.get(cfg.currency_field or "") if amount is not None else None,
            C.CHANNEL: cfg.channel,
            C.TICKET_ID: update.ticket,
            C.ORDER_ID: state.get(cfg.order_field or ""),
        }
        for source_field, column in cfg.evidence_fields.items():
            record[column] = update.changes.get(source_field) or None
        collector.add(update.row, record)

