"""outside-refund-window (EV008): the policy's `refund_window` (read and refused where
wrong), the cases the rule could not measure (findings.json `unjudged_cases.EV008`, the
warning), and `check`'s warning of a window for a channel the log lacks. Which cases it
finds is pinned by tests/rules/cases/EV008_outside-refund-window.yml."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.errors import InputError
from audit.policy import default_policy_path, load_policy
from audit.rules.engine import run_rules
from audit.rules.registry import default_rules
from tests.rules.logbuilder import build_log

RULES = default_rules()
CLOCK = "2026-10-15T00:00:00Z"
LATE = [{"a": "Capture payment", "t": "2026-06-01T09:00Z"},
        {"a": "Receive refund request", "t": "2026-07-15T09:00Z"},
        {"a": "Approve refund"}, {"a": "Execute payout"}]
NO_PURCHASE = [{"a": "Receive refund request", "t": "2026-07-15T09:00Z"},
               {"a": "Approve refund"}, {"a": "Execute payout"}]
ASKED_ONLY = [{"a": "Receive refund request", "t": "2026-07-15T09:00Z"}]


def _policy_file(tmp_path: Path, window: Any) -> Path:
    data = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    data.pop("sop")
    if window is not None:
        data["refund_window"] = window
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_default_policy_sets_no_window() -> None:
    """The bundled sample's refunds are asked for up to 79 days after the purchase and its
    ground truth holds no late refund: the bundled policy sets no window (the demo keeps its
    93 findings in 75 cases)."""
    policy = load_policy(default_policy_path())
    assert policy.refund_window == {}
    assert policy.refund_window_exception_roles == ()


def test_the_window_is_read_per_channel(tmp_path: Path) -> None:
    path = _policy_file(tmp_path, {"within": {"ecommerce": "30d", "offline": "2w"},
                                   "exception_approvers": ["finance"]})
    policy = load_policy(path)
    assert policy.refund_window == {"ecommerce": timedelta(days=30),
                                    "offline": timedelta(days=14)}
    assert policy.refund_window_exception_roles == ("finance",)


@pytest.mark.parametrize("window,field,told", [
    ({"within": {"shop": "30d"}}, "refund_window.within.shop", "unknown channel 'shop'"),
    ({"within": {"ecommerce": "30 days"}}, "refund_window.within.ecommerce",
     "not a duration"),
    ({"within": {"ecommerce": "30d"}, "exceptions": ["finance"]},
     "refund_window.exceptions", "unknown key 'exceptions'"),
    ({"within": ["ecommerce"]}, "refund_window.within", "must be a mapping"),
    ({"within": {"ecommerce": "30d"}, "exception_approvers": [1]},
     "refund_window.exception_approvers", "must be a list of text values"),
    # exception approvers but no window: it would load and judge nothing, silently
    ({"exception_approvers": ["finance"]}, "refund_window.within", "sets no window"),
    ({"within": {}}, "refund_window.within", "sets no window"),
])
def test_a_wrong_window_is_refused_naming_its_line(tmp_path: Path, window: dict[str, Any],
                                                   field: str, told: str) -> None:
    path = _policy_file(tmp_path, window)
    with pytest.raises(InputError, match=told) as caught:
        load_policy(path)
    assert caught.value.field == field
    assert caught.value.unit == "line" and caught.value.row is not None


def test_without_a_window_nothing_is_judged_nor_listed(tmp_path: Path) -> None:
    policy = load_policy(_policy_file(tmp_path, None))
    log = build_log({"L1": LATE, "N1": NO_PURCHASE}, policy)
    result = run_rules(log, policy, RULES, as_of=policy.as_of)
    assert [f for f in result.findings if f.rule == "EV008"] == []
    assert "EV008" not in result.extra.get("unjudged_cases", {})


def test_a_granted_refund_without_a_purchase_before_it_is_listed_unjudged(
        tmp_path: Path) -> None:
    """N1 (approved and paid, no purchase) cannot be measured: listed; A1 (asked, nothing
    granted) is not judged at all, so not listed; L1 is found."""
    policy = load_policy(_policy_file(tmp_path, {"within": {"ecommerce": "30d"}}))
    log = build_log({"L1": LATE, "N1": NO_PURCHASE, "A1": ASKED_ONLY}, policy)
    result = run_rules(log, policy, RULES, as_of=policy.as_of)
    assert [f.case_id for f in result.findings if f.rule == "EV008"] == ["L1"]
    assert result.extra["unjudged_cases"]["EV008"] == {"no_purchase_before_request": ["N1"]}


def _canonical(tmp_path: Path, log: dict[str, Any], channel_policy: Path) -> Path:
    frame = build_log(log, load_policy(channel_policy))
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    return path


def test_check_warns_of_cases_not_measured_and_of_channels_the_log_lacks(
        tmp_path: Path) -> None:
    policy = _policy_file(tmp_path, {"within": {"ecommerce": "30d", "subscription": "14d"}})
    log = _canonical(tmp_path, {"L1": LATE, "N1": NO_PURCHASE}, policy)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--out",
                                       str(out), "--format", "json", "--fail-on", "never",
                                       "--as-of", CLOCK])
    assert result.exit_code == 0, (result.output, result.exception)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [f["case_id"] for f in document["findings"] if f["rule"] == "EV008"] == ["L1"]
    assert document["unjudged_cases"]["EV008"] == {"no_purchase_before_request": ["N1"]}
    warnings = document["manifest"]["warnings"]
    assert ("outside-refund-window did not judge 1 granted refund: its case holds no purchase "
            "at or before the request to measure the window from (N1)") in warnings
    assert ("the policy's refund_window.within sets a window for subscription, but no case "
            "of the log states that channel (refund:channel): outside-refund-window judges "
            "no refund by it") in warnings
    assert "outside-refund-window did not judge" in result.output


def test_the_default_policys_commented_example_loads(tmp_path: Path) -> None:
    """The commented `refund_window` of the bundled policy (what `policy init` writes) is a
    valid setting once uncommented."""
    text = default_policy_path().read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index("# refund_window:")
    example = [line.removeprefix("# ") for line in lines[start:start + 3]]
    assert example[0] == "refund_window:"
    path = tmp_path / "policy.yaml"
    path.write_text("\n".join([*lines[:start], *example, *lines[start + 3:]]) + "\n",
                    encoding="utf-8")
    policy = load_policy(path)
    assert policy.refund_window == {"ecommerce": timedelta(days=30),
                                    "subscription": timedelta(days=14),
                                    "offline": timedelta(days=30)}
    assert policy.refund_window_exception_roles == ("finance",)


def _checked(tmp_path: Path, name: str, log: dict[str, Any], policy: Path) -> Path:
    frame = build_log(log, load_policy(policy))
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / name
    result = CliRunner().invoke(main, ["check", str(path), "--policy", str(policy), "--out",
                                       str(out), "--format", "json", "--fail-on", "never",
                                       "--as-of", CLOCK])
    assert result.exit_code == 0, (result.output, result.exception)
    return out


def test_diff_tells_a_case_not_measured_from_one_resolved(tmp_path: Path) -> None:
    """OLD finds L1 late; NEW's log lacks L1's purchase, so NEW could not measure it: its
    finding is not re-judged (not resolved, as if the refund had come within its window),
    and the mirror, NEW's finding of a case OLD could not measure, says OLD did not judge
    it."""
    policy = _policy_file(tmp_path, {"within": {"ecommerce": "30d"}})
    with_purchase = _checked(tmp_path, "with", {"L1": LATE}, policy)
    without = _checked(tmp_path, "without", {"L1": LATE[1:]}, policy)

    assert _ev008_diff(with_purchase, without, tmp_path / "gone") == [(
        "not_rejudged", "not judged: its case holds no purchase at or before its request in "
        "NEW, the start of the refund window (a gap in the data, not shown to be a fix)")]
    assert _ev008_diff(without, with_purchase, tmp_path / "came") == [(
        "new", "OLD did not judge its case: its case holds no purchase at or before its "
        "request in OLD, the start of the refund window")]


def test_check_warns_of_an_exception_role_no_event_records_close_to_one(
        tmp_path: Path) -> None:
    """An exception approver spelt wrong (`fiance`) accepts no approval by finance: every
    late refund finance approves is found. check warns, as it does of a misspelt role of
    `approvers` or `performers`; a role spelt right raises no warning."""
    excepted = [*LATE[:2], {"a": "Approve refund", "r": "Rita Alvarez", "role": "finance"},
                LATE[3]]

    def warned(roles: list[str]) -> tuple[list[str], list[str]]:
        policy = _policy_file(tmp_path, {"within": {"ecommerce": "30d"},
                                         "exception_approvers": roles})
        log = _canonical(tmp_path, {"X1": excepted}, policy)
        out = tmp_path / "out"
        result = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--out",
                                           str(out), "--format", "json", "--fail-on", "never",
                                           "--as-of", CLOCK])
        assert result.exit_code == 0, (result.output, result.exception)
        document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
        return ([f["case_id"] for f in document["findings"] if f["rule"] == "EV008"],
                [w for w in document["manifest"]["warnings"] if "fiance" in w
                 or "exception_approvers" in w])

    assert warned(["finance"]) == ([], [])
    found, told = warned(["fiance"])
    assert found == ["X1"]
    assert told == [
        "the policy allows the role 'fiance' (refund_window.exception_approvers), which no "
        "event of the log records and no lane of the SOP holds, but is close to the role "
        "'finance' there: a typo? outside-refund-window accepts no late refund approved by "
        "the role meant as an exception, and finds it"]


def test_without_a_window_the_rule_is_told_not_configured_and_diff_does_not_resolve(
        tmp_path: Path) -> None:
    """Without `refund_window` outside-refund-window judges no case: findings.json's
    by_rule, the HTML and XLSX rule tables and the console say "not configured" (not "ran,
    0 findings", which reads as no late refund), and diff calls OLD's finding not
    re-judged by a NEW whose policy sets no window (before: resolved, "NEW judged its case
    and did not find it"), and NEW's finding new "OLD did not judge its case"."""
    import openpyxl

    (tmp_path / "w").mkdir()
    with_window = _policy_file(tmp_path / "w", {"within": {"ecommerce": "30d"}})
    without = _policy_file(tmp_path, None)
    frame = build_log({"L1": LATE}, load_policy(with_window))
    log = tmp_path / "log.csv"
    frame.to_csv(log, index=False)

    def checked(name: str, policy: Path) -> tuple[Path, str]:
        out = tmp_path / name
        result = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--out",
                                           str(out), "--format", "json,html,xlsx",
                                           "--fail-on", "never", "--as-of", CLOCK])
        assert result.exit_code == 0, (result.output, result.exception)
        return out, result.output

    old, _ = checked("old", with_window)
    new, said = checked("new", without)
    told = "not configured: the policy sets no refund_window"
    rows = {p: json.loads((p / "findings.json").read_text(encoding="utf-8"))["summary"]
            ["by_rule"]["EV008"] for p in (old, new)}
    assert "note" not in rows[old] and rows[old]["findings"] == 1
    assert rows[new]["note"] == told and rows[new]["status"] == "ran"
    assert f"EV008 {'outside-refund-window':<26} {told}: judged no case" in said
    html = (new / "report.html").read_text(encoding="utf-8")
    assert (f'<td data-rule-status="EV008"><span class="words" title="{told}: judged no '
            'case">ran, not configured</span></td>') in html
    assert '<td data-rule-status="EV008">ran</td>' in (old / "report.html").read_text(
        encoding="utf-8")
    cells = {c.value for ws in openpyxl.load_workbook(new / "findings.xlsx").worksheets
             for row in ws.iter_rows() for c in row}
    assert f"ran, {told}: judged no case" in cells

    assert _ev008_diff(old, new, tmp_path / "gone") == [(
        "not_rejudged", f"not judged: rule EV008 judged no case in NEW, {told} (a change of "
        "the policy, not shown to be a fix)")]
    assert _ev008_diff(new, old, tmp_path / "came") == [(
        "new", f"OLD did not judge its case: rule EV008 judged no case in OLD, {told}")]


def _ev008_diff(old: Path, new: Path, out: Path) -> list[tuple[str, str]]:
    """`diff OLD NEW --out OUT`'s EV008 findings as (class, reason)."""
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    return [(r["class"], r["reason"]) for r in diff["findings"] if r["rule"] == "EV008"]
