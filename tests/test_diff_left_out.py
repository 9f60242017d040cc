"""The diff graph of a log against a model says what the projection onto the model hid.

A log compared with a model is projected onto the model's activities (the order sentences and
the diff graph's edges alike). A step the to-be model removes so vanished from the as-is side
of the diff graph too, and the edge around it was drawn as if the log took it: the bundled
SOP without 'Collect evidence' against the sample's e-commerce cases drew 'Receive refund
request' -> 'Approve refund' grey, "125 / allowed", though every one of those cases did
'Collect evidence' between, and the graph named no activity left out. Now such an edge is
dashed and says how many of its cases took it only via left-out steps, and the title names
the activities not drawn with their cases.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pandas as pd

from conformance.compare import START, Side, compare_files, comparison_json, diff_dot

ROOT = Path(__file__).resolve().parents[1]
ECOMMERCE = ROOT / "models" / "ecommerce.bpmn"
LOG = ROOT / "sample_logs" / "refund-sample" / "canonical.csv"


def test_a_projection_counts_the_cases_taking_an_edge_only_via_left_out_steps() -> None:
    traces = {("A", "X", "B"): 3, ("A", "B"): 2, ("A", "X", "B", "A", "B"): 1, ("Y", "A"): 4}
    side = Side("as-is", "log", "log", traces, {}, frozenset("ABXY"))
    projected = side.projected(frozenset("AB"))
    # A -> B: 3 cases only through X; the 1 case with X between once and nothing between
    # once took it; the 2 cases of A, B took it.
    assert projected.bridged[("A", "B")] == 3
    assert projected.bridged[(START, "A")] == 4  # (Y before A, in 4 cases)
    assert ("▶ start", "A") not in projected.bridged  # (no activity of that label)
    assert projected.left_out == {"X": 4, "Y": 4}
    assert ("B", "A") not in projected.bridged and len(projected.bridged) == 2


def test_a_step_the_to_be_model_removes_is_not_drawn_as_skipped(tmp_path: Path) -> None:
    text = ECOMMERCE.read_text(encoding="utf-8")
    without = re.sub(r'<bpmn:userTask id="Task_CollectEvidence".*?</bpmn:userTask>', "", text,
                     flags=re.S)
    without = without.replace("<bpmn:flowNodeRef>Task_CollectEvidence</bpmn:flowNodeRef>", "")
    without = re.sub(r'<bpmn:sequenceFlow id="Flow_ToDecision"[^>]*/>', "", without)
    without = without.replace('targetRef="Task_CollectEvidence"', 'targetRef="Gateway_Justified"')
    without = without.replace("<bpmn:incoming>Flow_ToDecision</bpmn:incoming>",
                              "<bpmn:incoming>Flow_ToEvidence</bpmn:incoming>")
    model = tmp_path / "no-evidence.bpmn"
    model.write_text(without, encoding="utf-8")
    # The ground truth from the log: the e-commerce cases doing 'Collect evidence', and those
    # whose request is followed by 'Collect evidence' and then 'Approve refund' and never
    # directly by 'Approve refund'.
    log = pd.read_csv(LOG, dtype=str)
    log = log[log["case:concept:name"].isin(
        set(log.loc[log["refund:channel"] == "ecommerce", "case:concept:name"]))]
    log = log.sort_values(["case:concept:name", "time:timestamp", "event:id"])
    runs = log.groupby("case:concept:name")["concept:name"].apply(list)
    evidence = sum("Collect evidence" in run for run in runs)
    pairs = [list(pairwise(run)) for run in runs]
    triples = [list(zip(run, run[1:], run[2:], strict=False)) for run in runs]
    via = sum(("Receive refund request", "Collect evidence", "Approve refund") in t
              and ("Receive refund request", "Approve refund") not in p
              for t, p in zip(triples, pairs, strict=True))
    assert (evidence, via, len(runs)) == (140, 125, 141)  # (as compare.md and the DFG say)
    result = compare_files(LOG, model, channel="ecommerce")
    [told] = [e for e in comparison_json(result)["edges"]
              if (e["source"], e["target"]) == ("Receive refund request", "Approve refund")]
    assert told["only_via_left_out"] == via and told["as_is"]["cases"] == via
    dot = diff_dot(result)
    request = re.search(r'(a\d+) \[label="Receive refund request', dot)
    approve = re.search(r'(a\d+) \[label="Approve refund[\\"]', dot)
    assert request and approve
    [edge] = [line for line in dot.splitlines()
              if line.startswith(f"  {request[1]} -> {approve[1]} ")]
    assert f"{via} only via left-out steps" in edge and "style=dashed" in edge, edge
    assert f"'Collect evidence' ({evidence} of {len(runs)} cases)" in dot
    assert "not drawn, not in the to-be model:" in dot
    # An edge every case of it took directly is drawn as before.
    [payout] = [line for line in dot.splitlines()
                if line.startswith(f"  {approve[1]} -> ") and "only via" not in line][:1]
    assert "dashed" not in payout
