from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.currency import figure
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class DuplicateRefund(Rule):
    """What it checks:
    A successful payout repeats an earlier successful payout of the same charge (or, where
    either payout carries no charge id, the same order) with the same amount, in this or
    another case. The later payout's case gets the finding; its amount at risk is each of
    its repeating payouts once, in the case's currency (the message tells repeats in other
    currencies too).

    Why it matters:
    Duplicate tickets for one complaint, or a payout run twice, refund the customer twice.
    It is the most frequent refund loss found in audits.

    Example:
    Violating: case A pays 49.90 EUR on charge ch_1; a week later case B pays 49.90 EUR on ch_1.
    Compliant: `Payout failed` then `Execute payout` in one case: a failed refund re-issued is
    not a duplicate.
    Precedence: where this fires, `refund-exceeds-charge` is not reported for the case.

    Options:
    `amount_tolerance` (default: half a minor unit of the currency, 0.005 EUR, 0.0005 KWD,
    0.5 JPY). A payout stating no amount repeats nothing and is repeated by nothing (two
    such payouts on one charge may or may not be the same refund twice): it is not judged,
    and `payout-without-amount` reports it. A payout stating no currency repeats one of the
    same amount in any currency, and is at risk in its case's currency.

    References:
    ACFE fraud tree: billing schemes (duplicate payments).
    """

    code = "DU001"
    name = "duplicate-refund"
    severity = "high"
    summary = "The same purchase refunded twice"
    options = (Option("tolerance", "differences up to this are rounding", "amount_tolerance"),)
    suppresses = ("refund-exceeds-charge",)

    def check(self, facts: CaseFacts) -> list[Finding]:
        paid = np.flatnonzero(facts.mask("paid"))
        keys = facts.frame(paid, (C.CHARGE_ID, C.ORDER_ID))
        charge, order = keys[C.CHARGE_ID], keys[C.ORDER_ID]
        del keys
        # Pairs on one charge, and pairs on one order where either payout has no charge id
        # (a charge id and an order id are never compared: ch 777 is not order 777). Only
        # payouts whose key another payout shares can pair with an earlier one: the rest
        # (nearly all) are not taken nor joined (1M payouts at 1M cases).
        by_charge = (charge.notna() & charge.duplicated(keep=False)).to_numpy(dtype=bool)
        chargeless = charge.isna() & order.notna()
        by_order = np.zeros(len(paid), dtype=bool)
        if chargeless.any():
            by_order = (order.notna() & order.isin(order[chargeless].unique())
                        & order.duplicated(keep=False)).to_numpy(dtype=bool)
        pairs = pd.concat([_pairs(facts, paid[by_charge], charge[by_charge]),
                           _pairs(facts, paid[by_order], order[by_order],
                                  needs_chargeless=True)], ignore_index=True)
        del charge, order
        pairs = pairs.drop_duplicates([C.EVENT_ID, f"{C.EVENT_ID}_earlier"])
        earlier = (pairs[f"{C.TIMESTAMP}_earlier"] < pairs[C.TIMESTAMP]) | (
            (pairs[f"{C.TIMESTAMP}_earlier"] == pairs[C.TIMESTAMP])
            & (pairs[f"{C.EVENT_ID}_earlier"] < pairs[C.EVENT_ID]))
        currency = pairs[C.CURRENCY].astype("string")
        earlier_currency = pairs[f"{C.CURRENCY}_earlier"].astype("string")
        # (Where one of the two states no currency, the tolerance of the other's.)
        same_amount = (pairs[C.AMOUNT] - pairs[f"{C.AMOUNT}_earlier"]).abs() <= facts.tolerance(
            currency.fillna(earlier_currency))
        same_currency = currency == earlier_currency
        dups = pairs[earlier & same_amount & same_currency.fillna(True).astype(bool)]
        if dups.empty:
            return []
        dups = dups.sort_values([C.CASE, C.TIMESTAMP, C.EVENT_ID, f"{C.TIMESTAMP}_earlier",
                                 f"{C.EVENT_ID}_earlier"], kind="stable")
        hits = dups.groupby(C.CASE, sort=True).agg(
            eids=(C.EVENT_ID, list), earlier_case=(f"{C.CASE}_earlier", "first"),
            key=("key", "first"), when=(C.TIMESTAMP, "min"))
        # The earlier payouts in time order (pairs are in the later payouts' order).
        hits["earlier_eids"] = dups.sort_values(
            [C.CASE, f"{C.TIMESTAMP}_earlier", f"{C.EVENT_ID}_earlier"], kind="stable"
        ).groupby(C.CASE, sort=True)[f"{C.EVENT_ID}_earlier"].agg(list)
        # At risk: each repeating payout of the case once (two repeats of 50: 100), summed
        # per currency; the amount at risk is the sum in the case's currency where it has
        # repeats in it (else in the first repeat's), and the message tells every currency.
        # (A repeat stating no currency is in its case's, as the other amount rules count
        # a payout stating none.)
        own = facts.at_cases(facts.case_ids.get_indexer(hits.index).astype(np.int64),
                             "currency")["currency"].astype("string").fillna("")
        repeats = dups.drop_duplicates(C.EVENT_ID)
        unit_of_case = repeats[C.CASE].map(dict(zip(hits.index.tolist(), own.tolist(),
                                                    strict=True)))
        repeats = repeats.assign(unit=repeats[C.CURRENCY].astype("string").fillna(
            unit_of_case.astype("string")).fillna(""))
        per = repeats.groupby([C.CASE, "unit"], sort=False)[C.AMOUNT].sum(min_count=1)
        of_case: dict[object, dict[str, float]] = {}
        for (case, unit), total in zip(per.index.tolist(), per.tolist(), strict=True):
            of_case.setdefault(case, {})[unit] = total
        amounts, currencies, told = [], [], []
        for case, case_unit in zip(hits.index.tolist(), own.tolist(), strict=True):
            sums = of_case[case]
            unit = case_unit if case_unit in sums else next(iter(sums))
            amounts.append(sums[unit])
            currencies.append(unit or None)
            told.append(" and ".join(
                f"{figure(v, u or None)}{' ' + u if u else ''}"
                for u, v in sorted(sums.items(), key=lambda item: item[0] != unit)))
        hits["amount"], hits["currency"], hits["repeated"] = amounts, currencies, told
        return self.findings(
            facts, hits, events=("earlier_eids", "eids"), when="when", amount="amount",
            evidence=("key", "earlier_case", "amount", "currency"),
            message="{repeated} refunded again on {key}, already refunded in case "
                    "{earlier_case}")


_COLUMNS = [C.CASE, C.EVENT_ID, C.TIMESTAMP, C.AMOUNT, C.CURRENCY]


def _pairs(facts: CaseFacts, at: np.ndarray, key: pd.Series, *,
           needs_chargeless: bool = False) -> pd.DataFrame:
    """Every ordered pair of the payouts at sorted positions `at` sharing `key` (each with
    itself too), the second's columns suffixed `_earlier`; with `needs_chargeless`, only
    pairs where either payout has no charge id."""
    columns = [*_COLUMNS, C.CHARGE_ID] if needs_chargeless else _COLUMNS
    payouts = facts.frame(at, columns)
    payouts.insert(0, "key", key.array)
    pairs = payouts.merge(payouts, on="key", suffixes=("", "_earlier"))
    if needs_chargeless:
        pairs = pairs[pairs[C.CHARGE_ID].isna() | pairs[f"{C.CHARGE_ID}_earlier"].isna()]
        pairs = pairs.drop(columns=[C.CHARGE_ID, f"{C.CHARGE_ID}_earlier"])
    return pairs
