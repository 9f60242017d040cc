"""missing-evidence (EV001) reads an item typed as a placeholder ('n/a', '-', ...) as no
item (`_placeholder`). It asks that of each distinct value of an evidence column: at 1M
cases 0.7M of them, nearly all ids and links, 2-3 s of CPU one by one in Python. The values
that cannot be one (ASCII texts longer than every placeholder once trimmed, one a letter
or digit) are now told apart on the whole column at once, and only the others asked: the
same answer for every value, placeholders in any case, padding or script."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.rules.evidence import ev001_missing_evidence as ev001

VALUES = [
    "n/a", " N/A ", "NA", "none", "None\t", "\u00a0null\u2003", "nil", "TBD", "todo",
    "Pending", "PENDING\n", "missing", "unknown", "Unknown ", "n.a.", "-", "--", "?", "/",
    "--------", "........--", "\u2014", "", "   ", "\u3000", "\u00df", "STRASSE",
    "\uff2e\uff2f\uff2e\uff25",  # (fullwidth NONE: case folded, still no placeholder)
    "\u212a", "pending1", "pendings", "unknown-", " unknown!", "N/A-2026-001",
    "EV-2026-000123", "https://docs.example/receipt/123", "12345678", "1234567", "abcdefg",
    "abcdefgh", "a" + "\u00a0" * 8, "x-------", "\t\t\t\t\t\t\t\tn/a", "caf\u00e9 receipt",
    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "!!!!!!!!", "!!!!!!!a",
    "\x1c\x1dn/a\x1e\x1f", "\x0b\x0cnone\r", "abc\x1fdefgh", " \t abcdefg \n", "abcdefg\u00a0",
]


@pytest.mark.parametrize("as_array", [
    lambda v: pd.array(v, dtype="string[pyarrow]"),
    lambda v: pd.array(v, dtype="string[python]"),
    lambda v: pd.Index(v, dtype=object),
    lambda v: pd.Categorical(v).categories,
])
def test_every_value_is_judged_as_one_by_one(as_array: Any) -> None:
    uniques = as_array(VALUES)
    expected = np.array([ev001._placeholder(v) for v in list(uniques)], dtype=bool)
    assert expected.sum() >= 20 and (~expected).sum() >= 20  # (both kinds among them)
    assert ev001._placeholders(uniques).tolist() == expected.tolist()


@pytest.mark.parametrize("uniques", [pd.Index([1, 12345678, -1]),
                                     pd.Index(["n/a", 5, "EV-2026-000123", "-"], dtype=object)])
def test_values_not_texts_are_judged_one_by_one(uniques: pd.Index) -> None:
    expected = [ev001._placeholder(v) for v in uniques]
    assert ev001._placeholders(uniques).tolist() == expected


def test_only_the_values_that_may_be_placeholders_are_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 distinct ids and links and three placeholders: three values asked in Python,
    not 10,003; the column's mask as before."""
    asked: list[object] = []
    judge = ev001._placeholder

    def spy(value: object) -> bool:
        asked.append(value)
        return judge(value)

    ids = [f"EV-2026-{k:06d}" for k in range(5_000)] + [
        f"https://docs.example/r/{k}" for k in range(5_000)]
    column = pd.array([*ids, "n/a", None, " - ", ids[0], "TBD"], dtype="string[pyarrow]")
    monkeypatch.setattr(ev001, "_placeholder", spy)
    real = ev001._real(column)
    assert sorted(map(str, asked)) == [" - ", "TBD", "n/a"]
    assert real.tolist() == [True] * 10_000 + [False, False, False, True, False]


def test_the_values_not_asked_are_longer_than_every_placeholder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The values told apart without asking are those longer than the longest of
    PLACEHOLDERS, read from the set: each placeholder, in capitals and padded, is judged
    one, and so is one longer than 7 characters once added to the set. Before, the bound
    was 8 characters written out: a placeholder of 8 or more (`not applicable`) added to
    the set was never asked, and read as an item."""
    for word in sorted(ev001.PLACEHOLDERS):
        values = [word, f"  {word.upper()}\t", word.title()]
        assert ev001._placeholders(pd.array(values, dtype="string[pyarrow]")).all(), word
    values = pd.array(["Not Applicable", " not applicable ", "not applicable!",
                       "EV-2026-000123"], dtype="string[pyarrow]")
    assert ev001._placeholders(values).tolist() == [False] * 4
    monkeypatch.setattr(ev001, "PLACEHOLDERS", ev001.PLACEHOLDERS | {"not applicable"})
    assert ev001._placeholders(values).tolist() == [True, True, False, False]
    assert ev001._placeholders(values).tolist() == [ev001._placeholder(v) for v in values]
