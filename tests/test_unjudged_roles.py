"""The cases whose events unauthorized-approver (AP004) and unauthorized-performer (SD004)
could not judge for want of a recorded role: findings.json's `unjudged_cases`, named in the
warning (console, manifest, report.html, findings.xlsx), and read by `diff` (an earlier
finding of such a case is not re-judged, not resolved)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from audit.cli import main

CLOCK = "2026-08-01T00:00:00Z"
HEADER = "case:concept:name,concept:name,time:timestamp,org:resource,org:role,refund:channel\n"


def _log(role: str, extra_cases: int = 0) -> str:
    """C1's approval by Nadia Rossi in `role` (blank: not recorded); C2 judged whole; and
    `extra_cases` more cases (X01, ...) whose approval records no role."""
    rows = [
        "C1,Receive refund request,2026-07-01T08:00:00Z,Ben Carter,customer-service,ecommerce",
        f"C1,Approve refund,2026-07-01T09:00:00Z,Nadia Rossi,{role},ecommerce",
        "C1,Execute payout,2026-07-01T10:00:00Z,Victor Chen,payments,ecommerce",
        "C1,Close ticket,2026-07-01T11:00:00Z,Ben Carter,customer-service,ecommerce",
        "C2,Receive refund request,2026-07-01T08:00:00Z,Ben Carter,customer-service,ecommerce",
        "C2,Approve refund,2026-07-01T09:00:00Z,Omar Haddad,supervisor,ecommerce",
        "C2,Execute payout,2026-07-01T10:00:00Z,Victor Chen,payments,ecommerce",
        "C2,Close ticket,2026-07-01T11:00:00Z,Ben Carter,customer-service,ecommerce"]
    for k in range(extra_cases):
        rows += [f"X{k:02d},Receive refund request,2026-07-01T08:00:00Z,Ben Carter,"
                 "customer-service,ecommerce",
                 f"X{k:02d},Approve refund,2026-07-01T09:00:00Z,Nadia Rossi,,ecommerce"]
    return HEADER + "\n".join(rows) + "\n"


def _run(*args: str, code: int) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def _check(tmp_path: Path, name: str, text: str, *formats: str) -> Path:
    log = tmp_path / f"{name}.csv"
    log.write_text(text, encoding="utf-8")
    _run("check", str(log), "--out", str(tmp_path / name), "--format",
         ",".join(formats or ("json",)), "--fail-on", "never", "--as-of", CLOCK, code=0)
    return tmp_path / name


def _document(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "findings.json").read_text(encoding="utf-8"))


def _diff(tmp_path: Path, old: Path, new: Path, name: str) -> dict[str, Any]:
    _run("diff", str(old), str(new), "--out", str(tmp_path / name), code=0)
    return json.loads((tmp_path / name / "diff.json").read_text(encoding="utf-8"))


def _ap004(diff: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(r["case_id"], r["class"], r["reason"]) for r in diff["findings"]
            if r["rule"] == "AP004"]


def test_findings_json_names_the_cases_each_role_rule_could_not_judge(tmp_path: Path) -> None:
    """C1's approval records no role: AP004 does not judge it and lists C1 (with the reason);
    SD004 judged every task (each records a role) and lists none; C2 neither. The warning
    names C1, where before it named no case."""
    folder = _check(tmp_path, "blank", _log(""))
    document = _document(folder)
    assert document["unjudged_cases"] == {"AP004": {"role_not_recorded": ["C1"]},
                                         "SD004": {"role_not_recorded": []}}
    assert [f for f in document["findings"] if f["rule"] == "AP004"] == []
    told = [w for w in document["manifest"]["warnings"] if "role is not recorded" in w]
    assert len(told) == 1
    assert told[0].startswith("unauthorized-approver did not judge 1 event whose role is not "
                              "recorded (Approve refund 1) in case C1: ")
    # Recorded, the role is judged, and no case is listed.
    document = _document(_check(tmp_path, "recorded", _log("customer-service")))
    assert document["unjudged_cases"] == {"AP004": {"role_not_recorded": []},
                                         "SD004": {"role_not_recorded": []}}
    assert [f["case_id"] for f in document["findings"] if f["rule"] == "AP004"] == ["C1"]


def test_the_warning_names_the_first_few_cases_by_id_and_the_reports_show_it(
        tmp_path: Path) -> None:
    """Many cases: the warning names the first three by case id and says there are others;
    findings.json lists each. report.html and findings.xlsx show the same warning."""
    folder = _check(tmp_path, "many", _log("", extra_cases=5), "json", "html", "xlsx")
    document = _document(folder)
    assert document["unjudged_cases"]["AP004"]["role_not_recorded"] == [
        "C1", "X00", "X01", "X02", "X03", "X04"]
    told = [w for w in document["manifest"]["warnings"] if "role is not recorded" in w]
    assert " in cases C1, X00, X01 and others: " \
        in told[0]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "in cases C1, X00, X01 and others" in html
    from openpyxl import load_workbook

    book = load_workbook(folder / "findings.xlsx", read_only=True)
    cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
             for c in row if c is not None]
    assert any("in cases C1, X00, X01 and others" in c for c in cells)


@pytest.fixture()
def older_and_newer(tmp_path: Path) -> tuple[Path, Path]:
    """OLD: a run whose AP004 found C1's approval, of a findings.json before
    `unjudged_cases` was written (the key removed, as an earlier version wrote it). NEW: the
    log whose C1 approval records no role (a month checked against a log without a role
    history)."""
    old = _check(tmp_path, "old", _log("customer-service"))
    document = _document(old)
    document.pop("unjudged_cases", None)  # (written by no check before it)
    older = tmp_path / "older"
    older.mkdir()
    (older / "findings.json").write_text(json.dumps(document), encoding="utf-8")
    return older, _check(tmp_path, "new", _log(""))


def test_a_finding_whose_case_the_newer_run_could_not_judge_is_not_resolved(
        tmp_path: Path, older_and_newer: tuple[Path, Path]) -> None:
    """Before, diff called OLD's AP004 finding of C1 resolved ("NEW judged its case and did
    not find it"); NEW did not judge the approval (its role is not recorded): not re-judged.
    An older findings.json without `unjudged_cases` is read (as listing none)."""
    diff = _diff(tmp_path, *older_and_newer, "fwd")
    assert _ap004(diff) == [("C1", "not_rejudged", "not judged in full: its approver's role "
                             "is not recorded in NEW for some of its case's events, perhaps "
                             "the one this finding cites (a gap in the data, not shown to be "
                             "a fix)")]
    assert diff["summary"]["by_rule"]["AP004"]["not_rejudged"] == 1
    assert diff["summary"]["findings"]["resolved"] == 0


def test_a_finding_whose_case_the_older_run_could_not_judge_says_so(
        tmp_path: Path, older_and_newer: tuple[Path, Path]) -> None:
    """The other way round (a role history imported since): NEW's AP004 finding of C1 is
    new, but OLD did not judge the approval; an older findings.json without the key words it
    as before."""
    newer_with_roles = older_and_newer[0].parent / "old"
    diff = _diff(tmp_path, older_and_newer[1], newer_with_roles, "back")
    assert _ap004(diff) == [("C1", "new", "OLD did not judge all of its case: its approver's "
                             "role is not recorded in OLD for some of its case's events, "
                             "perhaps the one this finding cites")]
    diff = _diff(tmp_path, older_and_newer[0], newer_with_roles, "same")
    assert [r["class"] for r in diff["findings"] if r["rule"] == "AP004"] == ["still_open"]


def test_unjudged_cases_not_judged_or_malformed_are_refused(
        tmp_path: Path, older_and_newer: tuple[Path, Path]) -> None:
    new = older_and_newer[1]
    for at, (value, expected) in enumerate((
            ({"AP004": {"role_not_recorded": ["nobody"]}},
             "field 'unjudged_cases.AP004.role_not_recorded': case 'nobody' is not among "
             "judged_cases"),
            ({"AP004": ["C1"]}, "field 'unjudged_cases.AP004': not an object of reasons"),
            (["C1"], "field 'unjudged_cases': not an object of rule codes"))):
        document = _document(new)
        document["unjudged_cases"] = value
        folder = tmp_path / f"bad{at}"
        folder.mkdir()
        (folder / "findings.json").write_text(json.dumps(document), encoding="utf-8")
        result = _run("diff", str(older_and_newer[0]), str(folder), code=2)
        assert expected in result.output, result.output
