from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts, same


class SameApproverTwice(Rule):
    """What it checks:
    The first-level and the second-level approval of a case were given by the same person.

    Why it matters:
    The second level exists to add a second pair of eyes; one person approving twice turns a
    two-person control into a one-person control.

    Example:
    Violating: `Approve refund` by Stefan Kowalski → `Approve refund (second level)` by
    Stefan Kowalski.
    Compliant: the second level by Tanja Vogel.

    Options:
    Labels from `activities` (controls `approve`, `second-approve`).

    References:
    Four-eyes principle; delegation-of-authority matrices.
    """

    code = "SD003"
    name = "same-approver-twice"
    severity = "high"
    summary = "Both approval levels given by one person"

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("approval1_resource", "approval2_resource", "approval1_eid",
                        "approval2_eid", "approval2_time", "payouts_sum", "currency")
        hits = c[same(c["approval1_resource"], c["approval2_resource"])]
        return self.findings(
            facts, hits, events=("approval1_eid", "approval2_eid"), when="approval2_time",
            amount="payouts_sum", evidence=("approval1_resource",),
            message="{approval1_resource} gave both the first and the second approval")
