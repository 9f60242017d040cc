from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class SlaBreach(Rule):
    """What it checks:
    The time from the refund request to the first successful payout exceeds the SLA.

    Why it matters:
    Refund deadlines are promised to customers and often set by law or card-scheme rules;
    breaches cost chargebacks, complaints and fines.

    Example:
    Violating (SLA 14 days): request on 2026-07-01, payout on 2026-07-16.
    Compliant: payout on 2026-07-10.
    Precedence: where this fires, `stage-overdue` is not reported for the case.

    Options:
    `sla.request_to_payout` (default 14d).

    References:
    EU Consumer Rights Directive art. 13 (refund within 14 days of withdrawal).
    """

    code = "SL001"
    name = "sla-breach"
    severity = "medium"
    summary = "Request to payout took longer than the SLA"
    options = (Option("SLA", "request to payout", "sla.request_to_payout"),)
    suppresses = ("stage-overdue",)

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payout_time", "request_time", "request_eid", "payout_eid", "currency")
        c["took"] = c["payout_time"] - c["request_time"]
        c["sla"] = facts.policy.sla
        hits = c[c["took"].notna() & (c["took"] > facts.policy.sla)]
        return self.findings(
            facts, hits, events=("request_eid", "payout_eid"), when="payout_time",
            evidence=("took", "sla"), message="request to payout took {took} (SLA {sla})")
