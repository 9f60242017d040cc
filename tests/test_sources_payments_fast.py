"""The payment adapters' column-wise reading gives exactly what reading row by row gives.

Each export is read twice, with `payments.FAST_PATH` on and off, and the import (canonical
log, quarantine, counts, notes) and the adapter's own table are compared. The crafted exports
put every kind of row the column-wise reading must leave to the row-by-row one (bad currency,
amount, zone, time, type, status, reference; a copy of a record, a changed record under a
known id, before and after a good row) between plain rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from audit.errors import InputError
from audit.ingest import ImportResult, import_sources
from audit.sources import payments, read_source

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = sorted(
    [p for p in (ROOT / "tests" / "data" / "sources").rglob("*.csv")
     if p.parent.name in ("stripe", "paypal", "adyen")]
    + [p for p in (ROOT / "sample_logs" / "refund-sample" / "exports").glob("*.csv")
       if p.name.startswith(("stripe", "paypal", "adyen"))])


@pytest.fixture
def fast_rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Per export read, in order: (rows read column-wise, rows read one by one)."""
    counts: list[tuple[int, int]] = []
    real = payments._split

    def spy(*args: object) -> tuple[list[int], list[int]]:
        fast, slow = real(*args)  # type: ignore[arg-type]
        counts.append((len(fast), len(slow)))
        return fast, slow

    monkeypatch.setattr(payments, "_split", spy)
    yield counts


def _read(path: Path, system: str, fast: bool) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    saved = payments.FAST_PATH
    payments.FAST_PATH = fast
    try:
        table, quarantine = read_source(path, system)
        imported: ImportResult | InputError = import_sources([(path, system)])
    except InputError as exc:
        imported = exc
        table, quarantine = None, None  # type: ignore[assignment]
    finally:
        payments.FAST_PATH = saved
    return table, quarantine, imported


def assert_same_reading(path: Path, system: str, *, refused: bool = False) -> None:
    """Both readings give the same, or (`refused`) the same InputError. A refusal not
    expected fails (before, two refusals passed as the same reading, comparing nothing)."""
    fast_table, fast_quarantine, fast = _read(path, system, True)
    slow_table, slow_quarantine, slow = _read(path, system, False)
    if refused or isinstance(slow, InputError) or isinstance(fast, InputError):
        assert refused, f"refused: {slow if isinstance(slow, InputError) else fast}"
        assert isinstance(slow, InputError), "read, where a refusal was expected"
        assert isinstance(fast, InputError) and str(fast) == str(slow)
        return
    assert isinstance(fast, ImportResult) and isinstance(slow, ImportResult)
    # The adapter's table: the same records in the same order (columns may be ordered
    # differently: the canonical log names them).
    pd.testing.assert_frame_equal(fast_table.frame, slow_table.frame, check_like=True,
                                  check_exact=True)
    assert fast_table.rows.tolist() == slow_table.rows.tolist()
    assert (fast_table.records_read, fast_table.deduplicated, fast_table.notes) == (
        slow_table.records_read, slow_table.deduplicated, slow_table.notes)
    pd.testing.assert_frame_equal(fast_quarantine, slow_quarantine, check_exact=True)
    pd.testing.assert_frame_equal(fast.log, slow.log, check_exact=True)
    pd.testing.assert_frame_equal(fast.quarantine, slow.quarantine, check_exact=True)
    assert (fast.files, fast.notes) == (slow.files, slow.notes)


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_payment_export_in_the_tests_reads_the_same(
        path: Path, fast_rows: list[tuple[int, int]]) -> None:
    # (by the path within the checkout: a checkout's own path may name a system)
    system = next(s for s in ("stripe", "paypal", "adyen") if s in str(path.relative_to(ROOT)))
    assert_same_reading(path, system)
    assert fast_rows and fast_rows[0][0] > 0  # some rows were read column-wise


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


PAYPAL_HEADER = ("Date,Time,TimeZone,Name,Type,Status,Currency,Gross,Fee,Net,Transaction ID,"
                 "Reference Txn ID,Invoice Number,Custom Number,Note,Funding Source")


def _paypal(date: str = "01/07/2026", time: str = "09:30:00", zone: str = "CEST",
            kind: str = "Subscription Payment", status: str = "Completed",
            currency: str = "EUR", gross: str = "19.99", ident: str = "T1",
            reference: str = "", ticket: str = "", executor: str = "") -> str:
    return (f"{date},{time},{zone},Jane,{kind},{status},{currency},{gross},0.00,{gross},"
            f"{ident},{reference},SU-O1,{ticket},{executor},card")


def test_crafted_paypal_rows_read_the_same(tmp_path: Path,
                                           fast_rows: list[tuple[int, int]]) -> None:
    rows = [
        _paypal(ident="T1"),
        _paypal(ident="T2", kind="Payment Refund", gross="-9.33", reference="T1",
                ticket="RFD-1", executor="Wanda Maier"),
        _paypal(ident="T3", kind="Payment Refund", status="Denied", gross="-1.00",
                reference="T1"),
        _paypal(ident="T1"),                              # the same record again
        _paypal(ident="T1", gross="20.00"),               # changed under a known id
        _paypal(ident="T4", currency="XXY"),              # unknown currency
        _paypal(ident="T5", gross="1,000.00"),            # thousands separator
        _paypal(ident="T6", zone="XYZ"),                  # unknown zone
        _paypal(ident="T7", date="31/02/2026"),           # no such day
        _paypal(ident="T8", date="1/7/2026", time="9:30:00"),  # strptime reads it
        _paypal(ident="T9", kind="Fee"),                  # not a payment or refund
        _paypal(ident="T10", status="Weird"),             # unknown status
        _paypal(ident=" T11 ", currency=" eur ", gross=" 5.00 ", zone=" cest "),
        _paypal(ident="T12", currency="XXY"),             # bad first ...
        _paypal(ident="T12"),                             # ... then a good row, same id
        _paypal(ident="T13", kind="Payment Refund", status="Reversed", gross="-0.00"),
        _paypal(ident="T14", zone="PDT", time="23:59:59"),
        # A day above 12 shows the order (no date_format set): 31/02/2026, no date in
        # either order, shows none.
        _paypal(ident="T15", date="13/07/2026"),
    ]
    path = _write(tmp_path, "paypal.csv", [PAYPAL_HEADER, *rows])
    assert_same_reading(path, "paypal")
    fast, slow = fast_rows[0]
    assert fast >= 6 and slow >= 10


STRIPE_REFUNDS_HEADER = ("id,charge,amount,currency,created,status,ticket_id (metadata),"
                         "executed_by (metadata),refund_method (metadata),order_id (metadata)")


def test_crafted_stripe_rows_read_the_same(tmp_path: Path,
                                           fast_rows: list[tuple[int, int]]) -> None:
    refunds = [
        "re_1,ch_1,4990,eur,2026-07-07 13:45:00,failed,101,Ulla Nyberg,card,EC-O1",
        "re_2,ch_1,4990,eur,2026-07-08 08:10:00,succeeded,101,,,EC-O1",
        "re_2,ch_1,4990,eur,2026-07-08 08:10:00,succeeded,101,,,EC-O1",
        "re_2,ch_1,4991,eur,2026-07-08 08:10:00,succeeded,101,,,EC-O1",
        "re_3,ch_1,49.90,eur,2026-07-08 08:10:00,succeeded,101,,,EC-O1",
        "re_4,ch_1,4990,zzz,2026-07-08 08:10:00,succeeded,101,,,EC-O1",
        "re_5,ch_1,4990,jpy,1782928800,succeeded,101,,,EC-O1",
        "re_6,ch_1,4990,eur,2026-07-08T08:10:00Z,canceled,101,,,EC-O1",
        "re_7,ch_1,4990,eur,yesterday,succeeded,101,,,EC-O1",
        "re_8,ch_1,4990,eur,2026-07-08 08:10:00,lost,101,,,EC-O1",
        "re_9,,-500,KWD,2026-07-09 08:10:00,reversed,,,,",
    ]
    path = _write(tmp_path, "refunds.csv", [STRIPE_REFUNDS_HEADER, *refunds])
    assert_same_reading(path, "stripe")
    charges = [
        "id,amount,currency,created,status,payment_method_type,order_id (metadata)",
        "ch_1,4990,eur,2026-06-30 18:02:11,succeeded,card,EC-O1",
        "ch_2,100,usd,2026-06-30 18:02:11,paid,,EC-O2",
        "ch_3,100,usd,2026-13-30 18:02:11,paid,,EC-O3",
        "ch_4,1e3,usd,2026-06-30 18:02:11,paid,,EC-O4",
    ]
    assert_same_reading(_write(tmp_path, "charges.csv", charges), "stripe")
    # Each comparison reads twice with the column-wise reading on, then twice with it off.
    for fast, slow in (fast_rows[0], fast_rows[4]):
        assert fast > 0 and slow > 0


STRIPE_BALANCE_HEADER = ("balance_transaction_id,created_utc,currency,gross,"
                         "reporting_category,source_id,charge_id,payment_method_type,"
                         "payment_metadata[order_id],refund_metadata[ticket_id],"
                         "refund_metadata[executed_by],refund_metadata[refund_method]")


def test_crafted_stripe_balance_report_rows_read_the_same(
        tmp_path: Path, fast_rows: list[tuple[int, int]]) -> None:
    rows = [
        "txn_1,2026-07-01 08:15:00,eur,49.90,charge,ch_1,ch_1,card,EC-O1,,,",
        "txn_2,2026-07-04 09:30:00,eur,-9.90,refund,re_1,ch_1,card,EC-O1,101,Ulla Nyberg,card",
        "txn_3,2026-07-05 09:30:00,eur,-5.00,refund,re_2,ch_1,card,EC-O1,101,Ulla Nyberg,card",
        "txn_4,2026-07-08 09:30:00,eur,5.00,refund_failure,re_2,ch_1,card,EC-O1,101,,card",
        "txn_5,2026-07-08 09:30:00,eur,5.00,refund_failure,re_0,ch_0,card,EC-O0,100,,card",
        "txn_1,2026-07-01 08:15:00,eur,49.90,charge,ch_1,ch_1,card,EC-O1,,,",  # again
        "txn_1,2026-07-01 08:15:00,eur,49.00,charge,ch_1,ch_1,card,EC-O1,,,",  # changed
        "txn_6,2026-07-09 00:00:00,eur,-2.00,fee,,,,,,,",
        "txn_7,2026-07-09 00:00:00,eur,-40.00,payout,po_1,,,,,,",
        "txn_8,2026-07-09 00:00:00,zzz,-1.00,refund,re_3,ch_1,,,,,",
        "txn_9,2026-07-09 00:00:00,eur,-1.234,refund,re_4,ch_1,,,,,",
        "txn_10,2026-07-09 00:00:00,jpy,1500.5,charge,ch_5,ch_5,card,EC-O5,,,",
        "txn_11,yesterday,eur,1.00,charge,ch_6,ch_6,,,,,",
        "txn_12,2026-07-09T00:00:00Z,eur,1.00,charge,ch_7,,,,,,",
        "txn_13,1782928800,eur,1.00,charge,py_8,py_8,,,,,",
        "txn_14,2026-07-09 00:00:00,eur,1.00,refund,re_9,ch_1,,,,,",   # wrong sign
        "txn_15,2026-07-09 00:00:00,eur,-1.00,charge,ch_10,ch_10,,,,,",  # wrong sign
        "txn_16,2026-07-09 00:00:00,eur,1.00,charge,ch_11,ch_12,,,,,",  # another charge
        "txn_17,2026-07-09 00:00:00,eur,-1.00,refund,ch_13,ch_13,,,,,",  # not a refund id
        "txn_18,2026-07-09 00:00:00,eur,-1.00,refund,re_14,ch_1,,,,,",
        "txn_19,2026-07-10 00:00:00,eur,-1.00,refund,re_14,ch_1,,,,,",  # same refund
        ",2026-07-09 00:00:00,eur,1.00,charge,ch_15,,,,,,",
        " txn_20 , 2026-07-09 00:00:00 , EUR , -0.00 , Refund , re_16 ,ch_1,,,,,",
        "txn_21,2026-07-09 00:00:00,usd,0.00,charge,ch_17,,,,,,",
        "txn_22,2026-07-09 00:00:00,kwd,-1.005,refund,pyr_18,py_8,,,,,",
    ]
    path = _write(tmp_path, "balance.csv", [STRIPE_BALANCE_HEADER, *rows])
    assert_same_reading(path, "stripe")
    fast, slow = fast_rows[0]
    assert fast >= 3 and slow >= 15


ADYEN_HEADER = ("Company Account,Merchant Account,Psp Reference,Merchant Reference,"
                "Payment Method,Creation Date,TimeZone,Type,Modification Reference,"
                "Gross Currency,Gross Debit (GC),Gross Credit (GC),Store,"
                "Modification Merchant Reference")


def test_crafted_adyen_rows_read_the_same(tmp_path: Path,
                                          fast_rows: list[tuple[int, int]]) -> None:
    rows = [
        "G,S,P1,OF-O1,visa,2026-07-01 12:00:00,BST,Settled,,GBP,,120.00,pos-7,",
        "G,S,P1,OF-O1,visa,2026-07-08 10:00:00,BST,Refunded,M1,GBP,120.00,,,"
        "REFUND CS0000042 BY Victor Chen",
        "G,S,P1,OF-O1,visa,2026-07-09 10:00:00,BST,RefundedReversed,M1,GBP,,120.00,,"
        "REFUND CS0000042 BY Victor Chen",
        "G,S,P1,OF-O1,visa,2026-07-09 10:00:00,BST,RefundedReversed,M1,GBP,,120.00,,"
        "REFUND CS0000042 BY Victor Chen",
        "G,S,,,,2026-07-10 10:00:00,BST,MerchantPayout,,GBP,5000.00,,,",
        "G,S,P2,OF-O2,cash,2026-07-10 10:00:00,BST,Settled,,GBP,,12.00,,",
        "G,S,P2,OF-O2,cash,2026-07-11 10:00:00,BST,Refunded,M2,GBP,12.00,,,REFUND",
        "G,S,P2,OF-O2,cash,2026-07-11 10:00:00,BST,RefundFailed,M3,GBP,12.00,,,nonsense",
        "G,S,P3,OF-O3,paypal,2026-07-11 10:00:00,XST,Settled,,GBP,,1.00,,",
        "G,S,P4,OF-O4,mc,2026-07-11 10:00:00,CET,Settled,,GBX,,1.00,,",
        "G,S,P5,OF-O5,mc,2026-07-11 25:00:00,CET,Settled,,EUR,,1.00,,",
        "G,S,P6,OF-O6,,2026-07-11 10:00:00,CET,SettledBulk,,EUR,,1 000.00,,",
        "G,S,,OF-O7,,2026-07-11 10:00:00,CET,Settled,,EUR,,2.00,,",
        "G,S,P8,OF-O8,amex,2026-07-12 10:00:00,CEST,RefundedBulk,M8,EUR,2.00,,,REFUND BY Ann",
    ]
    path = _write(tmp_path, "adyen.csv", [ADYEN_HEADER, *rows])
    assert_same_reading(path, "adyen")
    fast, slow = fast_rows[0]
    assert fast >= 6 and slow >= 6


def test_a_generated_sample_reads_the_same(tmp_path: Path) -> None:
    from audit.sample import SampleSpec, write_sample

    write_sample(SampleSpec("all", 80, 13, 0.25), tmp_path)
    for path in sorted((tmp_path / "exports").glob("*.csv")):
        system = next((s for s in ("stripe", "paypal", "adyen") if path.name.startswith(s)),
                      None)
        if system is not None:
            assert_same_reading(path, system)


def test_minor_amounts_column_wise_equal_minor_money_row_by_row() -> None:
    """`_minor` reads plain minor-unit amounts column-wise (`minor_money_text`): per row the
    same text as `minor_money`, or None where it raises, for signs, leading zeros, 18 and
    19 digits, int64's limits, non-ASCII digits, blanks, unknown and lower-case currencies
    and currencies of 0, 2 and 3 minor units."""
    import random

    from audit.currency import CURRENCIES, stripe_minor_units
    from audit.sources.common import BadValue, minor_money, minor_money_text

    rng = random.Random(4)
    odd = ["0", "-0", "00123", "+123", "-4999", "4999", "999999999999999999", "-999999999999999999",
           "1234567890123456789", "9223372036854775807", "-9223372036854775808",
           "\u0661\u0662\u0663", "12a", "", " ", "1.5", "-", "--1", "0009", "\U0001f600"]
    texts = [rng.choice(odd) if rng.random() < 0.5 else str(rng.randrange(-10**6, 10**7))
             for _ in range(5000)]
    currencies = [rng.choice(["EUR", "JPY", "KWD", "eur", "XXX", "", "BHD", "usd", "MGA",
                              "isk"])
                  for _ in texts]

    def one(text: str, currency: str) -> str | None:
        try:
            return minor_money(text, currency)
        except BadValue:
            return None

    expected = [one(t, c) for t, c in zip(texts, currencies, strict=True)]
    assert payments._minor(pa.array(texts, pa.large_string()),
                           pa.array(currencies, pa.large_string())).to_pylist() == expected
    units = np.asarray([stripe_minor_units(c.upper()) if c.upper() in CURRENCIES else -1
                        for c in currencies], dtype=np.int64)
    column = minor_money_text(pa.array(texts, pa.large_string()), units).to_pylist()
    assert all(c is None or c == e for c, e in zip(column, expected, strict=True))
    assert sum(c is not None for c in column) > 2000  # most rows read column-wise
    assert {"0.00", "0", "0.000", "4.999", "49.99"} <= set(column)  # -0; 0, 2, 3 units
    assert one("-4999", "EUR") is None and one("-0", "EUR") == "0.00"  # a sign: refused
    assert None in column and any(e is not None for c, e in zip(column, expected,
                                                                strict=True) if c is None)


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S",
                                 "%m/%d/%Y %H:%M:%S"])
def test_utc_text_equals_strptime_at_the_offset_row_by_row(fmt: str) -> None:
    """The payment exports' times read column-wise: per text, `strptime(text, fmt)` at its
    UTC offset, as UTC in ISO 8601, where the text has the format's plain numeric shape, is
    a valid time whose year is 1001-9998 and is usable; else None (read one by one by the
    caller). Texts of other shapes sit beside valid ones in the same column."""
    import random
    import re
    from datetime import UTC, datetime, timedelta

    from audit.sources.common import utc_text

    rng = random.Random(fmt)
    shape = re.compile(re.sub(r"%[dmHMS]", "[0-9]{2}", fmt).replace("%Y", "[0-9]{4}"))

    def text() -> str | None:
        year = rng.choice(["2026"] * 6 + ["2024", "0999", "1001", "9998", "9999"])
        month, day = rng.choice([("07", "06")] * 6 + [("02", "29"), ("13", "01"), ("04", "31"),
                                                      ("12", "31"), ("00", "10"), ("01", "00")])
        clock = rng.choice(["11:00:00", "23:59:59", "09:05:07"] * 3
                           + ["24:00:00", "00:60:00", "00:00:60"])
        made = (fmt.replace("%Y", year).replace("%m", month).replace("%d", day)
                .replace("%H:%M:%S", clock))
        return rng.choice([made] * 8 + [f" {made}", made.replace("2", "\u0662"),
                                         made.replace(":", "."), made[:-3], "", None])

    texts = [text() for _ in range(4000)]
    offsets = np.array([rng.choice([0, 3600, -19800, 50400, -43200]) for _ in texts],
                       dtype=np.int64)
    usable = np.array([rng.random() < 0.9 for _ in texts], dtype=bool)
    arrow = utc_text(pa.array(texts, pa.large_string()), fmt, offsets, usable)
    assert arrow.type == pa.large_string()
    got = arrow.to_pylist()

    def expected(value: str | None, offset: int, use: bool) -> str | None:
        if not use or value is None or not shape.fullmatch(value):
            return None
        try:
            local = datetime.strptime(value, fmt)
        except ValueError:
            return None
        if not 1001 <= local.year <= 9998:
            return None
        return (local - timedelta(seconds=offset)).replace(tzinfo=UTC).isoformat()

    wanted = [expected(v, int(o), bool(u)) for v, o, u in zip(texts, offsets, usable,
                                                              strict=True)]
    assert got == wanted
    assert sum(w is not None for w in wanted) > 500 and wanted.count(None) > 500


def test_iso_utc_text_is_what_numpy_writes() -> None:
    """The payment adapters' UTC times made as one block of text: for seconds from year 1000
    to 9999 (leap days, centuries, before 1970) what `np.datetime_as_string` writes."""
    from audit.sources.common import iso_utc_text

    def seconds(text: str) -> int:
        return int(np.datetime64(text, "s").astype(np.int64))

    rng = np.random.default_rng(7)
    edges = [seconds(t) for t in ("1000-01-01T00:00:00", "9999-12-31T23:59:59",
                                  "1970-01-01T00:00:00", "1969-12-31T23:59:59",
                                  "2000-02-29T12:00:00", "1900-03-01T00:00:00",
                                  "2100-02-28T23:59:59", "1600-02-29T00:00:00")]
    values = np.concatenate([rng.integers(edges[0], edges[1], 50_000), edges])
    expected = [t + "+00:00" for t in
                np.datetime_as_string(values.astype("datetime64[s]"), unit="s").tolist()]
    made = iso_utc_text(values)
    assert made.type == pa.large_string() and made.to_pylist() == expected
    assert iso_utc_text(np.zeros(0, dtype=np.int64)).to_pylist() == []


def test_a_lone_surrogate_is_refused_naming_its_line(tmp_path: Path) -> None:
    """Text that decodes to a lone surrogate (as UTF-7 can) is no text: read_csv refuses
    the file, naming the line, instead of an adapter or the normaliser failing on it."""
    rows = [_paypal(ident="T1"), _paypal(date="13/07/2026", ident="T2", currency="XXY"),
            _paypal(ident="T3", kind="Payment Refund", gross="-1.00", reference="T1",
                    ticket="RFD-1", executor="Ann \ud83d")]
    path = tmp_path / "paypal.csv"
    path.write_bytes("\n".join([PAYPAL_HEADER, *rows]).encode("utf-7") + b"\n")
    with pytest.raises(InputError, match="lone surrogate \\(U\\+D83D\\)") as raised:
        read_source(path, "paypal", encoding="utf-7")
    assert (raised.value.file, raised.value.row) == (str(path), 4)
    with pytest.raises(InputError, match="lone surrogate"):
        import_sources([(path, "paypal")], encoding="utf-7")
    # The same text as UTF-7 without the surrogate reads.
    path.write_bytes("\n".join([PAYPAL_HEADER, *rows[:2]]).encode("utf-7") + b"\n")
    table, quarantine = read_source(path, "paypal", encoding="utf-7")
    assert table.rows.tolist() == [2] and quarantine["field"].tolist() == ["Currency"]


def test_arrow_strip_removes_what_str_strip_removes() -> None:
    """`stripped` (Arrow's utf8_trim) trims exactly the characters `str.strip()` does."""
    from audit.sources.common import SPACE, stripped

    assert set(SPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}
    texts = [f"{a}x{b}y{c}" for a in SPACE + "\u200b\ufeffa" for b, c in (("", " "), (a, a))]
    assert stripped(pa.array(texts, pa.large_string())).to_pylist() == [t.strip()
                                                                         for t in texts]


def test_a_refusal_is_no_same_reading_unless_expected(tmp_path: Path) -> None:
    """A download both readings refuse (its dates all up to the 12th, no date_format set):
    before, `assert_same_reading` passed, comparing nothing, so a crafted export that came
    to be refused tested nothing without a word. It fails now, unless the refusal is what
    the test expects."""
    path = _write(tmp_path, "paypal.csv", [PAYPAL_HEADER, _paypal(ident="T1")])
    with pytest.raises(AssertionError, match=r"refused: .*every date is up to the 12th"):
        assert_same_reading(path, "paypal")
    assert_same_reading(path, "paypal", refused=True)
    readable = _write(tmp_path, "day.csv", [PAYPAL_HEADER, _paypal(date="13/07/2026")])
    with pytest.raises(AssertionError, match="read, where a refusal was expected"):
        assert_same_reading(readable, "paypal", refused=True)
