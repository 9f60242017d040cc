"""Durations in the exports are ISO 8601 ("P14DT11H3M54S"), which a GRC import or a
spreadsheet reads, in findings.json, findings.csv, findings.xlsx and diff.json alike; the
findings precedence suppressed name their case `case_id`, as findings do. Before, the
evidence held pandas' text ("14 days 11:03:54") and `suppressed` wrote `case`.

tests/data/old_runs/demo-0.1.0-pandas-durations.json is the demo's findings.json as
refund-audit wrote it before (commit b36ba02): `diff` reads it against a run of this version
without telling any finding changed for the form of its durations, and the fingerprints are
the same."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.rundiff import aged_only, iso_evidence
from audit.words import duration, duration_nanoseconds, iso_duration, iso_duration_text

OLD = Path(__file__).resolve().parent / "data" / "old_runs" / "demo-0.1.0-pandas-durations.json"
DAY = 86_400 * 10**9


def test_iso_duration_names_the_units_that_are_not_zero() -> None:
    assert iso_duration(pd.Timedelta("14 days 11:03:54")) == "P14DT11H3M54S"
    assert iso_duration(pd.Timedelta(days=15)) == "P15D"
    assert iso_duration(timedelta(hours=6)) == "PT6H"
    assert iso_duration(np.timedelta64(90, "s")) == "PT1M30S"
    assert iso_duration(pd.Timedelta(0)) == "PT0S"
    assert iso_duration(pd.Timedelta(milliseconds=500)) == "PT0.5S"
    assert iso_duration(pd.Timedelta(nanoseconds=1)) == "PT0.000000001S"
    assert iso_duration(-pd.Timedelta(hours=1)) == "-PT1H"
    assert [iso_duration(v) for v in (None, pd.NaT, float("nan"))] == [None] * 3


@pytest.mark.parametrize("span", [
    pd.Timedelta("14 days 11:03:54"), pd.Timedelta(days=7, hours=6),
    pd.Timedelta(days=14, milliseconds=250), pd.Timedelta(seconds=59),
    -pd.Timedelta(minutes=90), pd.Timedelta(0)])
def test_iso_and_pandas_texts_read_back_as_the_same_duration(span: pd.Timedelta) -> None:
    """What pandas reads ISO 8601 as is the span; pandas' own text (the evidence of an
    earlier version) reads as the same number of nanoseconds and turns into the same ISO."""
    iso = iso_duration(span)
    assert pd.Timedelta(iso) == span
    assert duration_nanoseconds(iso) == duration_nanoseconds(str(span)) == span.value
    assert iso_duration_text(str(span)) == iso


def test_spans_of_centuries_stay_exact() -> None:
    """A column of seconds or microseconds holds spans past the 292 years of nanoseconds
    (tests/test_long_spans.py): their ISO text and its reading are Python ints, exact."""
    wide = pd.Timedelta(days=212_936).as_unit("us")
    assert iso_duration(wide) == "P212936D"
    assert duration_nanoseconds("P212936D") == 212_936 * DAY
    assert duration_nanoseconds("212936 days 00:00:00") == 212_936 * DAY


def test_texts_that_are_no_duration_stay_as_they_are() -> None:
    for text in ("", "P", "PT", "P1DT", "P1W", "P1Y", "14d", "hello", "14 days"):
        assert duration_nanoseconds(text) is None, text
        assert iso_duration_text(text) == text
    assert iso_duration_text(None) is None
    assert iso_duration_text(3) == 3


def test_older_evidence_is_read_in_iso() -> None:
    """The duration keys of approved-not-paid, sla-breach and stage-overdue; nothing else."""
    assert iso_evidence("EV003", {"approvals_last_time": "2026-09-30T12:56:06+00:00",
                                  "waiting": "14 days 11:03:54"}) == {
        "approvals_last_time": "2026-09-30T12:56:06+00:00", "waiting": "P14DT11H3M54S"}
    old = {"requested_at": "2026-07-01T00:00:00+00:00", "paid_at": None,
           "as_of": "2026-10-15T00:00:00+00:00", "open_for": "106 days 00:00:00",
           "sla": "14 days 00:00:00"}
    assert iso_evidence("SL001", old) == {**old, "open_for": "P106D", "sla": "P14D"}
    stages = {"late": "payout took 7d 6h (limit 7d)", "stages": [
        {"stage": "payout", "from": "last-approval", "to": "payout",
         "started": "2026-08-03T12:45:05+00:00", "ended": "2026-08-10T18:45:05+00:00",
         "took": "7 days 06:00:00", "limit": "7 days 00:00:00"}]}
    assert iso_evidence("SL002", stages)["stages"][0] == {
        **stages["stages"][0], "took": "P7DT6H", "limit": "P7D"}
    assert iso_evidence("SL002", stages)["late"] == stages["late"]
    # Another rule's evidence, even a text in pandas' form, is as it was.
    other = {"key": "15 days 00:00:00", "who": "Ann"}
    assert iso_evidence("DU001", other) == other


def test_a_wait_aged_by_the_clock_in_either_form() -> None:
    """A still-open wait measured to a clock two weeks later is aged only, whether OLD
    wrote it in pandas' text or in ISO 8601."""
    old_clock = datetime(2026, 10, 1, tzinfo=UTC)
    new_clock = datetime(2026, 10, 15, tzinfo=UTC)

    def finding(waiting: str, message: str) -> dict[str, Any]:
        return {"rule": "EV003", "event_ids": ["a"], "amount_at_risk": 10.0,
                "currency": "EUR", "severity": "medium", "timestamp": "2026-09-01T00:00:00+00:00",
                "message": message, "evidence": {"approvals_last_time":
                                                 "2026-09-01T00:00:00+00:00",
                                                 "waiting": waiting}}

    new = finding("P44D", "still not paid after 44d")
    assert aged_only(finding("30 days 00:00:00", "still not paid after 30d"), new,
                     old_clock, new_clock)
    assert aged_only(finding("P30D", "still not paid after 30d"), new, old_clock, new_clock)
    assert not aged_only(finding("P29D", "still not paid after 29d"), new, old_clock,
                         new_clock)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    done = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert done.exit_code in (0, 1), (done.output, done.exception)
    return out


DURATION_KEYS = {"EV003": ("waiting",), "SL001": ("took", "open_for", "sla")}


def _durations(rule: str, evidence: dict[str, Any]) -> list[str]:
    """The duration texts of one finding's evidence, in order."""
    if rule == "SL002":
        return [stage[k] for stage in evidence["stages"] for k in ("took", "limit")]
    return [evidence[k] for k in DURATION_KEYS.get(rule, ()) if k in evidence]


def test_the_exports_write_iso_durations_alike(demo: Path) -> None:
    """findings.json, findings.csv and findings.xlsx (its findings sheets' evidence) hold
    the same ISO 8601 durations, each the span of the older version's pandas text, and
    the same fingerprints as the older version wrote."""
    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    old = json.loads(OLD.read_text(encoding="utf-8"))
    findings = document["findings"]
    assert len(findings) == 93 and document["summary"]["cases_with_findings"] == 75
    assert [f["fingerprint"] for f in findings] == [f["fingerprint"] for f in old["findings"]]
    told = 0
    for now, was in zip(findings, old["findings"], strict=True):
        spans = _durations(now["rule"], now["evidence"])
        before = _durations(was["rule"], was["evidence"])
        assert len(spans) == len(before)
        for iso, text in zip(spans, before, strict=True):
            assert not iso.endswith(":00") and iso.startswith("P"), iso
            assert pd.Timedelta(iso) == pd.Timedelta(text), (iso, text)
            told += 1
        # (the message still tells it in words, as before)
        assert now["message"] == was["message"]
    assert told >= 10  # (EV003, SL001 and SL002 findings of the demo)
    assert "days" not in (demo / "findings.json").read_text(encoding="utf-8").replace(
        "days of", "")
    rows = list(csv.DictReader((demo / "findings.csv").open(encoding="utf-8", newline="")))
    assert [json.loads(r["evidence"]) for r in rows] == [f["evidence"] for f in findings]
    book = openpyxl.load_workbook(demo / "findings.xlsx", read_only=True)
    by_print = {f["fingerprint"]: f["evidence"] for f in findings}
    seen = 0
    for sheet in book.worksheets:
        lines = list(sheet.iter_rows(values_only=True))
        if not lines or "evidence" not in lines[0] or "fingerprint" not in lines[0]:
            continue
        head = list(lines[0])
        for line in lines[1:]:
            print_, evidence = line[head.index("fingerprint")], line[head.index("evidence")]
            assert json.loads(evidence) == by_print[print_]
            seen += 1
    assert seen >= len(findings)


def test_suppressed_entries_name_case_id(demo: Path) -> None:
    """`suppressed` names the case `case_id`, as findings do (before: `case`); the entries
    are the older version's otherwise."""
    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    old = json.loads(OLD.read_text(encoding="utf-8"))
    assert document["suppressed"]
    for entry in document["suppressed"]:
        assert set(entry) == {"rule", "case_id", "fingerprint", "suppressed_by"}
    assert document["suppressed"] == [
        {"rule": e["rule"], "case_id": e["case"], "fingerprint": e["fingerprint"],
         "suppressed_by": e["suppressed_by"]} for e in old["suppressed"]]


@pytest.mark.parametrize("order", ["old_first", "new_first"])
def test_diff_reads_an_older_findings_json_without_telling_changes(
        demo: Path, tmp_path: Path, order: str) -> None:
    """The older version's findings.json (durations in pandas' text, `suppressed` naming
    `case`) against this version's of the same demo: every finding still open, none
    changed or aged (before: 7 still open "with changes" and 3 "aged only", their
    durations' form taken for a change), the suppressed ones read, and diff.json's evidence
    in ISO 8601 on both sides."""
    old, new = (OLD, demo) if order == "old_first" else (demo, OLD)
    out = tmp_path / "diff"
    done = CliRunner().invoke(main, ["diff", str(old), str(new), "--out", str(out)])
    assert done.exit_code == 0, (done.output, done.exception)
    # (approved-not-paid's three findings are told with changes, of their evidence alone:
    # its logic version 2 names the approval in force `approved_at`, with its event id,
    # where the older one wrote `approvals_last_time`; the times and waits are the same;
    # and instrument-mismatch's three: its logic version 2 adds
    # `other_currency_payout_eids`)
    assert ("findings: new 0, still open 93 (of which 6 with changes), changed 0, "
            "resolved 0") in done.output
    assert "aged only" not in done.output
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    text = json.dumps(diff)
    assert "days 0" not in text and "days 1" not in text
    # (diff.json's own format says so: 2, its durations ISO 8601; format 1 wrote pandas')
    assert diff["format_version"] == 2
    assert {diff["old"]["format_version"], diff["new"]["format_version"]} == {2, 4}
    rows = list(csv.DictReader((out / "diff.csv").open(encoding="utf-8", newline="")))
    assert {r["class"] for r in rows} == {"still_open"}
    assert not any(r["aged_only"] == "TRUE" for r in rows)
    assert sorted((r["rule"], r["changes"]) for r in rows if r["changes"]) == [
        ("EV003", "evidence")] * 3 + [("EV006", "evidence")] * 3
    before = {f["fingerprint"]: f["evidence"] for f in json.loads(
        OLD.read_text(encoding="utf-8"))["findings"] if f["rule"] == "EV003"}
    now = [f for f in json.loads((demo / "findings.json").read_text(encoding="utf-8"))[
        "findings"] if f["rule"] == "EV003"]
    assert len(now) == 3
    for f in now:
        was = before[f["fingerprint"]]
        assert (was["approvals_last_time"], iso_duration_text(was["waiting"])) == (
            f["evidence"]["approved_at"], f["evidence"]["waiting"])


def test_message_words_unchanged() -> None:
    """The messages keep telling durations in words (`audit.words.duration`)."""
    assert duration(pd.Timedelta("14 days 11:03:54")) == "14d 11h 3m 54s"
