"""The SOP overlay, the conformance overview and the evidence graphs of report.html."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from importlib.resources import as_file, files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from audit.checkrun import CheckRun, run_check
from audit.policy import default_policy_path
from audit.rules.facts import CaseFacts
from reports.evidence import attach_case_graphs
from reports.graphs import render_dot
from reports.html import render_report, report_graphs
from reports.overlay import (
    CaseDeviations,
    ChannelOverlay,
    Deviations,
    SopGraph,
    TaskCounts,
    channel_overlays,
    overlay_dot,
    run_deviations,
    task_counts,
)
from reports.view import build_view

HOSTILE = "<script>alert('sop')</script> & \"x\""


@pytest.fixture(scope="module")
def run() -> CheckRun:
    with as_file(files("sample_logs").joinpath("refund-sample", "canonical.csv")) as path:
        checked = run_check([Path(path)], default_policy_path())
    # What the engine is asked to keep: the conformance result the CF rules used.
    facts = CaseFacts(checked.imported.log, checked.policy, checked.result.as_of)
    checked.result.extra["conformance_result"] = facts.conformance
    return checked


def test_overlay_counts_equal_the_cf_findings(run: CheckRun) -> None:
    overlays = {o.channel: o for o in channel_overlays(run)}
    assert set(overlays) == set(run.summary()["conformance"])
    task_of = run.policy.sop_tasks()
    activity = dict(zip(run.imported.log["event:id"].astype(str),
                        run.imported.log["concept:name"].astype(str), strict=True))
    channel_of = {o.channel: o for o in overlays.values()}
    case_channel = run.imported.log.groupby("case:concept:name")["refund:channel"].first()
    skipped: Counter[tuple[str, str]] = Counter()
    wrong: Counter[tuple[str, str]] = Counter()
    inserted: Counter[tuple[str, str]] = Counter()
    for f in run.result.findings:
        channel = str(case_channel[f.case_id])
        tasks = str(f.evidence.get("tasks", "")).split(", ")
        if f.name == "skipped-activity":
            skipped.update((channel, t) for t in tasks)
        elif f.name == "wrong-order":
            wrong.update((channel, t) for t in tasks)
        elif f.name == "unexpected-activity":
            inserted.update((channel, task_of[activity[e]]) for e in f.event_ids)
    assert skipped and wrong and inserted
    for channel, overlay in channel_of.items():
        for task, counts in overlay.tasks.items():
            assert counts.skipped == skipped[(channel, task)], (channel, task)
            assert counts.wrong_order == wrong[(channel, task)], (channel, task)
            assert counts.inserted == inserted[(channel, task)], (channel, task)
        assert sum(c.skipped for c in overlay.tasks.values()) == sum(
            n for (ch, _), n in skipped.items() if ch == channel)
        # Flows: cases with task A directly followed by task B, counted by hand.
        log = run.imported.log
        mine = log[(log["refund:channel"] == channel) & log["concept:name"].isin(list(task_of))]
        mine = mine.sort_values(["case:concept:name", "time:timestamp", "event:id"])
        expected: Counter[tuple[str, str]] = Counter()
        starts: Counter[str] = Counter()
        ends: Counter[str] = Counter()
        for _, group in mine.groupby("case:concept:name"):
            seq = [task_of[a] for a in group["concept:name"]]
            expected.update(set(itertools.pairwise(seq)))
            starts[seq[0]] += 1
            ends[seq[-1]] += 1
        assert overlay.flows == dict(expected)
        assert overlay.starts == dict(sorted(starts.items()))  # by task name
        assert overlay.ends == dict(sorted(ends.items()))
        assert list(overlay.starts) == sorted(overlay.starts)
        assert overlay.cases == run.summary()["conformance"][channel]["cases"]


def test_findings_fallback_equals_the_conformance_result(run: CheckRun) -> None:
    exact = run_deviations(run)
    saved = run.result.extra.pop("conformance_result")
    try:
        fallback = run_deviations(run)
    finally:
        run.result.extra["conformance_result"] = saved
    assert exact.source == "conformance result" and fallback.source == "findings"
    assert exact.cases.keys() == fallback.cases.keys()
    for case, mine in exact.cases.items():
        other = fallback.cases[case]
        assert sorted(mine.deviations) == sorted(other.deviations), case
        assert mine.sync_tasks == other.sync_tasks, case


def test_report_has_overlay_overview_and_evidence_graphs(run: CheckRun) -> None:
    view = build_view(run, graphs=report_graphs(run))
    names = [g.name for g in view.graphs]
    assert names[0] == "dfg" and {f"sop-{c}" for c in run.summary()["conformance"]} <= set(
        names)
    assert all(g.svg for g in view.graphs)
    assert [c.channel for c in view.conformance] == sorted(run.summary()["conformance"])
    assert view.top_deviations and view.deviations_source == "conformance result"
    note = attach_case_graphs(view.cases, run, limit=len(view.cases))
    assert note == ""
    orphans = {f.case_id for f in run.result.findings if f.name == "orphan-payout"}
    assert orphans
    for case in view.cases:
        if case.case_id in orphans:
            assert case.graph_svg is not None
            svg = etree.fromstring(case.graph_svg.encode("utf-8"))
            texts = [t.text or "" for t in svg.iter("{*}text")]
            assert "executes: missing" in texts and "ticket" in texts, texts
            assert any(e.get("stroke-dasharray") for e in svg.iter("{*}path"))
    html = render_report(view)
    tree = etree.HTML(html)
    assert tree.xpath("//figure[@id='graph-sop-ecommerce']//svg")
    assert tree.xpath("//table[@id='conformance-table']//td[@data-metric='fitness-ecommerce']")
    assert len(tree.xpath("//figure[contains(@class, 'case-graph')]//svg")) == sum(
        1 for c in view.cases if c.graph_svg)
    capped = attach_case_graphs(view.cases, run, limit=3)
    assert "first 3" in capped


def test_case_graphs_made_at_once_are_each_case_s_own(
        run: CheckRun, monkeypatch: pytest.MonkeyPatch) -> None:
    """attach_case_graphs makes the chosen cases' graphs from one frame of their events: each
    must be what case_graph makes of that case's events alone, in whatever order the log
    holds them (here shuffled: equal times keep the log's order in both)."""
    from audit import canonical as C
    from audit.evidence_graph import case_graph
    from reports.evidence import evidence_dot

    log = run.imported.log
    shuffled = log.sample(frac=1.0, random_state=7).reset_index(drop=True)
    monkeypatch.setattr(run.imported, "log", shuffled)
    view = build_view(run)
    assert len(view.cases) > 3
    assert attach_case_graphs(view.cases, run, limit=len(view.cases)) == ""
    controls = run.policy.control_of()
    drawn = 0
    for case in view.cases:
        events = shuffled[shuffled[C.CASE] == case.case_id]
        expected = render_dot(evidence_dot(case_graph(events, controls)), "svg").decode()
        assert case.graph_svg == expected, case.case_id
        drawn += 1
    assert drawn == len(view.cases)


def test_hostile_task_names_are_inert_in_the_overlay() -> None:
    sop = SopGraph("p", {HOSTILE: [HOSTILE, "Close ticket"]}, [(HOSTILE, "Close ticket")],
                   [HOSTILE], ["Close ticket"])
    overlay = ChannelOverlay("x", Path("x.bpmn"), 2, {HOSTILE: TaskCounts(sync=1, skipped=1)},
                             {(HOSTILE, "Close ticket"): 1}, {HOSTILE: 1}, {"Close ticket": 1})
    svg = render_dot(overlay_dot(sop, overlay, title=HOSTILE), "svg").decode("utf-8")
    root = etree.fromstring(svg.encode("utf-8"))
    assert HOSTILE in [t.text for t in root.iter("{*}text")]
    assert not [e for e in root.iter() if etree.QName(e).localname in ("script", "a", "style")]
    assert not [n for e in root.iter() for n in e.attrib if n.startswith("on") or "href" in n]


def test_flow_counts_by_hand() -> None:
    """Pairs once per case, starts and ends per case, other channels left out; the rows of a
    case come together (as the projection sorts them), missing case ids form one group."""
    from reports.overlay import flow_counts

    rows = [("c1", "web", "A"), ("c1", "web", "B"), ("c1", "web", "A"), ("c1", "web", "B"),
            ("c2", "web", "B"), ("c3", "shop", "A"), ("c3", "shop", "C"),
            ("c4", "web", "A"), ("c4", "web", "C"), (None, "web", "C"), (None, "web", "A")]
    projected = pd.DataFrame({
        "case": pd.Series([r[0] for r in rows], dtype="string"),
        "channel": pd.Categorical([r[1] for r in rows]),
        "task": pd.Categorical([r[2] for r in rows], categories=["C", "B", "A"]),
    })
    flows, starts, ends, cases = flow_counts(projected, "web")
    assert flows == {("A", "B"): 1, ("B", "A"): 1, ("A", "C"): 1, ("C", "A"): 1}
    assert list(flows) == [("A", "B"), ("B", "A"), ("A", "C"), ("C", "A")]  # first seen
    assert starts == {"A": 2, "B": 1, "C": 1} and list(starts) == ["A", "B", "C"]
    assert ends == {"A": 1, "B": 2, "C": 1}
    assert cases == 4
    assert flow_counts(projected, "phone") == ({}, {}, {}, 0)


def test_flow_counts_on_case_numbers_equal_those_on_case_ids() -> None:
    """The overlay's projection numbers the cases' runs instead of carrying their ids: the
    counts are the same (a missing id's run is one case, as with the ids)."""
    from reports.overlay import flow_counts

    ids = ["c1", "c1", "c1", "c2", "c3", "c3", None, None, "c4", "c4", "c4"]
    tasks = ["A", "B", "A", "B", "A", "C", "C", "A", "B", "A", "B"]
    channels = ["web"] * 4 + ["shop"] * 2 + ["web"] * 5
    numbers = [0, 0, 0, 1, 2, 2, 3, 3, 4, 4, 4]
    frames = [pd.DataFrame({"case": case, "channel": pd.Categorical(channels),
                            "task": pd.Categorical(tasks)})
              for case in (pd.Series(ids, dtype="string"), pd.Series(numbers))]
    for channel in ("web", "shop"):
        by_id, by_number = (flow_counts(f, channel) for f in frames)
        assert by_id == by_number
        assert list(by_id[0]) == list(by_number[0])
    assert flow_counts(frames[1], "web")[3] == 4


def test_projection_without_ids_numbers_the_same_runs(run: CheckRun) -> None:
    from reports.overlay import _projected

    full, slim = _projected(run), _projected(run, ids=False)
    assert list(slim.columns) == ["case", "channel", "task"] and len(slim) == len(full) > 1000
    assert (slim["task"] == full["task"]).all() and (slim["channel"] == full["channel"]).all()
    changes = (full["case"] != full["case"].shift()).fillna(True).to_numpy(dtype=bool)
    assert (slim["case"].to_numpy() == changes.cumsum() - 1).all()


def test_projection_of_a_shuffled_log_equals_that_of_the_sorted_one(run: CheckRun) -> None:
    """The imported log is in (case, time, event id) order and taken as it is; shuffled, it is
    sorted first: the same projection either way."""
    import dataclasses

    from audit import canonical as C
    from reports.overlay import _projected

    log = run.imported.log
    assert C.in_order(pd.DataFrame({"case": log[C.CASE], "time": log[C.TIMESTAMP],
                                    "eid": log[C.EVENT_ID]}), ["case", "time", "eid"])
    shuffled = log.sample(frac=1.0, random_state=8).reset_index(drop=True)
    other = dataclasses.replace(run, imported=dataclasses.replace(run.imported, log=shuffled))
    for ids in (True, False):
        mine, theirs = _projected(run, ids=ids), _projected(other, ids=ids)
        assert list(mine.columns) == list(theirs.columns)
        for column in mine.columns:
            assert mine[column].tolist() == theirs[column].tolist(), column


def test_projection_takes_events_at_one_time_as_the_source_lists_them(tmp_path: Path) -> None:
    """A CSV without event ids (ids refund-audit derives) whose cases collect evidence and
    approve at one time, in that order in the file: the overlay takes them in the file's
    order, as conformance judged them, whatever the derived ids' order, the log sorted or
    shuffled. Before: by event id, so about half the cases drew 'Approve refund ->
    Collect evidence' in a case conformance found in the SOP's order."""
    import dataclasses

    from audit import canonical as C
    from audit.policy import load_policy
    from reports.overlay import _projected
    from tests.rules.logbuilder import build_log

    spec = {f"K{k}": {"events": [
        {"a": "Capture payment"}, {"a": "Receive refund request"},
        {"a": "Collect evidence", "t": "2026-07-01T12:00Z"},
        {"a": "Approve refund", "t": "2026-07-01T12:00Z"},
        {"a": "Execute payout"}]} for k in range(12)}
    frame = build_log(spec, load_policy(default_policy_path())).drop(columns=[C.EVENT_ID])
    path = tmp_path / "ties.csv"
    frame.to_csv(path, index=False)
    run = run_check([path], default_policy_path())
    log = run.imported.log
    ties = log[log[C.ACTIVITY].isin(["Collect evidence", "Approve refund"])]
    first = ties.groupby(C.CASE, observed=True)[C.EVENT_ID].agg(list)
    # (The derived ids put some cases' approval first: the case the test is about.)
    assert {ids[0] < ids[1] for ids in first} == {True, False}
    shuffled = log.sample(frac=1.0, random_state=3).reset_index(drop=True)
    other = dataclasses.replace(run, imported=dataclasses.replace(run.imported, log=shuffled))
    for each in (run, other):
        projected = _projected(each)
        for case, rows in projected.groupby("case", sort=True):
            tasks = [str(t) for t in rows["task"]]
            assert tasks.index("Collect evidence") < tasks.index("Approve refund"), case
        slim = _projected(each, ids=False)
        assert slim["task"].astype(str).tolist() == projected["task"].astype(str).tolist()
    flows = {k: v for o in channel_overlays(run) for k, v in dict(o.flows).items()}
    assert flows.get(("Collect evidence", "Approve refund")) == 12
    assert ("Approve refund", "Collect evidence") not in flows


def _task_counts_one_by_one(deviations: Deviations, channel: str) -> dict[str, TaskCounts]:
    """Per task of one channel, case by case, from the definitions of TaskCounts."""
    counts: dict[str, TaskCounts] = {}
    for case in deviations.cases.values():
        if case.channel != channel:
            continue
        kinds = [(kind, task, ids) for kind, task, ids in case.deviations]
        for task in case.sync_tasks:
            counts.setdefault(task, TaskCounts()).sync += 1
        for task in {t for kind, t, _ in kinds if kind == "skipped"}:
            counts.setdefault(task, TaskCounts()).skipped += 1
        for task in {t for kind, t, _ in kinds if kind == "wrong-order"}:
            counts.setdefault(task, TaskCounts()).wrong_order += 1
        for kind, task, ids in kinds:
            if kind == "inserted":
                counts.setdefault(task, TaskCounts()).inserted += max(len(ids), 1)
        for task in {t for kind, t, _ in kinds if kind == "inserted"}:
            counts.setdefault(task, TaskCounts()).inserted_cases += 1
        for task in {t for _, t, _ in kinds}:
            counts.setdefault(task, TaskCounts()).deviating += 1
    return counts


def test_task_counts_of_all_channels_equal_those_counted_case_by_case(run: CheckRun) -> None:
    rng = random.Random(5)
    tasks = ["Receive", "Approve", "Pay", "Close", HOSTILE]
    syncs = [frozenset(rng.sample(tasks, rng.randrange(len(tasks)))) for _ in range(6)]
    made = Deviations(source="conformance result")
    for k in range(2000):
        deviations = tuple(
            (rng.choice(["skipped", "wrong-order", "inserted"]), rng.choice(tasks),
             tuple(f"e{k}-{j}" for j in range(rng.randrange(3))))
            for _ in range(rng.choice([0, 0, 0, 1, 2, 4])))
        made.cases[f"c{k}"] = CaseDeviations(f"c{k}", rng.choice(["", "shop", "store"]),
                                             deviations, rng.choice(syncs))
    for deviations in (made, run_deviations(run)):
        channels = {case.channel for case in deviations.cases.values()}
        counted = task_counts(deviations)
        assert set(counted) == channels
        for channel in channels:
            assert counted[channel] == _task_counts_one_by_one(deviations, channel), channel
    assert any(c.inserted_cases < c.inserted for c in task_counts(made)["shop"].values())


def test_a_conformance_results_cases_are_made_when_read_and_counted_as_all_of_them(
        run: CheckRun) -> None:
    """From a conformance result each case's deviations are made when read, not kept; the
    counts of the cases in sync and the cases with a deviation, computed without one per
    case, are those of a dict of all of them (the findings' way), in the same order."""
    lazy = run_deviations(run)
    result = run.result.extra["conformance_result"]
    assert lazy.source == "conformance result"
    whole = Deviations(dict(lazy.cases.items()), source=lazy.source)
    assert list(lazy.cases) == list(result.cases) and len(lazy.cases) == len(result.cases)
    assert list(lazy.in_sync().items()) == list(whole.in_sync().items())
    assert lazy.deviating() == whole.deviating()
    assert 0 < len(lazy.deviating()) < len(lazy.cases)
    # Cases of several variants share a set of tasks in sync: their counts add up.
    variants = Counter(case.sync_tasks for case in whole.cases.values())
    assert sum(whole.in_sync().values()) == len(whole.cases) == sum(variants.values())
    assert len(whole.in_sync()) < len({id(c.alignment) for c in result.cases.values()})
    case = next(iter(result.cases.values()))
    made = lazy.cases[str(case.case_id)]
    assert (made.case_id, made.channel) == (str(case.case_id), str(case.channel))
    assert lazy.cases[made.case_id] is not made  # made again: none is kept


@pytest.mark.parametrize("tasks", [3, 200])  # pairs in 16 bits; past them, in 32
def test_flow_counts_equal_a_count_case_by_case(tasks: int) -> None:
    """Random cases with repeated pairs on three channels: each pair counted once per case
    that has it, listed in the order first seen; starts, ends and cases per channel."""
    from reports.overlay import flow_counts

    rng = np.random.default_rng(tasks)
    names = [f"T{k:03d}" for k in range(tasks)]
    rows: list[tuple[int, str, str]] = []
    for case in range(300):
        channel = ["web", "shop", "app"][case % 3]
        rows += [(case, channel, names[int(rng.integers(min(tasks, 4)) if case % 2 else
                                           rng.integers(tasks))])
                 for _ in range(int(rng.integers(1, 9)))]
    projected = pd.DataFrame({"case": [r[0] for r in rows],
                              "channel": pd.Categorical([r[1] for r in rows]),
                              "task": pd.Categorical([r[2] for r in rows], categories=names)})
    for channel in ("web", "shop", "app"):
        traces: dict[int, list[str]] = {}
        for case, where, task in rows:
            if where == channel:
                traces.setdefault(case, []).append(task)
        expected: dict[tuple[str, str], int] = {}
        for trace in traces.values():
            for pair in dict.fromkeys(itertools.pairwise(trace)):
                expected[pair] = expected.get(pair, 0) + 1
        first_seen = list(dict.fromkeys(
            pair for trace in traces.values() for pair in itertools.pairwise(trace)))
        flows, starts, ends, cases = flow_counts(projected, channel)
        assert flows == expected and list(flows) == first_seen
        assert starts == dict(sorted(Counter(t[0] for t in traces.values()).items()))
        assert ends == dict(sorted(Counter(t[-1] for t in traces.values()).items()))
        assert cases == len(traces)
        as_text = projected.assign(task=projected["task"].astype(str))  # not categorical
        assert flow_counts(as_text, channel) == (flows, starts, ends, cases)


def test_flow_counts_leave_out_rows_without_a_task() -> None:
    """A row with no task (a projection has none) is left out: its neighbours follow each
    other. Unused task categories are never counted."""
    from reports.overlay import flow_counts

    tasks = pd.Categorical(["A", None, "B", "B", "A", "C"],
                           categories=["A", "B", "C", *[f"unused{k}" for k in range(5000)]])
    projected = pd.DataFrame({"case": [0, 0, 0, 1, 1, 1],
                              "channel": pd.Categorical(["web"] * 6), "task": tasks})
    flows, starts, ends, cases = flow_counts(projected, "web")
    assert flows == {("A", "B"): 1, ("B", "A"): 1, ("A", "C"): 1}
    assert starts == {"A": 1, "B": 1} and ends == {"B": 1, "C": 1} and cases == 2


# --- the scale of deviation -------------------------------------------------------------------
def _luminance(colour: str) -> float:
    """WCAG's relative luminance of a #rrggbb colour (0 black, 1 white)."""
    def linear(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4
    r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def _drawn(svg: str, kind: str) -> dict[str, tuple[str, float, str]]:
    """Per node or edge (`kind`) of a drawn graph, by its text lines joined with " | ":
    its shape's fill, stroke width and stroke (an edge's fill is its line's colour)."""
    root = etree.fromstring(svg.encode("utf-8"))
    out = {}
    for group in root.iter("{*}g"):
        if group.get("class") != kind:
            continue
        text = " | ".join(t.text or "" for t in group.iter("{*}text"))
        shape = next(e for e in group
                     if etree.QName(e).localname in ("path", "polygon", "ellipse")
                     and e.get("stroke") not in (None, "transparent"))
        fill = shape.get("fill") if kind == "node" else shape.get("stroke")
        out[text] = (str(fill), float(shape.get("stroke-width", "1")), str(shape.get("stroke")))
    return out


def test_a_task_deviating_in_few_cases_is_drawn_lighter_and_thinner_than_one_in_many() -> None:
    """An auditor's review: a task deviating in 1 of 141 cases was drawn in the same red as
    one deviating in most of them. The shade and the border width now grade the share of
    the channel's judged cases, the label counts them, and the legend states the bands;
    the successions the SOP has no flow for are graded the same."""
    sop = SopGraph("p", {"Desk": ["Receive", "Approve", "Pay"]},
                   [("Receive", "Approve"), ("Approve", "Pay")], ["Receive"], ["Pay"])
    tasks = {"Receive": TaskCounts(sync=141),
             "Approve": TaskCounts(sync=140, skipped=1),
             "Pay": TaskCounts(sync=50, skipped=91)}
    overlay = ChannelOverlay("shop", Path("shop.bpmn"), 141, tasks,
                             {("Receive", "Approve"): 140, ("Approve", "Pay"): 50,
                              ("Receive", "Pay"): 90, ("Pay", "Approve"): 1},
                             {"Receive": 141}, {"Pay": 141})
    svg = render_dot(overlay_dot(sop, overlay, title="SOP"), "svg").decode("utf-8")
    nodes = _drawn(svg, "node")
    by_task = {text.split(" | ")[0]: drawn for text, drawn in nodes.items()}
    rare, often, never = by_task["Approve"], by_task["Pay"], by_task["Receive"]
    assert _luminance(rare[0]) > _luminance(often[0]) + 0.3
    assert rare[1] < often[1] and never[1] <= rare[1]
    assert rare[0] != never[0]
    assert {"Approve | in sync: 140 cases | skipped in 1 case | deviates in 1 of 141 cases, "
            "0.7%", "Pay | in sync: 50 cases | skipped in 91 cases | deviates in 91 of 141 "
            "cases, 64.5%", "Receive | in sync: 141 cases"} <= set(nodes)
    edges = _drawn(svg, "edge")
    rare_edge = edges["1 case, 0.7% (not in SOP)"]
    often_edge = edges["90 cases, 63.8% (not in SOP)"]
    assert _luminance(rare_edge[0]) > _luminance(often_edge[0]) + 0.2
    assert rare_edge[1] < often_edge[1]
    texts = {t.text for t in etree.fromstring(svg.encode("utf-8")).iter("{*}text")}
    assert {"Share of the channel's 141 judged cases", "no deviation", "under 1%",
            "1% to under 5%", "5% to under 20%", "20% to under 50%", "50% or more"} <= texts
    # The legend's keys are drawn as the tasks of their band.
    assert nodes["under 1%"][:2] == rare[:2] and nodes["50% or more"][:2] == often[:2]


def test_the_scales_bands_and_shares() -> None:
    from reports.overlay import BANDS, NO_DEVIATION, band, share_text

    assert band(0, 141) is NO_DEVIATION and band(3, 0) is NO_DEVIATION
    assert [band(n, 100).text for n in (1, 4, 5, 19, 20, 49, 50, 100)] == [
        "1% to under 5%", "1% to under 5%", "5% to under 20%", "5% to under 20%",
        "20% to under 50%", "20% to under 50%", "50% or more", "50% or more"]
    assert band(1, 141).text == "under 1%" and band(1, 101).text == "under 1%"
    lightness = [_luminance(b.fill) for b in BANDS]
    assert lightness == sorted(lightness, reverse=True)  # darker with each band
    assert [b.width for b in BANDS] == sorted(b.width for b in BANDS)
    for b in (NO_DEVIATION, *BANDS):  # the text on each fill is legible (WCAG AA)
        light, dark = sorted((_luminance(b.fill), _luminance(b.font)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, b
    assert [share_text(n, of) for n, of in ((1, 141), (0, 5), (1, 10_000), (9_999, 10_000),
                                           (7, 7), (1, 0))] == [
        "0.7%", "0%", "under 0.1%", "over 99.9%", "100%", "no cases"]
    # A share under a band's bound never reads as the bound (6 of 121, 4.96%, read "5.0%"
    # in the band "1% to under 5%"): every share of up to 300 cases reads within its band.
    assert [share_text(n, of) for n, of in ((1, 101), (6, 121), (499, 2500))] == [
        "0.9%", "4.9%", "19.9%"]
    bounds = [0.0, *(b.below for b in BANDS)]
    for of in range(1, 301):
        for n in range(1, of):
            told = share_text(n, of)
            if told.startswith(("under", "over")):
                continue
            k = BANDS.index(band(n, of))
            assert bounds[k] <= float(told[:-1]) / 100 < bounds[k + 1], (n, of, told)


def test_each_task_of_the_sample_says_the_cases_deviating_at_it(run: CheckRun) -> None:
    """On the bundled sample (its CF findings known): each task's cases deviating at it are
    the cases of its skipped-activity, unexpected-activity and wrong-order findings, a case
    with several counted once, and the graph draws the band of their share."""
    from reports.overlay import band, overlay_graphs

    task_of = run.policy.sop_tasks()
    activity = dict(zip(run.imported.log["event:id"].astype(str),
                        run.imported.log["concept:name"].astype(str), strict=True))
    case_channel = run.imported.log.groupby("case:concept:name")["refund:channel"].first()
    cases: dict[tuple[str, str], set[str]] = {}
    for f in run.result.findings:
        if f.name in ("skipped-activity", "wrong-order"):
            tasks = set(str(f.evidence.get("tasks", "")).split(", "))
        elif f.name == "unexpected-activity":
            tasks = {task_of[activity[e]] for e in f.event_ids}
        else:
            continue
        for task in tasks:
            cases.setdefault((str(case_channel[f.case_id]), task), set()).add(f.case_id)
    assert any(len(c) > 1 for c in cases.values())
    graphs = {g.name: g for g in overlay_graphs(run)}
    seen = 0
    for overlay in channel_overlays(run):
        svg = render_dot(graphs[f"sop-{overlay.channel}"].dot, "svg").decode("utf-8")
        nodes = _drawn(svg, "node")
        for task, counts in overlay.tasks.items():
            expected = len(cases.get((overlay.channel, task), set()))
            assert counts.deviating == expected, (overlay.channel, task)
            drawn = [v for k, v in nodes.items() if k.startswith(task + " | ")]
            assert len(drawn) == 1, task
            assert drawn[0][:2] == (band(expected, overlay.cases).fill,
                                    band(expected, overlay.cases).width)
            if expected:
                seen += 1
                assert any(f"deviates in {expected} of {overlay.cases} cases" in k
                           for k in nodes), task
        assert graphs[f"sop-{overlay.channel}"].legend_title.startswith(
            f"Share of the channel's {overlay.cases} judged cases")
    assert seen > 5


def test_report_html_states_the_scale_under_each_sop_graph(run: CheckRun) -> None:
    """report.html shows the SOP graph's legend under it (swatches and bands) and says the
    scale in the caption; the DFG, which draws no deviation, has none."""
    from reports.overlay import BANDS

    view = build_view(run, graphs=report_graphs(run))
    tree = etree.HTML(render_report(view))
    bands = ["no deviation", *(b.text for b in BANDS)]
    for channel, row in run.summary()["conformance"].items():
        legend = tree.xpath(f"//figure[@id='graph-sop-{channel}']"
                            "/div[@class='graph-legend']")
        assert len(legend) == 1, channel
        assert [" ".join(li.itertext()).strip() for li in legend[0].iter("li")] == bands
        title = " ".join(legend[0].xpath("p")[0].itertext())
        assert f"Share of the channel's {row['cases']} judged cases" in title
        caption = " ".join(tree.xpath(f"//figcaption[@id='graph-sop-{channel}-caption']")[0]
                           .itertext())
        assert "; ".join(b.text for b in BANDS) in caption
        assert f"{row['cases']:,} judged cases that deviate at a task" in caption
    assert not tree.xpath("//figure[@id='graph-dfg']//div[@class='graph-legend']")


def test_the_docs_state_the_scale_as_drawn() -> None:
    """docs/reports.md's table of the bands is the scale the graphs draw."""
    import re

    from reports.overlay import BANDS, NO_DEVIATION

    text = (Path(__file__).parent.parent / "docs" / "reports.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([^|]+?) \| [^|]*?`(#[0-9a-f]{6})`[^|]* \| ([0-9.]+) pt", text,
                      flags=re.MULTILINE)
    assert rows == [(b.text, b.fill, f"{b.width:.1f}") for b in (NO_DEVIATION, *BANDS)]


def test_each_sop_graphs_caption_counts_its_own_channels_cases(run: CheckRun) -> None:
    """The caption's example of a task's count is of its own channel: on the sample, each
    number it quotes ("deviates in N of M cases, S%") is that channel's judged cases and a
    task's deviating cases of that channel, as the task's label in the graph says (before,
    every channel's caption quoted e-commerce's "1 of 141 cases"); a channel with no
    deviating task quotes no count."""
    import re

    from reports.overlay import overlay_graphs, share_text

    judged = {c: int(row["cases"]) for c, row in run.summary()["conformance"].items()}
    assert len(set(judged.values())) == 3  # (141, 97 and 62 cases)
    graphs = {g.name: g for g in overlay_graphs(run)}
    for overlay in channel_overlays(run):
        caption = graphs[f"sop-{overlay.channel}"].caption
        assert overlay.cases == judged[overlay.channel]
        quoted = re.findall(r"deviates in ([\d,]+) of ([\d,]+) cases?, ([^\"]+)", caption)
        deviating = {t: c.deviating_cases() for t, c in overlay.tasks.items()
                     if c.deviating_cases()}
        if not deviating:
            assert not quoted, overlay.channel
            continue
        assert len(quoted) == 1, (overlay.channel, caption)
        n, of, share = quoted[0]
        # The bundled sample's own numbers, written out (not read off the code that wrote
        # the caption): its most deviating task per channel and the channel's cases.
        assert (n, of) == {"ecommerce": ("6", "141"), "offline": ("6", "62"),
                           "subscription": ("2", "97")}[overlay.channel], caption
        assert int(of.replace(",", "")) == judged[overlay.channel], overlay.channel
        assert int(n.replace(",", "")) == max(deviating.values()), overlay.channel
        assert share == share_text(int(n), judged[overlay.channel])
        # The task named is one deviating in that many of the channel's cases.
        task = re.search(r"e\.g\. (.+?): \"deviates in", caption)
        assert task is not None and deviating.get(task.group(1)) == int(n), caption
    # (A channel of no deviating task: its caption quotes no count.)
    quiet = ChannelOverlay("offline", Path("offline.bpmn"), 5, {}, {}, {}, {})
    from reports.overlay import scale_text

    assert "deviates in" not in scale_text(quiet.cases, None)


# --- the SOP's flows as drawn: the model's direct successions ----------------------------------
_SOP_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_TIMER = "<timerEventDefinition/>"


def _sop_model(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sop.bpmn"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{_SOP_NS}" '
                    f'id="d" targetNamespace="t"><process id="p">{body}</process>'
                    "</definitions>", encoding="utf-8")
    return path


def _chain(*chains: str) -> str:
    return "".join(f'<sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
                   for chain in chains for a, b in itertools.pairwise(chain.split(">")))


def _tasks(*ids: str) -> str:
    return "".join(f'<task id="{i}" name="{i.upper()}"/>' for i in ids)


_SEQUENTIAL_SOPS = {
    # A timer on B cancels it: the escalation follows A directly (B never completes).
    "interrupting timer on a task": (
        '<startEvent id="s"/>' + _tasks("a", "b", "c", "x") + '<endEvent id="e"/>'
        '<endEvent id="e2"/><boundaryEvent id="t" attachedToRef="b">' + _TIMER
        + "</boundaryEvent>" + _chain("s>a>b>c>e", "t>x>e2")),
    # A timer on a sub-process: the escalation follows whichever of its tasks came last, or
    # what came before the sub-process; then the process goes on after the escalation.
    "interrupting timer on a sub-process": (
        '<startEvent id="s"/>' + _tasks("a", "d", "x")
        + '<subProcess id="sp" name="Process refund"><startEvent id="ss"/>' + _tasks("b", "c")
        + '<endEvent id="se"/>' + _chain("ss>b>c>se") + "</subProcess>"
        '<boundaryEvent id="t" attachedToRef="sp">' + _TIMER + "</boundaryEvent>"
        '<exclusiveGateway id="j"/><endEvent id="e"/>' + _chain("s>a>sp>j>d>e", "t>x>j")),
    # An error end event inside the sub-process goes on at its error boundary event, not
    # after the sub-process; the timer on the task inside it follows what came before it.
    "error end caught on a sub-process, timer on a task inside it": (
        '<startEvent id="s"/>' + _tasks("a", "d", "x")
        + '<subProcess id="sp"><startEvent id="ss"/>' + _tasks("b", "c", "y")
        + '<exclusiveGateway id="g"/><endEvent id="se"/><endEvent id="fail">'
        '<errorEventDefinition/></endEvent>'
        '<boundaryEvent id="tc" attachedToRef="c">' + _TIMER + "</boundaryEvent>"
        '<endEvent id="se2"/>' + _chain("ss>b>g>c>se", "g>fail", "tc>y>se2") + "</subProcess>"
        '<boundaryEvent id="be" attachedToRef="sp"><errorEventDefinition/>'
        '</boundaryEvent><endEvent id="e"/><endEvent id="e2"/>'
        + _chain("s>a>sp>d>e", "be>x>e2")),
    # BPMN's implicit start and end: no start or end event, in the process and in a
    # sub-process, and a sub-process without outgoing flow ending the process. (Before, the
    # graph had no start or end arrow, and no flow into or out of such a sub-process.)
    "implicit start and end": (
        _tasks("a", "d") + '<subProcess id="sp">' + _tasks("b", "c") + _chain("b>c")
        + '</subProcess><subProcess id="sp2"><startEvent id="ss"/>' + _tasks("x")
        + '<endEvent id="se"/>' + _chain("ss>x>se") + "</subProcess>" + _chain("a>sp>d>sp2")),
    # An interrupting event sub-process of the process: it may cancel the process after any
    # task, and the process then ends after its own task.
    "interrupting event sub-process": (
        '<startEvent id="s"/>' + _tasks("a", "b") + '<endEvent id="e"/>'
        '<subProcess id="esp" triggeredByEvent="true"><startEvent id="es">'
        '<messageEventDefinition/></startEvent>' + _tasks("x") + '<endEvent id="ee"/>'
        + _chain("es>x>ee") + "</subProcess>" + _chain("s>a>b>e")),
    # Nested error boundaries: the inner error goes on at the inner sub-process's boundary
    # (to Y), so no error reaches the outer one, which the conversion then lets fire at any
    # moment of the outer sub-process (after A, B or Y). (Before, the graph counted the
    # inner throw for the outer boundary too and drew no flow into X.)
    "nested error boundaries, the outer one reached by no throw": (
        '<startEvent id="s"/>' + _tasks("a", "d", "x")
        + '<subProcess id="o"><startEvent id="os"/>' + _tasks("y")
        + '<subProcess id="i"><startEvent id="is"/>' + _tasks("b")
        + '<exclusiveGateway id="g"/><endEvent id="ie"/><endEvent id="err">'
        '<errorEventDefinition/></endEvent>' + _chain("is>b>g>ie", "g>err")
        + '</subProcess><boundaryEvent id="bi" attachedToRef="i"><errorEventDefinition/>'
        '</boundaryEvent><endEvent id="oe"/><endEvent id="oe2"/>'
        + _chain("os>i>oe", "bi>y>oe2")
        + '</subProcess><boundaryEvent id="bo" attachedToRef="o"><errorEventDefinition/>'
        '</boundaryEvent><endEvent id="e"/><endEvent id="e2"/>'
        + _chain("s>a>o>d>e", "bo>x>e2")),
    # An error event sub-process that no error end event reaches never runs. (Before, the
    # graph drew A -> X, B -> X and X as a start and an end.)
    "error event sub-process without a throw": (
        '<startEvent id="s"/>' + _tasks("a", "b") + '<endEvent id="e"/>'
        '<subProcess id="esp" triggeredByEvent="true"><startEvent id="es">'
        '<errorEventDefinition/></startEvent>' + _tasks("x") + '<endEvent id="ee"/>'
        + _chain("es>x>ee") + "</subProcess>" + _chain("s>a>b>e")),
    # An interrupting escalation event sub-process takes the escalation thrown after B, and
    # may also start at any moment: X can be first and follow A; C never runs. (Before,
    # the graph drew X only after the throw and C -> X, C as an end.)
    "escalation event sub-process and a throw of it": (
        '<startEvent id="s"/>' + _tasks("a", "b", "c") + '<endEvent id="e"/>'
        '<intermediateThrowEvent id="th"><escalationEventDefinition/>'
        '</intermediateThrowEvent><subProcess id="esp" triggeredByEvent="true">'
        '<startEvent id="es"><escalationEventDefinition/></startEvent>' + _tasks("x")
        + '<endEvent id="ee"/>' + _chain("es>x>ee") + "</subProcess>"
        + _chain("s>a>b>th>c>e")),
    # An interrupting timer without outgoing flow ends its branch: here the process, after
    # A. (Before, the graph did not draw A as an end.)
    "interrupting timer without outgoing flow": (
        '<startEvent id="s"/>' + _tasks("a", "b") + '<endEvent id="e"/>'
        '<boundaryEvent id="t" attachedToRef="b">' + _TIMER + "</boundaryEvent>"
        + _chain("s>a>b>e")),
    # ... and on a sub-process nested in another, the inner sub-process: the outer one
    # goes on after B, to D. (Before, the graph had no B -> D.)
    "interrupting timer without outgoing flow on a nested sub-process": (
        '<startEvent id="s"/>' + _tasks("a", "d") + '<subProcess id="o"><startEvent id="os"/>'
        + _tasks("b") + '<subProcess id="i"><startEvent id="is"/>' + _tasks("c")
        + '<endEvent id="ie"/>' + _chain("is>c>ie") + '</subProcess><boundaryEvent id="t" '
        'attachedToRef="i">' + _TIMER + '</boundaryEvent><endEvent id="oe"/>'
        + _chain("os>b>i>oe") + '</subProcess><endEvent id="e"/>' + _chain("s>a>o>d>e")),
}


@pytest.mark.parametrize("body", list(_SEQUENTIAL_SOPS.values()), ids=list(_SEQUENTIAL_SOPS))
def test_the_sop_graph_draws_the_direct_successions_of_boundary_and_event_branches(
        tmp_path: Path, body: str) -> None:
    """The overlay draws the SOP's flows as task -> task edges. The tasks after a boundary
    event or in an event sub-process were reached from no task: drawn with no flow into
    them (as if nothing led there), and the cases taking that branch drawn as successions
    "not in SOP". Ground truth: the model's language (no concurrency here), whose adjacent
    tasks are exactly the flows to draw, its first and last tasks the start and end edges."""
    from conformance.petri import bpmn_to_workflow_net, play_out
    from reports.overlay import sop_graph

    path = _sop_model(tmp_path, body)
    conversion = bpmn_to_workflow_net(path)
    assert conversion.net is not None, [str(r) for r in conversion.refused]
    traces = play_out(conversion.net, max_length=6)
    graph = sop_graph(conversion.model)
    assert set(graph.flows) == {pair for trace in traces
                                for pair in itertools.pairwise(trace)}
    assert set(graph.starts) == {trace[0] for trace in traces if trace}
    assert set(graph.ends) == {trace[-1] for trace in traces if trace}


def test_a_non_interrupting_timer_with_no_task_draws_no_end(tmp_path: Path) -> None:
    """The bundled SOPs' SLA timer (non-interrupting, to an end event): the process goes on,
    so the tasks it may fire after are not drawn as last."""
    from conformance.bpmn import read_bpmn
    from reports.overlay import sop_graph

    path = _sop_model(tmp_path, '<startEvent id="s"/>' + _tasks("a", "b") + '<endEvent id="e"/>'
                      '<endEvent id="e2"/><boundaryEvent id="t" cancelActivity="false" '
                      'attachedToRef="b">' + _TIMER + "</boundaryEvent>"
                      + _chain("s>a>b>e", "t>e2"))
    graph = sop_graph(read_bpmn(path))
    assert (graph.flows, graph.starts, graph.ends) == ([("A", "B")], ["A"], ["B"])


def test_a_non_interrupting_escalation_boundary_fires_at_any_moment(tmp_path: Path) -> None:
    """A non-interrupting escalation boundary event on a sub-process fires at any moment it
    runs (as the conversion reads it), not only when the escalation inside is thrown: its
    task Y can follow A. (Before, the graph drew Y only after X, the throw's predecessor.)
    The language runs Y in parallel with the rest, so its interleavings are not all drawn:
    every drawn flow is a succession of it, and A -> Y is drawn."""
    from conformance.petri import bpmn_to_workflow_net, play_out
    from reports.overlay import sop_graph

    path = _sop_model(tmp_path, '<startEvent id="s"/>' + _tasks("a", "b", "y")
                      + '<subProcess id="sp"><startEvent id="ss"/>' + _tasks("x")
                      + '<endEvent id="esc"><escalationEventDefinition/></endEvent>'
                      + _chain("ss>x>esc") + '</subProcess><boundaryEvent id="be" '
                      'cancelActivity="false" attachedToRef="sp"><escalationEventDefinition/>'
                      '</boundaryEvent><endEvent id="e"/><endEvent id="e2"/>'
                      + _chain("s>a>sp>b>e", "be>y>e2"))
    conversion = bpmn_to_workflow_net(path)
    assert conversion.net is not None
    traces = play_out(conversion.net, max_length=6)
    graph = sop_graph(conversion.model)
    pairs = {pair for trace in traces for pair in itertools.pairwise(trace)}
    assert ("A", "Y") in pairs
    assert set(graph.flows) <= pairs
    assert ("A", "Y") in graph.flows
    assert set(graph.ends) == {trace[-1] for trace in traces if trace}


@pytest.mark.parametrize("name", ["pm4py-tests/more_models/Subprocess1.bpmn",
                                  "pm4py-tests/more_models/Subprocess3.bpmn",
                                  "bpmn-miwg/Reference/C.2.0.bpmn#Customer"])
def test_the_sop_graph_of_real_models_draws_only_their_successions(name: str) -> None:
    """Real models (the shared corpus): every flow drawn is a direct succession of the
    model's language, every start and end arrow a first and last task of it. Before, pm4py's
    Subprocess1 and Subprocess3 (sub-processes without start or end events) were drawn with
    a flow their language does not have (B -> D, A -> C), and MIWG C.2.0 without its end
    after 'Pay Order'."""
    from conformance.petri import bpmn_to_workflow_net, play_out
    from reports.overlay import sop_graph

    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    assert data.is_dir(), f"shared test data folder missing: {data} (expected next to the repo)"
    # (C.2.0's pools, joined by message flows in sub-processes, are read one at a time: its
    # Customer, as before the pools were read together.)
    file, _, process = name.partition("#")
    path = data / file
    assert path.is_file(), f"shared test data file missing: {path}"
    conversion = bpmn_to_workflow_net(path, process=process or None)
    assert conversion.net is not None
    traces = play_out(conversion.net, max_length=10)
    graph = sop_graph(conversion.model)
    assert set(graph.flows) <= {pair for trace in traces for pair in itertools.pairwise(trace)}
    assert set(graph.starts) == {trace[0] for trace in traces if trace}
    assert set(graph.ends) == {trace[-1] for trace in traces if trace}


def _solid_sop_arrows(dot: str, ids: dict[str, str]) -> set[tuple[str, str]]:
    """The SOP's task-to-task arrows a DOT text draws (not the dotted 'not in SOP' ones, nor
    start, end or the legend), by task name."""
    name = {v: k for k, v in ids.items()}
    out = set()
    for line in dot.splitlines():
        head, arrow, tail = line.strip().partition(" -> ")
        if not arrow or "style=dotted" in line:
            continue
        target = tail.split(" ", 1)[0]
        if head in name and target in name:
            out.add((name[head], name[target]))
    return out


def test_a_dense_sops_graph_draws_the_arrows_cases_took_and_says_what_it_left_out() -> None:
    """An auditor's run on a real model (pm4py's receipt.bpmn, a permissive model of 27
    tasks whose runs let nearly any task follow any other: 630 task-to-task arrows): every
    arrow was drawn, each with its label, so Graphviz laid out 658 labelled arrows twice
    (SVG, PNG): the check of its 8,577 events spent minutes in 'writing the graphs report'
    (rules 26 s) for a 16,238-point-wide picture, 16.8 MB as PNG, no one can read. Past
    MAX_SOP_ARROWS, the arrows no case took are left out, the most taken kept up to it, and
    the caption says how many of the SOP's arrows are drawn and why."""
    from conformance.bpmn import read_bpmn
    from reports.overlay import MAX_SOP_ARROWS, sop_arrows_text, sop_graph

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "pm4py-tests"
    assert data.is_dir(), f"shared test data folder missing: {data} (expected next to the repo)"
    sop = sop_graph(read_bpmn(data / "receipt.bpmn"))
    assert len(sop.flows) > 4 * MAX_SOP_ARROWS  # (630: the model lets most tasks follow most)
    tasks = [t for names in sop.lanes.values() for t in names]
    ids = {t: f"t{i}" for i, t in enumerate(tasks)}
    # Cases took 40 of the SOP's arrows, with distinct counts; one pair the SOP has no arrow
    # for is drawn dotted as ever.
    taken = {pair: 1000 - 7 * i for i, pair in enumerate(sop.flows[::15][:40])}
    outside = next((a, b) for a in tasks for b in tasks if (a, b) not in set(sop.flows))
    overlay = ChannelOverlay("(no channel)", data / "receipt.bpmn", 1434,
                             {t: TaskCounts(sync=10) for t in tasks},
                             {**taken, outside: 3}, {}, {})
    dot = overlay_dot(sop, overlay, title="SOP")
    assert _solid_sop_arrows(dot, ids) == set(taken)
    assert "3 cases, 0.2% (not in SOP)" in dot
    text = sop_arrows_text(sop, overlay)
    assert f"{len(sop.flows):,} arrows" in text and "40 " in text
    assert f"{len(sop.flows) - 40:,} " in text and "no case took" in text
    # More arrows taken than can be drawn: the most taken, up to the bound.
    many = {pair: 10_000 - i for i, pair in enumerate(sop.flows[:MAX_SOP_ARROWS + 20])}
    crowded = ChannelOverlay("(no channel)", data / "receipt.bpmn", 1434,
                             {t: TaskCounts(sync=10) for t in tasks}, many, {}, {})
    drawn = _solid_sop_arrows(overlay_dot(sop, crowded, title="SOP"), ids)
    assert drawn == set(sop.flows[:MAX_SOP_ARROWS])
    assert "the 150 most taken" in sop_arrows_text(sop, crowded)
    # A SOP within the bound is drawn whole, its untaken arrows dashed, and no word said.
    small = SopGraph("p", {"": ["A", "B", "C"]}, [("A", "B"), ("B", "C"), ("A", "C")],
                     ["A"], ["C"])
    few = ChannelOverlay("x", Path("p.bpmn"), 5, {t: TaskCounts(sync=5) for t in "ABC"},
                         {("A", "B"): 5, ("B", "C"): 5}, {"A": 5}, {"C": 5})
    small_dot = overlay_dot(small, few, title="SOP")
    assert _solid_sop_arrows(small_dot, {"A": "t0", "B": "t1", "C": "t2"}) == set(small.flows)
    assert "style=dashed" in small_dot and sop_arrows_text(small, few) == ""


def _dense_sop(one_pool: str | None = None) -> SopGraph:
    """An SOP of 13 tasks each of which may follow each other: 156 task-to-task arrows,
    six past MAX_SOP_ARROWS."""
    tasks = [f"T{i:02d}" for i in range(13)]
    flows = [(a, b) for a in tasks for b in tasks if a != b]
    return SopGraph("dense", {"": tasks}, flows, [tasks[0]], [tasks[-1]], one_pool=one_pool,
                    other_pools=("Finance",) if one_pool else ())


def _taking(sop: SopGraph, taken: int) -> ChannelOverlay:
    """The channel's cases taking the SOP's first `taken` arrows, the first most often."""
    tasks = [t for names in sop.lanes.values() for t in names]
    return ChannelOverlay("x", Path("dense.bpmn"), 500, {t: TaskCounts(sync=5) for t in tasks},
                          {pair: 1000 - i for i, pair in enumerate(sop.flows[:taken])}, {}, {})


@pytest.mark.parametrize(("taken", "text"), [
    (0, " The SOP has 156 arrows between its tasks, too many to draw legibly, and no case "
        "took any of them: none is drawn."),
    (1, " The SOP has 156 arrows between its tasks, too many to draw legibly: the 1 that "
        "cases took is drawn; 155 are left out (no case took them)."),
    (40, " The SOP has 156 arrows between its tasks, too many to draw legibly: the 40 that "
         "cases took are drawn; 116 are left out (no case took them)."),
    (151, " The SOP has 156 arrows between its tasks, too many to draw legibly: the 150 most "
          "taken of the 151 that cases took are drawn; 6 are left out: 1 taken less often, "
          "5 no case took."),
    (156, " The SOP has 156 arrows between its tasks, too many to draw legibly: the 150 most "
          "taken of the 156 that cases took are drawn; 6 are left out: 6 taken less often."),
])
def test_the_caption_of_a_dense_sop_says_exactly_what_is_drawn(taken: int, text: str) -> None:
    """The caption's sentence on a dense SOP's arrows, as many as cases took: with none
    taken it said 'the 0 that cases took are drawn', with one 'the 1 that cases took are
    drawn', and with 151 taken '6 are left out (5 that no case took)', leaving the sixth
    unexplained. The arrows the graph draws are as many as it says."""
    from reports.overlay import sop_arrows, sop_arrows_text

    sop = _dense_sop()
    overlay = _taking(sop, taken)
    assert sop_arrows_text(sop, overlay) == text
    assert len(sop_arrows(sop, overlay)) == min(taken, 150)
    tasks = [t for names in sop.lanes.values() for t in names]
    ids = {t: f"t{i}" for i, t in enumerate(tasks)}
    assert len(_solid_sop_arrows(overlay_dot(sop, overlay, title="SOP"), ids)) == min(taken, 150)


def test_a_dense_sops_caption_tells_the_arrows_left_out_beside_what_arrows_are() -> None:
    """The caption said what the arrows are ('Arrows are the SOP's flows ...'), then which
    pool of the file is drawn, and only after that that most of the SOP's arrows are not
    drawn: the sentence on the arrows left out follows the one on what they are."""
    from reports.overlay import arrows_text, one_pool_text, sop_arrows_text, sop_caption

    sop = _dense_sop(one_pool="'Shop' (the pools do not read as one)")
    overlay = _taking(sop, 40)
    caption = sop_caption(sop, overlay, fitness=0.875)
    arrows, left_out, pool = arrows_text(sop), sop_arrows_text(sop, overlay), one_pool_text(sop)
    assert arrows and left_out and pool
    assert arrows + left_out + pool in caption
    assert caption.startswith("The SOP of channel x (dense.bpmn) with the 500 judged cases "
                              "on it (fitness 0.875).")
