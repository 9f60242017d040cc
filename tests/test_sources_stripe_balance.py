"""Stripe's itemized balance change report (balance_change_from_activity.itemized) read as
a payment export beside the charges and refunds CSVs (docs/sources.md)."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.currency import stripe_minor_units
from audit.errors import InputError
from audit.ingest import import_sources
from audit.sources import detect_system, read_source
from audit.sources.config import load_sources_config

DATA = Path(__file__).parent / "data" / "sources"
REPORT = DATA / "stripe" / "balance_itemized.csv"
EXPORTS = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "exports"
OTHER = "not a charge, refund or refund failure (fees, payouts, disputes, partial capture " \
        "reversals and other balance changes are not part of a refund case)"


def test_charges_refunds_and_a_failure_become_events_the_rest_is_quarantined() -> None:
    assert detect_system(REPORT) == "stripe"
    table, quarantine = read_source(REPORT, "stripe")
    events = table.frame.set_index(C.EVENT_ID)
    columns = [C.ACTIVITY, C.TIMESTAMP, C.AMOUNT, C.CURRENCY, C.RESOURCE, C.TICKET_ID,
               C.ORDER_ID, C.CHARGE_ID, C.REFUND_ID, C.PAYMENT_STATUS, C.PAYMENT_METHOD]
    got = {k: tuple(None if pd.isna(v) else v for v in row)
           for k, row in zip(events.index, events[columns].values.tolist(), strict=True)}
    assert got == {
        "stripe:ch_3PQ1001": ("Capture payment", "2026-07-01T08:15:00+00:00", "49.90", "EUR",
                              "stripe-api", None, "EC-O1001", "ch_3PQ1001", None,
                              "succeeded", "card"),
        # JPY has no minor unit: 250000 yen in major units is 250000
        "stripe:ch_3PQ1002": ("Capture payment", "2026-07-01T18:00:00+00:00", "250000", "JPY",
                              "stripe-api", None, "EC-O1002", "ch_3PQ1002", None,
                              "succeeded", "card"),
        "stripe:re_3PR2002": ("Execute payout", "2026-07-04T09:30:00+00:00", "49.90", "EUR",
                              "Ulla Nyberg", "101", "EC-O1001", "ch_3PQ1001", "re_3PR2002",
                              "succeeded", "card"),
        # its refund_failure (row 6) in the same report: one failed payout at its time
        "stripe:re_3PR2003": ("Payout failed", "2026-07-05T10:00:00+00:00", "1000", "JPY",
                              "Victor Chen", "102", "EC-O1002", "ch_3PQ1002", "re_3PR2003",
                              "failed", "card"),
        "stripe:re_3PR2006": ("Execute payout", "2026-07-14T09:00:00+00:00", "10.00", "EUR",
                              '=HYPERLINK("http://x")', "103", "EC-O1009", "ch_3PQ1009",
                              "re_3PR2006", "succeeded", "card"),
    }
    assert table.deduplicated == 1  # row 11: row 2 exported again
    assert table.records_read == 14
    found = quarantine.sort_values("row")[["row", "field", "value", "reason"]]
    assert found.values.tolist() == [
        [6, "reporting_category", "refund_failure",
         "the failure of refund re_3PR2003, whose refund (row 5) is read as the failed "
         "payout, as a refunds export reads a failed refund: no second event"],
        [7, "reporting_category", "fee", OTHER],
        [8, "reporting_category", "payout", OTHER],
        [9, "gross", "-1.234", "more decimals than EUR has (2): a thousands separator? "
                               "(this export writes plain decimals such as 1234.56)"],
        [10, "created_utc", "01/07/2026 12:00",
         "not a Stripe time (UTC 'YYYY-MM-DD HH:MM:SS' or Unix seconds)"],
        [12, "gross", "5.00", "a refund's gross is money sent back, negative: a positive "
                              "one is not a refund of this layout"],
        # (rows of another category naming a charge: quarantined with its case)
        [13, "reporting_category", "partial_capture_reversal",
         "reporting category partial_capture_reversal of charge ch_3PQ1001: the uncaptured "
         "part of the charge's authorisation released (no refund); not a refund the "
         "merchant executed: not part of a refund case, never read as a payout"],
        [15, "reporting_category", "=cmd|' /C calc'!A0",
         "reporting category =cmd|' /C calc'!A0 of charge ch_3PQ1001: a balance change of a "
         "charge; not a refund the merchant executed: not part of a refund case, never read "
         "as a payout"],
        [16, "source_id", "ch_3PQ1001", "a refund row's source_id is read as its refund's "
                                        "id (re_ or pyr_): this one is not"],
    ]
    assert set(quarantine.loc[quarantine["row"].isin([6, 9, 12, 15, 16]), "case"]) == {
        "101", "102"}
    result = import_sources([(REPORT, None)])
    counts = result.files[0]
    assert (counts.read, counts.imported, counts.quarantined, counts.deduplicated) == (
        15, 5, 9, 1)


HEADER = ("balance_transaction_id,created_utc,currency,gross,reporting_category,source_id,"
          "charge_id,refund_metadata[ticket_id],refund_metadata[executed_by]")


def _report(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_failure_of_a_refund_the_report_does_not_hold_is_a_failed_payout(
        tmp_path: Path) -> None:
    """The refund in last month's report, its failure in this one: a failed payout of its
    own (as the refunds CSV's failed refund), keyed apart from the refund's event."""
    path = _report(tmp_path / "balance.csv",
                   "txn_1,2026-08-02 10:00:00,eur,12.50,refund_failure,re_9,ch_9,77,Ann Lee")
    table, quarantine = read_source(path, "stripe")
    assert quarantine.empty
    row = table.frame.iloc[0]
    assert (row[C.EVENT_ID], row[C.ACTIVITY], row[C.PAYMENT_STATUS], row[C.AMOUNT],
            row[C.REFUND_ID], row[C.TICKET_ID], row[C.RESOURCE]) == (
        "stripe:re_9:refund_failure", "Payout failed", "failed", "12.50", "re_9", "77",
        "Ann Lee")


def test_signs_source_ids_and_charge_ids_that_contradict_the_layout_are_quarantined(
        tmp_path: Path) -> None:
    path = _report(tmp_path / "balance.csv",
                   "txn_1,2026-08-02 10:00:00,eur,-12.50,charge,ch_1,ch_1,,",
                   "txn_2,2026-08-02 10:00:00,eur,12.50,charge,ch_2,ch_3,,",
                   "txn_3,2026-08-02 10:00:00,eur,-2.00,refund_failure,re_4,ch_1,,",
                   "txn_4,2026-08-02 10:00:00,eur,12.50,charge,re_5,,,",
                   "txn_5,2026-08-02 10:00:00,eur,-1.00,refund,re_6,ch_1,,",
                   "txn_6,2026-08-03 10:00:00,eur,-1.00,refund,re_6,ch_1,,",
                   "txn_7,2026-08-02 10:00:00,eur,0.00,charge,py_7,,,",
                   ",2026-08-02 10:00:00,eur,1.00,charge,ch_8,,,")
    table, quarantine = read_source(path, "stripe")
    assert table.frame[C.EVENT_ID].tolist() == ["stripe:re_6", "stripe:py_7"]
    assert quarantine[["row", "field"]].values.tolist() == [
        [2, "gross"], [3, "charge_id"], [4, "gross"], [5, "source_id"],
        [7, "source_id"], [9, "balance_transaction_id"]]
    reasons = quarantine["reason"].tolist()
    assert "a charge's gross is money received, positive" in reasons[0]
    assert reasons[1] == "a charge row's charge_id is its source_id (ch_2)"
    assert "a refund failure's gross returns the refund's money, positive" in reasons[2]
    assert reasons[3].startswith("a charge row's source_id is read as a charge's id")
    assert reasons[4] == "same id as row 6 with different content"  # one refund, two rows
    assert reasons[5].startswith("empty id")


def test_a_dispute_of_a_refunded_charge_is_quarantined_with_its_case(tmp_path: Path) -> None:
    """Charge ch_3PQ1001 (order EC-O1001) refunded through ticket 101 and also disputed: the
    customer's chargeback (`dispute`, source the dispute du_..., `charge_id` the charge),
    the merchant's defence won (`dispute_reversal`), as the itemized report writes them.
    They are no refund the merchant executed and stay quarantined, never read as a payout,
    but they named no case and one reason served fees, payouts and disputes: now each goes
    with the case holding the charge its charge_id names (as PayPal's and Adyen's
    chargebacks), its reason naming the category and the charge. A fee naming no charge
    names no case."""
    from audit.sources.pipeline import import_and_correlate

    lines = REPORT.read_text(encoding="utf-8").splitlines()
    tail = ",cus_Q1,ch_3PQ1001,pi_3PQ1001,,card,EC-O1001,,,"
    path = tmp_path / "balance.csv"
    path.write_text("\n".join([
        *lines[:4],  # (the two charges, the refund of ch_3PQ1001 through ticket 101)
        "txn_3PT0020,2026-07-20 10:00:00,2026-07-20 12:00:00,2026-07-20 00:00:00,"
        "2026-07-20 02:00:00,eur,-49.90,15.00,-64.90,dispute,du_3PD0001,"
        f"Chargeback withdrawal for ch_3PQ1001{tail}",
        "txn_3PT0021,2026-07-30 10:00:00,2026-07-30 12:00:00,2026-07-30 00:00:00,"
        "2026-07-30 02:00:00,eur,49.90,-15.00,64.90,dispute_reversal,du_3PD0001,"
        f"Chargeback reversal for ch_3PQ1001{tail}",
        lines[6]]) + "\n", encoding="utf-8")  # (a fee: no charge)
    result = import_and_correlate([(path, "stripe")])
    log = result.log.set_index(C.EVENT_ID)
    case = log.loc["stripe:re_3PR2002", C.CASE]  # (the refund's case holds the charge)
    assert log.loc["stripe:ch_3PQ1001", C.CASE] == case
    assert not log.index.str.contains("du_").any()  # (never a payout)
    lines_of = result.quarantine.sort_values("row")
    assert lines_of[["row", "value", "case"]].values.tolist() == [
        [5, "dispute", case], [6, "dispute_reversal", case], [7, "fee", ""]]
    assert lines_of["reason"].tolist() == [
        "reporting category dispute of charge ch_3PQ1001: a dispute: the charge's funds "
        "withdrawn for the customer's dispute (a chargeback); not a refund the merchant "
        "executed: not part of a refund case, never read as a payout",
        "reporting category dispute_reversal of charge ch_3PQ1001: a dispute reversed: the "
        "merchant won the dispute, the funds came back; not a refund the merchant executed: "
        "not part of a refund case, never read as a payout",
        OTHER]


def test_a_report_without_created_utc_or_source_id_is_refused_naming_the_column(
        tmp_path: Path) -> None:
    without_time = _report(tmp_path / "no_time.csv", "txn_1,eur,1.00,charge,ch_1,ch_1",
                           header="balance_transaction_id,currency,gross,reporting_category,"
                                  "source_id,charge_id")
    assert detect_system(without_time) == "stripe"
    with pytest.raises(InputError, match=r"Stripe itemized balance change report.*"
                                         r"missing column\(s\) created_utc \("):
        read_source(without_time, "stripe")
    # Stripe's itemized payouts report: balance transactions of payouts, no source_id
    payouts = _report(tmp_path / "payouts.csv", "po_1,2026-08-03 00:00:00,eur,-10.00,-0.00,"
                      "-10.00,payout,txn_1,STRIPE PAYOUT,paid",
                      header="payout_id,effective_at_utc,currency,gross,fee,net,"
                             "reporting_category,balance_transaction_id,description,"
                             "payout_status")
    with pytest.raises(InputError, match=r"missing column\(s\) created_utc, source_id, "
                                         r"charge_id"):
        import_sources([(payouts, None)])


def test_detection_tells_the_report_and_the_other_exports_apart(tmp_path: Path) -> None:
    for path in sorted(EXPORTS.iterdir()):
        if path.suffix == ".csv" and path.name != "role_history.csv":
            system = path.name.split("_")[0]
            assert detect_system(path) == system, path.name
    for path in (DATA / "stripe" / "charges.csv", DATA / "stripe" / "refunds.csv"):
        table, _ = read_source(path, "stripe")  # (read as before, not as a report)
        assert not table.frame[C.EVENT_ID].str.contains("refund_failure").any()
    # a generic event log holding the report's columns beside its own stays generic
    generic = _report(tmp_path / "log.csv", "C1,Execute payout,2026-08-02T10:00:00Z,txn_1,"
                      "refund,re_1", header="case,activity,timestamp,balance_transaction_id,"
                                            "reporting_category,source_id")
    assert detect_system(generic) is None


def test_the_carriers_are_named_by_the_sources_file(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[1] / "models" / "sources.default.yaml").read_text(
        encoding="utf-8")
    text = (text.replace('"refund_metadata[ticket_id]"', '"refund_metadata[case]"')
            .replace('"refund_metadata[executed_by]"', '"refund_metadata[agent]"'))
    config = tmp_path / "sources.yaml"
    config.write_text(text, encoding="utf-8")
    cfg = load_sources_config(config).payments["stripe"]
    assert (cfg.balance_ticket_column, cfg.balance_executor_column) == (
        "refund_metadata[case]", "refund_metadata[agent]")
    path = _report(tmp_path / "balance.csv",
                   "txn_1,2026-08-02 10:00:00,eur,-12.50,refund,re_1,ch_1,C-9,Ann Lee",
                   header=HEADER.replace("[ticket_id]", "[case]")
                   .replace("[executed_by]", "[agent]"))
    table, _ = read_source(path, "stripe", config=load_sources_config(config))
    assert (table.frame.at[0, C.TICKET_ID], table.frame.at[0, C.RESOURCE]) == ("C-9",
                                                                              "Ann Lee")


def _major(amount: str, currency: str, sign: int) -> str:
    return str(sign * Decimal(amount).scaleb(-stripe_minor_units(currency.upper())))


def _as_balance_report(out: Path) -> Path:
    """The bundled Stripe charges and refunds as the itemized balance change report would
    list them: a charge row per charge, a refund row per refund (gross negative), and a
    refund_failure row three days later per failed refund (gross positive)."""
    header = ["balance_transaction_id", "created_utc", "created", "currency", "gross", "fee",
              "net", "reporting_category", "source_id", "description", "charge_id",
              "payment_method_type", "payment_metadata[order_id]",
              "refund_metadata[ticket_id]", "refund_metadata[executed_by]",
              "refund_metadata[refund_method]"]
    rows: list[list[str]] = []
    with (EXPORTS / "stripe_charges.csv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            gross = _major(r["amount"], r["currency"], 1)
            rows.append([f"txn_{len(rows)}", r["created"], r["created"], r["currency"], gross,
                         "0.00", gross, "charge", r["id"], r["description"], r["id"],
                         r["payment_method_type"], r["order_id (metadata)"], "", "", ""])
    with (EXPORTS / "stripe_refunds.csv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            gross = _major(r["amount"], r["currency"], -1)
            common = [r["id"], "", r["charge"], "card", r["order_id (metadata)"],
                      r["ticket_id (metadata)"], r["executed_by (metadata)"],
                      r["refund_method (metadata)"]]
            rows.append([f"txn_{len(rows)}", r["created"], r["created"], r["currency"],
                         gross, "0.00", gross, "refund", *common])
            if r["status"] == "failed":
                later = (datetime.fromisoformat(r["created"]) + timedelta(days=3)).strftime(
                    "%Y-%m-%d %H:%M:%S")
                rows.append([f"txn_{len(rows)}", later, later, r["currency"], gross[1:],
                             "0.00", gross[1:], "refund_failure", *common])
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return out


def test_an_audit_of_the_report_correlates_refunds_as_the_refunds_csv_does(
        tmp_path: Path) -> None:
    report = _as_balance_report(tmp_path / "stripe_balance.csv")
    tickets = [str(EXPORTS / "zendesk_ticket_audits.json"), str(EXPORTS / "role_history.csv")]
    runs = {}
    for name, payments in (("report", [str(report)]),
                           ("csv", [str(EXPORTS / "stripe_charges.csv"),
                                    str(EXPORTS / "stripe_refunds.csv")])):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["check", *tickets, *payments, "--out", str(out),
                                           "--fail-on", "never"])
        assert result.exit_code == 0, result.output
        document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
        log = import_sources([(Path(p), None) for p in [*tickets, *payments]]).log
        payouts = log[log[C.REFUND_ID].notna()]
        runs[name] = (
            sorted(zip(payouts[C.REFUND_ID], payouts[C.CASE], payouts[C.TICKET_ID],
                       payouts[C.ACTIVITY], payouts[C.RESOURCE], strict=True)),
            sorted((f["rule"], f["case_id"]) for f in document["findings"]),
            document["summary"]["by_rule"])
    report_payouts, report_findings, report_rules = runs["report"]
    csv_payouts, csv_findings, csv_rules = runs["csv"]
    assert len(report_payouts) == 139 and report_payouts == csv_payouts
    assert sum(1 for p in report_payouts if p[3] == "Payout failed") == 8
    assert report_findings == csv_findings and report_rules == csv_rules
    # Given beside the CSVs, the report's charges and refunds are theirs again (the same
    # event ids and values): dropped as repeats, its refund failures' rows quarantined.
    both = import_sources([(Path(p), None) for p in [
        *tickets, str(EXPORTS / "stripe_charges.csv"), str(EXPORTS / "stripe_refunds.csv"),
        str(report)]])
    counts = both.files[-1]
    assert (counts.read, counts.imported, counts.quarantined, counts.deduplicated) == (
        283, 0, 8, 275)


def test_hostile_cells_of_the_report_are_inert_in_the_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(REPORT), "--out", str(out),
                                       "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    for name in ("quarantine.csv", "findings.csv"):
        with (out / name).open(encoding="utf-8") as handle:
            cells = [v for row in csv.DictReader(handle) for v in row.values() if v]
        assert not [v for v in cells if v[:1] in ("=", "+", "-", "@")], (name, cells)
    quarantined = (out / "quarantine.csv").read_text(encoding="utf-8")
    assert "'=cmd|" in quarantined and "'-1.234" in quarantined
    # (the refund naming ticket 103, which no export holds, is a case of its own: its
    # findings name its executor alone)
    assert "'=HYPERLINK" in (out / "findings.csv").read_text(encoding="utf-8")


def test_the_note_on_a_report_detected_by_its_columns_names_its_columns(
        tmp_path: Path) -> None:
    """Beside a --mapping, the import's note names each CSV read as an export by its
    columns: the balance report was said to be read by the charges CSV's (id, amount,
    currency, created, status), none of which it has."""
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  case:concept:name: Ticket\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(REPORT), str(EXPORTS / "stripe_refunds.csv"),
                                       "--mapping", str(mapping),
                                       "--out", str(tmp_path / "log.parquet")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("read by their columns as: balance_itemized.csv stripe (balance_transaction_id, "
            "reporting_category); stripe_refunds.csv stripe (id, amount, currency, created, "
            "status) (--mapping is for generic logs") in text


def test_a_note_counts_the_rows_paid_in_another_currency_than_the_balances(
        tmp_path: Path) -> None:
    """gross is in the balance's currency: a charge the customer paid in USD into a EUR
    balance is read as the euros received, and the note says so (a ticket's amount in
    USD is not the event's)."""
    path = _report(tmp_path / "balance.csv",
                   "txn_1,2026-08-01 10:00:00,eur,92.10,charge,ch_1,ch_1,,,usd",
                   "txn_2,2026-08-02 10:00:00,eur,-46.05,refund,re_1,ch_1,7,Ann Lee,USD",
                   "txn_3,2026-08-02 10:00:00,eur,-4.00,fee,,,,,",
                   "txn_4,2026-08-02 10:00:00,eur,10.00,charge,ch_2,ch_2,,,eur",
                   header=HEADER + ",customer_facing_currency")
    table, _ = read_source(path, "stripe")
    assert table.frame[C.CURRENCY].tolist() == ["EUR", "EUR", "EUR"]
    assert table.notes == [
        "balance.csv: 2 charge(s) and refund(s) whose customer paid in another currency "
        "than the balance's (first: row 2, USD -> EUR): read with gross and currency, the "
        "amount in the balance's currency after conversion, not the amount the customer "
        "was charged or refunded"]
    plain = _report(tmp_path / "plain.csv", "txn_4,2026-08-02 10:00:00,eur,10.00,charge,ch_2,"
                    "ch_2,,,EUR", header=HEADER + ",customer_facing_currency")
    assert read_source(plain, "stripe")[0].notes == []


def test_a_case_whose_refund_was_paid_and_whose_charge_was_disputed_is_warned_of(
        tmp_path: Path) -> None:
    """The bundled Stripe charges and refunds as the balance report, with the Zendesk
    tickets, and a `dispute` row (the customer's chargeback) for: three charges whose refund
    was paid (the customer had the money back twice: by the refund and by the chargeback),
    one charge whose every refund failed (paid back once, by the chargeback), one charge no
    refund names (no refund case). The charge rows stay succeeded, so no rule sees the
    chargebacks, and the dispute rows are only quarantined with their cases: before, the run
    said nothing. Now a warning (console, manifest, report) counts the cases that paid a
    refund of a disputed charge, 3, and names them; not the failed refund's case."""
    import html

    from audit.sources.pipeline import import_and_correlate

    report = _as_balance_report(tmp_path / "stripe_balance.csv")
    with (EXPORTS / "stripe_refunds.csv").open(encoding="utf-8") as handle:
        refunds = list(csv.DictReader(handle))
    with (EXPORTS / "stripe_charges.csv").open(encoding="utf-8") as handle:
        charges = {r["id"]: r for r in csv.DictReader(handle)}
    failed_only = sorted({r["charge"] for r in refunds if r["status"] == "failed"})[:1]
    paid = sorted({r["charge"] for r in refunds if r["status"] == "succeeded"}
                  - {""} - set(failed_only))[:4]
    # (the fourth paid charge's only line is a dispute the merchant won, its reversal: money
    # back to the merchant, no second refund, not told)
    paid, won_only = paid[:3], paid[3:]
    unrefunded = sorted(set(charges) - {r["charge"] for r in refunds})[:1]
    assert len(paid) == 3 and len(failed_only) == 1 and len(unrefunded) == 1
    # (the failed refund's charge: its refunds that were paid left out of the report, so
    # its every refund failed)
    retried = {r["id"] for r in refunds
               if r["charge"] in failed_only and r["status"] == "succeeded"}
    with report.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row[8] not in retried]
    with report.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows(rows)
        for i, charge in enumerate([*paid, *failed_only, *unrefunded, *won_only]):
            c = charges[charge]
            won = charge in won_only
            gross = _major(c["amount"], c["currency"], 1 if won else -1)
            writer.writerow([f"txn_d{i}", "2026-09-01 10:00:00", "2026-09-01 10:00:00",
                             c["currency"], gross, "15.00", gross,
                             "dispute_reversal" if won else "dispute", f"du_{i}",
                             f"Chargeback withdrawal for {charge}", charge, "card",
                             c["order_id (metadata)"], "", "", ""])
    tickets = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "role_history.csv"]
    # The ground truth: the cases holding the paid refunds of the three charges.
    log = import_and_correlate([(p, None) for p in [*tickets, report]]).log
    refunded = log[log[C.CHARGE_ID].isin(paid) & log[C.REFUND_ID].notna()
                   & log[C.PAYMENT_STATUS].eq("succeeded")]
    expected = sorted({str(c) for c in refunded[C.CASE]})
    assert len(expected) == 3
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", *map(str, tickets), str(report), "--out",
                                       str(out), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    warning = (
        "3 cases paid a refund of a payment that the payment system also shows charged back "
        "or disputed: a chargeback or dispute row of the same payment, quarantined with the "
        "case, which no rule judges; the customer may have had the money back twice, by the "
        "refund and by the chargeback: check the quarantine's lines of "
        + ", ".join(expected))
    assert f"warning: {warning}" in result.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert warning in document["manifest"]["warnings"]
    assert html.escape(warning, quote=False).replace("'", "&#39;") in (
        out / "report.html").read_text(encoding="utf-8")
    quarantine = pd.read_csv(out / "quarantine.csv", dtype=str, keep_default_na=False)
    disputes = quarantine[quarantine["value"] == "dispute"]
    assert len(disputes) == 5
    assert (quarantine["value"] == "dispute_reversal").sum() == 1
    assert set(expected) <= set(disputes["case"])  # (each with its case, as before)
