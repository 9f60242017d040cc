from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts
from audit.rules.lanes import in_lanes, lane_roles_at, role_keys


class UnauthorizedApprover(Rule):
    """What it checks:
    An approval was given by someone whose role, at the time of that approval, is not allowed
    to approve at that level, or whose role is not recorded.

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
    "Leitung Großkunden").

    References:
    COSO Internal Control: authorisation; SOX 404 access and authority reviews.
    """

    code = "AP004"
    name = "unauthorized-approver"
    severity = "high"
    summary = "Approval by a role not allowed to approve"
    reads_sop = "lanes"
    options = (Option("approve roles", "roles allowed to give the first approval",
                      "approvers.approve"),
               Option("second-approve roles", "roles allowed to give the second approval",
                      "approvers.second-approve"),
               Option("sop lanes", "roles of the lanes holding the approval's task", "sop"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        at = np.flatnonzero(facts.mask("approve", "second-approve"))
        approvals = facts.frame(at, (C.CASE, C.EVENT_ID, C.RESOURCE, C.ROLE, C.TIMESTAMP))
        control = facts.control_at(at)
        # Roles compared as keys, as an SOP's lane names are ("Customer Service" and
        # "customer-service" are one role; before, a log's "Supervisor" was no supervisor).
        from conformance.bpmn import role_key

        keyed = role_keys(approvals[C.ROLE])
        roles = {level: tuple(role_key(r) for r in allowed)
                 for level, allowed in facts.policy.approver_roles.items()}
        lanes, lane_codes = lane_roles_at(facts, at)
        has_lanes = np.array([x is not None for x in lanes], dtype=bool)
        # Whether the approval's role is in its lanes, decided once per (lanes, role) pair.
        in_lane = in_lanes(facts, at, lanes, lane_codes, keyed.to_numpy(dtype=object))
        bad = np.zeros(len(at), dtype=bool)
        for level in ("approve", "second-approve"):
            at_level = control == level
            judged = has_lanes if level not in roles else np.ones(len(at), dtype=bool)
            allowed = keyed.isin(roles.get(level, ())).fillna(False).to_numpy(
                dtype=bool) | in_lane
            bad |= at_level & judged & ~allowed
        if not bad.any():
            return []
        grouped = facts.grouped(at[bad])
        _, starts, ends = facts.event_runs(at[bad])
        who = ["(not recorded)" if pd.isna(r) else str(r)
               for r in approvals[C.RESOURCE][bad].tolist()]
        held = ["none recorded" if pd.isna(r) else str(r)
                for r in approvals[C.ROLE][bad].tolist()]
        grouped["who"] = [", ".join(who[s:e]) for s, e in zip(starts, ends, strict=True)]
        grouped["roles"] = [", ".join(held[s:e]) for s, e in zip(starts, ends, strict=True)]
        recorded = approvals[C.ROLE][bad].notna().tolist()
        grouped["approved"] = [_told(who[s:e], held[s:e], recorded[s:e])
                               for s, e in zip(starts, ends, strict=True)]
        grouped = grouped.join(facts.table("payouts_sum", "currency"))
        return self.findings(
            facts, grouped, events=("eids",), when="when", amount="payouts_sum",
            evidence=("who", "roles"), message="approved by {approved}")


def _told(who: list[str], roles: list[str], recorded: list[bool]) -> str:
    """A case's unauthorised approvals as its message tells them: each approver with the
    role they held, once each ("Lena Fischer (role: customer-service), which may not
    approve"); an approver whose role is not recorded is not said to hold one that may not
    approve, but that no authority is shown ("Sara (role not recorded): no authority to
    approve is shown"). Before: "Sara, Sara (role: none recorded, none recorded), which may
    not approve", a role the log does not hold, and each approval's person again."""
    told = list(dict.fromkeys(
        f"{w} (role: {r})" if known else f"{w} (role not recorded)"
        for w, r, known in zip(who, roles, recorded, strict=True)))
    if all(recorded):
        return f"{', '.join(told)}, which may not approve"
    if not any(recorded):
        return f"{', '.join(told)}: no authority to approve is shown"
    return (f"{', '.join(told)}: a role that may not approve, or none recorded (no "
            "authority to approve is shown)")
