"""The bound on a Parquet log's text once decoded, against its file's size
(`sizes.max_log_text`), and the tool's own logs within it."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.ingest import sizes
from audit.ingest.parquet_reader import held_text
from audit.ingest.sizes import MAX_EXPANSION, max_log_text

_LABELS = 14


def _labels(width: int) -> list[str]:
    return [f"L{k:02d}" + "x" * (width - 3) for k in range(_LABELS)]


def _plain(rows: int, width: int) -> pa.Array:
    labels = _labels(width)
    return pa.array([labels[i % _LABELS] for i in range(rows)])


def _dictionary(rows: int, width: int) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array([i % _LABELS for i in range(rows)], pa.int32()), pa.array(_labels(width)))


def _view(rows: int, width: int) -> pa.Array:
    return _plain(rows, width).cast(pa.string_view())


def _binary_view(rows: int, width: int) -> pa.Array:
    return _plain(rows, width).cast(pa.binary()).cast(pa.binary_view())


def _list(rows: int, width: int) -> pa.Array:
    labels = _labels(width)
    return pa.array([[labels[i % _LABELS]] for i in range(rows)], pa.list_(pa.string()))


def _struct(rows: int, width: int) -> pa.Array:
    labels = _labels(width)
    return pa.array([{"label": labels[i % _LABELS], "n": i} for i in range(rows)])


def _map(rows: int, width: int) -> pa.Array:
    labels = _labels(width)
    return pa.array([[("label", labels[i % _LABELS])] for i in range(rows)],
                    pa.map_(pa.string(), pa.string()))


def _fixed(rows: int, width: int) -> pa.Array:
    return _plain(rows, width).cast(pa.binary(width))


def _json(rows: int, width: int) -> pa.Array:
    return pa.ExtensionArray.from_storage(pa.json_(), _plain(rows, width))


def _opaque(rows: int, width: int) -> pa.Array:
    return pa.ExtensionArray.from_storage(pa.opaque(pa.string(), "note", "vendor"),
                                          _plain(rows, width))


def _log(path: Path, rows: int, width: int,
         column: Callable[[int, int], pa.Array] = _plain) -> Path:
    """A log of `rows` events whose activity holds one of 14 labels of `width` characters
    (in the type `column` makes): zstd, a few KB whatever its text."""
    pq.write_table(pa.table({
        "case:concept:name": [f"C{i // 5}" for i in range(rows)],
        "concept:name": column(rows, width),
        "time:timestamp": pa.array([1_780_000_000_000_000 + i * 60_000_000 for i in range(rows)],
                                   pa.timestamp("us", tz="UTC"))}), path, compression="zstd")
    return path


def _import(source: Path, out: Path) -> object:
    return CliRunner().invoke(main, ["import", str(source), "--out", str(out)])


def test_a_log_of_long_labels_once_per_event_is_refused(tmp_path: Path) -> None:
    """2,196 events of 14 labels of 200,000 characters, a dictionary column (as the tool
    writes `concept:name`): 439 MB of text from a file of a few KB, each value within
    `MAX_CELL`, refused (exit code 2, naming file and column), measured without decoding
    the column. Before, a dictionary column was not measured: imported whole."""
    source = _log(tmp_path / "log.parquet", 2_196, 200_000, _dictionary)
    size = source.stat().st_size
    assert size < 100_000 and max_log_text(size) < 2_196 * 200_000
    result = _import(source, tmp_path / "out.parquet")
    assert result.exit_code == 2, result.output
    assert (f"error: {source}: field 'concept:name': its values hold 439,208,234 bytes of "
            f"text once decoded (439,200,000 in this column) in a file of {size:,} bytes") \
        in result.output
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("column", [_plain, _dictionary, _view, _binary_view, _list, _struct,
                                    _map, _fixed, _json, _opaque],
                         ids=["string", "dictionary", "string_view", "binary_view", "list",
                              "struct", "map", "fixed_size_binary", "json", "opaque"])
def test_each_type_of_text_is_measured(tmp_path: Path, column: Callable[[int, int], pa.Array],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """300 events of labels of 100,000 characters (30,000,000 bytes of text in a file of a
    few KB) in each type that holds text, against a floor of 1,000,000: refused, its text
    counted whole. Before, only a plain string or binary column was measured (the bound
    was by rows): a dictionary, a view, a list, a struct or a map of text was imported; a
    fixed-size binary and an extension type's (arrow.json, arrow.opaque) measured 0."""
    monkeypatch.setattr(sizes, "MAX_TEXT_FLOOR", 1_000_000)
    source = _log(tmp_path / "log.parquet", 300, 100_000, column)
    assert pq.read_schema(source).field("concept:name").type == column(1, 100_000).type
    assert source.stat().st_size * MAX_EXPANSION < 30_000_000
    table = pq.read_table(source)
    held = 30_000_000 + (300 * len("label") if column is _map else 0)  # (a map's keys too)
    assert sum(held_text(chunk) for chunk in table["concept:name"].chunks) == held
    result = _import(source, tmp_path / "out.parquet")
    assert result.exit_code == 2, result.output
    assert f"error: {source}: field 'concept:name': its values hold 30,00" in result.output
    assert f"({held:,} in this column)" in result.output


def test_held_text_counts_a_slice_and_leaves_missing_values_out() -> None:
    values = pa.array(["ab", None, "cde", "f" * 20], pa.string_view()).slice(1, 2)
    assert held_text(values) == 3
    indices = pa.array([0, None, 1, 1], pa.int8())
    assert held_text(pa.DictionaryArray.from_arrays(indices, pa.array(["x", "yy"]))) == 5
    assert held_text(pa.array([["a", "bb"], None, ["ccc"]]).slice(1)) == 3


def test_held_text_of_fixed_size_binary_counts_its_width_a_value() -> None:
    """A fixed-size binary's values (its width each, a missing one left out), in a
    dictionary too (by its indices, without decoding it); a decimal holds no text."""
    fixed = pa.array([b"abcd", None, b"efgh"], pa.binary(4))
    assert held_text(fixed) == 8
    assert held_text(fixed.slice(1)) == 4
    indices = pa.array([0, 0, None, 1, 0], pa.int32())
    values = pa.array([b"x" * 900_000, b"y" * 900_000], pa.binary(900_000))
    assert held_text(pa.DictionaryArray.from_arrays(indices, values)) == 4 * 900_000
    assert held_text(pa.array([1, 2], pa.decimal128(10, 2))) == 0


def test_an_extension_column_is_read_as_its_storage(tmp_path: Path) -> None:
    """A log with an arrow.json and an arrow.opaque column: imported, their values text.
    Before: `internal error (KeyError: 'payload')`."""
    source = tmp_path / "log.parquet"
    pq.write_table(pa.table({
        "case:concept:name": ["C1", "C1", "C2"],
        "concept:name": ["Refund requested", "Refund approved", "Refund requested"],
        "time:timestamp": pa.array([1_780_000_000_000_000 + i * 60_000_000 for i in range(3)],
                                   pa.timestamp("us", tz="UTC")),
        "payload": _json(3, 10), "note": _opaque(3, 10)}), source)
    out = tmp_path / "out.parquet"
    result = _import(source, out)
    assert result.exit_code == 0, result.output
    frame = pq.read_table(out).to_pandas()
    assert list(frame["payload"]) == list(frame["note"]) == _labels(10)[:3]


def _notes(path: Path, rows: int, note: Callable[[int], str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["case", "activity", "timestamp", "resource", "note"])
        for i in range(rows):
            writer.writerow([f"C{i // 2}", "Refund requested" if i % 2 == 0 else
                             "Refund approved", f"2026-07-01T{i % 24:02d}:00:00Z", f"u{i}",
                             note(i)])
    return path


@pytest.mark.parametrize(("rows", "note"), [
    (20, lambda i: "n" * 900_000),
    (300, lambda i: (f"Thread {i}: " + "Re: refund of order, please advise. " * 2_000)[:70_000]),
], ids=["20-notes-of-900000", "300-threads-of-70000"])
def test_the_log_an_import_writes_is_read_back(tmp_path: Path, rows: int,
                                               note: Callable[[int], str]) -> None:
    """A valid CSV (each note within `MAX_CELL`) imported, then its log checked and
    discovered: read, every row. Before, the log was refused (exit code 2): 20 notes of
    900,000 characters were 18,000,000 in all, more than the 16,000,000 a column of few rows
    could hold; 70,000 characters a row, more than the 65,536 a row a column could."""
    source = _notes(tmp_path / "in.csv", rows, note)
    log = tmp_path / "log.parquet"
    result = _import(source, log)
    assert result.exit_code == 0, result.output
    assert f"read {rows:,} = imported {rows:,} + quarantined 0" in result.output
    for command in ("check", "discover"):
        result = CliRunner().invoke(main, [command, str(log), "--out",
                                           str(tmp_path / command)])
        assert result.exit_code in (0, 1), result.output
        assert "error:" not in result.output


def test_a_log_whose_text_compresses_beyond_the_bound_is_written_plain(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid CSV whose 20 notes are one text of 900,000 characters repeated (stored once,
    a dictionary: 18,000,000 bytes of text in 57 KB, 313 times), against a bound of 100
    times a file's size, at least 1,000,000 (scaled down from `MAX_EXPANSION` and
    `MAX_TEXT_FLOOR`, which a CSV of hundreds of MB would pass): the import writes the
    log plain, as large as its text, and check reads it. Before (the same log
    compressed), the tool refused the log it wrote."""
    monkeypatch.setattr(sizes, "MAX_TEXT_FLOOR", 1_000_000)
    monkeypatch.setattr(sizes, "MAX_EXPANSION", 100)
    source = _notes(tmp_path / "in.csv", 20, lambda i: "n" * 900_000)
    log = tmp_path / "log.parquet"
    result = _import(source, log)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(tmp_path / "check")])
    assert result.exit_code in (0, 1), result.output
    assert "error:" not in result.output
    assert log.stat().st_size > 18_000_000



def test_a_log_far_larger_than_its_inputs_is_not_written_plain(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An XES log of one trace of 300 events whose note of 100,000 characters is copied onto
    each event (139 KB: 30,000,000 bytes of text in the log, which compresses beyond the
    bound, scaled down as above): refused, exit code 2, naming the column, nothing written.
    Before, the log was written plain, 30 MB, 216 times its input (a 51 KB Parquet log gave
    one of 900 MB)."""
    monkeypatch.setattr(sizes, "MAX_TEXT_FLOOR", 1_000_000)
    monkeypatch.setattr(sizes, "MAX_EXPANSION", 100)
    events = "".join(
        f'<event><string key="concept:name" value="Refund approved"/><date '
        f'key="time:timestamp" value="2026-07-01T{i % 24:02d}:{i % 60:02d}:00+00:00"/></event>'
        for i in range(300))
    source = tmp_path / "log.xes"
    source.write_text(f'<?xml version="1.0"?><log xes.version="1.0"><trace><string '
                      f'key="concept:name" value="C1"/><string key="note" '
                      f'value="{"n" * 100_000}"/>{events}</trace></log>', encoding="utf-8")
    log = tmp_path / "out.parquet"
    result = _import(source, log)
    assert result.exit_code == 2, result.output
    assert (f"error: {source}: field 'case:note': its log would hold 30,0" in result.output)
    assert "(30,000,000 in this column)" in result.output
    assert "more than the 10 times its inputs" in result.output
    assert not log.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["log.xes"]


def test_a_log_whose_text_is_beyond_the_memory_left_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """300 events of labels of 100,000 characters (30,000,000 bytes of text, within the
    bound against the file's size, written plain) where 20,000,000 bytes of memory are
    left: refused, exit code 2, naming file and column. Before, only the ratio bound
    applied, which has no absolute cap: the values were made Python objects."""
    from audit.ingest import parquet_reader

    source = _log(tmp_path / "log.parquet", 300, 100_000)
    pq.write_table(pq.read_table(source), source, compression="none", use_dictionary=False)
    assert source.stat().st_size > 30_000_000
    monkeypatch.setattr(parquet_reader, "available_memory", lambda: 20_000_000)
    monkeypatch.setattr(parquet_reader, "LEAST_BYTES_PER_ROW", 1)  # (the rows' bound passes)
    result = _import(source, tmp_path / "out.parquet")
    assert result.exit_code == 2, result.output
    assert (f"error: {source}: field 'concept:name': its values hold 30,00") in result.output
    assert "(30,000,000 in this column), whose import needs at least" in result.output
    assert not (tmp_path / "out.parquet").exists()
