from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.canonical import elapsed
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts
from audit.words import duration, durations


class SlaBreach(Rule):
    """What it checks:
    Per refund episode of a case: the time from the request that opened it to its first
    successful payout exceeds the SLA; or the case's last episode is still open at the
    audit's as-of time (not paid, not closed or rejected since its request) and the SLA has
    run out since its request. An episode opens at a case's first request and at the first
    request after a close or a standing rejection; a payout belongs to the last episode
    opened at or before it. Each late episode is a finding of its own, dated at its payout
    (or when its SLA ran out) and naming its own request and payout.

    Why it matters:
    Refund deadlines are promised to customers and often set by law or card-scheme rules;
    breaches cost chargebacks, complaints and fines.

    Example:
    Violating (SLA 14 days): request on 2026-07-01, payout on 2026-07-16 ("request to payout
    took 15d (SLA 14d)").
    Violating: request on 2026-07-01, no payout, no rejection and the ticket still open at
    the as-of date 2026-10-15 (dated when the SLA ran out, 2026-07-15).
    Compliant: payout on 2026-07-10; or the request rejected, or its ticket closed.
    Compliant: request on 2026-07-01, ticket closed on 2026-07-02, asked again on 2026-08-01
    and paid on 2026-08-05 (4 days after the request that reopened the case, as the same
    case still open would be timed).
    Precedence: where this fires, `stage-overdue` is not reported for the same episode
    (its request); another episode's late stages of the case are.

    Options:
    `sla.request_to_payout` (default 14d), elapsed time between the UTC instants: a day is
    24 hours across a DST change too, not a calendar day of some zone (14 days and 30
    minutes on a Berlin clock over the spring change is 13 days 23.5 hours, within the
    SLA). An open request is measured to `as_of` in the
    policy or `--as-of` (default: the time of the run); `check` judges the log as it stood
    then, so a payout dated after the clock is not yet made: the request is open at the
    clock (and a breach only if its SLA ran out by then); a rejection overturned by a later
    approval ends no episode. A close, a rejection or a payout before a request does not
    answer it (a close or a rejection at the same time as a request ends its episode); a
    payout after a close with no request since answers the request the close ended. An
    approved request left unpaid past its grace is `approved-not-paid`, which takes
    precedence. Messages tell durations in days, hours, minutes and seconds ("16d 6h");
    the evidence keeps them as ISO 8601 durations ("P16DT6H", `took`, `open_for`, `sla`;
    days of 24 hours). The evidence names the episode's clock, ISO
    8601 UTC as the other evidence times: `requested_at`, the request it started at, and
    `paid_at`, the payout it stopped at (`took` is the time between them); for an episode
    still open, `paid_at` is null and `as_of` the time `open_for` was measured to (as
    `stage-overdue`'s open stage has no `ended` and its `open_at`). Each episode of a
    reopened case names its own request and payout.

    References:
    EU Consumer Rights Directive art. 13 (refund within 14 days of withdrawal).
    """

    code = "SL001"
    name = "sla-breach"
    severity = "medium"
    logic_version = 1
    per_request = True
    summary = "Request not paid within the SLA"
    options = (Option("SLA", "request to payout", "sla.request_to_payout"),
               Option("as-of", "the audit's clock (or check --as-of)", "as_of"))
    suppresses = ("stage-overdue",)

    def check(self, facts: CaseFacts) -> list[Finding]:
        sla = facts.policy.sla
        c = facts.table("payout_time", "request_time", "request_eid", "payout_eid", "currency")
        # A case of one episode (`CaseFacts.episodes`) from its first request, answered by
        # its first successful payout, is read from the per-case columns. The cases of more
        # than one request, or paid before their request, are read episode by episode.
        several = ((facts.col("requests_n") > 1)
                   | (c["payout_time"] < c["request_time"]).fillna(False)).to_numpy(dtype=bool)
        took = elapsed(c["payout_time"], c["request_time"])
        over = ~several & (took.notna() & (took > sla)).to_numpy(dtype=bool)
        paid = c[over].copy()
        paid["took"] = took[over]
        # Still open at the as-of time, its SLA over: the cases of one episode, its request
        # past the SLA and no payout, open on it where not closed nor rejected since (read
        # for those only), and every case read episode by episode.
        waits = (~several & c["request_eid"].notna().to_numpy(dtype=bool)
                 & c["payout_eid"].isna().to_numpy(dtype=bool)
                 & (elapsed(facts.as_of, c["request_time"]) > sla).to_numpy(dtype=bool))
        codes = np.flatnonzero(several | waits)
        found = facts.episodes(codes)
        # The late payouts of the episodes of the cases read by episode.
        answered = found.payout >= 0
        answered[answered] &= several[found.case[answered]]
        asked = facts.frame(found.request[answered], (C.EVENT_ID, C.TIMESTAMP))
        payouts = facts.frame(found.payout[answered], (C.EVENT_ID, C.TIMESTAMP))
        more = facts.at_cases(found.case[answered], "currency")
        more["request_eid"] = asked[C.EVENT_ID].to_numpy(dtype=object)
        more["request_time"] = asked[C.TIMESTAMP].array
        more["payout_eid"] = payouts[C.EVENT_ID].to_numpy(dtype=object)
        more["payout_time"] = payouts[C.TIMESTAMP].array
        more["took"] = elapsed(more["payout_time"], more["request_time"])
        more["at"] = found.case[answered]
        paid["at"] = np.flatnonzero(over)
        more = more[(more["took"] > sla).to_numpy(dtype=bool)]
        if len(more):  # (in the order of the cases, then of their episodes)
            paid = pd.concat([paid, more[paid.columns]])
            paid = paid.iloc[np.argsort(paid["at"].to_numpy(), kind="stable")]
        paid["sla"] = sla
        paid["requested_at"] = paid["request_time"]
        paid["paid_at"] = paid["payout_time"]
        paid["took_text"] = durations(paid["took"])
        paid["sla_text"] = duration(sla)
        out = self.findings(
            facts, paid, events=("request_eid", "payout_eid"), when="payout_time",
            evidence=("requested_at", "paid_at", "took", "sla"),
            message="request to payout took {took_text} (SLA {sla_text})")
        # The last episode of a case, neither ended (closed, or rejected with no approval
        # after) nor paid, open since its request and over the SLA.
        still = found.last & ~found.ended & (found.payout < 0)
        waiting = facts.at_cases(found.case[still], "currency")
        asked = facts.frame(found.request[still], (C.EVENT_ID, C.TIMESTAMP))
        waiting["request_eid"] = asked[C.EVENT_ID].to_numpy(dtype=object)
        waiting["request_time"] = asked[C.TIMESTAMP].array
        waiting["open_for"] = elapsed(facts.as_of, waiting["request_time"])
        waiting = waiting[(waiting["open_for"] > sla).to_numpy(dtype=bool)].copy()
        if len(waiting):
            waiting["sla"] = sla
            waiting["breached"] = waiting["request_time"] + sla
            waiting["requested_at"] = waiting["request_time"]
            waiting["paid_at"] = None  # (no payout: as stage-overdue's open stage's `ended`)
            waiting["as_of"] = facts.as_of
            waiting["open_text"] = durations(waiting["open_for"])
            waiting["sla_text"] = duration(sla)
            out += self.findings(
                facts, waiting, events=("request_eid",), when="breached",
                evidence=("requested_at", "paid_at", "as_of", "open_for", "sla"),
                message="no payout {open_text} after the request, still open at {as_of} "
                        "(SLA {sla_text})")
        return out
