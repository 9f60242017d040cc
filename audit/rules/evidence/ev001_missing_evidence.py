from __future__ import annotations

import numpy as np

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class MissingEvidence(Rule):
    """What it checks:
    A refund case with a ticket lacks an evidence item its channel requires: no event of the
    case has a value in that `evidence:*` column.

    Why it matters:
    The decision to refund must rest on evidence an auditor can re-perform: for e-commerce the
    order and the payment voucher, for subscriptions the renewal date and the usage, for
    offline stores the receipt and a photo.

    Example:
    Violating (offline): `Collect evidence` with `evidence:receipt` = receipt-1.jpg and no
    `evidence:photo` anywhere in the case.
    Compliant: both columns filled on some event of the case.

    Options:
    `evidence.<channel>`: the required `evidence:*` columns per channel. Cases without a
    channel, or of a channel with no requirement, are not judged; nor is a ticket with
    neither a request nor a payout. A case paid without a request is judged (its finding
    names the payout).

    References:
    ISA 500 (audit evidence); the refund SOP's evidence step.
    """

    code = "EV001"
    name = "missing-evidence"
    severity = "medium"
    summary = "Required evidence for the channel is missing"
    options = (Option("required evidence", "evidence:* columns per channel", "evidence"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        required = facts.policy.required_evidence
        columns = sorted({c for cols in required.values() for c in cols})
        present = {c: (facts.any_per_case(~np.asarray(facts.column(c).isna(), dtype=bool))
                       if facts.has(c) else np.zeros(facts.n_cases, dtype=bool))
                   for c in columns}
        c = facts.table("has_ticket", "request_eid", "channel", "request_time", "payouts_sum",
                        "currency", "payout_eid", "payout_time")
        # The request, else (paid without one) the first payout: what the finding names.
        c["anchor_eid"] = c["request_eid"].where(c["request_eid"].notna(), c["payout_eid"])
        c["anchor_time"] = c["request_time"].where(c["request_time"].notna(), c["payout_time"])
        judged = (c["has_ticket"] & c["anchor_eid"].notna()).to_numpy(dtype=bool)
        lacks: list[tuple[str, np.ndarray]] = []
        for channel, needed in required.items():
            in_channel = judged & c["channel"].eq(channel).fillna(False).to_numpy(dtype=bool)
            for column in needed:
                lacks.append((column.removeprefix(C.EVIDENCE_PREFIX),
                              in_channel & ~present[column]))
        any_lack = np.zeros(len(c), dtype=bool)
        for _, lacking in lacks:
            any_lack |= lacking
        hits = c[any_lack].copy()
        names: list[list[str]] = [[] for _ in range(len(hits))]
        for name, lacking in lacks:
            for i in np.flatnonzero(lacking[any_lack]):
                names[i].append(name)
        hits["missing"] = [", ".join(n) for n in names]
        return self.findings(
            facts, hits, events=("anchor_eid",), when="anchor_time", amount="payouts_sum",
            evidence=("channel", "missing"),
            message="{channel} refund without required evidence: {missing}")
