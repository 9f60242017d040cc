"""Counts, durations and times in words: "1 event", "2 events", "15d 2h", "2026-09-24
11:09:33 UTC", as messages and reports write them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any


def counted(number: int, noun: str, plural: str | None = None, *, spec: str = "") -> str:
    """`number` (formatted by `spec`, e.g. "," for 1,000) and `noun`, singular for exactly
    one and plural otherwise (`plural`, or `noun` + "s"): "1 case", "0 cases", "2 cases",
    "1 activity" / "2 activities" with `plural="activities"`. (Before, messages wrote "1
    events", "1 duplicates dropped", "(1 cases)".)"""
    return f"{number:{spec}} {noun if number == 1 else plural or noun + 's'}"


_UNITS = (("d", 86_400_000_000_000), ("h", 3_600_000_000_000), ("m", 60_000_000_000),
          ("s", 1_000_000_000))
_NANOS = {"D": 86_400_000_000_000, "h": 3_600_000_000_000, "m": 60_000_000_000,
          "s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def duration(span: Any) -> str:
    """A duration as messages tell it: days, hours, minutes and seconds, the units that are
    not zero, largest first ("15d 2h", "14d 1m", "12h", "45s", "0s"), in the letters of the
    graphs' labels (`reports.graphs.format_duration`). Exact, unlike those labels (which
    round to two units): every unit down to the second, and a fraction of a second as its
    decimals ("1.5s"), so a time one minute over a limit of 14 days never reads as the
    limit itself. `span`: a `timedelta`, a `pd.Timedelta`, a `np.timedelta64` or a number
    of seconds; NaN, NaT or None reads "n/a"."""
    if span is None or span != span:  # (NaN and NaT are not equal to themselves)
        return "n/a"
    if isinstance(span, int | float):
        return _told(round(span * 1_000_000_000))
    import numpy as np
    import pandas as pd

    return durations(np.asarray([pd.Timedelta(span).asm8]))[0]


def durations(spans: Any) -> list[str]:
    """`duration` of each of `spans` (a column or an array of timedeltas, of any unit),
    from their integers: no Timedelta per value."""
    import numpy as np
    import pandas as pd

    values = np.asarray(pd.Series(spans, copy=False).to_numpy())
    if not np.issubdtype(values.dtype, np.timedelta64):
        return [duration(v) for v in values.tolist()]
    unit, step = np.datetime_data(values.dtype)
    size = step * _NANOS[unit]
    missing = np.isnat(values).tolist()
    # (Python ints: a column of microseconds may hold centuries, past an int64 of ns.)
    return ["n/a" if gone else _told(count * size)
            for count, gone in zip(values.view("i8").tolist(), missing, strict=True)]


def _told(nanos: int) -> str:
    """`duration` of a number of nanoseconds."""
    sign, rest = ("-" if nanos < 0 else ""), abs(nanos)
    texts: list[str] = []
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if unit == "s" and rest:
            texts.append(f"{count}.{f'{rest:09d}'.rstrip('0')}s")
        elif count:
            texts.append(f"{count}{unit}")
    return sign + (" ".join(texts) if texts else "0s")


def nanoseconds(span: Any) -> int | None:
    """A duration as a whole number of nanoseconds, exact whatever its unit (a Python int:
    a column of microseconds may hold centuries, past an int64 of nanoseconds); None where
    missing. `span`: a `timedelta`, a `pd.Timedelta`, a `np.timedelta64` or a number of
    seconds."""
    import numpy as np
    import pandas as pd

    if span is None or span is pd.NaT or (isinstance(span, float) and span != span):
        return None
    if isinstance(span, pd.Timedelta):  # (its integer, in its own unit: no overflow)
        span = span.asm8
    if isinstance(span, np.timedelta64):
        if np.isnat(span):
            return None
        unit, step = np.datetime_data(span.dtype)
        return int(span.view("i8")) * step * _NANOS[unit]
    if isinstance(span, timedelta):
        return ((span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds) * 1_000
    if isinstance(span, int | float):
        return round(span * 1_000_000_000)
    raise TypeError(f"not a duration: {span!r}")


def iso_duration(span: Any) -> str | None:
    """A duration as ISO 8601 writes one, for findings' evidence (findings.json, the CSV,
    the XLSX, diff.json): days of 24 hours, hours, minutes and seconds, the units that are
    not zero ("P14DT11H3M54S", "P15D", "PT6H", "PT0.5S", "PT0S"), a fraction of a second as
    its decimals, a negative one with a leading "-"; no months or years, whose length
    varies. None where missing. `pd.Timedelta` reads it back, as `duration_nanoseconds`
    does. `span`: as `nanoseconds` takes it."""
    nanos = nanoseconds(span)
    return None if nanos is None else _iso(nanos)


def _iso(nanos: int) -> str:
    """`iso_duration` of a number of nanoseconds."""
    sign, rest = ("-" if nanos < 0 else ""), abs(nanos)
    days, rest = divmod(rest, 86_400_000_000_000)
    hours, rest = divmod(rest, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds, fraction = divmod(rest, 1_000_000_000)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (
        f"{seconds}.{f'{fraction:09d}'.rstrip('0')}S" if fraction else
        f"{seconds}S" if seconds else "")
    if not days and not clock:
        return "PT0S"
    return f"{sign}P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


_ISO_DURATION = re.compile(r"(-)?P(?:(\d+)D)?"
                           r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,9}))?S)?)?")
"""A duration as `iso_duration` writes it (days, hours, minutes, seconds: no years, months
or weeks)."""

_PANDAS_DURATION = re.compile(r"(-)?(\d+) days? ([+-])?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
"""A duration as pandas writes one (`str(pd.Timedelta)`: "14 days 11:03:54", "-1 days
+23:00:00"), as findings' evidence held them before ISO 8601."""


def duration_nanoseconds(text: Any) -> int | None:
    """A duration's text, ISO 8601 as `iso_duration` writes it or pandas' text as evidence
    held it before ("14 days 11:03:54"), as a whole number of nanoseconds (a Python int, so
    that a span of centuries reads as it was written); None where `text` is neither."""
    if not isinstance(text, str):
        return None
    if (iso := _ISO_DURATION.fullmatch(text)) is not None and text not in ("P", "-P") \
            and not text.endswith("T"):
        negative, days, hours, minutes, seconds, fraction = iso.groups()
        nanos = ((int(days or 0) * 24 + int(hours or 0)) * 60 + int(minutes or 0)) * 60 \
            + int(seconds or 0)
        nanos = nanos * 1_000_000_000 + int((fraction or "").ljust(9, "0"))
        return -nanos if negative else nanos
    if (told := _PANDAS_DURATION.fullmatch(text)) is not None:
        negative, days, clock_sign, hours, minutes, seconds, fraction = told.groups()
        clock = ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1_000_000_000 \
            + int((fraction or "").ljust(9, "0"))
        whole = int(days) * 86_400_000_000_000
        # (pandas writes a negative span as whole negative days and a positive clock:
        # "-1 days +23:00:00" is -1 hour)
        return (-whole if negative else whole) + (-clock if clock_sign == "-" else clock)
    return None


def iso_duration_words(text: Any) -> str | None:
    """An ISO 8601 duration's text, as `iso_duration` writes it ("P63DT16H11M"), in the words
    messages tell it (`duration`: "63d 16h 11m"); None where `text` is no such text (pandas'
    text, any other value)."""
    if not isinstance(text, str) or not text.startswith(("P", "-P")):
        return None
    nanos = duration_nanoseconds(text)
    return None if nanos is None else _told(nanos)


def iso_duration_text(text: Any) -> Any:
    """A duration's text in evidence as `iso_duration` writes it: pandas' text of an older
    findings.json ("14 days 11:03:54" -> "P14DT11H3M54S"); any other value as it is."""
    nanos = duration_nanoseconds(text)
    return text if nanos is None else _iso(nanos)


def moment(stamp: Any) -> str:
    """A time as messages and the reports' tables tell it: in UTC, to the second, the zone named
    ("2026-09-24 11:09:33 UTC"); a time with a fraction of a second keeps it to the millisecond
    ("2026-09-24 11:09:33.250 UTC"), so that an approval 250 ms after a payout does not read as at
    the same time as it (Jira and XES state milliseconds). `stamp`: a `pd.Timestamp`, a `datetime`,
    a `np.datetime64` or ISO 8601 text; one without a zone is taken as UTC (the canonical log's
    times are UTC); NaT or None reads "n/a". (The ISO text stays what evidence and findings'
    `timestamp` hold.)"""
    import pandas as pd

    if stamp is None or (isinstance(stamp, float) and stamp != stamp):
        return "n/a"
    when = pd.Timestamp(stamp)
    if pd.isna(when):  # (NaT, or a np.datetime64 of NaT)
        return "n/a"
    if when.tzinfo is not None:
        when = when.tz_convert("UTC")
    millis = when.microsecond // 1000
    return when.strftime("%Y-%m-%d %H:%M:%S") + (f".{millis:03d}" if millis else "") + " UTC"


def moments(times: Any) -> list[str | None]:
    """`moment` of each of `times` (a column of times, with or without a zone, of any unit,
    or of `Timestamp` objects), None where missing (a message says "(not recorded)"): from
    their integers, with no Timestamp per value where the column is of one dtype."""
    import numpy as np
    import pandas as pd

    column = pd.Series(times, copy=False)
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(dtype):
        return [None if v is None or v is pd.NaT or (isinstance(v, float) and v != v)
                else moment(v) for v in column.tolist()]
    wall = np.asarray(column.to_numpy())
    missing = np.isnat(wall)
    # "2026-09-24T11:09:33" (a year past 9999 longer): the date, the clock, the zone.
    seconds = wall.astype("datetime64[s]")
    texts = np.datetime_as_string(seconds, unit="s").tolist()
    # A fraction of a second, to the millisecond, where a time has one (as `moment`).
    millis = (wall.astype("datetime64[ms]") - seconds).astype(np.int64)
    if (millis[~missing] != 0).any():
        texts = [t if m == 0 else f"{t}.{m:03d}"
                 for t, m in zip(texts, millis.tolist(), strict=True)]
    if not missing.any():
        return [_clock_text(t) for t in texts]
    return [None if gone else _clock_text(t)
            for t, gone in zip(texts, missing.tolist(), strict=True)]


def _clock_text(iso: str) -> str:
    """'2026-09-24T11:09:33[.250]' as '2026-09-24 11:09:33[.250] UTC'."""
    day, clock = iso.split("T", 1)
    return f"{day} {clock} UTC"


LINE_LIMIT = 2000
"""The characters of an error, warning or note shown whole; a longer one (a value of
megabytes quoted in it, a column name of 10 MB given twice) shows its start and end
(`cut_middle`)."""


def cut_middle(line: str, limit: int = LINE_LIMIT) -> str:
    """`line`, its middle left out where it is longer than `limit`, saying how much: its
    start (the file, row and field of an error; what a warning is about) and its end (the
    advice) are kept."""
    if len(line) <= limit:
        return line
    head, tail = limit * 3 // 4, limit // 4
    left_out = len(line) - head - tail
    return f"{line[:head]} [... {left_out:,} characters left out ...] {line[-tail:]}"
