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

import copy
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
        assert "refund-audit verify DIR, of the folder as filed, recomputes it" in details
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
        note = document["summary"]["by_rule"][code].get("note")
        if note:  # (report.html: "ran, not configured", the reason in its title; the
            # workbook the whole reason: outside-refund-window without a refund_window)
            assert html[7] == "ran, not configured", code
            assert xlsx[7] == f"ran, {note}: judged no case", code
        else:
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


# A manifest of every field the run id reads, and some it does not: its run id pinned.
PINNED_MANIFEST: dict[str, Any] = {
    "tool": "refund-audit", "version": "0.1.0",
    "code": {"sha256": "c" * 64, "files": 135},
    "format_version": 4, "run_id": None,
    "started": "2026-12-07T15:00:00+00:00", "finished": "2026-12-07T15:00:09+00:00",
    "as_of": "2026-10-15T00:00:00+00:00", "as_of_source": "--as-of",
    "command": ["refund-audit", "check", "a.csv", "log.parquet"], "working_directory": "/w",
    "import_options": {"assume_tz": None, "encoding": None, "object_type": None},
    "mapping": {"file": "m.yaml", "sha256": "9" * 64},
    "inputs": [
        {"file": "log.parquet", "sha256": "b" * 64,
         "earlier_quarantine": {"file": "log.quarantine.csv", "quarantined": 2,
                                "status": "read", "sha256": "d" * 64, "verified": True}},
        {"file": "a.csv", "sha256": "a" * 64, "earlier_quarantine": None}],
    "policy": {"file": "policy.yaml", "sha256": "e" * 64},
    "sop": [{"channel": "ecommerce", "file": "e.bpmn", "process": None, "sha256": "f" * 64}],
    "rules": ["SD001"], "rule_versions": {"SD001": 1}, "event_order": 1,
    "engine": {"name": "local"},
}
PINNED_RUN_IDS = {
    # (version 1 as the code before version 2 computed it, which `audit.runid` still checks
    # an older findings.json by)
    1: "b6f50ac22620ed650526c345de5fa283833531561af148aa98510a9f3543d23a",
    2: "2b09e11a91b0c4ade13fdce4cd8cb4b5f079f4e9db8aed6d4bc1a69cfc339880",
}


def test_the_run_id_of_a_known_manifest_is_pinned() -> None:
    """The run id of a fixed manifest is a fixed value: a change of what the identity reads
    (a manifest field renamed, one added or left out) fails here, and may be re-pinned only
    with RUN_ID_VERSION raised, so that no later run has an id an older run had for other
    content. (Before, the test compared run_id(manifest) with itself.)"""
    from audit.runid import RUN_ID_VERSION

    assert run_id(copy.deepcopy(PINNED_MANIFEST)) == PINNED_RUN_IDS[RUN_ID_VERSION], \
        "the identity changed: raise RUN_ID_VERSION and pin the new id beside the old"
    assert run_id(copy.deepcopy(PINNED_MANIFEST), 1) == PINNED_RUN_IDS[1]
    assert len(set(PINNED_RUN_IDS.values())) == len(PINNED_RUN_IDS)


def _set(manifest: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(manifest)
    *head, last = path.split(".")
    place: Any = changed
    for key in head:
        place = place[int(key)] if isinstance(place, list) else place[key]
    if isinstance(place, list):
        place[int(last)] = value
    else:
        place[last] = value
    return changed


@pytest.mark.parametrize(("path", "value", "changes"), [
    ("version", "0.1.1", True),
    ("code.sha256", "0" * 64, True),  # (another build of the same version)
    ("format_version", 5, True),
    ("as_of", "2026-10-16T00:00:00+00:00", True),
    ("inputs.1.sha256", "1" * 64, True),
    ("inputs.0.earlier_quarantine.sha256", "2" * 64, True),
    ("inputs.0.earlier_quarantine.status", "not found", True),  # (its rows not counted)
    ("policy.sha256", "3" * 64, True),
    ("sop.0.sha256", "4" * 64, True),
    ("sop.0.process", "Process_1", True),
    ("mapping", None, True),
    ("import_options.assume_tz", "UTC", True),
    ("rule_versions.SD001", 2, True),
    ("event_order", 2, True),
    # Not part of it: the engine (the local and the Dask engine find the same), times,
    # paths, the command, a quarantine's verification note.
    ("engine", {"name": "dask", "scheduler": "tcp://10.0.0.1:8786"}, False),
    ("started", "2026-12-08T15:00:00+00:00", False),
    ("inputs.1.file", "b.csv", False),
    ("sop.0.file", "/elsewhere/e.bpmn", False),
    ("command", ["refund-audit", "check"], False),
    ("working_directory", "/v", False),
    ("code.files", 136, False),
    ("inputs.0.earlier_quarantine.in_cases_with_findings", 1, False),
])
def test_what_changes_the_run_id(path: str, value: Any, changes: bool) -> None:
    assert (run_id(_set(PINNED_MANIFEST, path, value)) != run_id(PINNED_MANIFEST)) is changes
    reordered = copy.deepcopy(PINNED_MANIFEST)
    reordered["inputs"].reverse()  # (the inputs' order changes no finding)
    assert run_id(reordered) == run_id(PINNED_MANIFEST)


def _small_check(log: Path, out: Path, *extra: str) -> dict[str, Any]:
    done = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--fail-on",
                                     "never", "--format", "json", "--as-of",
                                     "2026-10-15T00:00:00Z", *extra])
    assert done.exit_code == 0, (done.output, done.exception)
    manifest: dict[str, Any] = json.loads(
        (out / "findings.json").read_text(encoding="utf-8"))["manifest"]
    assert manifest["run_id"] == run_id(manifest)
    return manifest


def test_a_changed_input_byte_sop_mapping_or_import_option_changes_the_run_id(
        tmp_path: Path) -> None:
    """Checks of a generated log of 20 cases, two by two alike but for one thing: a byte of
    the input, of the SOP, of the mapping, or --encoding given."""
    write_sample(SampleSpec(channel="all", cases=20, seed=5, violation_rate=0.5), tmp_path)
    log = tmp_path / "canonical.csv"
    text = log.read_text(encoding="utf-8")
    edited = tmp_path / "edited.csv"
    rows = list(csv.reader(text.splitlines()))
    rows[1][rows[0].index("org:resource")] += "x"
    with edited.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    assert len(edited.read_bytes()) == len(log.read_bytes()) + 1
    sop, sop_edited = tmp_path / "sop.bpmn", tmp_path / "sop-edited.bpmn"
    shutil.copyfile(REPO / "models" / "ecommerce.bpmn", sop)
    sop_edited.write_bytes(sop.read_bytes() + b"<!-- edited -->\n")
    mapping, mapping_edited = tmp_path / "mapping.yaml", tmp_path / "mapping-edited.yaml"
    mapping.write_text("assume_tz: UTC\n", encoding="utf-8")
    mapping_edited.write_text("assume_tz: UTC\n# edited\n", encoding="utf-8")
    ids = {
        name: _small_check(source, tmp_path / name, *extra)["run_id"]
        for name, source, extra in [
            ("base", log, ()), ("byte", edited, ()),
            ("sop", log, ("--sop", str(sop))), ("sop-edited", log, ("--sop", str(sop_edited))),
            ("mapping", log, ("--mapping", str(mapping))),
            ("mapping-edited", log, ("--mapping", str(mapping_edited))),
            ("encoding", log, ("--encoding", "utf-8"))]}
    assert ids["base"] != ids["byte"]
    assert ids["sop"] != ids["sop-edited"]
    assert ids["mapping"] != ids["mapping-edited"]
    assert ids["base"] != ids["encoding"]
    assert len(set(ids.values())) == len(ids), ids


def test_a_canonical_logs_own_quarantine_found_or_not_changes_the_run_id(
        tmp_path: Path) -> None:
    """A log imported with 2 rows quarantined, checked beside its LOG.quarantine.csv and,
    copied, without it: the findings of the rows' case count them (case_quarantined_rows
    2) or not (0), so the run ids differ; the file's sha256 is in the identity where its
    rows were counted. Before, both runs had one run id (the log's sha256 alone) and other
    findings."""
    write_sample(SampleSpec(channel="all", cases=20, seed=3, violation_rate=0.5), tmp_path)
    lines = (tmp_path / "canonical.csv").read_text(encoding="utf-8").splitlines()
    head, first = lines[0].split(","), lines[1].split(",")
    bad = [*first]
    bad[head.index("time:timestamp")] = "not a time"
    raw = tmp_path / "raw.csv"
    raw.write_text("\n".join([*lines, ",".join(bad), ",".join(bad).replace("not a", "no")])
                   + "\n", encoding="utf-8")
    done = CliRunner().invoke(main, ["import", str(raw), "--out",
                                     str(tmp_path / "a" / "log.parquet")])
    assert done.exit_code == 0, (done.output, done.exception)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "log.quarantine.csv").unlink()
    found = _small_check(tmp_path / "a" / "log.parquet", tmp_path / "found")
    missing = _small_check(tmp_path / "b" / "log.parquet", tmp_path / "missing")
    documents = [json.loads((tmp_path / name / "findings.json").read_text(encoding="utf-8"))
                 for name in ("found", "missing")]
    case = first[head.index("case:concept:name")]
    assert [{f["case_quarantined_rows"] for f in d["findings"] if f["case_id"] == case}
            for d in documents] == [{2}, {0}]
    assert found["inputs"][0]["sha256"] == missing["inputs"][0]["sha256"]
    told = found["inputs"][0]["earlier_quarantine"]
    assert (told["status"], told["verified"]) == ("read", True)
    assert told["sha256"] == hashlib.sha256(
        (tmp_path / "a" / "log.quarantine.csv").read_bytes()).hexdigest()
    assert missing["inputs"][0]["earlier_quarantine"]["status"] == "not found"
    assert found["run_id"] != missing["run_id"]


def test_the_code_digest_covers_the_files_the_package_ships(tmp_path: Path) -> None:
    """The code digest reads every file of the tool's packages the repository keeps that
    the wheel installs (test_packaging checks the package data), no cache and no stray file
    of no pattern; a byte changed in a template changes it, such a stray file or a cache
    does not (hidden files and .py outside a package: the tests below)."""
    from audit.runid import CODE_FILES, code_digest, code_files

    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", "--", *CODE_FILES], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    assert [name for name, _ in code_files()] == sorted(tracked)
    assert code_digest()["files"] == len(tracked)
    for package in CODE_FILES:
        shutil.copytree(REPO / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))

    def digest() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", "import json, audit.runid as r; "
             "print(json.dumps([r.code_digest(), r.code_files()[0][1].as_posix()]))"],
            capture_output=True, text=True, cwd=tmp_path, check=True,
            env={**os.environ, "PYTHONPATH": str(tmp_path)})
        found, where = json.loads(done.stdout)
        assert where.startswith(tmp_path.as_posix())  # (the copy's files, not the checkout's)
        return dict(found)

    assert digest() == code_digest()
    (tmp_path / "audit" / "notes.txt").write_text("a stray file", encoding="utf-8")
    (tmp_path / "audit" / "__pycache__").mkdir(exist_ok=True)
    (tmp_path / "audit" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert digest() == code_digest()
    css = tmp_path / "reports" / "templates" / "report.css"
    css.write_bytes(css.read_bytes() + b"\n")
    assert digest()["sha256"] != code_digest()["sha256"]


def _code_copy(tmp_path: Path) -> Path:
    """A copy of the tool's packages in `tmp_path`/code (no cache)."""
    from audit.runid import CODE_FILES

    for package in CODE_FILES:
        shutil.copytree(REPO / package, tmp_path / "code" / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "code"


def _digest_of(copy: Path) -> dict[str, Any]:
    """The code digest a process importing the tool from `copy` computes."""
    done = subprocess.run(
        [sys.executable, "-c", "import json, audit.runid as r; "
         "print(json.dumps([r.code_digest(), r.code_files()[0][1].as_posix()]))"],
        capture_output=True, text=True, cwd=copy, check=True,
        env={**os.environ, "PYTHONPATH": str(copy)})
    found, where = json.loads(done.stdout)
    assert where.startswith(copy.as_posix())  # (the copy's files, not the checkout's)
    return dict(found)


def test_a_crlf_checkout_has_the_code_digest_of_an_lf_one(tmp_path: Path) -> None:
    """The same commit checked out with core.autocrlf=true (every text file's lines ended
    by CRLF) got another code digest, so another run id for the same findings: text files
    are hashed with CRLF read as LF now. A binary file is hashed as it is (its CR bytes
    are its content)."""
    from audit.runid import code_digest

    copy = _code_copy(tmp_path)
    converted = 0
    for path in copy.rglob("*"):
        if path.is_file() and path.suffix in {".py", ".j2", ".css", ".js", ".yaml", ".bpmn",
                                              ".md", ".typed"}:
            data = path.read_bytes()
            path.write_bytes(data.replace(b"\n", b"\r\n"))
            converted += b"\n" in data
    assert converted > 100
    assert _digest_of(copy) == code_digest()
    binary = copy / "reports" / "templates" / "logo.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n")
    with_crlf = _digest_of(copy)
    binary.write_bytes(b"\x89PNG\n\x1a\n")
    assert _digest_of(copy)["sha256"] != with_crlf["sha256"]


def test_hidden_and_stray_files_leave_the_code_digest_alone(tmp_path: Path) -> None:
    """Files a wheel does not install changed the digest: an editor's swap file beside the
    templates, a hidden file, a .py in a folder that is no package (no __init__.py), a
    bundled-model pattern's file in a subfolder. They are not read now; a file the wheel
    installs still is."""
    from audit.runid import code_digest

    copy = _code_copy(tmp_path)
    (copy / "reports" / "templates" / ".report.html.j2.swp").write_bytes(b"\0swap")
    (copy / "audit" / ".scratch.py").write_text("x = 1\n", encoding="utf-8")
    (copy / "audit" / "scratch").mkdir()
    (copy / "audit" / "scratch" / "try.py").write_text("x = 1\n", encoding="utf-8")
    (copy / "models" / "old").mkdir()
    (copy / "models" / "old" / "policy.yaml").write_text("a: 1\n", encoding="utf-8")
    (copy / ".hidden").mkdir()
    assert _digest_of(copy) == code_digest()
    (copy / "audit" / "scratch" / "__init__.py").write_text("", encoding="utf-8")
    assert _digest_of(copy)["files"] == code_digest()["files"] + 2


def test_the_manifest_records_the_libraries_the_run_used_outside_its_run_id(
        tmp_path: Path) -> None:
    """Findings can differ across pandas, pyarrow or numpy versions, and the time zone
    data decides --assume-tz's offsets, but the manifest named no library: it records
    their versions now (`libraries`), which report.html's run details show; they are not
    part of the run id (the same audit re-performed on an updated machine keeps its id)."""
    import importlib.metadata
    import platform
    import re

    write_sample(SampleSpec(channel="all", cases=5, seed=3, violation_rate=0.5), tmp_path)
    manifest = _small_check(tmp_path / "canonical.csv", tmp_path / "out", "--format",
                            "json,html")
    libraries = manifest["libraries"]
    assert libraries["python"] == platform.python_version()
    for name in ("pandas", "pyarrow", "numpy", "pm4py"):
        assert libraries[name] == importlib.metadata.version(name), name
    tz = libraries["tz_database"]
    assert tz is None or re.fullmatch(r"20\d\d[a-z]", tz), tz
    other = {**manifest, "libraries": {**libraries, "pandas": "0.0.1", "python": "2.7.0"}}
    assert run_id(other) == manifest["run_id"]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f"pandas {libraries['pandas']}" in html


def test_the_reports_say_what_the_run_id_covers_as_the_docs_list_it(
        runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    """report.html's run details and findings.xlsx's Summary give one text of what the run
    id covers (`audit.runid.run_id_is`), that it is no seal, and the code digest the
    manifest records; docs/reports.md lists each field of the identity, and not the engine.
    (Before, the reports' texts left out the event order, the format version and the
    engine, the docs listed the engine.)"""
    import html as html_text
    import re

    from audit.runid import RUN_ID_COVERS, run_id_is, run_identity

    out, document = runs["first"]
    manifest = document["manifest"]
    text = run_id_is(None)
    assert all(item in text for item in RUN_ID_COVERS) and "no seal" in text
    # (the sources file among the parts said alike: before, it was left out)
    assert ("the same inputs, policy, SOPs, mapping, sources file, options, clock and code "
            "give the same run id") in text
    summary = _summary(out)
    assert summary["Run id is"] == text
    assert summary["Code digest"] == manifest["code"]["sha256"]
    page = html_text.unescape(re.sub(r"<[^>]+>", "", (out / "report.html").read_text(
        encoding="utf-8")))
    assert f"{manifest['run_id']}: {text}" in page
    assert f"Code digestsha256 {manifest['code']['sha256']} ({manifest['code']['files']:,} " \
        "files" in page
    docs = (REPO / "docs" / "reports.md").read_text(encoding="utf-8")
    section = docs.split("## The run id: which run a report came from")[1].split("\n## ")[0]
    listed = section.split("exactly these fields")[1].split("\n\n")[1]
    for key in run_identity(manifest):
        assert f"`{key}`" in listed, key
    assert "`engine`" not in listed


@pytest.mark.parametrize("formats", ["html", "xlsx"])
def test_a_run_without_findings_json_says_its_run_id_cannot_be_recomputed(
        tmp_path: Path, formats: str) -> None:
    """`--format html` or `xlsx` alone writes no findings.json: the run details and the
    Summary say nothing the run wrote lets its id be recomputed (before, they said what the
    id is and no more, with no findings.json to check it against)."""
    import html as html_text
    import re

    write_sample(SampleSpec(channel="all", cases=10, seed=3, violation_rate=0.5), tmp_path)
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(tmp_path / "canonical.csv"), "--out",
                                     str(out), "--format", formats, "--fail-on", "never",
                                     "--as-of", "2026-10-15T00:00:00Z"])
    assert done.exit_code == 0, (done.output, done.exception)
    assert not (out / "findings.json").exists()
    said = f"this run wrote no findings.json (--format {formats}), so nothing it wrote lets"
    if formats == "html":
        page = html_text.unescape((out / "report.html").read_text(encoding="utf-8"))
        details = re.search(r'<dt id="run-id">.*?</dd>', page, re.S)
        assert details is not None and said in details.group(0)
        assert "python -m audit.runid" not in details.group(0)
    else:
        assert said in _summary(out)["Run id is"]


def _verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from audit.runid import main as verify

    code = verify([str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("text", "why"), [
    ('{"manifest": {}}', "its manifest's tool is None, not 'refund-audit'"),
    ('{"manifest": {"tool": "other-tool", "run_id": "x"}}', "tool is 'other-tool'"),
    ('{"manifest": []}', "no manifest object"),
    ("[1]", "no manifest object"),
    ('{"manifest": {"tool": "refund-audit", "import_options": NaN}}', "NaN is not JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply to be read"),
])
def test_the_verifier_refuses_what_is_no_findings_json_of_refund_audit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, why: str) -> None:
    """Exit code 2 naming the file and why (before: `{"manifest": {}}` was "they differ",
    exit code 1, and JSON nested 100,000 deep ended in a RecursionError's traceback)."""
    path = tmp_path / "findings.json"
    path.write_text(text, encoding="utf-8")
    code, out, err = _verify(path, capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {path}: not a findings.json of refund-audit check (")
    assert why in err and "Traceback" not in err


def test_the_verifier_says_it_is_no_seal(
        runs: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A match says the id is a consistency check, not a seal: findings edited in a
    findings.json leave its run id matching (the id covers no finding), as a manifest
    edited with its id recomputed does; SHA256SUMS tells them. A findings.json of run id
    version 1 (its manifest without code digest) is checked as version 1 computed it."""
    out, _document = runs["first"]
    edited = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    edited["findings"] = edited["findings"][1:]
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(edited), encoding="utf-8")
    code, said, _ = _verify(path, capsys)
    assert code == 0 and "matches its manifest (a consistency check of the manifest, not a " \
        "seal" in said and "SHA256SUMS" in said
    older = copy.deepcopy(PINNED_MANIFEST)
    del older["code"]
    older["run_id"] = run_id(older, 1)
    path.write_text(json.dumps({"manifest": older}), encoding="utf-8")
    code, said, _ = _verify(path, capsys)
    assert code == 0 and "matches its manifest as a run id of version 1" in said
    older["as_of"] = "2026-10-16T00:00:00+00:00"
    path.write_text(json.dumps({"manifest": older}), encoding="utf-8")
    assert _verify(path, capsys)[0] == 1
