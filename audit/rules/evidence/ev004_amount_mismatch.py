from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts, same


class AmountMismatch(Rule):
    """What it checks:
    The successful payouts of a case add up to a different amount than the ticket's request
    (same currency).

    Why it matters:
    The ticket says what the customer is owed; a payout that differs is a wrong payment, a
    keying error, or a sign that the payout belongs to another case.

    Example:
    Violating: request 120.00 EUR, approved 120.00 EUR, paid 100.00 EUR.
    Compliant: paid 120.00 EUR.
    Precedence: not reported where `payout-exceeds-approved` fires on the case.

    Options:
    `amount_tolerance` (default 0.005).

    References:
    ISA 500 (audit evidence: accuracy).
    """

    code = "EV004"
    name = "amount-mismatch"
    severity = "medium"
    summary = "Amount paid differs from the amount requested"
    options = (Option("tolerance", "differences up to this are rounding", "amount_tolerance"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payouts_sum", "request_amount", "request_currency", "payout_currency",
                        "request_eid", "payout_time", "currency")
        c["difference"] = (c["payouts_sum"] - c["request_amount"]).abs()
        hits = facts.with_lists(c[c["payouts_sum"].notna() & c["request_amount"].notna()
                                  & same(c["request_currency"], c["payout_currency"])
                                  & (c["difference"] > facts.tolerance())], "payout_eids")
        return self.findings(
            facts, hits, events=("request_eid", "payout_eids"), when="payout_time",
            amount="difference", evidence=("request_amount", "payouts_sum", "currency"),
            message="requested {request_amount:.2f} {currency}, paid {payouts_sum:.2f}")
