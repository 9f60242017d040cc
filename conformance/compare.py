"""Compare two processes, each an event log or a BPMN model: behavioural differences in plain
sentences, a diff graph of directly-follows edges, and the same as JSON.

A log side is a bag of traces: its cases (variants with their case counts). A model side is
its workflow net's reachability graph (`model_behaviour`): a relation holds for a model
where some run from the start to the end has it, loops included (a play-out of bounded
length, as before, missed a loop's second round and called it "never allowed"). The
relations that are compared:

- "A before B" (A happens at some point before B in the same case), "A more than once",
- for a model: "A is required before B" (every run that does B did A earlier), "B is
  required after A" (every run that does A does B after each A: after its last one) and "A
  is required" (every run does A),
- directly-follows edges (with the start and the end of a case) for the diff graph,
- who performs a task: a model's lanes against the other model's, or against the roles a
  log's events record (`org:role`), as check's lane rules judge them.

A log compared with a model is first projected onto the model's activities: events whose
label is not in the model (context such as 'Capture payment') are left out of the order
relations, and each such label is reported once as not in the model. Two logs, or two
models, are compared on all their activities.

A log side counts what `check` judges: an activity's completions (events whose
`lifecycle:transition` is `complete` or not stated); the other events (start, schedule, ...)
are left out and counted in a warning (`audit.canonical.not_completions`).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from audit.errors import InputError
from audit.words import counted, cut_middle
from conformance.significance import MIN_SHIFT_POINTS, SHIFT_ALPHA

if TYPE_CHECKING:
    import pandas as pd

    from audit.ingest.mapping import Mapping as ColumnMapping
    from audit.policy import Policy
    from audit.sources.config import SourcesConfig
    from conformance.channels import Channels
    from conformance.petri import WorkflowNet

class _CaseBound(str):
    """The start or the end of a case in directly-follows edges: its display text, equal to
    no activity label. A label is a plain `str`; this equals only a `_CaseBound` of its text,
    so an activity labelled '▶ start' or '■ end' stays an activity (before, a plain string,
    such a label was taken for a case's start or end: compare.md listed an edge from it as
    "from a case's start", compare.json wrote it as null, the diff graph drew it as the
    start). A subclass's reflected comparison runs first for a plain `str` on the left:
    `label == START` is False too. It does not for another subclass of `str` (numpy's
    `str_`: `np.str_("▶ start") == START` is True), so the sides' labels are made plain
    `str` where they are read (`side_from_log`, `side_from_traces`).

    Ordered: START before any label, END after any (and START before END), so edges sort
    the same in every run. Before, only == was changed: START and a label of its text were
    neither equal nor one less than the other, `sorted` of edges went by the order of a
    set, and that set's order changed per process (the hash took in the class object's
    address): compare.json's edges came in another order each run."""

    __slots__ = ()

    def _rank(self) -> int:
        return -1 if str.__eq__(self, "▶ start") else 1

    @staticmethod
    def _key(value: str) -> tuple[int, str]:
        return (value._rank(), "") if type(value) is _CaseBound else (0, str(value))

    def __eq__(self, other: object) -> bool:
        return type(other) is _CaseBound and str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return _CaseBound._key(self) < _CaseBound._key(other)

    def __le__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return _CaseBound._key(self) <= _CaseBound._key(other)

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return _CaseBound._key(self) > _CaseBound._key(other)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return _CaseBound._key(self) >= _CaseBound._key(other)

    def __hash__(self) -> int:
        return hash(("case-bound", str(self)))

    def __repr__(self) -> str:
        return "<case start>" if self._rank() < 0 else "<case end>"


START, END = _CaseBound("▶ start"), _CaseBound("■ end")
"""Pseudo-activities for the start and the end of a case in directly-follows edges: display
text of the diff graph and compare.md, equal to no activity label (`_CaseBound`).
compare.json does not write them (`edge_json`): an edge's end there is null, flagged
`from_start` or `to_end`."""
MAX_EXAMPLES = 5
"""Case ids kept per difference as examples (the counts cover every case)."""
MAX_DIFF_EDGES = 150
"""Edges the diff graph draws at most (those on one side only first)."""

SideKind = Literal["log", "model"]
Role = Literal["as-is", "to-be"]
Trace = tuple[str, ...]


@dataclass
class Side:
    """One side of a comparison: its traces with their case counts (1 for model traces)."""

    role: Role
    kind: SideKind
    name: str
    traces: dict[Trace, int]
    cases_of: dict[Trace, list[str]] = field(default_factory=dict)
    """Log sides: the case ids of each trace (variant)."""
    labels: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the reader must know to read the differences right (events left out)."""
    behaviour: ModelBehaviour | None = None
    """Model sides read from a file: what the model allows, from its reachability graph
    (its `traces` are then empty); else the relations come from `traces`."""
    lanes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Model sides: task -> the role keys of the lanes holding it (tasks in no lane absent)."""
    performers: dict[tuple[str, str], list[str]] | None = None
    """Log sides: (activity, role key) -> the cases with an event of the activity recording
    that role (`org:role`); None where the log records no role."""
    role_names: dict[str, str] = field(default_factory=dict)
    """Role key -> the role as the side writes it: a model's lane name ("Payments"), a log's
    first `org:role` of that key; the sentences name roles so, as `model inspect` does."""
    file: str | None = None
    """Sides read from a file (`load_side`): its name (no folder), `process` (a model's
    FILE#PROCESS) and the file's `sha256`, which compare.json records."""
    process: str | None = None
    sha256: str | None = None
    channels: Channels | None = None
    """Log sides: its cases by channel, as check decides a case's channel, and the channel
    kept (`--channel`; conformance.channels)."""
    sop_of: str | None = None
    """Model sides: the channel whose SOP the model is (the policy's sop entry, else the
    bundled ecommerce.bpmn, subscription.bpmn, offline.bpmn); None where none's."""
    bridged: dict[tuple[str, str], int] = field(default_factory=dict)
    """A log side projected onto a model's activities (`projected`): per directly-follows
    edge of the projection (START and END for a case's ends), the cases that have it only
    because activities left out stood between its two ends (never with nothing between):
    the diff graph says so, as the log never took the edge."""
    left_out: dict[str, int] = field(default_factory=dict)
    """The same: each activity left out, with the cases doing it."""
    read: dict[str, Any] | None = None
    """Log sides read from a file: how (`audit.store.read_with`: the import's options in
    effect, those given but not applied, a canonical log's own import's), which
    compare.json records per side and `_reading_warning` weighs."""
    exports: bool = False
    """Log sides: whether the file read is a source-system export (--sources-config is read
    for those only)."""

    @property
    def cases(self) -> int:
        return sum(self.traces.values())

    def projected(self, keep: frozenset[str]) -> Side:
        """The side with only the activities in `keep` (case counts and ids kept)."""
        traces: Counter[Trace] = Counter()
        cases_of: dict[Trace, list[str]] = {}
        bridged: Counter[tuple[str, str]] = Counter()
        left_out: Counter[str] = Counter()
        for trace, count in self.traces.items():
            short = tuple(a for a in trace if a in keep)
            traces[short] += count
            cases_of.setdefault(short, []).extend(self.cases_of.get(trace, []))
            # The projection's edges this trace has only through activities left out.
            direct: set[tuple[str, str]] = set()
            through: set[tuple[str, str]] = set()
            previous: str = START
            gap = False
            for activity in (*trace, END):
                if activity != END and activity not in keep:
                    gap = True
                    continue
                (through if gap else direct).add((previous, activity))
                previous, gap = activity, False
            for pair in through - direct:
                bridged[pair] += count
            for activity in {a for a in trace if a not in keep}:
                left_out[activity] += count
        return Side(self.role, self.kind, self.name, dict(traces), cases_of,
                    self.labels & keep, list(self.notes), list(self.warnings),
                    bridged=dict(bridged), left_out=dict(left_out), read=self.read)


# --- loading ------------------------------------------------------------------------------
def side_from_log(log: pd.DataFrame, role: Role, name: str,
                  tasks: Mapping[str, str] | None = None,
                  channels: Channels | None = None) -> Side:
    """A log side from a canonical log: each case's completed activities in time order (as
    `check` orders them, audit.canonical.EVENT_ORDER: events at one time by the ids the log
    states, else as their source lists them, SAME_TIME_ORDER); events stating
    another lifecycle transition are left out, as `check` leaves them out, and counted in
    the side's warnings.

    `tasks` (a policy's `sop_tasks()`: log label -> SOP task) names a label's activity by
    its SOP task, as `check` aligns it; labels it does not map keep their own name. The
    labels so renamed are listed in the side's notes. `channels`: the log's cases by
    channel (`conformance.channels.select_channel`, which kept those of a `--channel`);
    where None, counted here (each case's channel as check decides it, with the bundled
    policy), and `compare` notes a log of several channels."""
    import numpy as np
    import pandas as pd

    from audit import canonical as C
    from conformance.bpmn import clean_name, cleaned_labels

    if channels is None:
        from conformance.channels import select_channel

        channels = select_channel(log, None)[1]
    left_out = C.not_completions(log)
    if left_out:
        log = C.completions(log[[c for c in (C.CASE, C.ACTIVITY, C.TIMESTAMP, C.EVENT_ID,
                                             C.LIFECYCLE, C.ROLE, C.SOURCE_FILE,
                                             C.SOURCE_ROW) if c in log.columns]])
    labels = log["concept:name"].astype(str).to_numpy()
    renamed: dict[str, str] = {}
    if tasks:
        # (The log's label as written, as check matches it, to its task as the SOP names it.)
        renamed = {label: clean_name(tasks[label]) for label in set(labels.tolist())
                   if label in tasks and clean_name(tasks[label]) != clean_name(label)}
        if renamed:
            labels = np.array([renamed.get(label, label) for label in labels.tolist()],
                              dtype=object)
    frame = pd.DataFrame({
        "case": log["case:concept:name"].astype(str).to_numpy(),
        # (As a model's task names are read: whitespace runs as one space.)
        "activity": cleaned_labels(labels),
    })
    # (Who did what, from the frame's rows in the log's order: before they are ordered.)
    performers = (_performers(frame["case"], frame["activity"], log[C.ROLE])
                  if C.ROLE in log.columns else None)
    order = C.event_order(log)
    if order is not None:
        frame = frame.take(order)
    traces: Counter[Trace] = Counter()
    cases_of: dict[Trace, list[str]] = {}
    for case, activities in frame.groupby("case", sort=True)["activity"]:
        trace = tuple(str(a) for a in activities)
        traces[trace] += 1
        cases_of.setdefault(trace, []).append(str(case))
    side = Side(role, "log", name, dict(traces), cases_of,
                frozenset(frame["activity"].unique().tolist()))
    side.performers = performers
    side.channels = channels
    if performers is not None:
        side.role_names = _role_names(log[C.ROLE])
    if renamed:
        told = ", ".join(f"{_q(label)} as {_q(task)}" for label, task in sorted(renamed.items()))
        side.notes.append(f"{role} log: read through the policy's sop_task, as check reads "
                          f"it: {told}")
    if left_out:
        side.warnings.append(f"{role} log: " + C.not_completions_told(left_out, "counted"))
    tie = C.same_time(log)  # (ties taken by stated ids, where pm4py keeps the file's order)
    if tie is not None:
        side.warnings.append(f"{role} log: " + C.same_time_told(tie))
    return side


def _performers(cases: pd.Series, activities: pd.Series, roles: pd.Series
                ) -> dict[tuple[str, str], list[str]] | None:
    """(activity, role key) -> the sorted ids of the cases with such an event; None where no
    event records a role. Roles are keyed as lanes are (`conformance.bpmn.role_key`)."""
    import pandas as pd

    from conformance.bpmn import role_key

    recorded = roles.notna().to_numpy()
    if not recorded.any():
        return None
    keyed = roles[recorded].astype(str)
    keys = {value: role_key(value) for value in keyed.unique().tolist()}
    frame = pd.DataFrame({"case": cases.to_numpy()[recorded],
                          "activity": activities.to_numpy()[recorded],
                          "role": keyed.map(keys).to_numpy()})
    frame = frame[frame["role"] != ""]
    if frame.empty:
        return None
    return {(str(a), str(r)): sorted(set(group.tolist()))
            for (a, r), group in frame.groupby(["activity", "role"], sort=True)["case"]}


def _role_names(roles: pd.Series) -> dict[str, str]:
    """Role key -> the first value of `roles` (a log's `org:role`) of that key."""
    from conformance.bpmn import role_key

    names: dict[str, str] = {}
    for value in roles.dropna().astype(str).unique().tolist():
        key = role_key(value)
        if key:
            names.setdefault(key, value)
    return names


def side_from_traces(traces: Iterable[Trace], role: Role, name: str) -> Side:
    """A model side from its (played-out) traces, its labels made plain `str` (see
    `_CaseBound`)."""
    bag = {tuple(str(a) for a in t): 1 for t in traces}
    return Side(role, "model", name, bag, {}, frozenset(a for t in bag for a in t))


def side_from_bpmn(path: Path, role: Role, process: str | None = None) -> Side:
    """A model side: the BPMN model (its process `process`, where the file has several)
    converted to a workflow net, and what it allows."""
    from conformance.petri import bpmn_to_workflow_net

    conversion = bpmn_to_workflow_net(path, process=process)
    if conversion.net is None:
        reasons = "; ".join(str(r) for r in conversion.refused) or "no workflow net"
        raise InputError(f"the model cannot be converted into a workflow net: {reasons}",
                         file=path)
    net = conversion.net
    try:
        behaviour = model_behaviour(net)
    except RuntimeError as exc:
        raise InputError(f"the model's behaviour is too large to compare ({exc})",
                         file=path) from None
    if not behaviour.can_end:
        raise InputError("the model has no run that reaches its end", file=path)
    from conformance.deviations import lane_roles

    lanes = conversion.model.lanes
    side = Side(role, "model", path.name if process is None else f"{path.name}#{process}",
                {}, {}, frozenset(net.labels), behaviour=behaviour,
                lanes=lane_roles(path, process))
    for lane in lanes.values():  # (a lane's role is the name of its role lane, as written)
        named = lanes.get(lane.role_lane or lane.id)
        if lane.role and named is not None and named.name:
            side.role_names.setdefault(lane.role, named.name)
    if process is None and conversion.model.choice:  # (several pools: which one was read)
        side.warnings.append(f"{role} model {path.name}: {conversion.model.choice}; to "
                             f"compare another, write {path.name}#PROCESS (its process id "
                             "or pool name)")
    side.notes.append(f"{role} model: every run of its {behaviour.states:,} reachable states "
                      "compared (loops included)")
    from conformance.bpmn import CHOOSE_HINT

    # (How the model was read, as `model inspect` and `check` tell it; the pool chosen among
    # several is a warning above.)
    side.notes += [f"{role} model, as read: {note}" for note in conversion.notes
                   if not note.endswith(CHOOSE_HINT)]
    if conversion.soundness is not None and conversion.soundness.verdict != "sound":
        side.notes.append(f"the {role} model is not (known to be) sound: "
                          + "; ".join(conversion.soundness.problems))
    return side


def _side_file(path: Path) -> tuple[Path, str | None]:
    """The file a side names, and the process of a model's `FILE.bpmn#PROCESS`: a path that
    names an existing file is that file, `#` and all; a bundled model's bare name
    (ecommerce.bpmn) names it where no such file is here. InputError where `#PROCESS` is
    malformed; the file may not exist (`load_side` says so)."""
    process = None
    if not path.exists() and "#" in path.name:
        from audit.policy import split_sop_entry

        try:
            file, process = split_sop_entry(str(path))
        except ValueError as exc:
            raise InputError(str(exc), file=path) from None
        if Path(file).suffix.lower() == ".bpmn":
            path = Path(file)
        else:
            process = None
    if not path.exists():
        from audit.policy import model_path

        path = model_path(str(path))  # (a bundled model's bare name: that model)
    return path, process


def names_a_model(path: Path) -> bool:
    """Whether `load_side` reads `path` as a model (an existing .bpmn file, a bundled
    model's name, `FILE.bpmn#PROCESS`), without reading it: `compare` refuses the options
    of two logs against a model before a log of millions of events is read. False where
    the file does not exist or `#PROCESS` is malformed (`load_side` tells the error)."""
    try:
        file, _ = _side_file(path)
    except InputError:
        return False
    return file.exists() and file.suffix.lower() == ".bpmn"


def load_side(path: Path, role: Role, tasks: Mapping[str, str] | None = None,
              columns: ColumnMapping | None = None, *, channel: str | None = None,
              policy: Policy | None = None, reading: Mapping[str, Any] | None = None,
              sources_config: SourcesConfig | None = None) -> Side:
    """A side from a file: a .bpmn model (`FILE.bpmn#PROCESS` names one process of a file
    with several pools, as an SOP entry of the policy does), else an event log in any
    importable format, read with the column mapping `columns` where given (as `import
    --mapping` reads it), the import's options `reading` (--assume-tz, --encoding,
    --object-type, --follow-o2o) and the sources file `sources_config` (a source-system
    export's records correlated into refund cases, as check reads them; InputError where
    none is left, saying so where every record was a charge left out as a sale), its labels
    named by `tasks` where it maps them (`side_from_log`).

    A log keeps the cases of `channel` only where given (`--channel`: each case's channel
    as check decides it, with `policy`, else the bundled default policy; InputError where
    none is kept); a model is told the channel whose SOP it is by `policy`'s sop entries
    (`Side.sop_of`, which compare's note on a log of several channels suggests)."""
    path, process = _side_file(path)
    if not path.exists():
        raise InputError("no such file", file=path)
    from audit.digest import sha256_of

    if path.suffix.lower() == ".bpmn":
        model = side_from_bpmn(path, role, process)
        model.file, model.process, model.sha256 = path.name, process, sha256_of(path)
        from conformance.channels import sop_channel

        model.sop_of = sop_channel(path, process, policy)
        return model
    from audit.sources.pipeline import import_and_correlate

    # (`reading`: --assume-tz, --encoding, --object-type, --follow-o2o, as `import` reads
    # the file; `columns`: --mapping's)
    # (`sources_config`: --sources-config, how a source-system export is read; an export's
    # records correlated into refund cases, as check reads it)
    imported = import_and_correlate([(path, None)], mapping=columns,
                                    sources_config=sources_config, **dict(reading or {}))
    from audit.correlate import unlisted_notes

    unlisted_notes(imported.notes)
    log = log_read = imported.log
    if len(log) == 0:
        from audit.ingest import no_events_text

        raise InputError(no_events_text(imported, "compare"), file=path)
    from conformance.channels import select_channel

    log, channels = select_channel(log, channel, policy, file=path)
    side = side_from_log(log, role, path.name, tasks, channels)
    side.file, side.sha256 = path.name, imported.digests.get(str(path)) or sha256_of(path)
    from audit.store import read_with

    side.read = read_with(path, imported, reading or {})
    from audit.ingest import SOURCE_SYSTEMS, left_out_text

    side.exports = any(f.system in SOURCE_SYSTEMS for f in imported.files)
    # (an OCEL log's cases, an export's correlation: what was left out or brought in)
    if (reading and reading.get("object_type")) or side.exports:
        side.notes += [f"{role} log: {note}" for note in imported.notes]
    if imported.quarantined:  # (never dropped without a word: quarantine.csv of `import`)
        dropped = imported.deduplicated
        side.notes.append(f"{role} log: read {imported.read:,} = imported "
                          f"{imported.imported:,} + quarantined {imported.quarantined:,}"
                          + (f" + {counted(dropped, 'duplicate', spec=',')} dropped"
                             if dropped else "")
                          # (the charges left out as sales and the events made, as the
                          # import's summary tells them: before, "imported 4" of 3 events)
                          + (f", {left_out_text(imported.left_out, spec=',')}"
                             if imported.left_out else "")
                          + ("" if len(log_read) == imported.imported else
                             f"; {counted(imported.imported, 'record', spec=',')} imported "
                             f"-> {counted(len(log_read), 'event', spec=',')}") + " "
                          f"({IMPORT_CODE} writes the quarantined rows with reasons)")
    from audit.store import import_record, imported_earlier_report

    record = import_record(path)  # (a canonical log's own import: its rows quarantined)
    if record is not None:
        side.notes.append(f"{role} log: {imported_earlier_report(path, record, path.name)}")
    return side


# --- relations ----------------------------------------------------------------------------
def _before(trace: Trace) -> set[tuple[str, str]]:
    seen: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for activity in trace:
        pairs.update((a, activity) for a in seen)
        seen.add(activity)
    return pairs


def _directly(trace: Trace) -> set[tuple[str, str]]:
    path = (START, *trace, END)
    return set(pairwise(path))


def _repeated(trace: Trace) -> set[str]:
    return {a for a, n in Counter(trace).items() if n > 1}


@dataclass
class Relations:
    """Per relation, the traces (variants) of a side that have it."""

    before: dict[tuple[str, str], list[Trace]] = field(default_factory=dict)
    directly: dict[tuple[str, str], list[Trace]] = field(default_factory=dict)
    repeated: dict[str, list[Trace]] = field(default_factory=dict)
    present: dict[str, list[Trace]] = field(default_factory=dict)


def relations(side: Side) -> Relations:
    if side.behaviour is not None:
        return side.behaviour.relations
    found = Relations()
    for trace in side.traces:
        for pair in _before(trace):
            found.before.setdefault(pair, []).append(trace)
        for pair in _directly(trace):
            found.directly.setdefault(pair, []).append(trace)
        for activity in _repeated(trace):
            found.repeated.setdefault(activity, []).append(trace)
        for activity in set(trace):
            found.present.setdefault(activity, []).append(trace)
    return found


def required_before(model: Side) -> dict[str, set[str]]:
    """For each activity A of a model, the activities B that every run does only after A."""
    if model.behaviour is not None:
        return model.behaviour.required_before
    needs: dict[str, set[str]] = {}
    for b in model.labels:
        common: set[str] | None = None
        for trace in model.traces:
            if b in trace:
                earlier = set(trace[: trace.index(b)])
                common = earlier if common is None else common & earlier
        for a in common or set():
            needs.setdefault(a, set()).add(b)
    return needs


def required_after(model: Side) -> dict[str, set[str]]:
    """For each activity A of a model, the activities B (not A) that every run doing A does
    after each of its A's (after the last one): the runs that do A all go on to B."""
    if model.behaviour is not None:
        return model.behaviour.required_after
    follows: dict[str, set[str]] = {}
    for a in model.labels:
        common: set[str] | None = None
        for trace in model.traces:
            if a in trace:
                later = set(trace[_last(trace, a) + 1:])
                common = later if common is None else common & later
        later = (common or set()) - {a}
        if later:
            follows[a] = later
    return follows


def nearest_required_after(model: Side) -> dict[str, set[str]]:
    """For each activity A, the activities B the model requires after A (`required_after`)
    that are the nearest such: no other C required after A has B required after it (after
    'Approve refund', 'Execute payout', not also 'Notify customer', required after the
    payout). A case that stops after A so misses one step after it, not each one after that:
    the knock-on steps are not told again.

    Left out too: a B the model requires in every run (`required`) and never allows before
    A. A case without such a B after its last A either never did B (told as required and
    missing) or did it before A (told as an order the model never allows). Where the model
    allows B before A (a loop back), such a case is told by neither, so B is kept."""
    follows, always = required_after(model), required(model)
    allowed_before = relations(model).before
    nearest: dict[str, set[str]] = {}
    for a, later in follows.items():
        # (C and B each required after the other cannot both hold in a run that ends; kept
        # out of the reduction where they would, so neither hides the other)
        kept = {b for b in later
                if not any(b in follows.get(c, set()) and c not in follows.get(b, set())
                           for c in later if c != b)
                and (b not in always or (b, a) in allowed_before)}
        if kept:
            nearest[a] = kept
    return nearest


def required(model: Side) -> set[str]:
    """The activities every run of a model does."""
    if model.behaviour is not None:
        return model.behaviour.required
    return {a for a in model.labels if all(a in t for t in model.traces)}


# --- differences --------------------------------------------------------------------------
@dataclass(frozen=True)
class Measure:
    """What one side says about a relation: a count of cases (logs) or allowed (models)."""

    cases: int | None = None
    of: int | None = None
    allowed: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.allowed is not None:
            return {"allowed": self.allowed}
        share = (self.cases or 0) / self.of if self.of else 0.0
        return {"cases": self.cases, "of": self.of, "share": round(share, 6)}


@dataclass(frozen=True)
class Difference:
    kind: str
    """not-in-to-be, not-in-as-is, order, repetition, skipped, missing-after, required,
    required-after, shift, presence, lane"""
    activities: tuple[str, ...]
    sentence: str
    as_is: Measure
    to_be: Measure
    examples: tuple[str, ...] = ()
    """Case ids showing the difference (log sides), at most MAX_EXAMPLES."""
    roles: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    """Kind `lane`: per side (as-is, to-be), a model's roles allowed for the task (its lanes',
    with the policy's where given), a log's roles found outside them."""
    role_cases: dict[str, int] | None = None
    """Kind `lane` against a log: per role found outside the task's lanes (its key), the
    log's cases with an event of the task recording it, most first (a case recording two such
    roles counts for each)."""
    before: tuple[str, ...] | None = None
    """Kind `skipped`: the later steps the model requires the activity before, of which the
    cases counted did one (and never the activity); empty where the model requires it in
    every run (the cases counted are those that never did it)."""
    role: str | None = None
    """Kind `role-shift`: the role (its key) whose share of the activity's cases moved."""
    significance: Significance | None = None
    """Kinds `shift` and `role-shift` (log against log): the test that told the shift; a
    relation seen in one log only (log against log: `presence`, `order`, `repetition`),
    the test of its count against 0 that told it."""
    alike: tuple[tuple[str, str], ...] | None = None
    """Kind `shift` of an activity's presence: the order pairs (A before B, the activity one
    of them) that shift in exactly the same cases on both sides, told in this sentence and
    not in one of their own (compare.json's `orders_in_same_cases`)."""
    meets_rule: bool | None = None
    """Kinds `not-in-to-be` and `not-in-as-is` between two logs: whether the activity's
    share of cases, tested against 0 with the other shares (`significance`), meets the rule
    a shift is told by (material and significant); one that does not is still told, marked
    so, after every other difference (compare.json's `meets_shift_rule`). None elsewhere."""
    several_roles: tuple[int, int] | None = None
    """Kind `role-shift`: per side (as-is, to-be), the cases doing the activity that record
    more than one role for it, each counted in every role it records (the roles' shares then
    add up to more than 100%); kind `lane` against a log: (the log's cases recording more
    than one role outside the lanes, 0) in the log's place. compare.json's
    `cases_with_several_roles`."""

    def as_dict(self) -> dict[str, Any]:
        view: dict[str, Any] = {"kind": self.kind, "activities": list(self.activities),
                "sentence": self.sentence, "as_is": self.as_is.as_dict(),
                "to_be": self.to_be.as_dict(), "examples": list(self.examples)}
        if self.kind == "skipped":
            view["required_before"] = list(self.before or ())
        if self.roles is not None:
            view["roles"] = {"as_is": list(self.roles[0]), "to_be": list(self.roles[1])}
        if self.role_cases is not None:
            view["role_cases"] = dict(self.role_cases)
        if self.role is not None:
            view["role"] = self.role
        if self.significance is not None:
            view["significance"] = self.significance.as_dict()
        if self.alike is not None:
            view["orders_in_same_cases"] = [list(pair) for pair in self.alike]
        if self.meets_rule is not None:
            view["meets_shift_rule"] = self.meets_rule
        if self.several_roles is not None:
            if self.kind == "lane":
                view["cases_with_several_roles"] = max(self.several_roles)
            else:
                view["cases_with_several_roles"] = {"as_is": self.several_roles[0],
                                                    "to_be": self.several_roles[1]}
        return view


@dataclass(frozen=True)
class Significance:
    """The two-sided test of a shift between two logs (`conformance.significance`), its
    p-value and the p-value adjusted over all the shares tested (Benjamini-Hochberg), and
    the move in percentage points (as-is minus to-be)."""

    test: str
    p_value: float
    adjusted_p_value: float
    points: float

    def as_dict(self) -> dict[str, Any]:
        return {"test": self.test, "p_value": _rounded(self.p_value),
                "adjusted_p_value": _rounded(self.adjusted_p_value),
                "points": round(self.points, 4)}


def _rounded(p: float) -> float:
    """A p-value to 4 significant digits (0.0001234, 1.234e-30)."""
    return float(f"{p:.4g}")


@dataclass(frozen=True)
class DiffEdge:
    source: str
    target: str
    status: Literal["both", "only-as-is", "only-to-be"]
    as_is: Measure
    to_be: Measure
    via_left_out: int = 0
    """A log against a model: the log's cases having the edge only because activities not in
    the model stood between its ends (`Side.bridged`); compare.json's
    `only_via_left_out`."""
    significance: Significance | None = None
    """Two logs, an edge of one log only: the test of its cases against 0 (`_tested_edges`);
    None elsewhere."""
    meets_rule: bool | None = None
    """The same: whether its share meets the rule a shift is told by (material and
    significant); the diff graph draws one below it faint (compare.json's
    `meets_shift_rule`). None elsewhere."""


@dataclass
class Comparison:
    as_is: Side
    to_be: Side
    compared: frozenset[str]
    """The activities the order relations are compared on."""
    differences: list[Difference]
    edges: list[DiffEdge]
    notes: list[str]
    warnings: list[str] = field(default_factory=list)
    relations_compared: tuple[str, ...] = ()
    """The relations compared, in words (`compared_relations`), as "No differences" names
    them."""
    channel: str | None = None
    """The `--channel` the log sides were read with (None: every case)."""
    shift_rule: dict[str, Any] | None = None
    """Log against log: the rule a shift is told by (compare.json's `shift_rule`): the least
    move in points, the false discovery rate, the correction, how many shares were tested."""
    projected: Side | None = None
    """A log against a model: the log side projected onto the model's activities, which the
    edges are of (its `left_out` and `bridged` say what the projection hid); None where no
    activity was left out."""


def compared_relations(as_is: Side, to_be: Side) -> tuple[str, ...]:
    """The relations `compare` compares for these sides, in words: a log against a model
    adds the model's requirements (required, before a later step, after an earlier one),
    two models their required activities and steps required after another; lanes where a
    model has lanes and the other side is a model with lanes or a log recording roles."""
    found = ["activities", "the order of two activities", "repetition"]
    kinds = {as_is.kind, to_be.kind}
    if kinds == {"log"} and as_is.performers is not None and to_be.performers is not None:
        found.append("who performs each activity")
    if kinds == {"log", "model"}:
        found += ["required activities", "activities required before a later step",
                  "steps required after an earlier one"]
    elif kinds == {"model"}:
        found += ["required activities", "steps required after an earlier one"]
    if kinds == {"model"}:
        lanes = bool(as_is.lanes) and bool(to_be.lanes)
    elif kinds == {"log", "model"}:
        log, model = (as_is, to_be) if as_is.kind == "log" else (to_be, as_is)
        lanes = bool(model.lanes) and log.performers is not None
    else:
        lanes = False
    return (*found, *(["lanes"] if lanes else []))


def percent(cases: int, of: int) -> str:
    """A share of cases in words: '14%', 'less than 1%'."""
    if of == 0:
        return "0%"
    share = 100.0 * cases / of
    if 0 < share < 1:
        return "less than 1%"
    if 99 < share < 100:
        return "more than 99%"
    return f"{math.floor(share + 0.5):.0f}%"  # (half up: 12.5% is 13%, as a reader rounds)


def _cases_phrase(side: Side, count: int, *, qualify: bool) -> str:
    whose = f"{side.role} " if qualify else ""
    return f"{percent(count, side.cases)} of {whose}cases ({count:,} of {side.cases:,})"


def _examples(side: Side, traces: Iterable[Trace]) -> tuple[str, ...]:
    ids: list[str] = []
    for trace in traces:
        ids.extend(side.cases_of.get(trace, []))
    return tuple(sorted(ids)[:MAX_EXAMPLES])


def _count(side: Side, traces: Iterable[Trace]) -> int:
    return sum(side.traces[t] for t in set(traces))


def _measure(side: Side, traces: Iterable[Trace] | None) -> Measure:
    chosen = list(traces or [])
    if side.kind == "model":
        return Measure(allowed=bool(chosen))
    return Measure(cases=_count(side, chosen), of=side.cases)


def _q(activity: str) -> str:
    return f"'{activity}'"


def compare(as_is: Side, to_be: Side,
            allowed: Mapping[str, frozenset[str]] | None = None, *,
            channel: str | None = None, min_shift: float = MIN_SHIFT_POINTS,
            fdr: float = SHIFT_ALPHA) -> Comparison:
    """The behavioural differences between two sides (roles 'as-is' and 'to-be'), and who
    performs each task against a model's lanes (`allowed`: per task, the role keys a policy
    allows besides the lanes, `policy_roles`). `channel`: the `--channel` the log sides
    were read with (`load_side`), which compare.json records. `min_shift`: two logs, the
    least move in percentage points told as a shift (`_log_against_log`); `fdr`: two logs,
    the false discovery rate its significance tests are adjusted to (0 < fdr < 1).

    The differences are grouped by kind (in the order found) and, within a kind, the largest
    first (`_largest_first`)."""
    if not 0 <= min_shift <= 100:
        raise ValueError(f"min_shift is {min_shift}: percentage points from 0 to 100")
    if not 0 < fdr < 1:  # (NaN too)
        raise ValueError(f"fdr is {fdr}: a false discovery rate above 0 and below 1")
    shift_rule: dict[str, Any] | None = None
    notes = [*as_is.notes, *_channel_notes(as_is, to_be), *to_be.notes,
             *_channel_notes(to_be, as_is), *_reading_note(as_is, to_be)]
    if channel is not None and as_is.kind == "model" and to_be.kind == "model":
        notes.append(f"--channel {channel}: both sides are models, which it does not "
                     "filter: nothing was left out")
    differences: list[Difference] = []
    # Labels on one side only.
    for side, other in ((as_is, to_be), (to_be, as_is)):
        kind = f"not-in-{other.role}"
        rel = relations(side)
        for activity in sorted(side.labels - other.labels):
            traces = rel.present.get(activity, [])
            if side.kind == "log":
                where = ("the " + other.role + " model" if other.kind == "model"
                         else "the " + other.role + " log")
                tail = ("; it is left out of the order comparison" if other.kind == "model"
                        else "")
                never = "is not in" if other.kind == "model" else "never occurs in"
                text = (f"{_q(activity)} occurs in "
                        f"{_cases_phrase(side, _count(side, traces), qualify=True)} but "
                        f"{never} {where}{tail}.")
            else:
                text = (f"{_q(activity)} is in the {side.role} model but "
                        + ("not in the " + other.role + " model." if other.kind == "model"
                           else "never occurs in the " + other.role + " log."))
            measure_side = _measure(side, traces)
            absent = Measure(allowed=False) if other.kind == "model" else Measure(0, other.cases)
            pair = (measure_side, absent) if side is as_is else (absent, measure_side)
            differences.append(Difference(kind, (activity,), text, *pair,
                                          _examples(side, traces)))
    compared = as_is.labels & to_be.labels
    left, right = as_is, to_be
    if as_is.kind == "log" and to_be.kind == "model":
        left = as_is.projected(to_be.labels)
    elif as_is.kind == "model" and to_be.kind == "log":
        right = to_be.projected(as_is.labels)
    elif as_is.kind == "log" and to_be.kind == "log":
        compared = as_is.labels | to_be.labels
    if left.kind != right.kind:
        log, model = (left, right) if left.kind == "log" else (right, left)
        differences += _log_against_model(log, model)
    elif left.kind == "log":
        told, shift_rule, alone = _log_against_log(left, right, min_shift, fdr)
        differences = [_marked(d, alone, min_shift, fdr) for d in differences]
        differences += told
        unrecorded = [s.role for s in (left, right) if s.performers is None]
        if unrecorded:
            several = len(unrecorded) > 1
            notes.append(f"the {' and the '.join(unrecorded)} log{'s' if several else ''} "
                         f"record{'' if several else 's'} no role (org:role): who performs "
                         "each activity is not compared")
    else:
        differences += _model_against_model(left, right)
    lanes = _lane_differences(as_is, to_be, allowed or {}, notes)
    if allowed is None and lanes and as_is.kind != to_be.kind:
        notes.append("without --policy, who performs a task is judged by the model's lanes "
                     "alone: check also allows the roles its policy names (approvers, "
                     "performers); compare with --policy P.yaml to judge roles as check "
                     "does")
    differences += lanes
    differences = _largest_first(differences)
    edges = _diff_edges(left, right)
    if shift_rule is not None:  # (two logs: an edge of one log only tested as an activity)
        edges = _tested_edges(edges, min_shift, fdr, {
            d.activities[0]: ((d.as_is.cases or 0) + (d.to_be.cases or 0), d.significance,
                              bool(d.meets_rule))
            for d in differences if d.kind.startswith("not-in-") and d.significance})
        shift_rule["tested_edges_one_side_only"] = sum(e.significance is not None
                                                       for e in edges)
    warnings = [*as_is.warnings, *to_be.warnings, *_shared_warning(as_is, to_be),
                *_spelling_warnings(as_is, to_be), *_reading_warning(as_is, to_be)]
    # Each note and warning cut to its start and end where it quotes a value of megabytes
    # (a lifecycle:transition of 1 MB), as check's warnings are (words.cut_middle): the
    # same text in compare.json, compare.md and on the console.
    return Comparison(as_is, to_be, frozenset(compared), differences,
                      edges, [cut_middle(note) for note in notes],
                      [cut_middle(warning) for warning in warnings],
                      compared_relations(as_is, to_be), channel, shift_rule,
                      next((s for s in (left, right) if s.left_out), None))


def _made_told(side: Side, by: tuple[str, frozenset[str]]) -> str:
    """The OCEL options `by` that made `side`'s cases, as a warning or note tells them."""
    kind, followed = by
    options = " ".join([f"--object-type {_q(kind)}",
                        *(f"--follow-o2o {_q(t)}" for t in sorted(followed))])
    made_by = (side.read or {}).get("cases_made_by")
    log = made_by.get("log") if isinstance(made_by, dict) else None
    whose = ("" if not isinstance(made_by, dict)
             else f"by its own import ({side.file})" if log in (None, side.file)
             else f"by the import that wrote {log}, which it was imported from")
    return f"the {side.role} log's with {options}" + (f" {whose}" if whose else "")


def _reading_warning(as_is: Side, to_be: Side) -> list[str]:
    """Where the cases of two log sides, each made of an OCEL 2.0 log's objects, were made
    by different options (--object-type, --follow-o2o: compare's own for an OCEL log it
    read, for a canonical log those of the import that read the OCEL log it was made of,
    `audit.store.cases_made_by`): their differences may come from how the cases were made,
    not from the process. Before, unsaid: an invoices log imported with --follow-o2o
    'Purchase Order' against the OCEL log read with --object-type Invoice alone told
    'Change PO Quantity' in 67% of as-is cases and never in to-be, which the import's
    options alone made, and compare.json recorded the one set of options given as if both
    sides were read with it."""
    from audit.store import cases_made_by

    made = [None if s.read is None else cases_made_by(s.read) for s in (as_is, to_be)]
    if made[0] is None or made[1] is None or made[0] == made[1]:
        return []
    return [f"the two logs' cases were made by different OCEL options: "
            f"{_made_told(as_is, made[0])}, {_made_told(to_be, made[1])}; a difference may "
            "come from how the cases were made, not from the process: read both with the "
            "same --object-type and --follow-o2o (compare.json's as_is.import and "
            "to_be.import record each side's)"]


def _reading_note(as_is: Side, to_be: Side) -> list[str]:
    """Where one log side's cases were made by OCEL options and the other's by options its
    record does not keep (a canonical log without an import's record, or written before
    the record kept them, `audit.store.cases_made_unknown`): `_reading_warning` cannot
    weigh them, and says so. Before, nothing was said."""
    from audit.store import cases_made_by, cases_made_unknown

    sides = (as_is, to_be)
    made = [None if s.read is None else cases_made_by(s.read) for s in sides]
    for k in (0, 1):
        other, read = made[1 - k], sides[k].read
        if other is not None and read is not None and cases_made_unknown(read):
            return [f"the {sides[k].role} log's cases were made by options its record does "
                    f"not keep, {_made_told(sides[1 - k], other)}: whether both were made "
                    "alike cannot be told"]
    return []


def _apart(value: float, limit: float) -> str:
    """`value` in plain decimals (never e-notation: 0.00005, not 5e-05), two significant
    digits, more where fewer would print it as `limit` it is not equal to, or on the other
    side of it (1.96 points against a rule of 2 is "1.96", not "2"; an adjusted p of 0.0504
    against a rate of 0.05 is "0.0504"; 4.96 against 4.97 is "4.96", not "5")."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0:
        return "0"
    digits = max(0, 1 - math.floor(math.log10(abs(value))))
    while True:
        text = f"{value:.{digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        # (a text equal to the limit, or on its other side, once rounded: more digits)
        if value == limit or digits >= 17 or (
                float(text) != limit and (float(text) < limit) == (value < limit)):
            return text
        digits += 1


def _marked(difference: Difference,
            alone: Mapping[tuple[str, str], tuple[Significance, bool, bool]],
            min_shift: float, fdr: float) -> Difference:
    """Two logs: an activity seen in one log only (kind `not-in-...`) with the test of its
    share against 0 (`alone`: (kind, activity) -> its significance, whether its share is
    material, whether significant); one below the rule says so in its sentence: "...; below
    the rule a shift is told by (at least 2 percentage points, significant at a false
    discovery rate of 0.05): 0.01 points, and not significant (adjusted p = 1)." (the rule's
    one wording, as the console's count and compare.json's `shift_rule` name it; it read "a
    difference is told by"). Before, 1 case of 10,000 was told as 5,000 of 10,000 were,
    untested, first of all."""
    import dataclasses

    found = alone.get((difference.kind, difference.activities[0]))
    if found is None:
        return difference
    significance, material, significant = found
    sentence = difference.sentence
    if not (material and significant):
        why = [f"{_apart(abs(significance.points), min_shift)} points" if not material else "",
               "not significant (adjusted p = "
               f"{_apart(significance.adjusted_p_value, fdr)})" if not significant else ""]
        sentence = (sentence.removesuffix(".") + "; below the rule a shift is told by "
                    f"(at least {min_shift:g} percentage points, significant at a false "
                    f"discovery rate of {fdr:g}): " + ", and ".join(w for w in why if w) + ".")
    return dataclasses.replace(difference, sentence=sentence, significance=significance,
                               meets_rule=material and significant)


def _largest_first(differences: Sequence[Difference]) -> list[Difference]:
    """The differences grouped by kind, the kinds in the order first found, and within a
    kind the largest first: a shift by its move in percentage points, else by the cases it
    affects (the larger of the two sides' counts: a model counts none); ties keep the order
    found (by activity name). Last of all, the activities seen in one log only whose share
    is below the rule a shift is told by (`Difference.meets_rule` false), by kind and cases
    alike."""
    rank: dict[str, int] = {}
    for difference in differences:
        rank.setdefault(difference.kind, len(rank))

    def size(d: Difference) -> float:
        # (a relation in one log only, tested too, still by its cases, as against a model)
        if d.significance is not None and d.kind in ("shift", "role-shift"):
            # (rounded: 26.1229674 up and down are a tie)
            return round(abs(d.significance.points), 9)
        return max(d.as_is.cases or 0, d.to_be.cases or 0)

    return sorted(differences, key=lambda d: (d.meets_rule is False, rank[d.kind], -size(d)))


def _channel_notes(side: Side, other: Side) -> list[str]:
    """The note on a log side's channels (`Channels.note`): what `--channel` kept, or,
    without it, that its cases of several channels are compared as one log, naming the
    option (with the channel whose SOP the other side is, where it is one's)."""
    if side.kind != "log" or side.channels is None:
        return []
    sop_of = other.sop_of if other.kind == "model" else None
    note = side.channels.note(f"{side.role} log", "compared", "compare", sop_of,
                              f"{other.role} model")
    return [] if note is None else [note]


def _spelling_warnings(as_is: Side, to_be: Side) -> list[str]:
    """Per activity of one side only that the other side's has, spelt otherwise only in
    case ('Approve refund' against the task 'Approve Refund'): compared as two activities,
    the task read as missing in every case that did it. check warns of such a label (and
    asks for a sop_task); compare said nothing."""
    theirs: dict[str, list[str]] = {}
    for activity in sorted(to_be.labels - as_is.labels):
        theirs.setdefault(activity.casefold(), []).append(activity)
    out: list[str] = []
    for activity in sorted(as_is.labels - to_be.labels):
        for other in theirs.get(activity.casefold(), []):
            fix = (" (with --policy, activities.<label>.sop_task names a log's label by the "
                   "model's task)" if "log" in (as_is.kind, to_be.kind) else "")
            out.append(f"{_q(activity)} (as-is) and {_q(other)} (to-be) differ only in "
                       f"case: they are compared as two activities{fix}")
    return out


def _shared_warning(as_is: Side, to_be: Side) -> list[str]:
    """Where the sides share no activity, or fewer than half of either side's: the warning
    that the differences are likely of names, not of behaviour (a log labelled in English
    against an SOP whose tasks are in German gave a dozen confident differences, and no
    word)."""
    shared = as_is.labels & to_be.labels
    if not as_is.labels or not to_be.labels or (
            2 * len(shared) >= len(as_is.labels) and 2 * len(shared) >= len(to_be.labels)):
        return []
    return [f"the two sides share {len(shared)} activit{'y' if len(shared) == 1 else 'ies'} "
            f"(as-is {len(as_is.labels)}, to-be {len(to_be.labels)}): the differences may be "
            "of names rather than of behaviour; where a log names the SOP's tasks otherwise "
            "(the policy's activities.<label>.sop_task), compare with --policy P.yaml"]


def _log_against_model(log: Side, model: Side) -> list[Difference]:
    found: list[Difference] = []
    qualify = log.role == "to-be"
    log_rel, model_rel = relations(log), relations(model)

    def pair(log_measure: Measure, model_measure: Measure) -> tuple[Measure, Measure]:
        return (log_measure, model_measure) if log.role == "as-is" else (model_measure,
                                                                          log_measure)

    # Skipped: an activity the model requires (always, or before a later step that the case
    # did) that the case never did at all. Where it is required before later steps, the
    # sentence names those the cases counted did (the count is of the cases that did one of
    # them and never the activity: a recount by that condition gives the same number).
    needs = required_before(model)
    always = required(model)
    for a in sorted(model.labels):
        later = needs.get(a, set())
        traces = [t for t in log.traces
                  if a not in t and (a in always or any(b in t for b in later))]
        if not traces:
            continue
        count = _count(log, traces)
        done = () if a in always else tuple(sorted(b for b in later
                                                   if any(b in t for t in traces)))
        if done:
            steps = " or ".join(_q(b) for b in done)
            text = (f"{_q(a)} is required before {' and before '.join(_q(b) for b in done)} "
                    f"by the {model.role} model but missing in "
                    f"{_cases_phrase(log, count, qualify=qualify)}, which did {steps} and "
                    f"never {_q(a)}.")
        else:
            text = (f"{_q(a)} is required by the {model.role} model but missing in "
                    f"{_cases_phrase(log, count, qualify=qualify)}.")
        found.append(Difference("skipped", (a,), text,
                                *pair(Measure(count, log.cases), Measure(allowed=False)),
                                _examples(log, traces), before=done))
    # Missing after: B, which the model requires after A (the nearest such step, not one the
    # model requires in every run: `nearest_required_after`), not done after a case's last A
    # (never, or only before it).
    for a, later in sorted(nearest_required_after(model).items()):
        for b in sorted(later):
            traces = [t for t in log.traces if a in t and b not in t[_last(t, a) + 1:]]
            if not traces:
                continue
            never = [t for t in traces if b not in t]
            count, none = _count(log, traces), _count(log, never)
            if none == count:
                how = f"which did {_q(a)} and never {_q(b)}"
            elif none == 0:
                how = f"which did {_q(b)} only before their last {_q(a)}"
            else:
                how = (f"{none:,} of which never did {_q(b)} and {count - none:,} did it only "
                       f"before their last {_q(a)}")
            text = (f"{_q(b)} is required after {_q(a)} by the {model.role} model but "
                    f"missing in {_cases_phrase(log, count, qualify=qualify)}, {how}.")
            # (examples: the cases that never did B first, then those that did it earlier)
            examples = (_examples(log, never)
                        + _examples(log, [t for t in traces if b in t]))[:MAX_EXAMPLES]
            found.append(Difference("missing-after", (a, b), text,
                                    *pair(Measure(count, log.cases), Measure(allowed=False)),
                                    examples))
    # Order: A before B where the model never allows it.
    for (a, b), traces in sorted(log_rel.before.items()):
        if a == b or (a, b) in model_rel.before:
            continue
        count = _count(log, traces)
        text = (f"In {_cases_phrase(log, count, qualify=qualify)}, {_q(a)} happens before "
                f"{_q(b)}; the {model.role} model never allows this.")
        found.append(Difference("order", (a, b), text,
                                *pair(Measure(count, log.cases), Measure(allowed=False)),
                                _examples(log, traces)))
    # Repetition: more than once where the model allows it once.
    for a, traces in sorted(log_rel.repeated.items()):
        if a in model_rel.repeated:
            continue
        count = _count(log, traces)
        text = (f"In {_cases_phrase(log, count, qualify=qualify)}, {_q(a)} happens more "
                f"than once; the {model.role} model allows it only once.")
        found.append(Difference("repetition", (a,), text,
                                *pair(Measure(count, log.cases), Measure(allowed=False)),
                                _examples(log, traces)))
    return found


def _last(trace: Trace, activity: str) -> int:
    """The index of the last `activity` in `trace` (which has it)."""
    return len(trace) - 1 - trace[::-1].index(activity)


def policy_roles(policy: Policy) -> dict[str, frozenset[str]]:
    """Per SOP task, the role keys the policy allows to perform it besides the SOP's lanes,
    as check judges them: `approvers.<level>` for the approvals (unauthorized-approver),
    `performers.<control>` for the other tasks (unauthorized-performer)."""
    from audit.policy import PERFORMER_CONTROLS
    from conformance.bpmn import role_key

    tasks = policy.sop_tasks()
    allowed: dict[str, set[str]] = {}
    for label, activity in policy.activities.items():
        if label not in tasks:
            continue
        if activity.control in ("approve", "second-approve"):
            roles = policy.approver_roles.get(activity.control, ())
        elif activity.control in PERFORMER_CONTROLS:
            roles = policy.performer_roles.get(activity.control, ())
        else:
            roles = ()
        allowed.setdefault(tasks[label], set()).update(role_key(r) for r in roles)
    return {task: frozenset(roles) for task, roles in allowed.items() if roles}


def _allowed_phrase(lanes: int, policy: bool, model_role: str | None = None) -> str:
    """What a task's performers are judged against, as a lane sentence and the diff graph
    word it: "its lane", "its lanes", with `model_role` "its lane in the to-be model", with
    the roles the `policy` allows besides "... and the roles the policy allows"."""
    return (f"its lane{'s' if lanes > 1 else ''}"
            + (f" in the {model_role} model" if model_role else "")
            + (" and the roles the policy allows" if policy else ""))


def _lanes_phrase(roles: Iterable[str], names: Mapping[str, str]) -> str:
    named = _named(roles, names)
    if not named:
        return "no lane"
    return f"lane{'s' if len(named) > 1 else ''} {', '.join(named)}"


def _named(roles: Iterable[str], *names: Mapping[str, str]) -> list[str]:
    """Role keys as the sides write them (a model's lane names, a log's roles; the first of
    `names` that knows a key), else the key itself; sorted as the keys are."""
    return [next((n[key] for n in names if key in n), key) for key in sorted(roles)]


def _roles_counted(cases: Mapping[str, int], names: Mapping[str, str]) -> str:
    """The roles found outside a task's lanes with their cases, as a lane sentence names
    them: "finance (18 cases), customer-service (1 case)" (in the order given, most cases
    first); one role alone without its count, which is the sentence's."""
    if len(cases) == 1:
        return _named(cases, names)[0]
    return ", ".join(f"{next(iter(_named((key,), names)))} ({counted(n, 'case', spec=',')})"
                     for key, n in cases.items())


def _lane_differences(as_is: Side, to_be: Side, allowed: Mapping[str, frozenset[str]],
                      notes: list[str]) -> list[Difference]:
    """Who performs a task: two models whose lanes hold a task for other roles; a log whose
    events of a task record a role (`org:role`) that the model's lanes (and the policy,
    `allowed`) do not allow for it, in how many cases. A model without lanes says nothing
    of who performs its tasks, nor does a log that records no role (a note says so)."""
    found: list[Difference] = []
    if as_is.kind == "model" and to_be.kind == "model":
        if not as_is.lanes or not to_be.lanes:
            return found
        for task in sorted(as_is.labels & to_be.labels):
            a, b = as_is.lanes.get(task, ()), to_be.lanes.get(task, ())
            if set(a) == set(b):
                continue
            text = (f"{_q(task)} is in {_lanes_phrase(a, as_is.role_names)} in the as-is "
                    f"model and in {_lanes_phrase(b, to_be.role_names)} in the to-be model.")
            found.append(Difference("lane", (task,), text, Measure(allowed=True),
                                    Measure(allowed=True), roles=(tuple(a), tuple(b))))
        return found
    if as_is.kind == to_be.kind:  # (two logs: no lanes to compare with)
        return found
    log, model = (as_is, to_be) if as_is.kind == "log" else (to_be, as_is)
    if not model.lanes:
        return found
    if log.performers is None:
        notes.append(f"the {log.role} log records no role (org:role): who performs the "
                     f"tasks is not compared with the {model.role} model's lanes")
        return found
    qualify = log.role == "to-be"
    by_task: dict[str, list[tuple[str, list[str]]]] = {}
    for (activity, role), ids in log.performers.items():
        by_task.setdefault(activity, []).append((role, ids))
    for task in sorted(model.labels & log.labels):
        lanes = model.lanes.get(task)
        if not lanes:
            continue
        ok = set(lanes) | allowed.get(task, frozenset())
        outside: dict[str, int] = {}
        cases: set[str] = set()
        least: dict[str, str] = {}
        for role, ids in by_task.get(task, []):
            if role not in ok:
                outside[role] = len(ids)
                cases.update(ids)
                least[role] = ids[0]  # (`_performers` sorts them)
        if not cases:
            continue
        count = len(cases)
        # (The roles by their cases, most first, ties by key: 'Approve refund' by finance in
        # 18 cases and by customer-service in 1 read as one "customer-service, finance".)
        ranked = dict(sorted(outside.items(), key=lambda item: (-item[1], item[0])))
        whose = _allowed_phrase(len(lanes), ok != set(lanes), model.role)
        several = _cases_and_several(ids for role, ids in by_task.get(task, [])
                                     if role not in ok)[1]
        text = (f"In {_cases_phrase(log, count, qualify=qualify)}, {_q(task)} is performed "
                f"by {_roles_counted(ranked, log.role_names)}, outside {whose} "
                f"({', '.join(_named(ok, model.role_names, log.role_names))}).")
        if several:  # (the roles' counts then add up to more than the sentence's cases)
            one = several == 1
            text += (f" {several:,} of these {count:,} cases record{'s' if one else ''} "
                     f"more than one of these roles and count{'s' if one else ''} for each.")
        model_roles = tuple(sorted(ok))
        log_measure, model_measure = Measure(count, log.cases), Measure(allowed=False)
        roles = (tuple(sorted(outside)), model_roles)
        pair = (log_measure, model_measure)
        if log.role == "to-be":
            pair, roles = (model_measure, log_measure), (roles[1], roles[0])
        # The examples: a case of each role first (most cases first), so that the one case
        # of a rare role is among them, then the least other case ids.
        examples = list(dict.fromkeys(least[role] for role in ranked))[:MAX_EXAMPLES]
        examples += [c for c in sorted(cases) if c not in examples][:MAX_EXAMPLES - len(examples)]
        found.append(Difference("lane", (task,), text, *pair, tuple(examples),
                                roles=roles, role_cases=ranked,
                                several_roles=(several, 0)))
    return found


@dataclass
class _Share:
    """A share of cases to test between two logs: a relation's (of all cases) or a role's
    (of the cases doing an activity with a role recorded)."""

    kind: str
    activities: tuple[str, ...]
    count_a: int
    of_a: int
    count_b: int
    of_b: int
    examples: tuple[str, ...]
    phrase: str = ""
    """A relation's: "'A' happens before 'B'"."""
    role: str | None = None
    one_side: str | None = None
    """A relation seen in one log only: its sentence ("...; this never happens in the to-be
    log."), told where the share is material and significant, as a share moved."""
    several: tuple[int, int] = (0, 0)
    """A role's share: per side, the cases doing the activity that record more than one
    role for it (counted in each role's share)."""
    alone: bool = False
    """An activity seen in one log only: tested with the others, told apart (`_marked`)."""

    @property
    def points(self) -> float:
        return 100.0 * self.count_a / self.of_a - 100.0 * self.count_b / self.of_b

    def material(self, min_shift: Fraction) -> bool:
        """Whether the share moved by at least `min_shift` percentage points, compared
        exactly: 8 of 150 against 5 of 150 is 2 points, which `points` makes
        1.9999999999999996."""
        moved = abs(self.count_a * self.of_b - self.count_b * self.of_a)
        return 100 * moved >= min_shift * self.of_a * self.of_b


def _log_against_log(as_is: Side, to_be: Side, min_shift: float, fdr: float = SHIFT_ALPHA
                     ) -> tuple[list[Difference], dict[str, Any],
                                dict[tuple[str, str], tuple[Significance, bool, bool]]]:
    """A relation's share of cases, and a role's share of an activity's cases (where both
    logs record roles), is told where it moved by at least `min_shift` percentage points
    (compared exactly) and significantly: a two-sided test of the two shares
    (`conformance.significance.shift_test`) whose p-value, adjusted by Benjamini-Hochberg
    over every share tested, is at most `fdr` (SHIFT_ALPHA, unless `--fdr`). A relation in
    both logs is told as a shift; one seen in one log only as such ("...; this never
    happens in the as-is log."), its count tested against 0 in the same family: 4 of 150
    cases against none is noise (Fisher's p = 0.12), and was told. Also the rule, as
    compare.json's `shift_rule` states it.

    An activity seen in one log only is tested so too (its count against 0, in the same
    family), and returned apart: (kind `not-in-...`, activity) -> its significance, whether
    material, whether significant; `compare` tells it in any case, marked where it is below
    the rule (`_marked`)."""
    from conformance.significance import benjamini_hochberg, shift_test

    found: list[Difference] = []
    rel_a, rel_b = relations(as_is), relations(to_be)
    tested: list[_Share] = []

    def judge(kind: str, activities: tuple[str, ...], phrase: str,
              traces_a: list[Trace], traces_b: list[Trace]) -> None:
        count_a, count_b = _count(as_is, traces_a), _count(to_be, traces_b)
        examples = _examples(as_is, traces_a) + _examples(to_be, traces_b)
        one_side: str | None = None
        if count_a and not count_b:
            one_side = (f"In {_cases_phrase(as_is, count_a, qualify=True)}, {phrase}; this "
                        "never happens in the to-be log.")
        elif count_b and not count_a:
            one_side = (f"In {_cases_phrase(to_be, count_b, qualify=True)}, {phrase}; this "
                        "never happens in the as-is log.")
        tested.append(_Share(kind, activities, count_a, as_is.cases, count_b, to_be.cases,
                             examples, phrase, one_side=one_side))

    for activity in sorted(as_is.labels & to_be.labels):
        judge("presence", (activity,), f"{_q(activity)} happens",
              rel_a.present.get(activity, []), rel_b.present.get(activity, []))
    shared = as_is.labels & to_be.labels
    for pair in sorted(set(rel_a.before) | set(rel_b.before)):
        a, b = pair
        if a == b or a not in shared or b not in shared:
            continue
        judge("order", pair, f"{_q(a)} happens before {_q(b)}",
              rel_a.before.get(pair, []), rel_b.before.get(pair, []))
    for activity in sorted((set(rel_a.repeated) | set(rel_b.repeated)) & shared):
        judge("repetition", (activity,), f"{_q(activity)} happens more than once",
              rel_a.repeated.get(activity, []), rel_b.repeated.get(activity, []))
    tested += _role_shares(as_is, to_be, shared)
    for side, other in ((as_is, to_be), (to_be, as_is)):
        seen = relations(side).present
        for activity in sorted(side.labels - other.labels):
            count = _count(side, seen.get(activity, []))
            counts = (count, 0) if side is as_is else (0, count)
            tested.append(_Share(f"not-in-{other.role}", (activity,), counts[0], as_is.cases,
                                 counts[1], to_be.cases, (), alone=True))
    tests = [shift_test(t.count_a, t.of_a, t.count_b, t.of_b) for t in tested]
    adjusted = benjamini_hochberg([t.p_value for t in tests])
    least = Fraction(repr(float(min_shift)))  # (the points as given: 0.1, not 0.1000...0555)
    alone = {(share.kind, share.activities[0]): (
        Significance(test.test, test.p_value, q, share.points), share.material(least),
        q <= fdr) for share, test, q in zip(tested, tests, adjusted, strict=True)
        if share.alone}
    told = [(share, test, q) for share, test, q in zip(tested, tests, adjusted, strict=True)
            if not share.alone and share.material(least) and q <= fdr]
    for share, test, q in told:
        if share.one_side is not None:
            found.append(Difference(share.kind, share.activities, share.one_side,
                                    Measure(share.count_a, share.of_a),
                                    Measure(share.count_b, share.of_b), share.examples,
                                    significance=Significance(test.test, test.p_value, q,
                                                              share.points)))
    told = [entry for entry in told if entry[0].one_side is None]
    # An order shift in exactly the cases of an activity's shift, on both sides ('Collect
    # evidence' before 'Reject refund' in each case that rejects), is told in that
    # activity's sentence, not as a sentence of its own: one change was told five times.
    present = {share.activities[0]: (share.count_a, share.count_b) for share, _, _ in told
               if share.kind == "presence" and share.role is None}
    alike: dict[str, list[tuple[str, str]]] = {}
    folded: set[tuple[str, ...]] = set()
    for share, _, _ in told:
        if share.kind != "order" or share.role is not None:
            continue
        for activity in share.activities:
            if present.get(activity) == (share.count_a, share.count_b):
                a, b = share.activities
                alike.setdefault(activity, []).append((a, b))
                folded.add(share.activities)
                break
    for share, test, q in told:
        if share.role is None and share.kind == "order" and share.activities in folded:
            continue
        more = "as-is" if share.points > 0 else "to-be"
        gap = f"{abs(share.points):.1f} percentage points more in the {more} log"
        significance = Significance(test.test, test.p_value, q, share.points)
        a_phrase = _cases_phrase(as_is, share.count_a, qualify=True)
        b_phrase = _cases_phrase(to_be, share.count_b, qualify=True)
        if share.role is None:
            text = (f"{share.phrase[0].upper()}{share.phrase[1:]} in {a_phrase} against "
                    f"{b_phrase}: {gap}.")
            orders = tuple(alike.get(share.activities[0], ())) if share.kind == "presence" \
                else ()
            if orders:
                text += " " + _alike_phrase(share.activities[0], orders)
            found.append(Difference("shift", share.activities, text,
                                    Measure(share.count_a, share.of_a),
                                    Measure(share.count_b, share.of_b), share.examples,
                                    significance=significance,
                                    alike=orders if share.kind == "presence" else None))
            continue
        task = share.activities[0]
        name = _named((share.role,), as_is.role_names, to_be.role_names)[0]

        def doing(count: int, of: int, role: str) -> str:
            return f"{percent(count, of)} of the {role} cases doing it ({count:,} of {of:,})"

        text = (f"{_q(task)} is performed by {name} in "
                f"{doing(share.count_a, share.of_a, 'as-is')} against "
                f"{doing(share.count_b, share.of_b, 'to-be')}: {gap}."
                + _several_phrase(share.several, (share.of_a, share.of_b), "for it"))
        found.append(Difference("role-shift", share.activities, text,
                                Measure(share.count_a, share.of_a),
                                Measure(share.count_b, share.of_b), share.examples,
                                role=share.role, significance=significance,
                                several_roles=share.several))
    rule = {"min_points": min_shift, "false_discovery_rate": fdr,
            "correction": "benjamini-hochberg", "tested": len(tested),
            "tested_one_side_only": sum(share.one_side is not None for share in tested),
            "tested_activities_one_side_only": sum(share.alone for share in tested),
            "roles": as_is.performers is not None and to_be.performers is not None}
    return found, rule, alone


def _alike_phrase(activity: str, orders: Sequence[tuple[str, str]]) -> str:
    """The orders shifting in the same cases as `activity`: "In each such case, on both
    sides, it comes after 'Collect evidence' and before 'Close ticket' (these orders shift
    alike)." """
    after = [a for a, b in orders if b == activity]
    before = [b for a, b in orders if a == activity]
    parts = ([f"after {' and '.join(_q(a) for a in after)}"] if after else []) + (
        [f"before {' and '.join(_q(b) for b in before)}"] if before else [])
    return (f"In each such case, on both sides, it comes {', and '.join(parts)} (these "
            "orders shift alike).")


def _cases_and_several(groups: Iterable[Iterable[str]]) -> tuple[int, int]:
    """The distinct cases of `groups` (each role's cases), and those in more than one."""
    counts = Counter(c for ids in groups for c in set(ids))
    return len(counts), sum(n > 1 for n in counts.values())


def _several_phrase(several: tuple[int, int], of: tuple[int, int], where: str) -> str:
    """" A case may count for several roles: 300 of the 1,000 as-is cases doing it record
    more than one role, so its roles' shares add up to more than 100%." (nothing where no
    case does)."""
    parts = [f"{n:,} of the {total:,} {side} cases doing it" for n, total, side
             in zip(several, of, ("as-is", "to-be"), strict=True) if n]
    if not parts:
        return ""
    return (f" A case may count for several roles: {' and '.join(parts)} record"
            f"{'s' if len(parts) == 1 and several[0] + several[1] == 1 else ''} more than one "
            f"role {where}, so the roles' shares add up to more than 100%.")


def _role_shares(as_is: Side, to_be: Side, shared: frozenset[str] | set[str]
                 ) -> list[_Share]:
    """Per activity of both logs and role recorded for it in either (`Side.performers`),
    the role's share of the cases doing the activity with a role recorded, on each side;
    none where a log records no role."""
    if as_is.performers is None or to_be.performers is None:
        return []

    def by_activity(side: Side) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {}
        for (activity, role), ids in (side.performers or {}).items():
            out.setdefault(activity, {})[role] = ids
        return out

    roles_a, roles_b = by_activity(as_is), by_activity(to_be)
    shares: list[_Share] = []
    for activity in sorted(shared):
        a, b = roles_a.get(activity, {}), roles_b.get(activity, {})
        of_a, several_a = _cases_and_several(a.values())
        of_b, several_b = _cases_and_several(b.values())
        if not of_a or not of_b:
            continue
        for role in sorted(set(a) | set(b)):
            ids_a, ids_b = a.get(role, []), b.get(role, [])
            shares.append(_Share("role-shift", (activity,), len(ids_a), of_a, len(ids_b),
                                 of_b, tuple(ids_a[:MAX_EXAMPLES]) + tuple(
                                     ids_b[:MAX_EXAMPLES]), role=role,
                                 several=(several_a, several_b)))
    return shares


def _model_against_model(as_is: Side, to_be: Side) -> list[Difference]:
    found: list[Difference] = []
    rel_a, rel_b = relations(as_is), relations(to_be)
    yes, no = Measure(allowed=True), Measure(allowed=False)
    shared = as_is.labels & to_be.labels
    for pair in sorted(set(rel_a.before) ^ set(rel_b.before)):
        a, b = pair
        if a not in shared or b not in shared:
            continue
        only_as_is = pair in rel_a.before
        phrase = (f"{_q(a)} more than once" if a == b
                  else f"{_q(a)} before {_q(b)}")
        kind = "repetition" if a == b else "order"
        if only_as_is:
            text = f"The as-is model allows {phrase}; the to-be model never allows this."
            found.append(Difference(kind, pair if a != b else (a,), text, yes, no))
        else:
            text = f"The to-be model allows {phrase}; the as-is model never allows this."
            found.append(Difference(kind, pair if a != b else (a,), text, no, yes))
    req_a, req_b = required(as_is), required(to_be)
    for activity in sorted(shared & (req_a ^ req_b)):
        if activity in req_b:
            text = (f"{_q(activity)} is required by the to-be model but optional in the "
                    "as-is model.")
            found.append(Difference("required", (activity,), text, no, yes))
        else:
            text = (f"{_q(activity)} is required by the as-is model but optional in the "
                    "to-be model.")
            found.append(Difference("required", (activity,), text, yes, no))
    # Required after: B, the nearest step one model requires after A, that the other model
    # does not require after A (where it has both).
    follows_a, follows_b = required_after(as_is), required_after(to_be)
    for model, other, follows in ((as_is, to_be, follows_b), (to_be, as_is, follows_a)):
        for a, later in sorted(nearest_required_after(model).items()):
            for b in sorted(later):
                if a not in shared or b not in shared or b in follows.get(a, set()):
                    continue
                text = (f"{_q(b)} is required after {_q(a)} by the {model.role} model but not "
                        f"by the {other.role} model.")
                found.append(Difference("required-after", (a, b), text,
                                        *((yes, no) if model is as_is else (no, yes))))
    return found


def _diff_edges(as_is: Side, to_be: Side) -> list[DiffEdge]:
    rel_a, rel_b = relations(as_is), relations(to_be)
    bridged = as_is.bridged or to_be.bridged  # (the side projected onto the other's tasks)
    edges: list[DiffEdge] = []
    for pair in sorted(set(rel_a.directly) | set(rel_b.directly)):
        in_a, in_b = pair in rel_a.directly, pair in rel_b.directly
        status: Literal["both", "only-as-is", "only-to-be"] = (
            "both" if in_a and in_b else "only-as-is" if in_a else "only-to-be")
        edges.append(DiffEdge(pair[0], pair[1], status,
                              _measure(as_is, rel_a.directly.get(pair)),
                              _measure(to_be, rel_b.directly.get(pair)),
                              bridged.get(pair, 0)))
    return edges


def _tested_edges(edges: Sequence[DiffEdge], min_shift: float, fdr: float,
                  alone: Mapping[str, tuple[int, Significance, bool]] | None = None
                  ) -> list[DiffEdge]:
    """Two logs: each directly-follows edge of one log only tested as an activity of one log
    only is (`_log_against_log`): its cases against 0, two-sided, material where it moved by
    at least `min_shift` points and significant where its Benjamini-Hochberg adjusted p is
    at most `fdr`, adjusted over these edges (a family of their own: compare.md tells no
    edge, and joining its family would change which of its differences are told, for a
    drawing). The diff graph draws an edge below the rule faint, as such an activity; before,
    an edge of 1 case of 10,000 was as bold a blue as one of 600.

    An edge touching an activity seen in one log only (`alone`: activity -> its cases, its
    significance, whether it meets the rule, as `_marked` judged it) is in its cases only:
    in all of them, it takes that activity's significance and verdict (the same cases, the
    same test: it can be no more and no less significant than its end), and is left out of
    the edges' family; in fewer, it is tested in that family, and meets the rule only where
    its activity does too. Before, 'A' -> 'Z' and 'Z' -> 'B' in the 7 cases of 300 of 'Z'
    met the rule (adjusted p 0.015 among the edges) while 'Z' was below it (0.558)."""
    import dataclasses

    from conformance.significance import benjamini_hochberg, shift_test

    ends = {} if alone is None else alone
    tested = list(edges)
    capped: dict[int, bool] = {}  # (an edge in fewer of its activity's cases: that verdict)
    own: list[int] = []
    for k, e in enumerate(edges):
        if e.status == "both" or not e.as_is.of or not e.to_be.of:
            continue
        cases = (e.as_is.cases or 0) + (e.to_be.cases or 0)
        verdicts = [ends[a] for a in dict.fromkeys((e.source, e.target)) if a in ends]
        same = next((v for v in verdicts if v[0] == cases), None)
        if same is not None:
            tested[k] = dataclasses.replace(e, significance=same[1], meets_rule=same[2])
            continue
        if verdicts:
            capped[k] = all(v[2] for v in verdicts)
        own.append(k)
    shares = [_Share(edges[k].status, (edges[k].source, edges[k].target),
                     edges[k].as_is.cases or 0, edges[k].as_is.of or 0,
                     edges[k].to_be.cases or 0, edges[k].to_be.of or 0, ())
              for k in own]
    if not shares:
        return tested
    tests = [shift_test(t.count_a, t.of_a, t.count_b, t.of_b) for t in shares]
    adjusted = benjamini_hochberg([t.p_value for t in tests])
    least = Fraction(repr(float(min_shift)))  # (as `_log_against_log` compares it)
    for k, share, test, q in zip(own, shares, tests, adjusted, strict=True):
        tested[k] = dataclasses.replace(
            edges[k], significance=Significance(test.test, test.p_value, q, share.points),
            meets_rule=share.material(least) and q <= fdr and capped.get(k, True))
    return tested


# --- views --------------------------------------------------------------------------------
def comparison_json(result: Comparison, files: Mapping[str, Any] | None = None,
                    reading: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """compare.json's content: the tool and version, the `files` (`policy`, `mapping`,
    `sources_config`: the files given, by name and sha256, a path or its entry already;
    the sources file's `used` false where no side is an export), each side (with its
    file, where read from one) and the differences."""
    from audit import __version__
    from audit.digest import sha256_of
    from audit.store import reading_options

    def side(s: Side) -> dict[str, Any]:
        view: dict[str, Any] = {"kind": s.kind, "name": s.name,
                                "activities": sorted(s.labels)}
        if s.file is not None:
            view.update({"file": s.file, "sha256": s.sha256})
            if s.kind != "log":
                view["process"] = s.process
        if s.kind == "log":
            if s.read is not None:  # (how it was read: the options in effect, per side)
                view["import"] = s.read
            view["cases"] = s.cases
            view["variants"] = len(s.traces)
            # (what it was computed on: its cases by channel and the --channel kept)
            view["channels"] = None if s.channels is None else s.channels.as_dict()
        elif s.behaviour is not None:
            view["reachable_states"] = s.behaviour.states
        else:
            view["runs"] = len(s.traces)
        return view

    given = {} if files is None else files
    return {
        "tool": "refund-audit", "version": __version__,
        # (a file given as a path: by name and sha256; one given as its entry already,
        # the sources file's with `used` false where no side is an export, as it is)
        **{key: path if path is None or isinstance(path, dict) else {
            "file": path.name, "sha256": sha256_of(path)}
           for key in ("policy", "mapping", "sources_config") for path in [given.get(key)]},
        # (the import's options given, in check's shape: null where not given; each log
        # side's `import` records those in effect for it)
        "import_options": reading_options(reading or {}),
        "channel": result.channel,
        "as_is": side(result.as_is),
        "to_be": side(result.to_be),
        "compared_activities": sorted(result.compared),
        "compared_relations": list(result.relations_compared),
        # (two logs: the rule a shift is told by; null where a side is a model)
        "shift_rule": result.shift_rule,
        "differences": [d.as_dict() for d in result.differences],
        "edges": [edge_json(e) for e in result.edges],
        "notes": result.notes,
        "warnings": result.warnings,
    }


def edge_json(edge: DiffEdge) -> dict[str, Any]:
    """An edge as compare.json gives it: `source` and `target` the activities, null for the
    case's start (`from_start` true) and its end (`to_end` true). The graph's display text
    for them ("▶ start", "■ end") is no activity a consumer should have to know, nor tell
    from an activity of that name."""
    return {"source": None if edge.source == START else edge.source,
            "target": None if edge.target == END else edge.target,
            "from_start": edge.source == START, "to_end": edge.target == END,
            "status": edge.status, "as_is": edge.as_is.as_dict(), "to_be": edge.to_be.as_dict(),
            "only_via_left_out": edge.via_left_out,
            # (two logs, an edge of one log only: its test, as an activity's)
            **({} if edge.significance is None else {
                "significance": edge.significance.as_dict(),
                "meets_shift_rule": edge.meets_rule})}


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
IMPORT_CODE = "`refund-audit import`"
"""A command the notes name as code: compare.md shows it as code (`markdown_text`), not as
the backticks escaped."""
_OWN_CODE = (IMPORT_CODE,)
_MARKDOWN_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")


def markdown_text(text: str, *, own_code: bool = False) -> str:
    """TEXT as Markdown shows it as written: the input's invisible direction controls and
    control characters shown (`[U+202E]`), as report.html shows them, its line breaks too
    (`shown_on_one_line`: a role or file name `cs\\n# x` began a line of its own, a heading
    or a difference compare did not write), and the characters that would make markup of a
    label escaped: a label `<img src=x onerror=...>` or `[x](javascript:...)` is text in a
    Markdown viewer, not an element or a link. With `own_code` (a note), the commands
    compare's notes name as code (`IMPORT_CODE`) are shown as code, not as backticks escaped
    (a code span is inert: no markup inside). A text longer than report.html shows whole
    (`REPORT_VALUE`: a label of a hostile export's) is cut as report.html cuts it."""
    from audit.ingest.sizes import REPORT_VALUE, cut
    from audit.safety import shown_on_one_line

    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", shown_on_one_line(cut(text, REPORT_VALUE)))
    for code in _OWN_CODE if own_code else ():
        escaped = escaped.replace(_MARKDOWN_SPECIAL.sub(r"\\\1", code), code)
    return _MARKDOWN_ENTITY.sub(r"\\&", escaped)


def _channel_words(side: Side) -> str:
    """", channel ecommerce: 141 of 300 cases" for a log side read with `--channel`, else
    nothing."""
    kept = side.channels
    if kept is None or kept.channel is None:
        return ""
    return f", channel {kept.channel}: {kept.kept:,} of {kept.cases:,} cases"


MAX_LISTED_EDGES = 40
"""compare.md lists at most this many edges on one side only (compare.json lists all)."""


def _one_side_edge_lines(result: Comparison) -> list[str]:
    """compare.md's list of the directly-follows edges on one side only, under their count:
    per side, those of the most cases first, each with its cases where its side is a log
    ("4 of 141 cases, 2.8%") and, for an edge only in a model against a log, that no case
    of the log took it: the SOP's paths never taken, and the log's paths the SOP has not.
    Before, compare.md counted them only ("see the diff graph"): a designer asking which
    paths of the SOP no case takes read them off a drawing of up to 150 edges."""
    from reports.overlay import share_text

    def end(name: str) -> str:
        if name == START:
            return "a case's start"
        if name == END:
            return "its end"
        return f"'{markdown_text(name)}'"

    lines: list[str] = []
    for status, side, other in (("only-as-is", result.as_is, result.to_be),
                                ("only-to-be", result.to_be, result.as_is)):
        edges = [e for e in result.edges if e.status == status]
        if not edges:
            continue
        as_is = status == "only-as-is"

        def mine(e: DiffEdge, as_is: bool = as_is) -> Measure:
            return e.as_is if as_is else e.to_be

        edges.sort(key=lambda e: (-(mine(e).cases or 0), end(e.source), end(e.target)))
        if side.kind == "model":
            heading = (f"Only in the {side.role} model"
                       + (f", taken by no case of the {other.role} log:"
                          if other.kind == "log" else ":"))
        else:
            heading = f"Only in the {side.role} log:"
        lines += ["", heading, ""]
        for edge in edges[:MAX_LISTED_EDGES]:
            measure = mine(edge)
            text = f"- from {end(edge.source)} to {end(edge.target)}"
            if measure.cases is not None and measure.of:
                text += (f": {measure.cases:,} of {counted(measure.of, 'case', spec=',')}, "
                         f"{share_text(measure.cases, measure.of)}")
                if edge.via_left_out:
                    # (as the diff graph labels it: the activities between its ends are not
                    # in the other side's model, the to-be model where the log is as-is and
                    # the as-is model where it is to-be; before, told of an as-is log only)
                    text += f", {edge.via_left_out:,} of them only via left-out steps"
                if edge.meets_rule is False:
                    text += ", below the rule a shift is told by"
            lines.append(text)
        if len(edges) > MAX_LISTED_EDGES:
            lines.append(f"- and {len(edges) - MAX_LISTED_EDGES:,} more (compare.json lists "
                         "all)")
    return lines


def comparison_markdown(result: Comparison) -> str:
    """compare.md: the sentences, as Markdown shows them as written (`markdown_text`)."""
    def describe(s: Side) -> str:
        if s.kind == "log":
            cases = _channel_words(s)[2:] or counted(s.cases, "case", spec=",")
            return f"log {markdown_text(s.name)} ({cases})"
        return f"model {markdown_text(s.name)}"

    lines = ["# As-is against to-be", "",
             f"- As-is: {describe(result.as_is)}", f"- To-be: {describe(result.to_be)}", ""]
    if result.warnings:
        lines += ["## Warnings", ""]
        lines += [f"- {markdown_text(w)}" for w in result.warnings] + [""]
    if result.differences:
        lines += ["## Differences", ""]
        lines += [f"- {markdown_text(d.sentence)}" for d in result.differences]
    else:
        lines.append("No differences in the compared relations ("
                     + ", ".join(result.relations_compared) + ").")
    edges = sum(e.status != "both" for e in result.edges)
    below = sum(e.meets_rule is False for e in result.edges)
    if edges:
        # (two logs: how many of them are below the rule, drawn faint, as compare.json says)
        lines += ["", f"{edges:,} directly-follows edge{'s' if edges != 1 else ''} (with a "
                  f"case's start and end) occur{'s' if edges == 1 else ''} on one side only"
                  + (f", {'all' if below == edges else f'{below:,} of them'} below the rule "
                     "a shift is told by (drawn dotted)" if below else "")
                  + ": see the diff graph."]
        lines += _one_side_edge_lines(result)
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {markdown_text(n, own_code=True)}"
                                             for n in result.notes]
    return "\n".join(lines) + "\n"


BOTH_GREY = "#7f7f7f"
"""The colour of an edge on both sides."""
_STYLE = {
    "both": (f'color="{BOTH_GREY}"', ""),
    "only-as-is": ('color="#c0392b", fontcolor="#c0392b", penwidth=2.2', "only as-is"),
    "only-to-be": ('color="#2f5597", fontcolor="#2f5597", style=dashed, penwidth=2.2',
                   "only to-be"),
}
"""The style and word of an edge by its status; an edge only in an as-is log is graded by
its share of the log's cases instead (`_graded_style`)."""
FAINT_FONT = "#595959"
"""The label colour of an edge of one log only below the rule a shift is told by
(`_faint_edge_style`): grey, legible on white where its line's pale hue is not."""


def _faint_edge_style(side: Role) -> str:
    """The DOT style of an edge seen in one log only whose share of cases is below the rule
    a shift is told by (`DiffEdge.meets_rule` false): dotted and thin, in the pale hue of
    its side (the border of such an activity, `_faint_style`), where one meeting the rule is
    graded (as-is) or bold blue (to-be). Before, 1 case of 10,000 was as bold a blue as
    600."""
    line = ONLY_AS_IS_LINE if side == "as-is" else ONLY_TO_BE_LINE
    return f'color="{line}", fontcolor="{FAINT_FONT}", style=dotted, penwidth=1.2'


GRADED_FONT = "#8c2d04"
"""The label colour of a graded edge (as the SOP graph's dotted arrows: legible on white)."""


def _graded_style(cases: int, of: int) -> tuple[str, str]:
    """The style and share line of an edge only in an as-is log taken by `cases` of its `of`
    cases: colour and pen width of the band of its share (the SOP graph's scale,
    `reports.overlay.BANDS`), the share with one decimal as the SOP graph words it
    (`reports.overlay.share_text`), so that the label never reads as another band's (14 of
    300 cases are "4.7%", in the band "1% to under 5%"; compare.md's whole percent would
    say "5%")."""
    from reports.overlay import band, share_text

    drawn = band(cases, of)
    return (f'color="{drawn.line}", fontcolor="{GRADED_FONT}", penwidth={drawn.width:.1f}',
            f"{cases:,} of {of:,} case{'' if of == 1 else 's'}, {share_text(cases, of)}")


def _counting_side(result: Comparison) -> Side | None:
    """The log whose cases width the edges on both sides: the as-is log, else the to-be
    log; None for two models (which count no cases)."""
    return next((side for side in (result.as_is, result.to_be) if side.kind == "log"), None)


def _both_style(edge: DiffEdge, counting: Side | None) -> str:
    """The style of an edge on both sides: grey, drawn the wider the larger the share of
    the `counting` log's cases taking it, on the pen widths of the SOP graph's scale
    (`reports.overlay.BANDS`: 1.6 under 1% to 4.6 at 50% or more), so that the main path
    stands out of the rare ones (before, an edge 140 of 141 cases took was as thin as one 2
    took); between two models, one width."""
    if counting is None:
        return f'color="{BOTH_GREY}"'
    from reports.overlay import band

    measure = edge.as_is if counting.role == "as-is" else edge.to_be
    return f'color="{BOTH_GREY}", penwidth={band(measure.cases or 0, measure.of or 0).width:.1f}'


def _diff_legend(result: Comparison, drawn: Sequence[DiffEdge], *,
                 lanes: bool = False, policy: bool = False,
                 only: tuple[bool, bool] = (False, False),
                 faint: tuple[bool, bool] = (False, False)) -> list[str]:
    """DOT lines of the diff graph's legend: an arrow drawn in each style the graph uses
    (of the `drawn` edges), with what it means; where the as-is side is a log and an edge only
    in it is drawn, one per band of the scale, under a title saying of how many cases the
    shares are; where it is a model, that a model's edges have no share. A style no edge
    is drawn in has no key (the five bands stood in a legend of a graph grading no edge).
    `only`: whether an activity only in the as-is side, and one only in the to-be side, is
    drawn: each gets a key in its fill (before, the pink and blue activities had none).
    `lanes`: whether a lane difference's border is drawn, `policy` whether roles a policy
    allows judged one too (its key then says so, as the sentence does).
    `faint`: the same for such an activity of two logs below the rule a shift is told by
    (`_faint_style`)."""
    from reports.graphs import _label
    from reports.overlay import BANDS, band

    as_is = result.as_is
    # (an edge of one log only below the rule is keyed apart, in its faint style)
    used = {e.status for e in drawn if e.meets_rule is not False}
    below = {e.status for e in drawn if e.meets_rule is False}
    title: list[str] = []
    keys: list[tuple[str, str]] = []
    if "only-as-is" in used and as_is.kind == "log":
        title = ["Edges only in the as-is log: colour and width",
                 f"grade the share of its {counted(as_is.cases, 'case', spec=',')} taking "
                 "the edge,", "light and thin to dark and thick"]
        keys = [(b.text,
                 f'color="{b.line}", fontcolor="{GRADED_FONT}", penwidth={b.width:.1f}')
                for b in BANDS]
    elif "only-as-is" in used:
        title = ["Edges only in the as-is model are not graded:",
                 "a model allows an edge, it counts no cases"]
        keys = [("only as-is (model)", _STYLE["only-as-is"][0])]
    elif "only-as-is" in below:
        title = ["No edge only in the as-is log meets the rule"]
    else:
        title = [f"No edge is only in the as-is {as_is.kind}"]
    if "only-to-be" in used:
        keys.append(("only to-be", _STYLE["only-to-be"][0]))
    sides: tuple[tuple[str, Role], ...] = (("only-as-is", "as-is"), ("only-to-be", "to-be"))
    for status, side in sides:
        if status in below:
            keys.append((f"edge only in the {side} log,\nbelow the rule a shift is told by "
                         "(compare.json)", _faint_edge_style(side)))
    counting = _counting_side(result)
    if "both" in used and counting is not None:
        # (a key per width the edges on both sides are drawn in, on the same scale)
        of = counting.cases
        title += ["Edges on both sides: grey, the wider the larger",
                  f"the share of the {counting.role} log's {counted(of, 'case', spec=',')} "
                  "taking the edge"]
        widths = {band(e.as_is.cases or 0, e.as_is.of or 0) if counting.role == "as-is"
                  else band(e.to_be.cases or 0, e.to_be.of or 0)
                  for e in drawn if e.status == "both"}
        keys += [(f"both sides, {b.text}", f'color="{BOTH_GREY}", penwidth={b.width:.1f}')
                 for b in BANDS if b in widths]
    elif "both" in used:
        keys.append(("both sides", _STYLE["both"][0]))
    if not keys and not lanes and not any(only) and not any(faint):
        return []
    title = [part for line in title for part in _wrapped(line)]  # (10,000,000 cases: 61)
    lines = ["  subgraph cluster_legend {",
             f"    graph [label={_label('Legend', *title)}, fontsize=10, style=dashed, "
             'color="#bdbdbd"];',
             '    node [shape=point, width=0.05, color="#bdbdbd", fillcolor="#bdbdbd"];']
    for index, (text, style) in enumerate(keys):
        label = _label(*("  " + text).split("\n"))
        lines.append(f"    lg{index}a -> lg{index}b [label={label}, {style}];")
    if lanes:  # (a node, not an edge: the activity's border)
        key = _label("who performs it differs", "from the lanes and the roles the policy "
                     "allows (compare.md)" if policy else "from the lanes (compare.md)")
        lines.append(f'    lglane [shape=box, style="rounded,filled", fillcolor="#f2f2f2", '
                     f'color="{LANE_BORDER}", penwidth=2.4, width=0, height=0, fontsize=9, '
                     f"label={key}];")
    for side, fill, shown in (("as-is", ONLY_AS_IS_FILL, only[0]),
                              ("to-be", ONLY_TO_BE_FILL, only[1])):
        if shown:  # (a node, not an edge: the activity's fill)
            kind = (result.as_is if side == "as-is" else result.to_be).kind
            key = _label(f"activity only in the {side} {kind}")
            lines.append(f'    lgonly{side.replace("-", "")} [shape=box, '
                         f'style="rounded,filled", fillcolor="{fill}", color="#bdbdbd", '
                         f"width=0, height=0, fontsize=9, label={key}];")
    roles: tuple[Role, Role] = ("as-is", "to-be")
    for side, shown in zip(roles, faint, strict=True):
        if shown:  # (two logs: an activity of one log only below the rule, not alarming)
            key = _label(f"activity only in the {side} log,", "below the rule a shift is "
                         "told by (compare.md)")
            lines.append(f'    lgfaint{side.replace("-", "")} [shape=box, '
                         f"{_faint_style(side)}, width=0, height=0, fontsize=9, "
                         f"label={key}];")
    # The boxes (keys of an activity's border or fill) a rank below the arrows, each under
    # an arrow's head: in the arrows' rank, Graphviz set them between the arrows' tails and
    # bent every arrow around them, their labels beside arrows of other keys.
    boxes = [line.split()[0] for line in lines if line.startswith(("    lglane ",
                                                                     "    lgonly",
                                                                     "    lgfaint"))]
    lines += [f"    lg{min(k, len(keys) - 1)}b -> {box} [style=invis, weight=0];"
              for k, box in enumerate(boxes) if keys]
    lines.append("  }")
    return lines


ONLY_AS_IS_FILL = "#f8d7d3"
"""The fill of an activity only in the as-is side in the diff graph (pink)."""
ONLY_TO_BE_FILL = "#d6e4f5"
"""The fill of an activity only in the to-be side in the diff graph (blue)."""

ONLY_AS_IS_LINE = "#d9827a"
"""The dashed border of an activity only in the as-is log below the rule a shift is told by
(`_faint_style`): the pink's hue, drawn as an outline only."""
ONLY_TO_BE_LINE = "#7f9fcf"
"""The same for an activity only in the to-be log (the blue's hue)."""


def _faint_style(side: Role) -> str:
    """The DOT style of an activity seen in one log only whose share of cases is below the
    rule a shift is told by (`Difference.meets_rule` false: compare.md tells it last, marked
    so): white, with a dashed border in its side's hue, where one meeting the rule is filled
    pink or blue. Before, 1 case of 10,000 was filled as alarming a pink as 5,000 of
    10,000."""
    line = ONLY_AS_IS_LINE if side == "as-is" else ONLY_TO_BE_LINE
    return f'style="rounded,filled,dashed", fillcolor="#ffffff", color="{line}", penwidth=1.4'


LANE_BORDER = "#6a3d9a"
"""The border of an activity whose performers differ from the lanes (kind `lane`) in the
diff graph: a colour no edge style uses."""


def _lane_lines(result: Comparison) -> dict[str, tuple[str, ...]]:
    """Activity -> the lines its node in the diff graph adds for its `lane` difference: two
    models, "lane: Payments -> Finance" (the as-is model's lanes, then the to-be model's);
    a log against a model, "outside its lane: 131 of 141 cases" (the log's cases recording a
    role the lanes do not allow), judged against what its sentence names (`_allowed_phrase`):
    with roles a policy allows besides one lane, "outside its lane and the roles the policy
    allows:", then the cases (before, "outside its lanes", the policy's roles counted as
    lanes). Before, the diff graph drew no lane difference: two models differing only in a
    task moved to another lane were drawn alike, every edge grey and "allowed / allowed",
    beside compare.md's "1 difference"."""
    lines: dict[str, tuple[str, ...]] = {}
    as_is, to_be = result.as_is, result.to_be
    for difference in result.differences:
        if difference.kind != "lane" or difference.roles is None:
            continue
        (task,) = difference.activities
        if as_is.kind == to_be.kind == "model":
            a, b = (", ".join(_named(r, side.role_names)) or "none"
                    for r, side in zip(difference.roles, (as_is, to_be), strict=True))
            lines[task] = (f"lane: {a} \u2192 {b}",)
        else:
            log, model = ((difference.as_is, to_be) if as_is.kind == "log"
                          else (difference.to_be, as_is))
            lanes = model.lanes.get(task, ())
            allowed = difference.roles[1 if as_is.kind == "log" else 0]
            policy = set(allowed) != set(lanes)
            cases = (f"{log.cases or 0:,} of {log.of or 0:,} "
                     f"{'case' if (log.of or 0) == 1 else 'cases'}")
            whose = f"outside {_allowed_phrase(len(lanes), policy)}:"
            # (a line of its own where long: a label line is cut at 60 characters)
            lines[task] = (whose, cases) if policy else (f"{whose} {cases}",)
    return lines


def _alone_lines(result: Comparison) -> dict[str, tuple[str, bool]]:
    """Two logs: per activity seen in one log only (kinds `not-in-to-be`, `not-in-as-is`,
    tested against 0: `_marked`), the line its node in the diff graph adds, "5,000 of
    10,000 cases, 50.0%" where it meets the rule a shift is told by, "1 of 10,000 cases,
    below the rule" where not, and whether it meets it. Empty where a side is a model (no
    test: `meets_rule` None)."""
    from reports.overlay import share_text

    lines: dict[str, tuple[str, bool]] = {}
    for difference in result.differences:
        if difference.meets_rule is None or not difference.kind.startswith("not-in-"):
            continue
        measure = difference.as_is if difference.kind == "not-in-to-be" else difference.to_be
        cases, of = measure.cases or 0, measure.of or 0
        amount = f"{cases:,} of {of:,} case{'' if of == 1 else 's'}"
        lines[difference.activities[0]] = (
            (f"{amount}, {share_text(cases, of)}", True) if difference.meets_rule
            else (f"{amount}, below the rule", False))
    return lines


def _edge_label_key(as_is: Side, to_be: Side) -> str:
    """The title line saying what an edge's label "95 / 38" counts: "edge labels: as-is /
    to-be cases (of 2,000 / 1,500)"; a model's side "allowed" or "-"."""
    if as_is.kind == to_be.kind == "log":
        return f"edge labels: as-is / to-be cases (of {as_is.cases:,} / {to_be.cases:,})"
    if as_is.kind == to_be.kind:
        return "edge labels: as-is / to-be model (allowed or -)"
    return " / ".join([f"edge labels: {as_is.role} cases (of {as_is.cases:,})"
                       if as_is.kind == "log" else "edge labels: as-is model",
                       f"{to_be.role} cases (of {to_be.cases:,})" if to_be.kind == "log"
                       else "to-be model"])


def _wrapped(text: str, between: str = " ") -> list[str]:
    """A title line of the diff graph's own words as lines of at most `MAX_LABEL`
    characters, broken between its parts (words, or the styles " · " joins), never inside
    one: a label line is cut at MAX_LABEL (`reports.graphs.dot_string`), and the key of
    the styles of a model against a log read "... · grey: both, wid…", and that of a large
    graph "150 of 272 edges drawn, those on one side only first (compa…"."""
    from reports.graphs import MAX_LABEL

    lines: list[str] = []
    for part in text.split(between):
        if lines and len(lines[-1]) + len(between) + len(part) <= MAX_LABEL:
            lines[-1] += between + part
        else:
            lines.append(part)
    return [line.strip() for line in lines]


def diff_dot(result: Comparison) -> str:
    """DOT text of the diff graph: the union of both sides' directly-follows edges. An edge
    only in the as-is log is coloured and drawn the wider by the share of the log's cases
    taking it (the SOP graph's scale) and says how many; an edge on both sides is grey,
    drawn the wider by the share of a log's cases taking it (`_both_style`); a legend
    states the styles."""
    from reports.graphs import FONTS, _label

    def amount(m: Measure) -> str:
        if m.allowed is not None:
            return "allowed" if m.allowed else "-"
        return f"{m.cases:,}" if m.cases else "-"

    edges = result.edges
    if len(edges) > MAX_DIFF_EDGES:  # (Graphviz takes minutes over hundreds of edges)
        # Those on one side only first, the most cases first (of the side that is a log,
        # as-is or to-be: a common departure is never cut for a rare one); the rest as
        # listed.
        differing = sorted((e for e in edges if e.status != "both"),
                           key=lambda e: -max(e.as_is.cases or 0, e.to_be.cases or 0))
        edges = (differing + [e for e in edges if e.status == "both"])[:MAX_DIFF_EDGES]
    activities = sorted({a for e in edges for a in (e.source, e.target)} - {START, END})
    ids = {a: f"a{k}" for k, a in enumerate(activities)}
    ids[START], ids[END] = "start", "end"
    graded = result.as_is.kind == "log"
    lines_of_title = []
    for side in (result.as_is, result.to_be):
        lines_of_title.append(f"{side.role.capitalize()}: {side.kind} {side.name}")
        if side.channels is not None and side.channels.channel is not None:
            # (the channel kept on a line of its own: a title line is cut at 60)
            lines_of_title.append(f"({_channel_words(side)[2:]})")
        elif side.kind == "log":  # (the total the edges' counts are of)
            lines_of_title.append(f"({counted(side.cases, 'case', spec=',')})")
    if any(e.status != "only-as-is" or not graded for e in edges):
        # (what "95 / 38" on an edge counts: before, the title gave no totals to read it by)
        lines_of_title += _wrapped(_edge_label_key(result.as_is, result.to_be))
    # The styles the drawn edges use, as the legend keys them (before, "red: only as-is"
    # stood over two models of which neither had an edge the other lacked).
    used = {e.status for e in edges if e.meets_rule is not False}
    counting = _counting_side(result)
    if graded and "only-as-is" in used:
        lines_of_title.append("only as-is: graded by its share of the as-is cases (legend)")
    styles = (["red: only as-is"] if "only-as-is" in used and not graded else []) + (
        ["blue dashed: only to-be"] if "only-to-be" in used else []) + (
        ["grey: both" + (", wider = more cases" if counting is not None else "")]
        if "both" in used else []) + (
        ["dotted: one log only, below the rule"]
        if any(e.meets_rule is False for e in edges) else [])
    lane_lines = {a: text for a, text in _lane_lines(result).items() if a in ids}
    if styles:
        lines_of_title += _wrapped(" · ".join(styles), " · ")
    # A log against a model is drawn projected onto the model's activities: say which
    # activities are not drawn, and mark the edges that stand for a path through them
    # (before, a step the to-be model removed vanished from the as-is side too, and the
    # edge around it was drawn as taken: 'Receive refund request' -> 'Approve refund',
    # "125 / allowed", where every case did 'Collect evidence' between).
    projected = result.projected
    if projected is not None:
        ranked = sorted(projected.left_out.items(), key=lambda item: (-item[1], item[0]))
        model_role = "to-be" if projected.role == "as-is" else "as-is"
        lines_of_title.append(f"not drawn, not in the {model_role} model:")
        lines_of_title += [f"{_q(a)} ({n:,} of {projected.cases:,} cases)"
                           for a, n in ranked[:3]]
        if len(ranked) > 3:
            lines_of_title.append(f"and {len(ranked) - 3:,} more (compare.md)")
        if any(e.via_left_out for e in edges):
            lines_of_title.append("dashed: some cases only via left-out steps")
    # (roles a policy allows besides the lanes judged some task: said as its sentence says)
    policy = any(len(text) > 1 for text in lane_lines.values())
    if lane_lines:  # (a line of its own: a title line is cut at 60)
        lines_of_title += _wrapped("purple border: " + (
            "in other lanes on the two sides" if result.as_is.kind == result.to_be.kind
            else f"performed outside {_allowed_phrase(2, policy)}"))
    if len(edges) < len(result.edges):
        lines_of_title += _wrapped(f"{len(edges):,} of {len(result.edges):,} edges drawn, "
                                   "those on one side only first (compare.json lists all)")
    title = _label(*lines_of_title)
    lines = [
        "digraph diff {",
        f"  graph [label={title},"
        f' labelloc=t, fontsize=14, rankdir=TB, fontname="{FONTS}", bgcolor="white"];',
        f'  node [shape=box, style="rounded,filled", fillcolor="#f2f2f2", fontname="{FONTS}",'
        ' fontsize=11];',
        f'  edge [fontname="{FONTS}", fontsize=9, arrowsize=0.7];',
        '  start [label="start", shape=circle, width=0.35, fixedsize=true, fontsize=8, '
        'fillcolor="#c6efce"];',
        '  end [label="end", shape=doublecircle, width=0.3, fixedsize=true, fontsize=8, '
        'fillcolor="#f4cccc"];',
    ]
    in_a, in_b = result.as_is.labels, result.to_be.labels
    alone = _alone_lines(result)
    for activity in activities:
        fill = ("#f2f2f2" if activity in in_a and activity in in_b
                else ONLY_AS_IS_FILL if activity in in_a else ONLY_TO_BE_FILL)
        if activity in lane_lines:  # (its lane difference, drawn where the activity is)
            lines.append(f"  {ids[activity]} [label={_label(activity, *lane_lines[activity])}, "
                         f'fillcolor="{fill}", color="{LANE_BORDER}", penwidth=2.4];')
            continue
        if activity in alone:  # (two logs: its cases, and whether it meets the rule)
            text, meets = alone[activity]
            style = (f'fillcolor="{fill}"' if meets else
                     _faint_style("as-is" if activity in in_a else "to-be"))
            lines.append(f"  {ids[activity]} [label={_label(activity, text)}, {style}];")
            continue
        lines.append(f'  {ids[activity]} [label={_label(activity)}, fillcolor="{fill}"];')
    for edge in edges:
        style, word = _STYLE[edge.status]
        text = f"{amount(edge.as_is)} / {amount(edge.to_be)}"
        if edge.meets_rule is False:  # (two logs: below the rule, as such an activity)
            whose: Role = "as-is" if edge.status == "only-as-is" else "to-be"
            measure = edge.as_is if whose == "as-is" else edge.to_be
            of = measure.of or 0
            style = _faint_edge_style(whose)
            text = (f"{measure.cases or 0:,} of {of:,} case{'' if of == 1 else 's'}, "
                    "below the rule")
        elif edge.status == "only-as-is" and graded:
            style, text = _graded_style(edge.as_is.cases or 0, edge.as_is.of or 0)
        elif edge.status == "both":
            style = _both_style(edge, counting)
        through = edge.via_left_out
        if through:  # (cases that never took the edge: left-out steps stood between)
            style += ", style=dashed"
            text += f"\n{through:,} only via left-out steps"
        label = _label(word, *text.split("\n")) if word else _label(*text.split("\n"))
        lines.append(f"  {ids[edge.source]} -> {ids[edge.target]} [label={label}, {style}];")
    # (of the activities drawn, as `only`: a graph cut to MAX_DIFF_EDGES keyed the faint
    # style of an activity below the rule whose edges were all cut, drawn nowhere)
    faint = {a for a in activities
             if a in alone and not alone[a][1] and a not in lane_lines}
    only = (any(a in in_a and a not in in_b and a not in faint for a in activities),
            any(a in in_b and a not in in_a and a not in faint for a in activities))
    lines += _diff_legend(result, edges, lanes=bool(lane_lines), policy=policy, only=only,
                          faint=(any(a in in_a for a in faint), any(a in in_b for a in faint)))
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_comparison(result: Comparison, out: Path,
                     files: Mapping[str, Any] | None = None, *,
                     reading: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write compare.json, compare.md, diff.svg and diff.png into `out`; `files`: the
    policy, mapping and sources file given (`comparison_json`); `reading`: the import's
    options given (--assume-tz, --encoding, --object-type, --follow-o2o), compare.json's
    `import_options` (each log side's `import`: those in effect for it,
    `audit.store.read_with`)."""
    from reports.graphs import DrawnGraph, write_graph

    out.mkdir(parents=True, exist_ok=True)
    written = {"compare.json": out / "compare.json", "compare.md": out / "compare.md"}
    from audit.ingest.sizes import cut_all

    # (a label longer than `REPORT_VALUE` cut, as compare.md and report.html cut it: before,
    # written whole once per place it appears)
    written["compare.json"].write_text(
        json.dumps(cut_all(comparison_json(result, files, reading)), indent=2,
                   ensure_ascii=False) + "\n",
        encoding="utf-8")
    written["compare.md"].write_text(comparison_markdown(result), encoding="utf-8")
    for path in write_graph(DrawnGraph("diff", "As-is against to-be", "", diff_dot(result)),
                            out):
        written[path.name] = path
    return written


def compare_files(as_is: Path, to_be: Path, policy: Policy | None = None,
                  channel: str | None = None, min_shift: float = MIN_SHIFT_POINTS,
                  fdr: float = SHIFT_ALPHA) -> Comparison:
    """Compare two files, each a BPMN model or an event log; with a `policy`, a log's labels
    are named by their SOP tasks (`sop_tasks`) and its roles judged as check judges them
    (`policy_roles`); with a `channel`, a log keeps that channel's cases only (`load_side`);
    `min_shift` and `fdr`: two logs, the least shift told and the false discovery rate
    (`compare`)."""
    tasks = None if policy is None else policy.sop_tasks()
    return compare(load_side(as_is, "as-is", tasks, channel=channel, policy=policy),
                   load_side(to_be, "to-be", tasks, channel=channel, policy=policy),
                   None if policy is None else policy_roles(policy), channel=channel,
                   min_shift=min_shift, fdr=fdr)


# --- a model's relations, exactly -----------------------------------------------------------
MAX_MODEL_STATES = 200_000
"""The most reachable markings a model's relations are computed on (a sound model of a few
dozen tasks has hundreds to thousands)."""

_SEEN: list[Trace] = [()]
"""The value a model's relation holds where the model allows it (models count no cases)."""


@dataclass
class ModelBehaviour:
    """What a model allows, from its reachability graph (every run, loops included): the
    relations `relations` gives for a side, the activities every run does, for each
    activity A those every run does before A (`required_before`: A -> the later steps B
    that need it), and those every run does after each A (`required_after`: A -> B)."""

    relations: Relations
    required: set[str]
    required_before: dict[str, set[str]]
    required_after: dict[str, set[str]]
    states: int
    can_end: bool
    """Whether any run reaches the end (the sink)."""


def model_behaviour(net: WorkflowNet, *, max_states: int = MAX_MODEL_STATES
                    ) -> ModelBehaviour:
    """The relations of `net` decided on its reachability graph, not on a play-out of
    bounded length (which missed a loop's second round, and so called it "never allowed").
    A run is a firing sequence from the source to the sink; a relation holds where some run
    has it. RuntimeError where the graph has more than `max_states` markings."""
    from conformance.petri import _fire, _index

    ix = _index(net)
    start: tuple[int, ...] = (ix.source,)
    final: tuple[int, ...] = (ix.sink,)
    number: dict[tuple[int, ...], int] = {start: 0}
    markings = [start]
    out: list[list[tuple[int, int]]] = [[]]  # per state: (transition, next state)
    by_place: dict[int, list[int]] = {}
    for t, pre in enumerate(ix.pre):
        for p in set(pre):
            by_place.setdefault(p, []).append(t)
    queue = deque([0])
    while queue:
        state = queue.popleft()
        marking = markings[state]
        if marking == final:
            continue
        candidates: set[int] = set()
        for p in set(marking):
            candidates.update(by_place.get(p, ()))
        for t in sorted(candidates):
            nxt = _fire(marking, ix.pre[t], ix.post[t])
            if nxt is None:
                continue
            target = number.get(nxt)
            if target is None:
                if len(markings) >= max_states:
                    raise RuntimeError(f"more than {max_states:,} reachable states")
                target = number[nxt] = len(markings)
                markings.append(nxt)
                out.append([])
                queue.append(target)
            out[state].append((t, target))
    n = len(markings)
    end = number.get(final)
    back: list[list[int]] = [[] for _ in range(n)]
    for state, edges in enumerate(out):
        for _, target in edges:
            back[target].append(state)
    finishing = _closure([end] if end is not None else [], back)  # states that can end
    labels = ix.labels

    def forward(starts: Iterable[int], *, avoid: str | None = None,
                silent_only: bool = False) -> set[int]:
        seen = set(starts)
        queue = deque(seen)
        while queue:
            state = queue.popleft()
            for t, target in out[state]:
                label = labels[t]
                if (silent_only and label is not None) or (avoid is not None and label == avoid):
                    continue
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        return seen

    # Visible steps that lie on some run: from a reachable state into one that can end.
    steps: dict[str, list[tuple[int, int]]] = {}
    for state, edges in enumerate(out):
        for t, target in edges:
            label = labels[t]
            if label is not None and target in finishing:
                steps.setdefault(label, []).append((state, target))
    found = Relations()
    for a in sorted(steps):
        found.present[a] = _SEEN
        after_a = forward(target for _, target in steps[a])
        for b, edges in steps.items():
            if any(source in after_a for source, _ in edges):
                if a == b:
                    found.repeated[a] = _SEEN
                found.before[(a, b)] = _SEEN
    # Directly-follows over silent steps, with the start and the end of a run.
    quiet_start = forward([0], silent_only=True)
    if end is not None and end in quiet_start:
        found.directly[(START, END)] = _SEEN
    for b, edges in steps.items():
        if any(source in quiet_start for source, _ in edges):
            found.directly[(START, b)] = _SEEN
    for a, edges in steps.items():
        quiet = forward([target for _, target in edges], silent_only=True)
        if end is not None and end in quiet:
            found.directly[(a, END)] = _SEEN
        for b, later in steps.items():
            if any(source in quiet for source, _ in later):
                found.directly[(a, b)] = _SEEN
    # Required: no run to the end without it; required before B: no run reaching a step of B
    # (that can end) without it; B required after A: from no state a step of A leads to
    # (on a run) is the end reachable without a step of B.
    required_set: set[str] = set()
    needs: dict[str, set[str]] = {}
    follows: dict[str, set[str]] = {}
    for a in sorted(steps):
        without = forward([0], avoid=a)
        if end is None or end not in without:
            required_set.add(a)
        for b, edges in steps.items():
            if b != a and not any(source in without for source, _ in edges):
                needs.setdefault(a, set()).add(b)
    if end is not None:
        for b in sorted(steps):
            # (one backward pass per B: the states that can end without a step of B)
            free: list[list[int]] = [[] for _ in range(n)]
            for state, edges in enumerate(out):
                for t, target in edges:
                    if labels[t] != b:
                        free[target].append(state)
            ends_without = _closure([end], free)
            for a, edges in steps.items():
                if a != b and not any(target in ends_without for _, target in edges):
                    follows.setdefault(a, set()).add(b)
    return ModelBehaviour(found, required_set, needs, follows, n, end is not None)


def _closure(starts: Iterable[int], links: list[list[int]]) -> set[int]:
    """The states reachable from `starts` along `links` (starts included)."""
    seen = set(starts)
    queue = deque(seen)
    while queue:
        for nxt in links[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
