"""Each finding says how many of its case's input rows were quarantined (not imported), in
findings.json, findings.csv and findings.xlsx, so that an auditor reading one finding sees
that it may rest on incomplete records; report.html's case details name the rows (the
browser test is in test_report_html). Before, the rows were only counted for the run as a
whole (`quarantined_in_cases_with_findings`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from audit.cli import main

HEADER = ["case", "activity", "timestamp", "resource", "role", "amount", "currency",
          "channel"]


def write_quarantined_log(path: Path) -> Path:
    """A generic log of two cases paid without an approval: C1 with seven rows quarantined
    (one of them for two fields: eight quarantine lines), C2 with none."""
    rows = [
        ["C1", "Receive refund request", "2026-07-01T09:00:00Z", "Ann Lee",
         "customer-service", "10", "EUR", "ecommerce"],
        ["C1", "Execute payout", "2026-07-02T10:00:00Z", "Bob Roe", "finance", "10", "EUR",
         "ecommerce"],
        ["C1", "Approve refund", "not a time", "Cy Doe", "team-lead", "", "", "ecommerce"],
        ["C1", "Approve refund", "2026-07-01T12:00:00Z", "Cy Doe", "team-lead", "=1+1", "EUR",
         "ecommerce"],
        ["C1", "Collect evidence", "bad", "Ann Lee", "customer-service", "x", "EUR",
         "ecommerce"],
        *[["C1", "Notify customer", f"bad{k}", "Ann Lee", "customer-service", "", "",
           "ecommerce"] for k in range(2, 6)],
        ["C2", "Receive refund request", "2026-07-01T09:00:00Z", "Ann Lee",
         "customer-service", "20", "EUR", "ecommerce"],
        ["C2", "Execute payout", "2026-07-02T10:00:00Z", "Bob Roe", "finance", "20", "EUR",
         "ecommerce"],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_each_finding_counts_its_cases_quarantined_rows_in_json_csv_and_xlsx(
        tmp_path: Path) -> None:
    log = write_quarantined_log(tmp_path / "log.csv")
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--out", str(out),
                                     "--as-of", "2026-10-15T00:00:00Z", "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    findings = document["findings"]
    by_case = {(f["case_id"], f["case_quarantined_rows"]) for f in findings}
    assert by_case == {("C1", 7), ("C2", 0)}  # (row 6's two lines: one row)
    assert {f["case_id"] for f in findings} == {"C1", "C2"}
    assert document["summary"]["quarantined"] == 7
    assert document["summary"]["quarantined_in_cases_with_findings"] == 7

    with (out / "findings.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(findings)
    assert [(r["case_id"], r["fingerprint"], r["case_quarantined_rows"]) for r in rows] == [
        (f["case_id"], f["fingerprint"], str(f["case_quarantined_rows"])) for f in findings]

    sheet = openpyxl.load_workbook(out / "findings.xlsx", read_only=True)["Findings"]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    column = table[0].index("case_quarantined_rows")
    case = table[0].index("case_id")
    assert [(r[case], r[column]) for r in table[1:]] == [
        (f["case_id"], f["case_quarantined_rows"]) for f in findings]
    assert all(isinstance(r[column], int | float) for r in table[1:])  # a number cell


def test_a_generic_logs_row_naming_no_case_is_its_charges_cases(tmp_path: Path) -> None:
    """A generic log's row with a blank case id is quarantined; where its charge is in one
    case, the quarantine names that case (as for a payment export's row naming no ticket),
    and that case's findings count the row. A charge in no case, or in two, names none.
    Before, every such row named no case, though its charge told it."""
    path = tmp_path / "log.csv"
    header = ["case", "activity", "timestamp", "resource", "role", "amount", "currency",
              "channel", "charge"]
    rows = [
        ["C1", "Capture payment", "2026-06-20T09:00:00Z", "shop", "system", "10", "EUR",
         "ecommerce", "ch_1"],
        ["C1", "Receive refund request", "2026-07-01T09:00:00Z", "Ann Lee",
         "customer-service", "10", "EUR", "ecommerce", "ch_1"],
        ["", "Execute payout", "2026-07-02T10:00:00Z", "Bob Roe", "finance", "10", "EUR",
         "ecommerce", "ch_1"],
        ["", "Execute payout", "2026-07-02T10:00:00Z", "Bob Roe", "finance", "10", "EUR",
         "ecommerce", "ch_nowhere"],
        ["C2", "Receive refund request", "2026-07-01T09:00:00Z", "Ann Lee",
         "customer-service", "5", "EUR", "ecommerce", "ch_2"],
        ["C3", "Receive refund request", "2026-07-01T09:00:00Z", "Ann Lee",
         "customer-service", "5", "EUR", "ecommerce", "ch_2"],
        ["", "Execute payout", "2026-07-02T10:00:00Z", "Bob Roe", "finance", "5", "EUR",
         "ecommerce", "ch_2"],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(path), "--out", str(out),
                                     "--as-of", "2026-10-15T00:00:00Z", "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    with (out / "quarantine.csv").open(encoding="utf-8", newline="") as handle:
        lines = [(r["row"], r["reason"], r["case"]) for r in csv.DictReader(handle)]
    assert lines == [("4", "empty value", "C1"), ("5", "empty value", ""),
                     ("8", "empty value", "")]
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["quarantined_in_cases_with_findings"] == 1
    counts = {(f["case_id"], f["case_quarantined_rows"]) for f in document["findings"]}
    assert ("C1", 1) in counts
    assert {n for case, n in counts if case != "C1"} == {0}
