"""Every rule's documented example behaves as its page says (docs/rules/<CODE>.md, generated
from the rule's docstring): the Violating trace gets the rule's finding, with the events,
evidence, message and time the page names, the Compliant one none of it, and a documented
precedence holds (the replaced finding is not reported on the case).

The traces are written as the pages write them (no purchase or evidence step where the page
leaves them out), judged with the bundled policy and the bundled SOPs, as `check` with
`models/policy.default.yaml` judges them: other rules may fire on them too (a trace without
a purchase is also a `no-prior-purchase`); only the rule's own findings and the documented
precedences are pinned. The YAML cases in tests/rules/cases pin which cases fire without the
SOPs; these pin what a reader of the catalogue is told.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from audit.errors import InputError
from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.registry import default_rules
from tests.test_rule_cases import policy_for, run_case

__all__ = ["policy_for"]

RULES = default_rules()
SOPS = {"sop": {"ecommerce": "ecommerce.bpmn", "subscription": "subscription.bpmn",
                "offline": "offline.bpmn"}}

CAP, REQ, EVI = "Capture payment", "Receive refund request", "Collect evidence"
APP, APP2, REJ = "Approve refund", "Approve refund (second level)", "Reject refund"
PAY, FAIL, NOTE, CLOSE = "Execute payout", "Payout failed", "Notify customer", "Close ticket"
SOP_TRACE = [{"a": a} for a in (REQ, EVI, APP, PAY, NOTE, CLOSE)]


@dataclass(frozen=True)
class Example:
    """A page's example: `found` maps each case that must carry the rule's finding to what
    the finding must state (its attributes: `message`, `event_ids`, `timestamp`,
    `amount_at_risk`; `evidence` as a subset); every other case of the log must carry none.
    `absent` maps a case to the rules a documented precedence keeps off it."""

    log: dict[str, Any]
    found: dict[str, dict[str, Any]]
    policy: dict[str, Any] = field(default_factory=dict)
    as_of: str | None = None
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _e(*labels: str) -> list[dict[str, Any]]:
    return [{"a": a} for a in labels]


def _ev005(amount: float, day: str, case: str) -> dict[str, Any]:
    return {"charge": "ch_1", "charged": 100, "amount": amount, "events": [
        {"a": CAP, "t": "2026-06-20T09:00Z", "id": f"ch_1@{case}"},
        {"a": REQ, "t": f"2026-07-{day}T09:00Z"}, {"a": EVI}, {"a": APP}, {"a": PAY}]}


def _sl(*events: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"a": CAP, "t": "2026-06-30T09:00Z"}, *({"a": a, "t": t} for a, t in events)]


EXAMPLES: dict[str, Example] = {
    "AP001": Example(
        {"V": _e(REQ, EVI, PAY), "C": _e(REQ, EVI, APP, PAY),
         # "A payout without any ticket is an orphan-payout instead."
         "O": _e(CAP, PAY)},
        {"V": {"message": "paid 100.00 EUR on 2026-07-01 10:00:00 UTC without any approval",
               "event_ids": ["V-01", "V-03"]}},
        absent={"O": ("AP001",)}),
    "AP002": Example(
        {"V": _e(REQ, PAY, APP), "C": _e(REQ, APP, PAY)},
        {"V": {"event_ids": ["V-02", "V-03"], "message": (
            "first approval on 2026-07-01 10:00:00 UTC, after the payout on 2026-07-01 "
            "09:00:00 UTC")}}),
    "AP003": Example(
        {"V1": {"amount": 1200, "events": _e(REQ, APP, PAY)},
         "V2": {"amount": 1200, "events": _e(REQ, APP, PAY, APP2)},
         "C": {"amount": 1200, "events": _e(REQ, APP, APP2, PAY)},
         "C2": {"amount": 1200, "events": _e(REQ, APP)}},
        {"V1": {"message": "1,200.00 EUR is above the threshold of 500.00 EUR, approved only "
                           "by Nadia Rossi", "amount_at_risk": 1200.0},
         "V2": {"message": "1,200.00 EUR is above the threshold of 500.00 EUR, approved only "
                           "by Nadia Rossi before the payout (the second level only after "
                           "it, on 2026-07-01 11:00:00 UTC)"}}),
    "AP004": Example(
        {"V": {"start": "2026-08-03T08:00Z", "events": [
            {"a": REQ}, {"a": APP, "r": "Lena Fischer"}, {"a": PAY}]},
         "C1": {"start": "2026-08-20T08:00Z", "events": [
             {"a": REQ}, {"a": APP, "r": "Lena Fischer"}, {"a": PAY}]},
         "C2": {"start": "2026-08-03T08:00Z", "events": [
             {"a": REQ}, {"a": APP, "r": "Nadia Rossi"}, {"a": PAY}]}},
        {"V": {"event_ids": ["V-02"], "message": "approved by Lena Fischer (role: "
                                                 "customer-service), which may not approve"}}),
    "AP005": Example(
        {"V": {"amount": 80, "events": [{"a": REQ}, {"a": APP}, {"a": PAY, "amount": 100}]},
         "NJ": [{"a": REQ}, {"a": APP, "amount": 80, "cur": "USD"}, {"a": PAY}],
         "C": _e(REQ, APP, PAY)},
        {"V": {"message": "paid 100.00 EUR against an approved 80.00 EUR",
               "amount_at_risk": 20.0}},
        # (V's request is 80.00 too: paid more than requested, an amount-mismatch of its own)
        absent={"V": ("EV004",)}),
    "CF001": Example(
        {"V": _e(REQ, EVI, APP, PAY, CLOSE), "C": SOP_TRACE},
        {"V": {"evidence": {"tasks": "Notify customer", "sop": "ecommerce.bpmn"},
               "event_ids": ["V-04", "V-05"]}}, SOPS),
    "CF002": Example(
        {"V": _e(REQ, EVI, NOTE, APP, PAY, NOTE, CLOSE), "C": SOP_TRACE},
        {"V": {"evidence": {"tasks": "Notify customer"}, "event_ids": ["V-03"]}}, SOPS),
    "CF003": Example(
        {"V": _e(REQ, APP, EVI, PAY, NOTE, CLOSE), "C": SOP_TRACE},
        {"V": {"evidence": {"tasks": "Approve refund"}, "event_ids": ["V-02"]}}, SOPS,
        absent={"V": ("CF001", "CF002")}),
    "CF004": Example(
        {"V": _e(PAY), "C": [{"a": CAP}, *SOP_TRACE]},
        {"V": {"evidence": {"fitness": 0.1667},
               "message": "does not fit the SOP: fitness 0.17 below 0.8"}},
        {**SOPS, "conformance": {"min_fitness": 0.8}}),
    "DQ001": Example(
        {"V": _e(CAP, REQ, "Customer called back", EVI, APP, PAY)},
        {"V": {"event_ids": ["V-03"], "evidence": {"labels": "Customer called back"}}}),
    "DQ001-compliant": Example(
        {"C": _e(CAP, REQ, "Customer called back", EVI, APP, PAY)}, {},
        {"activities": {"Customer called back": {"control": "other"}}}),
    "DQ002": Example(
        {"V": [*_e(CAP, REQ, EVI, APP, PAY), {"a": CLOSE, "r": None}],
         "C": _e(CAP, REQ, EVI, APP, PAY, CLOSE)},
        {"V": {"event_ids": ["V-06"], "evidence": {"labels": "Close ticket"}}}),
    "DQ003": Example(
        {"V": [*_e(CAP, REQ, EVI, APP), {"a": PAY, "amount": None}],
         "C": [*_e(CAP, REQ, EVI, APP), {"a": FAIL, "amount": None}, {"a": PAY}],
         "NJ": [*_e(CAP, REQ, EVI, APP), {"a": PAY, "cur": None}]},
        {"V": {"event_ids": ["V-05"], "amount_at_risk": None,
               "evidence": {"payouts_without_amount": 1}}}),
    "DQ004": Example(
        {"V": [{"a": CAP}, {"a": REQ, "channel": "ecommerce"},
               {"a": EVI, "channel": "offline"}, {"a": APP}, {"a": PAY}],
         "C": [{"a": CAP, "channel": None}, {"a": REQ}, {"a": EVI, "channel": None},
               {"a": APP}, {"a": PAY}]},
        {"V": {"event_ids": ["V-03"],
               "evidence": {"channel": "ecommerce", "others": "offline"},
               "message": "1 event states another channel (offline) than the case's, "
                          "ecommerce: every rule judged the case as ecommerce"}}),
    "DU001": Example(
        {"A": {"charge": "ch_1", "amount": 49.90, "events": _e(CAP, REQ, EVI, APP, PAY)},
         "B": {"charge": "ch_1", "amount": 49.90, "start": "2026-07-08T08:00Z",
               "events": _e(CAP, REQ, EVI, APP, PAY)},
         "C": _e(CAP, REQ, EVI, APP, FAIL, PAY)},
        {"B": {"event_ids": ["A-05", "B-05"], "amount_at_risk": 49.9,
               "evidence": {"key": "ch_1", "earlier_case": "A", "amount": 49.9}}},
        # (49.90 captured, 99.80 refunded: the excess is the duplicate's)
        absent={"B": ("EV005",)}),
    "DU001-instalments": Example(
        # 100.00 requested, approved and paid as 50.00 and 50.00 on a charge of 100.00: one
        # refund in two payouts (before: a duplicate-refund of 50.00); approved 50.00 and
        # paid 50.00 twice: the second a repeat.
        {"C": {"events": [*_e(CAP, REQ, EVI, APP), {"a": PAY, "amount": 50},
                          {"a": PAY, "amount": 50}]},
         "V": {"amount": 50, "charged": 100,
               "events": [*_e(CAP, REQ, EVI, APP), {"a": PAY}, {"a": PAY}]}},
        {"V": {"event_ids": ["V-05", "V-06"], "amount_at_risk": 50.0,
               "message": "50.00 EUR refunded again on ch_V, already refunded in case V"}},
        absent={"C": ("EV004", "EV005", "AP005")}),
    "DU002": Example(
        # R-000123 and r-123 are one receipt; B, paid on it after A, is found naming A; D,
        # on A's receipt, rejected, paid nothing; E and F share a file name and a
        # placeholder, which name no receipt.
        {"A": {"channel": "offline", "amount": 45, "start": "2026-07-01T08:00Z",
               "events": [{"a": REQ}, {"a": EVI, "ev": {"receipt": "R-000123"}}, {"a": APP},
                          {"a": PAY}]},
         "B": {"channel": "offline", "amount": 45, "start": "2026-07-09T08:00Z",
               "events": [{"a": REQ}, {"a": EVI, "ev": {"receipt": "r-123"}}, {"a": APP},
                          {"a": PAY}]},
         "D": {"channel": "offline", "start": "2026-07-10T08:00Z",
               "events": [{"a": REQ}, {"a": EVI, "ev": {"receipt": "R-123"}}, {"a": REJ}]},
         "E": {"channel": "offline", "events": [{"a": REQ}, {"a": EVI, "ev": {
             "receipt": "receipt.jpg"}}, {"a": APP}, {"a": PAY}]},
         "F": {"channel": "offline", "events": [{"a": REQ}, {"a": EVI, "ev": {
             "receipt": "receipt.jpg"}}, {"a": APP}, {"a": PAY}]},
         "G": {"channel": "offline", "events": [{"a": REQ}, {"a": EVI, "ev": {
             "receipt": "n/a"}}, {"a": APP}, {"a": PAY}]},
         "H": {"channel": "offline", "events": [{"a": REQ}, {"a": EVI, "ev": {
             "receipt": "N/A"}}, {"a": APP}, {"a": PAY}]}},
        {"B": {"event_ids": ["B-02", "B-04", "A-02"], "amount_at_risk": 45.0,
               "timestamp": "2026-07-09T11:00:00+00:00",
               "message": "refund of 45.00 EUR paid on a reused receipt: receipt r-123 "
                          "already refunded in case A (paid 2026-07-01 11:00:00 UTC); held "
                          "by 3 cases: A, B, D",
               "evidence": {"receipts": ["r-123"], "compared_as": ["r-123"],
                            "sharing_cases": ["A", "B", "D"], "sharing_cases_n": [3],
                            "earlier_cases": ["A"], "earlier_cases_n": [1],
                            "currency": "EUR"}}}),
    "DU002-approved": Example(
        # C, approved on A's receipt and not paid, is found at its approval, its approved
        # amount at risk; D's approval a rejection withdrew, E's a close ended: nothing.
        {"A": {"channel": "offline", "amount": 45, "start": "2026-07-01T08:00Z",
               "events": [{"a": REQ}, {"a": EVI, "ev": {"receipt": "R-123"}}, {"a": APP},
                          {"a": PAY}]},
         "C": {"channel": "offline", "amount": 45, "start": "2026-07-12T08:00Z",
               "events": [{"a": REQ}, {"a": EVI, "ev": {"receipt": "R-123"}}, {"a": APP}]},
         "D": {"channel": "offline", "start": "2026-07-13T08:00Z",
               "events": [{"a": REQ}, {"a": EVI, "ev": {"receipt": "R-123"}}, {"a": APP},
                          {"a": REJ}]},
         "E": {"channel": "offline", "start": "2026-07-14T08:00Z",
               "events": [{"a": REQ}, {"a": EVI, "ev": {"receipt": "R-123"}}, {"a": APP},
                          {"a": CLOSE}]}},
        {"C": {"event_ids": ["C-02", "C-03", "A-02"], "amount_at_risk": 45.0,
               "timestamp": "2026-07-12T10:00:00+00:00",
               "message": "refund of 45.00 EUR approved and not paid on a reused receipt: "
                          "receipt R-123 already refunded in case A (paid 2026-07-01 "
                          "11:00:00 UTC); held by 4 cases: A, C, D, E",
               "evidence": {"sharing_cases": ["A", "C", "D", "E"], "earlier_cases": ["A"],
                            "approved_not_paid": True, "currency": "EUR"}}}),
    "EV001": Example(
        {"V1": {"channel": "offline", "events": [
            {"a": "Record store sale"}, {"a": REQ},
            {"a": EVI, "ev": {"receipt": "receipt-1.jpg", "photo": None}}, {"a": APP},
            {"a": PAY}]},
         "V2": {"channel": "offline", "events": [
             {"a": "Record store sale"}, {"a": REQ},
             {"a": EVI, "ev": {"receipt": "receipt-1.jpg", "photo": None}}, {"a": APP},
             {"a": PAY}, {"a": EVI, "ev": {"receipt": None, "photo": "photo-1.jpg"}}]},
         "C": {"channel": "offline", "events": _e("Record store sale", REQ, EVI, APP, PAY)},
         "C2": {"channel": "offline", "events": [
             {"a": "Record store sale"}, {"a": REQ},
             {"a": EVI, "ev": {"receipt": "receipt-1.jpg", "photo": None}}, {"a": APP},
             {"a": EVI, "ev": {"receipt": None, "photo": "photo-1.jpg"}}]},
         "V3": {"channel": "offline", "events": [
             {"a": "Record store sale"}, {"a": REQ},
             {"a": EVI, "ev": {"receipt": "receipt-1.jpg", "photo": "n/a"}}, {"a": APP},
             {"a": PAY}]},
         "NJ": {"channel": "offline", "events": _e("Record store sale", REQ, REJ)},
         # the order item naming another case's order (O-2, case "O2"'s), the renewal
         # date after the request and the previous period's charge (V5); the same date in
         # a case billed ahead, charged before the request (C5), agrees with its charge
         "V4": {"order": "O-1", "events": [
             {"a": CAP}, {"a": REQ}, {"a": EVI, "ev": {"order": "O-2"}}, {"a": APP},
             {"a": PAY}]},
         "O2": {"order": "O-2", "events": _e(CAP, REQ, EVI, APP, PAY)},
         "V5": {"channel": "subscription", "events": [
             {"a": "Charge subscription renewal", "t": "2026-06-09T09:00Z"},
             {"a": REQ, "t": "2026-07-01T09:00Z"},
             {"a": EVI, "ev": {"renewal_date": "2026-07-09"}}, {"a": APP}, {"a": PAY}]},
         "C5": {"channel": "subscription", "events": [
             {"a": "Charge subscription renewal", "t": "2026-07-06T09:00Z"},
             {"a": REQ, "t": "2026-07-07T09:00Z"},
             {"a": EVI, "ev": {"renewal_date": "2026-07-09"}}, {"a": APP}, {"a": PAY}]}},
        {"V1": {"evidence": {"channel": "offline", "missing": ["photo"]}},
         "V4": {"evidence": {"missing": ["order"], "contradicted": ["order"]}},
         "V5": {"evidence": {"missing": ["renewal_date"], "contradicted": ["renewal_date"]}},
         # the request, the payout, the event first recording the photo
         "V2": {"evidence": {"missing": [], "after_payout": ["photo"]},
                "event_ids": ["V2-02", "V2-05", "V2-06"]},
         "V3": {"evidence": {"missing": ["photo"], "placeholder": ["photo"]}}},
        absent={"NJ": ("EV001",)}),
    # evidence_due: approval: the photo recorded between the approval and the payout came
    # late (the approver did not see it); before the approval, in time
    "EV001-approval": Example(
        {"V": {"channel": "offline", "events": [
            {"a": "Record store sale"}, {"a": REQ},
            {"a": EVI, "ev": {"receipt": "receipt-1.jpg", "photo": None}}, {"a": APP},
            {"a": EVI, "ev": {"receipt": None, "photo": "photo-1.jpg"}}, {"a": PAY}]},
         "C": {"channel": "offline", "events": _e("Record store sale", REQ, EVI, APP, PAY)}},
        # the request, the approval, the event first recording the photo
        {"V": {"evidence": {"missing": [], "after_approval": ["photo"],
                            "approved_at": "2026-07-01T11:00:00+00:00",
                            "first_recorded_after_approval": "2026-07-01T12:00:00+00:00"},
               "event_ids": ["V-02", "V-04", "V-05"],
               "message": "offline refund approved on 2026-07-01 11:00:00 UTC before its "
                          "required evidence was recorded: photo (first recorded "
                          "2026-07-01 12:00:00 UTC)"}},
        policy={"evidence_due": "approval"}),
    "EV002": Example(
        {"V": _e(CAP, PAY), "C": _e(CAP, REQ, EVI, APP, PAY)},
        {"V": {"event_ids": ["V-02"], "message": "payout of 100.00 EUR with no ticket"}},
        # "this finding stands alone"
        absent={"V": ("AP001", "EV001", "SL001")}),
    "EV003": Example(
        {"V1": [{"a": CAP, "t": "2026-08-25T09:00Z"}, {"a": REQ, "t": "2026-08-30T09:00Z"},
                {"a": EVI}, {"a": APP, "t": "2026-09-01T09:00Z"}],
         "V2": [{"a": CAP, "t": "2026-08-25T09:00Z"}, {"a": REQ, "t": "2026-08-30T09:00Z"},
                {"a": EVI}, {"a": REJ, "t": "2026-09-03T09:00Z"},
                {"a": APP, "t": "2026-09-05T09:00Z"}],
         "C1": [{"a": CAP, "t": "2026-08-25T09:00Z"}, {"a": REQ, "t": "2026-08-30T09:00Z"},
                {"a": EVI}, {"a": APP, "t": "2026-09-01T09:00Z"},
                {"a": PAY, "t": "2026-09-04T09:00Z"}],
         "C2": [{"a": CAP, "t": "2026-08-25T09:00Z"}, {"a": REQ, "t": "2026-08-30T09:00Z"},
                {"a": EVI}, {"a": APP, "t": "2026-09-01T09:00Z"},
                {"a": REJ, "t": "2026-09-02T09:00Z"}]},
        {"V1": {"timestamp": "2026-09-01T09:00:00+00:00",
                "evidence": {"waiting": "P43DT15H"}},
         "V2": {"timestamp": "2026-09-05T09:00:00+00:00", "event_ids": ["V2-05"]}},
        as_of="2026-10-15T00:00:00Z",
        absent={"V1": ("SL001", "SL002"), "V2": ("SL001", "SL002")}),
    "EV004": Example(
        {"V1": {"amount": 120, "events": [*_e(CAP, REQ, EVI, APP), {"a": PAY, "amount": 100}]},
         "V2": {"amount": 100, "events": [*_e(CAP, REQ, EVI, APP),
                                          {"a": PAY, "amount": 10, "cur": "USD"},
                                          {"a": PAY, "amount": 40}]},
         "C": {"amount": 120, "events": _e(CAP, REQ, EVI, APP, PAY)},
         "NJ": {"amount": 120, "events": [*_e(CAP, REQ, EVI, APP), {"a": PAY, "amount": 100},
                                          {"a": PAY, "amount": None}]}},
        {"V1": {"amount_at_risk": 20.0, "message": "requested 120.00 EUR, paid 100.00 EUR"},
         "V2": {"amount_at_risk": 60.0, "message": (
             "requested 100.00 EUR, paid 40.00 EUR (not counting 10.00 USD paid in another "
             "currency)")}}),
    "EV005": Example(
        {"A": _ev005(60, "01", "A"), "B": _ev005(50, "08", "B")},
        {"B": {"amount_at_risk": 10.0, "event_ids": ["ch_1@B", "B-05"],
               "evidence": {"charge_amount": 100.0, "refunded": 110.0,
                            "other_cases": ["A"]}}}),
    "EV005-compliant": Example(
        {"A": _ev005(60, "01", "A"), "B": _ev005(40, "08", "B")}, {}),
    "EV006": Example(
        {"V": [{"a": CAP, "method": "card"}, *_e(REQ, EVI, APP),
               {"a": PAY, "method": "bank_transfer"}],
         "C": _e(CAP, REQ, EVI, APP, PAY)},
        {"V": {"event_ids": ["V-01", "V-05"],
               "evidence": {"purchase_method": "card", "payout_method": "bank_transfer"}}}),
    "EV007": Example(
        {"V": _e(REQ, APP, PAY), "C": _e(CAP, REQ, APP, PAY)},
        {"V": {"event_ids": ["V-03"]}}),
    "EV008": Example(
        {"V": [{"a": CAP, "t": "2026-06-01T09:00Z"}, {"a": REQ, "t": "2026-07-15T09:00Z"},
               *_e(EVI, APP, PAY)],
         "C": [{"a": CAP, "t": "2026-06-01T09:00Z"}, {"a": REQ, "t": "2026-06-30T09:00Z"},
               *_e(EVI, APP, PAY)],
         "CX": [{"a": CAP, "t": "2026-06-01T09:00Z"}, {"a": REQ, "t": "2026-07-15T09:00Z"},
                {"a": EVI}, {"a": APP}, {"a": APP2, "role": "finance"}, {"a": PAY}],
         "CR": [{"a": CAP, "t": "2026-06-01T09:00Z"}, {"a": REQ, "t": "2026-07-15T09:00Z"},
                *_e(EVI, REJ)],
         "CS": {"channel": "subscription", "events": [
             {"a": "Charge subscription renewal", "t": "2026-06-01T09:00Z"},
             {"a": "Charge subscription renewal", "t": "2026-07-01T09:00Z"},
             {"a": REQ, "t": "2026-07-10T09:00Z"}, *_e(EVI, APP, PAY)]}},
        {"V": {"message": "refund requested 44d after the purchase on 2026-06-01 09:00:00 UTC "
                          "(ecommerce window 30d)",
               "event_ids": ["V-01", "V-02"], "timestamp": "2026-07-15T09:00:00+00:00",
               "amount_at_risk": 100.0,
               "evidence": {"channel": "ecommerce", "after": "P44D", "window": "P30D",
                            "purchased_at": "2026-06-01T09:00:00+00:00",
                            "requested_at": "2026-07-15T09:00:00+00:00"}}},
        {"refund_window": {"within": {"ecommerce": "30d", "subscription": "14d"},
                           "exception_approvers": ["finance"]}}),
    "SD001": Example(
        {"V": [{"a": REQ, "r": "Nadia Rossi"}, {"a": APP, "r": "Nadia Rossi"}, {"a": PAY}],
         "V2": {"amount": 1200, "events": [
             {"a": REQ, "r": "Nadia Rossi"}, {"a": APP, "r": "Nadia Rossi"},
             {"a": APP2, "r": "Rita Alvarez"}, {"a": PAY}]},
         "C": [{"a": REQ, "r": "Ben Carter"}, {"a": APP, "r": "Nadia Rossi"}, {"a": PAY}]},
        {"V": {"event_ids": ["V-01", "V-02"],
               "message": "Nadia Rossi raised the request and approved it"},
         "V2": {"event_ids": ["V2-01", "V2-02"]}}),
    "SD002": Example(
        {"V": [{"a": REQ}, {"a": APP, "r": "Rita Alvarez"}, {"a": PAY, "r": "Rita Alvarez"}],
         "C": [{"a": REQ}, {"a": APP, "r": "Rita Alvarez"}, {"a": PAY, "r": "Victor Chen"}]},
        {"V": {"event_ids": ["V-02", "V-03"],
               "message": "Rita Alvarez approved the refund and paid it out"}}),
    "SD003": Example(
        {"V": [{"a": REQ}, {"a": APP, "r": "Stefan Kowalski"},
               {"a": APP2, "r": "Stefan Kowalski"}, {"a": PAY}],
         "C": [{"a": REQ}, {"a": APP, "r": "Stefan Kowalski"}, {"a": APP2, "r": "Tanja Vogel"},
               {"a": PAY}]},
        {"V": {"event_ids": ["V-02", "V-03"],
               "message": "Stefan Kowalski gave both the first and the second approval"}}),
    "SD004": Example(
        {"V1": [{"a": REQ}, {"a": APP}, {"a": PAY, "r": "Chloe Martin"}],
         "V2": {"start": "2026-08-20T08:00Z",
                "events": [{"a": REQ}, {"a": APP}, {"a": PAY}, {"a": CLOSE, "r": "Lena Fischer"}]},
         "C1": [{"a": REQ}, {"a": APP}, {"a": PAY, "r": "Victor Chen"}],
         "C2": {"start": "2026-08-03T08:00Z",
                "events": [{"a": REQ}, {"a": APP}, {"a": PAY}, {"a": CLOSE, "r": "Lena Fischer"}]}},
        {"V1": {"event_ids": ["V1-03"],
                "evidence": {"roles": "customer-service", "lanes": "payments"}},
         "V2": {"event_ids": ["V2-04"],
                "evidence": {"roles": "supervisor", "lanes": "customer-service"}}}, SOPS),
    "SL001": Example(
        {"V1": _sl((REQ, "2026-07-01T09:00Z"), (APP, "2026-07-03T09:00Z"),
                   (PAY, "2026-07-16T09:00Z")),
         "V2": _sl((REQ, "2026-07-01T09:00Z"), (EVI, "2026-07-02T09:00Z")),
         "C1": _sl((REQ, "2026-07-01T09:00Z"), (APP, "2026-07-03T09:00Z"),
                   (PAY, "2026-07-10T09:00Z")),
         "C2": _sl((REQ, "2026-07-01T09:00Z"), (REJ, "2026-07-03T09:00Z")),
         "C3": _sl((REQ, "2026-07-01T09:00Z"), (CLOSE, "2026-07-02T09:00Z")),
         "C4": _sl((REQ, "2026-07-01T09:00Z"), (CLOSE, "2026-07-02T09:00Z"),
                   (REQ, "2026-08-01T09:00Z"), (APP, "2026-08-02T09:00Z"),
                   (PAY, "2026-08-05T09:00Z"))},
        {"V1": {"message": "request to payout took 15d (SLA 14d)",
                "timestamp": "2026-07-16T09:00:00+00:00", "event_ids": ["V1-02", "V1-04"]},
         "V2": {"timestamp": "2026-07-15T09:00:00+00:00",
                "evidence": {"paid_at": None, "as_of": "2026-10-15T00:00:00+00:00"}}},
        as_of="2026-10-15T00:00:00Z",
        # (V1's payout stage, 13 days from its approval, is late too: the breach tells it)
        absent={"V1": ("SL002",)}),
    "SL002": Example(
        {"V1": _sl((REQ, "2026-07-01T09:00Z"), (APP, "2026-07-02T09:00Z"),
                   (PAY, "2026-07-10T09:00Z")),
         "C1": _sl((REQ, "2026-07-01T09:00Z"), (APP, "2026-07-02T09:00Z"),
                   (PAY, "2026-07-06T09:00Z"))},
        {"V1": {"message": "payout took 8d (limit 7d)",
                "timestamp": "2026-07-10T09:00:00+00:00"}},
        as_of="2026-10-15T00:00:00Z"),
    "SL002-open": Example(
        {"V2": _sl((REQ, "2026-07-01T09:00Z"), (EVI, "2026-07-01T10:00Z")),
         "C2": _sl((REQ, "2026-07-01T09:00Z"), (REJ, "2026-07-05T09:00Z")),
         "C3": _sl((REQ, "2026-07-01T09:00Z"), (PAY, "2026-07-05T09:00Z"))},
        {"V2": {"timestamp": "2026-07-11T09:00:00+00:00", "event_ids": ["V2-02"]}},
        as_of="2026-07-13T00:00:00Z"),
    "SL002-reopened": Example(
        {"C4": _sl((REQ, "2026-07-01T09:00Z"), (CLOSE, "2026-07-02T09:00Z"),
                   (REQ, "2026-08-01T09:00Z"), (APP, "2026-08-03T09:00Z"))}, {},
        as_of="2026-08-04T00:00:00Z"),
}


@pytest.mark.parametrize("key", list(EXAMPLES))
def test_documented_example(key: str, policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    example = EXAMPLES[key]
    rule = RULES.get(key.split("-")[0])
    assert rule is not None
    data: dict[str, Any] = {"policy": example.policy}
    if example.as_of:
        data["as_of"] = example.as_of
    result, cases = run_case(data, {"log": example.log}, f"docs/rules/{rule.code}.md",
                             policy_for)
    assert result.errors == [], [f"{e.rule}: {e.error}" for e in result.errors]
    mine = {f.case_id: f for f in result.findings if f.rule == rule.code}
    shown = {c: sorted(f.name for f in result.findings if f.case_id == c) for c in cases}
    assert set(mine) == set(example.found), f"{rule.name} on {sorted(mine)}; all: {shown}"
    for case_id, expected in example.found.items():
        finding = mine[case_id]
        for name, value in expected.items():
            if name == "evidence":
                assert {k: finding.evidence.get(k) for k in value} == value, finding.evidence
            else:
                assert getattr(finding, name) == value, (name, getattr(finding, name))
    for case_id, codes in example.absent.items():
        assert not [f for f in result.findings
                    if f.case_id == case_id and f.rule in codes], shown[case_id]


def test_every_rule_has_a_documented_example_here() -> None:
    assert {key.split("-")[0] for key in EXAMPLES} == {rule.code for rule in RULES}


# A value for each option the bundled policy leaves out (it states the others).
UNSET = {"amount_tolerance": 0.005, "conformance.min_fitness": 0.8,
         "refund_window.within": {"ecommerce": "30d"},
         "refund_window.exception_approvers": ["finance"],
         "activities.<label>.sop_task": "Receive refund request",
         "thresholds.receipt_max_cases": 10, "evidence_due": "approval"}
PLACEHOLDERS = {"<label>": "Receive refund request", "<channel>": "ecommerce"}
# Options the policy takes only beside another (a refund_window names a window): set too.
BESIDE = {"refund_window.exception_approvers": "refund_window.within"}


def _named_options() -> list[tuple[str, str]]:
    """(rule code, policy key) for every key a rule's options name: its `options`' sources
    (`rules --json`) and the backticked keys of its Options section that start with a
    top-level key of the policy (`thresholds.second_approval`, `conformance.min_fitness`)."""
    base = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    named = set()
    for rule in RULES:
        named |= {(rule.code, option.source) for option in rule.options}
        for token in re.findall(r"`([^`]+)`", rule.doc_sections()["Options"]):
            if (re.fullmatch(r"[a-z_]+(\.[a-z_<>-]+)*", token)
                    and token.split(".")[0] in base | UNSET):
                named.add((rule.code, token))
    return sorted(named)


def _with(base: dict[str, Any], key: str, leaf: str) -> dict[str, Any]:
    """`base` with the value of the option `key` (from `base`, else from UNSET) under the
    name `leaf`."""
    path = [PLACEHOLDERS.get(part, part) for part in key.split(".")]
    data = copy.deepcopy(base)
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    value = node.pop(path[-1]) if path[-1] in node else UNSET[key]
    node[leaf] = value
    if key in BESIDE:
        other = BESIDE[key].split(".")[-1]
        node.setdefault(other, copy.deepcopy(UNSET[BESIDE[key]]))
    return data


@pytest.mark.parametrize("code,key", _named_options())
def test_an_option_a_rule_names_is_a_key_of_the_policy(code: str, key: str,
                                                       tmp_path: Path) -> None:
    """The key is read by the policy loader: set (to the bundled policy's value, or a valid
    one where it states none) the policy loads, and a near miss beside it (`<key>_x`) is
    refused as unknown, so the name is no key the loader would ignore or refuse."""
    base = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    leaf = key.split(".")[-1]
    written = tmp_path / "policy.yaml"
    written.write_text(yaml.safe_dump(_with(base, key, PLACEHOLDERS.get(leaf, leaf)),
                                      allow_unicode=True), encoding="utf-8")
    load_policy(written, known_rules=RULES.known)
    if leaf in PLACEHOLDERS:
        return  # (any channel may be named)
    written.write_text(yaml.safe_dump(_with(base, key, leaf + "_x"), allow_unicode=True),
                       encoding="utf-8")
    with pytest.raises(InputError, match=f"unknown key '{re.escape(leaf)}_x'"):
        load_policy(written, known_rules=RULES.known)
