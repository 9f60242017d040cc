"""A shop till's POS export, read as a generic CSV with a column mapping, beside the
store's back-office tickets (ServiceNow) and its card payments (Adyen): a cash refund at the
till has no record in any payment export, only the POS's. Its events naming a ticket of the
exports (or, naming none, an order one ticket names) join that ticket's refund case, so the
rules see the cash refund as the ticket's payout. Ground truth built here:

- CS1 (cash): requested, evidence, approved by the store manager, paid in cash at the till
  by a cashier: compliant (before: the ticket approved-not-paid, EV003, and the till's
  refund a case of its own paid without approval, AP001, critical).
- CS2 (cash): approved by the store manager, who paid it at the till himself: approver-pays
  (SD002), which was not seen while the refund was a case of its own.
- ORD-3: a cash refund at the till that no ticket names, of an order no ticket names: an
  orphan payout (EV002), a case of its own as before.
- CS4 (card): paid through Adyen; untouched by the POS export.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main

SN_HEADER = ["sys_id", "tablename", "documentkey", "fieldname", "oldvalue", "newvalue", "user",
             "sys_created_on", "record_checkpoint", "reason"]
ADYEN_HEADER = ["Company Account", "Merchant Account", "Psp Reference", "Merchant Reference",
                "Payment Method", "Creation Date", "TimeZone", "Type", "Modification Reference",
                "Gross Currency", "Gross Debit (GC)", "Gross Credit (GC)", "Exchange Rate",
                "Net Currency", "Net Debit (NC)", "Net Credit (NC)", "Commission (NC)", "Store",
                "Modification Merchant Reference"]
POS_HEADER = ["Store", "Till", "Receipt", "Type", "Timestamp", "Cashier", "Amount", "Currency",
              "Tender", "Order", "Ticket"]
MAPPING = """columns:
  case:concept:name: Order
  concept:name: Type
  time:timestamp: Timestamp
  org:resource: Cashier
  refund:amount: Amount
  refund:currency: Currency
  payment:method: Tender
  order:id: Order
  ticket:id: Ticket
constants:
  refund:channel: offline
timestamp_format: "%Y-%m-%d %H:%M"
assume_tz: Europe/Berlin
"""
ROLES = [["person", "login", "role", "valid_from", "valid_to"],
         ["Anna Klein", "anna.klein", "store-staff", "2026-01-01T00:00:00+00:00", ""],
         ["Mark Schulz", "mark.schulz", "store-manager", "2026-01-01T00:00:00+00:00", ""]]


def _ticket(rows: list[list[str]], number: str, order: str, amount: str, day: str) -> None:
    """A ticket requested, evidenced by the cashier and approved by the manager on `day`."""
    doc = f"doc{number}"
    steps = [("anna.klein", "10:00:00", [("number", "", number), ("u_order_number", "", order),
                                         ("u_currency", "", "EUR"), ("state", "", "1"),
                                         ("u_refund_stage", "", "requested"),
                                         ("u_requested_amount", "", amount)]),
             ("anna.klein", "10:05:00", [("u_refund_stage", "requested", "evidence_collected"),
                                         ("u_receipt", "", f"R-{number}"),
                                         ("u_photo", "", f"IMG-{number}.jpg")]),
             ("mark.schulz", "11:00:00", [("u_refund_stage", "evidence_collected", "approved"),
                                          ("u_approved_amount", "", amount)]),
             ("anna.klein", "12:00:00", [("state", "1", "3")])]
    for checkpoint, (user, time, changes) in enumerate(steps):
        for field, old, new in changes:
            rows.append([f"{doc}-{checkpoint}-{field}", "sn_customerservice_case", doc, field,
                         old, new, user, f"{day} {time}", str(checkpoint), ""])


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def _inputs(tmp_path: Path, *, named: bool = True) -> list[str]:
    """The exports, the POS export and its mapping, and the role history, as arguments:
    the exports named by their system (`import --source`), or detected (`check`)."""
    sn = [SN_HEADER]
    _ticket(sn, "CS1", "ORD-1", "59.00", "2026-07-05")
    _ticket(sn, "CS2", "ORD-2", "120.00", "2026-07-06")
    _ticket(sn, "CS4", "ORD-4", "75.00", "2026-07-07")
    adyen = [ADYEN_HEADER,
             ["R", "S", "8815000000000004", "ORD-4", "visa", "2026-07-02 13:00:00", "CEST",
              "Settled", "", "EUR", "", "75.00", "1", "EUR", "", "75.00", "", "BER-01", ""],
             ["R", "S", "8815000000000004", "ORD-4", "visa", "2026-07-07 15:00:00", "CEST",
              "Refunded", "8825000000000004", "EUR", "75.00", "", "1", "EUR", "75.00", "", "",
              "BER-01", "REFUND CS4 BY anna.klein"]]
    pos = [POS_HEADER,
           ["BER-01", "3", "R-CS1", "SALE", "2026-07-01 12:00", "anna.klein", "59.00", "EUR",
            "CASH", "ORD-1", ""],
           ["BER-01", "3", "R-9001", "REFUND", "2026-07-05 11:30", "anna.klein", "59.00", "EUR",
            "CASH", "ORD-1", "CS1"],
           ["BER-01", "1", "R-CS2", "SALE", "2026-07-02 12:00", "anna.klein", "120.00", "EUR",
            "CASH", "ORD-2", ""],
           ["BER-01", "1", "R-9002", "REFUND", "2026-07-06 11:15", "mark.schulz", "120.00",
            "EUR", "CASH", "ORD-2", "CS2"],
           ["MUC-02", "2", "R-3", "SALE", "2026-07-03 12:00", "anna.klein", "300.00", "EUR",
            "CASH", "ORD-3", ""],
           ["MUC-02", "2", "R-9003", "REFUND", "2026-07-09 17:45", "anna.klein", "300.00", "EUR",
            "CASH", "ORD-3", ""]]
    (tmp_path / "pos.yaml").write_text(MAPPING, encoding="utf-8")
    files = [("servicenow", _write(tmp_path / "sys_audit.csv", sn)),
             ("adyen", _write(tmp_path / "settlement.csv", adyen)),
             ("roles", _write(tmp_path / "roles.csv", ROLES))]
    exports = ([arg for system, path in files for arg in ("--source", f"{system}:{path}")]
               if named else [str(path) for _, path in files])
    return [*exports, str(_write(tmp_path / "pos_export.csv", pos)),
            "--mapping", str(tmp_path / "pos.yaml"), "--assume-tz", "Europe/Berlin"]


POLICY_EDITS = {
    "  Close ticket: {control: close}\n":
        "  Close ticket: {control: close}\n  SALE: {control: purchase}\n"
        "  REFUND: {control: pay, sop_task: Execute payout}\n",
    "  approve: [supervisor, finance]": "  approve: [store-manager, supervisor, finance]",
    "performers:\n  reject: [supervisor, finance]":
        "performers:\n  reject: [store-manager]\n  request: [store-staff]\n"
        "  evidence: [store-staff]\n  close: [store-staff]\n  notify: [store-staff]\n"
        "  pay: [store-staff, store-manager]",
}


def _policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    assert CliRunner().invoke(main, ["policy", "init", str(path)]).exit_code == 0
    text = path.read_text(encoding="utf-8").replace("# as_of: 2026-10-15T00:00:00Z",
                                                     "as_of: 2026-08-01T00:00:00Z")
    for old, new in POLICY_EDITS.items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


def test_pos_events_join_the_ticket_cases_they_name(tmp_path: Path) -> None:
    out = tmp_path / "w" / "log.parquet"
    result = CliRunner().invoke(main, ["import", *_inputs(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    log = pd.read_parquet(out)
    pos = log[log[C.SOURCE_FILE] == "pos_export.csv"]
    case_of = dict(zip(pos[C.SOURCE_ROW].astype(int), pos[C.CASE].astype(str), strict=True))
    # the cash sales (by their order) and refunds (by their ticket) of CS1 and CS2 in the
    # tickets' cases; the till's refund no ticket names, of an order none names, apart
    assert case_of == {2: "CS1", 3: "CS1", 4: "CS2", 5: "CS2", 6: "ORD-3", 7: "ORD-3"}
    assert sorted(log[C.CASE].astype(str).unique()) == ["CS1", "CS2", "CS4", "ORD-3"]
    # the exports' events keep their cases; the POS rows keep what they stated
    assert set(log.loc[log[C.SOURCE_SYSTEM] == "adyen", C.CASE].astype(str)) == {"CS4"}
    assert pos.loc[pos[C.SOURCE_ROW].astype(int) == 2, C.TICKET_ID].isna().all()
    assert ("pos_export.csv: 4 event(s) of this generic log joined the refund case of a "
            "ticket of the exports (2 by the ticket they name, 2 by the order they name, "
            "which one ticket names; the first: row 2, SALE, into CS1)") in result.output


def test_cash_refund_at_the_till_is_the_tickets_payout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", *_inputs(tmp_path, named=False), "--policy",
                                       str(_policy(tmp_path)), "--out", str(out),
                                       "--format", "json"])
    assert result.exit_code == 1, result.output  # (findings at or above high)
    found = {(f["case_id"], f["name"])
             for f in json.loads((out / "findings.json").read_text())["findings"]
             if not f["rule"].startswith("CF")}
    assert found == {("CS2", "approver-pays"), ("ORD-3", "orphan-payout")}


def test_refund_at_another_store_than_the_sale_is_told(tmp_path: Path) -> None:
    """Adyen's Settlement details report names the store of each row (`Store`): that of
    the sale is read as its terminal, that of the refund is no column of its event, so a
    refund made at another store than the sale was seen nowhere. The import's notes say
    how many, naming the first; a refund at the sale's store (in any letter case), a
    reversed one, and one whose sale the report does not hold are not counted."""
    rows = [ADYEN_HEADER]

    def row(psp: str, kind: str, when: str, store: str, ref: str = "") -> None:
        amounts = ["", "10.00"] if kind == "Settled" else ["10.00", ""]
        rows.append(["R", "S", psp, f"O-{psp[-2:]}", "visa", when, "CEST", kind, ref, "EUR",
                     *amounts, "1", "EUR", *amounts, "", store,
                     f"REFUND T{psp[-2:]} BY anna.klein" if ref else ""])

    row("8815000000000011", "Settled", "2026-07-01 10:00:00", "BER-01")
    row("8815000000000011", "Refunded", "2026-07-02 10:00:00", "MUC-02", "8825000000000011")
    row("8815000000000012", "Settled", "2026-07-01 11:00:00", "BER-01")
    row("8815000000000012", "Refunded", "2026-07-02 11:00:00", "ber-01", "8825000000000012")
    row("8815000000000013", "Settled", "2026-07-01 12:00:00", "BER-01")
    row("8815000000000013", "RefundedReversed", "2026-07-02 12:00:00", "HAM-03",
        "8825000000000013")
    row("8815000000000014", "Refunded", "2026-07-02 13:00:00", "HAM-03", "8825000000000014")
    row("8815000000000015", "Settled", "2026-07-01 14:00:00", "HAM-03")
    row("8815000000000015", "Refunded", "2026-07-03 14:00:00", "BER-01", "8825000000000015")
    export = _write(tmp_path / "settlement.csv", rows)
    result = CliRunner().invoke(main, ["import", "--source", f"adyen:{export}", "--out",
                                       str(tmp_path / "log.parquet")])
    assert result.exit_code == 0, result.output
    assert ("settlement.csv: 2 refunds made at another store than their payment's sale "
            "(Store of the Refunded row against the Settled row's; the first: row 3, "
            "refund 8825000000000011 of payment 8815000000000011, sold at BER-01, refunded "
            "at MUC-02); no rule judges where a refund was made") in result.output
    # the sample's report names no store on its refunds: no such note
    sample = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "exports"
    result = CliRunner().invoke(main, ["import", "--source",
                                       f"adyen:{sample / 'adyen_settlement_details.csv'}",
                                       "--out", str(tmp_path / "sample.parquet")])
    assert result.exit_code == 0, result.output
    assert "another store" not in result.output


def _check(tmp_path: Path, tickets: list[tuple[str, str, str, str]],
           adyen: list[list[str]], pos: list[list[str]]) -> dict[str, object]:
    """`check` of ServiceNow tickets, Adyen rows (if any) and a POS export: findings.json."""
    sn = [SN_HEADER]
    for ticket in tickets:
        _ticket(sn, *ticket)
    files = [str(_write(tmp_path / "sys_audit.csv", sn)),
             str(_write(tmp_path / "roles.csv", ROLES))]
    if adyen:
        files.append(str(_write(tmp_path / "settlement.csv", [ADYEN_HEADER, *adyen])))
    (tmp_path / "pos.yaml").write_text(MAPPING, encoding="utf-8")
    files.append(str(_write(tmp_path / "pos_export.csv", [POS_HEADER, *pos])))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", *files, "--mapping", str(tmp_path / "pos.yaml"),
                                       "--assume-tz", "Europe/Berlin", "--policy",
                                       str(_policy(tmp_path)), "--out", str(out),
                                       "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    doc: dict[str, object] = json.loads((out / "findings.json").read_text())
    return doc


def _found(doc: dict[str, object]) -> set[tuple[str, str]]:
    findings = doc["findings"]
    assert isinstance(findings, list)
    return {(f["case_id"], f["name"]) for f in findings if not f["rule"].startswith("CF")}


SPLIT_TENDER = [  # ORD-1 sold for 100.00 by card; 41.00 refunded to the card, no ticket named
    ["R", "S", "8815000000000001", "ORD-1", "visa", "2026-07-01 13:00:00", "CEST", "Settled",
     "", "EUR", "", "100.00", "1", "EUR", "", "100.00", "", "BER-01", ""],
    ["R", "S", "8815000000000001", "ORD-1", "visa", "2026-07-05 15:00:00", "CEST", "Refunded",
     "8825000000000001", "EUR", "41.00", "", "1", "EUR", "41.00", "", "", "BER-01", ""]]


def test_till_refund_naming_the_ticket_leaves_a_card_refund_in_its_case(
        tmp_path: Path) -> None:
    """Ticket CS1 of ORD-1 (100.00) paid 41.00 to the card (Adyen, naming no ticket) and
    59.00 in cash at the till (naming CS1). Whether the till's row names the ticket or only
    the order, the card refund is CS1's (the only ticket of its order). Before, a till row
    naming CS1 was read, in its own case ORD-1, as an earlier case of ticket CS1's order:
    the card refund became a payout case of its own (orphan payout EV002, missing resource
    DQ002) and CS1 an amount mismatch (EV004)."""
    named, unnamed = tmp_path / "named", tmp_path / "unnamed"
    named.mkdir()
    unnamed.mkdir()
    till = ["BER-01", "3", "R-9001", "REFUND", "2026-07-05 11:30", "anna.klein", "59.00",
            "EUR", "CASH", "ORD-1"]
    ticket = [("CS1", "ORD-1", "100.00", "2026-07-05")]
    found = _found(_check(named, ticket, SPLIT_TENDER, [[*till, "CS1"]]))
    assert found == _found(_check(unnamed, ticket, SPLIT_TENDER, [[*till, ""]]))
    assert {case for case, _ in found} == {"CS1"}
    assert not {name for _, name in found} & {"orphan-payout", "amount-mismatch"}


def _adyen_row(psp: str, kind: str, store: str, ref: str = "", debit: str = "10.00",
               credit: str = "") -> list[str]:
    amounts = ["", "10.00"] if kind == "Settled" else [debit, credit]
    day = "2026-07-01 10:00:00" if kind == "Settled" else "2026-07-02 10:00:00"
    return ["R", "S", psp, f"O-{psp[-4:]}", "visa", day, "CEST", kind, ref, "EUR", *amounts,
            "1", "EUR", *amounts, "", store, f"REFUND T{psp[-4:]} BY anna.klein" if ref else ""]


def test_refunds_at_another_store_count_each_imported_refund_once(tmp_path: Path) -> None:
    """A refund's exact repeat row (dropped) and refunds quarantined (an amount on both
    sides, an unreadable amount) are no refunds of the log: the note counts the one refund
    imported. Before, it counted 4 (its rows). A count of thousands is grouped."""
    rows = [ADYEN_HEADER,
            _adyen_row("8815000000000011", "Settled", "BER-01"),
            _adyen_row("8815000000000011", "Refunded", "MUC-02", "8825000000000011"),
            _adyen_row("8815000000000011", "Refunded", "MUC-02", "8825000000000011"),
            _adyen_row("8815000000000012", "Settled", "BER-01"),
            _adyen_row("8815000000000012", "Refunded", "MUC-02", "8825000000000012",
                       credit="5.00"),
            _adyen_row("8815000000000013", "Settled", "BER-01"),
            _adyen_row("8815000000000013", "Refunded", "MUC-02", "8825000000000013",
                       debit="abc")]
    export = _write(tmp_path / "settlement.csv", rows)
    result = CliRunner().invoke(main, ["import", "--source", f"adyen:{export}", "--out",
                                       str(tmp_path / "log.parquet")])
    assert result.exit_code == 0, result.output
    assert "quarantined 2 + 1 duplicate dropped" in result.output
    assert ("settlement.csv: 1 refund made at another store than their payment's sale "
            "(Store of the Refunded row against the Settled row's; the first: row 3, "
            "refund 8825000000000011") in result.output
    many = [ADYEN_HEADER]
    for k in range(1000):
        many += [_adyen_row(f"88150000000{k:05d}", "Settled", "BER-01"),
                 _adyen_row(f"88150000000{k:05d}", "Refunded", "MUC-02",
                            f"88250000000{k:05d}")]
    export = _write(tmp_path / "many.csv", many)
    result = CliRunner().invoke(main, ["import", "--source", f"adyen:{export}", "--out",
                                       str(tmp_path / "many.parquet")])
    assert result.exit_code == 0, result.output
    assert "many.csv: 1,000 refunds made at another store" in result.output


def _import(tmp_path: Path, tickets: list[tuple[str, str, str, str]],
            pos: list[list[str]]) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """`import` of ServiceNow tickets and a POS export: the output, log, quarantine and
    correlation problems."""
    sn = [SN_HEADER]
    for ticket in tickets:
        _ticket(sn, *ticket)
    (tmp_path / "pos.yaml").write_text(MAPPING, encoding="utf-8")
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(main, [
        "import", "--source", f"servicenow:{_write(tmp_path / 'sys_audit.csv', sn)}",
        str(_write(tmp_path / "pos_export.csv", [POS_HEADER, *pos])),
        "--mapping", str(tmp_path / "pos.yaml"), "--assume-tz", "Europe/Berlin",
        "--out", str(out)])
    assert result.exit_code == 0, result.output

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False)

    return (result.output, pd.read_parquet(out), read("log.quarantine.csv"),
            read("log.correlation.csv"))


def test_a_quarantined_till_row_names_the_case_its_events_joined(tmp_path: Path) -> None:
    """The till's sale of ORD-1 joins ticket CS1 (the order's only ticket); the till's
    refund of ORD-1 is quarantined (its amount unread). Its line names CS1, the case of
    ORD-1's events now, and check counts it in CS1's quarantined rows. Before, it named
    ORD-1, a case that no longer was (CS1 counted none). The join's note, with no event
    of the file left in its own case, says nothing of others."""
    pos = [["BER-01", "3", "R-CS1", "SALE", "2026-07-01 12:00", "anna.klein", "59.00", "EUR",
            "CASH", "ORD-1", ""],
           ["BER-01", "3", "R-9001", "REFUND", "2026-07-05 11:30", "anna.klein", "5x9.00",
            "EUR", "CASH", "ORD-1", "CS1"]]
    ticket = [("CS1", "ORD-1", "59.00", "2026-07-05")]
    output, _, quarantine, _ = _import(tmp_path, ticket, pos)
    assert quarantine[["file", "row", "field", "case"]].values.tolist() == [
        ["pos_export.csv", "3", "Amount", "CS1"]]
    assert ("pos_export.csv: 1 event(s) of this generic log joined the refund case of a "
            "ticket of the exports (1 by the order they name, which one ticket names; the "
            "first: row 2, SALE, into CS1)\n") in output
    check = tmp_path / "check"
    check.mkdir()
    doc = _check(check, ticket, [], pos)
    findings = doc["findings"]
    assert isinstance(findings, list) and findings
    assert {f["case_id"]: f["case_quarantined_rows"] for f in findings} == {"CS1": 1}


def test_a_sale_of_an_order_two_tickets_name_joins_both(tmp_path: Path) -> None:
    """ORD-5 sold at the till for 50.00; tickets CS5 and CS6 both name it, and the till's
    two cash refunds name each ticket. The sale is in both cases (a copy in CS6, its id
    suffixed with the case, counted as a repeated event), so neither ticket lacks its
    purchase. Before, the sale stayed a case of its own and both tickets were flagged
    no-prior-purchase (EV007)."""
    tickets = [("CS5", "ORD-5", "30.00", "2026-07-05"), ("CS6", "ORD-5", "20.00", "2026-07-06")]
    pos = [["BER-01", "3", "R-5", "SALE", "2026-07-01 12:00", "anna.klein", "50.00", "EUR",
            "CASH", "ORD-5", ""],
           ["BER-01", "3", "R-9005", "REFUND", "2026-07-05 11:30", "anna.klein", "30.00",
            "EUR", "CASH", "ORD-5", "CS5"],
           ["BER-01", "3", "R-9006", "REFUND", "2026-07-06 11:30", "anna.klein", "20.00",
            "EUR", "CASH", "ORD-5", "CS6"]]
    output, log, _, _ = _import(tmp_path, tickets, pos)
    sales = log[log[C.ACTIVITY] == "SALE"]
    assert sorted(sales[C.CASE].astype(str)) == ["CS5", "CS6"]
    ids = dict(zip(sales[C.CASE].astype(str), sales[C.EVENT_ID].astype(str), strict=True))
    assert ids["CS6"] == ids["CS5"] + "@CS6"
    assert "3 records imported -> 4 events, 1 of them" in output
    assert sorted(log[C.CASE].astype(str).unique()) == ["CS5", "CS6"]
    check = tmp_path / "check"
    check.mkdir()
    assert not {name for _, name in _found(_check(check, tickets, [], pos))} \
        & {"no-prior-purchase"}


def test_a_till_row_naming_an_unknown_ticket_is_a_correlation_problem(tmp_path: Path) -> None:
    """A till refund naming ticket cs1 (the export's is CS1) stays a case of its own, as
    before, and is now listed among the correlation problems, naming the ticket written
    alike. Before, it stayed apart without a word."""
    output, log, _, problems = _import(
        tmp_path, [("CS1", "ORD-1", "59.00", "2026-07-05")],
        [["BER-01", "3", "R-9001", "REFUND", "2026-07-05 11:30", "anna.klein", "59.00", "EUR",
          "CASH", "ORD-1X", "cs1"],
         ["BER-01", "3", "R-7", "SALE", "2026-07-01 11:30", "anna.klein", "9.00", "EUR",
          "CASH", "ORD-7", ""]])
    assert problems[["file", "row", "field", "value"]].values.tolist() == [
        ["pos_export.csv", "2", "ticket:id", "cs1"]]
    assert "ticket CS1 is written alike" in problems["reason"].iloc[0]
    assert ("pos_export.csv: 1 event of this generic log naming a ticket no ticketing "
            "export contains, kept in their own cases") in output
    assert set(log[C.CASE].astype(str)) == {"CS1", "ORD-1X", "ORD-7"}


def test_a_months_run_reads_the_till_export_imported_alone(tmp_path: Path) -> None:
    """docs/sources.md's month's run: `--mapping` applies to the earlier log too, so the
    till export given beside it with its mapping is refused (exit 2, naming the log); the
    till export imported alone first, its log beside the earlier log and the new exports
    joins the ticket its refund names (CS1, June's)."""
    june, july = [SN_HEADER], [SN_HEADER]
    _ticket(june, "CS1", "ORD-1", "59.00", "2026-06-30")
    _ticket(july, "CS2", "ORD-2", "20.00", "2026-07-06")
    (tmp_path / "pos.yaml").write_text(MAPPING, encoding="utf-8")
    pos = _write(tmp_path / "pos_export.csv", [POS_HEADER, [
        "BER-01", "3", "R-9001", "REFUND", "2026-07-01 11:30", "anna.klein", "59.00", "EUR",
        "CASH", "ORD-1", "CS1"]])
    runner = CliRunner()

    def imported(*args: str) -> str:
        result = runner.invoke(main, ["import", *args, "--assume-tz", "Europe/Berlin"])
        assert result.exit_code == 0, result.output
        return result.output

    imported("--source", f"servicenow:{_write(tmp_path / 'june.csv', june)}",
             "--out", str(tmp_path / "june.parquet"))
    refused = runner.invoke(main, [
        "import", str(tmp_path / "june.parquet"), str(pos), "--mapping",
        str(tmp_path / "pos.yaml"), "--assume-tz", "Europe/Berlin", "--out",
        str(tmp_path / "refused.parquet")])
    assert refused.exit_code == 2
    assert "june.parquet: field 'case:concept:name': mapping names column 'Order'" \
        in refused.output
    imported(str(pos), "--mapping", str(tmp_path / "pos.yaml"),
             "--out", str(tmp_path / "pos.parquet"))
    output = imported(str(tmp_path / "june.parquet"), str(tmp_path / "pos.parquet"),
                      "--source", f"servicenow:{_write(tmp_path / 'july.csv', july)}",
                      "--out", str(tmp_path / "july.parquet"))
    assert "1 by the ticket they name; the first: row 2, REFUND, into CS1)" in output
    log = pd.read_parquet(tmp_path / "july.parquet")
    till = log[log[C.SOURCE_FILE] == "pos_export.csv"]
    assert till[C.CASE].astype(str).tolist() == ["CS1"]
    assert sorted(log[C.CASE].astype(str).unique()) == ["CS1", "CS2"]


def test_a_quarantined_till_row_names_the_ticket_it_names(tmp_path: Path) -> None:
    """The till's refund naming CS1 is quarantined (its amount unread), and no other event
    of its case (ORD-1) is read: its line names CS1, the case the row would have joined.
    Before, it named ORD-1, a case of no event."""
    _, log, quarantine, _ = _import(tmp_path, [("CS1", "ORD-1", "59.00", "2026-07-05")], [
        ["BER-01", "3", "R-9001", "REFUND", "2026-07-05 11:30", "anna.klein", "5x9.00", "EUR",
         "CASH", "ORD-1", "CS1"],
        ["BER-01", "3", "R-9", "SALE", "2026-07-01 11:30", "anna.klein", "9.00", "EUR", "CASH",
         "ORD-9", ""]])
    assert quarantine[["file", "row", "field", "case"]].values.tolist() == [
        ["pos_export.csv", "2", "Amount", "CS1"]]
    assert sorted(log[C.CASE].astype(str).unique()) == ["CS1", "ORD-9"]
