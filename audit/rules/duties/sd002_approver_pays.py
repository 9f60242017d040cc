from __future__ import annotations

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts


class ApproverPays(Rule):
    """What it checks:
    Someone who approved the refund also executed a successful payout of it.

    Why it matters:
    Authorising and executing a payment are duties to keep apart: whoever does both can pay
    whatever they approve, with nobody checking the bank details or the amount.

    Example:
    Violating: `Approve refund` by Rita Alvarez → `Execute payout` by Rita Alvarez.
    Compliant: `Approve refund` by Rita Alvarez → `Execute payout` by Victor Chen.

    Options:
    Labels from `activities` (controls `approve`, `second-approve`, `pay`). Failed payouts
    are not counted.

    References:
    COSO Internal Control: segregation of authorisation and custody of assets.
    """

    code = "SD002"
    name = "approver-pays"
    severity = "high"
    summary = "The approver executed the payout"

    def check(self, facts: CaseFacts) -> list[Finding]:
        approvals = facts.of("approve", "second-approve")[[C.CASE, C.RESOURCE, C.EVENT_ID]]
        payouts = facts.successful_payouts()[[C.CASE, C.RESOURCE, C.EVENT_ID, C.TIMESTAMP]]
        joined = payouts.merge(approvals, on=[C.CASE, C.RESOURCE], suffixes=("_pay", "_ap"))
        if joined.empty:
            return []
        hits = joined.groupby(C.CASE).agg(
            pay_eids=(f"{C.EVENT_ID}_pay", list), ap_eids=(f"{C.EVENT_ID}_ap", list),
            who=(C.RESOURCE, "first"), when=(C.TIMESTAMP, "min"))
        hits = hits.join(facts.cases[["payouts_sum", "currency"]])
        return self.findings(
            facts, hits, events=("ap_eids", "pay_eids"), when="when", amount="payouts_sum",
            evidence=("who",), message="{who} approved the refund and paid it out")
