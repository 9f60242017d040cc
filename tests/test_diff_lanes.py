"""The diff graph draws a lane difference where the activity is.

compare tells who performs a task against the to-be model's lanes (kind `lane`), but the diff
graph drew nothing of it: two models differing only in a task moved to another lane were drawn
alike, every edge grey and "allowed / allowed", beside compare.md's "1 difference", and a log
whose payouts were all made outside the payout's lane looked as if it kept the lanes. Now the
activity's node has a purple border and a line saying the difference ("lane: Payments ->
Finance"; "outside its lane: 19 of 141 cases"), and the legend and title key the border.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from lxml import etree

from conformance.compare import LANE_BORDER, compare_files, write_comparison

ROOT = Path(__file__).resolve().parents[1]
ECOMMERCE = ROOT / "models" / "ecommerce.bpmn"
LOG = ROOT / "sample_logs" / "refund-sample" / "canonical.csv"
SVG = {"s": "http://www.w3.org/2000/svg"}


def drawn_nodes(svg: Path) -> dict[str, tuple[str | None, str | None, list[str]]]:
    """Each activity node the SVG draws, by its first label line: its border colour and
    width, and its label's lines."""
    nodes = {}
    for group in etree.parse(str(svg)).iterfind(".//s:g[@class='node']", SVG):
        shape = group.find("s:path", SVG)
        if shape is None:
            shape = group.find("s:polygon", SVG)
        texts = ["".join(t.itertext()) for t in group.iterfind(".//s:text", SVG)]
        if shape is None or not texts:
            continue
        nodes[texts[0]] = (shape.get("stroke"), shape.get("stroke-width"), texts)
    return nodes


def test_a_task_moved_to_another_lane_is_drawn_so(tmp_path: Path) -> None:
    moved = tmp_path / "moved.bpmn"
    text = ECOMMERCE.read_text(encoding="utf-8")
    ref = "<bpmn:flowNodeRef>Task_ExecutePayout</bpmn:flowNodeRef>"
    second = "<bpmn:flowNodeRef>Task_ApproveSecond</bpmn:flowNodeRef>"
    assert text.count(ref) == 1 and text.count(second) == 1
    moved.write_text(text.replace(ref, "").replace(second, second + ref), encoding="utf-8")
    result = compare_files(ECOMMERCE, moved)
    assert [d.kind for d in result.differences] == ["lane"]
    svg = write_comparison(result, tmp_path / "out")["diff.svg"]
    nodes = drawn_nodes(svg)
    stroke, _, lines = nodes["Execute payout"]
    assert stroke == LANE_BORDER and lines == ["Execute payout", "lane: Payments \u2192 Finance"]
    others = [name for name, (colour, _, _) in nodes.items() if colour == LANE_BORDER]
    assert others == ["Execute payout", "who performs it differs"], others  # (+ the legend's key)
    assert "purple border: in other lanes on the two sides" in svg.read_text(encoding="utf-8")


def test_a_log_performing_tasks_outside_their_lanes_is_drawn_so(tmp_path: Path) -> None:
    # The ground truth from the log itself: the e-commerce cases recording a role other than
    # the SOP's lane for each task (no --policy: the lanes alone judge).
    log = pd.read_csv(LOG, dtype=str)
    ecommerce = set(log.loc[log["refund:channel"] == "ecommerce", "case:concept:name"])
    log = log[log["case:concept:name"].isin(ecommerce)]
    lanes = {"Receive refund request": "customer-service", "Collect evidence": "customer-service",
             "Approve refund": "supervisor", "Execute payout": "payments",
             "Notify customer": "customer-service", "Close ticket": "customer-service",
             "Reject refund": "supervisor", "Approve refund (second level)": "finance",
             "Payout failed": "payments"}
    expected = {}
    for task, lane in lanes.items():
        events = log[(log["concept:name"] == task) & log["org:role"].notna()
                     & (log["org:role"] != lane)]
        if len(events):
            expected[task] = f"outside its lane: {events['case:concept:name'].nunique()} of " \
                             f"{len(ecommerce)} cases"
    assert expected["Approve refund"] == "outside its lane: 19 of 141 cases"  # (compare.md's)
    result = compare_files(LOG, ECOMMERCE, channel="ecommerce")
    svg = write_comparison(result, tmp_path / "out")["diff.svg"]
    nodes = drawn_nodes(svg)
    bordered = {name: lines[1] for name, (colour, _, lines) in nodes.items()
                if colour == LANE_BORDER and name in lanes}
    assert bordered == expected
    assert nodes["Notify customer"][0] != LANE_BORDER and len(nodes["Notify customer"][2]) == 1
    assert "purple border: performed outside its lanes" in svg.read_text(encoding="utf-8")
