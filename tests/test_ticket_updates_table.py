"""Ticket updates -> records (`updates_to_table`), column-wise, against a per-update
reference written from the mapping's definition (`TicketingConfig.activity_of`)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from audit import canonical as C
from audit.currency import CURRENCIES
from audit.sources import ticketing
from audit.sources.common import BadValue, Collector, money, parse_major
from audit.sources.config import TicketingConfig, load_sources_config
from audit.sources.ticketing import (
    Updates,
    _amounts_in_arrow,
    _amounts_listed,
    _text_array,
    update_order,
    updates_to_table,
)

TICKETS = ["1", "2", "10", "9", "é", "z", "Z", "\U0001f600", "a\u00e9", "ab", ""]
TIMES = ["2026-01-01T10:00:00+00:00", "2026-01-01T09:00:00+01:00",
         "2026-01-01T10:00:00+00:00", "2025-12-31T23:59:59-05:00"]


def _reference_order(tickets: list[str], times: list[str], rows: list[int]) -> list[int]:
    return sorted(range(len(tickets)), key=lambda k: (tickets[k], times[k], rows[k], k))


def test_update_order_is_a_stable_sort_by_ticket_time_and_row() -> None:
    rng = random.Random(7)
    for size in (0, 1, 2, 50, 2000):
        tickets = [rng.choice(TICKETS) for _ in range(size)]
        times = [rng.choice(TIMES) for _ in range(size)]
        rows = [rng.randrange(5) for _ in range(size)]  # repeated rows: ties by position
        assert update_order(tickets, times, rows) == _reference_order(tickets, times, rows)


def test_update_order_of_text_arrow_cannot_hold_is_still_the_python_order() -> None:
    tickets = ["b", "a\udc80", "a", "a\udc80"]  # a lone surrogate has no UTF-8
    times = ["t"] * 4
    rows = [3, 2, 1, 0]
    assert update_order(tickets, times, rows) == _reference_order(tickets, times, rows)



def _by_ticket_codes(tickets: list[str], times: list[str], rows: list[int]) -> list[int]:
    """`_order` given the tickets' codes, as `updates_to_table` gives them."""
    texts = (_text_array(tickets), _text_array(times))
    assert texts[0] is not None
    order: list[int] = ticketing._order(tickets, times, rows, texts,
                                        pc.dictionary_encode(texts[0])).tolist()
    return order


def test_order_by_ticket_codes_is_the_sort_by_ticket_time_and_row() -> None:
    """Each ticket's updates read in the order of their times and rows (the tickets
    interleaved, as Zendesk's and ServiceNow's exports read), ordered by a sort of the
    tickets alone; read otherwise (a time, or a row of the same time, going back), by the
    sort of all three: the same order either way."""
    rng = random.Random(11)
    for size in (0, 1, 2, 3, 50, 2000):
        for ticket_order in (True, False):
            tickets = [rng.choice(TICKETS) for _ in range(size)]
            times = [rng.choice(TIMES) for _ in range(size)]
            rows = [rng.randrange(5) for _ in range(size)]
            if ticket_order:  # each ticket's updates in order, the tickets interleaved
                slots: dict[str, list[int]] = {}
                for k, t in enumerate(tickets):
                    slots.setdefault(t, []).append(k)
                for ks in slots.values():
                    pairs = sorted((times[k], rows[k]) for k in ks)
                    for k, (time, row) in zip(ks, pairs, strict=True):
                        times[k], rows[k] = time, row
            assert _by_ticket_codes(tickets, times, rows) == \
                _reference_order(tickets, times, rows)
    # the same time, its rows going back: ordered by row
    tickets, times, rows = ["b", "a", "b", "a"], ["t", "t", "t", "t"], [1, 4, 0, 3]
    assert _by_ticket_codes(tickets, times, rows) == [3, 1, 2, 0]
    assert _ticket_sort(tickets, times, rows) is None  # (the three-key sort made)
    # a time going back within a ticket
    tickets, times, rows = ["b", "a", "b", "a"], ["2", "1", "1", "2"], [1, 2, 3, 4]
    assert _by_ticket_codes(tickets, times, rows) == [1, 3, 2, 0]
    assert _ticket_sort(tickets, times, rows) is None
    # each ticket's updates in order, the tickets interleaved: the tickets' sort alone
    tickets, times, rows = ["b", "a", "b", "a"], ["1", "1", "2", "2"], [1, 2, 3, 4]
    assert _ticket_sort(tickets, times, rows) == [1, 3, 0, 2]


def _ticket_sort(tickets: list[str], times: list[str], rows: list[int]) -> list[int] | None:
    """`_order_by_ticket`'s order (the tickets' sort alone), None where it leaves the order
    to the three-key sort."""
    texts = (_text_array(tickets), _text_array(times))
    assert texts[0] is not None and texts[1] is not None
    order = ticketing._order_by_ticket(pc.dictionary_encode(texts[0]), texts[1], rows)
    return None if order is None else order.tolist()


BAD_AMOUNTS = ["12.50", "3", "", None, "1,5", "-7.25", "abc"]
READABLE_AMOUNTS = ["12.50", "3", "", None, "+0010.00", " 5", "007.5", "-0", "\u00a05", "0.0"]
"""Amounts `parse_major` reads, some written by `money` otherwise (`+0010.00` as 10.00)."""


def _random_updates(cfg: TicketingConfig, rng: random.Random, size: int,
                    tickets: list[str] = TICKETS[:6],
                    amounts: list[str | None] = BAD_AMOUNTS,
                    own_amounts: tuple[str | None, ...] = (None, None, "5.00", "bad"),
                    currencies: tuple[str | None, ...] = ("O-1", "O-2", "EUR", "", None),
                    ) -> Updates:
    stages = [rule.value for rule in cfg.activities] + ["", "other", None]
    updates = Updates()
    for row in range(1, size + 1):
        changes: dict[str, str | None] = {}
        for rule in cfg.activities:
            if rule.field != "comment" and rng.random() < 0.3:
                changes[rule.field] = rng.choice(stages)
        for name in (cfg.order_field, cfg.currency_field):
            if name and rng.random() < 0.2:
                changes[name] = rng.choice(["O-1", "O-2", "EUR", "", None]
                                           if name == cfg.order_field else currencies)
        for name in cfg.amount_fields:
            if rng.random() < 0.2:
                changes[name] = rng.choice(amounts)
        for name in cfg.evidence_fields:
            if rng.random() < 0.2:
                changes[name] = rng.choice(["file.pdf", "", None])
        if rng.random() < 0.1:
            changes["unrelated"] = "x"
        updates.append(rng.choice(tickets), rng.choice(TIMES), rng.choice(["u1", None]),
                       f"id{row}", rng.choice([row, row, 1]), changes,
                       public_comment=rng.random() < 0.2,
                       activity=rng.choice([None, None, None, "", "Created"]),
                       amount=rng.choice(own_amounts))
    return updates


def _reference(u: Updates, cfg: TicketingConfig) -> tuple[list[dict[str, object]],
                                                          list[tuple[int, str, str]]]:
    """Records and quarantined (row, amount field, amount) of the updates, one update at a
    time; a record's "amount field" is the field its amount was read from."""
    records, quarantined, _lost, _updates = _reference_and_lost(u, cfg)
    return records, quarantined


def _reference_and_lost(u: Updates, cfg: TicketingConfig,
                        ticket_fields: dict[str, dict[str, str]] | None = None) -> tuple[
        list[dict[str, object]], list[tuple[int, str, str]], list[tuple[int, str, str]],
        int]:
    """`_reference`, and the (row, field, value) quarantined of the updates of no activity
    that state an amount or an evidence item (the update's own amount, then its amount
    fields and evidence fields as the configuration lists them) or clear an evidence item
    the ticket held (its field changed to empty, the last value stated before not empty:
    (row, field, '')), and how many such updates there are."""
    known: dict[str, dict[str, str]] = {}  # a ticket's first order and currency, by time
    for k in _reference_order(u.ticket, u.time, u.row):
        for name in (cfg.order_field, cfg.currency_field):
            if name and u.changes[k].get(name):
                known.setdefault(u.ticket[k], {}).setdefault(name, str(u.changes[k][name]))
    for ticket, fields in (ticket_fields or {}).items():  # a ticket's own values win
        for name in (cfg.order_field, cfg.currency_field):
            if name and name in fields:
                known.setdefault(ticket, {})[name] = fields[name]
    records, quarantined = [], []
    lost: list[tuple[int, str, str]] = []
    lost_updates = [0]
    held: dict[tuple[str, str], bool] = {}  # (ticket, evidence field) -> holds a value
    for k in _reference_order(u.ticket, u.time, u.row):
        changes = u.changes[k]
        activity = u.activity[k] or cfg.activity_of(changes, u.public_comment[k])
        cleared = [name for name in cfg.evidence_fields if name in changes
                   and not (changes[name] or "").strip() and held.get((u.ticket[k], name))]
        for name in cfg.evidence_fields:
            if name in changes:
                held[u.ticket[k], name] = bool((changes[name] or "").strip())
        if activity is None:
            own = cfg.requested_amount_field or C.AMOUNT  # (the update's own amount)
            stated = [(own, u.amount[k])] if (u.amount[k] or "").strip() else []
            stated += [(name, str(changes[name])) for name in
                       [*cfg.amount_fields, *cfg.evidence_fields]
                       if (changes.get(name) or "").strip()]
            lost.extend((u.row[k], name, value) for name, value in stated)
            lost.extend((u.row[k], name, "") for name in cleared)
            lost_updates[0] += bool(stated or cleared)
            continue
        text, source = u.amount[k], cfg.requested_amount_field or C.AMOUNT
        for name in cfg.amount_fields:
            if changes.get(name):
                text, source = changes[name], name
        amount = None
        if text:
            try:
                amount = money(parse_major(text))
            except BadValue:  # (the amount alone: the update is a record of no amount)
                quarantined.append((u.row[k], source, text))
        state = known.get(u.ticket[k], {})
        currency = state.get(cfg.currency_field or "")
        if amount is not None and currency is not None and currency.strip() \
                and currency.strip().upper() not in CURRENCIES:  # (no ISO 4217 code: O-1)
            quarantined.append((u.row[k], cfg.currency_field or C.CURRENCY, currency))
            amount = None
        record: dict[str, object] = {
            C.EVENT_ID: u.record_id[k], C.CASE: u.ticket[k], C.ACTIVITY: activity,
            C.TIMESTAMP: u.time[k], C.RESOURCE: u.author[k], C.AMOUNT: amount,
            C.CURRENCY: None if amount is None else state.get(cfg.currency_field or ""),
            C.ORDER_ID: state.get(cfg.order_field or ""), "row": u.row[k],
            "amount field": source}
        for name, column in cfg.evidence_fields.items():
            record[column] = changes.get(name) or None
        records.append(record)
    return records, quarantined, lost, lost_updates[0]


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "lists"])
@pytest.mark.parametrize("own", [True, False], ids=["own-activities", "no-own-activity"])
@pytest.mark.parametrize("system", ["zendesk", "jira", "servicenow"])
def test_updates_to_table_matches_the_per_update_definition(system: str, arrow: bool,
                                                            own: bool) -> None:
    """Both ways of making the columns: Arrow's (tickets and times Arrow can hold) and
    lists' (a ticket with a lone surrogate, which has no UTF-8); with updates that have an
    activity of their own (e.g. Jira's creation) and with none that has."""
    cfg = load_sources_config().ticketing[system]
    tickets = TICKETS[:6] if arrow else [*TICKETS[:5], "a\udc80"]
    updates = _random_updates(cfg, random.Random(system), 3000, tickets)
    if not own:
        updates.activity = [None] * len(updates.activity)
    assert any(updates.activity) is own
    collector = Collector(system, Path("updates.json"))
    updates_to_table(updates, cfg, collector)
    expected, quarantined, lost, lost_updates = _reference_and_lost(updates, cfg)
    assert collector.columns is not None
    names = [C.EVENT_ID, C.CASE, C.ACTIVITY, C.TIMESTAMP, C.RESOURCE, C.AMOUNT, C.CURRENCY,
             C.ORDER_ID, *cfg.evidence_fields.values()]
    assert isinstance(collector.columns[C.CASE], pa.Array) is arrow
    columns = {name: (column.to_pylist() if isinstance(column, pa.Array) else column)
               for name, column in collector.columns.items()}
    got = [{**{name: columns[name][i] for name in names}, "row": collector.rows[i]}
           for i in range(len(collector.rows))]
    sources = [record.pop("amount field") for record in expected]
    assert got == expected
    # The field each record's amount was read from, for the normaliser's lines.
    positions = np.arange(len(collector.rows))
    assert list(collector.field_rows[C.AMOUNT](
        pd.DataFrame(), positions, np.asarray(collector.rows))) == sources
    assert columns[C.LIFECYCLE] == ["complete"] * len(got)
    assert columns[C.CHANNEL] == [cfg.channel] * len(got)
    # (an update of no activity stating an amount or an evidence item is quarantined too,
    # a line per field, before the amounts that are no number)
    assert [(p["row"], p["field"], p["value"]) for p in collector.problems[:len(lost)]] == lost
    assert [(p["row"], p["field"], p["value"])
            for p in collector.problems[len(lost):]] == quarantined
    # (an update whose amount is quarantined is a record all the same: among `expected`)
    assert collector.skipped == len(updates.ticket) - len(expected) - lost_updates
    assert expected and quarantined and lost  # the random updates reach every branch


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "lists"])
@pytest.mark.parametrize("system", ["zendesk", "jira", "servicenow"])
def test_readable_amounts_are_the_per_update_definitions(
        system: str, arrow: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no amount is unreadable (none quarantined), the records' amounts are read in
    Arrow where it holds every text (`_amounts_in_arrow`), else listed (`_amounts_listed`,
    a ticket with a lone surrogate): both the per-update definition's, amounts `money`
    writes otherwise (`+0010.00` as 10.00) among them."""
    cfg = load_sources_config().ticketing[system]
    tickets = TICKETS[:6] if arrow else [*TICKETS[:5], "a\udc80"]
    updates = _random_updates(cfg, random.Random(f"{system} readable"), 2000, tickets,
                              READABLE_AMOUNTS, (None, None, "5.00", " 7.5", ""),
                              ("EUR", "usd", "", None))  # (ISO 4217 codes: none quarantined)
    collector = Collector(system, Path("updates.json"))
    if arrow:  # (the fast path's, not the general one's)
        monkeypatch.setattr(ticketing, "_amounts_listed", None)
    updates_to_table(updates, cfg, collector)
    expected, quarantined, lost, _updates = _reference_and_lost(updates, cfg)
    assert collector.columns is not None and not quarantined
    # (only the updates of no activity that state an amount or an evidence item)
    assert [(p["row"], p["field"], p["value"]) for p in collector.problems] == lost
    amounts = collector.columns[C.AMOUNT]
    assert isinstance(amounts, pa.Array) is arrow
    got = amounts.to_pylist() if isinstance(amounts, pa.Array) else amounts
    assert got == [record[C.AMOUNT] for record in expected]
    assert {"10.00", "5", "7.5", "0", None} <= set(got)
    currency = collector.columns[C.CURRENCY]
    assert (currency.to_pylist() if isinstance(currency, pa.Array) else currency) == [
        record[C.CURRENCY] for record in expected]
    assert [int(row) for row in collector.rows] == [record["row"] for record in expected]


def test_amounts_in_arrow_are_the_listed_amounts() -> None:
    """`_amounts_in_arrow` (the fast path) against `_amounts_listed` (the general one) on
    random texts `parse_major` reads: the same amount per record; '' and None as None. A
    text Arrow cannot hold (a lone surrogate) is never given to the fast path:
    `_text_array` refuses it."""
    rng = random.Random(5)
    texts: list[str | None] = []
    while len(texts) < 5000:
        text = rng.choice([None, "", *READABLE_AMOUNTS, "".join(
            rng.choice("+-0123456789. \u00a0") for _ in range(rng.randrange(1, 7)))])
        try:
            if text:
                money(parse_major(text))
        except BadValue:
            continue
        texts.append(text)
    good = {t: money(parse_major(t)) for t in set(texts) if t}
    assert sum(a != t for t, a in good.items()) > 50  # texts `money` writes otherwise
    fast = _amounts_in_arrow(pa.array(texts, type=pa.large_string()), good)
    assert fast.type == pa.large_string()
    assert fast.to_pylist() == _amounts_listed(texts, good) == [
        money(parse_major(t)) if t else None for t in texts]
    assert _text_array(["1.5", "1\udc80"]) is None


@pytest.mark.parametrize("system", ["zendesk", "jira", "servicenow"])
def test_a_column_arrow_cannot_hold_is_taken_as_a_list(system: str) -> None:
    """Tickets and times Arrow holds, but an author and a record id that it cannot (a lone
    surrogate): those two columns are taken as lists, the others in Arrow, and the records
    are still the per-update definition's."""
    cfg = load_sources_config().ticketing[system]
    updates = _random_updates(cfg, random.Random(f"{system}-lists"), 500)
    updates.author[7] = "Zo\udce9"
    updates.record_id[11] = "id\ud800"
    collector = Collector(system, Path("updates.json"))
    updates_to_table(updates, cfg, collector)
    expected, _ = _reference(updates, cfg)
    assert collector.columns is not None
    columns = collector.columns
    assert isinstance(columns[C.CASE], pa.Array) and isinstance(columns[C.ACTIVITY], pa.Array)
    assert isinstance(columns[C.RESOURCE], list) and isinstance(columns[C.EVENT_ID], list)
    for name in (C.EVENT_ID, C.RESOURCE, C.ACTIVITY, C.CASE, C.ORDER_ID, C.CURRENCY):
        column = columns[name]
        got = column.to_pylist() if isinstance(column, pa.Array) else column
        assert got == [record[name] for record in expected], name


def test_a_tickets_own_order_and_currency_win_over_those_its_updates_state() -> None:
    """`ticket_fields` (e.g. Jira's fields at creation) over the updates' values; a ticket
    without its own takes the first value its updates state, '' and None not counted."""
    cfg = load_sources_config().ticketing["jira"]
    order, currency = cfg.order_field, cfg.currency_field
    assert order and currency and cfg.amount_fields
    stage = next(rule for rule in cfg.activities if rule.field != "comment")
    updates = Updates()
    for row, (ticket, stated) in enumerate([("1", "O-2"), ("1", "O-3"), ("2", ""),
                                            ("2", None), ("2", "O-5"), ("2", "O-6")],
                                           start=1):
        changes = {stage.field: stage.value, order: stated, currency: stated and "EUR",
                   cfg.amount_fields[0]: "5.00"}
        updates.append(ticket, TIMES[0], "u1", f"id{row}", row, changes)
    collector = Collector("jira", Path("updates.json"))
    updates_to_table(updates, cfg, collector, {"1": {order: "O-1", currency: "USD"}})
    assert collector.columns is not None
    columns = {name: collector.columns[name] for name in (C.ORDER_ID, C.CURRENCY)}
    assert [value.to_pylist() if isinstance(value, pa.Array) else value
            for value in columns.values()] == [["O-1"] * 2 + ["O-5"] * 4,
                                              ["USD"] * 2 + ["EUR"] * 4]


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "lists"])
@pytest.mark.parametrize("system", ["zendesk", "jira"])
def test_tickets_own_values_over_random_updates_match_the_definition(system: str,
                                                                     arrow: bool) -> None:
    """Each record's order number and currency, where tickets have values of their own
    (some blank, some for tickets of no update, the two fields' tickets the same or not)
    and their updates state others: the ticket's own, else its first by time."""
    cfg = load_sources_config().ticketing[system]
    order, currency = cfg.order_field, cfg.currency_field
    assert order and currency
    tickets = TICKETS[:6] if arrow else [*TICKETS[:5], "a\udc80"]
    rng = random.Random(f"own {system}")
    for same in (True, False):
        updates = _random_updates(cfg, rng, 1500, tickets)
        own: dict[str, dict[str, str]] = {}
        for ticket in [*tickets[:4], "no update"]:
            own[ticket] = {order: rng.choice(["O-7", "", "O-1"])}
            if same or rng.random() < 0.5:
                own[ticket][currency] = rng.choice(["USD", "", "EUR"])
        own[tickets[0]] = {order: "O-7", currency: "USD"}
        own[tickets[1]] = {order: ""}
        collector = Collector(system, Path("updates.json"))
        updates_to_table(updates, cfg, collector, own)
        expected, *_ = _reference_and_lost(updates, cfg, own)
        assert collector.columns is not None
        got = {name: (column.to_pylist() if isinstance(column, pa.Array) else column)
               for name, column in collector.columns.items()}
        for name in (C.CASE, C.ORDER_ID, C.CURRENCY, C.AMOUNT):
            assert got[name] == [record[name] for record in expected], name
        assert {"O-7", ""} <= set(got[C.ORDER_ID]) and "USD" in got[C.CURRENCY]


def test_an_amount_written_as_money_writes_it_is_taken_as_it_is() -> None:
    """`_CANONICAL` (amounts taken without parsing them) holds only texts that
    `money(parse_major(text))` gives back unchanged."""
    from audit.sources.ticketing import _CANONICAL

    rng = random.Random(3)
    matched = 0
    for _ in range(20000):
        text = "".join(rng.choice("0123456789.-+ ,e\u0661\uff10" if rng.random() < 0.2
                                  else "00123456789.") for _ in range(rng.randrange(1, 9)))
        if _CANONICAL.match(text):
            matched += 1
            assert money(parse_major(text)) == text, text
    assert matched > 1000
    for text in ["00", "01.5", "1.", ".5", "1.5\n", " 1", "-0", "+1", "1,5"]:
        assert not _CANONICAL.match(text), text


def test_decimals_are_checked_against_each_tickets_first_currency() -> None:
    """An amount with more decimals than its ticket's currency holds is quarantined (the
    amount alone: its update a record of no amount); the ticket's currency is the first it
    states, so a later other currency (JPY, no minor units) neither quarantines 1.50 EUR
    nor lets 1.500 JPY through."""
    cfg = load_sources_config().ticketing["zendesk"]
    stage, currency, amount = "360011110001", cfg.currency_field, cfg.amount_fields[0]
    assert currency
    updates = Updates()
    for row, (ticket, changes) in enumerate([
            ("A", {stage: "requested", currency: "EUR", amount: "1.50"}),
            ("A", {currency: "JPY"}),
            ("B", {stage: "requested", currency: "JPY", amount: "1.500"}),
            ("B", {stage: "approved", currency: "EUR", amount: "2"})], start=1):
        updates.append(ticket, TIMES[0], "u1", f"id{row}", row, changes)
    collector = Collector("zendesk", Path("updates.json"))
    updates_to_table(updates, cfg, collector)
    assert collector.columns is not None
    got = collector.columns[C.AMOUNT]
    assert (got.to_pylist() if isinstance(got, pa.Array) else got) == ["1.50", None, "2"]
    assert [(p["row"], p["value"]) for p in collector.problems] == [(3, "1.500")]


def test_amounts_arrow_tells_as_written_are_those_python_tells() -> None:
    """The amounts taken as they are (`money` writes them so) are told by Arrow's RE2
    (`_CANONICAL_RE2`) as by Python's `_CANONICAL`: no newline at the end, no other
    digits, no sign, no leading zero."""
    texts = ["10", "10\n", "010", "0", "0.5", "1.", ".5", " 1", "1 ", "\uff11", "1.50", "",
             "\u0663", "-1", "+1", "0.0", "1\n0", "00", "1.5.0", "1e3", "0.50\n"]
    told = pc.match_substring_regex(pa.array(texts, type=pa.large_string()),
                                    ticketing._CANONICAL_RE2).to_pylist()
    assert told == [bool(ticketing._CANONICAL.match(t)) for t in texts]
    assert told.count(True) == 5  # 10, 0, 0.5, 1.50, 0.0


@pytest.mark.parametrize("surrogate", [False, True])
def test_times_given_in_arrow_are_the_records_of_the_times_as_texts(surrogate: bool) -> None:
    """Times the adapter gives as Arrow text (`Updates.time_text`, Jira's read column-wise,
    `time` left empty) give the records the same times as texts do; where Arrow cannot
    hold a ticket (a lone surrogate) the times are made texts for the lists."""
    cfg = load_sources_config().ticketing["jira"]
    updates = _random_updates(cfg, random.Random(f"arrow-times-{surrogate}"), 400)
    if surrogate:
        updates.ticket[5] = "T\udce9"
    expected, _ = _reference(updates, cfg)
    updates.time_text = pa.array(updates.time, type=pa.large_string())
    updates.time = []
    collector = Collector("jira", Path("updates.json"))
    updates_to_table(updates, cfg, collector)
    assert collector.columns is not None
    for name in (C.TIMESTAMP, C.CASE, C.EVENT_ID, C.ACTIVITY, C.AMOUNT):
        column = collector.columns[name]
        got = column.to_pylist() if isinstance(column, pa.Array) else column
        assert got == [record[name] for record in expected], name
    assert isinstance(collector.columns[C.TIMESTAMP], list) is surrogate
