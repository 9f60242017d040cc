from __future__ import annotations

import pandas as pd

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
    channel, or of a channel with no requirement, are not judged.

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
        ev = facts.events
        columns = sorted({c for cols in required.values() for c in cols})
        present = pd.DataFrame(
            {c: (ev[c].notna().groupby(ev[C.CASE]).any() if c in ev.columns
                 else pd.Series(False, index=facts.cases.index)) for c in columns},
            index=facts.cases.index).fillna(False)
        c = facts.cases
        judged = c["has_ticket"] & c["request_eid"].notna()
        missing: pd.Series = pd.Series([[] for _ in range(len(c))], index=c.index, dtype=object)
        for channel, needed in required.items():
            in_channel = judged & c["channel"].eq(channel).fillna(False).astype(bool)
            for column in needed:
                lacking = in_channel & ~present[column].astype(bool)
                for case in lacking[lacking].index:
                    missing[case].append(column.removeprefix(C.EVIDENCE_PREFIX))
        hits = c[missing.map(len).gt(0)].copy()
        hits["missing"] = missing[hits.index].map(", ".join)
        return self.findings(
            facts, hits, events=("request_eid",), when="request_time", amount="payouts_sum",
            evidence=("channel", "missing"),
            message="{channel} refund without required evidence: {missing}")
