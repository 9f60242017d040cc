from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts, slices


class ApproverPays(Rule):
    """What it checks:
    Someone who approved the refund also executed a successful payout of it.

    Why it matters:
    Authorising and executing a payment are duties to keep apart: whoever does both can pay
    whatever they approve, with nobody checking the bank details or the amount.

    Example:
    Violating: `Approve refund` by Rita Alvarez → `Execute payout` by Rita Alvarez.
    Compliant: `Approve refund` by Rita Alvarez → `Execute payout` by Victor Chen.

    Options:
    Labels from `activities` (controls `approve`, `second-approve`, `pay`). Failed payouts
    are not counted. People are compared without case, width or spacing (`Rita.Alvarez` and
    `rita.alvarez` are one person). An approval or payout without a recorded person matches
    nobody, not even another one without (DQ002 reports those).

    References:
    COSO Internal Control: segregation of authorisation and custody of assets.
    """

    code = "SD002"
    name = "approver-pays"
    severity = "high"
    logic_version = 1
    summary = "The approver executed the payout"
    options = (Option("labels", "labels mapped to approve, second-approve and pay", "activities"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        # Each successful payout with each approval of its case by the same resource,
        # payouts in order. A missing resource is nobody known: it matches no one, not even
        # another missing one (as in SD001 and SD003; DQ002 reports it).
        resource = facts.person_codes()  # (one person: case, width and spacing aside)
        pays = np.flatnonzero(facts.mask("paid"))
        pays = pays[resource[pays] >= 0]
        approvals = np.flatnonzero(facts.mask("approve", "second-approve"))
        approvals = approvals[resource[approvals] >= 0]
        # Only payouts and approvals whose (case, resource) the other side has can join:
        # the rest (nearly all, 2M events at 1M cases) are left out before the join.
        width = int(resource.max(initial=0)) + 2  # codes -1 (missing) .. max, shifted by 1
        pay_key = facts.case_code[pays] * width + resource[pays] + 1
        approval_key = facts.case_code[approvals] * width + resource[approvals] + 1
        pays = pays[C.int_isin(pay_key, approval_key)]
        approvals = approvals[C.int_isin(approval_key, pay_key)]
        del pay_key, approval_key
        left = pd.DataFrame({"code": facts.case_code[pays], "who": resource[pays],
                             "pay": pays})
        right = pd.DataFrame({"code": facts.case_code[approvals], "who": resource[approvals],
                              "ap": approvals})
        joined = left.merge(right, on=["code", "who"])
        if joined.empty:
            return []
        # The joined rows come in payout order, so by case and then time.
        pay = joined["pay"].to_numpy(dtype=np.int64)
        codes = joined["code"].to_numpy(dtype=np.int64)
        starts, ends = facts.runs(codes)
        ids = facts.column(C.EVENT_ID)
        pay_ids = ids.take(pay).to_numpy(dtype=object)
        ap_ids = ids.take(joined["ap"].to_numpy(dtype=np.int64)).to_numpy(dtype=object)
        hits = facts.at_cases(codes[starts], "payouts_sum", "currency")
        hits["pay_eids"] = slices(pay_ids, starts, ends)
        hits["ap_eids"] = slices(ap_ids, starts, ends)
        who = facts.column(C.RESOURCE).take(pay)
        named = np.flatnonzero(~np.asarray(pd.isna(who), dtype=bool))
        run = np.searchsorted(starts, named, side="right") - 1
        first = np.full(len(starts), -1, dtype=np.int64)
        first[run[::-1]] = named[::-1]  # the first named resource of each run, as "first"
        hits["who"] = who.take(first, allow_fill=True)
        hits["when"] = facts.column(C.TIMESTAMP).take(pay[starts])
        return self.findings(
            facts, hits, events=("ap_eids", "pay_eids"), when="when", amount="payouts_sum",
            evidence=("who",), message="{who} approved the refund and paid it out")
