from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.currency import figure
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.evidence.ev001_missing_evidence import (
    _payout_limits,
    _placeholders,
    arrow_texts,
    standing_approvals,
    value_codes,
)
from audit.rules.facts import CaseFacts, shared_work
from audit.words import counted, moment

RECEIPT = C.EVIDENCE_PREFIX + "receipt"
"""The evidence item holding the store receipt (the offline channel's, with the photo)."""

RECEIPT_GENERIC = "receipt_generic"
"""The reason in findings.json's `unjudged_cases.DU002`: a case holding a receipt held by
more cases than the policy's `thresholds.receipt_max_cases` (a generic value, a phone's
`IMG_0001.jpg`), not compared."""

_LEADING_ZEROS = re.compile(r"(?<![0-9])(?<![0-9][.,])0+(?=[0-9])")
"""The leading zeros of a run of digits, not of one after a digit and a dot or comma (the
decimal fraction of `1.05` keeps its zero: `1.05` is not `1.5`)."""

_DIGITS = frozenset("0123456789")


def receipt_key(value: object) -> str | None:
    """The receipt a value names, as compared across cases: the text in Unicode's
    compatibility form (NFKC: a full-width `Ｒ１２` is `R12`), letter case folded, white
    space removed (`R 12` is `R12`) except between two digits, where a run of it is one
    space (`S1 0023` is `s1 23`, not `S10 023`'s `s10 23`), and the leading zeros of each
    run of digits dropped (`R-0012` is `R-12`, `000123` is `123`, `S12 000123` is `s12 123`:
    a till number a spreadsheet stored as a number loses them), not those of a decimal
    fraction (`1.05`, `1,05`: a digit, a dot or comma, then the run). Other characters are
    kept (`12-345` and `123-45` are two receipts, `receipt-17.jpg` and `receipt-17.png` two
    documents). None, compared with nothing, where the text holds no digit (`receipt.jpg`,
    `scan`, a placeholder names no receipt) or no digit but zeros (`0`, `000`, `R-000`: a
    blank till number exported as zero)."""
    tokens = unicodedata.normalize("NFKC", str(value)).casefold().split()
    text = "".join(token if k == 0 or not (tokens[k - 1][-1] in _DIGITS
                                           and token[0] in _DIGITS) else " " + token
                   for k, token in enumerate(tokens))
    if not any(ch.isdigit() and ch != "0" for ch in text):
        return None
    return _LEADING_ZEROS.sub("", text)


def receipt_keys(values: Any) -> np.ndarray:
    """Per value (a column of `evidence:receipt`: an array, a series, a coded column): its
    `receipt_key`, None where missing, a placeholder (as missing-evidence reads one: `n/a`,
    `-`) or naming no receipt (`receipt_key_codes`, as texts)."""
    codes, texts = receipt_key_codes(values)
    keys = np.full(len(codes), None, dtype=object)
    at = codes >= 0
    keys[at] = texts[codes[at]]
    return keys


def receipt_key_codes(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per value (as `receipt_keys` reads them): the code of its `receipt_key` (-1 where it
    has none), and the distinct keys (`texts[code]`). Computed once per distinct value, the
    ASCII ones by Arrow (at 1M cases a third of a million receipts: in Python one by one,
    3 s), the values then carried as integers."""
    array = values if isinstance(values, pd.api.extensions.ExtensionArray) else pd.array(
        np.asarray(values, dtype=object))
    codes, uniques = value_codes(array)
    if not len(uniques):
        return np.full(len(codes), -1, dtype=np.int64), np.zeros(0, dtype=object)
    of_unique = _keys_of(uniques)
    of_unique[_placeholders(uniques)] = None
    key_of, texts = pd.factorize(pd.Series(of_unique, dtype=object), use_na_sentinel=True)
    key_of = np.append(np.asarray(key_of, dtype=np.int64), -1)  # (code -1: missing)
    return key_of[codes], np.asarray(texts, dtype=object)


def _keys_of(uniques: Any) -> np.ndarray:
    """`receipt_key` of each distinct value: ASCII texts by Arrow (the same steps: white
    space removed, lower case, which is ASCII's case folding, and leading zeros of each run
    of digits dropped; no digit: None), the others in Python (NFKC, Unicode's folding)."""
    import pyarrow.compute as pc

    texts = arrow_texts(uniques)
    if texts is None:
        return np.array([receipt_key(v) for v in list(uniques)], dtype=object)
    ascii_ = np.asarray(pc.string_is_ascii(texts).fill_null(False), dtype=bool)
    # (white space: a run is one space, kept only between two digits; then the leading
    # zeros of each run of digits, not after a digit and a dot or comma)
    spaced = pc.replace_substring_regex(pc.ascii_lower(texts), r"[\t\n\x0b\x0c\r \x1c-\x1f]+",
                                        " ")
    spaced = pc.replace_substring_regex(spaced, "(^|[^0-9]) ", r"\1")
    squeezed = pc.replace_substring_regex(spaced, " ([^0-9]|$)", r"\1")
    digits = np.asarray(pc.match_substring_regex(squeezed, "[1-9]").fill_null(False),
                        dtype=bool)
    stripped = pc.replace_substring_regex(
        squeezed, "(^|[^0-9.,]|[^0-9][.,]|^[.,])0+([0-9])", r"\1\2")
    out = np.asarray(stripped.to_numpy(zero_copy_only=False), dtype=object)
    out[~digits] = None
    for k in np.flatnonzero(~ascii_).tolist():
        out[k] = receipt_key(uniques[k])
    return out


class ReceiptReused(Rule):
    """What it checks:
    One store receipt refunded in two or more cases: the same `evidence:receipt` held by
    cases that each paid a refund (a successful payout), or were approved to (an approval,
    either level, not yet paid and standing: not withdrawn by a later rejection nor ended
    by a close the refund was asked for again after, as `missing-evidence` with
    `evidence_due: approval` reads one, and its ticket not closed after it, at a later time
    or at its time after it in the log's order, unpaid: settled; an approval without a time
    is not placed, not taken). The cases are taken in the order their refunds were decided:
    a paid case at the approval its first payout rests on (its first approval standing at
    that payout, as `missing-evidence` reads it), or at its first payout where it has none;
    a case not paid at that standing approval (then by first payout; a case placed at no
    stated time last; then by case id). One clock for all: case A approved on 1 July and
    paid on 10 July stays the first use of the receipt when case B, approved on 5 July, is
    paid on 12 July (B is found, approved and not paid on 11 July, paid on 13 July; A
    never). The first use of the receipt is the one it was bought for; every later case
    paying on it gets a finding, timed at its first payout, its amount at risk its
    successful payouts in its currency (as `amount-mismatch` adds them), or, where it paid
    none in its currency, in its first payout's (as `duplicate-refund` reports a repeat:
    paid 100.00 USD only, 100.00 USD). A later case approved and not paid gets one where a
    case before it was paid on the receipt (the last point to stop the second refund:
    "refund of 45.00 EUR approved and not paid on a reused receipt"), timed at that approval
    and citing it, its amount at risk the amount approved (as `approved-not-paid` states it:
    the least of its approvals in its currency, of the standing approval and those after it:
    approved 30.00, closed, asked again and approved 100.00 is 100.00), its evidence's
    `approved_not_paid` true. A case approved first and not paid leaves the refund paid on
    the receipt after it found (the payout is the harm: "already approved in case B
    (approved ..., not paid)"); an earlier case paid only after a found case's payout is
    told as approved then ("approved ..., paid ... after this case's payout"), and so is one
    paid only after a found case's approval where that case is approved and not paid
    (found at its approval: "approved ..., paid ... after this case's approval", never
    "already refunded" of a payout after the finding's time; a payout at no stated time is
    placed after no time: "already refunded in case A (paid at no stated time)"); approvals
    alone, none paid on the receipt, are no finding (nothing refunded yet). Partial returns:
    where the cases holding the receipt that hold a purchase (`Record store sale`, not
    failed, reversed or pending, stating an amount in its case's currency) all hold one of
    the same amount, that is the receipt's sale, and a later case is found only where the
    payouts on the receipt (and amounts approved, of cases not paid), added up in the order
    above in that currency, pass it, for the part beyond it (a sale of 50.00 returned as
    30.00 and 20.00: nothing; as 30.00 and
    40.00: the second, 20.00 at risk, as the message says). Purchases of different amounts (or
    currencies) are two sales, one receipt presented for another purchase: the later case is
    found at risk whole, as it is where none holds a purchase or a payout on the receipt
    states no amount or another currency (the sale is not known to be passed or not: two
    partial returns of one receipt then look like a reuse, see Options). Receipts are
    compared as the receipt they name, not as typed: Unicode's compatibility form (NFKC), in
    any letter case, white space removed except between two digits, where it separates them
    (a run of it is one space), and the leading zeros of each run of digits dropped, not
    those of a decimal fraction (`R-0012`, `r-12` and `R - 012` are one receipt; `R 12` is
    `R12`, another; `S1 0023` is store 1's receipt 23, not `S10 023`; a till number stored
    as a number by a spreadsheet, `123` for `000123`, is one receipt with it; `1.05` is not
    `1.5`). Any other character counts (`12-345` is not `123-45`; `receipt-17.jpg` and
    `receipt-17.png` are two documents). A value holding no digit (`receipt.jpg`, `scan`),
    or no digit but zeros (`0`, `000`, `R-000`: a blank till number exported as zero), names
    no receipt, and a placeholder (`n/a`, `-`, as `missing-evidence` reads one) none either:
    none of them is compared. A receipt held by more cases than `receipt_max_cases` (see
    Options) is generic, not one receipt, and not compared either. A receipt named on any
    event of a case, at any time, counts (presented late, it was presented). The finding
    names every case holding the receipt (`sharing_cases`, this one too, in the order above,
    then the cases neither paid nor approved by case id), those paid or approved on it
    before (`earlier_cases`), the receipt as this case wrote it (`receipts`) and as compared
    (`compared_as`), and cites this case's first event holding it, its first payout (or the
    approval), and the earlier cases' first events holding it (the first 5). A case holding
    two reused receipts gets one finding naming both (`receipts`, `compared_as`,
    `sharing_cases_n` and `earlier_cases_n` are lists, a value per receipt; its amount at
    risk counted once, the larger of the receipts' where each is a part beyond a sale). The
    evidence lists the first 100 cases of each (`sharing_cases_n` and `earlier_cases_n`
    count them all), the message names the first 5 ("and 3 other cases").
    Why it matters:
    A till receipt is the offline refund's proof of purchase: one receipt refunded twice
    (presented again in another store, by another customer, or re-keyed by staff in a
    second case) pays one purchase back twice. No charge id links the two refunds of a
    cash sale, so `duplicate-refund` cannot see it.

    Example:
    Violating: case A (offline) with `evidence:receipt` = R-000123 paid 45.00 EUR on 1 July;
    case B with `evidence:receipt` = r-123 paid 45.00 EUR on 9 July: B is found, 45.00 EUR
    at risk, naming A.
    Violating: case A paid 45.00 EUR on R-123 on 1 July; case C holding R-123 approved on
    12 July, not paid: C is found at its approval, 45.00 EUR at risk, naming A.
    Compliant: case A paid on R-123; case C holding R-123 approved, then rejected (or its
    ticket closed, unpaid): no payment awaited on it, nothing is found.
    Compliant: case A paid on R-123; case B holding R-123 was rejected (no payout): the
    control held, nothing is found (B is named in a finding only where a third case paid on
    the receipt).
    Compliant: case A, holding the store sale of 50.00 EUR, refunds 30.00 on R-555; case B
    refunds 20.00 on R-555 (two partial returns within the sale).
    Compliant: `evidence:receipt` = receipt.jpg in two cases (a file name naming no
    receipt), `n/a`, or `0`.
    Precedence: none. The money a finding here reports can be reported by
    `duplicate-refund` too, where the two refunds also share a charge or order.

    Options:
    `thresholds.receipt_max_cases` (default 10, a whole number from 2): a receipt held by
    more cases is generic (a phone's `IMG_0001.jpg` in every case, a store's default
    text), not compared; its cases are listed as not judged (the run's
    `unjudged_cases.DU002.receipt_generic`) and check warns, counting them. The item
    compared is `evidence:receipt`. A log whose receipt item holds references that are not
    unique to one receipt (a phone's camera counter, `IMG_0001.jpg` and `img_0001.jpg` of
    two phones, held by fewer cases than the limit, are one receipt here) is no ground for
    this rule: leave it out in the policy (rules: ignore: [DU002]). Receipt numbers that
    repeat from store to store (a per-store sequence) should be written with their store
    (`S12-000123`): the rule cannot tell stores apart. Partial returns of one sale in
    several cases are told apart from a reuse only where a case holding the receipt holds
    the sale's purchase (see above). A case with a receipt not yet paid nor approved (in
    progress, or rejected) is named in another case's finding only. A case approved and not
    paid is found by this rule at once (no grace: the approval decided the payment) and by
    `approved-not-paid` once its grace has passed, whose message then tells that this rule
    found the receipt reused and that the payment is not to be made (its evidence's
    `receipt_reused_before` naming the earlier cases; where this rule puts only a part
    beyond the receipt's sale at risk, that part), not a wait to pay: the approval in
    force is still to be withdrawn. A case approved first and not paid, named by this
    rule's finding of a later payout on the receipt, is told there as refunded since; a
    case closed after its approval, unpaid (settled here, found by `approved-not-paid`),
    is told there as a wait alone. A finding here that a waiver accepts tells nothing
    there.

    References:
    ACFE fraud tree: cash register disbursement schemes (fictitious refunds).
    """

    code = "DU002"
    name = "receipt-reused"
    severity = "high"
    logic_version = 2
    options = (Option("receipt_max_cases", "cases a receipt may be held by before it is "
                      "generic (not compared)", "thresholds.receipt_max_cases"),)
    summary = "One store receipt refunded in two or more cases"

    def check(self, facts: CaseFacts) -> list[Finding]:
        # (computed once per run, approved-not-paid reading them too: the facts' own
        # findings, not copies, as refund-exceeds-charge shares its own)
        return list(reused_findings(facts))

    def _check(self, facts: CaseFacts) -> list[Finding]:
        """The findings (`reused_findings`)."""
        held = receipts_held(facts)
        holding = held.holding
        # (read before the return where no receipt is shared: the reads traced on the
        # sample, whose receipts are each a case's own, are then what a reuse reads)
        c = facts.table("payout_eid", "payout_time", "currency")
        eids = facts.column(C.EVENT_ID)
        paid = c["payout_eid"].notna().to_numpy(dtype=bool)
        # The cases approved and not paid: their approval standing at the clock (not
        # withdrawn by a later rejection, nor ended by a close the refund was asked for
        # again after, as missing-evidence's evidence_due: approval reads one), a payment
        # decided; not a case whose ticket was closed after that approval (sorted after
        # it), unpaid: settled, no payment awaited on it.
        _, approval_at = standing_approvals(
            facts, np.full(facts.n_cases, np.iinfo(np.int64).max, dtype=np.int64))
        # (the close sorted after the approval: at a later time, or at its time after it in
        # the log's order; a close without a time is not placed, not taken)
        last_close = np.full(facts.n_cases, -1, dtype=np.int64)
        closes = np.flatnonzero(facts.mask("close"))
        closes = closes[~pd.isna(facts.column(C.TIMESTAMP).take(closes))]
        if len(closes):
            np.maximum.at(last_close, facts.case_code[closes].astype(np.int64), closes)
        pending = ~paid & (approval_at >= 0) & ~(last_close > approval_at)
        # (when each case's refund was decided: a paid case's approval its first payout
        # rests on, standing at that payout, as missing-evidence reads it, else the payout;
        # a case not paid, its standing approval. One clock for all: a case approved first
        # and paid later stays first once a case approved after it is paid)
        _, rests_on = standing_approvals(facts, _payout_limits(facts))
        approved_amounts = (facts.approved_in_case_currency(), facts.column(C.AMOUNT))
        if holding.empty:
            return []
        times = pd.DatetimeIndex(c["payout_time"])

        def approved_times(at: np.ndarray) -> pd.DatetimeIndex:
            """The standing approval's time of each case at positions `at` (not pending:
            NaT)."""
            return pd.DatetimeIndex(pd.DatetimeIndex(facts.column(C.TIMESTAMP).take(
                np.maximum(approval_at[at], 0))).where(pending[at]))

        case_ids = facts.case_ids
        at_case = holding["case"].to_numpy()
        decided = pd.DatetimeIndex(facts.column(C.TIMESTAMP).take(
            np.maximum(rests_on[at_case], 0))).where(rests_on[at_case] >= 0)
        at = times.take(at_case).where(paid[at_case], approved_times(at_case))
        holding = holding.assign(
            paid=paid[at_case], pending=pending[at_case],
            used=paid[at_case] | pending[at_case],
            at=at, decided=at.where(~paid[at_case] | (rests_on[at_case] < 0), decided),
            case_id=case_ids.take(at_case).astype(str))
        # The cases using the receipt (paid, or approved and not paid) first, by when their
        # refund was decided (a paid case without an approval its payout rests on by its
        # payout, one without a time last), then by their first payout, then by case id;
        # then the others by case id.
        holding = holding.sort_values(["key", "used", "decided", "at", "case_id"],
                                      ascending=[True, False, True, True, True],
                                      na_position="last", kind="stable")
        users_of = holding[holding["used"].to_numpy(dtype=bool)]
        by_key = users_of.groupby("key", sort=False)
        twice = ((by_key["case"].transform("size") > 1)
                 & by_key["paid"].transform("any")).to_numpy(dtype=bool)
        users_of = users_of[twice]
        if users_of.empty:
            return []
        holding = holding[holding["key"].isin(users_of["key"].unique()).to_numpy(dtype=bool)]
        cases_used = np.unique(users_of["case"].to_numpy(dtype=np.int64))
        own = _paid_of(facts, cases_used[paid[cases_used]])
        own.update(_approved_of(facts, c, cases_used[pending[cases_used]], approval_at,
                                approved_amounts))
        sales = _sale_of(facts, np.unique(holding["case"].to_numpy(dtype=np.int64)))
        # (plain lists, taken once: per receipt, slices of them)
        at_held = holding["pos"].to_numpy(dtype=np.int64)
        written_of = pd.Series(facts.column(RECEIPT).take(at_held)).astype(str).tolist()
        eid_of = pd.Series(eids.take(at_held)).astype(str).tolist()
        key_l, used_l = holding["key"].tolist(), holding["used"].tolist()
        paid_l = holding["paid"].tolist()
        case_l, id_l, at_l = holding["case"].tolist(), holding["case_id"].tolist(), \
            holding["at"].tolist()
        decided_l = holding["decided"].tolist()
        tolerance: dict[str, float] = {}  # (per currency)
        found: dict[int, _Found] = {}
        starts = [i for i in range(len(key_l)) if i == 0 or key_l[i] != key_l[i - 1]]
        for start, end in zip(starts, [*starts[1:], len(key_l)], strict=True):
            # (one walk per receipt, its lists made once: a value shared by many cases
            # costs a step per case, each finding naming at most CASES_KEPT of them)
            key = key_l[start]
            sharing = id_l[start:end]
            users = [i for i in range(start, end) if used_l[i]]
            ids = [id_l[i] for i in users]
            codes_ = [case_l[i] for i in users]
            def paid_by(i: int, then: Any) -> bool:
                """Whether the case at `i` was paid by `then` (a time; NaT: by the clock).
                A payout at no stated time is not placed after any time: paid by each."""
                return bool(paid_l[i]) and (pd.isna(then) or pd.isna(at_l[i])
                                            or at_l[i] <= then)

            def named_at(i: int, then: Any, own_point: str) -> str:
                """An earlier case as a finding at `then` names it: paid, approved and not
                paid, or approved before `then` and paid after it (ordered by when its
                refund was decided, an earlier case may be paid after a later one)."""
                if paid_l[i] and not paid_by(i, then):
                    return (f"{id_l[i]} (approved "
                            + ("at no stated time" if pd.isna(decided_l[i])
                               else moment(decided_l[i]))
                            + ", paid " + ("at no stated time" if pd.isna(at_l[i])
                                           else moment(at_l[i]))
                            + f" after this case's {own_point})")
                return (f"{id_l[i]} (" + ("paid " if paid_l[i] else "approved ")
                        + ("at no stated time" if pd.isna(at_l[i]) else moment(at_l[i]))
                        + ("" if paid_l[i] else ", not paid") + ")")

            kept, earlier_kept = sharing[:CASES_KEPT], ids[:CASES_KEPT]
            earlier_eids = [eid_of[i] for i in users[:CASES_NAMED]]
            # (the receipt's sale: the purchase the cases holding it hold, where those
            # holding one all hold one of the same amount and currency; purchases of
            # other amounts or currencies are two sales, none the receipt's for sure)
            sold: dict[str, float] = {}
            for i in range(start, end):
                if (sale_ := sales.get(case_l[i])) is not None:
                    amount_, unit_ = sale_
                    if unit_ not in tolerance:
                        tolerance[unit_] = float(facts.tolerance(
                            pd.Series([unit_ or None]))[0])
                    known = sold.get(unit_, amount_)
                    # (NaN once two differ: NaN's difference is no number, not below)
                    sold[unit_] = amount_ if abs(known - amount_) <= tolerance[unit_] \
                        else float("nan")
            if len(sold) > 1:
                sold = {}
            # (per currency, what the earlier users took: paid, or approved to be paid)
            before: dict[str, float] = {}
            paid_before = False
            for k, code in enumerate(codes_):
                amount, unit = own[int(code)]
                sale = sold.get(unit)
                took = before.get(unit, 0.0)
                before[unit] = took + amount  # (NaN, unknown, stays NaN)
                was_paid_before, paid_before = paid_before, paid_before or paid_l[users[k]]
                # (the first use is the one the receipt was bought for; an approval not
                # paid is found only after a payout on the receipt: two approvals alone
                # refunded nothing yet)
                if k == 0 or not (paid_l[users[k]] or was_paid_before):
                    continue
                part: float | None = None  # (None: the whole amount at risk)
                if sale is not None and sale == sale and amount == amount and took == took:
                    excess = took + amount - sale
                    if unit not in tolerance:
                        tolerance[unit] = float(facts.tolerance(pd.Series([unit or None]))[0])
                    if excess <= tolerance[unit]:
                        continue  # (a partial return: the receipts' sale not passed)
                    part = min(amount, excess)
                written = written_of[users[k]]
                # (a case is told as at its finding's time, its payout or, approved and not
                # paid, its approval: an earlier case paid only after it was approved, not
                # yet refunded, then)
                then = at_l[users[k]]
                own_point = "payout" if paid_l[users[k]] else "approval"
                shown = [named_at(i, then, own_point) for i in users[:min(k, CASES_NAMED)]]
                earlier_paid = [paid_by(i, then) for i in users[:k]]
                how = ("refunded" if all(earlier_paid) else
                       "approved" if not any(earlier_paid) else "refunded or approved")
                entry = found.setdefault(int(code), _Found())
                entry.receipts.append(written)
                entry.compared_as.append(str(key))
                entry.receipt_eids.append(eid_of[users[k]])
                entry.sharing_n.append(len(sharing))
                entry.earlier_n.append(k)
                entry.sharing.append(kept)
                entry.earlier.append(earlier_kept[:k])
                entry.earlier_eids.append(earlier_eids[:k])
                entry.parts.append(part)
                entry.told.append(
                    f"receipt {written} already {how} in case{'s' if k > 1 else ''} "
                    + ", ".join(shown) + _more(k - len(shown))
                    + f"; held by {counted(len(sharing), 'case', spec=',')}: "
                    + ", ".join(sharing[:CASES_NAMED]) + _more(len(sharing) - CASES_NAMED)
                    + ("" if part is None or sale is None or part >= amount - 1e-9 else
                       f" ({figure(part, unit or None)}{' ' + unit if unit else ''} of it "
                       f"at risk: the receipt's sale was "
                       f"{figure(sale, unit or None)}{' ' + unit if unit else ''})"))
        if not found:
            return []
        codes = np.array(sorted(found), dtype=np.int64)
        hits = c.iloc[codes].copy()
        entries = [found[k] for k in codes.tolist()]
        amounts, units = [], []
        for k, entry in zip(codes.tolist(), entries, strict=True):
            amount, unit = own[k]
            # (a case on two receipts: the larger part, its payouts counted once)
            parts = entry.parts
            at_risk = amount if any(p is None for p in parts) else min(amount, max(
                p for p in parts if p is not None))
            amounts.append(at_risk if at_risk == at_risk else None)
            units.append(unit or None)
        hits["amount"] = pd.Series(amounts, index=hits.index, dtype=object)
        hits["currency"] = pd.Series(units, index=hits.index, dtype=object)
        columns = {
            "receipts": [e.receipts for e in entries],
            "compared_as": [e.compared_as for e in entries],
            "sharing_cases": [_merged(e.sharing) for e in entries],
            "sharing_cases_n": [e.sharing_n for e in entries],
            "earlier_cases": [_merged(e.earlier) for e in entries],
            "earlier_cases_n": [e.earlier_n for e in entries],
            "earlier_eids": [_merged(e.earlier_eids, CASES_NAMED) for e in entries],
            "receipt_eids": [e.receipt_eids for e in entries]}
        for name, values in columns.items():
            hits[name] = pd.Series(values, index=hits.index, dtype=object)
        unpaid = pending[codes]
        hits["approved_not_paid"] = unpaid.tolist()
        # (paid: the first payout, cited and its time the finding's; approved and not
        # paid: the standing approval)
        hits["used_eid"] = hits["payout_eid"].where(
            ~unpaid, pd.Series(eids.take(np.maximum(approval_at[codes], 0)),
                               index=hits.index).astype(object))
        hits["used_time"] = hits["payout_time"].where(
            ~unpaid, pd.Series(approved_times(codes), index=hits.index))
        hits["what"] = ["; ".join(e.told) for e in entries]
        told_paid = facts.paid_texts(codes)
        hits["used"] = [
            (f"{figure(float(a) if a is not None else float('nan'), u)}"
             f"{' ' + u if u else ''} approved and not paid") if no else f"{t} paid"
            for no, t, a, u in zip(unpaid.tolist(), told_paid, _amounts_whole(own, codes),
                                   units, strict=True)]
        return self.findings(
            facts, hits, events=("receipt_eids", "used_eid", "earlier_eids"),
            when="used_time", amount="amount",
            evidence=("receipts", "compared_as", "sharing_cases", "sharing_cases_n",
                      "earlier_cases", "earlier_cases_n", "amount", "currency",
                      "approved_not_paid"),
            message="refund of {used} on a reused receipt: {what}")


@dataclass
class _Found:
    """What a case's finding names, a value per reused receipt it holds."""

    receipts: list[str] = field(default_factory=list)
    compared_as: list[str] = field(default_factory=list)
    receipt_eids: list[str] = field(default_factory=list)
    sharing_n: list[int] = field(default_factory=list)
    earlier_n: list[int] = field(default_factory=list)
    sharing: list[list[str]] = field(default_factory=list)
    earlier: list[list[str]] = field(default_factory=list)
    earlier_eids: list[list[str]] = field(default_factory=list)
    parts: list[float | None] = field(default_factory=list)
    told: list[str] = field(default_factory=list)


def _merged(lists: list[list[str]], cap: int | None = None) -> list[str]:
    """The lists one after another, each value once, at most `cap` (CASES_KEPT) values: the
    one list itself where there is one (made once per receipt, not copied)."""
    cap = CASES_KEPT if cap is None else cap
    if len(lists) == 1:
        return lists[0][:cap]
    out: list[str] = []
    seen: set[str] = set()
    for values in lists:
        for value in values:
            if value not in seen and len(out) < cap:
                seen.add(value)
                out.append(value)
    return out


@dataclass(frozen=True)
class Held:
    """The receipts of a log as receipt-reused compares them (`receipts_held`)."""

    holding: pd.DataFrame
    """Per case and receipt key held by at least two and at most the policy's
    `receipt_max_cases` cases: `case` (its position), `pos` (the sorted position of its
    first event holding it) and `key` (the receipt as compared)."""
    generic: np.ndarray
    """The positions of the cases holding a generic key (held by more cases), sorted."""
    generic_keys: tuple[str, ...]
    """Those keys, sorted."""


FOUND = "shared:receipt-reused:found"
"""The key `reused_findings` is cached under in the facts (`CaseFacts.shared`)."""


def reused_findings(facts: CaseFacts) -> list[Finding]:
    """receipt-reused's findings on `facts`, computed once per run (the facts keep them):
    approved-not-paid reads which of its cases this rule finds approved and not paid on a
    reused receipt (the payment not to be made), and the rule's check returns them. Not to
    be changed."""
    return cast(list[Finding], facts.shared(FOUND))


@shared_work(FOUND)
def _reused_findings(facts: CaseFacts) -> list[Finding]:
    return ReceiptReused()._check(facts)


HELD = "shared:receipt-reused:held"
"""The key `receipts_held` is cached under in the facts."""


def receipts_held(facts: CaseFacts) -> Held:
    """The receipts of the facts' cases as receipt-reused compares them: computed once per
    run (the rule and the run's list of cases it did not judge read them)."""
    return cast(Held, facts.shared(HELD))


@shared_work(HELD)
def _receipts_held(facts: CaseFacts) -> Held:
    """`receipts_held`, computed: the keys as integer codes, deduplicated and counted as
    integers; text and rows only for the keys two cases hold (none at all on a log whose
    receipts are each a case's own)."""
    none = Held(pd.DataFrame({"case": np.zeros(0, np.int64), "pos": np.zeros(0, np.int64),
                              "key": np.zeros(0, dtype=object)}),
                np.zeros(0, dtype=np.int64), ())
    if not facts.has(RECEIPT):
        return none
    codes, texts = receipt_key_codes(facts.column(RECEIPT))
    at = np.flatnonzero(codes >= 0)
    if not len(at):
        return none
    key = codes[at]
    case = np.asarray(facts.case_code[at], dtype=np.int64)
    # (sorted events: by case, then time; the first event of a case holding the key)
    first = ~pd.Series(case * len(texts) + key).duplicated().to_numpy(dtype=bool)
    at, key, case = at[first], key[first], case[first]
    counts = np.bincount(key, minlength=len(texts))
    given = getattr(facts, "generic_receipts", None)
    if given is None:
        generic_key = counts > facts.policy.receipt_max_cases
    else:  # (a partition of a dask run: the whole log's generic keys)
        generic_key = np.isin(texts, np.asarray(sorted(given), dtype=object)) & (counts > 0)
    shared = (counts > 1) & ~generic_key
    if not shared.any() and not generic_key.any():
        return none
    kept = shared[key]
    holding = pd.DataFrame({"case": case[kept], "pos": at[kept], "key": texts[key[kept]]})
    generic = np.unique(case[generic_key[key]])
    return Held(holding, generic, tuple(sorted(str(t) for t in texts[generic_key])))


def generic_receipts(values: Any, cases: Any, most: int) -> frozenset[str]:
    """The receipt keys of a log (`values`, its `evidence:receipt`; `cases`, the case of
    each) held by more than `most` cases: generic, not compared (the dask engine links no
    cases by them, and tells each partition)."""
    codes, texts = receipt_key_codes(values)
    at = np.flatnonzero(codes >= 0)
    if not len(at):
        return frozenset()
    case_codes = pd.factorize(np.asarray(cases)[at])[0].astype(np.int64)
    pairs = pd.DataFrame({"case": case_codes, "key": codes[at]}).drop_duplicates()
    counts = np.bincount(pairs["key"].to_numpy(dtype=np.int64), minlength=len(texts))
    return frozenset(str(t) for t in texts[counts > most])


def unjudged_cases(facts: CaseFacts) -> list[object]:
    """The ids of the cases holding a generic receipt (sorted, as `CaseFacts.case_ids`):
    findings.json's `unjudged_cases.DU002.receipt_generic` (`RECEIPT_GENERIC`), which
    `diff` reads and check warns of."""
    found: list[object] = facts.case_ids[receipts_held(facts).generic].tolist()
    return found


def _paid_of(facts: CaseFacts, codes: np.ndarray) -> dict[int, tuple[float, str]]:
    """Per case at positions `codes`: what its successful payouts paid and in what currency:
    the sum of those in the case's currency (or stating none) where it has any, else of
    those in its first payout's (as duplicate-refund reports a repeat); NaN where none
    states an amount."""
    wanted = np.zeros(facts.n_cases, dtype=bool)
    wanted[codes] = True
    at = np.flatnonzero(facts.mask("paid") & wanted[facts.case_code])
    own_unit = pd.Series(facts.at_cases(codes, "currency")["currency"].array,
                         index=codes).astype("string")
    frame = facts.frame(at, (C.AMOUNT, C.CURRENCY))
    case = facts.case_code[at]
    unit = frame[C.CURRENCY].astype("string").fillna(pd.Series(
        own_unit.reindex(case).array, index=frame.index)).fillna("")
    amount = pd.to_numeric(frame[C.AMOUNT], errors="coerce")
    sums = pd.DataFrame({"case": case, "unit": unit.array, "amount": amount.array}).groupby(
        ["case", "unit"], sort=False)["amount"].sum(min_count=1)
    of: dict[int, dict[str, float]] = {}
    for (k, u), v in zip(sums.index.tolist(), sums.tolist(), strict=True):
        of.setdefault(int(k), {})[str(u)] = float(v)
    out: dict[int, tuple[float, str]] = {}
    for k, u in zip(codes.tolist(), own_unit.fillna("").tolist(), strict=True):
        per = of.get(int(k), {})
        unit_ = u if u in per or not per else next(iter(per))
        out[int(k)] = (per.get(unit_, float("nan")), unit_)
    return out


def _approved_of(facts: CaseFacts, c: pd.DataFrame, codes: np.ndarray,
                 approval_at: np.ndarray, approved: tuple[np.ndarray, Any]
                 ) -> dict[int, tuple[float, str]]:
    """Per case at positions `codes` (approved, not paid): the amount approved, as
    approved-not-paid states it (the least of its approvals in its currency), of the
    approvals standing: its standing approval (`approval_at`, a sorted position per case)
    and those after it (an approval of 30.00 withdrawn, or ended by a close and a new
    request, is not what the approval of 100.00 after it decided), and the case's
    currency; NaN where none states an amount. `approved`: the facts' approvals in their
    case's currency (a mask of the sorted events) and the amount column."""
    wanted = np.zeros(facts.n_cases, dtype=bool)
    wanted[codes] = True
    mask, amounts = approved
    at = np.flatnonzero(mask & wanted[facts.case_code])
    case = facts.case_code[at].astype(np.int64)
    # (an approval without a time is not placed: not taken, as approved-not-paid reads it)
    keep = (at >= approval_at[case]) & ~pd.isna(facts.column(C.TIMESTAMP).take(at))
    at, case = at[keep], case[keep]
    amount = pd.to_numeric(pd.Series(amounts.take(at)), errors="coerce")
    least = pd.Series(amount.to_numpy(dtype=float, na_value=np.nan)).groupby(
        case).min().to_dict()
    units = c["currency"].iloc[codes].astype("string").fillna("").tolist()
    return {int(k): (float(least.get(int(k), float("nan"))), str(u))
            for k, u in zip(codes.tolist(), units, strict=True)}


def _amounts_whole(own: dict[int, tuple[float, str]], codes: np.ndarray) -> list[float | None]:
    """Per case at positions `codes`: its whole amount of `own` (None where unknown)."""
    return [None if (a := own[int(k)][0]) != a else a for k in codes.tolist()]


def _sale_of(facts: CaseFacts, codes: np.ndarray) -> dict[int, tuple[float, str]]:
    """Per case at positions `codes` holding a purchase (`bought`: not failed, reversed or
    pending) stating an amount in the case's currency (or stating none): their sum, and the
    currency. Cases without one are left out: their sale is unknown."""
    wanted = np.zeros(facts.n_cases, dtype=bool)
    wanted[codes] = True
    at = np.flatnonzero(facts.mask("bought") & wanted[facts.case_code])
    if not len(at):
        return {}
    own_unit = pd.Series(facts.at_cases(codes, "currency")["currency"].array,
                         index=codes).astype("string")
    frame = facts.frame(at, (C.AMOUNT, C.CURRENCY))
    case = facts.case_code[at]
    case_unit = pd.Series(own_unit.reindex(case).array, index=frame.index)
    unit = frame[C.CURRENCY].astype("string").fillna(case_unit).fillna("")
    amount = pd.to_numeric(frame[C.AMOUNT], errors="coerce")
    same = (unit == case_unit.fillna("")).to_numpy(dtype=bool)
    sums = pd.DataFrame({"case": case[same], "amount": amount[same].array,
                         "unit": unit[same].array}).groupby("case", sort=False).agg(
        amount=("amount", lambda v: v.sum(min_count=1)), unit=("unit", "first"))
    return {int(k): (float(a), str(u)) for k, a, u in zip(
        sums.index.tolist(), sums["amount"].tolist(), sums["unit"].tolist(), strict=True)
        if a == a}


CASES_NAMED = 5
"""How many of the cases holding a receipt, and of those paid on it before, a message names
(and how many of the earlier cases' events a finding cites)."""
CASES_KEPT = 100
"""How many the evidence lists (`sharing_cases`, `earlier_cases`; `sharing_cases_n` and
`earlier_cases_n` count them all, per receipt)."""


def _more(n: int) -> str:
    """" and 3 other cases" beyond the cases a message names; "" where none."""
    return f" and {counted(n, 'other case', spec=',')}" if n > 0 else ""
