"""Correlation: ticket <-> order <-> charge <-> refund into one refund case per ticket.

Imported exports carry provisional case ids (each record's own key). A ticket is a case, named
by its ticket id; it takes the charges of the order it names and the refunds that name it (or,
naming no ticket, refund a charge of its order). Refunds no ticket claims are kept as cases of
their own, named by their first refund id, so the evidence rules flag them (never dropped).
A charge that two tickets refund belongs to both cases (its event is repeated, with the case
appended to its id). Charges no case refers to are sales, not refund cases: left out, counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.sources.config import SourcesConfig


@dataclass
class Correlation:
    log: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    unresolved: pd.DataFrame = field(default_factory=pd.DataFrame)
    """References to ids no export contains: file, row, field, value, reason (kept events)."""
    left_out: int = 0
    """Charges that no ticket or refund refers to (sales, not refund cases)."""


def _first_order(frame: pd.DataFrame, key: str) -> dict[str, str | None]:
    """Each `key` value (sorted) -> the first order id its events state, or None."""
    firsts = frame.groupby(key, sort=True)[C.ORDER_ID].first()
    return {str(k): (None if pd.isna(v) else str(v))
            for k, v in zip(firsts.index.tolist(), firsts.tolist(), strict=True)}


def correlate(log: pd.DataFrame, config: SourcesConfig) -> Correlation:
    """Assign refund cases to events read from ticketing and payment exports."""
    system = log[C.SOURCE_SYSTEM].astype("string")
    is_ticket = system.isin(list(config.ticketing)).fillna(False).astype(bool)
    is_pay = system.isin(list(config.payments)).fillna(False).astype(bool)
    other = log[~is_ticket & ~is_pay]
    tickets = log[is_ticket]
    pays = log[is_pay]
    refunds = pays[pays[C.REFUND_ID].notna()]
    charges = pays[pays[C.REFUND_ID].isna()]
    del pays
    problems: list[dict[str, object]] = []
    notes: list[str] = []

    order_of_ticket = _first_order(tickets, C.TICKET_ID)
    tickets_of_order: dict[str, list[str]] = defaultdict(list)
    for ticket, order in order_of_ticket.items():
        if order is not None:
            tickets_of_order[order].append(ticket)
    order_of_charge = _first_order(charges, C.CHARGE_ID)
    charges_of_order: dict[str, list[str]] = defaultdict(list)
    for charge, order in order_of_charge.items():
        if order is not None:
            charges_of_order[order].append(charge)

    # Which case each refund belongs to (plain lists: one pass, no per-row Series).
    case_of_refund: dict[int, str] = {}
    orphan_groups: dict[str, list[int]] = defaultdict(list)
    by_order = config.ticket_to_charge == "order"
    refund_index = [int(i) for i in refunds.index.tolist()]
    refund_charge = refunds[C.CHARGE_ID].tolist()
    # Missing values found column-wise (Series.notna is pd.notna of each cell).
    for index, named, has_named, charge, has_charge, own_order, has_order, refund_id, file, \
            row in zip(refund_index, refunds[C.TICKET_ID].tolist(),
                       refunds[C.TICKET_ID].notna().tolist(), refund_charge,
                       refunds[C.CHARGE_ID].notna().tolist(), refunds[C.ORDER_ID].tolist(),
                       refunds[C.ORDER_ID].notna().tolist(), refunds[C.REFUND_ID].tolist(),
                       refunds[C.SOURCE_FILE].tolist(), refunds[C.SOURCE_ROW].tolist(),
                       strict=True):
        if has_named:
            if str(named) in order_of_ticket:
                case_of_refund[index] = str(named)
                continue
            problems.append({"file": file, "row": row, "field": C.TICKET_ID,
                             "value": str(named),
                             "reason": "refund names a ticket no ticketing export contains "
                                       "(kept as a case of its own)"})
        if has_charge and str(charge) not in order_of_charge:
            problems.append({"file": file, "row": row, "field": C.CHARGE_ID,
                             "value": str(charge),
                             "reason": "refund names a charge no payment export contains"})
        order = own_order if has_order else (
            order_of_charge.get(str(charge)) if has_charge else None)
        claimants = tickets_of_order.get(str(order), []) if order is not None else []
        if not has_named and len(claimants) == 1 and by_order:
            case_of_refund[index] = claimants[0]
            continue
        key = str(charge) if has_charge else str(refund_id)
        orphan_groups[key].append(index)
    if orphan_groups:
        # Each orphan group is named by its first refund id in (time, source row) order.
        members = [i for group in orphan_groups.values() for i in group]
        orphans = refunds.loc[members, [C.TIMESTAMP, C.SOURCE_ROW, C.REFUND_ID]]
        orphans = orphans.assign(_group=[k for k, g in orphan_groups.items() for _ in g])
        orphans = orphans.sort_values([C.TIMESTAMP, C.SOURCE_ROW], kind="stable")
        first = orphans.groupby("_group", sort=False)[C.REFUND_ID].first()
        name_of = {str(k): str(v)
                   for k, v in zip(first.index.tolist(), first.tolist(), strict=True)}
        for key, group in orphan_groups.items():
            for index in group:
                case_of_refund[index] = name_of[key]
        notes.append(f"correlation: {len(orphan_groups)} payout case(s) without a ticket "
                     "(kept as their own cases, named by their first refund id)")

    # Which cases each charge belongs to.
    cases_of_charge: dict[str, set[str]] = defaultdict(set)
    if by_order:
        for ticket, order in order_of_ticket.items():
            for charge in charges_of_order.get(str(order), []) if order else []:
                cases_of_charge[charge].add(ticket)
    charge_of_refund = {index: charge for index, charge, present in zip(
        refund_index, refund_charge, refunds[C.CHARGE_ID].notna().tolist(), strict=True)
        if present}
    for index, case in case_of_refund.items():
        refunded = charge_of_refund.get(index)
        if refunded is not None and str(refunded) in order_of_charge:
            cases_of_charge[str(refunded)].add(case)

    parts: list[pd.DataFrame] = [other]
    # Shallow copies: a column is replaced, no data is written into (copy-on-write).
    ticket_part = tickets.copy(deep=False)
    ticket_part[C.CASE] = ticket_part[C.TICKET_ID].astype("string")
    parts.append(ticket_part)
    refund_part = refunds.copy(deep=False)
    refund_part[C.CASE] = pd.Series(case_of_refund, dtype="string").reindex(refund_part.index)
    parts.append(refund_part)
    charge_part, left_out = _charge_copies(charges, cases_of_charge)
    if charge_part is not None:
        parts.append(charge_part)
    if left_out:
        notes.append(f"correlation: {left_out} charge event(s) that no ticket or refund refers "
                     "to are sales, not refund cases: left out")
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    parts.clear()
    del other, tickets, refunds, charges, ticket_part, refund_part, charge_part
    out = _fill_case_ids(out, is_source=out[C.SOURCE_SYSTEM].isin(
        [*config.ticketing, *config.payments]).fillna(False).astype(bool), config=config)
    owned = [out]
    del out  # sorted a column at a time, so that the log is not held twice
    out = C.sorted_frame(owned, [C.CASE, C.TIMESTAMP, C.SOURCE_FILE, C.SOURCE_ROW])
    unresolved = pd.DataFrame(problems, columns=["file", "row", "field", "value", "reason"])
    if len(unresolved):
        notes.append(f"correlation: {len(unresolved)} reference(s) to ids no export contains "
                     "(see the correlation problems)")
    return Correlation(out, notes, unresolved, left_out)


def _charge_copies(charges: pd.DataFrame,
                   cases_of_charge: dict[str, set[str]]) -> tuple[pd.DataFrame | None, int]:
    """One copy of each charge's events per case it belongs to (charge ids in order of first
    appearance, then cases sorted); a charge in several cases gets the case appended to its
    event ids. Also the number of charge events no case refers to (left out)."""
    keyed = charges[charges[C.CHARGE_ID].notna()]
    keys = [str(k) for k in keyed[C.CHARGE_ID].tolist()]
    if not keys:
        return None, 0
    codes, uniques = pd.factorize(np.asarray(keys, dtype=object))
    grouped = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[grouped], np.arange(len(uniques) + 1))
    take: list[int] = []
    owner_of: list[str] = []
    shared: list[bool] = []
    left_out = 0
    grouped_list, bounds_list = grouped.tolist(), bounds.tolist()
    for code, key in enumerate(uniques.tolist()):
        positions = grouped_list[bounds_list[code]:bounds_list[code + 1]]
        owners = sorted(cases_of_charge.get(str(key), set()))
        if not owners:
            left_out += len(positions)
            continue
        for owner in owners:
            take.extend(positions)
            owner_of.extend([owner] * len(positions))
        shared.extend([len(owners) > 1] * (len(positions) * len(owners)))
    if not take:
        return None, left_out
    copies = keyed.iloc[take]  # a new frame already (copy-on-write)
    copies[C.CASE] = owner_of
    copies["_order"] = np.arange(len(copies))
    is_shared = np.asarray(shared, dtype=bool)
    single = copies[~is_shared]
    several = copies[is_shared]
    if len(several):
        several[C.EVENT_ID] = (several[C.EVENT_ID].astype("string") + "@"
                               + several[C.CASE].astype("string"))
    both = pd.concat([p for p in (single, several) if len(p)])
    both = both.sort_values("_order", kind="stable").drop(columns="_order")
    return both, left_out


def _fill_case_ids(log: pd.DataFrame, *, is_source: pd.Series,
                   config: SourcesConfig) -> pd.DataFrame:
    """Every event of a correlated case carries the case's ticket, order and charge.

    Per case (as integer codes, not a lookup of each event's case id): the first ticket id
    its ticketing events state, the first order id its events state, and its charge where
    its charge events name exactly one."""
    log = log.copy(deep=False)  # columns are replaced, never written into
    source = np.asarray(is_source, dtype=bool)
    everything = bool(source.all())
    part = log if everything else log[source]
    codes, uniques = pd.factorize(part[C.CASE])
    codes = np.asarray(codes, dtype=np.int64)
    n = len(uniques)
    from_ticketing = part[C.SOURCE_SYSTEM].isin(list(config.ticketing)).fillna(False) \
        .to_numpy(dtype=bool)

    def first(column: str, where: np.ndarray) -> pd.Series:
        """Per case code: the first non-missing value of `column` among events `where`."""
        values = part[column].astype("string")
        firsts = values[where].groupby(codes[where]).first()
        return firsts.reindex(range(n))

    ticket = first(C.TICKET_ID, from_ticketing)
    order = first(C.ORDER_ID, np.ones(len(part), dtype=bool))
    charge_events = part[C.REFUND_ID].isna().to_numpy(dtype=bool) & ~from_ticketing
    charges = part[C.CHARGE_ID].astype("string")[charge_events].groupby(
        codes[charge_events]).nunique().reindex(range(n), fill_value=0)
    only = first(C.CHARGE_ID, charge_events).where(charges.to_numpy() == 1)

    def per_event(values: pd.Series) -> pd.Series:
        return pd.Series(values.array.take(codes), index=part.index, dtype="string")

    filled = per_event(only).fillna(part[C.CHARGE_ID].astype("string"))
    updates = {C.TICKET_ID: per_event(ticket), C.ORDER_ID: per_event(order),
               C.CHARGE_ID: filled}
    for column, values in updates.items():
        if everything:  # the usual import: whole columns, in the log's own dtype
            log[column] = values.astype(log[column].dtype)
        else:
            log.loc[source, column] = values
    return log
