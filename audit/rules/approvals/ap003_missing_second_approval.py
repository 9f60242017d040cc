from __future__ import annotations

import numpy as np
import pandas as pd

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts
from audit.words import moment


class MissingSecondApproval(Rule):
    """What it checks:
    A refund approved and paid (a successful payout at the audit's clock) is above the
    second-approval threshold of its currency, and no second-level approval was given
    before the money left: none at all, or not both levels before its first successful
    payout (where every approval came after it, `approval-after-payout` tells that). A case
    approved and not paid at the clock is not judged (a payout dated after the clock has
    not happened yet): no money left on one approval, its second level may yet come
    before the payout, and a wait too long is `approved-not-paid`'s. The amount judged is
    the larger of the requested amount and the amount paid (the successful payouts in the
    case's currency that state an amount; one stating none adds nothing, and
    `payout-without-amount` reports it); a case stating neither is not judged, nor is one
    that states no currency (no threshold applies: check warns, counting such cases).

    Why it matters:
    Large refunds need two people to agree; the threshold exists because one approver alone is
    not trusted with that much money.

    Example:
    Violating: request of 1,200.00 EUR (threshold 500 EUR) → `Approve refund` → `Execute
    payout` ("1,200.00 EUR is above the threshold of 500.00 EUR, approved only by ...");
    or → `Approve refund` → `Execute payout` → `Approve refund (second level)`.
    Compliant: the same with `Approve refund (second level)` before the payout; or
    `Approve refund` with no payout yet at the audit's clock (no money left on one
    approval: not judged until it is paid).

    Options:
    `thresholds.second_approval`: amount per currency above which a second approval is
    required. Refunds in a currency without a threshold are not judged. An amount above it
    by no more than `amount_tolerance` (default: half a minor unit of the currency, so
    500.001 KWD is above 500) is rounding.

    References:
    Delegation-of-authority matrices; COSO Internal Control: authorisation limits.
    """

    code = "AP003"
    name = "missing-second-approval"
    severity = "high"
    logic_version = 1
    summary = "Refund above the threshold approved by one level only"
    options = (Option("threshold", "amount per currency", "thresholds.second_approval"),
               Option("tolerance", "differences up to this are rounding", "amount_tolerance"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("approval1_eid", "approval2_eid", "currency", "request_amount",
                        "payouts_sum", "request_eid", "payout_eid", "approval1_time",
                        "approval1_resource", "approval2_time", "payout_time",
                        "approval2_resource", "approvals_last_time",
                        "rejections_last_time")
        # (As numbers also on an empty log, where the map keeps the currencies' dtype.)
        c["threshold"] = c["currency"].map(facts.policy.second_approval_threshold).astype(
            "float64")
        c["judged_amount"] = pd.concat([c["request_amount"], c["payouts_sum"]], axis=1).max(
            axis=1)
        # A level given only after the first payout came too late to stop it (where every
        # approval came after it, `approval-after-payout` tells that).
        paid = c["payout_eid"].notna() & c["approval2_eid"].notna()
        first_before = (c["approval1_time"] <= c["payout_time"]).fillna(False).astype(bool)
        second_before = (c["approval2_time"] <= c["payout_time"]).fillna(False).astype(bool)
        late = paid & first_before & ~second_before  # the second level after the payout
        early = paid & ~first_before & second_before  # the first level after it
        # Judged once the money has left (a successful payout at the clock): a case approved
        # once and not paid yet has not let money out on one approval (its wait is
        # approved-not-paid's), and may yet get its second level before the payout; one
        # rejected since its last approval is settled (no money will leave), not waiting.
        facts.not_due[self.code] = c.index[_waiting(c)].tolist()  # (engine.side_facts)
        hits = c[c["approval1_eid"].notna() & c["payout_eid"].notna()
                 & (c["approval2_eid"].isna() | late | early)
                 & c["threshold"].notna()
                 & (c["judged_amount"] > c["threshold"] + facts.tolerance(c["currency"]))].copy()
        late, early = late[hits.index], early[hits.index]
        hits["who"] = hits["approval1_resource"].where(~early, hits["approval2_resource"])
        hits["second"] = [
            f" before the payout (the {'first' if first else 'second'} level only after it, "
            f"on {moment(one if first else two)})" if first or second else ""
            for one, two, first, second in zip(
                hits["approval1_time"].tolist(), hits["approval2_time"].tolist(),
                early.tolist(), late.tolist(), strict=True)]
        hits["late_eid"] = hits["approval2_eid"].where(late, hits["approval1_eid"].where(early))
        hits["when"] = hits["approval1_time"].where(~early, hits["approval2_time"])
        return self.findings(
            facts, hits, events=("request_eid", "approval1_eid", "payout_eid", "late_eid"),
            when="when", amount="judged_amount",
            evidence=("judged_amount", "threshold", "currency", "approval1_resource"),
            message="{judged_amount:.2f} {currency} is above the threshold of {threshold:.2f} "
                    "{currency}, approved only by {who}{second}")


def not_due_cases(facts: CaseFacts) -> list[object]:
    """The ids of the cases the rule did not judge yet at the clock, no money having left
    then: approved (at either level), not paid (no successful payout at the clock) and not
    rejected since (a rejection at or after the last approval settles the case: no money
    will leave on it). findings.json's `not_due_cases.AP003`: `diff` tells a later run's
    finding of such a case, paid since on one approval, from one this run judged and did
    not find. (The rule's check keeps them in `CaseFacts.not_due` as it judges: this
    computes them where it did not run on these facts.)"""
    c = facts.table("approval1_eid", "approval2_eid", "payout_eid", "approvals_last_time",
                    "rejections_last_time")
    found: list[object] = c.index[_waiting(c)].tolist()
    return found


def _waiting(c: pd.DataFrame) -> np.ndarray:
    """Per case of `c` (its approval1_eid, approval2_eid, payout_eid, approvals_last_time,
    rejections_last_time): approved at either level, not paid, and not rejected at or
    after its last approval (as approved-not-paid reads a rejection; NaT compares false)."""
    rejected = (c["rejections_last_time"] >= c["approvals_last_time"]).fillna(False)
    waiting = ((c["approval1_eid"].notna() | c["approval2_eid"].notna())
               & c["payout_eid"].isna() & ~rejected.astype(bool))
    return waiting.to_numpy(dtype=bool)
