from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit.canonical import elapsed
from audit.findings import Finding
from audit.policy import STAGE_POINTS, Stage
from audit.rules.base import Option, Rule
from audit.rules.facts import POINT_COLUMNS, CaseFacts


class StageOverdue(Rule):
    """What it checks:
    A stage of the refund took longer than its limit: for each stage in the policy, the time
    from its start point (e.g. the request) to its end point (e.g. the first approval), where
    both happened; or a stage that started is still open at the audit's as-of time and its
    limit has run out (the case neither closed nor past the stage's end point, and, for a
    stage ending before the close, not rejected and, where `sla-breach` runs, a case of one
    request within the SLA: past it, the open case is an `sla-breach`; a stage ending at the
    payout, where `approved-not-paid` runs, not approved longer ago than its grace: that
    rule tells the wait).

    Why it matters:
    Stage limits show where refunds wait, before the overall SLA is at risk, and who owns the
    delay.

    Example:
    Violating (payout stage 7 days): last approval on 2026-07-02, payout on 2026-07-10.
    Violating (approval stage 10 days): request on 2026-07-01, no approval, no rejection and
    the ticket still open at the as-of date 2026-07-13 (dated when the limit ran out,
    2026-07-11).
    Compliant: payout on 2026-07-06; or a request rejected, or paid without an approval
    (`missing-approval`), before its approval stage ended.

    Options:
    `stages`: a list of `{name, from, to, limit}` with points request, evidence,
    first-approval, last-approval, payout, close, in this order (a stage's `to` is a later
    point than its `from`; the policy is refused otherwise). A limit is elapsed time, as
    `sla-breach` measures it (a day is 24 hours, across a DST change too); a stage still
    open is measured to `as_of` in the policy or `--as-of`. A finding's time is when its
    late stage that ended first ended (for a stage still open, when its limit ran out); its
    evidence lists each late stage with its points, times and limit (a stage still open
    has no end and the as-of time as `open_at`). It names the request, the approvals and
    the payout, and the evidence or close event a late stage starts or ends at.

    References:
    Internal SLA and OLA definitions of the refund SOP.
    """

    code = "SL002"
    name = "stage-overdue"
    severity = "low"
    summary = "A stage took longer than its limit"
    options = (Option("stages", "name, from, to and limit of each stage", "stages"),
               Option("as-of", "the audit's clock (or check --as-of)", "as_of"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("request_eid", "payout_eid", "request_time", "currency")
        stages = []
        late_anywhere = np.zeros(len(c), dtype=bool)
        for stage in facts.policy.stages:
            started, ended = facts.point(stage.start), facts.point(stage.end)
            took = elapsed(ended, started)
            over = (took.notna() & (took > stage.limit)).to_numpy(dtype=bool)
            running = _running(facts, stage, started, ended)
            stages.append((stage, started, ended, took, over | running, running))
            late_anywhere |= over | running
        hits = c[late_anywhere].copy()
        n = len(hits)
        texts: list[list[str]] = [[] for _ in range(n)]
        details: list[list[dict[str, str | None]]] = [[] for _ in range(n)]
        when = pd.Series(pd.NaT, index=hits.index, dtype=hits["request_time"].dtype)
        as_of = facts.as_of.isoformat()
        for stage, started, ended, took, late, running in stages:
            mine = late[late_anywhere]
            still = running[late_anywhere][mine].tolist()
            limit = str(pd.Timedelta(stage.limit))  # (as the durations read: 7 days 00:00:00)
            at = np.flatnonzero(mine)
            begun_at = started[late_anywhere][mine]
            waited = elapsed(facts.as_of, begun_at)
            for k, begun, done, spent, open_for, is_open in zip(
                    at.tolist(), begun_at, ended[late_anywhere][mine],
                    took[late_anywhere][mine], waited, still, strict=True):
                if is_open:  # started, not ended, and over its limit at the as-of time
                    texts[k].append(f"{stage.name} still open after {open_for} at {as_of} "
                                    f"(limit {limit})")
                    details[k].append({"stage": stage.name, "from": stage.start,
                                       "to": stage.end, "started": begun.isoformat(),
                                       "ended": None, "open_at": as_of,
                                       "took": str(open_for), "limit": limit})
                    continue
                texts[k].append(f"{stage.name} took {spent} (limit {limit})")
                details[k].append({"stage": stage.name, "from": stage.start,
                                   "to": stage.end, "started": begun.isoformat(),
                                   "ended": done.isoformat(), "took": str(spent),
                                   "limit": limit})
            # The finding's time: when its first late stage (in time) ended, or for a stage
            # still open, when its limit ran out.
            # (Added to the open stages' starts only: each is over its limit before the as-of
            # time, while another start plus a limit of up to 100 years may pass 2262.)
            done_at = ended[late_anywhere].copy()
            still_open = running[late_anywhere]
            done_at[still_open] = started[late_anywhere][still_open] + stage.limit
            earlier = when.isna().to_numpy() | (done_at < when).fillna(False).to_numpy()
            first = mine & earlier
            when[first] = done_at[first].to_numpy()
        # The evidence and close events a late stage starts or ends at (the request, the
        # approvals and the payout are named in every finding).
        for point in ("evidence", "close"):
            touched = np.zeros(len(c), dtype=bool)
            for stage, *_, late, _running_too in stages:
                if point in (stage.start, stage.end):
                    touched |= late
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


def _runs(facts: CaseFacts, code: str) -> bool:
    """Whether the policy selects the rule `code` (sla-breach, SL001, whose open findings
    replace this rule's on a case past the SLA; approved-not-paid, EV003, whose findings
    tell an open payout stage's wait)."""
    from audit.rules.registry import default_rules

    return any(rule.code == code for rule in
               default_rules().select(facts.policy.select, facts.policy.ignore))


def _running(facts: CaseFacts, stage: Stage, started: pd.Series, ended: pd.Series
             ) -> npt.NDArray[np.bool_]:
    """Per case: `stage` started, has not ended, and its limit ran out by the as-of time,
    while the case still waits on it: no later point of the process reached (a case that
    went past the stage without its end, e.g. paid without an approval, is other rules'
    business), not closed, and, for a stage that ends before the close, not rejected (a
    rejection that no later approval overturned) and its request still within the SLA.
    Only the cases over the limit are read."""
    over = started.notna() & ended.isna() & (elapsed(facts.as_of, started) > stage.limit)
    if stage.end != "close" and _runs(facts, "SL001"):
        # Past the SLA, a case of one request still waiting before its payout is an open
        # sla-breach, which replaces this finding: not built only to be dropped. (Not where
        # sla-breach does not run, nor for a case of several requests, which sla-breach
        # may time from a later one: there the precedence decides, on what it found.)
        over &= ~((elapsed(facts.as_of, facts.col("request_time")) > facts.policy.sla)
                  & (facts.col("requests_n") <= 1))
    if stage.end == "payout" and _runs(facts, "EV003"):
        # Approved, not paid past the grace: approved-not-paid tells this wait (the stage's
        # other findings, stages that ended late, stand).
        approved = facts.col("approvals_last_time")
        over &= ~(approved.notna() & (elapsed(facts.as_of, approved)
                                      > facts.policy.approved_not_paid_grace))
    waiting: npt.NDArray[np.bool_] = np.array(over, dtype=bool)
    if not waiting.any():
        return waiting
    codes = np.flatnonzero(waiting)
    later = [POINT_COLUMNS[p] for p in STAGE_POINTS[STAGE_POINTS.index(stage.end) + 1:]]
    frame = facts.at_cases(codes, *later, "rejections_last_time", "approvals_last_time")
    gone = np.zeros(len(codes), dtype=bool)
    if later:
        gone |= frame[later].notna().any(axis=1).to_numpy(dtype=bool)
    if stage.end != "close":
        rejected, approved = frame["rejections_last_time"], frame["approvals_last_time"]
        gone |= (rejected.notna() & (approved.isna() | (rejected >= approved))).fillna(
            False).to_numpy(dtype=bool)
    waiting[codes[gone]] = False
    return waiting
