"""A record whose event id the import finds in another input with other content (two
exports of overlapping date ranges): its quarantine line names the export's column(s) the
reader read the id from and their cells as the export wrote them, by which an auditor finds
the row in the export; the reason names the event id, by which the canonical log holds the
kept event. Before, every such line named the field `id` and the reader's id
(`stripe:re_3PR2002`, `zendesk:101:9002`, `jira:RFD-7:created`), which is in no export.

Each test imports a bundled test export (`tests/data/sources`) beside a copy of it in
another folder with some records changed, and reads the lines of the repeated ids.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from audit.cli import main
from audit.ingest import import_sources, read_raw

DATA = Path(__file__).parent / "data" / "sources"
REPEATED = "duplicate event id "


def _csv(source: Path, path: Path, edits: dict[int, dict[str, str]],
         drop: str | None = None) -> Path:
    """`source` (a CSV export) written to `path` with the cells of its data rows (1 = the
    first) given changed, and the column `drop` left out."""
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"))))
    header = rows[0]
    for number, cells in edits.items():
        for column, value in cells.items():
            rows[number][header.index(column)] = value
    if drop is not None:
        at = header.index(drop)
        rows = [row[:at] + row[at + 1:] for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def _json(document: object, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _repeats(inputs: list[tuple[Path, str]], workers: int | None = 1) -> list[list[object]]:
    """(file, row, field, value, reason) of each line of a repeated event id."""
    result = import_sources(list(inputs), workers=workers)
    lines: pd.DataFrame = result.quarantine
    lines = lines[lines["reason"].astype(str).str.startswith(REPEATED)]
    return lines[["file", "row", "field", "value", "reason"]].values.tolist()


def test_stripe_ids_name_the_id_column_and_the_cell_as_written(tmp_path: Path) -> None:
    """A refund and a charge exported again with other amounts (the refund's id written
    with spaces around it, which the id drops: the cell as written), each file read in a
    worker process of its own (what the lines are made of crosses processes)."""
    refunds = _csv(DATA / "stripe" / "refunds.csv", tmp_path / "a" / "refunds.csv", {})
    later = _csv(DATA / "stripe" / "refunds.csv", tmp_path / "b" / "refunds.csv",
                 {2: {"id": " re_3PR2002 ", "amount": "4000"}})
    charges = _csv(DATA / "stripe" / "charges.csv", tmp_path / "a" / "charges.csv", {})
    again = _csv(DATA / "stripe" / "charges.csv", tmp_path / "b" / "charges.csv",
                 {1: {"amount": "4000"}})
    inputs = [(refunds, "stripe"), (later, "stripe"), (charges, "stripe"), (again, "stripe")]
    expected = [
        ["b/refunds.csv", 3, "id", " re_3PR2002 ",
         "duplicate event id stripe:re_3PR2002 (first at a/refunds.csv row 3)"],
        ["b/charges.csv", 2, "id", "ch_3PQ1001",
         "duplicate event id stripe:ch_3PQ1001 (first at a/charges.csv row 2)"]]
    assert _repeats(inputs) == expected
    assert _repeats(inputs, workers=2) == expected


def test_stripe_balance_ids_name_the_source_and_a_failures_category(tmp_path: Path) -> None:
    """The balance report: a charge's event id is its `source_id`; a refund failure's,
    read where its refund is in an earlier report, is its refund's and its category
    (`stripe:re_...:refund_failure`): both cells, the category as the report writes it."""
    source = DATA / "stripe" / "balance_itemized.csv"
    rows = source.read_text(encoding="utf-8").splitlines(keepends=True)
    # The header, the charge txn_3PT0001 and the refund failure txn_3PT0005 (its refund's
    # row, txn_3PT0004, in an earlier report).
    part = _written(tmp_path / "part.csv", rows[0] + rows[1] + rows[5])
    first = _csv(part, tmp_path / "a" / "balance.csv", {})
    later = _csv(part, tmp_path / "b" / "balance.csv",
                 {1: {"gross": "48.90"}, 2: {"created_utc": "2026-07-09 07:00:00"}})
    written = _csv(part, tmp_path / "c" / "balance.csv",
                   {2: {"created_utc": "2026-07-09 08:00:00",
                        "reporting_category": "Refund_Failure"}})
    assert _repeats([(first, "stripe"), (later, "stripe"), (written, "stripe")]) == [
        ["b/balance.csv", 2, "source_id", "ch_3PQ1001",
         "duplicate event id stripe:ch_3PQ1001 (first at a/balance.csv row 2)"],
        ["b/balance.csv", 3, "source_id, reporting_category", "re_3PR2003, refund_failure",
         "duplicate event id stripe:re_3PR2003:refund_failure (first at a/balance.csv row 3)"],
        ["c/balance.csv", 3, "source_id, reporting_category", "re_3PR2003, Refund_Failure",
         "duplicate event id stripe:re_3PR2003:refund_failure (first at a/balance.csv row 3)"]]


def _written(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_paypal_ids_name_the_transaction_id(tmp_path: Path) -> None:
    source = DATA / "paypal" / "activity.csv"
    first = _csv(source, tmp_path / "a" / "activity.csv", {})
    later = _csv(source, tmp_path / "b" / "activity.csv",
                 {1: {"Gross": "18.99", "Transaction ID": "4SX12345AB678901C\t"}})
    assert _repeats([(first, "paypal"), (later, "paypal")]) == [
        ["b/activity.csv", 2, "Transaction ID", "4SX12345AB678901C\t",
         "duplicate event id paypal:4SX12345AB678901C (first at a/activity.csv row 2)"]]


def test_adyen_ids_name_the_reference_and_the_type_as_written(tmp_path: Path) -> None:
    """A sale's id is its Psp Reference and type; a refund's its modification's reference
    and type: the Settlement details' `Modification Reference`, the Payment accounting
    report's `Modification Psp Reference`. The type as written (`Settled`, `REFUNDED`),
    not as the id holds it (`settled`)."""
    source = DATA / "adyen" / "settlement_details.csv"
    first = _csv(source, tmp_path / "a" / "settlement_details.csv", {})
    later = _csv(source, tmp_path / "b" / "settlement_details.csv",
                 {1: {"Gross Credit (GC)": "110.00"},
                  2: {"Gross Debit (GC)": "110.00", "Type": "REFUNDED"}})
    assert _repeats([(first, "adyen"), (later, "adyen")]) == [
        ["b/settlement_details.csv", 2, "Psp Reference, Type", "8815850000000001, Settled",
         "duplicate event id adyen:8815850000000001:settled "
         "(first at a/settlement_details.csv row 2)"],
        ["b/settlement_details.csv", 3, "Modification Reference, Type",
         "8825850000000002, REFUNDED", "duplicate event id adyen:8825850000000002:refunded "
         "(first at a/settlement_details.csv row 3)"]]
    source = DATA / "adyen" / "payment_accounting.csv"
    first = _csv(source, tmp_path / "a" / "accounting.csv", {})
    later = _csv(source, tmp_path / "b" / "accounting.csv",
                 {4: {"Main Amount": "110.00"}, 6: {"Main Amount": "-110.00"},
                  7: {"Booking Date": "2026-07-02 10:00:00", "Record Type": " Settled"}})
    assert [line[:4] for line in _repeats([(first, "adyen"), (later, "adyen")])] == [
        ["b/accounting.csv", 5, "Psp Reference, Record Type", "8816000000000101, Settled"],
        ["b/accounting.csv", 7, "Modification Psp Reference, Record Type",
         "8826000000000102, Refunded"],
        ["b/accounting.csv", 8, "Psp Reference, Record Type", "8816000000000201,  Settled"]]


def test_adyen_sales_stating_a_modification_reference_are_named_by_it(
        tmp_path: Path) -> None:
    """A settlement details report may give a sale (`Settled`) a `Modification Reference`
    (the capture's): the reader's id is then that reference, and the line names that
    column. Such rows are kept as row numbers, not as each record's cells (before: a
    report whose every sale states one held a cell pair per row, about 1.3 s and 37 MB
    to send back from a worker for a million rows)."""
    from audit.ingest import _read_one

    source = DATA / "adyen" / "settlement_details.csv"
    capture = {1: {"Modification Reference": "8835850000000009"}}
    first = _csv(source, tmp_path / "a" / "settlement_details.csv", capture)
    later = _csv(source, tmp_path / "b" / "settlement_details.csv",
                 {1: {"Modification Reference": "8835850000000009",
                      "Gross Credit (GC)": "110.00"}})
    assert _repeats([(first, "adyen"), (later, "adyen")]) == [
        ["b/settlement_details.csv", 2, "Modification Reference, Type",
         "8835850000000009, Settled", "duplicate event id adyen:8835850000000009:settled "
         "(first at a/settlement_details.csv row 2)"]]
    one = _read_one((first, "adyen"), mapping=None, assume_tz=None,  # type: ignore[arg-type]
                    encoding=None, object_type=None, sources_config=None, hash_now=False)
    assert one.id_cells is not None and one.id_cells.written == {}
    # (row 5: the report's merchant payout, which states no reference at all)
    assert one.id_cells.other_rows is not None and one.id_cells.other_rows.tolist() == [2, 5]


def test_zendesk_ids_name_the_ticket_id_and_the_audits_id(tmp_path: Path) -> None:
    """An audit's record id `zendesk:<ticket_id>:<id>`: both fields; one stating no id
    (`zendesk:<ticket_id>:row<N>`, its place in the file) names its ticket_id alone."""
    document = json.loads((DATA / "zendesk" / "ticket_audits.json").read_text(encoding="utf-8"))
    unnamed = [a for a in document["audits"] if a["id"] == 9006]
    del unnamed[0]["id"]
    first = _json(document, tmp_path / "a" / "ticket_audits.json")
    for audit in document["audits"]:
        if audit.get("id") in (9002, None):
            audit["author_id"] = 999
    later = _json(document, tmp_path / "b" / "ticket_audits.json")
    assert [line[:4] for line in _repeats([(first, "zendesk"), (later, "zendesk")])] == [
        ["b/ticket_audits.json", 2, "ticket_id, id", "101, 9002"],
        ["b/ticket_audits.json", 7, "ticket_id", "101"]]


def test_jira_ids_name_the_key_and_the_historys_id(tmp_path: Path) -> None:
    """A history's record id `jira:<key>:<id>`: the issue's key and the history's id; the
    issue's creation, `jira:<key>:created` (made by the reader), its key."""
    document = json.loads((DATA / "jira" / "issues.json").read_text(encoding="utf-8"))
    first = _json(document, tmp_path / "a" / "issues.json")
    issue = document["issues"][0]
    issue["fields"]["reporter"] = {"displayName": "Someone Else"}
    issue["changelog"]["histories"][1]["author"] = {"displayName": "Someone Else"}
    later = _json(document, tmp_path / "b" / "issues.json")
    assert _repeats([(first, "jira"), (later, "jira")]) == [
        ["b/issues.json", 1, "key", "RFD-7",
         "duplicate event id jira:RFD-7:created (first at a/issues.json row 1)"],
        ["b/issues.json", 3, "key, changelog.histories.id", "RFD-7, 10002",
         "duplicate event id jira:RFD-7:10002 (first at a/issues.json row 3)"]]


def _log(export: Path, fmt: str, path: Path) -> Path:
    """The canonical log `refund-audit import` writes of `export`."""
    result = CliRunner().invoke(main, ["import", str(export),
                                       "--format", fmt, "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_servicenow_ids_name_the_record_and_its_update(tmp_path: Path) -> None:
    """An update's record id: the record's `documentkey` and its `record_checkpoint` (the
    documentkey as written: spaces around it); an export without checkpoints, the
    update's `sys_created_on` and `user`. (An update read again with other rows in another
    export is joined as one cut in two by paging: last month's log beside this month's
    export holds the update that conflicts.)"""
    source = DATA / "servicenow" / "sys_audit.csv"
    log = _log(_csv(source, tmp_path / "a" / "sys_audit.csv", {}), "servicenow",
               tmp_path / "a.parquet")
    later = _csv(source, tmp_path / "b" / "sys_audit.csv",
                 {10: {"documentkey": " d41d8cd98f00b204e9800998ecf8427e"},
                  11: {"newvalue": "110.00"}})
    assert _repeats([(log, "parquet"), (later, "servicenow")]) == [
        ["sys_audit.csv", 11, "documentkey, record_checkpoint",
         " d41d8cd98f00b204e9800998ecf8427e, 2",
         "duplicate event id servicenow:d41d8cd98f00b204e9800998ecf8427e:2 (the correlated "
         "event at sys_audit.csv row 11 in a.parquet is kept)"]]
    log = _log(_csv(source, tmp_path / "c" / "sys_audit.csv", {}, drop="record_checkpoint"),
               "servicenow", tmp_path / "c.parquet")
    later = _csv(source, tmp_path / "d" / "sys_audit.csv", {11: {"newvalue": "110.00"}},
                 drop="record_checkpoint")
    assert [line[:4] for line in _repeats([(log, "parquet"), (later, "servicenow")])] == [
        ["sys_audit.csv", 11, "documentkey, sys_created_on, user",
         "d41d8cd98f00b204e9800998ecf8427e, 2026-07-07 10:00:00, nadia.rossi"]]


def test_a_readers_id_cells_are_sent_from_a_worker_process(tmp_path: Path) -> None:
    """What names an export's id cells is made while reading, in a worker process where
    several large files are read, and used in the importing process: it pickles, and
    gives the same lines back."""
    for path, fmt, event_id, row in [
            (DATA / "stripe" / "refunds.csv", "stripe", "stripe:re_3PR2002", 3),
            (DATA / "adyen" / "settlement_details.csv", "adyen",
             "adyen:8825850000000002:refunded", 3),
            (DATA / "zendesk" / "ticket_audits.json", "zendesk", "zendesk:101:9002", 2),
            (DATA / "jira" / "issues.json", "jira", "jira:RFD-7:10002", 3),
            (DATA / "servicenow" / "sys_audit.csv", "servicenow",
             "servicenow:d41d8cd98f00b204e9800998ecf8427e:2", 11)]:
        table, _ = read_raw(path, fmt, encoding=None, object_type=None)
        assert table.id_cells is not None
        sent = pickle.loads(pickle.dumps(table.id_cells))
        assert sent.of(event_id, row) == table.id_cells.of(event_id, row)
        assert event_id.split(":")[1] in sent.of(event_id, row)[1]


def test_ids_whose_cells_hold_a_colon_name_the_cells_as_written(tmp_path: Path) -> None:
    """A cell that itself holds a `:` (the separator of the event id's parts) where the
    reader reads several cells into the id, or its own text after the cell: a ServiceNow
    `documentkey`, a Stripe balance report's `source_id`. Before, the id was read back split
    at its first `:` (`documentkey, record_checkpoint` `doc, 42:2`; `source_id,
    reporting_category` `ch_3PQ, 1001`), naming cells the export does not hold."""
    source = _written(tmp_path / "sys_audit.csv", (DATA / "servicenow" / "sys_audit.csv")
                      .read_text(encoding="utf-8")
                      .replace("d41d8cd98f00b204e9800998ecf8427e", "doc:42"))
    log = _log(_csv(source, tmp_path / "a" / "sys_audit.csv", {}), "servicenow",
               tmp_path / "a.parquet")
    later = _csv(source, tmp_path / "b" / "sys_audit.csv", {11: {"newvalue": "110.00"}})
    assert [line[:4] for line in _repeats([(log, "parquet"), (later, "servicenow")])] == [
        ["sys_audit.csv", 11, "documentkey, record_checkpoint", "doc:42, 2"]]

    rows = (DATA / "stripe" / "balance_itemized.csv").read_text(
        encoding="utf-8").splitlines(keepends=True)
    part = _written(tmp_path / "part.csv", rows[0] + rows[1])
    first = _csv(part, tmp_path / "c" / "balance.csv",
                 {1: {"source_id": "ch_3PQ:1001", "charge_id": "ch_3PQ:1001"}})
    again = _csv(part, tmp_path / "d" / "balance.csv",
                 {1: {"source_id": "ch_3PQ:1001", "charge_id": "ch_3PQ:1001",
                      "gross": "48.90"}})
    assert [line[:4] for line in _repeats([(first, "stripe"), (again, "stripe")])] == [
        ["d/balance.csv", 2, "source_id", "ch_3PQ:1001"]]
