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
import pytest

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


def test_the_quarantine_is_written_a_block_at_a_time_as_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """quarantine.csv in blocks of rows (their text held, not the file's): the same bytes
    as the frame written at once, header first; an empty quarantine is its header."""
    from audit import store
    from audit.safety import neutralise_frame

    rng = random.Random(5)
    frame = _quarantine([rng.choice(HOSTILE) or None for _ in range(50)])
    whole = frame_csv(neutralise_frame(frame.astype(object)))
    monkeypatch.setattr(store, "_BLOCK", 7)  # blocks of 7 rows, the last one shorter
    path = write_quarantine(frame, tmp_path / "quarantine.csv")
    assert path.read_bytes().decode("utf-8") == whole
    assert whole.startswith("file,row,field,value,reason\n") and "'=1+1" in whole
    empty = write_quarantine(frame.iloc[:0], tmp_path / "empty.csv")
    assert empty.read_bytes() == b"file,row,field,value,reason\n"


def test_a_str_subclass_is_written_as_its_text_as_pandas_writes_it() -> None:
    class Labelled(str):
        def __str__(self) -> str:
            return "not the text"

    frame = _quarantine([0, 0, 0]).astype(object)
    frame["value"] = pd.Series([Labelled("raw, text"), Labelled("x"), None], dtype=object)
    assert type(frame["value"].iloc[0]) is Labelled  # kept as it is in an object column
    assert frame_csv(frame) == frame.to_csv(index=False, lineterminator="\n")
    assert "raw, text" in frame_csv(frame) and "not the text" not in frame_csv(frame)
