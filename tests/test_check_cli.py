"""`refund-audit check`, `rules`, `explain`, `policy`: exit codes, reports, safety, docs."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit.cli import main
from audit.rules import default_rules
from audit.rules.docs import render_all
from audit.sample import SampleSpec, write_sample

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, code: int) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(SampleSpec(channel="all", cases=300, seed=9, violation_rate=0.3), out)
    return out / "canonical.csv"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    write_sample(SampleSpec(channel="all", cases=120, seed=2, violation_rate=0.0), out)
    return out / "canonical.csv"


def test_check_exit_codes(sample: Path, clean: Path, tmp_path: Path) -> None:
    run("check", str(sample), "--out", str(tmp_path / "a"), code=1)
    run("check", str(sample), "--out", str(tmp_path / "b"), "--fail-on", "never", code=0)
    run("check", str(clean), "--out", str(tmp_path / "c"), "--fail-on", "info", code=0)
    run("check", str(sample), "--out", str(tmp_path / "d"), "--format", "pdf", code=2)


def test_control_characters_in_input_text_are_reported_not_a_crash(
        clean: Path, tmp_path: Path) -> None:
    """A control character in an activity, a person and an evidence value (XML cannot hold
    one): before, drawing the graphs failed with a traceback and exit code 1, which reads as
    "findings" (report.html, the graphs and quarantine.csv not written). Now every report is
    written, the graphs with U+FFFD in its place, the findings with the text as read. A
    model cannot name such an activity (two labels differing there would become one task):
    discover refuses it, naming the label, and its DFG alone is written."""
    from lxml import etree

    frame = pd.read_csv(clean, dtype=str, keep_default_na=False)
    first = frame["case:concept:name"].iloc[0]
    case = frame["case:concept:name"] == first
    frame.loc[case & frame["concept:name"].eq(frame["concept:name"].iloc[0]),
              "concept:name"] += "\x01"
    frame.loc[case, "org:resource"] = frame.loc[case, "org:resource"] + "\x02"
    evidence = next(c for c in frame.columns
                    if c.startswith("evidence:") and frame[c].ne("").any())
    frame.loc[frame[evidence].ne(""), evidence] += "\x00"
    hostile = tmp_path / "control.csv"
    frame.to_csv(hostile, index=False)
    out = tmp_path / "out"
    run("check", str(hostile), "--out", str(out), "--fail-on", "never", code=0)
    for name in ("report.html", "dfg.svg", "quarantine.csv", "findings.json"):
        assert (out / name).is_file(), name
    assert "\ufffd" in (out / "dfg.svg").read_text(encoding="utf-8")
    etree.fromstring((out / "dfg.svg").read_bytes())
    # The HTML shows them (before: a raw U+0002, which no HTML document may hold).
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "[U+0002]" in page and not {"\x00", "\x01", "\x02"} & set(page)
    refused = run("discover", str(hostile), "--out", str(tmp_path / "model"), code=2)
    assert "holds a character a BPMN model (XML) cannot hold" in refused.output
    run("discover", str(hostile), "--miner", "dfg", "--out", str(tmp_path / "dfg"), code=0)
    etree.fromstring((tmp_path / "dfg" / "discovery-dfg.svg").read_bytes())


def test_an_escape_sequence_in_the_input_does_not_reach_the_terminal(tmp_path: Path) -> None:
    """A header (quoted in the error line) or a file name (in the summary's "wrote" and
    count lines) with an ESC sequence was echoed as it was: the input set the terminal's
    title, or ran any other sequence. It is shown as [U+001B]."""
    hostile = tmp_path / "log.csv"
    hostile.write_text("\x1b]0;PWNED\x07,b\nx,y\n", encoding="utf-8")
    result = run("check", str(hostile), "--out", str(tmp_path / "out"), code=2)
    assert "[U+001B]]0;PWNED[U+0007]" in result.output and "\x1b" not in result.output
    named = tmp_path / "log\x1b[2J.csv"
    named.write_text("case:concept:name,concept:name,time:timestamp\n"
                     "c1,Receive refund request,2026-01-01T10:00:00Z\n", encoding="utf-8")
    result = run("import", str(named), "--out", str(tmp_path / "log.parquet"), code=0)
    assert "log[U+001B][2J.csv" in result.output and "\x1b" not in result.output
    # A carriage return would write over the start of its own line.
    named = named.rename(tmp_path / "log\rFAKE.csv")
    result = run("import", str(named), "--out", str(tmp_path / "log.parquet"), code=0)
    assert "log[U+000D]FAKE.csv" in result.output and "\r" not in result.output


def test_a_file_name_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    """A log or policy named with a byte that is no UTF-8 gave a traceback: from the Arrow
    writer building `source:file`, or from the JSON writer after the whole run (leaving an
    empty findings.json). It is an input error naming the file with the byte escaped."""
    import os

    raw = os.fsencode(tmp_path) + b"/bad\xffname.csv"
    with open(raw, "w", encoding="utf-8") as handle:
        handle.write("case:concept:name,concept:name,time:timestamp\n"
                     "c1,Receive refund request,2026-01-01T10:00:00Z\n")
    named = Path(os.fsdecode(raw))
    result = run("check", str(named), "--out", str(tmp_path / "out"), code=2)
    assert "bad\\xffname.csv: the file name is not UTF-8 text; rename the file" in result.output
    assert not (tmp_path / "out" / "findings.json").exists()
    result = run("import", "--source", f"zendesk:{named}", "--out",
                 str(tmp_path / "log.parquet"), code=2)
    assert "the file name is not UTF-8 text" in result.output


def test_an_activity_logged_as_start_and_complete_is_judged_once(tmp_path: Path) -> None:
    """A payout logged as `start` then `complete` (as XES logs often are) was two payouts:
    "paid 200.00 EUR against an approved 100.00" (AP005) and a duplicate refund (DU001).
    Only completions are judged now; the starts are counted and told."""
    log = tmp_path / "lifecycle.csv"
    rows = [("Capture payment", "09:00", "complete", "Ben"),
            ("Receive refund request", "10:00", "complete", "Ben"),
            ("Collect evidence", "10:30", "complete", "Ben"),
            ("Approve refund", "11:00", "start", "Nadia"),
            ("Approve refund", "11:05", "complete", "Nadia"),
            ("Execute payout", "12:00", "start", "Victor"),
            ("Execute payout", "12:05", "COMPLETE", "Victor")]
    log.write_text(
        "case:concept:name,concept:name,time:timestamp,lifecycle:transition,org:resource,"
        "org:role,refund:amount,refund:currency,refund:channel,payment:charge_id\n"
        + "".join(f"C1,{a},2026-07-01T{t}:00Z,{lc},{r},supervisor,100,EUR,ecommerce,ch_1\n"
                  for a, t, lc, r in rows), encoding="utf-8")
    out = tmp_path / "out"
    result = run("check", str(log), "--out", str(out), "--format", "json",
                 "--fail-on", "never", code=0)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    rules = {f["rule"] for f in document["findings"]}
    assert not {"AP005", "DU001", "CF004"} & rules, rules
    assert document["summary"]["events"] == 5
    warning = ("2 events whose lifecycle:transition is not complete (start 2) were not "
               "judged: an activity's completion stands for it (a payout logged as start "
               "and complete is one payout)")
    assert warning in document["manifest"]["warnings"]
    assert f"warning: {warning}" in result.output
    # The first line adds up: 5 of the log's 7 events judged, the 2 starts named.
    assert result.output.startswith(
        "audited 1 case, 5 of the log's 7 events (2 whose lifecycle:transition is not "
        "complete: not judged) (read 7 = imported 7 + quarantined 0)")


def test_manifest_digests_are_of_the_inputs_as_read(sample: Path, tmp_path: Path) -> None:
    """Each input's SHA-256 in the manifest is of its bytes as the import read them (taken
    by the reader, in a worker process for large inputs), also when the file changes after
    the import; the role history, which is no event file, is hashed by the manifest."""
    import hashlib
    import shutil

    from audit.checkrun import run_check_log
    from audit.policy import default_policy_path
    from audit.sources.pipeline import import_and_correlate

    exports = sample.parent / "exports"
    copies = tmp_path / "exports"
    shutil.copytree(exports, copies)
    files = sorted(copies.iterdir())
    assert any(f.name == "role_history.csv" for f in files)
    before = {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    imported = import_and_correlate([(f, None) for f in files])
    assert imported.digests == {k: v for k, v in before.items()
                                if not k.endswith("role_history.csv")}
    zendesk = next(f for f in files if f.name.startswith("zendesk"))
    zendesk.write_bytes(zendesk.read_bytes() + b"\n")  # changed after it was audited
    run_ = run_check_log(imported, files, default_policy_path())
    assert {i["file"]: i["sha256"] for i in run_.manifest()["inputs"]} == before


def test_findings_json_holds_manifest_summary_findings(sample: Path, tmp_path: Path) -> None:
    run("check", str(sample), "--out", str(tmp_path), "--fail-on", "never", code=0)
    document = json.loads((tmp_path / "findings.json").read_text())
    assert list(document) == ["manifest", "summary", "findings", "suppressed", "errors",
                              "judged_cases", "not_due_cases", "unjudged_cases", "running_cases"]
    assert len(document["suppressed"]) == document["summary"]["suppressed_by_precedence"]
    manifest, summary = document["manifest"], document["summary"]
    assert manifest["inputs"][0]["read"] == summary["read"] == len(pd.read_csv(sample))
    assert len(manifest["inputs"][0]["sha256"]) == 64 and len(manifest["policy"]["sha256"]) == 64
    assert manifest["as_of"].startswith("2026-10-15")
    assert summary["findings"] == len(document["findings"])
    assert sum(summary["by_severity"].values()) == summary["findings"]
    assert sum(r["findings"] for r in summary["by_rule"].values()) == summary["findings"]
    fields = {"rule", "name", "severity", "case_id", "event_ids", "activities", "resources",
              "timestamp", "message", "evidence", "amount_at_risk", "waived", "fingerprint"}
    assert all(fields <= set(f) for f in document["findings"])
    with (tmp_path / "findings.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["findings"]


def test_formula_and_script_cells_are_inert_in_csv(tmp_path: Path) -> None:
    log = tmp_path / "hostile.csv"
    log.write_text(
        "case,activity,timestamp,resource,role,amount,currency,channel\n"
        "C1,Receive refund request,2026-07-01T09:00:00Z,=HYPERLINK(\"http://x\"),"
        "customer-service,10,EUR,ecommerce\n"
        "C1,<script>alert(1)</script>,2026-07-01T10:00:00Z,@SUM(A1),customer-service,,,"
        "ecommerce\n", encoding="utf-8")
    run("check", str(log), "--out", str(tmp_path / "out"), "--fail-on", "never", code=0)
    text = (tmp_path / "out" / "findings.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    cells = [v for row in rows for v in row.values()]
    assert not [v for v in cells if v[:1] in ("=", "+", "-", "@")], cells
    assert any("'=HYPERLINK" in v or "'@SUM" in v for v in cells)


def test_bad_policy_is_exit_2_naming_the_line(sample: Path, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nactivities:\n  A: {control: approve}\nthreshold: 5\n",
                      encoding="utf-8")
    result = run("check", str(sample), "--policy", str(policy), "--out", str(tmp_path / "o"),
                 code=2)
    assert "p.yaml: line 4: field 'threshold': unknown key 'threshold'" in result.output


def test_rules_explain_and_policy_commands(tmp_path: Path) -> None:
    table = run("rules", code=0).output
    assert all(r.code in table for r in default_rules())
    records = json.loads(run("rules", "--format", "json", code=0).output)
    assert len(records) == len(default_rules())
    assert "## Why it matters" in run("explain", "SD001", code=0).output
    assert "self-approval" in run("explain", "self-approval", code=0).output
    assert "no rule 'nope'" in run("explain", "nope", code=2).output
    target = tmp_path / "policy.yaml"
    run("policy", "init", str(target), code=0)
    assert "ok" in run("policy", "check", str(target), code=0).output
    run("policy", "init", str(target), code=2)
    # A policy of one's own uses the time of the run: the bundled clock (the sample's) is
    # written commented out (before: copied, so a real audit ran as of 2026-10-15).
    from audit.policy import load_policy

    assert load_policy(target).as_of is None
    assert "# as_of: 2026-10-15T00:00:00Z" in target.read_text(encoding="utf-8")


def test_a_log_past_the_audits_clock_is_warned_of(tmp_path: Path) -> None:
    """The bundled policy's clock (2026-10-15) on a log that goes on to November: the
    events after the clock are not judged (the audit judges the log as it stood at the
    clock; before, they were judged and the warning said the rules judged as of the clock).
    The run warns on the console, in the manifest and in the report; a later --as-of judges
    them, without a warning."""
    log = tmp_path / "late.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp,org:resource,org:role,"
                   "refund:channel\n"
                   "L1,Receive refund request,2026-10-10T09:00:00Z,Ann,Customer service,"
                   "ecommerce\n"
                   "L1,Approve refund,2026-10-30T09:00:00Z,Bob,Supervisor,ecommerce\n"
                   "L1,Close ticket,2026-11-02T09:00:00Z,Ann,Customer service,ecommerce\n",
                   encoding="utf-8")
    result = run("check", str(log), "--out", str(tmp_path / "out"), "--fail-on", "never",
                 code=0)
    warning = ("2 events dated after the audit's clock (2026-10-15T00:00:00+00:00; the last "
               "2026-11-02T09:00:00+00:00) were not judged: the audit judges the log as it "
               "stood at the clock; pass a later --as-of to judge them")
    assert f"warning: {warning}" in " ".join(result.output.split())
    # The first line says itself how many events the clock left out (before: "audited 1
    # case, 1 event (read 3 = imported 3 ...", the 2 others told only by the warning).
    assert result.output.startswith("audited 1 case, 1 of the log's 3 events (2 dated after "
                                    "the clock: not judged) (read 3 = imported 3 ")
    document = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert document["manifest"]["warnings"][0] == warning
    assert document["summary"]["events_after_clock"] == 2
    import html

    assert warning in " ".join(html.unescape((tmp_path / "out" / "report.html").read_text(
        encoding="utf-8")).split())
    result = run("check", str(log), "--out", str(tmp_path / "now"), "--as-of",
                 "2026-12-01T00:00:00Z", "--fail-on", "never", code=0)
    assert "warning" not in result.output
    assert result.output.startswith("audited 1 case, 3 events")


def test_the_first_line_adds_up_where_the_clock_leaves_events_out(tmp_path: Path) -> None:
    """The sample's exports checked as of 2026-10-01: 2185 records made 2196 events (a
    charge refunded in several cases is an event in each), of which 35 are after the clock.
    Before, "audited 300 cases, 2161 events (read 2185 = imported 2185 + quarantined 0)":
    2185 - 2161 is not the 35 the warning told. Now the line names the log's events, the
    ones after the clock, and the events the records made, and they add up; the cases of
    the log all of whose events are after the clock are told too."""
    exports = sorted(str(p) for p in (REPO / "sample_logs" / "refund-sample" / "exports")
                     .iterdir())
    result = run("check", *exports, "--as-of", "2026-10-01T00:00:00Z", "--out",
                 str(tmp_path / "out"), "--fail-on", "never", code=0)
    first = result.output.splitlines()[0]
    summary = json.loads((tmp_path / "out" / "findings.json").read_text(
        encoding="utf-8"))["summary"]
    after = summary["events_after_clock"]
    assert after > 0
    log_events = summary["events"] + after
    assert first == (
        f"audited 300 cases, {summary['events']:,} of the log's {log_events:,} events "
        f"({after} dated after the clock: not judged) (read {summary['read']:,} = imported "
        f"{summary['imported']:,} + quarantined 0; {summary['imported']:,} records imported "
        f"-> {log_events:,} events)")
    assert (summary["events"], after, summary["read"], log_events) == (2161, 35, 2185, 2196)
    # An earlier clock leaves whole cases out: "296 of the log's 300 cases".
    result = run("check", *exports, "--as-of", "2026-09-20T00:00:00Z", "--out",
                 str(tmp_path / "early"), "--fail-on", "never", code=0)
    summary = json.loads((tmp_path / "early" / "findings.json").read_text(
        encoding="utf-8"))["summary"]
    assert result.output.startswith(
        f"audited {summary['cases']} of the log's 300 cases, {summary['events']:,} of the "
        f"log's 2,196 events ({summary['events_after_clock']} dated after the clock: not "
        "judged) (read 2,185 = ")
    assert summary["cases"] < 300
    assert summary["events"] + summary["events_after_clock"] == 2196


def test_the_first_line_adds_up_where_nothing_is_left_out(tmp_path: Path) -> None:
    """The sample's exports checked at the policy's clock (nothing after it, nothing not
    complete): 2,185 records made 2,196 events (a charge refunded in several cases is an
    event in each). Before, "audited 300 cases, 2196 events (read 2185 = imported 2185 +
    quarantined 0)": the note of the events the records made was added only where the
    clock or the lifecycle left events out, and 2185 records read as 2196 events did not
    add up. Now it is added wherever the counts differ, and counts carry thousands
    separators."""
    exports = sorted(str(p) for p in (REPO / "sample_logs" / "refund-sample" / "exports")
                     .iterdir())
    result = run("check", *exports, "--out", str(tmp_path / "out"), "--format", "json",
                 "--fail-on", "never", code=0)
    summary = json.loads((tmp_path / "out" / "findings.json").read_text(
        encoding="utf-8"))["summary"]
    assert (summary["events"], summary["read"], summary["imported"]) == (2196, 2185, 2185)
    assert not summary.get("events_after_clock")
    assert result.output.splitlines()[0] == (
        "audited 300 cases, 2,196 events (read 2,185 = imported 2,185 + quarantined 0; "
        "2,185 records imported -> 2,196 events)")


def test_a_policy_role_no_event_records_and_no_lane_holds_is_warned_of(
        tmp_path: Path) -> None:
    """`approve: [supervisr]` (a typo) was taken without a word: every supervisor's
    approval became an unauthorized-approver finding (40 more in the demo)."""
    log = tmp_path / "roles.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp,org:resource,org:role,"
                   "refund:channel\n"
                   "R1,Receive refund request,2026-10-01T09:00:00Z,Ann,Customer service,"
                   "ecommerce\n"
                   "R1,Approve refund,2026-10-02T09:00:00Z,Bob,Supervisor,ecommerce\n",
                   encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    run("policy", "init", str(policy), code=0)
    text = policy.read_text(encoding="utf-8")
    right = "  approve: [supervisor, finance]\n"
    assert right in text
    policy.write_text(text.replace(right, "  approve: [supervisr, finance]\n"),
                      encoding="utf-8")
    result = run("check", str(log), "--policy", str(policy), "--out", str(tmp_path / "out"),
                 "--fail-on", "never", code=0)
    warning = ("the policy allows the role 'supervisr' (approvers.approve), which no event of "
               "the log records and no lane of the SOP holds, but is close to the role "
               "'Supervisor' there: a typo? unauthorized-approver allows no other role in its "
               "place, so events by the role meant are judged unauthorized")
    assert f"warning: {warning}" in " ".join(result.output.split())
    assert "'finance'" not in result.output  # a lane of the SOP holds it
    document = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert warning in document["manifest"]["warnings"]
    policy.write_text(text, encoding="utf-8")
    result = run("check", str(log), "--policy", str(policy), "--out", str(tmp_path / "ok"),
                 "--fail-on", "never", code=0)
    assert "the policy allows the role" not in result.output


def test_a_policy_role_spelt_like_no_recorded_one_is_not_called_a_typo(
        tmp_path: Path) -> None:
    """A role spelt right that simply has no events this period (and no lane) was warned of
    as "a typo?" too. Now only a role close to a recorded one is asked about as a typo; the
    other is told plainly. On the bundled sample, whose roles are customer-service, system,
    payments, supervisor and finance."""
    policy = tmp_path / "policy.yaml"
    run("policy", "init", str(policy), code=0)
    text = policy.read_text(encoding="utf-8")
    right = "  approve: [supervisor, finance]\n"
    assert right in text
    policy.write_text(text.replace(right, "  approve: [supervisor, finance, auditor, "
                                          "finanse]\n"), encoding="utf-8")
    sample = REPO / "sample_logs" / "refund-sample" / "canonical.csv"
    result = run("check", str(sample), "--policy", str(policy), "--out", str(tmp_path / "out"),
                 "--as-of", "2026-12-01T00:00:00Z", "--fail-on", "never", code=0)
    said = " ".join(result.output.split())
    plain = ("the policy allows the role 'auditor' (approvers.approve), which has no events "
             "in this log and no lane in the SOP: it authorises no one here")
    assert f"warning: {plain}" in said
    assert "'auditor' (approvers.approve), which no event" not in said  # (no "a typo?")
    typo = ("the policy allows the role 'finanse' (approvers.approve), which no event of the "
            "log records and no lane of the SOP holds, but is close to the role 'finance' "
            "there: a typo?")
    assert f"warning: {typo}" in said
    warnings = json.loads((tmp_path / "out" / "findings.json").read_text(
        encoding="utf-8"))["manifest"]["warnings"]
    assert plain in warnings and [w for w in warnings if w.startswith(typo)]


def test_a_policy_role_whose_events_are_all_after_the_clock_is_told_so(
        tmp_path: Path) -> None:
    """A role the policy allows, with no lane in the SOP, whose every event is dated after
    the audit's clock, was told as having "no events in this log": it has, but the audit
    judges the log as it stood at the clock. The warning now says its events are after the
    clock (how many, the first). The bundled sample with its role 'finance' written
    'treasury' (its first event 2026-07-03), checked at 2026-07-02; a role of no event at
    all is still told as before."""
    import pandas as pd

    sample = REPO / "sample_logs" / "refund-sample" / "canonical.csv"
    frame = pd.read_csv(sample, dtype=str, keep_default_na=False)
    frame["org:role"] = frame["org:role"].replace({"finance": "treasury"})
    times = pd.to_datetime(frame.loc[frame["org:role"] == "treasury", "time:timestamp"])
    log = tmp_path / "log.csv"
    frame.to_csv(log, index=False)
    policy = tmp_path / "policy.yaml"
    run("policy", "init", str(policy), code=0)
    text = policy.read_text(encoding="utf-8")
    right = "  approve: [supervisor, finance]\n"
    assert right in text
    policy.write_text(text.replace(right, "  approve: [supervisor, treasury, auditor]\n"),
                      encoding="utf-8")
    clock = "2026-07-02T00:00:00+00:00"
    assert times.min() > pd.Timestamp(clock)
    result = run("check", str(log), "--policy", str(policy), "--out", str(tmp_path / "out"),
                 "--as-of", clock, "--fail-on", "never", code=0)
    said = " ".join(result.output.split())
    told = ("the policy allows the role 'treasury' (approvers.approve), whose "
            f"{len(times)} events in this log are all dated after the audit's clock ({clock}; "
            f"the first {times.min().isoformat()}), and which no lane in the SOP holds: it "
            "authorises no one at the clock")
    assert f"warning: {told}" in said
    assert "'treasury' (approvers.approve), which has no events" not in said
    plain = ("the policy allows the role 'auditor' (approvers.approve), which has no events "
             "in this log and no lane in the SOP: it authorises no one here")
    assert f"warning: {plain}" in said
    warnings = json.loads((tmp_path / "out" / "findings.json").read_text(
        encoding="utf-8"))["manifest"]["warnings"]
    assert told in warnings and plain in warnings


def test_rule_docs_are_generated_from_the_code() -> None:
    folder = REPO / "docs" / "rules"
    for name, text in render_all(default_rules()).items():
        assert (folder / name).exists(), f"docs/rules/{name} missing: run make docs"
        assert (folder / name).read_text(encoding="utf-8") == text, (
            f"docs/rules/{name} is stale: run `make docs`")


def test_a_crashed_rule_is_exit_2_and_recorded(sample: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.rules.duties.sd001_self_approval import SelfApproval

    def explode(self: SelfApproval, facts: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(SelfApproval, "check", explode)
    result = run("check", str(sample), "--out", str(tmp_path), "--fail-on", "never", code=2)
    assert "rule SD001 (self-approval) crashed: RuntimeError: boom" in result.output
    document = json.loads((tmp_path / "findings.json").read_text())
    assert [e["rule"] for e in document["errors"]] == ["SD001"]
    assert document["summary"]["errors"] == 1
    assert not [f for f in document["findings"] if f["rule"] == "SD001"]
    assert document["findings"], "the other rules still ran"


@pytest.mark.parametrize("with_findings", [True, False])
def test_findings_json_is_the_document_one_finding_per_line(sample: Path, tmp_path: Path,
                                                            with_findings: bool) -> None:
    """findings.json is written in parts (one finding per line): it parses to exactly
    `findings_document`, keys in order, with and without findings, with rule errors."""
    from audit.checkrun import run_check
    from audit.policy import default_policy_path
    from audit.rules.engine import RuleError
    from reports.writers import findings_document, write_json

    checked = run_check([sample], default_policy_path())
    if not with_findings:
        checked.result.findings = []
    checked.result.errors = [RuleError("XX001", "broken-rule", 'ValueError: "quoted"\nline',
                                       "Traceback ...\n  x")]
    text = write_json(checked, tmp_path).read_text(encoding="utf-8")
    expected = json.loads(json.dumps(findings_document(checked), ensure_ascii=False,
                                     default=str))
    document = json.loads(text)
    assert document == expected and list(document) == list(expected)
    finding_lines = [line for line in text.splitlines() if line.startswith('    {"rule":"')]
    assert len(finding_lines) == len(expected["findings"])
    # The findings precedence suppressed, one a line too (the sample has some).
    suppressed_lines = [line for line in text.splitlines()
                        if line.startswith('    {"rule": "')]
    assert len(suppressed_lines) == len(expected["suppressed"]) == checked.result.suppressed > 0


def test_findings_json_lines_are_each_findings_value_strict_and_the_same_in_blocks(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """write_json encodes each finding with msgspec (compact JSON), in blocks: each line
    parses to what json gives for the finding's record (evidence with NaN, an infinity, a
    Decimal, a tuple, non-ASCII and control characters), but a NaN or infinity is null, so
    the file is strict JSON; the text is the same in blocks of two; a finding msgspec
    cannot encode is json's text of its record, a NaN or infinity null there too (the
    plain encoder where json has no C part)."""
    import decimal

    from audit.checkrun import run_check
    from audit.policy import default_policy_path
    from reports import writers
    from tests.encoders import refuse_msgspec

    checked = run_check([sample], default_policy_path())
    findings = checked.result.findings
    assert len(findings) > 5
    findings[0].evidence = {"x": float("nan"), "d": decimal.Decimal("2.50"), "t": ("a", 1),
                            "é\u2028\x01": ['"\\'], "i": float("-inf")}
    (tmp_path / "a").mkdir()
    text = writers.write_json(checked, tmp_path / "a").read_text(encoding="utf-8")

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    document = json.loads(text, parse_constant=refuse)
    expected = [json.loads(json.dumps(writers._record(f), default=str)) for f in findings]
    expected[0]["evidence"].update(x=None, i=None)
    assert document["findings"] == expected
    lines = [line for line in text.splitlines() if line.startswith('    {"rule":"')]
    assert len(lines) == len(findings)
    monkeypatch.setattr(writers, "_JSON_BLOCK", 2)
    (tmp_path / "b").mkdir()
    assert writers.write_json(checked, tmp_path / "b").read_text(encoding="utf-8") == text
    # findings.csv and findings.xlsx hold the same evidence, as strict JSON.
    import csv

    import openpyxl

    from reports.xlsx import FINDINGS_SHEET, write_xlsx

    mark = findings[0].fingerprint
    with writers.write_csv(checked, tmp_path / "a").open(newline="", encoding="utf-8") as f:
        [cell] = [row["evidence"] for row in csv.DictReader(f) if row["fingerprint"] == mark]
    assert json.loads(cell, parse_constant=refuse) == expected[0]["evidence"]
    book = openpyxl.load_workbook(write_xlsx(checked, tmp_path / "a"), read_only=True)
    rows = book[FINDINGS_SHEET].iter_rows(values_only=True)
    header = list(next(rows))
    [cell] = [row[header.index("evidence")] for row in rows
              if row[header.index("fingerprint")] == mark]
    assert json.loads(str(cell), parse_constant=refuse) == expected[0]["evidence"]

    refuse_msgspec(monkeypatch)
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    records = [writers._record(f) for f in findings]
    records[0]["evidence"].update(x=None, i=None)  # strict: null, as msgspec writes them
    lines_json = ",\n    ".join(encode(record) for record in records)
    for c_part in (True, False):
        if not c_part:  # json without its C part
            monkeypatch.setattr(json.encoder, "c_make_encoder", None)
        assert writers._record_encoder().encode.__name__ == (
            "encoded" if c_part else "encode")
        folder = tmp_path / f"json-{c_part}"
        folder.mkdir()
        slow = writers.write_json(checked, folder).read_text(encoding="utf-8")
        assert '\n  "findings": [\n    ' + lines_json + "\n  ],\n" in slow


def test_check_writes_the_quarantined_rows_with_their_reasons(sample: Path,
                                                               tmp_path: Path) -> None:
    """read = imported + quarantined, and the quarantined rows are in quarantine.csv beside
    the reports (file, row, field, value, reason), formula-like values neutralised."""
    rows = pd.read_csv(sample, dtype=str, keep_default_na=False)
    rows.loc[3, "time:timestamp"] = "not a time"
    rows.loc[7, "concept:name"] = ""
    rows.loc[9, "time:timestamp"] = "=1+1"
    broken = tmp_path / "broken.csv"
    rows.to_csv(broken, index=False)
    out = tmp_path / "out"
    result = run("check", str(broken), "--out", str(out), "--fail-on", "never", code=0)
    assert f"wrote {out / 'quarantine.csv'}" in result.output
    summary = json.loads((out / "findings.json").read_text())["summary"]
    with (out / "quarantine.csv").open(newline="", encoding="utf-8") as handle:
        quarantined = list(csv.DictReader(handle))
    assert summary["read"] == len(rows) == summary["imported"] + summary["quarantined"]
    assert summary["quarantined"] == 3
    assert {(q["file"], q["row"], q["field"]) for q in quarantined} == {
        ("broken.csv", "5", "time:timestamp"), ("broken.csv", "9", "concept:name"),
        ("broken.csv", "11", "time:timestamp")}
    assert all(q["reason"] for q in quarantined)
    assert "'=1+1" in {q["value"] for q in quarantined}


def _broken_sop(tmp_path: Path) -> Path:
    """The bundled e-commerce SOP with a flow pointing at an element that does not exist."""
    text = (REPO / "models" / "ecommerce.bpmn").read_text(encoding="utf-8")
    path = tmp_path / "broken.bpmn"
    path.write_text(text.replace('targetRef="', 'targetRef="Nowhere_', 1), encoding="utf-8")
    return path


def test_an_sop_that_cannot_be_converted_stops_the_check_before_the_rules(
        sample: Path, tmp_path: Path) -> None:
    """One error naming the file and the element, exit code 2, no report; not a crash of
    every conformance rule in turn."""
    broken = _broken_sop(tmp_path)
    result = run("check", str(sample), "--sop", str(broken), "--out", str(tmp_path / "out"),
                 code=2)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "broken.bpmn" in lines[0], lines
    assert "cannot be converted" in lines[0] and "crashed" not in lines[0]
    assert not (tmp_path / "out" / "findings.json").exists()


def test_a_policy_naming_a_missing_sop_is_an_input_error(sample: Path, tmp_path: Path) -> None:
    text = (REPO / "models" / "policy.default.yaml").read_text(encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(text.replace("ecommerce: ecommerce.bpmn", "ecommerce: missing.bpmn"),
                      encoding="utf-8")
    result = run("check", str(sample), "--policy", str(policy), "--out", str(tmp_path / "o"),
                 code=2)
    assert "missing.bpmn" in result.output and "no such SOP file" in result.output


def test_without_conformance_rules_the_sop_is_not_read(sample: Path, tmp_path: Path) -> None:
    text = (REPO / "models" / "policy.default.yaml").read_text(encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(text.replace('select: ["*"]', 'select: ["SD001"]'), encoding="utf-8")
    broken = _broken_sop(tmp_path)
    run("check", str(sample), "--policy", str(policy), "--sop", str(broken), "--out",
        str(tmp_path / "o"), "--fail-on", "never", code=0)


def test_exports_hashed_while_correlating_are_checked_unchanged_since_read(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where correlation follows, the exports are hashed in a second thread while it runs,
    not before they are read: a file written to after it was read is then an input error
    naming it (exit code 2), never the digest of other bytes than those audited."""
    import shutil

    import audit.sources.pipeline as pipeline
    from audit.digest import LaterDigests, sha256_of
    from audit.errors import InputError

    copies = tmp_path / "exports"
    shutil.copytree(sample.parent / "exports", copies)
    files = sorted(copies.iterdir())
    jira = next(f for f in files if f.name.startswith("jira"))
    correlated = pipeline._correlated

    def written_meanwhile(*args: object) -> None:
        with jira.open("ab") as handle:  # appended to while the audit runs
            handle.write(b" ")
        correlated(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_correlated", written_meanwhile)
    with pytest.raises(InputError) as caught:
        pipeline.import_and_correlate([(f, None) for f in files])
    assert caught.value.file == str(jira)
    assert "changed while it was audited" in str(caught.value)
    failed = run("check", *map(str, files), "--out", str(tmp_path / "failed"), code=2)
    assert str(jira) in failed.output and "changed while it was audited" in failed.output
    monkeypatch.setattr(pipeline, "_correlated", correlated)
    run("check", *map(str, files), "--out", str(tmp_path / "out"), "--fail-on", "never",
        code=0)
    manifest = json.loads((tmp_path / "out" / "findings.json").read_text())["manifest"]
    assert {i["file"]: i["sha256"] for i in manifest["inputs"]} == {
        str(f): sha256_of(f) for f in files}
    # The thread's digests are the files' own; a file gone meanwhile is an input error.
    stamps = {str(f): (f.stat().st_size, f.stat().st_mtime_ns) for f in files}
    assert LaterDigests(stamps).result() == {str(f): sha256_of(f) for f in files}
    later = LaterDigests(stamps)
    later.abandon()
    files[0].unlink()
    with pytest.raises(InputError, match="cannot be read again"):
        LaterDigests(stamps).result()


def _summary_by_loop(run: Any) -> dict[str, Any]:
    """The run's counts as a loop over the findings takes them (what CheckRun's summary
    did before it counted in numpy)."""
    from collections import defaultdict

    from audit.findings import SEVERITIES

    active = [f for f in run.result.findings if not f.waived]
    per_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rule_cases: set[tuple[str, str]] = set()
    for f in active:
        per_rule[f.rule][0] += 1
        if (f.rule, f.case_id) not in rule_cases:
            rule_cases.add((f.rule, f.case_id))
            per_rule[f.rule][1] += 1
    worst: dict[tuple[str, str], float] = {}
    for f in active:
        if f.amount_at_risk is None:
            continue
        key = (f.case_id, f.currency or "(no currency)")  # None and "": a bucket of their own
        worst[key] = max(worst.get(key, 0.0), f.amount_at_risk)
    crashed = {e.rule for e in run.result.errors}
    money: dict[str, float] = defaultdict(float)
    for (_, currency), amount in worst.items():
        money[currency] += amount
    return {
        "findings": len(active), "waived": len(run.result.findings) - len(active),
        "cases_with_findings": len({f.case_id for f in active}),
        "by_severity": {s: sum(1 for f in active if f.severity == s) for s in SEVERITIES},
        "by_rule": {r.code: {"name": r.name, "severity": r.severity,
                             "status": "crashed" if r.code in crashed else "ran",
                             "findings": per_rule.get(r.code, [0, 0])[0],
                             "cases": per_rule.get(r.code, [0, 0])[1],
                             # (a rule the policy sets nothing for: it judged no case)
                             **({"note": f"not configured: {unset}"}
                                if r.code not in crashed
                                and (unset := r.not_configured(run.policy)) else {})}
                    for r in run.result.rules},
        "money_at_risk": {k: round(v, 2) for k, v in sorted(money.items())},
    }


def test_summary_counts_are_those_of_a_loop_over_the_findings(sample: Path) -> None:
    """The summary's counts (taken in numpy from the findings' columns) against a loop over
    the findings: on the sample's findings, and on random ones with waivers, missing, NaN
    and negative amounts, missing and empty currencies, a missing case id, and many
    findings per case and currency (the money summed in the order the loop adds it)."""
    import dataclasses
    import random

    from audit.checkrun import run_check
    from audit.findings import SEVERITIES, Finding
    from audit.policy import default_policy_path

    checked = run_check([sample], default_policy_path())
    assert checked.result.findings
    keys = ["findings", "waived", "cases_with_findings", "by_severity", "by_rule",
            "money_at_risk"]
    got = checked.summary()
    assert {k: got[k] for k in keys} == _summary_by_loop(checked)
    rules = [r.code for r in checked.result.rules]
    rng = random.Random(11)
    for trial in range(25):
        findings = [Finding(
            rule=rng.choice(rules), name="x", severity=rng.choice(SEVERITIES),
            case_id=rng.choice([f"C{rng.randrange(60)}", f"C{rng.randrange(60)}", None]),
            event_ids=[f"e{k}"], activities=[], resources=[], timestamp=None, message="",
            amount_at_risk=rng.choice([None, 0.1, 0.2, 1e16, 3.3, -2.0, float("nan"),
                                       rng.random() * 1000]),
            currency=rng.choice([None, "", "EUR", "USD", "EUR"]),
            waived=rng.random() < 0.25) for k in range(rng.randrange(0, 400))]
        run = dataclasses.replace(checked, memo={}, result=dataclasses.replace(
            checked.result, findings=findings))
        got = run.summary()
        assert {k: got[k] for k in keys} == _summary_by_loop(run), trial


def test_as_of_with_an_offset_is_the_same_instant_in_utc(sample: Path, tmp_path: Path) -> None:
    """--as-of 2026-11-01T23:30:00-05:00 is 2026-11-02T04:30:00Z: the same findings, the
    same waiver judgement (one expiring on 2026-11-01 has expired by the UTC date) and the
    clock shown in UTC (before: the local date kept the waiver, and the manifest showed the
    offset)."""
    import yaml

    from audit.policy import default_policy_path

    run("check", str(sample), "--out", str(tmp_path / "plain"), "--fail-on", "never", code=0)
    found = json.loads((tmp_path / "plain" / "findings.json").read_text())["findings"][0]
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["waivers"] = [{"rule": found["rule"], "case": found["case_id"],
                          "reason": "accepted", "approved_by": "Head of Internal Audit",
                          "expires": "2026-11-01"}]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    documents = []
    for name, clock in (("offset", "2026-11-01T23:30:00-05:00"), ("utc", "2026-11-02T04:30:00Z")):
        result = run("check", str(sample), "--policy", str(path), "--as-of", clock, "--out",
                     str(tmp_path / name), "--fail-on", "never", code=0)
        documents.append(json.loads((tmp_path / name / "findings.json").read_text()))
        # The console names the waiver's case too (before: its rule and line only).
        assert (f"waiver for {found['rule']} on case {found['case_id']} (line "
                in result.output)
    offset, utc = documents
    assert offset["manifest"]["as_of"] == utc["manifest"]["as_of"] == "2026-11-02T04:30:00+00:00"
    assert [w["status"] for w in offset["summary"]["waivers"]] == ["expired"]
    assert offset["findings"] == utc["findings"]


@pytest.mark.parametrize("clock", ["2263-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00",
                                   "9999-12-31T23:00:00-05:00"])
def test_as_of_outside_the_logs_years_is_an_input_error(sample: Path, tmp_path: Path,
                                                        clock: str) -> None:
    """A clock the log's timestamps cannot hold: before, an OverflowError traceback, or
    every rule that compares with the clock reported as crashed."""
    result = run("check", str(sample), "--as-of", clock, "--out", str(tmp_path), code=2)
    assert f"--as-of {clock}: the clock must be within the years 1678 to 2261" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "findings.json").exists()


def test_an_earlier_runs_reports_do_not_stay_beside_a_new_run(sample: Path,
                                                              tmp_path: Path) -> None:
    """A full run, then a JSON-only run into the same folder: the earlier findings.csv,
    XLSX, HTML and graphs would read as this run's (before: they stayed, so the folder held
    two audits). They are removed and named; other files in the folder stay."""
    run("check", str(sample), "--out", str(tmp_path), "--fail-on", "never", code=0)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert {"findings.csv", "report.html", "dfg.svg", "sop-offline.png"} <= {
        p.name for p in tmp_path.iterdir()}
    result = run("check", str(sample), "--out", str(tmp_path), "--format", "json",
                 "--fail-on", "never", code=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "SHA256SUMS", "findings.json", "notes.txt", "quarantine.csv"]
    assert "removed 11 report file(s) of an earlier run" in result.output
    # (the checksums are this run's files', the earlier run's gone with them)
    assert [line.split("  ")[1] for line in (tmp_path / "SHA256SUMS").read_text(
        encoding="utf-8").splitlines()] == ["findings.json", "quarantine.csv"]


def test_a_checks_files_are_listed_with_their_sha256(sample: Path, tmp_path: Path) -> None:
    """SHA256SUMS beside the reports: a line per file the run wrote, `<sha256>  <name>`
    as `sha256sum -c` reads it, so that a report handed on can be shown to be the run's
    byte for byte (before: the manifest held the inputs' digests, none of the outputs')."""
    import hashlib
    import shutil
    import subprocess

    result = run("check", str(sample), "--out", str(tmp_path), "--fail-on", "never", code=0)
    assert "wrote " + str(tmp_path / "SHA256SUMS") + " (the sha256 of each file written" \
        in result.output
    lines = (tmp_path / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in lines)
    written = sorted(p.name for p in tmp_path.iterdir() if p.name != "SHA256SUMS")
    assert sorted(listed) == written and "findings.json" in written and len(written) > 8
    assert [line.split("  ", 1)[1] for line in lines] == written  # by name
    for name, digest in listed.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name
    if shutil.which("sha256sum"):
        ok = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=tmp_path,
                            capture_output=True, text=True)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        with (tmp_path / "findings.csv").open("ab") as handle:
            handle.write(b"\n")
        changed = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=tmp_path,
                                 capture_output=True, text=True)
        assert changed.returncode == 1 and "findings.csv: FAILED" in changed.stdout


def test_an_input_among_the_outputs_is_refused_not_removed(sample: Path,
                                                           tmp_path: Path) -> None:
    """`check D/findings.csv --out D` removed its own input as an earlier run's report, and
    `import D/quarantine.csv --out D/log.parquet` overwrote it with an empty quarantine
    (now the import writes D/log.quarantine.csv: an input of that name is refused).
    Both are input errors naming the file, and the file stays as it was; a link to it, too."""
    folder = tmp_path / "D"
    folder.mkdir()
    own = folder / "findings.csv"
    shutil.copyfile(sample, own)
    before = own.read_bytes()
    result = run("check", str(own), "--out", str(folder), code=2)
    assert (f"{own}: field '--out': this input is a report file check writes or removes "
            "there; it would be overwritten or removed: choose another --out") in result.output
    (tmp_path / "link.csv").symlink_to(own)
    run("check", str(tmp_path / "link.csv"), "--out", str(folder), code=2)
    for name in ("log.quarantine.csv", "log.correlation.csv"):
        quarantine = folder / name
        shutil.copyfile(sample, quarantine)
        result = run("import", str(quarantine), "--out", str(folder / "log.parquet"), code=2)
        assert ("the log, or the log.quarantine.csv or log.correlation.csv import writes "
                "(or removes) beside it") in result.output
        assert own.read_bytes() == before == quarantine.read_bytes()
        assert sorted(p.name for p in folder.iterdir()) == ["findings.csv", name]
        quarantine.unlink()


def test_check_tells_what_the_import_dropped_and_noted(tmp_path: Path) -> None:
    """`import` said "(+ 1 duplicates dropped)" (now "+ 1 duplicate dropped", part of
    `read`) and "4 of 13 events relate to no 'Invoice'
    object"; `check` on the same files said neither, so its counts did not add up to the
    input. Both are now on the console, in findings.json, the HTML and the XLSX."""
    import html
    import re
    import zipfile

    path = tmp_path / "dup.csv"
    path.write_text(
        "case:concept:name,concept:name,time:timestamp,org:resource,event:id\n"
        "c1,Receive refund request,2026-01-01T10:00:00Z,ann,e1\n"
        "c1,Approve refund,2026-01-01T11:00:00Z,bob,e2\n"
        "c1,Approve refund,2026-01-01T11:00:00Z,bob,e2\n"
        "c1,Execute payout,2026-01-02T11:00:00Z,vic,e3\n", encoding="utf-8")
    ocel = REPO.parent / "shared/data/pm4py-tests/ocel/ocel20_example.jsonocel"
    out = tmp_path / "out"
    result = run("check", str(path), str(ocel), "--object-type", "Invoice", "--out",
                 str(out), "--fail-on", "never", code=0)
    note = "4 of 13 events relate to no 'Invoice' object and are not part of these cases"
    assert "(read 13 = imported 12 + quarantined 0 + 1 duplicate dropped)" in result.output
    assert f"note: {note}" in result.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["duplicates_dropped"] == 1
    assert [i["duplicates_dropped"] for i in document["manifest"]["inputs"]] == [1, 0]
    assert any(n.endswith(note) for n in document["manifest"]["import_notes"])
    text = html.unescape(re.sub(r"<[^>]+>", "", (out / "report.html").read_text(
        encoding="utf-8")))
    assert ("read 13 = imported 12 + quarantined 0 + 1 record read twice, dropped (same id "
            "and content: an export's overlap, a file given twice, or a charge's copies in a "
            "canonical log)") in text
    assert f"Import: {note}" in text
    with zipfile.ZipFile(out / "findings.xlsx") as book:
        sheets = "".join(book.read(n).decode() for n in book.namelist()
                         if n.endswith(".xml"))
    assert "<t>Duplicate records dropped</t>" in sheets and f"<t>{note}</t>" in sheets


def test_a_failing_writer_leaves_the_earlier_reports_as_they_were(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that failed halfway left the new findings.json and findings.csv beside the
    earlier run's report.html, or a file cut short. The reports are written into a folder
    of their own and moved into --out only once all are written; a link in --out named
    like a report is replaced, not written through."""
    import reports.writers

    run("check", str(sample), "--out", str(tmp_path), "--fail-on", "never", code=0)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(run_: Any, out: Path) -> Path:
        (out / "findings.xlsx").write_bytes(b"PK cut short")
        raise RuntimeError("disk full")

    monkeypatch.setitem(reports.writers.WRITERS, "xlsx", broken)
    result = CliRunner().invoke(main, ["check", str(sample), "--as-of", "2026-11-01T00:00:00Z",
                                       "--out", str(tmp_path), "--fail-on", "never"])
    assert isinstance(result.exception, RuntimeError)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    monkeypatch.undo()
    victim = tmp_path.parent / f"{tmp_path.name}-victim.txt"
    victim.write_text("mine", encoding="utf-8")
    (tmp_path / "findings.csv").unlink()
    (tmp_path / "findings.csv").symlink_to(victim)
    run("check", str(sample), "--out", str(tmp_path), "--fail-on", "never", code=0)
    assert victim.read_text(encoding="utf-8") == "mine"
    assert not (tmp_path / "findings.csv").is_symlink()
    assert (tmp_path / "findings.csv").read_text(encoding="utf-8").startswith("rule,")


def test_the_correlation_problems_are_written_to_correlation_csv(tmp_path: Path) -> None:
    """The notes said "1 reference(s) to ids no export contains (see the correlation
    problems)", which no file held. `check` writes them to correlation.csv, `import` to
    LOG.correlation.csv beside the log (file, row, field, value, reason), neutralised as
    quarantine.csv is."""
    exports = tmp_path / "exports"
    shutil.copytree(REPO / "sample_logs" / "refund-sample" / "exports", exports)
    refunds = exports / "stripe_refunds.csv"
    lines = refunds.read_text(encoding="utf-8").splitlines(keepends=True)
    first = lines[1].split(",")
    first[7] = "99999"  # (its ticket: in no export)
    lines[1] = ",".join(first)
    refunds.write_text("".join(lines), encoding="utf-8")
    files = [str(p) for p in sorted(exports.iterdir())]
    result = run("import", *files, "--out", str(tmp_path / "log" / "log.parquet"), code=0)
    assert "(see log.correlation.csv)" in result.output
    for folder in (tmp_path / "log", tmp_path / "out"):
        name = "log.correlation.csv"
        if folder.name == "out":
            checked = run("check", *files, "--out", str(folder), "--fail-on", "never", code=0)
            assert "(see correlation.csv)" in checked.output
            name = "correlation.csv"
        rows = list(csv.DictReader((folder / name).read_text(
            encoding="utf-8").splitlines()))
        assert [(r["file"], r["row"], r["field"], r["value"]) for r in rows] == [
            ("stripe_refunds.csv", "2", "ticket:id", "99999")], rows
        assert rows[0]["reason"] == ("refund names a ticket no ticketing export contains "
                                     "(kept as a case of its own)")


def test_refunds_of_charges_no_input_holds_are_told(tmp_path: Path) -> None:
    """A month's run without the purchase period's charges export: every Stripe refund's
    charge is in no input, and no-prior-purchase jumped from 3 to 131 findings with one
    correlation note counting a single reference (the one refund no ticket claims). The
    notes now count every refund naming a charge no input holds, and say what to give."""
    import csv as csv_module

    exports = tmp_path / "exports"
    shutil.copytree(REPO / "sample_logs" / "refund-sample" / "exports", exports)
    (exports / "stripe_charges.csv").unlink()
    with (exports / "stripe_refunds.csv").open(encoding="utf-8", newline="") as handle:
        charged = sum(1 for r in csv_module.DictReader(handle) if r["charge"].strip())
    files = [str(p) for p in sorted(exports.iterdir())]
    result = run("check", *files, "--out", str(tmp_path / "out"), "--fail-on", "never",
                 code=0)
    assert (f"note: correlation: {charged} refund(s) name a charge that no input holds (no "
            "payment export of the run, nor a log given): where the charges were captured in "
            "an earlier period, give that period's charges export too") in result.output
    # Each such refund is listed with the charge it names, the ones naming their ticket
    # too (before, only the one refund no ticket claims was).
    with (tmp_path / "out" / "correlation.csv").open(encoding="utf-8", newline="") as handle:
        listed = [r for r in csv_module.DictReader(handle)
                  if r["field"] == "payment:charge_id"]
    assert len(listed) == charged
    assert {r["file"] for r in listed} == {"stripe_refunds.csv"}
    assert {r["reason"] for r in listed} == {"refund names a charge no payment export contains"}
    whole = run("check", *[str(p) for p in sorted(
        (REPO / "sample_logs" / "refund-sample" / "exports").iterdir())],
        "--out", str(tmp_path / "whole"), "--fail-on", "never", code=0)
    assert "name a charge that no input holds" not in whole.output


def test_the_report_names_the_findings_files_this_run_wrote(sample: Path,
                                                            tmp_path: Path) -> None:
    """With --format json,html the report's footer said findings.csv and findings.xlsx hold
    every finding; the run wrote neither (and removes an earlier run's)."""
    import html

    run("check", str(sample), "--out", str(tmp_path), "--format", "json,html",
        "--fail-on", "never", code=0)
    text = html.unescape((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert "findings.json holds every finding of this run" in text
    assert "findings.csv" not in text and "findings.xlsx" not in text
    run("check", str(sample), "--out", str(tmp_path), "--format", "html",
        "--fail-on", "never", code=0)
    text = html.unescape((tmp_path / "report.html").read_text(encoding="utf-8"))
    # (the run details say no findings.json was written, so its run id cannot be recomputed)
    said = "this run wrote no findings.json (--format html)"
    assert said in text
    assert "every finding of this run" not in text and "findings.json" not in text.replace(
        said, "")


def test_the_report_counts_the_findings_suppressed_by_precedence(sample: Path,
                                                                  tmp_path: Path) -> None:
    """findings.json and the XLSX counted them; the HTML did not say that any finding was
    left out for another rule's on the same case."""
    import re

    run("check", str(sample), "--out", str(tmp_path), "--format", "json,html",
        "--fail-on", "never", code=0)
    summary = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))["summary"]
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    shown = re.search(r'data-metric="suppressed" data-value="(\d+)"', text)
    assert summary["suppressed_by_precedence"] > 0 and shown is not None
    assert int(shown.group(1)) == summary["suppressed_by_precedence"]


def test_the_report_names_each_sops_file_and_hash(sample: Path, tmp_path: Path) -> None:
    """The SOPs' sha256 were in findings.json only; the report's run details gave the
    policy's. Each SOP the run judged by is named there with its hash, as in the manifest."""
    import html

    run("check", str(sample), "--out", str(tmp_path), "--format", "json,html",
        "--fail-on", "never", code=0)
    manifest = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))["manifest"]
    text = html.unescape((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert manifest["sop"]
    for sop in manifest["sop"]:
        assert f"SOP ({sop['channel']})" in text and f"sha256 {sop['sha256']}" in text


def test_the_report_explains_events_beyond_the_rows_imported(tmp_path: Path) -> None:
    """The bundled exports give 2,196 events from 2,185 rows imported: a charge refunded in
    two cases is copied into both. The report showed both numbers without a word why."""
    import re

    exports = sorted((REPO / "sample_logs" / "refund-sample" / "exports").iterdir())
    run("check", *map(str, exports), "--out", str(tmp_path), "--format", "json,html",
        "--fail-on", "never", code=0)
    summary = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))["summary"]
    copies = summary["events"] - summary["imported"] + summary["left_out"]
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    shown = re.search(r'data-metric="charge-copies" data-value="(\d+)"', text)
    assert copies > 0 and shown is not None and int(shown.group(1)) == copies
    assert "a charge refunded in several cases is in each of them" in text


def test_an_out_folder_that_cannot_be_written_is_refused_before_the_run(
        sample: Path, tmp_path: Path) -> None:
    """Before: a NotADirectoryError traceback once every rule had run."""
    (tmp_path / "afile").write_text("", encoding="utf-8")
    result = run("check", str(sample), "--out", str(tmp_path / "afile" / "sub"), code=2)
    assert "--out" in result.output and "cannot write into" in result.output
    assert "Traceback" not in result.output and "audited" not in result.output


def test_check_reads_ocel_with_an_object_type(tmp_path: Path) -> None:
    """check takes any file import reads: an OCEL 2.0 file needs --object-type, which the
    error named while check had no such option."""
    ocel = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pm4py-tests"
            / "ocel" / "ocel20_example.xmlocel")
    result = run("check", str(ocel), "--out", str(tmp_path), "--format", "json",
                 "--assume-tz", "Europe/Amsterdam", code=2)
    assert "--object-type" in result.output
    result = run("check", str(ocel), "--out", str(tmp_path), "--format", "json",
                 "--object-type", "Invoice", "--assume-tz", "Europe/Amsterdam",
                 "--fail-on", "never", code=0)
    document = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["cases"] == 3 and document["summary"]["events"] == 9


def test_a_policy_that_leaves_no_rule_to_run_is_refused(sample: Path, tmp_path: Path) -> None:
    """rules: {select: []} (or an ignore of everything) ran no rule and exited 0: a clean
    audit on paper."""
    import yaml

    from audit.policy import default_policy_path

    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["rules"]["ignore"] = ["*"]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    result = run("check", str(sample), "--policy", str(path), "--out", str(tmp_path / "o"),
                 code=2)
    assert "leave no rule to run" in result.output
    assert "leave no rule to run" in run("policy", "check", str(path), code=2).output


def test_the_policy_is_checked_before_the_import(tmp_path: Path) -> None:
    """A policy error is told first, not after the whole log is read and correlated (here
    the log is not even there)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\ncolour: blue\n", encoding="utf-8")
    result = run("check", str(tmp_path / "missing.csv"), "--policy", str(policy), "--out",
                 str(tmp_path / "out"), code=2)
    assert "unknown key 'colour'" in result.output and "no such file" not in result.output


def test_severity_overrides_reach_every_rule_table(sample: Path, tmp_path: Path) -> None:
    """The policy's `severity:` overrides are the severity of the rule wherever it is shown:
    findings.json's by_rule, the XLSX summary and the HTML rule table and sections, so the
    per-rule counts add up to by_severity (before: the findings were 'low', their rule
    'critical')."""
    import yaml
    from openpyxl import load_workbook

    from audit.policy import default_policy_path

    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy.setdefault("rules", {})["severity"] = {"SD001": "low", "EV": "info"}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    out = tmp_path / "out"
    run("check", str(sample), "--policy", str(path), "--out", str(out), "--fail-on", "never",
        code=0)
    document = json.loads((out / "findings.json").read_text())
    by_rule = document["summary"]["by_rule"]
    assert by_rule["SD001"]["severity"] == "low"
    assert {by_rule[c]["severity"] for c in by_rule if c.startswith("EV")} == {"info"}
    totals: dict[str, int] = {}
    for entry in by_rule.values():
        totals[entry["severity"]] = totals.get(entry["severity"], 0) + entry["findings"]
    assert {k: v for k, v in totals.items() if v} == {
        k: v for k, v in document["summary"]["by_severity"].items() if v}
    cells = [[c.value for c in row] for row in load_workbook(out / "findings.xlsx")["Summary"]
             .iter_rows()]
    assert any(row[:1] == ["SD001"] and "low" in row for row in cells), cells
    html = (out / "report.html").read_text(encoding="utf-8")
    heading = html[html.index('<h3 id="rule-SD001-title">'):].split("</h3>")[0]
    assert '<span class="sev sev-low">low</span>' in heading, heading


def test_the_html_cases_count_and_waivers_agree_with_the_summary(
        sample: Path, tmp_path: Path) -> None:
    """A case whose only finding is waived is listed in the HTML's cases (ranked last) but
    is no case with findings in the summary: the HTML says how many of each (before: the
    HTML counted it among the cases with findings, 83 against the summary's 81)."""
    import re
    from collections import Counter

    import yaml

    from audit.policy import default_policy_path

    run("check", str(sample), "--out", str(tmp_path / "plain"), "--fail-on", "never", code=0)
    findings = json.loads((tmp_path / "plain" / "findings.json").read_text())["findings"]
    per_case = Counter(f["case_id"] for f in findings)
    alone = next(f for f in findings if per_case[f["case_id"]] == 1)
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    other = next(f for f in findings if per_case[f["case_id"]] > 1)
    policy["waivers"] = [{"rule": alone["rule"], "case": alone["case_id"],
                          "reason": "accepted", "approved_by": "Head of Internal Audit",
                          "expires": "2027-03-31"},
                         {"rule": other["rule"], "fingerprint": other["fingerprint"],
                          "reason": "cover for sick leave", "approved_by": "CFO",
                          "expires": "2027-03-31"}]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    out = tmp_path / "waived"
    run("check", str(sample), "--policy", str(path), "--out", str(out), "--fail-on", "never",
        code=0)
    summary = json.loads((out / "findings.json").read_text())["summary"]
    html = (out / "report.html").read_text(encoding="utf-8")
    hint = re.search(r'<section id="cases".*?<p class="hint">(.*?)\.', html, re.S)
    assert hint is not None
    assert hint.group(1).startswith(f"{summary['cases_with_findings']:,} cases with findings "
                                    "and 1 whose findings are all waived"), hint.group(1)
    # Each waiver's fingerprint, approver and reason in the HTML's and the XLSX's tables
    # (before: only findings.json had the fingerprint, no table the reason).
    from openpyxl import load_workbook

    table = html[html.index(">Waivers</h3>"):].split("</table>")[0]
    for text in (other["fingerprint"], "cover for sick leave", "CFO", "accepted",
                 "Head of Internal Audit"):
        assert text in table, text
    cells = {c.value for row in load_workbook(out / "findings.xlsx")["Summary"].iter_rows()
             for c in row}
    assert {other["fingerprint"], "cover for sick leave", "Head of Internal Audit"} <= cells


def test_the_same_input_gives_the_same_findings_json_but_for_the_manifest(
        sample: Path, tmp_path: Path) -> None:
    """Two runs of one input: findings.json differs only in its manifest (times, command,
    the seconds conformance took); before, the summary held those seconds too."""
    documents = []
    for name in ("one", "two"):
        run("check", str(sample), "--out", str(tmp_path / name), "--fail-on", "never", code=0)
        documents.append(json.loads((tmp_path / name / "findings.json").read_text()))
    one, two = documents
    assert set(one["manifest"]["conformance_seconds"]) == set(one["summary"]["conformance"])
    for document in documents:
        del document["manifest"]
    assert one == two


def test_the_manifest_records_the_import_options_and_the_clocks_source(
        sample: Path, tmp_path: Path) -> None:
    """What a re-run needs, in the manifest: the mapping file with its sha256 (before, a
    mapping changed between two runs changed the findings, `assume_tz` here, and the two
    manifests were the same but for their times), --assume-tz, --encoding, --object-type,
    the working directory relative paths are read from, and where the clock came from."""
    import hashlib
    import os

    naive = tmp_path / "naive.csv"
    naive.write_text(sample.read_text(encoding="utf-8").replace("+00:00", ""),
                     encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    manifests = []
    for zone in ("UTC", "Asia/Kolkata"):
        mapping.write_text(f"assume_tz: {zone}\n", encoding="utf-8")
        out = tmp_path / zone.replace("/", "-")
        run("check", str(naive), "--mapping", str(mapping), "--encoding", "utf-8",
            "--out", str(out), "--format", "json", "--fail-on", "never", code=0)
        manifests.append(json.loads((out / "findings.json").read_text())["manifest"])
        assert manifests[-1]["mapping"] == {
            "file": str(mapping), "sha256": hashlib.sha256(mapping.read_bytes()).hexdigest()}
        assert manifests[-1]["import_options"] == {
            "assume_tz": None, "encoding": "utf-8", "object_type": None}
        assert manifests[-1]["working_directory"] == os.getcwd()
        assert manifests[-1]["as_of_source"] == "policy"
    assert manifests[0]["mapping"]["sha256"] != manifests[1]["mapping"]["sha256"]

    run("check", str(sample), "--assume-tz", "Europe/Berlin", "--as-of",
        "2026-11-01T00:00:00Z", "--out", str(tmp_path / "pinned"), "--format", "json",
        "--fail-on", "never", code=0)
    manifest = json.loads((tmp_path / "pinned" / "findings.json").read_text())["manifest"]
    assert manifest["mapping"] is None and manifest["as_of_source"] == "--as-of"
    assert manifest["import_options"]["assume_tz"] == "Europe/Berlin"


def test_a_clock_taken_from_the_time_of_the_run_is_told(sample: Path, tmp_path: Path) -> None:
    """Without --as-of and a policy's as_of, the timing rules judge as of the time of the
    run, so next month's run of the same inputs differs. Before, nothing said so: the
    console now notes it with the --as-of that re-runs the audit, and the manifest's
    as_of_source is `clock`."""
    policy = tmp_path / "policy.yaml"
    run("policy", "init", str(policy), code=0)
    result = run("check", str(sample), "--policy", str(policy), "--out", str(tmp_path / "o"),
                 "--format", "json,html", "--fail-on", "never", code=0)
    manifest = json.loads((tmp_path / "o" / "findings.json").read_text())["manifest"]
    assert manifest["as_of_source"] == "clock"
    assert (f"(the time of the run: --as-of {manifest['as_of']} re-runs this audit)</dd>"
            in (tmp_path / "o" / "report.html").read_text(encoding="utf-8"))
    assert (f"note: the audit's clock is the time of this run, {manifest['as_of']} (no "
            "--as-of, no as_of in the policy): the timing rules judge as of it, so a later "
            "run of the same inputs can find otherwise; to re-run this audit, give --as-of "
            f"{manifest['as_of']}") in result.output
    pinned = run("check", str(sample), "--out", str(tmp_path / "p"), "--format", "json,html",
                 "--fail-on", "never", code=0)
    assert "the audit's clock is the time of this run" not in pinned.output
    assert "(as_of in the policy)</dd>" in (tmp_path / "p" / "report.html").read_text(
        encoding="utf-8")


def test_a_format_named_twice_is_written_and_told_once(tmp_path: Path) -> None:
    """`--format json,csv,json`: findings.json was written twice, and the console said
    "wrote .../findings.json" twice; a format is one report however often it is named."""
    write_sample(SampleSpec(channel="all", cases=12, seed=3, violation_rate=0.25),
                 tmp_path / "s")
    out = tmp_path / "out"
    result = run("check", str(tmp_path / "s" / "canonical.csv"), "--out", str(out),
                 "--format", "json, csv,json,csv", "--fail-on", "never", code=0)
    wrote = [line.strip() for line in result.output.splitlines()
             if line.strip().startswith("wrote ")]
    assert wrote[:3] == [f"wrote {out / 'findings.json'}", f"wrote {out / 'findings.csv'}",
                         f"wrote {out / 'quarantine.csv'}"], wrote
    assert len(wrote) == 4 and wrote[3].startswith(f"wrote {out / 'SHA256SUMS'}"), wrote
    listed = (out / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert sorted(line.split("  ", 1)[1] for line in listed) == [
        "findings.csv", "findings.json", "quarantine.csv"]


def test_a_missing_policy_is_named_as_the_policy_option(tmp_path: Path) -> None:
    """`check --policy p.yaml` of no such file said "cannot read: [Errno 2] No such file or
    directory: 'p.yaml'" (the path twice, the option not at all), after making --out; a
    policy that is a link to no file the same. Now as compare says it, naming --policy."""
    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "A,Receive refund request,2026-08-01T10:00:00Z\n", encoding="utf-8")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "nowhere.yaml")
    for name in ("p.yaml", "link.yaml"):
        policy = tmp_path / name
        result = run("check", str(log), "--policy", str(policy), "--out",
                     str(tmp_path / "out"), code=2)
        assert result.output == f"error: {policy}: field '--policy': no such file\n"
        assert not (tmp_path / "out").exists()
        # (compare's --policy alike)
        result = run("compare", "ecommerce.bpmn", "offline.bpmn", "--policy", str(policy),
                     "--out", str(tmp_path / "out"), code=2)
        assert result.output == f"error: {policy}: field '--policy': no such file\n"
    # A YAML file (policy, mapping, sources, project) that cannot be read names its file
    # once, and the reason without Python's errno and the path again.
    from audit.errors import InputError
    from audit.yamlio import load_yaml

    with pytest.raises(InputError) as refused:
        load_yaml(tmp_path / "nowhere.yaml")
    assert str(refused.value) == (f"{tmp_path / 'nowhere.yaml'}: cannot read: No such file "
                                  "or directory")


def test_the_reports_population_adds_up_where_the_clock_leaves_events_out(
        tmp_path: Path) -> None:
    """At a clock before the log's last events (the bundled exports at 2026-09-30: 66 of
    2,196 events later), the population read "2,130 events ...; 11 events more than the rows
    imported" beside "read 2,185 = imported 2,185": 2,130 is 55 fewer than the rows, not 11
    more. It now tells the events judged and the log's total, which the rows explain."""
    import html
    import re

    exports = sorted((REPO / "sample_logs" / "refund-sample" / "exports").iterdir())
    run("check", *map(str, exports), "--out", str(tmp_path), "--format", "json,html",
        "--as-of", "2026-09-30T00:00:00Z", "--fail-on", "never", code=0)
    summary = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))["summary"]
    late, judged = summary["events_after_clock"], summary["events"]
    assert late > 0
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    population = re.search(r"<dt>Population</dt><dd>(.*?)</dd>", text, re.S)
    assert population is not None
    said = " ".join(html.unescape(re.sub(r"<[^>]+>", "", population.group(1))).split())
    copies = judged + late - summary["imported"] + summary["left_out"]
    assert said.startswith(f"{summary['cases']:,} refund cases, {judged:,} events judged ")
    assert (f"the log holds {judged + late:,} events: {late:,} dated after the audit clock, "
            f"not judged, and {copies:,} more than the rows imported") in said
    shown = re.search(r'data-metric="charge-copies" data-value="(\d+)"', text)
    assert shown is not None and int(shown.group(1)) == copies


def test_a_log_holding_no_purchase_at_all_is_warned_of_beside_no_prior_purchase(
        tmp_path: Path) -> None:
    """A ticketing export alone (no charge, renewal or sale imported with it; pm4py's
    running example mapped as refunds is one) has every paid case found by no-prior-purchase,
    high, and nothing told the auditor that the log cannot show a purchase at all: the
    findings read as refunds of things never bought. A warning now says so, and what to do;
    a log holding purchases, the most of whose paid cases have one, is not warned of."""
    header = "case:concept:name,concept:name,time:timestamp,org:resource,org:role,refund:amount\n"
    rows = "".join(f"T{k},Receive refund request,2026-09-0{k}T09:00:00Z,Ann,customer-service,"
                   f"10\nT{k},Approve refund,2026-09-0{k}T10:00:00Z,Bob,supervisor,10\n"
                   f"T{k},Execute payout,2026-09-0{k}T11:00:00Z,Cid,payments,10\n"
                   for k in (1, 2))
    log = tmp_path / "tickets.csv"
    log.write_text(header + rows, encoding="utf-8")
    run("check", str(log), "--out", str(tmp_path / "out"), "--format", "json",
        "--fail-on", "never", code=0)
    document = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["by_rule"]["EV007"]["findings"] == 2
    told = [w for w in document["manifest"]["warnings"] if w.startswith("no-prior-purchase")]
    assert told == [
        "no-prior-purchase found 2 paid cases without a purchase before the payout, and the "
        "log holds no purchase at all (no event labelled 'Capture payment', 'Charge "
        "subscription renewal' or 'Record store sale', the policy's labels of the control "
        "purchase): the charges, renewals or sales refunded are not in the log, so every "
        "paid case is found; import the payment system's charges with the tickets, or leave "
        "the rule out (rules.ignore: [EV007])"]
    bought = tmp_path / "bought.csv"
    bought.write_text(header + "T1,Capture payment,2026-08-01T09:00:00Z,shop,system,10\n"
                      + rows, encoding="utf-8")
    run("check", str(bought), "--out", str(tmp_path / "bought"), "--format", "json",
        "--fail-on", "never", code=0)
    document = json.loads((tmp_path / "bought" / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["by_rule"]["EV007"]["findings"] == 1
    assert not [w for w in document["manifest"]["warnings"] if "no-prior-purchase" in w]


def test_the_no_purchase_warning_counts_the_paid_cases_found_open(tmp_path: Path) -> None:
    """The warning of a log holding no purchase counts the distinct cases of the open
    no-prior-purchase findings, as its "paid cases" says: three paid cases, one of them
    waived, is "found 2 paid cases" (before, 3: the waived one counted too); all waived,
    none is told."""
    import yaml

    from audit.policy import default_policy_path

    header = "case:concept:name,concept:name,time:timestamp,org:resource,org:role,refund:amount\n"
    rows = "".join(f"T{k},Receive refund request,2026-09-0{k}T09:00:00Z,Ann,customer-service,"
                   f"10\nT{k},Approve refund,2026-09-0{k}T10:00:00Z,Bob,supervisor,10\n"
                   f"T{k},Execute payout,2026-09-0{k}T11:00:00Z,Cid,payments,10\n"
                   for k in (1, 2, 3))
    log = tmp_path / "tickets.csv"
    log.write_text(header + rows, encoding="utf-8")
    for name, waived in (("one", ["T2"]), ("all", ["T1", "T2", "T3"])):
        policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
        policy["waivers"] = [{"rule": "EV007", "case": case, "reason": "accepted",
                              "approved_by": "Head of Internal Audit",
                              "expires": "2027-12-31"} for case in waived]
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(policy), encoding="utf-8")
        run("check", str(log), "--policy", str(path), "--out", str(tmp_path / name),
            "--format", "json", "--fail-on", "never", code=0)
        document = json.loads((tmp_path / name / "findings.json").read_text(encoding="utf-8"))
        assert [f["waived"] for f in document["findings"] if f["rule"] == "EV007"] == [
            f"T{k}" in waived for k in (1, 2, 3)]
        told = [w for w in document["manifest"]["warnings"]
                if w.startswith("no-prior-purchase")]
        if name == "one":
            assert len(told) == 1
            assert told[0].startswith("no-prior-purchase found 2 paid cases without a "
                                      "purchase before the payout, and the log holds no "
                                      "purchase at all"), told
        else:
            assert told == []


def test_the_events_not_complete_are_counted_in_the_logs_events(tmp_path: Path) -> None:
    """Events whose lifecycle:transition is not complete (starts) are not judged, and the
    reports' totals of the log's events left them out: the sample with 400 starts read
    "Events in the log (judged + after the clock) 2196" in findings.xlsx beside "Rows read
    2596", and the events more than the rows imported came out 400 short (-400: hidden).
    The summary counts them (`events_not_complete`), findings.xlsx's Summary and
    report.html's population line add them to the log's events, and the events more than
    the rows imported (a charge refunded in several cases) are counted with them: here the
    bundled exports (2,185 records, 11 events more) with 3 starts, at a clock that leaves
    some events after it too."""
    import html
    import re

    import openpyxl

    starts = tmp_path / "starts.csv"
    starts.write_text(
        "case:concept:name,concept:name,time:timestamp,lifecycle:transition,org:resource,"
        "org:role\n"
        + "".join(f"RFD-{n},Approve refund,2026-09-03T10:00:00Z,start,Nadia Ali,supervisor\n"
                  for n in (1, 2, 3)), encoding="utf-8")
    exports = sorted((REPO / "sample_logs" / "refund-sample" / "exports").iterdir())
    out = tmp_path / "out"
    done = run("check", *map(str, exports), str(starts), "--out", str(out), "--format",
               "json,xlsx,html", "--as-of", "2026-09-30T00:00:00Z", "--fail-on", "never",
               code=0)
    summary = json.loads((out / "findings.json").read_text(encoding="utf-8"))["summary"]
    late, judged = summary["events_after_clock"], summary["events"]
    assert summary["events_not_complete"] == 3 and late > 0
    assert summary["imported"] == summary["read"] == 2185 + 3
    in_log = judged + late + 3
    assert in_log == 2196 + 3  # (the exports' 2,196 events and the starts)
    copies = in_log - summary["imported"] + summary["left_out"]
    assert copies == 11
    # The console's first line agrees.
    assert (f", {judged:,} of the log's {in_log:,} events ({late:,} dated after the clock, 3 whose "
            "lifecycle:transition is not complete: not judged)") in done.output.splitlines()[0]
    sheet = openpyxl.load_workbook(out / "findings.xlsx")["Summary"]
    rows = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert rows["Events judged (dated up to the audit clock)"] == judged
    assert rows["Events dated after the clock, not judged"] == late
    assert rows["Events not complete (lifecycle:transition start etc.), not judged"] == 3
    assert rows["Events in the log (judged + after the clock + not complete)"] == in_log
    assert rows["Events more than the rows imported (a charge refunded in several cases is "
                "an event of each)"] == copies
    text = (out / "report.html").read_text(encoding="utf-8")
    population = re.search(r"<dt>Population</dt><dd>(.*?)</dd>", text, re.S)
    assert population is not None
    said = " ".join(html.unescape(re.sub(r"<[^>]+>", "", population.group(1))).split())
    assert said.startswith(f"{summary['cases']:,} refund cases, {judged:,} events judged ")
    assert (f"the log holds {in_log:,} events: {late:,} dated after the audit clock, not "
            "judged, 3 whose lifecycle:transition is not complete (a start, a schedule), not "
            "judged: an activity's completion stands for it, and 11 more than the rows "
            "imported") in said
    assert 'data-metric="events_not_complete" data-value="3"' in text
