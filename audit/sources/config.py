"""The editable mapping of ticketing and payment exports: field ids, workflow values, carriers.

The default lives in models/sources.default.yaml; a user's copy replaces it as a whole.
Errors name the file, line and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from audit import canonical as C
from audit.errors import InputError
from audit.yamlio import child, line_of, load_yaml_digest

TICKETING_SYSTEMS = ("zendesk", "jira", "servicenow")
PAYMENT_SYSTEMS = ("stripe", "paypal", "adyen")


@dataclass(frozen=True)
class ActivityRule:
    """A change of `field` to `value` means `activity` (`comment`/`public`: a public comment)."""

    field: str
    value: str
    activity: str


@dataclass(frozen=True)
class TicketingConfig:
    system: str
    channel: str
    activities: tuple[ActivityRule, ...]
    label_field: str | None = None
    order_field: str | None = None
    currency_field: str | None = None
    amount_fields: tuple[str, ...] = ()
    evidence_fields: dict[str, str] = field(default_factory=dict)
    created_activity: str | None = None
    requested_amount_field: str | None = None
    number_field: str | None = None
    time_zone: str | None = None

    def activity_of(self, changes: dict[str, str | None], public_comment: bool) -> str | None:
        """The activity an update means, or None if it means none."""
        for rule in self.activities:
            if rule.field == "comment":
                if public_comment and rule.value == "public":
                    return rule.activity
            elif rule.field in changes and changes[rule.field] == rule.value:
                return rule.activity
        if self.label_field is not None and changes.get(self.label_field):
            return changes[self.label_field]
        return None


@dataclass(frozen=True)
class PaymentConfig:
    system: str
    channel: str
    charge_activity: str
    refund_activity: str = "Execute payout"
    failed_refund_activity: str = "Payout failed"
    charge_resource: str | None = None
    charge_resource_column: str | None = None
    order_column: str | None = None
    ticket_column: str | None = None
    executor_column: str | None = None
    method_column: str | None = None
    balance_order_column: str | None = None
    balance_ticket_column: str | None = None
    balance_executor_column: str | None = None
    balance_method_column: str | None = None
    date_format: str | None = None
    reference_pattern: re.Pattern[str] | None = None
    methods: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourcesConfig:
    ticketing: dict[str, TicketingConfig]
    payments: dict[str, PaymentConfig]
    ticket_to_charge: str = "order"
    case_id: str = "ticket"
    source: str | None = None
    sha256: str | None = None
    """The digest of the bytes read (a run records it beside the path): None where not
    read from a file."""

    def channel_of(self, system: str) -> str | None:
        if system in self.ticketing:
            return self.ticketing[system].channel
        if system in self.payments:
            return self.payments[system].channel
        return None


def default_sources_path() -> Path:
    from importlib.resources import files

    return Path(str(files("models").joinpath("sources.default.yaml")))


_TICKET_KEYS = {"channel", "activities", "label_field", "order_field", "currency_field",
                "amount_fields", "evidence_fields", "created_activity",
                "requested_amount_field", "number_field", "time_zone"}
_PAYMENT_KEYS = {"channel", "charge_activity", "refund_activity", "failed_refund_activity",
                 "charge_resource", "charge_resource_column", "order_column", "ticket_column",
                 "executor_column", "method_column", "date_format", "reference_pattern",
                 "methods", "balance_order_column", "balance_ticket_column",
                 "balance_executor_column", "balance_method_column"}


def load_sources_config(path: Path | None = None) -> SourcesConfig:
    """Read a sources file (default: the bundled one); InputError names line and key."""
    path = path or default_sources_path()
    data, node, digest = load_yaml_digest(path)
    if not isinstance(data, dict):
        raise InputError("a sources file is a YAML mapping (ticketing:, payments:, ...)",
                         file=path)

    def fail(message: str, where: Any, key: str) -> InputError:
        return InputError(message, file=path, line=line_of(where, key.split(".")[-1]),
                          field=key)

    def mapping(value: Any, where: Any, key: str) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise fail("must be a mapping", where, key)
        return value

    def text(value: Any, holder: Any, key: str | int, label: str,
             found: Any = None) -> str:
        """A setting that is text (a field name or value, an activity), as written: YAML
        reads `value: true` as True and `value: 0012` as 10, which str() would turn into
        "True" and "10", matching no ticket's field silently. A list or mapping is an error.
        `found`: the value's node, where known (else looked up under `holder` by `key`)."""
        if isinstance(value, str):
            return value
        found = found if found is not None else child(holder, key)
        if isinstance(found, yaml.ScalarNode) and value is not None:
            return str(found.value)
        row = (found.start_mark.line + 1 if found is not None else line_of(holder, key))
        raise InputError("must be text", file=path, line=row, field=label)

    def entries(value: dict[Any, Any], holder: Any) -> list[tuple[str, Any, Any]]:
        """A mapping's (key as written, value, value's node), in the file's order: a key
        such as 0012 or true is its text, not what YAML made of it."""
        pairs = holder.value if isinstance(holder, yaml.MappingNode) else []
        if len(pairs) != len(value):
            return [(str(k), v, None) for k, v in value.items()]
        return [(str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else str(k), v,
                 value_node)
                for (k, v), (key_node, value_node) in zip(value.items(), pairs, strict=True)]

    def listed(value: Any, where: Any, key: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise fail("must be a list", where, key)
        return value

    for key in data:
        if key not in ("ticketing", "payments", "correlation"):
            raise fail(f"unknown key '{key}' (known: ticketing, payments, correlation)", node,
                       str(key))
    ticketing: dict[str, TicketingConfig] = {}
    t_node = child(node, "ticketing")
    for system, raw in mapping(data.get("ticketing"), node, "ticketing").items():
        where = child(t_node, system)
        if system not in TICKETING_SYSTEMS:
            raise fail(f"unknown ticketing system '{system}' (known: "
                       f"{', '.join(TICKETING_SYSTEMS)})", t_node, f"ticketing.{system}")
        if not isinstance(raw, dict):
            raise fail("must be a mapping", t_node, f"ticketing.{system}")
        for key in raw:
            if key not in _TICKET_KEYS:
                raise fail(f"unknown key '{key}' (known: {', '.join(sorted(_TICKET_KEYS))})",
                           where, f"ticketing.{system}.{key}")
        rules = []
        for k, rule in enumerate(listed(raw.get("activities"), where,
                                        f"ticketing.{system}.activities")):
            if not isinstance(rule, dict) or set(rule) != {"field", "value", "activity"}:
                raise InputError("each activity rule is {field, value, activity}", file=path,
                                 line=line_of(child(where, "activities"), k),
                                 field=f"ticketing.{system}.activities[{k}]")
            at = child(child(where, "activities"), k)
            label = f"ticketing.{system}.activities[{k}]"
            rules.append(ActivityRule(*(text(rule[part], at, part, f"{label}.{part}")
                                        for part in ("field", "value", "activity"))))
        held = child(where, "evidence_fields")
        evidence = {k: text(v, held, k, f"ticketing.{system}.evidence_fields.{k}", found)
                    for k, v, found in entries(mapping(
                        raw.get("evidence_fields"), where,
                        f"ticketing.{system}.evidence_fields"), held)}
        held = child(where, "amount_fields")
        amount_fields = tuple(text(a, held, i, f"ticketing.{system}.amount_fields[{i}]")
                              for i, a in enumerate(listed(
                                  raw.get("amount_fields"), where,
                                  f"ticketing.{system}.amount_fields")))
        for name in evidence.values():
            if not name.startswith(C.EVIDENCE_PREFIX):
                raise fail(f"evidence columns start with '{C.EVIDENCE_PREFIX}', not {name!r}",
                           where, f"ticketing.{system}.evidence_fields")
        channel = str(raw.get("channel", ""))
        if channel not in C.CHANNELS:
            raise fail(f"channel must be one of {', '.join(C.CHANNELS)}", where,
                       f"ticketing.{system}.channel")

        def opt(name: str, raw: dict[str, Any] = raw, where: Any = where,
                system: str = system) -> str | None:
            value = raw.get(name)
            return None if value is None else text(value, where, name,
                                                   f"ticketing.{system}.{name}")

        zone = opt("time_zone")
        if zone is not None:
            from audit.ingest.mapping import check_time_zone

            try:
                check_time_zone(zone)
            except InputError as exc:
                raise fail(exc.message, where, f"ticketing.{system}.time_zone") from exc
        ticketing[system] = TicketingConfig(
            system=system, channel=channel, activities=tuple(rules),
            label_field=opt("label_field"), order_field=opt("order_field"),
            currency_field=opt("currency_field"),
            amount_fields=amount_fields,
            evidence_fields=evidence, created_activity=opt("created_activity"),
            requested_amount_field=opt("requested_amount_field"),
            number_field=opt("number_field"), time_zone=zone)
    payments: dict[str, PaymentConfig] = {}
    p_node = child(node, "payments")
    for system, raw in mapping(data.get("payments"), node, "payments").items():
        where = child(p_node, system)
        if system not in PAYMENT_SYSTEMS:
            raise fail(f"unknown payment system '{system}' (known: "
                       f"{', '.join(PAYMENT_SYSTEMS)})", p_node, f"payments.{system}")
        if not isinstance(raw, dict):
            raise fail("must be a mapping", p_node, f"payments.{system}")
        for key in raw:
            if key not in _PAYMENT_KEYS:
                raise fail(f"unknown key '{key}' (known: {', '.join(sorted(_PAYMENT_KEYS))})",
                           where, f"payments.{system}.{key}")
        channel = str(raw.get("channel", ""))
        if channel not in C.CHANNELS:
            raise fail(f"channel must be one of {', '.join(C.CHANNELS)}", where,
                       f"payments.{system}.channel")
        if "charge_activity" not in raw:
            raise fail("charge_activity is required", where, f"payments.{system}")
        pattern = None
        if raw.get("reference_pattern") is not None:
            try:
                pattern = re.compile(str(raw["reference_pattern"]))
            except re.error as exc:
                raise fail(f"not a valid regular expression: {exc}", where,
                           f"payments.{system}.reference_pattern") from exc

        def popt(name: str, raw: dict[str, Any] = raw, where: Any = where,
                 system: str = system) -> str | None:
            value = raw.get(name)
            return None if value is None else text(value, where, name,
                                                   f"payments.{system}.{name}")

        payments[system] = PaymentConfig(
            system=system, channel=channel, charge_activity=text(
                raw["charge_activity"], where, "charge_activity",
                f"payments.{system}.charge_activity"),
            refund_activity=popt("refund_activity") or "Execute payout",
            failed_refund_activity=popt("failed_refund_activity") or "Payout failed",
            charge_resource=popt("charge_resource"),
            charge_resource_column=popt("charge_resource_column"),
            order_column=popt("order_column"), ticket_column=popt("ticket_column"),
            executor_column=popt("executor_column"), method_column=popt("method_column"),
            balance_order_column=popt("balance_order_column"),
            balance_ticket_column=popt("balance_ticket_column"),
            balance_executor_column=popt("balance_executor_column"),
            balance_method_column=popt("balance_method_column"),
            date_format=popt("date_format"), reference_pattern=pattern,
            methods={k: text(v, child(where, "methods"), k,
                             f"payments.{system}.methods.{k}", found)
                     for k, v, found in entries(mapping(
                         raw.get("methods"), where, f"payments.{system}.methods"),
                         child(where, "methods"))})
    correlation = mapping(data.get("correlation"), node, "correlation")
    c_node = child(node, "correlation")
    for key in correlation:
        if key not in ("ticket_to_charge", "case_id"):
            raise fail(f"unknown key '{key}' (known: ticket_to_charge, case_id)", c_node,
                       f"correlation.{key}")
    ticket_to_charge = str(correlation.get("ticket_to_charge", "order"))
    if ticket_to_charge not in ("order", "none"):
        raise fail("ticket_to_charge must be 'order' or 'none'", c_node,
                   "correlation.ticket_to_charge")
    case_id = str(correlation.get("case_id", "ticket"))
    if case_id != "ticket":
        raise fail("case_id must be 'ticket'", c_node, "correlation.case_id")
    return SourcesConfig(ticketing, payments, ticket_to_charge, case_id, str(path), digest)
