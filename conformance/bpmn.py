"""Read BPMN 2.0 files into a typed process model, refusing what cannot be converted faithfully.

The reader is the front half of `BPMN -> workflow net` (`conformance.petri` is the back half).
It parses hostile XML safely (a DTD is refused before lxml sees a byte; no entity expansion, no
network), picks the process to check, flattens nothing yet but records every node with the scope
(process, sub-process or inlined call activity) it lives in, maps nodes to lanes (roles), and
collects every construct it cannot represent as a `BpmnRefused` instead of dropping it.

Names are normalised (runs of whitespace, including line breaks drawn into a label, become one
space), because event logs carry one-line activity labels.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lxml import etree

from audit.errors import InputError
from audit.ingest.xes import iter_xml_elements, local_name, source_line

if TYPE_CHECKING:
    from conformance.petri import Soundness

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"

TASK_TAGS = frozenset({
    "task", "userTask", "serviceTask", "sendTask", "receiveTask", "manualTask", "scriptTask",
    "businessRuleTask",
})
GLOBAL_TASK_TAGS = frozenset({
    "globalTask", "globalUserTask", "globalScriptTask", "globalManualTask",
    "globalBusinessRuleTask",
})
GATEWAY_KINDS: dict[str, GatewayKind] = {
    "exclusiveGateway": "exclusive",
    "parallelGateway": "parallel",
    "inclusiveGateway": "inclusive",
    "eventBasedGateway": "event-based",
    "complexGateway": "complex",
}
EVENT_POSITIONS: dict[str, EventPosition] = {
    "startEvent": "start",
    "endEvent": "end",
    "intermediateCatchEvent": "catch",
    "intermediateThrowEvent": "throw",
    "boundaryEvent": "boundary",
}
CONTAINER_TAGS = frozenset({"subProcess", "transaction", "adHocSubProcess", "callActivity"})
# Children of a process or sub-process that carry no control flow.
_NOT_CONTROL_FLOW = frozenset({
    "documentation", "extensionElements", "laneSet", "ioSpecification", "ioBinding", "property",
    "dataObject", "dataObjectReference", "dataStoreReference", "dataInputAssociation",
    "dataOutputAssociation", "textAnnotation", "association", "group", "auditing", "monitoring",
    "performer", "humanPerformer", "potentialOwner", "resourceRole", "correlationSubscription",
    "supports", "incoming", "outgoing", "standardLoopCharacteristics",
    "multiInstanceLoopCharacteristics", "category", "categoryValue",
})
_CARDINALITY = re.compile(r"[0-9]{1,9}")
"""A multi-instance activity's literal instance count (more than nine digits is no count a
net unrolls, read as an unknown count)."""
_SIBLING_FILE_LIMIT = 200
"""How many .bpmn files beside a model are searched for the callee of a call activity."""
MAX_NESTING = 50
"""How deep sub-processes (and the processes call activities run) may be nested in one
another: the reader and the conversion walk the scopes recursively, and a few hundred levels
(which libxml2 still parses) would exhaust Python's stack; a deeper model is refused as
input."""

GatewayKind = Literal["exclusive", "parallel", "inclusive", "event-based", "complex"]
EventPosition = Literal["start", "end", "catch", "throw", "boundary"]
ScopeKind = Literal["process", "sub-process", "event sub-process", "transaction", "call"]


class BpmnRefused(Exception):
    """A BPMN element that cannot be converted faithfully, with the reason in the user's words."""

    def __init__(self, element_id: str, element_type: str, reason: str, *,
                 name: str | None = None, line: int | None = None,
                 file: str | None = None) -> None:
        self.element_id = element_id
        self.element_type = element_type
        self.reason = reason
        self.name = name or None
        """The element's name as drawn (None where it has none)."""
        self.line = line
        """The line of the element in its file, where known."""
        self.file = file
        """The file holding it where that is not the model's own (a called process beside
        it); None for the model's file."""
        super().__init__(f"{element_type} '{element_id}'{self.located()}: {reason}")

    def located(self) -> str:
        """Where a designer finds the element, as " ('Inclusive Gateway 6', line 436)": its
        name (a drawing shows names, not ids; a generated id such as '_10ecbff1-...' cannot be
        searched in a modeller) and its line (in the called file, where another). Empty where
        neither is known; a line the reason already gives is not repeated."""
        parts: list[str] = []
        if self.name and self.name != self.element_id:
            parts.append(f"'{_shown(self.name)}'")
        if self.line is not None:
            at = f"line {self.line}"
            if self.file is not None:
                parts.append(f"{self.file} {at}")
            elif f"({at})" not in self.reason:
                parts.append(at)
        return f" ({', '.join(parts)})" if parts else ""

    def as_dict(self) -> dict[str, str | int | None]:
        return {"element_id": self.element_id, "element_type": self.element_type,
                "name": self.name, "line": self.line, "file": self.file,
                "reason": self.reason}


@dataclass(frozen=True)
class Loop:
    """Loop characteristics of an activity."""

    kind: Literal["standard", "multi-instance"]
    sequential: bool
    test_before: bool = False
    """Standard loops only: the condition is tested before the first iteration (0..n)."""
    cardinality: int | None = None
    """Multi-instance only: a literal instance count, when the model states one."""
    maximum: int | None = None
    """Standard loops only: `loopMaximum`, the cap on the number of iterations."""
    completion_condition: bool = False


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    kind: str
    """The BPMN tag: task, userTask, serviceTask, ... (callActivity for a called global task)."""
    scope: str
    lanes: tuple[str, ...] = ()
    """Ids of every lane the task lies in: per innermost lane, it and the lanes around it,
    outermost first."""
    role: str | None = None
    """The first of `roles` (None without a lane)."""
    loop: Loop | None = None
    default_flow: str | None = None
    innermost: tuple[str, ...] = ()
    """Ids of the innermost lanes holding the task, in file order: one per lane set it is in
    (a process may have several, e.g. regions and roles), more where the file lists it in
    several lanes of one lane set."""
    roles: tuple[str, ...] = ()
    """Names of the `innermost` lanes: every role that may perform the task."""


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    position: EventPosition
    trigger: str
    """none, timer, message, signal, error, escalation, conditional, link, terminate, cancel,
    compensate or multiple."""
    scope: str
    attached_to: str | None = None
    interrupting: bool = True
    """Boundary events: cancelActivity; start events of event sub-processes: isInterrupting."""
    reference: str | None = None
    """errorRef, escalationRef, signalRef or messageRef id, or a link event's name."""
    lanes: tuple[str, ...] = ()
    role: str | None = None
    innermost: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Gateway:
    id: str
    name: str
    kind: GatewayKind
    scope: str
    default_flow: str | None = None
    lanes: tuple[str, ...] = ()
    innermost: tuple[str, ...] = ()
    parallel_events: bool = False
    """Event-based gateways only: eventGatewayType="Parallel" (an instantiating parallel
    event-based gateway): every event branch runs, as after a parallel split."""


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    scope: str
    name: str = ""
    condition: str | None = None
    virtual: bool = False
    """True for the implied flow from a link throw event to its catch event."""
    line: int | None = field(default=None, compare=False)
    """The line of its <sequenceFlow> in the file (None for a virtual flow), which a refusal
    of the flow names."""


@dataclass(frozen=True)
class SubProcess:
    """An embedded sub-process, event sub-process, transaction, or inlined call activity.

    Its content is read into the model with `scope` equal to this id; the Petri-net conversion
    flattens it into the parent net.
    """

    id: str
    name: str
    kind: ScopeKind
    scope: str
    loop: Loop | None = None
    called_element: str | None = None
    callee_file: str | None = None
    lanes: tuple[str, ...] = ()
    role: str | None = None
    default_flow: str | None = None
    innermost: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lane:
    id: str
    name: str
    """The lane's name; "" for an unnamed lane (bpmn.io's "divide lane" makes them)."""
    role: str | None
    """The lane name as a role key (`role_key`: NFKC, case-folded, words joined by '-';
    "Customer service" -> "customer-service"), as a log's `org:role` is compared. An
    unnamed lane has no
    role of its own: that of the nearest named lane around it, None where there is none."""
    process: str
    parent: str | None
    flow_nodes: tuple[str, ...]
    """Ids of the nodes the file lists in this lane (`flowNodeRef`), in file order."""
    role_lane: str | None = None
    """The id of the lane whose name is the role: this lane, or for an unnamed one the
    nearest named lane around it (None: no role)."""


@dataclass(frozen=True)
class Pool:
    id: str
    name: str
    process: str | None
    chosen: bool
    empty: bool = False
    """Its process (`process`) has no flow elements: a black box, as a pool without one (an
    expanded pool bpmn.io and Camunda Modeler draw for the customer)."""
    missing: bool = False
    """Its processRef (`process`) names a process the file does not define: a black box,
    noted in the model's notes."""


@dataclass(frozen=True)
class MessageFlow:
    """A message flow of a collaboration read as one process (`BpmnModel.joined`): the
    receiving node waits for what the sending node put out."""

    id: str
    source: str
    target: str
    name: str = ""
    line: int | None = field(default=None, compare=False)


@dataclass
class BpmnModel:
    """One process of a BPMN file, with everything nested in it, ready for conversion."""

    path: Path
    process_id: str
    process_name: str
    pools: list[Pool] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    gateways: dict[str, Gateway] = field(default_factory=dict)
    subprocesses: dict[str, SubProcess] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    lanes: dict[str, Lane] = field(default_factory=dict)
    refused: list[BpmnRefused] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    choice: str | None = None
    """Where no process was named and the file has several candidates: the note saying
    which one the reader took (also in `notes`); None otherwise."""
    candidates: tuple[str, ...] = ()
    """With `choice`: the ids of the processes the reader chose among (a pool's or drawn
    outside any pool), in the file's order."""
    message_flows: list[MessageFlow] = field(default_factory=list)
    """A collaboration read as one process: the message flows between its pools' nodes."""
    joined_soundness: Soundness | None = field(default=None, repr=False, compare=False)
    """A collaboration read as one process: the soundness of its net as checked when the
    reader decided to read the pools as one (`read_bpmn`), which the conversion reuses;
    None where not checked."""
    pool_of: dict[str, str] = field(default_factory=dict, repr=False)
    """A collaboration read as one process: node id -> the participant id of its pool."""
    order: dict[str, int] = field(default_factory=dict, repr=False)
    """Element id -> position in the file, to list nodes of different kinds in file order."""
    located: dict[str, tuple[str, str | None, int | None]] = field(default_factory=dict,
                                                                   repr=False)
    """Element id -> (name, file, line) of each element read with an id: its name, the file
    holding it where that is not the model's own (a called process beside it), and its line;
    a refusal names them."""

    def refusal(self, element_id: str, element_type: str, reason: str) -> BpmnRefused:
        """A refusal of `element_id`, naming where the element is drawn and written."""
        name, file, line = self.located.get(element_id, ("", None, None))
        return BpmnRefused(element_id, element_type, reason, name=name or None, line=line,
                           file=file)

    def node_scope(self, node_id: str) -> str | None:
        node = self.node(node_id)
        return None if node is None else node.scope

    def node(self, node_id: str) -> Task | Event | Gateway | SubProcess | None:
        return (self.tasks.get(node_id) or self.events.get(node_id)
                or self.gateways.get(node_id) or self.subprocesses.get(node_id))

    def nodes_in(self, scope: str) -> list[Task | Event | Gateway | SubProcess]:
        """The flow nodes directly inside `scope`, in file order."""
        nodes: list[Task | Event | Gateway | SubProcess] = []
        for table in (self.tasks, self.events, self.gateways, self.subprocesses):
            nodes.extend(n for n in table.values() if n.scope == scope)
        order = self.order
        return sorted(nodes, key=lambda n: order.get(n.id, 0))

    def flows_in(self, scope: str) -> list[Flow]:
        return [f for f in self.flows.values() if f.scope == scope]

    def incoming(self, node_id: str) -> list[Flow]:
        return [f for f in self.flows.values() if f.target == node_id]

    def outgoing(self, node_id: str) -> list[Flow]:
        return [f for f in self.flows.values() if f.source == node_id]

    def boundary_events(self, node_id: str) -> list[Event]:
        return [e for e in self.events.values() if e.attached_to == node_id]

    @property
    def joined(self) -> bool:
        """A collaboration whose pools message flows join, read as one process."""
        return bool(self.pool_of)

    def task_labels(self) -> list[str]:
        """The distinct task names, in file order: the activity labels the model expects."""
        seen: dict[str, None] = {}
        order = self.order
        for task in sorted(self.tasks.values(), key=lambda t: order.get(t.id, 0)):
            seen.setdefault(task.name, None)
        return list(seen)

    def roles_of(self, task_name: str) -> list[str]:
        """The lane names (roles) of every task called `task_name`."""
        roles = {r for t in self.tasks.values() if t.name == task_name for r in t.roles}
        return sorted(roles)


def role_key(name: str) -> str:
    """A lane name (or a log's `org:role`) as a role key: "Customer service" ->
    "customer-service". Compared without case, spacing, width or Unicode form: NFKC, then
    full case folding ("Leitung Großkunden", "LEITUNG GROSSKUNDEN" and full-width
    "Ｌｅｉｔｕｎｇ　Ｇｒｏßｋｕｎｄｅｎ" are one key; so are a composed and a decomposed "ü");
    white space, '_' and '-' between words are one separator (`refund_supervisor` is lane "Refund
    Supervisor", as payment methods compare)."""
    words = _ROLE_SEPARATORS.split(unicodedata.normalize("NFKC", name).casefold())
    return "-".join(word for word in words if word)


_ROLE_SEPARATORS = re.compile(r"[\s_\-]+")


def clean_name(raw: str | None) -> str:
    """A label as one line: runs of whitespace (line breaks drawn into shapes) become a space;
    in Unicode's composed form (NFC), as the import writes a log's labels: `ü` written as `u`
    and a combining diaeresis is the `ü` of the same label elsewhere."""
    return unicodedata.normalize("NFC", " ".join((raw or "").split()))


def cleaned_labels(labels: Any) -> Any:
    """A log's activity labels (an array of texts) as the BPMN reader reads task names
    (`clean_name`), each distinct label folded once: a model discovered from a log, or a
    log compared with a model, then names its activities as the model file does."""
    import numpy as np

    values = np.asarray(labels, dtype=object)
    distinct = {v: clean_name(v) for v in set(values.tolist())}
    return np.array([distinct[v] for v in values.tolist()], dtype=object)


# --- parsing ----------------------------------------------------------------------------------


def parse_bpmn_xml(path: Path) -> etree._Element:
    """The <definitions> root of a BPMN file, parsed with the hardened XML plumbing."""
    # With entity resolution off, libxml2 reports an undefined entity only in its thread-wide
    # error log, which the shared plumbing reads for the line: start it empty, or a stale
    # entry from an earlier file would be blamed.
    etree.clear_error_log()
    root: etree._Element | None = None
    for element in iter_xml_elements(
        path, tags=("{*}definitions",), root="definitions", label="XML BPMN"
    ):
        if element.getparent() is None:
            root = element
    if root is None:
        raise InputError("not a BPMN file: no <definitions> element", file=path)
    if not isinstance(root.tag, str) or not root.tag.startswith("{" + BPMN_NS + "}"):
        namespace = root.tag[1 : root.tag.find("}")] if root.tag.startswith("{") else "none"
        raise InputError(
            f"not a BPMN 2.0 file: <definitions> is in namespace {namespace!r}, expected "
            f"{BPMN_NS!r}",
            file=path,
        )
    return root


def _bpmn_children(element: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and tag.startswith("{" + BPMN_NS + "}"):
            yield tag[len(BPMN_NS) + 2 :], child


def _local_ref(element: etree._Element, attribute: str, target_namespace: str | None
               ) -> str | None:
    """An element's reference `attribute` (an xsd:QName, as a participant's processRef) as
    the id it names in this file: a prefix that maps to the file's targetNamespace stripped
    (`tns:pB` is 'pB' where xmlns:tns is the targetNamespace), any other value as written
    (a prefix of another namespace names something of another file). None where empty."""
    ref = (element.get(attribute) or "").strip()
    if not ref:
        return None
    prefix, colon, local = ref.partition(":")
    if colon and local and target_namespace and element.nsmap.get(prefix) == target_namespace:
        return local
    return ref


def _target_namespace(root: etree._Element) -> str | None:
    """The definitions' targetNamespace (None where none), which `_local_ref` strips."""
    return (root.get("targetNamespace") or "").strip() or None


def _child(element: etree._Element, name: str) -> etree._Element | None:
    for local, child in _bpmn_children(element):
        if local == name:
            return child
    return None


_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
"""xsd:boolean's four literals (BPMN's `cancelActivity`, `isSequential`, ... are xsd:boolean:
"1" is as true as "true"), read without case."""


def _boolean(raw: str | None, default: bool) -> bool | None:
    """An xsd:boolean attribute's value: `default` where absent, None where it is no
    boolean at all ("yes")."""
    if raw is None:
        return default
    return _BOOLEANS.get(raw.strip().lower())


def _flag(element: etree._Element, attribute: str, default: bool) -> bool:
    """A boolean attribute, `default` where absent or no boolean (the reader refuses an
    element whose flag is no boolean: `_Reader._flag`)."""
    value = _boolean(element.get(attribute), default)
    return default if value is None else value


def _shown(raw: str | None, limit: int = 40) -> str:
    """An attribute's value as a message quotes it: at most `limit` characters (a hostile file
    may hold megabytes in one attribute)."""
    text = raw or ""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(str(part) for part in element.itertext()).strip()
    return text or None


@dataclass
class _Source:
    """One parsed BPMN file: its processes, global tasks and named elements."""

    path: Path
    root: etree._Element
    processes: dict[str, etree._Element]
    global_tasks: dict[str, etree._Element]
    by_id: dict[str, etree._Element]

    @classmethod
    def load(cls, path: Path) -> _Source:
        root = parse_bpmn_xml(path)
        processes: dict[str, etree._Element] = {}
        global_tasks: dict[str, etree._Element] = {}
        by_id: dict[str, etree._Element] = {}
        for local, child in _bpmn_children(root):
            ident = child.get("id")
            if local == "process" and ident:
                if ident in processes:  # (which of them a SOP or `#id` names: a guess)
                    first, again = source_line(processes[ident]), source_line(child)
                    raise InputError(f"process id '{ident}' is given to two processes (lines "
                                     f"{first} and {again}): give each process an id of its "
                                     "own", file=path, line=again)
                processes[ident] = child
            elif local in GLOBAL_TASK_TAGS and ident:
                global_tasks[ident] = child
        for element in root.iter():
            ident = (element.get("id") or "").strip() if isinstance(element.tag, str) else None
            if ident and element.tag.startswith("{" + BPMN_NS + "}"):
                by_id.setdefault(ident, element)
        return cls(path, root, processes, global_tasks, by_id)


def _called_element(element: etree._Element) -> str | None:
    called = element.get("calledElement")
    if called:
        return called.strip()
    # Camunda 8 (Zeebe) states the callee in an extension element instead.
    for child in element.iter("{" + ZEEBE_NS + "}calledElement"):
        process_id = child.get("processId")
        if process_id:
            return process_id.strip()
    return None


def _count_tasks(process: etree._Element) -> int:
    count = 0
    for element in process.iter():
        tag = element.tag
        if isinstance(tag, str) and tag.startswith("{" + BPMN_NS + "}"):
            local = tag[len(BPMN_NS) + 2 :]
            if local in TASK_TAGS or local == "callActivity":
                count += 1
    return count


def _has_flow_nodes(process: etree._Element) -> bool:
    return any(local not in _NOT_CONTROL_FLOW and local != "sequenceFlow"
               for local, _ in _bpmn_children(process))


# --- the reader -------------------------------------------------------------------------------


Fingerprint = tuple[str, tuple[tuple[str, int, int], ...]]


def file_fingerprint(path: Path) -> Fingerprint:
    """What a cached reading of the BPMN file `path` depends on, so that it is read again
    when any of it changes: the file's bytes (their digest: a copy keeping another file's
    modification time, `cp -p`, is read again) and each .bpmn file beside it, where a call
    activity's callee may be (name, size, modification time in ns; the reader searches
    the first `_SIBLING_FILE_LIMIT` by name). Editing only a called process's file left
    the caller's net as it was read first (a notebook, a Dask worker serving several
    checks)."""
    try:
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
    except OSError:  # the reader says why it cannot read the file (nothing is cached then)
        digest = ""
    home, me = path.resolve().parent, path.resolve()
    beside: list[tuple[str, int, int]] = []
    try:
        names = sorted(p for p in home.iterdir() if p.suffix.lower() == ".bpmn")
    except OSError:  # a folder that cannot be listed: the reader finds no callee there
        names = []
    for other in names:
        try:
            if other.resolve() == me or not other.is_file():
                continue
            stat = other.stat()
        except OSError:
            continue
        beside.append((other.name, stat.st_size, stat.st_mtime_ns))
        if len(beside) == _SIBLING_FILE_LIMIT:
            break
    return digest, tuple(beside)


_JOIN_DECISIONS: dict[tuple[str, Fingerprint, int], tuple[str | None, Soundness | None]] = {}
"""(file, its fingerprint, the state limit) -> why its pools do not read as one (None: they
do) and the joined net's soundness as checked then: a check reads its SOP file four or five
times (its net, the pool chosen, its labels, its lanes, the report's graph), and deciding
converts and explores the joined net (up to the state limit) each time."""
_JOIN_DECISIONS_KEPT = 32
_JOIN_DECISIONS_LOCK = threading.Lock()
"""Held to evict and add a decision: threads reading SOPs at once (the overlay's graphs,
the rules) would otherwise evict the same oldest one, the second's pop a KeyError."""


def read_bpmn(path: str | Path, *, process: str | None = None,
              max_states: int | None = None) -> BpmnModel:
    """Read one process of a BPMN 2.0 file (collaborations: see `process`).

    `process` selects a process by id, or a pool by participant id or name. Without it, the
    reader takes the only process with flow elements or, in a collaboration of several, the one
    with the most tasks, and says so in the model's notes (message flows between pools are
    communication, not control flow, and are never converted). Unusable files (not XML, a DTD,
    not BPMN, no process) raise `InputError`; constructs that cannot be converted faithfully
    are listed in `model.refused`. `max_states` bounds the soundness check deciding whether
    a collaboration's pools read as one (`conformance.petri.MAX_SOUNDNESS_STATES` where
    None); the decision is kept per file (`_JOIN_DECISIONS`).
    """
    path = Path(path)
    source = _Source.load(path)
    model = _Reader(source).read(process)
    if process is None and model.joined:
        # The designer drew pools, not one process: where reading them as one fails only
        # because of the join (a refusal or an unsound net), the pool with the most tasks is
        # read, as without message flows, and the reason goes into the choice's warning.
        from conformance.petri import MAX_SOUNDNESS_STATES, joined_failure

        limit = MAX_SOUNDNESS_STATES if max_states is None else max_states
        soundness: Soundness | None = None
        if not model.message_flows and not any(
                r.element_type == "messageFlow" for r in model.refused):
            # (Every message flow is information or touches a black box: nothing orders one
            # pool's part after another's, and joined each pool would run in every case.)
            why: str | None = ("no message flow between them sets an order: each is "
                               "information or touches a pool without a process")
        else:
            key = (str(path.resolve()), file_fingerprint(path), limit)
            decided = _JOIN_DECISIONS.get(key)
            if decided is None:
                decided = joined_failure(model, max_states=limit)
                with _JOIN_DECISIONS_LOCK:
                    while len(_JOIN_DECISIONS) >= _JOIN_DECISIONS_KEPT:
                        _JOIN_DECISIONS.pop(next(iter(_JOIN_DECISIONS)), None)
                    _JOIN_DECISIONS[key] = decided
            why, soundness = decided
        model.joined_soundness = soundness
        if why is not None:
            model = _Reader(source).read(None, join=False)
            told = (f"its pools joined by message flows do not read as one process ({why})"
                    "; so one pool is read: ")
            if model.notes and model.choice is not None:
                model.notes[0] = told + model.notes[0]
                model.choice = told + model.choice
    return model


CHOOSE_HINT = " (choose another with process=...)"
"""The end of the reader's note on the process it chose among several."""
ONE_POOL_HINT = ("; to check one pool alone, name it as FILE#PROCESS (its process id or pool "
                 "name; `model inspect` lists them)")
"""The end of each refusal of a collaboration read as one process (`BpmnModel.joined`)."""


class _Reader:
    def __init__(self, source: _Source) -> None:
        self.source = source
        self.model: BpmnModel | None = None
        self._siblings: dict[str, list[tuple[_Source, etree._Element]]] | None = None
        """Process id -> the .bpmn files beside the model defining it, in name order."""
        self._unreadable: list[tuple[str, str]] = []
        """(file name, why) of the .bpmn files beside the model that could not be read."""
        self._counter = 0
        self._lane_of_node: dict[str, list[str]] = {}
        self._lane_set_of: dict[str, str] = {}
        """Lane id -> the id of the outermost lane set it is in (child lane sets belong to
        their parent lane's set)."""
        self._lane_set_names: dict[str, str] = {}
        self._lane_set_scope: dict[str, str] = {}
        """Lane set id -> the scope (process, sub-process or call activity) it divides."""
        self._lane_set_pool: dict[str, str] = {}
        """A joined collaboration: lane set -> the process of its pool."""
        self._element_process: dict[str, str] | None = None
        self._element_line = 0
        """A joined collaboration: the line of its <collaboration>."""
        self._shape_bounds: dict[str, tuple[float, float, float, float]] = {}
        self._chosen_among: list[str] = []
        """The candidates `_choose` chose among, where it chose (no process named)."""
        self._refused_flows: dict[str, str | None] = {}
        """Id -> source (None where it names none) of each sequence flow refused, and so left
        out of the model's flows: a default naming one is not refused again."""

    # --- choosing the process ---------------------------------------------------------------
    def read(self, wanted: str | None, *, join: bool = True) -> BpmnModel:
        src = self.source
        participants: list[tuple[str, str, str | None]] = []
        flows_read: list[etree._Element] = []
        collaborations: list[str] = []
        target_namespace = (src.root.get("targetNamespace") or "").strip() or None
        for local, child in _bpmn_children(src.root):
            if local == "collaboration":
                collaborations.append(child.get("id") or "")
                for sub_local, sub in _bpmn_children(child):
                    if sub_local == "participant":
                        participants.append((sub.get("id") or "", clean_name(sub.get("name")),
                                             _local_ref(sub, "processRef", target_namespace)))
                    elif sub_local == "messageFlow":
                        flows_read.append(sub)
        message_flows = len(flows_read)
        if not src.processes:
            raise InputError("not a usable BPMN model: the file defines no <process>",
                             file=src.path)
        if wanted is None and join:
            joined = self._joined_pools(participants, flows_read)
            if joined:
                return self._read_joined(collaborations, participants, joined, flows_read)
        chosen_id, notes = self._choose(participants, wanted)
        process = src.processes[chosen_id]
        pool_name = next((name for _, name, ref in participants if ref == chosen_id and name), "")
        model = BpmnModel(path=src.path, process_id=chosen_id,
                          process_name=clean_name(process.get("name")) or pool_name or chosen_id)
        self.model = model
        model.notes.extend(notes)
        model.choice = notes[0].removesuffix(CHOOSE_HINT) if notes else None
        model.candidates = tuple(self._chosen_among) if notes else ()
        model.pools = self._pools(participants, {chosen_id})
        if message_flows:
            model.notes.append(
                f"{message_flows} message flow(s) between pools are communication, not control "
                "flow: they are not converted"
            )
        self._read_shapes({chosen_id, *collaborations})
        self._read_container(process, chosen_id, "", stack=(chosen_id,), depth=0)
        self._add_link_flows()
        self._check_flows()
        self._assign_lanes()
        return model

    def _empty(self, ref: str | None) -> bool:
        """A pool's process `ref` is defined in the file and has no flow elements."""
        process = self.source.processes.get(ref) if ref is not None else None
        return process is not None and not _has_flow_nodes(process)

    def _pools(self, participants: list[tuple[str, str, str | None]], read: set[str]
               ) -> list[Pool]:
        """The collaboration's pools (`read`: the processes read), each whose processRef
        names a process the file does not define noted: a black box, not a process."""
        assert self.model is not None
        pools = [Pool(pid, name, ref, ref in read, self._empty(ref),
                      ref is not None and ref not in self.source.processes)
                 for pid, name, ref in participants]
        for pool in pools:
            if pool.missing:
                self.model.notes.append(
                    f"pool '{pool.name or pool.id}' names process '{pool.process}', which the "
                    "file does not define: read as a black box (nothing of it is checked)")
        return pools

    # --- a collaboration read as one process -------------------------------------------------
    def _candidates(self) -> list[str]:
        """The processes that may be the one checked: those with flow elements that no call
        activity of the file calls."""
        src = self.source
        called: set[str] = set()
        for element in src.root.iter("{" + BPMN_NS + "}callActivity"):
            callee = _called_element(element)
            if callee:
                called.add(callee)
        return [pid for pid in src.processes
                if pid not in called and _has_flow_nodes(src.processes[pid])]

    def _process_of(self) -> dict[str, str]:
        """Element id -> the id of the process (of this file) it is written in."""
        if self._element_process is None:
            self._element_process = {}
            for pid, process in self.source.processes.items():
                for element in process.iter():
                    if isinstance(element.tag, str):
                        ident = (element.get("id") or "").strip()
                        if ident:
                            self._element_process.setdefault(ident, pid)
        return self._element_process

    def _joined_pools(self, participants: list[tuple[str, str, str | None]],
                      flows_read: list[etree._Element]) -> list[tuple[str, str, str]]:
        """The pools (participant id, name, process id) to read as one process: where every
        process that may be checked is a pool's, there are two or more, and message flows
        between their elements join them all (a refund case passed from one department to
        the next). Empty otherwise (one process, or pools nothing joins: one is chosen)."""
        candidates = self._candidates()
        pools = [(pid, name, ref) for pid, name, ref in participants
                 if ref is not None and ref in candidates]
        refs = [ref for _, _, ref in pools]
        if len(pools) < 2 or len(set(refs)) != len(refs) or set(candidates) - set(refs):
            return []
        by_participant = {pid: ref for pid, _, ref in pools}
        process_of = self._process_of()
        links: dict[str, set[str]] = {ref: set() for ref in refs}
        for flow in flows_read:
            ends = []
            for attribute in ("sourceRef", "targetRef"):
                ref = _local_ref(flow, attribute, _target_namespace(self.source.root)) or ""
                ends.append(by_participant.get(ref) or process_of.get(ref))
            a, b = ends
            if a in links and b in links and a != b:
                links[a].add(b)
                links[b].add(a)
        reached = {refs[0]}
        stack = [refs[0]]
        while stack:
            for other in links[stack.pop()] - reached:
                reached.add(other)
                stack.append(other)
        return [(pid, name, ref) for pid, name, ref in pools] if reached == set(refs) else []

    def _read_joined(self, collaborations: list[str],
                     participants: list[tuple[str, str, str | None]],
                     joined: list[tuple[str, str, str]], flows_read: list[etree._Element]
                     ) -> BpmnModel:
        """Read the pools of a collaboration that message flows join into one process: each
        pool's process in one scope (the collaboration's), its lanes kept (a pool without
        lanes gives no role, as read alone), and the message flows between their nodes as the order
        they set (`MessageFlow`; `conformance.petri` converts them)."""
        src = self.source
        scope = next((c for c in collaborations if c), "collaboration")
        for local, child in _bpmn_children(src.root):
            if local == "collaboration" and (child.get("id") or "collaboration") == scope:
                self._element_line = source_line(child) or 0
        names = [name or ref for _, name, ref in joined]
        model = BpmnModel(path=src.path, process_id=scope, process_name=" + ".join(names))
        self.model = model
        model.located[scope] = ("", None, self._element_line or None)
        refs = {ref for _, _, ref in joined}
        model.pools = self._pools(participants, refs)
        self._read_shapes({*refs, *collaborations})
        for pid, _, ref in joined:
            known = set(model.order)
            sets_before = set(self._lane_set_names)
            self._read_container(src.processes[ref], scope, "", stack=(ref,), depth=0)
            mine = [node_id for node_id in model.order if node_id not in known]
            for node_id in mine:
                model.pool_of[node_id] = pid
            for lane_set in set(self._lane_set_names) - sets_before:
                self._lane_set_pool[lane_set] = ref
            # (A pool without lanes gives its tasks no role, as read alone: its name, such as
            # 'Customer Support', is a department, not the role a log records.)
        self._add_link_flows()
        self._check_flows()
        self._read_message_flows(participants, flows_read)
        self._cancelling_pools(scope)
        self._assign_lanes()
        model.notes.insert(0, (
            f"the collaboration's {len(joined)} pools (" + ", ".join(
                f"'{n}'" for n in names) + f") are joined by {len(model.message_flows)} "
            "message flow(s) between their elements and are read as one process: each pool "
            "runs its part of the case, a pool started by a message (or a node waiting for "
            "one) only once the message is sent" + ONE_POOL_HINT))
        return model

    def _cancelling_pools(self, scope: str) -> None:
        """Refuse what cancels a pool's whole process (a terminate, error or cancel end event
        at its top level, an interrupting event sub-process there): read as one process, it
        would cancel every pool's part of the case, where BPMN cancels only its own pool."""
        model = self.model
        assert model is not None
        why = (", which in BPMN ends only its own pool's process; in the pools read as one "
               "process it would end every pool's part of the case, so it is not converted"
               + ONE_POOL_HINT)
        for event in model.events.values():
            if event.scope == scope and event.position == "end" \
                    and event.trigger in ("terminate", "error", "cancel"):
                self._refuse(event.id, "endEvent", f"a {event.trigger} end event at the top "
                             f"of pool '{self._pool_name(event.id)}'{why}")
        for sub in model.subprocesses.values():
            if sub.scope != scope or sub.kind != "event sub-process":
                continue
            starts = [e for e in model.events.values()
                      if e.scope == sub.id and e.position == "start"]
            if any(e.interrupting for e in starts):
                self._refuse(sub.id, "subProcess", "an interrupting event sub-process at the "
                             f"top of pool '{self._pool_name(sub.id)}' cancels its process"
                             + why.removeprefix(", which in BPMN ends only its own pool's "
                                                "process"))

    def _pool_name(self, node_id: str) -> str:
        assert self.model is not None
        pool = self.model.pool_of.get(node_id, "")
        return next((p.name or p.id for p in self.model.pools if p.id == pool), pool)

    def _read_message_flows(self, participants: list[tuple[str, str, str | None]],
                            flows_read: list[etree._Element]) -> None:
        """The message flows of a joined collaboration, each from a node of one pool to a node
        of another; one touching a pool without a process (a black box, such as the customer)
        is noted and left out; what the conversion cannot read faithfully is refused."""
        model = self.model
        assert model is not None
        pool_names = {pid: name or pid for pid, name, _ in participants}
        # (An expanded empty pool, as bpmn.io and Camunda Modeler draw the customer: its
        # processRef names a <process> without flow elements, a black box too.)
        black_boxes = {pid for pid, _, ref in participants
                       if ref is None or ref not in self.source.processes
                       or not _has_flow_nodes(self.source.processes[ref])}
        for flow in flows_read:
            raw_id = (flow.get("id") or "").strip()
            line = source_line(flow)
            where = f" (line {line})" if line else ""
            flow_id = raw_id or f"<messageFlow>{where}"
            name = clean_name(flow.get("name"))
            model.located.setdefault(flow_id, (name, None, line))
            # (an xsd:QName, as a processRef: `tns:a` names 'a' where tns is the file's
            # targetNamespace)
            source = _local_ref(flow, "sourceRef", _target_namespace(self.source.root)) or ""
            target = _local_ref(flow, "targetRef", _target_namespace(self.source.root)) or ""
            label = f"message flow '{name or flow_id}'"
            box = [e for e in (source, target) if e in black_boxes]
            if box:
                refs = {pid: ref for pid, _, ref in participants}
                model.notes.append(
                    f"{label}{where} to or from pool '{pool_names[box[0]]}', "
                    + ("which has no process" if refs[box[0]] is None
                       else f"whose process '{refs[box[0]]}' the file does not define"
                       if refs[box[0]] not in self.source.processes
                       else "whose process is empty")
                    + " (a black box), is left out: nothing of that pool is in the log's order")
                continue
            ends = [model.node(e) for e in (source, target)]
            refusal = None
            if not source or not target:
                refusal = "names no source or no target, so what it connects is unknown"
            elif source in pool_names or target in pool_names:
                pool = pool_names.get(source) or pool_names[target]
                refusal = (f"ends on the edge of pool '{pool}', not on one of its tasks or "
                           "events, so which step sends or receives the message is unknown; "
                           "draw it to the task or event")
            elif ends[0] is None or ends[1] is None:
                missing = source if ends[0] is None else target
                refusal = (f"refers to '{missing}', which is not a flow node of the pools' "
                           "processes")
            elif self._information(ends[0], ends[1]):
                model.notes.append(
                    f"{label}{where} into {_tag_of(ends[1])} '{ends[1].name or ends[1].id}' is "
                    "read as information: only a receive task, a message start or catch event "
                    "waits for a message, so it sets no order")
                continue
            else:
                refusal = self._message_ends(ends[0], ends[1])
            if refusal is not None:
                model.refused.append(BpmnRefused(
                    flow_id, "messageFlow", f"{refusal}{where}{ONE_POOL_HINT}",
                    name=name or None, line=line))
                continue
            model.message_flows.append(MessageFlow(flow_id, source, target, name, line))

    def _information(self, source: Task | Event | Gateway | SubProcess,
                     target: Task | Event | Gateway | SubProcess) -> bool:
        """A message flow between two pools into a task that is no receive task (a user,
        service, manual or plain task): BPMN's task does not wait for it (a user task answered
        by the engine, a note passed on), so it is information, not an order. Not so a message
        into a pool's entry (a pool drawn without a start event, the message into its node
        without incoming sequence flow): it is that pool's message start, the pool runs only
        once it is sent (read as information, the pool would run in every case: a rejected
        refund paid)."""
        model = self.model
        assert model is not None
        pool = model.pool_of.get(target.id)
        if not (isinstance(target, Task) and target.kind != "receiveTask"
                and model.pool_of.get(source.id) != pool):
            return False
        entry = (target.scope == model.process_id and not model.incoming(target.id)
                 and not any(e.position == "start" and e.scope == model.process_id
                             and model.pool_of.get(e.id) == pool
                             for e in model.events.values()))
        return not entry

    def _message_ends(self, source: Task | Event | Gateway | SubProcess,
                      target: Task | Event | Gateway | SubProcess) -> str | None:
        """Why a message flow from `source` to `target` cannot be converted, or None."""
        model = self.model
        assert model is not None
        if model.pool_of.get(source.id) == model.pool_of.get(target.id):
            return ("connects two nodes of one pool; within a pool the order is drawn with "
                    "sequence flow")
        for end, role in ((source, "sends"), (target, "receives")):
            if end.scope != model.process_id:
                return (f"{role} at '{end.name or end.id}', inside a sub-process: a message "
                        "flow is converted only between nodes at a pool's top level")
            if isinstance(end, Task) and (end.loop is not None or model.boundary_events(end.id)):
                return (f"{role} at task '{end.name or end.id}', which "
                        + ("repeats" if end.loop is not None else "has boundary events")
                        + ": which of its runs or endings the message belongs to is unknown")
        if isinstance(source, Event) and source.position in ("start", "catch", "boundary"):
            return (f"starts at {source.position} event '{source.name or source.id}', which "
                    "sends nothing")
        if isinstance(source, Event) and source.position == "end" \
                and source.trigger in ("terminate", "error", "cancel", "escalation"):
            return (f"starts at {source.trigger} end event '{source.name or source.id}', which "
                    "also cancels its scope; that is not converted with a message")
        if isinstance(target, Event) and target.position in ("end", "throw", "boundary"):
            return (f"ends at {target.position} event '{target.name or target.id}'"
                    + (": a boundary event caught from another pool interrupts at any moment, "
                       "which is not converted" if target.position == "boundary"
                       else ", which receives nothing"))
        for end, role in ((source, "sends"), (target, "receives")):
            if isinstance(end, (Gateway, SubProcess)):
                return (f"{role} at {_tag_of(end)} '{end.name or end.id}': only tasks and "
                        "events send or receive messages in the conversion")
        return None

    def _choose(
        self, participants: list[tuple[str, str, str | None]], wanted: str | None
    ) -> tuple[str, list[str]]:
        src = self.source
        if wanted is not None:
            if wanted in src.processes:
                return wanted, []
            for pid, name, ref in participants:
                if wanted in (pid, name) and ref in src.processes:
                    return ref, []
            pools = {ref: name for _, name, ref in participants if ref and name}
            raise InputError(
                f"no process or pool {wanted!r} in this file; processes: "
                + ", ".join(pid + (f" (pool '{pools[pid]}')" if pid in pools else "")
                            for pid in sorted(src.processes)),
                file=src.path,
            )
        # A process drawn outside any pool is as much a candidate as a pool's process; one that
        # another process calls is a callee, not a candidate.
        candidates = self._candidates()
        if not candidates:
            candidates = [pid for pid in src.processes if _has_flow_nodes(src.processes[pid])]
        if not candidates:
            raise InputError("not a usable BPMN model: no process has any flow element",
                             file=src.path)
        if len(candidates) == 1:
            return candidates[0], []
        self._chosen_among = list(candidates)
        counts = {pid: _count_tasks(src.processes[pid]) for pid in candidates}
        best = max(candidates, key=lambda pid: counts[pid])  # first of equals: document order
        names = {ref: name for _, name, ref in participants if ref}
        described = ", ".join(
            f"'{pid}'" + (f" (pool '{names[pid]}')" if names.get(pid) else "")
            + f": {counts[pid]} task(s)" for pid in candidates
        )
        pool = f" (pool '{names[best]}')" if names.get(best) else ""
        return best, [
            f"the file has {len(candidates)} processes with flow elements ({described}); read "
            f"'{best}'{pool}, the one with the most tasks" + CHOOSE_HINT
        ]

    # --- diagram interchange: only used to place nested nodes in lanes -----------------------
    def _read_shapes(self, planes: set[str]) -> None:
        """Shape bounds of the diagram of the process or its collaboration (a collapsed
        sub-process drawn on its own plane has coordinates of its own, so other planes are
        skipped)."""
        shapes: list[etree._Element] = []
        for plane in self.source.root.iter("{" + BPMNDI_NS + "}BPMNPlane"):
            if plane.get("bpmnElement") in planes:
                shapes.extend(plane.iter("{" + BPMNDI_NS + "}BPMNShape"))
        for shape in shapes:
            ref = shape.get("bpmnElement")
            bounds = shape.find("{" + DC_NS + "}Bounds")
            if not ref or bounds is None:
                continue
            try:
                box = (float(bounds.get("x", "")), float(bounds.get("y", "")),
                       float(bounds.get("width", "")), float(bounds.get("height", "")))
            except ValueError:
                continue
            self._shape_bounds.setdefault(ref, box)

    # --- reading a process or sub-process ---------------------------------------------------
    def _refuse(self, element_id: str, element_type: str, reason: str) -> None:
        assert self.model is not None
        self.model.refused.append(self.model.refusal(element_id, element_type, reason))

    def _note(self, text: str) -> None:
        assert self.model is not None
        self.model.notes.append(text)

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _flag(self, element: etree._Element, attribute: str, default: bool, node_id: str,
              local: str) -> bool:
        """A boolean attribute of `element` (node `node_id`, a `local`); a value that is no
        xsd:boolean ("yes") is refused, never read as false: `cancelActivity="yes"` would
        turn an interrupting boundary event into a non-interrupting one."""
        raw = element.get(attribute)
        value = _boolean(raw, default)
        if value is None:
            line = source_line(element)
            where = f" (line {line})" if line else ""
            self._refuse(node_id, local, f"{attribute}=\"{_shown(raw)}\"{where} is not a boolean "
                         "(true, false, 1 or 0), so what it means is unknown")
            return default
        return value

    def _read_container(
        self, container: etree._Element, scope: str, prefix: str, *, stack: tuple[str, ...],
        depth: int
    ) -> None:
        """Read the flow elements of a process or sub-process into scope `scope`, `depth`
        scopes below the process."""
        model = self.model
        assert model is not None
        compensation_handlers: set[str] = set()
        targets: set[str] = set()  # (of the container's sequence flows)
        for local, child in _bpmn_children(container):
            if local in TASK_TAGS | CONTAINER_TAGS and _flag(child, "isForCompensation", False):
                compensation_handlers.add((child.get("id") or "").strip())
            elif local == "sequenceFlow":
                targets.add((child.get("targetRef") or "").strip())
        for local, child in _bpmn_children(container):
            raw_id = (child.get("id") or "").strip()  # (xsd:ID: surrounding blanks are no part)
            node_id = prefix + raw_id
            name = clean_name(child.get("name"))
            line = source_line(child)
            where = f" (line {line})" if line else ""
            if raw_id:
                model.located.setdefault(node_id, (
                    name, None if self.source.path == model.path else self.source.path.name,
                    line))
            if local == "laneSet":
                self._read_lanes(child, scope, None, prefix)
                continue
            if local in _NOT_CONTROL_FLOW:
                continue
            if not raw_id:
                self._refuse(f"<{local}>{where}", local, "element without an id")
                continue
            if node_id in model.order:  # (an xsd:ID: the later element would replace it)
                self._refuse(node_id, local, f"its id is given to another element as well"
                             f"{where}; BPMN ids are unique")
                continue
            if local in TASK_TAGS | CONTAINER_TAGS:
                self._flag(child, "isForCompensation", False, node_id, local)
                if raw_id not in compensation_handlers:  # (left out below: not judged by)
                    self._quantities(child, node_id, local, where)
            if local == "sequenceFlow":
                absent = [a for a in ("sourceRef", "targetRef") if not (child.get(a) or "").strip()]
                if absent:
                    self._refuse(node_id, local, f"names no {' and no '.join(absent)}{where}, "
                                 "so what it connects is unknown")
                    model.order[node_id] = self._next()
                    source_ref = (child.get("sourceRef") or "").strip()
                    self._refused_flows[node_id] = prefix + source_ref if source_ref else None
                    continue
                condition = _child(child, "conditionExpression")
                model.flows[node_id] = Flow(
                    id=node_id, source=prefix + (child.get("sourceRef") or "").strip(),
                    target=prefix + (child.get("targetRef") or "").strip(), scope=scope, name=name,
                    condition=(_text(condition) or "(condition)") if condition is not None
                    else None, line=line or None,
                )
                model.order[node_id] = self._next()
                continue
            if raw_id in compensation_handlers:
                self._note(f"{local} '{node_id}' is a compensation handler: it runs only when "
                           "compensation is thrown, which is refused, so it is left out")
                continue
            model.order[node_id] = self._next()
            if local in TASK_TAGS:
                if not name:
                    self._note(f"{local} '{node_id}' has no name: its id is used as its label")
                model.tasks[node_id] = Task(
                    id=node_id, name=name or node_id, kind=local, scope=scope,
                    loop=self._loop(child, node_id, local),
                    default_flow=self._default(child, prefix))
            elif local in GATEWAY_KINDS:
                kind = GATEWAY_KINDS[local]
                if kind == "complex":
                    self._refuse(node_id, local, "a complex gateway's behaviour is given by "
                                 "free-form conditions; it cannot be converted faithfully")
                parallel_events = False
                if kind == "event-based":
                    # (BPMN 2.0, 10.6.6: a parallel one starts the process at the first event
                    # and takes every other into the same instance; read as a choice, a case
                    # running all the branches would be judged unfit.)
                    event_type = (child.get("eventGatewayType") or "Exclusive").strip()
                    parallel_events = event_type == "Parallel"
                    if event_type not in ("Exclusive", "Parallel"):
                        self._refuse(node_id, local, f'eventGatewayType="{_shown(event_type)}"'
                                     f"{where} is neither Exclusive nor Parallel, so whether "
                                     "one or every event branch runs is unknown")
                    elif parallel_events and raw_id in targets \
                            and not self._flag(child, "instantiate", False, node_id, local):
                        # (BPMN 2.0, 10.6.6: the Parallel type applies only to a gateway that
                        # instantiates the process; mid-process, when the other events are
                        # awaited, and for how long, BPMN does not say.)
                        self._refuse(node_id, local, f'eventGatewayType="Parallel"{where} on '
                                     "a gateway that does not start the process (it has "
                                     'incoming sequence flow and no instantiate="true"): BPMN '
                                     "defines a parallel event-based gateway only as one that "
                                     "instantiates the process, so whether one or every event "
                                     "branch runs here is unknown")
                    elif parallel_events:
                        self._note(f"event-based gateway '{name or node_id}' is parallel "
                                   "(eventGatewayType=\"Parallel\"): every event branch "
                                   "after it runs, as after a parallel split")
                model.gateways[node_id] = Gateway(
                    id=node_id, name=name, kind=kind, scope=scope,
                    default_flow=self._default(child, prefix), parallel_events=parallel_events)
            elif local in EVENT_POSITIONS:
                self._read_event(child, local, node_id, name, scope, prefix)
            elif local in CONTAINER_TAGS:
                self._read_activity_container(child, local, node_id, name, scope, prefix,
                                              stack=stack, depth=depth)
            else:
                self._refuse(node_id, local, f"unsupported BPMN element <{local}>{where}")

    def _quantities(self, element: etree._Element, node_id: str, local: str, where: str
                    ) -> None:
        """Refuse an activity's startQuantity or completionQuantity other than 1 (BPMN 2.0,
        10.3.1): the tokens it waits for or puts out would need weighted arcs. Passed over,
        a task completing with 2 tokens (what follows runs twice) would be judged as one
        with 1."""
        for attribute, does in (
                ("startQuantity", "waits for {n} tokens on its incoming flows before it "
                                  "starts (it joins them)"),
                ("completionQuantity", "puts {n} tokens on its outgoing flows when it "
                                       "completes (what follows runs {n} times)")):
            raw = element.get(attribute)
            if raw is None:
                continue
            text = raw.strip()
            if not (_CARDINALITY.fullmatch(text) and int(text) >= 1):
                self._refuse(node_id, local, f'{attribute}="{_shown(raw)}"{where} is not a '
                             "whole number from 1, so how many tokens the activity takes is "
                             "unknown")
            elif int(text) != 1:
                self._refuse(node_id, local, f'{attribute}="{text}"{where}: the activity '
                             + does.format(n=int(text)) + "; a workflow net (without "
                             "weighted arcs) cannot say it")

    def _default(self, element: etree._Element, prefix: str) -> str | None:
        default = (element.get("default") or "").strip()
        return prefix + default if default else None

    def _loop(self, element: etree._Element, node_id: str, local: str) -> Loop | None:
        standard = _child(element, "standardLoopCharacteristics")
        if standard is not None:
            raw_maximum = standard.get("loopMaximum")
            maximum: int | None = None
            if raw_maximum is not None:
                if _CARDINALITY.fullmatch(raw_maximum.strip()):
                    maximum = int(raw_maximum.strip())
                else:
                    self._refuse(node_id, local, f'loopMaximum="{_shown(raw_maximum)}" is not a '
                                 "whole number of iterations, so the loop's cap is unknown")
            return Loop("standard", sequential=True,
                        test_before=self._flag(standard, "testBefore", False, node_id, local),
                        maximum=maximum)
        multi = _child(element, "multiInstanceLoopCharacteristics")
        if multi is not None:
            cardinality: int | None = None
            raw = _text(_child(multi, "loopCardinality"))
            # (ASCII digits only, and few: "²" is a digit to str.isdigit that int() rejects,
            # and int() refuses a literal of thousands of digits; anything else is an
            # expression whose value is unknown here.)
            if raw is not None and _CARDINALITY.fullmatch(raw):
                cardinality = int(raw)
            return Loop("multi-instance",
                        sequential=self._flag(multi, "isSequential", False, node_id, local),
                        cardinality=cardinality,
                        completion_condition=_child(multi, "completionCondition") is not None)
        return None

    def _trigger(self, element: etree._Element) -> tuple[str, str | None]:
        triggers: list[tuple[str, str | None]] = []
        for local, child in _bpmn_children(element):
            definition = child
            if local == "eventDefinitionRef":
                target = self.source.by_id.get((child.text or "").strip())
                if target is None:
                    continue
                definition, local = target, local_name(target.tag)
            if not local.endswith("EventDefinition"):
                continue
            kind = local[: -len("EventDefinition")]
            reference = None
            for attribute in ("errorRef", "escalationRef", "signalRef", "messageRef"):
                reference = reference or definition.get(attribute)
            if kind == "link":
                reference = clean_name(definition.get("name")) or None
            triggers.append((kind, reference))
        if not triggers:
            return "none", None
        if len(triggers) > 1:
            return "multiple", None
        return triggers[0]

    def _read_event(self, element: etree._Element, local: str, node_id: str, name: str,
                    scope: str, prefix: str) -> None:
        model = self.model
        assert model is not None
        position = EVENT_POSITIONS[local]
        trigger, reference = self._trigger(element)
        if trigger == "link" and reference is None and name:
            # (Older bpmn.io and Camunda Modeler files name a link on the event only: its
            # linkEventDefinition has no name of its own.)
            reference = name
        attached = (element.get("attachedToRef") or "").strip()
        interrupting = True
        if position == "boundary":
            interrupting = self._flag(element, "cancelActivity", True, node_id, local)
        elif position == "start":
            interrupting = self._flag(element, "isInterrupting", True, node_id, local)
        if trigger == "compensate" and position == "boundary":
            self._note(f"compensation boundary event '{node_id}' is left out: compensation "
                       "handlers run only when compensation is thrown")
            return
        if trigger == "compensate" and position in ("throw", "end"):
            self._refuse(node_id, local, "throwing compensation undoes completed activities in "
                         "reverse order; a workflow net cannot represent it")
        model.events[node_id] = Event(
            id=node_id, name=name, position=position, trigger=trigger, scope=scope,
            attached_to=prefix + attached if attached else None, interrupting=interrupting,
            reference=reference)

    def _nested(self, element: etree._Element, local: str, node_id: str, depth: int) -> int:
        """The depth of the content of `element`, a scope in a scope at `depth`; refused
        (InputError) beyond MAX_NESTING."""
        if depth + 1 > MAX_NESTING:
            raise InputError(f"sub-processes nested more than {MAX_NESTING} deep: <{local}> "
                             f"'{node_id}' is at depth {depth + 1}",
                             file=self.source.path, line=source_line(element))
        return depth + 1

    def _read_activity_container(
        self, element: etree._Element, local: str, node_id: str, name: str, scope: str,
        prefix: str, *, stack: tuple[str, ...], depth: int
    ) -> None:
        model = self.model
        assert model is not None
        loop = self._loop(element, node_id, local)
        default = self._default(element, prefix)
        if local == "adHocSubProcess":
            self._refuse(node_id, local, "an ad-hoc sub-process runs its activities in any "
                         "order and number; a workflow net cannot state that faithfully")
            model.subprocesses[node_id] = SubProcess(node_id, name, "sub-process", scope, loop,
                                                     default_flow=default)
            return
        if local == "callActivity":
            self._read_call(element, node_id, name, scope, loop, default, stack=stack,
                            depth=depth)
            return
        triggered = self._flag(element, "triggeredByEvent", False, node_id, local)
        kind: ScopeKind = ("event sub-process" if triggered
                           else "transaction" if local == "transaction" else "sub-process")
        has_content = any(sub_local not in _NOT_CONTROL_FLOW
                          for sub_local, _ in _bpmn_children(element))
        if not has_content and not triggered:
            # A collapsed sub-process whose content is not in the file: one step of the log.
            self._note(f"{local} '{node_id}' ('{name or node_id}') has no content in this file: "
                       "it is read as one activity")
            model.tasks[node_id] = Task(id=node_id, name=name or node_id, kind=local, scope=scope,
                                        loop=loop, default_flow=default)
            return
        model.subprocesses[node_id] = SubProcess(node_id, name, kind, scope, loop,
                                                 default_flow=default)
        self._read_container(element, node_id, prefix, stack=stack,
                             depth=self._nested(element, local, node_id, depth))

    def _read_call(self, element: etree._Element, node_id: str, name: str, scope: str,
                   loop: Loop | None, default: str | None, *, stack: tuple[str, ...],
                   depth: int) -> None:
        model = self.model
        assert model is not None
        called = _called_element(element)
        label = name or node_id
        if not called:
            self._refuse(node_id, "callActivity", f"call activity '{label}' names no called "
                         "element (calledElement), so what it runs is unknown")
            model.subprocesses[node_id] = SubProcess(node_id, name, "call", scope, loop,
                                                     default_flow=default)
            return
        if called in self.source.global_tasks:
            task_name = name or clean_name(self.source.global_tasks[called].get("name")) or called
            model.tasks[node_id] = Task(id=node_id, name=task_name, kind="callActivity",
                                        scope=scope, loop=loop, default_flow=default)
            return
        found = self._find_process(called)
        if found is None:
            unreadable = "".join(f"; {name} beside it could not be read ({why})"
                                 for name, why in self._unreadable)
            self._refuse(node_id, "callActivity",
                         f"call activity '{label}' calls '{called}', which is neither a process "
                         f"of this file nor of a .bpmn file beside it{unreadable}")
            model.subprocesses[node_id] = SubProcess(node_id, name, "call", scope, loop,
                                                     called_element=called, default_flow=default)
            return
        callee_source, callee = found
        inner = self._nested(element, "callActivity", node_id, depth)
        if called in stack:
            self._refuse(node_id, "callActivity", f"call activity '{label}' calls '{called}' "
                         "recursively; a workflow net cannot unfold unbounded recursion")
            model.subprocesses[node_id] = SubProcess(node_id, name, "call", scope, loop,
                                                     called_element=called, default_flow=default)
            return
        callee_file = None if callee_source is self.source else callee_source.path.name
        if callee_file is not None:
            self._note(f"call activity '{label}' runs process '{called}' from {callee_file}")
            others = [s.path.name for s, _ in (self._siblings or {}).get(called, [])[1:]]
            if others:
                self._note(f"process '{called}' is defined in {callee_file} and in "
                           + " and ".join(others) + f" beside the model: call activity "
                           f"'{label}' runs the one of {callee_file}, the first by file name")
        model.subprocesses[node_id] = SubProcess(node_id, name, "call", scope, loop,
                                                 called_element=called, callee_file=callee_file,
                                                 default_flow=default)
        outer = self.source
        self.source = callee_source
        try:
            self._read_container(callee, node_id, node_id + "/", stack=(*stack, called),
                                 depth=inner)
        finally:
            self.source = outer
        if not any(n.scope == node_id for n in model.nodes_in(node_id)):
            self._refuse(node_id, "callActivity",
                         f"call activity '{label}' calls '{called}', which has no flow elements")

    def _find_process(self, process_id: str) -> tuple[_Source, etree._Element] | None:
        if process_id in self.source.processes:
            return self.source, self.source.processes[process_id]
        if self._siblings is None:
            self._siblings = {}
            home = self.source.path.resolve().parent
            me = self.source.path.resolve()
            # (The extension without case: "Approval.BPMN" is a BPMN file too.)
            files = sorted(p for p in home.iterdir() if p.suffix.lower() == ".bpmn"
                           and p.is_file() and p.resolve() != me)[:_SIBLING_FILE_LIMIT]
            for sibling in files:
                try:
                    loaded = _Source.load(sibling)
                except InputError as error:
                    # Not this model's problem unless its callee is nowhere else: then the
                    # refusal names it.
                    self._unreadable.append((sibling.name, error.message))
                    continue
                for pid, element in loaded.processes.items():
                    self._siblings.setdefault(pid, []).append((loaded, element))
        found = self._siblings.get(process_id)
        return found[0] if found else None

    # --- lanes --------------------------------------------------------------------------------
    def _read_lanes(self, lane_set: etree._Element, process: str, parent: str | None,
                    prefix: str, outer_set: str | None = None) -> None:
        model = self.model
        assert model is not None
        if outer_set is None:
            raw = lane_set.get("id")
            outer_set = prefix + (raw or f"laneSet-{len(self._lane_set_names) + 1}")
            self._lane_set_names[outer_set] = clean_name(lane_set.get("name")) or outer_set
            self._lane_set_scope[outer_set] = process
        for local, lane in _bpmn_children(lane_set):
            if local != "lane":
                continue
            lane_id = prefix + (lane.get("id") or f"lane-{len(model.lanes) + 1}")
            name = clean_name(lane.get("name"))
            refs = tuple(prefix + (ref.text or "").strip() for ref in lane
                         if isinstance(ref.tag, str) and local_name(ref.tag) == "flowNodeRef")
            role_lane: str | None = lane_id
            role: str | None = role_key(name)
            if not name:
                # An unnamed lane (bpmn.io's "divide lane") is no role of its own, not one
                # called after its id: the nearest named lane around it gives the role.
                outer = model.lanes[parent] if parent is not None else None
                role_lane, role = (outer.role_lane, outer.role) if outer else (None, None)
                around = model.lanes[role_lane].name if role_lane is not None else None
                self._note(f"lane '{lane_id}' has no name: " + (
                    f"its nodes take the role of the lane '{around}' it lies in"
                    if around is not None else "it lies in no named lane, so it gives its "
                    "nodes no role"))
            model.lanes[lane_id] = Lane(lane_id, name, role, process, parent, refs, role_lane)
            self._note_unknown_refs(lane, lane_id, name)
            self._lane_set_of[lane_id] = outer_set
            for ref in refs:
                self._lane_of_node.setdefault(ref, []).append(lane_id)
            child_set = _child(lane, "childLaneSet")
            if child_set is not None:
                self._read_lanes(child_set, process, lane_id, prefix, outer_set)

    def _note_unknown_refs(self, lane: etree._Element, lane_id: str, name: str) -> None:
        """A note per `flowNodeRef` of `lane` naming no element of its file (a node deleted,
        an id mistyped): before, passed over unsaid (a mistyped node is then laneless, and
        told so, but not why)."""
        document = lane.getroottree()
        for ref in lane:
            if not isinstance(ref.tag, str) or local_name(ref.tag) != "flowNodeRef":
                continue
            ident = (ref.text or "").strip()
            if not ident or document.xpath("//*[@id=$ident]", ident=ident):
                continue
            line = source_line(ref)
            at = f" (line {line})" if line is not None else ""
            called = f" ('{name}')" if name else ""
            self._note(f"lane '{lane_id}'{called} lists '{ident}'{at}, which is no element "
                       "of the file: no node takes this lane from it")

    def _lane_depth(self, lane_id: str) -> int:
        assert self.model is not None
        depth = 0
        lane = self.model.lanes.get(lane_id)
        while lane is not None and lane.parent is not None:
            depth += 1
            lane = self.model.lanes.get(lane.parent)
        return depth

    def _lane_path(self, lane_id: str) -> tuple[str, ...]:
        assert self.model is not None
        path: list[str] = []
        lane = self.model.lanes.get(lane_id)
        while lane is not None:
            path.append(lane.id)
            lane = self.model.lanes.get(lane.parent) if lane.parent else None
        return tuple(reversed(path))

    def _lanes_under_shape(self, node_id: str) -> list[str]:
        """Per lane set, the innermost lane whose diagram box holds the centre of the node's
        shape."""
        box = self._shape_bounds.get(node_id)
        if box is None:
            return []
        assert self.model is not None
        # (Only the lane sets of the node's own scope and those around it divide it.)
        scopes: set[str] = set()
        node = self.model.node(node_id)
        scope = node.scope if node is not None else None
        while scope is not None and scope not in scopes:
            scopes.add(scope)
            around = self.model.subprocesses.get(scope)
            scope = around.scope if around is not None else None
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        best: dict[str, str] = {}
        for lane in self.model.lanes.values():
            lane_box = self._shape_bounds.get(lane.id)
            if lane_box is None:
                continue
            x, y, w, h = lane_box
            lane_set = self._lane_set_of[lane.id]
            if self._lane_set_scope[lane_set] not in scopes:
                continue
            found = best.get(lane_set)
            if x <= cx <= x + w and y <= cy <= y + h and (
                    found is None or self._lane_depth(lane.id) > self._lane_depth(found)):
                best[lane_set] = lane.id
        return list(best.values())

    def _assign_lanes(self) -> None:
        """Give every node its lanes: the innermost lanes it is listed in (of every lane set:
        any of them may perform it), else those under its shape in the diagram, else the
        lanes of the sub-process it is nested in."""
        model = self.model
        assert model is not None
        if not model.lanes:
            return
        position = {lane_id: k for k, lane_id in enumerate(model.lanes)}
        resolved: dict[str, tuple[str, ...]] = {}
        from_diagram = 0
        shared: list[str] = []

        def innermost(listed: list[str]) -> list[str]:
            """The listed lanes no other listed lane lies in (a node listed in a lane and in
            its child lane is in the child)."""
            around = {outer for lane in listed for outer in self._lane_path(lane)[:-1]}
            return [lane for lane in dict.fromkeys(listed) if lane not in around]

        def lanes_of(node_id: str) -> tuple[str, ...]:
            nonlocal from_diagram
            if node_id in resolved:
                return resolved[node_id]
            lanes = innermost(self._lane_of_node.get(node_id, []))
            if lanes:
                per_set: dict[str, list[str]] = {}
                for lane in lanes:
                    per_set.setdefault(self._lane_set_of[lane], []).append(lane)
                for lane_set, held in per_set.items():
                    if len(held) > 1:
                        names = " and ".join(f"'{model.lanes[h].name or h}'" for h in held)
                        node = model.node(node_id)
                        label = f" ('{node.name}')" if node is not None and node.name else ""
                        shared.append(f"'{node_id}'{label} is listed in lanes {names} of lane "
                                      f"set '{self._lane_set_names[lane_set]}'")
            else:
                node = model.node(node_id)
                scope = node.scope if node is not None else None
                under = self._lanes_under_shape(node_id)
                if under:
                    lanes = under
                    from_diagram += 1
                elif scope is not None and scope in model.subprocesses:
                    lanes = list(lanes_of(scope))
            found = tuple(sorted(lanes, key=position.__getitem__))
            resolved[node_id] = found
            return found

        def around(inner: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(outer for lane in inner for outer in self._lane_path(lane)))

        def roles(inner: tuple[str, ...]) -> tuple[str, ...]:
            named = (model.lanes[lane].role_lane for lane in inner)
            return tuple(dict.fromkeys(model.lanes[n].name for n in named if n is not None))

        for task_id, task in list(model.tasks.items()):
            inner = lanes_of(task_id)
            names = roles(inner)
            model.tasks[task_id] = replace(task, lanes=around(inner), innermost=inner,
                                           roles=names, role=names[0] if names else None)
        for event_id, event in list(model.events.items()):
            inner = lanes_of(event.attached_to or event_id)
            names = roles(inner)
            model.events[event_id] = replace(event, lanes=around(inner), innermost=inner,
                                             roles=names, role=names[0] if names else None)
        for gateway_id, gateway in list(model.gateways.items()):
            inner = lanes_of(gateway_id)
            model.gateways[gateway_id] = replace(gateway, lanes=around(inner), innermost=inner)
        for sub_id, sub in list(model.subprocesses.items()):
            inner = lanes_of(sub_id)
            names = roles(inner)
            model.subprocesses[sub_id] = replace(sub, lanes=around(inner), innermost=inner,
                                                 roles=names, role=names[0] if names else None)
        # (Lane sets of different scopes, e.g. a called process's own, divide other nodes.)
        per_scope: dict[str, list[str]] = {}
        for lane_set, scope in self._lane_set_scope.items():
            pool = self._lane_set_pool.get(lane_set)
            per_scope.setdefault(pool or scope, []).append(self._lane_set_names[lane_set])
        for scope, set_names in per_scope.items():
            if len(set_names) > 1:
                where = "the process" if scope == model.process_id else f"'{scope}'"
                model.notes.append(
                    f"{where} has {len(set_names)} lane sets (" + ", ".join(
                        f"'{name}'" for name in set_names) + "): a node's roles are its "
                    "innermost lanes in each, and any of them may perform it")
        for text in shared:
            model.notes.append(text + "; BPMN lanes divide a lane set's nodes among them, so "
                               "a node is in one: the roles of all its lanes are taken")
        laneless = [t for t in sorted(model.tasks.values(),
                                      key=lambda t: model.order.get(t.id, 0)) if not t.roles]
        if laneless:
            shown = ", ".join(f"'{t.id}' ('{t.name}')" for t in laneless[:5])
            more = f" and {len(laneless) - 5} more" if len(laneless) > 5 else ""
            model.notes.append(
                f"{len(laneless)} task(s) of a process with lanes lie in no named lane: "
                f"{shown}{more}; they have no role, so who performs them is not judged by "
                "the lanes")
        if from_diagram:
            model.notes.append(f"{from_diagram} node(s) are not listed in a lane (flowNodeRef): "
                               "their lane is the one their shape lies in")

    # --- flows --------------------------------------------------------------------------------
    def _add_link_flows(self) -> None:
        """A link throw event continues at the link catch event of the same name and scope."""
        model = self.model
        assert model is not None
        catches: dict[tuple[str, str], list[Event]] = {}
        for event in model.events.values():
            if event.trigger == "link" and event.position == "catch":
                catches.setdefault((event.scope, event.reference or ""), []).append(event)
        for event in list(model.events.values()):
            if event.trigger != "link" or event.position != "throw":
                continue
            key = (event.scope, event.reference or "")
            found = catches.get(key, [])
            link = f"link '{key[1]}'" if key[1] else "an unnamed link"
            if len(found) != 1:
                self._refuse(event.id, "intermediateThrowEvent",
                             f"{link} has {'no' if not found else len(found)} link catch "
                             "event(s) of that name in the same scope; exactly one is needed")
                continue
            catch = found[0]
            flow_id = f"link:{event.id}->{catch.id}"
            model.flows[flow_id] = Flow(flow_id, event.id, catch.id, event.scope, virtual=True)
        thrown = {flow.target for flow in model.flows.values()}
        for (_scope, name), found in catches.items():
            for catch in found:
                if catch.id not in thrown and len(found) == 1:
                    # (Without a start event it would start the scope, as a node without
                    # incoming flow does; with one it could never run.)
                    link = f"link '{name}'" if name else "an unnamed link"
                    self._refuse(catch.id, "intermediateCatchEvent", f"{link} has no link "
                                 "throw event of that name in the same scope, so nothing "
                                 "leads to it")

    def _check_flows(self) -> None:
        model = self.model
        assert model is not None
        for flow in list(model.flows.values()):
            source, target = model.node(flow.source), model.node(flow.target)
            where = f" (line {flow.line})" if flow.line else ""
            missing = [ref for ref, node in ((flow.source, source), (flow.target, target))
                       if node is None]
            if missing:
                handlers = [ref for ref in missing if self._known_elsewhere(ref)]
                if handlers:
                    # (BPMN forbids it: left out, the flow's source would end its branch
                    # there, or its target never run, without a word.)
                    self._refuse(flow.id, "sequenceFlow", "connects " + ", ".join(
                        f"'{h}'" for h in handlers) + ", a compensation handler or "
                        "compensation boundary event, which BPMN runs only when compensation "
                        f"is thrown, never by sequence flow{where}")
                    self._refused_flows[flow.id] = flow.source
                    del model.flows[flow.id]
                    continue
                self._refuse(flow.id, "sequenceFlow",
                             "refers to " + ", ".join(f"'{m}'" for m in missing)
                             + f"{where}, which is not a flow node of the process")
                self._refused_flows[flow.id] = flow.source
                del model.flows[flow.id]
                continue
            assert source is not None and target is not None
            pools = model.pool_of
            if pools and pools.get(source.id) != pools.get(target.id):
                self._refuse(flow.id, "sequenceFlow", "connects nodes of different pools"
                             f"{where}: BPMN joins pools only by message flow" + ONE_POOL_HINT)
                self._refused_flows[flow.id] = flow.source
                del model.flows[flow.id]
                continue
            if source.scope != flow.scope or target.scope != flow.scope:
                self._refuse(flow.id, "sequenceFlow", "connects nodes of different scopes"
                             f"{where} (it crosses a sub-process border)")
                self._refused_flows[flow.id] = flow.source
                del model.flows[flow.id]
                continue
            if flow.condition is not None and isinstance(source, Event):
                # BPMN: every flow out of an event is taken, and its condition SHALL be None;
                # Camunda 7 evaluates it all the same. Which the modeller meant is unknown.
                self._refuse(flow.id, "sequenceFlow", f"carries a condition{where} out of "
                             f"event '{source.id}': BPMN takes every flow out of an event (no "
                             "conditions there), some engines evaluate it; draw the choice "
                             "with a gateway")
            elif flow.condition is not None and isinstance(source, Gateway) \
                    and source.kind == "parallel":
                self._note(f"sequence flow '{flow.id}' out of parallel gateway '{source.id}' "
                           "carries a condition: a parallel gateway takes every outgoing flow "
                           "(BPMN ignores conditions there), and so does the net")
        nodes: list[Task | Gateway | SubProcess] = [
            *model.tasks.values(), *model.gateways.values(), *model.subprocesses.values()]
        for node in sorted(nodes, key=lambda n: model.order.get(n.id, 0)):
            default = node.default_flow
            if default is None:
                continue
            named = model.flows.get(default)
            refused_source = self._refused_flows.get(default, "")
            if named is None and refused_source in (None, node.id):
                continue  # (its own flow, refused above: that refusal says why)
            flow_source = named.source if named is not None else refused_source
            if flow_source != node.id:
                # (Read as it stands, a default naming no flow of the node made an activity's
                # split take no flow at all, and a gateway's ignore it without a word; one
                # naming a flow node was taken for a flow refused above and passed over.)
                other = model.node(default)
                what = (f"no sequence flow but the {_tag_of(other)} of that id"
                        if other is not None else f"a flow out of '{flow_source}'" if flow_source
                        else "no sequence flow of the process")
                self._refuse(node.id, _tag_of(node), f"its default flow "
                             f"'{default.rsplit('/', 1)[-1]}' is {what}, not one of its own "
                             "outgoing flows")
        for event in model.events.values():
            if event.position == "boundary":
                host = model.node(event.attached_to or "")
                if host is None or isinstance(host, (Event, Gateway)):
                    self._refuse(event.id, "boundaryEvent",
                                 f"is attached to '{event.attached_to}', which is not an "
                                 "activity of the process")
                elif host.scope != event.scope:
                    self._refuse(event.id, "boundaryEvent",
                                 "is attached to an activity of another scope")

    def _known_elsewhere(self, node_id: str) -> bool:
        """True for elements the reader left out on purpose (compensation handlers)."""
        raw = node_id.rsplit("/", 1)[-1]
        element = self.source.by_id.get(raw)
        if element is None:
            return False
        local = local_name(element.tag)
        if local == "boundaryEvent":
            return any(local_name(c.tag) == "compensateEventDefinition" for c in element
                       if isinstance(c.tag, str))
        return _flag(element, "isForCompensation", False)


def _tag_of(node: Task | Event | Gateway | SubProcess) -> str:
    """The BPMN tag a node was read from, as refusals name it."""
    if isinstance(node, Task):
        return node.kind
    if isinstance(node, Event):
        return {v: k for k, v in EVENT_POSITIONS.items()}[node.position]
    if isinstance(node, Gateway):
        return {v: k for k, v in GATEWAY_KINDS.items()}[node.kind]
    return {"call": "callActivity", "transaction": "transaction"}.get(node.kind, "subProcess")


def iter_flow_nodes(model: BpmnModel) -> Iterable[Task | Event | Gateway | SubProcess]:
    """Every flow node of the model, in file order."""
    order = model.order
    nodes: list[Task | Event | Gateway | SubProcess] = [
        *model.tasks.values(), *model.events.values(), *model.gateways.values(),
        *model.subprocesses.values()]
    return sorted(nodes, key=lambda n: order.get(n.id, 0))


# --- throws and their catchers ------------------------------------------------------------------
THROWN_TRIGGERS = ("error", "cancel", "escalation")
"""The triggers a throw inside a scope raises to a catcher outside it."""


def same_reference(catch: str | None, throw: str | None) -> bool:
    """A catch event catches a throw of its reference (errorRef, escalationRef), or any where
    either names none."""
    return catch is None or throw is None or catch == throw


@dataclass(frozen=True)
class Catching:
    """Which catchers a throw goes on at, and which catchers can fire at any moment, as the
    Petri-net conversion (`conformance.petri`) reads them; the SOP graph draws from it too,
    so the drawing cannot drift from the conversion.

    A throw is an error or cancel end event, or an escalation end or intermediate throw
    event whose nearest catcher interrupts (`escalation_interrupted`). Going out from its
    scope: the scope's error, cancel or interrupting escalation event sub-process (the
    first matching, in file order) catches it, else the interrupting boundary events of the
    same trigger on the sub-process (each matching one: a choice), else the next scope out;
    the process's own scope leaves it uncaught (an error or cancel then ends the process).
    """

    caught_by: dict[str, tuple[str, ...]]
    """Throw event id -> the catch events (boundary events, event sub-process start events) it
    goes on at; a throw not listed is uncaught (an escalation not listed is a plain step)."""
    any_moment: frozenset[str]
    """Boundary events and event sub-process start events that can fire at any moment while
    their activity or scope runs: all but the interrupting error, cancel or escalation
    boundary events some throw reaches (they fire only on it) and the error or cancel event
    sub-processes (which fire only on a throw, never without one). Compensation event
    sub-processes are left out (they never fire)."""


def event_subprocess_starts(model: BpmnModel, scope: str) -> list[tuple[SubProcess, Event]]:
    """The event sub-processes directly in `scope` with their start event, in file order
    (one with no or several start events is refused by the conversion and left out)."""
    found: list[tuple[SubProcess, Event]] = []
    for node in model.nodes_in(scope):
        if isinstance(node, SubProcess) and node.kind == "event sub-process":
            starts = [n for n in model.nodes_in(node.id)
                      if isinstance(n, Event) and n.position == "start"]
            if len(starts) == 1:
                found.append((node, starts[0]))
    return found


def escalation_interrupted(model: BpmnModel, event: Event) -> bool:
    """An escalation thrown (end or intermediate throw event) whose nearest catcher, going out
    through the activities around it, is an interrupting boundary event or escalation event
    sub-process: the activity or scope is interrupted there, as by an error (a
    non-interrupting catcher or none at all leave the throw a plain step: BPMN goes on after
    an escalation no one interrupts for)."""
    if event.trigger != "escalation" or event.position not in ("end", "throw"):
        return False
    scope = event.scope
    inside: set[str] = set()  # (a handler does not catch what it throws itself)
    while True:
        inside.add(scope)
        for sub, start in event_subprocess_starts(model, scope):
            if sub.id not in inside and start.trigger == "escalation" \
                    and same_reference(start.reference, event.reference):
                return start.interrupting
        if scope not in model.subprocesses:
            return False
        for boundary in model.boundary_events(scope):
            if boundary.trigger == "escalation" and same_reference(boundary.reference,
                                                                   event.reference):
                return boundary.interrupting
        scope = model.subprocesses[scope].scope


def catching(model: BpmnModel) -> Catching:
    """The model's throws and catchers as the conversion reads them (see `Catching`)."""

    def catches(catch: Event, throw: Event) -> bool:
        return catch.trigger == throw.trigger and same_reference(catch.reference,
                                                                 throw.reference)

    caught_by: dict[str, tuple[str, ...]] = {}
    for throw in model.events.values():
        if not ((throw.trigger in ("error", "cancel") and throw.position == "end")
                or escalation_interrupted(model, throw)):
            continue
        scope: str | None = throw.scope
        while scope is not None:
            handler = next((start.id for _sub, start in event_subprocess_starts(model, scope)
                            if (start.trigger in ("error", "cancel") or start.interrupting)
                            and catches(start, throw)), None)
            if handler is not None:
                caught_by[throw.id] = (handler,)
                break
            sub = model.subprocesses.get(scope)
            boundaries = tuple(b.id for b in model.boundary_events(scope)
                               if b.interrupting and catches(b, throw)) if sub else ()
            if boundaries:  # (none on an event sub-process)
                caught_by[throw.id] = boundaries
                break
            scope = sub.scope if sub is not None else None
    reached = {c for catchers in caught_by.values() for c in catchers}
    any_moment: set[str] = set()
    for event in model.events.values():
        if event.position == "boundary" and not (
                event.interrupting and event.trigger in THROWN_TRIGGERS and event.id in reached):
            any_moment.add(event.id)
    for scope in {model.process_id, *model.subprocesses}:
        any_moment.update(start.id for _sub, start in event_subprocess_starts(model, scope)
                          if start.trigger not in ("error", "cancel", "compensate"))
    return Catching(caught_by, frozenset(any_moment))
