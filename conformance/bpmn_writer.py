"""Write a discovered process as BPMN 2.0 XML with diagram interchange, and draw it as DOT.

A `ProcessGraph` is the plain shape of a flat BPMN process: tasks, events, gateways and
sequence flows. It is laid out by Graphviz (in-process through pygraphviz; a simple layered
layout when Graphviz is missing) and written with BPMNShape bounds and BPMNEdge waypoints, so
the file opens laid out in bpmn.io and Camunda Modeler, and reads back through
`conformance.bpmn.read_bpmn`. pm4py's own BPMN export needs the `dot` executable for its
layout; this module does not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from audit.words import counted
from audit.xmltext import xml_safe
from conformance.bpmn import BPMN_NS, BPMNDI_NS, DC_NS

DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

NodeKind = Literal["task", "start", "end", "exclusive", "parallel", "inclusive"]

_SIZE: dict[str, tuple[float, float]] = {
    "task": (110.0, 70.0), "start": (36.0, 36.0), "end": (36.0, 36.0),
    "exclusive": (50.0, 50.0), "parallel": (50.0, 50.0), "inclusive": (50.0, 50.0),
}
_TAG: dict[str, str] = {
    "task": "task", "start": "startEvent", "end": "endEvent", "exclusive": "exclusiveGateway",
    "parallel": "parallelGateway", "inclusive": "inclusiveGateway",
}
_MARGIN = 40.0


@dataclass(frozen=True)
class ProcessNode:
    id: str
    """A valid XML id (NCName), unique in the graph."""
    kind: NodeKind
    name: str = ""


@dataclass(frozen=True)
class ProcessFlow:
    id: str
    source: str
    target: str


@dataclass(frozen=True)
class ProcessGraph:
    """A flat BPMN process: nodes and the sequence flows between them."""

    nodes: tuple[ProcessNode, ...]
    flows: tuple[ProcessFlow, ...]
    name: str = "Discovered process"

    def node(self, node_id: str) -> ProcessNode:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.width / 2, self.y + self.height / 2)


@dataclass(frozen=True)
class Layout:
    shapes: dict[str, Box]
    waypoints: dict[str, list[tuple[float, float]]]


# --- layout -------------------------------------------------------------------------------
def layout(graph: ProcessGraph) -> Layout:
    """Positions for every node and waypoints for every flow, left to right."""
    try:
        return _graphviz_layout(graph)
    except ImportError:
        return _layered_layout(graph)


def _graphviz_layout(graph: ProcessGraph) -> Layout:
    import pygraphviz  # type: ignore[import-untyped]

    from reports.graphs import _native_stderr_filtered

    agraph = pygraphviz.AGraph(directed=True, strict=False)
    agraph.graph_attr.update(rankdir="LR", nodesep="0.5", ranksep="0.6", splines="polyline")
    for node in graph.nodes:
        width, height = _SIZE[node.kind]
        agraph.add_node(node.id, shape="box", fixedsize="true", label="",
                        width=f"{width / 72:.3f}", height=f"{height / 72:.3f}")
    backwards = back_flows(graph)
    for flow in graph.flows:
        agraph.add_edge(flow.source, flow.target, key=flow.id, id=flow.id,
                        constraint="false" if flow.id in backwards else "true")
    # Start events leftmost, end events rightmost, whatever loops point backwards.
    for kind, rank in (("start", "min"), ("end", "max")):
        ends = [n.id for n in graph.nodes if n.kind == kind]
        if ends:
            agraph.add_subgraph(ends, name=f"{kind}_rank", rank=rank)
    with _native_stderr_filtered():
        agraph.layout(prog="dot")
    bb = [float(v) for v in str(agraph.graph_attr["bb"]).split(",")]
    top = bb[3]

    def point(text: str) -> tuple[float, float]:
        x, y = (float(v) for v in text.split(",")[:2])
        return (round(x + _MARGIN, 1), round(top - y + _MARGIN, 1))

    shapes: dict[str, Box] = {}
    for node in graph.nodes:
        width, height = _SIZE[node.kind]
        cx, cy = point(str(agraph.get_node(node.id).attr["pos"]))
        shapes[node.id] = Box(round(cx - width / 2, 1), round(cy - height / 2, 1), width, height)
    waypoints: dict[str, list[tuple[float, float]]] = {}
    for edge in agraph.edges():
        flow_id = str(edge.attr["id"])
        spline = str(edge.attr["pos"]).split(";")[0].split()
        end = next((p[2:] for p in spline if p.startswith("e,")), None)
        start = next((p[2:] for p in spline if p.startswith("s,")), None)
        controls = [p for p in spline if not p.startswith(("e,", "s,"))]
        # A B-spline's every third point lies on the curve: use those as the polyline.
        points = [point(p) for p in controls[::3]]
        if start is not None:
            points.insert(0, point(start))
        if end is not None:
            points.append(point(end))
        waypoints[flow_id] = points
    for flow in graph.flows:
        if len(waypoints.get(flow.id, [])) < 2:
            waypoints[flow.id] = [shapes[flow.source].centre, shapes[flow.target].centre]
    return Layout(shapes, waypoints)


def back_flows(graph: ProcessGraph) -> set[str]:
    """Flows that close a loop (back edges of a depth-first search from the start events),
    so a layout can keep the rest flowing left to right."""
    outgoing: dict[str, list[ProcessFlow]] = {n.id: [] for n in graph.nodes}
    for flow in graph.flows:
        outgoing[flow.source].append(flow)
    state: dict[str, int] = {}  # 1 on the search path, 2 done
    backwards: set[str] = set()
    roots = [n.id for n in graph.nodes if n.kind == "start"] + [n.id for n in graph.nodes]
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(outgoing[root]))]
        while stack:
            node, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                state[node] = 2
                stack.pop()
            elif state.get(step.target) == 1:
                backwards.add(step.id)
            elif step.target not in state:
                state[step.target] = 1
                stack.append((step.target, iter(outgoing[step.target])))
    return backwards


def _layered_layout(graph: ProcessGraph) -> Layout:
    """Longest-path-free fallback: breadth-first ranks left to right, stacked in each rank."""
    outgoing: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for flow in graph.flows:
        outgoing[flow.source].append(flow.target)
    starts = [n.id for n in graph.nodes if n.kind == "start"] or [graph.nodes[0].id]
    rank: dict[str, int] = {s: 0 for s in starts}
    queue = deque(starts)
    while queue:
        current = queue.popleft()
        for nxt in outgoing[current]:
            if nxt not in rank:
                rank[nxt] = rank[current] + 1
                queue.append(nxt)
    for node in graph.nodes:
        rank.setdefault(node.id, max(rank.values(), default=0) + 1)
    rows: dict[int, int] = {}
    shapes: dict[str, Box] = {}
    for node in graph.nodes:
        r = rank[node.id]
        row = rows.get(r, 0)
        rows[r] = row + 1
        width, height = _SIZE[node.kind]
        cx, cy = _MARGIN + 60 + r * 170, _MARGIN + 50 + row * 120
        shapes[node.id] = Box(cx - width / 2, cy - height / 2, width, height)
    waypoints = {f.id: [shapes[f.source].centre, shapes[f.target].centre] for f in graph.flows}
    return Layout(shapes, waypoints)


# --- BPMN XML -----------------------------------------------------------------------------
def bpmn_xml(graph: ProcessGraph, placed: Layout | None = None, *,
             process_id: str = "Process_Discovered") -> bytes:
    """BPMN 2.0 XML of `graph` with its diagram (DI)."""
    placed = placed or layout(graph)
    nsmap = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "xsi": XSI_NS}

    def b(tag: str) -> str:
        return f"{{{BPMN_NS}}}{tag}"

    root = etree.Element(b("definitions"), nsmap=nsmap)
    root.set("id", "Definitions_Discovered")
    root.set("targetNamespace", "https://refund-audit.example/discovered")
    root.set("exporter", "refund-audit")
    process = etree.SubElement(root, b("process"), id=process_id, isExecutable="false")
    process.set("name", xml_safe(graph.name))
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for flow in graph.flows:
        outgoing.setdefault(flow.source, []).append(flow.id)
        incoming.setdefault(flow.target, []).append(flow.id)
    for node in graph.nodes:
        element = etree.SubElement(process, b(_TAG[node.kind]), id=node.id)
        if node.name:
            element.set("name", xml_safe(node.name))
        if node.kind in ("exclusive", "parallel", "inclusive"):
            ins, outs = len(incoming.get(node.id, [])), len(outgoing.get(node.id, []))
            element.set("gatewayDirection", "Converging" if ins > 1 and outs <= 1 else
                        "Diverging" if outs > 1 and ins <= 1 else
                        "Mixed" if ins > 1 else "Unspecified")
        for flow_id in incoming.get(node.id, []):
            etree.SubElement(element, b("incoming")).text = flow_id
        for flow_id in outgoing.get(node.id, []):
            etree.SubElement(element, b("outgoing")).text = flow_id
    for flow in graph.flows:
        etree.SubElement(process, b("sequenceFlow"), id=flow.id, sourceRef=flow.source,
                         targetRef=flow.target)
    diagram = etree.SubElement(root, f"{{{BPMNDI_NS}}}BPMNDiagram", id="Diagram_Discovered")
    plane = etree.SubElement(diagram, f"{{{BPMNDI_NS}}}BPMNPlane", id="Plane_Discovered",
                             bpmnElement=process_id)
    for node in graph.nodes:
        box = placed.shapes[node.id]
        shape = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNShape", id=f"{node.id}_di",
                                 bpmnElement=node.id)
        if node.kind == "exclusive":
            shape.set("isMarkerVisible", "true")
        etree.SubElement(shape, f"{{{DC_NS}}}Bounds", x=_num(box.x), y=_num(box.y),
                         width=_num(box.width), height=_num(box.height))
    for flow in graph.flows:
        edge = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNEdge", id=f"{flow.id}_di",
                                bpmnElement=flow.id)
        for x, y in placed.waypoints[flow.id]:
            etree.SubElement(edge, f"{{{DI_NS}}}waypoint", x=_num(x), y=_num(y))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                pretty_print=True))


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


# --- DOT ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskFigures:
    """What the annotated drawing says about one task."""

    events: int
    median_wait_seconds: float
    """Median time from the case's previous event to this one (NaN for first events)."""


def process_dot(graph: ProcessGraph, tasks: Mapping[str, TaskFigures],
                flow_labels: Mapping[str, str], *, title: str) -> str:
    """DOT text of the process: tasks with event counts and median waiting times, flows with
    the labels given (e.g. frequency and median duration of a direct succession)."""
    from reports.graphs import FONTS, _label, dot_string, format_duration

    lines = [
        "digraph process {",
        f"  graph [label={_label(*title.split(chr(10)))}, labelloc=t, fontsize=16, "
        f'rankdir=LR, fontname="{FONTS}", bgcolor="white", nodesep=0.4, ranksep=0.5];',
        f'  node [fontname="{FONTS}", fontsize=11];',
        f'  edge [fontname="{FONTS}", fontsize=9, color="#4d4d4d", arrowsize=0.7];',
    ]
    symbols = {"exclusive": "×", "parallel": "+", "inclusive": "○"}
    for index, node in enumerate(graph.nodes):
        ident = f"n{index}"
        if node.kind == "task":
            figures = tasks.get(node.name)
            rows = [node.name]
            if figures is not None:
                rows.append(counted(figures.events, "event", spec=","))
                if figures.median_wait_seconds == figures.median_wait_seconds:
                    rows.append(f"median wait {format_duration(figures.median_wait_seconds)}")
            lines.append(f"  {ident} [label={_label(*rows)}, shape=box, "
                         'style="rounded,filled", fillcolor="#e8f0fb", color="#2f5597"];')
        elif node.kind in ("start", "end"):
            colour = ("#c6efce", "#2e7d32") if node.kind == "start" else ("#f4cccc", "#b71c1c")
            lines.append(f'  {ident} [label="", shape=circle, width=0.35, fixedsize=true, '
                         f'style=filled, fillcolor="{colour[0]}", color="{colour[1]}", '
                         f'penwidth={1.2 if node.kind == "start" else 3}];')
        else:
            lines.append(f"  {ident} [label={dot_string(symbols[node.kind])}, shape=diamond, "
                         'width=0.45, height=0.45, fixedsize=true, style=filled, '
                         'fillcolor="#fff2cc", color="#bf9000"];')
    ids = {node.id: f"n{index}" for index, node in enumerate(graph.nodes)}
    for kind, rank in (("start", "min"), ("end", "max")):
        ends = " ".join(ids[n.id] for n in graph.nodes if n.kind == kind)
        if ends:
            lines.append(f"  {{ rank={rank}; {ends} }}")
    backwards = back_flows(graph)
    for flow in graph.flows:
        label = flow_labels.get(flow.id)
        attrs = [f"label={_label(label)}"] if label else []
        if flow.id in backwards:
            attrs.append("constraint=false")
        attrs_text = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {ids[flow.source]} -> {ids[flow.target]}{attrs_text};")
    lines.append("}")
    return "\n".join(lines) + "\n"
