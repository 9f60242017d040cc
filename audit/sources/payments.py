"""Stripe, PayPal and Adyen exports -> canonical purchase and payout events.

A charge (sale) becomes the channel's purchase event; a refund becomes a payout, or a failed
payout when the system says it failed or was reversed (kept, with its status, never dropped).
Amounts become magnitudes in major units; times are converted to UTC from the zone the export
states. Who executed a refund comes from the column the sources file names (see docs/sources.md).
Stripe's exports are its charges and refunds CSVs (amounts in minor units) and its itemized
balance change report (a row per balance transaction, signed amounts in major units).

Rows are read column-wise where every value has its plain shape (a known currency, a plain
amount, a numeric time in a known zone, a known type and status) and the id is read for the
first time; all other rows are read one by one, as every row was before, so that duplicates,
quarantine reasons and their order are exactly those of the row-by-row reading (`FAST_PATH`
off, which the tests compare with). The column-wise reading keeps the export's cells as
Arrow text: Python reads each distinct label, status, currency, zone and amount once, and no
cell becomes a Python string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit import canonical as C
from audit.currency import CURRENCIES, minor_units, stripe_minor_units
from audit.errors import InputError
from audit.ingest.csv_reader import RaggedRow, read_csv
from audit.ingest.raw import FieldsOfRows, IdCells, RawTable
from audit.ingest.timestamps import OUT_OF_RANGE, shown_example
from audit.sources.common import (
    TEXT,
    ZONE_ABBREVIATIONS,
    BadValue,
    Collector,
    Ints,
    Mask,
    abbreviated_to_utc,
    differ,
    holds,
    in_utc,
    major_decimals,
    minor_money,
    minor_money_text,
    money,
    none_if_empty,
    parse_major,
    parse_major_in,
    parse_minor,
    repeated_text,
    require_columns,
    split_id,
    stripped,
    text_codes,
    text_columns,
    unsigned,
    utc_text,
    written_cells,
)
from audit.sources.config import PaymentConfig
from audit.words import counted

STRIPE_CHARGE_COLUMNS = ("id", "amount", "currency", "created", "status")
STRIPE_REFUND_COLUMNS = ("id", "charge", "amount", "currency", "created", "status")
PAYPAL_COLUMNS = ("Date", "Time", "TimeZone", "Type", "Status", "Currency", "Gross",
                  "Transaction ID", "Reference Txn ID")
PAYPAL_ZONE_COLUMNS = ("TimeZone", "Time zone", "Time Zone")
"""How the Activity Download names its time zone column: `TimeZone` in the long-standing
layout, `Time zone` in the current one (some versions `Time Zone`)."""
ADYEN_COLUMNS = ("Psp Reference", "Merchant Reference", "Creation Date", "TimeZone", "Type",
                 "Modification Reference", "Gross Currency", "Gross Debit (GC)",
                 "Gross Credit (GC)")

_STRIPE_STATUS = {"succeeded": "succeeded", "paid": "succeeded", "pending": "pending",
                  "requires_action": "pending", "failed": "failed", "canceled": "failed",
                  "cancelled": "failed", "reversed": "reversed"}
_PAYPAL_STATUS = {"completed": "succeeded", "pending": "pending", "denied": "failed",
                  "failed": "failed", "reversed": "reversed", "canceled": "failed",
                  "cancelled": "failed", "refunded": "succeeded",
                  # (a payment refunded in part later: the payment itself went through)
                  "partially refunded": "succeeded"}
_PAYPAL_CHARGE_TYPES = ("subscription payment", "express checkout payment",
                        "website payment", "preapproved payment bill user payment",
                        "mobile payment", "general payment", "recurring payment",
                        # a card charged through PayPal's card processing (Payments Pro,
                        # the shop plug-ins' card fields), and the older checkout names
                        "direct credit card payment", "payment received",
                        "ebay auction payment", "donation payment")
_PAYPAL_RECEIVED = "payment received"
"""How the older download's payment types end ("Express Checkout Payment Received",
"Mobile Express Checkout Payment Received", "Web Accept Payment Received"): a purchase,
as the payment types above are."""


def _paypal_charge(kind: str) -> bool:
    return kind in _PAYPAL_CHARGE_TYPES or kind.endswith(_PAYPAL_RECEIVED)


NO_CASE_EVENT = "not part of a refund case"
"""What the reason of every quarantine line of a payment record that is no event of a
refund case says (a fee, a transfer, a currency conversion, a chargeback, a record of no
money taken): such a line cannot hold an approval or an evidence item, so a control found
missing beside it is not told as maybe among the quarantined rows
(`CheckRun.absences_beside_quarantine`)."""

_PAYPAL_REFUND_TYPES = ("payment refund", "refund")
_PAYPAL_SIGN = {
    True: "a refund with a positive Gross is one this account received, not one it paid: "
          "not part of a refund case",
    False: "a payment with a negative Gross is one this account sent, not a customer's: "
           "not part of a refund case"}
"""Why a row whose Gross has the other sign than its type's is quarantined."""
_ADYEN_CHARGE_TYPES = {"settled": "succeeded", "settledbulk": "succeeded"}
_ADYEN_REFUND_TYPES = {"refunded": "succeeded", "refundedbulk": "succeeded",
                       "refundedreversed": "reversed", "refundfailed": "failed"}


EMPTY_ID = "empty id (a payment's or refund's id is its event's id)"
"""Why a row without an id is quarantined (each one: blank ids are not one record)."""

Record = dict[str, object]
"""One export row: column name -> its cell text."""

FAST_PATH = True
"""Read the rows of plain shape column-wise (see the module doc); False reads every row one
by one."""

def _cell(record: Record, column: str | None) -> str | None:
    if column is None or column not in record:
        return None
    value = str(record[column]).strip()
    return value or None


def _ticket_of(cfg: PaymentConfig, record: Record) -> str | None:
    """The ticket a payment row names (its case, where it names one: a refund belongs to
    the ticket it names), for the row's quarantine lines; None where it names none."""
    if cfg.reference_pattern is not None:  # (Adyen: in the modification's reference)
        reference = _cell(record, "Modification Merchant Reference")
        match = cfg.reference_pattern.match(reference) if reference else None
        if match is not None:
            ticket = match.groupdict().get("ticket")
            return str(ticket).strip() or None if ticket is not None else None
    return _cell(record, cfg.ticket_column)


def _currency(text: str | None) -> str:
    code = (text or "").strip().upper()
    if code not in CURRENCIES:
        raise BadValue("unknown currency (not an ISO 4217 code)")
    return code


def _base(cfg: PaymentConfig, event_id: str, key: str, time: str, amount: Decimal,
          currency: str) -> dict[str, str | None]:
    return {C.EVENT_ID: event_id, C.CASE: key, C.TIMESTAMP: time, C.LIFECYCLE: "complete",
            C.AMOUNT: money(amount), C.CURRENCY: currency, C.CHANNEL: cfg.channel}


def _charge(cfg: PaymentConfig, record: Record, base: dict[str, str | None], charge_id: str,
            status: str, method: str | None) -> dict[str, str | None]:
    resource = _cell(record, cfg.charge_resource_column) or cfg.charge_resource
    return {**base, C.ACTIVITY: cfg.charge_activity, C.RESOURCE: resource,
            C.ORDER_ID: _cell(record, cfg.order_column), C.CHARGE_ID: charge_id,
            C.PAYMENT_METHOD: method, C.PAYMENT_STATUS: status}


def _refund(cfg: PaymentConfig, base: dict[str, str | None], refund_id: str,
            charge_id: str | None, status: str, method: str | None, ticket: str | None,
            executor: str | None, order: str | None) -> dict[str, str | None]:
    failed = status in ("failed", "reversed")
    return {**base, C.ACTIVITY: cfg.failed_refund_activity if failed else cfg.refund_activity,
            C.RESOURCE: executor, C.TICKET_ID: ticket, C.ORDER_ID: order,
            C.CHARGE_ID: charge_id, C.REFUND_ID: refund_id, C.PAYMENT_METHOD: method,
            C.PAYMENT_STATUS: status}


@lru_cache(maxsize=256)
def _known_zone(abbreviation: str) -> str:
    """BadValue unless the zone abbreviation is known (checked once per distinct text)."""
    return abbreviated_to_utc("2000-01-01 00:00:00", "%Y-%m-%d %H:%M:%S", abbreviation)


def _time(fast: str | None, text: str, fmt: str, zone: str) -> str:
    """`abbreviated_to_utc`, unless the column-wise reading has the result already."""
    return fast if fast is not None else abbreviated_to_utc(text, fmt, zone)


def _checked(collector: Collector, row: int, record: Record,
             checks: list[tuple[str, Callable[[], object]]],
             case: str | None = None) -> list[object] | None:
    """Run each column's parser; quarantine the row at the first column that fails
    (`case`: the row's, see `_ticket_of`)."""
    values: list[object] = []
    for column, parse in checks:
        try:
            values.append(parse())
        except BadValue as exc:
            collector.quarantine(row, column, record.get(column), str(exc), case=case)
            return None
    return values


def _content(record: Record) -> tuple[object, ...]:
    return tuple(str(v) for v in record.values())


# --- Column-wise reading ------------------------------------------------------------------
class _Export:
    """An export's cells column by column as Arrow text (as read), with each column's
    stripped text made once; a row as a record (column -> cell) only where it is read one
    by one."""

    def __init__(self, frame: pd.DataFrame, rows: npt.NDArray[np.int64]) -> None:
        self.frame = frame
        self.names = [str(c) for c in frame.columns]
        self.row_numbers = rows
        self.rows: list[int] = rows.tolist()
        self.size = len(rows)
        self.arrays = text_columns(frame, self.names)
        self._stripped: dict[str, pa.Array] = {}
        self._cells: dict[str, list[object]] | None = None

    def column(self, name: str) -> pa.Array:
        return self.arrays[name]

    def stripped(self, name: str) -> pa.Array:
        """`str(cell).strip()` of every row."""
        if name not in self._stripped:
            self._stripped[name] = stripped(self.column(name))
        return self._stripped[name]

    def cell(self, name: str | None) -> pa.Array:
        """`_cell` of every row: the stripped text, null where empty or no such column."""
        if name is None or name not in self.arrays:
            return pa.nulls(self.size, TEXT)
        return none_if_empty(self.stripped(name))

    def record(self, k: int) -> Record:
        if self._cells is None:  # (made once, for the rows read one by one)
            self._cells = {name: self.frame.iloc[:, i].tolist()
                           for i, name in enumerate(self.names)}
        return {name: cells[k] for name, cells in self._cells.items()}


def _start(path: Path, system: str, needed: tuple[str, ...], encoding: str | None,
           label: str, read: tuple[RawTable, list[RaggedRow]] | None = None,
           ) -> tuple[_Export, Collector]:
    table, ragged = read or read_csv(path, encoding=encoding, strings="arrow")
    require_columns(list(table.frame.columns), needed, system=label, file=path)
    collector = Collector(system, path)
    for bad in ragged:
        collector.quarantine(bad.row, bad.field, bad.text, bad.reason)
    return _Export(table.frame, np.asarray(table.rows, dtype=np.int64)), collector


def _read_from(collector: Collector, export: _Export, amount: str, currency: str,
               time: str) -> None:
    """Name the export's columns that the records' amount, currency and time were read
    from, for the quarantine lines of the normaliser's checks (an amount too large, a time
    outside the range a timestamp holds): the column the auditor sees, not the canonical
    one. (A time made of several columns names them all.) Their `value` is the cells'
    text as the export wrote them (`_as_written`), not the reader's conversion."""
    named = {C.AMOUNT: amount, C.CURRENCY: currency, C.TIMESTAMP: time}
    collector.fields.update(named)
    for name, label in named.items():
        collector.field_values[name] = _as_written(collector, export, name, label)


def _as_written(collector: Collector, export: _Export, name: str, label: str) -> FieldsOfRows:
    """Of the records asked (by their row numbers among the export's), the text of the
    cells that canonical column `name` was read from as the export wrote them: the columns
    `label` names (or, where the records read it from different columns, the one
    `collector.field_rows` gives per record), joined with ", " as the label joins them.
    Only those columns are kept, and read for the quarantined rows only."""
    numbers = export.row_numbers
    read = set(label.replace(" or ", ", ").split(", "))
    kept = {c: export.column(c) for c in export.names if c in read}
    # The collector's dict, not the collector: the collector holds this function, and a
    # reference back to it would make a cycle that keeps the export's columns (15-20 MB a
    # file) until the cyclic collector runs, which a reading worker seldom does.
    field_rows = collector.field_rows

    def cells(frame: pd.DataFrame, at: npt.NDArray[np.intp],
              rows: npt.NDArray[np.int64]) -> list[str]:
        per_row = field_rows.get(name)
        labels = (list(per_row(frame, at, rows)) if per_row is not None
                  else [label] * len(rows))
        places = np.searchsorted(numbers, rows).tolist()
        return [", ".join(_cell_text(kept.get(c), k) for c in str(one).split(", "))
                for one, k in zip(labels, places, strict=True)]

    return cells


def _cell_text(column: pa.Array | None, k: int) -> str:
    """The cell at `k` of an export's column as written ("" where empty or no column)."""
    if column is None:
        return ""
    value = column[k].as_py()
    return "" if value is None else str(value)


def _ids_read_from(collector: Collector, export: _Export, prefix: str, column: str,
                   idents: pa.Array) -> None:
    """Name the export's column its records' event ids (`<prefix><cell>`) were read from,
    for the import's quarantine line of an id given again with other content
    (`IdCells`): the id read back into its cell, and the cells written with spaces
    around kept as written."""
    written = export.column(column)
    collector.id_cells = IdCells(partial(split_id, prefix, (column,)), written_cells(
        export.row_numbers, differ(written, idents), column, {column: written}))


def _adyen_ids_read_from(collector: Collector, export: _Export, kind_column: str,
                         kinds: pa.Array, charge_types: dict[str, str],
                         modification: str | None, modified: Mask, idents: pa.Array) -> None:
    """`_ids_read_from` of an Adyen report, whose event id `adyen:<reference>:<type>` is
    read from two cells: a modification's own reference (`modification`, the column
    where the report has one), else the payment's `Psp Reference` (`modified`: per row,
    whether it has the first), and the record type in `kind_column`, read in lower case
    (the export's writing of each type kept: `Settled`)."""
    codes, distinct = text_codes(export.column(kind_column))
    writing: dict[str, str] = {}
    for text in distinct.to_pylist():
        writing.setdefault(str(text).strip().lower(), str(text))
    as_written = np.asarray([writing[str(t).strip().lower()] == t for t in distinct.to_pylist()]
                            + [True], dtype=bool)[codes]
    charges = tuple(sorted(charge_types))
    expected = ~_in(kinds, charges) & (modification is not None)
    cells = {c: export.column(c) for c in ("Psp Reference", kind_column, modification) if c}
    reference = (pc.if_else(pa.array(modified), cells[modification], cells["Psp Reference"])
                 if modification is not None else cells["Psp Reference"])
    # Rows whose reference is read from the other column than their type's (a sale that
    # states a Modification Reference, a refund that states none): their row numbers
    # alone, as a report may give every sale one; the cells of rows written otherwise.
    flipped = modified != expected
    differs = ~as_written | differ(reference, idents)
    numbers = np.asarray(export.row_numbers, dtype=np.int64)
    collector.id_cells = IdCells(
        partial(_adyen_id, modification, kind_column, charges, writing, False),
        written_cells(numbers, differs,
                      lambda at: [f"{modification if m else 'Psp Reference'}, {kind_column}"
                                  for m in modified[at].tolist()], cells),
        other_rows=np.sort(numbers[flipped]) if flipped.any() else None,
        other=partial(_adyen_id, modification, kind_column, charges, writing, True))


def _adyen_id(modification: str | None, kind_column: str, charges: tuple[str, ...],
              writing: dict[str, str], flipped: bool, event_id: str) -> tuple[str, str]:
    """An Adyen event id read back into its cells (`IdCells.derive`): a sale's reference
    is its Psp Reference, a refund's its modification's (where the report has the
    column), and its type as the report writes it; with `flipped` (`IdCells.other`), the
    other column: a sale stating a modification reference, a refund stating none."""
    if not event_id.startswith("adyen:"):
        return f"Psp Reference, {kind_column}", event_id
    reference, _, kind = event_id.removeprefix("adyen:").rpartition(":")
    modified = kind not in charges and modification is not None
    if flipped and modification is not None:
        modified = not modified
    column = modification if modified and modification is not None else "Psp Reference"
    return f"{column}, {kind_column}", f"{reference}, {writing.get(kind, kind)}"


def _adyen_cells(record: Record, reference: str, kind_column: str) -> tuple[str, str]:
    """The cells an Adyen row's event id was read from, as written (`Collector.duplicate`)."""
    return f"{reference}, {kind_column}", f"{record[reference]}, {record[kind_column]}"


Column: TypeAlias = "pa.Array | tuple[pa.Array, Mask]"
"""A canonical column's value per row of the export (Arrow text, null for None); with a
mask, the rows whose records have that column (a refund's ticket, not a charge's)."""


def _text(value: pa.Array | str | None) -> pa.Array | pa.Scalar:
    return pa.scalar(value, TEXT) if value is None or isinstance(value, str) else value


def _pick(choose: Mask, yes: pa.Array | str | None, no: pa.Array | str | None) -> pa.Array:
    """`yes` where `choose`, else `no` (each per row or one value)."""
    return pc.if_else(pa.array(choose), _text(yes), _text(no))


def _or(values: pa.Array, default: str | None) -> pa.Array:
    """`value or default` per row (`values` null where empty)."""
    return values if default is None else pc.fill_null(values, pa.scalar(default, TEXT))


def _joined(*parts: pa.Array | str, separator: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*(_text(p) for p in parts), pa.scalar(separator, TEXT))


def _in(values: pa.Array, known: Collection[str]) -> Mask:
    found = pc.fill_null(pc.is_in(values, value_set=pa.array(sorted(known), TEXT)), False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _given(values: pa.Array) -> Mask:
    return np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=bool)


def _each_distinct(values: pa.Array, read: Callable[[str], str | None]) -> pa.Array:
    """`read(value)` per row (null where it gives None or the value is null), called once
    per distinct value: the labels, statuses, currencies and zones of an export are few."""
    encoded = pc.dictionary_encode(values)
    read_once = pa.array([read(v) for v in encoded.dictionary.to_pylist()], type=TEXT)
    return read_once.take(encoded.indices)


def _offsets(export: _Export, column: str) -> tuple[Ints, Mask]:
    """Per row, the UTC offset in seconds of its zone abbreviation, as `abbreviated_to_utc`
    reads it, and whether the zone is known."""
    codes, zones = text_codes(export.column(column))
    found = [ZONE_ABBREVIATIONS.get(z.strip().upper()) for z in zones.to_pylist()]
    offsets = np.asarray([0 if f is None else int(f.total_seconds()) for f in found] + [0],
                         dtype=np.int64)  # [0], [False]: a missing zone
    known = np.asarray([f is not None for f in found] + [False], dtype=bool)
    return offsets[codes], known[codes]


def _major(texts: pa.Array, *, signed: bool = False) -> pa.Array:
    """`money(parse_major(text))` per text (each distinct text read once); null where it
    raises, to be read one by one. `signed`: the magnitude of a signed amount (PayPal's
    Gross, whose sign the caller checks against the row's type)."""
    def read(text: str) -> str | None:
        try:
            amount = parse_major(text)
            return money(abs(amount) if signed else amount)
        except BadValue:
            return None

    return _each_distinct(texts, read)


def _within_units(amounts: pa.Array, currencies: pa.Array) -> pa.Array:
    """`amounts` (money texts) null where one has more decimals than its currency's minor
    units: read one by one, where `parse_major_in` quarantines it with the reason."""
    codes, distinct = text_codes(currencies)
    units = np.asarray([minor_units(c) if c in CURRENCIES else 99
                        for c in distinct.to_pylist()] + [99], dtype=np.int64)[codes]
    over = major_decimals(amounts) > units
    if not over.any():
        return amounts
    return pc.if_else(pa.array(over), pa.nulls(len(amounts), amounts.type), amounts)


def _minor(texts: pa.Array, currencies: pa.Array) -> pa.Array:
    """`minor_money(text, currency)` per row: column-wise for the plain ones
    (`minor_money_text`), the others once per distinct (text, currency); null where it
    raises, to be read one by one."""
    codes, distinct = text_codes(currencies)
    units = np.asarray([stripe_minor_units(c.upper()) if c.upper() in CURRENCIES else -1
                        for c in distinct.to_pylist()] + [-1], dtype=np.int64)[codes]
    result = minor_money_text(texts, units)
    left = np.flatnonzero(np.asarray(pc.is_null(result).to_numpy(zero_copy_only=False),
                                     dtype=bool))
    if not len(left):
        return result
    at = pa.array(left)
    known: dict[tuple[str, str], str | None] = {}
    read: list[str | None] = []
    for pair in zip(texts.take(at).to_pylist(), currencies.take(at).to_pylist(), strict=True):
        if pair not in known:
            try:
                known[pair] = minor_money(*pair)
            except BadValue:
                known[pair] = None
        read.append(known[pair])
    is_left = np.zeros(len(texts), dtype=bool)
    is_left[left] = True
    # The rows read one by one here are placed by their rank among them.
    rank = pa.array(np.cumsum(is_left) - 1, mask=~is_left)
    return pc.if_else(pa.array(is_left), pa.array(read, type=TEXT).take(rank), result)


def _split(export: _Export, collector: Collector, keys: pa.Array,
           plain: Mask) -> tuple[list[int], list[int]]:
    """Positions read column-wise (the first read of their key, every value plain) and the
    rest, to be read one by one in order. A column-wise row's key that comes again is
    registered as seen, so its later copies are duplicates exactly as read one by one."""
    n = export.size
    if not FAST_PATH or not n:
        return [], list(range(n))
    codes, _ = text_codes(keys)
    _, firsts = np.unique(codes, return_index=True)
    fast = np.zeros(n, dtype=bool)
    fast[firsts] = True
    fast &= plain
    positions = np.flatnonzero(fast)
    again = positions[np.bincount(codes)[codes[positions]] > 1]
    if len(again):
        texts = keys.take(pa.array(again)).to_pylist()
        for k, key in zip(again.tolist(), texts, strict=True):
            collector.seen[key] = (export.rows[k], partial(_content, export.record(k)))
    return positions.tolist(), np.flatnonzero(~fast).tolist()


def _finish(collector: Collector, export: _Export, positions: list[int],
            columns: dict[str, Column]) -> None:
    """The column-wise rows and the rows read one by one (`collector.records`) as one set of
    columns in reading order; a column is there if some record has it."""
    records, record_rows = collector.records, collector.rows
    collector.records, collector.rows = [], []
    taken = np.asarray(positions, dtype=np.int64)
    fast: dict[str, pa.Array] = {}
    if len(taken):
        indices = pa.array(taken)
        for name, column in columns.items():
            values, has = column if isinstance(column, tuple) else (column, None)
            if has is None or has[taken].any():
                fast[name] = values.take(indices)
    rows = np.concatenate([export.row_numbers[taken],
                           np.asarray(record_rows, dtype=np.int64)])
    if not records:  # (the rows of an export ascend with its positions)
        collector.add_columns(rows.tolist(), dict(fast))
        return
    names = list(fast)
    for record in records:
        names.extend(n for n in record if n not in fast and n not in names)
    order = np.argsort(rows, kind="stable").tolist()
    merged: dict[str, list[object] | pa.Array] = {}
    for name in names:
        values = (fast[name].to_pylist() if name in fast else [None] * len(taken))
        values.extend(r.get(name) for r in records)
        merged[name] = [values[i] for i in order]
    collector.add_columns(rows[order].tolist(), merged)


# --- Stripe -------------------------------------------------------------------------------
def _stripe_time(text: str) -> str:
    """A Stripe `created`: UTC 'YYYY-MM-DD HH:MM:SS' (or ISO 8601 with an offset) or Unix
    seconds. A time past the years a datetime holds is BadValue, as any bad time is; one
    in them but outside the log's years the normaliser quarantines (the same reason)."""
    value = text.strip()
    if value.isascii() and value.isdigit():
        if len(value) < 9:  # (20260301 read as Unix seconds: 1970-08-23 11:51:41)
            raise BadValue(SHORT_UNIX_TIME)
        try:
            return datetime.fromtimestamp(int(value), UTC).isoformat()
        except (OverflowError, ValueError, OSError) as exc:
            raise BadValue(f"{OUT_OF_RANGE}; Stripe writes Unix seconds, not milliseconds"
                           ) from exc
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadValue("not a Stripe time (UTC 'YYYY-MM-DD HH:MM:SS' or Unix seconds)") from exc
    return in_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


SHORT_UNIX_TIME = ("a number of fewer than 9 digits: Unix seconds before 1973, which no "
                   "Stripe time is, or a date without separators (YYYYMMDD)? Stripe writes "
                   "UTC 'YYYY-MM-DD HH:MM:SS' or Unix seconds")
"""Why a Stripe time of up to 8 digits is quarantined: read as Unix seconds, a compact date
20260301 was imported as 1970-08-23 11:51:41, silently."""


STRIPE_REFUND_ID_PREFIXES = ("re_", "pyr_")
"""How Stripe's refund ids begin (a card refund's, a non-card payment's); a charge's id
begins ch_ or py_."""


def _has_refund_ids(frame: pd.DataFrame) -> bool:
    """Whether an `id` of the export is a refund's."""
    if "id" not in frame.columns:
        return False
    ids = stripped(text_columns(frame, ["id"])["id"])
    return any(pc.any(pc.starts_with(ids, prefix)).as_py() for prefix in
               STRIPE_REFUND_ID_PREFIXES)


def read_stripe(path: Path, cfg: PaymentConfig, *, encoding: str | None = None) -> Collector:
    """Stripe charges or refunds export (amounts in minor units, `created` in UTC)."""
    # Read once: the columns say which export, and so do the ids: a refunds export without
    # its `charge` column is refused, never read as charges.
    read = read_csv(path, encoding=encoding, strings="arrow")
    if stripe_balance_header([str(c) for c in read[0].frame.columns]):
        return read_stripe_balance(path, cfg, encoding=encoding, read=read)
    if stripe_payments_header([str(c) for c in read[0].frame.columns]):
        return read_stripe_payments(path, cfg, encoding=encoding, read=read)
    refunds = "charge" in read[0].frame.columns or _has_refund_ids(read[0].frame)
    needed = STRIPE_REFUND_COLUMNS if refunds else STRIPE_CHARGE_COLUMNS
    export, collector = _start(path, "stripe", needed, encoding,
                               f"Stripe {'refunds' if refunds else 'charges'}", read)
    _read_from(collector, export, "amount", "currency", "created")
    n = export.size
    times = utc_text(export.column("created"), "%Y-%m-%d %H:%M:%S",
                     np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    idents = export.stripped("id")
    keys = _joined("stripe:", idents)
    _ids_read_from(collector, export, "stripe:", "id", idents)
    currencies = _each_distinct(export.stripped("currency"), str.upper)
    amounts = _minor(export.stripped("amount"), currencies)
    statuses = _each_distinct(export.stripped("status"),
                              lambda s: _STRIPE_STATUS.get(s.lower()))
    plain = (_in(currencies, CURRENCIES) & _given(amounts) & _given(times)
             & _given(statuses) & _given(none_if_empty(idents)))
    columns = _base_columns(cfg, n, keys, idents, times, amounts, currencies)
    if refunds:
        failed = _in(statuses, ("failed", "reversed"))
        columns.update(_refund_columns(
            cfg, failed, refund_id=idents, charge_id=export.cell("charge"),
            status=statuses, method=export.cell(cfg.method_column),
            ticket=export.cell(cfg.ticket_column),
            executor=export.cell(cfg.executor_column),
            order=export.cell(cfg.order_column)))
    else:
        methods = pc.coalesce(export.cell("payment_method_type"),
                              export.cell(cfg.method_column))
        columns.update(_charge_columns(cfg, export, n, charge_id=idents,
                                       status=statuses, method=methods))
    positions, one_by_one = _split(export, collector, keys, plain)
    for k in one_by_one:
        record, row = export.record(k), export.rows[k]
        collector.belongs = None  # (no record's hint before it is known to be read)
        case = _ticket_of(cfg, record)  # (named in its quarantine lines)
        ident = str(record["id"]).strip()
        if not ident:  # (no event id; not a repeat of another blank id)
            collector.quarantine(row, "id", record["id"], EMPTY_ID,
                                 case=case)
            continue
        collector.belongs = (_cell(record, "charge") if refunds else ident,
                             _cell(record, cfg.order_column))
        if collector.duplicate(f"stripe:{ident}", row, partial(_content, record),
                               cells=("id", record["id"]), case=case):
            continue
        try:
            currency = _currency(str(record["currency"]))
        except BadValue as exc:
            collector.quarantine(row, "currency", record["currency"], str(exc),
                                 case=case)
            continue
        try:
            amount = unsigned(parse_minor(str(record["amount"]), currency))
        except BadValue as exc:
            collector.quarantine(row, "amount", record["amount"], str(exc),
                                 case=case)
            continue
        try:
            fast = times[k].as_py()
            time = fast if fast is not None else _stripe_time(str(record["created"]))
        except BadValue as exc:
            collector.quarantine(row, "created", record["created"], str(exc),
                                 case=case)
            continue
        raw_status = str(record["status"]).strip().lower()
        status = _STRIPE_STATUS.get(raw_status)
        if status is None:
            collector.quarantine(row, "status", record["status"], "unknown Stripe status",
                                 case=case)
            continue
        base = _base(cfg, f"stripe:{ident}", ident, time, amount, currency)
        if refunds:
            collector.add(row, _refund(
                cfg, base, ident, _cell(record, "charge"), status,
                _cell(record, cfg.method_column), _cell(record, cfg.ticket_column),
                _cell(record, cfg.executor_column), _cell(record, cfg.order_column)))
        else:
            method = _cell(record, "payment_method_type") or _cell(record, cfg.method_column)
            collector.add(row, _charge(cfg, record, base, ident, status, method))
    collector.belongs = None
    _finish(collector, export, positions, columns)
    return collector


# --- Stripe: the itemized balance change report -------------------------------------------
STRIPE_BALANCE_SIGNATURE = ("balance_transaction_id", "reporting_category")
"""The columns that tell Stripe's itemized balance change from activity report
(`balance_change_from_activity.itemized.N`): a row per balance transaction and its
reporting category. The charges and refunds CSVs have neither. Stripe's itemized payouts
report (`payouts.itemized.N`) has both, but no `source_id` and no `created_utc`: it is
refused naming them (`STRIPE_BALANCE_COLUMNS`), never read as charges or refunds."""
STRIPE_BALANCE_COLUMNS = ("balance_transaction_id", "created_utc", "currency", "gross",
                          "reporting_category", "source_id", "charge_id")
"""What the reader needs: `created_utc` is the time in UTC (the report's `created` is in the
time zone it was run in), `gross` the amount in major units, `charge_id` the charge a
refund belongs to (choose it among the report's columns where a download lacks it)."""
_BALANCE_CATEGORIES = {"charge": "succeeded", "refund": "succeeded",
                       "refund_failure": "failed"}
"""The reporting categories that are part of a refund case, and the payment status each
row gets: a refund's balance transaction is the money leaving the balance (a refund
that fails later has a `refund_failure` row of its own, which returns it)."""
_BALANCE_SOURCE = {"charge": (("ch_", "py_"), "a charge's id (ch_ or py_)"),
                   "refund": (STRIPE_REFUND_ID_PREFIXES, "its refund's id (re_ or pyr_)"),
                   "refund_failure": (STRIPE_REFUND_ID_PREFIXES,
                                      "the failed refund's id (re_ or pyr_)")}
_BALANCE_SIGN = {
    "charge": (True, "a charge's gross is money received, positive: a negative one is not a "
                   "charge of this layout"),
    "refund": (False, "a refund's gross is money sent back, negative: a positive one is not a "
                  "refund of this layout"),
    "refund_failure": (True, "a refund failure's gross returns the refund's money, positive: "
                           "a negative one is not a refund failure of this layout")}
"""Per category, whether its gross may not be negative (else: may not be positive) and why
a row of the other sign is quarantined: a balance transaction's amount is positive for
funds received, negative for funds sent."""


_BALANCE_OTHER = ("not a charge, refund or refund failure (fees, payouts, disputes, partial "
                  "capture reversals and other balance changes are not part of a refund case)")
"""The quarantine reason of a row of another category naming no charge."""
_BALANCE_OF_CHARGE = {
    "dispute": "a dispute: the charge's funds withdrawn for the customer's dispute "
               "(a chargeback)",
    "dispute_reversal": "a dispute reversed: the merchant won the dispute, the funds "
                        "came back",
    "partial_capture_reversal": "the uncaptured part of the charge's authorisation "
                                "released (no refund)",
    "charge_failure": "the charge failed after it was captured (its funds were not "
                      "received)",
}
"""The reporting categories of a balance change of a charge that is no event of a refund
case, each with what it is (`_balance_other_reason`); another category naming a charge is
named as written."""


def _balance_other_reason(written: object, category: str, charge: str | None) -> str:
    """The quarantine reason of a balance report row of a category no refund case holds:
    where it names a charge (`charge_id`), its category as written and the charge, and
    what it is (a dispute, a dispute reversed, ...): never read as a payout."""
    if charge is None:
        return _BALANCE_OTHER
    what = _BALANCE_OF_CHARGE.get(category, "a balance change of a charge")
    return (f"reporting category {str(written).strip()} of charge {charge}: {what}; not a "
            "refund the merchant executed: not part of a refund case, never read as a "
            "payout")


def stripe_balance_header(header: Collection[str]) -> bool:
    """Whether a CSV header is Stripe's itemized balance change report's
    (`STRIPE_BALANCE_SIGNATURE`)."""
    return set(STRIPE_BALANCE_SIGNATURE) <= set(header)


def read_stripe_balance(path: Path, cfg: PaymentConfig, *, encoding: str | None = None,
                        read: tuple[RawTable, list[RaggedRow]] | None = None) -> Collector:
    """Stripe's itemized balance change from activity report: a charge (reporting category
    `charge`) is the purchase, a refund (`refund`) a payout, a `refund_failure` a failed
    payout of that refund; every other category (fees, payouts to the bank, disputes,
    partial capture reversals, ...) goes to the quarantine, with the case that holds the
    charge its `charge_id` names where it names one (a dispute of it). `gross` is signed, in major
    units; `created_utc` is UTC. The charges and the refunds that do not fail in the
    report are read column-wise where every value is plain (as the charges and refunds
    CSVs are), the other rows one by one."""
    export, collector = _start(path, "stripe", STRIPE_BALANCE_COLUMNS, encoding,
                               "Stripe itemized balance change report", read)
    _read_from(collector, export, "gross", "currency", "created_utc")
    positions, one_by_one, columns = _balance_columns(cfg, export, collector)
    refunds: dict[str, tuple[int, int]] = {}  # refund id -> its row, its record's place
    failures: list[tuple[int, str, Record, dict[str, str | None]]] = []
    for k in one_by_one:
        record, row = export.record(k), export.rows[k]
        collector.belongs = None  # (no record's hint before its type is known)
        case = _cell(record, cfg.balance_ticket_column)  # (named in its quarantine lines)
        transaction = str(record["balance_transaction_id"]).strip()
        if not transaction:  # (no record's id; not a repeat of another blank one)
            collector.quarantine(row, "balance_transaction_id",
                                 record["balance_transaction_id"], EMPTY_ID, case=case)
            continue
        category = str(record["reporting_category"]).strip().lower()
        source = str(record["source_id"]).strip()
        # (a charge row's charge is its source, where its charge_id is left empty; a row
        # of a category no refund case holds gives none)
        named = _cell(record, "charge_id")
        hint = (named or (source or None if category == "charge" else None),
                _cell(record, cfg.balance_order_column))
        # (a row of another category naming a charge, a dispute of it or its dispute
        # reversed, goes with the case that holds the charge, as PayPal's and Adyen's
        # chargebacks: a refunded charge also disputed shows beside its refund case)
        collector.belongs = (hint if category in _BALANCE_CATEGORIES or named is not None
                             else None)
        if collector.duplicate(f"stripe-balance:{transaction}", row,
                               partial(_content, record), case=case,
                               cells=("balance_transaction_id",
                                      record["balance_transaction_id"])):
            continue
        if category not in _BALANCE_CATEGORIES:
            collector.quarantine(row, "reporting_category", record["reporting_category"],
                                 _balance_other_reason(record["reporting_category"],
                                                       category, named), case=case)
            continue
        prefixes, what = _BALANCE_SOURCE[category]
        if not source.startswith(prefixes):
            collector.quarantine(row, "source_id", record["source_id"],
                                 f"a {category} row's source_id is read as {what}: "
                                 "this one is not", case=case)
            continue
        charge = _cell(record, "charge_id")
        if category == "charge" and charge is not None and charge != source:
            collector.quarantine(row, "charge_id", record["charge_id"],
                                 f"a charge row's charge_id is its source_id ({source})",
                                 case=case)
            continue
        event_id = (f"stripe:{source}" if category != "refund_failure"
                    else f"stripe:{source}:refund_failure")
        # (one record of the charge or refund: the same id under another balance
        # transaction contradicts it, and is quarantined as a conflict)
        cells = (("source_id", record["source_id"]) if category != "refund_failure" else
                 ("source_id, reporting_category",
                  f"{record['source_id']}, {record['reporting_category']}"))
        if collector.duplicate(event_id, row, partial(_content, record), case=case,
                               cells=cells):
            continue
        checks: list[tuple[str, Callable[[], object]]] = [
            ("currency", partial(_currency, str(record["currency"]))),
            ("gross", partial(parse_major_in, str(record["gross"]),
                              str(record["currency"]))),
            ("created_utc", partial(_stripe_time, str(record["created_utc"]))),
        ]
        values = _checked(collector, row, record, checks, case)
        if values is None:
            continue
        currency, amount, time = str(values[0]), values[1], str(values[2])
        assert isinstance(amount, Decimal)
        not_negative, why = _BALANCE_SIGN[category]
        if amount != 0 and (amount < 0) == not_negative:
            collector.quarantine(row, "gross", record["gross"], why, case=case)
            continue
        base = _base(cfg, event_id, source, time, abs(amount), currency)
        status = _BALANCE_CATEGORIES[category]
        if category == "charge":
            method = (_cell(record, "payment_method_type")
                      or _cell(record, cfg.balance_method_column))
            collector.add(row, {**_charge(cfg, record, base, source, status, method),
                                C.ORDER_ID: _cell(record, cfg.balance_order_column)})
            continue
        event = _refund(cfg, base, source, charge, status,
                        _cell(record, cfg.balance_method_column), case,
                        _cell(record, cfg.balance_executor_column),
                        _cell(record, cfg.balance_order_column))
        if category == "refund_failure":  # (read once the file's refunds are known)
            failures.append((row, source, record, event))
            continue
        refunds[source] = (row, len(collector.records))
        collector.add(row, event)
    collector.belongs = None
    for row, source, record, event in failures:
        if source not in refunds:  # (its refund in an earlier report: a failed payout)
            collector.add(row, event)
            continue
        # The refund read in this file is the failed payout, at its time, as a refunds
        # export reads a failed refund: one event (its failure row is no second one).
        refund_row, at = refunds[source]
        collector.records[at].update({C.ACTIVITY: cfg.failed_refund_activity,
                                      C.PAYMENT_STATUS: "failed"})
        collector.quarantine(row, "reporting_category", record["reporting_category"],
                             f"the failure of refund {source}, whose refund (row "
                             f"{refund_row}) is read as the failed payout, as a refunds "
                             "export reads a failed refund: no second event",
                             case=_cell(record, cfg.balance_ticket_column))
    _finish(collector, export, positions, columns)
    _converted_note(export, collector, path)
    return collector


# --- Stripe: the Dashboard's payments export ------------------------------------------------
STRIPE_PAYMENTS_SIGNATURE = ("id", "Amount", "Currency")
"""With a `Created date (...)` or `Created (...)` column (`stripe_payments_header`): the
columns that tell the export of the Dashboard's Payments page (`unified_payments.csv`, a row
per payment, amounts in major units, columns named as the Dashboard shows them). The API's
charges and refunds CSVs name theirs in lower case (`amount`, `currency`, `created`)."""
STRIPE_PAYMENTS_CREATED = ("Created date (UTC)", "Created (UTC)")
"""The payment's time, in UTC, by the export's version: `Created date (UTC)` in the current
one, `Created (UTC)` in older ones (docs/sources.md: what is verified and what is assumed)."""
_CREATED_COLUMN = re.compile(r"^Created( date)? \((?P<zone>[^()]*)\)$")
_PAYMENTS_STATUS = {"paid": "succeeded", "refunded": "succeeded",
                    "partially refunded": "succeeded", "failed": "failed"}
"""The Dashboard's payment statuses read: `Paid`, `Refunded` (the payment went through; its
refunds are no payouts of this export, see `_refund_unread`), `Failed`. Any other status is
quarantined, never guessed."""
_REFUNDED_STATUSES = ("refunded", "partially refunded")
"""The statuses saying a payment was refunded: such a payment with no `Amount Refunded`
is a quarantine line of that field alone, as a total is."""
_PAYMENT_ID_PREFIXES = ("ch_", "py_")


def stripe_payments_header(header: Collection[str]) -> bool:
    """Whether a CSV header is the Stripe Dashboard's payments export's (or another export
    of the Dashboard naming its columns alike: `id`, `Amount`, `Currency` and a created
    time `Created date (ZONE)` or `Created (ZONE)`), read by `read_stripe_payments`."""
    names = set(header)
    return set(STRIPE_PAYMENTS_SIGNATURE) <= names and any(
        _CREATED_COLUMN.match(str(h)) for h in header)


REFUND_NOT_ITEMISED = "the payments export gives the total refunded, not the refunds"
"""What the reason of a Dashboard payment's `Amount Refunded` line of a refund given only as
a total says. `check` tells the cases whose refunds no input itemises (`CheckRun.
refunds_not_itemised`) by the kind its reader gives the line (`normalise.REFUND_TOTAL_HINT`),
never by this text (a Failed payment's cell quoting it was counted)."""


REFUNDED_ABOVE_CHARGE = "which Stripe never refunds (at most the amount charged)"
"""What the reason of a Dashboard payment's `Amount Refunded` above its `Amount` says. The
import keeps its line (`ImportResult.above_charge`) by the kind its reader gives it, with the
payment's Amount and Currency (`normalise.ABOVE_CHARGE_HINTS`), never by this text (a Failed
payment's cell quoting it was counted), and `check` warns of the money refunded beyond the
charge and counts the payments (`summary.refunded_above_charge`)."""


def stripe_payments_created(header: Collection[str]) -> str | None:
    """The created time's column of a Dashboard export's header (`Created date (UTC)`,
    `Created (UTC)`, or one naming another zone), the first; None where it has none."""
    return next((str(h) for h in header if _CREATED_COLUMN.match(str(h))), None)


def _refund_unread(refunded: str | None, currency: str, charge: str, date: str | None,
                   stated: str = "empty") -> str:
    """Why a payment's `Amount Refunded` is not read as a payout (its quarantine line of
    that field alone: the payment is read as the purchase). `refunded` None: the payment's
    status says refunded and the export gives no amount refunded (`stated`: the cell is
    `empty`, or `0.00`). The date is told, in UTC, where
    it is a time of the export, else said to be none (before, the cell went into the reason
    whole: a 40,000-character cell gave a 40,430-character reason)."""
    when = ""
    if date:
        try:
            # (the time read, in UTC: before, the cell as written, so a time stating an
            # offset, `10:00:00+02:00`, was labelled UTC)
            when = (f"; its Refunded date (UTC) {_dashboard_time(date)} is one date for "
                    "however many refunds")
        except BadValue:
            when = "; its Refunded date (UTC) is no time of the export (not read)"
    what = (f"{refunded} {currency} refunded of payment {charge}" if refunded is not None
            else f"payment {charge}'s status says refunded and its Amount Refunded is "
                 f"{stated} (the amount refunded not known)")
    return (f"{what}: {REFUND_NOT_ITEMISED}: "
            "no refund id, time, executor or ticket of "
            f"each{when}; not read as a payout (none is made up), so this case's payouts "
            "are not judged from this file: read the refunds from the itemized balance "
            "change report (Reports > Balance, itemized) or the refunds CSV beside it")


def _refund_contradicts(refunded: Decimal, amount: Decimal, currency: str,
                        charge: str) -> str | None:
    """Why a Dashboard payment's `Amount Refunded` (above zero) contradicts the payment, None
    where it does not: a refund above the payment's `Amount` is more than Stripe refunds (at
    most the amount charged, in its currency). Which field is wrong cannot be told: the
    payment is read at its Amount, and the amount refunded is not read, nor counted in the
    refunded payments' note; it is still a refund the export does not itemise (its reason
    says REFUND_NOT_ITEMISED, and its reader marks its line as one, `normalise.
    REFUND_TOTAL_HINT`, so the check's warnings count the case). A `Failed` payment's
    is `_failed_refunded`'s."""
    if refunded <= amount:
        return None
    return (f"{money(refunded)} {currency} refunded of payment {charge}: more than its "
            f"Amount, {money(amount)} {currency}, {REFUNDED_ABOVE_CHARGE}: the export "
            "contradicts itself, and which of the two is wrong "
            "is not guessed; the payment is read at its Amount, the amount refunded is not "
            f"read; {REFUND_NOT_ITEMISED}: read the refunds from the itemized balance change "
            "report or the refunds CSV beside it")


def _failed_refunded(cell: object, currency: str, charge: str, stated: str) -> str | None:
    """Why a `Failed` payment's `Amount Refunded` contradicts the payment, None where it
    is empty or zero: a failed payment took no money, so none of it can be refunded. Told of
    any other cell, whether it reads as an amount or not (`49,90`, `-5.00`, `=1+1`): the
    Status is tested before the amount is read, so such a cell is never told as a refund
    the export does not itemise (no REFUND_NOT_ITEMISED: the check's warnings do not count
    it as a refund not audited; before, an unreadable or negative one was). The payment is
    read as failed, the amount refunded not read; a cell that is no amount of the export is
    named as written, quoted (never at the start of the reason, a spreadsheet's formula)
    and cut where long. `stated`: the Status as written."""
    text = str(cell).strip()
    if not text:
        return None
    why = ""
    try:
        refunded = parse_major_in(text, currency)
    except BadValue as exc:
        why = str(exc)
    else:
        if not refunded:  # (0.00, -0.00: nothing refunded, as Stripe writes a failed one)
            return None
        if refunded < 0:
            why = "negative amount (this export writes amounts as magnitudes)"
    head = (f"Amount Refunded {shown_example(cell)} of payment {charge} (not read: {why})"
            if why else f"{money(refunded)} {currency} refunded of payment {charge}")
    return (head + f": its Status is {stated}, and a failed payment took no money, so none "
            "of it can be refunded: the export contradicts itself, and which of the two is "
            "wrong is not guessed; the payment is read as failed, the amount refunded is not "
            "read and not counted as a refund")


def read_stripe_payments(path: Path, cfg: PaymentConfig, *, encoding: str | None = None,
                         read: tuple[RawTable, list[RaggedRow]] | None = None) -> Collector:
    """The Stripe Dashboard's payments export (Payments > Export, `unified_payments.csv`):
    each payment the purchase (`Amount` in major units of `Currency`, at its created time
    in UTC, as the column's name says); its `Amount Refunded`, a total without the refunds'
    ids or times, is never read as a payout: a line of that field alone per refunded
    payment, with the payment's case, and a note counting them."""
    read = read or read_csv(path, encoding=encoding, strings="arrow")
    names = [str(c) for c in read[0].frame.columns]
    created = next((c for c in STRIPE_PAYMENTS_CREATED if c in names), None)
    if created is None:
        found = stripe_payments_created(names) or "Created date (UTC)"
        raise InputError(
            f"a Stripe Dashboard export whose created time is {found!r}: only its UTC "
            "columns are read (Created date (UTC), or Created (UTC) in older exports); "
            "export it again with the time zone UTC", file=path, field=found)
    if _has_refund_ids(read[0].frame):
        # (the first row holding one named: before, the file and field alone)
        ids = stripped(text_columns(read[0].frame, ["id"])["id"])
        refund = np.zeros(len(ids), dtype=bool)
        for prefix in STRIPE_REFUND_ID_PREFIXES:
            refund |= pc.fill_null(pc.starts_with(ids, prefix), False).to_numpy(
                zero_copy_only=False)
        first = int(np.flatnonzero(refund)[0])
        raise InputError(
            "refund ids (re_, pyr_) in a Stripe Dashboard export: the Dashboard's refunds "
            "export is not read (its columns are not verified, see docs/sources.md); read "
            "the refunds from the itemized balance change report (Reports > Balance, "
            "itemized) or the API's refunds CSV instead", file=path,
            row=int(read[0].rows[first]), field="id")
    export, collector = _start(path, "stripe", ("id", "Amount", "Amount Refunded",
                                                "Currency", "Status", created),
                               encoding, "Stripe Dashboard payments", read)
    idents = export.stripped("id")
    _read_from(collector, export, "Amount", "Currency", created)
    _ids_read_from(collector, export, "stripe:", "id", idents)
    refunded_rows: list[tuple[int, str]] = []
    unstated: list[tuple[int, str]] = []  # refunded by status, no Amount Refunded given
    contradicted: list[tuple[int, str]] = []  # refunded of a Failed payment, or above it
    totals: dict[str, Decimal] = {}
    for k in range(export.size):
        record, row = export.record(k), export.rows[k]
        collector.belongs = None
        case = _ticket_of(cfg, record)
        ident = str(record["id"]).strip()
        if not ident:
            collector.quarantine(row, "id", record["id"], EMPTY_ID, case=case)
            continue
        collector.belongs = (ident, _cell(record, cfg.order_column))
        if collector.duplicate(f"stripe:{ident}", row, partial(_content, record),
                               cells=("id", record["id"]), case=case):
            continue
        if not ident.startswith(_PAYMENT_ID_PREFIXES):
            collector.quarantine(row, "id", record["id"],
                                 "a payment's id is read as a charge's (ch_ or py_): this "
                                 "one is not", case=case)
            continue
        checks: list[tuple[str, Callable[[], object]]] = [
            ("Currency", partial(_currency, str(record["Currency"]))),
            ("Amount", partial(parse_major_in, str(record["Amount"]),
                               str(record["Currency"]))),
            (created, partial(_dashboard_time, str(record[created]))),
        ]
        values = _checked(collector, row, record, checks, case)
        if values is None:
            continue
        currency, amount, time = str(values[0]), values[1], str(values[2])
        assert isinstance(amount, Decimal)
        if amount < 0:
            collector.quarantine(row, "Amount", record["Amount"],
                                 "negative amount (this export writes amounts as "
                                 "magnitudes: a payment's Amount is not negative)", case=case)
            continue
        status = _PAYMENTS_STATUS.get(str(record["Status"]).strip().lower())
        if status is None:
            collector.quarantine(row, "Status", record["Status"],
                                 "unknown status of the Dashboard's payments export (read: "
                                 "Paid, Refunded, Failed)", case=case)
            continue
        if status == "succeeded" and (_cell(record, "Captured") or "").lower() == "false":
            collector.quarantine(row, "Captured", record["Captured"],
                                 "a payment authorised and not captured: no money taken, "
                                 f"{NO_CASE_EVENT}", case=case)
            continue
        base = _base(cfg, f"stripe:{ident}", ident, time, amount, currency)
        collector.add(row, _charge(cfg, record, base, ident, status, None))
        if status == "failed":
            # (the Status first: before, a Failed payment's Amount Refunded that could not
            # be read, or was negative, was told as a refund not itemised, and the check
            # warned that its refund was not audited at all)
            contradiction = _failed_refunded(record["Amount Refunded"], currency, ident,
                                             str(record["Status"]).strip())
            if contradiction is not None:
                collector.quarantine(row, "Amount Refunded", record["Amount Refunded"],
                                     contradiction, case=case, alone=True)
                contradicted.append((row, ident))
            continue
        text = str(record["Amount Refunded"]).strip()
        try:
            refunded = parse_major_in(text, currency) if text else None
        except BadValue as exc:
            # (a line of a refund not itemised, by which the check's warnings find it:
            # before, an unreadable total was a refunded payment they missed)
            collector.quarantine(row, "Amount Refunded", record["Amount Refunded"],
                                 f"{exc}; the amount refunded alone is not read: the "
                                 "payment is read as the purchase, and "
                                 f"{REFUND_NOT_ITEMISED}", case=case, alone=True,
                                 not_itemised=True)
            continue
        if not refunded:  # (empty, or 0: a refunded status with either is told alike)
            if str(record["Status"]).strip().lower() in _REFUNDED_STATUSES:
                # (refunded, by its status, of an amount not given: a line, not silence;
                # before, a total of 0.00 under such a status gave no line and no note)
                collector.quarantine(row, "Amount Refunded", record["Amount Refunded"],
                                     _refund_unread(None, currency, ident,
                                                    _cell(record, "Refunded date (UTC)"),
                                                    "empty" if refunded is None else text),
                                     case=case, alone=True, not_itemised=True)
                unstated.append((row, ident))
            continue
        if refunded < 0:
            collector.quarantine(row, "Amount Refunded", record["Amount Refunded"],
                                 "negative amount (this export writes amounts as magnitudes); "
                                 "the amount refunded alone is not read: the payment is read "
                                 f"as the purchase, and {REFUND_NOT_ITEMISED}", case=case,
                                 alone=True, not_itemised=True)
            continue
        contradiction = _refund_contradicts(refunded, amount, currency, ident)
        if contradiction is not None:
            # (a line naming both, not a refunded payment of the note: before, 60.00
            # refunded of 20.00 was accepted as a total)
            # (its kind, the payment's Amount and Currency carried with the line: before,
            # the import picked the line by its reason's text, and the check took the
            # Amount from the log, so a log's other amount of the charge was told)
            collector.quarantine(row, "Amount Refunded", record["Amount Refunded"],
                                 contradiction, case=case, alone=True,
                                 above_charge=(ident, money(amount), currency),
                                 not_itemised=True)
            contradicted.append((row, ident))
            continue
        collector.quarantine(row, "Amount Refunded", record["Amount Refunded"],
                             _refund_unread(money(refunded), currency, ident,
                                            _cell(record, "Refunded date (UTC)")),
                             case=case, alone=True, not_itemised=True)
        refunded_rows.append((row, ident))
        totals[currency] = totals.get(currency, Decimal(0)) + refunded
    collector.belongs = None
    if refunded_rows:
        row, ident = refunded_rows[0]
        collector.notes.append(
            f"{path.name}: {counted(len(refunded_rows), 'payment')} refunded in part or in "
            f"full ({', '.join(f'{money(v)} {c}' for c, v in sorted(totals.items()))}; "
            f"the first: row {row}, {ident}), whose refunds this Dashboard payments export "
            "does not itemise: read as purchases only, no payout made up (each a quarantine "
            "line of Amount Refunded with its case); read the itemized balance change "
            "report or the refunds CSV beside it to audit the refunds")
    if unstated:
        row, ident = unstated[0]
        collector.notes.append(
            f"{path.name}: {counted(len(unstated), 'payment')} whose status says refunded "
            f"state{'s' if len(unstated) == 1 else ''} no Amount Refunded (empty or 0; the "
            f"first: row {row}, {ident}): each read as its purchase only, a quarantine "
            "line of Amount Refunded with its case")
    if contradicted:
        row, ident = contradicted[0]
        collector.notes.append(
            f"{path.name}: {counted(len(contradicted), 'payment')} whose Amount Refunded "
            "contradicts the payment (a Failed payment's, which took no money, or one above "
            f"its Amount; the first: row {row}, {ident}): each read as its payment as the "
            "export states it, the amount refunded not read and not in the totals of the "
            "payments refunded (a quarantine line of Amount Refunded naming both)")
    return collector


def _dashboard_time(text: str) -> str:
    """A time of the Dashboard's payments export: 'YYYY-MM-DD HH:MM[:SS]' in UTC, as its
    column's name `(UTC)` says (a time stating an offset is converted); no Unix seconds."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadValue("not a time of the Dashboard's export (UTC 'YYYY-MM-DD HH:MM:SS')"
                       ) from exc
    if len(value) < 16:  # (a date alone: no time of day)
        raise BadValue("a date without a time of day (the export writes "
                       "'YYYY-MM-DD HH:MM:SS')")
    return in_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _converted_note(export: _Export, collector: Collector, path: Path) -> None:
    """The note on the events whose customer paid in another currency than the balance's
    (`customer_facing_currency`, where the report has it): their amount is `gross`, the
    money the balance received or gave back after conversion, in its currency, not the
    amount the customer was charged or refunded (`customer_facing_amount`, whose notation
    Stripe's documentation does not give)."""
    if "customer_facing_currency" not in export.names:
        return
    facing = _each_distinct(export.cell("customer_facing_currency"), str.upper)
    balance = _each_distinct(export.stripped("currency"), str.upper)
    other = np.asarray(pc.fill_null(pc.not_equal(facing, balance), False)
                       .to_numpy(zero_copy_only=False), dtype=bool)
    at = np.flatnonzero(other & np.isin(export.row_numbers,
                                        np.asarray(collector.rows, dtype=np.int64)))
    if not len(at):
        return
    k = int(at[0])
    collector.notes.append(
        f"{path.name}: {len(at)} charge(s) and refund(s) whose customer paid in another "
        f"currency than the balance's (first: row {export.rows[k]}, "
        f"{facing[k].as_py()} -> {balance[k].as_py()}): read with gross and currency, the "
        "amount in the balance's currency after conversion, not the amount the customer "
        "was charged or refunded")


def _balance_columns(cfg: PaymentConfig, export: _Export, collector: Collector,
                     ) -> tuple[list[int], list[int], dict[str, Column]]:
    """The rows of the balance change report read column-wise, the rest (read one by one),
    and the canonical columns of every row (`read_stripe_balance`'s events of the plain
    rows: a charge or a refund, the first of its balance transaction and the only one of
    its event id, whose refund no row of the report fails, of a known currency, a plain
    amount of the category's sign with no more decimals than its currency has, a plain UTC
    time and a source id of the category's kind)."""
    n = export.size
    transactions = export.stripped("balance_transaction_id")
    categories = _each_distinct(export.stripped("reporting_category"), str.lower)
    sources = export.stripped("source_id")
    charge, refund = _in(categories, ("charge",)), _in(categories, ("refund",))
    failure = _in(categories, ("refund_failure",))
    events = _joined("stripe:", sources)
    idents = pc.if_else(pa.array(failure), _joined(events, ":refund_failure"), events)
    # (a refund failure's id is its refund's and its category: `split_id` reads both back)
    written = {c: export.column(c) for c in ("source_id", "reporting_category")}
    collector.id_cells = IdCells(
        partial(split_id, "stripe:", ("source_id", "reporting_category")),
        written_cells(export.row_numbers, differ(written["source_id"], sources) | failure
                      & differ(written["reporting_category"], repeated_text("refund_failure", n))
                      | holds(sources, ":"),  # (`split_id` would split it at its `:`)
                      lambda at: ["source_id, reporting_category" if f else "source_id"
                                  for f in failure[at].tolist()], written))
    codes, _ = text_codes(idents)
    unique = np.bincount(codes)[codes] == 1
    failing = _in(sources, set(sources.filter(pa.array(failure)).to_pylist()))

    def starts(prefixes: tuple[str, ...]) -> Mask:
        found = np.zeros(n, dtype=bool)
        for prefix in prefixes:
            found |= _matches(sources, f"^{re.escape(prefix)}")
        return found

    currencies = _each_distinct(export.stripped("currency"), str.upper)
    gross = export.stripped("gross")
    amounts = _within_units(_major(gross, signed=True), currencies)
    negative = _matches(gross, "^-")
    zero = np.asarray(pc.fill_null(pc.match_substring_regex(amounts, r"^[0.]*$"), True)
                      .to_numpy(zero_copy_only=False), dtype=bool)
    times = utc_text(export.column("created_utc"), "%Y-%m-%d %H:%M:%S",
                     np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    charge_ids = export.cell("charge_id")
    own_charge = np.asarray(pc.fill_null(pc.equal(charge_ids, sources), True)
                            .to_numpy(zero_copy_only=False), dtype=bool)
    plain = ((charge & starts(_BALANCE_SOURCE["charge"][0]) & (~negative | zero) & own_charge
              | refund & starts(STRIPE_REFUND_ID_PREFIXES) & (negative | zero) & ~failing)
             & unique & _given(none_if_empty(transactions)) & _in(currencies, CURRENCIES)
             & _given(amounts) & _given(times))
    statuses = repeated_text("succeeded", n)
    columns = _base_columns(cfg, n, idents, sources, times, amounts, currencies)
    charges = _charge_columns(cfg, export, n, charge_id=sources, status=statuses,
                              method=pc.coalesce(export.cell("payment_method_type"),
                                                 export.cell(cfg.balance_method_column)))
    charges[C.ORDER_ID] = export.cell(cfg.balance_order_column)
    columns.update(_charges_and_refunds(refund, charges, _refund_columns(
        cfg, np.zeros(n, dtype=bool), refund_id=sources, charge_id=charge_ids,
        status=statuses, method=export.cell(cfg.balance_method_column),
        ticket=export.cell(cfg.balance_ticket_column),
        executor=export.cell(cfg.balance_executor_column),
        order=export.cell(cfg.balance_order_column))))
    positions, one_by_one = _split(export, collector,
                                   _joined("stripe-balance:", transactions), plain)
    return positions, one_by_one, columns


def _base_columns(cfg: PaymentConfig, n: int, keys: pa.Array, idents: pa.Array,
                  times: pa.Array, amounts: pa.Array,
                  currencies: pa.Array) -> dict[str, Column]:
    """`_base` per row, as columns."""
    return {C.EVENT_ID: keys, C.CASE: idents, C.TIMESTAMP: times,
            C.LIFECYCLE: repeated_text("complete", n), C.AMOUNT: amounts, C.CURRENCY: currencies,
            C.CHANNEL: repeated_text(cfg.channel, n)}


def _charge_columns(cfg: PaymentConfig, export: _Export, n: int, *, charge_id: pa.Array,
                    status: pa.Array, method: pa.Array) -> dict[str, Column]:
    """`_charge` per row, as columns (after `_base_columns`)."""
    return {C.ACTIVITY: repeated_text(cfg.charge_activity, n),
            C.RESOURCE: _or(export.cell(cfg.charge_resource_column), cfg.charge_resource),
            C.ORDER_ID: export.cell(cfg.order_column),
            C.CHARGE_ID: charge_id, C.PAYMENT_METHOD: method, C.PAYMENT_STATUS: status}


def _refund_columns(cfg: PaymentConfig, failed: Mask, *, refund_id: pa.Array,
                    charge_id: pa.Array, status: pa.Array, method: pa.Array,
                    ticket: pa.Array, executor: pa.Array,
                    order: pa.Array) -> dict[str, Column]:
    """`_refund` per row, as columns (after `_base_columns`)."""
    return {C.ACTIVITY: _pick(failed, cfg.failed_refund_activity, cfg.refund_activity),
            C.RESOURCE: executor, C.TICKET_ID: ticket, C.ORDER_ID: order,
            C.CHARGE_ID: charge_id, C.REFUND_ID: refund_id, C.PAYMENT_METHOD: method,
            C.PAYMENT_STATUS: status}


def _charges_and_refunds(refund: Mask, charge: dict[str, Column],
                         refunds: dict[str, Column]) -> dict[str, Column]:
    """Each row's charge or refund columns, by `refund`; a refund-only column (ticket,
    refund id) marked as such."""
    columns: dict[str, Column] = {}
    for name, values in refunds.items():
        assert not isinstance(values, tuple)
        if name in charge:
            other = charge[name]
            assert not isinstance(other, tuple)
            columns[name] = _pick(refund, values, other)
        else:
            columns[name] = (_pick(refund, values, None), refund)
    return columns


# --- PayPal -------------------------------------------------------------------------------
_GROUPED_DECIMAL = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+\.[0-9]+$"
_GROUPED_WHOLE = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+$"


def _matches(texts: pa.Array, pattern: str) -> Mask:
    return np.asarray(pc.fill_null(pc.match_substring_regex(texts, pattern), False)
                      .to_numpy(zero_copy_only=False), dtype=bool)


def _paypal_ungrouped(gross: pa.Array, currencies: pa.Array) -> tuple[pa.Array, Mask]:
    """PayPal's Gross without the thousands separators its Activity Download writes in an
    English-language account ("1,250.00", "-12,500" yen), and the rows that had them. Only
    where the commas cannot be a decimal comma: comma-separated groups of three digits
    before a decimal point, or, in a currency without minor units (JPY), with none after
    them. "1,250" in EUR (1.25 in a decimal-comma locale?) and "12,50" stay as they are
    (quarantined: the notation is not PayPal's English one)."""
    grouped = _matches(gross, _GROUPED_DECIMAL)
    whole = _matches(gross, _GROUPED_WHOLE)
    if whole.any():
        codes, distinct = text_codes(currencies)
        none = np.asarray([c in CURRENCIES and minor_units(c) == 0
                           for c in distinct.to_pylist()] + [False], dtype=bool)[codes]
        grouped |= whole & none
    if not grouped.any():
        return gross, grouped
    return pc.if_else(pa.array(grouped), pc.replace_substring(gross, ",", ""), gross), grouped


_DAY_MONTH = re.compile(r"^%([dm])([/.-])%([dm])\2%Y$")
"""A numeric date format with day and month in either order (`%d/%m/%Y`, `%m/%d/%Y`)."""


_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
"""The most days of each month (index 1 to 12; February's in a leap year)."""


def _date_orders(dates: pa.Array, separator: str) -> tuple[Mask, Mask, Mask]:
    """Per date `A<sep>B<sep>YYYY`, whether it shows day-first (A 13 to 31, B a month 1 to
    12, and A a day of that month in that year: 13/07/2026), month-first (the other way
    round: 07/13/2026) or either (both 1 to 12: 11/05/2026). A date fitting neither
    order (13/13/2026, 05/45/2026, 31/02/2026, 00/07/2026) is none of them: no evidence
    of the order, and unreadable in either (quarantined as such), never a vote for one."""
    found = pc.extract_regex(dates, f"^(?P<a>[0-9]{{1,2}}){re.escape(separator)}"
                                    f"(?P<b>[0-9]{{1,2}}){re.escape(separator)}"
                                    "(?P<y>[0-9]{4})$")

    def part(name: str) -> np.ndarray:
        number = pc.cast(pc.struct_field(found, name), pa.int64())
        return np.asarray(pc.fill_null(number, 0).to_numpy(zero_copy_only=False),
                          dtype=np.int64)

    a, b, year = part("a"), part("b"), part("y")
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))

    def is_day(day: np.ndarray, month: np.ndarray) -> Mask:
        month_ok = (month >= 1) & (month <= 12)
        most = _DAYS_IN_MONTH[np.where(month_ok, month, 0)]
        most = np.where((month == 2) & ~leap, 28, most)
        return np.asarray(month_ok & (day >= 1) & (day <= most), dtype=bool)

    small_a, small_b = (a >= 1) & (a <= 12), (b >= 1) & (b <= 12)
    day_first = is_day(a, b) & ~small_a
    month_first = is_day(b, a) & ~small_b
    return day_first, month_first, np.asarray(small_a & small_b, dtype=bool)


def _refuse_swapped_dates(export: _Export, date_format: str, path: Path) -> None:
    """InputError where the download's dates show the other order of day and month than
    the sources file's `date_format`: a date that reads only in the other order
    (07/13/2026 under %d/%m/%Y), where none reads only in the configured one
    (`_date_orders`: a date fitting neither order, 05/45/2026, is no evidence).
    Such a date is unreadable, and every date of the file up to the 12th is read with day
    and month swapped (07/11/2026, 11 July, read as 7 November), silently. A file whose
    dates show both orders is read as configured (its unreadable dates quarantined)."""
    shape = _DAY_MONTH.match(date_format)
    if shape is None or shape.group(1) == shape.group(3):
        return
    first, second, _ = _date_orders(export.stripped("Date"), shape.group(2))
    day_first = shape.group(1) == "d"
    own, other = (first, second) if day_first else (second, first)
    if own.any() or not other.any():
        return
    k = int(np.flatnonzero(other)[0])
    value = export.stripped("Date")[k].as_py()
    swapped = f"%{shape.group(3)}{shape.group(2)}%{shape.group(1)}{shape.group(2)}%Y"
    raise InputError(
        f"the dates are {'month' if day_first else 'day'}-first ({value}), but the sources "
        f"file's date_format for paypal is {date_format}: every date would be read with "
        f"day and month swapped; set date_format: \"{swapped}\" (the account's locale "
        "decides the order)", file=path, row=export.rows[k], field="Date")


def _paypal_date_order(export: _Export, path: Path, collector: Collector) -> str:
    """The date format of a download whose sources file sets no `date_format`: the order
    of day and month its dates show (`%d/%m/%Y` where one has a day from 13 to 31 first
    and a month second, 13/07/2026; `%m/%d/%Y` where one has them the other way round,
    07/13/2026; a note names the date that decides it; `_date_orders`). A date fitting
    neither order (13/13/2026, 05/45/2026) shows none and is quarantined as unreadable
    (before, any number above 12 counted: one such date decided the order or refused the
    file). A download whose readable dates are all up to the 12th in both places
    (11/05/2026: 11 May or 5 November) cannot tell, and one showing both orders
    contradicts itself: either is an InputError naming the file, the row and `Date`, and
    the date_format to set; the order is never guessed. A download with no date readable
    in either order is read day-first, as before (its dates quarantined as unreadable)."""
    dates = export.stripped("Date")
    first, second, shaped = _date_orders(dates, "/")
    choose = ('set date_format for paypal in a copy of the sources file (models/'
              'sources.default.yaml) given with --sources-config: "%m/%d/%Y" where the '
              'account writes month first (a US account), "%d/%m/%Y" where day first')
    if first.any() and second.any():
        k, j = int(np.flatnonzero(first)[0]), int(np.flatnonzero(second)[0])
        raise InputError(
            f"the dates show both orders of day and month ({dates[k].as_py()} at row "
            f"{export.rows[k]}, {dates[j].as_py()} at row {export.rows[j]}): which order "
            f"the account writes cannot be told; {choose}",
            file=path, row=export.rows[max(k, j)], field="Date")
    if first.any() or second.any():
        day_first = bool(first.any())
        k = int(np.flatnonzero(first if day_first else second)[0])
        fmt = "%d/%m/%Y" if day_first else "%m/%d/%Y"
        collector.notes.append(
            f"{path.name}: dates read {'day' if day_first else 'month'}-first ({fmt}), as "
            f"its date {dates[k].as_py()} (row {export.rows[k]}) shows; the sources file "
            "sets no date_format for paypal")
        return fmt
    if shaped.any():
        k = int(np.flatnonzero(shaped)[0])
        neither = np.flatnonzero(~shaped & _given(none_if_empty(dates)))
        besides = (f" (besides {counted(len(neither), 'date')} that read in neither order, "
                   f"such as {dates[int(neither[0])].as_py()} at row "
                   f"{export.rows[int(neither[0])]})" if len(neither) else "")
        raise InputError(
            f"every date is up to the 12th in both places ({dates[k].as_py()}: day-first "
            f"or month-first?){besides}, so the order of day and month cannot be told "
            f"from the file, and it is never guessed; {choose}", file=path,
            row=export.rows[k], field="Date")
    return "%d/%m/%Y"


def paypal_zone_column(header: list[str]) -> str:
    """The name of a PayPal download's time zone column (`PAYPAL_ZONE_COLUMNS`; `TimeZone`
    where it has none, which `require_columns` then names as missing)."""
    return next((c for c in PAYPAL_ZONE_COLUMNS if c in header), "TimeZone")


def read_paypal(path: Path, cfg: PaymentConfig, *, encoding: str | None = None) -> Collector:
    """PayPal Activity Download CSV: Date, Time, TimeZone (or Time zone), signed Gross in
    major units."""
    read = read_csv(path, encoding=encoding, strings="arrow")
    zone_column = paypal_zone_column(list(read[0].frame.columns))
    needed = tuple(zone_column if c == "TimeZone" else c for c in PAYPAL_COLUMNS)
    export, collector = _start(path, "paypal", needed, encoding, "PayPal activity download",
                               read)
    time_label = f"Date, Time, {zone_column}"
    _read_from(collector, export, "Gross", "Currency", time_label)
    n = export.size
    if cfg.date_format is None:
        date_format = _paypal_date_order(export, path, collector)
    else:
        _refuse_swapped_dates(export, cfg.date_format, path)
        date_format = cfg.date_format
    date_format += " %H:%M:%S"
    offsets, known = _offsets(export, zone_column)
    times = utc_text(_joined(export.column("Date"), export.column("Time"), separator=" "),
                     date_format, offsets, known)
    idents = export.stripped("Transaction ID")
    keys = _joined("paypal:", idents)
    _ids_read_from(collector, export, "paypal:", "Transaction ID", idents)
    kinds = _each_distinct(export.stripped("Type"), str.lower)
    refund = _in(kinds, _PAYPAL_REFUND_TYPES)
    currencies = _each_distinct(export.stripped("Currency"), str.upper)
    gross, grouped = _paypal_ungrouped(export.stripped("Gross"), currencies)
    amounts = _within_units(_major(gross, signed=True), currencies)
    statuses = _each_distinct(export.stripped("Status"),
                              lambda s: _PAYPAL_STATUS.get(s.lower()))
    charge = _in(kinds, _PAYPAL_CHARGE_TYPES) | np.asarray(
        pc.fill_null(pc.ends_with(kinds, _PAYPAL_RECEIVED), False)
        .to_numpy(zero_copy_only=False), dtype=bool)
    # The Gross's sign against the type: a refund paid is money out, a payment money in.
    negative = np.asarray(pc.starts_with(gross, "-").to_numpy(zero_copy_only=False),
                          dtype=bool)
    zero = np.asarray(pc.fill_null(pc.match_substring_regex(amounts, r"^[0.]*$"), True)
                      .to_numpy(zero_copy_only=False), dtype=bool)
    plain = ((refund & (negative | zero) | charge & ~negative) & _in(currencies, CURRENCIES)
             & _given(amounts) & _given(times) & _given(statuses)
             & _given(none_if_empty(idents)))
    methods = export.cell(cfg.method_column)
    columns = _base_columns(cfg, n, keys, idents, times, amounts, currencies)
    columns.update(_charges_and_refunds(
        refund,
        _charge_columns(cfg, export, n, charge_id=idents, status=statuses,
                        method=_or(methods, "paypal")),
        _refund_columns(cfg, _in(statuses, ("failed", "reversed")),
                        refund_id=idents, charge_id=export.cell("Reference Txn ID"),
                        status=statuses, method=methods,
                        ticket=export.cell(cfg.ticket_column),
                        executor=export.cell(cfg.executor_column),
                        order=export.cell(cfg.order_column))))
    positions, one_by_one = _split(export, collector, keys, plain)
    for k in one_by_one:
        record, row = export.record(k), export.rows[k]
        collector.belongs = None  # (no record's hint before its type is known)
        case = _ticket_of(cfg, record)  # (named in its quarantine lines)
        text, zone = f"{record['Date']} {record['Time']}", str(record[zone_column])
        ident = str(record["Transaction ID"]).strip()
        kind = str(record["Type"]).strip().lower()
        is_refund = kind in _PAYPAL_REFUND_TYPES
        hint = (_cell(record, "Reference Txn ID") if is_refund else ident or None,
                _cell(record, cfg.order_column))
        if is_refund or _paypal_charge(kind):
            collector.belongs = hint
        elif _cell(record, "Reference Txn ID"):
            # A row of another type about a payment (a chargeback or reversal of it, a
            # hold for its dispute, a conversion of its currency) names it: its quarantine
            # line goes with the case that holds the payment, as that case's row not
            # imported (before, it named no case: a refunded payment also charged back
            # showed nowhere beside its refund case).
            collector.belongs = (_cell(record, "Reference Txn ID"),
                                 _cell(record, cfg.order_column))
        # (A blank id is no record's: each such row is quarantined, after its type.)
        if ident and collector.duplicate(f"paypal:{ident}", row, partial(_content, record),
                                         cells=("Transaction ID", record["Transaction ID"]),
                                         case=case):
            continue
        if not is_refund and not _paypal_charge(kind):
            collector.quarantine(row, "Type", record["Type"],
                                 "not a payment or refund (fees, transfers, holds, currency "
                                 "conversions, chargebacks and reversals are not part of a "
                                 "refund case)",
                                 case=case)
            continue
        if not ident:
            collector.quarantine(row, "Transaction ID", record["Transaction ID"], EMPTY_ID,
                                 case=case)
            continue
        gross_text = str(record["Gross"])
        if grouped[k]:  # (the quarantine shows the cell as exported)
            gross_text = gross_text.replace(",", "")
        checks: list[tuple[str, Callable[[], object]]] = [
            ("Currency", partial(_currency, str(record["Currency"]))),
            ("Gross", partial(parse_major_in, gross_text, str(record["Currency"]))),
            (zone_column, partial(_known_zone, zone)),
            (time_label, partial(_time, times[k].as_py(), text, date_format, zone)),
        ]
        # A time is read from three cells: its quarantine line names them all and shows
        # each as written (as the normaliser's does), not the Date alone, which hid a
        # Time that could not be read ("06/07/2026" shown, "11:00" the fault).
        shown = {**record, time_label: f"{record['Date']}, {record['Time']}, {zone}"}
        values = _checked(collector, row, shown, checks, case)
        if values is None:
            continue
        currency, amount, _, time = (str(values[0]), values[1], values[2], str(values[3]))
        assert isinstance(amount, Decimal)
        if amount > 0 if is_refund else amount < 0:
            collector.quarantine(row, "Gross", record["Gross"], _PAYPAL_SIGN[is_refund],
                                 case=case)
            continue
        status = _PAYPAL_STATUS.get(str(record["Status"]).strip().lower())
        if status is None:
            collector.quarantine(row, "Status", record["Status"], "unknown PayPal status",
                                 case=case)
            continue
        base = _base(cfg, f"paypal:{ident}", ident, time, abs(amount), currency)
        method = _cell(record, cfg.method_column)
        if is_refund:
            collector.add(row, _refund(
                cfg, base, ident, _cell(record, "Reference Txn ID"), status, method,
                _cell(record, cfg.ticket_column), _cell(record, cfg.executor_column),
                _cell(record, cfg.order_column)))
        else:
            collector.add(row, _charge(cfg, record, base, ident, status, method or "paypal"))
    collector.belongs = None
    _finish(collector, export, positions, columns)
    return collector


# --- Adyen --------------------------------------------------------------------------------
def _references(cfg: PaymentConfig, export: _Export, refund: Mask,
                ) -> tuple[Mask, pa.Array, pa.Array]:
    """Per row: whether it is a refund whose merchant reference the reference pattern does
    not match, and the ticket and executor the pattern finds in a refund's reference."""
    n = export.size
    unmatched = np.zeros(n, dtype=bool)
    pattern = cfg.reference_pattern
    if pattern is None:
        return unmatched, pa.nulls(n, TEXT), pa.nulls(n, TEXT)
    tickets: list[str | None] = [None] * n
    executors: list[str | None] = [None] * n
    at = np.flatnonzero(refund)
    references = export.cell("Modification Merchant Reference").take(pa.array(at)).to_pylist()
    for k, reference in zip(at.tolist(), references, strict=True):
        if not reference:
            continue
        match = pattern.match(reference)
        if match is None:
            unmatched[k] = True
            continue
        groups = match.groupdict()
        tickets[k], executors[k] = groups.get("ticket"), groups.get("executor")
    return unmatched, pa.array(tickets, type=TEXT), pa.array(executors, type=TEXT)


def _unmatched_note(file: Path, unmatched: list[tuple[int, str]]) -> str:
    """The note on the refunds whose reference the pattern does not match (row, reference),
    naming the first."""
    row, reference = min(unmatched)
    return (f"{file.name}: {len(unmatched)} refund(s) whose Modification Merchant Reference "
            f"does not match the reference_pattern of the sources file (first: row {row}, "
            f"{reference!r}): read without a ticket and an executor, as a refund without a "
            "reference is")


_ZERO = re.compile(r"-?[0.]*0[0.]*")
_SIDES = ("Gross Debit (GC)", "Gross Credit (GC)")
"""The columns of the two sides of a settlement details row's amount."""


_ADYEN_DISPUTES = {
    "chargeback": "a chargeback: the card scheme took the payment back for the shopper's "
                  "dispute",
    "secondchargeback": "a second chargeback: the shopper's dispute pursued after the "
                        "merchant defended it",
    "chargebackreversed": "a chargeback reversed: the merchant won the dispute, the money "
                          "came back",
    "chargebackexternally": "a chargeback booked outside Adyen (by another acquirer)",
    "chargebackexternallywithinfo": "a chargeback booked outside Adyen (by another "
                                    "acquirer)",
    "chargebackreversedexternally": "a chargeback reversed outside Adyen (by another "
                                    "acquirer)",
    "notificationofchargeback": "the notice of a coming chargeback (no money moved yet)",
    "requestforinformation": "the card scheme's request for information on a dispute (no "
                             "money moved)",
}
"""The record types of a dispute of a payment (both Adyen reports, in lower case), each with
what it is: never a refund the merchant executed, so never read as a payout; quarantined
with the case that holds the payment its Psp Reference names (`_dispute_reason`)."""


_OF_PAYMENT = frozenset(_ADYEN_DISPUTES) | {"settledreversed"}
"""The record types of a row about a payment that is no event of a refund case (a dispute
of it, its capture reversed): quarantined with the case that holds the payment its Psp
Reference names (a fee or a payout to the merchant names no payment)."""


DISPUTE_FIELDS = ("Type", "Record Type", "reporting_category")
"""The quarantine fields that name a payment export row's type: PayPal's and Adyen's
Settlement details report's `Type`, Adyen's Payment accounting report's `Record Type`,
Stripe's balance report's `reporting_category`."""
_DISPUTE_TYPES = frozenset(_ADYEN_DISPUTES) | {"dispute", "dispute_reversal",
                                                "payment reversal"}
"""The row types (in lower case) of a dispute of a payment, besides every PayPal type naming
a chargeback or a dispute (`Chargeback`, `Chargeback Reversal`, `Hold on Balance for
Dispute Investigation`): Adyen's (`_ADYEN_DISPUTES`), Stripe's `dispute` and
`dispute_reversal`, PayPal's `Payment Reversal`."""


def dispute_lines(fields: pd.Series, values: pd.Series) -> Mask:
    """Per quarantine line (its `field` and `value`): a row quarantined for its type that is
    a chargeback or dispute of a payment (`DISPUTE_FIELDS`, `_DISPUTE_TYPES`), as the
    PayPal, Adyen and Stripe readers quarantine them. Decided on the distinct values."""
    of_type = fields.astype(object).isin(DISPUTE_FIELDS).to_numpy(dtype=bool)
    codes, uniques = pd.factorize(values.astype(object))
    texts = [str(u).strip().lower() for u in uniques]
    disputed = np.array([t in _DISPUTE_TYPES or "chargeback" in t or "dispute" in t
                         for t in texts] + [False], dtype=bool)
    return np.asarray(of_type & disputed[codes], dtype=bool)


def _dispute_reason(written: object, kind: str, psp: str) -> str:
    """The quarantine reason of a dispute row (`_ADYEN_DISPUTES`): its record type as
    written, what it is, and the payment it names."""
    of = f" of payment {psp}" if psp else " (naming no payment: no Psp Reference)"
    return (f"record type {str(written).strip()}{of}: {_ADYEN_DISPUTES[kind]}; a dispute the "
            "card scheme decides, not a refund the merchant executed: not part of a refund "
            "case, never read as a payout")


def _adyen_gross(collector: Collector, row: int, record: Record,
                 case: str | None = None) -> str | None:
    """The column that holds a row's amount: the debit or the credit, whichever is filled;
    where both are, the one that is not zero. A row with an amount on both sides is
    quarantined (None): which one the case moved is unknown."""
    debit, credit = _SIDES
    debit_text, credit_text = str(record[debit]).strip(), str(record[credit]).strip()
    if not debit_text or not credit_text or _ZERO.fullmatch(credit_text) or \
            _ZERO.fullmatch(debit_text):
        return _side(debit_text, credit_text)
    collector.quarantine(row, debit, record[debit],
                         f"both {debit} and {credit} ({credit_text}) hold an amount", case=case)
    return None


def _unsigned_major(text: str, currency: str) -> Decimal:
    """An Adyen amount: a magnitude (the side, debit or credit, tells its direction)."""
    return unsigned(parse_major_in(text, currency))


@dataclass(frozen=True)
class _AdyenRead:
    """What both Adyen readers read column-wise, per row: the event key and id, the time,
    amount and currency, the record type, the payment's Psp Reference, whether the row is a
    refund, and whether it is plain (read column-wise)."""

    keys: pa.Array
    idents: pa.Array
    times: pa.Array
    amounts: pa.Array
    currencies: pa.Array
    kinds: pa.Array
    psps: pa.Array
    refund: Mask
    plain: Mask


def _adyen_columns(cfg: PaymentConfig, export: _Export, collector: Collector, read: _AdyenRead,
                   charge_types: dict[str, str], refund_types: dict[str, str],
                   ) -> tuple[dict[str, Column], list[int], list[int], list[tuple[int, str]]]:
    """An Adyen report's columns of events (`charge_types`, `refund_types`: each record
    type's payment status), the positions read column-wise and those read one by one
    (`_split`), and the column-wise refunds whose merchant reference the reference pattern
    does not match (row, reference). (A refund whose reference the pattern does not match
    is kept, as one without a reference is: a payout outside the convention is the one an
    audit must see.)"""
    n = export.size
    methods = _each_distinct(export.cell("Payment Method"), lambda m: cfg.methods.get(m, m))
    if "" in cfg.methods:  # (`cfg.methods.get(m or "", m)` of an empty method)
        methods = pc.fill_null(methods, pa.scalar(cfg.methods[""], TEXT))
    statuses = _each_distinct(read.kinds,
                              lambda k: refund_types.get(k) or charge_types.get(k))
    unmatched, tickets, executors = _references(cfg, export, read.refund)
    columns = _base_columns(cfg, n, read.keys, read.idents, read.times, read.amounts,
                            read.currencies)
    columns.update(_charges_and_refunds(
        read.refund,
        _charge_columns(cfg, export, n, charge_id=read.psps, status=statuses,
                        method=methods),
        _refund_columns(cfg, _in(statuses, ("failed", "reversed")),
                        refund_id=read.idents, charge_id=none_if_empty(read.psps),
                        status=statuses, method=methods, ticket=tickets,
                        executor=executors, order=export.cell(cfg.order_column))))
    positions, one_by_one = _split(export, collector, read.keys, read.plain)
    references = export.cell("Modification Merchant Reference")
    not_matched = [(export.rows[k], str(references[k].as_py()))
                   for k in positions if unmatched[k]]
    return columns, positions, one_by_one, not_matched


def _adyen_reference(cfg: PaymentConfig, record: Record, row: int,
                     not_matched: list[tuple[int, str]]) -> tuple[str | None, str | None]:
    """A refund row's ticket and executor, from its Modification Merchant Reference by the
    reference pattern; a reference the pattern does not match is added to `not_matched`."""
    reference = _cell(record, "Modification Merchant Reference") or ""
    if cfg.reference_pattern is None or not reference:
        return None, None
    match = cfg.reference_pattern.match(reference)
    if match is None:
        not_matched.append((row, reference))
        return None, None
    groups = match.groupdict()
    return groups.get("ticket"), groups.get("executor")


def read_adyen(path: Path, cfg: PaymentConfig, *, encoding: str | None = None) -> Collector:
    """Adyen Settlement details report: Creation Date + TimeZone, Gross Debit/Credit (GC);
    a Payment accounting report (`adyen_accounting_header`) is read by
    `read_adyen_accounting`."""
    read = read_csv(path, encoding=encoding, strings="arrow")
    header = [str(c) for c in read[0].frame.columns]
    # (`Record Type` is the accounting report's alone, the settlement report has `Type`:
    # one without `Booking Date` is refused naming it, not the settlement columns)
    if adyen_accounting_header(header) or "Record Type" in header:
        return read_adyen_accounting(path, cfg, encoding=encoding, read=read)
    export, collector = _start(path, "adyen", ADYEN_COLUMNS, encoding,
                               "Adyen settlement details", read)
    # (a row's amount is the side of the two that is filled)
    _read_from(collector, export, "Gross Debit (GC) or Gross Credit (GC)", "Gross Currency",
               "Creation Date, TimeZone")
    offsets, known = _offsets(export, "TimeZone")
    times = utc_text(export.column("Creation Date"), "%Y-%m-%d %H:%M:%S", offsets, known)
    kinds = _each_distinct(export.stripped("Type"), str.lower)
    psps = export.stripped("Psp Reference")
    modifications = export.stripped("Modification Reference")
    idents = pc.if_else(pc.equal(modifications, ""), psps, modifications)
    keys = _joined("adyen", idents, kinds, separator=":")
    _adyen_ids_read_from(collector, export, "Type", kinds, _ADYEN_CHARGE_TYPES,
                         "Modification Reference", _given(none_if_empty(modifications)), idents)
    refund = _in(kinds, _ADYEN_REFUND_TYPES)
    currencies = _each_distinct(export.stripped("Gross Currency"), str.upper)
    debits = export.stripped("Gross Debit (GC)")
    credits = export.stripped("Gross Credit (GC)")
    amounts = _within_units(_major(pc.if_else(pc.equal(debits, ""), credits, debits)),
                            currencies)
    # One side holds the amount: where both are filled, read one by one (`_adyen_gross`).
    one_side = np.asarray(pc.or_(pc.equal(debits, ""), pc.equal(credits, ""))
                          .to_numpy(zero_copy_only=False), dtype=bool)
    plain = ((refund | _in(kinds, _ADYEN_CHARGE_TYPES)) & _in(currencies, CURRENCIES)
             & _given(amounts) & _given(times) & one_side
             & _given(none_if_empty(idents)))
    columns, positions, one_by_one, not_matched = _adyen_columns(
        cfg, export, collector, _AdyenRead(keys, idents, times, amounts, currencies, kinds,
                                           psps, refund, plain),
        _ADYEN_CHARGE_TYPES, _ADYEN_REFUND_TYPES)
    for k in one_by_one:
        record, row = export.record(k), export.rows[k]
        collector.belongs = None  # (no record's hint before its type is known)
        case = _ticket_of(cfg, record)  # (named in its quarantine lines)
        text, zone = str(record["Creation Date"]), str(record["TimeZone"])
        kind = str(record["Type"]).strip().lower()
        psp = str(record["Psp Reference"]).strip()
        modification = str(record["Modification Reference"]).strip()
        ident = modification or psp
        # (A blank id is no record's: each such row is quarantined, after its type; a
        # merchant payout has no Psp Reference.)
        if kind in _ADYEN_CHARGE_TYPES or kind in _ADYEN_REFUND_TYPES or kind in _OF_PAYMENT:
            # (A chargeback names its payment: its quarantine line goes with the case that
            # holds the payment, as PayPal's; a fee or a payout to the merchant names none.)
            collector.belongs = (psp or None, _cell(record, cfg.order_column))
        if ident and collector.duplicate(
                f"adyen:{ident}:{kind}", row, partial(_content, record), case=case,
                cells=partial(_adyen_cells, record, "Modification Reference" if modification
                              else "Psp Reference", "Type")):
            continue
        if kind in _ADYEN_DISPUTES:
            collector.quarantine(row, "Type", record["Type"],
                                 _dispute_reason(record["Type"], kind, psp), case=case)
            continue
        if kind not in _ADYEN_CHARGE_TYPES and kind not in _ADYEN_REFUND_TYPES:
            collector.quarantine(row, "Type", record["Type"],
                                 "not a settled payment or refund (fees, payouts and "
                                 "chargebacks are not part of a refund case)",
                                 case=case)
            continue
        if not ident:  # (a refund without its own reference is keyed by the payment's)
            collector.quarantine(row, "Psp Reference", record["Psp Reference"], EMPTY_ID,
                                 case=case)
            continue
        gross = _adyen_gross(collector, row, record, case)
        if gross is None:
            continue
        checks: list[tuple[str, Callable[[], object]]] = [
            ("Gross Currency", partial(_currency, str(record["Gross Currency"]))),
            (gross, partial(_unsigned_major, str(record[gross]),
                            str(record["Gross Currency"]))),
            ("TimeZone", partial(_known_zone, zone)),
            ("Creation Date", partial(_time, times[k].as_py(), text, "%Y-%m-%d %H:%M:%S",
                                      zone)),
        ]
        values = _checked(collector, row, record, checks, case)
        if values is None:
            continue
        currency, amount, _, time = (str(values[0]), values[1], values[2], str(values[3]))
        assert isinstance(amount, Decimal)
        raw_method = _cell(record, "Payment Method")
        method = cfg.methods.get(raw_method or "", raw_method)
        base = _base(cfg, f"adyen:{ident}:{kind}", ident, time, amount, currency)
        if kind in _ADYEN_CHARGE_TYPES:
            collector.add(row, _charge(cfg, record, base, psp, _ADYEN_CHARGE_TYPES[kind],
                                       method))
            continue
        ticket, executor = _adyen_reference(cfg, record, row, not_matched)
        collector.add(row, _refund(cfg, base, modification or psp, psp or None,
                                   _ADYEN_REFUND_TYPES[kind], method, ticket, executor,
                                   _cell(record, cfg.order_column)))
    collector.belongs = None
    if not_matched:
        collector.notes.append(_unmatched_note(path, not_matched))
    _finish(collector, export, positions, columns)
    elsewhere = _refunded_elsewhere(cfg, export, kinds, psps, modifications, collector.rows)
    if elsewhere:
        collector.notes.append(f"{path.name}: {elsewhere}")
    _name_sides(collector, export, debits, credits)
    return collector


def _refunded_elsewhere(cfg: PaymentConfig, export: _Export, kinds: pa.Array,
                        psps: pa.Array, modifications: pa.Array,
                        imported: list[int] | npt.NDArray[np.int64]) -> str | None:
    """The note on the refunds (`Refunded`) of a Settlement details report made at another
    store than their payment's sale (the `Settled` row of the same `Psp Reference` in this
    report): by the store column (`charge_resource_column`, Adyen's `Store`), which is read
    as the sale's terminal and is no column of a refund's event, so a store auditor would
    not see it otherwise. None where there is none (or no such column). No rule judges
    where a refund was made (a chain may let any store refund any store's sales). Each
    refund imported (its row among `imported`, the rows read into records) counts once, by
    its reference: before, a refund's repeated row and a quarantined refund counted too."""
    column = cfg.charge_resource_column
    if column is None or column not in export.names:
        return None
    frame = pd.DataFrame({
        "kind": kinds.to_pylist(), "psp": psps.to_pylist(),
        "store": export.cell(column).to_pylist(), "refund": modifications.to_pylist(),
        "row": np.asarray(export.row_numbers, dtype=np.int64)})
    frame = frame[frame["store"].notna() & (frame["psp"] != "")]
    sales = frame[frame["kind"].isin(list(_ADYEN_CHARGE_TYPES))].drop_duplicates("psp")
    refunds = frame[frame["kind"].isin(["refunded", "refundedbulk"])
                    & frame["row"].isin(np.asarray(imported, dtype=np.int64))]
    refunds = refunds.assign(key=refunds["refund"].where(refunds["refund"].fillna("") != "",
                                                         refunds["psp"]))
    refunds = refunds.sort_values("row", kind="stable").drop_duplicates("key")
    paired = refunds.merge(sales[["psp", "store"]], on="psp", suffixes=("", "_sold"))
    other = paired[paired["store"].str.casefold() != paired["store_sold"].str.casefold()]
    if other.empty:
        return None
    first = other.sort_values("row").iloc[0]
    refund = first["refund"] or first["psp"]
    return (f"{counted(len(other), 'refund', spec=',')} made at another store than their payment's "
            f"sale ({column} of the Refunded row against the Settled row's; the first: row "
            f"{first['row']}, refund {refund} of payment {first['psp']}, sold at "
            f"{first['store_sold']}, refunded at {first['store']}); no rule judges where a "
            "refund was made: see whether your stores may refund each other's sales")


def _name_sides(collector: Collector, export: _Export, debits: pa.Array,
                credits: pa.Array) -> None:
    """The side each record's amount was read from, as `_adyen_gross` chooses it, for the
    lines of the normaliser's checks (`Collector.field_rows`): looked up for those rows
    only, by their row numbers among the export's."""
    numbers = export.row_numbers

    def sides(_frame: pd.DataFrame, _at: npt.NDArray[np.intp],
              rows: npt.NDArray[np.int64]) -> list[str]:
        at = pa.array(np.searchsorted(numbers, rows))
        return [_side(str(debit or ""), str(credit or "")) for debit, credit in zip(
            debits.take(at).to_pylist(), credits.take(at).to_pylist(), strict=True)]

    collector.field_rows[C.AMOUNT] = sides


def _side(debit_text: str, credit_text: str) -> str:
    """The column of the side `_adyen_gross` reads a row's amount from, of its debit and
    credit (stripped)."""
    if not debit_text or not credit_text or _ZERO.fullmatch(credit_text):
        return _SIDES[0] if debit_text else _SIDES[1]
    return _SIDES[1] if _ZERO.fullmatch(debit_text) else _SIDES[0]


# --- Adyen: the Payment accounting report -------------------------------------------------
ADYEN_ACCOUNTING_SIGNATURE = ("Psp Reference", "Booking Date", "Record Type")
"""The columns that tell Adyen's Payment accounting report (a row per status change of a
payment: `Booking Date`, `Record Type`) from its Settlement details report (`Creation
Date`, `Type`), which has neither of the last two."""
ADYEN_ACCOUNTING_COLUMNS = ("Psp Reference", "Merchant Reference", "Booking Date", "TimeZone",
                            "Record Type", "Main Currency", "Main Amount")
"""What the reader needs (see docs/sources.md for what is confirmed of the layout)."""
ADYEN_MODIFICATION_COLUMNS = ("Modification Psp Reference", "Modification Reference")
"""Where the report holds a modification's (a refund's) own PSP reference, the first
present: `Modification Psp Reference` as public readers of the report name it;
`Modification Reference`, the Settlement details report's name for it, as a second
choice. Without either, a refund is keyed by its payment's Psp Reference."""
_ACCOUNTING_CHARGE_TYPES = {"settled": "succeeded", "settledexternally": "succeeded"}
"""The record types that are a payment's purchase: its capture settled (through Adyen, or
outside it, e.g. by the card scheme directly)."""
_ACCOUNTING_REFUND_TYPES = {"refunded": "succeeded", "refundedexternally": "succeeded",
                            "sentforrefund": "pending", "refundfailed": "failed",
                            "refundedreversed": "reversed"}
"""The record types that are a refund's payout, and its payment status."""
_ACCOUNTING_BOOKED = ("refunded", "refundedexternally", "refundfailed")
"""The outcomes of a refund request: a SentForRefund row of a refund that the report books
(or fails) is its request, not a second payout."""
_BEFORE_SETTLEMENT = ("a step of the payment before its capture is settled: the payment's "
                      "purchase is its Settled row")
_NO_MONEY = "no money was taken: not part of a refund case"
_ACCOUNTING_NOT_EVENTS = {
    "received": _BEFORE_SETTLEMENT, "authorised": _BEFORE_SETTLEMENT,
    "authorisedpending": _BEFORE_SETTLEMENT, "sentforsettle": _BEFORE_SETTLEMENT,
    "refused": f"a payment refused by the acquirer or the risk checks, {_NO_MONEY}",
    "error": f"a payment attempt that ended in an error, {_NO_MONEY}",
    "cancelled": f"an authorisation cancelled before its capture, {_NO_MONEY}",
    "expired": f"an authorisation that expired uncaptured, {_NO_MONEY}",
    "settledreversed": ("a settlement reversed (the capture taken back, not a refund the "
                        "merchant executed): not part of a refund case"),
}
"""The record types that are no event of a refund case, each with the reason its rows are
quarantined (never dropped)."""


def adyen_accounting_header(header: Collection[str]) -> bool:
    """Whether a CSV header is Adyen's Payment accounting report's
    (`ADYEN_ACCOUNTING_SIGNATURE`)."""
    return set(ADYEN_ACCOUNTING_SIGNATURE) <= set(header)


def read_adyen_accounting(path: Path, cfg: PaymentConfig, *, encoding: str | None = None,
                          read: tuple[RawTable, list[RaggedRow]] | None = None) -> Collector:
    """Adyen's Payment accounting report: a row per status change of a payment (its
    `Record Type`), at `Booking Date` in the zone `TimeZone` names, with `Main Amount` in
    `Main Currency`. A Settled (or SettledExternally) row is the purchase; Refunded and
    RefundedExternally a payout; SentForRefund a payout still pending where the report
    holds no booking or failure of that refund (else its request, quarantined saying so);
    RefundFailed and RefundedReversed a failed payout; a dispute (`_ADYEN_DISPUTES`) goes to
    the quarantine with the case of the payment it names; every other record type with the
    reason (`_ACCOUNTING_NOT_EVENTS`), an unknown one as such. Rows of
    plain shape are read column-wise, the others one by one (as the other readers)."""
    export, collector = _start(path, "adyen", ADYEN_ACCOUNTING_COLUMNS, encoding,
                               "Adyen payment accounting report", read)
    _read_from(collector, export, "Main Amount", "Main Currency", "Booking Date, TimeZone")
    modification_column = next((c for c in ADYEN_MODIFICATION_COLUMNS if c in export.names),
                               None)
    fmt = "%Y-%m-%d %H:%M:%S"
    offsets, known = _offsets(export, "TimeZone")
    times = utc_text(export.column("Booking Date"), fmt, offsets, known)
    kinds = _each_distinct(export.stripped("Record Type"), str.lower)
    psps = export.stripped("Psp Reference")
    idents = pc.coalesce(export.cell(modification_column), psps)
    keys = _joined("adyen", idents, kinds, separator=":")
    _adyen_ids_read_from(collector, export, "Record Type", kinds, _ACCOUNTING_CHARGE_TYPES,
                         modification_column, _given(export.cell(modification_column)),
                         idents)
    refund = _in(kinds, _ACCOUNTING_REFUND_TYPES)
    # A refund the report books or fails: its SentForRefund row is its request (one by one)
    booked_at = np.flatnonzero(_in(kinds, _ACCOUNTING_BOOKED) & _given(none_if_empty(idents)))
    booked: dict[str, tuple[int, str]] = {}  # refund id -> its first booking's row, type
    booked_types = export.stripped("Record Type").take(pa.array(booked_at)).to_pylist()
    for k, ident, kind in zip(booked_at.tolist(), idents.take(pa.array(booked_at)).to_pylist(),
                              booked_types, strict=True):
        booked.setdefault(ident, (export.rows[k], kind))
    request = _in(kinds, ("sentforrefund",)) & _in(idents, booked)
    currencies = _each_distinct(export.stripped("Main Currency"), str.upper)
    amounts = _within_units(_major(export.stripped("Main Amount"), signed=True), currencies)
    plain = ((refund | _in(kinds, _ACCOUNTING_CHARGE_TYPES)) & ~request
             & _in(currencies, CURRENCIES) & _given(amounts) & _given(times)
             & _given(none_if_empty(idents)))
    columns, positions, one_by_one, not_matched = _adyen_columns(
        cfg, export, collector, _AdyenRead(keys, idents, times, amounts, currencies, kinds,
                                           psps, refund, plain),
        _ACCOUNTING_CHARGE_TYPES, _ACCOUNTING_REFUND_TYPES)
    added_sales = 0  # (the sales read one by one, for the note on their resource)
    for k in one_by_one:
        record, row = export.record(k), export.rows[k]
        collector.belongs = None
        kind = str(record["Record Type"]).strip().lower()
        ident = _cell(record, modification_column) or str(record["Psp Reference"]).strip()
        case = _ticket_of(cfg, record)  # (named in its quarantine lines)
        if kind == "sentforrefund" and ident in booked:
            at, outcome = booked[ident]
            collector.quarantine(row, "Record Type", record["Record Type"],
                                 f"the request of refund {ident}, whose {outcome} row (row "
                                 f"{at}) is read as its payout: no second event", case=case)
            continue
        # (A request read from one month's report and its booking from the next are two
        # events, the pending one and the paid one: the rules judge a pending payout as
        # not paid, so the refund counts once. One event id for both would keep the
        # request and quarantine the booking as a repeat, hiding the payment.)
        key = f"adyen:{ident}:{kind}"
        psp = str(record["Psp Reference"]).strip()
        if kind in _ACCOUNTING_CHARGE_TYPES or kind in _ACCOUNTING_REFUND_TYPES \
                or kind in _OF_PAYMENT:
            # (a chargeback, a settlement reversed, names its payment: its line goes with
            # the case that holds it)
            collector.belongs = (psp or None, _cell(record, cfg.order_column))
        # (A blank id is no record's: each such row is quarantined, after its type.)
        if ident and collector.duplicate(
                key, row, partial(_content, record), case=case,
                cells=partial(_adyen_cells, record, modification_column
                              if modification_column is not None
                              and _cell(record, modification_column) else "Psp Reference",
                              "Record Type")):
            continue
        if kind in _ADYEN_DISPUTES:
            collector.quarantine(row, "Record Type", record["Record Type"],
                                 _dispute_reason(record["Record Type"], kind, psp), case=case)
            continue
        if kind in _ACCOUNTING_NOT_EVENTS:
            collector.quarantine(row, "Record Type", record["Record Type"],
                                 _ACCOUNTING_NOT_EVENTS[kind], case=case)
            continue
        if kind not in _ACCOUNTING_CHARGE_TYPES and kind not in _ACCOUNTING_REFUND_TYPES:
            collector.quarantine(row, "Record Type", record["Record Type"],
                                 "unknown record type of the Adyen payment accounting report",
                                 case=case)
            continue
        if not ident:
            collector.quarantine(row, "Psp Reference", record["Psp Reference"], EMPTY_ID,
                                 case=case)
            continue
        zone = str(record["TimeZone"])
        checks: list[tuple[str, Callable[[], object]]] = [
            ("Main Currency", partial(_currency, str(record["Main Currency"]))),
            ("Main Amount", partial(parse_major_in, str(record["Main Amount"]),
                                    str(record["Main Currency"]))),
            ("TimeZone", partial(_known_zone, zone)),
            ("Booking Date", partial(_time, times[k].as_py(), str(record["Booking Date"]),
                                     fmt, zone)),
        ]
        values = _checked(collector, row, record, checks, case)
        if values is None:
            continue
        currency, amount, _, time = (str(values[0]), values[1], values[2], str(values[3]))
        assert isinstance(amount, Decimal)
        raw_method = _cell(record, "Payment Method")
        method = cfg.methods.get(raw_method or "", raw_method)
        # (Main Amount is a movement, signed by its direction: the amount is its magnitude)
        base = _base(cfg, key, ident, time, abs(amount), currency)
        if kind in _ACCOUNTING_CHARGE_TYPES:
            collector.add(row, _charge(cfg, record, base, psp, _ACCOUNTING_CHARGE_TYPES[kind],
                                       method))
            added_sales += 1
            continue
        ticket, executor = _adyen_reference(cfg, record, row, not_matched)
        status = _ACCOUNTING_REFUND_TYPES[kind]
        collector.add(row, _refund(cfg, base, ident, psp or None, status, method, ticket,
                                   executor, _cell(record, cfg.order_column)))
    collector.belongs = None
    if not_matched:
        collector.notes.append(_unmatched_note(path, not_matched))
    sales = added_sales + int(np.count_nonzero(
        _in(kinds, _ACCOUNTING_CHARGE_TYPES)[np.asarray(positions, dtype=np.intp)]))
    if sales and cfg.charge_resource is None and (
            cfg.charge_resource_column is None or cfg.charge_resource_column not in export.names):
        # (The Settlement details report names the sale's terminal; this report does not.)
        collector.notes.append(
            f"{path.name}: {counted(sales, 'sale')} name no resource: the "
            f"report has no {cfg.charge_resource_column or 'terminal'} column, so "
            "missing-resource (DQ002) flags each; name the system that booked them with "
            "`charge_resource` for adyen in the sources configuration (or give the "
            "Settlement details report, whose sales name their terminal)")
    _finish(collector, export, positions, columns)
    return collector
