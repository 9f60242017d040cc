"""Counts in messages and reports: "1 case", never "1 cases" (nor "1 events", "1 duplicates
dropped", "1 fields where the header has 4")."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.words import counted

ONE_PLURAL = re.compile(r"(?<![\d,.])1 (cases|events|rows|duplicates|fields|labels|waivers|"
                        r"workers|partitions)\b")


def test_counted_is_singular_for_one_only() -> None:
    assert counted(1, "case") == "1 case"
    assert [counted(n, "event") for n in (0, 2)] == ["0 events", "2 events"]
    assert counted(1200, "row", spec=",") == "1,200 rows"
    assert counted(1, "activity", "activities") == "1 activity"
    assert counted(3, "activity", "activities") == "3 activities"


def test_import_and_check_of_one_case_say_one_case(tmp_path: Path) -> None:
    log = tmp_path / "one.csv"
    log.write_text("case_id,activity,timestamp,resource\n"
                   "c1,Receive refund request,2026-01-01T10:00:00Z,ann\n"
                   "lonely\n", encoding="utf-8")
    imported = CliRunner().invoke(main, ["import", str(log), "--out",
                                         str(tmp_path / "log.parquet")])
    assert imported.exit_code == 0, imported.output
    assert "; 1 case\n" in imported.output
    quarantine = (tmp_path / "log.quarantine.csv").read_text(encoding="utf-8")
    assert "1 field where the header has 4" in quarantine
    checked = CliRunner().invoke(main, ["check", str(tmp_path / "log.parquet"), "--out",
                                        str(tmp_path / "out"), "--format", "json",
                                        "--fail-on", "never"])
    assert checked.exit_code == 0, checked.output
    assert "audited 1 case, 1 event (read 1 = " in checked.output
    assert re.search(r"findings: \d+ in 1 case\b", checked.output), checked.output
    for text in (imported.output, quarantine, checked.output):
        assert not ONE_PLURAL.search(text), ONE_PLURAL.search(text)


def test_one_event_not_a_completion_is_told_in_the_singular() -> None:
    told = C.not_completions_told({"start": 1})
    assert told.startswith("1 event whose lifecycle:transition is not complete (start 1) "
                           "was not judged")
    assert C.not_completions_told({"start": 2}).startswith("2 events whose")


def test_policy_check_counts_its_labels_and_waivers(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nactivities:\n  Approve refund: {control: approve}\n"
                      "rules: {select: [SD001]}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["policy", "check", str(policy)])
    assert result.exit_code == 0, result.output
    assert "ok (1 label, 0 waivers)" in result.output
