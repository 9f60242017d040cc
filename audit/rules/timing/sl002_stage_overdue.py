from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit import canonical as C
from audit.canonical import elapsed
from audit.findings import Finding
from audit.policy import STAGE_POINTS, Stage
from audit.rules.base import Option, Rule
from audit.rules.facts import POINT_COLUMNS, CaseFacts, Episodes, Ints
from audit.words import duration, durations, iso_duration, moment


class StageOverdue(Rule):
    """What it checks:
    A stage of the refund took longer than its limit: for each stage in the policy, the time
    from its start point (e.g. the request) to its end point (e.g. the first approval), where
    both happened; or a stage that started is still open at the audit's as-of time and its
    limit has run out (the case neither closed nor past the stage's end point, and, for a
    stage ending before the close, not rejected and, where `sla-breach` runs, its request
    within the SLA: past it, the open case is an `sla-breach`; a stage ending at the
    payout, where `approved-not-paid` runs, not approved longer ago than its grace: that
    rule tells the wait). The points are read per refund episode, as `sla-breach` times
    them: an episode opens at a case's first request and at the first request after a close
    or a standing rejection, and holds the events from its request to the next episode's;
    its points are its request and its first evidence, approvals, successful payout and
    close. So a payout, an approval or a close before the request is no point of it, a
    reopened case's stages run from the request that reopened it, and only a case's last
    episode can have a stage still open. Each episode with a late stage is a finding.

    Why it matters:
    Stage limits show where refunds wait, before the overall SLA is at risk, and who owns the
    delay.

    Example:
    Violating (payout stage 7 days): last approval on 2026-07-02, payout on 2026-07-10
    ("payout took 8d (limit 7d)").
    Violating (approval stage 10 days): request on 2026-07-01, no approval, no rejection and
    the ticket still open at the as-of date 2026-07-13 (dated when the limit ran out,
    2026-07-11).
    Compliant: payout on 2026-07-06; or a request rejected, or paid without an approval
    (`missing-approval`), before its approval stage ended.
    Compliant: request on 2026-07-01, ticket closed on 2026-07-02, asked again on 2026-08-01
    and approved on 2026-08-03 (the approval stage runs from the second request).

    Options:
    `stages`: a list of `{name, from, to, limit}` with points request, evidence,
    first-approval, last-approval, payout, close, in this order (a stage's `to` is a later
    point than its `from`; the policy is refused otherwise). A limit is elapsed time, as
    `sla-breach` measures it (a day is 24 hours, across a DST change too); a stage still
    open is measured to `as_of` in the policy or `--as-of` (`check` judges the log as it
    stood then: an event dated after the clock ends no stage). A finding's time is when its
    late stage that ended first ended (for a stage still open, when its limit ran out); its
    evidence lists each late stage with its points, times and limit (a stage still open
    has no end and the as-of time as `open_at`; `took` and `limit` as ISO 8601 durations,
    "P7DT6H", days of 24 hours), its message tells them as "7d 6h".
    It names the episode's request, approvals and payout, and the evidence or close event
    a late stage starts or ends at.

    References:
    Internal SLA and OLA definitions of the refund SOP.
    """

    code = "SL002"
    name = "stage-overdue"
    severity = "low"
    logic_version = 1
    per_request = True
    summary = "A stage took longer than its limit"
    options = (Option("stages", "name, from, to and limit of each stage", "stages"),
               Option("as-of", "the audit's clock (or check --as-of)", "as_of"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("request_eid", "payout_eid", "request_time", "currency")
        stages = facts.policy.stages
        # The cases of one episode from their first request (`CaseFacts.episodes`), whose
        # points are their first of each, are read from the per-case columns; the cases of
        # several requests, or with a point or a rejection before their request, episode by
        # episode, as sla-breach reads them.
        used = {p for stage in stages for p in (stage.start, stage.end)} - {"request"}
        several = np.array(facts.col("requests_n") > 1, dtype=bool)
        for before in sorted(used):
            several |= (facts.point(before) < c["request_time"]).fillna(False).to_numpy(
                dtype=bool)
        rejected = np.flatnonzero(facts.col("rejected").to_numpy(dtype=bool))
        if len(rejected):  # (the last rejection's time read for the rejected cases only)
            last = facts.at_cases(rejected, "rejections_last_time")["rejections_last_time"]
            several[rejected] |= (last < c["request_time"].iloc[rejected]).fillna(
                False).to_numpy(dtype=bool)
        points = {p: facts.point(p) for p in used}
        points["request"] = c["request_time"]
        hits = _late(facts, c, points, several, None)
        codes = np.flatnonzero(several)
        if len(codes):
            more = _late(facts, *_episode_rows(facts, codes, used))
            if len(more):
                hits = pd.concat([hits, more])
                hits = hits.iloc[np.argsort(hits["at"].to_numpy(), kind="stable")]
        return self.findings(
            facts, hits, events=("request_eid", "evidence_eid", "approval_eids", "payout_eid",
                                 "close_eid"),
            when="ended", evidence=("late", "stages"), message="{late_told}")


def _episode_rows(facts: CaseFacts, codes: Ints, used: set[str]
                  ) -> tuple[pd.DataFrame, dict[str, pd.Series], npt.NDArray[np.bool_],
                             Episodes]:
    """The episodes of the cases at positions `codes`, a row each (indexed by case id, in
    the order of the cases and of their episodes): their request, payout, evidence and
    close events, their approvals, and the time of each stage point of theirs."""
    found = facts.episodes(codes)
    rows = facts.at_cases(found.case, "currency")
    at = {"request": found.request, "payout": found.payout, "evidence": found.evidence,
          "close": found.close, "first-approval": found.approval_first,
          "last-approval": found.approval_last}
    points: dict[str, pd.Series] = {}
    for point in {"request", "payout", "evidence", "close"} | used:
        where = at[point]
        taken = facts.frame(np.maximum(where, 0), (C.EVENT_ID, C.TIMESTAMP))
        points[point] = pd.Series(taken[C.TIMESTAMP].where(where >= 0).array,
                                  index=rows.index)
        if point in ("request", "payout", "evidence", "close"):
            rows[f"{point}_eid"] = taken[C.EVENT_ID].where(where >= 0, None).to_numpy(
                dtype=object)
    rows["request_time"] = points["request"].array
    ids = facts.frame(found.approvals, (C.EVENT_ID,))[C.EVENT_ID].to_numpy(dtype=object)
    # (One list per episode with approvals, NaN where none, as `with_lists` gives them;
    # set one by one: the rows' index repeats a case of several episodes.)
    lists = np.full(len(found.case), np.nan, dtype=object)
    starts, ends = facts.runs(found.approvals_episode)
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        lists[int(found.approvals_episode[s])] = ids[s:e].tolist()
    rows["approval_eids"] = lists
    return rows, points, np.zeros(len(rows), dtype=bool), found


def _late(facts: CaseFacts, c: pd.DataFrame, points: dict[str, pd.Series],
          skip: npt.NDArray[np.bool_], found: Episodes | None) -> pd.DataFrame:
    """The rows of `c` (a case or an episode each, its stage points' times in `points`;
    not those flagged in `skip`) with a late stage, each with the text and the details of
    its late stages (`late`, `stages`), when the first of them was over (`ended`), the
    events they start or end at and its approvals; `at`, its case's position. `found`: the
    episodes the rows are (None: the rows are the cases)."""
    stages = []
    late_anywhere = np.zeros(len(c), dtype=bool)
    for stage in facts.policy.stages:
        started, ended = points[stage.start], points[stage.end]
        took = elapsed(ended, started)
        over = (took.notna() & (took > stage.limit)).to_numpy(dtype=bool) & ~skip
        running = _running(facts, stage, started, ended, points, found) & ~skip
        stages.append((stage, started, ended, took, over | running, running))
        late_anywhere |= over | running
    hits = c[late_anywhere].copy()
    n = len(hits)
    texts: list[list[str]] = [[] for _ in range(n)]
    details: list[list[dict[str, str | None]]] = [[] for _ in range(n)]
    when = pd.Series(pd.NaT, index=hits.index, dtype=c["request_time"].dtype)
    as_of = facts.as_of.isoformat()
    as_of_told = moment(facts.as_of)  # (the message's; evidence keeps the ISO text)
    said: dict[int, list[str]] = {}  # (the message's texts of a row with a stage open)
    for stage, started, ended, took, late, running in stages:
        mine = late[late_anywhere]
        still = running[late_anywhere][mine].tolist()
        limit = iso_duration(stage.limit)  # (evidence in ISO 8601: P7D)
        told = duration(stage.limit)  # (messages: 7d)
        at = np.flatnonzero(mine)
        begun_at = started[late_anywhere][mine]
        waited = elapsed(facts.as_of, begun_at)
        spans = took[late_anywhere][mine]
        for k, begun, done, spent, open_for, is_open, spent_text, open_text in zip(
                at.tolist(), begun_at, ended[late_anywhere][mine], spans, waited, still,
                durations(spans), durations(waited), strict=True):
            if is_open:  # started, not ended, and over its limit at the as-of time
                texts[k].append(f"{stage.name} still open after {open_text} at "
                                f"{as_of} (limit {told})")
                said.setdefault(k, texts[k][:-1]).append(
                    f"{stage.name} still open after {open_text} at {as_of_told} "
                    f"(limit {told})")
                details[k].append({"stage": stage.name, "from": stage.start,
                                   "to": stage.end, "started": begun.isoformat(),
                                   "ended": None, "open_at": as_of,
                                   "took": iso_duration(open_for), "limit": limit})
                continue
            texts[k].append(f"{stage.name} took {spent_text} (limit {told})")
            if k in said:
                said[k].append(texts[k][-1])
            details[k].append({"stage": stage.name, "from": stage.start,
                               "to": stage.end, "started": begun.isoformat(),
                               "ended": done.isoformat(), "took": iso_duration(spent),
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
        if found is not None:
            hits[f"{point}_eid"] = c[f"{point}_eid"][late_anywhere].where(
                touched[late_anywhere], None).to_numpy(dtype=object)
            continue
        eids = facts.col(f"{point}_eid").astype(object) if touched.any() else None
        hits[f"{point}_eid"] = None if eids is None else eids[late_anywhere].where(
            touched[late_anywhere], None).to_numpy(dtype=object)
    hits["late"] = ["; ".join(t) for t in texts]
    # The message: the same text, but a still-open stage's as-of time told as the reports
    # show times (the other rows' text itself, no copy).
    hits["late_told"] = ["; ".join(said[k]) if k in said else late
                         for k, late in enumerate(hits["late"].tolist())]
    hits["stages"] = pd.Series(details, index=hits.index, dtype=object)
    hits["ended"] = when
    if found is None:
        hits = facts.with_lists(hits, "approval_eids")
        hits["at"] = np.flatnonzero(late_anywhere)
    else:
        hits["at"] = found.case[late_anywhere]
    return hits


def _running(facts: CaseFacts, stage: Stage, started: pd.Series, ended: pd.Series,
             points: dict[str, pd.Series], found: Episodes | None) -> npt.NDArray[np.bool_]:
    """Per row (a case, or with `found` an episode): `stage` started, has not ended, and
    its limit ran out by the as-of time, while the case still waits on it: the case's last
    episode, no later point of the process reached (a case that went past the stage
    without its end, e.g. paid without an approval, is other rules' business), not closed,
    and, for a stage that ends before the close, not rejected (a rejection that no later
    approval overturned) and its request still within the SLA. Only the rows over the
    limit are read further."""
    over = np.array(started.notna() & ended.isna()
                    & (elapsed(facts.as_of, started) > stage.limit), dtype=bool)
    if found is not None:
        over &= found.last  # (an earlier episode ended: closed or rejected)
    if stage.end != "close" and facts.judges("SL001"):
        # Past the SLA, an episode still waiting before its payout is an open sla-breach,
        # timed from the episode's request, which replaces this finding: not built only
        # to be dropped. (Not where sla-breach does not run.)
        over &= ~(elapsed(facts.as_of, points["request"]) > facts.policy.sla).to_numpy(
            dtype=bool)
    waiting: npt.NDArray[np.bool_] = over
    if not waiting.any():
        return waiting
    rows = np.flatnonzero(waiting)
    cases = rows if found is None else found.case[rows]
    if stage.end == "payout" and facts.judges("EV003"):
        # Where approved-not-paid fires on the case, it tells this wait (the stage's other
        # findings, stages that ended late, stand): as it judges, per case, approved, no
        # successful payout in the case at all, an approval in force at the clock (not
        # withdrawn by a rejection, nor ended by a close the refund was asked for again
        # after), the grace after it over. (Not a reopened case paid in an earlier
        # episode: approved-not-paid does not fire there, and the wait was reported by no
        # rule.)
        from audit.rules.evidence.ev003_approved_not_paid import unpaid_past_grace

        fires = unpaid_past_grace(facts, np.asarray(cases, dtype=np.int64))
        waiting[rows[fires]] = False
        rows = np.flatnonzero(waiting)
        cases = rows if found is None else found.case[rows]
    later = STAGE_POINTS[STAGE_POINTS.index(stage.end) + 1:]
    gone = np.zeros(len(rows), dtype=bool)
    if found is None:
        frame = facts.at_cases(cases, *[POINT_COLUMNS[p] for p in later],
                               "rejections_last_time", "approvals_last_time")
        if later:
            gone |= frame[[POINT_COLUMNS[p] for p in later]].notna().any(axis=1).to_numpy(
                dtype=bool)
        if stage.end != "close":
            rejected, approved = frame["rejections_last_time"], frame["approvals_last_time"]
            gone |= (rejected.notna() & (approved.isna() | (rejected >= approved))).fillna(
                False).to_numpy(dtype=bool)
    else:
        for point in later:
            gone |= _reached(found, point)[rows]
        if stage.end != "close":
            gone |= found.rejected[rows]
    waiting[rows[gone]] = False
    return waiting


def _reached(found: Episodes, point: str) -> npt.NDArray[np.bool_]:
    """Per episode: whether it reached stage point `point`."""
    at = {"request": found.request, "evidence": found.evidence,
          "first-approval": found.approval_first, "last-approval": found.approval_last,
          "payout": found.payout, "close": found.close}[point]
    return np.asarray(at >= 0, dtype=bool)
