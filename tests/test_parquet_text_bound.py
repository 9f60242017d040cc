"""The bound on a Parquet log's text in all, a column at a time (`sizes.max_column_text`)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.ingest.sizes import MAX_AVERAGE, MAX_CELL, max_column_text


def _log(path: Path, rows: int, width: int, kind: pa.DataType) -> Path:
    """A log of `rows` events whose 14 activity labels are `width` characters long (bytes
    where `kind` is binary): written with dictionary encoding and zstd, a few KB."""
    labels = [f"L{k:02d}" + "x" * (width - 3) for k in range(14)]
    activity = [labels[i % 14] for i in range(rows)]
    column = pa.array([a.encode() for a in activity] if pa.types.is_binary(kind)
                      else activity, kind)
    pq.write_table(pa.table({
        "case:concept:name": [f"C{i // 5}" for i in range(rows)],
        "concept:name": column,
        "time:timestamp": pa.array([1_780_000_000_000_000 + i * 60_000_000 for i in range(rows)],
                                   pa.timestamp("us", tz="UTC"))}), path, compression="zstd")
    return path


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_a_log_of_long_labels_once_per_event_is_refused(tmp_path: Path,
                                                        kind: pa.DataType) -> None:
    """300 events of labels of 100,000 characters (30,000,000 characters of text from a file
    of a few KB, each value within `MAX_CELL`): refused, exit code 2, naming the file and
    the column. Before, imported whole (a 28 MB log of 500,000-character labels: 2.7 GB)."""
    source = _log(tmp_path / "log.parquet", 300, 100_000, kind)
    assert source.stat().st_size < 100_000
    result = CliRunner().invoke(main, ["import", str(source), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, result.output
    assert (f"error: {source}: field 'concept:name': its values hold 30,000,000 characters in "
            f"all in 300 rows (100,000 a row), more than the {300 * MAX_AVERAGE:,}") \
        in result.output
    assert not (tmp_path / "out.parquet").exists()


def test_a_binary_column_is_bounded_by_its_bytes(tmp_path: Path) -> None:
    source = _log(tmp_path / "log.parquet", 300, 100_000, pa.binary())
    result = CliRunner().invoke(main, ["import", str(source), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, result.output
    assert "field 'concept:name': its values hold 30,000,000 bytes in all" in result.output


@pytest.mark.parametrize(("rows", "width"), [(300, 60_000), (12, MAX_CELL)])
def test_a_log_within_the_bound_is_imported(tmp_path: Path, rows: int, width: int) -> None:
    """Labels of 60,000 characters once per event (within `MAX_AVERAGE` a row), and a few
    values at `MAX_CELL` in a short log (within `max_column_text`'s floor): imported."""
    assert rows * width <= max_column_text(rows)
    source = _log(tmp_path / "log.parquet", rows, width, pa.string())
    result = CliRunner().invoke(main, ["import", str(source), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 0, result.output
    assert f"read {rows:,} = imported {rows:,} + quarantined 0" in result.output
