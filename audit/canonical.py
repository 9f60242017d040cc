"""The canonical event log: column names, a declarative schema, and its validator.

One pandas row per event, XES names where they exist (see docs/canonical-log.md). Every stage
after import reads only this shape, so the schema is checked once, completely, and every problem
is collected rather than stopping at the first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

CASE = "case:concept:name"
ACTIVITY = "concept:name"
TIMESTAMP = "time:timestamp"
RESOURCE = "org:resource"
ROLE = "org:role"
LIFECYCLE = "lifecycle:transition"
AMOUNT = "refund:amount"
CURRENCY = "refund:currency"
CHANNEL = "refund:channel"
TICKET_ID = "ticket:id"
ORDER_ID = "order:id"
CHARGE_ID = "payment:charge_id"
REFUND_ID = "payment:refund_id"
PAYMENT_METHOD = "payment:method"
PAYMENT_STATUS = "payment:status"
EVENT_ID = "event:id"
SOURCE_SYSTEM = "source:system"
SOURCE_FILE = "source:file"
SOURCE_ROW = "source:row"
EVIDENCE_PREFIX = "evidence:"
STATED_PREFIX = "stated:"
CORRELATED = (CASE, TICKET_ID, ORDER_ID, CHARGE_ID)
"""The ids that correlation gives each event of an export (its case's), which
`STATED[name]` keeps as the record stated them where they differ (see audit.correlate)."""
STATED = {name: STATED_PREFIX + name for name in CORRELATED}

CHANNELS = ("ecommerce", "subscription", "offline")
PAYMENT_STATUSES = ("succeeded", "pending", "failed", "reversed")

_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Column:
    """One column of the canonical log and what must hold for its values."""

    name: str
    kind: str
    """'string', 'timestamp', 'amount' or 'int'."""
    required: bool = False
    """Must be non-empty in every row (the column itself is always present)."""
    allowed: tuple[str, ...] | None = None
    pattern: re.Pattern[str] | None = None
    description: str = ""
    coded: bool = False
    """Few distinct values (labels, people, roles, systems, files): held as a category
    (an integer code per event and each text once), see `compact`."""


SCHEMA: tuple[Column, ...] = (
    Column(EVENT_ID, "string", required=True, description="stable, unique id of the event"),
    Column(CASE, "string", required=True, description="refund case id"),
    Column(ACTIVITY, "string", required=True, description="activity label as in the source",
           coded=True),
    Column(TIMESTAMP, "timestamp", required=True, description="when it happened, tz-aware UTC"),
    Column(RESOURCE, "string", description="who did it (user id or name)", coded=True),
    Column(ROLE, "string", description="the role the resource held at that time", coded=True),
    Column(LIFECYCLE, "string", description="XES lifecycle transition, e.g. complete", coded=True),
    Column(AMOUNT, "amount", description="money the event states, in major units"),
    Column(CURRENCY, "string", pattern=_CURRENCY_RE, description="ISO 4217 code", coded=True),
    Column(CHANNEL, "string", allowed=CHANNELS, description="ecommerce | subscription | offline",
           coded=True),
    Column(TICKET_ID, "string", description="ticket in the ticketing system"),
    Column(ORDER_ID, "string", description="order the refund is for"),
    Column(CHARGE_ID, "string", description="captured charge in the payment system"),
    Column(REFUND_ID, "string", description="refund (payout) in the payment system"),
    Column(PAYMENT_METHOD, "string", description="card, paypal, bank_transfer, cash, ...",
           coded=True),
    Column(PAYMENT_STATUS, "string", allowed=PAYMENT_STATUSES, description="of a payment event",
           coded=True),
    Column(SOURCE_SYSTEM, "string", required=True, description="zendesk, stripe, csv, xes, ...",
           coded=True),
    Column(SOURCE_FILE, "string", required=True, description="file the event was read from",
           coded=True),
    Column(SOURCE_ROW, "int", required=True, description="row (CSV: spreadsheet row) in it"),
)
COLUMNS: tuple[str, ...] = tuple(c.name for c in SCHEMA)
BY_NAME: dict[str, Column] = {c.name: c for c in SCHEMA}
CODED: tuple[str, ...] = tuple(c.name for c in SCHEMA if c.coded)


@dataclass(frozen=True)
class SchemaProblem:
    """One failed check: which column, which check, where, and an example value."""

    column: str
    check: str
    count: int
    example_row: int | None
    example_value: str | None

    def __str__(self) -> str:
        where = f" (e.g. index {self.example_row}: {self.example_value!r})" if self.count else ""
        return f"column '{self.column}': {self.check}: {self.count} row(s){where}"


def _problem(
    frame: pd.DataFrame, column: str, check: str, bad: pd.Series
) -> SchemaProblem | None:
    count = int(bad.sum())
    if count == 0:
        return None
    first = bad[bad].index[0]
    value = frame.at[first, column] if column in frame.columns else None
    return SchemaProblem(column, check, count, int(first), None if value is None else str(value))


def _is_blank(series: pd.Series) -> pd.Series:
    blank = series.isna()
    if pd.api.types.is_string_dtype(series) or series.dtype == object:
        blank |= series.astype("string").str.strip().eq("").fillna(True)
    return blank


_KIND_CHECKS: dict[str, Callable[[pd.Series], bool]] = {
    "string": lambda s: bool(pd.api.types.is_string_dtype(s) or s.isna().all()),
    "timestamp": lambda s: isinstance(s.dtype, pd.DatetimeTZDtype) and str(s.dtype.tz) == "UTC",
    "amount": lambda s: bool(pd.api.types.is_float_dtype(s)),
    "int": lambda s: bool(pd.api.types.is_integer_dtype(s)),
}


def validate(frame: pd.DataFrame) -> list[SchemaProblem]:
    """Check a canonical log against SCHEMA; return every problem found (empty list = valid)."""
    problems: list[SchemaProblem | None] = []
    for column in SCHEMA:
        if column.name not in frame.columns:
            problems.append(SchemaProblem(column.name, "column missing", 1, None, None))
            continue
        series = frame[column.name]
        if not _KIND_CHECKS[column.kind](series):
            problems.append(
                SchemaProblem(column.name, f"dtype {series.dtype} is not {column.kind}", 1,
                              None, None)
            )
            continue
        present = ~series.isna()
        if column.required:
            problems.append(_problem(frame, column.name, "empty value", _is_blank(series)))
        if column.allowed is not None:
            bad = present & ~series.isin(column.allowed)
            problems.append(_problem(frame, column.name, f"not one of {column.allowed}", bad))
        if column.pattern is not None:
            text = series.astype("string")
            bad = present & ~text.str.fullmatch(column.pattern.pattern).fillna(False)
            problems.append(_problem(frame, column.name, "invalid format", bad.astype(bool)))
        if column.kind == "amount":
            problems.append(_problem(frame, column.name, "negative amount", series.lt(0)))
    for name in frame.columns:
        if name.startswith(EVIDENCE_PREFIX) and not (
            pd.api.types.is_string_dtype(frame[name]) or frame[name].isna().all()
        ):
            problems.append(SchemaProblem(name, "evidence columns hold text", 1, None, None))
    if EVENT_ID in frame.columns:
        problems.append(
            _problem(frame, EVENT_ID, "duplicate event id",
                     frame[EVENT_ID].duplicated(keep="first") & frame[EVENT_ID].notna())
        )
    return [p for p in problems if p is not None]


def evidence_columns(frame: pd.DataFrame) -> list[str]:
    """The `evidence:*` columns of a log, in frame order."""
    return [c for c in frame.columns if c.startswith(EVIDENCE_PREFIX)]


def stable_order(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """The positions that sort `frame` by `keys`, ascending and stable, missing values last:
    ``frame[keys].reset_index(drop=True).sort_values(keys, kind="stable").index``.

    Arrow's multi-key sort when every key converts to Arrow (strings compare by code point
    in both; about 15x faster than pandas on a 7M-event log sorted by case id, time and
    event id; categories by their codes, as pandas sorts them), pandas' own sort otherwise
    (mixed types, object columns that Arrow does not take)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(keys) == 0 or len(frame) < 2:
        return np.arange(len(frame), dtype=np.int64)
    def key(values: pd.Series) -> pa.Array | pa.ChunkedArray:
        if isinstance(values.dtype, pd.CategoricalDtype):  # pandas sorts these by code
            codes = values.cat.codes.to_numpy()
            return pa.array(codes, mask=codes < 0)
        return pa.array(values.array, from_pandas=True)

    arrow_keys = not any(frame[k].dtype == object for k in keys)
    if arrow_keys:
        try:
            table = pa.table({f"k{i}": key(frame[k]) for i, k in enumerate(keys)})
            # Missing values last: Arrow's default placement, in every supported version.
            order = pc.sort_indices(table, sort_keys=[(f"k{i}", "ascending")
                                                      for i in range(len(keys))])
            return np.asarray(order.to_numpy(), dtype=np.int64)
        except (TypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return (frame[keys].reset_index(drop=True).sort_values(keys, kind="stable")
            .index.to_numpy(dtype=np.int64))


EVENT_ORDER = (CASE, TIMESTAMP, EVENT_ID)
"""The order of a log's events wherever it matters (`check`'s rules and conformance,
`compare`, `discover`, the directly-follows graph): by case, then time, then event id (text
by code point): two events of a case at the same time are taken in the order of their ids,
whatever their order in the file; but where one of them has an id the import derived
(`DERIVED_ID`: a hash, in no order of the events), they are taken in the order their
source lists them (`SAME_TIME_ORDER`). See `event_order`."""

SAME_TIME_ORDER = (EVENT_ID, SOURCE_FILE, SOURCE_ROW)
"""Of a case's events at one time where one has a derived id (`DERIVED_ID`): the events
whose ids the log states first, by id; then the others as their source lists them, by
`source:file` (text) and `source:row` (the row of a CSV, the element of an XES file, the
event of an OCEL log), the id last (`ties_in_file_order`)."""

DERIVED_ID = re.compile(r"e[0-9a-f]{16}")
"""An event id the import derives where the source states none (`audit.ingest.
assign_event_ids`): "e" and 16 hex digits of a hash, in no order of the events."""


def event_order(frame: pd.DataFrame) -> np.ndarray | None:
    """The positions that put `frame`'s events in EVENT_ORDER (ascending, stable, missing
    values last: `stable_order`; events of a case at one time, one of them with a derived
    id, as `ties_in_file_order` takes them), or None where they are in it already (an
    import's log usually is: checked on neighbours, nothing sorted). A frame without
    `event:id` (not a canonical log) keeps its rows' order among events of a case at one
    time."""
    keys = [k for k in EVENT_ORDER if k in frame.columns]
    if len(keys) < len(EVENT_ORDER):
        order = None if in_order(frame, keys) else stable_order(frame, keys)
    elif in_order(frame, [CASE, TIMESTAMP]):
        # (An import's log: sorted by case and time, only its events at one time ordered.)
        order = ties_in_file_order(frame, None, every_run=True)
    else:
        order = ties_in_file_order(frame, stable_order(frame, keys))
    if order is None or np.array_equal(order, np.arange(len(order))):
        return None
    return order


def derived_ids(ids: pd.Series) -> np.ndarray:
    """Per id of `ids`, whether it is one the import derived (`DERIVED_ID`), as a bool
    array (a missing id is not)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        texts = pa.array(ids.astype("string").array, from_pandas=True)
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        found = pc.match_substring_regex(texts, "^" + DERIVED_ID.pattern + "$")
        return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False),
                          dtype=bool)
    except (TypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.asarray(ids.astype("string").str.fullmatch(DERIVED_ID.pattern)
                          .fillna(False).to_numpy(dtype=bool), dtype=bool)


def tied_pairs(frame: pd.DataFrame, order: np.ndarray | None) -> np.ndarray:
    """The positions i (in the order `order` gives, None: the frame's) where the event at i
    and the next are of one case at one time. Times are compared first, for every
    neighbour (integers); cases only where the times are equal."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(frame)
    if n < 2:
        return np.empty(0, dtype=np.int64)
    times = frame[TIMESTAMP]
    if pd.api.types.is_datetime64_any_dtype(times.dtype):
        stamps = np.asarray(pd.DatetimeIndex(times).asi8, dtype=np.int64)
    else:
        stamps = pd.factorize(times, use_na_sentinel=False)[0].astype(np.int64)
    if order is not None:
        stamps = stamps[order]
    at = np.flatnonzero(stamps[1:] == stamps[:-1])
    del stamps
    if not len(at):
        return at.astype(np.int64)
    left, right = (at, at + 1) if order is None else (order[at], order[at + 1])
    cases = frame[CASE]
    if isinstance(cases.dtype, pd.CategoricalDtype):
        codes = cases.cat.codes.to_numpy()
        same = codes[left] == codes[right]
    elif pd.api.types.is_numeric_dtype(cases.dtype) and cases.dtype != object:
        values = cases.to_numpy()  # (codes of an order key)
        same = values[left] == values[right]
    else:  # (only the pairs at one time taken, as text)
        try:
            before = arrow_array(cases.take(left).astype("string"))
            after = arrow_array(cases.take(right).astype("string"))
            same = np.asarray(pc.fill_null(pc.equal(before, after), False)
                              .to_numpy(zero_copy_only=False), dtype=bool)
            same |= np.asarray(pc.and_(pc.is_null(before), pc.is_null(after))
                               .to_numpy(zero_copy_only=False), dtype=bool)
        except (TypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
            same = (cases.take(left).astype(str).to_numpy(dtype=object)
                    == cases.take(right).astype(str).to_numpy(dtype=object))
    return np.asarray(at[np.asarray(same, dtype=bool)], dtype=np.int64)


def ties_in_file_order(frame: pd.DataFrame, order: np.ndarray | None, *,
                       every_run: bool = False) -> np.ndarray | None:
    """`order` (positions putting `frame` in order by case, time and event id; None: the
    frame is) with each run of events of a case at one time that holds an id the import
    derived (`DERIVED_ID`: a hash of what the event says, in no order of the events) put in
    `SAME_TIME_ORDER`: the events whose ids the log states first, by id, then the others
    in the order their source lists them (`source:file`, `source:row`), so that an XES
    file's, an OCEL log's or an id-less CSV's events at one time are taken as the file
    lists them, as pm4py takes them. Runs of ids the log states all keep their ids' order
    (`every_run`: `order` is by case and time only, and those are put in it too); only the
    tied events are read (few in most logs). Without `source:row` (not a canonical log) they
    are ordered by id."""
    pairs = tied_pairs(frame, order)
    if not len(pairs):
        return order
    n = len(frame)
    # The tied events, in the sorted order: each run of them one group.
    tied = np.zeros(n, dtype=bool)
    tied[pairs] = True
    tied[pairs + 1] = True
    rows = np.flatnonzero(tied)
    link = np.zeros(n, dtype=bool)
    link[pairs + 1] = True  # (an event tied to the one before it: same run)
    run = np.cumsum(~link[rows]) - 1
    events = rows if order is None else order[rows]
    ids = frame[EVENT_ID].take(events)
    derived = (derived_ids(ids) if SOURCE_ROW in frame.columns
               else np.zeros(len(ids), dtype=bool))
    if not every_run:
        if not derived.any():
            return order
        counts = np.bincount(run, weights=derived, minlength=int(run[-1]) + 1)
        fixed = counts[run] > 0
        rows, run, events, derived = rows[fixed], run[fixed], events[fixed], derived[fixed]
        ids = ids[fixed]
    # (The events of ids the log states by id alone: their file and row all -1.)
    unstated = np.full(len(events), -1, dtype=np.int64)
    keys = pd.DataFrame({
        "run": run,
        "derived": derived,
        "file": np.where(derived, _file_ranks(frame, events), -1) if derived.any() else unstated,
        "row": (np.where(derived, _row_numbers_of(frame, events), -1) if derived.any()
                else unstated),
        "id": ids.reset_index(drop=True)})
    again = stable_order(keys, ["run", "derived", "file", "row", "id"])
    out = np.arange(n, dtype=np.int64) if order is None else order.copy()
    out[rows] = events[again]
    return out


def _file_ranks(frame: pd.DataFrame, events: np.ndarray) -> np.ndarray:
    """Per event at `events`: the rank of its `source:file` among the log's, by text (0
    without the column): of a coded column, its categories ranked, not a text per event."""
    if SOURCE_FILE not in frame.columns:
        return np.zeros(len(events), dtype=np.int64)
    files = frame[SOURCE_FILE]
    if isinstance(files.dtype, pd.CategoricalDtype):
        names = files.cat.categories.astype(str).to_numpy(dtype=object)
        ranks = np.empty(len(names) + 1, dtype=np.int64)
        ranks[:-1] = np.argsort(np.argsort(names, kind="stable"), kind="stable")
        ranks[-1] = len(names)  # (a missing one last)
        return np.asarray(ranks[files.cat.codes.to_numpy()[events]], dtype=np.int64)
    return np.asarray(pd.factorize(files.take(events).astype(str).to_numpy(dtype=object),
                                   sort=True)[0], dtype=np.int64)


def _row_numbers_of(frame: pd.DataFrame, events: np.ndarray) -> np.ndarray:
    """Per event at `events`: its `source:row` as an integer (-1 where it is none)."""
    rows = frame[SOURCE_ROW].take(events)
    if pd.api.types.is_integer_dtype(rows.dtype) and not bool(rows.isna().any()):
        return np.asarray(rows.to_numpy(), dtype=np.int64)
    return np.asarray(pd.to_numeric(pd.Series(rows.to_numpy()), errors="coerce")
                      .fillna(-1).to_numpy(dtype=np.int64), dtype=np.int64)


def elapsed(later: Any, earlier: Any) -> Any:
    """``later - earlier`` for times of a log or a clock (Series or Timestamps), as pandas
    subtracts them; but where the difference is too long for nanoseconds (a log holds any
    time from 1677-09-21 to 2262-04-11, while a nanosecond duration holds 292 years, so an
    event of 1700 and a clock of 2026 overflow), in microseconds, which hold any of them.
    pandas raises OverflowError there, which would crash a rule or a command."""
    try:
        return later - earlier
    except OverflowError:
        return _in_microseconds(later) - _in_microseconds(earlier)


def _in_microseconds(times: Any) -> Any:
    if isinstance(times, pd.Series):
        return times.dt.as_unit("us")
    return pd.Timestamp(times).as_unit("us")


def in_order(frame: pd.DataFrame, keys: list[str]) -> bool:
    """Whether `frame` is sorted by `keys` already, i.e. ``stable_order(frame, keys)`` is
    0, 1, 2, ...: each row's keys, compared with the next row's, never greater (text by code
    point, times, numbers, categories by code). Neighbours compared, nothing sorted; False
    where a key has missing values or a type this does not compare (the sort decides)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(frame)
    if n < 2:
        return True
    open_pairs: np.ndarray | None = None  # pairs (i, i + 1) that the keys so far leave equal
    for name in keys:
        values = frame[name]
        if bool(values.isna().any()):
            return False
        if isinstance(values.dtype, pd.CategoricalDtype):
            column: Any = values.cat.codes.to_numpy()
        elif pd.api.types.is_datetime64_any_dtype(values.dtype):
            column = np.asarray(values.array.asi8)
        elif pd.api.types.is_numeric_dtype(values.dtype) and values.dtype != object:
            column = values.to_numpy()
        elif isinstance(values.dtype, pd.StringDtype):
            try:
                column = arrow_array(values)
            except (TypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return False
        else:
            return False
        if isinstance(column, np.ndarray):
            # All neighbours compared, the pairs left open kept by a mask: no gather of the
            # open pairs' values (at 1M cases: the times of 6M neighbours in one case, 0.2 GB).
            greater, equal = column[:-1] > column[1:], column[:-1] == column[1:]
            if open_pairs is not None:
                greater &= open_pairs
                equal &= open_pairs
            if bool(greater.any()):
                return False
            open_pairs = equal
            if not bool(open_pairs.any()):
                return True
            continue
        # Text in Arrow: only the open pairs' values taken (few, after a case and a time).
        at = None if open_pairs is None else np.flatnonzero(open_pairs)
        if at is None:
            before, after = column.slice(0, n - 1), column.slice(1)
        else:
            before, after = column.take(pa.array(at)), column.take(pa.array(at + 1))
        greater = np.asarray(pc.greater(before, after).to_numpy(zero_copy_only=False),
                             dtype=bool)
        equal = np.asarray(pc.equal(before, after).to_numpy(zero_copy_only=False),
                           dtype=bool)
        if bool(greater.any()):
            return False
        if at is None:
            open_pairs = equal
        else:
            open_pairs = np.zeros(n - 1, dtype=bool)
            open_pairs[at[equal]] = True
        if not bool(open_pairs.any()):
            return True
    return True  # rows equal on every key stay in their order


def arrow_array(values: pd.Series | pd.Index) -> pa.Array:
    """A column's values as one Arrow array (one chunk; Arrow-backed columns as they are)."""
    import pyarrow as pa

    array = pa.array(values.array, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for values sorted already: each kept once, neighbours compared.
    numpy 2.4's unique hashes when asked for nothing but the values: 1.7 s for 2M int64s
    that are all distinct, 7.5 s for 7M, where sorting them takes 0.02-0.05 s."""
    if len(values) == 0:
        return values.copy()
    return values[np.r_[True, values[1:] != values[:-1]]]


def run_starts(values: pa.Array) -> np.ndarray:
    """Per value of an Arrow array without missing values: whether it differs from the one
    before it (the first value: True). Neighbours compared, nothing hashed."""
    import pyarrow.compute as pc

    n = len(values)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = np.asarray(pc.not_equal(values.slice(1), values.slice(0, n - 1))
                                .to_numpy(zero_copy_only=False), dtype=bool)
    return starts


def sortable_text(values: pd.Series | pd.api.extensions.ExtensionArray) -> pa.Array | None:
    """The values as one Arrow string array, where they are Arrow strings without missing
    values (else None)."""
    import pyarrow as pa

    data = getattr(getattr(values, "array", values), "_pa_array", None)
    if data is None or data.null_count or len(data) < 2 or not (
            pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    return data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data


def duplicated_text(values: pd.Series) -> np.ndarray:
    """``values.duplicated(keep="first")`` as a numpy mask: whether an earlier value equals
    this one. On Arrow strings without missing values (the import's event ids) by a stable
    sort and a compare of neighbours: a hash table of 7.3M ids (pandas', or Arrow's memo
    table) takes about 1.2 GB beside the log, the sort about 0.3 GB."""
    import pyarrow.compute as pc

    data = sortable_text(values)
    if data is None:
        return np.asarray(values.duplicated(keep="first"), dtype=bool)
    order = pc.array_sort_indices(data)  # stable: equal values keep their order
    out = np.empty(len(data), dtype=bool)
    out[np.asarray(order)] = ~run_starts(data.take(order))
    return out


def text_hashes(values: pd.Series) -> np.ndarray | None:
    """A 64-bit hash of each text (pandas' hash_array: SipHash with a fixed key, the same in
    every process), or None when `values` is not text without missing values. The reading
    workers take them of each file's event ids, so that the main process finds repeated ids
    among 7.3M (1M cases) by sorting numbers (under half a second, the workers' hashing
    aside) instead of texts (5-8 s).

    A block of texts at a time (each hash is its own text's): a Python str per id lives
    only for its block. All at once, the 7.3M ids of a 1M-case canonical log made 1.3 GB
    of str objects, the peak of a month's run (the log read beside the exports), and took
    4.4 s there against 1.6 s in blocks."""
    if not isinstance(values.dtype, pd.StringDtype) or bool(values.isna().any()):
        return None
    hashed = np.empty(len(values), dtype=np.uint64)
    try:
        for start in range(0, len(values), _HASH_BLOCK):
            hashed[start:start + _HASH_BLOCK] = pd.util.hash_array(
                values.iloc[start:start + _HASH_BLOCK].to_numpy(dtype=object),
                categorize=False)
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 to hash (the sort compares it)
        return None
    return hashed


_HASH_BLOCK = 1 << 18
"""Texts hashed at a time by `text_hashes` (about 30 MB of str objects)."""


def duplicated_hashed(hashes: np.ndarray, values: pd.Series | list[pd.Series]) -> np.ndarray:
    """`duplicated_text` of `values` (one series, or several one after another) given
    `hashes`, each value's `text_hashes`: equal texts have equal hashes, so only the values
    whose hash another value shares are compared, as texts, in their order. A collision costs
    a comparison, never a wrong answer."""
    parts = values if isinstance(values, list) else [values]
    starts = np.cumsum([0, *(len(part) for part in parts)])
    if len(hashes) != starts[-1]:
        raise ValueError(f"{len(hashes)} hashes for {starts[-1]} values")
    out = np.zeros(len(hashes), dtype=bool)
    if len(hashes) < 2:
        return out
    # Sorted, not argsorted: no positions (58 MB at 1M cases) unless a hash repeats, as
    # the import runs this before the files are joined, where its memory peaks.
    ranked = np.sort(hashes)
    same = ranked[1:] == ranked[:-1]
    if not same.any():
        return out
    repeated = sorted_distinct(ranked[1:][same])
    del ranked, same
    # The values sharing a hash, in order: pandas' hash table of the repeated hashes (about
    # 0.2 s for 8.1M values and 730k repeated hashes, a month's run at 1M cases) where
    # numpy's isin sorts both arrays (2.5 s, 0.3 GB).
    at = np.flatnonzero(pd.Series(hashes, copy=False).isin(repeated).to_numpy(dtype=bool))
    part = np.searchsorted(starts, at, side="right") - 1
    texts = pd.concat([parts[k].iloc[at[part == k] - starts[k]] for k in np.unique(part)],
                      ignore_index=True)
    out[at] = duplicated_text(texts)
    return out


def sorted_codes(values: pd.api.extensions.ExtensionArray
                 ) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
    """``pd.factorize(values, sort=True)``: (each value's rank among the distinct values,
    the distinct values sorted). On Arrow strings without missing values by a sort and a
    compare of neighbours, not a hash table (2M charge ids at 1M cases: 0.1 GB less)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data = sortable_text(values)
    if data is None:
        codes, uniques = pd.factorize(pd.Series(values), sort=True)
        return np.asarray(codes, dtype=np.int64), pd.Index(uniques).array
    order = pc.array_sort_indices(data)
    ranked = data.take(order)
    new = run_starts(ranked)
    codes = np.empty(len(ranked), dtype=np.int64)
    codes[np.asarray(order)] = np.cumsum(new) - 1
    return codes, pd.arrays.ArrowStringArray(ranked.filter(pa.array(new)))


def int_isin(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``np.isin(values, wanted)`` for integer keys, with pandas' hash table: numpy 2's
    isin sorts or hashes both sides its own way, 1.2 s for 1M keys against 1.2M where
    pandas takes 0.05 s (SD002's (case, resource) keys at 1M cases)."""
    return np.asarray(pd.Series(values, copy=False).isin(wanted).to_numpy(), dtype=bool)


LOOKUP_BLOCK = 1 << 20
"""Codes looked up per block by `looked_up`."""


def looked_up(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[codes]`` (a code of -1: the table's last entry), a block of codes at a time:
    numpy turns narrow codes into a copy of 64-bit positions to index with (58 MB for the
    int32 codes of 7.3M events), a block's only."""
    if len(codes) <= LOOKUP_BLOCK:
        return np.asarray(table[codes])
    out = np.empty(len(codes), dtype=table.dtype)
    for start in range(0, len(codes), LOOKUP_BLOCK):
        out[start:start + LOOKUP_BLOCK] = table[codes[start:start + LOOKUP_BLOCK]]
    return out


def never_decreasing(codes: np.ndarray) -> bool:
    """Whether `codes` never decrease, compared a block at a time (no temporary the size of
    the whole)."""
    for start in range(0, max(len(codes) - 1, 0), LOOKUP_BLOCK):
        block = codes[start:start + LOOKUP_BLOCK + 1]
        if bool((block[1:] < block[:-1]).any()):
            return False
    return True


def text_isin(values: pd.Series, wanted: Iterable[str]) -> np.ndarray:
    """Per value: whether its text is among `wanted` (missing values are not), as a numpy
    mask: ``values.astype(str).isin(wanted)``. On Arrow strings (the canonical log's ids)
    Arrow's hash set is used as it is: pandas' isin converts each wanted value to an Arrow
    scalar in Python first (about 0.4 s for 100k ids), and astype(str) copies the column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    convert = getattr(wanted, "tolist", None)  # arrays and indexes: in one call
    texts = list(convert() if callable(convert) else wanted)
    if isinstance(values.dtype, pd.CategoricalDtype):  # each category looked up once
        among = text_isin(pd.Series(values.cat.categories, copy=False), texts)
        return looked_up(np.append(among, False), values.array.codes)  # code -1: missing
    data = getattr(values.array, "_pa_array", None)
    if data is not None and (pa.types.is_string(data.type)
                             or pa.types.is_large_string(data.type)):
        hit = pc.is_in(data, value_set=pa.array(texts, type=data.type), skip_nulls=True)
        return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)
    present = values.notna().to_numpy(dtype=bool)
    return present & values.astype(str).isin(texts).to_numpy(dtype=bool)


def compact(frame: pd.DataFrame) -> None:
    """The CODED columns, the evidence columns and the STATED ids of `frame` held as
    categories, in place: an integer code per event and each distinct text once (a 1M-case
    log: 1.2 of its 2.6 GB are the ten CODED columns as strings; an evidence column, empty
    on most events, takes a 32-bit code per event instead of a 64-bit text offset, and so
    does a STATED one, holding a value only where a record stated another id than its
    case's). Categories are sorted by code point, as the strings sort, so a sort by the
    codes orders as a sort by the text. Columns of other kinds (numbers, mixed objects) are
    left as they are, categorical ones lose the categories no event holds; the values read
    back are the same."""
    for name in [*CODED, *evidence_columns(frame), *STATED.values()]:
        if name not in frame.columns:
            continue
        values = frame[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            frame[name] = _without_hash_table(_used_categories(values))
            continue
        coded = _coded(values)
        if coded is not None:
            frame[name] = coded


REPEATED_IDS: tuple[str, ...] = (CASE, TICKET_ID, ORDER_ID, CHARGE_ID, REFUND_ID)
"""Ids that every event of a case (or of a ticket, order, charge, payout) repeats."""


COMPACT_IN_TWO_FROM = 200_000
"""Rows from which `compact_ids` codes two columns at a time."""


FAILED_STATUSES = ("failed", "reversed", "pending")
"""Payment statuses (compared without case) of a payment that moved no money: a payout or
charge with one of these is not paid, not captured."""

_SPACES = re.compile(r"\s+")


def person_key(name: str) -> str:
    """The key one person is compared by: their name or login without case, Unicode width
    variants or spacing (`Ben.Carter`, `ben.carter ` and `BEN.CARTER` are one person), as
    the systems that write logins compare them. The segregation-of-duty rules and the role
    history compare people by this key; reports show the names as recorded."""
    import unicodedata

    return _SPACES.sub(" ", unicodedata.normalize("NFKC", name).casefold()).strip()


_SEPARATORS = re.compile(r"[\s_\-]+")


def method_key(name: str) -> str:
    """The key payment methods are compared by: without case, width or the separator
    between words (`Card` is `card`; `bank_transfer`, `Bank Transfer` and `bank-transfer`
    are one method), as exports and order systems write them differently."""
    import unicodedata

    return _SEPARATORS.sub("_", unicodedata.normalize("NFKC", name).casefold()).strip("_")


def not_completions(frame: pd.DataFrame) -> dict[str, int]:
    """The events whose `lifecycle:transition` is stated and is not `complete` (start,
    schedule, suspend, ate_abort, ...), counted per transition as written: an activity
    logged as start and complete is one activity, which its completion stands for. Empty
    where there are none (no column, all complete or not stated)."""
    if LIFECYCLE not in frame.columns:
        return {}
    column = frame[LIFECYCLE]
    values = column.astype("category") if not isinstance(column.dtype,
                                                         pd.CategoricalDtype) else column
    counts = values.value_counts(sort=False)
    return {str(k): int(n) for k, n in counts.items()
            if n and str(k).strip().lower() != "complete"}


def completions(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` without the events `not_completions` counts (`frame` itself where there
    are none: no copy of a log of millions of events)."""
    if not not_completions(frame):
        return frame
    stated = frame[LIFECYCLE].astype("string").str.strip().str.lower()
    return frame.loc[stated.isna() | stated.eq("complete").fillna(False)].reset_index(
        drop=True)


def dated_after(frame: pd.DataFrame, clock: datetime) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per event of `frame`: whether it is dated after `clock` (an aware time), in one
    comparison of the time column. An event of no time (NaT) is not after it: the check
    judges it as it did before the log was cut at the clock."""
    if not len(frame):
        return np.zeros(0, dtype=bool)
    return np.asarray(frame[TIMESTAMP].gt(pd.Timestamp(clock)).to_numpy(dtype=bool),
                      dtype=bool)


def until(frame: pd.DataFrame, clock: datetime) -> tuple[pd.DataFrame, int]:
    """`frame` as it stood at `clock`: without its events dated after it (`dated_after`),
    and how many those were. `frame` itself where there are none (no copy of a log of
    millions of events, e.g. a log wholly before the audit's clock)."""
    after = dated_after(frame, clock)
    count = int(np.count_nonzero(after))
    if not count:
        return frame, 0
    return frame.loc[~after].reset_index(drop=True), count


def at_clock(frame: pd.DataFrame, clock: datetime
             ) -> tuple[pd.DataFrame, dict[str, int], int]:
    """The events the audit judges at `clock`, and the counts of those it leaves out: the
    completions of `frame` (`completions`) as they stood at the clock (`until`); the
    events that are no completion, per transition (`not_completions`); how many were dated
    after the clock. The one cut `check` (`run_check_log`) and `run_rules` (the local and the
    Dask engine) make, so that both judge the same events at the same clock. `frame` itself
    where nothing is left out; a frame cut already is returned as it is, with no count."""
    not_judged = not_completions(frame)
    judged = completions(frame) if not_judged else frame
    judged, after = until(judged, clock)
    return judged, not_judged, after


def after_clock_told(count: int, clock: datetime, last: datetime | None = None) -> str:
    """The warning for the events `until` left out of the judgement: "3 events dated after
    the audit's clock (2026-10-01T00:00:00+00:00; the last 2026-10-08T07:57:58+00:00) were
    not judged: ..."; `last`: the latest of them, where known."""
    from audit.words import counted

    latest = f"; the last {last.isoformat()}" if last is not None and count > 1 else ""
    return (f"{counted(count, 'event', spec=',')} dated after the audit's clock "
            f"({clock.isoformat()}{latest}) {'was' if count == 1 else 'were'} not judged: "
            "the audit "
            "judges the log as it stood at the clock; pass a later --as-of to judge "
            f"{'it' if count == 1 else 'them'}")


def not_completions_told(counts: dict[str, int], done: str = "judged") -> str:
    """The warning for the events `not_completions` counted, which a command left out (`check`:
    not judged; `compare`, `discover`: not counted): "2 events whose lifecycle:transition is
    not complete (start 2) were not judged: ..."."""
    told = ", ".join(f"{k} {n:,}" for k, n in sorted(counts.items()))
    from audit.words import counted

    total = sum(counts.values())
    return (f"{counted(total, 'event', spec=',')} whose lifecycle:transition is not complete "
            f"({told}) {'was' if total == 1 else 'were'} not {done}: an activity's completion "
            "stands for it (a payout logged as start and complete is one payout)")


@dataclass(frozen=True)
class SameTime:
    """Of a log's cases: those logging events of different activities at the same time
    whose order `EVENT_ORDER` decides by the ids the log states (`same_time`)."""

    cases: int
    """Cases with two events of different activities at one time taken by event id: ids
    the log states, in another order than their source lists them (of such events with ids
    the import derived, taken as their source lists them, two of one source are not
    counted; nor two the ids put in the source's order, which pm4py takes too)."""
    of: int
    """The log's cases."""
    example: tuple[str, str, str, str]
    """Case, the two activities (in the order taken) and their time, of the least case."""


def same_time(frame: pd.DataFrame) -> SameTime | None:
    """The cases of `frame` (a canonical log; those events a command reads) with events of
    different activities at the same time taken in the order of their event ids
    (`EVENT_ORDER`), not their order in the file, which pm4py and most mining tools keep.
    Two such events whose ids the import derived (`DERIVED_ID`) are taken in the order
    their source lists them (`ties_in_file_order`), as pm4py takes them, and are not
    counted; nor are two whose ids are in the order their source lists them (`source:file`,
    `source:row`, where the log has them: a1 Approve then a2 Pay at one time, as the file
    lists them), taken as pm4py takes them too. None where there are none (or `frame` has
    no event ids)."""
    if not len(frame) or EVENT_ID not in frame.columns:
        return None
    order = event_order(frame)
    # (only the columns read, taken: not a copy of every column of the log)
    read = [c for c in (CASE, ACTIVITY, TIMESTAMP, EVENT_ID, SOURCE_FILE, SOURCE_ROW)
            if c in frame.columns]
    taken = frame[read] if order is None else frame[read].take(order)
    cases = pd.factorize(taken[CASE])[0]
    activities = pd.factorize(taken[ACTIVITY])[0]
    stamps = pd.DatetimeIndex(taken[TIMESTAMP])  # (as 64-bit integers: no object per event)
    times, known = stamps.asi8, ~np.asarray(stamps.isna(), dtype=bool)
    tied = np.flatnonzero((cases[1:] == cases[:-1]) & (times[1:] == times[:-1])
                          & known[1:] & (activities[1:] != activities[:-1]))
    if not len(tied):
        return None
    if SOURCE_ROW in taken.columns:  # (else nothing is taken in the file's order)
        derived = derived_ids(taken[EVENT_ID].take(np.r_[tied, tied + 1]))
        tied = tied[~(derived[:len(tied)] & derived[len(tied):])]
        # Only pairs the ids take otherwise than the source lists them (by file, then row):
        # those the source lists in the ids' order pm4py takes in the same order.
        rows = pd.to_numeric(taken[SOURCE_ROW], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
        first_row, then_row = rows[tied], rows[tied + 1]
        listed_after = then_row > first_row
        if SOURCE_FILE in taken.columns:
            files = taken[SOURCE_FILE].astype("string").fillna("").to_numpy(dtype=object)
            first_file, then_file = files[tied], files[tied + 1]
            listed_after = (then_file > first_file) | ((then_file == first_file)
                                                       & listed_after)
        tied = tied[~listed_after.astype(bool)]
        if not len(tied):
            return None
    # (the example: of the least case by its text, its first such pair)
    named = taken[CASE].iloc[tied].astype("string").to_numpy(dtype=object, na_value="")
    first = int(tied[min(range(len(tied)), key=lambda i: (str(named[i]), i))])
    labels = taken[ACTIVITY].iloc[[first, first + 1]].astype(str).tolist()
    stamp = pd.Timestamp(taken[TIMESTAMP].iloc[first])
    return SameTime(len(np.unique(cases[tied])), int(cases.max()) + 1,
                    (str(taken[CASE].iloc[first]), labels[0], labels[1], stamp.isoformat()))


def same_time_told(tie: SameTime) -> str:
    """The warning of `discover` and `compare` for the cases `same_time` counted: their
    order is the event ids', where pm4py's is the file's, so their variants and edges may
    differ from pm4py's on the same file."""
    from audit.safety import shown_on_one_line
    from audit.words import counted

    case, one, other, at = tie.example
    share = 100 * tie.cases / tie.of if tie.of else 0.0
    percent = ("less than 1%" if 0 < share < 1 else "more than 99%" if 99 < share < 100
               else f"{share:.0f}%")
    return (f"{tie.cases:,} of {counted(tie.of, 'case', spec=',')} ({percent}) "
            f"log{'s' if tie.cases == 1 else ''} events of different activities at the same "
            f"time (e.g. case {shown_on_one_line(repr(case))}: "
            f"{shown_on_one_line(repr(one))} and {shown_on_one_line(repr(other))} at {at}): "
            "they are taken in the order of the event ids the log states, as check takes "
            "them, not in the order the file lists them, which pm4py keeps, so these cases' "
            "variants, directly-follows edges and start and end activities can differ from "
            "pm4py's (events whose ids refund-audit derived, where the log states none, as "
            "in most XES files and every OCEL log, are taken in the file's order)")


def compact_ids(frame: pd.DataFrame) -> None:
    """The REPEATED_IDS columns of `frame` held as categories too, in place, as `compact`
    holds the coded ones: each id once and a 32-bit code per event (a 1M-case log of 7.3M
    events: the five columns are 670 of its 1,400 MB as strings, about 240 MB as codes).
    The values read back, their order and their sort are the same. For the check, which
    only reads the ids; correlation, which makes them, works on text.

    From COMPACT_IN_TWO_FROM rows, two columns are coded at a time, in two threads (Arrow's
    and numpy's work on large arrays releases the GIL): at 1M cases 2.3 -> 1.4 s, with one
    more column's temporaries held meanwhile (max RSS about 100 MB higher there, below the
    import's peak). Each column is put back into the frame by this thread, as soon as it is
    coded: the threads only read the columns they were given, never the frame."""
    columns: dict[str, pd.Series] = {}
    for name in REPEATED_IDS:
        if name not in frame.columns:
            continue
        values = frame[name]
        if isinstance(values.dtype, pd.CategoricalDtype):  # e.g. a Parquet dictionary column
            categories = values.cat.categories
            if ascending_text(categories) or not pd.api.types.is_string_dtype(categories):
                continue  # coded so already, or ids that are not text: left as they are
            values = values.astype("string")  # text categories in another order: recoded
        columns[name] = values
    if len(columns) < 2 or len(frame) < COMPACT_IN_TWO_FROM:
        for name in list(columns):
            coded = _coded(columns.pop(name))
            if coded is not None:
                frame[name] = coded
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2, thread_name_prefix="compact_ids") as pool:
        futures = {name: pool.submit(_coded, columns.pop(name)) for name in list(columns)}
        for name, future in futures.items():  # in column order, as each is done
            done = future.result()
            if done is not None:
                frame[name] = done
            del done


def order_key(values: pd.Series) -> pd.Series:
    """What to order, group and compare rows by in place of text column `values`: a coded
    column's codes where its categories ascend as their texts (as `compact` and
    `compact_ids` make them; nullable integers, missing where the text is), so that the
    order, the runs of equal neighbours and the missing values are those of the texts
    without a string per row; any other column as text."""
    if isinstance(values.dtype, pd.CategoricalDtype) and ascending_text(
            values.cat.categories):
        codes = values.cat.codes.to_numpy()
        return pd.Series(pd.arrays.IntegerArray(codes.astype(np.int32), codes < 0),
                         index=values.index, copy=False)
    return values.astype("string")


def category_text(values: pd.Categorical | pd.Series) -> Any:
    """``values.astype("string")`` of a categorical with Arrow string categories, taken in
    Arrow by the codes (pandas goes through a Python object per value: 0.6 s for 1M ids).
    Other categoricals through pandas."""
    import pyarrow as pa

    own = values if isinstance(values, pd.Categorical) else values.array
    data = getattr(own.categories.array, "_pa_array", None)
    if not isinstance(own, pd.Categorical) or data is None or not (
            pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return values.astype("string")
    data = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
    codes = np.asarray(own.codes)
    text = pd.arrays.ArrowStringArray(
        data.take(pa.array(codes, mask=codes < 0)).cast(pa.large_string()))
    if text.dtype != pd.api.types.pandas_dtype("string"):  # as astype("string") gives
        return values.astype("string")
    if isinstance(values, pd.Series):
        return pd.Series(text, index=values.index, name=values.name, copy=False)
    return text


def ascending_text(values: pd.Index) -> bool:
    """Whether `values` are Arrow strings that ascend strictly (compared in Arrow: pandas'
    is_monotonic_increasing would build, and keep, a hash table of them)."""
    import pyarrow.compute as pc

    data = getattr(values.array, "_pa_array", None)
    if data is None or data.null_count:
        return False
    data = data.combine_chunks() if hasattr(data, "combine_chunks") else data
    n = len(data)
    return n < 2 or bool(pc.all(pc.less(data.slice(0, n - 1), data.slice(1))).as_py())


def _code_dtype(categories: int) -> type[np.signedinteger[Any]]:
    """The integer type pandas holds the codes of this many categories in (its
    `coerce_indexer_dtype`), so that codes made in it are not converted again."""
    for dtype in (np.int8, np.int16, np.int32):
        if categories < np.iinfo(dtype).max:
            return dtype
    return np.int64


def _trusted_categorical(codes: np.ndarray, categories: pd.Index, *,
                         ordered: bool | None = False) -> pd.Categorical:
    """``pd.Categorical.from_codes(codes, categories=categories)`` where the categories are
    known distinct and the codes known in range (both by construction): pandas checks the
    categories' distinctness by a hash table of them (0.07-0.09 s for 0.5M ids, and kept
    until `_without_hash_table`) and the codes' range by two passes over them. Its checked
    path where its fast one (a private constructor) is not there.

    The categories are marked distinct as pandas' check would leave them (its cached
    `is_unique`): else the first caller that asks builds the hash table for the answer and
    keeps it (at 1M cases the rules' main process held about 100 MiB more so, at the run's
    memory peak)."""
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    if fast is None:  # pragma: no cover - every pandas this project supports has it
        return pd.Categorical.from_codes(codes, categories=categories, ordered=ordered)
    made = pd.Categorical.from_codes(codes, dtype=fast(categories, ordered=ordered),
                                     validate=False)
    cache = getattr(made.categories, "_cache", None)
    if isinstance(cache, dict):
        cache.setdefault("is_unique", True)
    return made


def _coded(values: pd.Series) -> pd.Categorical | None:
    """Text values as a category sorted by code point (None: not all text, left as is)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(values.dtype, pd.StringDtype):
        if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) not in (
                "string", "empty"):
            return None
        values = values.astype("string")
    array = arrow_array(values)
    if array.null_count == 0 and len(array) > 1 and not bool(
            pc.any(pc.less(array.slice(1), array.slice(0, len(array) - 1))).as_py()):
        # Sorted already (a log's case ids): a code per run, nothing hashed.
        starts = run_starts(array)
        codes = np.cumsum(starts, dtype=np.int32) - 1
        categories = pd.Index(pd.arrays.ArrowStringArray(
            array.filter(pa.array(starts)).cast(pa.large_string())))
        # (Codes 0..runs-1 by construction: pandas' range check of 7M codes skipped.)
        return _without_hash_table(_trusted_categorical(codes, categories))
    # Runs of equal neighbours (a case's ticket and order, a payout's charge, the gaps
    # between payouts): where there are few, only each run's first value is hashed and its
    # code repeated over the run (a 1M-case log: 1M values hashed instead of 7.3M).
    starts = _runs_of_equal(array)
    runs = int(starts.sum())
    hashed = array.filter(pa.array(starts)) if runs <= len(array) // 2 else array
    encoded = pc.dictionary_encode(hashed)
    del hashed
    order = np.asarray(pc.array_sort_indices(encoded.dictionary), dtype=np.int64)
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1  # a missing value
    indices = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False),
                         dtype=np.int64)
    codes = rank[indices]
    if runs <= len(array) // 2:
        codes = np.repeat(codes, np.diff(np.append(np.flatnonzero(starts), len(array))))
    del array
    categories = pd.Index(pd.arrays.ArrowStringArray(
        encoded.dictionary.take(pa.array(order)).cast(pa.large_string())))
    del encoded
    # (Ranks of the dictionary's values or -1 by construction: no range check.)
    return _without_hash_table(_trusted_categorical(codes, categories))


def _runs_of_equal(values: pa.Array) -> np.ndarray:
    """`run_starts` where values may be missing: a missing value equals a missing one."""
    import pyarrow.compute as pc

    n = len(values)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        differ = np.asarray(pc.fill_null(pc.not_equal(values.slice(1), values.slice(0, n - 1)),
                                         True).to_numpy(zero_copy_only=False), dtype=bool)
        if values.null_count:
            missing = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            differ &= ~(missing[1:] & missing[:-1])
        starts[1:] = differ
    return starts


_Coded = TypeVar("_Coded", pd.Categorical, pd.Series)


def _without_hash_table(values: _Coded) -> _Coded:
    """`values` with its categories' hash table forgotten: pandas builds one to check that
    categories are distinct, or to look them up, and keeps it as long as the categories (a
    Python string and a slot per category: about 70 MB for 1M ids, 100 MB for the evidence
    columns at 1M cases). Built again where a lookup needs it; only a memory hint (pandas
    keeps it in the index's private cache)."""
    categories = values.categories if isinstance(values, pd.Categorical) else \
        values.cat.categories
    cache = getattr(categories, "_cache", None)
    if isinstance(cache, dict):
        cache.pop("_engine", None)
    return values


def own_categories(frame: pd.DataFrame) -> None:
    """Each categorical column of `frame` (a part of a log) without the categories none of
    its rows holds, in place: a part cut from a coded log would otherwise carry, and ship,
    every id of the whole log (1M case ids at 1M cases). Codes still ascend as the texts."""
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = _without_hash_table(_used_categories(frame[name]))


def _used_categories(values: pd.Series) -> pd.Series:
    """`values` without the categories no event has (left by a filter or a concat), so that
    the categories of a coded column are the texts it holds, as after compacting text."""
    codes = values.cat.codes.to_numpy()
    count = len(values.cat.categories)
    if not count:
        return values
    used = np.bincount(codes[codes >= 0], minlength=count) > 0
    if used.all():
        return values
    # Renumbered here, in order (remove_categories would hash every category to do so).
    renumber = np.append(np.cumsum(used) - 1, -1).astype(np.int32)
    kept = _trusted_categorical(renumber[codes], values.cat.categories[used],
                                ordered=values.cat.ordered)
    return pd.Series(kept, index=values.index, name=values.name, copy=False)


def concat_coded(frames: list[pd.DataFrame], *, release: bool = False) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)`` where each frame's coded columns were
    compacted on their own: a coded (or evidence) column categorical in every frame holding
    it gets the union of their categories (sorted, as `compact` sorts them) and each frame's
    codes renumbered into it, so the result keeps the codes instead of making every value an
    object (rows of a frame without the column are missing). The codes are joined here, not
    by pandas' concat, which hashes every frame's categories to compare them (80 files at 1M
    cases, 200k receipt names a column: 3 s).

    The other columns are concatenated one at a time (what pandas' concat of the frames
    gives for that column). With `release`, the caller gives the frames up: `frames` is
    emptied and each column freed once joined, so that the files and the whole log are not
    held side by side (1.1 GB at 1M cases).

    One column at a time: this is near the import's memory peak, and joining two at a time
    in two threads (`in_two`, the text columns in one) took 2.5-2.9 -> 1.6-2.2 s at 1M cases
    but the process's peak there 2,580 -> 2,700-2,740 MiB (probably each thread's freed
    memory kept by its own allocator heap; not verified), and gained less in whole imports
    (2.7 and 2.6 -> 2.8 and 2.0 s: within their noise)."""
    import pyarrow as pa

    evidence = dict.fromkeys(c for f in frames for c in evidence_columns(f))
    order = _concat_columns(frames)
    lengths = [len(f) for f in frames]
    # Each column's Series in every frame (None where a frame lacks it): the same arrays.
    # With `release` the list of frames is emptied (the caller's only reference to them)
    # and each column's Series given up as its join starts: no delete of each column from
    # 80 frames, each of which rebuilds a frame's blocks.
    holding: dict[str, list[pd.Series | None]] = {
        name: [f[name] if name in f.columns else None for f in frames] for name in order}
    if release:
        frames.clear()
    coded = {name for name in [*CODED, *evidence] if name in holding and all(
        isinstance(c.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(
            c.cat.categories) for c in holding[name] if c is not None)}
    # (a column of text in some frames and codes in others: compacted by the caller)

    def join(name: str) -> Any:
        given = holding.pop(name)
        if name in coded:
            return _joined_codes(given, lengths)
        column = _joined_column(name, given, lengths)
        return one_chunk_text(column) if release else column

    columns = {}
    for name in order:
        columns[name] = join(name)
        if release:
            pa.default_memory_pool().release_unused()
    return pd.DataFrame(columns, columns=list(order), copy=False)


def _joined_codes(holding: list[pd.Series | None], lengths: list[int]) -> pd.Categorical:
    """One coded column of the frames (None where a frame lacks it: missing there), each
    frame's categories text: their union, sorted, and each frame's codes renumbered into it
    (see concat_coded).

    The union by one sort of all the frames' categories (each frame's are distinct, most
    are in one frame only: evidence ids): equal neighbours are one category, a category's
    code is how many distinct ones sort before it. No hash table: a unique, a lookup of every
    frame's categories in it and pandas' check of the union took 0.40-0.47 s a column of 0.5M
    evidence ids at 1M cases (now 0.06-0.10 s). Each frame's codes renumbered straight into
    the joined codes, in the type pandas keeps them in (no array per frame joined after, no
    conversion): 46-55 -> 18-30 ms a column of few categories (7.3M events)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    own = [h.cat.categories if h is not None else None for h in holding]
    given = pa.chunked_array(
        [arrow_array(c).cast(pa.large_string()) for c in own if c is not None],
        type=pa.large_string()).combine_chunks()
    order = np.asarray(pc.array_sort_indices(given), dtype=np.int64)
    ascending = given.take(pa.array(order))
    first = run_starts(ascending)  # the first of its text in the sort
    distinct = ascending.filter(pa.array(first))
    del ascending
    union = pd.Index(pd.arrays.ArrowStringArray(distinct), dtype="string")
    dtype = _code_dtype(len(distinct))
    at = np.empty(len(given), dtype=dtype)
    at[order] = (np.cumsum(first) - 1).astype(dtype)
    del order, first
    codes = np.empty(sum(lengths), dtype=dtype)
    start = end = 0  # of the frame's rows in codes
    k = 0  # where the frame's categories start in `given`
    for values, length, categories in zip(holding, lengths, own, strict=True):
        start, end = end, end + length
        if values is None or categories is None:
            codes[start:end] = -1
            continue
        renumber = np.append(at[k:k + len(categories)], -1).astype(dtype, copy=False)
        k += len(categories)
        # (a missing value's code -1 takes renumber's last entry, -1, as an index from the end)
        np.take(renumber, values.cat.codes.to_numpy(), out=codes[start:end], mode="wrap")
    return _without_hash_table(_trusted_categorical(codes, union))


def _joined_column(name: str, holding: list[pd.Series | None],
                   lengths: list[int]) -> pd.Series:
    """One column of the frames (None where a frame lacks it: missing there), with the
    dtype the concat of the whole frames gives it: Arrow text every frame holds is joined
    as Arrow chunks, a column of one numpy or extension dtype in every frame by a concat of
    the Series, any other by a concat of one-column frames, as pandas' concat of the frames
    makes it."""
    import pyarrow as pa

    present = [h for h in holding if h is not None]
    if len(present) == len(holding) and present:
        dtype = present[0].dtype
        if all(h.dtype == dtype for h in present):
            if all(isinstance(h.array, pd.arrays.ArrowStringArray) for h in present):
                chunks = [chunk if chunk.type == pa.large_string()
                          else chunk.cast(pa.large_string())
                          for h in present for chunk in _chunks(h.array.__arrow_array__())]
                text = pd.Series(pd.arrays.ArrowStringArray(
                    pa.chunked_array(chunks, type=pa.large_string())), name=name, copy=False)
                if text.dtype == dtype:
                    return text
            joined = pd.concat(present, ignore_index=True)
            joined.name = name
            return joined
    parts = [h.to_frame(name) if h is not None else pd.DataFrame(index=pd.RangeIndex(length))
             for h, length in zip(holding, lengths, strict=True)]
    return pd.concat(parts, ignore_index=True)[name]


def _chunks(array: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    import pyarrow as pa

    return list(array.chunks) if isinstance(array, pa.ChunkedArray) else [array]


def _concat_columns(frames: list[pd.DataFrame]) -> list[str]:
    """The columns of ``pd.concat(frames)``: every frame's, in order of first appearance
    (what the concat of the frames' empty heads gives, without making 80 of them)."""
    return list(dict.fromkeys(name for frame in frames for name in frame.columns))


def one_chunk_text(values: pd.Series) -> pd.Series:
    """An Arrow string column of several chunks (one per file) as one: copied here, one
    column at a time while the files are given up, instead of by every later take (Arrow
    joins a chunked string array's chunks first, each time), and not beside everything the
    correlation holds (at 1M cases the event ids are 255 MB)."""
    import pyarrow as pa

    if not isinstance(values.array, pd.arrays.ArrowStringArray):
        return values
    chunked = pa.array(values.array)
    if not isinstance(chunked, pa.ChunkedArray) or chunked.num_chunks < 2:
        return values
    joined = pd.Series(pd.arrays.ArrowStringArray(chunked.combine_chunks()), index=values.index,
                       name=values.name, copy=False)
    return joined if joined.dtype == values.dtype else values


def filled_text(values: pd.Series, fill: str) -> pd.Series:
    """``values.astype("string").fillna(fill)``, except that a categorical column stays one
    (`fill` added to its categories): the text of 7M coded events is not made (about 0.3 s
    and 130 MB a column at 1M cases)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        if not values.hasnans:
            return values
        if fill not in values.cat.categories:
            values = values.cat.add_categories([fill])
        return values.fillna(fill)
    return values.astype("string").fillna(fill)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its categorical columns as strings (a shallow copy), for libraries that
    want text columns: pm4py refuses a categorical activity column."""
    coded = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not coded:
        return frame
    return frame.astype(dict.fromkeys(coded, "string"))


def sorted_frame(owned: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """``frame.sort_values(keys, kind="stable").reset_index(drop=True)`` for the one frame in
    `owned`, built a column at a time and dropping each sorted column from the input, so that
    a large log is not held twice (if the caller keeps no other reference to the frame)."""
    frame = owned[-1]
    order = stable_order(frame, keys)
    if np.array_equal(order, np.arange(len(order))):
        owned.pop()
        return frame.reset_index(drop=True)
    return taken_frame(owned, order)


def taken_frame(owned: list[pd.DataFrame], positions: np.ndarray) -> pd.DataFrame:
    """``frame.take(positions).reset_index(drop=True)`` for the one frame in `owned`, a
    column at a time, each column dropped from the input once taken (see sorted_frame)."""
    import pyarrow as pa

    frame = owned.pop()
    names = list(frame.columns)
    columns: dict[str, pd.Series] = {}
    for name in names:
        columns[name] = frame[name].take(positions).reset_index(drop=True)
        del frame[name]
        pa.default_memory_pool().release_unused()  # the column's text, if Arrow held it
    return pd.DataFrame(columns, columns=names, copy=False)


IN_TWO_FROM = 200_000
"""Rows from which `in_two` (`taken_each`) works in two threads."""

_T = TypeVar("_T")


def in_two(work: Callable[[str], _T], names: list[str], rows: int, *,
           heavy: Collection[str] = ()) -> Iterator[tuple[str, _T]]:
    """``(name, work(name))`` for each of `names`, in their order. From IN_TWO_FROM `rows`,
    in two threads: the `heavy` names one after another in one, the others one after another
    in the other, so that two heavy ones (each holding a large copy while it works) are never
    held at once; else all in this thread. For work on a column at a time that is mostly
    Arrow's and numpy's on large arrays, which release the GIL. `work` must touch only what
    it is given (a dict it pops its own entry from, never a frame another thread changes).

    Where a piece of work fails or the caller stops early, the work not yet started is
    cancelled (the error is raised once the one running in the other thread is done). The
    threads are joined before this returns, so that none is left beside a later fork."""
    if len(names) < 2 or rows < IN_TWO_FROM:
        for name in names:
            yield name, work(name)
        return
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    one = ThreadPoolExecutor(1, thread_name_prefix="in_two-heavy")
    other = ThreadPoolExecutor(1, thread_name_prefix="in_two")
    futures: deque[tuple[str, Future[_T]]] = deque()
    try:
        futures.extend((name, (one if name in heavy else other).submit(work, name))
                       for name in names)
        while futures:
            name, future = futures.popleft()
            done = future.result()
            del future  # the result is held by the caller only, once it has it
            yield name, done
            del done
    finally:
        for _, future in futures:
            future.cancel()
        one.shutdown()
        other.shutdown()


_U = TypeVar("_U")


def at_once(first: Callable[[], _T], second: Callable[[], _U], *, rows: int) -> tuple[_T, _U]:
    """``(first(), second())``. From IN_TWO_FROM `rows`, `first` runs in a second thread
    while `second` runs in this one: for work that is mostly Arrow's and numpy's kernels,
    which release the GIL, on what the other does not change. The thread is joined before
    this returns, also where `second` fails (then `first`'s error, if any, is not raised)."""
    if rows < IN_TWO_FROM:
        return first(), second()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="at_once") as pool:
        future = pool.submit(first)
        try:
            result = second()
        except BaseException:
            future.cancel()
            raise
        return future.result(), result


def taken_each(arrays: dict[str, tuple[Any, np.ndarray]], *, in_threads: bool = True,
               ) -> Iterator[tuple[str, Any]]:
    """``array.take(positions)`` for each name -> (pandas array, positions) of `arrays`, by
    name in `arrays`' order. `arrays` is emptied as the takes start, so that each array is
    given up once taken (where the caller holds no other reference to it).

    With `in_threads`, two at a time from IN_TWO_FROM positions (`in_two`): the Arrow text
    arrays, the largest, one after another in one thread, the others in the other (Arrow's
    and numpy's takes release the GIL). Both threads' memory is held meanwhile, and more of
    it than their takes' (about 300 MB at correlation's last take of a 1M-case log, probably
    each thread's freed pages kept by its own allocator heap): at a run's memory peak, one
    at a time (`in_threads=False`)."""
    def take(name: str) -> Any:
        values, positions = arrays.pop(name)
        return values.take(positions)

    names = list(arrays)
    if not in_threads:
        for name in names:
            yield name, take(name)
        return
    rows = max((len(positions) for _, positions in arrays.values()), default=0)
    text = [name for name, (values, _) in arrays.items()
            if isinstance(values, pd.arrays.ArrowStringArray)]
    yield from in_two(take, names, rows, heavy=text)
