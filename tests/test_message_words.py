"""Findings' messages an auditor reads beside the reports' tables (an acceptance review):
amounts with their thousands grouped in the currency's minor units ("1,594.55 EUR", "12,500
JPY", "1,234.500 KWD"), times as the tables show them ("2026-09-24 11:09:33 UTC", not ISO
8601), durations in words, and every threshold with its currency. The evidence keeps its
machine-readable forms (ISO 8601 times, pandas' durations): only the message changes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from audit.findings import Finding
from audit.policy import Policy
from audit.rules.base import Rule
from audit.words import moment, moments
from reports.view import short_time
from tests.test_rule_cases import policy_for, run_case

__all__ = ["policy_for"]


def _found(log: dict[str, Any], rule: str, policy_for: Callable[[dict[str, Any]], Policy],
           policy: dict[str, Any] | None = None, as_of: str | None = None
           ) -> dict[str, Finding]:
    data: dict[str, Any] = {"as_of": as_of} if as_of else {}
    result, _ = run_case(data, {"log": log, "policy": policy or {}}, "messages", policy_for)
    assert result.errors == [], [e.error for e in result.errors]
    return {f.case_id: f for f in result.findings if f.rule == rule}


def _one_approval(amount: float, currency: str) -> dict[str, Any]:
    return {"amount": amount, "cur": currency, "events": [
        {"a": "Capture payment"}, {"a": "Receive refund request"}, {"a": "Collect evidence"},
        {"a": "Approve refund", "r": "Stefan Kowalski"}, {"a": "Execute payout"}]}


def test_a_second_approvals_threshold_reads_with_its_currency_and_grouped_amounts(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """The thresholds are per currency: "900.00 EUR is above the threshold of 500.00" left
    the reader to guess the threshold's. Each amount in its currency's minor units, with its
    thousands grouped (JPY none, KWD three places)."""
    policy = {"thresholds": {"second_approval": {"EUR": 500, "JPY": 50000, "KWD": 500}}}
    log = {"E1": _one_approval(1594.55, "EUR"), "J1": _one_approval(125000, "JPY"),
           "K1": _one_approval(1234.5, "KWD")}
    found = _found(log, "AP003", policy_for, policy)
    assert {k: f.message for k, f in found.items()} == {
        "E1": "1,594.55 EUR is above the threshold of 500.00 EUR, approved only by "
              "Stefan Kowalski",
        "J1": "125,000 JPY is above the threshold of 50,000 JPY, approved only by "
              "Stefan Kowalski",
        "K1": "1,234.500 KWD is above the threshold of 500.000 KWD, approved only by "
              "Stefan Kowalski"}
    # (The evidence keeps the numbers as numbers.)
    assert (found["J1"].evidence["judged_amount"], found["J1"].evidence["threshold"],
            found["J1"].evidence["currency"]) == (125000.0, 50000.0, "JPY")


def test_a_time_in_a_message_reads_as_the_reports_tables_show_it(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """"paid 1594.55 EUR on 2026-09-24T11:09:33+00:00" read raw beside the tables'
    "2026-09-24 11:09:33 UTC": the message tells the time as the tables do, in UTC (a time
    the export wrote in another zone too), the amount grouped, and the paid texts of other
    currencies as well; the finding's timestamp stays ISO 8601."""
    log = {"A1": {"amount": 1594.55, "events": [
        {"a": "Capture payment"}, {"a": "Receive refund request"},
        {"a": "Execute payout", "t": "2026-09-24T13:09:33+02:00"},
        {"a": "Execute payout", "cur": "JPY", "amount": 12500}]}}
    [finding] = _found(log, "AP001", policy_for).values()
    assert finding.message == ("paid 1,594.55 EUR and 12,500 JPY on 2026-09-24 11:09:33 UTC "
                               "without any approval")
    assert finding.timestamp == "2026-09-24T11:09:33+00:00"
    assert short_time(finding.timestamp) in finding.message  # (as report.html's table)


def test_times_in_a_message_are_told_and_the_evidence_keeps_them_iso(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """Approved only after the payout: the message tells both times as the tables show
    them; the evidence (findings.json, the CSV's evidence) keeps their ISO 8601 texts."""
    log = {"C1": [{"a": "Capture payment", "t": "2026-07-01T08:00Z"},
                  {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                  {"a": "Execute payout", "t": "2026-07-02T09:30:15Z"},
                  {"a": "Approve refund", "t": "2026-07-03T10:00Z"}]}
    finding = _found(log, "AP002", policy_for)["C1"]
    assert finding.message == ("first approval on 2026-07-03 10:00:00 UTC, after the payout "
                               "on 2026-07-02 09:30:15 UTC")
    assert finding.evidence == {"payout_time": "2026-07-02T09:30:15+00:00",
                                "approvals_first_time": "2026-07-03T10:00:00+00:00"}


def test_an_approval_a_fraction_of_a_second_after_the_payout_reads_after_it(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """Times told to the second made "first approval on 10:00:00 UTC, after the payout on
    10:00:00 UTC" of an approval 250 ms after its payout (Jira states milliseconds): a
    fraction of a second is told where a time has one."""
    log = {"C1": [{"a": "Capture payment", "t": "2026-07-01T08:00Z"},
                  {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                  {"a": "Execute payout", "t": "2026-07-02T10:00:00Z"},
                  {"a": "Approve refund", "t": "2026-07-02T10:00:00.250Z"}]}
    finding = _found(log, "AP002", policy_for)["C1"]
    assert finding.message == ("first approval on 2026-07-02 10:00:00.250 UTC, after the "
                               "payout on 2026-07-02 10:00:00 UTC")


def test_a_wait_in_a_message_reads_in_words_and_its_evidence_in_iso_8601(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """"still not paid after 14 days 11:03:54" (pandas' text) beside the other messages'
    "15d" now reads "14d 11h 3m 54s"; the evidence holds the ISO 8601 duration (before,
    pandas' text), which `pd.Timedelta` reads back."""
    log = {"C1": [{"a": "Capture payment", "t": "2026-09-29T08:00Z"},
                  {"a": "Receive refund request", "t": "2026-09-30T09:00Z"},
                  {"a": "Collect evidence", "t": "2026-09-30T10:00Z"},
                  {"a": "Approve refund", "t": "2026-09-30T12:56:06Z"}]}
    finding = _found(log, "EV003", policy_for, as_of="2026-10-15T00:00:00Z")["C1"]
    assert finding.message == ("approved on 2026-09-30 12:56:06 UTC, still not paid after "
                               "14d 11h 3m 54s")
    assert finding.evidence == {"approved_at": "2026-09-30T12:56:06+00:00",
                                "approval_eid": "C1-04",
                                "waiting": "P14DT11H3M54S"}


class _Facts:
    """What `Rule.findings` asks of the facts here: no events to describe."""

    def describe(self, ids: Iterable[str], index: pd.Index) -> dict[str, Any]:
        return {}


class _Rule(Rule):
    code = "AP999"
    name = "test-rule"
    severity = "low"
    summary = "a test rule"

    def check(self, facts: Any) -> list[Finding]:
        return []


def test_the_builder_tells_times_durations_and_amounts_and_what_is_not_recorded() -> None:
    """`Rule.findings` on columns of every kind a rule hands it: times of whole seconds and
    not (and Timestamp objects), in UTC and not, durations, amounts in JPY, KWD, an
    unknown currency and none; a missing value of each reads "(not recorded)"; the evidence
    keeps the ISO texts, pandas' durations and the numbers."""
    index = pd.Index(["A", "B", "C", "D"], name="case")
    whole = pd.Series(pd.to_datetime(["2026-09-24T11:09:33Z", "2026-01-02T03:04:05Z", None,
                                      "2026-12-31T23:59:59Z"], utc=True), index=index)
    fine = whole + pd.Timedelta(milliseconds=250)  # (not whole seconds: no fast path)
    matches = pd.DataFrame({
        "eid": ["e1", "e2", "e3", "e4"],
        "amount": [1594.55, 12500.0, None, 1234567.891],
        "currency": ["EUR", "JPY", "KWD", None],
        "at": whole, "fine": fine.dt.tz_convert("Europe/Berlin"),
        "stamp": pd.Series([*whole.iloc[:2], None, whole.iloc[3]], index=index, dtype=object),
        "wait": pd.Series(pd.to_timedelta(["1D 2h", "45s", None, "0s"]), index=index),
        "who": ["Ann", None, "Cy", "Dee"]}, index=index)
    found = _Rule().findings(
        _Facts(), matches,  # type: ignore[arg-type]
        message="{amount:.2f} {currency} at {at} ({fine}; {stamp}) after {wait} by {who}",
        events=("eid",), when="at", amount="amount",
        evidence=("amount", "at", "fine", "stamp", "wait"))
    assert [f.message for f in found] == [
        "1,594.55 EUR at 2026-09-24 11:09:33 UTC (2026-09-24 11:09:33.250 UTC; "
        "2026-09-24 11:09:33 UTC) after 1d 2h by Ann",
        "12,500 JPY at 2026-01-02 03:04:05 UTC (2026-01-02 03:04:05.250 UTC; "
        "2026-01-02 03:04:05 UTC) after 45s by (not recorded)",
        "(not recorded) KWD at (not recorded) ((not recorded); (not recorded)) after "
        "(not recorded) by Cy",
        "1,234,567.89 (not recorded) at 2026-12-31 23:59:59 UTC (2026-12-31 23:59:59.250 UTC; "
        "2026-12-31 23:59:59 UTC) after 0s by Dee"]
    assert found[0].evidence == {
        "amount": 1594.55, "at": "2026-09-24T11:09:33+00:00",
        "fine": "2026-09-24T13:09:33.250000+02:00", "stamp": "2026-09-24T11:09:33+00:00",
        "wait": "P1DT2H"}
    assert found[2].evidence["at"] is None and found[2].evidence["amount"] is None
    assert [f.timestamp for f in found] == [
        "2026-09-24T11:09:33+00:00", "2026-01-02T03:04:05+00:00", None,
        "2026-12-31T23:59:59+00:00"]
    assert [f.amount_at_risk for f in found] == [1594.55, 12500.0, None, 1234567.89]


def test_a_text_column_is_never_read_as_a_time() -> None:
    """A message's text that looks like a time (an id, a label) is left as it is: only
    columns of times are told as times."""
    index = pd.Index(["A"], name="case")
    matches = pd.DataFrame({"eid": ["e1"], "label": ["2026-09-24T11:09:33+00:00"],
                            "at": pd.to_datetime(["2026-09-24T11:09:33Z"], utc=True)},
                           index=index)
    [finding] = _Rule().findings(_Facts(), matches,  # type: ignore[arg-type]
                                 message="{label} at {at}", events=("eid",), when="at")
    assert finding.message == "2026-09-24T11:09:33+00:00 at 2026-09-24 11:09:33 UTC"


def test_a_year_past_9999_and_an_array_field_read_as_they_are() -> None:
    """The fast path of whole-second UTC times cut the text at fixed places: a year past
    9999 read '12000-01-0 T01:02:0 UTC'. And a field holding an array (a list of events)
    made the check for missing values raise (`None in values` compares by ==)."""
    index = pd.Index(["A"], name="case")
    matches = pd.DataFrame({"eid": ["e1"], "at": pd.Series(
        np.array(["12000-01-01T01:02:03"], dtype="datetime64[s]"), index=index
    ).dt.tz_localize("UTC"), "ids": pd.Series([np.array(["x", "y"])], index=index)},
                           index=index)
    [finding] = _Rule().findings(_Facts(), matches,  # type: ignore[arg-type]
                                 message="at {at}: {ids}", events=("eid",), when="at")
    assert finding.message == "at 12000-01-01 01:02:03 UTC: ['x', 'y']"


def test_moment_is_the_reports_time() -> None:
    """`moment` and `moments` tell a time as report.html's tables do (`short_time`): UTC,
    to the second, a fraction of a second kept to the millisecond where there is one
    (before 1970 too), a zone converted, none taken as UTC; missing: "n/a" alone, None in a
    column (a message says "(not recorded)")."""
    texts = ["2026-09-24T13:09:33.7+02:00", "1969-12-31T23:59:59.5+00:00",
             "2026-01-02T03:04:05+00:00"]
    assert [moment(t) for t in texts] == [short_time(t) for t in texts] == [
        "2026-09-24 11:09:33.700 UTC", "1969-12-31 23:59:59.500 UTC",
        "2026-01-02 03:04:05 UTC"]
    assert moment(None) == moment(pd.NaT) == moment(float("nan")) == "n/a"
    assert moment(pd.Timestamp("2026-01-02 03:04:05")) == "2026-01-02 03:04:05 UTC"
    column = pd.Series(pd.to_datetime([*texts, None], utc=True, format="ISO8601"))
    told = ["2026-09-24 11:09:33.700 UTC", "1969-12-31 23:59:59.500 UTC",
            "2026-01-02 03:04:05 UTC", None]
    assert moments(column) == told
    assert moments(column.dt.tz_convert("Asia/Tokyo")) == told
    assert moments(column.dt.tz_localize(None)) == told
    assert moments(column.astype(object)) == told
    assert moments(column.astype("datetime64[s, UTC]")) == [  # (whole seconds: none shown)
        "2026-09-24 11:09:33 UTC", "1969-12-31 23:59:59 UTC", "2026-01-02 03:04:05 UTC", None]
    assert moments(np.array(["+20000-01-01T01:02:03"], dtype="datetime64[s]")) == [
        "20000-01-01 01:02:03 UTC"]


def test_a_message_names_its_case_repeats_a_field_and_keeps_its_braces() -> None:
    """The builder formats a message by position (no dict per finding): `{case}` still
    names the case, a field used twice reads twice, a brace written `{{` stays one."""
    index = pd.Index(["A", "B"], name="case")
    matches = pd.DataFrame({"eid": ["e1", "e2"], "who": ["Ann", None],
                            "at": pd.to_datetime(["2026-09-24T11:09:33Z"] * 2, utc=True)},
                           index=index)
    found = _Rule().findings(_Facts(), matches,  # type: ignore[arg-type]
                             message="case {case}: {{{who}}} and {who} at {at}",
                             events=("eid",), when="at")
    assert [f.message for f in found] == [
        "case A: {Ann} and Ann at 2026-09-24 11:09:33 UTC",
        "case B: {(not recorded)} and (not recorded) at 2026-09-24 11:09:33 UTC"]
