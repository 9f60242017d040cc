"""Alignments on our converted nets: costs equal pm4py's (with either engine, r4pm or pm4py),
deviations read correctly, and a play-out of each bundled SOP fits with no CF finding."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.engine import run_rules
from audit.rules.registry import default_rules
from conformance.align import Aligner, Alignment, LanguageReplay, Move, resolve_engine
from conformance.deviations import deviations_of, lane_roles
from conformance.petri import WorkflowNet, bpmn_to_workflow_net, play_out, to_pm4py
from tests.rules.logbuilder import build_log

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pm4py-tests"
MODELS = Path(__file__).resolve().parents[1] / "models"
CF = {"skipped-activity", "unexpected-activity", "wrong-order", "unfit-case"}
ENGINES = ("r4pm", "pm4py")
RULES = default_rules()


def _net(path: Path) -> WorkflowNet:
    conversion = bpmn_to_workflow_net(path)
    assert conversion.net is not None, conversion.refused
    return conversion.net


def _pm4py_costs(net: WorkflowNet, traces: list[tuple[str, ...]]) -> list[int]:
    """pm4py's own alignment costs (in moves) of `traces` on the same net."""
    import pm4py

    rows = [{"case:concept:name": f"{i:06d}", "concept:name": a,
             "time:timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(minutes=j)}
            for i, t in enumerate(traces) for j, a in enumerate(t)]
    frame = pd.DataFrame(rows)
    pn, initial, final = to_pm4py(net)
    aligned: list[dict[str, Any]] = pm4py.conformance_diagnostics_alignments(
        frame, pn, initial, final)
    return [int(a["cost"]) // 10_000 for a in aligned]


def _variants(csv: Path, cases: int) -> list[tuple[str, ...]]:
    frame = pd.read_csv(csv)
    frame["time:timestamp"] = pd.to_datetime(frame["time:timestamp"], utc=True)
    frame = frame.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    ids = list(dict.fromkeys(frame["case:concept:name"]))[:cases]
    grouped = frame[frame["case:concept:name"].isin(ids)].groupby("case:concept:name", sort=False)
    return list(dict.fromkeys(tuple(g["concept:name"]) for _, g in grouped))


def _assert_costs_equal(net: WorkflowNet, variants: list[tuple[str, ...]], engine: str) -> None:
    ours = Aligner(net, engine=engine, processes=1).align(variants)
    theirs = _pm4py_costs(net, variants)
    assert [ours[v].cost for v in variants] == theirs
    for alignment in ours.values():
        # The moves replay the variant on the log side, and the cost counts the non-sync ones.
        assert tuple(m.log for m in alignment.moves if m.log is not None) == alignment.variant
        assert alignment.cost == sum(1 for m in alignment.moves if m.kind != "sync")


@pytest.mark.parametrize("engine", ENGINES)
def test_costs_equal_pm4py_on_running_example(engine: str) -> None:
    net = _net(SHARED / "running-example.bpmn")
    _assert_costs_equal(net, _variants(SHARED / "running-example.csv", 100), engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_costs_equal_pm4py_on_receipt(engine: str) -> None:
    net = _net(SHARED / "receipt.bpmn")
    variants = _variants(SHARED / "receipt.csv", 300)
    assert len(variants) > 20
    _assert_costs_equal(net, variants, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_costs_equal_pm4py_on_a_sample_log(tmp_path: Path, engine: str) -> None:
    from audit.ingest import import_sources
    from audit.sample import SampleSpec, write_sample

    write_sample(SampleSpec("ecommerce", 400, 5, 0.5), tmp_path)
    log = import_sources([(tmp_path / "canonical.csv", None)]).log
    policy = load_policy(default_policy_path())
    tasks = policy.sop_tasks()
    log = log[log["concept:name"].isin(list(tasks))].sort_values(
        ["case:concept:name", "time:timestamp", "event:id"])
    variants = list(dict.fromkeys(
        tuple(g["concept:name"].map(tasks)) for _, g in log.groupby("case:concept:name")))
    assert len(variants) > 5
    _assert_costs_equal(_net(MODELS / "ecommerce.bpmn"), variants, engine)


def test_engines_agree_on_costs_and_worst_costs_of_deviating_variants() -> None:
    """Every single-task deletion and adjacent swap of the SOP's play-out, on both engines."""
    net = _net(MODELS / "offline.bpmn")
    traces = sorted(play_out(net, max_length=9))
    variants = list(dict.fromkeys(
        [t[:k] + t[k + 1:] for t in traces for k in range(len(t))]
        + [(*t[:k], t[k + 1], t[k], *t[k + 2:]) for t in traces for k in range(len(t) - 1)]))
    r4pm = Aligner(net, engine="r4pm", processes=1).align(variants)
    pm4py = Aligner(net, engine="pm4py", processes=1).align(variants)
    assert any(a.cost for a in r4pm.values())
    assert {v: (a.cost, a.worst_cost) for v, a in r4pm.items()} == {
        v: (a.cost, a.worst_cost) for v, a in pm4py.items()}


def test_r4pm_search_bound_marks_the_variant_bounded() -> None:
    net = _net(MODELS / "ecommerce.bpmn")
    variant = ("Close ticket", "Execute payout", "Approve refund", "Receive refund request")
    bounded = Aligner(net, engine="r4pm", max_states=3, processes=1).align([variant])[variant]
    assert bounded.bounded and bounded.cost is None and not bounded.fits
    assert bounded.worst_cost == len(variant) + Aligner(net, engine="r4pm").engine.model_only
    full = Aligner(net, engine="r4pm", processes=1).align([variant])[variant]
    assert not full.bounded and full.cost is not None and full.cost > 0


def test_pm4py_search_bound_marks_the_variant_bounded() -> None:
    """A tight `max_seconds` bounds the variants, not the search of the model alone (which
    every worst cost needs): before, that search hit the bound too and was read as a net
    whose final marking cannot be reached (ValueError in every CF rule)."""
    net = _net(MODELS / "ecommerce.bpmn")
    variant = ("Close ticket", "Execute payout", "Approve refund", "Receive refund request")
    fitting = min(play_out(net, max_length=8), key=len)
    tight = Aligner(net, engine="pm4py", max_seconds=1e-6, processes=1).align(
        [variant, fitting])
    default = Aligner(net, engine="pm4py", processes=1)
    bounded = tight[variant]
    assert bounded.bounded and bounded.cost is None and not bounded.fits
    assert bounded.worst_cost == len(variant) + default.engine.model_only
    assert tight[fitting].fits and not tight[fitting].bounded  # (exact replay: no search)
    full = default.align([variant])[variant]
    assert not full.bounded and full.cost is not None and full.cost > 0


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unreachable_final_marking_is_not_a_search_bound(engine: str) -> None:
    from conformance.petri import Transition

    # The one transition also needs a token in "x", which nothing puts there.
    net = WorkflowNet(places=("i", "o", "x"), transitions=(Transition("t", "A", None),),
                      arcs=(("i", "t"), ("x", "t"), ("t", "o")), source="i", sink="o")
    with pytest.raises(ValueError, match="the net's final marking cannot be reached"):
        _ = Aligner(net, engine=engine, max_seconds=1e-6, max_states=3, processes=1).engine


@pytest.mark.parametrize("engine", ENGINES)
def test_the_model_alone_hitting_the_bound_is_not_an_unreachable_marking(
        engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the default bound too small for the model alone, the error says so (it is not
    read as a net whose final marking cannot be reached)."""
    import conformance.align

    monkeypatch.setattr(conformance.align, "MAX_SECONDS_PER_VARIANT", 1e-6)
    monkeypatch.setattr(conformance.align, "MAX_STATES_PER_VARIANT", 1)
    net = _net(MODELS / "ecommerce.bpmn")
    with pytest.raises(ValueError, match="the model alone could not be aligned within"):
        _ = Aligner(net, engine=engine, max_seconds=1e-6, max_states=1, processes=1).engine


def test_cf_rules_with_a_tight_pm4py_bound_report_bounded_cases(policy: Policy) -> None:
    """`conformance: {engine: pm4py, max_seconds: 0.000001}`: the cases that do not fit are
    not aligned within the bound (CF004), the fitting ones fit; no rule crashes."""
    from dataclasses import replace

    net = _net(MODELS / "ecommerce.bpmn")
    fitting = min(play_out(net, max_length=8), key=len)
    cases = {"FIT": {"channel": "ecommerce", "events": [{"a": a} for a in fitting]},
             "SKIP": {"channel": "ecommerce", "events": [{"a": a} for a in fitting[:-1]]}}
    log = build_log(cases, policy, source="tight bound")
    tight = replace(policy, conformance=replace(policy.conformance, engine="pm4py",
                                                max_seconds=1e-6))
    assert policy.as_of is not None
    result = run_rules(log, tight, RULES, as_of=policy.as_of)
    assert result.errors == []
    assert {(f.case_id, f.name) for f in result.findings if f.name in CF} == {
        ("SKIP", "unfit-case")}
    summary: Any = result.extra["conformance"]
    assert summary["ecommerce"]["bounded_variants"] == 1
    assert summary["ecommerce"]["fitting_cases"] == 1


def test_engine_names_are_checked() -> None:
    assert resolve_engine("pm4py") == "pm4py"
    assert resolve_engine("auto") == "r4pm"  # installed with the mining extra
    with pytest.raises(ValueError, match="unknown alignment engine"):
        resolve_engine("fast")


@pytest.mark.parametrize("engine", ENGINES)
def test_parallel_alignments_equal_sequential(engine: str) -> None:
    net = _net(MODELS / "subscription.bpmn")
    traces = sorted(play_out(net, max_length=9))
    variants = [t[:k] + t[k + 1:] for t in traces for k in range(len(t))][:80]
    sequential = Aligner(net, engine=engine, processes=1).align(variants)
    parallel = Aligner(net, engine=engine, processes=2, parallel_from=10).align(variants)
    assert sequential == parallel


def test_a_search_bound_is_never_fitting() -> None:
    bounded = Alignment(("a",), worst_cost=3, bounded=True)
    assert not bounded.fits and bounded.fitness is None


def test_deviations_of_an_alignment() -> None:
    moves = (Move("req", "req"), Move(None, "ev"), Move("app", "app"), Move("ev", None),
             Move(None, "notify"), Move("pay", "pay"), Move("pay", None))
    found = deviations_of(Alignment(("req", "app", "ev", "pay", "pay"), moves, 4, 9),
                          ("e1", "e2", "e3", "e4", "e5"))
    assert [(d.kind, d.task, d.event_ids) for d in found] == [
        ("wrong-order", "ev", ("e3",)), ("skipped", "notify", ("e3", "e4")),
        ("inserted", "pay", ("e5",))]


def test_a_task_skipped_and_inserted_pairs_one_skip_with_one_insertion() -> None:
    """A task skipped once and inserted twice is one wrong-order (the first insertion) and
    one insertion (the second); skipped twice and inserted once, one wrong-order and one
    skip (the events around the second gap). Not every move of the name in one finding."""
    moves = (Move("A", "A"), Move(None, "N"), Move("B", "B"), Move("C", "C"),
             Move("D", "D"), Move("N", None), Move("N", None))
    found = deviations_of(Alignment(("A", "B", "C", "D", "N", "N"), moves, 3, 11),
                          ("a1", "b1", "c1", "d1", "n1", "n2"))
    assert [(d.kind, d.task, d.event_ids) for d in found] == [
        ("wrong-order", "N", ("n1",)), ("inserted", "N", ("n2",))]
    moves = (Move("A", "A"), Move(None, "N"), Move("B", "B"), Move(None, "N"),
             Move("C", "C"), Move("D", "D"), Move("N", None))
    found = deviations_of(Alignment(("A", "B", "C", "D", "N"), moves, 3, 11),
                          ("a1", "b1", "c1", "d1", "n1"))
    assert [(d.kind, d.task, d.event_ids) for d in found] == [
        ("wrong-order", "N", ("n1",)), ("skipped", "N", ("b1", "c1"))]


def _sequence_bpmn(path: Path, tasks: list[str]) -> Path:
    """A BPMN file of one process: the tasks in sequence."""
    nodes = ["s", *(f"t{i}" for i in range(len(tasks))), "e"]
    path.write_text(
        '<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' id="d"><process id="p"><startEvent id="s"/><endEvent id="e"/>'
        + "".join(f'<task id="t{i}" name="{t}"/>' for i, t in enumerate(tasks))
        + "".join(f'<sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                  for i, (a, b) in enumerate(itertools.pairwise(nodes)))
        + "</process></definitions>", encoding="utf-8")
    return path


@pytest.mark.parametrize(("model", "variant", "expected"), [
    (["A", "N", "B", "C", "D"], ("A", "B", "C", "D", "N", "N"),
     [("wrong-order", "N", ("e4",)), ("inserted", "N", ("e5",))]),
    (["A", "N", "B", "N", "C", "D"], ("A", "B", "C", "D", "N"),
     [("wrong-order", "N", ("e4",)), ("skipped", "N", ("e1", "e2"))]),
])
def test_both_engines_pair_the_skips_and_insertions_of_a_task(
        tmp_path: Path, model: list[str], variant: tuple[str, ...],
        expected: list[tuple[str, str, tuple[str, ...]]]) -> None:
    net = _net(_sequence_bpmn(tmp_path / "sop.bpmn", model))
    eids = tuple(f"e{i}" for i in range(len(variant)))
    [cost] = _pm4py_costs(net, [variant])
    for engine in ENGINES:
        alignment = Aligner(net, engine=engine, processes=1).align([variant])[variant]
        assert alignment.cost == cost == 3
        found = deviations_of(alignment, eids)
        assert [(d.kind, d.task, d.event_ids) for d in found] == expected, engine


def _gateway_bpmn(path: Path, tasks: dict[str, str], gateways: dict[str, str],
                  flows: list[tuple[str, str]]) -> Path:
    """A BPMN file of one process: a start event `s`, an end event `e`, the tasks (id ->
    name), the gateways (id -> exclusiveGateway or parallelGateway) and the flows."""
    path.write_text(
        '<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' id="d"><process id="p"><startEvent id="s"/><endEvent id="e"/>'
        + "".join(f'<task id="{i}" name="{n}"/>' for i, n in tasks.items())
        + "".join(f'<{kind} id="{i}"/>' for i, kind in gateways.items())
        + "".join(f'<sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                  for i, (a, b) in enumerate(flows))
        + "</process></definitions>", encoding="utf-8")
    return path


@pytest.mark.parametrize("done", ["B", "C"])
def test_a_branch_done_late_is_wrong_order_not_the_other_branch_skipped(
        tmp_path: Path, done: str) -> None:
    """A, then B or C, then D. The case A, D, C did C (the branch it chose) after D: a
    wrong-order of C. Moving C on both sides and moving B on the model's side with C on the
    log's cost the same (2), and the tie-breaker took the task first by name: A, D, B was
    a wrong-order of B, but A, D, C was `skipped B` and `unexpected C`, a finding of a
    step the case never had to take."""
    net = _net(_gateway_bpmn(
        tmp_path / "sop.bpmn", {"a": "A", "b": "B", "c": "C", "d": "D"},
        {"x": "exclusiveGateway", "y": "exclusiveGateway"},
        [("s", "a"), ("a", "x"), ("x", "b"), ("x", "c"), ("b", "y"), ("c", "y"), ("y", "d"),
         ("d", "e")]))
    variant = ("A", "D", done)
    [cost] = _pm4py_costs(net, [variant])
    for engine in ENGINES:
        alignment = Aligner(net, engine=engine, processes=1).align([variant])[variant]
        assert alignment.cost == cost == 2
        found = deviations_of(alignment, ("e0", "e1", "e2"))
        assert [(d.kind, d.task, d.event_ids) for d in found] == [
            ("wrong-order", done, ("e2",))], engine


@pytest.mark.parametrize(("variant", "expected"), [
    # A, B, C, B, C, D with the second B and C swapped.
    (("A", "B", "C", "C", "B", "D"), [("wrong-order", "B", ("e4",))]),
    # A, B, C, B, C, D, with C done once more and before its B.
    (("A", "B", "C", "C", "B", "C", "D"), [("inserted", "C", ("e2",))]),
])
def test_a_swap_in_a_loop_is_a_wrong_order_not_two_unexpected_events(
        tmp_path: Path, variant: tuple[str, ...],
        expected: list[tuple[str, str, tuple[str, ...]]]) -> None:
    """A, then B and C once or more, then D. The case A, B, C, C, B, D did its second round
    in the wrong order. Moving C and B on the log alone (two unexpected events) costs 2 as
    moving B to its place does (a wrong-order), and by the events' positions the search took
    the two unexpected events: two CF002 findings for a swap."""
    net = _net(_gateway_bpmn(
        tmp_path / "sop.bpmn", {"a": "A", "b": "B", "c": "C", "d": "D"},
        {"x": "exclusiveGateway", "y": "exclusiveGateway"},
        [("s", "a"), ("a", "x"), ("x", "b"), ("b", "c"), ("c", "y"), ("y", "x"), ("y", "d"),
         ("d", "e")]))
    [cost] = _pm4py_costs(net, [variant])
    eids = tuple(f"e{i}" for i in range(len(variant)))
    for engine in ENGINES:
        alignment = Aligner(net, engine=engine, processes=1).align([variant])[variant]
        assert alignment.cost == cost
        found = deviations_of(alignment, eids)
        assert [(d.kind, d.task, d.event_ids) for d in found] == expected, engine


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(default_policy_path(), known_rules=RULES.known)


@pytest.mark.parametrize("channel", ["ecommerce", "subscription", "offline"])
def test_play_out_of_each_sop_fits_with_no_cf_finding(policy: Policy, channel: str) -> None:
    sop = policy.sop_path(channel)
    assert sop is not None and sop.exists()
    traces = sorted(play_out(_net(sop), max_length=10))
    assert len(traces) >= 4
    cases = {f"P{i:03d}": {"channel": channel, "events": [{"a": a} for a in t]}
             for i, t in enumerate(traces)}
    log = build_log(cases, policy, source="play-out")
    assert policy.as_of is not None
    result = run_rules(log, policy, RULES, as_of=policy.as_of)
    assert result.errors == []
    assert [f for f in result.findings if f.name in CF] == []
    summary: Any = result.extra["conformance"]
    assert summary[channel]["fitness"] == 1.0
    assert summary[channel]["fitting_cases"] == len(traces)
    assert 0 < summary[channel]["precision"] <= 1


def test_token_replay_mode_finds_the_same(tmp_path: Path, policy: Policy) -> None:
    from dataclasses import replace

    from audit.ingest import import_sources
    from audit.sample import SampleSpec, write_sample

    write_sample(SampleSpec("all", 300, 3, 0.6), tmp_path)
    log = import_sources([(tmp_path / "canonical.csv", None)]).log
    assert policy.as_of is not None
    fast = replace(policy, conformance=replace(policy.conformance, mode="token-replay"))
    one = run_rules(log, policy, RULES, as_of=policy.as_of)
    two = run_rules(log, fast, RULES, as_of=policy.as_of)
    pairs = [{(f.case_id, f.name) for f in r.findings if f.name in CF} for r in (one, two)]
    assert pairs[0] == pairs[1] and pairs[0]
    assert one.extra["conformance"] == two.extra["conformance"] or all(
        a["fitness"] == b["fitness"] for a, b in zip(
            dict(one.extra["conformance"]).values(),  # type: ignore[call-overload]
            dict(two.extra["conformance"]).values(), strict=True))  # type: ignore[call-overload]


def test_token_replay_does_not_fit_a_case_holding_an_activity_outside_its_sop(
        policy: Policy) -> None:
    """pm4py's token replay passes over an activity the net has no transition for and calls
    the trace fit. "Calculate pro-rata amount" (a subscription task the policy maps) in an
    e-commerce case is an unexpected activity in both modes (before: token-replay mode
    reported the case as fitting, with no CF002 and fitness 1.0)."""
    from conformance.deviations import check_conformance, sop_net

    tasks = policy.sop_tasks()
    net = sop_net(policy.sop_path("ecommerce"))
    assert "Calculate pro-rata amount" in tasks and "Calculate pro-rata amount" not in net.labels
    fitting = min(play_out(net, max_length=8), key=len)
    trace = [fitting[0], "Calculate pro-rata amount", *fitting[1:]]
    events = pd.DataFrame([{"case:concept:name": "C1", "concept:name": a, "event:id": f"e{i}",
                            "refund:channel": "ecommerce"} for i, a in enumerate(trace)])
    found = {}
    for mode in ("alignments", "token-replay"):
        result = check_conformance(events, tasks, policy.sop_path, mode=mode,
                                   with_precision=False)
        case = result.cases["C1"]
        found[mode] = (case.alignment.cost, result.channels["ecommerce"].fitting_cases,
                       [(d.kind, d.task) for d in case.deviations])
    assert found["token-replay"] == found["alignments"] == (
        1, 0, [("inserted", "Calculate pro-rata amount")])


@pytest.mark.parametrize("blank", [(0,), (0, 1)])
def test_a_case_whose_first_tasks_name_no_channel_is_judged_on_its_channels_sop(
        policy: Policy, blank: tuple[int, ...]) -> None:
    """A case's channel is that of its first event naming one, as every other rule reads
    it. Conformance took the channel of the case's first task alone: a request without a
    channel put the case in no channel, and its skipped notification was no finding."""
    trace = ["Receive refund request", "Collect evidence", "Approve refund", "Execute payout",
             "Close ticket"]
    cases = {"C1": {"events": [{"a": a} for a in trace]},
             "C2": {"events": [{"a": a} for a in trace]}}
    log = build_log(cases, policy, source="channel")
    first = log.index[log["case:concept:name"] == "C1"][list(blank)]
    log.loc[first, "refund:channel"] = pd.NA
    assert policy.as_of is not None
    result = run_rules(log, policy, RULES, as_of=policy.as_of)
    assert result.errors == []
    skipped = sorted((f.case_id, f.evidence["tasks"]) for f in result.findings
                     if f.name == "skipped-activity")
    assert skipped == [("C1", "Notify customer"), ("C2", "Notify customer")]
    summary: Any = result.extra["conformance"]
    assert list(summary) == ["ecommerce"] and summary["ecommerce"]["cases"] == 2


def test_the_pm4py_engines_tie_breakers_never_outweigh_a_deviation() -> None:
    """The pm4py engine adds a tie-breaker per move (1,000 per task rank) to a deviation's
    cost of 10^7. In a choice between 101 tasks named late and 102 named early, the empty
    trace's 101 model moves carried more tie-breaking than one more deviation: the search
    returned the 102-task branch, cost 102 for an optimal 101 (and so every worst cost
    of the model was one too high). r4pm and pm4py's standard costs give 101."""
    from conformance.petri import Transition

    places, transitions, arcs = ["source", "sink"], [], []
    for branch, length in (("z", 101), ("a", 102)):
        before = "source"
        for i in range(length):
            name = f"{branch}{i:03d}"
            after = "sink" if i == length - 1 else f"p_{name}"
            if after != "sink":
                places.append(after)
            transitions.append(Transition(f"t_{name}", name, None))
            arcs += [(before, f"t_{name}"), (f"t_{name}", after)]
            before = after
    net = WorkflowNet(tuple(places), tuple(transitions), tuple(arcs), "source", "sink")
    aligner = Aligner(net, engine="pm4py", processes=1)
    assert aligner.engine.model_only == 101
    assert aligner.align([()])[()].cost == 101  # the shorter branch, by construction


def test_lane_roles_of_the_bundled_sop() -> None:
    roles = lane_roles(MODELS / "ecommerce.bpmn")
    assert roles["Approve refund"] == ("supervisor",)
    assert roles["Approve refund (second level)"] == ("finance",)


def test_importing_conformance_does_not_import_pm4py() -> None:
    code = ("import sys, conformance.align, conformance.deviations, audit.rules.registry; "
            "audit.rules.registry.default_rules(); assert 'pm4py' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("model", ["ecommerce", "subscription", "offline"])
def test_language_replay_agrees_with_the_search(model: str) -> None:
    """Exact replay says 'fits' exactly where the search finds cost 0; results are equal."""
    net = _net(MODELS / f"{model}.bpmn")
    traces = sorted(play_out(net, max_length=10))
    variants = list(dict.fromkeys(
        traces + [t[:k] + t[k + 1:] for t in traces for k in range(len(t))]
        + [(*t[:k], t[k + 1], t[k], *t[k + 2:]) for t in traces for k in range(len(t) - 1)]
        + [(*t, t[-1]) for t in traces] + [(), ("not a task",)]))
    replay = LanguageReplay(net)
    searched = Aligner(net, engine="r4pm", processes=1, replay_first=False).align(variants)
    assert [replay.fits(v) for v in variants] == [searched[v].cost == 0 for v in variants]
    assert replay.usable and any(a.cost for a in searched.values())
    assert Aligner(net, engine="r4pm", processes=1).align(variants) == searched


def test_language_replay_on_the_shared_receipt_model() -> None:
    net = _net(SHARED / "receipt.bpmn")
    variants = _variants(SHARED / "receipt.csv", 300)
    replay = LanguageReplay(net)
    searched = Aligner(net, engine="r4pm", processes=1, replay_first=False).align(variants)
    assert [replay.fits(v) for v in variants] == [searched[v].cost == 0 for v in variants]


def test_language_replay_gives_up_on_a_net_that_is_not_safe() -> None:
    """t puts a second token in p when it fires twice: the replay stops, the search decides."""
    from conformance.petri import Transition

    net = WorkflowNet(places=("i", "p", "o"),
                      transitions=(Transition("a", "A", None), Transition("b", "B", None),
                                   Transition("c", "C", None)),
                      arcs=(("i", "a"), ("a", "i"), ("a", "p"), ("p", "b"), ("b", "o"),
                            ("i", "c"), ("c", "o")),
                      source="i", sink="o")
    replay = LanguageReplay(net)
    assert replay.fits(("A", "A")) is None and not replay.usable
    assert replay.fits(("C",)) is None


def _pm4py_precision(net: WorkflowNet, traces: list[tuple[str, ...]]) -> float:
    from pm4py.algo.evaluation.precision import algorithm as precision_evaluator
    from pm4py.objects.log.obj import Event, EventLog, Trace

    pn, initial, final = to_pm4py(net)
    log = EventLog([Trace([Event({"concept:name": a}) for a in t]) for t in traces])
    return float(precision_evaluator.apply(
        log, pn, initial, final, variant=precision_evaluator.Variants.ETCONFORMANCE_TOKEN,
        parameters={"show_progress_bar": False}))


@pytest.mark.parametrize("model", ["ecommerce", "subscription", "offline"])
def test_precision_from_variants_equals_pm4py_on_every_trace(model: str) -> None:
    """Precision from the distinct traces weighted by their cases equals pm4py's
    ETConformance over every trace: on the SOP's play-out with deviations mixed in, and on
    a log that uses only part of the model (clearly below 1)."""
    import random

    from conformance.align import precision

    net = _net(MODELS / f"{model}.bpmn")
    played = sorted(play_out(net, max_length=10))
    tasks = sorted({a for t in played for a in t})
    rng = random.Random(model)
    traces: list[tuple[str, ...]] = []
    for _ in range(2000):
        trace = list(rng.choice(played))
        if rng.random() < 0.3:
            k = rng.randrange(len(trace))
            kind = rng.choice(("drop", "swap", "insert"))
            if kind == "drop":
                del trace[k]
            elif kind == "swap":
                trace[k], trace[-1] = trace[-1], trace[k]
            else:
                trace.insert(k, rng.choice(tasks))
        if trace:
            traces.append(tuple(trace))
    assert len(set(traces)) > 20
    partial = [played[0]] * 5 + [played[-1]] * 2
    for log in (traces, partial):
        assert precision(net, log) == _pm4py_precision(net, log)
        # The same log as its variants and their numbers of cases (check_conformance's way).
        assert precision(net, variants=Counter(log)) == precision(net, log)
    assert precision(net, partial) < 0.9
    assert precision(net, []) is None
    assert precision(net, variants={}) is None


def test_check_conformance_groups_events_that_do_not_come_grouped_by_case() -> None:
    """Events interleaved across cases give each case the same variant, event ids (in their
    order), alignment and deviations as grouped events, the cases in first-seen order."""
    from conformance.deviations import check_conformance

    policy = load_policy(default_policy_path())
    tasks = policy.sop_tasks()
    cases = {"c2": SWAPS_FOR_GROUPING[0], "c1": SWAPS_FOR_GROUPING[1],
             "c3": SWAPS_FOR_GROUPING[2]}
    label_of = {task: label for label, task in reversed(list(tasks.items()))}
    rows = [{"case:concept:name": case, "concept:name": label_of[task],
             "event:id": f"{case}-e{i}", "refund:channel": "ecommerce"}
            for case, variant in cases.items() for i, task in enumerate(variant)]
    grouped = pd.DataFrame(rows)
    # Round robin over the cases: every case's events keep their order, no case is one run.
    interleaved = pd.DataFrame(sorted(rows, key=lambda r: (int(r["event:id"].split("-e")[1]),
                                                           list(cases).index(
                                                               r["case:concept:name"]))))
    results = [check_conformance(frame, tasks, policy.sop_path, engine="r4pm")
               for frame in (grouped, interleaved)]
    assert list(results[0].cases) == list(results[1].cases) == ["c2", "c1", "c3"]
    assert results[0].cases == results[1].cases
    for case, variant in cases.items():
        judged = results[1].cases[case]
        assert judged.variant == variant
        assert judged.event_ids == tuple(f"{case}-e{i}" for i in range(len(variant)))
    assert results[1].cases["c1"].deviations  # the swapped one deviates, with its events
    assert not results[1].cases["c2"].deviations
    assert {e for d in results[1].cases["c1"].deviations for e in d.event_ids} <= {
        f"c1-e{i}" for i in range(len(cases["c1"]))}


SWAPS_FOR_GROUPING = [
    ("Receive refund request", "Collect evidence", "Approve refund", "Execute payout",
     "Notify customer", "Close ticket"),
    ("Receive refund request", "Collect evidence", "Execute payout", "Approve refund",
     "Notify customer", "Close ticket"),
    ("Receive refund request", "Approve refund", "Execute payout", "Close ticket"),
]


def test_judged_cases_read_by_columns_equal_each_case_aligned_alone(policy: Policy) -> None:
    """The columnar cases of a result (JudgedCases) against an oracle built case by case:
    each case's variant from its rows, its alignment from aligning that variant alone on its
    channel's SOP, its deviations from `deviations_of`. Three channels with SOPs, one
    without and cases without a channel (not judged); random skips, swaps and insertions."""
    import pickle
    import random

    from conformance.deviations import (
        JudgedCases,
        alignment_counts,
        check_conformance,
        deviating_cases,
        unfit_cases,
    )

    rng = random.Random(7)
    tasks = policy.sop_tasks()
    label_of = {task: label for label, task in reversed(list(tasks.items()))}
    channels = ["ecommerce", "subscription", "offline", "wholesale", ""]
    played = {c: sorted(play_out(_net(p), max_length=9)) for c in channels[:3]
              if (p := policy.sop_path(c)) is not None}
    all_tasks = sorted({t for traces in played.values() for trace in traces for t in trace})
    rows: list[dict[str, Any]] = []
    expected: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {}
    for k in range(240):
        channel = channels[k % len(channels)]
        trace = list(rng.choice(played.get(channel) or played["ecommerce"]))
        for _ in range(rng.choice([0, 0, 1, 2])):
            at = rng.randrange(len(trace))
            change = rng.choice(["skip", "swap", "insert"])
            if change == "skip" and len(trace) > 1:
                del trace[at]
            elif change == "swap" and at + 1 < len(trace):
                trace[at], trace[at + 1] = trace[at + 1], trace[at]
            else:
                trace.insert(at, rng.choice(all_tasks))
        case = "<NA>" if k == 7 else f"K{rng.randrange(10**6):06d}-{k}"
        eids = tuple(f"{case}-e{i}" for i in range(len(trace)))
        rows += [{"case:concept:name": case, "concept:name": label_of[t], "event:id": e,
                  "refund:channel": channel} for t, e in zip(trace, eids, strict=True)]
        if channel in played:
            expected[case] = (channel, tuple(trace), eids)
    # Events without a case id (beside a case named "<NA>"): in no case, not judged.
    rows += [{"case:concept:name": None, "concept:name": label_of[t], "event:id": f"x{i}",
              "refund:channel": "ecommerce"} for i, t in enumerate(played["ecommerce"][0])]
    frame = pd.DataFrame(rows)
    frame["refund:channel"] = frame["refund:channel"].replace("", None)
    result = check_conformance(frame, tasks, policy.sop_path, engine="r4pm")
    cases = result.cases
    assert isinstance(cases, JudgedCases)
    # The oracle: channel by channel (sorted), each channel's cases as they appear.
    order = sorted(expected, key=lambda c: (expected[c][0], list(expected).index(c)))
    assert list(cases) == order and len(cases) == len(order) < 240
    aligners = {c: Aligner(_net(p), engine="r4pm") for c in played
                if (p := policy.sop_path(c)) is not None}
    oracle = {}
    for case in order:
        channel, variant, eids = expected[case]
        alignment = aligners[channel].align([variant])[variant]
        deviations = (() if alignment.bounded or alignment.cost == 0
                      else deviations_of(alignment, eids))
        oracle[case] = (channel, variant, eids, alignment.cost, alignment.fitness, deviations)
        judged = cases[case]
        assert judged.alignment.variant == variant  # its own variant's alignment
        assert (judged.case_id, judged.channel, judged.variant, judged.event_ids,
                judged.alignment.cost, judged.fitness, judged.deviations) == (
                    case, *oracle[case])
    assert "no such case" not in cases and order[0] in cases
    with pytest.raises(KeyError):
        cases["no such case"]
    assert [c.case_id for c in cases.values()] == order
    assert [(k, v.case_id) for k, v in cases.items()] == [(c, c) for c in order]
    # The reads by columns equal the filters over every case.
    every = list(cases.values())
    deviating = [c.case_id for c in deviating_cases(cases)]
    assert deviating == [c for c in order if oracle[c][5]] and 0 < len(deviating) < len(order)
    assert deviating_cases(dict(cases.items())) == deviating_cases(cases)
    for threshold in (None, 0.8, 0.95):
        unfit = [c.case_id for c in unfit_cases(cases, threshold)]
        assert unfit == [c for c in order if threshold is not None
                         and oracle[c][4] is not None and oracle[c][4] < threshold]
        assert unfit_cases(dict(cases.items()), threshold) == unfit_cases(cases, threshold)
    assert unfit_cases(cases, 0.95)
    counted = Counter((c.channel, id(c.alignment)) for c in every)
    assert [(ch, id(a), n) for ch, a, n in cases.alignment_counts()] == [
        (ch, a, n) for (ch, a), n in counted.items()]
    assert [(ch, id(a), n) for ch, a, n in alignment_counts(dict(cases.items()))] == [
        (ch, a, n) for (ch, a), n in counted.items()]  # a plain mapping, walked
    # A result crosses processes (Dask) as it is, and compares equal to a dict of its cases.
    again = pickle.loads(pickle.dumps(result))
    assert again.cases == cases == dict(cases.items()) and again == result
    assert cases["<NA>"].event_ids == expected["<NA>"][2]  # that case's, not the caseless
    # A search bound that the deviating variants hit: those cases are unfit and have no
    # deviations; the fitting ones (answered without a search) are neither.
    tight = check_conformance(frame, tasks, policy.sop_path, engine="r4pm", max_states=2)
    bounded = [c for c in order if tight.cases[c].bounded]
    assert bounded and [c.case_id for c in unfit_cases(tight.cases, None)] == bounded
    assert set(bounded) <= {c for c in order if oracle[c][3] != 0}
    assert not any(tight.cases[c].deviations for c in bounded)
    assert [c.case_id for c in deviating_cases(tight.cases)] == [
        c for c in deviating if c not in bounded]


def _silent_loop_or_b_then_a_loop() -> WorkflowNet:
    """Two ways to repeat A: a loop whose every repetition takes a silent redo step, or B
    followed by a self-loop on A (no silent steps)."""
    from conformance.petri import Transition

    return WorkflowNet(
        places=("i", "p1", "p", "q", "o"),
        transitions=(Transition("go", None, None), Transition("a", "A", None),
                     Transition("redo", None, None), Transition("end1", None, None),
                     Transition("b", "B", None), Transition("qa", "A", None),
                     Transition("end2", None, None)),
        arcs=(("i", "go"), ("go", "p1"), ("p1", "a"), ("a", "p"), ("p", "redo"),
              ("redo", "p1"), ("p", "end1"), ("end1", "o"), ("i", "b"), ("b", "q"),
              ("q", "qa"), ("qa", "q"), ("q", "end2"), ("end2", "o")),
        source="i", sink="o")


def test_r4pm_is_optimal_on_a_long_trace_through_a_silent_loop() -> None:
    """With a deviation at a fixed 10,000 and a silent step at 1, r4pm traded a deviation
    for 10,000 silent steps: A x 10,005 then X cost 2 (skip B, insert X) instead of 1, and
    A x 10,002 then X (one loop only) raised RuntimeError (moves cost 1, search reported
    20,003). Both engines now give pm4py's optimum, 1."""
    net = _silent_loop_or_b_then_a_loop()
    short = ("A", "A", "X")
    long = ("A",) * 10_005 + ("X",)
    for variant in (short, long):
        found = Aligner(net, engine="r4pm", processes=1, replay_first=False).align(
            [variant])[variant]
        assert found.cost == 1, (len(variant), found.cost)
        assert [m for m in found.moves if m.kind != "sync"] == [Move("X", None)]
    assert _pm4py_costs(net, [short]) == [1]


def test_precision_replays_each_variant_once_not_each_prefix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A case of n events has n - 1 prefixes: replaying each on its own (as pm4py does) is
    n^2 / 2 events, and a case of 10,000 events made `check` take over 23 GB and be killed.
    Replaying each variant once gives the same precision as pm4py's: on a long case that
    repeats the SOP's longest run (unfit from its second round), one looping through the
    payout retry (fitting to its end), and on cases with labels the model lacks."""
    from pm4py.algo.conformance.tokenreplay import algorithm as executor

    from conformance.align import precision

    net = _net(MODELS / "ecommerce.bpmn")
    played = sorted(play_out(net, max_length=14))
    longest = max(played, key=len)
    loops = [t for t in played if len(t) != len(set(t))]
    assert loops, "the e-commerce SOP has a loop (a failed payout is retried)"
    looping = max(loops, key=len)
    start = next(i for i, a in enumerate(looping) if a in looping[i + 1:])
    again = looping.index(looping[start], start + 1)
    cycle = looping[start:again]
    long_fit = looping[:start] + cycle * 400 + looping[start:]
    traces = [longest * 40, long_fit, longest, ("Unknown task", *longest),
              (*longest[:3], "Unknown task", *longest[3:]), longest[::-1]]
    assert len(long_fit) > 300 and len(longest * 40) > 300
    assert LanguageReplay(net).fits(long_fit)
    replayed: list[int] = []
    apply = executor.apply

    def counting(log: Any, *args: Any, **kwargs: Any) -> Any:
        replayed.append(sum(len(trace) for trace in log))
        return apply(log, *args, **kwargs)

    monkeypatch.setattr(executor, "apply", counting)
    ours = precision(net, traces)
    assert sum(replayed) <= sum(len(t) for t in traces)
    monkeypatch.setattr(executor, "apply", apply)
    assert ours == _pm4py_precision(net, traces)
