"""The run id: what names a check's run on report.html's first page, findings.xlsx's Summary
and findings.json's manifest, so that a printed report or a workbook filed as evidence can be
matched to its findings.json (and through SHA256SUMS to its files), and a re-performance of
the audit can be shown to be of the same inputs, policy, options and clock.

It is the SHA-256 of what decided the findings (`audit.runid`), no time or path: two checks
of the same log copied to another folder and name, at another time, give the same id; another
clock or another policy another. report.html is read in headless Chromium
(tests/test_report_html.py's Browser), findings.xlsx with openpyxl.

Also here: report.html's and findings.xlsx's rule tables give the same columns in the same
order with the same values (before, the workbook had no Waived column and put Family after
the counts, report.html had no Status column), both name the policy by the path the manifest
records in the run details, and findings.xlsx's case_quarantined_rows cell groups its
thousands.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.runid import run_id
from audit.sample import SampleSpec, write_sample
from tests import test_report_html
from tests.test_report_html import Browser
from tests.test_report_totals import case_rows, write_log, write_policy

REPO = Path(__file__).resolve().parents[1]

browser = test_report_html.browser  # (its headless Chromium, a fixture of this module too)


def _check(log: Path, out: Path, *extra: str) -> dict[str, Any]:
    done = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--fail-on",
                                     "never", *extra])
    assert done.exit_code == 0, (done.output, done.exception)
    document: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Checks of one generated log of 150 cases: `first`; `again`, the same log copied to
    another folder under another name, checked into another folder (a re-performance);
    `clock`, the first log at another clock; `policy`, with a policy that differs from the
    default by one waiver."""
    root = tmp_path_factory.mktemp("runid")
    write_sample(SampleSpec(channel="all", cases=150, seed=3, violation_rate=0.5), root)
    log = root / "canonical.csv"
    copy = root / "elsewhere" / "export-copy.csv"
    copy.parent.mkdir()
    shutil.copyfile(log, copy)
    clock = ("--as-of", "2026-10-15T00:00:00Z")
    document = _check(log, root / "first", *clock)
    finding = document["findings"][0]
    policy = yaml.safe_load((REPO / "models" / "policy.default.yaml").read_text("utf-8"))
    policy["waivers"] = [{"rule": finding["name"], "case": finding["case_id"],
                          "reason": "accepted", "expires": "2027-03-31",
                          "approved_by": "Head of Internal Audit"}]
    policy_file = root / "waiving.yaml"
    policy_file.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return {"first": (root / "first", document),
            "again": (root / "again", _check(copy, root / "again", *clock)),
            "clock": (root / "clock", _check(log, root / "clock", "--as-of",
                                              "2026-10-16T00:00:00Z")),
            "policy": (root / "policy", _check(log, root / "policy", *clock, "--policy",
                                               str(policy_file)))}


def _summary(out: Path) -> dict[str, Any]:
    sheet = openpyxl.load_workbook(out / "findings.xlsx", read_only=True)["Summary"]
    return {row[0]: row[1] for row in sheet.iter_rows(values_only=True)
            if len(row) > 1 and row[0]}


def test_the_run_id_is_the_digest_of_what_decided_the_findings(
        runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    ids = {name: document["manifest"]["run_id"] for name, (_, document) in runs.items()}
    for name, (_, document) in runs.items():
        manifest = document["manifest"]
        assert ids[name] == run_id(manifest), name  # (recomputed from the manifest)
        assert len(ids[name]) == 64 and int(ids[name], 16) >= 0
    # The same log under another name and folder, checked later into another folder: the
    # same id, though the manifests' times and paths differ.
    first, again = runs["first"][1]["manifest"], runs["again"][1]["manifest"]
    assert first["inputs"][0]["file"] != again["inputs"][0]["file"]
    assert first["started"] != again["started"]
    assert ids["first"] == ids["again"]
    assert runs["first"][1]["findings"] == runs["again"][1]["findings"]
    # Another clock, another policy: another id.
    assert len({ids["first"], ids["clock"], ids["policy"]}) == 3


def test_report_html_shows_the_run_id_at_the_top_of_its_first_page(
        browser: Browser, runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    for name in ("first", "policy"):
        out, document = runs[name]
        browser.open((out / "report.html").as_uri())
        assert browser.console_problems() == []
        header = browser.evaluate(
            "(() => { const e = document.querySelector('.page-header [data-run-id]');"
            " const r = e.getBoundingClientRect();"
            " return [e.textContent.trim(), e.dataset.runId, r.top, r.bottom]; })()")
        assert header[:2] == [document["manifest"]["run_id"]] * 2, name
        assert 0 < header[2] < header[3] < 300, header  # (in the header, above the overview)
        details = browser.evaluate(
            "document.getElementById('run-id').nextElementSibling.textContent")
        assert document["manifest"]["run_id"] in details
        assert "python -m audit.runid findings.json" in details
        # The run details name the policy by the path the manifest records, as the
        # workbook's Summary does (before: its file name only, the workbook its path).
        policy = browser.evaluate(
            "[...document.querySelectorAll('#run dt')].find(d => d.textContent === 'Policy')"
            ".nextElementSibling.querySelector('.file').textContent")
        assert policy == document["manifest"]["policy"]["file"] == \
            _summary(out)["Policy"], name


def test_findings_xlsx_summary_gives_the_run_id(
        runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    for name, (out, document) in runs.items():
        summary = _summary(out)
        assert summary["Run id"] == document["manifest"]["run_id"], name
        assert "SHA-256" in summary["Run id is"]


def test_the_run_id_is_checked_against_findings_json_and_its_sha256sums(
        runs: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path) -> None:
    """SHA256SUMS holds findings.json's digest, findings.json the run id: `python -m
    audit.runid` says the id matches its manifest, and tells a manifest edited since."""
    out, document = runs["first"]
    sums = dict(reversed(line.split("  ", 1)) for line in
                (out / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
    assert sums["findings.json"] == hashlib.sha256(
        (out / "findings.json").read_bytes()).hexdigest()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "audit.runid", str(out / "findings.json")],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert f"run id {document['manifest']['run_id']}: matches its manifest" in done.stdout
    edited = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    edited["manifest"]["as_of"] = "2026-10-20T00:00:00+00:00"
    (tmp_path / "findings.json").write_text(json.dumps(edited), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "audit.runid", str(tmp_path / "findings.json")],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1 and "they differ" in done.stdout, done.stdout


def _html_rule_table(browser: Browser, out: Path) -> tuple[list[str], list[list[str]]]:
    browser.open((out / "report.html").as_uri())
    assert browser.console_problems() == []
    heads: list[str] = browser.evaluate(
        "[...document.querySelectorAll('#rule-table thead th')].map(h => h.textContent.trim())")
    rows: list[list[str]] = browser.evaluate(
        "[...document.querySelectorAll('#rule-table tbody tr')].map(r => [...r.cells]"
        ".flatMap(c => Array(c.colSpan).fill(c.textContent.trim())))")
    return heads, rows


def _xlsx_rule_table(out: Path) -> tuple[list[str], list[list[Any]]]:
    sheet = openpyxl.load_workbook(out / "findings.xlsx", read_only=True)["Summary"]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    head = next(i for i, row in enumerate(table) if row and row[0] == "Rule")
    names = [v for v in table[head] if v is not None]
    rows = []
    for row in table[head + 1:]:
        if not row or row[0] is None:
            break
        rows.append(row[:len(names)])
    return names, rows


def test_the_rule_tables_of_report_html_and_findings_xlsx_are_the_same(
        browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check with a waived finding (C5's self-approval and unauthorized-performer) and a
    crashed rule (duplicate-refund): the same columns, in the same order, with the same values
    row by row (the crashed rule's counts: report.html's one cell spanning them)."""
    from audit.rules.duplicates.du001_duplicate_refund import DuplicateRefund

    def explode(self: DuplicateRefund, facts: object) -> list[object]:
        raise RuntimeError("boom in DU001")

    monkeypatch.setattr(DuplicateRefund, "check", explode)
    log = write_log(tmp_path / "log.csv",
                    case_rows("C2", "EUR", 60, day=2, approver=("Dora", "customer-service")),
                    case_rows("C5", "EUR", 80, day=5, requester=("Carl", "supervisor"),
                              approver=("Carl", "supervisor")))
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--policy",
                                     str(write_policy(tmp_path / "policy.yaml", ("C5",))),
                                     "--out", str(out), "--fail-on", "never"])
    assert done.exit_code == 2, (done.output, done.exception)  # (a rule crashed)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    html_heads, html_rows = _html_rule_table(browser, out)
    xlsx_heads, xlsx_rows = _xlsx_rule_table(out)
    assert html_heads == xlsx_heads == ["Rule", "Name", "Family", "Severity", "Findings",
                                        "Cases", "Waived", "Status", "Logic version"]
    assert [row[0] for row in html_rows] == [row[0] for row in xlsx_rows] == \
        document["manifest"]["rules"]
    waived = {f["rule"] for f in document["findings"] if f["waived"]}
    assert waived == {"SD001", "SD004"}
    for html, xlsx in zip(html_rows, xlsx_rows, strict=True):
        code = xlsx[0]
        crashed = code == "DU001"
        assert html[7] == xlsx[7] == ("crashed (not run)" if crashed else "ran"), code
        assert [str(v) for v in xlsx[4:7]] == (["crashed"] * 3 if crashed else
                                               [f"{v:,}" for v in html_counts(html)]), code
        assert html[:4] == [str(v) for v in xlsx[:4]], code
        assert html[8] == str(xlsx[8]) == str(document["manifest"]["rule_versions"][code])
        if code in waived:
            assert xlsx[6] == sum(1 for f in document["findings"]
                                  if f["rule"] == code and f["waived"]) >= 1, code


def html_counts(row: list[str]) -> list[int]:
    """A report.html rule row's Findings, Cases and Waived as numbers."""
    return [int(text.replace(",", "")) for text in row[4:7]]


def test_findings_xlsx_groups_case_quarantined_rows(tmp_path: Path) -> None:
    """A case with 1,205 rows quarantined: its finding's case_quarantined_rows cell holds the
    number, shown `1,205` (#,##0) as the Summary's counts; before, `1205`."""
    rows = [["C1", "Receive refund request", "2026-07-01T09:00:00Z", "Ann Lee",
             "customer-service", "10", "EUR", "ecommerce"],
            ["C1", "Execute payout", "2026-07-02T10:00:00Z", "Bob Roe", "finance", "10", "EUR",
             "ecommerce"],
            *[["C1", "Notify customer", f"bad{k}", "Ann Lee", "customer-service", "", "",
               "ecommerce"] for k in range(1205)]]
    log = tmp_path / "log.csv"
    with log.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case", "activity", "timestamp", "resource", "role", "amount",
                         "currency", "channel"])
        writer.writerows(rows)
    document = _check(log, tmp_path / "out", "--as-of", "2026-10-15T00:00:00Z")
    assert {f["case_quarantined_rows"] for f in document["findings"]} == {1205}
    sheet = openpyxl.load_workbook(tmp_path / "out" / "findings.xlsx")["Findings"]
    heads = [c.value for c in sheet[1]]
    cells = [row[heads.index("case_quarantined_rows")] for row in sheet.iter_rows(min_row=2)]
    assert len(cells) == len(document["findings"])
    assert [(c.value, c.number_format) for c in cells] == [(1205, "#,##0")] * len(cells)


def test_diff_json_names_each_run_by_its_run_id(
        runs: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path) -> None:
    """diff.json's `old` and `new` give each run's run id, as its report.html and workbook
    show it: a re-performance (`again`) is of the same run id, another clock's not."""
    ids = {name: document["manifest"]["run_id"] for name, (_, document) in runs.items()}
    for other in ("again", "clock"):
        out = tmp_path / other
        done = CliRunner().invoke(main, ["diff", str(runs["first"][0]), str(runs[other][0]),
                                         "--out", str(out)])
        assert done.exit_code == 0, (done.output, done.exception)
        diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
        assert (diff["old"]["run_id"], diff["new"]["run_id"]) == (ids["first"], ids[other])
    assert ids["first"] == ids["again"] != ids["clock"]
