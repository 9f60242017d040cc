"""Generate refund logs per channel with injected violations and their exact ground truth.

Each violating case gets one injected violation, built so that it trips its own rule and nothing
else (where one control subsumes another, the precedence in docs/sample-generator.md applies).
Benign look-alikes are generated too, so that a rule that fires on them shows up as a false
positive: failed payouts re-issued, partial refunds of one charge that stay within it, an agent
promoted to supervisor mid-period, rejected requests, two-level approvals by two people.
Same spec, same bytes.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from audit import canonical as C
from audit.sample import process as P

if TYPE_CHECKING:
    from audit.sample.exports import Provenance

# Injected violation -> every rule that must fire on that case (ground truth).
INJECTIONS: dict[str, tuple[str, ...]] = {
    "missing-approval": ("missing-approval", "skipped-activity"),
    "approval-after-payout": ("approval-after-payout", "wrong-order"),
    "missing-second-approval": ("missing-second-approval",),
    "unauthorized-approver": ("unauthorized-approver",),
    "payout-exceeds-approved": ("payout-exceeds-approved",),
    # (A supervisor receives the request: a task of the Customer service lane; an approver
    # executes the payout: one of the Payments lane.)
    "self-approval": ("self-approval", "unauthorized-performer"),
    "approver-pays": ("approver-pays", "unauthorized-performer"),
    "same-approver-twice": ("same-approver-twice",),
    "missing-evidence": ("missing-evidence",),
    "orphan-payout": ("orphan-payout", "skipped-activity"),
    "approved-not-paid": ("approved-not-paid", "skipped-activity"),
    "amount-mismatch": ("amount-mismatch",),
    "refund-exceeds-charge": ("refund-exceeds-charge",),
    "instrument-mismatch": ("instrument-mismatch",),
    "no-prior-purchase": ("no-prior-purchase",),
    "duplicate-refund": ("duplicate-refund",),
    "sla-breach": ("sla-breach",),
    "stage-overdue": ("stage-overdue",),
    "skipped-activity": ("skipped-activity",),
    "wrong-order": ("wrong-order",),
    "unexpected-activity": ("unexpected-activity",),
    "unmapped-activity": ("unmapped-activity",),
    "missing-resource": ("missing-resource",),
    # (A task other than an approval done by a role its SOP lane does not hold: dealt apart,
    # see APART.)
    "unauthorized-performer": ("unauthorized-performer",),
}
def _running(case: Case) -> bool:
    """An approved case not paid (approved-not-paid) whose approval is less than RUNNING_FOR
    before the as-of date is running at it: the payout, notice and close after the approval
    are not due yet, so not skipped (skipped-activity); its wait is approved-not-paid's.
    (The other injections skipping a task skip one before the case's last event.)"""
    if case.injected != "approved-not-paid":
        return False
    last = max(e.time for e in case.events if e.time <= P.AS_OF)
    return P.AS_OF - last < P.RUNNING_FOR


APART = "unauthorized-performer"
"""The kind not dealt with the others: added after them, it is given to cases the deal left
clean, from a random stream of its own drawn after every case is generated, so that adding
it changed no other case of any sample (the bundled sample's cases, which tests name, kept
their events)."""
DEALT = tuple(kind for kind in INJECTIONS if kind != APART)
"""The kinds dealt round-robin from a seeded shuffle (the 23 there were before APART, in
their order: the shuffle, and so every case, stays as it was)."""
OUT_OF_LANE: dict[str, tuple[str, ...]] = {
    **{task: (P.ROLE_SUPERVISOR, P.ROLE_FINANCE, P.ROLE_PAYMENTS)
       for task in (P.REQUEST, P.EVIDENCE, P.PRORATA, P.NOTIFY, P.CLOSE)},
    P.PAYOUT: (P.ROLE_AGENT, P.ROLE_SUPERVISOR, P.ROLE_FINANCE),
    P.PAYOUT_FAILED: (P.ROLE_AGENT, P.ROLE_SUPERVISOR, P.ROLE_FINANCE),
    P.REJECT: (P.ROLE_AGENT, P.ROLE_PAYMENTS),
}
"""Per task the unauthorized-performer injection may take: the roles neither the reference
SOPs' lane holding it (Customer service; Payments) nor the default policy's `performers`
(rejections: supervisor or finance) allow. The purchase (no SOP task) and the approvals
(unauthorized-approver's) are not taken."""
NEEDS_EARLIER_CASE = ("duplicate-refund", "refund-exceeds-charge")
NEEDS_SECOND_LEVEL = ("missing-second-approval", "same-approver-twice")

_METHODS = {
    "ecommerce": (("card", 0.7), ("paypal", 0.2), ("bank_transfer", 0.1)),
    "subscription": (("card", 0.6), ("paypal", 0.4)),
    "offline": (("card", 0.55), ("cash", 0.45)),
}
_CURRENCIES = (("EUR", 0.6), ("USD", 0.25), ("GBP", 0.15))
_PLANS = ((9.99, 30), (19.99, 30), (49.99, 30), (99.99, 30), (199.0, 365), (899.0, 365),
          (1490.0, 365))
_WORK_START, _WORK_END = 8, 18
_SLA_BREACH_LEAD = timedelta(days=19)
"""An sla-breach case's payout comes 15 days and 2 hours after its request at most, its
closing at most 10 working hours (over a weekend) later: it starts no later than the first
working time from this long before as_of (2026-09-28 for as_of 2026-10-15)."""


@dataclass(frozen=True)
class SampleSpec:
    channel: str = "all"
    cases: int = 300
    seed: int = 1
    violation_rate: float = 0.25
    first_case: int = 1
    """Number of the first case. A large log can be generated in parts (each with its own
    seed and first case; cases first_case .. first_case + cases - 1): ticket, refund and
    export record ids of the parts never collide, so their exports import together."""

    def __post_init__(self) -> None:
        if self.channel not in (*C.CHANNELS, "all"):
            raise ValueError(f"channel must be one of {(*C.CHANNELS, 'all')}")
        if self.cases < 1:
            raise ValueError("cases must be at least 1")
        if not 0.0 <= self.violation_rate <= 1.0:
            raise ValueError("violation rate must be between 0 and 1")
        if self.first_case < 1:
            raise ValueError("the first case number must be at least 1")


@dataclass
class Event:
    activity: str
    time: datetime
    resource: str | None
    system: str
    amount: float | None = None
    refund_id: str | None = None
    method: str | None = None
    status: str | None = None
    evidence: dict[str, str] = field(default_factory=dict)
    currency: str | None = None


@dataclass(eq=False)  # compared by identity: a generated __eq__ compares every event
class Case:
    case_id: str
    channel: str
    currency: str
    ticket_id: str | None
    order_id: str
    charge_id: str | None
    method: str
    charge_amount: float
    requested: float
    events: list[Event] = field(default_factory=list)
    paid: bool = False
    injected: str | None = None
    plan: tuple[float, int, int] | None = None
    """Subscription: (price, period days, days used) at the refund request."""
    purchase_time: datetime | None = None
    """Set for a second refund of an earlier case's charge: that charge's time."""
    purchase_actor: str | None = None
    """Set for a second refund of an earlier case's charge: who recorded that charge."""


@dataclass
class Sample:
    events: list[dict[str, object]]
    ground_truth: list[tuple[str, str]]
    spec: SampleSpec
    exports: dict[str, str] = field(default_factory=dict)
    """The same cases as the source systems export them: file name -> text."""


class _Generator:
    def __init__(self, spec: SampleSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.cases: list[Case] = []
        self.ground_truth: list[tuple[str, str]] = []
        # At most two refund ids per case (a failed payout and its re-issue).
        self.refund_counter = 2 * (spec.first_case - 1)
        self.partial_bases: dict[str, list[Case]] = {c: [] for c in C.CHANNELS}
        self.orders: set[int] = set()
        self.charges: set[int] = set()
        self.charged: dict[str, float] = {}
        """Charge id -> amount already refunded by the cases generated so far."""

    # --- time -------------------------------------------------------------------------------
    def _work_time(self, start: datetime, hours: float, channel: str) -> datetime:
        """`hours` of working time (Mon-Fri 08-18 local) after `start`, returned in UTC."""
        tz = ZoneInfo(P.TIME_ZONE[channel])
        t = start.astimezone(tz)
        remaining = timedelta(hours=hours)
        while True:
            if t.weekday() >= 5 or t.hour >= _WORK_END:
                t = (t + timedelta(days=1)).replace(hour=_WORK_START, minute=0, second=0)
                continue
            if t.hour < _WORK_START:
                t = t.replace(hour=_WORK_START, minute=0, second=0)
            day_end = t.replace(hour=_WORK_END, minute=0, second=0)
            if t + remaining <= day_end:
                # Whole seconds, as ticketing systems record them.
                return (t + remaining).astimezone(P.PERIOD_START.tzinfo).replace(microsecond=0)
            remaining -= day_end - t
            t = day_end

    def _hours(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 4)

    # --- choices ----------------------------------------------------------------------------
    def _pick(self, options: tuple[tuple[str, float], ...]) -> str:
        names = [o[0] for o in options]
        return self.rng.choices(names, weights=[o[1] for o in options])[0]

    def _holders(self, roles: tuple[str, ...], at: datetime, exclude: set[str]) -> list[str]:
        people = P.AGENTS + P.SUPERVISORS + P.FINANCE
        return [p for p in people if P.role_of(p, at) in roles and p not in exclude]

    def _on_duty(self, agent: str, at: datetime) -> str:
        """`agent`, where customer-service at `at`; else (Lena Fischer after her promotion)
        the next agent of the list who is: a supervisor no longer receives requests or
        works tickets (the SOP's lane "Customer service"). Draws no random number, so the
        other cases stay as they were."""
        if P.role_of(agent, at) == P.ROLE_AGENT:
            return agent
        k = P.AGENTS.index(agent) if agent in P.AGENTS else -1
        return next(p for p in P.AGENTS[k + 1:] + P.AGENTS[:k + 1]
                    if P.role_of(p, at) == P.ROLE_AGENT)

    def _first_approver(self, at: datetime, exclude: set[str]) -> str:
        roles = (P.ROLE_FINANCE,) if self.rng.random() < 0.15 else (P.ROLE_SUPERVISOR,)
        return self.rng.choice(self._holders(roles, at, exclude))

    def _fresh(self, used: set[int], low: int, high: int) -> int:
        """A random number in [low, high) that no earlier order (or charge) drew: two
        purchases never share an id by chance (correlation would join their cases). A part
        numbered from first_case F adds (F - 1) x high, so parts never share one either."""
        while True:
            number = self.rng.randrange(low, high)
            if number not in used:
                used.add(number)
                return number + (self.spec.first_case - 1) * high

    def _refund_id(self, channel: str) -> str:
        self.refund_counter += 1
        prefix = {"stripe": "re_", "paypal": "PPR", "adyen": "ADR"}[P.PAYMENTS[channel]]
        return f"{prefix}{self.refund_counter:08d}"

    # --- one case ---------------------------------------------------------------------------
    def _new_case(self, index: int, channel: str, injected: str | None,
                  base: Case | None) -> Case:
        rng = self.rng
        case_id = P.ticket_key(channel, index)
        if base is not None:
            currency, order_id, charge_id = base.currency, base.order_id, base.charge_id
            method, charge_amount = base.method, base.charge_amount
        else:
            currency = self._pick(_CURRENCIES)
            order_id = f"{P.PREFIX[channel]}-O{self._fresh(self.orders, 10**6, 10**7)}"
            charge_id = {"stripe": "ch_", "paypal": "PAY", "adyen": "PSP"}[
                P.PAYMENTS[channel]] + f"{self._fresh(self.charges, 10**9, 10**10)}"
            method = self._pick(_METHODS[channel])
            charge_amount = 0.0
        case = Case(case_id, channel, currency, case_id, order_id, charge_id, method,
                    charge_amount, 0.0, injected=injected)
        threshold = P.SECOND_APPROVAL_THRESHOLD[currency]
        if base is None:
            if channel == "subscription":
                price, period = rng.choice(_PLANS)
                low = 5
                if injected in NEEDS_SECOND_LEVEL:
                    price, period = _PLANS[-1]
                    low = int(threshold * 1.05 * period / price) + 1
                unused = rng.randrange(low, period - 1)
                case.charge_amount = price
                case.requested = round(price * unused / period, 2)
                case.plan = (price, period, period - unused)
            else:
                amount = round(rng.lognormvariate(4.8, 1.0), 2)
                if injected in NEEDS_SECOND_LEVEL:
                    amount = round(threshold * rng.uniform(1.05, 3.0), 2)
                amount = max(amount, 5.0)
                fraction = 1.0 if rng.random() < 0.6 else rng.uniform(0.3, 0.9)
                case.requested = amount
                case.charge_amount = round(amount / fraction, 2)
        return case

    def _play(self, case: Case, start: datetime) -> None:
        """Play the SOP for `case`, honouring timing injections; fills case.events."""
        rng, ch = self.rng, case.channel
        inj = case.injected
        tick, pay = P.TICKETING[ch], P.PAYMENTS[ch]
        ev = case.events
        threshold = P.SECOND_APPROVAL_THRESHOLD[case.currency]
        purchase_time = case.purchase_time or (
            start - timedelta(days=rng.uniform(2, 40))).replace(microsecond=0)
        purchase_actor = {"stripe": "stripe-api", "paypal": "paypal-billing",
                          "adyen": f"pos-terminal-{rng.randrange(1, 40):02d}"}[pay]
        ev.append(Event(P.PURCHASE[ch], purchase_time, case.purchase_actor or purchase_actor,
                        pay, amount=case.charge_amount, method=case.method,
                        status="succeeded"))
        drawn = requester = rng.choice(P.AGENTS)
        if inj == "self-approval":
            drawn = requester = rng.choice(self._holders((P.ROLE_SUPERVISOR,), start, set()))
        else:
            requester = self._on_duty(requester, start)
        ev.append(Event(P.REQUEST, start, requester, tick, amount=case.requested))
        # Who may not approve: the requester, and the person first drawn for the request,
        # where it was handed over (as before, so the random numbers stay as they were).
        raised = {requester, drawn}
        t = self._work_time(start, self._hours(0.5, 8), ch)
        # (Decided on the person drawn, so that a request handed over draws what it drew
        # before: the random numbers, and so every other case, stay as they were.)
        agent = requester if P.role_of(drawn, t) == P.ROLE_AGENT else rng.choice(
            self._holders((P.ROLE_AGENT,), t, set()))
        ev.append(Event(P.EVIDENCE, t, agent, tick, evidence=self._evidence(case, start)))
        if ch == "subscription":
            t = self._work_time(t, self._hours(0.2, 4), ch)
            agent = self._on_duty(agent, t)  # (promoted since the evidence: handed over)
            ev.append(Event(P.PRORATA, t, agent, tick, amount=case.requested))
        if inj is None and rng.random() < 0.08:  # a rejected request: no approval, no payout
            t = self._work_time(t, self._hours(2, 16), ch)
            approver = self._first_approver(t, raised)
            ev.append(Event(P.REJECT, t, approver, tick))
            self._finish(case, t, agent)
            return
        if inj == "stage-overdue":
            t = t + timedelta(hours=2)
        elif inj == "sla-breach":
            t = start + timedelta(days=8, hours=12)
        else:
            t = self._work_time(t, self._hours(2, 16), ch)
        approved = case.requested
        if inj == "payout-exceeds-approved":
            approved = round(case.requested * rng.uniform(0.5, 0.8), 2)
        if inj == "unauthorized-approver":
            approver1 = rng.choice(self._holders((P.ROLE_AGENT,), t, raised))
        elif inj == "self-approval":
            approver1 = requester
        elif inj == "same-approver-twice":
            approver1 = rng.choice(self._holders((P.ROLE_FINANCE,), t, raised))
        else:
            approver1 = self._first_approver(t, raised)
        approvals = [Event(P.APPROVE, t, approver1, tick, amount=approved)]
        if case.requested > threshold and inj != "missing-second-approval":
            t = (t + timedelta(hours=2) if inj in ("stage-overdue", "sla-breach")
                 else self._work_time(t, self._hours(2, 16), ch))
            approver2 = approver1 if inj == "same-approver-twice" else rng.choice(
                self._holders(P.SECOND_APPROVER_ROLES, t, raised | {approver1}))
            approvals.append(Event(P.APPROVE_2, t, approver2, tick, amount=approved))
        if inj == "missing-approval":
            approvals = []
        ev.extend(approvals)
        if inj == "approved-not-paid":
            return
        if inj == "stage-overdue":
            t = t + timedelta(days=7, hours=6)
        elif inj == "sla-breach":
            t = t + timedelta(days=6, hours=12)
        else:
            t = self._work_time(t, self._hours(1, 16), ch)
        clerk = rng.choice(P.PAYMENTS_CLERKS)
        if inj == "approver-pays":
            clerk = approver1
        paid = case.requested
        if inj == "amount-mismatch":
            paid = round(case.requested - max(0.01, round(case.requested * rng.uniform(0.05,
                                                                                      0.3), 2)), 2)
        method = case.method
        if inj == "instrument-mismatch":
            method = "bank_transfer" if case.method != "bank_transfer" else "card"
        if inj is None and rng.random() < 0.05:  # failed payout, re-issued: not a duplicate
            # Adyen reports a refund that did not go through as RefundedReversed.
            ev.append(Event(P.PAYOUT_FAILED, t, clerk, pay, amount=paid,
                            refund_id=self._refund_id(ch), method=method,
                            status="reversed" if pay == "adyen" else "failed"))
            t = self._work_time(t, self._hours(1, 8), ch)
        ev.append(Event(P.PAYOUT, t, clerk, pay, amount=paid, refund_id=self._refund_id(ch),
                        method=method, status="succeeded"))
        case.paid = True
        if inj == "approval-after-payout":
            for k, approval in enumerate(approvals):
                approval.time = t + timedelta(hours=1 + k)
            ev.sort(key=lambda e: e.time)
            t = approvals[-1].time
        self._finish(case, t, agent)

    def _finish(self, case: Case, t: datetime, agent: str) -> None:
        tick = P.TICKETING[case.channel]
        t = self._work_time(t, self._hours(0.1, 2), case.channel)
        agent = self._on_duty(agent, t)  # (promoted since the evidence: handed over)
        case.events.append(Event(P.NOTIFY, t, agent, tick))
        t = self._work_time(t, self._hours(0.5, 8), case.channel)
        agent = self._on_duty(agent, t)
        case.events.append(Event(P.CLOSE, t, agent, tick))

    def _evidence(self, case: Case, start: datetime) -> dict[str, str]:
        cid = case.case_id
        if case.channel == "ecommerce":
            return {"evidence:order": case.order_id,
                    "evidence:payment_voucher": f"voucher-{cid}.pdf"}
        if case.channel == "subscription":
            assert case.plan is not None
            _price, period, used = case.plan
            renewal = (start - timedelta(days=used)).date().isoformat()
            return {"evidence:renewal_date": renewal,
                    "evidence:usage": f"{used} of {period} days used"}
        return {"evidence:receipt": f"receipt-{cid}.jpg", "evidence:photo": f"photo-{cid}.jpg"}

    # --- injections applied after play --------------------------------------------------------
    def _mutate(self, case: Case) -> None:
        rng, inj, ev = self.rng, case.injected, case.events
        by_activity = {e.activity: e for e in ev}
        if inj == "missing-evidence":
            items = by_activity[P.EVIDENCE].evidence
            del items[rng.choice(sorted(items))]
        elif inj == "orphan-payout":
            case.ticket_id = None
            case.events = [e for e in ev if e.system == P.PAYMENTS[case.channel]]
            # No ticket to name the case: it is named by its (first) refund.
            case.case_id = next(e.refund_id for e in sorted(case.events, key=lambda e: e.time)
                                if e.refund_id is not None)
        elif inj == "no-prior-purchase":
            case.charge_id = None
            case.events = [e for e in ev if e.activity != P.PURCHASE[case.channel]]
        elif inj == "skipped-activity":
            case.events = [e for e in ev if e.activity != P.NOTIFY]
        elif inj == "wrong-order":
            evidence, approval = by_activity[P.EVIDENCE], by_activity[P.APPROVE]
            evidence.time, approval.time = approval.time, evidence.time
            if evidence.resource is not None:  # (an agent promoted meanwhile: handed over)
                evidence.resource = self._on_duty(evidence.resource, evidence.time)
            if P.role_of(approval.resource or "", approval.time) not in P.FIRST_APPROVER_ROLES:
                # Approved before the approver's promotion (Lena Fischer): by the first
                # supervisor of the list who is none of the case's people, drawing no
                # random number (unauthorized-approver is no part of this injection).
                others = {e.resource for e in ev if e is not approval}
                approval.resource = self._holders((P.ROLE_SUPERVISOR,), approval.time,
                                                  {o for o in others if o})[0]
            prorata = by_activity.get(P.PRORATA)
            if prorata is not None and prorata.time < evidence.time:
                prorata.time = evidence.time + timedelta(minutes=20)
        elif inj == "unexpected-activity":
            evidence = by_activity[P.EVIDENCE]
            ev.append(Event(P.NOTIFY, evidence.time + timedelta(minutes=30), evidence.resource,
                            evidence.system))
        elif inj == "unmapped-activity":
            evidence = by_activity[P.EVIDENCE]
            ev.append(Event(P.UNMAPPED_LABEL, evidence.time + timedelta(minutes=45),
                            evidence.resource, evidence.system))
        elif inj == "missing-resource":
            by_activity[P.CLOSE].resource = None
        case.events.sort(key=lambda e: e.time)

    # --- the whole log ------------------------------------------------------------------------
    def run(self) -> Sample:
        spec, rng = self.spec, self.rng
        kinds = list(DEALT)
        rng.shuffle(kinds)
        injected_count = 0
        span = (P.PERIOD_END - P.PERIOD_START - timedelta(days=1)).total_seconds()
        for index in range(spec.first_case, spec.first_case + spec.cases):
            channel = spec.channel if spec.channel != "all" else self._pick(P.CHANNEL_SHARE)
            injected: str | None = None
            if rng.random() < spec.violation_rate:
                injected = kinds[injected_count % len(kinds)]
                injected_count += 1
            base: Case | None = None
            bases = self.partial_bases[channel]  # only paid cases are kept there
            if injected in NEEDS_EARLIER_CASE:
                if not bases:
                    injected = "missing-evidence"
                else:
                    base = rng.choice(bases)
            elif injected is None and bases and rng.random() < 0.04:
                base = rng.choice(bases)  # a second, legitimate partial refund of one charge
            case = self._new_case(index, channel, injected, base)
            start = self._work_time(
                P.PERIOD_START + timedelta(seconds=rng.uniform(0, span)), 0, channel)
            if injected == "sla-breach":
                # Paid about 15 days after the request and closed after that: early enough
                # for the whole case to lie before the audit's clock (as_of).
                start = self._work_time(min(start, P.AS_OF - _SLA_BREACH_LEAD), 0, channel)
            if base is not None:
                if not self._second_refund(case, base, injected):
                    base = None
                    case = self._new_case(index, channel, None, None)
                else:
                    # A day after the first refund's close, in business hours (not a Saturday).
                    start = self._work_time(
                        max(start, base.events[-1].time + timedelta(days=1)), 0, channel)
                    case.purchase_time = base.events[0].time
                    case.purchase_actor = base.events[0].resource
            self._play(case, start)
            self._mutate(case)
            if case.charge_id is not None and case.paid and case.injected is None and base is None:
                self.partial_bases[channel].append(case)
            if case.charge_id is not None and case.paid:
                self.charged[case.charge_id] = self.charged.get(case.charge_id, 0.0) + sum(
                    e.amount or 0.0 for e in case.events if e.activity == P.PAYOUT)
            if base is not None:
                self.partial_bases[channel].remove(base)
            self.cases.append(case)
            for rule in INJECTIONS.get(case.injected or "", ()):
                if rule == "skipped-activity" and _running(case):
                    continue
                self.ground_truth.append((case.case_id, rule))
        self._deal_apart()
        from audit.sample.exports import build_exports

        exports, provenance = build_exports(self.cases, first_case=spec.first_case)
        return Sample(self._rows(provenance), sorted(self.ground_truth), spec, exports)

    def _deal_apart(self) -> None:
        """Give APART (unauthorized-performer) to cases the deal left clean: each with
        probability R / 23 (a dealt kind's share of a case), drawn from a stream seeded by
        the seed alone, after every case is generated: the main stream, and so every other
        case, stays as it was. One task of the case other than the purchase and the
        approvals is given to someone whose role at its time is out of the task's lane
        (OUT_OF_LANE) and who is none of the case's people: no other control (self-approval,
        approver-pays, same-approver-twice) is touched; the times stay, so a later second
        refund of the case's charge still follows it as it did."""
        share = self.spec.violation_rate / len(DEALT)
        rng = random.Random(f"{self.spec.seed}:{APART}")
        for case in self.cases:
            if case.injected is not None or rng.random() >= share:
                continue
            tasks = [e for e in case.events if e.activity in OUT_OF_LANE]
            task = rng.choice(tasks)
            people = {e.resource for e in case.events if e.resource}
            task.resource = rng.choice(
                [p for p in P.AGENTS + P.SUPERVISORS + P.FINANCE + P.PAYMENTS_CLERKS
                 if P.role_of(p, task.time) in OUT_OF_LANE[task.activity] and p not in people])
            case.injected = APART
            for rule in INJECTIONS[APART]:
                self.ground_truth.append((case.case_id, rule))

    def _second_refund(self, case: Case, base: Case, injected: str | None) -> bool:
        """Set the amount of a second refund against `base`'s charge; False if none fits."""
        refunded = self.charged.get(base.charge_id or "", 0.0)
        left = round(base.charge_amount - refunded, 2)
        if injected == "duplicate-refund":
            case.requested = base.requested
        elif injected == "refund-exceeds-charge":
            extra = round(base.charge_amount * self.rng.uniform(0.1, 0.3), 2)
            case.requested = round(max(left, 0.0) + extra, 2)
            if case.requested == base.requested:
                case.requested = round(case.requested + 1.0, 2)
        else:
            if left < 10.0:
                return False
            case.requested = round(left * self.rng.uniform(0.3, 0.95), 2)
            if case.requested == base.requested:
                return False
        if case.channel == "subscription":
            case.plan = base.plan
        threshold = P.SECOND_APPROVAL_THRESHOLD[case.currency]
        return not (injected is None and case.requested > threshold * 10)

    def _rows(self, provenance: dict[tuple[int, int], Provenance]) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for ci, case in enumerate(self.cases):
            for k, e in enumerate(case.events):
                where = provenance[(ci, k)]
                money = e.amount is not None
                row: dict[str, object] = {
                    C.EVENT_ID: where.event_id,
                    C.CASE: case.case_id,
                    C.ACTIVITY: e.activity,
                    C.TIMESTAMP: e.time.astimezone(P.PERIOD_START.tzinfo).isoformat(),
                    C.RESOURCE: e.resource,
                    C.ROLE: P.role_of(e.resource, e.time) if e.resource else None,
                    C.LIFECYCLE: "complete",
                    C.AMOUNT: f"{e.amount:.2f}" if money else None,
                    C.CURRENCY: (e.currency or case.currency) if money else None,
                    C.CHANNEL: case.channel,
                    C.TICKET_ID: case.ticket_id,
                    C.ORDER_ID: case.order_id,
                    C.CHARGE_ID: case.charge_id,
                    C.REFUND_ID: e.refund_id,
                    C.PAYMENT_METHOD: e.method,
                    C.PAYMENT_STATUS: e.status,
                    C.SOURCE_SYSTEM: where.system,
                    C.SOURCE_FILE: where.file,
                    C.SOURCE_ROW: where.row,
                }
                for name in P.EVIDENCE_COLUMNS:
                    row[name] = e.evidence.get(name)
                rows.append(row)
        return rows


def generate(spec: SampleSpec) -> Sample:
    """Generate a sample log and its ground truth in memory."""
    return _Generator(spec).run()


_UNSET_DATE_FORMAT = '    # date_format: "%m/%d/%Y"  # the order of day and month'
"""The bundled sources file's line leaving PayPal's date_format unset."""


def sample_sources_text() -> str:
    """The bundled sources file with PayPal's `date_format` set to the order the sample's
    downloads write (day first): a small sample's dates may all be up to the 12th, which a
    download cannot tell the order of, and the import refuses it where none is set."""
    from audit.sources.config import default_sources_path

    text = default_sources_path().read_text(encoding="utf-8")
    if text.count(_UNSET_DATE_FORMAT) != 1:
        raise RuntimeError("the bundled sources file no longer leaves paypal's "
                           "date_format unset on one line: update sample_sources_text")
    return text.replace(
        _UNSET_DATE_FORMAT,
        f'    date_format: "{P.PAYPAL_DATE_FORMAT}"  # (set by `refund-audit sample`: its '
        "PayPal downloads write day first)\n    # the order of day and month")


def sample_project_text(exports: list[str]) -> str:
    """A project file (`import --project`) reading the sample's exports with
    `sample_sources.yaml`, so that it gives back canonical.csv."""
    from audit.sample.exports import FILES

    system_of = {name: key.split("_")[0] for key, name in FILES.items()}
    lines = ["# The sample's exports, read as the systems they are, with the sources file",
             "# beside this one (PayPal's dates day first):",
             "#   refund-audit import --project sample_project.yaml --out log.parquet",
             "sources:"]
    lines += [f"  - {system_of[name]}: exports/{name}" for name in sorted(exports)
              if system_of[name] != "roles"]
    if FILES["roles"] in exports:
        lines.append(f"roles: exports/{FILES['roles']}")
    lines.append("config: sample_sources.yaml")
    return "\n".join(lines) + "\n"


def write_sample(spec: SampleSpec, out: Path) -> dict[str, Path]:
    """Write canonical.csv, ground_truth.csv and sample.json into `out`, the source
    systems' exports of the same cases into `out/exports/` (removing the export files of
    other systems an earlier sample left there), and sample_project.yaml and
    sample_sources.yaml, which import them as they were written; return the paths of the
    files in `out`."""
    sample = generate(spec)
    out.mkdir(parents=True, exist_ok=True)
    exports = out / "exports"
    exports.mkdir(exist_ok=True)
    from audit.sample.exports import FILES

    for name in set(FILES.values()) - set(sample.exports):
        # An earlier sample's export of a system this one does not write (another channel):
        # left there, `import DIR/exports/*` would add that sample's cases to this one's.
        (exports / name).unlink(missing_ok=True)
    for name, text in sample.exports.items():
        (exports / name).write_text(text, encoding="utf-8", newline="\n")
    columns = [*C.COLUMNS, *P.EVIDENCE_COLUMNS]
    paths = {"canonical": out / "canonical.csv", "ground_truth": out / "ground_truth.csv",
             "manifest": out / "sample.json"}
    with paths["canonical"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in sample.events:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    with paths["ground_truth"].open("w", newline="", encoding="utf-8") as handle:
        writer2 = csv.writer(handle, lineterminator="\n")
        writer2.writerow(["case_id", "rule"])
        writer2.writerows(sample.ground_truth)
    manifest = {
        "generator": "refund-audit sample",
        "spec": {"channel": spec.channel, "cases": spec.cases, "seed": spec.seed,
                 "violation_rate": spec.violation_rate,
                 **({"first_case": spec.first_case} if spec.first_case != 1 else {})},
        "period": [P.PERIOD_START.isoformat(), P.PERIOD_END.isoformat()],
        "as_of": P.AS_OF.isoformat(),
        "events": len(sample.events),
        "exports": sorted(f"exports/{name}" for name in sample.exports),
        "violating_cases": len({c for c, _ in sample.ground_truth}),
    }
    paths["manifest"].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    paths["project"] = out / "sample_project.yaml"
    paths["project"].write_text(sample_project_text(list(sample.exports)), encoding="utf-8",
                                newline="\n")
    paths["sources"] = out / "sample_sources.yaml"
    paths["sources"].write_text(sample_sources_text(), encoding="utf-8", newline="\n")
    return paths


__all__ = ["APART", "DEALT", "INJECTIONS", "Sample", "SampleSpec", "generate", "write_sample"]
