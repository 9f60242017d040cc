"""Optimal alignments and token replay of activity sequences on a workflow net.

Work is done once per unique variant (a tuple of task labels) and cached; many variants are
aligned in a process pool. The search engine is pm4py's A* on the state equation, run on our
converted net (`conformance.petri.to_pm4py`) with the standard costs: 1 per log move and per
move on a visible model transition, 0 for synchronous and silent moves. pm4py is imported
lazily, inside the functions that need it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from conformance.petri import WorkflowNet

Variant = tuple[str, ...]

MAX_SECONDS_PER_VARIANT = 10.0
"""Search bound: a variant whose alignment takes longer is marked `bounded`, never fitting."""
PARALLEL_FROM = 64
"""Variants to align before a process pool pays for its start-up (about 2 s per worker to
import pm4py)."""
_BASE = 10_000_000  # cost of one log or visible model move (pm4py's default is 10,000)
_TASK_STEP = 1_000  # tie-breaker per task rank (model moves); log moves add their position


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
class _Engine:
    """pm4py's net and parameters for one workflow net, built once per process."""

    net: WorkflowNet
    max_seconds: float
    pm: tuple[Any, Any, Any] = field(init=False)
    model_only: int = field(init=False)
    model_costs: dict[Any, int] = field(init=False)
    sync_costs: dict[Any, int] = field(init=False)

    def __post_init__(self) -> None:
        from conformance.petri import to_pm4py

        self.pm = to_pm4py(self.net)
        net = self.pm[0]
        # Deterministic tie-breaking. pm4py's A* picks among equally cheap alignments by the
        # order of hash-based sets, which differs from process to process, so the events a
        # finding names (and its fingerprint) could change between runs. Every visible move
        # costs _BASE plus a small, fixed amount (by task name for model moves, by position
        # for log moves); the tie-breakers of one alignment add up to far less than _BASE, so
        # an alignment with fewer deviations always wins and the standard cost is unchanged.
        labels = sorted({str(t.label) for t in net.transitions if t.label is not None})
        rank = {label: i for i, label in enumerate(labels)}
        self.model_costs = {t: (_BASE + _TASK_STEP * rank[str(t.label)]
                                if t.label is not None else 1) for t in net.transitions}
        self.sync_costs = {t: 0 for t in net.transitions if t.label is not None}
        empty = self._search(())
        if empty is None:
            raise ValueError("the net's final marking cannot be reached")
        self.model_only = sum(1 for _, model in empty["alignment"] if model not in (">>", None))

    def _search(self, variant: Variant) -> dict[str, Any] | None:
        from pm4py.algo.conformance.alignments.petri_net import algorithm as alignments
        from pm4py.objects.log.obj import Event, Trace

        trace = Trace([Event({"concept:name": label}) for label in variant])
        params = alignments.Parameters
        parameters = {params.PARAM_MAX_ALIGN_TIME_TRACE: self.max_seconds,
                      params.ENABLE_BEST_WORST_COST: False,
                      params.PARAM_MODEL_COST_FUNCTION: self.model_costs,
                      params.PARAM_SYNC_COST_FUNCTION: self.sync_costs,
                      params.PARAM_TRACE_COST_FUNCTION: [_BASE + p for p in range(len(variant))]}
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
        return Alignment(variant, tuple(moves), cost, worst)


_WORKER: _Engine | None = None


def _init_worker(net: WorkflowNet, max_seconds: float) -> None:
    global _WORKER
    _WORKER = _Engine(net, max_seconds)


def _align_in_worker(variants: list[Variant]) -> list[Alignment]:
    assert _WORKER is not None
    return [_WORKER.align(v) for v in variants]


# --- the public aligner -------------------------------------------------------------------------


class Aligner:
    """Aligns variants on one workflow net; results are cached per variant."""

    def __init__(self, net: WorkflowNet, *, max_seconds: float = MAX_SECONDS_PER_VARIANT,
                 processes: int | None = None, parallel_from: int = PARALLEL_FROM) -> None:
        self.net = net
        self.max_seconds = max_seconds
        self.processes = processes if processes is not None else (os.cpu_count() or 1)
        self.parallel_from = parallel_from
        self._cache: dict[Variant, Alignment] = {}
        self._engine: _Engine | None = None

    @property
    def engine(self) -> _Engine:
        if self._engine is None:
            self._engine = _Engine(self.net, self.max_seconds)
        return self._engine

    def align(self, variants: Iterable[Sequence[str]]) -> dict[Variant, Alignment]:
        wanted = list(dict.fromkeys(tuple(v) for v in variants))
        todo = [v for v in wanted if v not in self._cache]
        if len(todo) >= self.parallel_from and self.processes > 1:
            chunks = [todo[i::self.processes * 4] for i in range(self.processes * 4)]
            with ProcessPoolExecutor(self.processes, initializer=_init_worker,
                                     initargs=(self.net, self.max_seconds)) as pool:
                for done in pool.map(_align_in_worker, [c for c in chunks if c]):
                    self._cache.update((a.variant, a) for a in done)
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
    from pm4py.objects.log.obj import Event, EventLog, Trace

    return EventLog([Trace([Event({"concept:name": a}) for a in t],
                           attributes={"concept:name": str(i)})
                     for i, t in enumerate(traces)])


def token_replay(net: WorkflowNet, variants: Iterable[Sequence[str]]) -> dict[Variant, Replay]:
    """pm4py's token-based replay per variant: fast; `fits` is exact when True (a firing
    sequence was found), while a False may be a replay heuristic's miss on silent steps."""
    from pm4py.algo.conformance.tokenreplay import algorithm as tbr

    from conformance.petri import to_pm4py

    wanted = list(dict.fromkeys(tuple(v) for v in variants))
    pn, initial, final = to_pm4py(net)
    results = tbr.apply(_event_log(wanted), pn, initial, final,
                        parameters={"show_progress_bar": False})
    return {v: Replay(v, bool(r["trace_is_fit"]), float(r["trace_fitness"]))
            for v, r in zip(wanted, results, strict=True)}


def precision(net: WorkflowNet, traces: Sequence[Sequence[str]]) -> float | None:
    """ETConformance precision (pm4py, token-based) of a log (one trace per case) on the net."""
    if not traces:
        return None
    from pm4py.algo.evaluation.precision import algorithm as precision_evaluator

    from conformance.petri import to_pm4py

    pn, initial, final = to_pm4py(net)
    value = precision_evaluator.apply(_event_log(traces), pn, initial, final,
                                      variant=precision_evaluator.Variants.ETCONFORMANCE_TOKEN,
                                      parameters={"show_progress_bar": False})
    return float(value)


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
