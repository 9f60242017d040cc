"""Per-case facts for the rules, computed on first use and vectorised over the whole log.

The log's labels are mapped to controls by the policy (request, approve, pay, ...); then one
row per case holds the first request, the approvals, the first successful payout, the
purchase and so on. Rules are masks over this table, not loops over cases.

Nothing is computed up front: each group of columns (the first request, the approvals, ...)
is built when a rule first asks for it and kept for the rest of the run, so a run of one rule
pays only for what that rule reads. The work is done on integer codes (the case of each event,
its control, its resource) with numpy; the log's own columns are only gathered at the
positions a rule needs (the conformance check too: it is handed the four columns it reads).
`cases` (the whole per-case table) is there for callers that want everything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit import canonical as C
from audit.currency import decimals
from audit.policy import Policy

if TYPE_CHECKING:
    import networkx as nx

    from conformance.deviations import ConformanceResult

FAILED_STATUSES = C.FAILED_STATUSES
FLOAT_NOISE = 1e-9
"""What amount comparisons allow beyond the policy's tolerance (see `CaseFacts.tolerance`)."""
CASE_CHANNEL = "channel of the case"
"""The name `column` and `codes` read the events' case channel by (see `case_channel`)."""
TICKET_CONTROLS = ("request", "evidence", "approve", "second-approve", "reject", "notify",
                   "close")
_KEEP = (C.EVENT_ID, C.CASE, C.ACTIVITY, C.TIMESTAMP, C.RESOURCE, C.ROLE, C.AMOUNT, C.CURRENCY,
         C.CHANNEL, C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID, C.PAYMENT_METHOD, C.PAYMENT_STATUS,
         C.REFUND_ID)
_CHAIN_KEEP = (C.EVENT_ID, C.CASE, C.ACTIVITY, C.TIMESTAMP, C.TICKET_ID, C.ORDER_ID,
               C.CHARGE_ID, C.PAYMENT_STATUS, C.REFUND_ID)
"""What audit.evidence_chain reads of the events."""
_FIELDS = {"eid": C.EVENT_ID, "time": C.TIMESTAMP, "resource": C.RESOURCE, "role": C.ROLE,
           "amount": C.AMOUNT, "currency": C.CURRENCY, "method": C.PAYMENT_METHOD,
           "charge": C.CHARGE_ID, "order": C.ORDER_ID, "activity": C.ACTIVITY}
_FIRSTS = {"request": ("request",), "purchase": ("bought",), "approval1": ("approve",),
           "approval2": ("second-approve",), "payout": ("paid",), "evidence": ("evidence",),
           "close": ("close",)}
"""Prefix of a first-event column group -> the events it is the first of ("paid": the
successful payouts; "bought": the purchases not failed, so a declined capture is no
purchase)."""
POINT_COLUMNS = {"request": "request_time", "evidence": "first_evidence_time",
                 "first-approval": "approvals_first_time",
                 "last-approval": "approvals_last_time", "payout": "payout_time",
                 "close": "first_close_time"}
"""The per-case column of each stage point (audit.policy.STAGE_POINTS)."""
_LISTS = {"approval_eids": ("approve", "second-approve"), "payout_eids": ("paid",)}
Mask = np.ndarray[Any, np.dtype[np.bool_]]
Ints = np.ndarray[Any, np.dtype[np.int64]]
Codes = np.ndarray[Any, np.dtype[np.int32]]
SHARED_WORK: dict[str, Callable[[CaseFacts], Any]] = {}
"""Work that more than one rule reads (`CaseFacts.shared`), by the key it is cached under
("shared:<what>", an "events:" key of `cached_keys`, so that audit.rules.reads traces it and
`keep_only` drops it after the last rule reading it): the function computing it, which the
rule module owning it registers (`shared_work`)."""


def shared_work(key: str) -> Callable[[Callable[[CaseFacts], Any]], Callable[[CaseFacts], Any]]:
    """Registers a function of the facts as shared work cached under `key` (see
    SHARED_WORK); the function is returned unchanged."""
    if not key.startswith("shared:"):
        raise ValueError(f"shared work is keyed 'shared:<what>', not {key!r}")

    def register(function: Callable[[CaseFacts], Any]) -> Callable[[CaseFacts], Any]:
        SHARED_WORK[key] = function
        return function

    return register


@dataclass(frozen=True)
class Episodes:
    """The refund episodes of some cases (`CaseFacts.episodes`), one entry per episode in
    the order of their cases and times: the case's position, the sorted positions of the
    episode's request and of its points (-1 where it has none), whether it has ended (a
    close or a standing rejection among its events), whether by a standing rejection, and
    whether it is its case's last; `approvals` are the sorted positions of the approvals of
    every episode, `approvals_episode` the index of the episode of each."""

    case: Ints
    request: Ints
    payout: Ints
    close: Ints
    evidence: Ints
    approval_first: Ints
    approval_last: Ints
    ended: Mask
    rejected: Mask
    last: Mask
    approvals: Ints
    approvals_episode: Ints


class CaseFacts:
    """The log prepared for the rules: per-event masks and per-case columns, built lazily."""

    def __init__(self, log: pd.DataFrame, policy: Policy, as_of: datetime) -> None:
        self.policy = policy
        self.as_of = pd.Timestamp(as_of)
        self.log = log
        self._conformance: ConformanceResult | None = None
        self.deviation_rows: dict[str, list[dict[str, Any]]] = {}
        """Per kind of deviation not yet taken by its conformance rule, its rows
        (`audit.rules.conformance.common.deviation_matches`, which reads the deviating cases
        once for the three kinds, and hands each its own)."""
        self._graphs: dict[str, nx.DiGraph] = {}
        self._chains: pd.DataFrame | None = None
        self._columns: dict[str, pd.Series] = {}
        self._sorted: dict[str, Any] = {}
        self._graph_times: dict[str, pd.Timestamp] = {}
        self.not_due: dict[str, list[object]] = {}
        """Per rule code, the ids of the cases the rule's check left for a later clock, not
        due at this one (`engine._not_due_rules`), as it judged them: `engine.side_facts`
        reads them from here, where the rule ran on these facts, instead of computing them
        again (its columns dropped by then: `keep_only` leaves these)."""
        self.unjudged: dict[str, Any] = {}
        """Per rule code, what the rule's check found it could not judge, as
        `engine.side_facts` tells it (unauthorized-approver's approvals whose role is not
        recorded, with their cases: `ap004_unauthorized_approver.unrecorded_approval_cases`),
        kept so that side_facts reads it from here, where the rule ran on these facts,
        instead of judging the events again (`keep_only` leaves these)."""
        self.running: frozenset[str] | None = None
        """The codes of the rules this run judges (`run_rules` sets them); None where the
        facts were made elsewhere (a Dask partition, a test): the policy's selection of the
        default rules, read at the first `judges`."""
        self.generic_receipts: frozenset[str] | None = None
        """The receipt keys receipt-reused does not compare, held by more cases than the
        policy's `receipt_max_cases` (a Dask partition: the whole log's, as the engine found
        them); None: found in these facts."""

    def judges(self, code: str) -> bool:
        """Whether this run judges the rule `code` (a rule whose findings would tell, or
        replace, another's asks so)."""
        if self.running is None:
            from audit.rules.registry import default_rules

            self.running = frozenset(rule.code for rule in default_rules().select(
                self.policy.select, self.policy.ignore))
        return code in self.running

    # --- sizes ----------------------------------------------------------------------------
    @property
    def n_events(self) -> int:
        return len(self.log)

    @property
    def n_cases(self) -> int:
        return len(self.case_ids)

    # --- the order of the events: by case, time and event id ------------------------------
    @cached_property
    def _order_and_codes(self) -> tuple[Ints | None, Ints, pd.Index]:
        """(permutation sorting the log by case, time, event id, or None when it is sorted
        already; case code of each sorted event; the sorted case ids)."""
        log = self.log
        times = log[C.TIMESTAMP]
        grouped = _grouped_codes(log[C.CASE])
        if grouped is not None and pd.api.types.is_datetime64_any_dtype(times.dtype):
            codes, case_ids = grouped
            stamps = _int_times(times)
            step = np.diff(stamps)
            same_case = codes[1:] == codes[:-1]
            if not bool(times.isna().any()) and bool((step[same_case] >= 0).all()):
                # Sorted by case and time (the usual import); where two events of a case
                # share a time, their ids must be in order too.
                ties = np.flatnonzero(same_case & (step == 0))
                if not len(ties) or (_ascending_pairs(log[C.EVENT_ID], ties) and not (
                        C.derived_ids(log[C.EVENT_ID].take(np.r_[ties, ties + 1])).any())):
                    return None, codes, case_ids
                # (Each run of them put in order within its case: codes and ids unchanged.
                # Ids the import derived are taken in their source's order, see
                # C.ties_in_file_order.)
                fixed = C.ties_in_file_order(log, None, every_run=True)
                if fixed is None or np.array_equal(fixed, np.arange(len(log))):
                    return None, codes, case_ids
                return fixed, codes, case_ids
        positions = C.event_order(log)
        positions = np.arange(len(log)) if positions is None else positions
        order = None if np.array_equal(positions, np.arange(len(log))) else positions
        cases = log[C.CASE] if order is None else log[C.CASE].take(order)
        grouped = _grouped_codes(cases)  # sorted: one run per case unless a case is missing
        if grouped is not None:
            return order, grouped[0], grouped[1]
        codes, uniques = pd.factorize(cases, sort=True)
        return order, codes.astype(np.int64), pd.Index(uniques)

    @property
    def case_code(self) -> Ints:
        """Per sorted event: the position of its case in `case_ids`."""
        return self._order_and_codes[1]

    @property
    def case_ids(self) -> pd.Index:
        """The case ids, sorted: the index of every per-case column."""
        return self._order_and_codes[2]

    def column(self, name: str) -> pd.api.extensions.ExtensionArray:
        """A column of the log in the sorted order of the events."""
        if name == CASE_CHANNEL:
            return self.case_channel()
        if name not in self._sorted:
            values = _one_chunk(self.log[name].array)
            order = self._order_and_codes[0]
            self._sorted[name] = values if order is None else values.take(order)
        return cast(pd.api.extensions.ExtensionArray, self._sorted[name])

    def channel_at(self) -> Ints:
        """Per case: the sorted position of the event whose channel is the case's, -1 where
        none states one: its first ticket event (request, evidence, approval, rejection,
        notice, close) stating one, else its first event stating one. The ticket's channel
        first: the refund's channel is how it was asked for, and a payment export's channel
        is one per system (sources config), which a merchant taking e-commerce and
        subscription payments in one system cannot make right for every charge."""
        key = "first:channel"
        if key not in self._sorted:
            stated = ~self._isna(C.CHANNEL)
            of_ticket = self.first_of(stated & self.mask(*TICKET_CONTROLS))
            self._sorted[key] = np.where(of_ticket >= 0, of_ticket, self.first_of(stated))
        return cast(Ints, self._sorted[key])

    def case_channel(self) -> pd.api.extensions.ExtensionArray:
        """Per sorted event: its case's channel (`channel_at`: its ticket's, else the first its
        events state; the per-case `channel`), also for an event stating none or another one
        (conflicting-channel reports those). The SOP a case is aligned on and whose lanes
        judge its events is its channel's: before, the conformance rules read the channel of
        a case's first SOP task and the lanes rules each event's own, so a case stating its
        channel on one event only (a generic CSV) was left out of both, while
        missing-evidence judged it. Where every event states its case's, the column
        itself."""
        if CASE_CHANNEL not in self._sorted:
            values = self.column(C.CHANNEL)
            first = self.channel_at()  # per case, -1 where none
            codes = (values.codes if isinstance(values, pd.Categorical)
                     else _factorize(values)[0])
            # Per case its channel's code (-1: none): an event differs where it states none
            # in a case stating one, or another one.
            of_case = np.where(first >= 0, codes[np.maximum(first, 0)], -1)
            differs = np.flatnonzero(codes != of_case[self.case_code])
            if len(differs):
                at = np.arange(len(values), dtype=np.int64)
                at[differs] = first[self.case_code[differs]]
                values = values.take(at)
            self._sorted[CASE_CHANNEL] = values
        return cast(pd.api.extensions.ExtensionArray, self._sorted[CASE_CHANNEL])

    def channel_of_cases(self) -> pd.Series:
        """Per case (indexed by `case_ids`): its channel (`channel_at`), missing where none
        of its events states one. The one channel of a case everywhere it is shown or
        judged outside the rules (check's warnings, the report's SOP overlay and case
        pages), read off the same events: not each event's own, which in a case stating
        several channels (conflicting-channel) or stating it on one event only differs."""
        if not self.has(C.CHANNEL):
            return pd.Series(pd.NA, index=self.case_ids, dtype="string")
        at = self.channel_at()
        return pd.Series(self.column(C.CHANNEL).take(at, allow_fill=True),
                         index=self.case_ids, copy=False)

    def has(self, name: str) -> bool:
        return name in self.log.columns

    # --- what is kept between rules ---------------------------------------------------------
    def cached_keys(self) -> set[str]:
        """What the caches hold: "events:<key>" (event columns in sorted order, masks, codes,
        first positions) and "cases:<name>" (per-case columns), as audit.rules.reads names
        them."""
        return {f"events:{k}" for k in self._sorted} | {f"cases:{n}" for n in self._columns}

    def keep_only(self, keys: Collection[str]) -> None:
        """Drop the cached columns not named in `keys` (see cached_keys). Only memory: a
        column asked for again is computed again, the same."""
        for key in [k for k in self._sorted if f"events:{k}" not in keys]:
            del self._sorted[key]
        for name in [n for n in self._columns if f"cases:{n}" not in keys]:
            del self._columns[name]

    def warm(self, keys: Iterable[str]) -> None:
        """Compute now what every rule reads first (the events' order and case codes, the
        labels' controls) and, of `keys` (as cached_keys names them), the event columns, the
        kept per-case columns and the shared work (`shared`); other keys are computed on
        first use. Before the rules are shared with a forked copy (audit.rules.engine):
        computed once, and shared.

        A key whose computation raises is left uncomputed, not raised here: each rule
        reading it computes it again and records the error as its own crash, as when the
        rules run one after the other (before, a crash in the shared work ended a forked
        run with an internal error and no reports)."""
        self._order_and_codes  # noqa: B018 (cached properties, computed for their value)
        self._controls  # noqa: B018
        # (the shared work last: it reads columns that the other keys may name)
        for key in sorted(keys, key=lambda k: k.startswith("events:shared:")):
            kind, _, name = key.partition(":")
            try:
                if kind == "events" and name in self.log.columns:
                    self.column(name)
                elif kind == "events" and name in SHARED_WORK:
                    self.shared(name)
                elif kind == "cases" and not _first_event_value(name):
                    self.col(name)
            except Exception:  # noqa: S112 (the rules reading it raise it again, each its own)
                continue

    def shared(self, key: str) -> Any:
        """The shared work registered under `key` (SHARED_WORK, "shared:<what>"): computed
        on first use and kept with the event columns (`cached_keys` names it
        "events:<key>"), so that two rules reading it (duplicate-refund and
        refund-exceeds-charge each read the other's work) compute it once: in a forked run
        the rules sharing work are one unit (audit.rules.engine `_units`), run after the
        fork by the process taking it; `warm` computes before the fork only shared work
        that rules of two units read. Callers must not change what it returns."""
        if key not in self._sorted:
            self._sorted[key] = SHARED_WORK[key](self)
        return self._sorted[key]

    def holds(self, key: str) -> bool:
        """Whether the shared work `key` was computed already (`shared`)."""
        return key in self._sorted

    def codes(self, name: str) -> Codes:
        """Integer code of each sorted event's value of `name` (-1 where missing); equal
        values share a code. 32-bit (a log has fewer than 2**31 events): held for the run,
        half the size of 64-bit codes (28 MB less a column at 1M cases). A coded column's
        codes are its categories' codes, not factorized again."""
        key = f"codes:{name}"
        if key not in self._sorted:
            values = self.column(name)
            if isinstance(values, pd.Categorical):
                self._sorted[key] = values.codes.astype(np.int32)
            else:
                self._sorted[key] = _factorize(values)[0].astype(np.int32)
        return cast(Codes, self._sorted[key])

    def person_codes(self) -> Codes:
        """Integer code of each sorted event's person (-1 where no resource is recorded):
        resources that are one person by `canonical.person_key` (case, width and spacing
        aside) share a code."""
        return self._keyed_codes(C.RESOURCE, "person", C.person_key)

    def method_codes(self) -> Codes:
        """Integer code of each sorted event's payment method (-1 where none is stated):
        methods that are one by `canonical.method_key` (`Card`, `card`; `bank_transfer`,
        `Bank Transfer`) share a code."""
        return self._keyed_codes(C.PAYMENT_METHOD, "method", C.method_key)

    def _keyed_codes(self, name: str, kind: str, key_of: Callable[[str], str]) -> Codes:
        """Codes of column `name` where values of one `key_of` share a code; keyed once per
        distinct value, not per event."""
        key = f"codes:{kind}"
        if key not in self._sorted:
            values = self.column(name)
            if isinstance(values, pd.Categorical):
                codes, uniques = values.codes, list(values.categories)
            else:
                codes, uniques = _factorize(values)
            keys = [key_of(str(u)) for u in uniques]
            keyed, _ = pd.factorize(pd.Index(keys, dtype=object))
            # A value of white space alone states nobody and no method: missing, as blank.
            keyed = np.where(np.array([k == "" for k in keys], dtype=bool), -1, keyed)
            self._sorted[key] = np.append(keyed, -1).astype(np.int32)[codes]
        return cast(Codes, self._sorted[key])

    # --- controls: which events are requests, approvals, payouts ... ----------------------
    @cached_property
    def _controls(self) -> tuple[Codes, list[str | None]]:
        """(each sorted event's label code, as `codes`; the control of each code)."""
        labels = self.column(C.ACTIVITY)
        if isinstance(labels, pd.Categorical):
            uniques: list[Any] = list(labels.categories)
        else:
            codes, uniques = _factorize(labels)
            self._sorted.setdefault(f"codes:{C.ACTIVITY}", codes.astype(np.int32))
        mapping = self.policy.control_of()
        return self.codes(C.ACTIVITY), [mapping.get(u) for u in uniques]

    def control_at(self, at: Ints) -> npt.NDArray[np.object_]:
        """The control of the sorted events at positions `at` (None where the label is not
        mapped); made for those events only, not held per event."""
        codes, controls = self._controls
        table = np.array([*controls, None], dtype=object)
        return cast(npt.NDArray[np.object_], table[codes[at]])

    def mask(self, *controls: str) -> Mask:
        """Per sorted event: its label maps to one of `controls` ("paid": a successful
        payout, "bought": a purchase whose payment status is not failed, reversed or
        pending, "unmapped": no control)."""
        key = "mask:" + ",".join(controls)
        if key not in self._sorted:
            codes, mapped = self._controls
            wanted = [c for c in controls if c not in ("paid", "bought", "unmapped")]
            hit = np.array([m in wanted for m in mapped] + [False], dtype=bool)
            found = hit[codes]
            if "unmapped" in controls:
                found |= np.array([m is None for m in mapped] + [True], dtype=bool)[codes]
            if "paid" in controls:
                found |= self._paid
            if "bought" in controls:
                found |= self.mask("purchase") & ~self._failed
            self._sorted[key] = found
        return cast(Mask, self._sorted[key])

    @cached_property
    def _paid(self) -> Mask:
        """The successful payouts: payout events not failed, reversed or pending, and not
        undone by a later event of their case naming the same refund id with a failed or
        reversed status (Adyen's `RefundedReversed`, a bank's return of a payout: the
        `Execute payout` event stays "succeeded", the money came back)."""
        paid = self.mask("pay") & ~self._failed
        if not paid.any() or not self.has(C.REFUND_ID):
            return paid
        refunds = self.codes(C.REFUND_ID)
        undoing = np.flatnonzero(self._undone_status & (refunds >= 0))
        if not len(undoing):
            return paid
        width = np.int64(int(refunds.max()) + 1)
        keys = self.case_code[undoing].astype(np.int64) * width + refunds[undoing]
        # Per (case, refund id): the last position of an event undoing it (positions ascend
        # by case, then time, so a later position is a later event).
        order = np.argsort(keys, kind="stable")
        distinct, last = np.unique(keys[order][::-1], return_index=True)
        last_at = undoing[order][::-1][last]
        at = np.flatnonzero(paid & (refunds >= 0))
        wanted = self.case_code[at].astype(np.int64) * width + refunds[at]
        slot = np.minimum(np.searchsorted(distinct, wanted), len(distinct) - 1)
        undone = (distinct[slot] == wanted) & (last_at[slot] > at)
        paid = paid.copy()
        paid[at[undone]] = False
        return paid

    @cached_property
    def _undone_status(self) -> Mask:
        """Per sorted event: its payment status is failed or reversed (not pending)."""
        return self._of_status(("failed", "reversed"))

    @cached_property
    def _failed(self) -> Mask:
        return self._of_status(FAILED_STATUSES)

    def _of_status(self, statuses: Collection[str]) -> Mask:
        """Per sorted event: its payment status is one of `statuses` (compared without case
        or surrounding spaces), decided once per distinct status: on a coded column's own
        codes and categories (before, factorized again, twice: 5 of the 13 ms of the
        successful payouts at 100k cases)."""
        values = self.column(C.PAYMENT_STATUS)
        if isinstance(values, pd.Categorical):
            codes: Any = values.codes
            uniques: list[Any] = list(values.categories)
        else:
            codes, uniques = _factorize(values)
        hit = np.array([str(u).strip().lower() in statuses for u in uniques] + [False],
                       dtype=bool)
        return cast(Mask, hit[codes])

    def positions(self, mask: Mask) -> Ints:
        return np.flatnonzero(mask).astype(np.int64)

    def first_of(self, mask: Mask) -> Ints:
        """Per case: the sorted position of its first event in `mask`, -1 where none."""
        return first_in_runs(mask, self.case_code, self.n_cases, self._case_runs)

    @cached_property
    def _case_runs(self) -> tuple[Ints, Ints, Ints]:
        """(start, end and case code of each run of equal case codes of the sorted events)."""
        codes = self.case_code
        if not len(codes):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]).astype(np.int64)
        return starts, np.r_[starts[1:], len(codes)].astype(np.int64), \
            codes[starts].astype(np.int64)

    @cached_property
    def _case_spans(self) -> tuple[Ints, Ints] | None:
        """Per case (by its position in `case_ids`): the start and the end of its events
        among the sorted events, where each case's events are one run of them (as the log
        sorted by case holds them); None where a case has none or several runs, or an
        event has no case (code -1, which the look-up through `case_code` reads as the
        last case's: `rows_of_cases` then makes it so)."""
        starts, ends, codes = self._case_runs
        if len(codes) != self.n_cases or (len(codes) and (
                int(codes.min()) < 0
                or np.bincount(codes, minlength=self.n_cases).max() != 1)):
            return None
        begin = np.empty(self.n_cases, dtype=np.int64)
        end = np.empty(self.n_cases, dtype=np.int64)
        begin[codes], end[codes] = starts, ends
        return begin, end

    def rows_of_cases(self, positions: Ints) -> Ints:
        """The sorted positions of the events of the cases at `positions` (in `case_ids`;
        repeats allowed), ascending: the spans of those cases put together (`_case_spans`),
        not a look-up of every event's case and a pass over all the events (which a rule's
        findings paid per rule: 7.3M events at 1M cases for a few thousand cases)."""
        spans = self._case_spans
        if spans is None:
            chosen = np.zeros(self.n_cases, dtype=bool)
            chosen[positions] = True
            return np.flatnonzero(chosen[self.case_code])
        picked = np.unique(np.asarray(positions, dtype=np.int64))
        begin, end = spans[0][picked], spans[1][picked]
        if len(begin) > 1 and not bool((begin[1:] > begin[:-1]).all()):
            order = np.argsort(begin, kind="stable")
            begin, end = begin[order], end[order]
        lengths = end - begin
        before = np.cumsum(lengths) - lengths  # (the rows of the cases before each)
        return (np.repeat(begin - before, lengths)
                + np.arange(int(lengths.sum()), dtype=np.int64))

    def runs(self, codes: Ints) -> tuple[Ints, Ints]:
        """For case codes in ascending runs: (start of each run, its end); none of either
        for no codes."""
        if not len(codes):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        return starts.astype(np.int64), np.r_[starts[1:], len(codes)].astype(np.int64)

    def event_runs(self, at: Ints) -> tuple[pd.Index, Ints, Ints]:
        """For ascending sorted positions `at`: (the id of each case among them, the start and
        the end of its run in `at`)."""
        codes = self.case_code[at]
        starts, ends = self.runs(codes)
        return self.case_ids[codes[starts]], starts, ends

    def grouped(self, at: Ints, **joined: str) -> pd.DataFrame:
        """One row per case among the sorted positions `at` (ascending), indexed by case id:
        `eids` (the events' ids in order), `when` (their earliest time) and, per keyword, the
        distinct values of a column of those events, in order, joined by ", " (missing
        values as "<NA>"). What a groupby by case with list and join aggregations gives,
        without a Python call per case for the lists and the minimum."""
        index, starts, ends = self.event_runs(at)
        codes = self.case_code[at]
        frame = pd.DataFrame(index=index)
        frame.index.name = C.CASE
        ids = np.asarray(self.column(C.EVENT_ID).take(at).to_numpy(dtype=object), dtype=object)
        frame["eids"] = slices(ids, starts, ends)
        times = pd.Series(self.column(C.TIMESTAMP).take(at))
        frame["when"] = times.groupby(codes, sort=True).min().array
        for name, column in joined.items():
            values = [str(v) if v is not None and v is not pd.NA and v == v else "<NA>"
                      for v in self.column(column).take(at).to_numpy(dtype=object).tolist()]
            frame[name] = [", ".join(dict.fromkeys(values[s:e]))
                           for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
        return frame

    def any_per_case(self, mask: Mask) -> Mask:
        out = np.zeros(self.n_cases, dtype=bool)
        out[self.case_code[mask]] = True
        return out

    def frame(self, at: Ints, columns: Iterable[str]) -> pd.DataFrame:
        """The sorted events at positions `at`, with `columns` of the log."""
        # The taken arrays are new and the frame's own: not copied again (copy=False).
        return pd.DataFrame({c: _text(self.column(c).take(at)) for c in columns},
                            index=pd.RangeIndex(len(at)), copy=False)

    # --- per-case columns, on first use -------------------------------------------------
    def _first_at(self, prefix: str) -> Ints:
        """Per case: the sorted position of its first event of the kind `prefix` names
        (`_FIRSTS`), -1 where none; kept as "first:<prefix>"."""
        key = f"first:{prefix}"
        if key not in self._sorted:
            self._sorted[key] = self.first_of(self.mask(*_FIRSTS[prefix]))
        return cast(Ints, self._sorted[key])

    def _compute(self, name: str, codes: Ints | None = None) -> Any:
        """Per-case column `name` for all cases, or for the case positions `codes` only (then
        only the events of those cases are aggregated). An array of the column's dtype."""
        def gather(column: str, at: Ints) -> Any:
            return _text(self.column(column).take(at if codes is None else at[codes],
                                                  allow_fill=True))

        def count(mask: Mask) -> Any:
            counts = np.bincount(self.case_code[mask], minlength=self.n_cases).astype(int)
            return counts if codes is None else counts[codes]

        prefix = name.split("_", 1)[0]
        field = name.removeprefix(prefix + "_")
        if prefix in _FIRSTS and field in _FIELDS:
            return gather(_FIELDS[field], self._first_at(prefix))
        if name == "channel":
            return gather(C.CHANNEL, self.channel_at())
        if name == "has_ticket":
            per_case = self.any_per_case(~self._isna(C.TICKET_ID) | self.mask(*TICKET_CONTROLS))
            return per_case if codes is None else per_case[codes]
        if name == "currency":
            # The first request's currency, else the first successful payout's, else the
            # first its events state: the position of the event it is read from, chosen
            # per case on the codes, then one gather (before, three columns of text per
            # case gathered and filled into each other: 11 of 13 ms at 100k cases).
            stated = ~self._isna(C.CURRENCY)
            at = self.first_of(stated)
            for prefix in ("payout", "request"):  # (the later one wins)
                first = self._first_at(prefix)
                own = first >= 0
                own[own] = stated[first[own]]
                at = np.where(own, first, at)
            return gather(C.CURRENCY, at)
        if name == "approvals_n":
            return count(self.mask("approve", "second-approve"))
        if name == "payouts_n":
            return count(self.mask("paid"))
        if name == "requests_n":
            return count(self.mask("request"))
        if name == "approvals_min_amount":
            return self._per_case(self._approved_in_case_currency(), C.AMOUNT, "min", codes)
        if name == "approvals_first_time":
            return self._per_case(self.mask("approve", "second-approve"), C.TIMESTAMP, "min",
                                  codes)
        if name == "approvals_last_time":
            return self._per_case(self.mask("approve", "second-approve"), C.TIMESTAMP, "max",
                                  codes)
        if name == "payouts_sum":
            return self._per_case(self._paid_in_case_currency(), C.AMOUNT, "sum", codes)
        if name == "payout_currencies":
            return self._payout_currencies(codes)
        if name in ("prorata_amount", "prorata_eid"):
            return gather(C.AMOUNT if name == "prorata_amount" else C.EVENT_ID,
                          self._last_prorata())
        if name == "first_evidence_time":
            return gather(C.TIMESTAMP, self.first_of(self.mask("evidence")))
        if name == "first_close_time":
            return gather(C.TIMESTAMP, self.first_of(self.mask("close")))
        if name == "rejected":
            per_case = self.any_per_case(self.mask("reject"))
            return per_case if codes is None else per_case[codes]
        if name == "rejections_last_time":
            return self._per_case(self.mask("reject"), C.TIMESTAMP, "max", codes)
        if name in _LISTS:
            return self._lists_for(name, np.arange(self.n_cases) if codes is None else codes)
        raise KeyError(name)

    def paid_texts(self, codes: Ints) -> list[str]:
        """Per case at positions `codes`: what its successful payouts paid, as a message
        tells it: `payouts_sum` in the case's currency ("55.00 EUR"), then the payouts in
        any other currency, summed per currency ("30.00 EUR and 40.00 USD"); "(not
        recorded) EUR" where no amount is stated. (A payout in another currency is no part
        of `payouts_sum`: without this a case paid in USD only read "paid (not recorded)
        EUR".)"""
        from audit.currency import figure
        from audit.words import counted

        sums = pd.Series(self._value("payouts_sum", codes)).to_numpy(dtype=float,
                                                                      na_value=np.nan)
        currencies = pd.Series(self._value("currency", codes)).astype(object).tolist()
        others = self._paid_in_other_currencies(codes)
        # (A payout in the case's currency stating no amount: told as not recorded where
        # none states one, else counted beside the sum of those that do: "30.00 EUR and 1
        # payout stating no amount", never left out of the text.)
        counted_in = self._paid_in_case_currency()
        own = np.bincount(self.case_code[counted_in], minlength=self.n_cases)[codes] > 0
        unstated = np.bincount(self.case_code[counted_in & self._isna(C.AMOUNT)],
                               minlength=self.n_cases)[codes]
        texts = []
        for k, total, code, paid, blank in zip(codes.tolist(), sums.tolist(), currencies,
                                               own.tolist(), unstated.tolist(), strict=True):
            known = code if isinstance(code, str) else None
            parts = [figure(total, known) + (f" {known}" if known else "")] if paid else []
            if paid and blank and total == total:  # (some state an amount: NaN != NaN)
                parts.append(f"{counted(blank, 'payout', spec=',')} stating no amount")
            parts += others.get(k, [])
            texts.append(" and ".join(parts) if parts else
                         f"(not recorded) {known}" if known else "(not recorded)")
        return texts

    def paid_elsewhere_texts(self, codes: Ints) -> list[str | None]:
        """Per case at positions `codes`: what its successful payouts in another currency
        than the case's paid, summed per currency ("10.00 USD", "10.00 USD and 5 JPY"), as
        `paid_texts` tells them; None where it has none (what `payouts_sum` leaves out)."""
        others = self._paid_in_other_currencies(codes)
        return [" and ".join(others[k]) if k in others else None for k in codes.tolist()]

    def _paid_in_other_currencies(self, codes: Ints) -> dict[int, list[str]]:
        """Case position -> the sums of its successful payouts in another currency than the
        case's, one text per currency in the order first paid ("10.00 USD"), for the cases
        at positions `codes` that have any."""
        from audit.currency import figure

        wanted = np.zeros(self.n_cases, dtype=bool)
        wanted[codes] = True
        other = np.flatnonzero(self.mask("paid") & ~self._paid_in_case_currency()
                               & wanted[self.case_code])
        others: dict[int, list[str]] = {}
        if len(other):
            frame = pd.DataFrame({
                "case": self.case_code[other],
                "currency": pd.Series(self.column(C.CURRENCY).take(other)).astype(str).array,
                "amount": pd.to_numeric(pd.Series(self.column(C.AMOUNT).take(other)),
                                        errors="coerce").array})
            sums_per = frame.groupby(["case", "currency"], sort=False)["amount"].sum(
                min_count=1)
            for case, unit, amount in zip(
                    sums_per.index.get_level_values(0).tolist(),
                    sums_per.index.get_level_values(1).tolist(), sums_per.tolist(),
                    strict=True):
                others.setdefault(int(case), []).append(f"{figure(amount, unit)} {unit}")
        return others

    def _last_prorata(self) -> Ints:
        """Per case: the sorted position of its last pro-rata calculation (control
        `prorate`) stating an amount, where that one is in the case's currency or states
        none; -1 where the case has none, or where its last states another currency: what
        the subscription refund owes (`prorata_amount`). A later calculation replaces an
        earlier one; one in another currency says nothing of the case's amount, and the
        request is then what is owed (not an earlier calculation it replaced)."""
        key = "last:prorate"
        if key not in self._sorted:
            prorate = self.mask("prorate")
            at = np.flatnonzero(prorate & ~self._isna(C.AMOUNT))
            codes = self.case_code[at]
            last = np.r_[codes[1:] != codes[:-1], True] if len(at) else np.zeros(0, bool)
            positions = np.full(self.n_cases, -1, dtype=np.int64)
            own = self._in_case_currency(prorate, "prorate:case-currency")[at[last]]
            positions[codes[last][own]] = at[last][own]
            self._sorted[key] = positions
        return cast(Ints, self._sorted[key])

    def paid_in_case_currency(self) -> Mask:
        """The successful payouts in their case's currency or stating none (per sorted
        event): what `payouts_sum` adds up."""
        return self._paid_in_case_currency()

    def approved_in_case_currency(self) -> Mask:
        """The approvals (either level) in their case's currency or stating none (per sorted
        event): what `approvals_min_amount` reads."""
        return self._approved_in_case_currency()

    def requested_in_case_currency(self) -> Mask:
        """The refund requests in their case's currency or stating none (per sorted event):
        what a case with several requests asked for in all (`duplicate-refund` adds them
        up where an approval states an amount, else reads the first; `request_amount` is
        the first's alone)."""
        return self._in_case_currency(self.mask("request"), "request:case-currency")

    def _paid_in_case_currency(self) -> Mask:
        """The successful payouts in their case's currency (`currency`) or stating none:
        what `payouts_sum` adds up. A payout in another currency is no part of the sum (an
        amount in JPY added to one in EUR is no amount; `instrument-mismatch` reports such
        a payout)."""
        return self._in_case_currency(self.mask("paid"), "paid:case-currency")

    def _approved_in_case_currency(self) -> Mask:
        """The approvals (either level) in their case's currency (`currency`) or stating
        none: what `approvals_min_amount` reads. An approval of 80 USD says nothing of how
        much of a EUR case's payouts it covers (read as 80 EUR, a payout of 100 EUR
        exceeded it by 20 EUR)."""
        return self._in_case_currency(self.mask("approve", "second-approve"),
                                      "approved:case-currency")

    def _in_case_currency(self, events: Mask, key: str) -> Mask:
        """`events` less those stating another currency than their case's (`currency`),
        kept under `key`."""
        if key not in self._sorted:
            import pyarrow as pa
            import pyarrow.compute as pc

            at = np.flatnonzero(events)
            own = pa.array(self.column(C.CURRENCY).take(at), from_pandas=True)
            case = pa.array(pd.array(self.col("currency").array).take(self.case_code[at]),
                            from_pandas=True)
            other = pc.fill_null(pc.not_equal(own.cast(pa.string()), case.cast(pa.string())),
                                 False)
            kept = events.copy()
            kept[at[np.asarray(other.to_numpy(zero_copy_only=False), dtype=bool)]] = False
            self._sorted[key] = kept
        return cast(Mask, self._sorted[key])

    def _payout_currencies(self, codes: Ints | None) -> Any:
        """Per case, the currencies its successful payouts state, distinct and sorted,
        joined by ", " ("EUR", "EUR, USD"); missing where none states one. On the codes of
        the column's categories: the text only once per case."""
        paid = self.mask("paid") & ~self._isna(C.CURRENCY)
        if codes is not None:
            wanted = np.zeros(self.n_cases, dtype=bool)
            wanted[codes] = True
            paid &= wanted[self.case_code]
        at = np.flatnonzero(paid)
        values = self.column(C.CURRENCY).take(at)
        texts: Any
        if isinstance(values, pd.Categorical):
            coded, texts = values.codes.astype(np.int64), values.categories
        else:
            coded, texts = pd.factorize(np.asarray(values, dtype=object), sort=True)
        cases = self.case_code[at]
        order = np.argsort(cases, kind="stable")  # (cases ascend already in sorted events)
        cases, coded = cases[order], coded[order]
        starts, ends = self.runs(cases)
        low = np.minimum.reduceat(coded, starts) if len(starts) else coded[:0]
        high = np.maximum.reduceat(coded, starts) if len(starts) else coded[:0]
        joined = np.full(self.n_cases, None, dtype=object)
        names = np.asarray(texts, dtype=object)
        one = low == high
        joined[cases[starts[one]]] = names[low[one]]
        for run in np.flatnonzero(~one).tolist():  # several currencies: rare
            joined[cases[starts[run]]] = ", ".join(
                sorted({str(t) for t in names[coded[starts[run]:ends[run]]]}))
        return pd.array(joined if codes is None else joined[codes], dtype="string")

    def _value(self, name: str, codes: Ints | None) -> Any:
        """Column `name` for all cases or the case positions `codes` (cached when whole)."""
        if codes is None:
            return self.col(name).array
        if name in self._columns:
            return self._columns[name].array.take(codes)
        return self._compute(name, codes)

    def _isna(self, column: str) -> Mask:
        key = f"isna:{column}"
        if key not in self._sorted:
            self._sorted[key] = np.asarray(self.column(column).isna(), dtype=bool)
        return cast(Mask, self._sorted[key])

    def col(self, name: str) -> pd.Series:
        """One per-case column (see `cases`), computed on first use and kept, except a text
        value of each case's first event of a kind (`payout_eid`, `payout_charge`,
        `approval1_resource`, ...): 10-35 MB of text a column at 1M cases, taken again from
        the kept first positions (8 MB) each time, one take, instead of held to the last
        rule that reads them."""
        if name in self._columns:
            return self._columns[name]
        column = pd.Series(self._compute(name), index=self.case_ids, name=name)
        if not (_first_event_value(name) and isinstance(column.dtype, pd.StringDtype)):
            self._columns[name] = column
        return column

    def table(self, *names: str) -> pd.DataFrame:
        """The per-case columns `names`, indexed by case id."""
        # Not copied (a 1M-case table of eight columns is 0.2 GB): copy-on-write gives a
        # rule that writes into the table its own copy, never the cached column.
        frame = pd.DataFrame({n: self.col(n) for n in names}, index=self.case_ids, copy=False)
        frame.index.name = C.CASE
        return frame

    def at_cases(self, codes: Ints, *names: str) -> pd.DataFrame:
        """The per-case columns `names` of the cases at positions `codes`, indexed by id;
        columns not computed yet are computed for these cases only."""
        frame = pd.DataFrame({n: self._value(n, codes) for n in names},
                             index=self.case_ids[codes])
        frame.index.name = C.CASE
        return frame

    @property
    def cases(self) -> pd.DataFrame:
        """The whole per-case table (every group computed)."""
        names = ["channel", "currency", "has_ticket"]
        names += [f"{p}_{k}" for p in _FIRSTS for k in _FIELDS]
        names += ["approvals_n", "approvals_min_amount", "approvals_first_time",
                  "approvals_last_time", "approval_eids", "payouts_n", "requests_n",
                  "payouts_sum",
                  "payout_eids", "first_evidence_time", "first_close_time", "rejected",
                  "rejections_last_time"]
        return self.table(*names)

    def _per_case(self, mask: Mask, name: str, how: str, codes: Ints | None) -> Any:
        if codes is not None:
            wanted = np.zeros(self.n_cases, dtype=bool)
            wanted[codes] = True
            mask = mask & wanted[self.case_code]
        at = np.flatnonzero(mask)
        values = pd.Series(self.column(name).take(at))
        grouped = values.groupby(self.case_code[at])
        result = grouped.sum(min_count=1) if how == "sum" else getattr(grouped, how)()
        return result.reindex(range(self.n_cases) if codes is None else codes).array

    def _lists_for(self, name: str, cases: Ints) -> np.ndarray[Any, np.dtype[np.object_]]:
        """Event ids of `name` ("approval_eids" or "payout_eids") as lists, for the case
        positions `cases` only (NaN where the case has none)."""
        wanted = np.zeros(self.n_cases, dtype=bool)
        wanted[cases] = True
        at = np.flatnonzero(self.mask(*_LISTS[name]) & wanted[self.case_code])
        ids = self.column(C.EVENT_ID).take(at).to_numpy(dtype=object)
        return _lists(self.case_code[at], ids, cases)

    def with_lists(self, hits: pd.DataFrame, *names: str, codes: Ints | None = None
                   ) -> pd.DataFrame:
        """`hits` (indexed by case id) with the list columns `names` added; `codes`, where
        given, the positions of its cases in `case_ids` (else looked up by id)."""
        hits = hits.copy()
        where = self.case_ids.get_indexer(hits.index) if codes is None else codes
        for name in names:
            hits[name] = self._lists_for(name, where)
        return hits

    def episodes(self, codes: Ints) -> Episodes:
        """The refund episodes of the cases at positions `codes` (ascending), as the timing
        rules read them. An episode opens at a request: a case's first request, or the first
        one after a close or a standing rejection (one that no later approval overturned)
        that came at or after the request before it; so a close or a rejection before a
        request does not end it, and one at the same time as a request ends it. An episode
        holds its case's events from its request up to the next episode's (an event at the
        same time as a request is that request's); the events before a case's first request
        are no episode's. Its points are the first successful payout, close and evidence and
        the first and last approval among its events; it has ended where a close or a
        standing rejection is among them. Only the events of these cases are read; events
        without a time are left out."""
        wanted = np.zeros(self.n_cases, dtype=bool)
        wanted[codes] = True
        request, approval = self.mask("request"), self.mask("approve", "second-approve")
        rejection, close, paid = self.mask("reject"), self.mask("close"), self.mask("paid")
        evidence = self.mask("evidence")
        at = np.flatnonzero(wanted[self.case_code] & (request | approval | rejection | close
                                                       | paid | evidence))
        taken = pd.Series(self.column(C.TIMESTAMP).take(at))
        known = taken.notna().to_numpy()
        at = at[known]
        times = _int_times(taken[known])
        case = self.case_code[at]
        n = len(at)
        index = np.arange(n, dtype=np.int64)
        # Runs of events of one case at one time, and each event's case's first index.
        new_case = np.r_[True, case[1:] != case[:-1]] if n else np.zeros(0, dtype=bool)
        new_run = new_case | np.r_[False, times[1:] != times[:-1]] if n else new_case
        run_start = np.maximum.accumulate(np.where(new_run, index, 0)) if n else index
        case_start = np.maximum.accumulate(np.where(new_case, index, 0)) if n else index
        run_end = np.r_[np.flatnonzero(new_run)[1:], n][np.cumsum(new_run) - 1] if n else index
        # A rejection stands where no approval of its case came later.
        latest = np.full(self.n_cases, np.iinfo(np.int64).min, dtype=np.int64)
        approved = np.flatnonzero(approval[at])
        np.maximum.at(latest, case[approved], times[approved])
        standing = rejection[at] & (times >= latest[case])
        ends = close[at] | standing
        ended_before = np.r_[0, np.cumsum(ends)]
        # Per event: its case's ends strictly before its time.
        earlier_ends = ended_before[run_start] - ended_before[case_start]
        asked = np.flatnonzero(request[at])
        first_ask = np.r_[True, case[asked[1:]] != case[asked[:-1]]] if len(asked) else \
            np.zeros(0, dtype=bool)
        # A request opens an episode where it is its case's first, or an end came at or
        # after the request before it and before it.
        opens = first_ask | np.r_[False, earlier_ends[asked[1:]] > earlier_ends[asked[:-1]]]
        starts = asked[opens]
        is_start = np.zeros(n, dtype=bool)
        is_start[starts] = True
        started = np.r_[0, np.cumsum(is_start)]
        # Per event: its episode (numbered over all cases), -1 before its case's first.
        episode = np.where(started[run_end] > started[case_start], started[run_end] - 1, -1)
        count = len(starts)

        def first(chosen: Mask, *, last: bool = False) -> Ints:
            """Per episode: the sorted position of its first (or last) event in `chosen`."""
            where = np.flatnonzero(chosen & (episode >= 0))
            out = np.full(count, -1, dtype=np.int64)
            if len(where):  # (the episodes of the events ascend)
                numbers = episode[where]
                change = np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1]])
                pick = np.r_[change[1:], len(where)] - 1 if last else change
                out[numbers[pick]] = at[where[pick]]
            return out

        def any_of(chosen: Mask) -> Mask:
            out = np.zeros(count, dtype=bool)
            out[episode[chosen & (episode >= 0)]] = True
            return out

        cases = case[starts]
        appr = np.flatnonzero(approval[at] & (episode >= 0))
        return Episodes(
            case=cases.astype(np.int64), request=at[starts], payout=first(paid[at]),
            close=first(close[at]), evidence=first(evidence[at]),
            approval_first=first(approval[at]), approval_last=first(approval[at], last=True),
            ended=any_of(ends), rejected=any_of(standing),
            last=np.r_[cases[1:] != cases[:-1], True] if count else np.zeros(0, dtype=bool),
            approvals=at[appr], approvals_episode=episode[appr])

    def point(self, name: str) -> pd.Series:
        """Time of a stage point per case (see policy stages)."""
        return self.col(POINT_COLUMNS[name])

    def tolerance(self, currencies: pd.Series) -> npt.NDArray[np.float64]:
        """Per amount, of the currency at its position in `currencies`: the policy's
        `amount_tolerance` where it sets one, else half a minor unit of that currency
        (EUR 0.005, KWD 0.0005, JPY 0.5; 0.005 where none or an unknown one is stated),
        plus 1e-9: amounts are floats, and a sum of decimal amounts differs from the decimal
        sum by float error (0.1 + 0.2 is 0.3 + 5.6e-17), which with a tolerance of 0 read as
        'refunds exceed the charge'. No currency has a unit near 1e-9. (Before, 0.005 for
        every currency: up to 5 fils of KWD, BHD or TND over the charge, the approval or
        the threshold read as rounding, and two KWD payouts 4 fils apart as one repeated.)"""
        stated = self.policy.amount_tolerance
        if stated is not None:
            return np.full(len(currencies), stated + FLOAT_NOISE)
        # One value per distinct currency, taken by code: no Python per amount.
        codes, uniques = pd.factorize(pd.Series(currencies, copy=False), use_na_sentinel=True)
        halves = np.array([0.5 * 10.0 ** -decimals(c) for c in uniques] + [0.005])
        return np.asarray(halves[codes] + FLOAT_NOISE, dtype=np.float64)

    # --- conformance (computed on first use, by the CF rules) -----------------------------
    @property
    def conformance(self) -> ConformanceResult:
        """Each judged case aligned on its channel's SOP (see conformance.deviations)."""
        if self._conformance is None:
            self._conformance = self.compute_conformance(
                with_precision=self.policy.conformance.precision)
        return self._conformance

    def compute_conformance(self, *, with_precision: bool,
                            processes: int | None = None) -> ConformanceResult:
        """check_conformance on these events with the policy's options."""
        from conformance.deviations import COLUMNS, check_conformance

        options = self.policy.conformance
        # Only the columns the check reads, as they are (the sorted log's own arrays when it
        # came sorted): `events` would copy every column and keep the copy for the run.
        # (each event with its case's channel: the SOP is the case's, see case_channel)
        events = pd.DataFrame({c: self.column(CASE_CHANNEL if c == C.CHANNEL else c)
                               for c in COLUMNS if self.has(c)}, copy=False)
        return check_conformance(
            events, self.policy.sop_tasks(), self.policy.sop_path,
            mode=options.mode, engine=options.engine, max_states=options.max_states,
            max_seconds=options.max_seconds, with_precision=with_precision,
            processes=processes, process_for=self.policy.sop_process,
            active=self._active_events())

    def _active_events(self) -> Mask | None:
        """Per sorted event: its case is active at the clock (`active_at_clock`); None where
        no case is (then no case runs, and no per-event array is made)."""
        active = self.active_at_clock()
        return active[self.case_code] if active.any() else None

    def active_at_clock(self) -> Mask:
        """Per case: still active at the audit's clock, its last event (of any activity, in
        the log at the clock) less than `conformance.running_for` before it. Such a case
        whose alignment has not reached an end of its SOP is running (conformance's
        `check_conformance`): the tasks after its last event are not due yet. The events are
        sorted by case and time: a case's last event ends its run (one time read a case, no
        per-case Python; an event without a time is quarantined on import, and a case whose
        last one has none here is not active)."""
        key = "active-at-clock"
        if key not in self._sorted:
            out = np.zeros(self.n_cases, dtype=bool)
            window = self.policy.conformance.running_for
            if self.n_events and window > pd.Timedelta(0) and self.has(C.TIMESTAMP):
                times = pd.DatetimeIndex(self.column(C.TIMESTAMP))
                codes = self.case_code
                ends = np.r_[np.flatnonzero(codes[1:] != codes[:-1]), len(codes) - 1]
                since = self.as_of - window
                if times.tz is None and since.tz is not None:
                    since = since.tz_convert("UTC").tz_localize(None)
                # (compared as times, in the log's unit: NaT is never after)
                recent = np.asarray(times[ends] > since, dtype=bool)
                owner = codes[ends]
                recent &= owner >= 0  # (events without a case id: in no case, code -1)
                out[owner[recent]] = True
            self._sorted[key] = out
        return cast(Mask, self._sorted[key])

    @property
    def conformance_computed(self) -> bool:
        return self._conformance is not None

    def sop_path(self, channel: str | None) -> Path | None:
        return self.policy.sop_path(channel)

    def sop_name(self, channel: str | None) -> str | None:
        """The channel's SOP as the policy names it (`Policy.sop_name`): what a finding
        cites, never the path it was read from."""
        return self.policy.sop_name(channel)

    # --- evidence graphs (built on first use, per case, by the evidence-chain rules) ------
    def evidence_graphs(self, cases: Iterable[object]) -> dict[str, nx.DiGraph]:
        """The evidence graph (audit.evidence_graph) of each of `cases`, built once per run.

        Only the cases asked for are built (rules ask for the cases that paid something out),
        in one pass over their events. The graph is drawn from the case's events as the rules
        see them: a ticket event (request, approval, ...) without a ticket id belongs to the
        case's own ticket (named by the case), a payout without a refund id is its own refund
        (named by its event id), and a purchase without a charge id its own charge, so the
        graph's links agree with the controls the policy maps the labels to.
        """
        wanted = list(dict.fromkeys(str(c) for c in cases))
        todo = [c for c in wanted if c not in self._graphs]
        if todo:
            from audit.evidence_graph import evidence_graphs

            self._graphs.update(evidence_graphs(self._graph_events(todo),
                                                self.policy.control_of()))
        return {c: self._graphs[c] for c in wanted if c in self._graphs}

    def release_graphs(self) -> None:
        """Drop the evidence graphs built so far, each freed at once rather than by the
        cyclic garbage collector (audit.evidence_graph.release)."""
        if self._graphs:
            from audit.evidence_graph import release

            release(self._graphs.values())
            self._graphs.clear()

    def evidence_chain(self, cases: Iterable[object]) -> pd.DataFrame:
        """What the evidence graph of each of `cases` tells the evidence-chain rules
        (audit.evidence_chain.chain_links: its ticket, whether a successful payout is one of
        its refunds, its earliest recorded purchase, its order without a recorded charge,
        its refund naming no charge), indexed by the case id's text, computed once per run
        and case column-wise from the events `evidence_graphs` draws the graphs from (no
        graph is built)."""
        wanted = list(dict.fromkeys(str(c) for c in cases))
        known = self._chains
        todo = wanted if known is None else [c for c in wanted if c not in known.index]
        if todo:
            from audit.evidence_chain import chain_links

            events, paid = self._chain_events(todo, _CHAIN_KEEP)
            found = chain_links(events, self.policy.control_of(), paid)
            known = found if known is None else pd.concat([known, found])
            self._chains = known
        if known is None:
            from audit.evidence_chain import CHAIN_COLUMNS

            return pd.DataFrame(columns=list(CHAIN_COLUMNS), index=pd.Index([], dtype=object))
        return known.reindex(pd.Index([c for c in wanted if c in known.index], dtype=object,
                                      name=C.CASE))

    def _graph_events(self, cases: list[str]) -> pd.DataFrame:
        events, _ = self._chain_events(cases)
        # Plain Python strings: the graphs are built row by row (audit.evidence_graph), and
        # a row of Arrow-backed strings costs a conversion per cell.
        strings = [c for c in events.columns if isinstance(events[c].dtype, pd.StringDtype)]
        events = events.astype(dict.fromkeys(strings, object))
        for eid, time in zip(events[C.EVENT_ID].astype(str), events[C.TIMESTAMP],
                             strict=True):
            self._graph_times.setdefault(eid, time)
        return events

    def _chain_events(self, cases: list[str], columns: Iterable[str] | None = None
                      ) -> tuple[pd.DataFrame, Mask]:
        """The events of `cases` as their evidence graphs are drawn from (`columns` of them,
        where given, else all the graphs read), and which of them are successful payouts. A
        ticket event (request, approval, ...) without a ticket id belongs to the case's own
        ticket (named by the case), a payout without a refund id is its own refund (named by
        its event id), and a purchase without a charge id its own charge, so the graph's
        links agree with the controls the policy maps the labels to."""
        # Found by case_positions (the case ids probed against the few asked; their text as
        # an Index would be a Python string per case and a hash table: 0.1 GB at 1M cases).
        if pd.api.types.is_string_dtype(self.case_ids.dtype):
            where = self.case_positions(pd.Index(cases, dtype=object))
        else:  # case ids of another type (a log made by hand): matched by their text
            found = self.case_ids.astype(str).get_indexer(pd.Index(cases))
            where = found[found >= 0]
        at = self.rows_of_cases(np.zeros(0, dtype=np.int64) if where is None else where)
        keep = ([c for c in _KEEP if c in self.log.columns] + C.evidence_columns(self.log)
                if columns is None else [c for c in columns if c in self.log.columns])
        events = self.frame(at, keep)
        events["control"] = self.control_at(at)
        control = events["control"]
        for column in (C.TICKET_ID, C.REFUND_ID, C.CHARGE_ID):
            if column not in events.columns:
                events[column] = pd.Series(pd.NA, index=events.index, dtype="string")
            events[column] = events[column].astype("string")
        ticketless = control.isin(TICKET_CONTROLS) & events[C.TICKET_ID].isna()
        events.loc[ticketless, C.TICKET_ID] = events.loc[ticketless, C.CASE].astype(str)
        paid_at = self.mask("paid")[at]
        paid = pd.Series(paid_at, index=events.index)
        unnamed = paid & events[C.REFUND_ID].isna()
        events.loc[unnamed, C.REFUND_ID] = events.loc[unnamed, C.EVENT_ID].astype(str)
        uncharged = (control == "purchase") & events[C.CHARGE_ID].isna()
        events.loc[uncharged, C.CHARGE_ID] = events.loc[uncharged, C.EVENT_ID].astype(str)
        return events, paid_at

    # --- lookups for findings -------------------------------------------------------------
    def _rows_of(self, event_ids: list[str], near: Ints | None = None) -> pd.DataFrame:
        """Activity, resource and time of the given event ids, indexed by id. The events of
        the cases at positions `near` are searched first, the whole log only for the rest."""
        found: list[pd.DataFrame] = []
        todo = event_ids
        if near is not None and len(near):
            at = self.rows_of_cases(near)
            found.append(self._rows_at(at, event_ids))
            known = set(found[0].index.tolist())  # a set: not an Index lookup per id
            todo = [i for i in event_ids if i not in known]
        if todo:
            found.append(self._rows_at(None, todo))
        frame = found[0] if len(found) == 1 else pd.concat(found)
        return frame[~frame.index.duplicated()]

    def _rows_at(self, at: Ints | None, event_ids: list[str]) -> pd.DataFrame:
        ids = self.column(C.EVENT_ID) if at is None else self.column(C.EVENT_ID).take(at)
        hit = np.flatnonzero(C.text_isin(pd.Series(ids), event_ids))
        rows = hit if at is None else at[hit]
        return pd.DataFrame({"activity": self.column(C.ACTIVITY).take(rows),
                             "resource": self.column(C.RESOURCE).take(rows),
                             "time": self.column(C.TIMESTAMP).take(rows)},
                            index=pd.Index(pd.Series(ids.take(hit)).astype(str).array))

    def event_times(self, event_ids: Iterable[str], cases: pd.Index | None = None
                    ) -> pd.Series:
        """Timestamp per event id (the evidence graphs' events are looked up first, then the
        events of `cases`, where the ids are expected, then the whole log)."""
        ids = list(event_ids)
        known = self._graph_times
        if all(i in known for i in ids):
            return pd.Series([known[i] for i in ids], index=pd.Index(ids, dtype=object),
                             dtype=self.column(C.TIMESTAMP).dtype)
        return self._rows_of(ids, self.case_positions(cases))["time"].reindex(ids)

    def known_times(self, event_ids: list[str]) -> list[pd.Timestamp]:
        """The times of those of `event_ids` that have one, in order: from the evidence
        graphs' events without building a Series where all are there (a rule asks once per
        case), else through `event_times`."""
        known = self._graph_times
        if all(i in known for i in event_ids):
            return [t for t in (known[i] for i in event_ids) if not pd.isna(t)]
        return list(self.event_times(event_ids).dropna())

    @cached_property
    def _case_keys(self) -> np.ndarray[Any, Any] | None:
        """The case ids (Arrow texts, sorted) as fixed-width bytes (`_fixed_bytes`), made
        once, for `case_positions`' binary search (about 10 MB at 1M cases); None where
        they are no Arrow texts, are too long, hold a NUL or are not strictly ascending as
        bytes (UTF-8 orders as code points do)."""
        data = getattr(self.case_ids.array, "_pa_array", None)
        keys = None if data is None else _fixed_bytes(data)
        if keys is None or (len(keys) > 1 and not bool((keys[1:] > keys[:-1]).all())):
            return None
        return keys

    def case_positions(self, cases: pd.Index | None) -> Ints | None:
        """The positions in `case_ids` of those of `cases` that are there (None for None)."""
        if cases is None or not len(cases) or not self.n_cases:
            return None
        keyed = self._case_keys
        if keyed is not None:
            found = _sorted_positions(keyed, cases)
            if found is not None:
                return found
        probed = _probe_positions(self.case_ids, cases)
        if probed is not None:
            return probed
        # The case ids are sorted: a binary search, checked, instead of a hash table.
        where = np.minimum(self.case_ids.searchsorted(cases), self.n_cases - 1)
        same = (np.asarray(self.case_ids.take(where), dtype=object)
                == np.asarray(cases, dtype=object))
        return np.asarray(where[same], dtype=np.int64)

    def describe(self, event_ids: list[str], cases: pd.Index | None = None
                 ) -> dict[str, tuple[str, str | None]]:
        """Event id -> (activity, resource) for the given ids, in one lookup (the events of
        `cases`, where the ids are expected, are searched first, the whole log only for the
        rest; an id held by several events is its first one's, in the sorted order; an id
        whose event states no activity is left out). Read off the columns as lists, no
        frame indexed by id and reindexed (each rule's findings paid that, on the events of
        their cases), and each distinct text once (the activities, the people)."""
        unique = list(dict.fromkeys(event_ids))
        if not unique:
            return {}
        near = self.case_positions(cases)
        seen: dict[str, tuple[str, str | None] | None] = {}
        texts: dict[str, str] = {}
        one = texts.setdefault  # (each distinct text one object)
        todo = unique
        if near is not None and len(near):
            self._describe_at(self.rows_of_cases(near), todo, seen, one)
            todo = [i for i in unique if i not in seen]
        if todo:
            self._describe_at(None, todo, seen, one)
        return {i: found for i in unique if (found := seen.get(i)) is not None}

    def _describe_at(self, at: Ints | None, wanted: list[str],
                     seen: dict[str, tuple[str, str | None] | None],
                     one: Callable[[str, str], str]) -> None:
        """Into `seen`, per id of `wanted` held by an event at sorted positions `at` (all
        where None) and not in `seen` yet: (activity, resource) of its first such event
        (None where that event states no activity); each text through `one` (a dict's
        setdefault: one object per distinct text)."""
        ids = self.column(C.EVENT_ID) if at is None else self.column(C.EVENT_ID).take(at)
        hit = np.flatnonzero(C.text_isin(pd.Series(ids, copy=False), wanted))
        if not len(hit):
            return
        rows = hit if at is None else at[hit]
        found = pd.Series(ids.take(hit), copy=False).astype(str).tolist()
        activities = _described_texts(self.column(C.ACTIVITY).take(rows), one)
        resources = _described_texts(self.column(C.RESOURCE).take(rows), one)
        for i, a, r in zip(found, activities, resources, strict=True):
            if i not in seen:
                seen[i] = None if a is None else (a, r)


def channels_of_cases(log: pd.DataFrame, policy: Policy,
                      as_of: datetime | None = None) -> pd.Series:
    """Per case of `log`'s completions (the events check judges, `canonical.completions`;
    indexed by case id, sorted): its channel as check decides it
    (`CaseFacts.channel_of_cases`: its ticket's, else the first its events state by time),
    missing where none of its events states one. `policy` tells which labels are ticket
    events (its `activities`' controls); `as_of` plays no part in a case's channel. The one
    definition check's reports (`CheckRun.case_channels`) and `compare --channel` and
    `discover --channel` read a case's channel by."""
    from datetime import UTC

    return CaseFacts(C.completions(log), policy,
                     as_of or datetime.now(UTC)).channel_of_cases()


_KEY_WIDTH = 32
"""The longest case id (in UTF-8 bytes) `_fixed_bytes` holds: at most 32 MB at 1M cases."""


def _fixed_bytes(data: Any) -> np.ndarray[Any, Any] | None:
    """Arrow texts as a NumPy array of fixed-width bytes (each text's UTF-8, NUL-padded),
    made from Arrow's buffers, no Python text per value; None where `data` is no Arrow
    text array, holds a missing value or a NUL (which the padding could not tell apart),
    or a text longer than `_KEY_WIDTH` bytes."""
    import pyarrow as pa

    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    if not isinstance(data, pa.Array) or not (
            pa.types.is_string(data.type) or pa.types.is_large_string(data.type)) \
            or data.null_count:
        return None
    offset_type = np.int64 if pa.types.is_large_string(data.type) else np.int32
    offsets = np.frombuffer(data.buffers()[1], dtype=offset_type)[
        data.offset:data.offset + len(data) + 1].astype(np.int64)
    lengths = np.diff(offsets)
    width = int(lengths.max()) if len(lengths) else 0
    if width > _KEY_WIDTH:
        return None
    raw = np.frombuffer(data.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]] \
        if data.buffers()[2] is not None and len(lengths) else np.zeros(0, dtype=np.uint8)
    if raw.size and not bool(raw.all()):  # (a NUL)
        return None
    width = max(width, 1)
    table = np.zeros((len(lengths), width), dtype=np.uint8)
    starts = offsets[:-1] - offsets[0]
    for column in range(width):  # (byte by byte: no temporary of a position per byte)
        longer = np.flatnonzero(lengths > column)
        table[longer, column] = raw[starts[longer] + column]
    return table.view(f"S{width}").ravel()


def _sorted_positions(keys: np.ndarray[Any, Any], wanted: pd.Index) -> Ints | None:
    """The positions in the sorted case ids `keys` (`CaseFacts._case_keys`) of those of
    `wanted` that are there, in the order of `wanted` (a repeated one as often): a binary
    search of the few wanted in the fixed-width bytes, where `_probe_positions` hashed every
    case id per look-up (about 15 ms at 1M cases, some thirty look-ups a run). None where
    `wanted` are not all texts (or hold a NUL, or are too long)."""
    import pyarrow as pa

    try:
        asked = pa.array(np.asarray(wanted, dtype=object), type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    sought = _fixed_bytes(asked)
    if sought is None:
        return None
    where = np.minimum(np.searchsorted(keys, sought), len(keys) - 1)
    return np.asarray(where[keys[where] == sought], dtype=np.int64)


def _probe_positions(ids: pd.Index, wanted: pd.Index) -> Ints | None:
    """The positions in `ids` (Arrow strings) of those of `wanted` (distinct strings) that
    are there, in the order of `wanted`: each id looked up in a hash set of the few wanted
    ones. pandas' searchsorted on Arrow strings makes a Python string of every id first
    (65 MB at 1M cases, per lookup: once per rule). None where this does not apply."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data = getattr(ids.array, "_pa_array", None)
    if data is None or not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    try:
        keys = pa.array(np.asarray(wanted, dtype=object), type=data.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    if keys.null_count or len(pc.unique(keys)) != len(keys):
        return None
    at = pc.index_in(data, value_set=keys)  # per id: its place among the wanted, or null
    if isinstance(at, pa.ChunkedArray):
        at = at.combine_chunks()
    found = np.flatnonzero(np.asarray(at.is_valid().to_numpy(zero_copy_only=False), dtype=bool))
    where = np.full(len(keys), -1, dtype=np.int64)
    where[np.asarray(at.take(pa.array(found)).to_numpy(zero_copy_only=False),
                     dtype=np.int64)] = found
    return where[where >= 0]


def _first_event_value(name: str) -> bool:
    """Whether per-case column `name` is a field of each case's first event of a kind."""
    prefix, _, field = name.partition("_")
    return prefix in _FIRSTS and field in _FIELDS


def _text(values: Any) -> Any:
    """Values taken from a coded column (audit.canonical.compact) as strings, as the rules
    read them (a category would change what `map`, `fillna` and arithmetic give); other
    arrays as they are. Only the values taken are converted, not the column."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return C.category_text(values)
    return values


def _described_texts(values: Any, one: Callable[[str, str], str]) -> list[str | None]:
    """Each value of an array as its text (`str`), None where missing; each distinct text
    one object (`one`: a dict's setdefault), and a coded column's made once per category,
    not per value."""
    if isinstance(values, pd.Categorical):
        table = [one(t, t) for t in map(str, values.categories.tolist())] + [None]
        return [table[k] for k in values.codes.tolist()]
    missing = np.asarray(pd.isna(values), dtype=bool).tolist()
    return [None if m else one(t, t) for t, m in zip(
        map(str, values.tolist()), missing, strict=True)]


def _one_chunk(values: Any) -> Any:
    """An Arrow-backed array in one chunk (a parquet file gives one per row group): Arrow's
    take on a chunked array costs about a whole-column copy per call (0.3 s for 7M ids),
    on one chunk it costs what it gathers. Other arrays are returned as they are."""
    data = getattr(values, "_pa_array", None)
    if data is None or data.num_chunks <= 1:
        return values
    import pyarrow as pa

    return type(values)(pa.chunked_array([data.combine_chunks()], type=data.type))


def _factorize(values: Any) -> tuple[Ints, list[Any]]:
    """(integer code of each value, -1 where missing; the distinct values) of an array."""
    data = getattr(values, "_pa_array", None)
    if data is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(data)
        chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
        if not chunks:
            return np.zeros(0, dtype=np.int64), []
        if all(c.dictionary.equals(chunks[0].dictionary) for c in chunks):
            codes = np.concatenate([np.asarray(c.indices.fill_null(-1).to_numpy(
                zero_copy_only=False), dtype=np.int64) for c in chunks])
            return codes, chunks[0].dictionary.to_pylist()
    codes, uniques = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), list(uniques)


def first_in_runs(mask: Mask, codes: Ints, n: int, runs: tuple[Ints, Ints, Ints]) -> Ints:
    """Per group 0..n-1 of `codes` (each event's group, one run of equal codes per group, as
    the sorted events' cases are: `runs` are their starts, ends and codes): the position of
    its first event in `mask`, -1 where none. An event of no group (code -1: of no case) is
    no group's (before, it wrote its position into the last group's slot, out[-1]).

    Where few events are in `mask`, found among those (their groups compared with their
    neighbours'); where many are (a quarter of the events or more: at 1M cases a mask of
    most of the 7M events, such as every ticket event stating a channel), by counting: the
    events in `mask` before each run are its first one's rank among them, which costs a
    running count of the events and a look-up per run instead of the group of each event
    in `mask` (the 12 masks of a run of the rules at 1M cases, three of them dense: 0.26
    against 0.35 s, medians of six runs of each form in turn, on a shared 2-core machine)."""
    at = np.flatnonzero(mask)
    out = np.full(n, -1, dtype=np.int64)
    if not len(at):
        return out
    if len(at) * 4 < len(codes):
        cases = codes[at]
        start = np.r_[True, cases[1:] != cases[:-1]] & (cases >= 0)
        out[cases[start]] = at[start]
        return out
    starts, ends, owners = runs
    width = np.int64 if len(codes) >= 2**31 else np.int32
    counted: npt.NDArray[np.signedinteger[Any]] = np.cumsum(mask, dtype=width)
    # the events in `mask` before each run: the rank of its first one among them
    before: npt.NDArray[np.signedinteger[Any]] = counted[starts] - mask[starts]
    held = np.greater(counted[ends - 1], before) & (owners >= 0)
    out[owners[held]] = at[before[held]]
    return out


def _grouped_codes(values: pd.Series) -> tuple[Ints, pd.Index] | None:
    """(code of each value, the distinct values) when `values` come in ascending runs of
    equal values without gaps or missing values (a log sorted by case), else None. Compares
    neighbours only, instead of hashing every value."""
    n = len(values)
    if n == 0:
        return None
    if isinstance(values.dtype, pd.CategoricalDtype):  # categories sorted as their texts
        own = values.cat.codes.to_numpy()
        if bool((own < 0).any()) or not C.never_decreasing(own):
            return None
        change = own[1:] != own[:-1]
        starts = np.flatnonzero(np.r_[True, change])
        categories = values.cat.categories
        if not C.ascending_text(categories):
            return None
        return (np.cumsum(np.r_[0, change]).astype(np.int64),
                pd.Index(categories.take(own[starts])))
    data = getattr(values.array, "_pa_array", None)
    if data is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if data.null_count:
            return None
        if isinstance(data, pa.ChunkedArray):
            data = data.combine_chunks()
        change = C.run_starts(data)[1:]
        starts = np.flatnonzero(np.r_[True, change])
        heads = data.take(pa.array(starts))
        if len(starts) > 1 and not pc.all(pc.less(heads.slice(0, len(starts) - 1),
                                                  heads.slice(1))).as_py():
            return None
        codes = np.cumsum(np.r_[0, change]).astype(np.int64)
        return codes, pd.Index(type(values.array)(pa.chunked_array([heads], type=data.type)))
    else:
        plain = np.asarray(values.array, dtype=object)
        if bool(pd.isna(plain).any()):
            return None
        try:
            change = np.asarray(plain[1:] != plain[:-1], dtype=bool)
            starts = np.flatnonzero(np.r_[True, change])
            heads = plain[starts]
            if not bool(np.all(heads[:-1] < heads[1:])):
                return None
        except TypeError:
            return None
    codes = np.cumsum(np.r_[0, change]).astype(np.int64)
    return codes, pd.Index(values.iloc[starts].array)


def _ascending_pairs(values: pd.Series, at: Ints) -> bool:
    """Whether `values[i] <= values[i + 1]` for every position i in `at` (none missing), as
    the sort by event id orders them (Arrow strings by their bytes, objects by Python)."""
    if len(at) == 0:
        return True
    data = getattr(values.array, "_pa_array", None)
    if data is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        data = _one_chunk(values.array)._pa_array
        left, right = data.take(pa.array(at)), data.take(pa.array(at + 1))
        if left.null_count or right.null_count:
            return False
        return bool(pc.all(pc.less_equal(left, right)).as_py())
    plain = np.asarray(values.array, dtype=object)
    left, right = plain[at], plain[at + 1]
    if bool(pd.isna(left).any() or pd.isna(right).any()):
        return False
    try:
        return bool(np.all(left <= right))
    except TypeError:
        return False


def _int_times(times: pd.Series) -> Ints:
    """The times as integers in their unit (only their order is used)."""
    return np.asarray(pd.DatetimeIndex(times).asi8, dtype=np.int64)


def _lists(codes: Ints, ids: Any, cases: Ints) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Event ids per case as lists (`codes`, the case of each id, are sorted), for the case
    positions `cases` (NaN where a case has none). One list per case asked for."""
    out = np.full(len(cases), np.nan, dtype=object)
    if len(codes) == 0:
        return out
    values = np.asarray(ids, dtype=object)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    lists = {int(codes[s]): values[s:e].tolist() for s, e in zip(starts, ends, strict=True)}
    for i, case in enumerate(cases.tolist()):
        if case in lists:
            out[i] = lists[case]
    return out


def slices(values: np.ndarray[Any, Any], starts: Ints, ends: Ints) -> list[list[Any]]:
    """`values[start:end]` as a list, per run (one list per finding, not per event)."""
    return [values[s:e].tolist() for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]


def same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Element-wise equality where both sides are present (NA compares unequal)."""
    return (a.notna() & b.notna() & (a.astype("string") == b.astype("string"))).fillna(
        False).astype(bool)


__all__ = ["POINT_COLUMNS", "CaseFacts", "Episodes", "channels_of_cases", "same", "slices"]
