from __future__ import annotations

import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


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
    `approvers.approve` and `approvers.second-approve`: the roles allowed per level (the SOP's
    lanes say the same in the model). Roles are read per event (`org:role`), so a role change
    is honoured.

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
        bad = pd.Series(False, index=approvals.index)
        for level in ("approve", "second-approve"):
            if level not in roles:
                continue  # no policy for this level: not judged
            at_level = approvals["control"].eq(level)
            allowed = approvals[C.ROLE].isin(roles[level]).fillna(False).astype(bool)
            bad |= at_level & ~allowed
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
