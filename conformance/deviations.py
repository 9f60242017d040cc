"""Per-case conformance of a canonical log against the SOP of each case's channel.

Each case is projected on SOP task names (the policy's label mapping; the purchase and
unmapped labels are left out), its variant is aligned on the channel's workflow net, and the
alignment is read as deviations with the events involved:

- a move on a visible model task alone: the task was **skipped**;
- a log move alone: the activity was **inserted** (unexpected);
- a task both skipped and inserted in one case: **wrong-order**, each skip of the task paired
  with one of its insertions, in order (the first skip with the first insertion); the skips
  or insertions of the task left over are skipped or inserted.

A case is aligned on the SOP of the channel of its first judged event: the rules
(`CaseFacts.case_channel`) give every event its case's channel, the first its events state,
also to an event stating none or another one. Cases whose channel has no SOP (cases without
a channel: unless one SOP is set for all, '*'), or with no SOP task at all, are not judged.

A case **running at the clock** has not reached an end of its SOP and is still active: its
optimal alignment ends with moves on visible model tasks alone (tasks after its last event
that it has not done), and its last event is less than the policy's
`conformance.running_for` before the audit's clock (`active`, told by the caller). Those
trailing model moves are not due yet: its alignment is cut before them (`running_alignment`:
the same moves and worst cost, without the trailing model moves, its cost less one per move
cut), so they are no skipped task and do not lower its fitness, for every reader of the
result (the CF rules, the reports' SOP overlay, the per-channel fitness). A model move before
its last event stays a skipped task. An open case idle longer than `running_for`, or a case
whose alignment ends with an event, is judged as ended: its missing tasks are skipped.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, ItemsView, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from audit.canonical import arrow_array, filled_text
from audit.errors import InputError
from audit.gcpause import gc_paused
from conformance.align import (
    MAX_STATES_PER_VARIANT,
    Aligner,
    Alignment,
    Variant,
    log_fitness,
    precision,
    token_replay,
)
from conformance.bpmn import Fingerprint, clean_name
from conformance.petri import WorkflowNet

CASE = "case:concept:name"
ACTIVITY = "concept:name"
EVENT_ID = "event:id"
CHANNEL = "refund:channel"
KINDS = ("skipped", "inserted", "wrong-order")
COLUMNS = (CASE, ACTIVITY, EVENT_ID, CHANNEL)
"""The columns of the log check_conformance reads."""


@dataclass(frozen=True)
class Deviation:
    kind: str
    """skipped | inserted | wrong-order."""
    task: str
    event_ids: tuple[str, ...]
    """Inserted or misplaced: the events themselves; skipped: the events around the gap."""


class EventIds:
    """The event ids of the judged events of many cases, grouped by case: the log's own id
    column (one Arrow string array, shared with the log, not copied) and the position in it
    of each judged event, case after case; a case holds where its run starts (its variant's
    length gives the end). The ids of a case are made Python strings only when asked for."""

    __slots__ = ("positions", "values")

    def __init__(self, values: Any, positions: npt.NDArray[np.integer[Any]]) -> None:
        self.values = values
        self.positions = positions

    def __len__(self) -> int:
        return len(self.positions)

    def of(self, start: int, end: int) -> tuple[str, ...]:
        return tuple(self.values.take(pa.array(self.positions[start:end])).to_pylist())

    def many(self, bounds: list[tuple[int, int]]) -> list[tuple[str, ...]]:
        """`of(start, end)` for each of `bounds`, in one take (a take per case costs more
        than its handful of ids: 1.5 s for the 61k deviating cases of a 1M-case log)."""
        if not bounds:
            return []
        at = np.concatenate([self.positions[s:e] for s, e in bounds])
        texts = self.values.take(pa.array(at)).to_pylist()
        out: list[tuple[str, ...]] = []
        done = 0
        for s, e in bounds:
            out.append(tuple(texts[done:done + e - s]))
            done += e - s
        return out


# One per judged case (1M at 1M cases): slotted, and not frozen, since a frozen dataclass is
# made field by field through object.__setattr__ (a million: 1.7 -> 0.75 s). Not changed
# once made: the rules and the reports only read it.
@dataclass(eq=False, slots=True)
class CaseConformance:
    case_id: str
    channel: str
    variant: Variant
    """The case's SOP tasks in order; cases of one variant share one tuple."""
    alignment: Alignment
    deviations: tuple[Deviation, ...]
    ids: EventIds = field(repr=False)
    start: int = field(default=0, repr=False)
    """Where the case's events start in `ids` (they end at start + len(variant))."""
    running: bool = False
    """Running at the clock (see the module's docstring): `alignment` is its variant's
    alignment cut before the trailing model moves, which are not due yet."""

    def _key(self) -> tuple[Any, ...]:
        return (self.case_id, self.channel, self.variant, self.event_ids, self.alignment,
                self.deviations, self.running)

    def __eq__(self, other: object) -> bool:
        """Equal cases: same id, channel, variant, event ids, alignment and deviations
        (wherever their ids are stored)."""
        if not isinstance(other, CaseConformance):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.case_id, self.channel, self.variant))

    @property
    def event_ids(self) -> tuple[str, ...]:
        """The ids of the case's judged events, in the order of `variant`."""
        return self.ids.of(self.start, self.start + len(self.variant))

    @property
    def fitness(self) -> float | None:
        return self.alignment.fitness

    @property
    def bounded(self) -> bool:
        return self.alignment.bounded


@dataclass
class ChannelConformance:
    sop: str
    cases: int
    variants: int
    fitness: float | None
    precision: float | None
    fitting_cases: int
    bounded_variants: int
    seconds: float
    running_cases: int = 0
    """Cases running at the clock (see the module's docstring)."""

    def as_dict(self) -> dict[str, Any]:
        """The channel's outcome, as the run's summary shows it: no `seconds` (a
        measurement, which the manifest holds), so the same input gives the same summary."""
        return {"sop": self.sop, "cases": self.cases, "variants": self.variants,
                "fitness": None if self.fitness is None else round(self.fitness, 6),
                "precision": None if self.precision is None else round(self.precision, 6),
                "fitting_cases": self.fitting_cases,
                "bounded_variants": self.bounded_variants,
                "running_cases": self.running_cases}


@dataclass
class ConformanceResult:
    cases: Mapping[str, CaseConformance] = field(default_factory=dict)
    """Every judged case by its id: from check_conformance a JudgedCases (an empty dict
    where no case is judged); the Dask engine combines its parts into a dict."""
    channels: dict[str, ChannelConformance] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {channel: c.as_dict() for channel, c in sorted(self.channels.items())}

    def running_cases(self) -> int:
        """The cases running at the clock, over every channel."""
        return sum(c.running_cases for c in self.channels.values())

    def running_case_ids(self) -> list[str]:
        """The ids of the cases running at the clock (their alignment cut: see the module's
        docstring), in the order of `cases`: findings.json's `running_cases`."""
        if isinstance(self.cases, JudgedCases):
            return self.cases.running_ids()
        return [case_id for case_id, case in self.cases.items() if case.running]

    def seconds(self) -> dict[str, float]:
        """Per channel, the seconds its conformance check took."""
        return {channel: round(c.seconds, 3) for channel, c in sorted(self.channels.items())}


class JudgedCases(Mapping[str, "CaseConformance"]):
    """The judged cases of a conformance result by case id, in the result's order (channel
    by channel, each channel's cases in the order they appear), held as columns: per case the
    number of its id, its channel, its variant, its alignment and where its events start, and
    the deviations of the cases that have any (about one in ten). A CaseConformance is made
    when a case is read and not kept: a million of them, their ids as Python strings and the
    dict holding them cost about 0.25 GB at 1M cases, held from the first CF rule to the end
    of the reports. The rules and the reports read the cases through `deviating`, `unfit`
    and `alignment_counts`, which make none for the cases they do not return."""

    def __init__(self, names: pa.Array, ids: EventIds, channels: list[str],
                 variants: list[Variant], alignments: list[Alignment],
                 columns: Mapping[str, npt.NDArray[np.integer[Any]]],
                 deviations: dict[int, tuple[Deviation, ...]],
                 cut: Sequence[bool] = ()) -> None:
        self._names = names  # the distinct case ids (Arrow strings), by the "name" column
        self._ids = ids
        self._channels = channels
        self._variants = variants
        self._alignments = alignments  # per (channel, variant) aligned: by "alignment"
        # per alignment: whether it is a running case's cut one (none: no case is running)
        self._cut = list(cut) or [False] * len(alignments)
        self._name = columns["name"]
        self._channel = columns["channel"]
        self._variant = columns["variant"]
        self._alignment = columns["alignment"]
        self._start = columns["start"]
        self._deviations = deviations  # by row
        self._rows: dict[str, int] | None = None  # case id -> row, made when first asked

    def __len__(self) -> int:
        return len(self._name)

    def _case_ids(self, rows: npt.NDArray[np.integer[Any]] | None = None) -> list[str]:
        codes = self._name if rows is None else self._name[rows]
        ids: list[str] = self._names.take(pa.array(codes)).to_pylist()
        return ids

    def _row(self, case_id: object) -> int | None:
        if not isinstance(case_id, str):
            return None
        if self._rows is None:
            self._rows = {name: row for row, name in enumerate(self._case_ids())}
        return self._rows.get(case_id)

    def __getitem__(self, case_id: str) -> CaseConformance:
        row = self._row(case_id)
        if row is None:
            raise KeyError(case_id)
        return self._made(row, case_id)

    def __contains__(self, case_id: object) -> bool:
        return self._row(case_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._case_ids())

    def _made(self, row: int, case_id: str) -> CaseConformance:
        return CaseConformance(
            case_id, self._channels[self._channel[row]], self._variants[self._variant[row]],
            self._alignments[self._alignment[row]], self._deviations.get(row, ()),
            self._ids, int(self._start[row]), self._cut[self._alignment[row]])

    def _cases(self, rows: npt.NDArray[np.integer[Any]] | None = None,
               ) -> Iterator[CaseConformance]:
        """The cases of `rows` (all when None), in order, made one at a time."""
        if rows is None:
            rows = np.arange(len(self))
        yield from map(self._made, rows.tolist(), self._case_ids(rows))

    def values(self) -> ValuesView[CaseConformance]:
        return _Values(self)

    def items(self) -> ItemsView[str, CaseConformance]:
        return _Items(self)

    def running_ids(self) -> list[str]:
        """The ids of the cases running at the clock (their alignment a cut one), in order,
        read by columns (no CaseConformance made)."""
        if not any(self._cut):
            return []
        cut = np.array(self._cut, dtype=bool)
        return self._case_ids(np.flatnonzero(cut[self._alignment]))

    def deviating(self) -> list[CaseConformance]:
        """The cases with a deviation, in order."""
        return list(self._cases(np.array(sorted(self._deviations), dtype=np.int64)))

    def unfit(self, threshold: float | None) -> list[CaseConformance]:
        """The cases whose alignment hit the search bound or whose fitness is below
        `threshold` (None: the bounded ones alone), in order."""
        flagged = np.array([a.bounded or (threshold is not None and a.fitness is not None
                                          and a.fitness < threshold)
                            for a in self._alignments] + [False], dtype=bool)
        return list(self._cases(np.flatnonzero(flagged[self._alignment])))

    def alignment_counts(self) -> list[tuple[str, Alignment, int]]:
        """Per channel and alignment: how many cases have it, in the order each first
        appears (the cases of one variant in one channel share one alignment, the running
        ones among them another: their variant's cut)."""
        if not len(self):
            return []
        present, first, counts = np.unique(self._alignment, return_index=True,
                                           return_counts=True)
        order = np.argsort(first, kind="stable")
        channel_of = self._channel[first[order]]
        return [(self._channels[c], self._alignments[a], n) for c, a, n in zip(
            channel_of.tolist(), present[order].tolist(), counts[order].tolist(), strict=True)]


class _Values(ValuesView[CaseConformance]):
    _mapping: JudgedCases

    def __iter__(self) -> Iterator[CaseConformance]:
        return self._mapping._cases()


class _Items(ItemsView[str, CaseConformance]):
    _mapping: JudgedCases

    def __iter__(self) -> Iterator[tuple[str, CaseConformance]]:
        return ((case.case_id, case) for case in self._mapping._cases())


def deviating_cases(cases: Mapping[str, CaseConformance]) -> list[CaseConformance]:
    """The cases with a deviation, in order (from any mapping of cases, by columns when it
    is a JudgedCases)."""
    if isinstance(cases, JudgedCases):
        return cases.deviating()
    return [case for case in cases.values() if case.deviations]


def alignment_counts(cases: Mapping[str, CaseConformance]
                     ) -> list[tuple[str, Alignment, int]]:
    """Per channel and alignment: how many cases have it, in the order each first appears
    (from any mapping of cases, by columns when it is a JudgedCases; cases of one variant
    in one channel share one alignment object)."""
    if isinstance(cases, JudgedCases):
        return cases.alignment_counts()
    counted: Counter[tuple[str, int]] = Counter()
    one: dict[int, Alignment] = {}
    for case in cases.values():
        counted[case.channel, id(case.alignment)] += 1
        one.setdefault(id(case.alignment), case.alignment)
    return [(channel, one[key], n) for (channel, key), n in counted.items()]


def unfit_cases(cases: Mapping[str, CaseConformance],
                threshold: float | None) -> list[CaseConformance]:
    """The cases whose alignment hit the search bound or whose fitness is below `threshold`
    (None: the bounded ones alone), in order."""
    if isinstance(cases, JudgedCases):
        return cases.unfit(threshold)
    return [case for case in cases.values() if case.bounded or (
        threshold is not None and case.fitness is not None and case.fitness < threshold)]


# --- SOP models, read once per file ------------------------------------------------------------




def _fingerprint(path: Path) -> Fingerprint:
    """What a cached reading of the BPMN file `path` depends on (`file_fingerprint`)."""
    from conformance.bpmn import file_fingerprint

    return file_fingerprint(path)


@lru_cache(maxsize=32)
def _net(path: str, unchanged: Fingerprint, process: str | None) -> WorkflowNet:
    from conformance.petri import bpmn_to_workflow_net

    conversion = bpmn_to_workflow_net(path, process=process)
    _NOTES[(path, unchanged, process)] = tuple(conversion.notes)
    if conversion.net is None:
        reasons = "; ".join(f"{r.element_id}{r.located()}: {r.reason}"
                            for r in conversion.refused)
        first = conversion.refused[0] if conversion.refused else None
        raise InputError(f"the SOP cannot be converted to a workflow net ({reasons})",
                         file=path, field=None if first is None else first.element_id,
                         line=None if first is None or first.file is not None else first.line)
    if conversion.soundness is not None and conversion.soundness.verdict == "unsound":
        # A net that can deadlock or leave tokens behind turns runs the SOP allows into
        # deviations (and the reverse): findings against it would not be the SOP's.
        problems = "; ".join(conversion.soundness.problems[:3])
        raise InputError(f"the SOP converts to an unsound workflow net ({problems}); "
                         "`refund-audit model inspect` shows it", file=path)
    return conversion.net


_NOTES: dict[tuple[str, Fingerprint, str | None], tuple[str, ...]] = {}
"""The notes of each conversion `_net` made (as long as its net is cached, and after)."""


def sop_notes(path: Path, process: str | None = None) -> tuple[str, ...]:
    """How the SOP was read: the notes of its conversion (`model inspect`'s), less the one
    on the pool chosen among several (`sop_choice`, told as a warning)."""
    from conformance.bpmn import CHOOSE_HINT

    unchanged = _fingerprint(path)
    _net(str(path), unchanged, process)
    notes = _NOTES.get((str(path), unchanged, process), ())
    return tuple(n for n in notes if not n.endswith(CHOOSE_HINT))


def sop_net(path: Path, process: str | None = None) -> WorkflowNet:
    """The workflow net of a BPMN file, or of its process (or pool) `process` (cached while
    the file and the .bpmn files beside it are unchanged). An unknown `process` is an
    InputError naming the processes."""
    return _net(str(path), _fingerprint(path), process)


@lru_cache(maxsize=32)
def _choice(path: str, unchanged: Fingerprint) -> str | None:
    from conformance.bpmn import read_bpmn

    return read_bpmn(path).choice


def sop_choice(path: Path) -> str | None:
    """Where the BPMN file holds several candidate processes (a collaboration of pools):
    the reader's note saying which one it takes when none is named; else None."""
    return _choice(str(path), _fingerprint(path))


@lru_cache(maxsize=32)
def _lanes(path: str, unchanged: Fingerprint, process: str | None
           ) -> dict[str, tuple[str, ...]]:
    from conformance.bpmn import read_bpmn

    model = read_bpmn(path, process=process)
    roles: dict[str, set[str]] = {}
    for task in model.tasks.values():
        # Every lane set counts (any of its innermost lanes may perform the task).
        # (An unnamed lane outside any named one gives no role.)
        for lane in task.innermost:
            role = model.lanes[lane].role
            if role is not None:
                roles.setdefault(task.name, set()).add(role)
    return {name: tuple(sorted(r)) for name, r in roles.items()}


@lru_cache(maxsize=32)
def _task_labels(path: str, unchanged: Fingerprint, process: str | None) -> tuple[str, ...]:
    from conformance.bpmn import read_bpmn

    return tuple(read_bpmn(path, process=process).task_labels())


def sop_task_labels(path: Path, process: str | None = None) -> tuple[str, ...]:
    """The distinct task names of a BPMN file's process (or pool) `process` where named, as
    the log's labels are matched to them (cached as `sop_net`)."""
    return _task_labels(str(path), _fingerprint(path), process)


def lane_roles(path: Path, process: str | None = None) -> dict[str, tuple[str, ...]]:
    """SOP task name -> the role keys of the lanes holding it (e.g. 'supervisor'), in the
    file's process (or pool) `process` where named."""
    return _lanes(str(path), _fingerprint(path), process)


# --- reading an alignment -----------------------------------------------------------------------


def running_alignment(alignment: Alignment) -> Alignment | None:
    """The alignment of a case of this variant running at the clock: `alignment` cut before
    its trailing moves on visible model tasks (the tasks after the case's last event: not
    due yet), its cost less one per move cut, over the same worst cost; so a running case's
    fitness is 1 - (its alignment's cost without the trailing model moves) / (the worst
    cost). None where nothing is cut: the alignment ends with an event (a move on the log
    or a synchronous one), or is bounded (never reported as fitting). Worked out once per
    variant (and channel)."""
    if alignment.bounded or alignment.cost is None:
        return None
    moves = alignment.moves
    kept = len(moves)
    while kept and moves[kept - 1].kind == "model":
        kept -= 1
    if kept == len(moves):
        return None
    return Alignment(alignment.variant, moves[:kept], alignment.cost - (len(moves) - kept),
                     alignment.worst_cost)


DeviationPlan = tuple[tuple[str, str, tuple[int, ...], bool], ...]
"""Per deviation of an alignment: kind, task, the positions of its events among the variant's
events, and whether repeated ids are kept once (the events around skipped steps)."""


def deviation_plan(alignment: Alignment) -> DeviationPlan:
    """Where the deviations of an alignment are among its variant's events: the same for
    every case of the variant, so worked out once per variant."""
    skipped: dict[str, list[int]] = {}
    inserted: dict[str, list[int]] = {}
    position = 0
    for move in alignment.moves:
        if move.kind == "model":
            assert move.model is not None
            skipped.setdefault(move.model, []).append(position)
            continue
        if move.kind == "log":
            assert move.log is not None
            inserted.setdefault(move.log, []).append(position)
        position += 1
    plan: list[tuple[str, str, tuple[int, ...], bool]] = []
    for task in sorted(set(skipped) | set(inserted)):
        gaps, events = skipped.get(task, []), inserted.get(task, [])
        # Each skip of a task pairs with one insertion of it, in order: a pair is the task
        # done elsewhere (wrong order). Skips and insertions left over are their own.
        paired = min(len(gaps), len(events))
        if paired:
            plan.append(("wrong-order", task, tuple(events[:paired]), False))
        if len(events) > paired:
            plan.append(("inserted", task, tuple(events[paired:]), False))
        if len(gaps) > paired:  # the events on either side of each gap
            around = [p for gap in gaps[paired:]
                      for p in range(max(gap - 1, 0), min(gap + 1, position))]
            plan.append(("skipped", task, tuple(around), True))
    return tuple(plan)


def planned_deviations(plan: DeviationPlan,
                       event_ids: Sequence[str]) -> tuple[Deviation, ...]:
    """The deviations of a plan with the ids of one case's events."""
    out: list[Deviation] = []
    for kind, task, positions, once in plan:
        ids = [event_ids[p] for p in positions]
        out.append(Deviation(kind, task, tuple(dict.fromkeys(ids)) if once else tuple(ids)))
    return tuple(out)


def deviations_of(alignment: Alignment, event_ids: tuple[str, ...]) -> tuple[Deviation, ...]:
    """The deviations an alignment shows, with the ids of the variant's events."""
    return planned_deviations(deviation_plan(alignment), event_ids)


# --- the log -----------------------------------------------------------------------------------


@gc_paused  # a list and a tuple per case, none in cycles (audit.gcpause)
def check_conformance(events: pd.DataFrame, tasks: Mapping[str, str],
                      sop_for: Callable[[str], Path | None], *, mode: str = "alignments",
                      max_seconds: float = 10.0, with_precision: bool = True,
                      processes: int | None = None, engine: str = "auto",
                      max_states: int = MAX_STATES_PER_VARIANT,
                      process_for: Callable[[str], str | None] | None = None,
                      active: npt.NDArray[np.bool_] | None = None
                      ) -> ConformanceResult:
    """Align every judged case of `events` on its channel's SOP (each case's events in time
    order; the cases need not come grouped).

    `tasks` maps log labels to SOP task names (labels absent from it are left out, as are
    events without a case id);
    `sop_for` gives the BPMN file of a channel, or None; `process_for` the process (or
    pool) of that file to read, where the policy names one (`FILE#PROCESS`);
    `active`, per event of `events` (in its order), whether the event's case is still active
    at the clock (its last event less than `conformance.running_for` before it): such a case
    whose alignment ends with model moves is running, and its alignment is cut before them
    (see the module's docstring). None: every case is judged as ended.
    """
    if active is not None and len(active) != len(events):
        raise ValueError(f"active: {len(active)} values for {len(events)} events")
    columns = [c for c in COLUMNS if c in events.columns]
    # An event without a case id is in no case: not judged (all such events made one case
    # named "<NA>" before, beside any case of that name).
    judged = (events[ACTIVITY].isin(list(tasks)).to_numpy(dtype=bool)
              & events[CASE].notna().to_numpy(dtype=bool))
    kept = events.loc[judged, [c for c in columns if c != EVENT_ID]]
    result = ConformanceResult()
    if kept.empty:
        return result
    # Each label's task once, then per event by its label's code (not a lookup per event).
    codes, distinct = pd.factorize(kept[ACTIVITY])
    # (A task name as the SOP's are read: whitespace runs as one space.)
    task_of_label, task_names = pd.factorize(
        np.array([clean_name(str(tasks[label])) for label in distinct], dtype=object))
    task_col = task_of_label[codes]  # per event, the number of its task in `task_names`
    # The events' own id column (no copy of the judged ids: 200 MB at 1M cases, held with
    # the result for the reports) and where each judged event is in it.
    eids = _arrow_strings(events[EVENT_ID])
    positions: npt.NDArray[np.integer[Any]] = np.flatnonzero(judged)
    if len(events) < 2**31:
        positions = positions.astype(np.int32)
    # The case ids once per case, not per event (1M cases, 7M events), as Arrow strings:
    # made Python strings only for the cases read.
    cases = kept[CASE]
    if isinstance(cases.dtype, pd.CategoricalDtype):  # numbered by their codes: no text
        case_codes, seen = pd.factorize(cases.cat.codes.to_numpy(), use_na_sentinel=False)
        case_names = pd.Series(pd.Categorical.from_codes(seen, dtype=cases.dtype),
                               copy=False).astype("string")
    else:
        case_codes, uniques = pd.factorize(cases.astype("string"), use_na_sentinel=False)
        case_names = pd.Series(uniques, copy=False, dtype="string")
    del cases
    names = arrow_array(case_names)  # none missing: those events are not judged
    del case_names
    channel_of = (filled_text(kept[CHANNEL], "") if CHANNEL in kept.columns
                  else pd.Series("", index=kept.index, dtype="string"))
    starts = np.flatnonzero(np.r_[True, case_codes[1:] != case_codes[:-1]])
    if len(starts) != len(names):
        # Not grouped by case: grouped here, each case's events in their order, the cases in
        # the order they first appear (the codes are numbered so).
        order = np.argsort(case_codes, kind="stable")
        case_codes, task_col = case_codes[order], task_col[order]
        positions = positions[order]
        channel_of = channel_of.iloc[order]
        starts = np.flatnonzero(np.r_[True, case_codes[1:] != case_codes[:-1]])
    ids = EventIds(eids, positions)
    n_events = len(kept)
    del kept, codes, judged  # what the columns below were read from
    # Per case (one run of events each, in order): its case code, channel, where its events
    # start and its variant, as arrays and an index into the distinct variants (cases of
    # one variant share the variant's tuple), not a dict entry and a tuple per case.
    case_of_run = case_codes[starts]
    # Per case: active at the clock (read at its first judged event: one value a case).
    active_run = (np.zeros(len(starts), dtype=bool) if active is None
                  else np.asarray(active, dtype=bool)[positions[starts]])
    del case_codes
    # Per case, its channel (that of its first judged event), numbered in the order they
    # first come (the column's own values, no text made per case).
    channel_code, channel_uniques = pd.factorize(channel_of.iloc[starts])
    del channel_of
    channels = [str(c) for c in channel_uniques]
    variants, run_variant = case_variants(task_col, [str(t) for t in task_names], starts)
    del task_col

    # The judged cases, channel by channel, as columns (see JudgedCases): per case the row
    # of its run, and per (channel, variant) aligned one alignment.
    rows: list[npt.NDArray[np.int64]] = []
    slots: list[npt.NDArray[np.int64]] = []
    aligned_all: list[Alignment] = []
    cut: list[bool] = []  # per entry of aligned_all: a running case's cut alignment
    deviations: dict[int, tuple[Deviation, ...]] = {}
    done = 0  # cases judged in the channels before
    for code, channel in sorted(enumerate(channels), key=lambda cc: cc[1]):
        runs = np.flatnonzero(channel_code == code)  # its cases, in the order they appear
        path = sop_for(channel)
        if path is None:
            continue
        started = time.perf_counter()
        net = sop_net(path, process_for(channel) if process_for is not None else None)
        # The channel's variants in the order their first case appears, with their cases.
        of_run = run_variant[runs]
        present, first, number = np.unique(of_run, return_index=True, return_counts=True)
        ranked = np.argsort(first, kind="stable")
        counts: dict[Variant, int] = {variants[v]: n for v, n in zip(
            present[ranked].tolist(), number[ranked].tolist(), strict=True)}
        to_align = list(counts)
        fitting: set[Variant] = set()
        if mode == "token-replay":
            # A variant that token replay fits is in the model's language: cost 0.
            fitting = {v for v, r in token_replay(net, to_align).items() if r.fits}
            to_align = [v for v in to_align if v not in fitting]
        aligner = Aligner(net, engine=engine, max_seconds=max_seconds, max_states=max_states,
                          processes=processes)
        alignments = aligner.align(to_align)
        for variant in fitting:
            worst = len(variant) + aligner.engine.model_only
            moves = tuple(_sync(variant))
            alignments[variant] = Alignment(variant, moves, 0, worst)
        # Per variant present (by number: no tuple of labels hashed per case), in the order
        # of `present`: its alignment; then, per variant whose alignment ends with model
        # moves and that has a case active at the clock, its cut alignment, which those
        # cases (running) take. Per alignment, where its deviations are among its events.
        # Bounded alignments are never reported as fitting, never as a deviation.
        base = len(aligned_all)
        aligned_all.extend(alignments[variants[v]] for v in present.tolist())
        cut.extend(False for _ in range(len(present)))
        slot = np.searchsorted(present, of_run) + base
        running = active_run[runs]
        if running.any():
            cut_slot = np.full(len(present), -1, dtype=np.int64)
            for k in np.unique(slot[running] - base).tolist():
                shorter = running_alignment(aligned_all[base + k])
                if shorter is not None:
                    cut_slot[k] = len(aligned_all)
                    aligned_all.append(shorter)
                    cut.append(True)
            moved = cut_slot[slot - base]
            running &= moved >= 0
            slot = np.where(running, moved, slot)
        plans = {base + k: deviation_plan(a) for k, a in enumerate(aligned_all[base:])
                 if not a.bounded and a.cost != 0}
        # The event ids of the cases whose alignment deviates, taken in one go.
        at = np.flatnonzero(np.isin(slot, list(plans)))
        deviating = list(zip(at.tolist(), starts[runs[at]].tolist(), of_run[at].tolist(),
                             slot[at].tolist(), strict=True))
        texts = ids.many([(start, start + len(variants[v])) for _, start, v, _ in deviating])
        for (row, _, _, k), events_of in zip(deviating, texts, strict=True):
            deviations[done + row] = planned_deviations(plans[k], events_of)
        del deviating, texts
        # Per alignment of the channel: its cases.
        per_slot = np.bincount(slot - base, minlength=len(aligned_all) - base).tolist()
        weighted = list(zip(aligned_all[base:], per_slot, strict=True))
        rows.append(runs)
        slots.append(slot)
        done += len(runs)
        result.channels[channel or "(no channel)"] = ChannelConformance(
            sop=str(path), cases=len(runs), variants=len(counts),
            fitness=log_fitness((a, n) for a, n in weighted if n),
            precision=(precision(net, variants=counts) if with_precision else None),
            fitting_cases=sum(n for a, n in weighted if a.fits),
            bounded_variants=sum(1 for v in counts if alignments[v].bounded),
            seconds=time.perf_counter() - started,
            running_cases=int(np.count_nonzero(running)))
    taken = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    small = np.int32 if max(n_events, len(aligned_all), len(names)) < 2**31 else np.int64
    result.cases = JudgedCases(names, ids, channels, variants, aligned_all, {
        "name": case_of_run[taken].astype(small),
        "channel": channel_code[taken].astype(np.int32),
        "variant": run_variant[taken].astype(small),
        "alignment": (np.concatenate(slots) if slots else taken).astype(small),
        "start": starts[taken].astype(small)}, deviations, cut)
    return result


# Under this many cases left longer than the words read so far, case_variants hashes their
# remaining tasks whole, a case at a time, rather than word by word.
_FEW_LONG_CASES = 64


def case_variants(task_codes: npt.NDArray[np.integer[Any]], task_names: Sequence[str],
                  starts: npt.NDArray[np.integer[Any]]
                  ) -> tuple[list[Variant], npt.NDArray[np.int64]]:
    """The distinct variants of the cases and each case's: `task_codes` holds per event the
    number of its task in `task_names`, the cases one run of events each, starting at
    `starts` (in order). The variants are numbered in the order their first case comes, as
    one dict of tuples filled case by case numbers them, and cases of one variant share its
    tuple; but without a tuple made and hashed per case (1M cases: 0.5 -> 0.1 s of CPU):
    each case's task numbers are packed into 64-bit words, as many tasks a word as fit,
    and the cases numbered by their length and words, a word at a time, with a hash table
    (`pd.factorize`); once fewer than `_FEW_LONG_CASES` cases are longer than the words
    read, the rest of each of those is hashed whole (one case of 300k events among 1M
    short ones: 4.7 -> 0.5 s of CPU)."""
    n_cases = len(starts)
    if not n_cases:
        return [], np.empty(0, dtype=np.int64)
    codes = np.asarray(task_codes, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.diff(np.r_[starts, len(codes)])
    bits = max(1, (len(task_names) - 1).bit_length())
    per_word = max(1, 63 // bits)
    # The cases from the longest to the shortest: those longer than j, a prefix of them.
    by_length = np.argsort(-lengths, kind="stable")
    longest = lengths[by_length]
    longer_than = np.searchsorted(-longest, -np.arange(int(longest[0])), side="left")
    number = pd.factorize(lengths)[0].astype(np.int64)  # the length first
    top = int(number.max())  # the highest number in use
    for w0 in range(0, int(longest[0]), per_word):
        active = by_length[:longer_than[w0]]
        at = starts[active]
        if len(active) < _FEW_LONG_CASES:
            # Few cases left (one very long case would otherwise cost a pass of hash tables
            # per word of it): their remaining tasks are hashed whole, a case at a time.
            ends = at + lengths[active]
            seen_rest: dict[tuple[int, bytes], int] = {}
            joined = np.array([seen_rest.setdefault((n, codes[s + w0:e].tobytes()),
                                                    len(seen_rest))
                               for n, s, e in zip(number[active].tolist(), at.tolist(),
                                                  ends.tolist(), strict=True)],
                              dtype=np.int64)
            number[active] = joined + top + 1
            break
        word = np.zeros(len(active), dtype=np.int64)
        for j in range(w0, min(w0 + per_word, int(longest[0]))):
            k = longer_than[j]
            word[:k] |= codes[at[:k] + j] << (bits * (j - w0))
        seen = pd.factorize(word)[0].astype(np.int64)
        joined = pd.factorize(number[active] * (int(seen.max()) + 1) + seen)[0]
        # (numbers past those in use: the shorter cases keep theirs)
        number[active] = joined + top + 1
        top += 1 + int(joined.max())
    # Numbered in the order of each variant's first case (a hash table numbers so): the
    # first case of each is where the numbers so far reach a new highest.
    run_variant = pd.factorize(number)[0].astype(np.int64)
    highest = np.maximum.accumulate(run_variant)
    first = np.flatnonzero(np.r_[True, highest[1:] > highest[:-1]])
    # Each variant's tuple from its first case's names, gathered at once (where nearly every
    # case is a variant of its own, a slice and a list per case cost more than the dict).
    size = lengths[first]
    bounds = np.r_[0, np.cumsum(size)]
    at = np.arange(int(bounds[-1]), dtype=np.int64) + np.repeat(starts[first] - bounds[:-1],
                                                                 size)
    names = np.empty(len(task_names), dtype=object)
    names[:] = list(task_names)
    labels = names[codes[at]].tolist()
    variants = [tuple(labels[s:e]) for s, e in itertools.pairwise(bounds.tolist())]
    return variants, run_variant


def _arrow_strings(values: pd.Series) -> pa.Array:
    """A column as one Arrow string array (text as `str()` gives it for other types)."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype(str)
    return arrow_array(values.astype("string"))


def _sync(variant: Variant) -> list[Any]:
    from conformance.align import Move

    return [Move(label, label) for label in variant]
