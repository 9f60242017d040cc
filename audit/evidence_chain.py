"""The evidence chain of refund cases, column-wise: what the evidence-chain rules read off a
case's evidence graph (audit.evidence_graph), for many cases at once, without building one.

The graph of a case (`audit.evidence_graph.case_graph`) is drawn per case with networkx, for
the report; the rules (orphan-payout, no-prior-purchase) need only a few of its facts, for
thousands of cases: whether it has a ticket, whether a successful payout is a refund of it,
the earliest recorded purchase, the order without a recorded charge its `paid by` link names,
and whether a refund names no charge. `chain_links` computes them from the same events, with
the same rules of what is present (not missing, not blank) and in the same order (by case,
then time; ties in the order given), as numpy and pandas operations over all the cases'
events. tests/test_evidence_chain.py checks, case by case on generated logs, that it equals
what the graphs hold; the reasons of missing links are this module's, the graph's too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from audit import canonical as C

PURCHASE_CONTROL = "purchase"
NO_TICKET = "the payout names no ticket and none of the case's tickets claims it"
"""Reason of a refund's missing `executes` link."""
NO_CHARGE = "the payout names no charge"
"""Reason of a refund's missing `refunds` link."""
NO_ORDER = "the ticket names no order"
"""Reason of a ticket's missing `names order` link."""
NO_PURCHASE = "no recorded charge (purchase) in the case"
"""What no-prior-purchase tells where the case's graph has no missing charge link to name."""
LATE_PURCHASE = "the only recorded charge (purchase) comes after the payout"
"""What no-prior-purchase tells where every recorded charge comes after the payout."""

CHAIN_COLUMNS = ("ticket", "payout_refund", "purchased", "unpaid_order", "declined_charge",
                 "declined_status", "uncharged_refund")
"""The columns of `chain_links`, one row per case."""

Mask = np.ndarray[Any, np.dtype[np.bool_]]
Ints = np.ndarray[Any, np.dtype[np.int64]]


REVERSED = "reversed"
"""The payment status of a charge taken back after its capture (a chargeback, a reversal by
the payment provider): it moved money, which went back to the buyer."""


def unpaid_reason(attempt: str | None, status: str | None = None) -> str:
    """Reason of an order's missing `paid by` link: its charge attempt that moved no money,
    if any (`chain_links`' `declined_charge`: a reversed one where the order has one, else
    its first), named with its payment status (`declined_status`): a reversed charge was
    captured and then taken back (a chargeback), which the reason says, not that it was
    never captured; a failed or pending one is told by its own status."""
    if attempt is None:
        return "no recorded charge (purchase) for this order"
    head = f"no recorded charge (purchase) for this order: its charge {attempt}"
    if status == REVERSED:
        return (f"{head} was reversed (its payment status is reversed: charged back or "
                "taken back by the payment provider after its capture, the money returned "
                "to the buyer)")
    if status == "pending":
        return f"{head} is not captured yet (its payment status is pending)"
    if status:
        return f"{head} was not captured (its payment status is {status})"
    return f"{head} was not captured"


def declined_status(status: object) -> str:
    """A declined charge's payment status as `unpaid_reason` reads it (stripped, lower
    case)."""
    return str(status).strip().lower()


def _texts(values: pd.Series) -> pd.Series:
    """Each value as the graph keys it (`str(value)`), missing ones missing."""
    if isinstance(values.dtype, pd.StringDtype):
        return values
    if isinstance(values.dtype, pd.CategoricalDtype):  # the categories' texts, taken
        texts = pd.array([str(c) for c in values.cat.categories], dtype="string")
        codes = values.cat.codes.to_numpy()
        taken = texts.take(np.where(codes >= 0, codes, -1), allow_fill=True)
        return pd.Series(taken, index=values.index)
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    known = values.notna().to_numpy(dtype=bool)
    out[known] = [str(v) for v in values[known].tolist()]
    return out


def _present(values: pd.Series) -> Mask:
    """Per value: present as the graph reads it (`audit.evidence_graph._present`): not
    missing, and not blank once stripped."""
    texts = _texts(values)
    return (texts.notna() & texts.str.strip().ne("")).fillna(False).to_numpy(dtype=bool)


def _any(codes: Ints, mask: Mask, n: int) -> Mask:
    """Per group code 0..n-1: whether `mask` holds for one of its rows."""
    return np.bincount(codes[mask], minlength=n).astype(bool)


def _pairs(codes: Ints, values: pd.Series) -> Ints:
    """A code per (group, value) row: equal pairs share one (-1 where the value is
    missing)."""
    value_codes, uniques = pd.factorize(values)
    pairs = codes.astype(np.int64) * (len(uniques) + 1) + value_codes
    return np.where(value_codes >= 0, pairs, -1).astype(np.int64)


def chain_links(events: pd.DataFrame, controls: Mapping[str, str],
                payouts: Mask) -> pd.DataFrame:
    """Per case of `events` (canonical columns, as `audit.evidence_graph.evidence_graphs`
    takes them; events without a case are in none), indexed by the case id's text, what its
    evidence graph tells the rules, `controls` mapping labels to controls (the policy's
    `control_of()`) and `payouts` marking the successful payouts among `events`:

    - `ticket`: the graph has a ticket (an event names one; blank names too, as the graph's
      ticket nodes are any stated id);
    - `payout_refund`: one of the successful payouts is an event of one of its refunds (an
      event stating a refund id, matched by case and event id);
    - `purchased`: the time of the earliest event recording a charge as paid (a purchase
      that is no refund, names a charge and is not failed, reversed or pending), NaT where
      none states a time;
    - `unpaid_order`: of the orders without a recorded charge (a missing `paid by` link),
      the last by id, as the graph lists its missing links (None where every order was paid
      or none is named); `declined_charge`: that order's charge attempt that moved no
      money, its first reversed one where it has one (a purchase captured and taken back
      tells more than a card declined before it), else its first, None where none, and
      `declined_status` its payment status (`declined_status`: failed, reversed or
      pending);
    - `uncharged_refund`: one of its refunds names no charge (a missing `refunds` link).
    """
    known = events[C.CASE].notna().to_numpy(dtype=bool)
    frame = events[known]
    payouts = np.asarray(payouts, dtype=bool)[known]
    case_codes, case_ids = pd.factorize(frame[C.CASE])
    n = len(case_ids)
    index = pd.Index([str(c) for c in case_ids], dtype=object, name=C.CASE)
    codes = case_codes.astype(np.int64)

    def column(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name].reset_index(drop=True)
        return pd.Series(pd.NA, index=range(len(frame)), dtype="string")

    labels = column(C.ACTIVITY)
    label_codes, label_uniques = pd.factorize(labels)
    label_controls = np.array([controls.get(str(u)) for u in label_uniques] + [None],
                              dtype=object)
    purchase = label_controls[label_codes] == PURCHASE_CONTROL
    refund = _present(column(C.REFUND_ID))
    charge = _present(column(C.CHARGE_ID))
    statuses = _texts(column(C.PAYMENT_STATUS))
    failed = (_present(statuses) & statuses.str.strip().str.lower()
              .isin(list(C.FAILED_STATUSES)).fillna(False).to_numpy(dtype=bool))
    bought = ~refund & purchase & charge
    recorded = bought & ~failed
    declined = bought & failed
    orders = _texts(column(C.ORDER_ID))
    has_order = _present(orders)

    out = pd.DataFrame(index=index)
    out["ticket"] = _any(codes, column(C.TICKET_ID).notna().to_numpy(dtype=bool), n)
    # A payout is one of a refund's events where an event of the same case and id states a
    # refund id (the graph matches the refunds' event ids with the payouts').
    eids = _pairs(codes, _texts(column(C.EVENT_ID)))
    of_refunds = np.isin(eids, eids[refund & (eids >= 0)])
    out["payout_refund"] = _any(codes, payouts & of_refunds & (eids >= 0), n)
    times = column(C.TIMESTAMP)
    earliest = times[recorded].groupby(codes[recorded]).min()  # (NaT: none with a time)
    out["purchased"] = pd.Series(earliest.reindex(range(n)).array, index=index)

    # Orders: every stated id is an order of the graph; one is paid where a recorded
    # purchase names it (and states it: a blank id links nothing).
    order_pairs = _pairs(codes, orders)
    paid_pairs = order_pairs[recorded & has_order]
    named = order_pairs >= 0
    unpaid = named & ~np.isin(order_pairs, paid_pairs)
    keys = orders.to_numpy(dtype=object)
    unpaid_order = np.full(n, None, dtype=object)
    declined_charge = np.full(n, None, dtype=object)
    declined_statuses = np.full(n, None, dtype=object)
    if unpaid.any():
        # The last unpaid order by id (Python's order of text, as `sorted` gives it).
        distinct = sorted(set(keys[unpaid].tolist()))
        rank = pd.Series(range(len(distinct)), index=pd.Index(distinct, dtype=object))
        ranks = rank.reindex(pd.Index(keys[unpaid], dtype=object)).to_numpy(dtype=np.int64)
        best = pd.Series(ranks).groupby(codes[unpaid]).max()
        cases = best.index.to_numpy(dtype=np.int64)
        unpaid_order[cases] = [distinct[r] for r in best.to_numpy(dtype=np.int64).tolist()]
        # Its first reversed charge attempt, else its first that moved no money, in time
        # order (ties: as given): before, the first whatever its status, so a card
        # declined before a purchase charged back hid the chargeback.
        tried = np.flatnonzero(declined & has_order)
        if len(tried):
            status_texts = statuses.to_numpy(dtype=object)[tried]
            attempts = pd.DataFrame({
                "case": codes[tried], "order": keys[tried],
                "other": [declined_status(s) != REVERSED for s in status_texts.tolist()],
                "time": times.array.take(tried), "at": np.arange(len(tried)),
                "charge": _texts(column(C.CHARGE_ID)).to_numpy(dtype=object)[tried],
                "status": status_texts})
            attempts = attempts.sort_values(["case", "other", "time", "at"], kind="stable",
                                            na_position="last")
            first = attempts.drop_duplicates(["case", "order"], keep="first")
            lookup = dict(zip(zip(first["case"].tolist(), first["order"].tolist(),
                                  strict=True),
                              zip(first["charge"].tolist(),
                                  [declined_status(s) for s in first["status"].tolist()],
                                  strict=True), strict=True))
            for case in cases.tolist():
                declined_charge[case], declined_statuses[case] = lookup.get(
                    (case, unpaid_order[case]), (None, None))
    # (object columns: None where none, not the NaN a column of text would hold)
    out["unpaid_order"] = pd.Series(unpaid_order, index=index, dtype=object)
    out["declined_charge"] = pd.Series(declined_charge, index=index, dtype=object)
    out["declined_status"] = pd.Series(declined_statuses, index=index, dtype=object)

    # Refunds: one names no charge where none of its events (by id) states one.
    refund_pairs = np.where(refund, _pairs(codes, _texts(column(C.REFUND_ID))), -1)
    charged = refund_pairs[refund & charge]
    out["uncharged_refund"] = _any(codes, refund & ~np.isin(refund_pairs, charged), n)
    return out
