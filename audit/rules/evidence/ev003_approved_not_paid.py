from __future__ import annotations

import pandas as pd

from audit.canonical import elapsed
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class ApprovedNotPaid(Rule):
    """What it checks:
    A refund was approved, not rejected since, and has no successful payout although the
    grace period after its last approval has passed at the audit's as-of time. Only a
    rejection at or after the last approval withdraws it: a rejection overturned by a later
    approval (an appeal) does not.

    Why it matters:
    An approved refund is a debt to the customer; leaving it unpaid breaks the promise to the
    customer, and unpaid approvals can be re-used later for a different payee.

    Example:
    Violating: `Approve refund` on 2026-09-01, no payout by the as-of date 2026-10-15.
    Violating: `Reject refund` on 2026-09-03, `Approve refund` on appeal on 2026-09-05, no
    payout by 2026-10-15.
    Compliant: `Execute payout` within the grace period, or `Reject refund` after the last
    approval.
    Precedence: an unpaid case is never also an `sla-breach`, and its payout stage still
    open past its limit is no `stage-overdue` (the same wait); its stages that ended late
    are.

    Options:
    `grace.approved_not_paid` (default 5d); the as-of time is `as_of` in the policy or
    `--as-of`, else the time of the run; `check` judges the log as it stood then (a payout
    dated after it is not yet made). The message tells the wait in days, hours,
    minutes and seconds ("approved on 2026-09-30 12:56:06 UTC, still not paid after 14d
    11h 3m 54s"); the evidence keeps it as an ISO 8601 duration (`waiting`,
    "P14DT11H3M54S", days of 24 hours), and the approval's time in ISO 8601.

    References:
    Consumer refund regulations (time limits for refunds); COSO Internal Control: monitoring.
    """

    code = "EV003"
    name = "approved-not-paid"
    severity = "medium"
    logic_version = 1
    summary = "Approved refund not paid within the grace period"
    options = (Option("grace", "time allowed between approval and payout",
                      "grace.approved_not_paid"),
               Option("as-of", "the audit's clock (or check --as-of)", "as_of"))
    suppresses = ("sla-breach",)

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("approvals_last_time", "approvals_n", "payout_eid",
                        "rejections_last_time", "approvals_min_amount", "currency")
        c["waiting"] = elapsed(facts.as_of, c["approvals_last_time"])
        unpaid, over = _unpaid_and_over(facts, c)
        # (the approved cases still within their grace: judged at a later clock, told to
        # findings.json's not_due_cases by engine.side_facts)
        facts.not_due[self.code] = c.index[(unpaid & ~over).to_numpy(dtype=bool)].tolist()
        hits = facts.with_lists(c[c["approvals_n"].gt(0) & unpaid & over], "approval_eids")
        return self.findings(
            facts, hits, events=("approval_eids",), when="approvals_last_time",
            amount="approvals_min_amount", evidence=("approvals_last_time", "waiting"),
            message="approved on {approvals_last_time}, still not paid after {waiting}")


def unpaid_past_grace(facts: CaseFacts, cases: pd.DataFrame) -> pd.Series:
    """Per case of `cases` (its `approvals_last_time`, `payout_eid`, `rejections_last_time`):
    approved, no successful payout in the case at all, not rejected (a rejection at or after
    the last approval; one before it was overturned by it, and NaT compares false), and the
    grace after the last approval over at the as-of time: where this rule fires (stage-overdue
    asks, to leave that wait to it)."""
    unpaid, over = _unpaid_and_over(facts, cases)
    fires: pd.Series = unpaid & over
    return fires


def not_due_cases(facts: CaseFacts) -> list[object]:
    """The ids of the cases the rule did not judge yet at the clock, their grace not over
    then: approved, no successful payout, not rejected since (as `unpaid_past_grace`
    reads them), and the grace after the last approval not over at the as-of time.
    findings.json's `not_due_cases.EV003`: `diff` tells a later run's finding of such a
    case, its grace run out since, from one this run judged and did not find. (The rule's
    check keeps them in `CaseFacts.not_due` as it judges: this computes them where it did
    not run on these facts.)"""
    c = facts.table("approvals_last_time", "payout_eid", "rejections_last_time")
    unpaid, over = _unpaid_and_over(facts, c)
    found: list[object] = c.index[(unpaid & ~over).to_numpy(dtype=bool)].tolist()
    return found


def _unpaid_and_over(facts: CaseFacts, cases: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per case of `cases`: approved, with no successful payout and no rejection at or after
    the last approval (one before it was overturned by it; NaT compares false); and the
    grace after the last approval over at the as-of time (false where not approved)."""
    approved, rejected = cases["approvals_last_time"], cases["rejections_last_time"]
    unpaid: pd.Series = (approved.notna() & cases["payout_eid"].isna()
                         & ~(rejected >= approved).fillna(False))
    over: pd.Series = elapsed(facts.as_of, approved) > facts.policy.approved_not_paid_grace
    return unpaid, over
