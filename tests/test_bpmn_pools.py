"""A collaboration whose pools message flows join, read as one refund case.

A process designer draws the refund SOP as a collaboration: a pool per department (Customer
Support, Finance), joined by message flows (Support's "refund approved" starts Finance's
process, whose "refund paid" Support waits for before closing the ticket), with the customer
as a black-box pool. Before, the reader took the pool with the most tasks alone: Finance's
"Pay refund" was a task of no SOP (every paid case an unexpected activity) and a ticket closed
before the refund was paid was no deviation. The pools are now read as one process, each
message an order: the receiver waits for it until it is sent (`conformance.bpmn._read_joined`,
`conformance.petri._Converter._pool_starts`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.errors import ExitCode
from conformance.bpmn import BPMN_NS, _Reader, _Source, read_bpmn
from conformance.petri import (
    bpmn_to_workflow_net,
    check_soundness,
    convert,
    play_out,
)
from tests.test_bpmn_constructs import flows, interleavings, tasks

DATA = Path(__file__).resolve().parent / "data" / "bpmn"
REFUND = DATA / "refund_collaboration.bpmn"
"""A Camunda Modeler-shaped collaboration: Customer (black box), Customer Support, Finance."""

LOG_HEADER = "event:id,case:concept:name,concept:name,time:timestamp,refund:channel\n"
POLICY = """version: 1
as_of: 2026-10-15T00:00:00Z
activities:
  Review request: {control: other}
  Pay refund: {control: other}
  Close ticket: {control: other}
  Send rejection: {control: other}
rules:
  select: [CF]
"""


def line_of(path: Path, element_id: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    [hit] = [n for n, text in enumerate(lines, 1) if f'id="{element_id}"' in text]
    return hit


def test_the_refund_collaboration_is_read_as_one_process() -> None:
    conversion = bpmn_to_workflow_net(REFUND)
    model = conversion.model
    assert not conversion.refused and conversion.net is not None
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert model.process_name == "Customer Support + Finance" and model.choice is None
    assert [(p.name, p.chosen) for p in model.pools] == [
        ("Customer", False), ("Customer Support", True), ("Finance", True)]
    # The ground truth: Finance pays only once Support approved, Support closes only once
    # Finance paid; a rejected refund is never paid.
    assert play_out(conversion.net, max_length=8) == {
        ("Review request", "Pay refund", "Close ticket"), ("Review request", "Send rejection")}
    # Neither pool has lanes: a pool's name is a department, not a role, so no task has
    # one, as where each pool is read alone.
    assert {t.name: t.roles for t in model.tasks.values()} == {
        "Review request": (), "Close ticket": (), "Send rejection": (), "Pay refund": ()}
    black_box = [n for n in model.notes if "pool 'Customer', which has no process" in n]
    assert len(black_box) == 2 and "(line 7)" in black_box[0] and "(line 10)" in black_box[1]
    # One pool alone is still read where it is named.
    assert read_bpmn(REFUND, process="Finance").task_labels() == ["Pay refund"]


def test_the_sop_graph_draws_the_joined_order() -> None:
    """The report's SOP graph draws the successions of the joined process: before, Finance's
    start was a start of the case ('Pay refund' first) and 'Review request' -> 'Close
    ticket' was drawn, which no run has (Finance pays between them)."""
    from reports.overlay import sop_graph

    conversion = bpmn_to_workflow_net(REFUND)
    assert conversion.net is not None
    traces = play_out(conversion.net, max_length=8)
    graph = sop_graph(conversion.model)
    assert set(graph.flows) == {pair for trace in traces for pair in pairwise(trace)} == {
        ("Review request", "Pay refund"), ("Pay refund", "Close ticket"),
        ("Review request", "Send rejection")}
    assert set(graph.starts) == {"Review request"}
    assert set(graph.ends) == {"Close ticket", "Send rejection"}


@pytest.mark.parametrize("body,exclusive", [
    ('<parallelGateway id="x"/><parallelGateway id="j"/>', False),
    ('<exclusiveGateway id="x"/><exclusiveGateway id="j"/>', True)])
def test_the_soundness_check_reads_the_directly_follows_relation(
        tmp_path: Path, body: str, exclusive: bool) -> None:
    """`check_soundness(follows=True)`: the adjacent pairs, first and last labels of the net's
    runs (ground truth: its language, played out), through the gateways' silent
    transitions; none where not asked for."""
    from tests.test_bpmn_constructs import document

    path = tmp_path / "p.bpmn"
    path.write_text(document('<startEvent id="s"/>' + body + tasks("z", "a", "b", "c")
                             + '<endEvent id="e"/>' + flows("s>z>x>a>j>c>e", "x>b>j")),
                    encoding="utf-8")
    net = bpmn_to_workflow_net(path).net
    assert net is not None
    traces = play_out(net, max_length=6)
    assert len(traces) == 2 and all(len(t) == (3 if exclusive else 4) for t in traces)
    follows = check_soundness(net, follows=True).follows
    assert follows is not None
    assert follows.pairs == {pair for trace in traces for pair in pairwise(trace)}
    assert (follows.starts, follows.ends) == ({"Z"}, {"C"})
    assert check_soundness(net).follows is None


def test_check_judges_the_cross_pool_order(tmp_path: Path) -> None:
    """c1 and c2 follow the SOP; c3 closed the ticket before Finance paid; c4 paid a rejected
    refund. Before: c1, c3 and c4 each had 'Pay refund' as an unexpected activity (a task of
    no SOP, with a warning), and c3's wrong order was not found."""
    from audit.checkrun import run_check

    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    cases = {"c1": ["Review request", "Pay refund", "Close ticket"],
             "c2": ["Review request", "Send rejection"],
             "c3": ["Review request", "Close ticket", "Pay refund"],
             "c4": ["Review request", "Send rejection", "Pay refund"]}
    rows = [f"{case}-{k},{case},{label},2026-09-01T1{k}:00:00Z,ecommerce"
            for case, labels in cases.items() for k, label in enumerate(labels)]
    log.write_text(LOG_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    policy.write_text(POLICY, encoding="utf-8")
    run = run_check([log], policy, sop=REFUND)
    found = sorted((f.rule, f.case_id, f.message) for f in run.result.findings)
    assert found == [("CF002", "c4", "not allowed by the SOP at that point: Pay refund"),
                     ("CF003", "c3", "out of the SOP's order: Close ticket")]
    assert run.warnings() == []


def collaboration(tmp_path: Path, first: str, second: str, message_flows: str,
                  *, participants: str = "") -> Path:
    text = (f'<definitions xmlns="{BPMN_NS}" id="d" targetNamespace="t">\n'
            '<collaboration id="co">\n'
            '<participant id="pa" name="Support" processRef="pA"/>\n'
            f'<participant id="pb" name="Finance" processRef="pB"/>\n{participants}'
            f"{message_flows}\n</collaboration>\n"
            f'<process id="pA">{first}</process>\n<process id="pB">{second}</process>\n'
            "</definitions>")
    path = tmp_path / "pools.bpmn"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_pool_started_with_the_case_waits_at_its_catch_event(tmp_path: Path) -> None:
    """Both pools start with the case; Finance's C waits for Support's message after A."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<intermediateThrowEvent id="t"/>'
        '<endEvent id="e1"/>' + flows("s1>a>t>e1"),
        '<startEvent id="s2"/>' + tasks("b") + '<intermediateCatchEvent id="w"/>'
        + tasks("c") + '<endEvent id="e2"/>' + flows("s2>b>w>c>e2"),
        '<messageFlow id="m" sourceRef="t" targetRef="w"/>')
    conversion = bpmn_to_workflow_net(path)
    assert conversion.net is not None and conversion.soundness is not None
    assert conversion.soundness.verdict == "sound"
    assert play_out(conversion.net, max_length=6) == {
        t for t in interleavings(("A",), ("B", "C")) if t.index("A") < t.index("C")}


def test_the_sop_graph_keeps_the_flow_into_a_receiver_its_sender_does_not_follow(
        tmp_path: Path) -> None:
    """Both pools start with the case and Finance's 'C' waits for Support's message after
    'B': 'B' -> 'C' is a succession of the SOP (where 'A' came first), drawn. Before, every
    sequence flow into a message's receiver was dropped (right where the sender answers the
    receiver's pool, as Finance answers Support's approval in the refund collaboration), so
    'B' was drawn as an end and 'C' followed 'A' alone."""
    from reports.overlay import sop_graph

    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<intermediateThrowEvent id="t"/>'
        '<endEvent id="e1"/>' + flows("s1>a>t>e1"),
        '<startEvent id="s2"/>' + tasks("b") + '<intermediateCatchEvent id="w"/>'
        + tasks("c") + '<endEvent id="e2"/>' + flows("s2>b>w>c>e2"),
        '<messageFlow id="m" sourceRef="t" targetRef="w"/>')
    graph = sop_graph(read_bpmn(path))
    traces = play_out(bpmn_to_workflow_net(path).net, max_length=6)  # type: ignore[arg-type]
    # (A and B run side by side: either may come first, and so follow the other.)
    assert set(graph.flows) == {pair for trace in traces for pair in pairwise(trace)} == {
        ("A", "C"), ("B", "C"), ("A", "B"), ("B", "A")}
    assert set(graph.starts) == {"A", "B"} and graph.ends == ["C"]


def test_the_sop_graph_keeps_the_flow_from_a_sender_into_its_answer(tmp_path: Path) -> None:
    """Support runs A, sends 'approved' (which starts Finance), B, waits for 'paid', C;
    Finance does P and sends 'paid'. The runs are (A, B, P, C) and (A, P, B, C): B -> C is a
    succession of the SOP, as are B -> P and P -> B (Finance pays while Support does B), and
    C alone is last. Before, the flow into the wait for 'paid' was dropped (Finance answers
    Support), so B was drawn as an end, B -> C missing (every compliant case's B -> C drawn
    dotted, "not in SOP"). The graph of a joined collaboration is its net's directly-follows
    relation, read off the reachability graph its soundness check explored."""
    from reports.overlay import sop_graph

    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<intermediateThrowEvent id="t"/>' + tasks("b")
        + '<intermediateCatchEvent id="w"><messageEventDefinition/></intermediateCatchEvent>'
        + tasks("c") + '<endEvent id="e1"/>' + flows("s1>a>t>b>w>c>e1"),
        '<startEvent id="s2"><messageEventDefinition/></startEvent>' + tasks("p")
        + '<endEvent id="e2"><messageEventDefinition/></endEvent>' + flows("s2>p>e2"),
        '<messageFlow id="m1" sourceRef="t" targetRef="s2"/>'
        '<messageFlow id="m2" sourceRef="e2" targetRef="w"/>')
    conversion = bpmn_to_workflow_net(path)
    assert conversion.net is not None and conversion.model.joined
    traces = play_out(conversion.net, max_length=8)
    assert traces == {("A", "B", "P", "C"), ("A", "P", "B", "C")}
    graph = sop_graph(read_bpmn(path))
    assert set(graph.flows) == {pair for trace in traces for pair in pairwise(trace)}
    assert ("B", "C") in graph.flows
    assert (graph.starts, graph.ends) == (["A"], ["C"])


def test_the_fallback_sop_graph_keeps_the_flow_into_an_answered_receiver(
        tmp_path: Path) -> None:
    """The same collaboration read with a state limit its soundness check stops at: the
    graph falls back to the flows, which now keep the sequence flow into the wait for
    'paid' (Finance answers Support): every succession of the runs is drawn (an extra
    A -> ... arrow is allowed, a missing one is not) and C alone is last. Before, that flow
    was dropped: flows (A, B), (A, P), (P, C), B a false end and B -> C missing."""
    from reports.overlay import sop_graph

    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<intermediateThrowEvent id="t"/>' + tasks("b")
        + '<intermediateCatchEvent id="w"><messageEventDefinition/></intermediateCatchEvent>'
        + tasks("c") + '<endEvent id="e1"/>' + flows("s1>a>t>b>w>c>e1"),
        '<startEvent id="s2"><messageEventDefinition/></startEvent>' + tasks("p")
        + '<endEvent id="e2"><messageEventDefinition/></endEvent>' + flows("s2>p>e2"),
        '<messageFlow id="m1" sourceRef="t" targetRef="s2"/>'
        '<messageFlow id="m2" sourceRef="e2" targetRef="w"/>')
    model = read_bpmn(path, max_states=3)
    assert model.joined and model.joined_soundness is not None
    assert model.joined_soundness.verdict == "undecided"
    assert model.joined_soundness.follows is None
    graph = sop_graph(model)
    assert ("B", "C") in graph.flows and ("P", "C") in graph.flows
    assert (graph.starts, graph.ends) == (["A"], ["C"])
    # (The refund collaboration: Review -> Close is drawn besides Review -> Pay -> Close.)
    refund = sop_graph(read_bpmn(REFUND, max_states=3))
    assert {("Review request", "Pay refund"), ("Pay refund", "Close ticket"),
            ("Review request", "Send rejection")} <= set(refund.flows)
    assert refund.ends == ["Close ticket", "Send rejection"]


def test_parallel_branches_are_interleaved_in_a_joined_pool_not_in_the_pool_alone(
        tmp_path: Path) -> None:
    """What models/README.md and docs/reports.md say: Support splits to 'A' and 'C' in
    parallel ('A' sends Finance's start). Read joined, the graph is the net's runs: A -> C
    and C -> A both drawn. The same pool read alone (FILE#Support) is drawn from its flows:
    no arrow between 'A' and 'C'. (Before, the docs said only pools side by side were drawn
    interleaved.)"""
    from reports.overlay import sop_graph

    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/><parallelGateway id="x"/><parallelGateway id="j"/>'
        + tasks("a", "c") + '<endEvent id="e1"/>' + flows("s1>x>a>j>e1", "x>c>j"), SIMPLE_B,
        '<messageFlow id="m" sourceRef="a" targetRef="s2"/>')
    joined = sop_graph(read_bpmn(path))
    assert joined.drawn_from == "runs"
    assert {("A", "C"), ("C", "A")} <= set(joined.flows)
    alone = sop_graph(read_bpmn(path, process="Support"))
    assert alone.drawn_from == "flows"
    assert not {("A", "C"), ("C", "A")} & set(alone.flows)
    assert (alone.starts, alone.ends) == (["A", "C"], ["A", "C"])


def test_a_message_into_a_task_orders_the_task(tmp_path: Path) -> None:
    """A receive task waits for the message (and a send task's message leaves as it ends)."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/><sendTask id="a" name="A"/>' + tasks("x")
        + '<endEvent id="e1"/>' + flows("s1>a>x>e1"),
        '<startEvent id="s2"/>' + tasks("b") + '<receiveTask id="c" name="C"/>'
        '<endEvent id="e2"/>' + flows("s2>b>c>e2"),
        '<messageFlow id="m" sourceRef="a" targetRef="c"/>')
    conversion = bpmn_to_workflow_net(path)
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=6) == {
        t for t in interleavings(("A", "X"), ("B", "C")) if t.index("A") < t.index("C")}


def test_a_message_into_a_user_or_plain_task_is_information(tmp_path: Path) -> None:
    """The MIWG C.1.0 pattern cut down: the engine's user task 'Approve' notifies the
    approver (a catch event: it waits), whose plain task 'Decide' answers the user task (it
    does not wait for a message: BPMN's user task is done by a person). Before, each task
    waited for the other's message: unsound (and, since, one pool read instead)."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/><intermediateCatchEvent id="w"><messageEventDefinition/>'
        '</intermediateCatchEvent>' + tasks("d") + '<endEvent id="e1"/>' + flows("s1>w>d>e1"),
        '<startEvent id="s2"/>' + tasks("r") + '<userTask id="ap" name="Approve"/>'
        + tasks("p") + '<endEvent id="e2"/>' + flows("s2>r>ap>p>e2"),
        '<messageFlow id="notify" sourceRef="ap" targetRef="w"/>'
        '<messageFlow id="answer" sourceRef="d" targetRef="ap"/>')
    conversion = bpmn_to_workflow_net(path)
    assert conversion.model.joined and conversion.model.choice is None
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=6) == {("R", "Approve", "D", "P"),
                                                      ("R", "Approve", "P", "D")}
    assert (f"message flow 'answer' (line {line_of(path, 'answer')}) into userTask 'Approve' "
            "is read as information") in " ".join(conversion.notes)


def test_a_note_sent_on_some_paths_to_a_plain_task_is_information(tmp_path: Path) -> None:
    """Support sends a note (a send task on one path only) to Finance's plain task 'P', which
    does not wait for it. Before, 'P' waited for a note never sent on the other path: stuck,
    unsound."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<exclusiveGateway id="g"/>'
        '<sendTask id="n" name="N"/><exclusiveGateway id="j"/><intermediateThrowEvent id="t"/>'
        '<endEvent id="e1"/>' + flows("s1>a>g>n>j>t>e1", "g>j"),
        '<startEvent id="s2"><messageEventDefinition/></startEvent>' + tasks("p")
        + '<endEvent id="e2"/>' + flows("s2>p>e2"),
        '<messageFlow id="m1" sourceRef="t" targetRef="s2"/>'
        '<messageFlow id="m2" sourceRef="n" targetRef="p"/>')
    conversion = bpmn_to_workflow_net(path)
    assert conversion.model.joined
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=6) == {("A", "P"), ("A", "N", "P")}


def test_a_message_sent_in_a_loop_is_refused_at_once_naming_it(tmp_path: Path) -> None:
    """Support's 'Update case' lies in a rework loop and messages Finance's catch event:
    each round sends one more message, an unbounded net. Before, its exploration ran to the
    200000-state limit (about 9.5 minutes) and was refused naming the collaboration, not the
    message; now the message flow is refused at once (and one pool is read instead)."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/><exclusiveGateway id="j"/>' + tasks("a")
        + '<exclusiveGateway id="g"/><endEvent id="e1"/>' + flows("s1>j>a>g>e1", "g>j"),
        '<startEvent id="s2"/><intermediateCatchEvent id="w"><messageEventDefinition/>'
        '</intermediateCatchEvent>' + tasks("p") + '<endEvent id="e2"/>' + flows("s2>w>p>e2"),
        '<messageFlow id="m" sourceRef="a" targetRef="w"/>')
    joined = convert(_Reader(_Source.load(path)).read(None))
    assert joined.net is None
    [refusal] = joined.refused
    assert (refusal.element_id, refusal.line) == ("m", line_of(path, "m"))
    assert refusal.reason.startswith("is sent by 'A', which lies on a cycle of its pool")
    assert bpmn_to_workflow_net(path).model.choice.startswith(  # type: ignore[union-attr]
        "its pools joined by message flows do not read as one process (m (line ")


def test_an_expanded_empty_pool_is_a_black_box(tmp_path: Path) -> None:
    """bpmn.io and Camunda Modeler draw the customer as an expanded pool whose processRef
    names an empty <process>. Before, its message flow was refused ('ends on the edge of pool
    'Customer''), as a collapsed pool's (no processRef) is not; now both are black boxes."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<intermediateThrowEvent id="t">'
        '<messageEventDefinition/></intermediateThrowEvent>' + tasks("x")
        + '<endEvent id="e1"/>' + flows("s1>a>t>x>e1"), SIMPLE_B,
        '<messageFlow id="mreq" sourceRef="pc" targetRef="s1"/>'
        '<messageFlow id="mapp" sourceRef="t" targetRef="s2"/>',
        participants='<participant id="pc" name="Customer" processRef="pCust"/>\n')
    path.write_text(path.read_text(encoding="utf-8").replace(
        "</definitions>", '<process id="pCust"/>\n</definitions>'), encoding="utf-8")
    conversion = bpmn_to_workflow_net(path)
    assert conversion.model.joined and not conversion.refused
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert (f"message flow 'mreq' (line {line_of(path, 'mreq')}) to or from pool 'Customer', "
            "whose process is empty (a black box), is left out") in " ".join(conversion.notes)
    # `model inspect` lists it as the black box it is read as; before: 'Customer (process
    # pCust)', as if it had a process to read.
    run = CliRunner().invoke(main, ["model", "inspect", str(path)])
    assert run.exit_code == 0, run.output
    assert ("pools: Support (process pA, read together), Finance (process pB, read "
            "together), Customer (process pCust, empty: a black box)") in run.output, run.output
    run = CliRunner().invoke(main, ["model", "inspect", str(path), "--json"])
    assert run.exit_code == 0, run.output
    assert {p["name"]: (p["empty"], p["missing"]) for p in json.loads(run.output)["pools"]} == {
        "Support": (False, False), "Finance": (False, False), "Customer": (True, False)}


def test_a_pool_naming_a_process_the_file_lacks_is_flagged(tmp_path: Path) -> None:
    """Bank's processRef names 'pMissing', which the file does not define. Before, `model
    inspect` listed it as 'Bank (process pMissing)', as if it had a process, --json alike,
    and the reading said nothing of it; a message flow to it was said to go to a pool
    'whose process is empty'."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<intermediateThrowEvent id="t">'
        '<messageEventDefinition/></intermediateThrowEvent>' + tasks("x")
        + '<endEvent id="e1"/>' + flows("s1>a>t>x>e1"), SIMPLE_B,
        '<messageFlow id="mapp" sourceRef="t" targetRef="s2"/>'
        '<messageFlow id="mbank" sourceRef="x" targetRef="pd"/>',
        participants='<participant id="pd" name="Bank" processRef="pMissing"/>\n')
    conversion = bpmn_to_workflow_net(path)
    assert conversion.model.joined and conversion.soundness is not None
    assert conversion.soundness.verdict == "sound"
    notes = " ".join(conversion.notes)
    assert ("pool 'Bank' names process 'pMissing', which the file does not define: "
            "read as a black box") in notes, notes
    assert ("to or from pool 'Bank', whose process 'pMissing' the file does not define "
            "(a black box), is left out") in notes, notes
    run = CliRunner().invoke(main, ["model", "inspect", str(path)])
    assert run.exit_code == 0, run.output
    assert ("Bank (process pMissing, not defined in the file: a black box)") in run.output, (
        run.output)
    run = CliRunner().invoke(main, ["model", "inspect", str(path), "--json"])
    bank = [p for p in json.loads(run.output)["pools"] if p["name"] == "Bank"]
    assert bank == [{"id": "pd", "name": "Bank", "process": "pMissing", "chosen": False,
                     "empty": False, "missing": True}]
    # (Read alone, the pool chosen says so too.)
    alone = read_bpmn(path, process="Support")
    assert any("'pMissing', which the file does not define" in n for n in alone.notes)


def test_a_processref_qualified_with_the_target_namespace_names_the_files_process(
        tmp_path: Path) -> None:
    """Finance's processRef is written `tns:pB`, xmlns:tns the file's targetNamespace (an
    xsd:QName, as some tools write it): it names the file's process 'pB', and the pools are
    joined. Before, 'tns:pB' was looked up as written: Finance a black box "whose process
    the file does not define" and Support read alone. A prefix of another namespace names
    another file's process: still a black box, noted with the reference as written."""
    path = collaboration(
        tmp_path, '<startEvent id="s1"/>' + tasks("a") + '<endEvent id="e1"/>'
        + flows("s1>a>e1"), SIMPLE_B, '<messageFlow id="m" sourceRef="a" targetRef="s2"/>')
    text = path.read_text(encoding="utf-8").replace(
        'targetNamespace="t"', 'xmlns:tns="urn:t" xmlns:o="urn:other" targetNamespace="urn:t"')
    path.write_text(text.replace('processRef="pB"', 'processRef="tns:pB"'), encoding="utf-8")
    model = read_bpmn(path)
    assert model.joined
    assert [(p.name, p.process, p.missing) for p in model.pools] == [
        ("Support", "pA", False), ("Finance", "pB", False)]
    assert not any("does not define" in note for note in model.notes), model.notes
    path.write_text(text.replace('processRef="pB"', 'processRef="o:pB"'), encoding="utf-8")
    model = read_bpmn(path)
    assert not model.joined
    assert [(p.name, p.process, p.missing) for p in model.pools] == [
        ("Support", "pA", False), ("Finance", "o:pB", True)]
    assert any("pool 'Finance' names process 'o:pB', which the file does not define" in note
               for note in model.notes), model.notes


def test_a_message_flow_qualified_with_the_target_namespace_joins_the_pools(
        tmp_path: Path) -> None:
    """A tool that qualifies processRef (`tns:pB`) writes a message flow's sourceRef and
    targetRef as xsd:QNames too (`tns:a`, `tns:s2`): they name the file's elements and the
    pools are joined by the flow. Before, they were looked up as written: no message flow,
    Support read alone with a note of one flow not converted."""
    path = collaboration(
        tmp_path, '<startEvent id="s1"/>' + tasks("a") + '<endEvent id="e1"/>'
        + flows("s1>a>e1"), SIMPLE_B,
        '<messageFlow id="m" sourceRef="tns:a" targetRef="tns:s2"/>')
    text = path.read_text(encoding="utf-8").replace(
        'targetNamespace="t"', 'xmlns:tns="urn:t" targetNamespace="urn:t"')
    path.write_text(text.replace('processRef="pB"', 'processRef="tns:pB"').replace(
        'processRef="pA"', 'processRef="tns:pA"'), encoding="utf-8")
    model = read_bpmn(path)
    assert model.joined
    assert [(f.source, f.target) for f in model.message_flows] == [("a", "s2")]
    assert not any("not converted" in note for note in model.notes), model.notes


def test_pools_no_message_flow_joins_are_still_one_chosen_pool(tmp_path: Path) -> None:
    path = collaboration(
        tmp_path, '<startEvent id="s1"/>' + tasks("a") + '<endEvent id="e1"/>'
        + flows("s1>a>e1"),
        '<startEvent id="s2"/>' + tasks("b", "c") + '<endEvent id="e2"/>' + flows("s2>b>c>e2"),
        "")
    model = read_bpmn(path)
    assert model.process_id == "pB" and not model.joined
    assert model.choice is not None and "the one with the most tasks" in model.choice


SIMPLE_A = '<startEvent id="s1"/>' + tasks("a") + '<endEvent id="e1"/>' + flows("s1>a>e1")
SIMPLE_B = ('<startEvent id="s2"><messageEventDefinition/></startEvent>' + tasks("b")
            + '<endEvent id="e2"/>' + flows("s2>b>e2"))


@pytest.mark.parametrize("first,second,message_flows,element,reason", [
    (SIMPLE_A, SIMPLE_B, '<messageFlow id="m" sourceRef="a" targetRef="pb"/>', "m",
     "ends on the edge of pool 'Finance', not on one of its tasks or events"),
    (SIMPLE_A + '<sequenceFlow id="x" sourceRef="a" targetRef="b"/>', SIMPLE_B,
     '<messageFlow id="m" sourceRef="a" targetRef="s2"/>', "x",
     "connects nodes of different pools"),
    ('<startEvent id="s1"/>' + tasks("a") + '<endEvent id="e1"><terminateEventDefinition/>'
     '</endEvent>' + flows("s1>a>e1"), SIMPLE_B,
     '<messageFlow id="m" sourceRef="a" targetRef="s2"/>', "e1",
     "a terminate end event at the top of pool 'Support'"),
    ('<startEvent id="s1"/><subProcess id="sub"><startEvent id="ss"/>' + tasks("a")
     + '<endEvent id="se"/>' + flows("ss>a>se") + '</subProcess><endEvent id="e1"/>'
     + flows("s1>sub>e1"), SIMPLE_B, '<messageFlow id="m" sourceRef="a" targetRef="s2"/>',
     "m", "sends at 'A', inside a sub-process"),
    (SIMPLE_A, SIMPLE_B + '<startEvent id="s3"/><sequenceFlow id="f3" sourceRef="s3" '
     'targetRef="b"/>', '<messageFlow id="m" sourceRef="a" targetRef="s2"/>', "s3",
     "pool 'Finance' starts on a message from another pool (at 's2') and here without one"),
    ('<startEvent id="s1"><messageEventDefinition/></startEvent>' + tasks("a")
     + '<endEvent id="e1"/>' + flows("s1>a>e1"), SIMPLE_B,
     '<messageFlow id="m" sourceRef="a" targetRef="s2"/>'
     '<messageFlow id="n" sourceRef="b" targetRef="s1"/>', "co",
     "every pool waits for a message from another"),
])
def test_what_cannot_be_read_faithfully_is_refused_with_its_line(
        tmp_path: Path, first: str, second: str, message_flows: str, element: str,
        reason: str) -> None:
    """Read together the pools are refused, naming the element and its line; the designer
    never asked for them to be joined, so the pool with the most tasks is read instead, as
    without message flows, and the choice (the check's warning) gives the refusal. Before,
    the file was refused (exit 2) though each pool alone reads."""
    path = collaboration(tmp_path, first, second, message_flows)
    joined = convert(_Reader(_Source.load(path)).read(None))
    assert joined.net is None
    [refusal] = [r for r in joined.refused if r.element_id == element]
    assert reason in refusal.reason
    line = line_of(path, element)
    assert refusal.line == line or f"(line {line})" in refusal.reason, str(refusal)
    conversion = bpmn_to_workflow_net(path)
    model = conversion.model
    assert not model.joined and model.process_id == "pA"
    assert model.choice is not None and model.choice.startswith(
        "its pools joined by message flows do not read as one process (" + element)
    assert reason in model.choice and f"line {line}" in model.choice, model.choice
    assert "the one with the most tasks" in model.choice


def test_check_reads_one_pool_of_the_unreadable_collaboration_and_warns(
        tmp_path: Path) -> None:
    """Before: exit 2, the file refused for a message flow though each pool alone reads. Now
    the pool with the most tasks is checked, and the warning (console and manifest) gives
    the refusal with its element and line and how to name a pool."""
    path = collaboration(tmp_path, SIMPLE_A, SIMPLE_B,
                         '<messageFlow id="m" sourceRef="a" targetRef="pb"/>')
    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(LOG_HEADER + "e1,c1,A,2026-09-01T10:00:00Z,ecommerce\n", encoding="utf-8")
    policy.write_text(POLICY.replace("Review request", "A"), encoding="utf-8")
    run = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--sop",
                                    str(path), "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    told = ("warning: the SOP pools.bpmn (every channel): its pools joined by message flows "
            "do not read as one process (m: ends on the edge of pool 'Finance'")
    assert told in run.output, run.output
    assert f"(line {line_of(path, 'm')})); so one pool is read" in run.output, run.output
    assert "name it as pools.bpmn#PROCESS" in run.output, run.output
    out = tmp_path / "out"
    manifest = json.loads((out / "findings.json").read_text(encoding="utf-8"))["manifest"]
    assert any(w.startswith(told.removeprefix("warning: ")) for w in manifest["warnings"])
    assert "do not read as one process" in (out / "report.html").read_text(encoding="utf-8")


def test_a_pool_alone_unreadable_still_stops_the_check(tmp_path: Path) -> None:
    """Where the pool read instead fails too (its own start event missing a flow), the
    check stops (exit 2) on that pool's refusal."""
    broken = SIMPLE_A.replace('<sequenceFlow id="f_s1_a" sourceRef="s1" targetRef="a"/>', "")
    assert broken != SIMPLE_A
    path = collaboration(tmp_path, broken + tasks("y"), SIMPLE_B,
                         '<messageFlow id="m" sourceRef="a" targetRef="pb"/>')
    conversion = bpmn_to_workflow_net(path)
    assert conversion.model.process_id == "pA" and conversion.net is None
    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(LOG_HEADER + "e1,c1,A,2026-09-01T10:00:00Z,ecommerce\n", encoding="utf-8")
    policy.write_text(POLICY.replace("Review request", "A"), encoding="utf-8")
    run = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--sop",
                                    str(path), "--out", str(tmp_path / "out")])
    assert run.exit_code == ExitCode.INPUT_ERROR, run.output
    assert "pools.bpmn" in run.output and conversion.refused[0].reason in run.output


def joined_unsound_then_one_pool(path: Path, problem: str) -> None:
    """The pools read together are unsound; the pool with the most tasks is read instead,
    its choice giving the first problem and where a run gets stuck."""
    joined = convert(_Reader(_Source.load(path)).read(None))
    assert joined.net is not None and check_soundness(joined.net).verdict == "unsound"
    conversion = bpmn_to_workflow_net(path)
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    model = conversion.model
    assert not model.joined and model.process_id == "pA"
    assert model.choice is not None and model.choice.startswith(
        "its pools joined by message flows do not read as one process (" + problem
    ), model.choice


def test_a_pool_a_message_starts_twice_is_unsound_so_one_pool_is_read(tmp_path: Path) -> None:
    """Support sends Finance's start message on both parallel branches: Finance's one
    instance per case cannot take the second, and the net says so first."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/><parallelGateway id="g"/>' + tasks("a", "x")
        + '<parallelGateway id="j"/><endEvent id="e1"/>' + flows("s1>g>a>j>e1", "g>x>j"),
        SIMPLE_B, '<messageFlow id="m" sourceRef="a" targetRef="s2"/>'
                  '<messageFlow id="n" sourceRef="x" targetRef="s2"/>')
    joined_unsound_then_one_pool(path, "the end can never be reached: a run can get stuck "
                                       "without finishing: after 'A', 'B' it holds")


def test_the_fallback_names_a_pool_unsound_on_its_own(tmp_path: Path) -> None:
    """Finance deadlocks alone (an exclusive split closed by a parallel join): the joined
    net is unsound because of Finance, not of the messages. Before, the warning blamed the
    join ('do not read as one process (the end can never be reached: ...)'), sending the
    designer to the message flows; now it names the pool and its own problem."""
    finance = ('<startEvent id="s2"><messageEventDefinition/></startEvent>'
               '<exclusiveGateway id="k"/>' + tasks("p", "d") + '<parallelGateway id="j"/>'
               '<endEvent id="e2"/>' + flows("s2>k>p>j>e2", "k>d>j"))
    path = collaboration(tmp_path, '<startEvent id="s1"/>' + tasks("a", "x")
                         + '<endEvent id="e1"/>' + flows("s1>a>x>e1"), finance,
                         '<messageFlow id="m" sourceRef="a" targetRef="s2"/>')
    alone = bpmn_to_workflow_net(path, process="pB")
    assert alone.soundness is not None and alone.soundness.verdict == "unsound"
    conversion = bpmn_to_workflow_net(path)
    model = conversion.model
    assert not model.joined and model.process_id == "pA"
    assert model.choice is not None and model.choice.startswith(
        "its pools joined by message flows do not read as one process (pool 'Finance' is "
        "unsound on its own: the end can never be reached: a run can get stuck without "
        "finishing: after "), model.choice
    assert "the one with the most tasks" in model.choice


def test_a_check_decides_the_join_with_one_soundness_check(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """A check reads its SOP file several times (its net, the pool chosen, its task labels,
    its lanes): the joined net's soundness is explored once. Before, each reading decided
    again whether the pools read as one (a conversion and a soundness check each, up to
    200,000 states) and the net's own check explored it once more: 4 checks of one file."""
    import conformance.petri as petri
    from audit.checkrun import run_check

    checked: list[int] = []
    original = petri.check_soundness

    def counted(net: petri.WorkflowNet, *, max_states: int = petri.MAX_SOUNDNESS_STATES,
                follows: bool = False) -> petri.Soundness:
        checked.append(max_states)
        return original(net, max_states=max_states, follows=follows)

    monkeypatch.setattr(petri, "check_soundness", counted)
    sop = tmp_path / "refund.bpmn"  # (a file no earlier test read: nothing cached)
    sop.write_bytes(REFUND.read_bytes())
    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(LOG_HEADER + "e1,c1,Review request,2026-09-01T10:00:00Z,ecommerce\n"
                   "e2,c1,Send rejection,2026-09-01T11:00:00Z,ecommerce\n", encoding="utf-8")
    policy.write_text(POLICY.replace("select: [CF]", "select: [CF, SD004]"), encoding="utf-8")
    run = run_check([log], policy, sop=sop)
    assert run.result.findings == []
    assert [w for w in run.warnings() if "in no named lane" not in w] == []  # (no lanes)
    assert len(checked) == 1, checked


def test_the_join_is_decided_within_the_callers_state_limit(tmp_path: Path) -> None:
    """A caller's `max_states` (`bpmn_to_workflow_net`, `inspect_model`) bounds the soundness
    check: the join's decision too.
    Before, the join was decided on 200,000 states whatever the caller asked (here: the
    joined net found unsound, one pool read) and only the net read was held to the limit."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/><parallelGateway id="g"/>' + tasks("a", "x")
        + '<parallelGateway id="j"/><endEvent id="e1"/>' + flows("s1>g>a>j>e1", "g>x>j"),
        SIMPLE_B, '<messageFlow id="m" sourceRef="a" targetRef="s2"/>'
                  '<messageFlow id="n" sourceRef="x" targetRef="s2"/>')
    assert not bpmn_to_workflow_net(path).model.joined  # (unsound joined: one pool read)
    conversion = bpmn_to_workflow_net(path, max_states=3)
    assert conversion.model.joined and conversion.model.choice is None
    assert conversion.soundness is not None and conversion.soundness.verdict == "undecided"


def test_the_report_caption_of_a_joined_sop_says_its_arrows_are_its_runs(
        tmp_path: Path) -> None:
    """The refund collaboration's SOP graph draws the joined net's runs: its caption says
    so (tasks running side by side drawn in either order, dotted arrows successions no run
    has). Before, every SOP graph's caption said its arrows were "the SOP's flows (gateways
    and events collapsed)". Read beyond its state limit, the graph is the sequence and
    message flows, and its caption says that; a single process keeps the old caption."""
    from audit.checkrun import run_check
    from reports.overlay import overlay_graphs

    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(LOG_HEADER + "1,c1,Review request,2026-09-01T10:00:00Z,ecommerce\n"
                   "2,c1,Close ticket,2026-09-01T12:00:00Z,ecommerce\n", encoding="utf-8")
    policy.write_text(POLICY, encoding="utf-8")
    [graph] = overlay_graphs(run_check([log], policy, sop=REFUND))
    assert ("The SOP's pools are read as one process: arrows go from each task to each that "
            "can come right after it in a run of the SOP (tasks of pools or parallel branches "
            "running side by side drawn in either order)") in graph.caption, graph.caption
    assert "dotted arrows are direct successions no run of the SOP has" in graph.caption
    assert "the SOP's flows" not in graph.caption
    from reports.overlay import arrows_text, sop_graph

    fallback = arrows_text(sop_graph(read_bpmn(REFUND, max_states=3)))
    assert "arrows are its sequence and message flows" in fallback
    single = arrows_text(sop_graph(read_bpmn(REFUND, process="Customer Support")))
    assert single.startswith(" Arrows are the SOP's flows (gateways and events collapsed)")


def test_a_pool_without_lanes_gives_its_tasks_no_role(tmp_path: Path) -> None:
    """Neither pool has lanes and the log records job roles (agent, payments), as the
    bundled sample does. Before, each pool's name was read as the role of its tasks when the
    pools were joined (and only then): every case, compliant ones too, got a high
    unauthorized-performer finding. Now the pools' tasks are unjudged by their lanes, as
    where one pool is read alone."""
    from audit.checkrun import run_check

    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(
        "event:id,case:concept:name,concept:name,time:timestamp,org:resource,org:role,"
        "refund:channel\n"
        "1,c1,Review request,2026-09-01T10:00:00Z,Ann,customer-service,ecommerce\n"
        "2,c1,Pay refund,2026-09-01T11:00:00Z,Fred,payments,ecommerce\n"
        "3,c1,Close ticket,2026-09-01T12:00:00Z,Ann,customer-service,ecommerce\n",
        encoding="utf-8")
    policy.write_text(POLICY.replace("select: [CF]", "select: [SD004]"), encoding="utf-8")
    run = run_check([log], policy, sop=REFUND)
    assert [f.message for f in run.result.findings] == []
    # ... and check says so (before, nothing: the rule ran, judged no one, 0 findings).
    assert ("unauthorized-performer judges no one doing 'Close ticket', 'Pay refund', "
            "'Review request', 'Send rejection': the SOP refund_collaboration.bpmn (every "
            "channel) puts them in no named lane (a process or pool without lanes, or an "
            "unnamed lane outside any named one)") in run.warnings(), run.warnings()


def test_the_unjudged_performer_warning_is_told_once_per_sop_file(tmp_path: Path) -> None:
    """Two channels name the same plain process (no pools, no lanes): one warning naming
    both channels. Before, one per channel, each saying 'a pool without lanes' of a file
    that has no pool."""
    from audit.checkrun import run_check

    sop, log, policy = tmp_path / "plain.bpmn", tmp_path / "log.csv", tmp_path / "policy.yaml"
    sop.write_text(f'<definitions xmlns="{BPMN_NS}" id="d" targetNamespace="t"><process id="p">'
                   '<startEvent id="s"/>' + tasks("a", "b") + '<endEvent id="e"/>'
                   + flows("s>a>b>e") + "</process></definitions>", encoding="utf-8")
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp,refund:channel,"
                   "org:role\ne1,c1,A,2026-09-01T10:00:00Z,ecommerce,agent\n"
                   "e2,c1,B,2026-09-01T11:00:00Z,ecommerce,agent\n", encoding="utf-8")
    policy.write_text("version: 1\nas_of: 2026-10-15T00:00:00Z\nactivities:\n"
                      "  A: {control: request}\n  B: {control: close}\n"
                      f"sop:\n  ecommerce: {sop}\n  offline: {sop}\n"
                      "rules:\n  select: [SD004]\n", encoding="utf-8")
    run = run_check([log], policy)
    told = [w for w in run.warnings() if w.startswith("unauthorized-performer judges no one")]
    assert told == ["unauthorized-performer judges no one doing 'A', 'B': the SOP plain.bpmn "
                    "(channels ecommerce, offline) puts them in no named lane (a process or "
                    "pool without lanes, or an unnamed lane outside any named one)"]


def test_the_unjudged_performer_warning_names_the_channels_of_the_sop_for_every_channel(
        tmp_path: Path) -> None:
    """The policy's '*' and 'ecommerce' name plain.bpmn, 'offline' its own other.bpmn: the
    warning on plain.bpmn says it is the SOP of ecommerce and every channel without its own
    SOP (offline has one). Before, "channel ecommerce and every other channel", offline
    included; with '*' and offline alone, "every channel", offline included too."""
    from audit.checkrun import run_check

    plain, other = tmp_path / "plain.bpmn", tmp_path / "other.bpmn"
    for sop in (plain, other):
        sop.write_text(f'<definitions xmlns="{BPMN_NS}" id="d" targetNamespace="t">'
                       '<process id="p"><startEvent id="s"/>' + tasks("a", "b")
                       + '<endEvent id="e"/>' + flows("s>a>b>e") + "</process></definitions>",
                       encoding="utf-8")
    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp,refund:channel,"
                   "org:role\ne1,c1,A,2026-09-01T10:00:00Z,ecommerce,agent\n"
                   "e2,c1,B,2026-09-01T11:00:00Z,ecommerce,agent\n"
                   "e3,c2,A,2026-09-01T10:00:00Z,offline,agent\n"
                   "e4,c2,B,2026-09-01T11:00:00Z,offline,agent\n", encoding="utf-8")
    tail = ("puts them in no named lane (a process or pool without lanes, or an unnamed lane "
            "outside any named one)")
    for entries, which in (
            (f"  '*': {plain}\n  ecommerce: {plain}\n  offline: {other}\n",
             "channel ecommerce and every channel without its own SOP"),
            (f"  '*': {plain}\n  offline: {other}\n", "every channel without its own SOP"),
            (f"  '*': {plain}\n", "every channel")):
        policy.write_text("version: 1\nas_of: 2026-10-15T00:00:00Z\nactivities:\n"
                          "  A: {control: request}\n  B: {control: close}\n"
                          f"sop:\n{entries}rules:\n  select: [SD004]\n", encoding="utf-8")
        told = [w for w in run_check([log], policy).warnings()
                if w.startswith("unauthorized-performer judges no one doing 'A', 'B': the SOP "
                                "plain.bpmn")]
        assert told == ["unauthorized-performer judges no one doing 'A', 'B': the SOP "
                        f"plain.bpmn ({which}) {tail}"], (entries, told)


def test_model_inspect_tells_the_pools_read_together_and_their_messages() -> None:
    """Before: 'Customer Support (process Process_Support, the one read)' alone, Finance
    unread, and the message flows counted as 'not converted'."""
    run = CliRunner().invoke(main, ["model", "inspect", str(REFUND)])
    assert run.exit_code == 0, run.output
    assert ("pools: Customer (no process: a black box), Customer Support (process "
            "Process_Support, read together), Finance (process Process_Finance, read "
            "together)") in run.output
    assert ("message flow refund approved: 'Refund approved' (Customer Support) -> "
            "'Refund approved' (Finance)") in run.output
    assert "lane Finance" not in run.output


def test_check_and_compare_tell_how_the_sop_was_read(tmp_path: Path) -> None:
    """The notes `model inspect` prints (the pools read together, a non-interrupting boundary
    event read as firing at most once) are told by check and compare too; before, only
    `model inspect` said how the SOP was read."""
    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(LOG_HEADER + "e1,c1,Review request,2026-09-01T10:00:00Z,ecommerce\n"
                   "e2,c1,Send rejection,2026-09-01T11:00:00Z,ecommerce\n", encoding="utf-8")
    policy.write_text(POLICY, encoding="utf-8")
    runner = CliRunner()
    run = runner.invoke(main, ["check", str(log), "--policy", str(policy), "--sop",
                               str(REFUND), "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    assert ("note: the SOP refund_collaboration.bpmn (every channel), as read: the "
            "collaboration's 2 pools ('Customer Support', 'Finance') are joined") in run.output
    assert "as read: message flow 'refund request' (line 7) to or from pool 'Customer'" \
        in run.output
    run = runner.invoke(main, ["compare", str(log), "ecommerce.bpmn", "--out",
                               str(tmp_path / "cmp")])
    assert run.exit_code == 0, run.output
    assert ("note: to-be model, as read: non-interrupting boundary event(s) of 'Process "
            "refund' are read as firing at most once per activation") in run.output


def wait_for_paid_or_timeout(tmp_path: Path, finance: str = "") -> Path:
    """Support sends 'approved' (starting Finance), then waits for 'paid' or a timer at an
    event-based gateway: 'C' (close) after the message, 'X' (chase) after the timer. Finance
    pays ('P') and sends 'paid' as it ends (`finance` replaces its process)."""
    return collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<intermediateThrowEvent id="t"/>'
        '<eventBasedGateway id="g"/><intermediateCatchEvent id="w"><messageEventDefinition/>'
        '</intermediateCatchEvent><intermediateCatchEvent id="tm"><timerEventDefinition/>'
        '</intermediateCatchEvent>' + tasks("c", "x") + '<endEvent id="e1"/><endEvent id="e3"/>'
        + flows("s1>a>t>g>w>c>e1", "g>tm>x>e3"),
        finance or ('<startEvent id="s2"><messageEventDefinition/></startEvent>' + tasks("p")
                    + '<endEvent id="e2"><messageEventDefinition/></endEvent>'
                    + flows("s2>p>e2")),
        '<messageFlow id="m1" sourceRef="t" targetRef="s2"/>'
        '<messageFlow id="m2" sourceRef="e2" targetRef="w"/>')


def test_a_message_or_a_timer_is_a_choice_the_receiver_waits_on(tmp_path: Path) -> None:
    """Support waits for 'paid' or a timeout (an event-based gateway): the message branch is
    taken where the message came, the timer's where it had not come yet, and a 'paid' sent
    after the timer is dropped (nobody waits for it any more). Before, the gateway chose a
    branch before either event, so a taken timer left the message unread: the joined net was
    unsound and Support alone was read (Finance's 'P' an activity of no SOP)."""
    path = wait_for_paid_or_timeout(tmp_path)
    conversion = bpmn_to_workflow_net(path)
    assert conversion.model.joined and conversion.model.choice is None
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound", \
        conversion.soundness
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=8) == {
        ("A", "P", "C"),  # the message came
        ("A", "X", "P"), ("A", "P", "X")}  # the timer fired before Finance sent 'paid'


def test_the_timer_is_the_only_way_where_the_message_is_sent_on_some_paths(
        tmp_path: Path) -> None:
    """Finance sends 'paid' only where it pays (an exclusive choice: 'P' or 'D', declined):
    where it declines, Support's timer is the way on; the message branch needs the message."""
    finance = ('<startEvent id="s2"><messageEventDefinition/></startEvent>'
               '<exclusiveGateway id="k"/>' + tasks("p", "d")
               + '<endEvent id="e2"><messageEventDefinition/></endEvent><endEvent id="e4"/>'
               + flows("s2>k>p>e2", "k>d>e4"))
    conversion = bpmn_to_workflow_net(wait_for_paid_or_timeout(tmp_path, finance))
    assert conversion.model.joined and conversion.model.choice is None
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound", \
        conversion.soundness
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=8) == {
        ("A", "P", "C"), ("A", "X", "P"), ("A", "P", "X"),
        ("A", "X", "D"), ("A", "D", "X")}


def test_check_judges_a_timeout_against_both_pools(tmp_path: Path) -> None:
    """c1 was paid and closed; c2 timed out (chased) and Finance paid later; c3 closed the
    ticket before Finance paid. Before: Support alone was read with a warning, so every 'P'
    was an activity of no SOP (unexpected in c1, c2, c3) and c3's wrong order went unfound."""
    from audit.checkrun import run_check

    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    cases = {"c1": ["A", "P", "C"], "c2": ["A", "X", "P"], "c3": ["A", "C", "P"]}
    rows = [f"{case}-{k},{case},{label},2026-09-01T1{k}:00:00Z,ecommerce"
            for case, labels in cases.items() for k, label in enumerate(labels)]
    log.write_text(LOG_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    policy.write_text(POLICY.replace("Review request", "A").replace("Pay refund", "P")
                      .replace("Close ticket", "C").replace("Send rejection", "X"),
                      encoding="utf-8")
    run = run_check([log], policy, sop=wait_for_paid_or_timeout(tmp_path))
    found = sorted((f.rule, f.case_id, f.message) for f in run.result.findings)
    assert found == [("CF003", "c3", "out of the SOP's order: C")], found
    assert run.warnings() == []


def timer_that_never_wins(tmp_path: Path) -> Path:
    """Support sends 'approved' (starting Finance), waits for Finance's 'done', then for
    'paid' or a timer: Finance sends 'paid' before 'done', so the message is always there
    when Support waits and the timer's 'X' can never run. The joined net is unsound (dead
    transitions): Support alone is read."""
    return collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<intermediateThrowEvent id="t"/>'
        '<intermediateCatchEvent id="cd"><messageEventDefinition/></intermediateCatchEvent>'
        '<eventBasedGateway id="g"/><intermediateCatchEvent id="w"><messageEventDefinition/>'
        '</intermediateCatchEvent><intermediateCatchEvent id="tm"><timerEventDefinition/>'
        '</intermediateCatchEvent>' + tasks("c", "x") + '<endEvent id="e1"/><endEvent id="e3"/>'
        + flows("s1>a>t>cd>g>w>c>e1", "g>tm>x>e3"),
        '<startEvent id="s2"><messageEventDefinition/></startEvent>' + tasks("p")
        + '<intermediateThrowEvent id="t2"/><endEvent id="e2"><messageEventDefinition/>'
        '</endEvent>' + flows("s2>p>t2>e2"),
        '<messageFlow id="m1" sourceRef="t" targetRef="s2"/>'
        '<messageFlow id="m2" sourceRef="t2" targetRef="w"/>'
        '<messageFlow id="m3" sourceRef="e2" targetRef="cd"/>')


def test_a_timer_that_never_wins_is_named_in_the_reason_one_pool_is_read(
        tmp_path: Path) -> None:
    """The joined net's only problem is steps no run takes: the timer's branch of 'g' (a
    silent step) and 'X' after it. The reason one pool is read names the timer, the gateway
    and the message that always comes first. Before, it said "2 transition(s) can never
    fire: (silent step of 'g'), 'X'", which a designer could not tell was the timer."""
    path = timer_that_never_wins(tmp_path)
    joined = convert(_Reader(_Source.load(path)).read(None))
    assert joined.net is not None
    assert check_soundness(joined.net).problems == (
        "2 transition(s) can never fire: (silent step of 'g'), 'X'",)
    model = read_bpmn(path)
    assert not model.joined and model.process_id == "pA"
    assert model.choice is not None and model.choice.startswith(
        "its pools joined by message flows do not read as one process (the timer 'tm' after "
        "the event-based gateway 'g' can never win: the message it waits for there ('m2') is "
        "always sent before a run reaches 'g', so that branch never runs (2 transition(s) can "
        "never fire: (silent step of 'g'), 'X')); so one pool is read: "), model.choice
    # A timer that can win (the message sent while Support waits) leaves the pools joined.
    wins = tmp_path / "wins"
    wins.mkdir()
    assert read_bpmn(wait_for_paid_or_timeout(wins)).joined


def test_a_timer_after_a_gateway_no_run_reaches_is_not_named(tmp_path: Path) -> None:
    """'g2' comes after the never-winning timer's 'X' and waits for Finance's 'm4' (sent only
    after 'X''s 'm5', so never) or the timer 'tm2': no run reaches 'g2', so all its branches
    are dead. Only 'g''s timer is named; before, the reason also said 'm4' "is always sent
    before a run reaches 'g2'", though 'm4' is never sent and 'g2' never reached."""
    path = collaboration(
        tmp_path,
        '<startEvent id="s1"/>' + tasks("a") + '<intermediateThrowEvent id="t"/>'
        '<intermediateCatchEvent id="cd"><messageEventDefinition/></intermediateCatchEvent>'
        '<eventBasedGateway id="g"/><intermediateCatchEvent id="w"><messageEventDefinition/>'
        '</intermediateCatchEvent><intermediateCatchEvent id="tm"><timerEventDefinition/>'
        '</intermediateCatchEvent>' + tasks("c", "x", "y", "z")
        + '<eventBasedGateway id="g2"/><intermediateCatchEvent id="w2">'
        '<messageEventDefinition/></intermediateCatchEvent><intermediateCatchEvent id="tm2">'
        '<timerEventDefinition/></intermediateCatchEvent>'
        '<endEvent id="e1"/><endEvent id="e3"/><endEvent id="e5"/>'
        + flows("s1>a>t>cd>g>w>c>e1", "g>tm>x>g2>w2>y>e3", "g2>tm2>z>e5"),
        '<startEvent id="s2"><messageEventDefinition/></startEvent>' + tasks("p", "q")
        + '<intermediateThrowEvent id="t2"/><intermediateThrowEvent id="t3"/>'
        '<intermediateThrowEvent id="t4"/><eventBasedGateway id="gf"/>'
        '<intermediateCatchEvent id="wf"><messageEventDefinition/></intermediateCatchEvent>'
        '<intermediateCatchEvent id="tmf"><timerEventDefinition/></intermediateCatchEvent>'
        '<endEvent id="e2"/><endEvent id="e6"/>'
        + flows("s2>p>t2>t3>gf>wf>q>t4>e2", "gf>tmf>e6"),
        '<messageFlow id="m1" sourceRef="t" targetRef="s2"/>'
        '<messageFlow id="m2" sourceRef="t2" targetRef="w"/>'
        '<messageFlow id="m3" sourceRef="t3" targetRef="cd"/>'
        '<messageFlow id="m5" sourceRef="x" targetRef="wf"/>'
        '<messageFlow id="m4" sourceRef="t4" targetRef="w2"/>')
    joined = convert(_Reader(_Source.load(path)).read(None))
    assert joined.net is not None
    soundness = check_soundness(joined.net)
    assert len(soundness.problems) == 1
    assert {"tau:g2", "tau:g2#2", "t:z", "tau:t4"} <= set(soundness.dead), soundness.dead
    model = read_bpmn(path)
    assert not model.joined and model.choice is not None
    assert model.choice.startswith(
        "its pools joined by message flows do not read as one process (the timer 'tm' after "
        "the event-based gateway 'g' can never win: the message it waits for there ('m2') is "
        "always sent before a run reaches 'g', so that branch never runs (9 transition(s) "
        "can never fire: "), model.choice
    assert "gateway 'g2'" not in model.choice and "tm2" not in model.choice, model.choice


def test_the_sop_graph_of_one_pool_read_says_the_other_pools_are_left_out(
        tmp_path: Path) -> None:
    """A collaboration whose timer never wins is read as its pool with the most tasks: the
    report's SOP graph draws Support alone, Finance's 'P' a box "not in the SOP". Its caption
    says only one pool is drawn, why, and which pools are left out. Before, it said "Arrows
    are the SOP's flows" as of a whole file: a designer read 'P' as a step missing from the
    SOP, the warning saying otherwise only in the run's warnings. A file whose pools read as
    one, or a single process, gets no such sentence."""
    from audit.checkrun import run_check
    from reports.overlay import overlay_graphs

    sop = timer_that_never_wins(tmp_path)
    assert read_bpmn(sop).process_id == "pA"
    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(LOG_HEADER + "1,c1,A,2026-09-01T10:00:00Z,ecommerce\n"
                   "2,c1,P,2026-09-01T11:00:00Z,ecommerce\n"
                   "3,c1,C,2026-09-01T12:00:00Z,ecommerce\n", encoding="utf-8")
    policy.write_text(POLICY.replace("Review request", "A").replace("Pay refund", "P")
                      .replace("Close ticket", "C").replace("Send rejection", "X"),
                      encoding="utf-8")
    [graph] = overlay_graphs(run_check([log], policy, sop=sop))
    # (one case: "the 1 judged case", where it read "the 1 judged cases")
    assert graph.caption.startswith(
        "The SOP of channel ecommerce (pools.bpmn) with the 1 judged case on it "), graph.caption
    told = (" Only one pool of the SOP's file is drawn, as the checks read it: its pools "
            "joined by message flows do not read as one process (the timer 'tm' after the "
            "event-based gateway 'g' can never win: ")
    assert told in graph.caption, graph.caption
    assert graph.caption.endswith(
        "read 'pA' (pool 'Support'), the one with the most tasks; the tasks of the other "
        "pools ('Finance') are no tasks of this SOP: the cases doing them are drawn with "
        "those tasks as not in the SOP."), graph.caption
    log.write_text(LOG_HEADER + "1,c1,Review request,2026-09-01T10:00:00Z,ecommerce\n"
                   "2,c1,Close ticket,2026-09-01T12:00:00Z,ecommerce\n", encoding="utf-8")
    policy.write_text(POLICY, encoding="utf-8")
    [joined] = overlay_graphs(run_check([log], policy, sop=REFUND))
    assert "Only one pool" not in joined.caption, joined.caption
    [alone] = overlay_graphs(run_check([log], policy, sop=Path(f"{REFUND}#Customer Support")))
    assert "Only one pool" not in alone.caption, alone.caption


def test_the_sop_graph_of_one_of_two_processes_without_pools_says_one_process(
        tmp_path: Path) -> None:
    """A file of two top-level processes and no collaboration: the reader takes the one with
    the most tasks ('pA'). The caption says one process of the file is drawn; before, it said
    "Only one pool", of a file that has no pools."""
    from audit.checkrun import run_check
    from reports.overlay import overlay_graphs

    sop = tmp_path / "two.bpmn"
    sop.write_text(
        f'<definitions xmlns="{BPMN_NS}" id="d" targetNamespace="t"><process id="pA">'
        '<startEvent id="s1"/>' + tasks("a", "c") + '<endEvent id="e1"/>'
        + flows("s1>a>c>e1") + '</process><process id="pB"><startEvent id="s2"/>'
        + tasks("p") + '<endEvent id="e2"/>' + flows("s2>p>e2") + "</process></definitions>",
        encoding="utf-8")
    model = read_bpmn(sop)
    assert model.process_id == "pA" and model.pools == [] and model.choice is not None
    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(LOG_HEADER + "1,c1,A,2026-09-01T10:00:00Z,ecommerce\n"
                   "2,c1,C,2026-09-01T12:00:00Z,ecommerce\n", encoding="utf-8")
    policy.write_text(POLICY.replace("Review request", "A").replace("Pay refund", "P")
                      .replace("Close ticket", "C").replace("Send rejection", "X"),
                      encoding="utf-8")
    [graph] = overlay_graphs(run_check([log], policy, sop=sop))
    assert "pool" not in graph.caption, graph.caption
    assert (" Only one process of the SOP's file is drawn, as the checks read it: the file "
            "has 2 processes with flow elements ('pA': 2 task(s), 'pB': 1 task(s)); read "
            "'pA', the one with the most tasks.") in graph.caption, graph.caption


def refund_without_finance_start(tmp_path: Path, *, paid_back: bool) -> Path:
    """The refund collaboration with Finance drawn without a start event: 'refund approved'
    goes into the user task 'Pay refund', Finance's entry; `paid_back=False` also drops the
    'refund paid' message back to Support (and Support's catch event waiting for it)."""
    text = REFUND.read_text(encoding="utf-8")
    for old, new in [
        ('targetRef="StartEvent_Finance"', 'targetRef="Activity_Pay"'),
        ('<bpmn:startEvent id="StartEvent_Finance" name="Refund approved">\n'
         '      <bpmn:outgoing>Flow_7</bpmn:outgoing>\n'
         '      <bpmn:messageEventDefinition id="Med_4" messageRef="Message_Approved" />\n'
         '    </bpmn:startEvent>', ""),
        ('<bpmn:incoming>Flow_7</bpmn:incoming>', ""),
        ('<bpmn:sequenceFlow id="Flow_7" sourceRef="StartEvent_Finance" '
         'targetRef="Activity_Pay" />', ""),
        ('<bpmn:serviceTask id="Activity_Pay"', '<bpmn:userTask id="Activity_Pay"'),
        ('</bpmn:serviceTask>', '</bpmn:userTask>'),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    if not paid_back:
        for old, new in [
            ('<bpmn:messageFlow id="Flow_paid" name="refund paid" sourceRef="EndEvent_Paid" '
             'targetRef="Event_Paid" />', ""),
            ('targetRef="Event_Paid" />', 'targetRef="Activity_Close" />'),
            ('<bpmn:incoming>Flow_4</bpmn:incoming>', '<bpmn:incoming>Flow_3</bpmn:incoming>'),
        ]:
            assert old in text, old
            text = text.replace(old, new)
        start = text.index('<bpmn:intermediateCatchEvent id="Event_Paid"')
        end = text.index("</bpmn:intermediateCatchEvent>") + len("</bpmn:intermediateCatchEvent>")
        text = text[:start] + text[end:]
        text = text.replace('<bpmn:sequenceFlow id="Flow_4" sourceRef="Event_Paid" '
                            'targetRef="Activity_Close" />', "")
    path = tmp_path / "refund.bpmn"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("paid_back,language", [
    (False, {("Review request", "Send rejection"),
             ("Review request", "Pay refund", "Close ticket"),
             ("Review request", "Close ticket", "Pay refund")}),
    (True, {("Review request", "Send rejection"),
            ("Review request", "Pay refund", "Close ticket")}),
])
def test_a_message_into_the_entry_of_a_pool_without_start_event_starts_it(
        tmp_path: Path, paid_back: bool, language: set[tuple[str, ...]]) -> None:
    """Finance drawn without a start event, 'refund approved' into its first task (a user
    task): the message is Finance's start, 'Pay refund' waits for it. Before, it was read as
    information, so Finance ran in every case: without the 'paid' message back, a rejected
    refund had to be paid (('Review request', 'Send rejection', 'Pay refund') conformed, a
    rejection without payout did not), and with it the joined net was unsound and one pool
    was read instead."""
    path = refund_without_finance_start(tmp_path, paid_back=paid_back)
    conversion = bpmn_to_workflow_net(path)
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=8) == language
    assert conversion.model.joined and conversion.model.choice is None
    assert len(conversion.model.message_flows) == (2 if paid_back else 1)
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"


def test_pools_only_information_joins_are_one_chosen_pool_with_the_reason(
        tmp_path: Path) -> None:
    """Finance starts on its own (a none start event) and 'refund approved' goes into its
    user task 'Pay refund': information, no order. Before, the pools were still read as one,
    so 'Pay refund' was expected in every case, rejected ones included; now the pool with the
    most tasks is read, as without message flows, and its choice says why."""
    path = refund_without_finance_start(tmp_path, paid_back=False)
    path.write_text(path.read_text(encoding="utf-8").replace(
        '<bpmn:process id="Process_Finance" isExecutable="false">',
        '<bpmn:process id="Process_Finance" isExecutable="false">'
        '<bpmn:startEvent id="Start_F"><bpmn:outgoing>Flow_s</bpmn:outgoing>'
        '</bpmn:startEvent><bpmn:sequenceFlow id="Flow_s" sourceRef="Start_F" '
        'targetRef="Activity_Pay" />'), encoding="utf-8")
    conversion = bpmn_to_workflow_net(path)
    model = conversion.model
    assert not model.joined and model.process_id == "Process_Support"
    assert model.choice is not None and model.choice.startswith(
        "its pools joined by message flows do not read as one process (no message flow "
        "between them sets an order: each is information or touches a pool without a "
        "process); so one pool is read: ")
    assert "the one with the most tasks" in model.choice
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=8) == {("Review request", "Send rejection"),
                                                      ("Review request", "Close ticket")}


def test_the_join_decisions_evict_a_key_another_thread_evicted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept decisions are full and the oldest is evicted as a new file is decided; a
    thread reading the file at the same time has just evicted that oldest one (simulated:
    the cache's first key is gone as it is read). Before, `pop(next(iter(...)))` raised
    KeyError (read_bpmn failed in one of six threads reading 64 files); now the eviction
    takes a lock and pops what is still there."""
    from conformance import bpmn

    class Raced(dict):  # type: ignore[type-arg]
        def __iter__(self) -> Iterator[object]:
            first = next(iter(self.keys()))
            del self[first]  # (another thread evicted it first)
            yield first
            yield from self.keys()

    kept = Raced({("old", i): (None, None) for i in range(bpmn._JOIN_DECISIONS_KEPT)})
    monkeypatch.setattr(bpmn, "_JOIN_DECISIONS", kept)
    path = collaboration(tmp_path, SIMPLE_A, SIMPLE_B,
                         '<messageFlow id="m" sourceRef="a" targetRef="s2"/>')
    assert read_bpmn(path).joined
    assert len(kept) == bpmn._JOIN_DECISIONS_KEPT


def test_the_sop_graph_of_a_process_outside_any_pool_beside_a_pool_says_one_process(
        tmp_path: Path) -> None:
    """A file of a pool 'Support' (process 'pS', 1 task) and a process drawn outside any pool
    ('pOut', 2 tasks): the reader takes 'pOut'. The caption says one process of the file is
    drawn and names the other process; before, it said "Only one pool ... the tasks of the
    other pools ('Support')", the process read being no pool's. Where the pool's process is
    the one read (named by its tasks outnumbering), the caption says "process" too: the
    other candidate is no pool's."""
    from audit.checkrun import run_check
    from reports.overlay import overlay_graphs

    def write(pool_tasks: str, outside_tasks: str) -> Path:
        sop = tmp_path / "mixed.bpmn"
        sop.write_text(
            f'<definitions xmlns="{BPMN_NS}" id="d" targetNamespace="t"><collaboration '
            'id="co"><participant id="ps" name="Support" processRef="pS"/></collaboration>'
            '<process id="pS"><startEvent id="s1"/>' + tasks(*pool_tasks)
            + '<endEvent id="e1"/>' + flows(f"s1>{'>'.join(pool_tasks)}>e1")
            + '</process><process id="pOut"><startEvent id="s2"/>' + tasks(*outside_tasks)
            + '<endEvent id="e2"/>' + flows(f"s2>{'>'.join(outside_tasks)}>e2")
            + "</process></definitions>", encoding="utf-8")
        return sop

    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(LOG_HEADER + "1,c1,A,2026-09-01T10:00:00Z,ecommerce\n"
                   "2,c1,C,2026-09-01T12:00:00Z,ecommerce\n", encoding="utf-8")
    policy.write_text(POLICY.replace("Review request", "A").replace("Pay refund", "P")
                      .replace("Close ticket", "C").replace("Send rejection", "X"),
                      encoding="utf-8")
    sop = write("p", "ac")
    assert read_bpmn(sop).process_id == "pOut"
    [graph] = overlay_graphs(run_check([log], policy, sop=sop))
    assert "Only one pool" not in graph.caption and "other pools" not in graph.caption, (
        graph.caption)
    assert graph.caption.endswith(
        " Only one process of the SOP's file is drawn, as the checks read it: the file has 2 "
        "processes with flow elements ('pS' (pool 'Support'): 1 task(s), 'pOut': 2 task(s)); "
        "read 'pOut', the one with the most tasks; the tasks of the other processes ('pS') "
        "are no tasks of this SOP: the cases doing them are drawn with those tasks as not "
        "in the SOP."), graph.caption
    assert read_bpmn(sop).candidates == ("pS", "pOut")
    sop = write("ac", "p")
    assert read_bpmn(sop).process_id == "pS"
    [graph] = overlay_graphs(run_check([log], policy, sop=sop))
    assert graph.caption.endswith(
        "read 'pS' (pool 'Support'), the one with the most tasks; the tasks of the other "
        "processes ('pOut') are no tasks of this SOP: the cases doing them are drawn with "
        "those tasks as not in the SOP."), graph.caption
