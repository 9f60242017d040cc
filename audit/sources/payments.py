"""Stripe, PayPal and Adyen exports -> canonical purchase and payout events.

A charge (sale) becomes the channel's purchase event; a refund becomes a payout, or a failed
payout when the system says it failed or was reversed (kept, with its status, never dropped).
Amounts become magnitudes in major units; times are converted to UTC from the zone the export
states. Who executed a refund comes from the column the sources file names (see docs/sources.md).

Rows are read column-wise where every value has its plain shape (a known currency, a plain
amount, a numeric time in a known zone, a known type and status) and the id is read for the
first time; all other rows are read one by one, as every row was before, so that duplicates,
quarantine reasons and their order are exactly those of the row-by-row reading (`FAST_PATH`
off, which the tests compare with).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit import canonical as C
from audit.currency import CURRENCIES
from audit.ingest.csv_reader import RaggedRow, read_csv
from audit.ingest.raw import RawTable
from audit.sources.common import (
    ZONE_ABBREVIATIONS,
    BadValue,
    Collector,
    abbreviated_to_utc,
    minor_money,
    minor_money_column,
    money,
    object_array,
    parse_major,
    parse_minor,
    require_columns,
    utc_column,
)
from audit.sources.config import PaymentConfig

STRIPE_CHARGE_COLUMNS = ("id", "amount", "currency", "created", "status")
STRIPE_REFUND_COLUMNS = ("id", "charge", "amount", "currency", "created", "status")
PAYPAL_COLUMNS = ("Date", "Time", "TimeZone", "Type", "Status", "Currency", "Gross",
                  "Transaction ID", "Reference Txn ID")
ADYEN_COLUMNS = ("Psp Reference", "Merchant Reference", "Creation Date", "TimeZone", "Type",
                 "Modification Reference", "Gross Currency", "Gross Debit (GC)",
                 "Gross Credit (GC)")

_STRIPE_STATUS = {"succeeded": "succeeded", "paid": "succeeded", "pending": "pending",
                  "requires_action": "pending", "failed": "failed", "canceled": "failed",
                  "cancelled": "failed", "reversed": "reversed"}
_PAYPAL_STATUS = {"completed": "succeeded", "pending": "pending", "denied": "failed",
                  "failed": "failed", "reversed": "reversed", "canceled": "failed",
                  "cancelled": "failed", "refunded": "succeeded"}
_PAYPAL_CHARGE_TYPES = ("subscription payment", "express checkout payment",
                        "website payment", "preapproved payment bill user payment",
                        "mobile payment", "general payment", "recurring payment")
_PAYPAL_REFUND_TYPES = ("payment refund", "refund")
_ADYEN_CHARGE_TYPES = {"settled": "succeeded", "settledbulk": "succeeded"}
_ADYEN_REFUND_TYPES = {"refunded": "succeeded", "refundedbulk": "succeeded",
                       "refundedreversed": "reversed", "refundfailed": "failed"}


Record = dict[str, object]
"""One export row: column name -> its cell text."""

FAST_PATH = True
"""Read the rows of plain shape column-wise (see the module doc); False reads every row one
by one."""

Mask = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]


def _cell(record: Record, column: str | None) -> str | None:
    if column is None or column not in record:
        return None
    value = str(record[column]).strip()
    return value or None


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


def _times(texts: list[str], fmt: str, zones: list[str]) -> list[str | None]:
    """Each text at its row's zone abbreviation in UTC, read column-wise where it has the
    plain shape of `fmt`; None where it must be read one by one (see `_time`)."""
    offsets: dict[str, int | None] = {}
    for zone in set(zones):
        offset = ZONE_ABBREVIATIONS.get(zone.strip().upper())
        offsets[zone] = None if offset is None else int(offset.total_seconds())
    found = [offsets[z] for z in zones]
    seconds = np.asarray([o or 0 for o in found], dtype=np.int64)
    known = np.asarray([o is not None for o in found], dtype=bool)
    return utc_column(texts, fmt, seconds, known)


def _time(fast: str | None, text: str, fmt: str, zone: str) -> str:
    """`abbreviated_to_utc`, unless the column-wise reading has the result already."""
    return fast if fast is not None else abbreviated_to_utc(text, fmt, zone)


def _checked(collector: Collector, row: int, record: Record,
             checks: list[tuple[str, Callable[[], object]]]) -> list[object] | None:
    """Run each column's parser; quarantine the row at the first column that fails."""
    values: list[object] = []
    for column, parse in checks:
        try:
            values.append(parse())
        except BadValue as exc:
            collector.quarantine(row, column, record.get(column), str(exc))
            return None
    return values


def _content(record: Record) -> tuple[object, ...]:
    return tuple(str(v) for v in record.values())


class _Export:
    """An export's cells column by column (as read), with each column's stripped texts made
    once; a row as a record (column -> cell) only where it is read one by one."""

    def __init__(self, frame: pd.DataFrame, rows: list[int]) -> None:
        self.names = [str(c) for c in frame.columns]
        self.cells: dict[str, list[object]] = {
            name: frame.iloc[:, k].tolist() for k, name in enumerate(self.names)}
        self.rows = rows
        self.size = len(rows)
        self._stripped: dict[str, list[str]] = {}

    def text(self, column: str) -> list[str]:
        return [str(v) for v in self.cells[column]]

    def stripped(self, column: str) -> list[str]:
        if column not in self._stripped:
            self._stripped[column] = [str(v).strip() for v in self.cells[column]]
        return self._stripped[column]

    def cell(self, column: str | None) -> list[str | None]:
        """`_cell` of every row: the stripped text, None where empty or no such column."""
        if column is None or column not in self.cells:
            return [None] * self.size
        return [v or None for v in self.stripped(column)]

    def record(self, k: int) -> Record:
        return {name: cells[k] for name, cells in self.cells.items()}


def _start(path: Path, system: str, needed: tuple[str, ...], encoding: str | None,
           label: str, read: tuple[RawTable, list[RaggedRow]] | None = None,
           ) -> tuple[_Export, Collector]:
    table, ragged = read or read_csv(path, encoding=encoding)
    require_columns(list(table.frame.columns), needed, system=label, file=path)
    collector = Collector(system, path)
    for bad in ragged:
        collector.quarantine(bad.row, "(record)", bad.text,
                             f"{bad.found} fields where the header has {bad.expected}")
    return _Export(table.frame, [int(r) for r in table.rows]), collector


# --- Column-wise reading ------------------------------------------------------------------
Column = Objects | tuple[Objects, Mask]
"""A canonical column's value per row of the export; with a mask, the rows whose records
have that column (a refund's ticket, not a charge's)."""


def _pick(choose: Mask, yes: object, no: object, size: int) -> Objects:
    """`yes` where `choose`, else `no` (each a list per row or one value)."""
    result = object_array(no, size)
    result[choose] = object_array(yes, size)[choose]
    return result


def _in(values: Sequence[object], known: Collection[object]) -> Mask:
    return np.fromiter((v in known for v in values), dtype=np.bool_, count=len(values))


def _given(values: Sequence[object]) -> Mask:
    return np.fromiter((v is not None for v in values), dtype=np.bool_, count=len(values))


def _or(values: Sequence[str | None], default: str | None) -> list[str | None]:
    return [v or default for v in values]


def _major(texts: list[str]) -> list[str | None]:
    """`money(parse_major(text))` per text (each distinct text read once); None where it
    raises, to be read one by one."""
    known: dict[str, str | None] = {}
    for text in set(texts):
        try:
            known[text] = money(parse_major(text))
        except BadValue:
            known[text] = None
    return [known[t] for t in texts]


def _minor(texts: list[str], currencies: list[str]) -> list[str | None]:
    """`money(parse_minor(text, currency))` per row, as `_major`: column-wise for the plain
    ones (`minor_money_column`), the others once per distinct (text, currency)."""
    result = minor_money_column(texts, currencies)
    known: dict[tuple[str, str], str | None] = {}
    for k in [k for k, value in enumerate(result) if value is None]:
        pair = texts[k], currencies[k]
        if pair not in known:
            try:
                known[pair] = minor_money(*pair)
            except BadValue:
                known[pair] = None
        result[k] = known[pair]
    return result


def _split(export: _Export, collector: Collector, keys: list[str],
           plain: Mask) -> tuple[list[int], list[int]]:
    """Positions read column-wise (the first read of their key, every value plain) and the
    rest, to be read one by one in order. A column-wise row's key that comes again is
    registered as seen, so its later copies are duplicates exactly as read one by one."""
    first = np.zeros(len(keys), dtype=bool)
    seen: set[str] = set()
    repeated: set[str] = set()
    for k, key in enumerate(keys):
        if key in seen:
            repeated.add(key)
        else:
            seen.add(key)
            first[k] = True
    fast = first & plain if FAST_PATH else np.zeros(len(keys), dtype=bool)
    positions: list[int] = np.flatnonzero(fast).tolist()
    for k in positions if repeated else []:
        if keys[k] in repeated:
            collector.seen[keys[k]] = (export.rows[k], partial(_content, export.record(k)))
    return positions, np.flatnonzero(~fast).tolist()


def _finish(collector: Collector, export: _Export, positions: list[int],
            columns: dict[str, Column]) -> None:
    """The column-wise rows and the rows read one by one (`collector.records`) as one set of
    columns in reading order; a column is there if some record has it."""
    records, record_rows = collector.records, collector.rows
    collector.records, collector.rows = [], []
    taken = np.asarray(positions, dtype=np.intp)
    fast: dict[str, Objects] = {}
    for name, column in columns.items():
        values, has = column if isinstance(column, tuple) else (column, None)
        if len(taken) and (has is None or has[taken].any()):
            fast[name] = values[taken]
    names = list(fast)
    for record in records:
        names.extend(n for n in record if n not in fast and n not in names)
    rows = np.asarray([export.rows[k] for k in positions] + record_rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    merged: dict[str, list[object]] = {}
    for name in names:
        values = np.empty(len(rows), dtype=object)
        if name in fast:
            values[:len(taken)] = fast[name]
        if records:
            values[len(taken):] = [r.get(name) for r in records]
        merged[name] = values[order].tolist()
    collector.add_columns(rows[order].tolist(), merged)


# --- Stripe -------------------------------------------------------------------------------
def _stripe_time(text: str) -> str:
    value = text.strip()
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC).isoformat()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadValue("not a Stripe time (UTC 'YYYY-MM-DD HH:MM:SS' or Unix seconds)") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def read_stripe(path: Path, cfg: PaymentConfig, *, encoding: str | None = None) -> Collector:
    """Stripe charges or refunds export (amounts in minor units, `created` in UTC)."""
    read = read_csv(path, encoding=encoding)  # read once: the columns say which export
    refunds = "charge" in read[0].frame.columns
    needed = STRIPE_REFUND_COLUMNS if refunds else STRIPE_CHARGE_COLUMNS
    export, collector = _start(path, "stripe", needed, encoding,
                               f"Stripe {'refunds' if refunds else 'charges'}", read)
    n = export.size
    created = export.text("created")
    times = utc_column(created, "%Y-%m-%d %H:%M:%S", np.zeros(n, dtype=np.int64),
                       np.ones(n, dtype=bool))
    idents = export.stripped("id")
    keys = [f"stripe:{ident}" for ident in idents]
    currencies = [c.upper() for c in export.stripped("currency")]
    amounts = _minor(export.stripped("amount"), currencies)
    statuses = [_STRIPE_STATUS.get(s.lower()) for s in export.stripped("status")]
    plain = (_in(currencies, CURRENCIES) & _given(amounts) & _given(times)
             & _given(statuses))
    positions, one_by_one = _split(export, collector, keys, plain)
    for k in one_by_one:
        record, row, text, fast = export.record(k), export.rows[k], created[k], times[k]
        ident = str(record["id"]).strip()
        if collector.duplicate(f"stripe:{ident}", row, partial(_content, record)):
            continue
        try:
            currency = _currency(str(record["currency"]))
        except BadValue as exc:
            collector.quarantine(row, "currency", record["currency"], str(exc))
            continue
        try:
            amount = parse_minor(str(record["amount"]), currency)
        except BadValue as exc:
            collector.quarantine(row, "amount", record["amount"], str(exc))
            continue
        try:
            time = fast if fast is not None else _stripe_time(text)
        except BadValue as exc:
            collector.quarantine(row, "created", record["created"], str(exc))
            continue
        raw_status = str(record["status"]).strip().lower()
        status = _STRIPE_STATUS.get(raw_status)
        if status is None:
            collector.quarantine(row, "status", record["status"], "unknown Stripe status")
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
    columns = _base_columns(cfg, n, keys, idents, times, amounts, currencies)
    if refunds:
        failed = _in(statuses, ("failed", "reversed"))
        columns.update(_refund_columns(
            cfg, n, failed, refund_id=idents, charge_id=export.cell("charge"),
            status=statuses, method=export.cell(cfg.method_column),
            ticket=export.cell(cfg.ticket_column),
            executor=export.cell(cfg.executor_column), order=export.cell(cfg.order_column)))
    else:
        methods = [a or b for a, b in zip(export.cell("payment_method_type"),
                                          export.cell(cfg.method_column), strict=True)]
        columns.update(_charge_columns(cfg, export, n, charge_id=idents, status=statuses,
                                       method=methods))
    _finish(collector, export, positions, columns)
    return collector


def _base_columns(cfg: PaymentConfig, n: int, keys: list[str], idents: list[str],
                  times: list[str | None], amounts: list[str | None],
                  currencies: list[str]) -> dict[str, Column]:
    """`_base` per row, as columns."""
    return {C.EVENT_ID: object_array(keys, n), C.CASE: object_array(idents, n),
            C.TIMESTAMP: object_array(times, n), C.LIFECYCLE: object_array("complete", n),
            C.AMOUNT: object_array(amounts, n), C.CURRENCY: object_array(currencies, n),
            C.CHANNEL: object_array(cfg.channel, n)}


def _charge_columns(cfg: PaymentConfig, export: _Export, n: int, *, charge_id: object,
                    status: object, method: object) -> dict[str, Column]:
    """`_charge` per row, as columns (after `_base_columns`)."""
    return {C.ACTIVITY: object_array(cfg.charge_activity, n),
            C.RESOURCE: object_array(_or(export.cell(cfg.charge_resource_column),
                                     cfg.charge_resource), n),
            C.ORDER_ID: object_array(export.cell(cfg.order_column), n),
            C.CHARGE_ID: object_array(charge_id, n), C.PAYMENT_METHOD: object_array(method, n),
            C.PAYMENT_STATUS: object_array(status, n)}


def _refund_columns(cfg: PaymentConfig, n: int, failed: Mask, *, refund_id: object,
                    charge_id: object, status: object, method: object, ticket: object,
                    executor: object, order: object) -> dict[str, Column]:
    """`_refund` per row, as columns (after `_base_columns`)."""
    return {C.ACTIVITY: _pick(failed, cfg.failed_refund_activity, cfg.refund_activity, n),
            C.RESOURCE: object_array(executor, n), C.TICKET_ID: object_array(ticket, n),
            C.ORDER_ID: object_array(order, n), C.CHARGE_ID: object_array(charge_id, n),
            C.REFUND_ID: object_array(refund_id, n), C.PAYMENT_METHOD: object_array(method, n),
            C.PAYMENT_STATUS: object_array(status, n)}


def _charges_and_refunds(n: int, refund: Mask, charge: dict[str, Column],
                         refunds: dict[str, Column]) -> dict[str, Column]:
    """Each row's charge or refund columns, by `refund`; a refund-only column (ticket,
    refund id) marked as such."""
    columns: dict[str, Column] = {}
    for name, values in refunds.items():
        assert not isinstance(values, tuple)
        if name in charge:
            other = charge[name]
            assert not isinstance(other, tuple)
            columns[name] = _pick(refund, values, other, n)
        else:
            columns[name] = (_pick(refund, values, None, n), refund)
    return columns


# --- PayPal -------------------------------------------------------------------------------
def read_paypal(path: Path, cfg: PaymentConfig, *, encoding: str | None = None) -> Collector:
    """PayPal Activity Download CSV: Date, Time, TimeZone, signed Gross in major units."""
    export, collector = _start(path, "paypal", PAYPAL_COLUMNS, encoding,
                               "PayPal activity download")
    n = export.size
    date_format = (cfg.date_format or "%d/%m/%Y") + " %H:%M:%S"
    texts = [f"{d} {t}" for d, t in zip(export.cells["Date"], export.cells["Time"],
                                        strict=True)]
    zones = export.text("TimeZone")
    times = _times(texts, date_format, zones)
    idents = export.stripped("Transaction ID")
    keys = [f"paypal:{ident}" for ident in idents]
    kinds = [k.lower() for k in export.stripped("Type")]
    refund = _in(kinds, _PAYPAL_REFUND_TYPES)
    currencies = [c.upper() for c in export.stripped("Currency")]
    amounts = _major(export.stripped("Gross"))
    statuses = [_PAYPAL_STATUS.get(s.lower()) for s in export.stripped("Status")]
    plain = ((refund | _in(kinds, _PAYPAL_CHARGE_TYPES)) & _in(currencies, CURRENCIES)
             & _given(amounts) & _given(times) & _given(statuses))
    positions, one_by_one = _split(export, collector, keys, plain)
    for k in one_by_one:
        record, row, text, zone, fast = (export.record(k), export.rows[k], texts[k],
                                         zones[k], times[k])
        ident = str(record["Transaction ID"]).strip()
        if collector.duplicate(f"paypal:{ident}", row, partial(_content, record)):
            continue
        kind = str(record["Type"]).strip().lower()
        is_refund = kind in _PAYPAL_REFUND_TYPES
        if not is_refund and kind not in _PAYPAL_CHARGE_TYPES:
            collector.quarantine(row, "Type", record["Type"],
                                 "not a payment or refund (fees, transfers, holds are not "
                                 "part of a refund case)")
            continue
        checks: list[tuple[str, Callable[[], object]]] = [
            ("Currency", partial(_currency, str(record["Currency"]))),
            ("Gross", partial(parse_major, str(record["Gross"]))),
            ("TimeZone", partial(_known_zone, zone)),
            ("Date", partial(_time, fast, text, date_format, zone)),
        ]
        values = _checked(collector, row, record, checks)
        if values is None:
            continue
        currency, amount, _, time = (str(values[0]), values[1], values[2], str(values[3]))
        assert isinstance(amount, Decimal)
        status = _PAYPAL_STATUS.get(str(record["Status"]).strip().lower())
        if status is None:
            collector.quarantine(row, "Status", record["Status"], "unknown PayPal status")
            continue
        base = _base(cfg, f"paypal:{ident}", ident, time, amount, currency)
        method = _cell(record, cfg.method_column)
        if is_refund:
            collector.add(row, _refund(
                cfg, base, ident, _cell(record, "Reference Txn ID"), status, method,
                _cell(record, cfg.ticket_column), _cell(record, cfg.executor_column),
                _cell(record, cfg.order_column)))
        else:
            collector.add(row, _charge(cfg, record, base, ident, status, method or "paypal"))
    methods = export.cell(cfg.method_column)
    columns = _base_columns(cfg, n, keys, idents, times, amounts, currencies)
    columns.update(_charges_and_refunds(
        n, refund,
        _charge_columns(cfg, export, n, charge_id=idents, status=statuses,
                        method=_or(methods, "paypal")),
        _refund_columns(cfg, n, _in(statuses, ("failed", "reversed")),
                        refund_id=idents, charge_id=export.cell("Reference Txn ID"),
                        status=statuses, method=methods,
                        ticket=export.cell(cfg.ticket_column),
                        executor=export.cell(cfg.executor_column),
                        order=export.cell(cfg.order_column))))
    _finish(collector, export, positions, columns)
    return collector


# --- Adyen --------------------------------------------------------------------------------
def _references(cfg: PaymentConfig, export: _Export, refund: Mask,
                ) -> tuple[Mask, list[str | None], list[str | None]]:
    """Per row: whether its merchant reference is usable as read one by one, and the ticket
    and executor the reference pattern finds in a refund's reference."""
    n = export.size
    usable = np.ones(n, dtype=bool)
    tickets: list[str | None] = [None] * n
    executors: list[str | None] = [None] * n
    pattern = cfg.reference_pattern
    if pattern is None:
        return usable, tickets, executors
    references = export.cell("Modification Merchant Reference")
    for k in np.flatnonzero(refund).tolist():
        reference = references[k]
        if not reference:
            continue
        match = pattern.match(reference)
        if match is None:
            usable[k] = False
            continue
        groups = match.groupdict()
        tickets[k], executors[k] = groups.get("ticket"), groups.get("executor")
    return usable, tickets, executors


def read_adyen(path: Path, cfg: PaymentConfig, *, encoding: str | None = None) -> Collector:
    """Adyen Settlement details report: Creation Date + TimeZone, Gross Debit/Credit (GC)."""
    export, collector = _start(path, "adyen", ADYEN_COLUMNS, encoding,
                               "Adyen settlement details")
    n = export.size
    texts = export.text("Creation Date")
    zones = export.text("TimeZone")
    times = _times(texts, "%Y-%m-%d %H:%M:%S", zones)
    kinds = [k.lower() for k in export.stripped("Type")]
    psps = export.stripped("Psp Reference")
    idents = [m or p for m, p in zip(export.stripped("Modification Reference"), psps,
                                     strict=True)]
    keys = [f"adyen:{ident}:{kind}" for ident, kind in zip(idents, kinds, strict=True)]
    refund = _in(kinds, _ADYEN_REFUND_TYPES)
    currencies = [c.upper() for c in export.stripped("Gross Currency")]
    amounts = _major([d or c for d, c in zip(export.stripped("Gross Debit (GC)"),
                                             export.stripped("Gross Credit (GC)"),
                                             strict=True)])
    usable, tickets, executors = _references(cfg, export, refund)
    plain = ((refund | _in(kinds, _ADYEN_CHARGE_TYPES)) & _in(currencies, CURRENCIES)
             & _given(amounts) & _given(times) & usable)
    positions, one_by_one = _split(export, collector, keys, plain)
    for k in one_by_one:
        record, row, text, zone, fast = (export.record(k), export.rows[k], texts[k],
                                         zones[k], times[k])
        kind = str(record["Type"]).strip().lower()
        psp = str(record["Psp Reference"]).strip()
        modification = str(record["Modification Reference"]).strip()
        ident = modification or psp
        if collector.duplicate(f"adyen:{ident}:{kind}", row, partial(_content, record)):
            continue
        if kind not in _ADYEN_CHARGE_TYPES and kind not in _ADYEN_REFUND_TYPES:
            collector.quarantine(row, "Type", record["Type"],
                                 "not a settled payment or refund (fees, payouts and "
                                 "chargebacks are not part of a refund case)")
            continue
        gross = ("Gross Debit (GC)" if str(record["Gross Debit (GC)"]).strip()
                 else "Gross Credit (GC)")
        checks: list[tuple[str, Callable[[], object]]] = [
            ("Gross Currency", partial(_currency, str(record["Gross Currency"]))),
            (gross, partial(parse_major, str(record[gross]))),
            ("TimeZone", partial(_known_zone, zone)),
            ("Creation Date", partial(_time, fast, text, "%Y-%m-%d %H:%M:%S", zone)),
        ]
        values = _checked(collector, row, record, checks)
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
        ticket = executor = None
        reference = _cell(record, "Modification Merchant Reference") or ""
        if cfg.reference_pattern is not None and reference:
            match = cfg.reference_pattern.match(reference)
            if match is None:
                collector.quarantine(row, "Modification Merchant Reference", reference,
                                     "does not match the reference_pattern of the sources "
                                     "file")
                continue
            groups = match.groupdict()
            ticket, executor = groups.get("ticket"), groups.get("executor")
        collector.add(row, _refund(cfg, base, modification or psp, psp or None,
                                   _ADYEN_REFUND_TYPES[kind], method, ticket, executor,
                                   _cell(record, cfg.order_column)))
    methods = [cfg.methods.get(m or "", m) for m in export.cell("Payment Method")]
    statuses = [_ADYEN_REFUND_TYPES.get(k) or _ADYEN_CHARGE_TYPES.get(k) for k in kinds]
    columns = _base_columns(cfg, n, keys, idents, times, amounts, currencies)
    columns.update(_charges_and_refunds(
        n, refund,
        _charge_columns(cfg, export, n, charge_id=psps, status=statuses, method=methods),
        _refund_columns(cfg, n, _in(statuses, ("failed", "reversed")),
                        refund_id=idents, charge_id=_or(psps, None), status=statuses,
                        method=methods, ticket=tickets, executor=executors,
                        order=export.cell(cfg.order_column))))
    _finish(collector, export, positions, columns)
    return collector
