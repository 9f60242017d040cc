from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts


class NoPriorPurchase(Rule):
    """What it checks:
    A refund was paid out and the case holds no purchase (captured charge, subscription
    renewal or store sale) before that payout.

    Why it matters:
    A refund of something never bought is money out with nothing in: either fraud or a broken
    link between the ticket and the payment system that the auditor must resolve.

    Example:
    Violating: `Receive refund request` → `Approve refund` → `Execute payout`, no
    `Capture payment`.
    Compliant: `Capture payment` precedes the payout in the case.

    Options:
    Labels mapped to the control `purchase` in `activities`.

    References:
    ISA 500 (audit evidence: occurrence).
    """

    code = "EV007"
    name = "no-prior-purchase"
    severity = "high"
    summary = "Refund without a purchase before it"

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.cases
        no_purchase = c["purchase_eid"].isna() | (c["purchase_time"] > c["payout_time"])
        hits = c[c["payout_eid"].notna() & no_purchase.fillna(True).astype(bool)]
        return self.findings(
            facts, hits, events=("payout_eid",), when="payout_time", amount="payouts_sum",
            evidence=("payout_order", "payout_charge"),
            message="paid {payouts_sum:.2f} {currency} with no purchase before the payout")
