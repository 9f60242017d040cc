from __future__ import annotations

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts


class SelfApproval(Rule):
    """What it checks:
    The person who raised the refund request (the resource of the first request event) also
    gave an approval in the same case, at either level, whoever else approved as well.

    Why it matters:
    Four eyes: the requester must not decide on their own request. Approving one's own refund
    is the classic path to paying oneself or an accomplice.

    Example:
    Violating: `Receive refund request` by Nadia Rossi → `Approve refund` by Nadia Rossi.
    Also violating: requester approves first level, someone else the second level (pm4py's
    four-eyes filter, which compares only the last approval, misses this one).
    Compliant: request by Ben Carter, approval by Nadia Rossi.

    Options:
    Labels from `activities` (controls `request`, `approve`, `second-approve`). People are
    compared by `org:resource` exactly as recorded.

    References:
    Four-eyes principle; COSO Internal Control: segregation of duties.
    """

    code = "SD001"
    name = "self-approval"
    severity = "critical"
    summary = "The requester approved their own refund"

    def check(self, facts: CaseFacts) -> list[Finding]:
        requests = (facts.cases[["request_eid", "request_resource"]].dropna().reset_index()
                    .rename(columns={"request_resource": C.RESOURCE}))
        approvals = facts.of("approve", "second-approve")
        joined = approvals.merge(requests, on=[C.CASE, C.RESOURCE])
        if joined.empty:
            return []
        hits = joined.groupby(C.CASE).agg(
            approval_eids=(C.EVENT_ID, list), request_eid=("request_eid", "first"),
            who=(C.RESOURCE, "first"), when=(C.TIMESTAMP, "min"))
        hits = hits.join(facts.cases[["payouts_sum", "currency"]])
        return self.findings(
            facts, hits, events=("request_eid", "approval_eids"), when="when",
            amount="payouts_sum", evidence=("who",),
            message="{who} raised the request and approved it")
