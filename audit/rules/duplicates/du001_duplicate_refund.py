from __future__ import annotations

import numpy as np

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts


class DuplicateRefund(Rule):
    """What it checks:
    A successful payout repeats an earlier successful payout of the same charge (or, where
    payouts carry no charge id, the same order) with the same amount, in this or another case.
    The later payout's case gets the finding.

    Why it matters:
    Duplicate tickets for one complaint, or a payout run twice, refund the customer twice.
    It is the most frequent refund loss found in audits.

    Example:
    Violating: case A pays 49.90 EUR on charge ch_1; a week later case B pays 49.90 EUR on ch_1.
    Compliant: `Payout failed` then `Execute payout` in one case: a failed refund re-issued is
    not a duplicate.
    Precedence: where this fires, `refund-exceeds-charge` is not reported for the case.

    Options:
    `amount_tolerance` (default 0.005).

    References:
    ACFE fraud tree: billing schemes (duplicate payments).
    """

    code = "DU001"
    name = "duplicate-refund"
    severity = "high"
    summary = "The same purchase refunded twice"
    suppresses = ("refund-exceeds-charge",)

    def check(self, facts: CaseFacts) -> list[Finding]:
        paid = np.flatnonzero(facts.mask("paid"))
        keys = facts.frame(paid, (C.CHARGE_ID, C.ORDER_ID))
        key = keys[C.CHARGE_ID].fillna(keys[C.ORDER_ID])
        del keys
        # Only payouts whose key another payout shares can pair with an earlier one: the
        # rest (nearly all) are not taken nor joined (1M payouts at 1M cases).
        shared = (key.notna() & key.duplicated(keep=False)).to_numpy(dtype=bool)
        payouts = facts.frame(paid[shared], (C.CASE, C.EVENT_ID, C.TIMESTAMP, C.AMOUNT,
                                             C.CURRENCY))
        payouts.insert(0, "key", key[shared].array)
        del key
        cols = ["key", C.CASE, C.EVENT_ID, C.TIMESTAMP, C.AMOUNT, C.CURRENCY]
        pairs = payouts[cols].merge(payouts[cols], on="key", suffixes=("", "_earlier"))
        earlier = (pairs[f"{C.TIMESTAMP}_earlier"] < pairs[C.TIMESTAMP]) | (
            (pairs[f"{C.TIMESTAMP}_earlier"] == pairs[C.TIMESTAMP])
            & (pairs[f"{C.EVENT_ID}_earlier"] < pairs[C.EVENT_ID]))
        same_amount = (pairs[C.AMOUNT] - pairs[f"{C.AMOUNT}_earlier"]).abs() <= facts.tolerance()
        same_currency = pairs[C.CURRENCY].astype("string") == pairs[
            f"{C.CURRENCY}_earlier"].astype("string")
        dups = pairs[earlier & same_amount & same_currency.fillna(True).astype(bool)]
        if dups.empty:
            return []
        hits = dups.groupby(C.CASE).agg(
            eids=(C.EVENT_ID, list), earlier_eids=(f"{C.EVENT_ID}_earlier", list),
            earlier_case=(f"{C.CASE}_earlier", "first"), key=("key", "first"),
            amount=(C.AMOUNT, "first"), currency=(C.CURRENCY, "first"),
            when=(C.TIMESTAMP, "min"))
        return self.findings(
            facts, hits, events=("earlier_eids", "eids"), when="when", amount="amount",
            evidence=("key", "earlier_case", "amount", "currency"),
            message="{amount:.2f} {currency} refunded again on {key}, already refunded in "
                    "case {earlier_case}")
