from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.currency import figure
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts, shared_work


class DuplicateRefund(Rule):
    """What it checks:
    A successful payout repeats an earlier successful payout of the same charge (or, where
    either payout carries no charge id, the same order) with the same amount, in this or
    another case. A payout carrying no charge id is of its case's charge where the case's
    events name exactly one (a subscription's renewals share its order id: a refund of the
    August renewal, its payout naming no charge, repeats no refund of the July one); only
    where its case names none, or several, is it linked by the order. The later payout's
    case gets the finding; its amount at risk is each of
    its repeating payouts once, in the case's currency (the message tells repeats in other
    currencies too). Instalments are no repeat: a payout repeating an earlier one of its
    own case is not judged a duplicate of it where the case's successful payouts in its
    currency, up to and including it in time order, add up to no more than what the case
    was owed: where an approval states an amount, the smaller of what its requests asked
    for, added up, and its smallest approval (two requests of 50.00 approved at 100.00 owe
    100.00); where none does, what its first request asked (a request of 50.00 sent twice
    is no second claim: paid 50.00 twice, the second is a repeat). A subscription refund
    whose pro-rata calculation states an amount owes that amount, as `amount-mismatch`
    reads it, capped by its smallest approval stating one (requested 29.00, pro-rata 5.61,
    paid 5.61 twice: the second is a repeat, 5.61 at risk).
    A refund of 50.00 approved and paid as 25.00 and 25.00 is one refund; a third 25.00 is
    a repeat (25.00 at risk). A repeat of its own case's payout is at risk for the part of
    it beyond what the case was owed (owed 100.00, paid 60.00 twice: 20.00, which the
    message tells); instalments within what was owed that pass the charge are no repeat,
    their excess is `refund-exceeds-charge`'s. A repeat stays one, at risk whole, where its
    case states neither amount, where one of the case's payouts up to it states no amount
    (what they add up to is unknown), or where it is in another currency than its case's.
    A repeat of another case's payout is a duplicate whatever its own case was owed, at
    risk whole, and counted once: the payouts of a charge (or order) are walked in time
    order across its cases, and an instalment of a case repeats no other case's payout
    that an earlier payout of its case already repeated or was repeated by, in a pair
    found (A, owed 100.00, pays 50.00; B, owed 50.00, pays 50.00; A pays its second 50.00
    on a charge of 100.00: B is found, 50.00, naming A; not A too). Two cases each owed
    100.00 paying 50.00 in turn (B, A, B, A) on a charge of 100.00 pass it by 100.00: A's
    two payouts repeat B's, 100.00 in A. A case's amount at risk is never below what it
    took the charge beyond its captured amount, the excess `refund-exceeds-charge` finds in
    it, which this finding replaces (C refunds 40.00; A, owed 100.00, pays 60.00 twice on a
    charge of 100.00: the repeat is 20.00 beyond what A was owed, A's excess 60.00; A is
    found for 60.00, and the message says why).
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
    Precedence: where this fires, `refund-exceeds-charge` is not reported for the case (its
    excess there is this finding's amount at risk where larger), and no other case's excess
    over the charge counts the money found repeated here again. Counted once covers this
    rule and `refund-exceeds-charge` only: `payout-exceeds-approved` can report money a
    repeat here reports too (see the rule catalogue, Money at risk counted once).

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
    logic_version = 4
    summary = "The same purchase refunded twice"
    options = (Option("tolerance", "differences up to this are rounding", "amount_tolerance"),)
    suppresses = ("refund-exceeds-charge",)

    def check(self, facts: CaseFacts) -> list[Finding]:
        dups = repeats(facts)  # (the module function)
        if dups.empty:
            return []
        dups = dups.sort_values([C.CASE, C.TIMESTAMP, TIE, f"{C.TIMESTAMP}_earlier",
                                 f"{TIE}_earlier"], kind="stable")
        by_case = dups.groupby(C.CASE, sort=True)
        hits = by_case.agg(earlier_case=(f"{C.CASE}_earlier", "first"),
                           key=("key", "first"), when=(C.TIMESTAMP, "min"))
        # Each case's later payouts' ids in the order above, and its earlier payouts' in
        # time order (pairs are in the later payouts' order): split by group number, no
        # list made per group by a Python aggregation.
        group = by_case.ngroup().to_numpy(dtype=np.int64)
        later_order = np.argsort(group, kind="stable")
        earlier_order = np.lexsort((
            _rank(dups[f"{TIE}_earlier"]), _rank(dups[f"{C.TIMESTAMP}_earlier"]), group))
        bounds = np.searchsorted(group[later_order], np.arange(len(hits) + 1))
        hits.insert(0, "eids", pd.Series(_split(dups[C.EVENT_ID], later_order, bounds),
                                         index=hits.index, dtype=object))
        hits["earlier_eids"] = pd.Series(
            _split(dups[f"{C.EVENT_ID}_earlier"], earlier_order, bounds), index=hits.index,
            dtype=object)
        # At risk: each repeating payout of the case once (two repeats of 50: 100), summed
        # per currency; the amount at risk is the sum in the case's currency where it has
        # repeats in it (else in the first repeat's), and the message tells every currency.
        # (A repeat stating no currency is in its case's, as the other amount rules count
        # a payout stating none.)
        own = facts.at_cases(facts.case_ids.get_indexer(hits.index).astype(np.int64),
                             "currency")["currency"].astype("string").fillna("")
        once = dups.drop_duplicates(C.EVENT_ID)
        unit_of_case = once[C.CASE].map(dict(zip(hits.index.tolist(), own.tolist(),
                                                    strict=True)))
        once = once.assign(unit=once[C.CURRENCY].astype("string").fillna(
            unit_of_case.astype("string")).fillna(""))
        grouped = once.groupby([C.CASE, "unit"], sort=False)
        per, risk = grouped[C.AMOUNT].sum(min_count=1), grouped["at_risk"].sum(min_count=1)
        owed_of = once.groupby(C.CASE, sort=False)["owed"].first()
        of_case: dict[object, dict[str, tuple[float, float]]] = {}
        for (case, unit), total, at_risk in zip(per.index.tolist(), per.tolist(),
                                                risk.tolist(), strict=True):
            of_case.setdefault(case, {})[unit] = (total, at_risk)
        # The case's excess over a charge (what refund-exceeds-charge finds in it, which
        # this finding replaces there): the amount at risk is never below it.
        excess = _excess_of_cases(facts, facts.case_ids.get_indexer(hits.index))
        amounts, currencies, told, beyond = [], [], [], []
        for case, case_unit in zip(hits.index.tolist(), own.tolist(), strict=True):
            sums = of_case[case]
            unit = case_unit if case_unit in sums else next(iter(sums))
            total, at_risk = sums[unit]
            currencies.append(unit or None)
            told.append(" and ".join(
                f"{figure(v, u or None)}{' ' + u if u else ''}"
                for u, (v, _) in sorted(sums.items(), key=lambda item: item[0] != unit)))
            shown = f"{' ' + unit if unit else ''}"
            over = excess.get(case)
            if over is not None and over[1] == unit and not at_risk >= over[0] - 1e-9:
                # The case's payouts passed the charge by more than its repeats put at
                # risk (C refunds 40, A, owed 100, pays 60 twice on a charge of 100: the
                # repeat is 20.00 beyond what A was owed, A's excess over the charge 60.00).
                at_risk = over[0]
                beyond.append(
                    f" ({figure(at_risk, unit or None)}{shown} at risk: the case's refunds "
                    f"took charge {over[2]} {figure(at_risk, unit or None)}{shown} beyond "
                    f"its captured {figure(over[3], unit or None)}{shown})")
            else:
                # A repeat of the case's own payout beyond what it was owed is at risk for
                # the part beyond it only (owed 100.00, paid 60.00 twice: 20.00), and says
                # so.
                beyond.append(
                    f" ({figure(at_risk, unit or None)}{shown} of it at risk: the case was "
                    f"owed {figure(owed_of[case], unit or None)}{shown})"
                    if at_risk < total - 1e-9 else "")
            amounts.append(at_risk)
        hits["amount"], hits["currency"], hits["repeated"] = amounts, currencies, told
        hits["beyond"] = beyond
        return self.findings(
            facts, hits, events=("earlier_eids", "eids"), when="when", amount="amount",
            evidence=("key", "earlier_case", "amount", "currency"),
            message="{repeated} refunded again on {key}, already refunded in case "
                    "{earlier_case}{beyond}")


def _rank(values: pd.Series) -> np.ndarray:
    """Each value's rank as a stable sort orders them (missing last, as sort_values puts
    them; equal values, equal ranks)."""
    codes, _ = pd.factorize(values, sort=True, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    return np.where(codes < 0, np.iinfo(np.int64).max, codes)


def _split(values: pd.Series, order: np.ndarray, bounds: np.ndarray) -> list[list[object]]:
    """`values` taken in `order`, as Python objects, cut at `bounds` into lists."""
    taken = values.to_numpy(dtype=object)[order].tolist()
    return [taken[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(),
                                       strict=True)]


REPEATS = "shared:duplicate-refund:repeats"
"""The key `repeats` is cached under in the facts (`CaseFacts.shared`)."""

TIE = "tie"
"""The column of `repeats` ordering payouts at one time (`_ties`): the earlier of two
payouts at one time is the one of the smaller tie."""


def repeats(facts: CaseFacts) -> pd.DataFrame:
    """The pairs (a later payout, an earlier payout it repeats) duplicate-refund finds:
    one row per pair, the earlier payout's columns suffixed `_earlier`, with `at` (the
    later payout's sorted position), `tie` (its order among payouts at its time, `_ties`),
    `at_risk` (what the later payout is at risk for, the same on each of its rows) and
    `owed` (what its case was owed, NaN where unknown).
    refund-exceeds-charge reads them so that money found repeated here is not counted
    again as an excess over the charge: computed once per run (the facts keep them), not
    by each rule. Not to be changed in place."""
    return cast(pd.DataFrame, facts.shared(REPEATS))


@shared_work(REPEATS)
def _repeats(facts: CaseFacts) -> pd.DataFrame:
    """`repeats`, computed."""
    paid = np.flatnonzero(facts.mask("paid"))
    keys = facts.frame(paid, (C.CHARGE_ID, C.ORDER_ID))
    charge, order = keys[C.CHARGE_ID], keys[C.ORDER_ID]
    del keys
    if charge.isna().any():
        charge = with_case_charge(facts, paid, charge)
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
    taken = paid[by_charge | by_order]
    ties = _ties(facts, taken)
    pairs = pd.concat([_pairs(facts, paid[by_charge], charge[by_charge], taken, ties),
                       _pairs(facts, paid[by_order], order[by_order], taken, ties,
                              charge=charge[by_order])], ignore_index=True)
    del charge, order
    pairs = pairs.drop_duplicates([C.EVENT_ID, f"{C.EVENT_ID}_earlier"])
    # (Of two payouts at one time, the earlier is the one of the smaller tie: in one case,
    # the one the facts take first, as `_owed_state` adds them up.)
    earlier = (pairs[f"{C.TIMESTAMP}_earlier"] < pairs[C.TIMESTAMP]) | (
        (pairs[f"{C.TIMESTAMP}_earlier"] == pairs[C.TIMESTAMP])
        & (pairs[f"{TIE}_earlier"] < pairs[TIE]))
    currency = pairs[C.CURRENCY].astype("string")
    earlier_currency = pairs[f"{C.CURRENCY}_earlier"].astype("string")
    # (Where one of the two states no currency, the tolerance of the other's.)
    same_amount = (pairs[C.AMOUNT] - pairs[f"{C.AMOUNT}_earlier"]).abs() <= facts.tolerance(
        currency.fillna(earlier_currency))
    same_currency = currency == earlier_currency
    dups = pairs[earlier & same_amount & same_currency.fillna(True).astype(bool)]
    dups = dups.reset_index(drop=True)
    amount = pd.to_numeric(dups[C.AMOUNT], errors="coerce").to_numpy(dtype=float,
                                                                     na_value=np.nan)
    if dups.empty:
        return dups.assign(at_risk=amount, owed=amount)
    # Per later payout: whether its case's payouts up to it stay within what it was owed
    # (its instalments), and by how much they pass it.
    within_owed, beyond, owed = _owed_state(facts, dups["at"].to_numpy(dtype=np.int64))
    cross = (dups[C.CASE] != dups[f"{C.CASE}_earlier"]).to_numpy(dtype=bool)
    # A payout repeating an earlier one of its own case is an instalment, no repeat of it,
    # where the case's payouts up to it stay within what the case was owed.
    keep = cross | ~within_owed
    # One of a case's instalments repeats another case's payout only where no earlier
    # payout of its case already repeated that payout, or was repeated by it: the money
    # the two cases share is counted once.
    keep[cross] = _matched(dups, cross, within_owed)[cross]
    dups = dups.assign(owed=owed)[keep]
    amount, beyond, cross = amount[keep], beyond[keep], cross[keep]
    # At risk: a payout repeating another case's is at risk whole; one repeating only its
    # own case's payouts, for the part of it beyond what its case was owed (the whole
    # where that is unknown).
    repeats_other = pd.Series(cross).groupby(dups["at"].to_numpy()).transform("any")
    partial = ~repeats_other.to_numpy(dtype=bool) & ~np.isnan(beyond)
    found: pd.DataFrame = dups.assign(at_risk=np.where(partial, np.minimum(amount, beyond),
                                                       amount))
    return found


def _excess_of_cases(facts: CaseFacts, cases: np.ndarray
                     ) -> dict[object, tuple[float, str, object, float]]:
    """Per case id that refund-exceeds-charge finds (where a finding of this rule does not
    replace it), of the cases `cases` (case codes) at least: (its amount at risk, its
    currency, the charge, the charge's captured amount); cases whose excess is unknown
    left out. Its findings as that rule's check gives them: where this run judges that
    rule, computed once per run (`excess_findings`: the facts keep them); else of the
    charges the cases' payouts are on only (duplicate-refund alone: 865 cases found at
    100k, not the 1,505 findings of every charge)."""
    from audit.rules.evidence.ev005_refund_exceeds_charge import (
        EXCESS,
        RefundExceedsCharge,
        excess_findings,
    )

    found = (excess_findings(facts) if facts.judges(RefundExceedsCharge.code)
             or facts.holds(EXCESS) else RefundExceedsCharge()._check(facts, cases))
    return {f.case_id: (float(f.amount_at_risk), f.currency or "", f.evidence.get("charge"),
                        float(f.evidence.get("charge_amount") or 0.0))
            for f in found if f.amount_at_risk is not None}


_COLUMNS = [C.CASE, C.EVENT_ID, C.TIMESTAMP, C.AMOUNT, C.CURRENCY]


def with_case_charge(facts: CaseFacts, paid: np.ndarray, charge: pd.Series) -> pd.Series:
    """`charge` (per payout at sorted positions `paid`) with a payout stating no charge id
    given its case's charge, where the case's events name exactly one charge id: that is
    the charge it refunds. Its order may hold other charges (a subscription's renewals all
    share the subscription's id), so the order alone would pair it with another case's
    refund of another renewal. A case naming no charge, or several, leaves it to the
    order."""
    missing = charge.isna().to_numpy(dtype=bool)
    wanted = np.zeros(facts.n_cases, dtype=bool)
    wanted[facts.case_code[paid[missing]]] = True
    named = ~np.asarray(facts.column(C.CHARGE_ID).isna(), dtype=bool)
    at = np.flatnonzero(named & wanted[facts.case_code])
    if not len(at):
        return charge
    ids = pd.Series(facts.column(C.CHARGE_ID).take(at), dtype="string")
    per_case = pd.DataFrame({"case": facts.case_code[at], "charge": ids.array})
    grouped = per_case.groupby("case", sort=False)["charge"]
    counts, first = grouped.nunique(), grouped.first()
    only = first[counts == 1]
    filled = pd.Series(facts.case_code[paid], dtype=np.int64).map(only).astype("string")
    out = charge.astype("string").copy()
    out[missing] = filled[missing].to_numpy()
    return out


def _ties(facts: CaseFacts, at: np.ndarray) -> np.ndarray:
    """Per payout at sorted positions `at` (ascending): its tie, the key ordering payouts
    at one time. The event ids of a case's payouts at one time, handed out in the order
    the facts take them (`EVENT_ORDER`: by the ids a log states; where an id was derived,
    as the source lists them): a case's payouts at one time are taken in the facts' order,
    as `_owed_state` adds them up, and two cases' by event id. Where the log states the
    ids, each payout's tie is its id. (Before, ids decided within a case too: of two
    payouts at one time with derived ids, the one the facts take second could be taken for
    the first, so that a case paying 60.00 and 60.00 of 100.00 owed was an instalment then
    a repeat or a repeat then an instalment at random.)"""
    got = facts.frame(at, (C.TIMESTAMP, C.EVENT_ID))
    ids = got[C.EVENT_ID].astype(str).to_numpy(dtype=object)
    if len(at) < 2:
        return ids
    times = got[C.TIMESTAMP].to_numpy()
    case = facts.case_code[at]
    # (The positions are in the facts' order: a case's payouts at one time are together.)
    new = np.ones(len(at), dtype=bool)
    new[1:] = (case[1:] != case[:-1]) | ~((times[1:] == times[:-1])
                                          | (pd.isna(times[1:]) & pd.isna(times[:-1])))
    group = np.cumsum(new)
    return ids[np.lexsort((ids.astype(str), group))]


def _pairs(facts: CaseFacts, at: np.ndarray, key: pd.Series, taken: np.ndarray,
           ties: np.ndarray, *, charge: pd.Series | None = None) -> pd.DataFrame:
    """Every ordered pair of the payouts at sorted positions `at` sharing `key` (each with
    itself too), the second's columns suffixed `_earlier`, each payout with its tie (`ties`
    of the positions `taken`); with `charge` (each payout's charge id, or its case's where
    it states none), only pairs where either payout has none."""
    payouts = facts.frame(at, _COLUMNS)
    payouts.insert(0, "key", key.array)
    payouts["at"] = at
    payouts[TIE] = ties[np.searchsorted(taken, at)]
    if charge is not None:
        payouts["_charge"] = charge.array
    pairs = payouts.merge(payouts, on="key", suffixes=("", "_earlier"))
    if charge is not None:
        pairs = pairs[pairs["_charge"].isna() | pairs["_charge_earlier"].isna()]
        pairs = pairs.drop(columns=["_charge", "_charge_earlier"])
    return pairs


def _owed_state(facts: CaseFacts, later: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per payout at sorted positions `later`: whether its case's successful payouts in its
    currency up to it (in time order) add up to no more than what the case was owed (the
    smaller of what its requests asked for, added up, and its smallest approval, as
    payout-exceeds-approved reads it, where an approval states an amount; else its first
    request's amount, a request sent again being no second claim); by how much they
    pass it (NaN where unknown); and what the case was owed (NaN where unknown). Not
    within, and unknown, where the case states neither amount, where the payout is in
    another currency than its case, or where one of the case's payouts up to it states no
    amount (what they add up to is unknown). A case whose pro-rata calculation states an
    amount (`prorata_amount`) was owed that amount, capped by its smallest approval."""
    cases = np.unique(facts.case_code[later])
    # The case's payouts that add up (its successful payouts in its currency or stating
    # none, as payouts_sum adds them), in sorted order (`EVENT_ORDER`).
    of_cases = np.zeros(facts.n_cases, dtype=bool)
    of_cases[cases] = True
    at = np.flatnonzero(facts.paid_in_case_currency() & of_cases[facts.case_code])
    if not len(at):  # (every one in another currency than its case's: none within)
        nothing = np.full(len(later), np.nan)
        return np.zeros(len(later), dtype=bool), nothing, nothing
    amounts = pd.to_numeric(facts.frame(at, (C.AMOUNT,))[C.AMOUNT], errors="coerce"
                            ).to_numpy(dtype=float, na_value=np.nan)
    case = facts.case_code[at]
    unknown = np.isnan(amounts).astype(np.int64)
    running = pd.Series(np.where(np.isnan(amounts), 0.0, amounts)).groupby(case).cumsum(
    ).to_numpy(dtype=float)
    blind = pd.Series(unknown).groupby(case).cumsum().to_numpy(dtype=np.int64)
    # What each case was owed, in its currency: where an approval states an amount, its
    # requests added up (a case with two requests, 50 and 50, approved at 100 asked for
    # 100), capped by its smallest approval; where none does, its first request's amount:
    # a request sent again (50, then 50) is no second claim that no approval covers.
    asked_at = np.flatnonzero(facts.requested_in_case_currency() & of_cases[facts.case_code])
    by_case = pd.Series(pd.to_numeric(facts.frame(asked_at, (C.AMOUNT,))[C.AMOUNT],
                                      errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                        ).groupby(facts.case_code[asked_at])
    requested = by_case.sum(min_count=1).reindex(cases).to_numpy(dtype=float, na_value=np.nan)
    first_asked = by_case.first().reindex(cases).to_numpy(dtype=float, na_value=np.nan)
    owed_of = facts.at_cases(cases, "approvals_min_amount", "prorata_amount", "currency")
    approved = pd.to_numeric(owed_of["approvals_min_amount"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    owed = np.where(np.isnan(approved), first_asked, np.fmin(requested, approved))
    # A subscription refund owes its pro-rata amount where its calculation states one (as
    # amount-mismatch reads it), whatever was asked for; capped by an approval stating an
    # amount.
    prorata = pd.to_numeric(owed_of["prorata_amount"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    owed = np.where(np.isnan(prorata), owed, np.fmin(prorata, approved))
    tolerance = facts.tolerance(owed_of["currency"].astype("string"))
    slot = np.full(facts.n_cases, -1, dtype=np.int64)
    slot[cases] = np.arange(len(cases))
    # The later payouts: each where the case's running sums stand after it (a payout in
    # another currency than its case's is not among `at`).
    where = np.searchsorted(at, later)
    inside = where < len(at)
    inside[inside] = at[where[inside]] == later[inside]
    where = np.where(inside, where, 0)
    k = slot[facts.case_code[later]]
    known = inside & (blind[where] == 0) & ~np.isnan(owed[k])
    over = np.where(known, running[where] - owed[k], np.nan)
    within = known & (over <= tolerance[k])
    return within, np.where(within, np.nan, over), owed[k]


def _matched(dups: pd.DataFrame, cross: np.ndarray, within_owed: np.ndarray) -> np.ndarray:
    """Per pair of `dups` of two cases: whether the later payout repeats the earlier one,
    counted once. One walk over the pairs of two cases, by the later payout in time order
    (then its tie, `_ties`) across every case of the charge (or order), holding per case the other
    cases' payouts paired with one of its payouts by a pair kept (one a payout of the case
    repeated, the first of those; or one that repeated a payout of the case). One of a
    case's instalments (within what it was owed, `within_owed`) repeats only the other
    cases' payouts not so held by its case; a payout beyond what its case was owed, or of a
    case owed an unknown amount, repeats every earlier payout as before. A pair dropped
    holds nothing. Case A pays 50.00, case B 50.00, then A its second instalment of 50.00
    (owed 100.00): B repeats A's first payout; A's second repeats B's, held by A already
    (the charge was passed by 50.00, found once, in B). B and A, each owed 100.00, paying
    50.00 in turn (B, A, B, A): A's first repeats B's first; B's second repeats only A's
    first, held by B; A's second repeats B's second, free: 100.00 in A, what the two paid
    beyond the charge (before, A's second was taken for repeating B's second, held as if
    the pair dropped were kept: 50.00)."""
    keep = np.ones(len(dups), dtype=bool)
    if not (cross & within_owed).any():
        return keep
    rows = np.flatnonzero(cross)
    later = dups["at"].to_numpy(dtype=np.int64)[rows]
    earlier = dups["at_earlier"].to_numpy(dtype=np.int64)[rows]
    # The pairs by the later payout's time and tie (`_ties`), then the earlier payout's (a
    # payout's sorted position orders it by case first, not by time).
    ranked = pd.DataFrame({
        "t": dups[C.TIMESTAMP].to_numpy()[rows],
        "e": dups[TIE].to_numpy(dtype=object)[rows],
        "t0": dups[f"{C.TIMESTAMP}_earlier"].to_numpy()[rows],
        "e0": dups[f"{TIE}_earlier"].to_numpy(dtype=object)[rows]})
    walk = ranked.sort_values(["t", "e", "t0", "e0"], kind="stable").index.to_numpy()
    case = dups[C.CASE].to_numpy(dtype=object)[rows]
    case_earlier = dups[f"{C.CASE}_earlier"].to_numpy(dtype=object)[rows]
    held: dict[object, set[int]] = {}
    start = 0
    while start < len(walk):
        end = start
        while end < len(walk) and later[walk[end]] == later[walk[start]]:
            end += 1
        mine = walk[start:end]  # (one later payout's pairs, its earlier payouts in time order)
        own = case[mine[0]]
        if within_owed[rows[mine[0]]]:
            taken = held.get(own, set())
            free = [k for k in mine.tolist() if int(earlier[k]) not in taken]
            keep[rows[mine]] = False
            keep[rows[free]] = True
        else:
            free = mine.tolist()
        if free:
            first = free[0]
            held.setdefault(own, set()).add(int(earlier[first]))
            held.setdefault(case_earlier[first], set()).add(int(later[first]))
        start = end
    return keep
