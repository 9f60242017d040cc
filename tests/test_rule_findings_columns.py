"""Rule.findings builds its cells column by column: each column-wise helper gives what the
per-cell definition gives, cell for cell, on mixed, missing and edge values."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.findings import Finding
from audit.rules.base import (
    Rule,
    _event_id_lists,
    _event_ids,
    _iso_times,
    _missing,
    _plain,
    _plain_column,
    _python_values,
    _utc_iso_texts,
)


def _per_cell_iso(values: list[Any]) -> list[str | None]:
    return [None if _missing(v) else (
        v if isinstance(v, pd.Timestamp) else pd.Timestamp(v)).isoformat() for v in values]


def _random_times(seed: int, n: int, unit: str, *, subsecond: bool,
                  missing: float = 0.1) -> pd.Series:
    rng = random.Random(seed)
    base = pd.Timestamp("2026-01-01", tz="UTC")
    cells: list[Any] = []
    for _ in range(n):
        if rng.random() < missing:
            cells.append(None)
            continue
        step = pd.Timedelta(seconds=rng.randrange(-2 * 10**9, 10**9))
        if subsecond and rng.random() < 0.5:
            step += pd.Timedelta(nanoseconds=rng.randrange(1, 10**9))
        cells.append(base + step)
    return pd.Series(pd.array(cells, dtype=f"datetime64[{unit}, UTC]"))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_utc_iso_texts_equal_timestamp_isoformat(unit: str) -> None:
    column = _random_times(7, 2000, unit, subsecond=False)
    texts = _utc_iso_texts(column)
    assert texts is not None
    assert texts == _per_cell_iso(_python_values(column))
    assert texts == _plain_column(_python_values(column))
    assert None in texts and any(t and t < "1970" for t in texts)  # missing and pre-1970
    whole = _random_times(8, 500, unit, subsecond=False, missing=0)
    assert _utc_iso_texts(whole) == _per_cell_iso(_python_values(whole))


def test_utc_iso_texts_leave_other_columns_to_the_per_cell_rules() -> None:
    subsecond = _random_times(8, 500, "ns", subsecond=True)
    assert _utc_iso_texts(subsecond) is None
    berlin = _random_times(9, 50, "s", subsecond=False).dt.tz_convert("Europe/Berlin")
    assert _utc_iso_texts(berlin) is None
    assert _utc_iso_texts(pd.Series(["2026-01-01T00:00:00+00:00"])) is None
    # What the per-cell path then gives: nanoseconds and the zone's own offset.
    assert any(t and len(t) > 25 for t in _iso_times(_python_values(subsecond)))
    assert all(t is None or t.endswith(("+01:00", "+02:00"))
               for t in _iso_times(_python_values(berlin)))


def test_utc_iso_texts_of_an_all_missing_column() -> None:
    column = pd.Series(pd.array([None, None], dtype="datetime64[ns, UTC]"))
    assert _utc_iso_texts(column) == [None, None] == _per_cell_iso(_python_values(column))


@pytest.mark.parametrize("cells", [
    ["a", "b", ""],
    ["a", None, "c"],
    [1, True, None, "x"],
    [1.5, float("nan"), 2.0],
    [pd.Timestamp("2026-01-01T00:00:00.5", tz="UTC"), pd.Timestamp("2026-01-02", tz="UTC")],
    [pd.Timestamp("2026-01-01", tz="UTC"), pd.NaT],
    [np.str_("numpy text"), "plain"],
    [np.int64(3), 4, np.float64("nan")],
    [pd.Timedelta(hours=3), None],
    [["e1", "e2"], ("e3",), np.array(["e4"]), pd.NA],
    [dt.date(2026, 1, 1), None],
    [],
])
def test_plain_column_equals_plain_per_cell(cells: list[Any]) -> None:
    assert _plain_column(cells) == [_plain(v) for v in cells]


def test_plain_column_of_a_text_column_is_the_column_itself() -> None:
    cells = ["a", None, "b"]
    assert _plain_column(cells) is cells


@pytest.mark.parametrize("columns", [
    [["e1", "e2", "e3"]],
    [["e1", None, "e3"]],
    [[["e1", "e2"], ["e3", "e3"], []], ["e2", "e4", None]],
    [["e1", "e2"], [("e1", "e9"), np.array(["e5", "e2"])]],
    [[1, 2.0, float("nan")]],
    # (two columns of texts, two of lists, three: each column made lists, then joined)
    [["e1", "e2"], ["e1", "e3"]],
    [[["e1", "e2"], []], [["e2", "e1"], ["e4"]]],
    [["e1", None], [["e2"], ["e3", "e3"]], [np.array(["e1"]), 7]],
])
def test_event_id_lists_equal_the_per_row_ids(columns: list[list[Any]]) -> None:
    rows = len(columns[0])
    expected = [_event_ids(values) for values in zip(*columns, strict=True)]
    assert _event_id_lists(columns, rows) == expected


def test_event_id_lists_without_event_columns_give_an_empty_list_per_row() -> None:
    assert _event_id_lists([], 3) == [[], [], []]


class _Facts:
    """What `Rule.findings` asks of the facts here: no events to describe."""

    def describe(self, ids: Any, index: pd.Index) -> dict[str, Any]:
        return {}


class _Rule(Rule):
    code = "AP999"
    name = "test-rule"
    severity = "low"
    summary = "a test rule"

    def check(self, facts: Any) -> list[Finding]:
        return []


def _build(matches: pd.DataFrame, **kw: Any) -> list[Finding]:
    kw.setdefault("events", ("eid",))
    kw.setdefault("when", "at")
    return _Rule().findings(_Facts(), matches, **kw)  # type: ignore[arg-type]


_AT = pd.to_datetime(["2026-09-24T11:09:33Z", "2026-01-02T03:04:05Z"], utc=True)


def test_a_currency_the_message_tells_as_a_time_keeps_its_plain_form() -> None:
    """The finding's currency is the column's plain form, as its evidence is: the message's
    time in words ("2026-09-24 11:09:33 UTC") is for the message alone (the column-wise
    builder read the currency after the message's fields were replaced by their words)."""
    index = pd.Index(["A", "B"], name="case")
    matches = pd.DataFrame({"eid": ["e1", "e2"], "at": _AT, "v": [1.5, 1000.0],
                            "currency": _AT}, index=index)
    found = _build(matches, message="{v:.2f} in {currency}", evidence=("currency",))
    assert [f.currency for f in found] == [
        "2026-09-24T11:09:33+00:00", "2026-01-02T03:04:05+00:00"]
    assert [f.currency for f in found] == [f.evidence["currency"] for f in found]
    assert [f.message for f in found] == ["1.50 in 2026-09-24 11:09:33 UTC",
                                          "1,000.00 in 2026-01-02 03:04:05 UTC"]


def test_a_currency_cell_holding_a_list_or_a_dict_still_gets_its_finding() -> None:
    """A currency cell of no text (a list, a dict) is no currency code: the amounts read in
    two places, as for an unknown code, and the finding keeps the cell's plain form (the
    column-wise builder hashed every currency value and raised TypeError)."""
    index = pd.Index(["A", "B", "C"], name="case")
    matches = pd.DataFrame({
        "eid": ["e1", "e2", "e3"], "at": pd.to_datetime(["2026-09-24T11:09:33Z"] * 3, utc=True),
        "v": [1.5, 2.5, 1000.0],
        "currency": pd.Series([["EUR"], {"a": 1}, "JPY"], index=index, dtype=object)},
        index=index)
    found = _build(matches, message="{v:.2f}")
    assert [f.currency for f in found] == [["EUR"], {"a": 1}, "JPY"]
    assert [f.message for f in found] == ["1.50", "2.50", "1,000"]


def test_no_matches_give_no_findings_whatever_the_evidence_names() -> None:
    """No rows: no findings, even where the empty frame lacks a column the evidence names
    (the column-wise builder read every evidence column before looking at the rows and
    raised KeyError)."""
    matches = pd.DataFrame({"eid": pd.Series([], dtype=object),
                            "at": pd.Series([], dtype="datetime64[ns, UTC]")})
    assert _build(matches, message="x {nope}", evidence=("nope",)) == []
    assert _build(matches.iloc[:0, :0], message="x", evidence=("nope",)) == []
