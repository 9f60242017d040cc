"""missing-evidence (EV001) names its items as lists in a finding's evidence: `missing` ([]
where none is missing and an item only came after the payout), `after_payout` and
`placeholder`. Before, they were texts joined by ", ", and a finding of a late item only
held `missing: ""`: a reader could not tell "nothing missing" from unknown, and had to split
the text. findings.csv and findings.xlsx hold the evidence as the same JSON object, and the
finding's fingerprint (its rule, case and events) is what it was."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pandas as pd
from click.testing import CliRunner

from audit.cli import main
from audit.findings import fingerprint

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_logs" / "refund-sample" / "canonical.csv"


def test_items_are_lists_in_json_csv_and_xlsx(tmp_path: Path) -> None:
    """The bundled sample with RFD-55's usage (recorded 2026-09-28, before its payout of
    2026-10-01 15:03) recorded only on 2026-10-03, and RFD-164's renewal date typed as 'n/a'
    (its usage already missing): RFD-55 lacks nothing but its usage came late; RFD-164
    lacks both, the renewal date held only as a placeholder."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    collect = frame["event:id"] == "jira:RFD-55:5000481"
    late = frame[collect].copy()
    frame.loc[collect, "evidence:usage"] = ""
    late["event:id"] = "jira:RFD-55:late-usage"
    late["time:timestamp"] = "2026-10-03T09:00:00+00:00"
    late["evidence:renewal_date"] = ""
    frame = pd.concat([frame, late], ignore_index=True)
    rfd164 = (frame["case:concept:name"] == "RFD-164") & frame["evidence:renewal_date"].ne("")
    assert rfd164.sum() == 1
    frame.loc[rfd164, "evidence:renewal_date"] = "n/a"
    log = tmp_path / "log.csv"
    frame.to_csv(log, index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--format",
                                       "json,csv,xlsx", "--fail-on", "never",
                                       "--as-of", "2026-10-15T00:00:00Z"])
    assert result.exit_code == 0, (result.output, result.exception)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    found = {f["case_id"]: f for f in document["findings"] if f["rule"] == "EV001"}
    came_late = found["RFD-55"]
    assert came_late["evidence"] == {
        "channel": "subscription", "missing": [], "after_payout": ["usage"],
        "paid_at": "2026-10-01T15:03:07+00:00",
        "first_recorded_after_payout": "2026-10-03T09:00:00+00:00"}
    assert came_late["message"] == (
        "subscription refund paid on 2026-10-01 15:03:07 UTC before its required evidence "
        "was recorded: usage (first recorded 2026-10-03 09:00:00 UTC)")
    assert found["RFD-164"]["evidence"] == {
        "channel": "subscription", "missing": ["renewal_date", "usage"],
        "placeholder": ["renewal_date"]}
    assert found["RFD-164"]["message"] == (
        "subscription refund without required evidence: renewal_date, usage (renewal_date "
        "recorded only as a placeholder such as 'n/a' or '-')")
    for finding in found.values():  # (the fingerprint: the rule's name, case and events)
        assert finding["fingerprint"] == fingerprint(finding["name"], finding["case_id"],
                                                     finding["event_ids"])
    # findings.csv and findings.xlsx: the same evidence, as its JSON object, readable.
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = {r["case_id"]: r for r in csv.DictReader(handle) if r["rule"] == "EV001"}
    book = openpyxl.load_workbook(out / "findings.xlsx", read_only=True)
    sheet = list(book["Findings"].iter_rows(values_only=True))
    at, rule, case = (sheet[0].index(name) for name in ("evidence", "rule", "case_id"))
    cells = {row[case]: row[at] for row in sheet[1:] if row[rule] == "EV001"}
    for case_id, finding in found.items():
        assert json.loads(rows[case_id]["evidence"]) == finding["evidence"]
        assert json.loads(cells[case_id]) == finding["evidence"]
    assert rows["RFD-55"]["evidence"] == (
        '{"channel": "subscription", "missing": [], "after_payout": ["usage"], "paid_at": '
        '"2026-10-01T15:03:07+00:00", "first_recorded_after_payout": '
        '"2026-10-03T09:00:00+00:00"}')
