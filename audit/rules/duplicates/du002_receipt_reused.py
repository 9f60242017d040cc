from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.evidence.ev001_missing_evidence import _placeholders
from audit.rules.facts import CaseFacts
from audit.words import counted, moment

RECEIPT = C.EVIDENCE_PREFIX + "receipt"
"""The evidence item holding the store receipt (the offline channel's, with the photo)."""

_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def receipt_key(value: object) -> str | None:
    """The receipt a value names, as compared across cases: the text in Unicode's
    compatibility form (NFKC: a full-width `Ｒ１２` is `R12`), letter case folded, every
    white space removed (`R 0012` is `R0012`), and the leading zeros of each run of digits
    dropped (`R-0012` is `R-12`, `000123` is `123`: a till number a spreadsheet stored as a
    number loses them). Other characters are kept (`12-345` and `123-45` are two receipts,
    `receipt-17.jpg` and `receipt-17.png` two documents). None, compared with nothing,
    where the text holds no digit: `receipt.jpg`, `scan`, a placeholder names no receipt."""
    text = "".join(unicodedata.normalize("NFKC", str(value)).casefold().split())
    if not any(ch.isdigit() for ch in text):
        return None
    return _LEADING_ZEROS.sub("", text)


def receipt_keys(values: Any) -> np.ndarray:
    """Per value (a column of `evidence:receipt`: an array, a series, a coded column): its
    `receipt_key`, None where missing, a placeholder (as missing-evidence reads one: `n/a`,
    `-`) or naming no receipt. Computed once per distinct value, the ASCII ones by Arrow
    (at 1M cases a third of a million receipts: in Python one by one, 3 s)."""
    array = values if isinstance(values, pd.api.extensions.ExtensionArray) else pd.array(
        np.asarray(values, dtype=object))
    if isinstance(array, pd.Categorical):
        codes = np.asarray(array.codes, dtype=np.int64)
        uniques: Any = array.categories
    else:
        found, uniques = array.factorize()
        codes = np.asarray(found, dtype=np.int64)
    keys = np.full(len(codes), None, dtype=object)
    if not len(uniques):
        return keys
    of_unique = _keys_of(uniques)
    of_unique[_placeholders(uniques)] = None
    at = codes >= 0
    keys[at] = of_unique[codes[at]]
    return keys


def _keys_of(uniques: Any) -> np.ndarray:
    """`receipt_key` of each distinct value: ASCII texts by Arrow (the same steps: white
    space removed, lower case, which is ASCII's case folding, and leading zeros of each run
    of digits dropped; no digit: None), the others in Python (NFKC, Unicode's folding)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        texts = pa.array(uniques, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        texts = None
    if texts is None or not (pa.types.is_string(texts.type)
                             or pa.types.is_large_string(texts.type)):
        return np.array([receipt_key(v) for v in list(uniques)], dtype=object)
    ascii_ = np.asarray(pc.string_is_ascii(texts).fill_null(False), dtype=bool)
    squeezed = pc.ascii_lower(pc.replace_substring_regex(texts, r"[\t\n\x0b\x0c\r \x1c-\x1f]+", ""))
    digits = np.asarray(pc.match_substring_regex(squeezed, "[0-9]").fill_null(False),
                        dtype=bool)
    stripped = pc.replace_substring_regex(squeezed, "(^|[^0-9])0+([0-9])", r"\1\2")
    out = np.asarray(stripped.to_numpy(zero_copy_only=False), dtype=object)
    out[~digits] = None
    for k in np.flatnonzero(~ascii_).tolist():
        out[k] = receipt_key(uniques[k])
    return out


class ReceiptReused(Rule):
    """What it checks:
    One store receipt refunded in two or more cases: the same `evidence:receipt` held by
    cases that each paid a refund (a successful payout). The cases are taken in the order
    of their first successful payout (a payout without a time last, then by case id): the
    first refund on the receipt is the one it was bought for; every later case paying on
    it gets a finding, its amount at risk all the case's successful payouts (in its
    currency, as `amount-mismatch` adds them). Receipts are compared as the receipt they
    name, not as typed: Unicode's compatibility form (NFKC), in any letter case, without
    white space anywhere, and without the leading zeros of each run of digits (`R-0012`,
    `r-12` and `R 12` are one receipt; a till number stored as a number by a spreadsheet,
    `123` for `000123`, too). Any other character counts (`12-345` is not `123-45`;
    `receipt-17.jpg` and `receipt-17.png` are two documents). A value holding no digit
    (`receipt.jpg`, `scan`) names no receipt, and a placeholder (`n/a`, `-`, as
    `missing-evidence` reads one) none either: neither is compared. A receipt named on
    any event of a case, at any time, counts (presented late, it was presented). The
    finding names every case holding the receipt (`sharing_cases`, this one too, in the
    order above, then the cases not paid by case id), those paid on it before
    (`earlier_cases`), the receipt as this case wrote it (`receipts`) and as compared
    (`compared_as`), and cites this case's first event holding it, its first payout and
    the earlier cases' first events holding it (the first 5). A case holding two reused
    receipts gets one finding naming both (`receipts`, `compared_as`, `sharing_cases_n`
    and `earlier_cases_n` are lists, a value per receipt). A receipt held by very many
    cases (a generic value such as a phone's `IMG_0001.jpg`) costs a step per case: the
    evidence lists the first 100 of each (`sharing_cases_n` and `earlier_cases_n` count
    them all), the message names the first 5 ("and 3 other cases").
    Why it matters:
    A till receipt is the offline refund's proof of purchase: one receipt refunded twice
    (presented again in another store, by another customer, or re-keyed by staff in a
    second case) pays one purchase back twice. No charge id links the two refunds of a
    cash sale, so `duplicate-refund` cannot see it.

    Example:
    Violating: case A (offline) with `evidence:receipt` = R-000123 paid 45.00 EUR on 1 July;
    case B with `evidence:receipt` = r-123 paid 45.00 EUR on 9 July: B is found, 45.00 EUR
    at risk, naming A.
    Compliant: case A paid on R-123; case B holding R-123 was rejected (no payout): the
    control held, nothing is found (B is named in a finding only where a third case paid on
    the receipt).
    Compliant: `evidence:receipt` = receipt.jpg in two cases (a file name naming no
    receipt), or `n/a`.
    Precedence: none. The money a finding here reports can be reported by
    `duplicate-refund` too, where the two refunds also share a charge or order.

    Options:
    None: the item compared is `evidence:receipt`. A log whose receipt item holds
    references that are not unique to one receipt (a phone's `IMG_0001.jpg` in every
    case) is no ground for this rule: leave it out in the policy (rules: ignore:
    [DU002]). Receipt numbers that repeat from store to store (a per-store sequence)
    should be written with their store (`S12-000123`): the rule cannot tell stores apart.
    A case with a receipt but not yet paid (approved, in progress) is named in another
    case's finding only; it is found once paid.

    References:
    ACFE fraud tree: cash register disbursement schemes (fictitious refunds).
    """

    code = "DU002"
    name = "receipt-reused"
    severity = "high"
    logic_version = 1
    summary = "One store receipt refunded in two or more cases"

    def check(self, facts: CaseFacts) -> list[Finding]:
        if not facts.has(RECEIPT):
            return []
        keys = receipt_keys(facts.column(RECEIPT))
        at = np.flatnonzero(pd.notna(keys))
        if not len(at):
            return []
        holding = pd.DataFrame({"case": facts.case_code[at].astype(np.int64), "pos": at,
                                "key": keys[at]})
        # (sorted events: by case, then time; the first event of a case holding the key)
        holding = holding.drop_duplicates(["case", "key"], keep="first")
        shared = holding.groupby("key")["case"].transform("size") > 1
        holding = holding[shared.to_numpy(dtype=bool)]
        # (read before the return where no receipt is shared: the reads traced on the
        # sample, whose receipts are each a case's own, are then what a reuse reads)
        c = facts.table("payout_eid", "payout_time", "payouts_sum", "currency")
        eids = facts.column(C.EVENT_ID)
        if holding.empty:
            return []
        paid = c["payout_eid"].notna().to_numpy(dtype=bool)
        times = pd.DatetimeIndex(c["payout_time"])
        case_ids = facts.case_ids
        holding = holding.assign(
            paid=paid[holding["case"].to_numpy()],
            at=times.take(holding["case"].to_numpy()),
            case_id=case_ids.take(holding["case"].to_numpy()).astype(str))
        # Paid first, by first payout (none last), then by case id.
        holding = holding.sort_values(["key", "paid", "at", "case_id"],
                                      ascending=[True, False, True, True],
                                      na_position="last", kind="stable")
        texts = facts.column(RECEIPT)
        found: dict[int, dict[str, list[Any]]] = {}
        for key, group in holding.groupby("key", sort=True):
            paid_here = group["paid"].to_numpy(dtype=bool)
            if int(paid_here.sum()) < 2:
                continue
            # (one walk per receipt: a value shared by many cases, a hostile or generic
            # one, costs a step per case, each finding naming at most CASES_KEPT of them)
            sharing = group["case_id"].tolist()
            payers = group[paid_here]
            ids, poss = payers["case_id"].tolist(), payers["pos"].tolist()
            codes_, whens = payers["case"].tolist(), payers["at"].tolist()
            named = [f"{case} (paid {'at no stated time' if pd.isna(when) else moment(when)})"
                     for case, when in zip(ids[:CASES_NAMED], whens[:CASES_NAMED],
                                           strict=True)]
            for k in range(1, len(ids)):
                entry = found.setdefault(int(codes_[k]), {
                    "receipts": [], "compared_as": [], "sharing_cases": [],
                    "sharing_cases_n": [], "earlier_cases": [], "earlier_cases_n": [],
                    "earlier_eids": [], "receipt_eids": [], "told": []})
                written = str(texts[int(poss[k])])
                entry["receipts"].append(written)
                entry["compared_as"].append(str(key))
                entry["receipt_eids"].append(str(eids[int(poss[k])]))
                entry["sharing_cases_n"].append(len(sharing))
                entry["earlier_cases_n"].append(k)
                for case in sharing[:CASES_KEPT]:
                    if case not in entry["sharing_cases"] \
                            and len(entry["sharing_cases"]) < CASES_KEPT:
                        entry["sharing_cases"].append(case)
                for j in range(min(k, CASES_KEPT)):
                    if ids[j] not in entry["earlier_cases"] \
                            and len(entry["earlier_cases"]) < CASES_KEPT:
                        entry["earlier_cases"].append(ids[j])
                        if len(entry["earlier_eids"]) < CASES_NAMED:
                            entry["earlier_eids"].append(str(eids[int(poss[j])]))
                shown = named[:min(k, CASES_NAMED)]
                entry["told"].append(
                    f"receipt {written} already refunded in case{'s' if k > 1 else ''} "
                    + ", ".join(shown) + _more(k - len(shown))
                    + f"; held by {counted(len(sharing), 'case', spec=',')}: "
                    + ", ".join(sharing[:CASES_NAMED]) + _more(len(sharing) - CASES_NAMED))
        if not found:
            return []
        codes = np.array(sorted(found), dtype=np.int64)
        hits = c.iloc[codes].copy()
        for name in ("receipts", "compared_as", "sharing_cases", "sharing_cases_n",
                     "earlier_cases", "earlier_cases_n", "earlier_eids", "receipt_eids"):
            hits[name] = pd.Series([found[k][name] for k in codes.tolist()],
                                   index=hits.index, dtype=object)
        hits["what"] = ["; ".join(found[k]["told"]) for k in codes.tolist()]
        hits["paid"] = facts.paid_texts(codes)
        return self.findings(
            facts, hits, events=("receipt_eids", "payout_eid", "earlier_eids"),
            when="payout_time", amount="payouts_sum",
            evidence=("receipts", "compared_as", "sharing_cases", "sharing_cases_n",
                      "earlier_cases", "earlier_cases_n", "payouts_sum", "currency"),
            message="refund of {paid} paid on a reused receipt: {what}")


CASES_NAMED = 5
"""How many of the cases holding a receipt, and of those paid on it before, a message names
(and how many of the earlier cases' events a finding cites)."""
CASES_KEPT = 100
"""How many the evidence lists (`sharing_cases`, `earlier_cases`; `sharing_cases_n` and
`earlier_cases_n` count them all, per receipt)."""


def _more(n: int) -> str:
    """" and 3 other cases" beyond the cases a message names; "" where none."""
    return f" and {counted(n, 'other case', spec=',')}" if n > 0 else ""
