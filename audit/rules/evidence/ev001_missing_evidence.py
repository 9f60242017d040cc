from __future__ import annotations

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
    finding). Idle that long, or closed, it is judged as ended.

    Why it matters:
    The decision to refund must rest on evidence an auditor can re-perform: for e-commerce the
    order and the payment voucher, for subscriptions the renewal date and the usage, for
    offline stores the receipt and a photo.

    Example:
    Violating (offline): `Collect evidence` with `evidence:receipt` = receipt-1.jpg and no
    `evidence:photo` anywhere in the case; or the photo recorded only on an event after
    `Execute payout`.
    Violating: `evidence:photo` = "n/a" (a placeholder), no other photo in the case.
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
    payout and the event that first recorded each late item, and its message tells each
    one's time ("paid on 2026-09-03 10:00:00 UTC before its required evidence was
    recorded: photo (first recorded 2026-09-06 10:00:00 UTC)"). A placeholder typed in
    place of an item is no evidence: a value with no letter or digit (`-`, `?`) or, in any
    letter case, `n/a`, `n.a.`, `na`, `none`, `null`, `nil`, `tbd`, `todo`, `pending`,
    `missing` or `unknown` as the whole value (`N/A-2026-001` is an id); the items
    missing that a case holds only so are named again in `placeholder` (a list), and the
    message says so.
    `conformance.running_for` (default 14d; `0d`: every case judged as ended): how recent
    an event keeps an approved case not paid or closed in progress.

    References:
    ISA 500 (audit evidence); the refund SOP's evidence step.
    """

    code = "EV001"
    name = "missing-evidence"
    severity = "medium"
    summary = "Required evidence for the channel is missing"
    options = (Option("required evidence", "evidence:* columns per channel", "evidence"),
               Option("running for", "a case not paid, closed or rejected, with an event "
                      "this recent, is in progress: not judged yet", "conformance.running_for"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        required = facts.policy.required_evidence
        columns = sorted({c for cols in required.values() for c in cols})
        held = [column for column in columns if facts.has(column)]

        def given(column: str) -> np.ndarray:
            """Per event: a value that is no placeholder (see `_placeholder`)."""
            return _real(facts.column(column))

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
        paid_at = facts.first_of(facts.mask("paid"))
        paid = paid_at >= 0
        limit = np.full(facts.n_cases, np.iinfo(np.int64).max, dtype=np.int64)
        times = facts.column(C.TIMESTAMP)
        paid_time = _stamps(times.take(paid_at[paid]))
        limit[paid] = np.where(paid_time == np.iinfo(np.int64).min, limit[paid], paid_time)
        cases = facts.case_code[at]
        by_payout = _stamps(times.take(at)) <= limit[cases]
        none = np.zeros(facts.n_cases, dtype=bool)
        present: dict[str, np.ndarray] = dict.fromkeys(columns, none)
        in_time: dict[str, np.ndarray] = dict.fromkeys(columns, none)
        placeheld: dict[str, np.ndarray] = dict.fromkeys(columns, none)
        for column in held:
            there = given(column)[at]  # (every event holding it is among `at`)
            present[column] = np.zeros(facts.n_cases, dtype=bool)
            present[column][cases[there]] = True
            placeheld[column] = np.zeros(facts.n_cases, dtype=bool)
            placeheld[column][cases[stated(column)[at] & ~there]] = True
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
        candidate, due = _candidate_and_due(facts, c)
        judged = candidate & due
        # (the cases left for a later clock, kept for findings.json's not_due_cases:
        # engine.side_facts reads them, not computing them again)
        facts.not_due[self.code] = _left_for_later(facts, c, candidate, due)
        missing: list[tuple[str, np.ndarray]] = []
        late: list[tuple[str, np.ndarray]] = []
        late_columns: list[str] = []
        only_placeholder: list[tuple[str, np.ndarray]] = []
        for channel, needed in required.items():
            in_channel = judged & c["channel"].eq(channel).fillna(False).to_numpy(dtype=bool)
            for column in needed:
                name = column.removeprefix(C.EVIDENCE_PREFIX)
                missing.append((name, in_channel & ~present[column]))
                late.append((name, in_channel & present[column] & ~in_time[column]))
                late_columns.append(column)
                only_placeholder.append(
                    (name, in_channel & ~present[column] & placeheld[column]))
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
        came_late = np.fromiter(map(bool, hits["after_payout"]), dtype=bool, count=len(hits))
        hits["late_payout_eid"] = hits["payout_eid"].where(came_late, None)
        # Per late item: the event that first recorded it (after the payout, cited) and its
        # time (told), so the committee sees when the money left and when the item came.
        rows = np.flatnonzero(hit)
        told: list[list[str]] = [[] for _ in rows]
        cited: list[list[object]] = [[] for _ in rows]
        first_late = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[ns]")
        eids, stamps = facts.column(C.EVENT_ID), facts.column(C.TIMESTAMP)
        for (name, lacking), column in zip(late, late_columns, strict=True):
            came = np.flatnonzero(lacking[hit])
            if not len(came):
                continue
            where = facts.first_of(given(column))[rows[came]]
            at_times = pd.DatetimeIndex(stamps.take(where)).tz_convert("UTC").tz_localize(None)
            for i, eid, when in zip(came, eids.take(where), at_times, strict=True):
                told[i].append(f"{name} (first recorded {moment(when)})")
                cited[i].append(eid)
                if np.isnat(first_late[i]) or when.to_datetime64() < first_late[i]:
                    first_late[i] = when.to_datetime64()
        hits["late_item_eids"] = pd.Series(cited, index=hits.index, dtype=object)
        hits["paid_at"] = hits["payout_time"].where(came_late)
        hits["first_recorded_after_payout"] = pd.Series(
            pd.DatetimeIndex(first_late).tz_localize("UTC"), index=hits.index)
        paid_on = [moment(t) if late_now else "" for t, late_now in
                   zip(hits["payout_time"].tolist(), came_late.tolist(), strict=True)]
        hits["what"] = [
            "; ".join(part for part in (
                f"without required evidence: {', '.join(m)}" + (
                    f" ({', '.join(p)} recorded only as a placeholder such as 'n/a' or '-')"
                    if p else "") if m else "",
                f"paid on {on} before its required evidence was recorded: "
                + ", ".join(items) if items else "") if part)
            for m, p, on, items in zip(hits["missing"].tolist(), hits["placeholder"].tolist(),
                                       paid_on, told, strict=True)]
        found = self.findings(
            facts, hits, events=("anchor_eid", "late_payout_eid", "late_item_eids"),
            when="anchor_time", amount="payouts_sum",
            evidence=("channel", "missing", "after_payout", "placeholder", "paid_at",
                      "first_recorded_after_payout"),
            message="{channel} refund {what}")
        for finding in found:  # (each named only where it holds an item)
            for key, of in (("after_payout", "after_payout"), ("placeholder", "placeholder"),
                            ("paid_at", "after_payout"),
                            ("first_recorded_after_payout", "after_payout")):
                if not finding.evidence.get(of):
                    del finding.evidence[key]
        return found


def _candidate_and_due(facts: CaseFacts, c: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per case of `c` (every case, in order): whether it is one the rule judges at some
    clock (a ticket, with a request or a payout), and whether its evidence is due at this
    clock (paid, or approved and not rejected since, and not in progress). `c` holds
    has_ticket, anchor_eid, payout_eid, approvals_last_time, rejections_last_time and
    first_close_time."""
    approved, rejected = c["approvals_last_time"], c["rejections_last_time"]
    decided = c["payout_eid"].notna() | (
        approved.notna() & ~(rejected >= approved).fillna(False))
    candidate = (c["has_ticket"] & c["anchor_eid"].notna()).to_numpy(dtype=bool)
    return candidate, decided.to_numpy(dtype=bool) & ~_in_progress(facts, c)


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
    return _left_for_later(facts, c, *_candidate_and_due(facts, c))


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


PLACEHOLDERS = frozenset({
    "n/a", "n.a.", "na", "none", "null", "nil", "tbd", "todo", "pending", "missing",
    "unknown"})
"""Values (case-folded, trimmed) an agent types in place of an item: no evidence."""


def _placeholder(value: object) -> bool:
    """`value` stands in for an item it is not: one of `PLACEHOLDERS` as a whole (not a
    part: `N/A-2026-001` is an id), or no letter or digit at all (`-`, `--`, `?`, `/`)."""
    text = str(value).strip().casefold()
    return text in PLACEHOLDERS or not any(ch.isalnum() for ch in text)


def _real(values: pd.api.extensions.ExtensionArray) -> np.ndarray:
    """Per value: given and no placeholder (judged once per distinct value: a coded
    column's categories, else the unique values)."""
    given = ~np.asarray(values.isna(), dtype=bool)
    if not given.any():
        return given
    if isinstance(values, pd.Categorical):
        codes = np.asarray(values.codes, dtype=np.int64)
        uniques: list[object] = list(values.categories)
    else:
        found, distinct = values.factorize()
        codes, uniques = np.asarray(found, dtype=np.int64), list(distinct)
    bad = np.fromiter((_placeholder(v) for v in uniques), dtype=bool, count=len(uniques))
    real: np.ndarray = given & ~bad[np.where(codes >= 0, codes, 0)]
    return real


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
