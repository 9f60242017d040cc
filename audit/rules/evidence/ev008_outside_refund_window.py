from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit import canonical as C
from audit.canonical import elapsed
from audit.findings import Finding
from audit.policy import Policy
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
    case's channel allows. The request measured is the one the grant answers: the last
    before the case's first approval or payout after its last rejection (asked in time,
    rejected, asked again late: the late one). The window runs from the purchase (an
    activity mapped to `purchase` whose payment status is not failed, reversed or pending)
    at or before that request whose charge id a payout of the case names, else the last
    one at or before it: the e-commerce capture (`Capture payment`), the subscription
    renewal's charge (`Charge subscription renewal`: the one the payout names, else the
    latest), the store's sale (`Record store sale`). The canonical log has no delivery
    event, so an e-commerce window is measured from the charge, not from the
    delivery (a window the SOP counts from the delivery reads stricter here: set it the
    longer by the usual delivery time). The rule measures the time between the two UTC
    instants, as `sla-breach` does: a day is 24 hours, not a calendar day of some zone,
    and the time zone a source wrote its times in changes nothing (a purchase at 23:30
    Berlin time and a request 14 days later at 00:30 Berlin time are 14 days and one hour
    apart, outside a window of 14 days; one exactly 14 days after the purchase is
    inside). A late refund approved by a role the policy names under
    `refund_window.exception_approvers` is an exception the SOP accepts, not a finding:
    an approval (either level) at or after the request, after the last rejection, and not
    after the first payout. One before the request, one rejected since, or one only after
    the payout (retroactive, not an exception given before paying: the message says "an
    exception approval came only after the payout") accepts nothing.
    Not judged: a case of a channel the policy gives no window, a case stating no channel,
    a case with no request, a refund rejected and not approved since or not yet approved
    or paid (nothing granted), and a granted refund whose case holds no purchase at or
    before its request (no start to measure from): the run lists these last among its
    unjudged cases (`unjudged_cases.EV008.no_purchase_before_request`) and `check` warns,
    counting them and naming the first five (`no-prior-purchase` reports such a case where
    it was paid with no purchase before the payout; one whose purchase comes between the
    request and the payout neither rule reports).

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
    late refund; the reports say the rule is "not configured", and `diff` calls an earlier
    finding of it not re-judged); a `refund_window` without `within` is refused.
    `refund_window.exception_approvers`: roles (`org:role` of an `approve` or
    `second-approve` event) whose approval accepts a late request (default: none; `check`
    warns of one close to a recorded role that no event records: a typo). `check` warns
    where the window names a channel that no case of the log states.
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

    def not_configured(self, policy: Policy) -> str | None:
        return None if policy.refund_window else "the policy sets no refund_window"

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
        excepted, retroactive = _excepted(facts, hits)
        hits["note"] = np.where(retroactive, "; an exception approval came only after the "
                                "payout", "")
        hits = hits[late & ~excepted]
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
                    "({channel} window {window_text}){note}")


_NEVER = np.iinfo(np.int64).max
_ALWAYS = np.iinfo(np.int64).min


def _us(values: object) -> npt.NDArray[np.int64]:
    """UTC instants as int64 microseconds (one unit whatever unit the log's times are held
    in; microseconds hold any time a log holds, see `canonical.elapsed`); a missing time as
    `_NEVER`."""
    index = pd.DatetimeIndex(pd.Series(values)).as_unit("us")
    out = index.asi8.copy()
    out[index.isna()] = _NEVER
    return out


def _judged(facts: CaseFacts) -> tuple[pd.DataFrame, np.ndarray] | None:
    """The granted refunds of channels with a window (paid out, or approved and not
    rejected at or after the last approval), with a request, and per such case the sorted
    position of its purchase, -1 where none; None where the policy sets no window.

    The request measured is the one the grant answers: the case's last request at or
    before its grant (its first approval or payout after its last rejection; where none
    follows the rejection, its first approval or payout), else its first request. The
    purchase is the latest one at or before that request whose charge id a payout of the
    case names, else the latest one at or before that request. Adds per case
    `request_eid`/`request_time` (of that request), `rejected_us` (its last rejection,
    `_ALWAYS` where none) and `first_paid_us` (its first payout after that rejection,
    `_NEVER` where none)."""
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
    c = c[chosen].copy()
    codes = np.flatnonzero(chosen)
    n = len(codes)
    wanted = np.full(facts.n_cases, -1, dtype=np.int64)
    wanted[codes] = np.arange(n)
    stamps = facts.column(C.TIMESTAMP)

    def events(*controls: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                        npt.NDArray[np.int64]]:
        """The chosen cases' events of `controls` with a time: positions, rows, times."""
        at = np.flatnonzero(facts.mask(*controls))
        row = wanted[facts.case_code[at]]
        at, row = at[row >= 0], row[row >= 0]
        t = _us(stamps.take(at))
        timed = t != _NEVER
        return at[timed], row[timed], t[timed]

    rejected = _us(c["rejections_last_time"].array)
    rejected[rejected == _NEVER] = _ALWAYS
    # The grant: the first approval or payout after the last rejection, else the first.
    _, g_row, g_t = events("approve", "second-approve", "paid")
    grant = np.full(n, _NEVER, dtype=np.int64)
    after = g_t > rejected[g_row]
    np.minimum.at(grant, g_row[after], g_t[after])
    first = np.full(n, _NEVER, dtype=np.int64)
    np.minimum.at(first, g_row, g_t)
    grant = np.where(grant == _NEVER, first, grant)
    p_at, p_row, p_t = events("paid")
    first_paid = np.full(n, _NEVER, dtype=np.int64)
    later = p_t > rejected[p_row]
    np.minimum.at(first_paid, p_row[later], p_t[later])
    # The request the grant answers: the last at or before it (positions ascend by case,
    # then time, so the largest position is the latest), else the first request.
    r_at, r_row, r_t = events("request")
    request = np.full(n, -1, dtype=np.int64)
    asked = r_t <= grant[r_row]
    np.maximum.at(request, r_row[asked], r_at[asked])
    answered = request >= 0
    if answered.any():
        chosen_request = facts.frame(request[answered], (C.EVENT_ID, C.TIMESTAMP))
        eids = c["request_eid"].to_numpy(dtype=object)
        eids[answered] = chosen_request[C.EVENT_ID].to_numpy(dtype=object)
        c["request_eid"] = eids
        times = c["request_time"].copy()
        times.iloc[np.flatnonzero(answered)] = chosen_request[C.TIMESTAMP].array
        c["request_time"] = times
    request_us = _us(c["request_time"].array)
    c["rejected_us"] = rejected
    c["first_paid_us"] = first_paid
    # Per chosen case, its purchase at or before that request: the last one whose charge
    # a payout of the case names, else the last one.
    b_at, b_row, b_t = events("bought")
    before = b_t <= request_us[b_row]
    b_at, b_row = b_at[before], b_row[before]
    purchase = np.full(n, -1, dtype=np.int64)
    np.maximum.at(purchase, b_row, b_at)
    if facts.has(C.CHARGE_ID) and len(b_at) and len(p_at):
        ids = facts.column(C.CHARGE_ID).take(np.r_[p_at, b_at])
        named = ~np.asarray(pd.isna(ids), dtype=bool)
        charge, _ = C.sorted_codes(ids)
        charge = np.asarray(charge, dtype=np.int64)
        keys = np.r_[p_row, b_row] * (int(charge.max(initial=0)) + 2) + charge
        paid_keys = keys[:len(p_at)][named[:len(p_at)]]
        match = np.isin(keys[len(p_at):], paid_keys) & named[len(p_at):]
        by_charge = np.full(n, -1, dtype=np.int64)
        np.maximum.at(by_charge, b_row[match], b_at[match])
        purchase = np.where(by_charge >= 0, by_charge, purchase)
    return c, purchase


def _excepted(facts: CaseFacts, cases: pd.DataFrame
              ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per case of `cases` (rows of `_judged`'s table): (an approval, either level, by a
    role the policy lists under `refund_window.exception_approvers`, at or after the
    measured request, after the case's last rejection and at or before its first payout
    after it: the exception; such an approval only after that payout: a retroactive one,
    not an exception, that the finding's message tells). Roles are compared as
    unauthorized-approver compares them: "Finance" is finance."""
    roles = facts.policy.refund_window_exception_roles
    out = np.zeros(len(cases), dtype=bool)
    late = np.zeros(len(cases), dtype=bool)
    if not roles or not len(cases) or not facts.has(C.ROLE):
        return out, late
    from audit.rules.lanes import role_keys
    from conformance.bpmn import role_key

    allowed = {role_key(r) for r in roles}
    at = np.flatnonzero(facts.mask("approve", "second-approve"))
    rows = np.full(facts.n_cases, -1, dtype=np.int64)
    rows[facts.case_ids.get_indexer(cases.index)] = np.arange(len(cases))
    row = rows[facts.case_code[at]]
    at, row = at[row >= 0], row[row >= 0]
    keyed = role_keys(pd.Series(facts.column(C.ROLE).take(at)))
    by = keyed.isin(allowed).fillna(False).to_numpy(dtype=bool)
    at, row = at[by], row[by]
    t = _us(facts.column(C.TIMESTAMP).take(at))
    asked = _us(cases["request_time"].array)[row]
    since = (t != _NEVER) & (t >= asked) & (t > cases["rejected_us"].to_numpy()[row])
    before_pay = t <= cases["first_paid_us"].to_numpy()[row]
    out[row[since & before_pay]] = True
    late[row[since & ~before_pay]] = True
    return out, late & ~out


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
