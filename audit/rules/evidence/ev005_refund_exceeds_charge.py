from __future__ import annotations

import itertools
from typing import cast

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.currency import figure, rounded
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts, same, shared_work, slices
from audit.words import counted as counted_words


class RefundExceedsCharge(Rule):
    """What it checks:
    The successful payouts against one captured charge, added up over all cases in time
    order, exceed the charge's captured amount. The case whose payout crosses the line (and
    every later one) gets the finding; its amount at risk is the part of its own payouts
    beyond the charge (the excess it added, never more than it paid). The payouts are added
    up one by one in time order, across the cases: with partial refunds interleaved (A 50,
    B 30, A 40 on a charge of 100), the case whose payout crossed the line (A) is the one
    found, with 20.00 at risk. (A second 50 in A repeats A's first payout: a
    `duplicate-refund`, which takes precedence, unless A was owed both, 100 requested and
    approved: then they are A's refund in instalments, and A is found here with 30.00 at
    risk; so are instalments of one case beyond the charge, for the excess: owed 120, paid
    60 and 60 on a charge of 100, 20.00.) Money `duplicate-refund` finds repeated in a
    case is that finding's and adds nothing to another case's sum (A 60, B repeating it, C
    50 on a charge of 100: C is found for 10.00, its message telling the 60.00 of the
    170.00 that is another case's duplicate-refund; with C 30, no excess): across the two
    rules an amount at risk is counted once. A repeat leaves the sum only where a payout
    it repeats is in it: B's 50 on ch_1 repeating, through the order, A's 50 that states no
    charge id, A's case naming no charge (or several), stays in ch_1's sum (C then 60 on
    ch_1, captured 100: C 10.00); where A's case names ch_1 alone, A's payout is of ch_1
    and B's repeat leaves the sum. (In its own
    case it counts: there `duplicate-refund` replaces this finding, at risk for the larger
    of the two, and a waiver of it brings this one back.) Known limit: the repeats are
    taken out before waivers apply, so a waived `duplicate-refund` in one case still
    lowers another case's excess here (A 60, B repeating it with its duplicate-refund
    waived, C 50 on a charge of 100: C is found for 10.00, not the 50.00 it took the
    charge beyond once B's payout is accepted). Counted once covers the two rules only:
    `amount-mismatch` can report money found here too. A payout
    stating no amount adds nothing to the running sum, and is never read as 0 paid: an
    excess found is there whatever it paid (the message counts the charge's payouts stating
    no amount up to the one found, "reach 150.00 EUR and 1 payout stating no amount"); a
    case whose payouts beyond the charge all state no amount is found with its amount at
    risk unknown (empty, not 0.00); and no excess found is no evidence of none where such a
    payout exists (`payout-without-amount` reports each).

    Why it matters:
    A customer can be refunded at most what they paid. Partial refunds spread over several
    tickets are the usual way an excess goes unnoticed, because each one looks small.

    Example:
    Violating: charge of 100.00 EUR; case A refunds 60.00, later case B refunds 50.00.
    Compliant: case B refunds 40.00.
    Precedence: not reported where `duplicate-refund` already explains the excess.

    Options:
    `amount_tolerance` (default: half a minor unit of the currency, 0.005 EUR, 0.0005 KWD,
    0.5 JPY). The charge's amount is what its purchase events whose payment status is not
    failed, reversed or pending captured (a declined attempt of 500 before the capture of
    100 is no 500 captured): their sum within one case, in the currency of the first, so
    that a charge captured in parts (an authorisation settled by two partial captures, 60
    and 40) is 100; a charge in several cases is one capture in each (correlation copies its
    purchase into every case that refunds it), never added up across them, the largest
    case's sum counts. Charges without such a purchase event in the log are not judged (see
    `no-prior-purchase`), nor are those whose purchases state no amount or no currency
    (check warns, counting the cases refunded on them); payouts in another currency than
    the charge are left to `instrument-mismatch`. A payout stating no charge id is added
    to its case's charge where the case's events name exactly one (a subscription's August
    renewal of 19.99 refunded with 29.99, the payout row naming no charge: 10.00 beyond
    it), as `duplicate-refund` reads it; where the case names none, or several (two
    renewals), it is added to no charge and not judged. The finding names the charge's purchase
    event in its own case where the case holds one (correlation copies a charge refunded
    in several cases into each), else the charge's first, so its events and fingerprint do
    not depend on how the cases are named; its message and evidence (`other_cases`, the
    first hundred by their first payout; `other_cases_n`, how many) name the other cases
    whose earlier payouts on the charge the sum counts.

    References:
    ISA 500 (audit evidence: accuracy, cut-off); card-scheme rules on refunds.
    """

    code = "EV005"
    name = "refund-exceeds-charge"
    severity = "high"
    logic_version = 3
    summary = "Refunds add up to more than the charge"
    options = (Option("tolerance", "differences up to this are rounding", "amount_tolerance"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        # (computed once per run, duplicate-refund reading them too: the facts' own
        # findings, not copies, 10 us each; what the engine and the check set on a finding
        # after its rule ran, its severity, waiver, fingerprint, channel and sources, is no
        # part of what duplicate-refund reads)
        return list(excess_findings(facts))

    def _check(self, facts: CaseFacts, cases: np.ndarray | None = None) -> list[Finding]:
        """The findings (`excess_findings`); with `cases` (case codes), those of these
        cases only, each as the whole run finds it: only the charges their payouts are on
        are added up (a charge's sums read its own payouts and purchases alone), what
        duplicate-refund reads where this rule is not judged (its cases found, not every
        charge of the log)."""
        charged = ~np.asarray(facts.column(C.CHARGE_ID).isna(), dtype=bool)
        paid = facts.mask("paid")
        pay_at = np.flatnonzero(paid & charged)
        buy_at = np.flatnonzero(facts.mask("bought") & charged)  # (a declined capture: none)
        ids = facts.column(C.CHARGE_ID).take(np.r_[pay_at, buy_at])
        if not charged[paid].all():
            pay_at, ids = _case_charged(facts, np.flatnonzero(paid & ~charged), pay_at, ids)
        # Charges as integer codes in the order of their ids, cases as their positions in
        # the sorted case ids: groups and sorts on integers, in the order of the ids.
        codes, charge_ids = C.sorted_codes(ids)
        del ids
        pay_charge, buy_charge = codes[:len(pay_at)], codes[len(pay_at):]
        if cases is not None:
            # The charges the cases' payouts are on, every payout and purchase of them
            # (other cases' too: the running sums cross cases); the codes keep their order.
            wanted = np.zeros(facts.n_cases, dtype=bool)
            wanted[cases] = True
            on = np.zeros(len(charge_ids), dtype=bool)
            on[pay_charge[wanted[facts.case_code[pay_at]]]] = True
            kept_pay, kept_buy = on[pay_charge], on[buy_charge]
            pay_at, pay_charge = pay_at[kept_pay], pay_charge[kept_pay]
            buy_at, buy_charge = buy_at[kept_buy], buy_charge[kept_buy]
        n_cases = max(facts.n_cases, 1)
        # Event ids as positions: the text only of the events a finding names.
        values = (C.TIMESTAMP, C.AMOUNT, C.CURRENCY)
        purchases = facts.frame(buy_at, values)
        purchases["at"] = buy_at
        charges = (purchases.groupby(buy_charge, sort=True)
                   .agg(charge_currency=(C.CURRENCY, "first"), charge_at=("at", "first")))
        charges["charge_amount"] = _captured(facts, buy_at, buy_charge, purchases, charges)
        payouts = facts.frame(pay_at, values)
        # Only payouts in their charge's currency (or stating none) add up against it: a
        # refund in another currency is no part of the sum (`instrument-mismatch`).
        charge_currency = pd.Series(charges["charge_currency"].reindex(pay_charge).array)
        own = pd.Series(payouts[C.CURRENCY].array)
        if (isinstance(own.dtype, pd.CategoricalDtype) and own.dtype == charge_currency.dtype):
            # (One coded column on both sides: its codes compared, no text per payout.)
            codes_own = own.cat.codes.to_numpy()
            counted = (codes_own < 0) | (codes_own == charge_currency.cat.codes.to_numpy())
        else:
            counted = (own.isna() | same(own, charge_currency)).to_numpy(dtype=bool)
        if not counted.all():
            pay_at, pay_charge = pay_at[counted], pay_charge[counted]
            payouts = payouts[counted]
            charge_currency = charge_currency[counted]
        pair = pay_charge.astype(np.int64) * n_cases + facts.case_code[pay_at]
        # Per charge, its payouts in time order (then case), a running sum over them: a
        # payout is over the charge where the sum after it exceeds the charge (by more than
        # the tolerance), and adds the part of it beyond the charge. Times as integers
        # (missing last, as pandas sorts them), never as Timestamp objects.
        charge_amount = pd.to_numeric(charges["charge_amount"].reindex(pay_charge),
                                      errors="coerce").to_numpy(dtype=float)
        judged = ~np.isnan(charge_amount) & charges["charge_currency"].reindex(
            pay_charge).notna().to_numpy(dtype=bool)
        # A payout stating no amount adds nothing to the running sum (never read as 0 in
        # what the finding tells): an excess found is there whatever it paid, and the
        # finding counts such payouts; `payout-without-amount` reports each.
        stated_amounts = pd.to_numeric(payouts[C.AMOUNT], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
        unstated = np.isnan(stated_amounts)
        amounts = np.where(unstated, 0.0, stated_amounts)
        # Money duplicate-refund finds repeated in a case is that case's finding's: not
        # counted again in another case's excess (A pays 50, B repeats it, A pays its
        # second instalment of 50 on a charge of 100: the 50 beyond the charge is B's
        # duplicate, not A's excess too). In its own case's sum it counts: there
        # duplicate-refund replaces this finding, which comes back whole where it is waived.
        repeated = _repeated(facts, pay_at)
        times = pd.DatetimeIndex(payouts[C.TIMESTAMP])
        stamps = np.where(times.isna(), np.iinfo(np.int64).max, times.asi8)
        order = np.lexsort((facts.case_code[pay_at], stamps, pay_charge))
        order = order[judged[order]]
        ranked_charge = pay_charge[order]
        running = np.cumsum((amounts - repeated)[order])
        starts = np.r_[0, np.flatnonzero(ranked_charge[1:] != ranked_charge[:-1]) + 1]
        before = np.repeat(np.r_[0.0, running][starts],
                           np.diff(np.r_[starts, len(order)])) if len(order) else running
        # The sum each payout's case is judged by: every payout up to it, less the other
        # cases' repeats (its own counted).
        refunded = running - before + pd.Series(repeated[order]).groupby(
            pair[order]).cumsum().to_numpy(dtype=float)
        # What the message tells: every payout added up, the repeats among them too.
        told_running = np.cumsum(amounts[order])
        told = told_running - (np.repeat(np.r_[0.0, told_running][starts], np.diff(
            np.r_[starts, len(order)])) if len(order) else told_running)
        # Per payout: the charge's payouts stating no amount up to it (in the same order).
        unknown_running = np.cumsum(unstated[order])
        unknown = unknown_running - np.repeat(
            np.r_[0, unknown_running][starts], np.diff(np.r_[starts, len(order)])) \
            if len(order) else unknown_running
        excess = refunded - charge_amount[order]
        over = excess > facts.tolerance(charge_currency)[order]
        added = np.where(over, np.minimum(amounts[order], excess), 0.0)
        at = order[over]  # the payouts over the charge, by charge, time and case
        pairs_over = pair[at]
        # Per (charge, case): its first payout over the charge (what the finding tells) and
        # the sum of what its payouts added beyond the charge (the amount at risk).
        first = np.sort(np.unique(pairs_over, return_index=True)[1])
        keys = pairs_over[first]
        added_sum = pd.Series(added[over]).groupby(pairs_over).sum().reindex(keys).to_numpy()
        # A case whose payouts over the charge added nothing known, one of them stating no
        # amount: what it added is unknown (no amount at risk), never 0.00.
        blind = pd.Series(unstated[at]).groupby(pairs_over).any().reindex(keys).to_numpy(
            dtype=bool)
        hits = pd.DataFrame({
            "first_time": payouts[C.TIMESTAMP].take(at[first]).array,
            "refunded": told[over][first], "excess": excess[over][first],
            "repeats": (told - refunded)[over][first],
            "added": np.where(blind & (added_sum <= 0), np.nan, added_sum),
            "unknown": unknown[over][first],
            "charge_code": keys // n_cases, "case_code": keys % n_cases}, index=keys)
        # The other cases whose payouts on the charge came before (the running sum counts
        # them): named, so the finding shows where the rest of the sum was refunded.
        group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)])) if len(order) \
            else np.zeros(0, dtype=np.int64)
        # One walk per charge over its payouts (a hostile export of one charge refunded in
        # k cases costs k steps, not k^2): the cases in the order of their first payout,
        # at most OTHERS_KEPT of them per finding, and how many in all.
        ranked_case = facts.case_code[pay_at[order]].tolist()
        ends = np.flatnonzero(over)[first]
        by_end = np.argsort(ends, kind="stable")
        others: list[list[int]] = [[] for _ in range(len(ends))]
        totals = np.zeros(len(ends), dtype=np.int64)
        seen: list[int] = []
        held: set[int] = set()
        walked, group = 0, -1
        for k in by_end.tolist():
            end = int(ends[k])
            if group_start[end] != group:
                group, walked, seen, held = int(group_start[end]), int(group_start[end]), [], set()
            for case_code in ranked_case[walked:end]:
                if case_code not in held:
                    held.add(case_code)
                    seen.append(case_code)
            walked = max(walked, end)
            own = ranked_case[end]
            others[k] = [c for c in seen[:OTHERS_KEPT + 1] if c != own][:OTHERS_KEPT]
            totals[k] = len(held) - (own in held)
        # The other cases' ids taken once for all findings, not an index lookup per
        # finding (1,505 findings at 100k cases: 0.26 s).
        named = np.unique(np.fromiter(itertools.chain.from_iterable(others), dtype=np.int64))
        name_of = dict(zip(named.tolist(), facts.case_ids.take(named).tolist(), strict=True))
        hits["other_cases"] = pd.Series([[name_of[c] for c in o] for o in others],
                                        index=keys, dtype=object)
        hits["other_cases_n"] = totals
        hits = hits.join(charges, on="charge_code")
        # The purchase a finding names is the charge's purchase in the case itself where the
        # case holds one (correlation copies a charge refunded in two cases into each, as
        # `<id>@<case>`), else the charge's first: never another case's copy, which would
        # make the finding's events (and fingerprint) depend on how the cases are named.
        own_pair = buy_charge.astype(np.int64) * n_cases + facts.case_code[buy_at]
        own_first = pd.Series(buy_at, index=own_pair)
        own_first = own_first[~own_first.index.duplicated(keep="first")]
        own = own_first.reindex(hits.index)
        hits["charge_at"] = np.where(own.notna().to_numpy(), own.fillna(-1).to_numpy(),
                                     hits["charge_at"].to_numpy()).astype(np.int64)
        hits["currency"] = hits["charge_currency"]
        # The per-event work, freed before the findings are built.
        del payouts, purchases, charges, times, stamps, order, codes, running, before
        del unstated, unknown_running, unknown
        # The payouts' event ids, for the (charge, case) pairs found only, in log order.
        found = np.flatnonzero(C.int_isin(pair, hits.index.to_numpy(dtype=np.int64)))
        event_ids = facts.column(C.EVENT_ID)
        # Split by pair (a stable sort keeps each pair's ids in log order), not a groupby
        # that makes each list in Python.
        texts = event_ids.take(pay_at[found]).to_numpy(dtype=object)
        by_pair = np.argsort(pair[found], kind="stable")
        ranked = pair[found][by_pair]
        starts, ends = facts.runs(ranked)
        eids = dict(zip(ranked[starts].tolist(), slices(texts[by_pair], starts, ends),
                        strict=True))
        hits["eids"] = pd.Series([eids[k] for k in hits.index.tolist()], index=hits.index,
                                 dtype=object)
        hits["charge_eid"] = event_ids.take(hits["charge_at"].to_numpy(dtype=np.int64)) \
            .to_numpy(dtype=object)
        hits["charge"] = charge_ids.take(hits["charge_code"].to_numpy(dtype=np.int64)) \
            .to_numpy(dtype=object)
        del pair, found, eids, texts, charge_ids, pay_at, buy_at, pay_charge, buy_charge
        # The running sum in the currency's minor units (no 188.07999999999998 in evidence).
        hits["refunded"] = [rounded(v, c) for v, c in zip(
            hits["refunded"].tolist(), hits["currency"].tolist(), strict=True)]
        hits["unknown_told"] = [f" and {counted_words(n, 'payout', spec=',')} stating no amount"
                                if n else "" for n in hits["unknown"].astype(np.int64).tolist()]
        hits["repeats_told"] = [
            f", {figure(v, c)} {c} of it another case's duplicate-refund" if v > 1e-9 else ""
            for v, c in zip(hits["repeats"].tolist(), hits["currency"].tolist(), strict=True)]
        hits["others_told"] = [_others_told(o, int(n)) for o, n in zip(
            hits["other_cases"].tolist(), hits["other_cases_n"].tolist(), strict=True)]
        # One finding per case: its first (charge, case) pair in the order above, the cases
        # in the order of their ids (case codes ascend as the ids do), the pair's row kept
        # whole. What a groupby-first by case id gave, without grouping the texts, except
        # where the first pair's first_time is missing (times are required; a frame not
        # validated): groupby-first took the next pair's time into that row.
        cases = hits["case_code"].to_numpy(dtype=np.int64)
        by_case = np.argsort(cases, kind="stable")
        first = by_case[facts.runs(cases[by_case])[0]]
        hits = hits.iloc[first].drop(columns=["charge_code", "case_code", "charge_at"])
        hits.index = pd.Index(facts.case_ids[cases[first]], name=C.CASE)
        return self.findings(
            facts, hits, events=("charge_eid", "eids"), when="first_time", amount="added",
            evidence=("charge", "charge_amount", "refunded", "currency", "other_cases",
                      "other_cases_n"),
            message="refunds on charge {charge} reach {refunded:.2f} {currency}"
                    "{unknown_told}{repeats_told}, above the captured {charge_amount:.2f} "
                    "{currency}"
                    "{others_told}")


EXCESS = "shared:refund-exceeds-charge:findings"
"""The key `excess_findings` is cached under in the facts (`CaseFacts.shared`)."""


def excess_findings(facts: CaseFacts) -> list[Finding]:
    """refund-exceeds-charge's findings on `facts`, computed once per run (the facts keep
    them): duplicate-refund reads each case's excess from them (its amount at risk is never
    below it), and the rule's check returns them. Their amounts at risk, currencies and
    evidence are not to be changed."""
    return cast(list[Finding], facts.shared(EXCESS))


@shared_work(EXCESS)
def _excess_findings(facts: CaseFacts) -> list[Finding]:
    return RefundExceedsCharge()._check(facts)


OTHERS_NAMED = 5
"""How many of the other cases refunding a charge a message names."""
OTHERS_KEPT = 100
"""How many the evidence lists (`other_cases`, by their first payout; `other_cases_n`
counts them all)."""


def _case_charged(facts: CaseFacts, loose: np.ndarray, pay_at: np.ndarray,
                  ids: pd.api.extensions.ExtensionArray
                  ) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
    """The payouts at sorted positions `pay_at` (ascending) with those at `loose`, stating
    no charge id, whose case's events name exactly one charge (as duplicate-refund reads
    them: a subscription's later renewal refunded, its payout naming no charge, is of that
    renewal); and `ids`, the charge ids of the payouts and then of the purchases, with
    theirs among them. Payouts whose case names no charge, or several, stay out."""
    from audit.rules.duplicates.du001_duplicate_refund import with_case_charge

    own = with_case_charge(facts, loose,
                           pd.Series(pd.NA, index=pd.RangeIndex(len(loose)), dtype="string"))
    have = own.notna().to_numpy(dtype=bool)
    if not have.any():
        return pay_at, ids
    joined = np.r_[pay_at, loose[have]]
    order = np.argsort(joined, kind="stable")
    pay_ids = pd.concat([pd.Series(ids[:len(pay_at)], dtype="string"),
                         own[have].reset_index(drop=True)], ignore_index=True).take(order)
    buy_ids = pd.Series(ids[len(pay_at):], dtype="string")
    return joined[order], pd.concat([pay_ids, buy_ids], ignore_index=True).array


def _charge_of(facts: CaseFacts, at: np.ndarray) -> np.ndarray:
    """Per payout at sorted positions `at`: its charge id, or its case's one charge where it
    states none and its case names exactly one (None where neither)."""
    from audit.rules.duplicates.du001_duplicate_refund import with_case_charge

    stated = pd.Series(facts.column(C.CHARGE_ID).take(at), dtype="string").reset_index(
        drop=True)
    if stated.isna().any():
        stated = with_case_charge(facts, at, stated)
    charge: np.ndarray = stated.astype(object).where(stated.notna(), None).to_numpy(
        dtype=object)
    return charge


def _repeated(facts: CaseFacts, pay_at: np.ndarray) -> np.ndarray:
    """Per payout at sorted positions `pay_at`: what duplicate-refund finds of it repeated
    (0.0 where nothing, or where this run does not judge duplicate-refund)."""
    out = np.zeros(len(pay_at), dtype=float)
    if not len(pay_at) or not facts.judges("DU001"):
        return out
    from audit.rules.duplicates.du001_duplicate_refund import repeats

    found = repeats(facts)
    if found.empty:
        return out
    # A repeat leaves its charge's sum only where a payout it repeats is in that sum (of
    # the same charge): one repeating, through the order, a payout stating no charge id
    # repeated nothing the sum counted (A pays 50 on order O-1, no charge id and no charge
    # named by its case; B 50 on ch_1 of O-1; C 60 on ch_1, captured 100: C is 10.00
    # beyond it, B's repeat aside).
    # Each payout's charge as the sums read it: one stating no charge id is of its case's
    # one charge (`with_case_charge`), as `_case_charged` adds it; compared by the ids as
    # stated, a repeat of (or by) such a payout stayed in the sum, counted again here.
    later = _charge_of(facts, found["at"].to_numpy(dtype=np.int64))
    earlier = _charge_of(facts, found["at_earlier"].to_numpy(dtype=np.int64))
    in_sum = pd.notna(later) & pd.notna(earlier)
    in_sum[in_sum] = later[in_sum] == earlier[in_sum]
    found = found[in_sum]
    if found.empty:
        return out
    risk = pd.Series(found["at_risk"].to_numpy(dtype=float, na_value=np.nan),
                     index=found["at"].to_numpy(dtype=np.int64))
    risk = risk[~risk.index.duplicated(keep="first")].fillna(0.0)
    return risk.reindex(pay_at).fillna(0.0).to_numpy(dtype=float)


def _others_told(cases: list[str], total: int) -> str:
    """' (with the payouts of case 40017)': the other cases the sum counts, as told."""
    if not total:
        return ""
    named = ", ".join(cases[:OTHERS_NAMED])
    more = total - min(len(cases), OTHERS_NAMED)
    return (f" (with the payouts of case{'s' if total > 1 else ''} {named}"
            f"{f' and {more:,} more' if more > 0 else ''})")


def _captured(facts: CaseFacts, buy_at: np.ndarray, buy_charge: np.ndarray,
              purchases: pd.DataFrame, charges: pd.DataFrame) -> pd.Series:
    """Per charge (`charges`' index): what was captured, the sum of its purchases in one
    case in its first purchase's currency, the largest such sum over its cases. A charge
    captured in parts (an Adyen authorisation settled by two partial captures, 60 and 40)
    has a purchase per capture in its case: its first alone (60) made a refund of the 100
    paid an excess. A charge in several cases is the same capture in each (correlation
    copies it, `<id>@<case>`; a log may state it per ticket): never added up across them.
    A charge none of whose purchases states an amount in its currency stays unjudged."""
    amounts = pd.to_numeric(purchases[C.AMOUNT], errors="coerce").to_numpy(dtype=float)
    stated = purchases[C.CURRENCY].notna().to_numpy(dtype=bool) & ~np.isnan(amounts)
    charge = np.asarray(buy_charge, dtype=np.int64)
    size = int(charge.max()) + 1 if len(charge) else 0
    captured = np.full(size, np.nan)
    # Most charges have one purchase: its amount (where it states one and a currency).
    single = np.bincount(charge, minlength=size)[charge] == 1
    captured[charge[single]] = np.where(stated[single], amounts[single], np.nan)
    several = np.flatnonzero(~single)
    if len(several):
        # Runs of (charge, case): the purchases are in case order, and a stable sort by
        # charge keeps it (and, within a case, the time order).
        order = several[np.argsort(charge[several], kind="stable")]
        codes, _ = pd.factorize(purchases[C.CURRENCY].take(order))  # (-1: none stated)
        currencies = np.full(len(charge), -1, dtype=np.int64)
        currencies[order] = codes
        owner, case = charge[order], facts.case_code[buy_at][order]
        new_charge = np.r_[True, owner[1:] != owner[:-1]]
        starts = np.flatnonzero(new_charge)
        # Each charge's currency: its first purchase's that states one.
        ranks = np.arange(len(order))
        first = np.minimum.reduceat(np.where(currencies[order] >= 0, ranks, len(order)),
                                    starts)
        currency = np.append(currencies[order], -1)[first]
        counted = stated[order] & (currencies[order] == np.repeat(
            currency, np.diff(np.r_[starts, len(order)])))
        runs = np.flatnonzero(new_charge | np.r_[True, case[1:] != case[:-1]])
        sums = np.add.reduceat(np.where(counted, amounts[order], 0.0), runs)
        sums[np.add.reduceat(counted.astype(np.int64), runs) == 0] = np.nan
        run_owner = owner[runs]
        firsts = np.flatnonzero(np.r_[True, run_owner[1:] != run_owner[:-1]])
        captured[run_owner[firsts]] = np.fmax.reduceat(sums, firsts)
    return pd.Series(captured[charges.index.to_numpy(dtype=np.int64)], index=charges.index)
