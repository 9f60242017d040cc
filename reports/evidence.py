"""A case's evidence graph (audit.evidence_graph) as DOT: what refers to what, and what is
missing (dashed red, with the reason)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import pandas as pd

from audit import canonical as C
from audit.currency import shown
from audit.rules.facts import CaseFacts
from reports.graphs import FONTS, GraphvizMissing, _label, render_dot

if TYPE_CHECKING:
    from audit.checkrun import CheckRun
    from reports.view import CaseView

MAX_CASE_GRAPHS = 100
"""Cases of the HTML report that get their evidence graph drawn (the first shown ones)."""

_FILL = {"ticket": "#e8f0fb", "order": "#fff5d6", "charge": "#e2f2e4", "refund": "#fde7e2",
         "approval": "#ede1f5", "evidence": "#f1f1f1"}


def _money(data: dict[str, object]) -> str:
    amount, currency = data.get("amount"), data.get("currency")
    if amount is None or (isinstance(amount, float) and amount != amount):
        return ""
    cur = "" if currency is None or pd.isna(currency) else f" {currency}"  # type: ignore[call-overload]
    try:
        return f"{shown(float(amount), currency)}{cur}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def evidence_dot(graph: nx.DiGraph) -> str:
    """DOT text of one case's evidence graph; missing links dashed red with their reason."""
    ids = {name: f"n{i}" for i, name in enumerate(sorted(graph.nodes))}
    lines = [
        "digraph evidence {",
        f'  graph [rankdir=LR, fontname="{FONTS}", bgcolor="white", nodesep=0.3, '
        "ranksep=0.5];",
        f'  node [shape=box, style="rounded,filled", fontname="{FONTS}", fontsize=10, '
        'color="#555555"];',
        f'  edge [fontname="{FONTS}", fontsize=9, color="#4d4d4d", arrowsize=0.6];',
    ]
    for name in sorted(graph.nodes):
        data = graph.nodes[name]
        kind = str(data.get("kind", ""))
        if data.get("missing"):
            lines.append(f"  {ids[name]} [label={_label(kind, 'missing')}, "
                         'style="rounded,dashed", color="#c62828", fontcolor="#c62828"];')
            continue
        key = str(data.get("key", ""))
        extra = []
        if kind == "approval":
            extra = [str(data.get("activity") or ""), str(data.get("resource") or "")]
        elif kind in ("refund", "charge"):
            extra = [_money(data)]
            if kind == "charge" and data.get("recorded") is False:
                extra.append("(no purchase recorded)")
        elif kind == "evidence":
            key = str(data.get("value", key))
            extra = [str(data.get("item", ""))[len(C.EVIDENCE_PREFIX):]]
        text = [f"{kind} {key}", *[e for e in extra if e and e != "nan"]]
        lines.append(f"  {ids[name]} [label={_label(*text)}, "
                     f'fillcolor="{_FILL.get(kind, "#ffffff")}"];')
    for u, v, data in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        relation = str(data.get("relation", ""))
        if data.get("missing"):
            label = _label(f"{relation}: missing", str(data.get("reason", "")))
            lines.append(f"  {ids[u]} -> {ids[v]} [label={label}, style=dashed, "
                         'color="#c62828", fontcolor="#c62828", penwidth=1.6];')
        else:
            lines.append(f"  {ids[u]} -> {ids[v]} [label={_label(relation)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def attach_case_graphs(cases: list[CaseView], run: CheckRun,
                       limit: int = MAX_CASE_GRAPHS) -> str:
    """Fill `graph_svg` of the first `limit` cases; returns a note when some were left out
    (or when graphs cannot be drawn here), else ''."""
    chosen = cases[:limit]
    if not chosen:
        return ""
    log = run.log_at_clock()  # (the evidence the findings were judged on)
    wanted = {c.case_id for c in chosen}
    # The chosen cases' graphs made at once (one frame of their events turned into
    # records, not one per case: 0.6 s of the HTML report at 1M cases), from their events
    # as the rules read them (`CaseFacts.evidence_graphs`: a ticket event without a ticket
    # id is the case's ticket's, a payout without a refund id its own refund, ...), so the
    # graph draws the chain the evidence-chain rules judged (audit.evidence_chain).
    events = log[C.text_isin(log[C.CASE], wanted)]
    graphs = CaseFacts(events, run.policy, run.result.as_of).evidence_graphs(
        sorted(wanted)) if len(events) else {}
    for case in chosen:
        graph = graphs.get(case.case_id)
        if graph is None:
            continue
        try:
            case.graph_svg = render_dot(evidence_dot(graph), "svg").decode("utf-8")
        except GraphvizMissing as exc:
            return f"Evidence graphs are not drawn: {exc}"
    if len(cases) > limit:
        return (f"Evidence graphs are drawn for the first {limit:,} of the {len(cases):,} "
                "cases shown.")
    return ""
