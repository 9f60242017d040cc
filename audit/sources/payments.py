"""Stripe, PayPal and Adyen exports -> canonical purchase and payout events.

A charge (sale) becomes the channel's purchase event; a refund becomes a payout, or a failed
payout when the system says it failed or was reversed (kept, with its status, never dropped).
Amounts become magnitudes in major units; times are converted to UTC from the zone the export
states. Who executed a refund comes from the column the sources file names (see docs/sources.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
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
    money,
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


def _start(path: Path, system: str, needed: tuple[str, ...], encoding: str | None,
           label: str, read: tuple[RawTable, list[RaggedRow]] | None = None,
           ) -> tuple[list[Record], list[int], Collector]:
    table, ragged = read or read_csv(path, encoding=encoding)
    require_columns(list(table.frame.columns), needed, system=label, file=path)
    collector = Collector(system, path)
    for bad in ragged:
        collector.quarantine(bad.row, "(record)", bad.text,
                             f"{bad.found} fields where the header has {bad.expected}")
    return _records(table.frame), [int(r) for r in table.rows], collector


def _records(frame: pd.DataFrame) -> list[Record]:
    """The rows as plain dicts (column lists zipped: no pandas object per row or cell)."""
    columns = [str(c) for c in frame.columns]
    values = [frame[c].tolist() for c in frame.columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


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
    records, rows, collector = _start(path, "stripe", needed, encoding,
                                      f"Stripe {'refunds' if refunds else 'charges'}", read)
    created = [str(record["created"]) for record in records]
    times = utc_column(created, "%Y-%m-%d %H:%M:%S", np.zeros(len(created), dtype=np.int64),
                       np.ones(len(created), dtype=bool))
    for record, row, text, fast in zip(records, rows, created, times, strict=True):
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
    return collector


# --- PayPal -------------------------------------------------------------------------------
def read_paypal(path: Path, cfg: PaymentConfig, *, encoding: str | None = None) -> Collector:
    """PayPal Activity Download CSV: Date, Time, TimeZone, signed Gross in major units."""
    records, rows, collector = _start(path, "paypal", PAYPAL_COLUMNS, encoding,
                                      "PayPal activity download")
    date_format = (cfg.date_format or "%d/%m/%Y") + " %H:%M:%S"
    texts = [f"{record['Date']} {record['Time']}" for record in records]
    zones = [str(record["TimeZone"]) for record in records]
    times = _times(texts, date_format, zones)
    for record, row, text, zone, fast in zip(records, rows, texts, zones, times, strict=True):
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
    return collector


# --- Adyen --------------------------------------------------------------------------------
def read_adyen(path: Path, cfg: PaymentConfig, *, encoding: str | None = None) -> Collector:
    """Adyen Settlement details report: Creation Date + TimeZone, Gross Debit/Credit (GC)."""
    records, rows, collector = _start(path, "adyen", ADYEN_COLUMNS, encoding,
                                      "Adyen settlement details")
    texts = [str(record["Creation Date"]) for record in records]
    zones = [str(record["TimeZone"]) for record in records]
    times = _times(texts, "%Y-%m-%d %H:%M:%S", zones)
    for record, row, text, zone, fast in zip(records, rows, texts, zones, times, strict=True):
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
    return collector
