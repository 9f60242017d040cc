"""What a BPMN model holds and how it converts: the data behind `refund-audit model inspect`.

`inspect_model` returns plain JSON-able data (str, int, bool, None, lists, dicts), so the CLI can
print it as JSON or as text without knowing the model classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.bpmn import BpmnModel, iter_flow_nodes
from conformance.petri import MAX_SOUNDNESS_STATES, Conversion, bpmn_to_workflow_net


def inspect_model(path: str | Path, *, process: str | None = None,
                  max_states: int = MAX_SOUNDNESS_STATES) -> dict[str, Any]:
    """Tasks, lanes, gateways, the workflow net's size and soundness, refusals and notes.

    `sound` is "yes", "no" or "undecided" (state space above `max_states`), or None when the
    model was refused and so has no net. Unusable files raise `audit.errors.InputError`.
    """
    conversion = bpmn_to_workflow_net(path, process=process, max_states=max_states)
    return describe(conversion)


def describe(conversion: Conversion) -> dict[str, Any]:
    """The inspection data of a conversion that has already been done."""
    model = conversion.model
    net = conversion.net
    soundness = conversion.soundness
    return {
        "file": str(model.path),
        "process": {"id": model.process_id, "name": model.process_name},
        "pools": [{"id": p.id, "name": p.name, "process": p.process, "chosen": p.chosen,
                   "empty": p.empty, "missing": p.missing}
                  for p in model.pools],
        "message_flows": _message_flows(model),
        "tasks": _tasks(model),
        "lanes": _lanes(model),
        "gateways": _gateways(model),
        "events": _events(model),
        "subprocesses": [
            {"id": s.id, "name": s.name, "kind": s.kind, "scope": s.scope,
             "called_element": s.called_element, "callee_file": s.callee_file}
            for s in model.subprocesses.values()],
        "net": net.size() if net is not None else None,
        "sound": soundness.answer if soundness is not None else None,
        "soundness": None if soundness is None else {
            "verdict": soundness.verdict, "problems": list(soundness.problems),
            "states": soundness.states},
        "refused": [r.as_dict() for r in conversion.refused],
        "notes": list(conversion.notes),
    }


def _message_flows(model: BpmnModel) -> list[dict[str, Any]]:
    """A collaboration read as one process: its message flows, each end as "'name' (pool)"."""
    pools = {p.id: p.name or p.id for p in model.pools}

    def end(node_id: str) -> str:
        node = model.node(node_id)
        name = node.name if node is not None and node.name else node_id
        return f"'{name}' ({pools.get(model.pool_of.get(node_id, ''), '?')})"

    return [{"id": f.id, "name": f.name, "source": f.source, "target": f.target,
             "from": end(f.source), "to": end(f.target)} for f in model.message_flows]


def _tasks(model: BpmnModel) -> list[dict[str, Any]]:
    return [
        {"id": t.id, "name": t.name, "kind": t.kind, "scope": t.scope,
         "lane": t.innermost[0] if t.innermost else None, "role": t.role,
         "lanes": list(t.innermost), "roles": list(t.roles),
         "loop": t.loop.kind if t.loop is not None else None}
        for t in sorted(model.tasks.values(), key=lambda t: model.order.get(t.id, 0))]


def _lanes(model: BpmnModel) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    tasks = sorted(model.tasks.values(), key=lambda t: model.order.get(t.id, 0))
    for lane in model.lanes.values():
        inside = [t for t in tasks if lane.id in t.lanes]
        out.append({
            "id": lane.id, "name": lane.name, "role": lane.role, "parent": lane.parent,
            "tasks": list(dict.fromkeys(t.name for t in inside)),
            "task_ids": [t.id for t in inside],
        })
    return out


def _gateways(model: BpmnModel) -> dict[str, list[dict[str, Any]]]:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for node in iter_flow_nodes(model):
        gateway = model.gateways.get(node.id)
        if gateway is None:
            continue
        incoming, outgoing = len(model.incoming(node.id)), len(model.outgoing(node.id))
        role = ("split" if outgoing > 1 and incoming <= 1 else
                "join" if incoming > 1 and outgoing <= 1 else
                "join and split" if incoming > 1 else "pass-through")
        by_kind.setdefault(gateway.kind, []).append(
            {"id": gateway.id, "name": gateway.name, "role": role,
             "default_flow": gateway.default_flow})
    return by_kind


def _events(model: BpmnModel) -> list[dict[str, Any]]:
    return [
        {"id": e.id, "name": e.name, "position": e.position, "trigger": e.trigger,
         "attached_to": e.attached_to,
         "interrupting": e.interrupting if e.position in ("boundary", "start") else None}
        for e in sorted(model.events.values(), key=lambda e: model.order.get(e.id, 0))]
