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
