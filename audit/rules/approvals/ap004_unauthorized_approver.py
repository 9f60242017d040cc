from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts
from audit.rules.lanes import cases_of, in_lanes, lane_roles_at, role_keys_of


class UnauthorizedApprover(Rule):
    """What it checks:
    An approval was given by someone whose role, at the time of that approval, is not allowed
    to approve at that level.

    Why it matters:
    Approval authority is delegated to roles. An approval by an agent, or by someone before
    their promotion, is no approval in the sense of the SOP.

    Example:
    Violating: `Approve refund` by Lena Fischer on 2026-08-03, when she was still
    customer-service (promoted to supervisor on 2026-08-17).
    Compliant: the same approval on 2026-08-20, or by a supervisor.

    Options:
    `approvers.approve` and `approvers.second-approve`: the roles allowed per level. Where the
    case's channel has an SOP (`sop`), the roles of the lanes holding the approval's task
    (lane "Supervisor" -> role `supervisor`; its innermost lane in each lane set of the SOP,
    every one where it is listed in several) are allowed too: a role is authorised when the
    policy or the SOP's lanes allow it, and a level the policy does not list is judged by the
    lanes alone (where its task is in no lane, or the case's channel has no SOP, by nothing:
    check warns of it, naming the level). Roles are read per event (`org:role`), so a role
    change is honoured, and compared as the lanes' are, without case, spacing, width or
    Unicode form ("Customer Service" is `customer-service`, "LEITUNG GROSSKUNDEN" is lane
    "Leitung Großkunden"). Not judged: an approval whose role is not recorded (none, or a
    blank one): that its approver had no authority is not shown, only that the log does not
    say which role they held, a gap in the data, not an unauthorised approval; check warns of
    these, counted per activity, in one warning with the tasks unauthorized-performer (SD004)
    could not judge for the same want, naming the first cases by id (missing-resource, DQ002,
    reports the approvals naming no person); the run lists each case (`unjudged_cases`), and
    `diff` calls an earlier finding of such a case not re-judged, not resolved. A role
    history given with the inputs (docs/sources.md) judges them.

    References:
    COSO Internal Control: authorisation; SOX 404 access and authority reviews.
    """

    code = "AP004"
    name = "unauthorized-approver"
    severity = "high"
    logic_version = 3
    summary = "Approval by a role not allowed to approve"
    reads_sop = "lanes"
    options = (Option("approve roles", "roles allowed to give the first approval",
                      "approvers.approve"),
               Option("second-approve roles", "roles allowed to give the second approval",
                      "approvers.second-approve"),
               Option("sop lanes", "roles of the lanes holding the approval's task", "sop"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        at, judged, recorded, allowed = found = _judged(facts)
        # (What it could not judge, for engine.side_facts: from this judgement, not
        # another one of every approval.)
        facts.unjudged[self.code] = (_unrecorded(facts, found), _unrecorded(facts, found,
                                                                             nobody=True))
        bad = judged & recorded & ~allowed
        if not bad.any():
            return []
        grouped = facts.grouped(at[bad])
        _, starts, ends = facts.event_runs(at[bad])
        # The person and role of the approvals found only (not of every approval).
        approvals = facts.frame(at[bad], (C.RESOURCE, C.ROLE))
        who = ["(not recorded)" if pd.isna(r) else str(r)
               for r in approvals[C.RESOURCE].tolist()]
        held = [str(r) for r in approvals[C.ROLE].tolist()]
        grouped["who"] = [", ".join(who[s:e]) for s, e in zip(starts, ends, strict=True)]
        grouped["roles"] = [", ".join(held[s:e]) for s, e in zip(starts, ends, strict=True)]
        grouped["approved"] = [_told(who[s:e], held[s:e])
                               for s, e in zip(starts, ends, strict=True)]
        # (Of the cases found only: not every case's sum of its payouts.)
        grouped = grouped.join(facts.at_cases(facts.case_code[at[bad][starts]], "payouts_sum",
                                              "currency"))
        return self.findings(
            facts, grouped, events=("eids",), when="when", amount="payouts_sum",
            evidence=("who", "roles"), message="approved by {approved}")


Judged = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""`_judged`'s approvals and, per approval, whether judged, recorded and allowed."""


def _judged(facts: CaseFacts) -> Judged:
    """The approvals (sorted positions `at`) and, per approval: whether its level is judged
    (the policy lists the level, or its task is in a lane of its case's channel's SOP),
    whether its role is recorded (not none, not blank), and whether that role may approve
    at its level (the policy's roles or its lanes'). Decided per distinct role (its code,
    `CaseFacts.codes`), not per approval: no text of every approval's role, person, case
    and id taken (170k approvals at 100k cases), only a key per distinct role."""
    at = np.flatnonzero(facts.mask("approve", "second-approve"))
    control = facts.control_at(at)
    # Roles compared as keys, as an SOP's lane names are ("Customer Service" and
    # "customer-service" are one role; before, a log's "Supervisor" was no supervisor).
    from conformance.bpmn import role_key

    # Per role code its key, None for no role (code -1, the table's last entry).
    key_of = np.array([*role_keys_of(facts), None], dtype=object)
    role_codes = facts.codes(C.ROLE)[at]
    keyed = key_of[role_codes]
    # A role not recorded, or blank (its key empty), is none: not judged, but counted
    # (`unrecorded_approvals`), as unauthorized-performer counts its events.
    recorded = np.array([bool(k) for k in key_of], dtype=bool)[role_codes]
    roles = {level: tuple(role_key(r) for r in allowed)
             for level, allowed in facts.policy.approver_roles.items()}
    lanes, lane_codes = lane_roles_at(facts, at)
    has_lanes = np.array([x is not None for x in lanes], dtype=bool)
    # Whether the approval's role is in its lanes, decided once per (lanes, role) pair.
    in_lane = in_lanes(facts, at, lanes, lane_codes, keyed)
    judged = np.zeros(len(at), dtype=bool)
    allowed = np.zeros(len(at), dtype=bool)
    for level in ("approve", "second-approve"):
        at_level = control == level
        judged |= at_level & (has_lanes if level not in roles
                              else np.ones(len(at), dtype=bool))
        listed = set(roles.get(level, ()))
        allowed |= at_level & (np.array([k is not None and k in listed for k in key_of],
                                        dtype=bool)[role_codes] | in_lane)
    return at, judged, recorded, allowed


def unrecorded_approvals(facts: CaseFacts, *, nobody: bool = False) -> dict[str, int]:
    """Per activity label: the approvals unauthorized-approver would judge (at a level the
    policy or the SOP's lanes judge) but cannot, as no role is recorded (none, or a blank
    one): what check warns of, with `sd004_unauthorized_performer.unrecorded_roles`' events,
    in one warning (`lanes.unrecorded_told`); with `nobody`, those of them that name no
    person either (no `org:resource`: a role history cannot give them one)."""
    return unrecorded_approval_cases(facts, nobody=nobody)[0]


def unrecorded_approval_cases(facts: CaseFacts, *, nobody: bool = False
                              ) -> tuple[dict[str, int], list[object]]:
    """`unrecorded_approvals` (per activity label, the approvals not judged as no role is
    recorded), and the ids of their cases, in the order of `CaseFacts.case_ids` (sorted):
    findings.json's `unjudged_cases.AP004.role_not_recorded`, which `diff` reads (an earlier
    finding of such a case is not re-judged, not resolved). One pass: both of one mask.
    Where the rule's check ran on these facts, as it found them (`CaseFacts.unjudged`)."""
    kept = facts.unjudged.get(UnauthorizedApprover.code)
    if kept is not None:
        return cast(tuple[dict[str, int], list[object]], kept[1 if nobody else 0])
    return _unrecorded(facts, _judged(facts), nobody=nobody)


def _unrecorded(facts: CaseFacts, found: Judged, *,
                nobody: bool = False) -> tuple[dict[str, int], list[object]]:
    """`unrecorded_approval_cases` of a judgement of the approvals (`_judged`)."""
    at, judged, recorded, _ = found
    left = judged & ~recorded
    if nobody and left.any():
        left[left] = np.asarray(pd.isna(facts.column(C.RESOURCE).take(at[left])), dtype=bool)
    if not left.any():
        return {}, []
    labels = facts.column(C.ACTIVITY).take(at[left])
    counts = pd.Series(np.asarray(labels, dtype=object)).astype(str).value_counts()
    return ({str(k): int(v) for k, v in sorted(counts.items())},
            cases_of(facts, at[left]))



def _told(who: list[str], roles: list[str]) -> str:
    """A case's unauthorised approvals as its message tells them: each approver with the
    role they held, once each ("Lena Fischer (role: customer-service), which may not
    approve"). An approval whose role is not recorded is not judged (`unrecorded_approvals`):
    before, it was found as "Sara (role not recorded): no authority to approve is shown",
    while unauthorized-performer left such events unjudged and warned of them."""
    told = list(dict.fromkeys(f"{w} (role: {r})" for w, r in zip(who, roles, strict=True)))
    return f"{', '.join(told)}, which may not approve"
