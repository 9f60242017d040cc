"""`read_earlier_quarantine` reads the earlier import's quarantine a line at a time: before,
the whole file was read into memory, then parsed (at 1M cases a month's quarantine is
large). The rows it returns are those pandas read before; a damaged line is told by its
line number (before, a record of more or fewer fields than the header was counted as if
whole, and a byte that is not UTF-8 was told by its place in its field)."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from audit.store import read_earlier_quarantine, write_quarantine

ROWS = 12_000
WIDE = "x" * 2_000  # (a long value: the file is large, the columns counted by are small)


def big_quarantine(folder: Path) -> tuple[Path, pd.DataFrame]:
    """A quarantine of `ROWS` rows as the import writes it (`write_quarantine`), with
    cells that need quoting and a neutralised case among them, and the frame it holds."""
    frame = pd.DataFrame({
        "file": [f"exports/{'g' if i % 3 else 'h,1'}.csv" for i in range(ROWS)],
        "row": [str(i + 2) for i in range(ROWS)],
        "field": "timestamp",
        "value": [WIDE if i % 100 else 'multi\nline "quoted", value' for i in range(ROWS)],
        "reason": "not a timestamp",
        "case": [f"c{i % 997}" if i % 50 else "=c3" for i in range(ROWS)]})
    path = folder / "log.quarantine.csv"
    write_quarantine(frame, path)
    return path, frame


def test_the_rows_read_are_the_rows_written_without_holding_the_file(
        tmp_path: Path) -> None:
    path, frame = big_quarantine(tmp_path)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    size = len(data)
    del data
    assert size > 20_000_000
    tracemalloc.start()
    try:
        told, rows = read_earlier_quarantine(tmp_path / "log.parquet",
                                             {"quarantined": ROWS, "quarantine_sha256": digest})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (told["status"], told["verified"], told["sha256"]) == ("read", True, digest)
    assert rows is not None
    assert rows.to_dict("list") == frame[["file", "row", "field", "reason", "case"]].to_dict(
        "list")
    # The same rows pandas read from the whole file, as before.
    before = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8",
                         usecols=["file", "row", "case"])
    assert rows["file"].tolist() == before["file"].tolist()
    assert rows["row"].tolist() == before["row"].tolist()
    assert peak < size / 3, f"{peak:,} bytes at most held reading {size:,}"


def spoilt(path: Path, line: int, text: bytes) -> None:
    """`path` with its line `line` (1: the header) replaced by `text`."""
    lines = path.read_bytes().split(b"\n")
    lines[line - 1] = text
    path.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize(("text", "detail"), [
    (b'exports/g.csv,9001,timestamp,bad,not a timestamp,c1,more',
     "line 9,091 has 7 fields, its header 6"),
    (b"exports/g.csv,9001,timestamp", "line 9,091 has 3 fields, its header 6"),
    (b"exports/g.csv,9001,timestamp,bad,not a timestamp,c\xff1",
     "line 9,091 is not UTF-8 (byte 0xff, byte 51 of the line)"),
    (b'exports/g.csv,9001,timestamp,"bad,not a timestamp,c1',
     "the record starting on line 9,091: ',' expected after '\"'"),
])
def test_a_damaged_line_is_told_by_its_number(tmp_path: Path, text: bytes,
                                              detail: str) -> None:
    """Line 9,091 (row 9001) of a file whose record holds no sha256 (an older version's), and of one
    whose record holds the damaged file's sha256: unreadable, by the line. Where the record
    holds the sha256 of the file as written, it does not match, as before."""
    path, _ = big_quarantine(tmp_path)
    written = hashlib.sha256(path.read_bytes()).hexdigest()
    line = next(n for n, t in enumerate(path.read_bytes().split(b"\n"), 1)
                if t.startswith(b"exports/g.csv,9001,"))
    assert line == 9_091  # (the header, 8,999 rows before it, 90 of them on two lines)
    spoilt(path, line, text)
    damaged = hashlib.sha256(path.read_bytes()).hexdigest()
    for record in ({"quarantined": ROWS}, {"quarantined": ROWS, "quarantine_sha256": damaged}):
        told, rows = read_earlier_quarantine(tmp_path / "log.parquet", record)
        assert (told["status"], rows) == ("unreadable", None)
        assert told["detail"] == f"log.quarantine.csv cannot be read: {detail}"
        assert told["sha256"] == damaged
    told, rows = read_earlier_quarantine(tmp_path / "log.parquet",
                                         {"quarantined": ROWS, "quarantine_sha256": written})
    assert (told["status"], rows) == ("does not match the record", None)
