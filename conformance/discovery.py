"""Discover the as-is process from a canonical log: inductive miner, heuristics miner or DFG.

The miners are pm4py's (imported inside the functions, never at import time); what comes out
is ours: a `ProcessGraph` written as BPMN with a layout (`conformance.bpmn_writer`), read back
through our own BPMN reader into a workflow net whose soundness and fitness (alignments of
the log) are reported, and annotated drawings (SVG/PNG through `reports.graphs`).

Noise: the higher, the more rare behaviour is left out. Inductive: pm4py's IMf noise
threshold (default 0.2). Heuristics: dependency threshold 0.5 + noise / 2 (default noise 0,
pm4py's 0.5). DFG: an edge is drawn when it is at least `noise` times as frequent as the most
frequent edge out of the same activity (default 0: every edge); an activity the filter would
cut off from the start activities is reached again by the strongest edge from one still
reached, drawn dotted, so every activity the log's graph reaches from a start stays reached
(`NoiseFilter`). discovery.json lists every edge, each marked kept
or left out.

Only completions are mined, as `check` judges only them: events whose `lifecycle:transition`
is stated and is not `complete` (start, schedule, ...) are left out and counted in a warning.

The variant list (variants.csv, `variants_of`): each distinct sequence of activities of the
cases (every activity, also those `max_activities` leaves out of the model), with its cases,
their share and the median and 90th percentile of their throughput times (first to last
event); discovery.json adds each activity's case frequency and the cases' throughput times.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from audit.canonical import elapsed
from audit.errors import InputError
from audit.words import counted, cut_middle
from conformance.bpmn import cleaned_labels
from conformance.bpmn_writer import (
    ProcessFlow,
    ProcessGraph,
    ProcessNode,
    TaskFigures,
    bpmn_xml,
    process_dot,
)
from conformance.petri import (
    Soundness,
    WorkflowNet,
    bpmn_to_workflow_net,
    check_soundness,
    from_pm4py,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import pandas as pd

    from audit.ingest import ImportResult
    from conformance.channels import Channels
    from reports.graphs import Dfg

Miner = Literal["inductive", "heuristics", "dfg"]
MINERS: tuple[Miner, ...] = ("inductive", "heuristics", "dfg")
DEFAULT_NOISE: dict[Miner, float] = {"inductive": 0.2, "heuristics": 0.0, "dfg": 0.0}
DEFAULT_MAX_ACTIVITIES = 60
"""Activities a model is mined from (and the DFG drawn with), the most frequent first; as
many as `check` draws (reports.graphs.MAX_ACTIVITIES). A log of thousands of distinct
labels (3,000 random ones: a model of 9,515 BPMN nodes) kept the miner, the soundness check
and Graphviz busy for more than 300 s; 300 labels kept pm4py's inductive miner alone in its
fall-throughs for more than 600 s. The real logs at hand have up to 27 activities."""

CASE, ACTIVITY, TIMESTAMP = "case:concept:name", "concept:name", "time:timestamp"


@dataclass(frozen=True)
class Fitness:
    """How well the discovered model replays the log (optimal alignments)."""

    log_fitness: float
    """Alignment-based log fitness, 0..1, as `check` computes it (conformance.align)."""
    fitting_cases: int
    cases: int

    @property
    def fitting_share(self) -> float:
        return self.fitting_cases / self.cases if self.cases else 1.0


@dataclass(frozen=True)
class NoiseFilter:
    """What the dfg miner's noise filter draws of a DFG (`noise_filter`)."""

    noise: float
    kept: Dfg
    """The DFG as filtered: its edges at least `noise` times as frequent as the busiest edge
    out of their source, and those of `connecting`."""
    connecting: frozenset[tuple[str, str]]
    """(source, target) of the edges below the threshold kept all the same: each the
    strongest way from an activity reached from a start activity over the kept edges to one
    not reached that the whole graph reaches (`noise_filter`). (None is needed for a way
    out: the busiest edge out of an activity passes.)"""
    edges: int
    """The edges of the whole DFG."""

    @property
    def left_out(self) -> int:
        return self.edges - len(self.kept.edges)

    @functools.cached_property
    def pairs(self) -> frozenset[tuple[str, str]]:
        """(source, target) of the edges kept."""
        return frozenset((e.source, e.target) for e in self.kept.edges)

    def title(self) -> str:
        """The line a drawing's title says it with: "noise 0.1: 19 of 34 edges drawn"."""
        return f"noise {self.noise:g}: {self.kept_text()}"

    def kept_text(self) -> str:
        return (f"{len(self.kept.edges):,} of {counted(self.edges, 'edge', spec=',')} drawn"
                if self.left_out else f"all {counted(self.edges, 'edge', spec=',')} drawn")


VARIANTS_NAME = "variants.csv"
"""The variant list discover writes into --out (`write_variants`)."""
TOP_VARIANTS = 20
"""The variants discovery.json lists (the most frequent first); variants.csv lists all."""
VARIANT_COLUMNS = ("rank", "cases", "share_percent", "events_per_case",
                   "median_throughput_seconds", "median_throughput", "p90_throughput_seconds",
                   "p90_throughput", "sequence", "example_case")
"""variants.csv's columns."""
SEQUENCE_JOIN = " -> "
"""What a variant's activities are joined with in its text (`Variant.text`)."""


@dataclass(frozen=True)
class Variant:
    """One distinct activity sequence of the log's cases (`variants_of`)."""

    sequence: tuple[str, ...]
    """The activities of each of its cases, in the order discover reads them (`_ordered`)."""
    cases: int
    median_seconds: float
    """The median throughput time of its cases (first to last event), NaN where unknown."""
    p90_seconds: float
    """The 90th percentile of it (linear between the two nearest cases, as numpy's and
    pandas' default)."""
    example_case: str
    """One of its cases: the least case id (as text, by code point)."""

    @property
    def text(self) -> str:
        """The activities joined by " -> "."""
        return SEQUENCE_JOIN.join(self.sequence)


@dataclass(frozen=True)
class Variants:
    """The variant list of a log and its cases' throughput times (`variants_of`)."""

    variants: list[Variant]
    """Every variant, the most frequent first, ties by their text (then by their
    activities, for two whose text is alike: a label may hold " -> ")."""
    cases: int
    """The cases: the sum of the variants' cases."""
    median_seconds: float
    """The median throughput time of all cases (first to last event; NaN where none is
    known), and its 90th percentile and maximum."""
    p90_seconds: float
    max_seconds: float
    activity_cases: dict[str, int]
    """Per activity, the cases with at least one event of it (its case frequency)."""

    def share(self, variant: Variant) -> float:
        """The share of all cases that follow `variant`, in percent."""
        return 100 * variant.cases / self.cases if self.cases else 0.0


@dataclass
class Discovery:
    miner: Miner
    noise: float
    cases: int
    events: int
    dfg: Dfg
    """The DFG of the log, every edge (for the dfg miner, what its noise filter draws is
    `filtered`)."""
    process: ProcessGraph | None
    """The discovered model (None for the dfg miner)."""
    tasks: dict[str, TaskFigures] = field(default_factory=dict)
    soundness: Soundness | None = None
    fitness: Fitness | None = None
    notes: list[str] = field(default_factory=list)
    mined: WorkflowNet | None = None
    """The heuristics miner's own Petri net: judged where the written BPMN cannot be
    converted back (an unbounded net's scope has no end of states)."""
    warnings: list[str] = field(default_factory=list)
    """What the reader must know to read the model right (events left out)."""
    max_activities: int = DEFAULT_MAX_ACTIVITIES
    """The most activities mined into the model and drawn in the DFG."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Activities left out of the model (beyond `max_activities`) with their events."""
    filtered: NoiseFilter | None = None
    """The dfg miner's noise filter (None for the other miners)."""
    channels: Channels | None = None
    """The log's cases by channel and the `--channel` kept (conformance.channels): what the
    discovery was computed on."""
    variants: Variants | None = None
    """The log's variants and throughput times, over every activity (not only the
    `max_activities` mined)."""
    form: Literal["model", "finishing runs", "view only"] = "model"
    """What model.bpmn holds (`write_discovery`): the miner's model ("model"); for a
    heuristics net whose BPMN form our reader refuses, the net's runs that can finish
    ("finishing runs", `finishing_runs`); or, where no run finishes or the net is unbounded,
    the refused form, to be looked at only ("view only": no SOP for check or compare)."""
    off_runs: tuple[str, ...] = ()
    """The miner's activities on no run that can finish, left out of "finishing runs"."""

    def channel_lines(self) -> list[str]:
        """The drawings' title line naming the `--channel` kept ("channel ecommerce only:
        141 of 300 cases"; a line of its own: a title line is cut at 60), none without."""
        kept = self.channels
        if kept is None or kept.channel is None:
            return []
        return [f"channel {kept.channel} only: {kept.kept:,} of "
                f"{counted(kept.cases, 'case', spec=',')}"]


def _ordered(log: pd.DataFrame) -> pd.DataFrame:
    """Case, activity and time of the completions only (as `check` judges them: see
    audit.canonical.completions), events of each case in time order, as `check` orders them
    (audit.canonical.EVENT_ORDER: events at one time by the ids the log states, else as
    their source lists them, SAME_TIME_ORDER)."""
    import pandas as pd

    from audit import canonical as C

    if C.not_completions(log):
        log = C.completions(log[[c for c in (CASE, ACTIVITY, TIMESTAMP, C.EVENT_ID,
                                             C.LIFECYCLE, C.SOURCE_FILE, C.SOURCE_ROW)
                                  if c in log.columns]])
    frame = pd.DataFrame({
        CASE: log[CASE].astype(str).to_numpy(),
        # (As model.bpmn's task names read back: whitespace runs as one space.)
        ACTIVITY: cleaned_labels(log[ACTIVITY].astype(str).to_numpy()),
        TIMESTAMP: log[TIMESTAMP].to_numpy(),
    })
    order = C.event_order(log)
    # (pm4py sorts by case and time again: a stable sort of two keys, which keeps this
    # order among events at one time.)
    return frame if order is None else frame.take(order).reset_index(drop=True)


def discover(log: pd.DataFrame, miner: Miner = "inductive", noise: float | None = None,
             max_activities: int = DEFAULT_MAX_ACTIVITIES, *,
             channels: Channels | None = None) -> Discovery:
    """Discover the process of a canonical log (non-empty) with the chosen miner, from its
    `max_activities` most frequent activities (ties by label, as the DFG draws them): the
    events of the others are left out of the mining, and a note says how many.
    `channels`: the log's cases by channel (`conformance.channels.select_channel`, which
    kept those of a `--channel`), recorded and noted: what `--channel` kept, or that cases
    of several channels are mined as one log."""
    from reports.graphs import discover_dfg

    if miner not in MINERS:
        raise ValueError(f"unknown miner {miner!r}; choose one of {', '.join(MINERS)}")
    noise = DEFAULT_NOISE[miner] if noise is None else noise
    if not 0.0 <= noise <= 1.0:
        raise ValueError("noise must be between 0 and 1")
    if max_activities < 1:
        raise ValueError("max_activities must be at least 1")
    from audit import canonical as C

    frame = _ordered(log)
    left_out = C.not_completions(log)
    tasks = task_figures(frame)
    mined = frame
    dropped_tasks: dict[str, int] = {}
    if miner != "dfg" and len(tasks) > max_activities:
        ranked = sorted(tasks, key=lambda a: (-tasks[a].events, a))
        dropped_tasks = {a: tasks[a].events for a in ranked[max_activities:]}
        mined = frame[~frame[ACTIVITY].isin(dropped_tasks)].reset_index(drop=True)
    if miner != "dfg":
        # A model names its tasks in XML, which cannot hold a control character: two labels
        # differing only there would become one task (both written as U+FFFD).
        from audit.xmltext import NOT_XML

        for label in mined[ACTIVITY].unique().tolist():
            if NOT_XML.search(label):
                raise InputError(f"the activity {label!r} holds a character a BPMN model "
                                 "(XML) cannot hold; discover with --miner dfg, or clean "
                                 "the label first", field=ACTIVITY)
    dfg = discover_dfg(log)
    result = Discovery(miner, noise, int(frame[CASE].nunique()), len(frame), dfg, None,
                       tasks=tasks, max_activities=max_activities, channels=channels,
                       variants=variants_of(frame))
    told = None if channels is None else channels.note(None, "mined", "mine")
    if told is not None:
        result.notes.append(told)
    if left_out:
        result.warnings.append(C.not_completions_told(left_out, "counted"))
    # (Events of a case at one time whose ids the log states are taken by event id, where
    # pm4py takes them as the file lists them; those of ids the import derived are taken
    # as the file lists them: C.ties_in_file_order.)
    tie = C.same_time(C.completions(log) if left_out else log)
    if tie is not None:
        result.warnings.append(C.same_time_told(tie))
    if dropped_tasks:
        result.left_out = {"activities": len(dropped_tasks),
                           "events": sum(dropped_tasks.values())}
        events = result.left_out["events"]
        result.notes.append(
            f"the model is mined from the {max_activities} most frequent of {len(tasks):,} "
            f"activities (--max-activities {max_activities}); the other "
            f"{len(dropped_tasks):,}, with {events:,} of {len(frame):,} events "
            f"({_share(events, len(frame))}), are left out of it (the fitness counts their "
            "events as log moves; discovery.json's activities and DFG hold them all): "
            f"--max-activities {len(tasks)} mines them all, which may take long")
    if miner == "dfg":
        # The whole DFG stays `result.dfg` (discovery.json lists every edge, each marked
        # kept or not); the drawing is of the filtered one. Before, the filtered DFG replaced
        # the whole one: the left-out edges were named nowhere.
        result.filtered = noise_filter(dfg, noise)
        dropped = result.filtered.left_out
        if dropped or result.filtered.connecting:
            result.notes.append(_noise_note(result.filtered))
        return result
    if miner == "inductive":
        import pm4py

        tree = pm4py.discover_process_tree_inductive(
            mined, noise_threshold=noise, activity_key=ACTIVITY, case_id_key=CASE,
            timestamp_key=TIMESTAMP)
        bpmn = pm4py.convert_to_bpmn(tree)
    else:
        import pm4py

        heuristics = pm4py.discover_heuristics_net(
            mined, dependency_threshold=0.5 + noise / 2, activity_key=ACTIVITY,
            case_id_key=CASE, timestamp_key=TIMESTAMP)
        net, initial, final = pm4py.convert_to_petri_net(heuristics)
        bpmn = pm4py.convert_to_bpmn(net, initial, final)
        result.mined = from_pm4py(net, initial, final)
    result.process = from_pm4py_bpmn(bpmn, name=f"As-is process ({miner} miner)")
    return result


def _share(part: int, whole: int) -> str:
    """`part` of `whole` as a rounded percentage ("less than 1%" for a small non-zero one)."""
    share = 100 * part / whole if whole else 0.0
    return "less than 1%" if 0 < share < 1 else f"{share:.0f}%"


def noise_filter(dfg: Dfg, noise: float) -> NoiseFilter:
    """The edges of `dfg` at least `noise` times as frequent as the busiest edge out of their
    source, and, while an activity that the whole graph reaches from a start activity is not
    reached over the kept edges, the strongest edge from a reached activity to an unreached
    one (the most frequent; ties by source and target), one at a time: as Disco's path
    slider, the filter thins the graph, it does not cut an activity off (before, 'Reject
    refund', 21 events, stood without an edge in at noise 0.1; and an edge in from a cut-off
    island did not connect it). Edges keep their order in `dfg`."""
    from reports.graphs import Dfg

    if noise <= 0:
        return NoiseFilter(noise, dfg, frozenset(), len(dfg.edges))
    busiest: dict[str, int] = {}
    for edge in dfg.edges:
        busiest[edge.source] = max(busiest.get(edge.source, 0), edge.count)
    kept = {(e.source, e.target) for e in dfg.edges if e.count >= noise * busiest[e.source]}
    connecting: set[tuple[str, str]] = set()
    reached = _reached(set(dfg.starts), kept)
    while True:
        # (a self-loop connects nothing; an edge between two reached activities neither)
        ways = [e for e in dfg.edges if e.source in reached and e.target not in reached]
        if not ways:
            break
        best = min(ways, key=lambda e: (-e.count, e.source, e.target))
        kept.add((best.source, best.target))
        connecting.add((best.source, best.target))
        reached = _reached(reached | {best.target}, kept)
    return NoiseFilter(noise, Dfg(dfg.activities, dfg.starts, dfg.ends,
                                  [e for e in dfg.edges if (e.source, e.target) in kept],
                                  dfg.cases), frozenset(connecting), len(dfg.edges))


def _reached(roots: set[str], edges: set[tuple[str, str]]) -> set[str]:
    """The activities reached from `roots` over `edges` (the roots included)."""
    after: dict[str, list[str]] = {}
    for source, target in edges:
        after.setdefault(source, []).append(target)
    reached, todo = set(roots), list(roots)
    while todo:
        for target in after.get(todo.pop(), ()):
            if target not in reached:
                reached.add(target)
                todo.append(target)
    return reached


def _noise_note(filtered: NoiseFilter) -> str:
    """The note telling what the noise filter left out of the drawing."""
    percent = f"{100 * filtered.noise:g}%"
    note = (f"the noise filter (--noise {filtered.noise:g}) leaves "
            f"{filtered.left_out:,} of {counted(filtered.edges, 'edge', spec=',')} out of "
            f"{DFG_NAME}.svg and {DFG_NAME}.png, each less than {percent} as frequent as the "
            "busiest edge out of its activity")
    if filtered.connecting:
        note += (f"; {counted(len(filtered.connecting), 'edge', spec=',')} below that "
                 "are drawn all the same (dotted), each the strongest way to an activity "
                 "the filter would cut off from the start activities")
    return note + ("; discovery.json lists every edge, each with kept true or false "
                   "(dfg.edges)")


def task_figures(frame: pd.DataFrame) -> dict[str, TaskFigures]:
    """Per activity: events, and the median time since the previous event of the case."""
    previous = frame.groupby(CASE, sort=False)[TIMESTAMP].shift()
    waits = elapsed(frame[TIMESTAMP], previous).dt.total_seconds()
    grouped = waits.groupby(frame[ACTIVITY])
    counts = frame[ACTIVITY].value_counts()
    counts = counts[counts > 0]  # a category no event of `frame` has is not an activity
    medians = grouped.median()
    return {str(a): TaskFigures(int(counts[a]), float(medians.get(a, math.nan)))
            for a in sorted(counts.index)}



def variants_of(frame: pd.DataFrame) -> Variants:
    """The variants of `frame` (`_ordered`: completions only, each case's events by time,
    ties by stated ids, else in their source's order): each case's sequence of activities
    (every activity: not only those a model is mined from), the cases following each, their
    throughput times (from the case's first event to its last, as `elapsed` subtracts
    them), and each activity's case frequency (the cases with an event of it). Every case
    is in exactly one variant.

    Vectorised (discover reads logs of 1M cases): the activities and cases are coded
    (factorize); the cases of one length are gathered into a matrix of activity codes, one
    row a case, whose distinct rows (np.unique) are that length's variants. Python steps
    once per distinct case length and once per variant (its labels), never per event or
    case."""
    import numpy as np
    import pandas as pd

    ids = frame[CASE].to_numpy()
    codes, labels = pd.factorize(frame[ACTIVITY], sort=False)
    times = frame[TIMESTAMP].reset_index(drop=True)
    if len(ids) == 0:
        return Variants([], 0, math.nan, math.nan, math.nan, {})
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    # Each case's number among the case ids sorted (by code point): a variant's least number
    # is its least id. (Of one id per case: factorizing the 7.3M events' ids took 3 s.)
    ranks, case_names = pd.factorize(ids[starts], sort=True)
    if len(case_names) != len(starts):  # not grouped by case: grouped, each case's order kept
        order = np.argsort(pd.factorize(ids)[0], kind="stable")
        ids, codes = ids[order], codes[order]
        times = times.take(order).reset_index(drop=True)
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        ranks, case_names = pd.factorize(ids[starts], sort=True)
    codes = codes.astype(np.int32 if len(labels) < 2**31 else np.int64)
    lengths = np.diff(np.r_[starts, len(ids)])
    count = len(starts)  # the cases; case k is case_names[ranks[k]]
    case_of_event = np.repeat(np.arange(count), lengths)
    # Throughput: the first to the last time of each case (a missing time left out).
    per_case = times.groupby(case_of_event, sort=True)
    spans = pd.Series(elapsed(per_case.max(), per_case.min()).dt.total_seconds().to_numpy(),
                      dtype=float)
    # Each case's variant: the distinct rows of the codes of the cases of each length.
    variant_of = np.empty(count, dtype=np.int64)
    rows: list[list[int]] = []
    by_length = np.argsort(lengths, kind="stable")
    ordered_lengths = lengths[by_length]
    bounds = np.flatnonzero(np.r_[True, ordered_lengths[1:] != ordered_lengths[:-1]])
    bits = max(1, (len(labels) - 1).bit_length())  # (of a code)
    for first, end in itertools.pairwise([*bounds.tolist(), count]):
        at = by_length[first:end]
        length = int(ordered_lengths[first])
        matrix = codes[starts[at][:, None] + np.arange(length)]
        inverse, firsts = _distinct_rows(_packed(matrix, bits))
        variant_of[at] = len(rows) + inverse
        rows.extend(matrix[firsts].tolist())
    followed = np.bincount(variant_of, minlength=len(rows))
    by_variant = spans.groupby(variant_of, sort=True)
    medians = by_variant.median().reindex(range(len(rows))).to_numpy().tolist()
    p90s = by_variant.quantile(0.9).reindex(range(len(rows))).to_numpy().tolist()
    # (a pandas min of text per variant fell back to Python: 29 s for 140k variants)
    least = pd.Series(ranks).groupby(variant_of, sort=True).min().to_numpy()
    examples = np.asarray(case_names, dtype=object)[least].tolist()
    texts = [str(label) for label in labels]
    found = [Variant(tuple([texts[c] for c in row]), n, median, p90, str(example))
             for row, n, median, p90, example in zip(rows, followed.tolist(), medians,
                                                     p90s, examples, strict=True)]
    found.sort(key=lambda v: (-v.cases, v.text, v.sequence))
    # Case frequency: the distinct (case, activity) pairs, counted per activity (sorted, as
    # they nearly are: pandas' unique of the 7.3M pairs of 1M cases took 3.8 s).
    pairs = np.sort(case_of_event.astype(np.int64) * len(labels) + codes, kind="stable")
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    with_it = np.bincount(pairs % len(labels), minlength=len(labels))
    return Variants(found, count, float(spans.median()), float(spans.quantile(0.9)),
                    float(spans.max()),
                    {texts[k]: int(n) for k, n in enumerate(with_it.tolist())})

def _packed(matrix: np.ndarray, bits: int) -> np.ndarray:
    """The rows of `matrix` (codes below 2 ** `bits`) with as many codes in one int64 as fit
    (62 bits): rows alike stay alike, and rows that differ differ."""
    import numpy as np

    per_word = max(1, 62 // bits)
    if per_word == 1 or matrix.shape[1] == 1:
        return matrix.astype(np.int64)
    words = []
    for start in range(0, matrix.shape[1], per_word):  # (a step per word of a row)
        word = np.zeros(matrix.shape[0], dtype=np.int64)
        for column in range(start, min(start + per_word, matrix.shape[1])):
            word = (word << bits) | matrix[:, column].astype(np.int64)
        words.append(word)
    return np.stack(words, axis=1)


def _distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each row's number among the distinct rows of `matrix`, the first row of each
    number): of one column, by a hash (pandas' factorize: numpy 2.4's unique, a hash too,
    took 1.8 s for the 727,423 codes of a 100k-case log, where pandas' took 0.1 s); of
    several, numpy's unique of rows (a sort)."""
    import numpy as np
    import pandas as pd

    if matrix.shape[1] == 1:
        inverse = pd.factorize(matrix[:, 0])[0]
        # (numbered by first appearance: a row is a first where it passes every number before)
        seen = np.maximum.accumulate(np.r_[-1, inverse[:-1]])
        return inverse, np.flatnonzero(inverse > seen)
    _, firsts, inverse = np.unique(matrix, axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1), firsts


def from_pm4py_bpmn(bpmn: Any, *, name: str) -> ProcessGraph:
    """Our `ProcessGraph` of a pm4py BPMN object (fresh, readable ids)."""
    from pm4py.objects.bpmn.obj import BPMN

    kinds: list[tuple[type, Literal["task", "start", "end", "exclusive", "parallel",
                                     "inclusive"], str]] = [
        (BPMN.Task, "task", "Task"), (BPMN.StartEvent, "start", "StartEvent"),
        (BPMN.EndEvent, "end", "EndEvent"), (BPMN.ExclusiveGateway, "exclusive", "Gateway"),
        (BPMN.ParallelGateway, "parallel", "Gateway"),
        (BPMN.InclusiveGateway, "inclusive", "Gateway"),
    ]
    ids: dict[Any, str] = {}
    nodes: list[ProcessNode] = []
    counter: dict[str, int] = {}

    # Nodes in an order of what they are and where they stand, not of pm4py's ids (random
    # UUIDs: the gateways and flows of model.bpmn were numbered anew on every run).
    places = _structural_ranks(bpmn)

    def sort_key(node: Any) -> tuple[int, str, int]:
        order = next((k for k, (cls, _, _) in enumerate(kinds) if isinstance(node, cls)), 9)
        return (order, str(node.get_name()), places[node])

    for node in sorted(bpmn.get_nodes(), key=sort_key):
        match = next(((kind, prefix) for cls, kind, prefix in kinds if isinstance(node, cls)),
                     None)
        if match is None:
            raise ValueError(f"unexpected BPMN element {type(node).__name__} from the miner")
        kind, prefix = match
        counter[prefix] = counter.get(prefix, 0) + 1
        ids[node] = f"{prefix}_{counter[prefix]}"
        nodes.append(ProcessNode(ids[node], kind,
                                 str(node.get_name()) if kind == "task" else ""))
    flows = sorted(((ids[f.get_source()], ids[f.get_target()]) for f in bpmn.get_flows()),
                   key=lambda st: (_rank(st[0]), _rank(st[1])))
    return ProcessGraph(tuple(nodes), tuple(ProcessFlow(f"Flow_{k}", s, t)
                                            for k, (s, t) in enumerate(flows, 1)), name)


def _structural_ranks(bpmn: Any, rounds: int = 32) -> dict[Any, int]:
    """Each node of a pm4py BPMN graph ranked by its kind, its name and, refined round by
    round, the ranks of the nodes before and after it (colour refinement), until the ranks
    tell no more nodes apart (or after `rounds`). Nodes alike in all of it are interchangeable
    in the graph, so the order among them does not change what is written."""
    nodes = list(bpmn.get_nodes())
    after: dict[Any, list[Any]] = {n: [] for n in nodes}
    before: dict[Any, list[Any]] = {n: [] for n in nodes}
    for flow in bpmn.get_flows():
        after[flow.get_source()].append(flow.get_target())
        before[flow.get_target()].append(flow.get_source())

    def ranked(signatures: dict[Any, Any]) -> dict[Any, int]:
        order = {sig: k for k, sig in enumerate(sorted(set(signatures.values())))}
        return {n: order[sig] for n, sig in signatures.items()}

    ranks = ranked({n: (type(n).__name__, str(n.get_name())) for n in nodes})
    for _ in range(rounds):
        refined = ranked({n: (ranks[n], tuple(sorted(ranks[m] for m in before[n])),
                              tuple(sorted(ranks[m] for m in after[n]))) for n in nodes})
        if len(set(refined.values())) == len(set(ranks.values())):
            break
        ranks = refined
    return ranks


def _rank(node_id: str) -> tuple[str, int]:
    prefix, _, number = node_id.rpartition("_")
    return (prefix, int(number))


def replay_fitness(frame: pd.DataFrame, net: WorkflowNet) -> Fitness:
    """Alignment-based fitness of the log (`_ordered`: grouped by case) on the workflow net,
    as `check` computes it for an SOP: the project's aligner once per variant, standard
    costs (1 per log move and per visible model move, 0 for synchronous and silent moves),
    log fitness 1 - sum of costs / sum of worst costs (`conformance.align.log_fitness`).
    (pm4py's alignment_based.evaluate summed costs that count each silent step: a log whose
    every case fits came out below 1.)"""
    import numpy as np
    import pandas as pd

    from conformance.align import Aligner, log_fitness

    if frame.empty:
        return Fitness(1.0, 0, 0)
    cases, names = pd.factorize(frame[CASE])
    labels = frame[ACTIVITY].to_numpy()
    starts = np.flatnonzero(np.r_[True, cases[1:] != cases[:-1]])
    if len(starts) != len(names):  # not grouped by case: grouped, each case's order kept
        order = np.argsort(cases, kind="stable")
        cases, labels = cases[order], labels[order]
        starts = np.flatnonzero(np.r_[True, cases[1:] != cases[:-1]])
    bounds = [*starts.tolist(), len(cases)]
    texts = labels.tolist()
    counts: dict[tuple[str, ...], int] = {}
    for start, end in itertools.pairwise(bounds):
        variant = tuple(texts[start:end])
        counts[variant] = counts.get(variant, 0) + 1
    alignments = Aligner(net).align(counts)
    fitness = log_fitness((alignments[v], n) for v, n in counts.items())
    fitting = sum(n for v, n in counts.items() if alignments[v].fits)
    return Fitness(1.0 if fitness is None else fitness, fitting, len(bounds) - 1)


# --- writing --------------------------------------------------------------------------------
DFG_NAME = "discovery-dfg"
"""The name (before .svg, .png) of the DFG discover draws. Not `dfg`, the name of the DFG
`check` draws into its --out: until 2026-12-06 both wrote dfg.svg and dfg.png, so a check
into a folder discover wrote removed discover's graph as an earlier report's (or replaced
it, beside discover's discovery.json), and discover replaced a check's."""

QUARANTINE_NAME = "discovery-quarantine.csv"
"""The rows discover's import of the log quarantined (file, row, field, value, reason, case),
as `check` writes its quarantine.csv; not named so, as discover's files are named as none of
a check's (`DFG_NAME`): a check into the folder would replace it, or discover remove a
check's."""


def write_discovery(discovery: Discovery, log: pd.DataFrame, out: Path, *,
                    fitness: bool = True,
                    source: dict[str, Any] | None = None,
                    imported: ImportResult | None = None,
                    policy: dict[str, Any] | None = None,
                    read: Mapping[str, Any] | None = None,
                    files: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write the model (model.bpmn, model.svg), the DFG (discovery-dfg.svg, .png: not
    dfg.*, which are a check's, `DFG_NAME`), the variant list (variants.csv,
    `write_variants`) and discovery.json into `out`; the BPMN is read back through our
    reader to check it.
    `policy`: the `--policy` that decided the cases' channels (`{"file", "sha256"}`; None:
    the bundled one), named in discovery.json as compare.json names it.
    `source`: the log mined (`{"file": its name, "sha256"}`), which discovery.json names
    beside the tool and version that mined it. `imported`: the import that read the log:
    its quarantine is written as discovery-quarantine.csv (`QUARANTINE_NAME`), its counts
    (read = imported + quarantined + duplicates dropped; of the imported, the charges left
    out as sales; the charges' events repeated in further cases; the events made, imported
    - left out + repeated; the correlation problems) go into discovery.json's `import` with
    its notes (what it left out or brought in, an
    option not used: as the console prints them), and a warning says how many rows were
    quarantined (before: the console's count alone, and no row named). `read`: how the log
    was read (`audit.store.read_with`: the options in effect, those given but not
    applied, a canonical log's own import's), in `import` too. `files`: the `mapping` and
    `sources_config` given (`{"file", "sha256"}`, the sources file's `used` false where the
    log is no source-system export; null where not given), named as compare.json names
    them."""
    from audit.ingest import dropped_text
    from audit.progress import current
    from reports.graphs import (
        MAX_EDGES,
        DrawnGraph,
        dfg_dot,
        format_duration,
        write_graph,
    )

    progress = current()
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    intake: dict[str, Any] | None = None
    if imported is not None:
        intake = {"read": imported.read, "imported": imported.imported,
                  "quarantined": imported.quarantined,
                  "duplicates_dropped": imported.deduplicated,
                  # (what the imported records became, as the console's "4 records
                  # imported -> 3 events" tells it: before, the events unexplained by the
                  # counts where a charge was left out as a sale)
                  "left_out": imported.left_out,
                  "repeated": sum(f.repeated for f in imported.files),
                  "events": len(imported.log),
                  "correlation_problems": (0 if imported.correlation_problems is None
                                           else len(imported.correlation_problems)),
                  "quarantine_file": QUARANTINE_NAME}
        # (the options in effect, in check's shape, those given but not applied, and a
        # canonical log's own import's: before, the options given, as if applied, and
        # left out where none was given)
        from audit.store import reading_options

        intake.update(read or {"options": reading_options({}), "not_applied": []})
        # (what the import left out or brought in, as the console prints it: before, the
        # console's alone, though compare.json lists an OCEL side's)
        intake["notes"] = [cut_middle(note) for note in imported.notes]
        if imported.quarantined:
            one = imported.quarantined == 1
            discovery.warnings.append(
                f"{counted(imported.quarantined, 'row', spec=',')} of the log "
                f"{'was' if one else 'were'} quarantined (read {imported.read:,} = imported "
                f"{imported.imported:,} + quarantined {imported.quarantined:,}"
                f"{dropped_text(imported.deduplicated)}) and "
                f"{'is' if one else 'are'} not mined: {QUARANTINE_NAME} names "
                f"{'it' if one else 'each'} (file, row, field, value, reason)")
    progress.stage("drawing the directly-follows graph")
    title = "\n".join([f"Directly-follows graph (as-is, "
                       f"{counted(discovery.cases, 'case', spec=',')})",
                       *discovery.channel_lines()])
    filtered = discovery.filtered
    graph, dotted = discovery.dfg, frozenset[tuple[str, str]]()
    if filtered is not None and filtered.noise > 0:
        # The title says the graph is filtered, and how much (before: the title of the
        # whole graph over a filtered one); the edges kept below the threshold are dotted.
        graph, dotted = filtered.kept, filtered.connecting
        title = "\n".join([title, filtered.title()] + (
            ["dotted: below the noise, kept to connect an activity"] if dotted else []))
    # As check draws it: its most frequent activities (as many as the model is mined from)
    # and edges only (Graphviz took minutes to lay out hundreds of them); discovery.json
    # holds them all.
    shown = graph.drawn(discovery.max_activities)
    if shown is not graph:  # (each on a line of its own: a line is cut at 60)
        parts = graph.left_out_of(shown)
        title = "\n".join([title, *parts])
        if parts:  # (said where it is read too, not in the drawing's title alone)
            discovery.notes.append(
                f"{DFG_NAME}.svg and {DFG_NAME}.png draw {' and '.join(parts)} "
                f"(--max-activities "
                f"{discovery.max_activities}, at most {MAX_EDGES} edges); discovery.json "
                "holds the whole DFG")
    for path in write_graph(DrawnGraph(DFG_NAME, title, "", dfg_dot(shown, title=title,
                                                                    dotted=dotted)), out):
        written[path.name] = path
    if discovery.process is not None:
        progress.stage("writing the model and reading it back (soundness)")
        bpmn_path = out / "model.bpmn"
        bpmn_path.write_bytes(bpmn_xml(discovery.process))
        written["model.bpmn"] = bpmn_path
        conversion = bpmn_to_workflow_net(bpmn_path)
        discovery.soundness = conversion.soundness
        unreadable = "the note above says why"
        if conversion.net is None and discovery.mined is not None:
            # pm4py's BPMN form of the heuristics net is refused by our reader (e.g. a run
            # reaching the end while a parallel branch still waits): write instead the net's
            # runs that can finish, which fit the same traces, so that model.bpmn is an SOP
            # for check --sop and compare (before, it could only be looked at).
            try:
                runs: ProcessGraph | None = finishing_runs(discovery.mined,
                                                           name=discovery.process.name)
            except NoFinishingRuns as why:
                runs, unreadable = None, str(why)
            if runs is not None:
                refused = "; ".join(str(r) for r in conversion.refused)
                bpmn_path.write_bytes(bpmn_xml(runs))
                conversion = bpmn_to_workflow_net(bpmn_path)
                if conversion.net is not None:
                    discovery.process = runs
                    discovery.form = "finishing runs"
                    discovery.soundness = check_soundness(discovery.mined)
                    kept = {n.name for n in runs.nodes if n.kind == "task"}
                    discovery.off_runs = tuple(sorted(set(discovery.mined.labels) - kept))
                    off = "" if not discovery.off_runs else (
                        "; left out, on no run that can finish: "
                        + ", ".join(f"'{a}'" for a in discovery.off_runs))
                    discovery.notes.append(
                        "model.bpmn holds the heuristics net's runs that can finish, as a "
                        "choice at each state of the net (a task may stand more than once), "
                        "not the net's gateways as pm4py writes them, which refund-audit's "
                        f"BPMN reader refuses ({refused}); the same traces fit both, with the "
                        "same alignments, so model.bpmn serves as an SOP (check --sop, "
                        f"compare); the soundness told is the miner's net's{off}")
                else:  # (cannot happen: our own gateways only; kept honest all the same)
                    unreadable = "its runs that can finish could not be read back either"
                    bpmn_path.write_bytes(bpmn_xml(discovery.process))
                    conversion = bpmn_to_workflow_net(bpmn_path)
        if conversion.net is None:
            discovery.form = "view only"
            discovery.notes.append("the written BPMN could not be converted back: "
                                   + "; ".join(str(r) for r in conversion.refused))
            discovery.notes.append(
                "model.bpmn is for viewing only: refund-audit's BPMN reader refuses it, so "
                "check --sop and compare cannot use it as an SOP ("
                + unreadable
                + "); for an SOP, discover with --miner inductive (sound by construction)"
                + (", or the heuristics miner with a lower --noise" if discovery.noise > 0
                   else ""))
            if discovery.mined is not None:
                # The miner's own net says what the model does (e.g. unbounded: unsound).
                discovery.soundness = check_soundness(discovery.mined)
                discovery.notes.append("soundness judged on the miner's own Petri net: "
                                       + (discovery.soundness.verdict if not
                                          discovery.soundness.problems else
                                          "; ".join(discovery.soundness.problems)))
        elif fitness:
            # (the miner's net's, where model.bpmn holds its runs that can finish)
            judged = discovery.soundness
            if judged is not None and judged.verdict == "unsound":
                discovery.notes.append("the discovered model is not sound: "
                                       + "; ".join(judged.problems))
            progress.stage("aligning the log's variants on the model (fitness)")
            try:
                discovery.fitness = replay_fitness(_ordered(log), conversion.net)
            except Exception as exc:  # an unsound net may not align at all
                discovery.notes.append(f"fitness could not be computed: {exc}")
        edges = {(e.source, e.target): e for e in discovery.dfg.edges}
        names = {n.id: n.name for n in discovery.process.nodes if n.kind == "task"}
        labels: dict[str, str] = {}
        for flow in discovery.process.flows:
            edge = edges.get((names.get(flow.source, ""), names.get(flow.target, "")))
            if edge is not None:
                labels[flow.id] = f"{edge.count:,} · {format_duration(edge.median_seconds)}"
        model_title = "\n".join([f"Discovered model ({discovery.miner} miner, noise "
                                 f"{discovery.noise:g}, "
                                 f"{counted(discovery.cases, 'case', spec=',')})",
                                 *discovery.channel_lines()])
        if discovery.left_out:
            model_title += (f"\nfrom the {len(discovery.tasks) - discovery.left_out['activities']}"
                            f" most frequent of {len(discovery.tasks):,} activities")
        # Its soundness and fitness where the picture is looked at (before: on the console
        # and in discovery.json only, a model that cannot finish drawn as any other).
        model_title = "\n".join([model_title, *verdict_lines(discovery, fitness=fitness)])
        if discovery.form == "finishing runs":  # (the verdict above is the miner's net's)
            model_title += "\ndrawn: the net's runs that can finish (model.bpmn, an SOP)"
        elif discovery.form == "view only":
            model_title += "\nfor viewing only: model.bpmn is no SOP (discovery.json)"
        progress.stage("drawing the model")
        dot = process_dot(discovery.process, discovery.tasks, labels, title=model_title)
        for path in write_graph(DrawnGraph("model", model_title, "", dot), out):
            written[f"model.{path.suffix[1:]}"] = path
    else:  # (the dfg miner: no model; an earlier run's would read as this one's)
        for suffix in ("bpmn", "svg", "png"):
            (out / f"model.{suffix}").unlink(missing_ok=True)
    if imported is not None:
        from audit.store import write_quarantine

        # The rows the counts call quarantined, with their reasons, as check writes them.
        written[QUARANTINE_NAME] = write_quarantine(imported.quarantine,
                                                    out / QUARANTINE_NAME)
    if discovery.variants is not None:
        progress.stage("writing the variants")
        written[VARIANTS_NAME] = write_variants(discovery.variants, out / VARIANTS_NAME)
    summary_path = out / "discovery.json"
    from audit import __version__
    from audit.ingest.sizes import cut_all

    # (a label longer than `REPORT_VALUE` cut, as report.html cuts it: before, a 28 MB
    # Parquet log of 14 activity labels of 500,000 characters made a discovery.json of
    # 178 MB, each label written once per variant and edge naming it)
    summary = cut_all({"tool": "refund-audit", "version": __version__, "log": source,
                       "policy": policy,
                       "mapping": (files or {}).get("mapping"),
                       "sources_config": (files or {}).get("sources_config"),
                       "import": intake, **discovery_summary(discovery)},
                      whole=("sequence",))
    summary_path.write_text(json.dumps(summary, indent=2,
                                       ensure_ascii=False) + "\n", encoding="utf-8")
    written["discovery.json"] = summary_path
    return written


_VARIANT_BLOCK = 20_000
"""Variants written at a time (their text, not the whole file's, is held)."""


def write_variants(variants: Variants, path: Path) -> Path:
    """variants.csv: every variant, the most frequent first (`VARIANT_COLUMNS`, each row
    `variant_fields`), formula-like cells neutralised as quarantine.csv's are (a sequence
    or a case id starting with "=" is written with an apostrophe before it)."""
    import pandas as pd

    from audit.csvtext import frame_csv
    from audit.safety import neutralise_frame

    with path.open("wb") as handle:
        handle.write(frame_csv(pd.DataFrame(columns=list(VARIANT_COLUMNS))).encode("utf-8"))
        for start in range(0, len(variants.variants), _VARIANT_BLOCK):
            rows = [variant_fields(variants, rank, variant) for rank, variant in enumerate(
                variants.variants[start:start + _VARIANT_BLOCK], start + 1)]
            # (columns of objects as they are: a frame of the rows wrote 3600 as 3600.0)
            block = pd.DataFrame({name: pd.Series([row[name] for row in rows], dtype=object)
                                  for name in VARIANT_COLUMNS})
            handle.write(frame_csv(neutralise_frame(block), header=False).encode("utf-8"))
    return path


def variant_fields(variants: Variants, rank: int, variant: Variant) -> dict[str, Any]:
    """A variant as variants.csv writes it (`VARIANT_COLUMNS`) and discovery.json lists it: its
    rank (1 the most frequent), its cases and their share of all cases (in percent, rounded to
    two decimals, or more where two would read 100 or 0: `share_percent`), its events per case,
    the median and 90th percentile of its cases' throughput times (seconds, to the millisecond,
    and in words), its activities joined by " -> " and its example case; a label or case id
    longer than `REPORT_VALUE` cut (`cut`: before, variants.csv held each whole, once per
    variant naming it: 119 MB of a 28 MB log), its marker holding the label's digest (two
    labels cut alike made two variants of one sequence)."""
    from audit.ingest.sizes import REPORT_VALUE, cut
    from audit.words import duration

    median, p90 = _seconds(variant.median_seconds), _seconds(variant.p90_seconds)
    return {"rank": rank, "cases": variant.cases,
            "share_percent": share_percent(variant.cases, variants.cases),
            "events_per_case": len(variant.sequence),
            "median_throughput_seconds": median, "median_throughput": duration(median),
            "p90_throughput_seconds": p90, "p90_throughput": duration(p90),
            "sequence": SEQUENCE_JOIN.join(cut(label, REPORT_VALUE, told=True)
                                           for label in variant.sequence),
            "example_case": cut(variant.example_case, REPORT_VALUE, told=True)}


def share_percent(part: int, whole: int) -> float:
    """`part` of `whole` in percent, to two decimals, or to as many more as it takes not to
    read as all (100.0) short of all, nor as none (0.0) of some: 99,999 of 100,000 cases are
    99.999, 1 of 1,000,000 are 0.0001 (as discover's console line never says "100.0%" short
    of all cases)."""
    if not whole:
        return 0.0
    share = 100 * part / whole
    digits = 2
    while digits < 15 and ((part < whole and round(share, digits) >= 100)
                           or (part > 0 and round(share, digits) <= 0)):
        digits += 1
    return round(share, digits)


def _seconds(value: float) -> float | int | None:
    """A time in seconds as variants.csv and discovery.json write it: to the millisecond,
    a whole number without decimals; None where unknown (NaN)."""
    if math.isnan(value):
        return None
    rounded = round(value, 3)
    return int(rounded) if rounded.is_integer() else rounded


def variants_summary(variants: Variants | None) -> dict[str, Any] | None:
    """discovery.json's `variants`: how many, the file listing them all, and the
    `TOP_VARIANTS` most frequent (`variant_fields`, and `activities`: the sequence as a
    list, which a label holding " -> " cannot make ambiguous)."""
    if variants is None:
        return None
    return {"count": len(variants.variants), "file": VARIANTS_NAME,
            "top": [{**variant_fields(variants, rank, variant),
                     "activities": list(variant.sequence)}
                    for rank, variant in enumerate(variants.variants[:TOP_VARIANTS], 1)]}


def throughput_summary(variants: Variants | None) -> dict[str, Any] | None:
    """discovery.json's `case_throughput`: the cases and the median, 90th percentile and
    maximum of their throughput times (first to last event), in seconds."""
    if variants is None:
        return None
    return {"cases": variants.cases, "median_seconds": _seconds(variants.median_seconds),
            "p90_seconds": _seconds(variants.p90_seconds),
            "max_seconds": _seconds(variants.max_seconds)}


def verdict_lines(discovery: Discovery, *, fitness: bool = True) -> list[str]:
    """The model's soundness and fitness as lines of its drawing's title (each cut at 60
    characters where drawn): "NOT SOUND:", each problem wrapped over up to 3 lines,
    "fitness 0.965: 246 of 300 cases fit"; or "sound; fitness 1.000: 300 of 300 cases
    fit". `fitness`: whether the fitness was asked for (`write_discovery`)."""
    soundness = discovery.soundness
    lines: list[str]
    if soundness is None:
        lines = ["soundness not judged: the model could not be read back"]
    elif soundness.verdict == "sound":
        lines = ["sound"]
    else:
        lines = [("NOT SOUND" if soundness.verdict == "unsound" else "soundness undecided")
                 + (":" if soundness.problems else "")]
        for problem in soundness.problems:  # (wrapped, at most 3 lines each)
            wrapped = textwrap.wrap(f"- {problem}", 58, subsequent_indent="  ")
            if len(wrapped) > 3:
                wrapped = [*wrapped[:2], wrapped[2][:57].rstrip() + "…"]
            lines += wrapped
    if discovery.fitness is not None:
        fit = discovery.fitness
        fitted = (f"fitness {fit.log_fitness:.3f}: {fit.fitting_cases:,} of "
                  f"{counted(fit.cases, 'case', spec=',')} fit")
        if len(lines) == 1:
            lines = [f"{lines[0]}; {fitted}"]
        else:
            lines.append(fitted)
    elif fitness:
        lines.append("fitness not computed (see discovery.json's notes)")
    return lines


def model_verdict(discovery: Discovery) -> str:
    """discovery.json's model.verdict: the soundness, its problems and the fitness in a
    sentence ("not sound: 4 transition(s) can never fire: ...; 246 of 300 cases fit,
    log fitness 0.965")."""
    soundness = discovery.soundness
    if soundness is None:
        said = "soundness not judged: the model could not be read back"
    elif soundness.verdict == "sound":
        said = "sound"
    else:
        said = ("not sound" if soundness.verdict == "unsound" else "soundness undecided") + (
            ": " + "; ".join(soundness.problems) if soundness.problems else "")
    fit = discovery.fitness
    return said + ("; fitness not computed" if fit is None else
                   f"; {fit.fitting_cases:,} of {counted(fit.cases, 'case', spec=',')} fit, "
                   f"log fitness {fit.log_fitness:.3f}")


def discovery_summary(discovery: Discovery) -> dict[str, Any]:
    """The JSON view of a discovery."""
    process, filtered = discovery.process, discovery.filtered
    return {
        "miner": discovery.miner,
        "noise": discovery.noise,
        "max_activities": discovery.max_activities,
        # (what it was computed on: the --channel kept, and the log's cases by channel)
        "channel": None if discovery.channels is None else discovery.channels.channel,
        "channels": None if discovery.channels is None else discovery.channels.as_dict(),
        "cases": discovery.cases,
        "events": discovery.events,
        "activities": {a: {"events": f.events,
                           "median_wait_seconds": None if math.isnan(f.median_wait_seconds)
                           else f.median_wait_seconds,
                           **({} if discovery.variants is None else
                              {"cases": discovery.variants.activity_cases.get(a, 0)})}
                       for a, f in discovery.tasks.items()},
        "case_throughput": throughput_summary(discovery.variants),
        "variants": variants_summary(discovery.variants),
        "dfg": {
            "starts": discovery.dfg.starts, "ends": discovery.dfg.ends,
            # Every edge; for the dfg miner each says whether its noise filter kept it
            # (drawn) and whether only to connect an activity (below the threshold).
            "edges": [{"source": e.source, "target": e.target, "count": e.count,
                       "median_seconds": None if math.isnan(e.median_seconds)
                       else e.median_seconds, **_filtered_edge(discovery.filtered, e)}
                      for e in discovery.dfg.edges],
            "noise_filter": None if filtered is None else {
                "noise": filtered.noise, "edges": filtered.edges,
                "kept": len(filtered.kept.edges), "left_out": filtered.left_out,
                "kept_to_connect": len(filtered.connecting)},
        },
        "model": None if process is None else {
            "tasks": sum(1 for n in process.nodes if n.kind == "task"),
            "gateways": sum(1 for n in process.nodes
                            if n.kind in ("exclusive", "parallel", "inclusive")),
            "flows": len(process.flows),
            "sound": None if discovery.soundness is None else discovery.soundness.answer,
            "verdict": model_verdict(discovery),
            "soundness_problems": [] if discovery.soundness is None
            else [cut_middle(problem) for problem in discovery.soundness.problems],
            "written_as": discovery.form,
            "usable_as_sop": discovery.form != "view only",
            "not_on_a_finishing_run": list(discovery.off_runs),
        },
        "fitness": None if discovery.fitness is None else {
            # (of optimal alignments, as pm4py's fitness_alignments: its token-based
            # replay, which a pm4py user reaches for first, gives another number)
            "method": "alignments",
            "log_fitness": discovery.fitness.log_fitness,
            "fitting_cases": discovery.fitness.fitting_cases,
            "cases": discovery.fitness.cases,
        },
        "left_out_of_the_model": discovery.left_out or None,
        # (cut to their start and end where a value of megabytes is quoted, as check's
        # warnings and every console line are: words.cut_middle)
        "notes": [cut_middle(note) for note in discovery.notes],
        "warnings": [cut_middle(warning) for warning in discovery.warnings],
    }


def _filtered_edge(filtered: NoiseFilter | None, edge: Any) -> dict[str, bool]:
    """An edge's marks in discovery.json: kept by the noise filter (drawn), and kept only to
    connect an activity; none where no filter ran (the inductive and heuristics miners)."""
    if filtered is None:
        return {}
    pair = (edge.source, edge.target)
    connects = pair in filtered.connecting
    return {"kept": pair in filtered.pairs, "kept_to_connect": connects}


FINISHING_MAX_STATES = 300
"""The most states of the miner's net `finishing_runs` explores (an unbounded net has no
end of states; a large one makes a model no one reads, and Graphviz's layout slow: 8
parallel steps, 256 states, are about 1,500 BPMN nodes, laid out and drawn in about 20 s;
1,024 states took more than 10 minutes)."""


class NoFinishingRuns(Exception):
    """`finishing_runs` cannot write the net's runs that can finish; the message says why."""


def finishing_runs(net: WorkflowNet, *, name: str,
                   max_states: int = FINISHING_MAX_STATES) -> ProcessGraph:
    """The runs of `net` that can finish (reach the sink with nothing else left, as an
    alignment requires) as a BPMN process of exclusive gateways only: one state of the net
    where runs meet or part is an exclusive gateway, each step between two states a task (a
    silent step a bare sequence flow), so a task may stand more than once. States from which
    the net cannot finish, and steps into them, are left out: they are in no trace that fits,
    so the process accepts exactly the traces the net does (the same fitting traces and the
    same alignments), and our BPMN reader reads it back. Used where the heuristics net's
    BPMN form (pm4py's: a gateway per place and per transition) is refused by that reader,
    e.g. a run that reaches the end while a parallel branch still waits. Raises
    NoFinishingRuns where the net has more than `max_states` reachable states (or is
    unbounded), or no run finishes."""
    from collections import Counter

    pre: dict[str, list[str]] = {t.name: [] for t in net.transitions}
    post: dict[str, list[str]] = {t.name: [] for t in net.transitions}
    places = set(net.places)
    for tail, head in net.arcs:
        if tail in places:
            pre[head].append(tail)
        else:
            post[tail].append(head)
    steps = sorted(net.transitions, key=lambda t: t.name)
    start: tuple[str, ...] = (net.source,)
    final: tuple[str, ...] = (net.sink,)
    index = {start: 0}
    states = [start]
    edges: list[tuple[int, str | None, int]] = []
    todo = [0]
    while todo:
        at = todo.pop(0)
        marking = Counter(states[at])
        if states[at] == final:
            continue  # (a workflow net's run ends there)
        for step in steps:
            need = Counter(pre[step.name])
            if not need or any(marking[p] < n for p, n in need.items()):
                continue
            after = tuple(sorted((marking - need + Counter(post[step.name])).elements()))
            if after not in index:
                if len(states) >= max_states:
                    raise NoFinishingRuns(f"the miner's net has more than {max_states:,} "
                                          "reachable states (or is unbounded)")
                index[after] = len(states)
                states.append(after)
                todo.append(index[after])
            edges.append((at, step.label, index[after]))
    if final not in index:
        raise NoFinishingRuns("no run of the miner's net reaches its end")
    finishing = {index[final]}
    changed = True
    while changed:
        changed = False
        for source, _, target in edges:
            if target in finishing and source not in finishing:
                finishing.add(source)
                changed = True
    if 0 not in finishing:  # (cannot happen: the end is reached from the start)
        raise NoFinishingRuns("no run of the miner's net can finish")
    kept = [e for e in edges if e[0] in finishing and e[2] in finishing]
    end = index[final]
    ins: dict[int, list[int]] = {s: [] for s in finishing}
    outs: dict[int, list[int]] = {s: [] for s in finishing}
    for k, (source, _, target) in enumerate(kept):
        outs[source].append(k)
        ins[target].append(k)
    # The start event comes into state 0, the end event goes out of the final state.
    ins[0].append(-1)
    outs[end].append(-2)
    nodes: list[ProcessNode] = [ProcessNode("StartEvent_1", "start"),
                                ProcessNode("EndEvent_1", "end")]
    element: dict[int, str] = {-1: "StartEvent_1", -2: "EndEvent_1"}
    tasks = 0
    for k, (_, label, _) in enumerate(kept):
        if label is not None:
            tasks += 1
            element[k] = f"Task_{tasks}"
            nodes.append(ProcessNode(element[k], "task", label))
    join: dict[int, str] = {}
    split: dict[int, str] = {}
    gateways = 0

    def gateway() -> str:
        nonlocal gateways
        gateways += 1
        nodes.append(ProcessNode(f"Gateway_{gateways}", "exclusive"))
        return f"Gateway_{gateways}"

    flows: list[tuple[str, str]] = []
    for state in sorted(finishing):
        many_in, many_out = len(ins[state]) > 1, len(outs[state]) > 1
        silent_through = not many_in and not many_out and ins[state][0] not in element \
            and outs[state][0] not in element
        if many_in or silent_through:
            join[state] = gateway()
        if many_out:
            split[state] = gateway()
        if state in join and state in split:
            flows.append((join[state], split[state]))
        elif state in join:
            split[state] = join[state]
        elif state in split:
            join[state] = split[state]

    def into(state: int) -> str:
        """The node a flow coming into `state` goes to."""
        seen: set[int] = set()
        while state not in join:
            seen.add(state)
            (out,) = outs[state]
            if out in element:
                return element[out]
            state = kept[out][2]
            if state in seen:  # (a silent cycle of pass-through states: cannot happen)
                raise ValueError("a silent cycle without a gateway")
        return join[state]

    flows.append(("StartEvent_1", into(0)))
    for k, (source, _, target) in enumerate(kept):
        if k in element:
            flows.append((element[k], into(target)))
            if source in split:
                flows.append((split[source], element[k]))
        elif source in split:
            flows.append((split[source], into(target)))
    if end in split:
        flows.append((split[end], "EndEvent_1"))
    return ProcessGraph(tuple(nodes), tuple(ProcessFlow(f"Flow_{k}", s, t)
                                            for k, (s, t) in enumerate(flows, 1)), name)
