"""Build a canonical event log from the compact YAML of the per-rule cases.

A log maps case id -> list of events (or -> {events: [...], <case defaults>}). An event names
its activity (`a`) and only what the case is about; the rest is filled in the way an import
would fill it, from the label's control in the policy. Event keys (default in brackets):

- `a`: activity label (required).
- `t`: ISO 8601 time (`2026-07-01T09:00Z`; naive = UTC) or `+<duration>` (`+2d`) after the
  previous event [previous event + 1h; the first event at the case's `start`].
- `r`: resource, `null` = none recorded [by control: request, evidence and others Ben Carter;
  approve and reject Nadia Rossi; second-approve Rita Alvarez; pay and pay-failed Victor Chen;
  purchase stripe-api].
- `role`: org:role, `null` = none recorded [the role the resource holds at `t`, from
  `audit.sample.process.role_of`: Lena Fischer is customer-service until 2026-08-17 06:00 UTC,
  supervisor from then on].
- `amount`, `cur`: refund:amount and refund:currency [purchase: the case's `charged`;
  request, approvals and payouts: the case's `amount`; other events none].
- `status`: payment:status [purchase and pay succeeded, pay-failed failed].
- `method`: payment:method [purchase and payouts: the case's `method`].
- `charge`, `order`, `ticket`: ids [the case's; the ticket only on ticket-system events, so a
  case of payment events alone has no ticket].
- `ev`: evidence items, named without `evidence:`; `null` blanks one [on evidence events:
  every item the channel requires].
- `id`: event:id [`<case>-01`, `<case>-02`, ...].
- `refund`: payment:refund_id [payouts: `re_<case>_<n>`, the n-th payout; others none].
- `channel`: refund:channel, `null` = none stated [the case's].

Case defaults: `channel` ecommerce, `amount` 100, `charged` = amount, `cur` EUR, `method` card,
`charge` ch_<case>, `order` O-<case>, `ticket` T-<case>, `start` 2026-07-01T08:00Z.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

from audit import canonical as C
from audit.policy import Policy, parse_duration
from audit.sample import process as P

EVENT_KEYS = frozenset({"a", "t", "r", "role", "amount", "cur", "status", "method", "charge",
                        "order", "ticket", "ev", "id", "refund", "channel"})
CASE_KEYS = frozenset({"events", "channel", "amount", "charged", "cur", "method", "charge",
                       "order", "ticket", "start"})
DEFAULT_START = pd.Timestamp("2026-07-01T08:00Z")
STEP = pd.Timedelta(hours=1)
RESOURCE = {"purchase": "stripe-api", "request": "Ben Carter", "evidence": "Ben Carter",
            "approve": "Nadia Rossi", "second-approve": "Rita Alvarez", "reject": "Nadia Rossi",
            "pay": "Victor Chen", "pay-failed": "Victor Chen"}
PAYMENT_CONTROLS = ("purchase", "pay", "pay-failed")
AMOUNT_CONTROLS = ("request", "approve", "second-approve", "pay", "pay-failed")
STATUS = {"purchase": "succeeded", "pay": "succeeded", "pay-failed": "failed"}
_MISSING = object()


class CaseSyntaxError(ValueError):
    """The YAML of a case does not say what it means (unknown key, bad time, ...)."""


def timestamp(value: Any) -> pd.Timestamp:
    """An ISO time (string or YAML datetime) as a UTC timestamp; naive means UTC."""
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _get(spec: dict[str, Any], key: str, default: Any) -> Any:
    """spec[key] if present (an explicit null means 'no value'), else the default."""
    return spec.get(key, default)


def build_log(log: dict[str, Any], policy: Policy, *, source: str = "case.yml") -> pd.DataFrame:
    """The canonical frame of a compact log (see the module docstring)."""
    controls = policy.control_of()
    evidence_items = sorted({c for cols in policy.required_evidence.values() for c in cols})
    rows: list[dict[str, Any]] = []
    for raw_case_id, spec in log.items():
        case_id = str(raw_case_id)
        if isinstance(spec, list):
            spec = {"events": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("events"), list):
            raise CaseSyntaxError(f"{case_id}: a case is a list of events or {{events: [...]}}")
        unknown = set(spec) - CASE_KEYS
        if unknown:
            raise CaseSyntaxError(f"{case_id}: unknown case keys {sorted(unknown)}")
        channel = spec.get("channel", "ecommerce")
        amount = spec.get("amount", 100.0)
        charged = spec.get("charged", amount)
        currency = spec.get("cur", "EUR")
        method = spec.get("method", "card")
        charge = _get(spec, "charge", f"ch_{case_id}")
        order = _get(spec, "order", f"O-{case_id}")
        ticket = _get(spec, "ticket", f"T-{case_id}")
        clock = timestamp(spec.get("start", DEFAULT_START)) - STEP
        payouts = 0
        for n, event in enumerate(spec["events"], start=1):
            if not isinstance(event, dict) or "a" not in event:
                raise CaseSyntaxError(f"{case_id} event {n}: needs at least {{a: <activity>}}")
            unknown = set(event) - EVENT_KEYS
            if unknown:
                raise CaseSyntaxError(f"{case_id} event {n}: unknown keys {sorted(unknown)}")
            label = str(event["a"])
            control = controls.get(label)
            when = event.get("t")
            if when is None:
                clock = clock + STEP
            elif isinstance(when, str) and when.startswith("+"):
                clock = clock + parse_duration(when[1:])
            else:
                clock = timestamp(when)
            resource = _get(event, "r", RESOURCE.get(control or "", "Ben Carter"))
            role = _get(event, "role", _MISSING)
            if role is _MISSING:
                role = None if resource is None else P.role_of(str(resource), clock)
            payment = control in PAYMENT_CONTROLS
            default_amount = (charged if control == "purchase"
                              else amount if control in AMOUNT_CONTROLS else None)
            value = _get(event, "amount", default_amount)
            if control == "pay":
                payouts += 1
            row: dict[str, Any] = {
                C.EVENT_ID: str(event.get("id", f"{case_id}-{n:02d}")),
                C.CASE: case_id,
                C.ACTIVITY: label,
                C.TIMESTAMP: clock,
                C.RESOURCE: resource,
                C.ROLE: role,
                C.LIFECYCLE: "complete",
                C.AMOUNT: None if value is None else float(value),
                C.CURRENCY: _get(event, "cur", currency if value is not None else None),
                C.CHANNEL: _get(event, "channel", channel),
                C.TICKET_ID: _get(event, "ticket", None if payment else ticket),
                C.ORDER_ID: _get(event, "order", order),
                C.CHARGE_ID: _get(event, "charge", charge),
                C.REFUND_ID: _get(event, "refund",
                                  f"re_{case_id}_{payouts}" if control == "pay" else None),
                C.PAYMENT_METHOD: _get(event, "method", method if payment else None),
                C.PAYMENT_STATUS: _get(event, "status", STATUS.get(control or "")),
                C.SOURCE_SYSTEM: "stripe" if payment else "zendesk",
                C.SOURCE_FILE: source,
                C.SOURCE_ROW: len(rows) + 2,
            }
            items: dict[str, Any] = {}
            if control == "evidence":
                items = {c: f"{c.removeprefix(C.EVIDENCE_PREFIX)}-{case_id}"
                         for c in policy.required_evidence.get(channel, ())}
            for key, item in (event.get("ev") or {}).items():
                items[C.EVIDENCE_PREFIX + str(key).removeprefix(C.EVIDENCE_PREFIX)] = item
            for column in evidence_items:
                row[column] = None
            row.update(items)
            rows.append(row)
    frame = pd.DataFrame(rows)
    for spec_column in C.SCHEMA:
        if spec_column.name not in frame.columns:
            frame[spec_column.name] = None
    for name in frame.columns:
        kind = C.BY_NAME[name].kind if name in C.BY_NAME else "string"
        if kind == "timestamp":
            frame[name] = pd.to_datetime(frame[name], utc=True)
        elif kind == "amount":
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
        elif kind == "int":
            frame[name] = frame[name].astype("int64")
        else:
            frame[name] = frame[name].astype("string")
    evidence = sorted(c for c in frame.columns if c.startswith(C.EVIDENCE_PREFIX))
    return frame[[*C.COLUMNS, *evidence]]
