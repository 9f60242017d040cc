"""The exports carry each finding's channel, and the summary counts findings and money at
risk per channel: a committee filters and subtotals findings by channel (ecommerce,
subscription, offline) in the CSV, the XLSX and findings.json, and reads the subtotals in
the JSON summary, the XLSX Summary and report.html."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.policy import default_policy_path
from reports.records import FINDING_COLUMNS
from tests.test_report_totals import case_rows, write_log

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample"


def _channel_per_case() -> dict[str, str]:
    """Each case's channel, read off the sample's canonical log (each of its cases states
    one channel on all its events), not by the tool."""
    log = pd.read_csv(SAMPLE / "canonical.csv", dtype=str, keep_default_na=False)
    per_case = log.groupby("case:concept:name")["refund:channel"].unique()
    assert (per_case.map(len) == 1).all()
    return {str(case): str(channels[0]) for case, channels in per_case.items()}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's exports checked, all formats, with a waiver (self-approval of 40021)."""
    folder = tmp_path_factory.mktemp("channels")
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["waivers"] = [{"rule": "self-approval", "case": "40021", "reason": "accepted",
                          "approved_by": "Head of Internal Audit", "expires": "2099-12-31"}]
    policy_path = folder / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    out = folder / "out"
    done = CliRunner().invoke(main, ["check", *map(str, sorted((SAMPLE / "exports").iterdir())),
                                     "--policy", str(policy_path), "--format", "all",
                                     "--out", str(out), "--fail-on", "never", "-q"])
    assert done.exit_code == 0, (done.output, done.exception)
    return out


def _expected(findings: list[dict[str, Any]], channel_of: dict[str, str]
              ) -> dict[str, dict[str, Any]]:
    """Per channel, from the findings' own fields and the canonical log's channels: the
    cases, findings, waived findings, cases with an open finding and money at risk (per
    currency, the sum over cases of each case's largest open amount)."""
    out: dict[str, dict[str, Any]] = {}
    for channel in channel_of.values():
        entry = out.setdefault(channel, {"cases": 0, "cases_with_findings": set(),
                                         "findings": 0, "waived": 0,
                                         "largest": defaultdict(float)})
        entry["cases"] += 1
    for f in findings:
        entry = out[channel_of[f["case_id"]]]
        if f["waived"]:
            entry["waived"] += 1
            continue
        entry["findings"] += 1
        entry["cases_with_findings"].add(f["case_id"])
        if f["amount_at_risk"] is not None:
            key = (f["case_id"], f["currency"])
            entry["largest"][key] = max(entry["largest"][key], f["amount_at_risk"])
    for entry in out.values():
        entry["cases_with_findings"] = len(entry["cases_with_findings"])
        money: dict[str, float] = defaultdict(float)
        for (_case, currency), amount in entry.pop("largest").items():
            money[currency] += amount
        entry["money_at_risk"] = {c: round(v, 2) for c, v in sorted(money.items())}
    return out


def test_each_finding_carries_its_cases_channel_and_the_summary_counts_each_channel(
        sample_run: Path) -> None:
    channel_of = _channel_per_case()
    document = json.loads((sample_run / "findings.json").read_text(encoding="utf-8"))
    findings, summary = document["findings"], document["summary"]
    assert findings and any(f["waived"] for f in findings)
    # findings.json: each finding's channel is its case's.
    assert [f["channel"] for f in findings] == [channel_of[f["case_id"]] for f in findings]
    assert {f["channel"] for f in findings} == {"ecommerce", "subscription", "offline"}

    # findings.csv, read by header name: the column right after case_id.
    assert FINDING_COLUMNS.index("channel") == FINDING_COLUMNS.index("case_id") + 1
    with (sample_run / "findings.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["fingerprint"], r["channel"]) for r in rows] == [
        (f["fingerprint"], channel_of[f["case_id"]]) for f in findings]

    # findings.xlsx: the Findings sheet's column, and each family's sheet's.
    book = openpyxl.load_workbook(sample_run / "findings.xlsx", read_only=True)
    sheet = list(book["Findings"].iter_rows(values_only=True))
    at, case_at = sheet[0].index("channel"), sheet[0].index("case_id")
    assert [(r[case_at], r[at]) for r in sheet[1:]] == [
        (f["case_id"], channel_of[f["case_id"]]) for f in findings]

    # The summary: each channel's counts and money at risk, computed here from the
    # findings' fields and the canonical log's channels, and their sums the totals.
    expected = _expected(findings, channel_of)
    by_channel = summary["by_channel"]
    assert list(by_channel) == sorted(expected)
    assert by_channel == expected
    assert sum(c["cases"] for c in by_channel.values()) == summary["cases"] == 300
    assert sum(c["findings"] for c in by_channel.values()) == summary["findings"]
    assert sum(c["waived"] for c in by_channel.values()) == summary["waived"] >= 1
    assert sum(c["cases_with_findings"] for c in by_channel.values()) \
        == summary["cases_with_findings"]
    for currency, amount in summary["money_at_risk"].items():
        assert sum(c["money_at_risk"].get(currency, 0.0) for c in by_channel.values()) \
            == pytest.approx(amount)

    # The XLSX Summary's table of channels: a row per channel and currency.
    rows_of = list(book["Summary"].iter_rows(values_only=True))
    head = next(k for k, r in enumerate(rows_of) if r and r[0] == "Channel")
    assert rows_of[head][:7] == ("Channel", "Cases", "Cases with findings", "Findings",
                                 "Waived", "Money at risk", "Currency")
    table: dict[str, dict[str, Any]] = {}
    for row in rows_of[head + 1:]:
        if not row or row[0] is None:
            break
        entry = table.setdefault(row[0], {"money_at_risk": {}})
        if row[1] is not None:
            entry.update(cases=row[1], cases_with_findings=row[2], findings=row[3],
                         waived=row[4])
        if row[5] is not None:
            entry["money_at_risk"][row[6]] = row[5]
    assert table == expected

    # report.html's summary table.
    html = (sample_run / "report.html").read_text(encoding="utf-8")
    shown = dict(re.findall(r'data-metric="(channel-[^"]+)" data-value="([^"]*)"', html))
    for channel, entry in expected.items():
        for key in ("cases", "cases_with_findings", "findings", "waived"):
            metric = f"channel-{key.replace('_', '-')}-{channel}"
            assert int(shown[metric]) == entry[key], metric
        for currency, amount in entry["money_at_risk"].items():
            assert float(shown[f"channel-money-{channel}-{currency}"]) == pytest.approx(amount)
    assert "Findings by channel" in html


def test_a_case_stating_no_channel_has_an_empty_channel_and_its_own_subtotal(
        tmp_path: Path) -> None:
    """A case none of whose events states a channel: its findings' channel is empty in
    every export, and the summary counts it under "" (the XLSX and the HTML: "(no
    channel)"), apart from the ecommerce case's."""
    bare = case_rows("C2", "EUR", 250, day=2, skip=("Approve refund",))
    for row in bare:
        row["refund:channel"] = ""
    log = write_log(tmp_path / "log.csv", case_rows("C1", "EUR", 80, skip=("Approve refund",)),
                    bare)
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--format", "all", "--out", str(out),
                                     "--fail-on", "never", "-q",
                                     "--as-of", "2026-10-15T00:00:00Z"])
    assert done.exit_code == 0, (done.output, done.exception)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    channels = {(f["case_id"], f["channel"]) for f in document["findings"]}
    assert channels == {("C1", "ecommerce"), ("C2", "")}
    by_channel = document["summary"]["by_channel"]
    assert list(by_channel) == ["ecommerce", ""]
    assert by_channel[""]["cases"] == 1 and by_channel[""]["cases_with_findings"] == 1
    assert by_channel[""]["money_at_risk"] == {"EUR": 250.0}
    assert by_channel["ecommerce"]["money_at_risk"] == {"EUR": 80.0}
    with (out / "findings.csv").open(encoding="utf-8", newline="") as handle:
        assert {(r["case_id"], r["channel"]) for r in csv.DictReader(handle)} == channels
    book = openpyxl.load_workbook(out / "findings.xlsx", read_only=True)
    summary_rows = [r for r in book["Summary"].iter_rows(values_only=True) if r and r[0]]
    none = [r[0] for r in summary_rows].index("(no channel)")
    assert summary_rows[none][:3] == ("(no channel)", 1, 1)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'data-metric="channel-money--EUR" data-value="250.0"' in html
    assert "<td><span class=\"words\">(no channel)</span></td>" in html


def test_the_writers_set_the_findings_channels_of_a_run_not_yet_told_them(
        tmp_path: Path) -> None:
    """A CheckRun made otherwise than by run_check (its findings' channels not set yet):
    findings.csv and findings.json set them before writing, as the summary counts them."""
    from audit.checkrun import run_check
    from reports.writers import findings_document, write_csv, write_json

    log = write_log(tmp_path / "log.csv", case_rows("C1", "EUR", 80, skip=("Approve refund",)))
    run = run_check([log], default_policy_path())
    assert {f.channel for f in run.result.findings} == {"ecommerce"}
    for finding in run.result.findings:
        finding.channel = ""
    run.memo.pop("finding_channels")
    with write_csv(run, tmp_path).open(encoding="utf-8", newline="") as handle:
        assert {r["channel"] for r in csv.DictReader(handle)} == {"ecommerce"}
    for finding in run.result.findings:
        finding.channel = ""
    run.memo.pop("finding_channels")
    written = json.loads(write_json(run, tmp_path).read_text(encoding="utf-8"))
    assert {f["channel"] for f in written["findings"]} == {"ecommerce"}
    assert {f["channel"] for f in findings_document(run)["findings"]} == {"ecommerce"}
