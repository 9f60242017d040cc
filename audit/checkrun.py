"""One audit run: import the log, load the policy, run the rules, and record the manifest.

The CLI's `check` and `demo` call `run_check`; the report writers read the `CheckRun` it
returns. Nothing here prints or writes files.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from audit import __version__
from audit import canonical as C
from audit.currency import (
    CURRENCIES,
    NO_CURRENCY,
    currency_key,
    figure,
    minor_units,
    rounded,
)
from audit.digest import sha256_of
from audit.engines import LOCAL, EngineSpec
from audit.errors import InputError
from audit.findings import (
    EVENT_ORDER_VERSION,
    FINDINGS_FORMAT,
    SEVERITIES,
    FindingColumns,
    SourceTable,
    finding_columns,
    money_buckets,
    severity_rank,
    source_table,
)
from audit.ingest import SOURCE_SYSTEMS, ImportResult
from audit.ingest.mapping import Mapping
from audit.ingest.normalise import field_only
from audit.memory import return_free_memory
from audit.policy import (
    PERFORMER_CONTROLS,
    Policy,
    load_policy,
    model_path,
    policy_error,
    split_sop_entry,
    within_log_range,
)
from audit.rules import default_rules
from audit.rules.engine import AuditResult, run_rules, selected_rules
from audit.rules.lanes import shown_id as _shown_id
from audit.runid import code_digest, library_versions, run_id
from audit.sources.config import SourcesConfig
from audit.words import counted

MONEY_AT_RISK_DEFINITION = (
    "per currency, the sum over cases of each case's largest amount at risk among its open "
    "(not waived) findings: a case with several findings counts once, so the figure is not "
    "the sum of the findings' amounts; never summed across currencies")
"""What summary.money_at_risk is: findings.json states it beside the figure, the console and
the XLSX Summary too."""

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
"""The environment variable of the reproducible-builds convention: where set, the run's
recorded times are its time (`run_time`), and what differs from run to run of the same
inputs (measured durations, the output folder) is not written (`CheckRun.reproducible`):
two runs give the same bytes ([docs/reports.md](../docs/reports.md)). It is about the times
written into the files, never what is judged: it does not set the audit's clock (build
tooling sets it for its own reasons: Nix to 1980, a CI to the last commit's time), which
without --as-of and the policy's as_of stays the time of the run, and a warning says so."""

OUT_RECORDED = "DIR"
"""What the manifest's `command` holds in place of `--out`'s folder under SOURCE_DATE_EPOCH:
a re-performance writes into a folder of its own, and the same files."""


def source_date_epoch() -> datetime | None:
    """The time the environment's SOURCE_DATE_EPOCH states (whole seconds since 1970-01-01
    00:00:00 UTC, ASCII digits), None where it is unset or empty; an input error (exit code
    2) naming it where it is anything else, or outside the years the log's times can hold
    (as the run's recorded times: see `run_time`)."""
    value = os.environ.get(SOURCE_DATE_EPOCH, "")
    if not value:
        return None
    if not re.fullmatch(r"[0-9]{1,12}", value):
        raise InputError(f"not a whole number of seconds since 1970-01-01 UTC: {value!r}",
                         field=SOURCE_DATE_EPOCH)
    try:
        return within_log_range(datetime.fromtimestamp(int(value), UTC))
    except (ValueError, OverflowError) as exc:
        raise InputError(f"{value}: the time must be within the years 1678 to 2261",
                         field=SOURCE_DATE_EPOCH) from exc


def run_time() -> datetime:
    """The time of the run as the run records it: SOURCE_DATE_EPOCH's where it is set (the
    manifest's `started` and `finished` both; never the audit's clock, which is the real
    time of the run where neither --as-of nor the policy's as_of sets one), else now."""
    return source_date_epoch() or datetime.now(UTC)


def recorded_command(argv: list[str], reproducible: bool) -> list[str]:
    """The command as the manifest records it: `argv` as typed; under SOURCE_DATE_EPOCH
    (`reproducible`) with `--out`'s folder as `OUT_RECORDED` (`--out F`, `--out=F`; not
    after `--`, where a word is an input's name), so that two runs into other folders
    record the same command."""
    if not reproducible:
        return list(argv)
    words: list[str] = []
    folder_next, options = False, True
    for word in argv:
        if folder_next:
            word, folder_next = OUT_RECORDED, False
        elif options and word == "--":
            options = False
        elif options and word == "--out":
            folder_next = True
        elif options and word.startswith("--out="):
            word = f"--out={OUT_RECORDED}"
        words.append(word)
    return words


TOLD_APART_RULES = ("SD001", "SD002", "SD003")
"""The segregation-of-duty rules that compare people (requester, approvers, executor)."""
NAME_NOT_TOLD_APART = "name_not_told_apart"
"""findings.json `unjudged_cases` reason: a case holding a name the Jira exports tell apart
by accountId bare on some events and told apart on others (`jira.told_apart_cases`)."""


def _in_minor_units(amount: str, code: str) -> str:
    """An amount as an export wrote it (`60`, `3000`), told in the minor units of its
    currency where it is one (`60.00` EUR, `3,000` JPY), as the other warnings tell amounts;
    as written where it reads as no number or the code is no currency (before, as written:
    '60 EUR refunded of 20 EUR')."""
    if code not in CURRENCIES:
        return amount
    try:
        value = float(amount)
    except ValueError:
        return amount
    return figure(rounded(value, code), code) if np.isfinite(value) else amount


@dataclass
class CheckRun:
    imported: ImportResult
    policy: Policy
    result: AuditResult
    started: datetime
    finished: datetime
    inputs: list[Path]
    command: list[str] = field(default_factory=list)
    engine: dict[str, Any] = field(default_factory=lambda: {"name": "local"})
    """Where the rules ran: local, or dask with its scheduler, workers and partitions."""
    sop_warnings: list[str] = field(default_factory=list)
    """What reading the SOPs before the rules found (`checked_policy`, the policy's
    `warnings`): SOPs whose file holds several processes (pools) and whose entry names none,
    which one was read and how to name another (`sop_choice_warning`)."""
    not_judged: dict[str, int] = field(default_factory=dict)
    """Events the rules did not judge, per `lifecycle:transition` (canonical.not_completions:
    starts, schedules, aborts; an activity's completion stands for it)."""
    after_clock: int = 0
    """Of the other events (completions, or stating no transition), those dated after the
    audit's clock (`result.as_of`), which the rules did not judge: the audit judges the log
    as it stood at the clock (`canonical.until`). They stay in the import's counts."""
    unrecorded_roles: dict[str, int] = field(default_factory=dict)
    """Events unauthorized-performer (SD004), where selected, would judge but cannot, as
    no role is recorded, per activity label (`sd004_unauthorized_performer.unrecorded_roles`:
    a payment system's payouts usually name no person)."""
    unrecorded_nobody: dict[str, int] = field(default_factory=dict)
    """Of `unrecorded_roles`, the events naming no person (no role history can help)."""
    unrecorded_approvals: dict[str, int] = field(default_factory=dict)
    """Approvals unauthorized-approver (AP004), where selected, would judge but cannot, as
    no role is recorded, per activity label (`ap004_unauthorized_approver.
    unrecorded_approvals`), told in one warning with `unrecorded_roles`."""
    unrecorded_approvals_nobody: dict[str, int] = field(default_factory=dict)
    """Of `unrecorded_approvals`, those naming no person."""
    imported_earlier: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Of the inputs that are canonical logs written by `import`, by path as given: what
    that import counted (audit.store.import_record: read, imported, quarantined, the
    quarantine's file beside the log), so that the counts reach back to the raw rows."""
    as_of_source: str = "clock"
    """Where the audit's clock (`result.as_of`) came from: `--as-of`, the `policy`'s as_of,
    or the `clock` (the time of the run: a later run of the same inputs can differ)."""
    import_options: dict[str, Any] = field(default_factory=lambda: {
        "assume_tz": None, "encoding": None, "object_type": None})
    """The import's options (--assume-tz, --encoding, --object-type; --follow-o2o where
    given) that `run_check` read the inputs with; `mapping`: its mapping file (path and
    sha256), where one was given."""
    mapping: dict[str, Any] | None = None
    sources_config: dict[str, Any] | None = None
    """The sources file given with --sources-config (path as given, and sha256; `used`
    false where no input is a source-system export, the only kind it is read for: told in
    the import's notes, and no part of the run id), None where none was given (exports, if
    any, read with the bundled file, models/sources.default.yaml, part of the code
    digest)."""
    working_directory: str = field(default_factory=os.getcwd)
    """The folder relative paths (in `command`, `inputs`) were read from."""
    reproducible: bool = False
    """SOURCE_DATE_EPOCH was set: `started` and `finished` are its time, and the manifest
    writes no `conformance_seconds` (null: measurements differ from run to run) and
    `command` without the output folder (`recorded_command`). It does not set the audit's
    clock: where the clock is the time of the run (`as_of_source` clock), a warning says
    the files cannot be the same byte for byte without --as-of (`clock_not_pinned_told`)."""
    others_in_out: list[str] = field(default_factory=list)
    """The files in the output folder that look like this tool's outputs of another command
    (a canonical log and its side files, a sample's, discover's, compare's), which this run
    neither writes nor removes (`audit.cli.others_in`): warned of, by name."""
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """What report writers compute once per finished run and share (graphs, digests)."""

    def _sha256(self, path: Path) -> str:
        """The input's digest: the one the import took when it read the file (of the
        bytes audited, in the reading worker), else computed once per run."""
        known = self.imported.digests.get(str(path))
        if known is not None:
            return known
        digests: dict[Path, str] = self.memo.setdefault("sha256", {})
        if path not in digests:
            digests[path] = sha256_of(path)
        return digests[path]

    def case_channels(self) -> pd.Series:
        """Per case id (the index): the channel the rules judged it by, missing where none
        of its events states one (`CaseFacts.channel_of_cases`: its ticket's, else the first
        its events state by time), as the rules' run kept it (`engine.side_facts`), else
        read off the log the rules judged (its completions) once. Everything that shows a
        case's channel or draws a case against its channel's SOP reads it here, not each
        event's own channel, which differs in a case stating several (conflicting-channel)
        or stating it on one event only."""
        kept = self.memo.get("case_channels")
        if kept is None:
            kept = self.result.extra.get("case_channel")
            if not isinstance(kept, pd.Series):
                from audit.rules.facts import channels_of_cases

                kept = channels_of_cases(self.log_at_clock(), self.policy,
                                         self.result.as_of)
            self.memo["case_channels"] = kept
        return cast(pd.Series, kept)

    def channels_of(self, cases: pd.Series) -> pd.Categorical:
        """Per value of `cases` (case ids, e.g. a column of the log): its case's channel
        (`case_channels`), "" where it has none or the rules judged no event of it. A coded
        column is looked up once per category, not per event; categories, not 6M texts."""
        channels = self.case_channels()
        coded = pd.Categorical(C.filled_text(pd.Series(channels.array, copy=False), ""))
        if "" not in coded.categories:
            coded = coded.add_categories([""])
        none = coded.categories.tolist().index("")  # (a few channels)
        code_of_case = np.append(coded.codes.astype(np.int64), none)  # (-1: not found)
        if isinstance(cases.dtype, pd.CategoricalDtype):
            ids, codes = cases.cat.categories, cases.cat.codes.to_numpy()
        else:
            codes, ids = pd.factorize(cases)  # (-1: a missing id)
        found = np.append(_positions_in(channels.index, pd.Index(ids)), -1)
        return pd.Categorical.from_codes(code_of_case[found[codes]],
                                         categories=coded.categories)

    def events_period(self) -> dict[str, str | None]:
        """The time of the audited log's first and last event (ISO 8601, UTC; None where
        the log holds no timed event), computed once per finished run."""
        if "events_period" not in self.memo:
            stamps = self.imported.log[C.TIMESTAMP] if len(self.imported.log) else None
            first = None if stamps is None else stamps.min()
            last = None if stamps is None else stamps.max()
            self.memo["events_period"] = {
                "first": None if first is None or pd.isna(first) else first.isoformat(),
                "last": None if last is None or pd.isna(last) else last.isoformat()}
        period: dict[str, str | None] = dict(self.memo["events_period"])
        return period

    def finding_channels(self) -> tuple[np.ndarray, list[str]]:
        """Per finding (in `result.findings`' order): the code of its case's channel into
        the channel names returned beside it (`channels_of`: "" where the case states none);
        computed once per finished run, when each finding's `channel` is set too. The
        findings' distinct cases are looked up once (`finding_columns`' case codes), not a
        case per finding: the findings get their channel by their case's code."""
        if "finding_channels" not in self.memo:
            cols = self.finding_columns()
            ids = cols.case_names(None) if cols.cases else []
            per_case = self.channels_of(pd.Series(ids, dtype="string"))
            names = [str(c) for c in per_case.categories]
            codes = np.asarray(per_case.codes, dtype=np.int64)[cols.case] if cols.cases \
                else np.zeros(0, dtype=np.int64)
            texts = np.asarray(names, dtype=object)[codes].tolist() if len(codes) else []
            for finding, channel in zip(self.result.findings, texts, strict=True):
                finding.channel = channel
            self.memo["finding_channels"] = (codes, names)
        found: tuple[np.ndarray, list[str]] = self.memo["finding_channels"]
        return found

    def finding_sources(self) -> None:
        """Each finding's `sources`: the files and rows its cited events were read from, as
        the imported log's `source:file` and `source:row` hold them (`cited_sources`: the
        findings' event ids looked up in the log at once; `source_table`'s lists); once per
        finished run."""
        if "finding_sources" not in self.memo:
            table = self.source_table()
            if table is not None:
                for finding, sources in zip(self.result.findings, table.lists(), strict=True):
                    finding.sources = sources
            self.memo["finding_sources"] = True

    def source_table(self) -> SourceTable | None:
        """The findings' sources as arrays (`findings.source_table`), None where the log
        has no event ids, files or rows; computed once per finished run. `write_reports`
        computes it before it forks, each process then making what its writers need
        (`finding_sources`, `source_texts`), not the 650k Sources of a 1M-case run."""
        if "source_table" not in self.memo:
            log = self.imported.log
            self.memo["source_table"] = source_table(
                self.result.findings, log[C.EVENT_ID], log[C.SOURCE_FILE],
                log[C.SOURCE_ROW]) if C.EVENT_ID in log.columns \
                and C.SOURCE_FILE in log.columns and C.SOURCE_ROW in log.columns else None
        table: SourceTable | None = self.memo["source_table"]
        return table

    def source_texts(self) -> list[str] | None:
        """Per finding, its sources' texts joined by '; ' (`SourceTable.joined`), what
        findings.csv writes, where the findings' `sources` are not set yet
        (`finding_sources`): made by Arrow, no Source made. None where they are set, or
        the log has no sources: the findings' own `sources` then."""
        if "finding_sources" in self.memo:
            return None
        table = self.source_table()
        return None if table is None else table.joined("; ")

    def _conformance_seconds(self) -> dict[str, float] | None:
        if self.reproducible:
            return None  # (a measurement: not the same twice)
        result = self.result.extra.get("conformance_result")
        seconds = getattr(result, "seconds", None)
        return seconds() if callable(seconds) else {}

    def manifest(self) -> dict[str, Any]:
        # Each input's counts by its path as given (two inputs may share a file name).
        counted = {f.path: f for f in self.imported.files}
        counts = [counted.get(str(path)) for path in self.inputs]
        earlier = self.earlier_quarantine_counts()
        manifest: dict[str, Any] = {
            "tool": "refund-audit",
            "version": __version__,
            # (the tool's code as this process runs it, `audit.runid.code_digest`: its
            # source, templates and bundled models' sha256, which the version alone is not)
            "code": code_digest(),
            # (findings.json's format: `audit.findings.FINDINGS_FORMAT`, which `diff` reads)
            "format_version": FINDINGS_FORMAT,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            # (Set: `started` and `finished` are its time, not the run's, and the fields that
            # differ from run to run are not written: conformance_seconds, --out's folder.)
            "source_date_epoch": (int(self.started.timestamp()) if self.reproducible
                                  else None),
            "as_of": self.result.as_of.isoformat(),
            "as_of_source": self.as_of_source,
            # (The log's first and last event, not an audit period: report.html's title and
            # findings.xlsx's Summary read it here.)
            "events_period": self.events_period(),
            "warnings": self.warnings(),
            # What the import said of its inputs (as `import` prints it): events of no case,
            # a guessed encoding, records exported twice, roles applied, correlation.
            "import_notes": self.import_notes(),
            "command": self.command,
            "working_directory": self.working_directory,
            "import_options": self.import_options,
            "mapping": self.mapping,
            "sources_config": self.sources_config,
            # (Measurements: here, not in the summary, which the same input keeps equal.)
            "conformance_seconds": self._conformance_seconds(),
            "inputs": [
                {"file": str(path), "sha256": self._sha256(path),
                 "read": None if count is None else count.read,
                 "imported": None if count is None else count.imported,
                 "quarantined": None if count is None else count.quarantined,
                 # (of the imported, those read without one field: quarantine lines of
                 # that field alone, no rows not imported)
                 "fields_unread": None if count is None else count.fields_unread,
                 "left_out": None if count is None else count.left_out,
                 "duplicates_dropped": None if count is None else count.deduplicated,
                 # (read = imported + quarantined + duplicates_dropped; of the imported, the
                 # events of the log the rules judged they became: a charge refunded in
                 # several cases is an event in each, one left out as a sale none)
                 "events": None if count is None else count.events,
                 # (A canonical log's own import: None for other inputs and older logs.)
                 "imported_earlier": self.imported_earlier.get(str(path)),
                 # (Its quarantine beside it: found and matching its record, its rows in
                 # cases with findings; None for other inputs.)
                 "earlier_quarantine": earlier.get(str(path))}
                for path, count in zip(self.inputs, counts, strict=True)
            ],
            "policy": {"file": self.policy.source, "sha256": self.policy.sha256},
            "sop": [{"channel": k, "file": str(path),
                     "process": self.policy.sop_processes.get(k),
                     "sha256": sha256_of(path) if path is not None and path.exists() else None}
                    for k in sorted(self.policy.sop)
                    for path in [self.policy.sop_path(k)]],
            "rules": [r.code for r in self.result.rules],
            # (each run rule's logic version, `Rule.logic_version`: `diff` tells a rule
            # whose version differs between its runs; since findings.json format 4)
            "rule_versions": {r.code: r.logic_version for r in self.result.rules},
            # (how a case's events at one time are ordered, `EVENT_ORDER_VERSION`: `diff`
            # tells where it differs between its runs; since 2026-12-07, within format 4)
            "event_order": EVENT_ORDER_VERSION,
            # (the Python, libraries and time zone data the rules ran with,
            # `audit.runid.library_versions`: recorded, not part of the run id)
            "libraries": library_versions(),
            "engine": self.engine,
        }
        # The run id (`audit.runid`): the SHA-256 of what decided the findings (the inputs'
        # and their earlier quarantines', policy's, SOPs' and mapping's digests, the options,
        # clock, rule versions, tool version and code digest), no time, path or engine;
        # report.html and findings.xlsx show it. After the format version, where a reader
        # of the manifest looks first.
        head = ("tool", "version", "code", "format_version")
        return {**{k: manifest[k] for k in head}, "run_id": run_id(manifest),
                **{k: v for k, v in manifest.items() if k not in head}}

    def judged_cases(self) -> list[str]:
        """The ids of the cases the rules judged (those of the log as it stood at the
        clock), in the order the rules hold them, as texts: findings.json's `judged_cases`.
        A case not among them was not audited by this run (after its clock, or not in its
        inputs): `diff` tells its earlier findings apart from those resolved."""
        ids = self.case_channels().index.tolist()
        # (texts already, as a log's case ids are: no copy of 1M of them made)
        return ids if all(type(case) is str for case in ids) else list(map(str, ids))

    def not_due_case_ids(self) -> dict[str, list[str]]:
        """Per rule that leaves a case for a later clock and ran (missing-evidence,
        missing-second-approval, approved-not-paid: `engine._not_due_rules`), the ids of the
        cases it did not judge yet, not due at the clock (a refund not decided or in
        progress; approved and not paid; approved, not paid and within its grace), as
        texts, by rule code: findings.json's `not_due_cases`. `diff` reads them: such a
        rule's finding of such a case that a later run reports is new, but this run did
        not judge it."""
        found = self.result.extra.get("not_due_cases")
        if not isinstance(found, dict):
            return {}
        return {code: [str(case) for case in cases] for code, cases in sorted(found.items())}

    def unjudged_case_ids(self) -> dict[str, dict[str, list[str]]]:
        """Per rule that could not judge some of a case's events and ran (unauthorized-
        approver, unauthorized-performer, and outside-refund-window where the policy sets a
        refund window: `engine.side_facts`), per reason (`engine.ROLE_NOT_RECORDED`: the
        event's role is not recorded; EV008's `no_purchase_before_request`: a granted
        refund whose case holds no purchase at or before its request), the ids of those
        cases, as texts, sorted: findings.json's `unjudged_cases`. The warnings of those
        events (`unrecorded_told`, `refund_window_told`) name the first few. `diff` reads
        them: an earlier
        finding of such a rule in such a case is not re-judged (not resolved), and a later
        one is new, but this run did not judge it."""
        if "unjudged" in self.memo:
            return cast(dict[str, dict[str, list[str]]], self.memo["unjudged"])
        found = self.result.extra.get("unjudged_cases")
        out: dict[str, dict[str, list[str]]] = {}
        if isinstance(found, dict):
            # (sorted by the rules, as `CaseFacts.case_ids`, and by the dask engine when it
            # joins its partitions'; texts already, as a log's case ids are: no copy made)
            out = {code: {reason: cases if all(type(case) is str for case in cases)
                          else list(map(str, cases))
                          for reason, cases in sorted(reasons.items())}
                   for code, reasons in sorted(found.items())}
        if told := getattr(self.imported, "told_apart", None):
            # Two Jira users of one name, and the name bare on other events of a case (a
            # Stripe refund's executed_by): the segregation-of-duty rules compared them as
            # two people there, whoever it was (the warning `told_apart_warnings` names the
            # cases), so they did not judge those events; a case after the clock is none.
            from audit.sources.jira import told_apart_cases

            judged = set(self.judged_cases())
            cases = [case for case in told_apart_cases(self.imported.log, told)
                     if case in judged]
            for code in (rule.code for rule in self.result.rules):
                if code in TOLD_APART_RULES and cases:
                    out.setdefault(code, {})[NAME_NOT_TOLD_APART] = cases
            out = {code: dict(sorted(reasons.items())) for code, reasons in sorted(out.items())}
        self.memo["unjudged"] = out
        return out

    def running_case_ids(self) -> list[str]:
        """The ids of the cases running at the clock (`summary.running_cases` counts them:
        see `ConformanceResult.running_case_ids`), as texts: findings.json's
        `running_cases`. `diff` reads them: a conformance finding of such a case that a
        later run reports (a task it skipped, now due) is new, but its earlier run did not
        judge that task (not due yet then). None where the conformance rules did not run."""
        result = self.result.extra.get("conformance_result")
        ids = getattr(result, "running_case_ids", None)
        found: list[str] = ids() if callable(ids) else []
        return found if all(type(case) is str for case in found) else list(map(str, found))

    def labels_like_mapped_ones(self) -> dict[str, tuple[int, str]]:
        """The log's labels the policy maps not, that are close to a label it maps (a
        typo: `Erstattung genehmgt` beside `Erstattung genehmigt`): label -> (its events,
        the mapped label). unmapped-activity reports such an event as any unknown label,
        and the approval it stands for is missing: this says which label it looks like."""
        import difflib

        log = self.log_at_clock()
        mapped = list(self.policy.activities)
        if not len(log) or not mapped:
            return {}
        counts = log[C.ACTIVITY].value_counts()  # (on the codes of a coded column)
        out: dict[str, tuple[int, str]] = {}
        for label, events in counts.items():
            if not events or str(label) in self.policy.activities:
                continue  # (a category no event holds any more, or a mapped label)
            near = difflib.get_close_matches(str(label), mapped, n=1, cutoff=0.9)
            if near:
                out[str(label)] = (int(events), near[0])
        return dict(sorted(out.items()))

    def evidence_columns_like_required(self) -> dict[str, tuple[int, str, list[str]]]:
        """Where missing-evidence (EV001) ran: the log's columns that are no column the
        policy's `evidence` requires, but are spelt like one but for letter case, spaces and
        separators (`evidence:Photo`, `evidence:payment-voucher`, `Evidence:usage`,
        `evidence:PaymentVoucher`), and hold a value on some event at the clock: column ->
        (its events with a value, the required column, the channels requiring it).
        missing-evidence reads the policy's columns as written, so every case holding the
        item under the other spelling was found without it, with nothing saying that the
        item is in the log."""
        if not any(rule.code == "EV001" for rule in self.result.rules):
            return {}
        channels: dict[str, list[str]] = {}
        for channel, columns in self.policy.required_evidence.items():
            for column in columns:
                channels.setdefault(column, []).append(channel)
        keyed = {_spelling_key(column): column for column in channels}
        log = self.log_at_clock()
        out: dict[str, tuple[int, str, list[str]]] = {}
        for column in log.columns:
            name = str(column)
            near = keyed.get(_spelling_key(name))
            if near is None or name in channels:
                continue
            values = log[column]
            given = values.notna()
            if not pd.api.types.is_numeric_dtype(values) and given.any():
                given &= values.astype("string").str.strip().ne("").fillna(False)
            events = int(given.sum())
            if events:
                out[name] = (events, near, channels[near])
        return dict(sorted(out.items()))

    def amounts_read_by_no_rule(self) -> dict[str, int]:
        """Where amount-mismatch (EV004) ran and the policy maps no label to the control
        `prorate`: the labels it maps to `other` whose events at the clock state an amount,
        of the label (or `sop_task`) `Calculate pro-rata amount` or in subscription refunds
        (label -> those events). A policy written before `prorate` maps the pro-rata
        calculation (`Calculate pro-rata amount`) to `other`, so amount-mismatch weighs a
        subscription refund's payouts against the request, not against the amount
        calculated, with nothing saying that the calculation's amount went unread."""
        if not any(rule.code == "EV004" for rule in self.result.rules):
            return {}
        controls = {label: a.control for label, a in self.policy.activities.items()}
        if "prorate" in controls.values() or C.AMOUNT not in self.imported.log.columns:
            return {}
        others = [label for label, control in controls.items() if control == "other"]
        log = self.log_at_clock()
        if not others or not len(log):
            return {}
        # Only a label that is the pro-rata calculation by name (its label or its
        # `sop_task`), or events of subscription refunds: an ecommerce goodwill voucher
        # mapped to `other` states an amount that is no pro-rata calculation.
        named = [label for label in others
                 if PRORATA_TASK in (label, self.policy.activities[label].sop_task)]
        activity = log[C.ACTIVITY].astype("string")
        where = activity.isin(named)
        if C.CHANNEL in log.columns:
            where |= log[C.CHANNEL].astype("string").str.strip().str.lower().eq(
                "subscription").fillna(False)
        stated = log[C.AMOUNT].notna() & activity.isin(others) & where
        counts = log.loc[stated, C.ACTIVITY].astype("string").value_counts()
        return {str(label): int(n) for label, n in sorted(counts.items()) if n}

    def roles_recorded_nowhere(self) -> dict[str, tuple[list[str], str | None,
                                                        tuple[int, datetime] | None]]:
        """Where unauthorized-approver (AP004), unauthorized-performer (SD004) or
        outside-refund-window (EV008, where the policy sets a window) ran on a log recording
        roles: the roles the policy allows (`approvers`, `performers`,
        `refund_window.exception_approvers`) that
        no event of the log records and no lane of an SOP of the policy holds, compared as
        keys ("Supervisor" is `supervisor`): role -> (the policy keys naming it, the
        recorded or lane role it is written close to, else None). Such a role authorises no
        one. Close to a recorded one it is most likely a typo, which turns every approval
        by the role meant into a finding (`supervisr` for `supervisor`: 40 findings more,
        no word); else a role spelt right may simply have no events this period. The third:
        where the role's events are all dated after the audit's clock, their count and the
        first's time (else None): the role has events, which the audit did not judge (it
        was told as having "no events in this log")."""
        import difflib

        from conformance.bpmn import role_key

        keys = {"AP004": ("approvers", self.policy.approver_roles),
                "SD004": ("performers", self.policy.performer_roles),
                "EV008": ("refund_window", {"exception_approvers":
                                            self.policy.refund_window_exception_roles}
                          if self.policy.refund_window else {})}
        named: dict[str, list[str]] = {}
        for rule in self.result.rules:
            if rule.code not in keys:
                continue
            head, roles = keys[rule.code]
            for control, allowed in roles.items():
                for role in allowed:
                    named.setdefault(role, []).append(f"{head}.{control}")
        log = self.log_at_clock()
        if not named or not len(log) or C.ROLE not in log.columns:
            return {}
        recorded = log[C.ROLE].dropna().unique()
        if not len(recorded):
            return {}  # no role recorded at all: another warning tells it
        written: dict[str, str] = {}  # key -> the role as the log (or a lane) writes it
        for r in sorted(map(str, recorded)):
            written.setdefault(role_key(r), r)
        seen = set(written)
        from conformance.deviations import lane_roles

        for channel in sorted(self.policy.sop):
            path = self.policy.sop_path(channel)
            if path is None or not path.is_file():
                continue
            try:
                lanes = lane_roles(path, self.policy.sop_process(channel))
            except InputError:
                continue  # a SOP the rules could not read: its own error or warning
            seen.update(r for held in lanes.values() for r in held)
        for key in sorted(seen):
            written.setdefault(key, key)
        later = self._roles_after_clock() if self.after_clock else {}
        # Close as labels are (`labels_like_mapped_ones`), a little looser: role names are
        # short, one letter is more of them ("supervisr" for "supervisor": 0.95).
        return {role: (sorted(set(where)), next(iter(
                    written[k] for k in difflib.get_close_matches(
                        role_key(role), sorted(seen), n=1, cutoff=0.8)), None),
                       later.get(role_key(role)))
                for role, where in sorted(named.items()) if role_key(role) not in seen}

    def _roles_after_clock(self) -> dict[str, tuple[int, datetime]]:
        """Per role (as a key, `role_key`) recorded on events of the imported log dated
        after the audit's clock: how many such events, and the first's time."""
        from conformance.bpmn import role_key

        log = self.imported.log
        if C.ROLE not in log.columns:
            return {}
        after = log.loc[C.dated_after(log, self.result.as_of), [C.ROLE, C.TIMESTAMP]]
        after = after[after[C.ROLE].notna()]
        out: dict[str, tuple[int, datetime]] = {}
        for role, times in after.groupby(after[C.ROLE].astype(str), observed=True,
                                         sort=True)[C.TIMESTAMP]:
            key = role_key(str(role))
            count, first = out.get(key, (0, times.min()))
            out[key] = (count + len(times), min(first, times.min()))
        return out

    def currencies_without_threshold(self) -> dict[str, int]:
        """Where missing-second-approval (AP003) ran: the currencies of the log's refund
        requests and payouts that have no `thresholds.second_approval`, with their cases.
        Their refunds are judged by nothing, whatever their size (a policy written with EUR
        alone: the USD and GBP refunds above any limit passed unseen, 0 findings and no
        word)."""
        if not any(rule.code == "AP003" for rule in self.result.rules):
            return {}
        log = self.log_at_clock()
        labels = self.policy.labels_for("request", "pay")
        if not len(log) or not labels:
            return {}
        stated = log[C.ACTIVITY].isin(labels) & log[C.CURRENCY].notna()
        if not stated.any():
            return {}
        held = pd.DataFrame({"case": log.loc[stated, C.CASE].astype(object),
                             "currency": log.loc[stated, C.CURRENCY].astype(object)})
        held = held[~held["currency"].isin(list(self.policy.second_approval_threshold))]
        cases = held.drop_duplicates().groupby("currency")["case"].size()
        return {str(k): int(v) for k, v in sorted(cases.items()) if v}

    def cases_without_currency(self) -> int:
        """Where missing-second-approval (AP003), amount-mismatch (EV004) or
        refund-exceeds-charge (EV005) ran: the cases whose refund requests or payouts state
        an amount but no event of which states a currency. No threshold applies to them (a
        refund of 1,200 passed unjudged, with no word), nor does any comparison with the
        request or the charge."""
        if not self._ran_of(_NEED_A_CURRENCY):
            return 0
        log = self.log_at_clock()
        labels = self.policy.labels_for("request", "pay")
        if not len(log) or not labels:
            return 0
        # Candidates: the cases of a request or payout stating an amount but no currency
        # (nearly always none); of those, the ones no event of which states one.
        bare = (log[C.ACTIVITY].isin(labels).to_numpy(dtype=bool)
                & log[C.AMOUNT].notna().to_numpy(dtype=bool)
                & log[C.CURRENCY].isna().to_numpy(dtype=bool))
        if not bare.any():
            return 0
        candidates = pd.unique(log.loc[bare, C.CASE].astype(object))
        theirs = log[C.CASE].isin(candidates).to_numpy(dtype=bool)
        with_currency = pd.unique(
            log.loc[theirs & log[C.CURRENCY].notna().to_numpy(dtype=bool), C.CASE]
            .astype(object))
        return int((~pd.Series(candidates).isin(with_currency)).sum())

    def cases_without_channel(self) -> int:
        """The cases no event of which states a channel (`refund:channel`). The channel
        chooses the evidence missing-evidence requires and the SOP the conformance rules
        align a case on (and whose lanes unauthorized-performer reads): such a case is
        judged by none of them (but for a '*' SOP), and the count said nothing of it. After
        correlation every event states a channel (its export's, by the sources config): the
        candidates (the cases of an event stating none) are nearly always none."""
        log = self.log_at_clock()
        if not len(log):
            return 0
        if C.CHANNEL not in log.columns:
            return int(log[C.CASE].nunique())
        bare = log[C.CHANNEL].isna().to_numpy(dtype=bool)
        if not bare.any():
            return 0
        candidates = pd.unique(log.loc[bare, C.CASE].astype(object))
        theirs = log[C.CASE].isin(candidates).to_numpy(dtype=bool)
        stated = pd.unique(log.loc[theirs & ~bare, C.CASE].astype(object))
        return int((~pd.Series(candidates).isin(stated)).sum())

    def without_channel_told(self, aligned_none: bool) -> str | None:
        """The warning naming the rules that judged no case stating no channel, or None
        (no such case, or no rule that ran needs one: missing-evidence where the policy
        requires evidence, outside-refund-window where it sets a refund window, the rules
        reading the channel's SOP where there is no '*' one). Where the conformance rules aligned
        no case at all, their own warning says why, and this one leaves them out."""
        evidence = self._ran_of(("EV001",)) if self.policy.required_evidence else []
        by_sop = (self._ran_of(("SD004",) if aligned_none else _BY_THE_CHANNELS_SOP)
                  if self.policy.sop_path(None) is None else [])
        window = self._ran_of(("EV008",)) if self.policy.refund_window else []
        if not evidence and not by_sop and not window:
            return None
        unstated = self.cases_without_channel()
        if not unstated:
            return None
        why = []
        if evidence:
            why.append("missing-evidence requires each channel's own evidence")
        if window:
            why.append("outside-refund-window measures a refund against its channel's "
                       "refund window")
        if by_sop:
            listed = " and ".join([", ".join(by_sop[:-1]), by_sop[-1]] if len(by_sop) > 1
                                  else by_sop)
            why.append(f"{listed} judge{'s' if len(by_sop) == 1 else ''} a case by its "
                       "channel's SOP (the policy's sop has no '*' entry, and no --sop was given)")
        rules = "the rule" if len(evidence) + len(window) + len(by_sop) == 1 else "these rules"
        return (f"{counted(unstated, 'case', spec=',')} of {self.result.cases:,} "
                f"state{'s' if unstated == 1 else ''} no channel (refund:channel, on none "
                f"of {'its' if unstated == 1 else 'their'} events): {', and '.join(why)}: "
                f"{rules} did not judge {'it' if unstated == 1 else 'them'}; record each "
                "case's channel")

    def refund_window_told(self) -> list[str]:
        """Where outside-refund-window (EV008) ran: a warning naming the channels its window
        (`refund_window.within`) sets that no case of the log states (a typo, or the wrong
        policy: the window judges nothing), and one counting the granted refunds it could
        not measure, holding no purchase at or before the request (findings.json's
        `unjudged_cases.EV008`), naming the first few."""
        if not self.policy.refund_window or not self._ran_of(("EV008",)):
            return []
        out = []
        stated = set(self.case_channels().dropna().astype(str))
        absent = [channel for channel in self.policy.refund_window if channel not in stated]
        if absent:
            one = len(absent) == 1
            out.append(f"the policy's refund_window.within sets a window for "
                       f"{', '.join(absent)}, but no case of the log states "
                       f"{'that channel' if one else 'these channels'} (refund:channel): "
                       "outside-refund-window judges no refund by "
                       f"{'it' if one else 'them'}")
        from audit.rules.evidence.ev008_outside_refund_window import (
            NO_PURCHASE_BEFORE_REQUEST,
        )

        cases = self.unjudged_case_ids().get("EV008", {}).get(NO_PURCHASE_BEFORE_REQUEST, [])
        if cases:
            shown = cases[:5]
            more = len(cases) - len(shown)
            out.append(f"outside-refund-window did not judge "
                       f"{counted(len(cases), 'granted refund', spec=',')}: "
                       f"{'its case holds' if len(cases) == 1 else 'their cases hold'} no "
                       "purchase at or before the request to measure the window from ("
                       + ", ".join(_shown_id(c) for c in shown)
                       + (f" and {more:,} more" if more else "") + ")")
        return out

    def receipt_generic_told(self) -> list[str]:
        """Where receipt-reused (DU002) ran: a warning counting the cases holding a receipt
        held by more cases than the policy's `thresholds.receipt_max_cases` (a generic
        value, a phone's `IMG_0001.jpg`), which it did not compare (findings.json's
        `unjudged_cases.DU002`), naming the first few."""
        from audit.rules.duplicates.du002_receipt_reused import RECEIPT_GENERIC

        cases = self.unjudged_case_ids().get("DU002", {}).get(RECEIPT_GENERIC, [])
        if not cases or not self._ran_of(("DU002",)):
            return []
        shown = cases[:5]
        more = len(cases) - len(shown)
        most = self.policy.receipt_max_cases
        return [f"receipt-reused did not compare the receipts of "
                f"{counted(len(cases), 'case', spec=',')}: "
                f"{'it holds' if len(cases) == 1 else 'they hold'} a receipt (evidence:receipt) "
                f"held by more than {most:,} cases, a generic value (a file name, a "
                f"placeholder), not one receipt (thresholds.receipt_max_cases) ("
                + ", ".join(_shown_id(c) for c in shown)
                + (f" and {more:,} more" if more else "") + ")"]

    def _ran_of(self, codes: tuple[str, ...]) -> list[str]:
        """The names of the rules of `codes` that ran, in the order of `codes`."""
        ran = {rule.code: rule.name for rule in self.result.rules}
        return [ran[code] for code in codes if code in ran]

    def payouts_against_no_stated_amount(self) -> int:
        """Where amount-mismatch (EV004) or payout-exceeds-approved (AP005) ran: the cases
        with a request or an approval, none of which states an amount, and a payout (not
        failed, reversed or pending) that states one. Neither rule can weigh what was paid
        against what the ticket authorised: only refund-exceeds-charge (against the charge)
        and missing-second-approval (against a threshold) weigh it. Where amount-mismatch
        ran, a case whose pro-rata calculation states an amount it reads is left out: it
        weighs that case's payouts against the pro-rata amount (before, such cases were
        counted, the warning naming amount-mismatch for cases it had judged)."""
        if not any(rule.code in ("EV004", "AP005") for rule in self.result.rules):
            return 0
        log = self.log_at_clock()
        pay = self.policy.labels_for("pay")
        ticket = self.policy.labels_for("request", "approve", "second-approve")
        if not len(log) or not pay or not ticket:
            return 0
        # Candidates: the cases of a request or approval stating no amount (nearly always
        # none); of those, the ones no request or approval of which states one.
        asked = log[C.ACTIVITY].isin(ticket).to_numpy(dtype=bool)
        blank = asked & log[C.AMOUNT].isna().to_numpy(dtype=bool)
        if not blank.any():
            return 0
        candidates = pd.unique(log.loc[blank, C.CASE].astype(object))
        theirs = log[C.CASE].isin(candidates).to_numpy(dtype=bool)
        stated = pd.unique(log.loc[theirs & asked & ~blank, C.CASE].astype(object))
        unstated = pd.Index(candidates).difference(pd.Index(stated))
        if not len(unstated):
            return 0
        payouts = log.loc[theirs & log[C.ACTIVITY].isin(pay).to_numpy(dtype=bool)
                          & log[C.AMOUNT].notna().to_numpy(dtype=bool),
                          [C.CASE, C.PAYMENT_STATUS]]
        paid = pd.unique(payouts.loc[_done(payouts[C.PAYMENT_STATUS]), C.CASE].astype(object))
        unweighed = pd.Index(paid).intersection(unstated)
        if len(unweighed) and any(rule.code == "EV004" for rule in self.result.rules):
            # amount-mismatch weighs a case's payouts against its pro-rata calculation
            # where one states an amount (its last stating one, in the case's currency or
            # stating none): such a case is judged.
            unweighed = unweighed.difference(self._cases_with_prorata(log, unweighed))
        return len(unweighed)

    def _cases_with_prorata(self, log: pd.DataFrame, cases: pd.Index) -> pd.Index:
        """Of `cases`: those whose last pro-rata calculation (control `prorate`) stating an
        amount states it in the case's currency or states none, as amount-mismatch reads
        it (`prorata_amount`). The case's currency as the rules take it: its first
        request's, else its first successful payout's, else the first its events state."""
        prorate = self.policy.labels_for("prorate")
        if not prorate:
            return pd.Index([])
        theirs = log[log[C.CASE].isin(cases).to_numpy(dtype=bool)].sort_values(
            [C.CASE, C.TIMESTAMP, C.EVENT_ID], kind="stable")
        activity = theirs[C.ACTIVITY]
        stated = theirs[C.CURRENCY].notna()

        def first(events: pd.Series) -> pd.Series:  # (the first event's, stated or not)
            held = theirs.loc[events.to_numpy(dtype=bool)]
            return held.groupby(held[C.CASE].astype(object), sort=False)[C.CURRENCY].agg(
                lambda values: values.iloc[0]).astype(object)

        payouts = activity.isin(self.policy.labels_for("pay")) & pd.Series(
            _done(theirs[C.PAYMENT_STATUS]), index=theirs.index)
        currency = first(activity.isin(self.policy.labels_for("request")))
        for later in (first(payouts), first(stated)):
            currency = currency.combine_first(later)
        calcs = theirs[activity.isin(prorate).to_numpy(dtype=bool)
                       & theirs[C.AMOUNT].notna().to_numpy(dtype=bool)]
        last = calcs.groupby(calcs[C.CASE].astype(object), sort=False)[C.CURRENCY].agg(
            lambda values: values.iloc[-1]).astype(object)  # (stated or not: not .last())
        own = last.isna() | (last == currency.reindex(last.index).astype(object))
        judged: pd.Index = pd.Index(last.index.to_numpy()[own.to_numpy(dtype=bool)])
        return judged

    def paid_without_any_purchase(self) -> tuple[int, list[str]]:
        """Where no-prior-purchase (EV007) found paid cases, not waived, and the log at the
        clock holds no purchase at all (no event of a label the policy maps to the control
        purchase): how many such cases (distinct cases of its open findings), and the
        policy's purchase labels. Such a log (a ticketing export alone) cannot show a
        purchase, so every paid case is found; (0, labels) otherwise. The cases are counted
        on the findings' columns (`finding_columns`, which the summary reads too), not a
        pass over the findings (0.5 ms at 260k findings, the pass 19 ms); the log's
        activities are read only where some are found."""
        buy = self.policy.labels_for("purchase")
        cols = self.finding_columns()
        if "EV007" not in cols.rules:
            return 0, buy
        seen = np.zeros(cols.cases, dtype=bool)
        seen[cols.case[(cols.rule == cols.rules.index("EV007")) & ~cols.waived]] = True
        found = int(seen.sum())
        if not found or not buy:
            return found, buy
        activity = self.log_at_clock()[C.ACTIVITY]
        if isinstance(activity.dtype, pd.CategoricalDtype):  # (the imported log's labels)
            # The labels' codes compared with each event's (Series.isin hashes them all:
            # 40-85 ms at 7.3M events, this 8 ms).
            codes = activity.cat.codes.to_numpy()
            wanted = activity.cat.categories.get_indexer(pd.Index(buy))
            bought = any(bool((codes == code).any()) for code in wanted[wanted >= 0])
        else:
            bought = bool(activity.isin(buy).to_numpy(dtype=bool).any())
        return (0 if bought else found), buy

    def paid_and_disputed(self, shown: int = 5) -> tuple[int, list[str]]:
        """The cases with a successful payout (not failed, reversed or pending) of a refund
        of a payment whose chargeback or dispute row the quarantine holds with the case
        (`ImportResult.disputes`: a PayPal, Adyen or Stripe dispute row naming the payment
        the refund names): how many, and the first `shown` by case id. The payment row
        itself may stay Completed, Settled or succeeded, so no rule sees the chargeback;
        the customer may have been paid back twice."""
        disputes = getattr(self.imported, "disputes", None)
        if disputes is None or disputes.empty:
            return 0, []
        pay = self.policy.labels_for("pay")
        log = self.log_at_clock()
        if not len(log) or not pay or C.CHARGE_ID not in log.columns:
            return 0, []
        # (the disputed cases' events alone: a handful among the log's)
        theirs = (log[C.CASE].isin(set(disputes["case"].tolist())).to_numpy(dtype=bool)
                  & log[C.ACTIVITY].isin(pay).to_numpy(dtype=bool)
                  & log[C.CHARGE_ID].notna().to_numpy(dtype=bool))
        if not theirs.any():
            return 0, []
        paid = log.loc[theirs, [C.CASE, C.CHARGE_ID, C.PAYMENT_STATUS]]
        paid = paid[_done(paid[C.PAYMENT_STATUS])]
        pairs = set(zip(paid[C.CASE].astype(str).tolist(),
                        paid[C.CHARGE_ID].astype(str).str.strip().tolist(), strict=True))
        # (a line of a dispute the merchant won, money back to it: a chargeback's reversal,
        # Stripe's dispute_reversal, a hold cancelled, is no second refund: a case whose
        # lines of a payment are only such is not told)
        kinds = (disputes["type"] if "type" in disputes.columns
                 else pd.Series("", index=disputes.index)).astype(str).str.lower()
        won = ((kinds.str.contains("chargeback") & kinds.str.contains("revers"))
               | kinds.str.strip().eq("dispute_reversal") | kinds.str.contains("cancel"))
        cases = sorted({case for case, charge, merchant_won in zip(
            disputes["case"].tolist(), disputes["charge"].str.strip().tolist(),
            won.tolist(), strict=True)
            if (case, charge) in pairs and not merchant_won})
        return len(cases), cases[:shown]

    def payouts_on_unstated_charges(self) -> int:
        """Where refund-exceeds-charge (EV005) ran: the cases with a payout (not failed,
        reversed or pending) on a charge whose purchases in the log (not failed) state no
        amount or no currency. The rule cannot weigh what was refunded against what was
        captured (a charge with no purchase at all is no-prior-purchase's)."""
        if not any(rule.code == "EV005" for rule in self.result.rules):
            return 0
        log = self.log_at_clock()
        pay, buy = self.policy.labels_for("pay"), self.policy.labels_for("purchase")
        if not len(log) or not pay or not buy:
            return 0
        charged = log[C.CHARGE_ID].notna().to_numpy(dtype=bool)
        purchase = log[C.ACTIVITY].isin(buy).to_numpy(dtype=bool) & charged
        if not (purchase & (log[C.AMOUNT].isna() | log[C.CURRENCY].isna()).to_numpy(
                dtype=bool)).any():
            return 0  # (every purchase states both: nearly always)
        columns = [C.CASE, C.CHARGE_ID, C.AMOUNT, C.CURRENCY, C.PAYMENT_STATUS]
        bought = log.loc[purchase, columns]
        bought = bought[_done(bought[C.PAYMENT_STATUS])]
        if bought.empty:
            return 0
        stated = bought[C.AMOUNT].notna() & bought[C.CURRENCY].notna()
        blind = pd.Index(pd.unique(bought[C.CHARGE_ID].astype(object))).difference(
            pd.Index(pd.unique(bought.loc[stated, C.CHARGE_ID].astype(object))))
        if not len(blind):
            return 0
        paid = log.loc[log[C.ACTIVITY].isin(pay).to_numpy(dtype=bool) & charged, columns]
        paid = paid[_done(paid[C.PAYMENT_STATUS])
                    & paid[C.CHARGE_ID].astype(object).isin(blind).to_numpy(dtype=bool)]
        return int(paid[C.CASE].nunique())

    def _not_itemised(self) -> tuple[pd.DataFrame, set[str]] | None:
        """The Amount Refunded lines of Stripe Dashboard payments (`ImportResult.
        not_itemised`) whose refund no input itemises (no payout of that charge in the
        log), and the charges the log holds; None where there are none. The whole log,
        not the log at the clock (`--as-of`): a refund the refunds CSV or the balance
        report itemises after the clock is still itemised, and judged as of its time, so
        its case is no case of a refund given only as a total (the log at the clock took
        such refunds for unitemised: at the sample's median refund time, 34 cases told
        so, beside the refunds CSV that itemises every one)."""
        lines = getattr(self.imported, "not_itemised", None)
        log = self.imported.log
        if lines is None or lines.empty:
            return None  # (nearly always: no Dashboard payments export)
        if C.CHARGE_ID not in log.columns:  # (no payment in any case: an empty log)
            return lines, set()
        # (a refund another input itemises, the balance report or the refunds CSV given
        # beside the export: its payout is in the log, and the case is judged)
        paid: set[str] = set()
        if C.REFUND_ID in log.columns:
            refunds = log[log[C.REFUND_ID].notna().to_numpy(dtype=bool)]
            paid = set(refunds[C.CHARGE_ID].dropna().astype(str).tolist())
        left = lines[~lines["charge"].isin(paid).to_numpy(dtype=bool)]
        held = set(log[C.CHARGE_ID].dropna().astype(str).tolist())
        return (left, held) if not left.empty else None

    def refunds_not_itemised(self, shown: int = 5
                             ) -> tuple[int, dict[str, int], list[str]]:
        """The cases holding a payment whose refund a Stripe Dashboard payments export
        gives only as a total (its `Amount Refunded` line, `payments.REFUND_NOT_ITEMISED`)
        and no input itemises (no payout of that charge in the log): how many, the open
        findings of them per rule name, and the first `shown` by case id. No payout of
        that refund is in the log (none is made up from a total), so a payout found
        missing or late there may be that refund. The payment is the one the line's hint
        names (before, parsed from its reason: an id holding a space was missed)."""
        found = self._not_itemised()
        if found is None:
            return 0, {}, []
        log = self.log_at_clock()
        if not len(log) or C.CHARGE_ID not in log.columns:
            return 0, {}, []
        # (the cases holding the payment: a charge two tickets name is in both, and its
        # line names neither)
        left = set(found[0]["charge"].tolist())
        cases = set(log.loc[log[C.CHARGE_ID].astype(object).isin(left).to_numpy(dtype=bool),
                            C.CASE].astype(str).tolist())
        if not cases:
            return 0, {}, []
        per_rule: dict[str, int] = {}
        for finding in self.result.findings:
            if str(finding.case_id) in cases and not finding.waived:
                per_rule[finding.name] = per_rule.get(finding.name, 0) + 1
        return len(cases), per_rule, sorted(cases)[:shown]

    def refunded_above_charge(self) -> list[tuple[str, object, str, str, str, str, str]]:
        """The payments a Stripe Dashboard payments export shows refunded above their Amount
        (`ImportResult.above_charge`: its `Amount Refunded` line), each once, by the first of
        its lines by file and row: (file, row, field, charge, amount refunded, amount
        charged, currency), the amounts and currency as the export states them (its reader
        carries the payment's Amount and Currency with the line). Money refunded beyond the
        charge, which Stripe never does: the export contradicts itself, its total is not
        read and no rule judges it, so the check tells each, whether or not another input
        itemises the refunds (before, a quarantine line and an import note alone: no
        warning, nothing counted in the summary; then the lines were counted, not the
        payments, so one export given twice under two names told each payment twice, and
        the Amount was the log's, or none where no case held the payment)."""
        if "above_charge" in self.memo:
            return list(self.memo["above_charge"])
        lines = getattr(self.imported, "above_charge", None)
        out: list[tuple[str, object, str, str, str, str, str]] = []
        if lines is not None and not lines.empty:
            ordered = lines.assign(_row=pd.to_numeric(lines["row"], errors="coerce")) \
                .sort_values(["file", "_row"], kind="stable").drop_duplicates("charge")
            for file, row, name, charge, value, amount, code in zip(
                    ordered["file"].astype(str).tolist(), ordered["row"].tolist(),
                    ordered["field"].astype(str).tolist(),
                    ordered["charge"].astype(str).tolist(),
                    ordered["value"].astype(str).tolist(),
                    ordered["amount"].astype(str).tolist(),
                    ordered["currency"].astype(str).tolist(), strict=True):
                out.append((file, row, name, charge, value.strip(), amount, code))
        self.memo["above_charge"] = out
        return list(out)

    def refunds_in_no_case(self) -> tuple[int, str, str, object]:
        """The payments a Stripe Dashboard payments export shows refunded (an `Amount
        Refunded` line) that no case holds (no ticket names them and no input itemises
        their refunds: left out as sales), so their refunds are in no audit at all: how
        many, and the first's charge, file and row ((0, '', '', None) where none), the
        first by charge, then file and row (before, the first in the inputs' order: the
        same files given the other way round named another). Before, only an import note
        counted them, and the check said nothing."""
        found = self._not_itemised()
        if found is None:
            return 0, "", "", None
        lines, held = found
        lines = lines[~lines["charge"].isin(held).to_numpy(dtype=bool)]
        lines = lines.assign(_row=pd.to_numeric(lines["row"], errors="coerce")).sort_values(
            ["charge", "file", "_row"], kind="stable").drop_duplicates("charge")
        if lines.empty:
            return 0, "", "", None
        first = lines.iloc[0]
        return len(lines), str(first["charge"]), str(first["file"]), first["row"]

    def absences_beside_quarantine(self, shown: int = 5
                                   ) -> list[tuple[str, str, int, list[str]]]:
        """Per rule that finds a control missing from a case (`_ABSENT`: an approval, a
        second approval, an evidence item) and found cases holding quarantined rows (open
        findings whose `case_quarantined_rows` is above 0): (code, name, how many such
        cases, the first `shown` by case id). What a quarantined row held is not read, so
        the missing control may be there (an approval whose time could not be read): a gap
        in the data, which the finding alone, counting the rows, does not say. A case
        whose quarantined rows are all payment records of no refund case (a currency
        conversion or fee reversal of its refund, a chargeback of its payment: their
        reasons say `NO_CASE_EVENT`) is not counted: no approval or evidence item is among
        them (before, PayPal's conversion rows of a refund, named with its case, told
        every missing approval of the case so)."""
        from audit.sources.payments import NO_CASE_EVENT

        cases: dict[str, set[str]] = {}
        held: set[str] | None = None  # (the cases of rows that may hold a control)
        for finding in self.result.findings:
            if finding.rule in _ABSENT and finding.case_quarantined_rows and not finding.waived:
                if held is None:
                    lines = self.quarantine_lines()
                    maybe = ~lines["reason"].astype(str).str.contains(NO_CASE_EVENT,
                                                                      regex=False)
                    held = set(lines.loc[maybe, "case"].astype(str))
                if str(finding.case_id) in held:
                    cases.setdefault(finding.rule, set()).add(str(finding.case_id))
        names = {rule.code: rule.name for rule in self.result.rules}
        return [(code, names.get(code, code), len(cases[code]), sorted(cases[code])[:shown])
                for code in _ABSENT if code in cases]

    def paid_in_another_currency(self, shown: int = 5
                                 ) -> tuple[int, dict[str, float], dict[str, float], list[str]]:
        """The cases instrument-mismatch (EV006, open) found paid, by a successful payout, in
        another currency than the purchase it refunds (each payout compared with the
        purchase of the charge it names, else the case's first: the finding's
        `other_currency_payout_eids`): how many; what those payouts paid per currency (the
        log at the clock; a payout stating no amount adds nothing), all of them, and those
        of them in another currency than their case's (the finding's `currency`: the first
        request's, else the first payout's), which no finding puts at risk and no amount
        rule weighs (they compare amounts of one currency, the case's); and the first
        `shown` by case id. A payout in the case's currency is weighed in it, the money at
        risk counting it only where a finding of the case states it (a clean case paid
        15,000 JPY on a 100 EUR purchase has none at risk: before, the warning said the money
        at risk counted it; and before that, every payout was said to be
        left out of the money at risk: a 100 EUR purchase paid 15,000 JPY, where the
        request states no currency, was told so beside `money at risk: 15,000 JPY`; and a
        payout in its own charge's currency, beside another charge's purchase, was told as
        paid in another currency)."""
        wanted: dict[str, str] = {}  # payout event id -> its case's currency ('' if none)
        cases: set[str] = set()
        for finding in self.result.findings:
            if finding.rule != "EV006" or finding.waived:
                continue
            ids = finding.evidence.get("other_currency_payout_eids")
            if isinstance(ids, list) and ids:
                cases.add(str(finding.case_id))
                own = finding.currency if isinstance(finding.currency, str) else ""
                wanted.update((str(i), own) for i in ids)
        if not cases:
            return 0, {}, {}, []
        log = self.log_at_clock()
        sums: dict[str, float] = {}
        outside: dict[str, float] = {}
        if C.CURRENCY in log.columns and C.AMOUNT in log.columns:
            rows = log[C.EVENT_ID].astype(str).isin(set(wanted)).to_numpy(dtype=bool)
            paid = log.loc[rows, [C.EVENT_ID, C.AMOUNT, C.CURRENCY]]
            for ident, amount, code in zip(paid[C.EVENT_ID].astype(str).tolist(),
                                           paid[C.AMOUNT].tolist(),
                                           paid[C.CURRENCY].tolist(), strict=True):
                if isinstance(code, str) and pd.notna(amount):
                    sums[code] = sums.get(code, 0.0) + float(amount)
                    if code != wanted[ident]:
                        outside[code] = outside.get(code, 0.0) + float(amount)
        return (len(cases), dict(sorted(sums.items())), dict(sorted(outside.items())),
                sorted(cases)[:shown])

    def paid_outside_case_currency(self, shown: int = 5
                                   ) -> tuple[int, dict[str, float], dict[str, str], list[str]]:
        """The cases holding a successful payout in another currency than the case's (its
        first request's, else its first payout's) that the warning of cases paid in another
        currency than the purchase (`paid_in_another_currency`) does not tell: a payout in
        the currency of the purchase it refunds (ch_A 100 EUR, ch_B 80 USD, the request and
        approval 100 EUR, payouts of 100 EUR and 80 USD each to its own charge). No amount
        rule weighs it (they compare amounts of one currency, the case's) and no finding
        puts it at risk: before, nothing told of it (`money at risk: 100 EUR` beside 180
        paid on a 100 EUR approval). How many; what those payouts paid per currency (the
        log at the clock; a payout stating no amount adds nothing); per currency of those
        cases, how many (the cases' currencies); and the first `shown` by case id."""
        log = self.log_at_clock()
        if (not len(log) or C.CURRENCY not in log.columns
                or log[C.CURRENCY].dropna().nunique() < 2):
            return 0, {}, {}, []  # (one currency in all: no payout is in another)
        # (the cases stating two currencies or more alone: the others' payouts are all in
        # their case's currency, and the facts are made of few events)
        stated = log.loc[log[C.CURRENCY].notna().to_numpy(dtype=bool), [C.CASE, C.CURRENCY]]
        pairs = stated.drop_duplicates()  # (on the columns as they are: no text per row)
        several = set(pairs.loc[pairs[C.CASE].duplicated().to_numpy(dtype=bool),
                                C.CASE].tolist())
        if not several:
            return 0, {}, {}, []
        from audit.rules.facts import CaseFacts

        facts = CaseFacts(C.completions(log[log[C.CASE].isin(several).to_numpy(dtype=bool)]),
                          self.policy, self.result.as_of)
        other = np.flatnonzero(facts.mask("paid") & ~facts.paid_in_case_currency())
        if not len(other):
            return 0, {}, {}, []
        told: set[str] = set()  # (the payouts the warning of another purchase's currency tells)
        for finding in self.result.findings:
            ids = finding.evidence.get("other_currency_payout_eids")
            if finding.rule == "EV006" and not finding.waived and isinstance(ids, list):
                told.update(str(i) for i in ids)
        currency = facts.table("currency")["currency"]
        sums: dict[str, float] = {}
        cases: dict[str, str] = {}
        for ident, code, amount, case in zip(
                pd.Series(facts.column(C.EVENT_ID).take(other)).astype(str).tolist(),
                pd.Series(facts.column(C.CURRENCY).take(other)).astype(str).tolist(),
                pd.to_numeric(pd.Series(facts.column(C.AMOUNT).take(other)),
                              errors="coerce").tolist(),
                facts.case_ids[facts.case_code[other]].astype(str).tolist(), strict=True):
            if ident in told:
                continue
            cases[case] = str(currency.iloc[facts.case_ids.get_loc(case)])
            if pd.notna(amount):
                sums[code] = sums.get(code, 0.0) + float(amount)
        return (len(cases), dict(sorted(sums.items())),
                dict(sorted(cases.items())), sorted(cases)[:shown])

    def payouts_without_amount(self) -> tuple[int, int]:
        """(payouts, cases) that payout-without-amount (DQ003) found, not waived: money
        paid out that the money at risk cannot count."""
        found = [f for f in self.result.findings
                 if f.rule == "DQ003" and not f.waived]
        return (sum(int(f.evidence.get("payouts_without_amount", 0)) for f in found),
                len(found))

    def currencies_within_tolerance(self) -> list[str]:
        """Where a rule comparing amounts ran (one whose options read `amount_tolerance`) and
        the policy states one:
        the currencies of the log's amounts of which it is one minor unit or more (0.005
        is 5 fils of KWD): differences between their amounts up to it are read as
        rounding. Left out, the tolerance is half a minor unit of each currency."""
        tolerance = self.policy.amount_tolerance
        if tolerance is None or not any(option.source == "amount_tolerance"
                                        for rule in self.result.rules
                                        for option in rule.options):
            return []
        log = self.log_at_clock()
        if not len(log) or C.CURRENCY not in log.columns:
            return []
        stated = log.loc[log[C.AMOUNT].notna().to_numpy(dtype=bool), C.CURRENCY]
        codes = {str(c) for c in pd.unique(stated.dropna().astype(object))}
        return sorted(c for c in codes
                      if c in CURRENCIES and tolerance >= 10.0 ** -minor_units(c) - 1e-12)

    def log_at_clock(self) -> pd.DataFrame:
        """The log as it stood at the audit's clock, which the warnings on what the rules
        could not judge and the reports' graphs (the DFG, the SOP overlays, the evidence
        graphs) read: the imported log, without the events dated after the clock where the
        rules judged some not, or an event they did not judge (a start) is dated after it
        (one copy, made once and kept for the run's reports; where every event is a
        completion, the copy the rules judged, which `run_check_log` keeps here), else the
        imported log itself (no copy: `canonical.until`)."""
        if "log_at_clock" not in self.memo:
            self.memo["log_at_clock"] = C.until(self.imported.log, self.result.as_of)[0]
        return cast(pd.DataFrame, self.memo["log_at_clock"])

    def import_notes(self) -> list[str]:
        """The import's notes, each cut where it quotes a value of megabytes
        (`words.cut_middle`), as the console, the manifest and the report show them."""
        from audit.words import cut_middle

        return [cut_middle(note) for note in self.imported.notes]

    def warnings(self) -> list[str]:
        """What the auditor must know to read the findings right: the events dated after
        the audit's clock (a policy's pinned as_of, e.g. the bundled one, which matches the
        bundled sample, on a later log; or --as-of a period's end), which were not judged.
        Computed once per finished run (the console, the manifest of findings.json and the
        HTML report each ask; the typo and currency checks read the whole log: 0.07 s at
        100k cases, 0.39 s at 1M, each time; `write_reports` asks before it forks the
        XLSX's process, so the two report processes do not each compute them); a copy is
        returned."""
        if "warnings" not in self.memo:
            from audit.words import cut_middle

            # (each cut where it quotes a value of megabytes: a label, a transition)
            self.memo["warnings"] = [cut_middle(told) for told in self._warnings()]
        return list(self.memo["warnings"])

    def _warnings(self) -> list[str]:
        out = []
        if self.reproducible and self.as_of_source == "clock":
            out.append(clock_not_pinned_told(self.result.as_of, int(self.started.timestamp())))
        if self.after_clock:
            last = self.imported.log[C.TIMESTAMP].max()
            out.append(C.after_clock_told(self.after_clock, self.result.as_of,
                                          None if pd.isna(last) else last))
        if self.not_judged:
            out.append(C.not_completions_told(self.not_judged))
        if self.unrecorded_roles or self.unrecorded_approvals:
            from audit.rules.engine import ROLE_NOT_RECORDED
            from audit.rules.lanes import unrecorded_told

            # (one warning for both role rules: a role not recorded is one gap in the data)
            out.append(unrecorded_told(self.unrecorded_roles, self.unrecorded_nobody,
                                       missing_resource=bool(self._ran_of(("DQ002",))),
                                       approvals=self.unrecorded_approvals,
                                       approvals_nobody=self.unrecorded_approvals_nobody,
                                       cases=[reasons.get(ROLE_NOT_RECORDED, []) for reasons
                                              in self.unjudged_case_ids().values()]))
        if told := getattr(self.imported, "told_apart", None):
            from audit.sources.jira import told_apart_warnings

            # (two Jira users of one name: the name bare elsewhere is neither of them)
            roles = getattr(self.imported, "roles", None)
            out.extend(told_apart_warnings(
                self.imported.log, told,
                None if roles is None else roles.periods["person"].unique()))
        out.extend(self.sop_warnings)
        out.extend(self.expired_waivers_told())
        for label, (events, near) in self.labels_like_mapped_ones().items():
            out.append(f"the label '{label}' ({events:,} event{'s' if events != 1 else ''}) "
                       f"is mapped by no policy entry, but is close to the mapped '{near}': "
                       "a typo in the export or the policy? Its events are judged as "
                       "unmapped (unmapped-activity), not as "
                       f"'{near}' ({self.policy.activities[near].control})")
        for column, (events, near, channels) in self.evidence_columns_like_required().items():
            out.append(f"the log's column '{column}' ({counted(events, 'event', spec=',')} "
                       "with a value) is no column the policy's evidence requires, but is "
                       f"spelt like the required '{near}' ({', '.join(channels)}): "
                       "missing-evidence reads the policy's column as written, so a case "
                       f"whose item is in '{column}' is found without it; rename the column "
                       "in the export (or a --mapping), or the policy's evidence entry")
        for label, events in self.amounts_read_by_no_rule().items():
            out.append(f"the label '{label}' ({counted(events, 'event', spec=',')} stating "
                       "an amount) is mapped to the control other, and the policy maps no "
                       "label to prorate: amount-mismatch reads none of these amounts and "
                       "weighs the payouts against the request; if it is the pro-rata "
                       "calculation of a subscription refund, map it to "
                       f"'{{control: prorate}}' (as `refund-audit policy init` writes it)"
                       + ("; unauthorized-performer reads performers by control: move the "
                          "roles of performers.other that perform it to performers.prorate"
                          if "other" in self.policy.performer_roles else ""))
        for role, (where, close, later) in self.roles_recorded_nowhere().items():
            if later is not None:  # (recorded, but only after the clock: not a typo)
                count, first = later
                out.append(f"the policy allows the role '{role}' ({', '.join(where)}), whose "
                           f"{counted(count, 'event', spec=',')} in this log "
                           f"{'is' if count == 1 else 'are all'} dated after the audit's "
                           f"clock ({self.result.as_of.isoformat()}; the first "
                           f"{first.isoformat()}), and which no lane in the SOP holds: it "
                           "authorises no one at the clock")
                continue
            if close is None:  # (spelt like no role there: most likely none this period)
                out.append(f"the policy allows the role '{role}' ({', '.join(where)}), which "
                           "has no events in this log and no lane in the SOP: it authorises "
                           "no one here")
                continue
            rules = self._ran_of(tuple(code for code, head in (("AP004", "approvers."),
                                                                ("SD004", "performers."))
                                       if any(w.startswith(head) for w in where)))
            window = self._ran_of(("EV008",)) if any(
                w.startswith("refund_window.") for w in where) else []
            why = []
            if rules:
                why.append(f"{' and '.join(rules)} allow{'s' if len(rules) == 1 else ''} "
                           "no other role in its place, so events by the role meant are "
                           "judged unauthorized")
            if window:
                why.append("outside-refund-window accepts no late refund approved by the "
                           "role meant as an exception, and finds it")
            out.append(f"the policy allows the role '{role}' ({', '.join(where)}), which no "
                       "event of the log records and no lane of the SOP holds, but is close "
                       f"to the role '{close}' there: a typo? " + "; ".join(why))
        unjudged = self.currencies_without_threshold()
        if unjudged:
            listed = ", ".join(f"{currency} ({cases:,} case{'s' if cases != 1 else ''})"
                               for currency, cases in unjudged.items())
            out.append(f"missing-second-approval judges no refund in {listed}: the policy "
                       "sets no thresholds.second_approval for "
                       f"{'it' if len(unjudged) == 1 else 'them'}; add one per currency "
                       "to judge them")
        no_currency_cases = self.cases_without_currency()
        if no_currency_cases:
            names = self._ran_of(_NEED_A_CURRENCY)
            listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1
                                  else names)
            out.append(f"{listed} judge{'s' if len(names) == 1 else ''} no "
                       f"refund of {counted(no_currency_cases, 'case', spec=',')} stating "
                       "amounts but no currency (in none of its events): no threshold "
                       "applies, nor a comparison with the request or the charge; record "
                       "the currency")
        unweighed = self.payouts_against_no_stated_amount()
        if unweighed:
            weighing = self._ran_of(("EV004", "AP005"))
            out.append(f"{' and '.join(weighing)} judge{'s' if len(weighing) == 1 else ''} "
                       f"no payout of {counted(unweighed, 'case', spec=',')} whose request "
                       "and approvals "
                       "state no amount: what was paid is weighed against no amount the "
                       "ticket authorised (only against the charge, by refund-exceeds-charge, "
                       "and the second-approval threshold)")
        unbought, buy = self.paid_without_any_purchase()
        if unbought:
            labels = (", ".join(f"'{b}'" for b in buy[:-1]) + f" or '{buy[-1]}'"
                      if len(buy) > 1 else f"'{buy[0]}'" if buy else "")
            out.append(f"no-prior-purchase found {counted(unbought, 'paid case', spec=',')} "
                       "without a purchase before the payout, and the log holds no purchase "
                       "at all (" + (f"no event labelled {labels}, the policy's labels of "
                       "the control purchase" if buy else "no label of the policy is mapped "
                       "to the control purchase") + "): the charges, renewals or sales "
                       "refunded are not in the log, so every paid case is found; import the "
                       "payment system's charges with the tickets, or leave the rule out "
                       "(rules.ignore: [EV007])")
        disputed, named_cases = self.paid_and_disputed()
        if disputed:
            more = disputed - len(named_cases)
            out.append(f"{counted(disputed, 'case', spec=',')} paid a refund of a payment "
                       "that the payment system also shows charged back or disputed: a "
                       "chargeback or dispute row of the same payment, quarantined with the "
                       "case, which no rule judges; the customer may have had the money "
                       "back twice, by the refund and by the chargeback: check the "
                       "quarantine's lines of " + ", ".join(_shown_id(c) for c in named_cases)
                       + (f" and {more:,} more" if more else ""))
        uncaptured = self.payouts_on_unstated_charges()
        if uncaptured:
            out.append("refund-exceeds-charge judges no payout of "
                       f"{counted(uncaptured, 'case', spec=',')} on a charge whose purchase "
                       "states no amount or no currency: what was refunded is weighed "
                       "against nothing captured")
        untold, per_rule, shown_cases = self.refunds_not_itemised()
        if untold:
            more = untold - len(shown_cases)
            found = ", ".join(f"{name} {count:,}" for name, count in sorted(per_rule.items()))
            out.append(f"{counted(untold, 'case', spec=',')} hold a payment whose refund a "
                       "Stripe Dashboard payments export gives only as a total (Amount "
                       "Refunded: no refund id, time or executor), read as no payout: their "
                       "refunds are not judged, and what their findings say is missing or "
                       "unpaid may be that refund (" + (f"findings: {found}" if found else
                       "no findings") + "); read the refunds from the itemized balance "
                       "change report or the refunds CSV beside it (the quarantine's Amount "
                       "Refunded lines name the payments); cases "
                       + ", ".join(_shown_id(c) for c in shown_cases)
                       + (f" and {more:,} more" if more else ""))
        above = self.refunded_above_charge()
        if above:
            five = above[:5]
            more = len(above) - len(five)
            out.append(
                f"{counted(len(above), 'payment', spec=',')} that a Stripe Dashboard payments "
                f"export shows refunded above {'its' if len(above) == 1 else 'their'} Amount, "
                "money refunded beyond the charge, which Stripe never refunds: the export "
                "contradicts itself, the amount refunded is not read and no rule judges it; "
                "compare the payment in Stripe with its refunds (the itemized balance change "
                "report or the refunds CSV): " + "; ".join(
                    f"{file} row {row} field {name}: {_in_minor_units(value, code)} {code} "
                    f"refunded of {_in_minor_units(amount, code)} {code} "
                    f"({_shown_id(charge)})"
                    for file, row, name, charge, value, amount, code in five)
                + (f"; and {more:,} more (the quarantine's Amount Refunded lines)"
                   if more else ""))
        nowhere, charge, file, row = self.refunds_in_no_case()
        if nowhere:
            out.append(f"{counted(nowhere, 'payment', spec=',')} that a Stripe Dashboard "
                       "payments export shows refunded (Amount Refunded) "
                       f"{'is' if nowhere == 1 else 'are'} in no case: no ticket names "
                       f"{'it' if nowhere == 1 else 'them'} and no input itemises the "
                       "refund, so the payment is left out as a sale and its refund is not "
                       "audited at all; read the refunds from the itemized balance change "
                       "report or the refunds CSV beside it (the first: "
                       f"{_shown_id(charge)}, {file} row {row})")
        for code, name, count, shown in self.absences_beside_quarantine():
            more = count - len(shown)
            out.append(f"{name} found {counted(count, 'case', spec=',')} holding rows the "
                       "import quarantined (the findings' case_quarantined_rows): what it "
                       f"found missing ({_ABSENT[code]}) may be among those rows, not read; "
                       "check the quarantine's lines of "
                       + ", ".join(_shown_id(c) for c in shown)
                       + (f" and {more:,} more" if more else "") + " before escalating")
        other, other_sums, outside, other_cases = self.paid_in_another_currency()
        if other:
            more = other - len(other_cases)

            def figures(sums: dict[str, float]) -> str:
                return ", ".join(f"{figure(rounded(v, k), k)} {k}" for k, v in sums.items())

            inside = {k: v - outside.get(k, 0.0) for k, v in other_sums.items()
                      if v - outside.get(k, 0.0) > 0}
            parts = []
            if outside:
                parts.append(
                    f"those in another currency than their case's ({figures(outside)}) the "
                    "money at risk counts none of (a case's findings state amounts in its "
                    "own currency, and instrument-mismatch states none where only the "
                    "currency differs) and no amount rule weighs (amount-mismatch, "
                    "payout-exceeds-approved and refund-exceeds-charge compare amounts of "
                    "one currency)")
            if inside:
                parts.append(
                    f"those in their case's own currency ({figures(inside)}: the case's "
                    "currency is its first request's, else its first payout's) the amount "
                    "rules weigh in that currency, against amounts that may be in the "
                    "purchase's, and the money at risk counts only where another finding of "
                    "the case states them (instrument-mismatch states none where only the "
                    "currency differs)")
            out.append(f"instrument-mismatch found {counted(other, 'case', spec=',')} paid in "
                       "another currency than the purchase refunded"
                       + (f" ({figures(other_sums)} paid so)" if other_sums else "")
                       + (": of these payouts, " + "; ".join(parts) if parts else "")
                       + "; check what was paid against the approval in cases "
                       + ", ".join(_shown_id(c) for c in other_cases)
                       + (f" and {more:,} more" if more else ""))
        beside, beside_sums, of_cases, beside_cases = self.paid_outside_case_currency()
        if beside:
            more = beside - len(beside_cases)
            owns = sorted(set(of_cases.values()))
            out.append(f"{counted(beside, 'case', spec=',')} paid in another currency than "
                       f"the case's ({', '.join(owns)}: its first request's, else its first "
                       "payout's), in the currency of the purchase each such payout refunds"
                       + (" (" + ", ".join(f"{figure(rounded(v, k), k)} {k}"
                                           for k, v in beside_sums.items()) + " paid so)"
                          if beside_sums else "")
                       + ": no amount rule weighs these payouts (amount-mismatch, "
                       "payout-exceeds-approved and refund-exceeds-charge compare amounts of "
                       "one currency, the case's) and the money at risk counts none of them; "
                       "check what was paid against the approval in cases "
                       + ", ".join(_shown_id(c) for c in beside_cases)
                       + (f" and {more:,} more" if more else ""))
        unpaid, unpaid_cases = self.payouts_without_amount()
        if unpaid:
            out.append(f"{counted(unpaid, 'successful payout', spec=',')} in "
                       f"{counted(unpaid_cases, 'case', spec=',')} state"
                       f"{'s' if unpaid == 1 else ''} no amount (payout-without-amount): the "
                       "money at risk does not count what "
                       f"{'it' if unpaid == 1 else 'they'} paid, and no amount rule could "
                       f"weigh {'it' if unpaid == 1 else 'them'}")
        coarse = self.currencies_within_tolerance()
        if coarse:
            out.append(f"the policy's amount_tolerance ({self.policy.amount_tolerance:g}) is "
                       f"a minor unit or more of {', '.join(coarse)}: differences up to it "
                       "between amounts in "
                       f"{'it' if len(coarse) == 1 else 'them'} are read as rounding, not "
                       "found; leave amount_tolerance out to use half a minor unit of each "
                       "currency")
        aligned_none = bool(self.result.cases) and self.result.extra.get("conformance") == {}
        if aligned_none:
            # The conformance rules ran (their summary is there) and aligned no case.
            out.append(self._nothing_aligned_told())
        without_channel = self.without_channel_told(aligned_none)
        if without_channel:
            out.append(without_channel)
        out.extend(self.refund_window_told())
        out.extend(self.receipt_generic_told())
        if self.others_in_out:
            out.append(self.others_in_out_told())
        no_currency = self.no_currency_findings()
        if no_currency:
            many = no_currency != 1
            out.append(f"{no_currency:,} finding{'s' if many else ''} that put"
                       f"{'' if many else 's'} money at risk state{'' if many else 's'} no "
                       f"currency: {'their amounts are' if many else 'its amount is'} counted "
                       f"under '{NO_CURRENCY}', apart from every currency's total")
        return out

    def expired_waivers_told(self) -> list[str]:
        """A warning per waiver of the policy that expired before the audit's clock, which
        waives nothing: naming it (its rule, case or fingerprint, policy line, who approved
        it, its expiry) and, where it matches findings no waiver in force waives, how many
        it no longer waives, now reported open (findings.json's waivers list it as
        "expired"; before, nothing else told of the findings it stopped waiving)."""
        out = []
        day = self.result.as_of.date().isoformat()
        for status in self.result.waivers:
            if not status.expired:
                continue
            w = status.waiver
            whom = f"case {w.case}" if w.case is not None else f"fingerprint {w.fingerprint}"
            line = f", policy line {w.line}" if w.line is not None else ""
            named = (f"the waiver of {w.rule} on {whom}{line}, approved by {w.approved_by}, "
                     f"has expired: it held until {w.expires.isoformat()}, before the audit's "
                     f"clock ({day})")
            if status.lapsed:
                out.append(f"{named}: it no longer waives "
                           f"{counted(status.lapsed, 'finding', spec=',')}, reported open; "
                           "renew it (a later expires) if the exception still stands")
            else:
                out.append(f"{named}: it waives nothing, and no finding of this run is left "
                           "open by its expiry")
        return out

    def others_in_out_told(self) -> str:
        """The warning naming `others_in_out` (no folder: the report is handed on)."""
        return (f"the output folder also holds {len(self.others_in_out):,} "
                f"file{'s' if len(self.others_in_out) != 1 else ''} this run did not write, "
                "named as this tool's outputs (a canonical log and its side files, a "
                "sample's, discover's or compare's): " + ", ".join(self.others_in_out)
                + "; they are not this run's: hand on only the files it wrote")

    def _nothing_aligned_told(self) -> str:
        """Why the conformance rules, which ran, aligned no case: a case is aligned on its
        channel's SOP by its events whose label the policy maps to an SOP task, so either no
        event's label is such a task, or no case holding one has an SOP for its channel."""
        log = self.log_at_clock()
        start = ("conformance judged no case: a case is aligned on its channel's SOP by its "
                 "events whose label is an SOP task as the policy maps labels "
                 "(activities.<label>.sop_task); ")
        mapped = log[C.ACTIVITY].isin(list(self.policy.sop_tasks())).to_numpy(dtype=bool)
        if not mapped.any():
            return (start + "no event's label is one, so nothing was aligned; to compare a "
                    "log with a model by the log's own labels, run `refund-audit compare LOG "
                    "MODEL`")
        # Each case's channel, as the rules judged it (not each event's own: a case may
        # state several, or state it on one event only).
        channels = sorted({str(c) for c in self.channels_of(log.loc[mapped, C.CASE]).unique()})
        named = ", ".join(f"'{c}'" if c else "none stated" for c in channels)
        return (start + f"the cases holding such events have no SOP for their channel "
                f"({named}; the policy's sop names "
                + (", ".join(f"'{c}'" for c in sorted(self.policy.sop)) or "none")
                + "): state each case's channel (refund:channel), or give --sop MODEL, the "
                "SOP of every channel")

    def summary(self) -> dict[str, Any]:
        """The run's counts (computed once per finished run: every writer asks; a copy is
        returned, so that a caller's change is not seen by the next)."""
        if "summary" not in self.memo:
            self.memo["summary"] = self._summary()
        return copy.deepcopy(self.memo["summary"])

    def finding_columns(self) -> FindingColumns:
        """The findings' counted fields as arrays (computed once per finished run: the
        summary and the report's ranking of cases read them)."""
        if "finding_columns" not in self.memo:
            self.memo["finding_columns"] = finding_columns(self.result.findings)
        columns: FindingColumns = self.memo["finding_columns"]
        return columns

    def _quarantined_in(self, cases: list[Any]) -> int:
        """How many of the rows quarantined (distinct file and row) the quarantine names a
        case of `cases` for."""
        quarantine = self.imported.quarantine
        if quarantine.empty or "case" not in quarantine.columns or not cases:
            return 0
        named = quarantine["case"].astype("string").fillna("")
        hit = quarantine[named.isin({str(c) for c in cases if c is not None}).to_numpy(
            dtype=bool)]
        # (a line of one field alone names a row imported all the same: no row not read)
        hit = hit[~field_only(hit)] if len(hit) else hit
        return len(hit[["file", "row"]].drop_duplicates())

    def quarantine_lines(self) -> pd.DataFrame:
        """The quarantine's lines that name a case (texts: `case`, `file`, `row`, `field`,
        `reason`): this check's inputs', then each canonical-log input's own import's (its
        file beside it, where `earlier_quarantines` counts its rows), in their order (read
        once per finished run). A row quarantined for several fields has a line each.
        The lines of one field alone (`normalise.field_only`, their `record_read` yes: an
        approval's unreadable amount, its record imported without it; an earlier import's
        are left out by `read_earlier_quarantine`) are left out: they name no row left out of
        the log, so no finding's `case_quarantined_rows` counts them, nor the warning of a
        control found missing beside such rows (`absences_beside_quarantine`), nor the
        report's rows of a case "quarantined, not imported"."""
        if "quarantine_lines" not in self.memo:
            names = ("case", "file", "row", "field", "reason")
            parts = [self.imported.quarantine, *(
                rows for _told, rows in self.earlier_quarantines().values()
                if rows is not None)]
            frames = []
            for part in parts:
                if part.empty or "case" not in part.columns:
                    continue
                named = (part["case"].astype("string").fillna("") != "").to_numpy(dtype=bool)
                named &= ~field_only(part)
                if named.any():
                    frames.append(pd.DataFrame({
                        name: (part[name][named].astype("string").fillna("")
                               .to_numpy(dtype=object) if name in part.columns
                               else np.full(int(named.sum()), "", dtype=object))
                        for name in names}))
            self.memo["quarantine_lines"] = (
                pd.concat(frames, ignore_index=True) if frames
                else pd.DataFrame({name: [] for name in names}, dtype=object))
        lines: pd.DataFrame = self.memo["quarantine_lines"]
        return lines

    def quarantined_rows(self) -> pd.Series:
        """Per case id (the index) that `quarantine_lines` names: how many of its rows were
        quarantined (distinct file and row). One count of the lines by case, not a search
        per finding."""
        if "quarantined_rows" not in self.memo:
            rows = self.quarantine_lines().drop_duplicates(["case", "file", "row"])
            self.memo["quarantined_rows"] = rows["case"].value_counts(sort=False)
        counts: pd.Series = self.memo["quarantined_rows"]
        return counts

    def count_quarantined_rows(self) -> None:
        """Each finding's `case_quarantined_rows`: its case's count in `quarantined_rows`
        (0 where it has none). The findings' case ids looked up at once, and only the
        findings of such cases set."""
        counts = self.quarantined_rows()
        findings = self.result.findings
        if counts.empty or not findings:
            return
        at = pd.Index(counts.index.astype(object)).get_indexer(
            pd.Index([f.case_id for f in findings], dtype=object))
        values = counts.to_numpy(dtype=np.int64)
        for k in np.flatnonzero(at >= 0).tolist():
            findings[k].case_quarantined_rows = int(values[at[k]])

    def quarantined_rows_of(self, cases: list[str], most: int
                            ) -> dict[str, tuple[list[tuple[str, str, str]], int]]:
        """Per case of `cases` with quarantined rows: its first `most` rows (in the order
        of `quarantine_lines`), each as its file, its row and what was wrong with it (its
        lines' `field: reason`, joined by '; '), and how many more rows it has."""
        lines = self.quarantine_lines()
        if lines.empty or not cases:
            return {}
        mine = lines[lines["case"].isin(set(cases)).to_numpy(dtype=bool)]
        found: dict[str, dict[tuple[str, str], list[str]]] = {}
        for case, file, row, name, reason in zip(
                mine["case"], mine["file"], mine["row"], mine["field"], mine["reason"],
                strict=True):
            told = f"{name}: {reason}" if name else reason
            wrong = found.setdefault(case, {}).setdefault((file, row), [])
            if told not in wrong:
                wrong.append(told)
        return {case: ([(file, row, "; ".join(wrong))
                        for (file, row), wrong in list(rows.items())[:most]],
                       max(0, len(rows) - most))
                for case, rows in found.items()}

    def earlier_quarantines(self) -> dict[str, tuple[dict[str, Any], pd.DataFrame | None]]:
        """Per input that is a canonical log written by `import` (by path as given): its
        import's quarantine beside it as `audit.store.read_earlier_quarantine` found it, and
        its rows where they can be counted (read once per finished run)."""
        if "earlier_quarantines" not in self.memo:
            from audit.store import read_earlier_quarantine

            self.memo["earlier_quarantines"] = {
                path: read_earlier_quarantine(Path(path), record)
                for path, record in self.imported_earlier.items()}
        found: dict[str, tuple[dict[str, Any], pd.DataFrame | None]] = \
            self.memo["earlier_quarantines"]
        return found

    def earlier_quarantine_counts(self) -> dict[str, dict[str, Any]]:
        """Per canonical-log input (by path as given): what its import quarantined, as
        `earlier_quarantines` found it, with `in_cases_with_findings` (the rows, distinct
        file and row, whose case has an open finding; None where the file's rows are not
        counted) and those `cases`: the manifest's inputs[].earlier_quarantine."""
        if "earlier_quarantine_counts" not in self.memo:
            cols = self.finding_columns()
            with_findings = {str(c) for c in cols.case_names(np.unique(cols.case[~cols.waived]))
                             if c is not None}
            out: dict[str, dict[str, Any]] = {}
            for path, (told, rows) in self.earlier_quarantines().items():
                if rows is None:
                    out[path] = {**told, "in_cases_with_findings": None, "cases": []}
                    continue
                hit = rows[rows["case"].astype(str).isin(with_findings).to_numpy(dtype=bool)]
                out[path] = {**told,
                             "in_cases_with_findings": len(hit[["file", "row"]]
                                                           .drop_duplicates()),
                             "cases": sorted(set(hit["case"].astype(str).tolist()))}
            self.memo["earlier_quarantine_counts"] = out
        return copy.deepcopy(self.memo["earlier_quarantine_counts"])

    def _summary(self) -> dict[str, Any]:
        findings = self.result.findings
        cols = self.finding_columns()
        active = ~cols.waived
        rule = cols.rule[active]
        case = cols.case[active]
        # Per rule: its findings, and its cases (distinct pairs of rule and case).
        rule_findings = np.bincount(rule, minlength=len(cols.rules))
        pairs = np.unique(rule * max(cols.cases, 1) + case)
        rule_cases = np.bincount(pairs // max(cols.cases, 1), minlength=len(cols.rules))
        per_rule = {code: (int(rule_findings[k]), int(rule_cases[k]))
                    for k, code in enumerate(cols.rules)}
        # A rule that crashed did not run: its status says so (its counts, 0, are of no run).
        crashed = {e.rule for e in self.result.errors}
        by_rule: dict[str, dict[str, Any]] = {}
        for r in self.result.rules:
            findings_n, cases_n = per_rule.get(r.code, (0, 0))
            by_rule[r.code] = {"name": r.name, "severity": self.result.severity_of(r),
                               "status": "crashed" if r.code in crashed else "ran",
                               "findings": findings_n, "cases": cases_n}
            unset = r.not_configured(self.policy) if r.code not in crashed else None
            if unset is not None:  # (it ran and judged nothing: not "no late refund")
                by_rule[r.code]["note"] = f"not configured: {unset}"
        severity_counts = np.bincount(cols.severity[active], minlength=len(SEVERITIES))
        by_severity = {s: int(severity_counts[k]) for k, s in enumerate(SEVERITIES)}
        # Money at risk: per case the largest amount any of its findings puts at risk, so a
        # case with three findings is not counted three times; per currency, never summed
        # across currencies. An amount whose finding states no currency (None or empty) is
        # counted in a bucket of its own, NO_CURRENCY, never dropped. (Each case's largest
        # taken from 0.0, as max(0.0, amount): a NaN or negative amount adds nothing; the
        # sums added in the order each pair of case and currency first appears, as a loop
        # over the findings adds them.)
        names = [currency_key(name) for name in cols.currencies] + [NO_CURRENCY]
        bucket = money_buckets(cols)
        stated = np.flatnonzero(active & cols.has_amount)
        pair = cols.case[stated] * len(names) + bucket[stated]
        distinct, first, at = np.unique(pair, return_index=True, return_inverse=True)
        largest = np.zeros(len(distinct))
        np.fmax.at(largest, at, cols.amount[stated])
        money: dict[str, float] = defaultdict(float)
        in_order = np.argsort(first, kind="stable")
        for currency, amount in zip(bucket[stated][first[in_order]].tolist(),
                                    largest[in_order].tolist(), strict=True):
            money[names[currency]] += amount
        active_count = int(np.count_nonzero(active))
        by_channel = self._by_channel(active, bucket[stated][first], cols.case[stated][first],
                                      first, largest, names)
        return {
            "cases": self.result.cases,
            "events": self.result.events,
            # Events dated after the audit's clock (completions: a start is counted in
            # not_completions' warning instead), which the rules did not judge: the audit
            # judges the log as it stood at the clock. Not in `events`, still in `imported`.
            "events_after_clock": self.after_clock,
            # Events whose lifecycle:transition is stated and is not complete (a start,
            # schedule, abort: `not_judged`, per transition in its warning), which the rules
            # did not judge: an activity's completion stands for it. Not in `events` nor in
            # `events_after_clock`, still in `imported`: events + events_after_clock +
            # events_not_complete are the events of the log.
            "events_not_complete": sum(self.not_judged.values()),
            "read": self.imported.read,
            "imported": self.imported.imported,
            "quarantined": self.imported.quarantined,
            # Of the imported, the records read without one of their fields (an approval's
            # unreadable amount): the quarantine's lines of one field alone, no part of
            # `quarantined` (the rows not imported).
            "fields_unread": self.imported.fields_unread,
            # Of those, the rows whose case (the quarantine's `case` column) has findings:
            # what these findings rest on may be incomplete.
            "quarantined_in_cases_with_findings": self._quarantined_in(
                cols.case_names(np.unique(case))),
            # The rows the inputs' own earlier imports quarantined (canonical logs: in
            # LOG.quarantine.csv beside each), apart from the counts above, which are of the
            # rows this check read: of those, the rows whose case has findings, counted
            # from the files found beside their logs that match their records (their
            # sha256, or for a log of an older version, its count of rows); the rows of the
            # others (missing, edited, of another import) are not counted.
            **self._earlier_summary(),
            "left_out": self.imported.left_out,
            # The payments a Stripe Dashboard payments export shows refunded above their
            # Amount (its Amount Refunded line: money refunded beyond the charge, no rule
            # judges it; a warning names each), whether or not another input itemises them.
            "refunded_above_charge": len(self.refunded_above_charge()),
            # Of `read`, the records read twice (same id, same content: exported twice, or
            # held by an input given before): dropped. read = imported + quarantined + these.
            "duplicates_dropped": self.imported.deduplicated,
            "findings": active_count,
            "waived": len(findings) - active_count,
            "suppressed_by_precedence": self.result.suppressed,
            "cases_with_findings": int(np.count_nonzero(np.bincount(case,
                                                                    minlength=cols.cases))),
            "by_severity": by_severity,
            "by_rule": by_rule,
            # (the currencies in order, the bucket of no currency last)
            "money_at_risk": {k: rounded(v, k) for k, v in sorted(
                money.items(), key=lambda kv: (kv[0] == NO_CURRENCY, kv[0]))},
            "money_at_risk_definition": MONEY_AT_RISK_DEFINITION,
            "money_at_risk_no_currency_findings": int(np.count_nonzero(
                active & cols.has_amount & (bucket == len(names) - 1))),
            # Per channel of a case (as the rules judged it; "" for a case stating none),
            # the counts and money at risk above, of its cases: each channel's sums are
            # its part of the totals.
            "by_channel": by_channel,
            "errors": len(self.result.errors),
            "conformance": self._conformance_summary(),
            # Of the cases conformance judged: those running at the clock (not at an end of
            # their SOP, an event less than conformance.running_for before the clock), whose
            # SOP tasks after their last event are not due yet (conformance.deviations).
            "running_cases": self._running_cases(),
            # Each waiver's `codes`: the rule codes its `rule` resolves to (a code, name,
            # family or pattern), which `diff` checks a finding's `waived_by` against.
            "waivers": [{"rule": w.waiver.rule, "codes": sorted(w.codes),
                         "case": w.waiver.case,
                         "fingerprint": w.waiver.fingerprint, "status": w.status,
                         "matched": w.matched, "no_longer_waives": w.lapsed,
                         "expires": w.waiver.expires.isoformat(),
                         "reason": w.waiver.reason, "approved_by": w.waiver.approved_by,
                         "line": w.waiver.line} for w in self.result.waivers],
        }

    def _running_cases(self) -> int:
        """The cases running at the clock, over the channels of the conformance summary
        (none where the conformance rules did not run)."""
        found = self.result.extra.get("conformance", {})
        if not isinstance(found, dict):
            return 0
        return sum(int(row.get("running_cases", 0)) for row in found.values()
                   if isinstance(row, dict))

    def _conformance_summary(self) -> dict[str, Any]:
        """The conformance per channel (the rules' `conformance` extra), each channel's SOP
        named as the policy names it (`Policy.sop_name`), not by the path it was read
        from: the summary is the same for the same policy and SOPs in any folder (the
        manifest holds each SOP's path and sha256)."""
        found = self.result.extra.get("conformance", {})
        if not isinstance(found, dict):
            return {}
        out: dict[str, Any] = {}
        for channel, row in found.items():
            out[channel] = row
            if isinstance(row, dict) and "sop" in row:
                name = self.policy.sop_name(None if channel == "(no channel)" else channel)
                out[channel] = {**row, "sop": name if name is not None else row["sop"]}
        return out

    def _by_channel(self, active: np.ndarray, pair_bucket: np.ndarray,
                    pair_case: np.ndarray, first: np.ndarray, largest: np.ndarray,
                    names: list[str]) -> dict[str, dict[str, Any]]:
        """summary()["by_channel"]: per channel (the rules' channel of each case,
        `finding_channels`; "" where a case states none), its cases, findings (open and
        waived), cases with open findings and money at risk per currency, counted as the
        totals are. Per pair of a case and a currency bucket (`_summary`'s money at risk):
        its bucket, its case, where it first appears among the open findings stating an
        amount, and its case's largest amount in it. The channels of the cases, with or
        without findings, by name, "" last."""
        cols = self.finding_columns()
        codes, channels = self.finding_channels()
        n = len(channels)
        findings = np.bincount(codes[active], minlength=n)
        waived = np.bincount(codes[~active], minlength=n)
        # (a case's channel: that of any of its findings, all of which have its channel)
        case_channel = np.full(cols.cases, -1, dtype=np.int64)
        case_channel[cols.case] = codes
        with_findings = np.bincount(case_channel[np.unique(cols.case[active])], minlength=n)
        money: list[dict[str, float]] = [defaultdict(float) for _ in range(n)]
        # (added in the order each pair first appears, as the totals are)
        pair_channel = case_channel[pair_case]
        for k in np.argsort(first, kind="stable").tolist():
            money[int(pair_channel[k])][names[int(pair_bucket[k])]] += float(largest[k])
        judged = C.filled_text(pd.Series(self.case_channels().array, copy=False), "")
        cases = {str(k): int(v) for k, v in judged.value_counts().items() if v}
        out: dict[str, dict[str, Any]] = {}
        for name in sorted(set(cases) | {channels[k] for k in np.flatnonzero(
                findings + waived).tolist()}, key=lambda c: (c == "", c)):
            k = channels.index(name) if name in channels else -1
            out[name] = {
                "cases": cases.get(name, 0),
                "cases_with_findings": int(with_findings[k]) if k >= 0 else 0,
                "findings": int(findings[k]) if k >= 0 else 0,
                "waived": int(waived[k]) if k >= 0 else 0,
                "money_at_risk": {c: rounded(v, c) for c, v in sorted(
                    money[k].items(), key=lambda kv: (kv[0] == NO_CURRENCY, kv[0]))}
                if k >= 0 else {}}
        return out

    def _earlier_summary(self) -> dict[str, Any]:
        counts = self.earlier_quarantine_counts().values()
        return {
            "earlier_quarantined": sum(int(c["quarantined"]) for c in counts),
            "earlier_quarantined_in_cases_with_findings": sum(
                int(c["in_cases_with_findings"] or 0) for c in counts),
            "earlier_quarantined_not_counted": sum(
                int(c["quarantined"]) for c in counts if c["in_cases_with_findings"] is None),
            "earlier_quarantined_cases_with_findings": sorted(
                {case for c in counts for case in c["cases"]}),
            # (counted from a file whose record holds no sha256 of it: a log imported by
            # an older version; by its rows alone, it may be another import's)
            "earlier_quarantined_not_verified": sum(
                int(c["quarantined"]) for c in counts
                if c["in_cases_with_findings"] is not None and c.get("verified") is False),
        }

    def no_currency_findings(self) -> int:
        """Findings not waived that put an amount at risk but state no currency."""
        return int(self.summary()["money_at_risk_no_currency_findings"])

    def worst_severity(self) -> str | None:
        active = [f.severity for f in self.result.findings if not f.waived]
        return max(active, key=severity_rank) if active else None


_BY_THE_CHANNELS_SOP = ("CF001", "CF002", "CF003", "CF004", "SD004")
"""The rules that judge a case by its channel's SOP (its model, or its lanes)."""

_NEED_A_CURRENCY = ("AP003", "EV004", "EV005")
"""The rules that judge no case stating no currency at all (AP003: thresholds are per
currency; EV004 and EV005 compare amounts of the request's or the charge's currency)."""


def _positions_in(index: pd.Index, ids: pd.Index) -> np.ndarray:
    """Per id of `ids` (distinct): its position in `index` (distinct), -1 where it is not
    there. Where they are equal (a log sorted by case, every case judged: the usual run),
    their positions; else `ids` are hashed, a table freed on return, never `index`, which
    is kept for the run (`CheckRun.case_channels`): pandas keeps the hash table of an
    index looked up in with the index, through the reports."""
    if len(index) == len(ids) and index.equals(ids):
        return np.arange(len(ids), dtype=np.int64)
    where = ids.get_indexer(index)  # per case of `index`: its position among `ids`
    out = np.full(len(ids), -1, dtype=np.int64)
    known = np.flatnonzero(where >= 0)
    out[where[known]] = known
    return out


PRORATA_TASK = "Calculate pro-rata amount"
"""The pro-rata calculation's label (and SOP task) in the default policy and the sample
SOPs."""


def _done(statuses: pd.Series) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per payment event: its status is not failed, reversed or pending (as the rules read
    `payment:status`: trimmed, in any letter case; a missing one is done). On the distinct
    statuses, not per event."""
    codes, uniques = pd.factorize(statuses.astype(object))
    undone = np.array([str(u).strip().lower() in C.FAILED_STATUSES for u in uniques]
                      + [False], dtype=bool)
    return np.asarray(~undone[codes], dtype=bool)


def run_check(sources: list[Path], policy_path: Path, *, as_of: datetime | None = None,
              assume_tz: str | None = None, now: datetime | None = None,
              sop: Path | None = None, engine: EngineSpec = LOCAL,
              mapping: Mapping | None = None, encoding: str | None = None,
              object_type: str | None = None,
              follow_o2o: tuple[str, ...] = (),
              sources_config: tuple[SourcesConfig, dict[str, Any]] | None = None
              ) -> CheckRun:
    """Import `sources` (canonical logs, or source-system exports, which are correlated into
    refund cases), run the policy's rules, and return everything a report needs. The policy
    and its SOPs are read first: an error in them is told before minutes of import.
    `mapping`, `encoding`, `object_type` and `follow_o2o` are the import's (generic CSV,
    OCEL 2.0); `sources_config` its --sources-config (the sources file read, and its
    `{file, sha256}` as the manifest records it), None where none was given (exports
    read with the bundled one); recorded `used` false where no input is an export."""
    from audit.sources.pipeline import import_and_correlate

    started = now or run_time()
    policy = checked_policy(policy_path, sop)
    imported = import_and_correlate([(p, None) for p in sources], assume_tz=assume_tz,
                                    mapping=mapping, encoding=encoding,
                                    object_type=object_type, follow_o2o=follow_o2o,
                                    sources_config=(None if sources_config is None
                                                    else sources_config[0]))
    run = run_check_log(imported, sources, policy_path, as_of=as_of, started=started, sop=sop,
                        engine=engine, policy=policy)
    run.import_options = {"assume_tz": assume_tz, "encoding": encoding,
                          "object_type": object_type}
    if follow_o2o:  # (only where given: the records of runs without it are unchanged)
        run.import_options["follow_o2o"] = list(follow_o2o)
    run.mapping = None if mapping is None else {"file": mapping.source,
                                                "sha256": mapping.sha256}
    run.sources_config = None if sources_config is None else dict(sources_config[1])
    if run.sources_config is not None and not any(
            f.system in SOURCE_SYSTEMS for f in imported.files):
        # (before: a file read for nothing, said nowhere, changed the run id as if it had
        # decided the findings; a canonical log's events were read with its import's)
        run.sources_config["used"] = False
        imported.notes.append(
            f"--sources-config {run.sources_config['file']}: no input is a source-system "
            "export (Zendesk, Jira, ServiceNow, Stripe, PayPal, Adyen), the only kind it is "
            "read for: not used, and no part of the run id (a canonical log's events were "
            "read with the sources file of its import)")
    return run


def checked_policy(policy_path: Path, sop: Path | None = None, *,
                   installed: bool = True) -> Policy:
    """The policy (with `sop` for every channel where given), its rule references checked
    and, where a selected rule reads the SOPs (`Rule.reads_sop`: the conformance rules their
    nets, unauthorized-approver their lanes), its SOPs read (and converted, for a net); its
    `warnings` what that reading found for the run to tell (which pool of a collaboration
    was read). Nothing of the SOPs is read after this and before the rules: a broken SOP no
    selected rule reads is no error, and no run fails after its rules ran. With `installed`
    (a run, not `policy check` of the file alone), the packages the selected conformance
    rules need are checked too (`_conformance_installed`)."""
    ruleset = default_rules()
    policy = load_policy(policy_path, known_rules=ruleset.known)
    if sop is not None:  # FILE or FILE#PROCESS (a process or pool of a collaboration)
        try:
            file, process = split_sop_entry(str(sop))
        except ValueError as exc:
            raise InputError(str(exc), field="--sop") from None
        file = str(model_path(file))  # (a bundled model's bare name: that model)
        if not Path(file).is_file():
            raise InputError("no such SOP file" + _split_off(process), file=Path(file),
                             field="--sop")
        policy = replace(policy, sop={"*": str(Path(file).resolve())},
                         sop_processes={"*": process} if process is not None else {},
                         sop_written={"*": str(Path(file).resolve())})
    chosen = selected_rules(ruleset, policy)
    if not chosen:  # (a run of no rule would read as a clean audit: exit 0, no finding)
        raise InputError("the policy's rules select and ignore leave no rule to run",
                         file=policy_path, field="rules")
    # (Before, only a conformance rule had them checked: unauthorized-approver alone crashed
    # on a missing SOP or an unknown process, a traceback in findings.json.)
    reads = {rule.reads_sop for rule in chosen} - {""}
    performers = any(rule.code == "SD004" for rule in chosen)
    if installed and "net" in reads and policy.sop:
        _conformance_installed(policy, [r.code for r in chosen if r.reads_sop == "net"])
    warnings, names, notes, labelled = (
        _check_sops(policy, nets="net" in reads, performers=performers)
        if reads else ([], frozenset[str](), (), []))
    if any(rule.code == "AP004" for rule in chosen):
        warnings += unjudged_approval_warnings(policy)
    if not warnings and not names and not notes:
        return policy
    return replace(policy, warnings=tuple(warnings), sop_task_names=names, sop_notes=notes,
                   label_warnings=tuple(labelled))


MINING_EXTRA = "pip install 'refund-audit[mining]'"
"""How to install what conformance and discovery need (pm4py, r4pm): the `mining` extra."""


def _conformance_installed(policy: Policy, rules: list[str]) -> None:
    """Refuse, before any import, a run whose conformance `rules` need what is not installed:
    an alignment engine (r4pm, else pm4py) and pm4py for the precision and for token replay,
    all of the `mining` extra. (Installed without it, they crashed one by one after the
    import: `ModuleNotFoundError: No module named 'pm4py'`, and the demo left them out.)
    Found, not imported: with r4pm imported this early, a Ctrl-C no longer ended a command
    blocked reading its input (test_console_script_interrupted_exits_130_not_1)."""
    from importlib.util import find_spec

    options = policy.conformance
    named = ", ".join(rules)
    r4pm = find_spec("r4pm") is not None
    if options.engine == "r4pm" and not r4pm:
        raise InputError(f"alignment engine 'r4pm' is not installed, and the conformance "
                         f"rules {named} need it: {MINING_EXTRA}", field="conformance.engine")
    if (options.precision or options.mode == "token-replay" or options.engine == "pm4py"
            or (options.engine == "auto" and not r4pm)) and find_spec("pm4py") is None:
        raise InputError(f"the conformance rules {named} need pm4py, which is not installed: "
                         f"{MINING_EXTRA} (or leave them out with the policy's "
                         "rules: ignore: [conformance])")


def unjudged_approval_warnings(policy: Policy) -> list[str]:
    """Per approval level that unauthorized-approver (AP004) judges by nothing somewhere:
    the policy lists no roles for it (`approvers.<level>`) and, where its cases have an SOP,
    the SOP puts the level's task in no lane, or they have none. Its approvals there are
    judged by no rule (the rule ran, 0 findings, and said nothing): the warning names the
    level, its labels and where. (The SOPs read here were checked by `_check_sops`.)"""
    from conformance.deviations import lane_roles

    tasks = policy.sop_tasks()
    out: list[str] = []
    for level in ("approve", "second-approve"):
        labels = policy.labels_for(level)
        if level in policy.approver_roles or not labels:
            continue
        where: list[str] = []
        without = [c for c in C.CHANNELS if policy.sop_path(c) is None]
        if not policy.sop:
            where.append("there is no SOP whose lanes would judge them")
        else:
            if without:
                where.append(f"channel{'s' if len(without) > 1 else ''} {', '.join(without)} "
                             "ha" + ("ve" if len(without) > 1 else "s") + " no SOP")
            if policy.sop_path(None) is None:  # (no '*' entry: a case of no channel)
                where.append("a case states no channel (no '*' SOP in the policy)")
        for channel in sorted(policy.sop):
            key = None if channel == "*" else channel
            path = policy.sop_path(key)
            if path is None:
                continue
            lanes = lane_roles(path, policy.sop_process(key))
            lost = [tasks.get(label, label) for label in labels
                    if tasks.get(label, label) not in lanes]
            if lost:
                which = "every channel" if channel == "*" else f"channel {channel}"
                where.append(f"the SOP {path.name} ({which}) puts "
                             + ", ".join(f"'{t}'" for t in lost) + " in no lane")
        if where:
            named = ", ".join(f"'{label}'" for label in labels)
            out.append(f"unauthorized-approver judges the approvals at level '{level}' "
                       f"({named}) by nothing where {'; where '.join(where)}: the policy "
                       f"lists no roles in approvers.{level}, so no approval there is "
                       f"reported; list the roles allowed in approvers.{level}")
    return out


def _check_sops(policy: Policy, *, nets: bool = True, performers: bool = False) -> tuple[
        list[str], frozenset[str], tuple[str, ...], list[tuple[str, str]]]:
    """Every SOP the policy names read (`nets`: and converted to its workflow net) before
    any rule runs, when a selected rule will read them: a file that is missing, not BPMN,
    without the process named or (`nets`) not convertible is an input error naming the file
    (and element), not a crash of each rule reading it in turn after the others ran.
    Returned: the warnings of what was read (`sop_choice_warning` per entry), the task
    names of all the SOPs (`Policy.sop_task_names`) and how each converted SOP was read
    (`Policy.sop_notes`), and of the warnings those about one label that is a task of no
    SOP, with it (`Policy.label_warnings`); `performers`: unauthorized-performer is selected
    (`_check_sop_tasks`)."""
    from conformance.deviations import lane_roles, sop_net, sop_notes, sop_task_labels

    out: list[str] = []
    notes: list[str] = []
    tasks: dict[str, tuple[str, ...]] = {}  # (per file, and process where named)
    channels_of: dict[str, tuple[Path, str | None, list[str]]] = {}
    """The same, -> the file, its process and the channels naming it (in order)."""
    for channel in sorted(policy.sop):
        path = policy.sop_path(None if channel == "*" else channel)
        if path is None:
            continue
        process = policy.sop_process(None if channel == "*" else channel)
        if not path.is_file():
            raise InputError("no such SOP file (named by the policy's sop:)"
                             + _split_off(process), file=path, field=f"sop.{channel}")
        if nets:
            sop_net(path, process)
            which = "every channel" if channel == "*" else f"channel {channel}"
            shown = path.name if process is None else f"{path.name}#{process}"
            notes += [f"the SOP {shown} ({which}), as read: {note}"
                      for note in sop_notes(path, process)]
        else:  # (unauthorized-approver reads the lanes only: a net it never reads may fail)
            lane_roles(path, process)
        warning = sop_choice_warning(policy, channel, path)
        if warning is not None:
            out.append(warning)
        # (Keyed by the file, not its name: two folders' sop.bpmn are two SOPs.)
        named = str(path.resolve()) if process is None else f"{path.resolve()}#{process}"
        tasks[named] = sop_task_labels(path, process)
        channels_of.setdefault(named, (path, process, []))[2].append(channel)
    if performers:  # (one warning per SOP, naming its channels)
        for named, (path, process, channels) in channels_of.items():
            out += _unjudged_performer_tasks(policy, channels, path, process, tasks[named])
    names = frozenset(name for named in tasks.values() for name in named)
    labelled = _check_sop_tasks(policy, tasks, nets=nets, performers=performers)
    return out + [text for _, text in labelled], names, tuple(notes), labelled


def _unjudged_performer_tasks(policy: Policy, channels: list[str], path: Path,
                              process: str | None, labels: tuple[str, ...]) -> list[str]:
    """The warning naming the SOP tasks unauthorized-performer (SD004) judges no one doing in
    the SOP of `channels` (the policy's entries naming it, '*' every channel): tasks of its
    controls that the SOP puts in no named lane (a process or pool without lanes, a pool's
    name a department's and no role; an unnamed lane outside any named one). Before, the
    rule ran, judged no one there and said nothing: 0 findings read as a clean division of
    work."""
    from conformance.deviations import lane_roles

    mapped = policy.sop_tasks()
    lanes = lane_roles(path, process)
    known = set(labels)
    lost = sorted({mapped[label] for label in policy.labels_for(*PERFORMER_CONTROLS)
                   if label in mapped and mapped[label] in known
                   and mapped[label] not in lanes})
    if not lost:
        return []
    stated = [c for c in channels if c != "*"]
    which = [f"channel{'s' if len(stated) > 1 else ''} {', '.join(stated)}"] if stated else []
    if "*" in channels:
        # (A channel with an entry of its own, this SOP or another, is not one '*' covers.)
        own = any(channel != "*" for channel in policy.sop)
        which.append("every channel without its own SOP" if own else "every channel")
    shown = path.name if process is None else f"{path.name}#{process}"
    named = ", ".join(f"'{task}'" for task in lost)
    return [f"unauthorized-performer judges no one doing {named}: the SOP {shown} "
            f"({' and '.join(which)}) puts them in no named lane (a process or pool without "
            "lanes, or an unnamed lane outside any named one)"]


def _check_sop_tasks(policy: Policy, tasks: dict[str, tuple[str, ...]], *,
                     nets: bool, performers: bool = False) -> list[tuple[str, str]]:
    """The policy's SOP task names against the tasks of the SOPs read (`tasks`: per file, as
    FILE#PROCESS where the entry names a process).

    The policy maps labels to task names once for every channel, while each channel may
    have its own SOP: a task of one channel's process (a pro-rata calculation of
    subscriptions) is rightly absent from another's. So a name is judged against the tasks
    of all the SOPs together. An `activities.<label>.sop_task` naming a task of no SOP is an
    input error (the line, the SOPs, a task of another spelling where one matches): it is
    written only to name an SOP task, and silently the conformance rules read its events as
    unexpected and its task as skipped, and unauthorized-approver found no lane for it. A
    label mapped to itself (no sop_task) that is a task of no SOP is a warning (a log's
    activity the SOPs do not model is reported by the conformance rules as such): for the
    conformance rules (`nets`) every mapped label; for the lanes alone, the approvals' and,
    where unauthorized-performer is selected (`performers`), the labels of the tasks it
    judges. Returned with the label each warning is about (a run tells only those of
    labels its log holds: `run_check_log`)."""
    import difflib

    known = {name for names in tasks.values() for name in names}
    if not tasks:
        return []
    files = ", ".join(_sop_names(list(tasks)))
    mapped = policy.sop_tasks()
    out: list[tuple[str, str]] = []
    for label, activity in policy.activities.items():
        if label not in mapped or mapped[label] in known:
            continue
        task = mapped[label]
        # A spelling of another task, never one another label already maps to (the second
        # level's "Approve refund (second level)" is not the first level's "Approve refund").
        free = sorted(known - {t for other, t in mapped.items() if other != label})
        same = [n for n in free if n.casefold() == task.casefold()] or \
            difflib.get_close_matches(task, free, n=1)
        hint = f"; did you mean '{same[0]}'?" if same else ""
        if activity.sop_task is not None:
            raise policy_error(policy, f"sop_task '{task}' is a task of no SOP ({files}; "
                               f"their tasks: {', '.join(sorted(known))}){hint}",
                               "activities", label, "sop_task")
        read = (["the conformance rules read its events as unexpected activities"]
                if nets else [])
        if activity.control in ("approve", "second-approve") and \
                activity.control not in policy.approver_roles:
            read.append("unauthorized-approver finds no lane holding it")
        if performers and activity.control in PERFORMER_CONTROLS:
            read.append("unauthorized-performer finds no lane holding it")
        if read:
            like = f" (as '{same[0]}'?)" if same else ""
            out.append((label, f"the label '{label}' is a task of no SOP ({files}): "
                        f"{' and '.join(read)}; where the SOPs name it otherwise{like}, set "
                        f"activities.{label}.sop_task in the policy"))
    return out


def _sop_names(keys: list[str]) -> list[str]:
    """The SOPs read (keys: a file's resolved path, `#PROCESS` where one is named) as an
    auditor reads them: the file's name, its whole path where two folders hold one name."""
    def name(key: str) -> str:
        file, mark, process = key.rpartition("#") if "#" in Path(key).name else (key, "", "")
        return Path(file).name + mark + process

    names = [name(k) for k in keys]
    return sorted(n if names.count(n) == 1 else k for n, k in zip(names, keys, strict=True))


def _split_off(process: str | None) -> str:
    """What a missing SOP file's error adds where its entry was read as FILE#PROCESS (no
    file of the whole entry exists): the process split off, so that a file name holding '#'
    that is missing reads as what it is."""
    return "" if process is None else (f"; the entry was read as FILE#PROCESS, process "
                                       f"'{process}' (no file of its whole name exists)")


def sop_choice_warning(policy: Policy, channel: str, path: Path) -> str | None:
    """Where the SOP entry of `channel` (or '*') names no process and its file `path` holds
    several candidate processes (a collaboration of pools): the warning saying which process
    the reader took, and how to name another (`FILE#PROCESS`); else None. Without it a case
    of the other pool read as skipping every task of this one, with no word of the choice.
    (Read by `_check_sops`, after the file converted.)"""
    from conformance.deviations import sop_choice

    if channel in policy.sop_processes:
        return None
    choice = sop_choice(path)
    if choice is None:
        return None
    which = "every channel" if channel == "*" else f"channel {channel}"
    return (f"the SOP {path.name} ({which}): {choice}; to judge against another, "
            f"name it as {path.name}#PROCESS (its id, or the pool's id or name) in "
            "the policy's sop or in --sop (`refund-audit model inspect` lists them)")


def clock_not_pinned_told(clock: datetime, epoch: int) -> str:
    """The warning of a run under SOURCE_DATE_EPOCH whose clock neither --as-of nor the
    policy's as_of set: the variable set the recorded times, not the clock, which is the
    time of the run; so a re-run judges as of another time and its files differ."""
    return (f"SOURCE_DATE_EPOCH ({epoch}) sets the times the files record, not the audit's "
            f"clock: without --as-of or as_of in the policy, the clock is the time of the "
            f"run, {clock.isoformat()}, so the files cannot be reproduced byte for byte; "
            f"give --as-of {clock.isoformat()} (or set as_of in the policy)")


def _nothing_before_clock(clock: datetime, as_of: datetime | None, policy: Policy,
                          log: pd.DataFrame) -> str:
    """Every event the rules would judge is dated after the audit's clock: a run judging
    nothing would report no finding, as a clean log does, so it is refused, naming the clock,
    where it came from and the log's first event (a log of a later year checked with the
    bundled policy, whose as_of matches the bundled sample)."""
    source = ("--as-of" if as_of is not None else
              f"the as_of of the policy {Path(policy.source).name}" if policy.as_of and
              policy.source else "the policy's as_of" if policy.as_of else
              "the time of the run" + (", not SOURCE_DATE_EPOCH, which sets no clock"
                                       if source_date_epoch() is not None else ""))
    first = log[C.TIMESTAMP].min()
    told = f" (the first {first.isoformat()})" if first == first else ""
    return (f"the audit's clock, {clock.isoformat()} ({source}), is before every event of "
            f"the log{told}: no event would be judged, and the run would report no finding; "
            "pass --as-of with the end of the period audited, or set as_of in the policy (or "
            "leave it out to use the time of the run)")


def run_check_log(imported: ImportResult, inputs: list[Path], policy_path: Path, *,
                  as_of: datetime | None = None, started: datetime | None = None,
                  sop: Path | None = None, engine: EngineSpec = LOCAL,
                  policy: Policy | None = None) -> CheckRun:
    """Run the policy's rules on an already imported (and correlated) log; `sop` replaces
    the policy's SOPs with one model for every channel; `engine` says where the rules run
    (audit.engines); `policy`: what `checked_policy` gave for them, if read already. The
    log's repeated ids (case, ticket, order, charge, payout) are held as categories from
    here on, in place (`canonical.compact_ids`): the same values, read by the rules and the
    reports."""
    from audit.progress import current

    progress = current()
    epoch = source_date_epoch()
    now = datetime.now(UTC)
    started = started or epoch or now
    ruleset = default_rules()
    progress.time_rules(ruleset)
    if policy is None:
        policy = checked_policy(policy_path, sop)
    sources = inputs
    # (SOURCE_DATE_EPOCH sets the recorded times, never the clock: the real time of the run)
    clock = as_of or policy.as_of or (now if epoch is not None else started)
    progress.stage(f"building facts of {len(imported.log):,} events")
    # The check only reads the ids: each held once, with a code per event (C.compact_ids).
    C.compact_ids(imported.log)
    # An activity logged as start and complete is one activity: only completions (and
    # events stating no transition) are judged; the others are counted and told. The audit
    # judges the log as it stood at its clock: the events dated after it are left out of
    # every rule and of conformance, counted and told (no copy where none is). The cut is
    # run_rules' own (C.at_clock): made here, once, for the refusal below, before any rule
    # runs, and handed to run_rules with its counts (`left_out`: not cut again).
    judged, not_judged, after_clock = C.at_clock(imported.log, clock)
    if after_clock and not len(judged):
        raise InputError(_nothing_before_clock(clock, as_of, policy, imported.log))
    described = engine.describe()
    if engine.name == "dask":
        from audit.engines.dask_engine import run_rules_dask

        result, described = run_rules_dask(judged, policy, ruleset, as_of=clock,
                                           spec=engine, left_out=(not_judged, after_clock))
    else:
        result = run_rules(judged, policy, ruleset, as_of=clock,
                           left_out=(not_judged, after_clock))
    # (read off the rules' facts: each event with its case's channel, engine.side_facts)
    unrecorded = cast(dict[str, int], result.extra.pop("unrecorded_roles", {}))
    nobody = cast(dict[str, int], result.extra.pop("unrecorded_nobody", {}))
    approvals = cast(dict[str, int], result.extra.pop("unrecorded_approvals", {}))
    approvals_nobody = cast(dict[str, int], result.extra.pop("unrecorded_approvals_nobody", {}))
    # Where every event states no transition or `complete`, the judged log is the log as it
    # stood at the clock (`log_at_clock`: the imported log itself where no event is dated
    # after the clock, else the copy the cut made): kept for the reports and warnings, not
    # cut again (at 1M cases, --as-of 2026-10-01 leaving 94,861 events out: 0.33-1.8 s of
    # CPU and a second copy of the log, in each report process that asked).
    at_clock = judged if not not_judged else None
    del judged
    return_free_memory()  # the rules' facts and per-case work, before the reports
    from audit.store import import_record

    earlier = {str(path): record for path in sources
               if (record := import_record(path)) is not None}
    run = CheckRun(imported=imported, policy=policy, result=result, started=started,
                   finished=epoch or datetime.now(UTC), inputs=list(sources),
                   command=recorded_command(sys.argv, epoch is not None),
                   reproducible=epoch is not None,
                   engine=described, not_judged=not_judged, after_clock=after_clock,
                   unrecorded_roles=unrecorded,
                   unrecorded_nobody=nobody,
                   unrecorded_approvals=approvals,
                   unrecorded_approvals_nobody=approvals_nobody,
                   sop_warnings=list(policy.warnings), imported_earlier=earlier,
                   as_of_source=("--as-of" if as_of is not None
                                 else "policy" if policy.as_of is not None else "clock"))
    if at_clock is not None:
        run.memo["log_at_clock"] = at_clock
    run.sop_warnings = _sop_warnings(run)
    run.count_quarantined_rows()  # (each finding: how many of its case's rows were not imported)
    run.finding_channels()  # (each finding: its case's channel, as the rules judged it)
    return run


def _sop_warnings(run: CheckRun) -> list[str]:
    """What reading the SOPs found for the run to tell (`Policy.warnings`), less those about
    a mapped label that is a task of no SOP where no case of a channel with an SOP (`*` or
    `--sop`: every case) holds an event of that label (`Policy.label_warnings`): the
    default policy's labels read beside a log of other labels and another SOP (`check LOG
    --sop M.bpmn`) gave ten warnings that 'the conformance rules read its events as
    unexpected activities' of events the log does not have, burying the one that mattered
    (no event's label is an SOP task); and a label of subscriptions only ('Calculate
    pro-rata amount') was told of a run whose one SOP is the e-commerce channel's, whose
    cases hold no such event. Of the labels left out, those of the approvals, the evidence
    and the payout that label no event of the log at all are told in one line
    (`_unheld_control_labels`): a misspelt approval label (`decision` for the log's
    `decide`) is otherwise told by nothing, while missing-approval finds every paid case."""
    policy = run.policy
    if not policy.label_warnings:
        return list(policy.warnings)
    log = run.log_at_clock()
    anywhere = {str(label) for label in log[C.ACTIVITY].dropna().unique()}
    if policy.sop.get("*"):  # (every case has an SOP)
        held = anywhere
    else:
        channels = run.channels_of(log[C.CASE])
        with_sop = [str(ch) for ch in channels.categories
                    if policy.sop_path(str(ch)) is not None]
        judged = np.asarray(pd.Series(channels, copy=False).isin(with_sop))
        held = {str(label) for label in log[C.ACTIVITY][judged].dropna().unique()}
    absent = {text for label, text in policy.label_warnings if label not in held}
    out = [w for w in policy.warnings if w not in absent]
    unheld = [label for label, _ in policy.label_warnings if label not in anywhere]
    return out + _unheld_control_labels(policy, unheld)


_TOLD_CONTROLS = ("approve", "second-approve", "evidence", "pay")
"""The controls whose labels, where no event of the log holds one and no SOP has them as
a task, `_sop_warnings` tells: a case without them is a finding (missing-approval,
second-level approval, missing-evidence, approved-not-paid)."""


def _unheld_control_labels(policy: Policy, labels: list[str]) -> list[str]:
    """One warning naming the policy's `labels` (each a task of no SOP, of no event of the
    log) that are of the approval, evidence and payout controls, with their control; none
    where no label is."""
    told = [label for label in labels
            if policy.activities[label].control in _TOLD_CONTROLS]
    if not told:
        return []
    named = ", ".join(f"'{label}' ({policy.activities[label].control})" for label in told)
    one = len(told) == 1
    return [f"{len(told):,} policy label{'' if one else 's'} of an approval, evidence or "
            f"payout control label{'s' if one else ''} no event of the log and "
            f"{'is a task' if one else 'are tasks'} of no SOP: {named}; where the policy or "
            "the export misspells one, its control is missing from every case "
            "(missing-approval, missing-evidence, approved-not-paid find them) and its "
            "events are unmapped (unmapped-activity); `policy check` tells each such label"]


_ABSENT = {"AP001": "an approval", "AP003": "a second-level approval",
           "EV001": "an evidence item"}
"""The rules that find a control missing from a case, and what they find missing: a case
of theirs holding quarantined rows is told (`CheckRun.absences_beside_quarantine`)."""


def _spelling_key(column: str) -> str:
    """A column name as `evidence_columns_like_required` compares it: case-folded, without
    spaces, `_`, `-` or `.` (`Evidence: Payment-Voucher` is `evidence:paymentvoucher`)."""
    return re.sub(r"[\s_.\-]+", "", column.casefold())
