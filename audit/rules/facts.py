"""Per-case facts for the rules, computed once and vectorised over the whole log.

The log's labels are mapped to controls by the policy (request, approve, pay, ...); then one
row per case holds the first request, the approvals, the first successful payout, the
purchase and so on. Rules are masks over this table, not loops over cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.policy import Policy

if TYPE_CHECKING:
    import networkx as nx

    from conformance.deviations import ConformanceResult

FAILED_STATUSES = ("failed", "reversed", "pending")
TICKET_CONTROLS = ("request", "evidence", "approve", "second-approve", "reject", "notify",
                   "close")
_KEEP = (C.EVENT_ID, C.CASE, C.ACTIVITY, C.TIMESTAMP, C.RESOURCE, C.ROLE, C.AMOUNT, C.CURRENCY,
         C.CHANNEL, C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID, C.PAYMENT_METHOD, C.PAYMENT_STATUS,
         C.REFUND_ID)
_FIELDS = {"eid": C.EVENT_ID, "time": C.TIMESTAMP, "resource": C.RESOURCE, "role": C.ROLE,
           "amount": C.AMOUNT, "currency": C.CURRENCY, "method": C.PAYMENT_METHOD,
           "charge": C.CHARGE_ID, "order": C.ORDER_ID, "activity": C.ACTIVITY}


class CaseFacts:
    """The log prepared for the rules: `events` (with a `control` column) and `cases`."""

    def __init__(self, log: pd.DataFrame, policy: Policy, as_of: datetime) -> None:
        self.policy = policy
        self.as_of = pd.Timestamp(as_of)
        keep = [c for c in _KEEP if c in log.columns] + C.evidence_columns(log)
        events = log[keep].copy()
        events["control"] = events[C.ACTIVITY].map(policy.control_of())
        events = events.sort_values([C.CASE, C.TIMESTAMP, C.EVENT_ID], kind="stable")
        self.events = events.reset_index(drop=True)
        by_id = self.events.set_index(C.EVENT_ID)
        self._activity = by_id[C.ACTIVITY]
        self._resource = by_id[C.RESOURCE]
        self._time = by_id[C.TIMESTAMP]
        self.cases = self._case_table()
        self._conformance: ConformanceResult | None = None
        self._graphs: dict[str, nx.DiGraph] = {}

    # --- conformance (computed on first use, by the CF rules) -----------------------------
    @property
    def conformance(self) -> ConformanceResult:
        """Each judged case aligned on its channel's SOP (see conformance.deviations)."""
        if self._conformance is None:
            from conformance.deviations import check_conformance

            options = self.policy.conformance
            self._conformance = check_conformance(
                self.events, self.policy.sop_tasks(), self.policy.sop_path,
                mode=options.mode, max_seconds=options.max_seconds,
                with_precision=options.precision)
        return self._conformance

    @property
    def conformance_computed(self) -> bool:
        return self._conformance is not None

    def sop_path(self, channel: str | None) -> Path | None:
        return self.policy.sop_path(channel)

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

    def _graph_events(self, cases: list[str]) -> pd.DataFrame:
        events = self.events[self.events[C.CASE].astype(str).isin(cases)].copy()
        control = events["control"]
        for column in (C.TICKET_ID, C.REFUND_ID, C.CHARGE_ID):
            if column not in events.columns:
                events[column] = pd.Series(pd.NA, index=events.index, dtype="string")
            events[column] = events[column].astype("string")
        ticketless = control.isin(TICKET_CONTROLS) & events[C.TICKET_ID].isna()
        events.loc[ticketless, C.TICKET_ID] = events.loc[ticketless, C.CASE].astype(str)
        status = events[C.PAYMENT_STATUS].astype("string").str.lower()
        paid = (control == "pay") & ~status.isin(FAILED_STATUSES).fillna(False).astype(bool)
        unnamed = paid & events[C.REFUND_ID].isna()
        events.loc[unnamed, C.REFUND_ID] = events.loc[unnamed, C.EVENT_ID].astype(str)
        uncharged = (control == "purchase") & events[C.CHARGE_ID].isna()
        events.loc[uncharged, C.CHARGE_ID] = events.loc[uncharged, C.EVENT_ID].astype(str)
        return events

    def event_times(self, event_ids: Iterable[str]) -> pd.Series:
        """Timestamp per event id."""
        return self._time.reindex(list(event_ids))

    # --- lookups for findings -------------------------------------------------------------
    def describe(self, event_ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """Event id -> (activity, resource) for the given ids, in one lookup."""
        unique = list(dict.fromkeys(event_ids))
        activities = self._activity.reindex(unique)
        resources = self._resource.reindex(unique)
        return {i: (str(a), None if pd.isna(r) else str(r))
                for i, a, r in zip(unique, activities, resources, strict=True) if pd.notna(a)}

    # --- building blocks ------------------------------------------------------------------
    def of(self, *controls: str) -> pd.DataFrame:
        """Events whose label maps to one of `controls`."""
        return self.events[self.events["control"].isin(controls)]

    def successful_payouts(self) -> pd.DataFrame:
        pays = self.of("pay")
        status = pays[C.PAYMENT_STATUS].astype("string").str.lower()
        return pays[~status.isin(FAILED_STATUSES).fillna(False).astype(bool)]

    def _first(self, frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
        first = frame.groupby(C.CASE, sort=False).head(1).set_index(C.CASE)
        return pd.DataFrame({f"{prefix}_{k}": first[v] for k, v in _FIELDS.items()},
                            index=first.index)

    def _case_table(self) -> pd.DataFrame:
        ev = self.events
        grouped = ev.groupby(C.CASE, sort=True)
        cases = pd.DataFrame({
            "channel": grouped[C.CHANNEL].first(),
            "currency": grouped[C.CURRENCY].first(),
            "has_ticket": grouped[C.TICKET_ID].count().gt(0)
            | ev["control"].isin(TICKET_CONTROLS).groupby(ev[C.CASE]).any(),
        })
        approvals = self.of("approve", "second-approve")
        ag = approvals.groupby(C.CASE)
        payouts = self.successful_payouts()
        pg = payouts.groupby(C.CASE)
        parts = [
            cases,
            self._first(self.of("request"), "request"),
            self._first(self.of("purchase"), "purchase"),
            self._first(self.of("approve"), "approval1"),
            self._first(self.of("second-approve"), "approval2"),
            self._first(payouts, "payout"),
            pd.DataFrame({
                "approvals_n": ag.size(),
                "approvals_min_amount": ag[C.AMOUNT].min(),
                "approvals_first_time": ag[C.TIMESTAMP].min(),
                "approvals_last_time": ag[C.TIMESTAMP].max(),
                "approval_eids": _lists(approvals),
            }),
            pd.DataFrame({"payouts_n": pg.size(), "payouts_sum": pg[C.AMOUNT].sum(min_count=1),
                          "payout_eids": _lists(payouts)}),
            pd.DataFrame({"first_evidence_time": self.of("evidence").groupby(C.CASE)[
                C.TIMESTAMP].min(),
                "first_close_time": self.of("close").groupby(C.CASE)[C.TIMESTAMP].min(),
                "rejected": self.of("reject").groupby(C.CASE).size().gt(0)}),
        ]
        table = pd.concat(parts, axis=1).reindex(cases.index)
        table["approvals_n"] = table["approvals_n"].fillna(0).astype(int)
        table["payouts_n"] = table["payouts_n"].fillna(0).astype(int)
        table["rejected"] = table["rejected"].astype("boolean").fillna(False).astype(bool)
        table["currency"] = table["request_currency"].fillna(table["payout_currency"]).fillna(
            table["currency"])
        table.index.name = C.CASE
        return table

    def point(self, name: str) -> pd.Series:
        """Time of a stage point per case (see policy stages)."""
        column = {"request": "request_time", "evidence": "first_evidence_time",
                  "first-approval": "approvals_first_time",
                  "last-approval": "approvals_last_time", "payout": "payout_time",
                  "close": "first_close_time"}[name]
        return self.cases[column]

    def tolerance(self) -> float:
        return self.policy.amount_tolerance


def _lists(events: pd.DataFrame) -> pd.Series:
    """Event ids per case as lists, without a Python call per group (events are case-sorted)."""
    cases = events[C.CASE].to_numpy()
    ids = events[C.EVENT_ID].to_numpy(dtype=object)
    if len(cases) == 0:
        return pd.Series(dtype=object)
    starts = np.flatnonzero(np.r_[True, cases[1:] != cases[:-1]])
    chunks = np.split(ids, starts[1:])
    return pd.Series([list(chunk) for chunk in chunks], index=cases[starts], dtype=object)


def same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Element-wise equality where both sides are present (NA compares unequal)."""
    return (a.notna() & b.notna() & (a.astype("string") == b.astype("string"))).fillna(
        False).astype(bool)




__all__ = ["CaseFacts", "same"]
