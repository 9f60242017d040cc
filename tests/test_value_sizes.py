"""A value longer than any real export's field is not imported, and not written whole.

A hostile export may hold one cell of megabytes: before, a 50 MB cell of a CSV log was
imported whole (0.7 GB of memory) and written whole into the log and the reports. Now the
record holding a value over `MAX_CELL` characters goes to the quarantine, which names its
file, row and field and shows the value's start with a marker; every row is still counted
(read = imported + quarantined).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.ingest.sizes import MAX_CELL, QUARANTINE_CELL

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_logs" / "refund-sample" / "canonical.csv"


def _rows() -> tuple[list[str], list[list[str]]]:
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:80]


def _import(source: Path, out: Path) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    result = CliRunner().invoke(main, ["import", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    quarantine = pd.read_csv(out.with_suffix(".quarantine.csv"), dtype=str,
                             keep_default_na=False)
    return result.output, pd.read_parquet(out), quarantine


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("column", ["org:resource", "evidence:receipt", "note"])
def test_a_record_with_an_over_long_value_is_quarantined(tmp_path: Path, suffix: str,
                                                         column: str) -> None:
    header, rows = _rows()
    header = [*header, "note"]
    rows = [[*row, ""] for row in rows]
    at = header.index(column)
    rows[4][at] = "=x" + "A" * MAX_CELL  # (row 6 of the file: the header is row 1)
    rows[9][at] = "B" * MAX_CELL  # as long as the bound: imported
    source = tmp_path / f"log{suffix}"
    if suffix == ".csv":
        with source.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *rows])
    else:
        pd.DataFrame(rows, columns=header).to_parquet(source)
    output, log, quarantine = _import(source, tmp_path / "out.parquet")
    assert f"read {len(rows)} = imported {len(rows) - 1} + quarantined 1" in output
    assert len(log) == len(rows) - 1
    longest = max(len(v) for name in log.columns for v in log[name].astype(object).tolist()
                  if isinstance(v, str))
    assert longest == MAX_CELL
    assert len(quarantine) == 1
    line = quarantine.iloc[0]
    assert line["file"] == source.name
    assert line["row"] == ("6" if suffix == ".csv" else "5")
    assert line["field"] == column
    assert f"value of {MAX_CELL + 2:,} characters" in line["reason"]
    assert line["value"].startswith("'=xAAA")  # (a formula start neutralised as before)
    assert line["value"].endswith(f"… [cut: {MAX_CELL + 2:,} characters in all]")
    assert len(line["value"]) < 1_100


def test_a_record_not_split_is_shown_cut(tmp_path: Path) -> None:
    """A row of another width than the header's (quarantined whole, as `(record)`) of a cell
    longer than a spreadsheet's cell: its start is shown, not the whole line."""
    header, rows = _rows()
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows[:5], rows[5] + ["C" * 100_000],
                                      *rows[6:]])
    output, _log, quarantine = _import(source, tmp_path / "out.parquet")
    assert f"read {len(rows)} = imported {len(rows) - 1} + quarantined 1" in output
    (line,) = quarantine.itertuples()
    assert line.field == "(record)" and line.row == "7"
    assert len(line.value) < QUARANTINE_CELL
    assert "… [cut: " in line.value
