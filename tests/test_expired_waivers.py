"""A waiver of the policy whose `expires` is before the audit's clock waives nothing
(engine.finish_findings). Before, the auditor learnt it from a status, "expired", in
findings.json's waivers, report.html's and findings.xlsx's waiver tables and a console line,
with `matched` 0: nothing said which findings it had stopped waiving, nor that they were
reported open. Now a warning names each expired waiver (its rule, case or fingerprint, policy
line, who approved it, its expiry) and counts the findings it no longer waives (summary:
`no_longer_waives`); one that matches no open finding is told too, briefly."""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.policy import default_policy_path

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "canonical.csv"


def check(out: Path, *extra: str) -> tuple[str, dict[str, Any]]:
    done = CliRunner().invoke(main, ["check", str(SAMPLE), "--out", str(out), "--fail-on",
                                     "never", *extra])
    assert done.exit_code == 0, (done.output, done.exception)
    return done.output, json.loads((out / "findings.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return check(tmp_path_factory.mktemp("plain"))[1]


def test_an_expired_waiver_is_told_with_the_findings_it_no_longer_waives(
        plain: dict[str, Any], tmp_path: Path) -> None:
    findings = plain["findings"]
    first = findings[0]
    # A case with two findings of one rule, where there is one: the waiver matches both.
    case_findings = [f for f in findings
                     if (f["rule"], f["case_id"]) == (first["rule"], first["case_id"])]
    second = next(f for f in findings if f["case_id"] != first["case_id"])
    third = next(f for f in findings if f["case_id"] not in (first["case_id"],
                                                             second["case_id"]))
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["waivers"] = [
        # expired, matching findings no other waiver waives: told with their count
        {"rule": first["rule"], "case": first["case_id"], "reason": "accepted then",
         "approved_by": "Head of Internal Audit", "expires": "2026-09-30"},
        # expired, matching a finding that a waiver in force waives: nothing left open
        {"rule": second["rule"], "fingerprint": second["fingerprint"], "reason": "old",
         "approved_by": "CFO", "expires": "2026-01-31"},
        {"rule": second["rule"], "fingerprint": second["fingerprint"], "reason": "renewed",
         "approved_by": "CFO", "expires": "2027-01-31"},
        # expired, matching nothing at all
        {"rule": third["rule"], "case": "NO-SUCH-CASE", "reason": "typo",
         "approved_by": "Controller", "expires": "2026-10-14"},
        # in force on its last day (the clock's date, 2026-10-15): not expired, not told
        {"rule": third["rule"], "case": third["case_id"], "reason": "last day",
         "approved_by": "Controller", "expires": "2026-10-15"},
    ]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    output, document = check(tmp_path / "out", "--policy", str(path))

    statuses = [(w["status"], w["matched"], w["no_longer_waives"])
                for w in document["summary"]["waivers"]]
    assert statuses == [("expired", 0, len(case_findings)), ("expired", 0, 0),
                        ("used", 1, 0), ("expired", 0, 0), ("used", 1, 0)]
    by_key = {(f["rule"], f["case_id"], f["fingerprint"]): f for f in document["findings"]}
    assert not any(by_key[(f["rule"], f["case_id"], f["fingerprint"])]["waived"]
                   for f in case_findings)

    day = "2026-10-15"
    lapsed = (f"the waiver of {first['rule']} on case {first['case_id']}, policy line ")
    told = [w for w in document["manifest"]["warnings"] if w.startswith("the waiver of ")]
    assert len(told) == 3, told
    assert told[0].startswith(lapsed)
    assert (", approved by Head of Internal Audit, has expired: it held until 2026-09-30, "
            f"before the audit's clock ({day}): it no longer waives "
            f"{len(case_findings)} finding") in told[0]
    assert told[0].endswith("reported open; renew it (a later expires) if the exception "
                            "still stands")
    assert told[1].startswith(f"the waiver of {second['rule']} on fingerprint "
                              f"{second['fingerprint']}, policy line ")
    assert told[1].endswith("approved by CFO, has expired: it held until 2026-01-31, before "
                            f"the audit's clock ({day}): it waives nothing, and no finding "
                            "of this run is left open by its expiry")
    assert told[2].startswith(f"the waiver of {third['rule']} on case NO-SUCH-CASE, ")
    assert "it held until 2026-10-14" in told[2] and "waives nothing" in told[2]
    # The policy line is the waiver's own.
    lines = path.read_text(encoding="utf-8").splitlines()
    line = int(told[0][len(lapsed):].split(",", 1)[0])
    assert lines[line - 1].lstrip("- ").startswith("rule:")

    # The same warnings on the console, in report.html and in findings.xlsx's Summary.
    for warning in told:
        assert f"warning: {warning}" in output
    page = html.unescape((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert all(warning in page for warning in told)
    book = openpyxl.load_workbook(tmp_path / "out" / "findings.xlsx", read_only=True)
    cells = {str(c) for row in book["Summary"].iter_rows(values_only=True) for c in row
             if c is not None}
    assert all(any(warning in cell for cell in cells) for warning in told)
    # The waiver tables count them too, beside Matched (before: "expired 0" only).
    rows = [row for row in book["Summary"].iter_rows(values_only=True)]
    head = next(i for i, row in enumerate(rows) if row and row[0] == "Waiver rule")
    assert rows[head][:5] == ("Waiver rule", "Case", "Status", "Matched", "No longer waives")
    assert [(row[2], row[3], row[4]) for row in rows[head + 1:head + 6]] == statuses
    assert "<th class=\"num\">No longer waives</th>" in page
    shown = page.split("No longer waives</th>", 1)[1]
    assert ('<td><span class="words">expired</span></td><td class="num">0</td>'
            f'<td class="num">{len(case_findings)}</td>') in shown


def test_no_expired_waiver_no_warning(plain: dict[str, Any]) -> None:
    """The bundled policy's run: no waiver, no such warning."""
    assert not any(w.startswith("the waiver of ") for w in plain["manifest"]["warnings"])


EXPIRED_REASON = "=SUM(1) accepted then"
"""An expired waiver's reason, formula-like: the trace's cells neutralised as any text."""


def expired_waiver_run(plain: dict[str, Any], tmp_path: Path
                       ) -> tuple[Path, list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """A run of the sample with an expired waiver of the first finding's rule and case,
    and an expired and a renewed waiver of another finding: (out, the findings the expired
    one matches, the renewed one's finding, findings.json)."""
    findings = plain["findings"]
    first = findings[0]
    lapsed = [f for f in findings if (f["rule"], f["case_id"]) == (first["rule"],
                                                                   first["case_id"])]
    renewed = next(f for f in findings if f["case_id"] != first["case_id"])
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["waivers"] = [
        {"rule": first["rule"], "case": first["case_id"], "reason": EXPIRED_REASON,
         "approved_by": "Head of Internal Audit", "expires": "2026-09-30"},
        {"rule": renewed["rule"], "fingerprint": renewed["fingerprint"], "reason": "old",
         "approved_by": "CFO", "expires": "2026-01-31"},
        {"rule": renewed["rule"], "fingerprint": renewed["fingerprint"], "reason": "renewed",
         "approved_by": "CFO", "expires": "2027-01-31"},
    ]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    return out, lapsed, renewed, check(out, "--policy", str(path))[1]


def test_a_finding_an_expired_waiver_no_longer_waives_names_it_on_its_own_row(
        plain: dict[str, Any], tmp_path: Path) -> None:
    """Before, a finding whose waiver had expired was an open finding like any other on its
    row in findings.json, findings.csv, findings.xlsx and report.html: only the Summary's
    waiver table and a warning named the waiver, so that a reader filtering the findings
    could not see that it had been waived, nor by whom. Its `waiver_expired` now says so:
    the waiver's reason, who approved it and when it expired. Every other finding's is
    empty (a finding a waiver in force waives too), and the findings are otherwise those of
    the run without waivers: the same fingerprints, open and counted."""
    out, lapsed, renewed, document = expired_waiver_run(plain, tmp_path)
    trace = f"{EXPIRED_REASON} (approved by Head of Internal Audit, expired 2026-09-30)"
    ours = {f["fingerprint"] for f in lapsed}
    assert lapsed and renewed["fingerprint"] not in ours

    # findings.json: the trace on those findings, null elsewhere; nothing else changed but
    # the renewed waiver's finding, waived.
    found = document["findings"]
    assert {f["fingerprint"]: f["waiver_expired"] for f in found if f["waiver_expired"]} \
        == {fp: trace for fp in ours}
    assert all(f["waiver_expired"] is None for f in found if f["fingerprint"] not in ours)
    assert not any(f["waived"] for f in found if f["fingerprint"] in ours)
    assert [f["fingerprint"] for f in found if f["waived"]] == [renewed["fingerprint"]]
    keep = ("rule", "case_id", "fingerprint", "severity", "amount_at_risk", "message")
    assert [[f[k] for k in keep] for f in found] == \
        [[f[k] for k in keep] for f in plain["findings"]]
    assert document["summary"]["findings"] == plain["summary"]["findings"] - 1

    # findings.csv: the column, the formula-like reason neutralised (an apostrophe first).
    with (out / "findings.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["fingerprint"]: r["waiver_expired"] for r in rows if r["waiver_expired"]} \
        == {fp: "'" + trace for fp in ours}
    assert {r["fingerprint"] for r in rows if r["waived"] == "TRUE"} == {
        renewed["fingerprint"]}

    # findings.xlsx: the Findings sheet and the rule family's sheet, the text as it is, in
    # Excel's quote prefix style (not read as a formula once edited).
    book = openpyxl.load_workbook(out / "findings.xlsx")
    family = next(name for name in book.sheetnames if name.startswith(lapsed[0]["rule"][:2]))
    for sheet in (book["Findings"], book[family]):
        head = [c.value for c in sheet[1]]
        at, fp = head.index("waiver_expired"), head.index("fingerprint")
        assert head[at - 1] == "waiver_reason"
        cells = {row[fp].value: row[at] for row in sheet.iter_rows(min_row=2)}
        shown = {k: c for k, c in cells.items() if c.value is not None}
        assert {k: c.value for k, c in shown.items()} == {fp: trace for fp in ours}, sheet
        assert all(c.quotePrefix and c.data_type == "s" for c in shown.values())

    # report.html: under the message of each such finding's row, and of no other row.
    page = (out / "report.html").read_text(encoding="utf-8")
    rows_html = re.findall(r"<tr data-rule=.*?</tr>", page, flags=re.S)
    marked = [row for row in rows_html if 'class="waiver-expired"' in row]
    assert len(marked) == len(lapsed)
    assert all(f'<div class="waiver-expired">Waiver expired: {html.escape(trace)}</div>'
               in row for row in marked)
    assert all(f">{f['case_id']}<" in row for row in marked for f in lapsed)
