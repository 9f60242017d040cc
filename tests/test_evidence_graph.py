"""The evidence graph of a case: references found, and the missing link of a broken chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.evidence_graph import case_graph, evidence_graphs, missing_links
from audit.sources.pipeline import import_and_correlate

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample"


def graphs() -> tuple[dict[str, Any], pd.DataFrame]:
    exports = sorted((SAMPLE / "exports").iterdir())
    log = import_and_correlate([(path, None) for path in exports]).log
    return evidence_graphs(log), pd.read_csv(SAMPLE / "ground_truth.csv")


def test_broken_links_show_as_missing_edges() -> None:
    all_graphs, truth = graphs()
    orphans = truth.loc[truth["rule"] == "orphan-payout", "case_id"].tolist()
    unpaid = truth.loc[truth["rule"] == "no-prior-purchase", "case_id"].tolist()
    assert orphans and unpaid
    for case in orphans:
        graph = all_graphs[case]
        missing = missing_links(graph)
        assert [(u.split(":")[0], v, r) for u, v, r in missing] == [
            ("refund", "ticket:?", "executes")]
        assert graph.nodes["ticket:?"]["missing"]
    for case in unpaid:
        relations = {(v, r) for _, v, r in missing_links(all_graphs[case])}
        assert ("charge:?", "paid by") in relations
    broken = {c for c, g in all_graphs.items() if missing_links(g)}
    assert broken == set(orphans) | set(unpaid)


def test_a_complete_case_links_ticket_order_charge_refund_approval_evidence() -> None:
    all_graphs, truth = graphs()
    clean = sorted(set(all_graphs) - set(truth["case_id"]))
    graph = next(g for c, g in all_graphs.items() if c in clean and any(
        d["kind"] == "refund" for _, d in g.nodes(data=True)))
    kinds = {d["kind"] for _, d in graph.nodes(data=True)}
    assert kinds == {"ticket", "order", "charge", "refund", "approval", "evidence"}
    relations = {d["relation"] for _, _, d in graph.edges(data=True)}
    assert relations == {"names order", "paid by", "refunds", "executes", "approves",
                         "supports"}
    assert not missing_links(graph)


def test_controls_from_the_policy_tell_approvals_apart() -> None:
    events = pd.DataFrame({
        C.EVENT_ID: ["e1", "e2", "e3"], C.CASE: "T1",
        C.ACTIVITY: ["Antrag", "Freigabe", "Auszahlung"],
        C.TIMESTAMP: pd.to_datetime(["2026-07-01", "2026-07-02", "2026-07-03"], utc=True),
        C.RESOURCE: ["a", "b", "c"], C.AMOUNT: [10.0, 10.0, 10.0],
        C.TICKET_ID: "T1", C.ORDER_ID: "O1", C.CHARGE_ID: [None, None, "CH1"],
        C.REFUND_ID: [None, None, "R1"], C.PAYMENT_STATUS: [None, None, "succeeded"]})
    graph = case_graph(events, {"Antrag": "request", "Freigabe": "approve",
                                "Auszahlung": "pay"})
    assert graph.has_edge("approval:e2", "ticket:T1")
    assert ("order:O1", "charge:?", "paid by") in missing_links(graph)
    assert graph.nodes["charge:CH1"]["recorded"] is False


def test_records_are_to_dict_records_value_for_value_and_type_for_type() -> None:
    """The graphs read each event as a record made column-wise (`_records`); it must give
    what pandas' to_dict("records") gives: the same keys, values and Python types, missing
    values included (None, NaN, NA, NaT), on every dtype the graphs are handed."""
    from audit.evidence_graph import _records

    rng = np.random.default_rng(3)
    n = 200
    frame = pd.DataFrame({
        "text": pd.Series(rng.choice(["a", "b", None], n), dtype=object),
        "arrow": pd.Series(rng.choice(["x", "y", None], n), dtype="string"),
        "coded": pd.Series(pd.Categorical(rng.choice(["p", "q", None], n))),
        "int": rng.integers(0, 9, n),
        "float": np.where(rng.random(n) < .2, np.nan, rng.random(n)),
        "nullable": pd.Series(rng.integers(0, 3, n), dtype="Int64").mask(rng.random(n) < .2),
        "flag": rng.random(n) < .5,
        "time": pd.Series(pd.Timestamp("2026-01-01", tz="UTC")
                          + pd.to_timedelta(rng.integers(0, 99, n), unit="h")).mask(
                              rng.random(n) < .1),
    })
    exports = sorted((SAMPLE / "exports").iterdir())
    sample = import_and_correlate([(path, None) for path in exports]).log
    coded = sample.copy()
    C.compact_ids(coded)
    for given in (frame, sample, coded):
        expected, got = given.to_dict("records"), _records(given)
        assert len(got) == len(expected) == len(given)
        for want, have in zip(expected, got, strict=True):
            assert list(have) == list(want)
            for key, value in want.items():
                assert type(have[key]) is type(value), (key, value, have[key])
                assert (pd.isna(value) and pd.isna(have[key])) or have[key] == value, key


def test_released_graphs_are_freed_without_the_cyclic_collector() -> None:
    """networkx caches the views a graph is read through (`edges`, `succ`, ...) on the graph,
    and each view refers back to it: a graph read so is freed only by the cyclic collector.
    `release` forgets the views: the graph is freed with its last reference, and a graph
    released and read again gives the same answers."""
    import gc
    import weakref

    from audit.evidence_graph import release

    built, _ = graphs()
    case, graph = next((c, g) for c, g in built.items() if missing_links(g))
    before = missing_links(graph)
    assert set(vars(graph)) - {"graph", "_node", "_adj", "_pred", "_succ",
                               "__networkx_cache__"}  # views cached by reading it
    release([graph])
    assert missing_links(graph) == before  # usable again: the views made anew
    others = [g for c, g in built.items() if c != case]
    for g in others:
        missing_links(g)
    enabled = gc.isenabled()
    gc.disable()
    try:
        kept = weakref.ref(others[0])
        read = weakref.ref(graph)
        release(others[1:])  # not others[0]: read, not released
        release([graph])
        del built, graph, others
        assert read() is None  # freed by its reference count
        assert kept() is not None  # only the collector frees a graph left with its views
        gc.collect()
        assert kept() is None
    finally:
        if enabled:
            gc.enable()


def test_the_rules_leave_no_evidence_graph_to_the_cyclic_collector() -> None:
    """After `run_rules` (one process: the sample is small), no evidence graph is garbage
    waiting for the collector: they were released when the rules were done."""
    import gc

    import networkx as nx

    from audit.policy import default_policy_path, load_policy
    from audit.rules.engine import run_rules
    from audit.rules.registry import default_rules

    exports = sorted((SAMPLE / "exports").iterdir())
    log = import_and_correlate([(path, None) for path in exports]).log
    ruleset = default_rules()
    policy = load_policy(default_policy_path(), known_rules=ruleset.known)
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        result = run_rules(log, policy, ruleset, as_of=pd.Timestamp("2026-12-01", tz="UTC"))
        assert any(f.rule.startswith("EV") for f in result.findings)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, nx.DiGraph)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    assert left == []
