"""`refund-audit diff OLD NEW`: what changed between two audit runs (their findings.json).

Findings are matched by their fingerprint (`audit.findings.fingerprint`: the rule's name, the
case and the events), and each is put in one class (`CLASSES`):

- ``new``: in NEW only, its rule ran in OLD too, OLD did not suppress it (a skipped-activity
  or unfit-case finding of a case running at OLD's clock, findings.json `running_cases`, says
  so: OLD did not judge the tasks after its last event, not due then; so does a
  missing-evidence, missing-second-approval or approved-not-paid finding of a case OLD left
  for a later clock, findings.json `not_due_cases`: not paid, not decided, or within its
  grace, then; so does an unauthorized-approver or -performer finding of a case OLD could
  not judge for that rule, findings.json `unjudged_cases`: a role not recorded);
- ``still_open``: in both (where its amount, currency, severity, time, message or evidence
  differ, its changes listed: `Row.old`; where the clock moving alone explains them, a
  wait measured to the later clock, aged only: `aged_only`);
- ``changed``: still open, with other events or evidence: a finding of OLD that NEW does not
  report (it would be resolved) paired with one of NEW that OLD did not (it would be new) of
  the same rule and case (a fingerprint names the events: a case that went on since OLD's
  clock, a late payout an SLA breach now cites, gives its finding another one). One to one:
  first those sharing most events, then in the order of their time and fingerprint
  (`_paired`); the unpaired stay resolved or new;
- ``resolved``: in OLD only, and NEW judged it again: its rule ran in NEW, its case is among
  NEW's judged cases (findings.json `judged_cases`), its event is not dated after NEW's
  clock, and NEW reports no finding of its rule in its case left unpaired;
- ``not_rejudged``: in OLD only, but NEW did not audit it: its case is not among NEW's judged
  cases (out of NEW's period, or not in its inputs), or the event that showed it is dated
  after NEW's clock, or NEW left its case for a later clock (`not_due_cases`), or NEW
  could not judge some events of its case for its rule (`unjudged_cases`, by case: "not
  judged in full: its approver's role is not recorded in NEW for some of its case's events,
  perhaps the one this finding cites ..."). Not resolved: nothing says it was;
- ``not_comparable``: in one run only, and its rule did not run in the other (the policies'
  `rules.select`/`ignore` differ, or it crashed there): neither new nor resolved;
- ``suppressed_in_new``: in OLD only, and NEW found it but suppressed it by precedence (another
  finding of its case reported in its place, findings.json `suppressed`): not resolved;
- ``suppressed_in_old``: in NEW only, and OLD had found it and suppressed it: not new.

Of the findings in both (still open or changed), those waived in one run only are told (a
waiver added, a waiver ended: expired, removed or no longer matching; each finding's waiver
named with its reason, approver and expiry, `AuditRun.waiver_of`); a changed finding OLD
waived by a waiver naming its old fingerprint, which NEW does not waive, is told apart
(`waiver_on_old_fingerprint`): that waiver no longer matches it and must be approved
again. The money at risk is bridged case by case from OLD's total to NEW's
(`RunDiff.money_bridge`). A rule whose logic version (findings.json
`manifest.rule_versions`, `Rule.logic_version`) differs between the runs, or is not recorded
in one (format 2 or 3: "unknown"), is told: its new, resolved and changed findings may come
from the rule's change, not from the refunds (`RunDiff.versions`, `rule_change_told`). So
is a change of how the runs order a case's events at one time (findings.json
`manifest.event_order`, `EVENT_ORDER_VERSION`: `RunDiff.event_order`, `order_change_told`).
A findings.json whose findings disagree with its own summary or fingerprints is refused
(`_agrees`). Pure: reading and checking the two documents, and the
diff; `audit.cli.diff` writes the files.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, TypedDict

import msgspec

from audit.currency import NO_CURRENCY, currency_key, decimals, rounded, shown
from audit.errors import InputError
from audit.findings import (
    DURATION_EVIDENCE,
    EVENT_ORDER_VERSION,
    FINDINGS_FORMAT,
    OLDEST_FINDINGS_FORMAT,
    RULE_VERSIONS_FORMAT,
    SEVERITIES,
    STAGE_DURATIONS,
    copy_fingerprint_of,
    fingerprint,
    severity_rank,
)
from audit.gcpause import gc_paused
from audit.rules.base import FAMILIES
from audit.words import cut_middle

DIFF_FORMAT = 2
"""The format of diff.json (its `format_version`). `summary.worse_in_new` and each finding's
`worse_in_new` (`WORSE_IN_NEW`) were added within format 1, as diff.csv's last column: a
reader of format 1 that does not know them misreads nothing. Format 2 (2026-12-07, with
findings.json's format 3): the findings' evidence durations are ISO 8601 on both sides
(`"P63DT16H11M"`, an older run's pandas text read so), where format 1 wrote pandas' text.
Within format 2 (with findings.json's format 4), the runs' `rule_versions`,
`summary.rule_changes` and each finding's `rule_version_change` were added (diff.csv's
last column): a reader of format 2 that does not know them misreads nothing. The runs'
`event_order` and `summary.event_order_change` were added within format 2 too, and so was
`summary.run_id_change` (the parts of the two run ids that differ; its `not_recorded`, the
parts neither run records, once in `same`), and `summary.waived_per_class`,
`summary.not_comparable_by_run` and each rule's `waived` and `not_comparable_by_run` in
`summary.by_rule` (the same day's `waived_in_new`, a name the money bridge's closed reason
has, renamed before a release)."""

DIFF_FILES = ("diff.json", "diff.csv", "SHA256SUMS")
"""The files `diff` writes into --out."""

CLASSES = ("new", "still_open", "changed", "resolved", "not_rejudged", "not_comparable",
           "suppressed_in_new", "suppressed_in_old")
"""The classes of a finding in a diff, in the order the summary lists them."""

CLASS_WORDS = {"new": "new", "still_open": "still open", "changed": "changed",
               "resolved": "resolved",
               "not_rejudged": "not re-judged", "not_comparable": "not comparable",
               "suppressed_in_new": "suppressed in NEW", "suppressed_in_old": "suppressed in OLD"}
"""Each class as the console names it."""

NEW_CLASSES = ("new", "still_open", "changed", "suppressed_in_old", "not_comparable")
"""The classes holding NEW's findings (`not_comparable` in part: where its rule ran in NEW
only), of which `RunDiff.waived_per_class` counts those NEW waives."""

OLD_CLASSES = ("still_open", "changed", "resolved", "not_rejudged", "suppressed_in_new",
               "not_comparable")
"""The classes holding OLD's findings (still open and changed: NEW's too; `not_comparable`
in part: where its rule ran in OLD only), of which `RunDiff.waived_per_class` counts those
OLD waived: a finding in both runs waived in both is counted in NEW's and in OLD's, so each
run's findings as its check counts them follow from the summary alone."""

MONEY_CLASSES = ("new", "still_open", "changed", "resolved", "not_rejudged")
"""The classes whose money at risk the diff sums: of the first three NEW's findings (those
NEW does not waive), of the last two OLD's (those OLD did not waive)."""

MONEY_DEFINITION = (
    "per currency, the sum over cases of each case's largest amount at risk among its "
    "findings of the class that NEW does not waive (resolved and not re-judged: OLD's "
    "findings, that OLD did not waive), as check sums it: never summed across "
    "currencies; a case with findings of two classes counts in each, so the classes' sums do "
    "not add up to NEW's total (money_bridge does)")

BRIDGE_DEFINITION = (
    "per currency, OLD's money at risk and NEW's as their checks summed them (each case its "
    "largest open amount), and case by case what takes one to the other: opened, the NEW "
    "amount of each case at risk in NEW only; closed, the OLD amount of each case at risk in "
    "OLD only; increased and decreased, the change of a case at risk in both. Each opened "
    "or closed case counted once, under the first of its findings' reasons in this order: "
    "opened not_comparable, suppressed_in_old, waiver_ended, amount_changed (a finding in "
    "both that had no amount, or another currency, in OLD), changed, new; closed "
    "not_rejudged, not_comparable, suppressed_in_new, waived_in_new, amount_changed, "
    "changed, resolved. OLD + opened - closed + increased - decreased = NEW")

OPENED_WHY = ("not_comparable", "suppressed_in_old", "waiver_ended", "amount_changed",
              "changed", "still_open", "new")
CLOSED_WHY = ("not_rejudged", "not_comparable", "suppressed_in_new", "waived_in_new",
              "amount_changed", "changed", "still_open", "resolved")
"""The reasons a case's money was opened or closed, the first that applies to one of its
findings counting (`RunDiff.money_bridge`)."""

CSV_COLUMNS = ("class", "reason", "waiver_change", "waiver_ended", "waiver_reason",
               "waiver_approved_by", "waiver_expires", "rule", "name", "severity", "case_id",
               "channel", "fingerprint", "old_fingerprint", "amount_at_risk", "currency",
               "old_waived", "new_waived", "timestamp", "message", "changes", "aged_only",
               "old_amount_at_risk", "old_events", "events", "old_message", "worse_in_new",
               "rule_version_change")
"""The columns of diff.csv, one row per finding (old_fingerprint, changes and the old_*
columns: of a changed finding only; rule_version_change, "1 -> 2" or "unknown -> 1", of a
finding whose rule's logic version differs between the runs or is not recorded in one:
`RunDiff.versions`)."""

RULE_CHANGE_CLASSES = ("new", "resolved", "changed", "still_open_with_changes")
"""The findings of a rule whose logic version differs between the runs (or is not recorded
in one) that may come from the rule's change, not from the refunds: their reason says so
and `RunDiff.rule_changes` counts them (a still-open one: with changes other than the
clock's, `Row.told_changes`)."""

WORSE_IN_NEW = ("new", "waiver_ended", "severity_rose")
"""Why a finding NEW reports open is worse than in OLD (`Row.worse`), what `diff --fail-on`
gates on: ``new``, a new finding NEW does not waive; ``waiver_ended``, a still-open or
changed finding OLD waived and NEW does not (expired, removed, no longer matching, or
naming its old fingerprint): open again; ``severity_rose``, a still-open or changed finding
open in both whose severity is higher in NEW. Never a finding NEW waives, one in OLD only,
nor one neither new nor resolved (not comparable, suppressed in OLD: its case reported in
OLD by another finding), nor one still open as it was."""

WAIVER_CHANGES = ("waiver_added", "waiver_ended", "waiver_on_old_fingerprint")
"""The waiver changes the diff tells, in the order the summary lists them."""

COMPARED = ("event_ids", "amount_at_risk", "currency", "severity", "timestamp", "message",
            "evidence")
"""The fields of a changed finding's two versions the diff compares (`Row.differs`)."""

_FINDING_FIELDS: dict[str, tuple[type, ...]] = {
    "fingerprint": (str,), "rule": (str,), "name": (str,), "severity": (str,),
    "case_id": (str,), "waived": (bool,), "channel": (str,), "message": (str,),
    "timestamp": (str, type(None)), "currency": (str, type(None)),
    "amount_at_risk": (int, float, type(None)), "waiver_reason": (str, type(None)),
    "event_ids": (list,),
}
"""The fields of a finding the diff reads, with the types findings.json holds them in."""

CURRENCY_CODE = re.compile("[A-Z]{3}")
"""A finding's currency as check writes it (the canonical log's: `canonical.CURRENCY`, an
ISO 4217 code's form), else null; matched whole (`fullmatch`)."""


@dataclass(frozen=True)
class AuditRun:
    """One run as the diff reads it: its findings.json, checked."""

    which: str
    """"OLD" or "NEW": the argument that named it (and the field its errors name)."""
    folder: Path
    path: Path
    """Its findings.json."""
    sha256: str
    """Of findings.json's bytes."""
    manifest: dict[str, Any]
    as_of: datetime
    findings: list[dict[str, Any]]
    suppressed: dict[str, str]
    """Fingerprint of each finding precedence suppressed -> the rule it was suppressed by."""
    judged: frozenset[str]
    """The ids of the cases the rules judged."""
    rules_ran: frozenset[str]
    """The codes of the rules that ran (selected, and did not crash)."""
    rule_names: dict[str, str]
    waiver_prints: frozenset[str]
    """The fingerprints its policy's waivers name (summary.waivers)."""
    checksum_told: str | None
    """A warning where the folder's SHA256SUMS lists findings.json with another sha256."""
    money: dict[str, float] = field(default_factory=dict)
    """Its money at risk per currency as its check summed it (summary.money_at_risk), which
    its open findings sum to (`_ties_out`)."""
    waivers: tuple[dict[str, Any], ...] = ()
    """Its policy's waivers as its summary lists them (summary.waivers): rule, case,
    fingerprint, status, expires, reason, approved_by."""
    running: frozenset[str] = frozenset()
    """The ids of the cases running at its clock (findings.json `running_cases`): the SOP
    tasks after their last event were not due then (`RUNNING_RULES`)."""
    not_due: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per rule code, the ids of the cases that rule did not judge yet at its clock, not
    due then (findings.json `not_due_cases`: missing-evidence's refunds not decided or in
    progress, missing-second-approval's approved and not paid, approved-not-paid's approved
    and not paid within the grace; none rejected since: a standing rejection settles a
    case); none of a findings.json
    before it was written."""
    unjudged: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    """Per rule code, per reason, the ids of the cases holding events that rule could not
    judge (findings.json `unjudged_cases`: unauthorized-approver's approvals and
    unauthorized-performer's tasks whose role is not recorded, `role_not_recorded`); none
    of a findings.json before it was written."""
    rule_versions: dict[str, int] | None = None
    """Per rule code of `manifest.rules`, its logic version (`manifest.rule_versions`,
    `Rule.logic_version`); None of a findings.json before format 4, which does not record
    them (each "unknown": `version_of`)."""
    unconfigured: dict[str, str] = field(default_factory=dict)
    """Per code of a rule that ran but judged no case, the policy setting nothing it judges
    by (findings.json `summary.by_rule.<code>.note`, `Rule.not_configured`: "not
    configured: the policy sets no refund_window"); none of a findings.json before it was
    written."""

    def version_of(self, rule: str) -> int | str:
        """The logic version of `rule` in this run, "unknown" where findings.json does not
        record it (a format before 4)."""
        if self.rule_versions is None:
            return UNKNOWN_VERSION
        return self.rule_versions.get(rule, UNKNOWN_VERSION)

    @property
    def event_order(self) -> int:
        """How its check ordered a case's events at one time (`manifest.event_order`,
        `EVENT_ORDER_VERSION`; 1 where not recorded: a findings.json written before it)."""
        return int(self.manifest.get("event_order", 1))

    def unjudged_reason(self, rule: str, case: str) -> str | None:
        """The first reason (in `unjudged`'s order) for which `rule` could not judge events
        of `case` in this run, None where it judged them all."""
        return next((reason for reason, cases in self.unjudged.get(rule, {}).items()
                     if case in cases), None)

    def waiver_of(self, finding: dict[str, Any]) -> dict[str, Any] | None:
        """The waiver of the policy that waived `finding`: the one its `waived_by` names
        (its position in summary.waivers, checked by `_checked`), where findings.json
        says; else, of a findings.json before `waived_by` was written, the one inferred:
        naming it (its fingerprint, or the copy fingerprint, or its case; its rule by code,
        name or pattern; a family the policy names it by is not told from the waivers as
        summary.waivers lists them), the first in the policy's order as check applies
        them, one it used first; None where none does."""
        if "waived_by" in finding:
            at = finding["waived_by"]
            return None if at is None else self.waivers[at]
        prints = {finding["fingerprint"], copy_fingerprint_of(
            finding["name"], finding["case_id"], finding["event_ids"])}
        prints.discard(None)
        named = [w for w in self.waivers if (w.get("fingerprint") in prints)
                 or (w.get("fingerprint") is None and w.get("case") == finding["case_id"])]
        for_rule = [w for w in named if _names_rule(w.get("rule"), finding)] or named
        used = [w for w in for_rule if w.get("status") == "used"]
        chosen = used or for_rule
        return chosen[0] if chosen else None

    def identity(self) -> dict[str, Any]:
        """What names the run in diff.json: folder, file, clock, digests."""
        manifest = self.manifest
        return {
            "folder": str(self.folder), "findings_json": str(self.path),
            # (the run id its check recorded, `audit.runid`, which report.html and
            # findings.xlsx show: null for a findings.json before run ids)
            "run_id": manifest.get("run_id"),
            "findings_json_sha256": self.sha256,
            "manifest_sha256": hashlib.sha256(json.dumps(
                manifest, sort_keys=True, ensure_ascii=False).encode("utf-8",
                                                                     "surrogatepass")
                                              ).hexdigest(),
            "as_of": self.as_of.isoformat(), "started": manifest.get("started"),
            "version": manifest.get("version"), "format_version": manifest["format_version"],
            "policy": manifest["policy"], "sop": manifest["sop"],
            "inputs": [{"file": i.get("file"), "sha256": i.get("sha256")}
                       for i in manifest.get("inputs") or [] if isinstance(i, dict)],
            "rules": sorted(self.rules_ran), "rule_versions": self.rule_versions,
            "event_order": self.event_order,
            "findings": len(self.findings),
            "judged_cases": len(self.judged), "running_cases": len(self.running),
        }


class _Finding(TypedDict, total=False):
    """A finding of findings.json as `load_run` decodes it: the fields the diff reads
    (`_FINDING_FIELDS`), compares (`evidence`) and checks (`waived_by`) only, not its
    activities, resources, sources... Typed Any: `_checked` checks each as before."""

    fingerprint: Any
    rule: Any
    name: Any
    severity: Any
    case_id: Any
    waived: Any
    channel: Any
    message: Any
    timestamp: Any
    currency: Any
    amount_at_risk: Any
    waiver_reason: Any
    event_ids: Any
    evidence: Any
    waived_by: Any


class _Document(TypedDict, total=False):
    """A findings.json as `load_run` decodes it: the keys `_checked` reads (those of
    another command's output it names included), its findings as `_Finding`."""

    manifest: Any
    summary: Any
    findings: list[_Finding]
    suppressed: Any
    judged_cases: Any
    running_cases: Any
    not_due_cases: Any
    unjudged_cases: Any
    tool: Any
    miner: Any
    as_is: Any
    quarantine_file: Any
    old: Any
    new: Any
    format_version: Any


_DECODER = msgspec.json.Decoder(_Document)
"""findings.json's decoder: from its bytes (no text of the whole file made first), only what
the diff reads kept: a run of 258k findings read in 470 MiB, not 780 (and 4 s, not 4.7),
its transient peak 170 MiB above, not 450 (docs/performance.md)."""


def findings_path(given: Path, which: str) -> tuple[Path, Path]:
    """(the run folder, its findings.json) of OLD or NEW as given: a run folder or its
    findings.json."""
    if given.is_dir():
        path = given / "findings.json"
        if not path.is_file():
            raise InputError(_not_a_run(given), file=given, field=which)
        return given, path
    if not given.exists():
        raise InputError("no such run folder or file", file=given, field=which)
    return given.parent, given


OUTPUTS_OF_OTHERS = (("discovery.json", "a discover output folder"),
                     ("compare.json", "a compare output folder"),
                     ("diff.json", "a diff output folder"))
"""A file another command writes into its --out, and what a folder holding it is."""


def _not_a_run(folder: Path) -> str:
    """Why `folder`, given as a run, is none: another command's output folder, or a check's
    written without json (--format csv), or no run at all."""
    for name, what in OUTPUTS_OF_OTHERS:
        if (folder / name).is_file():
            return (f"{what} ({name}), not a check run: diff compares two check runs' "
                    "findings.json")
    if (folder / "findings.csv").is_file() or (folder / "findings.xlsx").is_file():
        return ("a check run written without findings.json (check --format without json): "
                "diff reads findings.json; run that check again with --format json")
    return ("not a run folder: it holds no findings.json (refund-audit check --out DIR "
            "--format json writes one)")


@gc_paused  # (millions of dicts, lists and rows, none in cycles: audit.gcpause)
def load_run(given: Path, which: str, read: list[bytes] | None = None) -> AuditRun:
    """OLD or NEW read and checked: an InputError naming the file and the field where its
    findings.json is not one of a check of a format it reads (`OLDEST_FINDINGS_FORMAT` to
    `FINDINGS_FORMAT`). `read`, where given, holds the findings.json's bytes as the caller
    read them (`audit.verify`'s, bounded), not read again: taken out of it (the list left
    empty), so that no reference to them is left while the document is checked."""
    folder, path = findings_path(given, which)
    data = read.pop() if read else None
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read it: {exc.strerror or exc}", file=path,
                             field=which) from exc
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        document: Any = _DECODER.decode(data)
    except msgspec.DecodeError:  # (not JSON, or not of a findings.json's shape: json's
        # reading, and the errors in its words, as `_checked` names them)
        document = _json_document(data, path, which)
        _refuse_lone_surrogates(document, path)
    except RecursionError:  # (a value nested past the stack, read or skipped by msgspec)
        raise InputError(_NESTED, file=path, field=which) from None
    del data  # (the bytes are no longer needed while the document is checked)
    return _checked(document, folder, path, which, sha256)


_NESTED = "not a findings.json of refund-audit check: nested too deeply to be read"
"""A findings.json holding a value nested past Python's stack (check writes none deeper
than a few levels): msgspec and json both recurse, and a RecursionError was an internal
error of diff, with its traceback."""


def _json_document(data: bytes, path: Path, which: str) -> Any:
    """`data` read by json, of a findings.json msgspec did not decode: the document, where
    json reads what msgspec does not (a lone surrogate escaped in a text, a number too large
    for a float: refused when checked; a lone surrogate in a field diff reads: refused by
    `_refuse_lone_surrogates`); else the InputError in json's words, naming the
    line and column."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise InputError(_NESTED, file=path, field=which) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not a findings.json of refund-audit check: not UTF-8 text (byte "
                         f"{exc.start})", file=path, field=which) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg} (column {exc.colno})", file=path,
                         line=exc.lineno) from exc
    except ValueError as exc:  # (NaN, Infinity: no findings.json holds them)
        raise InputError(f"not JSON: {exc}", file=path) from exc


def _refuse_lone_surrogates(document: Any, path: Path) -> None:
    """An InputError naming the first text of the keys diff reads (`_Document`, its findings'
    `_Finding`) that json decoded into a lone surrogate (an escape such as \\ud800, half a
    character, which check never writes: the import refuses it): diff.json and diff.csv
    could not hold it, and writing them failed with a traceback. Another field's (a
    finding's resources) is dropped unread, as msgspec's reading drops it."""
    from audit.ingest.jsontext import lone_surrogate
    from audit.ingest.jsontext import shown as escaped

    if not isinstance(document, dict):
        return
    found = lone_surrogate({k: v for k, v in document.items()
                            if k in _Document.__annotations__ and k != "findings"})
    findings = document.get("findings")
    for number, finding in enumerate(findings if isinstance(findings, list) else ()):
        if found is not None:
            break
        if isinstance(finding, dict):
            found = lone_surrogate({k: v for k, v in finding.items()
                                    if k in _Finding.__annotations__}, f"findings[{number}]")
    if found is not None:
        where, text = found
        raise InputError(f"a text holds a lone UTF-16 surrogate ('{escaped(text)[:80]}'): an "
                         "escape such as \\ud800 that is half of a character, which no check "
                         "writes; the file is corrupt or edited here", file=path,
                         field=where or None)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is no JSON value")


def _checked(document: Any, folder: Path, path: Path, which: str, sha256: str) -> AuditRun:
    def fail(field: str, message: str) -> InputError:
        return InputError(message, file=path, field=field)

    if not isinstance(document, dict):
        raise fail("(document)", "not a findings.json of refund-audit check: not an object")
    manifest = document.get("manifest")
    if not isinstance(manifest, dict) and document.get("tool") == "refund-audit":
        what = ("a discover output (discovery.json)" if "miner" in document else
                "a compare output (compare.json)" if "as_is" in document else
                "an import's record" if "quarantine_file" in document else
                "another command's output")
        raise fail("(document)", f"{what}, not a check run: diff compares two check runs' "
                   "findings.json")
    if not isinstance(manifest, dict) and isinstance(document.get("old"), dict) and \
            isinstance(document.get("new"), dict) and "format_version" in document:
        raise fail("(document)", "a diff output (diff.json), not a check run: diff compares "
                   "two check runs' findings.json")
    if not isinstance(manifest, dict) or manifest.get("tool") != "refund-audit":
        raise fail("manifest.tool", "not a findings.json of refund-audit check (its manifest "
                   "does not name the tool refund-audit)")
    version = manifest.get("format_version")
    if "format_version" not in manifest:
        raise fail("manifest.format_version", "missing: written by an older refund-audit "
                   f"(findings.json format 1, version {manifest.get('version')!r}), which does "
                   "not list the cases it judged; run that check again with this version")
    if type(version) is not int:
        raise fail("manifest.format_version", f"not a whole number: {version!r}")
    # (formats OLDEST_FINDINGS_FORMAT to FINDINGS_FORMAT: 2's pandas durations are read as
    # ISO ones on load, iso_evidence; neither form of `suppressed[].case` is read)
    read = (f"formats {OLDEST_FINDINGS_FORMAT} to {FINDINGS_FORMAT}"
            if OLDEST_FINDINGS_FORMAT < FINDINGS_FORMAT else f"format {FINDINGS_FORMAT}")
    if version > FINDINGS_FORMAT:
        raise fail("manifest.format_version", f"{version}: written by a newer refund-audit "
                   f"(this one reads {read}); diff it with that version")
    if version < OLDEST_FINDINGS_FORMAT:
        raise fail("manifest.format_version", f"{version}: written by an older refund-audit "
                   f"(this one reads {read}); run that check again with this version")
    as_of = _clock(manifest.get("as_of"), fail)
    for key in ("policy",):
        if not isinstance(manifest.get(key), dict):
            raise fail(f"manifest.{key}", "missing or not an object")
    if not isinstance(manifest.get("sop"), list):
        raise fail("manifest.sop", "missing or not a list")
    rules = _texts(manifest.get("rules"), "manifest.rules", fail)
    versions = _rule_versions(manifest, rules, version, fail)
    order = manifest.get("event_order", 1)
    if type(order) is not int or not 1 <= order <= EVENT_ORDER_VERSION:
        raise fail("manifest.event_order", f"not an order this refund-audit knows (1 to "
                   f"{EVENT_ORDER_VERSION}): {cut_middle(repr(order), 80)}")
    summary = document.get("summary")
    if not isinstance(summary, dict) or not isinstance(summary.get("by_rule"), dict):
        raise fail("summary.by_rule", "missing or not an object")
    by_rule = summary["by_rule"]
    names: dict[str, str] = {}
    ran = set()
    unconfigured: dict[str, str] = {}
    for code in rules:
        row = by_rule.get(code)
        if not isinstance(row, dict) or row.get("status") not in ("ran", "crashed") or \
                not isinstance(row.get("name"), str):
            raise fail(f"summary.by_rule.{code}", "missing, or without its name and status "
                       "(ran or crashed)")
        names[code] = row["name"]
        if row["status"] == "ran":
            ran.add(code)
            note = row.get("note")
            if note is not None:
                if not isinstance(note, str) or not note:
                    raise fail(f"summary.by_rule.{code}.note", "not a text")
                unconfigured[code] = note
    findings = document.get("findings")
    if not isinstance(findings, list):
        raise fail("findings", "missing or not a list")
    shared: dict[str, str] = {}
    for k, finding in enumerate(findings):
        if not isinstance(finding, dict):
            raise fail(f"findings[{k}]", "not an object")
        for name, types in _FINDING_FIELDS.items():
            if name not in finding:
                raise fail(f"findings[{k}].{name}", "missing")
            value = finding[name]
            if type(value) not in types or (type(value) is float and not math.isfinite(value)):
                raise fail(f"findings[{k}].{name}", f"not a {_kind(types)}: {value!r}"[:300])
        if not finding["fingerprint"]:
            raise fail(f"findings[{k}].fingerprint", "empty")
        for at, event in enumerate(finding["event_ids"]):
            if not isinstance(event, str):
                raise fail(f"findings[{k}].event_ids[{at}]", f"not a text: {event!r}"[:300])
        if isinstance(finding.get("evidence"), dict):
            finding["evidence"] = iso_evidence(finding["rule"], finding["evidence"])
        currency = finding["currency"]
        if currency is not None and not CURRENCY_CODE.fullmatch(currency):
            raise fail(f"findings[{k}].currency", "not a 3-letter currency code (ISO 4217 "
                       f"form, as check writes one) or null: {currency!r}"[:300])
        if finding["severity"] not in SEVERITIES:
            raise fail(f"findings[{k}].severity", f"unknown severity {finding['severity']!r}")
        if finding["rule"] not in names:
            raise fail(f"findings[{k}].rule", f"{finding['rule']!r} is not among the rules "
                       "the manifest says ran (manifest.rules)"[:300])
        for name in SHARED:
            value = finding[name]
            if value is not None:
                finding[name] = shared.setdefault(value, value)
    _agrees(findings, summary, names, fail)
    suppressed = document.get("suppressed")
    if not isinstance(suppressed, list):
        raise fail("suppressed", "missing or not a list")
    told: dict[str, str] = {}
    for k, entry in enumerate(suppressed):
        if not isinstance(entry, dict):
            raise fail(f"suppressed[{k}]", "not an object")
        for name in ("fingerprint", "suppressed_by"):
            if not isinstance(entry.get(name), str):
                raise fail(f"suppressed[{k}].{name}", "missing or not a text")
        told[entry["fingerprint"]] = entry["suppressed_by"]
    judged = frozenset(_texts(document.get("judged_cases"), "judged_cases", fail))
    for k, finding in enumerate(findings):
        if finding["case_id"] not in judged:
            raise fail("judged_cases", f"does not list case {finding['case_id']!r} of "
                       f"findings[{k}]: a check judges every case it reports on (edited "
                       "since the check wrote it)"[:300])
    running = _running(document, summary, fail)
    outside = next((case for case in running if case not in judged), None)
    if outside is not None:
        raise fail("running_cases", f"case {outside!r} is not among judged_cases: a case "
                   "running at the clock is one the check judged (edited since the check "
                   "wrote it)"[:300])
    waivers = summary.get("waivers")
    if not isinstance(waivers, list):
        raise fail("summary.waivers", "missing or not a list")
    prints = set()
    for k, entry in enumerate(waivers):
        if not isinstance(entry, dict):
            raise fail(f"summary.waivers[{k}]", "not an object")
        if "fingerprint" not in entry or type(entry["fingerprint"]) not in (str, type(None)):
            raise fail(f"summary.waivers[{k}].fingerprint", "missing (a text, or null where "
                       "the waiver names a case)" if "fingerprint" not in entry else
                       f"not a text or null: {entry['fingerprint']!r}"[:300])
        for name in ("rule", "case", "status", "expires", "reason", "approved_by"):
            if type(entry.get(name)) not in (str, type(None)):
                raise fail(f"summary.waivers[{k}].{name}", f"not a text or null: "
                           f"{entry.get(name)!r}"[:300])
        codes = entry.get("codes", [])
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise fail(f"summary.waivers[{k}].codes", f"not a list of rule codes: "
                       f"{codes!r}"[:300])
        if entry["fingerprint"] is not None:
            prints.add(entry["fingerprint"])
    _waived_by(findings, waivers, fail)
    money = summary.get("money_at_risk")
    if not isinstance(money, dict):
        raise fail("summary.money_at_risk", "missing or not an object")
    for key, value in money.items():
        if key != NO_CURRENCY and not CURRENCY_CODE.fullmatch(key):
            raise fail("summary.money_at_risk", f"{key!r} is not a 3-letter currency code "
                       f"(ISO 4217 form) nor {NO_CURRENCY!r}"[:300])
        if type(value) not in (int, float) or not math.isfinite(value):
            raise fail(f"summary.money_at_risk.{key}", f"not a number: {value!r}"[:300])
    _ties_out(findings, money, fail)
    return AuditRun(which, folder, path, sha256, manifest, as_of, findings, told,
                    judged, frozenset(ran), names, frozenset(prints),
                    _checksum_told(folder, path, sha256), dict(money), tuple(waivers),
                    frozenset(running), _not_due(document, judged, fail),
                    _unjudged(document, judged, fail), versions, unconfigured)


UNKNOWN_VERSION = "unknown"
"""A rule's logic version in a run whose findings.json does not record it (format 2 or 3)."""


def _rule_versions(manifest: dict[str, Any], rules: list[str], version: int,
                   fail: Any) -> dict[str, int] | None:
    """`manifest.rule_versions` checked: per code of `manifest.rules`, its logic version, a
    whole number from 1, every rule's and no other's; None where a findings.json before
    format 4 (`RULE_VERSIONS_FORMAT`) does not record them; refused where one of format 4
    or later does not."""
    if "rule_versions" not in manifest:
        if version >= RULE_VERSIONS_FORMAT:
            raise fail("manifest.rule_versions", f"missing: a findings.json of format "
                       f"{version} records the logic version of each rule it ran (edited "
                       "since the check wrote it)")
        return None
    stated = manifest["rule_versions"]
    if not isinstance(stated, dict):
        raise fail("manifest.rule_versions", f"not an object of rule codes: "
                   f"{stated!r}"[:300])
    # (a code is quoted and cut short in the message, never put in the field: a code of a
    # newline and 5,000 characters printed a forged console line and an error of 5 KB)
    for code, number in stated.items():
        if code not in rules:
            raise fail("manifest.rule_versions", f"{cut_middle(repr(code), 80)} is not among "
                       "the rules the manifest says ran (manifest.rules)")
        if type(number) is not int or number < 1:
            raise fail("manifest.rule_versions", f"the logic version of "
                       f"{cut_middle(repr(code), 80)} is not a whole number from 1: "
                       f"{cut_middle(repr(number), 80)}")
    missing = next((code for code in rules if code not in stated), None)
    if missing is not None:
        raise fail("manifest.rule_versions", f"{cut_middle(repr(missing), 80)} missing: the "
                   "manifest lists the rule among those that ran (manifest.rules), and no "
                   "logic version for it")
    return dict(stated)


SHARED = ("rule", "name", "severity", "channel", "currency", "waiver_reason")
"""The fields of a finding whose few values the findings share, each value made one object
for all of a run's findings (`_checked`)."""


def _ties_out(findings: list[dict[str, Any]], money: dict[str, Any], fail: Any) -> None:
    """An InputError where `summary.money_at_risk` of a currency is not what the document's
    open findings put at risk, as check sums it (`MONEY_AT_RISK_DEFINITION`: per currency,
    over cases, each case's largest amount among its open findings, from 0), in the
    currency's minor units: a finding's amount (or the total) edited by hand since its
    check, which the money bridge would otherwise carry into NEW's figures. Worked out as
    check works it out (floats, added in the order each case and currency first appears,
    rounded at the end), and exactly (Decimal): the stated figure passes where it is the
    first, or within half a minor unit of the second (a sum in another order, of amounts
    finer than the minor unit, may round either way); an edit by a minor unit or more does
    not."""
    largest: dict[tuple[str, str], float] = {}
    for finding in findings:
        amount = finding["amount_at_risk"]
        if finding["waived"] or amount is None:
            continue
        key = (finding["case_id"], currency_key(finding["currency"]))
        was = largest.get(key, 0.0)
        largest[key] = float(amount) if amount > was else was
    summed: dict[str, float] = defaultdict(float)
    exact: dict[str, Decimal] = defaultdict(Decimal)
    for (_, currency), amount in largest.items():  # (in order of first appearance)
        summed[currency] += amount
        exact[currency] += _decimal(amount)
    for currency in sorted(set(summed) | set(money), key=lambda c: (c == NO_CURRENCY, c)):
        stated = money.get(currency)
        code = None if currency == NO_CURRENCY else currency
        if stated is None:
            raise fail(f"summary.money_at_risk.{currency}", f"missing, but the document's "
                       f"open findings put {shown(summed[currency], code)} {currency} at "
                       "risk: findings or the summary edited since its check")
        half = Decimal(1).scaleb(-decimals(code)) / 2
        if stated == rounded(summed[currency], code) or abs(
                _decimal(stated) - exact[currency]) <= half:
            continue
        raise fail(f"summary.money_at_risk.{currency}", f"{shown(stated, code)}, but the "
                   f"document's open findings put {shown(summed[currency], code)} "
                   f"{currency} at risk (per case its largest amount, as check sums it): "
                   "an amount or the total edited since its check")


def _running(document: dict[str, Any], summary: dict[str, Any], fail: Any) -> list[str]:
    """The ids of the cases running at the run's clock (`running_cases`, beside
    `judged_cases`; `summary.running_cases` counts them): where the list is missing (a
    check before it was written), none when the summary counts none, else refused (which
    of its conformance findings OLD could not have judged is not known)."""
    stated = summary.get("running_cases", 0)
    if type(stated) is not int or stated < 0:
        raise fail("summary.running_cases", f"not a whole number: {stated!r}"[:300])
    if "running_cases" not in document:
        if stated:
            raise fail("running_cases", f"missing, while summary.running_cases counts "
                       f"{stated} case(s) running at its clock: which they are is not known; "
                       "run that check again with this version")
        return []
    ids = _texts(document["running_cases"], "running_cases", fail)
    if len(set(ids)) != stated:
        raise fail("running_cases", f"{len(set(ids))} case(s), but summary.running_cases "
                   f"counts {stated}: edited since the check wrote it")
    return ids


def _not_due(document: dict[str, Any], judged: frozenset[str],
             fail: Any) -> dict[str, frozenset[str]]:
    """Per rule code, the cases it left for a later clock (`not_due_cases`; none where
    missing: a check before it was written, whose new findings of such cases `diff` then
    cannot tell apart and words as before). Each a case the check judged."""
    stated = document.get("not_due_cases", {})
    if not isinstance(stated, dict):
        raise fail("not_due_cases", f"not an object of rule codes: {stated!r}"[:300])
    out: dict[str, frozenset[str]] = {}
    for code, cases in stated.items():
        ids = frozenset(_texts(cases, f"not_due_cases.{code}", fail))
        outside = next((case for case in sorted(ids) if case not in judged), None)
        if outside is not None:
            raise fail(f"not_due_cases.{code}", f"case {outside!r} is not among "
                       "judged_cases: a case a rule left for a later clock is one the check "
                       "judged (edited since the check wrote it)"[:300])
        out[code] = ids
    return out


def _unjudged(document: dict[str, Any], judged: frozenset[str],
              fail: Any) -> dict[str, dict[str, frozenset[str]]]:
    """Per rule code, per reason, the cases holding events it could not judge
    (`unjudged_cases`; none where missing: a check before it was written, whose findings
    `diff` then words as before). Each a case the check judged."""
    stated = document.get("unjudged_cases", {})
    if not isinstance(stated, dict):
        raise fail("unjudged_cases", f"not an object of rule codes: {stated!r}"[:300])
    out: dict[str, dict[str, frozenset[str]]] = {}
    for code, reasons in stated.items():
        if not isinstance(reasons, dict):
            raise fail(f"unjudged_cases.{code}", f"not an object of reasons: "
                       f"{reasons!r}"[:300])
        for reason, cases in reasons.items():
            where = f"unjudged_cases.{code}.{reason}"
            ids = frozenset(_texts(cases, where, fail))
            outside = next((case for case in sorted(ids) if case not in judged), None)
            if outside is not None:
                raise fail(where, f"case {outside!r} is not among judged_cases: a case a "
                           "rule could not judge is one the check judged (edited since the "
                           "check wrote it)"[:300])
            out.setdefault(code, {})[reason] = ids
    return out


def _agrees(findings: list[dict[str, Any]], summary: dict[str, Any], names: dict[str, str],
            fail: Any) -> None:
    """An InputError where the findings do not agree with the document itself (a finding
    added, removed or edited by hand since the check): their number, open and waived, and
    per rule, against its summary's counts (`summary.findings` counts the open ones,
    `summary.waived` the waived, `summary.by_rule.<code>.findings` each rule's open ones);
    each finding's fingerprint against its rule's name, case and events (`fingerprint`, or
    where it cites a case's copy of a shared record `copy_fingerprint_of`); a fingerprint
    twice (the finding's identity: the diff matches, and waivers name, findings by it; no
    check writes two findings of one rule, case and events)."""
    counts = {}
    for key in ("findings", "waived"):
        value = summary.get(key)
        if type(value) is not int or value < 0:
            raise fail(f"summary.{key}", f"missing or not a whole number: {value!r}"[:300])
        counts[key] = value
    waived = sum(1 for f in findings if f["waived"])
    if (len(findings) - waived, waived) != (counts["findings"], counts["waived"]):
        raise fail("summary.findings", f"the document lists {len(findings)} finding(s), "
                   f"{len(findings) - waived} open and {waived} waived, its summary counts "
                   f"{counts['findings']} open and {counts['waived']} waived: findings "
                   "added or removed since the check wrote it")
    open_by_rule: dict[str, int] = defaultdict(int)
    for finding in findings:
        if not finding["waived"]:
            open_by_rule[finding["rule"]] += 1
    for code in names:
        stated = summary["by_rule"][code].get("findings")
        if type(stated) is not int:
            raise fail(f"summary.by_rule.{code}.findings", f"missing or not a whole number: "
                       f"{stated!r}"[:300])
        if stated != open_by_rule[code]:
            raise fail(f"summary.by_rule.{code}.findings", f"{stated}, but the document lists "
                       f"{open_by_rule[code]} open finding(s) of {code}: findings added, "
                       "removed or edited since the check wrote it")
    # Per severity as per rule (`summary.by_severity` counts the open findings of each,
    # as check writes it): a severity edited by hand was read as it stood, and --fail-on
    # judged the finding by the edit.
    by_severity = summary.get("by_severity")
    if by_severity is not None:
        if not isinstance(by_severity, dict):
            raise fail("summary.by_severity", "not an object")
        open_by_severity: dict[str, int] = defaultdict(int)
        for finding in findings:
            if not finding["waived"]:
                open_by_severity[finding["severity"]] += 1
        for severity in SEVERITIES:
            stated = by_severity.get(severity, 0)
            if type(stated) is not int:
                raise fail(f"summary.by_severity.{severity}", f"not a whole number: "
                           f"{stated!r}"[:300])
            if stated != open_by_severity[severity]:
                raise fail(f"summary.by_severity.{severity}", f"{stated}, but the document "
                           f"lists {open_by_severity[severity]} open finding(s) of severity "
                           f"{severity}: findings added, removed or edited since the check "
                           "wrote it")
    seen: dict[str, int] = {}
    for k, finding in enumerate(findings):
        name, case, events = finding["name"], finding["case_id"], finding["event_ids"]
        print_ = finding["fingerprint"]
        if print_ not in (fingerprint(name, case, events),
                          copy_fingerprint_of(name, case, events)):
            raise fail(f"findings[{k}].fingerprint", f"{print_!r} is not the fingerprint of "
                       f"its rule's name, case and events ({fingerprint(name, case, events)}):"
                       " edited since the check wrote it"[:300])
        if print_ in seen:
            raise fail(f"findings[{k}].fingerprint", f"{print_} is that of findings"
                       f"[{seen[print_]}] too: a finding listed twice (no check writes two "
                       "findings of one rule, case and events)")
        seen[print_] = k


def _waived_by(findings: list[dict[str, Any]], waivers: list[dict[str, Any]],
               fail: Any) -> None:
    """An InputError where a finding's `waived_by` (where findings.json has it) does not
    agree with the document: a whole number naming a waiver of `summary.waivers` that
    check used and that names the finding's fingerprint (or its copy fingerprint) or its
    case, on a waived finding; null on an open one; and each waiver's `matched` (where
    stated) the number of findings naming it."""
    named: dict[int, int] = defaultdict(int)
    told = False
    for k, finding in enumerate(findings):
        if "waived_by" not in finding:
            continue
        told = True
        at = finding["waived_by"]
        if not finding["waived"]:
            if at is not None:
                raise fail(f"findings[{k}].waived_by", f"{at!r}, on a finding not waived: "
                           "edited since the check wrote it"[:300])
            continue
        if type(at) is not int or not 0 <= at < len(waivers):
            raise fail(f"findings[{k}].waived_by", f"not the position of a waiver of "
                       f"summary.waivers (0 to {len(waivers) - 1}) on a waived finding: "
                       f"{at!r}"[:300])
        waiver = waivers[at]
        print_ = waiver["fingerprint"]
        if waiver.get("status") != "used" or (
                waiver.get("case") != finding["case_id"] if print_ is None else
                print_ not in (finding["fingerprint"], copy_fingerprint_of(
                    finding["name"], finding["case_id"], finding["event_ids"]))):
            raise fail(f"findings[{k}].waived_by", f"{at}: summary.waivers[{at}] (" + (
                f"case {waiver.get('case')!r}" if print_ is None else f"fingerprint {print_}")
                + f", {waiver.get('status')}) did not waive it, a finding of case "
                f"{finding['case_id']!r}, fingerprint {finding['fingerprint']}: edited since "
                "the check wrote it"[:300])
        if not _waives_rule(waiver, finding):
            raise fail(f"findings[{k}].waived_by", f"{at}: summary.waivers[{at}] (rule "
                       f"{waiver.get('rule')!r}" + (f", codes {waiver['codes']}" if "codes"
                                                     in waiver else "")
                       + f") does not name the rule of this finding, {finding['rule']} "
                       f"({finding['name']}): edited since the check wrote it"[:300])
        named[at] += 1
    if not told:  # (a findings.json before waived_by: its waivers inferred, `waiver_of`)
        return
    for at, waiver in enumerate(waivers):
        matched = waiver.get("matched")
        if type(matched) is int and matched != named[at]:
            raise fail(f"summary.waivers[{at}].matched", f"{matched}, but {named[at]} "
                       f"finding(s) name it in waived_by: findings added, removed or edited "
                       "since the check wrote it")


def _waives_rule(waiver: dict[str, Any], finding: dict[str, Any]) -> bool:
    """Whether a waiver of summary.waivers may have waived a finding of its rule: the
    finding's rule among the codes its `rule` resolved to (`codes`, where findings.json has
    them); without them, where its `rule` is a rule's code or name, that rule (a family or a
    pattern, which only the registry of the run's version resolves, is not told)."""
    if "codes" in waiver:
        return bool(finding["rule"] in waiver["codes"])
    reference = waiver.get("rule")
    if not isinstance(reference, str) or _family_or_pattern(reference):
        return True
    return bool(reference.upper() == finding["rule"] or reference.lower() == finding["name"])


def _family_or_pattern(reference: str) -> bool:
    """Whether a waiver's `rule` names a family of rules (`EV`, `approvals`) or is a
    pattern (`SD*`), not one rule's code or name."""
    return (reference.upper() in FAMILIES or reference.lower() in FAMILIES.values()
            or any(c in reference for c in "*?["))


def _names_rule(reference: Any, finding: dict[str, Any]) -> bool:
    """Whether a waiver's `rule` (a code, a name, or a pattern of either) names the
    finding's rule."""
    if not isinstance(reference, str):
        return False
    return any(fnmatch.fnmatchcase(finding[k].lower(), reference.lower())
               for k in ("rule", "name"))


def _kind(types: tuple[type, ...]) -> str:
    words = {str: "text", bool: "true or false", int: "number", float: "number",
             type(None): "null", list: "list"}
    return " or ".join(dict.fromkeys(words[t] for t in types))


def _texts(value: Any, field: str, fail: Any) -> list[str]:
    if not isinstance(value, list):
        raise fail(field, "missing or not a list")
    for k, each in enumerate(value):
        if not isinstance(each, str):
            raise fail(f"{field}[{k}]", f"not a text: {each!r}"[:300])
    return value


def _clock(value: Any, fail: Any) -> datetime:
    if not isinstance(value, str):
        raise fail("manifest.as_of", "missing or not a text")
    try:
        clock = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail("manifest.as_of", f"not an ISO 8601 time: {value!r}"[:300]) from exc
    if clock.tzinfo is None:
        raise fail("manifest.as_of", f"no time zone: {value!r}"[:300])
    return clock


def _checksum_told(folder: Path, path: Path, sha256: str) -> str | None:
    """A warning where the run folder's SHA256SUMS (the run's own) lists findings.json with
    another sha256 than its bytes have now (changed since the run wrote it), does not list
    it, or is missing or unreadable (nothing shows it is the file its run wrote)."""
    from audit.digest import CHECKSUMS_FILE

    if path.parent != folder:
        return None
    sums = folder / CHECKSUMS_FILE
    if not sums.exists():
        return (f"{path}: no {CHECKSUMS_FILE} beside it (a check writes one): whether it is "
                "the file its run wrote cannot be checked")
    try:
        lines = sums.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return (f"{path}: {CHECKSUMS_FILE} beside it cannot be read as text: whether it is "
                "the file its run wrote cannot be checked")
    listed = False
    for line in lines:
        digest, _, name = line.partition("  ")
        if name == path.name:
            listed = True
            if digest != sha256:
                return (f"{path} is not the file its run wrote: {CHECKSUMS_FILE} beside it "
                        "lists another sha256 (changed since the check)")
    if not listed:
        return (f"{path} is not listed in {CHECKSUMS_FILE} beside it (another command's, "
                "or edited): whether it is the file its run wrote cannot be checked")
    return None


def iso_evidence(rule: str, evidence: dict[str, Any]) -> dict[str, Any]:
    """A finding's `evidence` with its durations (`DURATION_EVIDENCE`) in ISO 8601, as check
    writes them now: an earlier version's pandas texts ("15 days 00:00:00" -> "P15D") read
    as the same durations, so a finding of an older findings.json is not told changed (nor
    its evidence shown in two forms) only for the form. Any other value, and a text that is
    no duration, as it is."""
    from audit.words import iso_duration_text

    if rule == "SL002" and isinstance(evidence.get("stages"), list):
        return {**evidence, "stages": [
            {k: iso_duration_text(v) if k in STAGE_DURATIONS else v
             for k, v in stage.items()} if isinstance(stage, dict) else stage
            for stage in evidence["stages"]]}
    keys = DURATION_EVIDENCE.get(rule, ())
    if not any(k in evidence for k in keys):
        return evidence
    return {k: iso_duration_text(v) if k in keys else v for k, v in evidence.items()}


AGING = {"EV003": {"waiting": "duration"},
         "SL001": {"open_for": "duration", "as_of": "clock"},
         "SL002": {"late": "text"}}
"""Per rule whose finding of a wait still open is measured to the audit's clock
(approved-not-paid, sla-breach, stage-overdue), the evidence keys that only the clock moves:
a wait measured to it (`duration`: it grows by exactly the clocks' difference), the clock
itself (`clock`), a text of them (`text`: equal once its durations and clocks are
blanked); of stage-overdue, its open stages' `took` and `open_at` too (`_aged_stages`)."""

_DURATION_TEXT = re.compile(r"\b\d+d(?: \d+h)?(?: \d+m)?(?: \d+(?:\.\d+)?s)?\b"
                            r"|\b\d+h(?: \d+m)?(?: \d+(?:\.\d+)?s)?\b"
                            r"|\b\d+m(?: \d+(?:\.\d+)?s)?\b|\b\d+(?:\.\d+)?s\b")
"""A duration as the rules' messages tell it (`words.duration`: "85d 11h 49m 22s")."""


def _blanked(text: str, clock: datetime) -> str:
    """`text` with its durations and the run's clock (ISO, and as messages tell a time:
    `words.moment`) blanked: what stays when only the clock moved."""
    from audit.words import moment

    for told in (clock.isoformat(), moment(clock)):
        text = text.replace(told, "<clock>")
    return _DURATION_TEXT.sub("<duration>", text)


def aged_only(before: dict[str, Any], after: dict[str, Any], old_clock: datetime,
              new_clock: datetime) -> bool:
    """Whether a still-open finding's two versions differ only as the clock moving explains
    (`AGING`): its rule's wait measured to the clock grew by exactly the clocks'
    difference, the clock in its evidence is each run's, and its message is the same once
    durations and clocks are blanked; its amount, currency, severity, time, events and
    every other evidence value the same."""
    from audit.words import nanoseconds

    keys = AGING.get(after.get("rule", ""))
    if keys is None or before.get("rule") != after.get("rule"):
        return False
    if any(before.get(k) != after.get(k) for k in ("event_ids", "amount_at_risk", "currency",
                                                   "severity", "timestamp")):
        return False
    if _blanked(str(before.get("message")), old_clock) != _blanked(
            str(after.get("message")), new_clock):
        return False
    was, now = before.get("evidence"), after.get("evidence")
    if not isinstance(was, dict) or not isinstance(now, dict) or set(was) != set(now):
        return False
    moved = nanoseconds(new_clock - old_clock)
    for key in was:
        old_value, new_value = was[key], now[key]
        kind = keys.get(key)
        try:
            if kind == "duration":
                if not _grew(old_value, new_value, moved):
                    return False
            elif kind == "clock":
                if (datetime.fromisoformat(old_value), datetime.fromisoformat(new_value)) \
                        != (old_clock, new_clock):
                    return False
            elif kind == "text":
                if _blanked(str(old_value), old_clock) != _blanked(str(new_value), new_clock):
                    return False
            elif key == "stages" and after["rule"] == "SL002":
                if not _aged_stages(old_value, new_value, old_clock, new_clock):
                    return False
            elif old_value != new_value:
                return False
        except (TypeError, ValueError):
            return False
    return True


def _grew(old: Any, new: Any, moved: int | None) -> bool:
    """Whether the duration `new` is `old` and `moved` nanoseconds more (each ISO 8601 or
    pandas' text: `audit.words.duration_nanoseconds`, exact for centuries)."""
    from audit.words import duration_nanoseconds

    was, now = duration_nanoseconds(old), duration_nanoseconds(new)
    return was is not None and now is not None and moved is not None and now - was == moved


def _same_evidence(before: Any, after: Any) -> bool:
    """Whether two versions of a finding's evidence say the same where one names a list of
    texts that the other, of an earlier version, names as their text joined by ", "
    (missing-evidence's `missing`, `after_payout` and `placeholder`, lists since
    findings.json held `not_due_cases`: `["receipt", "photo"]` was "receipt, photo", `[]`
    was ""): no change to tell."""
    if not isinstance(before, dict) or not isinstance(after, dict) or set(before) != set(after):
        return False
    return all(was == now or _joined(was) == now or was == _joined(now)
               for was, now in ((before[k], after[k]) for k in before))


def _joined(value: Any) -> Any:
    """A list of texts as one text joined by ", "; anything else as it is."""
    if isinstance(value, list) and all(type(v) is str for v in value):
        return ", ".join(value)
    return value


def _aged_stages(before: Any, after: Any, old_clock: datetime, new_clock: datetime) -> bool:
    """stage-overdue's stages: the same, but of a stage still open (`ended` null) its
    `open_at` each run's clock and its `took` longer by the clocks' difference."""
    from audit.words import nanoseconds

    if not isinstance(before, list) or not isinstance(after, list) or \
            len(before) != len(after):
        return False
    for was, now in zip(before, after, strict=True):
        if not isinstance(was, dict) or not isinstance(now, dict) or set(was) != set(now):
            return False
        if was.get("ended") is None and "open_at" in was:
            if (datetime.fromisoformat(was["open_at"]), datetime.fromisoformat(
                    now["open_at"])) != (old_clock, new_clock):
                return False
            if not _grew(was["took"], now["took"], nanoseconds(new_clock - old_clock)):
                return False
            if any(was[k] != now[k] for k in was if k not in ("open_at", "took")):
                return False
        elif was != now:
            return False
    return True


def _run_of(row: Row) -> str:
    """The run whose finding a row of one run only is: "OLD" where NEW has none."""
    return "OLD" if row.new_waived is None else "NEW"


def _waived_sides(row: Row) -> tuple[str, ...]:
    """The runs that waived a row's finding, as `RunDiff.waived_per_class` counts them:
    "NEW" where NEW waives it, "OLD" where OLD waived it (a finding in both runs: either,
    both or none)."""
    if row.new_waived:
        return ("NEW", "OLD") if row.old_waived else ("NEW",)
    return ("OLD",) if row.old_waived else ()


@dataclass(frozen=True)
class Row:
    """One finding of the diff: its class, and the finding (NEW's where in both)."""

    cls: str
    reason: str
    finding: dict[str, Any]
    old_waived: bool | None
    new_waived: bool | None
    old: dict[str, Any] | None = None
    """OLD's version of a changed finding (its other fingerprint), or of a still-open one
    whose fields of `COMPARED` differ (its changes: amount, severity, message...)."""
    old_print_waived: bool = False
    """A changed finding OLD waived by a waiver naming its old fingerprint."""
    in_old: dict[str, Any] | None = None
    """OLD's version of a still-open finding whose fields do not differ (`old` is None):
    which waiver waived it in OLD is OLD's to say (its `waived_by`)."""
    old_waiver: dict[str, Any] | None = None
    """The waiver of OLD's policy that waived it in OLD (`AuditRun.waiver_of`)."""
    new_waiver: dict[str, Any] | None = None
    """The waiver of NEW's policy that waives it in NEW."""
    aged: bool = False
    """A still-open finding whose changes the clock moving alone explains (`aged_only`):
    its wait measured to the later clock."""
    ended: str = ""
    """Of a `waiver_ended` finding, how: "expired" (NEW's check says its waiver expired, or
    its expiry is before NEW's clock), "removed" (NEW's policy has no such waiver), or "no
    longer matches" (it has, and it did not waive the finding)."""

    @property
    def rule_change_class(self) -> str:
        """The class of `RULE_CHANGE_CLASSES` this finding counts in where its rule's logic
        changed (a still-open one with changes other than the clock's), "" for another."""
        if self.cls in ("new", "resolved", "changed"):
            return self.cls
        if self.cls == "still_open" and self.old is not None and not self.aged:
            return "still_open_with_changes"
        return ""

    def waiver_fields(self) -> dict[str, Any]:
        """The waiver's reason, approver and expiry: NEW's where NEW waives it, else OLD's
        where OLD did; and how a waiver ended."""
        waiver = self.new_waiver if self.new_waived else self.old_waiver \
            if self.old_waived else None
        return {"waiver_reason": None if waiver is None else waiver.get("reason"),
                "waiver_approved_by": None if waiver is None else waiver.get("approved_by"),
                "waiver_expires": None if waiver is None else waiver.get("expires"),
                "waiver_ended": self.ended or None}

    @property
    def waiver_change(self) -> str:
        if self.old_waived and self.new_waived is False:
            return "waiver_on_old_fingerprint" if self.old_print_waived else "waiver_ended"
        if self.old_waived is False and self.new_waived:
            return "waiver_added"
        return ""

    @property
    def worse(self) -> str:
        """Why NEW's finding is worse than OLD's (`WORSE_IN_NEW`), "" where it is not."""
        if self.new_waived is not False:  # (waived in NEW, or not in NEW)
            return ""
        if self.cls == "new":
            return "new"
        if self.cls not in ("still_open", "changed"):
            return ""
        if self.old_waived:
            return "waiver_ended"
        # (`old` is None where none of the fields of COMPARED, severity among them, differ)
        if self.old is not None and severity_rank(self.finding["severity"]) > \
                severity_rank(self.old["severity"]):
            return "severity_rose"
        return ""

    @property
    def differs(self) -> dict[str, Any]:
        """Of a changed finding, each field of `COMPARED` its two versions differ in: old and
        new (of the event ids: their counts, and the ids added and removed)."""
        if self.old is None:
            return {}
        out: dict[str, Any] = {}
        for name in COMPARED:
            before, after = self.old.get(name), self.finding.get(name)
            if before == after or (name == "evidence" and _same_evidence(before, after)):
                continue
            if name == "event_ids":
                was, now = set(before or ()), set(after or ())
                out[name] = {"old": len(before or ()), "new": len(after or ()),
                             "added": [e for e in after or () if e not in was],
                             "removed": [e for e in before or () if e not in now]}
            else:
                out[name] = {"old": before, "new": after}
        return out

    def changes_text(self) -> str:
        """`differs` in words, for the reason and diff.csv: "events 1 -> 2 (+1 -0); amount
        at risk; message"."""
        parts = []
        for name, change in self.differs.items():
            if name == "event_ids":
                parts.append(f"events {change['old']} -> {change['new']} "
                             f"(+{len(change['added'])} -{len(change['removed'])})")
            else:
                parts.append(name.replace("_", " "))
        return "; ".join(parts)


@dataclass(frozen=True)
class RunDiff:
    old: AuditRun
    new: AuditRun
    rows: list[Row]
    warnings: list[str]
    versions: dict[str, tuple[int | str, int | str]] = field(default_factory=dict)
    """Per code of a rule that ran in both runs whose logic version differs between them,
    or is not recorded in one ("unknown", a findings.json before format 4): (OLD's, NEW's)
    (`_version_changes`)."""
    event_order: tuple[int, int] | None = None
    """(OLD's, NEW's) `AuditRun.event_order` where they differ (None where they agree): any
    rule's new, resolved and changed findings may come from the order's change."""

    def event_order_change(self) -> dict[str, Any] | None:
        """diff.json's `summary.event_order_change`: where the runs order a case's events
        at one time otherwise (`event_order`), OLD's and NEW's order and the findings that
        may come from the change (`RULE_CHANGE_CLASSES`, of every rule); else None."""
        if self.event_order is None:
            return None
        counts = dict.fromkeys(RULE_CHANGE_CLASSES, 0)
        for row in self.rows:
            if row.rule_change_class:
                counts[row.rule_change_class] += 1
        return {"old": self.event_order[0], "new": self.event_order[1], "findings": counts}

    def rule_changes(self) -> dict[str, dict[str, Any]]:
        """Per rule of `versions`, in code order: its name, its logic version in OLD and in
        NEW, and its findings that may come from its change (`RULE_CHANGE_CLASSES`)."""
        counts = {code: dict.fromkeys(RULE_CHANGE_CLASSES, 0) for code in self.versions}
        for row in self.rows:
            of_rule = counts.get(row.finding["rule"])
            if of_rule is not None and row.rule_change_class:
                of_rule[row.rule_change_class] += 1
        return {code: {"name": self.new.rule_names.get(code) or self.old.rule_names.get(code),
                       "old_version": was, "new_version": now, "findings": counts[code]}
                for code, (was, now) in sorted(self.versions.items())}

    def run_id_change(self) -> dict[str, Any]:
        """diff.json's `summary.run_id_change`: each run's run id as recorded (`old`,
        `new`: null where its findings.json was written before run ids) and whether it is
        the one its manifest gives (`old_status`, `new_status`: `audit.runid.run_id_status`),
        the parts of the run id that differ between the runs, in the order of
        `audit.runid.RUN_ID_PARTS` (`differs`), their kinds (`kinds`: data, configuration,
        clock, tool), what each run holds of each (`parts`: `audit.runid.identity_changes`)
        the parts that are the same (`same`) and those neither run records (`not_recorded`:
        `audit.runid.not_recorded`, in neither `differs` nor `same`). No part differs where
        both manifests give
        the same run id: what a finding new or resolved comes from is then neither the
        inputs, nor the policy, SOPs, options, clock, nor the tool."""
        return self._run_id_change

    @cached_property
    def _run_id_change(self) -> dict[str, Any]:
        from audit.runid import RUN_ID_PARTS, identity_changes, not_recorded, run_id_status

        old, new = self.old.manifest, self.new.manifest
        parts = identity_changes(old, new)
        unknown = not_recorded(old, new)
        return {"old": old.get("run_id"), "new": new.get("run_id"),
                "old_status": run_id_status(old), "new_status": run_id_status(new),
                "differs": list(parts),
                "kinds": [kind for kind in ("data", "configuration", "clock", "tool")
                          if any(RUN_ID_PARTS[part][1] == kind for part in parts)],
                "same": [part for part in RUN_ID_PARTS
                         if part not in parts and part not in unknown],
                "not_recorded": unknown,
                "parts": parts}

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(CLASSES, 0)
        for row in self.rows:
            counts[row.cls] += 1
        return counts

    def by_rule(self) -> dict[str, dict[str, Any]]:
        """Per rule code, in their order: its name (its first finding's) and its findings
        per class. Worked out once per diff (diff.json and the console read it), in one
        pass over the rows, not a sort of them; the same object each time."""
        return self._by_rule

    @cached_property
    def _by_rule(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            code = row.finding["rule"]
            entry = out.get(code)
            if entry is None:
                entry = out[code] = {"name": row.finding["name"],
                                     **dict.fromkeys(CLASSES, 0),
                                     "not_comparable_by_run": {"OLD": 0, "NEW": 0},
                                     "waived": {"NEW": 0, "OLD": 0}}
            entry[row.cls] += 1
            if row.cls == "not_comparable":
                entry["not_comparable_by_run"][_run_of(row)] += 1
            for side in _waived_sides(row):
                entry["waived"][side] += 1
        return {code: out[code] for code in sorted(out)}

    def rule_waived(self) -> dict[str, dict[str, dict[str, int]]]:
        """Per rule code, per run ("NEW", "OLD"), per class, the findings that run waives
        (`waived_per_class`); a rule, run or class with none is left out. Worked out once
        per diff, as `by_rule`."""
        return self._rule_waived

    @cached_property
    def _rule_waived(self) -> dict[str, dict[str, dict[str, int]]]:
        out: dict[str, dict[str, dict[str, int]]] = {}
        for row in self.rows:
            for side in _waived_sides(row):
                of_run = out.setdefault(row.finding["rule"], {}).setdefault(side, {})
                of_run[row.cls] = of_run.get(row.cls, 0) + 1
        return out

    def waived_per_class(self) -> dict[str, dict[str, int]]:
        """Per run, per class holding its findings (NEW: `NEW_CLASSES`, OLD: `OLD_CLASSES`),
        the findings that run waived: counted in the class, as check lists them, but not
        among that run's open findings (its summary's `findings`). A class's count (of not
        comparable, that run's part) less these is what that run's check counts open, these
        its waived: NEW's of new, still open, changed and suppressed in OLD, OLD's of still
        open, changed, resolved, not re-judged and suppressed in NEW (a finding in both runs
        waived in both counted in each)."""
        out = {"NEW": dict.fromkeys(NEW_CLASSES, 0), "OLD": dict.fromkeys(OLD_CLASSES, 0)}
        for of_rule in self.rule_waived().values():
            for side, of_run in of_rule.items():
                for cls, n in of_run.items():
                    out[side][cls] += n
        return out

    def not_comparable_by_run(self) -> dict[str, int]:
        """The not-comparable findings by the run that found them: OLD's (of a rule that ran
        in OLD only) and NEW's (of a rule that ran in NEW only)."""
        out = {"OLD": 0, "NEW": 0}
        for row in self.rows:
            if row.cls == "not_comparable":
                out[_run_of(row)] += 1
        return out

    def still_open_with_changes(self) -> int:
        """The still-open findings whose fields of `COMPARED` differ between the runs, other
        than as the clock moving explains (`still_open_aged`)."""
        return sum(1 for row in self.rows if row.cls == "still_open" and row.old is not None
                   and not row.aged)

    def still_open_aged(self) -> int:
        """The still-open findings whose changes the clock moving alone explains (a wait
        measured to the later clock: `aged_only`)."""
        return sum(1 for row in self.rows if row.cls == "still_open" and row.aged)

    def waiver_changes(self) -> dict[str, int]:
        changes = dict.fromkeys(WAIVER_CHANGES, 0)
        for row in self.rows:
            if row.waiver_change:
                changes[row.waiver_change] += 1
        return changes

    def waivers_ended(self) -> dict[str, int]:
        """The `waiver_ended` findings by how (`Row.ended`)."""
        out: dict[str, int] = {}
        for row in self.rows:
            if row.ended:
                out[row.ended] = out.get(row.ended, 0) + 1
        return dict(sorted(out.items()))

    def worse_in_new(self) -> dict[str, dict[str, int]]:
        """The findings worse in NEW than in OLD (`Row.worse`), per severity (every one of
        `SEVERITIES`, lowest first) by why (`WORSE_IN_NEW`)."""
        out = {severity: dict.fromkeys(WORSE_IN_NEW, 0) for severity in SEVERITIES}
        for row in self.rows:
            why = row.worse
            if why:
                out[row.finding["severity"]][why] += 1
        return out

    def failing(self, fail_on: str) -> list[Row]:
        """The findings `diff --fail-on` fails on: worse in NEW (`Row.worse`), of
        severity `fail_on` or higher ("never": none)."""
        if fail_on == "never":
            return []
        floor = severity_rank(fail_on)
        return [row for row in self.rows
                if row.worse and severity_rank(row.finding["severity"]) >= floor]

    def new_waived(self) -> int:
        """The new findings NEW waives already."""
        return sum(1 for row in self.rows if row.cls == "new" and row.new_waived)

    def unused_waivers(self) -> list[dict[str, Any]]:
        """NEW's policy's waivers that waived nothing in NEW (never matched, expired, ...)."""
        return [w for w in self.new.waivers if w.get("status") != "used"]

    def money_at_risk(self) -> dict[str, dict[str, float]]:
        """Per class of `MONEY_CLASSES`: per currency, the sum over cases of each case's
        largest amount at risk among its findings of the class NEW does not waive (of a
        class of OLD's findings only, resolved and not re-judged: that OLD did not
        waive). Worked out once per diff (diff.json and the console read it), in one pass
        over the rows for all classes (it was one per class); the same object each time."""
        return self._money_at_risk

    @cached_property
    def _money_at_risk(self) -> dict[str, dict[str, float]]:
        tables: dict[str, dict[tuple[str, str], float]] = {c: {} for c in MONEY_CLASSES}
        for row in self.rows:
            largest = tables.get(row.cls)
            finding = row.finding
            amount = finding["amount_at_risk"]
            waived = row.old_waived if row.new_waived is None else row.new_waived
            if largest is None or waived or amount is None:
                continue
            key = (finding["case_id"], currency_key(finding["currency"]))
            was, now = largest.get(key, 0.0), float(amount)
            largest[key] = now if now > was else was  # (max: amounts are finite, `_checked`)
        out: dict[str, dict[str, float]] = {}
        for cls in MONEY_CLASSES:
            largest = tables[cls]
            money: dict[str, float] = defaultdict(float)
            for (_, currency), amount in largest.items():
                money[currency] += amount
            out[cls] = {k: rounded(v, None if k == NO_CURRENCY else k)
                        for k, v in sorted(money.items())}
        return out

    def money_bridge(self) -> dict[str, dict[str, Any]]:
        """`_bridge`, worked out once per diff (the check that it ties out, diff.json and the
        console each read it: three passes over every row, 1.1 s each for 58k rows);
        the same object each time, not to be changed."""
        return self._bridge

    @cached_property
    def _bridge(self) -> dict[str, dict[str, Any]]:
        """Per currency (`BRIDGE_DEFINITION`): OLD's and NEW's money at risk as their checks
        summed it, and what takes one to the other, case by case, adding up exactly: the
        cases at risk in NEW only (`opened`, each its NEW amount, by why), those at risk in
        OLD only (`closed`, its OLD amount, by why), and of the cases at risk in both the
        rise and the fall of their amount; `adds_up`: OLD + opened - closed + increased -
        decreased is NEW (in the currency's minor units)."""
        olds: dict[tuple[str, str], Decimal] = {}
        news: dict[tuple[str, str], Decimal] = {}
        gone_why: dict[tuple[str, str], set[str]] = defaultdict(set)
        came_why: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row in self.rows:
            if row.old_waived is False:  # (in OLD, open)
                was = row.old if row.old is not None else row.finding
                if was["amount_at_risk"] is not None:
                    key = (was["case_id"], currency_key(was["currency"]))
                    olds[key] = max(olds.get(key, Decimal(0)), _decimal(was["amount_at_risk"]))
                    gone_why[key].add(row.cls if row.new_waived is None else
                                      "waived_in_new" if row.new_waived else "amount_changed")
            if row.new_waived is False and row.finding["amount_at_risk"] is not None:
                now = row.finding
                key = (now["case_id"], currency_key(now["currency"]))
                news[key] = max(news.get(key, Decimal(0)), _decimal(now["amount_at_risk"]))
                came_why[key].add(row.cls if row.old_waived is None else
                                  "waiver_ended" if row.old_waived else "amount_changed")
        out: dict[str, dict[str, Any]] = {}
        for currency in sorted({k[1] for k in olds} | {k[1] for k in news}
                               | set(self.old.money) | set(self.new.money),
                               key=lambda c: (c == NO_CURRENCY, c)):
            places = Decimal(1).scaleb(-decimals(None if currency == NO_CURRENCY
                                                 else currency))
            opened: dict[str, Decimal] = defaultdict(Decimal)
            closed: dict[str, Decimal] = defaultdict(Decimal)
            up = down = Decimal(0)
            for key in sorted({k for k in olds if k[1] == currency}
                              | {k for k in news if k[1] == currency}):
                before, after = olds.get(key), news.get(key)
                if before is None and after is not None:
                    opened[_first(came_why[key], OPENED_WHY)] += after
                elif after is None and before is not None:
                    closed[_first(gone_why[key], CLOSED_WHY)] += before
                elif before is not None and after is not None:
                    up += max(after - before, Decimal(0))
                    down += max(before - after, Decimal(0))
            old_total = Decimal(repr(self.old.money.get(currency, 0.0))).quantize(places)
            new_total = Decimal(repr(self.new.money.get(currency, 0.0))).quantize(places)
            total = (old_total + sum(opened.values(), Decimal(0))
                     - sum(closed.values(), Decimal(0)) + up - down).quantize(places)
            out[currency] = {
                "old": float(old_total),
                "opened": {k: float(v.quantize(places)) for k, v in opened.items()},
                "closed": {k: float(v.quantize(places)) for k, v in closed.items()},
                "increased": float(up.quantize(places)),
                "decreased": float(down.quantize(places)),
                "new": float(new_total),
                "adds_up": total == new_total,
            }
        return out

    def document(self) -> dict[str, Any]:
        """The content of diff.json."""
        return {**self._head(), "findings": [_entry(row, self.versions)
                                             for row in self.rows]}

    def _head(self) -> dict[str, Any]:
        """diff.json's content but its findings (the last key, `_entry` each)."""
        return {
            "format_version": DIFF_FORMAT,
            "old": self.old.identity(),
            "new": self.new.identity(),
            "warnings": self.warnings,
            "summary": {
                "findings": self.counts(),
                "still_open_with_changes": self.still_open_with_changes(),
                "still_open_aged": self.still_open_aged(),
                "by_rule": self.by_rule(),
                "waivers": self.waiver_changes(),
                "waivers_ended": self.waivers_ended(),
                "new_waived": self.new_waived(),
                "waived_per_class": self.waived_per_class(),
                "not_comparable_by_run": self.not_comparable_by_run(),
                "worse_in_new": self.worse_in_new(),
                "waivers_unused_in_new": self.unused_waivers(),
                "money_at_risk": self.money_at_risk(),
                "money_at_risk_definition": MONEY_DEFINITION,
                "money_bridge": self.money_bridge(),
                "money_bridge_definition": BRIDGE_DEFINITION,
                "rule_changes": self.rule_changes(),
                "event_order_change": self.event_order_change(),
                "run_id_change": self.run_id_change(),
            },
        }

    def json_chunks(self) -> Iterator[str]:
        """diff.json's text in pieces: `document` as `json.dumps(indent=1,
        ensure_ascii=False)` writes it (its encoder, once for the whole document), a line
        feed after; each finding's entry made as the encoder comes to it (`_Entries`), not
        all of them first (the document and the whole text of 258k findings took 1.1 GB
        more)."""
        encoder = json.JSONEncoder(indent=1, ensure_ascii=False)
        pieces: list[str] = []
        for piece in encoder.iterencode({**self._head(),
                                         "findings": _Entries(self.rows, self.versions)}):
            pieces.append(piece)
            if len(pieces) >= 8192:
                yield "".join(pieces)
                pieces.clear()
        pieces.append("\n")
        yield "".join(pieces)


class _Entries(list):  # type: ignore[type-arg]
    """The findings of diff.json as its encoder reads them (`RunDiff.json_chunks`): a list
    of their number whose entries (`_entry`) are made one at a time as it goes through them.
    (json's encoder with an indent is its Python one, which iterates a list: `iter`.)"""

    def __init__(self, rows: list[Row],
                 versions: dict[str, tuple[int | str, int | str]]) -> None:
        super().__init__()
        self.rows = rows
        self.versions = versions

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (_entry(row, self.versions) for row in self.rows)


def _entry(row: Row, versions: dict[str, tuple[int | str, int | str]]) -> dict[str, Any]:
    """A finding of diff.json (`rule_version_change`: {"old", "new"}, its rule's logic
    versions where they differ or one is not recorded, `RunDiff.versions`; else null)."""
    change = versions.get(row.finding["rule"])
    return {"class": row.cls, "reason": row.reason,
            "waiver_change": row.waiver_change or None,
            "old_waived": row.old_waived, "new_waived": row.new_waived,
            **row.waiver_fields(),
            **{k: row.finding.get(k) for k in (
                "rule", "name", "severity", "case_id", "channel", "fingerprint",
                "amount_at_risk", "currency", "timestamp", "message", "event_ids")},
            "old_fingerprint": None if row.old is None
            or row.cls != "changed" else row.old["fingerprint"],
            "changes": row.differs if row.old is not None else None,
            "aged_only": row.aged,
            "worse_in_new": row.worse or None,
            "rule_version_change": None if change is None else {"old": change[0],
                                                                "new": change[1]}}


@gc_paused  # (millions of dicts, lists and rows, none in cycles: audit.gcpause)
def diff_runs(old: AuditRun, new: AuditRun) -> RunDiff:
    """The findings of both runs, each in its class (`CLASSES`), OLD's order then NEW's."""
    from audit.words import duration

    remaining: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in new.findings:
        remaining[finding["fingerprint"]].append(finding)
    rows: list[Row] = []
    for finding in old.findings:
        print_ = finding["fingerprint"]
        twins = remaining.get(print_)
        if twins:  # (a fingerprint twice in one run: paired in order)
            now = twins.pop(0)
            text = Row("still_open", "", now, None, None, old=finding).changes_text()
            if not text:  # (most: a Row made, not `replace`d, 25k at 100k cases)
                rows.append(Row("still_open", "in both runs", now, finding["waived"],
                                now["waived"], in_old=finding))
                continue
            row = Row("still_open", "in both runs", now, finding["waived"], now["waived"],
                      old=finding)
            if aged_only(finding, now, old.as_of, new.as_of):
                rows.append(replace(row, aged=True, reason=(
                    "in both runs, aged only: its wait measured to NEW's clock, "
                    f"{duration(new.as_of - old.as_of)} later (changes: {text})")))
                continue
            rows.append(replace(row, reason=f"in both runs, with changes: {text}"))
            continue
        rows.append(_gone(finding, old, new))
    for finding in new.findings:
        twins = remaining.get(finding["fingerprint"])
        if twins and twins[0] is finding:
            twins.pop(0)
            rows.append(_arrived(finding, old, new))
    if old.as_of == new.as_of and _inputs(old) != _inputs(new):
        rows = [replace(row, reason=row.reason + OTHER_INPUTS) if row.reason in (
            RESOLVED_REASON, NEW_REASON) else row for row in rows]
    rows = [_waivers(row, old, new) for row in _changed(rows, old)]
    versions = _version_changes(old, new)
    if versions:  # (their new, resolved and changed findings' reasons say so)
        rows = [replace(row, reason=row.reason + rule_change_told(
            row.finding["rule"], *versions[row.finding["rule"]]))
            if row.finding["rule"] in versions and row.rule_change_class else row
            for row in rows]
    order = (None if old.event_order == new.event_order or old.sha256 == new.sha256
             else (old.event_order, new.event_order))
    if order is not None:
        told = order_change_told(*order)
        rows = [replace(row, reason=row.reason + told) if row.rule_change_class else row
                for row in rows]
    diff = RunDiff(old, new, rows, _warnings(old, new), versions, order)
    diff.warnings.extend(run_id_warnings(diff))
    diff.warnings.extend(_rule_change_warnings(diff))
    if order is not None:
        change = diff.event_order_change() or {}
        counted = _told_counts(change.get("findings", {}))
        diff.warnings.append(
            f"OLD and NEW order a case's events at one time otherwise (findings.json "
            f"event_order {order[0]} in OLD, {order[1]} in NEW: {ORDER_WORDS[order[0]]} in "
            f"OLD, {ORDER_WORDS[order[1]]} in NEW): where a log's event ids were derived by "
            "refund-audit (an XES file, an OCEL log, a CSV or Parquet without ids) and "
            "events of a case share a time, a new, resolved or changed finding of a rule "
            "reading the order of events may come from that change, not from the refunds"
            + (f" (findings {counted}; whether a log's ids were derived is not recorded: "
               "these may come from the refunds alone)" if counted else ""))
    untied = [c for c, row in diff.money_bridge().items() if not row["adds_up"]]
    if untied:
        diff.warnings.append(
            f"the money at risk in {', '.join(untied)} does not tie out: OLD's total, plus "
            "and minus its cases' changes, is not NEW's total as NEW's check summed it, by a "
            "rounding: amounts finer than the currency's minor unit, each run's total "
            "rounded to it (an amount edited since its check is refused: each findings.json's "
            "total is checked against its findings when read)")
    return diff


def _version_changes(old: AuditRun,
                     new: AuditRun) -> dict[str, tuple[int | str, int | str]]:
    """Per code of a rule that ran in both runs, (OLD's logic version, NEW's), where they
    differ or one is not recorded (`AuditRun.version_of`: "unknown", of a findings.json
    before format 4: whether the rule changed is not known). Not where neither is
    recorded: "unknown -> unknown" on every rule tells nothing of one against another (one
    warning says the runs record none, `_rule_change_warnings`); nor where OLD and NEW are
    one file (the same sha256: no rule changed)."""
    out: dict[str, tuple[int | str, int | str]] = {}
    if old.sha256 == new.sha256:
        return out
    for code in sorted(old.rules_ran & new.rules_ran):
        was, now = old.version_of(code), new.version_of(code)
        if was != now:  # ("unknown" against a version too)
            out[code] = (was, now)
    return out


def rule_change_told(rule: str, was: int | str, now: int | str) -> str:
    """What the reason of a new, resolved or changed finding (or a still-open one with
    changes) adds where its rule's logic version differs between the runs, or is not
    recorded in one: that the finding may come from the rule's change."""
    unknown = [run for run, version in (("OLD", was), ("NEW", now))
               if version == UNKNOWN_VERSION]
    if unknown:
        return (f"; the logic version of its rule {rule} is not recorded in "
                f"{' and '.join(unknown)} (a findings.json before format "
                f"{RULE_VERSIONS_FORMAT}): it may come from a change of the rule, not from "
                "the refunds")
    return (f"; its rule {rule} judges otherwise since OLD (logic version {was} in OLD, "
            f"{now} in NEW): it may come from the rule's change, not from the refunds")


ORDER_WORDS = {1: "by event id, derived ids too",
               2: "by the ids the log states, else as the source lists them"}
"""Each `EVENT_ORDER_VERSION` in words."""


def order_change_told(was: int, now: int) -> str:
    """What the reason of a new, resolved or changed finding (or a still-open one with
    changes) adds where the runs order a case's events at one time otherwise: that the
    finding may come from the order's change, where its log's ids were derived."""
    return (f"; OLD and NEW order a case's events at one time otherwise (event_order {was} "
            f"in OLD, {now} in NEW): where its log's event ids were derived (XES, OCEL, a "
            "CSV or Parquet without ids) and its events share a time, it may come from that "
            "change, not from the refunds")


def _told_counts(counts: dict[str, int]) -> str:
    """A rule's findings that may come from its change, in words: "new 3, resolved 2"."""
    return ", ".join(f"{cls.replace('_', ' ')} {n}" for cls, n in counts.items() if n)


def _rule_change_warnings(diff: RunDiff) -> list[str]:
    """The warnings of rules whose logic version differs between the runs (one each), or
    of a run that records none (one for all: whether any rule changed is not known), with
    the findings that may come from the change; where neither run records them, that
    warning alone, no rule named (none where OLD and NEW are one file)."""
    changes = diff.rule_changes()
    old, new = diff.old, diff.new
    unknown = [run for run in (old, new) if run.rule_versions is None]
    if not changes and not (len(unknown) == 2 and old.sha256 != new.sha256):
        return []
    if unknown:
        formats = " and ".join(f"{run.which} format {run.manifest['format_version']}"
                               for run in unknown)
        counted = "; ".join(f"{code} {row['name']}: {_told_counts(row['findings'])}"
                            for code, row in changes.items() if any(row["findings"].values()))
        return [f"{' and '.join(run.which for run in unknown)} record"
                f"{'s' if len(unknown) == 1 else ''} no rule logic versions (findings.json "
                f"{formats}, before format {RULE_VERSIONS_FORMAT}): whether a rule's logic "
                "changed between the runs is unknown, and a new, resolved or changed finding "
                "may come from a change of its rule, not from the refunds"
                + (f" ({counted})" if counted else "")]
    out = []
    for code, row in changes.items():
        told = _told_counts(row["findings"])
        out.append(f"rule {code} ({row['name']}) judges otherwise since OLD: its logic version "
                   f"is {row['old_version']} in OLD, {row['new_version']} in NEW; " + (
                       f"its findings {told} may come from the rule's change, not from the "
                       "refunds" if told else "none of its findings is new, resolved or "
                       "changed"))
    return out


def _changed(rows: list[Row], old: AuditRun) -> list[Row]:
    """`rows` with each resolved finding paired with a new one of its rule and case
    (`_paired`) in one changed row, where the resolved one was; the others as they were."""
    gone: dict[tuple[str, str], list[int]] = defaultdict(list)
    arrived: dict[tuple[str, str], list[int]] = defaultdict(list)
    for at, row in enumerate(rows):
        if row.cls in ("resolved", "new"):
            key = (row.finding["rule"], row.finding["case_id"])
            (gone if row.cls == "resolved" else arrived)[key].append(at)
    replaced: dict[int, Row] = {}
    dropped: set[int] = set()
    for key, olds in gone.items():
        news = arrived.get(key)
        if not news:
            continue
        for was, now in _paired([rows[k].finding for k in olds],
                                [rows[k].finding for k in news]):
            before, after = rows[olds[was]].finding, rows[news[now]].finding
            row = Row("changed", "", after, before["waived"], after["waived"], old=before,
                      old_print_waived=before["waived"] and _by_print(before, old))
            replaced[olds[was]] = replace(
                row, reason="still open in NEW with other events or evidence (another "
                f"fingerprint): {row.changes_text() or 'no field compared differs'}")
            dropped.add(news[now])
    return [replaced.get(at, row) for at, row in enumerate(rows) if at not in dropped]


def _by_print(finding: dict[str, Any], run: AuditRun) -> bool:
    """Whether a waived finding of `run` was waived by a waiver naming its fingerprint (or
    its copy fingerprint), not its case: the one its `waived_by` names; of a findings.json
    without it, any of the policy's waivers naming its fingerprint."""
    if "waived_by" not in finding:
        return finding["fingerprint"] in run.waiver_prints
    waiver = run.waiver_of(finding)
    return waiver is not None and waiver.get("fingerprint") is not None


def _paired(olds: list[dict[str, Any]], news: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """One to one, the findings of one rule and case in OLD only and in NEW only, as
    (index in `olds`, index in `news`): each of OLD's, in the order of its time (the
    undated last) and fingerprint, with the free one of NEW sharing most of its events
    (the first in that order of those sharing as many); then those sharing none, in that
    order, each with the next free one. The same pairs whatever order the runs list them
    in; the unpaired are left."""
    old_order = sorted(range(len(olds)), key=lambda k: _order(olds[k]))
    new_order = sorted(range(len(news)), key=lambda k: _order(news[k]))
    free = list(new_order)
    pairs: list[tuple[int, int]] = []
    unshared: list[int] = []
    for was in old_order:
        events = set(olds[was]["event_ids"])
        best, most = None, 0
        for now in free:
            shared = len(events.intersection(news[now]["event_ids"]))
            if shared > most:
                best, most = now, shared
        if best is None:
            unshared.append(was)
        else:
            free.remove(best)
            pairs.append((was, best))
    pairs += zip(unshared, free, strict=False)  # (the unpaired left)
    return pairs


def _order(finding: dict[str, Any]) -> tuple[bool, str, str]:
    stamp = _time(finding["timestamp"])
    return (stamp is None, "" if stamp is None else
            stamp.astimezone(UTC).isoformat(), finding["fingerprint"])


RESOLVED_REASON = "NEW judged its case and did not find it"
RUNNING_RULES = ("CF001", "CF004")
"""The rules whose findings of a case depend on whether it ran at the clock (skipped-activity
and unfit-case judge a running case only on the SOP tasks that are due)."""
NEW_RUNNING_REASON = ("its case was running at OLD's clock: the SOP's tasks after its last "
                      "event were not due then")
GONE_RUNNING_REASON = ("its case is running at NEW's clock: the SOP's tasks after its last "
                       "event are not due yet there")
"""The reasons of a new and a resolved conformance finding (`RUNNING_RULES`) whose case ran
at the other run's clock: new to the committee, but the other run did not judge its tasks
(not due yet)."""
NEW_NOT_DUE_REASON = {
    "EV001": ("its case was not yet due for judgement at OLD's clock: neither paid, "
              "approved nor rejected (not yet decided), or approved and in progress; OLD did "
              "not judge its evidence"),
    "AP003": ("its case was not yet due for judgement at OLD's clock: approved and not paid "
              "(no money had left on one approval); OLD did not judge it"),
    "EV003": ("its case was not yet due for judgement at OLD's clock: approved and not paid, "
              "its grace period after the approval not yet over; OLD did not judge it"),
    "": "its case was not yet due for judgement at OLD's clock: OLD did not judge it"}
GONE_NOT_DUE_REASON = {
    "EV001": ("its case is not yet due for judgement at NEW's clock: neither paid, "
              "approved nor rejected (not yet decided), or approved and in progress; NEW did "
              "not judge its evidence"),
    "AP003": ("its case is not yet due for judgement at NEW's clock: approved and not paid; "
              "NEW did not judge it"),
    "EV003": ("its case is not yet due for judgement at NEW's clock: approved and not paid, "
              "its grace period after the approval not yet over; NEW did not judge it"),
    "": "its case is not yet due for judgement at NEW's clock: NEW did not judge it"}
"""The reasons of a new and a not re-judged finding of a rule that leaves a case for a later
clock (findings.json `not_due_cases`) whose case the other run left so: it did not judge
it (by rule code; "" for a rule not named here)."""
UNJUDGED_WHAT = {
    ("AP004", "role_not_recorded"): "its approver's role is not recorded in {run}",
    ("SD004", "role_not_recorded"): ("the role of who did its task is not recorded in "
                                     "{run}"),
    ("", "role_not_recorded"): "the role of who did it is not recorded in {run}",
    ("", "name_not_told_apart"): ("who is who cannot be told in {run}: a name its Jira "
                                  "exports tell apart by accountId is named bare by another "
                                  "input")}
"""Why a rule could not judge events of a case (findings.json `unjudged_cases`), by rule
code and reason ("" for a rule not named here), of OLD or NEW (`{run}`)."""


UNJUDGED_WHOLE = {
    ("EV008", "no_purchase_before_request"): ("its case holds no purchase at or before its "
                                              "request in {run}, the start of the refund "
                                              "window"),
    ("DU002", "receipt_generic"): ("its case holds a receipt held by more cases in {run} "
                                   "than the policy's receipt_max_cases, a generic value, "
                                   "not compared")}
"""Why a rule could not judge a case as a whole (findings.json `unjudged_cases`), by rule
code and reason, of OLD or NEW (`{run}`): outside-refund-window's granted refund with no
purchase to measure its window from; receipt-reused's case holding a generic receipt."""


def unjudged_told(rule: str, reason: str, run: str) -> str:
    """The reason of a not re-judged (`run` NEW) or new (`run` OLD) finding whose case the
    other run lists in `unjudged_cases` for its rule: "not judged in full: its approver's
    role is not recorded in NEW for some of its case's events, perhaps the one this finding
    cites (a gap in the data, not shown to be a fix)". The lists name cases, not events: the
    other run may have judged the very event this finding cites (a role corrected there,
    another event's blanked), so the reason does not say it did not (before: "not judged:
    ... (a gap in the data, not a fix)", false of such a case). A reason of a whole case
    (`UNJUDGED_WHOLE`: outside-refund-window's, no purchase to measure the window from) is
    told of the case: "not judged: its case holds no purchase ..."."""
    if (rule, reason) in UNJUDGED_WHOLE:
        # (the case as a whole, not some of its events: nothing to measure it from)
        whole = UNJUDGED_WHOLE[(rule, reason)].format(run=run)
        return (f"not judged: {whole} (a gap in the data, not shown to be a fix)"
                if run == "NEW" else f"{run} did not judge its case: {whole}")
    what = UNJUDGED_WHAT.get((rule, reason)) or UNJUDGED_WHAT.get(("", reason))
    told = (f"{what.format(run=run)} for some of its case's events" if what is not None
            else f"{run} could not judge some events of its case ({reason})")
    return (f"not judged in full: {told}, perhaps the one this finding cites (a gap in the "
            "data, not shown to be a fix)" if run == "NEW"
            else f"{run} did not judge all of its case: {told}, perhaps the one this finding "
            "cites")


NEW_REASON = "OLD judged its case and did not find it"
OTHER_INPUTS = (", at the same clock from other inputs: its case's events differ between the "
                "runs' inputs (a re-export or a correction, not a fix in time)")
"""Added to `RESOLVED_REASON` and `NEW_REASON` where the runs' clocks are the same and
their inputs (sha256) differ."""


def _inputs(run: AuditRun) -> list[tuple[str, str]]:
    """The run's inputs as its manifest names them: (sha256, file), sorted."""
    return sorted((str(i.get("sha256")), str(i.get("file")))
                  for i in run.manifest.get("inputs") or [] if isinstance(i, dict))


def _gone(finding: dict[str, Any], old: AuditRun, new: AuditRun) -> Row:
    """A finding of OLD that NEW does not report: why."""
    rule, case = finding["rule"], finding["case_id"]
    waived = finding["waived"]
    by = new.suppressed.get(finding["fingerprint"])
    if by is not None:
        return Row("suppressed_in_new", f"NEW found it and suppressed it by precedence: {by} "
                   "reported on its case in its place", finding, waived, None)
    if rule not in new.rules_ran:
        how = "crashed" if rule in new.rule_names else "was not selected"
        return Row("not_comparable", f"rule {rule} {how} in NEW", finding, waived, None)
    if case not in new.judged:
        return Row("not_rejudged", "its case is not among the cases NEW judged (" + (
            "not in its inputs: the runs' clocks are the same" if new.as_of == old.as_of
            else "out of its period, or not in its inputs") + ")", finding, waived, None)
    if rule in new.unconfigured:
        return Row("not_rejudged", f"not judged: rule {rule} judged no case in NEW, "
                   f"{new.unconfigured[rule]} (a change of the policy, not shown to be a fix)",
                   finding, waived, None)
    stamp = _time(finding["timestamp"])
    if stamp is not None and stamp > new.as_of:
        return Row("not_rejudged", f"its event ({finding['timestamp']}) is after NEW's clock "
                   f"({new.as_of.isoformat()})", finding, waived, None)
    if rule in RUNNING_RULES and case in new.running:
        return Row("resolved", GONE_RUNNING_REASON, finding, waived, None)
    if case in new.not_due.get(rule, ()):
        return Row("not_rejudged", GONE_NOT_DUE_REASON.get(rule, GONE_NOT_DUE_REASON[""]),
                   finding, waived, None)
    reason = new.unjudged_reason(rule, case)
    if reason is not None:
        return Row("not_rejudged", unjudged_told(rule, reason, "NEW"), finding, waived, None)
    return Row("resolved", RESOLVED_REASON, finding, waived, None)


def _arrived(finding: dict[str, Any], old: AuditRun, new: AuditRun) -> Row:
    """A finding of NEW that OLD did not report: why."""
    rule = finding["rule"]
    waived = finding["waived"]
    by = old.suppressed.get(finding["fingerprint"])
    if by is not None:
        return Row("suppressed_in_old", f"OLD found it and suppressed it by precedence: {by} "
                   "reported on its case in its place", finding, None, waived)
    if rule not in old.rules_ran:
        how = "crashed" if rule in old.rule_names else "was not selected"
        return Row("not_comparable", f"rule {rule} {how} in OLD", finding, None, waived)
    if rule in old.unconfigured:
        return Row("new", f"OLD did not judge its case: rule {rule} judged no case in OLD, "
                   f"{old.unconfigured[rule]}", finding, None, waived)
    if finding["case_id"] not in old.judged:
        return Row("new", "its case is not among the cases OLD judged", finding, None, waived)
    stamp = _time(finding["timestamp"])
    if stamp is not None and stamp > old.as_of:
        return Row("new", f"its event ({finding['timestamp']}) is after OLD's clock "
                   f"({old.as_of.isoformat()})", finding, None, waived)
    if rule in RUNNING_RULES and finding["case_id"] in old.running:
        return Row("new", NEW_RUNNING_REASON, finding, None, waived)
    if finding["case_id"] in old.not_due.get(rule, ()):
        return Row("new", NEW_NOT_DUE_REASON.get(rule, NEW_NOT_DUE_REASON[""]), finding,
                   None, waived)
    reason = old.unjudged_reason(rule, finding["case_id"])
    if reason is not None:
        return Row("new", unjudged_told(rule, reason, "OLD"), finding, None, waived)
    return Row("new", NEW_REASON, finding, None, waived)


def _waivers(row: Row, old: AuditRun, new: AuditRun) -> Row:
    """`row` with the waivers that waive it in OLD and NEW, how its waiver ended, and of a
    new finding NEW waives already, its reason telling so."""
    if not row.old_waived and not row.new_waived:  # (no waiver to name: most rows)
        return row
    was = row.old if row.old is not None else row.in_old if row.in_old is not None \
        else row.finding
    old_waiver = old.waiver_of(was) if row.old_waived else None
    new_waiver = new.waiver_of(row.finding) if row.new_waived else None
    ended = ""
    if row.waiver_change == "waiver_ended":
        again = old_waiver and next((w for w in new.waivers if all(
            w.get(k) == old_waiver.get(k) for k in ("rule", "case", "fingerprint"))), None)
        expires = old_waiver.get("expires") if old_waiver else None
        if (again and again.get("status") == "expired") or (
                isinstance(expires, str) and expires < new.as_of.date().isoformat()):
            ended = "expired"
        elif old_waiver is not None and again is None:
            ended = "removed"
        else:
            ended = "no longer matches"
    reason = row.reason
    if row.cls == "new" and row.new_waived:
        reason += "; waived in NEW already" + (
            f" ({new_waiver.get('reason')}, approved by {new_waiver.get('approved_by')})"
            if new_waiver else "")  # (diff.json and diff.csv only, not the console)
    return replace(row, old_waiver=old_waiver, new_waiver=new_waiver, ended=ended,
                   reason=reason)


def _decimal(amount: float) -> Decimal:
    """An amount as findings.json writes it (its shortest repr), exactly."""
    return Decimal(repr(float(amount)))


def _first(found: set[str], order: tuple[str, ...]) -> str:
    return next((why for why in order if why in found), sorted(found)[0])


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def _warnings(old: AuditRun, new: AuditRun) -> list[str]:
    # (each once: one folder given as OLD and NEW told its missing SHA256SUMS twice)
    out = list(dict.fromkeys(told for told in (old.checksum_told, new.checksum_told)
                             if told is not None))
    if old.sha256 == new.sha256:
        out.append(f"OLD and NEW are the same findings.json (sha256 {old.sha256[:12]}): the "
                   "same run given twice? every finding is still open, nothing is compared")
    policies = [run.manifest["policy"].get("sha256") for run in (old, new)]
    if policies[0] != policies[1]:
        out.append(f"the runs used different policies (OLD {_named(old.manifest['policy'])}, "
                   f"NEW {_named(new.manifest['policy'])}): a change may come from the policy "
                   "(its limits, roles, waivers, rules), not from the refunds")
    sops = [_sops(run.manifest["sop"]) for run in (old, new)]
    if sops[0] != sops[1]:
        channels = sorted(k for k in sops[0].keys() | sops[1].keys()
                          if sops[0].get(k) != sops[1].get(k))
        out.append("the runs used different SOPs for " + ", ".join(channels)
                   + ": a conformance finding (CF*) may come from the model, not from the "
                   "refunds")
    digests = [{d for d, _ in _inputs(run)} for run in (old, new)]
    if digests[0] != digests[1]:
        only = [{Path(f).name for d, f in _inputs(run) if d not in other}
                for run, other in ((old, digests[1]), (new, digests[0]))]
        from audit.safety import shown_on_one_line

        parts = [f"{what} {', '.join(map(shown_on_one_line, sorted(names)))}"
                 for what, names in (
            ("another sha256:", only[0] & only[1]), ("in OLD only:", only[0] - only[1]),
            ("in NEW only:", only[1] - only[0])) if names]
        out.append("the runs read different inputs (their sha256 in the manifests): "
                   + "; ".join(parts) + (
                       ": at the same clock, a finding resolved or new comes from the inputs "
                       "(a re-export, a correction), not from a fix"
                       if old.as_of == new.as_of else ""))
    if new.as_of < old.as_of:
        out.append(f"NEW's clock ({new.as_of.isoformat()}) is before OLD's "
                   f"({old.as_of.isoformat()}): are OLD and NEW the wrong way round?")
    unran = sorted(old.rules_ran ^ new.rules_ran)
    if unran:
        out.append(f"{len(unran)} rule(s) ran in one run only ({', '.join(unran)}): their "
                   "findings are not comparable, neither new nor resolved")
    return out


def _named(policy: dict[str, Any]) -> str:
    name = Path(str(policy.get("file"))).name if policy.get("file") else "(no file)"
    digest = policy.get("sha256")
    return f"{name} sha256 {str(digest)[:12]}" if digest else name


def _sops(entries: Iterable[Any]) -> dict[str, Any]:
    return {str(e.get("channel")): (e.get("sha256"), e.get("process"))
            for e in entries if isinstance(e, dict)}


def csv_text(rows: list[Row],
             versions: dict[str, tuple[int | str, int | str]] | None = None) -> str:
    """diff.csv's text (`csv_chunks`, joined)."""
    return "".join(csv_chunks(rows, versions=versions))


CSV_CHUNK = 10_000
"""How many findings `csv_chunks` makes into a piece of diff.csv at a time."""


def csv_chunks(rows: list[Row], chunk: int = CSV_CHUNK, *,
               versions: dict[str, tuple[int | str, int | str]] | None = None
               ) -> Iterator[str]:
    """diff.csv in pieces of `chunk` findings (not its whole text at once): a header, then
    one row per finding (`CSV_COLUMNS`), every text cell a
    spreadsheet would read as a formula neutralised as findings.csv's are
    (`audit.safety.neutralise_cell`), the amount in its currency's minor units
    (`reports.writers.amount_text`), a boolean (old_waived, new_waived, aged_only) TRUE or
    FALSE as findings.csv writes one (`reports.writers._csv_text`), not Python's True; a
    finding's `rule_version_change` "1 -> 2" where its rule's logic versions differ between
    the runs (`versions`, `RunDiff.versions`), "unknown -> 1" where one is not recorded."""
    from audit.csvtext import csv_lines
    from audit.safety import neutralise_cell
    from reports.writers import _csv_text, amount_text

    def cell(value: Any) -> str:
        return _csv_text(neutralise_cell(value))

    # (a cell's field is the same whichever rows are made with it: `csv_fields`)
    changes = {code: f"{was} -> {now}" for code, (was, now) in (versions or {}).items()}
    columns: list[list[str]] = [[name] for name in CSV_COLUMNS]
    for at_row, row in enumerate(rows):
        if at_row and at_row % chunk == 0:
            yield csv_lines(columns)
            columns = [[] for _ in CSV_COLUMNS]
        finding, before = row.finding, row.old
        values = {"class": row.cls, "reason": row.reason, "waiver_change": row.waiver_change,
                  **row.waiver_fields(),
                  "old_waived": row.old_waived, "new_waived": row.new_waived,
                  **{k: finding[k] for k in ("rule", "name", "severity", "case_id", "channel",
                                             "fingerprint", "currency", "timestamp",
                                             "message")},
                  "amount_at_risk": amount_text(finding["amount_at_risk"],
                                                finding["currency"]),
                  "aged_only": row.aged, "worse_in_new": row.worse or None,
                  "old_fingerprint": None, "changes": None, "old_amount_at_risk": None,
                  "old_events": None, "events": None, "old_message": None,
                  "rule_version_change": changes.get(finding["rule"])}
        if before is not None:
            values.update({"old_fingerprint": before["fingerprint"]
                           if row.cls == "changed" else None,
                           "changes": row.changes_text(),
                           "old_amount_at_risk": amount_text(before["amount_at_risk"],
                                                             before["currency"]),
                           "old_events": len(before["event_ids"]),
                           "events": len(finding["event_ids"]),
                           "old_message": before["message"]})
        for at, name in enumerate(CSV_COLUMNS):
            columns[at].append(values[name] if name in ("amount_at_risk",
                                                        "old_amount_at_risk")
                               and values[name] is not None else cell(values[name]))
    yield csv_lines(columns)


@gc_paused  # (millions of dicts, lists and rows, none in cycles: audit.gcpause)
def write_diff(diff: RunDiff, folder: Path) -> list[Path]:
    """diff.json and diff.csv written into `folder` (the staging folder)."""
    json_path, csv_path = folder / "diff.json", folder / "diff.csv"
    with json_path.open("w", encoding="utf-8") as out:  # (in pieces: `json_chunks`)
        out.writelines(diff.json_chunks())
    with csv_path.open("w", encoding="utf-8", newline="") as out:
        out.writelines(csv_chunks(diff.rows, versions=diff.versions))
    return [json_path, csv_path]


def _not_comparable_parts(by_run: dict[str, int], waived: dict[str, int]) -> str:
    """What not comparable's count holds: each run's findings (OLD's of a rule that ran in
    OLD only, NEW's of one that ran in NEW only), and of each the waived ones. Of one run's
    findings only (a rule's), that run named: "(of OLD, of which 1 waived in OLD)"."""
    sides = [side for side in ("OLD", "NEW") if by_run.get(side)]
    if not sides:
        return ""

    def part(side: str) -> str:
        return (f"{by_run[side]:,} of {side}" if len(sides) > 1 else f"of {side}") + (
            f", of which {waived[side]:,} waived in {side}" if waived.get(side) else "")

    return " (" + "; ".join(part(side) for side in sides) + ")"


def summary_lines(diff: RunDiff) -> list[str]:
    """The console's summary, as check's: the runs, the counts per class, the waivers'
    changes, the money at risk of the new and still-open findings, per rule, warnings."""
    from audit.safety import shown_on_one_line
    from audit.words import counted

    old, new = diff.old, diff.new
    counts = diff.counts()
    waived = diff.waived_per_class()
    by_run = diff.not_comparable_by_run()

    def of_which(c: str) -> str:
        """What a class's count holds: the waived findings among it (counted apart from the
        open ones, as each run's check counts them), of not comparable each run's part, a
        still-open one's changes."""
        if c == "not_comparable":
            return _not_comparable_parts(by_run, {side: waived[side][c] for side in waived})
        parts = [f"{waived[side][c]:,} waived in {side}" if waived[side].get(c) else ""
                 for side in ("NEW", "OLD")]
        if c == "still_open":
            parts += [f"{diff.still_open_with_changes():,} with changes"
                      if diff.still_open_with_changes() else "",
                      f"{diff.still_open_aged():,} aged only" if diff.still_open_aged() else ""]
        shown_parts = [part for part in parts if part]
        return f" (of which {', '.join(shown_parts)})" if shown_parts else ""

    def findings_of(run: AuditRun) -> str:
        """A run's findings as its check counts them: the open ones, and the waived apart."""
        n_waived = sum(1 for finding in run.findings if finding.get("waived"))
        return counted(len(run.findings) - n_waived, "finding") + (
            f" and {n_waived:,} waived" if n_waived else "")

    lines = [f"OLD {old.path}: clock {old.as_of.isoformat()}, {findings_of(old)}, "
             f"{counted(len(old.judged), 'case')} judged",
             f"NEW {new.path}: clock {new.as_of.isoformat()}, {findings_of(new)}, "
             f"{counted(len(new.judged), 'case')} judged",
             *run_id_lines(diff),
             "findings: " + ", ".join(
                 f"{CLASS_WORDS[c]} {counts[c]:,}{of_which(c)}"
                 for c in CLASSES if counts[c] or c in ("new", "still_open", "changed",
                                                        "resolved"))]
    waivers = diff.waiver_changes()
    if any(waivers.values()) or diff.new_waived():
        ended = diff.waivers_ended()
        lines.append(f"waivers: added in NEW {waivers['waiver_added']:,}, ended in NEW "
                     f"{waivers['waiver_ended']:,}" + (
                         " (" + ", ".join(f"{how} {n:,}" for how, n in ended.items()) + ")"
                         if ended else "") + (
                         f", on new findings NEW waives already {diff.new_waived():,}"
                         if diff.new_waived() else "") + (
                         f", on a changed finding's old fingerprint, not matching it in NEW "
                         f"(approve it again) {waivers['waiver_on_old_fingerprint']:,}"
                         if waivers["waiver_on_old_fingerprint"] else ""))
    money = diff.money_at_risk()
    lines.append("money at risk: " + "; ".join(
        f"{CLASS_WORDS[c]} " + (", ".join(f"{shown(v, k)} {k}" for k, v in money[c].items())
                                or "none") for c in MONEY_CLASSES))
    if any(money.values()):
        lines.append(f"  (money at risk: {MONEY_DEFINITION})")
    for currency, row in diff.money_bridge().items():
        def split(amounts: dict[str, float], currency: str = currency) -> str:
            return " (" + ", ".join(f"{k.replace('_', ' ')} {shown(v, currency)}"
                                    for k, v in amounts.items()) + ")" if amounts else ""

        lines.append(
            f"  {currency}: OLD {shown(row['old'], currency)}"
            f" + opened {shown(sum(row['opened'].values()), currency)}{split(row['opened'])}"
            f" - closed {shown(sum(row['closed'].values()), currency)}{split(row['closed'])}"
            f" + increased {shown(row['increased'], currency)}"
            f" - decreased {shown(row['decreased'], currency)}"
            f" = NEW {shown(row['new'], currency)}" + ("" if row["adds_up"]
                                                       else " (does not add up)"))
    for code, row in diff.by_rule().items():
        rule_waived = diff.rule_waived().get(code, {})

        def of_rule(c: str, row: dict[str, Any] = row,
                    rule_waived: dict[str, dict[str, int]] = rule_waived) -> str:
            if c == "not_comparable":
                return _not_comparable_parts(
                    row["not_comparable_by_run"],
                    {side: rule_waived.get(side, {}).get(c, 0) for side in ("OLD", "NEW")})
            parts = [f"{rule_waived[side][c]:,} waived in {side}"
                     for side in ("NEW", "OLD") if rule_waived.get(side, {}).get(c)]
            return f" (of which {', '.join(parts)})" if parts else ""

        parts = [f"{CLASS_WORDS[c]} {row[c]:,}{of_rule(c)}" for c in CLASSES if row[c]]
        change = diff.versions.get(code)
        lines.append(f"  {code} {row['name']:<26} " + ", ".join(parts) + (
            "" if change is None else f" (rule logic version {change[0]} -> {change[1]})"))
    unused = diff.unused_waivers()
    if unused:
        lines.append(f"waivers of NEW's policy that waived nothing in NEW: {len(unused):,} ("
                     + "; ".join(shown_on_one_line(f"{w.get('rule')} on " + (
                         f"fingerprint {w.get('fingerprint')}" if w.get("fingerprint")
                         else f"case {w.get('case')}") + f": {w.get('status')}")
                         for w in unused) + ")")
    lines += [f"warning: {warning}" for warning in diff.warnings]
    # Every value read from the findings.json files (paths, rule names and codes,
    # currencies, waivers, warnings' file names) on its line: a line break shown, never a
    # line of its own.
    return [shown_on_one_line(line) for line in lines]


def _short(digest: Any) -> str:
    return str(digest)[:12] if digest else "none"


def _part_lines(part: str, change: dict[str, Any]) -> list[str]:
    """What each run holds of a part of the run id that differs (`run_id_change`'s
    `parts`), in words, on one line per thing: an input by its file name and sha256 (the
    first 12 hex digits: diff.json holds them whole), a rule by its code."""
    from audit.runid import RUN_ID_PARTS

    words = RUN_ID_PARTS[part][0]
    if part == "inputs":
        lines = [f"{words}: {Path(c['new_file']).name} sha256 {_short(c['old_sha256'])} in "
                 f"OLD, {_short(c['new_sha256'])} in NEW" + (
                     f" (OLD's file {Path(c['old_file']).name})"
                     if Path(c["old_file"]).name != Path(c["new_file"]).name else "")
                 for c in change["changed"]]
        lines += [f"{words}: {Path(c['new_file']).name} (sha256 {_short(c['sha256'])}, the "
                  "same in both): its own quarantine (LOG.quarantine.csv) counted sha256 "
                  f"{_short(c['old_quarantine_sha256'])} in OLD, "
                  f"{_short(c['new_quarantine_sha256'])} in NEW"
                  for c in change["quarantine_changed"]]
        lines += [f"{words}: in {which} only: {Path(c['file']).name} sha256 {_short(c['sha256'])}"
                  for key, which in (("only_in_old", "OLD"), ("only_in_new", "NEW"))
                  for c in change[key]]
        return lines
    if part in ("policy", "mapping", "sources_config"):
        def named(entry: dict[str, Any] | None) -> str:
            if entry is None:
                return "none"
            return (f"{Path(str(entry['file'])).name} " if entry.get("file") else "") + (
                f"sha256 {_short(entry.get('sha256'))}")
        return [f"{words}: {named(change['old'])} in OLD, {named(change['new'])} in NEW"]
    if part == "sop":
        def sop(entry: dict[str, Any] | None) -> str:
            if entry is None:
                return "none"
            return (f"{Path(str(entry.get('file'))).name}"
                    + (f"#{entry['process']}" if entry.get("process") else "")
                    + f" sha256 {_short(entry.get('sha256'))}")
        return [f"{words}: {channel}: {sop(c['old'])} in OLD, {sop(c['new'])} in NEW"
                for channel, c in change.items()]
    if part in ("rule_versions", "import_options"):
        if set(change) == {"old", "new"} and not all(isinstance(v, dict)
                                                     for v in change.values()):
            def whole(value: Any) -> str:  # (one run records none: a findings.json before)
                if isinstance(value, dict):
                    return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
                return _recorded(value)
            return [f"{words}: {whole(change['old'])} in OLD, {whole(change['new'])} in NEW"]
        none = "not run" if part == "rule_versions" else "not set"
        return [f"{words}: " + ", ".join(
            f"{key} {none if c['old'] is None else c['old']} -> "
            f"{none if c['new'] is None else c['new']}" for key, c in change.items())]
    if part == "code":
        return [f"{words}: {_recorded(change['old'] and _short(change['old']))} in OLD, "
                f"{_recorded(change['new'] and _short(change['new']))} in NEW (another "
                "build of the tool's code)"]
    return [f"{words}: {_recorded(change['old'])} in OLD, {_recorded(change['new'])} in NEW"]


def _recorded(value: Any) -> str:
    """A part of a run id as the console tells it: "not recorded" where the run's manifest
    holds none (a findings.json written before it was)."""
    return "not recorded" if value is None else str(value)


def run_id_lines(diff: RunDiff) -> list[str]:
    """The console's lines of the runs' run ids (`RunDiff.run_id_change`): both ids, the
    parts of the run id that differ between the runs and those the same, what each run
    holds of each that differs, and whether the tool or what it read differs, or both."""
    from audit.runid import RUN_ID_PARTS

    change = diff.run_id_change()
    parts = change["parts"]

    def words(names: list[str]) -> str:
        told = [RUN_ID_PARTS[name][0] for name in names]
        return (", ".join(told[:-1]) + " and " + told[-1]) if len(told) > 1 else "".join(told)

    head = (f"run ids: OLD {change['old'] or 'none recorded'}, "
            f"NEW {change['new'] or 'none recorded'}")
    unknown = change["not_recorded"]
    unknown_tool = [p for p in unknown if RUN_ID_PARTS[p][1] == "tool"]
    neither = f"; neither run records the {words(unknown)}" if unknown else ""
    if not parts and not unknown:
        return [head + ": every part of the run id is the same in both (the same inputs, "
                "policy, SOPs, mapping, sources config, options, clock, rules' logic versions "
                "and code)"]
    if not parts:
        return [head + f": every part of the run id both record is the same in both"
                f"{neither}", f"  the tool cannot be shown the same: neither run records "
                f"the {words(unknown_tool)}" if unknown_tool else
                "  what neither records is no part of the tool"]
    lines = [head + f": they differ in the {words(change['differs'])}; the same: "
             f"{words(change['same']) or 'nothing'}{neither}"]
    for part, held in parts.items():
        lines += [f"  {line}" for line in _part_lines(part, held)]
    tool = [p for p in change["differs"] if RUN_ID_PARTS[p][1] == "tool"]
    read = [p for p in change["differs"] if RUN_ID_PARTS[p][1] != "tool"]
    if not tool and unknown_tool:
        lines.append(f"  the tool cannot be shown the same: neither run records the "
                     f"{words(unknown_tool)}; what differs between the runs comes from the "
                     f"{words(read)}, or from the tool")
    elif not tool:
        lines.append("  the tool is the same in both (code digest, version, rules' logic "
                     "versions, event order): what differs between the runs comes from "
                     f"the {words(read)}, not from the tool")
    elif not read:
        lines.append("  the inputs, policy, SOPs, mapping, sources config, options and clock "
                     "are the same in both: what differs between the runs comes from the "
                     f"tool ({words(tool)})")
    else:
        lines.append(f"  both the tool ({words(tool)}) and what it judged ({words(read)}) "
                     "differ: a finding new, resolved or changed may come from either")
    return lines


def run_id_warnings(diff: RunDiff) -> list[str]:
    """A warning per run whose recorded run id is not the one its manifest gives (its
    manifest edited since its check: `audit.runid.run_id_status`)."""
    from audit.runid import run_id

    change = diff.run_id_change()
    return [f"{run.which}'s run id {change[key]} is not the one its manifest gives "
            f"({run_id(run.manifest)}): its findings.json was edited since its check; the "
            "parts told are its manifest's as it now reads"
            for run, key in ((diff.old, "old"), (diff.new, "new"))
            if change[f"{key}_status"] == "differs"]


FAILING_SHOWN = 20
"""How many of the findings `diff --fail-on` fails on the console names (diff.json and
diff.csv mark them all: `worse_in_new`)."""


def fail_on_lines(diff: RunDiff, fail_on: str) -> list[str]:
    """The console's lines of `diff --fail-on`: how many findings of NEW at or above
    `fail_on` are worse than in OLD (`RunDiff.failing`), by why, and the first
    `FAILING_SHOWN` of them (rule, case, severity, fingerprint, why)."""
    from audit.safety import shown_on_one_line
    from audit.words import counted

    failing = diff.failing(fail_on)
    if not failing:
        return [f"fail-on {fail_on}: no finding of NEW at or above {fail_on} is new or worse "
                "than in OLD"]
    whys = {why: sum(1 for row in failing if row.worse == why) for why in WORSE_IN_NEW}
    lines = [f"fail-on {fail_on}: {counted(len(failing), 'finding')} of NEW at or above "
             f"{fail_on} new or worse than in OLD (" + ", ".join(
                 f"{why.replace('_', ' ')} {n}" for why, n in whys.items() if n) + ")"]
    for row in failing[:FAILING_SHOWN]:
        finding = row.finding
        was = f" (was {row.old['severity']})" if row.worse == "severity_rose" and row.old \
            else ""
        lines.append(f"  {finding['rule']} case {finding['case_id']} {finding['severity']}"
                     f"{was} {finding['fingerprint']}: {row.worse.replace('_', ' ')}")
    if len(failing) > FAILING_SHOWN:
        lines.append(f"  ... and {len(failing) - FAILING_SHOWN} more (diff --out DIR: "
                     "diff.json's and diff.csv's worse_in_new)")
    return [shown_on_one_line(line) for line in lines]
