"""The Stripe Dashboard's payments export (Payments > Export, `unified_payments.csv`: columns
named as the Dashboard shows them, amounts in major units) read by the `stripe` adapter:
each payment a purchase; its `Amount Refunded`, a total without the refunds' ids or times,
never a payout (docs/sources.md)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.currency import stripe_minor_units
from audit.errors import InputError
from audit.ingest import import_sources
from audit.sources import csv_signature, detect_system, read_source
from audit.sources.payments import REFUND_NOT_ITEMISED

EXPORTS = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "exports"

# The current export's columns (a part of the default set), in its order, and a metadata
# column as the Dashboard names one
HEADER = ("id,Created date (UTC),Amount,Amount Refunded,Currency,Captured,Converted Amount,"
          "Converted Amount Refunded,Converted Currency,Decline Reason,Description,Fee,"
          "Refunded date (UTC),Statement Descriptor,Status,Seller Message,Taxes On Fee,"
          "Card ID,Customer ID,Customer Description,Customer Email,Invoice ID,Transfer,"
          "order_id (metadata)")
# An older export's: `Created (UTC)`, no `Refunded date (UTC)`
OLD_HEADER = ("id,Description,Created (UTC),Amount,Amount Refunded,Currency,Converted Amount,"
              "Converted Amount Refunded,Fee,Tax,Converted Currency,Mode,Status,"
              "Statement Descriptor,Customer ID,Customer Description,Customer Email,Captured,"
              "Invoice ID,order_id (metadata)")


def _row(ident: str, created: str, amount: str, refunded: str, currency: str, status: str,
         *, captured: str = "true", refunded_at: str = "", order: str = "") -> list[str]:
    return ([ident, created, amount, refunded, currency, captured, amount, refunded,
                     currency, "", "Subscription update", "1.00", refunded_at, "SHOP",
                     status, "Payment complete.", "0.00", "card_1", "cus_1", "", "a@x.com",
                     "in_1", "po_1", order])


def _export(path: Path, *rows: list[str] | str, header: str = HEADER) -> Path:
    """The export as the Dashboard writes a CSV (a cell holding a comma quoted)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(header + "\n")
        writer = csv.writer(handle, lineterminator="\n")
        for row in rows:
            if isinstance(row, str):
                handle.write(row + "\n")
            else:
                writer.writerow(row)
    return path


def test_payments_are_purchases_in_major_units_of_their_currency(tmp_path: Path) -> None:
    path = _export(
        tmp_path / "unified_payments.csv",
        _row("ch_1", "2026-07-01 08:15:00", "49.90", "0.00", "eur", "Paid", order="O-1"),
        # JPY has no minor unit: 250000 yen, never 2500.00
        _row("ch_2", "2026-07-01 18:00:00", "250000", "0", "jpy", "Paid"),
        # KWD has three decimals
        _row("ch_3", "2026-07-02 09:00:00", "12.345", "0.000", "kwd", "Paid"),
        _row("ch_4", "2026-07-02 10:00:00", "5.00", "0.00", "usd", "Failed", captured="false"),
        # (below: quarantined, never read another way)
        _row("ch_5", "2026-07-02 11:00:00", "1,234.56", "0.00", "usd", "Paid"),
        _row("ch_6", "2026-07-02 12:00:00", "49,90", "0,00", "eur", "Paid"),
        _row("ch_7", "2026-07-02 13:00:00", "1.500", "0", "jpy", "Paid"),
        _row("ch_8", "2026-07-02 14:00:00", "9.99", "0.00", "eur", "Paid", captured="false"),
        _row("ch_9", "2026-07-02 15:00:00", "9.99", "0.00", "eur", "Disputed"),
        _row("pi_1", "2026-07-02 16:00:00", "9.99", "0.00", "eur", "Paid"),
        _row("ch_10", "1751443200", "9.99", "0.00", "eur", "Paid"),
    )
    assert detect_system(path) == "stripe"
    table, quarantine = read_source(path, "stripe")
    events = table.frame.set_index(C.EVENT_ID)
    got = {k: tuple(None if pd.isna(v) else v for v in row) for k, row in zip(
        events.index, events[[C.ACTIVITY, C.TIMESTAMP, C.AMOUNT, C.CURRENCY, C.ORDER_ID,
                              C.CHARGE_ID, C.PAYMENT_STATUS]].values.tolist(),
        strict=True)}
    assert got == {
        "stripe:ch_1": ("Capture payment", "2026-07-01T08:15:00+00:00", "49.90", "EUR", "O-1",
                        "ch_1", "succeeded"),
        "stripe:ch_2": ("Capture payment", "2026-07-01T18:00:00+00:00", "250000", "JPY",
                        None, "ch_2", "succeeded"),
        "stripe:ch_3": ("Capture payment", "2026-07-02T09:00:00+00:00", "12.345", "KWD",
                        None, "ch_3", "succeeded"),
        "stripe:ch_4": ("Capture payment", "2026-07-02T10:00:00+00:00", "5.00", "USD", None,
                        "ch_4", "failed"),
    }
    # (major units: 49.90 is 49.90 euro, not 0.4990 as the API's minor units would read it)
    assert Decimal(got["stripe:ch_1"][2]) == Decimal("49.90")
    lines = quarantine.sort_values("row")[["row", "field", "value"]].values.tolist()
    assert lines == [[6, "Amount", "1,234.56"], [7, "Amount", "49,90"], [8, "Amount", "1.500"],
                     [9, "Captured", "false"], [10, "Status", "Disputed"], [11, "id", "pi_1"],
                     [12, "Created date (UTC)", "1751443200"]]
    reasons = dict(zip(quarantine["row"], quarantine["reason"], strict=True))
    assert "more decimals than JPY has (0)" in reasons[8]
    assert "no money taken" in reasons[9]
    assert quarantine["record_read"].eq("no").all()


def test_a_refunded_payment_is_the_purchase_and_its_refund_no_payout_made_up(
        tmp_path: Path) -> None:
    path = _export(
        tmp_path / "unified_payments.csv",
        _row("ch_1", "2026-07-01 08:15:00", "49.90", "49.90", "eur", "Refunded",
             refunded_at="2026-07-04 09:30:00"),
        _row("ch_2", "2026-07-01 09:00:00", "30000", "10000", "jpy", "Paid",
             refunded_at="2026-07-05 10:00:00"),
        _row("ch_3", "2026-07-01 10:00:00", "20.00", "5.0O", "eur", "Paid"),
        _row("ch_4", "2026-07-01 11:00:00", "20.00", "-5.00", "eur", "Paid"),
        _row("ch_5", "2026-07-01 12:00:00", "20.00", "=1+1", "eur", "Paid"))
    table, quarantine = read_source(path, "stripe")
    assert table.frame[C.EVENT_ID].tolist() == [f"stripe:ch_{n}" for n in range(1, 6)]
    assert table.frame[C.ACTIVITY].eq("Capture payment").all()
    # (no payout: no refund id, no time)
    assert C.REFUND_ID not in table.frame or table.frame[C.REFUND_ID].isna().all()
    lines = quarantine.sort_values("row")
    assert lines[["row", "field", "value", "record_read"]].values.tolist() == [
        [2, "Amount Refunded", "49.90", "yes"], [3, "Amount Refunded", "10000", "yes"],
        [4, "Amount Refunded", "5.0O", "yes"], [5, "Amount Refunded", "-5.00", "yes"],
        [6, "Amount Refunded", "=1+1", "yes"]]
    assert lines.iloc[3]["reason"].startswith("negative amount")
    first = lines.iloc[0]["reason"]
    assert first.startswith("49.90 EUR refunded of payment ch_1: the payments export gives "
                            "the total refunded, not the refunds")
    assert "Refunded date (UTC) 2026-07-04T09:30:00+00:00 is one date for however many refunds" \
        in first and "not read as a payout" in first
    assert lines.iloc[1]["reason"].startswith("10000 JPY refunded of payment ch_2")
    result = import_sources([(path, None)])
    counts = result.files[0]
    assert (counts.read, counts.imported, counts.quarantined) == (5, 5, 0)
    assert any("2 payments refunded in part or in full (49.90 EUR, 10000 JPY; the first: "
               "row 2, ch_1)" in n for n in result.notes)
    # (a hostile cell is inert in the quarantine file written)
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["check", str(path), "--out", str(out), "--fail-on",
                                    "never"])
    assert run.exit_code == 0, run.output
    with (out / "quarantine.csv").open(encoding="utf-8") as handle:
        cells = [v for r in csv.DictReader(handle) for v in r.values() if v]
    assert "'=1+1" in cells and not [v for v in cells if v[:1] in ("=", "+", "-", "@")]


def test_an_older_export_created_utc_is_read_alike(tmp_path: Path) -> None:
    path = _export(tmp_path / "payments.csv",
                   "ch_1,Order 7,2026-07-01 08:15,49.90,0.00,eur,49.90,0.00,0.88,0.00,eur,Live,"
                   "Paid,SHOP,cus_1,,a@x.com,true,,O-7", header=OLD_HEADER)
    assert detect_system(path) == "stripe"
    assert csv_signature("stripe", path) == ("id", "Amount", "Currency", "Created (UTC)")
    table, quarantine = read_source(path, "stripe")
    assert quarantine.empty
    row = table.frame.iloc[0]
    assert (row[C.TIMESTAMP], row[C.AMOUNT], row[C.CURRENCY], row[C.ORDER_ID]) == (
        "2026-07-01T08:15:00+00:00", "49.90", "EUR", "O-7")


def test_an_export_in_another_zone_or_of_refunds_is_refused(tmp_path: Path) -> None:
    local = _export(tmp_path / "local.csv",
                    _row("ch_1", "2026-07-01 08:15:00", "49.90", "0.00", "eur", "Paid"),
                    header=HEADER.replace("Created date (UTC)", "Created date (Europe/Berlin)"))
    assert detect_system(local) == "stripe"
    with pytest.raises(InputError, match=r"created time is 'Created date \(Europe/Berlin\)'"
                                         r": only its UTC columns are read"):
        read_source(local, "stripe")
    refunds = _export(tmp_path / "refunds.csv", "re_1,2026-07-04 09:30:00,49.90,eur,ch_1",
                      header="id,Created date (UTC),Amount,Currency,Charge ID")
    result = CliRunner().invoke(main, ["import", str(refunds), "--out",
                                       str(tmp_path / "log.parquet")])
    assert result.exit_code == 2, result.output
    assert "refund ids (re_, pyr_) in a Stripe Dashboard export" in result.output
    assert "itemized balance change report" in result.output
    # the Dashboard's payouts export (Balances > Payouts): no payments, refused by name
    payouts = _export(tmp_path / "payouts.csv", "po_1,120.00,eur,2026-07-03 00:00:00,"
                      "2026-07-02 21:10:00,paid,bank_account",
                      header="id,Amount,Currency,Arrival Date (UTC),Created (UTC),Status,Type")
    with pytest.raises(InputError, match=r"not a Stripe Dashboard payments export of this "
                                         r"kind: missing column\(s\) Amount Refunded"):
        read_source(payouts, "stripe")


def _as_dashboard_export(out: Path) -> tuple[Path, dict[str, Decimal]]:
    """The bundled Stripe charges as the Dashboard's payments export would list them
    (amounts in major units, `Amount Refunded` the total of each charge's refunds that
    went through, `Refunded date (UTC)` its last), and the refunded total per charge."""
    refunded: dict[str, Decimal] = defaultdict(Decimal)
    last: dict[str, str] = {}
    with (EXPORTS / "stripe_refunds.csv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            if r["status"] == "succeeded":
                units = stripe_minor_units(r["currency"].upper())
                refunded[r["charge"]] += Decimal(r["amount"]).scaleb(-units)
                last[r["charge"]] = max(last.get(r["charge"], ""), r["created"])
    rows = []
    charged = set()
    with (EXPORTS / "stripe_charges.csv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            charged.add(r["id"])
            units = stripe_minor_units(r["currency"].upper())
            amount = Decimal(r["amount"]).scaleb(-units)
            back = refunded.get(r["id"], Decimal(0)).quantize(amount)
            status = "Refunded" if back == amount else "Paid"
            rows.append(_row(r["id"], r["created"], str(amount), str(back), r["currency"],
                             status, refunded_at=last.get(r["id"], ""),
                             order=r["order_id (metadata)"]))
    return _export(out, *rows), {k: v for k, v in refunded.items() if v and k in charged}


def test_an_audit_of_the_export_reads_the_charges_csvs_purchases_and_no_payouts(
        tmp_path: Path) -> None:
    export, refunded = _as_dashboard_export(tmp_path / "unified_payments.csv")
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    runs = {}
    for name, payments in (("dashboard", [export]),
                           ("csv", [EXPORTS / "stripe_charges.csv"])):
        result = import_sources([(p, None) for p in [*tickets, *payments]])
        log = result.log
        charges = log[log[C.EVENT_ID].str.startswith("stripe:")]
        runs[name] = (sorted(zip(charges[C.EVENT_ID], charges[C.CASE], charges[C.TIMESTAMP],
                                 charges[C.AMOUNT], charges[C.CURRENCY], charges[C.ORDER_ID],
                                 strict=True)), result)
    assert runs["dashboard"][0] == runs["csv"][0] and len(runs["dashboard"][0]) > 0
    result = runs["dashboard"][1]
    assert not result.log[C.REFUND_ID].notna().any()
    lines = result.quarantine[result.quarantine["field"] == "Amount Refunded"]
    assert len(lines) == len(refunded) > 0
    assert set(lines["record_read"]) == {"yes"}
    # each line goes with the case that holds its charge (a ticket names its order), as
    # the balance report's dispute lines do
    from audit.sources.pipeline import import_and_correlate

    correlated = import_and_correlate([(p, None) for p in [*tickets, export]])
    log = correlated.log
    purchases = log[log[C.EVENT_ID].str.startswith("stripe:")]
    once = purchases[C.CHARGE_ID].value_counts().eq(1)  # (a charge two tickets name: both)
    case_of = {c: k for c, k in zip(purchases[C.CHARGE_ID], purchases[C.CASE], strict=True)
               if once[c]}
    lines = correlated.quarantine[correlated.quarantine["field"] == "Amount Refunded"]
    named = lines["reason"].str.extract(r"of payment (\S+):")[0].tolist()
    held = [(case_of[c], case) for c, case in zip(named, lines["case"], strict=True)
            if c in case_of]
    assert len(held) > 100 and all(want == got for want, got in held)


def _check(out: Path, *inputs: Path) -> dict[str, object]:
    result = CliRunner().invoke(main, ["check", *map(str, inputs), "--out", str(out),
                                       "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads((out / "findings.json").read_text(
        encoding="utf-8"))
    return document


def _findings(document: dict[str, object]) -> list[tuple[str, str, str]]:
    found = document["findings"]
    assert isinstance(found, list)
    return sorted((f["rule"], f["case_id"], f["message"]) for f in found)


def test_a_check_tells_the_cases_whose_refunds_the_export_does_not_itemise(
        tmp_path: Path) -> None:
    """Alone, the export's refunded payments are cases of no payout: approved-not-paid and
    skipped-activity find them, and the check warns that those findings may be the
    refunds the export gives only as totals. Beside the refunds CSV, the refunds are
    itemised: the findings are the charges CSV's (but instrument-mismatch, the payment
    method not read from this export), and there is no such warning."""
    export, _ = _as_dashboard_export(tmp_path / "unified_payments.csv")
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    alone = _check(tmp_path / "alone", *tickets, export)
    warnings = alone["manifest"]["warnings"]  # type: ignore[index]
    told = [w for w in warnings if "Dashboard payments export gives only as a total" in w]
    assert len(told) == 1 and told[0].startswith("128 cases hold a payment whose refund")
    assert "approved-not-paid 126" in told[0] and "skipped-activity 128" in told[0]
    counts = alone["summary"]["by_rule"]  # type: ignore[index]
    assert (counts["EV003"]["findings"], counts["CF001"]["findings"]) == (129, 131)
    beside = _check(tmp_path / "beside", *tickets, export, EXPORTS / "stripe_refunds.csv")
    # (but the one of the sample's two payments refunded above their Amount, which the
    # export states whatever input itemises the refunds: see the test below)
    assert [w.split(", money")[0] for w in beside["manifest"]["warnings"]  # type: ignore[index]
            if "Dashboard" in w] == [
        "2 payments that a Stripe Dashboard payments export shows refunded above their Amount"]
    api = _check(tmp_path / "api", *tickets, EXPORTS / "stripe_charges.csv",
                 EXPORTS / "stripe_refunds.csv")
    assert [f for f in _findings(api) if f[0] != "EV006"] == _findings(beside)
    assert len(_findings(api)) - len(_findings(beside)) == 2


STRIPE = Path(__file__).resolve().parent / "data" / "sources" / "stripe"


@pytest.mark.parametrize("other", ["charges", "balance"])
def test_a_payment_in_the_export_and_another_keeps_its_method_whichever_comes_first(
        tmp_path: Path, other: str) -> None:
    """The export states no payment method; the charges CSV and the balance report do. The
    same payment in both is one record, its method kept, in either order (before, the
    first copy was kept: given first, this export's lost the method and quarantined the
    other's as a duplicate event id). The copy kept is the one stating the method, so the
    record cites that file and row in either order (before, this export's copy given first
    was kept and filled in: a finding of the method cited a file with no method column)."""
    if other == "charges":
        second = tmp_path / "charges.csv"
        second.write_text("id,description,amount,amount_refunded,currency,created,status,"
                          "payment_method_type,order_id (metadata)\n"
                          "ch_4744348135,Order 1,9525,,eur,2026-05-24 22:41:03,succeeded,"
                          "paypal,EC-O6491819\n", encoding="utf-8")
        export = _export(tmp_path / "unified_payments.csv",
                         _row("ch_4744348135", "2026-05-24 22:41:03", "95.25", "95.25", "eur",
                              "Refunded", order="EC-O6491819"))
        want = {"stripe:ch_4744348135": "paypal"}
    else:
        second = STRIPE / "balance_itemized.csv"
        export = _export(tmp_path / "unified_payments.csv",
                         _row("ch_3PQ1001", "2026-07-01 08:15:00", "49.90", "49.90", "eur",
                              "Refunded", refunded_at="2026-07-04 09:30:00", order="EC-O1001"),
                         _row("ch_3PQ1002", "2026-07-01 18:00:00", "250000", "1000", "jpy",
                              "Paid", refunded_at="2026-07-05 10:00:00", order="EC-O1002"))
        want = {"stripe:ch_3PQ1001": "card", "stripe:ch_3PQ1002": "card"}
    for order in ([second, export], [export, second]):
        result = import_sources([(p, None) for p in order])
        log = result.log[result.log[C.EVENT_ID].isin(list(want))]
        assert dict(zip(log[C.EVENT_ID], log[C.PAYMENT_METHOD], strict=True)) == want, order
        assert set(log[C.SOURCE_FILE].astype(str)) == {second.name}, order
        assert not result.quarantine["reason"].str.startswith("duplicate event id").any()
        counts = {f.file: f for f in result.files}
        mine = counts["unified_payments.csv"]
        assert (mine.quarantined, mine.fields_unread) == (0, len(want))
        assert (mine.imported, mine.deduplicated) == (0, len(want)), order


def test_the_findings_of_the_export_beside_the_charges_csv_are_alike_in_either_order(
        tmp_path: Path) -> None:
    """The sample's tickets, this export, the charges CSV and the refunds CSV: the findings,
    the files and rows they cite included, are the same whichever of the two payment files
    is given first (before, 3 differed: instrument-mismatch's `purchase paid by paypal`
    cited the Dashboard export's row, a file with no method column, where given first)."""
    export, _ = _as_dashboard_export(tmp_path / "unified_payments.csv")
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    charges, refunds = EXPORTS / "stripe_charges.csv", EXPORTS / "stripe_refunds.csv"
    runs: list[list[dict[str, Any]]] = []
    for name, payments in (("ef", (export, charges)), ("fe", (charges, export))):
        found = _check(tmp_path / name, *tickets, *payments, refunds)["findings"]
        assert isinstance(found, list)
        runs.append(found)
    assert any(f["rule"] == "EV006" for f in runs[0])
    first, second = (sorted(json.dumps(f, sort_keys=True) for f in run) for run in runs)
    assert first == second
    cited = {s["file"] for f in runs[0] if f["rule"] == "EV006" for s in f["sources"]}
    assert "unified_payments.csv" not in cited


def test_a_logs_payment_of_the_export_is_kept_beside_the_charges_csv(tmp_path: Path) -> None:
    """A canonical log made of the tickets and this export, given with the charges CSV: the
    log's events are kept, as a log's are whatever the order, and take the CSV's method
    (the copy stating the method is kept in their stead only between two exports)."""
    export, _ = _as_dashboard_export(tmp_path / "unified_payments.csv")
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    log_path = tmp_path / "log.parquet"
    made = CliRunner().invoke(main, ["import", *map(str, tickets), str(export),
                                     "--out", str(log_path)])
    assert made.exit_code == 0, made.output
    charges = EXPORTS / "stripe_charges.csv"
    for order in ([log_path, charges], [charges, log_path]):
        result = import_sources([(p, None) for p in order])
        log = result.log[result.log[C.EVENT_ID].astype(str).str.startswith("stripe:ch_")]
        files = log[C.SOURCE_FILE].astype(str).value_counts().to_dict()
        assert files["unified_payments.csv"] > 100, (order, files)
        assert log[C.PAYMENT_METHOD].notna().all(), order


def test_a_payment_conflicting_with_another_exports_is_not_told_read_without_a_field(
        tmp_path: Path) -> None:
    """A payment whose copy differs from the charges CSV's (another amount) is quarantined
    as a conflict: its record is not imported, so its Amount Refunded line says so and its
    file's line counts it as quarantined only (before: `imported 0 + quarantined 1; 1
    quarantine line of one field alone (its record read without it)`)."""
    charges = tmp_path / "charges.csv"
    charges.write_text("id,description,amount,amount_refunded,currency,created,status,"
                       "payment_method_type,order_id (metadata)\n"
                       "ch_1,Order 1,9525,,eur,2026-05-24 22:41:03,succeeded,paypal,O-1\n",
                       encoding="utf-8")
    export = _export(tmp_path / "unified_payments.csv",
                     _row("ch_1", "2026-05-24 22:41:03", "95.00", "95.00", "eur", "Refunded",
                          order="O-1"))
    result = import_sources([(charges, None), (export, None)])
    mine = result.files[1]
    assert (mine.read, mine.imported, mine.quarantined, mine.fields_unread) == (1, 0, 1, 0)
    lines = result.quarantine[result.quarantine["file"] == "unified_payments.csv"]
    assert sorted(zip(lines["field"].fillna(""), lines["record_read"], strict=True)) == [
        ("Amount Refunded", "no"), ("id", "no")]
    assert not any("of one field alone" in line for line in result.summary_lines()[:2])


def test_a_check_tells_the_refunded_payments_no_case_holds(tmp_path: Path) -> None:
    """A refunded payment no ticket names is left out as a sale: its refund is in no case
    and no finding. The check warns of it, naming the first (before, warnings [] and 0
    findings, where the same refund from the refunds CSV is a case with findings). A
    payment not refunded is no such payment; beside the refunds CSV the refund is a case.
    A refunded total that cannot be read (`95,25`), a negative one, and a status Refunded
    with 0.00 or an empty total are such payments too (before, the first three were not
    counted: 2 told of 6)."""
    export = _export(tmp_path / "unified_payments.csv",
                     _row("ch_1", "2026-05-24 22:41:03", "95.25", "0.00", "eur", "Paid"),
                     _row("ch_2", "2026-05-24 22:41:03", "95.25", "95.25", "eur", "Refunded",
                          refunded_at="2026-07-02 06:45:20", order="O-2"),
                     _row("ch_3", "2026-05-25 10:00:00", "20.00", "5.00", "eur", "Paid"),
                     _row("ch_4", "2026-05-25 10:00:00", "20.00", "", "eur", "Refunded"),
                     _row("ch_5", "2026-05-25 10:00:00", "20.00", "19,90", "eur", "Refunded"),
                     _row("ch_6", "2026-05-25 10:00:00", "20.00", "0.00", "eur", "Refunded"),
                     _row("ch_7", "2026-05-25 10:00:00", "20.00", "-5.00", "eur",
                          "Partially refunded"))
    alone = _check(tmp_path / "alone", export)
    told = [w for w in alone["manifest"]["warnings"]  # type: ignore[index]
            if "in no case" in w]
    assert told == [
        "6 payments that a Stripe Dashboard payments export shows refunded (Amount "
        "Refunded) are in no case: no ticket names them and no input itemises the refund, "
        "so the payment is left out as a sale and its refund is not audited at all; read "
        "the refunds from the itemized balance change report or the refunds CSV beside it "
        "(the first: ch_2, unified_payments.csv row 3)"]
    refunds = tmp_path / "refunds.csv"
    refunds.write_text("id,charge,amount,currency,created,status,reason\n"
                       "re_1,ch_2,9525,eur,2026-07-02 06:45:20,succeeded,requested_by_customer\n"
                       "re_2,ch_3,500,eur,2026-07-02 07:00:00,succeeded,requested_by_customer\n"
                       + "".join(f"re_{k},ch_{k},100,eur,2026-07-02 07:00:00,succeeded,"
                                 "requested_by_customer\n" for k in range(4, 8)),
                       encoding="utf-8")
    beside = _check(tmp_path / "beside", export, refunds)
    assert not [w for w in beside["manifest"]["warnings"]  # type: ignore[index]
                if "Dashboard" in w]
    assert beside["findings"]


def test_a_refund_itemised_after_the_clock_is_itemised(tmp_path: Path) -> None:
    """With `--as-of` before some refunds of the refunds CSV given beside the export, those
    refunds are still itemised: no warning of refunds given only as a total (taking the
    paid refunds from the log at the clock told 34 cases so at the median refund time).
    The export alone at that clock is still told."""
    export, _ = _as_dashboard_export(tmp_path / "unified_payments.csv")
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    with (EXPORTS / "stripe_refunds.csv").open(encoding="utf-8") as handle:
        times = sorted(r["created"] for r in csv.DictReader(handle))
    clock = times[len(times) // 2].replace(" ", "T") + "Z"
    told = {}
    for name, inputs in (("beside", [*tickets, export, EXPORTS / "stripe_refunds.csv"]),
                         ("alone", [*tickets, export])):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["check", *map(str, inputs), "--out", str(out),
                                           "--fail-on", "never", "--as-of", clock])
        assert result.exit_code == 0, result.output
        warnings = json.loads((out / "findings.json").read_text(encoding="utf-8"))[
            "manifest"]["warnings"]
        told[name] = [w for w in warnings if "gives only as a total" in w]
    assert told["beside"] == []
    assert len(told["alone"]) == 1


def test_the_payment_in_no_case_named_first_is_the_same_in_either_order(
        tmp_path: Path) -> None:
    """The warning of refunded payments in no case names the first by charge, then file
    and row, whatever the inputs' order (before, the first file given: ch_3 of july.csv
    given first, ch_2 of june.csv the other way round)."""
    june = _export(tmp_path / "june.csv",
                   _row("ch_2", "2026-05-24 22:41:03", "95.25", "95.25", "eur", "Refunded"))
    july = _export(tmp_path / "july.csv",
                   _row("ch_3", "2026-06-24 22:41:03", "5.00", "5.00", "eur", "Refunded"))
    for name, order in (("jj", (june, july)), ("lj", (july, june))):
        told = [w for w in _check(tmp_path / name, *order)["manifest"][  # type: ignore[index]
            "warnings"] if "in no case" in w]
        assert len(told) == 1 and told[0].startswith("2 payments") and told[0].endswith(
            "(the first: ch_2, june.csv row 2)"), (name, told)


def test_the_warning_finds_a_payment_whose_id_holds_a_space(tmp_path: Path) -> None:
    """The payment of an Amount Refunded line is the one its record names (the line's
    hint), not a word parsed from the reason: an id holding a space (`ch_... x`) is
    counted (before, the reason's `of payment (\\S+):` missed it and its case)."""
    export, _ = _as_dashboard_export(tmp_path / "unified_payments.csv")
    with export.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    at = next(k for k, r in enumerate(rows) if k and r[14] == "Refunded")
    rows[at][0] += " x"
    _export(export, *rows[1:])
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    alone = _check(tmp_path / "alone", *tickets, export)
    told = [w for w in alone["manifest"]["warnings"]  # type: ignore[index]
            if "Dashboard payments export gives only as a total" in w]
    assert len(told) == 1 and told[0].startswith("128 cases hold a payment whose refund")


def test_a_refunded_date_is_checked_and_a_refunded_status_without_a_total_told(
        tmp_path: Path) -> None:
    """A `Refunded date (UTC)` that is no time is not copied into the reason (before, a
    40,000-character cell gave a 40,430-character reason), and one that is is told as read,
    in UTC (before, one stating an offset was written as the cell, labelled UTC); a
    payment whose status says
    refunded with an empty `Amount Refunded` gets its line too (before, none and no note)."""
    path = _export(
        tmp_path / "unified_payments.csv",
        _row("ch_1", "2026-07-01 08:15:00", "49.90", "10.00", "eur", "Paid",
             refunded_at="9" * 40_000),
        _row("ch_2", "2026-07-01 09:00:00", "20.00", "", "eur", "Refunded",
             refunded_at="2026-07-03 10:00:00"),
        _row("ch_3", "2026-07-01 10:00:00", "20.00", "", "eur", "Paid"),
        _row("ch_4", "2026-07-01 10:00:00", "20.00", "5.00", "eur", "Paid",
             refunded_at="2026-07-03 10:00:00+02:00"))
    result = import_sources([(path, None)])
    lines = result.quarantine.sort_values("row")
    assert lines[["row", "field", "record_read"]].values.tolist() == [
        [2, "Amount Refunded", "yes"], [3, "Amount Refunded", "yes"],
        [5, "Amount Refunded", "yes"]]
    first, second, offset = lines["reason"].tolist()
    assert len(first) < 1_000 and "its Refunded date (UTC) is no time of the export" in first
    assert second.startswith("payment ch_2's status says refunded and its Amount Refunded "
                             "is empty") and "2026-07-03T10:00:00+00:00 is one date" in second
    # (a time stating an offset is told as read, in UTC: before, `10:00:00+02:00` as UTC)
    assert "its Refunded date (UTC) 2026-07-03T08:00:00+00:00 is one date" in offset
    assert (result.files[0].imported, result.files[0].fields_unread) == (4, 3)
    assert any("1 payment whose status says refunded states no Amount Refunded (empty or 0; "
               "the first: row 3, ch_2)" in n for n in result.notes)


def test_the_refusal_of_refund_ids_names_the_first_row_holding_one(tmp_path: Path) -> None:
    """A payments export with a refund id among its payments is refused naming the row
    (before, the file and field alone: which of thousands of rows, not said)."""
    path = _export(tmp_path / "unified_payments.csv",
                   _row("ch_1", "2026-07-01 08:15:00", "49.90", "0.00", "eur", "Paid"),
                   _row("ch_2", "2026-07-01 08:15:00", "49.90", "0.00", "eur", "Paid"),
                   _row(" re_9", "2026-07-01 08:15:00", "49.90", "0.00", "eur", "Paid"),
                   _row("pyr_1", "2026-07-01 08:15:00", "49.90", "0.00", "eur", "Paid"))
    with pytest.raises(InputError) as raised:
        read_source(path, "stripe")
    assert raised.value.row == 4
    assert "unified_payments.csv: row 4: field 'id': refund ids (re_, pyr_)" in str(
        raised.value)



def test_a_refund_contradicting_its_payment_is_told_not_counted(tmp_path: Path) -> None:
    """Stripe refunds nothing of a failed payment (it took no money) and never more than a
    payment's amount. Before, a `Failed` payment with an `Amount Refunded` was told
    refunded like any other (its line, the note's total, the check's warnings of refunds
    not itemised), and 60.00 refunded of a 20.00 payment was accepted as a refunded total.
    Such a row contradicts itself, and which field is wrong cannot be told: the payment is
    read as the export states it, and the amount refunded is a quarantine line naming both
    (the Status, or the Amount, and the amount refunded), in a note of its own, not in the
    refunded payments' totals; a Failed payment's is no refund the check's warnings count.
    A failed payment refunding 0.00, and one refunded in full (its amount), read as before.
    A Failed payment's Amount Refunded that cannot be read (`49,90`, `=1+1`) or is negative
    (`-5.00`) contradicts it too: the Status is tested first (before, such a cell was told
    as a refund not itemised, counted by the check's warnings as a refund not audited)."""
    path = _export(
        tmp_path / "unified_payments.csv",
        _row("ch_1", "2026-07-01 08:15:00", "49.90", "49.90", "eur", "Failed",
             captured="false"),
        _row("ch_2", "2026-07-01 09:00:00", "20.00", "60.00", "eur", "Refunded",
             refunded_at="2026-07-02 09:00:00"),
        _row("ch_3", "2026-07-01 10:00:00", "5.00", "0.00", "usd", "Failed",
             captured="false"),
        _row("ch_4", "2026-07-01 11:00:00", "20.00", "20.00", "eur", "Refunded"),
        _row("ch_5", "2026-07-01 12:00:00", "30000", "30001", "jpy", "Partially refunded"),
        _row("ch_6", "2026-07-01 13:00:00", "49.90", "49,90", "eur", "Failed",
             captured="false"),
        _row("ch_7", "2026-07-01 14:00:00", "49.90", "-5.00", "eur", "failed",
             captured="false"),
        _row("ch_8", "2026-07-01 15:00:00", "49.90", "=1+1", "eur", "Failed",
             captured="false"))
    result = import_sources([(path, None)])
    assert result.log[C.EVENT_ID].tolist() == [f"stripe:ch_{n}" for n in range(1, 9)]
    assert result.log[C.PAYMENT_STATUS].tolist() == [
        "failed", "succeeded", "failed", "succeeded", "succeeded", "failed", "failed",
        "failed"]
    assert result.log[C.AMOUNT].tolist() == [49.9, 20.0, 5.0, 20.0, 30000.0, 49.9, 49.9,
                                             49.9]
    lines = result.quarantine.sort_values("row")
    assert lines[["row", "field", "value", "record_read"]].values.tolist() == [
        [2, "Amount Refunded", "49.90", "yes"], [3, "Amount Refunded", "60.00", "yes"],
        [5, "Amount Refunded", "20.00", "yes"], [6, "Amount Refunded", "30001", "yes"],
        [7, "Amount Refunded", "49,90", "yes"], [8, "Amount Refunded", "-5.00", "yes"],
        [9, "Amount Refunded", "=1+1", "yes"]]
    failed, over, full, yen, comma, negative, formula = lines["reason"].tolist()
    # (the cell as written, quoted: a reason never begins with a formula's `=`)
    assert comma.startswith("Amount Refunded '49,90' of payment ch_6 (not read: thousands "
                            "separator or decimal comma")
    assert negative.startswith("Amount Refunded '-5.00' of payment ch_7 (not read: negative "
                               "amount")
    assert formula.startswith("Amount Refunded '=1+1' of payment ch_8 (not read: ")
    for reason, stated in ((comma, "Failed"), (negative, "failed"), (formula, "Failed")):
        assert (f"): its Status is {stated}, and a failed payment took no money, so none of "
                "it can be refunded: the export contradicts itself") in reason, reason
    assert failed.startswith("49.90 EUR refunded of payment ch_1: its Status is Failed, and a "
                             "failed payment took no money, so none of it can be refunded: "
                             "the export contradicts itself")
    assert over.startswith("60.00 EUR refunded of payment ch_2: more than its Amount, 20.00 "
                           "EUR, which Stripe never refunds (at most the amount charged): "
                           "the export contradicts itself")
    assert yen.startswith("30001 JPY refunded of payment ch_5: more than its Amount, 30000 JPY")
    # (a refund above the payment is still one the export does not itemise; a Failed
    # payment's is no refund made)
    assert [REFUND_NOT_ITEMISED in r for r in (failed, over, full, yen, comma, negative,
                                               formula)] == [
        False, True, True, True, False, False, False]
    counts = result.files[0]
    assert (counts.read, counts.imported, counts.quarantined, counts.fields_unread) == (
        8, 8, 0, 7)
    assert [n.split(", whose refunds")[0] for n in result.notes
            if "refunded in part or in full" in n] == [
        "unified_payments.csv: 1 payment refunded in part or in full (20.00 EUR; the first: "
        "row 5, ch_4)"]
    assert any(n.startswith("unified_payments.csv: 6 payments whose Amount Refunded "
                            "contradicts the payment (a Failed payment's, which took no "
                            "money, or one above its Amount; the first: row 2, ch_1)")
               for n in result.notes), result.notes


def test_a_status_disagreeing_with_the_amount_refunded_is_accepted(tmp_path: Path) -> None:
    """That the export's Status follows Amount Refunded (Refunded: all of it; Partially
    refunded: part; Paid: none) is not assumed (docs/sources.md): such rows are read as the
    amount refunded states, into the refunded payments' note and totals, not quarantined."""
    path = _export(
        tmp_path / "unified_payments.csv",
        _row("ch_1", "2026-07-01 08:00:00", "20.00", "5.00", "eur", "Refunded"),
        _row("ch_2", "2026-07-01 09:00:00", "20.00", "20.00", "eur", "Partially refunded"),
        _row("ch_3", "2026-07-01 10:00:00", "20.00", "5.00", "eur", "Paid"))
    result = import_sources([(path, None)])
    assert result.log[C.PAYMENT_STATUS].tolist() == ["succeeded"] * 3
    reasons = result.quarantine.sort_values("row")["reason"].tolist()
    assert [r.split(": ")[0] for r in reasons] == [
        "5.00 EUR refunded of payment ch_1", "20.00 EUR refunded of payment ch_2",
        "5.00 EUR refunded of payment ch_3"]
    assert all(REFUND_NOT_ITEMISED in r for r in reasons)
    assert [n.split(", whose refunds")[0] for n in result.notes
            if "refunded in part or in full" in n] == [
        "unified_payments.csv: 3 payments refunded in part or in full (30.00 EUR; the first: "
        "row 2, ch_1)"]


def test_a_check_warns_of_each_payment_refunded_above_its_amount(tmp_path: Path) -> None:
    """A Dashboard payment whose Amount Refunded is above its Amount: money refunded beyond
    the charge, which Stripe never refunds. Before, a quarantine line and an import note
    alone: no warning, nothing counted, so beside the refunds CSV (which itemises the
    refunds) nothing on the check's output said so. Now a `warning:` line names each such
    payment by file, row and field, with both amounts, and the summary counts them
    (`refunded_above_charge`, a console line), alone and beside the refunds CSV alike."""
    export, _ = _as_dashboard_export(tmp_path / "unified_payments.csv")
    with export.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    # the sample's charges refunded beyond their amount (its refund-exceeds-charge cases)
    # stay; one payment refunded in full is made three times its Amount
    over = next(n for n, r in enumerate(rows) if n and r[14] == "Refunded")
    rows[over][3] = f"{Decimal(rows[over][2]) * 3:.2f}"
    with export.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    above = [(n + 1, r[0], r[3], r[2], r[4].upper()) for n, r in enumerate(rows)
             if n and Decimal(r[3]) > Decimal(r[2])]
    assert len(above) == 3 and (over + 1) in [a[0] for a in above]
    policy = tmp_path / "policy.yaml"  # (the conformance rules left out: they need pm4py)
    models = Path(__file__).resolve().parents[1] / "models"
    policy.write_text((models / "policy.default.yaml").read_text(encoding="utf-8").replace(
        "  ignore: []", "  ignore: [conformance]").replace(
        ": ecommerce.bpmn", f": {models / 'ecommerce.bpmn'}").replace(
        ": subscription.bpmn", f": {models / 'subscription.bpmn'}").replace(
        ": offline.bpmn", f": {models / 'offline.bpmn'}"), encoding="utf-8")
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    for name, inputs in (("alone", [*tickets, export]),
                         ("beside", [*tickets, export, EXPORTS / "stripe_refunds.csv"])):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["check", *map(str, inputs), "--out", str(out),
                                           "--policy", str(policy), "--fail-on", "never"])
        assert result.exit_code == 0, result.output
        document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
        assert document["summary"]["refunded_above_charge"] == 3
        told = [w for w in document["manifest"]["warnings"]
                if "shows refunded above their Amount" in w]
        assert len(told) == 1, document["manifest"]["warnings"]
        for row, charge, refunded, amount, currency in above:
            assert (f"unified_payments.csv row {row} field Amount Refunded: {refunded} "
                    f"{currency} refunded of {amount} {currency} ({charge})") in told[0]
        lines = result.output.splitlines()
        assert f"warning: {told[0]}" in lines
        assert ("  refunded above the charge: 3 payments (a Stripe Dashboard payments "
                "export's Amount Refunded above the payment's Amount, judged by no rule: see "
                "the warning)") in lines
    # a check of no such payment counts none and tells nothing
    (tmp_path / "plain").mkdir()
    plain, _ = _as_dashboard_export(tmp_path / "plain" / "unified_payments.csv")
    with plain.open(encoding="utf-8") as handle:
        kept = [r for n, r in enumerate(csv.reader(handle))
                if not n or Decimal(r[3]) <= Decimal(r[2])]
    with plain.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(kept)
    result = CliRunner().invoke(main, ["check", *map(str, [*tickets, plain]), "--out",
                                       str(tmp_path / "none"), "--policy", str(policy),
                                       "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "none" / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["refunded_above_charge"] == 0
    assert "refunded above" not in result.output


def test_each_payment_refunded_above_its_amount_is_told_once_with_the_exports_amounts(
        tmp_path: Path) -> None:
    """The warning of payments refunded above their Amount counts payments, not lines, and
    tells the export's own Amount and Currency, picked by the kind of line its reader gave,
    not by a phrase of the reason. Before: one export given twice under two names counted
    each payment twice (4 for 2); the Amount was the log's (the charges CSV's 95.25 EUR
    beside the export's 30.00, where a case holds it), or none where no case held the
    payment (`60.00 refunded (ch_1)`, no currency); and a Failed payment's cell quoting
    the reason's phrase was counted as such a payment (6 told in all); the amounts were
    told as written (`60 EUR refunded of 20 EUR`), now in their currency's minor units."""
    phrase = "which Stripe never refunds (at most the amount charged)"
    rows = [_row("ch_1", "2026-07-01 08:15:00", "20", "60", "eur", "Paid"),
            # (amounts written without their minor units are told in them)
            _row("ch_5", "2026-07-01 08:15:00", "1000", "3000", "jpy", "Paid"),
            # (the charges CSV states this charge at 95.25 EUR: the export's Amount is told)
            _row("ch_4744348135", "2026-05-24 22:41:03", "30.00", "40.00", "eur", "Paid",
                 order="EC-O6491819"),
            _row("ch_2", "2026-07-01 09:00:00", "10.00", f"x {phrase}", "eur", "Failed"),
            _row("ch_3", "2026-07-01 10:00:00", "10.00", "10.00", "eur", "Refunded")]
    export = _export(tmp_path / "unified_payments.csv", *rows)
    again = _export(tmp_path / "zz_unified_payments_again.csv", *rows)
    policy = tmp_path / "policy.yaml"  # (the conformance rules left out: they need pm4py)
    models = Path(__file__).resolve().parents[1] / "models"
    policy.write_text((models / "policy.default.yaml").read_text(encoding="utf-8").replace(
        "  ignore: []", "  ignore: [conformance]").replace(
        ": ecommerce.bpmn", f": {models / 'ecommerce.bpmn'}").replace(
        ": subscription.bpmn", f": {models / 'subscription.bpmn'}").replace(
        ": offline.bpmn", f": {models / 'offline.bpmn'}"), encoding="utf-8")
    out = tmp_path / "out"
    # (the tickets: a case holds ch_4744348135, its purchase the charges CSV's)
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    result = CliRunner().invoke(main, [
        "check", *map(str, tickets), str(EXPORTS / "stripe_charges.csv"), str(export),
        str(again), "--out",
        str(out), "--policy", str(policy), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["refunded_above_charge"] == 3
    [told] = [w for w in document["manifest"]["warnings"]
              if "shows refunded above their Amount" in w]
    assert told.startswith("3 payments that a Stripe Dashboard payments export")
    assert told.endswith(
        ": unified_payments.csv row 2 field Amount Refunded: 60.00 EUR refunded of 20.00 "
        "EUR (ch_1); unified_payments.csv row 3 field Amount Refunded: 3,000 JPY refunded "
        "of 1,000 JPY (ch_5); unified_payments.csv row 4 field Amount Refunded: 40.00 EUR "
        "refunded of 30.00 EUR (ch_4744348135)"), told
    # (the hints the lines were picked by are never written: the quarantine CSV's header)
    with (out / "quarantine.csv").open(encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == ["file", "row", "field", "value", "reason", "case",
                                            "record_read"]


def test_a_payment_refunded_above_its_amount_is_told_where_its_ticket_names_the_case(
        tmp_path: Path) -> None:
    """An export with a ticket column (`ticket_id (metadata)`, read with the sample's sources
    config): a payment naming a ticket is in that ticket's case, its line names the case and
    carries no charge hint (`QUARANTINE_HINTS`, of records naming no ticket); it is told all
    the same, by the kind its reader gave the line, beside one naming a ticket no export
    holds. The quarantine CSV's header holds no hint column (they are never written)."""
    header = HEADER + ",ticket_id (metadata)"
    export = _export(tmp_path / "unified_payments.csv",
                     [*_row("ch_1", "2026-07-01 08:15:00", "20.00", "60.00", "eur", "Paid"),
                      "40219"],
                     [*_row("ch_7", "2026-07-01 08:15:00", "20.00", "50.00", "eur", "Paid"),
                      "T-NONE"], header=header)
    policy = tmp_path / "policy.yaml"  # (the conformance rules left out: they need pm4py)
    models = Path(__file__).resolve().parents[1] / "models"
    policy.write_text((models / "policy.default.yaml").read_text(encoding="utf-8").replace(
        "  ignore: []", "  ignore: [conformance]").replace(
        ": ecommerce.bpmn", f": {models / 'ecommerce.bpmn'}").replace(
        ": subscription.bpmn", f": {models / 'subscription.bpmn'}").replace(
        ": offline.bpmn", f": {models / 'offline.bpmn'}"), encoding="utf-8")
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "check", *map(str, tickets), str(export), "--sources-config",
        str(EXPORTS.parent / "sample_sources.yaml"), "--out", str(out), "--policy",
        str(policy), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    with (out / "quarantine.csv").open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        lines = [line for line in reader if line["field"] == "Amount Refunded"]
        names = list(reader.fieldnames or [])
    # (the first payment's line names its ticket's case: no charge hint was given with it)
    assert {line["value"]: line["case"] for line in lines} == {"60.00": "40219",
                                                               "50.00": "T-NONE"}
    assert names == ["file", "row", "field", "value", "reason", "case", "record_read"]
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["refunded_above_charge"] == 2
    [told] = [w for w in document["manifest"]["warnings"]
              if "shows refunded above their Amount" in w]
    assert told.endswith(
        ": unified_payments.csv row 2 field Amount Refunded: 60.00 EUR refunded of 20.00 EUR "
        "(ch_1); unified_payments.csv row 3 field Amount Refunded: 50.00 EUR refunded of "
        "20.00 EUR (ch_7)"), told


def test_a_failed_payments_cell_quoting_the_total_phrase_is_no_refund_not_itemised(
        tmp_path: Path) -> None:
    """A Failed payment whose Amount Refunded cell quotes the phrase of a refund given only as
    a total (`REFUND_NOT_ITEMISED`): its line is a contradiction of a failed payment, not a
    refund the export does not itemise. Before, the import picked those lines by that phrase
    in the reason, and the check warned that the payment was refunded and in no case
    ("1 payment ... shows refunded (Amount Refunded) is in no case ..."); a refunded total
    beside it is still told."""
    export = _export(tmp_path / "unified_payments.csv",
                     _row("ch_9", "2026-07-01 08:15:00", "20.00", f"x {REFUND_NOT_ITEMISED}",
                          "eur", "Failed"),
                     _row("ch_8", "2026-07-01 09:15:00", "20.00", "5.00", "eur", "Paid"))
    policy = tmp_path / "policy.yaml"  # (the conformance rules left out: they need pm4py)
    models = Path(__file__).resolve().parents[1] / "models"
    policy.write_text((models / "policy.default.yaml").read_text(encoding="utf-8").replace(
        "  ignore: []", "  ignore: [conformance]").replace(
        ": ecommerce.bpmn", f": {models / 'ecommerce.bpmn'}").replace(
        ": subscription.bpmn", f": {models / 'subscription.bpmn'}").replace(
        ": offline.bpmn", f": {models / 'offline.bpmn'}"), encoding="utf-8")
    out = tmp_path / "out"
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    result = CliRunner().invoke(main, ["check", *map(str, tickets), str(export), "--out",
                                       str(out), "--policy", str(policy), "--fail-on",
                                       "never"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    told = [w for w in document["manifest"]["warnings"] if "is in no case" in w
            or "are in no case" in w]
    assert len(told) == 1, told
    assert told[0].startswith("1 payment that a Stripe Dashboard payments export shows "
                              "refunded (Amount Refunded) is in no case")
    assert "(the first: ch_8, unified_payments.csv row 3)" in told[0]
