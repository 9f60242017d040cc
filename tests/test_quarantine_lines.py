"""The quarantine's lines name what an auditor needs to find the row: its file, row, the
export's column, the value and the case it belongs to.

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
    assert written.read_text(encoding="utf-8").startswith("file,row,field,value,reason,case\n")
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
    approval was lost that way did not show it)."""
    document = json.loads((DATA / "zendesk" / "ticket_audits.json").read_text(encoding="utf-8"))
    audits = document["audits"]
    again = json.loads(json.dumps(next(a for a in audits if a["id"] == 9002)))
    again["events"][0]["value"] = "rejected"
    audits.append(again)
    path = tmp_path / "ticket_audits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    _, quarantine = _import(tmp_path, path)
    assert _conflicts(quarantine) == [
        ["ticket_audits.json", str(len(audits)), "id", "zendesk:101:9002", "101"]]


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
    assert _conflicts(quarantine) == [["events.jsonl", "7", "id", "zendesk:301:9304", "301"]]


def test_a_conflicting_jira_issue_names_its_issue(tmp_path: Path) -> None:
    """An issue given again (pages of a search that overlap) with other fields: its
    creation is a conflict, whose line names the issue's key as its case."""
    document = json.loads((DATA / "jira" / "issues.json").read_text(encoding="utf-8"))
    again = json.loads(json.dumps(document["issues"][0]))
    assert again["key"] == "RFD-7"
    again["fields"]["customfield_10052"] = "29.99"
    document["issues"].append(again)
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    _, quarantine = _import(tmp_path, path)
    conflicts = _conflicts(quarantine)
    assert [line[2:] for line in conflicts] == [["id", "jira:RFD-7:created", "RFD-7"]]


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
        ["refunds.csv", "6", "id", "stripe:re_3PR2002", "101"],
        ["charges.csv", "6", "id", "stripe:ch_3PQ1001", charge_case]]


def test_a_conflicting_stripe_balance_row_names_its_case(tmp_path: Path) -> None:
    """The balance report: a charge row given again under its balance transaction names
    the case its charge is in; a fee given again names none (no refund case holds it)."""
    balance = _repeated(DATA / "stripe" / "balance_itemized.csv", tmp_path / "balance.csv",
                        [(1, {"description": "other"}), (6, {"description": "other"})])
    log, quarantine = _import(tmp_path, balance)
    charge_case = _case_of(log, "stripe:ch_3PQ1001")
    assert charge_case
    assert _conflicts(quarantine) == [
        ["balance.csv", "17", "id", "stripe-balance:txn_3PT0001", charge_case],
        ["balance.csv", "18", "id", "stripe-balance:txn_3PT0006", ""]]


def test_a_conflicting_paypal_row_names_its_case(tmp_path: Path) -> None:
    """A refund given again names the ticket of its Custom Number; a payment the case its
    refund is in; a withdrawal none."""
    activity = _repeated(DATA / "paypal" / "activity.csv", tmp_path / "activity.csv",
                         [(1, {"Name": "Jane Roe"}), (2, {"Note": "someone else"}),
                          (5, {"Name": "Bank"})])
    log, quarantine = _import(tmp_path, activity)
    charge_case = _case_of(log, "paypal:4SX12345AB678901C")
    assert charge_case
    assert [line[3:] for line in _conflicts(quarantine)] == [
        ["paypal:4SX12345AB678901C", charge_case], ["paypal:7TY98765ZX432109D", "RFD-7"],
        ["paypal:9AB00000ZX432109F", ""]]


def test_a_conflicting_adyen_row_names_its_case(tmp_path: Path) -> None:
    """The Settlement details report and the Payment accounting report: a refund given
    again names the ticket of its reference, a sale the case its payment is in."""
    settlement = _repeated(DATA / "adyen" / "settlement_details.csv",
                           tmp_path / "settlement_details.csv",
                           [(1, {"Store": "pos-terminal-99"}),
                            (2, {"Merchant Account": "StoresIE"})])
    log, quarantine = _import(tmp_path, settlement)
    sale_case = _case_of(log, "adyen:8815850000000001:settled")
    assert sale_case
    assert [line[3:] for line in _conflicts(quarantine)] == [
        ["adyen:8815850000000001:settled", sale_case],
        ["adyen:8825850000000002:refunded", "CS0000042"]]
    accounting = _repeated(DATA / "adyen" / "payment_accounting.csv",
                           tmp_path / "payments_accounting_report.csv",
                           [(4, {"User Name": "someone"}), (6, {"User Name": "someone"})])
    (tmp_path / "accounting").mkdir()
    log, quarantine = _import(tmp_path / "accounting", accounting)
    sale_case = _case_of(log, "adyen:8816000000000101:settled")
    assert sale_case
    assert [line[3:] for line in _conflicts(quarantine)] == [
        ["adyen:8816000000000101:settled", sale_case],
        ["adyen:8826000000000102:refunded", "CS0000042"]]
