"""Discovery: BPMN with diagram interchange that our reader reads back sound, fitness of the
discovered model on its log, DFG counts against a direct pandas count, the CLI command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from lxml import etree

from audit.cli import main
from audit.ingest import import_sources
from conformance import bpmn_writer
from conformance.bpmn import BPMN_NS, BPMNDI_NS, DC_NS, read_bpmn
from conformance.discovery import _ordered, discover, replay_fitness, write_discovery
from conformance.petri import bpmn_to_workflow_net

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs" / "refund-sample" / "canonical.csv"
SHARED = Path("/work/shared/data/pm4py-tests")
RUNNING_EXAMPLE = SHARED / "running-example.xes"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"


def _log(path: Path) -> pd.DataFrame:
    if not path.exists():
        pytest.fail(f"test data missing: {path} (pm4py's test logs are expected in {SHARED})")
    return import_sources([(path, None)]).log


@pytest.fixture(scope="module")
def running_example() -> pd.DataFrame:
    return _log(RUNNING_EXAMPLE)


@pytest.fixture(scope="module")
def refund_sample() -> pd.DataFrame:
    return _log(SAMPLE)


def assert_has_diagram(path: Path) -> None:
    """Every flow node has a BPMNShape with bounds, every sequence flow a BPMNEdge with at
    least two waypoints: what bpmn.io needs to open the file laid out."""
    root = etree.parse(str(path)).getroot()
    process = root.find(f"{{{BPMN_NS}}}process")
    assert process is not None
    nodes = {e.get("id") for e in process if etree.QName(e).localname != "sequenceFlow"}
    flows = {e.get("id") for e in process if etree.QName(e).localname == "sequenceFlow"}
    shapes = root.findall(f".//{{{BPMNDI_NS}}}BPMNShape")
    edges = root.findall(f".//{{{BPMNDI_NS}}}BPMNEdge")
    assert {s.get("bpmnElement") for s in shapes} == nodes
    assert {e.get("bpmnElement") for e in edges} == flows
    for shape in shapes:
        bounds = shape.find(f"{{{DC_NS}}}Bounds")
        assert bounds is not None and float(bounds.get("width", "0")) > 0
    boxes = {s.get("bpmnElement"): [float(s[0].get(k, "0")) for k in ("x", "y", "width",
                                                                        "height")]
             for s in shapes}
    ends = {e.get("id"): (e.get("sourceRef"), e.get("targetRef")) for e in process
            if etree.QName(e).localname == "sequenceFlow"}

    def touches(point: etree._Element, box: list[float]) -> bool:
        x, y = float(point.get("x", "0")), float(point.get("y", "0"))
        return (box[0] - 3 <= x <= box[0] + box[2] + 3
                and box[1] - 3 <= y <= box[1] + box[3] + 3)

    for edge in edges:
        points = edge.findall(f"{{{DI_NS}}}waypoint")
        assert len(points) >= 2
        source, target = ends[edge.get("bpmnElement")]
        assert touches(points[0], boxes[source]) and touches(points[-1], boxes[target])
    plane = root.find(f".//{{{BPMNDI_NS}}}BPMNPlane")
    assert plane is not None and plane.get("bpmnElement") == process.get("id")


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_inductive_on_running_example(running_example: pd.DataFrame, tmp_path: Path,
                                      noise: float) -> None:
    result = discover(running_example, "inductive", noise)
    written = write_discovery(result, running_example, tmp_path)
    assert_has_diagram(written["model.bpmn"])
    conversion = bpmn_to_workflow_net(written["model.bpmn"])
    assert conversion.net is not None and not conversion.refused
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    assert set(conversion.net.labels) == set(running_example["concept:name"])
    assert result.fitness is not None
    assert result.fitness.cases == running_example["case:concept:name"].nunique()
    if noise == 0.0:  # the inductive miner guarantees perfect fitness without noise
        assert result.fitness.fitting_cases == result.fitness.cases
        assert result.fitness.log_fitness > 0.999
    else:
        assert result.fitness.log_fitness >= 1 - noise


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_inductive_on_refund_sample(refund_sample: pd.DataFrame, tmp_path: Path,
                                    noise: float) -> None:
    result = discover(refund_sample, "inductive", noise)
    written = write_discovery(result, refund_sample, tmp_path)
    assert_has_diagram(written["model.bpmn"])
    assert result.soundness is not None and result.soundness.verdict == "sound"
    assert result.fitness is not None
    if noise == 0.0:
        assert result.fitness.fitting_cases == result.fitness.cases
    else:
        assert result.fitness.log_fitness >= 1 - noise
    svg = written["model.svg"].read_text(encoding="utf-8")
    collect = refund_sample[refund_sample["concept:name"] == "Collect evidence"]
    assert f"{len(collect):,} events" in svg
    assert "median wait" in svg
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    assert summary["model"]["sound"] == "yes"


def test_heuristics_writes_a_readable_model(refund_sample: pd.DataFrame, tmp_path: Path
                                            ) -> None:
    result = discover(refund_sample, "heuristics")
    written = write_discovery(result, refund_sample, tmp_path)
    assert_has_diagram(written["model.bpmn"])
    model = read_bpmn(written["model.bpmn"])
    assert {t.name for t in model.tasks.values()} <= set(refund_sample["concept:name"])
    assert result.soundness is not None  # heuristics nets carry no soundness guarantee
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    assert summary["model"]["sound"] in ("yes", "no", "undecided")


def _pandas_dfg(log: pd.DataFrame) -> dict[tuple[str, str], int]:
    frame = log.assign(_pos=range(len(log))).sort_values(
        ["case:concept:name", "time:timestamp", "_pos"])
    nxt = frame.groupby("case:concept:name")["concept:name"].shift(-1)
    pairs = pd.DataFrame({"a": frame["concept:name"], "b": nxt}).dropna()
    # (Categories count every pair of categories, those with no events as 0.)
    return {(str(a), str(b)): int(n) for (a, b), n in pairs.value_counts().items() if n}


@pytest.mark.parametrize("which", ["sample", "running-example"])
def test_dfg_counts_equal_a_direct_count(which: str, refund_sample: pd.DataFrame,
                                         running_example: pd.DataFrame,
                                         tmp_path: Path) -> None:
    log = refund_sample if which == "sample" else running_example
    result = discover(log, "dfg")
    written = write_discovery(result, log, tmp_path)
    assert set(written) == {"discovery-dfg.svg", "discovery-dfg.png", "discovery.json",
                            "variants.csv"}
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    got = {(e["source"], e["target"]): e["count"] for e in summary["dfg"]["edges"]}
    assert got == _pandas_dfg(log)
    starts = log.sort_values("time:timestamp", kind="stable").groupby(
        "case:concept:name")["concept:name"].first().value_counts()
    assert summary["dfg"]["starts"] == {str(k): int(v) for k, v in starts.items() if v}


def test_dfg_noise_keeps_only_frequent_edges(refund_sample: pd.DataFrame) -> None:
    full = discover(refund_sample, "dfg", 0.0).dfg
    result = discover(refund_sample, "dfg", 0.3)
    assert result.dfg == full  # (the whole DFG stays; the filter's is apart)
    assert result.filtered is not None
    kept = {(e.source, e.target): e.count for e in result.filtered.kept.edges}
    everything = {(e.source, e.target): e.count for e in full.edges}
    assert kept and len(kept) < len(everything)
    assert all(everything[pair] == count for pair, count in kept.items())
    for edge in full.edges:
        busiest = max(e.count for e in full.edges if e.source == edge.source)
        pair = (edge.source, edge.target)
        assert (pair in kept) == (edge.count >= 0.3 * busiest
                                  or pair in result.filtered.connecting)
    # Every activity the whole graph reaches from a start is reached over the kept edges,
    # and each edge kept to connect is needed for it (without it, one is cut off).
    from conformance.discovery import _reached

    starts = set(full.starts)
    assert _reached(starts, set(kept)) == _reached(starts, set(everything))
    for pair in result.filtered.connecting:
        assert _reached(starts, set(kept) - {pair}) != _reached(starts, set(kept))


def test_layout_without_graphviz_still_has_a_diagram(running_example: pd.DataFrame,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    result = discover(running_example, "inductive", 0.0)
    assert result.process is not None

    def no_graphviz(graph: bpmn_writer.ProcessGraph) -> bpmn_writer.Layout:
        raise ImportError("no pygraphviz")

    monkeypatch.setattr(bpmn_writer, "_graphviz_layout", no_graphviz)
    path = tmp_path / "model.bpmn"
    path.write_bytes(bpmn_writer.bpmn_xml(result.process))
    assert_has_diagram(path)
    conversion = bpmn_to_workflow_net(path)
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"


def test_hostile_activity_names_stay_text(tmp_path: Path) -> None:
    events = []
    for case in range(3):
        for k, name in enumerate(['<script>alert("x")</script>', "A & B", "签收"]):
            events.append({"case:concept:name": f"c{case}", "concept:name": name,
                           "time:timestamp": pd.Timestamp("2026-01-01", tz="UTC")
                           + pd.Timedelta(hours=k)})
    log = pd.DataFrame(events)
    result = discover(log, "inductive", 0.0)
    written = write_discovery(result, log, tmp_path)
    svg = written["model.svg"].read_text(encoding="utf-8")
    assert "<script" not in svg and "签收" in svg
    model = read_bpmn(written["model.bpmn"])
    assert {t.name for t in model.tasks.values()} == set(log["concept:name"])


def test_a_label_with_a_double_space_fits_its_own_model(tmp_path: Path) -> None:
    """model.bpmn is read back with a task name's whitespace runs as one space; the log's
    label 'Approve  refund' was not, so the noise-0 model fitted 0 of 3 cases, and comparing
    the log with it found 'Approve  refund' outside the model and 'Approve refund' missing
    in every case."""
    from conformance.compare import compare_files

    events = [{"case:concept:name": f"c{case}", "concept:name": name,
               "time:timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(hours=k)}
              for case in range(3)
              for k, name in enumerate(["Receive request", "Approve  refund", "Pay\tout"])]
    log = pd.DataFrame(events)
    result = discover(log, "inductive", 0.0)
    written = write_discovery(result, log, tmp_path)
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    assert summary["fitness"]["fitting_cases"] == 3
    csv = tmp_path / "log.csv"
    log.to_csv(csv, index=False)
    assert compare_files(csv, written["model.bpmn"]).differences == []


def test_cli_discover(tmp_path: Path) -> None:
    if not SAMPLE.exists():
        pytest.fail(f"bundled sample missing: {SAMPLE}")
    out = tmp_path / "model"
    result = CliRunner().invoke(main, ["discover", str(SAMPLE), "--miner", "inductive",
                                       "--noise", "0.2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "model sound: yes" in result.output
    for name in ("model.bpmn", "model.svg", "discovery-dfg.svg", "discovery-dfg.png",
                 "discovery.json"):
        assert (out / name).stat().st_size > 0
    bad = CliRunner().invoke(main, ["discover", str(SAMPLE), "--noise", "2", "--out",
                                    str(out)])
    assert bad.exit_code == 2


def test_cli_discover_checks_its_options_first_and_counts_quarantined_rows(
        tmp_path: Path) -> None:
    """--noise nan passed click's range check and crashed (a traceback); an --out under a
    file failed with a traceback after the mining; a row quarantined for a bad timestamp
    was dropped without a word."""
    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\nc1,A,2026-01-01T10:00:00Z\n"
                   "c1,B,not a time\nc1,C,2026-01-01T12:00:00Z\n", encoding="utf-8")
    runner = CliRunner()
    nan = runner.invoke(main, ["discover", str(log), "--noise", "nan", "--out",
                               str(tmp_path / "o")])
    assert nan.exit_code == 2 and "--noise" in nan.output and "Traceback" not in nan.output
    (tmp_path / "afile").write_text("", encoding="utf-8")
    for args in (["discover", str(log)], ["compare", str(log), str(log)]):
        bad = runner.invoke(main, [*args, "--out", str(tmp_path / "afile" / "sub")])
        assert bad.exit_code == 2 and "cannot write into" in bad.output, bad.output
    good = runner.invoke(main, ["discover", str(log), "--noise", "0", "--out",
                                str(tmp_path / "o")])
    assert good.exit_code == 0, good.output
    assert "read 3 = imported 2 + quarantined 1" in good.output


def test_a_dfg_discovery_leaves_no_earlier_model_beside_it(refund_sample: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    """An inductive run, then --miner dfg into the same folder: the earlier model.bpmn, .svg
    and .png stayed beside a discovery.json saying there is no model."""
    write_discovery(discover(refund_sample, "inductive", 0.2), refund_sample, tmp_path)
    assert (tmp_path / "model.bpmn").exists()
    write_discovery(discover(refund_sample, "dfg", 0.0), refund_sample, tmp_path)
    assert not [p.name for p in tmp_path.glob("model.*")]
    assert json.loads((tmp_path / "discovery.json").read_text(encoding="utf-8"))["model"] is None


def test_labels_xml_cannot_hold_are_refused_for_a_model(tmp_path: Path) -> None:
    """'Check\\x01' and 'Check\\x02' were both written as 'Check\\ufffd': one task of the
    model for two activities (fitness 0.5 at noise 0). A model cannot name them: an input
    error naming the label; the DFG (no model) is still drawn."""
    from audit.errors import InputError

    events = [{"case:concept:name": f"c{case}", "concept:name": name,
               "time:timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(hours=k)}
              for case in range(2) for k, name in enumerate(["Start", "Check" + chr(case + 1)])]
    log = pd.DataFrame(events)
    with pytest.raises(InputError, match="holds a character a BPMN model"):
        discover(log, "inductive", 0.0)
    assert discover(log, "dfg", 0.0).process is None


def test_an_unbounded_heuristics_net_is_called_unsound(running_example: pd.DataFrame,
                                                      tmp_path: Path) -> None:
    """The heuristics miner's net of the running example is unbounded (pm4py's
    check_soundness: False). The written BPMN cannot be converted back (its scope's states
    never end), and discovery.json said sound: null; it is judged on the miner's own net."""
    result = discover(running_example, "heuristics", 0.0)
    written = write_discovery(result, running_example, tmp_path)
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    assert summary["model"]["sound"] == "no"
    assert any(n.startswith("soundness judged on the miner's own Petri net: unbounded")
               for n in summary["notes"])
    # (no process of its runs that can finish can be written: model.bpmn is for viewing)
    assert summary["model"]["written_as"] == "view only"
    assert any(n.startswith("model.bpmn is for viewing only") and "more than 300 reachable "
               "states (or is unbounded)" in n for n in summary["notes"])


def test_discovery_mines_completions_only_and_says_how_many_it_left_out(
        tmp_path: Path) -> None:
    """A start and a complete of one activity were two events of it: 'A' counted twice and
    an edge A -> A drawn, where `check` judges completions only. The starts are left out and
    counted in a warning (console and discovery.json)."""
    log = tmp_path / "log.csv"
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp,"
                   "lifecycle:transition\n"
                   "e1,c1,A,2026-09-01T10:00:00Z,start\n"
                   "e2,c1,A,2026-09-01T10:10:00Z,complete\n"
                   "e3,c1,B,2026-09-01T11:00:00Z,START\n"
                   "e4,c1,B,2026-09-01T11:10:00Z,Complete\n"
                   "e5,c1,C,2026-09-01T12:00:00Z,\n", encoding="utf-8")
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["discover", str(log), "--noise", "0", "--out", str(out)])
    assert run.exit_code == 0, run.output
    told = "2 events whose lifecycle:transition is not complete (START 1, start 1) were not counted"
    assert f"warning: {told}" in run.output
    summary = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    assert summary["events"] == 3
    assert {a: f["events"] for a, f in summary["activities"].items()} == {"A": 1, "B": 1,
                                                                          "C": 1}
    assert [(e["source"], e["target"]) for e in summary["dfg"]["edges"]] == [("A", "B"),
                                                                             ("B", "C")]
    assert summary["activities"]["B"]["median_wait_seconds"] == 3600.0  # complete to complete
    assert [w[:len(told)] for w in summary["warnings"]] == [told]
    assert summary["fitness"]["fitting_cases"] == 1
    # The model has each task once: A, B, C in sequence.
    model = read_bpmn(out / "model.bpmn")
    assert sorted(t.name for t in model.tasks.values()) == ["A", "B", "C"]


def test_events_at_one_time_are_mined_in_event_id_order(tmp_path: Path) -> None:
    """B and A at the same time, B first in the file: `check` orders them by event id (A,
    B, C fits an A -> B -> C SOP); discovery took the file's order and drew B -> A."""
    log = tmp_path / "log.csv"
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp\n"
                   "z1,c1,B,2026-09-01T10:00:00Z\n"
                   "a1,c1,A,2026-09-01T10:00:00Z\n"
                   "c1,c1,C,2026-09-01T12:00:00Z\n"
                   "x2,c2,A,2026-09-01T10:00:00Z\n"
                   "y2,c2,B,2026-09-01T11:00:00Z\n"
                   "z2,c2,C,2026-09-01T12:00:00Z\n", encoding="utf-8")
    frame = import_sources([(log, None)]).log
    result = discover(frame, "inductive", 0.0)
    assert [(e.source, e.target, e.count) for e in result.dfg.edges] == [("A", "B", 2),
                                                                         ("B", "C", 2)]
    assert result.dfg.starts == {"A": 2}
    write_discovery(result, frame, tmp_path / "out")
    # One variant A, B, C: the model is the sequence, which the tied case fits.
    net = bpmn_to_workflow_net(tmp_path / "out" / "model.bpmn").net
    assert net is not None and sorted(net.labels) == ["A", "B", "C"]
    assert result.fitness is not None and result.fitness.fitting_cases == 2


FITNESS_LOG = ("event:id,case:concept:name,concept:name,time:timestamp,refund:channel\n"
               "e1,c1,A,2026-09-01T10:00:00Z,ecommerce\ne2,c1,C,2026-09-01T11:00:00Z,ecommerce\n"
               "e3,c1,B,2026-09-01T12:00:00Z,ecommerce\ne4,c2,A,2026-09-01T10:00:00Z,ecommerce\n"
               "e5,c2,B,2026-09-01T11:00:00Z,ecommerce\ne6,c2,C,2026-09-01T12:00:00Z,ecommerce\n"
               "e7,c3,B,2026-09-01T10:00:00Z,ecommerce\ne8,c4,A,2026-09-01T10:00:00Z,ecommerce\n"
               "e9,c4,B,2026-09-01T11:00:00Z,ecommerce\ne10,c4,C,2026-09-01T12:00:00Z,ecommerce\n"
               "e11,c4,D,2026-09-01T13:00:00Z,ecommerce\n")
FITNESS_POLICY = """version: 1
as_of: 2026-10-15T00:00:00Z
activities:
  A: {control: other}
  B: {control: other}
  C: {control: other}
  D: {control: other}
rules:
  select: [CF]
"""


def test_discovery_fitness_is_the_fitness_check_computes(tmp_path: Path) -> None:
    """discovery.json said log_fitness 0.999932 for a model that every case fits (noise 0),
    where `check --sop model.bpmn` says 1.0: pm4py's evaluate summed costs that count the
    silent steps. Fitness is now computed as check computes it (the project's aligner,
    standard costs), so both agree: on the log the model was mined from, and on a log it
    does not fit."""
    from audit.checkrun import run_check

    log, policy = tmp_path / "log.csv", tmp_path / "policy.yaml"
    log.write_text(FITNESS_LOG, encoding="utf-8")
    policy.write_text(FITNESS_POLICY, encoding="utf-8")
    frame = import_sources([(log, None)]).log
    result = discover(frame, "inductive", 0.0)
    write_discovery(result, frame, tmp_path / "all")
    assert result.fitness is not None
    assert (result.fitness.log_fitness, result.fitness.fitting_cases) == (1.0, 4)
    summary = json.loads((tmp_path / "all" / "discovery.json").read_text(encoding="utf-8"))
    assert summary["fitness"]["log_fitness"] == 1.0
    checked = run_check([log], policy, sop=tmp_path / "all" / "model.bpmn").summary()
    assert checked["conformance"]["ecommerce"]["fitness"] == 1.0
    # A model of the A, B, C cases only (a sequence), replayed on the whole log.
    sequence = frame[frame["case:concept:name"] == "c2"].reset_index(drop=True)
    write_discovery(discover(sequence, "inductive", 0.0), sequence, tmp_path / "seq")
    net = bpmn_to_workflow_net(tmp_path / "seq" / "model.bpmn").net
    assert net is not None
    fitness = replay_fitness(_ordered(frame), net)
    checked = run_check([log], policy, sop=tmp_path / "seq" / "model.bpmn").summary()
    by_check = checked["conformance"]["ecommerce"]
    assert fitness.log_fitness < 1.0
    assert round(fitness.log_fitness, 6) == by_check["fitness"]
    assert (fitness.fitting_cases, fitness.cases) == (by_check["fitting_cases"], 4)


@pytest.mark.parametrize("miner", ["inductive", "dfg"])
def test_a_log_of_no_completion_is_an_input_error(tmp_path: Path, miner: str) -> None:
    """Every event a start: discover reads completions only, so none is left. Before, an
    internal error (AttributeError: .dt of the empty waits) with a traceback; now exit code
    2 naming the file, the field and the transitions found."""
    log = tmp_path / "starts.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp,lifecycle:transition\n"
                   "l1,Receive refund request,2026-07-01T10:00:00Z,start\n"
                   "l1,Approve refund,2026-07-01T11:00:00Z,start\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["discover", str(log), "--miner", miner,
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert (f"error: {log}: field 'lifecycle:transition': no event of the log is a "
            "completion (start 2)") in result.output


def test_a_model_discovered_from_a_refund_log_fits_it_in_check(tmp_path: Path) -> None:
    """discover said fitness 1.0 (every case fits) for the noise-0 model of a clean refund
    log, and `check --sop model.bpmn` with the default policy said 0.917, no case fitting and
    a skipped-activity in every case ("skipped the SOP's Capture payment"): the policy's
    purchase is context that check leaves out of the alignment, while the discovered model
    holds it as a task. A purchase label that is a task of the SOP read is now aligned as
    that task; the bundled SOPs, which do not hold it, are judged as before."""
    from audit.checkrun import run_check
    from audit.policy import default_policy_path
    from audit.sample import SampleSpec, write_sample

    spec = SampleSpec(channel="ecommerce", cases=40, seed=4, violation_rate=0.0)
    log = write_sample(spec, tmp_path / "sample")["canonical"]
    frame = import_sources([(log, None)]).log
    cases = frame["case:concept:name"].nunique()
    purchased = frame.loc[frame["concept:name"] == "Capture payment", "case:concept:name"]
    assert purchased.nunique() == cases  # (every case: the model requires the purchase)
    result = discover(frame, "inductive", 0.0)
    written = write_discovery(result, frame, tmp_path / "model")
    assert result.fitness is not None
    assert (result.fitness.log_fitness, result.fitness.fitting_cases) == (1.0, cases)
    run = run_check([log], default_policy_path(), sop=written["model.bpmn"])
    summary = run.summary()
    assert summary["conformance"]["ecommerce"]["fitness"] == 1.0
    assert summary["conformance"]["ecommerce"]["fitting_cases"] == cases
    assert not [f for f in run.result.findings if f.rule.startswith("CF")]
    # Against the bundled SOP, which has no purchase task, the purchase stays context.
    bundled = run_check([log], default_policy_path(), sop=ROOT / "models" / "ecommerce.bpmn")
    assert bundled.summary()["conformance"]["ecommerce"]["fitting_cases"] == cases
    assert "Capture payment" not in bundled.policy.sop_tasks()
    assert run.policy.sop_tasks()["Capture payment"] == "Capture payment"


def _random_labels_log(path: Path, *, cases: int, labels: int, seed: int) -> Path:
    """A canonical CSV whose cases run random labels (3 to 6 events each)."""
    import random

    rng = random.Random(seed)
    rows = ["event:id,case:concept:name,concept:name,time:timestamp"]
    for case in range(cases):
        for step in range(rng.randint(3, 6)):
            label = f"Activity {rng.randrange(labels):04d}"
            rows.append(f"e{case:05d}{step},c{case:05d},{label},"
                        f"2026-01-{1 + case % 28:02d}T{8 + step:02d}:00:00Z")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_log_of_many_labels_is_mined_from_its_most_frequent_activities(
        tmp_path: Path) -> None:
    """3,000 distinct labels kept discover busy for more than 300 s (pm4py's fall-throughs,
    the soundness check of a 9,515-node model, Graphviz): the model is mined from the
    --max-activities most frequent activities (default 60, ties by label), the note and
    discovery.json say what was left out, and the fitness is of the whole log."""
    path = _random_labels_log(tmp_path / "log.csv", cases=400, labels=150, seed=3)
    log = import_sources([(path, None)]).log
    counts = log["concept:name"].astype(str).value_counts()
    ranked = sorted(counts.index, key=lambda a: (-counts[a], a))
    result = discover(log, "inductive", 0.0, max_activities=12)
    assert result.process is not None
    tasks = {n.name for n in result.process.nodes if n.kind == "task"}
    assert tasks == set(ranked[:12])
    left = sum(int(counts[a]) for a in ranked[12:])
    assert result.left_out == {"activities": len(ranked) - 12, "events": left}
    assert result.tasks.keys() == set(ranked)  # the figures hold every activity
    assert any(f"the 12 most frequent of {len(ranked)} activities" in note
               and f"--max-activities {len(ranked)} mines them all" in note
               for note in result.notes), result.notes
    write_discovery(result, log, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "discovery.json").read_text(encoding="utf-8"))
    assert summary["max_activities"] == 12
    assert summary["left_out_of_the_model"] == result.left_out
    assert summary["model"]["tasks"] == 12 and summary["model"]["sound"] == "yes"
    assert summary["fitness"]["cases"] == 400  # the whole log, left-out events as log moves
    assert summary["fitness"]["log_fitness"] < 1.0
    assert len(summary["activities"]) == len(ranked)
    # (the drawings say so on a line of their own: a title's line is cut at 60 characters)
    svg = (tmp_path / "out" / "discovery-dfg.svg").read_text(encoding="utf-8")
    assert f">the 12 most frequent of {len(ranked)} activities<" in svg
    svg = (tmp_path / "out" / "model.svg").read_text(encoding="utf-8")
    assert f">from the 12 most frequent of {len(ranked)} activities<" in svg

    runner = CliRunner()
    cli = runner.invoke(main, ["discover", str(path), "--out", str(tmp_path / "cli")])
    assert cli.exit_code == 0, cli.output
    assert f"note: the model is mined from the 60 most frequent of {len(ranked)}" in cli.output
    summary = json.loads((tmp_path / "cli" / "discovery.json").read_text(encoding="utf-8"))
    assert summary["model"]["tasks"] == 60
    bad = runner.invoke(main, ["discover", str(path), "--max-activities", "0", "--out",
                               str(tmp_path / "cli")])
    assert bad.exit_code == 2 and "--max-activities" in bad.output
    # The dfg miner mines no model, but its drawing leaves activities and edges out too:
    # said on the console and in discovery.json, not only in the drawing's title.
    dfg = runner.invoke(main, ["discover", str(path), "--miner", "dfg", "--out",
                               str(tmp_path / "dfg")])
    assert dfg.exit_code == 0, dfg.output
    told = [line for line in dfg.output.splitlines()
            if line.startswith("note: discovery-dfg.svg")]
    assert len(told) == 1 and told[0].startswith(
        "note: discovery-dfg.svg and discovery-dfg.png draw the 60 most frequent of "
        f"{len(ranked)} activities and the 150 most frequent of "), dfg.output
    assert told[0].endswith("edges among them (--max-activities 60, at most 150 edges); "
                            "discovery.json holds the whole DFG")
    summary = json.loads((tmp_path / "dfg" / "discovery.json").read_text(encoding="utf-8"))
    assert told[0][len("note: "):] in summary["notes"]


def test_a_log_within_the_cap_is_mined_whole(refund_sample: pd.DataFrame,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The cap leaves a log of fewer activities as it was: the miner gets every event."""
    import pm4py

    mined: list[pd.DataFrame] = []
    real = pm4py.discover_process_tree_inductive

    def recorded(frame: pd.DataFrame, **kwargs: object) -> object:
        mined.append(frame)
        return real(frame, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pm4py, "discover_process_tree_inductive", recorded)
    result = discover(refund_sample, "inductive", None)
    assert result.left_out == {} and len(mined) == 1
    pd.testing.assert_frame_equal(mined[0], _ordered(refund_sample))
    assert not any("most frequent" in note for note in result.notes)


def test_the_written_model_is_the_same_on_every_run(refund_sample: pd.DataFrame) -> None:
    """model.bpmn numbered its gateways and flows in the order of pm4py's node ids (random
    UUIDs): two runs on the same log wrote different files (Flow_17 here, Flow_2 there)."""
    def written(miner: str) -> bytes:
        process = discover(refund_sample, miner).process  # type: ignore[arg-type]
        assert process is not None
        return bpmn_writer.bpmn_xml(process)

    for miner in ("inductive", "heuristics"):
        assert len({written(miner) for _ in range(3)}) == 1, miner


def test_the_noise_0_model_of_a_concurrent_log_is_read_back(tmp_path: Path) -> None:
    """The inductive miner's noise-0 model of the shared receipt log (1,434 cases, much
    concurrency) was written by `discover` and then refused by `compare` and `check --sop`
    ("scope 'Process_Discovered': has more than 20000 reachable states"). Read back, the
    model allows its whole log: compare finds no difference between the two."""
    receipt = SHARED / "receipt.csv"
    if not receipt.exists():
        pytest.fail(f"test data missing: {receipt}")
    out = tmp_path / "model"
    found = CliRunner().invoke(main, ["discover", str(receipt), "--noise", "0",
                                      "--out", str(out)])
    assert found.exit_code == 0, found.output
    conversion = bpmn_to_workflow_net(out / "model.bpmn")
    assert not conversion.refused, [str(r) for r in conversion.refused]
    assert conversion.soundness is not None and conversion.soundness.verdict == "sound"
    compared = CliRunner().invoke(main, ["compare", str(receipt), str(out / "model.bpmn"),
                                         "--out", str(tmp_path / "diff")])
    assert compared.exit_code == 0, compared.output
    report = json.loads((tmp_path / "diff" / "compare.json").read_text(encoding="utf-8"))
    assert "0 difference(s)" in compared.output, compared.output
    assert report["differences"] == [], report["differences"][:3]


def test_discovery_json_names_the_log_and_the_tool_that_mined_it(tmp_path: Path) -> None:
    """discovery.json said how a model was mined but not from which log nor by which
    version: a committee shown a model could not tie it to the log audited. It now names
    the tool and version and the log by file name and sha256 (no folder and no time: the
    same log and options give the same file from any folder)."""
    import hashlib

    log = tmp_path / "log.csv"
    log.write_text("case,activity,time\nc1,A,2026-07-01T08:00:00Z\nc1,B,2026-07-01T09:00:00Z\n"
                   "c2,A,2026-07-02T08:00:00Z\nc2,B,2026-07-02T09:30:00Z\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["discover", str(log), "--miner", "dfg",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "discovery.json").read_text(encoding="utf-8"))
    from audit import __version__

    assert (summary["tool"], summary["version"]) == ("refund-audit", __version__)
    assert summary["log"] == {"file": "log.csv",
                              "sha256": hashlib.sha256(log.read_bytes()).hexdigest()}


def _variants_log(variants: list[tuple[str, int]]) -> pd.DataFrame:
    """A log of `n` cases of each trace (one letter an activity), an hour between events."""
    events = []
    for trace, n in variants:
        for _ in range(n):
            case = f"c{len({e['case:concept:name'] for e in events})}"
            events += [{"case:concept:name": case, "concept:name": name,
                        "time:timestamp": pd.Timestamp("2026-01-01", tz="UTC")
                        + pd.Timedelta(hours=k)} for k, name in enumerate(trace)]
    return pd.DataFrame(events)


def _svg_edges(svg: Path) -> dict[str, str]:
    """Per edge drawn ('a0->a2', by Graphviz's node ids), its stroke-dasharray ('' if solid)."""
    tree = etree.parse(str(svg))
    ns = {"s": "http://www.w3.org/2000/svg"}
    edges: dict[str, str] = {}
    for group in tree.iterfind(".//s:g[@class='edge']", ns):
        title = group.findtext("s:title", namespaces=ns) or ""
        path = group.find("s:path", ns)
        edges[title] = "" if path is None else path.get("stroke-dasharray", "")
    return edges


def test_the_noise_filter_names_what_it_leaves_out_and_keeps_each_activity_reached(
        tmp_path: Path) -> None:
    """--miner dfg --noise 0.1 of the demo drew 'Reject refund' (21 events) without an edge
    in (Collect evidence -> Reject refund, 14, is below 10% of 175), under the title of the
    whole graph, and discovery.json held the 16 edges kept only ("18 rare edge(s) left
    out", unnamed). Now every edge is in discovery.json, marked kept or not; an activity the
    threshold would cut off keeps its strongest way in, drawn dotted; the title says
    'noise 0.2: 4 of 5 edges drawn'."""
    # Edges: A->B 10, B->D 10, A->C 1, C->D 1, A->D 1. At noise 0.2 (2 out of A): A->C and
    # A->D fall below; A->C is C's only way in, so it stays (dotted); A->D is left out.
    log = _variants_log([("ABD", 10), ("ACD", 1), ("AD", 1)])
    result = discover(log, "dfg", 0.2)
    written = write_discovery(result, log, tmp_path)
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    marks = {(e["source"], e["target"]): (e["count"], e["kept"], e["kept_to_connect"])
             for e in summary["dfg"]["edges"]}
    assert marks == {("A", "B"): (10, True, False), ("B", "D"): (10, True, False),
                     ("A", "C"): (1, True, True), ("C", "D"): (1, True, False),
                     ("A", "D"): (1, False, False)}
    assert summary["dfg"]["noise_filter"] == {"noise": 0.2, "edges": 5, "kept": 4,
                                              "left_out": 1, "kept_to_connect": 1}
    assert any(n.startswith("the noise filter (--noise 0.2) leaves 1 of 5 edges out of "
                            "discovery-dfg.svg") for n in summary["notes"])
    svg = written["discovery-dfg.svg"]
    text = svg.read_text(encoding="utf-8")
    assert "noise 0.2: 4 of 5 edges drawn" in text
    assert "dotted: below the noise, kept to connect an activity" in text
    ids = {a: f"a{k}" for k, a in enumerate(result.dfg.activities)}
    drawn = {t: dash for t, dash in _svg_edges(svg).items()
             if "start" not in t and "end" not in t}
    assert drawn == {f"{ids[s]}->{ids[t]}": ("1,5" if (s, t) == ("A", "C") else "")
                     for s, t in [("A", "B"), ("B", "D"), ("A", "C"), ("C", "D")]}
    # Noise 0 (the default) keeps every edge: no filter line in the title, each kept.
    plain = tmp_path / "plain"
    written = write_discovery(discover(log, "dfg"), log, plain)
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    assert all(e["kept"] and not e["kept_to_connect"] for e in summary["dfg"]["edges"])
    assert summary["dfg"]["noise_filter"]["left_out"] == 0 and summary["notes"] == []
    assert "edges drawn" not in written["discovery-dfg.svg"].read_text(encoding="utf-8")


def test_a_self_loop_is_no_way_in_and_the_strongest_way_in_is_kept(tmp_path: Path) -> None:
    """C is reached from A (2 cases) and B (1 case), and loops on itself (8 times): all
    three below 0.5 of their sources' busiest; its loop connects nothing, so the strongest
    way in from another activity, A->C, is kept; B->C is left out."""
    log = _variants_log([("ABD", 20), ("ACCCCCD", 2), ("ABCD", 1), ("AD", 20)])
    filtered = discover(log, "dfg", 0.5).filtered
    assert filtered is not None
    kept = {(e.source, e.target): e.count for e in filtered.kept.edges}
    assert filtered.connecting == {("A", "C")}
    assert kept.get(("A", "C")) == 2 and ("B", "C") not in kept
    assert kept.get(("C", "C")) == 8  # (the busiest out of C: kept by the threshold itself)


def test_an_island_the_threshold_cuts_off_is_connected_again() -> None:
    """S -> C 99 times, S -> A once, then A and B in turns (A -> B 20, B -> A 19): at noise
    0.1 S -> A falls below 10% of 99, while A -> B and B -> A pass, so A had an edge in
    (from B) and was kept apart with B, reached from no start: an island. The strongest
    edge from a reached activity into it, S -> A, is kept to connect it."""
    log = _variants_log([("SC", 99), ("S" + "AB" * 20, 1)])
    filtered = discover(log, "dfg", 0.1).filtered
    assert filtered is not None
    kept = {(e.source, e.target) for e in filtered.kept.edges}
    assert filtered.connecting == {("S", "A")}
    assert kept == {("S", "C"), ("S", "A"), ("A", "B"), ("B", "A")}


def test_an_unsound_model_says_so_in_its_picture_and_in_discovery_json(
        tmp_path: Path) -> None:
    """The heuristics model of this log can never do B (its dependency A->D->B is cut off),
    and so a run can get stuck: the console said so, but model.svg's title read as any
    model's. The title and discovery.json's model.verdict now give the verdict, its
    reasons and the cases that fit: the 12 cases doing B cannot, 30 of 42 do."""
    log = _variants_log([("ADBZ", 10), ("ABZ", 2), ("ADZ", 10), ("AEZ", 20)])
    result = discover(log, "heuristics", 0.0)
    written = write_discovery(result, log, tmp_path)
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    assert summary["model"]["sound"] == "no"
    assert summary["fitness"]["fitting_cases"] == 30
    verdict = summary["model"]["verdict"]
    assert verdict.startswith("not sound: ") and "can never fire: 'B'" in verdict
    assert verdict.endswith("; 30 of 42 cases fit, log fitness "
                            f"{summary['fitness']['log_fitness']:.3f}")
    svg = written["model.svg"].read_text(encoding="utf-8")
    assert ">NOT SOUND:</text>" in svg
    assert "can never fire: &#39;B&#39;" in svg or "can never fire: 'B'" in svg
    assert ">fitness " in svg and ": 30 of 42 cases fit</text>" in svg
    sound = tmp_path / "sound"
    written = write_discovery(discover(log, "inductive", 0.0), log, sound)
    svg = written["model.svg"].read_text(encoding="utf-8")
    assert ">sound; fitness 1.000: 42 of 42 cases fit</text>" in svg
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    assert summary["model"]["verdict"] == "sound; 42 of 42 cases fit, log fitness 1.000"


def test_rows_quarantined_by_discover_are_written_and_counted(tmp_path: Path) -> None:
    """discover of a CSV log with a bad timestamp printed 'read 4 = imported 3 +
    quarantined 1' and nothing else: no row named, no file, discovery.json without a
    word. Now the rows are in discovery-quarantine.csv (as check writes quarantine.csv),
    discovery.json counts them under 'import' and warns of them, and the console too."""
    log = tmp_path / "badts.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "c1,A,2026-01-01T10:00:00Z\nc1,B,not a time\nc1,C,2026-01-01T12:00:00Z\n"
                   "c2,A,2026-01-01T10:00:00Z\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["discover", str(log), "--miner", "dfg", "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    quarantine = pd.read_csv(out / "discovery-quarantine.csv", dtype=str)
    assert quarantine.to_dict("records") == [
        {"file": "badts.csv", "row": "3", "field": "time:timestamp", "value": "not a time",
         "reason": quarantine["reason"][0], "case": "c1", "record_read": "no"}]
    summary = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    assert summary["import"] == {"read": 4, "imported": 3, "quarantined": 1,
                                 "duplicates_dropped": 0, "left_out": 0, "repeated": 0,
                                 "events": 3, "correlation_problems": 0,
                                 "quarantine_file": "discovery-quarantine.csv",
                                 # (no option given: check's keys, null; no import note)
                                 "options": {"assume_tz": None, "encoding": None,
                                             "object_type": None},
                                 "not_applied": [], "notes": []}
    assert summary["warnings"] == [
        "1 row of the log was quarantined (read 4 = imported 3 + quarantined 1) and is not "
        "mined: discovery-quarantine.csv names it (file, row, field, value, reason)"]
    assert f"warning: {summary['warnings'][0]}" in result.output
    assert "discovery-quarantine.csv" in (out / "SHA256SUMS").read_text(encoding="utf-8")
    # A record read twice is in `read` and dropped: the warning's sum says so (before:
    # "read 5 = imported 3 + quarantined 1", which does not add up).
    log.write_text("case:concept:name,concept:name,time:timestamp,event:id\n"
                   "c1,A,2026-01-01T10:00:00Z,e1\nc1,B,not a time,e2\n"
                   "c1,C,2026-01-01T12:00:00Z,e3\nc1,C,2026-01-01T12:00:00Z,e3\n"
                   "c2,A,2026-01-01T10:00:00Z,e4\n", encoding="utf-8")
    twice = CliRunner().invoke(main, ["discover", str(log), "--miner", "dfg", "--out",
                                      str(out)])
    assert twice.exit_code == 0, twice.output
    summary = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    assert summary["import"]["duplicates_dropped"] == 1
    assert "(read 5 = imported 3 + quarantined 1 + 1 duplicate dropped)" in \
        summary["warnings"][0]
    # A clean log: the file has its header only, and nothing is warned of.
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "c1,A,2026-01-01T10:00:00Z\nc1,C,2026-01-01T12:00:00Z\n", encoding="utf-8")
    again = CliRunner().invoke(main, ["discover", str(log), "--miner", "dfg", "--out",
                                      str(out)])
    assert again.exit_code == 0, again.output
    assert (out / "discovery-quarantine.csv").read_text(encoding="utf-8").splitlines() == [
        "file,row,field,value,reason,case,record_read"]
    summary = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    assert summary["import"]["quarantined"] == 0 and summary["warnings"] == []


def _pm4py_alignments(log: pd.DataFrame, noise: float
                      ) -> dict[tuple[str, ...], tuple[bool, int]]:
    """Each variant of `log` (`_ordered`) -> whether it fits pm4py's heuristics net of the
    log (mined as discover mines it) and its alignment's cost (log moves and visible model
    moves), by pm4py's own aligner: a ground truth independent of ours."""
    import pm4py
    from pm4py.objects.log.obj import Event, EventLog, Trace

    frame = _ordered(log)
    variants = list(dict.fromkeys(tuple(g) for _, g in frame.groupby(
        "case:concept:name", sort=False)["concept:name"]))
    heuristics = pm4py.discover_heuristics_net(
        frame, dependency_threshold=0.5 + noise / 2, activity_key="concept:name",
        case_id_key="case:concept:name", timestamp_key="time:timestamp")
    net, initial, final = pm4py.convert_to_petri_net(heuristics)
    traces = EventLog([Trace([Event({"concept:name": a}) for a in v]) for v in variants])
    aligned = pm4py.conformance_diagnostics_alignments(traces, net, initial, final)
    return {v: (a["fitness"] == 1.0,
                sum(1 for moved, modelled in a["alignment"]
                    if (moved == ">>") != (modelled == ">>") and modelled is not None))
            for v, a in zip(variants, aligned, strict=True)}


def test_a_heuristics_model_refused_as_pm4py_writes_it_is_written_as_its_finishing_runs(
        refund_sample: pd.DataFrame, tmp_path: Path) -> None:
    """The heuristics net of the sample's e-commerce cases lets a run reach the end while a
    token waits for 'Payout failed' (after a second-level approval): pm4py's BPMN form of it
    was refused by our own reader ('when it has finished depends on more than its state'),
    so model.bpmn could not be the SOP of check --sop or compare, which the docs promise.
    It is now written as the net's runs that can finish: read back, and every variant of
    the log fits it exactly when it fits the miner's net by pm4py's aligner, at the same
    cost."""
    from conformance.align import Aligner
    from conformance.channels import select_channel

    log, _ = select_channel(refund_sample, "ecommerce", None, file=SAMPLE)
    result = discover(log, "heuristics", 0.0)
    written = write_discovery(result, log, tmp_path / "disc")
    conversion = bpmn_to_workflow_net(written["model.bpmn"])
    assert conversion.net is not None, conversion.refused
    assert_has_diagram(written["model.bpmn"])
    truth = _pm4py_alignments(log, 0.0)
    ours = Aligner(conversion.net).align(dict.fromkeys(truth, 1))
    assert {v: (ours[v].fits, ours[v].cost) for v in truth} == truth
    fitting = [v for v, (fits, _) in truth.items() if fits]
    assert 0 < len(fitting) < len(truth)  # (a test that can tell the two apart)
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    cases = _ordered(log).groupby("case:concept:name", sort=False)["concept:name"]
    assert summary["fitness"]["fitting_cases"] == sum(
        1 for _, g in cases if truth[tuple(g)][0])
    assert summary["model"]["written_as"] == "finishing runs"
    assert summary["model"]["usable_as_sop"] is True
    assert summary["model"]["sound"] == "no"  # (the miner's net's verdict, told as before)
    assert any(n.startswith("model.bpmn holds the heuristics net's runs that can finish")
               for n in summary["notes"])
    run = CliRunner().invoke(main, ["compare", str(SAMPLE), str(written["model.bpmn"]),
                                    "--channel", "ecommerce", "--out", str(tmp_path / "cmp")])
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(main, ["model", "inspect", str(written["model.bpmn"])])
    assert run.exit_code == 0, run.output


def test_a_heuristics_model_no_run_of_which_finishes_is_told_to_be_for_viewing_only(
        refund_sample: pd.DataFrame, tmp_path: Path) -> None:
    """At noise 1 (dependency threshold 1) the heuristics net of the sample cannot reach
    its end: no BPMN can mean it as an SOP. discover said only that the written BPMN could
    not be converted back; it now says that model.bpmn is for viewing only and which miner
    gives an SOP, in its notes, discovery.json and the drawing's title."""
    result = discover(refund_sample, "heuristics", 1.0)
    written = write_discovery(result, refund_sample, tmp_path)
    assert bpmn_to_workflow_net(written["model.bpmn"]).net is None
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    assert summary["model"]["written_as"] == "view only"
    assert summary["model"]["usable_as_sop"] is False
    told = [n for n in summary["notes"] if n.startswith("model.bpmn is for viewing only")]
    assert len(told) == 1 and "discover with --miner inductive" in told[0]
    assert "no run of the miner's net reaches its end" in told[0]
    assert "for viewing only: model.bpmn is no SOP" in written["model.svg"].read_text(
        encoding="utf-8")


def test_finishing_runs_accept_exactly_the_traces_the_net_finishes(tmp_path: Path) -> None:
    """A net with parallel branches (B and C after A, joined at D), a silent skip of C, and
    a step E that leaves a token behind (a run through it can never finish): the BPMN of its
    finishing runs, read back, fits exactly the traces the net can finish with (found here
    by playing the token game), over every sequence of up to 5 of its labels."""
    from collections import Counter
    from itertools import product

    from conformance.align import Aligner
    from conformance.bpmn_writer import bpmn_xml
    from conformance.discovery import finishing_runs
    from conformance.petri import Transition, WorkflowNet

    arcs = {"A": (["i"], ["p1", "p2"]), "B": (["p1"], ["p3"]), "C": (["p2"], ["p4"]),
            "skip": (["p2"], ["p4"]), "D": (["p3", "p4"], ["o"]), "E": (["p1"], ["p5", "p3"])}
    labels = {"A": "A", "B": "B", "C": "C", "skip": None, "D": "D", "E": "E"}
    net = WorkflowNet(
        places=("i", "o", "p1", "p2", "p3", "p4", "p5"),
        transitions=tuple(Transition(t, labels[t], None) for t in arcs),
        arcs=tuple([(p, t) for t, (ins, _) in arcs.items() for p in ins]
                   + [(t, p) for t, (_, outs) in arcs.items() for p in outs]),
        source="i", sink="o")
    finished: set[tuple[str, ...]] = set()

    def play(marking: tuple[str, ...], trace: tuple[str, ...]) -> None:
        if marking == ("o",):
            finished.add(trace)
        for t, (ins, outs) in arcs.items():
            tokens = Counter(marking)
            if all(tokens[p] > 0 for p in ins):
                left = tokens - Counter(ins) + Counter(outs)
                label = labels[t]
                play(tuple(sorted(left.elements())), trace + ((label,) if label else ()))

    play(("i",), ())
    assert finished == {("A", "B", "C", "D"), ("A", "C", "B", "D"), ("A", "B", "D")}
    graph = finishing_runs(net, name="runs")
    assert "E" not in {n.name for n in graph.nodes}
    path = tmp_path / "runs.bpmn"
    path.write_bytes(bpmn_xml(graph))
    conversion = bpmn_to_workflow_net(path)
    assert conversion.net is not None, conversion.refused
    traces = [t for n in range(6) for t in product("ABCDE", repeat=n)]
    aligned = Aligner(conversion.net).align(dict.fromkeys(traces, 1))
    assert {t for t in traces if aligned[t].fits} == finished


def test_fitness_is_told_as_alignments_as_pm4py_computes_them(tmp_path: Path) -> None:
    """discover's fitness is of optimal alignments: pm4py.fitness_alignments of model.bpmn
    gives the same log fitness (0.961 on this log of 16 cases, 4 of them off the main
    path), where pm4py's token-based replay, which a pm4py user reaches for first, gives
    another (0.972). discovery.json says which (`fitness.method`) and so does the console;
    before, both said "fitness" alone."""
    import pm4py

    rows = ["case:concept:name,concept:name,time:timestamp"]
    traces = [("ABCDE", 12), ("ACBDE", 1), ("AE", 2), ("ABBCDE", 1)]
    number = 0
    for sequence, cases in traces:
        for _ in range(cases):
            number += 1
            rows += [f"c{number:02d},{a},2026-03-01T{8 + i:02d}:00:00Z"
                     for i, a in enumerate(sequence)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["discover", str(log), "--out", str(out)])
    assert result.exit_code == 0, result.output
    fitness = json.loads((out / "discovery.json").read_text())["fitness"]
    assert fitness["method"] == "alignments"
    frame = pd.read_csv(log)
    frame["time:timestamp"] = pd.to_datetime(frame["time:timestamp"])
    net, initial, final = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(out / "model.bpmn")))
    aligned = pm4py.fitness_alignments(frame, net, initial, final)
    replayed = pm4py.fitness_token_based_replay(frame, net, initial, final)
    assert abs(fitness["log_fitness"] - aligned["log_fitness"]) < 1e-3
    assert abs(fitness["log_fitness"] - replayed["log_fitness"]) > 5e-3
    assert fitness["fitting_cases"] == round(aligned["percentage_of_fitting_traces"] / 100
                                             * fitness["cases"])
    assert (f"fitness: {fitness['log_fitness']:.3f} by optimal alignments (pm4py's "
            "fitness_alignments, not its token-based replay)") in result.output
