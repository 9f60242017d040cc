"""The SOP of each channel drawn with the run's conformance on it, and the top deviations.

The SOP's tasks are drawn in their lanes (one cluster per lane) with the sequence flows
between tasks (gateways, events and sub-process borders are collapsed into task-to-task
edges; the branches of boundary events and event sub-processes are drawn from the tasks
they can directly follow: `sop_graph`). Each task says in how many cases it occurred in
sync with the SOP, and in how many it was skipped, inserted or out of order; each flow how
many cases went from one task directly to the next (the log projected on SOP tasks).
Shades grade the deviations (below).

The deviations come from the conformance result the run computed
(`run.result.extra["conformance_result"]`, a `conformance.deviations.ConformanceResult`);
nothing is aligned again. A run that does not carry it is read from its CF findings instead
(skipped-activity, unexpected-activity, wrong-order: same cases, same tasks, same events).

A task is shaded, and its border drawn the wider, by the share of the channel's judged cases
that deviate at it (`BANDS`: a graduated scale, light to dark, ColorBrewer's sequential
OrRd, which tells its steps apart by lightness, so also to a colour-blind reader and on a
grey print), and its label counts them ("deviates in 1 of 141 cases, 0.7%"): a task
deviating in 1 case of 141 is drawn light and thin, one deviating in most cases dark and
thick. The direct successions the SOP has no flow for are graded the same. A legend on the
graph and in the report states the bands.
"""

from __future__ import annotations

import math
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit import canonical as C
from conformance.bpmn import catching
from reports.graphs import FONTS, DrawnGraph, LegendKey, _label, neighbour_pairs

if TYPE_CHECKING:
    from audit.checkrun import CheckRun
    from conformance.bpmn import BpmnModel

KIND_RULES = {"skipped": "skipped-activity", "inserted": "unexpected-activity",
              "wrong-order": "wrong-order"}
"""Deviation kind -> the CF rule reporting it."""


@dataclass(frozen=True)
class Band:
    """One step of the deviation scale: shares below `below` (and at or above the step
    before's), drawn with `fill`, a border or line of `line` colour and `width` points."""

    below: float
    text: str
    fill: str
    line: str
    width: float
    font: str = "#000000"


BANDS = (
    Band(0.01, "under 1%", "#fef0d9", "#fdbb84", 1.6),
    Band(0.05, "1% to under 5%", "#fdcc8a", "#fc8d59", 2.2),
    Band(0.20, "5% to under 20%", "#fc8d59", "#e34a33", 3.0),
    Band(0.50, "20% to under 50%", "#e34a33", "#b30000", 3.8),
    Band(float("inf"), "50% or more", "#b30000", "#7f0000", 4.6, font="#ffffff"),
)
"""The graduated scale of the share of a channel's judged cases deviating at a task (or
making a succession the SOP has no flow for): ColorBrewer's 5-class OrRd as fills (each
band's line one step darker), light to dark, with the border or line the wider the darker;
text on the darkest fill is white (each text has at least 4.5:1 contrast on its fill).
`compare`'s diff graph grades the edges only in an as-is log on it too, by the share of the
log's cases taking them (`conformance.compare.diff_dot`)."""
NO_DEVIATION = Band(0.0, "no deviation", "#e8f0fb", "#2f5597", 1.0)
"""A task at which no case deviates."""


def band(cases: int, of: int) -> Band:
    """The band of `cases` deviating of `of` judged cases (`NO_DEVIATION` where none)."""
    if cases <= 0 or of <= 0:
        return NO_DEVIATION
    share = cases / of
    return next(b for b in BANDS if share < b.below)


def share_text(cases: int, of: int) -> str:
    """A share of cases as a percentage with one decimal, never rounded to 0% or 100%
    where it is neither, nor up to the bound of a band (`BANDS`) it is under: "0.7%",
    "under 0.1%", "over 99.9%", "100%", "4.9%" (6 of 121)."""
    if of <= 0:
        return "no cases"
    if cases >= of:
        return "100%"
    share = cases / of
    if share <= 0:
        return "0%"
    if share < 0.0005:
        return "under 0.1%"
    if share >= 0.9995:
        return "over 99.9%"
    text = f"{share:.1%}"
    # Never rounded up to a band's bound it is under (6 of 121 cases, 4.96%, read "5.0%"
    # and were drawn in "1% to under 5%"): cut to the tenth below it instead ("4.9%").
    if any(share < b.below <= float(text[:-1]) / 100 for b in BANDS):
        text = f"{math.floor(share * 1000) / 10:.1f}%"
    return text


def deviates_text(deviating: int, cases: int) -> str:
    """A task's count of the channel's `cases` judged cases deviating at it, as its label
    in the graph says it: "deviates in 1 of 141 cases, 0.7%"."""
    return (f"deviates in {deviating:,} of {cases:,} case" + ("" if cases == 1 else "s")
            + f", {share_text(deviating, cases)}")


def scale_text(cases: int, example: tuple[str, int] | None) -> str:
    """The scale as a sentence, for the graph's caption in the report; `example`: a task
    of the channel and its cases deviating at it (the most), quoted as its label says it,
    with the channel's own numbers; None where no task of the channel deviates (before,
    every channel's caption quoted e-commerce's "1 of 141 cases")."""
    told = (f'Each task says how many, e.g. {example[0]}: "{deviates_text(example[1], cases)}"'
            if example is not None else
            "A task where cases deviate says in how many of the channel's cases, and their "
            "share (no task of this channel deviates)")
    return (f"Shading and border width grade the share of the channel's "
            f"{cases:,} judged case{'' if cases == 1 else 's'} that deviate at a task "
            "(skipped, inserted or out of order), light and thin to dark and thick: "
            + "; ".join(b.text for b in BANDS) + f"; blue, thin: no deviation. {told}.")


def caption_example(overlay: ChannelOverlay) -> tuple[str, int] | None:
    """The task of the channel deviating in the most of its cases (ties: by name), and
    that count; None where none deviates."""
    counts = [(task, c.deviating_cases()) for task, c in overlay.tasks.items()]
    counts = [(task, n) for task, n in counts if n]
    if not counts:
        return None
    return min(counts, key=lambda tn: (-tn[1], tn[0]))


MAX_EXTRA_EDGES = 12
"""Directly-follows pairs of the log that the SOP has no flow for, drawn (most frequent)."""

MAX_SOP_ARROWS = 150
"""The SOP's task-to-task arrows drawn at most (the directly-follows graph's MAX_EDGES).
A permissive model lets nearly any task follow any other (pm4py's receipt.bpmn: 630 arrows
among 27 tasks): drawn whole, Graphviz spent minutes laying out a picture no one can read.
Past it, the arrows no case took are left out and the most taken kept (`sop_arrows`)."""


# --- per-case deviations, from the run --------------------------------------------------------
# Slotted, so no dict each, and not frozen, since a frozen dataclass is made field by field
# through object.__setattr__ (4x the time).
@dataclass(slots=True)
class CaseDeviations:
    case_id: str
    channel: str
    deviations: tuple[tuple[str, str, tuple[str, ...]], ...]
    """(kind, task, event ids) per deviation."""
    sync_tasks: frozenset[str]
    """SOP tasks that occurred in sync with the SOP in this case."""


@dataclass
class Deviations:
    """Per-case deviations of the judged cases and where they were read from."""

    cases: Mapping[str, CaseDeviations] = field(default_factory=dict)
    """Every judged case by its id (from a conformance result: `_ResultCases`, each case
    made when read)."""
    source: str = "none"
    """'conformance result', 'findings' or 'none'."""

    def in_sync(self) -> Counter[tuple[str, frozenset[str]]]:
        """How many cases have each (channel, tasks in sync), in the order they appear."""
        if isinstance(self.cases, _ResultCases):
            return self.cases.in_sync()
        return Counter(map(_channel_and_sync, self.cases.values()))

    def deviating(self) -> list[CaseDeviations]:
        """The cases with a deviation, in case order (most cases have none)."""
        if isinstance(self.cases, _ResultCases):
            return self.cases.deviating()
        return list(filter(_deviating, self.cases.values()))


_channel_and_sync = operator.attrgetter("channel", "sync_tasks")
_deviating = operator.attrgetter("deviations")  # a case's deviations


class _ResultCases(Mapping[str, CaseDeviations]):
    """The cases of a conformance result (`result.cases`: case id -> CaseConformance) as
    CaseDeviations, each made when it is read and not kept: a million at 1M cases cost
    0.6 s and 100 MB held through the reports. The counts of the cases in sync and the
    cases with a deviation (about one in ten), which the overlay and the report read, are
    computed from the result's cases without one per case."""

    def __init__(self, cases: Mapping[str, Any]) -> None:
        self._cases = cases
        self._sync: dict[int, frozenset[str]] = {}  # per alignment: the result holds them
        self._deviating: list[CaseDeviations] | None = None

    def _sync_of(self, alignment: Any) -> frozenset[str]:
        sync = self._sync.get(id(alignment))
        if sync is None:
            sync = self._sync[id(alignment)] = frozenset(
                m.model for m in alignment.moves if m.kind == "sync" and m.model is not None)
        return sync

    def _made(self, case: Any) -> CaseDeviations:
        deviations = tuple((d.kind, d.task, tuple(d.event_ids))
                           for d in case.deviations) if case.deviations else ()
        return CaseDeviations(str(case.case_id), str(case.channel), deviations,
                              self._sync_of(case.alignment))

    def __getitem__(self, case_id: str) -> CaseDeviations:
        return self._made(self._cases[case_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self._cases)  # keyed by the cases' ids, as CaseConformance.case_id

    def __len__(self) -> int:
        return len(self._cases)

    def in_sync(self) -> Counter[tuple[str, frozenset[str]]]:
        from conformance.deviations import alignment_counts

        counted: Counter[tuple[str, frozenset[str]]] = Counter()
        for channel, alignment, n in alignment_counts(self._cases):
            counted[str(channel), self._sync_of(alignment)] += n
        return counted

    def deviating(self) -> list[CaseDeviations]:
        if self._deviating is None:
            from conformance.deviations import deviating_cases

            self._deviating = list(map(self._made, deviating_cases(self._cases)))
        return list(self._deviating)


def _projected(run: CheckRun, *, ids: bool = True) -> pd.DataFrame:
    """The log on SOP task names: case, channel, task, event id, time; per case in time order
    (`EVENT_ORDER`: events at one time by the ids the log states, else as their source lists
    them, `SAME_TIME_ORDER`, as conformance and `discover` take them). Cases and event ids
    stay Arrow strings, channels and tasks are categories: no Python object per event (a
    1M-case log has 6M such events).

    With `ids` False (all that flow counts need): case, channel, task, where "case" is the
    number of the case's run of rows (missing case ids: one run, as factorize makes them),
    not its id, and there is no event id: the 6M ids and cases are not taken a second time
    (0.3 GB at 1M cases)."""
    log = run.log_at_clock()  # (the flows of the log as the rules judged it)
    tasks = run.policy.sop_tasks()
    if log.empty or not tasks:
        return pd.DataFrame(columns=["case", "channel", "task", "eid"] if ids
                            else ["case", "channel", "task"])
    at = np.flatnonzero(log[C.ACTIVITY].isin(list(tasks)).to_numpy(dtype=bool))
    number: np.ndarray | None = None
    whole = _order_keys(log)
    if C.event_order(whole) is None:
        # Already in that order (neighbours compared): any rows of it are, so the events
        # are taken where they are, not sorted.
        rows = at
        if not ids:  # runs of the whole log's cases, numbered among the rows taken
            # (in 32 bits where they fit, and compared as numbers: about 0.1 GB less at 1M)
            runs = np.cumsum(_run_starts(whole[C.CASE]), dtype=np.int32 if len(log) <
                             np.iinfo(np.int32).max else np.int64)[at]
            starts = np.ones(len(runs), dtype=bool)
            starts[1:] = runs[1:] != runs[:-1]
            del runs
            number = np.cumsum(starts, dtype=np.int64) - 1
        del whole
    else:
        del whole
        # Sorted by the ids as text, with Arrow's sort; the keys are dropped before the
        # columns are taken in that order (not a second copy of 6M case and event ids).
        keys = _order_keys(log.iloc[at])
        found = C.event_order(keys)
        order = np.arange(len(at)) if found is None else found
        if not ids:
            number = np.cumsum(
                _run_starts(pd.Series(keys[C.CASE].array.take(order), copy=False))) - 1
        del keys
        rows = at[order]
    # Each label's task once; labels sharing a task share its category.
    codes, labels = pd.factorize(log[C.ACTIVITY].iloc[rows])
    names = [str(tasks[label]) for label in labels]
    categories = list(dict.fromkeys(names))
    task_code = np.array([categories.index(name) for name in names] + [-1], dtype=np.int64)
    # Each event with its case's channel, the one the rules aligned the case by (not its
    # own: a case may state several, or state it on one event only).
    channel = run.channels_of(log[C.CASE].iloc[rows])
    if number is not None:
        return pd.DataFrame({
            "case": number,
            "channel": pd.Categorical(channel),
            "task": pd.Categorical.from_codes(task_code[codes], categories=pd.Index(categories)),
        }, copy=False)
    return pd.DataFrame({
        "case": log[C.CASE].iloc[rows].astype("string").array,
        "channel": pd.Categorical(channel),
        "task": pd.Categorical.from_codes(task_code[codes], categories=pd.Index(categories)),
        "eid": log[C.EVENT_ID].iloc[rows].astype("string").array,
        "time": log[C.TIMESTAMP].iloc[rows].array,  # tz-aware as it is: no object conversion
    }, copy=False)


def _order_keys(log: pd.DataFrame) -> pd.DataFrame:
    """What `C.event_order` orders `log`'s events by (case, time, event id, and where the log
    has them `source:file` and `source:row`), without a copy of its columns."""
    keys = {C.CASE: C.order_key(log[C.CASE]).array, C.TIMESTAMP: log[C.TIMESTAMP].array,
            C.EVENT_ID: log[C.EVENT_ID].astype("string").array}
    for name in C.SAME_TIME_ORDER[1:]:
        if name in log.columns:
            keys[name] = log[name].array
    return pd.DataFrame(keys, copy=False)


def run_deviations(run: CheckRun) -> Deviations:
    """The run's per-case deviations: its conformance result, else its CF findings (once
    per run: the overlay graphs and the report's top deviations both read them)."""
    key = f"deviations-{id(run.result.extra.get('conformance_result'))}"
    cached: Deviations | None = run.memo.get(key)
    if cached is None:
        cached = run.memo[key] = _run_deviations(run)
    return cached


def _run_deviations(run: CheckRun) -> Deviations:
    result = run.result.extra.get("conformance_result")
    if result is not None and hasattr(result, "cases"):
        return Deviations(_ResultCases(result.cases), source="conformance result")
    return _from_findings(run)


def _split_tasks(text: str, known: Iterable[str]) -> list[str]:
    """The task names of a finding's 'tasks' evidence (sorted names joined by ', ')."""
    names = [t for t in known
             if text == t or text.startswith(t + ", ") or text.endswith(", " + t)
             or f", {t}, " in text]
    return sorted(names)


def _from_findings(run: CheckRun) -> Deviations:
    rules = {v: k for k, v in KIND_RULES.items()}
    cf = [f for f in run.result.findings if f.name in rules]
    if not run.policy.sop or not run.summary()["conformance"]:
        return Deviations()
    projected = _projected(run)
    task_of = dict(zip(projected["eid"], projected["task"], strict=True))
    channel_of = dict(zip(projected["case"], projected["channel"], strict=True))
    known = set(projected["task"])
    for f in cf:
        known.update(t.strip() for t in str(f.evidence.get("tasks", "")).split(", "))
    judged = {ch for ch in set(channel_of.values()) if run.policy.sop_path(ch) is not None}
    cases: dict[str, CaseDeviations] = {}
    per_case: dict[str, list[tuple[str, str, tuple[str, ...]]]] = defaultdict(list)
    for f in cf:
        kind = rules[f.name]
        for task in _split_tasks(str(f.evidence.get("tasks", "")), known):
            ids = tuple(e for e in f.event_ids if kind == "skipped" or task_of.get(e) == task)
            per_case[f.case_id].append((kind, task, ids))
    misplaced = {e for devs in per_case.values() for kind, _, ids in devs
                 if kind != "skipped" for e in ids}
    for case, group in projected.groupby("case", sort=True):
        channel = channel_of[str(case)]
        if channel not in judged:
            continue
        sync = frozenset(t for t, e in zip(group["task"], group["eid"], strict=True)
                         if e not in misplaced)
        cases[str(case)] = CaseDeviations(str(case), channel,
                                          tuple(per_case.get(str(case), [])), sync)
    return Deviations(cases, source="findings")


# --- counts -----------------------------------------------------------------------------------
@dataclass
class TaskCounts:
    sync: int = 0
    """Cases in which the task occurred in sync with the SOP."""
    skipped: int = 0
    """Cases in which the task was skipped."""
    inserted: int = 0
    """Events of the task the SOP does not allow where they happened."""
    inserted_cases: int = 0
    wrong_order: int = 0
    """Cases in which the task was done out of the SOP's order."""
    deviating: int = 0
    """Cases with any deviation at the task (skipped, inserted or out of order: a case
    with several counts once)."""

    def deviating_cases(self) -> int:
        """`deviating`, at least each kind's count of cases (counts made by hand may leave
        `deviating` unset)."""
        return max(self.deviating, self.skipped, self.wrong_order, self.inserted_cases)


@dataclass
class ChannelOverlay:
    channel: str
    sop: Path
    cases: int
    tasks: dict[str, TaskCounts]
    flows: dict[tuple[str, str], int]
    """(task, task) -> cases that went from the one directly to the other (projected log)."""
    starts: dict[str, int]
    ends: dict[str, int]


def task_counts(deviations: Deviations) -> dict[str, dict[str, TaskCounts]]:
    """Per channel, per task: in how many cases it was in sync, skipped, inserted (events
    and cases) or out of order. One pass over the cases for all channels."""
    counts: dict[str, defaultdict[str, TaskCounts]] = defaultdict(
        lambda: defaultdict(TaskCounts))
    # Cases of one variant share one set of tasks in sync: counted per (channel, set), not
    # per case (a million at 1M cases), and only the cases with a deviation walked.
    in_sync = deviations.in_sync()
    for case in deviations.deviating():
        mine = counts[case.channel]
        skipped, wrong, inserted_cases = set(), set(), set()
        for kind, task, ids in case.deviations:
            if kind == "skipped":
                skipped.add(task)
            elif kind == "wrong-order":
                wrong.add(task)
            else:
                mine[task].inserted += max(len(ids), 1)
                inserted_cases.add(task)
        for task in skipped:
            mine[task].skipped += 1
        for task in wrong:
            mine[task].wrong_order += 1
        for task in inserted_cases:
            mine[task].inserted_cases += 1
        for task in skipped | wrong | inserted_cases:
            mine[task].deviating += 1
    for (channel, tasks), n in in_sync.items():
        mine = counts[channel]
        for task in tasks:
            mine[task].sync += n
    return {channel: dict(tasks) for channel, tasks in counts.items()}


def flow_counts(projected: pd.DataFrame, channel: str) -> tuple[
        dict[tuple[str, str], int], dict[str, int], dict[str, int], int]:
    """Per pair of tasks the cases of `channel` with one directly followed by the other (on
    the log projected on SOP tasks); per task the cases starting and ending with it. Rows
    without a task (a projection has none) are left out: their neighbours follow each
    other."""
    mine = projected[(projected["channel"] == channel).to_numpy(dtype=bool)]
    if mine.empty:
        return {}, {}, {}, 0
    # On integer codes: where a case starts (the rows come grouped by case: neighbours
    # compared, not a hash of 6M case ids) and the task's code.
    tasks = mine["task"]
    if tasks.hasnans:  # (a projected log has none): rows with no task are no step
        mine = mine[tasks.notna().to_numpy(dtype=bool)]
        tasks = mine["task"]
    first = _run_starts(mine["case"])
    if isinstance(tasks.dtype, pd.CategoricalDtype):
        codes: np.ndarray = tasks.cat.codes.to_numpy()
        names = np.asarray(tasks.cat.categories, dtype=object)
    else:
        codes, distinct = pd.factorize(tasks)
        names = np.asarray(distinct, dtype=object)
    del mine, tasks
    last = np.ones(len(first), dtype=bool)
    last[:-1] = first[1:]
    # Each pair (source code * tasks + target code, `neighbour_pairs`) and the number of
    # its case: a pair counts once per case, however often the case repeats it. Sorted by
    # the pair (stable: a radix sort in 16 bits), the rows of one pair keep the cases'
    # order, so repeats in one case are neighbours, and the first row of each pair is
    # where it is first seen: no sort of (case, pair) keys.
    width = max(len(names), 1)
    inner = np.flatnonzero(~last[:-1])  # the pairs within one case
    pair = neighbour_pairs(codes, width)[inner]
    number = np.cumsum(first, dtype=np.int64 if len(first) > np.iinfo(np.int32).max
                       else np.int32)[inner]
    order = np.argsort(pair, kind="stable")
    pair, number = pair[order], number[order]
    fresh = np.ones(len(pair), dtype=bool)  # a (case, pair) not in the row before
    fresh[1:] = (pair[1:] != pair[:-1]) | (number[1:] != number[:-1])
    del number
    starts = np.ones(len(pair), dtype=bool)  # the first row of each pair
    starts[1:] = pair[1:] != pair[:-1]
    at = np.flatnonzero(starts)
    # Per pair that occurs, its cases (not a count per possible pair: width * width).
    counts = np.add.reduceat(fresh.astype(np.int64), at) if len(at) else at
    ranked = np.argsort(order[at], kind="stable")  # in the order first seen, as before
    found = pair[at]
    flows = {(str(names[k // width]), str(names[k % width])): int(n)
             for k, n in zip(found[ranked].tolist(), counts[ranked].tolist(), strict=True)}
    return (flows, _counts(codes[first], names), _counts(codes[last], names),
            int(first.sum()))


def _run_starts(cases: pd.Series) -> np.ndarray:
    """Per row: whether it starts a run of one case (rows grouped by case; cases as texts,
    or as integers numbering them or coding them, `C.order_key`)."""
    if pd.api.types.is_integer_dtype(cases.dtype):  # missing: one group, as below
        numbers = cases.to_numpy(dtype=np.int64, na_value=-1)
        starts = np.ones(len(numbers), dtype=bool)
        starts[1:] = numbers[1:] != numbers[:-1]
        return starts
    values = C.arrow_array(cases)
    if not values.null_count:
        return C.run_starts(values)
    # Missing case ids: one group, as factorize's code -1 makes them.
    code = pd.factorize(cases, use_na_sentinel=True)[0]
    first = np.ones(len(code), dtype=bool)
    first[1:] = code[1:] != code[:-1]
    return first


def _counts(codes: np.ndarray, names: np.ndarray) -> dict[str, int]:
    """Rows per name (names sorted, those with none left out), counted on the codes."""
    counts = np.bincount(codes, minlength=len(names))
    return {str(names[k]): int(counts[k])
            for k in sorted(np.flatnonzero(counts).tolist(), key=lambda k: str(names[k]))}


def channel_overlays(run: CheckRun, deviations: Deviations | None = None) -> list[
        ChannelOverlay]:
    """One overlay per channel that the run judged against an SOP."""
    deviations = deviations if deviations is not None else run_deviations(run)
    projected = _projected(run, ids=False)
    per_channel = task_counts(deviations)
    out = []
    for channel in sorted(run.summary()["conformance"]):
        path = run.policy.sop_path("" if channel == "(no channel)" else channel)
        if path is None:
            continue
        key = "" if channel == "(no channel)" else channel
        flows, starts, ends, cases = flow_counts(projected, key)
        # The channel's judged cases as conformance counted them (a case with no event of
        # an SOP task is judged too: every task skipped), not the cases that have a flow.
        row = run.summary()["conformance"][channel]
        judged = row.get("cases") if isinstance(row, dict) else None
        if isinstance(judged, int | np.integer) and not isinstance(judged, bool):
            cases = int(judged)
        out.append(ChannelOverlay(channel, path, cases, per_channel.get(key, {}), flows,
                                  starts, ends))
    return out


@dataclass(frozen=True)
class TopDeviation:
    kind: str
    task: str
    channel: str
    cases: int
    rule: str


def top_deviations(deviations: Deviations, limit: int = 10) -> list[TopDeviation]:
    """The most frequent (kind, task, channel) deviations, by cases."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for case in deviations.deviating():  # most cases have none
        counts.update({(kind, task, case.channel) for kind, task, _ in case.deviations})
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [TopDeviation(kind, task, channel or "(no channel)", n, KIND_RULES[kind])
            for (kind, task, channel), n in ranked]


# --- the SOP as task-to-task flows ------------------------------------------------------------
@dataclass(frozen=True)
class SopGraph:
    title: str
    lanes: dict[str, list[str]]
    """Lane name -> SOP task names in it (tasks without a lane under '')."""
    flows: list[tuple[str, str]]
    starts: list[str]
    ends: list[str]
    drawn_from: str = "flows"
    """What the arrows are: "flows" (the SOP's sequence flows, gateways and events
    collapsed), "runs" (pools read as one process: successions of the joined net's runs,
    interleavings included) or "pool flows" (pools read as one, their runs not explored: the
    sequence and message flows)."""
    one_pool: str | None = None
    """Where the file has several candidates and one was read without being named
    (`BpmnModel.choice`): which, and why (pools: why they were not read as one). The
    candidates are a collaboration's pools with a process, or, in a file of no pools, its
    top-level processes (`one_of`)."""
    other_pools: tuple[str, ...] = ()
    """With `one_pool`: the names of the pools with a process left out of the drawing."""
    one_of: str = "pool"
    """With `one_pool`: "pool" where the process read is a pool's and so is every other
    candidate, else "process" (no pools, or a process drawn outside any pool among the
    candidates: the caption's "one process", not "one pool"; `other_pools` then holds the
    ids of the other candidates, as the choice's note names them)."""


def sop_graph(model: BpmnModel) -> SopGraph:
    """The SOP's tasks by lane and its flows collapsed to task -> task edges.

    The branches a boundary event or an event sub-process starts are drawn from the tasks
    they can directly follow: an event on an activity can fire as soon as the activity
    starts (its branch follows what came before the activity) and, where it does not
    interrupt, after a task of it completed; an event on a sub-process, or an event
    sub-process, after any task inside it (or inside the process). Where such a branch
    interrupts and its end ends the process, the task before it can be the case's last;
    a non-interrupting one leaves the rest running, so its end makes no task last.

    A collaboration's pools read as one process (`BpmnModel.joined`) whose net is sound are
    drawn from the net's runs: each task that can come right after another, first or last
    in a run (`conformance.petri.Follows`, read off the reachability graph its soundness
    check explored when the pools were joined), side by side running pools' interleavings
    included. Where that check did not decide (too many states), the flows as below, every
    sequence flow into a message's receiver drawn (an arrow more where the sender answers
    the receiver's pool, rather than a succession of the runs missed)."""
    lanes: dict[str, list[str]] = defaultdict(list)
    for task in model.tasks.values():
        # (One cluster per task: the first of its lanes, where several lane sets hold it.)
        lane = task.role or ""
        if task.name not in lanes[lane]:
            lanes[lane].append(task.name)
    title = model.process_name or model.process_id
    one_pool = model.choice
    pool_of = {pool.process: pool.name or pool.id for pool in model.pools if pool.process}
    # (A pool only where the process read and every other candidate are pools' processes:
    # before, a file of a pool and a process outside any pool, the outside one read, was
    # told as "Only one pool ... the other pools ('Support')".)
    of_pools = model.process_id in pool_of and all(c in pool_of for c in model.candidates)
    one_of = "pool" if of_pools else "process"
    if not one_pool:
        others: tuple[str, ...] = ()
    elif of_pools:
        others = tuple(pool.name or pool.id for pool in model.pools
                       if not pool.chosen and not pool.empty and not pool.missing)
    elif model.pools:  # (no pools: the choice's note names every process, as before)
        others = tuple(c for c in model.candidates if c != model.process_id)
    else:
        others = ()
    follows = model.joined_soundness.follows if (
        model.joined and model.joined_soundness is not None) else None
    if follows is not None:
        return SopGraph(title, dict(lanes), sorted(follows.pairs), sorted(follows.starts),
                        sorted(follows.ends), "runs", one_pool, others, one_of)
    out_flows: dict[str, list[str]] = defaultdict(list)
    # (Pools read as one process, their state space too large to explore: a message flow
    # goes on at its receiver, which waits for it, and the receiver's sequence flow in is
    # drawn too. Where the sender answers the receiver's pool (Finance, started by Support's
    # approval, pays before Support closes), that flow skips the answer (Review -> Close
    # besides Review -> Pay -> Close): an arrow more than the SOP's runs, not a succession
    # of them missed (B -> C after A -> B -> wait, drawn dotted in every compliant case).
    # A pool a message starts is no start.)
    receivers = {flow.target for flow in model.message_flows}
    senders = {flow.source for flow in model.message_flows}
    for flow in model.flows.values():
        out_flows[flow.source].append(flow.target)
    for message in model.message_flows:
        out_flows[message.source].append(message.target)
    starts_in: dict[str, list[str]] = defaultdict(list)
    for event in model.events.values():
        if event.position == "start" and event.id not in receivers:
            starts_in[event.scope].append(event.id)
    targets_of = {flow.target for flow in model.flows.values()}
    boundary_ids = {e.id for e in model.events.values() if e.position == "boundary"}
    event_subs = {k for k, sub in model.subprocesses.items() if sub.kind == "event sub-process"}
    for scope in {model.process_id, *model.subprocesses}:
        if scope not in starts_in:
            # (BPMN's implicit start: every node without incoming flow starts the scope.)
            implicit = [n.id for n in model.nodes_in(scope) if n.id not in targets_of
                        and n.id not in receivers and n.id not in boundary_ids
                        and n.id not in event_subs]
            if implicit:
                starts_in[scope] = implicit
    boundaries: dict[str, list[str]] = defaultdict(list)
    for event in model.events.values():
        if event.position == "boundary" and event.attached_to is not None:
            boundaries[event.attached_to].append(event.id)
    handlers: dict[str, list[str]] = defaultdict(list)
    """Scope -> the start events of its event sub-processes."""
    for sub in model.subprocesses.values():
        if sub.kind == "event sub-process":
            handlers[sub.scope].extend(starts_in.get(sub.id, []))

    def interrupts(event_id: str) -> bool:
        event = model.events.get(event_id)
        return event is None or event.interrupting

    # Which catchers fire only on a throw (and which throw goes on at which), as the
    # conversion reads them.
    plan = catching(model)
    for attached, events in list(boundaries.items()):
        boundaries[attached] = [b for b in events if b in plan.any_moment]
    for scope, starts in list(handlers.items()):
        handlers[scope] = [h for h in starts if h in plan.any_moment]

    def enclosing(node: str) -> list[str]:
        """The boundary events of the sub-processes around `node` and the event
        sub-processes' starts of every scope around it, innermost first: they can fire
        after `node` completed, while its scope still runs."""
        found: list[str] = []
        scope = model.node_scope(node)
        inside: str | None = None
        """The event sub-process just left, where the scope was entered from one."""
        while scope is not None:
            if inside is None:
                found.extend(handlers.get(scope, []))
            elif not any(interrupts(s) for s in starts_in.get(inside, [])):
                # (An interrupting one has cancelled the scope's other handlers; a
                # non-interrupting one leaves them armed, but fires only once itself.)
                own = set(starts_in.get(inside, []))
                found.extend(h for h in handlers.get(scope, []) if h not in own)
            sub = model.subprocesses.get(scope)
            if sub is None:
                break
            if sub.kind == "event sub-process":
                inside = sub.id
            else:
                found.extend(boundaries.get(scope, []))
                inside = None
            scope = sub.scope
        return found

    def done(scope: str) -> tuple[list[str], bool]:
        """What follows when `scope` has ended, and whether the process has."""
        while scope != model.process_id:
            sub = model.subprocesses.get(scope)
            if sub is None:
                return [], False
            if sub.kind == "event sub-process":
                # (Interrupting: it ends its scope as that scope's end would; otherwise the
                # scope goes on and this end ends nothing.)
                if not any(interrupts(s) for s in starts_in.get(sub.id, [])):
                    return [], False
            elif out_flows.get(scope):
                return list(out_flows[scope]), False
            scope = sub.scope  # (a sub-process without outgoing flow ends its branch)
        return [], True

    def successors(node: str) -> tuple[list[str], bool]:
        """The nodes after `node` and whether, after it, the process has ended."""
        nexts = list(out_flows.get(node, []))
        event = model.events.get(node)
        if event is None or event.position not in ("end", "throw"):
            if nexts or (event is not None and event.position == "boundary"
                         and not event.interrupting):
                return nexts, False
            # (An interrupting boundary event without outgoing flow ends its branch where
            # the activity was, in the activity's scope.)
            scope = model.node_scope(node)  # (BPMN's implicit end of its branch)
            return done(scope) if scope is not None else ([], False)
        at = plan.caught_by.get(event.id)
        if at:
            # (A throw goes on at its catcher only; an escalation whose nearest catcher does
            # not interrupt is not listed: a plain step, its catcher firing at any moment.)
            return list(at), False
        if event.trigger in ("error", "cancel") and event.position == "end":
            return nexts, True  # (uncaught: it ends the process)
        if event.position == "throw" or event.id in senders:
            return nexts, False  # (a message's receiver goes on after an end sending it)
        after, final = done(event.scope)
        return nexts + after, final

    def reach(first: Iterable[str], *, ending: bool = True, skip_first: bool = False
              ) -> tuple[set[str], bool]:
        """Tasks reached from `first` through non-task nodes, and whether the process ends
        (only counted where `ending`: not in a branch that leaves the rest running);
        `skip_first`: from after the nodes `first` (tasks: after they completed)."""
        seen: set[tuple[str, bool]] = set()
        found: set[str] = set()
        ends = False
        stack: list[tuple[str, bool]] = []
        if skip_first:
            for node in first:
                nexts, final = successors(node)
                ends = ends or (final and ending)
                stack.extend((n, ending) for n in nexts)
        else:
            stack = [(node, ending) for node in first]
        while stack:
            node, counts = stack.pop()
            if (node, counts) in seen:
                continue
            seen.add((node, counts))
            # (An event on an activity can fire as soon as it starts.)
            stack.extend((b, counts and interrupts(b)) for b in boundaries.get(node, []))
            if node in model.tasks:
                found.add(node)
                continue
            if node in model.subprocesses:
                stack.extend((s, counts) for s in starts_in.get(node, []))
                stack.extend((h, counts and interrupts(h)) for h in handlers.get(node, []))
                continue
            nexts, final = successors(node)
            ends = ends or (final and counts)
            stack.extend((n, counts) for n in nexts)
        return found, ends

    name = {k: t.name for k, t in model.tasks.items()}
    after_task: dict[str, set[str]] = {}
    last: set[str] = set()
    for task_id in model.tasks:
        targets, final = reach([task_id], skip_first=True)
        # After the task: what the events around it start, and its own non-interrupting
        # events (the task may complete before their branch's first task).
        for after in [*enclosing(task_id),
                      *(b for b in boundaries.get(task_id, []) if not interrupts(b))]:
            more, more_final = reach([after], ending=interrupts(after))
            targets |= more
            final = final or more_final
        after_task[task_id] = targets
        if final:
            last.add(task_id)
    first, _ = reach([*starts_in.get(model.process_id, []),
                      *handlers.get(model.process_id, [])])
    # Only the tasks a run can reach (not those after an escalation that always
    # interrupts, nor in an error event sub-process no error reaches).
    reachable = set(first)
    stack = list(first)
    while stack:
        for t in after_task[stack.pop()] - reachable:
            reachable.add(t)
            stack.append(t)
    flows = {(name[k], name[t]) for k in reachable for t in after_task[k]}
    ends = {name[k] for k in last & reachable}
    return SopGraph(title, dict(lanes), sorted(flows), sorted({name[t] for t in first}),
                    sorted(ends), "pool flows" if model.joined else "flows", one_pool, others,
                    one_of)


# --- DOT --------------------------------------------------------------------------------------
def _task_lines(task: str, counts: TaskCounts | None, cases: int) -> tuple[list[str], Band]:
    """Label lines and band of a task node, of a channel of `cases` judged cases."""
    c = counts or TaskCounts()
    lines = [task, f"in sync: {c.sync:,} case" + ("" if c.sync == 1 else "s")]
    if c.skipped:
        lines.append(f"skipped in {c.skipped:,} case" + ("" if c.skipped == 1 else "s"))
    if c.inserted:
        lines.append(f"inserted {c.inserted:,} time" + ("" if c.inserted == 1 else "s"))
    if c.wrong_order:
        lines.append(f"out of order in {c.wrong_order:,} case"
                     + ("" if c.wrong_order == 1 else "s"))
    deviating = c.deviating_cases()
    if deviating:
        lines.append(deviates_text(deviating, cases))
    return lines, band(deviating, cases)


def sop_arrows(sop: SopGraph, overlay: ChannelOverlay) -> list[tuple[str, str]]:
    """The SOP's task-to-task arrows the graph draws, in the SOP's order: all of them up to
    MAX_SOP_ARROWS; past it, those the channel's cases took, the most taken (ties: the SOP's
    order) up to it."""
    if len(sop.flows) <= MAX_SOP_ARROWS:
        return list(sop.flows)
    taken = [(pair, overlay.flows.get(pair, 0)) for pair in sop.flows]
    ranked = sorted((kv for kv in enumerate(taken) if kv[1][1]),
                    key=lambda kv: (-kv[1][1], kv[0]))[:MAX_SOP_ARROWS]
    return [pair for _, (pair, _) in sorted(ranked)]


def sop_arrows_text(sop: SopGraph, overlay: ChannelOverlay) -> str:
    """The caption's sentence on the SOP's arrows left out of the graph (`sop_arrows`), or
    '' where every one is drawn: how many the cases took, how many of them are drawn, and
    of those left out how many were taken less often than the drawn ones and how many by
    no case."""
    total = len(sop.flows)
    drawn = len(sop_arrows(sop, overlay))
    if drawn == total:
        return ""
    head = f" The SOP has {total:,} arrows between its tasks, too many to draw legibly"
    if not drawn:
        return f"{head}, and no case took any of them: none is drawn."
    took = sum(1 for pair in sop.flows if overlay.flows.get(pair, 0))
    left, less, untaken = total - drawn, took - drawn, total - took
    which = (f"the {drawn:,} that cases took {'is' if drawn == 1 else 'are'} drawn"
             if not less else
             f"the {drawn:,} most taken of the {took:,} that cases took are drawn")
    out = f"{head}: {which}; {left:,} {'is' if left == 1 else 'are'} left out"
    if not less:  # (every arrow left out is one no case took)
        return f"{out} (no case took {'it' if left == 1 else 'them'})."
    why = [f"{less:,} taken less often"] + ([f"{untaken:,} no case took"] if untaken else [])
    return f"{out}: {', '.join(why)}."


def overlay_dot(sop: SopGraph, overlay: ChannelOverlay, *, title: str) -> str:
    """DOT text of the SOP with the channel's conformance counts and deviation colours."""
    tasks = [t for names in sop.lanes.values() for t in names]
    extra_tasks = sorted(t for t in overlay.tasks if t not in tasks)
    ids = {t: f"t{i}" for i, t in enumerate([*tasks, *extra_tasks])}
    lines = [
        "digraph sop {",
        f"  graph [label={_label(title)}, labelloc=t, fontsize=16, rankdir=TB, "
        f'fontname="{FONTS}", bgcolor="white", nodesep=0.35, ranksep=0.5, compound=true, '
        # newrank: rank=same inside the legend cluster otherwise makes dot's ranking fail
        # ("trouble in init_rank") and fall back to a poor layout.
        "newrank=true];",
        f'  node [shape=box, style="rounded,filled", fontname="{FONTS}", fontsize=11, '
        'penwidth=1.4];',
        f'  edge [fontname="{FONTS}", fontsize=10, color="#4d4d4d", arrowsize=0.7];',
        '  start [label="start", shape=circle, width=0.35, fixedsize=true, fontsize=8, '
        'style=filled, fillcolor="#c6efce", color="#2e7d32"];',
        '  end [label="end", shape=doublecircle, width=0.3, fixedsize=true, fontsize=8, '
        'style=filled, fillcolor="#f4cccc", color="#b71c1c"];',
    ]

    def node(task: str, indent: str) -> None:
        label, drawn = _task_lines(task, overlay.tasks.get(task), overlay.cases)
        lines.append(f"{indent}{ids[task]} [label={_label(*label)}, {_node_style(drawn)}];")

    for index, (lane, names) in enumerate(sop.lanes.items()):
        if lane:
            lines.append(f"  subgraph cluster_lane{index} {{")
            lines.append(f'    graph [label={_label(lane)}, style="rounded,dashed", '
                         'color="#9e9e9e", fontsize=12, labeljust=l];')
            for task in names:
                node(task, "    ")
            lines.append("  }")
        else:
            for task in names:
                node(task, "  ")
    if extra_tasks:
        lines.append("  subgraph cluster_outside {")
        lines.append(f'    graph [label={_label("not in the SOP")}, style=dashed, '
                     'color="#ef6c00", fontsize=12, labeljust=l];')
        for task in extra_tasks:
            node(task, "    ")
        lines.append("  }")
    heaviest = max(overlay.flows.values(), default=1)
    for source, target in sop_arrows(sop, overlay):
        n = overlay.flows.get((source, target), 0)
        width = 0.8 + 3.2 * n / heaviest
        style = "" if n else ", style=dashed"
        lines.append(f"  {ids[source]} -> {ids[target]} [label={_label(f'{n:,}')}, "
                     f'penwidth={width:.2f}, color="#2f5597"{style}];')
    for task in sop.starts:
        lines.append(f"  start -> {ids[task]} [label=\"{overlay.starts.get(task, 0):,}\", "
                     'color="#2e7d32"];')
    for task in sop.ends:
        lines.append(f"  {ids[task]} -> end [label=\"{overlay.ends.get(task, 0):,}\", "
                     'color="#b71c1c"];')
    modelled = set(sop.flows)
    others = sorted(((pair, n) for pair, n in overlay.flows.items()
                     if pair not in modelled and pair[0] in ids and pair[1] in ids),
                    key=lambda kv: (-kv[1], kv[0]))[:MAX_EXTRA_EDGES]
    for (source, target), n in others:
        drawn = band(n, overlay.cases)
        text = (f"{n:,} case{'' if n == 1 else 's'}, {share_text(n, overlay.cases)} "
                "(not in SOP)")
        lines.append(f"  {ids[source]} -> {ids[target]} [label={_label(text)}, "
                     f'style=dotted, color="{drawn.line}", penwidth={drawn.width:.1f}, '
                     'fontcolor="#8c2d04", constraint=false];')
    lines.append("  subgraph cluster_legend {")
    lines.append(f"    graph [label={_label(*legend_title(overlay.cases))}, fontsize=10, "
                 'style=dashed, color="#bdbdbd"];')
    keys = []
    for index, drawn in enumerate((NO_DEVIATION, *BANDS)):
        keys.append(f"lg{index}")
        lines.append(f"    lg{index} [label={_label(drawn.text)}, fontsize=9, "
                     f"{_node_style(drawn)}];")
    lines.append(f"    {{ rank=same; {'; '.join(keys)}; }}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_style(drawn: Band) -> str:
    """A task node's fill, border colour and width, and text colour, of its band."""
    return (f'fillcolor="{drawn.fill}", color="{drawn.line}", penwidth={drawn.width:.1f}, '
            f'fontcolor="{drawn.font}"')


def legend_title(cases: int) -> list[str]:
    """The lines of the legend's title: what the scale grades, and of how many cases."""
    return [f"Share of the channel's {cases:,} judged case" + ("" if cases == 1 else "s"),
            "deviating at a task (skipped, inserted, out of order);",
            "dotted arrows (not in the SOP) graded alike"]


def legend_keys() -> tuple[LegendKey, ...]:
    """The scale's keys, as the graph's legend draws them: no deviation, then each band."""
    return tuple(LegendKey(b.text, b.fill, b.line, b.width) for b in (NO_DEVIATION, *BANDS))


def arrows_text(sop: SopGraph) -> str:
    """The caption's sentence on what a SOP graph's solid and dotted arrows are."""
    counted = ("with how many cases went from one task directly to the next; dotted arrows "
               "are direct successions ")
    graded = ", with their cases and share, graded as the tasks."
    if sop.drawn_from == "runs":
        return (" The SOP's pools are read as one process: arrows go from each task to each "
                "that can come right after it in a run of the SOP (tasks of pools or parallel "
                f"branches running side by side drawn in either order) {counted}no run of "
                f"the SOP has{graded}")
    if sop.drawn_from == "pool flows":
        return (" The SOP's pools are read as one process, too large to explore its runs: "
                "arrows are its sequence and message flows (gateways and events collapsed) "
                f"{counted}the SOP has no flow for{graded}")
    return (" Arrows are the SOP's flows (gateways and events collapsed) "
            f"{counted}the SOP has no flow for{graded}")


def one_pool_text(sop: SopGraph) -> str:
    """The caption's sentence on a file of several pools (or top-level processes, with no
    pools or one drawn outside any pool: `SopGraph.one_of`) of which one is drawn (read
    without being named: `BpmnModel.choice`), or "" where the whole file is."""
    if sop.one_pool is None:
        return ""
    others = ", ".join(f"'{name}'" for name in sop.other_pools)
    kind = "pools" if sop.one_of == "pool" else "processes"
    left = (f"; the tasks of the other {kind} ({others}) are no tasks of this SOP: the cases "
            "doing them are drawn with those tasks as not in the SOP") if others else ""
    return (f" Only one {sop.one_of} of the SOP's file is drawn, as the checks read it: "
            f"{sop.one_pool}{left}.")


def sop_caption(sop: SopGraph, overlay: ChannelOverlay, *, fitness: float | None) -> str:
    """The caption of a channel's SOP graph: the SOP and its judged cases, what the boxes
    and their colours are, what the arrows are and, next to it, which of the SOP's arrows
    are left out (`sop_arrows_text`), then which pool of its file is drawn."""
    return (f"The SOP of channel {overlay.channel} ({overlay.sop.name}) with the "
            f"{overlay.cases:,} judged case{'' if overlay.cases == 1 else 's'} on it"
            + (f" (fitness {fitness:.3f})" if fitness is not None else "")
            + ". Boxes are SOP tasks in their lanes: in how many cases each occurred "
            "in sync with the SOP, was skipped, inserted (events) or done out of "
            "order, and in how many of the channel's cases it deviates. "
            + scale_text(overlay.cases, caption_example(overlay))
            + arrows_text(sop) + sop_arrows_text(sop, overlay) + one_pool_text(sop))


def overlay_graphs(run: CheckRun, deviations: Deviations | None = None) -> list[DrawnGraph]:
    """sop-<channel>: the SOP of each judged channel with its conformance drawn on it."""
    from conformance.bpmn import read_bpmn

    deviations = deviations if deviations is not None else run_deviations(run)
    stats: Mapping[str, Any] = run.summary()["conformance"]
    graphs = []
    for overlay in channel_overlays(run, deviations):
        sop = sop_graph(read_bpmn(overlay.sop, process=run.policy.sop_process(
            "" if overlay.channel == "(no channel)" else overlay.channel)))
        row = stats.get(overlay.channel, {})
        title = f"SOP {sop.title} — {overlay.channel}"
        fitness = row.get("fitness")
        caption = sop_caption(sop, overlay,
                              fitness=fitness if isinstance(fitness, float) else None)
        if deviations.source == "findings":
            caption += " Deviations read from the CF findings."
        name = "sop-" + "".join(ch if ch.isalnum() or ch in "-_" else "_"
                                for ch in overlay.channel)
        graphs.append(DrawnGraph(name, title, caption, overlay_dot(sop, overlay, title=title),
                                 " ".join(legend_title(overlay.cases)), legend_keys()))
    return graphs
