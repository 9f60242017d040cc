"""A Parquet file whose text columns hold bytes that are not UTF-8.

Parquet stores text as bytes and the reader does not check them; pandas' conversion then
failed with a traceback (exit code 1). The file is now refused with the row and the column
of the first such value, exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.errors import InputError
from audit.ingest import import_sources


def _write(path: Path, cases: pa.Array) -> Path:
    table = pa.table({
        C.CASE: cases,
        C.ACTIVITY: pa.array(["Receive refund request", "Approve refund", "Execute payout"]),
        C.TIMESTAMP: pa.array(["2026-07-01T10:00:00Z", "2026-07-01T11:00:00Z",
                               "2026-07-01T12:00:00Z"]),
    })
    pq.write_table(table, path)
    return path


def _not_utf8(values: list[bytes]) -> pa.Array:
    return pa.array(values, type=pa.binary()).view(pa.string())


def test_a_text_that_is_not_utf8_is_refused_with_row_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.parquet", _not_utf8([b"C1", b"C\xff1", b"C1"]))
    with pytest.raises(InputError) as caught:
        import_sources([(path, None)])
    assert (caught.value.row, caught.value.field) == (2, C.CASE)
    assert "UTF8" in caught.value.message or "UTF-8" in caught.value.message


def test_a_dictionary_column_names_the_first_row_using_the_bad_value(tmp_path: Path) -> None:
    dictionary = _not_utf8([b"C1", b"\xed\xa0\x80"])  # an encoded surrogate: not UTF-8
    cases = pa.DictionaryArray.from_arrays(pa.array([0, 0, 1], type=pa.int32()), dictionary)
    path = _write(tmp_path / "log.parquet", cases)
    with pytest.raises(InputError) as caught:
        import_sources([(path, None)])
    assert (caught.value.row, caught.value.field) == (3, C.CASE)


def test_valid_text_imports(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.parquet", pa.array(["C1", "C1", "Ç2"]))
    result = import_sources([(path, None)])
    assert sorted(result.log[C.CASE].astype(str).unique()) == ["C1", "Ç2"]


def test_the_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.parquet", _not_utf8([b"C1", b"C1", b"\xc3("]))
    result = CliRunner().invoke(main, ["import", str(path), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "row 3" in lines[0] and C.CASE in lines[0]


def test_a_binary_column_read_as_text_must_be_utf8(tmp_path: Path) -> None:
    """A column of Parquet's binary type (bytes, no text declared) that a canonical column
    is read from is read as text: pandas decoded its bytes, and one that was not UTF-8
    crashed the import (UnicodeDecodeError, found by tests/fuzz_imports.py). Refused with
    the row and the column, as a text column's bad bytes are."""
    path = _write(tmp_path / "log.parquet",
                  pa.array([b"C1", b"C1", b"C\xff2"], type=pa.binary()))
    with pytest.raises(InputError) as caught:
        import_sources([(path, None)])
    assert (caught.value.row, caught.value.field) == (3, C.CASE)
    assert "UTF-8" in caught.value.message


def test_a_binary_column_of_utf8_imports_as_its_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.parquet",
                  pa.array([b"C1", b"C1", "Ç2".encode()], type=pa.binary()))
    result = import_sources([(path, None)])
    assert sorted(result.log[C.CASE].astype(str).unique()) == ["C1", "Ç2"]


def test_a_binary_column_no_canonical_column_reads_is_no_error(tmp_path: Path) -> None:
    """Bytes of any kind in a column no canonical column is read from (a signature, a
    hash): a valid file, the column passed through as bytes."""
    path = _write(tmp_path / "log.parquet", pa.array(["C1", "C1", "C2"]))
    table = pq.read_table(path).append_column(
        "signature", pa.array([b"\xff\x00", b"\x80", None], type=pa.binary()))
    pq.write_table(table, path)
    result = import_sources([(path, None)])
    assert len(result.log) == 3
    assert result.log["signature"].tolist() == [b"\xff\x00", b"\x80", None]


def test_a_column_whose_type_differs_from_the_pandas_metadata_is_read_as_stored(
        tmp_path: Path) -> None:
    """A file written by pandas keeps each column's pandas dtype in its metadata; a tool
    that rewrites a column with another type (here text made a struct) and keeps the
    metadata made pyarrow's conversion fail (ArrowNotImplementedError: a traceback, found
    by tests/fuzz_imports.py). The columns are read as their Parquet types say."""
    import pandas as pd

    frame = pd.DataFrame({C.CASE: ["C1", "C1", "C2"], C.ACTIVITY: ["a", "b", "a"],
                          C.TIMESTAMP: ["2026-07-01T10:00:00Z"] * 3, "detail": ["x", "y", "z"]})
    path = tmp_path / "log.parquet"
    frame.to_parquet(path, index=False)
    table = pq.read_table(path)
    at = table.column_names.index("detail")
    table = table.set_column(at, "detail", pa.array([{"a": [1]}, {"a": [2]}, None]))
    assert b"pandas" in (table.schema.metadata or {})  # kept: what the conversion reads
    pq.write_table(table, path)
    result = import_sources([(path, None)])
    assert sorted(result.log[C.CASE].astype(str)) == ["C1", "C1", "C2"]
    assert result.log["detail"].tolist() == [{"a": [1]}, {"a": [2]}, None]


def test_a_column_name_given_twice_is_refused_naming_it(tmp_path: Path) -> None:
    """pyarrow's error for it ("Multiple matches for FieldRef.Name(case) in ...") went on
    over a line per column of the schema: the CLI printed a dozen lines, none naming the
    problem plainly (found by tests/fuzz_imports.py)."""
    path = _write(tmp_path / "log.parquet", pa.array(["C1", "C1", "C2"]))
    table = pq.read_table(path)
    pq.write_table(pa.Table.from_arrays([*table.columns, table.column(C.ACTIVITY)],
                                        [*table.column_names, C.ACTIVITY]), path)
    result = CliRunner().invoke(main, ["import", str(path), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"field '{C.ACTIVITY}'" in lines[0] and "appears twice" in lines[0]


def test_a_broken_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.parquet", pa.array(["C1", "C1", "C2"]))
    data = bytearray(path.read_bytes())
    data[4] = 135  # a page header made unreadable: pyarrow's message has two lines
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["import", str(path), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a readable Parquet file" in lines[0], lines


def test_a_column_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    """Parquet stores a column's name as bytes too: one that is not UTF-8 (a damaged
    footer) made pyarrow raise UnicodeDecodeError when the names were read, a traceback
    (found by tests/fuzz_imports.py)."""
    path = _write(tmp_path / "log.parquet", pa.array(["C1", "C1", "C2"]))
    table = pq.read_table(path).append_column("zzé", pa.array(["x", "y", "z"]))
    pq.write_table(table, path)
    data = path.read_bytes()
    assert data.count("zzé".encode()) >= 1
    path.write_bytes(data.replace("zzé".encode(), b"zz\xc3\x28"))  # (é's 2nd byte broken)
    result = CliRunner().invoke(main, ["import", str(path), "--out",
                                       str(tmp_path / "out.parquet")])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "column name" in lines[0] and "UTF-8" in lines[0], lines


def test_a_binary_column_whose_first_values_are_missing_is_checked_too(
        tmp_path: Path) -> None:
    """The check glances at a column's first values for bytes; one whose first few hundred
    are missing is looked at whole."""
    count = 300
    table = pa.table({
        C.CASE: pa.array([None] * (count - 1) + [b"C\xff"], type=pa.binary()),
        C.ACTIVITY: pa.array(["Approve refund"] * count),
        C.TIMESTAMP: pa.array(["2026-07-01T10:00:00Z"] * count),
    })
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    with pytest.raises(InputError) as caught:
        import_sources([(path, None)])
    assert (caught.value.row, caught.value.field) == (count, C.CASE)


@pytest.mark.parametrize("damaged", [b"\x85{}", b"{not json"], ids=["not utf8", "not json"])
def test_damaged_pandas_metadata_is_read_past(tmp_path: Path, damaged: bytes) -> None:
    """The pandas metadata a file written by pandas keeps (JSON in the footer) is read by
    pyarrow's conversion even where it is not followed: damaged, it raised
    UnicodeDecodeError or a JSON error, a traceback (found by tests/fuzz_imports.py). The
    file is read by its Parquet types, as where the metadata does not fit its columns."""
    import pandas as pd

    path = tmp_path / "log.parquet"
    pd.DataFrame({C.CASE: ["C1", "C2"], C.ACTIVITY: ["a", "b"],
                  C.TIMESTAMP: ["2026-07-01T10:00:00Z"] * 2}).to_parquet(path, index=False)
    table = pq.read_table(path)
    assert b"pandas" in (table.schema.metadata or {})
    pq.write_table(table.replace_schema_metadata({b"pandas": damaged}), path)
    result = import_sources([(path, None)])
    assert sorted(result.log[C.CASE].astype(str)) == ["C1", "C2"]
