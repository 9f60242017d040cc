"""Payment adapters on hand-written exports in each system's real layout."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from audit import canonical as C
from audit.errors import InputError
from audit.ingest import import_sources
from audit.sources import detect_system, read_source
from audit.sources.config import SourcesConfig, load_sources_config

DATA = Path(__file__).parent / "data" / "sources"


def _day_first() -> SourcesConfig:
    """The bundled sources configuration with PayPal's date_format set day-first, as for
    the account of the fixture (a European one, CEST): a download made of its rows up to
    the 12th of July, 01/07/2026 and 08/07/2026, cannot show the order of day and month
    itself."""
    cfg = load_sources_config()
    return replace(cfg, payments={**cfg.payments, "paypal": replace(
        cfg.payments["paypal"], date_format="%d/%m/%Y")})


DAY_FIRST = _day_first()


def test_stripe_charges_minor_units_and_currencies() -> None:
    path = DATA / "stripe" / "charges.csv"
    assert detect_system(path) == "stripe"
    table, quarantine = read_source(path, "stripe")
    events = table.frame.set_index(C.EVENT_ID)
    assert events.at["stripe:ch_3PQ1001", C.AMOUNT] == "49.90"
    assert events.at["stripe:ch_3PQ1002", C.AMOUNT] == "250000"  # JPY has no minor unit
    assert events.at["stripe:ch_3PQ1002", C.TIMESTAMP] == "2026-07-01T18:00:00+00:00"
    assert events.at["stripe:ch_3PQ1001", C.RESOURCE] == "stripe-api"
    assert events.at["stripe:ch_3PQ1001", C.ORDER_ID] == "EC-O1001"
    assert table.deduplicated == 1  # the same charge row twice
    assert quarantine[["row", "field"]].values.tolist() == [[4, "currency"]]
    assert table.records_read == 3


def test_stripe_amounts_count_stripes_minor_units_not_iso_where_they_differ(
        tmp_path: Path) -> None:
    """Stripe lists the ariary as zero-decimal (ISO 4217: two decimals) and keeps the krona
    two-decimal in its API (ISO: none): 5000 MGA is 5000 ariary (read as 50.00 before), 100
    ISK one krona (read as 100 before); JPY, KWD and EUR as ISO."""
    path = tmp_path / "stripe_charges.csv"
    header = "id,amount,currency,created,status,payment_method_type,order_id (metadata)"
    path.write_text("\n".join([header] + [
        f"ch_{k},{amount},{currency},2026-06-30 18:02:11,succeeded,card,EC-O{k}"
        for k, (amount, currency) in enumerate([("5000", "mga"), ("100", "isk"),
                                                ("1000", "jpy"), ("1005", "kwd"),
                                                ("4999", "eur")])]) + "\n", encoding="utf-8")
    table, quarantine = read_source(path, "stripe")
    assert quarantine.empty
    assert table.frame[C.AMOUNT].tolist() == ["5000", "1.00", "1000", "1.005", "49.99"]


def test_stripe_refunds_keep_failed_ones_and_name_the_executor() -> None:
    table, quarantine = read_source(DATA / "stripe" / "refunds.csv", "stripe")
    events = table.frame.set_index(C.EVENT_ID)
    failed = events.loc["stripe:re_3PR2001"]
    assert (failed[C.ACTIVITY], failed[C.PAYMENT_STATUS]) == ("Payout failed", "failed")
    paid = events.loc["stripe:re_3PR2002"]
    assert (paid[C.ACTIVITY], paid[C.RESOURCE], paid[C.TICKET_ID], paid[C.CHARGE_ID]) == (
        "Execute payout", "Ulla Nyberg", "101", "ch_3PQ1001")
    assert "minor units" in quarantine.iloc[0]["reason"]  # 49.90 is not an integer


def test_paypal_activity_download() -> None:
    path = DATA / "paypal" / "activity.csv"
    assert detect_system(path) == "paypal"
    result = import_sources([(path, None)], sources_config=DAY_FIRST)
    log = result.log.set_index(C.EVENT_ID)
    charge = log.loc["paypal:4SX12345AB678901C"]
    assert charge[C.TIMESTAMP] == pd.Timestamp("2026-07-01T07:30:00Z")  # 09:30 CEST
    assert (charge[C.AMOUNT], charge[C.ACTIVITY]) == (19.99, "Charge subscription renewal")
    denied = log.loc["paypal:7TY98765ZX432109D"]
    assert (denied[C.ACTIVITY], denied[C.PAYMENT_STATUS], denied[C.AMOUNT]) == (
        "Payout failed", "failed", 9.33)
    assert denied[C.CHARGE_ID] == "4SX12345AB678901C" and denied[C.RESOURCE] == "Wanda Maier"
    counts = result.files[0]
    assert (counts.read, counts.imported, counts.quarantined, counts.deduplicated) == (
        7, 3, 3, 1)
    reasons = dict(zip(result.quarantine["field"], result.quarantine["reason"], strict=True))
    assert "not a payment or refund" in reasons["Type"]
    assert "decimal comma" in reasons["Gross"]
    assert "abbreviation" in reasons["TimeZone"]
    assert "read 7 = imported 3 + quarantined 3 + 1 duplicate dropped" in result.summary_lines()[0]


def test_adyen_settlement_details() -> None:
    path = DATA / "adyen" / "settlement_details.csv"
    assert detect_system(path) == "adyen"
    table, quarantine = read_source(path, "adyen")
    events = table.frame.set_index(C.EVENT_ID)
    sale = events.loc["adyen:8815850000000001:settled"]
    assert (sale[C.RESOURCE], sale[C.PAYMENT_METHOD], sale[C.TIMESTAMP]) == (
        "pos-terminal-07", "card", "2026-07-01T11:00:00+00:00")
    refund = events.loc["adyen:8825850000000002:refunded"]
    assert (refund[C.TICKET_ID], refund[C.RESOURCE], refund[C.CHARGE_ID]) == (
        "CS0000042", "Victor Chen", "8815850000000001")
    reversed_ = events.loc["adyen:8825850000000002:refundedreversed"]
    assert (reversed_[C.ACTIVITY], reversed_[C.PAYMENT_STATUS]) == ("Payout failed",
                                                                    "reversed")
    assert quarantine["field"].tolist() == ["Type", "Gross Currency", "Gross Credit (GC)"]


def test_wrong_format_and_missing_key_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not a Stripe charges export.*missing column"):
        read_source(DATA / "paypal" / "activity.csv", "stripe")
    with pytest.raises(InputError, match=r"missing column.*Gross"):
        read_source(DATA / "adyen" / "settlement_details.csv", "paypal")
    trimmed = tmp_path / "refunds.csv"
    trimmed.write_text("id,charge,amount,currency,status\nre_1,ch_1,100,eur,succeeded\n",
                       encoding="utf-8")
    with pytest.raises(InputError, match="missing column\\(s\\) created"):
        read_source(trimmed, "stripe")


def test_the_same_export_twice_is_deduplicated_and_counted(tmp_path: Path) -> None:
    """The copy's rows are read as the first's: its `read` counts its 4 records, 3 of them
    dropped as read twice and the one the first quarantines quarantined again (before,
    `read 1`: the records dropped were not counted as read)."""
    copy = tmp_path / "refunds_again.csv"
    copy.write_bytes((DATA / "stripe" / "refunds.csv").read_bytes())
    result = import_sources([(DATA / "stripe" / "refunds.csv", "stripe"), (copy, "stripe")])
    first, second = result.files
    assert (first.read, first.imported, first.quarantined) == (4, 3, 1)
    assert (second.read, second.imported, second.quarantined, second.deduplicated) == (
        4, 0, 1, 3)
    assert len(result.log) == 3
    for counts in result.files:
        assert counts.read == counts.imported + counts.quarantined + counts.deduplicated


def test_a_changed_record_under_a_known_id_is_quarantined_as_a_conflict(
        tmp_path: Path) -> None:
    original = DATA / "stripe" / "refunds.csv"
    lines = original.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = tmp_path / "refunds_later.csv"  # re_3PR2002 again, with another amount
    changed.write_text(lines[0] + lines[1] + lines[2].replace(",4990,", ",4000,"),
                       encoding="utf-8")
    alone = import_sources([(original, "stripe")])
    both = import_sources([(original, "stripe"), (changed, "stripe")])
    pd.testing.assert_frame_equal(both.log, alone.log)  # the first file's events, in order
    conflict = both.quarantine[both.quarantine["file"] == changed.name]
    assert conflict[["row", "field", "value"]].values.tolist() == [
        [3, "id", "re_3PR2002"]]  # (the export's id column and cell, not the reader's id)
    assert conflict["reason"].tolist() == [
        "duplicate event id stripe:re_3PR2002 (first at refunds.csv row 3)"]
    assert (both.files[1].imported, both.files[1].deduplicated) == (0, 1)
    unsorted = import_sources([(original, "stripe"), (changed, "stripe")], sort=False)
    assert unsorted.log[C.SOURCE_ROW].tolist() == [2, 3, 5]  # file order (row 4: bad amount)
    pd.testing.assert_frame_equal(
        unsorted.log.sort_values([C.CASE, C.TIMESTAMP]).reset_index(drop=True), both.log)


def test_repeated_ids_found_alike_from_the_workers_hashes_and_by_sorting_the_ids(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The import finds repeated event ids from the hashes each file's reading took; where a
    file gives none (an id missing, or not text) it sorts the ids. Same log, quarantine and
    counts either way."""
    original = DATA / "stripe" / "refunds.csv"
    lines = original.read_text(encoding="utf-8").splitlines(keepends=True)
    again = tmp_path / "refunds_again.csv"
    again.write_bytes(original.read_bytes())
    changed = tmp_path / "refunds_later.csv"
    changed.write_text(lines[0] + lines[1] + lines[2].replace(",4990,", ",4000,"),
                       encoding="utf-8")
    sources: list[tuple[Path, str | None]] = [(original, "stripe"), (again, "stripe"),
                                              (changed, "stripe")]
    used: list[str] = []
    for name in ("duplicated_hashed", "duplicated_text"):
        real = getattr(C, name)
        monkeypatch.setattr(C, name, lambda *args, real=real, name=name: (
            used.append(name), real(*args))[1])
    hashed = import_sources(sources)
    assert used == ["duplicated_hashed", "duplicated_text"]  # the text compare: candidates
    used.clear()
    monkeypatch.setattr(C, "text_hashes", lambda values: None)
    sorted_ = import_sources(sources)
    assert used == ["duplicated_text"]
    pd.testing.assert_frame_equal(hashed.log, sorted_.log)
    pd.testing.assert_frame_equal(hashed.quarantine, sorted_.quarantine)
    assert hashed.files == sorted_.files
    assert [f.deduplicated for f in hashed.files] == [0, 3, 1]
    assert hashed.quarantine["reason"].str.startswith("duplicate event id").sum() == 1


@pytest.mark.parametrize("system", ["paypal", "adyen"])
def test_more_decimals_than_the_currency_has_is_quarantined(tmp_path: Path,
                                                            system: str) -> None:
    """An amount with more decimals than its currency's minor units is a thousands
    separator read as a decimal point (a de-DE export's 1.500 JPY is 1500 yen; 1.500 EUR is
    1500 euro): quarantined with that reason, not read as 1.5 (as before). KWD's three
    decimals and EUR's one or two still read."""
    source = DATA / system / ("activity.csv" if system == "paypal" else
                              "settlement_details.csv")
    header, first = source.read_text(encoding="utf-8").splitlines()[:2]
    names = header.split(",")
    currency, gross = (("Currency", "Gross") if system == "paypal"
                       else ("Gross Currency", "Gross Credit (GC)"))
    ident = "Transaction ID" if system == "paypal" else "Psp Reference"
    rows = []
    for k, (code, amount) in enumerate([("JPY", "1.500"), ("EUR", "1.500"), ("KWD", "1.005"),
                                        ("EUR", "12.5"), ("JPY", "1500"), ("EUR", "19.99")]):
        cells = dict(zip(names, first.split(","), strict=True))
        cells.update({currency: code, gross: amount, ident: f"{ident[:1]}{k}00000000000001"})
        rows.append(",".join(cells[name] for name in names))
    path = tmp_path / source.name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    table, quarantine = read_source(path, system, config=DAY_FIRST)
    assert quarantine[["row", "field", "value"]].values.tolist() == [
        [2, gross, "1.500"], [3, gross, "1.500"]]
    assert all(r.startswith("more decimals than") for r in quarantine["reason"])
    assert table.frame[C.AMOUNT].tolist() == ["1.005", "12.5", "1500", "19.99"]


def _rows_like(source: Path, templates: list[int], changes: list[dict[str, str]],
               ident: str) -> str:
    """The export `source`'s header and one row per change: its line `templates[k]` (1 =
    the first record) with `changes[k]` and a fresh id in column `ident`."""
    lines = source.read_text(encoding="utf-8").splitlines()
    names = lines[0].split(",")
    rows = []
    for k, (line, change) in enumerate(zip(templates, changes, strict=True)):
        cells = dict(zip(names, lines[line].split(","), strict=True))
        cells.update(change)
        cells[ident] = f"{ident[:1]}{k}00000000000001"
        rows.append(",".join(cells[name] for name in names))
    return "\n".join([lines[0], *rows]) + "\n"


def test_a_paypal_time_that_cannot_be_read_names_its_three_cells(tmp_path: Path) -> None:
    """A PayPal time is read from Date, Time and the zone. A row whose Time was cut to
    "11:00" was quarantined as field `Date`, value "01/07/2026", reason "not a time in the
    format %d/%m/%Y %H:%M:%S": the cell shown was fine and the one at fault not shown. Now
    the line names the three cells and shows each as written, as the normaliser's line of
    a time out of range does. A blank zone was "unknown time zone abbreviation ''"; now it
    says no zone is given, and that none is guessed (nor taken from --assume-tz, which
    these exports' rows, stating their own zone, do not read)."""
    path = tmp_path / "activity.csv"
    path.write_text(_rows_like(DATA / "paypal" / "activity.csv", [1, 1, 1], [
        {"Time": "11:00"}, {"Date": "1/7/2026", "Time": "09:30:00 AM"}, {"TimeZone": " "}],
        "Transaction ID"), encoding="utf-8")
    table, quarantine = read_source(path, "paypal", config=DAY_FIRST)
    fmt = "not a time in the format %d/%m/%Y %H:%M:%S"
    assert quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [2, "Date, Time, TimeZone", "01/07/2026, 11:00, CEST", fmt],
        [3, "Date, Time, TimeZone", "1/7/2026, 09:30:00 AM, CEST", fmt],
        [4, "TimeZone", " ", "no time zone abbreviation: the local time cannot be placed "
                             "(a zone is never guessed, and --assume-tz is not read for this "
                             "export, whose rows state their own)"]]
    assert table.frame.empty
    # The same for Adyen's zone; its time is one cell, named alone as before.
    settlement = tmp_path / "sd.csv"
    settlement.write_text(_rows_like(DATA / "adyen" / "settlement_details.csv", [1, 1], [
        {"TimeZone": ""}, {"Creation Date": "2026-07-01 10:00"}], "Psp Reference"),
        encoding="utf-8")
    _, quarantine = read_source(settlement, "adyen")
    assert quarantine[["row", "field", "value"]].values.tolist() == [
        [2, "TimeZone", ""], [3, "Creation Date", "2026-07-01 10:00"]]
    assert quarantine["reason"].iloc[0].startswith("no time zone abbreviation: ")


def test_a_paypal_chargeback_of_a_refunded_payment_is_quarantined_with_its_case(
        tmp_path: Path) -> None:
    """A payment refunded through ticket RFD-7 and also charged back (the buyer's dispute:
    the merchant paid twice). The Chargeback row is no refund the merchant executed, and
    stays quarantined, but it named no case: the refund case's findings showed no row not
    imported, and nothing beside the case told of the chargeback. Its Reference Txn ID
    names the payment: its line now goes with the case holding that payment. A row naming
    no payment (the chargeback's fee names the chargeback) names none, as before."""
    from audit.sources.pipeline import import_and_correlate

    lines = (DATA / "paypal" / "activity.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([
        *lines[:4],
        "20/07/2026,10:00:00,CEST,Jane Doe,Chargeback,Completed,EUR,-19.99,0.00,-19.99,,,"
        "5CB00000ZX432109J,4SX12345AB678901C,SU-O7001,,,,Debit",
        "20/07/2026,10:00:00,CEST,PayPal,Chargeback Fee,Completed,EUR,-16.00,0.00,-16.00,,,"
        "5CF00000ZX432109K,5CB00000ZX432109J,,,,,Debit"]) + "\n", encoding="utf-8")
    result = import_and_correlate([(DATA / "jira" / "issues.json", "jira"),
                                   (path, "paypal")])
    lines_of = result.quarantine[result.quarantine["file"] == "activity.csv"]
    assert lines_of[["row", "value", "case"]].values.tolist() == [
        [5, "Chargeback", "RFD-7"], [6, "Chargeback Fee", ""]]
    # (kept for the check's warning: the case and the payment the chargeback names)
    assert result.disputes is not None
    assert result.disputes.values.tolist() == [["RFD-7", "4SX12345AB678901C", "Chargeback"]]
    assert set(lines_of["reason"]) == {
        "not a payment or refund (fees, transfers, holds, currency conversions, chargebacks "
        "and reversals are not part of a refund case)"}


@pytest.mark.parametrize("report", ["settlement", "accounting"])
def test_an_adyen_chargeback_of_a_refunded_payment_is_quarantined_with_its_case(
        tmp_path: Path, report: str) -> None:
    """Payment 8815850000000001 (order OF-O4201) refunded through ServiceNow case CS0000042
    and also charged back: the shopper's dispute (Chargeback), the merchant's defence won
    (ChargebackReversed), the dispute pursued (SecondChargeback), as the Settlement details
    report and the Payment accounting report write them: Psp Reference the payment's,
    the chargeback's own reference beside it. They are no refund the merchant executed and
    stay quarantined, never read as a payout, but they named no case (the refund case
    showed no row not imported) and one reason for all ('fees, payouts and chargebacks'):
    now each goes with the case holding the payment its Psp Reference names, its reason
    naming the record type and the payment. A fee naming no payment names no case."""
    from audit.sources.pipeline import import_and_correlate

    psp = "8815850000000001"
    if report == "settlement":
        lines = (DATA / "adyen" / "settlement_details.csv").read_text(
            encoding="utf-8").splitlines()
        head = "ExampleRetailGroup,StoresUK,"
        rows = [
            f"{head}{psp},OF-O4201,visa,2026-07-20 10:00:00,BST,Chargeback,"
            "8835850000000005,GBP,120.00,,1,GBP,120.00,,,,",
            f"{head}{psp},OF-O4201,visa,2026-07-30 10:00:00,BST,ChargebackReversed,"
            "8835850000000006,GBP,,120.00,1,GBP,,120.00,,,",
            f"{head}{psp},OF-O4201,visa,2026-08-10 10:00:00,BST,SecondChargeback,"
            "8835850000000007,GBP,120.00,,1,GBP,120.00,,,,",
            f"{head},,,2026-07-20 10:00:00,BST,Fee,Chargeback Fee,GBP,15.00,,1,GBP,"
            "15.00,,,,"]
        path = tmp_path / "settlement_details.csv"
        path.write_text("\n".join([*lines[:3], *rows]) + "\n", encoding="utf-8")
        first, field = 4, "Type"
    else:
        lines = (DATA / "adyen" / "payment_accounting.csv").read_text(
            encoding="utf-8").splitlines()
        lines = [line.replace("8816000000000101", psp) for line in lines[:7]]
        tail = ",,,,,,,system,visa,,"
        rows = [
            f"ExampleRetailGroup,StoresUK,{psp},OF-O4201,visa,2026-07-20 10:00:00,BST,GBP,"
            f"-120.00,Chargeback,GBP,,,,GBP,-120.00{tail}8835850000000005",
            f"ExampleRetailGroup,StoresUK,{psp},OF-O4201,visa,2026-07-30 10:00:00,BST,GBP,"
            f"120.00,ChargebackReversed,GBP,,,,GBP,120.00{tail}8835850000000006",
            f"ExampleRetailGroup,StoresUK,{psp},OF-O4201,visa,2026-08-10 10:00:00,BST,GBP,"
            f"-120.00,SecondChargeback,GBP,,,,GBP,-120.00{tail}8835850000000007",
            "ExampleRetailGroup,StoresUK,,,,2026-07-20 10:00:00,BST,GBP,-15.00,Fee,GBP,,,,"
            f"GBP,-15.00{tail}"]
        path = tmp_path / "payment_accounting.csv"
        path.write_text("\n".join([*lines, *rows]) + "\n", encoding="utf-8")
        first, field = 8, "Record Type"
    result = import_and_correlate([(DATA / "servicenow" / "sys_audit.csv", "servicenow"),
                                   (path, "adyen")])
    events = result.log.set_index("event:id")
    assert f"adyen:{psp}:settled" in events.index  # (the purchase and the refund are read)
    assert events.loc["adyen:8825850000000002:refunded"
                      if report == "settlement" else
                      "adyen:8826000000000102:refunded", "case:concept:name"] == "CS0000042"
    assert not events.index.str.contains("chargeback").any()  # (never a payout)
    lines_of = result.quarantine[result.quarantine["file"] == path.name]
    disputes = lines_of[lines_of["row"] >= first]
    assert disputes[["row", "field", "value", "case"]].values.tolist() == [
        [first, field, "Chargeback", "CS0000042"],
        [first + 1, field, "ChargebackReversed", "CS0000042"],
        [first + 2, field, "SecondChargeback", "CS0000042"],
        [first + 3, field, "Fee", ""]]
    assert result.disputes is not None  # (kept for the check's warning; not the fee)
    assert result.disputes.values.tolist() == [
        ["CS0000042", psp, kind]
        for kind in ("Chargeback", "ChargebackReversed", "SecondChargeback")]
    reasons = disputes["reason"].tolist()
    assert reasons[0] == (
        f"record type Chargeback of payment {psp}: a chargeback: the card scheme took the "
        "payment back for the shopper's dispute; a dispute the card scheme decides, not a "
        "refund the merchant executed: not part of a refund case, never read as a payout")
    assert reasons[1].startswith(f"record type ChargebackReversed of payment {psp}: ")
    assert reasons[2].startswith(f"record type SecondChargeback of payment {psp}: ")


REVERSED_TOLD = (
    "paid 9.33 EUR refunding a purchase that was reversed (charge 4SX12345AB678901C charged "
    "back or taken back by the payment provider): the buyer had the money back by the "
    "reversal, and the refund pays it out again",
    "no recorded charge (purchase) for this order: its charge 4SX12345AB678901C was reversed "
    "(its payment status is reversed: charged back or taken back by the payment provider "
    "after its capture, the money returned to the buyer)")
"""EV007's message and missing_reason of the PayPal refund RFD-7 of a reversed payment."""


@pytest.mark.parametrize("status", ["Reversed", "Denied"])
def test_a_refund_of_a_charged_back_paypal_payment_says_the_payment_was_reversed(
        tmp_path: Path, status: str) -> None:
    """Jane Doe's 19.99 payment (order SU-O7001) was charged back: PayPal marks the payment
    Reversed and books a Chargeback row naming it; Wanda Maier then refunded 9.33 through
    Jira RFD-7 (the buyer paid back twice). no-prior-purchase (EV007) finds the refund, but
    said "paid 9.33 EUR with no purchase before the payout", and its evidence that the
    charge "was not captured": the payment was captured, and taken back. Now the message
    and the evidence say the purchase was reversed and the refund pays the money out
    again. A payment Denied (never captured) is told as before."""
    from audit.checkrun import run_check
    from audit.policy import default_policy_path

    lines = (DATA / "paypal" / "activity.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([
        lines[0], lines[1].replace(",Completed,", f",{status},"),
        "04/07/2026,10:00:00,CEST,Jane Doe,Chargeback,Completed,EUR,-19.99,0.00,-19.99,,,"
        "5CB00000ZX432109J,4SX12345AB678901C,SU-O7001,,,,Debit",
        lines[3], lines[7]]) + "\n", encoding="utf-8")
    # (lines[7], of 13/07/2026, quarantined for its zone, shows the dates day-first)
    run = run_check([DATA / "jira" / "issues.json", path], default_policy_path())
    [found] = [f for f in run.result.findings if f.rule == "EV007"]
    assert (found.case_id, found.event_ids) == ("RFD-7", ["paypal:8UZ11111ZX432109E"])
    assert found.evidence["missing_link"] == "order -> charge"
    if status == "Denied":
        assert found.message == "paid 9.33 EUR with no purchase before the payout"
        assert found.evidence["missing_reason"].endswith(
            "its charge 4SX12345AB678901C was not captured (its payment status is failed)")
        return
    assert (found.message, found.evidence["missing_reason"]) == REVERSED_TOLD


@pytest.mark.parametrize("refund", ["Completed", "Denied"])
def test_a_paid_refund_of_a_charged_back_paypal_payment_is_warned_of(
        tmp_path: Path, refund: str) -> None:
    """Jane Doe's payment stays Completed; a Chargeback row names it (the buyer's dispute),
    and Wanda Maier refunded 9.33 of it through Jira RFD-7: paid back twice, which no rule
    finds (the payment row is Completed) and the run did not tell. Now a warning names the
    case. Where the refund was Denied (not paid), the chargeback alone paid the buyer back:
    no warning."""
    from audit.checkrun import run_check
    from audit.policy import default_policy_path

    lines = (DATA / "paypal" / "activity.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([
        lines[0], lines[1], lines[2], lines[3].replace(",Completed,", f",{refund},"),
        "20/07/2026,10:00:00,CEST,Jane Doe,Chargeback,Completed,EUR,-19.99,0.00,-19.99,,,"
        "5CB00000ZX432109J,4SX12345AB678901C,SU-O7001,,,,Debit"]) + "\n", encoding="utf-8")
    run = run_check([DATA / "jira" / "issues.json", path], default_policy_path())
    told = [w for w in run.warnings() if "charged back or disputed" in w]
    if refund == "Denied":
        assert told == []
        return
    assert told == [
        "1 case paid a refund of a payment that the payment system also shows charged back "
        "or disputed: a chargeback or dispute row of the same payment, quarantined with the "
        "case, which no rule judges; the customer may have had the money back twice, by the "
        "refund and by the chargeback: check the quarantine's lines of RFD-7"]


def test_a_declined_card_before_a_charged_back_payment_does_not_hide_the_reversal(
        tmp_path: Path) -> None:
    """Jane Doe's card was declined for order SU-O7001 (payment 1DN..., Denied) on 30 June;
    she paid the next day (4SX..., 19.99) and charged that payment back (Reversed, with its
    Chargeback row); Wanda Maier then refunded 9.33 through Jira RFD-7. no-prior-purchase
    (EV007) told the order's first attempt that moved no money, the declined card: "with
    no purchase before the payout", "was not captured". The reversed payment is the one
    that tells what happened: the buyer had the money back by the chargeback, and the
    refund pays it out again. A pending payment alone is told as pending."""
    from audit.checkrun import run_check
    from audit.policy import default_policy_path

    lines = (DATA / "paypal" / "activity.csv").read_text(encoding="utf-8").splitlines()
    denied = (lines[1].replace(",Completed,", ",Denied,")
              .replace("4SX12345AB678901C", "1DN00000AB678901A")
              .replace("01/07/2026,09:30", "30/06/2026,09:30"))
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([
        lines[0], denied, lines[1].replace(",Completed,", ",Reversed,"),
        "04/07/2026,10:00:00,CEST,Jane Doe,Chargeback,Completed,EUR,-19.99,0.00,-19.99,,,"
        "5CB00000ZX432109J,4SX12345AB678901C,SU-O7001,,,,Debit",
        lines[3], lines[7]]) + "\n", encoding="utf-8")
    # (lines[7], of 13/07/2026, quarantined for its zone, shows the dates day-first)
    run = run_check([DATA / "jira" / "issues.json", path], default_policy_path())
    [found] = [f for f in run.result.findings if f.rule == "EV007"]
    assert (found.message, found.evidence["missing_reason"]) == REVERSED_TOLD
    # A pending payment alone: told by its own status, not "failed, reversed or pending".
    path.write_text("\n".join([lines[0], lines[1].replace(",Completed,", ",Pending,"),
                               lines[3], lines[7]]) + "\n", encoding="utf-8")
    run = run_check([DATA / "jira" / "issues.json", path], default_policy_path())
    [found] = [f for f in run.result.findings if f.rule == "EV007"]
    assert found.message == "paid 9.33 EUR with no purchase before the payout"
    assert found.evidence["missing_reason"] == (
        "no recorded charge (purchase) for this order: its charge 4SX12345AB678901C is not "
        "captured yet (its payment status is pending)")


def test_a_paypal_gross_of_the_other_sign_than_its_type_is_quarantined(tmp_path: Path) -> None:
    """PayPal's Gross is signed: a refund this account pays is negative, a customer's
    payment positive. A "Payment Refund" with a positive Gross is a refund the account
    received (as a buyer), a payment with a negative Gross one it sent: neither is part of
    a refund case, and both were read as the other kind's amount (the sign dropped)."""
    path = tmp_path / "activity.csv"
    path.write_text(_rows_like(DATA / "paypal" / "activity.csv", [1, 1, 3, 3, 3], [
        {"Gross": "19.99"}, {"Gross": "-19.99"}, {"Gross": "-9.33"}, {"Gross": "9.33"},
        {"Gross": "-0.00"}], "Transaction ID"), encoding="utf-8")
    table, quarantine = read_source(path, "paypal", config=DAY_FIRST)
    assert quarantine[["row", "field", "value"]].values.tolist() == [
        [3, "Gross", "-19.99"], [5, "Gross", "9.33"]]
    assert quarantine["reason"].str.contains("negative Gross is one this account sent").iloc[0]
    assert quarantine["reason"].str.contains("positive Gross is one this account received"
                                             ).iloc[1]
    assert table.frame[C.AMOUNT].tolist() == ["19.99", "9.33", "0.00"]


def test_an_adyen_amount_on_both_sides_is_quarantined_and_a_zero_side_ignored(
        tmp_path: Path) -> None:
    """Adyen's settlement details hold an amount as a Gross Debit or a Gross Credit. A zero
    on the other side is no amount (before: a Debit of 0 beside a Credit of 120 read 0); an
    amount on both sides is quarantined, naming both."""
    path = tmp_path / "settlement_details.csv"
    sides = [("", "120.00"), ("0", "120.00"), ("0.00", "0.00"), ("5.00", "120.00"),
             ("120.00", "0")]
    path.write_text(_rows_like(DATA / "adyen" / "settlement_details.csv", [1, 1, 1, 1, 2], [
        {"Gross Debit (GC)": debit, "Gross Credit (GC)": credit} for debit, credit in sides],
        "Psp Reference"), encoding="utf-8")
    table, quarantine = read_source(path, "adyen")
    assert quarantine[["row", "field", "value"]].values.tolist() == [
        [5, "Gross Debit (GC)", "5.00"]]
    assert quarantine["reason"].tolist() == [
        "both Gross Debit (GC) and Gross Credit (GC) (120.00) hold an amount"]
    assert table.frame[C.AMOUNT].tolist() == ["120.00", "120.00", "0.00", "120.00"]


def test_times_past_the_years_a_datetime_holds_are_quarantined(tmp_path: Path) -> None:
    """A Stripe `created` in Unix milliseconds (year 58375), a Stripe time whose offset
    takes it before year 1 in UTC, and a PayPal time of 31/12/9999 23:00 PDT (year 10000 in
    UTC) went past datetime's years: a traceback ("year 58375 is out of range", "date value
    out of range") instead of a quarantine row. Now each is quarantined with the generic
    reader's reason, and the other rows import."""
    stripe = tmp_path / "stripe_charges.csv"
    stripe.write_text("\n".join([
        "id,amount,currency,created,status",
        "ch_1,5000,eur,1780000000000,succeeded",
        "ch_2,5000,eur,0001-01-01T00:10:00+01:00,succeeded",
        "ch_3,5000,eur,2026-05-24 22:41:03,succeeded"]) + "\n", encoding="utf-8")
    table, quarantine = read_source(stripe, "stripe")
    assert quarantine[["row", "field", "value"]].values.tolist() == [
        [2, "created", "1780000000000"], [3, "created", "0001-01-01T00:10:00+01:00"]]
    assert all(r.startswith("time outside 1677-09-21 00:12:43.145224193 to 2262-04-11 ")
               for r in quarantine["reason"])
    assert "not milliseconds" in quarantine["reason"].iloc[0]
    assert table.frame[C.EVENT_ID].tolist() == ["stripe:ch_3"]

    paypal = tmp_path / "activity.csv"
    paypal.write_text(_rows_like(DATA / "paypal" / "activity.csv", [1, 1], [
        {"Date": "31/12/9999", "Time": "23:00:00", "TimeZone": "PDT"}, {}],
        "Transaction ID"), encoding="utf-8")
    table, quarantine = read_source(paypal, "paypal", config=DAY_FIRST)
    assert quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [2, "Date, Time, TimeZone", "31/12/9999, 23:00:00, PDT",
         "time outside 1677-09-21 00:12:43.145224193 to 2262-04-11 23:47:16.854775807 "
         "UTC (the range a timestamp can hold)"]]
    assert len(table.frame) == 1


NEGATIVE = ("negative amount (this export writes amounts as magnitudes: a refund is told by "
            "its kind, not by a sign)")


def test_a_negative_stripe_or_adyen_amount_is_quarantined_not_made_positive(
        tmp_path: Path) -> None:
    """Stripe's charge and refund amounts and Adyen's Gross Debit / Credit are magnitudes
    (the kind of row, or the side, tells the direction). A minus sign was dropped: charge
    -5000 EUR read as 50.00, a refund of -5000 as 50.00, an Adyen debit of -50.00 as 50.00.
    Now each is quarantined; -0 is zero and reads as 0."""
    charges = tmp_path / "stripe_charges.csv"
    charges.write_text("\n".join([
        "id,amount,currency,created,status",
        "ch_1,-5000,eur,2026-05-24 22:41:03,succeeded",
        "ch_2,5000,eur,2026-05-24 22:41:03,succeeded",
        "ch_3,-0,eur,2026-05-24 22:41:03,succeeded",
        "ch_4,-5000000000000000000000,eur,2026-05-24 22:41:03,succeeded"]) + "\n",
        encoding="utf-8")
    table, quarantine = read_source(charges, "stripe")
    assert quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [2, "amount", "-5000", NEGATIVE], [5, "amount", "-5000000000000000000000", NEGATIVE]]
    assert table.frame[C.AMOUNT].tolist() == ["50.00", "0.00"]

    refunds = tmp_path / "stripe_refunds.csv"
    refunds.write_text(_rows_like(DATA / "stripe" / "refunds.csv", [1, 1], [
        {"amount": "-5000"}, {"amount": "5000"}], "id"), encoding="utf-8")
    table, quarantine = read_source(refunds, "stripe")
    assert quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [2, "amount", "-5000", NEGATIVE]]
    assert table.frame[C.AMOUNT].tolist() == ["50.00"]

    adyen = tmp_path / "settlement_details.csv"
    adyen.write_text(_rows_like(DATA / "adyen" / "settlement_details.csv", [2, 2, 1], [
        {"Gross Debit (GC)": "-50.00", "Gross Credit (GC)": "", "Modification Reference": "M1"},
        {"Gross Debit (GC)": "50.00", "Gross Credit (GC)": "", "Modification Reference": "M2"},
        {"Gross Debit (GC)": "", "Gross Credit (GC)": "-120.00"}], "Psp Reference"),
        encoding="utf-8")
    table, quarantine = read_source(adyen, "adyen")
    assert quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [2, "Gross Debit (GC)", "-50.00", NEGATIVE],
        [4, "Gross Credit (GC)", "-120.00", NEGATIVE]]
    assert table.frame[C.AMOUNT].tolist() == ["50.00"]


def test_a_stripe_refunds_export_without_its_charge_column_is_refused(tmp_path: Path) -> None:
    """Refunds exported without the `charge` column (`id,payment_intent,amount,...` with
    re_ ids) were taken for a charges export: each refund imported as a "Capture payment"
    event. The ids say they are refunds: the file is refused, naming the missing column,
    whether the system is named or detected."""
    path = tmp_path / "stripe_refunds.csv"
    path.write_text("\n".join([
        "id,payment_intent,amount,currency,created,status,reason",
        "re_1,pi_1,5000,eur,2026-05-24 22:41:03,succeeded,requested_by_customer",
        "re_2,pi_2,300,eur,2026-05-24 22:41:03,succeeded,requested_by_customer"]) + "\n",
        encoding="utf-8")
    for system in ("stripe", None):
        with pytest.raises(InputError, match=r"Stripe refunds .*missing column\(s\) charge"
                           ) as caught:
            import_sources([(path, system)], sources_config=DAY_FIRST)
        assert caught.value.file == str(path)
    charges = tmp_path / "stripe_charges.csv"  # a charges export still reads as one
    charges.write_text(path.read_text(encoding="utf-8").replace("re_", "ch_"),
                       encoding="utf-8")
    table, quarantine = read_source(charges, "stripe")
    assert quarantine.empty and table.frame[C.CHARGE_ID].tolist() == ["ch_1", "ch_2"]


@pytest.mark.parametrize(("system", "source", "ident"), [
    ("stripe", "stripe/charges.csv", "id"),
    ("paypal", "paypal/activity.csv", "Transaction ID"),
    ("adyen", "adyen/settlement_details.csv", "Psp Reference")])
def test_each_row_with_a_blank_id_is_quarantined_naming_the_id_field(
        tmp_path: Path, system: str, source: str, ident: str) -> None:
    """Rows with a blank id: the first was quarantined by the normaliser under
    `case:concept:name` ("empty value", not the export's field), the next as "same id as
    row 3 with different content" though row 3 was itself quarantined (and one exactly
    like it was dropped as a repeat). Now each is quarantined naming the id field."""
    template = DATA / source
    lines = _rows_like(template, [1, 1, 1, 1], [{}, {}, {}, {}], ident).splitlines()
    names = lines[0].split(",")
    at = names.index(ident)
    amount = {"stripe": "amount", "paypal": "Gross", "adyen": "Gross Credit (GC)"}[system]

    def blank(line: str, new_amount: str | None = None) -> str:
        cells = line.split(",")
        cells[at] = ""
        if new_amount is not None:
            cells[names.index(amount)] = new_amount
        return ",".join(cells)

    rows = [lines[1], blank(lines[2]), blank(lines[3], "7"), blank(lines[2])]
    path = tmp_path / template.name
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    result = import_sources([(path, system)], sources_config=DAY_FIRST)
    assert result.quarantine[["row", "field", "value"]].values.tolist() == [
        [3, ident, ""], [4, ident, ""], [5, ident, ""]]
    assert set(result.quarantine["reason"]) == {
        "empty id (a payment's or refund's id is its event's id)"}
    counts = result.files[0]
    assert (counts.read, counts.imported, counts.quarantined, counts.deduplicated) == (
        4, 1, 3, 0)


@pytest.mark.parametrize("fast", [True, False])
def test_paypal_amounts_with_thousands_separators_are_read(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           fast: bool) -> None:
    """PayPal's Activity Download of an English-language account writes amounts of a
    thousand and more grouped with commas ("1,250.00", "-1,250.00"; yen as "12,500"): every
    such payment and refund was quarantined as "thousands separator or decimal comma", so
    a refund case of 1,000 or more lost its payout. Read where the commas can only be
    thousands separators (groups of three before a decimal point, or in a currency without
    minor units); "1,250" in EUR and a decimal comma stay quarantined."""
    from audit.sources import payments

    monkeypatch.setattr(payments, "FAST_PATH", fast)
    source = DATA / "paypal" / "activity.csv"
    lines = source.read_text(encoding="utf-8").splitlines()
    names = lines[0].split(",")
    path = tmp_path / "activity.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as out:  # as PayPal writes it
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        writer.writerow(names)
        for k, (line, currency, gross) in enumerate([
                (1, "USD", "1,250.00"), (3, "USD", "-1,250.00"), (1, "JPY", "12,500"),
                (3, "EUR", "-1,234,567.89"), (1, "EUR", "1,250"), (1, "EUR", "12,50"),
                (1, "JPY", "1,250.5")]):
            cells = dict(zip(names, lines[line].split(","), strict=True))
            cells.update({"Currency": currency, "Gross": gross,
                          "Transaction ID": f"T{k}00000000000001"})
            writer.writerow([cells[name] for name in names])
    table, quarantine = read_source(path, "paypal", config=DAY_FIRST)
    assert table.frame[C.AMOUNT].tolist() == ["1250.00", "1250.00", "12500", "1234567.89"]
    assert table.frame[C.CURRENCY].tolist() == ["USD", "USD", "JPY", "EUR"]
    assert quarantine[["row", "field", "value"]].values.tolist() == [
        [6, "Gross", "1,250"], [7, "Gross", "12,50"], [8, "Gross", "1,250.5"]]
    assert quarantine["reason"].str.startswith("thousands separator").tolist() == [
        True, True, False]
    assert quarantine["reason"].iloc[2].startswith("more decimals than JPY")


@pytest.mark.parametrize("zone", ["Time zone", "Time Zone"])
def test_a_paypal_download_naming_its_zone_column_time_zone(tmp_path: Path,
                                                           zone: str) -> None:
    """PayPal's current Activity Download heads its third column "Time zone" (not
    "TimeZone", as the long-standing layout does): the file was not told PayPal's (read as
    a generic log: "no column for 'case:concept:name'"), and `--source paypal:` refused it
    as missing TimeZone. Both names are read alike; a bad zone is quarantined under the
    file's own column name."""
    source = DATA / "paypal" / "activity.csv"
    text = source.read_text(encoding="utf-8").replace("TimeZone", zone, 1)
    lines = text.splitlines()
    lines[2] = lines[2].replace(",CEST,", ",XYZ,", 1)
    path = tmp_path / "Download.CSV"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert detect_system(path) == "paypal"
    expected, before = read_source(source, "paypal", config=DAY_FIRST)
    table, quarantine = read_source(path, "paypal", config=DAY_FIRST)
    before["field"] = before["field"].replace({"TimeZone": zone})
    assert quarantine[["row", "field", "value"]].values.tolist() == sorted(
        [[3, zone, "XYZ"], *before[["row", "field", "value"]].values.tolist()])
    kept = expected.frame[expected.frame[C.EVENT_ID] != "paypal:7TY98765ZX432109D"]
    assert table.frame[[C.EVENT_ID, C.TIMESTAMP, C.AMOUNT]].values.tolist() == \
        kept[[C.EVENT_ID, C.TIMESTAMP, C.AMOUNT]].values.tolist()


@pytest.mark.parametrize("fast", [True, False])
def test_an_adyen_account_outside_europe_and_america_names_its_own_zone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    """The settlement details report's TimeZone is the short name of the zone the account is
    set to ("BST, CET, CEST, etc.", as Adyen's report structure states): an account in
    Sydney, Adelaide, Tokyo or Singapore writes AEST/AEDT, ACST, JST, SGT. Only European and
    North American names were known, so every row of such a report was quarantined as an
    unknown zone. A name that means several offsets (IST) is still quarantined."""
    from audit.sources import payments

    monkeypatch.setattr(payments, "FAST_PATH", fast)
    path = tmp_path / "settlement_details.csv"
    zones = ["AEST", "AEDT", "ACST", "JST", "SGT", "IST"]
    path.write_text(_rows_like(DATA / "adyen" / "settlement_details.csv", [1] * len(zones), [
        {"TimeZone": zone, "Creation Date": "2026-07-01 12:00:00"} for zone in zones],
        "Psp Reference"), encoding="utf-8")
    table, quarantine = read_source(path, "adyen")
    assert table.frame[C.TIMESTAMP].tolist() == [
        "2026-07-01T02:00:00+00:00", "2026-07-01T01:00:00+00:00", "2026-07-01T02:30:00+00:00",
        "2026-07-01T03:00:00+00:00", "2026-07-01T04:00:00+00:00"]
    assert quarantine[["row", "field", "value"]].values.tolist() == [[7, "TimeZone", "IST"]]
    assert quarantine["reason"].iloc[0].startswith("unknown time zone abbreviation 'IST'")


@pytest.mark.parametrize("kind", ["Direct Credit Card Payment", "Payment Received",
                                  "eBay Auction Payment", "Donation Payment"])
def test_paypal_card_and_older_checkout_payments_are_purchases(tmp_path: Path,
                                                                kind: str) -> None:
    """A card charged through PayPal's card processing is a "Direct Credit Card Payment" in
    the Activity Download (older checkouts: "Payment Received", "eBay Auction Payment",
    "Donation Payment"): it was quarantined as "not a payment or refund", so the refund of
    it had no purchase in its case. Read as the purchase its refund names."""
    path = tmp_path / "activity.csv"
    path.write_text(_rows_like(DATA / "paypal" / "activity.csv", [1, 3], [
        {"Type": kind}, {"Reference Txn ID": "T000000000000001"}], "Transaction ID"),
        encoding="utf-8")
    table, quarantine = read_source(path, "paypal", config=DAY_FIRST)
    assert quarantine.empty
    events = table.frame.set_index(C.EVENT_ID)
    assert events.at["paypal:T000000000000001", C.ACTIVITY] == "Charge subscription renewal"
    assert events.at["paypal:T100000000000001", C.CHARGE_ID] == "T000000000000001"


def _paypal_dates(tmp_path: Path, dates: list[str]) -> Path:
    path = tmp_path / "activity.csv"
    path.write_text(_rows_like(DATA / "paypal" / "activity.csv", [1] * len(dates), [
        {"Date": date} for date in dates], "Transaction ID"), encoding="utf-8")
    return path


def test_paypal_dates_of_the_other_order_than_the_date_format_are_refused(
        tmp_path: Path) -> None:
    """A US account's Activity Download writes month-first dates (07/13/2026). Read with a
    day-first date_format, the 13th was quarantined and every date up to the 12th
    silently read with day and month swapped (11 July as 7 November). Where the file's
    dates show only the other order, the import is refused, naming the date and the
    date_format to set; with that set they read right."""
    from dataclasses import replace

    from audit.sources.config import load_sources_config

    path = _paypal_dates(tmp_path, ["07/11/2026", "07/13/2026", "07/12/2026"])
    with pytest.raises(InputError) as caught:
        read_source(path, "paypal", config=DAY_FIRST)
    assert (caught.value.row, caught.value.field) == (3, "Date")
    assert "month-first (07/13/2026)" in caught.value.message
    assert 'set date_format: "%m/%d/%Y"' in caught.value.message
    cfg = load_sources_config()
    us = replace(cfg, payments={**cfg.payments, "paypal": replace(
        cfg.payments["paypal"], date_format="%m/%d/%Y")})
    table, quarantine = read_source(path, "paypal", config=us)
    assert quarantine.empty
    assert [t[:10] for t in table.frame[C.TIMESTAMP]] == [
        "2026-07-11", "2026-07-13", "2026-07-12"]
    # The other way round: day-first dates under a month-first date_format.
    with pytest.raises(InputError, match=r'day-first \(13/07/2026\).*"%d/%m/%Y"'):
        read_source(_paypal_dates(tmp_path, ["11/07/2026", "13/07/2026"]), "paypal",
                    config=us)


def test_paypal_dates_that_show_both_orders_are_read_as_the_date_format_says(
        tmp_path: Path) -> None:
    """A file whose dates show both orders (one above 12 in each place) is not refused
    where the sources file sets date_format: read as it says, the dates it cannot read
    quarantined, as before."""
    path = _paypal_dates(tmp_path, ["13/07/2026", "07/13/2026", "01/07/2026"])
    table, quarantine = read_source(path, "paypal", config=DAY_FIRST)
    assert quarantine[["row", "field", "value"]].values.tolist() == [
        [3, "Date, Time, TimeZone", "07/13/2026, 09:30:00, CEST"]]
    assert [t[:10] for t in table.frame[C.TIMESTAMP]] == ["2026-07-13", "2026-07-01"]


def test_paypal_dates_all_up_to_the_12th_are_refused_where_no_date_format_is_set(
        tmp_path: Path) -> None:
    """A US account's download of 1 to 12 November (11/05/2026: 5 November) was read
    day-first by the bundled sources file's date_format, which no one had chosen: 11 May,
    silently, every date of the file. The bundled file now sets no date_format: a download
    whose dates are all up to the 12th in both places cannot tell its order and is refused,
    naming the file, the row and Date, and the date_format to set; the same download read
    with date_format "%m/%d/%Y" gives November."""
    path = _paypal_dates(tmp_path, ["11/01/2026", "11/05/2026", "11/12/2026"])
    with pytest.raises(InputError) as caught:
        read_source(path, "paypal")
    assert (caught.value.file, caught.value.row, caught.value.field) == (str(path), 2, "Date")
    assert "every date is up to the 12th in both places (11/01/2026" in caught.value.message
    assert "never guessed" in caught.value.message
    assert '"%m/%d/%Y" where the account writes month first' in caught.value.message
    us = replace(DAY_FIRST, payments={**DAY_FIRST.payments, "paypal": replace(
        DAY_FIRST.payments["paypal"], date_format="%m/%d/%Y")})
    table, quarantine = read_source(path, "paypal", config=us)
    assert quarantine.empty
    assert [t[:10] for t in table.frame[C.TIMESTAMP]] == [
        "2026-11-01", "2026-11-05", "2026-11-12"]


@pytest.mark.parametrize(("dates", "fmt", "decides", "days"), [
    (["11/05/2026", "11/13/2026"], "%m/%d/%Y", "11/13/2026 (row 3)",
     ["2026-11-05", "2026-11-13"]),
    (["05/11/2026", "13/11/2026"], "%d/%m/%Y", "13/11/2026 (row 3)",
     ["2026-11-05", "2026-11-13"])])
def test_paypal_dates_are_read_in_the_order_they_show_where_no_date_format_is_set(
        tmp_path: Path, dates: list[str], fmt: str, decides: str, days: list[str]) -> None:
    """With no date_format, a download whose dates show their order (a day above 12 in
    one place) is read in that order, the import's notes naming the date that decides it
    (a US account's 11/13/2026 month-first; before, the default day-first read quarantined
    it and read 11/05/2026 as 11 May)."""
    path = _paypal_dates(tmp_path, dates)
    result = import_sources([(path, "paypal")])
    assert [str(t)[:10] for t in result.log[C.TIMESTAMP]] == days
    assert result.quarantine.empty
    day = "day" if fmt.startswith("%d") else "month"
    assert (f"activity.csv: dates read {day}-first ({fmt}), as its date {decides} shows; "
            "the sources file sets no date_format for paypal") in result.notes


def test_paypal_dates_of_both_orders_are_refused_where_no_date_format_is_set(
        tmp_path: Path) -> None:
    """13/07/2026 beside 07/13/2026 with no date_format: which order the account writes
    cannot be told, so the download is refused, naming both dates."""
    path = _paypal_dates(tmp_path, ["01/07/2026", "13/07/2026", "07/13/2026"])
    with pytest.raises(InputError) as caught:
        read_source(path, "paypal")
    assert (caught.value.row, caught.value.field) == (4, "Date")
    assert ("both orders of day and month (13/07/2026 at row 3, 07/13/2026 at row 4)"
            in caught.value.message)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
@pytest.mark.parametrize(("system", "name"), [("paypal", "activity.csv"),
                                              ("adyen", "settlement_details.csv"),
                                              ("stripe", "charges.csv")])
def test_an_export_saved_as_utf16_text_is_detected(tmp_path: Path, encoding: str,
                                                    system: str, name: str) -> None:
    """An export opened in Excel and saved as "Unicode Text" is UTF-16 with a byte order
    mark, tab-delimited. The CSV reader reads it, but detection decoded the file's head as
    UTF-8 only, found no system's header and read it as a generic log ("no column for
    'case:concept:name'"). Detection decodes it as the reader does."""
    source = DATA / system / name
    rows = list(csv.reader(source.read_text(encoding="utf-8").splitlines()))
    path = tmp_path / f"{source.stem}.txt"
    with path.open("w", encoding="utf-16" if encoding == "utf-16" else "utf-16-be",
                   newline="") as out:
        if encoding == "utf-16-be":
            out.write("\ufeff")  # (the codec of an explicit byte order writes no mark)
        csv.writer(out, delimiter="\t", lineterminator="\r\n").writerows(rows)
    assert detect_system(path) == system
    expected, _ = read_source(source, system, config=DAY_FIRST)
    table, _ = read_source(path, system, config=DAY_FIRST)
    assert table.frame[[C.EVENT_ID, C.TIMESTAMP, C.AMOUNT]].values.tolist() == \
        expected.frame[[C.EVENT_ID, C.TIMESTAMP, C.AMOUNT]].values.tolist()


@pytest.mark.parametrize("fast", [True, False])
def test_a_paypal_payment_refunded_in_part_is_a_purchase(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          fast: bool) -> None:
    """The Activity Download shows a payment later refunded in part with the status
    "Partially Refunded" (as one refunded in full shows "Refunded"). The status was unknown,
    so the payment was quarantined and the case of its partial refund lost its purchase."""
    from audit.sources import payments

    monkeypatch.setattr(payments, "FAST_PATH", fast)
    path = tmp_path / "activity.csv"
    path.write_text(_rows_like(DATA / "paypal" / "activity.csv", [1, 3], [
        {"Status": "Partially Refunded"}, {"Reference Txn ID": "T000000000000001"}],
        "Transaction ID"), encoding="utf-8")
    table, quarantine = read_source(path, "paypal", config=DAY_FIRST)
    assert quarantine.empty
    events = table.frame.set_index(C.EVENT_ID)
    assert events.at["paypal:T000000000000001", C.PAYMENT_STATUS] == "succeeded"
    assert events.at["paypal:T000000000000001", C.ACTIVITY] == "Charge subscription renewal"


OLD_PAYPAL = (
    "Date, Time, Time Zone, Name, Type, Status, Currency, Gross, Fee, Net, Note, "
    "From Email Address, To Email Address, Transaction ID, Reference Txn ID, "
    "Invoice Number, Custom Number, Balance Impact,\n"
    '"18/03/2026","21:12:04","GMT","Matt Silver","{kind}","Completed","USD","1,015.30",'
    '"-0.97","1,014.33","","from@example.com","to@example.com","01A23456B7890123C","",'
    '"SU-O1","","Credit",\n'
    '"19/03/2026","10:00:00","GMT","Matt Silver","Refund","Completed","USD","-15.30",'
    '"0.50","-14.80","Nadia Rossi","to@example.com","from@example.com","02B23456B7890123C",'
    '"01A23456B7890123C","SU-O1","RFD-1","Debit",\n')
"""The older Activity Download's layout: a space after each comma of the header, which
ends with one; "Time Zone"; payment types named "... Payment Received"."""


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("kind", ["Express Checkout Payment Received",
                                  "Mobile Express Checkout Payment Received",
                                  "Web Accept Payment Received"])
def test_the_older_paypal_layout_and_its_payment_received_types(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, fast: bool) -> None:
    """The older download names its payments "Express Checkout Payment Received", "Mobile
    Express Checkout Payment Received", ...: they were quarantined as "not a payment or
    refund", so the refund's case had no purchase. A type ending in "Payment Received" is
    a purchase; the file is detected and read as PayPal's."""
    from audit.sources import payments

    monkeypatch.setattr(payments, "FAST_PATH", fast)
    path = tmp_path / "Download.csv"
    path.write_text(OLD_PAYPAL.format(kind=kind), encoding="utf-8")
    assert detect_system(path) == "paypal"
    table, quarantine = read_source(path, "paypal", config=DAY_FIRST)
    assert quarantine.empty
    events = table.frame.set_index(C.EVENT_ID)
    charge = events.loc["paypal:01A23456B7890123C"]
    assert (charge[C.ACTIVITY], charge[C.AMOUNT], charge[C.TIMESTAMP]) == (
        "Charge subscription renewal", "1015.30", "2026-03-18T21:12:04+00:00")
    refund = events.loc["paypal:02B23456B7890123C"]
    assert (refund[C.ACTIVITY], refund[C.CHARGE_ID], refund[C.TICKET_ID]) == (
        "Execute payout", "01A23456B7890123C", "RFD-1")


@pytest.mark.parametrize("fast", [True, False])
def test_an_adyen_refund_whose_reference_breaks_the_convention_is_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    """A refund's Modification Merchant Reference is the merchant's free text (a refund made
    in Adyen's Customer Area: "goodwill gesture"). Where the sources file's reference_pattern
    did not match it, the refund was quarantined: the payout left the log, and its case,
    which as a refund without any reference is an orphan payout (critical), had no finding
    at all. It is kept without a ticket and an executor, and a note counts such refunds."""
    from audit.sources import payments

    monkeypatch.setattr(payments, "FAST_PATH", fast)
    path = tmp_path / "settlement_details.csv"
    references = ["goodwill gesture", "REFUND CS0000042 BY Victor Chen", "", "manual"]
    path.write_text(_rows_like(DATA / "adyen" / "settlement_details.csv", [2] * 4, [
        {"Modification Merchant Reference": reference} for reference in references],
        "Modification Reference"), encoding="utf-8")
    table, quarantine = read_source(path, "adyen")
    assert quarantine.empty
    frame = table.frame
    assert frame[C.ACTIVITY].tolist() == ["Execute payout"] * 4
    def cells(column: str) -> list[object]:
        return [None if pd.isna(v) else v for v in frame[column]]

    assert cells(C.TICKET_ID) == [None, "CS0000042", None, None]
    assert cells(C.RESOURCE) == [None, "Victor Chen", None, None]
    assert ("settlement_details.csv: 2 refund(s) whose Modification Merchant Reference does "
            "not match the reference_pattern of the sources file (first: row 2, 'goodwill "
            "gesture')") in " ".join(table.notes)


_SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "exports"


@pytest.mark.parametrize("name,currency,charge,order", [
    ("stripe_charges.csv", "currency", "ch_4744348135", "EC-O6491819"),
    ("paypal_activity.csv", "Currency", "PAY4585915088", "SU-O5232413"),
    ("adyen_settlement_details.csv", "Gross Currency", "PSP5643131245", "OF-O1484433"),
])
def test_a_quarantined_purchase_holds_its_charge_and_order_for_its_case(
        tmp_path: Path, name: str, currency: str, charge: str, order: str) -> None:
    """A payment record naming no ticket (a purchase) quarantined: its charge and order go
    with its line (held apart by the import, for the case correlation puts them in); a row
    of a type that is no part of a refund case holds none."""
    with (_SAMPLE / name).open(newline="", encoding="utf-8") as handle:
        header, first, *_ = list(csv.reader(handle))
    bad = list(first)
    bad[header.index(currency)] = "XXX"
    other = list(first)
    other[header.index("Type" if "Type" in header else "status")] = (
        "Fee" if "Type" in header else "succeeded")
    rows = [header, bad] + ([other] if "Type" in header else [])
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(InputError):  # (no record imported: but the lines are read)
        import_sources([(path, None)], sources_config=DAY_FIRST)
    _, quarantine = read_source(path, detect_system(path) or "", config=DAY_FIRST)
    assert quarantine["case"].tolist()[0] == ""
    assert quarantine[["charge", "order"]].values.tolist()[0] == [charge, order]
    if len(rows) > 2:  # (the fee: no part of a refund case)
        assert quarantine[["charge", "order"]].values.tolist()[1] == ["", ""]


def test_a_quarantined_balance_charge_without_its_charge_id_holds_its_source(
        tmp_path: Path) -> None:
    """A charge row of Stripe's balance change report may leave `charge_id` empty (its charge
    is its `source_id`; the reader takes it so): quarantined, its line holds that charge
    for its case (before: none, so the line named no case where its order was not given
    either). A refund row naming no ticket holds the charge it refunds."""
    with (DATA / "stripe" / "balance_itemized.csv").open(newline="", encoding="utf-8") as h:
        header, charge, _, refund, *_ = list(csv.reader(h))
    assert charge[header.index("reporting_category")] == "charge"
    assert refund[header.index("reporting_category")] == "refund"
    for row in (charge, refund):
        row[header.index("currency")] = "xxx"
        row[header.index("payment_metadata[order_id]")] = ""
    charge[header.index("charge_id")] = ""
    refund[header.index("refund_metadata[ticket_id]")] = ""  # (a ticket: the line's case)
    path = tmp_path / "balance.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, charge, refund])
    _, quarantine = read_source(path, detect_system(path) or "", config=DAY_FIRST)
    assert quarantine[["row", "field", "charge", "order"]].values.tolist() == [
        [2, "currency", charge[header.index("source_id")], ""],
        [3, "currency", refund[header.index("charge_id")], ""]]


def test_a_stripe_time_of_up_to_8_digits_is_quarantined_not_read_as_1970(
        tmp_path: Path) -> None:
    """A Stripe `created` of digits is Unix seconds; one of 8 digits or fewer is a time of
    1970 to 1973, which no Stripe time is, or a date without separators: 20260301 was
    imported as 1970-08-23 11:51:41. It is quarantined; 9 and 10 digits are read."""
    from audit.sources.payments import SHORT_UNIX_TIME

    stripe = tmp_path / "stripe_charges.csv"
    stripe.write_text("\n".join([
        "id,amount,currency,created,status",
        "ch_1,5000,eur,20260301,succeeded",
        "ch_2,5000,eur,1772359200,succeeded",
        "ch_3,5000,eur,999999999,succeeded"]) + "\n", encoding="utf-8")
    table, quarantine = read_source(stripe, "stripe")
    assert quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [2, "created", "20260301", SHORT_UNIX_TIME]]
    assert table.frame[C.TIMESTAMP].tolist() == ["2026-03-01T10:00:00+00:00",
                                                 "2001-09-09T01:46:39+00:00"]


@pytest.mark.parametrize(("system", "name", "column", "row", "digits"), [
    ("stripe", "refunds.csv", "amount", 2, "４９９０"),
    ("paypal", "activity.csv", "Gross", 1, "１９.９９"),
    ("adyen", "settlement_details.csv", "Gross Credit (GC)", 1, "١٢٠.00"),
])
def test_an_export_amount_in_another_scripts_digits_is_quarantined(
        tmp_path: Path, system: str, name: str, column: str, row: int, digits: str) -> None:
    """Python's int(), Decimal() and the \\d of the exports' amount patterns take any
    script's digits: a Stripe amount of full-width digits was imported as 49.90, a PayPal
    Gross as 19.99 (found by tests/fuzz_imports.py). Quarantined naming the digit, as a
    generic log's amount is (docs/import.md)."""
    with (DATA / system / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[row][rows[0].index(column)] = digits
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    result = import_sources([(path, system)], sources_config=DAY_FIRST)
    lines = result.quarantine[result.quarantine["row"] == row + 1]
    assert lines[["field", "value"]].values.tolist() == [[column, digits]]
    assert "digits other than ASCII 0-9" in lines["reason"].iloc[0]
    assert (result.log[C.SOURCE_ROW] != row + 1).all()


@pytest.mark.parametrize("system", ["stripe", "paypal"])
def test_a_lone_quote_on_an_exports_last_line_is_quarantined(
        tmp_path: Path, system: str) -> None:
    """A payment export shares the CSV reading: a lone '"' on its last line was skipped as a
    blank line without a word. Now it is a quarantined record, counted read."""
    source = DATA / system / ("charges.csv" if system == "stripe" else "activity.csv")
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes().rstrip(b"\r\n") + b'\n"\n')
    before = import_sources([(source, None)], sources_config=DAY_FIRST).files[0]
    result = import_sources([(path, None)], sources_config=DAY_FIRST)
    counts = result.files[0]
    assert (counts.read, counts.quarantined) == (before.read + 1, before.quarantined + 1)
    last = result.quarantine[result.quarantine["field"] == "(record)"]
    assert last["reason"].tolist() == [
        "a quote opened in this row is never closed (the file ends inside it)"]
    assert last["row"].tolist() == [len(source.read_bytes().rstrip(b"\r\n").splitlines()) + 1]


def test_a_us_download_of_the_first_twelve_days_is_refused_by_import_and_check(
        tmp_path: Path) -> None:
    """The auditor's run: a US account's download of 1 to 12 November, with the bundled
    sources file. `import` and `check` read 11/05/2026 as 11 May and exited 0; now both exit
    2 naming the file, row and field and the date_format to set with --sources-config, and
    the import and the check with a sources file setting date_format "%m/%d/%Y" read
    November (before check took --sources-config, its error said to import the file with it
    first)."""
    from click.testing import CliRunner

    from audit.cli import main

    path = tmp_path / "activity.csv"
    path.write_text(_rows_like(DATA / "paypal" / "activity.csv", [1, 3, 3], [
        {"Date": "11/01/2026", "TimeZone": "PST", "Currency": "USD"},
        {"Date": "11/05/2026", "TimeZone": "PST", "Currency": "USD"},
        {"Date": "11/12/2026", "TimeZone": "PST", "Currency": "USD"}], "Transaction ID"),
        encoding="utf-8")
    log = tmp_path / "log.parquet"
    for args in (["import", str(path), "--out", str(log)],
                 ["check", str(path), "--out", str(tmp_path / "out")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert f"error: {path}: row 2: field 'Date': every date is up to the 12th" in (
            result.output)
    assert "--sources-config" in result.output
    assert "import the file with it first" not in result.output
    assert not log.exists() and not (tmp_path / "out").exists()
    text = (Path(__file__).resolve().parents[1] / "models" / "sources.default.yaml"
            ).read_text(encoding="utf-8")
    assert '    # date_format: "%m/%d/%Y"' in text
    config = tmp_path / "us.yaml"
    config.write_text(text.replace('    # date_format: "%m/%d/%Y"', '    date_format: "%m/%d/%Y"'),
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "--sources-config", str(config),
                                       "--out", str(log)])
    assert result.exit_code == 0, result.output
    events = pd.read_parquet(log).set_index(C.EVENT_ID)[C.TIMESTAMP]
    assert {k: str(t) for k, t in events.items()} == {
        "paypal:T100000000000001": "2026-11-05 18:00:00+00:00",
        "paypal:T200000000000001": "2026-11-12 18:00:00+00:00"}
    out = tmp_path / "checked"
    result = CliRunner().invoke(main, ["check", str(path), "--sources-config", str(config),
                                       "--as-of", "2026-11-30T00:00:00Z", "--out", str(out)])
    assert result.exit_code == 1, result.output  # (read, with findings)
    manifest = json.loads((out / "findings.json").read_text(encoding="utf-8"))["manifest"]
    assert manifest["sources_config"]["sha256"] == hashlib.sha256(
        config.read_bytes()).hexdigest()


@pytest.mark.parametrize(("dates", "day_first", "unreadable"), [
    # One impossible date among day-first ones: before, 13/13/2026 showed "both orders"
    # (one row cited twice) and the file was refused.
    (["13/07/2026", "14/07/2026", "13/13/2026"], True, "13/13/2026"),
    # 05/45/2026 beside 13/07/2026: before, "both orders", refused.
    (["01/07/2026", "13/07/2026", "05/45/2026"], True, "05/45/2026"),
    # No 31st of February, either way round: no evidence of day-first.
    (["07/13/2026", "31/02/2026"], False, "31/02/2026"),
    (["13/07/2026", "02/30/2026"], True, "02/30/2026")])
def test_paypal_dates_fitting_neither_order_decide_nothing(
        tmp_path: Path, dates: list[str], day_first: bool, unreadable: str) -> None:
    """With no date_format, a date counts toward the order only where one part is 13 to
    31 and the other 1 to 12, a date of the calendar in that order. Before, any number
    above 12 counted: one impossible date refused the file as showing both orders. Now
    the order is read from the real dates and the impossible one quarantined."""
    path = _paypal_dates(tmp_path, dates)
    result = import_sources([(path, "paypal")])
    assert result.quarantine["value"].tolist() == [f"{unreadable}, 09:30:00, CEST"]
    fmt = "%d/%m/%Y" if day_first else "%m/%d/%Y"
    assert any(f"dates read {'day' if day_first else 'month'}-first ({fmt})" in note
               for note in result.notes)


def test_paypal_an_impossible_date_does_not_decide_the_order(tmp_path: Path) -> None:
    """01/07/2026 and 11/07/2026 beside 05/45/2026 (no 45th month, no 45th day): before,
    the 45 read as a day and the download was read month-first, 7 January and 7 November,
    with only a note. Its real dates are all up to the 12th in both places, so it is
    refused as such a file is, the impossible date named; under a day-first date_format
    the same file is no longer refused as month-first, and reads 1 and 11 July."""
    path = _paypal_dates(tmp_path, ["01/07/2026", "11/07/2026", "05/45/2026"])
    with pytest.raises(InputError) as caught:
        read_source(path, "paypal")
    assert caught.value.row == 2
    assert ("every date is up to the 12th in both places (01/07/2026: day-first or "
            "month-first?) (besides 1 date that read in neither order, such as 05/45/2026 "
            "at row 4)") in caught.value.message
    table, quarantine = read_source(path, "paypal", config=DAY_FIRST)
    assert [t[:10] for t in table.frame[C.TIMESTAMP]] == ["2026-07-01", "2026-07-11"]
    assert quarantine["row"].tolist() == [4]
