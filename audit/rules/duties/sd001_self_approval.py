from __future__ import annotations

import numpy as np

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts, slices


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
    compared by `org:resource` without case, width or spacing (`Ben.Carter` and
    `ben.carter` are one person), as login systems compare them.

    References:
    Four-eyes principle; COSO Internal Control: segregation of duties.
    """

    code = "SD001"
    name = "self-approval"
    severity = "critical"
    logic_version = 1
    summary = "The requester approved their own refund"
    options = (Option("labels", "labels mapped to request, approve and second-approve",
                      "activities"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        # The approvals whose resource is the resource of the case's first request.
        request = facts.first_of(facts.mask("request"))
        at = np.flatnonzero(facts.mask("approve", "second-approve"))
        at = at[request[facts.case_code[at]] >= 0]
        people = facts.person_codes()
        requester = people[request[facts.case_code[at]]]
        at = at[(people[at] == requester) & (requester >= 0)]
        if len(at) == 0:
            return []
        # Per case (the positions are sorted by case, then time): the approvals in order, the
        # requester, the time of the first of them.
        codes = facts.case_code[at]
        starts, ends = facts.runs(codes)
        ids = facts.column(C.EVENT_ID).take(at).to_numpy(dtype=object)
        hits = facts.at_cases(codes[starts], "request_eid", "payouts_sum", "currency")
        hits["approval_eids"] = slices(ids, starts, ends)
        hits["who"] = facts.column(C.RESOURCE).take(at[starts])
        hits["when"] = facts.column(C.TIMESTAMP).take(at[starts])
        return self.findings(
            facts, hits, events=("request_eid", "approval_eids"), when="when",
            amount="payouts_sum", evidence=("who",),
            message="{who} raised the request and approved it")

