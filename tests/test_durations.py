"""Durations in messages: "15d 2h", exact to the second (and below), whatever the unit of
the column they come from (before, the timing rules wrote pandas' "1 days 00:00:00")."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from audit.words import duration, durations


def test_a_duration_tells_the_units_that_are_not_zero() -> None:
    assert duration(pd.Timedelta(days=15, hours=2)) == "15d 2h"
    assert duration(timedelta(hours=12)) == "12h"
    assert duration(np.timedelta64(90, "s")) == "1m 30s"
    assert duration(45) == "45s"
    assert duration(0) == "0s"
    assert duration(pd.Timedelta(days=7, hours=6, minutes=5, seconds=9)) == "7d 6h 5m 9s"


def test_a_duration_is_exact_where_a_limit_is_one_minute_or_less_over() -> None:
    """14 days and a minute, or and half a second, is not told as 14 days (the graphs'
    labels round to two units: `reports.graphs.format_duration` gives "14d")."""
    assert duration(pd.Timedelta(days=14, minutes=1)) == "14d 1m"
    assert duration(pd.Timedelta(days=14, milliseconds=500)) == "14d 0.5s"
    assert duration(pd.Timedelta(nanoseconds=1)) == "0.000000001s"
    assert duration(-pd.Timedelta(minutes=90)) == "-1h 30m"


def test_missing_durations_read_not_available() -> None:
    assert [duration(v) for v in (None, float("nan"), pd.NaT)] == ["n/a"] * 3


def test_durations_of_a_column_of_any_unit() -> None:
    """A column of seconds holding 100,000 days (past the nanoseconds an int64 holds) and a
    missing value; a column of nanoseconds."""
    wide = pd.Series([pd.Timedelta(days=100_000), pd.NaT, pd.Timedelta(hours=1)]).astype(
        "timedelta64[s]")
    assert durations(wide) == ["100000d", "n/a", "1h"]
    assert durations(pd.Series(pd.to_timedelta(["1 days 06:00:00", "0:00:01.25"]))) == [
        "1d 6h", "1.25s"]
    assert durations(pd.Series([], dtype="timedelta64[ns]")) == []
