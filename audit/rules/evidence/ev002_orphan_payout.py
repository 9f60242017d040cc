from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts


class OrphanPayout(Rule):
    """What it checks:
    A successful payout that belongs to no ticket: the case holds payment events only, no
    request, approval or other ticket event, and no `ticket:id`.

    Why it matters:
    Every refund must trace back to a customer's request. A payout nobody asked for is the
    plainest sign of money leaving outside the process.

    Example:
    Violating: `Capture payment` → `Execute payout`, both from the payment system, no ticket.
    Compliant: the payout's case also holds `Receive refund request` (or its ticket id).
    Precedence: this finding stands alone: the case gets no other approval, duty, evidence or
    timing finding.

    Options:
    Labels from `activities`; correlation of payouts to tickets is done at import.

    References:
    ISA 500 (audit evidence: occurrence); COSO Internal Control: information and
    communication.
    """

    code = "EV002"
    name = "orphan-payout"
    severity = "critical"
    summary = "Payout without a ticket"
    suppresses = ("missing-approval", "approval-after-payout", "missing-second-approval",
                  "unauthorized-approver", "payout-exceeds-approved", "self-approval",
                  "approver-pays", "same-approver-twice", "missing-evidence", "amount-mismatch",
                  "refund-exceeds-charge", "instrument-mismatch", "no-prior-purchase",
                  "approved-not-paid", "sla-breach", "stage-overdue")

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.cases
        hits = c[c["payout_eid"].notna() & ~c["has_ticket"].astype(bool)]
        return self.findings(
            facts, hits, events=("payout_eids",), when="payout_time", amount="payouts_sum",
            evidence=("payout_amount", "currency", "payout_charge"),
            message="payout of {payouts_sum:.2f} {currency} with no ticket")
