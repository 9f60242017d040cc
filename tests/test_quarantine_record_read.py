"""A quarantine line of one field alone (a ticket approval's unreadable amount, its update
imported as the approval of no amount) is told by the flag its reader writes with it, the
quarantine's `record_read` column, never by its reason's text; a month's run reads last
month's quarantine holding such lines; `fields_unread` counts lines and says so."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from audit.cli import main
from audit.ingest import import_sources
from audit.sources import read_source
from audit.store import read_earlier_quarantine
from tests.test_ticket_amount_unread import UNREAD, jira_export

DATA = Path(__file__).parent / "data" / "sources"


def _stripe(tmp_path: Path) -> tuple[Path, Path]:
    """RFD-1's charge of 12.30 EUR and its payout; a second payout row of no time, which is
    quarantined whole (a row not imported, of case RFD-1)."""
    charges = tmp_path / "stripe_charges.csv"
    charges.write_text("id,description,amount,amount_refunded,currency,created,status,"
                       "payment_method_type,order_id (metadata)\n"
                       "ch_1,Order SU-O1,1230,,eur,2026-06-01 10:00:00,succeeded,card,SU-O1\n",
                       encoding="utf-8")
    refunds = tmp_path / "stripe_refunds.csv"
    refunds.write_text("id,charge,amount,currency,created,status,reason,ticket_id (metadata),"
                       "executed_by (metadata),refund_method (metadata),order_id (metadata)\n"
                       "re_1,ch_1,1230,eur,2026-07-07 12:00:00,succeeded,"
                       "requested_by_customer,RFD-1,Victor Chen,card,SU-O1\n"
                       "re_2,ch_1,1230,eur,not a time,succeeded,"
                       "requested_by_customer,RFD-1,Victor Chen,card,SU-O1\n",
                       encoding="utf-8")
    return charges, refunds


def test_a_months_run_reads_last_months_quarantine_holding_a_field_alone(
        tmp_path: Path) -> None:
    """The import of a Jira approval of amount `12,3O` (its amount alone quarantined) and a
    Stripe payout of no time (its row quarantined): the log's record counts 1 row
    quarantined and 1 line of a field alone, its quarantine file holds both lines. Its check
    told the file `does not match the record` (`holds 2 rows, the log's record 1`, as if
    edited) and counted none of its rows: RFD-1's findings had case_quarantined_rows 0. Now
    the file is read, verified, and the one row not imported is counted in RFD-1."""
    jira = jira_export(tmp_path / "jira_issues.json", "12,3O")
    charges, refunds = _stripe(tmp_path)
    log = tmp_path / "log.parquet"
    done = CliRunner().invoke(main, ["import", str(jira), str(charges), str(refunds),
                                     "--out", str(log)])
    assert done.exit_code == 0, done.output
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["-q", "check", str(log), "--out", str(out),
                                     "--as-of", "2026-08-01T00:00:00Z", "--fail-on", "never",
                                     "--format", "json,html"])
    assert done.exit_code == 0, done.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    [told] = [i["earlier_quarantine"] for i in document["manifest"]["inputs"]]
    assert (told["status"], told["verified"], told["quarantined"],
            told["in_cases_with_findings"], told["cases"]) == ("read", True, 1, 1, ["RFD-1"])
    findings = document["findings"]
    assert findings and {f["case_quarantined_rows"] for f in findings} == {1}
    assert document["summary"]["earlier_quarantined_not_counted"] == 0
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "does not match the record" not in report and "holds 2 rows" not in report
    written = pd.read_csv(tmp_path / "log.quarantine.csv", dtype=str, keep_default_na=False)
    assert list(written.columns) == ["file", "row", "field", "value", "reason", "case",
                                     "record_read"]
    assert written[["file", "row", "record_read"]].values.tolist() == [
        ["jira_issues.json", "3", "yes"], ["stripe_refunds.csv", "3", "no"]]


def _earlier(tmp_path: Path, text: str, record: dict[str, object]
             ) -> tuple[dict[str, object], pd.DataFrame | None]:
    """`read_earlier_quarantine` of a log whose quarantine file is `text`, its import's
    record `record` with the file's sha256."""
    (tmp_path / "log.quarantine.csv").write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return read_earlier_quarantine(tmp_path / "log.parquet",
                                   {**record, "quarantine_sha256": digest})


def test_an_earlier_quarantine_is_counted_by_its_record_read_column_or_as_before(
        tmp_path: Path) -> None:
    """A file with `record_read`: its `yes` lines are no rows of those the record counts. A
    file written before the column by an import whose record counted such lines apart
    (`fields_unread`): told by their reason's ending, as that import did. A record of
    before (`fields_unread` absent) counted them among its rows: read as before."""
    with_column = ("file,row,field,value,reason,case,record_read\n"
                   f"j.json,3,Approved amount,\"12,3O\",\"bad{UNREAD}\",RFD-1,yes\n"
                   "s.csv,3,created,x,not a time,RFD-1,no\n")
    told, rows = _earlier(tmp_path, with_column, {"quarantined": 1, "fields_unread": 1})
    assert told["status"] == "read" and rows is not None
    assert rows[["file", "row", "case"]].values.tolist() == [["s.csv", "3", "RFD-1"]]
    # (the flag decides, not the text: a `no` line ending as a field alone's is a row)
    forged = with_column.replace("RFD-1,yes", "RFD-1,no")
    told, rows = _earlier(tmp_path, forged, {"quarantined": 2, "fields_unread": 0})
    assert told["status"] == "read" and rows is not None and len(rows) == 2
    before_column = with_column.replace(",record_read", "").replace(",yes\n", "\n") \
        .replace(",no\n", "\n")
    told, rows = _earlier(tmp_path, before_column, {"quarantined": 1, "fields_unread": 1})
    assert told["status"] == "read" and rows is not None
    assert rows["file"].tolist() == ["s.csv"]
    told, rows = _earlier(tmp_path, before_column, {"quarantined": 2})
    assert told["status"] == "read" and rows is not None and len(rows) == 2


def _servicenow(tmp_path: Path, name: str, fieldname: str) -> Path:
    """The sample's sys_audit export whose row a10 (update 2's approved amount) is a change
    of `fieldname` by another user: the update's author cannot be told, its rows
    quarantined."""
    text = (DATA / "servicenow" / "sys_audit.csv").read_text(encoding="utf-8")
    changed = text.replace(
        "a10,sn_customerservice_case,d41d8cd98f00b204e9800998ecf8427e,u_approved_amount,,"
        "120.00,nadia.rossi",
        "a10,sn_customerservice_case,d41d8cd98f00b204e9800998ecf8427e,"
        f"\"{fieldname}\",,x,felix.weber")
    assert changed != text
    path = tmp_path / name / "sys_audit.csv"
    path.parent.mkdir()
    path.write_text(changed, encoding="utf-8")
    return path


def test_a_servicenow_fieldname_cannot_pass_for_a_line_of_a_field_alone(
        tmp_path: Path) -> None:
    """A row quarantined for its update's unknown author ends its reason with the row's
    `fieldname`. A fieldname ending as a field alone's line ends (`...; the amount alone is
    not read: the update is read as Approve refund, of no amount`) made that row count as
    read: read 6 = imported 3 + quarantined 2, `1 field quarantined alone`, of the export
    that reads 7 = 3 + 3 with a plain fieldname. Now the two count alike, and the reason
    quotes the fieldname."""
    plain = import_sources([(_servicenow(tmp_path, "plain", "u_note"), "servicenow")])
    forged_name = "u_note" + UNREAD
    forged = import_sources([(_servicenow(tmp_path, "forged", forged_name), "servicenow")])
    for result in (plain, forged):
        [counts] = result.files
        assert (counts.read, counts.imported, counts.quarantined, counts.fields_unread) == (
            7, 3, 3, 0)
    for result in (plain, forged):
        assert set(result.quarantine["record_read"]) == {"no"}
    reasons = forged.quarantine["reason"].tolist()
    assert any(r.endswith(f"nor this row's change of {forged_name!r}") for r in reasons)


def test_fields_unread_counts_lines_and_says_so(tmp_path: Path) -> None:
    """A ticket's currency GBPX, in one cell, leaves its two amounts unread: two lines, both
    naming that cell (rows [4, 4]), each with `record_read` yes. They were told as `2 fields
    quarantined alone`; now as lines."""
    text = (DATA / "servicenow" / "sys_audit.csv").read_text(encoding="utf-8")
    path = tmp_path / "sys_audit.csv"
    path.write_text(text.replace(",u_currency,,GBP,", ",u_currency,,GBPX,"), encoding="utf-8")
    _, quarantine = read_source(path, "servicenow")
    alone = quarantine[quarantine["record_read"] == "yes"]
    assert alone[["row", "field"]].values.tolist() == [[4, "u_currency"], [4, "u_currency"]]
    result = import_sources([(path, "servicenow")])
    assert result.fields_unread == 2
    assert result.summary_lines()[-1 - len(result.notes)].endswith(
        "; 2 quarantine lines of one field alone (their records read without it)")
