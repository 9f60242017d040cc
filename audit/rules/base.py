"""What a rule is: a code, a name, a family, a severity, options, and a check over the log.

A rule reads the prepared `CaseFacts` (one row per case, vectorised) and returns findings.
Its docstring is its documentation page, in fixed sections: What it checks / Why it matters /
Example / Options / References (docs/rules/ is generated from it).
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from string import Formatter
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from audit.currency import decimals, rounded
from audit.findings import Finding
from audit.words import duration, durations, iso_duration, moments

if TYPE_CHECKING:
    from audit.policy import Policy
    from audit.rules.facts import CaseFacts

SECTIONS = ("What it checks", "Why it matters", "Example", "Options", "References")
FAMILIES = {
    "AP": "approvals",
    "SD": "segregation of duties",
    "EV": "evidence chain",
    "DU": "duplicates",
    "SL": "timing",
    "CF": "conformance",
    "DQ": "data quality",
}


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    source: str
    """Where the value comes from in the policy file, e.g. 'thresholds.second_approval'."""


class Rule(ABC):
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[str]
    summary: ClassVar[str]
    """One line: the bad thing, in an auditor's words."""
    logic_version: ClassVar[int]
    """The version of the rule's judgement, a whole number from 1, set in each rule's own
    definition (no default: the registry refuses a rule without one) and raised by one when
    a change makes the rule judge the same log otherwise (another finding, none, another
    case or event cited, another amount at risk or severity), never for wording, speed or
    documentation alone (docs/rules/README.md, "Logic versions"). findings.json's manifest
    records each run rule's (`rule_versions`), and `diff` tells a rule whose version
    differs between its two runs: its new and resolved findings may come from the rule's
    change, not from the refunds."""
    options: ClassVar[tuple[Option, ...]] = ()
    suppresses: ClassVar[tuple[str, ...]] = ()
    """Names of rules whose findings on the same case this rule's finding replaces."""
    per_request: ClassVar[bool] = False
    """Whether each finding is about one request's episode of its case, named by its first
    event (the request): a precedence between two such rules holds within one episode
    (sla-breach of a case's first episode replaces no stage-overdue of its second)."""
    reads_sop: ClassVar[str] = ""
    """What the rule reads of the policy's SOP models: "net" (the workflow net each converts
    to: conformance), "lanes" (the lanes holding each task), or "" (nothing). Where a selected
    rule reads them, check reads every SOP (and converts it, for "net") before any rule runs
    (`audit.checkrun.checked_policy`), so that a bad one is an input error, not a crash."""

    @property
    def family(self) -> str:
        return self.code[:2]

    @abstractmethod
    def check(self, facts: CaseFacts) -> Iterable[Finding]:
        """Findings of this rule over the whole log."""

    def not_configured(self, policy: Policy) -> str | None:
        """Where the policy sets nothing this rule judges by, so that it judges no case
        (its 0 findings are no "nothing found"): why, in words ("the policy sets no
        refund_window"); else None. findings.json's `summary.by_rule.<code>.note`, the
        reports' rule tables and the console tell it, and `diff` calls an earlier finding
        of the rule not re-judged by a run where it is not configured."""
        return None

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docstring split into its fixed sections (missing ones raise)."""
        text = inspect.cleandoc(cls.__doc__ or "")
        sections: dict[str, list[str]] = {}
        current: str | None = None
        for line in text.splitlines():
            header = line.rstrip(":").strip()
            if header in SECTIONS and line.rstrip().endswith(":"):
                current = header
                sections[current] = []
            elif current is not None:
                sections[current].append(line)
        missing = [s for s in SECTIONS if s not in sections]
        if missing:
            raise ValueError(f"{cls.code} docstring lacks sections {missing}")
        return {k: "\n".join(v).strip() for k, v in sections.items()}

    # Helpers for building findings from a frame of matches.
    def findings(self, facts: CaseFacts, matches: pd.DataFrame, *,
                 message: str, events: tuple[str, ...], when: str,
                 amount: str | None = None, evidence: tuple[str, ...] = ()) -> list[Finding]:
        """One finding per row of `matches` (indexed by case id).

        `events` name columns holding event ids (or lists of ids); `message` is a format string
        over the row's columns, where a `:.2f` field is an amount in the row's `currency`
        (shown in its minor units with thousands grouped, "1,594.55", "12,500" in JPY; `amount`,
        the amount at risk, is rounded to them); `when` names the column with the timestamp
        to report. In the message only, a time reads as the reports' tables show it
        ("2026-09-24 11:09:33 UTC") and a duration in words ("14d 11h 3m 54s"): the
        finding's evidence keeps their ISO 8601 forms ("2026-09-24T11:09:33+00:00",
        "P14DT11H3M54S": `audit.words.iso_duration`).
        """
        fields = {name for _, name, _, _ in Formatter().parse(message) if name}
        template, shown = _positional(message)  # (the message's own fields, by position)
        rows = len(matches)
        if not rows:
            return []  # (none to build: no column read, one the evidence names may lack)
        wanted = fields | set(evidence) | set(events) | {when, "currency"} | (
            {amount} if amount else set())
        columns = [c for c in matches.columns if c in wanted]
        # Column by column: Python values (what to_dict("records") gives, without its
        # per-cell boxing), their plain forms, the event ids and the times; then per row only
        # what differs per finding.
        iso = {c: found for c in columns
               if (found := _utc_iso_texts(matches[c])) is not None}
        cells = {c: _python_values(matches[c]) for c in columns
                 if c not in iso or c in events or c == amount}
        # The plain forms of the columns the evidence, the message or the currency read
        # alone (not of the event ids' lists, nor of the times and amounts the finding takes
        # as they are: CF001's 35k lists of ids at 1M cases walked for nothing).
        shown_columns = [c for c in columns if c in fields or c in evidence or c == "currency"]
        names = [str(c) for c in shown_columns]
        plain = [iso[c] if c in iso else _plain_column(cells[c]) for c in shown_columns]
        # One object per distinct text the findings repeat (currencies, evidence such as the
        # SOP's file; the activities and people are `describe`'s, each made once there): a
        # 1M-case run holds 235k findings, each with its own copies these would be 0.1 GB
        # more.
        texts: dict[str, str] = {}
        one = texts.setdefault
        # Per row, the message's fields in the order of `template`'s positions: their plain
        # forms, but times and durations in words, for the message alone (the evidence
        # keeps the plain forms). A tuple zip makes, no dict per row.
        told = {c: words for c in columns if c in fields and (
            words := _told_column(matches[c], iso.get(c), cells.get(c))) is not None}
        by_name = dict(zip(names, plain, strict=True))
        # (the currency's plain form, as the evidence keeps it: read before the message's
        # fields below are replaced by their words)
        plain_currency = by_name.get("currency")
        # The evidence and the currency column by column (a text made one object there,
        # once per cell), each row's evidence a dict of its keys zipped with its values:
        # no dict of every shown column per row to read them from.
        shared_texts = [[one(v, v) if type(v) is str else v for v in by_name[k]]
                        for k in evidence]
        evidences: Iterable[dict[str, Any]] = (
            [dict(zip(evidence, values, strict=True))
             for values in zip(*shared_texts, strict=True)]
            if evidence else [{} for _ in range(rows)])
        by_name.update((str(c), words) for c, words in told.items())
        messages_values: Iterable[tuple[Any, ...]] = zip(
            *(by_name[f] for f in shown), strict=True) if shown else [()] * rows
        units = ([one(v, v) if type(v) is str else v for v in plain_currency]
                 if plain_currency is not None else [None] * rows)
        # (the message's amounts in each currency's minor units: one template a currency
        # code; a cell of no text, a list or a dict too, reads as no code, None: keyed by
        # texts alone, no other value hashed)
        in_units = {u: _in_minor_units(template, u)
                    for u in {u if type(u) is str else None for u in units}}
        ids_per_row = _event_id_lists([cells[c] for c in events], rows)
        stamps = iso[when] if when in iso else _iso_times(cells[when])
        currencies = cells["currency"] if "currency" in cells else [None] * rows
        amounts = [None] * rows if amount is None else [
            None if _missing(v) else rounded(float(v), c)
            for v, c in zip(cells[amount], currencies, strict=True)]
        # (each activity and person one object too: `describe` makes each text once)
        got = facts.describe([i for ids in ids_per_row for i in ids], matches.index).get
        out: list[Finding] = []
        uses_case = "case" in fields
        code, name, severity = self.code, self.name, self.severity
        for case_id, unit, found, message_values, event_ids, stamp, at_risk in zip(
                matches.index, units, evidences, messages_values, ids_per_row, stamps,
                amounts, strict=True):
            known = [d for i in event_ids if (d := got(i)) is not None]
            out.append(Finding(
                rule=code, name=name, severity=severity,
                case_id=str(case_id), event_ids=event_ids,
                activities=[a for a, _ in known],
                resources=list(dict.fromkeys([r for _, r in known if r is not None])),
                timestamp=stamp,
                message=_message(in_units[unit if type(unit) is str else None], case_id,
                                 message_values, uses_case),
                evidence=found,
                amount_at_risk=at_risk,
                currency=unit,
            ))
        return out


class _Unrecorded(Formatter):
    """A message's fields formatted as `str.format` does, but a missing value (None) reads
    "(not recorded)", not "None": `refund:amount` is optional, and a case paid without one
    still gets its finding; so is a person or a payment method."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        if value is None:
            return "(not recorded)"
        return super().format_field(value, format_spec)


_UNRECORDED = _Unrecorded()


@functools.lru_cache(maxsize=1024)
def _in_minor_units(message: str, currency: str | None) -> str:
    """`message` with its amounts' `:.2f` given the minor units of `currency` and their
    thousands grouped, as the reports' tables show amounts (`:,.0f` for JPY, `:,.3f` for
    KWD; `:,.2f` for an unknown or missing code)."""
    return message.replace(":.2f}", f":,.{decimals(currency)}f}}")


def _told_column(column: pd.Series, iso: list[str | None] | None,
                 cells: list[Any] | None) -> list[str | None] | None:
    """A message field's column in words where it is one of times or of durations (None
    where a value is missing, which the message says is not recorded): times as
    `audit.words.moment` tells them, "2026-09-24 11:09:33 UTC" (from `iso`, the column's ISO
    texts where `_utc_iso_texts` gave them), durations as `audit.words.duration`, "14d 11h";
    None for any other column (its values as they are)."""
    if iso is not None:
        # (the date before the "T", a year past 9999 longer; the clock's eight characters
        # after it: the fast path's times are whole seconds)
        return [None if t is None else f"{t[:t.index('T')]} {t[t.index('T') + 1:][:8]} UTC"
                for t in iso]
    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return moments(column)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return [None if text == "n/a" else text for text in durations(column)]
    if dtype != np.dtype(object) or cells is None or not any(
            issubclass(k, datetime | timedelta) for k in set(map(type, cells))):
        return None  # (texts, numbers, lists: a type check of the column, no cell's)
    kinds = {type(v) for v in cells if not _missing(v)}
    if all(issubclass(k, datetime) for k in kinds):
        return moments(pd.Series([None if _missing(v) else v for v in cells], dtype=object))
    if all(issubclass(k, timedelta) for k in kinds):
        return [None if _missing(v) else duration(v) for v in cells]
    return None


def _message(message: str, case_id: object, values: tuple[Any, ...],
             uses_case: bool) -> str:
    """`message` (`_positional`'s template) formatted with the row's `values` and, where it
    `uses_case`, the case id (`str.format` first: at 1M cases a quarter of a million
    messages; the slower formatter only where a value is missing, None)."""
    if all(v is not None for v in values):  # (`in` compares by ==: an array would raise)
        try:
            return message.format(*values, case=case_id) if uses_case else message.format(
                *values)
        except (TypeError, ValueError):
            pass
    return _UNRECORDED.format(message, *values, case=case_id)


@functools.lru_cache(maxsize=256)
def _positional(message: str) -> tuple[str, tuple[str, ...]]:
    """`message` with its named fields made positional ("paid {paid} on {when}" -> "paid {0}
    on {1}"), `{case}` kept by name, and the names in the order of their positions: each
    row's values then come as the tuple zip makes of the columns, no dict per row."""
    order: dict[str, int] = {}
    parts: list[str] = []
    for literal, name, spec, conversion in Formatter().parse(message):
        parts.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        field = name if name == "case" else str(order.setdefault(name, len(order)))
        parts.append("{" + field + (f"!{conversion}" if conversion else "")
                     + (f":{spec}" if spec else "") + "}")
    return "".join(parts), tuple(order)


def _python_values(column: pd.Series) -> list[Any]:
    """The cells of a column as `DataFrame.to_dict("records")` gives them: Python scalars
    (numpy ones unboxed), Timestamps, and objects (lists) as they are."""
    if column.dtype == object:
        return [v.item() if isinstance(v, np.number | np.bool_) else v for v in column.tolist()]
    return column.tolist()


_IDENTITY_TYPES = frozenset((str, int, bool, type(None)))
"""Cell types whose plain form (`_plain`) is the value itself."""


def _plain_column(values: list[Any]) -> list[Any]:
    """`_plain` of each cell, with the common columns (all text, all numbers) done at once."""
    types = set(map(type, values))
    if types <= _IDENTITY_TYPES:
        return values
    if types == {float}:
        return [None if v != v else v for v in values]
    if types == {pd.Timestamp}:
        return [v.isoformat() for v in values]
    return [_plain(v) for v in values]


def _utc_iso_texts(column: pd.Series) -> list[str | None] | None:
    """`Timestamp.isoformat()` of each cell of a UTC time column whose times are whole
    seconds (None where missing), in one vectorised pass instead of a Timestamp per cell;
    None for any other column (sub-second times keep Timestamp's own rules)."""
    dtype = column.dtype
    if not isinstance(dtype, pd.DatetimeTZDtype) or str(dtype.tz) != "UTC":
        return None
    wall = np.asarray(column.dt.tz_localize(None))
    seconds = wall.astype("datetime64[s]")
    missing = np.isnat(wall)
    if (seconds != wall)[~missing].any():
        return None
    texts = np.datetime_as_string(seconds, unit="s").tolist()
    if not missing.any():
        return [t + "+00:00" for t in texts]
    return [None if m else t + "+00:00" for t, m in zip(texts, missing.tolist(), strict=True)]


def _iso_times(values: list[Any]) -> list[str | None]:
    """Each cell as the ISO 8601 text of its time (None where missing): the finding's
    timestamp."""
    if set(map(type, values)) == {pd.Timestamp}:
        return [v.isoformat() for v in values]
    return [None if _missing(v) else (
        v if isinstance(v, pd.Timestamp) else pd.Timestamp(v)).isoformat() for v in values]


def _event_id_lists(columns: list[list[Any]], rows: int) -> list[list[str]]:
    """Per row: the event ids the `columns` name (scalars or lists), in order, once each
    (`_event_ids` of the row's cells): each column's cells made lists of texts column by
    column, then per row joined and each id kept once."""
    if not columns:
        return [[] for _ in range(rows)]
    if len(columns) == 1:
        kinds = set(map(type, columns[0]))
        if kinds == {str}:
            return [[v] for v in columns[0]]
        if kinds == {list}:  # (`_event_ids` of one list: its ids as texts, once each)
            return [list(dict.fromkeys(map(str, ids))) for ids in columns[0]]
    listed = [_id_lists(values) for values in columns]
    if len(listed) == 2:
        return [list(dict.fromkeys(a + b)) for a, b in zip(*listed, strict=True)]
    return [list(dict.fromkeys(chain.from_iterable(row))) for row in zip(*listed, strict=True)]


def _id_lists(values: list[Any]) -> list[list[str]]:
    """Per cell of one column: the event ids it names as texts, in order (a list, tuple
    or array: each of its values; a scalar: itself, none where missing), as `_event_ids`
    reads a cell."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return [[v] for v in values]
    if kinds == {list}:
        return [list(map(str, ids)) for ids in values]
    return [list(map(str, v)) if isinstance(v, list | tuple | np.ndarray)
            else [] if _missing(v) else [str(v)] for v in values]


def _missing(value: Any) -> bool:
    """`pd.isna` of one scalar cell, without its dispatch: None, NaN, NA, NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return value != value
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def _event_ids(values: tuple[Any, ...]) -> list[str]:
    """The event ids in one match's cells (scalars or lists), in order, once each.

    No longer called by `Rule.findings` (`_event_id_lists` reads the columns instead): kept
    as the per-row definition tests/test_rule_findings_columns.py checks that against."""
    ids: list[str] = []
    for value in values:
        if isinstance(value, list | tuple | np.ndarray):
            ids.extend(str(v) for v in value)
        elif not _missing(value):
            ids.append(str(value))
    return list(dict.fromkeys(ids))


def _plain(value: Any) -> Any:
    """JSON-able, readable form of a cell for messages and evidence."""
    if type(value) is str:  # the common cases first, without pandas' checks
        return value
    if type(value) is float:
        return None if value != value else value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | np.timedelta64 | timedelta):
        # (ISO 8601, "P14DT11H3M54S", not pandas' "14 days 11:03:54": a GRC tool or a
        # spreadsheet reads it; NaT missing)
        return None if _missing(value) else iso_duration(value)
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
