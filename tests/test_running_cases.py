"""A case still running at the audit's clock (its alignment ends with model moves, an event
less than `conformance.running_for` before the clock) has not skipped the SOP tasks after its
last event: they are not due yet. Its earlier skips stay; an open case idle longer is judged
as ended; the bundled sample at its bundled clock is unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from audit import canonical as C
from audit.checkrun import CheckRun, run_check
from audit.errors import InputError
from audit.ingest import import_sources
from audit.policy import default_policy_path, load_policy

REPO = Path(__file__).resolve().parents[1]
EXPORTS = sorted((REPO / "sample_logs" / "refund-sample" / "exports").glob("*"))
SEPTEMBER = datetime(2026, 9, 15, tzinfo=UTC)
WINDOW = timedelta(days=14)


def _policy(path: Path, **conformance: Any) -> Path:
    """The bundled policy with `conformance` settings replaced (its SOPs: the bundled ones)."""
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["conformance"].update(conformance)
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return path


def _cf001(run: CheckRun) -> dict[str, dict[str, Any]]:
    """The run's skipped-activity findings by case (one a case)."""
    found = [f.as_dict() for f in run.result.findings if f.rule == "CF001"]
    by_case = {f["case_id"]: f for f in found}
    assert len(by_case) == len(found)
    return by_case


def _tasks(finding: dict[str, Any]) -> set[str]:
    return set(finding["evidence"]["tasks"].split(", "))


@pytest.fixture(scope="module")
def september(tmp_path_factory: pytest.TempPathFactory) -> tuple[CheckRun, CheckRun]:
    """The bundled sample at 2026-09-15 with running_for 14d (the bundled) and 0d (every
    case judged as ended: the findings before running cases were told apart)."""
    root = tmp_path_factory.mktemp("running")
    return (run_check(EXPORTS, default_policy_path(), as_of=SEPTEMBER),
            run_check(EXPORTS, _policy(root / "ended.yaml", running_for="0d"),
                      as_of=SEPTEMBER))


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return import_sources([(p, None) for p in EXPORTS]).log


def test_running_cases_at_september_have_not_skipped_what_is_not_due(
        september: tuple[CheckRun, CheckRun], log: pd.DataFrame) -> None:
    running, ended = september
    now, before = _cf001(running), _cf001(ended)
    clock = pd.Timestamp(SEPTEMBER)
    at_clock = log[log[C.TIMESTAMP] <= clock]
    last = at_clock.groupby(C.CASE)[C.TIMESTAMP].max()
    recent = set(last.index[last > clock - WINDOW])
    # The cases that go on after the clock, in the log as it stands at the bundled clock.
    went_on = set(log.loc[log[C.TIMESTAMP] > clock, C.CASE])
    # Every finding of a case idle for running_for or longer is as it was.
    for case, finding in before.items():
        if case not in recent:
            assert now[case] == finding, case
    gone = set(before) - set(now)
    # The findings gone are of cases active at the clock, which all went on (17, as the
    # bundled sample holds them; the rest of the 26 are kept).
    assert len(before) == 26 and len(gone) == 17
    assert gone <= recent and gone <= went_on
    # ... and no case got a skipped-activity it did not have.
    assert set(now) <= set(before)
    # Each gone finding named only tasks after its case's last event: at the clock, its case
    # did none of them, and its last SOP event is no close (the case is not at an end).
    for case in gone:
        done = set(at_clock.loc[at_clock[C.CASE] == case, C.ACTIVITY])
        assert not _tasks(before[case]) & done, case
        assert "Close ticket" not in done
    # An open case idle longer than running_for keeps every skipped task (it is judged as
    # ended): the bundled sample has such cases, never closed at the clock.
    idle_open = [c for c in before if c not in recent and "Close ticket" in _tasks(before[c])]
    assert idle_open and all(now[c] == before[c] for c in idle_open)
    # The summary and the console tell the running cases.
    summary = running.summary()
    cases = running.result.extra["conformance_result"].cases
    flagged = [c.case_id for c in cases.values() if c.running]
    assert summary["running_cases"] == len(flagged) >= len(gone)
    assert set(flagged) <= recent
    # The running cases: those 17, and ADR00000126, which keeps its earlier skips (below).
    assert set(flagged) == gone | {"ADR00000126"}
    assert sum(ch["running_cases"] for ch in summary["conformance"].values()) == len(flagged)
    assert ended.summary()["running_cases"] == 0
    # The per-channel fitness is higher where the not-due tasks no longer count.
    for channel, row in summary["conformance"].items():
        assert row["fitness"] >= ended.summary()["conformance"][channel]["fitness"]


def test_a_running_case_keeps_the_skips_before_its_last_event(
        september: tuple[CheckRun, CheckRun], log: pd.DataFrame) -> None:
    """ADR00000126, at 2026-09-15, is a payout alone, a week old: the request, the evidence
    and the approval the SOP puts before the payout were skipped; the notice and the close
    after it are not due yet."""
    running, ended = september
    case = "ADR00000126"
    events = log[(log[C.CASE] == case) & (log[C.TIMESTAMP] <= pd.Timestamp(SEPTEMBER))]
    assert set(events[C.ACTIVITY]) == {"Execute payout"}
    assert pd.Timestamp(SEPTEMBER) - events[C.TIMESTAMP].max() < WINDOW
    now, before = _cf001(running)[case], _cf001(ended)[case]
    assert _tasks(before) == {"Receive refund request", "Collect evidence", "Approve refund",
                              "Notify customer", "Close ticket"}
    assert _tasks(now) == {"Receive refund request", "Collect evidence", "Approve refund"}
    assert now["message"] == ("skipped the SOP's Approve refund, Collect evidence, "
                              "Receive refund request")
    # Its fitness: 1 - (cost without the trailing model moves) / (the same worst cost).
    (conformance,) = [c for c in running.result.extra["conformance_result"].cases.values()
                      if c.case_id == case]
    assert conformance.running
    worst = conformance.alignment.worst_cost
    assert now["evidence"]["fitness"] == round(1 - 3 / worst, 4)
    assert before["evidence"]["fitness"] == round(1 - 5 / worst, 4)


def test_the_bundled_clock_gives_the_same_findings(tmp_path: Path) -> None:
    """At the bundled clock (2026-10-15) no open case has an event in the last 14 days (the
    latest is 14.5 days old): the same findings as with every case judged as ended."""
    bundled = run_check(EXPORTS, default_policy_path())
    ended = run_check(EXPORTS, _policy(tmp_path / "ended.yaml", running_for="0d"))
    assert [f.as_dict() for f in bundled.result.findings] == [
        f.as_dict() for f in ended.result.findings]
    assert bundled.summary()["running_cases"] == 0
    assert bundled.summary()["conformance"] == ended.summary()["conformance"]


SEQ_ABCD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <process id="p"><startEvent id="s"/><task id="a" name="A"/><task id="b" name="B"/>
    <task id="c" name="C"/><task id="d" name="D"/><endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
    <sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
    <sequenceFlow id="f3" sourceRef="b" targetRef="c"/>
    <sequenceFlow id="f4" sourceRef="c" targetRef="d"/>
    <sequenceFlow id="f5" sourceRef="d" targetRef="e"/>
  </process>
</definitions>
"""
CASES = {  # case: its events (label, time); the clock is 2026-10-15T00:00:00Z
    "skipped-b-running": [("A", "2026-10-09T10:00:00Z"), ("C", "2026-10-10T10:00:00Z")],
    "skipped-b-idle": [("A", "2026-08-30T10:00:00Z"), ("C", "2026-09-01T10:00:00Z")],
    "started": [("A", "2026-10-12T10:00:00Z")],
    "started-14d-ago": [("A", "2026-10-01T00:00:00Z")],
    "started-14d-less-1s": [("A", "2026-10-01T00:00:01Z")],
    "done": [("A", "2026-10-11T10:00:00Z"), ("B", "2026-10-12T10:00:00Z"),
             ("C", "2026-10-13T10:00:00Z"), ("D", "2026-10-14T10:00:00Z")],
    # D done without C, recently: C was skipped before its last event (not a running case)
    "skipped-c": [("A", "2026-10-11T10:00:00Z"), ("B", "2026-10-12T10:00:00Z"),
                  ("D", "2026-10-14T10:00:00Z")],
}


def _abcd(tmp_path: Path, running_for: str | None, min_fitness: float | None = None) -> CheckRun:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "seq.bpmn").write_text(SEQ_ABCD, encoding="utf-8")
    rows = ["event:id,case:concept:name,concept:name,time:timestamp,refund:channel"]
    for case, events in CASES.items():
        rows += [f"{case}-{i},{case},{label},{time},ecommerce"
                 for i, (label, time) in enumerate(events)]
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    conformance: dict[str, Any] = {}
    if running_for is not None:
        conformance["running_for"] = running_for
    if min_fitness is not None:
        conformance["min_fitness"] = min_fitness
    policy = {"version": 1, "as_of": "2026-10-15T00:00:00Z",
              "activities": {label: {"control": "other"} for label in "ABCD"},
              "sop": {"ecommerce": "seq.bpmn"}, "conformance": conformance,
              "rules": {"select": ["CF"]}}
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    return run_check([tmp_path / "log.csv"], tmp_path / "policy.yaml")


def _skipped(run: CheckRun) -> dict[str, str]:
    return {f.case_id: str(f.evidence["tasks"]) for f in run.result.findings
            if f.rule == "CF001"}


def test_running_for_on_a_constructed_log(tmp_path: Path) -> None:
    """A, B, C, D in sequence; worst cost of a case of n events: n + 4."""
    run = _abcd(tmp_path / "default", None)
    assert _skipped(run) == {"skipped-b-running": "B",  # D is not due yet
                             "skipped-b-idle": "B, D",  # idle since 2026-09-01: ended
                             "started-14d-ago": "B, C, D",  # exactly 14 days: ended
                             "skipped-c": "C"}
    cases = run.result.extra["conformance_result"].cases
    assert {c.case_id for c in cases.values() if c.running} == {
        "skipped-b-running", "started", "started-14d-less-1s"}
    assert cases["skipped-b-running"].fitness == pytest.approx(1 - 1 / 6)
    assert cases["skipped-b-idle"].fitness == pytest.approx(1 - 2 / 6)
    assert cases["started"].fitness == 1.0
    assert run.summary()["running_cases"] == 3
    row = run.summary()["conformance"]["ecommerce"]
    assert row["running_cases"] == 3
    # fitting: done, started, started-14d-less-1s; the log's fitness over the cut costs
    assert row["fitting_cases"] == 3
    costs = [1, 2, 0, 3, 0, 0, 1]
    worsts = [6, 6, 5, 5, 5, 8, 7]
    assert row["fitness"] == round(1 - sum(costs) / sum(worsts), 6)
    # The report's SOP overlay reads the cut alignments: a running case is in sync on what it
    # did, and skips nothing it was not due to do.
    from reports.overlay import run_deviations

    deviations = run_deviations(run)
    assert deviations.cases["skipped-b-running"].deviations == (
        ("skipped", "B", ("skipped-b-running-0", "skipped-b-running-1")),)
    assert deviations.cases["started"].deviations == ()

    # 0d: every case is judged as ended, as before running_for.
    ended = _abcd(tmp_path / "ended", "0d")
    assert _skipped(ended) == {"skipped-b-running": "B, D", "skipped-b-idle": "B, D",
                               "started": "B, C, D", "started-14d-ago": "B, C, D",
                               "started-14d-less-1s": "B, C, D", "skipped-c": "C"}
    assert ended.summary()["running_cases"] == 0
    # A longer window takes in the idle one.
    longer = _abcd(tmp_path / "longer", "60d")
    assert _skipped(longer) == {"skipped-b-running": "B", "skipped-b-idle": "B",
                                "skipped-c": "C"}


def test_unfit_case_reads_the_running_fitness(tmp_path: Path) -> None:
    """min_fitness 0.8: the running case (fitness 1 - 1/6) is not unfit; the same variant
    idle (1 - 2/6) is; the fresh starts fit."""
    run = _abcd(tmp_path, None, min_fitness=0.8)
    unfit = {f.case_id for f in run.result.findings if f.rule == "CF004"}
    assert unfit == {"skipped-b-idle", "started-14d-ago"}


@pytest.mark.parametrize("value", ["soon", "-1d", "14", "[1d]", "200000d"])
def test_running_for_is_validated_naming_its_line(tmp_path: Path, value: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nactivities:\n  A: {control: other}\nconformance:\n"
                    f"  mode: alignments\n  running_for: {value}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_policy(path)
    assert caught.value.row == 6
    assert caught.value.field == "conformance.running_for"


def test_running_for_default_and_set() -> None:
    assert load_policy(default_policy_path()).conformance.running_for == WINDOW


def test_check_tells_the_running_cases(tmp_path: Path) -> None:
    """The console, findings.json, report.html's Scope and findings.xlsx's Summary tell the
    cases running at the clock where there are any, and not otherwise."""
    import json

    import openpyxl
    from click.testing import CliRunner

    from audit.cli import main

    told: dict[str, int] = {}
    for name, clock in (("sep", "2026-09-15T00:00:00Z"), ("oct", "2026-10-15T00:00:00Z")):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["check", *map(str, EXPORTS), "--out", str(out),
                                           "--as-of", clock, "--fail-on", "never"])
        assert result.exit_code == 0, result.output
        summary = json.loads((out / "findings.json").read_text(encoding="utf-8"))["summary"]
        told[name] = n = summary["running_cases"]
        assert n == sum(row["running_cases"] for row in summary["conformance"].values())
        line = (f"  running at the clock: {n} cases (an event less than "
                "conformance.running_for 14d before it, the SOP not at an end): the SOP "
                "tasks after their last event are not due yet, not skipped")
        html = (out / "report.html").read_text(encoding="utf-8")
        rows = [r for r in openpyxl.load_workbook(out / "findings.xlsx")["Summary"].iter_rows(
            values_only=True) if r and str(r[0]).startswith("Cases running at the clock")]
        if n:
            assert line in result.output.splitlines()
            assert f'data-metric="running_cases" data-value="{n}">{n}</span> cases running' \
                in html
            assert [r[1] for r in rows] == [n]
        else:
            assert "running at the clock" not in result.output
            assert 'data-metric="running_cases"' not in html and rows == []
    assert told == {"sep": 18, "oct": 0}


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
def test_active_at_clock_in_any_unit_and_without_a_case_id(unit: str) -> None:
    """A case's last event in the 14 days before the clock makes it active, in whatever unit
    the log's times are; an event without a case id is in no case (it makes none active)."""
    from audit.rules.facts import CaseFacts

    log = pd.DataFrame({
        C.CASE: pd.array(["old", "old", None, "new", "edge", "inside"], dtype="string"),
        C.EVENT_ID: pd.array([f"e{i}" for i in range(6)], dtype="string"),
        C.ACTIVITY: pd.array(["Receive refund request"] * 6, dtype="string"),
        C.TIMESTAMP: pd.to_datetime(["2026-08-01", "2026-08-02", "2026-10-14", "2026-10-10",
                                     "2026-10-01", "2026-10-01T00:00:01"],
                                    utc=True, format="ISO8601").as_unit(unit)})
    facts = CaseFacts(log, load_policy(default_policy_path()),
                      datetime(2026, 10, 15, tzinfo=UTC))
    active = dict(zip(facts.case_ids, facts.active_at_clock().tolist(), strict=True))
    # (edge: exactly 14 days before the clock, not less)
    assert active == {"new": True, "old": False, "edge": False, "inside": True}
