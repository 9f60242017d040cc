"""What every source adapter shares: strict amounts, zone abbreviations, the table it returns.

An adapter turns one export into records that already carry canonical column names, so the
normaliser maps them exactly; rows it cannot use become quarantine rows (file, row, field,
value, reason) and rows exported twice are dropped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit import canonical as C
from audit.currency import CURRENCIES, minor_units, stripe_minor_units
from audit.errors import InputError
from audit.ingest.jsontext import as_text, read_export, record_line
from audit.ingest.normalise import (
    ABOVE_CHARGE_HINTS,
    QUARANTINE_COLUMNS,
    QUARANTINE_HINTS,
    RECORD_READ,
    REFUND_TOTAL_HINT,
    other_digit,
    other_digit_reason,
)
from audit.ingest.raw import FieldsOfRows, IdCells, RawTable
from audit.ingest.timestamps import OUT_OF_RANGE, local_time_reason

# ASCII digits only: \d, int() and Decimal() take any script's digits ("１２", "١٢").
_PLAIN = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
_MINOR = re.compile(r"^[+-]?[0-9]+$")

# Abbreviations payment exports write in their time zone column, with their UTC offsets.
# The column holds the short name of the zone the account is set to (Adyen: "BST, CET,
# CEST, etc."), so an account outside Europe and North America writes its own: the
# Asia-Pacific, South American, Russian and African ones below are the short names of their
# zones that mean one offset only. Names that mean several are left out, so that a time in
# one is quarantined, never shifted by hours: IST (India +5:30, Ireland +1, Israel +2), AST
# (Atlantic -4, Arabia +3), GST (Gulf +4, South Georgia -2); CST is the US Central's (as
# before; China's CST is +8).
ZONE_ABBREVIATIONS: dict[str, timedelta] = {
    "UTC": timedelta(0), "GMT": timedelta(0), "Z": timedelta(0), "WET": timedelta(0),
    "BST": timedelta(hours=1), "WEST": timedelta(hours=1), "CET": timedelta(hours=1),
    "CEST": timedelta(hours=2), "EET": timedelta(hours=2), "EEST": timedelta(hours=3),
    "EST": timedelta(hours=-5), "EDT": timedelta(hours=-4), "CST": timedelta(hours=-6),
    "CDT": timedelta(hours=-5), "MST": timedelta(hours=-7), "MDT": timedelta(hours=-6),
    "PST": timedelta(hours=-8), "PDT": timedelta(hours=-7),
    "AKST": timedelta(hours=-9), "AKDT": timedelta(hours=-8), "HST": timedelta(hours=-10),
    "BRT": timedelta(hours=-3), "ART": timedelta(hours=-3),
    "MSK": timedelta(hours=3), "SAST": timedelta(hours=2),
    "ICT": timedelta(hours=7), "WIB": timedelta(hours=7), "SGT": timedelta(hours=8),
    "HKT": timedelta(hours=8), "PHT": timedelta(hours=8), "AWST": timedelta(hours=8),
    "JST": timedelta(hours=9), "KST": timedelta(hours=9),
    "ACST": timedelta(hours=9, minutes=30), "ACDT": timedelta(hours=10, minutes=30),
    "AEST": timedelta(hours=10), "AEDT": timedelta(hours=11),
    "NZST": timedelta(hours=12), "NZDT": timedelta(hours=13),
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
    """`datetime.strptime`, with a fast path for the plain numeric formats above; a text
    holding digits other than ASCII 0-9 is a ValueError (strptime reads any script's)."""
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
    if not text.isascii() and other_digit(text):
        # (strptime's \d takes any script's digits: "２０２６" would read as 2026)
        raise ValueError(f"digits other than ASCII 0-9 in {text!r}")
    return datetime.strptime(text, fmt)


_RE2_D2, _RE2_D4, _RE2_CLOCK = "[0-9]{2}", "[0-9]{4}", "[0-9]{2}:[0-9]{2}:[0-9]{2}"
# The same formats for whole columns: the full-text pattern (RE2, no whitespace around) and
# where year, month, day, hour, minute, second start (all 2 digits but the 4-digit year).
_COLUMN_FORMATS: dict[str, tuple[str, tuple[int, int, int, int, int, int]]] = {
    "%Y-%m-%d %H:%M:%S": (f"^{_RE2_D4}-{_RE2_D2}-{_RE2_D2} {_RE2_CLOCK}$",
                          (0, 5, 8, 11, 14, 17)),
    "%d/%m/%Y %H:%M:%S": (f"^{_RE2_D2}/{_RE2_D2}/{_RE2_D4} {_RE2_CLOCK}$",
                          (6, 3, 0, 11, 14, 17)),
    "%m/%d/%Y %H:%M:%S": (f"^{_RE2_D2}/{_RE2_D2}/{_RE2_D4} {_RE2_CLOCK}$",
                          (6, 0, 3, 11, 14, 17)),
}
_JIRA_PATTERN = (f"^{_RE2_D4}-{_RE2_D2}-{_RE2_D2}T{_RE2_CLOCK}\\.[0-9]{{1,6}}[+-]"
                 "[0-9]{2}[0-5][0-9]$")
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def _matching(texts: Sequence[object], pattern: str) -> tuple[pa.Array, Mask] | None:
    """The texts as an Arrow string array and where they match `pattern` in full; None if
    Arrow cannot hold them (e.g. a lone surrogate): then no text is read column-wise."""
    if isinstance(texts, pa.Array):
        array = texts
    else:
        try:
            array = pa.array(texts, type=pa.string())
        except (pa.ArrowException, TypeError, ValueError, UnicodeError):
            return None
    matched = pc.fill_null(pc.match_substring_regex(array, pattern), False)
    return array, np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool)


def _digits(array: pa.Array, start: int, stop: int) -> Ints:
    """The integer at [start, stop) of each text (code units; negative: from the end), where
    every text has ASCII digits there: the caller has put a text of its pattern in place of
    each that did not match it."""
    return np.asarray(pc.cast(pc.utf8_slice_codeunits(array, start, stop), pa.int64())
                      .to_numpy(zero_copy_only=False), dtype=np.int64)


def _civil(parts: list[Ints]) -> Mask:
    """Where year, month, day, hour, minute, second make a valid time whose year (and the
    year a day's shift can make of it) is 1001..9998: exactly when datetime() accepts them,
    within a range where all conversions stay in datetime's years."""
    year, month, day, hour, minute, second = parts
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    valid: Mask = ((year >= 1001) & (year <= 9998) & (month >= 1) & (month <= 12)
                   & (day >= 1) & (day <= days) & (hour < 24) & (minute < 60) & (second < 60))
    return valid


def _days_from_civil(year: Ints, month: Ints, day: Ints) -> Ints:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    result: Ints = era * 146097 + doe - 719468
    return result


def _utc_seconds(texts: Sequence[object] | pa.Array, fmt: str, offsets: Ints,
                 usable: Mask) -> tuple[Mask, Ints] | None:
    """Where `utc_text` reads a text column-wise, and the UTC seconds of those texts (in
    their order); None where it reads none."""
    layout = _COLUMN_FORMATS.get(fmt)
    found = None if layout is None or not len(texts) else _matching(texts, layout[0])
    if layout is None or found is None:
        return None
    found_texts, matched = found
    # The texts that do not match read as a plain time of the format, so that every slice
    # below is digits (the pattern checked them) and is cast without a check of its own.
    array = pc.if_else(pa.array(matched), found_texts, datetime(2000, 1, 1).strftime(fmt))
    widths = (4, 2, 2, 2, 2, 2)
    parts = [_digits(array, start, start + width)
             for start, width in zip(layout[1], widths, strict=True)]
    ok = matched & usable & _civil(parts)
    if not ok.any():
        return None
    year, month, day, hour, minute, second = (p[ok] for p in parts)
    seconds: Ints = (_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60
                     + second - offsets[ok])
    return ok, seconds


def utc_text(texts: pa.Array, fmt: str, offsets: Ints, usable: Mask) -> pa.Array:
    """Per text: what `strptime(text, fmt)` at UTC offset `offsets` (seconds), converted
    to UTC, gives as ISO 8601 (`...+00:00`) -- for the texts of the plain numeric shape of
    `fmt` (no whitespace around) that are valid times, where `usable`; null for all others,
    which the caller reads one by one (so their results and errors are the usual ones)."""
    n = len(texts)
    found = _utc_seconds(texts, fmt, offsets, usable)
    if found is None:
        return pa.nulls(n, pa.large_string())
    ok, seconds = found
    where = np.cumsum(ok) - 1
    return iso_utc_text(seconds).take(pa.array(where, mask=~ok))


_ISO_UTC = np.frombuffer(b"0000-00-00T00:00:00+00:00", dtype=np.uint8)
_ISO_DIGITS = ((0, 1000), (1, 100), (2, 10), (3, 1), (5, 10), (6, 1), (8, 10), (9, 1),
               (11, 10), (12, 1), (14, 10), (15, 1), (17, 10), (18, 1))
"""Where each digit of year, month, day, hour, minute, second goes, and its place value."""


def iso_utc_text(seconds: Ints) -> pa.Array:
    """Seconds since 1970 (UTC) of years 1000 to 9999 as ISO 8601 text,
    'YYYY-MM-DDTHH:MM:SS+00:00' (what `np.datetime_as_string` writes, plus the offset),
    made as one block of characters: every text has the same 25."""
    n = len(seconds)
    days, clock = np.divmod(np.asarray(seconds, dtype=np.int64), 86400)
    # Civil date of a day count (H. Hinnant's algorithm, the inverse of _days_from_civil).
    shifted = days + 719468
    era = shifted // 146097
    doe = shifted - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    hour, rest = np.divmod(clock, 3600)
    minute, second = np.divmod(rest, 60)
    fields = (year,) * 4 + (month,) * 2 + (day,) * 2 + (hour,) * 2 + (minute,) * 2 + (second,) * 2
    text = np.tile(_ISO_UTC, (n, 1))
    for (at, place), values in zip(_ISO_DIGITS, fields, strict=True):
        text[:, at] = 48 + (values // place) % 10
    offsets = np.arange(0, 25 * n + 1, 25, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets),
                                            pa.py_buffer(np.ascontiguousarray(text)))


def offset_iso_column(texts: Sequence[object] | pa.Array) -> list[str | None]:
    """Per text: `strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").isoformat()` for the texts of
    that plain shape (no whitespace around) that are valid times; None for all others.
    `texts` may be given as Arrow text already (`arrow_texts`)."""
    result: list[str | None] = [None] * len(texts)
    if not len(texts):
        return result
    array = texts if isinstance(texts, pa.Array) else arrow_texts(texts)
    if array is None:
        return result
    same = millis_iso_text(array)
    if same is not None:
        made_same: list[str | None] = same.to_pylist()
        return made_same
    found = _matching(array, _JIRA_PATTERN)
    if found is None:
        return result
    texts_found, matched = found
    if not matched.any():
        return result
    # The texts that do not match read as a plain time, so that every slice below is
    # digits (the pattern checked them) and is cast without a check of its own.
    array = pc.if_else(pa.array(matched), texts_found, "2000-01-01T00:00:00.0+0000")

    parts = [_digits(array, start, start + width) for start, width in
             ((0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2))]
    hours = _digits(array, -4, -2)
    ok = matched & _civil(parts) & (hours < 24)
    if not ok.any():
        return result
    # Made column-wise from the texts' parts (the matched texts are ASCII): the seconds'
    # fraction padded to microseconds and left out where zero, the offset as +HH:MM, and
    # -00:00 written +00:00, as isoformat() writes them.
    def cut(start: int, stop: int | None = None) -> pa.Array:
        return pc.utf8_slice_codeunits(array, start, stop if stop is not None else 1 << 30)

    fraction = pc.utf8_rpad(cut(20, -5), width=6, padding="0")
    dotted = pc.if_else(pc.equal(fraction, "000000"), "",
                        pc.binary_join_element_wise(".", fraction, ""))
    minus = pc.and_(pc.equal(cut(-5, -4), "-"), pc.not_equal(cut(-4), "0000"))
    made = pc.binary_join_element_wise(cut(0, 19), dotted, pc.if_else(minus, "-", "+"),
                                       cut(-4, -2), ":", cut(-2), "")
    made_texts: list[str | None] = pc.if_else(pa.array(ok), made,
                                              pa.scalar(None, pa.string())).to_pylist()
    return made_texts


_MILLIS_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 24, 25,
                           26, 27])
"""Where the digits of 'YYYY-MM-DDTHH:MM:SS.fff+HHMM' are (Jira's usual time)."""
_MILLIS_MARKS = np.array([4, 7, 10, 13, 16, 19])
_MILLIS_MARK_TEXT = np.frombuffer(b"--T::.", dtype=np.uint8)
_MILLIS_SIGNS = np.frombuffer(b"+-", dtype=np.uint8)


def millis_iso_text(texts: pa.Array) -> pa.Array | None:
    """`offset_iso_column` as Arrow large text, of texts where every one is the 28 characters
    'YYYY-MM-DDTHH:MM:SS.fff+HHMM' (milliseconds, Jira's usual time; its pattern's shape,
    checked here) and a valid time: read and written as one block of bytes, each text a
    row (the pattern's match and the column-wise slices of Arrow text cost 0.2 s a 250k-
    update export). None where one is not: the column is then read as any other."""
    if not isinstance(texts, pa.Array) or texts.type != pa.string() or texts.null_count:
        return None
    ends = np.frombuffer(texts.buffers()[1], dtype=np.int32,
                         count=texts.offset + len(texts) + 1)[texts.offset:]
    if not (np.diff(ends) == 28).all():
        return None
    data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)[ends[0]:ends[-1]]
    block = data.reshape(len(texts), 28)
    digits = block[:, _MILLIS_DIGITS].astype(np.int64) - 48
    if ((digits < 0) | (digits > 9)).any() or (digits[:, 19] > 5).any() or not (
            block[:, _MILLIS_MARKS] == _MILLIS_MARK_TEXT).all() or not np.isin(
            block[:, 23], _MILLIS_SIGNS).all():
        return None

    def number(first: int, width: int) -> Ints:
        value = digits[:, first]
        for k in range(first + 1, first + width):
            value = value * 10 + digits[:, k]
        return value

    parts = [number(0, 4), number(4, 2), number(6, 2), number(8, 2), number(10, 2),
             number(12, 2)]
    if not (_civil(parts) & (number(17, 2) < 24)).all():
        return None
    n = len(texts)
    # As isoformat() writes them: the fraction padded to microseconds and left out where
    # zero, the offset as +HH:MM, and -00:00 written +00:00.
    fraction = number(14, 3) != 0
    sign = np.where((block[:, 23] == ord("-")) & (number(17, 4) != 0), ord("-"), ord("+"))
    tail = np.empty((n, 6), dtype=np.uint8)
    tail[:, 0], tail[:, 1:3], tail[:, 3], tail[:, 4:6] = sign, block[:, 24:26], ord(":"), \
        block[:, 26:28]
    out = np.empty((n, 32), dtype=np.uint8)
    out[:, :19] = block[:, :19]
    out[:, 19] = ord(".")
    out[:, 20:23] = block[:, 20:23]
    out[:, 23:26] = ord("0")
    out[:, 26:] = tail
    out[~fraction, 19:25] = tail[~fraction]
    lengths = np.where(fraction, 32, 25)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    text = out[np.arange(32) < lengths[:, None]]
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(text)))


# --- Arrow text ---------------------------------------------------------------------------
TEXT = pa.large_string()

SPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
         "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
"""Every character `str.isspace()` holds for, which `str.strip()` removes at the ends."""


def stripped(values: pa.Array) -> pa.Array:
    """`str.strip()` of every text."""
    return pc.utf8_trim(values, characters=SPACE)


def none_if_empty(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


def text_codes(values: pa.Array) -> tuple[Ints, pa.Array]:
    """A code per text (equal texts, equal codes; -1 where missing) and the distinct texts
    the codes index, in order of first appearance (Arrow's dictionary encoding)."""
    encoded = pc.dictionary_encode(values)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return np.asarray(codes, dtype=np.int64), encoded.dictionary


def repeated_text(value: str | None, size: int) -> pa.Array:
    """One text (or null) `size` times, as Arrow text."""
    if value is None:
        return pa.nulls(size, TEXT)
    return pa.array([value], TEXT).take(pa.array(np.zeros(size, dtype=np.int64)))


def text_columns(frame: pd.DataFrame, names: list[str],
                 only: Collection[str] | None = None) -> dict[str, pa.Array]:
    """Each column of a `read_csv` frame (`names`: its column names; `only`: just these)
    as one Arrow text array (its cells are Arrow-backed, or str where the csv module read
    the file; never a lone surrogate, which read_csv refuses)."""
    arrays: dict[str, pa.Array] = {}
    for i, name in enumerate(names):
        if only is not None and name not in only:
            continue
        cells = frame.iloc[:, i]
        if isinstance(cells.array, pd.arrays.ArrowStringArray):
            arrays[name] = pa.chunked_array(
                cells.array.__arrow_array__()).combine_chunks().cast(TEXT)
        else:
            arrays[name] = pa.array(cells.tolist(), type=TEXT)
    return arrays


class BadValue(ValueError):
    """A value an adapter cannot use; the message is the quarantine reason."""


NEGATIVE = ("negative amount (this export writes amounts as magnitudes: a refund is told "
            "by its kind, not by a sign)")
"""Why an amount with a minus sign is quarantined where the export writes magnitudes (all
but PayPal's Gross, whose sign its reader checks against the row's type)."""


def unsigned(amount: Decimal) -> Decimal:
    """`amount`, BadValue where it is below zero (-0 is zero)."""
    if amount < 0:
        raise BadValue(NEGATIVE)
    return amount


def _refuse_other_digits(value: str) -> None:
    """BadValue naming the first digit of `value` that is not one of ASCII 0-9 (full-width,
    Arabic-Indic, ...), as a generic log's amount is quarantined: no export writes them, and
    such a number's marks (full-width "．", Arabic "٫") are no decimal point."""
    if value.isascii():
        return
    digit = other_digit(value)
    if digit:
        raise BadValue(other_digit_reason(digit))


def parse_major(text: str) -> Decimal:
    """A plain decimal amount in major units ('1234.56', '-49.99'); no other notation."""
    value = text.strip()
    if not _PLAIN.match(value):
        _refuse_other_digits(value)
        if "," in value or "'" in value or " " in value:
            raise BadValue("thousands separator or decimal comma in an amount (this export "
                           "writes plain decimals such as 1234.56)")
        raise BadValue("not a decimal amount")
    return Decimal(value)


def parse_minor(text: str, currency: str) -> Decimal:
    """An integer amount in the currency's minor units ('4999' EUR -> 49.99)."""
    value = text.strip()
    if not _MINOR.match(value):
        _refuse_other_digits(value)
        raise BadValue("not an integer amount in minor units (e.g. 4999 for 49.99)")
    if currency.upper() not in CURRENCIES:
        raise BadValue("unknown currency, so the minor units are unknown")
    return Decimal(value).scaleb(-stripe_minor_units(currency.upper()))


def minor_money(text: str, currency: str) -> str:
    """``money(parse_minor(text, currency))``: the same text, or the same BadValue. For an
    integer of up to 18 characters in a known currency, the digits are split at the
    currency's minor units without a Decimal (a Stripe export has one amount per row)."""
    value = text.strip()
    code = currency.upper()
    if (len(value) > 18 or not _MINOR.match(value) or code not in CURRENCIES
            or value.startswith("-")):
        return money(parse_minor(text, currency))
    units = stripe_minor_units(code)
    whole, part = divmod(int(value), 10 ** units)
    return f"{whole}.{part:0{units}d}" if units else str(whole)


def minor_money_text(texts: pa.Array, units: Ints) -> pa.Array:
    """`minor_money(text, currency)` for the texts of 1-18 ASCII digits (no sign) in a
    known currency, column-wise: the digits split at the currency's minor
    units, as `minor_money` splits them; null for every other text. `units`: each text's
    currency's minor units (-1: not a known currency)."""
    n = len(texts)
    nothing = pa.nulls(n, texts.type)
    if not n:
        return nothing
    found = _matching(texts, r"^[0-9]{1,18}$")
    if found is None:
        return nothing
    array, plain = found
    ok = plain & (units >= 0)
    if not ok.any():
        return nothing
    digits = pc.if_else(pa.array(ok), array, pa.scalar("0", array.type))
    values = np.asarray(pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False))
    whole, part = np.divmod(values, 10 ** np.maximum(units, 0))
    out = pc.cast(pa.array(whole), texts.type)
    part_text = pc.cast(pa.array(part), texts.type)
    for width in sorted(set(units[ok].tolist()) - {0}):
        joined = pc.binary_join_element_wise(
            out, pc.utf8_lpad(part_text, width=width, padding="0"),
            pa.scalar(".", texts.type))
        out = pc.if_else(pa.array(units == width), joined, out)
    return pc.if_else(pa.array(ok), out, pa.scalar(None, texts.type))


def parse_major_in(text: str, currency: str) -> Decimal:
    """`parse_major`, refused where the amount has more decimals than `currency` has minor
    units: a de-DE export's 1.500 JPY (1500 yen, the dot a thousands separator) read as
    1.5 yen, its 1.500 EUR as 1.50 euro."""
    amount = parse_major(text)
    code = currency.strip().upper()
    exponent = amount.as_tuple().exponent
    if code in CURRENCIES and isinstance(exponent, int) and -exponent > minor_units(code):
        units = minor_units(code)
        raise BadValue(f"more decimals than {code} has ({units}): a thousands separator? "
                       "(this export writes plain decimals such as 1234.56)")
    return amount


def major_decimals(amounts: pa.Array) -> Ints:
    """Per money text ('1234.56', '1500'), the digits after its decimal point (0 where
    it has none or is null)."""
    point = np.asarray(pc.fill_null(pc.find_substring(amounts, "."), -1)
                       .to_numpy(zero_copy_only=False), dtype=np.int64)
    length = np.asarray(pc.fill_null(pc.utf8_length(amounts), 0)
                        .to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.where(point < 0, 0, length - point - 1)


def money(value: Decimal) -> str:
    """The canonical text of an amount, as written by the source; BadValue where it is
    negative (`unsigned`): a sign is never dropped here. A reader of a signed format
    (PayPal's Gross) checks the sign and passes the magnitude."""
    unsigned(value)
    try:
        return format(value.copy_abs(), "f")  # (-0.00 -> 0.00)
    except InvalidOperation as exc:  # pragma: no cover - Decimal from our parsers is finite
        raise BadValue("not a number") from exc


def local_to_utc(text: str, fmt: str, zone: str) -> str:
    """A local time without offset, in an IANA zone, as ISO 8601 UTC. A local time the
    zone skips (spring forward) or has twice (fall back) is refused, not guessed, as the
    generic reader refuses it (`audit.ingest.timestamps`)."""
    try:
        naive = strptime(text.strip(), fmt)
    except ValueError as exc:
        raise BadValue(f"not a time in the format {fmt}") from exc
    tz = ZoneInfo(zone)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        # A time that exists reads back as itself from UTC; a skipped one does not.
        skipped = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive
        raise BadValue(local_time_reason(str(naive), zone, skipped=skipped))
    return in_utc(first)


def in_utc(moment: datetime) -> str:
    """An aware time as ISO 8601 UTC; BadValue (the generic reader's reason) where UTC
    is past the years a datetime holds (local 0001-01-01 00:10 in Berlin is in year 0)."""
    try:
        return moment.astimezone(UTC).isoformat()
    except (OverflowError, ValueError) as exc:
        raise BadValue(OUT_OF_RANGE) from exc


def local_text(texts: pa.Array, fmt: str, zone: str) -> pa.Array:
    """Per text: `local_to_utc(text, fmt, zone)` for the texts `utc_text` reads, in the
    hours (local date and hour) in which the zone's offset is one and the same at both ends
    and either fold; null for all others (to be read one by one)."""
    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError, OSError):  # the per-text reading raises it as it did
        return pa.nulls(len(texts), TEXT)
    codes, hours = text_codes(pc.utf8_slice_codeunits(texts, 0, 13))  # (code points)
    found = [_hour_offset(hour, tz) for hour in hours.to_pylist()]
    offsets = np.asarray([o or 0 for o in found] + [0], dtype=np.int64)  # [0]: missing
    known = np.asarray([o is not None for o in found] + [False], dtype=bool)
    return utc_text(texts, fmt, offsets[codes], known[codes])


def _hour_offset(hour: str, tz: ZoneInfo) -> int | None:
    """The UTC offset (seconds) in `tz` through the local hour 'YYYY-MM-DD HH', if it is
    the same at its first and last second with either fold; else None."""
    match = re.fullmatch(f"{_D4}-{_D2}-{_D2} {_D2}", hour)
    if match is None:
        return None
    try:
        y, m, d, h = (int(g) for g in match.groups())
        offsets = {datetime(y, m, d, h, minute, minute, tzinfo=tz, fold=fold).utcoffset()
                   for minute in (0, 59) for fold in (0, 1)}
    except (ValueError, OverflowError):
        return None
    if len(offsets) != 1:
        return None
    offset = offsets.pop()
    if offset is None or offset.total_seconds() != int(offset.total_seconds()):
        return None
    return int(offset.total_seconds())


def abbreviated_to_utc(text: str, fmt: str, abbreviation: str) -> str:
    """A local time plus a zone abbreviation (CET, CEST, BST, PDT, ...) as ISO 8601 UTC."""
    offset = ZONE_ABBREVIATIONS.get(abbreviation.strip().upper())
    if offset is None and not abbreviation.strip():
        raise BadValue("no time zone abbreviation: the local time cannot be placed (a zone "
                       "is never guessed, and --assume-tz is not read for this export, "
                       "whose rows state their own)")
    if offset is None:
        raise BadValue(f"unknown time zone abbreviation {abbreviation!r} (known: "
                       f"{', '.join(sorted(ZONE_ABBREVIATIONS))})")
    try:
        naive = strptime(text.strip(), fmt)
    except ValueError as exc:
        raise BadValue(f"not a time in the format {fmt}") from exc
    return in_utc(naive.replace(tzinfo=timezone(offset)))


def require_columns(columns: list[str], needed: tuple[str, ...], *, system: str,
                    file: Path) -> None:
    """InputError unless every key column is there (a wrong format or a trimmed export)."""
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InputError(
            f"not a {system} export of this kind: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(columns[:12])}{' ...' if len(columns) > 12 else ''})",
            file=file)


def wrong_shape(path: Path, record: int, field: str, what: str) -> InputError:
    """A JSON record whose part is not the kind of value the system writes ("not an
    object"): the file is refused, naming the record and the field, since what an adapter
    would read from it is undefined (`records_located` adds its line)."""
    return InputError(f"not {what}", file=path, record=record, field=field)


@contextmanager
def records_located(path: Path, locate: Callable[[str, int], tuple[int | None, bool]],
                    ) -> Iterator[None]:
    """An InputError raised within, naming a JSON export's record (`record=`, its number
    through the file) but no line, raised again naming the line the record starts on too:
    ``audits.json: record 3 (line 17): field 'events': ...``. `locate(text, number)` gives
    (line, whether `number` is a record; False where it is the line itself, as a JSON-lines
    reader numbers its records). The file is read again for it: errors are rare, and the
    readers free their text early."""
    try:
        yield
    except InputError as exc:
        if exc.record is None or exc.row is not None:
            raise
        try:
            text = as_text(read_export(path))
        except InputError:  # (gone since: the error as it was)
            text = ""
        line, is_record = locate(text, exc.record) if text else (None, True)
        if is_record:
            raise exc.at_line(line) from exc.__cause__
        raise InputError(exc.message, file=exc.file, field=exc.field,
                         line=exc.record) from exc.__cause__


def listed_records(*keys: str) -> Callable[[str, int], tuple[int | None, bool]]:
    """`records_located`'s `locate` for an export listing its records under one of `keys`
    (see `record_line`)."""
    return lambda text, number: (record_line(text, keys, number), True)


Content = tuple[object, ...] | Callable[[], tuple[object, ...]]
"""What a record holds, to tell a record exported twice from a different one with its id."""


def _resolved(content: Content) -> tuple[object, ...]:
    return content() if callable(content) else content


Cells = tuple[str, object] | Callable[[], tuple[str, object]]
"""Where a record's id was read: the export's column(s) stating it and their cells as
written (several joined with ", "), or a function giving them (called for a conflict
only), for the quarantine line of a record repeated with other content."""


def split_id(prefix: str, fields: tuple[str, ...], event_id: str) -> tuple[str, str]:
    """An `IdCells.derive`: an event id `<prefix><cell>:<cell>...` read back into the
    fields (joined with ", ") and their cells (likewise): the last field takes the rest of
    the id. An id without the prefix (none of the reader's) is given as it is."""
    if not event_id.startswith(prefix):
        return ", ".join(fields), event_id
    parts = event_id[len(prefix):].split(":", len(fields) - 1)
    return ", ".join(fields[:len(parts)]), ", ".join(parts)


_MADE_BY_READER = re.compile(r"row[0-9]+")
"""The part of an update's record id that a reader makes of the record's place in the file
where the update states no id of its own (`zendesk:101:row7`)."""


def update_id(system: str, ticket_field: str, update_field: str, made: tuple[str, ...],
              event_id: str) -> tuple[str, str]:
    """An `IdCells.derive` of a ticketing export's record id `<system>:<ticket>:<update>`:
    the ticket's field and the update's id field (joined with ", ") and their cells
    (likewise). Where the update part is no cell but made by the reader (one of `made`,
    such as Jira's `created` for an issue's creation, or `row<N>` for an update stating
    no id: the record's place in the file), the ticket's field and cell alone."""
    prefix = f"{system}:"
    if not event_id.startswith(prefix):
        return f"{ticket_field}, {update_field}", event_id
    ticket, _, update = event_id.removeprefix(prefix).rpartition(":")
    if update in made or _MADE_BY_READER.fullmatch(update):
        return ticket_field, ticket
    return f"{ticket_field}, {update_field}", f"{ticket}, {update}"


def written_cells(rows: Sequence[int] | npt.NDArray[np.int64], differs: npt.NDArray[np.bool_],
                  fields: str | Callable[[npt.NDArray[np.intp]], list[str]],
                  cells: dict[str, pa.Array]) -> dict[int, tuple[str, str]]:
    """`IdCells.written`: of the records where `differs` (whose id cells `derive` does not
    give as written), by row number, the field (one for all, or a function giving it of
    the records at the positions asked: several columns joined with ", ") and the cells of
    the columns it names (`cells`, by column) as written, joined likewise ("" where
    missing); made for those records only."""
    at = np.flatnonzero(differs)
    if not len(at):
        return {}
    taken = pa.array(at)
    columns = {name: column.take(taken).to_pylist() for name, column in cells.items()}
    names = [fields] * len(at) if isinstance(fields, str) else fields(at)
    numbers = np.asarray(rows, dtype=np.int64)[at].tolist()
    return {int(row): (field, ", ".join("" if (v := columns[c][k]) is None else str(v)
                                        for c in field.split(", ")))
            for k, (row, field) in enumerate(zip(numbers, names, strict=True))}


def differ(written: pa.Array, read: pa.Array) -> npt.NDArray[np.bool_]:
    """Per row, whether a cell as written is not the text read of it (null as "")."""
    blank = pa.scalar("", read.type)
    same = pc.equal(pc.fill_null(written.cast(read.type), blank), pc.fill_null(read, blank))
    return ~np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool)


def holds(texts: pa.Array, part: str) -> npt.NDArray[np.bool_]:
    """Per row, whether its text holds `part`, one ASCII character (null: no): a cell
    `IdCells.derive` would split where it reads it back from an event id (it holds the
    separator of the id's parts), to be kept as written (`written_cells`). The texts' bytes
    are searched as a whole first, where they are one buffer (5M ids: 11 ms, where
    `match_substring` took 0.25 s); almost no export's ids hold one."""
    if _bytes_lack(texts, part):
        return np.zeros(len(texts), dtype=bool)
    return np.asarray(pc.fill_null(pc.match_substring(texts, part), False)
                      .to_numpy(zero_copy_only=False), dtype=bool)


def _bytes_lack(texts: pa.Array, part: str) -> bool:
    """Whether no byte of the data of `texts` (a string or large_string Array) is `part`
    (one ASCII character); False where that cannot be told so (another type)."""
    if len(part) != 1 or not part.isascii() or not isinstance(texts, pa.Array) or \
            texts.type not in (pa.string(), pa.large_string()):
        return False
    data = texts.buffers()[2]
    if data is None:
        return True
    code, step = ord(part), 1 << 22
    raw = np.frombuffer(data, dtype=np.uint8)
    return not any((raw[at:at + step] == code).any() for at in range(0, len(raw), step))


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


def _column_frame(columns: dict[str, list[object] | pa.Array],
                  length: int) -> tuple[pd.DataFrame, bool]:
    """Columns given as lists or Arrow text arrays (all `length` long), in the given order,
    and whether all of them are Arrow-backed text: a column of str and None becomes the
    pandas string column that the normaliser would make of it (no object column of every
    cell first, and no check of every cell by pandas); any other column stays an object
    column."""
    if not length:
        return pd.DataFrame(), False
    data: dict[str, object] = {}
    arrow = True
    for name, cells in columns.items():
        if isinstance(cells, pa.Array):
            text = cells.cast(pa.large_string())
            data[name] = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([text])),
                                   copy=False)
            continue
        try:
            text = pa.array(cells, type=pa.large_string())
        except (pa.ArrowTypeError, pa.ArrowInvalid, UnicodeError):  # e.g. a lone surrogate
            values = np.empty(length, dtype=object)
            values[:] = cells
            data[name] = pd.Series(values, dtype=object, copy=False)
            arrow = False
        else:
            data[name] = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([text])),
                                   copy=False)
    return pd.DataFrame(data, copy=False), arrow


def object_array(values: object, size: int | None = None) -> npt.NDArray[np.object_]:
    """A sequence's values, or one value for each of `size` rows, as an object array (never
    a numpy string array, which would turn None into 'None')."""
    if size is None:
        size = len(values)  # type: ignore[arg-type]
    array = np.empty(size, dtype=object)
    array[:] = values
    return array


def arrow_texts(texts: Sequence[object]) -> pa.Array | None:
    """`texts` as an Arrow string array; None where Arrow cannot hold them as text."""
    try:
        return pa.array(texts, type=pa.string())
    except (pa.ArrowException, TypeError, ValueError, UnicodeError):
        return None


def cells_of_rows(rows: Sequence[int] | npt.NDArray[np.int64],
                  cells: pa.Array | Sequence[object]) -> FieldsOfRows:
    """A `RawTable.field_values` function: of the records asked, by their row numbers, the
    cell of `cells` (one per row number of `rows`, as the export wrote it; "" where null).
    The rows are sorted when it is called (for quarantined records only), not before."""
    numbers = np.asarray(rows, dtype=np.int64)

    def lookup(_frame: pd.DataFrame, _at: npt.NDArray[np.intp],
               asked: npt.NDArray[np.int64]) -> list[str]:
        order = np.argsort(numbers, kind="stable")
        places = order[np.searchsorted(numbers, asked, sorter=order)].tolist()
        taken = (cells.take(pa.array(places)).to_pylist() if isinstance(cells, pa.Array)
                 else [cells[k] for k in places])
        return ["" if v is None else str(v) for v in taken]

    return lookup


@dataclass
class Collector:
    """Collects an adapter's records, quarantine rows and duplicates for one file."""

    system: str
    file: Path
    records: list[dict[str, str | None]] = field(default_factory=list)
    rows: list[int] | npt.NDArray[np.int64] = field(default_factory=list)
    """Each record's row (an array where the records were given column by column)."""
    problems: list[dict[str, object]] = field(default_factory=list)
    seen: dict[str, tuple[int, Content]] = field(default_factory=dict)
    deduplicated: int = 0
    skipped: int = 0
    """Records read that state nothing the log records (e.g. a ticket update of tags only)."""
    notes: list[str] = field(default_factory=list)
    columns: dict[str, list[object] | pa.Array] | None = None
    """Records given column by column (`add_columns`) instead of one dict each."""
    update_keys: pa.Array | None = None
    """A ServiceNow export's distinct updates (`servicenow.cut_updates`), where read."""
    people: object | None = None
    """A Jira export's display names stated with an accountId (`jira.Accounts`), for the
    import to name one person alike in every Jira export (`jira.told_apart_across`)."""
    fields: dict[str, str] = field(default_factory=dict)
    """The export's column (or ticket field) each canonical column of the records was read
    from, for the normaliser's quarantine lines and errors (`RawTable.fields`)."""
    field_rows: dict[str, FieldsOfRows] = field(default_factory=dict)
    """Where a canonical column's records were read from different fields: the field of
    each record asked (`RawTable.field_rows`)."""
    field_values: dict[str, FieldsOfRows] = field(default_factory=dict)
    """Where the records' values of a canonical column were converted: the cell text as
    the export wrote it, of each record asked (`RawTable.field_values`)."""
    field_notes: dict[str, str] = field(default_factory=dict)
    """What the normaliser's lines of a canonical column add to their reason
    (`RawTable.field_notes`)."""
    id_cells: IdCells | None = None
    """Where the records' event ids were read (`RawTable.id_cells`), for the import's
    quarantine line of an id given again with other content in another input."""
    belongs: tuple[str | None, str | None] | None = None
    """While a payment reader reads a charge or refund record one by one: the charge it is
    or refunds and its order (`QUARANTINE_HINTS`), given with its quarantine lines that
    name no ticket, for the case correlation puts that charge in (None between records)."""

    def duplicate(self, key: str, row: int, content: Content, *, cells: Cells,
                  case: str | None = None) -> bool:
        """True if `key` was read before: identical -> counted, different -> quarantined.

        `content` may be a function that returns it: then it is only computed for keys read
        more than once (most records are read once). `cells`: the export's column(s) the
        key was read from and their cells as written (`Cells`), the conflict's field and
        value (the key is the reader's, in no export). `case`: the case of the record (its
        ticket), named in the conflict's quarantine line as `quarantine` names it; a
        payment record naming none is told by `belongs`, set before the call."""
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = (row, content)
            return False
        if _resolved(first[1]) == _resolved(content):
            self.deduplicated += 1
        else:
            field_name, value = cells() if callable(cells) else cells
            self.quarantine(row, field_name, value,
                            f"same id as row {first[0]} with different content", case=case)
        return True

    def quarantine(self, row: int, field_name: str, value: object, reason: str,
                   case: str | None = None, *, alone: bool = False,
                   above_charge: tuple[str, str, str] | None = None,
                   not_itemised: bool = False) -> None:
        """`case`: the case the row belongs to, where the reader can tell it (a ticket
        update's ticket, the ticket a payment names). `alone`: the line quarantines that
        field alone, its record read and imported without it (an approval's unreadable
        amount): written with `record_read` yes (`normalise.RECORD_READ`), counted apart
        from the rows quarantined (`normalise.field_only`), never told by its text.
        `above_charge`: of a payment's amount refunded above its amount, (payment id, its
        Amount, its Currency) as the export states them (`ABOVE_CHARGE_HINTS`), whether or
        not the line names a case. `not_itemised`: the line is of a refund the export gives
        only as a total (`REFUND_TOTAL_HINT`), told by its reader, never by its text."""
        problem: dict[str, object] = {
            "file": self.file.name, "row": row, "field": field_name,
            "value": "" if value is None else str(value), "reason": reason, "case": case or "",
            RECORD_READ: "yes" if alone else "no"}
        if not case and self.belongs is not None:
            problem.update(zip(QUARANTINE_HINTS, (v or "" for v in self.belongs), strict=True))
        if above_charge is not None:
            problem.update(zip(ABOVE_CHARGE_HINTS, above_charge, strict=True))
        if not_itemised:
            problem[REFUND_TOTAL_HINT] = "yes"
        self.problems.append(problem)

    def add(self, row: int, record: dict[str, str | None]) -> None:
        if not isinstance(self.rows, list):
            raise ValueError("add: the records were given column by column already")
        self.records.append(record)
        self.rows.append(row)

    def add_columns(self, rows: list[int] | npt.NDArray[np.int64],
                    columns: dict[str, list[object] | pa.Array]) -> None:
        """All records at once, as columns of equal length (lists of cells, or Arrow text
        arrays), the only records read."""
        if self.records or self.columns is not None:
            raise ValueError("add_columns: records were added already")
        self.columns = columns
        self.rows = rows

    def table(self) -> tuple[RawTable, pd.DataFrame]:
        arrow_text = False
        if self.columns is not None:
            frame, arrow_text = _column_frame(self.columns, len(self.rows))
        else:
            frame = _object_frame(self.records)
        notes = list(self.notes)
        if self.deduplicated:
            notes.append(f"{self.file.name}: {self.deduplicated} record(s) exported twice, "
                         "deduplicated")
        if self.skipped:
            notes.append(f"{self.file.name}: {self.skipped} record(s) state no activity "
                         "(no mapped change) and are not events")
        above = any(ABOVE_CHARGE_HINTS[0] in p for p in self.problems)
        total = any(REFUND_TOTAL_HINT in p for p in self.problems)
        # (the payment hints wherever a line is of a payment above its Amount or of a
        # refunded total: the import holds them apart together)
        hinted = above or total or any(QUARANTINE_HINTS[0] in p for p in self.problems)
        named = ((QUARANTINE_HINTS if hinted else ()) + (ABOVE_CHARGE_HINTS if above else ())
                 + ((REFUND_TOTAL_HINT,) if total else ()))
        quarantine = pd.DataFrame(self.problems, columns=list(QUARANTINE_COLUMNS + named))
        for name in named:  # ('' for a line of no hint, as in `case`)
            quarantine[name] = quarantine[name].astype(object).fillna("")
        # (a line of one field alone names a record imported all the same: not read again)
        read = len(self.rows) + len({p["row"] for p in self.problems
                                     if p.get(RECORD_READ) != "yes"})
        table = RawTable(frame=frame, rows=np.asarray(self.rows, dtype=np.int64),
                         system=self.system, file=self.file, notes=notes, records_read=read,
                         arrow_text=arrow_text)
        table.deduplicated = self.deduplicated
        table.update_keys = self.update_keys
        table.people = self.people
        # (a record's id where its reader tells no `id_cells`: every reader tells them)
        table.fields = {C.EVENT_ID: "id", **self.fields}
        table.id_cells = self.id_cells
        table.field_rows = dict(self.field_rows)
        table.field_values = dict(self.field_values)
        table.field_notes = dict(self.field_notes)
        return table, quarantine
