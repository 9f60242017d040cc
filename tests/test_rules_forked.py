"""run_rules with a forked copy of the process running rules beside this one: the same
findings, in the same order, errors and conformance summary as one rule after another; both
processes take rules; a rule's error comes back as the rule's error; a copy that dies, or an
interrupt here, ends the run and leaves no copy running."""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import audit.rules.engine as engine
from audit import canonical as C
from audit.checkrun import CheckRun, run_check
from audit.findings import Finding
from audit.forked import Forked, can_fork
from audit.policy import default_policy_path, load_policy
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts
from audit.rules.registry import RuleSet
from audit.sample import SampleSpec, write_sample

pytestmark = pytest.mark.skipif(not can_fork(), reason="forks on Linux only")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("forked-rules")
    write_sample(SampleSpec("all", 300, 11, 0.4), out)
    return out / "canonical.csv"


def _plain(run: CheckRun) -> dict[str, Any]:
    """The run's summary (the seconds conformance took, a measurement, are the manifest's)."""
    summary: dict[str, Any] = copy.deepcopy(run.summary())
    assert all("seconds" not in channel for channel in summary["conformance"].values())
    return summary


def _forks_spied(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    doing: list[str] = []
    real = Forked.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        doing.append(kwargs["doing"])
        real(self, *args, **kwargs)

    monkeypatch.setattr(Forked, "__init__", spy)
    return doing


def test_the_catalogue_in_two_processes_finds_what_it_finds_in_one(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alone = run_check([sample], default_policy_path())
    assert len(alone.result.findings) > 100
    assert {f.rule for f in alone.result.findings} >= {"AP001", "SD001", "EV002", "CF001"}
    forks = _forks_spied(monkeypatch)
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    two = run_check([sample], default_policy_path())
    assert forks == ["running rules"]
    assert [f.as_dict() for f in two.result.findings] == \
        [f.as_dict() for f in alone.result.findings]
    assert two.result.errors == alone.result.errors == []
    assert two.result.suppressed == alone.result.suppressed
    assert _plain(two) == _plain(alone)
    assert "conformance_result" in two.result.extra  # the alignments stay in this process


def test_small_logs_stay_in_one_process(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forks = _forks_spied(monkeypatch)
    run_check([sample], default_policy_path())
    assert forks == []
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    policy = load_policy(default_policy_path())
    ruleset = RuleSet([_rule("DQ901")])  # one rule: nothing to share
    engine.run_rules(_log(sample), policy, ruleset, as_of=policy.as_of)
    assert forks == []


# --- made-up rules: which process ran them, slow enough that both take some ----------------

PARENT = os.getpid()


def _rule(code: str, *, seconds: float = 0.0, fails_in_copy: bool = False,
          dies_in_copy: bool = False, interrupts: bool = False) -> type[Rule]:
    def check(self: Rule, facts: CaseFacts) -> Iterable[Finding]:
        if os.getpid() != PARENT:
            if dies_in_copy:
                os._exit(7)
            if fails_in_copy:
                raise ValueError(f"{code} broke")
        elif interrupts:
            raise KeyboardInterrupt
        time.sleep(seconds)
        case = str(facts.case_ids[0])
        return [Finding(code, self.name, "low", case, [], [], [], None, f"{code} ran",
                        evidence={"here": os.getpid() == PARENT})]

    doc = ("What it checks:\n x\nWhy it matters:\n x\nExample:\n x\nOptions:\n x\n"
           "References:\n x\n")
    return type(f"Rule{code}", (Rule,), {
        "__doc__": doc, "code": code, "name": f"made-up-{code[:2].lower()}-" + "-".join(
            "abcdefghij"[int(d)] for d in code[2:]), "severity": "low",
        "summary": "made up", "logic_version": 1, "check": check})


def _log(sample: Path) -> Any:
    from audit.ingest import import_sources

    return import_sources([(sample, None)]).log


def _run(sample: Path, rules: list[type[Rule]]) -> engine.AuditResult:
    policy = load_policy(default_policy_path())
    return engine.run_rules(_log(sample), policy, RuleSet(rules), as_of=policy.as_of)


def test_both_processes_take_rules_and_the_order_is_the_rules(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    result = _run(sample, [_rule(f"DQ9{k:02d}", seconds=0.2) for k in range(8)])
    assert [f.rule for f in result.findings] == [f"DQ9{k:02d}" for k in range(8)]
    where = [f.evidence["here"] for f in result.findings]
    assert any(where) and not all(where)  # some rules ran here, some in the copy


def test_a_rule_that_fails_in_the_copy_is_that_rules_error(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    rules = [_rule(f"DQ9{k:02d}", seconds=0.2, fails_in_copy=True) for k in range(6)]
    result = _run(sample, rules)
    failed = [e.rule for e in result.errors]
    assert failed and failed == sorted(failed)  # the copy took some; in the rules' order
    assert all(e.error == f"ValueError: {e.rule} broke" for e in result.errors)
    assert "raise ValueError" in result.errors[0].traceback
    assert sorted(failed + [f.rule for f in result.findings]) == [f"DQ9{k:02d}"
                                                                   for k in range(6)]


def test_a_copy_that_dies_fails_the_run(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    rules = [_rule(f"DQ9{k:02d}", seconds=0.2, dies_in_copy=True) for k in range(6)]
    with pytest.raises(RuntimeError, match="running rules ended with exit code 7"):
        _run(sample, rules)


def test_an_interrupt_here_stops_the_copy(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    stopped: list[bool] = []
    real = Forked.stop

    def spy(self: Any) -> None:
        real(self)
        stopped.append(self._process.is_alive())

    monkeypatch.setattr(Forked, "stop", spy)
    rules = [_rule("CF901", interrupts=True),  # a conformance rule: run here, first
             *(_rule(f"DQ9{k:02d}", seconds=5) for k in range(4))]
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        _run(sample, rules)
    assert stopped == [False]  # the copy was stopped and is gone
    assert time.perf_counter() - started < 15


def test_the_cases_left_for_later_are_the_rules_own_not_computed_again(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """findings.json's not_due_cases (missing-evidence, missing-second-approval,
    approved-not-paid) are the cases each rule left for later as its check judged them
    (`CaseFacts.not_due`), in one process and from the forked copy alike: `side_facts`
    computes none of them again after the rules (before, each again from the facts, their
    columns dropped by then), and they are the cases computing them again names."""
    from audit.rules import default_rules
    from audit.rules.approvals import ap003_missing_second_approval as ap003
    from audit.rules.evidence import ev001_missing_evidence as ev001
    from audit.rules.evidence import ev003_approved_not_paid as ev003

    policy = load_policy(default_policy_path())
    log = _log(sample)
    # (a clock amid the log's events: refunds waiting on each rule's clock)
    as_of = log["time:timestamp"].sort_values().iloc[len(log) // 2].to_pydatetime()
    again = CaseFacts(C.at_clock(log, as_of)[0], policy, as_of)
    expected = {"AP003": ap003.not_due_cases(again), "EV001": ev001.not_due_cases(again),
                "EV003": ev003.not_due_cases(again)}
    assert min(map(len, expected.values())) >= 3  # (the sample leaves cases of each for later)

    def computed_again(facts: CaseFacts) -> list[object]:
        raise AssertionError("a rule's not-due cases computed again after it ran")

    for module in (ap003, ev001, ev003):
        monkeypatch.setattr(module, "not_due_cases", computed_again)
    alone = engine.run_rules(log, policy, default_rules(), as_of=as_of)
    assert alone.errors == []
    assert alone.extra["not_due_cases"] == expected
    forks = _forks_spied(monkeypatch)
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    two = engine.run_rules(log, policy, default_rules(), as_of=as_of)
    assert forks == ["running rules"] and two.errors == []
    assert two.extra["not_due_cases"] == expected


def test_the_work_duplicate_refund_and_refund_exceeds_charge_share_is_done_once(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """duplicate-refund reads refund-exceeds-charge's excess per case, and refund-exceeds-
    charge duplicate-refund's repeats: each computed once a run (`CaseFacts.shared`), after
    the fork, by the process that takes the two rules (one unit, `engine._units`). Before
    the forty-eighth session the pairing ran three times (DU001's own, inside the
    refund-exceeds-charge calculation DU001 ran again, and EV005's) and EV005's calculation
    twice; then once, but before the fork (`CaseFacts.warm`), while the copy did not run
    yet (at 1M cases 2.8 s of the rules stage's wall). The findings are those of the two
    rules run one after the other."""
    from audit.rules.duplicates import du001_duplicate_refund as du001
    from audit.rules.evidence import ev005_refund_exceeds_charge as ev005

    calls = tmp_path / "calls"
    forks = _forks_spied(monkeypatch)

    def spied(function: Any, name: str) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            with calls.open("a", encoding="utf-8") as out:  # (from either process)
                out.write(f"{name} {'after' if forks else 'before'} the fork "
                          f"{'here' if os.getpid() == PARENT else 'copy'}\n")
            return function(*args, **kwargs)

        return spy

    rules: list[type[Rule]] = [du001.DuplicateRefund, ev005.RefundExceedsCharge]
    alone = _run(sample, rules)
    assert {f.rule for f in alone.findings} == {"DU001", "EV005"}  # (both find some)
    assert forks == []
    monkeypatch.setattr(du001, "_pairs", spied(du001._pairs, "pairing"))
    monkeypatch.setattr(ev005, "_captured", spied(ev005._captured, "excess"))
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    two = _run(sample, rules)
    assert forks == ["running rules"] and two.errors == []
    # (the pairing is two calls of _pairs: by charge and by order), all in one process
    done = sorted(calls.read_text(encoding="utf-8").splitlines())
    where = done[0].rsplit(" ", 1)[1]
    assert done == [f"excess after the fork {where}", f"pairing after the fork {where}",
                    f"pairing after the fork {where}"]
    assert [f.as_dict() for f in two.findings] == [f.as_dict() for f in alone.findings]


def test_the_rules_sharing_work_are_one_unit_taken_first() -> None:
    """`engine._units`: duplicate-refund and refund-exceeds-charge, which read each other's
    shared work, are one unit, the first taken; receipt-reused and approved-not-paid, which
    reads receipt-reused's findings (an approval on a reused receipt is not to be paid),
    the next; every other rule a unit of its own, in the catalogue's order."""
    from audit.rules import default_rules

    rules = list(default_rules())
    shared = [i for i, rule in enumerate(rules) if rule.family != "CF"]
    units = [[rules[i].code for i in unit] for unit in engine._units(rules, shared)]
    assert units[0] == ["DU001", "EV005"]
    assert units[1] == ["DU002", "EV003"]
    assert [unit for unit in units[2:]] == [
        [rules[i].code] for i in shared
        if rules[i].code not in ("DU001", "EV005", "DU002", "EV003")]


def test_a_crash_in_the_shared_work_is_the_reading_rules_error_not_the_runs(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The work duplicate-refund and refund-exceeds-charge share (done by the process taking
    their unit, `engine._units`), raising: each of the two rules is recorded as crashed, as when the
    rules run one after the other, and the other rules' findings and the reports are
    written. Before, the error was raised out of the run: "internal error", exit 2 and no
    reports, in every forked run (by default, logs of 200,000 events or more)."""
    import json

    from click.testing import CliRunner

    from audit.cli import main
    from audit.rules.evidence import ev005_refund_exceeds_charge as ev005
    from audit.rules.facts import SHARED_WORK

    def boom(facts: CaseFacts) -> Any:
        raise RuntimeError("boom in the excess")

    alone = run_check([sample], default_policy_path())
    monkeypatch.setitem(SHARED_WORK, ev005.EXCESS, boom)
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    forks = _forks_spied(monkeypatch)
    result = CliRunner().invoke(main, ["check", str(sample), "--out", str(tmp_path),
                                       "--fail-on", "never"])
    assert "internal error" not in result.output
    assert result.exit_code == 2, result.output
    assert forks == ["running rules"]
    for rule in ("DU001 (duplicate-refund)", "EV005 (refund-exceeds-charge)"):
        assert f"rule {rule} crashed: RuntimeError: boom in the excess" in result.output
    document = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))
    assert [e["rule"] for e in document["errors"]] == ["DU001", "EV005"]
    others = [f.fingerprint for f in alone.result.findings if f.rule not in {"DU001", "EV005"}]
    assert len(others) > 100
    assert [f["fingerprint"] for f in document["findings"]] == others


def test_warm_leaves_shared_work_that_raises_to_its_readers(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`CaseFacts.warm` given shared work that raises (as it is given shared work read by
    rules of two units) leaves it uncomputed instead of raising, and each reader then
    raises the error itself (recorded as that rule's crash by the engine)."""
    from audit.rules.evidence import ev005_refund_exceeds_charge as ev005
    from audit.rules.facts import SHARED_WORK

    calls: list[str] = []

    def boom(facts: CaseFacts) -> Any:
        calls.append("boom")
        raise RuntimeError("boom in the excess")

    monkeypatch.setitem(SHARED_WORK, ev005.EXCESS, boom)
    policy = load_policy(default_policy_path())
    facts = CaseFacts(_log(sample), policy, policy.as_of)
    facts.warm(["events:" + ev005.EXCESS])
    assert calls == ["boom"]
    for _ in range(2):
        with pytest.raises(RuntimeError, match="boom in the excess"):
            facts.shared(ev005.EXCESS)
    assert calls == ["boom", "boom", "boom"]


def _blank_roles(log: Any) -> Any:
    """The log with the role of every third approval not recorded (none, or blank) and of
    every ninth its person too: approvals unauthorized-approver cannot judge."""
    log = log.copy()
    approvals = log.index[log[C.ACTIVITY].astype(str).str.startswith("Approve refund")]
    roles = log[C.ROLE].astype(object)
    people = log[C.RESOURCE].astype(object)
    for k, i in enumerate(approvals[::3]):
        roles[i] = None if k % 2 else " "
        if k % 3 == 0:
            people[i] = None
    log[C.ROLE] = roles.astype("category")
    log[C.RESOURCE] = people.astype("category")
    return log


def test_what_unauthorized_approver_could_not_judge_comes_back_from_the_copy(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """unauthorized-approver (AP004) run by the forked copy: the approvals it could not judge
    (no role recorded) come back with its outcome (`CaseFacts.unjudged`), so that check's
    warning (`unrecorded_approvals`, `..._nobody`) and findings.json's `unjudged_cases`, which
    `diff` reads, are those of one process, and this process does not judge the approvals
    again. Before this test none of the forked tests had an approval without a role: the
    copy sending back nothing it could not judge passed them all, while such a run lost
    every unrecorded approval (no warning; `diff` called earlier findings of those cases
    resolved, not not re-judged)."""
    from audit.rules.approvals import ap004_unauthorized_approver as ap004

    policy = load_policy(default_policy_path())
    log = _blank_roles(_log(sample))
    approvals = log[log[C.ACTIVITY].astype(str).str.startswith("Approve refund")]
    blank = approvals[approvals[C.ROLE].astype(str).str.strip().isin(["", "nan"])
                      | approvals[C.ROLE].isna()]
    judged_in = tmp_path / "judged"
    real = ap004._judged

    def spy(facts: CaseFacts) -> Any:
        with judged_in.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return real(facts)

    monkeypatch.setattr(ap004, "_judged", spy)
    # (a conformance rule is run here, first: slow, so the copy takes unauthorized-approver)
    rules = RuleSet([_rule("CF901", seconds=1.0), ap004.UnauthorizedApprover])
    alone = engine.run_rules(log, policy, rules, as_of=policy.as_of)
    assert alone.errors == []
    assert judged_in.read_text().split() == [str(PARENT)]  # once, by its check
    # Every approval left without a role is one not judged (each level is judged here).
    assert alone.extra["unrecorded_approvals"] == blank[C.ACTIVITY].astype(str).value_counts(
        ).to_dict()
    assert alone.extra["unrecorded_approvals_nobody"] == blank[blank[C.RESOURCE].isna()][
        C.ACTIVITY].astype(str).value_counts().to_dict()
    cases = sorted(set(blank[C.CASE].astype(str)))
    assert len(cases) >= 30
    assert [str(c) for c in alone.extra["unjudged_cases"]["AP004"]["role_not_recorded"]] == \
        cases

    judged_in.unlink()
    forks = _forks_spied(monkeypatch)
    monkeypatch.setattr(engine, "FORK_RULES_FROM", 0)
    two = engine.run_rules(log, policy, rules, as_of=policy.as_of)
    assert forks == ["running rules"] and two.errors == []
    judged_by = judged_in.read_text().split()
    assert len(judged_by) == 1 and judged_by != [str(PARENT)]  # by the copy alone
    assert [f.as_dict() for f in two.findings] == [f.as_dict() for f in alone.findings]
    for key in ("unrecorded_approvals", "unrecorded_approvals_nobody", "unjudged_cases"):
        assert two.extra[key] == alone.extra[key], key
