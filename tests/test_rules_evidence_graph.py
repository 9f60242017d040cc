"""The evidence-chain rules decide on the evidence chain (what the evidence graph holds, read
column-wise: tests/test_evidence_chain.py): orphan-payout (EV002) on a refund's missing link
to a ticket, no-prior-purchase (EV007) on a refund without a charge recorded by a purchase
before it. The finding's evidence names the missing link, and the chain's decision
equals the per-case facts' (the masks the rules used before) on generated logs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from audit.ingest import import_sources
from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.engine import run_rules
from audit.rules.facts import CaseFacts
from audit.rules.registry import default_rules
from audit.sample import SampleSpec, write_sample
from tests.rules.logbuilder import build_log

RULES = default_rules()
SEEDS = [(3, 0.3), (8, 0.5), (21, 1.0)]
EV007_LINKS = {"order -> charge", "refund -> charge", "order -> charge before the payout"}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(default_policy_path(), known_rules=RULES.known)


def facts_of(folder: Path, seed: int, rate: float, policy: Policy) -> tuple[pd.DataFrame,
                                                                             CaseFacts]:
    write_sample(SampleSpec("all", 600, seed, rate), folder)
    log = import_sources([(folder / "canonical.csv", None)]).log
    assert policy.as_of is not None
    return log, CaseFacts(log, policy, policy.as_of)


def previous_orphans(facts: CaseFacts) -> set[str]:
    c = facts.cases
    return {str(k) for k in c.index[c["payout_eid"].notna() & ~c["has_ticket"].astype(bool)]}


def previous_no_purchase(facts: CaseFacts) -> set[str]:
    c = facts.cases
    no_purchase = c["purchase_eid"].isna() | (c["purchase_time"] > c["payout_time"])
    return {str(k) for k in c.index[c["payout_eid"].notna()
                                    & no_purchase.fillna(True).astype(bool)]}


@pytest.mark.parametrize("seed,rate", SEEDS, ids=[f"seed{s}-rate{r}" for s, r in SEEDS])
def test_graph_decision_equals_the_facts_decision(tmp_path: Path, policy: Policy, seed: int,
                                                  rate: float) -> None:
    _, facts = facts_of(tmp_path, seed, rate, policy)
    orphans = RULES.get("orphan-payout")
    unpaid = RULES.get("no-prior-purchase")
    assert orphans is not None and unpaid is not None
    orphan_findings = list(orphans.check(facts))
    unpaid_findings = list(unpaid.check(facts))
    assert {f.case_id for f in orphan_findings} == previous_orphans(facts)
    assert {f.case_id for f in unpaid_findings} == previous_no_purchase(facts)
    assert orphan_findings and unpaid_findings
    for finding in orphan_findings:
        assert finding.evidence["missing_link"] == "refund -> ticket"
        assert "no ticket" in finding.evidence["missing_reason"]
    for finding in unpaid_findings:
        assert finding.evidence["missing_link"] in EV007_LINKS
        assert finding.evidence["missing_reason"]
    # The chains are read only for the candidate cases, never for the whole log, and no
    # graph is built (tests/test_evidence_chain.py: the chain is what the graph holds).
    assert facts._chains is not None
    read = set(facts._chains.index)
    assert read == previous_orphans(facts) | previous_no_purchase(facts)
    assert len(read) < len(facts.cases) and not facts._graphs


def test_findings_of_a_run_name_the_missing_link(tmp_path: Path, policy: Policy) -> None:
    log, _ = facts_of(tmp_path, 7, 0.4, policy)
    assert policy.as_of is not None
    result = run_rules(log, policy, RULES, as_of=policy.as_of)
    truth = pd.read_csv(tmp_path / "ground_truth.csv", dtype=str)
    expected = {(c, r) for c, r in truth.itertuples(index=False, name=None)
                if r in ("orphan-payout", "no-prior-purchase")}
    found = {(f.case_id, f.name): f for f in result.findings
             if f.name in ("orphan-payout", "no-prior-purchase")}
    assert set(found) == expected and expected
    for (_, name), finding in found.items():
        link = finding.evidence["missing_link"]
        assert link == "refund -> ticket" if name == "orphan-payout" else link in EV007_LINKS


@pytest.mark.parametrize("events,link", [
    ([{"a": "Receive refund request"}, {"a": "Approve refund"}, {"a": "Execute payout"},
      {"a": "Capture payment"}], "order -> charge before the payout"),
    ([{"a": "Receive refund request"}, {"a": "Approve refund"}, {"a": "Execute payout"}],
     "order -> charge"),
], ids=["purchase-after-payout", "no-purchase"])
def test_the_missing_purchase_link_of_a_built_case(policy: Policy, events: list[dict[str, str]],
                                                   link: str) -> None:
    log = build_log({"C1": {"charge": None, "events": events}}, policy)
    assert policy.as_of is not None
    facts = CaseFacts(log, policy, policy.as_of)
    unpaid = RULES.get("no-prior-purchase")
    assert unpaid is not None
    [finding] = unpaid.check(facts)
    assert finding.case_id == "C1" and finding.evidence["missing_link"] == link


def test_ticket_events_without_a_ticket_id_still_claim_the_payout(policy: Policy) -> None:
    log = build_log({"C1": [{"a": "Capture payment"}, {"a": "Receive refund request"},
                            {"a": "Approve refund"}, {"a": "Execute payout"}]}, policy)
    log["ticket:id"] = pd.Series(pd.NA, index=log.index, dtype="string")
    assert policy.as_of is not None
    facts = CaseFacts(log, policy, policy.as_of)
    orphans = RULES.get("orphan-payout")
    assert orphans is not None
    assert list(orphans.check(facts)) == []
    [graph] = facts.evidence_graphs(["C1"]).values()
    assert "ticket:C1" in graph


def test_refunds_exceeding_two_charges_of_a_case_give_its_first_charge(policy: Policy) -> None:
    """refund-exceeds-charge: one finding per case, for the case's first exceeded charge (by
    charge id), naming that charge's payouts in log order; the cases in the order of their
    ids, each with its own charge's sums."""
    pay = "Execute payout"
    log = build_log({
        "C2": {"charge": "ch_z", "charged": 100, "events": [
            {"a": "Capture payment", "t": "2026-06-20T09:00Z", "id": "z-buy"},
            {"a": pay, "amount": 90, "t": "2026-07-01T09:00Z", "id": "z-1"},
            {"a": pay, "amount": 30, "t": "2026-07-02T09:00Z", "id": "z-2"}]},
        "C1": {"charged": 100, "events": [
            {"a": "Capture payment", "charge": "ch_b", "t": "2026-06-20T09:00Z", "id": "b-buy"},
            {"a": "Capture payment", "charge": "ch_a", "t": "2026-06-21T09:00Z", "id": "a-buy"},
            {"a": pay, "charge": "ch_b", "amount": 80, "t": "2026-07-01T09:00Z", "id": "b-1"},
            {"a": pay, "charge": "ch_a", "amount": 70, "t": "2026-07-02T09:00Z", "id": "a-9"},
            {"a": pay, "charge": "ch_a", "amount": 50, "t": "2026-07-03T09:00Z", "id": "a-1"},
            {"a": pay, "charge": "ch_b", "amount": 45, "t": "2026-07-04T09:00Z", "id": "b-2"}]},
    }, policy)
    facts = CaseFacts(log, policy, policy.as_of)
    findings = list(RULES.get("refund-exceeds-charge").check(facts))
    assert [f.case_id for f in findings] == ["C1", "C2"]
    first, second = findings
    assert first.evidence["charge"] == "ch_a"
    assert first.evidence["refunded"] == 120 and first.evidence["charge_amount"] == 100
    assert first.amount_at_risk == 20
    assert first.event_ids == ["a-buy", "a-9", "a-1"]  # the charge, then its payouts in log order
    assert second.evidence["charge"] == "ch_z" and second.amount_at_risk == 20
    assert second.event_ids == ["z-buy", "z-1", "z-2"]


def test_runs_of_no_codes_are_none(policy: Policy) -> None:
    """`CaseFacts.runs`: the start and end of each run of equal ascending codes; for no
    codes, no starts and no ends (refund-exceeds-charge with no payout to split)."""
    import numpy as np

    log = build_log({"C1": [{"a": "Capture payment"}]}, policy)
    facts = CaseFacts(log, policy, policy.as_of)
    starts, ends = facts.runs(np.array([0, 0, 2, 5, 5, 5], dtype=np.int64))
    assert starts.tolist() == [0, 2, 3] and ends.tolist() == [2, 3, 6]
    starts, ends = facts.runs(np.zeros(0, dtype=np.int64))
    assert len(starts) == 0 and len(ends) == 0
