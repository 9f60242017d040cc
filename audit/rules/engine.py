"""Running the selected rules: errors kept apart, precedences and waivers applied."""

from __future__ import annotations

import graphlib
import operator
import pickle
import traceback
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from audit import canonical as C
from audit.findings import Finding, copy_fingerprint
from audit.forked import Forked, can_fork
from audit.gcpause import gc_paused
from audit.memory import return_free_memory
from audit.policy import Policy, Waiver
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts
from audit.rules.reads import kept_after
from audit.rules.reads_table import READS
from audit.rules.registry import RuleSet


@dataclass(frozen=True)
class RuleError:
    """A rule that raised: an error of the run, never a silent pass."""

    rule: str
    name: str
    error: str
    traceback: str


@dataclass
class WaiverStatus:
    waiver: Waiver
    codes: frozenset[str] = frozenset()
    """The rule codes the waiver's reference names (a code, name, family or glob)."""
    matched: int = 0
    expired: bool = False
    overlapped: int = 0
    """Findings it matches that an earlier waiver of the policy waived."""
    not_run: bool = False
    """None of the rules it names ran in this run (not selected by the policy)."""
    lapsed: int = 0
    """Where `expired`: the findings it matches that no waiver in force waives, which it
    would have waived before it expired (reported open now)."""

    def matches(self, finding: Finding) -> bool:
        w = self.waiver
        if finding.rule not in self.codes:
            return False
        if w.fingerprint is not None:
            return (w.fingerprint == finding.fingerprint
                    or w.fingerprint == copy_fingerprint(finding))
        return w.case == finding.case_id

    @property
    def status(self) -> str:
        if self.expired:
            return "expired"
        if self.matched:
            return "used"
        if self.overlapped:  # (not a typo's "never matched": an earlier waiver came first)
            return "matched only findings an earlier waiver waived"
        if self.not_run:
            return "its rule did not run"
        return "never matched"


def waivers_of(statuses: Sequence[WaiverStatus]
               ) -> Callable[[Finding], list[WaiverStatus]]:
    """A lookup of the waivers that may match a finding, in the policy's order: those naming
    its case or its fingerprint (or the fingerprint it had before its copies counted), whose
    `matches` then decides. Each waiver names one case or one fingerprint, so a finding is
    compared with those few, not with every waiver of the policy (a policy that has kept
    years of waivers, at 1M cases: hundreds of waivers times 250k findings)."""
    by_case: dict[str, list[int]] = {}
    by_fingerprint: dict[str, list[int]] = {}
    for i, status in enumerate(statuses):
        w = status.waiver
        if w.fingerprint is not None:
            by_fingerprint.setdefault(w.fingerprint, []).append(i)
        else:
            by_case.setdefault(str(w.case), []).append(i)

    def of(finding: Finding) -> list[WaiverStatus]:
        at = by_case.get(finding.case_id, [])
        if by_fingerprint:
            at = at + by_fingerprint.get(finding.fingerprint, [])
            copied = copy_fingerprint(finding)
            if copied is not None:
                at = at + by_fingerprint.get(copied, [])
        if len(at) > 1:
            at = sorted(set(at))
        return [statuses[i] for i in at if statuses[i].matches(finding)]

    return of


@dataclass
class AuditResult:
    findings: list[Finding]
    errors: list[RuleError]
    waivers: list[WaiverStatus]
    rules: list[Rule]
    suppressed: int
    as_of: datetime
    cases: int
    events: int
    extra: dict[str, object] = field(default_factory=dict)
    severities: dict[str, str] = field(default_factory=dict)
    """The policy's severity overrides by rule code (`severity:`), which its findings got."""
    suppressed_findings: list[dict[str, str]] = field(default_factory=list)
    """The `suppressed` findings, each {rule, case_id, fingerprint, suppressed_by} (the code of
    the rule whose kept finding on the case, or the episode, explains it), by case and rule
    (`finish_findings`)."""
    not_judged: dict[str, int] = field(default_factory=dict)
    """The events of the log given that are no completion, per lifecycle:transition, which
    no rule judged (`canonical.at_clock`)."""
    after_clock: int = 0
    """The completions of the log given dated after `as_of`, which no rule judged."""

    def severity_of(self, rule: Rule) -> str:
        """The severity `rule`'s findings have in this run: the policy's, else its own."""
        return self.severities.get(rule.code, rule.severity)


Outcome = tuple[list[Finding], RuleError | None]
"""One rule's findings, or the error it raised."""


def _outcome(rule: Rule, facts: CaseFacts, overrides: dict[str, str],
             still_read: Collection[str] | None) -> Outcome:
    """One rule's check, then the cached columns not in `still_read` dropped (None: kept)."""
    try:
        produced = list(rule.check(facts))
    except Exception as exc:  # a crashed rule is recorded, and makes the run fail
        return [], RuleError(rule.code, rule.name, f"{type(exc).__name__}: {exc}",
                             traceback.format_exc())
    finally:
        if still_read is not None:
            facts.keep_only(still_read)
        # The rule's temporaries, freed, handed back before the next rule (glibc keeps
        # freed blocks in its heap: at 1M cases 0.3 GB more held by the last rules).
        return_free_memory()
    for finding in produced:
        finding.severity = overrides.get(rule.code, finding.severity)
    return produced, None


def _read_by(rules: Iterable[Rule]) -> frozenset[str] | None:
    """The cache keys `rules` read (audit.rules.reads), None where one is not known."""
    keys: set[str] = set()
    for rule in rules:
        if rule.code not in READS:
            return None
        keys |= READS[rule.code]
    return frozenset(keys)


def _units(rules: Sequence[Rule], shared: Sequence[int]) -> list[list[int]]:
    """The rules at positions `shared` in the units one process takes at a time: the rules
    that read the same shared work (`CaseFacts.shared`, "events:shared:..." keys) in one
    unit, in their order, so that the work is done once, after the fork, in the process
    that takes them; every other rule a unit of its own. The units holding shared work
    come first (the largest: at 1M cases duplicate-refund's and refund-exceeds-charge's
    work was 2.8 s of the 3.3 s computed before the fork), then the others in order."""
    units: list[list[int]] = []
    for i in shared:
        work = {key for key in READS.get(rules[i].code, ()) if key.startswith("events:shared:")}
        joined = [unit for unit in units if work and not work.isdisjoint(
            key for k in unit for key in READS.get(rules[k].code, ()))]
        for unit in joined:
            units.remove(unit)
        units.append(sorted([i, *(k for unit in joined for k in unit)]))
    units.sort(key=lambda unit: unit[0])
    with_work = [unit for unit in units if any(key.startswith("events:shared:")
                                               for k in unit for key in READS.get(
                                                   rules[k].code, ()))]
    return with_work + [unit for unit in units if unit not in with_work]


def _in_two(facts: CaseFacts, rules: list[Rule], overrides: dict[str, str]
            ) -> dict[int, Outcome] | None:
    """The rules run by this process and a forked copy of it, at once: {rule's position:
    outcome}. None when there is nothing to share.

    The conformance rules (the CF family, the only rules that read the alignments) run here,
    first: the report needs the alignments from this process. The other rules are taken a
    unit at a time (`_units`: the rules sharing work together, those first), in order, by
    whichever process is free (a counter in shared memory), so that neither waits for a
    slow rule the other could have left. What every rule needs first (the events' order
    and case codes, the controls of the labels, the columns most rules read) is computed
    before the fork and shared; the work two rules share is done by the process taking
    their unit (before, it was done before the fork, while the copy did not yet run). Each
    process drops the cached columns that neither its own rules still to run nor the rules
    not taken yet read. The copy's findings come back pickled (at 1M cases about 1 s to
    pickle, there, and 0.5 s to unpickle, here)."""
    import multiprocessing

    own = [i for i, rule in enumerate(rules) if rule.family == "CF"]
    shared = [i for i in range(len(rules)) if i not in own]
    if not shared:
        return None
    units = _units(rules, shared)
    # What more than half of the shared rules read is computed once, before the fork; so
    # is shared work (`CaseFacts.shared`) that rules of two units read (a conformance rule
    # and another: none in the catalogue), else computed in both processes; shared work
    # that one unit reads is done after the fork, by the process taking the unit.
    read = [READS.get(rules[i].code, frozenset()) for i in shared]
    by_unit = [frozenset().union(*(READS.get(rules[i].code, frozenset()) for i in unit))
               for unit in [own, *units]]
    facts.warm(key for key in set().union(*read)
               if (sum(key in r for r in by_unit) > 1 if key.startswith("events:shared:")
                   else 2 * sum(key in r for r in read) > len(shared)))
    taken = multiprocessing.get_context("fork").Value("q", 0)

    def run(mine: list[int], out: dict[int, Any], pack: Callable[[Outcome, str], Any]
            ) -> dict[int, Any]:
        pending = list(mine)
        while True:
            if not pending:
                with taken.get_lock():
                    if taken.value >= len(units):
                        return out
                    pending = list(units[taken.value])
                    taken.value += 1
            i = pending.pop(0)
            # Read without the lock: the counter only grows, so the rules past it are the
            # most this process may still take.
            later = [rules[k] for k in [*pending, *(k for unit in units[taken.value:]
                                                     for k in unit)]]
            out[i] = pack(_outcome(rules[i], facts, overrides, _read_by(later)),
                          rules[i].code)

    def pickled(outcome: Outcome, code: str) -> bytes:
        # (with the cases the rule left for a later clock and what it could not judge,
        # kept in the copy's facts: not computed again here for side_facts)
        return pickle.dumps((outcome, facts.not_due.get(code), facts.unjudged.get(code)),
                            protocol=pickle.HIGHEST_PROTOCOL)

    # The copy pickles each rule's outcome as soon as it has it: that time is its own, so
    # the rules it takes are fewer; only the unpickling is left when both are done.
    copy: Forked[dict[int, bytes]] = Forked(run, [], {}, pickled, doing="running rules")
    try:
        outcomes: dict[int, Outcome] = run(own, {}, lambda outcome, _code: outcome)
        for i, data in copy.result().items():
            outcomes[i], left, unjudged = pickle.loads(data)  # noqa: S301 (the copy's, this run)
            if left is not None:
                facts.not_due[rules[i].code] = left
            if unjudged is not None:
                facts.unjudged[rules[i].code] = unjudged
    except BaseException:  # a rule here was interrupted, or the copy failed
        copy.stop()
        raise
    return outcomes


def selected_rules(ruleset: RuleSet, policy: Policy) -> list[Rule]:
    return ruleset.select(policy.select, policy.ignore)


def _severity_overrides(ruleset: RuleSet, policy: Policy) -> dict[str, str]:
    """Each rule's severity from the policy: the most specific reference naming it wins (a
    code or name over a family or glob: `{CF001: low, CF: high}` makes CF001 low whatever
    the order); among equally broad ones, the later."""
    # Broadest first, a rule's own code or name last: (names one rule by itself, how many
    # rules the reference names, descending); a family or glob of one rule is still broad.
    resolved = [((ruleset.get(ref) is not None, -len(rules)), rules, severity)
                for ref, severity in policy.severity.items()
                for rules in [ruleset.resolve(ref)]]
    overrides: dict[str, str] = {}
    for _, rules, severity in sorted(resolved, key=lambda item: item[0]):  # (stable)
        for rule in rules:
            overrides[rule.code] = severity
    return overrides


_case, _rule = operator.attrgetter("case_id"), operator.attrgetter("rule")


def _precedences(findings: list[Finding], rules: Sequence[Rule],
                 waived: list[bool] | None = None,
                 dropped: list[tuple[Finding, str]] | None = None) -> list[Finding]:
    """The findings no KEPT, open finding of another rule on their case suppresses, in
    their order.

    A suppressed finding suppresses nothing: approved-not-paid drops a case's sla-breach,
    and the stage-overdue findings that sla-breach would have explained stay (they were lost
    with it). Nor does a finding a waiver matches (`waived`, per finding): it is kept, as
    waived, and the findings it would replace are reported. Between two rules whose findings
    are per request (`Rule.per_request`), a finding suppresses only those of its episode
    (the same first event, the request). The rules' names are judged in an order where every
    suppressor comes before the names it suppresses (the precedences form no cycle;
    `graphlib` refuses one); per name, a set intersection per finding with the names kept
    open on its case (or its episode) so far. `dropped`, where given, gets each finding
    suppressed with the name of the rule that suppresses it (of several, the first by
    name)."""
    names = {r.name for r in rules}
    episodic = {r.name for r in rules if r.per_request}
    suppressors: dict[str, frozenset[str]] = {
        r.name: frozenset(o.name for o in rules if o.name != r.name and r.name in o.suppresses)
        for r in rules}
    graph = graphlib.TopologicalSorter({name: suppressors[name] for name in names})
    order = {name: k for k, name in enumerate(graph.static_order())}
    by_name: dict[str, list[int]] = {}
    for k, finding in enumerate(findings):
        by_name.setdefault(finding.name, []).append(k)
    kept_names: dict[str, set[str]] = {}
    kept_in_episode: dict[tuple[str, str], set[str]] = {}
    keep = [True] * len(findings)
    nobody: frozenset[str] = frozenset()
    # Findings of names no selected rule bears (none in a run) come last, suppressing nothing.
    for name in sorted(by_name, key=lambda n: (order.get(n, len(order)), n)):
        mine = suppressors.get(name, nobody)
        by_case, by_episode = mine, nobody
        if name in episodic:
            by_case, by_episode = mine - episodic, mine & episodic
        for k in by_name[name]:
            finding = findings[k]
            case = finding.case_id
            present = kept_names.get(case)
            if present is not None and not by_case.isdisjoint(present):
                keep[k] = False
                if dropped is not None:
                    dropped.append((finding, min(by_case & present)))
                continue
            episode = (case, finding.event_ids[0] if finding.event_ids else "")
            if by_episode and not by_episode.isdisjoint(kept_in_episode.get(episode, ())):
                keep[k] = False
                if dropped is not None:
                    dropped.append((finding, min(by_episode & kept_in_episode[episode])))
                continue
            if waived is not None and waived[k]:
                continue
            if present is None:
                kept_names[case] = {name}
            else:
                present.add(name)
            if name in episodic:
                kept_in_episode.setdefault(episode, set()).add(name)
    return [finding for finding, kept in zip(findings, keep, strict=True) if kept]


def finish_findings(findings: list[Finding], rules: Sequence[Rule], ruleset: RuleSet,
                    policy: Policy, as_of: datetime, *,
                    suppressed_out: list[dict[str, str]] | None = None
                    ) -> tuple[list[Finding], list[WaiverStatus], int]:
    """Precedences (a finding another rule's kept, unwaived finding on the same case
    suppresses is dropped), waivers, and the sort by case and rule: (kept findings, waiver
    statuses, suppressed count). Shared by the local engine and the Dask engine's client.
    `suppressed_out`, where given, gets the findings suppressed (`suppressed_list`)."""
    ran = frozenset(r.code for r in rules)
    statuses = [WaiverStatus(w, codes=frozenset(r.code for r in ruleset.resolve(w.rule)),
                             expired=w.expires < as_of.date()) for w in policy.waivers]
    for status in statuses:
        status.not_run = status.codes.isdisjoint(ran)
    # A waived finding replaces nothing: a waiver accepts that finding, not the ones its
    # rule would replace (a waived duplicate-refund hid the case's refund-exceeds-charge and
    # its money at risk without a word).
    matching = waivers_of(statuses)
    live = [status for status in statuses if not status.expired]
    waived = ([any(not status.expired for status in matching(finding))
               for finding in findings] if live else None)
    dropped: list[tuple[Finding, str]] | None = [] if suppressed_out is not None else None
    kept = _precedences(findings, rules, waived, dropped)
    suppressed = len(findings) - len(kept)
    if suppressed_out is not None and dropped:
        suppressed_out.extend(suppressed_list(dropped, rules))
    # (each waiver's position in the policy, which findings.json's summary.waivers keeps:
    # the waiver a finding names as `waived_by`)
    position = {id(status): k for k, status in enumerate(statuses)}
    for finding in kept if statuses else ():
        for status in matching(finding):
            if status.expired:
                continue
            if finding.waived:
                status.overlapped += 1
                continue
            status.matched += 1
            w = status.waiver
            finding.waived = True
            finding.waived_by = position[id(status)]
            finding.waiver_reason = (f"{w.reason} (approved by {w.approved_by}, "
                                     f"expires {w.expires.isoformat()})")
    # An expired waiver waives nothing; what it no longer waives is counted, for the
    # warning that names it (CheckRun.expired_waivers_told): its findings are open now.
    # Each such finding names the expired waivers on its own row (`waiver_expired`): before,
    # only the Summary's waiver table and the warning did, and a reader filtering the
    # findings could not see that a finding reported open had been waived, nor by whom.
    if any(status.expired for status in statuses):
        for finding in kept:
            if not finding.waived:
                lapsed = [status for status in matching(finding) if status.expired]
                for status in lapsed:
                    status.lapsed += 1
                if lapsed:
                    finding.waiver_expired = "; ".join(
                        f"{s.waiver.reason} (approved by {s.waiver.approved_by}, "
                        f"expired {s.waiver.expires.isoformat()})"
                        for s in lapsed)  # (in the policy's order, as `matching` gives them)
    # By case, then rule: two stable sorts, by rule and then by case, order them so (and
    # equal findings as they came), with keys compared as texts, not tuples (the findings
    # come grouped by rule: 235,008 at 1M cases, 0.74-0.89 -> 0.43-0.59 s).
    kept.sort(key=_rule)
    kept.sort(key=_case)
    return kept, statuses, suppressed


def suppressed_list(dropped: list[tuple[Finding, str]], rules: Sequence[Rule]
                    ) -> list[dict[str, str]]:
    """The findings precedence dropped, each {rule, case_id, fingerprint, suppressed_by: the
    suppressing rule's code}, by case, rule and fingerprint (as findings.json lists them:
    the same for the same findings, whatever the engine). The case is `case_id`, as a
    finding names it (an earlier version wrote `case`, which `diff` still reads)."""
    code_of = {r.name: r.code for r in rules}
    out = [{"rule": f.rule, "case_id": f.case_id, "fingerprint": f.fingerprint,
            "suppressed_by": code_of.get(by, by)} for f, by in dropped]
    out.sort(key=lambda e: (e["case_id"], e["rule"], e["fingerprint"]))
    return out


def side_facts(facts: CaseFacts, rules: Sequence[Rule],
               crashed: Collection[str] = ()) -> dict[str, object]:
    """What check tells beside the findings, read off the rules' own facts (the events in
    the order the rules sorted them, each with its case's channel): "case_channel", every
    case's channel (`CaseFacts.channel_of_cases`: what the report shows and draws a case
    against); "unrecorded_roles" where unauthorized-performer ran and did not crash (its
    code not in `crashed`: the run's error tells of it): the events it could not judge,
    `sd004_unauthorized_performer.unrecorded_roles`, and "unrecorded_nobody", those of
    them naming no person; likewise "unrecorded_approvals" and "unrecorded_approvals_nobody"
    where unauthorized-approver ran and did not crash (`ap004_unauthorized_approver.
    unrecorded_approvals`); "unjudged_cases", per rule of those two that ran and did not
    crash, per reason (`ROLE_NOT_RECORDED`), the ids of the cases holding such events, and
    for outside-refund-window (EV008), where the policy sets a refund window, the granted
    refunds it could not measure (`NO_PURCHASE_BEFORE_REQUEST`), and for receipt-reused
    (DU002), where the log holds `evidence:receipt`, the cases holding a generic receipt, not
    compared (`RECEIPT_GENERIC`)
    (sorted, as `CaseFacts.case_ids`); "not_due_cases", per rule of `_not_due_rules` that
    ran and did not crash, the ids of the cases it did not judge yet, not due at the clock: as its
    check kept them (`CaseFacts.not_due`), else (it ran on other facts) computed again."""
    extra: dict[str, object] = {"case_channel": facts.channel_of_cases()}
    ran = {rule.code for rule in rules} - set(crashed)
    not_due = {code: facts.not_due[code] if code in facts.not_due else cases(facts)
               for code, cases in _not_due_rules().items() if code in ran}
    if not_due:
        extra["not_due_cases"] = not_due
    unjudged: dict[str, dict[str, list[object]]] = {}
    if any(rule.code == "SD004" for rule in rules) and "SD004" not in crashed:
        from audit.rules.duties.sd004_unauthorized_performer import unrecorded_role_cases

        extra["unrecorded_roles"], cases = unrecorded_role_cases(facts)
        unjudged["SD004"] = {ROLE_NOT_RECORDED: cases}
        if extra["unrecorded_roles"]:
            extra["unrecorded_nobody"] = unrecorded_role_cases(facts, nobody=True)[0]
    if any(rule.code == "AP004" for rule in rules) and "AP004" not in crashed:
        from audit.rules.approvals.ap004_unauthorized_approver import (
            unrecorded_approval_cases,
        )

        extra["unrecorded_approvals"], cases = unrecorded_approval_cases(facts)
        unjudged["AP004"] = {ROLE_NOT_RECORDED: cases}
        if extra["unrecorded_approvals"]:
            extra["unrecorded_approvals_nobody"] = unrecorded_approval_cases(
                facts, nobody=True)[0]
    if any(rule.code == "EV008" for rule in rules) and "EV008" not in crashed:
        from audit.rules.evidence.ev008_outside_refund_window import (
            NO_PURCHASE_BEFORE_REQUEST,
        )
        from audit.rules.evidence.ev008_outside_refund_window import (
            unjudged_cases as ev008_unjudged,
        )

        if facts.policy.refund_window:  # (without a window it judges nothing)
            unjudged["EV008"] = {NO_PURCHASE_BEFORE_REQUEST: ev008_unjudged(facts)}
    if any(rule.code == "DU002" for rule in rules) and "DU002" not in crashed:
        from audit.rules.duplicates.du002_receipt_reused import RECEIPT, RECEIPT_GENERIC
        from audit.rules.duplicates.du002_receipt_reused import (
            unjudged_cases as du002_unjudged,
        )

        if facts.has(RECEIPT):  # (without the item it compares nothing)
            unjudged["DU002"] = {RECEIPT_GENERIC: du002_unjudged(facts)}
    if unjudged:
        extra["unjudged_cases"] = unjudged
    return extra


ROLE_NOT_RECORDED = "role_not_recorded"
"""The reason in findings.json's `unjudged_cases` (per rule code, per reason, the ids of
the cases holding events the rule could not judge) of unauthorized-approver's and
unauthorized-performer's: an event whose role (`org:role`) is not recorded, none or blank."""


def _not_due_rules() -> dict[str, Callable[[CaseFacts], list[object]]]:
    """The rules that leave a case for a later clock, not due yet at this one (a finding a
    later run reports on it is no fix undone: this run did not judge it), each with the
    function naming those cases: missing-evidence (a refund not decided or in progress),
    missing-second-approval (approved and not paid), approved-not-paid (approved and not
    paid, its grace not over)."""
    from audit.rules.approvals.ap003_missing_second_approval import not_due_cases as ap003
    from audit.rules.evidence.ev001_missing_evidence import not_due_cases as ev001
    from audit.rules.evidence.ev003_approved_not_paid import not_due_cases as ev003

    return {"AP003": ap003, "EV001": ev001, "EV003": ev003}


FORK_RULES_FROM = 200_000
"""Events from which `run_rules` runs the rules in two processes (where processes fork)."""

@gc_paused  # millions of per-case objects and findings, none in cycles (audit.gcpause)
def run_rules(log: pd.DataFrame, policy: Policy, ruleset: RuleSet, *,
              as_of: datetime, left_out: tuple[dict[str, int], int] | None = None
              ) -> AuditResult:
    """Run the policy's rules over a canonical log as it stood at `as_of`, as `check` judges
    it: its completions dated at or before `as_of` (`canonical.at_clock`, the cut `check`
    makes); the events left out are counted in the result (`not_judged`, `after_clock`),
    and `cases` and `events` count those judged.

    With at least FORK_RULES_FROM events, where processes fork, a forked copy of this
    process runs rules beside this one (see `_in_two`); the findings are the same, in the
    same order, as one after another.

    `left_out`: `log` is cut at `as_of` already (`canonical.at_clock`, as `check` cuts it
    before the rules, to refuse a run judging nothing), and these are the counts the cut
    left out (`not_judged`, `after_clock`): the log is not compared with the clock again
    (0.025 s at 1M cases)."""
    log, not_judged, after_clock = (C.at_clock(log, as_of) if left_out is None
                                    else (log, *left_out))
    facts = CaseFacts(log, policy, as_of)
    rules = selected_rules(ruleset, policy)
    facts.running = frozenset(rule.code for rule in rules)
    overrides = _severity_overrides(ruleset, policy)
    outcomes = (_in_two(facts, rules, overrides)
                if len(rules) > 1 and facts.n_events >= FORK_RULES_FROM and can_fork()
                else None)
    if outcomes is None:
        outcomes = {}
        # After each rule, the cached columns no later rule reads are dropped
        # (audit.rules.reads).
        for i, still_read in enumerate(kept_after(rules, READS)):
            outcomes[i] = _outcome(rules[i], facts, overrides, still_read)
    # The evidence graphs, read by no one after the rules: freed now, by reference counts,
    # not left to the collector's next run (300k objects at 1M cases).
    facts.release_graphs()
    findings = [f for i in range(len(rules)) for f in outcomes[i][0]]
    errors = [e for i in range(len(rules)) if (e := outcomes[i][1]) is not None]

    listed: list[dict[str, str]] = []
    kept, statuses, suppressed = finish_findings(findings, rules, ruleset, policy, as_of,
                                                 suppressed_out=listed)
    extra: dict[str, object] = side_facts(facts, rules, {e.rule for e in errors})
    if facts.conformance_computed:
        extra["conformance"] = facts.conformance.summary()
        # The per-case deviations, for the report's SOP overlay (not written to JSON).
        extra["conformance_result"] = facts.conformance
    return AuditResult(findings=kept, errors=errors, waivers=statuses, rules=rules,
                       suppressed=suppressed, as_of=as_of, cases=facts.n_cases,
                       events=facts.n_events, extra=extra, severities=overrides,
                       suppressed_findings=listed, not_judged=not_judged,
                       after_clock=after_clock)
