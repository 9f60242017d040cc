"""Adyen's Payment accounting report: detection, record types, quarantine, the check path.

The sample (`tests/data/sources/adyen/payment_accounting.csv`) is synthetic, hand-made in
the layout docs/sources.md describes (and says which columns of it are confirmed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.errors import InputError
from audit.ingest import import_sources
from audit.sources import csv_signature, detect_system, read_source
from audit.sources.payments import ADYEN_ACCOUNTING_SIGNATURE
from audit.sources.pipeline import import_and_correlate

DATA = Path(__file__).parent / "data" / "sources"
PAR = DATA / "adyen" / "payment_accounting.csv"


def _rows() -> tuple[list[str], list[list[str]]]:
    with PAR.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows])
    return path


def test_the_report_is_detected_by_its_header_apart_from_the_settlement_details() -> None:
    assert detect_system(PAR) == "adyen"
    assert csv_signature("adyen", PAR) == ADYEN_ACCOUNTING_SIGNATURE
    settlement = DATA / "adyen" / "settlement_details.csv"
    assert detect_system(settlement) == "adyen"
    assert csv_signature("adyen", settlement) != ADYEN_ACCOUNTING_SIGNATURE
    # the settlement details report is still read as itself
    table, _ = read_source(settlement, "adyen")
    assert "adyen:8815850000000001:settled" in set(table.frame[C.EVENT_ID])


def test_each_record_type_maps_to_its_event() -> None:
    table, quarantine = read_source(PAR, "adyen")
    events = table.frame.set_index(C.EVENT_ID)
    sale = events.loc["adyen:8816000000000101:settled"]
    # Booking Date 2026-07-03 02:00:00 BST is 01:00 UTC
    assert (sale[C.ACTIVITY], sale[C.TIMESTAMP], sale[C.AMOUNT], sale[C.CURRENCY],
            sale[C.CHARGE_ID], sale[C.ORDER_ID], sale[C.PAYMENT_METHOD],
            sale[C.PAYMENT_STATUS]) == (
        "Record store sale", "2026-07-03T01:00:00+00:00", "120.00", "GBP",
        "8816000000000101", "OF-O4201", "card", "succeeded")
    paid = events.loc["adyen:8826000000000102:refunded"]
    # the Refunded row: Main Amount -120.00 read as its magnitude; ticket and executor
    # from the Modification Merchant Reference; the refund of the payment's charge
    assert (paid[C.ACTIVITY], paid[C.TIMESTAMP], paid[C.AMOUNT], paid[C.REFUND_ID],
            paid[C.CHARGE_ID], paid[C.TICKET_ID], paid[C.RESOURCE],
            paid[C.PAYMENT_STATUS]) == (
        "Execute payout", "2026-07-09T01:00:00+00:00", "120.00", "8826000000000102",
        "8816000000000101", "CS0000042", "Victor Chen", "succeeded")
    pending = events.loc["adyen:8826000000000202:sentforrefund"]  # not booked
    assert (pending[C.ACTIVITY], pending[C.PAYMENT_STATUS], pending[C.TICKET_ID],
            pending[C.AMOUNT]) == ("Execute payout", "pending", "CS0000043", "35.50")
    external = events.loc["adyen:8826000000000802:refundedexternally"]  # CEST
    assert (external[C.ACTIVITY], external[C.PAYMENT_STATUS], external[C.TIMESTAMP],
            external[C.CURRENCY]) == ("Execute payout", "succeeded",
                                      "2026-07-12T08:00:00+00:00", "EUR")
    failed = events.loc["adyen:8826000000000902:refundfailed"]
    assert (failed[C.ACTIVITY], failed[C.PAYMENT_STATUS]) == ("Payout failed", "failed")
    assert len(events) == 6
    assert table.records_read == 18 == len(events) + len(quarantine)


def test_every_other_row_is_quarantined_with_file_row_field_and_reason() -> None:
    _, quarantine = read_source(PAR, "adyen")
    assert set(quarantine["file"]) == {"payment_accounting.csv"}
    found = {int(row): (field, reason) for row, field, reason in
             quarantine[["row", "field", "reason"]].itertuples(index=False)}
    expected = {2: ("Record Type", "before its capture is settled"),  # Received
                3: ("Record Type", "before its capture is settled"),  # Authorised
                4: ("Record Type", "before its capture is settled"),  # SentForSettle
                6: ("Record Type", "whose Refunded row (row 7) is read as its payout"),
                10: ("Record Type", "refused"),
                11: ("Record Type", "chargeback"),
                12: ("Booking Date", "not a time in the format"),
                13: ("Main Currency", "unknown currency"),
                14: ("Record Type", "unknown record type"),
                17: ("TimeZone", "unknown time zone abbreviation"),
                18: ("Main Amount", "more decimals than JPY has"),
                19: ("Record Type", "cancelled")}
    assert sorted(found) == sorted(expected)
    for row, (field, reason) in expected.items():
        assert found[row][0] == field
        assert reason in found[row][1], (row, found[row][1])
    # the refund's request names its ticket, as the payout does
    assert quarantine.set_index("row").at[6, "case"] == "CS0000042"


def test_a_report_without_a_needed_column_is_refused_naming_it(tmp_path: Path) -> None:
    header, rows = _rows()
    at = header.index("Main Amount")
    path = _write(tmp_path / "par.csv", header[:at] + header[at + 1:],
                  [r[:at] + r[at + 1:] for r in rows])
    assert detect_system(path) == "adyen"
    with pytest.raises(InputError, match="Main Amount"):
        read_source(path, "adyen")


def test_a_report_with_creation_date_instead_of_booking_date_is_refused_naming_it(
        tmp_path: Path) -> None:
    """Older public readers show the report with `Creation Date`: it is not detected, and
    named as Adyen's it is refused as the accounting report it is, naming `Booking Date`
    (before, as a settlement details report lacking `Type`, `Gross Currency`, ...)."""
    header, rows = _rows()
    older = ["Creation Date" if c == "Booking Date" else c for c in header]
    path = _write(tmp_path / "par.csv", older, rows)
    assert detect_system(path) is None
    with pytest.raises(InputError, match=r"payment accounting report.*missing column.*"
                                         r"Booking Date") as error:
        read_source(path, "adyen")
    assert "Gross Currency" not in str(error.value)


def test_a_refund_is_keyed_by_its_payment_without_a_modification_reference(
        tmp_path: Path) -> None:
    header, rows = _rows()
    at = header.index("Modification Psp Reference")
    path = _write(tmp_path / "par.csv", header[:at] + header[at + 1:],
                  [r[:at] + r[at + 1:] for r in rows])
    table, _ = read_source(path, "adyen")
    events = table.frame.set_index(C.EVENT_ID)
    paid = events.loc["adyen:8816000000000101:refunded"]
    assert (paid[C.REFUND_ID], paid[C.CHARGE_ID]) == ("8816000000000101", "8816000000000101")


def test_a_refund_requested_in_one_report_and_booked_in_the_next_is_judged_once(
        tmp_path: Path) -> None:
    """A SentForRefund in July's report and its Refunded row in August's are two events, the
    pending payout and the paid one (one event id would keep the request and quarantine
    the booking, hiding the payment); only the paid one counts as paid, so no approval
    rule misses it and no duplicate-refund is found."""
    header, rows = _rows()
    kind, modification = header.index("Record Type"), header.index("Modification Psp Reference")
    request = next(r for r in rows if r[kind] == "SentForRefund"
                   and r[modification] == "8826000000000202")
    booking = list(request)
    booking[kind] = "Refunded"
    booking[header.index("Booking Date")] = "2026-08-01 02:00:00"
    sale = next(r for r in rows if r[kind] == "Settled" and r[2] == "8816000000000201")
    july = _write(tmp_path / "par_july.csv", header, [sale, request])
    august = _write(tmp_path / "par_august.csv", header, [booking])
    result = import_sources([(july, None), (august, None)])
    assert result.quarantine.empty
    payouts = result.log[result.log[C.REFUND_ID] == "8826000000000202"]
    assert sorted(payouts[C.PAYMENT_STATUS]) == ["pending", "succeeded"]
    out = tmp_path / "out"
    checked = CliRunner().invoke(main, ["check", str(july), str(august), "--out", str(out),
                                        "--format", "json", "--fail-on", "never"])
    assert checked.exit_code == 0, (checked.output, checked.exception)
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    names = {f["name"] for f in report["findings"]}
    assert "duplicate-refund" not in names
    orphan = [f for f in report["findings"] if f["name"] == "orphan-payout"]
    assert orphan and "adyen:8826000000000202:refunded" in orphan[0]["event_ids"]


def _check_inputs(folder: Path) -> list[Path]:
    """The sample report with the CS0000043 refund booked (a Refunded row after its
    SentForRefund), a ServiceNow export where CS0000042 is approved and CS0000043 only
    requested, and the role history."""
    header, rows = _rows()
    kind = header.index("Record Type")
    request = next(r for r in rows if r[kind] == "SentForRefund"
                   and r[header.index("Modification Psp Reference")] == "8826000000000202")
    booked = list(request)
    booked[kind] = "Refunded"
    booked[header.index("Booking Date")] = "2026-07-11 02:00:00"
    par = _write(folder / "payments_accounting_report.csv", header, [*rows, booked])
    lines = (DATA / "servicenow" / "sys_audit.csv").read_text(encoding="utf-8").splitlines()
    case43 = "0cc175b9c0f1b6a831c399e269772661"
    extra = [f"b0{k},sn_customerservice_case,{case43},{field},,{value},felix.weber,"
             f"2026-07-09 09:00:00,0," for k, (field, value) in enumerate(
                 [("number", "CS0000043"), ("u_order_number", "OF-O4243"),
                  ("u_currency", "GBP"), ("u_requested_amount", "35.50")])]
    servicenow = folder / "servicenow_sys_audit.csv"
    servicenow.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return [par, servicenow, DATA / "roles" / "role_history.csv"]


def test_a_refund_without_approval_is_found_through_its_ticket_and_charge(
        tmp_path: Path) -> None:
    inputs = _check_inputs(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", *map(str, inputs), "--out", str(out),
                                       "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    missing = [f for f in report["findings"] if f["name"] == "missing-approval"]
    assert [f["case_id"] for f in missing] == ["CS0000043"]
    assert "adyen:8826000000000202:refunded" in missing[0]["event_ids"]
    # the refund joined its ticket's case with its charge; the approved refund has no such
    # finding
    log = import_and_correlate([(p, None) for p in inputs]).log
    case = log[log[C.CASE] == "CS0000043"]
    assert {"adyen:8816000000000201:settled",
            "adyen:8826000000000202:refunded"} <= set(case[C.EVENT_ID])
    assert set(case[C.CHARGE_ID].dropna()) == {"8816000000000201"}


def test_column_wise_and_row_by_row_reading_agree_on_repeats_and_requests(
        tmp_path: Path) -> None:
    """The rows the column-wise reading must leave to the row-by-row one (a record exported
    twice, a changed record under a known id, a refund's request before and after its
    booking, a reference the pattern does not match) read as row by row."""
    from tests.test_sources_payments_fast import assert_same_reading

    header, rows = _rows()
    kind, reference = header.index("Record Type"), header.index(
        "Modification Merchant Reference")
    sale = next(r for r in rows if r[kind] == "Settled")
    changed = list(sale)
    changed[header.index("Main Amount")] = "121.00"
    refunded = next(r for r in rows if r[kind] == "Refunded")
    request = next(r for r in rows if r[kind] == "SentForRefund"
                   and r[header.index("Modification Psp Reference")] == "8826000000000102")
    goodwill = next(r for r in rows if r[kind] == "RefundedExternally")
    goodwill = list(goodwill)
    goodwill[reference] = "goodwill gesture"
    path = _write(tmp_path / "par.csv", header,
                  [sale, request, sale, changed, refunded, request, goodwill, *rows])
    assert_same_reading(path, "adyen")
    table, quarantine = read_source(path, "adyen")
    assert table.deduplicated >= 2  # the sale (and the sample's own rows) read again
    reasons = quarantine.set_index("row")["reason"]
    assert reasons[5] == "same id as row 2 with different content"
    assert "whose Refunded row (row 6)" in reasons[3] and "row 6" in reasons[7]
    assert any("does not match the reference_pattern" in n for n in table.notes)


def test_a_refund_in_both_adyen_reports_is_one_record(tmp_path: Path) -> None:
    """The Settlement details report and the Payment accounting report of one period hold
    the same settled payment and refund: read together, each record is one event (event
    ids `adyen:<id>:<record type>` in both), the refund never a second payout."""
    header, _ = _rows()

    def row(**cells: str) -> list[str]:
        values = dict.fromkeys(header, "")
        values.update({"Company Account": "ExampleRetailGroup", "Merchant Account": "StoresUK",
                       "Psp Reference": "8815850000000001", "Merchant Reference": "OF-O4201",
                       "Payment Method": "visa", "TimeZone": "BST", "Main Currency": "GBP"})
        values.update(cells)
        return [values[c] for c in header]

    par = _write(tmp_path / "par.csv", header, [
        row(**{"Booking Date": "2026-07-01 12:00:00", "Main Amount": "120.00",
               "Record Type": "Settled"}),
        row(**{"Booking Date": "2026-07-08 10:00:00", "Main Amount": "-120.00",
               "Record Type": "Refunded",
               "Modification Merchant Reference": "REFUND CS0000042 BY Victor Chen",
               "Modification Psp Reference": "8825850000000002"})])
    result = import_sources([(DATA / "adyen" / "settlement_details.csv", None), (par, None)])
    refunds = result.log[result.log[C.REFUND_ID] == "8825850000000002"]
    assert sorted(refunds[C.EVENT_ID]) == ["adyen:8825850000000002:refunded",
                                           "adyen:8825850000000002:refundedreversed"]
    assert set(refunds[C.SOURCE_FILE]) == {"settlement_details.csv"}
    # the refund agrees on every value: dropped as a repeat; the sale, which the settlement
    # report gives a terminal, is quarantined naming the first
    ours = result.quarantine[result.quarantine["file"] == "par.csv"]
    assert ours["row"].tolist() == [2]
    assert "first at settlement_details.csv row 2" in ours["reason"].iloc[0]


def test_sales_without_a_terminal_are_told_and_can_name_the_system() -> None:
    """The report names no terminal (`Store`): every sale would be a missing-resource
    finding without a word. A note says so and how to name the system that booked them;
    with `charge_resource` set the sales carry it and there is no note."""
    from dataclasses import replace

    from audit.sources.config import load_sources_config

    table, _ = read_source(PAR, "adyen")
    sales = table.frame[table.frame[C.ACTIVITY] == "Record store sale"]
    assert len(sales) and sales[C.RESOURCE].isna().all()
    (note,) = [n for n in table.notes if "name no resource" in n]
    assert note.startswith(f"{PAR.name}: ") and "charge_resource" in note
    config = load_sources_config()
    config.payments["adyen"] = replace(config.payments["adyen"], charge_resource="adyen")
    table, _ = read_source(PAR, "adyen", config=config)
    sales = table.frame[table.frame[C.ACTIVITY] == "Record store sale"]
    assert (sales[C.RESOURCE] == "adyen").all()
    assert not [n for n in table.notes if "name no resource" in n]
