from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts
from audit.words import moment


class MissingEvidence(Rule):
    """What it checks:
    A refund case with a ticket lacks an evidence item its channel requires: no event of the
    case has a value in that `evidence:*` column, or, in a paid case, none by the time of its
    first successful payout (the item was first recorded after the money left: the payout
    did not rest on it). A refund is judged once its money left or its leaving was
    decided: paid, or approved and not rejected since (one rejected or not yet decided
    moved no money, and its evidence is not due). An approved refund in progress at the
    audit's clock is not judged yet: not paid or closed, and an event less than
    `conformance.running_for` (default 14d) before the clock; its evidence is due by its
    payout (approved yesterday, its evidence still to be recorded before the payout, is no
    finding). Idle that long, or closed, it is judged as ended. With the policy's
    `evidence_due: approval` the items are due by the approval instead (the approver
    decides on them): by the approval the payout rests on, the case's first approval
    (either level) at or before its first successful payout not withdrawn by a later
    rejection (nor ended by a close the refund was asked for again after); an item first
    recorded after it came late, and an
    approved case is judged at once, in progress or not (its approval was given, with the
    evidence or without).
    An item whose content contradicts its case is no evidence of the refund either (the
    log's evidence items are references, so only two contents are judged, where the value
    is one the check can read): `evidence:order` naming an order id the log knows (the
    `order:id` of an event, of any case, not itself holding an `evidence:order`: one
    stated only beside such an item may be copied from it) that is none of the case's own
    orders, in a case stating one (another customer's order); and
    `evidence:renewal_date` written as a date (YYYY-MM-DD) after the date of the case's
    first request with no successful charge of the case (a purchase not failed) on or
    after that date less 7 days (a renewal after the request, neither billed ahead of its
    date nor charged since, is not one the case paid for: the renewal date must be that of
    the charge refunded).

    Why it matters:
    The decision to refund must rest on evidence an auditor can re-perform: for e-commerce the
    order and the payment voucher, for subscriptions the renewal date and the usage, for
    offline stores the receipt and a photo.

    Example:
    Violating (offline): `Collect evidence` with `evidence:receipt` = receipt-1.jpg and no
    `evidence:photo` anywhere in the case; or the photo recorded only on an event after
    `Execute payout`. With `evidence_due: approval`, also the photo recorded between
    `Approve refund` and `Execute payout` (the approver did not see it).
    Violating: `evidence:photo` = "n/a" (a placeholder), no other photo in the case.
    Violating (e-commerce): `evidence:order` = O-2, the order of another case, in a case
    whose order is O-1. Violating (subscription): `evidence:renewal_date` = 2026-07-09 in
    a case requested on 2026-07-01 whose renewal was charged on 2026-06-09 (the previous
    period's). Compliant (billed ahead): the same date in a case charged on 2026-07-06 and
    requested on 2026-07-07.
    Compliant: both columns filled on some event of the case at or before its first
    successful payout (or anywhere in a case approved and not paid, once closed or idle
    `running_for`); approved with no evidence yet, its last event less than `running_for`
    before the clock.
    Not judged: a refund rejected without evidence (no money left on it).

    Options:
    `evidence.<channel>`: the required `evidence:*` columns per channel, read as written
    (`check` warns of a log column spelt like one but for letter case, spaces and
    separators, `evidence:Photo` for `evidence:photo`, whose cases are found without the
    item). Cases without a
    channel (counted in a warning of `check`), or of a channel with no requirement, are not
    judged; nor is a ticket with neither a request nor a payout, nor a refund neither paid
    nor approved (rejected, an approval withdrawn by a later rejection, or not yet decided:
    no money left on it, and its evidence is not due). A case approved and not yet paid is
    judged (the approval decided to pay) once closed or idle `running_for` (in progress
    before, as above), and so is one paid after a rejection. A case paid
    without a request is judged (its finding names the payout). An item recorded at the
    payout's very time counts as before it; an event without a time is not taken for a late
    one, nor is any item of a case whose payout has no time. A failed payout is no payout here: the
    money left with the first successful one. The finding's evidence names the items missing
    (`missing`, a list of the items' names without the `evidence:` prefix, in the policy's
    order: `[]` where none is missing and an item only came late) and, where an item came
    late, those first recorded after the payout (`after_payout`, a list), the payout's time
    (`paid_at`) and the earliest of their first records (`first_recorded_after_payout`, ISO
    8601); it then names among its events the
    payout and the event that first recorded each late item (a value contradicting its
    case, below, recorded earlier is no record of it), and its message tells each
    one's time ("paid on 2026-09-03 10:00:00 UTC before its required evidence was
    recorded: photo (first recorded 2026-09-06 10:00:00 UTC)"). A placeholder typed in
    place of an item is no evidence: a value with no letter or digit (`-`, `?`) or, in any
    letter case, `n/a`, `n.a.`, `na`, `none`, `null`, `nil`, `tbd`, `todo`, `pending`,
    `missing` or `unknown` as the whole value (`N/A-2026-001` is an id); the items
    missing that a case holds only so are named again in `placeholder` (a list), and the
    message says so. Likewise the items missing that a case holds only with a content
    contradicting it are named in `contradicted` (a list), the message telling how ("order
    recorded only naming another case's order", "renewal_date recorded only dated after
    the refund request and more than 7 days after every charge of the case"). An
    `evidence:order` naming no order the log knows (a document,
    `order-17.pdf`, or an order id no event states but one holding an `evidence:order`)
    is not judged, nor is one in a case
    stating no order; a renewal date in another form (`9 July 2026`), or in a case without
    a request time, or in a case holding a charge without a time (it may be the
    renewal's), is not judged; a renewal date is compared with the request's and the
    charges' dates where they were latest on earth (their UTC time plus 14 hours), so a
    date written in the customer's zone is never taken for a later one. A subscription
    billed ahead (the renewal charged up to 7 days before its date, the refund requested
    between the charge and that date) or charged on its date after the request (asked to
    cancel, charged all the same) holds a renewal date after the request that agrees
    with its charge: not contradicted. Only the case's own charges are compared (a
    renewal charged in another case of the order is not seen). Receipts, photos, payment
    vouchers and usage are references to documents in the log (`receipt-17.jpg`, `20 of
    30 days used`): their content (a receipt's date, a usage after the cancellation) is not
    in the log to judge.
    `conformance.running_for` (default 14d; `0d`: every case judged as ended): how recent
    an event keeps an approved case not paid or closed in progress.
    `evidence_due` (`payout`, the default, or `approval`): by when the items are due. With
    `approval`, by the approval the payout rests on: the case's first approval of either
    level (a second-level approval later rests on the first approver's decision, so an
    item recorded between the two came late for the first) at or before its first
    successful payout, not withdrawn by a rejection at or after it (an appeal's approval
    after a rejection is the deciding one) nor ended by a close at or after it followed by
    a new request at or before the payout (a refund asked for again after its ticket was
    closed is decided anew; a close it was never asked for again after, or one at the
    payout's very time, ends nothing: the payout rests on the approval); where the case has no
    such approval (never approved: missing-approval finds it; approved only after the
    payout: approval-after-payout finds it; the approval without a time) its items are due
    by the payout as with `payout`, and the finding tells them so. An approved case, paid
    or not, is then judged in progress too (its approval was given). An item recorded at the
    approval's very time counts as before it. The late items are named in `after_approval`
    (in place of `after_payout`), with the approval's time (`approved_at`) and the
    earliest of their first records (`first_recorded_after_approval`); the finding names
    the approval among its events, and its message tells each time ("approved on
    2026-09-02 10:00:00 UTC before its required evidence was recorded: photo (first
    recorded 2026-09-02 15:00:00 UTC)"). The amount at risk is the case's payouts, as
    with `payout`.

    References:
    ISA 500 (audit evidence); the refund SOP's evidence step.
    """

    code = "EV001"
    name = "missing-evidence"
    severity = "medium"
    logic_version = 2
    summary = "Required evidence for the channel is missing"
    options = (Option("required evidence", "evidence:* columns per channel", "evidence"),
               Option("running for", "a case not paid, closed or rejected, with an event "
                      "this recent, is in progress: not judged yet", "conformance.running_for"),
               Option("evidence due", "payout (default) or approval: the evidence is due by "
                      "the first successful payout, or by the approval the payout rests on",
                      "evidence_due"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        required = facts.policy.required_evidence
        columns = sorted({c for cols in required.values() for c in cols})
        held = [column for column in columns if facts.has(column)]

        real_of: dict[str, np.ndarray] = {}

        def given(column: str) -> np.ndarray:
            """Per event: a value that is no placeholder (see `_placeholder`); made once a
            column (read for the items' presence and again for when a late one came)."""
            if column not in real_of:
                real_of[column] = _real(facts.column(column))
            return real_of[column]

        def stated(column: str) -> np.ndarray:
            """Per event: any value, a placeholder too."""
            return ~np.asarray(facts.column(column).isna(), dtype=bool)

        # The events holding any item, and of them those at or before their case's first
        # successful payout (all of a case not paid, or paid by a payout without a time:
        # nothing to compare with). Times compared at those events alone, as integers; a
        # missing time (NaT, the smallest integer) counts as before. (Each column's mask
        # made again below, not held: at 1M cases 7.3 MB a column.)
        holding = np.zeros(facts.n_events, dtype=bool)
        for column in held:
            holding |= stated(column)
        at = np.flatnonzero(holding)
        del holding
        limit = _payout_limits(facts)
        times = facts.column(C.TIMESTAMP)
        # evidence_due: approval: due by the approval the payout rests on, where the case
        # has one (`_deciding_approvals`); else by the payout as above.
        approved_at, approval_eid = _deciding_approvals(facts, limit)
        by_approval = approval_eid >= 0
        limit = np.where(by_approval, approved_at, limit)
        cases = facts.case_code[at]
        by_payout = _stamps(times.take(at)) <= limit[cases]
        none = np.zeros(facts.n_cases, dtype=bool)
        present: dict[str, np.ndarray] = dict.fromkeys(columns, none)
        in_time: dict[str, np.ndarray] = dict.fromkeys(columns, none)
        placeheld: dict[str, np.ndarray] = dict.fromkeys(columns, none)
        contradicted: dict[str, np.ndarray] = dict.fromkeys(columns, none)
        # Per column whose content is judged: the events whose value contradicts its case
        # (kept for when a late item came: its first value that is evidence of the case).
        wrong_of: dict[str, np.ndarray] = {}
        for column in held:
            real = given(column)[at]  # (every event holding it is among `at`)
            there = real
            wrong = _contradicting(facts, column)
            if wrong is not None:  # (an item whose content contradicts its case: none)
                wrong_of[column] = wrong
                contradicted[column] = np.zeros(facts.n_cases, dtype=bool)
                contradicted[column][cases[real & wrong[at]]] = True
                there = real & ~wrong[at]
            present[column] = np.zeros(facts.n_cases, dtype=bool)
            present[column][cases[there]] = True
            placeheld[column] = np.zeros(facts.n_cases, dtype=bool)
            placeheld[column][cases[stated(column)[at] & ~real]] = True
            in_time[column] = np.zeros(facts.n_cases, dtype=bool)
            in_time[column][cases[there & by_payout]] = True
        c = facts.table("has_ticket", "request_eid", "channel", "request_time", "payouts_sum",
                        "currency", "payout_eid", "payout_time", "first_close_time",
                        "approvals_last_time", "rejections_last_time")
        # The request, else (paid without one) the first payout: what the finding names.
        c["anchor_eid"] = c["request_eid"].where(c["request_eid"].notna(), c["payout_eid"])
        c["anchor_time"] = c["request_time"].where(c["request_time"].notna(), c["payout_time"])
        # Judged once the money left or its leaving was decided: paid, or approved and not
        # rejected since (a rejection at or after the last approval withdraws it; NaT
        # compares false). A refund rejected or not yet decided moved no money and was
        # found all the same (medium, nothing at risk): its evidence is not due.
        # An approved case in progress at the clock (not paid or closed, an event less than
        # conformance.running_for before the clock) has not reached the payout its
        # evidence is due by: not judged yet (idle that long, it is judged as ended).
        candidate, due = _candidate_and_due(facts, c, by_approval)
        judged = candidate & due
        # (the cases left for a later clock, kept for findings.json's not_due_cases:
        # engine.side_facts reads them, not computing them again)
        facts.not_due[self.code] = _left_for_later(facts, c, candidate, due)
        missing: list[tuple[str, np.ndarray]] = []
        late: list[tuple[str, np.ndarray]] = []
        late_columns: list[str] = []
        only_placeholder: list[tuple[str, np.ndarray]] = []
        only_contradicted: list[tuple[str, np.ndarray]] = []
        for channel, needed in required.items():
            in_channel = judged & c["channel"].eq(channel).fillna(False).to_numpy(dtype=bool)
            for column in needed:
                name = column.removeprefix(C.EVIDENCE_PREFIX)
                missing.append((name, in_channel & ~present[column]))
                late.append((name, in_channel & present[column] & ~in_time[column]))
                late_columns.append(column)
                only_placeholder.append(
                    (name, in_channel & ~present[column] & placeheld[column]))
                only_contradicted.append(
                    (name, in_channel & ~present[column] & contradicted[column]))
        hit = np.zeros(len(c), dtype=bool)
        for _, lacking in (*missing, *late):
            hit |= lacking
        hits = c[hit].copy()
        # The items as lists in the evidence (`missing` always: [] where none is missing,
        # only late), joined in the message.
        hits["missing"] = pd.Series(_names(missing, hit), index=hits.index, dtype=object)
        hits["after_payout"] = pd.Series(_names(late, hit), index=hits.index, dtype=object)
        hits["placeholder"] = pd.Series(_names(only_placeholder, hit), index=hits.index,
                                        dtype=object)
        hits["contradicted"] = pd.Series(_names(only_contradicted, hit), index=hits.index,
                                         dtype=object)
        came_late = np.fromiter(map(bool, hits["after_payout"]), dtype=bool, count=len(hits))
        # Where the evidence was due by an approval (evidence_due: approval), the late items
        # are told against it: named `after_approval`, the approval cited and its time told.
        rows = np.flatnonzero(hit)
        to_approval = by_approval[rows]
        hits["late_payout_eid"] = hits["payout_eid"].where(came_late & ~to_approval, None)
        approval_eids = facts.column(C.EVENT_ID).take(np.maximum(approval_eid[rows], 0))
        hits["late_approval_eid"] = pd.Series(
            np.asarray(approval_eids, dtype=object), index=hits.index).where(
            came_late & to_approval, None)
        approval_times = pd.Series(pd.DatetimeIndex(
            facts.column(C.TIMESTAMP).take(np.maximum(approval_eid[rows], 0))),
            index=hits.index)
        # Per late item: the event that first recorded it (after the payout, cited) and its
        # time (told), so the committee sees when the money left and when the item came.
        told: list[list[str]] = [[] for _ in rows]
        cited: list[list[object]] = [[] for _ in rows]
        first_late = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[ns]")
        eids, stamps = facts.column(C.EVENT_ID), facts.column(C.TIMESTAMP)
        for (name, lacking), column in zip(late, late_columns, strict=True):
            came = np.flatnonzero(lacking[hit])
            if not len(came):
                continue
            # (its first value that is evidence of the case: one contradicting it, maybe
            # recorded before the approval or payout, is none)
            evidence = given(column)
            if column in wrong_of:
                evidence = evidence & ~wrong_of[column]
            where = facts.first_of(evidence)[rows[came]]
            at_times = pd.DatetimeIndex(stamps.take(where)).tz_convert("UTC").tz_localize(None)
            for i, eid, when in zip(came, eids.take(where), at_times, strict=True):
                told[i].append(f"{name} (first recorded {moment(when)})")
                cited[i].append(eid)
                if np.isnat(first_late[i]) or when.to_datetime64() < first_late[i]:
                    first_late[i] = when.to_datetime64()
        hits["late_item_eids"] = pd.Series(cited, index=hits.index, dtype=object)
        first_recorded = pd.Series(pd.DatetimeIndex(first_late).tz_localize("UTC"),
                                   index=hits.index)
        hits["after_approval"] = hits["after_payout"].where(to_approval, pd.Series(
            [[] for _ in rows], index=hits.index, dtype=object))
        hits["after_payout"] = hits["after_payout"].where(~to_approval, pd.Series(
            [[] for _ in rows], index=hits.index, dtype=object))
        hits["paid_at"] = hits["payout_time"].where(came_late & ~to_approval)
        hits["first_recorded_after_payout"] = first_recorded.where(came_late & ~to_approval)
        hits["approved_at"] = approval_times.where(came_late & to_approval)
        hits["first_recorded_after_approval"] = first_recorded.where(came_late & to_approval)
        paid_on = [(f"approved on {moment(a)}" if by_appr else f"paid on {moment(t)}")
                   if late_now else "" for t, a, by_appr, late_now in
                   zip(hits["payout_time"].tolist(), approval_times.tolist(),
                       to_approval.tolist(), came_late.tolist(), strict=True)]
        hits["what"] = [
            "; ".join(part for part in (
                f"without required evidence: {', '.join(m)}" + (
                    f" ({', '.join(p)} recorded only as a placeholder such as 'n/a' or '-')"
                    if p else "") + (
                    " (" + "; ".join(f"{name} recorded only {CONTRADICTIONS[name]}"
                                     for name in x) + ")" if x else "") if m else "",
                f"{on} before its required evidence was recorded: "
                + ", ".join(items) if items else "") if part)
            for m, p, x, on, items in zip(hits["missing"].tolist(),
                                          hits["placeholder"].tolist(),
                                          hits["contradicted"].tolist(), paid_on, told,
                                          strict=True)]
        found = self.findings(
            facts, hits, events=("anchor_eid", "late_payout_eid", "late_approval_eid",
                                 "late_item_eids"),
            when="anchor_time", amount="payouts_sum",
            evidence=("channel", "missing", "after_payout", "after_approval", "placeholder",
                      "contradicted", "paid_at", "first_recorded_after_payout",
                      "approved_at", "first_recorded_after_approval"),
            message="{channel} refund {what}")
        for finding in found:  # (each named only where it holds an item)
            for key, of in (("after_payout", "after_payout"), ("placeholder", "placeholder"),
                            ("contradicted", "contradicted"),
                            ("paid_at", "after_payout"),
                            ("first_recorded_after_payout", "after_payout"),
                            ("after_approval", "after_approval"),
                            ("approved_at", "after_approval"),
                            ("first_recorded_after_approval", "after_approval")):
                if not finding.evidence.get(of):
                    del finding.evidence[key]
        return found


def _candidate_and_due(facts: CaseFacts, c: pd.DataFrame, by_approval: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per case of `c` (every case, in order): whether it is one the rule judges at some
    clock (a ticket, with a request or a payout), and whether its evidence is due at this
    clock (paid, or approved and not rejected since, and not in progress; or, with
    evidence_due: approval, in progress but with the approval its evidence was due by,
    `by_approval`: that approval was given, with the evidence or without it). `c` holds
    has_ticket, anchor_eid, payout_eid, approvals_last_time, rejections_last_time and
    first_close_time."""
    approved, rejected = c["approvals_last_time"], c["rejections_last_time"]
    decided = c["payout_eid"].notna() | (
        approved.notna() & ~(rejected >= approved).fillna(False))
    candidate = (c["has_ticket"] & c["anchor_eid"].notna()).to_numpy(dtype=bool)
    return candidate, decided.to_numpy(dtype=bool) & (~_in_progress(facts, c) | by_approval)


def _payout_limits(facts: CaseFacts) -> np.ndarray:
    """Per case: the time (an integer) of its first successful payout, the largest where it
    has none or one without a time (nothing to compare with)."""
    paid_at = facts.first_of(facts.mask("paid"))
    paid = paid_at >= 0
    limit = np.full(facts.n_cases, np.iinfo(np.int64).max, dtype=np.int64)
    paid_time = _stamps(facts.column(C.TIMESTAMP).take(paid_at[paid]))
    limit[paid] = np.where(paid_time == np.iinfo(np.int64).min, limit[paid], paid_time)
    return limit


def _deciding_approvals(facts: CaseFacts, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per case, with the policy's `evidence_due: approval` (else none): the time (an
    integer, the largest where none) and sorted position (-1 where none) of the approval
    its required evidence is due by, the approval the payout rests on: its first approval
    (either level) not withdrawn by a later rejection (one at or after it) or ended by a
    later close followed by a new request (a refund asked for again after a close is decided
    anew; a close never followed by one ends nothing), the approval and rejection at or
    before `stop` (per case, as an integer: its first successful payout's time, the
    largest where it has none or an untimed one), the close before it and the request at or
    before it. An approval, rejection, close or request without a time is not placed: not
    taken. A case approved only after its payout, or never, has
    none (approval-after-payout, missing-approval find it): its evidence is due by the
    payout."""
    if facts.policy.evidence_due != "approval":
        return (np.full(facts.n_cases, np.iinfo(np.int64).max, dtype=np.int64),
                np.full(facts.n_cases, -1, dtype=np.int64))
    return standing_approvals(facts, stop)


def standing_approvals(facts: CaseFacts, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per case: the time (an integer, the largest where none) and sorted position (-1
    where none) of its first approval (either level) standing at `stop` (per case, as an
    integer): not withdrawn by a later rejection (one at or after it, at or before `stop`)
    nor ended by a later close followed by a new request (a refund asked for again after a
    close is decided anew; the close before `stop`, the request at or before it), itself
    at or before `stop`. An approval, rejection, close or request without a time is not
    placed: not taken. What the evidence is due by with `evidence_due: approval`
    (`_deciding_approvals`, `stop` the first payout), and the approval receipt-reused finds
    a case not yet paid at (`stop` the largest: the approval standing at the clock)."""
    biggest, smallest = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    deciding = np.full(facts.n_cases, biggest, dtype=np.int64)
    where = np.full(facts.n_cases, -1, dtype=np.int64)
    times = facts.column(C.TIMESTAMP)
    withdrawn = np.full(facts.n_cases, smallest, dtype=np.int64)
    rejections = np.flatnonzero(facts.mask("reject"))
    if len(rejections):
        at = _stamps(times.take(rejections))
        case = facts.case_code[rejections].astype(np.int64)
        keep = (at != smallest) & (at <= stop[case])
        np.maximum.at(withdrawn, case[keep], at[keep])
    # A close ends the approvals at or before it only where the refund was asked for again:
    # a request (with a time) after it in the case's order, at or before `stop`. A close
    # before the payout the refund was never asked for again after, or one at the
    # payout's very time, leaves the payout resting on the approval.
    closes = np.flatnonzero(facts.mask("close"))
    if len(closes):
        requests = np.flatnonzero(facts.mask("request"))
        asked = _stamps(times.take(requests))
        asked_case = facts.case_code[requests].astype(np.int64)
        keep = (asked != smallest) & (asked <= stop[asked_case])
        last_request = np.full(facts.n_cases, -1, dtype=np.int64)
        np.maximum.at(last_request, asked_case[keep], requests[keep])
        at = _stamps(times.take(closes))
        case = facts.case_code[closes].astype(np.int64)
        keep = (at != smallest) & (at < stop[case]) & (last_request[case] > closes)
        np.maximum.at(withdrawn, case[keep], at[keep])
    approvals = np.flatnonzero(facts.mask("approve", "second-approve"))
    if not len(approvals):
        return deciding, where
    at = _stamps(times.take(approvals))
    case = facts.case_code[approvals].astype(np.int64)
    ok = (at != smallest) & (at > withdrawn[case]) & (at <= stop[case])
    np.minimum.at(deciding, case[ok], at[ok])
    first = ok & (at == deciding[case])
    cases, index = np.unique(case[first], return_index=True)
    where[cases] = approvals[first][index]
    return deciding, where


def not_due_cases(facts: CaseFacts) -> list[object]:
    """The ids of the cases the rule did not judge yet at the clock, their evidence not due
    then: of a channel that requires evidence, with a ticket and a request or a payout, but
    neither paid, approved nor rejected (not yet decided), or approved and in progress
    (`_in_progress`). A case with a standing rejection (`_rejection_standing`) is settled,
    not left for later: no money will leave on it. findings.json's `not_due_cases.EV001`:
    `diff` tells a later run's finding of such a case from one this run judged and did
    not find. (The rule's check keeps them in `CaseFacts.not_due` as it judges: this
    computes them where it did not run on these facts.)"""
    c = facts.table("has_ticket", "request_eid", "channel", "payout_eid", "first_close_time",
                    "approvals_last_time", "rejections_last_time")
    c["anchor_eid"] = c["request_eid"].where(c["request_eid"].notna(), c["payout_eid"])
    by_approval = _deciding_approvals(facts, _payout_limits(facts))[1] >= 0
    return _left_for_later(facts, c, *_candidate_and_due(facts, c, by_approval))


def _left_for_later(facts: CaseFacts, c: pd.DataFrame, candidate: np.ndarray,
                    due: np.ndarray) -> list[object]:
    """The ids of the cases of `c` (every case, in order; its `channel`, `payout_eid`,
    `approvals_last_time` and `rejections_last_time`) that are `candidate`s of a channel
    requiring evidence, not `due` at the clock (`_candidate_and_due`), and not settled by
    a standing rejection (`_rejection_standing`: no money will leave on it, so its evidence
    never comes due; a later run's finding of it was not waiting on the clock)."""
    required = [channel for channel, needed in facts.policy.required_evidence.items()
                if needed]
    in_required = c["channel"].isin(required).fillna(False).to_numpy(dtype=bool)
    found: list[object] = c.index[
        candidate & ~due & in_required & ~_rejection_standing(c)].tolist()
    return found


def _rejection_standing(c: pd.DataFrame) -> np.ndarray:
    """Per case of `c` (its `rejections_last_time`, `approvals_last_time`): a rejection
    stands, one at or after its last approval (or with no approval at all); one before it
    an appeal overturned. (NaT compares false.)"""
    rejected = c["rejections_last_time"].notna() & ~(
        c["rejections_last_time"] < c["approvals_last_time"]).fillna(False).astype(bool)
    standing: np.ndarray = rejected.to_numpy(dtype=bool)
    return standing


def _in_progress(facts: CaseFacts, c: pd.DataFrame) -> np.ndarray:
    """Per case of `c` (every case, in order): not paid (no successful payout), not closed,
    no rejection standing (one at or after its last approval; one before it an appeal
    overturned), and active at the clock (`CaseFacts.active_at_clock`: an event less than
    `conformance.running_for` before it)."""
    running: np.ndarray = (c["payout_eid"].isna() & c["first_close_time"].isna()).to_numpy(
        dtype=bool) & ~_rejection_standing(c) & facts.active_at_clock()
    return running


ORDER_EVIDENCE = C.EVIDENCE_PREFIX + "order"
"""The item naming the order refunded: where its value is an order id the log knows (the
`order:id` of an event not itself holding an `evidence:order`, of any case: see
`names_known_order`), in a case stating an order, it must be one of its own case's."""
RENEWAL_EVIDENCE = C.EVIDENCE_PREFIX + "renewal_date"
"""The item stating the renewal refunded: where its value is a date (YYYY-MM-DD), that
renewal cannot come after the refund request."""
REQUEST_SLACK = pd.Timedelta(hours=14)
"""A renewal date is compared with the request's date where it was latest on earth (UTC+14):
a date written in the customer's zone is never taken for a later one."""
BILLING_LEAD = pd.Timedelta(days=7)
"""How long before its renewal date a subscription may be charged (billed ahead): a renewal
date after the request is consistent with a charge of the case from this long before it on
(the previous period's charge, a month before, is not)."""
CONTRADICTIONS = {ORDER_EVIDENCE.removeprefix(C.EVIDENCE_PREFIX): "naming another case's order",
                  RENEWAL_EVIDENCE.removeprefix(C.EVIDENCE_PREFIX):
                      "dated after the refund request and more than "
                      f"{BILLING_LEAD.days} days after every charge of the case"}
"""Item name -> how its value contradicts its case (the finding's message)."""


def _contradicting(facts: CaseFacts, column: str) -> np.ndarray | None:
    """Per sorted event: the value of `column` contradicts the event's case, so it is no
    evidence of the refund (see `_names_other_order`, `_renewal_after_request`); None for a
    column whose content is not judged."""
    if column == ORDER_EVIDENCE and facts.has(C.ORDER_ID):
        return _names_other_order(facts)
    if column == RENEWAL_EVIDENCE:
        return _renewal_after_request(facts)
    return None


def _categories(values: pd.api.extensions.ExtensionArray) -> tuple[np.ndarray, pd.Index]:
    """(integer code per value, -1 where missing; the distinct values)."""
    if isinstance(values, pd.Categorical):
        return np.asarray(values.codes, dtype=np.int64), values.categories
    codes, uniques = values.factorize()
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def _positions_in(needles: pd.Index, haystack: pd.Index) -> np.ndarray:
    """Per text of `needles`: its position in `haystack` (distinct texts), -1 where absent.
    Arrow texts (the coded columns' categories) looked up by Arrow, in C++: at 1M cases a
    third of the time of pandas' hash table of Python strings."""
    arrows = [getattr(index.array, "_pa_array", None) for index in (needles, haystack)]
    if arrows[0] is not None and arrows[1] is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.index_in(arrows[0], value_set=pa.chunked_array(arrows[1]).combine_chunks())
        return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    keys = pd.Index([str(v) for v in needles], dtype=object)
    return np.asarray(pd.Index([str(v) for v in haystack], dtype=object).get_indexer(keys),
                      dtype=np.int64)


def names_known_order(items: pd.Series, orders: pd.Series) -> np.ndarray:
    """Per event (rows of one log, `items` its `evidence:order`, `orders` its `order:id`):
    it holds an `evidence:order` naming an order id the log knows, the `order:id` of an
    event, of any case, not itself holding an `evidence:order` (the item's own event may
    state the order it names, copied from it). Only such an item is compared with orders
    (`_names_other_order` judges the same ones): the Dask engine links a case to the order
    its item names only then, so a placeholder or a document name (`n/a`, `order.pdf`)
    shared by many cases links none of them."""
    holding = np.asarray(items.notna(), dtype=bool)
    stating = np.asarray(orders.notna(), dtype=bool) & ~holding
    known = pd.unique(orders[stating].astype(str))
    # (the events holding an item alone turned into texts: at 1M cases most events hold
    # none, and `astype(str)` over 7.3M events made a Python string of each)
    named = np.zeros(len(items), dtype=bool)
    named[holding] = np.asarray(items[holding].astype(str).isin(known), dtype=bool)
    return named


def _names_other_order(facts: CaseFacts) -> np.ndarray:
    """Per sorted event: its `evidence:order` is an order id of the log (`order:id` of an
    event not itself holding an `evidence:order`, as `names_known_order`) but none of its
    own case's, where its case
    has one. A value naming no order the log knows (a file, `order-17.pdf`) is not judged:
    it may name the order's document. Codes compared, one lookup per distinct value."""
    item_codes, item_texts = _categories(facts.column(ORDER_EVIDENCE))
    order_codes, order_texts = _categories(facts.column(C.ORDER_ID))
    holding = item_codes >= 0
    # The case's orders: stated by its events not holding the item (the item's own event
    # may state the order it names).
    stating = (order_codes >= 0) & ~holding
    as_order = _positions_in(item_texts, order_texts)
    named = np.full(len(item_codes), -1, dtype=np.int64)
    named[holding] = as_order[item_codes[holding]]
    known = np.zeros(len(order_texts) + 1, dtype=bool)
    known[order_codes[stating]] = True
    known[-1] = False
    judged = (named >= 0) & known[named]
    case = facts.case_code.astype(np.int64)
    has_order = np.zeros(facts.n_cases, dtype=bool)
    has_order[case[stating]] = True
    judged &= has_order[case]
    wrong = np.zeros(len(item_codes), dtype=bool)
    if not judged.any():
        return wrong
    width = np.int64(len(order_texts) + 1)
    own = case[stating] * width + order_codes[stating]
    own = own[np.r_[True, own[1:] != own[:-1]]] if len(own) else own  # (runs of one order)
    # Sorted (a timsort of runs already ascending by case), then each item's pair looked
    # up by bisection.
    own = np.sort(own, kind="stable")
    at = np.flatnonzero(judged)
    wanted = case[at] * width + named[at]
    found = np.minimum(np.searchsorted(own, wanted), len(own) - 1)
    wrong[at] = own[found] != wanted
    return wrong


def _renewal_after_request(facts: CaseFacts) -> np.ndarray:
    """Per sorted event: its `evidence:renewal_date` is a date (YYYY-MM-DD, nothing else)
    after its case's first request's date where that was latest on earth (the request's UTC
    time plus `REQUEST_SLACK`), and no successful charge of its case (a purchase not failed)
    falls on or after the renewal date less `BILLING_LEAD` (the charge's date where it was
    latest on earth): a renewal after the request, neither billed ahead of it (charged
    before the request, before its date) nor charged at or after it, cannot be the one
    refunded. Another text, or a case without a request (time), is not judged; nor is a
    case holding a charge without a time (it may be the renewal's). Parsed once per
    distinct value."""
    codes, texts = _categories(facts.column(RENEWAL_EVIDENCE))
    wrong = np.zeros(len(codes), dtype=bool)
    holding = codes >= 0
    if not holding.any():
        return wrong
    # Days since 1970-01-01 (UTC), as integers; NaT the smallest integer.
    nat = np.iinfo(np.int64).min
    dates = pd.DatetimeIndex(pd.to_datetime(pd.Series([str(v) for v in texts], dtype=object),
                                            format="%Y-%m-%d",
                                            errors="coerce"))
    day = np.asarray(dates.as_unit("ns").asi8, dtype=np.int64)
    per_day = np.int64(pd.Timedelta(days=1).value)
    slack = np.int64(REQUEST_SLACK.value)
    day = np.where(day == nat, nat, day // per_day)
    requested = np.asarray(pd.DatetimeIndex(facts.col("request_time").array).as_unit("ns").asi8,
                           dtype=np.int64)
    # Per case: the day (latest on earth) of its last successful charge, and whether it
    # holds a charge without a time. (NaT, the smallest integer, is no maximum.)
    bought = np.flatnonzero(facts.mask("bought"))
    charged = np.asarray(pd.DatetimeIndex(facts.column(C.TIMESTAMP).take(bought))
                         .as_unit("ns").asi8, dtype=np.int64)
    charged_case = facts.case_code[bought].astype(np.int64)
    last = np.full(facts.n_cases, nat, dtype=np.int64)
    np.maximum.at(last, charged_case, charged)
    last_day = np.where(last == nat, nat, (last + slack) // per_day)
    untimed = np.zeros(facts.n_cases, dtype=bool)
    untimed[charged_case[charged == nat]] = True
    at = np.flatnonzero(holding)
    case = facts.case_code[at]
    renewal = day[codes[at]]
    request = requested[case]
    latest = (request + slack) // per_day
    lead = np.int64(BILLING_LEAD.days)
    charged_for = (last_day[case] != nat) & (last_day[case] >= renewal - lead)
    # (an unparsed date, a case without a request (time) or with an untimed charge is not
    # judged)
    wrong[at] = ((renewal != nat) & (request != nat) & (renewal > latest) & ~charged_for
                 & ~untimed[case])
    return wrong


PLACEHOLDERS = frozenset({
    "n/a", "n.a.", "na", "none", "null", "nil", "tbd", "todo", "pending", "missing",
    "unknown"})
"""Values (case-folded, trimmed) an agent types in place of an item: no evidence."""


def _placeholder(value: object) -> bool:
    """`value` stands in for an item it is not: one of `PLACEHOLDERS` as a whole (not a
    part: `N/A-2026-001` is an id), or no letter or digit at all (`-`, `--`, `?`, `/`)."""
    text = str(value).strip().casefold()
    return text in PLACEHOLDERS or not any(ch.isalnum() for ch in text)


def arrow_texts(uniques: Any) -> Any:
    """`uniques` as an Arrow array of texts, or None where they are not all texts (missing
    values aside): the caller then judges them one by one in Python."""
    import pyarrow as pa

    try:
        texts = pa.array(uniques, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return texts if pa.types.is_string(texts.type) or pa.types.is_large_string(
        texts.type) else None


def value_codes(values: pd.api.extensions.ExtensionArray) -> tuple[np.ndarray, Any]:
    """Per value its code (int64, -1 where missing) and the distinct values: a coded
    column's codes and categories as they are, else factorized."""
    if isinstance(values, pd.Categorical):
        return np.asarray(values.codes, dtype=np.int64), values.categories
    found, uniques = values.factorize()
    return np.asarray(found, dtype=np.int64), uniques


def _real(values: pd.api.extensions.ExtensionArray) -> np.ndarray:
    """Per value: given and no placeholder (judged once per distinct value: a coded
    column's categories, else the unique values)."""
    given = ~np.asarray(values.isna(), dtype=bool)
    if not given.any():
        return given
    codes, uniques = value_codes(values)
    bad = _placeholders(uniques)
    real: np.ndarray = given & ~bad[np.where(codes >= 0, codes, 0)]
    return real


_ASCII_SPACE = "".join(c for c in map(chr, range(128)) if c.isspace())
"""The ASCII characters `str.strip` trims."""


def _placeholders(uniques: Any) -> np.ndarray:
    """Per distinct value (`uniques`, an array or index): `_placeholder`, asked in Python
    only of the values that may be one (at 1M cases the evidence columns hold 0.7M distinct
    values, nearly all ids and links: 2-3 s of CPU asked one by one). A text of ASCII
    characters alone, longer once trimmed of white space (as `str.strip` trims ASCII text)
    than the longest of `PLACEHOLDERS` (7: `missing`), one of them a letter or digit, is
    none: case folding leaves an ASCII text as long."""
    import pyarrow.compute as pc

    texts = arrow_texts(uniques)
    if texts is None:
        return np.fromiter((_placeholder(v) for v in list(uniques)), dtype=bool,
                           count=len(uniques))
    longest = max(map(len, PLACEHOLDERS))
    long_enough = pc.greater(pc.utf8_length(pc.utf8_trim(texts, characters=_ASCII_SPACE)),
                             longest)
    surely_not = pc.and_(pc.and_(pc.string_is_ascii(texts), long_enough),
                         pc.match_substring_regex(texts, "[A-Za-z0-9]"))
    ask = np.flatnonzero(~np.asarray(surely_not, dtype=bool))
    bad = np.zeros(len(uniques), dtype=bool)
    bad[ask] = np.fromiter((_placeholder(uniques[k]) for k in ask.tolist()), dtype=bool,
                           count=len(ask))
    return bad


def _stamps(times: pd.api.extensions.ExtensionArray) -> np.ndarray:
    """Times as integers of their unit (NaT: the smallest)."""
    return np.asarray(pd.DatetimeIndex(times).asi8, dtype=np.int64)


def _names(lacks: list[tuple[str, np.ndarray]], hit: np.ndarray) -> list[list[str]]:
    """Per case in `hit`: the names of the items whose mask holds for it, in the order of
    `lacks` (the channel's required columns as the policy lists them)."""
    names: list[list[str]] = [[] for _ in range(int(hit.sum()))]
    for name, lacking in lacks:
        for i in np.flatnonzero(lacking[hit]):
            names[i].append(name)
    return names
