from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts

if TYPE_CHECKING:  # (networkx: 0.14 s to import, for `rules` too)
    import networkx as nx


class NoPriorPurchase(Rule):
    """What it checks:
    A refund was paid out and the case holds no purchase (captured charge, subscription
    renewal or store sale) before that payout. Decided on the case's evidence graph: no
    charge recorded by a purchase before the first payout; the finding's evidence names the
    missing link (`order -> charge` when the order was never paid, `refund -> charge` when the
    refund names no charge, `order -> charge before the payout` when the only purchase
    comes later).

    Why it matters:
    A refund of something never bought is money out with nothing in: either fraud or a broken
    link between the ticket and the payment system that the auditor must resolve.

    Example:
    Violating: `Receive refund request` → `Approve refund` → `Execute payout`, no
    `Capture payment`.
    Compliant: `Capture payment` precedes the payout in the case.

    Options:
    Labels mapped to the control `purchase` in `activities`.

    References:
    ISA 500 (audit evidence: occurrence).
    """

    code = "EV007"
    name = "no-prior-purchase"
    severity = "high"
    summary = "Refund without a purchase before it"
    options = (Option("purchase labels", "labels mapped to purchase", "activities"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payout_eid", "purchase_eid", "purchase_time", "payout_time")
        # Candidates: a payout and no purchase before the first payout by the case's events;
        # only their evidence graphs are built (the graph, not the mask, decides), and only
        # their other columns taken (not a copy of every paid case's).
        early = c["purchase_eid"].notna() & (c["purchase_time"] <= c["payout_time"])
        chosen = c["payout_eid"].notna().to_numpy(dtype=bool) & ~early.fillna(False).to_numpy(
            dtype=bool)
        candidates = facts.at_cases(np.flatnonzero(chosen), "payout_eid", "purchase_eid",
                                    "purchase_time", "payout_time", "payouts_sum", "currency",
                                    "payout_order", "payout_charge")
        graphs = facts.evidence_graphs(candidates.index)
        links: dict[str, tuple[str, str]] = {}
        for case, payout_time in candidates["payout_time"].items():
            link = no_prior_purchase(graphs[str(case)], pd.Timestamp(payout_time), facts)
            if link is not None:
                links[str(case)] = link
        hits = candidates[candidates.index.astype(str).isin(list(links))].copy()
        hits["missing_link"] = [links[str(k)][0] for k in hits.index]
        hits["missing_reason"] = [links[str(k)][1] for k in hits.index]
        return self.findings(
            facts, hits, events=("payout_eid",), when="payout_time", amount="payouts_sum",
            evidence=("missing_link", "missing_reason", "payout_order", "payout_charge"),
            message="paid {payouts_sum:.2f} {currency} with no purchase before the payout")


def no_prior_purchase(graph: nx.DiGraph, payout_time: pd.Timestamp,
                      facts: CaseFacts) -> tuple[str, str] | None:
    """(missing link, reason) when no charge of the graph was recorded by a purchase at or
    before `payout_time`; None when one was."""
    recorded = [eid for _, d in graph.nodes(data=True)
                if d["kind"] == "charge" and d.get("recorded") and not d["missing"]
                for eid in d["event_ids"]]
    times = facts.known_times(recorded)
    if any(t <= payout_time for t in times):
        return None
    if len(times):
        return ("order -> charge before the payout",
                "the only recorded charge (purchase) comes after the payout")
    missing = {d["relation"]: (graph.nodes[u]["kind"], graph.nodes[v]["kind"],
                               str(d.get("reason", "")))
               for u, v, d in graph.edges(data=True) if d.get("missing")}
    for relation in ("paid by", "refunds"):
        if relation in missing:
            source, target, reason = missing[relation]
            return f"{source} -> {target}", reason
    return "refund -> charge", "no recorded charge (purchase) in the case"

__all__ = ["NoPriorPurchase", "no_prior_purchase"]
