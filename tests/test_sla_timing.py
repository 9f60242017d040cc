"""The timing rules' clocks on small logs: where an open request's clock starts, and what its
finding names and says (the YAML cases in tests/rules/cases pin which cases fire)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from audit import canonical as C
from audit.policy import Policy
from audit.rules.engine import run_rules
from audit.rules.registry import default_rules
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
    assert breach.message == ("no payout 74d 15h after the request, still open at "
                              "2026-10-15 00:00:00 UTC (SLA 14d)")
    assert (breach.evidence["open_for"], breach.evidence["sla"]) == (
        "P74DT15H", "P14D")


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
    assert late.message == ("approval still open after 12d at "
                            "2026-07-13 09:00:00 UTC (limit 10d)")
    # (The message tells the as-of time as the reports show times; the evidence keeps ISO.)
    assert late.evidence["late"] == ("approval still open after 12d at "
                                     "2026-07-13T09:00:00+00:00 (limit 10d)")
    assert late.evidence["stages"] == [{
        "stage": "approval", "from": "request", "to": "first-approval",
        "started": "2026-07-01T09:00:00+00:00", "ended": None,
        "open_at": "2026-07-13T09:00:00+00:00", "took": "P12D",
        "limit": "P10D"}]


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
    assert late.message == ("approval took 11d (limit 10d); payout still open after 1d at "
                            "2026-07-13 09:00:00 UTC (limit 12h)")
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
    assert breach.evidence["took"] == "P29D"
    assert breach.message == "request to payout took 29d (SLA 14d)"


TWO_EPISODES = [{"a": "Capture payment", "t": "2026-06-20T09:00Z"},
                {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                {"a": "Approve refund", "t": "2026-07-02T09:00Z"},
                {"a": "Execute payout", "t": "2026-07-21T09:00Z"},
                {"a": "Close ticket", "t": "2026-07-22T09:00Z"},
                {"a": "Receive refund request", "t": "2026-08-10T09:00Z"},
                {"a": "Approve refund", "t": "2026-08-11T09:00Z"},
                {"a": "Execute payout", "t": "2026-08-26T15:00Z"},
                {"a": "Close ticket", "t": "2026-08-27T09:00Z"}]
"""Asked on 07-01 and paid 20 days later, closed; asked again on 08-10 and paid 16 days and
6 hours later, closed."""


def test_each_late_episode_of_a_case_is_a_breach_of_its_own(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """Asked on 07-01 and paid 20 days later, closed, asked again on 08-10 and paid 16 days
    and 6 hours later: two breaches, each dated at its payout and naming its own request
    and payout (before: one breach timed from the first request to the first payout; the
    second episode's late payout was reported nowhere)."""
    log = {"C1": TWO_EPISODES}
    result, _ = run_case({"as_of": "2026-10-15T00:00:00Z"}, {"log": log}, "two episodes",
                         policy_for)
    assert result.errors == []
    breaches = [f for f in result.findings if f.rule == "SL001"]
    assert [(f.event_ids, f.timestamp, f.message, f.evidence["took"]) for f in breaches] == [
        (["C1-02", "C1-04"], "2026-07-21T09:00:00+00:00",
         "request to payout took 20d (SLA 14d)", "P20D"),
        (["C1-06", "C1-08"], "2026-08-26T15:00:00+00:00",
         "request to payout took 16d 6h (SLA 14d)", "P16DT6H")]
    assert len({f.fingerprint for f in breaches}) == 2


def test_a_late_paid_episode_and_a_late_open_one_in_one_case(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """Paid 20 days after the first request, closed, asked again and left open past the
    SLA: a breach of the paid episode and one of the open episode, each naming its
    request."""
    log = {"C1": [{"a": "Capture payment", "t": "2026-06-20T09:00Z"},
                  {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                  {"a": "Approve refund", "t": "2026-07-02T09:00Z"},
                  {"a": "Execute payout", "t": "2026-07-21T09:00Z"},
                  {"a": "Close ticket", "t": "2026-07-22T09:00Z"},
                  {"a": "Receive refund request", "t": "2026-08-10T09:00Z"}]}
    result, _ = run_case({"as_of": "2026-09-01T09:00:00Z"}, {"log": log}, "paid and open",
                         policy_for)
    assert result.errors == []
    assert [(f.event_ids, f.timestamp, f.message) for f in result.findings
            if f.rule == "SL001"] == [
        (["C1-02", "C1-04"], "2026-07-21T09:00:00+00:00",
         "request to payout took 20d (SLA 14d)"),
        (["C1-06"], "2026-08-24T09:00:00+00:00",
         "no payout 22d after the request, still open at 2026-09-01 09:00:00 UTC "
         "(SLA 14d)")]


def test_a_late_stage_of_a_reopened_case_names_its_own_episode(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """Paid on time, closed, asked again, approved and paid 8 days after that approval (the
    payout stage is 7 days): the second episode's payout stage is late, named by its own
    request, approval and payout (before: the stage ran from the case's last approval to its
    first payout, a month before it, and nothing was found); the first episode, on time,
    is no finding."""
    log = {"C1": [{"a": "Capture payment", "t": "2026-06-20T09:00Z"},
                  {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                  {"a": "Approve refund", "t": "2026-07-02T09:00Z"},
                  {"a": "Execute payout", "t": "2026-07-03T09:00Z"},
                  {"a": "Close ticket", "t": "2026-07-04T09:00Z"},
                  {"a": "Receive refund request", "t": "2026-08-01T09:00Z"},
                  {"a": "Approve refund", "t": "2026-08-02T09:00Z"},
                  {"a": "Execute payout", "t": "2026-08-10T09:00Z"}]}
    found = _sl(log, "2026-10-15T00:00:00Z", policy_for)
    assert ("SL001", "C1") not in found
    late = found[("SL002", "C1")]
    assert late.event_ids == ["C1-06", "C1-07", "C1-08"]
    assert late.timestamp == "2026-08-10T09:00:00+00:00"
    assert late.message == "payout took 8d (limit 7d)"
    assert late.evidence["stages"][0]["took"] == "P8D"


def test_late_stages_of_two_episodes_are_two_findings(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """Two episodes, each paid 8 days after its approval and within the SLA: a stage-overdue
    finding for each, dated at its own payout."""
    log = {"C1": [{"a": "Capture payment", "t": "2026-06-20T09:00Z"},
                  {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
                  {"a": "Approve refund", "t": "2026-07-02T09:00Z"},
                  {"a": "Execute payout", "t": "2026-07-10T09:00Z"},
                  {"a": "Close ticket", "t": "2026-07-11T09:00Z"},
                  {"a": "Receive refund request", "t": "2026-08-01T09:00Z"},
                  {"a": "Approve refund", "t": "2026-08-02T09:00Z"},
                  {"a": "Execute payout", "t": "2026-08-10T09:00Z"}]}
    result, _ = run_case({"as_of": "2026-10-15T00:00:00Z"}, {"log": log}, "two late stages",
                         policy_for)
    assert result.errors == []
    assert [(f.event_ids, f.timestamp) for f in result.findings if f.rule == "SL002"] == [
        (["C1-02", "C1-03", "C1-04"], "2026-07-10T09:00:00+00:00"),
        (["C1-06", "C1-07", "C1-08"], "2026-08-10T09:00:00+00:00")]


def test_the_dask_engines_partitions_give_the_local_timing_findings(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """The timing findings of cases open, reopened, paid late after an earlier payout and
    with stages still open, cut into partitions as the Dask engine cuts the log and checked
    per partition as a worker checks it (audit.engines.dask_engine.run_partition), equal
    the local engine's, evidence and fingerprints alike: the rules read each case alone."""
    from audit.engines.dask_engine import _finish, partition_log, run_partition, ship_policy
    from tests.rules.logbuilder import build_log, timestamp

    def case(n: int) -> list[dict[str, Any]]:
        day = f"2026-07-{1 + n % 20:02d}T09:00Z"
        kinds = [
            [{"a": "Receive refund request", "t": day}, {"a": "Collect evidence"}],
            [{"a": "Receive refund request", "t": day}, {"a": "Close ticket", "t": "+1d"},
             {"a": "Receive refund request", "t": "+20d"}],
            [{"a": "Capture payment", "t": day}, {"a": "Execute payout", "t": "+1d"},
             {"a": "Receive refund request", "t": "+20d"}, {"a": "Approve refund"},
             {"a": "Execute payout", "t": "+20d"}],
            [{"a": "Receive refund request", "t": day}, {"a": "Approve refund", "t": "+11d"}],
            [{"a": "Receive refund request", "t": day}, {"a": "Reject refund", "t": "+1d"},
             {"a": "Receive refund request", "t": "+3d"}],
            [{"a": "Receive refund request", "t": f"2026-07-2{n % 3 + 2}T09:00Z"},
             {"a": "Collect evidence"}],
            # reopened and paid, late on both requests
            [{"a": "Capture payment", "t": "2026-05-01T09:00Z"},
             {"a": "Receive refund request", "t": "2026-05-10T09:00Z"},
             {"a": "Approve refund", "t": "+1d"}, {"a": "Execute payout", "t": "+15d"},
             {"a": "Close ticket", "t": "+1d"},
             {"a": "Receive refund request", "t": day}, {"a": "Approve refund", "t": "+1d"},
             {"a": "Execute payout", "t": f"+{15 + n % 2}d"}],
            # reopened and paid within the SLA, its payout stage late
            [{"a": "Capture payment", "t": "2026-05-01T09:00Z"},
             {"a": "Receive refund request", "t": "2026-05-10T09:00Z"},
             {"a": "Approve refund", "t": "+1d"}, {"a": "Execute payout", "t": "+1d"},
             {"a": "Close ticket", "t": "+1d"},
             {"a": "Receive refund request", "t": day}, {"a": "Approve refund", "t": "+1d"},
             {"a": "Execute payout", "t": "+8d"}]]
        return kinds[n % len(kinds)]

    policy = policy_for({})
    log = build_log({f"C{n:02d}": case(n) for n in range(40)}, policy)
    as_of = timestamp("2026-08-05T00:00:00Z").to_pydatetime()
    # (the log as it stood at the clock, as run_rules and run_rules_dask cut it before
    # running the rules or partitioning it: the partitions below are of that log)
    log = C.at_clock(log, as_of)[0]
    rules = default_rules()
    local = run_rules(log, policy, rules, as_of=as_of)
    shipped, sops = ship_policy(policy)
    chosen = list(local.rules)
    parts = [run_partition(part, shipped, sops, [type(r) for r in chosen], as_of)
             for part in partition_log(log, 4)]
    assert len(parts) == 4
    remote, errors, _, _ = _finish(chosen, rules, policy, as_of, parts)
    assert errors == [] and local.errors == []
    timing = [f.as_dict() for f in local.findings if f.rule in ("SL001", "SL002")]
    assert {f["rule"] for f in timing} == {"SL001", "SL002"}
    assert [f.as_dict() for f in remote if f.rule in ("SL001", "SL002")] == timing
    # (a case paid late on two requests has two breaches, in both engines)
    assert max(Counter(f["case_id"] for f in timing if f["rule"] == "SL001").values()) == 2
    # (and a case whose second episode's payout stage is late, its finding naming it)
    assert any(f["rule"] == "SL002" and f["event_ids"][0].endswith("-06") for f in timing)


def test_a_long_stage_limit_beside_a_late_stage_of_a_nanosecond_log(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """A log of nanosecond times (they end in 2262) with a case of 2250 whose approval was
    late, under a policy with a stage limit of 100 years as well: stage-overdue reports the
    late approval (before: the start of every late case plus the 100 years was computed,
    beyond 2262: OverflowError, the rule crashed)."""
    from tests.rules.logbuilder import build_log, timestamp

    policy = policy_for({"stages": [
        {"name": "approval", "from": "request", "to": "first-approval", "limit": "10d"},
        {"name": "slow", "from": "request", "to": "close", "limit": "36500d"}]})
    log = build_log({"C1": [{"a": "Receive refund request", "t": "2250-07-01T09:00Z"},
                            {"a": "Approve refund", "t": "2250-07-20T09:00Z"}]}, policy)
    log[C.TIMESTAMP] = log[C.TIMESTAMP].dt.as_unit("ns")
    # (a clock after the approval: run_rules, as check, judges the log as it stood then)
    result = run_rules(log, policy, default_rules(),
                       as_of=timestamp("2250-08-01T09:00:00Z").to_pydatetime())
    assert result.errors == []
    assert [f.message for f in result.findings if f.rule == "SL002"] == [
        "approval took 19d (limit 10d)"]


def test_the_episodes_of_a_case(policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """A payout before any request (no episode's), a rejection overturned by a later
    approval (no end), a first episode paid and closed, a request at the time of that close
    (no new episode: the close ends the episode it is in), and a request after the close
    opening a second episode, not ended nor paid: the case is open on it."""
    from audit.rules.facts import CaseFacts
    from tests.rules.logbuilder import build_log, timestamp

    policy = policy_for({})
    log = build_log({"C1": [
        {"a": "Capture payment", "t": "2026-06-01T09:00Z"},            # 01
        {"a": "Execute payout", "t": "2026-06-02T09:00Z"},             # 02 no episode's
        {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},     # 03 opens 1
        {"a": "Reject refund", "t": "2026-07-02T09:00Z"},              # 04 overturned
        {"a": "Approve refund", "t": "2026-07-03T09:00Z"},             # 05
        {"a": "Execute payout", "t": "2026-07-04T09:00Z"},             # 06 pays 1
        {"a": "Close ticket", "t": "2026-07-05T09:00Z"},               # 07 ends 1
        {"a": "Receive refund request", "t": "2026-07-05T09:00Z"},     # 08 in 1 (same time)
        {"a": "Receive refund request", "t": "2026-08-01T09:00Z"},     # 09 opens 2
        {"a": "Collect evidence", "t": "2026-08-02T09:00Z"}]}, policy)  # 10
    facts = CaseFacts(log, policy, timestamp("2026-10-15T00:00:00Z").to_pydatetime())
    found = facts.episodes(np.arange(facts.n_cases))
    ids = np.asarray(facts.column(C.EVENT_ID), dtype=object)

    def named(at: Any) -> list[str | None]:
        return [str(ids[a]) if a >= 0 else None for a in at.tolist()]

    assert named(found.request) == ["C1-03", "C1-09"]
    assert named(found.payout) == ["C1-06", None]
    assert named(found.close) == ["C1-07", None]
    assert named(found.approval_first) == ["C1-05", None]
    assert named(found.evidence) == [None, "C1-10"]
    assert found.ended.tolist() == [True, False]
    assert found.rejected.tolist() == [False, False]
    assert found.last.tolist() == [False, True]


def test_a_breach_names_when_its_clock_started_and_stopped(
        policy_for: Callable[[dict[str, Any]], Policy]) -> None:
    """An auditor re-performs the check from the evidence: a paid episode's finding states
    the request time its clock started at and the payout time it stopped at; an open one
    the request time, no payout and the as-of time it was measured to; each episode of a
    reopened case its own (before: only `took` and `sla`, or `open_for`, `sla` and `as_of`).
    A case of one episode is read from the per-case columns, the reopened one episode by
    episode: both kinds are checked."""
    log = {"C1": [*TWO_EPISODES,
                  {"a": "Receive refund request", "t": "2026-09-01T10:30Z"}],
           "C2": [{"a": "Capture payment", "t": "2026-06-20T09:00Z"},
                  {"a": "Receive refund request", "t": "2026-07-03T08:00Z"},
                  {"a": "Approve refund", "t": "2026-07-04T09:00Z"},
                  {"a": "Execute payout", "t": "2026-07-18T08:00:01Z"}],
           "C3": [{"a": "Receive refund request", "t": "2026-07-05T12:00Z"}]}
    result, _ = run_case({"as_of": "2026-10-15T00:00:00Z"}, {"log": log}, "clock",
                         policy_for)
    assert result.errors == []
    assert [(f.case_id, f.event_ids, f.evidence) for f in result.findings
            if f.rule == "SL001"] == [
        ("C1", ["C1-02", "C1-04"],
         {"requested_at": "2026-07-01T09:00:00+00:00", "paid_at": "2026-07-21T09:00:00+00:00",
          "took": "P20D", "sla": "P14D"}),
        ("C1", ["C1-06", "C1-08"],
         {"requested_at": "2026-08-10T09:00:00+00:00", "paid_at": "2026-08-26T15:00:00+00:00",
          "took": "P16DT6H", "sla": "P14D"}),
        ("C1", ["C1-10"],
         {"requested_at": "2026-09-01T10:30:00+00:00", "paid_at": None,
          "as_of": "2026-10-15T00:00:00+00:00", "open_for": "P43DT13H30M",
          "sla": "P14D"}),
        ("C2", ["C2-02", "C2-04"],
         {"requested_at": "2026-07-03T08:00:00+00:00", "paid_at": "2026-07-18T08:00:01+00:00",
          "took": "P15DT1S", "sla": "P14D"}),
        ("C3", ["C3-01"],
         {"requested_at": "2026-07-05T12:00:00+00:00", "paid_at": None,
          "as_of": "2026-10-15T00:00:00+00:00", "open_for": "P101DT12H",
          "sla": "P14D"})]
