from __future__ import annotations

import numpy as np

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class ApprovalAfterPayout(Rule):
    """What it checks:
    The case has approvals, but every one of them was given after the first successful
    payout.

    Why it matters:
    An approval after the money left is a rubber stamp, not a control: it cannot stop a wrong
    refund. Back-dated paperwork often looks exactly like this.

    Example:
    Violating: `Receive refund request` → `Execute payout` → `Approve refund`.
    Compliant: `Receive refund request` → `Approve refund` → `Execute payout`.

    Options:
    Labels from `activities` (controls `approve`, `second-approve`, `pay`).

    References:
    COSO Internal Control: preventive versus detective controls.
    """

    code = "AP002"
    name = "approval-after-payout"
    severity = "high"
    logic_version = 1
    summary = "Approvals given only after the payout"
    options = (Option("labels", "labels mapped to approve, second-approve and pay", "activities"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        # The times decide (every case's); the ids and the money are read for the cases
        # found only (before, every case's sum of its payouts was made for the few found).
        # (By the cases' positions, not their ids: no hash table of every case's id.)
        c = facts.table("approvals_n", "approvals_first_time", "payout_time")
        codes = np.flatnonzero((c["approvals_n"].gt(0) & (c["approvals_first_time"]
                                                          > c["payout_time"])
                                ).to_numpy(dtype=bool, na_value=False))
        c = facts.at_cases(codes, "payout_eid", "approvals_n", "approvals_first_time",
                           "payout_time", "payouts_sum", "currency")
        paid = c["payout_eid"].notna().to_numpy(dtype=bool)
        hits = facts.with_lists(c[paid], "approval_eids", codes=codes[paid])
        return self.findings(
            facts, hits, events=("payout_eid", "approval_eids"), when="approvals_first_time",
            amount="payouts_sum", evidence=("payout_time", "approvals_first_time"),
            message="first approval on {approvals_first_time}, after the payout on "
                    "{payout_time}")
