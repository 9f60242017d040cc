"""The timing rules' clocks on small logs: where an open request's clock starts, and what its
finding names and says (the YAML cases in tests/rules/cases pin which cases fire)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audit.policy import Policy
from tests.test_rule_cases import policy_for, run_case

__all__ = ["policy_for"]


def _sl(log: dict[str, Any], as_of: str, policy_for: Callable[[dict[str, Any]], Policy],
        policy: dict[str, Any] | None = None) -> dict[tuple[str, str], Any]:
    result, _ = run_case({"as_of": as_of}, {"log": log, "policy": policy or {}}, "sla",
                         policy_for)
    assert result.errors == []
    return {(f.rule, f.case_id): f for f in result.findings if f.rule in ("SL001", "SL002")}


def test_a_reopened_request_is_open_since_the_request_that_reopened_it(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """A ticket closed the day after the request and asked again a month later: the case is
    open on the second request, its SLA ran out 14 days after it, and the finding names it
    (before: the close, though earlier than the second request, read as closing the case,
    and no finding)."""
    log = {"C1": [{"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                  {"a": "Close ticket", "t": "2026-07-02T09:00Z"},
                  {"a": "Receive refund request", "t": "2026-08-01T09:00Z"},
                  {"a": "Collect evidence"}]}
    found = _sl(log, "2026-10-15T00:00:00Z", policy_for)
    breach = found[("SL001", "C1")]
    assert breach.event_ids == ["C1-03"]
    assert breach.timestamp == "2026-08-15T09:00:00+00:00"
    assert breach.message == ("no payout 74 days 15:00:00 after the request, still open at "
                              "2026-10-15T00:00:00+00:00 (SLA 14 days 00:00:00)")


def test_a_stage_still_open_is_dated_when_its_limit_ran_out(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """A request with no approval 12 days on, at the as-of time: its approval stage (10
    days) is overdue, dated when the limit ran out, and its evidence has no end but the
    as-of time (before: no finding until an approval came, however late)."""
    log = {"C1": [{"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                  {"a": "Collect evidence"}]}
    found = _sl(log, "2026-07-13T09:00:00Z", policy_for)
    late = found[("SL002", "C1")]
    assert late.timestamp == "2026-07-11T09:00:00+00:00"
    assert late.event_ids == ["C1-01"]
    assert late.message == ("approval still open after 12 days 00:00:00 at "
                            "2026-07-13T09:00:00+00:00 (limit 10 days 00:00:00)")
    assert late.evidence["stages"] == [{
        "stage": "approval", "from": "request", "to": "first-approval",
        "started": "2026-07-01T09:00:00+00:00", "ended": None,
        "open_at": "2026-07-13T09:00:00+00:00", "took": "12 days 00:00:00",
        "limit": "10 days 00:00:00"}]


def test_a_late_stage_that_ended_and_one_still_open_are_one_finding(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """Approved 11 days after the request (limit 10 days) and not paid a day later (payout
    stage of 12 hours): one finding telling both, dated when the first of them was over."""
    stages = {"stages": [
        {"name": "approval", "from": "request", "to": "first-approval", "limit": "10d"},
        {"name": "payout", "from": "last-approval", "to": "payout", "limit": "12h"}],
        "grace": {"approved_not_paid": "30d"}}
    log = {"C1": [{"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                  {"a": "Approve refund", "t": "2026-07-12T09:00Z"}]}
    found = _sl(log, "2026-07-13T09:00:00Z", policy_for, stages)
    late = found[("SL002", "C1")]
    assert late.message == ("approval took 11 days 00:00:00 (limit 10 days 00:00:00); payout "
                            "still open after 1 days 00:00:00 at 2026-07-13T09:00:00+00:00 "
                            "(limit 0 days 12:00:00)")
    assert late.timestamp == "2026-07-12T09:00:00+00:00"


def test_a_payout_before_the_request_is_not_where_its_sla_ends(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """A payout a month before the request, and the request paid 29 days after it: the
    breach cites the request and the payout after it (before: the earlier payout ended the
    SLA at a negative time, and the late one was never reported)."""
    log = {"C1": [{"a": "Capture payment", "t": "2026-05-20T09:00Z"},
                  {"a": "Execute payout", "t": "2026-06-01T09:00Z"},
                  {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                  {"a": "Approve refund", "t": "2026-07-02T09:00Z"},
                  {"a": "Execute payout", "t": "2026-07-30T09:00Z"}]}
    breach = _sl(log, "2026-10-15T00:00:00Z", policy_for)[("SL001", "C1")]
    assert breach.event_ids == ["C1-03", "C1-05"]
    assert breach.timestamp == "2026-07-30T09:00:00+00:00"
    assert breach.evidence["took"] == "29 days 00:00:00"
