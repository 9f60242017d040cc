"""The columnar CSV fast path reads exactly what the csv module path reads.

Every case runs the import twice, with the fast path on and off (`csv_reader.FAST_PATH`), and
compares the canonical log (values and dtypes, after event ids), the quarantine, the counts,
the notes, or the error (message, row, field). Crafted files check that the fast path is taken
where it should be and left where it must be.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.errors import InputError
from audit.ingest import (
    ImportResult,
    _hex_ids,
    _time_text,
    csv_reader,
    detect_format,
    import_sources,
)
from audit.ingest.csv_reader import RaggedRow
from audit.ingest.raw import RawTable
from audit.ingest.timestamps import _AWARE, _has_zone, _iso_by_arrow, parse_timestamps

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "pm4py-tests"
CSV_FILES = sorted(
    [*(ROOT / "tests" / "data").rglob("*.csv"), *(ROOT / "sample_logs").rglob("*.csv"),
     *(SHARED.glob("*.csv") if SHARED.is_dir() else [])])

HEADER = "case_id,activity,timestamp,resource,amount,currency,note"


@pytest.fixture
def fast_used(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Records, per CSV read, whether the fast path produced the table."""
    used: list[bool] = []
    real = csv_reader._read_fast

    def spy(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        used.append(result is not None)
        return result

    monkeypatch.setattr(csv_reader, "_read_fast", spy)
    yield used


def _outcome(sources: list[tuple[Path, str | None]], fast: bool,
             **kwargs: object) -> ImportResult | InputError:
    saved = csv_reader.FAST_PATH
    csv_reader.FAST_PATH = fast
    try:
        return import_sources(sources, **kwargs)  # type: ignore[arg-type]
    except InputError as exc:
        return exc
    finally:
        csv_reader.FAST_PATH = saved


def assert_same_import(path: Path, fmt: str | None = None, **kwargs: object) -> None:
    sources = [(path, fmt)]
    fast = _outcome(sources, True, **kwargs)
    slow = _outcome(sources, False, **kwargs)
    if isinstance(slow, InputError):
        assert isinstance(fast, InputError), f"{path.name}: slow path raised {slow}"
        assert (fast.message, fast.row, fast.field, fast.file) == (
            slow.message, slow.row, slow.field, slow.file)
        return
    assert isinstance(fast, ImportResult), f"{path.name}: fast path raised {fast}"
    pd.testing.assert_frame_equal(fast.log, slow.log, check_exact=True)
    assert list(fast.log.dtypes) == list(slow.log.dtypes)
    pd.testing.assert_frame_equal(fast.quarantine, slow.quarantine, check_exact=True)
    assert list(fast.quarantine.dtypes) == list(slow.quarantine.dtypes)
    assert fast.files == slow.files
    assert fast.notes == slow.notes


def assert_same_read(path: Path, **kwargs: object) -> None:
    """read_csv as the source adapters call it (object columns)."""
    outcomes: list[tuple[RawTable, list[RaggedRow]] | InputError] = []
    for fast in (True, False):
        csv_reader.FAST_PATH = fast
        try:
            outcomes.append(csv_reader.read_csv(path, **kwargs))  # type: ignore[arg-type]
        except InputError as exc:
            outcomes.append(exc)
        finally:
            csv_reader.FAST_PATH = True
    fast_out, slow_out = outcomes
    if isinstance(slow_out, InputError):
        assert isinstance(fast_out, InputError)
        assert str(fast_out) == str(slow_out)
        return
    assert not isinstance(fast_out, InputError)
    (fast_table, fast_ragged), (slow_table, slow_ragged) = fast_out, slow_out
    pd.testing.assert_frame_equal(fast_table.frame, slow_table.frame, check_exact=True)
    assert list(fast_table.frame.dtypes) == list(slow_table.frame.dtypes)
    assert fast_table.rows.tolist() == slow_table.rows.tolist()
    assert fast_ragged == slow_ragged
    assert (fast_table.notes, fast_table.records_read) == (slow_table.notes,
                                                           slow_table.records_read)


@pytest.mark.parametrize("path", CSV_FILES, ids=lambda p: p.name)
def test_every_csv_in_the_tests_reads_the_same(path: Path) -> None:
    assert_same_read(path)
    try:
        fmt = detect_format(path)
    except InputError:
        return
    if fmt == "roles":
        return
    assert_same_import(path, assume_tz="Europe/Berlin" if fmt in ("servicenow", "paypal",
                                                                   "adyen") else None)
    assert_same_import(path, assume_tz="UTC")


def test_the_bundled_sample_takes_the_fast_path(fast_used: list[bool]) -> None:
    sample = ROOT / "sample_logs" / "refund-sample" / "canonical.csv"
    assert_same_import(sample)
    assert fast_used[0] is True


def test_a_generated_sample_reads_the_same(tmp_path: Path, fast_used: list[bool]) -> None:
    from audit.sample import SampleSpec, write_sample

    write_sample(SampleSpec("all", 60, 11, 0.2), tmp_path)
    assert_same_import(tmp_path / "canonical.csv")
    assert fast_used[0] is True
    for export in sorted((tmp_path / "exports").glob("*.csv")):
        assert_same_read(export)


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


GOOD = [
    "C1,Receive request,2024-03-01T10:00:00+01:00,ann,10.50,EUR,ok",
    "C1,Approve,2024-03-01T11:00:00Z,bob,,,",
    "C2,Receive request,2024-03-02 09:15:00 UTC,ann,7,usd,",
]


@pytest.mark.parametrize("rows, fast", [
    (GOOD, True),
    # bad rows go to the quarantine with the same row numbers
    ([*GOOD, "C3,Approve,not a time,bob,,,", ",Approve,2024-03-03T10:00:00Z,bob,,,",
      "C4,,2024-03-03T10:00:00Z,bob,-5,XXX,"], True),
    # cells that look like formulas stay text
    ([*GOOD, "C5,=HYPERLINK(\"http://x\"),2024-03-03T10:00:00Z,+cmd|' /C calc'!A0,1,EUR,"
      "@SUM(A1:A2)", 'C6,-2+3,2024-03-03T10:00:00Z,=1+1,2,EUR,"=CMD()"'], True),
    # blank lines still count as rows
    ([*GOOD[:1], "", "", *GOOD[1:], ""], True),
    # quoted cells with delimiters, doubled quotes, spaces
    ([*GOOD, '"C7","Pay, partly",2024-03-03T10:00:00Z," ann ","1.5",EUR,"say ""hi"""'], True),
    # quotes the csv module reads its own way: a stray quote inside a cell, text after quotes
    ([*GOOD, 'C8,5" screen,2024-03-03T10:00:00Z,ann,1,EUR,x',
      'C9,"a"b,2024-03-03T10:00:00Z,ann,1,EUR,"q" r'], None),
    # a quoted cell spanning lines: the csv module path
    ([*GOOD, 'C10,Approve,2024-03-03T10:00:00Z,ann,1,EUR,"two\nlines"', *GOOD], False),
    # a ragged row: the csv module path, which quarantines it
    ([*GOOD, "C11,Approve,2024-03-03T10:00:00Z", *GOOD], False),
    # a line of spaces (no record for the csv module)
    ([*GOOD, "   ", *GOOD], False),
    # a quote left open until the end of the file
    ([*GOOD, 'C12,"Approve,2024-03-03T10:00:00Z,ann,1,EUR,x'], False),
])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_crafted_files_read_the_same(tmp_path: Path, fast_used: list[bool], rows: list[str],
                                     fast: bool | None, newline: str) -> None:
    path = _write(tmp_path, "log.csv", newline.join([HEADER, *rows]) + newline)
    assert_same_import(path)
    assert_same_read(path)
    if fast is not None:
        assert fast_used[0] is fast


def test_naive_times_need_a_zone_on_both_paths(tmp_path: Path, fast_used: list[bool]) -> None:
    path = _write(tmp_path, "naive.csv", "\n".join(
        [HEADER, "C1,Receive,2024-03-31 02:30:00,ann,1,EUR,", "C1,Approve,2024-03-31 "
         "03:30:00,bob,1,EUR,", "C2,Receive,2024-10-27 02:30:00,ann,1,EUR,"]) + "\n")
    assert_same_import(path)
    assert_same_import(path, assume_tz="Europe/Berlin")  # a gap and a fold: quarantined
    assert_same_import(path, assume_tz="UTC")
    assert fast_used[0] is True
    csv_reader.FAST_PATH = True
    with pytest.raises(InputError) as caught:
        import_sources([(path, None)])
    assert caught.value.row == 2 and caught.value.field == "timestamp"


@pytest.mark.parametrize("encoding, bom, fast", [
    ("utf-8", b"", True), ("utf-8", b"\xef\xbb\xbf", True), ("gb18030", b"", False),
    ("utf-16", b"", False),
])
def test_encodings(tmp_path: Path, fast_used: list[bool], encoding: str, bom: bytes,
                   fast: bool) -> None:
    text = "\n".join([HEADER, "C1,收到退款申请,2024-03-01T10:00:00Z,张伟,1,CNY,备注",
                      "C1,批准,2024-03-01T11:00:00Z,李娜,1,CNY,"]) + "\n"
    path = tmp_path / "zh.csv"
    path.write_bytes(bom + text.encode(encoding))
    assert_same_import(path)
    assert fast_used[0] is fast
    for given in ("utf-8", "UTF8", "gb18030", "latin-1"):
        assert_same_import(path, encoding=given)


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiters(tmp_path: Path, fast_used: list[bool], sep: str) -> None:
    rows = [line.replace(",", sep) for line in [HEADER, *GOOD]]
    path = _write(tmp_path, "log.txt", "\n".join(rows) + "\n")
    assert_same_import(path)
    assert fast_used[0] is True


def test_header_problems_read_the_same(tmp_path: Path) -> None:
    twice = _write(tmp_path, "twice.csv", "case_id,activity,timestamp,case_id\nC1,a,"
                   "2024-01-01T00:00:00Z,x\n")
    assert_same_import(twice)
    unnamed = _write(tmp_path, "unnamed.csv", "case_id,activity,timestamp,, extra \nC1,a,"
                     "2024-01-01T00:00:00Z,x,y\n")
    assert_same_import(unnamed)
    assert_same_read(unnamed)


def test_a_cell_over_the_csv_field_limit_is_read(tmp_path: Path,
                                                 fast_used: list[bool]) -> None:
    """One cell over the csv module's 131,072 characters aborted the whole file ("field
    larger than field limit"; the fast path left such files to it). Now the limit is
    raised to the file's size while it is read (and set back), so the record is imported,
    by either reader, quoted over two lines (the csv module path) or not."""
    import csv

    limit = csv.field_size_limit()
    path = _write(tmp_path, "huge.csv", "\n".join(
        [HEADER, *GOOD, "C9,a,2024-01-01T00:00:00Z,x,1,EUR," + "y" * 200_000]) + "\n")
    assert_same_import(path)
    assert fast_used[0] is True
    quoted = _write(tmp_path, "quoted.csv", "\n".join(
        [HEADER, *GOOD, 'C9,a,2024-01-01T00:00:00Z,x,1,EUR,"' + "y" * 200_000 + '\nz"']) + "\n")
    assert_same_import(quoted)
    result = import_sources([(quoted, None)])
    notes = result.log.set_index("case:concept:name")["note"]
    assert len(notes["C9"]) == 200_002 and csv.field_size_limit() == limit


def test_provenance_of_a_canonical_log_survives(tmp_path: Path) -> None:
    first = import_sources([(ROOT / "sample_logs" / "refund-sample" / "canonical.csv", None)])
    again = tmp_path / "again.csv"
    first.log.to_csv(again, index=False)
    assert_same_import(again)


def test_event_id_helpers_match_the_row_by_row_versions() -> None:
    rng = np.random.default_rng(7)
    hashed = np.concatenate([rng.integers(0, 2**63, 1000, dtype=np.uint64) * 2,
                             np.array([0, 1, 2**64 - 1], dtype=np.uint64)])
    expected = pd.Series([f"e{h:016x}" for h in hashed], dtype="string")
    pd.testing.assert_series_equal(pd.Series(_hex_ids(hashed)), expected)
    stamps = pd.Series(["2024-03-01T10:00:00.123456789Z", None, "1969-12-31T23:59:59.9999995Z",
                        "2262-04-11T00:00:00Z", "1677-09-22T00:00:00Z"], index=[5, 3, 9, 1, 0])
    times = pd.to_datetime(stamps, utc=True, format="ISO8601")
    expected_times = times.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").astype("string")
    pd.testing.assert_series_equal(_time_text(times), expected_times)
    micro = pd.to_datetime(pd.Series(["0999-01-01T00:00:00", "2024-01-01T00:00:00"]),
                           format="ISO8601")
    micro = micro.dt.tz_localize("UTC")
    pd.testing.assert_series_equal(
        _time_text(micro), micro.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").astype("string"))


@pytest.mark.parametrize("value", [
    "2024-01-01T10:00Z", "2024-01-01T10:00:00+02:00", "2024-01-01 10:00:00 UTC",
    "10:00\x0bZ", "10:00\x1cGMT", "10:00Z\n", "10:00Z\n\n", "10:00 z", "10:00:00,5+0200",
    "10:00:00.5 +02", "10:00 CET", "10:00", "", "Z", "1:00+1", "10:00\u00a0Z", "١٠:٠٠Z",
    "20200101T100000Z", "20200101T1000+0200", "2020-01-01T10Z", "20200101T100000,5-05",
    "20200101T10", "2020-01-01", "T١٠Z",
])
def test_time_zone_detection_matches_python_re(value: str) -> None:
    for storage in ("pyarrow", "python"):
        text = pd.Series([value, "2024-01-01T10:00Z", None], dtype=pd.StringDtype(storage))
        expected = [bool(re.search(_AWARE, v)) if isinstance(v, str) else False for v in text]
        assert _has_zone(text).tolist() == expected


def _iso_texts(seed: int, count: int) -> list[str]:
    """Random ISO 8601 times with an offset or Z: fractions of 0-9 digits, 'T' or ' ',
    offsets from -12:59 to +14:59, days that do and do not exist, years around the edges of
    the nanosecond range (1677-09-21 to 2262-04-11)."""
    import random

    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        year = rng.choice([1677, 1678, 1970, 1999, 2024, 2026, 2261, 2262, 2300, 1000])
        month, day = rng.randint(1, 12), rng.choice([1, 9, 28, 29, 30, 31, 11, 21])
        hour, minute, second = rng.randint(0, 24), rng.randint(0, 59), rng.randint(0, 60)
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 9)))
        zone = rng.choice(["Z", "+00:00", "-00:00", "+02:00", "-05:30", "+14:00", "-12:59"])
        texts.append(f"{year:04d}-{month:02d}-{day:02d}{rng.choice('T ')}{hour:02d}:"
                     f"{minute:02d}:{second:02d}{'.' + fraction if fraction else ''}{zone}")
    return texts


@pytest.mark.parametrize("seed", range(6))
def test_iso_times_read_by_arrow_as_by_pandas(seed: int) -> None:
    """Where every value is ISO 8601 with an offset, Arrow's cast reads the column (the
    adapters write such times), with the same times as pandas' ISO 8601 reading; a column
    with one value Arrow refuses (a day or hour that does not exist, a time outside the
    nanosecond range) is read by pandas, value by value, with its usual reasons."""
    kwargs = {"rows": np.arange(2, 302), "file": Path("x.csv"), "column": "time"}
    texts = _iso_texts(seed, 300)
    arrow = pd.Series(texts, dtype=pd.StringDtype("pyarrow"))
    slow = parse_timestamps(pd.Series(texts, dtype=object), **kwargs)
    got = parse_timestamps(arrow, **kwargs)
    pd.testing.assert_series_equal(got.values, slow.values)
    pd.testing.assert_series_equal(got.bad, slow.bad)
    pd.testing.assert_series_equal(got.reasons, slow.reasons)
    assert slow.bad.any()  # some day, hour or year above is refused, so pandas decided
    assert _iso_by_arrow(arrow) is None
    good = [t for t, bad in zip(texts, slow.bad, strict=True) if not bad]
    index = range(5, 5 + len(good))
    fast = _iso_by_arrow(pd.Series(good, dtype=pd.StringDtype("pyarrow"), index=index))
    assert fast is not None
    expected = parse_timestamps(pd.Series(good, dtype=object, index=index),
                                **{**kwargs, "rows": np.arange(len(good))})
    assert fast.values.dtype == "datetime64[ns, UTC]"
    pd.testing.assert_series_equal(fast.values, expected.values)
    assert not fast.bad.any() and (fast.reasons == "").all()


@pytest.mark.parametrize("value", [
    "2024-01-01T10:00:00", "2024-01-01T10:00Z", " 2024-01-01T10:00:00Z",
    "2024-01-01T10:00:00+0200",
    "2024-01-01T10:00:00,5Z", "2024-01-01T10:00:00.1234567890Z", "2024-01-01T10:00:00 UTC",
    "2024-02-30T10:00:00Z", "2024-01-01T10:00:00z", "２０２４-01-01T10:00:00Z", None,
])
def test_iso_times_of_another_shape_left_to_pandas(value: str | None) -> None:
    """One value of another shape (or missing) and the whole column is read as before."""
    kwargs = {"rows": np.arange(2, 4), "file": Path("x.csv"), "column": "time",
              "assume_tz": "UTC"}
    column = ["2024-01-01T10:00:00Z", value]
    arrow = pd.Series(column, dtype=pd.StringDtype("pyarrow"))
    assert _iso_by_arrow(arrow) is None
    got = parse_timestamps(arrow, **kwargs)
    slow = parse_timestamps(pd.Series(column, dtype=object), **kwargs)
    pd.testing.assert_series_equal(got.values, slow.values)
    pd.testing.assert_series_equal(got.reasons, slow.reasons)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_quoting_reads_the_same(tmp_path: Path, seed: int) -> None:
    """Random cells of quotes, delimiters, spaces and odd line breaks, both line ends."""
    import random

    rng = random.Random(seed)
    atoms = ["a", " ", '"', ",", "é", '""', "\t", "1", "\x0b", "\u2028", "\x85", "\x1c", "\xa0",
             "\n", "\r\n"]
    path = tmp_path / "random.csv"
    for _ in range(150):
        lines = ["h1,h2,h3"]
        for _ in range(rng.randint(1, 5)):
            cells = []
            for _ in range(rng.choice([3, 3, 3, 3, 2])):
                cell = "".join(rng.choice(atoms[: 13 if rng.random() < 0.8 else 15])
                               for _ in range(rng.randint(0, 4)))
                if rng.random() < 0.3:
                    cell = '"' + cell.replace('"', '""') + '"'
                cells.append(cell)
            lines.append(",".join(cells))
        path.write_bytes((rng.choice(["\n", "\r\n"]).join(lines)
                          + rng.choice(["", "\n"])).encode())
        assert_same_read(path, delimiter=",")


def test_plain_amounts_parse_as_python_floats_whatever_the_storage(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    normalise = importlib.import_module("audit.ingest.normalise")  # the module, not the function
    plain = ["+5", "5.", ".5", "-0", "-.5", "00012.50", "1" * 40, "0." + "1" * 400, "2.675",
             "1.005", "0.30000000000000004", "9007199254740993", None]
    odd = ["\u0663", "\uff15"]  # non-ASCII digits: Arrow refuses them, pandas' way decides
    for texts in (plain, plain + odd):
        for storage in ("pyarrow", "python"):
            text = pd.Series(texts, dtype=pd.StringDtype(storage), index=range(5, 5 + len(texts)),
                             name="a")
            expected = pd.to_numeric(text, errors="coerce").astype("float64")
            with monkeypatch.context() as patched:
                if storage == "pyarrow" and texts is plain:  # Arrow's cast alone
                    patched.setattr(normalise.pd, "to_numeric", None)
                got = normalise._numbers(text)
            pd.testing.assert_series_equal(got, expected)
            assert got.tolist()[:len(plain) - 1] == [float(t) for t in plain[:-1]]


def test_text_looks_for_blanks_to_strip_a_block_at_a_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`_text` looks at Arrow texts a block at a time for anything to strip: a blank to
    strip in the last block only is stripped (the whole column then), and a column with
    nothing to strip keeps its texts' buffer, not a copy."""
    import importlib

    import pyarrow as pa

    normalise = importlib.import_module("audit.ingest.normalise")  # the module, not the function
    monkeypatch.setattr(normalise, "_TRIM_BLOCK", 2)
    words = ["a", "b", "c", "d", "e"]
    for last in ("f ", "\u3000f", ""):
        text = pd.Series([*words, last], dtype="string[pyarrow]")
        stripped = text.str.strip()
        pd.testing.assert_series_equal(normalise._text(text), stripped.mask(stripped.eq("")))
    plain = pd.Series([*words, "f"], dtype="string[pyarrow]")
    kept = normalise._text(plain)
    pd.testing.assert_series_equal(kept, plain)

    def data(values: pd.Series) -> int:
        array = pa.chunked_array(values.array.__arrow_array__()).chunk(0)
        return int(array.buffers()[2].address)

    assert data(kept) == data(plain)


def test_normalise_helpers_match_pandas() -> None:
    from audit.canonical import sorted_frame as _sorted
    from audit.ingest.normalise import _row_numbers, _text

    for storage in ("pyarrow", "python"):
        text = pd.Series([" a ", "", "b", None, "\u3000c\x1c", "d"], dtype=pd.StringDtype(storage),
                         index=[4, 2, 0, 1, 3, 9], name="x")
        stripped = text.astype("string").str.strip()
        pd.testing.assert_series_equal(_text(text), stripped.mask(stripped.eq("")))
        plain = text.fillna("p").astype("string").str.strip().replace("", "q")
        pd.testing.assert_series_equal(_text(plain), plain)
    for values in (["12", "0012", "-3"], ["+12", " 7", "1_0"]):
        rows = pd.Series(values, dtype="str", name="source:row")
        pd.testing.assert_series_equal(_row_numbers(rows), rows.astype("int64"))
    with pytest.raises(ValueError):
        _row_numbers(pd.Series(["1", "x"], dtype="str"))
    frame = pd.DataFrame({
        "k": pd.Series(["b", "a", None, "a", "b"], dtype="string"),
        "t": [3.0, 1.0, 2.0, np.nan, 1.0],
        "v": pd.Series(["1", "2", "3", "4", "5"], dtype="str"),
        "o": [object(), 1, "x", None, 2.5],
    }, index=[10, 11, 12, 13, 14])
    expected = frame.sort_values(["k", "t"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(_sorted([frame.copy()], ["k", "t"]), expected)
    ordered = expected.copy()
    pd.testing.assert_frame_equal(_sorted([ordered], ["k", "t"]), expected)


@pytest.mark.parametrize("categories", [
    ["a", "b", "c"],  # sorted, distinct, nothing to strip: the codes kept as they are
    [" a", "b", "c "],  # stripped, still ascending: the codes kept, the texts stripped
    ["c", "a", "b"],  # unsorted: renumbered
    ["a", " a", "b"],  # two that strip to one text: one category
    ["", "a", "b"],  # a blank: missing
])
def test_a_coded_column_is_its_stripped_texts_sorted(categories: list[str]) -> None:
    """`_text(coded=True)` of a categorical: the texts each event's category strips to
    (blank: missing), as a categorical whose categories are distinct and sorted by code
    point, as `compact` codes a column. Where the categories strip to distinct, sorted,
    non-blank texts (a coded column of a log `import` wrote), the codes are the input's,
    not a copy of them."""
    from audit import canonical as C
    from audit.ingest.normalise import _text

    codes = np.array([2, 0, -1, 1, 1, 0, 2], dtype=np.int8)
    series = pd.Series(pd.Categorical.from_codes(codes, categories=categories), name="x")
    got = _text(series, coded=True)
    want = [None if pd.isna(v) or not str(v).strip() else str(v).strip()
            for v in series.astype(object)]
    assert [None if pd.isna(v) else v for v in got.astype(object)] == want
    texts = [str(t) for t in got.cat.categories]
    assert texts == sorted(set(texts)) and "" not in texts
    assert C.ascending_text(got.cat.categories)
    kept = np.shares_memory(got.array.codes, series.array.codes)
    assert kept == (categories in (["a", "b", "c"], [" a", "b", "c "]))


@pytest.mark.parametrize("lead, crlf", [("\n\n", False), ("  \r\n\r\n", True)])
def test_blank_lines_before_the_header_are_skipped_and_counted(
        tmp_path: Path, fast_used: list[bool], lead: str, crlf: bool) -> None:
    """A blank first line was taken as the header: every record "7 fields where the header
    has 0" (the csv module path) and the file refused. Now blank lines before the header
    are skipped, and counted as rows as a spreadsheet shows them, by both readers."""
    end = "\r\n" if crlf else "\n"
    plain = _write(tmp_path, "plain.csv", lead + end.join([HEADER, *GOOD]) + end)
    assert_same_import(plain)
    assert fast_used[0] is True
    assert sorted(import_sources([(plain, None)]).log["source:row"].tolist()) == [4, 5]
    path = _write(tmp_path, "lead.csv", lead + end.join(
        [HEADER, *GOOD, "C3,x,2024-03-02T09:00:00Z"]) + end)
    assert_same_import(path)
    assert_same_read(path)
    result = import_sources([(path, None)])
    assert sorted(result.log["source:row"].tolist()) == [4, 5]
    assert result.quarantine[["row", "field"]].values.tolist() == [
        [6, "timestamp"], [7, "(record)"]]  # (GOOD's last timestamp is no ISO 8601; by row)


def test_an_excel_sep_line_names_the_delimiter(tmp_path: Path, fast_used: list[bool]) -> None:
    """Excel's `sep=;` first line was taken as the header ("3 fields where the header has
    2"). Now it names the delimiter and is no row (Excel shows none: the header is row 1),
    in both readers and in the detection of an export's columns; one naming no single
    character is refused, naming line 1."""
    from audit.sources import detect_system

    rows = [line.replace(",", ";") for line in [HEADER, *GOOD]]
    path = _write(tmp_path, "excel.csv", "sep=;\r\n" + "\r\n".join(rows) + "\r\n")
    assert_same_import(path)
    assert_same_read(path)
    assert fast_used[0] is True
    result = import_sources([(path, None)])
    assert sorted(result.log["source:row"].tolist()) == [2, 3]
    assert result.quarantine["row"].tolist() == [4]
    # A comma named, semicolons within the cells: the named delimiter, not a sniffed one.
    commas = _write(tmp_path, "commas.csv", "sep=,\n" + HEADER + "\n"
                    + "C1;x,a,2024-03-01T10:00:00Z,ann,1,EUR,\n")
    assert_same_read(commas)
    assert import_sources([(commas, None)]).log["case:concept:name"].tolist() == ["C1;x"]
    stripe = _write(tmp_path, "charges.csv", "sep=,\n\nid,amount,currency,created,status\n"
                    "ch_1,5000,eur,2026-05-24 22:41:03,succeeded\n")
    assert detect_system(stripe) == "stripe"
    bad = _write(tmp_path, "bad.csv", "sep=;;\n" + "\n".join(rows) + "\n")
    assert_same_import(bad)
    with pytest.raises(InputError) as caught:
        csv_reader.read_csv(bad)
    assert caught.value.row == 1 and "names no delimiter" in str(caught.value)
