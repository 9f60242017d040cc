"""A refused BPMN element is named as a designer finds it: its name and its line.

Real models give their elements generated ids ('_10ecbff1-cd15-4a5c-9aa5-6f2a35479416'), which
a modeller shows in no drawing and cannot search for; before, a refusal named the id alone, so
the one gateway to redraw among a model's dozens could not be found. The refusal now says
"inclusiveGateway '_10ecbff1-...' ('Inclusive Gateway 6', line 436): ...", in `model inspect`,
`compare`'s and `check --sop`'s errors alike, with the called file where the element lies in a
process called from a file beside the model.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from audit.cli import main
from audit.errors import ExitCode
from conformance.petri import bpmn_to_workflow_net

ROOT = Path(__file__).resolve().parents[1]
MIWG = ROOT.parent / "shared" / "data" / "bpmn-miwg" / "Reference"
LOG = ROOT / "sample_logs" / "refund-sample" / "canonical.csv"


def line_of(path: Path, element_id: str) -> int:
    """The line of the file where the element with this id is written (the ground truth)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    hits = [n for n, text in enumerate(lines, 1) if f'id="{element_id}"' in text]
    assert len(hits) == 1, hits
    return hits[0]


def test_a_refused_gateway_is_named_by_its_name_and_line() -> None:
    model = MIWG / "B.2.0.bpmn"
    conversion = bpmn_to_workflow_net(model)
    assert conversion.net is None
    [refusal] = [r for r in conversion.refused if r.element_type == "inclusiveGateway"]
    line = line_of(model, refusal.element_id)
    assert (refusal.name, refusal.line, refusal.file) == ("Inclusive Gateway 6", line, None)
    assert f"'{refusal.element_id}' ('Inclusive Gateway 6', line {line}): " in str(refusal)
    assert refusal.as_dict()["line"] == line and refusal.as_dict()["name"] == refusal.name


def test_a_refused_element_of_a_called_file_names_that_file() -> None:
    conversion = bpmn_to_workflow_net(MIWG / "C.9.0.bpmn")
    assert conversion.net is None
    [refusal] = conversion.refused
    line = line_of(MIWG / "C.9.2.bpmn", "CallActivity_RequestDocument")
    assert refusal.element_id == "Activity_ManualCheck/CallActivity_RequestDocument"
    assert (refusal.name, refusal.file, refusal.line) == ("Document Request", "C.9.2.bpmn", line)
    assert f"('Document Request', C.9.2.bpmn line {line})" in str(refusal)


def test_inspect_compare_and_check_say_where_the_refused_element_is(tmp_path: Path) -> None:
    model = MIWG / "B.2.0.bpmn"
    gateway = "_10ecbff1-cd15-4a5c-9aa5-6f2a35479416"
    line = line_of(model, gateway)
    where = f"('Inclusive Gateway 6', line {line})"
    runner = CliRunner()
    inspected = runner.invoke(main, ["model", "inspect", str(model)])
    assert inspected.exit_code == ExitCode.FINDINGS, inspected.output
    assert f"refused inclusiveGateway {gateway} {where}: " in inspected.output
    for args in (["compare", str(LOG), str(model), "--out", str(tmp_path / "compare")],
                 ["check", str(LOG), "--sop", str(model), "--out", str(tmp_path / "check")]):
        result = runner.invoke(main, args)
        assert result.exit_code == ExitCode.INPUT_ERROR, result.output
        assert where in result.output, result.output
    # check's error names the line as an input error's place, too
    assert f"B.2.0.bpmn: line {line}: " in result.output
