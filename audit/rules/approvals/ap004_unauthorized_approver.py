from __future__ import annotations

import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


def _lane_roles(facts: CaseFacts, approvals: pd.DataFrame) -> pd.Series:
    """Per approval event: the roles of the SOP lanes holding its task (a tuple), or None
    where the case's channel has no SOP or the SOP puts the task in no lane."""
    if not facts.policy.sop or approvals.empty:
        return pd.Series(None, index=approvals.index, dtype=object)
    from conformance.deviations import lane_roles

    tasks = facts.policy.sop_tasks()
    per_channel: dict[object, dict[str, tuple[str, ...]] | None] = {}
    out: list[tuple[str, ...] | None] = []
    for channel, label in zip(approvals[C.CHANNEL], approvals[C.ACTIVITY], strict=True):
        if channel not in per_channel:
            path = facts.sop_path(None if pd.isna(channel) else str(channel))
            per_channel[channel] = lane_roles(path) if path is not None else None
        lanes = per_channel[channel]
        out.append(None if lanes is None else lanes.get(tasks.get(str(label), str(label))))
    return pd.Series(out, index=approvals.index, dtype=object)


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
    (lane "Supervisor" -> role `supervisor`) are allowed too: a role is authorised when the
    policy or the SOP's lanes allow it, and a level the policy does not list is judged by the
    lanes alone. Roles are read per event (`org:role`), so a role change is honoured.

    References:
    COSO Internal Control: authorisation; SOX 404 access and authority reviews.
    """

    code = "AP004"
    name = "unauthorized-approver"
    severity = "high"
    summary = "Approval by a role not allowed to approve"
    options = (Option("approve roles", "roles allowed to give the first approval",
                      "approvers.approve"),
               Option("second-approve roles", "roles allowed to give the second approval",
                      "approvers.second-approve"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        approvals = facts.of("approve", "second-approve")
        roles = facts.policy.approver_roles
        lanes = _lane_roles(facts, approvals)
        bad = pd.Series(False, index=approvals.index)
        for level in ("approve", "second-approve"):
            at_level = approvals["control"].eq(level)
            judged = lanes.notna() if level not in roles else pd.Series(True, approvals.index)
            allowed = approvals[C.ROLE].isin(roles.get(level, ())).fillna(False).astype(bool)
            in_lane = [isinstance(ok, tuple) and role in ok
                       for role, ok in zip(approvals[C.ROLE], lanes, strict=True)]
            allowed |= pd.Series(in_lane, index=approvals.index, dtype=bool)
            bad |= at_level & judged & ~allowed
        hits = approvals[bad]
        if hits.empty:
            return []
        grouped = hits.groupby(C.CASE).agg(
            eids=(C.EVENT_ID, list), who=(C.RESOURCE, lambda s: ", ".join(map(str, s))),
            roles=(C.ROLE, lambda s: ", ".join("no role" if pd.isna(r) else str(r)
                                               for r in s)),
            when=(C.TIMESTAMP, "min"))
        grouped = grouped.join(facts.cases[["payouts_sum", "currency"]])
        return self.findings(
            facts, grouped, events=("eids",), when="when", amount="payouts_sum",
            evidence=("who", "roles"),
            message="approved by {who} holding role {roles}, which may not approve")
