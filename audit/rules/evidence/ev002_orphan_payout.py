from __future__ import annotations

import numpy as np

from audit.evidence_chain import NO_TICKET
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class OrphanPayout(Rule):
    """What it checks:
    A successful payout that belongs to no ticket: the case holds payment events only, no
    request, approval or other ticket event, and no `ticket:id`. Decided on the case's
    evidence chain (what its evidence graph holds, read for all cases at once): the payout's
    refund has a missing `executes` link to a ticket and no ticket of the case claims it; the
    finding's evidence names the missing link (`refund -> ticket`).

    Why it matters:
    Every refund must trace back to a customer's request. A payout nobody asked for is the
    plainest sign of money leaving outside the process.

    Example:
    Violating: `Capture payment` → `Execute payout`, both from the payment system, no ticket.
    Compliant: the payout's case also holds `Receive refund request` (or its ticket id).
    Precedence: this finding stands alone: the case gets no other approval, duty, evidence or
    timing finding.

    Options:
    Labels from `activities`; correlation of payouts to tickets is done at import. The
    amount at risk is what the successful payouts paid in the case's currency: the first
    successful payout's, or, where it states none, the first its case states (a purchase's,
    even a failed payout's); payouts stating no currency count as in it. Payouts in another
    currency are told in the message only ("payout of 30.00 EUR and 40.00 USD"), not in the
    amount at risk: which currency counts follows which payout came first. Payouts stating
    no amount add nothing and are counted in the message; where none states one, the amount
    at risk is unknown (empty), and `payout-without-amount` reports them. A case stating no
    currency at all has its amount counted under `(no currency)`.

    References:
    ISA 500 (audit evidence: occurrence); COSO Internal Control: information and
    communication.
    """

    code = "EV002"
    name = "orphan-payout"
    severity = "critical"
    logic_version = 1
    summary = "Payout without a ticket"
    options = (Option("labels", "labels mapped to the controls", "activities"),)
    suppresses = ("missing-approval", "approval-after-payout", "missing-second-approval",
                  "unauthorized-approver", "payout-exceeds-approved", "self-approval",
                  "approver-pays", "same-approver-twice", "missing-evidence", "amount-mismatch",
                  "refund-exceeds-charge", "instrument-mismatch", "no-prior-purchase",
                  "approved-not-paid", "sla-breach", "stage-overdue", "unauthorized-performer")

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payout_eid", "has_ticket", "payout_time", "payouts_sum",
                        "payout_amount", "payout_currency", "currency", "payout_charge")
        # Candidates: a successful payout and no ticket in the case's events. Only their
        # evidence chains are read (the chain, not the mask, decides).
        paid = facts.with_lists(c[c["payout_eid"].notna() & ~c["has_ticket"].astype(bool)],
                                "payout_eids")
        chain = facts.evidence_chain(paid.index).reindex(paid.index.astype(str))
        orphan = (~chain["ticket"].fillna(True).astype(bool)
                  & chain["payout_refund"].fillna(False).astype(bool)).to_numpy(dtype=bool)
        hits = paid[orphan].copy()
        hits["missing_link"] = "refund -> ticket"
        hits["missing_reason"] = NO_TICKET
        hits["paid"] = facts.paid_texts(facts.case_ids.get_indexer(hits.index).astype(
            np.int64))
        return self.findings(
            facts, hits, events=("payout_eids",), when="payout_time", amount="payouts_sum",
            evidence=("missing_link", "missing_reason", "payout_amount", "payout_currency",
                      "currency", "payout_charge"),
            message="payout of {paid} with no ticket")


__all__ = ["OrphanPayout"]
