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


SERVICENOW_SAMPLE = SAMPLE_EXPORTS / "servicenow_sys_audit.csv"
SERVICENOW_ZONE = "Europe/London"
"""The zone the ServiceNow tests read the sample's local times in (`--assume-tz`)."""


def edited_export(tmp_path: Path, column: str, values: dict[int, str]) -> Path:
    """The sample ServiceNow export's first ten file rows (its first record: the insert,
    rows 2-7, and checkpoint 1, rows 8-10) with `column` of the file rows given in `values`
    replaced, written as sys_audit.csv in `tmp_path`."""
    with SERVICENOW_SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[:10]
    at = rows[0].index(column)
    for row, text in values.items():
        rows[row - 1][at] = text
    path = tmp_path / "sys_audit.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def read_export(path: Path) -> tuple[dict[str, list[object]], list[dict[str, object]]]:
    """A ServiceNow export read as the import reads it (the bundled sources config, the
    sample's zone): its columns as lists, and its problems (quarantined rows)."""
    from audit.sources import servicenow
    from audit.sources.config import load_sources_config

    cfg = load_sources_config().ticketing["servicenow"]
    got = servicenow.read(path, cfg, assume_tz=SERVICENOW_ZONE)
    columns = {name: column.to_pylist() if hasattr(column, "to_pylist") else list(column)
               for name, column in (got.columns or {}).items()}
    return columns, got.problems
