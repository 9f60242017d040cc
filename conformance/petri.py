"""Convert a BPMN model (`conformance.bpmn`) into a workflow net and check that net's soundness.

The net is our own small structure (`WorkflowNet`); `to_pm4py` hands it to pm4py for replay and
alignments. Tasks become visible transitions labelled with the task name; everything else
(events, gateways, sub-process borders) becomes silent transitions, because event logs record
work done, not timers firing or tokens merging.

How the BPMN constructs are read (the design is documented for users in models/README.md):

- Exclusive and event-based gateways: a choice (an event-based gateway is a choice among the
  events that follow it; those events are silent, a receive task after it is visible); a
  parallel event-based gateway (eventGatewayType="Parallel") runs every event branch.
  Parallel gateways: split/join. Inclusive gateways: a split takes any non-empty subset of its
  outgoing flows (or the default flow alone); a join is converted only when it closes an
  inclusive split branch for branch, and then waits for exactly the branches that split
  started. Other inclusive joins wait on the state of the whole process and are refused.
- Several flows into an activity or event merge (exclusively); several flows out of one split
  in parallel, or as an inclusive split when the flows carry conditions or a default: then a
  flow without a condition is always taken, the conditional ones in any combination, and the
  default one only where no condition holds (BPMN 2.0, 13.2.1).
- Embedded sub-processes, transactions and call activities (callee inlined) are flattened; a
  scope ends when all its tokens have reached end events, which is worked out from the scope's
  reachable states, so parallel branches may end in separate end events.
- Terminate end events, and error or cancel end events caught by a boundary event or an error
  event sub-process, cancel everything still running in their scope: one silent transition
  per reachable state of the scope consumes that whole state.
- Escalation end and throw events whose nearest catcher is an interrupting boundary event or
  escalation event sub-process cancel like error end events and continue at that catcher.
- Interrupting boundary events (timer, message, signal, conditional, and error, cancel or
  escalation with no matching throw inside) can happen at any moment the activity runs: one
  silent transition per running state of the activity moves to the exception flow. An
  interrupting event sub-process likewise cancels its scope in any state and runs instead.
- Non-interrupting boundary events and non-interrupting event sub-processes fire at most once
  per activation (a net cannot count without bound) and start a parallel branch; the
  activity can complete whether or not it fired, and the scope ends when both are done.
- Loops: standard loops repeat the activity (at least once, or zero or more times with
  testBefore; a loopMaximum up to MAX_UNROLL caps the rounds); multi-instance with a literal
  count up to MAX_UNROLL is unrolled; without a count (a collection, which may be empty) it
  is read as zero or more instances, with a larger count or a completion condition as one or
  more (a parallel multi-instance sub-process that is not unrolled is refused).
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations, product
from pathlib import Path
from typing import Any, Literal

from conformance.bpmn import (
    ONE_POOL_HINT,
    BpmnModel,
    BpmnRefused,
    Event,
    Flow,
    Gateway,
    SubProcess,
    Task,
    escalation_interrupted,
    read_bpmn,
)

MAX_SOUNDNESS_STATES = 200_000
"""States explored by the soundness check; a larger net is reported as undecided."""
MAX_SCOPE_STATES = MAX_SOUNDNESS_STATES
"""States explored for the scopes while converting, all scopes together; a scope beyond
what is left is refused. As many as the soundness check explores for the whole net: a
bound of 20,000 per scope refused models whose soundness could be decided, such as the
inductive miner's model of a log with much concurrency (the shared receipt log at noise
0: 46,925 states in its one scope, explored in about 1 s)."""
MAX_CANCEL_TRANSITIONS = 2_000
"""Silent transitions generated to cancel or interrupt the states of one scope or activity."""
MAX_INCLUSIVE_FANOUT = 6
MAX_NON_INTERRUPTING = 3
MAX_UNROLL = 10

Marking = tuple[int, ...]
"""A multiset of places as the sorted tuple of their indices (repeats for several tokens)."""

Verdict = Literal["sound", "unsound", "undecided"]


# --- the net ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    name: str
    """Unique within the net."""
    label: str | None
    """The activity label, or None for a silent (tau) transition."""
    element: str | None
    """The BPMN element the transition stands for, where there is one."""


@dataclass(frozen=True)
class WorkflowNet:
    """A workflow net: one source place, one sink place, every arc of weight one."""

    places: tuple[str, ...]
    transitions: tuple[Transition, ...]
    arcs: tuple[tuple[str, str], ...]
    """(place, transition) or (transition, place), by name."""
    source: str
    sink: str

    @property
    def labels(self) -> list[str]:
        """The distinct visible labels, in transition order."""
        return list(dict.fromkeys(t.label for t in self.transitions if t.label is not None))

    def size(self) -> dict[str, int]:
        silent = sum(1 for t in self.transitions if t.label is None)
        return {"places": len(self.places), "transitions": len(self.transitions),
                "silent_transitions": silent, "arcs": len(self.arcs)}


@dataclass(frozen=True)
class Follows:
    """The directly-follows relation of a net's visible labels, read off its reachability
    graph (silent transitions skipped): which label can come right after which in a run, which
    can come first and which last. Of a sound net, exactly the adjacent pairs, first and last
    labels of its runs (every reachable state can finish)."""

    pairs: frozenset[tuple[str, str]]
    starts: frozenset[str]
    ends: frozenset[str]


@dataclass(frozen=True)
class Soundness:
    verdict: Verdict
    problems: tuple[str, ...] = ()
    states: int = 0
    """Reachable states explored."""
    follows: Follows | None = field(default=None, compare=False, repr=False)
    """Where asked for (`check_soundness(..., follows=True)`) and the net is sound: its
    directly-follows relation, from the same reachability graph."""
    dead: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """An unsound net explored whole: the names of its transitions no run fires."""

    @property
    def answer(self) -> Literal["yes", "no", "undecided"]:
        """The verdict as the answer to "is it sound?"."""
        if self.verdict == "sound":
            return "yes"
        return "no" if self.verdict == "unsound" else "undecided"


@dataclass
class Conversion:
    """The outcome of converting one BPMN model: a net, or the reasons there is none."""

    model: BpmnModel
    net: WorkflowNet | None
    refused: list[BpmnRefused]
    notes: list[str]
    soundness: Soundness | None = None


# --- building -----------------------------------------------------------------------------------


@dataclass
class _Trans:
    label: str | None
    element: str | None
    pre: list[int]
    post: list[int]


@dataclass
class _Builder:
    places: list[str] = field(default_factory=list)
    trans: list[_Trans] = field(default_factory=list)

    def place(self, hint: str) -> int:
        self.places.append(hint)
        return len(self.places) - 1

    def transition(self, label: str | None, element: str | None, pre: Iterable[int],
                   post: Iterable[int]) -> int:
        self.trans.append(_Trans(label, element, sorted(pre), sorted(post)))
        return len(self.trans) - 1


@dataclass(frozen=True)
class _Throw:
    """A token on `place` means: an error or cancel was thrown and its scope has stopped."""

    place: int
    kind: str
    reference: str | None
    element: str


@dataclass
class _Scope:
    id: str
    flow_place: dict[str, int] = field(default_factory=dict)
    """Where a token on each sequence flow of the scope lies."""
    observables: list[int] = field(default_factory=list)
    """Places whose tokens mean "this branch has finished" (end events, not-fired flags)."""
    cancel_points: dict[int, _Throw] = field(default_factory=dict)
    """Places whose token cancels the whole scope (terminate, error, cancel, nested throws)."""
    catchers: list[tuple[SubProcess, Event, int]] = field(default_factory=list)
    """Error/cancel event sub-processes: (sub-process, start event, handler entry place)."""
    interrupting: list[tuple[SubProcess, int]] = field(default_factory=list)
    """Other interrupting event sub-processes: (sub-process, handler entry place)."""
    singletons: list[int] = field(default_factory=list)
    """Places that hold the scope's only token once an interrupting handler has finished."""
    markers: dict[str, dict[frozenset[str], int]] = field(default_factory=dict)
    """Paired inclusive split -> chosen subset -> place telling its join what to wait for."""
    implicit_ends: list[str] = field(default_factory=list)
    """Elements with no outgoing sequence flow, where a branch ends (BPMN's implicit end)."""


class _StateSpaceTooLarge(Exception):
    pass


def _fire(marking: Marking, pre: Sequence[int], post: Sequence[int]) -> Marking | None:
    tokens = Counter(marking)
    for place in pre:
        if tokens[place] <= 0:
            return None
        tokens[place] -= 1
    for place in post:
        tokens[place] += 1
    return tuple(sorted(tokens.elements()))


def _covers(bigger: Marking, smaller: Marking) -> bool:
    """True if `smaller` <= `bigger` as multisets."""
    if len(smaller) == 1:  # (most ending patterns: one end event's place)
        return smaller[0] in bigger
    need = Counter(smaller)
    have = Counter(bigger)
    return all(have[p] >= n for p, n in need.items())


@dataclass
class _Graph:
    states: list[Marking]
    edges: list[list[tuple[int, int]]]
    """edges[s] = [(transition index, target state)]."""


def _explore(trans: Sequence[_Trans], active: Iterable[int], start: Marking, *, cap: int,
             stop: Marking | None = None) -> _Graph:
    """The reachability graph from `start` using the transitions `active`."""
    chosen = list(active)
    by_place: dict[int, list[int]] = {}
    for t in chosen:
        for place in set(trans[t].pre):
            by_place.setdefault(place, []).append(t)
    sourceless = [t for t in chosen if not trans[t].pre]
    index: dict[Marking, int] = {start: 0}
    states: list[Marking] = [start]
    edges: list[list[tuple[int, int]]] = [[]]
    queue = deque([0])
    while queue:
        s = queue.popleft()
        marking = states[s]
        if stop is not None and marking == stop:
            continue
        candidates = set(sourceless)
        for place in set(marking):
            candidates.update(by_place.get(place, ()))
        for t in sorted(candidates):
            nxt = _fire(marking, trans[t].pre, trans[t].post)
            if nxt is None:
                continue
            target = index.get(nxt)
            if target is None:
                if len(states) >= cap:
                    raise _StateSpaceTooLarge
                target = index[nxt] = len(states)
                states.append(nxt)
                edges.append([])
                queue.append(target)
            edges[s].append((t, target))
    return _Graph(states, edges)


# --- the converter ------------------------------------------------------------------------------


class _Converter:
    def __init__(self, model: BpmnModel) -> None:
        self.model = model
        self.net = _Builder()
        self.refused: list[BpmnRefused] = []
        self.notes: list[str] = []
        self._scopes: list[_Scope] = []
        self._explored = 0  # states the scopes' explorations visited, together
        self._refused_keys: set[tuple[str, str]] = set()
        self._incoming: dict[str, list[Flow]] = {}
        self._outgoing: dict[str, list[Flow]] = {}
        for flow in model.flows.values():
            self._incoming.setdefault(flow.target, []).append(flow)
            self._outgoing.setdefault(flow.source, []).append(flow)
        self._message_place: dict[str, int] = {}
        """A joined collaboration: message flow id -> the place of its message."""
        self._idle_of: dict[str, int] = {}
        """A joined collaboration: a pool's entry a message starts -> the pool's idle place."""
        self._gated: dict[str, list[str]] = {}
        """A joined collaboration: an event-based gateway -> the message flows into the
        receivers on its branches (`_gated_receivers`)."""
        self._unsent: dict[str, int] = {}
        """A gated message flow -> its place "not sent yet, and its receiver still waits"."""
        self._dropped: dict[str, int] = {}
        """A gated message flow -> its place "its receiver took another branch": the message,
        sent later, is dropped."""
        self._variants: list[list[int]] = []
        """Groups of transitions that are one BPMN step each (a send dropped or not, a branch
        taken with other messages pending or not): those of a group no run fires are left out
        (`_close_scope`), where another of the group fires."""
        self._boundaries: dict[str, list[Event]] = {}
        for event in model.events.values():
            if event.position == "boundary" and event.attached_to:
                self._boundaries.setdefault(event.attached_to, []).append(event)

    # --- helpers ------------------------------------------------------------------------------
    def refuse(self, element_id: str, element_type: str, reason: str) -> None:
        if (element_id, reason) not in self._refused_keys:
            self._refused_keys.add((element_id, reason))
            self.refused.append(self.model.refusal(element_id, element_type, reason))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def ins(self, node_id: str) -> list[Flow]:
        return self._incoming.get(node_id, [])

    def outs(self, node_id: str) -> list[Flow]:
        return self._outgoing.get(node_id, [])

    @property
    def scope(self) -> _Scope:
        return self._scopes[-1]

    def end_place(self, element: str) -> int:
        """A place where a branch without outgoing flow ends (an implicit end event)."""
        place = self.net.place(f"end:{element}")
        self.scope.observables.append(place)
        if element not in self.scope.implicit_ends:
            self.scope.implicit_ends.append(element)
        return place

    def _shown(self, element_id: str) -> str:
        """An element as a note names it: its name, else its id, quoted."""
        node = self.model.node(element_id)
        name = getattr(node, "name", None) if node is not None else None
        return f"'{name or element_id}'"

    def _note_implicit_ends(self, scope: _Scope, nodes: Sequence[object]) -> None:
        """Say where a branch ends without an end event: BPMN allows it (an implicit end), and
        the net is sound, but a model that lacks its end event, or a task whose outgoing flow
        was forgotten, reads as finished there, which its author should be told."""
        if not scope.implicit_ends:
            return
        shown = ", ".join(self._shown(e) for e in scope.implicit_ends[:5])
        more = len(scope.implicit_ends) - 5
        if more > 0:
            shown += f" and {more} more"
        one = len(scope.implicit_ends) == 1
        which = ("which has" if one else "which have") + " no outgoing sequence flow"
        ends = [n for n in nodes if isinstance(n, Event) and n.position == "end"]
        if not ends:
            self.note(f"'{scope.id}' has no end event: "
                      + ("it ends" if one else "its branches end")
                      + f" after {shown}, {which} (BPMN's implicit end)")
        else:
            self.note(f"'{scope.id}' ends after {shown} too, {which} (BPMN's implicit end), "
                      "besides at its end event" + ("s" if len(ends) > 1 else ""))

    # --- entry point --------------------------------------------------------------------------
    def run(self) -> WorkflowNet | None:
        model = self.model
        source = self.net.place("source")
        sink = self.net.place("sink")
        self._scope_net(model.process_id, source, sink, top=True)
        if self.refused:
            return None
        return _finish(self.net, source, sink)

    # --- scopes -------------------------------------------------------------------------------
    def _scope_net(self, scope_id: str, entry: int, exit_: int, *, top: bool) -> list[_Throw]:
        """Build the net of one scope so that a token on `entry` ends as one token on `exit_`.

        Returns the throws (error, cancel) that leave the scope uncaught.
        """
        model, net = self.model, self.net
        first = len(net.trans)
        refused_before = len(self.refused)
        scope = _Scope(scope_id)
        self._scopes.append(scope)
        try:
            nodes = model.nodes_in(scope_id)
            flows = model.flows_in(scope_id)
            event_subs = [n for n in nodes
                          if isinstance(n, SubProcess) and n.kind == "event sub-process"]
            flow_nodes = [n for n in nodes if n not in event_subs
                          and not (isinstance(n, Event) and n.position == "boundary")]
            if not flow_nodes:
                self.refuse(scope_id, "scope", "has no flow elements to run")
                return []
            pairs = self._pair_inclusive(flow_nodes)
            self._prepare_markers(pairs)

            # One place per node input (several incoming flows merge there), except for joins
            # that synchronise and for end events, whose flows keep places of their own.
            in_place: dict[str, int] = {}

            def node_in(node_id: str) -> int:
                if node_id not in in_place:
                    in_place[node_id] = net.place(f"in:{node_id}")
                return in_place[node_id]

            flow_place = scope.flow_place
            for flow in flows:
                target = model.node(flow.target)
                own = (isinstance(target, Gateway) and target.kind in ("parallel", "inclusive")
                       and len(self.ins(target.id)) > 1) or (
                    isinstance(target, Event) and target.position == "end")
                flow_place[flow.id] = (net.place(f"flow:{flow.id}") if own
                                       else node_in(flow.target))

            # Non-interrupting event sub-processes are armed when the scope starts.
            armed: list[int] = []
            for sub in event_subs:
                self._event_subprocess(sub, armed)

            joined = top and model.joined
            if joined:
                self._pool_starts(flow_nodes, entry, node_in, armed)
            else:
                self._starts(scope_id, flow_nodes, entry, node_in, armed)
            throws: list[_Throw] = []
            for node in flow_nodes:
                if isinstance(node, Event):
                    self._event(node, node_in)
                elif isinstance(node, Gateway):
                    self._gateway(node, node_in, pairs)
                else:
                    throws.extend(self._activity_node(node, node_in(node.id)))
            if joined:
                self._messages(first)
            for throw in throws:
                scope.cancel_points[throw.place] = throw
            if len(self.refused) > refused_before:
                return []  # the scope is incomplete; its ending would only add noise
            self._note_implicit_ends(scope, flow_nodes)
            return self._close_scope(scope, first, entry, exit_, top=top)
        finally:
            self._scopes.pop()

    def _starts(self, scope_id: str, nodes: list[Task | Event | Gateway | SubProcess],
                entry: int, node_in: Callable[[str], int], armed: list[int]) -> None:
        net = self.net
        starts = [n for n in nodes if isinstance(n, Event) and n.position == "start"]
        sources = [n for n in nodes if not self.ins(n.id)
                   and not (isinstance(n, Event) and n.position == "start")]
        if starts:
            if len(starts) > 1:
                self.note(f"'{scope_id}' has {len(starts)} start events: each starts it on its "
                          "own (an exclusive choice)")
            for start in starts:
                outs = [self.scope.flow_place[f.id] for f in self.outs(start.id)]
                if not outs:
                    outs = [self.end_place(start.id)]
                net.transition(None, start.id, [entry], outs + armed)
            for node in sources:
                self.refuse(node.id, _type_of(node), "has no incoming sequence flow although "
                            "its scope has a start event, so it can never run")
        elif sources:
            # No start event: every node without incoming flow starts, in parallel.
            if len(sources) > 1:
                shown = ", ".join(f"'{n.id}'" for n in sources[:5])
                more = f" and {len(sources) - 5} more" if len(sources) > 5 else ""
                self.note(f"'{scope_id}' has no start event: its {len(sources)} nodes without "
                          f"incoming sequence flow ({shown}{more}) all start at once, in "
                          "parallel, as BPMN reads a process without one")
            else:
                self.note(f"'{scope_id}' has no start event: it starts at "
                          f"{self._shown(sources[0].id)}, which has no incoming sequence flow "
                          "(BPMN's implicit start)")
            net.transition(None, scope_id, [entry], [node_in(n.id) for n in sources] + armed)
        else:
            self.refuse(scope_id, "scope", "has neither a start event nor a node without "
                        "incoming flow, so it can never start")

    # --- a collaboration read as one process (`BpmnModel.joined`) ------------------------------
    def _pool_starts(self, nodes: list[Task | Event | Gateway | SubProcess], entry: int,
                     node_in: Callable[[str], int], armed: list[int]) -> None:
        """The case starts every pool that starts on its own (in parallel); a pool whose start
        is a message from another pool waits, idle, for one of its senders, which takes the
        idle token (a pool is started at most once per case): the case may end with it idle
        (never sent) or finished, never with its message still unanswered."""
        model, net = self.model, self.net
        receivers: dict[str, list[str]] = {}
        for flow in model.message_flows:
            receivers.setdefault(flow.target, []).append(flow.id)
            if self._on_cycle(flow.source):
                # (Each round would send one more message: the net is unbounded, and its
                # exploration would run to the state limit, minutes later, naming no message.)
                self.refuse(flow.id, "messageFlow", f"is sent by {self._shown(flow.source)}, "
                            "which lies on a cycle of its pool, so it may be sent any number "
                            "of times in one case while its receiver takes it once"
                            + ONE_POOL_HINT)
        self._message_place = {f.id: net.place(f"message:{f.id}") for f in model.message_flows}
        self._gated = self._gated_receivers()
        for flow_ids in self._gated.values():
            for flow_id in flow_ids:
                self._unsent[flow_id] = net.place(f"unsent:{flow_id}")
                self._dropped[flow_id] = net.place(f"dropped:{flow_id}")
                self.scope.observables.extend((self._unsent[flow_id], self._dropped[flow_id]))
        begun: list[int] = []
        for pool in model.pools:
            if not pool.chosen:
                continue
            mine = [n for n in nodes if model.pool_of.get(n.id) == pool.id]
            if not mine:
                continue
            starts: list[Task | Event | Gateway | SubProcess] = [
                n for n in mine if isinstance(n, Event) and n.position == "start"]
            entries = starts or [n for n in mine if not self.ins(n.id)]
            waiting = [n for n in entries if n.id in receivers]
            if not waiting:
                pool_entry = net.place(f"pool:{pool.id}")
                begun.append(pool_entry)
                self._starts(pool.name or pool.id, mine, pool_entry, node_in, [])
                continue
            if len(waiting) < len(entries):
                others = [n for n in entries if n.id not in receivers]
                self.refuse(others[0].id, _type_of(others[0]), f"pool '{pool.name or pool.id}' "
                            "starts on a message from another pool (at "
                            f"{self._shown(waiting[0].id)}) and here without one: whether the "
                            "case starts it on its own or only on the message is unknown"
                            + ONE_POOL_HINT)
                continue
            idle = net.place(f"idle:{pool.id}")
            begun.append(idle)
            self.scope.observables.append(idle)
            for node in waiting:
                self._idle_of[node.id] = idle
                if isinstance(node, Event):
                    outs = [self.scope.flow_place[f.id] for f in self.outs(node.id)]
                    outs = outs or [self.end_place(node.id)]
                else:
                    outs = [node_in(node.id)]
                for flow_id in receivers[node.id]:
                    net.transition(None, node.id if isinstance(node, Event) else flow_id,
                                   [self._message_place[flow_id]], outs)
            if starts:
                for other in mine:
                    if not self.ins(other.id) and other not in starts:
                        self.refuse(other.id, _type_of(other), "has no incoming sequence flow "
                                    "although its pool has a start event, so it can never run")
        if not any(net.places[p].startswith("pool:") for p in begun) and begun:
            self.refuse(model.process_id, "collaboration", "every pool waits for a message "
                        "from another before it starts, so no pool starts the case"
                        + ONE_POOL_HINT)
        net.transition(None, model.process_id, [entry], begun + armed
                       + sorted(self._unsent.values()))

    def _gated_receivers(self) -> dict[str, list[str]]:
        """Event-based gateways (at a pool's top, on no cycle) with a receiver of message
        flows among their branches (a message catch event or receive task whose only
        incoming sequence flow is the branch): gateway id -> those message flows' ids. Such
        a gateway waits for the first of its events ("wait for 'paid' or a timeout"): a
        message branch is taken where its message came, another branch (the timer's) only
        where none came yet, and a message sent after another branch was taken is dropped
        (its receiver no longer waits). More than four such message flows at one gateway are
        read as before: each branch waits for its own event once chosen."""
        model = self.model
        into: dict[str, list[str]] = {}
        for flow in model.message_flows:
            into.setdefault(flow.target, []).append(flow.id)
        gated: dict[str, list[str]] = {}
        for gateway in model.gateways.values():
            if (gateway.kind != "event-based" or gateway.parallel_events
                    or gateway.scope != model.process_id or self._on_cycle(gateway.id)):
                continue
            targets = [f.target for f in self.outs(gateway.id)]
            if len(set(targets)) != len(targets):
                continue
            flow_ids = [flow_id for target in targets if target in into
                        and isinstance(model.node(target), (Event, Task))
                        and [f.source for f in self.ins(target)] == [gateway.id]
                        for flow_id in into[target]]
            if 0 < len(flow_ids) <= 4:
                gated[gateway.id] = flow_ids
        return gated

    def _gated_branches(self, gateway: Gateway, before: int, outs: list[Flow]) -> None:
        """The branches of an event-based gateway with receivers (`_gated_receivers`): a
        message branch takes its message (other pending messages of the gateway are dropped,
        the others' senders drop theirs), another branch needs every message unsent and
        marks each dropped."""
        net, model = self.net, self.model
        flow_place = self.scope.flow_place
        gated = self._gated[gateway.id]
        by_target = {flow_id: next(f.target for f in model.message_flows if f.id == flow_id)
                     for flow_id in gated}
        for out in outs:
            mine = [flow_id for flow_id in gated if by_target[flow_id] == out.target]
            if not mine:
                net.transition(None, gateway.id, [before, *(self._unsent[m] for m in gated)],
                               [flow_place[out.id], *(self._dropped[m] for m in gated)])
                continue
            group: list[int] = []
            for taken in mine:
                others = [m for m in gated if m != taken]
                for pending in product((False, True), repeat=len(others)):
                    pre = [before, self._message_place[taken]]
                    post = [flow_place[out.id]]
                    for other, came in zip(others, pending, strict=True):
                        if came:
                            pre.append(self._message_place[other])
                        else:
                            pre.append(self._unsent[other])
                            post.append(self._dropped[other])
                    group.append(net.transition(None, gateway.id, pre, post))
            self._variants.append(group)

    def _messages(self, first: int) -> None:
        """Give each message flow's sender a token on the message's place (taking the idle
        token of a pool it starts), and make a receiver that is no pool's start wait for it
        (one way per message flow where several reach it)."""
        model, net = self.model, self.net
        by_target: dict[str, list[str]] = {}
        gated = {flow_id for flow_ids in self._gated.values() for flow_id in flow_ids}
        for flow in model.message_flows:
            place = self._message_place[flow.id]
            senders = [t for t in net.trans[first:]
                       if t.element == flow.source and not self._split_of(t, flow.source)]
            for t in senders:
                if flow.id in gated:
                    # Sent while its receiver waits, or dropped once it took another branch.
                    unsent, dropped = self._unsent[flow.id], self._dropped[flow.id]
                    index = net.trans.index(t)
                    drop = net.transition(t.label, t.element, [*t.pre, dropped],
                                          [*t.post, dropped])
                    self._variants.append([index, drop])
                    t.pre = sorted([*t.pre, unsent])
                t.post = sorted([*t.post, place])
                idle = self._idle_of.get(flow.target)
                if idle is not None:
                    t.pre = sorted([*t.pre, idle])
            if flow.id in gated:
                continue  # (its receiver's gateway takes it: `_gated_branches`)
            if flow.target not in self._idle_of:
                by_target.setdefault(flow.target, []).append(flow.id)
        for target, flow_ids in by_target.items():
            waiting = [t for t in net.trans[first:]
                       if t.element == target and not self._split_of(t, target)]
            for t in waiting:
                pre = list(t.pre)
                t.pre = sorted([*pre, self._message_place[flow_ids[0]]])
                for flow_id in flow_ids[1:]:
                    net.transition(t.label, t.element, [*pre, self._message_place[flow_id]],
                                   t.post)

    def _split_of(self, t: _Trans, node_id: str) -> bool:
        """A task's split after it (silent, of the task's id), not the task itself."""
        node = self.model.node(node_id)
        return isinstance(node, Task) and t.label is None

    def _event_subprocess(self, sub: SubProcess, armed: list[int]) -> None:
        model, net, scope = self.model, self.net, self.scope
        starts = [n for n in model.nodes_in(sub.id)
                  if isinstance(n, Event) and n.position == "start"]
        if len(starts) != 1:
            self.refuse(sub.id, "subProcess", "an event sub-process needs exactly one start "
                        f"event (it has {len(starts)})")
            return
        start = starts[0]
        if start.trigger == "compensate":
            self.note(f"event sub-process '{sub.id}' runs only on compensation, which is "
                      "refused where thrown: it is left out")
            return
        handler_in = net.place(f"start:{sub.id}")
        handler_done = net.place(f"done:{sub.id}")
        for throw in self._scope_net(sub.id, handler_in, handler_done, top=False):
            scope.cancel_points[throw.place] = throw
        if start.trigger in ("error", "cancel"):
            scope.catchers.append((sub, start, handler_in))
            scope.singletons.append(handler_done)
        elif start.interrupting:
            if start.trigger == "escalation":
                # It takes the escalations thrown in its scope where thrown (`_caught_escalation`),
                # and, as before, may start at any moment.
                scope.catchers.append((sub, start, handler_in))
            scope.interrupting.append((sub, handler_in))
            scope.singletons.append(handler_done)
        else:
            armed_place = net.place(f"armed:{sub.id}")
            fired = net.place(f"fired:{sub.id}")
            net.transition(None, start.id, [armed_place], [fired, handler_in])
            armed.append(armed_place)
            scope.observables.extend([armed_place, fired, handler_done])
            self.note(f"non-interrupting event sub-process '{sub.name or sub.id}' is read as "
                      "running at most once per activation of its scope")

    def _close_scope(self, scope: _Scope, first: int, entry: int, exit_: int, *,
                     top: bool) -> list[_Throw]:
        """Cancel transitions, interrupting event sub-processes, and the scope's ending."""
        net = self.net
        # One budget for every scope of the model (an outer scope explores the inner ones'
        # states again): a file of many sub-processes cannot make the reader explore the
        # bound once per sub-process.
        budget = MAX_SCOPE_STATES - self._explored
        try:
            if budget <= 0:
                raise _StateSpaceTooLarge
            graph = _explore(net.trans, range(first, len(net.trans)), (entry,), cap=budget)
        except _StateSpaceTooLarge:
            if budget == MAX_SCOPE_STATES:
                why = f"has more than {MAX_SCOPE_STATES} reachable states"
            else:
                why = (f"has more reachable states than its model's other scopes left of the "
                       f"{MAX_SCOPE_STATES} explored for them all")
            self.refuse(scope.id, "scope", f"{why}; its ending and cancellations cannot be "
                        "worked out")
            return []
        self._explored += len(graph.states)
        if top and self._variants:
            self._drop_unfired(graph)
        # A state is finished when every token is on a place meaning "this branch is done"
        # (end events, not-fired flags, an unfired event sub-process's flag), even if an
        # event sub-process could still fire: firing it then is an interleaving of firing it
        # just before the last end event.
        observable = set(scope.observables)
        patterns = [m for m in graph.states
                    if set(m) <= observable and not set(m) & scope.cancel_points.keys()]

        # Cancellation: a token on a cancel point ends everything else in the scope.
        throws: list[_Throw] = []
        thrown: dict[int, int] = {}
        generated = 0
        for marking in graph.states:
            for place in sorted(set(marking) & scope.cancel_points.keys()):
                point = scope.cancel_points[place]
                if max(Counter(marking).values()) > 1:
                    self.refuse(point.element, "endEvent", "is reached while a place of its "
                                "scope holds two tokens; cancelling that state needs arc "
                                "weights")
                    continue
                destination = self._cancel_destination(scope, point, exit_, thrown, throws,
                                                       top=top)
                net.transition(None, point.element, marking, [destination])
                generated += 1
        for sub, handler_in in scope.interrupting:
            # Any state of the running scope, up to the moment its last end event consumes the
            # last token (an event may arrive just before that step, in an interleaving).
            for marking in graph.states:
                if set(marking) & scope.cancel_points.keys():
                    continue
                if max(Counter(marking).values()) > 1:
                    self.refuse(sub.id, "subProcess", "can interrupt a state in which a place "
                                "holds two tokens; that needs arc weights")
                    break
                net.transition(None, sub.id, marking, [handler_in])
                generated += 1
        if generated > MAX_CANCEL_TRANSITIONS:
            self.refuse(scope.id, "scope", f"cancelling or interrupting it needs {generated} "
                        f"transitions (more than {MAX_CANCEL_TRANSITIONS})")
            return throws

        # The ending: each way the scope can finish, consumed as a whole into `exit_`.
        for place in scope.singletons:
            patterns.append((place,))
        conflicts = [(pattern, m) for pattern in patterns for m in graph.states
                     if m != pattern and _covers(m, pattern)]
        if conflicts:
            pattern, bigger = conflicts[0]
            self.refuse(scope.id, "scope", "when it has finished depends on more than its "
                        f"state: one run is over once {self._describe(pattern)} is reached, "
                        f"another reaches the same while {self._describe(_minus(bigger, pattern))} "
                        "is still running (parallel branches that end in separate end events "
                        "after an exclusive choice)")
            return throws
        if not patterns and not scope.cancel_points:
            # Nothing ends it: the net is built anyway and the soundness check says where runs
            # get stuck, which is more use to the modeller than a refusal.
            self.note(f"'{scope.id}' can never finish: no run reaches its end events with "
                      "nothing else running")
            return throws
        if all(len(p) == 1 for p in patterns):
            for place in sorted({p[0] for p in patterns}):
                net.transition(None, _end_element(net.places[place]), [place], [exit_])
        else:
            for pattern in sorted(set(patterns)):
                twice = [p for p, n in Counter(pattern).items() if n > 1]
                if twice:
                    self.refuse(scope.id, "scope", f"{self._describe((twice[0],))} is reached "
                                "twice in one run (parallel branches merged without "
                                "synchronising?); ending such a run needs weighted arcs, which "
                                "alignments do not support")
                    continue
                net.transition(None, None, pattern, [exit_])
        return throws

    def _drop_unfired(self, graph: _Graph) -> None:
        """Leave out the variants of a step (`_variants`) no run fires where another of its
        group fires (a send that is never dropped, a branch never taken with a message
        pending): a transition that can never fire would make the net unsound."""
        fired = {t for out in graph.edges for t, _ in out}
        keep: set[int] = set()
        grouped: set[int] = set()
        for group in self._variants:
            grouped.update(group)
            keep.update(t for t in group if t in fired)
            if not any(t in fired for t in group):
                keep.add(group[0])  # (never fired at all: the soundness check names it)
        unused: int | None = None
        for t in sorted(grouped - keep):
            if unused is None:
                unused = self.net.place("unused")
            self.net.trans[t] = _Trans(None, None, [unused], [unused])

    def _cancel_destination(self, scope: _Scope, point: _Throw, exit_: int,
                            thrown: dict[int, int], throws: list[_Throw], *, top: bool) -> int:
        if point.kind == "terminate":
            return exit_
        for _sub, start, handler_in in scope.catchers:
            if start.trigger == point.kind and (start.reference is None
                                                or point.reference is None
                                                or start.reference == point.reference):
                return handler_in
        if top:
            self.note(f"{point.kind} end event '{point.element}' is not caught: it is read as "
                      "ending the whole process")
            return exit_
        if point.place not in thrown:
            place = self.net.place(f"thrown:{point.element}")
            thrown[point.place] = place
            throws.append(_Throw(place, point.kind, point.reference, point.element))
        return thrown[point.place]

    def _describe(self, marking: Marking) -> str:
        """Places in the user's words: the names of the elements they belong to."""
        parts: list[str] = []
        for p in marking:
            kind, _, rest = self.net.places[p].partition(":")
            not_fired = rest.startswith("not-fired:")
            element = rest.removeprefix("not-fired:")
            flow = self.model.flows.get(element)
            if flow is not None:
                element = flow.target if kind == "end" else flow.source
            node = self.model.node(element)
            name = f"'{node.name}'" if node is not None and node.name else f"'{element}'"
            parts.append(f"{name} not fired" if not_fired else name)
        return " + ".join(parts) or "nothing"

    # --- inclusive gateways -------------------------------------------------------------------
    def _pair_inclusive(self, nodes: list[Task | Event | Gateway | SubProcess]
                        ) -> dict[str, tuple[str, dict[str, str]]]:
        """Inclusive joins that close an inclusive split branch for branch.

        Returns join id -> (split id, split outgoing flow -> join incoming flow).
        """
        splits = [n for n in nodes if len(self.outs(n.id)) > 1 and (
            (isinstance(n, Gateway) and n.kind == "inclusive")
            or (isinstance(n, (Task, SubProcess)) and self._conditional(n)))]
        pairs: dict[str, tuple[str, dict[str, str]]] = {}
        for join in nodes:
            if not (isinstance(join, Gateway) and join.kind == "inclusive"
                    and len(self.ins(join.id)) > 1):
                continue
            join_ins = {f.id for f in self.ins(join.id)}
            for split in splits:
                mapping: dict[str, str] = {}
                for flow in self.outs(split.id):
                    reached = self._reach(flow, split.id, join.id)
                    if len(reached) != 1:
                        break
                    mapping[flow.id] = next(iter(reached))
                else:
                    if sorted(mapping.values()) == sorted(join_ins):
                        pairs[join.id] = (split.id, mapping)
                        break
            if join.id not in pairs:
                self.refuse(join.id, "inclusiveGateway", "this inclusive join does not close an "
                            "inclusive split branch for branch; when it may fire depends on "
                            "the state of the whole process, which a workflow net cannot "
                            "express (draw it as an exclusive or parallel join)")
        return pairs

    def _reach(self, start: Flow, split: str, join: str) -> set[str]:
        found: set[str] = set()
        stack = [start]
        seen: set[str] = set()
        while stack:
            flow = stack.pop()
            if flow.id in seen:
                continue
            seen.add(flow.id)
            if flow.target == join:
                found.add(flow.id)
                continue
            if flow.target == split:
                continue
            stack.extend(self.outs(flow.target))
            for boundary in self._boundaries.get(flow.target, ()):
                stack.extend(self.outs(boundary.id))
        return found

    def _conditional(self, node: Task | SubProcess) -> bool:
        outs = self.outs(node.id)
        return len(outs) > 1 and (node.default_flow is not None
                                  or any(f.condition is not None for f in outs))

    def _subsets(self, node_id: str, node_type: str, outs: list[Flow], default: str | None
                 ) -> list[tuple[Flow, ...]] | None:
        """The sets of outgoing flows a split may give a token to. Out of an activity, a
        flow without a condition is always taken (BPMN 2.0 13.2.1, uncontrolled flow), the
        conditional ones in any combination, and the default one only where no condition
        holds; out of an inclusive gateway, any non-empty combination, or the default."""
        plain = [f for f in outs if f.id != default]
        always: list[Flow] = []
        if isinstance(self.model.node(node_id), (Task, SubProcess)):
            always = [f for f in plain if f.condition is None]
            plain = [f for f in plain if f.condition is not None]
        if len(plain) > MAX_INCLUSIVE_FANOUT:
            self.refuse(node_id, node_type, f"an inclusive split over {len(plain)} flows has "
                        f"{2 ** len(plain) - 1} combinations (at most "
                        f"{MAX_INCLUSIVE_FANOUT} flows are converted)")
            return None
        fewest = 0 if always and default is None else 1
        subsets: list[tuple[Flow, ...]] = [
            (*always, *combo) for size in range(fewest, len(plain) + 1)
            for combo in combinations(plain, size)]
        if default is not None:
            subsets.extend((*always, f) for f in outs if f.id == default)
        return subsets

    def _split(self, node_id: str, node_type: str, before: int, outs: list[Flow],
               default: str | None, flow_place: dict[str, int], *, inclusive: bool) -> None:
        """Move a token from `before` to the outgoing flows: all of them, or (inclusive) any
        subset, recording the subset for a paired inclusive join."""
        net = self.net
        if not outs:
            net.transition(None, node_id, [before], [self.end_place(node_id)])
            return
        if not inclusive or len(outs) == 1:
            net.transition(None, node_id, [before], [flow_place[f.id] for f in outs])
            return
        subsets = self._subsets(node_id, node_type, outs, default)
        if subsets is None:
            return
        markers = self.scope.markers.get(node_id)
        for subset in subsets:
            post = [flow_place[f.id] for f in subset]
            if markers is not None:
                post.append(markers[frozenset(f.id for f in subset)])
            net.transition(None, node_id, [before], post)

    # --- nodes --------------------------------------------------------------------------------
    def _event(self, event: Event, node_in: Callable[[str], int]) -> None:
        net, scope = self.net, self.scope
        flow_place = scope.flow_place
        if event.position == "start":
            return
        if event.position == "end":
            places = [flow_place[f.id] for f in self.ins(event.id)]
            if not places:
                self.refuse(event.id, "endEvent", "has no incoming sequence flow")
                return
            caught = self._caught_escalation(event)
            if any(f.source == event.id for f in self.model.message_flows):
                # (It sends a message as the branch ends: one step of its own, `_messages`.)
                done = net.place(f"end:{event.id}")
                scope.observables.append(done)
                for place in places:
                    net.transition(None, event.id, [place], [done])
                return
            for place in places:
                net.places[place] = f"end:{event.id}"
                if event.trigger in ("terminate", "error", "cancel") or caught:
                    scope.cancel_points[place] = _Throw(place, event.trigger, event.reference,
                                                        event.id)
                else:
                    scope.observables.append(place)
            return
        if self._caught_escalation(event):
            # The activity around it is interrupted here: nothing after the throw runs.
            place = node_in(event.id)
            scope.cancel_points[place] = _Throw(place, event.trigger, event.reference, event.id)
            return
        # Intermediate catch or throw events: silent steps (see the module docstring).
        outs = [flow_place[f.id] for f in self.outs(event.id)]
        net.transition(None, event.id, [node_in(event.id)],
                       outs or [self.end_place(event.id)])

    def _caught_escalation(self, event: Event) -> bool:
        """An escalation thrown whose nearest catcher interrupts (`escalation_interrupted`,
        which the SOP graph reads too)."""
        return escalation_interrupted(self.model, event)

    def _gateway(self, gateway: Gateway, node_in: Callable[[str], int],
                 pairs: dict[str, tuple[str, dict[str, str]]]) -> None:
        net = self.net
        flow_place = self.scope.flow_place
        ins, outs = self.ins(gateway.id), self.outs(gateway.id)
        tag = {"exclusive": "exclusiveGateway", "parallel": "parallelGateway",
               "inclusive": "inclusiveGateway", "event-based": "eventBasedGateway",
               "complex": "complexGateway"}[gateway.kind]
        if gateway.kind == "event-based" and gateway.parallel_events:
            # (Every event branch runs; the incoming flows, where any, merge: an event-based
            # gateway synchronises nothing.)
            post = [flow_place[f.id] for f in outs] or [self.end_place(gateway.id)]
            net.transition(None, gateway.id, [node_in(gateway.id)], post)
            return
        if gateway.id in self._gated:
            self._gated_branches(gateway, node_in(gateway.id), outs)
            return
        if gateway.kind in ("exclusive", "event-based", "complex"):
            before = node_in(gateway.id)
            if not outs:
                net.transition(None, gateway.id, [before], [self.end_place(gateway.id)])
            for flow in outs:
                net.transition(None, gateway.id, [before], [flow_place[flow.id]])
            return
        if gateway.kind == "parallel":
            pre = [flow_place[f.id] for f in ins] if len(ins) > 1 else [node_in(gateway.id)]
            post = [flow_place[f.id] for f in outs] or [self.end_place(gateway.id)]
            net.transition(None, gateway.id, pre, post)
            return
        # Inclusive: join (if it joins), then split (if it splits).
        if len(ins) > 1:
            pair = pairs.get(gateway.id)
            if pair is None:
                return  # refused in _pair_inclusive
            split_id, mapping = pair
            markers = self.scope.markers.get(split_id)
            if markers is None:
                return
            after = (flow_place[outs[0].id] if len(outs) == 1
                     else net.place(f"joined:{gateway.id}"))
            for subset, marker in markers.items():
                pre = [flow_place[mapping[f]] for f in subset] + [marker]
                net.transition(None, gateway.id, pre, [after])
            if len(outs) != 1:
                self._split(gateway.id, tag, after, outs, gateway.default_flow, flow_place,
                            inclusive=True)
            return
        self._split(gateway.id, tag, node_in(gateway.id), outs, gateway.default_flow,
                    flow_place, inclusive=True)

    def _prepare_markers(self, pairs: dict[str, tuple[str, dict[str, str]]]) -> None:
        """Marker places of the paired inclusive splits of the scope being built."""
        markers = self.scope.markers
        for _join, (split_id, _mapping) in pairs.items():
            node = self.model.node(split_id)
            if node is None or split_id in markers:
                continue
            default = node.default_flow if isinstance(node, (Gateway, Task, SubProcess)) else None
            subsets = self._subsets(split_id, _type_of(node), self.outs(split_id), default)
            if subsets is None:
                continue
            markers[split_id] = {
                frozenset(f.id for f in subset): self.net.place(f"chose:{split_id}")
                for subset in subsets}

    def _activity_node(self, node: Task | SubProcess, entry: int) -> list[_Throw]:
        flow_place = self.scope.flow_place
        outs = self.outs(node.id)
        inclusive = self._conditional(node)
        if len(outs) == 1:
            done = flow_place[outs[0].id]
        elif not outs:
            done = self.end_place(node.id)
        else:
            done = self.net.place(f"done:{node.id}")
        throws = self._attached(node, entry, done)
        if len(outs) > 1:
            self._split(node.id, _type_of(node), done, outs, node.default_flow, flow_place,
                        inclusive=inclusive)
        return throws

    # --- activities: boundary events, loops, content --------------------------------------------
    def _attached(self, node: Task | SubProcess, entry: int, exit_: int) -> list[_Throw]:
        net, scope = self.net, self.scope
        boundaries = self._boundaries.get(node.id, [])
        if not boundaries:
            return self._looped(node, entry, exit_)
        inner_entry = net.place(f"active:{node.id}")
        inner_exit = net.place(f"completed:{node.id}")
        first = len(net.trans)
        throws = self._looped(node, inner_entry, inner_exit)
        inner = range(first, len(net.trans))
        lasting = [b for b in boundaries if not b.interrupting]
        cutting = [b for b in boundaries if b.interrupting]
        if lasting and self._on_cycle(node.id):
            for boundary in lasting:
                self.refuse(boundary.id, "boundaryEvent", "a non-interrupting boundary event "
                            "on an activity inside a loop can start unboundedly many parallel "
                            "branches; a workflow net cannot count them")
            return throws
        if len(lasting) > MAX_NON_INTERRUPTING:
            self.refuse(node.id, _type_of(node), f"has {len(lasting)} non-interrupting "
                        f"boundary events (at most {MAX_NON_INTERRUPTING} are converted)")
            return throws

        def handler(boundary: Event) -> list[int]:
            places = [scope.flow_place[f.id] for f in self.outs(boundary.id)]
            return places or [self.end_place(boundary.id)]

        armed = [net.place(f"armed:{b.id}") for b in lasting]
        fired = [net.place(f"fired:{b.id}") for b in lasting]
        not_fired = [net.place(f"end:not-fired:{b.id}") for b in lasting]
        scope.observables.extend(not_fired)
        net.transition(None, node.id, [entry], [inner_entry, *armed])
        for k, boundary in enumerate(lasting):
            net.transition(None, boundary.id, [armed[k]], [fired[k], *handler(boundary)])
        if lasting:
            self.note(f"non-interrupting boundary event(s) of '{node.name or node.id}' are "
                      "read as firing at most once per activation")

        def variants(element: str, pre: Sequence[int], post: Sequence[int]) -> int:
            count = 0
            for combo in product((False, True), repeat=len(lasting)):
                flags = [fired[k] if hit else armed[k] for k, hit in enumerate(combo)]
                ends = [not_fired[k] for k, hit in enumerate(combo) if not hit]
                net.transition(None, element, [*pre, *flags], [*post, *ends])
                count += 1
            return count

        variants(node.id, [inner_exit], [exit_])
        caught: set[int] = set()
        running: list[Marking] | None = None
        generated = 0
        for boundary in cutting:
            matching = [t for t in throws if boundary.trigger in ("error", "cancel",
                                                                 "escalation")
                        and t.kind == boundary.trigger
                        and (boundary.reference is None or t.reference is None
                             or boundary.reference == t.reference)]
            if matching:
                for throw in matching:
                    generated += variants(boundary.id, [throw.place], handler(boundary))
                    caught.add(throw.place)
                continue
            if running is None:
                running = self._running_states(node, inner, inner_entry, inner_exit, throws)
                if running is None:
                    return throws
            for marking in running:
                generated += variants(boundary.id, marking, handler(boundary))
        if generated > MAX_CANCEL_TRANSITIONS:
            self.refuse(node.id, _type_of(node), f"interrupting it needs {generated} "
                        f"transitions (more than {MAX_CANCEL_TRANSITIONS})")
        passed: list[_Throw] = []
        for throw in throws:
            if throw.place in caught:
                continue
            place = net.place(f"thrown:{throw.element}")
            variants(throw.element, [throw.place], [place])
            passed.append(_Throw(place, throw.kind, throw.reference, throw.element))
        return passed

    def _running_states(self, node: Task | SubProcess, inner: range, inner_entry: int,
                        inner_exit: int, throws: list[_Throw]) -> list[Marking] | None:
        """The states in which the activity is running (what an interruption cancels)."""
        try:
            graph = _explore(self.net.trans, inner, (inner_entry,), cap=MAX_CANCEL_TRANSITIONS,
                             stop=(inner_exit,))
        except _StateSpaceTooLarge:
            self.refuse(node.id, _type_of(node), "has more than "
                        f"{MAX_CANCEL_TRANSITIONS} running states; an interrupting boundary "
                        "event on it cannot be converted")
            return None
        thrown = {t.place for t in throws}
        running = [m for m in graph.states if m != (inner_exit,) and not set(m) & thrown]
        for marking in running:
            if max(Counter(marking).values()) > 1:
                self.refuse(node.id, _type_of(node), "an interrupting boundary event would "
                            "have to cancel a state in which one place holds two tokens")
                return None
        return running

    def _on_cycle(self, node_id: str) -> bool:
        stack = [f.target for f in self.outs(node_id)]
        stack += [f.target for b in self._boundaries.get(node_id, ()) for f in self.outs(b.id)]
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current == node_id:
                return True
            if current in seen:
                continue
            seen.add(current)
            stack.extend(f.target for f in self.outs(current))
            for boundary in self._boundaries.get(current, ()):
                stack.extend(f.target for f in self.outs(boundary.id))
        return False

    def _looped(self, node: Task | SubProcess, entry: int, exit_: int) -> list[_Throw]:
        net = self.net
        loop = node.loop
        if loop is None:
            return self._content(node, entry, exit_)
        name = node.name or node.id
        if loop.kind == "standard" and loop.maximum is not None:
            if loop.maximum <= MAX_UNROLL:
                # At most `maximum` rounds (at least one unless tested before the first).
                fewest = 0 if loop.test_before else 1
                rounds = max(loop.maximum, fewest)
                places = [entry, *(net.place(f"round:{node.id}") for _ in range(rounds - 1)),
                          exit_] if rounds else [entry]
                throws = []
                for k in range(rounds):
                    throws.extend(self._content(node, places[k], places[k + 1]))
                for k in range(fewest, rounds):
                    net.transition(None, node.id, [places[k]], [exit_])
                if not rounds:
                    net.transition(None, node.id, [entry], [exit_])
                return throws
            self.note(f"the loop of '{name}' may run up to {loop.maximum} times (loopMaximum): "
                      f"more than {MAX_UNROLL} are not counted, it is read as repeating "
                      "without a cap")
        if loop.kind == "standard":
            body_entry = net.place(f"loop:{node.id}") if loop.test_before else entry
            body_exit = net.place(f"again?:{node.id}")
            if loop.test_before:
                net.transition(None, node.id, [entry], [body_entry])
                net.transition(None, node.id, [entry], [exit_])
                back = entry
            else:
                back = body_entry
            throws = self._content(node, body_entry, body_exit)
            net.transition(None, node.id, [body_exit], [back])
            if not loop.test_before:
                net.transition(None, node.id, [body_exit], [exit_])
            return throws
        count = loop.cardinality
        atomic = isinstance(node, Task)
        if count is not None and not loop.completion_condition and 0 <= count <= MAX_UNROLL:
            if count == 0:
                net.transition(None, node.id, [entry], [exit_])
                return []
            instances: list[_Throw] = []
            if loop.sequential or atomic:
                places = [entry, *(net.place(f"instance:{node.id}") for _ in range(count - 1)),
                          exit_]
                for k in range(count):
                    instances.extend(self._content(node, places[k], places[k + 1]))
                return instances
            starts = [net.place(f"instance:{node.id}") for _ in range(count)]
            ends = [net.place(f"instance-done:{node.id}") for _ in range(count)]
            net.transition(None, node.id, [entry], starts)
            for start, end in zip(starts, ends, strict=True):
                instances.extend(self._content(node, start, end))
            net.transition(None, node.id, ends, [exit_])
            return instances
        if count is None:
            why = "no fixed instance count"
        elif loop.completion_condition:
            why = "a completion condition (which may cancel the copies still running)"
        else:
            why = f"{count} instances (more than {MAX_UNROLL} are not unrolled)"
        if not loop.sequential and not atomic:
            self.refuse(node.id, _type_of(node), f"a parallel multi-instance sub-process with "
                        f"{why} runs unboundedly many copies side by side; a workflow net "
                        "cannot represent that")
            return []
        body_exit = net.place(f"again?:{node.id}")
        throws = self._content(node, entry, body_exit)
        net.transition(None, node.id, [body_exit], [entry])
        net.transition(None, node.id, [body_exit], [exit_])
        if count is None:
            # One instance per element of a collection (or an expression's count), which may
            # be empty: then none runs and the activity is left at once.
            net.transition(None, node.id, [entry], [exit_])
            self.note(f"multi-instance activity '{name}' states no instance count: it is read "
                      "as zero or more instances in a row (an empty collection runs none)")
        else:
            self.note(f"multi-instance activity '{name}' has {why}: it is read as one or more "
                      "instances in a row")
        return throws

    def _content(self, node: Task | SubProcess, entry: int, exit_: int) -> list[_Throw]:
        if isinstance(node, Task):
            self.net.transition(node.name, node.id, [entry], [exit_])
            return []
        return self._scope_net(node.id, entry, exit_, top=False)


def _minus(bigger: Marking, smaller: Marking) -> Marking:
    rest = Counter(bigger)
    rest.subtract(Counter(smaller))
    return tuple(sorted(rest.elements()))


def _end_element(place_name: str) -> str | None:
    kind, _, element = place_name.partition(":")
    if kind == "end" and not element.startswith("not-fired:"):
        return element
    return None


def _type_of(node: Task | Event | Gateway | SubProcess | None) -> str:
    if isinstance(node, Task):
        return node.kind
    if isinstance(node, SubProcess):
        return {"call": "callActivity", "transaction": "transaction"}.get(node.kind,
                                                                           "subProcess")
    if isinstance(node, Gateway):
        return {"exclusive": "exclusiveGateway", "parallel": "parallelGateway",
                "inclusive": "inclusiveGateway", "event-based": "eventBasedGateway",
                "complex": "complexGateway"}[node.kind]
    if isinstance(node, Event):
        return {"start": "startEvent", "end": "endEvent", "catch": "intermediateCatchEvent",
                "throw": "intermediateThrowEvent", "boundary": "boundaryEvent"}[node.position]
    return "element"


# --- reduction and export -----------------------------------------------------------------------


def _finish(builder: _Builder, source: int, sink: int) -> WorkflowNet:
    """Drop silent steps that only move a token on, then name everything."""
    trans = builder.trans
    alive = [True] * len(trans)
    place_alive = [True] * len(builder.places)
    changed = True
    while changed:
        changed = False
        consumers: dict[int, list[int]] = {}
        producers: dict[int, list[int]] = {}
        for t, tr in enumerate(trans):
            if not alive[t]:
                continue
            for p in tr.pre:
                consumers.setdefault(p, []).append(t)
            for p in tr.post:
                producers.setdefault(p, []).append(t)
        for t, tr in enumerate(trans):
            if not alive[t] or tr.label is not None or len(tr.pre) != 1 or len(tr.post) != 1:
                continue
            p, q = tr.pre[0], tr.post[0]
            if p == q:
                alive[t] = False
                changed = True
                break
            if p == source or consumers.get(p) != [t]:
                continue
            if any(q in trans[u].post for u in producers.get(p, ())):
                continue
            # Every token on p moves on to q silently: let p's producers put it on q directly.
            for u in producers.get(p, ()):
                trans[u].post = sorted(q if x == p else x for x in trans[u].post)
            alive[t] = False
            place_alive[p] = False
            changed = True
            break
    used = {source, sink}
    for t, tr in enumerate(trans):
        if alive[t]:
            used.update(tr.pre)
            used.update(tr.post)
    names: dict[int, str] = {}
    seen: Counter[str] = Counter()
    for p, hint in enumerate(builder.places):
        if p not in used or not place_alive[p]:
            continue
        base = "source" if p == source else "sink" if p == sink else f"p:{hint}"
        seen[base] += 1
        names[p] = base if seen[base] == 1 else f"{base}#{seen[base]}"
    transitions: list[Transition] = []
    arcs: list[tuple[str, str]] = []
    tseen: Counter[str] = Counter()
    for t, tr in enumerate(trans):
        if not alive[t]:
            continue
        base = f"t:{tr.element}" if tr.label is not None else f"tau:{tr.element or 'end'}"
        tseen[base] += 1
        name = base if tseen[base] == 1 else f"{base}#{tseen[base]}"
        transitions.append(Transition(name, tr.label, tr.element))
        arcs.extend((names[p], name) for p in tr.pre)
        arcs.extend((name, names[p]) for p in tr.post)
    return WorkflowNet(tuple(names.values()), tuple(transitions), tuple(arcs),
                       names[source], names[sink])


def convert(model: BpmnModel) -> Conversion:
    """Convert a read model into a workflow net (none if anything had to be refused)."""
    refused = list(model.refused)
    notes = list(model.notes)
    if refused:
        return Conversion(model, None, refused, notes)
    converter = _Converter(model)
    net = converter.run()
    notes.extend(n for n in converter.notes if n not in notes)
    return Conversion(model, net, converter.refused, notes)


def bpmn_to_workflow_net(path: str | Path, *, process: str | None = None,
                         max_states: int = MAX_SOUNDNESS_STATES) -> Conversion:
    """Read, convert and check one BPMN file (a collaboration read as one process: its net's
    soundness as checked when the reader decided so, within the same `max_states`)."""
    conversion = convert(read_bpmn(path, process=process, max_states=max_states))
    if conversion.net is not None:
        checked = conversion.model.joined_soundness if conversion.model.joined else None
        conversion.soundness = (checked if checked is not None
                                else check_soundness(conversion.net, max_states=max_states))
        if conversion.model.joined and conversion.soundness.verdict == "unsound":
            conversion.soundness = replace(conversion.soundness, problems=(
                JOINED_UNSOUND, *conversion.soundness.problems))
    return conversion


def joined_failure(model: BpmnModel, *, max_states: int = MAX_SOUNDNESS_STATES
                   ) -> tuple[str | None, Soundness | None]:
    """Why a collaboration read as one process (`BpmnModel.joined`) cannot be used: its first
    refusal (element, name and line) or its net's first soundness problem, or, where a pool
    is unsound on its own, that pool and its own problem (the join is not to blame); None
    where it converts to a sound net (or its state space, beyond `max_states`, is too large
    to tell). With it, the joined net's soundness (None where refused), which its
    conversion reuses (`BpmnModel.joined_soundness`)."""
    conversion = convert(model)
    if conversion.refused:
        first = conversion.refused[0]
        reason = first.reason.removesuffix(ONE_POOL_HINT)
        return f"{first.element_id}{first.located()}: {reason}", None
    assert conversion.net is not None
    # (With its directly-follows relation: the report's SOP graph draws it, `sop_graph`.)
    soundness = check_soundness(conversion.net, max_states=max_states, follows=True)
    why = _joined_unsound(model, soundness, max_states)
    if why is not None and len(soundness.problems) == 1 and why == soundness.problems[0]:
        # (Its only problem: steps no run takes, not a pool unsound on its own.)
        lost = _races_never_won(model, conversion.net, soundness.dead)
        if lost:
            why = f"{lost} ({why})"
    return why, soundness


def _races_never_won(model: BpmnModel, net: WorkflowNet, dead: Sequence[str]) -> str:
    """Where an unsound joined net's only problem is transitions that can never fire and some
    are the branch of an event-based gateway taken before its messages came (a timer's): that
    the branch never wins the race, the message always there first; "" otherwise. Only of a
    gateway a run reaches (another of its branches fires): a gateway after a branch that
    never runs is dead with all its branches, its message maybe never sent at all."""
    by_name = {t.name: t for t in net.transitions}
    dead_names = set(dead)
    reached = {t.element for t in net.transitions if t.name not in dead_names and t.element}
    pre: dict[str, list[str]] = defaultdict(list)
    for source, target in net.arcs:
        pre[target].append(source)
    told: list[str] = []
    for name in dead:
        transition = by_name.get(name)
        gateway = model.gateways.get(transition.element or "") if transition else None
        if gateway is None or gateway.kind != "event-based" or gateway.id not in reached:
            continue  # (a gateway no run reaches: not a race lost, see the docstring)
        places = pre[name]
        if not any(p.startswith("p:unsent:") for p in places) or any(
                p.startswith("p:message:") for p in places):
            continue  # (not the branch taken where no message came)
        received = {flow.target for flow in model.message_flows}
        outs = [f.target for f in model.flows.values() if f.source == gateway.id]
        branches = [b for b in outs if b not in received]
        messages = ", ".join(f"'{m.name or m.id}'" for m in model.message_flows
                             if m.target in outs)
        events = [model.events[b] for b in branches if b in model.events]
        what = (" or ".join(f"the timer '{e.name or e.id}'" if e.trigger == "timer"
                            else f"the event '{e.name or e.id}'" for e in events)
                or "the branch taken before a message")
        shown = gateway.name or gateway.id
        sentence = (f"{what} after the event-based gateway '{shown}' can never win: the "
                    f"message it waits for there ({messages}) is always sent before a run reaches "
                    f"'{shown}', so that branch never runs")
        if sentence not in told:
            told.append(sentence)
    return "; ".join(told)


def _joined_unsound(model: BpmnModel, soundness: Soundness, max_states: int) -> str | None:
    """Why an unsound joined net cannot be used (`joined_failure`); None where not unsound."""
    if soundness.verdict == "unsound" and soundness.problems:
        for pool in model.pools:
            if not pool.chosen or pool.process is None:
                continue
            alone = convert(read_bpmn(model.path, process=pool.process))
            if alone.net is None:
                continue
            own = check_soundness(alone.net, max_states=max_states)
            if own.verdict == "unsound" and own.problems:
                return (f"pool '{pool.name or pool.id}' is unsound on its own: "
                        + ": ".join(own.problems[:2]))
        # (The first problem is the verdict, "the end can never be reached"; the second
        # names the elements a run gets stuck at, or the tokens it leaves behind.)
        return ": ".join(soundness.problems[:2])
    return None


JOINED_UNSOUND = (
    "the collaboration's pools are read as one process, each message to a receive task or a "
    "message start or catch event a step its receiver waits for until it is sent: runs get "
    "stuck where a message is drawn both ways between two such receivers, where a node "
    "always waits for a message sent on some paths only, or where a pool a message starts "
    "is sent it twice in one case; and a message its receiver never waits for (its pool "
    "took another path before the receiver) is left unread, which a workflow net cannot end "
    "with (an event-based gateway waiting for it or a timer drops a message sent after its "
    "timer)"
    + ONE_POOL_HINT)
"""Said first of a joined collaboration's unsound net: why message flows make one so."""


# --- soundness --------------------------------------------------------------------------------


@dataclass
class _Indexed:
    places: list[str]
    pre: list[list[int]]
    post: list[list[int]]
    labels: list[str | None]
    names: list[str]
    source: int
    sink: int


def _index(net: WorkflowNet) -> _Indexed:
    place_index = {p: k for k, p in enumerate(net.places)}
    trans_index = {t.name: k for k, t in enumerate(net.transitions)}
    pre: list[list[int]] = [[] for _ in net.transitions]
    post: list[list[int]] = [[] for _ in net.transitions]
    for a, b in net.arcs:
        if a in place_index:
            pre[trans_index[b]].append(place_index[a])
        else:
            post[trans_index[a]].append(place_index[b])
    return _Indexed(list(net.places), pre, post, [t.label for t in net.transitions],
                    [t.name for t in net.transitions], place_index[net.source],
                    place_index[net.sink])


def check_soundness(net: WorkflowNet, *, max_states: int = MAX_SOUNDNESS_STATES,
                    follows: bool = False) -> Soundness:
    """Classical soundness of a workflow net, on its reachability graph.

    Sound: from every reachable state the sink can be reached; when the sink is marked nothing
    else is; every transition can fire; the net is bounded. A state space larger than
    `max_states` gives "undecided" (never a guess). `follows`: a sound net's answer carries
    its directly-follows relation (`Follows`), read off the same graph.
    """
    ix = _index(net)
    trans = [_Trans(ix.labels[t], ix.names[t], ix.pre[t], ix.post[t])
             for t in range(len(ix.names))]
    by_place: dict[int, list[int]] = {}
    for t, tr in enumerate(trans):
        for p in set(tr.pre):
            by_place.setdefault(p, []).append(t)
    start: Marking = (ix.source,)
    final: Marking = (ix.sink,)
    index: dict[Marking, int] = {start: 0}
    states: list[Marking] = [start]
    parent: list[tuple[int, int]] = [(-1, -1)]
    edges: list[list[tuple[int, int]]] = [[]]
    fired: set[int] = set()
    queue = deque([0])
    while queue:
        s = queue.popleft()
        marking = states[s]
        candidates: set[int] = set()
        for p in set(marking):
            candidates.update(by_place.get(p, ()))
        for t in sorted(candidates):
            nxt = _fire(marking, trans[t].pre, trans[t].post)
            if nxt is None:
                continue
            fired.add(t)
            target = index.get(nxt)
            if target is None:
                # A state strictly covering one of its ancestors repeats without bound.
                ancestor = s
                while ancestor >= 0:
                    older = states[ancestor]
                    if older != nxt and _covers(nxt, older):
                        path = [*_path(parent, ix, ancestor), _show(ix, t)]
                        return Soundness("unsound", (
                            "unbounded: tokens pile up without limit, e.g. after "
                            + _trace_text(path),), len(states))
                    ancestor = parent[ancestor][0]
                if len(states) >= max_states:
                    return Soundness("undecided", (
                        f"more than {max_states} reachable states; soundness not decided",),
                        len(states))
                target = index[nxt] = len(states)
                states.append(nxt)
                parent.append((s, t))
                edges.append([])
                queue.append(target)
            edges[s].append((t, target))
    problems: list[str] = []
    reverse: list[list[int]] = [[] for _ in states]
    for s, out in enumerate(edges):
        for _t, target in out:
            reverse[target].append(s)
    can_finish: set[int] = set()
    if final in index:
        can_finish.add(index[final])
        stack = [index[final]]
        while stack:
            s = stack.pop()
            for before in reverse[s]:
                if before not in can_finish:
                    can_finish.add(before)
                    stack.append(before)
    else:
        problems.append("the end can never be reached")
    stuck = [s for s in range(len(states)) if s not in can_finish]
    if stuck:
        # Show a dead end if there is one (states are in breadth-first order: the shortest).
        dead_ends = [s for s in stuck if not edges[s]]
        s = (dead_ends or stuck)[0]
        problems.append("a run can get stuck without finishing: after "
                        + _trace_text(_path(parent, ix, s)) + " it holds "
                        + _marking_text(ix, states[s]))
    improper = [s for s, m in enumerate(states) if ix.sink in m and m != final]
    if improper:
        s = improper[0]
        problems.append("a run finishes with work left over: after "
                        + _trace_text(_path(parent, ix, s)) + " it holds "
                        + _marking_text(ix, states[s]))
    dead = [t for t in range(len(trans)) if t not in fired]
    if dead:
        shown = ", ".join(_show(ix, t) for t in dead[:5])
        more = f" and {len(dead) - 5} more" if len(dead) > 5 else ""
        problems.append(f"{len(dead)} transition(s) can never fire: {shown}{more}")
    if problems:
        return Soundness("unsound", tuple(problems), len(states),
                         dead=tuple(ix.names[t] for t in dead))
    return Soundness("sound", (), len(states),
                     _follows(edges, ix.labels, index[final]) if follows else None)


def _follows(edges: Sequence[Sequence[tuple[int, int]]], labels: Sequence[str | None],
             final: int) -> Follows:
    """The directly-follows relation of a reachability graph (`edges`: state -> (transition,
    next state), state 0 the start; `final`: the final state): each state's last visible
    labels (None: none yet) spread along its edges, through silent transitions as they are."""
    last: list[set[str | None]] = [set() for _ in edges]
    last[0].add(None)
    pairs: set[tuple[str, str]] = set()
    starts: set[str] = set()
    queue = deque([0])
    queued = [False] * len(edges)
    queued[0] = True
    while queue:
        s = queue.popleft()
        queued[s] = False
        before = last[s]
        for t, target in edges[s]:
            label = labels[t]
            if label is None:
                new = before - last[target]
            else:
                for previous in before:
                    if previous is None:
                        starts.add(label)
                    else:
                        pairs.add((previous, label))
                new = set() if label in last[target] else {label}
            if new:
                last[target] |= new
                if not queued[target]:
                    queued[target] = True
                    queue.append(target)
    ends = {label for label in last[final] if label is not None}
    return Follows(frozenset(pairs), frozenset(starts), frozenset(ends))


def _show(ix: _Indexed, t: int) -> str:
    label = ix.labels[t]
    if label is not None:
        return f"'{label}'"
    element = ix.names[t].removeprefix("tau:").split("#", 1)[0]
    return f"(silent step of '{element}')"


def _path(parent: list[tuple[int, int]], ix: _Indexed, state: int) -> list[str]:
    steps: list[str] = []
    while state > 0:
        state, t = parent[state]
        steps.append(_show(ix, t))
    return list(reversed(steps))


def _trace_text(steps: list[str]) -> str:
    visible = [s for s in steps if not s.startswith("(silent")]
    return ", ".join(visible) if visible else "the start"


_PLACE_WORDS = {
    "in": "a token waiting at '{}'",
    "flow": "a token on sequence flow '{}'",
    "end": "a branch ended at '{}'",
    "active": "'{}' running",
    "armed": "boundary event '{}' not fired yet",
    "fired": "boundary event '{}' fired",
}


def _marking_text(ix: _Indexed, marking: Marking) -> str:
    """A state in words: where its tokens are, by BPMN element ids."""
    parts: list[str] = []
    for p in marking:
        name = ix.places[p].removeprefix("p:").split("#", 1)[0]
        kind, _, element = name.partition(":")
        template = _PLACE_WORDS.get(kind)
        parts.append(template.format(element) if template and element else f"'{name}'")
    return " and ".join(parts)


# --- play-out -----------------------------------------------------------------------------------


def play_out(net: WorkflowNet, *, max_length: int, max_states: int = 1_000_000
             ) -> set[tuple[str, ...]]:
    """Every visible trace of at most `max_length` labels that ends in the final marking."""
    ix = _index(net)
    start: Marking = (ix.source,)
    final: Marking = (ix.sink,)
    empty: tuple[str, ...] = ()
    seen: set[tuple[Marking, tuple[str, ...]]] = {(start, empty)}
    queue: deque[tuple[Marking, tuple[str, ...]]] = deque([(start, empty)])
    traces: set[tuple[str, ...]] = set()
    by_place: dict[int, list[int]] = {}
    for t, pre in enumerate(ix.pre):
        for p in set(pre):
            by_place.setdefault(p, []).append(t)
    item: tuple[Marking, tuple[str, ...]]
    while queue:
        marking, trace = queue.popleft()
        if marking == final:
            traces.add(trace)
            continue
        candidates: set[int] = set()
        for p in set(marking):
            candidates.update(by_place.get(p, ()))
        for t in candidates:
            nxt = _fire(marking, ix.pre[t], ix.post[t])
            if nxt is None:
                continue
            label = ix.labels[t]
            longer = trace if label is None else (*trace, label)
            if len(longer) > max_length:
                continue
            item = (nxt, longer)
            if item not in seen:
                if len(seen) >= max_states:
                    raise RuntimeError(f"play-out exceeded {max_states} states")
                seen.add(item)
                queue.append(item)
    return traces


# --- pm4py ------------------------------------------------------------------------------------


def to_pm4py(net: WorkflowNet) -> tuple[Any, Any, Any]:
    """The net as a pm4py (PetriNet, initial marking, final marking); pm4py is imported here."""
    from pm4py.objects.petri_net.obj import Marking as PmMarking
    from pm4py.objects.petri_net.obj import PetriNet
    from pm4py.objects.petri_net.utils import petri_utils

    pn = PetriNet("workflow net")
    places: dict[str, Any] = {}
    transitions: dict[str, Any] = {}
    for name in net.places:
        places[name] = PetriNet.Place(name)
        pn.places.add(places[name])
    for tr in net.transitions:
        transitions[tr.name] = PetriNet.Transition(tr.name, tr.label)
        pn.transitions.add(transitions[tr.name])
    for a, b in net.arcs:
        if a in places:
            petri_utils.add_arc_from_to(places[a], transitions[b], pn)
        else:
            petri_utils.add_arc_from_to(transitions[a], places[b], pn)
    initial = PmMarking({places[net.source]: 1})
    final = PmMarking({places[net.sink]: 1})
    return pn, initial, final


def from_pm4py(pn: Any, initial: Any, final: Any) -> WorkflowNet:
    """A pm4py accepting Petri net (one token in one source, one in one sink, arc weights 1,
    e.g. from pm4py's inductive miner) as our WorkflowNet; names are kept, labels too."""
    sources = [p.name for p, n in initial.items() if n]
    sinks = [p.name for p, n in final.items() if n]
    if len(sources) != 1 or len(sinks) != 1 or any(
            n != 1 for n in (*initial.values(), *final.values())):
        raise ValueError("not a workflow net: the markings must be one token in one place each")
    arcs = []
    for arc in pn.arcs:
        if getattr(arc, "weight", 1) != 1:
            raise ValueError(f"arc {arc.source.name} -> {arc.target.name} has weight {arc.weight}")
        arcs.append((str(arc.source.name), str(arc.target.name)))
    transitions = tuple(Transition(str(t.name), None if t.label is None else str(t.label), None)
                        for t in sorted(pn.transitions, key=lambda t: str(t.name)))
    return WorkflowNet(places=tuple(sorted(str(p.name) for p in pn.places)),
                       transitions=transitions, arcs=tuple(sorted(arcs)),
                       source=str(sources[0]), sink=str(sinks[0]))
