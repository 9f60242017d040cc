"""OCEL 2.0 object-to-object (O2O) relations and --follow-o2o, on generated refund logs whose
ground truth is known: a refund object relates to its order by an O2O relation, and the
order's charge relates to the order alone."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.errors import InputError
from audit.ingest.ocel import read_ocel

SHARED_OCEL = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pm4py-tests"
               / "ocel" / "ocel20_example.jsonocel")

CASE, EID, VIA = "case:concept:name", "ocel:eid", "ocel:o2o"


def _event(eid: str, activity: str, day: str, objects: list[str], **attributes: Any) -> dict:
    common = {"refund:currency": "EUR", "refund:channel": "ecommerce"}
    return {"id": eid, "type": activity, "time": f"2026-09-{day}Z",
            "attributes": [{"name": k, "value": v} for k, v in {**common, **attributes}.items()],
            "relationships": [{"objectId": oid, "qualifier": "of"} for oid in objects]}


def _refund(number: int, paid: float, day: str, *, order: str | None = None) -> list[dict]:
    """A refund's request, approval and payout on charge ch_1, of its own object R<number>
    (the payout of R1 relates to its order O1 too, as a payment system's export would)."""
    oid = f"R{number}"
    ids = {"payment:charge_id": "ch_1", "org:role": "supervisor"}
    return [
        _event(f"r{number}a", "Receive refund request", f"{day}T10:00:00", [oid],
               **{"refund:amount": paid, "org:resource": f"ann{number}"}),
        _event(f"r{number}b", "Approve refund", f"{day}T11:00:00", [oid],
               **{"refund:amount": paid, "org:resource": f"bob{number}", **ids}),
        _event(f"r{number}c", "Execute payout", f"{day}T12:00:00",
               [oid] + ([order] if order else []),
               **{"refund:amount": paid, "org:resource": f"cid{number}",
                  "payment:status": "succeeded", "payment:method": "card", **ids}),
    ]


def refunds_log(path: Path, second_paid: float = 30.0) -> Path:
    """Known ground truth: order O1 charged 100.00 EUR (ch_1; event e1, related to O1
    alone); refund R1 --'refund of'--> O1 pays 60.00, and O1 --'refunded by'--> R2 (the
    relation written the other way) pays `second_paid`, both on ch_1. Ticket T1 --'ticket
    of'--> R1 is created (e2, related to T1 alone); order O3, tied to no refund, ships (e3).
    R1's payout relates to O1 too: it is R1's event, never R2's."""
    objects = [
        {"id": "R1", "type": "Refund", "relationships": [
            {"objectId": "O1", "qualifier": "refund of"}]},
        {"id": "R2", "type": "Refund"},
        {"id": "O1", "type": "Order", "relationships": [
            {"objectId": "R2", "qualifier": "refunded by"}]},
        {"id": "O3", "type": "Order"},
        {"id": "T1", "type": "Ticket", "relationships": [
            {"objectId": "R1", "qualifier": "ticket of"}]},
    ]
    events = [
        _event("e1", "Capture payment", "01T10:00:00", ["O1"],
               **{"refund:amount": 100.0, "payment:charge_id": "ch_1",
                  "payment:status": "succeeded", "payment:method": "card",
                  "org:resource": "shop"}),
        _event("e2", "Create ticket", "02T09:00:00", ["T1"]),
        _event("e3", "Ship order", "02T09:30:00", ["O3"]),
        *_refund(1, 60.0, "02", order="O1"),
        *_refund(2, second_paid, "03"),
    ]
    document = {"objectTypes": [{"name": n, "attributes": []}
                                for n in ("Refund", "Order", "Ticket")],
                "eventTypes": [], "objects": objects, "events": events}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _rows(table: Any) -> list[tuple[str, str]]:
    return list(zip(table.frame[CASE], table.frame[EID], strict=True))


@pytest.fixture(scope="module")
def encodings(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The log in OCEL 2.0's three encodings (XML and SQLite written by pm4py from the
    JSON), each holding the O2O relations its own way."""
    import pm4py

    folder = tmp_path_factory.mktemp("o2o")
    source = refunds_log(folder / "refunds.jsonocel")
    ocel = pm4py.read_ocel2_json(str(source))
    pm4py.write_ocel2_xml(ocel, str(folder / "refunds.xmlocel"))
    pm4py.write_ocel2_sqlite(ocel, str(folder / "refunds.sqlite"))
    return [source, folder / "refunds.xmlocel", folder / "refunds.sqlite"]


def test_events_of_an_order_tied_to_a_refund_are_told_not_followed_by_default(
        encodings: list[Path]) -> None:
    """Without --follow-o2o the cases are the plain flattening (pm4py's): the charge of the
    order is outside the refunds, and a note says which events an O2O relation would bring
    in and how (before: only a count of events outside, nothing about the relations)."""
    for path in encodings:
        table = read_ocel(path, "Refund")
        assert [eid for _case, eid in _rows(table)] == [
            "r1a", "r1b", "r1c", "r2a", "r2b", "r2c"], path.name
        assert table.notes[:2] == [
            "3 of 9 events relate to no 'Refund' object and are not part of these cases",
            "of these, 2 events relate to objects that an object-to-object relation ties to "
            "'Refund' objects (by their type: 'Order' 1, 'Ticket' 1); --follow-o2o Order "
            "--follow-o2o Ticket would make them events of those cases"], path.name
        assert VIA not in table.frame.columns


def test_follow_o2o_brings_an_orders_charge_into_each_refund_of_it(
        encodings: list[Path]) -> None:
    """--follow-o2o Order: the charge e1 (related to O1 alone) is an event of R1 (R1 ->
    O1) and of R2 (O1 -> R2: either way), told by the notes and column ocel:o2o; R1's
    payout, related to R1 and O1, stays R1's alone (it is no event of R2: one hop from an
    event's own refund is never taken); the ticket's event stays outside (Ticket not
    followed); every row of the file is accounted for."""
    for path in encodings:
        table = read_ocel(path, "Refund", follow=["Order"])
        assert _rows(table) == [
            ("R1", "e1"), ("R2", "e1"), ("R1", "r1a"), ("R1", "r1b"), ("R1", "r1c"),
            ("R2", "r2a"), ("R2", "r2b"), ("R2", "r2c")], path.name
        assert table.rows.tolist() == [1, 1, 4, 5, 6, 7, 8, 9]
        assert table.records_read == 8
        via = [None if pd.isna(v) else v for v in table.frame[VIA]]
        assert via == ["'O1' (Refund -> Order 'refund of')",
                       "'O1' (Order -> Refund 'refunded by')"] + [None] * 6, path.name
        assert table.notes == [
            "2 of 9 events relate to no 'Refund' object, directly or through a related "
            "'Order' object, and are not part of these cases",
            "of these, 1 event relates to objects that an object-to-object relation ties to "
            "'Refund' objects (by their type: 'Ticket' 1); --follow-o2o Ticket would make "
            "them events of those cases",
            "1 event relating to no 'Refund' object but to 'Order' objects that an "
            "object-to-object relation ties to 'Refund' objects is an event of their cases "
            "(--follow-o2o, one hop; column ocel:o2o names the object and the relation): 2 "
            "rows, by Order -> Refund 'refunded by' (1 event), Refund -> Order 'refund of' "
            "(1 event)",
            "1 event brought in so reaches two 'Refund' cases (an object tied to several: "
            "which one it belongs to the log does not say) and is an event of each, every "
            "attribute copied, an amount too (a charge so copied is one capture, never added "
            "up across the cases; a payout so copied is paid in each) (the first: event 'e1' "
            "(row 1), through 'O1' to 'R1', 'R2')"], path.name
        # Both types: the ticket's creation is R1's too.
        both = read_ocel(path, "Refund", follow=["Order", "Ticket"])
        assert ("R1", "e2") in _rows(both) and ("R2", "e2") not in _rows(both)
        assert both.notes[0].startswith("1 of 9 events relate to no 'Refund' object, "
                                        "directly or through a related 'Order' or 'Ticket'")


def test_follow_o2o_of_a_type_the_file_lacks_or_of_the_cases_is_refused(
        tmp_path: Path) -> None:
    path = refunds_log(tmp_path / "refunds.jsonocel")
    with pytest.raises(InputError, match=r"--follow-o2o: no objects of type 'Orders' in "
                       r"this file; its other types: Order \(2\), Ticket \(1\)"):
        read_ocel(path, "Refund", follow=["Orders"])
    with pytest.raises(InputError, match="--follow-o2o Refund: the type of the cases"):
        read_ocel(path, "Refund", follow=["Refund"])


def test_the_ocel_example_flattens_as_before_and_follows_its_relations() -> None:
    """The real OCEL 2.0 example: without --follow-o2o the cases are as before (pm4py's
    flattening, checked against pm4py in test_ingest_xes_ocel.py); the note names the
    relations it could follow. Invoices following their purchase orders (PO1 -> R1, R2)
    take the order's creation and change (e3, e4) into both invoices' cases; Insert Invoice
    e6 (of PO1 and R2) is R2's alone."""
    table = read_ocel(SHARED_OCEL, "Invoice")
    assert len(table.frame) == 9
    assert table.notes[1] == (
        "of these, 2 events relate to objects that an object-to-object relation ties to "
        "'Invoice' objects (by their type: 'Purchase Order' 2); --follow-o2o 'Purchase "
        "Order' would make them events of those cases")
    followed = read_ocel(SHARED_OCEL, "Invoice", follow=["Purchase Order"])
    rows = _rows(followed)
    assert len(rows) == 13 and followed.records_read == 13
    assert set(rows) - set(_rows(table)) == {("R1", "e3"), ("R2", "e3"), ("R1", "e4"),
                                             ("R2", "e4")}
    assert ("R1", "e6") not in rows
    # Payments already hold their invoices' payment events: following adds only the
    # invoices' own events, each to its one payment.
    payments = read_ocel(SHARED_OCEL, "Payment", follow=["Invoice"])
    assert sorted(_rows(payments)) == sorted(
        [("P1", "e5"), ("P1", "e7"), ("P2", "e6"), ("P2", "e8"), ("P3", "e9"),
         ("P3", "e10"), ("P3", "e11"), ("P3", "e12"), ("P3", "e13")])


def _check(log: Path, out: Path, *options: str) -> dict[str, list[dict]]:
    result = CliRunner().invoke(main, ["check", str(log), "--object-type", "Refund",
                                       *options, "--out", str(out), "--format", "json",
                                       "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    # The manifest keeps the relations followed, where any were (a re-run needs them).
    followed = [o for k, o in pairwise(options) if k == "--follow-o2o"]
    expected = {"assume_tz": None, "encoding": None, "object_type": "Refund"}
    assert document["manifest"]["import_options"] == (
        {**expected, "follow_o2o": followed} if followed else expected)
    found: dict[str, list[dict]] = {}
    for finding in document["findings"]:
        found.setdefault(finding["rule"], []).append(finding)
    return found


def test_a_refund_checked_with_its_orders_charge(tmp_path: Path) -> None:
    """The reproduction: refunds whose charge relates to their order alone. Without
    --follow-o2o no case holds a purchase: no-prior-purchase finds both refunds (160.00 EUR
    at risk, false); with it, none. Both refunds' payouts (60 + 30) stay within the charge
    of 100 although the charge is copied into each case: no refund-exceeds-charge, and no
    duplicate-refund."""
    log = refunds_log(tmp_path / "refunds.jsonocel", second_paid=30.0)
    before = _check(log, tmp_path / "before")
    assert sorted(f["case_id"] for f in before["EV007"]) == ["R1", "R2"]
    after = _check(log, tmp_path / "after", "--follow-o2o", "Order")
    assert "EV007" not in after
    assert "EV005" not in after and "DU001" not in after


def test_an_excess_over_a_charge_copied_into_two_refunds_is_counted_once(
        tmp_path: Path) -> None:
    """R1 60 + R2 50 on a charge of 100 copied into both cases: the charge is 100, not 200
    (a copy is no second capture), so refund-exceeds-charge finds R2 with the 10.00 it
    paid beyond it, once; no duplicate-refund (the amounts differ)."""
    log = refunds_log(tmp_path / "refunds.jsonocel", second_paid=50.0)
    found = _check(log, tmp_path / "out", "--follow-o2o", "Order")
    assert [(f["case_id"], f["amount_at_risk"], f["currency"]) for f in found["EV005"]] == [
        ("R2", 10.0, "EUR")]
    assert "DU001" not in found and "EV007" not in found


def test_an_event_attribute_named_ocel_o2o_does_not_hide_the_relation(tmp_path: Path) -> None:
    """A brought-in event's own attribute `ocel:o2o` gives way to the column naming the
    relation, with the note of attributes named like flattening columns."""
    path = refunds_log(tmp_path / "refunds.jsonocel")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["events"][0]["attributes"].append({"name": VIA, "value": "forged"})
    path.write_text(json.dumps(document), encoding="utf-8")
    table = read_ocel(path, "Refund", follow=["Order"])
    assert table.frame[VIA].head(2).tolist() == ["'O1' (Refund -> Order 'refund of')",
                                                 "'O1' (Order -> Refund 'refunded by')"]
    assert ("event attributes named like flattening columns or the object's attributes were "
            "dropped: ocel:o2o") in table.notes


def test_follow_o2o_of_no_ocel_input_is_told_not_used(tmp_path: Path) -> None:
    """As --object-type: given with a CSV only, a note says it was not used."""
    path = tmp_path / "log.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,Receive refund request,2026-01-01T10:00:00Z\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "--follow-o2o", "Order",
                                       "--out", str(tmp_path / "log.parquet")])
    assert result.exit_code == 0, result.output
    assert ("--follow-o2o Order: no input is an OCEL 2.0 log, the only kind it applies to: "
            "not used") in result.output.splitlines()


FORGED = "\nerror: forged line\u001b[2J"


def test_text_of_the_file_in_a_note_never_begins_a_console_line(tmp_path: Path) -> None:
    """A line break or an escape in an O2O qualifier, a type's name, an object's or an
    event's id is shown in the notes (as repr shows it), never written: before, a qualifier
    `x\\nerror: forged line` printed "error: forged line" on a console line of its own and the
    run exited 0. Each of the notes quoting the file: the relations followed (a qualifier, a
    type), an event brought into two cases (its id), an event of two refunds (their ids), an
    event naming an object the file does not define."""
    path = refunds_log(tmp_path / "h.jsonocel")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["objects"][0]["relationships"][0]["qualifier"] = "x" + FORGED
    ticket = "Ticket" + FORGED
    document["objectTypes"][2]["name"] = ticket
    document["objects"][4]["type"] = ticket
    document["events"][0]["id"] = "e1" + FORGED  # (brought into R1 and R2)
    document["objects"].append({"id": "R9" + FORGED, "type": "Refund"})
    document["events"] += [
        _event("s1", "Execute payout", "04T10:00:00", ["R1", "R9" + FORGED]),
        _event("d1", "Execute payout", "04T11:00:00", ["R2", "ghost" + FORGED]),
    ]
    path.write_text(json.dumps(document), encoding="utf-8")

    table = read_ocel(path, "Refund", follow=["Order", ticket])
    shown = repr(FORGED)[1:-1]  # (\n and \x1b as repr writes them)
    for note in table.notes:
        assert "\n" not in note and "\x1b" not in note, note
    told = "\n".join(table.notes)
    assert f"Refund -> Order 'x{shown}' (1 event)" in told
    assert "Ticket[U+000A]error: forged line[U+001B][2J -> Refund 'ticket of'" in told
    assert f"(the first: event 'e1{shown}' (row 1), through 'O1' to 'R1', 'R2')" in told
    assert f"event 's1' (row 10), objects 'R1', 'R9{shown}'" in told
    assert f"(the first: event 'd1' (row 11) relates to 'ghost{shown}')" in told
    # The column naming the relation shows it alike.
    assert f"'O1' (Refund -> Order 'x{shown}')" in table.frame[VIA].tolist()

    # On the console (without R9, whose id as a case id other lines quote as they are):
    document["objects"].pop()
    document["events"] = [e for e in document["events"] if e["id"] != "s1"]
    path.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(main, [
        "check", str(path), "--object-type", "Refund", "--follow-o2o", "Order",
        "--follow-o2o", ticket, "--out", str(tmp_path / "out"), "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert not [line for line in result.output.splitlines()
                if line.startswith("error: forged")], result.output
    assert "\x1b" not in result.output


def test_the_note_of_an_event_of_two_refunds_counts_their_own_rows(tmp_path: Path) -> None:
    """An event of R1 and R2 (a payout of both): 8 rows from 7 events relate to refunds
    (6 of their own, the shared one twice), with --follow-o2o Order or without. Before,
    with it, the note counted the order's charge brought in (2 rows of 1 event) among them:
    "10 rows from 8 events", where only the shared event gives a row more."""
    path = refunds_log(tmp_path / "refunds.jsonocel")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["events"].append(_event("p12", "Execute payout", "04T10:00:00", ["R1", "R2"]))
    path.write_text(json.dumps(document), encoding="utf-8")
    head = ("1 event relates to two 'Refund' objects and is an event of each of their cases, "
            "every attribute copied (an amount too: counted in each case): 8 rows from 7 "
            "events")
    tail = " (the first: event 'p12' (row 10), objects 'R1', 'R2')"
    plain = read_ocel(path, "Refund")
    assert head + tail in plain.notes and len(plain.frame) == 8
    followed = read_ocel(path, "Refund", follow=["Order"])
    assert len(followed.frame) == 10  # (e1 in R1 and R2 besides)
    assert (head + " (those brought in by --follow-o2o not counted)" + tail
            in followed.notes), followed.notes
