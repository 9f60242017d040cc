from __future__ import annotations

import numpy as np
import pandas as pd

from audit.evidence_chain import (
    LATE_PURCHASE,
    NO_CHARGE,
    NO_PURCHASE,
    REVERSED,
    unpaid_reason,
)
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class NoPriorPurchase(Rule):
    """What it checks:
    A refund was paid out and the case holds no purchase (captured charge, subscription
    renewal or store sale) before that payout. Decided on the case's evidence chain (what its
    evidence graph holds, read for all cases at once): no charge recorded by a purchase
    before the first payout; the finding's evidence names the
    missing link (`order -> charge` when the order was never paid, `refund -> charge` when the
    refund names no charge, `order -> charge before the payout` when the only purchase
    comes later). A purchase whose payment status is reversed (a PayPal payment charged
    back, or reversed by PayPal) was captured and then taken back: the finding says so
    ("paid 9.33 EUR refunding a purchase that was reversed (charge ... charged back or
    taken back by the payment provider): the buyer had the money back by the reversal,
    and the refund pays it out again"), not that nothing was bought, also where a card was
    declined for the order before it (the reversed charge is told, not the first attempt).
    A charge that was never captured is told by its status ("its charge ... was not
    captured (its payment status is failed)", "... is not captured yet (its payment status
    is pending)").

    Why it matters:
    A refund of something never bought is money out with nothing in: either fraud or a broken
    link between the ticket and the payment system that the auditor must resolve.

    Example:
    Violating: `Receive refund request` → `Approve refund` → `Execute payout`, no
    `Capture payment`.
    Compliant: `Capture payment` precedes the payout in the case.

    Options:
    Labels mapped to the control `purchase` in `activities`. A log holding no purchase at
    all (a ticketing export imported without the payment system's charges) has every paid
    case found: `check` warns of it, and of what to do (import the charges, or leave the
    rule out).

    References:
    ISA 500 (audit evidence: occurrence).
    """

    code = "EV007"
    name = "no-prior-purchase"
    severity = "high"
    logic_version = 1
    summary = "Refund without a purchase before it"
    options = (Option("purchase labels", "labels mapped to purchase", "activities"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payout_eid", "purchase_eid", "purchase_time", "payout_time")
        # Candidates: a payout and no purchase before the first payout by the case's events;
        # only their evidence chains are read (the chain, not the mask, decides), and only
        # their other columns taken (not a copy of every paid case's).
        early = c["purchase_eid"].notna() & (c["purchase_time"] <= c["payout_time"])
        chosen = c["payout_eid"].notna().to_numpy(dtype=bool) & ~early.fillna(False).to_numpy(
            dtype=bool)
        candidates = facts.at_cases(np.flatnonzero(chosen), "payout_eid", "purchase_eid",
                                    "purchase_time", "payout_time", "payouts_sum", "currency",
                                    "payout_order", "payout_charge")
        chain = facts.evidence_chain(candidates.index).reindex(candidates.index.astype(str))
        links = missing_purchase_links(chain, candidates["payout_time"])
        hits = candidates[links["missing_link"].notna().to_numpy(dtype=bool)].copy()
        hits["missing_link"] = links["missing_link"].dropna().tolist()
        hits["missing_reason"] = links["missing_reason"].dropna().tolist()
        # What the case lacks, told: a purchase reversed after its capture (charged back)
        # is no purchase never made; before, "with no purchase before the payout" for it
        # too, the evidence alone saying the charge was reversed.
        reversed_ = links["reversed_charge"][links["missing_link"].notna()].tolist()
        hits["lacks"] = [
            "with no purchase before the payout" if charge is None else
            f"refunding a purchase that was reversed (charge {charge} charged back or taken "
            "back by the payment provider): the buyer had the money back by the reversal, "
            "and the refund pays it out again" for charge in reversed_]
        # What left, told as missing-approval and orphan-payout tell it: a payout stating no
        # amount beside others is counted, one in another currency than the case's named;
        # before, the case's sum and currency alone ("paid (not recorded) (not recorded)").
        hits["paid"] = facts.paid_texts(facts.case_ids.get_indexer(hits.index).astype(
            np.int64))
        return self.findings(
            facts, hits, events=("payout_eid",), when="payout_time", amount="payouts_sum",
            evidence=("missing_link", "missing_reason", "payout_order", "payout_charge"),
            message="paid {paid} {lacks}")


def missing_purchase_links(chain: pd.DataFrame, payout_time: pd.Series) -> pd.DataFrame:
    """Per case of `chain` (audit.evidence_chain.chain_links, in the order of `payout_time`,
    each case's first successful payout): the missing link (`missing_link`) and its reason
    (`missing_reason`) where no charge was recorded by a purchase at or before the payout,
    None where one was. The link is the graph's: `order -> charge before the payout` where
    the only recorded charges come later, else the missing `paid by` link of its last
    unpaid order, else a refund's missing `refunds` link, else `refund -> charge`; and
    `reversed_charge`, the unpaid order's charge where the link is its missing `paid by`
    and that charge was reversed (its payment status), else None."""
    purchased = pd.Series(chain["purchased"].array, index=payout_time.index)
    before = (purchased <= payout_time).fillna(False).to_numpy(dtype=bool)
    late = purchased.notna().to_numpy(dtype=bool)
    order = chain["unpaid_order"].notna().to_numpy(dtype=bool)
    uncharged = chain["uncharged_refund"].fillna(False).to_numpy(dtype=bool)
    declined = chain["declined_charge"].tolist()
    statuses = chain["declined_status"].tolist()
    link: list[str | None] = []
    reason: list[str | None] = []
    reversed_: list[str | None] = []
    for b, lt, o, u, d, s in zip(before.tolist(), late.tolist(), order.tolist(),
                                 uncharged.tolist(), declined, statuses, strict=True):
        charge = None if pd.isna(d) else str(d)
        status = None if pd.isna(s) else str(s)
        found = (None if b else ("order -> charge before the payout", LATE_PURCHASE) if lt
                 else ("order -> charge", unpaid_reason(charge, status)) if o
                 else ("refund -> charge", NO_CHARGE) if u
                 else ("refund -> charge", NO_PURCHASE))
        link.append(None if found is None else found[0])
        reason.append(None if found is None else found[1])
        reversed_.append(charge if found is not None and not lt and o and status == REVERSED
                         else None)
    return pd.DataFrame({"missing_link": pd.Series(link, index=payout_time.index, dtype=object),
                         "missing_reason": pd.Series(reason, index=payout_time.index,
                                                     dtype=object),
                         "reversed_charge": pd.Series(reversed_, index=payout_time.index,
                                                      dtype=object)})


__all__ = ["NoPriorPurchase", "missing_purchase_links"]
