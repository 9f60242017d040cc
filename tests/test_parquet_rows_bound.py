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
    own = tmp_path / "none"
    assert available_memory(meminfo, cgroup, own) == 4_000_000 * 1024  # (no cgroup files)
    (cgroup / "memory.max").write_text("max\n")
    (cgroup / "memory.current").write_text("1000\n")
    assert available_memory(meminfo, cgroup, own) == 4_000_000 * 1024
    (cgroup / "memory.max").write_text("3000000000\n")
    assert available_memory(meminfo, cgroup, own) == 3_000_000_000 - 1000
    assert available_memory(tmp_path / "none", tmp_path / "none", own) is None
    here = available_memory()  # (this machine's)
    assert here is None or here > 0


def _cgroup_v2(folder: Path, limit: str, current: int, inactive_file: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "memory.max").write_text(f"{limit}\n")
    (folder / "memory.current").write_text(f"{current}\n")
    (folder / "memory.stat").write_text(
        f"anon 400000\nfile {inactive_file + 5000}\nactive_file 5000\n"
        f"inactive_file {inactive_file}\nslab 1000\n")


def test_the_cgroups_inactive_file_cache_is_memory_left(
        one_value_rows: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cgroup's memory.current counts the page cache of the files read (inactive_file of
    memory.stat), which the kernel reclaims before it runs out: not held (as `docker stats`
    counts it). Before, a container with a warm cache (here 80 MB of its 90 MB) refused a
    file whose rows fit in what the cgroup allows (100 MB): 10 MB counted left."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemAvailable:    4000000 kB\n")
    cgroup = tmp_path / "cgroup"
    _cgroup_v2(cgroup, "100000000", 90_000_000, 80_000_000)
    assert available_memory(meminfo, cgroup) == 100_000_000 - 10_000_000
    monkeypatch.setattr(parquet_reader, "available_memory",
                        lambda: available_memory(meminfo, cgroup))
    assert ROWS * LEAST_BYTES_PER_ROW > 10_000_000
    assert len(read_parquet(one_value_rows).frame) == ROWS
    _cgroup_v2(cgroup, "100000000", 90_000_000, 0)  # (no cache: held)
    with pytest.raises(InputError, match="refused before reading"):
        read_parquet(one_value_rows)
    _cgroup_v2(cgroup, "100000000", 90_000_000, 95_000_000)  # (never below nothing held)
    assert available_memory(meminfo, cgroup) == 100_000_000


def test_the_process_own_cgroup_and_its_ancestors_set_the_limit(tmp_path: Path) -> None:
    """The cgroup named in /proc/self/cgroup (under the cgroup folder) and each of its
    ancestors there: the least any allows; a path not under the folder (a container's
    cgroup, mounted as the folder itself) leaves the folder's own limit."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemAvailable:    4000000 kB\n")
    cgroup, own = tmp_path / "cgroup", tmp_path / "self-cgroup"
    own.write_text("0::/app.slice/audit.scope\n")
    _cgroup_v2(cgroup, "max", 0, 0)
    _cgroup_v2(cgroup / "app.slice", "2000000000", 1_500_000_000, 500_000_000)
    _cgroup_v2(cgroup / "app.slice" / "audit.scope", "max", 900_000_000, 0)
    assert available_memory(meminfo, cgroup, own) == 2_000_000_000 - 1_000_000_000
    _cgroup_v2(cgroup / "app.slice" / "audit.scope", "950000000", 900_000_000, 100_000_000)
    assert available_memory(meminfo, cgroup, own) == 950_000_000 - 800_000_000
    own.write_text("0::/docker/0123abcd\n")  # (not under the folder: the folder's own)
    assert available_memory(meminfo, cgroup, own) == 4_000_000 * 1024
    _cgroup_v2(cgroup, "3000000000", 1_000_000_000, 0)
    assert available_memory(meminfo, cgroup, own) == 2_000_000_000


def test_cgroup_v1_limits_are_read_too(tmp_path: Path) -> None:
    """cgroup v1's memory controller (memory/ under the cgroup folder): memory.limit_in_bytes
    less memory.usage_in_bytes, its total_inactive_file not held; the limit v1 reads where
    none is set (about 2**63) is none."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemAvailable:    4000000 kB\n")
    cgroup, own = tmp_path / "cgroup", tmp_path / "self-cgroup"
    own.write_text("12:cpu,cpuacct:/\n4:memory:/jobs/7\n0::/\n")
    folder = cgroup / "memory" / "jobs" / "7"
    folder.mkdir(parents=True)
    (folder / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (folder / "memory.usage_in_bytes").write_text("2500000000\n")
    (folder / "memory.stat").write_text(
        "cache 2100000000\ninactive_file 7\ntotal_inactive_file 2000000000\n")
    assert available_memory(meminfo, cgroup, own) == 4_000_000 * 1024
    (folder / "memory.limit_in_bytes").write_text("3000000000\n")
    assert available_memory(meminfo, cgroup, own) == 3_000_000_000 - 500_000_000
