"""Timestamp parsing with explicit time zones: every result is tz-aware UTC.

A value written with an offset (``+02:00``, ``Z``) is converted to UTC, so mixed offsets are
fine. A value without one is only accepted when the user said which zone it is in
(``--assume-tz``); otherwise the import stops, because guessing would shift every SLA.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from audit.errors import InputError

# An ISO-like value with a time part followed by an explicit offset or Z/UTC/GMT.
_AWARE = (r"(?:\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?|T\d{2}(?:\d{2}(?:\d{2}(?:[.,]\d+)?)?)?)"
          r"\s*(?:Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$")
"""A time with a zone at the end: extended (10:00:00+02:00) or ISO 8601's basic form
(T100000Z, T10Z)."""
# The same pattern for RE2 (Arrow) on ASCII text: Python's \d and \s spelled out as the ASCII
# characters they match, and its '$' (end, or before a final newline) as '\n?\z'.
_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f ]"
_AWARE_ASCII = (r"(?:[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
                r"|T[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:[.,][0-9]+)?)?)?)" + _SPACE
                + r"*(?:Z|z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)\n?\z")
# ISO 8601 in full with an offset or Z, the shape the source adapters write (RE2: '$' is the
# end of the text): read by Arrow's cast where every value has it (`_iso_by_arrow`).
_ISO_OFFSET = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
               r"(?:Z|[+-][0-9]{2}:[0-9]{2})$")


_LITERAL_ZONE = re.compile(r"(?<![A-Za-z])(?:Z|z|UTC|GMT)(?![A-Za-z])")
"""A zone written in a format as literal text ("%H:%MZ", "%H:%M UTC"): the times are UTC."""
_LITERAL_OFFSET = re.compile(r"(?<![A-Za-z])(?:Z|z|UTC|GMT)\s*[+-]|[+-]\d\d:?\d\d(?!\d)")
"""A zone with an offset ("UTC+2") or an offset ("+00:00") written in a format as literal
text: read as local time, it would be moved by --assume-tz (write %z)."""
_LITERAL_ABBREVIATION = re.compile(
    r"(?<![A-Za-z])(?:CET|CEST|EET|EEST|WET|WEST|BST|IST|EST|EDT|CST|CDT|MST|MDT|PST|PDT|AKST|"
    r"AKDT|HST|AEST|AEDT|ACST|AWST|NZST|NZDT|JST|KST|HKT|SGT|MSK)(?![A-Za-z])")
"""Zone abbreviations other than UTC and GMT written as literal text: not one offset (CST is
three), so not read as UTC; refused (read the zone with %z, or name it with --assume-tz)."""


def format_parts(fmt: str) -> tuple[list[str], list[str]]:
    """The directives of a strftime format (the letters after '%') and its literal texts
    between them (``%%`` is a literal '%'). Raises ValueError for a '%' that ends it."""
    directives: list[str] = []
    literals: list[str] = [""]
    at = 0
    while at < len(fmt):
        if fmt[at] != "%":
            literals[-1] += fmt[at]
            at += 1
            continue
        if at + 1 == len(fmt):
            raise ValueError("a '%' at the end of the format directs nothing (write '%%' for "
                             "a '%' sign)")
        if fmt[at + 1] == "%":
            literals[-1] += "%"
        else:
            directives.append(fmt[at + 1])
            literals.append("")
        at += 2
    return directives, [text for text in literals if text]


def format_zone(fmt: str) -> str | None:
    """How a timestamp_format places its times: "offset" where a directive reads the zone
    (%z, %Z), "UTC" where the format writes one as literal text (``%H:%MZ``, ``%H:%M UTC``: the
    values carry it, so --assume-tz must not move them), None where the times carry no zone.
    Raises ValueError for a literal zone with an offset after it ("UTC+2": write it with %z)."""
    directives, literals = format_parts(fmt)
    if "z" in directives or "Z" in directives:
        return "offset"
    for text in literals:
        offset = _LITERAL_OFFSET.search(text)
        if offset:
            raise ValueError(
                f"the format writes an offset as literal text ({text.strip()!r}), which "
                "would be read as local time and moved by --assume-tz: read the offset "
                "with %z")
        named = _LITERAL_ABBREVIATION.search(text)
        if named:
            raise ValueError(
                f"the format writes the zone {named.group(0)!r} as literal text, which names "
                "no one offset: read the offset with %z, or drop it from the format and "
                "name the zone with --assume-tz")
    if any(_LITERAL_ZONE.search(text) for text in literals):
        return "UTC"
    return None


_DIRECTIVES = {
    "Y": "year", "y": "two-digit year", "m": "month", "b": "month name (abbreviated)",
    "B": "month name", "d": "day of the month", "j": "day of the year", "a": "weekday name "
    "(abbreviated)", "A": "weekday name", "u": "weekday (1-7)", "w": "weekday (0-6)",
    "H": "hour (00-23)", "I": "hour (01-12)", "p": "AM/PM", "M": "minute", "S": "second",
    "f": "fraction of a second", "z": "UTC offset (+0200, +02:00, Z)", "Z": "zone name",
    "G": "ISO 8601 year", "V": "ISO 8601 week (01-53)", "U": "week of the year (Sunday "
    "first)", "W": "week of the year (Monday first)",
}
"""The strftime directives a timestamp_format may use: what pandas reads the same way for every
value. Locale-dependent ones (%c, %x, %X) and ones pandas does not read are refused."""


def timestamp_format_problem(fmt: str) -> str | None:
    """Why `fmt` cannot be a timestamp_format, or None: it must be a strftime format of the
    directives in `_DIRECTIVES` giving a whole date, not one of pandas' guessing formats."""
    guessed = fmt.strip().lower()
    if guessed == "mixed":
        return ("pandas would guess each value on its own (day and month can swap within one "
                "column): write the format, e.g. \"%d/%m/%Y %H:%M\" (ISO 8601 is read "
                "without one)")
    try:
        directives, _ = format_parts(fmt)
        format_zone(fmt)
    except ValueError as exc:
        return str(exc)
    unknown = sorted({d for d in directives if d not in _DIRECTIVES})
    if unknown:
        return (f"unknown directive(s) {', '.join('%' + d for d in unknown)} (known: "
                f"{' '.join('%' + d for d in _DIRECTIVES)})")
    have = set(directives)
    weekday = bool(have & {"u", "w", "a", "A"})
    day = ((bool(have & {"m", "b", "B"}) and "d" in have) or "j" in have
           or (bool(have & {"U", "W"}) and weekday and bool(have & {"Y", "y"}))
           or ({"G", "V"} <= have and weekday))
    if not have & {"Y", "y", "G"} or not day:
        return ("no whole date: it needs a year (%Y or %y) and a month and day (%m, %b "
                "or %B with %d), a day of the year (%j) or a week and weekday (%U or %W "
                "with %u, %w, %a or %A; or %G, %V and a weekday)")
    if "I" in have and "p" not in have:
        return "%I (hour 01-12) without %p (AM/PM) would read afternoon times as morning"
    return None


def check_timestamp_format(fmt: str | None, *, file: str | Path | None = None,
                           line: int | None = None) -> str | None:
    """`fmt` if it is a usable timestamp_format (see `timestamp_format_problem`), else an
    InputError naming the mapping file and line. `ISO8601` is the default reading: None."""
    if fmt is not None and fmt.strip().lower() == "iso8601":
        return None
    if fmt is not None:
        problem = timestamp_format_problem(fmt)
        if problem is not None:
            raise InputError(f"timestamp_format {fmt!r}: {problem}", file=file, line=line,
                             field="timestamp_format")
    return fmt


@dataclass(frozen=True)
class ParsedTimes:
    values: pd.Series
    """datetime64 UTC; NaT where `bad` holds."""
    bad: pd.Series
    """bool: the value could not be used."""
    reasons: pd.Series
    """Why, where `bad` holds."""


SET_A_FORMAT = "set timestamp_format in a mapping file (--mapping)"
"""The end of the error of a column none of whose values reads as a time."""
UNIX_TIME = ("Unix times are not read (no timestamp_format reads them): write the times as "
             "ISO 8601, e.g. 2026-03-01T10:00:00Z")
"""Its end where the value shown is a number of 9 to 13 digits: seconds or milliseconds since
1970, for which setting a timestamp_format, as the error advised, cannot help."""
_UNIX_TIME = re.compile(r"[+-]?[0-9]{9,13}(?:\.[0-9]+)?")


def parse_timestamps(
    raw: pd.Series,
    *,
    rows: np.ndarray,
    file: Path,
    column: str,
    timestamp_format: str | None = None,
    assume_tz: str | None = None,
) -> ParsedTimes:
    """Parse one column of timestamps to UTC, marking unusable values instead of dropping them.

    Raises InputError when values carry no time zone and `assume_tz` is not given, or when no
    value at all can be read (a wrong format, not a few bad rows).
    """
    index = raw.index
    reasons = pd.Series("", index=index, dtype=object)
    # Typed times (Parquet) are held at their own unit, which may reach beyond the
    # nanosecond range the log holds: those are quarantined as text outside it would be.
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        reasons[raw.isna()] = "empty timestamp"
        values = _in_range(raw.dt.tz_convert("UTC"), reasons)
        return ParsedTimes(values, values.isna(), reasons)
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        _require_zone(raw, rows, file, column, assume_tz)
        zone = assume_tz or "UTC"  # no zone given only if every value is empty
        reasons[raw.isna()] = "empty timestamp"
        values = _localised(_in_range(raw, reasons), zone, reasons)
        bad = values.isna()
        return ParsedTimes(values.dt.tz_convert("UTC"), bad, reasons)

    if timestamp_format is None:
        fast = _iso_by_arrow(raw)
        if fast is not None:
            return fast
    text = raw.astype("string").str.strip()
    empty = text.isna() | text.eq("")
    utc = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    if timestamp_format is not None:
        # A format that writes the zone as literal text ("%H:%MZ", "%H:%M UTC") has its
        # values read as UTC (pandas' utc=True places times read without a zone there): once
        # they were taken as zoneless, refused for want of --assume-tz and, with it, moved by
        # the assumed zone's offset.
        # (A mapping file's format is checked when it is loaded, naming its line.)
        problem = timestamp_format_problem(timestamp_format)
        if problem is not None:
            raise InputError(f"timestamp_format {timestamp_format!r}: {problem}", file=file,
                             field=column)
        has_zone = format_zone(timestamp_format) is not None
        aware = ~empty if has_zone else pd.Series(False, index=index)
    else:
        aware = _has_zone(text)
    naive = ~empty & ~aware
    fmt = timestamp_format or "ISO8601"
    if timestamp_format is not None:
        # pandas reads a second of 60 or 61 as the next minute's first: refused here, as
        # ISO 8601 and the source adapters' formats refuse it.
        leap = _leap_seconds(text, timestamp_format) & ~empty
        if leap.any():
            aware &= ~leap
            naive &= ~leap
            reasons[leap] = LEAP_SECOND
    if aware.any():
        utc[aware] = _in_range(
            pd.to_datetime(text[aware], format=fmt, utc=True, errors="coerce"), reasons)
    if naive.any():
        try:
            read = pd.to_datetime(text[naive], format=fmt, errors="coerce")
        except ValueError as exc:  # a zone the pattern above does not see, beside none
            first = int(np.flatnonzero(naive.to_numpy())[0])
            raise InputError(f"timestamps with and without a time zone that cannot be told "
                             f"apart ({exc}); write each with an offset or Z",
                             file=file, row=int(rows[first]), field=column) from exc
        local = _in_range(read, reasons)
        # Only values that read as times need a zone; the rest are quarantined (or, if nothing
        # reads at all, reported below as a wrong format).
        readable = pd.Series(False, index=index)
        readable[local.index] = local.notna()
        if readable.any() and not isinstance(local.dtype, pd.DatetimeTZDtype):
            _require_zone(text.where(readable), rows, file, column, assume_tz)
        if isinstance(local.dtype, pd.DatetimeTZDtype):  # a format that carried a zone after all
            local = local.dt.tz_convert("UTC")
        elif assume_tz is None:  # nothing readable: every value is unusable
            local = local.dt.tz_localize("UTC")
        else:
            local = _localised(local, assume_tz, reasons).dt.tz_convert("UTC")
        utc[naive] = local
    bad = utc.isna()
    reasons[empty] = "empty timestamp"
    unreadable = bad & ~empty & reasons.eq("")
    if unreadable.any():
        # Read again alone: beside a value pandas reads at nanoseconds (a 12-digit
        # fraction), a year-2263 value was coerced to NaT, not read at a coarser unit and
        # told to be outside the range. (For the reason only: the row stays quarantined.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            again = pd.to_datetime(text[unreadable], format=fmt, utc=True, errors="coerce")
            _in_range(again, reasons)
        # Still unread, in ISO 8601: a date whose year no timestamp holds is told so (two
        # such values, or one with a fraction past nanoseconds, spoil any reading).
        if timestamp_format is None:
            rest = unreadable & reasons.eq("")
            year = pd.to_numeric(text[rest].str.extract(r"^([+-]?\d{4,})-\d\d-\d\d",
                                                        expand=False), errors="coerce")
            far = year[(year < 1677) | (year > 2262)].index
            reasons[far] = OUT_OF_RANGE
            rest = unreadable & reasons.eq("")
            leap_text = text[rest].str.contains(_ISO_LEAP, regex=True).fillna(False)
            reasons[leap_text[leap_text.astype(bool)].index] = LEAP_SECOND
        elif "Z" in format_parts(timestamp_format)[0]:
            _tell_zones(text[unreadable & reasons.eq("")], timestamp_format, reasons)
        unreadable &= reasons.eq("")
    hint = f"format {timestamp_format!r}" if timestamp_format else "ISO 8601"
    reasons[unreadable] = f"not a timestamp in {hint}"
    if (~empty).any() and bad[~empty].all():
        first = int(np.flatnonzero(~empty.to_numpy())[0])
        if reasons[~empty].eq(OUT_OF_RANGE).all():
            raise InputError(
                f"every value is a {OUT_OF_RANGE}, e.g. {shown_example(text.iloc[first])}",
                file=file, row=int(rows[first]), field=column)
        example = str(text.iloc[first])
        advice = UNIX_TIME if _UNIX_TIME.fullmatch(example) else SET_A_FORMAT
        why = str(reasons.iloc[first])
        if why.startswith(_ZONE_NAME_REASON) or why == LEAP_SECOND:
            advice = why  # (the format is right: the zone, or the second, is not)
        raise InputError(
            f"no value could be read as a timestamp in {hint}, e.g. {shown_example(example)}; "
            f"{advice}", file=file, row=int(rows[first]), field=column)
    return ParsedTimes(utc, bad, reasons)


def shown_example(value: object, limit: int = 80) -> str:
    """`value` quoted for an error, cut to its first characters where longer than `limit`,
    saying how long it is: a 10 MB cell quoted whole made a 10 MB line on stderr."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit - 20]!r}... ({len(text):,} characters)"


LEAP_SECOND = ("second 60 or 61 (a leap second, which a timestamp cannot hold, or no time "
               "at all)")
"""The reason of a time whose second is 60 or 61. (Before, a timestamp_format read it as
the next minute's first second: 23:59:60 as 00:00:00, 10:00:61 as 10:01:01, while ISO 8601
and the source adapters refused it.)"""
_ISO_LEAP = (r"[0-9]{2}:[0-9]{2}:6[01](?:[.,][0-9]+)?\s*(?:Z|z|UTC|GMT|[+-][0-9]{2}"
             r"(?::?[0-9]{2})?)?$")
"""An ISO 8601 time whose second is 60 or 61 (`LEAP_SECOND`)."""
_PANDAS_SECOND = "(?P<S>6[0-1]|[0-5]\\d|\\d)"
"""The group pandas reads %S with (seconds 0 to 61)."""


def _pandas_pattern(fmt: str) -> str:
    """The regular expression pandas reads the values of the strftime format `fmt` with
    (its own, a copy of the standard library's with %z and %Z of its own)."""
    from pandas._libs.tslibs.strptime import _TimeRE_cache  # type: ignore[import-not-found]

    return str(_TimeRE_cache.pattern(fmt))


def _leap_seconds(text: pd.Series, fmt: str) -> pd.Series:
    """Where `fmt` reads a second of 60 or 61 from `text` (stripped): the values that match
    pandas' own pattern of the format with %S narrowed to 60 and 61. Only values holding
    '60' or '61' are matched (one search over the column, in Arrow for Arrow text)."""
    found = pd.Series(False, index=text.index)
    if "S" not in format_parts(fmt)[0]:
        return found
    candidates = text.str.contains("6[01]", regex=True).fillna(False).astype(bool)
    if not candidates.any():
        return found
    pattern = _pandas_pattern(fmt)
    if _PANDAS_SECOND not in pattern:  # (another pandas: the reason is then pandas' own)
        return found
    narrowed = pattern.replace(_PANDAS_SECOND, "(?P<S>6[01])")
    subset = text[candidates]
    try:
        matched = subset.str.fullmatch(narrowed, case=False)
    except (ValueError, TypeError, NotImplementedError, ArithmeticError, MemoryError,
            RuntimeError):  # (a pattern Arrow's RE2 cannot take: Python's re reads it)
        matched = subset.astype(object).str.fullmatch(narrowed, case=False)
    found[candidates] = matched.fillna(False).astype(bool).to_numpy()
    return found


def _tell_zones(text: pd.Series, fmt: str, reasons: pd.Series) -> None:
    """The reasons of values (`text`, stripped) a format with %Z did not read, where the
    zone is why (before, "not a timestamp in format ..." though the format was right): a
    local time the value's IANA zone skips or has twice at a DST change (told as a time
    without a zone read in --assume-tz is, `local_time_reason`), or a zone abbreviation that
    names no IANA zone, %Z reading IANA names only (`zone_name_reason`), where the value
    reads with UTC in its place. Only the unread values are looked at."""
    values = text.astype(object)
    parts = values.str.extract(f"^(?:{_pandas_pattern(fmt)})$", flags=re.IGNORECASE)
    zones = parts["Z"].dropna() if "Z" in parts.columns else pd.Series(dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for zone in zones.unique():
            try:
                ZoneInfo(str(zone))
            except (ValueError, KeyError, OSError):
                continue
            at = zones.index[zones.eq(zone).to_numpy()]
            wall = pd.to_datetime(values[at].str.replace(str(zone), "UTC", n=1, regex=False),
                                  format=fmt, utc=True, errors="coerce").dt.tz_localize(None)
            _localised(_in_range(wall, reasons), str(zone), reasons)
        rest = values[values.index.difference(zones.index)]
        named = rest.str.extract(f"({_LITERAL_ABBREVIATION.pattern})", expand=False).dropna()
        # (Told so only where the value reads with UTC in the abbreviation's place: else
        # something more is wrong with it.)
        instead = rest[named.index].str.replace(_LITERAL_ABBREVIATION, "UTC", n=1, regex=True)
        reads = pd.to_datetime(instead, format=fmt, utc=True, errors="coerce").notna()
    named = named[reads.to_numpy(dtype=bool)]
    told = {name: zone_name_reason(str(name)) for name in named.unique()}
    reasons[named.index] = named.map(told).astype(object)


def zone_name_reason(abbreviation: str) -> str:
    """The quarantine reason of a value whose %Z is the zone abbreviation `abbreviation`
    (CEST, PDT), which names no IANA zone."""
    return (f"{_ZONE_NAME_REASON}{abbreviation!r} is an abbreviation, not an IANA zone "
            "name, which %Z reads (e.g. Europe/Berlin or UTC): write the offset and read it "
            "with %z")


_ZONE_NAME_REASON = "the zone "
"""How `zone_name_reason` begins."""


def _iso_by_arrow(raw: pd.Series) -> ParsedTimes | None:
    """Arrow-backed text whose every value is ISO 8601 with an offset or Z (`_ISO_OFFSET`),
    read by Arrow's cast to UTC nanoseconds: what the ISO 8601 reading below gives for such
    values. None, for that reading to decide, where a value is missing or of another shape,
    or where Arrow refuses one (not a valid time, or outside the nanosecond range)."""
    array = raw.array
    if not isinstance(array, pd.arrays.ArrowStringArray) or not len(raw):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.chunked_array(array.__arrow_array__())
    if values.null_count or not pc.all(pc.match_substring_regex(values, _ISO_OFFSET)).as_py():
        return None
    try:
        stamps = pc.cast(values, pa.timestamp("ns", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    nanoseconds = stamps.cast(pa.int64()).to_numpy().view("datetime64[ns]")
    index = raw.index
    utc = pd.Series(pd.DatetimeIndex(nanoseconds).tz_localize("UTC"), index=index)
    return ParsedTimes(utc, pd.Series(False, index=index),
                       pd.Series("", index=index, dtype=object))


def local_time_reason(local: str, zone: str, *, skipped: bool) -> str:
    """The quarantine reason of a local time `zone` cannot place in UTC: one its clocks
    skipped (`skipped`: spring forward, it never happened) or one they showed twice (fall
    back: ambiguous), naming the zone and the time. (Before, both read "not a valid local
    time in ZONE (DST change)", telling neither which nor the time.)"""
    if skipped:
        return (f"not a valid local time in {zone}: {local} does not exist there (the clocks "
                "went forward past it)")
    return (f"not a valid local time in {zone}: {local} occurs twice there (the clocks went "
            "back over it; write it with its offset to say which)")


def _localised(local: pd.Series, zone: str, reasons: pd.Series) -> pd.Series:
    """`local` (zoneless, within the range) placed in `zone`, NaT with its reason where it
    cannot be: a time the zone skips or has twice (`_tell_unplaced`), or one within a day of
    the range's ends whose UTC time is outside it (OUT_OF_RANGE; before, 1677-09-21 00:20 in
    Europe/Berlin or 2262-04-11 23:40 in America/New_York crashed the import)."""
    day = pd.Timedelta(days=1)
    near = local.notna() & ((local < pd.Timestamp.min + day) | (local > pd.Timestamp.max - day))
    if near.any():
        flags = np.zeros(len(local), dtype=bool)
        for k in np.flatnonzero(near.to_numpy(dtype=bool)):
            flags[k] = _outside_in_utc(local.iloc[k], zone)
        if flags.any():
            reasons[local.index[flags]] = OUT_OF_RANGE
            local = local.where(~flags)
    placed: pd.Series = local.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    _tell_unplaced(local, placed, zone, reasons)
    return placed


def _outside_in_utc(value: pd.Timestamp, zone: str) -> bool:
    """Whether the local time `value` in `zone` is outside the range in UTC."""
    try:
        pd.Series([value]).dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    except pd.errors.OutOfBoundsDatetime:
        return True
    return False


def _tell_unplaced(local: pd.Series, placed: pd.Series, zone: str,
                   reasons: pd.Series) -> None:
    """The reasons of the times of `local` (zoneless) that `placed` (`local` localised in
    `zone`, NaT for times skipped or ambiguous) could not place (`local_time_reason`)."""
    unplaced = placed.isna() & local.notna()
    if not unplaced.any():
        return
    times = local[unplaced]
    # Ambiguous times taken as one of their two readings: only the skipped stay NaT.
    skipped = times.dt.tz_localize(zone, ambiguous=np.ones(len(times), dtype=bool),
                                   nonexistent="NaT").isna()
    reasons.loc[times.index] = [local_time_reason(str(t), zone, skipped=bool(gap))
                                for t, gap in zip(times, skipped, strict=True)]


OUT_OF_RANGE = (f"time outside {pd.Timestamp.min} to {pd.Timestamp.max} UTC (the range a "
                "timestamp can hold)")
"""The reason of a time outside the nanosecond timestamps' range, with its exact ends
(1677-09-21 00:12:43.145224193 to 2262-04-11 23:47:16.854775807; before, "the years 1678 to
2261", while the ends of 1677 and the start of 2262 were read)."""


def _in_range(parsed: pd.Series, reasons: pd.Series) -> pd.Series:
    """`parsed` with values outside the nanosecond timestamp range set to NaT and their reason
    written (pandas reads e.g. year 9999 or 1000 at a coarser unit, which the log can't hold)."""
    low, high = pd.Timestamp.min, pd.Timestamp.max
    aware = isinstance(parsed.dtype, pd.DatetimeTZDtype)
    if aware:
        low, high = low.tz_localize("UTC"), high.tz_localize("UTC")
    outside = parsed.notna() & ((parsed < low) | (parsed > high))
    if outside.any():
        reasons[outside[outside].index] = OUT_OF_RANGE
        parsed = parsed.where(~outside)
    return parsed.astype("datetime64[ns, UTC]" if aware else "datetime64[ns]")


def _has_zone(text: pd.Series) -> pd.Series:
    """Which values end in a time with an offset or Z/UTC/GMT (`_AWARE`), as a bool Series.

    Arrow-backed ASCII text is matched by Arrow (RE2) with a pattern that means the same on
    ASCII; anything else by Python's re, as pandas would otherwise do row by row.
    """
    array = text.array
    if isinstance(array, pd.arrays.ArrowStringArray):
        import pyarrow as pa
        import pyarrow.compute as pc

        arrow = pa.chunked_array(array.__arrow_array__())
        if pc.all(pc.string_is_ascii(arrow)).as_py() is not False:
            found = pc.fill_null(pc.match_substring_regex(arrow, _AWARE_ASCII), False)
            return pd.Series(found.to_numpy(zero_copy_only=False), index=text.index,
                             dtype=bool)
    return text.str.contains(_AWARE, regex=True).fillna(False).astype(bool)


def _require_zone(
    values: pd.Series, rows: np.ndarray, file: Path, column: str, assume_tz: str | None
) -> None:
    if assume_tz is not None:
        return
    present = np.flatnonzero(values.notna().to_numpy())
    if len(present) == 0:  # no value at all: nothing to place in a zone
        return
    first = int(present[0])
    example = values.iloc[[first]].astype("string").iloc[0]  # (datetimes: this one as text)
    raise InputError(
        f"timestamps have no time zone, e.g. {example!r}; say which zone they are "
        "in with --assume-tz (e.g. --assume-tz UTC or --assume-tz Europe/Berlin)",
        file=file, row=int(rows[first]), field=column)
