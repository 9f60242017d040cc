"""Optimal alignments and token replay of activity sequences on a workflow net.

Work is done once per unique variant (a tuple of task labels) and cached; many variants are
aligned in a process pool. Two search engines sit behind one interface, both with the standard
costs (1 per log move and per move on a visible model transition, 0 for synchronous and silent
moves) and both optimal:

- ``r4pm``: the A* of the Rust process_mining crate (r4pm bindings), bounded by the number of
  states it may visit per variant (deterministic, unlike a time limit);
- ``pm4py``: pm4py's A* on the state equation, on our converted net, bounded by seconds per
  variant; the fallback when r4pm is not installed.

``auto`` picks r4pm when it imports. A variant that hits either bound is marked ``bounded``:
no cost, never reported as fitting. Both libraries are imported lazily.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from copy import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.petri import WorkflowNet

Variant = tuple[str, ...]

MAX_SECONDS_PER_VARIANT = 10.0
"""Search bound: a variant whose alignment takes longer is marked `bounded`, never fitting."""
MAX_STATES_PER_VARIANT = 5_000_000
"""Search bound of the r4pm engine: states visited per variant before it gives up (bounded)."""
PARALLEL_FROM = 64
"""Variants to align before a process pool pays for its start-up (about 2 s per worker to
import pm4py)."""
ENGINES = ("auto", "r4pm", "pm4py")
_BASE = 10_000_000  # cost of one log or visible model move (pm4py's default is 10,000)
_TASK_STEP = 1_000  # tie-breaker per task rank (model moves); log moves add their position


def _model_tie(rank: int, labels: int, done: bool) -> int:
    """The tie-breaker of a model move on a task of rank `rank` (by name, among `labels`):
    a task the variant holds (`done`) before any it does not, then by name. Where skipping
    one branch or another of a choice costs the same, the branch the case took is the one
    moved (A, then B or C, then D: the variant A, D, C skips C where it belongs and has it
    late, a wrong-order, not `skipped B` and `unexpected C`)."""
    return _TASK_STEP * (rank if done else labels + rank)


@dataclass(frozen=True)
class Move:
    """One step of an alignment: `log` and `model` labels; None on the side that does not move.

    A synchronous move has both labels equal; a log move has `model` None; a model move on a
    visible transition has `log` None. Silent model moves are left out.
    """

    log: str | None
    model: str | None

    @property
    def kind(self) -> str:
        if self.log is not None and self.model is not None:
            return "sync"
        return "log" if self.log is not None else "model"


@dataclass(frozen=True)
class Alignment:
    """The optimal alignment of one variant, or the note that the search bound was hit."""

    variant: Variant
    moves: tuple[Move, ...] = ()
    cost: int | None = None
    """Log moves plus visible model moves; None when the search bound was hit."""
    worst_cost: int = 0
    """len(variant) + the fewest visible moves of the model alone (pm4py's best worst cost)."""
    bounded: bool = False

    @property
    def fitness(self) -> float | None:
        if self.cost is None:
            return None
        return 1.0 - self.cost / self.worst_cost if self.worst_cost else 1.0

    @property
    def fits(self) -> bool:
        return self.cost == 0


# --- the per-process engine ---------------------------------------------------------------------


@dataclass
class _Pm4pyEngine:
    """pm4py's net and parameters for one workflow net, built once per process."""

    net: WorkflowNet
    max_seconds: float
    pm: tuple[Any, Any, Any] = field(init=False)
    model_only: int = field(init=False)
    model_costs: dict[Any, int] = field(init=False)
    sync_costs: dict[Any, int] = field(init=False)
    choice: CanonicalChoice = field(init=False)

    def __post_init__(self) -> None:
        from conformance.petri import to_pm4py

        self.choice = CanonicalChoice(self.net)
        self.pm = to_pm4py(self.net)
        net = self.pm[0]
        # Deterministic tie-breaking. pm4py's A* picks among equally cheap alignments by the
        # order of hash-based sets, which differs from process to process, so the events a
        # finding names (and its fingerprint) could change between runs. Every visible move
        # costs _BASE plus a small, fixed amount (model moves: a task the variant holds before
        # one it does not, then by name, `_model_tie`; log moves: by position); the
        # tie-breakers of one alignment add up to far less than _BASE, so an alignment with
        # fewer deviations always wins and the standard cost is unchanged.
        # In a big model or a long trace the tie-breakers could add up to one deviation's
        # cost: the base of a search is then raised above their most (`_base`).
        labels = sorted({str(t.label) for t in net.transitions if t.label is not None})
        self._rank = {label: i for i, label in enumerate(labels)}
        self.sync_costs = {t: 0 for t in net.transitions if t.label is not None}
        # The model alone (needed for every worst cost) gets at least the default bound, as
        # with r4pm: a tight `max_seconds` bounds the variants, not this search. pm4py answers
        # None both when the bound is hit and when the search runs out of states without
        # reaching the final marking; the time taken tells them apart.
        bound = max(self.max_seconds, MAX_SECONDS_PER_VARIANT)
        started = time.perf_counter()
        empty = self._search((), max_seconds=bound)
        if empty is None:
            if time.perf_counter() - started >= bound:
                raise ValueError(f"the model alone could not be aligned within {bound:g} s "
                                 "(the search bound), so its worst costs are not known")
            raise ValueError("the net's final marking cannot be reached")
        self.model_only = sum(1 for _, model in empty["alignment"] if model not in (">>", None))

    def _model_costs(self, base: int, variant: Variant) -> dict[Any, int]:
        """Per transition of pm4py's net, its model move's cost in the search of `variant`:
        1 for a silent one, else `base` and its tie-breaker (`_model_tie`)."""
        rank, held = self._rank, set(variant)
        return {t: (base + _model_tie(rank[str(t.label)], len(rank), str(t.label) in held)
                    if t.label is not None else 1)
                for t in self.pm[0].transitions}

    def _base(self, variant: Variant) -> int:
        """A deviation's cost in the search of `variant`: above what the tie-breakers and
        silent steps of any alignment with fewer deviations can add. An optimal alignment
        has at most len(variant) + (the shortest run of the model) deviations, and its runs
        of model moves and silent steps are bounded by the transitions."""
        steps = len(self.pm[0].transitions)
        tie = max(2 * _TASK_STEP * len(self._rank), len(variant)) + 1
        return max(_BASE, 2 * tie * (len(variant) + steps + 1) + steps)

    def _search(self, variant: Variant, *, max_seconds: float | None = None,
                ) -> dict[str, Any] | None:
        """pm4py's optimal alignment of `variant`; None when the search gives up (after
        `max_seconds`, default the engine's bound) or finds no way to the final marking."""
        from pm4py.algo.conformance.alignments.petri_net import algorithm as alignments
        from pm4py.objects.log.obj import Event, Trace

        trace = Trace([Event({"concept:name": label}) for label in variant])
        base = self._base(variant)
        params = alignments.Parameters
        parameters = {params.PARAM_MAX_ALIGN_TIME_TRACE: (
                          self.max_seconds if max_seconds is None else max_seconds),
                      params.ENABLE_BEST_WORST_COST: False,
                      params.PARAM_MODEL_COST_FUNCTION: self._model_costs(base, variant),
                      params.PARAM_SYNC_COST_FUNCTION: self.sync_costs,
                      params.PARAM_TRACE_COST_FUNCTION: [base + p for p in range(len(variant))]}
        net, initial, final = self.pm
        result: dict[str, Any] | None = alignments.apply_trace(
            trace, net, initial, final, parameters=parameters,
            variant=alignments.Variants.VERSION_STATE_EQUATION_A_STAR)
        return result

    def align(self, variant: Variant) -> Alignment:
        worst = len(variant) + self.model_only
        found = self._search(variant)
        if found is None:
            return Alignment(variant, worst_cost=worst, bounded=True)
        moves = []
        for log_label, model_label in found["alignment"]:
            log = None if log_label == ">>" else str(log_label)
            model = None if model_label in (">>", None) else str(model_label)
            if log is None and model is None:
                continue  # a silent model move
            moves.append(Move(log, model))
        cost = sum(1 for m in moves if m.kind != "sync")
        return _canonical(self.choice, Alignment(variant, tuple(moves), cost, worst))


MAX_CANONICAL_STATES = 10_000
"""The most states (marking, position in the variant) the canonical choice may have to search
for one variant: reachable markings x (events + 1). A hand-drawn SOP has tens of markings
(the bundled ones 30-32: a 10-event variant, about 350 states, a millisecond); the inductive
model of BPIC2012 with noise 0.2 has 722, so its variants of more than 12 events keep the
engine's choice (searching them all took 135 s against the 10 s of the alignments)."""


def _place_bits(net: WorkflowNet) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Each place as one bit of a marking (the net's place order), and per transition the
    bits of its input places (`pre`) and of its output places (`post`): markings of a
    safe net as integers, for `CanonicalChoice` and `LanguageReplay`."""
    bit = {p: 1 << i for i, p in enumerate(net.places)}
    pre: dict[str, int] = {t.name: 0 for t in net.transitions}
    post: dict[str, int] = {t.name: 0 for t in net.transitions}
    for a, b in net.arcs:
        if a in bit:
            pre[b] |= bit[a]
        elif b in bit:
            post[a] |= bit[b]
    return bit, pre, post


class CanonicalChoice:
    """One fixed optimal alignment of a deviating variant, whichever engine found its cost.

    A variant often has several optimal alignments (A, then B or C, then D: the variant A, D
    skips B or skips C at equal cost), and the finding's task, events and fingerprint follow
    the one chosen. r4pm's A* chose by the order of its hash maps, which changes from one
    search to the next (ten searches of A, D in one process named B and C), pm4py's by
    memory addresses; our tie-breakers in pm4py's costs fix the task but not where a skip
    falls among the events. This search fixes all of it: a Dijkstra search over (marking,
    position in the variant) with the pm4py engine's costs (a deviation `_Pm4pyEngine._base`
    plus its tie-breaker: for a model move a task the variant holds before one it does not,
    then the task's rank by name (`_model_tie`), for a log move the event's position; 1 per
    silent step, 0 per synchronous move), its moves tried in a fixed order
    (synchronous, log move, model moves and silent steps by transition name), the first
    path found at the least cost kept. So both engines, every process and every run name
    the same deviations. It works on safe nets of at most 64 places (markings as bit sets)
    and on variants whose states (reachable markings x (events + 1)) are at most
    `max_states`; on others the engine's own optimal alignment stands, its choice among
    equally cheap ones not fixed (`decides` tells which)."""

    def __init__(self, net: WorkflowNet, *, max_states: int = MAX_CANONICAL_STATES) -> None:
        self.applies = len(net.places) <= 64
        self.max_states = max_states
        self._markings: int | None = None
        bit, pre, post = _place_bits(net)
        ordered = sorted(net.transitions, key=lambda t: t.name)
        labels = sorted({t.label for t in net.transitions if t.label is not None})
        rank = self._rank = {label: i for i, label in enumerate(labels)}
        self._labels = len(labels)
        self._steps = len(net.transitions)
        self._by_label: dict[str, list[tuple[int, int]]] = {}
        # Model moves and silent steps in one list, by transition name: (pre, post, label
        # or None, the label's rank by name).
        self._others: list[tuple[int, int, str | None, int]] = []
        for t in ordered:
            if t.label is not None:
                self._by_label.setdefault(t.label, []).append((pre[t.name], post[t.name]))
            self._others.append((pre[t.name], post[t.name], t.label,
                                 rank[t.label] if t.label is not None else 0))
        self._source = bit.get(net.source, 0)
        self._sink = bit.get(net.sink, 0)
        self._after: dict[int, tuple[dict[str, list[int]],
                                     list[tuple[int, int, Move | None]]] | None] = {}

    def _base(self, variant: Variant) -> int:
        """As `_Pm4pyEngine._base`: a deviation dearer than the tie-breakers and silent
        steps of any alignment with fewer deviations."""
        tie = max(2 * _TASK_STEP * self._labels, len(variant)) + 1
        return max(_BASE, 2 * tie * (len(variant) + self._steps + 1) + self._steps)

    def _successors(self, marking: int) -> tuple[dict[str, list[int]],
                                                 list[tuple[int, int, Move | None]]] | None:
        """What `marking` enables, once per marking: the markings each label's transitions
        lead to (synchronous moves), and the model moves and silent steps in transition
        order as (marking reached, the task's rank by name or -1 for a silent step, move).
        None where a firing would put a second token in a place (not a safe net)."""
        found = self._after.get(marking)
        if found is None and marking not in self._after:
            by_label: dict[str, list[int]] = {}
            for label, pairs in self._by_label.items():
                for pre, post in pairs:
                    if marking & pre == pre:
                        rest = marking & ~pre
                        if rest & post:
                            self._after[marking] = None
                            return None
                        by_label.setdefault(label, []).append(rest | post)
            others: list[tuple[int, int, Move | None]] = []
            for pre, post, model, rank in self._others:
                if marking & pre == pre:
                    rest = marking & ~pre
                    if rest & post:
                        self._after[marking] = None
                        return None
                    others.append((rest | post, -1 if model is None else rank,
                                   None if model is None else Move(None, model)))
            found = self._after[marking] = (by_label, others)
        return found

    def markings(self) -> int | None:
        """The net's reachable markings, counted once; None where they are more than
        `max_states`, or the net is not one this search serves (more than 64 places, not
        safe)."""
        if self._markings is None and self.applies:
            seen = {self._source}
            todo = [self._source]
            while todo:
                after = self._successors(todo.pop())
                if after is None:  # not a safe net
                    self.applies = False
                    return None
                by_label, others = after
                for reached in [m for ms in by_label.values() for m in ms] + [
                        m for m, _, _ in others]:
                    if reached not in seen:
                        seen.add(reached)
                        todo.append(reached)
                if len(seen) > self.max_states:
                    self.applies = False
                    return None
            self._markings = len(seen)
        return self._markings if self.applies else None

    def decides(self, variant: Variant) -> bool:
        """Whether `align` searches `variant`: a net it serves, and at most `max_states`
        states (marking, position)."""
        markings = self.markings()
        return markings is not None and markings * (len(variant) + 1) <= self.max_states

    def align(self, variant: Variant) -> tuple[Move, ...] | None:
        """The canonical optimal moves of `variant` (silent ones left out), or None where
        this search does not decide it (`decides`), or the sink cannot be reached.

        Among the optimal alignments, one that pairs the most skips of a task with events of
        it elsewhere (wrong-order deviations, as `deviation_plan` reads them) is taken: the
        swap of two events of a loop (B, E, D, B, D where the model has B, D, E, B, D) is
        a task done out of order, not two unexpected events, though both cost 2. The first
        search takes no pairs into account; where its alignment leaves a skip or an event
        of a task unpaired among two or more deviations, `_paired` searches again with the
        deviations still to be paired in its states (within `PAIRED_STATES` states)."""
        if not self.decides(variant):
            return None
        first = self._search(variant)
        if (first is None or _unpaired(first) == 0
                or not 2 <= _deviations(first) <= PAIRED_DEVIATIONS):
            return first
        paired = self._paired(variant, _deviations(first))
        if (paired is None or _deviations(paired) != _deviations(first)
                or _unpaired(paired) >= _unpaired(first)):
            return first
        return paired

    def _search(self, variant: Variant) -> tuple[Move, ...] | None:
        """The search of `align`, with no regard to pairs."""
        import heapq

        n = len(variant)
        base = self._base(variant)
        held = set(variant)  # (a task the variant holds is moved first: `_model_tie`)
        width = n.bit_length() + 1  # a state (marking, position) as one integer
        start = self._source << width
        goal = (self._sink << width) | n
        mask = (1 << width) - 1
        best: dict[int, int] = {start: 0}
        came: dict[int, tuple[int, Move | None]] = {}
        heap: list[tuple[int, int, int]] = [(0, 0, start)]
        pushed = 1
        push = heapq.heappush
        pop = heapq.heappop
        while heap:
            cost, _, state = pop(heap)
            if cost > best[state]:
                continue
            if state == goal:
                return _walked_back(came, start, state)
            marking, at = state >> width, state & mask
            after = self._successors(marking)
            assert after is not None  # (every reachable marking is safe: `markings`)
            by_label, others = after
            steps: list[tuple[int, int, Move | None]] = []  # (cost, state, move)
            if at < n:
                label = variant[at]
                sync = Move(label, label)
                for reached in by_label.get(label, ()):
                    steps.append((cost, (reached << width) | (at + 1), sync))
                steps.append((cost + base + at, state + 1, Move(label, None)))
            for reached, rank, move in others:
                steps.append((cost + 1 if move is None else cost + base + _model_tie(
                                  rank, self._labels, move.model in held),
                              (reached << width) | at, move))
            for step_cost, key, move in steps:
                if step_cost < best.get(key, step_cost + 1):
                    best[key] = step_cost
                    came[key] = (state, move)
                    push(heap, (step_cost, pushed, key))
                    pushed += 1
        return None

    def _paired(self, variant: Variant, deviations: int) -> tuple[Move, ...] | None:
        """As `_search`, with the most pairs among the optimal alignments: a state is also
        the deviations not yet paired (per task, events ahead of their skips (+) or skips
        ahead of their events (-)). A deviation that pairs with one of them costs a
        deviation; one that does not costs a deviation and `unpaired` (more than every
        tie-breaker and silent step of an alignment can add, far less than a deviation).
        So the fewest deviations come first, then the most pairs, then the tie-breakers of
        `_search`; no path of more than `deviations` (the optimum) is followed. None where
        the search would reach more than `PAIRED_STATES` states."""
        import heapq

        n = len(variant)
        unpaired = self._base(variant)
        base = 2 * unpaired * (n + self._steps + 1) + unpaired
        beyond = (deviations + 1) * base  # (what a path of one deviation more costs at least)
        held = set(variant)
        # Only a task both of the model and of the variant can pair; a skip pairs only with
        # an event still ahead (the events ahead of each position: `ahead`).
        pairable = held & set(self._by_label)
        ahead = [set(variant[at:]) for at in range(n + 1)]
        Pending = tuple[tuple[str, int], ...]
        State = tuple[int, int, Pending]

        def changed(pending: Pending, label: str, by: int, at: int) -> tuple[Pending, bool]:
            """`pending` with the label's count moved by `by` (at position `at`, after the
            move), skips that can no longer pair left out; whether the move pairs."""
            if label not in pairable:
                return pending, False
            counts = dict(pending)
            was = counts.get(label, 0)
            counts[label] = was + by
            return tuple(sorted((task, k) for task, k in counts.items()
                                if k > 0 or (k < 0 and task in ahead[at]))), was * by < 0

        start: State = (self._source, 0, ())
        best: dict[State, int] = {start: 0}
        came: dict[State, tuple[State, Move | None]] = {}
        heap: list[tuple[int, int, State]] = [(0, 0, start)]
        pushed = 1
        while heap:
            cost, _, state = heapq.heappop(heap)
            if cost > best[state]:
                continue
            marking, at, pending = state
            if marking == self._sink and at == n:
                return _walked_back(came, start, state)
            if len(best) > PAIRED_STATES:
                return None
            after = self._successors(marking)
            assert after is not None  # (every reachable marking is safe: `markings`)
            by_label, others = after
            steps: list[tuple[int, State, Move | None]] = []  # (cost, state, move)
            if at < n:
                label = variant[at]
                sync = Move(label, label)
                for reached in by_label.get(label, ()):
                    steps.append((cost, (reached, at + 1, pending), sync))
                now, pairs = changed(pending, label, 1, at + 1)
                steps.append((cost + base + at + (0 if pairs else unpaired),
                              (marking, at + 1, now), Move(label, None)))
            for reached, rank, move in others:
                if move is None:
                    steps.append((cost + 1, (reached, at, pending), None))
                    continue
                assert move.model is not None
                now, pairs = changed(pending, move.model, -1, at)
                steps.append((cost + base + _model_tie(rank, self._labels, move.model in held)
                              + (0 if pairs else unpaired), (reached, at, now), move))
            for step_cost, key, move in steps:
                if step_cost < beyond and step_cost < best.get(key, step_cost + 1):
                    best[key] = step_cost
                    came[key] = (state, move)
                    heapq.heappush(heap, (step_cost, pushed, key))
                    pushed += 1
        return None


def _walked_back(came: Mapping[Any, tuple[Any, Move | None]], start: Any,
                 state: Any) -> tuple[Move, ...]:
    """The moves of the path a search took from `start` to `state` (`came`: each state's
    predecessor and the move that reached it; silent steps, None, left out)."""
    moves: list[Move] = []
    while state != start:
        state, move = came[state]
        if move is not None:
            moves.append(move)
    return tuple(reversed(moves))


PAIRED_STATES = 20_000
"""The most states `CanonicalChoice._paired` may reach for one variant (marking, position,
deviations not yet paired) before the alignment found without regard to pairs stands."""
PAIRED_DEVIATIONS = 4
"""The most deviations of an alignment that `CanonicalChoice._paired` searches again for
pairs: a swap or a task done late is two, and a case further off its SOP (most of the
random sequences of an SOP's tasks: 20 times the time of the first search) keeps the
first search's alignment."""


def _deviations(moves: tuple[Move, ...]) -> int:
    return sum(1 for m in moves if m.kind != "sync")


def _unpaired(moves: tuple[Move, ...]) -> int:
    """The deviations of `moves` that pair with none (a skip of a task with no event of it
    moved on the log alone, or such an event with no skip of its task)."""
    skipped = Counter(m.model for m in moves if m.kind == "model")
    inserted = Counter(m.log for m in moves if m.kind == "log")
    return sum(((skipped - inserted) + (inserted - skipped)).values())


def _canonical(choice: CanonicalChoice, found: Alignment) -> Alignment:
    """`found` (a deviating variant's optimal alignment) with the canonical choice's moves
    where it decides; its cost must be the engine's, or one of the two is wrong."""
    if found.cost is None or found.cost == 0:
        return found
    moves = choice.align(found.variant)
    if moves is None:
        return found
    cost = sum(1 for m in moves if m.kind != "sync")
    if cost != found.cost:
        raise RuntimeError(f"alignment of {found.variant!r}: the engine's optimal cost is "
                           f"{found.cost}, the canonical choice's {cost}")
    return Alignment(found.variant, moves, cost, found.worst_cost)


_R4PM_NAMESPACE = uuid.UUID("5d1c0b52-7a57-4b0e-9a41-2f1f3c5a7e10")
_R4PM_LOG = 10_000
"""r4pm takes one cost per kind of move. As in pm4py's standard cost function, a silent move
costs 1 (not 0) and a deviation at least 10,000, so that among alignments with the fewest
deviations the search prefers fewer silent steps (a much smaller search space). A deviation
must cost more than the silent steps of an optimal alignment, or the search would trade a
deviation for enough silent steps (a long trace through a loop with a silent redo): where
10,000 may not be enough for a variant, its search is run again with a dearer deviation
(`_R4pmEngine.align`), and the standard cost is counted from the moves."""

_R4PM_MAX_COST = 100_000_000
"""The dearest alignment (in r4pm's costs) the engine searches for again with a dearer
deviation: r4pm's search keeps a bucket per cost up to the alignment's (32 bytes each, 3.2 GB
here). A fixed 10,000 per deviation reaches it at 10,000 deviations."""


@dataclass
class _R4pmEngine:
    """The net in r4pm's form (ids are our place and transition names), built once per process."""

    net: WorkflowNet
    max_states: int
    model: dict[str, Any] = field(init=False)
    labels: dict[str, str | None] = field(init=False)
    model_only: int = field(init=False)
    choice: CanonicalChoice = field(init=False)

    def __post_init__(self) -> None:
        self.choice = CanonicalChoice(self.net)
        self.model, self.labels = to_r4pm(self.net)
        # The model alone (needed for every worst cost) gets at least the default bound.
        options = self._options()
        options["max_states"] = max(self.max_states, MAX_STATES_PER_VARIANT)
        try:
            empty = _r4pm().align_empty_trace(self.model, options)
        except TypeError as error:
            if "LimitReached" in str(error):
                raise ValueError(f"the model alone could not be aligned within "
                                 f"{options['max_states']:,} states (the search bound), so "
                                 "its worst costs are not known") from None
            raise ValueError(f"the net's final marking cannot be reached ({error})") from None
        self.model_only = sum(1 for m in empty["moves"] if self._visible_model_move(m))

    def _options(self, deviation: int = _R4PM_LOG) -> dict[str, Any]:
        return {"max_states": self.max_states,
                "cost_fn": {"log_move_cost": deviation, "model_move_cost": deviation,
                            "silent_move_cost": 1, "sync_move_cost": 0}}

    def _visible_model_move(self, move: dict[str, Any]) -> bool:
        body = move.get("ModelMove")
        return body is not None and self.labels[body["transition"]] is not None

    def align(self, variant: Variant) -> Alignment:
        worst = len(variant) + self.model_only
        silent_transitions = sum(1 for label in self.labels.values() if label is None)
        deviation = _R4PM_LOG
        while True:
            try:
                found = _r4pm().align_trace(self.model, list(variant), self._options(deviation))
            except TypeError as error:  # r4pm reports a failed search as TypeError(SearchError)
                if "LimitReached" in str(error):
                    return Alignment(variant, worst_cost=worst, bounded=True)
                raise
            moves, silent = self._moves(variant, found["moves"])
            cost = sum(1 for m in moves if m.kind != "sync")
            if cost * deviation + silent != int(found["cost"]):
                raise RuntimeError(f"r4pm alignment of {variant!r}: moves cost {cost} "
                                   f"deviations and {silent} silent steps, search reported "
                                   f"{found['cost']}")
            # An alignment with fewer deviations would need at least `deviation` silent
            # steps. One with the fewest silent steps has at most one run of them (each
            # bounded by the silent transitions, as `_Pm4pyEngine._base` reasons) per gap
            # between its other moves: its events plus at most `cost` model moves. Where
            # that is not below a deviation's cost, the search is run again with a dearer
            # deviation (the bucket queue of r4pm's search grows with the costs, so the
            # deviation is not made dear for every variant).
            needed = (len(variant) + cost + 1) * silent_transitions + 1
            if deviation >= needed:
                return _canonical(self.choice, Alignment(variant, tuple(moves), cost, worst))
            if cost * needed > _R4PM_MAX_COST:
                # Not shown optimal, and the search that could show it would not fit in
                # memory: the variant is bounded, never given a cost that may be too high.
                return Alignment(variant, worst_cost=worst, bounded=True)
            deviation = needed

    def _moves(self, variant: Variant, found: list[dict[str, Any]]) -> tuple[list[Move], int]:
        """r4pm's moves as ours (silent ones left out), and the number of silent ones."""
        moves: list[Move] = []
        silent = 0
        for move in found:
            if "SyncMove" in move:
                label = variant[move["SyncMove"]["trace_event_index"]]
                moves.append(Move(label, label))
            elif "LogMove" in move:
                moves.append(Move(variant[move["LogMove"]["trace_event_index"]], None))
            else:
                model = self.labels[move["ModelMove"]["transition"]]
                if model is not None:
                    moves.append(Move(None, model))
                else:
                    silent += 1
        return moves, silent


def _r4pm() -> Any:
    """r4pm's alignment bindings (typed with TypedDicts; we pass plain dicts)."""
    from r4pm.bindings.conformance.case_centric import alignments

    return alignments


def to_r4pm(net: WorkflowNet) -> tuple[dict[str, Any], dict[str, str | None]]:
    """The net as r4pm's Petri net dict, and the label of each r4pm transition id.

    r4pm wants UUIDs as ids: each place and transition gets a name-based (version 5) UUID of
    its own name, so the same net always converts to the same dict.
    """
    ids = {name: str(uuid.uuid5(_R4PM_NAMESPACE, name))
           for name in (*net.places, *(t.name for t in net.transitions))}
    transitions = {t.name for t in net.transitions}
    arcs = [{"from_to": {"type": "TransitionPlace" if a in transitions else "PlaceTransition",
                         "nodes": [ids[a], ids[b]]}, "weight": 1} for a, b in net.arcs]
    model = {"places": {ids[p]: {"id": ids[p]} for p in net.places},
             "transitions": {ids[t.name]: {"id": ids[t.name], "label": t.label}
                             for t in net.transitions},
             "arcs": arcs, "initial_marking": {ids[net.source]: 1},
             "final_markings": [{ids[net.sink]: 1}]}
    return model, {ids[t.name]: t.label for t in net.transitions}


def r4pm_available() -> bool:
    try:
        from r4pm.bindings.conformance.case_centric import alignments  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_engine(engine: str) -> str:
    """'auto' -> 'r4pm' when it imports, else 'pm4py'; an explicit name is checked."""
    if engine not in ENGINES:
        raise ValueError(f"unknown alignment engine {engine!r} (choose from {', '.join(ENGINES)})")
    if engine == "auto":
        return "r4pm" if r4pm_available() else "pm4py"
    if engine == "r4pm" and not r4pm_available():
        raise ValueError("alignment engine 'r4pm' is not installed (pip install r4pm)")
    return engine


_Engine = _Pm4pyEngine | _R4pmEngine


def _make_engine(net: WorkflowNet, engine: str, max_seconds: float,
                 max_states: int) -> _Engine:
    if engine == "r4pm":
        return _R4pmEngine(net, max_states)
    return _Pm4pyEngine(net, max_seconds)


_WORKER: _Engine | None = None


def _init_worker(net: WorkflowNet, engine: str, max_seconds: float, max_states: int) -> None:
    global _WORKER
    _WORKER = _make_engine(net, engine, max_seconds, max_states)


def _align_in_worker(variants: list[Variant]) -> list[Alignment]:
    assert _WORKER is not None
    return [_WORKER.align(v) for v in variants]


# --- exact replay of fitting variants -----------------------------------------------------------

MAX_REPLAY_MARKINGS = 20_000
"""Markings the replay may hold at once for one variant before it leaves the variant to the
search (it then costs time, never correctness)."""


class LanguageReplay:
    """Exact membership of variants in a safe net's language, without a search.

    A variant fits (optimal cost 0) iff some firing sequence of its labels, with silent
    transitions anywhere in between, leads from the source to exactly the sink. The replay
    follows every reachable marking at once: markings are bit sets in 64-bit words (nets of at
    most 64 places), a set of markings is a sorted numpy array, and each step (fire the label's
    transitions, then close under silent transitions) works on the whole array. Steps are
    cached by (set of markings, label), so variants that share a prefix share the work. A
    fitting variant's optimal alignment is all synchronous moves (silent moves are not listed),
    so the answer equals the search's. Only for safe nets: the first firing that would put a
    second token in a place switches the replay off for the net (`usable` becomes False) and
    every variant goes to the search; so do nets of more than 64 places.
    """

    def __init__(self, net: WorkflowNet, *, max_markings: int = MAX_REPLAY_MARKINGS) -> None:
        self.usable = len(net.places) <= 64
        bit, pre, post = _place_bits(net)
        self.by_label: dict[str, list[tuple[np.uint64, np.uint64]]] = {}
        self.silent: list[tuple[np.uint64, np.uint64]] = []
        if self.usable:
            for t in net.transitions:
                pair = (np.uint64(pre[t.name]), np.uint64(post[t.name]))
                if t.label is None:
                    self.silent.append(pair)
                else:
                    self.by_label.setdefault(t.label, []).append(pair)
        self.final = np.uint64(bit[net.sink]) if self.usable else np.uint64(0)
        self.max_markings = max_markings
        self._step: dict[tuple[bytes, str], np.ndarray | None] = {}
        self._start: np.ndarray | None = None
        if self.usable:
            self._start = self._close(np.array([bit[net.source]], dtype=np.uint64))

    def _fire(self, markings: np.ndarray, pre: np.uint64, post: np.uint64) -> np.ndarray:
        """Fire one transition in every marking that enables it (empty: none does)."""
        enabled = markings[(markings & pre) == pre]
        rest: np.ndarray = enabled & ~pre
        if (rest & post).any():
            self.usable = False  # a place would hold two tokens: not a safe net
        fired: np.ndarray = rest | post
        return fired

    def _close(self, markings: np.ndarray) -> np.ndarray | None:
        """The markings and all they reach by silent transitions; None past the cap."""
        seen = np.unique(markings)
        new = seen
        while new.size and self.usable:
            made = [self._fire(new, pre, post) for pre, post in self.silent]
            made = [m for m in made if m.size]
            if not made:
                break
            new = np.setdiff1d(np.unique(np.concatenate(made)), seen, assume_unique=True)
            seen = np.union1d(seen, new)
            if seen.size > self.max_markings:
                return None
        return seen

    def _advance(self, frontier: np.ndarray, label: str) -> np.ndarray | None:
        key = (frontier.tobytes(), label)
        if key in self._step:
            return self._step[key]
        made = [self._fire(frontier, pre, post) for pre, post in self.by_label.get(label, ())]
        made = [m for m in made if m.size]
        result = self._close(np.concatenate(made)) if made else np.empty(0, dtype=np.uint64)
        self._step[key] = result
        return result

    def fits(self, variant: Variant) -> bool | None:
        """True: in the language; False: not; None: not known (not a safe net of at most 64
        places, or too many markings at once)."""
        frontier = self._start
        for label in variant:
            if frontier is None or not self.usable:
                return None
            frontier = self._advance(frontier, label)
            if frontier is not None and not frontier.size:
                return False if self.usable else None
        if frontier is None or not self.usable:
            return None
        return bool((frontier == self.final).any())


# --- the public aligner -------------------------------------------------------------------------


class Aligner:
    """Aligns variants on one workflow net; results are cached per variant.

    `engine` is 'auto', 'r4pm' or 'pm4py' (see the module doc); `max_seconds` bounds the pm4py
    search per variant, `max_states` the r4pm search. With `replay_first` (the default), the
    variants that an exact replay shows to be in the model's language are not searched (see
    LanguageReplay); the results are the same.
    """

    def __init__(self, net: WorkflowNet, *, engine: str = "auto",
                 max_seconds: float = MAX_SECONDS_PER_VARIANT,
                 max_states: int = MAX_STATES_PER_VARIANT,
                 processes: int | None = None, parallel_from: int = PARALLEL_FROM,
                 replay_first: bool = True) -> None:
        self.net = net
        self.engine_name = resolve_engine(engine)
        self.replay_first = replay_first
        self._replay: LanguageReplay | None = None
        self.max_seconds = max_seconds
        self.max_states = max_states
        self.processes = processes if processes is not None else (os.cpu_count() or 1)
        self.parallel_from = parallel_from
        self._cache: dict[Variant, Alignment] = {}
        self._engine: _Engine | None = None

    @property
    def engine(self) -> _Engine:
        if self._engine is None:
            self._engine = _make_engine(self.net, self.engine_name, self.max_seconds,
                                        self.max_states)
        return self._engine

    def align(self, variants: Iterable[Sequence[str]]) -> dict[Variant, Alignment]:
        wanted = list(dict.fromkeys(tuple(v) for v in variants))
        todo = [v for v in wanted if v not in self._cache]
        if todo and self.replay_first:
            # Variants in the model's language need no search: cost 0, all moves synchronous.
            replay = self._replay = self._replay or LanguageReplay(self.net)
            fitting = [v for v in todo if replay.fits(v)]
            if fitting:
                model_only = self.engine.model_only
                for v in fitting:
                    self._cache[v] = Alignment(v, tuple(Move(a, a) for a in v), 0,
                                               len(v) + model_only)
                todo = [v for v in todo if v not in self._cache]
        if len(todo) >= self.parallel_from and self.processes > 1:
            chunks = [todo[i::self.processes * 4] for i in range(self.processes * 4)]
            from audit.forked import waited, workers_stopped

            # (interrupted: the workers, r4pm's or pm4py's searches, stopped, not waited for)
            with ProcessPoolExecutor(self.processes, initializer=_init_worker,
                                     initargs=(self.net, self.engine_name, self.max_seconds,
                                               self.max_states)) as pool, \
                    workers_stopped(pool):
                futures = [pool.submit(_align_in_worker, c) for c in chunks if c]
                for future in futures:  # (as pool.map, woken for a signal's handler)
                    self._cache.update((a.variant, a) for a in waited(future))
        else:
            for variant in todo:
                self._cache[variant] = self.engine.align(variant)
        return {v: self._cache[v] for v in wanted}


# --- token replay and precision -----------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    variant: Variant
    fits: bool
    fitness: float


def _event_log(traces: Iterable[Sequence[str]]) -> Any:
    """A pm4py EventLog of the traces; equal traces share one Trace object (pm4py's replay and
    precision read only the activities, so this saves building 100,000s of equal objects)."""
    from pm4py.objects.log.obj import Event, EventLog, Trace

    built: dict[tuple[str, ...], Any] = {}
    out = []
    for t in traces:
        key = tuple(t)
        trace = built.get(key)
        if trace is None:
            trace = built[key] = Trace([Event({"concept:name": a}) for a in key],
                                       attributes={"concept:name": str(len(built))})
        out.append(trace)
    return EventLog(out)


def token_replay(net: WorkflowNet, variants: Iterable[Sequence[str]]) -> dict[Variant, Replay]:
    """pm4py's token-based replay per variant: fast; `fits` is exact when True (a firing
    sequence was found), while a False may be a replay heuristic's miss on silent steps.
    pm4py's replay passes over an activity the net has no transition for and still calls
    the trace fit: a variant holding one never `fits` here."""
    from pm4py.algo.conformance.tokenreplay import algorithm as tbr

    from conformance.petri import to_pm4py

    wanted = list(dict.fromkeys(tuple(v) for v in variants))
    known = set(net.labels)
    pn, initial, final = to_pm4py(net)
    results = tbr.apply(_event_log(wanted), pn, initial, final,
                        parameters={"show_progress_bar": False})
    return {v: Replay(v, bool(r["trace_is_fit"]) and known.issuperset(v),
                      float(r["trace_fitness"]))
            for v, r in zip(wanted, results, strict=True)}


def precision(net: WorkflowNet, traces: Sequence[Sequence[str]] = (), *,
              variants: Mapping[tuple[str, ...], int] | None = None) -> float | None:
    """ETConformance precision (token-based, as pm4py's ETCONFORMANCE_TOKEN computes it) of a
    log (one trace per case) on the net; or of the log given as `variants` (each distinct
    trace and its number of cases, in the order they first appear), the same value without
    a trace per case.

    pm4py walks every event of every trace to collect the prefixes and how often each occurs;
    the same sums come from the distinct traces weighted by their number of cases, so the
    work grows with the variants, not the events (1M cases: one pass over 1M tuples instead
    of 7M events). Each prefix is replayed once with pm4py's token replay, as pm4py does.
    Where pm4py joins a prefix's labels with ',' and splits them again (a label holding a
    comma becomes two activities), prefixes here stay tuples; otherwise the value is pm4py's.
    """
    if variants is None:
        variants = {}
        for trace in traces:
            key = tuple(trace)
            variants[key] = variants.get(key, 0) + 1
    n_cases = sum(variants.values())
    if not n_cases:
        return None
    first_import = "pm4py.algo.conformance.tokenreplay.algorithm" not in sys.modules
    from pm4py.algo.conformance.tokenreplay import algorithm as executor
    from pm4py.algo.conformance.tokenreplay.variants import token_replay as replay_variant
    from pm4py.objects.log.obj import Event, EventLog, Trace
    from pm4py.objects.petri_net import semantics
    from pm4py.objects.petri_net.utils.align_utils import (
        get_visible_transitions_eventually_enabled_by_marking as eventually_enabled,
    )

    from conformance.petri import to_pm4py

    if first_import:
        # pm4py's first import (matplotlib's parsers) leaves exceptions in reference cycles
        # whose tracebacks hold every frame of the stack that imported it, and with them the
        # locals of our callers (check_conformance's per-event columns, a rule's frames):
        # 0.4-0.5 GB at 1M cases kept until the collector runs, which check_conformance
        # pauses. Collected once, here, while those frames are still running.
        gc.collect()
    following: dict[tuple[str, ...], set[str]] = {}  # prefix -> the labels seen after it
    weight: dict[tuple[str, ...], int] = {}  # prefix -> how many traces pass through it
    for variant, cases in variants.items():
        for i in range(1, len(variant)):
            prefix = variant[:i]
            following.setdefault(prefix, set()).add(variant[i])
            weight[prefix] = weight.get(prefix, 0) + cases
    pn, initial, final = to_pm4py(net)
    # pm4py replays every prefix on its own: a variant of n events is n - 1 replays of up to
    # n events, n^2 / 2 events in all (a case of 10,000 events: 50M pm4py events, more memory
    # than a machine has). Token replay reads a trace event by event without looking ahead,
    # so replaying a prefix is replaying the start of its variant: each variant is replayed
    # once, and the marking a prefix reaches is the net's initial marking with the
    # transitions the variant's replay fired for the prefix's events (each event in the
    # model: the silent ones walked to enable its transition, then that transition; an event
    # the model lacks fires none). A replay that stops unfit stops at the first event whose
    # transition could not be enabled: that prefix, and every longer one, does not fit.
    longer = [variant for variant in variants if len(variant) > 1]
    logged = EventLog([Trace([Event({"concept:name": a}) for a in variant])
                       for variant in longer])
    Parameters = replay_variant.Parameters
    replayed = executor.apply(logged, pn, initial, final,
                              variant=executor.Variants.TOKEN_REPLAY,
                              parameters={Parameters.SHOW_PROGRESS_BAR: False,
                                          Parameters.CONSIDER_REMAINING_IN_FITNESS: False,
                                          Parameters.TRY_TO_REACH_FINAL_MARKING_THROUGH_HIDDEN:
                                              False,
                                          Parameters.STOP_IMMEDIATELY_UNFIT: True,
                                          Parameters.WALK_THROUGH_HIDDEN_TRANS: True,
                                          Parameters.CLEANING_TOKEN_FLOOD: False,
                                          Parameters.ACTIVITY_KEY: "concept:name"})
    in_model = {t.label for t in pn.transitions if t.label is not None}
    activated_after: dict[tuple[str, ...], set[str]] = {}  # fitting prefix -> enabled labels
    for variant, result in zip(longer, replayed, strict=True):
        fired = result["activated_transitions"]
        marking, k = copy(initial), 0
        for i in range(1, len(variant)):
            if variant[i - 1] in in_model:
                while k < len(fired) and fired[k].label is None:
                    marking = semantics.execute(fired[k], pn, marking)
                    k += 1
                if k == len(fired):  # the replay stopped unfit at this event
                    break
                marking = semantics.execute(fired[k], pn, marking)
                k += 1
            prefix = variant[:i]
            if prefix not in activated_after:
                activated_after[prefix] = {
                    t.label for t in eventually_enabled(pn, marking) if t.label is not None}
    # The empty prefix: what the initial marking enables against the traces' first labels.
    starts = {variant[0] for variant in variants if variant}
    enabled_at_start = {t.label for t in eventually_enabled(pn, initial)}
    sum_at = n_cases * len(enabled_at_start)
    sum_ee = n_cases * len(enabled_at_start - starts)
    for prefix, after in following.items():
        activated = activated_after.get(prefix)
        if activated is None:  # a prefix that does not fit
            continue
        sum_at += len(activated) * weight[prefix]
        sum_ee += len(activated - after) * weight[prefix]
    return 1.0 - sum_ee / sum_at if sum_at > 0 else 1.0


def log_fitness(alignments: Iterable[tuple[Alignment, int]]) -> float | None:
    """pm4py's alignment-based log fitness: 1 - sum of costs / sum of worst costs, over
    (alignment, number of cases); bounded variants count with their worst cost."""
    cost = worst = 0
    for alignment, cases in alignments:
        cost += (alignment.worst_cost if alignment.cost is None else alignment.cost) * cases
        worst += alignment.worst_cost * cases
    if worst == 0:
        return None
    return 1.0 - cost / worst
