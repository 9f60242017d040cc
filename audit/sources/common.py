"""What every source adapter shares: strict amounts, zone abbreviations, the table it returns.

An adapter turns one export into records that already carry canonical column names, so the
normaliser maps them exactly; rows it cannot use become quarantine rows (file, row, field,
value, reason) and rows exported twice are dropped and counted.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from audit.currency import CURRENCIES, minor_units
from audit.errors import InputError
from audit.ingest.normalise import QUARANTINE_COLUMNS
from audit.ingest.raw import RawTable

_PLAIN = re.compile(r"^[+-]?\d+(\.\d+)?$")
_MINOR = re.compile(r"^[+-]?\d+$")

# Abbreviations payment exports write in their time zone column, with their UTC offsets.
ZONE_ABBREVIATIONS: dict[str, timedelta] = {
    "UTC": timedelta(0), "GMT": timedelta(0), "Z": timedelta(0), "WET": timedelta(0),
    "BST": timedelta(hours=1), "WEST": timedelta(hours=1), "CET": timedelta(hours=1),
    "CEST": timedelta(hours=2), "EET": timedelta(hours=2), "EEST": timedelta(hours=3),
    "EST": timedelta(hours=-5), "EDT": timedelta(hours=-4), "CST": timedelta(hours=-6),
    "CDT": timedelta(hours=-5), "MST": timedelta(hours=-7), "MDT": timedelta(hours=-6),
    "PST": timedelta(hours=-8), "PDT": timedelta(hours=-7),
}


_D2, _D4 = "([0-9]{2})", "([0-9]{4})"
_CLOCK = f"{_D2}:{_D2}:{_D2}"
# Formats the exports use, as strict ASCII patterns and the positions of year, month, day in
# their groups. A text of this exact shape means what strptime reads from it; anything else
# (and any value out of range) goes to strptime itself, so results and errors are unchanged.
_FAST_FORMATS: dict[str, tuple[re.Pattern[str], tuple[int, int, int]]] = {
    "%Y-%m-%d %H:%M:%S": (re.compile(f"{_D4}-{_D2}-{_D2} {_CLOCK}"), (1, 2, 3)),
    "%d/%m/%Y %H:%M:%S": (re.compile(f"{_D2}/{_D2}/{_D4} {_CLOCK}"), (3, 2, 1)),
    "%m/%d/%Y %H:%M:%S": (re.compile(f"{_D2}/{_D2}/{_D4} {_CLOCK}"), (3, 1, 2)),
    "%Y-%m-%dT%H:%M:%S.%f%z": (re.compile(
        f"{_D4}-{_D2}-{_D2}T{_CLOCK}\\.([0-9]{{1,6}})([+-])([0-9]{{2}})([0-5][0-9])"),
        (1, 2, 3)),
}


def strptime(text: str, fmt: str) -> datetime:
    """`datetime.strptime`, with a fast path for the plain numeric formats above."""
    fast = _FAST_FORMATS.get(fmt)
    if fast is not None:
        match = fast[0].fullmatch(text)
        if match is not None:
            g = match.groups()
            y, m, d = fast[1]
            try:
                tz: timezone | None = None
                micro = 0
                if len(g) > 6:
                    micro = int(g[6].ljust(6, "0"))
                    offset = int(g[8]) * 3600 + int(g[9]) * 60
                    tz = timezone(timedelta(seconds=-offset if g[7] == "-" else offset))
                return datetime(int(g[y - 1]), int(g[m - 1]), int(g[d - 1]), int(g[3]),
                                int(g[4]), int(g[5]), micro, tzinfo=tz)
            except ValueError:
                pass
    return datetime.strptime(text, fmt)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: reading an export makes millions of small dicts
    and lists (none in cycles), and each full collection would walk all of them again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class BadValue(ValueError):
    """A value an adapter cannot use; the message is the quarantine reason."""


def parse_major(text: str) -> Decimal:
    """A plain decimal amount in major units ('1234.56', '-49.99'); no other notation."""
    value = text.strip()
    if not _PLAIN.match(value):
        if "," in value or "'" in value or " " in value:
            raise BadValue("thousands separator or decimal comma in an amount (this export "
                           "writes plain decimals such as 1234.56)")
        raise BadValue("not a decimal amount")
    return Decimal(value)


def parse_minor(text: str, currency: str) -> Decimal:
    """An integer amount in the currency's minor units ('4999' EUR -> 49.99)."""
    value = text.strip()
    if not _MINOR.match(value):
        raise BadValue("not an integer amount in minor units (e.g. 4999 for 49.99)")
    if currency.upper() not in CURRENCIES:
        raise BadValue("unknown currency, so the minor units are unknown")
    return Decimal(value).scaleb(-minor_units(currency.upper()))


def money(value: Decimal) -> str:
    """The canonical text of an amount: its magnitude, as written by the source."""
    try:
        return format(abs(value), "f")
    except InvalidOperation as exc:  # pragma: no cover - Decimal from our parsers is finite
        raise BadValue("not a number") from exc


def local_to_utc(text: str, fmt: str, zone: str) -> str:
    """A local time without offset, in an IANA zone, as ISO 8601 UTC."""
    try:
        naive = strptime(text.strip(), fmt)
    except ValueError as exc:
        raise BadValue(f"not a time in the format {fmt}") from exc
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).isoformat()


def abbreviated_to_utc(text: str, fmt: str, abbreviation: str) -> str:
    """A local time plus a zone abbreviation (CET, CEST, BST, PDT, ...) as ISO 8601 UTC."""
    offset = ZONE_ABBREVIATIONS.get(abbreviation.strip().upper())
    if offset is None:
        raise BadValue(f"unknown time zone abbreviation {abbreviation!r} (known: "
                       f"{', '.join(sorted(ZONE_ABBREVIATIONS))})")
    try:
        naive = strptime(text.strip(), fmt)
    except ValueError as exc:
        raise BadValue(f"not a time in the format {fmt}") from exc
    return naive.replace(tzinfo=timezone(offset)).astimezone(UTC).isoformat()


def require_columns(columns: list[str], needed: tuple[str, ...], *, system: str,
                    file: Path) -> None:
    """InputError unless every key column is there (a wrong format or a trimmed export)."""
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InputError(
            f"not a {system} export of this kind: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(columns[:12])}{' ...' if len(columns) > 12 else ''})",
            file=file)


Content = tuple[object, ...] | Callable[[], tuple[object, ...]]
"""What a record holds, to tell a record exported twice from a different one with its id."""


def _resolved(content: Content) -> tuple[object, ...]:
    return content() if callable(content) else content


def _object_frame(records: list[dict[str, str | None]]) -> pd.DataFrame:
    """The records as object columns (cells as given, None where missing), columns in order
    of first appearance; built column by column, with no string dtype inferred and undone."""
    if not records:
        return pd.DataFrame()
    columns: dict[str, None] = {}
    shape: tuple[str, ...] = ()
    for record in records:
        if len(record) != len(shape) or tuple(record) != shape:
            shape = tuple(record)
            for name in shape:
                columns.setdefault(name)
    data = {}
    for name in columns:
        values = np.empty(len(records), dtype=object)
        values[:] = [r.get(name) for r in records]
        data[name] = values
    return pd.DataFrame(data, dtype=object, copy=False)


def _column_frame(columns: dict[str, list[object]], length: int) -> pd.DataFrame:
    """Columns given as lists (all `length` long) as object columns, in the given order."""
    if not length:
        return pd.DataFrame()
    data = {}
    for name, cells in columns.items():
        values = np.empty(length, dtype=object)
        values[:] = cells
        data[name] = values
    return pd.DataFrame(data, dtype=object, copy=False)


@dataclass
class Collector:
    """Collects an adapter's records, quarantine rows and duplicates for one file."""

    system: str
    file: Path
    records: list[dict[str, str | None]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    problems: list[dict[str, object]] = field(default_factory=list)
    seen: dict[str, tuple[int, Content]] = field(default_factory=dict)
    deduplicated: int = 0
    skipped: int = 0
    """Records read that state nothing the log records (e.g. a ticket update of tags only)."""
    notes: list[str] = field(default_factory=list)
    columns: dict[str, list[object]] | None = None
    """Records given column by column (`add_columns`) instead of one dict each."""

    def duplicate(self, key: str, row: int, content: Content) -> bool:
        """True if `key` was read before: identical -> counted, different -> quarantined.

        `content` may be a function that returns it: then it is only computed for keys read
        more than once (most records are read once)."""
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = (row, content)
            return False
        if _resolved(first[1]) == _resolved(content):
            self.deduplicated += 1
        else:
            self.quarantine(row, "id", key,
                            f"same id as row {first[0]} with different content")
        return True

    def quarantine(self, row: int, field_name: str, value: object, reason: str) -> None:
        self.problems.append({"file": self.file.name, "row": row, "field": field_name,
                              "value": "" if value is None else str(value), "reason": reason})

    def add(self, row: int, record: dict[str, str | None]) -> None:
        self.records.append(record)
        self.rows.append(row)

    def add_columns(self, rows: list[int], columns: dict[str, list[object]]) -> None:
        """All records at once, as columns of equal length (the only records read)."""
        if self.records or self.columns is not None:
            raise ValueError("add_columns: records were added already")
        self.columns = columns
        self.rows = rows

    def table(self) -> tuple[RawTable, pd.DataFrame]:
        if self.columns is not None:
            frame = _column_frame(self.columns, len(self.rows))
        else:
            frame = _object_frame(self.records)
        notes = list(self.notes)
        if self.deduplicated:
            notes.append(f"{self.file.name}: {self.deduplicated} record(s) exported twice, "
                         "deduplicated")
        if self.skipped:
            notes.append(f"{self.file.name}: {self.skipped} record(s) state no activity "
                         "(no mapped change) and are not events")
        quarantine = pd.DataFrame(self.problems, columns=list(QUARANTINE_COLUMNS))
        read = len(self.rows) + len({(p["row"]) for p in self.problems})
        table = RawTable(frame=frame, rows=np.asarray(self.rows, dtype=np.int64),
                         system=self.system, file=self.file, notes=notes, records_read=read)
        table.deduplicated = self.deduplicated
        return table, quarantine
