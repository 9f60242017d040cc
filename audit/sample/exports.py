"""The generated cases as the source systems would export them (DIR/exports/).

Each channel's ticketing system (Zendesk audits JSON, Jira issues with changelog JSON,
ServiceNow sys_audit CSV) and payment system (Stripe charges and refunds CSV, PayPal activity
download CSV, Adyen settlement details CSV), plus the role history (IAM export). Layouts and
field ids follow models/sources.default.yaml, so importing and correlating these files gives
back canonical.csv; every canonical event's provenance (event id, file, row) is returned.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from audit.sample import process as P
from audit.sources.config import SourcesConfig, TicketingConfig, load_sources_config

if TYPE_CHECKING:
    from audit.sample.generator import Case, Event

FILES = {
    "zendesk": "zendesk_ticket_audits.json",
    "jira": "jira_issues.json",
    "servicenow": "servicenow_sys_audit.csv",
    "stripe_charges": "stripe_charges.csv",
    "stripe_refunds": "stripe_refunds.csv",
    "paypal": "paypal_activity.csv",
    "adyen": "adyen_settlement_details.csv",
    "roles": "role_history.csv",
}
# Which custom field carries the amount an activity states, per ticketing system.
_AMOUNT_FIELD = {
    "zendesk": {P.REQUEST: "360011110004", P.PRORATA: "360011110005",
                P.APPROVE: "360011110006", P.APPROVE_2: "360011110007"},
    "jira": {P.PRORATA: "Pro-rata amount", P.APPROVE: "Approved amount",
             P.APPROVE_2: "Approved amount (L2)"},
    "servicenow": {P.REQUEST: "u_requested_amount", P.APPROVE: "u_approved_amount",
                   P.APPROVE_2: "u_approved_amount_l2"},
}
_ADYEN_METHOD = {"card": "visa", "cash": "cash", "bank_transfer": "bank_transfer_IBAN"}
_ROLES_SINCE = datetime(2026, 1, 1, tzinfo=UTC)
_SYSTEM_ACTORS = ("stripe-api", "paypal-billing")


@dataclass(frozen=True)
class Provenance:
    event_id: str
    system: str
    file: str
    row: int


Key = tuple[int, int]
"""(case index, event index) of a generated event."""


def login(person: str) -> str:
    return person.lower().replace(" ", ".")


def _money(amount: float) -> str:
    return f"{amount:.2f}"


def _minor(amount: float) -> str:
    return str(round(amount * 100))


def _csv(header: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _trigger(cfg: TicketingConfig, activity: str) -> tuple[str, str]:
    for rule in cfg.activities:
        if rule.activity == activity:
            return rule.field, rule.value
    assert cfg.label_field is not None
    return cfg.label_field, activity


# Record ids per case reserved in each numbered range, so that parts of a log generated
# separately (SampleSpec.first_case) never share an id: at most this many per case.
_AUDITS_PER_CASE = 20
_AUDIT_EVENTS_PER_CASE = 100
_HISTORIES_PER_CASE = 20


def _check_range(what: str, used: int, per_case: int, cases: list[Case]) -> None:
    if used > per_case * len(cases):
        raise RuntimeError(f"{used} {what} ids for {len(cases)} cases: more than the "
                           f"{per_case} per case reserved")


class _Writer:
    def __init__(self, cases: list[Case], config: SourcesConfig, first_case: int = 1) -> None:
        self.cases = cases
        self.config = config
        self.before = first_case - 1
        """Cases numbered before this part's first one."""
        self.files: dict[str, str] = {}
        self.provenance: dict[Key, Provenance] = {}
        owners: dict[str, set[str]] = {}
        for case in cases:
            for event in case.events:
                if event.activity == P.PURCHASE[case.channel] and case.charge_id:
                    owners.setdefault(case.charge_id, set()).add(case.case_id)
        self.shared = {c for c, o in owners.items() if len(o) > 1}

    def events(self, systems: tuple[str, ...]) -> Iterator[tuple[Key, Case, Event]]:
        for ci, case in enumerate(self.cases):
            for ei, event in enumerate(case.events):
                if event.system in systems:
                    yield (ci, ei), case, event

    def ticket_updates(self, system: str) -> list[tuple[Case, list[tuple[Key, Event]]]]:
        """Per ticket (in order of creation), its events in time order."""
        tickets: dict[str, tuple[Case, list[tuple[Key, Event]]]] = {}
        for key, case, event in self.events((system,)):
            assert case.ticket_id is not None
            tickets.setdefault(case.ticket_id, (case, []))[1].append((key, event))
        out = [(case, sorted(evs, key=lambda ke: (ke[1].time, ke[0][1])))
               for case, evs in tickets.values()]
        return sorted(out, key=lambda ce: (ce[1][0][1].time, ce[0].ticket_id or ""))

    # --- ticketing ----------------------------------------------------------------------------
    def zendesk(self) -> None:
        cfg = self.config.ticketing["zendesk"]
        people = sorted(P.AGENTS + P.SUPERVISORS + P.FINANCE + P.PAYMENTS_CLERKS)
        user_id = {p: 360000100000 + k for k, p in enumerate(people, start=1)}
        stage_field = cfg.label_field or ""
        updates: list[tuple[datetime, str, int, Key, dict[str, Any]]] = []
        for case, events in self.ticket_updates("zendesk"):
            ticket = case.ticket_id or ""
            stage = None
            for seq, (key, event) in enumerate(events):
                changes: list[dict[str, Any]] = []
                kind = "Change"
                if event.activity == P.REQUEST:
                    kind = "Create"
                    changes.append({"field_name": "status", "value": "new"})
                    changes.append({"field_name": cfg.order_field, "value": case.order_id})
                    changes.append({"field_name": cfg.currency_field, "value": case.currency})
                field, value = _trigger(cfg, event.activity)
                if field == "comment":
                    changes.append({"type": "Comment", "public": True,
                                    "body": "Your refund has been processed."})
                elif field == "status":
                    changes.append({"field_name": "status", "value": value,
                                    "previous_value": "solved"})
                else:
                    changes.append({"field_name": field, "value": value,
                                    "previous_value": stage})
                    if field == stage_field:
                        stage = value
                if event.amount is not None and event.activity in _AMOUNT_FIELD["zendesk"]:
                    changes.append({"field_name": _AMOUNT_FIELD["zendesk"][event.activity],
                                    "value": _money(event.amount)})
                for source_field, column in cfg.evidence_fields.items():
                    if column in event.evidence:
                        changes.append({"field_name": source_field,
                                        "value": event.evidence[column]})
                audit_events = []
                for change in changes:
                    item = {"type": change.pop("type", kind), **change}
                    if item["type"] == "Create":
                        item.pop("previous_value", None)
                    audit_events.append(item)
                author = -1 if event.resource is None else user_id[event.resource]
                updates.append((event.time, ticket, seq, key, {
                    "ticket_id": int(ticket), "created_at":
                        event.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "author_id": author, "via": {"channel": "web"},
                    "events": audit_events}))
        updates.sort(key=lambda u: (u[0], u[1], u[2]))
        audits = []
        event_counter = _AUDIT_EVENTS_PER_CASE * self.before
        first_audit = 8100000000 + _AUDITS_PER_CASE * self.before
        for row, (_time, ticket, _seq, key, audit) in enumerate(updates, start=1):
            audit_id = first_audit + row
            for item in audit["events"]:
                event_counter += 1
                item["id"] = 8200000000 + event_counter
            audits.append({"id": audit_id, **audit})
            self.provenance[key] = Provenance(f"zendesk:{ticket}:{audit_id}", "zendesk",
                                              FILES["zendesk"], row)
        _check_range("Zendesk audit", len(updates), _AUDITS_PER_CASE, self.cases)
        _check_range("Zendesk audit event", event_counter - _AUDIT_EVENTS_PER_CASE * self.before,
                     _AUDIT_EVENTS_PER_CASE, self.cases)
        users = [{"id": user_id[p], "name": p, "role": "agent"} for p in people]
        document = {"audits": audits, "users": users, "next_page": None, "count": len(audits)}
        self.files[FILES["zendesk"]] = json.dumps(document, indent=1, ensure_ascii=False) + "\n"

    def jira(self) -> None:
        cfg = self.config.ticketing["jira"]
        zone = ZoneInfo(P.TIME_ZONE["subscription"])

        def stamp(t: datetime) -> str:
            return t.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S.000%z")

        issues = []
        row = 0
        history_id = 5000000 + _HISTORIES_PER_CASE * self.before
        for case, events in self.ticket_updates("jira"):
            key_name = case.ticket_id or ""
            request = events[0][1]
            assert request.activity == P.REQUEST
            row += 1
            self.provenance[events[0][0]] = Provenance(f"jira:{key_name}:created", "jira",
                                                       FILES["jira"], row)
            status = "Open"
            histories = []
            for key, event in events[1:]:
                history_id += 1
                row += 1
                field, value = _trigger(cfg, event.activity)
                items: list[dict[str, Any]] = [{"field": field, "fieldtype": "jira",
                                                "fromString": status,
                          "toString": value}]
                status = value
                amount_field = _AMOUNT_FIELD["jira"].get(event.activity)
                if event.amount is not None and amount_field:
                    items.append({"field": amount_field, "fieldtype": "custom",
                                  "fromString": None, "toString": _money(event.amount)})
                for source_field, column in cfg.evidence_fields.items():
                    if column in event.evidence:
                        items.append({"field": source_field, "fieldtype": "custom",
                                      "fromString": None, "toString": event.evidence[column]})
                history: dict[str, Any] = {"id": str(history_id)}
                if event.resource is not None:
                    history["author"] = {"accountId": login(event.resource),
                                         "displayName": event.resource}
                history.update({"created": stamp(event.time), "items": items})
                histories.append(history)
                self.provenance[key] = Provenance(f"jira:{key_name}:{history_id}", "jira",
                                                  FILES["jira"], row)
            fields: dict[str, Any] = {
                "summary": "Refund request", "issuetype": {"name": "Refund"},
                "created": stamp(request.time),
                "reporter": ({"accountId": login(request.resource),
                              "displayName": request.resource}
                             if request.resource else None),
                "status": {"name": status},
                cfg.order_field or "": case.order_id,
                cfg.currency_field or "": case.currency,
                cfg.requested_amount_field or "": _money(request.amount or 0.0),
            }
            issues.append({"key": key_name, "fields": fields,
                           "changelog": {"startAt": 0, "maxResults": len(histories),
                                         "total": len(histories), "histories": histories}})
        _check_range("Jira history", history_id - 5000000 - _HISTORIES_PER_CASE * self.before,
                     _HISTORIES_PER_CASE, self.cases)
        document = {"startAt": 0, "maxResults": len(issues), "total": len(issues),
                    "issues": issues}
        self.files[FILES["jira"]] = json.dumps(document, indent=1, ensure_ascii=False) + "\n"

    def servicenow(self) -> None:
        cfg = self.config.ticketing["servicenow"]
        zone = ZoneInfo(cfg.time_zone or P.TIME_ZONE["offline"])
        updates: list[tuple[datetime, str, int, Key, list[dict[str, str]]]] = []
        for case, events in self.ticket_updates("servicenow"):
            number = case.ticket_id or ""
            document = hashlib.md5(number.encode(), usedforsecurity=False).hexdigest()
            stage = ""
            state = "1"
            for checkpoint, (key, event) in enumerate(events):
                fields: list[tuple[str, str, str]] = []
                if event.activity == P.REQUEST:
                    fields += [("number", "", number),
                               (cfg.order_field or "", "", case.order_id),
                               (cfg.currency_field or "", "", case.currency),
                               ("state", "", "1")]
                field, value = _trigger(cfg, event.activity)
                if field == "state":
                    fields.append(("state", state, value))
                    state = value
                else:
                    fields.append((field, stage, value))
                    stage = value
                amount_field = _AMOUNT_FIELD["servicenow"].get(event.activity)
                if event.amount is not None and amount_field:
                    fields.append((amount_field, "", _money(event.amount)))
                for source_field, column in cfg.evidence_fields.items():
                    if column in event.evidence:
                        fields.append((source_field, "", event.evidence[column]))
                local = event.time.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
                user = login(event.resource) if event.resource else ""
                rows = [{"documentkey": document, "tablename": "sn_customerservice_case",
                         "fieldname": f, "oldvalue": old, "newvalue": new, "user": user,
                         "sys_created_on": local, "record_checkpoint": str(checkpoint),
                         "reason": ""} for f, old, new in fields]
                updates.append((event.time, number, checkpoint, key, rows))
                self.provenance[key] = Provenance(
                    f"servicenow:{document}:{checkpoint}", "servicenow", FILES["servicenow"], 0)
        updates.sort(key=lambda u: (u[0], u[1], u[2]))
        out: list[dict[str, str]] = []
        for _time, _number, _checkpoint, key, rows in updates:
            first = len(out) + 2
            for row in rows:
                sys_id = hashlib.md5(f"{row['documentkey']}{len(out)}".encode(),
                                     usedforsecurity=False).hexdigest()
                out.append({"sys_id": sys_id, **row})
            old = self.provenance[key]
            self.provenance[key] = Provenance(old.event_id, old.system, old.file, first)
        header = ["sys_id", "tablename", "documentkey", "fieldname", "oldvalue", "newvalue",
                  "user", "sys_created_on", "record_checkpoint", "reason"]
        self.files[FILES["servicenow"]] = _csv(header, out)

    # --- payments -----------------------------------------------------------------------------
    def _payment_events(self, system: str) -> tuple[
            list[tuple[Key, Case, Event]], list[tuple[Key, Case, Event]]]:
        charges: list[tuple[Key, Case, Event]] = []
        refunds: list[tuple[Key, Case, Event]] = []
        for key, case, event in self.events((system,)):
            (refunds if event.refund_id else charges).append((key, case, event))
        return charges, refunds

    def _charge_id(self, case: Case, base: str) -> str:
        return f"{base}@{case.case_id}" if case.charge_id in self.shared else base

    def _rows_of(self, items: list[tuple[Key, Case, Event]], system: str, file: str,
                 ident: Any, make: Any) -> list[dict[str, str]]:
        """One row per distinct record id (a shared charge once), sorted by time."""
        first: dict[str, tuple[datetime, dict[str, str]]] = {}
        members: dict[str, list[tuple[Key, Case]]] = {}
        for key, case, event in items:
            record = ident(case, event)
            if record not in first:
                first[record] = (event.time, make(case, event))
            members.setdefault(record, []).append((key, case))
        ordered = sorted(first, key=lambda r: (first[r][0], r))
        rows = []
        for row, record in enumerate(ordered, start=2):
            rows.append(first[record][1])
            for key, case in members[record]:
                event_id = f"{system}:{record}"
                if case.charge_id in self.shared and len(members[record]) > 1:
                    event_id += f"@{case.case_id}"
                self.provenance[key] = Provenance(event_id, system, file, row)
        return rows

    def stripe(self) -> None:
        charges, refunds = self._payment_events("stripe")
        header = ["id", "description", "amount", "amount_refunded", "currency", "created",
                  "status", "payment_method_type", "order_id (metadata)"]

        def charge(case: Case, event: Event) -> dict[str, str]:
            return {"id": case.charge_id or "", "description": f"Order {case.order_id}",
                    "amount": _minor(event.amount or 0.0), "amount_refunded": "",
                    "currency": case.currency.lower(),
                    "created": event.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    "status": "succeeded", "payment_method_type": event.method or "",
                    "order_id (metadata)": case.order_id}

        rows = self._rows_of(charges, "stripe", FILES["stripe_charges"],
                             lambda c, e: c.charge_id, charge)
        self.files[FILES["stripe_charges"]] = _csv(header, rows)
        header = ["id", "charge", "amount", "currency", "created", "status", "reason",
                  "ticket_id (metadata)", "executed_by (metadata)",
                  "refund_method (metadata)", "order_id (metadata)"]

        def refund(case: Case, event: Event) -> dict[str, str]:
            return {"id": event.refund_id or "", "charge": case.charge_id or "",
                    "amount": _minor(event.amount or 0.0), "currency": case.currency.lower(),
                    "created": event.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    "status": event.status or "", "reason": "requested_by_customer",
                    "ticket_id (metadata)": case.ticket_id or "",
                    "executed_by (metadata)": event.resource or "",
                    "refund_method (metadata)": event.method or "",
                    "order_id (metadata)": case.order_id}

        rows = self._rows_of(refunds, "stripe", FILES["stripe_refunds"],
                             lambda c, e: e.refund_id, refund)
        self.files[FILES["stripe_refunds"]] = _csv(header, rows)

    def paypal(self) -> None:
        charges, refunds = self._payment_events("paypal")
        zone = ZoneInfo(P.TIME_ZONE["subscription"])
        header = ["Date", "Time", "TimeZone", "Name", "Type", "Status", "Currency", "Gross",
                  "Fee", "Net", "From Email Address", "To Email Address", "Transaction ID",
                  "Reference Txn ID", "Invoice Number", "Custom Number", "Note",
                  "Funding Source", "Balance Impact"]

        def row(case: Case, event: Event) -> dict[str, str]:
            local = event.time.astimezone(zone)
            refund = event.refund_id is not None
            gross = (-1 if refund else 1) * (event.amount or 0.0)
            return {"Date": local.strftime(P.PAYPAL_DATE_FORMAT),
                    "Time": local.strftime("%H:%M:%S"),
                    "TimeZone": local.tzname() or "", "Name": "",
                    "Type": "Payment Refund" if refund else "Subscription Payment",
                    "Status": ("Denied" if event.status == "failed" else "Completed"),
                    "Currency": case.currency, "Gross": _money(gross), "Fee": "0.00",
                    "Net": _money(gross), "From Email Address": "", "To Email Address": "",
                    "Transaction ID": event.refund_id or case.charge_id or "",
                    "Reference Txn ID": (case.charge_id or "") if refund else "",
                    "Invoice Number": case.order_id,
                    "Custom Number": (case.ticket_id or "") if refund else "",
                    "Note": (event.resource or "") if refund else "",
                    "Funding Source": event.method or "",
                    "Balance Impact": "Debit" if refund else "Credit"}

        items = sorted(charges + refunds, key=lambda kce: (kce[2].time, kce[0]))
        rows = self._rows_of(items, "paypal", FILES["paypal"],
                             lambda c, e: e.refund_id or c.charge_id, row)
        self.files[FILES["paypal"]] = _csv(header, rows)

    def adyen(self) -> None:
        charges, refunds = self._payment_events("adyen")
        zone = ZoneInfo(P.TIME_ZONE["offline"])
        header = ["Company Account", "Merchant Account", "Psp Reference", "Merchant Reference",
                  "Payment Method", "Creation Date", "TimeZone", "Type",
                  "Modification Reference", "Gross Currency", "Gross Debit (GC)",
                  "Gross Credit (GC)", "Exchange Rate", "Net Currency", "Net Debit (NC)",
                  "Net Credit (NC)", "Commission (NC)", "Store",
                  "Modification Merchant Reference"]

        def row(case: Case, event: Event) -> dict[str, str]:
            local = event.time.astimezone(zone)
            refund = event.refund_id is not None
            kind = ("Settled" if not refund else
                    "RefundedReversed" if event.status == "reversed" else "Refunded")
            debit = refund and kind == "Refunded"
            amount = _money(event.amount or 0.0)
            reference = ""
            if refund:
                reference = "REFUND" + (f" {case.ticket_id}" if case.ticket_id else "") + (
                    f" BY {event.resource}" if event.resource else "")
            return {"Company Account": "ExampleRetailGroup", "Merchant Account": "StoresUK",
                    "Psp Reference": case.charge_id or "",
                    "Merchant Reference": case.order_id,
                    "Payment Method": _ADYEN_METHOD.get(event.method or "", event.method or ""),
                    "Creation Date": local.strftime("%Y-%m-%d %H:%M:%S"),
                    "TimeZone": local.tzname() or "", "Type": kind,
                    "Modification Reference": event.refund_id or "",
                    "Gross Currency": case.currency,
                    "Gross Debit (GC)": amount if debit else "",
                    "Gross Credit (GC)": "" if debit else amount, "Exchange Rate": "1",
                    "Net Currency": case.currency, "Net Debit (NC)": amount if debit else "",
                    "Net Credit (NC)": "" if debit else amount, "Commission (NC)": "",
                    "Store": "" if refund else (event.resource or ""),
                    "Modification Merchant Reference": reference}

        def ident(case: Case, event: Event) -> str:
            if event.refund_id is None:
                return f"{case.charge_id}:settled"
            kind = "refundedreversed" if event.status == "reversed" else "refunded"
            return f"{event.refund_id}:{kind}"

        items = sorted(charges + refunds, key=lambda kce: (kce[2].time, kce[0]))
        rows = self._rows_of(items, "adyen", FILES["adyen"], ident, row)
        self.files[FILES["adyen"]] = _csv(header, rows)

    def roles(self) -> None:
        rows: list[dict[str, str]] = []
        since = _ROLES_SINCE.isoformat()
        for person in P.AGENTS + P.SUPERVISORS + P.FINANCE + P.PAYMENTS_CLERKS:
            if person == P.PROMOTED:
                rows.append({"person": person, "login": login(person), "role": P.ROLE_AGENT,
                             "valid_from": since, "valid_to": P.PROMOTION.isoformat()})
                rows.append({"person": person, "login": login(person),
                             "role": P.ROLE_SUPERVISOR, "valid_from": P.PROMOTION.isoformat(),
                             "valid_to": ""})
                continue
            rows.append({"person": person, "login": login(person),
                         "role": P.role_of(person, _ROLES_SINCE), "valid_from": since,
                         "valid_to": ""})
        actors = set(_SYSTEM_ACTORS) | {e.resource for c in self.cases for e in c.events
                                        if e.resource and e.resource.startswith("pos-")}
        for actor in sorted(actors):
            rows.append({"person": actor, "login": "", "role": P.ROLE_SYSTEM,
                         "valid_from": since, "valid_to": ""})
        self.files[FILES["roles"]] = _csv(["person", "login", "role", "valid_from", "valid_to"],
                                          rows)


def build_exports(cases: list[Case], config: SourcesConfig | None = None, *,
                  first_case: int = 1) -> tuple[dict[str, str], dict[Key, Provenance]]:
    """The export files (name -> text) and each event's provenance in them; `first_case`
    as in SampleSpec (record id ranges start after those of earlier cases)."""
    writer = _Writer(cases, config or load_sources_config(), first_case)
    writer.zendesk()
    writer.jira()
    writer.servicenow()
    writer.stripe()
    writer.paypal()
    writer.adyen()
    writer.roles()
    # A single-channel sample has no events in the other channels' systems: no file for them.
    empty = {name for name, text in writer.files.items()
             if (name.endswith(".csv") and text.count("\n") <= 1)
             or (name.endswith(".json") and ('"audits": []' in text or '"issues": []' in text))}
    return {k: v for k, v in writer.files.items() if k not in empty}, writer.provenance
