from __future__ import annotations

import numpy as np
import pandas as pd

from audit.canonical import elapsed
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
    first-approval, last-approval, payout, close, in this order (a stage's `to` is a later
    point than its `from`; the policy is refused otherwise). A limit is elapsed time, as
    `sla-breach` measures it (a day is 24 hours, across a DST change too). A finding's time
    is when its
    late stage that ended first ended; its evidence lists each late stage with its points,
    times and limit. It names the request, the approvals and the payout, and the evidence or close
    event a late stage starts or ends at.

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
            started, ended = facts.point(stage.start), facts.point(stage.end)
            took = elapsed(ended, started)
            over = (took.notna() & (took > stage.limit)).to_numpy(dtype=bool)
            stages.append((stage, started, ended, took, over))
            late_anywhere |= over
        hits = c[late_anywhere].copy()
        n = len(hits)
        texts: list[list[str]] = [[] for _ in range(n)]
        details: list[list[dict[str, str]]] = [[] for _ in range(n)]
        when = pd.Series(pd.NaT, index=hits.index, dtype=hits["request_time"].dtype)
        for stage, started, ended, took, over in stages:
            mine = over[late_anywhere]
            limit = str(pd.Timedelta(stage.limit))  # (as the durations read: 7 days 00:00:00)
            at = np.flatnonzero(mine)
            for k, begun, done, spent in zip(at.tolist(), started[late_anywhere][mine],
                                             ended[late_anywhere][mine],
                                             took[late_anywhere][mine], strict=True):
                texts[k].append(f"{stage.name} took {spent} (limit {limit})")
                details[k].append({"stage": stage.name, "from": stage.start,
                                   "to": stage.end, "started": begun.isoformat(),
                                   "ended": done.isoformat(), "took": str(spent),
                                   "limit": limit})
            # The finding's time: when its first late stage (in time) ended.
            done_at = ended[late_anywhere]
            earlier = when.isna().to_numpy() | (done_at < when).fillna(False).to_numpy()
            first = mine & earlier
            when[first] = done_at[first].to_numpy()
        # The evidence and close events a late stage starts or ends at (the request, the
        # approvals and the payout are named in every finding).
        for point in ("evidence", "close"):
            touched = np.zeros(len(c), dtype=bool)
            for stage, *_, over in stages:
                if point in (stage.start, stage.end):
                    touched |= over
            eids = facts.col(f"{point}_eid").astype(object) if touched.any() else None
            hits[f"{point}_eid"] = None if eids is None else eids[late_anywhere].where(
                touched[late_anywhere], None).to_numpy(dtype=object)
        hits["late"] = ["; ".join(t) for t in texts]
        hits["stages"] = pd.Series(details, index=hits.index, dtype=object)
        hits["ended"] = when
        hits = facts.with_lists(hits, "approval_eids")
        return self.findings(
            facts, hits, events=("request_eid", "evidence_eid", "approval_eids", "payout_eid",
                                 "close_eid"),
            when="ended", evidence=("late", "stages"), message="{late}")
