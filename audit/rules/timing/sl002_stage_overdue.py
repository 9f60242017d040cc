from __future__ import annotations

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
        c = facts.cases.copy()
        late = pd.Series("", index=c.index, dtype=object)
        for stage in facts.policy.stages:
            took = facts.point(stage.end) - facts.point(stage.start)
            over = took.notna() & (took > stage.limit)
            late[over] = late[over] + [f"{stage.name} took {t} (limit {stage.limit}); "
                                       for t in took[over]]
        c["late"] = late.str.rstrip("; ")
        hits = c[c["late"].ne("")]
        return self.findings(
            facts, hits, events=("request_eid", "approval_eids", "payout_eid"),
            when="request_time", evidence=("late",), message="{late}")
