from __future__ import annotations

import numpy as np

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class MissingApproval(Rule):
    """What it checks:
    A refund was paid out (a successful payout) and the case holds no approval at all, neither
    first- nor second-level.

    Why it matters:
    Approval is the key control over refunds: money left the company on one person's
    decision. This is the most direct sign of a bypassed control or of refund fraud.

    Example:
    Violating: `Receive refund request` → `Collect evidence` → `Execute payout`.
    Compliant: `Receive refund request` → `Collect evidence` → `Approve refund` →
    `Execute payout`.
    Precedence: this finding stands alone; the case gets no `missing-second-approval`,
    `self-approval`, `approver-pays` or `same-approver-twice` as well. A payout without any
    ticket is an `orphan-payout` instead.

    Options:
    Which labels count as approvals and payouts comes from `activities` (controls `approve`,
    `second-approve`, `pay`). A payout whose `payment:status` is failed, reversed or pending
    is not a payout.

    References:
    COSO Internal Control: control activities (authorisation); ISA 315 (controls over
    disbursements).
    """

    code = "AP001"
    name = "missing-approval"
    severity = "critical"
    logic_version = 1
    summary = "Refund paid without any approval"
    options = (Option("labels", "labels mapped to approve, second-approve and pay",
                      "activities"),)
    suppresses = ("missing-second-approval", "self-approval", "approver-pays",
                  "same-approver-twice")

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payout_eid", "approvals_n", "request_eid", "payout_time", "payouts_sum",
                        "payout_amount", "payout_currency", "currency")
        found = (c["payout_eid"].notna() & c["approvals_n"].eq(0)).to_numpy(dtype=bool)
        hits = c[found].copy()
        hits["paid"] = facts.paid_texts(np.flatnonzero(found))
        return self.findings(
            facts, hits, events=("request_eid", "payout_eid"), when="payout_time",
            amount="payouts_sum",
            evidence=("payout_eid", "payout_amount", "payout_currency", "currency"),
            message="paid {paid} on {payout_time} without any approval")
