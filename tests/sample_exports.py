"""Exports written beside the bundled sample's, and their records edited, for tests that add
records to a run."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from audit import canonical as C

SAMPLE_EXPORTS = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "exports"


def write_sale(path: Path, charge: str, order: str, created: str) -> Path:
    """Write a Stripe charges export at `path` (its folder made) with the sample's header and
    one succeeded card charge of 10.00 EUR for `order`, created at `created`: a sale that no
    ticket or refund names."""
    with (SAMPLE_EXPORTS / "stripe_charges.csv").open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, [charge, f"Order {order}", "1000", "", "eur", created,
                                          "succeeded", "card", order]])
    return path


def edited(header: list[str], record: list[str], cells: dict[str, str]) -> list[str]:
    """A copy of `record` with the cells of the columns named in `cells` replaced."""
    copy = list(record)
    for name, value in cells.items():
        copy[header.index(name)] = value
    return copy


def case_of(log: pd.DataFrame, event_id: str) -> list[str]:
    """The cases of a log's events with `event_id` (one where the id is unique)."""
    return log.loc[log[C.EVENT_ID].astype(str) == event_id, C.CASE].astype(str).tolist()
