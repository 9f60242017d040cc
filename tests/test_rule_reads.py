"""The rules' cached facts dropped after the last rule that reads them (audit.rules.reads):
the traced table is current, the engine drops what no later rule reads, and the findings
are the same with and without dropping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from audit.ingest import import_sources
from audit.policy import default_policy_path, load_policy
from audit.rules import engine
from audit.rules.facts import CaseFacts
from audit.rules.reads import TABLE, kept_after, table_text, trace_reads
from audit.rules.reads_table import READS
from audit.rules.registry import default_rules
from audit.sample import SampleSpec, write_sample

RULES = default_rules()


class _Code:
    def __init__(self, code: str) -> None:
        self.code = code


def test_table_is_current() -> None:
    assert TABLE.read_text(encoding="utf-8") == table_text(trace_reads()), (
        "audit/rules/reads_table.py is stale: run `make docs`")


def test_every_rule_of_the_catalogue_is_in_the_table() -> None:
    assert {r.code for r in RULES.all()} == set(READS)


def test_kept_after_unions_the_later_rules_reads() -> None:
    reads = {"A": frozenset({"x", "y"}), "B": frozenset({"y"}), "C": frozenset({"z"})}
    rules: Any = [_Code("A"), _Code("B"), _Code("C")]
    assert kept_after(rules, reads) == [frozenset({"y", "z"}), frozenset({"z"}), frozenset()]


def test_a_rule_the_table_does_not_know_keeps_everything_before_it() -> None:
    reads = {"A": frozenset({"x"}), "C": frozenset({"z"})}
    rules: Any = [_Code("A"), _Code("X"), _Code("C")]
    assert kept_after(rules, reads) == [None, frozenset({"z"}), frozenset()]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("reads")
    write_sample(SampleSpec(channel="all", cases=400, seed=23, violation_rate=0.4), out)
    return import_sources([(out / "canonical.csv", None)]).log


def _findings(log: Any) -> list[dict[str, Any]]:
    policy = load_policy(default_policy_path(), known_rules=RULES.known)
    result = engine.run_rules(log, policy, RULES, as_of=datetime(2026, 11, 1, tzinfo=UTC))
    assert not result.errors
    return [f.as_dict() for f in result.findings]


def test_the_engine_drops_what_no_later_rule_reads(log: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    held: list[tuple[set[str], frozenset[str]]] = []
    keep_only = CaseFacts.keep_only

    def spied(self: CaseFacts, keys: frozenset[str]) -> None:
        before = self.cached_keys()
        keep_only(self, keys)
        held.append((before, keys))
        assert self.cached_keys() == before & keys

    monkeypatch.setattr(CaseFacts, "keep_only", spied)
    _findings(log)
    assert len(held) == len(RULES.all())
    dropped = [before - keys for before, keys in held]
    # The role codes, read by AP004 and then SD004, are kept after AP004 and dropped after
    # SD004, which no later rule reads them for; after the last rule nothing is left.
    codes = [r.code for r in RULES.all()]
    assert "events:codes:org:role" not in dropped[codes.index("AP004")]
    assert "events:codes:org:role" in dropped[codes.index("SD004")]
    assert held[-1][1] == frozenset() and not held[-1][0] & held[-1][1]


def test_findings_are_the_same_with_and_without_dropping(
        log: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    dropping = _findings(log)
    assert len(dropping) > 100
    monkeypatch.setattr(engine, "READS", {})  # no rule known: nothing is dropped
    assert _findings(log) == dropping


def test_a_dropped_column_asked_for_again_is_the_same(log: Any) -> None:
    policy = load_policy(default_policy_path(), known_rules=RULES.known)
    facts = CaseFacts(log, policy, datetime(2026, 11, 1, tzinfo=UTC))
    first = facts.table("payout_eid", "approval1_time", "currency").copy()
    mask = facts.mask("approve", "second-approve").copy()
    assert facts.cached_keys() >= {"cases:approval1_time", "events:first:payout",
                                   "events:mask:approve,second-approve"}
    # First events' texts (ids, people, ...) are taken again from the kept positions, never
    # kept themselves; their times and amounts are kept.
    resource = facts.table("approval1_resource")["approval1_resource"].copy()
    assert resource.notna().sum() > 100
    assert not {"cases:payout_eid", "cases:approval1_resource"} & facts.cached_keys()
    assert facts.table("payout_eid")["payout_eid"].equals(first["payout_eid"])
    assert facts.table("approval1_resource")["approval1_resource"].equals(resource)
    facts.keep_only(frozenset())
    assert facts.cached_keys() == set()
    assert facts.table("payout_eid", "approval1_time", "currency").equals(first)
    assert (facts.mask("approve", "second-approve") == mask).all()


def test_the_table_names_real_cache_keys() -> None:
    # Keys are "events:..." or "cases:..." as CaseFacts.cached_keys names them.
    for keys in READS.values():
        assert all(k.startswith(("events:", "cases:")) for k in keys)


def test_the_table_holds_what_a_rule_reads_under_another_setting(
        log: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """missing-evidence with `evidence_due: approval` reads the approvals, rejections,
    closes and requests, which it does not with the default: the table holds them too (it
    was traced with the default alone, so the engine dropped them after the last rule
    reading them before EV001, and EV001 computed them again): the engine, run with that
    setting, drops nothing EV001 asks for before it runs."""
    from dataclasses import replace

    asked: dict[str, set[str]] = {}
    check = RULES.get("EV001").check
    default = load_policy(default_policy_path(), known_rules=RULES.known)

    def traced(facts: CaseFacts) -> Any:
        before = set(facts.cached_keys())
        found = check(facts)
        asked["EV001"] = set(facts.cached_keys()) - before
        return found

    monkeypatch.setattr(RULES.get("EV001"), "check", traced)
    result = engine.run_rules(log, replace(default, evidence_due="approval"), RULES,
                              as_of=datetime(2026, 11, 1, tzinfo=UTC))
    assert not result.errors
    assert any("after_approval" in f.evidence for f in result.findings
               if f.rule == "EV001")  # (the setting at work)
    assert asked["EV001"] <= READS["EV001"], asked["EV001"] - READS["EV001"]
