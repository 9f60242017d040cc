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


def _check(out: Path, policy: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["check", str(SAMPLE), "--policy", str(policy),
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
    assert ("findings: new 0, still open 92 (of which 2 waived in NEW, 1 with changes), "
            "changed 0, resolved 2") in lines
    assert "  DU001 duplicate-refund           still open 4 (of which 1 waived in NEW)" \
        in lines
    assert "  AP003 missing-second-approval    still open 2 (of which 1 waived in NEW), " \
        "resolved 2" in lines

    summary = json.loads((tmp_path / "diff" / "diff.json").read_text(encoding="utf-8"))[
        "summary"]
    waived_in_new = summary["waived_in_new"]
    assert waived_in_new == {"new": 0, "still_open": 2, "changed": 0,
                             "suppressed_in_old": 0, "not_comparable": 0}
    in_new = ("new", "still_open", "changed", "suppressed_in_old")
    assert sum(summary["findings"][c] - waived_in_new[c] for c in in_new) \
        == new["summary"]["findings"]
    assert sum(waived_in_new.values()) == new["summary"]["waived"]
    for code, counts in new["summary"]["by_rule"].items():
        row = summary["by_rule"].get(code)
        in_diff = 0 if row is None else sum(row[c] for c in in_new) - row["waived_in_new"]
        assert in_diff == counts["findings"], code
    assert (summary["by_rule"]["DU001"]["waived_in_new"],
            summary["by_rule"]["AP003"]["waived_in_new"]) == (1, 1)
