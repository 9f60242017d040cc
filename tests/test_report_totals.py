"""Every money and rule figure of the reports true and reconcilable: money without a
currency, crashed rules, waived-only cases, cases in different currencies."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.policy import default_policy_path

HEADER = ["event:id", "case:concept:name", "concept:name", "time:timestamp", "org:resource",
          "org:role", "lifecycle:transition", "refund:amount", "refund:currency",
          "refund:channel", "ticket:id", "order:id", "payment:charge_id", "payment:refund_id",
          "payment:method", "payment:status", "evidence:order", "evidence:payment_voucher"]


def case_rows(cid: str, currency: str, amount: float, *, day: int = 1,
              requester: tuple[str, str] = ("Anna", "customer-service"),
              approver: tuple[str, str] = ("Bob", "supervisor"),
              payer: tuple[str, str] = ("Paula", "payments"),
              skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """An ecommerce refund case's events: purchase, request, evidence, approval, payout,
    notification, close (`skip`: activities left out; `approver` equal to `requester`:
    self-approval)."""
    charge, d = f"ch_{cid}", f"2026-08-{day:02d}"
    events = [
        ("Capture payment", f"2026-07-{day:02d}T10:00:00+00:00", ("stripe-api", "system"),
         amount * 2, charge, "", "card", "succeeded", "", ""),
        ("Receive refund request", f"{d}T09:00:00+00:00", requester, amount, "", "", "", "",
         "", ""),
        ("Collect evidence", f"{d}T10:00:00+00:00", requester, "", "", "", "", "",
         f"O-{cid}", f"v-{cid}.pdf"),
        ("Approve refund", f"{d}T11:00:00+00:00", approver, amount, "", "", "", "", "", ""),
        ("Execute payout", f"{d}T12:00:00+00:00", payer, amount, "", f"re_{cid}", "card",
         "succeeded", "", ""),
        ("Notify customer", f"{d}T13:00:00+00:00", requester, "", "", "", "", "", "", ""),
        ("Close ticket", f"{d}T14:00:00+00:00", requester, "", "", "", "", "", "", "")]
    rows = []
    for i, (activity, stamp, (resource, role), value, ch, refund, method, status, order,
            voucher) in enumerate(events):
        if activity in skip:
            continue
        rows.append({
            "event:id": f"e-{cid}-{i}", "case:concept:name": cid, "concept:name": activity,
            "time:timestamp": stamp, "org:resource": resource, "org:role": role,
            "lifecycle:transition": "complete", "refund:amount": value,
            "refund:currency": currency if value != "" else "", "refund:channel": "ecommerce",
            "ticket:id": cid, "order:id": f"O-{cid}", "payment:charge_id": ch or charge,
            "payment:refund_id": refund, "payment:method": method, "payment:status": status,
            "evidence:order": order, "evidence:payment_voucher": voucher})
    return rows


def write_log(path: Path, *cases: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        for rows in cases:
            writer.writerows(rows)
    return path


def write_policy(path: Path, waived_cases: tuple[str, ...] = ()) -> Path:
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["as_of"] = "2026-10-15T00:00:00Z"
    # A self-approval's requester is a supervisor, out of the request's lane: its
    # unauthorized-performer finding is waived with it.
    policy["waivers"] = [{"rule": rule, "case": case, "reason": "accepted",
                          "approved_by": "Head of Internal Audit", "expires": "2027-03-31"}
                         for case in waived_cases
                         for rule in ("self-approval", "unauthorized-performer")]
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return path


def check(tmp_path: Path, log: Path, policy: Path, *extra: str) -> tuple[str, Path]:
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--out",
                                     str(out), "--fail-on", "never", *extra])
    assert done.exit_code in (0, 2), (done.output, done.exception)
    return done.output, out


def xlsx_summary(out: Path) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(out / "findings.xlsx", read_only=True)
    return [row for row in book["Summary"].iter_rows(values_only=True) if row and row[0]]


def test_money_paid_without_a_currency_is_counted_in_a_bucket_of_its_own(
        tmp_path: Path) -> None:
    """A payout without any approval (AP001, critical) whose currency is empty puts its
    amount at risk: counted under "(no currency)" in the console, findings.json, the XLSX
    Summary and the HTML, among the cases with the most money at risk, and warned of."""
    log = write_log(tmp_path / "log.csv",
                    case_rows("C1", "EUR", 80, skip=("Approve refund",)),
                    case_rows("C9", "", 250, day=9, skip=("Approve refund",)))
    output, out = check(tmp_path, log, write_policy(tmp_path / "policy.yaml"))
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    c9 = [f for f in document["findings"] if f["case_id"] == "C9" and f["rule"] == "AP001"]
    assert c9 and c9[0]["amount_at_risk"] == 250.0 and not c9[0]["currency"]
    summary = document["summary"]
    assert summary["money_at_risk"] == {"EUR": 80.0, "(no currency)": 250.0}
    assert summary["money_at_risk_no_currency_findings"] == 1
    warnings = document["manifest"]["warnings"]
    assert any("1 finding that puts money at risk states no currency" in w for w in warnings)
    assert "money at risk: 80.00 EUR, 250.00 (no currency)" in output
    assert "warning: 1 finding that puts money at risk states no currency" in output
    rows = xlsx_summary(out)
    assert ("(no currency)", 250.0) in [row[:2] for row in rows]
    assert any(row[0] == "Warning" and "no currency" in str(row[1]) for row in rows)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'data-metric="money-(no currency)" data-value="250.0"' in html
    assert "Money at risk (no currency)" in html
    assert "at risk 250.00 (no currency)" in html  # the case's card
    top = html.split("Cases with the most money at risk", 1)[1].split("</div>", 1)[0]
    assert "C9" in top and "250.00 (no currency)" in top


def test_a_crashed_rule_is_shown_as_crashed_not_as_a_rule_that_found_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SD002 crashes: findings.json's by_rule, the console, the XLSX Summary row, the HTML
    rules table, its section and Scope say it crashed and did not run (not 0 findings)."""
    from audit.rules.duties.sd001_self_approval import SelfApproval

    def explode(self: SelfApproval, facts: object) -> list[object]:
        raise RuntimeError("boom in SD001")

    monkeypatch.setattr(SelfApproval, "check", explode)
    log = write_log(tmp_path / "log.csv", case_rows("C1", "EUR", 100),
                    case_rows("C2", "EUR", 200, day=2, approver=("Anna", "supervisor"),
                              requester=("Anna", "supervisor")))
    output, out = check(tmp_path, log, write_policy(tmp_path / "policy.yaml"))
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    by_rule = document["summary"]["by_rule"]
    assert by_rule["SD001"]["status"] == "crashed"
    assert {row["status"] for code, row in by_rule.items() if code != "SD001"} == {"ran"}
    rules = len(by_rule)
    assert "  SD001 self-approval" in output and "crashed (not run)" in output
    assert f"rules run {rules - 1} of {rules}" in output
    row = next(r for r in xlsx_summary(out) if r[0] == "SD001")
    # (Rule, Name, Family, Severity, Findings, Cases, Waived, Status: report.html's columns)
    assert row[4] == row[5] == row[6] == "crashed" and row[7] == "crashed (not run)"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"{rules - 1} of {rules} (1 crashed)" in html
    table = html.split('id="rule-table"', 1)[1].split("</table>", 1)[0]
    sd001 = table.split('<code class="rule-code">SD001</code>', 1)[1].split("</tr>", 1)[0]
    assert "crashed: not run" in sd001
    section = html.split('id="rule-SD001"', 1)[1].split("</section>", 1)[0]
    assert "No findings." not in section and "crashed and did not run" in section
    assert "boom in SD001" in section
    assert "SD001 self-approval (crashed)" in html


def case_cards(html: str) -> list[str]:
    """The summary lines of the HTML's case details, in order."""
    return [part.split("</summary>", 1)[0]
            for part in html.split('<details class="case"')[1:]]


def test_a_case_whose_findings_are_all_waived_is_not_shown_as_open(tmp_path: Path) -> None:
    """C5's only findings (self-approval, and its supervisor receiving the request:
    unauthorized-performer) are waived: its card is badged 'waived', states
    no open amount at risk, and it comes after every open case, however severe."""
    log = write_log(tmp_path / "log.csv",
                    case_rows("C2", "EUR", 60, day=2, approver=("Dora", "customer-service")),
                    case_rows("C5", "EUR", 80, day=5, requester=("Carl", "supervisor"),
                              approver=("Carl", "supervisor")))
    _, out = check(tmp_path, log, write_policy(tmp_path / "policy.yaml", ("C5",)))
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    c5 = [f for f in document["findings"] if f["case_id"] == "C5"]
    assert c5 and all(f["waived"] for f in c5)
    assert any(f["severity"] == "critical" for f in c5)
    assert all(f["severity"] != "critical" for f in document["findings"] if not f["waived"])
    cards = case_cards((out / "report.html").read_text(encoding="utf-8"))
    assert [("C5" in card) for card in cards] == [False, True]
    waived = cards[-1]
    assert "waived</span>" in waived and "sev-critical" not in waived
    assert "at risk" not in waived


def test_cases_in_different_currencies_are_never_ranked_by_their_raw_amounts(
        tmp_path: Path) -> None:
    """15,000 JPY (about 90 EUR) and 400.00 EUR, both self-approved: the top cases are
    listed per currency, the case details go by severity, then currency (the one with the
    most findings at risk first, EUR here), then amount; the report says so."""
    log = write_log(tmp_path / "log.csv",
                    case_rows("J1", "JPY", 15000, day=7, requester=("Carl", "supervisor"),
                              approver=("Carl", "supervisor")),
                    case_rows("E1", "EUR", 400, day=8, requester=("Bob", "supervisor"),
                              approver=("Bob", "supervisor")),
                    case_rows("E2", "EUR", 40, day=9, requester=("Eve", "supervisor"),
                              approver=("Eve", "supervisor")))
    _, out = check(tmp_path, log, write_policy(tmp_path / "policy.yaml"))
    html = (out / "report.html").read_text(encoding="utf-8")
    top = html.split("Cases with the most money at risk", 1)[1].split("</div>", 1)[0]
    assert "amounts in different currencies are never compared" in top
    tables = {part.split('"', 1)[0]: part.split("</table>", 1)[0]
              for part in top.split('data-currency="')[1:]}
    assert list(tables) == ["EUR", "JPY"]
    assert "E1" in tables["EUR"] and "E2" in tables["EUR"] and "J1" not in tables["EUR"]
    assert "J1" in tables["JPY"] and "15,000 JPY" in tables["JPY"]
    assert tables["EUR"].index("E1") < tables["EUR"].index("E2")
    order = [next(c for c in ("J1", "E1", "E2") if f">{c}</strong>" in card)
             for card in case_cards(html)]
    assert order == ["E1", "E2", "J1"]
    assert "amounts in different currencies are never compared" in html.split(
        'id="cases"', 1)[1]


def test_the_money_at_risk_figure_is_defined_beside_it(tmp_path: Path) -> None:
    """C6 has two findings putting money at risk (70 approved, 90 paid): the total counts
    the case once (its largest), not the sum of the Findings sheet; the console, the JSON
    and the XLSX Summary say so beside the figure."""
    rows = case_rows("C6", "EUR", 70, day=6, approver=("Dora", "customer-service"))
    for row in rows:
        if row["concept:name"] == "Execute payout":
            row["refund:amount"] = 90
    output, out = check(tmp_path, write_log(tmp_path / "log.csv", rows),
                        write_policy(tmp_path / "policy.yaml"))
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    amounts = [f["amount_at_risk"] for f in document["findings"]
               if f["amount_at_risk"] is not None and not f["waived"]]
    summary = document["summary"]
    assert len(amounts) > 1 and sum(amounts) > summary["money_at_risk"]["EUR"] == max(amounts)
    definition = summary["money_at_risk_definition"]
    assert "largest amount at risk" in definition and "counts once" in definition
    assert f"(money at risk: {definition})" in output
    money = next(r for r in xlsx_summary(out) if r[0] == "Money at risk")
    assert money[2] == "Definition" and money[3] == definition


def test_the_console_lists_every_file_written(tmp_path: Path) -> None:
    """check's 'wrote' lines and demo's 'output in' list name every file the run put in
    its folder, the graphs' PNGs and SOP graphs too (they are grouped on one line)."""
    log = write_log(tmp_path / "log.csv", case_rows("C1", "EUR", 100),
                    case_rows("C3", "USD", 300, day=3, skip=("Approve refund",)))
    output, out = check(tmp_path, log, write_policy(tmp_path / "policy.yaml"))
    wrote = " ".join(line for line in output.splitlines() if line.startswith("  wrote "))
    files = sorted(p.name for p in out.iterdir())
    assert {"dfg.png", "sop-ecommerce.svg", "sop-ecommerce.png"} <= set(files)
    assert [name for name in files if name not in wrote] == []
    assert f"  wrote graphs in {out}: dfg.svg, dfg.png, sop-ecommerce.svg, " \
           "sop-ecommerce.png" in output
    demo = tmp_path / "demo"
    done = CliRunner().invoke(main, ["demo", "--out", str(demo)])
    assert done.exit_code == 0, done.output
    listed = done.output.split(f"output in {demo}/:", 1)[1]
    assert [p.name for p in demo.iterdir() if p.name not in listed] == []


def test_the_note_on_the_cases_detailed_names_the_headlines_figure(tmp_path: Path) -> None:
    """The headline card counts the cases with an open finding (1 here); the note on the
    cases detailed counted the cases with any finding (2) as "cases with findings": it
    names both, the waived-only ones apart."""
    from audit.checkrun import run_check
    from reports.view import build_view

    log = write_log(tmp_path / "log.csv",
                    case_rows("C2", "EUR", 60, day=2, approver=("Dora", "customer-service")),
                    case_rows("C5", "EUR", 80, day=5, requester=("Carl", "supervisor"),
                              approver=("Carl", "supervisor")))
    run = run_check([log], write_policy(tmp_path / "policy.yaml", ("C5",)))
    view = build_view(run, max_cases=1)
    assert view.metric("cases_with_findings").value == 1
    note = next(n for n in view.notes if n.startswith("Case details"))
    assert note == ("Case details are shown for the 1 most severe of the 2 cases with "
                    "findings: 1 with an open finding (the “Cases with findings” figure) and "
                    "1 whose findings are all waived (listed after every open one); "
                    "findings.json, findings.csv and findings.xlsx list all.")


def test_an_evidence_value_the_log_does_not_state_reads_not_recorded() -> None:
    """report.html showed such a value as JSON's null ("payout_charge null", an acceptance
    review); the findings files keep null."""
    from audit.findings import Finding
    from reports.view import NOT_RECORDED, _finding_view

    finding = Finding(rule="EV002", name="orphan-payout", severity="critical", case_id="P1",
                      event_ids=["e1"], activities=[], resources=[], timestamp=None,
                      message="m", evidence={"payout_charge": None, "amount": float("nan"),
                                             "order": "o-1", "n": 0, "items": ["a"]})
    shown = {e.key: e.value for e in _finding_view(finding, {}, {}).evidence}
    assert shown == {"payout_charge": NOT_RECORDED, "amount": NOT_RECORDED, "order": "o-1",
                     "n": "0", "items": '["a"]'}
    assert finding.as_dict()["evidence"]["payout_charge"] is None
