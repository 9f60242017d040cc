"""approved-not-paid (EV003) judges a case by its approval in force, the one missing-evidence
(`evidence_due: approval`) and receipt-reused (DU002) read: the first approval not withdrawn
by a later rejection nor ended by a close the refund was asked for again after. Where
receipt-reused finds the case approved and not paid on a reused receipt, EV003 says the
payment is not to be made (before, it told the unpaid approval as a wait to pay while DU002
said the receipt was already refunded: two findings giving opposite advice).

Each log is built here with its ground truth: the approvals, closes, requests and payouts
and their times are chosen, so the approval in force and the wait are known.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import pytest

from audit import canonical as C
from audit.findings import Finding
from audit.policy import Waiver, default_policy_path, load_policy
from audit.rules.duplicates.du002_receipt_reused import ReceiptReused
from audit.rules.engine import run_rules
from audit.rules.evidence.ev003_approved_not_paid import ApprovedNotPaid
from audit.rules.registry import RuleSet
from audit.rules.timing.sl002_stage_overdue import StageOverdue
from tests.rules.logbuilder import build_log

AS_OF = "2026-10-15T00:00:00Z"


def _run(spec: dict[str, Any], *rules: type, as_of: str = AS_OF,
         untimed: tuple[str, ...] = (), errors: list[str] | None = None,
         **changes: Any) -> dict[str, list[Finding]]:
    """The findings per rule code of `rules` (default: EV003 and DU002) on the log `spec`,
    the events `untimed` (ids) without a time, the policy changed by `changes`; the codes of
    the rules that failed appended to `errors` (given), else none may fail."""
    policy = replace(load_policy(default_policy_path()), sop={}, **changes)
    ruleset = RuleSet(list(rules) or [ApprovedNotPaid, ReceiptReused])
    log = build_log(spec, policy)
    log.loc[log[C.EVENT_ID].isin(list(untimed)), C.TIMESTAMP] = pd.NaT
    result = run_rules(log, policy, ruleset, as_of=pd.Timestamp(as_of).to_pydatetime())
    if errors is None:
        assert result.errors == []
    else:
        errors.extend(e.rule for e in result.errors)
    out: dict[str, list[Finding]] = {}
    for f in result.findings:
        out.setdefault(f.rule, []).append(f)
    return out


def _case(*events: dict[str, Any], receipt: str = "R-1") -> dict[str, Any]:
    return {"channel": "offline", "events": [
        {"a": "Receive refund request", "t": "2026-09-01T09:00Z"},
        {"a": "Collect evidence", "ev": {"receipt": receipt}}, *events]}


def test_a_close_the_refund_was_asked_for_again_after_ends_the_approval() -> None:
    """Approved on 1 September, the ticket closed on 2 September and the refund asked for
    again on 10 October, not yet decided: no approval in force, nothing unpaid to find
    (before: found, 'approved on 2026-09-01 ..., still not paid after 43d', the ended
    approval taken for one in force). Closed and never asked again, the approval stands
    unpaid: found."""
    asked_again = _case({"a": "Approve refund", "t": "2026-09-01T11:00Z"},
                        {"a": "Close ticket", "t": "2026-09-02T09:00Z"},
                        {"a": "Receive refund request", "t": "2026-10-10T09:00Z"})
    assert _run({"C": asked_again}) == {}
    closed = _case({"a": "Approve refund", "t": "2026-09-01T11:00Z"},
                   {"a": "Close ticket", "t": "2026-09-02T09:00Z"})
    found = _run({"C": closed})["EV003"]
    assert [(f.case_id, f.timestamp) for f in found] == [("C", "2026-09-01T11:00:00+00:00")]


def test_a_case_approved_at_two_levels_waits_from_its_last_approval_in_force() -> None:
    """Approved on 1 September and at the second level on 20 September, nothing withdrawn,
    not paid: both approvals are in force (cited), the payout waited on the second, and the
    grace runs from it; the finding names it (`approved_at`, `approval_eid`)."""
    spec = {"C": _case({"a": "Approve refund", "t": "2026-09-01T12:00Z"},
                       {"a": "Approve refund (second level)", "t": "2026-09-20T12:00Z"})}
    [f] = _run(spec)["EV003"]
    assert f.timestamp == "2026-09-20T12:00:00+00:00"
    assert f.event_ids == ["C-03", "C-04"]
    assert f.message == "approved on 2026-09-20 12:00:00 UTC, still not paid after 24d 12h"
    assert f.evidence == {"approved_at": "2026-09-20T12:00:00+00:00", "approval_eid": "C-04",
                          "waiting": "P24DT12H"}


def test_an_approval_ended_by_a_close_and_a_new_request_is_not_what_is_awaited() -> None:
    """Approved 30.00, closed, asked again and approved 100.00 on 20 September, not paid: the
    finding rests on the approval of 100.00 (cited alone), at risk 100.00, as DU002 puts it
    at risk (before: 30.00, the least of every approval, and both approvals cited)."""
    spec = {"C": _case({"a": "Approve refund", "amount": 30, "t": "2026-09-01T11:00Z"},
                       {"a": "Close ticket"},
                       {"a": "Receive refund request", "t": "2026-09-19T09:00Z"},
                       {"a": "Approve refund", "amount": 100, "t": "2026-09-20T11:00Z"})}
    [f] = _run(spec)["EV003"]
    assert (f.timestamp, f.event_ids, f.amount_at_risk) == (
        "2026-09-20T11:00:00+00:00", ["C-06"], 100.0)
    assert f.evidence["approval_eid"] == "C-06"


def test_a_rejection_overturned_on_appeal_leaves_the_appeal_in_force() -> None:
    """Approved, rejected, approved again on appeal: the appeal's approval is in force;
    approved, then rejected: nothing (as before). The approval the rejection withdrew is
    not cited (before, it was)."""
    appealed = _case({"a": "Approve refund", "t": "2026-09-01T11:00Z"},
                     {"a": "Reject refund", "t": "2026-09-03T09:00Z"},
                     {"a": "Approve refund", "t": "2026-09-05T09:00Z"})
    [f] = _run({"C": appealed})["EV003"]
    assert (f.timestamp, f.event_ids) == ("2026-09-05T09:00:00+00:00", ["C-05"])
    rejected = _case({"a": "Approve refund", "t": "2026-09-01T11:00Z"},
                     {"a": "Reject refund", "t": "2026-09-03T09:00Z"})
    assert _run({"C": rejected}) == {}


def test_the_payout_stage_left_to_approved_not_paid_is_its_case_in_force() -> None:
    """stage-overdue leaves a payout stage's open wait to approved-not-paid where that rule
    fires: a case approved, closed and asked for again is no such case any more, so its
    ended approval's wait is told by neither (the new request, undecided, has no payout
    stage open); one approved and not paid is told by approved-not-paid alone."""
    closed_again = _case({"a": "Approve refund", "t": "2026-09-01T11:00Z"},
                         {"a": "Close ticket", "t": "2026-09-02T09:00Z"},
                         {"a": "Receive refund request", "t": "2026-10-10T09:00Z"})
    unpaid = _case({"a": "Approve refund", "t": "2026-09-01T11:00Z"})
    found = _run({"A": closed_again, "B": unpaid}, ApprovedNotPaid, StageOverdue)
    assert {(f.rule, f.case_id) for fs in found.values() for f in fs} == {
        ("EV003", "B")}


def _reused(approved: str, paid: str | None, receipt: str = "R-7") -> dict[str, Any]:
    return {"channel": "offline", "events": [
        {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
        {"a": "Collect evidence", "ev": {"receipt": receipt}},
        {"a": "Approve refund", "t": approved},
        *([{"a": "Execute payout", "t": paid}] if paid else [])]}


def test_an_approval_on_a_reused_receipt_is_not_told_as_a_payment_to_make() -> None:
    """A paid on R-7 on 1 July; B approved on R-7 on 5 July and not paid. On 20 July DU002
    finds B (the receipt already refunded in A) and EV003 finds B's approval past its
    grace: before, 'still not paid after 14d 13h', a wait to pay, beside DU002's 'already
    refunded'. Now EV003 says the payment is not to be made, naming A and the receipt
    (`receipt_reused_before`); both rest on the same approval. C, approved on its own
    receipt, is told as before."""
    spec = {"A": _reused("2026-07-01T11:00Z", "2026-07-01T12:00Z"),
            "B": _reused("2026-07-05T11:00Z", None),
            "C": _reused("2026-07-05T11:00Z", None, receipt="R-8")}
    found = _run(spec, as_of="2026-07-20T00:00Z")
    [du] = found["DU002"]
    by_case = {f.case_id: f for f in found["EV003"]}
    assert sorted(by_case) == ["B", "C"]
    b = by_case["B"]
    assert (du.case_id, du.timestamp) == ("B", b.timestamp)
    assert b.message == (
        "approved on 2026-07-05 11:00:00 UTC, still not paid after 14d 13h; not to be paid: "
        "receipt-reused (DU002) found its receipt R-7 used before in case A")
    assert b.evidence["receipt_reused_before"] == ["A"]
    assert by_case["C"].message == (
        "approved on 2026-07-05 11:00:00 UTC, still not paid after 14d 13h")
    assert "receipt_reused_before" not in by_case["C"].evidence
    # Where receipt-reused is not judged (a policy ignoring it: receipts not unique), EV003
    # says nothing of it.
    alone = _run(spec, ApprovedNotPaid, as_of="2026-07-20T00:00Z")["EV003"]
    assert [f.message for f in alone if f.case_id == "B"] == [
        "approved on 2026-07-05 11:00:00 UTC, still not paid after 14d 13h"]


def _with_sale(case: dict[str, Any], amount: float) -> dict[str, Any]:
    sale = {"a": "Record store sale", "t": "2026-06-20T09:00Z"}
    return {**case, "amount": amount, "charged": 50, "events": [sale, *case["events"]]}


def test_an_approval_partly_within_the_receipts_sale_is_not_to_be_paid_in_part() -> None:
    """One sale of 50.00 on R-555: A paid 30.00, B approved 35.00 and not paid. DU002 puts
    15.00 at risk, the part beyond the sale; EV003 said the whole 35.00 was 'not to be paid',
    though 20.00 of it is within the sale. Now it says the 15.00 beyond it is not to be
    paid (its own amount at risk stays the 35.00 approved and unpaid)."""
    spec = {"A": _with_sale(_reused("2026-07-01T11:00Z", "2026-07-01T12:00Z", "R-555"), 30),
            "B": _with_sale(_reused("2026-07-05T11:00Z", None, "R-555"), 35)}
    found = _run(spec, as_of="2026-07-20T00:00Z")
    [du] = found["DU002"]
    [ev] = found["EV003"]
    assert (du.case_id, du.amount_at_risk, ev.case_id, ev.amount_at_risk) == (
        "B", 15.0, "B", 35.0)
    assert ev.message == (
        "approved on 2026-07-05 11:00:00 UTC, still not paid after 14d 13h; 15.00 EUR of it "
        "(beyond the receipt's sale) not to be paid: receipt-reused (DU002) found its "
        "receipt R-555 used before in case A")


def test_an_approval_without_a_time_is_neither_cited_nor_at_risk() -> None:
    """B approved 100.00 on 5 July and 20.00 at no stated time, not paid: the untimed
    approval is not placed, so not taken (as the docstring says): cited B-03 alone, at risk
    100.00 (before: B-03 and B-04 cited, at risk 20.00). DU002, finding B on A's receipt,
    puts 100.00 at risk too (before: 20.00)."""
    b = _reused("2026-07-05T11:00Z", None)
    b["events"].append({"a": "Approve refund", "amount": 20, "t": "2026-07-06T11:00Z"})
    spec = {"A": _reused("2026-07-01T11:00Z", "2026-07-01T12:00Z"), "B": b}
    found = _run(spec, as_of="2026-07-20T00:00Z", untimed=("B-04",))
    [ev] = found["EV003"]
    [du] = found["DU002"]
    assert (ev.event_ids, ev.amount_at_risk, du.amount_at_risk) == (["B-03"], 100.0, 100.0)
    assert ev.message.endswith("; not to be paid: receipt-reused (DU002) found its receipt "
                               "R-7 used before in case A")


def test_a_failing_receipt_reused_leaves_approved_not_paid_judging(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """DU002's check raising: its error is reported as its own, and EV003 still finds B's
    unpaid approval, without a word of the receipt (before: EV003 failed with it)."""
    def broken(self: ReceiptReused, facts: Any) -> list[Finding]:
        raise RuntimeError("boom")

    monkeypatch.setattr(ReceiptReused, "_check", broken)
    spec = {"A": _reused("2026-07-01T11:00Z", "2026-07-01T12:00Z"),
            "B": _reused("2026-07-05T11:00Z", None)}
    errors: list[str] = []
    found = _run(spec, as_of="2026-07-20T00:00Z", errors=errors)
    assert errors == ["DU002"]
    assert [(f.case_id, f.message) for f in found["EV003"]] == [
        ("B", "approved on 2026-07-05 11:00:00 UTC, still not paid after 14d 13h")]


def test_a_waived_receipt_reused_finding_does_not_stop_the_payment() -> None:
    """A waiver in force accepting DU002's finding on B (reviewed: not a reuse): EV003 tells
    B's approval as a wait to pay, no 'not to be paid' (before: it still said so). An
    expired waiver, or one of another case, changes nothing."""
    spec = {"A": _reused("2026-07-01T11:00Z", "2026-07-01T12:00Z"),
            "B": _reused("2026-07-05T11:00Z", None)}

    def waiver(case: str, expires: str, rule: str = "receipt-reused") -> Waiver:
        return Waiver(rule=rule, reason="reviewed", approved_by="QA", case=case,
                      expires=pd.Timestamp(expires).date())

    plain = "approved on 2026-07-05 11:00:00 UTC, still not paid after 14d 13h"
    for waivers, told in [((waiver("B", "2026-12-31"),), plain),
                          ((waiver("B", "2026-12-31", rule="DU*"),), plain),
                          ((waiver("B", "2026-07-01"),), None),
                          ((waiver("A", "2026-12-31"),), None)]:
        found = _run(spec, as_of="2026-07-20T00:00Z", waivers=waivers)
        [ev] = found["EV003"]
        if told is None:
            assert "; not to be paid: receipt-reused (DU002)" in ev.message, waivers
            assert ev.evidence["receipt_reused_before"] == ["A"]
        else:
            assert ev.message == told, waivers
            assert "receipt_reused_before" not in ev.evidence


def test_an_approval_first_on_a_receipt_paid_since_elsewhere_is_not_told_a_plain_wait(
        ) -> None:
    """C approved on R-7 on 1 July, not paid; D paid on R-7 on 5 July: DU002 finds D,
    naming C. EV003 told C 'still not paid' alone, a payment to make on a receipt refunded
    since; now it says so, naming D, and that the payment is to be settled with that
    refund first."""
    spec = {"C": _reused("2026-07-01T11:00Z", None),
            "D": _reused("2026-07-05T11:00Z", "2026-07-05T12:00Z")}
    found = _run(spec, as_of="2026-07-20T00:00Z")
    assert [(f.case_id, f.evidence["earlier_cases"]) for f in found["DU002"]] == [
        ("D", ["C"])]
    [ev] = found["EV003"]
    assert ev.message == (
        "approved on 2026-07-01 11:00:00 UTC, still not paid after 18d 13h; its receipt R-7 "
        "refunded since in case D, found by receipt-reused (DU002): to be settled with that "
        "refund before this approval is paid")
    assert "receipt_reused_before" not in ev.evidence


def test_every_earlier_case_is_counted_not_only_those_listed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Seven cases paid on R-7 before B's approval, DU002's evidence listing the first 3
    (its cap, made small here; 100 in a run): EV003 names them and counts the other 4 from
    `earlier_cases_n` (before: counted from the capped list, 'A0, A1, A2', the other 4 not
    told)."""
    from audit.rules.duplicates import du002_receipt_reused

    monkeypatch.setattr(du002_receipt_reused, "CASES_KEPT", 3)
    spec = {f"A{k}": _reused(f"2026-07-01T1{k}:00Z", f"2026-07-01T1{k}:30Z")
            for k in range(7)}
    spec["B"] = _reused("2026-07-05T11:00Z", None)
    found = _run(spec, as_of="2026-07-20T00:00Z", receipt_max_cases=20)
    [du] = [f for f in found["DU002"] if f.case_id == "B"]
    assert (du.evidence["earlier_cases"], du.evidence["earlier_cases_n"]) == (
        ["A0", "A1", "A2"], [7])
    [ev] = found["EV003"]
    assert ev.message.endswith(
        "; not to be paid: receipt-reused (DU002) found its receipt R-7 used before in "
        "cases A0, A1, A2 and 4 other cases")
