"""A Parquet file whose rows cannot fit in the memory left is refused before it is read.

Parquet stores a run of one value in a few bytes: 565 KB held 50,000,000 rows of three
columns, whose import took more than 6 GB (a traceback where the memory ran out, the
machine's out-of-memory killer where none was set); 5,000,000 such rows took 2.6 GB and 46 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import audit.ingest.parquet_reader as parquet_reader
from audit.errors import InputError
from audit.ingest.parquet_reader import LEAST_BYTES_PER_ROW, read_parquet
from audit.memory import available_memory

ROWS = 300_000


@pytest.fixture(scope="module")
def one_value_rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROWS rows of one case, activity and time: a few kilobytes of Parquet."""
    path = tmp_path_factory.mktemp("rows") / "rows.parquet"
    codes = pa.array(np.zeros(ROWS, dtype=np.int8))
    pq.write_table(pa.table({
        name: pa.DictionaryArray.from_arrays(codes, pa.array([value]))
        for name, value in (("case:concept:name", "c1"), ("concept:name", "Approve refund"),
                            ("time:timestamp", "2026-01-01T00:00:00Z"))}), path)
    assert path.stat().st_size < 20_000
    return path


def test_rows_beyond_the_memory_left_are_refused_before_reading(
        one_value_rows: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[Path] = []
    monkeypatch.setattr(pq, "read_table", lambda path, **_: read.append(path))
    monkeypatch.setattr(parquet_reader, "available_memory",
                        lambda: ROWS * LEAST_BYTES_PER_ROW - 1)
    with pytest.raises(InputError) as caught:
        read_parquet(one_value_rows)
    message = str(caught.value)
    assert message.startswith(f"{one_value_rows}: holds 300,000 rows in ")
    assert "needs at least 0.1 GiB" in message and "refused before reading" in message
    assert read == []


@pytest.mark.parametrize("left", [ROWS * LEAST_BYTES_PER_ROW, None], ids=["enough", "unknown"])
def test_rows_within_the_memory_left_are_read(
        one_value_rows: Path, monkeypatch: pytest.MonkeyPatch, left: int | None) -> None:
    monkeypatch.setattr(parquet_reader, "available_memory", lambda: left)
    assert len(read_parquet(one_value_rows).frame) == ROWS


def test_available_memory_is_the_least_of_the_system_and_the_cgroup(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  8000000 kB\nMemAvailable:    4000000 kB\n")
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    assert available_memory(meminfo, cgroup) == 4_000_000 * 1024  # (no cgroup files)
    (cgroup / "memory.max").write_text("max\n")
    (cgroup / "memory.current").write_text("1000\n")
    assert available_memory(meminfo, cgroup) == 4_000_000 * 1024
    (cgroup / "memory.max").write_text("3000000000\n")
    assert available_memory(meminfo, cgroup) == 3_000_000_000 - 1000
    assert available_memory(tmp_path / "none", tmp_path / "none") is None
    here = available_memory()  # (this machine's)
    assert here is None or here > 0
