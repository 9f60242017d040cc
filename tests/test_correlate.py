"""Exports -> import -> correlate gives back canonical.csv's cases exactly, for all channels."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit import canonical as C
from audit.correlate import correlate
from audit.errors import InputError
from audit.ingest import import_sources
from audit.sample import SampleSpec, write_sample
from audit.sample import process as P
from audit.sources.config import load_sources_config
from audit.sources.pipeline import import_and_correlate

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "sources"
COMPARED = [c for c in C.COLUMNS if c != C.EVENT_ID]


def round_trip(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    exports = sorted((folder / "exports").iterdir())
    imported = import_and_correlate([(path, None) for path in exports])
    canonical = import_sources([(folder / "canonical.csv", None)]).log
    return imported.log, canonical


def assert_same_cases(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert set(got[C.CASE]) == set(expected[C.CASE])
    assert len(got) == len(expected)
    evidence = sorted(c for c in expected.columns if c.startswith(C.EVIDENCE_PREFIX))
    columns = COMPARED + evidence
    left = got.set_index(C.EVENT_ID).sort_index()
    right = expected.set_index(C.EVENT_ID).sort_index()
    assert list(left.index) == list(right.index)
    for column in columns:
        if column not in left.columns:  # another channel's evidence: empty in both
            assert right[column].isna().all(), column
            continue
        a = left[column].astype("string").fillna("")
        b = right[column].astype("string").fillna("")
        diff = a.ne(b)
        assert not diff.any(), (column, a[diff].head(3).to_dict(), b[diff].head(3).to_dict())
    amounts = got.groupby(C.CASE)[C.AMOUNT].sum().sort_index()
    assert amounts.equals(expected.groupby(C.CASE)[C.AMOUNT].sum().sort_index())


def test_bundled_exports_reproduce_canonical_csv() -> None:
    got, expected = round_trip(REPO / "sample_logs" / "refund-sample")
    assert set(got[C.CHANNEL]) == set(C.CHANNELS)
    assert_same_cases(got, expected)


@pytest.mark.parametrize("channel", C.CHANNELS)
def test_each_channel_round_trips(tmp_path: Path, channel: str) -> None:
    write_sample(SampleSpec(channel=channel, cases=80, seed=11, violation_rate=0.6), tmp_path)
    got, expected = round_trip(tmp_path)
    assert set(got[C.SOURCE_SYSTEM]) == {P.TICKETING[channel], P.PAYMENTS[channel]}
    assert_same_cases(got, expected)


@pytest.mark.parametrize(("channel", "cases", "seed"), [
    ("subscription", 1, 12), ("subscription", 5, 8), ("subscription", 5, 15),
    ("subscription", 3, 1), ("all", 4, 2), ("all", 6, 5)])
def test_a_small_sample_round_trips_through_its_project_file(
        tmp_path: Path, channel: str, cases: int, seed: int) -> None:
    """A small sample's PayPal dates may all be up to the 12th (seed 12 of one case: the
    download cannot tell day-first from month-first), which the import refuses where the
    sources file sets no date_format: before, `import` and `check` of such a sample's
    exports were refused, though the docs said they gave back canonical.csv exactly. The
    sample now writes sample_project.yaml and sample_sources.yaml (PayPal's date_format
    day first, as its downloads write), and importing the project gives back
    canonical.csv."""
    from click.testing import CliRunner

    from audit.cli import main
    from audit.sources.project import load_project

    result = CliRunner().invoke(main, ["sample", "--channel", channel, "--cases",
                                       str(cases), "--seed", str(seed), "--out",
                                       str(tmp_path)])
    assert result.exit_code == 0, result.output
    project = load_project(tmp_path / "sample_project.yaml")
    exports = sorted((tmp_path / "exports").iterdir())
    assert sorted(path for path, _ in project.sources) == exports
    imported = import_and_correlate(project.sources,
                                    sources_config=load_sources_config(project.config))
    canonical = import_sources([(tmp_path / "canonical.csv", None)]).log
    assert_same_cases(imported.log, canonical)
    assert imported.quarantine.empty
    # The same through the command line.
    result = CliRunner().invoke(main, ["import", "--project",
                                       str(tmp_path / "sample_project.yaml"), "--out",
                                       str(tmp_path / "log.parquet")])
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(tmp_path / "log.parquet")) == len(canonical)


def test_orphan_payouts_and_unknown_references_are_kept() -> None:
    imported = import_sources([(DATA / "zendesk" / "ticket_audits.json", "zendesk"),
                               (DATA / "stripe" / "charges.csv", "stripe"),
                               (DATA / "stripe" / "refunds.csv", "stripe")])
    result = correlate(imported.log, load_sources_config())
    log = result.log
    ticketed = log[log[C.CASE] == "101"]
    assert set(ticketed[C.SOURCE_SYSTEM]) == {"zendesk", "stripe"}
    assert {"stripe:re_3PR2001", "stripe:re_3PR2002", "stripe:ch_3PQ1001"} <= set(
        ticketed[C.EVENT_ID])
    assert set(ticketed[C.CHARGE_ID]) == {"ch_3PQ1001"} and set(ticketed[C.TICKET_ID]) == {"101"}
    # A refund of a charge no export has, naming no ticket: its own case, never dropped.
    orphan = log[log[C.CASE] == "re_3PR2004"]
    assert len(orphan) == 1 and orphan[C.TICKET_ID].isna().all()
    assert result.unresolved["value"].tolist() == ["ch_3PQ9999"]
    # Ticket 102 names order EC-O1002, so its charge joins that case.
    assert "stripe:ch_3PQ1002" in set(log.loc[log[C.CASE] == "102", C.EVENT_ID])
    assert result.left_out == 0


def test_refund_naming_an_unknown_ticket_is_flagged(tmp_path: Path) -> None:
    refunds = tmp_path / "refunds.csv"
    refunds.write_text(
        "id,charge,amount,currency,created,status,ticket_id (metadata)\n"
        "re_9,ch_3PQ1001,100,eur,2026-07-08 08:00:00,succeeded,777\n", encoding="utf-8")
    imported = import_sources([(DATA / "stripe" / "charges.csv", "stripe"),
                               (refunds, "stripe")])
    result = correlate(imported.log, load_sources_config())
    assert set(result.log[C.CASE]) == {"re_9"}
    assert result.log[C.TICKET_ID].isna().all()  # the orphan-payout rule sees no ticket
    assert "no ticketing export" in result.unresolved.iloc[0]["reason"]
    assert result.left_out == 1  # ch_3PQ1002: a sale nobody refunded, not a refund case


def test_a_canonical_log_is_not_correlated_again() -> None:
    canonical = REPO / "sample_logs" / "refund-sample" / "canonical.csv"
    again = import_and_correlate([(canonical, None)]).log
    assert len(again) == len(import_sources([(canonical, None)]).log)
    assert again[C.EVENT_ID].is_unique


def test_charges_alone_are_sales_left_out_not_an_error() -> None:
    result = import_and_correlate([(DATA / "stripe" / "charges.csv", "stripe")])
    assert len(result.log) == 0
    assert "correlation: 2 charge event(s) that no ticket or refund refers to are sales, " \
           "not refund cases: left out" in result.notes


def events(*rows: tuple[str, str, str | None, str | None, str | None, str | None, int]
           ) -> pd.DataFrame:
    """A log as imported from exports: (event id, system, ticket, order, charge, refund,
    minute) per event, one source row each."""
    columns = [C.EVENT_ID, C.SOURCE_SYSTEM, C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID, C.REFUND_ID]
    frame = pd.DataFrame([r[:6] for r in rows], columns=columns).astype("string")
    frame[C.CASE] = frame[C.EVENT_ID]  # provisional: each record's own key
    frame[C.ACTIVITY] = "x"
    frame[C.TIMESTAMP] = pd.to_datetime([f"2026-07-01 10:{r[6]:02d}" for r in rows], utc=True)
    frame[C.SOURCE_FILE] = frame[C.SOURCE_SYSTEM].astype("str")
    frame[C.SOURCE_ROW] = range(2, len(rows) + 2)
    return frame


@pytest.mark.parametrize("release", [False, True])
def test_a_charge_two_tickets_share_is_copied_into_both_cases(release: bool) -> None:
    log = events(("z:1", "zendesk", "T1", "O1", None, None, 0),
                 ("z:2", "zendesk", "T2", "O1", None, None, 1),
                 ("s:ch", "stripe", None, "O1", "ch", None, 2),
                 ("s:sale", "stripe", None, "O9", "ch9", None, 3),
                 ("s:noid", "stripe", None, None, None, None, 4))
    names = list(log.columns)
    result = correlate(log, load_sources_config(), release=release)
    got = result.log
    # The input's columns, in its order, then what the records stated where correlation
    # gave another id (here every provisional case, an event id, is not the default one).
    assert list(got.columns) == [*names, *C.STATED.values()]
    assert len(log.columns) == (0 if release else len(names))  # given up: each column dropped
    stated = got[list(C.STATED.values())].astype("string").fillna("-")
    assert stated.values.tolist() == [
        ["z:1", "-", "-", ""], ["s:ch", "", "-", "-"],
        ["z:2", "-", "-", ""], ["s:ch", "", "-", "-"]]  # (a ticket's update: no charge)
    assert got[C.EVENT_ID].dtype == "string"
    assert got[C.EVENT_ID].tolist() == ["z:1", "s:ch@T1", "z:2", "s:ch@T2"]
    assert got[C.CASE].tolist() == ["T1", "T1", "T2", "T2"]
    assert set(got[C.CHARGE_ID]) == {"ch"} and set(got[C.ORDER_ID]) == {"O1"}
    assert result.left_out == 2  # a sale, and a charge event without a charge id
    assert result.left_out_by_file == {"stripe": 2}  # (this log's source:file)


def test_columns_taken_in_threads_correlate_as_one_at_a_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From IN_TWO_FROM events the log's first order is sorted beside the stated cases, the
    charges' codes and pairs by order are worked out beside the refunds' cases, the key
    columns are taken beside the cases' ranks, the correlated log's order is sorted, the
    tickets' and charges' orders found and the refunds' tickets and charges looked up in a
    second thread beside other work (`at_once`; the correlated log's final take stays one
    at a time): the same log, notes and problems as without threads."""
    write_sample(SampleSpec(cases=120, seed=5, violation_rate=0.5), tmp_path)
    exports = [(path, None) for path in sorted((tmp_path / "exports").iterdir())]
    monkeypatch.setattr(C, "IN_TWO_FROM", 10**9)
    one = import_and_correlate(exports)
    monkeypatch.setattr(C, "IN_TWO_FROM", 1)
    calls: list[str] = []
    at_once = C.at_once

    def counted(first: Any, second: Any, *, rows: int) -> Any:
        calls.append(first.func.__name__)
        return at_once(first, second, rows=rows)

    monkeypatch.setattr(C, "at_once", counted)
    two = import_and_correlate(exports)
    assert sorted(calls) == ["_charge_keys", "_first_order", "_positions_in", "_stated_case",
                             "_taken_list", "stable_order"]
    assert len(one.log) > 500
    pd.testing.assert_frame_equal(one.log, two.log, check_exact=True)
    assert one.notes == two.notes
    assert one.correlation_problems is not None and two.correlation_problems is not None
    pd.testing.assert_frame_equal(one.correlation_problems, two.correlation_problems)


@pytest.mark.parametrize("seed", range(4))
def test_found_in_narrowed_equals_the_lookup_of_every_label(
        monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """`_found_in` (whether each value is among the labels) gives what `_positions_in`'s
    lookup does, where the labels are narrowed to the values first (many labels, few
    values) and where they are not: missing values and labels, repeated values, values in
    several Arrow chunks, none at all."""
    import pyarrow as pa

    import audit.correlate as correlation

    rng = random.Random(seed)
    words = [f"{rng.choice(['T', 't', '#', ''])}{rng.randrange(60)}" for _ in range(80)]
    labels = pd.Index(sorted(set(rng.sample(words, 40)))
                      + ([None] if seed % 2 else []), dtype="string")
    picked = [rng.choice([*words, None]) for _ in range(30)]
    chunks = [pa.array(picked[:12], pa.large_string()), pa.array(picked[12:], pa.large_string())]
    for values in (pd.Series(picked, dtype="string"),
                   pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks)),
                             dtype="string"),
                   pd.Series([], dtype="string")):
        expected = correlation._positions_in(values, labels) >= 0
        for narrow_from in (0, 10**9):  # always narrowed, never
            monkeypatch.setattr(correlation, "NARROW_FROM", narrow_from)
            got = correlation._found_in(values, labels)
            assert got.dtype == bool and got.tolist() == expected.tolist()
    assert (correlation._positions_in(pd.Series(picked, dtype="string"), labels) >= 0).any()


def test_at_once_gives_both_results_and_joins_its_thread() -> None:
    """`at_once` runs `first` in a second thread from IN_TWO_FROM rows, in this one below;
    `second`'s error is raised once `first` is done, and no thread is left either way."""
    import threading
    import time

    def where() -> str:
        return threading.current_thread().name

    assert C.at_once(where, where, rows=0) == (threading.current_thread().name,) * 2
    first, second = C.at_once(where, where, rows=C.IN_TWO_FROM)
    assert first.startswith("at_once") and second == threading.current_thread().name
    done: list[bool] = []

    def slow() -> None:
        time.sleep(0.2)
        done.append(True)

    def fails() -> None:
        raise ValueError("second")

    before = threading.active_count()
    with pytest.raises(ValueError, match="second"):
        C.at_once(slow, fails, rows=C.IN_TWO_FROM)
    assert done == [True] and threading.active_count() == before
    with pytest.raises(KeyError):
        C.at_once(lambda: {}["x"], lambda: 1, rows=C.IN_TWO_FROM)
    assert threading.active_count() == before


def test_refunds_no_ticket_claims_form_payout_cases_named_by_their_first_refund() -> None:
    log = events(("z:1", "zendesk", "T1", "O1", None, None, 0),
                 ("s:ch", "stripe", None, "O1", "ch", None, 1),
                 ("s:re_b", "stripe", None, None, "ch", "re_b", 2),  # O1's one ticket: T1
                 ("s:re_d", "stripe", None, None, "ch_x", "re_d", 9),
                 ("s:re_c", "stripe", None, None, "ch_x", "re_c", 5),  # earlier, later row
                 ("s:re_e", "stripe", "T7", None, None, "re_e", 3))
    result = correlate(log, load_sources_config())
    case_of = dict(zip(result.log[C.EVENT_ID], result.log[C.CASE], strict=True))
    assert case_of == {"z:1": "T1", "s:ch": "T1", "s:re_b": "T1", "s:re_c": "re_c",
                       "s:re_d": "re_c", "s:re_e": "re_e"}
    # Listed in the import's (provisional case, time, file, row) order: s:re_c, s:re_d, ...
    assert result.unresolved[["row", "field", "value"]].values.tolist() == [
        [6, C.CHARGE_ID, "ch_x"], [5, C.CHARGE_ID, "ch_x"], [7, C.TICKET_ID, "T7"]]
    assert "correlation: 2 payout case(s) without a ticket" in result.notes[0]



def test_a_refund_stating_another_order_than_its_charges_follows_its_charge() -> None:
    """A refund naming no ticket belongs to the ticket that names its charge's order (the
    money trail), not the order it states; stating another one is a correlation problem.
    Before, re_1 (of ch_1, order O1) stating O2 joined ticket 200's case, ch_1 was copied
    into both cases and nothing was recorded. Naming a ticket, it stays with the ticket,
    and the other order is recorded all the same."""
    log = events(("z:1", "zendesk", "100", "O1", None, None, 0),
                 ("z:2", "zendesk", "200", "O2", None, None, 1),
                 ("s:ch_1", "stripe", None, "O1", "ch_1", None, 2),
                 ("s:ch_2", "stripe", None, "O2", "ch_2", None, 3),
                 ("s:re_1", "stripe", None, "O2", "ch_1", "re_1", 4),
                 ("s:re_2", "stripe", "200", "O2", "ch_1", "re_2", 5),
                 ("s:re_3", "stripe", None, "O1", "ch_1", "re_3", 6))  # agrees: no problem
    result = correlate(log, load_sources_config())
    case_of = dict(zip(result.log[C.EVENT_ID], result.log[C.CASE], strict=True))
    assert case_of == {"z:1": "100", "s:ch_1@100": "100", "s:re_1": "100", "s:re_3": "100",
                       "z:2": "200", "s:ch_1@200": "200", "s:ch_2": "200", "s:re_2": "200"}
    got = result.log.set_index(C.EVENT_ID)
    assert got.loc["s:re_1", C.ORDER_ID] == "O1" and got.loc["s:re_1", C.TICKET_ID] == "100"
    assert result.unresolved[["row", "field", "value", "reason"]].values.tolist() == [
        [6, C.ORDER_ID, "O2", "refund states another order than its charge ch_1's (O1): "
                              "its charge's order decides its case"],
        [7, C.ORDER_ID, "O2", "refund states another order than its charge ch_1's (O1)"]]
    assert "correlation: 2 refund(s) stating another order than their charge's " \
           "(see correlation.csv)" in result.notes
    assert not [note for note in result.notes if "reference(s)" in note]


def _audit(number: int, ticket: int, day: int, *changes: tuple[str, str]) -> dict[str, Any]:
    return {"id": number, "ticket_id": ticket, "created_at": f"2026-07-0{day}T10:00:00Z",
            "author_id": 5, "events": [{"type": "Change", "field_name": field, "value": value}
                                       for field, value in changes]}


def test_a_tickets_currency_reaches_its_updates_in_another_page(tmp_path: Path) -> None:
    """A ticket's currency is the ticket's: an update stating an amount in another page
    (or month) of a Zendesk export than the ticket's creation gets it, as in one file.
    Before, ticket 100's approval in b.json had amount 50 and no currency. A ticket
    stating none anywhere gets none."""
    stage, order, currency, requested, approved = (
        "360011110001", "360011110002", "360011110003", "360011110004", "360011110005")
    first = [_audit(1, 100, 1, (stage, "requested"), (order, "O1"), (currency, "EUR"),
                    (requested, "60.00"))]
    second = [_audit(2, 100, 2, (stage, "approved"), (approved, "50.00")),
              _audit(4, 200, 2, (stage, "requested"), (requested, "9.00"))]
    users = [{"id": 5, "name": "Ann"}]
    paths = []
    for name, audits in (("a.json", first), ("b.json", second), ("ab.json", first + second)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps({"audits": audits, "users": users}), encoding="utf-8")
    paged = import_and_correlate([(paths[0], "zendesk"), (paths[1], "zendesk")]).log
    whole = import_and_correlate([(paths[2], "zendesk")]).log

    def currencies(log: pd.DataFrame) -> dict[str, object]:
        return {str(e): None if pd.isna(c) else str(c)
                for e, c in zip(log[C.EVENT_ID], log[C.CURRENCY], strict=True)}

    assert currencies(paged) == currencies(whole) == {
        "zendesk:100:1": "EUR", "zendesk:100:2": "EUR", "zendesk:200:4": None}
    assert paged[C.CURRENCY].dtype == whole[C.CURRENCY].dtype

def test_an_amount_beyond_its_tickets_currency_in_another_page_is_refused(
        tmp_path: Path) -> None:
    """An update stating 5000.5 in a page of a Zendesk export without its JPY ticket's
    creation was imported as 5000.5 JPY (shown as 5000 or 5001): its page states no
    currency, so the import could not judge it, and correlation gave it the ticket's. In
    one export with the creation it is quarantined; across two it is now an input error
    naming the file, row and field, and where the currency was stated."""
    stage, currency, requested, approved = (
        "360011110001", "360011110003", "360011110004", "360011110005")
    first = [_audit(1, 100, 1, (stage, "requested"), (currency, "JPY"), (requested, "6000"))]
    users = [{"id": 5, "name": "Ann"}]
    for amount, refused in (("5000.5", True), ("5000", False)):
        second = [_audit(2, 100, 2, (stage, "approved"), (approved, amount))]
        paths = []
        for name, audits in (("a.json", first), ("b.json", second), ("ab.json", first + second)):
            paths.append(tmp_path / name)
            paths[-1].write_text(json.dumps({"audits": audits, "users": users}),
                                 encoding="utf-8")
        whole = import_and_correlate([(paths[2], "zendesk")])
        assert whole.quarantine["value"].tolist() == ([amount] if refused else [])
        if not refused:
            paged = import_and_correlate([(paths[0], "zendesk"), (paths[1], "zendesk")])
            assert paged.log[C.AMOUNT].tolist() == [6000.0, 5000.0]
            continue
        with pytest.raises(InputError) as caught:
            import_and_correlate([(paths[0], "zendesk"), (paths[1], "zendesk")])
        assert (caught.value.file, caught.value.row, caught.value.field) == (
            "b.json", 1, C.AMOUNT)
        assert caught.value.message == (
            "amount 5000.5 of a ticket in JPY (its currency stated at a.json row 1, its "
            "export states none): more decimals than JPY has (0): not a whole number of its "
            "minor units (an amount in JPY has at most 0 decimals)")


def test_first_by_sorted_keys_equals_pandas_groupby_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`_first_by` (runs of sorted keys) against pandas' groupby-first: sorted keys with
    missing values among the values, unsorted keys and missing keys (pandas' way then),
    text that sorts differently by bytes than by case (é, Z, 😀, 10 and 9)."""
    from audit.correlate import _first_by

    rng = random.Random(3)
    fast = 0
    for _ in range(400):
        n = rng.randrange(0, 40)
        keys: list[str | None] = [*sorted(
            rng.choice(["a", "b", "é", "Z", "10", "9", "😀", "ab"]) for _ in range(n))]
        if rng.random() < 0.3 and n:
            keys = [rng.choice(keys) for _ in range(n)]  # not sorted
        elif rng.random() < 0.1:
            keys = keys[::-1]  # descending
        if rng.random() < 0.2 and n:
            keys[rng.randrange(n)] = None
        key = pd.Series(keys, dtype="string")
        value = pd.Series([rng.choice(["O1", "O2", None, None, "O3"]) for _ in range(n)],
                          dtype="string")
        expected = value.groupby(key, sort=True).first()
        in_runs = n > 1 and None not in keys and keys == sorted(
            k for k in keys if k is not None)
        with monkeypatch.context() as patch:
            if in_runs:  # sorted keys take the runs' way: pandas' groupby is not called
                patch.setattr(pd.Series, "groupby", None)
            got = _first_by(key, value)
        pd.testing.assert_series_equal(got, expected, check_exact=True)
        assert got.index.dtype == expected.index.dtype
        if in_runs:
            fast += 1
    assert fast > 150  # the runs' way was taken, not only pandas'


def test_charge_owners_equal_a_merge_of_the_texts() -> None:
    """`_charge_owners` (integer codes, a repeat per order, one sort) against the plain way:
    pandas' merge of tickets and charges on the order, the refunds' pairs added, duplicates
    dropped, sorted by the charge's position and the case as Python compares texts (by code
    point). Tickets naming no order, "" or an order nothing sold; charges of no order; one
    order sold in several charges and named by several tickets; cases that sort differently
    by code point than by letter (é, Z, 😀). The pairs by order worked out apart from the
    refunds' (`_charge_keys`, beside the refunds' cases)."""
    from audit.correlate import _charge_keys, _charge_owners, _Refunds

    rng = random.Random(5)
    names = ["T1", "T2", "Z", "é", "😀", "t10", "T9", "re_1", "re_2"]
    orders = ["O1", "O2", "O3", "", None, "O4"]
    sizes = []
    for _ in range(300):
        charge_ids = [f"ch{k}" for k in range(rng.randrange(0, 8))]
        charges = pd.Index(charge_ids if rng.random() < 0.3 else  # the same order, or not
                           rng.sample(charge_ids, len(charge_ids)), dtype="string")
        tickets = sorted(rng.sample(names[:7], rng.randrange(0, 7)))
        order_of_ticket = pd.Series([rng.choice(orders) for _ in tickets], dtype="string",
                                    index=pd.Index(tickets, dtype="string"))
        order_of_charge = pd.Series([rng.choice(orders) for _ in charge_ids], dtype="string",
                                    index=pd.Index(charge_ids, dtype="string"))
        n = rng.randrange(0, 10) if charge_ids else 0
        named = [rng.choice(charge_ids) for _ in range(n)]
        known = [rng.random() < 0.8 for _ in range(n)]
        refunds = _Refunds(case=pd.Series([rng.choice(names) for _ in range(n)],
                                          dtype="string"),
                           charge=pd.Series([c if k else "unknown" for c, k in
                                             zip(named, known, strict=True)], dtype="string"),
                           charge_at=np.array([charge_ids.index(c) if k else -1 for c, k in
                                               zip(named, known, strict=True)], dtype=np.int64),
                           problems=[], notes=[])
        by_order = rng.random() < 0.85
        # The charge events: each charge once, in the order of `charges` (their codes).
        keys = _charge_keys(pd.Series(list(charges), dtype="string"), order_of_ticket,
                            order_of_charge, by_order=by_order)
        assert list(keys.charges) == list(charges)
        codes, cases = _charge_owners(refunds, keys)
        pairs = [pd.DataFrame({"charge": refunds.charge[known], "case": refunds.case[known]})]
        if by_order:
            stated = order_of_ticket[order_of_ticket.fillna("") != ""]
            sold = order_of_charge.dropna()
            pairs.append(pd.DataFrame({"case": list(stated.index), "order": list(stated)})
                         .merge(pd.DataFrame({"charge": list(sold.index),
                                              "order": list(sold)}), on="order")
                         [["charge", "case"]])
        position = {charge: k for k, charge in enumerate(charges)}
        expected = sorted({(position[c], str(t)) for frame in pairs
                           for c, t in zip(frame["charge"], frame["case"], strict=True)})
        got = list(zip(codes.tolist(), cases.to_pylist(), strict=True))
        assert got == expected
        sizes.append(len(got))
    assert sum(sizes) > 500 and max(sizes) > 6  # pairs from both ways, several per charge


@pytest.mark.parametrize("systems", [["zendesk", "jira", "stripe", "adyen", "csv"],
                                     ["zendesk", "jira", "stripe", "adyen"]])
def test_fill_case_ids_equals_a_case_by_case_reading(systems: list[str]) -> None:
    """`_fill_case_ids` against a plain reading of each case: the first ticket id its
    ticketing events state, the first order id any of its events states, and its charge
    where its charge events name exactly one (else each event keeps its own). Missing ids
    among them, empty texts (stated, so first), events of no source (left as they are).
    With every event a source's, the three columns come per case, taken as columns. What
    each event stated where it differs (the STATED columns), compared per run of
    neighbours of one case stating one value."""
    from audit.correlate import _fill_case_ids


    config = load_sources_config()
    rng = random.Random(11)
    for _ in range(60):
        n = rng.randrange(1, 60)
        ids = [None, "", "A1", "B2", "é3"]
        frame = pd.DataFrame({
            C.CASE: [rng.choice(["c1", "c2", "c3", "😀", "c10"]) for _ in range(n)],
            C.SOURCE_SYSTEM: [rng.choice(systems) for _ in range(n)],
            C.TICKET_ID: [rng.choice(ids) for _ in range(n)],
            C.ORDER_ID: [rng.choice(ids) for _ in range(n)],
            C.CHARGE_ID: [rng.choice(ids) for _ in range(n)],
            C.REFUND_ID: [rng.choice([None, None, "re_1"]) for _ in range(n)]},
        ).astype("string")
        if rng.random() < 0.5:  # a case's events neighbours, as correlation gives them
            frame = frame.sort_values(C.CASE, kind="stable").reset_index(drop=True)
        is_source = frame[C.SOURCE_SYSTEM].isin([*config.ticketing, *config.payments])
        expected = frame.copy()
        rows = list(frame.itertuples(index=False, name=None))
        names = list(frame.columns)
        col = {name: k for k, name in enumerate(names)}
        for case in set(frame[C.CASE]):
            members = [k for k, row in enumerate(rows) if row[col[C.CASE]] == case
                       and bool(is_source.iloc[k])]
            ticketing = [k for k in members if rows[k][col[C.SOURCE_SYSTEM]]
                         in config.ticketing]
            charges = [k for k in members if rows[k][col[C.SOURCE_SYSTEM]]
                       not in config.ticketing and rows[k][col[C.REFUND_ID]] is pd.NA]
            stated = [rows[k][col[C.TICKET_ID]] for k in ticketing
                      if rows[k][col[C.TICKET_ID]] is not pd.NA]
            orders = [rows[k][col[C.ORDER_ID]] for k in members
                      if rows[k][col[C.ORDER_ID]] is not pd.NA]
            named = [rows[k][col[C.CHARGE_ID]] for k in charges
                     if rows[k][col[C.CHARGE_ID]] is not pd.NA]
            for k in members:
                expected.iat[k, col[C.TICKET_ID]] = stated[0] if stated else pd.NA
                expected.iat[k, col[C.ORDER_ID]] = orders[0] if orders else pd.NA
                if len(set(named)) == 1:
                    expected.iat[k, col[C.CHARGE_ID]] = named[0]
        got, per_case, stated = _fill_case_ids([frame.copy()], is_source=is_source,
                                               config=config)
        assert bool(per_case) == bool(is_source.all())
        positions = rng.sample(range(n), n)  # taken in any order, as the correlation does
        for name, column in per_case.items():
            assert name not in got.columns
            got[name] = pd.Series(column.take(np.asarray(positions)), index=positions)
        pd.testing.assert_frame_equal(got[list(expected.columns)], expected)
        # What each event stated where it was given another id ("": none), else missing.
        for name in (C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID):
            own, given = frame[name].tolist(), expected[name].tolist()
            assert pd.Series(stated[name]).astype(object).where(
                pd.Series(stated[name]).notna(), None).tolist() == [
                None if (a is pd.NA and b is pd.NA) or (
                    a is not pd.NA and b is not pd.NA and a == b)
                else ("" if a is pd.NA else a) for a, b in zip(own, given, strict=True)]


@pytest.mark.parametrize("other", [False, True])
def test_an_event_without_a_case_gives_no_case_its_ids(other: bool) -> None:
    """A ticketing event without a ticket id has no case: it gets no case's ticket, order
    or charge, and gives none to another case (its case code, -1, once picked the last
    case's values, and its order became the last case's). With an event of a system that
    is neither ticketing nor payments, the ids are replaced in place instead of per case."""
    rows = [("z:1", "zendesk", None, "O1", "chx", None, 0),
            ("z:2", "zendesk", "T2", "O2", None, None, 1),
            ("z:3", "zendesk", "T3", "O3", None, None, 2)]
    if other:
        rows.append(("crm:1", "crm", None, None, None, None, 3))
    got = correlate(events(*rows), load_sources_config()).log.set_index(C.EVENT_ID)
    assert got.loc["z:3", C.CASE] == "T3" and got.loc["z:3", C.ORDER_ID] == "O3"
    assert got.loc["z:2", C.ORDER_ID] == "O2"
    assert pd.isna(got.loc["z:1", C.CASE]) and pd.isna(got.loc["z:1", C.TICKET_ID])
    assert pd.isna(got.loc["z:1", C.ORDER_ID])
    assert got.loc["z:1", C.CHARGE_ID] == "chx"  # its own, as every event keeps its own


def test_a_refund_naming_a_ticket_of_another_order_than_its_charges_is_recorded() -> None:
    """A refund that names ticket T1 (order O1) but refunds ch_2, the charge of order O2
    (ticket T2's), pays the money of one order against the ticket of another: it stays with
    the ticket it names (as a refund stating another order does), and is listed among the
    correlation problems. Before, it joined T1 with ch_2 copied in, and nothing was
    recorded unless the refund itself stated an order."""
    log = events(("z:1", "zendesk", "T1", "O1", None, None, 0),
                 ("z:2", "zendesk", "T2", "O2", None, None, 1),
                 ("s:ch_1", "stripe", None, "O1", "ch_1", None, 2),
                 ("s:ch_2", "stripe", None, "O2", "ch_2", None, 3),
                 ("s:re_1", "stripe", "T1", None, "ch_2", "re_1", 4),
                 ("s:re_2", "stripe", "T2", None, "ch_2", "re_2", 5),  # agrees
                 ("s:re_3", "stripe", "T1", "O2", "ch_2", "re_3", 6))  # states its charge's
    result = correlate(log, load_sources_config())
    case_of = dict(zip(result.log[C.EVENT_ID], result.log[C.CASE], strict=True))
    assert {e: case_of[e] for e in ("s:re_1", "s:re_2", "s:re_3")} == {
        "s:re_1": "T1", "s:re_2": "T2", "s:re_3": "T1"}
    assert result.unresolved[["row", "field", "value", "reason"]].values.tolist() == [
        [6, C.TICKET_ID, "T1", "refund names ticket T1, whose order is O1, but refunds "
                               "charge ch_2 of order O2 (kept in the ticket's case)"],
        [8, C.TICKET_ID, "T1", "refund names ticket T1, whose order is O1, but refunds "
                               "charge ch_2 of order O2 (kept in the ticket's case)"]]
    assert "correlation: 2 refund(s) naming a ticket of another order than their charge's " \
           "(see correlation.csv)" in result.notes
    assert not [note for note in result.notes if "reference(s)" in note]


def test_a_refund_whose_order_several_tickets_name_says_why_it_has_no_ticket() -> None:
    """Two tickets name order O1; a refund of its charge naming no ticket cannot be given
    to either, and is kept as a payout case of its own (orphan-payout flags it). Before,
    nothing said that tickets do name its order: the case read as a payout no ticket
    asked for. Now the correlation problems name the order (field order:id)."""
    log = events(("z:1", "zendesk", "T1", "O1", None, None, 0),
                 ("z:2", "zendesk", "T2", "O1", None, None, 1),
                 ("s:ch_1", "stripe", None, "O1", "ch_1", None, 2),
                 ("s:re_1", "stripe", None, None, "ch_1", "re_1", 3),
                 ("z:3", "zendesk", "T3", "O3", None, None, 4),
                 ("s:re_3", "stripe", None, "O3", "ch_9", "re_3", 5))  # O3's one ticket
    result = correlate(log, load_sources_config())
    case_of = dict(zip(result.log[C.EVENT_ID], result.log[C.CASE], strict=True))
    assert case_of["s:re_1"] == "re_1" and case_of["s:re_3"] == "T3"
    assert result.unresolved[["row", "field", "value", "reason"]].values.tolist() == [
        [5, C.ORDER_ID, "O1", "refund names no ticket, and several tickets name its "
                              "order: kept as a payout case of its own"],
        [7, C.CHARGE_ID, "ch_9", "refund names a charge no payment export contains"]]
    assert "correlation: 1 refund(s) whose order several tickets name (see " \
           "correlation.csv)" in result.notes


def test_a_refund_naming_its_ticket_and_a_charge_no_export_holds_is_listed() -> None:
    """A quarter's PayPal download without the payment a refund names (captured the quarter
    before): the refund names its ticket (Custom Number) and a charge (Reference Txn ID)
    that no input holds. Before, such a refund was counted in a note alone, and listed in
    correlation.csv only where it named no ticket (re_3 below): which refunds, and which
    charges to fetch, the auditor could not tell. Now each is listed, as docs/sources.md
    says, whether it names its ticket or not."""
    log = events(("j:1", "jira", "T1", "O1", None, None, 0),
                 ("p:re_1", "paypal", "T1", "O1", "ch_8", "re_1", 1),  # names its ticket
                 ("p:re_2", "paypal", "T1", "O1", "ch_1", "re_2", 2),
                 ("p:ch_1", "paypal", None, "O1", "ch_1", None, 3),
                 ("j:3", "jira", "T3", "O3", None, None, 4),
                 ("p:re_3", "paypal", None, "O3", "ch_9", "re_3", 5))  # names none
    result = correlate(log, load_sources_config())
    case_of = dict(zip(result.log[C.EVENT_ID], result.log[C.CASE], strict=True))
    assert case_of["p:re_1"] == case_of["p:re_2"] == "T1" and case_of["p:re_3"] == "T3"
    assert result.unresolved[["row", "field", "value", "reason"]].values.tolist() == [
        [3, C.CHARGE_ID, "ch_8", "refund names a charge no payment export contains"],
        [7, C.CHARGE_ID, "ch_9", "refund names a charge no payment export contains"]]
    assert "correlation: 2 reference(s) to ids no export contains (see correlation.csv)" \
        in result.notes
    assert any(n.startswith("correlation: 2 refund(s) name a charge that no input holds")
               for n in result.notes)


def test_a_ticket_stating_several_orders_is_said(tmp_path: Path) -> None:
    """A Zendesk ticket whose order field is changed (a corrected order, or one ticket for
    two orders) is correlated by the first order it states: the charges of the other, and
    their refunds that name no ticket, are not in its case. Before, nothing said so: the
    refund of EC-2's charge became a payout case without a ticket, and ticket 100's case
    held EC-1's charge, silently. Now the import's notes name the ticket and its orders
    (a ticket stating one order twice, or with spaces around it, states one)."""
    stage, order = "360011110001", "360011110002"
    audits = [_audit(1, 100, 1, (stage, "requested"), (order, "EC-1")),
              _audit(2, 100, 2, (stage, "evidence_collected"), (order, "EC-2")),
              _audit(3, 200, 1, (stage, "requested"), (order, "EC-3")),
              _audit(4, 200, 2, (stage, "evidence_collected"), (order, " EC-3 "))]
    (tmp_path / "z.json").write_text(json.dumps({"audits": audits,
                                                 "users": [{"id": 5, "name": "Ann"}]}))
    (tmp_path / "charges.csv").write_text(
        "id,amount,currency,created,status,payment_method_type,order_id (metadata)\n"
        "ch_1,1000,eur,2026-06-30 10:00:00,succeeded,card,EC-1\n"
        "ch_2,1000,eur,2026-06-30 11:00:00,succeeded,card,EC-2\n", encoding="utf-8")
    (tmp_path / "refunds.csv").write_text(
        "id,charge,amount,currency,created,status,ticket_id (metadata)\n"
        "re_2,ch_2,1000,eur,2026-07-03 10:00:00,succeeded,\n", encoding="utf-8")
    result = import_and_correlate([(tmp_path / "z.json", "zendesk"),
                                   (tmp_path / "charges.csv", "stripe"),
                                   (tmp_path / "refunds.csv", "stripe")])
    case_of = dict(zip(result.log[C.EVENT_ID], result.log[C.CASE], strict=True))
    assert case_of["stripe:ch_1"] == "100" and case_of["stripe:re_2"] == "re_2"
    said = [note for note in result.notes if "several orders" in note]
    assert said == [
        "z.json: 1 ticket(s) state several orders in 360011110002; each is correlated by "
        "one, its own field where the export gives it, else the first its updates state "
        "(the charges of the others, and their refunds that name no ticket, are not in its "
        "case): the first, ticket 100: EC-1, EC-2, correlated by EC-1"]


def test_a_ticket_stating_another_order_in_another_export_is_said(tmp_path: Path) -> None:
    """Ticket 100 states EC-1 in one page of a Zendesk export and EC-2 in the next: each
    export gives its updates the order it states, and correlation takes the first. Before,
    nothing said that the ticket states another (in one export, its reader's note does):
    now correlation's notes name the ticket and its orders, whichever way its events come
    (in runs of their ticket, as imported, or not: a log of provisional cases of another
    kind)."""
    stage, order = "360011110001", "360011110002"
    pages = {"a.json": [_audit(1, 100, 1, (stage, "requested"), (order, "EC-1")),
                        _audit(3, 200, 1, (stage, "requested"), (order, "EC-3"))],
             "b.json": [_audit(2, 100, 2, (stage, "approved"), (order, "EC-2")),
                        _audit(4, 200, 2, (stage, "approved"))]}
    for name, audits in pages.items():
        (tmp_path / name).write_text(json.dumps({"audits": audits,
                                                 "users": [{"id": 5, "name": "Ann"}]}))
    result = import_and_correlate([(tmp_path / name, "zendesk") for name in pages])
    assert set(result.log.loc[result.log[C.CASE] == "100", C.ORDER_ID]) == {"EC-1"}
    expected = ("correlation: 1 ticket(s) state several orders (in different exports, or "
                "rows of a log); each is correlated by the first (the charges of the others, "
                "and their refunds "
                "that name no ticket, are not in its case): the first, ticket 100: EC-1, "
                "EC-2")
    assert [note for note in result.notes if "several orders" in note] == [expected]
    log = events(("z:9", "zendesk", "T2", "O7", None, None, 0),
                 ("z:1", "zendesk", "T1", "O1", None, None, 1),
                 ("z:2", "zendesk", "T1", "O2", None, None, 2),
                 ("z:3", "zendesk", "T1", None, None, None, 3),
                 ("z:4", "zendesk", "T2", "O7", None, None, 4))
    notes = correlate(log, load_sources_config()).notes
    assert [note for note in notes if "several orders" in note] == [
        expected.replace("ticket 100: EC-1, EC-2", "ticket T1: O1, O2")]


@pytest.mark.parametrize("narrow_from", [0, 10**9])
def test_a_ticket_named_as_written_differently_is_said_not_joined(
        monkeypatch: pytest.MonkeyPatch, narrow_from: int) -> None:
    """A refund naming `#101` or `0101` (Zendesk's ticket 101) or `rfd-7` (Jira's RFD-7)
    names a ticket no export holds, as ids are compared as written: kept as a case of its
    own, as before. Before, its correlation problem did not say that a ticket written alike
    is held, so the payout read as one no ticket asked for; now the reason names it. A name
    alike to none (999), or to two (`#abc` for ABC and abc), names none. The same whether
    the held ids are narrowed to the spellings first or not (`_found_in`)."""
    import audit.correlate as correlation

    monkeypatch.setattr(correlation, "NARROW_FROM", narrow_from)
    log = events(("z:1", "zendesk", "101", "O1", None, None, 0),
                 ("j:1", "jira", "RFD-7", "O2", None, None, 0),
                 ("j:2", "jira", "ABC", "O3", None, None, 0),
                 ("j:3", "jira", "abc", "O4", None, None, 0),
                 ("s:a", "stripe", "#101", None, None, "re_a", 1),
                 ("s:b", "stripe", "0101", None, None, "re_b", 2),
                 ("s:c", "stripe", "rfd-7", None, None, "re_c", 3),
                 ("s:d", "stripe", "999", None, None, "re_d", 4),
                 ("s:e", "stripe", "#abc", None, None, "re_e", 5))
    result = correlate(log, load_sources_config())
    case_of = dict(zip(result.log[C.EVENT_ID], result.log[C.CASE], strict=True))
    assert [case_of[f"s:{k}"] for k in "abcde"] == ["re_a", "re_b", "re_c", "re_d", "re_e"]
    unknown = ("refund names a ticket no ticketing export contains (kept as a case of its "
               "own)")

    def alike(ticket: str) -> str:
        return (f"{unknown}; ticket {ticket} is written alike (but for letter case, a leading "
                "'#' or leading zeros): not joined to it, ids are compared as written")

    assert result.unresolved[["value", "reason"]].values.tolist() == [
        ["#101", alike("101")], ["0101", alike("101")], ["rfd-7", alike("RFD-7")],
        ["999", unknown], ["#abc", unknown]]


def test_a_tickets_first_order_and_currency_do_not_depend_on_the_rows_order(
        tmp_path: Path) -> None:
    """A ticket's order and currency are the first its updates state by time, whatever
    order the export lists its updates in (a list newest first, JSON lines as appended).
    Before, the first in reading order: the same audits listed newest first gave ticket
    100 order EC-2 and currency USD (and EC-2's charge and refund), oldest first EC-1 and
    EUR."""
    stage, order, currency, requested = ("360011110001", "360011110002", "360011110003",
                                         "360011110004")
    audits = [_audit(1, 100, 1, (stage, "requested"), (order, "EC-1"), (currency, "EUR"),
                     (requested, "10.00")),
              _audit(2, 100, 2, (stage, "evidence_collected"), (order, "EC-2"),
                     (currency, "USD"))]
    (tmp_path / "charges.csv").write_text(
        "id,amount,currency,created,status,payment_method_type,order_id (metadata)\n"
        "ch_1,1000,eur,2026-06-30 10:00:00,succeeded,card,EC-1\n"
        "ch_2,1000,usd,2026-06-30 11:00:00,succeeded,card,EC-2\n", encoding="utf-8")
    got = []
    for name, listed in (("old_first.json", audits), ("new_first.json", audits[::-1])):
        (tmp_path / name).write_text(json.dumps({"audits": listed,
                                                 "users": [{"id": 5, "name": "Ann"}]}))
        log = import_and_correlate([(tmp_path / name, "zendesk"),
                                    (tmp_path / "charges.csv", "stripe")]).log
        ticket = log[log[C.SOURCE_SYSTEM] == "zendesk"]
        got.append((set(ticket[C.ORDER_ID]), set(ticket[C.CURRENCY].dropna()),
                    sorted(log.loc[log[C.CASE] == "100", C.EVENT_ID])))
    assert got[0] == got[1] == ({"EC-1"}, {"EUR"}, [
        "stripe:ch_1", "zendesk:100:1", "zendesk:100:2"])


@pytest.mark.parametrize("narrow_from", [0, 10**9])
def test_a_payout_case_is_not_merged_into_a_ticket_sharing_its_name(
        monkeypatch: pytest.MonkeyPatch, narrow_from: int) -> None:
    """A refund naming no ticket, of a charge no ticket claims, is a payout case named by
    its first refund id. Where that id is also a ticket's (a merchant's own modification
    reference set to the ticket number), the payout was merged into the ticket's case,
    given the ticket's id, and orphan-payout could not see it. Now the case is named
    `payout:<refund id>` and recorded. The same whether the ticket ids are narrowed to the
    payout names first or not (`_found_in`)."""
    import audit.correlate as correlation

    monkeypatch.setattr(correlation, "NARROW_FROM", narrow_from)
    log = events(("z:1", "servicenow", "CS0000042", "O1", None, None, 0),
                 ("a:ch", "adyen", None, "O9", "PSP9", None, 1),
                 ("a:re", "adyen", None, None, "PSP9", "CS0000042", 2),
                 ("a:re2", "adyen", None, None, "PSP9", "ADR2", 3))
    result = correlate(log, load_sources_config())
    case_of = dict(zip(result.log[C.EVENT_ID], result.log[C.CASE], strict=True))
    assert case_of == {"z:1": "CS0000042", "a:ch": "payout:CS0000042",
                       "a:re": "payout:CS0000042", "a:re2": "payout:CS0000042"}
    assert result.log.loc[result.log[C.CASE] == "payout:CS0000042", C.TICKET_ID].isna().all()
    assert result.unresolved[["row", "field", "value", "reason"]].values.tolist() == [
        [4, C.REFUND_ID, "CS0000042", "refund id CS0000042 names a payout case without a "
                                      "ticket, and is also a ticket's id: the case is named "
                                      "payout:CS0000042, not merged into the ticket's"]]
    assert "correlation: 1 payout case(s) whose first refund id is a ticket's id (see " \
           "correlation.csv)" in result.notes


def test_one_ticket_id_in_two_ticketing_systems_is_two_cases_never_merged() -> None:
    """Zendesk's ticket 101 and a ServiceNow ticket numbered 101 are two tickets. Before,
    both were keyed by the id alone: their updates, charges and refunds merged silently
    into one case `101`. Now each is a case of its own, named `<system>:<id>` only where
    the ids clash (ticket 102 keeps its name); a refund naming 101 joins the one whose
    order is its charge's (or, without a charge of the run, the one it states), and one
    that no order tells apart joins neither: it is recorded as ambiguous and kept as a
    payout case of its own."""
    log = events(("s:1", "servicenow", "101", "O2", None, None, 0),
                 ("z:1", "zendesk", "101", "O1", None, None, 1),
                 ("z:2", "zendesk", "101", "O1", None, None, 2),
                 ("z:3", "zendesk", "102", "O3", None, None, 3),
                 ("st:ch1", "stripe", None, "O1", "ch1", None, 4),
                 ("st:ch2", "stripe", None, "O2", "ch2", None, 5),
                 ("st:re1", "stripe", "101", None, "ch1", "re1", 6),  # O1's: Zendesk's
                 ("st:re2", "stripe", "101", "O2", "ch9", "re2", 7),  # states O2
                 ("st:re3", "stripe", "101", None, "ch9", "re3", 8),  # no order: neither
                 ("st:re4", "stripe", "102", None, "ch9", "re4", 9))
    result = correlate(log, load_sources_config())
    case_of = dict(zip(result.log[C.EVENT_ID], result.log[C.CASE], strict=True))
    assert case_of == {
        "s:1": "servicenow:101", "st:ch2": "servicenow:101", "st:re2": "servicenow:101",
        "z:1": "zendesk:101", "z:2": "zendesk:101", "st:ch1": "zendesk:101",
        "st:re1": "zendesk:101", "z:3": "102", "st:re4": "102", "st:re3": "re3"}
    # Each case keeps its ticket's id and its own order (a payout case has no ticket: the
    # ticket its refund named is what the record stated).
    cases = result.log.groupby(C.CASE)
    assert cases[C.TICKET_ID].first().to_dict() == {
        "servicenow:101": "101", "zendesk:101": "101", "102": "102", "re3": None}
    assert result.log.loc[result.log[C.EVENT_ID] == "st:re3",
                          C.STATED[C.TICKET_ID]].astype(str).tolist() == ["101"]
    assert cases[C.ORDER_ID].first().to_dict()["servicenow:101"] == "O2"
    assert cases[C.ORDER_ID].first().to_dict()["zendesk:101"] == "O1"
    problems = result.unresolved[["row", "field", "value", "reason"]].values.tolist()
    assert [10, C.TICKET_ID, "101",
            "ambiguous: refund names ticket 101, which several ticketing systems hold "
            "(cases servicenow:101, zendesk:101), and no order of its charge or its own "
            "tells them apart: kept as a payout case of its own, given to none"] in problems
    assert not [p for p in problems if p[1] == C.TICKET_ID and p[0] != 10]  # none unknown
    assert result.notes[0] == (
        "correlation: 1 ticket id(s) are held by several ticketing systems: each system's "
        "ticket is a case of its own, named <system>:<id>, never merged (the first: 101, "
        "cases servicenow:101, zendesk:101); a refund naming such an id joins the one "
        "whose order is its charge's (or the one it states), else none")
    assert "correlation: 2 refund(s) naming a ticket id that several ticketing systems " \
           "hold joined the one whose order is their charge's (or the one they state)" \
           in result.notes
    assert "correlation: 1 refund(s) naming a ticket id that several ticketing systems " \
           "hold, which no order tells apart (see correlation.csv)" in result.notes
    # Ticket events not in runs of their ids (provisional cases of another kind): alike.
    shuffled = correlate(events(("a:1", "zendesk", "101", "O1", None, None, 0),
                                ("b:1", "zendesk", "102", "O3", None, None, 1),
                                ("c:1", "servicenow", "101", "O2", None, None, 2),
                                ("d:1", "zendesk", "101", "O1", None, None, 3)),
                         load_sources_config())
    assert dict(zip(shuffled.log[C.EVENT_ID], shuffled.log[C.CASE], strict=True)) == {
        "a:1": "zendesk:101", "d:1": "zendesk:101", "b:1": "102", "c:1": "servicenow:101"}
    # A ticket stating no order is told apart from one that states the refund's.
    unordered = correlate(events(("s:1", "servicenow", "101", None, None, None, 0),
                                 ("z:1", "zendesk", "101", "O1", None, None, 1),
                                 ("st:ch1", "stripe", None, "O1", "ch1", None, 2),
                                 ("st:re1", "stripe", "101", None, "ch1", "re1", 3)),
                          load_sources_config())
    assert dict(zip(unordered.log[C.EVENT_ID], unordered.log[C.CASE], strict=True)) == {
        "s:1": "servicenow:101", "z:1": "zendesk:101", "st:ch1": "zendesk:101",
        "st:re1": "zendesk:101"}
    # The same ids in one system are one ticket, as before (pages of one export).
    alone = correlate(events(("z:1", "zendesk", "101", "O1", None, None, 0),
                             ("z:2", "zendesk", "101", "O1", None, None, 1)),
                      load_sources_config())
    assert set(alone.log[C.CASE]) == {"101"}
    assert not [n for n in alone.notes if "several ticketing systems" in n]


SERVICENOW_101 = (
    "sys_id,tablename,documentkey,fieldname,oldvalue,newvalue,user,sys_created_on,"
    "record_checkpoint,reason\n"
    "a01,sn_customerservice_case,k1,number,,101,felix,2026-07-06 09:15:00,0,\n"
    "a02,sn_customerservice_case,k1,u_order_number,,OF-9,felix,2026-07-06 09:15:00,0,\n"
    "a03,sn_customerservice_case,k1,u_refund_stage,,requested,felix,"
    "2026-07-06 09:15:00,0,\n")
"""A ServiceNow sys_audit export whose case is numbered 101, as a Zendesk ticket of the
bundled audits is, of another order (OF-9)."""


def test_two_ticketing_exports_sharing_a_ticket_id_import_as_two_cases(
        tmp_path: Path) -> None:
    """End to end: the bundled Zendesk audits (tickets 101 and 102) and a ServiceNow
    sys_audit export whose record is numbered 101, with the Stripe exports whose refunds
    name ticket 101 and refund the charge of Zendesk 101's order: two cases, the refunds
    in Zendesk's; the ServiceNow ticket's updates in its own. The ids the records stated
    are kept (a ticket's events and the refunds state 101, not the case's name)."""
    (tmp_path / "sys_audit.csv").write_text(SERVICENOW_101, encoding="utf-8")
    inputs: list[tuple[Path, str | None]] = [
        (DATA / "zendesk" / "ticket_audits.json", "zendesk"),
        (tmp_path / "sys_audit.csv", "servicenow"),
        (DATA / "stripe" / "charges.csv", "stripe"), (DATA / "stripe" / "refunds.csv", "stripe")]
    result = import_and_correlate(inputs)
    log = result.log
    cases = set(log[C.CASE].astype(str))
    assert {"zendesk:101", "servicenow:101", "102"} <= cases and "101" not in cases
    servicenow = log[log[C.SOURCE_SYSTEM].astype(str) == "servicenow"]
    assert set(servicenow[C.CASE].astype(str)) == {"servicenow:101"}
    assert set(servicenow[C.ORDER_ID].astype(str)) == {"OF-9"}
    refunds = log[log[C.EVENT_ID].astype(str).isin(["stripe:re_3PR2001", "stripe:re_3PR2002"])]
    assert set(refunds[C.CASE].astype(str)) == {"zendesk:101"}
    assert set(log.loc[log[C.CASE] == "zendesk:101", C.TICKET_ID].astype(str)) == {"101"}
    assert any(note.startswith("correlation: 1 ticket id(s) are held by several ticketing "
                               "systems") for note in result.notes)


def test_a_months_run_keeps_two_systems_tickets_of_one_id_apart(tmp_path: Path) -> None:
    """The log imported from both systems' exports, given beside the next month's refunds:
    its events are taken back and correlated again with them, so the two tickets stay two
    cases, a new refund of Zendesk 101's charge joins Zendesk's, and one whose order tells
    neither apart joins none (recorded as ambiguous)."""
    from click.testing import CliRunner

    from audit.cli import main

    (tmp_path / "sys_audit.csv").write_text(SERVICENOW_101, encoding="utf-8")
    (tmp_path / "refunds2.csv").write_text(
        "id,charge,amount,currency,created,status,ticket_id (metadata)\n"
        "re_9,ch_3PQ1001,100,eur,2026-08-07 13:45:00,succeeded,101\n"
        "re_10,ch_X,100,eur,2026-08-07 13:46:00,succeeded,101\n", encoding="utf-8")
    july, august = tmp_path / "july.parquet", tmp_path / "aug.parquet"
    runner = CliRunner()
    result = runner.invoke(main, [
        "import", "--source", f"zendesk:{DATA / 'zendesk' / 'ticket_audits.json'}",
        "--source", f"servicenow:{tmp_path / 'sys_audit.csv'}",
        "--source", f"stripe:{DATA / 'stripe' / 'charges.csv'}",
        "--source", f"stripe:{DATA / 'stripe' / 'refunds.csv'}", "--out", str(july)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["import", str(july), "--source",
                                  f"stripe:{tmp_path / 'refunds2.csv'}", "--out", str(august)])
    assert result.exit_code == 0, result.output
    log = pd.read_parquet(august)
    case_of = dict(zip(log[C.EVENT_ID].astype(str), log[C.CASE].astype(str), strict=True))
    assert case_of["servicenow:k1:0"] == "servicenow:101"
    assert {case_of[e] for e in ("zendesk:101:9001", "stripe:re_3PR2001", "stripe:re_9")} \
        == {"zendesk:101"}
    assert case_of["stripe:re_10"] == "re_10"
    problems = pd.read_csv(tmp_path / "aug.correlation.csv", dtype=str)
    assert problems.loc[problems["field"] == C.TICKET_ID, ["file", "value"]] \
        .values.tolist() == [["refunds2.csv", "101"]]


def test_case_ranks_rank_the_cases_as_their_texts_sort() -> None:
    """`_case_ranks` against ranks read off the sorted distinct texts: the middle part's
    runs (sorted by code point: é after Z, 10 before 9, 😀 last) and the other parts'
    cases looked up among them or placed between them (payout cases no ticket has), equal
    texts equal ranks, missing cases -1; None where the middle part is not sorted or has
    a missing case."""
    from audit.correlate import _case_ranks

    rng = random.Random(11)
    words = ["a", "ab", "b", "é", "Z", "10", "9", "😀", "payout:7", "T1", "T10", "T2"]
    ranked = 0
    for _ in range(400):
        middle: list[str | None] = sorted(rng.choice(words) for _ in range(rng.randrange(0, 30)))
        head: list[str | None] = [rng.choice([*words, "c", "zz", None])
                                  for _ in range(rng.randrange(0, 5))]
        tail: list[str | None] = [rng.choice([*words, "aa", "é9", "", None])
                                  for _ in range(rng.randrange(0, 20))]
        unsorted = rng.random() < 0.1 and len(set(middle)) > 1
        if unsorted:
            middle = middle[::-1]
        missing = rng.random() < 0.05 and len(middle) > 1
        if missing:
            middle[0] = None
        got = _case_ranks(*(pd.Series(part, dtype="string") for part in (head, middle, tail)))
        if unsorted or missing or len(middle) < 2:
            assert got is None
            continue
        assert got is not None
        ranked += 1
        texts = [*head, *middle, *tail]
        order = sorted({t for t in texts if t is not None})  # Python's str order: code points
        expected = [-1 if t is None else order.index(t) for t in texts]
        assert got.tolist() == expected
    assert ranked > 250


@pytest.mark.parametrize("seed", [5, 6])
def test_correlation_sorted_on_case_ranks_equals_sorted_on_texts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """The correlated log sorted and its cases grouped by their ranks (`_case_ranks`) is
    the log sorted by the cases' texts, as before: the same order of events, ties of one
    case at one time included (a ticket's update and its refund, the copies of a charge),
    payout cases placed among the tickets' cases, and the same ids given per case, notes
    and problems."""
    import audit.correlate as correlation

    write_sample(SampleSpec(cases=150, seed=seed, violation_rate=0.5), tmp_path)
    exports = [(path, None) for path in sorted((tmp_path / "exports").iterdir())]
    ranks = correlation._case_ranks
    used: list[bool] = []

    def counted(*parts: pd.Series) -> np.ndarray | None:
        got = ranks(*parts)
        used.append(got is not None)
        return got

    monkeypatch.setattr(correlation, "_case_ranks", counted)
    fast = import_and_correlate(exports)
    monkeypatch.setattr(correlation, "_case_ranks", lambda *parts: None)
    texts = import_and_correlate(exports)
    assert used == [True]
    log = fast.log
    assert len(log) > 500
    payouts = log.loc[log[C.TICKET_ID].isna(), C.CASE].nunique()
    assert payouts > 0  # cases no ticket has, placed by the binary search
    pd.testing.assert_frame_equal(log, texts.log, check_exact=True)
    assert fast.notes == texts.notes
    assert fast.correlation_problems is not None and texts.correlation_problems is not None
    pd.testing.assert_frame_equal(fast.correlation_problems, texts.correlation_problems)


def test_ties_and_payout_cases_sort_alike_on_case_ranks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random logs keyed as the exports' import keys them (a ticket's updates by its ticket
    id, a refund by its refund id, a charge by its charge id), with many events of one case
    at one minute (ties, ordered by file and row), refunds naming tickets that no export
    has, refunds naming none (payout cases, and tickets claiming them by order), charges
    of an order two tickets name (copied into both) and ids sorting differently by code
    point than by letter case: correlated on the cases' ranks, the same log as on their
    texts."""
    import audit.correlate as correlation

    rng = random.Random(17)
    tickets = ["T1", "T10", "T2", "t3", "é4", "Z5", "😀6"]
    ranked = 0
    for _ in range(60):
        rows: list[tuple[str, str, str | None, str | None, str | None, str | None, int]] = []
        for n in range(rng.randrange(4, 30)):
            kind = rng.random()
            order = rng.choice(["O1", "O2", "O3", None])
            if kind < 0.5:
                rows.append((f"z:{n}", "zendesk", rng.choice(tickets), order, None, None,
                             rng.randrange(3)))
            elif kind < 0.75:
                rows.append((f"s:{n}", "stripe", None, order, rng.choice(["ch1", "ch2", "ch3"]),
                             None, rng.randrange(3)))
            else:
                rows.append((f"r:{n}", "stripe", rng.choice([*tickets, "T99", None, None]),
                             order, rng.choice(["ch1", "ch2", "ch9", None]), f"re{n % 4}",
                             rng.randrange(3)))
        log = events(*rows)
        log[C.CASE] = log[C.TICKET_ID].where(log[C.SOURCE_SYSTEM].eq("zendesk"),
                                             log[C.REFUND_ID].fillna(log[C.CHARGE_ID]))
        log[C.CASE] = log[C.CASE].fillna(log[C.EVENT_ID])
        used: list[bool] = []
        ranks = correlation._case_ranks

        def counted(*parts: pd.Series, ranks: Any = ranks, used: list[bool] = used
                    ) -> np.ndarray | None:
            got = ranks(*parts)
            used.append(got is not None)
            return got

        with monkeypatch.context() as patch:
            patch.setattr(correlation, "_case_ranks", counted)
            fast = correlate(log.copy(), load_sources_config())
            patch.setattr(correlation, "_case_ranks", lambda *parts: None)
            texts = correlate(log.copy(), load_sources_config())
        pd.testing.assert_frame_equal(fast.log, texts.log, check_exact=True)
        assert fast.notes == texts.notes
        pd.testing.assert_frame_equal(fast.unresolved, texts.unresolved)
        ranked += used == [True]
    assert ranked > 40  # the ranks' way was taken


@pytest.mark.parametrize("own_dtype", ["string", "object"])
def test_per_case_column_takes_own_values_only_where_the_case_gives_none(
        own_dtype: str) -> None:
    """A `_PerCase` column (the charge of each case) taken in any order: each event's value
    is its case's, else (its case has none, or it has no case) its own, else missing; as a
    coalesce of the case's value and the event's own, made for every event, gave it (now
    only the events whose case gives none take their own)."""
    from audit.correlate import _PerCase

    rng = np.random.default_rng(7)
    n, cases = 2_000, 300
    case_values = pd.array([None if k % 4 == 0 else f"ch_{k}" for k in range(cases)],
                           dtype="string")
    codes = rng.integers(-1, cases, size=n)
    own_texts = [None if k % 3 == 0 else f"own_{k}" for k in range(n)]
    own = (pd.array(own_texts, dtype="string") if own_dtype == "string"
           else pd.array(np.array(own_texts, dtype=object), dtype="object"))
    column = _PerCase(case_values, codes, pd.StringDtype(), own)
    positions = rng.permutation(n)
    got = pd.Series(column.take(positions), dtype="string")
    expected = [case_values[codes[p]] if codes[p] >= 0 and not pd.isna(case_values[codes[p]])
                else own_texts[p] for p in positions.tolist()]
    assert got.isna().tolist() == [e is None for e in expected]
    assert got.fillna("<none>").tolist() == [e or "<none>" for e in expected]
    # every case gives one: the own values are not looked at
    full = _PerCase(pd.array([f"ch_{k}" for k in range(cases)], dtype="string"),
                    rng.integers(0, cases, size=n), pd.StringDtype(), own)
    assert pd.Series(full.take(positions), dtype="string").str.startswith("ch_").all()
