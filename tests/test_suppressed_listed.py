"""findings.json lists the findings precedence suppressed (`suppressed`: rule, case,
fingerprint and the code of the rule whose finding explains each), which were counted
(`summary.suppressed_by_precedence`) but named nowhere: a waiver that brings one back (a
waived duplicate-refund, its case's refund-exceeds-charge) looked unexplained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.policy import default_policy_path

SAMPLE = Path(__file__).resolve().parent.parent / "sample_logs" / "refund-sample" / "canonical.csv"


def check(out: Path, *extra: str, formats: str = "json") -> dict[str, Any]:
    done = CliRunner().invoke(main, ["check", str(SAMPLE), "--out", str(out), "--format",
                                     formats, "--fail-on", "never", *extra])
    assert done.exit_code == 0, (done.output, done.exception)
    document: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("plain") / "out"
    document = check(out, formats="json,html")
    document["html"] = (out / "report.html").read_text(encoding="utf-8")
    return document


def test_each_suppressed_finding_is_listed_with_the_rule_that_explains_it(
        plain: dict[str, Any]) -> None:
    suppressed = plain["suppressed"]
    assert len(suppressed) == plain["summary"]["suppressed_by_precedence"] == 9
    kept = {(f["rule"], f["case_id"]) for f in plain["findings"]}
    prints = {f["fingerprint"] for f in plain["findings"]}
    for entry in suppressed:
        # (the case as findings name it, `case_id`; before: `case`)
        assert set(entry) == {"rule", "case_id", "fingerprint", "suppressed_by"}
        assert (entry["suppressed_by"], entry["case_id"]) in kept  # the finding explaining it
        assert (entry["rule"], entry["case_id"]) not in kept
        assert entry["fingerprint"] not in prints
    assert {(e["rule"], e["suppressed_by"]) for e in suppressed} == {
        ("SL001", "EV003"), ("EV005", "DU001"), ("AP001", "EV002")}
    assert suppressed == sorted(suppressed, key=lambda e: (e["case_id"], e["rule"],
                                                           e["fingerprint"]))
    # The report says where they are (before: "not counted or listed", and listed nowhere).
    assert ('<span data-metric="suppressed" data-value="9">9</span> further findings are not '
            "counted or listed here: another rule's finding on the same case explains them "
            "(precedence, e.g. payout-exceeds-approved over amount-mismatch; see each rule's "
            "doc); findings.json lists them (<code>suppressed</code>: rule, case, fingerprint "
            "and the rule explaining each)") in " ".join(plain["html"].split())


def test_a_waiver_bringing_a_suppressed_finding_back_shows_which(plain: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    """The reviewer's case: duplicate-refund waived on 40288, its refund-exceeds-charge
    comes back: the finding listed as suppressed before, by its fingerprint."""
    before = next(e for e in plain["suppressed"]
                  if (e["rule"], e["case_id"]) == ("EV005", "40288"))
    assert before["suppressed_by"] == "DU001"
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["waivers"] = [{"rule": "DU001", "case": "40288", "reason": "known",
                          "approved_by": "CFO", "expires": "2027-12-31"}]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    waived = check(tmp_path / "out", "--policy", str(path))
    back = next(f for f in waived["findings"] if (f["rule"], f["case_id"]) == ("EV005", "40288"))
    assert back["fingerprint"] == before["fingerprint"] and not back["waived"]
    assert before not in waived["suppressed"]
    assert len(waived["suppressed"]) == waived["summary"]["suppressed_by_precedence"] == 8
