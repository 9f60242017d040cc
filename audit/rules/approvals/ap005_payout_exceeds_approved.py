from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class PayoutExceedsApproved(Rule):
    """What it checks:
    The successful payouts of the case add up to more than the smallest amount an approval
    stated. Both in the case's currency: payouts and approvals stating no currency count as
    in it; those in another currency are not compared (80.00 USD approved is no limit on a
    payout in EUR, and no amount paid in EUR).

    Why it matters:
    An approval covers an amount, not a case: paying more than approved is an unapproved
    payment of the difference.

    Example:
    Violating: `Approve refund` 80.00 EUR → `Execute payout` 100.00 EUR.
    Not judged: `Approve refund` 80.00 USD → `Execute payout` 100.00 EUR.
    Compliant: `Approve refund` 100.00 EUR → `Execute payout` 100.00 EUR.
    Precedence: where this fires, `amount-mismatch` is not reported for the case.

    Options:
    `amount_tolerance` (default: half a minor unit of the currency, 0.005 EUR, 0.0005 KWD,
    0.5 JPY): differences up to it are rounding. Approvals without an amount set no limit:
    a case whose every approval states none is not judged here (`amount-mismatch` compares
    its payouts with the request; where the request states none either, check warns,
    counting such cases). A payout stating no amount is no part of the sum (never
    read as 0): an excess of the others alone is found (at least that much), but no excess
    found is no evidence that such a payout was within the approval
    (`payout-without-amount` reports it).

    References:
    COSO Internal Control: authorisation limits.
    """

    code = "AP005"
    name = "payout-exceeds-approved"
    severity = "high"
    logic_version = 1
    summary = "More paid out than was approved"
    options = (Option("tolerance", "differences up to this are rounding", "amount_tolerance"),)
    suppresses = ("amount-mismatch",)

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payouts_sum", "approvals_min_amount", "payout_time", "currency")
        c["excess"] = c["payouts_sum"] - c["approvals_min_amount"]
        hits = facts.with_lists(c[c["payouts_sum"].notna() & c["approvals_min_amount"].notna()
                                  & (c["excess"] > facts.tolerance(c["currency"]))],
                                "approval_eids", "payout_eids")
        return self.findings(
            facts, hits, events=("approval_eids", "payout_eids"), when="payout_time",
            amount="excess", evidence=("approvals_min_amount", "payouts_sum", "currency"),
            message="paid {payouts_sum:.2f} {currency} against an approved "
                    "{approvals_min_amount:.2f} {currency}")
