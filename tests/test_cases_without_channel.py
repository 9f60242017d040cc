"""A case stating no channel (`refund:channel` on none of its events) is judged by neither
missing-evidence (the evidence required is the channel's) nor, without a '*' SOP, the
conformance rules and unauthorized-performer (the SOP and its lanes are the channel's).
Before, a log with a third of its cases stripped of their channel lost their conformance
findings and gave no word of it: the run's warnings count such cases and name the rules."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audit.cli import main


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    result = CliRunner().invoke(main, ["-q", "sample", "--cases", "60", "--seed", "3",
                                       "--out", str(folder / "s")])
    assert result.exit_code == 0, result.output
    return folder / "s" / "canonical.csv"


def _stripped(sample: Path, folder: Path, cases: int, *, some_events: bool = False) -> Path:
    """The sample with the channel blanked on every event of its first `cases` cases (or,
    with `some_events`, on all but their first event)."""
    with sample.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = list(dict.fromkeys(row["case:concept:name"] for row in rows))[:cases]
    seen: set[str] = set()
    for row in rows:
        case = row["case:concept:name"]
        if case in names:
            if some_events and case not in seen:
                seen.add(case)
                continue
            row["refund:channel"] = ""
    path = folder / "log.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _check(log: Path, out: Path, *options: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--format",
                                       "json", "--fail-on", "never", *options])
    assert result.exit_code == 0, (result.output, result.exception)
    data: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return data


def _told(data: dict[str, Any]) -> list[str]:
    return [w for w in data["manifest"]["warnings"] if "state no channel" in w
            or "states no channel" in w]


def test_cases_stating_no_channel_are_counted_with_the_rules_that_did_not_judge_them(
        sample: Path, tmp_path: Path) -> None:
    whole = _check(sample, tmp_path / "whole")
    stripped = _check(_stripped(sample, tmp_path, 20), tmp_path / "stripped")
    assert _told(whole) == []
    assert _told(stripped) == [
        "20 cases of 60 state no channel (refund:channel, on none of their events): "
        "missing-evidence requires each channel's own evidence, and skipped-activity, "
        "unexpected-activity, wrong-order, unfit-case and unauthorized-performer judge a "
        "case by its channel's SOP (the policy's sop has no '*' entry, and no --sop was "
        "given): these rules did not judge them; record each case's channel"]
    # What the warning says is so: the conformance rules aligned 40 cases, not 60.
    aligned = sum(c["cases"] for c in stripped["summary"]["conformance"].values())
    assert sum(c["cases"] for c in whole["summary"]["conformance"].values()) == 60
    assert aligned == 40


def test_one_sop_for_every_channel_leaves_only_missing_evidence_unjudged(
        sample: Path, tmp_path: Path) -> None:
    data = _check(_stripped(sample, tmp_path, 1), tmp_path / "out", "--sop",
                  "ecommerce.bpmn")
    assert _told(data) == [
        "1 case of 60 states no channel (refund:channel, on none of its events): "
        "missing-evidence requires each channel's own evidence: the rule did not judge it; "
        "record each case's channel"]


def test_a_channel_stated_on_one_event_of_the_case_is_the_cases(
        sample: Path, tmp_path: Path) -> None:
    """The case's channel is the first its events state: a case stating it once is judged,
    and not counted."""
    data = _check(_stripped(sample, tmp_path, 20, some_events=True), tmp_path / "out")
    assert _told(data) == []
    assert sum(c["cases"] for c in data["summary"]["conformance"].values()) == 60


def test_a_log_without_a_channel_column_is_told_once_per_reason(tmp_path: Path) -> None:
    """A generic CSV with no channel column: the conformance rules aligned nothing (their
    own warning says why); this one names missing-evidence and unauthorized-performer."""
    log = tmp_path / "log.csv"
    log.write_text("case,activity,timestamp,resource\n"
                   "C1,Receive refund request,2026-07-01T09:00:00Z,ann\n"
                   "C1,Approve refund,2026-07-02T09:00:00Z,bob\n"
                   "C2,Receive refund request,2026-07-01T09:00:00Z,ann\n", encoding="utf-8")
    data = _check(log, tmp_path / "out")
    warnings = data["manifest"]["warnings"]
    assert [w for w in warnings if w.startswith("conformance judged no case")]
    assert _told(data) == [
        "2 cases of 2 state no channel (refund:channel, on none of their events): "
        "missing-evidence requires each channel's own evidence, and unauthorized-performer "
        "judges a case by its channel's SOP (the policy's sop has no '*' entry, and no --sop "
        "was given): these rules did not judge them; record each case's channel"]


def test_rules_left_out_by_the_policy_are_not_named(sample: Path, tmp_path: Path) -> None:
    import yaml

    from audit.policy import default_policy_path

    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["rules"]["ignore"] = ["EV001", "CF001", "CF002", "CF003", "CF004", "SD004"]
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    data = _check(_stripped(sample, tmp_path, 5), tmp_path / "out", "--policy",
                  str(tmp_path / "policy.yaml"))
    assert _told(data) == []


def test_an_event_stating_no_channel_without_a_role_is_counted_unjudged() -> None:
    """unauthorized-performer's warning counts the events it would judge but cannot (no
    role recorded): an event stating no channel is its case's, so it is counted too."""
    from dataclasses import replace

    from audit.policy import default_policy_path, load_policy
    from audit.rules.duties.sd004_unauthorized_performer import unrecorded_roles
    from audit.rules.facts import CaseFacts
    from audit.rules.registry import default_rules
    from tests.rules.logbuilder import build_log

    policy = replace(load_policy(default_policy_path(), known_rules=default_rules().known),
                     sop={"ecommerce": "ecommerce.bpmn"})
    log = build_log({
        "C1": [{"a": "Capture payment"}, {"a": "Receive refund request", "channel": None},
               {"a": "Close ticket", "r": None, "channel": None}],
        "C2": [{"a": "Capture payment", "channel": None},
               {"a": "Receive refund request", "channel": None},
               {"a": "Close ticket", "r": None, "channel": None}]}, policy)
    assert unrecorded_roles(CaseFacts(log, policy, policy.as_of or datetime.now(UTC))) == {
        "Close ticket": 1}


def test_a_case_stating_two_channels_is_reported_with_the_one_the_rules_read() -> None:
    """conflicting-channel names the case's channel (its ticket's: the first its ticket
    events state, not the purchase's, which a payment system mapped to one channel gives),
    the others and the events stating them; every other rule judged the case by it: the
    evidence asked for, and the SOP aligned on."""
    from audit.policy import default_policy_path, load_policy
    from audit.rules.engine import run_rules
    from audit.rules.registry import default_rules
    from tests.rules.logbuilder import build_log

    rules = default_rules()
    policy = load_policy(default_policy_path(), known_rules=rules.known)
    log = build_log({"C1": [
        {"a": "Charge subscription renewal", "channel": "subscription"},
        {"a": "Receive refund request", "channel": "offline"},
        {"a": "Collect evidence", "channel": "ecommerce", "ev": {"order": "o"}},
        {"a": "Approve refund", "channel": "offline"},
        {"a": "Execute payout", "channel": None}]}, policy)
    result = run_rules(log, policy, rules, as_of=policy.as_of)
    assert result.errors == []
    found = {f.name: f for f in result.findings}
    conflict = found["conflicting-channel"]
    assert list(conflict.event_ids) == ["C1-01", "C1-03"]
    assert conflict.evidence["channel"] == "offline"
    assert conflict.evidence["others"] == "subscription, ecommerce"
    assert conflict.evidence["events_of_other_channels"] == 2
    assert conflict.message == ("2 events state another channel (subscription, ecommerce) "
                                "than the case's, offline: every rule judged the case as "
                                "offline")
    # missing-evidence asked for the offline evidence (the receipt and the photo), not the
    # subscription's, and the case was aligned on the offline SOP.
    assert found["missing-evidence"].evidence["missing"] == ["receipt", "photo"]
    conformance = result.extra["conformance"]
    assert isinstance(conformance, dict)
    assert sorted(conformance) == ["offline"]


def test_a_refund_window_names_outside_refund_window(sample: Path, tmp_path: Path) -> None:
    """Where the policy sets a refund window, outside-refund-window judges no case stating
    no channel (the window is the channel's): the warning names it too (before, it named
    the other rules alone, and here, where they are left out, gave no word)."""
    import yaml

    from audit.policy import default_policy_path

    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["rules"]["ignore"] = ["EV001", "CF001", "CF002", "CF003", "CF004", "SD004"]
    policy["refund_window"] = {"within": {"ecommerce": "30d", "subscription": "14d",
                                          "offline": "30d"}}
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    data = _check(_stripped(sample, tmp_path, 5), tmp_path / "out", "--policy",
                  str(tmp_path / "policy.yaml"))
    assert _told(data) == [
        "5 cases of 60 state no channel (refund:channel, on none of their events): "
        "outside-refund-window measures a refund against its channel's refund window: the "
        "rule did not judge them; record each case's channel"]
