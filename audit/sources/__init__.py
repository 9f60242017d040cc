"""Source adapters: what ticketing and payment systems export -> canonical records.

Adapters are registered by system name (zendesk, jira, servicenow, stripe, paypal, adyen);
`read_source` returns the `RawTable` the normaliser maps exactly, plus quarantine rows.
`detect_system` names the system of a file when its layout says so unambiguously.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from audit.errors import InputError
from audit.gcpause import paused_gc
from audit.ingest.jsontext import loads
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
                assume_tz: str | None = None) -> tuple[RawTable, pd.DataFrame]:
    """Read one export of `system`; InputError if it is not that system's layout."""
    if system not in ADAPTERS:
        raise InputError(f"unknown source system '{system}' (known: {', '.join(SYSTEMS)})",
                         file=path)
    if not path.exists():
        raise InputError("no such file", file=path)
    with paused_gc():  # an export read makes millions of small objects, none in cycles
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


def detect_system(path: Path) -> str | None:
    """The source system a file's layout names, or None (a generic file, or ambiguous)."""
    name = path.name.lower()
    try:
        head = path.open("rb").read(1 << 16).decode("utf-8-sig", errors="replace")
    except OSError:
        return None
    if name.endswith((".json", ".jsonl", ".ndjson")):
        text = head.lstrip()
        if text.startswith("{") and '"audits"' in head:
            return "zendesk"
        if '"changelog"' in head or '"histories"' in head or (
                text.startswith("{") and '"issues"' in head):
            return "jira"
        for line in text.splitlines()[:20]:  # JSON lines: the first audit names the system
            try:
                item = loads(line)
            except (json.JSONDecodeError, RecursionError):
                return None
            if isinstance(item, dict) and {"ticket_id", "events"} <= set(item):
                return "zendesk"
        return None
    if not name.endswith((".csv", ".tsv", ".txt")):
        return None
    from audit.ingest.csv_reader import sniff_delimiter

    line = head.split("\n", 1)[0].strip("\r")
    header = {h.strip().strip('"') for h in line.split(sniff_delimiter(head))}
    found = [s for s, columns in _CSV_SIGNATURES.items() if set(columns) <= header]
    return found[0] if len(found) == 1 else None


__all__ = ["ADAPTERS", "ROLES", "SYSTEMS", "detect_system", "read_source"]
