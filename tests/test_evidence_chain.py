"""The evidence chain (audit.evidence_chain), computed column-wise for the rules, equals what
the evidence graphs (audit.evidence_graph, networkx, drawn by the report) hold, case by case:
on the bundled sample, on generated logs, and on random hand-made events with blank, missing
and repeated ids, declined captures and events without a time. Also the decisions of
orphan-payout and no-prior-purchase: the chain's equal the graph's reading of every case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from audit import canonical as C
from audit.evidence_chain import (
    LATE_PURCHASE,
    NO_PURCHASE,
    NO_TICKET,
    chain_links,
    unpaid_reason,
)
from audit.evidence_graph import evidence_graphs
from audit.ingest import import_sources
from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.evidence.ev007_no_prior_purchase import missing_purchase_links
from audit.rules.facts import CaseFacts
from audit.rules.registry import default_rules
from audit.sample import SampleSpec, write_sample
from audit.sources.pipeline import import_and_correlate
from tests.rules.logbuilder import build_log

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample"
RULES = default_rules()


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(default_policy_path(), known_rules=RULES.known)


# --- what the graph holds, read off it as the rules read it before the chain -----------------
def graph_chain(graph: nx.DiGraph, payout_eids: set[str],
                times: dict[str, pd.Timestamp]) -> dict[str, Any]:
    """The chain's columns of one case, read off its graph node by node and edge by edge."""
    nodes = graph.nodes
    recorded = [times[e] for _, d in nodes(data=True)
                if d["kind"] == "charge" and d.get("recorded") and not d["missing"]
                for e in d["event_ids"]]
    known = [t for t in recorded if not pd.isna(t)]
    missing = [(u, v, d) for u, v, d in graph.edges(data=True) if d.get("missing")]
    paid_by = [(nodes[u]["key"], d["reason"]) for u, _, d in missing
               if d["relation"] == "paid by"]
    return {
        "ticket": any(d["kind"] == "ticket" and not d["missing"]
                      for _, d in nodes(data=True)),
        "payout_refund": any(d["kind"] == "refund" and payout_eids & set(d["event_ids"])
                             for _, d in nodes(data=True)),
        "purchased": min(known) if known else pd.NaT,
        # (the last one listed: what a dict of the missing links by relation keeps)
        "unpaid": paid_by[-1] if paid_by else None,
        "uncharged_refund": any(d["relation"] == "refunds" for _, _, d in missing),
    }


def graph_orphan(graph: nx.DiGraph, payout_eids: set[str]) -> tuple[str, str] | None:
    """orphan-payout's decision on the graph (as the rule read it before the chain)."""
    nodes = graph.nodes
    if any(d["kind"] == "ticket" and not d["missing"] for _, d in nodes(data=True)):
        return None
    for name, data in nodes(data=True):
        if data["kind"] != "refund" or not payout_eids & set(data["event_ids"]):
            continue
        for _, target, edge in graph.out_edges(name, data=True):
            if edge.get("missing") and edge["relation"] == "executes":
                return f"refund -> {nodes[target]['kind']}", str(edge.get("reason", ""))
    return None


def graph_no_purchase(graph: nx.DiGraph, payout_time: pd.Timestamp,
                      times: dict[str, pd.Timestamp]) -> tuple[str, str] | None:
    """no-prior-purchase's decision on the graph (as the rule read it before the chain)."""
    recorded = [eid for _, d in graph.nodes(data=True)
                if d["kind"] == "charge" and d.get("recorded") and not d["missing"]
                for eid in d["event_ids"]]
    known = [t for t in (times[e] for e in recorded) if not pd.isna(t)]
    if any(t <= payout_time for t in known):
        return None
    if known:
        return "order -> charge before the payout", LATE_PURCHASE
    missing = {d["relation"]: (graph.nodes[u]["kind"], graph.nodes[v]["kind"],
                               str(d.get("reason", "")))
               for u, v, d in graph.edges(data=True) if d.get("missing")}
    for relation in ("paid by", "refunds"):
        if relation in missing:
            source, target, reason = missing[relation]
            return f"{source} -> {target}", reason
    return "refund -> charge", NO_PURCHASE


def assert_chain_is_the_graphs(events: pd.DataFrame, controls: dict[str, str],
                               payouts: np.ndarray[Any, np.dtype[np.bool_]]) -> int:
    """chain_links of `events` equals, on every case, what its evidence graph holds, and the
    two rules' decisions too (no-prior-purchase's at the first and at the last time of each
    case). The graph holds event ids, the times are looked up by id: where ids repeat, the
    purchase times (the chain's are the events' own) are not compared. Returns the number
    of cases compared."""
    chain = chain_links(events, controls, payouts)
    unique = not events[C.EVENT_ID].duplicated().any()
    graphs = evidence_graphs(events, controls)
    assert set(chain.index) == set(graphs)
    with_case = events[C.CASE].notna().to_numpy()
    times = dict(zip(events[C.EVENT_ID].astype(str).tolist(), events[C.TIMESTAMP], strict=True))
    paid_eids: dict[str, set[str]] = {}
    for case, eid in zip(events[C.CASE][payouts & with_case].astype(str),
                         events[C.EVENT_ID][payouts & with_case].astype(str), strict=True):
        paid_eids.setdefault(case, set()).add(eid)
    for case, graph in graphs.items():
        row = chain.loc[case]
        held = graph_chain(graph, paid_eids.get(case, set()), times)
        got = {"ticket": bool(row["ticket"]), "payout_refund": bool(row["payout_refund"]),
               "purchased": row["purchased"],
               "unpaid": None if row["unpaid_order"] is None else (
                   row["unpaid_order"], unpaid_reason(row["declined_charge"],
                                                      row["declined_status"])),
               "uncharged_refund": bool(row["uncharged_refund"])}
        purchased = got.pop("purchased"), held.pop("purchased")
        if unique:
            assert_same_time(*purchased)
        assert got == held, case
        orphan = graph_orphan(graph, paid_eids.get(case, set()))
        assert orphan == (("refund -> ticket", NO_TICKET)
                          if not row["ticket"] and row["payout_refund"] else None), case
    cases = list(graphs)
    if not unique:
        return len(cases)
    # no-prior-purchase's decision at the first and at the last event time of each case.
    moments = events[with_case].groupby(events[C.CASE][with_case].astype(str))[C.TIMESTAMP]
    for label, pick in (("first", moments.min()), ("last", moments.max())):
        at = pick.reindex(cases)
        links = missing_purchase_links(chain.loc[cases], at)
        for case in cases:
            expected = graph_no_purchase(graphs[case], at[case], times)
            link, reason = links.loc[case, "missing_link"], links.loc[case, "missing_reason"]
            assert (None if link is None else (link, reason)) == expected, (label, case)
    return len(cases)


def assert_same_time(a: object, b: object) -> None:
    assert (pd.isna(a) and pd.isna(b)) or a == b  # type: ignore[call-overload]


# --- the bundled sample, generated logs, random events ---------------------------------------
def test_the_chain_is_the_graphs_on_the_bundled_sample(policy: Policy) -> None:
    exports = sorted((SAMPLE / "exports").iterdir())
    log = import_and_correlate([(path, None) for path in exports]).log
    assert policy.as_of is not None
    facts = CaseFacts(log, policy, policy.as_of)
    cases = [str(c) for c in facts.case_ids]
    events, paid = facts._chain_events(cases)
    assert assert_chain_is_the_graphs(events, policy.control_of(), paid) == len(cases) == 300
    # The facts' chain is chain_links of those events, for cases asked in any order.
    chain = facts.evidence_chain(reversed(cases))
    assert list(chain.index) == cases[::-1]
    pd.testing.assert_frame_equal(chain.loc[cases],
                                  chain_links(events, policy.control_of(), paid).loc[cases])


@pytest.mark.parametrize("seed,rate", [(3, 0.3), (8, 0.5), (21, 1.0)])
def test_the_chain_is_the_graphs_on_generated_logs(tmp_path: Path, policy: Policy, seed: int,
                                                   rate: float) -> None:
    write_sample(SampleSpec("all", 400, seed, rate), tmp_path)
    log = import_sources([(tmp_path / "canonical.csv", None)]).log
    assert policy.as_of is not None
    facts = CaseFacts(log, policy, policy.as_of)
    events, paid = facts._chain_events([str(c) for c in facts.case_ids])
    assert assert_chain_is_the_graphs(events, policy.control_of(), paid) == 400


CONTROLS = {"Buy": "purchase", "Ask": "request", "Pay": "pay", "Approve": "approve"}


def random_events(rng: np.random.Generator, n: int, *, repeated_ids: bool = False
                  ) -> tuple[pd.DataFrame, Any]:
    """Events of a few cases with blank, missing, repeated and odd ids (`?` too), declined
    and pending captures, refunds without charges, missing times and ties, unmapped labels
    and events without a case; event ids unique unless `repeated_ids`."""
    def pick(values: list[Any]) -> list[Any]:
        return [values[i] for i in rng.integers(0, len(values), n)]

    times = pd.Series(pd.to_datetime("2026-07-01", utc=True)
                      + pd.to_timedelta(rng.integers(0, 6, n), unit="h"))
    times[rng.random(n) < 0.08] = pd.NaT
    events = pd.DataFrame({
        C.EVENT_ID: pick([f"e{i}" for i in range(6)]) if repeated_ids
        else [f"e{i}" for i in rng.permutation(n)],
        C.CASE: pick(["A", "B", "C", "D", "E", "F", None]),
        C.ACTIVITY: pick(["Buy", "Buy", "Ask", "Pay", "Pay", "Approve", "Other"]),
        C.TIMESTAMP: times,
        C.TICKET_ID: pd.Series(pick([None, None, None, "T1", "", " ", "?"]), dtype="string"),
        C.ORDER_ID: pd.Series(pick([None, "O1", "O2", "o3", " ", "", "Ä9"]), dtype="string"),
        C.CHARGE_ID: pd.Series(pick([None, "ch1", "ch2", " ", "?"]), dtype="string"),
        C.REFUND_ID: pd.Series(pick([None, None, "r1", "r2", "  "]), dtype="string"),
        C.PAYMENT_STATUS: pd.Series(pick([None, "succeeded", "Failed", " pending ",
                                          "reversed", ""]), dtype="string"),
    })
    return events, rng.random(n) < 0.3


@pytest.mark.parametrize("seed", range(40))
def test_the_chain_is_the_graphs_on_random_events(seed: int) -> None:
    events, payouts = random_events(np.random.default_rng(seed), 60)
    assert assert_chain_is_the_graphs(events, CONTROLS, payouts) > 0


@pytest.mark.parametrize("seed", range(20))
def test_a_payout_is_a_refunds_by_its_case_and_id(seed: int) -> None:
    """Event ids repeated within and across cases: a payout belongs to a refund where an
    event of its case with its id states the refund (the graph's refunds list ids)."""
    events, payouts = random_events(np.random.default_rng(seed), 60, repeated_ids=True)
    assert assert_chain_is_the_graphs(events, CONTROLS, payouts) > 0


def test_ids_of_other_types_and_categories_are_keyed_as_text() -> None:
    """Order ids as numbers (a log made by hand) and as categories (compact_ids) key the
    graph's nodes by their text; the chain's too."""
    base, payouts = random_events(np.random.default_rng(5), 80)
    numbers = base.assign(**{C.ORDER_ID: pd.Series(
        np.random.default_rng(6).choice([1, 2, 10, np.nan], len(base)))})
    categories = base.assign(**{C.ORDER_ID: base[C.ORDER_ID].astype("category")})
    for events in (numbers, categories):
        assert assert_chain_is_the_graphs(events, CONTROLS, payouts) > 0


def test_a_case_of_an_unpaid_order_names_its_declined_charge() -> None:
    t = pd.to_datetime(["2026-07-01 10:00", "2026-07-01 09:00", "2026-07-02 00:00",
                        "2026-07-03 00:00"],
                       utc=True)
    events = pd.DataFrame({
        C.EVENT_ID: ["b1", "b2", "b3", "p1"], C.CASE: "A",
        C.ACTIVITY: ["Buy", "Buy", "Buy", "Pay"], C.TIMESTAMP: t,
        C.ORDER_ID: pd.Series(["O1", "O1", "O2", None], dtype="string"),
        C.CHARGE_ID: pd.Series(["ch_late", "ch_early", "ch_ok", None], dtype="string"),
        C.REFUND_ID: pd.Series([None, None, None, "r1"], dtype="string"),
        C.TICKET_ID: pd.Series([None] * 4, dtype="string"),
        C.PAYMENT_STATUS: pd.Series(["failed", "pending", "succeeded", "succeeded"],
                                    dtype="string")})
    [row] = chain_links(events, CONTROLS, np.array([False, False, False, True])).itertuples()
    # O1's captures both moved no money: its first attempt by time is named.
    assert (row.unpaid_order, row.declined_charge) == ("O1", "ch_early")
    assert row.purchased == t[2] and row.payout_refund and not row.ticket
    assert row.uncharged_refund
    assert_chain_is_the_graphs(events, CONTROLS, np.array([False, False, False, True]))


def test_an_unpaid_orders_reversed_charge_is_named_before_an_earlier_declined_one() -> None:
    """Order O1: a card declined (ch_declined, failed) at 09:00, a payment captured and
    charged back (ch_back, reversed) at 10:00, a second one reversed (ch_back2) at 11:00,
    then the refund: the chain named the first attempt, the declined card, so the finding
    said nothing was bought; the first reversed attempt is named, by the graph too. Each
    status is told as it is: failed, pending, reversed."""
    t = pd.to_datetime(["2026-07-01 09:00", "2026-07-01 10:00", "2026-07-01 11:00",
                        "2026-07-03 00:00"], utc=True)
    events = pd.DataFrame({
        C.EVENT_ID: ["b1", "b2", "b3", "p1"], C.CASE: "A",
        C.ACTIVITY: ["Buy", "Buy", "Buy", "Pay"], C.TIMESTAMP: t,
        C.ORDER_ID: pd.Series(["O1", "O1", "O1", None], dtype="string"),
        C.CHARGE_ID: pd.Series(["ch_declined", "ch_back", "ch_back2", "ch_back"],
                               dtype="string"),
        C.REFUND_ID: pd.Series([None, None, None, "r1"], dtype="string"),
        C.TICKET_ID: pd.Series([None, None, None, "T1"], dtype="string"),
        C.PAYMENT_STATUS: pd.Series(["Failed", " Reversed", "reversed", "succeeded"],
                                    dtype="string")})
    payouts = np.array([False, False, False, True])
    [row] = chain_links(events, CONTROLS, payouts).itertuples()
    assert (row.unpaid_order, row.declined_charge, row.declined_status) == (
        "O1", "ch_back", "reversed")
    assert_chain_is_the_graphs(events, CONTROLS, payouts)
    assert unpaid_reason("ch_1", "failed") == (
        "no recorded charge (purchase) for this order: its charge ch_1 was not captured "
        "(its payment status is failed)")
    assert unpaid_reason("ch_1", "pending") == (
        "no recorded charge (purchase) for this order: its charge ch_1 is not captured yet "
        "(its payment status is pending)")
    assert "ch_1 was reversed (its payment status is reversed: " in unpaid_reason(
        "ch_1", "reversed")


@pytest.mark.parametrize("blank", [" ", ""])
def test_a_recorded_purchase_of_a_blank_order_id_pays_no_order(blank: str) -> None:
    """A blank order id is an order of the graph (any stated id is) that a recorded
    purchase stating it does not pay (a blank id links nothing): the case's only unpaid
    order, named (its declined charge none: a blank id links no attempt either). Where a
    blank id paid its order, this case had none unpaid (the random events hide that behind
    the other orders, which sort after a blank one)."""
    t = pd.to_datetime(["2026-07-01 09:00", "2026-07-01 10:00", "2026-07-02 00:00",
                        "2026-07-03 00:00"], utc=True)
    events = pd.DataFrame({
        C.EVENT_ID: ["b1", "b2", "b3", "p1"], C.CASE: "A",
        C.ACTIVITY: ["Buy", "Buy", "Buy", "Pay"], C.TIMESTAMP: t,
        C.ORDER_ID: pd.Series([blank, blank, "O1", None], dtype="string"),
        C.CHARGE_ID: pd.Series(["ch_no", "ch_blank", "ch_ok", None], dtype="string"),
        C.REFUND_ID: pd.Series([None, None, None, "r1"], dtype="string"),
        C.TICKET_ID: pd.Series([None] * 4, dtype="string"),
        C.PAYMENT_STATUS: pd.Series(["failed", "succeeded", "succeeded", "succeeded"],
                                    dtype="string")})
    payouts = np.array([False, False, False, True])
    [row] = chain_links(events, CONTROLS, payouts).itertuples()
    assert (row.unpaid_order, row.declined_charge) == (blank, None)
    assert row.purchased == t[1]  # (the blank order's charge is recorded all the same)
    assert_chain_is_the_graphs(events, CONTROLS, payouts)


def test_no_events_give_no_cases() -> None:
    events, payouts = random_events(np.random.default_rng(1), 10)
    chain = chain_links(events.iloc[:0], CONTROLS, payouts[:0])
    assert chain.empty and list(chain.columns) == [
        "ticket", "payout_refund", "purchased", "unpaid_order", "declined_charge",
        "declined_status", "uncharged_refund"]


def test_the_report_draws_the_chain_the_rules_judged(policy: Policy,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A case whose ticket events name no ticket id and whose payout names no refund id:
    the rules read its ticket (the case's) and its payout as a refund of it, so no
    orphan-payout; the report's graph draws the same ticket and refund (drawn from the
    log's ids alone, it had neither: no ticket, and the payout no refund)."""
    from types import SimpleNamespace

    import reports.evidence
    from reports.evidence import attach_case_graphs

    log = build_log({"C1": [{"a": "Capture payment"}, {"a": "Receive refund request"},
                            {"a": "Approve refund"}, {"a": "Execute payout"}]}, policy)
    log[C.TICKET_ID] = pd.Series(pd.NA, index=log.index, dtype="string")
    log[C.REFUND_ID] = pd.Series(pd.NA, index=log.index, dtype="string")
    assert policy.as_of is not None
    facts = CaseFacts(log, policy, policy.as_of)
    orphans = RULES.get("orphan-payout")
    assert orphans is not None and list(orphans.check(facts)) == []
    [row] = facts.evidence_chain(["C1"]).itertuples()
    assert row.ticket and row.payout_refund
    monkeypatch.setattr(reports.evidence, "render_dot", lambda dot, _: dot.encode())
    run = SimpleNamespace(log_at_clock=lambda: log, policy=policy,
                          result=SimpleNamespace(as_of=policy.as_of))
    case = SimpleNamespace(case_id="C1", graph_svg=None)
    assert attach_case_graphs([case], run) == ""  # type: ignore[arg-type]
    drawn = str(case.graph_svg)
    assert "ticket C1" in drawn and "refund C1-04" in drawn
    assert drawn == reports.evidence.evidence_dot(facts.evidence_graphs(["C1"])["C1"])
