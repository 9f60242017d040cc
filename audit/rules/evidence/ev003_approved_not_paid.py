from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.canonical import elapsed
from audit.currency import figure
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.evidence.ev001_missing_evidence import standing_approvals
from audit.rules.facts import CaseFacts
from audit.words import counted


class ApprovedNotPaid(Rule):
    """What it checks:
    A refund was approved and has no successful payout although the grace period after its
    approvals in force has passed at the audit's as-of time. The approvals in force are
    those `missing-evidence` (with `evidence_due: approval`) and `receipt-reused` read: the
    case's first approval (either level) not withdrawn by a later rejection nor ended by a
    later close after which the refund was asked for again (a refund asked for again is
    decided anew), and the approvals after it; an approval, rejection, close or request
    without a time is not placed, not taken. A rejection overturned by a later approval (an
    appeal) withdraws only the approvals before it. The grace runs from the last approval
    in force (a second-level approval completes the decision: the payout waits on it),
    where `receipt-reused` times a case not paid at the first (when the payment was
    decided). The finding names the approval it rests on: its time is the finding's and
    the message's ("approved on ..."), the evidence holds it (`approved_at`) and its event
    id (`approval_eid`), and the approvals in force are cited (withdrawn or ended ones are
    not); its amount at risk is the least of them in the case's currency (as
    `receipt-reused` states an approval not paid: approved 30.00, closed, asked again and
    approved 100.00 is 100.00).
    Where `receipt-reused` (judged in the same run) finds the case approved and not paid on
    a receipt another case was paid or approved on before it, the payment is not to be
    made: the message says so instead of leaving an unpaid approval to be paid ("...; not
    to be paid: receipt-reused (DU002) found its receipt R-7 used before in case A"), and
    the evidence lists those cases (`receipt_reused_before`). Where that finding puts less
    at risk than this one, a part beyond the receipt's sale (a sale of 50.00, 30.00 paid
    before, 35.00 approved here), that part alone is not to be paid ("...; 15.00 EUR of it
    (beyond the receipt's sale) not to be paid: ..."). Where the case was approved first on
    the receipt and a later case paid on it (`receipt-reused` finding that payout, naming
    this case among its earlier cases), the message says the receipt was refunded since
    ("...; its receipt R-7 refunded since in case D, found by receipt-reused (DU002): to be
    settled with that refund before this approval is paid"; no `receipt_reused_before`).
    A `receipt-reused` finding a waiver of the policy in force accepts tells nothing here;
    where that rule fails, its error is reported and this rule judges without it. The
    finding stays: the approval in force past its grace still has to be withdrawn (or
    settled). Limits: a case whose ticket was closed after its approval, unpaid, is found
    here (its approval stands unpaid) but is no payment awaited to `receipt-reused`, which
    neither finds it nor names it among the cases used on the receipt: its message tells
    the wait alone, with no word of its receipt; likewise a case `receipt-reused` names only
    beyond the first 100 earlier cases of a finding (`earlier_cases`).

    Why it matters:
    An approved refund is a debt to the customer; leaving it unpaid breaks the promise to the
    customer, and unpaid approvals can be re-used later for a different payee.

    Example:
    Violating: `Approve refund` on 2026-09-01, no payout by the as-of date 2026-10-15.
    Violating: `Reject refund` on 2026-09-03, `Approve refund` on appeal on 2026-09-05, no
    payout by 2026-10-15.
    Violating: `Approve refund` on 2026-09-01, `Close ticket`, `Receive refund request`
    again and `Approve refund` on 2026-09-20, no payout by 2026-10-15: found from
    2026-09-20, citing that approval alone.
    Compliant: `Execute payout` within the grace period, or `Reject refund` after the
    approval; or `Approve refund`, `Close ticket`, then `Receive refund request` again, not
    yet approved (the new request is not decided).
    Precedence: an unpaid case is never also an `sla-breach`, and its payout stage still
    open past its limit is no `stage-overdue` (the same wait); its stages that ended late
    are.

    Options:
    `grace.approved_not_paid` (default 5d); the as-of time is `as_of` in the policy or
    `--as-of`, else the time of the run; `check` judges the log as it stood then (a payout
    dated after it is not yet made). The message tells the wait in days, hours,
    minutes and seconds ("approved on 2026-09-30 12:56:06 UTC, still not paid after 14d
    11h 3m 54s"); the evidence keeps it as an ISO 8601 duration (`waiting`,
    "P14DT11H3M54S", days of 24 hours), and the approval's time in ISO 8601.

    References:
    Consumer refund regulations (time limits for refunds); COSO Internal Control: monitoring.
    """

    code = "EV003"
    name = "approved-not-paid"
    severity = "medium"
    logic_version = 2
    summary = "Approved refund not paid within the grace period"
    options = (Option("grace", "time allowed between approval and payout",
                      "grace.approved_not_paid"),
               Option("as-of", "the audit's clock (or check --as-of)", "as_of"))
    suppresses = ("sla-breach",)

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payout_eid", "currency")
        _, first = approval_in_force(facts)
        where = last_in_force(facts, first)
        unpaid, over = _unpaid_and_over(facts, where, c["payout_eid"].isna().to_numpy(
            dtype=bool))
        # (the approved cases still within their grace: judged at a later clock, told to
        # findings.json's not_due_cases by engine.side_facts)
        facts.not_due[self.code] = c.index[unpaid & ~over].tolist()
        codes = np.flatnonzero(unpaid & over)
        if not len(codes):
            return []
        hits = c.iloc[codes].copy()
        eids = facts.column(C.EVENT_ID)
        hits["approved_at"] = pd.DatetimeIndex(facts.column(C.TIMESTAMP).take(where[codes]))
        hits["approval_eid"] = pd.Series(eids.take(where[codes]), index=hits.index).astype(
            str).tolist()
        hits["waiting"] = elapsed(facts.as_of, hits["approved_at"])
        # (cited: the approvals in force, the first of them first; the amount approved,
        # the least of them in the case's currency, as receipt-reused states it)
        at, case = _approvals_from(facts, codes, first)
        cited = pd.Series(eids.take(at)).astype(str).groupby(case, sort=False).agg(list)
        hits["approval_eids"] = pd.Series(cited.reindex(codes).tolist(), index=hits.index,
                                          dtype=object)
        in_currency = facts.approved_in_case_currency()[at]
        least = pd.Series(pd.to_numeric(pd.Series(facts.column(C.AMOUNT).take(
            at[in_currency])), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ).groupby(case[in_currency]).min()
        hits["amount"] = least.reindex(codes).to_numpy(dtype=float)
        told = _reuse_told(facts, hits)
        hits["receipt_reused_before"] = pd.Series(
            [told.get(k, (None, ""))[0] for k in hits.index], index=hits.index, dtype=object)
        hits["what"] = [told.get(k, (None, ""))[1] for k in hits.index]
        found = self.findings(
            facts, hits, events=("approval_eids",), when="approved_at", amount="amount",
            evidence=("approved_at", "approval_eid", "waiting", "receipt_reused_before"),
            message="approved on {approved_at}, still not paid after {waiting}{what}")
        for finding in found:  # (named only where receipt-reused found the case)
            if finding.evidence.get("receipt_reused_before") is None:
                finding.evidence.pop("receipt_reused_before", None)
        return found


def approval_in_force(facts: CaseFacts) -> tuple[np.ndarray, np.ndarray]:
    """Per case: the time (an integer, the largest where none) and sorted position (-1
    where none) of the approval in force at the clock, as `missing-evidence` (with
    `evidence_due: approval`) and `receipt-reused` read it (`standing_approvals`): the
    case's first approval (either level) not withdrawn by a later rejection nor ended by a
    later close the refund was asked for again after."""
    return standing_approvals(
        facts, np.full(facts.n_cases, np.iinfo(np.int64).max, dtype=np.int64))


def last_in_force(facts: CaseFacts, first: np.ndarray | None = None) -> np.ndarray:
    """Per case: the sorted position (-1 where none) of the last of its approvals in force
    at the clock (either level, with a time: its approval in force, `approval_in_force`,
    whose positions `first` gives where known, and those after it), the approval the
    grace runs from: a second-level approval completes the decision to pay (the payout
    waits on it)."""
    if first is None:
        _, first = approval_in_force(facts)
    last = np.full(facts.n_cases, -1, dtype=np.int64)
    approvals = np.flatnonzero(facts.mask("approve", "second-approve"))
    approvals = approvals[~pd.isna(facts.column(C.TIMESTAMP).take(approvals))]
    case = facts.case_code[approvals].astype(np.int64)
    keep = (first[case] >= 0) & (approvals >= first[case])
    np.maximum.at(last, case[keep], approvals[keep])
    return last


def _approvals_from(facts: CaseFacts, codes: np.ndarray, where: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The sorted positions of the approvals (either level) of the cases at positions
    `codes` from each one's approval in force (`where`, a sorted position per case) on, and
    the case of each."""
    approvals = np.flatnonzero(facts.mask("approve", "second-approve"))
    case = facts.case_code[approvals].astype(np.int64)
    wanted = np.zeros(facts.n_cases, dtype=bool)
    wanted[codes] = True
    # (an approval without a time is not placed: not taken, as in last_in_force)
    timed = ~pd.isna(facts.column(C.TIMESTAMP).take(approvals))
    keep = wanted[case] & (approvals >= where[case]) & timed
    return approvals[keep], case[keep]


def _reuse_told(facts: CaseFacts, hits: pd.DataFrame
                ) -> dict[object, tuple[list[str] | None, str]]:
    """Per case of `hits` (indexed by case id, with its `amount` and `currency`) that
    receipt-reused, judged in this run, names on a reused receipt: (the earlier cases, where
    it finds the case approved and not paid on a receipt another case was paid or approved
    on before it; what the message adds). Where that finding puts less at risk than the
    case's approved amount (a part beyond the receipt's sale), that part is what is not to
    be paid; where the case, approved first and not paid, is named by a later case's
    finding paid on the receipt, the message says the receipt was refunded since. A
    receipt-reused finding a waiver of the policy in force matches tells nothing here (the
    waiver accepted it). Empty where that rule does not run, finds none of them, or fails
    (its error is its own, reported by the engine: this rule judges without it)."""
    from audit.rules.duplicates.du002_receipt_reused import ReceiptReused, reused_findings

    if not facts.judges(ReceiptReused.code):
        return {}
    try:
        findings = reused_findings(facts)
    except Exception:  # (receipt-reused's own error, reported as its own by the engine)
        return {}
    waived = _waived_in_policy(facts, ReceiptReused.code)
    wanted = set(hits.index.tolist())
    amount_of = dict(zip(hits.index.tolist(), hits["amount"].astype(float).tolist(),
                         strict=True))
    unit_of = {k: "" if pd.isna(u) else str(u)
               for k, u in zip(hits.index.tolist(), hits["currency"].tolist(), strict=True)}
    out: dict[object, tuple[list[str] | None, str]] = {}
    since: dict[object, list[tuple[str, list[str]]]] = {}
    for f in findings:
        if waived(f):
            continue
        receipts = [str(r) for r in f.evidence.get("receipts", [])]
        told = f"receipt{'s' if len(receipts) > 1 else ''} {', '.join(receipts)}"
        if not f.evidence.get("approved_not_paid"):
            # (a case paid on the receipt after cases approved before it and not paid)
            for e in f.evidence.get("earlier_cases", []):
                if e in wanted:
                    since.setdefault(e, []).append((f.case_id, receipts))
            continue
        if f.case_id not in wanted:
            continue
        earlier = [str(e) for e in f.evidence.get("earlier_cases", [])]
        # (every earlier case counted, not only the first CASES_KEPT listed: exact for
        # one receipt, and where the merged list is shorter than the cap)
        counts = [int(n) for n in f.evidence.get("earlier_cases_n", [])]
        total = max([len(earlier), *(counts if len(counts) > 1 else counts[:1])])
        named = ", ".join(earlier[:5]) + (
            f" and {counted(total - len(earlier[:5]), 'other case', spec=',')}"
            if total > len(earlier[:5]) else "")
        amount, unit = amount_of[f.case_id], unit_of[f.case_id]
        part = f.amount_at_risk
        whole = "not to be paid"
        if part is not None and amount == amount and float(part) < amount - float(
                facts.tolerance(pd.Series([unit or None]))[0]):
            whole = (f"{figure(float(part), unit or None)}{' ' + unit if unit else ''} of it "
                     "(beyond the receipt's sale) not to be paid")
        out[f.case_id] = (earlier, (
            f"; {whole}: receipt-reused (DU002) found its {told} used before in "
            f"case{'s' if total > 1 else ''} {named}"))
    for case, later in since.items():
        if case in out:  # (found itself on a receipt paid before it: told so)
            continue
        cases = list(dict.fromkeys(k for k, _ in later))
        receipts = list(dict.fromkeys(r for _, rs in later for r in rs))
        out[case] = (None, (
            f"; its receipt{'s' if len(receipts) > 1 else ''} {', '.join(receipts)} "
            f"refunded since in case{'s' if len(cases) > 1 else ''} "
            + ", ".join(cases[:5]) + (f" and {counted(len(cases) - 5, 'other case', spec=',')}"
                                      if len(cases) > 5 else "")
            + ", found by receipt-reused (DU002): to be settled with that refund before "
            "this approval is paid"))
    return out


def _waived_in_policy(facts: CaseFacts, code: str) -> Callable[[Finding], bool]:
    """Whether a finding of rule `code` is matched by a waiver of the policy in force at
    the clock (as the engine applies them, after the rules: `finish_findings`)."""
    from audit.rules.engine import WaiverStatus, waivers_of
    from audit.rules.registry import default_rules

    rules = default_rules()
    today = facts.as_of.date()
    live = [status for w in facts.policy.waivers if not w.expires < today
            for status in [WaiverStatus(w, codes=frozenset(
                r.code for r in rules.resolve(w.rule)))] if code in status.codes]
    if not live:
        return lambda _finding: False
    matching = waivers_of(live)
    return lambda finding: any(status.matches(finding) for status in matching(finding))


def unpaid_past_grace(facts: CaseFacts, codes: np.ndarray) -> np.ndarray:
    """Per case at positions `codes`: approved (an approval in force at the clock,
    `approval_in_force`), no successful payout in the case at all, and the grace after the
    last approval in force (`last_in_force`) over at the as-of time: where this rule fires
    (stage-overdue asks, to leave that wait to it)."""
    where = last_in_force(facts)
    unpaid, over = _unpaid_and_over(facts, where, facts.col("payout_eid").isna().to_numpy(
        dtype=bool))
    fires: np.ndarray = (unpaid & over)[codes]
    return fires


def not_due_cases(facts: CaseFacts) -> list[object]:
    """The ids of the cases the rule did not judge yet at the clock, their grace not over
    then: approved (an approval in force at the clock), no successful payout, and the grace
    after the last approval in force not over at the as-of time. findings.json's
    `not_due_cases.EV003`: `diff` tells a later run's finding of such a case, its grace run
    out since, from one this run judged and did not find. (The rule's check keeps them in
    `CaseFacts.not_due` as it judges: this computes them where it did not run on these
    facts.)"""
    where = last_in_force(facts)
    unpaid, over = _unpaid_and_over(facts, where, facts.col("payout_eid").isna().to_numpy(
        dtype=bool))
    found: list[object] = facts.case_ids[unpaid & ~over].tolist()
    return found


def _unpaid_and_over(facts: CaseFacts, where: np.ndarray, no_payout: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per case: approved (`where`, the sorted position of its last approval in force, -1
    where none), with no successful payout (`no_payout`); and the grace after that approval
    over at the as-of time (false where not approved)."""
    unpaid = (where >= 0) & no_payout
    approved = pd.Series(pd.DatetimeIndex(facts.column(C.TIMESTAMP).take(
        np.maximum(where, 0))).where(where >= 0))
    over = (elapsed(facts.as_of, approved) > facts.policy.approved_not_paid_grace).to_numpy(
        dtype=bool)
    return unpaid, over & unpaid
