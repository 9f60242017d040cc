"""`diff`'s counts agree with each run's check: a finding NEW waives is counted as waived,
as check counts it, not among the open ones.

Before, a committee reading a diff beside NEW's report saw "still open 92" and "DU001
still open 4" where NEW's report.html, findings.xlsx and console said 90 findings, and
DU001 3 findings + 1 waived: the diff counted NEW's waived findings among the still-open
ones without saying so, and headed each run with its open and waived findings together
("94 findings" of a run whose check told "findings: 92 ...; waived 2")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.policy import default_policy_path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_logs" / "refund-sample" / "canonical.csv"
WAIVED = (("duplicate-refund", "40288"), ("missing-second-approval", "CS0000010"))


def _policy(path: Path, threshold_eur: int) -> Path:
    """The bundled policy waiving `WAIVED`, its EUR second-approval threshold set."""
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["thresholds"]["second_approval"]["EUR"] = threshold_eur
    policy["waivers"] = [{"rule": rule, "case": case, "reason": "accepted by the committee",
                          "approved_by": "CFO", "expires": "2027-12-31"}
                         for rule, case in WAIVED]
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return path


def _check(out: Path, policy: Path, log: Path = SAMPLE) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy),
                                       "--out", str(out), "--format", "json",
                                       "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    document: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document


def test_diff_counts_waived_findings_as_each_check_does(tmp_path: Path) -> None:
    """The sample checked with two findings waived, then again with the EUR threshold of
    missing-second-approval raised to 1,200 (two of its findings resolved, the waived one of
    1,290.50 EUR still found): the diff's counts of NEW's findings, less those it says NEW
    waives, are NEW's open findings, in all and per rule, as NEW's summary counts them."""
    old = _check(tmp_path / "old", _policy(tmp_path / "old.yaml", 500))
    new = _check(tmp_path / "new", _policy(tmp_path / "new.yaml", 1200))
    assert (old["summary"]["findings"], old["summary"]["waived"]) == (92, 2)
    assert (new["summary"]["findings"], new["summary"]["waived"]) == (90, 2)

    result = CliRunner().invoke(main, ["diff", str(tmp_path / "old"), str(tmp_path / "new"),
                                       "--out", str(tmp_path / "diff")])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = result.output.splitlines()
    # Each run headed with its findings as its check counts them.
    assert any(line.startswith("OLD ") and ", 92 findings and 2 waived, 300 cases judged"
               in line for line in lines), lines[:2]
    assert any(line.startswith("NEW ") and ", 90 findings and 2 waived, 300 cases judged"
               in line for line in lines), lines[:2]
    assert ("findings: new 0, still open 92 (of which 2 waived in NEW, 2 waived in OLD, "
            "1 with changes), changed 0, resolved 2") in lines
    assert "  DU001 duplicate-refund           still open 4 (of which 1 waived in NEW, 1 " \
        "waived in OLD)" in lines
    assert "  AP003 missing-second-approval    still open 2 (of which 1 waived in NEW, 1 " \
        "waived in OLD), resolved 2" in lines

    summary = json.loads((tmp_path / "diff" / "diff.json").read_text(encoding="utf-8"))[
        "summary"]
    waived_in_new = summary["waived_per_class"]["NEW"]
    assert waived_in_new == {"new": 0, "still_open": 2, "changed": 0,
                             "suppressed_in_old": 0, "not_comparable": 0}
    assert summary["not_comparable_by_run"] == {"OLD": 0, "NEW": 0}
    in_new = ("new", "still_open", "changed", "suppressed_in_old")
    assert sum(summary["findings"][c] - waived_in_new[c] for c in in_new) \
        == new["summary"]["findings"]
    assert sum(waived_in_new.values()) == new["summary"]["waived"]
    for code, counts in new["summary"]["by_rule"].items():
        row = summary["by_rule"].get(code)
        in_diff = 0 if row is None else sum(row[c] for c in in_new) - row["waived"]["NEW"]
        assert in_diff == counts["findings"], code
    assert (summary["by_rule"]["DU001"]["waived"],
            summary["by_rule"]["AP003"]["waived"]) == ({"NEW": 1, "OLD": 1}, {"NEW": 1, "OLD": 1})


def _policy_of(path: Path, threshold_eur: int, ignore: str,
               waived: tuple[tuple[str, str], ...]) -> Path:
    """The bundled policy ignoring the rule `ignore`, waiving `waived`, its EUR
    second-approval threshold set."""
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["thresholds"]["second_approval"]["EUR"] = threshold_eur
    policy["rules"]["ignore"] = [ignore]
    policy["waivers"] = [{"rule": rule, "case": case, "reason": "accepted by the committee",
                          "approved_by": "CFO", "expires": "2027-12-31"}
                         for rule, case in waived]
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return path


def test_diff_tells_each_runs_waived_findings_and_not_comparable_by_run(
        tmp_path: Path) -> None:
    """OLD ignores instrument-mismatch (EV006: 3 findings in NEW) and waives a finding of
    refund-exceeds-charge (EV005: 4 findings in OLD) and the AP003 finding of CS0000198 (693.58
    EUR); NEW ignores EV005, waives one finding of EV006, and raises the EUR second-approval
    threshold to 1,200 (AP003's findings of 693.58 and 1,155.03 EUR resolved). DU001 on
    40288 is waived in both. Not comparable holds OLD's 4 findings of EV005 (1 waived in
    OLD) and NEW's 3 of EV006 (1 waived in NEW); resolved 2, of which 1 waived in OLD.

    Before, the diff said "not comparable 7 (of which 1 waived in NEW)" and "resolved 2",
    and its docs that a class's count less NEW's waived is what NEW counts: OLD's findings
    among not comparable, and OLD's waived findings, were counted unsaid."""
    old = _check(tmp_path / "old", _policy_of(
        tmp_path / "old.yaml", 500, "EV006", (("duplicate-refund", "40288"),
                                              ("refund-exceeds-charge", "40032"),
                                              ("missing-second-approval", "CS0000198"))))
    new = _check(tmp_path / "new", _policy_of(
        tmp_path / "new.yaml", 1200, "EV005", (("duplicate-refund", "40288"),
                                               ("instrument-mismatch", "40024"))))
    assert old["summary"]["waived"] == 3 and new["summary"]["waived"] == 2
    # (EV005 on 40288 found in OLD too: DU001's finding there, waived, suppresses none)
    assert [f["case_id"] for f in old["findings"] if f["rule"] == "EV005"] == [
        "40032", "40288", "CS0000212", "RFD-120"]
    assert [f["case_id"] for f in new["findings"] if f["rule"] == "EV006"] == [
        "40024", "40115", "CS0000206"]

    result = CliRunner().invoke(main, ["diff", str(tmp_path / "old"), str(tmp_path / "new"),
                                       "--out", str(tmp_path / "diff")])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = result.output.splitlines()
    findings_line = next(line for line in lines if line.startswith("findings: "))
    assert ", resolved 2 (of which 1 waived in OLD), " in findings_line, findings_line
    assert findings_line.endswith(
        ", not comparable 7 (4 of OLD, of which 1 waived in OLD; 3 of NEW, of which 1 "
        "waived in NEW)"), findings_line
    assert "  EV005 refund-exceeds-charge      not comparable 4 (of OLD, of which 1 waived " \
        "in OLD)" in lines
    assert "  EV006 instrument-mismatch        not comparable 3 (of NEW, of which 1 waived " \
        "in NEW)" in lines
    assert "  AP003 missing-second-approval    still open 2, resolved 2 (of which 1 waived " \
        "in OLD)" in lines

    document = json.loads((tmp_path / "diff" / "diff.json").read_text(encoding="utf-8"))
    summary, rows = document["summary"], document["findings"]
    assert "waived_in_new" not in summary  # (the money bridge's closed reason, not a count)
    assert summary["not_comparable_by_run"] == {"OLD": 4, "NEW": 3}
    waived = summary["waived_per_class"]
    assert waived == {"NEW": {"new": 0, "still_open": 1, "changed": 0,
                              "suppressed_in_old": 0, "not_comparable": 1},
                      "OLD": {"still_open": 1, "changed": 0, "resolved": 1, "not_rejudged": 0,
                              "suppressed_in_new": 0, "not_comparable": 1}}
    # Each run's findings as its check counts them, from the diff's counts: NEW's classes
    # (not comparable's NEW part) less NEW's waived, OLD's likewise.
    counts = summary["findings"]
    in_new = sum(counts[c] for c in ("new", "still_open", "changed", "suppressed_in_old")) \
        + summary["not_comparable_by_run"]["NEW"]
    assert in_new - sum(waived["NEW"].values()) == new["summary"]["findings"]
    assert sum(waived["NEW"].values()) == new["summary"]["waived"]
    in_old = sum(counts[c] for c in ("still_open", "changed", "resolved", "not_rejudged",
                                     "suppressed_in_new")) \
        + summary["not_comparable_by_run"]["OLD"]
    # (the rows agree: OLD's waived in both runs, DU001 on 40288)
    assert sum(1 for row in rows if row["class"] in ("still_open", "changed")
               and row["old_waived"]) == waived["OLD"]["still_open"] == 1
    assert in_old - sum(waived["OLD"].values()) == old["summary"]["findings"]
    assert sum(waived["OLD"].values()) == old["summary"]["waived"]
    by_rule = summary["by_rule"]
    assert (by_rule["EV005"]["not_comparable_by_run"], by_rule["EV005"]["waived"]) == (
        {"OLD": 4, "NEW": 0}, {"NEW": 0, "OLD": 1})
    assert (by_rule["EV006"]["not_comparable_by_run"], by_rule["EV006"]["waived"]) == (
        {"OLD": 0, "NEW": 3}, {"NEW": 1, "OLD": 0})
    assert by_rule["AP003"]["waived"] == {"NEW": 0, "OLD": 1}
    assert by_rule["DU001"]["waived"] == {"NEW": 1, "OLD": 1}


def test_olds_waived_findings_in_both_runs_reconcile_from_the_summary_alone(
        tmp_path: Path) -> None:
    """OLD and NEW both waive DU001 on 40288 (still open) and unmapped-activity (DQ001) on
    RFD-150, whose finding changed: NEW's log has one more unmapped event in RFD-150 (its
    finding cites other events, another fingerprint). OLD's header (its open findings and
    its waived) follows from diff.json's summary alone, in all and per rule.

    Before, OLD's waived findings still open or changed were counted nowhere in the summary
    (`waived_per_class.OLD` held resolved, not re-judged, suppressed in NEW and not
    comparable only): from the summary, OLD had 2 open findings more than its check counts
    and none waived, against its check's 2 waived."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    added = frame[frame["event:id"] == "jira:RFD-150:5000294"].copy()
    assert len(added) == 1
    added["event:id"] = "jira:RFD-150:9999999"
    added["concept:name"] = "Customer called back again"
    log = tmp_path / "new.csv"
    pd.concat([frame, added], ignore_index=True).to_csv(log, index=False)
    both = (("duplicate-refund", "40288"), ("unmapped-activity", "RFD-150"))
    old = _check(tmp_path / "old", _policy_of(tmp_path / "old.yaml", 500, "EV006", both))
    new = _check(tmp_path / "new", _policy_of(tmp_path / "new.yaml", 500, "EV006", both),
                 log)
    assert (old["summary"]["waived"], new["summary"]["waived"]) == (2, 2)

    result = CliRunner().invoke(main, ["diff", str(tmp_path / "old"), str(tmp_path / "new"),
                                       "--out", str(tmp_path / "diff")])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = result.output.splitlines()
    findings_line = next(line for line in lines if line.startswith("findings: "))
    assert findings_line.startswith(
        "findings: new 0, still open 90 (of which 1 waived in NEW, 1 waived in OLD), "
        "changed 1 (of which 1 waived in NEW, 1 waived in OLD), "), findings_line
    assert next(line for line in lines if line.startswith("  DQ001 ")) == (
        "  DQ001 unmapped-activity          still open 2, changed 1 (of which 1 waived in "
        "NEW, 1 waived in OLD)")

    summary = json.loads((tmp_path / "diff" / "diff.json").read_text(encoding="utf-8"))[
        "summary"]
    counts, waived = summary["findings"], summary["waived_per_class"]
    assert waived["OLD"] == {"still_open": 1, "changed": 1, "resolved": 0, "not_rejudged": 0,
                             "suppressed_in_new": 0, "not_comparable": 0}
    in_old = ("still_open", "changed", "resolved", "not_rejudged", "suppressed_in_new")
    in_new = ("new", "still_open", "changed", "suppressed_in_old")
    for run, classes, document in (("OLD", in_old, old), ("NEW", in_new, new)):
        total = sum(counts[c] for c in classes) + summary["not_comparable_by_run"][run]
        assert (total - sum(waived[run].values()), sum(waived[run].values())) == (
            document["summary"]["findings"], document["summary"]["waived"]), run
        for code, of_rule in document["summary"]["by_rule"].items():
            row = summary["by_rule"].get(code)
            total = 0 if row is None else (sum(row[c] for c in classes)
                                           + row["not_comparable_by_run"][run])
            n_waived = 0 if row is None else row["waived"][run]
            assert total - n_waived == of_rule["findings"], (run, code)
            assert n_waived == sum(1 for f in document["findings"]
                                   if f["rule"] == code and f["waived"]), (run, code)
