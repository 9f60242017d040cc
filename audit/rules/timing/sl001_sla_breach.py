from __future__ import annotations

import numpy as np

from audit import canonical as C
from audit.canonical import elapsed
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class SlaBreach(Rule):
    """What it checks:
    The time from the refund request to the first successful payout at or after it exceeds
    the SLA; or a request is still open at the audit's as-of time (no successful payout at
    or after it, not closed or rejected since) and the SLA has run out since it.

    Why it matters:
    Refund deadlines are promised to customers and often set by law or card-scheme rules;
    breaches cost chargebacks, complaints and fines.

    Example:
    Violating (SLA 14 days): request on 2026-07-01, payout on 2026-07-16.
    Violating: request on 2026-07-01, no payout, no rejection and the ticket still open at
    the as-of date 2026-10-15 (dated when the SLA ran out, 2026-07-15).
    Compliant: payout on 2026-07-10; or the request rejected, or its ticket closed.
    Precedence: where this fires, `stage-overdue` is not reported for the case.

    Options:
    `sla.request_to_payout` (default 14d), elapsed time between the UTC instants: a day is
    24 hours across a DST change too, not a calendar day of some zone (14 days and 30
    minutes on a Berlin clock over the spring change is 13 days 23.5 hours, within the
    SLA). An open request is measured to `as_of` in the
    policy or `--as-of` (default: the time of the run); a rejection overturned by a later
    approval does not close it. A close, a rejection or a payout before a request does not
    answer it, and a request after a close or a rejection reopens the case: while open, its
    clock runs from that request (a paid case's runs from its first request, whatever
    closed in between). An approved request left unpaid past its grace is
    `approved-not-paid`, which takes precedence.

    References:
    EU Consumer Rights Directive art. 13 (refund within 14 days of withdrawal).
    """

    code = "SL001"
    name = "sla-breach"
    severity = "medium"
    summary = "Request not paid within the SLA"
    options = (Option("SLA", "request to payout", "sla.request_to_payout"),
               Option("as-of", "the audit's clock (or check --as-of)", "as_of"))
    suppresses = ("stage-overdue",)

    def check(self, facts: CaseFacts) -> list[Finding]:
        sla = facts.policy.sla
        c = facts.table("payout_time", "request_time", "request_eid", "payout_eid", "currency")
        # A payout before the request does not answer it: the SLA ends at the first
        # successful payout at or after the request.
        before = (c["payout_time"] < c["request_time"]).fillna(False).to_numpy(dtype=bool)
        if before.any():
            c = c.copy()
            codes = np.flatnonzero(before)
            at = facts.paid_after_request(codes)
            later = facts.frame(np.maximum(at, 0), (C.EVENT_ID, C.TIMESTAMP))
            c.loc[c.index[codes], "payout_eid"] = later[C.EVENT_ID].where(
                at >= 0, None).to_numpy(dtype=object)
            c.loc[c.index[codes], "payout_time"] = later[C.TIMESTAMP].where(
                at >= 0).to_numpy()
        c["took"] = elapsed(c["payout_time"], c["request_time"])
        c["sla"] = sla
        paid = c[c["took"].notna() & (c["took"] > sla)]
        found = self.findings(
            facts, paid, events=("request_eid", "payout_eid"), when="payout_time",
            evidence=("took", "sla"), message="request to payout took {took} (SLA {sla})")
        # Still open at the as-of time: a request not answered by a successful payout at or
        # after it, neither closed nor rejected since (a rejection before a later approval
        # was overturned by it; a request after a close or a rejection reopens the case),
        # and the SLA over since that request. Read for the cases that can be so only: the
        # first request past the SLA, and no payout at or after it or more than one request.
        late = (c["request_eid"].notna()
                & (elapsed(facts.as_of, c["request_time"]) > sla)
                & (c["payout_eid"].isna() | (facts.col("requests_n") > 1))
                ).to_numpy(dtype=bool)
        if not late.any():
            return found
        codes = np.flatnonzero(late)
        start = facts.open_requests(codes)
        codes, start = codes[start >= 0], start[start >= 0]
        waiting = facts.at_cases(codes, "currency")
        asked = facts.frame(start, (C.EVENT_ID, C.TIMESTAMP))
        waiting["request_eid"] = asked[C.EVENT_ID].to_numpy(dtype=object)
        waiting["request_time"] = asked[C.TIMESTAMP].array
        waiting["open_for"] = elapsed(facts.as_of, waiting["request_time"])
        waiting = waiting[waiting["open_for"] > sla].copy()
        if len(waiting):
            waiting["sla"] = sla
            waiting["breached"] = waiting["request_time"] + sla
            waiting["as_of"] = facts.as_of
            found += self.findings(
                facts, waiting, events=("request_eid",), when="breached",
                evidence=("open_for", "sla", "as_of"),
                message="no payout {open_for} after the request, still open at {as_of} "
                        "(SLA {sla})")
        return found
