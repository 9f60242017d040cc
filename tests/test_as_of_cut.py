"""`check` judges the log as it stood at the audit's clock (`as_of`: --as-of, the policy's, or
the time of the run): the events dated after it are left out of every rule and of
conformance, counted in the summary (`events_after_clock`) and told in a warning, and stay in
the import's counts. Before, an SLA breach dated after the clock (the payout after it) was
reported as of a clock at which the request had been open 8 days of its 14-day SLA, and the
warning said the rules judged as of the clock."""

from __future__ import annotations

import csv
import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit import canonical as C
from audit.cli import main

HEADER = ["event:id", "case:concept:name", "concept:name", "time:timestamp", "org:resource",
          "org:role", "lifecycle:transition", "refund:amount", "refund:currency",
          "refund:channel", "ticket:id", "order:id", "payment:charge_id", "payment:refund_id",
          "payment:method", "payment:status", "evidence:order", "evidence:payment_voucher"]

PEOPLE = {"Capture payment": ("stripe-api", "system"),
          "Receive refund request": ("Anna", "customer-service"),
          "Collect evidence": ("Anna", "customer-service"),
          "Approve refund": ("Bob", "supervisor"),
          "Execute payout": ("Paula", "payments"),
          "Notify customer": ("Anna", "customer-service"),
          "Close ticket": ("Anna", "customer-service")}


def case(cid: str, *events: tuple[str, str]) -> list[dict[str, Any]]:
    """An ecommerce refund case of 100 EUR (charged 200): (activity, time) per event."""
    rows = []
    for i, (activity, stamp) in enumerate(events):
        resource, role = PEOPLE[activity]
        money = activity in ("Capture payment", "Receive refund request", "Approve refund",
                             "Execute payout")
        paid = activity in ("Capture payment", "Execute payout")
        rows.append({
            "event:id": f"e-{cid}-{i}", "case:concept:name": cid, "concept:name": activity,
            "time:timestamp": stamp, "org:resource": resource, "org:role": role,
            "lifecycle:transition": "complete",
            "refund:amount": (200 if activity == "Capture payment" else 100) if money else "",
            "refund:currency": "EUR" if money else "", "refund:channel": "ecommerce",
            "ticket:id": cid, "order:id": f"O-{cid}", "payment:charge_id": f"ch_{cid}",
            "payment:refund_id": f"re_{cid}" if activity == "Execute payout" else "",
            "payment:method": "card" if paid else "",
            "payment:status": "succeeded" if paid else "",
            "evidence:order": f"O-{cid}" if activity == "Collect evidence" else "",
            "evidence:payment_voucher": f"v-{cid}.pdf" if activity == "Collect evidence"
            else ""})
    return rows


# The reviewer's case: asked 2026-09-22, paid 2026-10-07 (15 days: the SLA is 14 days).
PAID_LATE = case("R1", ("Capture payment", "2026-09-01T10:00:00Z"),
                 ("Receive refund request", "2026-09-22T13:09:23Z"),
                 ("Collect evidence", "2026-09-22T14:00:00Z"),
                 ("Approve refund", "2026-09-23T10:00:00Z"),
                 ("Execute payout", "2026-10-07T13:09:23Z"),
                 ("Notify customer", "2026-10-07T14:00:00Z"),
                 ("Close ticket", "2026-10-07T15:00:00Z"))
# Paid 2026-09-25 and approved only 2026-10-05: at a clock of 2026-10-01 the payout had no
# approval.
APPROVED_AFTER = case("A1", ("Capture payment", "2026-09-01T10:00:00Z"),
                      ("Receive refund request", "2026-09-20T09:00:00Z"),
                      ("Collect evidence", "2026-09-20T10:00:00Z"),
                      ("Execute payout", "2026-09-25T09:00:00Z"),
                      ("Notify customer", "2026-09-25T10:00:00Z"),
                      ("Close ticket", "2026-09-25T11:00:00Z"),
                      ("Approve refund", "2026-10-05T09:00:00Z"))
AFTER_OCTOBER = 4  # R1's payout, notice and close; A1's approval
ALL_EVENTS = len(PAID_LATE) + len(APPROVED_AFTER)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("as-of") / "log.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        writer.writerows(PAID_LATE + APPROVED_AFTER)
    return path


def check(log: Path, out: Path, *extra: str) -> tuple[Result, dict[str, Any]]:
    done = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--fail-on",
                                     "never", *extra])
    assert done.exit_code == 0, (done.output, done.exception)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return done, document


def found(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["rule"], f["case_id"]) for f in document["findings"]}


def test_an_sla_breach_paid_after_the_clock_is_no_finding_at_the_clock(log: Path,
                                                                       tmp_path: Path) -> None:
    """At 2026-10-01 the request of 2026-09-22 had been open 8 days of 14: no sla-breach
    (before: 'request to payout took 15d', dated 2026-10-07, after the clock). At 2026-10-08
    the payout is judged: the breach, with the request and the payout."""
    _, before = check(log, tmp_path / "oct1", "--as-of", "2026-10-01T00:00:00Z")
    assert ("SL001", "R1") not in found(before)
    assert all(f["timestamp"] <= "2026-10-01T00:00:00+00:00" for f in before["findings"])
    _, after = check(log, tmp_path / "oct8", "--as-of", "2026-10-08T00:00:00Z")
    breach = next(f for f in after["findings"] if (f["rule"], f["case_id"]) == ("SL001", "R1"))
    assert breach["message"] == "request to payout took 15d (SLA 14d)"
    assert breach["evidence"]["paid_at"] == "2026-10-07T13:09:23+00:00"


def test_a_payout_after_the_clock_is_not_yet_made_at_the_clock(log: Path,
                                                              tmp_path: Path) -> None:
    """At 2026-10-07 00:00 the approval of 2026-09-23 had waited 13 days for the payout of
    that afternoon: approved-not-paid (grace 5 days), citing the approval, whose finding
    suppresses the sla-breach of a request still open (precedence). Before, the payout after
    the clock was judged: no approved-not-paid, and a breach 'request to payout took 15d'."""
    _, document = check(log, tmp_path / "out", "--as-of", "2026-10-07T00:00:00Z")
    waiting = next(f for f in document["findings"]
                   if (f["rule"], f["case_id"]) == ("EV003", "R1"))
    assert waiting["event_ids"] == ["e-R1-3"]
    assert waiting["message"] == ("approved on 2026-09-23 10:00:00 UTC, still not paid after "
                                  "13d 14h")
    assert ("SL001", "R1") not in found(document)
    assert document["summary"]["suppressed_by_precedence"] == 1
    assert document["summary"]["events_after_clock"] == 3


def test_an_approval_after_the_clock_does_not_approve_a_payout_at_the_clock(
        log: Path, tmp_path: Path) -> None:
    """A payout of 2026-09-25 approved on 2026-10-05: at a clock of 2026-10-01 the payout
    had no approval (missing-approval, as an auditor at that date would find it); judged
    later, the approval came after the payout (approval-after-payout)."""
    _, before = check(log, tmp_path / "oct1", "--as-of", "2026-10-01T00:00:00Z")
    assert ("AP001", "A1") in found(before) and ("AP002", "A1") not in found(before)
    _, after = check(log, tmp_path / "oct8", "--as-of", "2026-10-08T00:00:00Z")
    assert ("AP002", "A1") in found(after) and ("AP001", "A1") not in found(after)


def test_the_events_after_the_clock_are_counted_and_told(log: Path, tmp_path: Path) -> None:
    """The summary counts the events not judged (findings.json, the XLSX Summary), the
    import's counts keep them, and the warning says what happened on the console, in the
    manifest and in the report (before: 'time-dependent rules judge as of the clock', untrue
    of a payout after it)."""
    out = tmp_path / "out"
    done, document = check(log, out, "--as-of", "2026-10-01T00:00:00Z", "--format", "all")
    summary = document["summary"]
    assert summary["events_after_clock"] == AFTER_OCTOBER
    assert summary["imported"] == summary["read"] == ALL_EVENTS
    assert summary["events"] == ALL_EVENTS - AFTER_OCTOBER
    assert summary["cases"] == 2
    warning = ("4 events dated after the audit's clock (2026-10-01T00:00:00+00:00; the last "
               "2026-10-07T15:00:00+00:00) were not judged: the audit judges the log as it "
               "stood at the clock; pass a later --as-of to judge them")
    assert f"warning: {warning}" in " ".join(done.output.split())
    assert warning in document["manifest"]["warnings"]
    assert "is before the log's last event" not in done.output
    report = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    assert warning in " ".join(report.split())
    # Scope: the events' dates are of every event imported, those after the clock named.
    assert ('2026-09-01 10:00:00 UTC to 2026-10-07 15:00:00 UTC (every event of the cases, the '
            'purchases refunded included: the first and last event, not an audit period); '
            'of them, <span data-metric="events_after_clock" data-value="4">4</span> events '
            'dated after the audit clock, not judged') in " ".join(report.split())
    sheet = openpyxl.load_workbook(out / "findings.xlsx")["Summary"]
    rows = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}
    # The judged events named so, and the log's events adding up as report.html's
    # population line adds them (before: "Events", the judged ones alone, read as the log's)
    assert "Events" not in rows
    assert rows["Events judged (dated up to the audit clock)"] == ALL_EVENTS - AFTER_OCTOBER
    assert rows["Events dated after the clock, not judged"] == AFTER_OCTOBER
    assert rows["Events in the log (judged + after the clock + not complete)"] == ALL_EVENTS
    assert not any(str(label).startswith("Events more than") for label in rows)
    assert (f'the log holds <span data-metric="log-events" data-value="{ALL_EVENTS}">'
            f'{ALL_EVENTS}</span> events') in " ".join(report.split())

    done, document = check(log, tmp_path / "later", "--as-of", "2026-10-08T00:00:00Z",
                           "--format", "json,html")
    assert document["summary"]["events_after_clock"] == 0
    assert document["summary"]["events"] == ALL_EVENTS
    assert "not judged" not in done.output
    assert 'data-metric="events_after_clock"' not in (tmp_path / "later" / "report.html"
                                                      ).read_text(encoding="utf-8")


def test_one_event_after_the_clock_is_told_in_the_singular(log: Path, tmp_path: Path) -> None:
    """At a clock of 2026-10-07 14:30 only R1's close (15:00) is after it: one event, told
    in the singular, with no 'last' of one."""
    done, document = check(log, tmp_path / "out", "--as-of", "2026-10-07T14:30:00Z")
    assert document["summary"]["events_after_clock"] == 1
    assert ("1 event dated after the audit's clock (2026-10-07T14:30:00+00:00) was not "
            "judged: the audit judges the log as it stood at the clock; pass a later --as-of "
            "to judge it") in " ".join(done.output.split())


def test_a_log_wholly_before_the_clock_is_judged_without_a_copy() -> None:
    """No event after the clock: the log itself is judged (no copy of a log of millions of
    events); a time missing (NaT) is not after the clock, as before the cut."""
    frame = pd.DataFrame({C.TIMESTAMP: pd.to_datetime(
        ["2026-09-01T00:00:00Z", None, "2026-10-01T00:00:00Z"], utc=True)})
    clock = datetime(2026, 10, 1, tzinfo=UTC)
    judged, after = C.until(frame, clock)
    assert judged is frame and after == 0
    assert C.dated_after(frame, clock).tolist() == [False, False, False]
    judged, after = C.until(frame, datetime(2026, 9, 15, tzinfo=UTC))
    assert after == 1 and len(judged) == 2 and judged[C.TIMESTAMP].isna().sum() == 1
    assert C.dated_after(frame.iloc[:0], clock).tolist() == []


def test_the_console_names_the_clock_and_where_it_came_from(log: Path,
                                                            tmp_path: Path) -> None:
    """The console never said which clock the run judged by (the bundled policy's pinned
    2026-10-15 showed only as a warning's date): one line names it and its source, --as-of,
    the policy's as_of (by the policy's file name) or the time of the run."""
    done, _ = check(log, tmp_path / "given", "--as-of", "2026-10-01T02:00:00+02:00",
                    "--format", "json")
    lines = done.output.splitlines()
    assert [line for line in lines if line.startswith("clock: ")] == [
        "clock: 2026-10-01T00:00:00+00:00 (--as-of)"]
    assert lines[1] == "clock: 2026-10-01T00:00:00+00:00 (--as-of)"
    done, _ = check(log, tmp_path / "pinned", "--format", "json")
    assert ("clock: 2026-10-15T00:00:00+00:00 (the policy's as_of, policy.default.yaml)"
            in done.output.splitlines())
    policy = tmp_path / "mine.yaml"
    made = CliRunner().invoke(main, ["policy", "init", str(policy)])
    assert made.exit_code == 0, made.output
    done, document = check(log, tmp_path / "now", "--policy", str(policy), "--format", "json")
    assert (f"clock: {document['manifest']['as_of']} (the time of the run)"
            in done.output.splitlines())


def test_the_warnings_on_what_the_rules_could_not_judge_read_the_log_at_the_clock(
        tmp_path: Path) -> None:
    """A case wholly after the clock stating no channel is no case of the audit: no warning
    that the rules judged no case of no channel ('1 case of 1 states no channel': a case
    more than the audit's). At a later clock it is judged, and warned of."""
    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp,org:resource,org:role,"
                   "refund:channel\n"
                   "K1,Receive refund request,2026-09-10T09:00:00Z,Anna,customer-service,"
                   "ecommerce\n"
                   "K2,Receive refund request,2026-10-10T09:00:00Z,Anna,customer-service,\n",
                   encoding="utf-8")
    clock = "2026-10-01T00:00:00Z"
    _, document = check(log, tmp_path / "oct1", "--as-of", clock, "--format", "json,html")
    assert document["summary"]["cases"] == 1
    # report.html's population: the case judged, by its channel (not an 'unknown' more)
    report = " ".join((tmp_path / "oct1" / "report.html").read_text(encoding="utf-8").split())
    assert "1</span> refund case, 1 event judged (ecommerce 1); the log holds " in report
    assert ">2</span> events: 1 dated after the audit clock, not judged</dd>" in report
    assert [w for w in document["manifest"]["warnings"] if "no channel" in w] == []
    _, document = check(log, tmp_path / "nov", "--as-of", "2026-11-01T00:00:00Z",
                        "--format", "json")
    assert document["summary"]["cases"] == 2
    told = [w for w in document["manifest"]["warnings"] if "no channel" in w]
    assert len(told) == 1 and told[0].startswith("1 case of 2 states no channel")


def test_a_clock_before_every_event_is_refused_not_a_clean_run(log: Path,
                                                              tmp_path: Path) -> None:
    """A clock before the log's first event leaves no event to judge: the run would report
    no finding, as a clean log does (a log of a later year checked with the bundled policy,
    whose as_of matches the bundled sample). It is an input error (exit code 2) naming the
    clock, where it came from and the log's first event; nothing is written."""
    out = tmp_path / "early"
    done = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--as-of",
                                     "2026-08-01T00:00:00Z"])
    assert done.exit_code == 2, done.output
    assert ("the audit's clock, 2026-08-01T00:00:00+00:00 (--as-of), is before every event "
            "of the log (the first 2026-09-01T10:00:00+00:00): no event would be judged"
            ) in done.output
    assert not out.exists()
    # The bundled policy's clock (2026-10-15) before a log of a later year: named as its.
    later = tmp_path / "later.csv"
    later.write_text(log.read_text(encoding="utf-8").replace("2026-", "2027-"),
                     encoding="utf-8")
    done = CliRunner().invoke(main, ["check", str(later), "--out", str(tmp_path / "l")])
    assert done.exit_code == 2, done.output
    assert "(the as_of of the policy policy.default.yaml), is before every event" in done.output
    # One event at the clock is judged (an event at the clock is not after it).
    _, document = check(log, tmp_path / "at", "--as-of", "2026-09-01T10:00:00Z")
    assert document["summary"]["events_after_clock"] == ALL_EVENTS - 2


def without_channel(findings: list[Any]) -> list[dict[str, Any]]:
    """The findings as dicts, but for the channel, which `check` adds after the rules
    (`CheckRun.finding_channels`) and run_rules leaves empty."""
    return [{k: v for k, v in f.as_dict().items() if k != "channel"} for f in findings]


@pytest.mark.parametrize("which", ["sample", "started"])
def test_run_rules_judges_the_log_at_the_clock_as_check_does(log: Path, tmp_path: Path,
                                                            which: str) -> None:
    """`run_rules` (what bench/ runs as check's equal, and the Dask engine's fallback) makes
    check's cut itself (`canonical.at_clock`): given the whole imported log and a clock
    before some of its events, it finds what `check` finds, and counts the events it left
    out. Before, it judged every event, whatever its date: 92 findings on the bundled
    sample at 2026-09-01 (38 of them dated after the clock) against check's 78."""
    from audit.checkrun import checked_policy, run_check
    from audit.ingest import import_sources
    from audit.policy import default_policy_path
    from audit.rules import default_rules
    from audit.rules.engine import run_rules

    if which == "sample":
        path = Path(__file__).parent.parent / "sample_logs" / "refund-sample" / "canonical.csv"
        clock = datetime(2026, 9, 1, tzinfo=UTC)
    else:  # the small log, with a payout's start before the clock (not judged: no payout)
        path = tmp_path / "started.csv"
        started = {**APPROVED_AFTER[3], "event:id": "e-A1-start",
                   "time:timestamp": "2026-09-24T09:00:00Z", "lifecycle:transition": "start"}
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, HEADER)
            writer.writeheader()
            writer.writerows([*PAID_LATE, *APPROVED_AFTER, started])
        clock = datetime(2026, 10, 1, tzinfo=UTC)
    run = run_check([path], default_policy_path(), as_of=clock)
    assert run.after_clock > 0
    whole = import_sources([(path, None)]).log
    result = run_rules(whole, checked_policy(default_policy_path()), default_rules(),
                       as_of=clock)
    assert without_channel(result.findings) == without_channel(run.result.findings)
    assert result.findings and all(f.timestamp <= clock.isoformat() for f in result.findings)
    assert result.after_clock == run.after_clock
    assert result.not_judged == run.not_judged == ({"start": 1} if which == "started" else {})
    assert (result.cases, result.events) == (run.result.cases, run.result.events)
    assert result.events == len(whole) - run.after_clock - sum(run.not_judged.values())
    assert result.extra.get("conformance") == run.result.extra.get("conformance")
