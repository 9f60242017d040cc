"""How each BPMN construct converts: small models, and the exact language of their nets.

Each case writes a tiny BPMN file, converts it, and compares the net's visible traces (all of
them, up to a length) with what the BPMN semantics allow, or checks the refusal's wording.
"""

from __future__ import annotations

from itertools import pairwise, permutations
from pathlib import Path

import pytest

from audit.errors import InputError
from conformance.bpmn import BPMN_NS, read_bpmn
from conformance.petri import Conversion, bpmn_to_workflow_net, play_out

Traces = set[tuple[str, ...]]


def flows(*chains: str) -> str:
    """Sequence flows from chains like "s>a>b>e" (ids), each hop its own flow."""
    out: list[str] = []
    for chain in chains:
        nodes = chain.split(">")
        for source, target in pairwise(nodes):
            out.append(f'<sequenceFlow id="f_{source}_{target}" sourceRef="{source}" '
                       f'targetRef="{target}"/>')
    return "".join(out)


def tasks(*ids: str) -> str:
    """Tasks whose name is their id in upper case."""
    return "".join(f'<task id="{i}" name="{i.upper()}"/>' for i in ids)


def document(body: str, *, extra: str = "", process_id: str = "p") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{BPMN_NS}" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" '
            f'targetNamespace="t">{extra}<process id="{process_id}">{body}</process>'
            "</definitions>")


def convert(tmp_path: Path, body: str, *, extra: str = "", name: str = "model.bpmn"
            ) -> Conversion:
    path = tmp_path / name
    path.write_text(document(body, extra=extra), encoding="utf-8")
    return bpmn_to_workflow_net(path)


def language(tmp_path: Path, body: str, *, extra: str = "", max_length: int = 8) -> Traces:
    conversion = convert(tmp_path, body, extra=extra)
    assert not conversion.refused, [str(r) for r in conversion.refused]
    assert conversion.net is not None and conversion.soundness is not None
    assert conversion.soundness.verdict == "sound", conversion.soundness.problems
    return play_out(conversion.net, max_length=max_length)


def refusals(tmp_path: Path, body: str, *, extra: str = "") -> list[str]:
    conversion = convert(tmp_path, body, extra=extra)
    assert conversion.net is None
    # (Type, id and reason: where the element is written, its name and line, is
    # test_bpmn_refusal_located's.)
    return [f"{r.element_type} '{r.element_id}': {r.reason}" for r in conversion.refused]


def interleavings(*sequences: tuple[str, ...]) -> Traces:
    """All interleavings of the given sequences (each keeps its own order)."""
    if not sequences:
        return {()}
    out: Traces = set()
    rest = [s for s in sequences if s]
    if not rest:
        return {()}
    for k, seq in enumerate(rest):
        others = [*rest[:k], seq[1:], *rest[k + 1:]]
        out |= {(seq[0], *tail) for tail in interleavings(*others)}
    return out


START, END = '<startEvent id="s"/>', '<endEvent id="e"/>'


# --- gateways -------------------------------------------------------------------------------------


def test_sequence(tmp_path: Path) -> None:
    assert language(tmp_path, START + tasks("a", "b") + END + flows("s>a>b>e")) == {("A", "B")}


def test_exclusive_choice_with_default_flow(tmp_path: Path) -> None:
    body = (START + '<exclusiveGateway id="x" default="f_x_b"/><exclusiveGateway id="m"/>'
            + tasks("a", "b") + END + flows("s>x>a>m>e", "x>b>m"))
    assert language(tmp_path, body) == {("A",), ("B",)}


def test_parallel_split_and_join(tmp_path: Path) -> None:
    body = (START + '<parallelGateway id="x"/><parallelGateway id="j"/>' + tasks("a", "b", "c")
            + END + flows("s>x>a>j>c>e", "x>b>j"))
    assert language(tmp_path, body) == {("A", "B", "C"), ("B", "A", "C")}


def test_several_flows_out_of_a_task_run_in_parallel(tmp_path: Path) -> None:
    body = (START + tasks("a", "b", "c") + '<parallelGateway id="j"/>' + END
            + flows("s>a>b>j>e", "a>c>j"))
    assert language(tmp_path, body) == {("A", "B", "C"), ("A", "C", "B")}


def test_paired_inclusive_gateways_wait_for_the_branches_started(tmp_path: Path) -> None:
    body = (START + '<inclusiveGateway id="x"/><inclusiveGateway id="j"/>'
            + tasks("a", "b", "c", "z") + END + flows("s>x>a>j>z>e", "x>b>j", "x>c>j"))
    expected: Traces = set()
    for size in (1, 2, 3):
        for chosen in permutations("ABC", size):
            expected.add((*chosen, "Z"))
    assert language(tmp_path, body) == expected


def test_inclusive_split_default_flow_is_taken_alone(tmp_path: Path) -> None:
    body = (START + '<inclusiveGateway id="x" default="f_x_c"/><inclusiveGateway id="j"/>'
            + tasks("a", "b", "c") + END + flows("s>x>a>j>e", "x>b>j", "x>c>j"))
    assert language(tmp_path, body) == {("A",), ("B",), ("C",), ("A", "B"), ("B", "A")}


def test_conditional_flows_out_of_a_task_are_an_inclusive_split(tmp_path: Path) -> None:
    body = (START + tasks("a", "b", "c") + '<inclusiveGateway id="j"/>' + END
            + '<sequenceFlow id="c1" sourceRef="a" targetRef="b"><conditionExpression>x'
              '</conditionExpression></sequenceFlow>'
            + '<sequenceFlow id="c2" sourceRef="a" targetRef="c"><conditionExpression>y'
              '</conditionExpression></sequenceFlow>'
            + flows("s>a", "b>j>e", "c>j"))
    assert language(tmp_path, body) == {("A", "B"), ("A", "C"), ("A", "B", "C"),
                                        ("A", "C", "B")}


@pytest.mark.parametrize("default", [False, True], ids=["no default", "a default flow"])
def test_a_flow_without_condition_out_of_a_task_is_always_taken(tmp_path: Path,
                                                                default: bool) -> None:
    """BPMN 2.0 13.2.1: out of an activity, a flow without a condition always gets a token,
    a conditional one when its condition holds, the default one when none does. A to B is
    unconditional, A to C conditional, A to D (where given) the default: B always runs
    (before: ('A', 'C', 'Z'), skipping B, fitted the model)."""
    body = (START + tasks("a", "b", "c", "z") + '<inclusiveGateway id="j"/>' + END
            + '<sequenceFlow id="c1" sourceRef="a" targetRef="c"><conditionExpression>y'
              '</conditionExpression></sequenceFlow>' + flows("s>a>b>j>z>e", "c>j"))
    if default:
        body = body.replace('<task id="a" name="A"/>', '<task id="a" name="A" default="f_a_d"/>')
        body += tasks("d") + flows("a>d>j")
    with_c = {("A", "B", "C", "Z"), ("A", "C", "B", "Z")}
    without_c = {("A", "B", "D", "Z"), ("A", "D", "B", "Z")} if default else {("A", "B", "Z")}
    assert language(tmp_path, body) == with_c | without_c


def test_an_unpaired_inclusive_join_is_refused(tmp_path: Path) -> None:
    body = (START + '<exclusiveGateway id="x"/><inclusiveGateway id="j"/>' + tasks("a", "b")
            + END + flows("s>x>a>j>e", "x>b>j"))
    reasons = refusals(tmp_path, body)
    assert len(reasons) == 1
    assert reasons[0].startswith("inclusiveGateway 'j': this inclusive join does not close")


def test_a_wide_inclusive_split_is_refused(tmp_path: Path) -> None:
    ids = [f"t{k}" for k in range(7)]
    body = (START + '<inclusiveGateway id="x"/><inclusiveGateway id="j"/>' + tasks(*ids) + END
            + flows(*(f"x>{i}>j" for i in ids), "s>x", "j>e"))
    assert any("7 flows has 127 combinations" in r for r in refusals(tmp_path, body))


def test_event_based_gateway_chooses_among_the_events_that_follow(tmp_path: Path) -> None:
    body = (START + '<eventBasedGateway id="g"/>'
            '<intermediateCatchEvent id="t"><timerEventDefinition/></intermediateCatchEvent>'
            '<intermediateCatchEvent id="m"><messageEventDefinition/></intermediateCatchEvent>'
            '<receiveTask id="r" name="R"/>' + tasks("a", "b") + '<exclusiveGateway id="j"/>'
            + END + flows("s>g>t>a>j>e", "g>m>b>j", "g>r>j"))
    assert language(tmp_path, body) == {("A",), ("B",), ("R",)}


def test_parallel_event_based_gateway_runs_every_event_branch(tmp_path: Path) -> None:
    """An instantiating parallel event-based gateway (eventGatewayType="Parallel", as
    Signavio and ARIS draw it) starts the process at the first event and then takes every
    other event that follows it into the same instance: each branch runs. It was read as
    an exclusive event-based gateway, so a case running one branch fitted and a case
    running both was judged unfit (the other branch's task "unexpected")."""
    body = ('<eventBasedGateway id="g" instantiate="true" eventGatewayType="Parallel"/>'
            '<intermediateCatchEvent id="m1"><messageEventDefinition/></intermediateCatchEvent>'
            '<intermediateCatchEvent id="m2"><messageEventDefinition/></intermediateCatchEvent>'
            + tasks("a", "b") + '<parallelGateway id="j"/>'
            + END + flows("g>m1>a>j>e", "g>m2>b>j"))
    assert language(tmp_path, body) == {("A", "B"), ("B", "A")}
    assert "event-based gateway 'g' is parallel (eventGatewayType=\"Parallel\"): every " \
        "event branch after it runs, as after a parallel split" in convert(tmp_path, body).notes
    # Without instantiate="true", a gateway without incoming flow starts the process too.
    plain = body.replace(' instantiate="true"', "")
    assert language(tmp_path, plain) == {("A", "B"), ("B", "A")}


def test_a_parallel_event_based_gateway_inside_the_process_is_refused(tmp_path: Path) -> None:
    """BPMN 2.0 (10.6.6) gives the Parallel type only to an event-based gateway that
    instantiates the process. One reached by a sequence flow, mid-process, was read as a
    parallel split all the same: when its other events are awaited BPMN does not say."""
    body = (START + tasks("c") + '<eventBasedGateway id="g" eventGatewayType="Parallel"/>'
            '<intermediateCatchEvent id="m1"><messageEventDefinition/></intermediateCatchEvent>'
            '<intermediateCatchEvent id="m2"><messageEventDefinition/></intermediateCatchEvent>'
            + tasks("a", "b") + '<parallelGateway id="j"/>'
            + END + flows("s>c>g>m1>a>j>e", "g>m2>b>j"))
    assert refusals(tmp_path, body) == [
        "eventBasedGateway 'g': eventGatewayType=\"Parallel\" (line 2) on a gateway that does "
        "not start the process (it has incoming sequence flow and no instantiate=\"true\"): "
        "BPMN defines a parallel event-based gateway only as one that instantiates the "
        "process, so whether one or every event branch runs here is unknown"]
    # With instantiate="true" it is read, as before.
    started = body.replace('<eventBasedGateway id="g"',
                           '<eventBasedGateway id="g" instantiate="true"')
    assert not convert(tmp_path, started).refused


def test_an_event_based_gateway_of_an_unknown_type_is_refused(tmp_path: Path) -> None:
    body = (START + '<eventBasedGateway id="g" eventGatewayType="Both"/>'
            '<intermediateCatchEvent id="m1"><messageEventDefinition/></intermediateCatchEvent>'
            '<intermediateCatchEvent id="m2"><messageEventDefinition/></intermediateCatchEvent>'
            + tasks("a", "b") + '<exclusiveGateway id="j"/>'
            + END + flows("s>g>m1>a>j>e", "g>m2>b>j"))
    assert refusals(tmp_path, body) == [
        "eventBasedGateway 'g': eventGatewayType=\"Both\" (line 2) is neither Exclusive nor "
        "Parallel, so whether one or every event branch runs is unknown"]


@pytest.mark.parametrize(("attribute", "value", "reason"), [
    ("completionQuantity", "2", ' (line 2): the activity puts 2 tokens on its outgoing flows '
     "when it completes (what follows runs 2 times); a workflow net (without weighted arcs) "
     "cannot say it"),
    ("startQuantity", "2", " (line 2): the activity waits for 2 tokens on its incoming flows "
     "before it starts (it joins them); a workflow net (without weighted arcs) cannot say it"),
    ("startQuantity", "two", " (line 2) is not a whole number from 1, so how many tokens the "
     "activity takes is unknown")])
def test_a_token_quantity_other_than_one_is_refused(tmp_path: Path, attribute: str,
                                                    value: str, reason: str) -> None:
    """startQuantity and completionQuantity (BPMN 2.0, 10.3.1; default 1) change what runs:
    a task completing with 2 tokens runs what follows twice, one starting on 2 joins two
    branches. They were passed over unsaid: a model whose language differs from the
    drawing's was judged by as if they were 1."""
    body = (START + f'<task id="a" name="A" {attribute}="{value}"/>' + tasks("b") + END
            + flows("s>a>b>e"))
    assert refusals(tmp_path, body) == [f'task \'a\': {attribute}="{value}"{reason}']
    one = (START + f'<task id="a" name="A" {attribute}=" 1 "/>' + tasks("b") + END
           + flows("s>a>b>e"))
    assert language(tmp_path, one) == {("A", "B")}


def test_complex_gateway_is_refused(tmp_path: Path) -> None:
    body = START + '<complexGateway id="c"/>' + tasks("a") + END + flows("s>c>a>e")
    assert refusals(tmp_path, body) == [
        "complexGateway 'c': a complex gateway's behaviour is given by free-form conditions; it "
        "cannot be converted faithfully"]


@pytest.mark.parametrize("body", [
    START + '<task id="t" name="Approve refund"/><task id="t" name="Execute payout"/>' + END
    + flows("s>t>e"),
    START + tasks("a", "b") + END + '<sequenceFlow id="f" sourceRef="s" targetRef="a"/>'
    '<sequenceFlow id="f" sourceRef="a" targetRef="b"/>' + flows("b>e")],
    ids=["two tasks", "two flows"])
def test_an_id_given_twice_is_refused(tmp_path: Path, body: str) -> None:
    """BPMN ids are xsd:IDs, unique in the file. Two tasks with one id were read as the
    later one alone, a one-task model judged sound (and two flows as one, a task cut off):
    a silently different SOP."""
    [refusal] = refusals(tmp_path, body)
    assert refusal.endswith("its id is given to another element as well (line 2); BPMN ids "
                            "are unique")


# --- events -------------------------------------------------------------------------------------


def test_intermediate_events_are_silent(tmp_path: Path) -> None:
    body = (START + tasks("a", "b")
            + '<intermediateCatchEvent id="t"><timerEventDefinition/></intermediateCatchEvent>'
            '<intermediateThrowEvent id="m"><messageEventDefinition/></intermediateThrowEvent>'
            + END + flows("s>a>t>m>b>e"))
    assert language(tmp_path, body) == {("A", "B")}


def test_several_start_events_are_alternatives(tmp_path: Path) -> None:
    body = ('<startEvent id="s1"/><startEvent id="s2"><messageEventDefinition/></startEvent>'
            + tasks("a", "b") + END + flows("s1>a>e", "s2>b>e"))
    assert language(tmp_path, body) == {("A",), ("B",)}


def test_without_start_event_every_source_node_starts(tmp_path: Path) -> None:
    body = tasks("a", "b") + '<endEvent id="e1"/><endEvent id="e2"/>' + flows("a>e1", "b>e2")
    assert language(tmp_path, body) == {("A", "B"), ("B", "A")}


def test_parallel_branches_may_end_in_separate_end_events(tmp_path: Path) -> None:
    body = (START + '<parallelGateway id="x"/>' + tasks("a", "b")
            + '<endEvent id="e1"/><endEvent id="e2"/>' + flows("s>x>a>e1", "x>b>e2"))
    assert language(tmp_path, body) == {("A", "B"), ("B", "A")}


def test_a_node_without_outgoing_flow_ends_its_branch(tmp_path: Path) -> None:
    body = START + '<parallelGateway id="x"/>' + tasks("a", "b") + END + flows("s>x>a>e", "x>b")
    assert language(tmp_path, body) == {("A", "B"), ("B", "A")}


def test_terminate_end_event_cancels_the_other_branches(tmp_path: Path) -> None:
    body = (START + '<parallelGateway id="x"/>' + tasks("a", "b", "c")
            + '<endEvent id="t"><terminateEventDefinition/></endEvent>' + END
            + flows("s>x>a>t", "x>b>c>e"))
    assert language(tmp_path, body) == (interleavings(("A",), ("B", "C"))
                                        | interleavings(("A",), ("B",)) | {("A",)})


def test_an_uncaught_error_end_event_ends_the_process(tmp_path: Path) -> None:
    body = (START + '<exclusiveGateway id="x"/>' + tasks("a", "b")
            + '<endEvent id="err"><errorEventDefinition/></endEvent>' + END
            + flows("s>x>a>e", "x>b>err"))
    conversion = convert(tmp_path, body)
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert any("is not caught: it is read as ending the whole process" in n
               for n in conversion.notes)


def test_link_events_continue_at_the_catch_of_the_same_name(tmp_path: Path) -> None:
    body = (START + tasks("a", "b")
            + '<intermediateThrowEvent id="lt"><linkEventDefinition name="L1"/>'
              '</intermediateThrowEvent>'
            '<intermediateCatchEvent id="lc"><linkEventDefinition name="L1"/>'
            '</intermediateCatchEvent>' + END + flows("s>a>lt", "lc>b>e"))
    assert language(tmp_path, body) == {("A", "B")}


def test_a_link_without_its_catch_is_refused(tmp_path: Path) -> None:
    body = (START + tasks("a") + '<intermediateThrowEvent id="lt"><linkEventDefinition '
            'name="L1"/></intermediateThrowEvent>' + flows("s>a>lt"))
    assert any("link 'L1' has no link catch event" in r for r in refusals(tmp_path, body))


@pytest.mark.parametrize("handler", [
    '<task id="u" name="Undo" isForCompensation="true" completionQuantity="2"/>',
    '<boundaryEvent id="cb" attachedToRef="a"><compensateEventDefinition/></boundaryEvent>'
    '<task id="u" name="Undo" isForCompensation="true" startQuantity="3"/>'
    '<association id="as" sourceRef="cb" targetRef="u"/>'])
def test_a_compensation_handler_s_token_quantity_is_not_judged(tmp_path: Path,
                                                               handler: str) -> None:
    """A compensation handler is left out (it runs only on compensation, which is refused
    where thrown), so its startQuantity or completionQuantity changes nothing read. It
    refused the whole model all the same."""
    body = START + tasks("a", "b") + handler + END + flows("s>a>b>e")
    assert language(tmp_path, body) == {("A", "B")}
    assert any("'u' is a compensation handler" in n for n in convert(tmp_path, body).notes)


def test_throwing_compensation_is_refused(tmp_path: Path) -> None:
    body = (START + tasks("a") + '<intermediateThrowEvent id="c"><compensateEventDefinition/>'
            '</intermediateThrowEvent>' + END + flows("s>a>c>e"))
    assert refusals(tmp_path, body)[0].startswith("intermediateThrowEvent 'c': throwing "
                                                  "compensation")


# --- boundary events ------------------------------------------------------------------------


def test_interrupting_boundary_timer_on_a_task_is_an_alternative(tmp_path: Path) -> None:
    body = (START + tasks("a", "c", "h") + END + '<endEvent id="e2"/>'
            '<boundaryEvent id="b" attachedToRef="a"><timerEventDefinition/></boundaryEvent>'
            + flows("s>a>c>e", "b>h>e2"))
    assert language(tmp_path, body) == {("A", "C"), ("H",)}


def test_interrupting_boundary_on_a_subprocess_cancels_whatever_runs(tmp_path: Path) -> None:
    inner = ('<startEvent id="is"/><parallelGateway id="ix"/><parallelGateway id="ij"/>'
             + tasks("x", "y") + '<endEvent id="ie"/>' + flows("is>ix>x>ij>ie", "ix>y>ij"))
    body = (START + f'<subProcess id="sp" name="SP">{inner}</subProcess>' + tasks("c", "h")
            + END + '<endEvent id="e2"/>'
            '<boundaryEvent id="b" attachedToRef="sp"><messageEventDefinition/></boundaryEvent>'
            + flows("s>sp>c>e", "b>h>e2"))
    done = {("X", "Y", "C"), ("Y", "X", "C")}
    interrupted = {("H",), ("X", "H"), ("Y", "H"), ("X", "Y", "H"), ("Y", "X", "H")}
    assert language(tmp_path, body) == done | interrupted


def test_error_end_event_is_caught_by_the_boundary_of_its_subprocess(tmp_path: Path) -> None:
    inner = ('<startEvent id="is"/><exclusiveGateway id="ix"/>' + tasks("a", "b")
             + '<endEvent id="ie"/><endEvent id="ierr"><errorEventDefinition errorRef="E1"/>'
               '</endEvent>' + flows("is>ix>a>ie", "ix>b>ierr"))
    body = (START + f'<subProcess id="sp">{inner}</subProcess>' + tasks("c", "h") + END
            + '<endEvent id="e2"/><boundaryEvent id="bd" attachedToRef="sp">'
              '<errorEventDefinition errorRef="E1"/></boundaryEvent>'
            + flows("s>sp>c>e", "bd>h>e2"))
    assert language(tmp_path, body, extra='<error id="E1" errorCode="X"/>') == {
        ("A", "C"), ("B", "H")}


def test_cancel_end_event_in_a_transaction(tmp_path: Path) -> None:
    inner = ('<startEvent id="is"/><parallelGateway id="ix"/><exclusiveGateway id="xo"/>'
             + tasks("a", "b", "d") + '<endEvent id="ie1"/><endEvent id="ie2"/>'
             '<endEvent id="ic"><cancelEventDefinition/></endEvent>'
             + flows("is>ix>a>ie1", "ix>xo>b>ic", "xo>d>ie2"))
    body = (START + f'<transaction id="tx">{inner}</transaction>' + tasks("c", "h") + END
            + '<endEvent id="e2"/><boundaryEvent id="bd" attachedToRef="tx">'
              '<cancelEventDefinition/></boundaryEvent>' + flows("s>tx>c>e", "bd>h>e2"))
    # B cancels the transaction, whether or not A has completed by then.
    completed = {(*t, "C") for t in interleavings(("A",), ("D",))}
    cancelled = {("B", "H"), ("A", "B", "H"), ("B", "A", "H")}
    assert language(tmp_path, body) == completed | cancelled


def test_non_interrupting_boundary_event_starts_an_optional_parallel_branch(
        tmp_path: Path) -> None:
    body = (START + tasks("a", "c", "n") + END + '<endEvent id="e2"/>'
            '<boundaryEvent id="b" attachedToRef="a" cancelActivity="false">'
            '<timerEventDefinition/></boundaryEvent>' + flows("s>a>c>e", "b>n>e2"))
    conversion = convert(tmp_path, body)
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=6) == {
        ("A", "C"), ("N", "A", "C"), ("A", "N", "C"), ("A", "C", "N")}
    assert any("at most once per activation" in n for n in conversion.notes)


def test_non_interrupting_boundary_event_inside_a_loop_is_refused(tmp_path: Path) -> None:
    body = (START + '<exclusiveGateway id="m"/><exclusiveGateway id="x"/>' + tasks("a", "n")
            + END + '<endEvent id="e2"/><boundaryEvent id="b" attachedToRef="a" '
            'cancelActivity="false"><timerEventDefinition/></boundaryEvent>'
            + flows("s>m>a>x>e", "x>m", "b>n>e2"))
    reasons = refusals(tmp_path, body)
    assert reasons == ["boundaryEvent 'b': a non-interrupting boundary event on an activity "
                       "inside a loop can start unboundedly many parallel branches; a workflow "
                       "net cannot count them"]


def test_boundary_event_on_a_gateway_is_refused(tmp_path: Path) -> None:
    body = (START + '<exclusiveGateway id="x"/>' + tasks("a") + END
            + '<boundaryEvent id="b" attachedToRef="x"><timerEventDefinition/></boundaryEvent>'
            + flows("s>x>a>e"))
    assert any("is attached to 'x', which is not an activity" in r
               for r in refusals(tmp_path, body))


# --- event sub-processes ------------------------------------------------------------------------


def test_interrupting_event_subprocess_cancels_the_scope(tmp_path: Path) -> None:
    handler = ('<startEvent id="hs"><messageEventDefinition/></startEvent>' + tasks("h")
               + '<endEvent id="he"/>' + flows("hs>h>he"))
    body = (START + tasks("a", "b") + END + flows("s>a>b>e")
            + f'<subProcess id="es" triggeredByEvent="true">{handler}</subProcess>')
    assert language(tmp_path, body) == {("A", "B"), ("H",), ("A", "H"), ("A", "B", "H")}


def test_non_interrupting_event_subprocess_runs_alongside(tmp_path: Path) -> None:
    handler = ('<startEvent id="hs" isInterrupting="false"><timerEventDefinition/></startEvent>'
               + tasks("h") + '<endEvent id="he"/>' + flows("hs>h>he"))
    body = (START + tasks("a", "b") + END + flows("s>a>b>e")
            + f'<subProcess id="es" triggeredByEvent="true">{handler}</subProcess>')
    assert language(tmp_path, body) == {("A", "B")} | interleavings(("A", "B"), ("H",))


def test_error_event_subprocess_catches_an_error_end_event(tmp_path: Path) -> None:
    handler = ('<startEvent id="hs"><errorEventDefinition/></startEvent>' + tasks("h")
               + '<endEvent id="he"/>' + flows("hs>h>he"))
    body = (START + '<exclusiveGateway id="x"/>' + tasks("a", "b")
            + '<endEvent id="err"><errorEventDefinition/></endEvent>' + END
            + flows("s>x>a>e", "x>b>err")
            + f'<subProcess id="es" triggeredByEvent="true">{handler}</subProcess>')
    assert language(tmp_path, body) == {("A",), ("B", "H")}


# --- activities: sub-processes, calls, loops ------------------------------------------------------


def test_embedded_subprocess_is_flattened(tmp_path: Path) -> None:
    inner = '<startEvent id="is"/>' + tasks("x", "y") + '<endEvent id="ie"/>' + flows(
        "is>x>y>ie")
    body = START + tasks("a", "b") + f'<subProcess id="sp">{inner}</subProcess>' + END + flows(
        "s>a>sp>b>e")
    assert language(tmp_path, body) == {("A", "X", "Y", "B")}


def test_a_subprocess_without_content_is_one_activity(tmp_path: Path) -> None:
    body = START + '<subProcess id="sp" name="Check&#10;request"/>' + END + flows("s>sp>e")
    conversion = convert(tmp_path, body)
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=3) == {("Check request",)}
    assert any("has no content in this file" in n for n in conversion.notes)


def test_call_activity_inlines_a_process_of_the_same_file(tmp_path: Path) -> None:
    callee = ('</process><process id="callee"><startEvent id="cs"/>' + tasks("x")
              + '<endEvent id="ce"/>' + flows("cs>x>ce"))
    body = (START + '<callActivity id="c" name="Call" calledElement="callee"/>' + END
            + flows("s>c>e") + callee)
    assert language(tmp_path, body) == {("X",)}
    model = read_bpmn(tmp_path / "model.bpmn")
    assert model.process_id == "p", "a called process is not a candidate for the main process"
    assert "c/x" in model.tasks


def test_call_activity_finds_its_callee_beside_the_file(tmp_path: Path) -> None:
    (tmp_path / "callee.bpmn").write_text(document(
        '<startEvent id="cs"/>' + tasks("x") + '<endEvent id="ce"/>' + flows("cs>x>ce"),
        process_id="Review"), encoding="utf-8")
    conversion = convert(tmp_path, START + '<callActivity id="c" calledElement="Review"/>' + END
                         + flows("s>c>e"))
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=3) == {("X",)}
    assert any("runs process 'Review' from callee.bpmn" in n for n in conversion.notes)


def test_call_activity_of_a_global_task_is_a_task(tmp_path: Path) -> None:
    body = START + '<callActivity id="c" calledElement="g"/>' + END + flows("s>c>e")
    assert language(tmp_path, body, extra='<globalUserTask id="g" name="Global"/>') == {
        ("Global",)}


def test_call_activity_with_an_absent_callee_is_refused(tmp_path: Path) -> None:
    body = (START + '<callActivity id="c" name="Review" calledElement="Missing"/>' + END
            + flows("s>c>e"))
    assert refusals(tmp_path, body) == [
        "callActivity 'c': call activity 'Review' calls 'Missing', which is neither a process "
        "of this file nor of a .bpmn file beside it"]


def test_recursive_call_is_refused(tmp_path: Path) -> None:
    body = (START + '<callActivity id="c" calledElement="p"/>' + END + flows("s>c>e"))
    assert any("recursively" in r for r in refusals(tmp_path, body))


def test_standard_loop_repeats_at_least_once(tmp_path: Path) -> None:
    body = (START + '<task id="a" name="A"><standardLoopCharacteristics/></task>' + END
            + flows("s>a>e"))
    assert language(tmp_path, body, max_length=3) == {("A",), ("A", "A"), ("A", "A", "A")}


def test_standard_loop_testing_before_may_run_zero_times(tmp_path: Path) -> None:
    body = (START + '<task id="a" name="A"><standardLoopCharacteristics testBefore="true"/>'
            '</task>' + END + flows("s>a>e"))
    assert language(tmp_path, body, max_length=2) == {(), ("A",), ("A", "A")}


def test_multi_instance_with_a_count_is_unrolled(tmp_path: Path) -> None:
    body = (START + '<task id="a" name="A"><multiInstanceLoopCharacteristics isSequential="true">'
            '<loopCardinality>3</loopCardinality></multiInstanceLoopCharacteristics></task>'
            + END + flows("s>a>e"))
    assert language(tmp_path, body) == {("A", "A", "A")}


def test_parallel_multi_instance_subprocess_with_a_count(tmp_path: Path) -> None:
    inner = '<startEvent id="is"/>' + tasks("x", "y") + '<endEvent id="ie"/>' + flows(
        "is>x>y>ie")
    body = (START + f'<subProcess id="sp">{inner}<multiInstanceLoopCharacteristics>'
            '<loopCardinality>2</loopCardinality></multiInstanceLoopCharacteristics>'
            '</subProcess>' + END + flows("s>sp>e"))
    assert language(tmp_path, body) == interleavings(("X", "Y"), ("X", "Y"))


def test_parallel_multi_instance_subprocess_without_a_count_is_refused(tmp_path: Path) -> None:
    inner = '<startEvent id="is"/>' + tasks("x") + '<endEvent id="ie"/>' + flows("is>x>ie")
    body = (START + f'<subProcess id="sp">{inner}<multiInstanceLoopCharacteristics/>'
            '</subProcess>' + END + flows("s>sp>e"))
    assert any("parallel multi-instance sub-process with no fixed instance count" in r
               for r in refusals(tmp_path, body))


def test_ad_hoc_subprocess_is_refused(tmp_path: Path) -> None:
    body = START + f'<adHocSubProcess id="ah">{tasks("x", "y")}</adHocSubProcess>' + END + flows(
        "s>ah>e")
    assert any(r.startswith("adHocSubProcess 'ah': an ad-hoc sub-process runs its activities")
               for r in refusals(tmp_path, body))


def test_a_flow_across_a_subprocess_border_is_refused(tmp_path: Path) -> None:
    inner = '<startEvent id="is"/>' + tasks("x") + '<endEvent id="ie"/>' + flows("is>x>ie")
    body = (START + f'<subProcess id="sp">{inner}</subProcess>' + tasks("a") + END
            + flows("s>sp>a>e") + '<sequenceFlow id="bad" sourceRef="a" targetRef="x"/>')
    assert any("crosses a sub-process border" in r for r in refusals(tmp_path, body))


def test_a_node_that_can_never_start_is_refused(tmp_path: Path) -> None:
    body = START + tasks("a", "orphan") + END + flows("s>a>e", "orphan>e")
    assert any("'orphan': has no incoming sequence flow although its scope has a start event"
               in r for r in refusals(tmp_path, body))


# --- soundness --------------------------------------------------------------------------------


def test_an_exclusive_split_into_a_parallel_join_is_unsound(tmp_path: Path) -> None:
    body = (START + '<exclusiveGateway id="x"/><parallelGateway id="j"/>' + tasks("a", "b")
            + END + flows("s>x>a>j>e", "x>b>j"))
    conversion = convert(tmp_path, body)
    assert not conversion.refused
    assert conversion.soundness is not None and conversion.soundness.verdict == "unsound"
    problems = " ".join(conversion.soundness.problems)
    assert "can get stuck without finishing: after 'A'" in problems
    assert "can never fire" in problems


def test_a_parallel_split_into_an_exclusive_merge_is_unsound(tmp_path: Path) -> None:
    body = (START + '<parallelGateway id="x"/><exclusiveGateway id="m"/>' + tasks("a", "b", "c")
            + END + flows("s>x>a>m>c>e", "x>b>m"))
    conversion = convert(tmp_path, body)
    # Two tokens run through C and both reach the end event: ending needs an arc of weight 2.
    assert conversion.net is None
    assert any("'e' is reached twice in one run" in r.reason for r in conversion.refused)


# --- pools, lanes, names ------------------------------------------------------------------------


def test_collaboration_reads_the_pool_with_most_tasks_and_can_be_told(tmp_path: Path) -> None:
    """Pools no message flow joins (one goes to a black-box pool only): one is read (pools
    that message flows join are read as one process: test_bpmn_pools)."""
    small = '<startEvent id="s1"/>' + tasks("a") + '<endEvent id="e1"/>' + flows("s1>a>e1")
    big = '<startEvent id="s2"/>' + tasks("b", "c") + '<endEvent id="e2"/>' + flows("s2>b>c>e2")
    text = (f'<definitions xmlns="{BPMN_NS}" id="d" targetNamespace="t"><collaboration id="co">'
            '<participant id="pa" name="Customer" processRef="small"/>'
            '<participant id="pb" name="Shop" processRef="big"/><participant id="pc" name="Bank"/>'
            '<messageFlow id="mf" sourceRef="a" targetRef="pc"/></collaboration>'
            f'<process id="small">{small}</process><process id="big">{big}</process>'
            "</definitions>")
    path = tmp_path / "pools.bpmn"
    path.write_text(text, encoding="utf-8")
    model = read_bpmn(path)
    assert model.process_id == "big" and model.process_name == "Shop"
    assert [p.chosen for p in model.pools] == [False, True, False]
    assert any("read 'big' (pool 'Shop'), the one with the most tasks (choose another with "
               "process=...)" in n for n in model.notes)
    # (check warns of the choice: the note without the hint, which it words for its users)
    assert model.choice is not None and model.choice.endswith("the one with the most tasks")
    assert any("1 message flow(s) between pools" in n for n in model.notes)
    assert read_bpmn(path, process="Customer").process_id == "small"
    assert read_bpmn(path, process="small").task_labels() == ["A"]
    with pytest.raises(InputError, match="no process or pool 'nope'"):
        read_bpmn(path, process="nope")


def test_nested_lanes_give_the_innermost_role(tmp_path: Path) -> None:
    lanes = ('<laneSet id="ls"><lane id="company" name="Company"><flowNodeRef>s</flowNodeRef>'
             '<flowNodeRef>a</flowNodeRef><flowNodeRef>b</flowNodeRef><flowNodeRef>e</flowNodeRef>'
             '<childLaneSet id="cls"><lane id="desk" name="Help  desk"><flowNodeRef>a</flowNodeRef>'
             '</lane><lane id="fin" name="Finance"><flowNodeRef>b</flowNodeRef></lane>'
             "</childLaneSet></lane></laneSet>")
    path = tmp_path / "lanes.bpmn"
    path.write_text(document(lanes + START + tasks("a", "b") + END + flows("s>a>b>e")),
                    encoding="utf-8")
    model = read_bpmn(path)
    assert model.tasks["a"].lanes == ("company", "desk")
    assert model.tasks["a"].role == "Help desk"
    assert model.lanes["desk"].role == "help-desk"
    assert model.roles_of("B") == ["Finance"]


def test_nodes_in_a_subprocess_take_the_lane_their_shape_lies_in(tmp_path: Path) -> None:
    """bpmn.io lists only the sub-process in a lane; the diagram shows where its tasks sit."""
    inner = '<startEvent id="is"/>' + tasks("x", "y") + '<endEvent id="ie"/>' + flows(
        "is>x>y>ie")
    lanes = ('<laneSet id="ls"><lane id="top" name="Top"><flowNodeRef>s</flowNodeRef>'
             '<flowNodeRef>sp</flowNodeRef><flowNodeRef>e</flowNodeRef></lane>'
             '<lane id="bottom" name="Bottom"/></laneSet>')
    shapes = "".join(
        f'<di:BPMNShape xmlns:di="http://www.omg.org/spec/BPMN/20100524/DI" '
        f'bpmnElement="{element}"><dc:Bounds xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        f'x="{x}" y="{y}" width="{w}" height="{h}"/></di:BPMNShape>'
        for element, x, y, w, h in [("top", 0, 0, 900, 200), ("bottom", 0, 200, 900, 200),
                                    ("sp", 100, 50, 500, 300), ("x", 150, 80, 100, 80),
                                    ("y", 300, 250, 100, 80)])
    text = document(lanes + START + f'<subProcess id="sp">{inner}</subProcess>' + END
                    + flows("s>sp>e")).replace(
        "</definitions>",
        '<di:BPMNDiagram xmlns:di="http://www.omg.org/spec/BPMN/20100524/DI" id="dg">'
        f'<di:BPMNPlane id="pl" bpmnElement="p">{shapes}</di:BPMNPlane></di:BPMNDiagram>'
        "</definitions>")
    path = tmp_path / "geometry.bpmn"
    path.write_text(text, encoding="utf-8")
    model = read_bpmn(path)
    assert model.tasks["x"].role == "Top"
    assert model.tasks["y"].role == "Bottom"
    # Without a diagram, nested nodes take the lane of their sub-process.
    path.write_text(document(lanes + START + f'<subProcess id="sp">{inner}</subProcess>' + END
                             + flows("s>sp>e")), encoding="utf-8")
    assert read_bpmn(path).tasks["y"].role == "Top"


def test_names_are_one_line(tmp_path: Path) -> None:
    body = START + '<task id="a" name="  Approve&#10;refund "/><task id="b"/>' + END + flows(
        "s>a>b>e")
    conversion = convert(tmp_path, body)
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=3) == {("Approve refund", "b")}
    assert any("'b' has no name" in n for n in conversion.notes)


def test_a_task_name_matches_the_log_label_whatever_its_whitespace(tmp_path: Path) -> None:
    """The SOP's task names are read with their whitespace runs as one space (a line break
    drawn into a shape); a log label or policy task name with a non-breaking space or a
    double space is compared the same way (before: the very same text in the model and the
    log cost a skipped and an unexpected activity)."""
    import dataclasses

    import pandas as pd

    from audit.policy import Activity, default_policy_path, load_policy
    from conformance.deviations import check_conformance

    label = "Approve\u00a0refund"
    path = tmp_path / "model.bpmn"
    path.write_text(document(START + f'<task id="a" name="Receive request"/><task id="b" '
                                     f'name="{label}"/>' + END + flows("s>a>b>e")),
                    encoding="utf-8")
    events = pd.DataFrame({"case:concept:name": ["c1", "c1"],
                           "concept:name": ["Receive request", label],
                           "event:id": ["e1", "e2"], "refund:channel": ["web", "web"]})
    result = check_conformance(events, {"Receive request": "Receive request", label: label},
                               lambda channel: path, with_precision=False)
    assert (result.cases["c1"].alignment.cost, result.cases["c1"].deviations) == (0, ())
    policy = dataclasses.replace(load_policy(default_policy_path()), activities={
        label: Activity("approve", "Approve  refund\n"), "Receive request": Activity("request")})
    assert policy.sop_tasks() == {label: "Approve refund", "Receive request": "Receive request"}


def test_an_sop_that_converts_to_an_unsound_net_is_refused_for_the_audit(
        tmp_path: Path) -> None:
    """An inclusive join whose branch A can leave it through a timer (to X and its own end
    event): the paired join then waits for a token that never comes, and the net is unsound.
    The audit refuses such an SOP, naming the problem (before: it was used as it was, and the
    valid run B, X, C got an unexpected-activity finding for X)."""
    from conformance.deviations import sop_net

    body = (START + '<inclusiveGateway id="g"/><inclusiveGateway id="j"/>'
            + tasks("a", "b", "c", "x") + END + '<endEvent id="e2"/>'
            + '<boundaryEvent id="bt" attachedToRef="a"><timerEventDefinition/>'
              '</boundaryEvent>' + flows("s>g>a>j>c>e", "g>b>j", "bt>x>e2"))
    path = tmp_path / "sop.bpmn"
    path.write_text(document(body), encoding="utf-8")
    with pytest.raises(InputError, match="the SOP converts to an unsound workflow net "
                                         r"\(a run can get stuck") as caught:
        sop_net(path)
    assert caught.value.file == str(path)


def test_every_lane_set_gives_a_task_its_roles(tmp_path: Path) -> None:
    """A "Region" lane set holding every node, then the "Roles" lane set: the first one
    decided every task's role (approvals by supervisors were flagged) and `model inspect`
    showed the roles' lanes empty."""
    lanes = ('<laneSet id="region" name="Region"><lane id="eu" name="EU back office">'
             + "".join(f"<flowNodeRef>{n}</flowNodeRef>" for n in "sabe")
             + '</lane></laneSet><laneSet id="roles" name="Roles"><lane id="cs" '
             'name="Customer service"><flowNodeRef>s</flowNodeRef><flowNodeRef>a</flowNodeRef>'
             '</lane><lane id="sup" name="Supervisor"><flowNodeRef>b</flowNodeRef>'
             '<flowNodeRef>e</flowNodeRef></lane></laneSet>')
    path = tmp_path / "sets.bpmn"
    path.write_text(document(lanes + START + tasks("a", "b") + END + flows("s>a>b>e")),
                    encoding="utf-8")
    model = read_bpmn(path)
    assert model.tasks["b"].innermost == ("eu", "sup")
    assert model.tasks["b"].roles == ("EU back office", "Supervisor")
    assert model.tasks["b"].lanes == ("eu", "sup")
    assert model.roles_of("B") == ["EU back office", "Supervisor"]
    assert any("2 lane sets ('Region', 'Roles')" in n for n in model.notes)
    from conformance.deviations import lane_roles
    from conformance.inspect import inspect_model

    assert lane_roles(path) == {"A": ("customer-service", "eu-back-office"),
                                "B": ("eu-back-office", "supervisor")}
    shown = {lane["name"]: lane["tasks"] for lane in inspect_model(path)["lanes"]}
    assert shown == {"EU back office": ["A", "B"], "Customer service": ["A"],
                     "Supervisor": ["B"]}


def test_a_task_listed_in_two_lanes_of_one_lane_set_has_both_roles(tmp_path: Path) -> None:
    """BPMN lanes partition their lane set's nodes; a file listing a task in two sibling
    lanes kept the first (the second lane's role was flagged, and shown empty): both are
    taken, with a note."""
    lanes = ('<laneSet id="ls"><lane id="cs" name="Customer service"><flowNodeRef>s'
             '</flowNodeRef><flowNodeRef>a</flowNodeRef><flowNodeRef>e</flowNodeRef></lane>'
             '<lane id="sup" name="Supervisor"><flowNodeRef>b</flowNodeRef></lane>'
             '<lane id="fin" name="Finance"><flowNodeRef>b</flowNodeRef></lane></laneSet>')
    path = tmp_path / "twice.bpmn"
    path.write_text(document(lanes + START + tasks("a", "b") + END + flows("s>a>b>e")),
                    encoding="utf-8")
    model = read_bpmn(path)
    assert model.tasks["b"].roles == ("Supervisor", "Finance")
    assert model.tasks["a"].roles == ("Customer service",)
    assert any("'b' ('B') is listed in lanes 'Supervisor' and 'Finance' of lane set 'ls'" in n
               for n in model.notes)
    from conformance.deviations import lane_roles
    from conformance.inspect import inspect_model

    assert lane_roles(path)["B"] == ("finance", "supervisor")
    shown = {lane["name"]: lane["tasks"] for lane in inspect_model(path)["lanes"]}
    assert shown["Finance"] == ["B"] and shown["Supervisor"] == ["B"]


def test_an_unnamed_lane_takes_the_role_of_the_named_lane_around_it(tmp_path: Path) -> None:
    """bpmn.io's "divide lane" makes unnamed child lanes: one was a role named after its id
    ('lane_0k2m3x1'), so every approval in it was flagged."""
    lanes = ('<laneSet id="ls"><lane id="sup" name="Supervisor"><flowNodeRef>a</flowNodeRef>'
             '<flowNodeRef>b</flowNodeRef><childLaneSet id="cls"><lane id="lane_0k2m3x1">'
             '<flowNodeRef>a</flowNodeRef></lane><lane id="lane_1b7q9zz"><flowNodeRef>b'
             '</flowNodeRef></lane></childLaneSet></lane><lane id="x">'
             '<flowNodeRef>s</flowNodeRef><flowNodeRef>e</flowNodeRef></lane></laneSet>')
    path = tmp_path / "divided.bpmn"
    path.write_text(document(lanes + START + tasks("a", "b") + END + flows("s>a>b>e")),
                    encoding="utf-8")
    model = read_bpmn(path)
    assert model.lanes["lane_0k2m3x1"].name == ""
    assert model.lanes["lane_0k2m3x1"].role == "supervisor"
    assert model.tasks["a"].innermost == ("lane_0k2m3x1",)
    assert model.tasks["a"].roles == ("Supervisor",) and model.tasks["a"].role == "Supervisor"
    assert model.roles_of("B") == ["Supervisor"]
    # An unnamed lane in no named lane gives no role (not one called 'x').
    assert model.lanes["x"].role is None and model.events["s"].roles == ()
    assert any("lane 'lane_0k2m3x1' has no name: its nodes take the role of the lane "
               "'Supervisor' it lies in" in n for n in model.notes)
    assert any("lane 'x' has no name: it lies in no named lane" in n for n in model.notes)
    from conformance.deviations import lane_roles

    assert lane_roles(path) == {"A": ("supervisor",), "B": ("supervisor",)}


def test_role_keys_ignore_case_spacing_width_and_unicode_form() -> None:
    from conformance.bpmn import role_key

    assert role_key("Leitung Großkunden") == role_key("LEITUNG GROSSKUNDEN") == (
        "leitung-grosskunden")
    assert role_key("R\u00fcckerstattung") == role_key("Ru\u0308ckerstattung")
    assert role_key("\uff33\uff55\uff50\uff45\uff52\uff56\uff49\uff53\uff4f\uff52") == (
        "supervisor")
    assert role_key("  Customer\u3000 service ") == "customer-service"
    # '_' and '-' between words as white space (a log's `refund_supervisor` is lane "Refund
    # Supervisor"; before, an AP004 finding on every such approval).
    assert role_key("refund_supervisor") == role_key("Refund - Supervisor") == (
        "refund-supervisor")
    assert role_key("_supervisor_") == "supervisor"


def _review(task: str) -> str:
    """A process 'Review' running one task."""
    return document('<startEvent id="cs"/>' + tasks(task) + '<endEvent id="ce"/>'
                    + flows(f"cs>{task}>ce"), process_id="Review")


CALL_REVIEW = (START + '<callActivity id="c" name="Check" calledElement="Review"/>' + END
               + flows("s>c>e"))


def test_a_callee_defined_in_two_files_beside_the_model_is_noted(tmp_path: Path) -> None:
    """The first file by name was taken without a word."""
    (tmp_path / "review-v1.bpmn").write_text(_review("x"), encoding="utf-8")
    (tmp_path / "review-v2.bpmn").write_text(_review("y"), encoding="utf-8")
    conversion = convert(tmp_path, CALL_REVIEW)
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=3) == {("X",)}
    assert ("process 'Review' is defined in review-v1.bpmn and in review-v2.bpmn beside the "
            "model: call activity 'Check' runs the one of review-v1.bpmn, the first by file "
            "name") in conversion.notes


def test_a_callee_only_in_an_unreadable_file_beside_the_model_names_it(
        tmp_path: Path) -> None:
    """The refusal said the callee was in no file, though one beside it had a DTD."""
    (tmp_path / "review.bpmn").write_text(_review("x").replace(
        "<definitions", '<!DOCTYPE definitions [<!ENTITY a "b">]>\n<definitions'),
        encoding="utf-8")
    [refused] = refusals(tmp_path, CALL_REVIEW)
    assert refused.startswith("callActivity 'c': call activity 'Check' calls 'Review', which "
                              "is neither a process of this file nor of a .bpmn file beside "
                              "it; review.bpmn beside it could not be read (")
    assert "DTD" in refused


def test_a_callee_file_with_an_upper_case_extension_is_found(tmp_path: Path) -> None:
    """"Review.BPMN" was not searched (the glob "*.bpmn" is case-sensitive)."""
    (tmp_path / "Review.BPMN").write_text(_review("x"), encoding="utf-8")
    conversion = convert(tmp_path, CALL_REVIEW)
    assert conversion.net is not None
    assert any("runs process 'Review' from Review.BPMN" in n for n in conversion.notes)


def test_a_called_process_with_lanes_of_its_own_is_no_second_lane_set(tmp_path: Path) -> None:
    """A callee's own lane set divides its own nodes: the model was noted to have "2 lane
    sets", as if every node were in both."""
    callee = _review("x").replace(
        '<process id="Review">', '<process id="Review"><laneSet id="ls"><lane id="sup" '
        'name="Supervisor"><flowNodeRef>cs</flowNodeRef><flowNodeRef>x</flowNodeRef>'
        '<flowNodeRef>ce</flowNodeRef></lane></laneSet>')
    (tmp_path / "review.bpmn").write_text(callee, encoding="utf-8")
    lanes = ('<laneSet id="ls"><lane id="cs" name="Customer service"><flowNodeRef>s'
             '</flowNodeRef><flowNodeRef>c</flowNodeRef><flowNodeRef>e</flowNodeRef></lane>'
             '</laneSet>')
    conversion = convert(tmp_path, lanes + CALL_REVIEW)
    assert conversion.model.tasks["c/x"].roles == ("Supervisor",)
    assert not any("lane sets" in n for n in conversion.notes), conversion.notes


def _parallel(branches: int) -> str:
    ids = [f"t{i}" for i in range(branches)]
    return (START + '<parallelGateway id="x"/><parallelGateway id="j"/>' + tasks(*ids) + END
            + flows("s>x", "j>e", *(f"x>{i}>j" for i in ids)))


def test_a_scope_of_much_concurrency_converts(tmp_path: Path) -> None:
    """Fifteen parallel tasks: 2^15 states of the one scope (more than the bound of 20,000
    states it was once refused at; the inductive miner's model of the shared receipt log at
    noise 0 has 46,925), read, sound, every task once."""
    conversion = convert(tmp_path, _parallel(15))
    assert not conversion.refused, [str(r) for r in conversion.refused]
    assert conversion.net is not None and conversion.soundness is not None
    assert conversion.soundness.verdict == "sound", conversion.soundness.problems
    labels = [t.label for t in conversion.net.transitions if t.label is not None]
    assert sorted(labels) == sorted(f"T{i}" for i in range(15))


def test_a_scope_beyond_the_state_bound_is_refused(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import conformance.petri as petri

    monkeypatch.setattr(petri, "MAX_SCOPE_STATES", 1_000)  # 2^10 + the gateways' states
    conversion = convert(tmp_path, _parallel(10))
    assert conversion.net is None or conversion.refused
    assert any("more than 1000 reachable states" in str(r) for r in conversion.refused), \
        [str(r) for r in conversion.refused]


def test_the_scopes_share_one_state_bound(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each scope's exploration counts against one bound for the model: three sub-processes
    of eight parallel tasks each (2^8 + a few states each) within 1,000 states alone, but
    not together; a file of many such sub-processes cannot make the reader explore the
    bound once per sub-process."""
    import conformance.petri as petri

    def sub(k: int) -> str:
        ids = [f"p{k}t{i}" for i in range(8)]
        inner = (f'<startEvent id="p{k}s"/><parallelGateway id="p{k}x"/>'
                 f'<parallelGateway id="p{k}j"/>' + tasks(*ids) + f'<endEvent id="p{k}e"/>'
                 + flows(f"p{k}s>p{k}x", f"p{k}j>p{k}e", *(f"p{k}x>{i}>p{k}j" for i in ids)))
        return f'<subProcess id="sp{k}">{inner}</subProcess>'

    body = START + END + "".join(sub(k) for k in range(3)) + flows("s>sp0>sp1>sp2>e")
    assert not convert(tmp_path, body).refused  # (within the default bound)
    monkeypatch.setattr(petri, "MAX_SCOPE_STATES", 1_000)
    refused = [str(r) for r in convert(tmp_path, body).refused]
    assert any("left of the 1000 explored for them all" in r for r in refused), refused


# --- attributes as tools write them (xsd types), and what is no value of them ----------------


BOUNDARY_TIMER = (START + tasks("a", "b", "c") + END + '<endEvent id="e2"/>'
                  '<boundaryEvent id="bt" attachedToRef="a" cancelActivity="{flag}">'
                  '<timerEventDefinition/></boundaryEvent>' + flows("s>a>b>e", "bt>c>e2"))


@pytest.mark.parametrize(("flag", "interrupting"), [
    ("1", True), ("true", True), (" TRUE ", True), ("0", False), ("false", False)])
def test_boolean_attributes_are_read_as_xsd_booleans(tmp_path: Path, flag: str,
                                                     interrupting: bool) -> None:
    # cancelActivity is an xsd:boolean: "1" is true (it was read as false, turning an
    # interrupting timer into one that lets the task go on).
    traces = language(tmp_path, BOUNDARY_TIMER.format(flag=flag))
    if interrupting:
        assert traces == {("A", "B"), ("C",)}
    else:
        assert traces == {("A", "B"), ("A", "B", "C"), ("A", "C", "B"), ("C", "A", "B")}


def test_a_boolean_attribute_that_is_no_boolean_is_refused(tmp_path: Path) -> None:
    assert refusals(tmp_path, BOUNDARY_TIMER.format(flag="yes")) == [
        "boundaryEvent 'bt': cancelActivity=\"yes\" (line 2) is not a boolean (true, false, 1 "
        "or 0), so what it means is unknown"]


def test_an_event_subprocess_flagged_with_1_is_one(tmp_path: Path) -> None:
    handler = ('<subProcess id="es" triggeredByEvent="1"><startEvent id="hs">'
               '<messageEventDefinition/></startEvent>' + tasks("h") + '<endEvent id="he"/>'
               + flows("hs>h>he") + '</subProcess>')
    # (Read as an ordinary sub-process, it was refused as one that can never start.)
    assert language(tmp_path, START + tasks("a") + handler + END + flows("s>a>e")) == {
        ("A",), ("H",), ("A", "H")}


def test_a_loop_testing_before_with_1_may_run_zero_times(tmp_path: Path) -> None:
    body = (START + '<task id="a" name="A"><standardLoopCharacteristics testBefore="1"/>'
            '</task>' + END + flows("s>a>e"))
    assert language(tmp_path, body, max_length=2) == {(), ("A",), ("A", "A")}


@pytest.mark.parametrize("count", ["²", "٣", "9" * 5000, "3.0", "${n}"])
def test_a_cardinality_that_is_no_plain_count_is_an_unknown_count(tmp_path: Path,
                                                                  count: str) -> None:
    # ("²" passed str.isdigit and crashed int(); 5,000 digits crashed int() too.)
    body = (START + '<task id="a" name="A"><multiInstanceLoopCharacteristics>'
            f'<loopCardinality>{count}</loopCardinality></multiInstanceLoopCharacteristics>'
            '</task>' + END + flows("s>a>e"))
    conversion = convert(tmp_path, body)
    assert conversion.notes == [UNKNOWN_COUNT]
    assert conversion.net is not None
    assert play_out(conversion.net, max_length=3) == {(), ("A",), ("A", "A"), ("A", "A", "A")}


UNKNOWN_COUNT = ("multi-instance activity 'A' states no instance count: it is read as zero or "
                 "more instances in a row (an empty collection runs none)")


def test_multi_instance_over_a_collection_may_run_no_instance(tmp_path: Path) -> None:
    # One instance per element of its collection, which may be empty (it was read as one or
    # more, so a case with no such item deviated from the SOP).
    body = (START + '<task id="a" name="A"><multiInstanceLoopCharacteristics isSequential='
            '"true"/></task>' + tasks("b") + END + flows("s>a>b>e"))
    assert language(tmp_path, body, max_length=3) == {
        ("B",), ("A", "B"), ("A", "A", "B")}
    assert convert(tmp_path, body).notes == [UNKNOWN_COUNT]


@pytest.mark.parametrize(("inner", "why"), [
    ("<loopCardinality>20</loopCardinality>", "20 instances (more than 10 are not unrolled)"),
    ("<loopCardinality>3</loopCardinality><completionCondition>done</completionCondition>",
     "a completion condition (which may cancel the copies still running)")])
def test_multi_instance_beyond_what_is_unrolled_says_why(tmp_path: Path, inner: str,
                                                         why: str) -> None:
    body = (START + f'<task id="a" name="A"><multiInstanceLoopCharacteristics>{inner}'
            '</multiInstanceLoopCharacteristics></task>' + END + flows("s>a>e"))
    assert language(tmp_path, body, max_length=2) == {("A",), ("A", "A")}
    assert convert(tmp_path, body).notes == [
        f"multi-instance activity 'A' has {why}: it is read as one or more instances in a row"]
    sub = (START + '<subProcess id="sp"><startEvent id="is"/>' + tasks("x") + '<endEvent '
           'id="ie"/>' + flows("is>x>ie") + f'<multiInstanceLoopCharacteristics>{inner}'
           '</multiInstanceLoopCharacteristics></subProcess>' + END + flows("s>sp>e"))
    # (The refusal said "no fixed instance count" of a sub-process that states one.)
    assert refusals(tmp_path, sub) == [
        f"subProcess 'sp': a parallel multi-instance sub-process with {why} runs unboundedly "
        "many copies side by side; a workflow net cannot represent that"]


# --- references and conditions BPMN does not allow where they are drawn -----------------------


@pytest.mark.parametrize(("node", "expected"), [
    ('<task id="a" name="A" default="nope"/>',
     "task 'a': its default flow 'nope' is no sequence flow of the process, not one of its own "
     "outgoing flows"),
    ('<task id="a" name="A" default="f_s_a"/>',
     "task 'a': its default flow 'f_s_a' is a flow out of 's', not one of its own outgoing "
     "flows"),
    # (A default naming a node, not a flow, was passed over as a flow refused already: the net
    # came out unsound, its message naming no default.)
    ('<task id="a" name="A" default="b"/>',
     "task 'a': its default flow 'b' is no sequence flow but the task of that id, not one of "
     "its own outgoing flows")])
def test_a_default_flow_that_is_no_outgoing_flow_of_its_activity_is_refused(
        tmp_path: Path, node: str, expected: str) -> None:
    # (The activity's split took no flow at all: an unsound net, whose message named none.)
    body = START + node + tasks("b", "c") + END + '<endEvent id="e2"/>' + flows(
        "s>a>b>e", "a>c>e2")
    assert refusals(tmp_path, body) == [expected]


@pytest.mark.parametrize(("default", "what"), [
    ("zzz", "no sequence flow of the process"),
    # (A default naming a node, not a flow, was passed over as a flow refused already: the
    # gateway chose between A and B as if it had none, without a word.)
    ("a", "no sequence flow but the task of that id"),
    ("j", "no sequence flow but the exclusiveGateway of that id"),
    ("e", "no sequence flow but the endEvent of that id")])
def test_a_default_flow_that_is_no_outgoing_flow_of_its_gateway_is_refused(
        tmp_path: Path, default: str, what: str) -> None:
    # (It was ignored without a word.)
    body = (START + tasks("a", "b") + f'<exclusiveGateway id="g" default="{default}"/>'
            '<exclusiveGateway id="j"/>' + END + flows("s>g>a>j>e", "g>b>j"))
    assert refusals(tmp_path, body) == [
        f"exclusiveGateway 'g': its default flow '{default}' is {what}, not one of its own "
        "outgoing flows"]


def test_a_default_naming_a_refused_flow_of_another_node_is_refused(tmp_path: Path) -> None:
    # (Any refused flow was passed over, as if its refusal said why; it speaks of the flow,
    # not of the gateway's default drawn on a flow out of A.)
    body = (START + tasks("a", "b") + '<exclusiveGateway id="g" default="f_a_zz"/>'
            '<exclusiveGateway id="j"/>' + END + flows("s>g>a>j>e", "g>b>j", "a>zz"))
    assert refusals(tmp_path, body) == [
        "sequenceFlow 'f_a_zz': refers to 'zz' (line 2), which is not a flow node of the process",
        "exclusiveGateway 'g': its default flow 'f_a_zz' is a flow out of 'a', not one of its "
        "own outgoing flows"]


def test_a_compensation_handler_in_the_sequence_flow_is_refused(tmp_path: Path) -> None:
    # BPMN forbids sequence flows at a compensation handler; left out with its flows, A's
    # branch ended where B stood, without a word (and C, never reached, was refused instead).
    body = (START + tasks("a") + '<task id="b" name="B" isForCompensation="true"/>' + END
            + '<endEvent id="e2"/>' + flows("s>a>e", "a>b>e2"))
    found = refusals(tmp_path, body)
    assert found[:2] == [
        f"sequenceFlow '{flow}': connects 'b', a compensation handler or compensation boundary "
        "event, which BPMN runs only when compensation is thrown, never by sequence flow "
        "(line 2)"
        for flow in ("f_a_b", "f_b_e2")]


def test_conditions_on_flows_out_of_an_event_are_refused(tmp_path: Path) -> None:
    # BPMN takes every flow out of an event (their conditions SHALL be None), Camunda 7
    # evaluates them: read as a parallel split, the drawn choice was dropped without a word.
    body = (START + tasks("a", "b") + END + '<endEvent id="e2"/>'
            '<sequenceFlow id="x1" sourceRef="s" targetRef="a"><conditionExpression>ok'
            '</conditionExpression></sequenceFlow><sequenceFlow id="x2" sourceRef="s" '
            'targetRef="b"><conditionExpression>not ok</conditionExpression></sequenceFlow>'
            + flows("a>e", "b>e2"))
    assert refusals(tmp_path, body) == [
        f"sequenceFlow '{flow}': carries a condition (line 2) out of event 's': BPMN takes "
        "every flow out of an event (no conditions there), some engines evaluate it; draw the "
        "choice with a gateway" for flow in ("x1", "x2")]


def test_conditions_out_of_a_parallel_gateway_are_ignored_and_noted(tmp_path: Path) -> None:
    body = (START + tasks("a", "b") + '<parallelGateway id="g"/><parallelGateway id="j"/>' + END
            + '<sequenceFlow id="x1" sourceRef="g" targetRef="a"><conditionExpression>ok'
            '</conditionExpression></sequenceFlow>' + flows("s>g", "g>b>j", "a>j>e"))
    assert language(tmp_path, body) == {("A", "B"), ("B", "A")}
    assert convert(tmp_path, body).notes == [
        "sequence flow 'x1' out of parallel gateway 'g' carries a condition: a parallel "
        "gateway takes every outgoing flow (BPMN ignores conditions there), and so does the net"]


# --- loop caps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("test_before", "maximum", "expected"), [
    ("false", "3", {("A",), ("A", "A"), ("A", "A", "A")}),
    ("true", "2", {(), ("A",), ("A", "A")}),
    ("true", "0", {()}),
    ("false", "0", {("A",)})])  # (tested after the first round: that round runs)
def test_a_standard_loop_runs_at_most_its_loop_maximum(
        tmp_path: Path, test_before: str, maximum: str, expected: Traces) -> None:
    # (loopMaximum was ignored: the loop repeated without a cap, without a word.)
    body = (START + f'<task id="a" name="A"><standardLoopCharacteristics testBefore='
            f'"{test_before}" loopMaximum="{maximum}"/></task>' + END + flows("s>a>e"))
    assert language(tmp_path, body, max_length=5) == expected


def test_a_loop_maximum_too_large_to_unroll_is_noted(tmp_path: Path) -> None:
    body = (START + '<task id="a" name="A"><standardLoopCharacteristics loopMaximum="25"/>'
            '</task>' + END + flows("s>a>e"))
    assert language(tmp_path, body, max_length=3) == {("A",), ("A", "A"), ("A", "A", "A")}
    assert convert(tmp_path, body).notes == [
        "the loop of 'A' may run up to 25 times (loopMaximum): more than 10 are not counted, "
        "it is read as repeating without a cap"]


def test_a_loop_maximum_that_is_no_number_is_refused(tmp_path: Path) -> None:
    body = (START + '<task id="a" name="A"><standardLoopCharacteristics loopMaximum="${n}"/>'
            '</task>' + END + flows("s>a>e"))
    assert refusals(tmp_path, body) == [
        "task 'a': loopMaximum=\"${n}\" is not a whole number of iterations, so the loop's cap "
        "is unknown"]


# --- link events as modellers name them -----------------------------------------------------------


def link(tag: str, ident: str, name: str, definition: str | None = None) -> str:
    named = "" if definition is None else f' name="{definition}"'
    return f'<{tag} id="{ident}" name="{name}"><linkEventDefinition{named}/></{tag}>'


def test_links_named_on_the_events_alone_pair_by_those_names(tmp_path: Path) -> None:
    # Older bpmn.io / Camunda Modeler files name a link on the event, not its definition: two
    # such pairs were refused as "an unnamed link has 2 link catch events".
    body = (START + '<exclusiveGateway id="g"/>' + tasks("a", "b", "c", "d")
            + link("intermediateThrowEvent", "t1", "To C") + link("intermediateThrowEvent",
                                                                   "t2", "To D")
            + link("intermediateCatchEvent", "c1", "To C") + link("intermediateCatchEvent",
                                                                   "c2", "To D")
            + END + '<endEvent id="e2"/>' + flows("s>g>a>t1", "g>b>t2", "c1>c>e", "c2>d>e2"))
    assert language(tmp_path, body) == {("A", "C"), ("B", "D")}


def test_the_definition_names_a_link_before_the_event(tmp_path: Path) -> None:
    body = (START + tasks("a", "c") + link("intermediateThrowEvent", "t1", "Go on", "L")
            + link("intermediateCatchEvent", "c1", "Come in", "L") + END
            + flows("s>a>t1", "c1>c>e"))
    assert language(tmp_path, body) == {("A", "C")}


def test_a_link_catch_without_its_throw_is_refused(tmp_path: Path) -> None:
    # Without a start event it started the process in parallel with the rest.
    body = (tasks("a", "c") + link("intermediateCatchEvent", "c1", "", "L") + END
            + '<endEvent id="e2"/>' + flows("a>e", "c1>c>e2"))
    assert refusals(tmp_path, body) == [
        "intermediateCatchEvent 'c1': link 'L' has no link throw event of that name in the same "
        "scope, so nothing leads to it"]


def test_a_task_in_no_lane_of_a_process_with_lanes_is_noted(tmp_path: Path) -> None:
    # Its events are judged by no lane (unauthorized-performer passes them): that was said
    # nowhere, so a task the modeller left outside every lane went unjudged without a word.
    lanes = ('<laneSet id="ls"><lane id="cs" name="Clerk"><flowNodeRef>s</flowNodeRef>'
             '<flowNodeRef>a</flowNodeRef><flowNodeRef>e</flowNodeRef></lane>'
             '<lane id="u"><flowNodeRef>c</flowNodeRef></lane></laneSet>')
    path = tmp_path / "outside.bpmn"
    path.write_text(document(lanes + START + tasks("a", "b", "c") + END
                             + flows("s>a>b>c>e")), encoding="utf-8")
    model = read_bpmn(path)
    assert model.tasks["b"].roles == () and model.tasks["c"].roles == ()
    assert ("2 task(s) of a process with lanes lie in no named lane: 'b' ('B'), 'c' ('C'); "
            "they have no role, so who performs them is not judged by the lanes") in model.notes
    from conformance.deviations import lane_roles

    assert "B" not in lane_roles(path) and "C" not in lane_roles(path)


def test_a_sequence_flow_naming_no_source_is_refused_as_such(tmp_path: Path) -> None:
    # (It "referred to ''", which named nothing the modeller could look for.)
    body = START + tasks("a") + END + flows("s>a>e") + '<sequenceFlow id="fx" targetRef="a"/>'
    assert refusals(tmp_path, body) == [
        "sequenceFlow 'fx': names no sourceRef (line 2), so what it connects is unknown"]


def test_ids_and_references_are_read_without_surrounding_blanks(tmp_path: Path) -> None:
    # xsd:ID and IDREF collapse white space: " a " is the id a.
    body = (START + '<task id=" a " name="A" default=" f2 "/>' + tasks("b", "c") + END
            + '<endEvent id="e2"/><sequenceFlow id="f1" sourceRef="s" targetRef=" a"/>'
              '<sequenceFlow id="f2" sourceRef="a " targetRef="b"/>'
              '<sequenceFlow id="f3" sourceRef="a" targetRef="c">'
              '<conditionExpression>x</conditionExpression></sequenceFlow>'
            + flows("b>e", "c>e2"))
    assert language(tmp_path, body) == {("A", "B"), ("A", "C")}


# --- escalations caught by an interrupting boundary event --------------------------------------


def escalation_subprocess(throw: str) -> str:
    """Sub-process sp: X then the escalation `throw` (an end event), or Y then a plain end."""
    return ('<subProcess id="sp"><startEvent id="is"/><exclusiveGateway id="g"/>'
            + tasks("x", "y") + '<endEvent id="ie"/>' + throw + flows("is>g>x>esc", "g>y>ie")
            + '</subProcess>')


ESCALATION_END = '<endEvent id="esc"><escalationEventDefinition escalationRef="E"/></endEvent>'


def test_an_escalation_end_caught_by_an_interrupting_boundary_interrupts_there(
        tmp_path: Path) -> None:
    # As an error is: after X the escalation interrupts sp and H follows. Read as a boundary
    # that may fire at any moment, the net let X be followed by B (the run the escalation
    # forbids) and H come before X or after Y.
    body = (START + escalation_subprocess(ESCALATION_END) + tasks("b", "h") + END
            + '<endEvent id="e2"/><boundaryEvent id="be" attachedToRef="sp">'
              '<escalationEventDefinition escalationRef="E"/></boundaryEvent>'
            + flows("s>sp>b>e", "be>h>e2"))
    assert language(tmp_path, body) == {("X", "H"), ("Y", "B")}


def test_an_escalation_from_a_nested_subprocess_reaches_the_boundary_around_it(
        tmp_path: Path) -> None:
    inner = escalation_subprocess(ESCALATION_END).replace('id="sp"', 'id="sp2"')
    outer = ('<subProcess id="sp"><startEvent id="os"/>' + inner + tasks("z")
             + '<endEvent id="oe"/>' + flows("os>sp2>z>oe") + '</subProcess>')
    body = (START + outer + tasks("b", "h") + END + '<endEvent id="e2"/>'
            '<boundaryEvent id="be" attachedToRef="sp"><escalationEventDefinition/>'
            '</boundaryEvent>' + flows("s>sp>b>e", "be>h>e2"))
    assert language(tmp_path, body) == {("X", "H"), ("Y", "Z", "B")}


def test_an_escalation_no_interrupting_boundary_catches_goes_on(tmp_path: Path) -> None:
    # Caught by a non-interrupting boundary, the escalation ends only its own branch.
    body = (START + escalation_subprocess(ESCALATION_END) + tasks("b", "h") + END
            + '<endEvent id="e2"/><boundaryEvent id="be" attachedToRef="sp" '
              'cancelActivity="false"><escalationEventDefinition/></boundaryEvent>'
            + flows("s>sp>b>e", "be>h>e2"))
    traces = language(tmp_path, body)
    assert ("X", "B") in traces and ("Y", "B") in traces and ("X", "H", "B") in traces


def test_a_process_of_unconnected_tasks_runs_them_in_parallel_and_says_so(
        tmp_path: Path) -> None:
    # BPMN starts every node without incoming flow where there is no start event: three tasks
    # drawn without flows are any order of the three, which a modeller who forgot the flows
    # did not mean; it was read so without a word.
    body = tasks("a", "b", "c")
    assert language(tmp_path, body) == set(permutations(("A", "B", "C")))
    assert convert(tmp_path, body).notes == [
        "'p' has no start event: its 3 nodes without incoming sequence flow ('a', 'b', 'c') "
        "all start at once, in parallel, as BPMN reads a process without one",
        "'p' has no end event: its branches end after 'A', 'B', 'C', which have no outgoing "
        "sequence flow (BPMN's implicit end)"]


def test_a_default_flow_refused_itself_is_not_refused_twice(tmp_path: Path) -> None:
    body = (START + '<exclusiveGateway id="g" default="f_g_zz"/>' + tasks("a") + END
            + flows("s>g>a>e", "g>zz"))
    assert refusals(tmp_path, body) == [
        "sequenceFlow 'f_g_zz': refers to 'zz' (line 2), which is not a flow node of the process"]


def test_a_compensation_handler_whose_id_has_blanks_is_still_left_out(tmp_path: Path) -> None:
    body = (START + tasks("a") + '<task id=" b " name="B" isForCompensation="true"/>' + END
            + flows("s>a>e"))
    conversion = convert(tmp_path, body)
    assert not conversion.refused, [str(r) for r in conversion.refused]
    assert "task 'b' is a compensation handler: it runs only when compensation is thrown, " \
           "which is refused, so it is left out" in conversion.notes


def test_a_top_level_task_listed_in_no_lane_takes_the_lane_its_shape_lies_in(
        tmp_path: Path) -> None:
    # Tools that leave flowNodeRef out (or list only some nodes) draw the task in a lane all
    # the same: it was given no role, so unauthorized-performer never judged who did it.
    lanes = ('<laneSet id="ls"><lane id="top" name="Top"><flowNodeRef>s</flowNodeRef>'
             '<flowNodeRef>a</flowNodeRef><flowNodeRef>e</flowNodeRef></lane>'
             '<lane id="bottom" name="Bottom"/></laneSet>')
    shapes = "".join(
        f'<di:BPMNShape xmlns:di="http://www.omg.org/spec/BPMN/20100524/DI" '
        f'bpmnElement="{element}"><dc:Bounds xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        f'x="{x}" y="{y}" width="{w}" height="{h}"/></di:BPMNShape>'
        for element, x, y, w, h in [("top", 0, 0, 900, 200), ("bottom", 0, 200, 900, 200),
                                    ("a", 150, 80, 100, 80), ("b", 300, 250, 100, 80)])
    text = document(lanes + START + tasks("a", "b") + END + flows("s>a>b>e")).replace(
        "</definitions>",
        '<di:BPMNDiagram xmlns:di="http://www.omg.org/spec/BPMN/20100524/DI" id="dg">'
        f'<di:BPMNPlane id="pl" bpmnElement="p">{shapes}</di:BPMNPlane></di:BPMNDiagram>'
        "</definitions>")
    path = tmp_path / "unlisted.bpmn"
    path.write_text(text, encoding="utf-8")
    model = read_bpmn(path)
    assert model.tasks["a"].roles == ("Top",)
    assert model.tasks["b"].roles == ("Bottom",)
    assert "1 node(s) are not listed in a lane (flowNodeRef): their lane is the one their " \
           "shape lies in" in model.notes


def test_a_huge_attribute_value_is_quoted_shortened(tmp_path: Path) -> None:
    # (A megabyte of "x" in cancelActivity made a megabyte-long error line.)
    found = refusals(tmp_path, BOUNDARY_TIMER.format(flag="x" * 1_000_000))
    assert found == [f"boundaryEvent 'bt': cancelActivity=\"{'x' * 40}... (1000000 characters)\" "
                     "(line 2) is not a boolean (true, false, 1 or 0), so what it means is "
                     "unknown"]


def test_several_flows_out_of_a_start_event_run_in_parallel(tmp_path: Path) -> None:
    # (Found right in the review; kept so it stays so: BPMN takes every flow out of an event.)
    body = (START + tasks("a", "b") + '<parallelGateway id="j"/>' + END
            + flows("s>a>j>e", "s>b>j"))
    assert language(tmp_path, body) == {("A", "B"), ("B", "A")}


def test_an_escalation_end_caught_by_an_interrupting_event_subprocess_starts_it_there(
        tmp_path: Path) -> None:
    # After X the escalation interrupts the process and H runs: X alone (the process ending
    # as if nothing was thrown) was accepted.
    handler = ('<subProcess id="es" triggeredByEvent="true"><startEvent id="hs">'
               '<escalationEventDefinition escalationRef="E"/></startEvent>' + tasks("h")
               + '<endEvent id="he"/>' + flows("hs>h>he") + '</subProcess>')
    body = (START + '<exclusiveGateway id="g"/>' + tasks("x", "y", "b") + ESCALATION_END
            + handler + END + flows("s>g>x>esc", "g>y>b>e"))
    traces = language(tmp_path, body)
    assert ("X",) not in traces
    assert ("X", "H") in traces and ("Y", "B") in traces
    # (As before, an interrupting event sub-process may also start at any moment.)
    assert ("H",) in traces and ("Y", "H") in traces


def test_the_cached_sop_is_read_again_when_its_callee_file_changes(tmp_path: Path) -> None:
    """The SOP's cache was keyed by its file's modification time alone: editing only the
    file of the process a call activity runs left the caller's net and labels as first read
    (a notebook, a Dask worker serving several checks)."""
    import os

    from conformance.deviations import sop_net, sop_task_labels

    def callee(task: str) -> None:
        (tmp_path / "callee.bpmn").write_text(document(
            '<startEvent id="cs"/>' + tasks(task) + '<endEvent id="ce"/>'
            + flows(f"cs>{task}>ce"), process_id="Review"), encoding="utf-8")

    model = tmp_path / "model.bpmn"
    model.write_text(document(START + '<callActivity id="c" calledElement="Review"/>' + END
                              + flows("s>c>e")), encoding="utf-8")
    callee("x")
    assert sop_task_labels(model) == ("X",)
    assert set(sop_net(model).labels) == {"X"}
    stamp = model.stat().st_mtime_ns
    callee("y")
    os.utime(model, ns=(stamp, stamp))  # the caller's file untouched
    assert sop_task_labels(model) == ("Y",)
    assert set(sop_net(model).labels) == {"Y"}


def test_the_cached_sop_is_read_again_when_a_copy_keeps_the_old_time(tmp_path: Path) -> None:
    """`cp -p` of another SOP over the file keeps a modification time the cache had seen."""
    import os

    from conformance.deviations import sop_task_labels

    model = tmp_path / "model.bpmn"
    model.write_text(document(START + tasks("a") + END + flows("s>a>e")), encoding="utf-8")
    stamp = model.stat().st_mtime_ns
    assert sop_task_labels(model) == ("A",)
    model.write_text(document(START + tasks("b") + END + flows("s>b>e")), encoding="utf-8")
    os.utime(model, ns=(stamp, stamp))
    assert sop_task_labels(model) == ("B",)
