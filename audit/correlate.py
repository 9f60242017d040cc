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


def _first(values: pd.Series) -> str | None:
    present = values.dropna()
    return None if present.empty else str(present.iloc[0])


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
    problems: list[dict[str, object]] = []
    notes: list[str] = []

    order_of_ticket: dict[str, str | None] = {
        str(t): _first(g[C.ORDER_ID]) for t, g in tickets.groupby(C.TICKET_ID, sort=True)}
    tickets_of_order: dict[str, list[str]] = defaultdict(list)
    for ticket, order in order_of_ticket.items():
        if order is not None:
            tickets_of_order[order].append(ticket)
    order_of_charge: dict[str, str | None] = {
        str(c): _first(g[C.ORDER_ID]) for c, g in charges.groupby(C.CHARGE_ID, sort=True)}
    charges_of_order: dict[str, list[str]] = defaultdict(list)
    for charge, order in order_of_charge.items():
        if order is not None:
            charges_of_order[order].append(charge)

    # Which case each refund belongs to.
    case_of_refund: dict[int, str] = {}
    orphan_groups: dict[str, list[int]] = defaultdict(list)
    for index, row in refunds.iterrows():
        named = row[C.TICKET_ID]
        charge = row[C.CHARGE_ID]
        where = {"file": row[C.SOURCE_FILE], "row": row[C.SOURCE_ROW]}
        if pd.notna(named):
            if str(named) in order_of_ticket:
                case_of_refund[int(index)] = str(named)  # type: ignore[call-overload]
                continue
            problems.append({**where, "field": C.TICKET_ID, "value": str(named),
                             "reason": "refund names a ticket no ticketing export contains "
                                       "(kept as a case of its own)"})
        if pd.notna(charge) and str(charge) not in order_of_charge:
            problems.append({**where, "field": C.CHARGE_ID, "value": str(charge),
                             "reason": "refund names a charge no payment export contains"})
        order = row[C.ORDER_ID] if pd.notna(row[C.ORDER_ID]) else (
            order_of_charge.get(str(charge)) if pd.notna(charge) else None)
        claimants = tickets_of_order.get(str(order), []) if order is not None else []
        if pd.isna(named) and len(claimants) == 1 and config.ticket_to_charge == "order":
            case_of_refund[int(index)] = claimants[0]  # type: ignore[call-overload]
            continue
        key = str(charge) if pd.notna(charge) else str(row[C.REFUND_ID])
        orphan_groups[key].append(int(index))  # type: ignore[call-overload]
    for members in orphan_groups.values():
        group = refunds.loc[members].sort_values([C.TIMESTAMP, C.SOURCE_ROW], kind="stable")
        case = str(group[C.REFUND_ID].iloc[0])
        for index in members:
            case_of_refund[index] = case
    if orphan_groups:
        notes.append(f"correlation: {len(orphan_groups)} payout case(s) without a ticket "
                     "(kept as their own cases, named by their first refund id)")

    # Which cases each charge belongs to.
    cases_of_charge: dict[str, set[str]] = defaultdict(set)
    if config.ticket_to_charge == "order":
        for ticket, order in order_of_ticket.items():
            for charge in charges_of_order.get(str(order), []) if order else []:
                cases_of_charge[charge].add(ticket)
    for index, case in case_of_refund.items():
        refunded = refunds[C.CHARGE_ID].get(index)
        if refunded is not None and pd.notna(refunded) and str(refunded) in order_of_charge:
            cases_of_charge[str(refunded)].add(case)

    parts: list[pd.DataFrame] = [other]
    ticket_part = tickets.copy()
    ticket_part[C.CASE] = ticket_part[C.TICKET_ID].astype("string")
    parts.append(ticket_part)
    refund_part = refunds.copy()
    refund_part[C.CASE] = pd.Series(case_of_refund, dtype="string").reindex(refund_part.index)
    parts.append(refund_part)
    left_out = 0
    for charge_id, group in charges.groupby(C.CHARGE_ID, sort=False):
        owners = sorted(cases_of_charge.get(str(charge_id), set()))
        if not owners:
            left_out += len(group)
            continue
        for owner in owners:
            copy = group.copy()
            copy[C.CASE] = owner
            if len(owners) > 1:
                copy[C.EVENT_ID] = copy[C.EVENT_ID].astype("string") + f"@{owner}"
            parts.append(copy)
    if left_out:
        notes.append(f"correlation: {left_out} charge event(s) that no ticket or refund refers "
                     "to are sales, not refund cases: left out")
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    out = _fill_case_ids(out, is_source=out[C.SOURCE_SYSTEM].isin(
        [*config.ticketing, *config.payments]).fillna(False).astype(bool), config=config)
    out = out.sort_values([C.CASE, C.TIMESTAMP, C.SOURCE_FILE, C.SOURCE_ROW],
                          kind="stable").reset_index(drop=True)
    unresolved = pd.DataFrame(problems, columns=["file", "row", "field", "value", "reason"])
    if len(unresolved):
        notes.append(f"correlation: {len(unresolved)} reference(s) to ids no export contains "
                     "(see the correlation problems)")
    return Correlation(out, notes, unresolved, left_out)


def _fill_case_ids(log: pd.DataFrame, *, is_source: pd.Series,
                   config: SourcesConfig) -> pd.DataFrame:
    """Every event of a correlated case carries the case's ticket, order and charge."""
    log = log.copy()
    part = log[is_source]
    ticket_systems = list(config.ticketing)
    grouped = part.groupby(C.CASE, sort=False)
    ticket = part[part[C.SOURCE_SYSTEM].isin(ticket_systems)].groupby(C.CASE)[C.TICKET_ID].first()
    order = grouped[C.ORDER_ID].first()
    charge_events = part[part[C.REFUND_ID].isna() & ~part[C.SOURCE_SYSTEM].isin(ticket_systems)]
    charges = charge_events.groupby(C.CASE)[C.CHARGE_ID].nunique()
    only = charge_events.groupby(C.CASE)[C.CHARGE_ID].first()[charges.eq(1)]
    cases = log.loc[is_source, C.CASE]
    log.loc[is_source, C.TICKET_ID] = cases.map(ticket).astype("string")
    log.loc[is_source, C.ORDER_ID] = cases.map(order).astype("string")
    filled = cases.map(only).astype("string")
    log.loc[is_source, C.CHARGE_ID] = filled.fillna(log.loc[is_source, C.CHARGE_ID])
    return log
