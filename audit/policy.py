"""The policy file: label mapping, control limits, rule selection and waivers.

One YAML file says how a company's refund process is controlled: which log labels mean
"approve" or "pay" (in any language), who may approve, thresholds, SLAs, required evidence per
channel, which rules run at which severity, and the accepted exceptions (waivers). Every
unknown key or invalid value is an error that names the line.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path, PurePath
from typing import Any

import yaml

from audit import canonical as C
from audit.currency import CURRENCIES
from audit.errors import InputError
from audit.findings import SEVERITIES
from audit.yamlio import child, line_of, load_yaml, load_yaml_digest

CONTROLS = ("purchase", "request", "evidence", "prorate", "approve", "second-approve", "reject",
            "pay", "pay-failed", "notify", "close", "other")
"""What a log label can mean for the controls; 'other' = known activity without a control;
'prorate' = the calculation of what a subscription refund owes (its amount, the share of
the renewal not used), which amount-mismatch weighs the payouts against in place of the
request."""
PERFORMER_CONTROLS = ("request", "evidence", "prorate", "reject", "pay", "pay-failed", "notify",
                      "close", "other")
"""The controls whose performers unauthorized-performer judges (`performers:`): every one of
an SOP task but the approvals (`approvers:`, unauthorized-approver) and the purchase (context
before the request, in no SOP)."""
STAGE_POINTS = ("request", "evidence", "first-approval", "last-approval", "payout", "close")
DEFAULT_POLICY = "policy.default.yaml"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(w|d|h|m)\s*$")
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "m": timedelta(minutes=1)}


@dataclass(frozen=True)
class Activity:
    control: str
    sop_task: str | None = None


@dataclass(frozen=True)
class Stage:
    name: str
    start: str
    end: str
    limit: timedelta


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str
    approved_by: str
    expires: date
    case: str | None = None
    fingerprint: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class ConformanceOptions:
    mode: str = "alignments"
    """'alignments' (every variant aligned) or 'token-replay' (variants that token replay
    shows to fit are not aligned; the findings are the same, found faster)."""
    min_fitness: float | None = None
    """unfit-case reports cases whose fitness is below this; None: only cases whose alignment
    hit the search bound."""
    max_seconds: float = 10.0
    """Search bound per variant of the pm4py engine (seconds)."""
    max_states: int = 5_000_000
    """Search bound per variant of the r4pm engine (states visited; deterministic)."""
    engine: str = "auto"
    """Alignment engine: 'auto' (r4pm when installed, else pm4py), 'r4pm' or 'pm4py'."""
    precision: bool = True
    """Compute each channel's precision for the summary."""
    running_for: timedelta = timedelta(days=14)
    """A case whose last event is less than this before the audit's clock, and that has not
    reached an end of its SOP, is running: the SOP tasks after its last event are not due
    yet (no skipped-activity, no lower fitness). Older, it is judged as ended. 0: every
    case is judged as ended."""


CONFORMANCE_MODES = ("alignments", "token-replay")
ALIGNMENT_ENGINES = ("auto", "r4pm", "pm4py")


@dataclass(frozen=True)
class Policy:
    activities: dict[str, Activity]
    approver_roles: dict[str, tuple[str, ...]]
    second_approval_threshold: dict[str, float]
    sla: timedelta
    stages: tuple[Stage, ...]
    approved_not_paid_grace: timedelta
    required_evidence: dict[str, tuple[str, ...]]
    select: tuple[str, ...] = ("*",)
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    performer_roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Control -> roles allowed to perform its tasks beyond the roles of the SOP lanes
    holding them (`performers:`, read by unauthorized-performer)."""
    sop: dict[str, str] = field(default_factory=dict)
    """Channel (or '*') -> BPMN file, relative to the policy file."""
    sop_processes: dict[str, str] = field(default_factory=dict)
    """Channel (or '*') -> the process (or pool) of its BPMN file to read, where the entry
    names one (`FILE#PROCESS`, as `model inspect --process`); else the reader chooses."""
    sop_written: dict[str, str] = field(default_factory=dict)
    """Channel (or '*') -> its BPMN file as the policy writes it (`check --sop`: the file
    given), kept where `sop` is set to another path for the same file (the dask engine's
    copy on a worker): what `sop_name` names a channel's SOP by."""
    conformance: ConformanceOptions = field(default_factory=ConformanceOptions)
    as_of: datetime | None = None
    amount_tolerance: float | None = None
    """Differences between two amounts up to this (major units, any currency) are rounding.
    None (the key left out): half a minor unit of the amounts' currency (EUR 0.005, KWD
    0.0005, JPY 0.5), so that a difference of one fils or one cent is never read as
    rounding (`CaseFacts.tolerance`)."""
    refund_window: dict[str, timedelta] = field(default_factory=dict)
    """Channel -> the longest time from the purchase to the refund request that the SOP
    allows (`refund_window.within`, read by outside-refund-window); a channel not listed
    has no window (the rule does not judge its cases)."""
    refund_window_exception_roles: tuple[str, ...] = ()
    """The roles whose approval of a refund accepts a request outside its window
    (`refund_window.exception_approvers`): none, no exception."""
    evidence_due: str = "payout"
    """By when missing-evidence wants a refund's required evidence recorded
    (`evidence_due`, one of `EVIDENCE_DUE`): "payout", by its first successful payout (the
    money did not leave without it); "approval", by the approval the payout rests on (the
    approver saw it), its first approval not withdrawn by a later rejection or ended by a
    close, at or before the payout (a case approved only after its payout, or never, is
    judged by the payout)."""
    receipt_max_cases: int = 10
    """The most cases one receipt may be held by and still be compared
    (`thresholds.receipt_max_cases`, read by receipt-reused): a value held by more is
    generic (a phone's `IMG_0001.jpg`), not one receipt, and its cases are not judged."""
    source: str | None = None
    sha256: str | None = None
    warnings: tuple[str, ...] = ()
    """What reading the SOPs the selected rules read found for a run to tell (which pool of
    a collaboration was read): set by `audit.checkrun.checked_policy`, which reads them
    before the rules; `load_policy` reads no SOP and leaves it empty."""
    label_warnings: tuple[tuple[str, str], ...] = ()
    """Of `warnings`, those about one mapped label that is a task of no SOP, with the label:
    a run tells them only where its log holds the label (`audit.checkrun.run_check_log`);
    `policy check`, which reads no log, tells them all."""
    sop_task_names: frozenset[str] = frozenset()
    """The task names of the SOPs read for the run, set with `warnings`: a purchase label
    that names one of them is aligned as that task (`sop_tasks`)."""
    sop_notes: tuple[str, ...] = ()
    """How the SOPs converted for the run were read (the notes `model inspect` prints: a
    non-interrupting boundary event firing at most once, an implicit start, a task in two
    lanes, pools read together), each naming its SOP: set with `warnings`."""

    def control_of(self) -> dict[str, str]:
        return {label: a.control for label, a in self.activities.items()}

    def labels_for(self, *controls: str) -> list[str]:
        return [label for label, a in self.activities.items() if a.control in controls]

    def sop_tasks(self) -> dict[str, str]:
        """Log label -> SOP task name, for the labels conformance aligns: the mapped ones
        except the purchase, which is context before the request and not in the SOP,
        unless an SOP read for the run has a task of its name (`sop_task_names`: a model
        discovered from the log holds it, and left out, it was skipped in every case).
        Unmapped labels are absent (reported by unmapped-activity, never guessed). A task
        name is compared as the SOP's are read (`conformance.bpmn.clean_name`): its runs of
        whitespace, a non-breaking space or a line break among them, as one space."""
        tasks = {label: " ".join((a.sop_task or label).split())
                 for label, a in self.activities.items()}
        return {label: task for label, task in tasks.items()
                if self.activities[label].control != "purchase"
                or task in self.sop_task_names}

    def sop_process(self, channel: str | None) -> str | None:
        """The process (or pool) named for a channel's SOP (`FILE#PROCESS`): of the entry
        `sop_path` reads, its own else '*'; None where the entry names none."""
        key = channel or ""
        return self.sop_processes.get(key if self.sop.get(key) else "*")

    def sop_name(self, channel: str | None) -> str | None:
        """The SOP of a channel (its own entry, else '*', else none) as the policy names
        it: the file as the entry writes it, relative to the policy's folder
        (`ecommerce.bpmn`, `sops/shop.bpmn`), an absolute path (and `check --sop`'s file)
        by its file name, with `#PROCESS` where the entry names a process. What a finding
        and the summary cite: the same for the same policy and SOPs in any folder, and no
        local path; the manifest holds each SOP's full path and sha256 (`sop_path`)."""
        key = channel or ""
        own = key if self.sop.get(key) else "*"
        entry = self.sop_written.get(own) or self.sop.get(own)
        if entry is None:
            return None
        written = PurePath(entry)
        name = written.name if written.is_absolute() else entry
        process = self.sop_processes.get(own)
        return name if process is None else f"{name}#{process}"

    def sop_path(self, channel: str | None) -> Path | None:
        """The SOP (BPMN file) for a channel: its own entry, else '*', else none.

        A relative path is read beside the policy file; a bare file name that is not there
        but is one of the bundled models (`ecommerce.bpmn`, ...) is the bundled one, so a
        copy of the default policy works anywhere.
        """
        entry = self.sop.get(channel or "") or self.sop.get("*")
        if entry is None:
            return None
        return model_path(entry, Path(self.source).parent if self.source else Path.cwd())


def model_path(entry: str, base: Path | None = None) -> Path:
    """The BPMN file an SOP entry or a command's model argument names: a relative `entry`
    read against `base` (the policy's folder; None: the working directory, as given); a
    bare file name that is not there but names a bundled model (`ecommerce.bpmn`,
    `subscription.bpmn`, `offline.bpmn`) is the bundled one, so the default policy, check's
    --sop, compare and model inspect take those names anywhere."""
    path = Path(entry)
    if path.is_absolute():
        return path
    if base is not None:
        path = base / entry
    if not path.exists() and Path(entry).name == entry and entry.lower().endswith(".bpmn"):
        bundled = Path(str(files("models").joinpath(entry)))
        if bundled.is_file():
            return bundled
    return path


def split_sop_entry(entry: str, base: Path | None = None) -> tuple[str, str | None]:
    """An SOP entry (policy `sop:` or `check --sop`) as (file, process): `FILE#PROCESS`
    names the process (or pool: its participant id or name) of a BPMN file with several, as
    `model inspect --process` does; the text after the last '#'. Where the whole entry names
    an existing file, it is that file, whatever '#' it holds (`sop#v2.bpmn`, a folder `C#`):
    a relative entry is looked for as its other paths are read, against `base` (the policy's
    folder, for its `sop:`), else the working directory (`--sop`). ValueError where nothing
    follows the '#' split at."""
    whole = Path(entry)
    if base is not None and not whole.is_absolute():
        whole = base / whole
    if whole.is_file():
        return entry, None
    file, mark, process = entry.rpartition("#")
    if not mark:
        return entry, None
    if not process.strip() or not file:
        raise ValueError(f"'{entry}': write FILE#PROCESS, a BPMN file and the id (or pool "
                         "name) of the process to read")
    return file, process.strip()


def policy_error(policy: Policy, message: str, *keys: str | int) -> InputError:
    """An input error naming the policy file, the line and the dotted field of `keys`
    (`activities`, label, `sop_task`), for what is checked after `load_policy` (against the
    SOPs); no line where the policy was not read from a file."""
    if policy.source is None:
        return InputError(message, field=".".join(str(k) for k in keys) or None)
    path = Path(policy.source)
    _, node = load_yaml(path)
    return _Reader(path, node).fail(message, *keys)


def default_policy_path() -> Path:
    return Path(str(files("models").joinpath(DEFAULT_POLICY)))


def parse_duration(text: Any) -> timedelta:
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"not a duration: {text!r} (write e.g. 14d, 36h, 90m, 2w)")
    count, unit = float(match.group(1)), _UNITS[match.group(2)]
    if count * (unit / timedelta(days=1)) > MAX_DAYS:  # (log time differences reach 292 y)
        raise ValueError(f"{text} is longer than {MAX_DAYS:,} days (100 years)")
    return count * unit


MAX_DAYS = 36_500
"""The longest duration a policy may set."""


_FINGERPRINT = re.compile(r"[0-9a-f]{16}")

MAX_STATES = 2**32
"""The largest search bound per variant a policy may set (the alignment engines count states
in machine words; a bound beyond this would only be reached after days)."""

_TOP_KEYS = ("version", "sop", "conformance", "as_of", "activities", "approvers", "performers",
             "thresholds", "sla", "stages", "grace", "evidence", "rules", "waivers",
             "amount_tolerance", "refund_window", "evidence_due")
EVIDENCE_DUE = ("payout", "approval")
"""By when a refund's required evidence must be recorded (`evidence_due`, read by
missing-evidence): its first successful payout, or the approval the payout rests on."""


class _Reader:
    """Walks the YAML with its node tree so that every error can name the line."""

    def __init__(self, path: Path, node: yaml.Node | None) -> None:
        self.path = path
        self.node = node

    def fail(self, message: str, *keys: str | int) -> InputError:
        node = self.node
        line = line_of(node)
        for key in keys:
            line = line_of(node, key) or line
            node = child(node, key)
        dotted = ".".join(str(k) for k in keys) or None
        return InputError(message, file=self.path, line=line, field=dotted)

    def mapping(self, value: Any, *keys: str | int, allowed: tuple[str, ...] | None = None
                ) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail("must be a mapping (key: value)", *keys)
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    raise self.fail(f"unknown key '{key}' (known: {', '.join(allowed)})",
                                    *keys, key)
        return value

    def strings(self, value: Any, *keys: str | int) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail("must be a list of text values", *keys)
        return tuple(value)

    def convert(self, value: Any, convert: Callable[[Any], Any], *keys: str | int) -> Any:
        try:
            return convert(value)
        except (ValueError, TypeError, ArithmeticError) as exc:  # (an overflow too)
            raise self.fail(str(exc), *keys) from exc

    def text(self, value: Any, *keys: str | int) -> str:
        """A setting that is text (a case id, a reason, a person): a scalar as written, so
        that `case: 00123` is the case 00123 (YAML reads it as the number 83) and
        `approved_by: no` the text "no"; a list or a mapping is an error."""
        if isinstance(value, str):
            return value
        node = self.node
        for key in keys:
            node = child(node, key)
        if isinstance(node, yaml.ScalarNode) and value is not None:
            return str(node.value)
        raise self.fail("must be text", *keys)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ValueError(_not_iso(value, exc, "time", "e.g. 2026-10-15T00:00:00Z or "
                                      "2026-10-15T00:00:00+02:00")) from None
    if moment.tzinfo is None:
        raise ValueError("as_of needs a time zone, e.g. 2026-10-15T00:00:00Z")
    return within_log_range(moment.astimezone(UTC))


def within_log_range(moment: datetime) -> datetime:
    """`moment` (UTC) if the log's timestamps can hold it (the years 1678 to 2261), else a
    ValueError: a clock outside them could not be compared with any event."""
    if not _EARLIEST <= moment <= _LATEST:
        raise ValueError(f"{moment.isoformat()} is outside the years 1678 to 2261")
    return moment


_EARLIEST = datetime(1678, 1, 1, tzinfo=UTC)
_LATEST = datetime(2261, 12, 31, 23, 59, 59, tzinfo=UTC)
"""Within the nanosecond timestamps' range (1677-09-21 to 2262-04-11), in whole years."""


def _as_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(_not_iso(value, exc, "date", "year-month-day, e.g. 2027-03-31")) \
            from None


def _not_iso(value: Any, exc: ValueError, what: str, example: str) -> str:
    """Why a policy's date or time is refused, and how to write one: Python's "Invalid
    isoformat string: '31.03.2027'" said neither what the setting is nor what to write;
    its other reasons ("day is out of range for month") are kept."""
    reason = str(exc)
    told = "" if reason.startswith("Invalid isoformat string") else f" ({reason})"
    return f"not an ISO 8601 {what}: {str(value)!r}{told}; write {example}"


def _positive_amount(value: Any) -> float:
    """A non-negative, finite number (a .nan threshold or tolerance would compare false
    with every amount and switch its rules off unseen)."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not 0 <= float(value) < math.inf:
        raise ValueError(f"must be a non-negative number, not {value!r}")
    return float(value)


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"must be a number from 0 to 1, not {value!r}")
    return float(value)


def load_policy(path: Path, *, known_rules: Callable[[str], bool] | None = None) -> Policy:
    """Read and check a policy file. `known_rules` says whether a rule reference resolves."""
    # (the digest of the bytes parsed: before, of a second read once they were checked)
    data, node, digest = load_yaml_digest(path)
    r = _Reader(path, node)
    top = r.mapping(data, allowed=_TOP_KEYS)
    if not top:
        raise r.fail("the policy is empty; start from `refund-audit policy init`")
    version = top.get("version", 1)
    # (A whole number, not a truth value: `version: true` equals 1 in Python.)
    if isinstance(version, bool) or not isinstance(version, int) or version != 1:
        raise r.fail(f"only version 1 is known, not {version!r}", "version")

    activities: dict[str, Activity] = {}
    for label, spec in r.mapping(top.get("activities"), "activities").items():
        if isinstance(spec, str):
            spec = {"control": spec}
        spec = r.mapping(spec, "activities", label, allowed=("control", "sop_task"))
        control = spec.get("control")
        if control not in CONTROLS:
            raise r.fail(f"control must be one of {', '.join(CONTROLS)}, not {control!r}",
                         "activities", label)
        task = spec.get("sop_task")
        if task is not None and not isinstance(task, str):
            raise r.fail("sop_task must be text", "activities", label)
        # Composed (NFC) as the import writes the log's labels and the BPMN reader the
        # tasks: a label typed with a combining diaeresis is the log's `ü` label.
        composed = unicodedata.normalize("NFC", str(label))
        if composed in activities:
            raise r.fail(f"the label {composed!r} is given twice (once with its accents "
                         "written as combining characters)", "activities", label)
        activities[composed] = Activity(
            control, None if task is None else unicodedata.normalize("NFC", task))
    if not activities:
        raise r.fail("'activities' must map the log's labels to controls", "activities")

    approvers = r.mapping(top.get("approvers"), "approvers",
                          allowed=("approve", "second-approve"))
    approver_roles = {k: r.strings(v, "approvers", k) for k, v in approvers.items()}
    performer_roles: dict[str, tuple[str, ...]] = {}
    for control, roles in r.mapping(top.get("performers"), "performers").items():
        if control in ("approve", "second-approve"):
            raise r.fail(f"who may approve is set in approvers.{control} "
                         "(unauthorized-approver), not in performers", "performers", control)
        if control not in PERFORMER_CONTROLS:
            raise r.fail(f"unknown control '{control}' (known: "
                         f"{', '.join(PERFORMER_CONTROLS)})", "performers", control)
        # A list, always: `pay: finance, payments` would be one role of that name.
        if not isinstance(roles, list) or not all(isinstance(v, str) for v in roles):
            raise r.fail("must be a list of roles, e.g. [finance, payments]", "performers",
                         control)
        performer_roles[str(control)] = tuple(roles)

    thresholds = r.mapping(top.get("thresholds"), "thresholds",
                           allowed=("second_approval", "receipt_max_cases"))
    second: dict[str, float] = {}
    for currency, amount in r.mapping(thresholds.get("second_approval"), "thresholds",
                                      "second_approval").items():
        if currency not in CURRENCIES:
            raise r.fail(f"unknown currency '{currency}'", "thresholds", "second_approval",
                         currency)
        second[str(currency)] = r.convert(amount, _positive_amount, "thresholds",
                                          "second_approval", currency)

    receipt_max_cases = thresholds.get("receipt_max_cases", Policy.receipt_max_cases)
    if isinstance(receipt_max_cases, bool) or not isinstance(receipt_max_cases, int) \
            or not 2 <= receipt_max_cases <= 1_000_000:
        raise r.fail("receipt_max_cases must be a whole number from 2 to 1,000,000",
                     "thresholds", "receipt_max_cases")

    evidence_due = top.get("evidence_due", Policy.evidence_due)
    if evidence_due not in EVIDENCE_DUE:
        raise r.fail(f"evidence_due must be one of {', '.join(EVIDENCE_DUE)}, not "
                     f"{evidence_due!r}", "evidence_due")

    sla = r.mapping(top.get("sla"), "sla", allowed=("request_to_payout",))
    grace = r.mapping(top.get("grace"), "grace", allowed=("approved_not_paid",))
    stages = []
    raw_stages = top.get("stages") or []
    if not isinstance(raw_stages, list):
        raise r.fail("must be a list of stages", "stages")
    for i, stage in enumerate(raw_stages):
        spec = r.mapping(stage, "stages", i, allowed=("name", "from", "to", "limit"))
        for point in ("from", "to"):
            if spec.get(point) not in STAGE_POINTS:
                raise r.fail(f"'{point}' must be one of {', '.join(STAGE_POINTS)}", "stages",
                             i, point)
        name = r.text(spec["name"], "stages", i, "name") if spec.get("name") else None
        name = name or f"stage {i + 1}"
        # A stage ends at a later point of the process than it starts: one from a point to
        # itself or to an earlier one could never be late or could never be measured.
        if STAGE_POINTS.index(spec["to"]) <= STAGE_POINTS.index(spec["from"]):
            raise r.fail(f"stage '{name}' runs from {spec['from']} to {spec['to']}: 'to' must "
                         f"be a later point than 'from' (in the order "
                         f"{', '.join(STAGE_POINTS)})", "stages", i, "to")
        stages.append(Stage(name, spec["from"], spec["to"],
                            r.convert(spec.get("limit"), parse_duration, "stages", i, "limit")))

    evidence: dict[str, tuple[str, ...]] = {}
    for channel, items in r.mapping(top.get("evidence"), "evidence").items():
        if channel not in C.CHANNELS:
            raise r.fail(f"unknown channel '{channel}' (known: {', '.join(C.CHANNELS)})",
                         "evidence", channel)
        columns = r.strings(items, "evidence", channel)
        for column in columns:
            # (`evidence:` alone names no item: no log has that column, so every case of
            # the channel would be missing evidence.)
            if not column.startswith(C.EVIDENCE_PREFIX) \
                    or not column.removeprefix(C.EVIDENCE_PREFIX).strip():
                raise r.fail(f"evidence items are columns named evidence:<item>, not "
                             f"{column!r}", "evidence", channel)
        evidence[str(channel)] = columns

    window = r.mapping(top.get("refund_window"), "refund_window",
                       allowed=("within", "exception_approvers"))
    refund_window: dict[str, timedelta] = {}
    if top.get("refund_window") is not None and not window.get("within"):
        # (exception approvers without a window would load and judge nothing, silently)
        raise r.fail("sets no window: 'within' must map channels to durations, e.g. "
                     "{ecommerce: 30d}", "refund_window", "within")
    for channel, limit in r.mapping(window.get("within"), "refund_window", "within").items():
        if channel not in C.CHANNELS:
            raise r.fail(f"unknown channel '{channel}' (known: {', '.join(C.CHANNELS)})",
                         "refund_window", "within", channel)
        refund_window[str(channel)] = r.convert(limit, parse_duration, "refund_window",
                                                "within", channel)
    exception_roles = r.strings(window.get("exception_approvers", []), "refund_window",
                                "exception_approvers")

    rules = r.mapping(top.get("rules"), "rules", allowed=("select", "ignore", "severity"))
    select = r.strings(rules.get("select", ["*"]), "rules", "select")
    ignore = r.strings(rules.get("ignore", []), "rules", "ignore")
    severity = {str(k): v for k, v in r.mapping(rules.get("severity"), "rules",
                                                 "severity").items()}
    for key, value in severity.items():
        if value not in SEVERITIES:
            raise r.fail(f"severity must be one of {', '.join(SEVERITIES)}", "rules",
                         "severity", key)
    if known_rules is not None:
        for where, refs in (("select", select), ("ignore", ignore),
                            ("severity", tuple(severity))):
            for ref in refs:
                if not known_rules(ref):
                    raise r.fail(f"'{ref}' matches no rule (by code, name, family or glob)",
                                 "rules", where)

    waivers = []
    raw_waivers = top.get("waivers") or []
    if not isinstance(raw_waivers, list):
        raise r.fail("must be a list of waivers", "waivers")
    for i, item in enumerate(raw_waivers):
        spec = r.mapping(item, "waivers", i, allowed=("rule", "case", "fingerprint", "reason",
                                                      "approved_by", "expires"))
        for required in ("rule", "reason", "approved_by", "expires"):
            if spec.get(required) in (None, ""):  # (`approved_by: no` is a text, "no")
                raise r.fail(f"a waiver needs '{required}'", "waivers", i)
        if ("case" in spec) == ("fingerprint" in spec):
            raise r.fail("a waiver names either a case or a fingerprint", "waivers", i)
        if "fingerprint" in spec and not _FINGERPRINT.fullmatch(
                r.text(spec["fingerprint"], "waivers", i, "fingerprint")):
            # (A finding's fingerprint is 16 hex digits, as findings.json shows it: any other
            # text could match no finding, and would read as a waiver never matched.)
            raise r.fail("a fingerprint is 16 hexadecimal digits, as findings.json shows it",
                         "waivers", i, "fingerprint")
        if known_rules is not None and not known_rules(r.text(spec["rule"], "waivers", i,
                                                              "rule")):
            raise r.fail(f"'{spec['rule']}' matches no rule", "waivers", i, "rule")
        waivers.append(Waiver(
            rule=r.text(spec["rule"], "waivers", i, "rule"),
            reason=r.text(spec["reason"], "waivers", i, "reason"),
            approved_by=r.text(spec["approved_by"], "waivers", i, "approved_by"),
            expires=r.convert(spec["expires"], _as_date, "waivers", i, "expires"),
            case=r.text(spec["case"], "waivers", i, "case") if "case" in spec else None,
            fingerprint=(r.text(spec["fingerprint"], "waivers", i, "fingerprint")
                         if "fingerprint" in spec else None),
            line=line_of(child(child(node, "waivers"), i))))

    sop = top.get("sop") or {}
    if isinstance(sop, str):
        sop = {"*": sop}
    sop = {str(k): r.text(v, "sop", k) for k, v in r.mapping(sop, "sop").items()}
    sop_processes: dict[str, str] = {}
    for channel in sop:
        if channel not in (*C.CHANNELS, "*"):
            raise r.fail(f"unknown channel '{channel}' (known: {', '.join(C.CHANNELS)}, *)",
                         "sop", channel)
        try:
            sop[channel], process = split_sop_entry(sop[channel], path.parent)
        except ValueError as exc:
            raise r.fail(str(exc), "sop", channel) from None
        if process is not None:
            sop_processes[channel] = process
    conf = r.mapping(top.get("conformance"), "conformance",
                     allowed=("mode", "min_fitness", "max_seconds", "max_states", "engine",
                              "precision", "running_for"))
    if conf.get("mode", "alignments") not in CONFORMANCE_MODES:
        raise r.fail(f"mode must be one of {', '.join(CONFORMANCE_MODES)}", "conformance",
                     "mode")
    if conf.get("engine", "auto") not in ALIGNMENT_ENGINES:
        raise r.fail(f"engine must be one of {', '.join(ALIGNMENT_ENGINES)}", "conformance",
                     "engine")
    max_states = conf.get("max_states", ConformanceOptions.max_states)
    if isinstance(max_states, bool) or not isinstance(max_states, int) \
            or not 1 <= max_states <= MAX_STATES:
        raise r.fail(f"max_states must be a whole number from 1 to {MAX_STATES:,}",
                     "conformance", "max_states")
    if not isinstance(conf.get("precision", True), bool):
        raise r.fail("precision must be true or false", "conformance", "precision")
    min_fitness = conf.get("min_fitness")
    if min_fitness is not None:
        min_fitness = r.convert(min_fitness, _fraction, "conformance", "min_fitness")
    conformance = ConformanceOptions(
        mode=str(conf.get("mode", "alignments")), min_fitness=min_fitness,
        max_seconds=r.convert(conf.get("max_seconds", 10.0), _positive_amount, "conformance",
                              "max_seconds"),
        max_states=max_states, engine=str(conf.get("engine", "auto")),
        precision=bool(conf.get("precision", True)),
        running_for=r.convert(conf.get("running_for", "14d"), parse_duration, "conformance",
                              "running_for"))

    return Policy(
        activities=activities,
        approver_roles=approver_roles,
        performer_roles=performer_roles,
        second_approval_threshold=second,
        sla=r.convert(sla.get("request_to_payout", "14d"), parse_duration, "sla",
                      "request_to_payout"),
        stages=tuple(stages),
        approved_not_paid_grace=r.convert(grace.get("approved_not_paid", "5d"),
                                          parse_duration, "grace", "approved_not_paid"),
        required_evidence=evidence, evidence_due=str(evidence_due),
        refund_window=refund_window,
        refund_window_exception_roles=exception_roles, receipt_max_cases=receipt_max_cases,
        select=select, ignore=ignore, severity=severity, waivers=tuple(waivers), sop=sop,
        sop_processes=sop_processes, sop_written=dict(sop),
        conformance=conformance,
        as_of=(r.convert(top["as_of"], _as_datetime, "as_of") if top.get("as_of") is not None
               else None),
        amount_tolerance=(r.convert(top["amount_tolerance"], _positive_amount,
                                    "amount_tolerance")
                          if top.get("amount_tolerance") is not None else None),
        source=str(path),
        sha256=digest,
    )
