"""A slow, obvious, per-case oracle of the rule catalogue's semantics on generated logs.

It restates each control in plain Python over one case at a time, independent of the
vectorised rules, so that the generator's ground truth and the rules can both be checked
against it. Semantics and precedences follow docs/sample-generator.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

import pandas as pd

from audit import canonical as C
from audit.sample import process as P

APPROVALS = (P.APPROVE, P.APPROVE_2)
LANE_ROLES = {P.REQUEST: {P.ROLE_AGENT}, P.EVIDENCE: {P.ROLE_AGENT}, P.NOTIFY: {P.ROLE_AGENT},
              P.CLOSE: {P.ROLE_AGENT}, P.REJECT: {P.ROLE_SUPERVISOR, P.ROLE_FINANCE},
              P.PAYOUT: {P.ROLE_PAYMENTS}, P.PAYOUT_FAILED: {P.ROLE_PAYMENTS}}
"""Who may do the SOP's tasks other than the approvals: the reference SOPs' lanes, and the
default policy's `performers` (finance may reject). The pro-rata calculation is in the
subscription SOP's Customer service lane only (in no lane of the others)."""
MAPPED = {*P.PURCHASE.values(), P.REQUEST, P.EVIDENCE, P.PRORATA, P.APPROVE, P.APPROVE_2,
          P.REJECT, P.PAYOUT, P.PAYOUT_FAILED, P.NOTIFY, P.CLOSE}


def _cases(log: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    ordered = log.sort_values([C.CASE, C.TIMESTAMP, C.EVENT_ID], kind="stable")
    yield from ordered.groupby(C.CASE, sort=True)


def expected_findings(log: pd.DataFrame, as_of: datetime = P.AS_OF) -> set[tuple[str, str]]:
    """(case, rule) pairs that the catalogue must report on a generated log."""
    found: set[tuple[str, str]] = set()
    refunded: dict[str, list[tuple[pd.Timestamp, float, str]]] = defaultdict(list)
    cases = list(_cases(log))
    # Successful payouts per charge, over the whole log, in time order.
    for case_id, events in cases:
        for _, e in events[events[C.ACTIVITY].eq(P.PAYOUT)].iterrows():
            if pd.notna(e[C.CHARGE_ID]):
                refunded[e[C.CHARGE_ID]].append((e[C.TIMESTAMP], float(e[C.AMOUNT]), case_id))
    for charge in refunded:
        refunded[charge].sort()
    for case_id, events in cases:
        acts = list(events[C.ACTIVITY])
        by = {a: events[events[C.ACTIVITY].eq(a)] for a in set(acts)}

        def first(activity: str, frame: dict[str, pd.DataFrame] = by) -> pd.Series | None:
            rows = frame.get(activity)
            return None if rows is None or rows.empty else rows.iloc[0]

        def add(rule: str, case: str = case_id) -> None:
            found.add((case, rule))

        request, payout = first(P.REQUEST), first(P.PAYOUT)
        purchase = events[events[C.ACTIVITY].isin(P.PURCHASE.values())]
        approvals = events[events[C.ACTIVITY].isin(APPROVALS)]
        has_ticket = events[C.TICKET_ID].notna().any()
        channel = events[C.CHANNEL].iloc[0]
        # DQ
        if not set(acts) <= MAPPED:
            add("unmapped-activity")
        if events[C.RESOURCE].isna().any():
            add("missing-resource")
        if events[events[C.ACTIVITY].eq(P.PAYOUT)][C.AMOUNT].isna().any():
            add("payout-without-amount")
        if events[C.CHANNEL].nunique() > 1:
            add("conflicting-channel")
        # EV: orphan payout stands alone
        if payout is not None and not has_ticket:
            add("orphan-payout")
            add("skipped-activity")
            continue
        # AP
        if payout is not None and approvals.empty:
            add("missing-approval")
            add("skipped-activity")
        elif payout is not None and (approvals[C.TIMESTAMP] > payout[C.TIMESTAMP]).all():
            add("approval-after-payout")
            add("wrong-order")
        if not approvals.empty:
            a1, a2 = first(P.APPROVE), first(P.APPROVE_2)
            amount = float(request[C.AMOUNT]) if request is not None else 0.0
            threshold = P.SECOND_APPROVAL_THRESHOLD[str(request[C.CURRENCY])]
            late = (a1 is not None and a2 is not None and payout is not None
                    and (a1[C.TIMESTAMP] <= payout[C.TIMESTAMP])
                    != (a2[C.TIMESTAMP] <= payout[C.TIMESTAMP]))
            # (judged once paid: an approved case not paid let no money out on one approval)
            if payout is not None and a1 is not None and (a2 is None or late) \
                    and amount > threshold:
                add("missing-second-approval")
            for _, a in approvals.iterrows():
                allowed = (P.FIRST_APPROVER_ROLES if a[C.ACTIVITY] == P.APPROVE
                           else P.SECOND_APPROVER_ROLES)
                # (a role not recorded is not judged: a gap in the data, warned of)
                if pd.notna(a[C.ROLE]) and a[C.ROLE] not in allowed:
                    add("unauthorized-approver")
            if payout is not None and float(payout[C.AMOUNT]) > float(
                    approvals[C.AMOUNT].min()) + 0.005:
                add("payout-exceeds-approved")
            # SD
            if request is not None and request[C.RESOURCE] in set(approvals[C.RESOURCE]):
                add("self-approval")
            if payout is not None and payout[C.RESOURCE] in set(approvals[C.RESOURCE]):
                add("approver-pays")
            if a1 is not None and a2 is not None and set(
                    by[P.APPROVE][C.RESOURCE].dropna()) & set(by[P.APPROVE_2][C.RESOURCE]):
                add("same-approver-twice")
            rejects = by.get(P.REJECT)
            withdrawn = rejects is not None and (
                rejects[C.TIMESTAMP] >= approvals[C.TIMESTAMP].max()).any()
            if payout is None and not withdrawn and (
                    pd.Timestamp(as_of) - approvals[C.TIMESTAMP].max() > P.PAYOUT_GRACE):
                add("approved-not-paid")
                # Idle for RUNNING_FOR: ended, its payout skipped; else still running, the
                # payout not due yet as the SOP goes (its wait is approved-not-paid's).
                if pd.Timestamp(as_of) - events[C.TIMESTAMP].max() >= P.RUNNING_FOR:
                    add("skipped-activity")
        # SD: every task but the approvals by a role of its lane (a role not recorded is
        # not judged)
        for _, e in events.iterrows():
            allowed = LANE_ROLES.get(e[C.ACTIVITY])
            if e[C.ACTIVITY] == P.PRORATA and channel == "subscription":
                allowed = {P.ROLE_AGENT}
            if allowed is not None and pd.notna(e[C.ROLE]) and e[C.ROLE] not in allowed:
                add("unauthorized-performer")
        # EV
        evidence = events[[c for c in P.REQUIRED_EVIDENCE[channel]]]
        if payout is not None:  # what the payout rested on: recorded by its time
            evidence = evidence[events[C.TIMESTAMP] <= payout[C.TIMESTAMP]]
        # Judged where the money left or its leaving was decided: paid, or approved and
        # not rejected at or after the last approval.
        rejected_since = not approvals.empty and P.REJECT in by and (
            by[P.REJECT][C.TIMESTAMP] >= approvals[C.TIMESTAMP].max()).any()
        decided = payout is not None or (not approvals.empty and not rejected_since)
        # In progress at the clock (not paid, closed or rejected, idle less than RUNNING_FOR):
        # its evidence is due by its payout, not judged yet. (A rejection standing: at or
        # after the last approval, or with none.)
        rejected = P.REJECT in by and (approvals.empty or (
            by[P.REJECT][C.TIMESTAMP].max() >= approvals[C.TIMESTAMP].max()))
        in_progress = (payout is None and P.CLOSE not in by and not rejected
                       and pd.Timestamp(as_of) - events[C.TIMESTAMP].max() < P.RUNNING_FOR)
        if request is not None and decided and not in_progress and (
                evidence.notna().any().sum() < len(evidence.columns)):
            add("missing-evidence")
        # What is owed: the last pro-rata calculation stating an amount (unless in another
        # currency than the request's), else the request; a shortfall against the smaller
        # of the two (asked less than the pro-rata amount: owed what was asked).
        prorata = by[P.PRORATA].dropna(subset=[C.AMOUNT]) if P.PRORATA in by else None
        last = prorata.iloc[-1] if prorata is not None and not prorata.empty else None
        if last is not None and request is not None and pd.notna(last[C.CURRENCY]) and (
                pd.notna(request[C.CURRENCY]) and last[C.CURRENCY] != request[C.CURRENCY]):
            last = None
        owed = last if last is not None else request
        least = (min(float(owed[C.AMOUNT]), float(request[C.AMOUNT]))
                 if owed is not None and request is not None and pd.notna(request[C.AMOUNT])
                 else float(owed[C.AMOUNT]) if owed is not None else 0.0)
        if payout is not None and owed is not None and (
                float(payout[C.AMOUNT]) > float(owed[C.AMOUNT]) + 0.005
                or float(payout[C.AMOUNT]) < least - 0.005) and not (
                float(payout[C.AMOUNT]) > float(approvals[C.AMOUNT].min()) + 0.005
                if not approvals.empty else False):
            add("amount-mismatch")
        if payout is not None and purchase.empty:
            add("no-prior-purchase")
        if payout is not None and not purchase.empty:
            payouts = by[P.PAYOUT]
            if (payouts[C.PAYMENT_METHOD].dropna() != purchase.iloc[0][C.PAYMENT_METHOD]).any():
                add("instrument-mismatch")
            charge = payout[C.CHARGE_ID]
            earlier = [r for r in refunded[charge]
                       if r[0] < payout[C.TIMESTAMP] and r[2] != case_id]
            if any(abs(r[1] - float(payout[C.AMOUNT])) < 0.005 for r in earlier):
                add("duplicate-refund")
            elif sum(r[1] for r in earlier) + float(payout[C.AMOUNT]) > float(
                    purchase.iloc[0][C.AMOUNT]) + 0.005:
                add("refund-exceeds-charge")
        # SL
        if payout is not None and request is not None:
            if payout[C.TIMESTAMP] - request[C.TIMESTAMP] > P.SLA:
                add("sla-breach")
            elif not approvals.empty and (
                    approvals[C.TIMESTAMP].min() - request[C.TIMESTAMP] > P.APPROVAL_STAGE_LIMIT
                    or payout[C.TIMESTAMP] - approvals[C.TIMESTAMP].max()
                    > P.PAYOUT_STAGE_LIMIT):
                add("stage-overdue")
        # CF on the mapped activities (the SOP's order; the purchase is context)
        if request is not None:
            if first(P.NOTIFY) is None and (payout is not None or first(P.REJECT) is not None):
                add("skipped-activity")
            if (acts.count(P.NOTIFY) > 1):
                add("unexpected-activity")
            ev, a1 = first(P.EVIDENCE), first(P.APPROVE)
            if ev is not None and a1 is not None and a1[C.TIMESTAMP] < ev[C.TIMESTAMP]:
                add("wrong-order")
    return found
