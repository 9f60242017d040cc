"""Neutralising spreadsheet formulas in cells we write (CSV, XLSX) so Excel never runs them."""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a text cell that a spreadsheet would read as a formula starts with."""


def neutralise_cell(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would read as a formula with an apostrophe.

    Numbers are left alone: a negative amount is a number, not a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells are safe to open in a spreadsheet."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            out[name] = column.map(neutralise_cell, na_action="ignore")
    return out
