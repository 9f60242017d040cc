from __future__ import annotations

import numpy as np
import pandas as pd

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class StageOverdue(Rule):
    """What it checks:
    A stage of the refund took longer than its limit: for each stage in the policy, the time
    from its start point (e.g. the request) to its end point (e.g. the first approval), where
    both happened.

    Why it matters:
    Stage limits show where refunds wait, before the overall SLA is at risk, and who owns the
    delay.

    Example:
    Violating (payout stage 7 days): last approval on 2026-07-02, payout on 2026-07-10.
    Compliant: payout on 2026-07-06.

    Options:
    `stages`: a list of `{name, from, to, limit}` with points request, evidence,
    first-approval, last-approval, payout, close.

    References:
    Internal SLA and OLA definitions of the refund SOP.
    """

    code = "SL002"
    name = "stage-overdue"
    severity = "low"
    summary = "A stage took longer than its limit"
    options = (Option("stages", "name, from, to and limit of each stage", "stages"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("request_eid", "payout_eid", "request_time", "currency")
        stages = []
        late_anywhere = np.zeros(len(c), dtype=bool)
        for stage in facts.policy.stages:
            took = facts.point(stage.end) - facts.point(stage.start)
            over = (took.notna() & (took > stage.limit)).to_numpy(dtype=bool)
            stages.append((stage, took, over))
            late_anywhere |= over
        hits = c[late_anywhere].copy()
        late = pd.Series("", index=hits.index, dtype=object)
        for stage, took, over in stages:
            mine = over[late_anywhere]
            late[mine] = late[mine] + [f"{stage.name} took {t} (limit {stage.limit}); "
                                       for t in took[late_anywhere][mine]]
        hits["late"] = late.str.rstrip("; ")
        hits = facts.with_lists(hits, "approval_eids")
        return self.findings(
            facts, hits, events=("request_eid", "approval_eids", "payout_eid"),
            when="request_time", evidence=("late",), message="{late}")
