from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts, Ints


class InstrumentMismatch(Rule):
    """What it checks:
    The payout went to another payment method, or in another currency, than the purchase it
    refunds.

    Why it matters:
    Refunds go back the way the money came. A card purchase refunded by bank transfer to an
    account nobody verified is a common route for refund fraud and money laundering.

    Example:
    Violating: `Capture payment` by card → `Execute payout` by bank_transfer.
    Compliant: both by card, both in EUR.

    Options:
    Compares every successful payout's `payment:method` with the purchase it refunds: the
    first purchase event of the charge it names (`payment:charge_id`), else the case's first
    purchase (a customer who paid one renewal by card and the next by PayPal is refunded the
    second to PayPal); a second payout by bank transfer after a first one back to the card
    is reported too. Methods are compared without case, width or word separators (`Card` is
    `card`, `Bank Transfer` is `bank_transfer`). Its `refund:currency` is compared with the
    same purchase's. Purchases whose payment status is failed, reversed or pending are no
    purchase (a declined PayPal attempt before the card capture). A payout stating no method
    or currency is not judged on it, nor a case whose purchase states none. The finding is
    dated at the first payout by another method or in another currency and names the
    purchase it was compared with, every successful payout of the case and the methods they
    were paid by, in time order, and, in `other_currency_payout_eids`, the payouts paid in
    another currency than the purchase each refunds (empty where only the method differs).
    Its amount at risk is what its payouts in the case's
    currency paid by another method than the purchase's; where only the currency differs it
    is not stated (the payout in the other currency is not an amount in the case's
    currency).

    References:
    Card-scheme refund rules (refund to the original card); AML guidance on refunds to third
    parties.
    """

    code = "EV006"
    name = "instrument-mismatch"
    severity = "high"
    logic_version = 2
    summary = "Refund paid to another payment method or currency than the purchase"

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payout_method", "purchase_method", "payout_currencies",
                        "purchase_currency", "payout_eid", "purchase_eid", "payout_time",
                        "payouts_sum", "currency")
        bought = _bought(facts)
        # Each successful payout against the purchase it refunds (the charge it names, else
        # the case's first): by another method, or in another currency.
        paid = np.flatnonzero(facts.mask("paid"))
        purchase = _compared_with(facts, paid, bought)
        by_method = _differs(facts.method_codes(), paid, purchase)
        by_currency = _differs(facts.codes(C.CURRENCY), paid, purchase)
        differs = by_method | by_currency
        first_other = _first_per_case(facts, len(c), paid[differs])
        found = (first_other >= 0) & c["payout_eid"].notna().to_numpy(dtype=bool)
        other_method = _first_per_case(facts, len(c), paid[by_method]) >= 0
        c["at_risk"] = _paid_by_other_method(facts, c, found & other_method, bought)
        hits = c[found].rename(
            columns={"payout_currencies": "payout_currency"})  # (the evidence's key)
        hits = facts.with_lists(hits, "payout_eids")
        # Dated at the first payout by another method or in another currency, and named
        # with the purchase it was compared with (the charge it names, not necessarily the
        # case's first purchase).
        first = first_other[found]
        hits["when"] = np.asarray(facts.column(C.TIMESTAMP).take(first))
        compared = _compared_with(facts, first, bought)
        for column, source in (("purchase_eid", C.EVENT_ID),
                               ("purchase_method", C.PAYMENT_METHOD),
                               ("purchase_currency", C.CURRENCY)):
            hits[column] = np.asarray(facts.column(source).take(compared), dtype=object)
        # Every method the case's payouts were paid by, in time order ("card, bank_transfer").
        stating = paid[~np.asarray(facts.column(C.PAYMENT_METHOD).take(paid).isna(),
                                   dtype=bool)]
        methods = facts.grouped(stating[found[facts.case_code[stating]]],
                                methods=C.PAYMENT_METHOD)
        hits["payout_method"] = methods["methods"].reindex(hits.index).astype(object).where(
            lambda m: m.notna(), hits["payout_method"].astype(object))
        # ... and the currencies in the same order (they were sorted: "refunded by paypal,
        # bank_transfer in EUR, USD" where the PayPal payout was the one in USD).
        stated = paid[~np.asarray(facts.column(C.CURRENCY).take(paid).isna(), dtype=bool)]
        currencies = facts.grouped(stated[found[facts.case_code[stated]]],
                                   currencies=C.CURRENCY)
        hits["payout_currency"] = currencies["currencies"].reindex(hits.index).astype(
            object).where(lambda m: m.notna(), hits["payout_currency"].astype(object))
        # The payouts in another currency than the purchase each refunds (the charge it
        # names, else the case's first), in time order: what the check's warning of cases
        # paid in another currency adds up (before, it read every payout of the case in
        # another currency than the first purchase's, so a payout in its own charge's
        # currency was told as paid in another)
        elsewhere = facts.grouped(paid[by_currency])["eids"]
        hits["other_currency_payout_eids"] = [
            ids if isinstance(ids, list) else []
            for ids in elsewhere.reindex(hits.index).tolist()]
        return self.findings(
            facts, hits, events=("purchase_eid", "payout_eids"), when="when",
            amount="at_risk",
            evidence=("purchase_method", "payout_method", "purchase_currency",
                      "payout_currency", "other_currency_payout_eids"),
            message="purchase paid by {purchase_method} in {purchase_currency}, refunded by "
                    "{payout_method} in {payout_currency}")


def _bought(facts: CaseFacts) -> Ints:
    """Per case: the sorted position of its first purchase (not failed), -1 where none."""
    return facts.first_of(facts.mask("bought"))


def _compared_with(facts: CaseFacts, at: Ints, bought: Ints) -> Ints:
    """Per payout at sorted positions `at`: the sorted position of the purchase it is
    compared with: the first purchase (not failed) in its case of the charge it names, else
    its case's first purchase (`bought`); -1 where its case has none. A customer who paid a
    renewal by card and the next by PayPal is refunded the second one to PayPal."""
    out: Ints = bought[facts.case_code[at]]
    if not len(at) or not facts.has(C.CHARGE_ID):
        return out
    charges = facts.codes(C.CHARGE_ID)
    buys = np.flatnonzero(facts.mask("bought") & (charges >= 0))
    named = charges[at] >= 0
    if not len(buys) or not named.any():
        return out
    width = np.int64(int(charges.max()) + 1)
    keys = facts.case_code[buys].astype(np.int64) * width + charges[buys]
    # The first purchase of each (case, charge): positions ascend by case, then time.
    order = np.argsort(keys, kind="stable")
    distinct, first = np.unique(keys[order], return_index=True)
    first_at = buys[order][first]
    wanted = facts.case_code[at].astype(np.int64) * width + charges[at]
    slot = np.minimum(np.searchsorted(distinct, wanted), len(distinct) - 1)
    hit = named & (distinct[slot] == wanted)
    out[hit] = first_at[slot[hit]]
    return out


def _differs(codes: np.ndarray, at: Ints, purchase: Ints) -> np.ndarray:
    """Per payout at sorted positions `at`: whether its code (`codes`, per sorted event: a
    method's or a currency's) differs from that of its purchase at `purchase` (-1: none),
    where both state one."""
    theirs = np.where(purchase >= 0, codes[np.maximum(purchase, 0)], -1)
    return np.asarray((theirs >= 0) & (codes[at] >= 0) & (codes[at] != theirs), dtype=bool)


def _by_other_method(facts: CaseFacts, at: Ints, bought: Ints) -> np.ndarray:
    """Per payout at sorted positions `at`: whether it states another method than the
    purchase it is compared with (`_compared_with`), on per-method codes (no text compared
    per payout; `Card` is `card`)."""
    return _differs(facts.method_codes(), at, _compared_with(facts, at, bought))


def _first_per_case(facts: CaseFacts, n_cases: int, at: Ints) -> Ints:
    """Per case: the first of the sorted positions `at` (ascending) in it; -1 where none."""
    out = np.full(n_cases, -1, dtype=np.int64)
    cases = facts.case_code[at]
    start = np.r_[True, cases[1:] != cases[:-1]] if len(at) else np.zeros(0, dtype=bool)
    out[cases[start]] = at[start]
    return out


def _paid_by_other_method(facts: CaseFacts, c: pd.DataFrame, judged: np.ndarray,
                          bought: np.ndarray) -> np.ndarray:
    """Per case (the rows of `c`, in case order) where `judged`: the successful payouts in
    the case's currency (or stating none) made by another method than the purchase's; NaN
    elsewhere, and where no such payout states an amount (the other method used only in
    another currency: no amount in the case's currency is at risk, and 0.00 would read as
    nothing at risk). A payout made the purchase's way is not at risk (60 by bank transfer
    and 40 by card against a card purchase: 60); one stating no method is not judged."""
    at_risk = np.full(len(c), np.nan)
    if not judged.any():
        return at_risk
    at = np.flatnonzero(facts.paid_in_case_currency() & judged[facts.case_code])
    case = facts.case_code[at]
    amount = pd.to_numeric(pd.Series(facts.column(C.AMOUNT).take(at)),
                           errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    counted = _by_other_method(facts, at, bought) & ~np.isnan(amount)
    sums = np.bincount(case[counted], weights=amount[counted], minlength=len(c))
    stated = np.bincount(case[counted], minlength=len(c)) > 0
    at_risk[judged & stated] = sums[judged & stated]
    return at_risk
