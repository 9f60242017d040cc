"""CSV text made column by column (findings.csv, quarantine.csv): read back by csv.reader
as written, equal to csv.writer's and pandas' text, and a lone carriage return quoted where
those leave it bare and so split the row."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import numpy as np
import pandas as pd

from audit.csvtext import csv_lines, frame_csv
from audit.store import write_quarantine

HOSTILE = ["", "plain", "a,b", 'say "hi"', '"', "line\nbreak", "x\r\ny", "\r", "lone\rcr",
           "=1+1", " lead", "日本語 😀", "\x00nul", "tab\there", ",", "\n"]


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _lone_cr(cells: list[str]) -> bool:
    return any("\r" in cell.replace("\r\n", "") for cell in cells)


def _writer_leaves_a_lone_cr_bare() -> bool:
    """Whether this Python's csv.writer leaves a lone carriage return unquoted (3.11 does)."""
    probe = io.StringIO(newline="")
    csv.writer(probe, lineterminator="\n").writerow(["a\rb", "c"])
    return probe.getvalue() == "a\rb,c\n"


def test_random_rows_read_back_and_equal_csv_writer_without_a_lone_cr() -> None:
    rng = random.Random(11)
    rows = [[rng.choice(HOSTILE) + rng.choice(HOSTILE) for _ in range(6)] for _ in range(400)]
    text = csv_lines([list(c) for c in zip(*rows, strict=True)])
    assert _read(text) == rows
    plain = [row for row in rows if not _lone_cr(row)]
    assert 0 < len(plain) < len(rows)
    reference = io.StringIO(newline="")
    csv.writer(reference, lineterminator="\n").writerows(plain)
    assert csv_lines([list(c) for c in zip(*plain, strict=True)]) == reference.getvalue()
    # Where csv.writer leaves a lone CR bare, its text of these rows does not read back.
    broken = io.StringIO(newline="")
    csv.writer(broken, lineterminator="\n").writerows(rows)
    assert (_read(broken.getvalue()) != rows) == _writer_leaves_a_lone_cr_bare()


def _quarantine(values: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"file": [f"part-{k % 3}.csv" for k in range(len(values))],
                         "row": np.arange(2, len(values) + 2),
                         "field": ["time:timestamp"] * len(values),
                         "value": values,
                         "reason": ["not a time, or naive (use --assume-tz)"] * len(values)})


def test_frame_csv_equals_pandas_and_quotes_a_lone_cr(tmp_path: Path) -> None:
    values: list[object] = [v for v in HOSTILE if not _lone_cr([v])]
    values += [None, float("nan"), 3, 2.5, -1.25, True, "-5", "@x"]
    frame = _quarantine(values).astype(object)
    assert frame_csv(frame) == frame.to_csv(index=False, lineterminator="\n")
    assert frame_csv(frame.iloc[:0]) == frame.iloc[:0].to_csv(index=False, lineterminator="\n")
    # The quarantine file: neutralised cells, each row read back whole, a lone CR included.
    hostile = _quarantine(["2026-01-01\r", "=cmd", "ok,\r\n", None])
    path = write_quarantine(hostile, tmp_path / "quarantine.csv")
    rows = _read(path.read_bytes().decode("utf-8"))  # no newline translation
    assert rows[0] == list(hostile.columns) and len(rows) == 5
    assert [row[3] for row in rows[1:]] == ["2026-01-01\r", "'=cmd", "ok,\r\n", ""]
    assert [row[1] for row in rows[1:]] == ["2", "3", "4", "5"]
    # pandas' text of the same frame (through csv.writer): the lone CR splits its row.
    if _writer_leaves_a_lone_cr_bare():
        assert len(_read(hostile.to_csv(index=False, lineterminator="\n"))) == 6
