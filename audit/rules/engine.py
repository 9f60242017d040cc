"""Running the selected rules: errors kept apart, precedences and waivers applied."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from audit.findings import Finding
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

    def matches(self, finding: Finding) -> bool:
        w = self.waiver
        if finding.rule not in self.codes:
            return False
        if w.fingerprint is not None:
            return w.fingerprint == finding.fingerprint
        return w.case == finding.case_id

    @property
    def status(self) -> str:
        if self.expired:
            return "expired"
        return "used" if self.matched else "never matched"


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


def selected_rules(ruleset: RuleSet, policy: Policy) -> list[Rule]:
    return ruleset.select(policy.select, policy.ignore)


def _severity_overrides(ruleset: RuleSet, policy: Policy) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for ref, severity in policy.severity.items():
        for rule in ruleset.resolve(ref):
            overrides[rule.code] = severity
    return overrides


def finish_findings(findings: list[Finding], rules: Sequence[Rule], ruleset: RuleSet,
                    policy: Policy, as_of: datetime
                    ) -> tuple[list[Finding], list[WaiverStatus], int]:
    """Precedences (a finding another rule's finding on the same case suppresses is dropped),
    waivers, and the sort by case and rule: (kept findings, waiver statuses, suppressed count).
    Shared by the local engine and the Dask engine's client."""
    by_name = {r.name: r for r in rules}
    names_per_case: dict[str, set[str]] = {}
    for finding in findings:
        names_per_case.setdefault(finding.case_id, set()).add(finding.name)
    kept = []
    for finding in findings:
        present = names_per_case[finding.case_id]
        if any(finding.name in by_name[other].suppresses for other in present
               if other != finding.name):
            continue
        kept.append(finding)
    suppressed = len(findings) - len(kept)

    statuses = [WaiverStatus(w, codes=frozenset(r.code for r in ruleset.resolve(w.rule)),
                             expired=w.expires < as_of.date()) for w in policy.waivers]
    for finding in kept:
        for status in statuses:
            if status.expired or not status.matches(finding):
                continue
            status.matched += 1
            w = status.waiver
            finding.waived = True
            finding.waiver_reason = (f"{w.reason} (approved by {w.approved_by}, "
                                     f"expires {w.expires.isoformat()})")
            break
    kept.sort(key=lambda f: (f.case_id, f.rule))
    return kept, statuses, suppressed


@gc_paused  # millions of per-case objects and findings, none in cycles (audit.gcpause)
def run_rules(log: pd.DataFrame, policy: Policy, ruleset: RuleSet, *,
              as_of: datetime) -> AuditResult:
    """Run the policy's rules over a canonical log."""
    facts = CaseFacts(log, policy, as_of)
    rules = selected_rules(ruleset, policy)
    overrides = _severity_overrides(ruleset, policy)
    findings: list[Finding] = []
    errors: list[RuleError] = []
    # After each rule, the cached columns no later rule reads are dropped (audit.rules.reads).
    keep = kept_after(rules, READS)
    for rule, still_read in zip(rules, keep, strict=True):
        try:
            produced = list(rule.check(facts))
        except Exception as exc:  # a crashed rule is recorded, and makes the run fail
            errors.append(RuleError(rule.code, rule.name, f"{type(exc).__name__}: {exc}",
                                    traceback.format_exc()))
            continue
        for finding in produced:
            finding.severity = overrides.get(rule.code, finding.severity)
        findings.extend(produced)
        if still_read is not None:
            facts.keep_only(still_read)
        # The rule's temporaries, freed, handed back before the next rule (glibc keeps
        # freed blocks in its heap: at 1M cases 0.3 GB more held by the last rules).
        return_free_memory()

    kept, statuses, suppressed = finish_findings(findings, rules, ruleset, policy, as_of)
    extra: dict[str, object] = {}
    if facts.conformance_computed:
        extra["conformance"] = facts.conformance.summary()
        # The per-case deviations, for the report's SOP overlay (not written to JSON).
        extra["conformance_result"] = facts.conformance
    return AuditResult(findings=kept, errors=errors, waivers=statuses, rules=rules,
                       suppressed=suppressed, as_of=as_of, cases=facts.n_cases,
                       events=facts.n_events, extra=extra)
