"""`check --engine dask`: the findings, fingerprints, order and conformance summary equal the
local engine's on a generated log with known ground truth, cross-case rules included; the log
is cut into whole components of case - charge - order; the CLI's exit codes and output match;
an unreachable --scheduler is an input error."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit import canonical as C
from audit.checkrun import CheckRun, run_check
from audit.cli import main
from audit.engines import EngineSpec
from audit.engines.dask_engine import partition_log
from audit.ingest import import_sources
from audit.policy import default_policy_path
from audit.sample import SampleSpec, write_sample

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes of one thread on 127.0.0.1 (tasks and results are pickled, as on
    a real cluster)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  scheduler_kwargs={"dashboard": False},
                                  silence_logs=logging.ERROR) as running:
        yield running


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dask-sample")
    write_sample(SampleSpec("all", 300, 7, 0.4), out)
    return out


@pytest.fixture(scope="module")
def local_run(sample: Path) -> CheckRun:
    return run_check([sample / "canonical.csv"], default_policy_path())


def plain_summary(run: CheckRun) -> dict[str, Any]:
    """The run's summary (the seconds conformance took are the manifest's)."""
    summary: dict[str, Any] = copy.deepcopy(run.summary())
    assert all("seconds" not in channel for channel in summary["conformance"].values())
    return summary


def test_partitions_hold_whole_cases_charges_and_orders(sample: Path) -> None:
    log = import_sources([(sample / "canonical.csv", None)]).log
    parts = partition_log(log, 6)
    assert len(parts) == 6
    assert sum(len(p) for p in parts) == len(log)
    for column in (C.CASE, C.CHARGE_ID, C.ORDER_ID):
        owner: dict[str, int] = {}
        for i, part in enumerate(parts):
            for value in part[column].dropna().astype(str).unique():
                assert owner.setdefault(value, i) == i, f"{column} {value} is split"
    # A charge shared by cases (duplicate refunds, partial refunds) is kept together.
    shared = log.dropna(subset=[C.CHARGE_ID]).groupby(C.CHARGE_ID)[C.CASE].nunique()
    assert (shared > 1).any()


def test_dask_findings_equal_local(sample: Path, cluster: Any, local_run: CheckRun) -> None:
    spec = EngineSpec("dask", scheduler=cluster.scheduler_address, partitions=6)
    run = run_check([sample / "canonical.csv"], default_policy_path(), engine=spec)

    local = [f.as_dict() for f in local_run.result.findings]
    remote = [f.as_dict() for f in run.result.findings]
    assert remote == local  # same findings, fingerprints, evidence and order
    assert sorted(f["fingerprint"] for f in remote) == sorted(f["fingerprint"] for f in local)
    assert run.result.errors == local_run.result.errors == []
    assert run.result.suppressed == local_run.result.suppressed > 0
    # (the suppressed findings listed alike: findings.json's `suppressed`)
    assert run.result.suppressed_findings == local_run.result.suppressed_findings
    assert len(run.result.suppressed_findings) == run.result.suppressed
    assert plain_summary(run) == plain_summary(local_run)
    assert set(plain_summary(run)["conformance"]) == {"ecommerce", "offline", "subscription"}
    ours = run.result.extra["conformance_result"]
    theirs = local_run.result.extra["conformance_result"]
    assert list(ours.cases.items()) == list(theirs.cases.items())  # type: ignore[attr-defined]
    # What check tells beside the findings, read off each partition's facts: every case's
    # channel, and the events unauthorized-performer could not judge for want of a role.
    assert run.case_channels().astype(str).to_dict() == \
        local_run.case_channels().astype(str).to_dict()
    assert len(run.case_channels()) == run.result.cases
    assert run.unrecorded_roles == local_run.unrecorded_roles
    assert run.unrecorded_nobody == local_run.unrecorded_nobody
    # The cases missing-evidence, missing-second-approval and approved-not-paid left for a
    # later clock, the partitions' joined (in partition order: compared as sets).
    assert {k: sorted(v) for k, v in run.not_due_case_ids().items()} == \
        {k: sorted(v) for k, v in local_run.not_due_case_ids().items()}
    assert set(run.not_due_case_ids()) == {"AP003", "EV001", "EV003"}
    # The cases holding the events the role rules could not judge: the same lists.
    assert run.unjudged_case_ids() == local_run.unjudged_case_ids()
    # (receipt-reused's list of cases on a generic receipt is there, empty, as AP004's is)
    assert set(run.unjudged_case_ids()) == {"AP004", "DU002", "SD004"}

    per_rule = plain_summary(run)["by_rule"]
    for code in ("DU001", "EV005", "EV002", "EV007", "SD001", "AP001", "CF001", "CF003",
                 "SL001", "DQ001"):
        assert per_rule[code]["findings"] > 0, code
    # The generator's ground truth is found by both engines alike.
    truth = pd.read_csv(sample / "ground_truth.csv", dtype=str)
    found = {(f["case_id"], f["name"]) for f in remote}
    assert "duplicate-refund" in set(truth["rule"])
    truly = {(c, r) for c, r in zip(truth["case_id"], truth["rule"], strict=True)}
    assert len(found & truly) / len(truly) > 0.8

    engine = run.manifest()["engine"]
    assert engine["name"] == "dask" and engine["scheduler"] == cluster.scheduler_address
    assert engine["workers"] == 2 and engine["partitions"] == 6
    assert local_run.manifest()["engine"] == {"name": "local"}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def same_output(a: Result, b: Result, a_out: Path, b_out: Path) -> None:
    assert a.exit_code == b.exit_code, (a.output, b.output)
    assert a.output.replace(str(a_out), "OUT") == b.output.replace(str(b_out), "OUT")
    first = json.loads((a_out / "findings.json").read_text())
    second = json.loads((b_out / "findings.json").read_text())
    assert first["findings"] == second["findings"]
    assert first["errors"] == second["errors"]


def test_cli_dask_on_a_cluster_equals_local(sample: Path, cluster: Any, tmp_path: Path) -> None:
    log = str(sample / "canonical.csv")
    local = invoke("check", log, "--out", str(tmp_path / "local"), "--format", "json")
    remote = invoke("check", log, "--out", str(tmp_path / "dask"), "--format", "json",
                    "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert local.exit_code == 1
    same_output(local, remote, tmp_path / "local", tmp_path / "dask")
    manifest = json.loads((tmp_path / "dask" / "findings.json").read_text())["manifest"]
    assert manifest["engine"]["scheduler"] == cluster.scheduler_address


def test_cli_dask_starts_a_local_cluster(tmp_path: Path) -> None:
    write_sample(SampleSpec("all", 60, 3, 0.5), tmp_path / "small")
    log = str(tmp_path / "small" / "canonical.csv")
    local = invoke("check", log, "--out", str(tmp_path / "local"), "--format", "json")
    remote = invoke("check", log, "--out", str(tmp_path / "dask"), "--format", "json",
                    "--engine", "dask")
    same_output(local, remote, tmp_path / "local", tmp_path / "dask")
    engine = json.loads((tmp_path / "dask" / "findings.json").read_text())["manifest"]["engine"]
    assert engine["name"] == "dask" and engine["scheduler"].startswith("LocalCluster ")


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "tls://127.0.0.1:1"],
                         ids=["unreachable", "tls without its settings"])
def test_unreachable_scheduler_is_an_input_error(sample: Path, tmp_path: Path,
                                                 address: str) -> None:
    """A tls:// address without Dask's TLS settings raised a TypeError ("TLS expects a
    ssl_context"), a traceback; both are input errors naming --scheduler."""
    import dask

    log = str(sample / "canonical.csv")
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        result = invoke("check", log, "--out", str(tmp_path), "--engine", "dask",
                        "--scheduler", address)
    assert result.exit_code == 2, result.output
    assert "--scheduler" in result.output and address in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "findings.json").exists()


@pytest.mark.parametrize("args", [["--scheduler", "tcp://127.0.0.1:1"],
                                  ["--engine", "dask", "--scheduler", "127.0.0.1"]])
def test_bad_scheduler_options(sample: Path, tmp_path: Path, args: list[str]) -> None:
    result = invoke("check", str(sample / "canonical.csv"), "--out", str(tmp_path), *args)
    assert result.exit_code == 2 and "--scheduler" in result.output, result.output


def test_waivers_overrides_and_precedence_equal_local(sample: Path, cluster: Any,
                                                     local_run: CheckRun,
                                                     tmp_path: Path) -> None:
    """Precedences, waivers (by case, by fingerprint, expired) and severity overrides are
    applied on the client over all partitions' findings, as the local engine applies them."""
    findings = local_run.result.findings
    by_case = next(f for f in findings if f.rule == "DU001")
    by_print = next(f for f in findings if f.rule == "CF001")
    expired = next(f for f in findings if f.rule == "SD001")
    text = default_policy_path().read_text(encoding="utf-8")
    assert "  severity: {}\n" in text and "waivers: []\n" in text
    text = text.replace("  severity: {}\n", "  severity: {EV: critical, CF003: info}\n")
    text = text.replace("waivers: []\n", (
        "waivers:\n"
        f"  - {{rule: duplicates, case: '{by_case.case_id}', reason: known, approved_by: CAE,"
        " expires: 2027-01-01}\n"
        f"  - {{rule: CF001, fingerprint: {by_print.fingerprint}, reason: known,"
        " approved_by: CAE, expires: 2027-01-01}\n"
        f"  - {{rule: self-approval, case: '{expired.case_id}', reason: old, approved_by: CAE,"
        " expires: 2026-01-01}\n"
        "  - {rule: AP001, case: NO-SUCH-CASE, reason: never, approved_by: CAE,"
        " expires: 2027-01-01}\n"))
    policy = tmp_path / "policy.yaml"  # SOPs named by bare file names: the bundled ones
    policy.write_text(text, encoding="utf-8")
    log = [sample / "canonical.csv"]
    local = run_check(log, policy)
    spec = EngineSpec("dask", scheduler=cluster.scheduler_address, partitions=5)
    remote = run_check(log, policy, engine=spec)
    assert [f.as_dict() for f in remote.result.findings] == [
        f.as_dict() for f in local.result.findings]
    assert plain_summary(remote) == plain_summary(local)
    assert remote.result.suppressed_findings == local.result.suppressed_findings
    statuses = [w["status"] for w in plain_summary(remote)["waivers"]]
    assert statuses == ["used", "used", "expired", "never matched"]
    severities = {f.rule: f.severity for f in remote.result.findings}
    assert severities["EV005"] == "critical" and severities["CF003"] == "info"


def test_the_cases_the_role_rules_could_not_judge_are_listed_alike_on_both_engines(
        sample: Path, cluster: Any, tmp_path: Path) -> None:
    """The sample with the role of every third case's approvals and closes blanked (a role
    history covering part of the month): unauthorized-approver and -performer leave their
    events unjudged; findings.json's unjudged_cases (the partitions' joined, sorted) and the
    warning naming the first cases are the local engine's."""
    frame = pd.read_csv(sample / "canonical.csv", dtype=str, keep_default_na=False)
    cases = sorted(frame[C.CASE].unique())[::3]
    blank = frame[C.CASE].isin(cases) & frame[C.ACTIVITY].str.startswith(
        ("Approve refund", "Close ticket"))
    frame.loc[blank, C.ROLE] = ""
    log = tmp_path / "log.csv"
    frame.to_csv(log, index=False)
    local = run_check([log], default_policy_path())
    spec = EngineSpec("dask", scheduler=cluster.scheduler_address, partitions=6)
    remote = run_check([log], default_policy_path(), engine=spec)
    listed = local.unjudged_case_ids()
    assert remote.unjudged_case_ids() == listed
    approvals = listed["AP004"]["role_not_recorded"]
    assert approvals == sorted(approvals) and len(approvals) > 20
    assert set(approvals) <= set(cases)
    tasks = listed["SD004"]["role_not_recorded"]
    assert tasks == sorted(tasks) and set(cases) & set(tasks)
    assert [f.as_dict() for f in remote.result.findings] == [
        f.as_dict() for f in local.result.findings]
    told = [w for w in local.warnings() if "role is not recorded" in w]
    assert told == [w for w in remote.warnings() if "role is not recorded" in w]
    first = sorted(set(approvals) | set(listed["SD004"]["role_not_recorded"]))[:3]
    assert f" in cases {', '.join(first)} and others: " in told[0]


def test_a_clock_inside_the_log_cuts_it_alike_on_both_engines(sample: Path, cluster: Any,
                                                              local_run: CheckRun) -> None:
    """With the clock inside the log, both engines judge the log as it stood at the clock
    (the one cut, run_check_log's): the same findings, summary and count of the events
    after it, none of which is judged (no finding is dated after the clock)."""
    clock = datetime(2026, 9, 1, tzinfo=UTC)
    log = [sample / "canonical.csv"]
    local = run_check(log, default_policy_path(), as_of=clock)
    spec = EngineSpec("dask", scheduler=cluster.scheduler_address, partitions=5)
    remote = run_check(log, default_policy_path(), as_of=clock, engine=spec)
    assert [f.as_dict() for f in remote.result.findings] == [
        f.as_dict() for f in local.result.findings]
    assert plain_summary(remote) == plain_summary(local)
    # Cases running at the clock (an event in the 14 days before it, not at an end of their
    # SOP): cut alike, their alignments, deviations, fitness and counts the same.
    ours = remote.result.extra["conformance_result"].cases
    theirs = local.result.extra["conformance_result"].cases
    assert list(ours.items()) == list(theirs.items())
    running = [case_id for case_id, case in theirs.items() if case.running]
    assert plain_summary(local)["running_cases"] == len(running) > 10
    assert [case_id for case_id, case in ours.items() if case.running] == running
    # findings.json's running_cases: read by columns locally, off the cases combined here
    assert local.running_case_ids() == remote.running_case_ids() == running
    after = plain_summary(local)["events_after_clock"]
    times = import_sources([(log[0], None)]).log[C.TIMESTAMP]
    assert after == int((times > pd.Timestamp(clock)).sum()) > 0
    assert local.result.events == remote.result.events == len(times) - after
    assert all(f.timestamp <= clock.isoformat() for f in remote.result.findings)
    assert remote.warnings() == local.warnings()
    assert remote.warnings()[0].startswith(f"{after:,} events dated after the audit's clock")
    # (and fewer findings than at the policy's clock, after every event)
    assert plain_summary(local_run)["events_after_clock"] == 0
    assert len(local.result.findings) < len(local_run.result.findings)


def test_run_rules_dask_given_the_whole_log_cuts_it_at_the_clock(sample: Path,
                                                                 cluster: Any) -> None:
    """run_rules_dask, given the log uncut (as run_rules may be: the cut is theirs too,
    canonical.at_clock), judges it as it stood at the clock, as check does on either
    engine: the same findings, counts and conformance. Before, it judged the events after
    the clock too."""
    from audit.checkrun import checked_policy
    from audit.engines.dask_engine import run_rules_dask
    from audit.rules import default_rules

    clock = datetime(2026, 9, 1, tzinfo=UTC)
    local = run_check([sample / "canonical.csv"], default_policy_path(), as_of=clock)
    whole = import_sources([(sample / "canonical.csv", None)]).log
    spec = EngineSpec("dask", scheduler=cluster.scheduler_address, partitions=5)
    remote, _ = run_rules_dask(whole, checked_policy(default_policy_path()), default_rules(),
                               as_of=clock, spec=spec)
    assert [{**f.as_dict(), "channel": ""} for f in remote.findings] == [
        {**f.as_dict(), "channel": ""} for f in local.result.findings]
    assert local.after_clock > 0 and remote.after_clock == local.after_clock
    assert (remote.cases, remote.events) == (local.result.cases, local.result.events)
    assert remote.extra["conformance"] == local.result.extra["conformance"]


def test_only_cross_case_rules_without_conformance(sample: Path, cluster: Any,
                                                   tmp_path: Path) -> None:
    """The two cross-case rules alone: the same findings, and no conformance summary when no
    rule needed the alignments (as locally)."""
    text = default_policy_path().read_text(encoding="utf-8")
    assert '  select: ["*"]\n' in text
    policy = tmp_path / "policy.yaml"
    policy.write_text(text.replace('  select: ["*"]\n', "  select: [DU001, EV005]\n"),
                      encoding="utf-8")
    log = [sample / "canonical.csv"]
    local = run_check(log, policy)
    spec = EngineSpec("dask", scheduler=cluster.scheduler_address, partitions=4)
    remote = run_check(log, policy, engine=spec)
    assert [f.as_dict() for f in remote.result.findings] == [
        f.as_dict() for f in local.result.findings]
    assert {f.rule for f in remote.result.findings} == {"DU001", "EV005"}
    assert "conformance" not in remote.result.extra and "conformance" not in local.result.extra
    assert remote.summary() == local.summary()


def test_two_sop_files_of_one_name_and_content_stay_two_on_a_worker(tmp_path: Path) -> None:
    """Two channels' SOPs in two folders, with the same file name and bytes: each worker copy
    maps back to its own client path (before: both shared one copy, and a finding of the
    first channel named the second channel's file, unlike the local engine)."""
    import dataclasses

    from audit.engines.dask_engine import _localise, _translate, ship_policy
    from audit.findings import Finding
    from audit.policy import load_policy

    paths = []
    for folder in ("d1", "d2"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "ecommerce.bpmn"
        path.write_bytes((Path(default_policy_path()).parent / "ecommerce.bpmn").read_bytes())
        paths.append(str(path))
    policy = dataclasses.replace(load_policy(default_policy_path()),
                                 sop={"ecommerce": paths[0], "subscription": paths[1]})
    shipped_policy, sops = ship_policy(policy)
    local, back = _localise(shipped_policy, sops)
    assert local.sop["ecommerce"] != local.sop["subscription"]
    for channel, client in (("ecommerce", paths[0]), ("subscription", paths[1])):
        finding = Finding(rule="CF001", name="skipped-activity", severity="medium",
                          case_id="C1", event_ids=[], activities=[], resources=[],
                          timestamp=None, message=f"against {local.sop[channel]}",
                          evidence={"sop": local.sop[channel]})
        translated = _translate(finding, back)
        assert (translated.evidence["sop"], translated.message) == (client, f"against {client}")


def _alike_on_both_engines(log: Any, policy: Any, cluster: Any) -> Any:
    """The default rules' result on `log` at 2026-10-15 by the local engine, asserting that
    the Dask engine (4 partitions on `cluster`) finds the same findings."""
    from audit.engines.dask_engine import run_rules_dask
    from audit.rules import default_rules
    from audit.rules.engine import run_rules

    ruleset = default_rules()
    as_of = datetime(2026, 10, 15, tzinfo=UTC)
    local = run_rules(log, policy, ruleset, as_of=as_of)
    spec = EngineSpec("dask", scheduler=cluster.scheduler_address, partitions=4)
    remote, _ = run_rules_dask(log, policy, ruleset, as_of=as_of, spec=spec)
    assert [f.as_dict() for f in remote.findings] == [f.as_dict() for f in local.findings]
    return local


def test_a_malformed_scheduler_is_refused_whatever_the_log(tmp_path: Path) -> None:
    """With a log of no event to judge (every event a `start`), `run_rules_dask` returned
    before looking at --scheduler: `check --engine dask --scheduler not-an-address` exited
    0, where a log with events gave an error. The address's form is checked with the
    options now, before the import; the empty log's engine record names no cluster it did
    not contact."""
    log = tmp_path / "starts.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp,lifecycle:transition\n"
                   "A,Receive refund request,2026-08-01T10:00:00Z,start\n"
                   "A,Execute payout,2026-08-02T10:00:00Z,start\n", encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("check", str(log), "--out", str(out), "--engine", "dask",
                    "--scheduler", "not-an-address")
    assert result.exit_code == 2, result.output
    assert ("error: field '--scheduler': 'not-an-address' is not a scheduler address like "
            "tcp://HOST:8786") in result.output
    assert not (out / "findings.json").exists()
    # A well-formed address: no cluster is needed for no event (none contacted, none named).
    result = invoke("check", str(log), "--out", str(out), "--engine", "dask",
                    "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 0, result.output
    engine = json.loads((out / "findings.json").read_text())["manifest"]["engine"]
    assert engine == {"name": "dask", "partitions": 0}


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def not_a_scheduler(request: pytest.FixtureRequest) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and then says nothing
    (`silent`), or answers as an HTTP server does (`http`): no Dask scheduler."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)
            if request.param == "http":
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.parametrize("not_a_scheduler", ["silent", "http"], indirect=True)
def test_a_server_that_is_no_scheduler_is_an_input_error_in_bounded_time(
        not_a_scheduler: str, tmp_path: Path) -> None:
    """--scheduler naming a server that accepts the connection but is no Dask scheduler:
    distributed waits for the scheduler's handshake without a timeout, so a silent one
    held `check` forever, and an HTTP server's answer, read as a frame's length, was an
    "internal error" (MemoryError) with a traceback. Both are input errors naming
    --scheduler within the connect timeout, with no traceback (distributed's half-made
    Client printed one at the exit, "Exception ignored in Client.__del__", 10 s later)."""
    import os
    import subprocess
    import sys
    import time

    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "A,Receive refund request,2026-08-01T10:00:00Z\n"
                   "A,Execute payout,2026-08-02T10:00:00Z\n", encoding="utf-8")
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "audit.cli", "check", str(log), "--out",
                               str(tmp_path / "out"), "--engine", "dask", "--scheduler",
                               not_a_scheduler], capture_output=True, text=True, cwd=REPO,
                              env=env, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("check --scheduler of a server that is no scheduler still ran after 60 s")
    took = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: field '--scheduler': "), done.stderr
    assert not_a_scheduler in done.stderr
    assert took < 20, took
    assert not (tmp_path / "out" / "findings.json").exists()


@pytest.mark.parametrize(("address", "told"), [
    ("foo://127.0.0.1:8786", "foo:// is not a scheme a scheduler is reached by"),
    ("inproc://127.0.0.1:8786", "inproc:// is not a scheme a scheduler is reached by"),
    ("tcp://127.0.0.1:99999", "the port must be 1 to 65535"),
    ("tcp://127.0.0.1:0", "the port must be 1 to 65535"),
])
def test_a_scheduler_of_no_scheme_or_port_of_one_is_refused_with_the_options(
        address: str, told: str) -> None:
    """An address of no scheme distributed reaches another process by, or of a port out of
    range, passed the form check and was refused only after the log was read (the port
    after the whole connect timeout, as "Timed out"): refused with the options now."""
    from audit.engines import check_scheduler
    from audit.errors import InputError

    with pytest.raises(InputError) as refused:
        EngineSpec("dask", scheduler=address)
    assert refused.value.field == "--scheduler" and told in str(refused.value)
    for good in ("tcp://127.0.0.1:8786", "tls://scheduler.example:8786",
                 "ws://[::1]:8786", "tcp://127.0.0.1:65535"):
        check_scheduler(good)


def test_the_scheduler_is_asked_also_from_a_running_event_loop(cluster: Any) -> None:
    """run_check with the dask engine called where an event loop runs (a notebook's cell, a
    coroutine): the question for the scheduler's handshake is asked in a loop of its own,
    so a scheduler that answers is taken (`asyncio.run` there raised RuntimeError)."""
    import asyncio

    from audit.engines.dask_engine import answers_as_a_scheduler

    async def in_a_loop() -> None:
        answers_as_a_scheduler(cluster.scheduler_address, 10)

    asyncio.run(in_a_loop())


def test_workers_of_another_version_are_refused(cluster: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers run the rules of their own installation: a cluster whose workers run
    another version of refund-audit than the client gave that version's findings as the
    client's, without a word (docs/dask.md asks for the same version). It is an input
    error naming --scheduler and the workers now, before any task is sent."""
    import audit

    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "A,Receive refund request,2026-08-01T10:00:00Z\n"
                   "A,Execute payout,2026-08-02T10:00:00Z\n", encoding="utf-8")
    installed = audit.__version__
    monkeypatch.setattr(audit, "__version__", "9.9.9")  # (the client's; the workers' stay)
    result = invoke("check", str(log), "--out", str(tmp_path / "out"), "--engine", "dask",
                    "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 2, result.output
    assert (f"error: field '--scheduler': the Dask workers at {cluster.scheduler_address} "
            "must run refund-audit 9.9.9, as this client does (see docs/dask.md): 2 "
            "workers of 2 do not (") in result.output, result.output
    assert f"version {installed}" in result.output
    assert not (tmp_path / "out" / "findings.json").exists()


def test_workers_of_another_build_of_the_same_version_are_refused(
        cluster: Any, tmp_path: Path) -> None:
    """Two builds of one version (0.1.0) are told apart only by their code digest: a worker
    whose code differs from the client's ran its own rules, and its findings were recorded
    under the client's code digest and run id. A worker whose digest differs (here one
    worker's `code_digest` replaced in its own process) is an input error naming
    --scheduler and both digests now, before any task is sent."""
    from audit.runid import code_digest

    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "A,Receive refund request,2026-08-01T10:00:00Z\n"
                   "A,Execute payout,2026-08-02T10:00:00Z\n", encoding="utf-8")
    other = "f" * 64

    def another_build() -> None:
        import audit.runid

        vars(audit.runid).setdefault("_real_code_digest", audit.runid.code_digest)
        vars(audit.runid)["code_digest"] = lambda: {"sha256": "f" * 64, "files": 1}

    def this_build() -> None:
        import audit.runid

        real = vars(audit.runid).pop("_real_code_digest", None)
        if real is not None:
            vars(audit.runid)["code_digest"] = real

    with distributed.Client(cluster) as client:
        worker = sorted(client.scheduler_info()["workers"])[0]
        client.run(another_build, workers=[worker])
        try:
            result = invoke("check", str(log), "--out", str(tmp_path / "out"), "--engine",
                            "dask", "--scheduler", cluster.scheduler_address)
        finally:
            client.run(this_build)
    mine = code_digest()["sha256"]
    assert result.exit_code == 2, result.output
    assert (f"error: field '--scheduler': the Dask workers at {cluster.scheduler_address} "
            f"must run the code this client runs (code digest {mine}; see docs/dask.md): "
            f"1 worker of 2 does not ({worker}: code digest {other})") in result.output, \
        result.output
    assert not (tmp_path / "out" / "findings.json").exists()
    again = invoke("check", str(log), "--out", str(tmp_path / "again"), "--engine", "dask",
                   "--scheduler", cluster.scheduler_address, "--fail-on", "never")
    assert again.exit_code == 0, again.output  # (the same code on every worker again)


def test_a_local_cluster_has_a_worker_per_core_this_process_may_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`--engine dask` without --scheduler starts one worker per core this process may run
    on (its CPU affinity: taskset, a cpuset), not per core of the machine: confined to 2 of
    64 cores, it started 64 workers. Where the system has no affinity, every core."""
    import os

    from audit.engines.dask_engine import local_workers

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 5}, raising=False)
    assert local_workers() == 2
    monkeypatch.delattr(os, "sched_getaffinity")
    assert local_workers() == 64


@pytest.mark.parametrize(("setting", "told"), [
    ("bogus", "not a time: 'bogus' (write e.g. 5s or 1m)"),
    ("0s", "'0s': the time to wait for the scheduler must be above 0 (e.g. 5s)")])
def test_a_connect_timeout_of_no_time_is_an_input_error(tmp_path: Path, setting: str,
                                                        told: str) -> None:
    """Dask's connect timeout, which docs/dask.md tells to set
    (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT), set to no time was an internal error
    (KeyError from dask's parse_timedelta, a traceback), and 0 gave up at once: an input
    error naming the setting."""
    import dask

    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "A,Receive refund request,2026-08-01T10:00:00Z\n", encoding="utf-8")
    with dask.config.set({"distributed.comm.timeouts.connect": setting}):
        result = invoke("check", str(log), "--out", str(tmp_path / "out"), "--engine",
                        "dask", "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output == (f"error: field 'distributed.comm.timeouts.connect': {told}\n")


KILLS_ITS_WORKER = '''
import os
import signal
import time

import audit.engines.dask_engine as engine


def _dies(*args, **kwargs):
    """A task, replaced on this worker (tasks name it by module and name): its worker
    process ends (or the scheduler's, where KILL_SCHEDULER names its process)."""
    scheduler = os.environ.get("KILL_SCHEDULER")
    if scheduler:
        os.kill(int(scheduler), signal.SIGKILL)
        time.sleep(60)
    os._exit(1)


setattr(engine, os.environ.get("KILL_IN", "run_partition"), _dies)
'''
"""A worker's preload (distributed.worker.preload): the rules' tasks (or those KILL_IN
names: channel_precision) kill their worker, or the scheduler, once they run: after the
connection and the version check, mid-run."""


def _small_log(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "A,Receive refund request,2026-08-01T10:00:00Z\n"
                   "A,Execute payout,2026-08-02T10:00:00Z\n", encoding="utf-8")
    return log


def _console(args: list[str], env: dict[str, str]) -> Any:
    """The console script (its stderr whole: distributed's logging too)."""
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "audit.cli", *args], capture_output=True,
                          text=True, timeout=240, env={**os.environ, **env})


def test_a_worker_dying_mid_run_is_an_error_naming_the_engine(tmp_path: Path) -> None:
    """A worker of the LocalCluster `--engine dask` starts, dying while the rules' tasks run,
    was an internal error (distributed's FutureCancelledError, a traceback): an error
    naming --engine and what happened, exit code 2, no traceback, no report written."""
    preload = tmp_path / "killer.py"
    preload.write_text(KILLS_ITS_WORKER, encoding="utf-8")
    out = tmp_path / "new" / "out"  # (made by the run, and removed again)
    done = _console(["check", str(_small_log(tmp_path)), "--out", str(out), "--engine",
                     "dask"], {"DASK_DISTRIBUTED__WORKER__PRELOAD": json.dumps([str(preload)])})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    told = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(told) == 1, done.stderr
    assert told[0].startswith("error: field '--engine': 1 worker left the cluster (tcp://")
    assert told[0].endswith("while the tasks ran on the LocalCluster this run started: the "
                            "run stopped, nothing was written; a worker process of this "
                            "machine ended (killed for its memory, say)"), told
    assert not (tmp_path / "new").exists()


@contextlib.contextmanager
def _a_cluster(preload: Path, worker_options: list[str], worker_env: Callable[[int], dict[str, str]]
               ) -> Iterator[str]:
    """A scheduler and one worker (with `preload`) in processes of their own: the address."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **quiet)  # type: ignore[call-overload]
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                               "--nthreads", "1", "--no-dashboard", "--preload", str(preload),
                               *worker_options],
                              env={**os.environ, **worker_env(scheduler.pid)},
                              **quiet)  # type: ignore[call-overload]
    try:
        yield address
    finally:
        for process in (worker, scheduler):
            process.kill()
            process.wait()


def test_the_scheduler_gone_mid_run_is_an_error_naming_the_scheduler(tmp_path: Path) -> None:
    """The scheduler of --scheduler gone while the rules' tasks run was an internal error
    (FutureCancelledError, "scheduler-connection-lost"), with distributed's logged
    tracebacks of its reconnection: an error naming --scheduler, exit code 2, nothing
    else on stderr, no report written."""
    preload = tmp_path / "killer.py"
    preload.write_text(KILLS_ITS_WORKER, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    with _a_cluster(preload, [], lambda pid: {"KILL_SCHEDULER": str(pid)}) as address:
        done = _console(["check", str(_small_log(tmp_path)), "--out", str(out), "--engine",
                         "dask", "--scheduler", address], {})
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"error: field '--scheduler': the connection to the Dask "
                           f"scheduler at {address} was lost while the tasks ran (the "
                           "scheduler stopped, or the network failed): the run stopped, "
                           "nothing was written\n"), done.stderr
    assert list(out.iterdir()) == []


class _Running:
    """A client connected to its scheduler (what `cluster_failures` asks of one)."""

    status = "running"

    def scheduler_info(self, n_workers: int = 0) -> dict[str, Any]:
        return {"workers": {"tcp://127.0.0.1:2": {}}}


def test_a_task_killing_every_worker_tried_is_an_error_naming_the_scheduler() -> None:
    """KilledWorker (a task whose every worker died running it) is told as such, naming
    --scheduler; a task's own error (here an OSError, the client connected) stays what it
    is: an internal error, with its traceback."""
    from types import SimpleNamespace

    from distributed import KilledWorker

    from audit.engines.dask_engine import cluster_failures
    from audit.errors import InputError

    spec = EngineSpec("dask", scheduler="tcp://10.0.0.5:8786")
    with pytest.raises(InputError) as told, cluster_failures(_Running(), spec):
        last: Any = SimpleNamespace(address="tcp://10.0.0.7:1")  # (a WorkerState's address)
        raise KilledWorker("run_partition-1", last, 3)
    assert str(told.value) == (
        "field '--scheduler': a worker of the Dask scheduler at tcp://10.0.0.5:8786 died "
        "while running the task run_partition-1 (on 4 workers in turn, the last "
        "tcp://10.0.0.7:1): the run stopped, nothing was written; the workers' logs say why "
        "(a worker killed for its memory, say)")
    with pytest.raises(OSError, match="disk full"), cluster_failures(_Running(), spec):
        raise OSError("disk full")


def test_the_last_worker_gone_mid_run_is_an_error_in_bounded_time(tmp_path: Path) -> None:
    """The only worker of a cluster of workers without a nanny (`dask worker --no-nanny`)
    gone while a task that holds no partition ran (the precision of a channel) held
    `check` for ever, without a word: its task waited for a worker. After the connect
    timeout without a worker, an error naming --scheduler, exit code 2."""
    preload = tmp_path / "killer.py"
    preload.write_text(KILLS_ITS_WORKER, encoding="utf-8")
    write_sample(SampleSpec("all", 30, 3, 0.5), tmp_path / "small")
    out = tmp_path / "new"
    with _a_cluster(preload, ["--no-nanny"],
                    lambda pid: {"KILL_IN": "channel_precision"}) as address:
        done = _console(["check", str(tmp_path / "small" / "canonical.csv"), "--out", str(out),
                         "--engine", "dask", "--scheduler", address],
                        {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"})
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"error: field '--scheduler': the Dask scheduler at {address} had "
                           "no worker for 3 s while the tasks ran "
                           "(distributed.comm.timeouts.connect): the run stopped, nothing was "
                           "written; the workers' logs say why (a worker killed for its "
                           "memory, say)\n"), done.stderr
    assert not out.exists()


def test_instalments_and_repeats_alike_on_both_engines(cluster: Any) -> None:
    """duplicate-refund's instalments (a case's repeats within what it was owed) and the
    other cases' payouts they repeat, counted once, are judged on a partition as on the
    whole log: the same findings and fingerprints, the instalment cases clean, the repeats
    beyond what was owed and across cases found, instalments beyond the charge found by
    refund-exceeds-charge."""
    from dataclasses import replace as replaced

    from audit.policy import load_policy
    from tests.rules.logbuilder import build_log

    policy = replaced(load_policy(default_policy_path()), sop={})

    def case(owed: float, *paid: float, charged: float = 100, charge: str | None = None,
             day: str = "01") -> dict[str, Any]:
        return {"charged": charged, "amount": owed,
                **({"charge": charge} if charge else {}), "events": [
                    {"a": "Capture payment", "t": "2026-06-20T09:00Z"},
                    {"a": "Receive refund request", "t": f"2026-07-{day}T09:00Z"},
                    {"a": "Collect evidence"}, {"a": "Approve refund"},
                    *({"a": "Execute payout", "amount": a} for a in paid)]}

    def timed(charge: str, owed: float, *paid: tuple[str, float],
              requests: tuple[float, ...] = ()) -> dict[str, Any]:
        asked = [{"a": "Receive refund request", "amount": a} for a in requests] or [
            {"a": "Receive refund request", "t": "2026-07-01T07:00Z"}]
        return {"charge": charge, "charged": 100, "amount": owed, "events": [
            {"a": "Capture payment", "t": "2026-06-20T09:00Z"}, *asked,
            {"a": "Collect evidence"},
            {"a": "Approve refund", **({"amount": None} if requests else {})},
            *({"a": "Execute payout", "amount": a, "t": f"2026-07-{d}T08:00Z"}
              for d, a in paid)]}

    log = build_log({
        "HALF": case(50, 25, 25), "FULL": case(100, 50, 50), "PAST": case(50, 25, 25, 25),
        "OVER": case(120, 60, 60), "A": case(50, 50, charge="ch_x", day="01"),
        "B": case(100, 50, 50, charge="ch_x", day="05"),
        "TB": timed("ch_t", 100, ("02", 50), ("04", 50)),
        "TA": timed("ch_t", 100, ("03", 50), ("05", 50)),
        "PC": timed("ch_p", 40, ("02", 40)), "PA": timed("ch_p", 100, ("03", 60), ("04", 60)),
        "RQ": timed("ch_r", 50, ("02", 50), ("03", 50), requests=(50, 50))}, policy)
    local = _alike_on_both_engines(log, policy, cluster)
    # (OVER's instalments pass the charge: refund-exceeds-charge for the 20.00 beyond it,
    # before a duplicate-refund of 60.00; B's second instalment repeats A's payout that
    # B's first already repeated: 50.00 at risk, before 100.00. TB and TA paying in turn,
    # 100 beyond the charge: TA 100.00, before 50.00; PA's repeat, 20.00 beyond what it
    # was owed, at risk for its 60.00 beyond the charge, before 20.00; RQ's request sent
    # twice, approved with no amount, paid twice: 50.00, before no duplicate-refund.)
    assert {(f.rule, f.case_id, f.amount_at_risk) for f in local.findings
            if f.rule in ("DU001", "EV005")} == {
        ("DU001", "PAST", 25.0), ("EV005", "OVER", 20.0), ("DU001", "B", 50.0),
        ("DU001", "TA", 100.0), ("DU001", "PA", 60.0), ("DU001", "RQ", 50.0)}


def test_a_payout_naming_no_charge_is_of_its_cases_charge_on_both_engines(
        cluster: Any) -> None:
    """Two renewals of one subscription refunded in two cases, the later payout naming no
    charge id (its case names the August renewal only): duplicate-refund links it to its
    case's renewal, not to the July one by the subscription's order, and refund-exceeds-
    charge adds it to that renewal, on a partition as on the whole log."""
    from dataclasses import replace as replaced

    from audit.policy import load_policy
    from tests.rules.logbuilder import build_log

    policy = replaced(load_policy(default_policy_path()), sop={})

    def case(charge: str, month: str, paid: float, payout_charge: str | None = None
             ) -> dict[str, Any]:
        return {"channel": "subscription", "charge": charge, "order": "SUB-7",
                "charged": 19.99, "amount": paid, "events": [
                    {"a": "Charge subscription renewal", "t": f"2026-{month}-05T08:00Z"},
                    {"a": "Receive refund request", "t": f"2026-{month}-06T09:00Z"},
                    {"a": "Approve refund"},
                    {"a": "Execute payout", "charge": payout_charge}]}

    log = build_log({"JULY": case("ch_7a", "07", 19.99, "ch_7a"),
                     "AUGUST": case("ch_7b", "08", 29.99)}, policy)
    local = _alike_on_both_engines(log, policy, cluster)
    assert {(f.rule, f.case_id, f.amount_at_risk) for f in local.findings
            if f.rule in ("DU001", "EV005")} == {("EV005", "AUGUST", 10.0)}


def test_a_case_whose_order_item_names_another_case_s_order_is_cut_with_it(
        cluster: Any) -> None:
    """missing-evidence judges an `evidence:order` naming an order of another case (no
    evidence of this refund): the two cases are in one partition, so a worker knows that
    order as the whole log does, and the findings are the local engine's (before, they
    were cut apart and the worker, not knowing the order, took the item for a document
    and found nothing)."""
    from dataclasses import replace as replaced

    from audit.policy import load_policy
    from tests.rules.logbuilder import build_log

    policy = replaced(load_policy(default_policy_path()), sop={})
    events = [{"a": "Capture payment"}, {"a": "Receive refund request"},
              {"a": "Collect evidence"}, {"a": "Approve refund"}, {"a": "Execute payout"}]
    named = [*events[:2], {"a": "Collect evidence", "ev": {"order": "O-B"}}, *events[3:]]
    log = build_log({"A": named, "B": events, "C": events, "D": events}, policy)
    parts = partition_log(log, 4)
    assert len(parts) == 3
    (together,) = [p for p in parts if "A" in set(p[C.CASE].astype(str))]
    assert set(together[C.CASE].astype(str)) == {"A", "B"}
    local = _alike_on_both_engines(log, policy, cluster)
    assert [(f.case_id, f.evidence.get("contradicted")) for f in local.findings
            if f.rule == "EV001"] == [("A", ["order"])]


def test_order_items_naming_no_known_order_link_no_cases() -> None:
    """Only an `evidence:order` naming an order the log knows (an `order:id` of an event not
    holding such an item, as missing-evidence judges) links two cases: a placeholder or a
    document name shared by many cases links none of them. Before, the raw value was
    joined, and these 2,000 cases of their own orders, whose items read "n/a", "-" or
    "order.pdf", fell into 5 components (5 partitions where 8 were asked)."""
    from audit.engines.dask_engine import case_components

    n = 2000
    fillers = ("n/a", "-", "order.pdf")
    rows = [{C.CASE: f"c{i:04d}", C.ORDER_ID: f"O-{i}", "evidence:order": fillers[i % 3]}
            for i in range(n)]
    # c0001's item names c0002's order, which c0002's event (holding no item) states: linked;
    # c0005's item names O-X, stated only by c0004's event holding an item (it may be
    # copied from that item): not linked.
    rows[1]["evidence:order"] = "O-2"
    rows[2]["evidence:order"] = None
    rows[4].update({"evidence:order": "O-X", C.ORDER_ID: "O-X"})
    rows[5]["evidence:order"] = "O-X"
    log = pd.DataFrame(rows)
    component = case_components(log)
    assert len(set(component.values())) == n - 1
    assert component["c0002"] == "c0001"
    assert component["c0004"] == "c0004" and component["c0005"] == "c0005"
    parts = partition_log(log, 8)
    assert len(parts) == 8
    assert [len(p) for p in parts] == [250] * 8


def test_cases_sharing_a_receipt_are_cut_together_on_both_engines(cluster: Any) -> None:
    """receipt-reused compares the receipts of every case: two cases of their own charges
    and orders holding one receipt (written `R-000123` and `r - 123`) are in one partition,
    so a worker finds the later one as the whole log does (without the receipt's link the
    two fell into two partitions and neither worker saw the reuse); so are a case paid and
    one approved on its receipt and not paid, found at its approval."""
    from dataclasses import replace as replaced

    from audit.policy import load_policy
    from tests.rules.logbuilder import build_log

    policy = replaced(load_policy(default_policy_path()), sop={})

    def events(receipt: str, day: int) -> dict[str, Any]:
        return {"channel": "offline", "events": [
            {"a": "Receive refund request", "t": f"2026-07-0{day}T09:00Z"},
            {"a": "Collect evidence", "ev": {"receipt": receipt}},
            {"a": "Approve refund"}, {"a": "Execute payout"}]}

    approved = events("R-0008", 5)
    approved["events"] = approved["events"][:-1]  # (no payout)
    log = build_log({"A": events("R-000123", 1), "B": events("R-7", 2),
                     "C": events("R-8", 3), "D": events("r - 123", 4), "E": approved},
                    policy)
    parts = partition_log(log, 4)
    assert len(parts) == 3
    (together,) = [p for p in parts if "A" in set(p[C.CASE].astype(str))]
    assert set(together[C.CASE].astype(str)) == {"A", "D"}
    (together,) = [p for p in parts if "E" in set(p[C.CASE].astype(str))]
    assert set(together[C.CASE].astype(str)) == {"C", "E"}
    local = _alike_on_both_engines(log, policy, cluster)
    assert [(f.case_id, f.evidence["earlier_cases"], f.evidence["approved_not_paid"])
            for f in local.findings if f.rule == "DU002"] == [("D", ["A"], False),
                                                              ("E", ["C"], True)]


def test_receipts_naming_no_receipt_link_no_cases() -> None:
    """Only a receipt as receipt-reused compares it links two cases: a placeholder or a
    value holding no digit (`n/a`, `-`, `receipt.jpg`) shared by many cases links none of
    them, and receipts alike once normalised (`R-007`, ` r-7 `) link theirs; `R-70` is
    another receipt."""
    from audit.engines.dask_engine import case_components

    n = 600
    fillers = ("n/a", "-", "receipt.jpg")
    rows = [{C.CASE: f"c{i:04d}", C.ORDER_ID: f"O-{i}", "evidence:receipt": fillers[i % 3]}
            for i in range(n)]
    rows[1]["evidence:receipt"] = "R-007"
    rows[2]["evidence:receipt"] = " r-7 "
    rows[3]["evidence:receipt"] = "R-70"
    component = case_components(pd.DataFrame(rows))
    assert len(set(component.values())) == n - 1
    assert component["c0002"] == "c0001" and component["c0003"] == "c0003"


def test_events_at_one_time_of_derived_ids_are_taken_alike_on_both_engines(
        sample: Path, cluster: Any, tmp_path: Path) -> None:
    """The generated log without its event ids (derived on import, hashes) and its times cut
    to the hour (many events of a case at one time): both engines take those events in the
    order their source lists them (source:file, source:row), so the same findings and
    alignments."""
    frame = pd.read_csv(sample / "canonical.csv", dtype=str, keep_default_na=False)
    frame = frame.drop(columns=[C.EVENT_ID])
    times = pd.to_datetime(frame[C.TIMESTAMP], utc=True, format="ISO8601")
    frame[C.TIMESTAMP] = times.dt.floor("h").map(lambda t: t.isoformat())
    tied = tmp_path / "tied.csv"
    frame.to_csv(tied, index=False)
    log = import_sources([(tied, None)]).log
    assert bool(C.derived_ids(log[C.EVENT_ID]).all())
    assert C.ties_in_file_order(log, None, every_run=True) is not None  # (ties to order)
    local = run_check([tied], default_policy_path())
    spec = EngineSpec("dask", scheduler=cluster.scheduler_address, partitions=5)
    remote = run_check([tied], default_policy_path(), engine=spec)
    assert [f.as_dict() for f in remote.result.findings] == [
        f.as_dict() for f in local.result.findings]
    assert len(local.result.findings) > 0
    ours = remote.result.extra["conformance_result"].cases
    theirs = local.result.extra["conformance_result"].cases
    assert list(ours.items()) == list(theirs.items())
    # Taken in the file's order, not the ids': where the two orders give a case another
    # sequence of SOP tasks, its variant is the file's (on both engines, the same).
    tasks = local.policy.sop_tasks()
    mapped = log[log[C.ACTIVITY].isin(list(tasks))]
    by_file = mapped.sort_values([C.CASE, C.TIMESTAMP, C.SOURCE_FILE, C.SOURCE_ROW],
                                 kind="stable")
    by_id = mapped.sort_values([C.CASE, C.TIMESTAMP, C.EVENT_ID], kind="stable")
    sequences = [order.groupby(C.CASE, sort=True, observed=True)[C.ACTIVITY].agg(
        lambda labels: tuple(str(tasks[str(label)]) for label in labels))
        for order in (by_file, by_id)]
    differ = [case for case in sequences[0].index
              if sequences[0][case] != sequences[1][case] and case in theirs]
    assert len(differ) >= 5, len(differ)
    for case in differ:
        assert theirs[case].variant == sequences[0][case], case


def test_the_refund_window_is_judged_alike_on_both_engines(sample: Path, cluster: Any,
                                                           tmp_path: Path) -> None:
    """outside-refund-window with a window per channel: the same findings, the same cases it
    could not measure (every fifth case's purchases taken out) and the same warning on both
    engines."""
    frame = pd.read_csv(sample / "canonical.csv", dtype=str, keep_default_na=False)
    cases = sorted(frame[C.CASE].unique())[::5]
    bought = frame[C.ACTIVITY].isin(("Capture payment", "Charge subscription renewal",
                                     "Record store sale"))
    frame = frame[~(frame[C.CASE].isin(cases) & bought)]
    log = tmp_path / "log.csv"
    frame.to_csv(log, index=False)
    text = default_policy_path().read_text(encoding="utf-8").replace(
        "waivers: []\n", "waivers: []\nrefund_window:\n  within: {ecommerce: 20d, "
        "subscription: 14d, offline: 20d}\n  exception_approvers: [finance]\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(text, encoding="utf-8")
    local = run_check([log], policy)
    spec = EngineSpec("dask", scheduler=cluster.scheduler_address, partitions=6)
    remote = run_check([log], policy, engine=spec)
    found = [f.as_dict() for f in local.result.findings if f.rule == "EV008"]
    assert len(found) > 10
    assert [f.as_dict() for f in remote.result.findings] == [
        f.as_dict() for f in local.result.findings]
    unmeasured = local.unjudged_case_ids()["EV008"]["no_purchase_before_request"]
    # (those whose purchases were taken out, and the sample's own refunds of no purchase)
    assert len(set(unmeasured) & set(cases)) > 10
    assert remote.unjudged_case_ids() == local.unjudged_case_ids()
    told = [w for w in local.warnings() if w.startswith("outside-refund-window")]
    assert len(told) == 1
    assert told == [w for w in remote.warnings() if w.startswith("outside-refund-window")]


def test_a_generic_receipt_links_no_cases_and_is_judged_alike_on_both_engines(
        cluster: Any) -> None:
    """A receipt held by more cases than the policy's `receipt_max_cases` (a phone's
    `IMG_0001.jpg` in 12 cases, the default 10) is generic: it links none of its cases (before,
    they were all put in one partition, the whole log on one worker where every case holds
    it), the Dask engine tells each partition so that none compares the few of its cases it
    holds, and both engines list its cases as not judged. Where receipt-reused does not run
    (the policy ignores it), receipts link no cases at all."""
    from dataclasses import replace as replaced

    from audit.engines.dask_engine import case_components, generic_receipts, run_rules_dask
    from audit.policy import load_policy
    from audit.rules import default_rules
    from audit.rules.engine import run_rules
    from tests.rules.logbuilder import build_log

    policy = replaced(load_policy(default_policy_path()), sop={})

    def events(receipt: str, day: int) -> dict[str, Any]:
        return {"channel": "offline", "events": [
            {"a": "Receive refund request", "t": f"2026-07-{day:02d}T09:00Z"},
            {"a": "Collect evidence", "ev": {"receipt": receipt}},
            {"a": "Approve refund"}, {"a": "Execute payout"}]}

    spec = {f"G{i:02d}": events("IMG_0001.jpg" if i % 2 else "img_0001.JPG", i + 1)
            for i in range(12)}
    spec.update({"A": events("R-5", 20), "B": events("R-005", 21)})
    log = build_log(spec, policy)
    generic = generic_receipts(log["evidence:receipt"].array, log[C.CASE].array, 10)
    assert generic == frozenset({"img_1.jpg"})
    assert len(set(case_components(log).values())) == 2
    assert len(set(case_components(log, generic=generic).values())) == 13
    assert len(set(case_components(log, receipts=False).values())) == 14
    assert len(partition_log(log, 8, generic=generic)) == 8
    as_of = datetime(2026, 10, 15, tzinfo=UTC)
    ruleset = default_rules()
    local = run_rules(log, policy, ruleset, as_of=as_of)
    remote, engine = run_rules_dask(log, policy, ruleset, as_of=as_of, spec=EngineSpec(
        "dask", scheduler=cluster.scheduler_address, partitions=4))
    assert engine["partitions"] == 4
    assert [f.as_dict() for f in remote.findings] == [f.as_dict() for f in local.findings]
    assert [(f.case_id, f.rule) for f in local.findings if f.rule == "DU002"] == [
        ("B", "DU002")]
    told = {"receipt_generic": sorted(spec)[2:]}
    assert local.extra["unjudged_cases"]["DU002"] == told
    assert remote.extra["unjudged_cases"]["DU002"] == told
