from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.canonical import elapsed
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts
from audit.words import duration, durations

NO_PURCHASE_BEFORE_REQUEST = "no_purchase_before_request"
"""The reason in findings.json's `unjudged_cases.EV008`: a granted refund of a channel with
a window whose case holds no purchase at or before its request, so that the window has no
start to be measured from."""


class OutsideRefundWindow(Rule):
    """What it checks:
    A refund was granted (paid out, or approved and not rejected since) although the
    customer asked for it later after the purchase than the policy's refund window for the
    case's channel allows. The window runs from the case's purchase: its last purchase (an
    activity mapped to the control `purchase` whose payment status is not failed,
    reversed or pending) at or before the case's first request. Per channel that is the
    e-commerce capture of the payment (`Capture payment`), the subscription renewal's
    charge (`Charge subscription renewal`: the renewal the refund is of, the latest one
    before the request), the store's sale (`Record store sale`). The canonical log has no
    delivery event, so an e-commerce window is measured from the charge, not from the
    delivery (a window the SOP counts from the delivery reads stricter here: set it the
    longer by the usual delivery time). The rule measures the time between the two UTC
    instants, as `sla-breach` does: a day is 24 hours, not a calendar day of some zone,
    and the time zone a source wrote its times in changes nothing (a purchase at 23:30
    Berlin time and a request 14 days later at 00:30 Berlin time are 14 days and one hour
    apart, outside a window of 14 days; one exactly 14 days after the purchase is
    inside). A late refund approved by a role the policy names under
    `refund_window.exception_approvers` is an exception the SOP accepts, not a finding.
    Not judged: a case of a channel the policy gives no window, a case stating no channel,
    a case with no request, a refund rejected and not approved since or not yet approved
    or paid (nothing granted), and a granted refund whose case holds no purchase at or
    before its request (no start to measure from): the run lists these last among its
    unjudged cases (`unjudged_cases.EV008.no_purchase_before_request`) and `check` warns,
    counting them and naming the first five (`no-prior-purchase` reports such a case where
    it was paid).

    Why it matters:
    The refund window is where the SOP, consumer law or the terms of sale stop owing a
    refund; a refund granted after it is money paid that was not owed, a favour to one
    customer, or a sign that the request date was back-dated.

    Example:
    Violating (e-commerce, window 30 days): `Capture payment` on 2026-06-01, `Receive refund
    request` on 2026-07-15, approved and paid ("refund requested 44d after the purchase
    on 2026-06-01 09:00:00 UTC (ecommerce window 30d)").
    Compliant: the request on 2026-06-30, or the late request approved by a role listed
    under `refund_window.exception_approvers`, or rejected.
    Compliant (subscription, window 14 days): renewals charged on 2026-06-01 and
    2026-07-01, the request on 2026-07-10 (9 days after the renewal it refunds).

    Options:
    `refund_window.within`, per channel (`ecommerce`, `subscription`, `offline`), a
    duration (`30d`, `2w`); a channel not listed is not judged, and a policy without
    `refund_window` judges no case (the default policy sets none: the bundled sample's
    refunds are requested up to 79 days after the purchase, and its ground truth holds no
    late refund). `refund_window.exception_approvers`: roles (`org:role` of an `approve`
    or `second-approve` event of the case) whose approval accepts a late request (default:
    none). `check` warns where the window names a channel that no case of the log states.
    The evidence keeps the times in ISO 8601 (`purchased_at`, `requested_at`) and the
    durations as ISO 8601 durations (`after`, `window`; days of 24 hours), with the case's
    `channel`.

    References:
    EU Consumer Rights Directive art. 9 (14-day withdrawal period); COSO Internal Control:
    control activities (authorisation within policy limits).
    """

    code = "EV008"
    name = "outside-refund-window"
    severity = "medium"
    logic_version = 1
    summary = "Refund granted for a request made after the refund window"
    options = (Option("window", "per channel, purchase to request", "refund_window.within"),
               Option("exception approvers", "roles whose approval accepts a late request",
                      "refund_window.exception_approvers"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        judged = _judged(facts)
        if judged is None:
            return []
        c, purchase = judged
        anchored = purchase >= 0
        hits = c[anchored].copy()
        at = purchase[anchored]
        bought = facts.frame(at, (C.EVENT_ID, C.TIMESTAMP))
        hits["purchase_eid"] = bought[C.EVENT_ID].to_numpy(dtype=object)
        hits["purchased_at"] = bought[C.TIMESTAMP].array
        hits["after"] = elapsed(hits["request_time"], hits["purchased_at"])
        hits["window"] = hits["channel"].astype(object).map(facts.policy.refund_window)
        late = (hits["after"] > pd.to_timedelta(hits["window"])).to_numpy(dtype=bool)
        hits = hits[late & ~_excepted(facts, hits.index)]
        if not len(hits):
            return []
        hits = hits.copy()
        hits["requested_at"] = hits["request_time"]
        hits["channel"] = hits["channel"].astype(object)
        hits["after_text"] = durations(hits["after"])
        hits["window_text"] = [duration(w) for w in hits["window"]]
        hits["at_risk"] = hits["payouts_sum"].where(hits["payout_eid"].notna(),
                                                    hits["approvals_min_amount"])
        return self.findings(
            facts, hits, events=("purchase_eid", "request_eid"), when="request_time",
            amount="at_risk",
            evidence=("channel", "purchased_at", "requested_at", "after", "window"),
            message="refund requested {after_text} after the purchase on {purchased_at} "
                    "({channel} window {window_text})")


def _judged(facts: CaseFacts) -> tuple[pd.DataFrame, np.ndarray] | None:
    """The granted refunds of channels with a window (paid out, or approved and not
    rejected at or after the last approval), with a request, and per such case the sorted
    position of its last purchase (not failed) at or before its first request, -1 where
    none; None where the policy sets no window."""
    windows = facts.policy.refund_window
    if not windows or not facts.has(C.CHANNEL):
        return None
    c = facts.table("channel", "request_eid", "request_time", "payout_eid", "approvals_n",
                    "approvals_last_time", "rejections_last_time", "payouts_sum",
                    "approvals_min_amount", "currency")
    approved = (c["approvals_n"].gt(0)
                & ~(c["rejections_last_time"] >= c["approvals_last_time"]).fillna(False))
    granted = c["payout_eid"].notna() | approved
    chosen = (c["channel"].isin(list(windows)).fillna(False) & c["request_eid"].notna()
              & granted).to_numpy(dtype=bool)
    c = c[chosen]
    codes = np.flatnonzero(chosen)
    # Per chosen case, its last purchase at or before its first request: the purchases'
    # sorted positions ascend by case, then time, so the largest position is the latest.
    at = np.flatnonzero(facts.mask("bought"))
    wanted = np.full(facts.n_cases, -1, dtype=np.int64)
    wanted[codes] = np.arange(len(codes))
    row = wanted[facts.case_code[at]]
    at, row = at[row >= 0], row[row >= 0]
    times = pd.Series(facts.column(C.TIMESTAMP).take(at))
    asked = pd.Series(c["request_time"].array.take(row))
    before = (times <= asked).fillna(False).to_numpy(dtype=bool)
    purchase = np.full(len(codes), -1, dtype=np.int64)
    np.maximum.at(purchase, row[before], at[before])
    return c, purchase


def _excepted(facts: CaseFacts, cases: pd.Index) -> np.ndarray:
    """Per case of `cases`: an approval (either level) of it by a role the policy lists
    under `refund_window.exception_approvers` (roles compared as unauthorized-approver
    compares them: "Finance" is finance)."""
    roles = facts.policy.refund_window_exception_roles
    out = np.zeros(len(cases), dtype=bool)
    if not roles or not len(cases) or not facts.has(C.ROLE):
        return out
    from audit.rules.lanes import role_keys
    from conformance.bpmn import role_key

    allowed = {role_key(r) for r in roles}
    at = np.flatnonzero(facts.mask("approve", "second-approve"))
    keyed = role_keys(pd.Series(facts.column(C.ROLE).take(at)))
    by = at[keyed.isin(allowed).fillna(False).to_numpy(dtype=bool)]
    marked = np.zeros(facts.n_cases, dtype=bool)
    marked[facts.case_code[by]] = True
    out[:] = marked[facts.case_ids.get_indexer(cases)]
    return out


def unjudged_cases(facts: CaseFacts) -> list[object]:
    """The ids of the granted refunds of a channel with a window whose case holds no
    purchase at or before its request (sorted, as `CaseFacts.case_ids`): findings.json's
    `unjudged_cases.EV008.no_purchase_before_request`, which `diff` reads and check
    warns of."""
    judged = _judged(facts)
    if judged is None:
        return []
    c, purchase = judged
    found: list[object] = c.index[purchase < 0].tolist()
    return found


__all__ = ["NO_PURCHASE_BEFORE_REQUEST", "OutsideRefundWindow", "unjudged_cases"]
