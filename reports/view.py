"""The report's view model: everything report.html shows, computed from a CheckRun as plain data.

The view holds no markup; the template decides how it looks. `ReportView.as_dict()` is
JSON-able, so the same numbers can be checked against findings.json. Evidence shown in HTML
is bounded (`MAX_FINDINGS_PER_RULE`, `MAX_CASES`); the full lists stay in JSON, CSV and XLSX.
Hooks for later parts: `ReportView.graphs` takes more graphs (conformance overlay, model
diff), and `CaseView.graph_svg` a case's evidence graph.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.currency import NO_CURRENCY, currency_key, shown
from audit.findings import SEVERITIES, Finding, FindingColumns, money_buckets, severity_rank
from audit.ingest import input_labels
from audit.rules.base import FAMILIES, SECTIONS
from audit.runid import run_id_is
from audit.store import findings_json_written, imported_earlier_report
from audit.words import counted, moment
from reports.graphs import LegendKey
from reports.records import json_text

if TYPE_CHECKING:
    from audit.checkrun import CheckRun

MAX_FINDINGS_PER_RULE = 500
"""Findings listed per rule in the HTML report; the rest are counted in a note."""
MAX_CASES = 1000
"""Case details included in the HTML report (cases with findings, most severe first)."""
TOP_CASES = 10
QUARANTINED_SHOWN = 5
"""A case's quarantined input rows its details name (the others counted, in the
quarantine's file)."""
PRINT_EVENT_CASES = 50
"""Cases whose event tables a print of the report holds (the first ones shown, and any the
reader opened); the others print their summary and findings (1,000 cases with every
event took 1,269 pages)."""
CASE_ORDER = ("Cases are ordered by their most severe open finding; within a severity, by "
              "currency (the currency with the most open findings putting money at risk "
              "first; a case with amounts in several currencies goes under the first of "
              "them), then by the case's largest amount at risk in that currency, then by "
              "case id: amounts in different currencies are never compared.")
"""How `_most_severe_cases` orders the cases, as the report tells it."""
FINDING_ORDER = ("Findings are listed open before waived, most severe first; within a "
                 "severity, by currency (in the order of the case list: the currency with "
                 "the most open findings putting money at risk first, findings without an "
                 "amount at risk last), then by amount at risk in that currency, largest "
                 "first, then by case and time: amounts in different currencies are never "
                 "compared.")
"""How `_order` lists (and chooses the listed) findings of a rule, as the report tells it."""


@dataclass(frozen=True)
class Metric:
    """One overview number: a key for tests and scripts, a label, the raw and shown value."""

    key: str
    label: str
    value: float | int | str
    shown: str


@dataclass(frozen=True)
class SeverityCount:
    severity: str
    count: int
    share: float
    """Of all active findings, 0..1 (for the bar)."""


@dataclass(frozen=True)
class ChannelCount:
    """A channel's part of the summary (summary()["by_channel"])."""

    channel: str
    """The channel, "" for the cases stating none."""
    shown: str
    """The channel as the report names it (NO_CHANNEL for "")."""
    cases: int
    cases_with_findings: int
    findings: int
    waived: int
    money_at_risk: list[Money]


NO_CHANNEL = "(no channel)"
NOT_JUDGED = "(not judged)"
"""Population's item of the cases of which the rules judged no event (started activities
only), shown apart from the channels' cases."""
"""What the report's summary calls the channel of the cases stating none."""


@dataclass(frozen=True)
class RuleCount:
    code: str
    name: str
    family: str
    severity: str
    findings: int
    cases: int
    waived: int
    anchor: str
    crashed: bool = False
    """The rule crashed: it did not run, and its counts (0) are of no run."""
    note: str = ""
    """Where the policy sets nothing the rule judges by (findings.json's
    `summary.by_rule.<code>.note`, `Rule.not_configured`): "not configured: ...", its 0
    findings of no judgement; else ''."""
    logic_version: int | None = None
    """The rule's logic version as findings.json's manifest records it (`rule_versions`,
    `Rule.logic_version`): which version of its judgement made its findings."""


@dataclass(frozen=True)
class Money:
    currency: str
    amount: float
    shown: str
    figure: str
    """The amount alone, in the currency's minor units."""


@dataclass(frozen=True)
class InputView:
    file: str
    sha256: str
    read: int | None
    imported: int | None
    quarantined: int | None
    left_out: int | None = None
    """Of `imported`, the charge records correlation left out as sales."""
    duplicates_dropped: int | None = None
    """Of `read`, the records read twice (same id, same content): dropped."""
    earlier: str = ""
    """Of a canonical log written by `import`: the rows that import read and quarantined
    (`audit.store.imported_earlier_report`), which the counts above never include."""


@dataclass(frozen=True)
class EvidencePart:
    """A piece of an evidence item's shown value: its text, and where the text is a
    duration in words, the ISO 8601 text it tells (`title`, the page's tooltip)."""

    text: str
    title: str = ""


@dataclass(frozen=True)
class EvidenceItem:
    key: str
    value: str
    """The value as shown, whole (its durations in words)."""
    parts: tuple[EvidencePart, ...] = ()
    """The value in pieces, where it holds a duration shown in words (the page sets each
    one's ISO text as its title); empty where it holds none (`value` is shown)."""


@dataclass(frozen=True)
class DocSection:
    """One section of a rule's documentation: its title and text, split at `code` spans."""

    title: str
    parts: list[tuple[str, bool]]
    """(text, is_code) in order; line breaks of the docstring are kept in the text."""


@dataclass(frozen=True)
class FindingView:
    rule: str
    name: str
    severity: str
    severity_rank: int
    case_id: str
    case_anchor: str | None
    """Anchor of the case's details in this report (None when the case is not included)."""
    timestamp: str
    timestamp_shown: str
    message: str
    amount_at_risk: float | None
    amount_shown: str
    currency: str
    currency_rank: int
    """The finding's currency group in FINDING_ORDER (the table's At risk column sorts by
    it, then by amount): its place in currency_order; past every currency where no amount
    at risk is stated."""
    resources: list[str]
    activities: list[str]
    event_ids: list[str]
    evidence: list[EvidenceItem]
    waived: bool
    waiver_reason: str
    fingerprint: str
    case_quarantined_rows: int = 0
    """How many of its case's input rows were quarantined (`Finding.case_quarantined_rows`)."""
    channel: str = ""
    """Its case's channel (`Finding.channel`), "" where the case states none."""
    waiver_expired: str = ""
    """The expired waivers that match it, where it is open (`Finding.waiver_expired`), ""
    where none: shown under its message."""


@dataclass(frozen=True)
class RuleSection:
    code: str
    name: str
    family: str
    family_name: str
    severity: str
    summary: str
    docs: list[DocSection]
    """The rule's documentation sections (What it checks, Why it matters, ...)."""
    anchor: str
    findings_total: int
    """All findings of the rule, waived included (as in findings.json)."""
    active: int
    waived: int
    findings: list[FindingView]
    """The first MAX_FINDINGS_PER_RULE, most severe and costly first."""
    truncated: int
    """How many findings are not listed here."""
    crashed: str = ""
    """The rule's error where it crashed (it did not run), else ''."""
    logic_version: int | None = None
    """The rule's logic version (`RuleCount.logic_version`)."""
    open_by_severity: list[int] = field(default_factory=list)
    """Of `active`, how many of each severity (in SEVERITIES order): the page counts the
    findings a filter matches, listed or not, from these."""
    waived_by_severity: list[int] = field(default_factory=list)
    """Of `waived`, how many of each severity (in SEVERITIES order)."""
    cases_all: int = 0
    """Cases with a finding of the rule, waived included."""
    cases_open: int = 0
    """Cases with an open finding of the rule."""
    by_channel: dict[str, list[Any]] = field(default_factory=dict)
    """Per channel of the rule's findings' cases ("" where a case states none): its
    open_by_severity, waived_by_severity, cases_all and cases_open (the page counts the
    findings and cases the channel filter matches from these)."""


@dataclass(frozen=True)
class EventView:
    position: int
    event_id: str
    timestamp: str
    timestamp_shown: str
    activity: str
    resource: str
    role: str
    amount: str
    source_system: str
    source_file: str
    source_row: str
    flagged_by: list[str]
    """Codes of the findings that cite this event."""
    after_clock: bool = False
    """Dated after the audit's clock: listed with the case, not judged by the rules."""


@dataclass(frozen=True)
class CaseFindingView:
    rule: str
    name: str
    severity: str
    message: str
    waived: bool


@dataclass
class CaseView:
    case_id: str
    anchor: str
    channel: str
    worst_severity: str
    amount_at_risk: str
    rules: list[str]
    events: list[EventView]
    findings: list[CaseFindingView]
    waived_only: bool = False
    """Every finding of the case is waived: no open finding, nothing open at risk."""
    graph_svg: str | None = None
    """Sanitised inline SVG of the case's evidence graph (filled by the evidence-graph part)."""
    quarantined: list[tuple[str, str, str]] = field(default_factory=list)
    """The first QUARANTINED_SHOWN of the case's quarantined input rows: file, row, and
    what was wrong (`CheckRun.quarantined_rows_of`)."""
    quarantined_more: int = 0
    """How many more of its rows were quarantined than `quarantined` lists."""


@dataclass
class GraphView:
    name: str
    title: str
    caption: str
    svg: str | None
    """Sanitised inline SVG, or None when it could not be drawn (see `problem`)."""
    problem: str = ""
    legend_title: str = ""
    legend: list[LegendKey] = field(default_factory=list)
    """The graph's legend, shown under it (an SOP graph's scale of deviation)."""


@dataclass(frozen=True)
class ErrorView:
    rule: str
    name: str
    error: str


@dataclass(frozen=True)
class WaiverView:
    rule: str
    case: str
    status: str
    matched: int
    expires: str
    fingerprint: str = ""
    reason: str = ""
    approved_by: str = ""
    no_longer_waives: int = 0
    """An expired waiver's findings no waiver in force waives, reported open."""


@dataclass(frozen=True)
class ChannelConformanceView:
    """Conformance of one channel's cases to its SOP (summary()["conformance"])."""

    channel: str
    sop: str
    cases: int
    fitting_cases: int
    variants: int
    fitness: float | None
    precision: float | None
    fitness_shown: str
    precision_shown: str


@dataclass(frozen=True)
class DeviationView:
    """One of the most frequent deviations: a task skipped/inserted/out of order."""

    kind: str
    kind_shown: str
    task: str
    channel: str
    cases: int
    rule_anchor: str


@dataclass
class ReportView:
    title: str
    tool_version: str
    xlsx_written: bool
    """This run wrote findings.xlsx (the run details say its Summary shows the run id)."""
    run_id: str
    """The run id findings.json's manifest records (`audit.runid`: the SHA-256 of the
    inputs', policy's, SOPs' digests, options, clock, rule versions, tool version and code)."""
    run_id_is: str
    """What the run id is (`audit.runid.run_id_is`), as findings.xlsx's Summary says it."""
    code_sha256: str
    """The code digest the manifest records (`audit.runid.code_digest`), "" where none."""
    code_files: int
    libraries: str
    """The Python and libraries the manifest records (`audit.runid.library_versions`) as
    `python 3.11.9, pandas 2.2.3, ...`, "" where it records none (an older findings.json)."""
    data_files: str
    """The files of this run that list every finding ("findings.json and findings.csv"),
    or "" where it wrote none of them."""
    generated: str
    as_of: str
    command: str
    inputs: list[InputView]
    policy_file: str
    """The policy's file name (the Scope's), "(default)" for the bundled one."""
    policy_path: str
    """The policy's path as the manifest records it (the run details', as findings.xlsx's
    Summary and the SOPs' rows give theirs), "(default)" for the bundled one."""
    policy_sha256: str
    sop: list[str]
    sop_files: list[tuple[str, str, str]]
    """Per channel of the policy's SOPs: (channel, file, sha256 or "" where missing)."""
    period_start: str
    period_end: str
    channels: list[tuple[str, int]]
    metrics: list[Metric]
    by_severity: list[SeverityCount]
    by_rule: list[RuleCount]
    money_at_risk: list[Money]
    top_rules: list[RuleCount]
    by_channel: list[ChannelCount]
    """Per channel of the cases, its findings and money at risk (summary()["by_channel"])."""
    cases_by_channel: dict[str, list[int]]
    """Per channel of the findings' cases: its cases with a finding, and with an open one
    (`cases_total` and the summary's cases_with_findings, of the channel)."""
    top_cases: list[tuple[str, list[tuple[str, str, str, str]]]]
    """Per currency (in `currency_order`): (case id, case anchor or '', amount shown in that
    currency, rules) of the TOP_CASES cases with the most at risk in it."""
    rules: list[RuleSection]
    cases: list[CaseView]
    cases_total: int
    """Cases with findings, waived ones included; `cases` holds at most MAX_CASES of them."""
    errors: list[ErrorView]
    waivers: list[WaiverView]
    cases_waived_only: int = 0
    """Of `cases_total`, those whose every finding is waived (the summary's
    cases_with_findings counts the others)."""
    graphs: list[GraphView] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    conformance: list[ChannelConformanceView] = field(default_factory=list)
    top_deviations: list[DeviationView] = field(default_factory=list)
    deviations_source: str = ""
    """Where the deviations were read from: 'conformance result', 'findings' or ''."""
    case_order: str = CASE_ORDER
    """How the case details are ordered (CASE_ORDER)."""
    finding_order: str = FINDING_ORDER
    """How each rule's findings are listed, and the listed ones chosen (FINDING_ORDER)."""
    print_event_cases: int = PRINT_EVENT_CASES
    """Cases printed with their events (PRINT_EVENT_CASES)."""
    as_of_source: str = ""
    """Where the audit clock came from, for the run details (`clock_source`)."""
    json_written: bool = False
    """Whether this run wrote findings.json (which lists the findings suppressed)."""

    def metric(self, key: str) -> Metric:
        return next(m for m in self.metrics if m.key == key)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _data_files(formats: list[str] | None) -> str:
    """The findings files among the run's report formats (`write_reports` records them in
    the run's memo; all where not recorded), named in one phrase."""
    names = [name for fmt, name in (("json", "findings.json"), ("csv", "findings.csv"),
                                    ("xlsx", "findings.xlsx"))
             if formats is None or fmt in formats]
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# --- formatting ---------------------------------------------------------------------------
def money(amount: float | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    text = shown(amount, currency)
    return f"{text} {currency}" if currency else text


def clock_source(manifest: dict[str, Any]) -> str:
    """Where the manifest's clock came from, as the run details say it: a clock taken from
    the time of the run makes a later run of the same inputs differ, so the text gives the
    --as-of that re-runs the audit."""
    source = manifest.get("as_of_source")
    if source == "clock":
        return f"the time of the run: --as-of {manifest['as_of']} re-runs this audit"
    return {"--as-of": "set by --as-of", "policy": "as_of in the policy"}.get(str(source), "")


_WHOLE_UTC = re.compile(r"(\d{4})-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
"""A time in UTC to the second as the findings hold it ('2026-08-19T12:23:16+00:00')."""


def short_time(iso: str | None) -> str:
    """'2026-08-19T12:23:16+00:00' -> '2026-08-19 12:23:16 UTC' ("" for none): the time as
    the findings' messages tell it (`audit.words.moment`). A whole second in UTC
    (`_WHOLE_UTC`, a real date within pandas' years) is cut from its text, no Timestamp
    made (17k of them in a 100k-case report); any other the way `moment` tells it."""
    if not iso:
        return ""
    if type(iso) is str and (whole := _WHOLE_UTC.fullmatch(iso)) is not None \
            and 1678 <= int(whole.group(1)) <= 2261:
        try:
            datetime.fromisoformat(iso)
        except ValueError:
            return moment(iso)
        return f"{iso[:10]} {iso[11:19]} UTC"
    return moment(iso)


def _missing(value: Any) -> bool:
    """None, NaN, NA or NaT: a cell without a value."""
    return (value is None or (isinstance(value, float) and value != value)
            or value is pd.NA or value is pd.NaT)


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


_LINE_START = re.compile(r"^(?:[-*] |\d+\. |[A-Z][\w ()-]{0,40}: )")


def reflow(text: str) -> str:
    """Docstring text with its hard wraps undone: lines of a paragraph joined by spaces, but
    paragraphs, list items and 'Label:' lines (Violating:, Compliant:) kept on their own."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines: list[str] = []
        for line in (raw.strip() for raw in block.splitlines()):
            if lines and not _LINE_START.match(line):
                lines[-1] += " " + line
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def doc_parts(text: str) -> list[tuple[str, bool]]:
    """Docstring text reflowed and split at backticks: odd pieces are code spans."""
    return [(piece, index % 2 == 1) for index, piece in enumerate(reflow(text).split("`"))
            if piece]


NOT_RECORDED = "not recorded"
"""An evidence value the log does not state (None, NaN), as report.html shows it."""


def _evidence_value(value: Any) -> str:
    """An evidence item's value as shown: a text as it is, a value the log does not state
    as NOT_RECORDED (findings.csv and findings.json hold null: the page read "payout_charge
    null"), anything else as the JSON text findings.csv holds."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and value != value):
        return NOT_RECORDED
    return json_text(value)


def _evidence_item(rule: str, key: str, value: Any) -> EvidenceItem:
    """An evidence item as report.html shows it (`_evidence_value`), a duration in words as
    messages tell it ("63d 16h 11m", `audit.words.iso_duration_words`) with its ISO 8601
    text as its title: of the rules' duration keys alone (`DURATION_EVIDENCE`; of
    stage-overdue, each of its `stages`' `STAGE_DURATIONS`, the stages shown as their JSON
    with those values in words), and only where the value is an ISO 8601 duration (any
    other value as `_evidence_value` shows it). Before, the page showed "P63DT16H11M"."""
    from audit.findings import DURATION_EVIDENCE, STAGE_DURATIONS
    from audit.words import iso_duration_words

    if key in DURATION_EVIDENCE.get(rule, ()):
        words = iso_duration_words(value)
        if words is not None:
            return EvidenceItem(key, words, (EvidencePart(words, value),))
    elif rule == "SL002" and key == "stages" and isinstance(value, list) and any(
            isinstance(stage, dict) and any(iso_duration_words(stage.get(k)) is not None
                                            for k in STAGE_DURATIONS) for stage in value):
        parts: list[EvidencePart] = []
        text: list[str] = ["["]  # (the JSON text, as json_text writes it, in pieces)
        for i, stage in enumerate(value):
            if i:
                text.append(", ")
            if not isinstance(stage, dict):
                text.append(json_text(stage))
                continue
            text.append("{")
            for j, (name, item) in enumerate(stage.items()):
                text.append((", " if j else "") + json_text(str(name)) + ": ")
                words = (iso_duration_words(item) if name in STAGE_DURATIONS else None)
                if words is None:
                    text.append(json_text(item))
                    continue
                parts += [EvidencePart("".join(text) + '"'), EvidencePart(words, item)]
                text = ['"']
            text.append("}")
        text.append("]")
        parts.append(EvidencePart("".join(text)))
        return EvidenceItem(key, "".join(p.text for p in parts), tuple(parts))
    return EvidenceItem(key, _evidence_value(value))


# --- building -----------------------------------------------------------------------------
def _finding_view(finding: Finding, anchors: dict[str, str],
                  ranks: dict[str, int]) -> FindingView:
    key = currency_key(finding.currency)
    return FindingView(
        rule=finding.rule, name=finding.name, severity=finding.severity,
        severity_rank=severity_rank(finding.severity), case_id=finding.case_id,
        case_anchor=anchors.get(finding.case_id), timestamp=finding.timestamp or "",
        timestamp_shown=short_time(finding.timestamp), message=finding.message,
        amount_at_risk=finding.amount_at_risk,
        amount_shown=money(finding.amount_at_risk, key),  # "(no currency)" as the totals
        currency=finding.currency or "",
        currency_rank=len(ranks) + 1 if finding.amount_at_risk is None
        else ranks.get(key, len(ranks)), resources=list(finding.resources),
        activities=list(finding.activities), event_ids=list(finding.event_ids),
        evidence=[_evidence_item(finding.rule, str(k), v) for k, v in finding.evidence.items()],
        waived=finding.waived, waiver_reason=finding.waiver_reason or "",
        fingerprint=finding.fingerprint, case_quarantined_rows=finding.case_quarantined_rows,
        channel=finding.channel, waiver_expired=finding.waiver_expired or "")


OrderKey = tuple[int, int, int, float, str, str]


def currency_ranks(columns: FindingColumns) -> dict[str, int]:
    """Each money-at-risk bucket's (currency_key's) place in `currency_order`, the order
    the case list groups cases by (NO_CURRENCY at its own bucket's place)."""
    names, _, ranked = _currency_ranks(columns)
    none = len(names) - 1  # the NO_CURRENCY bucket (an empty code's bucket counts none)
    return {names[b]: place for place, b in enumerate(ranked)
            if b == none or names[b] != NO_CURRENCY}


def _order(ranks: dict[str, int]) -> Callable[[Finding], OrderKey]:
    """Listing order (FINDING_ORDER): active before waived, most severe, then by currency
    group (its place in `ranks`; no amount at risk last), the amount in that currency
    (largest first; NaN as 0), case and time. Raw amounts of different currencies are
    never compared."""
    last = len(ranks) + 1

    def key(finding: Finding) -> OrderKey:
        amount = finding.amount_at_risk
        if amount is None:
            group, value = last, 0.0
        else:
            group = ranks.get(currency_key(finding.currency), last - 1)
            value = 0.0 if amount != amount else -amount
        return (int(finding.waived), -severity_rank(finding.severity), group, value,
                finding.case_id, finding.timestamp or "")

    return key


def currency_order(columns: FindingColumns) -> list[str]:
    """The money-at-risk buckets (currencies, NO_CURRENCY) of the open findings that state
    an amount at risk: the one with the most such findings first, ties by code,
    NO_CURRENCY after the currencies with as many."""
    names, counted, ranked = _currency_ranks(columns)
    return [names[b] for b in ranked if counted[b]]


def _currency_ranks(columns: FindingColumns) -> tuple[list[str], Any, list[int]]:
    """(each bucket's name, open findings at risk per bucket, buckets in currency_order)."""
    names = [currency_key(name) for name in columns.currencies] + [NO_CURRENCY]
    bucket = money_buckets(columns)
    counted = np.bincount(bucket[~columns.waived & columns.has_amount],
                          minlength=len(names))
    ranked = sorted(range(len(names)),
                    key=lambda b: (-int(counted[b]), names[b] == NO_CURRENCY, names[b]))
    return names, counted, ranked


def _rule_totals(columns: FindingColumns) -> dict[str, tuple[Any, Any, int, int]]:
    """Per rule: its open and its waived findings per severity (arrays in SEVERITIES
    order), and its cases with a finding, and with an open one (in numpy: 235,008
    findings at 1M cases)."""
    rules, levels = len(columns.rules), len(SEVERITIES)
    if not rules:
        return {}
    cell = (columns.rule * levels + columns.severity) * 2 + columns.waived.astype(np.int64)
    counts = np.bincount(cell, minlength=rules * levels * 2).reshape(rules, levels, 2)
    # (rule, case) pairs marked in a table of rules x cases (np.unique sorted the pairs:
    # 50 ms each at 235k findings; 4.8 MB of flags at 200,179 cases and 24 rules)
    k = max(columns.cases, 1)
    pair = columns.rule * k + columns.case
    seen = np.zeros(rules * k, dtype=bool)
    seen[pair] = True
    cases_all = seen.reshape(rules, k).sum(axis=1)
    seen[:] = False
    seen[pair[~columns.waived]] = True
    cases_open = seen.reshape(rules, k).sum(axis=1)
    return {name: (counts[r, :, 0], counts[r, :, 1], int(cases_all[r]), int(cases_open[r]))
            for r, name in enumerate(columns.rules)}


def _rule_totals_by_channel(columns: FindingColumns, codes: Any, channels: list[str]
                            ) -> dict[str, dict[str, list[Any]]]:
    """`_rule_totals` per rule and channel (`codes`: each finding's channel's code into
    `channels`, `CheckRun.finding_channels`): per rule, per channel of its findings, its
    open and waived findings per severity and its cases with a finding, and with an open
    one; counted once for every pair of rule and channel, as `_rule_totals` counts
    rules."""
    n = max(len(channels), 1)
    pairs = replace(columns, rule=columns.rule * n + codes,
                    rules=[f"{r}\x00{c}" for r in columns.rules for c in channels])
    out: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for key, (open_, waived, cases_all, cases_open) in _rule_totals(pairs).items():
        if cases_all:
            rule, channel = key.split("\x00", 1)
            out[rule][channel] = [open_.tolist(), waived.tolist(), cases_all, cases_open]
    return dict(out)


def _cases_by_channel(columns: FindingColumns, codes: Any, channels: list[str]
                      ) -> dict[str, list[int]]:
    """Per channel (`codes` into `channels`, per finding): its cases with a finding, and
    with an open one (the case list's totals where the channel filter is set)."""
    case_channel = np.full(max(columns.cases, 1), -1, dtype=np.int64)
    case_channel[columns.case] = codes
    all_ = np.bincount(case_channel[np.unique(columns.case)], minlength=len(channels))
    open_ = np.bincount(case_channel[np.unique(columns.case[~columns.waived])],
                        minlength=len(channels))
    return {name: [int(all_[k]), int(open_[k])] for k, name in enumerate(channels)
            if all_[k]}


def _most_severe_cases(columns: FindingColumns, count: int) -> list[str]:
    """The `count` most severe cases of the findings (as `finding_columns` gives them), in
    the order CASE_ORDER tells: the cases with a finding not waived first, by the highest
    severity among those findings; then the cases whose every finding is waived, ranked so
    by all their findings. Within a severity, by currency group: a case's group is the
    first, in `currency_order`, of the currencies its findings (the same ones) put an
    amount at risk in (cases with no amount at risk last); within a group, by the case's
    largest amount at risk in that currency (a NaN amount counts as 0); ties by case id.
    Raw amounts of different currencies are never compared.

    The keys per case are taken in numpy, the cases ordered by them there, and only the
    cases that reach the `count`-th one's keys are sorted by id as well (the report shows
    MAX_CASES of 200,179 cases at 1M; the per-finding dictionaries of maxima this replaced
    took 0.8-1.1 s there)."""
    if not len(columns.case) or count <= 0:
        return []
    k = columns.cases
    case = columns.case
    amount = np.where(np.isnan(columns.amount), 0.0, columns.amount)
    has_active = np.bincount(case[~columns.waived], minlength=k) > 0
    # the findings each case ranks by: its open ones, or all where every one is waived
    used = ~columns.waived | ~has_active[case]
    rank = np.full(k, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(rank, case[used], columns.severity[used])
    # a case whose every finding is waived ranks after every open one (its ranks moved
    # below the lowest severity's)
    rank = np.where(has_active, rank, rank - len(SEVERITIES))
    _, _, ranked = _currency_ranks(columns)
    none = len(ranked)  # the group of the findings without an amount at risk: last
    position = np.empty(none, dtype=np.int64)
    position[ranked] = np.arange(none)
    finding_group = np.where(columns.has_amount, position[money_buckets(columns)], none)
    group = np.full(k, none, dtype=np.int64)
    np.minimum.at(group, case[used], finding_group[used])
    in_group = used & (finding_group == group[case])
    top = np.full(k, -np.inf)
    np.maximum.at(top, case[in_group], amount[in_group])
    by_keys = np.lexsort((-top, group, -rank))  # most severe first
    if k > count:  # the cases tied with the count-th one too, for their ids to decide
        last = by_keys[count - 1]
        same = rank == rank[last]
        reach = (rank > rank[last]) | (same & (group < group[last])) | (
            same & (group == group[last]) & (top >= top[last]))
        candidates = np.flatnonzero(reach)
    else:
        candidates = by_keys
    keyed = zip((-rank[candidates]).tolist(), group[candidates].tolist(),
                (-top[candidates]).tolist(), columns.case_names(candidates), strict=True)
    return [case_id for *_, case_id in heapq.nsmallest(count, keyed)]


AFTER_CLOCK = "after_clock"
"""The key of an event record of `_events_by_case` that says it is dated after the clock."""


def _events_by_case(log: pd.DataFrame, case_ids: list[str],
                    clock: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The events of `case_ids` as records, per case in the order the rules judged them
    (`canonical.EVENT_ORDER`: time, then the ids the log states, else the source's order,
    `SAME_TIME_ORDER`, so a timeline shows two events at one time as the conformance check
    took them). Every event of the case, those dated after
    the audit's `clock` too, each with `AFTER_CLOCK` saying whether it is (the rules did
    not judge it: the page shows the whole case and what was judged)."""
    if not case_ids or log.empty:
        return {}
    part = log[C.text_isin(log[C.CASE], case_ids)]
    order = C.event_order(part)
    if order is not None:
        part = part.take(order)
    after = (C.dated_after(part, clock) if clock is not None
             else np.zeros(len(part), dtype=bool)).tolist()
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record, late in zip(part.to_dict("records"), after, strict=True):  # one conversion
        row = {str(k): v for k, v in record.items()}
        row[AFTER_CLOCK] = late
        out[str(record[C.CASE])].append(row)
    return dict(out)


def cases_by_channel(run: CheckRun) -> Counter[str]:
    """How many cases each channel has: a case's channel is the one the rules judged it by
    (`CheckRun.case_channels`: its ticket's, else the first its events state by time),
    NO_CHANNEL ("(no channel)", as findings.xlsx and the channel filter name it) where
    none of its events states one; the cases of the log at the clock of which the rules
    judged no event (a case of started activities only) are their own item, NOT_JUDGED,
    not one of a channel (not a case whose every event is dated after the audit's clock,
    which the audit does not count). Before, a case stating no channel and a case not
    judged were both "unknown". Per case, not per event: no pass over the events but the
    count of the log's cases."""
    channels = run.case_channels()
    counts = C.filled_text(pd.Series(channels.array, copy=False), NO_CHANNEL).value_counts()
    out = Counter({str(k): int(n) for k, n in counts.items() if n})
    # (a case wholly after the audit's clock is no case of the audit)
    unjudged = int(run.log_at_clock()[C.CASE].nunique()) - len(channels)
    if unjudged > 0:
        out[NOT_JUDGED] += unjudged
    return out


def _currency_order(item: tuple[str, float]) -> tuple[bool, str]:
    """Amounts per currency in the order of the currencies' codes, NO_CURRENCY last."""
    return item[0] == NO_CURRENCY, item[0]


def _case_view(case_id: str, anchor: str, events: list[dict[str, Any]] | None,
               findings: list[Finding], order: Callable[[Finding], OrderKey],
               channel: str = "") -> CaseView:
    """A case's page: its events, findings and `channel` (the one the rules judged it by,
    `CheckRun.case_channels`, "" where it states none)."""
    cited: dict[str, list[str]] = defaultdict(list)
    for f in findings:
        for event_id in f.event_ids:
            if f.rule not in cited[event_id]:
                cited[event_id].append(f.rule)
    rows: list[EventView] = []
    if events is not None:
        for position, record in enumerate(events, start=1):
            stamp = record[C.TIMESTAMP]
            iso = "" if pd.isna(stamp) else pd.Timestamp(stamp).isoformat()
            amount = record.get(C.AMOUNT)
            amount_text = "" if amount is None or pd.isna(amount) else money(
                float(amount), _text(record.get(C.CURRENCY)) or None)
            event_id = _text(record[C.EVENT_ID])
            rows.append(EventView(
                position=position, event_id=event_id, timestamp=iso,
                timestamp_shown=short_time(iso), activity=_text(record[C.ACTIVITY]),
                resource=_text(record.get(C.RESOURCE)), role=_text(record.get(C.ROLE)),
                amount=amount_text, source_system=_text(record.get(C.SOURCE_SYSTEM)),
                source_file=_text(record.get(C.SOURCE_FILE)),
                source_row=_text(record.get(C.SOURCE_ROW)),
                flagged_by=cited.get(event_id, []),
                after_clock=bool(record.get(AFTER_CLOCK, False))))
    active = [f for f in findings if not f.waived]
    # A case whose every finding is waived has no open severity and nothing open at risk:
    # it is badged "waived" (its worst waived severity kept for the data).
    worst = max(active or findings, key=lambda f: severity_rank(f.severity)).severity
    at_risk: dict[str, float] = {}
    for f in active:
        if f.amount_at_risk is not None:
            key = currency_key(f.currency)
            at_risk[key] = max(at_risk.get(key, 0.0), f.amount_at_risk)
    return CaseView(
        case_id=case_id, anchor=anchor, channel=channel, worst_severity=worst,
        waived_only=not active,
        amount_at_risk=", ".join(money(v, k) for k, v in sorted(at_risk.items(),
                                                                 key=_currency_order)),
        rules=sorted({f.rule for f in findings}), events=rows,
        findings=[CaseFindingView(f.rule, f.name, f.severity, f.message, f.waived)
                  for f in sorted(findings, key=order)])


def _metrics(summary: dict[str, Any]) -> list[Metric]:
    cases = int(summary["cases"])
    clean = cases - int(summary["cases_with_findings"])
    rate = clean / cases if cases else 1.0
    return [
        Metric("cases", "Refund cases", cases, f"{cases:,}"),
        Metric("events", "Events", int(summary["events"]), f"{summary['events']:,}"),
        Metric("events_after_clock", "Events dated after the clock, not judged",
               int(summary.get("events_after_clock", 0)),
               f"{summary.get('events_after_clock', 0):,}"),
        Metric("events_not_complete",
               "Events not complete (lifecycle:transition start etc.), not judged",
               int(summary.get("events_not_complete", 0)),
               f"{summary.get('events_not_complete', 0):,}"),
        Metric("read", "Rows read", int(summary["read"]), f"{summary['read']:,}"),
        Metric("imported", "Rows imported", int(summary["imported"]),
               f"{summary['imported']:,}"),
        Metric("left_out", "Charges left out as sales", int(summary.get("left_out", 0)),
               f"{summary.get('left_out', 0):,}"),
        Metric("quarantined", "Rows quarantined", int(summary["quarantined"]),
               f"{summary['quarantined']:,}"),
        Metric("quarantined_in_cases_with_findings",
               "Quarantined rows in cases with findings",
               int(summary.get("quarantined_in_cases_with_findings", 0)),
               f"{summary.get('quarantined_in_cases_with_findings', 0):,}"),
        Metric("fields_unread", "Quarantine lines of one field alone (their records imported)",
               int(summary.get("fields_unread", 0)),
               f"{summary.get('fields_unread', 0):,}"),
        Metric("duplicates_dropped", "Duplicate records dropped",
               int(summary.get("duplicates_dropped", 0)),
               f"{summary.get('duplicates_dropped', 0):,}"),
        Metric("findings", "Findings", int(summary["findings"]), f"{summary['findings']:,}"),
        Metric("cases_with_findings", "Cases with findings",
               int(summary["cases_with_findings"]), f"{summary['cases_with_findings']:,}"),
        Metric("waived", "Waived findings", int(summary["waived"]), f"{summary['waived']:,}"),
        Metric("suppressed", "Findings suppressed by precedence",
               int(summary["suppressed_by_precedence"]),
               f"{summary['suppressed_by_precedence']:,}"),
        Metric("running_cases", "Cases running at the clock",
               int(summary.get("running_cases", 0)), f"{summary.get('running_cases', 0):,}"),
        Metric("conformance_rate", "Share of cases without findings", round(rate, 4),
               f"{rate:.1%}"),
        Metric("errors", "Rules that crashed", int(summary["errors"]),
               f"{summary['errors']:,}"),
    ]


_KIND_SHOWN = {"skipped": "skipped", "inserted": "inserted", "wrong-order": "out of order"}


def _conformance(summary: dict[str, Any]) -> list[ChannelConformanceView]:
    rows = []
    for channel, row in sorted(summary.get("conformance", {}).items()):
        fitness, prec = row.get("fitness"), row.get("precision")
        rows.append(ChannelConformanceView(
            channel=str(channel), sop=Path(str(row.get("sop", ""))).name,
            cases=int(row.get("cases", 0)), fitting_cases=int(row.get("fitting_cases", 0)),
            variants=int(row.get("variants", 0)), fitness=fitness, precision=prec,
            fitness_shown="n/a" if fitness is None else f"{fitness:.3f}",
            precision_shown="n/a" if prec is None else f"{prec:.3f}"))
    return rows


def _top_deviations(run: CheckRun, anchors: dict[str, str]) -> tuple[list[DeviationView], str]:
    from reports.overlay import run_deviations, top_deviations

    deviations = run_deviations(run)
    top = top_deviations(deviations)
    return ([DeviationView(d.kind, _KIND_SHOWN[d.kind], d.task, d.channel, d.cases,
                           anchors.get(d.rule, "")) for d in top],
            "" if deviations.source == "none" else deviations.source)


def build_view(run: CheckRun, *, graphs: list[GraphView] | None = None,
               max_findings_per_rule: int = MAX_FINDINGS_PER_RULE,
               max_cases: int = MAX_CASES) -> ReportView:
    """The report's content from a finished run (pure: reads the run, writes nothing)."""
    manifest = run.manifest()
    summary = run.summary()
    log = run.imported.log
    findings = run.result.findings
    active = [f for f in findings if not f.waived]

    columns = run.finding_columns()
    shown_cases = _most_severe_cases(columns, max_cases)
    anchors = {case_id: f"case-{i}" for i, case_id in enumerate(shown_cases, start=1)}
    ranks = currency_ranks(columns)
    order = _order(ranks)
    totals = _rule_totals(columns)
    nothing = (np.zeros(len(SEVERITIES), dtype=np.int64),) * 2 + (0, 0)
    channel_codes, channel_names = run.finding_channels()
    totals_by_channel = _rule_totals_by_channel(columns, channel_codes, channel_names)

    sections: list[RuleSection] = []
    rule_counts: list[RuleCount] = []
    crashes = {e.rule: e.error for e in run.result.errors}
    # (as findings.json's manifest records them, which `diff` compares: the version of each
    # rule's judgement that made its findings; "not recorded" where it records none, as
    # findings.xlsx says, not the version of the code rendering the report)
    versions = manifest.get("rule_versions") or {}
    per_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        per_rule[f.rule].append(f)
    for rule in run.result.rules:
        mine = per_rule.get(rule.code, [])
        waived = sum(1 for f in mine if f.waived)
        listed = heapq.nsmallest(max_findings_per_rule, mine, key=order)  # sorted()[:n]
        anchor = f"rule-{rule.code}"
        docs = rule.doc_sections()
        sections.append(RuleSection(
            code=rule.code, name=rule.name, family=rule.code[:2],
            family_name=FAMILIES.get(rule.code[:2], rule.code[:2]),
            severity=run.result.severity_of(rule),
            summary=rule.summary, anchor=anchor,
            docs=[DocSection(s, doc_parts(docs.get(s, ""))) for s in SECTIONS],
            findings_total=len(mine), active=len(mine) - waived, waived=waived,
            findings=[_finding_view(f, anchors, ranks) for f in listed],
            truncated=max(0, len(mine) - max_findings_per_rule),
            crashed=crashes.get(rule.code, ""),
            logic_version=versions.get(rule.code),
            open_by_severity=totals.get(rule.code, nothing)[0].tolist(),
            waived_by_severity=totals.get(rule.code, nothing)[1].tolist(),
            cases_all=totals.get(rule.code, nothing)[2],
            cases_open=totals.get(rule.code, nothing)[3],
            by_channel=totals_by_channel.get(rule.code, {})))
        row = summary["by_rule"][rule.code]
        rule_counts.append(RuleCount(rule.code, rule.name, FAMILIES.get(rule.code[:2], ""),
                                     row["severity"], int(row["findings"]), int(row["cases"]),
                                     waived, anchor, crashed=rule.code in crashes,
                                     note=str(row.get("note") or ""),
                                     logic_version=versions.get(rule.code)))

    total = len(active)
    by_severity = [SeverityCount(s, int(summary["by_severity"][s]),
                                 summary["by_severity"][s] / total if total else 0.0)
                   for s in reversed(SEVERITIES)]
    money_rows = [Money(k, float(v), money(float(v), k), shown(float(v), k))
                  for k, v in summary["money_at_risk"].items()]

    # Per currency, each case's largest open amount at risk in it: the top cases are
    # listed per currency, never ranked across currencies by their raw amounts.
    risk_by_currency: dict[str, dict[str, float]] = defaultdict(dict)
    for f in active:
        if f.amount_at_risk is not None:
            worst = risk_by_currency[currency_key(f.currency)]
            worst[f.case_id] = max(worst.get(f.case_id, 0.0), f.amount_at_risk)
    top = [(currency, heapq.nsmallest(  # sorted()[:n], one pass
        TOP_CASES, risk_by_currency[currency].items(), key=lambda kv: (-kv[1], kv[0])))
        for currency in currency_order(columns) if currency in risk_by_currency]
    # The findings of the cases shown and of the top cases only (not a list per case of
    # every case with a finding: 200,179 lists at 1M cases).
    wanted = {*shown_cases, *(case_id for _, listed in top for case_id, _ in listed)}
    by_case: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.case_id in wanted:
            by_case[f.case_id].append(f)

    case_frames = _events_by_case(log, shown_cases, run.result.as_of)
    # Each case's channel as the rules judged it, not the first its events state.
    shown_channels = run.channels_of(pd.Series(shown_cases, dtype="string"))
    cases = [_case_view(c, anchors[c], case_frames.get(c), by_case[c], order, str(channel))
             for c, channel in zip(shown_cases, shown_channels, strict=True)]
    # The input rows of the cases shown that were not imported (those of the cases shown
    # only: the quarantine's lines of these cases, looked up once).
    quarantined = run.quarantined_rows_of(shown_cases, QUARANTINED_SHOWN)
    for case in cases:
        case.quarantined, case.quarantined_more = quarantined.get(case.case_id, ([], 0))

    top_cases = [(currency, [
        (case_id, anchors.get(case_id, ""), money(amount, currency),
         ", ".join(sorted({f.rule for f in by_case[case_id] if not f.waived})))
        for case_id, amount in listed]) for currency, listed in top]

    if len(log):
        events = manifest["events_period"]  # (the manifest's, as findings.xlsx reads it)
        period = (short_time(events["first"]), short_time(events["last"]))
        channel_counts = cases_by_channel(run)
    else:
        period, channel_counts = ("", ""), Counter()

    rule_anchors = {r.name: r.anchor for r in sections}
    deviations, deviations_source = _top_deviations(run, rule_anchors)
    notes = [f"Warning: {warning}." for warning in run.warnings()]
    notes += [f"Import: {note}" for note in run.import_notes()]
    data_files = _data_files(run.memo.get("formats"))
    json_written = findings_json_written(run.memo.get("formats"))
    if columns.cases > max_cases:
        # The headline's "Cases with findings" counts the cases with an open finding: the
        # note names both figures, not only the cases with any finding.
        with_open = int(summary["cases_with_findings"])
        waived_only = columns.cases - with_open
        notes.append(f"Case details are shown for the {max_cases:,} most severe of the "
                     f"{counted(columns.cases, 'case', spec=',')} with findings: "
                     f"{with_open:,} with an open "
                     "finding (the “Cases with findings” figure)"
                     + (f" and {waived_only:,} whose findings are all waived (listed after "
                        "every open one)" if waived_only else "")
                     + (f"; {data_files} list all." if data_files else "."))
    return ReportView(
        title="Refund audit report",
        tool_version=str(manifest["version"]), run_id=str(manifest["run_id"]),
        run_id_is=run_id_is(run.memo.get("formats")),
        code_sha256=str((manifest.get("code") or {}).get("sha256") or ""),
        code_files=int((manifest.get("code") or {}).get("files") or 0),
        libraries=", ".join(f"{name} {version}" for name, version
                            in (manifest.get("libraries") or {}).items()
                            if version is not None),
        xlsx_written=run.memo.get("formats") is None or "xlsx" in run.memo["formats"],
        data_files=data_files,
        # (under SOURCE_DATE_EPOCH its time, not the run's: said so)
        generated=short_time(str(manifest["finished"])) + (
            " (SOURCE_DATE_EPOCH)" if manifest.get("source_date_epoch") is not None else ""),
        as_of=short_time(str(manifest["as_of"])),
        as_of_source=clock_source(manifest), json_written=json_written,
        command=" ".join(Path(manifest["command"][0]).name if i == 0 else part
                         for i, part in enumerate(manifest["command"])),
        inputs=[InputView(label, i["sha256"], i["read"], i["imported"], i["quarantined"],
                          i.get("left_out"), i.get("duplicates_dropped"),
                          imported_earlier_report(Path(i["file"]), i["imported_earlier"], label,
                                                  i.get("earlier_quarantine"),
                                                  json_written=json_written)
                          if i.get("imported_earlier") else "") for label, i in zip(
                              input_labels(Path(i["file"]) for i in manifest["inputs"]),
                              manifest["inputs"], strict=True)],
        policy_file=Path(str(manifest["policy"]["file"])).name if manifest["policy"]["file"]
        else "(default)",
        policy_path=str(manifest["policy"]["file"] or "(default)"),
        policy_sha256=str(manifest["policy"]["sha256"] or ""),
        sop=[f"{s['channel']}: {Path(str(s['file'])).name}" for s in manifest["sop"]],
        sop_files=[(str(s["channel"]), str(s["file"]), str(s["sha256"] or ""))
                   for s in manifest["sop"]],
        period_start=period[0], period_end=period[1],
        channels=sorted(((str(k), int(v)) for k, v in channel_counts.items()),
                        key=lambda kv: (kv[0] == NOT_JUDGED, -kv[1], kv[0])),
        metrics=_metrics(summary),
        by_severity=by_severity,
        by_rule=rule_counts,
        money_at_risk=money_rows,
        by_channel=[ChannelCount(
            str(name), str(name) or NO_CHANNEL, int(c["cases"]), int(c["cases_with_findings"]),
            int(c["findings"]), int(c["waived"]),
            [Money(k, float(v), money(float(v), k), shown(float(v), k))
             for k, v in c["money_at_risk"].items()])
            for name, c in summary.get("by_channel", {}).items()],
        cases_by_channel=_cases_by_channel(columns, channel_codes, channel_names),
        top_rules=sorted((r for r in rule_counts if r.findings),
                         key=lambda r: (-r.findings, r.code))[:5],
        top_cases=top_cases,
        rules=sections,
        cases=cases,
        cases_total=columns.cases,
        cases_waived_only=columns.cases - int(summary["cases_with_findings"]),
        errors=[ErrorView(e.rule, e.name, e.error) for e in run.result.errors],
        waivers=[WaiverView(str(w["rule"] or ""), str(w["case"] or ""), str(w["status"]),
                            int(w["matched"]), str(w["expires"]),
                            str(w.get("fingerprint") or ""), str(w.get("reason") or ""),
                            str(w.get("approved_by") or ""),
                            int(w.get("no_longer_waives") or 0)) for w in summary["waivers"]],
        graphs=list(graphs or []),
        notes=notes,
        conformance=_conformance(summary),
        top_deviations=deviations,
        deviations_source=deviations_source,
    )
