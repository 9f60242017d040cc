"""rules.engine.finish_findings: precedences, waivers and the order of the findings, against
the definition written out finding by finding."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime

from audit.findings import Finding
from audit.policy import Waiver, default_policy_path, load_policy
from audit.rules.base import Rule
from audit.rules.engine import finish_findings, selected_rules
from audit.rules.registry import default_rules


def _reference(findings: list[Finding], rules: Sequence[Rule],
               waived_cases: frozenset[tuple[str, str]] = frozenset()) -> list[Finding]:
    """A finding is dropped where another rule's KEPT, unwaived finding on its case
    suppresses it (a suppressed or waived finding suppresses nothing), by recursion over
    the findings of its case. `waived_cases`: (rule code, case) pairs a waiver accepts."""
    by_name = {r.name: r for r in rules}
    memo: dict[int, bool] = {}

    def kept(k: int) -> bool:
        if k not in memo:
            finding = findings[k]
            memo[k] = not any(
                other.name != finding.name and other.name in by_name
                and finding.name in by_name[other.name].suppresses
                and (other.rule, other.case_id) not in waived_cases
                # (two per-request rules: within one episode, named by the first event)
                and not (by_name[other.name].per_request and finding.name in by_name
                         and by_name[finding.name].per_request
                         and other.event_ids[:1] != finding.event_ids[:1])
                and kept(j)
                for j, other in enumerate(findings) if other.case_id == finding.case_id)
        return memo[k]

    return sorted((f for k, f in enumerate(findings) if kept(k)),
                  key=lambda f: (f.case_id, f.rule))


def test_precedences_and_order_equal_the_definition() -> None:
    ruleset = default_rules()
    policy = load_policy(default_policy_path(), known_rules=ruleset.known)
    rules = selected_rules(ruleset, policy)
    suppressing = [r for r in rules if r.suppresses]
    suppressed_names = {name for r in suppressing for name in r.suppresses}
    # Rules that suppress or are suppressed, more often than the others.
    pool = [r for r in rules if r.suppresses or r.name in suppressed_names] * 3 + rules
    rng = random.Random(11)
    findings = []
    for k in range(3000):
        rule = rng.choice(pool)
        # (Per-request rules' findings start with one of a few requests of their case.)
        case = rng.randrange(400)
        first = f"r{case}-{rng.randrange(2)}" if rule.per_request else f"e{k}"
        findings.append(Finding(rule=rule.code, name=rule.name, severity=rule.severity,
                                case_id=f"C{case}", event_ids=[first, f"e{k}"],
                                activities=[], resources=[], timestamp=None,
                                message="m"))
    policy = dataclasses.replace(policy, waivers=())
    kept, statuses, suppressed = finish_findings(
        list(findings), rules, ruleset, policy, datetime(2026, 12, 1, tzinfo=UTC))
    expected = _reference(findings, rules)
    assert [f.fingerprint for f in kept] == [f.fingerprint for f in expected]
    assert suppressed == len(findings) - len(expected) > 100  # precedences did apply
    assert statuses == []


def test_waivers_still_apply_to_the_kept_findings() -> None:
    ruleset = default_rules()
    policy = load_policy(default_policy_path(), known_rules=ruleset.known)
    rules = selected_rules(ruleset, policy)
    rule = next(r for r in rules if r.code == "SD001")
    findings = [Finding(rule=rule.code, name=rule.name, severity=rule.severity,
                        case_id=f"C{k}", event_ids=[f"e{k}"], activities=[], resources=[],
                        timestamp=None, message="m") for k in range(3)]
    waiver = Waiver(rule="SD001", reason="known", approved_by="CFO",
                    expires=date(2027, 1, 1), case="C1")
    kept, statuses, _ = finish_findings(findings, rules, ruleset,
                                        dataclasses.replace(policy, waivers=(waiver,)),
                                        datetime(2026, 12, 1, tzinfo=UTC))
    assert [f.waived for f in kept] == [False, True, False]
    assert statuses[0].matched == 1


def test_a_waived_finding_suppresses_nothing() -> None:
    """Random findings with waivers of suppressing rules on some cases: the kept findings
    are the definition's, where a waived finding replaces nothing (a waived duplicate-refund
    hid its case's refund-exceeds-charge and money at risk)."""
    ruleset = default_rules()
    policy = load_policy(default_policy_path(), known_rules=ruleset.known)
    rules = selected_rules(ruleset, policy)
    by_name = {r.name: r for r in rules}
    pool = [r for r in rules if r.suppresses or any(r.name in o.suppresses for o in rules)]
    rng = random.Random(5)
    findings = []
    for k in range(2000):
        rule = rng.choice(pool)
        findings.append(Finding(rule=rule.code, name=rule.name, severity=rule.severity,
                                case_id=f"C{rng.randrange(200)}", event_ids=[f"e{k}"],
                                activities=[], resources=[], timestamp=None, message="m"))
    suppressing = sorted({(f.rule, f.case_id) for f in findings if by_name[f.name].suppresses})
    chosen = rng.sample(suppressing, 60)
    waivers = tuple(Waiver(rule=code, reason="known", approved_by="CFO",
                           expires=date(2027, 1, 1), case=case) for code, case in chosen)
    kept, statuses, suppressed = finish_findings(
        list(findings), rules, ruleset, dataclasses.replace(policy, waivers=waivers),
        datetime(2026, 12, 1, tzinfo=UTC))
    expected = _reference(findings, rules, frozenset(chosen))
    assert [f.fingerprint for f in kept] == [f.fingerprint for f in expected]
    assert suppressed == len(findings) - len(expected)
    assert len(expected) > len(_reference(findings, rules))  # the waivers did free some
    assert {(f.rule, f.case_id) for f in kept if f.waived} <= set(chosen)
    assert sum(s.matched for s in statuses) == sum(f.waived for f in kept)


def test_an_expired_waiver_still_lets_its_finding_suppress() -> None:
    ruleset = default_rules()
    policy = load_policy(default_policy_path(), known_rules=ruleset.known)
    rules = selected_rules(ruleset, policy)
    du001, ev005 = (next(r for r in rules if r.code == code) for code in ("DU001", "EV005"))
    findings = [Finding(rule=r.code, name=r.name, severity=r.severity, case_id="C1",
                        event_ids=[f"e{k}"], activities=[], resources=[], timestamp=None,
                        message="m") for k, r in enumerate((du001, ev005))]
    for expires, names in ((date(2026, 1, 1), ["duplicate-refund"]),
                           (date(2027, 1, 1), ["duplicate-refund", "refund-exceeds-charge"])):
        waiver = Waiver(rule="DU001", reason="known", approved_by="CFO", expires=expires,
                        case="C1")
        kept, _, _ = finish_findings(list(findings), rules, ruleset,
                                     dataclasses.replace(policy, waivers=(waiver,)),
                                     datetime(2026, 12, 1, tzinfo=UTC))
        assert sorted(f.name for f in kept) == names


def test_each_waived_finding_names_the_waiver_that_waived_it() -> None:
    """`waived_by`: the position in the policy's waivers of the first waiver in force that
    matches the finding (an expired one, or a later one matching it too, is not it); None
    on an open finding."""
    ruleset = default_rules()
    policy = load_policy(default_policy_path(), known_rules=ruleset.known)
    rules = selected_rules(ruleset, policy)
    rule = next(r for r in rules if r.code == "SD001")
    findings = [Finding(rule=rule.code, name=rule.name, severity=rule.severity,
                        case_id=f"C{k}", event_ids=[f"e{k}"], activities=[], resources=[],
                        timestamp=None, message="m") for k in range(4)]

    def waiver(expires: date, **names: str) -> Waiver:
        return Waiver(rule="SD", reason="known", approved_by="CFO", expires=expires, **names)

    waivers = (waiver(date(2026, 1, 1), case="C1"),  # expired: C1's is waived by 2
               waiver(date(2027, 1, 1), case="C2"),
               waiver(date(2027, 1, 1), case="C1"),
               waiver(date(2027, 1, 1), fingerprint=findings[2].fingerprint),  # after 1
               waiver(date(2027, 1, 1), fingerprint=findings[3].fingerprint))
    kept, statuses, _ = finish_findings(findings, rules, ruleset,
                                        dataclasses.replace(policy, waivers=waivers),
                                        datetime(2026, 12, 1, tzinfo=UTC))
    assert [(f.case_id, f.waived, f.waived_by) for f in kept] == [
        ("C0", False, None), ("C1", True, 2), ("C2", True, 1), ("C3", True, 4)]
    assert [s.status for s in statuses] == [
        "expired", "used", "used", "matched only findings an earlier waiver waived", "used"]
    assert kept[1].as_dict()["waived_by"] == 2
