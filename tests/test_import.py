"""Import: the broken-input corpus, the pm4py reference logs, Parquet round trips, stable ids.

Every file in tests/data/broken/ is listed in its README.md with the outcome checked here: an
InputError naming file, row and field, or an import whose quarantine holds exactly the bad rows,
with read = imported + quarantined for every file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit import canonical as C
from audit.errors import InputError
from audit.ingest import ImportResult, import_sources
from audit.ingest.mapping import load_mapping

DATA = Path(__file__).resolve().parent / "data"
BROKEN = DATA / "broken"
MAPPINGS = DATA / "mappings"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

GBK_TEXT = (
    "case_id,activity,timestamp,resource\n"
    "R1,提交退款申请,2024-05-01T09:00:00Z,张伟\n"
    "R1,审批退款,2024-05-01T10:00:00Z,李娜\n"
    "R1,支付退款,2024-05-01T11:00:00Z,王芳\n"
)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


@dataclass(frozen=True)
class Fails:
    """The import stops with an InputError naming these (None: not part of the message)."""

    file: str | None
    row: int | None
    field: str | None
    text: str


@dataclass(frozen=True)
class Imports:
    """The import succeeds with `read` records, exactly `quarantine` (row, field, reason part)."""

    read: int
    quarantine: tuple[tuple[int, str, str], ...] = ()
    check: Callable[[ImportResult], None] | None = None


def _column(result: ImportResult, name: str) -> list[object]:
    return [None if pd.isna(v) else v for v in result.log.sort_values(C.SOURCE_ROW)[name]]


def _check_naive_berlin(result: ImportResult) -> None:
    times = dict(zip(result.log[C.SOURCE_ROW], result.log[C.TIMESTAMP], strict=True))
    assert times == {2: utc("2024-07-01T10:00:00Z"), 5: utc("2024-01-15T07:15:00Z")}


def _check_mixed_offsets(result: ImportResult) -> None:
    assert _column(result, C.TIMESTAMP) == [
        utc("2024-05-01T09:00:00Z"), utc("2024-05-01T10:00:00Z"), utc("2024-05-01T15:00:00Z")]


def _check_duplicate_ids(result: ImportResult) -> None:
    assert _column(result, C.EVENT_ID) == ["ev-1", "ev-2", "ev-3"]
    assert _column(result, C.SOURCE_ROW) == [2, 3, 5]


def _check_comma_decimal(result: ImportResult) -> None:
    assert _column(result, C.AMOUNT) == [1234.5, 99.0]


def _check_currency(result: ImportResult) -> None:
    assert _column(result, C.CURRENCY) == ["EUR", "USD"]


def _check_channel(result: ImportResult) -> None:
    assert _column(result, C.CHANNEL) == ["ecommerce", "subscription"]


def _check_gbk(result: ImportResult) -> None:
    assert (BROKEN / "gbk_chinese_labels.csv").read_bytes() == GBK_TEXT.encode("gbk")
    assert _column(result, C.ACTIVITY) == ["提交退款申请", "审批退款", "支付退款"]
    assert _column(result, C.RESOURCE) == ["张伟", "李娜", "王芳"]
    assert "gbk_chinese_labels.csv: read as gb18030" in result.notes


def _check_bom(result: ImportResult) -> None:
    assert not [c for c in result.log.columns if "\ufeff" in c]
    assert _column(result, C.CASE) == ["R1", "R1"]
    assert _column(result, C.ACTIVITY) == ["request refund", "approve refund"]


def _check_semicolon(result: ImportResult) -> None:
    assert _column(result, C.ACTIVITY) == ["request refund", "approve refund, urgent"]
    assert _column(result, C.RESOURCE) == ["alice", "bob"]


def _check_tab(result: ImportResult) -> None:
    assert _column(result, C.ACTIVITY) == ["request refund", "approve refund; urgent"]
    assert _column(result, C.RESOURCE) == ["alice", "bob"]


def _check_formula(result: ImportResult) -> None:
    assert _column(result, C.ACTIVITY) == [
        '=HYPERLINK("http://evil.example","click")', "approve refund"]
    assert _column(result, C.RESOURCE) == ["alice", "+bob"]
    assert _column(result, "note") == ["=1+2", "@SUM(A1)"]


def _check_evidence(result: ImportResult) -> None:
    assert _column(result, "evidence:receipt") == ["scan-001.pdf", None]
    assert "Receipt scan" not in result.log.columns


def _check_blank_lines(result: ImportResult) -> None:
    assert _column(result, C.SOURCE_ROW) == [2, 6]


DST_SKIPPED = ("not a valid local time in Europe/Berlin: 2024-03-31 02:30:00 does not exist "
               "there (the clocks went forward past it)")
DST_TWICE = ("not a valid local time in Europe/Berlin: 2024-10-27 02:30:00 occurs twice there "
             "(the clocks went back over it; write it with its offset to say which)")
NOT_PLAIN = "not a plain decimal number"

CASES: list[tuple[str, dict[str, str], Fails | Imports]] = [
    # (input file, options, expected outcome)
    ("unknown_type.foo", {}, Fails("unknown_type.foo", None, None, "unknown file type '.foo'")),
    ("empty.csv", {}, Fails("empty.csv", None, None, "the file is empty")),
    ("whitespace_only.csv", {}, Fails("whitespace_only.csv", None, None, "the file is empty")),
    ("header_only.csv", {}, Fails("header_only.csv", None, None, "only a header")),
    ("missing_timestamp_column.csv", {},
     Fails("missing_timestamp_column.csv", None, C.TIMESTAMP, "no column for 'time:timestamp'")),
    ("bad_timestamp_one_row.csv", {},
     Imports(3, ((3, "timestamp", "not a timestamp in ISO 8601"),))),
    ("stray_text_in_timestamps.csv", {},
     Imports(3, ((3, "timestamp", "not a timestamp in ISO 8601"),))),
    ("all_timestamps_unparseable.csv", {},
     Fails("all_timestamps_unparseable.csv", 2, "timestamp",
           "no value could be read as a timestamp in ISO 8601, e.g. 'yesterday'")),
    ("naive_timestamps.csv", {},
     Fails("naive_timestamps.csv", 2, "timestamp",
           "timestamps have no time zone, e.g. '2024-07-01 12:00:00'")),
    ("naive_timestamps.csv", {"assume_tz": "Europe/Berlin"},
     Imports(4, ((3, "timestamp", DST_SKIPPED), (4, "timestamp", DST_TWICE)),
             _check_naive_berlin)),
    ("naive_timestamps.csv", {"mapping": "with_assume_tz.yaml"},
     Imports(4, ((3, "timestamp", DST_SKIPPED), (4, "timestamp", DST_TWICE)),
             _check_naive_berlin)),
    ("mixed_offsets.csv", {}, Imports(3, (), _check_mixed_offsets)),
    ("duplicate_event_ids.csv", {},
     Imports(5, ((4, "event_id", "first at duplicate_event_ids.csv row 2"),  # (its column)
                 (6, "event_id", "first at duplicate_event_ids.csv row 3")),
             _check_duplicate_ids)),
    ("ragged_row.csv", {}, Imports(3, ((3, "(record)", "5 fields where the header has 4"),))),
    ("blank_lines.csv", {},
     Imports(3, ((4, "timestamp", "not a timestamp"),), _check_blank_lines)),
    ("empty_case_id.csv", {}, Imports(3, ((3, "case_id", "empty value"),))),
    ("unknown_currency.csv", {},
     Imports(3, ((3, "currency", "unknown currency"),), _check_currency)),
    ("comma_decimal_amount.csv", {},
     Fails("comma_decimal_amount.csv", 2, "amount",
           "no record could be imported: every one of its 2 record(s) is quarantined: "
           f"2 for amount ({NOT_PLAIN}")),
    ("comma_decimal_amount.csv", {"mapping": "comma_decimal.yaml"},
     Imports(2, (), _check_comma_decimal)),
    ("bad_channel.csv", {},
     Imports(3, ((4, "channel", "not one of ecommerce, subscription, offline"),),
             _check_channel)),
    ("undecodable_binary.csv", {},
     Fails("undecodable_binary.csv", 2, None, "encoding cannot be told; pass --encoding")),
    ("utf8_bom_invalid_bytes.csv", {},
     Fails("utf8_bom_invalid_bytes.csv", 3, None, "cannot be decoded as UTF-8")),
    ("gbk_chinese_labels.csv", {}, Imports(3, (), _check_gbk)),
    ("gbk_chinese_labels.csv", {"encoding": "utf-8"},
     Fails("gbk_chinese_labels.csv", 2, None, "cannot be decoded as utf-8")),
    ("utf8_bom.csv", {}, Imports(2, (), _check_bom)),
    # Named UTF-8, the mark is still no part of the first column's name (before: "no
    # column for 'case:concept:name' (found: case:concept:name, ...)").
    ("utf8_bom.csv", {"encoding": "utf-8"}, Imports(2, (), _check_bom)),
    ("utf8_bom.csv", {"encoding": "UTF8"}, Imports(2, (), _check_bom)),
    ("semicolon_delimited.csv", {}, Imports(2, (), _check_semicolon)),
    ("tab_delimited.tsv", {}, Imports(2, (), _check_tab)),
    ("ambiguous_case_columns.csv", {},
     Fails("ambiguous_case_columns.csv", None, C.CASE,
           "columns ['Case ID', 'case_id'] could each be 'case:concept:name'; name one in a "
           "mapping file")),
    ("mixed_offsets.csv", {"mapping": "unknown_key.yaml"},
     Fails("unknown_key.yaml", 4, "delimiter", "unknown key 'delimiter'")),
    ("mixed_offsets.csv", {"mapping": "missing_column.yaml"},
     Fails("mixed_offsets.csv", None, C.CASE, "mapping names column 'Vorgang'")),
    ("mixed_offsets.csv", {"assume_tz": "Mars/Olympus"},
     Fails(None, None, "assume_tz", "unknown time zone 'Mars/Olympus'")),
    ("formula_cell.csv", {}, Imports(2, (), _check_formula)),
    ("evidence_mapped_column.csv", {"mapping": "evidence_column.yaml"},
     Imports(2, (), _check_evidence)),
]


def _case_id(case: tuple[str, dict[str, str], Fails | Imports]) -> str:
    name, options, _ = case
    return "-".join([name, *(f"{k}={v}" for k, v in options.items())])


def _run(name: str, options: dict[str, str]) -> ImportResult:
    mapping = load_mapping(MAPPINGS / options["mapping"]) if "mapping" in options else None
    return import_sources([(BROKEN / name, None)], mapping=mapping,
                          assume_tz=options.get("assume_tz"), encoding=options.get("encoding"))


def test_corpus_is_documented() -> None:
    readme = (BROKEN / "README.md").read_text(encoding="utf-8")
    files = {p.name for p in BROKEN.iterdir() if p.name != "README.md"}
    tested = {name for name, _, _ in CASES}
    assert files == tested, "every corpus file is tested, every tested file is in the corpus"
    assert not [f for f in files if f"`{f}`" not in readme], "README.md lists every file"
    mappings = {p.name for p in MAPPINGS.iterdir()}
    used = {options["mapping"] for _, options, _ in CASES if "mapping" in options}
    assert mappings == used
    assert not [m for m in mappings if f"`{m}`" not in readme]


@pytest.mark.parametrize(("name", "options", "expected"), CASES, ids=[_case_id(c) for c in CASES])
def test_broken_input(name: str, options: dict[str, str], expected: Fails | Imports) -> None:
    if isinstance(expected, Fails):
        with pytest.raises(InputError) as caught:
            _run(name, options)
        message = caught.value.one_line()
        assert str(caught.value) == message
        assert "\n" not in message
        assert caught.value.file is None or expected.file is not None
        if expected.file is not None:
            assert caught.value.file is not None and Path(caught.value.file).name == expected.file
            assert expected.file in message
        assert caught.value.row == expected.row, message
        assert caught.value.field == expected.field, message
        if expected.row is not None:  # (a YAML file's place is a line, a table's a row)
            unit = "line" if expected.file and expected.file.endswith(".yaml") else "row"
            assert caught.value.unit == unit and f": {unit} {expected.row}: " in message
        if expected.field is not None:
            assert f"field '{expected.field}'" in message
        assert expected.text in message
        return

    result = _run(name, options)
    quarantine = result.quarantine
    found = sorted(zip(quarantine["row"].astype(int), quarantine["field"], quarantine["reason"],
                       strict=True))
    assert len(found) == len(expected.quarantine), found
    for (row, field, reason), (want_row, want_field, want_reason) in zip(
            found, sorted(expected.quarantine), strict=True):
        assert (row, field) == (want_row, want_field), found
        assert want_reason in reason, found
    assert set(quarantine["file"]) <= {name}
    # Nothing silently lost: each record is imported or quarantined, never both.
    [counts] = result.files
    assert counts.file == name
    assert counts.read == expected.read
    assert counts.read == counts.imported + counts.quarantined
    assert counts.imported == len(result.log)
    assert counts.quarantined == quarantine["row"].nunique()
    assert not set(result.log[C.SOURCE_ROW]) & set(quarantine["row"].astype(int))
    assert f"read {counts.read} = imported {counts.imported} + quarantined " \
        f"{counts.quarantined}" in result.summary_lines()[0]
    assert C.validate(result.log) == []
    if expected.check is not None:
        expected.check(result)


# --- the pm4py reference logs --------------------------------------------------------------------

def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared test data missing: {path} (expected /work/shared/data next to the "
                    "repository; see the project README)")
    return path


@pytest.mark.parametrize(("name", "cases", "events"), [
    ("running-example.csv", 6, 42),
    ("receipt.csv", 1434, 8577),
])
def test_pm4py_csv_logs(name: str, cases: int, events: int) -> None:
    result = import_sources([(shared("pm4py-tests", name), None)])
    assert len(result.quarantine) == 0
    assert result.log[C.CASE].nunique() == cases
    assert len(result.log) == events
    [counts] = result.files
    assert (counts.read, counts.imported, counts.quarantined) == (events, events, 0)
    assert C.validate(result.log) == []


def test_running_example_times_equal_pm4py() -> None:
    import pm4py

    # pm4py switches to r4pm's XES reader (which needs polars) when r4pm is installed;
    # the Python reader is its reference implementation.
    xes = pm4py.read_xes(str(shared("pm4py-tests", "running-example.xes")), variant="iterparse")
    result = import_sources([(shared("pm4py-tests", "running-example.csv"), None)])
    theirs = sorted(pd.to_datetime(xes["time:timestamp"], utc=True))
    ours = sorted(result.log[C.TIMESTAMP])
    assert len(ours) == len(theirs) == 42
    assert ours == theirs
    as_events = sorted(zip(result.log[C.CASE], result.log[C.ACTIVITY], result.log[C.TIMESTAMP],
                           strict=True))
    assert as_events == sorted(zip(xes["case:concept:name"].astype(str), xes["concept:name"],
                                   pd.to_datetime(xes["time:timestamp"], utc=True), strict=True))


# --- Parquet round trip ---------------------------------------------------------------------------

@pytest.mark.parametrize("sources", [
    [BROKEN / "blank_lines.csv", BROKEN / "duplicate_event_ids.csv", BROKEN / "formula_cell.csv"],
    [SHARED / "pm4py-tests" / "running-example.csv"],
], ids=["corpus", "running-example"])
def test_parquet_round_trip_keeps_rows_ids_and_provenance(
    sources: list[Path], tmp_path: Path
) -> None:
    for source in sources:
        if source.is_relative_to(SHARED):
            shared(*source.relative_to(SHARED).parts)
    first = import_sources([(path, None) for path in sources])
    stored = tmp_path / "log.parquet"
    first.log.to_parquet(stored)
    again = import_sources([(stored, None)])
    assert len(again.quarantine) == 0
    assert again.files[0].read == again.files[0].imported == len(first.log)
    assert C.validate(again.log) == []
    provenance = [C.EVENT_ID, C.SOURCE_SYSTEM, C.SOURCE_FILE, C.SOURCE_ROW]
    pd.testing.assert_frame_equal(
        again.log[provenance].astype(object), first.log[provenance].astype(object))
    assert set(again.log[C.SOURCE_FILE]) == {p.name for p in sources}
    assert list(again.log.columns) == list(first.log.columns)
    for column in C.COLUMNS:
        assert again.log[column].tolist() == first.log[column].tolist() or (
            again.log[column].isna().all() and first.log[column].isna().all()), column


# --- stable event ids -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name", ["mixed_offsets.csv", "formula_cell.csv", "gbk_chinese_labels.csv"])
def test_event_ids_are_stable_and_unique(name: str, tmp_path: Path) -> None:
    renamed = tmp_path / f"renamed-{name}"
    shutil.copyfile(BROKEN / name, renamed)
    ids = [
        import_sources([(path, None)]).log.sort_values(C.SOURCE_ROW)[C.EVENT_ID].tolist()
        for path in (BROKEN / name, BROKEN / name, renamed)
    ]
    assert ids[0] == ids[1] == ids[2]
    assert len(set(ids[0])) == len(ids[0])
    assert all(isinstance(i, str) and i for i in ids[0])


def test_event_ids_of_the_running_example_are_stable_and_unique(tmp_path: Path) -> None:
    source = shared("pm4py-tests", "running-example.csv")
    renamed = tmp_path / "copy.csv"
    shutil.copyfile(source, renamed)
    first = import_sources([(source, None)]).log
    second = import_sources([(renamed, None)]).log
    assert first[C.EVENT_ID].is_unique
    assert first[C.EVENT_ID].tolist() == second[C.EVENT_ID].tolist()


def test_identical_events_get_distinct_ids(tmp_path: Path) -> None:
    """Two identical lines are two events (a repeated action), not a duplicate to drop."""
    path = tmp_path / "twice.csv"
    line = "R1,retry payout,2024-05-01T09:00:00Z,bob\n"
    path.write_text("case_id,activity,timestamp,resource\n" + line + line, encoding="utf-8")
    result = import_sources([(path, None)])
    assert len(result.log) == 2 and len(result.quarantine) == 0
    assert result.log[C.EVENT_ID].is_unique
    again = import_sources([(path, None)])
    assert result.log[C.EVENT_ID].tolist() == again.log[C.EVENT_ID].tolist()


def test_times_beyond_the_timestamp_range_are_quarantined(tmp_path: Path) -> None:
    """Year 9999 or 1000 parse (at a coarser unit) but the log holds nanosecond times: the
    row goes to the quarantine with the reason, the import does not crash."""
    path = tmp_path / "far.csv"
    path.write_text(
        "case:concept:name,concept:name,time:timestamp,org:resource\n"
        "c1,Receive refund request,2026-01-01T10:00:00Z,ann\n"
        "c1,Approve refund,9999-12-31T23:59:59.999-23:59,bob\n"
        "c2,Receive refund request,1000-01-01T00:00:00+01:00,ann\n"
        "c2,Approve refund,3000-01-02 10:00:00,bob\n", encoding="utf-8")
    result = import_sources([(path, None)], assume_tz="Europe/Berlin")
    assert len(result.log) == 1
    reasons = result.quarantine.sort_values("row")
    assert reasons["row"].tolist() == [3, 4, 5]
    assert reasons["reason"].str.contains(
        "outside 1677-09-21 00:12:43.145224193 to 2262-04-11 23:47:16.854775807 UTC").all()


def test_a_negative_zero_amount_is_read_as_zero(tmp_path: Path) -> None:
    """"-0" and "-0.00" (and a typed -0.0 of a Parquet file) are no negative amount, so they
    are imported; before, as -0.0, which every report showed as "-0.00" ("paid 10.00 EUR
    against an approved -0.00")."""
    path = tmp_path / "zero.csv"
    path.write_text(
        "case:concept:name,concept:name,time:timestamp,refund:amount,refund:currency\n"
        "c1,Approve refund,2026-01-01T10:00:00Z,-0,EUR\n"
        "c2,Approve refund,2026-01-01T10:00:00Z,-0.00,EUR\n"
        "c3,Approve refund,2026-01-01T10:00:00Z,0,EUR\n", encoding="utf-8")
    typed = tmp_path / "zero.parquet"
    frame = pd.read_csv(path, dtype={"refund:amount": "float64"})
    assert np.signbit(frame["refund:amount"].to_numpy()).sum() == 2
    frame.to_parquet(typed)
    for source in (path, typed):
        result = import_sources([(source, None)])
        amounts = result.log[C.AMOUNT].to_numpy(dtype=float)
        assert amounts.tolist() == [0.0, 0.0, 0.0] and not np.signbit(amounts).any(), source
        assert result.quarantine.empty


def test_amounts_too_large_for_money_are_quarantined(tmp_path: Path) -> None:
    """400 nines were read as infinity (findings.json held `Infinity`, the XLSX writer
    crashed) and two amounts of 1.7e308 summed to it. (10^15 in JPY: in EUR, 2^53 cents
    are below it, see the test of amounts beyond a float's reach.)"""
    path = tmp_path / "large.csv"
    path.write_text(
        "case:concept:name,concept:name,time:timestamp,refund:amount,refund:currency\n"
        f"c1,Execute payout,2026-01-01T10:00:00Z,{'9' * 400},EUR\n"
        f"c2,Execute payout,2026-01-01T10:00:00Z,{'9' * 309},EUR\n"
        "c3,Execute payout,2026-01-01T10:00:00Z,1000000000000000.00,JPY\n"
        "c4,Execute payout,2026-01-01T10:00:00Z,1000000000000001,JPY\n", encoding="utf-8")
    result = import_sources([(path, None)])
    assert result.log[C.AMOUNT].tolist() == [1e15]
    reasons = result.quarantine.sort_values("row")
    assert reasons["row"].tolist() == [2, 3, 5]
    assert set(reasons["reason"]) == {"amount too large (beyond 10^15 major units)"}


def test_a_time_beyond_the_range_beside_a_long_fraction_is_told_so(tmp_path: Path) -> None:
    """Beside a time with a 12-digit fraction, a year-2263 time was quarantined as "not a
    timestamp in ISO 8601" (without the fraction: "outside the years 1678 to 2261")."""
    path = tmp_path / "far.csv"
    path.write_text(
        "case:concept:name,concept:name,time:timestamp\n"
        "c1,Receive refund request,2026-01-01T00:00:00.123456789123Z\n"
        "c1,Approve refund,2263-01-01T00:00:00Z\n"
        "c1,Approve refund,2263-01-01T00:00:00.123456789012Z\n"
        "c1,Approve refund,1500-01-01T00:00:00Z\n"
        "c1,Execute payout,not a time\n", encoding="utf-8")
    result = import_sources([(path, None)])
    assert len(result.log) == 1
    reasons = result.quarantine.sort_values("row")
    outside = ("time outside 1677-09-21 00:12:43.145224193 to 2262-04-11 23:47:16.854775807 "
               "UTC (the range a timestamp can hold)")
    assert reasons["reason"].tolist() == [outside] * 3 + ["not a timestamp in ISO 8601"]
    # Every value outside: told so, not "set timestamp_format".
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,Approve refund,2263-01-01T00:00:00Z\n", encoding="utf-8")
    with pytest.raises(InputError, match="every value is a time outside 1677-09-21 "
                       r"00:12:43\.145224193 to 2262-04-11 23:47:16\.854775807 UTC"):
        import_sources([(path, None)])


@pytest.mark.parametrize("thousands,decimal,good,bad", [
    (",", ".", ["1,234.50", "1,234,567", "49.99", "12"], ["49,99", "1,5", "12,34.5", ",123"]),
    (".", ",", ["1.234,50", "1.234.567", "49,99"], ["1.5", "12.34,5", "1.23"]),
    (" ", ",", ["1 234,50", "12"], ["1 23,5"]),
])
def test_a_thousands_separator_only_between_groups_of_three(
        tmp_path: Path, thousands: str, decimal: str, good: list[str],
        bad: list[str]) -> None:
    """With `thousands: ","` an amount "49,99" (a decimal comma) read 4999.00, and with
    `thousands: "."` "1.5" read 15: the separator was removed wherever it stood. A value
    whose separator is not between groups of three digits is quarantined."""
    from audit.ingest.mapping import Mapping

    values = good + bad
    path = tmp_path / "amounts.csv"
    path.write_text("case:concept:name;concept:name;time:timestamp;refund:amount\n" + "".join(
        f"c{k};Execute payout;2026-01-01T10:00:00Z;{v}\n" for k, v in enumerate(values)),
        encoding="utf-8")
    result = import_sources([(path, None)], mapping=Mapping(thousands=thousands,
                                                            decimal=decimal))
    expected = [float(v.replace(thousands, "").replace(decimal, ".")) for v in good]
    assert sorted(result.log[C.AMOUNT].tolist()) == sorted(expected)
    assert sorted(result.quarantine["value"].tolist()) == sorted(bad)
    assert result.quarantine["reason"].str.startswith(
        f"the thousands separator {thousands!r} is not between groups of three").all()


@pytest.mark.parametrize("thousands,decimal,good,bad", [
    ("", ",", ["12,50", "1234", "0,5"], ["1.234", "1.234,00", ".5"]),
    (" ", ",", ["1 234,50"], ["1.234", "1 234.5"]),
    ("'", ",", ["1'234,50"], ["1.234"]),
    ("", ".", ["12.50"], ["1,234"]),
])
def test_a_mark_neither_decimal_nor_thousands_is_quarantined(
        tmp_path: Path, thousands: str, decimal: str, good: list[str],
        bad: list[str]) -> None:
    """With `decimal: ","` and no thousands separator "." was still read as a decimal point:
    "1.234" (meaning 1234) imported as 1.234, silently. A value holding the mark that is
    neither the decimal mark nor the thousands separator is quarantined, naming both."""
    from audit.ingest.mapping import Mapping

    path = tmp_path / "amounts.csv"
    path.write_text("case:concept:name;concept:name;time:timestamp;refund:amount\n" + "".join(
        f"c{k};Execute payout;2026-01-01T10:00:00Z;{v}\n" for k, v in enumerate(good + bad)),
        encoding="utf-8")
    result = import_sources([(path, None)], mapping=Mapping(thousands=thousands,
                                                            decimal=decimal))
    expected = [float(v.replace(thousands, "").replace(decimal, ".")) if thousands
                else float(v.replace(decimal, ".")) for v in good]
    assert sorted(result.log[C.AMOUNT].tolist()) == sorted(expected)
    assert sorted(result.quarantine["value"].tolist()) == sorted(bad)
    other = "," if decimal == "." else "."
    separator = (f"the thousands separator {thousands!r}" if thousands
                 else "a thousands separator (none is set)")
    assert (result.quarantine["reason"] == (
        f"not a plain decimal number: {other!r} is neither the decimal mark {decimal!r} "
        f"nor {separator}: set 'decimal'/'thousands' in a mapping file for this "
        "notation")).all()


@pytest.mark.parametrize("mapping", [{}, {"decimal": ",", "thousands": "."}],
                         ids=["default", "decimal comma"])
def test_amounts_in_other_scripts_digits_are_quarantined(
        tmp_path: Path, mapping: dict[str, str]) -> None:
    """Amounts in Arabic-Indic or full-width digits matched the plain-number pattern (``\\d``
    takes any script's digits), Arrow's cast refused them and pandas made them NaN: they
    imported with no amount and no quarantine line. They are quarantined, naming the digit."""
    from audit.ingest.mapping import Mapping

    path = tmp_path / "digits.csv"
    path.write_text("case:concept:name;concept:name;time:timestamp;refund:amount\n"
                    "c1;Execute payout;2026-01-01T10:00:00Z;\u0661\u0662\n"
                    "c2;Execute payout;2026-01-01T10:00:00Z;\uff11\uff12\n"
                    "c3;Execute payout;2026-01-01T10:00:00Z;1\u0662\n"
                    "c4;Execute payout;2026-01-01T10:00:00Z;12\n", encoding="utf-8")
    result = import_sources([(path, None)], mapping=Mapping(**mapping))
    assert result.log[C.AMOUNT].tolist() == [12.0]
    assert result.quarantine[["row", "value", "reason"]].values.tolist() == [
        [2, "\u0661\u0662", "digits other than ASCII 0-9 ('\u0661', ARABIC-INDIC DIGIT ONE): "
         "write amounts with the digits 0-9"],
        [3, "\uff11\uff12", "digits other than ASCII 0-9 ('\uff11', FULLWIDTH DIGIT ONE): "
         "write amounts with the digits 0-9"],
        [4, "1\u0662", "digits other than ASCII 0-9 ('\u0662', ARABIC-INDIC DIGIT TWO): "
         "write amounts with the digits 0-9"]]


def test_a_plain_amount_read_as_nan_is_quarantined(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An amount taken as plain that still came out NaN imported as no amount, silently: it is
    quarantined (a safety net behind the ASCII-only plain-number pattern)."""
    import importlib

    normalise = importlib.import_module("audit.ingest.normalise")

    def nan_for_seven(text: pd.Series) -> pd.Series:
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
        return numbers.mask(numbers.eq(7.0))

    monkeypatch.setattr(normalise, "_numbers", nan_for_seven)
    path = tmp_path / "nan.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp,refund:amount\n"
                    "c1,Execute payout,2026-01-01T10:00:00Z,7\n"
                    "c2,Execute payout,2026-01-01T10:00:00Z,8\n"
                    "c3,Execute payout,2026-01-01T10:00:00Z,\n", encoding="utf-8")
    result = import_sources([(path, None)])
    assert sorted(result.log[C.AMOUNT].fillna(-1).tolist()) == [-1.0, 8.0]
    assert result.quarantine[["row", "value", "reason"]].values.tolist() == [
        [2, "7", "not read as a number"]]


@pytest.mark.parametrize("fmt,suffix", [
    ("%d.%m.%Y %H:%MZ", "Z"), ("%d.%m.%Y %H:%M UTC", " UTC"), ("%d.%m.%Y %H:%M GMT", " GMT"),
    ("%Y-%m-%dT%H:%M:%SZ", ""), ("%d.%m.%Y %H:%M%z", "Z")])
@pytest.mark.parametrize("assume_tz", [None, "Europe/Berlin"])
def test_a_format_with_a_literal_zone_reads_utc(
        tmp_path: Path, fmt: str, suffix: str, assume_tz: str | None) -> None:
    """`timestamp_format: "%d.%m.%Y %H:%MZ"` (a literal Z) was taken for a format without a
    zone: refused for want of --assume-tz while quoting '01.02.2026 10:00Z', and with
    --assume-tz Europe/Berlin imported an hour off. Such values are UTC, whatever is
    assumed for times without a zone."""
    from audit.ingest.mapping import Mapping

    path = tmp_path / "literal_zone.csv"
    value = ("2026-02-01T10:00:00Z" if fmt.startswith("%Y")
             else f"01.02.2026 10:00{suffix}")
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    f"c1,Request refund,{value}\n", encoding="utf-8")
    result = import_sources([(path, None)], mapping=Mapping(timestamp_format=fmt),
                            assume_tz=assume_tz)
    assert result.log[C.TIMESTAMP].tolist() == [pd.Timestamp("2026-02-01T10:00Z")]
    assert result.quarantine.empty


def test_a_format_with_a_literal_zone_and_offset_is_refused(tmp_path: Path) -> None:
    """A literal "UTC+2" would be read as UTC, two hours off: refused, naming %z."""
    from audit.ingest.mapping import Mapping

    path = tmp_path / "literal_offset.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,Request refund,01.02.2026 10:00 UTC+2\n", encoding="utf-8")
    with pytest.raises(InputError, match="read the offset with %z") as caught:
        import_sources([(path, None)], mapping=Mapping(timestamp_format="%d.%m.%Y %H:%M UTC+2"),
                       assume_tz="UTC")
    assert caught.value.field == "time:timestamp"


def test_iso_basic_times_with_a_zone_beside_times_without_one(tmp_path: Path) -> None:
    """ISO 8601's basic form (20200101T100000Z, 2020-01-01T10Z) was taken for a time without
    a zone; beside a time without one, pandas refused the mix: an internal error. The zoned
    ones are read in their zone, the others in --assume-tz, or refused without it."""
    path = tmp_path / "basic.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,a,20200101T100000Z\nc1,b,2020-01-01T11Z\nc1,c,2020-01-01T12:00:00\n",
                    encoding="utf-8")
    result = import_sources([(path, None)], assume_tz="Europe/Berlin")
    assert result.log.sort_values(C.SOURCE_ROW)[C.TIMESTAMP].tolist() == [
        pd.Timestamp("2020-01-01T10:00Z"), pd.Timestamp("2020-01-01T11:00Z"),
        pd.Timestamp("2020-01-01T11:00Z")]
    with pytest.raises(InputError, match="timestamps have no time zone") as caught:
        import_sources([(path, None)])
    assert (caught.value.row, caught.value.field) == (4, C.TIMESTAMP)


@pytest.mark.parametrize("row", ["abc", "3.0", "99999999999999999999"])
def test_a_provenance_row_that_is_no_row_number_is_an_input_error(tmp_path: Path,
                                                                  row: str) -> None:
    """A file with source:system, source:file and source:row is read as a canonical log's
    provenance; a source:row that is no whole number crashed the import (ValueError)."""
    path = tmp_path / "prov.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp,source:system,source:file,"
                    f"source:row\nc1,a,2020-01-01T00:00:00Z,x,y,7\nc1,b,2020-01-02T00:00:00Z,"
                    f"x,y,{row}\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"not a row number: '{row}'") as caught:
        import_sources([(path, None)])
    assert (caught.value.row, caught.value.field) == (3, C.SOURCE_ROW)


# --- repeated ids: the comparison of two records' values -------------------------------------

@pytest.mark.parametrize("values", [
    pd.Series(["a", "b", "", None, "1"] * 40).astype("category"),
    pd.Series(pd.Categorical([1, 2, None, 2] * 50)),
    pd.Series(["x", "y", "", None] * 50, dtype="string"),
    pd.Series(["x", "y", "", None] * 50, dtype="str"),
    pd.Series([1.5, 2.0, float("nan"), 0.0] * 50),
    pd.Series([1, 2, 3, 4] * 50),
    pd.Series(pd.to_datetime(["2024-01-01T00:00Z", "2024-01-02T00:00Z", None] * 60, utc=True)),
    pd.Series([1, "1", None, "a", True, ""] * 30, dtype=object),
    pd.Series([True, False] * 100),
], ids=["category", "int category", "string", "str", "float", "int", "datetime", "object",
        "bool"])
def test_repeated_records_compare_as_their_texts(values: pd.Series) -> None:
    """`_same_text` gives what comparing both records' values as text gives (the ground
    truth: ``astype("string").fillna("")``), for every kind of column a log holds."""
    from audit.ingest import _same_text

    rows = np.random.default_rng(7).integers(0, len(values), size=(2, 300))
    first = values.take(rows[0]).reset_index(drop=True)
    second = values.take(rows[1]).reset_index(drop=True)
    texts = [v.astype("string").fillna("").to_numpy(dtype=object) for v in (first, second)]
    same, blank = _same_text(first, second)
    assert same.tolist() == (texts[0] == texts[1]).tolist()
    assert blank.tolist() == (texts[1] == "").tolist()
    assert 0 < same.sum() < len(same)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_quote_left_open_that_takes_in_the_rows_after_it_is_an_input_error(
        tmp_path: Path, newline: str) -> None:
    """A quote opened in row 3 and never closed: the csv module reads every line after it
    as one cell, and the file imported 1 event and 1 quarantined record, the three rows
    after it counted nowhere (exit 0). Now an input error naming row 3."""
    path = tmp_path / "open_quote.csv"
    path.write_bytes(newline.join([
        "case_id,activity,timestamp", "C1,a,2024-05-01T09:00:00Z",
        'C1,"b,2024-05-01T10:00:00Z', "C2,a,2024-05-01T09:00:00Z",
        "C2,b,2024-05-01T10:00:00Z", "C3,a,2024-05-01T09:00:00Z", ""]).encode("utf-8"))
    with pytest.raises(InputError, match="a quote opened in this row is never closed") as caught:
        import_sources([(path, None)])
    assert caught.value.row == 3 and caught.value.file == str(path)
    # A quoted cell that spans lines and is closed is read as before.
    closed = tmp_path / "closed.csv"
    closed.write_bytes(newline.join([
        "case_id,activity,timestamp", "C1,a,2024-05-01T09:00:00Z",
        'C1,"b', 'still b",2024-05-01T10:00:00Z', ""]).encode("utf-8"))
    assert len(import_sources([(closed, None)]).log) == 2



@pytest.mark.parametrize(("last", "end"), [
    ('"', "\n"), ('"', ""), ('"', "\r\n"), ('"  ', "\n"),
    ('C2,b,"2024-05-01T10:00:00Z', "\n"), ('C2,b,2024-05-01T10:0"', "\n")],
    ids=["lone quote", "lone quote, no line end", "lone quote, CRLF", "a quote and blanks",
         "the header's width, cut short in a quote", "a quote in an unquoted cell"])
def test_a_quote_left_open_on_the_last_line_is_quarantined(
        tmp_path: Path, last: str, end: str) -> None:
    """A lone '"' on a CSV's last line: the csv module reads it as one blank cell, which was
    skipped as a blank line (read 2 = imported 2, the line counted nowhere); a last line of
    the header's width cut short in a quoted cell was imported as if the quote were closed.
    Now the line is quarantined as a record whose quote is never closed, and counted read.
    (A quote inside an unquoted cell is no quote and is read as before.)"""
    newline = "\r\n" if end == "\r\n" else "\n"
    path = tmp_path / "last_quote.csv"
    path.write_bytes((newline.join([
        "case_id,activity,timestamp", "C1,a,2024-05-01T09:00:00Z",
        "C2,a,2024-05-01T09:30:00Z", last]) + end).encode("utf-8"))
    result = import_sources([(path, None)])
    counts = result.files[0]
    if last.endswith('0"'):
        assert (counts.read, counts.imported, counts.quarantined) == (3, 2, 1)
        assert result.quarantine["field"].tolist() == ["timestamp"]
        return
    assert (counts.read, counts.imported, counts.quarantined) == (3, 2, 1)
    bad = result.quarantine.iloc[0]
    assert (bad["row"], bad["field"]) == (4, "(record)")
    assert bad["reason"] == "a quote opened in this row is never closed (the file ends inside it)"
    assert bad["value"] == last
    assert sorted(result.log[C.CASE]) == ["C1", "C2"]


def test_a_line_of_an_empty_quoted_cell_is_a_record(tmp_path: Path) -> None:
    """A line '""' (one quoted empty cell) read as one blank cell and was skipped as a blank
    line, counted nowhere; it is a record of one field, quarantined as such. Blank lines
    are still no records. Its value is the line as written (its one cell joined was empty:
    nothing for a reader of the quarantine to see)."""
    path = tmp_path / "empty_quoted.csv"
    path.write_text("case_id,activity,timestamp\nC1,a,2024-05-01T09:00:00Z\n\"\"\n\n"
                    "C1,b,2024-05-01T10:00:00Z\n", encoding="utf-8")
    result = import_sources([(path, None)])
    counts = result.files[0]
    assert (counts.read, counts.imported, counts.quarantined) == (3, 2, 1)
    assert result.quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [3, "(record)", '""', "1 field where the header has 3"]]


def test_a_quote_left_open_in_the_header_is_an_input_error(tmp_path: Path) -> None:
    """A header whose quote is never closed took in every line after it: the file read as
    a header alone ("no records to import"). Now an input error naming row 1."""
    path = tmp_path / "open_header.csv"
    path.write_text('case_id,activity,"timestamp\nC1,a,2024-05-01T09:00:00Z\n',
                    encoding="utf-8")
    with pytest.raises(InputError, match="a quote opened in this row is never closed") as caught:
        import_sources([(path, None), ])
    assert caught.value.row == 1 and caught.value.file == str(path)


@pytest.mark.parametrize(("text", "line", "said", "fixed"), [
    ('thousands: "."\n', 1, "'.' (the default)", 'thousands: ","\n'),
    ('system: x\ndecimal: ","\nthousands: ","\n', 3, "','",
     'system: x\ndecimal: ","\nthousands: "."\n')],
    ids=["thousands is the default decimal", "both commas"])
def test_one_character_as_decimal_mark_and_thousands_separator_is_refused(
        tmp_path: Path, text: str, line: int, said: str, fixed: str) -> None:
    """`thousands: "."` beside the default decimal "." (or "," for both) was accepted, and
    removing the separator removed the decimal mark: 49.99 imported as 4999.00, 49,99 as
    4999.00. Now the mapping is refused, naming the file, the line and both keys."""
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_mapping(path)
    error = caught.value
    assert (error.file, error.row, error.field) == (str(path), line, "thousands")
    assert f"'thousands' and 'decimal' are both {said}" in str(error)
    path.write_text(fixed, encoding="utf-8")  # two characters: loads
    mapping = load_mapping(path)
    assert {mapping.decimal, mapping.thousands} == {".", ","}


def test_an_event_in_two_overlapping_exports_without_ids_is_one_event(tmp_path: Path) -> None:
    """Two exports of a system that writes no event ids, their date ranges overlapping: an
    event in both gets one derived id and is imported once, its repeat counted (before: the
    occurrence among identical events was counted over both files, so the second copy got
    another id and every overlapping event was imported twice). Identical lines within one
    export stay two events."""
    head = "case_id,activity,timestamp,resource\n"
    overlap = "R1,approve refund,2024-05-02T09:00:00Z,nadia\n"
    retry = "R1,retry payout,2024-05-03T09:00:00Z,bob\n"
    first, second = tmp_path / "april.csv", tmp_path / "may.csv"
    first.write_text(head + "R1,request refund,2024-04-30T09:00:00Z,ben\n" + overlap,
                     encoding="utf-8")
    second.write_text(head + overlap + retry + retry, encoding="utf-8")
    result = import_sources([(first, None), (second, None)])
    assert sorted(result.log[C.ACTIVITY]) == [
        "approve refund", "request refund", "retry payout", "retry payout"]
    assert result.log[C.EVENT_ID].is_unique and len(result.quarantine) == 0
    assert [f.deduplicated for f in result.files] == [0, 1]
    alone = import_sources([(second, None)]).log
    assert set(alone[C.EVENT_ID]) <= set(result.log[C.EVENT_ID])


def test_mapping_values_are_taken_as_written(tmp_path: Path) -> None:
    """YAML 1.1 typed unquoted mapping values: `ticket:id: 0012` became "10" (octal),
    `order:id: 0x1F` "31", `1_000` "1000", `12:30:00` "45000" (sexagesimal), `1.50` "1.5",
    and a source column named 0012 was "no such column". Now a value is the text the file
    holds; an empty one is still refused, naming the line."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  case:concept:name: 0012\n  concept:name: step\n"
                       "  time:timestamp: at\n"
                       "constants:\n  ticket:id: 0012\n  order:id: 0x1F\n  refund:amount: 1.50\n"
                       "  refund:channel: 1_000\n  payment:refund_id: 12:30:00\n", encoding="utf-8")
    loaded = load_mapping(mapping)
    assert loaded.columns[C.CASE] == "0012"
    assert loaded.constants == {C.TICKET_ID: "0012", C.ORDER_ID: "0x1F", C.AMOUNT: "1.50",
                                C.CHANNEL: "1_000", C.REFUND_ID: "12:30:00"}
    log = tmp_path / "log.csv"
    log.write_text("0012,step,at\nc1,Open,2026-01-01T10:00:00Z\n", encoding="utf-8")
    mapping.write_text("columns:\n  case:concept:name: 0012\n  concept:name: step\n"
                       "  time:timestamp: at\nconstants:\n  order:id: 0x1F\n",
                       encoding="utf-8")
    result = import_sources([(log, "csv")], mapping=load_mapping(mapping))
    assert _column(result, C.CASE) == ["c1"] and _column(result, C.ORDER_ID) == ["0x1F"]
    mapping.write_text("constants:\n  ticket:id:\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_mapping(mapping)
    assert (caught.value.row, caught.value.field) == (2, "constants.ticket:id")


def test_two_time_columns_are_refused_and_the_columns_taken_are_told(tmp_path: Path) -> None:
    """A file with `Created at` and `Updated at` took `Created at` (a common name of the
    timestamp) as every event's time: each event at its case's creation, and nothing said
    which column was taken. Now two columns named as times, where the one taken is only a
    weak common name, are an error listing both and asking for a mapping; a primary name
    (`Timestamp`) or a mapping decides; and the import notes name the source column of
    each canonical column not taken by its canonical name."""
    log = tmp_path / "tickets.csv"
    log.write_text("Case ID,Activity,Created at,Updated at\n"
                   "T1,Open,2026-01-01T10:00:00Z,2026-01-01T10:00:00Z\n"
                   "T1,Close,2026-01-01T10:00:00Z,2026-01-03T12:00:00Z\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_sources([(log, None)])
    assert caught.value.field == C.TIMESTAMP
    assert "'Created at', 'Updated at' could each be the event time" in str(caught.value)
    assert "mapping" in str(caught.value)

    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  time:timestamp: Updated at\n", encoding="utf-8")
    result = import_sources([(log, None)], mapping=load_mapping(mapping))
    assert [str(t) for t in _column(result, C.TIMESTAMP)] == [
        "2026-01-01 10:00:00+00:00", "2026-01-03 12:00:00+00:00"]
    assert "tickets.csv: columns read as time:timestamp <- 'Updated at' (mapping), " \
        "case:concept:name <- 'Case ID', concept:name <- 'Activity'" in result.notes

    # Times of other things than a later state of the record leave `Created at` the event
    # time (before, `Due date` or `Order date` beside it was refused too); the note tells.
    dated = tmp_path / "dated.csv"
    dated.write_text("Case ID,Activity,Created at,Due date,Order date,Vendor date\n"
                     "C1,Create,2026-07-01T10:00:00Z,2026-07-05,2026-06-30,2026-06-01\n",
                     encoding="utf-8")
    result = import_sources([(dated, None)])
    assert [str(t) for t in _column(result, C.TIMESTAMP)] == ["2026-07-01 10:00:00+00:00"]
    assert any("time:timestamp <- 'Created at'" in note for note in result.notes)
    for later in ("sys_updated_on", "closedDate", "Ended at", "Resolved at"):
        other = tmp_path / "later.csv"
        other.write_text(f"Case ID,Activity,Created at,{later}\n"
                         "C1,Create,2026-07-01T10:00:00Z,2026-07-05T10:00:00Z\n",
                         encoding="utf-8")
        with pytest.raises(InputError, match="could each be the event time"):
            import_sources([(other, None)])

    primary = tmp_path / "events.csv"
    primary.write_text("case,activity,timestamp,Created at\n"
                       "T1,Open,2026-01-02T10:00:00Z,2026-01-01T10:00:00Z\n", encoding="utf-8")
    result = import_sources([(primary, None)])
    assert [str(t) for t in _column(result, C.TIMESTAMP)] == ["2026-01-02 10:00:00+00:00"]
    alone = tmp_path / "alone.csv"  # the one time column: taken, and told
    alone.write_text("case,activity,Created at\nT1,Open,2026-01-01T10:00:00Z\n",
                     encoding="utf-8")
    notes = import_sources([(alone, None)]).notes
    assert "alone.csv: columns read as case:concept:name <- 'case', concept:name <- " \
        "'activity', time:timestamp <- 'Created at'" in notes


@pytest.mark.parametrize("fmt,message", [
    ("mixed", "pandas would guess each value on its own"),
    ("%d.%Q.%Y", "unknown directive(s) %Q"),
    ("%d.%m.%Y %c", "unknown directive(s) %c"),
    ("%H:%M", "no whole date"),
    ("%d.%m %H:%M", "no whole date"),
    ("%d.%m.%Y %I:%M", "%I (hour 01-12) without %p"),
    ("%d.%m.%Y %H:%M %", "a '%' at the end"),
    ("%d.%m.%Y %H:%M UTC+2", "read the offset with %z"),
    ("%Y-%m-%dT%H:%M:%S+00:00", "moved by --assume-tz: read the offset with %z"),
    ("%d.%m.%Y %H:%M CET", "the zone 'CET' as literal text"),
    ("%G-W%V %H:%M", "no whole date"),
], ids=["mixed", "unknown directive", "locale", "no date", "no year",
        "12-hour clock", "lone percent", "literal offset", "literal numeric offset",
        "literal abbreviation", "week without weekday"])
def test_a_timestamp_format_is_checked_when_the_mapping_is_loaded(
        tmp_path: Path, fmt: str, message: str) -> None:
    """`timestamp_format: mixed` let pandas guess each value (01/02/2026 read month-first
    beside 13/02/2026 read day-first in one column), and a bad directive (%Q) was reported
    as "timestamps with and without a time zone that cannot be told apart", naming the CSV.
    The format is checked when the mapping is loaded; the error names the mapping's line."""
    path = tmp_path / "mapping.yaml"
    fmt_yaml = fmt.replace('"', '\\"')
    path.write_text(f'assume_tz: UTC\ntimestamp_format: "{fmt_yaml}"\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_mapping(path)
    error = caught.value
    assert (error.file, error.row, error.field) == (str(path), 2, "timestamp_format")
    assert f"timestamp_format {fmt!r}: " in str(error)
    assert message in str(error)


@pytest.mark.parametrize("fmt", ["%d.%m.%Y %H:%M", "%d/%m/%y", "%j/%Y %I:%M %p",
                                 "%d %B %Y, %H:%M:%S.%f %z", "%%%Y-%m-%d",
                                 "%G-W%V-%u %H:%M", "%Y week %W %a"])
def test_a_usable_timestamp_format_loads(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(f'timestamp_format: "{fmt}"\n', encoding="utf-8")
    assert load_mapping(path).timestamp_format == fmt


def test_iso8601_as_timestamp_format_is_the_default_reading(tmp_path: Path) -> None:
    """`timestamp_format: ISO8601` (pandas' name of what is read without a format) was
    refused since 52dff26; mappings that worked before load again, as no format."""
    path = tmp_path / "mapping.yaml"
    path.write_text('timestamp_format: ISO8601\n', encoding="utf-8")
    assert load_mapping(path).timestamp_format is None


def test_week_directives_read_the_dates_they_name(tmp_path: Path) -> None:
    """ISO weeks (%G-W%V-%u) were refused as unknown directives; pandas reads them."""
    log = tmp_path / "weeks.csv"
    log.write_text("case,activity,timestamp\nC1,Open,2026-W01-1 10:00\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text('timestamp_format: "%G-W%V-%u %H:%M"\nassume_tz: UTC\n',
                       encoding="utf-8")
    result = import_sources([(log, None)], mapping=load_mapping(mapping))
    assert [str(t) for t in _column(result, C.TIMESTAMP)] == ["2025-12-29 10:00:00+00:00"]


def test_mixed_timestamp_format_is_refused_without_a_mapping_file(tmp_path: Path) -> None:
    """A Mapping made in code with a guessing format is refused too (naming the CSV's
    timestamp column), never read value by value."""
    from audit.ingest.mapping import Mapping

    path = tmp_path / "mixed.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,Request refund,01/02/2026 10:00\nc1,Approve refund,13/02/2026 10:00\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match="pandas would guess each value") as caught:
        import_sources([(path, None)], mapping=Mapping(timestamp_format="mixed"),
                       assume_tz="UTC")
    assert (caught.value.file, caught.value.field) == (str(path), "time:timestamp")


@pytest.mark.parametrize("encoding", ["rot13", "base64", "hex", "zlib", "bz2"])
def test_an_encoding_that_is_no_text_encoding_is_refused(tmp_path: Path, encoding: str) -> None:
    """`--encoding rot13` (or base64, hex, zlib) crashed with "internal error (LookupError:
    'rot13' is not a text encoding ...)" and a traceback: Python's codecs registry holds such
    codecs, which bytes.decode refuses. It is an input error naming --encoding."""
    path = tmp_path / "log.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,Request refund,2026-01-01T10:00:00Z\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"--encoding '{encoding}' is not a text encoding") \
            as caught:
        import_sources([(path, None)], encoding=encoding)
    assert caught.value.file == str(path)


@pytest.mark.parametrize("encoding", ["undefined", "punycode"])
def test_an_encoding_that_cannot_decode_any_text_is_an_input_error(
        tmp_path: Path, encoding: str) -> None:
    """`--encoding undefined` (and punycode) raise a UnicodeError that is no
    UnicodeDecodeError: it was an internal error with a traceback."""
    path = tmp_path / "log.csv"
    path.write_text("case,activity,timestamp\nC1,Open,2026-01-01T10:00:00Z\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"cannot be decoded with --encoding '{encoding}'"):
        import_sources([(path, None)], encoding=encoding)


def test_an_undecodable_byte_after_an_excel_sep_line_names_the_row_the_quarantine_would(
        tmp_path: Path) -> None:
    """After an Excel `sep=;` line (no row: the header is row 1, as in Excel and in the
    quarantine's numbers) a byte that cannot be decoded was named by its line in the file,
    one more than the row."""
    path = tmp_path / "sep.csv"
    path.write_bytes(b"sep=;\ncase;activity;timestamp;note\n"
                     b"C1;a;2026-07-01T10:00:00Z;ok\nC1;b;2026-07-01T11:00:00Z;bad\xff\n")
    with pytest.raises(InputError) as caught:
        import_sources([(path, None)], encoding="utf-8")
    assert caught.value.row == 3


def test_a_single_byte_encoding_is_never_a_silent_guess(tmp_path: Path) -> None:
    """Without --encoding, a file that is not UTF-8 was read in the detector's best guess:
    Latin-1 "José Peña" as cp1250 "José Peńa", Polish cp1250 "Łukasz" as cp1252 "£ukasz",
    with a note only (the four-eyes rules then compare garbled names). Where the guess, cp1252
    and cp1250 read the bytes otherwise, the file is refused naming the characters and asking
    for --encoding; where they agree (German umlauts and ß), it is read."""
    head = "case,activity,timestamp,resource\n"
    spanish, polish, german = (tmp_path / "es.csv", tmp_path / "pl.csv", tmp_path / "de.csv")
    spanish.write_bytes((head + "c1,Request,2026-01-01T10:00:00Z,José Peña\n").encode("latin-1"))
    polish.write_bytes((head + "c1,Request,2026-01-01T10:00:00Z,Łukasz Wiśniewski\n").encode(
        "cp1250"))
    german.write_bytes((head + "c1,Antrag prüfen,2026-01-01T10:00:00Z,Jürgen Müßig\n").encode(
        "cp1252"))
    with pytest.raises(InputError, match=r"'ñ' \(cp1252\)"):
        import_sources([(spanish, None)])
    with pytest.raises(InputError, match=r"'Ł' \(cp1250\)"):
        import_sources([(polish, None)])
    assert _column(import_sources([(spanish, None)], encoding="latin-1"), C.RESOURCE) == [
        "José Peña"]
    assert _column(import_sources([(polish, None)], encoding="cp1250"), C.RESOURCE) == [
        "Łukasz Wiśniewski"]
    assert _column(import_sources([(german, None)]), C.RESOURCE) == ["Jürgen Müßig"]


def test_cyrillic_of_gbks_byte_shape_is_refused_not_read_as_chinese(tmp_path: Path) -> None:
    """Cyrillic cp1251 whose words have an even number of letters has the byte shape of GBK
    (two bytes 0xA1-0xFE) and was read as GB18030 with a note only: "Иван Петров" became
    "肉囗 襄蝠钼". Where every non-ASCII byte is also a letter of a single-byte code page, the
    file is refused naming both readings; Chinese text (a byte below 0xC0) is read as before."""
    head = "case,activity,timestamp,resource\n"
    russian = tmp_path / "ru.csv"
    russian.write_bytes((head + "c1,Оплата,2026-01-01T10:00:00Z,Иван Петров\n"
                         "c2,Оплата,2026-01-01T11:00:00Z,Олег Иванов\n").encode("cp1251"))
    with pytest.raises(InputError, match=r"'Оплата' \(cp1251, Cyrillic\)") as caught:
        import_sources([(russian, None)])
    assert "'物豚蜞' (gb18030)" in str(caught.value) and "ru.csv" in str(caught.value)
    assert _column(import_sources([(russian, None)], encoding="cp1251"), C.RESOURCE) == [
        "Иван Петров", "Олег Иванов"]
    chinese = tmp_path / "zh.csv"
    chinese.write_bytes(GBK_TEXT.encode("gbk"))
    assert _column(import_sources([(chinese, None)]), C.RESOURCE) == ["张伟", "李娜", "王芳"]


@pytest.mark.parametrize(("decimal", "thousands", "hint"), [
    (".", "", "write 1234.56; set 'decimal'/'thousands' in a mapping file"),
    (",", ".", "write 1.234,56, as the mapping's decimal ',', thousands '.' say"),
    (",", "", "write 1234,56, as the mapping's decimal ',' say"),
])
def test_an_amount_that_is_no_number_is_told_in_the_mappings_notation(
        tmp_path: Path, decimal: str, thousands: str, hint: str) -> None:
    """An amount `abc` in an export whose mapping already says `decimal: ","` was told to
    be written as 1234.56 or the mapping changed: the notation it has set aside. The reason
    shows an amount in the mapping's own notation."""
    from audit.ingest.mapping import Mapping

    path = tmp_path / "betrag.csv"
    path.write_text("case:concept:name;concept:name;time:timestamp;refund:amount\n"
                    "c1;Execute payout;2026-01-01T10:00:00Z;abc\n"
                    "c2;Execute payout;2026-01-01T10:00:00Z;12\n", encoding="utf-8")
    result = import_sources([(path, None)], mapping=Mapping(thousands=thousands,
                                                            decimal=decimal))
    assert result.quarantine["value"].tolist() == ["abc"]
    reason = result.quarantine["reason"].iloc[0]
    assert reason.startswith("not a plain decimal number (") and hint in reason


def test_a_file_of_no_usable_record_names_its_first_record(tmp_path: Path) -> None:
    """Every record quarantined for its channel (`Onlineshop`), one of them, far down, with
    no time too: the error named that record and its time ("row 4: field 'Zeitpunkt'"), the
    quarantine's first entry (times are checked first), not the first record; fixing that
    one row would change nothing. It names row 2 and the field every record fails on."""
    from audit.ingest.mapping import Mapping

    path = tmp_path / "export.csv"
    path.write_text("Vorgang;Aktivität;Zeitpunkt;Kanal\n"
                    "c1;Erstattung angefordert;2026-10-01T10:00:00Z;Onlineshop\n"
                    "c1;Erstattung genehmigt;2026-10-02T10:00:00Z;Onlineshop\n"
                    "c1;Auszahlung ausgeführt;;Onlineshop\n", encoding="utf-8")
    mapping = Mapping(columns={C.CASE: "Vorgang", C.ACTIVITY: "Aktivität",
                               C.TIMESTAMP: "Zeitpunkt", C.CHANNEL: "Kanal"})
    with pytest.raises(InputError) as caught:
        import_sources([(path, None)], mapping=mapping)
    assert (caught.value.row, caught.value.field) == (2, "Kanal")
    assert "3 for Kanal (not one of ecommerce, subscription, offline)" in caught.value.message


def test_the_quarantine_lists_a_files_rows_in_their_order(tmp_path: Path) -> None:
    """An amount `abc` in row 2, an empty time in row 4, both in row 5: the quarantine was
    grouped by check, times first (rows 4, 5, then 2, 5), not in the order the auditor
    reads the export. Now by row; a row's fields as they were checked."""
    path = tmp_path / "export.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp,refund:amount\n"
                    "c1,Receive refund request,2026-10-01T10:00:00Z,abc\n"
                    "c1,Approve refund,2026-10-02T10:00:00Z,10\n"
                    "c1,Execute payout,,10\n"
                    "c2,Execute payout,,x\n", encoding="utf-8")
    result = import_sources([(path, None)])
    assert [(r, f) for r, f in zip(result.quarantine["row"], result.quarantine["field"],
                                   strict=True)] == [
        (2, C.AMOUNT), (4, C.TIMESTAMP), (5, C.TIMESTAMP), (5, C.AMOUNT)]


def test_a_header_and_labels_whose_umlauts_are_written_apart(tmp_path: Path) -> None:
    """An export from a system that writes `ä` as `a` and a combining diaeresis: the
    mapping's `Aktivität` (typed composed) was "no such column (it has: ..., Aktivität,
    ...)", and its labels were kept decomposed, unequal to the policy's. The mapping names
    the column; the labels are imported composed (NFC), from a CSV and from a Parquet
    dictionary column alike."""
    import unicodedata

    from audit.ingest.mapping import Mapping

    def apart(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    path = tmp_path / "export.csv"
    path.write_text(apart("Vorgang;Aktivität;Zeitpunkt\n"
                          "c1;Auszahlung ausgeführt;2026-10-01T10:00:00Z\n"
                          "c1;Kunde benachrichtigt;2026-10-02T10:00:00Z\n"), encoding="utf-8")
    mapping = Mapping(columns={C.CASE: "Vorgang", C.ACTIVITY: "Aktivität",
                               C.TIMESTAMP: "Zeitpunkt"})
    result = import_sources([(path, None)], mapping=mapping)
    assert _column(result, C.ACTIVITY) == ["Auszahlung ausgeführt", "Kunde benachrichtigt"]
    parquet = tmp_path / "log.parquet"
    frame = pd.DataFrame({C.CASE: ["c1", "c1", "c2"],
                          C.ACTIVITY: pd.Categorical([apart("Auszahlung ausgeführt"),
                                                      "Auszahlung ausgeführt", "Notify"]),
                          C.TIMESTAMP: pd.to_datetime(["2026-10-01T10:00:00Z"] * 3)})
    frame.to_parquet(parquet)
    result = import_sources([(parquet, None)])
    assert sorted(_column(result, C.ACTIVITY)) == ["Auszahlung ausgeführt"] * 2 + ["Notify"]
    assert list(result.log[C.ACTIVITY].cat.categories) == ["Auszahlung ausgeführt", "Notify"]


def test_typed_local_times_the_zone_skips_or_has_twice_are_told_apart(tmp_path: Path) -> None:
    """Zoneless datetimes of a Parquet file, read in --assume-tz: a time the clocks skipped
    and one they showed twice were both quarantined as "not a valid local time in ZONE (DST
    change)"; the reason says which, with the zone and the time."""
    parquet = tmp_path / "local.parquet"
    pd.DataFrame({C.CASE: ["c1"] * 3, C.ACTIVITY: ["a", "b", "c"],
                  C.TIMESTAMP: pd.to_datetime(["2024-03-31 02:30:00", "2024-10-27 02:30:00",
                                               "2024-10-28 02:30:00"])}).to_parquet(parquet)
    result = import_sources([(parquet, None)], assume_tz="Europe/Berlin")
    assert result.quarantine.sort_values("row")["reason"].tolist() == [DST_SKIPPED, DST_TWICE]
    assert _column(result, C.TIMESTAMP) == [utc("2024-10-28T01:30:00Z")]


def test_the_range_told_is_the_range_read(tmp_path: Path) -> None:
    """The reason said "outside the years 1678 to 2261" while 1677-09-21 and 2262-04-11
    were read; and a local time within a day of the range's ends whose UTC time is outside
    it (1677-09-21 00:20 in Berlin, 2262-04-11 23:40 in New York) crashed the import."""
    told = ("time outside 1677-09-21 00:12:43.145224193 to 2262-04-11 23:47:16.854775807 UTC "
            "(the range a timestamp can hold)")
    path = tmp_path / "edges.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,Receive refund request,1677-09-21T00:13:00Z\n"
                    "c1,Approve refund,2262-04-11T23:47:00Z\n"
                    "c1,Execute payout,1677-09-21T00:12:00Z\n"
                    "c1,Close ticket,2262-04-11T23:48:00Z\n", encoding="utf-8")
    result = import_sources([(path, None)])
    assert _column(result, C.TIMESTAMP) == [utc("1677-09-21T00:13:00Z"),
                                            utc("2262-04-11T23:47:00Z")]
    assert result.quarantine.sort_values("row")["reason"].tolist() == [told, told]
    local = tmp_path / "local.csv"
    local.write_text("case:concept:name,concept:name,time:timestamp\n"
                     "c1,Receive refund request,1677-09-21 00:20:00\n"
                     "c1,Approve refund,2262-04-11 23:40:00\n"
                     "c1,Execute payout,2026-10-28 02:30:00\n"
                     "c1,Close ticket,2026-10-29T02:30:00Z\n", encoding="utf-8")
    for zone, row in (("Europe/Berlin", 2), ("America/New_York", 3)):
        result = import_sources([(local, None)], assume_tz=zone)
        assert result.quarantine[["row", "reason"]].values.tolist() == [[row, told]], zone
        assert len(result.log) == 3


def test_case_ids_differing_only_in_spaces_around_them_are_one_case_and_told(
        tmp_path: Path) -> None:
    """Case ids are read trimmed (" sp" and "sp " are the case sp), which nothing said:
    within one file, different texts that trimming makes one case are now a note naming
    them. Ids that only look alike otherwise stay apart, and a file of clean ids has no
    such note."""
    path = tmp_path / "spaces.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    '" sp",Receive refund request,2026-01-01T10:00:00Z\n'
                    '"sp ",Approve refund,2026-01-02T10:00:00Z\n'
                    "sp,Execute payout,2026-01-03T10:00:00Z\n"
                    "SP,Execute payout,2026-01-03T10:00:00Z\n"
                    '" x1 ",Receive refund request,2026-01-01T10:00:00Z\n', encoding="utf-8")
    result = import_sources([(path, None)])
    assert sorted(set(_column(result, C.CASE))) == ["SP", "sp", "x1"]
    told = [note for note in result.notes if "spaces around" in note]
    assert told == ["spaces.csv: 1 case written with different spaces around its id is one "
                    "case (case ids are read trimmed): ' sp', 'sp', 'sp ' -> 'sp'"]
    clean = tmp_path / "clean.csv"
    clean.write_text("case:concept:name,concept:name,time:timestamp\n"
                     '" a ",Receive refund request,2026-01-01T10:00:00Z\n'
                     "b,Approve refund,2026-01-02T10:00:00Z\n", encoding="utf-8")
    assert not [n for n in import_sources([(clean, None)]).notes if "spaces around" in n]


def test_trimmed_ids_of_a_coded_parquet_column_are_told_too(tmp_path: Path) -> None:
    parquet = tmp_path / "coded.parquet"
    pd.DataFrame({C.CASE: pd.Categorical(["c1", "c1 ", "c2", "unused"][:3],
                                         categories=["c1", "c1 ", "c2", "unused "]),
                  C.ACTIVITY: ["a", "b", "c"],
                  C.TIMESTAMP: pd.to_datetime(["2026-01-01T10:00:00Z"] * 3)}
                 ).to_parquet(parquet)
    result = import_sources([(parquet, None)])
    assert [n for n in result.notes if "spaces around" in n] == [
        "coded.parquet: 1 case written with different spaces around its id is one case "
        "(case ids are read trimmed): 'c1', 'c1 ' -> 'c1'"]


def test_amounts_with_more_decimals_than_their_currency_are_quarantined(
        tmp_path: Path) -> None:
    """100.5 JPY and 10.123 EUR were imported and rounded half-even in the findings,
    silently: such a row is quarantined, its reason naming the currency and its minor
    units. Trailing zeros, amounts in the currency's units, and amounts without a currency
    stay."""
    path = tmp_path / "decimals.csv"
    path.write_text(
        "case_id,activity,timestamp,amount,currency\n"
        "c1,Receive refund request,2026-01-01T10:00:00Z,100.5,JPY\n"
        "c1,Approve refund,2026-01-02T10:00:00Z,10.123,EUR\n"
        "c1,Execute payout,2026-01-03T10:00:00Z,10.10,eur\n"
        "c1,Close ticket,2026-01-03T11:00:00Z,1.381,KWD\n"
        "c1,Notify customer,2026-01-03T12:00:00Z,1.5,\n"
        "c2,Receive refund request,2026-01-01T10:00:00Z,1000,JPY\n", encoding="utf-8")
    result = import_sources([(path, None)])
    assert result.quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [2, "amount", "100.5", "more decimals than JPY has (0): not a whole number of its "
         "minor units (an amount in JPY has at most 0 decimals)"],
        [3, "amount", "10.123", "more decimals than EUR has (2): not a whole number of its "
         "minor units (an amount in EUR has at most 2 decimals)"]]
    assert _column(result, C.SOURCE_ROW) == [4, 5, 6, 7]
    assert _column(result, C.AMOUNT) == [10.1, 1.381, 1.5, 1000.0]


def test_typed_amounts_with_more_decimals_than_their_currency_are_quarantined(
        tmp_path: Path) -> None:
    parquet = tmp_path / "typed.parquet"
    pd.DataFrame({C.CASE: ["c1", "c1", "c1"], C.ACTIVITY: ["a", "b", "c"],
                  C.TIMESTAMP: pd.to_datetime(["2026-01-01T10:00:00Z"] * 3),
                  C.AMOUNT: [33.333333, 0.3, 12.0],
                  C.CURRENCY: ["USD", "USD", "JPY"]}).to_parquet(parquet)
    result = import_sources([(parquet, None)])
    assert result.quarantine[["row", "field", "reason"]].values.tolist() == [
        [1, C.AMOUNT, "more decimals than USD has (2): not a whole number of its minor units "
         "(an amount in USD has at most 2 decimals)"]]
    assert _column(result, C.AMOUNT) == [0.3, 12.0]


def test_amounts_a_millionth_of_a_minor_unit_off_or_beyond_a_floats_reach_are_quarantined(
        tmp_path: Path) -> None:
    """An amount a float reads as a whole number of minor units only within 10^-6 of one
    (1.0000000001 EUR, 1000.0000001 JPY, 0.0010000001 KWD) was imported as written and
    shown rounded; an amount of 2^53 minor units or more lost its last digits in the float
    (99999999999999.99 EUR read as 1e14). Both are quarantined now; the largest amounts a
    float keeps exactly, in text or in a Parquet float column, stay as they were written."""
    path = tmp_path / "exact.csv"
    rows = [("1.0000000001", "EUR"), ("1000.0000001", "JPY"), ("0.0010000001", "KWD"),
            ("99999999999999.99", "EUR"), ("9007199254740.993", "KWD"),
            ("90071992547409.91", "EUR"), ("9007199254740.991", "KWD"),
            ("999999999999999", "JPY"), ("0.29", "EUR"), ("1.001", "KWD")]
    path.write_text("case_id,activity,timestamp,amount,currency\n" + "".join(
        f"c{n},Receive refund request,2026-01-01T10:00:00Z,{amount},{code}\n"
        for n, (amount, code) in enumerate(rows)), encoding="utf-8")
    result = import_sources([(path, None)])
    reasons = result.quarantine[["row", "value", "reason"]].values.tolist()
    assert [row[:2] for row in reasons] == [
        [2, "1.0000000001"], [3, "1000.0000001"], [4, "0.0010000001"],
        [5, "99999999999999.99"], [6, "9007199254740.993"]]
    assert reasons[0][2].startswith("more decimals than EUR has (2)")
    assert reasons[3][2] == ("amount too large to keep exactly: 2^53 minor units of EUR or "
                             "more (90,071,992,547,409.92), where a float keeps no whole "
                             "number of them")
    assert reasons[4][2].startswith("amount too large to keep exactly: 2^53 minor units of KWD")
    kept = [90071992547409.91, 9007199254740.991, 999999999999999.0, 0.29, 1.001]
    assert _column(result, C.AMOUNT) == kept
    parquet = tmp_path / "exact.parquet"
    pd.DataFrame({C.CASE: [f"c{n}" for n in range(7)], C.ACTIVITY: ["a"] * 7,
                  C.TIMESTAMP: pd.to_datetime(["2026-01-01T10:00:00Z"] * 7),
                  C.AMOUNT: [1.0000000001, 1e14, *kept],
                  C.CURRENCY: ["EUR", "EUR", "EUR", "KWD", "JPY", "EUR", "KWD"]}
                 ).to_parquet(parquet)
    typed = import_sources([(parquet, None)])
    assert typed.quarantine["row"].tolist() == [1, 2]
    assert _column(typed, C.AMOUNT) == kept


GERMAN = ("Fall;Aktivitaet;Zeit;Kanal;Status\n"
          "F1;Receive refund request;2026-07-01T10:00:00Z;Onlineshop;erfolgreich\n"
          "F1;Approve refund;2026-07-02T10:00:00Z; Onlineshop ;\n"
          "F2;Receive refund request;2026-07-01T11:00:00Z;Filiale;fehlgeschlagen\n"
          "F3;Receive refund request;2026-07-01T12:00:00Z;Telefon;\n")
GERMAN_MAPPING = ("columns:\n  case:concept:name: Fall\n  concept:name: Aktivitaet\n"
                  "  time:timestamp: Zeit\n  refund:channel: Kanal\n  payment:status: Status\n")


def test_a_mapping_translates_channel_and_status_values(tmp_path: Path) -> None:
    """`values:` translates an export's own channel and status values (a German export's
    `Kanal=Onlineshop`), which before quarantined every row ("not one of ecommerce, ...":
    only a constant for the whole file could stand in). A value it does not name is checked
    as before, and the quarantine shows the value as exported."""
    log = tmp_path / "de.csv"
    log.write_text(GERMAN, encoding="utf-8")
    mapping = tmp_path / "de.yaml"
    mapping.write_text(GERMAN_MAPPING + "values:\n"
                       "  refund:channel: {Onlineshop: ecommerce, Filiale: Offline}\n"
                       "  payment:status:\n    erfolgreich: succeeded\n"
                       "    fehlgeschlagen: failed\n", encoding="utf-8")
    loaded = load_mapping(mapping)
    assert loaded.values == {C.CHANNEL: {"Onlineshop": "ecommerce", "Filiale": "offline"},
                             C.PAYMENT_STATUS: {"erfolgreich": "succeeded",
                                                "fehlgeschlagen": "failed"}}
    result = import_sources([(log, "csv")], mapping=loaded)
    assert _column(result, C.CASE) == ["F1", "F1", "F2"]
    assert _column(result, C.CHANNEL) == ["ecommerce", "ecommerce", "offline"]
    assert _column(result, C.PAYMENT_STATUS) == ["succeeded", None, "failed"]
    assert result.quarantine[["row", "field", "value"]].values.tolist() == [
        [5, "Kanal", "Telefon"]]
    # The same from a Parquet file, whose text columns arrive coded (categoricals).
    frame = pd.read_csv(log, sep=";", dtype=str)
    for name in ("Kanal", "Status"):
        frame[name] = frame[name].astype("category")
    parquet = tmp_path / "de.parquet"
    frame.to_parquet(parquet)
    again = import_sources([(parquet, "parquet")], mapping=loaded)
    assert _column(again, C.CHANNEL) == ["ecommerce", "ecommerce", "offline"]
    assert _column(again, C.PAYMENT_STATUS) == ["succeeded", None, "failed"]


@pytest.mark.parametrize(("values", "line", "field", "said"), [
    ("  refund:channel:\n    Onlineshop: webshop\n", 9, "values.refund:channel.Onlineshop",
     "'webshop' is not one of ecommerce, subscription, offline"),
    ("  concept:name:\n    Antrag: Receive refund request\n", 8, "values.concept:name",
     "has no values to translate"),
    ("  refund:channel: ecommerce\n", 8, "values.refund:channel", "must be a mapping"),
    ("  payment:status:\n    ok: succeeded\n    ok: pending\n", 10, None,
     "key 'ok' is given twice"),  # (as any key: the YAML reader refuses it)
])
def test_a_values_translation_is_checked_when_the_mapping_is_loaded(
        tmp_path: Path, values: str, line: int, field: str | None, said: str) -> None:
    mapping = tmp_path / "de.yaml"
    mapping.write_text(GERMAN_MAPPING + "values:\n" + values, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_mapping(mapping)
    assert (caught.value.row, caught.value.field) == (line, field)
    assert said in str(caught.value) and str(mapping) in str(caught.value)


@pytest.mark.parametrize(("fmt", "times"), [
    ("%d.%m.%Y %H:%M:%S", ["31.12.2016 23:59:60", "01.03.2026 10:00:61", "01.03.2026 10:01:00"]),
    ("%m/%d/%Y %I:%M:%S %p%z", ["12/31/2016 11:59:60 PM+0000", "03/01/2026 10:00:61 AM+0000",
                                "03/01/2026 10:01:00 AM+0000"]),
    (None, ["2016-12-31T23:59:60Z", "2026-03-01T10:00:61+00:00", "2026-03-01T10:01:00Z"]),
])
def test_a_second_of_60_or_61_is_quarantined_in_every_reading(
        tmp_path: Path, fmt: str | None, times: list[str]) -> None:
    """A leap second (23:59:60) or a second of 61 cannot be held by a timestamp. With a
    timestamp_format, pandas read it as the next minute's first second: 23:59:60 as
    00:00:00 of the next day and 10:00:61 as 10:01:01, silently, one second off and tied
    with or after the event that follows; ISO 8601 refused it as no timestamp. Each
    reading now quarantines it with the same reason, and reads the second 00 after it."""
    from audit.ingest.mapping import Mapping
    from audit.ingest.timestamps import LEAP_SECOND

    path = tmp_path / "leap.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    + "".join(f"c1,a{k},{t}\n" for k, t in enumerate(times)),
                    encoding="utf-8")
    mapping = None if fmt is None else Mapping(timestamp_format=fmt)
    result = import_sources([(path, None)], mapping=mapping, assume_tz="UTC")
    assert result.log[C.TIMESTAMP].tolist() == [pd.Timestamp("2026-03-01T10:01:00Z")]
    assert result.quarantine["row"].tolist() == [2, 3]
    assert result.quarantine["reason"].tolist() == [LEAP_SECOND, LEAP_SECOND]


@pytest.mark.parametrize("dtype", ["string[pyarrow]", object])
def test_a_second_of_60_is_refused_by_format_in_python_and_arrow_text(dtype: object) -> None:
    """The same values as Arrow text and as Python objects (one matched by Arrow's RE2, the
    other by Python's re): the second 60 refused in both; a year holding "60" read."""
    from audit.ingest.timestamps import LEAP_SECOND, parse_timestamps

    values = pd.Series(["01.03.2026 10:00:60", "01.03.2060 10:00:00", "01.03.2026 16:06:59"],
                       dtype=dtype)  # type: ignore[call-overload]
    parsed = parse_timestamps(values, rows=np.arange(2, 5), file=Path("t.csv"),
                              column="time", timestamp_format="%d.%m.%Y %H:%M:%S",
                              assume_tz="UTC")
    assert parsed.bad.tolist() == [True, False, False]
    assert parsed.reasons.tolist() == [LEAP_SECOND, "", ""]
    assert parsed.values.iloc[1:].tolist() == [pd.Timestamp("2060-03-01T10:00:00Z"),
                                               pd.Timestamp("2026-03-01T16:06:59Z")]


@pytest.mark.parametrize("value", ["1772359200", "1772359200123", "1772359200.5"])
def test_unix_times_are_refused_with_advice_a_format_cannot_help(tmp_path: Path,
                                                                 value: str) -> None:
    """A column of Unix seconds or milliseconds was refused with the advice to set a
    timestamp_format in a mapping file, which no format can follow (strftime has no
    directive of them): the error now says they are not read and to write ISO 8601."""
    path = tmp_path / "unix.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    f"c1,Request refund,{value}\n", encoding="utf-8")
    with pytest.raises(InputError, match="Unix times are not read") as caught:
        import_sources([(path, None)], assume_tz="UTC")
    assert "set timestamp_format" not in caught.value.message
    assert (caught.value.row, caught.value.field) == (2, "time:timestamp")


def test_a_zone_abbreviation_under_percent_z_is_quarantined_saying_so(tmp_path: Path) -> None:
    """%Z reads IANA zone names: a Java-style export's summer rows (`CEST`, `PDT`, `BST`)
    were quarantined as "not a timestamp in format ...", though the format was right. The
    reason now says the zone is an abbreviation %Z cannot read; a value wrong elsewhere
    (month 13) keeps the usual reason; `CET`, an IANA zone, is read (with its summer time)."""
    from audit.ingest.mapping import Mapping

    fmt = "%Y-%m-%d %H:%M %Z"
    path = tmp_path / "zones.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,a,2026-07-01 10:00 CET\nc1,b,2026-07-01 10:00 CEST\n"
                    "c1,c,2026-13-01 10:00 PDT\nc1,d,2026-07-01 10:00 BST\n", encoding="utf-8")
    result = import_sources([(path, None)], mapping=Mapping(timestamp_format=fmt))
    assert result.log[C.TIMESTAMP].tolist() == [pd.Timestamp("2026-07-01T08:00Z")]
    reasons = dict(zip(result.quarantine["row"], result.quarantine["reason"], strict=True))
    assert reasons[3].startswith("the zone 'CEST' is an abbreviation, not an IANA zone name")
    assert reasons[4] == f"not a timestamp in format {fmt!r}"
    assert reasons[5].startswith("the zone 'BST' is an abbreviation")
    only = tmp_path / "summer.csv"
    only.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,a,2026-07-01 10:00 CEST\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'CEST' is an abbreviation.*read it with %z") as caught:
        import_sources([(only, None)], mapping=Mapping(timestamp_format=fmt))
    assert (caught.value.row, caught.value.field) == (2, "time:timestamp")


def test_a_percent_z_time_its_zone_skips_or_has_twice_is_told_so(tmp_path: Path) -> None:
    """A value with an IANA zone (%Z) at a DST change, 02:30 of 2026-03-29 (skipped) or
    2026-10-25 (twice) in Europe/Berlin or CET, was quarantined as "not a timestamp in
    format ...": the reason now says which, with the zone and the time, as a time without
    a zone read in --assume-tz is told."""
    from audit.ingest.mapping import Mapping
    from audit.ingest.timestamps import local_time_reason

    path = tmp_path / "dst.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,a,2026-03-29 02:30 Europe/Berlin\nc1,b,2026-10-25 02:30 CET\n"
                    "c1,c,2026-10-25 03:30 Europe/Berlin\n", encoding="utf-8")
    result = import_sources([(path, None)],
                            mapping=Mapping(timestamp_format="%Y-%m-%d %H:%M %Z"))
    assert result.log[C.TIMESTAMP].tolist() == [pd.Timestamp("2026-10-25T02:30Z")]
    assert result.quarantine[["row", "reason"]].values.tolist() == [
        [2, local_time_reason("2026-03-29 02:30:00", "Europe/Berlin", skipped=True)],
        [3, local_time_reason("2026-10-25 02:30:00", "CET", skipped=False)]]


def test_a_csv_of_many_columns_imports_without_pandas_warnings(tmp_path: Path) -> None:
    """A CSV with many columns beside the canonical ones (an export of 150 fields, or a
    hostile one of thousands) travels them along at once: before, each was inserted into
    the log one by one, which printed pandas' 'DataFrame is highly fragmented' warning
    dozens of times on stderr from about 100 columns on, and took time growing with the
    square of the columns (20,000 columns of one row ran for minutes)."""
    import subprocess
    import sys

    path = tmp_path / "wide.csv"
    extra = [f"x{i}" for i in range(150)]
    path.write_text(",".join([*extra, "case_id", "activity", "timestamp"]) + "\n"
                    + ",".join([*(f"v{i}" for i in range(150)), "c1", "a",
                                "2026-01-01T10:00:00Z"]) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "audit", "import", str(path), "--out",
                           str(tmp_path / "log.parquet"), "-q"],
                          capture_output=True, text=True, cwd=Path(__file__).parents[1],
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    log = pd.read_parquet(tmp_path / "log.parquet")
    assert log["x0"].tolist() == ["v0"] and log["x149"].tolist() == ["v149"]
    assert log[C.CASE].tolist() == ["c1"]


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be"])
def test_a_csv_in_utf32_with_its_bom_is_read_as_utf32(tmp_path: Path, codec: str) -> None:
    """A UTF-32 file's byte order mark (FF FE 00 00, little-endian) begins with UTF-16's
    (FF FE): the file was read as UTF-16, a NUL after each character, and refused with a
    message quoting the header as '[U+0000]t[U+0000]i...'; big-endian (00 00 FE FF) was
    taken for UTF-8 and refused alike. Both are read as UTF-32, and the notes say so."""
    path = tmp_path / "wide.csv"
    text = "case_id,activity,timestamp\nc1,Prüfen,2026-01-01T10:00:00Z\n"
    data = text.encode(codec)
    if codec == "utf-32-be":
        data = b"\x00\x00\xfe\xff" + data
    path.write_bytes(data)
    result = import_sources([(path, None)])
    assert result.log[C.CASE].tolist() == ["c1"]
    assert result.log[C.ACTIVITY].tolist() == ["Prüfen"]
    assert any("read as utf-32" in note for note in result.notes)
