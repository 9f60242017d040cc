"""The quarantine's lines name what an auditor needs to find the row: its file, row, the
export's column, the value as the export wrote it and the case it belongs to. A record
repeated with other content names the column(s) its id was read from and their cells,
not the event id the reader made of them (which appears in no export).

Each test writes a small export in its system's layout (copies of the bundled test exports,
`tests/data/sources`, with a row changed or added), runs `refund-audit import` and reads the
quarantine.csv written beside the log.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main

DATA = Path(__file__).parent / "data" / "sources"
EVENTS = Path(__file__).parent / "data" / "zendesk_ticket_events" / \
    "synthetic_pair_ticket_events.json"
CONFLICT = "with different content"


def _import(tmp_path: Path, *inputs: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The log and the quarantine (as written, every cell text) of importing `inputs`."""
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(main, ["import", *map(str, inputs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = tmp_path / "log.quarantine.csv"
    assert written.read_text(encoding="utf-8").startswith(
        "file,row,field,value,reason,case,record_read\n")
    return (pd.read_parquet(out),
            pd.read_csv(written, dtype=str, keep_default_na=False))


def _conflicts(quarantine: pd.DataFrame) -> list[list[str]]:
    lines = quarantine[quarantine["reason"].str.contains(CONFLICT, regex=False)]
    return lines[["file", "row", "field", "value", "case"]].values.tolist()


def _repeated(source: Path, path: Path, copies: list[tuple[int, dict[str, str]]]) -> Path:
    """`source` (a CSV export) with copies of its data rows (1 = the first) appended, each
    with the cells given changed: the same id as the row copied, other content."""
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"))))
    header = rows[0]
    for number, cells in copies:
        copy = list(rows[number])
        for column, value in cells.items():
            copy[header.index(column)] = value
        rows.append(copy)
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def _case_of(log: pd.DataFrame, event_id: str) -> str:
    cases = log.loc[log[C.EVENT_ID].astype(str) == event_id, C.CASE].astype(str).unique()
    assert len(cases) == 1, (event_id, cases)
    return str(cases[0])


def test_a_conflicting_zendesk_audit_names_its_ticket(tmp_path: Path) -> None:
    """An audit id given again with other content is quarantined as a conflict; its line
    names the audit's ticket as its case (before: the case was empty, so a case whose
    approval was lost that way did not show it), and the audit's `ticket_id` and `id`
    (before: `id` and `zendesk:101:9002`, the reader's record id)."""
    document = json.loads((DATA / "zendesk" / "ticket_audits.json").read_text(encoding="utf-8"))
    audits = document["audits"]
    again = json.loads(json.dumps(next(a for a in audits if a["id"] == 9002)))
    again["events"][0]["value"] = "rejected"
    audits.append(again)
    path = tmp_path / "ticket_audits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    _, quarantine = _import(tmp_path, path)
    assert _conflicts(quarantine) == [
        ["ticket_audits.json", str(len(audits)), "ticket_id, id", "101, 9002", "101"]]


def test_a_conflicting_zendesk_ticket_event_names_its_ticket(tmp_path: Path) -> None:
    text, decode, pages, at = EVENTS.read_text(encoding="utf-8"), \
        json.JSONDecoder().raw_decode, [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            break
        page, at = decode(text, at)
        pages.append(page)
    again = pages[1]["ticket_events"][0]  # (event 9304 of ticket 301, given again)
    again["child_events"][0]["custom_ticket_fields"]["360011110001"] = "rejected"
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pages), encoding="utf-8")
    _, quarantine = _import(tmp_path, path)
    assert _conflicts(quarantine) == [
        ["events.jsonl", "7", "ticket_id, id", "301, 9304", "301"]]


def test_a_conflicting_jira_issue_names_its_issue(tmp_path: Path) -> None:
    """An issue given again (pages of a search that overlap) with other fields: its
    creation is a conflict, whose line names the issue's key as its case, and as the
    field its creation's id is made of (`jira:RFD-7:created`, in no export)."""
    document = json.loads((DATA / "jira" / "issues.json").read_text(encoding="utf-8"))
    again = json.loads(json.dumps(document["issues"][0]))
    assert again["key"] == "RFD-7"
    again["fields"]["customfield_10052"] = "29.99"
    document["issues"].append(again)
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    _, quarantine = _import(tmp_path, path)
    conflicts = _conflicts(quarantine)
    assert [line[2:] for line in conflicts] == [["key", "RFD-7", "RFD-7"]]


def test_a_conflicting_stripe_row_names_its_case(tmp_path: Path) -> None:
    """A refund given again with other content names the ticket it names; a charge (which
    names no ticket) the case its charge is in, by the charge hint the reader gives with
    its lines (before: the hint was set after the check for a repeat, and the line had
    neither case nor hint)."""
    refunds = _repeated(DATA / "stripe" / "refunds.csv", tmp_path / "refunds.csv",
                        [(2, {"reason": "duplicate"})])
    charges = _repeated(DATA / "stripe" / "charges.csv", tmp_path / "charges.csv",
                        [(1, {"payment_method_type": "sepa_debit"})])
    log, quarantine = _import(tmp_path, refunds, charges)
    charge_case = _case_of(log, "stripe:ch_3PQ1001")  # (no ticketing export: a payout case)
    assert charge_case
    assert _conflicts(quarantine) == [
        ["refunds.csv", "6", "id", "re_3PR2002", "101"],
        ["charges.csv", "6", "id", "ch_3PQ1001", charge_case]]


def test_a_conflicting_stripe_balance_row_names_its_case(tmp_path: Path) -> None:
    """The balance report: a charge row given again under its balance transaction names
    the case its charge is in; a fee given again names none (no refund case holds it).
    Both name the balance transaction, the id the report repeats."""
    balance = _repeated(DATA / "stripe" / "balance_itemized.csv", tmp_path / "balance.csv",
                        [(1, {"description": "other"}), (6, {"description": "other"})])
    log, quarantine = _import(tmp_path, balance)
    charge_case = _case_of(log, "stripe:ch_3PQ1001")
    assert charge_case
    assert _conflicts(quarantine) == [
        ["balance.csv", "17", "balance_transaction_id", "txn_3PT0001", charge_case],
        ["balance.csv", "18", "balance_transaction_id", "txn_3PT0006", ""]]


def test_a_conflicting_paypal_row_names_its_case(tmp_path: Path) -> None:
    """A refund given again names the ticket of its Custom Number; a payment the case its
    refund is in; a withdrawal none."""
    activity = _repeated(DATA / "paypal" / "activity.csv", tmp_path / "activity.csv",
                         [(1, {"Name": "Jane Roe"}), (2, {"Note": "someone else"}),
                          (5, {"Name": "Bank"})])
    log, quarantine = _import(tmp_path, activity)
    charge_case = _case_of(log, "paypal:4SX12345AB678901C")
    assert charge_case
    assert [line[2:] for line in _conflicts(quarantine)] == [
        ["Transaction ID", "4SX12345AB678901C", charge_case],
        ["Transaction ID", "7TY98765ZX432109D", "RFD-7"],
        ["Transaction ID", "9AB00000ZX432109F", ""]]


def test_a_conflicting_adyen_row_names_its_case(tmp_path: Path) -> None:
    """The Settlement details report and the Payment accounting report: a refund given
    again names the ticket of its reference, a sale the case its payment is in; each the
    reference its id was read from (a sale's Psp Reference, a refund's modification's
    reference) and its type as written."""
    settlement = _repeated(DATA / "adyen" / "settlement_details.csv",
                           tmp_path / "settlement_details.csv",
                           [(1, {"Store": "pos-terminal-99"}),
                            (2, {"Merchant Account": "StoresIE"})])
    log, quarantine = _import(tmp_path, settlement)
    sale_case = _case_of(log, "adyen:8815850000000001:settled")
    assert sale_case
    assert [line[2:] for line in _conflicts(quarantine)] == [
        ["Psp Reference, Type", "8815850000000001, Settled", sale_case],
        ["Modification Reference, Type", "8825850000000002, Refunded", "CS0000042"]]
    accounting = _repeated(DATA / "adyen" / "payment_accounting.csv",
                           tmp_path / "payments_accounting_report.csv",
                           [(4, {"User Name": "someone"}), (6, {"User Name": "someone"})])
    (tmp_path / "accounting").mkdir()
    log, quarantine = _import(tmp_path / "accounting", accounting)
    sale_case = _case_of(log, "adyen:8816000000000101:settled")
    assert sale_case
    assert [line[2:] for line in _conflicts(quarantine)] == [
        ["Psp Reference, Record Type", "8816000000000101, Settled", sale_case],
        ["Modification Psp Reference, Record Type", "8826000000000102, Refunded",
         "CS0000042"]]


# --- The field: the export's column, not the canonical one --------------------------------
TOO_LARGE = "amount too large (beyond 10^15 major units)"
OUT_OF_RANGE = "time outside 1677-09-21"
TICKET_CURRENCY = ("unknown currency (not an ISO 4217 code) (the ticket's currency: the first "
                   "360011110003 the ticket states, maybe in another of its updates than this "
                   "one)")


def _lines(quarantine: pd.DataFrame) -> list[list[str]]:
    """(row, field, value, the reason's start) of each line."""
    return [[row, field, value, reason[:len(TOO_LARGE)]] for row, field, value, reason in
            quarantine[["row", "field", "value", "reason"]].values.tolist()]


def test_a_payment_row_the_normaliser_quarantines_names_the_exports_column(
        tmp_path: Path) -> None:
    """An amount too large for the log (read by the reader, refused by the normaliser's
    check) was named `refund:amount`, a time beyond the range a timestamp holds
    `time:timestamp`: columns no export has. They name the export's column now (a time
    made of several columns all of them; an Adyen settlement amount the side read)."""
    refunds = _repeated(DATA / "stripe" / "refunds.csv", tmp_path / "refunds.csv",
                        [(2, {"id": "re_BIG", "amount": "99999999999999999999"})])
    balance = _repeated(DATA / "stripe" / "balance_itemized.csv", tmp_path / "balance.csv",
                        [(1, {"balance_transaction_id": "txn_BIG", "source_id": "ch_BIG",
                              "charge_id": "ch_BIG", "gross": "9999999999999999.00"})])
    paypal = _repeated(DATA / "paypal" / "activity.csv", tmp_path / "activity.csv",
                       [(1, {"Transaction ID": "PAY_LATE", "Date": "01/07/2300"}),
                        (1, {"Transaction ID": "PAY_BIG", "Gross": "9,999,999,999,999,999.00"})])
    settlement = _repeated(DATA / "adyen" / "settlement_details.csv", tmp_path / "sd.csv",
                           [(1, {"Psp Reference": "8815850000000999",
                                 "Gross Credit (GC)": "9999999999999999.00"}),
                            (2, {"Modification Reference": "8825850000000999",
                                 "Gross Debit (GC)": "9999999999999999.00"}),
                            (2, {"Modification Reference": "8825850000000998",
                                 "Gross Debit (GC)": "0.00",
                                 "Gross Credit (GC)": "9999999999999999.00"})])
    accounting = _repeated(DATA / "adyen" / "payment_accounting.csv",
                           tmp_path / "payments_accounting_report.csv",
                           [(4, {"Psp Reference": "8816000000009999",
                                 "Main Amount": "9999999999999999.00"})])
    _, quarantine = _import(tmp_path, refunds, balance, paypal, settlement, accounting)
    assert not quarantine["field"].str.contains(":").any()  # (no canonical name at all)
    normalised = quarantine[quarantine["reason"].str.startswith((TOO_LARGE, OUT_OF_RANGE))]
    assert normalised[["file", "row", "field"]].values.tolist() == [
        ["refunds.csv", "6", "amount"],
        ["balance.csv", "17", "gross"],
        ["activity.csv", "9", "Date, Time, TimeZone"],
        ["activity.csv", "10", "Gross"],
        ["sd.csv", "8", "Gross Credit (GC)"],  # (a sale's: the side filled)
        ["sd.csv", "9", "Gross Debit (GC)"],  # (a refund's)
        ["sd.csv", "10", "Gross Credit (GC)"],  # (beside a zero debit)
        ["payments_accounting_report.csv", "20", "Main Amount"]]


def _zendesk_audits(tmp_path: Path) -> Path:
    """The Zendesk test export with ticket 101's currency unknown, an audit's time no ISO
    8601, an approved amount too large (of ticket 101: not read, its currency unknown) and
    ticket 102's requested amount too large."""
    document = json.loads((DATA / "zendesk" / "ticket_audits.json").read_text(encoding="utf-8"))
    audits = document["audits"]
    audits[0]["events"][3]["value"] = "XYZ"  # (360011110003: the ticket's currency)
    audits[1]["created_at"] = "06/07/2026 10:00"
    for audit in audits[3:5]:  # (audit 9004, exported twice)
        audit["events"][1]["value"] = "9999999999999999.00"  # (360011110006: approved)
    audits[7]["events"][3]["value"] = "9999999999999999.00"  # (102's request, in EUR)
    path = tmp_path / "ticket_audits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_ticket_update_the_normaliser_quarantines_names_the_tickets_field(
        tmp_path: Path) -> None:
    """Zendesk: the audit's `created_at`, the amount's and the currency's custom field ids
    (before: `time:timestamp`, `refund:amount`, `refund:currency`). Jira: the history's
    `created`, the issue's `fields.created`, the amount field of the history and the
    requested amount's field of the issue. (A ticket's unknown currency is the reader's
    line since the updates stating an amount in it are read without it; it names the
    ticket's field alike.)"""
    _, quarantine = _import(tmp_path, _zendesk_audits(tmp_path))
    assert _lines(quarantine) == [
        ["1", "360011110003", "XYZ", TICKET_CURRENCY[:len(TOO_LARGE)]],
        ["2", "created_at", "06/07/2026 10:00", "not a timestamp in ISO 8601"],
        ["4", "360011110003", "XYZ", TICKET_CURRENCY[:len(TOO_LARGE)]],
        ["8", "360011110004", "9999999999999999.00", TOO_LARGE]]
    # A ticket's currency is stated once, in the ticket's first update (row 1): the line of
    # a later update's amount in it says where it comes from.
    assert quarantine["reason"].tolist()[2] == (
        TICKET_CURRENCY + "; the amount alone is not read: the update is read as Approve "
        "refund, of no amount")

    document = json.loads((DATA / "jira" / "issues.json").read_text(encoding="utf-8"))
    issue = document["issues"][0]
    issue["fields"]["created"] = "1500-07-06T10:15:00.000+0200"
    issue["fields"]["customfield_10052"] = "9999999999999999.00"
    issue["changelog"]["histories"][0]["created"] = "2300-07-06T11:00:00.000+0200"
    issue["changelog"]["histories"][1]["items"][1]["toString"] = "8888888888888888.00"
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "jira").mkdir()
    _, quarantine = _import(tmp_path / "jira", path)
    assert [line[:2] for line in _lines(quarantine) if line[0] in "123"] == [
        ["1", "fields.created"], ["1", "customfield_10052"], ["2", "created"],
        ["3", "Pro-rata amount"]]


def test_an_input_error_names_the_exports_field(tmp_path: Path) -> None:
    """A time without an offset, and no --assume-tz: the error (exit code 2) named
    `time:timestamp`; it names the export's field of that row."""
    document = json.loads((DATA / "zendesk" / "ticket_audits.json").read_text(encoding="utf-8"))
    document["audits"][1]["created_at"] = "2026-07-06 10:00:00"
    path = tmp_path / "ticket_audits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "--out",
                                       str(tmp_path / "log.parquet")])
    assert result.exit_code == 2
    assert f"{path}: row 2: field 'created_at': timestamps have no time zone" in result.output

    document = json.loads((DATA / "jira" / "issues.json").read_text(encoding="utf-8"))
    document["issues"][0]["fields"]["created"] = "2026-07-06T10:15:00.000"
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "--out",
                                       str(tmp_path / "log.parquet")])
    assert result.exit_code == 2
    assert f"{path}: row 1: field 'fields.created': timestamps have no time zone" \
        in result.output


def test_a_generic_files_lines_name_its_mapped_columns(tmp_path: Path) -> None:
    """A generic CSV read through a mapping: its own columns, as before."""
    path = tmp_path / "vorgaenge.csv"
    path.write_text("Vorgang,Schritt,Zeit,Betrag,Waehrung\n"
                    "c1,Receive refund request,2026-07-01T10:00:00Z,\"10,00\",EUR\n"
                    "c2,Receive refund request,gestern,\"10,00\",EUR\n"
                    "c3,Receive refund request,2026-07-01T10:00:00Z,\"10,00\",XYZ\n"
                    "c4,Receive refund request,2026-07-01T10:00:00Z,1.5,EUR\n",
                    encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  case:concept:name: Vorgang\n  concept:name: Schritt\n"
                       "  time:timestamp: Zeit\n  refund:amount: Betrag\n"
                       "  refund:currency: Waehrung\ndecimal: \",\"\n", encoding="utf-8")
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(main, ["import", str(path), "--mapping", str(mapping),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    quarantine = pd.read_csv(tmp_path / "log.quarantine.csv", dtype=str,
                             keep_default_na=False)
    assert quarantine[["row", "field", "case"]].values.tolist() == [
        ["3", "Zeit", "c2"], ["4", "Waehrung", "c3"], ["5", "Betrag", "c4"]]


def test_an_event_id_given_twice_names_the_files_id_column(tmp_path: Path) -> None:
    """An event id the import finds twice with other content (in one file, or in two): the
    line named `event:id`; it names the column the id was read from, a generic file's own
    (`EID`, mapped) and, for an export, the column(s) the reader read it from, with their
    cells (before: `id` and the reader's event id); the reason names the event id, as
    the canonical log holds it."""
    path = tmp_path / "events.csv"
    path.write_text("EID,Vorgang,Schritt,Zeit\n"
                    "e1,c1,Receive refund request,2026-07-01T10:00:00Z\n"
                    "e1,c1,Approve refund,2026-07-01T11:00:00Z\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  event:id: EID\n  case:concept:name: Vorgang\n"
                       "  concept:name: Schritt\n  time:timestamp: Zeit\n", encoding="utf-8")
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(main, ["import", str(path), "--mapping", str(mapping),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    quarantine = pd.read_csv(tmp_path / "log.quarantine.csv", dtype=str,
                             keep_default_na=False)
    assert quarantine[["row", "field", "value", "case"]].values.tolist() == [
        ["3", "EID", "e1", "c1"]]

    # The same refund in the refunds export and in the balance report, other amounts.
    refunds = _repeated(DATA / "stripe" / "refunds.csv", tmp_path / "refunds.csv", [])
    balance = _repeated(DATA / "stripe" / "balance_itemized.csv", tmp_path / "balance.csv",
                        [])
    (tmp_path / "two").mkdir()
    _, quarantine = _import(tmp_path / "two", refunds, balance)
    repeats = quarantine[quarantine["reason"].str.startswith("duplicate event id")]
    assert repeats[["file", "field", "value", "reason"]].values.tolist() == [
        ["balance.csv", "source_id", "re_3PR2002",
         "duplicate event id stripe:re_3PR2002 (first at refunds.csv row 3)"]]


def test_an_exports_unreadable_times_are_not_sent_to_a_mapping_file(tmp_path: Path) -> None:
    """No time of a Zendesk export reads: the error named `time:timestamp` and advised to
    set timestamp_format in a mapping file, which is not applied to an export. It names the
    export's field and says so; a generic file keeps the advice."""
    document = json.loads((DATA / "zendesk" / "ticket_audits.json").read_text(encoding="utf-8"))
    for audit in document["audits"]:
        audit["created_at"] = "06/07/2026 10:00"
    path = tmp_path / "ticket_audits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "--out",
                                       str(tmp_path / "log.parquet")])
    assert result.exit_code == 2
    assert f"{path}: row 1: field 'created_at': no value could be read as a timestamp in " \
           "ISO 8601, e.g. '06/07/2026 10:00' (an export's times are read as its system " \
           "writes them: a mapping file does not apply to it)" in result.output
    generic = tmp_path / "events.csv"
    generic.write_text("case,activity,time\nc1,Receive refund request,gestern\n",
                       encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(generic), "--out",
                                       str(tmp_path / "generic.parquet")])
    assert result.exit_code == 2
    assert "field 'time': no value could be read as a timestamp in ISO 8601, e.g. " \
           "'gestern'; set timestamp_format in a mapping file" in result.output


def test_a_payment_row_the_normaliser_quarantines_shows_the_exports_cell(
        tmp_path: Path) -> None:
    """The `value` of a line of the normaliser's checks was the reader's conversion, which
    the auditor does not find in the export: a Stripe amount in major units (99999999999999999999
    shown as 999999999999999999.99), a PayPal or Adyen time in UTC, a Stripe time in ISO
    8601. It is the cell's text as the export wrote it now; a time read from several columns
    their cells joined with ", " as `field` names them."""
    refunds = _repeated(DATA / "stripe" / "refunds.csv", tmp_path / "refunds.csv",
                        [(2, {"id": "re_BIG", "amount": "99999999999999999999"}),
                         (2, {"id": "re_LATE", "created": "2300-01-01 00:00:00"})])
    balance = _repeated(DATA / "stripe" / "balance_itemized.csv", tmp_path / "balance.csv",
                        [(1, {"balance_transaction_id": "txn_BIG", "source_id": "ch_BIG",
                              "charge_id": "ch_BIG", "gross": " 9999999999999999.00 "})])
    paypal = _repeated(DATA / "paypal" / "activity.csv", tmp_path / "activity.csv",
                       [(1, {"Transaction ID": "PAY_LATE", "Date": "01/07/2300"}),
                        (1, {"Transaction ID": "PAY_BIG", "Gross": "9,999,999,999,999,999.00"})])
    settlement = _repeated(DATA / "adyen" / "settlement_details.csv", tmp_path / "sd.csv",
                           [(2, {"Modification Reference": "8825850000000998",
                                 "Gross Debit (GC)": "0.00",
                                 "Gross Credit (GC)": "9999999999999999.00"}),
                            (1, {"Psp Reference": "8815850000000997",
                                 "Creation Date": "2300-07-01 10:00:00"})])
    accounting = _repeated(DATA / "adyen" / "payment_accounting.csv",
                           tmp_path / "payments_accounting_report.csv",
                           [(4, {"Psp Reference": "8816000000009999",
                                 "Booking Date": "2300-07-01 10:00:00"})])
    _, quarantine = _import(tmp_path, refunds, balance, paypal, settlement, accounting)
    normalised = quarantine[quarantine["reason"].str.startswith((TOO_LARGE, OUT_OF_RANGE))]
    zone = {name: next(csv.DictReader(io.StringIO((DATA / folder / name).read_text(
        encoding="utf-8"))))["TimeZone"] for folder, name in [
            ("paypal", "activity.csv"), ("adyen", "settlement_details.csv"),
            ("adyen", "payment_accounting.csv")]}
    paypal_time = next(csv.DictReader(io.StringIO((DATA / "paypal" / "activity.csv").read_text(
        encoding="utf-8"))))["Time"]
    assert normalised[["file", "row", "field", "value"]].values.tolist() == [
        ["refunds.csv", "6", "amount", "99999999999999999999"],
        ["refunds.csv", "7", "created", "2300-01-01 00:00:00"],
        ["balance.csv", "17", "gross", " 9999999999999999.00 "],
        ["activity.csv", "9", "Date, Time, TimeZone",
         f"01/07/2300, {paypal_time}, {zone['activity.csv']}"],
        ["activity.csv", "10", "Gross", "9,999,999,999,999,999.00"],
        ["sd.csv", "8", "Gross Credit (GC)", "9999999999999999.00"],
        ["sd.csv", "9", "Creation Date, TimeZone",
         f"2300-07-01 10:00:00, {zone['settlement_details.csv']}"],
        ["payments_accounting_report.csv", "20", "Booking Date, TimeZone",
         f"2300-07-01 10:00:00, {zone['payment_accounting.csv']}"]]


def test_a_ticket_update_the_normaliser_quarantines_shows_its_time_as_written(
        tmp_path: Path) -> None:
    """A time outside the range a timestamp holds showed the reader's conversion, which the
    auditor does not find in the export: a Jira `created` of 2300-07-06T11:00:00.000+0200
    as 2300-07-06T11:00:00+02:00, a ServiceNow `sys_created_on` (local time in a CSV
    export, UTC in a JSON pull) in UTC as ISO 8601. It is the time as the export wrote it
    now."""
    document = json.loads((DATA / "jira" / "issues.json").read_text(encoding="utf-8"))
    document["issues"][0]["changelog"]["histories"][0]["created"] = \
        "2300-07-06T11:00:00.000+0200"
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "jira").mkdir()
    _, quarantine = _import(tmp_path / "jira", path)
    assert quarantine[["row", "field", "value"]].values.tolist()[:1] == [
        ["2", "created", "2300-07-06T11:00:00.000+0200"]]

    rows = list(csv.DictReader(io.StringIO((DATA / "servicenow" / "sys_audit.csv").read_text(
        encoding="utf-8"))))
    late = [row for row in rows if row["documentkey"] == rows[0]["documentkey"]
            and row["record_checkpoint"] == "0"]
    for row in late:
        row["sys_created_on"] = "2300-07-06 09:15:00"
    exported = tmp_path / "sys_audit.csv"
    with exported.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    pulled = tmp_path / "sys_audit.json"
    pulled.write_text(json.dumps({"records": rows}), encoding="utf-8")
    # (a CSV's row counts its header, a JSON pull's record does not)
    for name, export, row in [("csv", exported, "2"), ("json", pulled, "1")]:
        (tmp_path / name).mkdir()
        _, quarantine = _import(tmp_path / name, export)
        times = quarantine[quarantine["reason"].str.startswith(OUT_OF_RANGE)]
        assert times[["row", "field", "value"]].values.tolist() == [
            [row, "sys_created_on", "2300-07-06 09:15:00"]], name


def test_a_ticket_amount_the_normaliser_quarantines_shows_it_as_stated(tmp_path: Path) -> None:
    """A ticket's amount too large showed the amount as read (`09999999999999999.00` as
    9999999999999999.00, the spaces around it dropped), not as the update stated it. It
    is the text the update states now."""
    document = json.loads((DATA / "zendesk" / "ticket_audits.json").read_text(encoding="utf-8"))
    for audit in document["audits"][3:5]:  # (audit 9004, exported twice)
        audit["events"][1]["value"] = " 09999999999999999.00 "  # (360011110006: approved)
    path = tmp_path / "ticket_audits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    _, quarantine = _import(tmp_path, path)
    assert _lines(quarantine)[:1] == [
        ["4", "360011110006", " 09999999999999999.00 ", TOO_LARGE]]

    document = json.loads((DATA / "jira" / "issues.json").read_text(encoding="utf-8"))
    document["issues"][0]["fields"]["customfield_10052"] = "09999999999999999.00"
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "jira").mkdir()
    _, quarantine = _import(tmp_path / "jira", path)
    assert _lines(quarantine)[:1] == [
        ["1", "customfield_10052", "09999999999999999.00", TOO_LARGE]]


def test_a_paypal_conversion_or_fee_row_of_a_refund_names_the_refunds_case(
        tmp_path: Path) -> None:
    """Wanda Maier refunded 9.33 EUR of Jane Doe's payment through Jira RFD-7 from a balance
    held in USD: PayPal's download books the refund, two General Currency Conversion rows
    and a Fee Reversal, each naming the refund by its Reference Txn ID. They are no events
    (quarantined), and their lines named no case, so RFD-7's findings did not count them
    and an auditor saw the conversion nowhere beside the refund; they now name RFD-7, as a
    chargeback naming the payment does. A conversion naming no transaction of the log still
    names none."""
    refund = "8UZ11111ZX432109E"
    text = (DATA / "paypal" / "activity.csv").read_text(encoding="utf-8")
    added = [
        f"08/07/2026,10:00:00,CEST,,General Currency Conversion,Completed,EUR,9.33,0.00,9.33,"
        f",,3CV00000ZX432109K,{refund},,,,,Credit",
        f"08/07/2026,10:00:00,CEST,,General Currency Conversion,Completed,USD,-10.21,0.00,"
        f"-10.21,,,3CV00000ZX432109L,{refund},,,,,Debit",
        f"08/07/2026,10:00:00,CEST,,Fee Reversal,Completed,EUR,0.35,0.00,0.35,,,"
        f"3FR00000ZX432109M,{refund},,,,,Credit",
        "08/07/2026,12:00:00,CEST,,General Currency Conversion,Completed,USD,-1.00,0.00,-1.00,"
        ",,3CV00000ZX432109N,9ZZ99999ZX432109Z,,,,,Debit"]
    path = tmp_path / "activity.csv"
    path.write_text(text + "\n".join(added) + "\n", encoding="utf-8")
    log, quarantine = _import(tmp_path, DATA / "jira" / "issues.json", path)
    assert log.loc[log[C.EVENT_ID] == f"paypal:{refund}", C.CASE].tolist() == ["RFD-7"]
    lines = quarantine[quarantine["row"].astype(int) >= 9]
    assert lines[["row", "value", "case"]].values.tolist() == [
        ["9", "General Currency Conversion", "RFD-7"],
        ["10", "General Currency Conversion", "RFD-7"],
        ["11", "Fee Reversal", "RFD-7"],
        ["12", "General Currency Conversion", ""]]
