"""One channel per case everywhere: the rules judge every event by its case's channel
(`CaseFacts.channel_at`: the first its ticket events state by time, else the first any
event states), and so does everything else that shows a case's channel or counts its events
by channel. Before, check's warnings (the events unauthorized-performer could not judge for
want of a role; "conformance judged no case") and the report's SOP overlay and case pages
read each event's own channel, so a case stating several channels (conflicting-channel), or
stating it on one event only, was shown or counted with another channel than the rules
judged it by."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from audit import canonical as C
from audit.checkrun import CheckRun
from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.registry import default_rules
from tests.rules.logbuilder import build_log

CASES = {
    # The ticket states ecommerce; the payout (no role recorded) offline, which has no SOP.
    "C1": [{"a": "Receive refund request", "channel": "ecommerce"},
           {"a": "Execute payout", "r": None, "role": None, "channel": "offline"}],
    # The ticket states offline (no SOP); the payout ecommerce.
    "C2": [{"a": "Receive refund request", "channel": "offline"},
           {"a": "Execute payout", "r": None, "role": None, "channel": "ecommerce"}],
    # The channel stated on the first event only.
    "C3": [{"a": "Receive refund request", "channel": "ecommerce"},
           {"a": "Execute payout", "r": None, "role": None, "channel": None}],
    # Two ticket events at one time, the later id first in the rows: the case's channel is
    # that of the first by time, then by event id (C4-a), not by row.
    "C4": [{"a": "Receive refund request", "t": "2026-07-01T09:00Z", "id": "C4-b",
            "channel": "offline"},
           {"a": "Collect evidence", "t": "2026-07-01T09:00Z", "id": "C4-a",
            "channel": "ecommerce"},
           {"a": "Execute payout", "r": None, "role": None, "channel": None}],
}


@pytest.fixture(scope="module")
def policy() -> Policy:
    """The default policy with an SOP for ecommerce only: offline's cases are judged by
    no SOP."""
    return replace(load_policy(default_policy_path(), known_rules=default_rules().known),
                   sop={"ecommerce": "ecommerce.bpmn"})


def test_unrecorded_roles_are_counted_by_the_cases_channel(policy: Policy) -> None:
    """unauthorized-performer's warning counts the events it would judge but cannot, each
    by its case's channel as the rule judges it: C1's payout (stating offline, its case
    ecommerce), C3's (stating none) and C4's (the ecommerce of its first ticket event by
    time and id); not C2's (stating ecommerce, its case offline, which has no SOP)."""
    from audit.rules.duties.sd004_unauthorized_performer import unrecorded_roles
    from audit.rules.facts import CASE_CHANNEL, CaseFacts

    log = build_log(CASES, policy)
    facts = CaseFacts(log, policy, datetime(2026, 9, 1, tzinfo=UTC))
    assert facts.channel_of_cases().astype(str).to_dict() == {
        "C1": "ecommerce", "C2": "offline", "C3": "ecommerce", "C4": "ecommerce"}
    assert unrecorded_roles(facts) == {"Execute payout": 3}
    # The same on the log in another row order (the rules sort it; nothing else does).
    shuffled = log.iloc[::-1].reset_index(drop=True)
    assert unrecorded_roles(CaseFacts(shuffled, policy, facts.as_of)) == {"Execute payout": 3}
    # Each payout counted is one the rule reads with a channel that has an SOP.
    payouts = facts.mask("pay")
    assert sorted(str(c) for c in facts.column(CASE_CHANNEL)[payouts]) == [
        "ecommerce", "ecommerce", "ecommerce", "offline"]


def test_checks_warning_counts_the_events_by_the_cases_channel(policy: Policy) -> None:
    """The run's warning (run_rules keeps the count, read off its own facts) says 3."""
    from audit.rules.engine import run_rules

    rules = default_rules()
    result = run_rules(build_log(CASES, policy), policy, rules,
                       as_of=datetime(2026, 9, 1, tzinfo=UTC))
    assert result.errors == []
    assert result.extra["unrecorded_roles"] == {"Execute payout": 3}
    channels = result.extra["case_channel"]
    assert channels.astype(str).to_dict() == {  # type: ignore[attr-defined]
        "C1": "ecommerce", "C2": "offline", "C3": "ecommerce", "C4": "ecommerce"}


def _write(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    lines = ["event:id,case:concept:name,concept:name,time:timestamp,org:resource,"
             "refund:channel"]
    lines += [",".join(row) + ("," if len(row) == 5 else "") for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ecommerce_only(folder: Path) -> Path:
    """The default policy with an SOP for ecommerce only."""
    models = Path(__file__).resolve().parents[1] / "models"
    text = default_policy_path().read_text(encoding="utf-8").replace(
        "  ecommerce: ecommerce.bpmn\n  subscription: subscription.bpmn\n"
        "  offline: offline.bpmn\n", f"  ecommerce: '{models / 'ecommerce.bpmn'}'\n")
    assert "offline.bpmn" not in text
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    return folder / "policy.yaml"


def test_conformance_judged_no_case_names_the_cases_channels(tmp_path: Path) -> None:
    """"conformance judged no case" names the channels of the cases holding SOP tasks as
    the rules judged them: k1's is offline (its ticket's), though its approval states
    ecommerce; k2's is offline, stated on its first event only. Before: 'ecommerce',
    'offline' and 'none stated', channels no case was judged by."""
    from audit.checkrun import run_check

    log = _write(tmp_path / "log.csv", [
        ("e1", "k1", "Receive refund request", "2026-07-01T09:00:00+00:00", "Ann", "offline"),
        ("e2", "k1", "Approve refund", "2026-07-01T10:00:00+00:00", "Bob", "ecommerce"),
        ("e3", "k2", "Receive refund request", "2026-07-02T09:00:00+00:00", "Ann", "offline"),
        ("e4", "k2", "Approve refund", "2026-07-02T10:00:00+00:00", "Bob", "")])
    run = run_check([log], _ecommerce_only(tmp_path))
    assert len(run.imported.log) == 4
    assert run.summary()["conformance"] == {}
    told = [w for w in run.warnings() if w.startswith("conformance judged no case")]
    assert len(told) == 1
    assert "have no SOP for their channel ('offline'; the policy's sop names 'ecommerce')" \
        in told[0], told
    assert run.case_channels().astype(str).to_dict() == {"k1": "offline", "k2": "offline"}


def mixed_channels_log(path: Path) -> Path:
    """A log of five ecommerce-shaped cases (`test_report_totals.case_rows`) whose channels
    are stated so: A1 and A2 state subscription on their purchase, offline on their ticket
    events and ecommerce on their approval and payout (the rules judge them offline, their
    ticket's); B states ecommerce on its first event (the purchase) only; C1 and C2 state
    ecommerce on every event. Judged: ecommerce B, C1, C2; offline A1, A2."""
    from tests.test_report_totals import case_rows, write_log

    cases = []
    for day, cid in enumerate(("A1", "A2", "B", "C1", "C2"), start=1):
        rows = case_rows(cid, "EUR", 40.0 + day, day=day)
        for i, row in enumerate(rows):
            if cid.startswith("A"):
                row["refund:channel"] = (
                    "subscription" if row["concept:name"] == "Capture payment"
                    else "ecommerce" if row["concept:name"] in ("Approve refund",
                                                               "Execute payout")
                    else "offline")
            elif cid == "B" and i > 0:
                row["refund:channel"] = ""
        cases.append(rows)
    return write_log(path, *cases)


JUDGED = {"A1": "offline", "A2": "offline", "B": "ecommerce", "C1": "ecommerce",
          "C2": "ecommerce"}


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> CheckRun:
    from audit.checkrun import run_check
    from tests.test_report_totals import write_policy

    folder = tmp_path_factory.mktemp("mixed")
    return run_check([mixed_channels_log(folder / "log.csv")],
                     write_policy(folder / "policy.yaml"))


def test_the_sop_overlay_draws_each_case_on_the_sop_it_was_aligned_on(
        mixed_run: CheckRun) -> None:
    """The overlay of a channel counts and draws the cases the rules aligned on its SOP,
    with all their events: before, each event went to the overlay of its own channel, so
    A1's and A2's approvals and payouts were counted on the ecommerce SOP (4 cases where
    the conformance table says 3) and B's events, stating none, were on none."""
    from reports.overlay import channel_overlays, run_deviations

    assert mixed_run.case_channels().astype(str).to_dict() == JUDGED
    conformance = mixed_run.summary()["conformance"]
    assert {k: v["cases"] for k, v in conformance.items()} == {"ecommerce": 3, "offline": 2}
    overlays = {o.channel: o for o in channel_overlays(mixed_run)}
    assert {k: o.cases for k, o in overlays.items()} == {"ecommerce": 3, "offline": 2}
    # Every case's flow from its request to its evidence, in its own channel's SOP.
    request = ("Receive refund request", "Collect evidence")
    assert overlays["ecommerce"].flows.get(request) == 3
    assert overlays["offline"].flows.get(request) == 2
    # Read from the CF findings instead (a run without the conformance result): the same
    # channel per case.
    del mixed_run.result.extra["conformance_result"]
    mixed_run.memo.clear()
    try:
        fallback = run_deviations(mixed_run)
        assert fallback.source == "findings"
        assert {c: d.channel for c, d in fallback.cases.items()} == JUDGED
    finally:
        mixed_run.memo.clear()


def test_the_reports_case_pages_and_channel_counts_are_the_cases_channel(
        mixed_run: CheckRun) -> None:
    """The report's case pages name each case's channel, and its header counts the cases
    per channel, as the rules judged them (A1 and A2 offline, not the subscription their
    purchases state first; B ecommerce)."""
    from reports.view import build_view

    view = build_view(mixed_run)
    shown = {c.case_id: c.channel for c in view.cases}
    assert shown and all(JUDGED[case] == channel for case, channel in shown.items()), shown
    assert {"A1", "A2"} <= set(shown)
    assert dict(view.channels) == {"ecommerce": 3, "offline": 2}


def test_channels_of_looks_each_case_up_by_its_id(mixed_run: CheckRun) -> None:
    """`CheckRun.channels_of` gives each value of a case column its case's channel, coded or
    not, in any order and with repeats: "" for an id the rules judged no event of, or none."""
    import pandas as pd

    ids = ["C2", "nope", None, "A1", "C2", "B"]
    expected = ["ecommerce", "", "", "offline", "ecommerce", "ecommerce"]
    for cases in (pd.Series(ids, dtype="string"), pd.Series(ids, dtype=object),
                  pd.Series(ids, dtype="category")):
        assert list(mixed_run.channels_of(cases)) == expected, cases.dtype
    # Every judged case, as the log codes them (the ids as they are: no lookup per id).
    log = mixed_run.imported.log
    assert list(mixed_run.channels_of(log[C.CASE].drop_duplicates())) == [
        JUDGED[str(c)] for c in log[C.CASE].drop_duplicates()]


def test_a_crashed_unauthorized_performer_is_the_runs_error_not_a_crashed_run(
        policy: Policy) -> None:
    """Where unauthorized-performer crashed (a frame without `refund:channel`, which no
    import gives), the run records its error as before; what is kept beside the findings
    (`engine.side_facts`) counts no unjudged events for it and does not raise."""
    from audit.rules.engine import run_rules

    log = build_log(CASES, policy).drop(columns=[C.CHANNEL])
    result = run_rules(log, policy, default_rules(), as_of=datetime(2026, 9, 1, tzinfo=UTC))
    assert "SD004" in {e.rule for e in result.errors}
    assert "unrecorded_roles" not in result.extra
    assert result.extra["case_channel"].isna().all()  # type: ignore[attr-defined]
