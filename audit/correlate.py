"""Correlation: ticket <-> order <-> charge <-> refund into one refund case per ticket.

Imported exports carry provisional case ids (each record's own key). A ticket is a case, named
by its ticket id (`<system>:<id>` where two ticketing systems hold that id: two tickets, never
merged; a refund naming it joins the one its order tells, else none, recorded); it takes
the charges of the order it names and the refunds that name it (or, naming no ticket, refund
a charge of its order). Refunds no ticket claims are kept as cases of
their own, named by their first refund id (`payout:<id>` where a ticket has that id), so the
evidence rules flag them (never dropped).
A charge that two tickets refund belongs to both cases (its event is repeated, with the case
appended to its id). Charges no case refers to are sales, not refund cases: left out, counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit import canonical as C
from audit.memory import return_free_memory
from audit.sources.config import SourcesConfig

CORRELATION_FILE = "correlation.csv"
"""The file the notes name for the correlation problems: check's (`import` names its own,
LOG.correlation.csv beside the log, in their place: audit.store.side_files)."""


UNLISTED = ("(not listed by discover or compare: `import` writes them to LOG.correlation.csv, "
            f"`check` to {CORRELATION_FILE})")
"""How `discover` and `compare`, which write no correlation file, end a correlation note
that says `(see correlation.csv)` (`unlisted_notes`)."""


def unlisted_notes(notes: list[str]) -> None:
    """`notes` of an import read by `discover` or `compare` (which correlate an export's
    records as check does, but write no correlation file) pointing to where the problems
    are listed instead of to a correlation.csv these commands do not write."""
    notes[:] = [note.replace(f"(see {CORRELATION_FILE})", UNLISTED) for note in notes]


@dataclass
class Correlation:
    log: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    unresolved: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The correlation problems: file, row, field, value, reason (the events are kept):
    references to ids no export contains, refunds stating another order than their
    charge's (field `order:id`, the order stated), refunds naming a ticket of another order
    than their charge's (field `ticket:id`), and refunds naming no ticket whose order
    several tickets name (field `order:id`, that order: kept as payout cases), and payout
    cases whose first refund id is a ticket's (field `payment:refund_id`: named
    `payout:<id>`), and refunds naming a ticket id that several ticketing systems hold
    whose order tells none of them apart (field `ticket:id`: kept as payout cases)."""
    left_out: int = 0
    """Charge events that no ticket or refund refers to (sales, not refund cases), counting
    charge events without a charge id (nothing can refer to them)."""
    left_out_by_file: dict[str, int] = field(default_factory=dict)
    """`left_out` by the events' `source:file` (the inputs' labels), but for the events
    taken back from a canonical log (see correlate's `inputs`)."""
    left_out_by_input: dict[int, int] = field(default_factory=dict)
    """Of `left_out`, the events taken back from a canonical log, by that log's input."""
    repeated_by_file: dict[str, int] = field(default_factory=dict)
    """The events correlation added by repeating a charge's event in each further case it
    belongs to (a charge refunded in two cases is an event in each: one added), by the
    events' `source:file`, but for the events taken back from a canonical log."""
    repeated_by_input: dict[int, int] = field(default_factory=dict)
    """Of those added, the events taken back from a canonical log, by that log's input."""


def _mask(values: pd.Series) -> np.ndarray:
    """A boolean Series (missing = False) as a numpy mask."""
    return values.fillna(False).to_numpy(dtype=bool)


def _present(values: pd.Series) -> pd.Series:
    """The values of `values` that are not missing, in order, on a range index: where
    only the values matter, ``values.dropna()`` of a Series indexed by texts (the orders
    by ticket id) is slow: numpy, given pandas' boolean mask, asks the Series for
    attributes, which pandas looks for among its labels, hashing them all (a million
    ticket ids at 1M cases: 0.25 s of CPU)."""
    return pd.Series(values.array, dtype=values.dtype).dropna()


def _positions_in(values: pd.Series, labels: pd.Index) -> np.ndarray:
    """Each value's position among `labels` (unique), -1 where missing or not among them.
    Arrow's hash lookup: pandas' isin/map on Arrow strings walk the labels in Python."""
    found = C.arrow_array(values)
    at = pc.index_in(found, value_set=C.arrow_array(labels).cast(found.type))
    return np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


NARROW_FROM = 16
"""`_found_in` narrows the labels first where they outnumber the values this many times."""


def _found_in(values: pd.Series, labels: pd.Index) -> np.ndarray:
    """``_positions_in(values, labels) >= 0``: whether each value is among `labels` (a
    missing value where a label is missing, as Arrow's lookup matches them). Where the
    labels far outnumber the values (a few thousand payout names against a million ticket
    ids), the labels are looked up among the values first and only those found kept, so
    that no hash table of every label is built (0.21 -> 0.01 s at 1M cases)."""
    if len(labels) < NARROW_FROM * max(len(values), 1):
        return _positions_in(values, labels) >= 0
    found = C.arrow_array(values)
    held = C.arrow_array(labels).cast(found.type)
    held = held.filter(pc.is_in(held, value_set=found))
    return np.asarray(pc.is_in(found, value_set=held).to_numpy(zero_copy_only=False),
                      dtype=bool)


def _lookup(values: pd.Series, table: pd.Series) -> pd.Series:
    """``values.map(table)`` (string values and labels; missing where not found)."""
    at = _positions_in(values, table.index)
    return pd.Series(table.array.take(at, allow_fill=True), dtype="string")


def correlate(log: pd.DataFrame, config: SourcesConfig, *, release: bool = False,
              known_tickets: pd.Series | None = None,
              known_orders: pd.Series | None = None,
              known_charges: pd.DataFrame | None = None,
              known_ticket_orders: pd.Series | None = None,
              inputs: np.ndarray | None = None) -> Correlation:
    """Assign refund cases to events read from ticketing and payment exports. With
    `release`, the caller gives `log` up: each of its columns is dropped once taken into
    the correlated log (the frame is left without columns), so that a large log is not
    held twice. `known_tickets`: ticket id -> case of a log correlated before (a canonical
    log read beside the exports, `cases_of`); a refund naming such a ticket, which no
    ticketing export here contains, joins that case instead of one of its own.
    `known_orders`: order id -> ticket case of that log (`cases_of(..., ticketed=True,
    several=True)`: missing where several of its ticket cases name the order); a refund
    naming no ticket, or a charge, whose order no ticket of the exports names joins that
    case (correlating by order), and a refund's order is claimed by one ticket only where
    the log's ticket cases naming it are that ticket's.
    `known_charges`: what that log knows of the charges it holds (`charges_of`): a refund
    naming no ticket whose charge no payment export here contains takes the charge's order
    from the log (where the refund states none); a refund that no ticket claims then joins
    the log's payout case of its charge, if it has one. So a refund gets the case it would
    get with the log's exports read at once with these.
    `known_ticket_orders`: ticket id -> the order of its case in that log (`ticket_orders`):
    a ticket the log holds names that order, whatever its new updates state (at once, a
    ticket's order is the first it states).
    `inputs`: per event of `log`, the input (an index) of a canonical log it was taken back
    from as its record stated it (`restated`), -1 for an export's record. Those left out
    are counted by input, not by `source:file`: that names the export the log's event was
    once read from, which an export of this run may share.

    The events are taken in (provisional case, time, file, row) order, as `import_sources`
    sorts them, whatever order `log` is in (the import leaves them unsorted when correlation
    follows): "first" below means first in that order.

    Column-wise throughout: the events of each kind are found as positions, their cases
    computed from the few columns that decide them, and every column of the log is taken
    once, straight into the correlated log's (case, time, file, row) order."""
    names = [name for name in log.columns if name not in C.STATED.values()]
    # The stated cases compared in a second thread while the events are sorted (both read
    # the log, neither changes it; both mostly Arrow's kernels, which release the GIL).
    stated_case, base = C.at_once(
        partial(_stated_case, log, config),
        partial(C.stable_order, log, [C.CASE, C.TIMESTAMP, C.SOURCE_FILE, C.SOURCE_ROW]),
        rows=len(log))
    handed = [base]  # (handed over: _assign frees it once read)
    del base
    assigned = _assign(log, config, release=release, known_tickets=known_tickets,
                       known_orders=known_orders, known_charges=known_charges,
                       known_ticket_orders=known_ticket_orders, inputs=inputs,
                       sorted_by=handed)
    if release:  # memory freed while deciding the cases, before the log's keys are taken
        return_free_memory()
    source, notes, left_out = assigned.source, assigned.notes, assigned.left_out
    left_out_by_file, left_out_by_input = assigned.left_out_by_file, assigned.left_out_by_input
    repeated_by_file, repeated_by_input = assigned.repeated_by_file, assigned.repeated_by_input
    keys = pd.DataFrame({C.CASE: assigned.case, C.EVENT_ID: assigned.event_id}, copy=False)
    start, stop = assigned.tickets
    cases = assigned.case
    kinds = pd.Series([problem["kind"] for problem in assigned.problems], dtype=object)
    unresolved = pd.DataFrame(assigned.problems,  # (their kind, counted below, not a column)
                              columns=["file", "row", "field", "value", "reason"])
    del assigned
    replaced = (C.CASE, C.EVENT_ID, C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID)
    key_arrays = {name: (log[name].array, source) for name in (
        C.SOURCE_SYSTEM, C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID, C.REFUND_ID, C.TIMESTAMP,
        C.SOURCE_FILE, C.SOURCE_ROW)}
    if release:  # the correlated log takes the keys' values: each freed once taken
        for name in replaced:
            if name in key_arrays:
                del log[name]
    # The keys taken one after another in a second thread while the cases are ranked here
    # (see _case_ranks; once what decided them is freed): each reads only its own arrays.
    taken_keys, case_rank = C.at_once(
        partial(_taken_list, key_arrays),
        partial(_case_ranks, cases.iloc[:start], cases.iloc[start:stop], cases.iloc[stop:]),
        rows=len(source))
    del cases
    for name, values in taken_keys:
        keys[name] = values
    del taken_keys
    is_source = keys[C.SOURCE_SYSTEM].isin([*config.ticketing, *config.payments]) \
        .fillna(False).astype(bool)
    owned = [keys]  # handed over: its id columns are replaced (or given per case)
    del keys
    # The correlated log's order, sorted in a second thread while the cases' ids are given
    # (both mostly in Arrow's kernels; the sort reads only its own frame of the keys).
    # By the cases' ranks where known (integers sort and group faster than texts: the same
    # order, a missing case last as Arrow places a missing text).
    by = [C.CASE, C.TIMESTAMP, C.SOURCE_FILE, C.SOURCE_ROW]
    sort_keys = pd.DataFrame({name: owned[0][name].array for name in by}, copy=False)
    if case_rank is not None:
        sort_keys[C.CASE] = pd.arrays.IntegerArray(case_rank, case_rank < 0)
    order, (keys, per_case, stated) = C.at_once(
        partial(C.stable_order, sort_keys, by),
        partial(_fill_case_ids, owned, is_source=is_source, config=config,
                case_codes=case_rank),
        rows=len(is_source))
    del is_source, sort_keys, case_rank
    keys = keys[[name for name in replaced if name not in per_case]]
    taken = source.take(order)
    del source
    if release:  # the keys no longer needed, before the log is taken
        return_free_memory()
    arrays: dict[str, tuple[Any, np.ndarray]] = {
        name: (per_case[name], order) if name in per_case
        else (keys[name].array, order) if name in replaced
        else (log[name].array, taken) for name in names}
    # What the records stated where correlation gave another id (see STATED): the stated
    # case by the events' positions in the input log, the others in the keys' order.
    arrays[C.STATED[C.CASE]] = (stated_case, taken)
    for name, values in stated.items():
        arrays[C.STATED[name]] = (values, order)
    del keys, per_case, stated, stated_case
    if release:
        for name in names:
            if name in log.columns:
                del log[name]
    # One column at a time: this is the import's memory peak (the correlated log taken
    # beside what is left of the log read), where two threads' takes held about 300 MB more.
    columns = dict(C.taken_each(arrays, in_threads=False))
    out = pd.DataFrame(columns, columns=[*names, *C.STATED.values()], copy=False)
    _fill_ticket_currency(out, config)
    counts = kinds.value_counts().to_dict()
    for kind, what in (("unknown", "reference(s) to ids no export contains"),
                       ("crossed", "refund(s) stating another order than their charge's"),
                       ("other_ticket", "refund(s) naming a ticket of another order than "
                                        "their charge's"),
                       ("ambiguous", "refund(s) whose order several tickets name"),
                       ("split", "refund(s) naming a ticket id that several ticketing "
                                 "systems hold, which no order tells apart"),
                       ("clash", "payout case(s) whose first refund id is a ticket's id")):
        if counts.get(kind):
            notes.append(f"correlation: {counts[kind]} {what} (see {CORRELATION_FILE})")
    return Correlation(out, notes, unresolved, left_out, left_out_by_file, left_out_by_input,
                       repeated_by_file, repeated_by_input)


def _taken_list(arrays: dict[str, tuple[Any, np.ndarray]]) -> list[tuple[str, Any]]:
    """`C.taken_each` of `arrays`, one after another (for a second thread: see correlate)."""
    return list(C.taken_each(arrays, in_threads=False))


def _fill_ticket_currency(log: pd.DataFrame, config: SourcesConfig) -> None:
    """A ticket's currency on its updates that state an amount and no currency, in place
    (`log` correlated: in (case, time, file, row) order). A ticketing export gives each
    update stating an amount its ticket's currency (the ticket's field, or the first its
    updates state in that export): an update in another export (a page, a month) than the
    one stating the currency lacks it. The ticket's currency is the first its ticketing
    events state, in the log's order; only the ticket's own events are read (a ticket
    case's payments keep theirs), and an update stating a currency keeps it."""
    if not len(log) or not {C.CURRENCY, C.AMOUNT, C.SOURCE_SYSTEM, C.CASE} <= set(log.columns):
        return
    currency = log[C.CURRENCY]
    blank = currency.isna().to_numpy(dtype=bool)
    lacking = blank & log[C.AMOUNT].notna().to_numpy(dtype=bool)
    if not lacking.any():  # (before the source systems' test: 7M events at 1M cases)
        return
    ticketing = _mask(log[C.SOURCE_SYSTEM].isin(list(config.ticketing)))
    lacking &= ticketing
    if not lacking.any():
        return
    codes, _ = pd.factorize(log[C.CASE])
    codes = np.asarray(codes, dtype=np.int64)  # (-1: an event without a case)
    stating = np.flatnonzero(ticketing & ~blank & (codes >= 0))
    first = np.full(int(codes.max()) + 1, len(log), dtype=np.int64)
    np.minimum.at(first, codes[stating], stating)  # each case's first position stating one
    rows = np.flatnonzero(lacking & (codes >= 0))
    given = first[codes[rows]]
    rows, given = rows[given < len(log)], given[given < len(log)]
    if not len(rows):
        return
    source = np.arange(len(log), dtype=np.int64)
    source[rows] = given
    log[C.CURRENCY] = pd.Series(currency.array.take(source), index=log.index)
    _refuse_beyond_units(log, rows, given)


def _refuse_beyond_units(log: pd.DataFrame, rows: np.ndarray, given: np.ndarray) -> None:
    """InputError where an amount given its ticket's currency by `_fill_ticket_currency`
    (at `rows`, the currency from the events at `given`) has more decimals than that
    currency has minor units, or is too large for a float to keep them: its export stated
    no currency, so the import could not judge it (5000.5 in the page of a JPY ticket's
    approval, the ticket's currency in the page before). Before, it was imported as
    5000.5 JPY and shown rounded, where the same update in one export with its ticket's
    creation is quarantined. Column-wise: only the rows given a currency are looked at."""
    from audit.errors import InputError
    from audit.ingest.normalise import inexact_reason, minor_unit_faults, sub_minor_reason

    amounts = log[C.AMOUNT].take(rows).to_numpy(dtype="float64", na_value=np.nan)
    currencies = pd.Series(log[C.CURRENCY].take(rows).array)
    off, large = minor_unit_faults(amounts, currencies)
    bad = np.flatnonzero(off | large)
    if not len(bad):
        return
    first, by = int(rows[bad[0]]), int(given[bad[0]])
    code = str(currencies.iloc[bad[0]])
    why = sub_minor_reason(code) if off[bad[0]] else inexact_reason(code)
    raise InputError(
        f"amount {float(amounts[bad[0]])!r} of a ticket in {code} (its currency stated at "
        f"{log[C.SOURCE_FILE].iloc[by]} row {log[C.SOURCE_ROW].iloc[by]}, its export "
        f"states none): {why}" + (f"; {len(bad) - 1} more such amount(s)" if len(bad) > 1
                                  else ""),
        file=str(log[C.SOURCE_FILE].iloc[first]), row=int(log[C.SOURCE_ROW].iloc[first]),
        field=C.AMOUNT)


def _chunks(values: Any) -> pa.ChunkedArray:
    """A column's text as Arrow, without a copy where pandas holds it in Arrow already."""
    array = getattr(getattr(values, "array", values), "_pa_array", None)
    if isinstance(array, pa.ChunkedArray) and (pa.types.is_string(array.type)
                                               or pa.types.is_large_string(array.type)):
        return array
    return pa.chunked_array([C.arrow_array(pd.Series(values, dtype="string"))])


def _differs(mine: pa.ChunkedArray, theirs: pa.ChunkedArray) -> np.ndarray:
    """Per row, whether two text columns differ, a missing value differing from a text."""
    if theirs.type != mine.type:
        theirs = theirs.cast(mine.type)
    unequal = pc.not_equal(mine, theirs)
    differs = pc.if_else(pc.is_null(unequal), pc.xor(pc.is_valid(mine), pc.is_valid(theirs)),
                         unequal)
    return np.asarray(differs.to_numpy(zero_copy_only=False), dtype=bool)


def _stated(own: Any, given: Any = None, *, at: np.ndarray | None = None) -> pd.Categorical:
    """A STATED column (see canonical.STATED): per event, what its record stated (`own`)
    where correlation gave it another value (`given`; or, given `at`, at those positions),
    the empty text where the record stated none; missing where the two agree (most events).
    Coded, with the narrowest codes its few values allow."""
    mine = _chunks(own)
    if at is None:
        at = np.flatnonzero(_differs(mine, _chunks(given)))
    # Only the texts stated are taken: where a record stated none (a ticket's updates name
    # no charge, their case has one: millions at 1M cases), the code of "" is set.
    valid = np.asarray(pc.is_valid(mine).to_numpy(zero_copy_only=False), dtype=bool)[at]
    named = at[valid]
    encoded = pc.dictionary_encode(mine.take(pa.array(named)).combine_chunks()) \
        if len(named) else pa.array([], pa.large_string()).dictionary_encode()
    texts = encoded.dictionary.cast(pa.large_string())
    empty = pc.index(texts, "").as_py()  # (an id stated as "": none read so, but kept)
    if not valid.all() and empty < 0:
        empty = len(texts)
        texts = pa.concat_arrays([texts, pa.array([""], pa.large_string())])
    # The categories sorted by code point, as `compact` sorts them.
    order = np.asarray(pc.array_sort_indices(texts), dtype=np.int64)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = np.full(len(mine), -1, dtype=np.min_scalar_type(-max(len(order), 1)))
    codes[named] = rank[np.asarray(encoded.indices.to_numpy(zero_copy_only=False),
                                   dtype=np.int64)]
    if not valid.all():
        codes[at[~valid]] = rank[empty]
    categories = pd.Index(pd.arrays.ArrowStringArray(texts.take(pa.array(order))),
                          dtype="string")
    return pd.Categorical.from_codes(codes, categories=categories)


def _stated_case(log: pd.DataFrame, config: SourcesConfig) -> pd.Categorical:
    """The STATED case of each event of `log` (input order): its provisional case where
    that is not the one `restated` takes by default (a ticket's update: its ticket id; a
    refund: its refund id; else its charge id). Missing for events of no export. Compared
    column with column: no text per event made."""
    system = log[C.SOURCE_SYSTEM]
    is_ticket = _mask(system.isin(list(config.ticketing)))
    is_pay = _mask(system.isin(list(config.payments)))
    del system
    case = _chunks(log[C.CASE])
    refund = _chunks(log[C.REFUND_ID])
    is_refund = np.asarray(pc.is_valid(refund).to_numpy(zero_copy_only=False), dtype=bool)
    differs = np.where(is_ticket, _differs(case, _chunks(log[C.TICKET_ID])),
                       np.where(is_refund, _differs(case, refund),
                                _differs(case, _chunks(log[C.CHARGE_ID]))))
    return _stated(case, at=np.flatnonzero(differs & (is_ticket | is_pay)))


def restated(log: pd.DataFrame, config: SourcesConfig) -> tuple[np.ndarray, np.ndarray]:
    """A correlated log's events of exports (a canonical log read beside new exports) taken
    back, in place, as their records stated them, to be correlated again together with the
    new records, as reading all their exports at once would: each id that correlation gave
    (STATED) is the stated one again, the case the reader's provisional one, and a charge's
    copies in several cases (`<id>@<case>`) have the record's id again (the import drops
    all but one as repeats). The STATED columns are dropped. Each column is replaced in
    turn, the old one freed (a 1M-case log: 130 MB a column, not five at once).

    Returns, per event, whether it was taken back (an event of an export, in a log that
    keeps what its records stated), and the positions of the events whose id changed (a
    copy's). A log written before the STATED columns were kept is left as it is, nothing
    taken back: beside new exports, its cases are joined, not correlated again."""
    columns = list(C.STATED.values())
    changed = np.empty(0, dtype=np.int64)
    if not all(name in log.columns for name in columns):
        return np.zeros(len(log), dtype=bool), changed
    system = log[C.SOURCE_SYSTEM]
    is_ticket = _mask(system.isin(list(config.ticketing)))
    source = is_ticket | _mask(system.isin(list(config.payments)))
    del system
    if source.any():
        changed = _restate_copies(log, source)
        for name in (C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID):
            log[name] = pd.arrays.ArrowStringArray(_restate(log, name, source))
        # The provisional case: the default one (see _stated_case), else the one stated.
        def text(name: str) -> pa.ChunkedArray:
            return _chunks(log[name]).cast(pa.large_string())

        refund = text(C.REFUND_ID)
        default = pc.if_else(pa.array(is_ticket), text(C.TICKET_ID),
                             pc.if_else(pc.is_valid(refund), refund, text(C.CHARGE_ID)))
        del refund
        default = pc.if_else(pa.array(source), default, text(C.CASE))
        log[C.CASE] = pd.arrays.ArrowStringArray(_restate(log, C.CASE, source, default))
        del default
    for name in columns:
        del log[name]
    return source, changed


def _restate(log: pd.DataFrame, name: str, source: np.ndarray,
             given: pa.ChunkedArray | None = None) -> pa.ChunkedArray:
    """Column `name` (or `given`) with the values its events' records stated (STATED[name])
    where they differ, for the events of exports (`source`): "" stated is none."""
    values = _chunks(log[name]) if given is None else given
    stated = log[C.STATED[name]]
    at = np.flatnonzero(_mask(stated.notna()) & source)
    if not len(at):
        return values
    if isinstance(stated.dtype, pd.CategoricalDtype):  # (no text per event of the column)
        picked = pd.Series(stated.cat.categories.take(stated.cat.codes.to_numpy()[at]),
                           dtype="string")
    else:
        picked = pd.Series(stated.to_numpy()[at], dtype="string")
    texts = _chunks(picked)
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, texts.type), texts)
    mask = np.zeros(len(values), dtype=bool)
    mask[at] = True
    return pc.replace_with_mask(values, pa.array(mask), texts.combine_chunks().cast(values.type))


def copied_from(event_id: str, case: str) -> str | None:
    """The id of the record that event `event_id` of `case` is a copy of, where it is one
    (a charge in several cases: "<event id>@<case>", as `_assign` names the copies)."""
    base, _, suffix = event_id.rpartition("@")
    return base if base and suffix == case else None


def _restate_copies(log: pd.DataFrame, source: np.ndarray) -> np.ndarray:
    """The ids of a charge's copies in several cases (`<id>@<case>`, the suffix the event's
    case) back to the record's id, in place: one replacement of the column. Returns the
    positions of the ids changed."""
    ids = log[C.EVENT_ID]
    named = pc.fill_null(pc.match_substring(_chunks(ids), "@"), False)
    copied = np.flatnonzero(source & np.asarray(named.to_numpy(zero_copy_only=False),
                                                dtype=bool))
    if not len(copied):
        return np.empty(0, dtype=np.int64)
    texts = ids.take(copied).astype(str).tolist()
    cases = log[C.CASE].take(copied).astype(str).tolist()
    bases = [copied_from(text, own) for text, own in zip(texts, cases, strict=True)]
    mine = np.array([base is not None for base in bases], dtype=bool)
    mask = np.zeros(len(ids), dtype=bool)
    mask[copied[mine]] = True
    column = _chunks(ids)
    log[C.EVENT_ID] = pd.arrays.ArrowStringArray(pc.replace_with_mask(
        column, pa.array(mask), pa.array([base for base in bases if base is not None],
                                         type=column.type)))
    changed: np.ndarray = copied[mine]
    return changed


def _strings(log: pd.DataFrame, name: str, positions: np.ndarray) -> pd.Series:
    """The `name` values at `positions`, as strings, indexed 0..n-1."""
    return pd.Series(log[name].array.take(positions), dtype="string")


@dataclass
class _Assigned:
    """Each event of the correlated log, in the order of its parts (other events, tickets,
    refunds, charge copies): its position in the input log, its case and its event id."""

    source: np.ndarray
    case: pd.Series
    event_id: pd.Series
    notes: list[str]
    problems: list[dict[str, object]]
    left_out: int
    left_out_by_file: dict[str, int]
    left_out_by_input: dict[int, int]
    repeated_by_file: dict[str, int]
    repeated_by_input: dict[int, int]
    tickets: tuple[int, int] = (0, 0)
    """Where the ticket events are among them (start, stop): in runs of their cases."""


def _assign(log: pd.DataFrame, config: SourcesConfig, *, release: bool = False,
            known_tickets: pd.Series | None = None,
            known_orders: pd.Series | None = None,
            known_charges: pd.DataFrame | None = None,
            known_ticket_orders: pd.Series | None = None,
            inputs: np.ndarray | None = None,
            sorted_by: list[np.ndarray]) -> _Assigned:
    """The cases of the events (see correlate), decided column-wise. With `release` (see
    correlate), the log's provisional case and event id columns are dropped once read.
    `sorted_by`: the log's (provisional case, time, file, row) order (`C.stable_order`),
    handed over in a list (emptied here, so that it is freed with the other temporaries)."""
    base = sorted_by.pop()
    system = log[C.SOURCE_SYSTEM]  # compared as it is (codes, when coded): no text per event
    is_ticket = _mask(system.isin(list(config.ticketing)))[base]
    is_pay = _mask(system.isin(list(config.payments)))[base]
    del system
    is_refund = is_pay & log[C.REFUND_ID].notna().to_numpy(dtype=bool)[base]
    other_pos = base[~is_ticket & ~is_pay]
    ticket_pos = base[is_ticket]
    refund_pos = base[is_refund]
    charge_pos = base[is_pay & ~is_refund]
    # What decided the parts, freed: everything below is held until the ids are taken.
    del base, is_ticket, is_pay, is_refund
    by_order = config.ticket_to_charge == "order"

    # The first order id each ticket and each charge states (ids sorted, missing ids dropped).
    ticket_ids = _strings(log, C.TICKET_ID, ticket_pos)
    # One ticket id in two ticketing systems (Zendesk's ticket 101 and a ServiceNow number
    # 101) is two tickets: each keyed, and its case named, `<system>:<id>` (see _apart).
    ticket_ids, ticket_pos, apart = _apart(log, ticket_ids, ticket_pos)
    charge_ids = _strings(log, C.CHARGE_ID, charge_pos)
    (order_of_ticket, (several, ticket, stated)), (order_of_charge, _) = C.at_once(
        partial(_first_order, log, ticket_ids, ticket_pos, several=True),
        partial(_first_order, log, charge_ids, charge_pos),
        rows=len(ticket_pos) + len(charge_pos))
    if known_ticket_orders is not None and len(known_ticket_orders):
        earlier = _lookup(pd.Series(order_of_ticket.index, dtype="string"),
                          known_ticket_orders)
        order_of_ticket = pd.Series(
            earlier.fillna(order_of_ticket.reset_index(drop=True)).array,
            index=order_of_ticket.index, dtype="string", name=order_of_ticket.name)
        del earlier
    claimant_of_order, named_by_several = _sole_claimants(order_of_ticket)

    # The charges' codes and the pairs by order, which the refunds do not decide, worked
    # out in a second thread while the refunds' cases are.
    charge_keys, refunds = C.at_once(
        partial(_charge_keys, charge_ids, order_of_ticket, order_of_charge, by_order=by_order,
                known_orders=known_orders),
        partial(_refund_cases, log, refund_pos, order_of_ticket, order_of_charge,
                claimant_of_order, named_by_several=named_by_several, by_order=by_order,
                known_tickets=known_tickets,
                known_orders=known_orders, known_charges=known_charges, apart=apart),
        rows=len(charge_pos) + len(refund_pos))
    copy_pos, copy_case, shared, left_pos = _charge_copies(charge_pos, charge_ids, refunds,
                                                           charge_keys)
    del charge_keys
    left_out = len(left_pos)
    left_out_by_input: dict[int, int] = {}
    if inputs is not None:  # a canonical log's events taken back: counted by its input
        back = inputs[left_pos]
        left_out_by_input = {int(k): int(n) for k, n in zip(
            *np.unique(back[back >= 0], return_counts=True), strict=True)}
        left_pos = left_pos[back < 0]
        del back
    left_out_by_file = {str(file): int(n) for file, n in pd.Series(
        log[C.SOURCE_FILE].array.take(left_pos)).value_counts(sort=False).items() if n}
    del left_pos
    repeated_by_file, repeated_by_input = _by_file_and_input(log, _repeats(copy_pos), inputs)
    del charge_ids, order_of_ticket, order_of_charge, claimant_of_order, named_by_several

    notes = list(refunds.notes)
    if len(apart):
        bare = pd.unique(apart.to_numpy())
        first = str(min(str(b) for b in bare))
        keys = sorted(str(k) for k in apart.index[_mask(apart.eq(first))])
        notes.insert(0, f"correlation: {len(bare):,} ticket id(s) are held by several "
                     "ticketing systems: each system's ticket is a case of its own, named "
                     f"<system>:<id>, never merged (the first: {first}, cases "
                     f"{', '.join(keys)}); a refund naming such an id joins the one whose "
                     "order is its charge's (or the one it states), else none")
    if several:  # (a ticket stating several in one export: its reader's note says so)
        notes.append(f"correlation: {several:,} ticket(s) state several orders (in different "
                     "exports, or rows of a log); each is correlated by the first (the "
                     "charges of the others, and their refunds that name no ticket, are not "
                     f"in its case): the first, ticket {ticket}: {', '.join(stated)}")
    if left_out:
        notes.append(f"correlation: {left_out} charge event(s) that no ticket or refund refers "
                     "to are sales, not refund cases: left out")
    source = np.concatenate([other_pos, ticket_pos, refund_pos, copy_pos])
    copies = pd.Series(pd.arrays.ArrowStringArray(copy_case), dtype="string")
    del copy_case
    tickets = (len(other_pos), len(other_pos) + len(ticket_pos))
    case = pd.concat([_strings(log, C.CASE, other_pos), ticket_ids, refunds.case, copies],
                     ignore_index=True)
    problems = refunds.problems
    del ticket_ids, refunds, other_pos, ticket_pos, refund_pos, charge_pos
    if release:  # the provisional cases, read: not held beside the event ids taken next
        del log[C.CASE]
    # The copies' ids apart from the others': only they may get a suffix, so only they are
    # rewritten (not a second array of every id); the two parts stay two chunks.
    eids = C.arrow_array(log[C.EVENT_ID])
    if not pa.types.is_large_string(eids.type):  # as the "string" dtype holds them
        eids = eids.cast(pa.large_string())
    if release:
        del log[C.EVENT_ID]
    head = eids.take(source[:len(source) - len(copy_pos)])
    tail = eids.take(copy_pos)
    del eids
    if shared.any():  # the copies of a charge in several cases: "<event id>@<case>"
        where = np.flatnonzero(shared)
        suffixed = pc.binary_join_element_wise(
            tail.take(where), C.arrow_array(copies).take(where).cast(tail.type),
            pa.scalar("@", type=tail.type))
        del where
        tail = pc.replace_with_mask(tail, pa.array(shared), suffixed)
    del copies
    ids = pa.chunked_array([head, tail], type=pa.large_string())
    event_id = pd.Series(pd.arrays.ArrowStringArray(ids), dtype="string")
    return _Assigned(source, case, event_id, notes, problems, left_out, left_out_by_file,
                     left_out_by_input, repeated_by_file, repeated_by_input, tickets)


def _case_ranks(head: pd.Series, sorted_part: pd.Series, tail: pd.Series,
                ) -> np.ndarray | None:
    """Each case of ``pd.concat([head, sorted_part, tail])`` as an integer ranked as its
    text sorts (by code point, as Arrow compares: equal texts equal ranks), -1 where
    missing; None where `sorted_part` (a correlation's ticket keys, 5.3M events of the 7.3M
    at 1M cases) does not come sorted without missing values. Its runs give its distinct
    cases, already in order, with no hash of each; only `head` and `tail` (the other,
    refund and copied charge events) are looked up among them, and the few cases of theirs
    no ticket has (payout cases) placed among them by a binary search of all at once. So
    correlation sorts its events and groups them by case on integers, not on texts (a
    sort and a factorize of 7.3M texts at 1M cases)."""
    keys = C.sortable_text(sorted_part)
    if keys is None:
        return None
    keys = keys.cast(pa.large_string())
    starts = C.run_starts(keys)
    if pc.any(pc.greater(keys.slice(0, len(keys) - 1), keys.slice(1))).as_py():
        return None
    run = np.cumsum(starts, dtype=np.int32) - 1  # (32 bits: fewer cases than events)
    labels = keys.filter(pa.array(starts))  # distinct, ascending
    del keys, starts
    rest = pa.chunked_array([C.arrow_array(part).cast(pa.large_string())
                             for part in (head, tail)], type=pa.large_string())
    rest = rest.combine_chunks() if rest.num_chunks != 1 else rest.chunk(0)
    at = np.asarray(pc.fill_null(pc.index_in(rest, value_set=labels), -1).to_numpy(
        zero_copy_only=False), dtype=np.int32)
    valid = np.asarray(rest.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    extra = np.flatnonzero((at < 0) & valid)
    coded = pc.dictionary_encode(rest.take(pa.array(extra)))
    others = coded.dictionary
    by_text = np.asarray(pc.sort_indices(others).to_numpy(), dtype=np.int64)
    others = others.take(pa.array(by_text))  # distinct, ascending, none among the labels
    # Each other case's place among the labels: how many labels sort before it, found by
    # a binary search of all of them at once (about 20 steps at a million labels).
    low = np.zeros(len(others), dtype=np.int64)
    high = np.full(len(others), len(labels), dtype=np.int64)
    while len(others) and (low < high).any():
        open_ = low < high
        middle = (low + high) // 2
        probe = labels.take(pa.array(np.minimum(middle, len(labels) - 1)))
        below = np.asarray(pc.less(probe, others).to_numpy(zero_copy_only=False),
                           dtype=bool) & open_
        low = np.where(below, middle + 1, low)
        high = np.where(open_ & ~below, middle, high)
    other_rank = (low + np.arange(len(others))).astype(np.int32)
    label_rank = (np.arange(len(labels)) + np.searchsorted(
        low, np.arange(len(labels)), side="right")).astype(np.int32)
    place = np.empty(len(others), dtype=np.int64)  # dictionary code -> sorted position
    place[by_text] = np.arange(len(others), dtype=np.int64)
    rest_rank = np.where(at >= 0, label_rank[np.maximum(at, 0)], np.int32(-1))
    del at
    rest_rank[extra] = other_rank[place[np.asarray(coded.indices.to_numpy(
        zero_copy_only=False), dtype=np.int64)]]
    ranks = np.empty(len(head) + len(run) + len(tail), dtype=np.int32)
    ranks[:len(head)] = rest_rank[:len(head)]
    np.take(label_rank, run, out=ranks[len(head):len(head) + len(run)])
    ranks[len(head) + len(run):] = rest_rank[len(head):]
    return ranks


def _repeats(positions: np.ndarray) -> np.ndarray:
    """The `positions` given again after their first (a charge's copies in its further
    cases: `_charge_copies`), sorted."""
    ordered: np.ndarray = np.sort(positions)
    again: np.ndarray = ordered[1:][ordered[1:] == ordered[:-1]]
    return again


def _by_file_and_input(log: pd.DataFrame, positions: np.ndarray, inputs: np.ndarray | None
                       ) -> tuple[dict[str, int], dict[int, int]]:
    """The events at `positions` counted by their `source:file`, but for those taken back
    from a canonical log (`inputs` >= 0: see correlate), counted by that log's input."""
    by_input: dict[int, int] = {}
    if inputs is not None and len(positions):
        back = inputs[positions]
        by_input = {int(k): int(n) for k, n in zip(
            *np.unique(back[back >= 0], return_counts=True), strict=True)}
        positions = positions[back < 0]
    if not len(positions):
        return {}, by_input
    by_file = {str(file): int(n) for file, n in pd.Series(
        log[C.SOURCE_FILE].array.take(positions)).value_counts(sort=False).items() if n}
    return by_file, by_input


def _apart(log: pd.DataFrame, ticket_ids: pd.Series, positions: np.ndarray,
           ) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """The ticket events' keys (`ticket_ids`, the events at `positions` in the events'
    order) with each ticket id that the events of several ticketing systems hold (a
    Zendesk ticket 101 and a ServiceNow or Jira ticket numbered 101: two tickets) made
    `<system>:<id>` (`zendesk:101`, `servicenow:101`), only where they clash, as a payout
    case sharing a ticket's name is `payout:<id>`: each is a case of its own, never merged.

    Returns the keys and positions (where some were renamed, re-sorted by key, each key's
    events in their order: the keys come in runs, as `_first_by` reads them) and the
    renamed keys -> their ticket id (empty where none clash: the keys and positions as
    given). Column-wise: the systems are compared as neighbours within each id's run (a
    hash of the pairs only where the ids do not come sorted); only the clashing events are
    renamed."""
    none = pd.Series([], dtype="string")
    if len(ticket_ids) < 2:
        return ticket_ids, positions, none
    system = log[C.SOURCE_SYSTEM]
    if isinstance(system.dtype, pd.CategoricalDtype):
        codes = np.asarray(system.cat.codes.to_numpy()[positions], dtype=np.int64)
        names = pd.Index(system.cat.categories.astype(str))
    else:
        found, names = pd.factorize(pd.Series(system.array.take(positions)))
        codes = np.asarray(found, dtype=np.int64)
        names = pd.Index(np.asarray(names).astype(str))
    del system
    if codes.min() == codes.max():  # one ticketing system (the usual run): nothing to compare
        return ticket_ids, positions, none
    ids = C.arrow_array(ticket_ids)
    sorted_runs = ids.null_count == 0 and not pc.any(pc.greater(
        ids.slice(0, len(ids) - 1), ids.slice(1))).as_py()
    if sorted_runs:
        starts = np.flatnonzero(np.r_[True, np.asarray(pc.not_equal(
            ids.slice(0, len(ids) - 1), ids.slice(1)).to_numpy(zero_copy_only=False),
            dtype=bool)])
        several = np.minimum.reduceat(codes, starts) != np.maximum.reduceat(codes, starts)
        if not several.any():
            return ticket_ids, positions, none
        lengths = np.diff(np.r_[starts, len(ids)])
        clash = np.repeat(several, lengths)
    else:
        pairs = pd.DataFrame({"id": ticket_ids.reset_index(drop=True), "code": codes})
        pairs = pairs.dropna().drop_duplicates()
        clashing = pd.unique(pairs.loc[pairs["id"].duplicated(), "id"].to_numpy())
        if not len(clashing):
            return ticket_ids, positions, none
        clash = _mask(ticket_ids.reset_index(drop=True).isin(clashing))
    at = np.flatnonzero(clash)
    bare = ids.take(pa.array(at)).cast(pa.large_string())
    prefix = pa.array(names.to_numpy(dtype=object)[codes[at]], type=pa.large_string())
    named = pc.binary_join_element_wise(prefix, bare, pa.scalar(":", pa.large_string()))
    keys = pc.replace_with_mask(ids.cast(pa.large_string()), pa.array(clash), named)
    keys_series = pd.Series(pd.arrays.ArrowStringArray(keys), dtype="string")
    order = C.stable_order(pd.DataFrame({"key": keys_series}), ["key"])
    renamed = pd.DataFrame({"key": pd.Series(pd.arrays.ArrowStringArray(named)),
                            "id": pd.Series(pd.arrays.ArrowStringArray(bare))}) \
        .drop_duplicates("key")
    apart = pd.Series(renamed["id"].to_numpy(), dtype="string",
                      index=pd.Index(renamed["key"].to_numpy(), dtype="string"))
    return (keys_series.take(order).reset_index(drop=True), positions[order],
            apart.sort_index())


def cases_of(log: pd.DataFrame, column: str, wanted: pd.Series, *,
             several: bool = False, ticketed: bool = False) -> pd.Series:
    """Each id of `column` (ticket, order, charge) among `wanted` that a correlated log's
    events carry -> the case they are in, for the ids whose events are all in one case
    (text, indexed by id); with `several`, the ids in several cases too, their case
    missing. With `ticketed`, only the events of the log's ticket cases are read (those
    with a ticket id: a payout case has none), as correlation asks which ticket names an
    order. Only the log's events holding a wanted id are read: a canonical log of
    millions of events beside a month's exports."""
    ids = pd.unique(wanted.dropna().astype(str).to_numpy())
    if len(ids):
        holding = C.text_isin(log[column], ids.tolist())
        if ticketed:
            holding &= _mask(log[C.TICKET_ID].notna())
        near = log.loc[holding, [column, C.CASE]]
    else:
        near = log.iloc[:0][[column, C.CASE]]
    pairs = pd.DataFrame({"id": near[column].astype("string"),
                          "case": near[C.CASE].astype("string")}).dropna().drop_duplicates()
    twice = pairs["id"].duplicated(keep=False)
    if several:  # each id once, its case missing where it has several
        pairs = pairs.assign(case=pairs["case"].mask(twice))[~pairs["id"].duplicated()]
    else:
        pairs = pairs[~twice]
    return pd.Series(pairs["case"].to_numpy(), dtype="string",
                     index=pd.Index(pairs["id"].to_numpy(), dtype="string"))


def charges_of(log: pd.DataFrame, refunds: pd.Series) -> pd.DataFrame:
    """`correlate`'s `known_charges`: each charge a refund of `refunds` (the charge ids the
    exports' refunds name) names that a correlated log (`log`, a canonical log read beside
    the exports) holds, indexed by charge id, with what correlating the log's exports
    together with this run's would have known of it (text, missing where the log cannot
    tell):

    - ``order``: the order of the charge, as its events in the log state it (each event
      carries its case's order: the charge's own where a ticket took it by its order);
      missing where they state none or several;
    - ``several``: whether they state several orders (the log's cases of the charge have
      different orders: which is the charge's, the log cannot tell);
    - ``payout``: the log's payout case of the charge (among its events without a ticket
      id), which a refund of the charge that no ticket claims joins."""
    ids = pd.unique(refunds.dropna().astype(str).to_numpy())
    near = log.loc[C.text_isin(log[C.CHARGE_ID], ids.tolist()),
                   [C.CHARGE_ID, C.ORDER_ID, C.TICKET_ID, C.CASE]] if len(ids) \
        else log.iloc[:0][[C.CHARGE_ID, C.ORDER_ID, C.TICKET_ID, C.CASE]]
    charge = near[C.CHARGE_ID].astype("string")
    held = pd.Index(pd.unique(charge.dropna().to_numpy()), dtype="string")
    orders = pd.DataFrame({"id": charge, "order": near[C.ORDER_ID].astype("string")}) \
        .dropna().drop_duplicates()
    twice = orders["id"].duplicated(keep=False)
    several = held.isin(pd.unique(orders.loc[twice, "id"].to_numpy()))
    orders = orders[~twice]
    payouts = cases_of(near.loc[_mask(near[C.TICKET_ID].isna())], C.CHARGE_ID, refunds)
    ids_held = pd.Series(held, dtype="string")
    return pd.DataFrame({
        "order": _lookup(ids_held, pd.Series(
            orders["order"].to_numpy(), dtype="string",
            index=pd.Index(orders["id"].to_numpy(), dtype="string"))).array,
        "several": np.asarray(several, dtype=bool),
        "payout": _lookup(ids_held, payouts).array}, index=held)


def ticket_orders(log: pd.DataFrame, wanted: pd.Series) -> pd.Series:
    """Each ticket among `wanted` that a correlated log (a canonical log read beside the
    exports) holds -> the order its events carry (each carries its case's: the first its
    ticket stated), for the tickets whose events carry one; `correlate`'s
    `known_ticket_orders`."""
    ids = pd.unique(wanted.dropna().astype(str).to_numpy())
    near = log.loc[C.text_isin(log[C.TICKET_ID], ids.tolist()), [C.TICKET_ID, C.ORDER_ID]] \
        if len(ids) else log.iloc[:0][[C.TICKET_ID, C.ORDER_ID]]
    pairs = pd.DataFrame({"id": near[C.TICKET_ID].astype("string"),
                          "order": near[C.ORDER_ID].astype("string")}).dropna() \
        .drop_duplicates()
    pairs = pairs[~pairs["id"].duplicated(keep=False)]
    return pd.Series(pairs["order"].to_numpy(), dtype="string",
                     index=pd.Index(pairs["id"].to_numpy(), dtype="string"))


def fill_from_cases(log: pd.DataFrame, earlier: pd.DataFrame) -> pd.DataFrame:
    """`log` (correlated) with its events in a case of `earlier` (a log correlated before,
    beside which `log`'s refunds joined its cases: see correlate's `known_tickets` and
    `known_orders`) given that case's ticket and charge id where they have none, as the
    case's own events carry them (the charge only where the case has one), and its order
    where it has one (a case's order is its first, and the case's events came first: a
    later update's other order does not move the new events). Only the events of `earlier`
    in `log`'s cases are read."""
    if not len(log):
        return log
    mine = pd.unique(log[C.CASE].dropna().astype(str).to_numpy()).tolist()
    earlier = earlier.loc[C.text_isin(earlier[C.CASE], mine),
                          [C.CASE, C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID]]
    if not len(earlier):
        return log
    cases = earlier[C.CASE].astype("string")
    inside = np.flatnonzero(_mask(log[C.CASE].astype("string").isin(cases.unique())))
    log = log.copy()
    case_of = log[C.CASE].astype("string").iloc[inside].reset_index(drop=True)
    for column in (C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID):
        pairs = pd.DataFrame({"case": cases, "value": earlier[column].astype("string")})
        pairs = pairs.dropna().drop_duplicates()
        if column == C.CHARGE_ID:  # a case of several charges gives none
            pairs = pairs[~pairs["case"].duplicated(keep=False)]
        pairs = pairs.drop_duplicates("case")
        given = _lookup(case_of, pd.Series(pairs["value"].to_numpy(), dtype="string",
                                           index=pd.Index(pairs["case"].to_numpy(),
                                                          dtype="string")))
        dtype = log[column].dtype if pd.api.types.is_string_dtype(log[column]) else "string"
        values = log[column].astype("string").astype(object).to_numpy(copy=True)
        own = values[inside]
        case_value = given.astype(object).to_numpy()
        # A case's order is its first (the log's, before these events): it replaces an
        # event's own; a ticket or charge only fills where an event has none.
        values[inside] = (np.where(pd.isna(case_value), own, case_value)
                          if column == C.ORDER_ID else
                          np.where(pd.isna(own), case_value, own))
        log[column] = pd.Series(values, index=log.index, dtype=dtype)
    return log


def _first_order(log: pd.DataFrame, ids: pd.Series, positions: np.ndarray, *,
                 several: bool = False) -> tuple[pd.Series, tuple[int, str, list[str]]]:
    """The first order id each of `ids` states (`_first_by`), its events at `positions`;
    with `several`, also the ids whose events state several (`_several_orders`), from
    the same orders taken (else none said)."""
    orders = _strings(log, C.ORDER_ID, positions)
    return _first_by(ids, orders), (_several_orders(ids, orders) if several else (0, "", []))


def _written_alike(named: list[str], held: list[pd.Index]) -> dict[str, str]:
    """Each of `named` (ticket ids no export holds: a refund's reference) -> the one ticket
    id among `held` it is written alike to, but for letter case, a leading '#' and leading
    zeros of a number (where exactly one is); the others left out. Only the few names'
    spellings are looked up (hash lookups), not every held id rewritten."""
    spellings: list[tuple[str, str]] = []
    for name in named:
        bare = name.lstrip("#").strip()
        forms = {bare, bare.upper(), bare.lower()}
        if bare.isdigit():
            forms.add(bare.lstrip("0") or "0")
        spellings.extend((name, form) for form in sorted(forms) if form != name and form)
    if not spellings:
        return {}
    looked = pd.Series([form for _, form in spellings], dtype="string")
    found: dict[str, set[str]] = {}
    for labels in held:
        if not len(labels):
            continue
        at = _found_in(looked, pd.Index(labels, dtype="string"))
        for (name, form), held_here in zip(spellings, at.tolist(), strict=True):
            if held_here:
                found.setdefault(name, set()).add(form)
    return {name: next(iter(ids)) for name, ids in found.items() if len(ids) == 1}


def _several_orders(ids: pd.Series, orders: pd.Series) -> tuple[int, str, list[str]]:
    """The tickets whose events (ticket ids `ids`, the orders they carry `orders`, in the
    events' order) carry several orders: an export gives each update its ticket's order in
    that export, so these state another in another export (a page, a month). How many, and
    the first of them (by id) with its orders in the events' order; (0, "", []) where none.
    Where the ids come in runs (the events are in provisional case order, a ticket's case
    its id), neighbours are compared in Arrow: no frame of millions of ids."""
    keys, values = C.arrow_array(ids), C.arrow_array(orders)
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count or keys.null_count:  # (most tickets' events state their order)
        both = pc.and_(pc.is_valid(keys), pc.is_valid(values))
        keys, values = keys.filter(both), values.filter(both)
    if len(keys) < 2:
        return 0, "", []
    before, after = keys.slice(0, len(keys) - 1), keys.slice(1)
    if pc.any(pc.greater(before, after)).as_py():  # not in runs: the pairs, made unique
        pairs = pd.DataFrame({"ticket": pd.Series(keys.to_pylist(), dtype="string"),
                              "order": pd.Series(values.to_pylist(), dtype="string")})
        pairs = pairs.drop_duplicates()
        tickets = pd.unique(pairs.loc[pairs["ticket"].duplicated(), "ticket"].to_numpy())
    else:
        other = pc.and_(pc.equal(before, after),
                        pc.not_equal(values.slice(0, len(values) - 1), values.slice(1)))
        at = np.flatnonzero(np.asarray(other.to_numpy(zero_copy_only=False), dtype=bool))
        if not len(at):
            return 0, "", []
        tickets = pd.unique(np.asarray(after.take(pa.array(at)).to_pylist(), dtype=object))
    if not len(tickets):
        return 0, "", []
    first = min(str(t) for t in tickets)
    mine = values.filter(pc.equal(keys, pa.scalar(first, keys.type))).to_pylist()
    return len(tickets), first, [str(v) for v in dict.fromkeys(mine)]


def _sole_claimants(order_of_ticket: pd.Series) -> tuple[pd.Series, pd.Index]:
    """The one ticket that names an order, for the orders exactly one ticket names: ticket
    ids indexed by order id, in ticket order; and the orders several tickets name, each
    once (for `_refund_cases`' ambiguous refunds). Counted on the orders' dictionary codes
    in Arrow and numpy (a groupby of the order ids made a Python string of each; pandas'
    duplicated of them, for the second, hashed them again: 0.2-0.3 s at 1M cases)."""
    orders = C.arrow_array(order_of_ticket).cast(pa.large_string())
    tickets = C.arrow_array(order_of_ticket.index).cast(pa.large_string())
    named = pc.is_valid(orders)
    orders, tickets = orders.filter(named), tickets.filter(named)
    coded = pc.dictionary_encode(orders)
    codes = np.asarray(coded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    counts = np.bincount(codes, minlength=len(coded.dictionary))
    several = pd.Index(pd.arrays.ArrowStringArray(
        coded.dictionary.filter(pa.array(counts >= 2))), dtype="string")
    del coded
    sole = pa.array(counts[codes] == 1) if len(codes) else pa.array([], pa.bool_())
    return pd.Series(pd.arrays.ArrowStringArray(tickets.filter(sole)), dtype="string",
                     index=pd.Index(pd.arrays.ArrowStringArray(orders.filter(sole)),
                                    dtype="string")), several


def _first_by(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values.groupby(keys, sort=True).first()``: per key (sorted, missing keys left out)
    its first non-missing value. Where the keys come sorted already (a ticket's events are
    its provisional case's, which the events are in order of), each key is a run of
    neighbours: the runs are found in Arrow and their first values in numpy, with no hash
    of every key (5.3M ticket events and 1M charge events at 1M cases)."""
    if len(keys) < 2 or bool(keys.isna().any()):
        return values.groupby(keys, sort=True).first()
    ids = C.arrow_array(keys)
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    before, after = ids.slice(0, len(ids) - 1), ids.slice(1)
    if pc.any(pc.greater(before, after)).as_py():  # not sorted (by code point, as Arrow is)
        return values.groupby(keys, sort=True).first()
    starts = np.r_[True, np.asarray(pc.not_equal(before, after).to_numpy(
        zero_copy_only=False), dtype=bool)]
    run = np.cumsum(starts) - 1
    given = np.flatnonzero(values.notna().to_numpy(dtype=bool))
    of_run = run[given]
    firsts = given[np.r_[True, of_run[1:] != of_run[:-1]]] if len(given) else given
    at = np.full(int(run[-1]) + 1, -1, dtype=np.int64)
    at[run[firsts]] = firsts
    return pd.Series(values.array.take(at, allow_fill=True), dtype="string",
                     index=pd.Index(keys.array.take(np.flatnonzero(starts)), dtype="string",
                                    name=keys.name), name=values.name)


@dataclass
class _Refunds:
    """What correlation decided for each refund event (in event order)."""

    case: pd.Series
    charge: pd.Series
    charge_at: np.ndarray
    """The position of the charge the refund names among the charge ids (the index of
    `_assign`'s order_of_charge), -1 where no payment export contains it."""
    problems: list[dict[str, object]]
    notes: list[str]


def _refund_cases(log: pd.DataFrame, positions: np.ndarray, order_of_ticket: pd.Series,
                  order_of_charge: pd.Series, claimant_of_order: pd.Series, *,
                  named_by_several: pd.Index, by_order: bool,
                  known_tickets: pd.Series | None = None,
                  known_orders: pd.Series | None = None,
                  known_charges: pd.DataFrame | None = None,
                  apart: pd.Series | None = None) -> _Refunds:
    """Each refund's case: the ticket it names, if a ticketing export has it (else that
    ticket's case in `known_tickets`, see correlate); else, naming no ticket, the one ticket
    that names its order: its charge's (from a payment export, or else from
    `known_charges`), the money trail; only where that is unknown, the order the refund
    states; else that order's case in `known_orders`; else the payout case of its
    charge in `known_charges`, where no payment export of the run holds the charge; else a
    payout case of its own, shared by the refunds of one charge and named by their first
    refund id in (time, source row) order. A refund stating an order other than its
    charge's is listed among the problems (field `order:id`), whichever case it joins.
    A refund naming a ticket id that several ticketing systems hold (`apart`: their keys,
    `<system>:<id>` -> the id, see `_apart`) joins the one of them whose order is its
    charge's (else the one it states), where exactly one is; else none: it is listed among
    the problems (field `ticket:id`) and kept as a payout case of its own, never given to
    one of them by a guess. `named_by_several`: the orders several tickets of the run
    name (`_sole_claimants`): a refund naming no ticket whose order is one of them is
    ambiguous."""
    named = _strings(log, C.TICKET_ID, positions)
    charge = _strings(log, C.CHARGE_ID, positions)
    has_named = _mask(named.notna())
    has_charge = _mask(charge.notna())
    known_at, charge_at = C.at_once(partial(_positions_in, named, order_of_ticket.index),
                                    partial(_positions_in, charge, order_of_charge.index),
                                    rows=2 * len(positions))
    known_ticket = known_at >= 0
    # The order of the ticket each refund names, where a ticketing export of the run holds
    # the ticket (not one only a log given holds: see below).
    ticket_order = pd.Series(order_of_ticket.array.take(known_at, allow_fill=True),
                             dtype="string")
    del known_at
    charge_known = charge_at >= 0
    case = named.where(known_ticket)
    # Naming a ticket id that several ticketing systems hold (see _apart): decided below.
    bare_ids = pd.Index(pd.unique((apart if apart is not None else pd.Series(
        [], dtype="string")).to_numpy()), dtype="string")  # (each id once)
    split = (_positions_in(named, bare_ids) >= 0 if len(bare_ids)
             else np.zeros(len(positions), dtype=bool))
    if known_tickets is not None and len(known_tickets):
        earlier = _lookup(named, known_tickets)  # (missing where not named, or not known)
        elsewhere = ~known_ticket & _mask(earlier.notna()) & ~split
        case[elsewhere] = earlier[elsewhere]
        known_ticket |= elsewhere
    undecided = np.zeros(len(positions), dtype=bool)
    split_notes: list[str] = []
    split_orders: dict[int, tuple[str | None, str, list[str]]] = {}
    if split.any():
        assert apart is not None
        # The order each such refund is told apart by: its charge's (from a payment export
        # of the run), else the one it states. Per refund, only these few.
        of_charge_here = pd.Series(order_of_charge.array.take(charge_at, allow_fill=True),
                                   dtype="string")
        evidence = of_charge_here.fillna(_strings(log, C.ORDER_ID, positions))
        keys_of: dict[str, list[str]] = {}
        for key, bare in zip(apart.index.tolist(), apart.tolist(), strict=True):
            keys_of.setdefault(str(bare), []).append(str(key))
        # (only these tickets' orders: not a Python object per ticket of the run)
        ticket_order_of = {
            str(key): None if value is None or pd.isna(value) else str(value)
            for key, value in zip(apart.index.tolist(), _lookup(
                pd.Series(apart.index, dtype="string"), order_of_ticket).astype(object)
                .tolist(), strict=True)}
        given = 0
        at_split = np.flatnonzero(split)
        for at_, stated_order, charge_order in zip(
                at_split.tolist(), evidence.iloc[at_split].astype(object).tolist(),
                of_charge_here.iloc[at_split].astype(object).tolist(), strict=True):
            tickets = sorted(keys_of[str(named.iat[at_])])
            told_by = None if stated_order is None or pd.isna(stated_order) \
                else str(stated_order)
            fits = [k for k in tickets
                    if told_by is not None and ticket_order_of.get(k) == told_by]
            if len(fits) == 1:
                case.iat[at_] = fits[0]
                known_ticket[at_] = True
                given += 1
            else:
                undecided[at_] = True
                by_charge = charge_order is not None and not pd.isna(charge_order)
                split_orders[at_] = (told_by, "charge's" if by_charge else "own", tickets)
        del of_charge_here, evidence
        if given:
            split_notes.append(f"correlation: {given:,} refund(s) naming a ticket id that "
                               "several ticketing systems hold joined the one whose order "
                               "is their charge's (or the one they state)")
    rest = ~known_ticket
    unknown_ticket = has_named & rest & ~undecided

    # A charge no payment export of the run holds, in a log correlated before (see
    # charges_of): its order and its payout case there, as correlating the log's exports
    # with the run's would have known them.
    in_log = np.zeros(len(positions), dtype=bool)
    unclear = np.zeros(len(positions), dtype=bool)
    log_order = payout = None
    if known_charges is not None and len(known_charges):
        at = np.where(charge_known, -1, _positions_in(charge, known_charges.index))
        in_log = at >= 0
        log_order, payout = (pd.Series(known_charges[name].array.take(at, allow_fill=True),
                                       dtype="string") for name in ("order", "payout"))
        unclear = in_log & np.asarray(known_charges["several"].to_numpy(dtype=bool)[at],
                                      dtype=bool)
        del at

    notes: list[str] = split_notes
    earlier_orders = known_orders is not None and len(known_orders) > 0
    # The order of each refund's charge (charge_at: its position among the charge ids; a
    # charge no payment export of the run holds: the log's order of it, if it tells one),
    # and the order the refund states: where both are known and differ, the refund is
    # suspect (recorded below), and its charge, the money trail, decides its case.
    own = _strings(log, C.ORDER_ID, positions)
    of_charge = pd.Series(order_of_charge.array.take(charge_at, allow_fill=True),
                          dtype="string")
    if log_order is not None:
        of_charge = of_charge.fillna(log_order)
    crossed = _mask(own.notna() & of_charge.notna() & own.ne(of_charge))
    # A refund naming a ticket whose order is not its charge's: the ticket it names keeps it
    # (as one stating another order), and it is recorded, unless the refund states that
    # order itself (then its own line above says it). (Beside a canonical log written
    # before the stated:* columns were kept, a ticket only the log holds is not compared.)
    other_ticket = _mask(ticket_order.notna() & of_charge.notna()
                         & ticket_order.ne(of_charge)) & ~(crossed & _mask(own.eq(ticket_order)))
    # The order each refund is claimed by (its charge's, else the one it states), for the
    # refunds that several tickets' orders leave unclaimed (below).
    claimed_by = of_charge.fillna(own) if by_order else None
    stated = own if by_order else None
    del own
    # Correlating by order, a refund naming no ticket and stating no order whose charge the
    # log's cases give several orders: which order, hence which ticket, the log cannot tell
    # (kept as a case of its own, below). Else the log's orders do not decide.
    if stated is not None:
        unclear &= rest & ~has_named & ~_mask(stated.notna())
    else:
        unclear[:] = False
    if stated is not None and (len(claimant_of_order) or earlier_orders):
        # Each refund's charge's order: charge_at is the charge's position among those ids.
        order = of_charge.fillna(stated)
        claimant = _lookup(order, claimant_of_order)
        if earlier_orders:
            # At once an order's claimants are the tickets of both months: the run's sole
            # claimant only where the log's ticket cases naming the order are its own (or
            # none); where no ticket of the run names it, the log's one case (missing where
            # several name it).
            assert known_orders is not None
            logged = _positions_in(order, known_orders.index) >= 0
            earlier = _lookup(order, known_orders)
            other = logged & ~_mask(earlier.eq(claimant)) & _mask(claimant.notna())
            claimant = claimant.mask(pd.Series(other))
            named_here = _mask(order.isin(_present(order_of_ticket).unique()))
            claimant = claimant.fillna(earlier.mask(pd.Series(named_here)))
            del logged, earlier, other, named_here
        by_claim = rest & ~has_named & _mask(claimant.notna()) & ~unclear
        case[by_claim] = claimant[by_claim]
        del order, claimant
    else:
        by_claim = np.zeros(len(positions), dtype=bool)
    del stated
    # A refund no ticket claims is in the payout case of its charge: the log's, if it has
    # one (at once, the refunds of one charge that no ticket claims share a case).
    if payout is not None:
        by_payout = rest & ~by_claim & ~unclear & _mask(payout.notna())
        case[by_payout] = payout[by_payout]
        by_claim = by_claim | by_payout
        del by_payout
    # A charge no input holds, whichever case the refund joins (the ticket it names, its
    # order's, or one of its own): listed, so that the charges to fetch can be told; or
    # one whose order the log cannot tell, of a refund no ticket it names decides: kept as
    # a case of its own. (Before, a refund naming its ticket was counted in a note alone.)
    unknown_charge = has_charge & ~charge_known & (~in_log | (rest & unclear))
    # A refund naming no ticket whose order several tickets name (of the run's exports, or
    # cases of a log given): no ticket claims it, and it is kept as a payout case of its
    # own; that tickets do name its order is recorded (orphan-payout alone reads as a
    # payout that no ticket asked for). The tickets are not listed: beside a log written
    # before the stated:* columns were kept, the log's are not known here.
    ambiguous = np.zeros(len(positions), dtype=bool)
    if claimed_by is not None:
        open_ = rest & ~by_claim & ~has_named & ~unclear & _mask(claimed_by.notna())
        ambiguous = open_ & _mask(claimed_by.isin(named_by_several))
        if known_orders is not None and len(known_orders):
            ambiguous |= open_ & (_positions_in(claimed_by, known_orders.index) >= 0)
        del open_

    # Of the tickets named that no export holds, those written alike to one that is held
    # (`#101`, `0101` for Zendesk's 101; `rfd-7` for Jira's RFD-7): said, not joined.
    alike_of = _written_alike(named[unknown_ticket].unique().tolist(), [
        order_of_ticket.index, *([bare_ids] if len(bare_ids) else []),
        *([] if known_tickets is None else [known_tickets.index])]) \
        if unknown_ticket.any() else {}

    problems: list[dict[str, object]] = []
    flagged = np.flatnonzero(unknown_ticket | unknown_charge | crossed | other_ticket
                             | ambiguous | undecided)
    if len(flagged):
        orders = _strings(log, C.ORDER_ID, positions)
        files = log[C.SOURCE_FILE].iloc[positions[flagged]].tolist()
        rows = log[C.SOURCE_ROW].iloc[positions[flagged]].tolist()
        for at_, file, row in zip(flagged.tolist(), files, rows, strict=True):
            if unknown_ticket[at_]:
                alike = alike_of.get(str(named.iat[at_]))
                problems.append({"file": file, "row": row, "field": C.TICKET_ID,
                                 "value": str(named.iat[at_]), "kind": "unknown",
                                 "reason": "refund names a ticket no ticketing export "
                                           "contains (kept as a case of its own)" + (
                                               f"; ticket {alike} is written alike (but "
                                               "for letter case, a leading '#' or leading "
                                               "zeros): not joined to it, ids are compared "
                                               "as written" if alike else "")})
            if unknown_charge[at_]:
                problems.append({"file": file, "row": row, "field": C.CHARGE_ID,
                                 "value": str(charge.iat[at_]), "kind": "unknown",
                                 "reason": (
                                     "refund names a charge that the log given holds in "
                                     "cases of several orders (kept as a case of its own)"
                                     if in_log[at_] else
                                     "refund names a charge no payment export contains")})
            if crossed[at_]:
                problems.append({"file": file, "row": row, "field": C.ORDER_ID,
                                 "value": str(orders.iat[at_]), "kind": "crossed",
                                 "reason": (
                                     f"refund states another order than its charge "
                                     f"{charge.iat[at_]}'s ({of_charge.iat[at_]})"
                                     + ("" if has_named[at_] or not by_order else
                                        ": its charge's order decides its case"))})
            if other_ticket[at_]:
                problems.append({"file": file, "row": row, "field": C.TICKET_ID,
                                 "value": str(named.iat[at_]), "kind": "other_ticket",
                                 "reason": (
                                     f"refund names ticket {named.iat[at_]}, whose order is "
                                     f"{ticket_order.iat[at_]}, but refunds charge "
                                     f"{charge.iat[at_]} of order {of_charge.iat[at_]} "
                                     "(kept in the ticket's case)")})
            if undecided[at_]:
                told_by, whose, tickets = split_orders[at_]
                told = ((f"its charge's order, {told_by}," if whose == "charge's" else
                         f"the order it states, {told_by},") + " names not exactly one of "
                        "them" if told_by is not None else
                        "no order of its charge or its own tells them apart")
                problems.append({"file": file, "row": row, "field": C.TICKET_ID,
                                 "value": str(named.iat[at_]), "kind": "split",
                                 "reason": f"ambiguous: refund names ticket "
                                           f"{named.iat[at_]}, which several ticketing "
                                           f"systems hold (cases {', '.join(tickets)}), and "
                                           f"{told}: kept as a payout case of its own, "
                                           "given to none"})
            if ambiguous[at_]:
                assert claimed_by is not None
                problems.append({"file": file, "row": row, "field": C.ORDER_ID,
                                 "value": str(claimed_by.iat[at_]), "kind": "ambiguous",
                                 "reason": "refund names no ticket, and several tickets "
                                           "name its order: kept as a payout case of its "
                                           "own"})

    orphan = np.flatnonzero(rest & ~by_claim)
    if len(orphan):
        refund_ids = _strings(log, C.REFUND_ID, positions[orphan])
        key = charge.iloc[orphan].reset_index(drop=True).fillna(refund_ids)
        members = pd.DataFrame({"key": key, C.TIMESTAMP: log[C.TIMESTAMP].array.take(
            positions[orphan]), C.SOURCE_ROW: log[C.SOURCE_ROW].array.take(positions[orphan])})
        ranked = C.stable_order(members, ["key", C.TIMESTAMP, C.SOURCE_ROW])
        keys = key.take(ranked).to_numpy()
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        name_of = pd.Series(refund_ids.take(ranked[first]).to_numpy(), index=keys[first],
                            dtype="string")
        # A refund id that is also a ticket's id (a merchant's own modification reference,
        # such as Adyen's, set to the ticket number): the payout case would be that
        # ticket's, which the refund does not name. Named `payout:<refund id>` instead, and
        # recorded.
        clash = np.zeros(len(name_of), dtype=bool)
        for labels in (order_of_ticket.index,
                       *((bare_ids,) if len(bare_ids) else ()),
                       *(() if known_tickets is None else (known_tickets.index,))):
            if len(labels):
                clash |= _found_in(pd.Series(name_of.array), labels)
        if clash.any():
            at = positions[orphan][ranked[first]][clash]
            files = log[C.SOURCE_FILE].iloc[at].tolist()
            rows = log[C.SOURCE_ROW].iloc[at].tolist()
            for name, file, row in zip(name_of[clash].tolist(), files, rows, strict=True):
                problems.append({"file": file, "row": row, "field": C.REFUND_ID,
                                 "value": name, "kind": "clash",
                                 "reason": f"refund id {name} names a payout case without a "
                                           "ticket, and is also a ticket's id: the case is "
                                           f"named payout:{name}, not merged into the "
                                           "ticket's"})
            name_of = name_of.where(~clash, "payout:" + name_of)
        case.iloc[orphan] = _lookup(key, name_of).to_numpy()
        notes.append(f"correlation: {int(first.sum())} payout case(s) without a ticket "
                     "(kept as their own cases, named by their first refund id)")
    # A refund of a charge no input holds (a month's run without the purchase period's
    # charges export): its case is judged without the purchase, so the reason is said.
    uncharged = int((has_charge & ~charge_known & ~in_log).sum())
    if uncharged:
        notes.append(f"correlation: {uncharged:,} refund(s) name a charge that no input "
                     "holds (no payment export of the run, nor a log given): where the "
                     "charges were captured in an earlier period, give that period's charges "
                     "export too, else no-prior-purchase reports those refunds and "
                     "refund-exceeds-charge and instrument-mismatch cannot judge them")
    return _Refunds(case, charge, charge_at, problems, notes)


@dataclass(eq=False)
class _ChargeKeys:
    """What `_charge_copies` reads that the refunds' cases do not decide (see
    `_charge_keys`): worked out beside `_refund_cases`."""

    keyed: np.ndarray
    """The charge events (of `_charge_copies`' positions) that have a charge id."""
    codes: np.ndarray
    """Their charge's code (its position among `charges`)."""
    charges: pd.Index
    """The charge ids, in order of first appearance."""
    position: np.ndarray
    """Each of `order_of_charge`'s charge ids' position among `charges`."""
    pair_codes: list[np.ndarray]
    pair_cases: list[pa.Array]
    """(charge, case) pairs by order (see `_charge_owners`): the charges' codes, the cases."""


def _charge_keys(charge_ids: pd.Series, order_of_ticket: pd.Series,
                 order_of_charge: pd.Series, *, by_order: bool,
                 known_orders: pd.Series | None = None) -> _ChargeKeys:
    """The charge events' charge codes and, correlating by order, the (charge, case) pairs
    that the tickets' orders (and a log's cases, `known_orders`) give (see `_charge_owners`):
    none of it depends on the refunds' cases, so it is worked out in a second thread while
    `_refund_cases` decides those (mostly Arrow's and numpy's kernels, which release the
    GIL; it reads only what it is given, which nothing changes meanwhile)."""
    keyed = np.flatnonzero(_mask(charge_ids.notna()))
    found, uniques = pd.factorize(charge_ids.iloc[keyed])
    codes = np.asarray(found, dtype=np.int64)
    del found
    charges = pd.Index(uniques)
    # Each charge id's position among `charges`: the same ids, in the same order where the
    # charge events' provisional cases are their charge ids (then no lookup of each).
    ids, labels = C.arrow_array(order_of_charge.index), C.arrow_array(charges)
    position = (np.arange(len(ids), dtype=np.int64) if ids.equals(labels.cast(ids.type))
                else _positions_in(pd.Series(order_of_charge.index), charges))
    pair_codes: list[np.ndarray] = []
    pair_cases: list[pa.Array] = []
    if by_order:
        sold = _mask(order_of_charge.notna())
        sold_charge = position[sold]
        order_code, orders = pd.factorize(order_of_charge[sold])
        order_code = np.asarray(order_code, dtype=np.int64)
        named = np.flatnonzero(_mask(order_of_ticket.fillna("") != ""))
        of_ticket = _positions_in(order_of_ticket.iloc[named], pd.Index(orders))
        # Each ticket with each charge of its order (if any was sold).
        selling = of_ticket >= 0
        sold_with, lengths = _members(order_code, len(orders), of_ticket[selling])
        pair_codes.append(sold_charge[sold_with])
        pair_cases.append(C.arrow_array(order_of_ticket.index).take(
            pa.array(np.repeat(named[selling], lengths))))
        if known_orders is not None and len(known_orders):
            sold_orders = pd.Series(order_of_charge[sold].to_numpy(), dtype="string")
            earlier = _lookup(sold_orders, known_orders)
            unnamed = ~_mask(sold_orders.isin(_present(order_of_ticket).unique()))
            joins = _mask(earlier.notna()) & unnamed
            pair_codes.append(sold_charge[joins])
            pair_cases.append(C.arrow_array(earlier).filter(pa.array(joins)))
    return _ChargeKeys(keyed, codes, charges, position, pair_codes, pair_cases)


def _charge_owners(refunds: _Refunds, keys: _ChargeKeys) -> tuple[np.ndarray, pa.Array]:
    """(charge, case) pairs, each once, sorted by charge (its position among `keys.charges`,
    the charge ids) and case: the refunds' cases for the charges they name, and
    (correlating by order) each ticket for the charges of the order it names, and where no
    ticket of the exports names it, the case of a log correlated before that holds it
    (`known_orders`, see correlate; both worked out by `_charge_keys`). As integer codes:
    the join by order is a repeat of each order's charges, and the pairs are made unique
    and sorted as one integer each (a merge and drop_duplicates of the texts made a Python
    string of every id). Returns each pair's charge position and its case."""
    known = refunds.charge_at >= 0
    codes = [keys.position[refunds.charge_at[known]], *keys.pair_codes]
    cases = [C.arrow_array(refunds.case).filter(pa.array(known)), *keys.pair_cases]
    case_text = pa.chunked_array([c.cast(pa.large_string()) for c in cases],
                                 type=pa.large_string()).combine_chunks()
    del cases
    coded = pc.dictionary_encode(case_text, null_encoding="encode")
    # A case's code ranked as its text sorts (by code point, as Arrow and the rest compare).
    texts = coded.dictionary
    by_text = np.asarray(pc.sort_indices(texts).to_numpy(), dtype=np.int64)
    rank = np.empty(len(texts), dtype=np.int64)
    rank[by_text] = np.arange(len(texts))
    width = max(len(texts), 1)
    pair = C.sorted_distinct(np.sort(np.concatenate(codes) * width + rank[np.asarray(
        coded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]))
    return pair // width, texts.take(pa.array(by_text[pair % width]))


def _charge_copies(positions: np.ndarray, charge_ids: pd.Series, refunds: _Refunds,
                   keys: _ChargeKeys) -> tuple[np.ndarray, pa.Array, np.ndarray, np.ndarray]:
    """One copy of each charge's events per case it belongs to (`_charge_owners`; charge ids
    in order of first appearance, then cases sorted, then events in log order): the copies'
    log positions, their cases, whether their charge is in several cases (so its event ids
    get the case appended), and the log positions of the charge events no case refers to
    (left out; a charge event without a charge id cannot be referred to). `keys`: the
    charge events' codes and the pairs by order (`_charge_keys`, of the same `charge_ids`)."""
    keyed, codes, n = keys.keyed, keys.codes, len(keys.charges)
    pair_code, pair_case = _charge_owners(refunds, keys)
    copied, lengths = _members(codes, n, pair_code)
    owned_by = np.bincount(pair_code, minlength=n)
    unkeyed = np.ones(len(charge_ids), dtype=bool)
    unkeyed[keyed] = False
    left = np.concatenate([np.flatnonzero(unkeyed), keyed[(owned_by == 0)[codes]]])
    return (positions[keyed[copied]],
            pair_case.take(pa.array(np.repeat(np.arange(len(pair_code)), lengths))),
            np.repeat(owned_by[pair_code] > 1, lengths), positions[np.sort(left)])


def _members(groups: np.ndarray, n: int, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The members of each of the `wanted` groups, one run per wanted group, in that order:
    their positions in `groups` (each item's group, 0..n-1), each run in the items' order,
    and each run's length."""
    size = np.bincount(groups, minlength=n)
    start = np.concatenate([[0], np.cumsum(size)])
    lengths = size[wanted]
    before = np.cumsum(lengths) - lengths
    at = np.repeat(start[wanted] - before, lengths) + np.arange(int(lengths.sum()))
    return np.argsort(groups, kind="stable")[at], lengths


@dataclass(eq=False)
class _PerCase:
    """A column of the correlated log given per case: each event's value is its case's
    (`values`, by the events' case codes `codes`), else, where that is missing, the event's
    own (`own`; None: missing). Taken as the column would be (`take`), so that the column is
    made per event once, in the correlated log's order, not also in the order before."""

    values: pd.api.extensions.ExtensionArray
    codes: np.ndarray
    dtype: Any
    own: pd.api.extensions.ExtensionArray | None = None

    def take(self, positions: np.ndarray) -> Any:
        # An event without a case (code -1) has no case's value: missing, not the last's.
        taken = pd.Series(self.values.take(self.codes[positions], allow_fill=True),
                          dtype="string")
        if self.own is not None:
            missing = taken.isna().to_numpy(dtype=bool)
            if missing.any():
                taken = self._own_where(taken, positions, missing)
        return taken.astype(self.dtype).array

    def _own_where(self, taken: pd.Series, positions: np.ndarray,
                   missing: np.ndarray) -> pd.Series:
        """`taken` with the events' own values (`own`) where it is `missing`: only those
        events' own values are taken (few: at 1M cases about 55k of 7.3M events get no
        charge of their case), not a column of every event's, taken in the correlated
        log's order from all over the log's (cache misses: half the time of the column)."""
        assert self.own is not None
        own = pd.Series(self.own.take(positions[missing]), dtype="string")
        first, second = (getattr(v.array, "_pa_array", None) for v in (taken, own))
        if first is not None and second is not None and first.type == second.type:
            # One pass in Arrow (the values are held at the import's memory peak); an
            # event whose own value is missing too stays missing, as coalesce left it.
            filled = pc.replace_with_mask(_one_chunk(first), pa.array(missing),
                                          _one_chunk(second))
            return pd.Series(type(taken.array)(filled), dtype=taken.dtype)
        full = np.empty(len(taken), dtype=object)
        full[missing] = own.astype(object).to_numpy()
        return taken.fillna(pd.Series(full, dtype="string"))


def _one_chunk(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """An Arrow column as one array."""
    if isinstance(values, pa.ChunkedArray):
        return values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    return values


def _given_differs(own: Any, per_case: _PerCase) -> np.ndarray:
    """Per event, whether what it states (`own`) differs from the value a `_PerCase` column
    gives it. Neighbours of one case stating one value share the answer (a ticket's updates,
    one run in the events' order): the values given are made and compared only where a run
    starts (at 1M cases 2.9M of the 7.3M events), not as a column of texts beside what the
    import holds at this point."""
    mine = _chunks(own)
    codes = per_case.codes
    if len(mine) == 0:
        return np.zeros(0, dtype=bool)
    repeat = np.zeros(len(mine), dtype=bool)
    repeat[1:] = (codes[1:] == codes[:-1]) & ~_differs(mine.slice(1),
                                                        mine.slice(0, len(mine) - 1))
    starts = np.flatnonzero(~repeat)
    at = pa.array(starts)
    first = codes[starts]
    given = _chunks(per_case.values).take(pa.array(first, mask=first < 0))
    stated = mine.take(at)
    if per_case.own is not None:
        given = pc.coalesce(given.cast(mine.type), _chunks(per_case.own).take(at).cast(mine.type))
    differs: np.ndarray = _differs(stated, given)[np.cumsum(~repeat) - 1]
    return differs


def _fill_case_ids(owned: list[pd.DataFrame], *, is_source: pd.Series, config: SourcesConfig,
                   case_codes: np.ndarray | None = None,
                   ) -> tuple[pd.DataFrame, dict[str, _PerCase], dict[str, pd.Categorical]]:
    """Every event of a correlated case carries the case's ticket, order and charge.

    Per case (as integer codes, not a lookup of each event's case id): the first ticket id
    its ticketing events state, the first order id its events state, and its charge where
    its charge events name exactly one. `owned` holds the one frame, handed over.

    With every event a source's (the usual import), the three columns are given per case
    (`_PerCase`, by column name) and dropped from the frame returned; else they are replaced
    in the frame, one after another, each old one freed before the next is computed.
    Either way, what the events stated where it differs is returned too (`_stated`, by
    column name, in the frame's order). `case_codes`: the frame's cases as integers, -1
    where missing (`_case_ranks`); else the cases' texts are coded here."""
    log = owned.pop()
    source = np.asarray(is_source, dtype=bool)
    everything = bool(source.all())
    part = log if everything else log[source]
    if case_codes is not None:  # (codes that no event has are never read)
        codes = case_codes if everything else case_codes[source]
        n = int(codes.max()) + 1 if len(codes) else 0
    else:
        found, uniques = pd.factorize(part[C.CASE])
        codes = np.asarray(found, dtype=np.int64)
        n = len(uniques)
        del found, uniques
    cased = codes >= 0  # (an event without a case: code -1, given no case's values)
    from_ticketing = part[C.SOURCE_SYSTEM].isin(list(config.ticketing)).fillna(False) \
        .to_numpy(dtype=bool)
    charge_events = part[C.REFUND_ID].isna().to_numpy(dtype=bool) & ~from_ticketing

    def first(column: str, where: np.ndarray) -> pd.Series:
        """Per case code: the first non-missing value of `column` among events `where`
        (missing where none), as pandas' groupby-first gives it: each code's least
        position, found by one unbuffered minimum, not a groupby that sorts the codes."""
        values = part[column].astype("string")
        given = np.flatnonzero(where & values.notna().to_numpy(dtype=bool) & cased)
        at = np.full(n, len(part), dtype=np.int64)
        np.minimum.at(at, codes[given], given)
        at[at == len(part)] = -1
        return pd.Series(values.array.take(at, allow_fill=True), dtype="string")

    def only_charge() -> pd.Series:
        """Per case code: its charge where its charge events state exactly one charge id
        (as pandas' groupby-nunique == 1 tells it), else missing. Each id stated is
        compared with its case's first: none differs where the case states one. No
        hash of the ids (a groupby's, 0.3-0.4 s of CPU at 1M cases)."""
        firsts = first(C.CHARGE_ID, charge_events)
        values = _chunks(part[C.CHARGE_ID].astype("string"))
        given = np.flatnonzero(charge_events & cased & np.asarray(
            values.is_valid().to_numpy(zero_copy_only=False), dtype=bool))
        mine = codes[given]
        # (both sides hold a text: a case's first is missing only where none is stated)
        differ = np.asarray(pc.not_equal(
            values.take(pa.array(given)),
            _chunks(firsts).take(pa.array(mine)).cast(values.type)
        ).to_numpy(zero_copy_only=False), dtype=bool)
        several = np.zeros(n, dtype=bool)
        several[mine[differ]] = True
        return firsts.where(~several)

    if everything:  # the usual import
        own_charge = part[C.CHARGE_ID].astype("string").array
        per_case = {
            C.TICKET_ID: _PerCase(first(C.TICKET_ID, from_ticketing).array, codes,
                                  log[C.TICKET_ID].dtype),
            C.ORDER_ID: _PerCase(first(C.ORDER_ID, np.ones(len(part), dtype=bool)).array,
                                 codes, log[C.ORDER_ID].dtype),
            C.CHARGE_ID: _PerCase(only_charge().array, codes, log[C.CHARGE_ID].dtype,
                                  own_charge)}
        stated = {column: _stated(part[column], at=np.flatnonzero(
            _given_differs(part[column], given))) for column, given in per_case.items()}
        for column in per_case:
            del log[column]
        return log, per_case, stated

    def per_event(values: pd.Series) -> pd.Series:
        return pd.Series(values.array.take(codes, allow_fill=True), index=part.index,
                         dtype="string")

    def charge() -> pd.Series:
        return per_event(only_charge()).fillna(part[C.CHARGE_ID].astype("string"))

    updates = {C.TICKET_ID: lambda: per_event(first(C.TICKET_ID, from_ticketing)),
               C.ORDER_ID: lambda: per_event(first(C.ORDER_ID,
                                                   np.ones(len(part), dtype=bool))),
               C.CHARGE_ID: charge}
    stated = {}
    for column, computed in updates.items():
        values = computed()
        own = log[column].array.copy()  # (the assignment below may write into it)
        log.loc[source, column] = values
        del values
        stated[column] = _stated(own, log[column].array)
        del own
    return log, {}, stated
