from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.policy import PERFORMER_CONTROLS
from audit.rules.base import Option, Rule
from audit.rules.facts import CASE_CHANNEL, CaseFacts
from audit.rules.lanes import cases_of, lanes_of_pairs, pairs, role_keys_of, unrecorded_told

MONEY_CONTROLS = frozenset({"pay", "pay-failed"})
"""Controls whose events out of their lane put the case's payouts at risk."""


class UnauthorizedPerformer(Rule):
    """What it checks:
    A task of the SOP other than an approval (receiving the request, collecting evidence,
    rejecting, executing the payout, notifying, closing, ...) was done by someone whose role,
    at the time of that event, is not one of the roles of the SOP lanes holding the task, nor
    one the policy allows for it.

    Why it matters:
    The SOP's lanes say who may do what. A payout executed by a customer-service agent, or a
    refund request received by someone in Finance, bypasses the division of work the controls
    rely on: whoever may execute payouts without being in Payments can move money outside its
    checks. Approvals are judged by unauthorized-approver (AP004), never here too.

    Example:
    Violating: `Execute payout` by Chloe Martin (customer-service), where the SOP puts
    `Execute payout` in the lane "Payments"; or `Close ticket` by Lena Fischer on 2026-08-20,
    after her promotion to supervisor (the lane "Customer service" holds the task).
    Compliant: `Execute payout` by Victor Chen (payments); `Close ticket` by Lena Fischer on
    2026-08-03, while still customer-service.

    Options:
    `sop`: the SOP per channel; its lanes (lane "Payments" -> role `payments`; a task's
    innermost lane in each lane set, every one where it is listed in several) give the roles
    allowed per task. `performers`: per control (request, evidence, prorate, reject, pay,
    pay-failed, notify, close, other), roles allowed beyond the lanes, e.g. `performers:
    {reject: [supervisor, finance]}`; a control it does not list is judged by the lanes
    alone.
    Labels reach their task through `activities` (`sop_task`). Not judged: approvals
    (AP004), purchases (not in the SOP), unmapped labels (DQ001), a task in no named lane (a
    process or pool without lanes; check warns once per SOP, naming the tasks, the SOP and
    its channels), a case whose channel has no SOP, and an event whose role is not recorded:
    payment systems' payouts usually name no person, and each would be a finding; check
    warns of these, counted per activity, in one warning with the approvals
    unauthorized-approver (AP004) could not judge for the same want, naming the first cases
    by id (the run lists each, `unjudged_cases`): a gap in the data, reported once, not a
    finding of either rule (DQ002 reports the events without a person). Roles are read per
    event (`org:role`), so a role change is honoured, and compared as AP004 compares them:
    without case, spacing, width or Unicode form.

    References:
    COSO Internal Control: segregation of duties and authorisation; SOX 404 access and
    authority reviews; BPMN 2.0 lanes as the performer of a task.
    """

    code = "SD004"
    name = "unauthorized-performer"
    severity = "high"
    logic_version = 3
    summary = "A task done by a role its SOP lane does not allow"
    reads_sop = "lanes"
    options = (Option("SOP lanes", "the roles allowed per task: the lanes holding it", "sop"),
               Option("performers", "roles allowed per control beyond the lanes",
                      "performers"),
               Option("labels", "labels mapped to the controls judged, and their SOP tasks "
                      "(sop_task)", "activities"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        if not facts.policy.sop:
            return []
        at = judged_events(facts)
        if not len(at):
            return []
        # Everything is decided per (channel, label) pair and role, in a table of pairs x
        # roles, then looked up per event: no per-event lanes, keys or controls (at 1M
        # cases about 4 million events are judged; per-event object arrays of them were
        # the audit's peak memory).
        from conformance.bpmn import role_key

        pair_codes, first = pairs(facts.codes(CASE_CHANNEL)[at], facts.codes(C.ACTIVITY)[at])
        lanes_of_pair = lanes_of_pairs(facts.policy, facts.column(CASE_CHANNEL).take(at[first]),
                                       facts.column(C.ACTIVITY).take(at[first]))
        in_a_lane = np.array([x is not None for x in lanes_of_pair], dtype=bool)
        if not in_a_lane.any():
            return []
        controls = facts.control_at(at[first])  # (a pair's label: one control)
        keep = in_a_lane[pair_codes]
        at, pair_codes = at[keep], pair_codes[keep]
        keys = role_keys_of(facts)
        performers = {name: {role_key(r) for r in roles}
                      for name, roles in facts.policy.performer_roles.items()}
        # bad[p, r + 1]: role r (a key; column 0: none recorded) out of pair p's lanes, and
        # not one the policy allows for its control. A role not recorded, or blank, is not
        # judged (counted in check's warning).
        bad_table = np.zeros((len(lanes_of_pair), len(keys) + 1), dtype=bool)
        for p, lanes in enumerate(lanes_of_pair):
            if lanes is None:
                continue
            allowed = performers.get(str(controls[p]), set())
            for r, key in enumerate(keys):
                bad_table[p, r + 1] = key != "" and key not in lanes and key not in allowed
        role_codes = facts.codes(C.ROLE)[at].astype(np.int64) + 1
        bad_at = bad_table[pair_codes, role_codes]
        del role_codes
        if not bad_at.any():
            return []
        lanes = lanes_of_pair[pair_codes[bad_at]]
        at = at[bad_at]
        control = facts.control_at(at)
        events = facts.frame(at, (C.RESOURCE, C.ROLE, C.ACTIVITY))
        grouped = facts.grouped(at)
        _, starts, ends = facts.event_runs(at)
        who = ["(not recorded)" if pd.isna(r) else str(r) for r in events[C.RESOURCE].tolist()]
        held = [str(r) for r in events[C.ROLE].tolist()]
        what = [str(a) for a in events[C.ACTIVITY].tolist()]
        lane = [", ".join(x) for x in lanes.tolist()]
        done = [f"{a} by {w} (role: {h}; lane: {x})"
                for a, w, h, x in zip(what, who, held, lane, strict=True)]
        money = np.isin(control.astype(str), list(MONEY_CONTROLS))
        grouped["done"] = ["; ".join(done[s:e]) for s, e in zip(starts, ends, strict=True)]
        grouped["who"] = [", ".join(dict.fromkeys(who[s:e]))
                          for s, e in zip(starts, ends, strict=True)]
        grouped["roles"] = [", ".join(dict.fromkeys(held[s:e]))
                            for s, e in zip(starts, ends, strict=True)]
        grouped["tasks"] = [", ".join(dict.fromkeys(what[s:e]))
                            for s, e in zip(starts, ends, strict=True)]
        grouped["lanes"] = [", ".join(dict.fromkeys(lane[s:e]))
                            for s, e in zip(starts, ends, strict=True)]
        grouped = grouped.join(facts.table("payouts_sum", "currency"))
        # Money at risk where a payout was executed out of its lane; a notification or a
        # ticket closed by the wrong role moves none.
        paying = np.array([bool(money[s:e].any()) for s, e in zip(starts, ends, strict=True)],
                          dtype=bool)
        grouped["at_risk"] = grouped["payouts_sum"].where(paying)
        return self.findings(
            facts, grouped, events=("eids",), when="when", amount="at_risk",
            evidence=("who", "roles", "tasks", "lanes"),
            message="{done}: a role the task's SOP lane does not allow")


def judged_events(facts: CaseFacts) -> np.ndarray:
    """Sorted positions of the events whose performer unauthorized-performer judges where
    their task is in a lane: mapped to a control of `PERFORMER_CONTROLS` (not approvals, not
    purchases, not unmapped labels)."""
    return np.flatnonzero(facts.mask(*PERFORMER_CONTROLS))


def unrecorded_roles(facts: CaseFacts, *, nobody: bool = False) -> dict[str, int]:
    """Per activity label: the events that unauthorized-performer would judge (of a control
    it judges, `judged_events`, whose task is in a lane of their case's channel's SOP) but
    cannot, as no role is recorded (none, or a blank one): what check warns of; with
    `nobody`, those of them that name no person either (no `org:resource`: a role history
    cannot give them one). Read off the rules' own facts, as the rule reads them: each
    event with its case's channel (`CaseFacts.case_channel`: its ticket's, else the first
    its events state by time), not its own, so a case stating several channels, or stating
    it on one event only, is counted against the SOP it was judged by; the events' order is
    the one the rules sorted, not sorted again. Counted per distinct (channel, label) pair."""
    return unrecorded_role_cases(facts, nobody=nobody)[0]


def unrecorded_role_cases(facts: CaseFacts, *, nobody: bool = False
                          ) -> tuple[dict[str, int], list[object]]:
    """`unrecorded_roles` (per activity label, the events not judged as no role is
    recorded), and the ids of their cases, in the order of `CaseFacts.case_ids` (sorted):
    findings.json's `unjudged_cases.SD004.role_not_recorded`, which `diff` reads (an earlier
    finding of such a case is not re-judged, not resolved). One pass for both."""
    if not facts.policy.sop or not facts.n_events:
        return {}, []
    at = judged_events(facts)
    if not len(at):
        return {}, []
    if facts.has(C.ROLE):  # (a log without the column records no role at all)
        keys = role_keys_of(facts)
        blank = np.array([key == "" for key in keys] + [True], dtype=bool)  # (-1: none)
        at = at[blank[facts.codes(C.ROLE)[at]]]
    if nobody and len(at) and facts.has(C.RESOURCE):
        at = at[np.asarray(facts.column(C.RESOURCE).take(at).isna(), dtype=bool)]
    if not len(at):
        return {}, []
    pair_codes, first = pairs(facts.codes(CASE_CHANNEL)[at], facts.codes(C.ACTIVITY)[at])
    labels = facts.column(C.ACTIVITY).take(at[first])
    lanes = lanes_of_pairs(facts.policy, facts.column(CASE_CHANNEL).take(at[first]), labels)
    counts = np.bincount(pair_codes, minlength=len(first))
    out: dict[str, int] = {}
    for label, n, held in zip(labels.tolist(), counts.tolist(), lanes.tolist(), strict=True):
        if held is not None:
            out[str(label)] = out.get(str(label), 0) + int(n)
    if not out:
        return {}, []
    in_a_lane = np.array([held is not None for held in lanes.tolist()], dtype=bool)
    return dict(sorted(out.items())), cases_of(facts, at[in_a_lane[pair_codes]])


__all__ = ["UnauthorizedPerformer", "judged_events", "unrecorded_role_cases", "unrecorded_roles",
           "unrecorded_told"]
