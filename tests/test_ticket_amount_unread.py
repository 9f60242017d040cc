"""An unreadable amount in a ticket update (a Jira changelog history, a Zendesk audit, a
ServiceNow sys_audit update) is quarantined alone: the update is still an event, its
approval or status change read, of no amount. Before, the whole update was quarantined, so
that a case whose approval stated an amount such as `12,3O` read as paid without any
approval (AP001, critical) while the truth was one unreadable amount."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.sources import read_source

DATA = Path(__file__).parent / "data" / "sources"
UNREAD = "; the amount alone is not read: the update is read as Approve refund, of no amount"


def _history(number: int, who: str, time: str, items: list[dict[str, str]]
             ) -> dict[str, object]:
    return {"id": str(number), "author": {"displayName": who}, "created": time,
            "items": items}


def jira_export(path: Path, approved: str, *, typed: bool = True) -> Path:
    """Issue RFD-1 requesting 12.30 EUR (order SU-O1): evidence collected, approved by Nadia
    Rossi stating `approved` as the approved amount, closed. `typed`: False sends the file to
    the general path (a lone surrogate escaped elsewhere)."""
    issue = {"key": "RFD-1", "fields": {
        "created": "2026-07-06T10:15:00.000+0200", "reporter": {"displayName": "Ben Carter"},
        "customfield_10050": "SU-O1", "customfield_10051": "EUR", "customfield_10052": "12.30"},
        "changelog": {"startAt": 0, "total": 3, "histories": [
            _history(1, "Ben Carter", "2026-07-06T11:00:00.000+0200",
                     [{"field": "status", "toString": "Evidence Collected"}]),
            _history(2, "Nadia Rossi", "2026-07-07T09:00:00.000+0200",
                     [{"field": "status", "toString": "Approved"},
                      {"field": "Approved amount", "toString": approved}]),
            _history(3, "Nadia Rossi", "2026-07-08T09:00:00.000+0200",
                     [{"field": "status", "toString": "Closed"}])]}}
    text = json.dumps({"issues": [issue]})
    if not typed:
        text = text.replace('"Ben Carter"}, "customfield',
                            '"Ben Carter", "x": "\\ud83d\\ude00"}, "customfield')
    path.write_text(text, encoding="utf-8")
    return path


def _approvals(events: pd.DataFrame) -> list[list[object]]:
    approved = events[events[C.ACTIVITY] == "Approve refund"]
    return [[who, None if pd.isna(amount) else str(amount)]
            for who, amount in zip(approved[C.RESOURCE], approved[C.AMOUNT], strict=True)]


@pytest.mark.parametrize("typed", [True, False], ids=["typed reading", "general reading"])
def test_a_jira_approval_with_an_unreadable_amount_is_still_an_approval(
        tmp_path: Path, typed: bool) -> None:
    path = jira_export(tmp_path / "jira_issues.json", "12,3O", typed=typed)
    table, quarantine = read_source(path, "jira")
    assert _approvals(table.frame) == [["Nadia Rossi", None]]
    assert list(table.frame[C.ACTIVITY]) == ["Receive refund request", "Collect evidence",
                                             "Approve refund", "Close ticket"]
    assert quarantine[["row", "field", "value", "case"]].values.tolist() == [
        [3, "Approved amount", "12,3O", "RFD-1"]]
    [reason] = quarantine["reason"]
    assert reason.startswith("thousands separator or decimal comma") and reason.endswith(UNREAD)
    # (the amount that reads is read as before)
    good, _ = read_source(jira_export(tmp_path / "good.json", "12.30", typed=typed), "jira")
    assert _approvals(good.frame) == [["Nadia Rossi", "12.30"]]


def _stripe_payment(tmp_path: Path) -> tuple[Path, Path]:
    """Stripe's charge ch_1 of 12.30 EUR (order SU-O1) and its refund re_1 for RFD-1."""
    charges = tmp_path / "stripe_charges.csv"
    charges.write_text("id,description,amount,amount_refunded,currency,created,status,"
                       "payment_method_type,order_id (metadata)\n"
                       "ch_1,Order SU-O1,1230,,eur,2026-06-01 10:00:00,succeeded,card,SU-O1\n",
                       encoding="utf-8")
    refunds = tmp_path / "stripe_refunds.csv"
    refunds.write_text("id,charge,amount,currency,created,status,reason,ticket_id (metadata),"
                       "executed_by (metadata),refund_method (metadata),order_id (metadata)\n"
                       "re_1,ch_1,1230,eur,2026-07-07 12:00:00,succeeded,"
                       "requested_by_customer,RFD-1,Victor Chen,card,SU-O1\n",
                       encoding="utf-8")
    return charges, refunds


def test_an_unreadable_approved_amount_gives_no_missing_approval(tmp_path: Path) -> None:
    """The case paid 12.30 EUR by Stripe, approved with an unreadable approved amount: no
    AP001 (before: "paid 12.30 EUR ... without any approval", critical). The amount's line is
    in the quarantine, but no row was left out: the findings count no quarantined row
    (`case_quarantined_rows`), and the run counts the amount apart (`fields_unread`), not as
    a row quarantined (before: read 7 = imported 6 + quarantined 1, of 6 records)."""
    jira = jira_export(tmp_path / "jira_issues.json", "12,3O")
    charges, refunds = _stripe_payment(tmp_path)
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["-q", "check", str(jira), str(charges), str(refunds),
                                     "--out", str(out), "--as-of", "2026-08-01T00:00:00Z",
                                     "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    findings = document["findings"]
    assert findings and "AP001" not in {f["rule"] for f in findings}
    assert {f["case_quarantined_rows"] for f in findings} == {0}
    summary = document["summary"]
    assert (summary["read"], summary["imported"], summary["quarantined"],
            summary["fields_unread"]) == (6, 6, 0, 1)
    [jira_counts] = [i for i in document["manifest"]["inputs"] if i["file"] == str(jira)]
    assert (jira_counts["read"], jira_counts["imported"], jira_counts["quarantined"],
            jira_counts["fields_unread"]) == (4, 4, 0, 1)
    lines = pd.read_csv(out / "quarantine.csv", dtype=str)
    assert lines[["row", "field", "value"]].values.tolist() == [["3", "Approved amount",
                                                                 "12,3O"]]


def test_a_zendesk_approval_with_an_unreadable_amount_is_still_an_approval(
        tmp_path: Path) -> None:
    text = (DATA / "zendesk" / "ticket_audits.json").read_text(encoding="utf-8")
    stated = '"360011110006", "value": "49.90"'
    assert stated in text
    path = tmp_path / "ticket_audits.json"
    path.write_text(text.replace(stated, '"360011110006", "value": "49,9O"'),
                    encoding="utf-8")
    table, quarantine = read_source(path, "zendesk")
    before, _ = read_source(DATA / "zendesk" / "ticket_audits.json", "zendesk")
    assert list(table.frame[C.EVENT_ID]) == list(before.frame[C.EVENT_ID])
    assert _approvals(table.frame) == [[name, None] for name, _ in _approvals(before.frame)]
    bad = quarantine[quarantine["value"] == "49,9O"]
    assert bad[["field", "case"]].values.tolist() == [["360011110006", "101"]]
    assert bad["reason"].iloc[0].endswith(UNREAD)


def test_a_servicenow_approval_with_an_unreadable_amount_is_still_an_approval(
        tmp_path: Path) -> None:
    text = (DATA / "servicenow" / "sys_audit.csv").read_text(encoding="utf-8")
    stated = "u_approved_amount,,120.00,nadia.rossi"
    assert stated in text
    path = tmp_path / "sys_audit.csv"
    path.write_text(text.replace(stated, "u_approved_amount,,12O.00,nadia.rossi"),
                    encoding="utf-8")
    table, quarantine = read_source(path, "servicenow")
    before, _ = read_source(DATA / "servicenow" / "sys_audit.csv", "servicenow")
    assert list(table.frame[C.EVENT_ID]) == list(before.frame[C.EVENT_ID])
    assert _approvals(before.frame) == [["nadia.rossi", "120.00"]]
    assert _approvals(table.frame) == [["nadia.rossi", None]]
    bad = quarantine[quarantine["value"] == "12O.00"]
    assert bad[["field", "case"]].values.tolist() == [["u_approved_amount", "CS0000042"]]
    assert bad["reason"].iloc[0].endswith(UNREAD)


def test_a_missing_approval_beside_quarantined_rows_is_told(tmp_path: Path) -> None:
    """An approval whose history's time cannot be read is quarantined whole (an event needs
    a time): the case, paid, is found without any approval (AP001), which may be wrong.
    check warns of it, naming the case, so that the auditor reads the quarantine before
    escalating (before: only the finding's `case_quarantined_rows` said rows were missing);
    a case of no quarantined row is not named."""
    issues = []
    for key in ("RFD-1", "RFD-2"):
        path = jira_export(tmp_path / "one.json", "12.30")
        issue = json.loads(path.read_text(encoding="utf-8"))["issues"][0]
        issue["key"] = key
        histories = issue["changelog"]["histories"]
        if key == "RFD-1":
            histories[1]["created"] = "07.07.2026 09:00"  # the approval's: no Jira time
        else:
            del histories[1]  # no approval at all
            issue["changelog"]["total"] = 2
        issues.append(issue)
    jira = tmp_path / "jira_issues.json"
    jira.write_text(json.dumps({"issues": issues}), encoding="utf-8")
    charges = tmp_path / "stripe_charges.csv"
    charges.write_text("id,description,amount,amount_refunded,currency,created,status,"
                       "payment_method_type,order_id (metadata)\n"
                       "ch_1,Order SU-O1,2460,,eur,2026-06-01 10:00:00,succeeded,card,SU-O1\n",
                       encoding="utf-8")
    refunds = tmp_path / "stripe_refunds.csv"
    refunds.write_text("id,charge,amount,currency,created,status,reason,ticket_id (metadata),"
                       "executed_by (metadata),refund_method (metadata),order_id (metadata)\n"
                       + "".join(f"re_{k},ch_1,1230,eur,2026-07-07 12:00:00,succeeded,"
                                 f"requested_by_customer,RFD-{k},Victor Chen,card,SU-O1\n"
                                 for k in (1, 2)), encoding="utf-8")
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(jira), str(charges), str(refunds),
                                     "--out", str(out), "--as-of", "2026-08-01T00:00:00Z",
                                     "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    found = {(f["case_id"], f["case_quarantined_rows"]) for f in document["findings"]
             if f["rule"] == "AP001"}
    assert found == {("RFD-1", 1), ("RFD-2", 0)}
    told = [w for w in document["manifest"]["warnings"] if w.startswith("missing-approval")]
    assert told == [
        "missing-approval found 1 case holding rows the import quarantined (the findings' "
        "case_quarantined_rows): what it found missing (an approval) may be among those "
        "rows, not read; check the quarantine's lines of RFD-1 before escalating"]
    assert f"warning: {told[0]}" in " ".join(done.output.split())


@pytest.mark.parametrize("typed", [True, False], ids=["typed reading", "general reading"])
def test_a_ticket_currency_that_is_no_code_leaves_its_amounts_unread_not_its_updates(
        tmp_path: Path, typed: bool) -> None:
    """A ticket whose currency is no ISO 4217 code (`EURO`): each of its updates stating an
    amount was quarantined whole by the normaliser, the request and the approval with it
    (AP001 on a paid case). Now the amounts alone are not read, each update a line naming
    the currency field, and the updates are events of no amount."""
    path = jira_export(tmp_path / "jira_issues.json", "12.30", typed=typed)
    path.write_text(path.read_text(encoding="utf-8").replace(
        '"customfield_10051": "EUR"', '"customfield_10051": "EURO"'), encoding="utf-8")
    from audit.ingest import import_sources

    result = import_sources([(path, "jira")])
    log = result.log
    assert list(log[C.ACTIVITY]) == ["Receive refund request", "Collect evidence",
                                     "Approve refund", "Close ticket"]
    assert log[C.AMOUNT].isna().all() and log[C.CURRENCY].isna().all()
    quarantine = result.quarantine
    assert quarantine[["row", "field", "value", "case"]].values.tolist() == [
        [1, "customfield_10051", "EURO", "RFD-1"], [3, "customfield_10051", "EURO", "RFD-1"]]
    assert quarantine["reason"].tolist()[1] == (
        "unknown currency (not an ISO 4217 code) (the ticket's currency: the first "
        "customfield_10051 the ticket states, maybe in another of its updates than this "
        "one)" + UNREAD)
    [counts] = result.files  # (4 records read, each imported; 2 amounts not read, apart)
    assert (counts.read, counts.imported, counts.quarantined, counts.fields_unread) == (
        4, 4, 0, 2)


def _zendesk(tmp_path: Path, old: str, new: str, *, typed: bool) -> Path:
    """The sample's Zendesk audits with `old` replaced by `new` (once); `typed`: False sends
    the file to the general path (a lone surrogate escaped elsewhere)."""
    text = (DATA / "zendesk" / "ticket_audits.json").read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    if not typed:
        plain = '"via": {"channel": "web"}'
        assert plain in text
        text = text.replace(plain, '"via": {"channel": "web", "x": "\\ud83d\\ude00"}', 1)
    path = tmp_path / "ticket_audits.json"
    path.write_text(text, encoding="utf-8")
    return path


APPROVED = '{"id": 11, "type": "Change", "field_name": "360011110006", "value": "49.90"}]},'
"""The sample's approval of ticket 101 stating its approved amount (its last event)."""


@pytest.mark.parametrize("typed", [True, False], ids=["typed reading", "general reading"])
@pytest.mark.parametrize("approved", ["[49.9]", '"49,9O"'], ids=["list", "unreadable text"])
def test_a_list_in_the_approved_amount_is_that_amount_unread_not_the_requested_one(
        tmp_path: Path, typed: bool, approved: str) -> None:
    """An approval whose audit also changes the requested amount (80.00) and states its
    approved amount as a list ([49.9]): the list was dropped, so the requested amount (a
    later field's non-empty value wins) was read as the approval's, "Approve refund 80.00
    EUR", a limit nobody approved. Now the list is the approved amount's unreadable value,
    quarantined as such, the approval of no amount, as an unreadable text (49,9O) was."""
    path = _zendesk(tmp_path, APPROVED, (
        '{"id": 30, "type": "Change", "field_name": "360011110004", "value": "80.00"}, '
        '{"id": 11, "type": "Change", "field_name": "360011110006", "value": '
        f'{approved}}}]}},'), typed=typed)
    table, quarantine = read_source(path, "zendesk")
    mine = table.frame[table.frame[C.CASE] == "101"]
    approval = mine[mine[C.ACTIVITY] == "Approve refund"]
    assert approval[C.AMOUNT].isna().all() and approval[C.CURRENCY].isna().all()
    value = approved.strip('"')
    line = quarantine[quarantine["value"] == value]
    assert line[["field", "case"]].values.tolist() == [["360011110006", "101"]]
    assert line["reason"].iloc[0].endswith(UNREAD)
    if approved.startswith("["):
        assert line["reason"].iloc[0].startswith("a list where an amount is expected")


@pytest.mark.parametrize("typed", [True, False], ids=["typed reading", "general reading"])
def test_a_currency_given_as_a_list_leaves_the_amounts_unread(tmp_path: Path,
                                                              typed: bool) -> None:
    """Ticket 101's currency given as a list (["USD"]): its amounts were read with no
    currency (then taken as the case's, a USD ticket judged in EUR). Now a stated currency
    that cannot be read is as one that is no code: its amounts alone are not read, a line
    each naming the currency field."""
    path = _zendesk(tmp_path, '"360011110003", "value": "EUR"',
                    '"360011110003", "value": ["USD"]', typed=typed)
    table, quarantine = read_source(path, "zendesk")
    before, _ = read_source(DATA / "zendesk" / "ticket_audits.json", "zendesk")
    mine = table.frame[table.frame[C.CASE] == "101"]
    was = before.frame[before.frame[C.CASE] == "101"]
    assert list(mine[C.EVENT_ID]) == list(was[C.EVENT_ID])
    assert was[C.AMOUNT].notna().sum() == 2  # (the request's and the approval's)
    assert mine[C.AMOUNT].isna().all() and mine[C.CURRENCY].isna().all()
    lines = quarantine[quarantine["value"] == '["USD"]']
    assert lines[["field", "case"]].values.tolist() == [["360011110003", "101"]] * 2
    assert all(r.startswith("a list where a currency is expected") and r.endswith(
        ", of no amount") for r in lines["reason"])


def test_an_unreadable_amount_is_counted_apart_from_the_rows_quarantined(
        tmp_path: Path) -> None:
    """A record imported without its amount is no row quarantined: read = imported +
    quarantined counts the file's records (before: read 5 = imported 4 + quarantined 1 of
    Jira's 4 histories and creation), the amount counted apart, in the import's summary."""
    from audit.ingest import import_sources

    result = import_sources([(jira_export(tmp_path / "jira_issues.json", "12,3O"), "jira")])
    [counts] = result.files
    assert (counts.read, counts.imported, counts.quarantined, counts.fields_unread) == (
        4, 4, 0, 1)
    assert len(result.quarantine) == 1  # (the line is written all the same)
    assert result.summary_lines()[0] == (
        "jira_issues.json (jira): read 4 = imported 4 + quarantined 0; 1 quarantine line of "
        "one field alone (its record read without it)")
    # (a row quarantined whole is counted as before: the approval of no time)
    path = jira_export(tmp_path / "time.json", "12.30")
    path.write_text(path.read_text(encoding="utf-8").replace(
        '"2026-07-07T09:00:00.000+0200"', '"07.07.2026 09:00"'), encoding="utf-8")
    [counts] = import_sources([(path, "jira")]).files
    assert (counts.read, counts.imported, counts.quarantined, counts.fields_unread) == (
        4, 3, 1, 0)


def test_a_missing_control_beside_an_amount_alone_is_not_told_as_beside_rows_not_read(
        tmp_path: Path) -> None:
    """A case lacking its evidence (missing-evidence) whose approval's amount is unreadable:
    check warned "missing-evidence found 1 case holding rows the import quarantined ... may
    be among those rows, not read", and report.html said "1 row of the case quarantined,
    not imported", while the row was read, the approval imported. Now neither."""
    jira = jira_export(tmp_path / "jira_issues.json", "12,3O")
    document = json.loads(jira.read_text(encoding="utf-8"))
    issue = document["issues"][0]
    del issue["changelog"]["histories"][0]  # (the evidence collected)
    issue["changelog"]["total"] = 2
    jira.write_text(json.dumps(document), encoding="utf-8")
    charges, refunds = _stripe_payment(tmp_path)
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(jira), str(charges), str(refunds),
                                     "--out", str(out), "--as-of", "2026-08-01T00:00:00Z",
                                     "--fail-on", "never", "--format", "json,html"])
    assert done.exit_code == 0, done.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert "EV001" in {f["rule"] for f in document["findings"]}
    assert {f["case_quarantined_rows"] for f in document["findings"]} == {0}
    assert not [w for w in document["manifest"]["warnings"] if "quarantined" in w]
    assert "quarantined, not imported" not in (out / "report.html").read_text(
        encoding="utf-8")
    assert "1 quarantine line of one field alone" in " ".join(done.output.split())


def test_servicenow_lines_of_a_field_alone_name_the_row_holding_it(tmp_path: Path) -> None:
    """A ServiceNow update spans several rows, one per field changed: a line of its amount or
    currency alone named the update's first row (u_approved_amount on line 12 told as row
    11; the ticket's GBPX, on line 4, told at rows 2 and 11). Now the row holding the
    field."""
    text = (DATA / "servicenow" / "sys_audit.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[11].split(",")[3:6] == ["u_approved_amount", "", "120.00"]  # (line 12)
    assert lines[3].split(",")[3:6] == ["u_currency", "", "GBP"]  # (line 4)
    for name, old, new, rows in (
            ("amount", "u_approved_amount,,120.00", "u_approved_amount,,12O.00", [12]),
            ("currency", ",u_currency,,GBP,", ",u_currency,,GBPX,", [4, 4])):
        path = tmp_path / name / "sys_audit.csv"
        path.parent.mkdir()
        path.write_text(text.replace(old, new), encoding="utf-8")
        _, quarantine = read_source(path, "servicenow")
        alone = quarantine[quarantine["reason"].str.endswith(", of no amount")]
        assert alone["row"].tolist() == rows, name


def test_a_missing_approval_beside_conversion_rows_alone_is_not_told(tmp_path: Path) -> None:
    """RFD-2, paid through PayPal with no approval (AP001), whose refund was paid from a
    balance in USD: the download's General Currency Conversion and Fee Reversal rows name
    the refund, so their quarantine lines name RFD-2 and its findings count them. Such rows
    are no events of a refund case and cannot hold an approval, yet check warned that the
    approval "may be among those rows". Now a case whose quarantined rows are all such is
    not told; RFD-1, whose approval's time could not be read, still is."""
    issues = []
    for key in ("RFD-1", "RFD-2"):
        path = jira_export(tmp_path / "one.json", "12.30")
        issue = json.loads(path.read_text(encoding="utf-8"))["issues"][0]
        issue["key"] = key
        histories = issue["changelog"]["histories"]
        if key == "RFD-1":
            histories[1]["created"] = "07.07.2026 09:00"  # the approval's: no Jira time
        else:
            del histories[1]  # no approval at all
            issue["changelog"]["total"] = 2
        issues.append(issue)
    jira = tmp_path / "jira_issues.json"
    jira.write_text(json.dumps({"issues": issues}), encoding="utf-8")
    paypal = tmp_path / "paypal_activity.csv"
    paypal.write_text(
        "Date,Time,TimeZone,Name,Type,Status,Currency,Gross,Fee,Net,Transaction ID,"
        "Reference Txn ID,Invoice Number,Custom Number,Note,Funding Source\n"
        "13/06/2026,10:00:00,CEST,Jane,Subscription Payment,Completed,EUR,24.60,0.00,24.60,"
        "P1,,SU-O1,,,card\n"
        + "".join(f"07/07/2026,12:00:00,CEST,Jane,Payment Refund,Completed,EUR,-12.30,0.00,"
                  f"-12.30,R{k},P1,SU-O1,RFD-{k},Victor Chen,card\n" for k in (1, 2))
        + "07/07/2026,12:00:00,CEST,,General Currency Conversion,Completed,EUR,12.30,0.00,"
        "12.30,C1,R2,,,,\n"
        "07/07/2026,12:00:00,CEST,,General Currency Conversion,Completed,USD,-13.40,0.00,"
        "-13.40,C2,R2,,,,\n"
        "07/07/2026,12:00:00,CEST,,Fee Reversal,Completed,EUR,0.35,0.00,0.35,F1,R2,,,,\n",
        encoding="utf-8")
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(jira), str(paypal), "--out", str(out),
                                     "--as-of", "2026-08-01T00:00:00Z", "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    found = {(f["case_id"], f["case_quarantined_rows"]) for f in document["findings"]
             if f["rule"] == "AP001"}
    assert found == {("RFD-1", 1), ("RFD-2", 3)}
    told = [w for w in document["manifest"]["warnings"] if w.startswith("missing-approval")]
    assert told == [
        "missing-approval found 1 case holding rows the import quarantined (the findings' "
        "case_quarantined_rows): what it found missing (an approval) may be among those "
        "rows, not read; check the quarantine's lines of RFD-1 before escalating"]
