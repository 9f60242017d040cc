from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.currency import figure
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.evidence.ev005_refund_exceeds_charge import captured_of
from audit.rules.facts import CaseFacts, same


class DuplicateRefund(Rule):
    """What it checks:
    A successful payout repeats an earlier successful payout of the same charge (or, where
    either payout carries no charge id, the same order) with the same amount, in this or
    another case. The later payout's case gets the finding; its amount at risk is each of
    its repeating payouts once, in the case's currency (the message tells repeats in other
    currencies too). Instalments are no repeat: a payout repeating an earlier one of its
    own case is not judged a duplicate of it where the case's successful payouts in its
    currency, up to and including it in time order, add up to no more than what the case
    was owed (the smaller of its request's amount and its smallest approval, whichever
    states one) nor, where its charge's purchase states the captured amount in the case's
    currency, its payouts on that charge to more than that amount. A refund of 50.00
    approved and paid as 25.00 and 25.00 is one refund; a third 25.00 is a repeat (25.00 at
    risk). A repeat stays one where its case states neither amount, where one of the case's
    payouts up to it states no amount (what they add up to is unknown), or where it is in
    another currency than its case's; and a repeat of another case's payout is a duplicate
    whatever its own case was owed.

    Why it matters:
    Duplicate tickets for one complaint, or a payout run twice, refund the customer twice.
    It is the most frequent refund loss found in audits.

    Example:
    Violating: case A pays 49.90 EUR on charge ch_1; a week later case B pays 49.90 EUR on ch_1.
    Compliant: `Payout failed` then `Execute payout` in one case: a failed refund re-issued is
    not a duplicate.
    Compliant: a case requests and approves 100.00 EUR on a charge of 100.00 EUR and pays it
    as 50.00 and 50.00 (instalments, a payment provider's limit per payout).
    Violating: approved 50.00 EUR, paid 50.00 and 50.00: the second repeats the first.
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
    logic_version = 1
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
        # A payout repeating an earlier one of its own case is an instalment, no repeat of
        # it, where the case's payouts up to it stay within what the case was owed.
        dups = dups[~_instalments(facts, dups)]
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
    payouts["at"] = at
    pairs = payouts.merge(payouts, on="key", suffixes=("", "_earlier"))
    if needs_chargeless:
        pairs = pairs[pairs[C.CHARGE_ID].isna() | pairs[f"{C.CHARGE_ID}_earlier"].isna()]
        pairs = pairs.drop(columns=[C.CHARGE_ID, f"{C.CHARGE_ID}_earlier"])
    return pairs


def _instalments(facts: CaseFacts, dups: pd.DataFrame) -> np.ndarray:
    """Per pair of `dups` (a later payout repeating an earlier one): whether the two are
    instalments of one refund, not a repeat. That is, both are payouts of one case, and the
    case's successful payouts in its currency up to the later one (in time order) add up
    to no more than
    - what the case was owed: the smaller of its request's amount and its smallest approval
      (as payout-exceeds-approved reads it), whichever of the two states one, and
    - where the later payout names a charge whose purchase states its captured amount in
      the case's currency: that amount, for the case's payouts on that charge.
    Not where the case states neither amount, where the later payout is in another currency
    than its case, or where one of the case's payouts up to it states no amount (what they
    add up to is unknown): the repeat stays a duplicate, as before. A pair of two cases is
    never one of instalments."""
    within = (dups[C.CASE] == dups[f"{C.CASE}_earlier"]).to_numpy(dtype=bool)
    out = np.zeros(len(dups), dtype=bool)
    if not within.any():
        return out
    later = dups["at"].to_numpy(dtype=np.int64)[within]
    cases = np.unique(facts.case_code[later])
    # The case's payouts that add up (its successful payouts in its currency or stating
    # none, as payouts_sum adds them), in sorted order: by case, time and event id.
    of_cases = np.zeros(facts.n_cases, dtype=bool)
    of_cases[cases] = True
    counted = facts.paid_in_case_currency()
    at = np.flatnonzero(counted & of_cases[facts.case_code])
    rows = facts.frame(at, (C.AMOUNT, C.CHARGE_ID))
    amounts = pd.to_numeric(rows[C.AMOUNT], errors="coerce").to_numpy(dtype=float,
                                                                       na_value=np.nan)
    case = facts.case_code[at]
    unknown = np.isnan(amounts).astype(np.int64)
    known = np.where(np.isnan(amounts), 0.0, amounts)
    running = pd.Series(known).groupby(case).cumsum().to_numpy(dtype=float)
    blind = pd.Series(unknown).groupby(case).cumsum().to_numpy(dtype=np.int64)
    charge = rows[C.CHARGE_ID].astype("string")
    on_charge = pd.Series(known).groupby([case, charge.fillna("").to_numpy(dtype=object)]
                                         ).cumsum().to_numpy(dtype=float)
    # What each case was owed, in its currency.
    owed_of = facts.at_cases(cases, "request_amount", "approvals_min_amount", "currency")
    owed = np.fmin(pd.to_numeric(owed_of["request_amount"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan), pd.to_numeric(
        owed_of["approvals_min_amount"], errors="coerce").to_numpy(dtype=float,
                                                                   na_value=np.nan))
    unit = owed_of["currency"].astype("string")
    tolerance = facts.tolerance(unit)
    slot = np.full(facts.n_cases, -1, dtype=np.int64)
    slot[cases] = np.arange(len(cases))
    # The later payouts: each where the case's running sums stand after it (a payout in
    # another currency than its case's is not among `at`: no instalment).
    where = np.searchsorted(at, later)
    inside = where < len(at)
    inside[inside] = at[where[inside]] == later[inside]
    where = np.where(inside, where, 0)
    k = slot[facts.case_code[later]]
    ok = (inside & (blind[where] == 0)
          & (running[where] <= owed[k] + tolerance[k]))  # (NaN owed: False)
    # Within the charge's captured amount, where its purchase states it in the case's unit.
    if ok.any():
        charges = pd.Series(charge.to_numpy(dtype=object)[where], dtype=object)
        captured = captured_of(facts, charges[ok])
        limit = pd.to_numeric(charges.map(captured["charge_amount"]), errors="coerce"
                              ).to_numpy(dtype=float, na_value=np.nan)
        limit_unit = charges.map(captured["charge_currency"]).astype("string")
        applies = ~np.isnan(limit) & same(limit_unit, pd.Series(unit.array.take(k))
                                          ).to_numpy(dtype=bool)
        ok &= ~applies | (on_charge[where] <= np.where(applies, limit, 0.0) + tolerance[k])
    out[np.flatnonzero(within)] = ok
    return out
