"""The conformance rules skipped-activity, unexpected-activity and wrong-order read the
deviating cases once between them (`deviation_matches`: the first makes the rows of the three
kinds, the facts hold the others' until their rules take them), with the findings each gives
on facts of its own, whatever the order they run in."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

import conformance.deviations as D
from audit import canonical as C
from audit.ingest import import_sources
from audit.policy import default_policy_path, load_policy
from audit.rules import default_rules
from audit.rules.conformance.common import RULE_OF_KIND
from audit.rules.facts import CaseFacts

REPO = Path(__file__).resolve().parents[1]
EXPORTS = sorted((REPO / "sample_logs" / "refund-sample" / "exports").glob("*"))
CODES = ("CF001", "CF002", "CF003")


@pytest.fixture(scope="module")
def judged() -> Any:
    policy = load_policy(default_policy_path())
    log = import_sources([(p, None) for p in EXPORTS]).log
    return C.at_clock(log, policy.as_of)[0], policy


def _facts(judged: Any) -> CaseFacts:
    log, policy = judged
    return CaseFacts(log, policy, policy.as_of)


def _rules() -> dict[str, Any]:
    return {rule.code: rule for rule in default_rules() if rule.code in CODES}


def _found(rule: Any, facts: CaseFacts) -> list[dict[str, Any]]:
    return [f.as_dict() for f in rule.check(facts)]


def test_each_order_reads_the_deviating_cases_once_with_the_same_findings(
        judged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = _rules()
    alone = {code: _found(rules[code], _facts(judged)) for code in CODES}
    assert all(alone.values())  # the sample has findings of each kind
    reads = []
    deviating = D.deviating_cases

    def counted(cases: Any) -> Any:
        reads.append(1)
        return deviating(cases)

    monkeypatch.setattr(D, "deviating_cases", counted)
    for order in itertools.permutations(CODES):
        reads.clear()
        facts = _facts(judged)
        together = {code: _found(rules[code], facts) for code in order}
        assert together == alone
        assert len(reads) == 1
        assert facts.deviation_rows == {}  # each kind taken by its rule
        # A rule run again on the same facts reads them again, with the same findings.
        assert _found(rules[order[0]], facts) == alone[order[0]]
        assert len(reads) == 2


@pytest.mark.parametrize("running", [("CF001",), ("CF002",), ("CF001", "CF003"),
                                     ("CF002", "CF003", "CF004")])
def test_rows_made_only_for_the_kinds_whose_rules_run(judged: Any,
                                                      running: tuple[str, ...]) -> None:
    # A run judging some of CF001-CF003 (--select, a policy's ignore) makes no rows for
    # the others, which no rule would take: they were held until the run ended.
    assert set(RULE_OF_KIND) == set(D.KINDS)
    assert {rules.code for rules in _rules().values()} == set(RULE_OF_KIND.values())
    rules = _rules()
    order = [code for code in running if code in CODES]
    facts = _facts(judged)
    facts.running = frozenset(running)
    first, rest = order[0], order[1:]
    assert _found(rules[first], facts) == _found(rules[first], _facts(judged))
    kind_of = {code: kind for kind, code in RULE_OF_KIND.items()}
    assert set(facts.deviation_rows) == {kind_of[code] for code in rest}
    for code in rest:
        assert _found(rules[code], facts) == _found(rules[code], _facts(judged))
    assert facts.deviation_rows == {}
