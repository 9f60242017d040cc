"""Typed Parquet columns: dictionary text, numeric amounts and datetimes.

A canonical log stored as Parquet holds its labels as dictionary columns, its amounts as
numbers and its times as tz-aware datetimes. The import reads them as they are (no text
written for every row and read back): labels are trimmed and blanks are missing as in a CSV,
amounts keep their value, and only the quarantined rows' values are written as text.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit import canonical as C
from audit.errors import InputError
from audit.ingest import import_sources
from audit.ingest.normalise import BEYOND_EXACT, NOT_WHOLE, beyond_exact

UTC = pa.timestamp("us", tz="UTC")


def _times(count: int) -> list[pd.Timestamp]:
    return [pd.Timestamp("2026-07-01T10:00:00Z") + pd.Timedelta(hours=k) for k in range(count)]


def _dictionary(values: list[str | None]) -> pa.DictionaryArray:
    return pa.array(values, type=pa.string()).dictionary_encode()


def _write(path: Path, columns: dict[str, pa.Array]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def _quarantined(result: object) -> list[tuple[int, str, str, str]]:
    quarantine = result.quarantine  # type: ignore[attr-defined]
    return sorted(zip(quarantine["row"].astype(int), quarantine["field"], quarantine["value"],
                      quarantine["reason"], strict=True))


def test_dictionary_text_is_trimmed_and_blank_is_missing_as_in_a_csv(tmp_path: Path) -> None:
    activities = ["Receive refund request", " Approve refund ", "Execute payout", "  "]
    resources = [" Ana", "Ben ", None, "Ana"]
    parquet = _write(tmp_path / "log.parquet", {
        C.CASE: _dictionary(["C1", "C1", "C1", "C2"]),
        C.ACTIVITY: _dictionary(activities),
        C.TIMESTAMP: pa.array(_times(4), type=UTC),
        C.RESOURCE: _dictionary(resources),
    })
    csv = tmp_path / "log.csv"
    pd.DataFrame({C.CASE: ["C1", "C1", "C1", "C2"], C.ACTIVITY: activities,
                  C.TIMESTAMP: [t.isoformat() for t in _times(4)],
                  C.RESOURCE: resources}).to_csv(csv, index=False)

    typed = import_sources([(parquet, None)])
    text = import_sources([(csv, None)])

    # the ground truth: the same values written as text (a CSV's row counts its header line)
    assert _quarantined(typed) == [(4, C.ACTIVITY, "", "empty value")]
    assert _quarantined(text) == [(5, C.ACTIVITY, "", "empty value")]
    for column in (C.CASE, C.ACTIVITY, C.RESOURCE):
        assert typed.log[column].tolist() == text.log[column].tolist(), column
    assert typed.log[C.ACTIVITY].tolist() == [
        "Receive refund request", "Approve refund", "Execute payout"]
    assert typed.log[C.RESOURCE].tolist()[:2] == ["Ana", "Ben"]
    assert pd.isna(typed.log[C.RESOURCE].iloc[2])


def test_numeric_amounts_keep_their_value_and_bad_ones_are_quarantined(tmp_path: Path) -> None:
    amounts = [12.5, 1e-05, -3.0, math.inf, None, 2e14, 2e16]
    path = _write(tmp_path / "log.parquet", {
        C.CASE: pa.array(["C1"] * 7),
        C.ACTIVITY: pa.array(["Execute payout"] * 7),
        C.TIMESTAMP: pa.array(_times(7), type=UTC),
        C.AMOUNT: pa.array(amounts, type=pa.float64()),
    })
    result = import_sources([(path, None)])

    assert _quarantined(result) == [
        (3, C.AMOUNT, "-3.0", "negative amount (amounts are magnitudes in major units)"),
        (4, C.AMOUNT, "inf", "not a finite number"),
        (7, C.AMOUNT, "2e+16", "amount too large (beyond 10^15 major units)"),
    ]
    kept = result.log.sort_values(C.SOURCE_ROW)
    assert kept[C.SOURCE_ROW].tolist() == [1, 2, 5, 6]
    values = kept[C.AMOUNT].tolist()
    assert values[0] == 12.5 and values[1] == 1e-05 and values[3] == 2e14
    assert math.isnan(values[2])  # missing stays missing
    assert result.files[0].read == result.files[0].imported + result.files[0].quarantined == 7


@pytest.mark.parametrize("kind", [pa.float64(), pa.float32()], ids=["float64", "float32"])
def test_a_nan_amount_is_quarantined_and_a_null_one_is_missing(
        tmp_path: Path, kind: pa.DataType) -> None:
    """A NaN in a Parquet float amount column became "no amount" (to_pandas makes NaN and a
    null one value): imported without an amount and no quarantine line, while a CSV "NaN" and
    an XES NaN are quarantined. It is kept apart from a null and quarantined; a null amount
    stays missing, and another float column's NaN travels along."""
    path = _write(tmp_path / "log.parquet", {
        C.CASE: pa.array(["C1"] * 3),
        C.ACTIVITY: pa.array(["Execute payout"] * 3),
        C.TIMESTAMP: pa.array(_times(3), type=UTC),
        C.AMOUNT: pa.array([1.5, math.nan, None], type=kind),
        "score": pa.array([math.nan, 2.0, None], type=kind),
    })
    result = import_sources([(path, None)])

    assert _quarantined(result) == [(2, C.AMOUNT, "nan", "not a finite number")]
    kept = result.log.sort_values(C.SOURCE_ROW)
    assert kept[C.SOURCE_ROW].tolist() == [1, 3]
    assert kept[C.AMOUNT].iloc[0] == 1.5 and math.isnan(kept[C.AMOUNT].iloc[1])
    score = kept["score"].array
    assert isinstance(score, pd.arrays.FloatingArray)
    assert math.isnan(score[0]) and score[1] is pd.NA


def test_integer_amounts_are_read_as_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.parquet", {
        C.CASE: pa.array(["C1", "C1"]),
        C.ACTIVITY: pa.array(["Approve refund", "Execute payout"]),
        C.TIMESTAMP: pa.array(_times(2), type=UTC),
        C.AMOUNT: pa.array([40, 7], type=pa.int32()),
    })
    result = import_sources([(path, None)])
    assert result.log.sort_values(C.SOURCE_ROW)[C.AMOUNT].tolist() == [40.0, 7.0]
    assert len(result.quarantine) == 0


@pytest.mark.parametrize("encoded", [False, True], ids=["plain", "dictionary"])
def test_whole_number_ids_with_a_null_keep_every_digit(tmp_path: Path, encoded: bool) -> None:
    """A whole-number id column with a null: pandas would hold it as floats, so
    12345678901234567 and ...568 both read "1.2345678901234568e+16" and two cases became
    one, and order 9007199254740993 read "9007199254740992.0". Each id keeps its digits, as
    in a column without a null; a whole-number amount with a null is a number."""
    cases = pa.array([12345678901234567, 12345678901234568, None], type=pa.int64())
    path = _write(tmp_path / "log.parquet", {
        C.CASE: cases.dictionary_encode() if encoded else cases,
        C.ACTIVITY: pa.array(["Approve refund", "Execute payout", "Execute payout"]),
        C.TIMESTAMP: pa.array(_times(3), type=UTC),
        C.ORDER_ID: pa.array([9007199254740993, None, 3], type=pa.uint64()),
        C.AMOUNT: pa.array([40, None, 7], type=pa.int32()),
    })
    result = import_sources([(path, None)])
    log = result.log.sort_values(C.SOURCE_ROW)
    assert log[C.CASE].astype(str).tolist() == ["12345678901234567", "12345678901234568"]
    assert log[C.ORDER_ID].tolist()[0] == "9007199254740993"
    assert pd.isna(log[C.ORDER_ID].tolist()[1])
    assert log[C.AMOUNT].tolist()[0] == 40.0 and math.isnan(log[C.AMOUNT].tolist()[1])
    assert _quarantined(result) == [(3, C.CASE, "", "empty value")]


def test_a_missing_time_is_quarantined_with_an_empty_value(tmp_path: Path) -> None:
    times: list[pd.Timestamp | None] = list(_times(3))
    times[1] = None
    path = _write(tmp_path / "log.parquet", {
        C.CASE: pa.array(["C1"] * 3),
        C.ACTIVITY: pa.array(["Receive refund request", "Approve refund", "Execute payout"]),
        C.TIMESTAMP: pa.array(times, type=UTC),
    })
    result = import_sources([(path, None)])
    assert _quarantined(result) == [(2, C.TIMESTAMP, "", "empty timestamp")]
    assert result.log[C.TIMESTAMP].tolist() == [times[0], times[2]]


def test_naive_times_need_a_zone_and_name_the_first_value(tmp_path: Path) -> None:
    naive = [None, pd.Timestamp("2026-07-01 10:00:00"), pd.Timestamp("2026-07-01 11:30:00")]
    path = _write(tmp_path / "log.parquet", {
        C.CASE: pa.array(["C1"] * 3),
        C.ACTIVITY: pa.array(["Receive refund request", "Approve refund", "Execute payout"]),
        C.TIMESTAMP: pa.array(naive, type=pa.timestamp("us")),
    })
    with pytest.raises(InputError) as caught:
        import_sources([(path, None)])
    assert (caught.value.row, caught.value.field) == (2, C.TIMESTAMP)
    assert "e.g. '2026-07-01 10:00:00'" in caught.value.message

    result = import_sources([(path, None)], assume_tz="Europe/Berlin")
    assert _quarantined(result) == [(1, C.TIMESTAMP, "", "empty timestamp")]
    assert result.log[C.TIMESTAMP].tolist() == [pd.Timestamp("2026-07-01T08:00:00Z"),
                                                 pd.Timestamp("2026-07-01T09:30:00Z")]


@pytest.mark.parametrize("zone", ["UTC", None], ids=["aware", "naive"])
def test_typed_times_outside_the_logs_range_are_quarantined(tmp_path: Path,
                                                            zone: str | None) -> None:
    """Parquet holds a time at its own unit (here ms), which reaches beyond the years
    1678-2261 the log's nanoseconds hold. Such a time is quarantined as the same time in a
    CSV is (before: it passed into the log at ms, and beside a second input the import
    crashed with OutOfBoundsDatetime)."""
    from datetime import UTC as utc
    from datetime import datetime

    aware = zone is not None
    times = [datetime(1500, 1, 1, tzinfo=utc if aware else None),
             datetime(2026, 7, 1, 10, tzinfo=utc if aware else None)]
    path = _write(tmp_path / "log.parquet", {
        C.CASE: pa.array(["C1", "C1"]),
        C.ACTIVITY: pa.array(["Receive refund request", "Approve refund"]),
        C.TIMESTAMP: pa.array(times, type=pa.timestamp("ms", tz=zone)),
    })
    other = tmp_path / "other.csv"
    other.write_text(f"{C.CASE},{C.ACTIVITY},{C.TIMESTAMP}\nC2,Approve refund,"
                     "2026-07-02T10:00:00Z\n", encoding="utf-8")
    result = import_sources([(path, None), (other, None)], assume_tz="UTC")
    assert [(row, field, reason) for row, field, _, reason in _quarantined(result)] == [
        (1, C.TIMESTAMP, "time outside 1677-09-21 00:12:43.145224193 to "
         "2262-04-11 23:47:16.854775807 UTC (the range a timestamp can hold)")]
    assert result.log[C.TIMESTAMP].tolist() == [pd.Timestamp("2026-07-01T10:00:00Z"),
                                                 pd.Timestamp("2026-07-02T10:00:00Z")]
    assert str(result.log[C.TIMESTAMP].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize("zone", ["UTC", None], ids=["aware", "naive"])
def test_typed_times_beyond_pythons_years_are_quarantined_as_written(
        tmp_path: Path, zone: str | None) -> None:
    """A time before year 1 or after 9999 (Parquet's microseconds reach far beyond) has no
    Python datetime: writing it as the quarantine's value raised NotImplementedError, a
    traceback (found by tests/fuzz_imports.py). It is quarantined as any time outside the
    log's range, its value in ISO 8601 as numpy writes it."""
    micros = [-646_000_000_000_000_000, 1782900000000000, 400_000_000_000_000_000]
    path = _write(tmp_path / "log.parquet", {
        C.CASE: pa.array(["C1", "C1", "C1"]),
        C.ACTIVITY: pa.array(["Receive refund request", "Approve refund", "Execute payout"]),
        C.TIMESTAMP: pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz=zone)),
    })
    result = import_sources([(path, None)], assume_tz="UTC")
    suffix = "+00:00" if zone else ""
    assert [(row, field, value) for row, field, value, _ in _quarantined(result)] == [
        (1, C.TIMESTAMP, f"-18501-01-28 03:33:20{suffix}"),
        (3, C.TIMESTAMP, f"14645-06-30 15:06:40{suffix}")]
    assert set(result.quarantine["reason"]) == {
        "time outside 1677-09-21 00:12:43.145224193 to 2262-04-11 23:47:16.854775807 UTC "
        "(the range a timestamp can hold)"}
    assert result.log[C.TIMESTAMP].tolist() == [pd.Timestamp(1782900000000000000, tz="UTC")]


@pytest.mark.parametrize("column", [C.CASE, C.RESOURCE, "evidence:receipt", C.AMOUNT])
def test_a_far_typed_time_read_as_text_is_written_as_numpy_writes_it(
        tmp_path: Path, column: str) -> None:
    """A zone-aware time column read as a text column (a case id, a resource, an evidence
    item, an amount): one beyond Python's years made pandas' text conversion raise
    NotImplementedError, a traceback (found by tests/fuzz_imports.py)."""
    columns = {C.CASE: pa.array(["C1", "C1"]),
               C.ACTIVITY: pa.array(["Receive refund request", "Approve refund"]),
               C.TIMESTAMP: pa.array(["2026-07-01T10:00:00Z", "2026-07-01T11:00:00Z"])}
    columns[column] = pa.array([-646_000_000_000_000_000, 1782900000000000],
                               pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    path = _write(tmp_path / "log.parquet", columns)
    if column == C.AMOUNT:  # (no amount: both quarantined, so the file is refused)
        with pytest.raises(InputError, match="not a plain decimal number") as caught:
            import_sources([(path, None)])
        assert (caught.value.row, caught.value.field) == (1, C.AMOUNT)
        return
    result = import_sources([(path, None)])
    assert result.log[column].astype(str).tolist() == ["-18501-01-28 03:33:20+00:00",
                                                       "2026-07-01 10:00:00+00:00"]


def test_a_nan_outside_the_amount_is_missing_not_the_text_nan(tmp_path: Path) -> None:
    """a9834cc kept every float column's NaN apart (for the amount's sake): a NaN case id
    became the case "nan" and a NaN evidence cell the text "nan" (evidence present: EV001
    silently lost). Only the amount keeps its NaN; elsewhere NaN is missing, as before."""
    path = tmp_path / "nan.parquet"
    stamps = pa.array([1782900000000000, 1782903600000000] * 2, pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({
        "case:concept:name": pa.array([1.0, 1.0, float("nan"), float("nan")]),
        "concept:name": ["a", "b", "a", "b"], "time:timestamp": stamps,
        "ticket:id": pa.array([101.0, float("nan"), 101.0, 101.0]),
        "evidence:photo": pa.array([float("nan")] * 4),
        "refund:amount": pa.array([1.5, float("nan"), None, 2.0])}), path)
    result = import_sources([(path, None)])
    assert sorted(result.quarantine["reason"].unique().tolist()) == [
        "empty value", "not a finite number"]
    log = result.log  # (a whole float read as text is its digits: see below)
    assert log[C.CASE].astype(str).tolist() == ["1"]
    assert log[C.TICKET_ID].astype(object).where(log[C.TICKET_ID].notna()).tolist() == ["101"]
    assert log["evidence:photo"].isna().all()


def test_a_float_id_column_reads_whole_numbers_as_their_digits(tmp_path: Path) -> None:
    """A case id column of floats (a tool wrote the ids 1, 2 as 1.0, 2.0) gave the case ids
    '1.0' and '2.0', which never matched the '1' of another file: a case split in two
    without a word. A whole number is now its digits; a fraction, an infinity or a number
    beyond 2^53 (whose digits a float may not hold) is quarantined naming the row and
    field, its value as the file holds it."""
    floats = tmp_path / "floats.parquet"
    _write(floats, {
        "case": pa.array([1.0, 1.0, 2.0, 2.5, float("inf"), 2.0 ** 60, -0.0]),
        "activity": pa.array(["Approve refund"] * 7),
        "timestamp": pa.array(_times(7), type=UTC),
        C.ORDER_ID: pa.array([7.0, None, 12345678.0, 1.0, 1.0, 1.0, 0.25], type=pa.float32()),
    })
    texts = tmp_path / "texts.csv"
    texts.write_text("case,activity,timestamp\n1,Execute payout,2026-07-02T10:00:00Z\n",
                     encoding="utf-8")
    result = import_sources([(floats, None), (texts, None)])
    log = result.log.sort_values([C.SOURCE_FILE, C.SOURCE_ROW])
    assert log[C.CASE].astype(str).tolist() == ["1", "1", "2", "1"]  # (the CSV's "1" last)
    orders = log[C.ORDER_ID].tolist()
    assert (orders[0], orders[2]) == ("7", "12345678") and pd.isna(orders[1])
    assert _quarantined(result) == [
        (4, "case", "2.5", NOT_WHOLE), (5, "case", "inf", NOT_WHOLE),
        (6, "case", "1.152921504606847e+18", BEYOND_EXACT), (7, C.ORDER_ID, "0.25", NOT_WHOLE)]
    assert (result.files[0].read, result.files[0].imported) == (7, 3)


def test_a_float32_id_beyond_2_24_is_quarantined_not_rounded(tmp_path: Path) -> None:
    """A float32 column holds whole numbers exactly only up to 2^24; it is read as float64,
    so only float64's limit (2^53) was checked: the order ids 123456789, 16777217 and
    100000001 (stored as 123456792, 16777216 and 100000000) were imported as "123456790",
    "16777216" and "100000000", nothing quarantined. Now a float32 (float16) column's whole
    number from 2^24 (2^11) on is quarantined naming the row and field; one below is its
    digits, and a float64 column keeps 2^53 as its limit."""
    ids = [123456789.0, 12345678.0, 16777217.0, 100000001.0, 16777215.0, -16777216.0]
    count = len(ids)
    path = _write(tmp_path / "narrow.parquet", {
        "case": pa.array(["1"] * count), "activity": pa.array(["Approve refund"] * count),
        "timestamp": pa.array(_times(count), type=UTC),
        C.ORDER_ID: pa.array(ids, type=pa.float32()),
        C.TICKET_ID: pa.array(ids, type=pa.float64()),
        C.CHARGE_ID: pa.array([1.0, 2047.0, 2048.0, 2.0, 3.0, 4.0], type=pa.float16()),
    })
    result = import_sources([(path, None)])
    float32, float16 = beyond_exact(32), beyond_exact(16)
    assert "exactly only up to 16,777,216" in float32
    assert _quarantined(result) == [
        (1, C.ORDER_ID, "123456790.0", float32), (3, C.ORDER_ID, "16777216.0", float32),
        (3, C.CHARGE_ID, "2.048e+03", float16), (4, C.ORDER_ID, "100000000.0", float32),
        (6, C.ORDER_ID, "-16777216.0", float32)]
    log = result.log.sort_values(C.SOURCE_ROW)
    assert log[C.SOURCE_ROW].tolist() == [2, 5]
    assert log[C.ORDER_ID].tolist() == ["12345678", "16777215"]
    assert log[C.TICKET_ID].tolist() == ["12345678", "16777215"]
    assert log[C.CHARGE_ID].tolist() == ["2047", "3"]


@pytest.mark.parametrize(("column", "kind"), [
    (pa.array([["Approve refund"], ["Execute payout"]]), "a list"),
    (pa.array([{"name": "Ann"}, {"name": "Bo"}]), "a struct (several named fields)"),
    (pa.array([[("k", "v")], [("k", "w")]], type=pa.map_(pa.string(), pa.string())),
     "a map (keys and values)")], ids=["list", "struct", "map"])
@pytest.mark.parametrize("target", ["activity", "evidence:receipt"])
def test_a_nested_column_read_as_a_field_is_an_input_error(
        tmp_path: Path, column: pa.Array, kind: str, target: str) -> None:
    """A Parquet list, struct or map column that a canonical column is read from was
    written as Python reprs: the activity "['Approve refund']", a resource "{'name':
    'Ann'}". Now the file is refused, naming the column and what reads it; a nested
    column that nothing reads travels along as before."""
    columns = {"case": pa.array(["1", "1"]), "activity": pa.array(["a", "b"]),
               "timestamp": pa.array(_times(2), type=UTC)}
    path = _write(tmp_path / "nested.parquet", {**columns, target: column})
    with pytest.raises(InputError) as caught:
        import_sources([(path, None)])
    error = caught.value
    assert (error.file, error.field, error.row) == (str(path), target, None)
    needs = "concept:name" if target == "activity" else target
    assert error.message.startswith(f"holds {kind} per row (type ")
    assert f"where {needs} needs one value per row" in error.message
    alongside = _write(tmp_path / "alongside.parquet", {**columns, "extra": column})
    assert len(import_sources([(alongside, None)]).log) == 2


def test_float32_amounts_are_the_decimals_they_were_written_as(tmp_path: Path) -> None:
    """A float32 amount column (12.34 EUR stored as float32): widened as a binary value,
    12.34 was 12.340000152587890625 and quarantined as having "more decimals than EUR has"
    while the quarantine showed 12.34; 0.1 was imported as 0.10000000149011612. Now each
    is the float64 of its shortest text; an amount with more decimals than its currency
    still is quarantined, and NaN still is no number."""
    amounts = pa.array([12.34, 0.1, 1000.0, 10.125, float("nan"), None], pa.float32())
    parquet = _write(tmp_path / "f32.parquet", {
        C.CASE: pa.array(["C1"] * 6), C.ACTIVITY: pa.array(["Receive refund request"] * 6),
        C.TIMESTAMP: pa.array(_times(6), pa.timestamp("us", tz="UTC")),
        C.AMOUNT: amounts, C.CURRENCY: pa.array(["EUR", "EUR", "JPY", "EUR", "EUR", "EUR"])})
    result = import_sources([(parquet, None)])
    assert [(row, reason.split(":")[0]) for row, _, _, reason in _quarantined(result)] == [
        (4, "more decimals than EUR has (2)"), (5, "not a finite number")]
    amounts_read = result.log.sort_values(C.SOURCE_ROW)[C.AMOUNT].tolist()
    assert amounts_read[:3] == [12.34, 0.1, 1000.0] and math.isnan(amounts_read[3])


def test_an_unsigned_64_bit_column_with_a_missing_value_is_kept(tmp_path: Path) -> None:
    """A uint64 column with a missing value became Python ints (integer_object_nulls),
    which writing the log took for int64: a value from 2^63 up overflowed, a traceback
    (OverflowError, found by tests/fuzz_imports.py). It is read as pandas' UInt64 and
    written back as uint64, every value kept."""
    from click.testing import CliRunner

    from audit.cli import main

    path = _write(tmp_path / "log.parquet", {
        C.CASE: pa.array(["C1", "C1", "C2"]),
        C.ACTIVITY: pa.array(["Receive refund request", "Approve refund", "Approve refund"]),
        C.TIMESTAMP: pa.array(["2026-07-01T10:00:00Z"] * 3),
        "ledger_entry": pa.array([0, 2**64 - 1, None], pa.uint64()),
    })
    out = tmp_path / "out.parquet"
    done = CliRunner().invoke(main, ["import", str(path), "--out", str(out)])
    assert done.exit_code == 0, (done.output, done.exception)
    written = pq.read_table(out).column("ledger_entry")
    assert written.type == pa.uint64()
    assert sorted(written.to_pylist(), key=str) == [0, 2**64 - 1, None]
