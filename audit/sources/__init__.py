"""Source adapters: what ticketing and payment systems export -> canonical records.

Adapters are registered by system name (zendesk, jira, servicenow, stripe, paypal, adyen);
`read_source` returns the `RawTable` the normaliser maps exactly, plus quarantine rows.
`detect_system` names the system of a file when its layout says so unambiguously.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from audit import canonical as C
from audit.errors import InputError
from audit.gcpause import paused_gc
from audit.ingest.jsontext import loads
from audit.ingest.mapping import SYNONYMS, Mapping, norm
from audit.ingest.raw import RawTable
from audit.sources.common import Collector
from audit.sources.config import (
    PAYMENT_SYSTEMS,
    TICKETING_SYSTEMS,
    PaymentConfig,
    SourcesConfig,
    TicketingConfig,
    load_sources_config,
)

if TYPE_CHECKING:
    from audit.sources.servicenow import Join

SYSTEMS: tuple[str, ...] = (*TICKETING_SYSTEMS, *PAYMENT_SYSTEMS)
ROLES = "roles"

Reader = Callable[[Path, SourcesConfig, str | None, str | None], Collector]


def _zendesk(path: Path, cfg: SourcesConfig, encoding: str | None,
             assume_tz: str | None) -> Collector:
    from audit.sources import zendesk

    return zendesk.read(path, _ticketing(cfg, "zendesk", path))


def _jira(path: Path, cfg: SourcesConfig, encoding: str | None,
          assume_tz: str | None) -> Collector:
    from audit.sources import jira

    return jira.read(path, _ticketing(cfg, "jira", path))


def _servicenow(path: Path, cfg: SourcesConfig, encoding: str | None,
                assume_tz: str | None) -> Collector:
    from audit.sources import servicenow

    return servicenow.read(path, _ticketing(cfg, "servicenow", path), encoding=encoding,
                           assume_tz=assume_tz)


def _stripe(path: Path, cfg: SourcesConfig, encoding: str | None,
            assume_tz: str | None) -> Collector:
    from audit.sources.payments import read_stripe

    return read_stripe(path, _payment(cfg, "stripe", path), encoding=encoding)


def _paypal(path: Path, cfg: SourcesConfig, encoding: str | None,
            assume_tz: str | None) -> Collector:
    from audit.sources.payments import read_paypal

    return read_paypal(path, _payment(cfg, "paypal", path), encoding=encoding)


def _adyen(path: Path, cfg: SourcesConfig, encoding: str | None,
           assume_tz: str | None) -> Collector:
    from audit.sources.payments import read_adyen

    return read_adyen(path, _payment(cfg, "adyen", path), encoding=encoding)


ADAPTERS: dict[str, Reader] = {"zendesk": _zendesk, "jira": _jira, "servicenow": _servicenow,
                               "stripe": _stripe, "paypal": _paypal, "adyen": _adyen}


def _ticketing(cfg: SourcesConfig, system: str, path: Path) -> TicketingConfig:
    if system not in cfg.ticketing:
        raise InputError(f"the sources file has no 'ticketing: {system}:' section", file=path)
    return cfg.ticketing[system]


def _payment(cfg: SourcesConfig, system: str, path: Path) -> PaymentConfig:
    if system not in cfg.payments:
        raise InputError(f"the sources file has no 'payments: {system}:' section", file=path)
    return cfg.payments[system]


def read_source(path: Path, system: str, *, config: SourcesConfig | None = None,
                encoding: str | None = None,
                assume_tz: str | None = None,
                numbers: dict[str, str] | None = None,
                join: Join | None = None) -> tuple[RawTable, pd.DataFrame]:
    """Read one export of `system`; InputError if it is not that system's layout.
    `numbers` (ServiceNow): the ticket numbers other exports of the run hold, by record;
    `join` (ServiceNow): the updates it shares with the run's other ServiceNow exports."""
    if system not in ADAPTERS:
        raise InputError(f"unknown source system '{system}' (known: {', '.join(SYSTEMS)})",
                         file=path)
    if not path.exists():
        raise InputError("no such file", file=path)
    with paused_gc():  # an export read makes millions of small objects, none in cycles
        if system == "servicenow" and (numbers is not None or join is not None):
            from audit.sources import servicenow

            collector = servicenow.read(
                path, _ticketing(config or load_sources_config(), "servicenow", path),
                encoding=encoding, assume_tz=assume_tz, numbers=numbers, join=join)
        else:
            collector = ADAPTERS[system](path, config or load_sources_config(), encoding,
                                         assume_tz)
        table, quarantine = collector.table()
        table.skipped = collector.skipped  # (told where no update is an event)
        # The records read (and the parsed file they point into) freed while the collector
        # is still paused: alive when it resumes, they would all be walked once for nothing
        # (0.45 s of a 4 s Zendesk read of 250k audits).
        del collector
    return table, quarantine


# Columns that name a CSV export's system (all of them must be present).
_CSV_SIGNATURES: dict[str, tuple[str, ...]] = {
    "servicenow": ("documentkey", "fieldname", "oldvalue", "newvalue", "sys_created_on"),
    "stripe": ("id", "amount", "currency", "created", "status"),
    "paypal": ("Date", "Time", "TimeZone", "Type", "Gross", "Transaction ID"),
    "adyen": ("Psp Reference", "Merchant Reference", "Creation Date", "Gross Currency"),
    # (valid_to left out: a role history without it is told so, not read as an event log)
    ROLES: ("person", "role", "valid_from"),
}


_SERVICENOW_JSON = (re.compile(r'"(?:records|result)"\s*:'), re.compile(r'"documentkey"\s*:'),
                    re.compile(r'"fieldname"\s*:'))
"""What a JSON file's head holds where it is ServiceNow's sys_audit pulled as JSON: the
records' list (JSONv2's `records`, the Table API's `result`) and an audit row's own fields."""

STRIPE_ID_PREFIXES = ("ch_", "py_", "re_", "pyr_")
"""How the ids of Stripe's charges and refunds begin: a CSV whose header has Stripe's columns
is taken for a Stripe export only where its first rows' ids begin so."""

_ROWS_CHECKED = 20


def _generic_log(header: list[str], mapping: Mapping | None) -> bool:
    """Whether a CSV header is a generic event log's, whatever system's columns it also
    has: a case, an activity and a timestamp column are there, each the column a given
    mapping names for it, else by the canonical name or a common name (SYNONYMS). (Not
    "every column the mapping names": a mapping of one column, `org:resource: login`, made
    the role history and every export holding a `login` beside the generic log generic.)"""
    present = set(header)
    names = {norm(h) for h in header}
    mapped = mapping.columns if mapping is not None else {}

    def found(column: str) -> bool:
        if column in mapped:
            return mapped[column] in present
        return column in present or any(norm(s) in names for s in SYNONYMS[column])

    return all(found(c) for c in (C.CASE, C.ACTIVITY, C.TIMESTAMP))


def _stripe_ids(lines: list[str], delimiter: str, header: list[str]) -> bool:
    """Whether the ids of the first rows (as many as the read head holds, up to
    _ROWS_CHECKED) all begin as Stripe's do (`STRIPE_ID_PREFIXES`); blank ones aside."""
    import csv

    at = header.index("id")
    ids = [row[at].strip() for row in csv.reader(lines[1:_ROWS_CHECKED + 1],
                                                 delimiter=delimiter) if len(row) > at]
    given = [i for i in ids if i]
    return bool(given) and all(i.startswith(STRIPE_ID_PREFIXES) for i in given)


def _head(path: Path) -> str | None:
    """The first 64 KiB of a file as text, as the CSV reader decodes it (a UTF-16 byte
    order mark names UTF-16, e.g. a download saved again as Excel's "Unicode Text"; else
    UTF-8, with or without its mark); None where it cannot be read."""
    try:
        with path.open("rb") as file:
            raw = file.read(1 << 16)
    except OSError:
        return None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw[:len(raw) // 2 * 2].decode("utf-16", errors="replace")
    return raw.decode("utf-8-sig", errors="replace")


def _csv_header(head: str) -> tuple[list[str], str, list[str]] | None:
    """A CSV's lines from its header on, its delimiter and its header, as read_csv reads
    them (after an Excel `sep=X` line and blank lines); None where it has none."""
    from audit.ingest.csv_reader import excel_sep_line, skip_blank_lines, sniff_delimiter

    try:
        excel = excel_sep_line(head)
    except InputError:
        return None
    if excel is not None:
        head = head[excel[1]:]
    lines = head.splitlines()
    lines = lines[skip_blank_lines(lines):]
    if not lines:
        return None
    # (a head cut mid-line, not ended by a line end: its last line left out of the guess,
    # where the lines before it hold a header and a row)
    guessed = lines[:-1] if len(lines) > 2 and not head.endswith(("\n", "\r")) else lines
    delimiter = excel[0] if excel is not None else sniff_delimiter("\n".join(guessed))
    return lines, delimiter, [h.strip().strip('"') for h in lines[0].split(delimiter)]


def csv_signature(system: str, path: Path | None = None) -> tuple[str, ...]:
    """The columns by which a CSV export of `system` is detected (`path`: the file's,
    where a system has several layouts: Stripe's itemized balance change report)."""
    if system in ("stripe", "adyen") and path is not None:
        from audit.sources.payments import (
            ADYEN_ACCOUNTING_SIGNATURE,
            STRIPE_BALANCE_SIGNATURE,
            STRIPE_PAYMENTS_SIGNATURE,
            adyen_accounting_header,
            stripe_balance_header,
            stripe_payments_created,
            stripe_payments_header,
        )

        head = _head(path)
        found = _csv_header(head) if head is not None else None
        if found is not None and system == "stripe" and stripe_balance_header(found[2]):
            return STRIPE_BALANCE_SIGNATURE
        if found is not None and system == "stripe" and stripe_payments_header(found[2]):
            return (*STRIPE_PAYMENTS_SIGNATURE, str(stripe_payments_created(found[2])))
        if found is not None and system == "adyen" and adyen_accounting_header(found[2]):
            return ADYEN_ACCOUNTING_SIGNATURE
    return _CSV_SIGNATURES[system]


def detect_system(path: Path, mapping: Mapping | None = None) -> str | None:
    """The source system a file's layout names, or None (a generic file, or ambiguous).

    A CSV whose header is a generic event log's (`_generic_log`: the columns `mapping`
    names, or a case, an activity and a timestamp column) is generic, whatever system's
    columns it holds beside them; a Stripe header is Stripe's only where its first ids are
    (`STRIPE_ID_PREFIXES`), or where it is Stripe's itemized balance change report's
    (`audit.sources.payments.stripe_balance_header`); an Adyen header is the Settlement
    details report's or the Payment accounting report's
    (`audit.sources.payments.adyen_accounting_header`)."""
    name = path.name.lower()
    head = _head(path)
    if head is None:
        return None
    if name.endswith((".json", ".jsonl", ".ndjson")):
        text = head.lstrip()
        if text.startswith("{") and all(p.search(head) for p in _SERVICENOW_JSON):
            return "servicenow"  # sys_audit pulled as JSON (JSONv2 or the Table API)
        if text.startswith("{") and ('"audits"' in head or '"ticket_events"' in head):
            return "zendesk"  # (the audits API's document; a page of ticket events)
        if '"changelog"' in head or '"histories"' in head or (
                text.startswith("{") and '"issues"' in head):
            return "jira"
        if text.startswith("[") and re.match(r'\[\s*\{[^{}\[\]]*"ticket_events"', text):
            return "zendesk"  # a list of pages of ticket events
        for line in text.splitlines()[:20]:  # JSON lines: the first audit names the system
            try:
                item = loads(line)
            except (json.JSONDecodeError, RecursionError):
                return None
            if isinstance(item, dict) and ({"ticket_id", "events"} <= set(item)
                                           or "ticket_events" in item):
                return "zendesk"
        return None
    if not name.endswith((".csv", ".tsv", ".txt")):
        return None
    found_header = _csv_header(head)
    if found_header is None:
        return None
    lines, delimiter, header = found_header
    if _generic_log(header, mapping):
        return None
    from audit.sources.payments import (
        adyen_accounting_header,
        paypal_zone_column,
        stripe_balance_header,
        stripe_payments_header,
    )

    # (PayPal's current download names its zone column "Time zone": read as "TimeZone")
    names = set(header) | {"TimeZone"} if paypal_zone_column(header) in header else set(header)
    found = [s for s, columns in _CSV_SIGNATURES.items() if set(columns) <= names]
    # Stripe's itemized balance change report: its own columns, no ids to check (read as
    # Stripe's, which refuses one without the columns it needs, naming them)
    balance = stripe_balance_header(header)
    if balance and "stripe" not in found:
        found.append("stripe")
    # The Stripe Dashboard's payments export: its own columns (Amount, Created date (UTC)),
    # read as Stripe's, whose reader tells it from the API's CSVs and refuses what it
    # cannot read (refund ids, a created time in another zone than UTC), saying why
    dashboard = stripe_payments_header(header)
    if dashboard and "stripe" not in found:
        found.append("stripe")
    # Adyen's Payment accounting report: its own columns (Booking Date, Record Type), read
    # as Adyen's, whose reader tells it from the Settlement details report
    if adyen_accounting_header(header) and "adyen" not in found:
        found.append("adyen")
    if found == ["stripe"] and not balance and not dashboard and not _stripe_ids(
            lines, delimiter, header):
        return None
    return found[0] if len(found) == 1 else None


__all__ = ["ADAPTERS", "ROLES", "STRIPE_ID_PREFIXES", "SYSTEMS", "csv_signature", "detect_system",
           "read_source"]
