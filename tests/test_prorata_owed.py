"""What a subscription refund owes, read alike by amount-mismatch (EV004), duplicate-refund
(DU001) and check's warnings: the last pro-rata calculation stating an amount (in the
case's currency; in another, the request), a shortfall weighed against the smaller of the
request and the pro-rata amount, and the findings of a calculation equal to the request
left as they were before the control `prorate` (message, events, so fingerprint)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from audit.cli import main
from audit.policy import default_policy_path

HEAD = ["case:concept:name", "concept:name", "time:timestamp", "org:resource", "org:role",
        "refund:amount", "refund:currency", "refund:channel", "ticket:id", "order:id",
        "payment:charge_id", "payment:method", "payment:status", "evidence:renewal_date",
        "evidence:usage"]
WHO = {"Charge subscription renewal": ("stripe-billing", ""), "Capture payment": ("shop", ""),
       "Execute payout": ("Pat Pay", "payments"), "Approve refund": ("Sam Super", "supervisor")}
Event = tuple[str, ...]


def _write(path: Path, cases: dict[str, list[Event]], channel: str,
           who: dict[str, tuple[str, str]]) -> Path:
    """Each event (label, amount[, currency]), a day apart from 5 July 2026; the currency
    EUR where an amount is stated and none is given."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEAD)
        for case, events in cases.items():
            for i, event in enumerate(events):
                label, amount = event[0], event[1]
                currency = event[2] if len(event) > 2 else ("EUR" if amount else "")
                name, role = who.get(label, WHO.get(label, ("Ann Agent", "customer-service")))
                paying = label in ("Charge subscription renewal", "Capture payment",
                                   "Execute payout")
                evidence = label == "Collect evidence"
                writer.writerow([case, label, f"2026-07-{5 + i:02d}T10:00:00Z", name, role,
                                 amount, currency, channel, case, f"sub-{case}", f"ch-{case}",
                                 "card" if paying else "", "succeeded" if paying else "",
                                 "2026-07-05" if evidence else "",
                                 "25 of 31 days used" if evidence else ""])
    return path


def _run(tmp_path: Path, name: str, cases: dict[str, list[Event]], *, policy: str | None = None,
         channel: str = "subscription",
         who: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    log = _write(tmp_path / f"{name}.csv", cases, channel, who or {})
    path = tmp_path / f"{name}.yaml"
    path.write_text(policy or default_policy_path().read_text(encoding="utf-8"),
                    encoding="utf-8")
    out = tmp_path / f"out-{name}"
    result = CliRunner().invoke(main, [
        "check", str(log), "--policy", str(path), "--out", str(out), "--format", "json",
        "--fail-on", "never", "--as-of", "2026-10-15T00:00:00Z"])
    assert result.exit_code == 0, (result.output, result.exception)
    return dict(json.loads((out / "findings.json").read_text(encoding="utf-8")))


def _case(prorata: str, *paid: str, request: str = "29.00", approve: str = "",
          before: tuple[Event, ...] = ()) -> list[Event]:
    return [("Charge subscription renewal", "29.00"), ("Receive refund request", request),
            ("Collect evidence", ""), *before, ("Calculate pro-rata amount", prorata),
            ("Approve refund", approve), *(("Execute payout", p) for p in paid)]


def _found(run: dict[str, Any], rule: str) -> dict[str, tuple[str, float]]:
    return {f["case_id"]: (f["message"], f["amount_at_risk"]) for f in run["findings"]
            if f["rule"] == rule}


def test_what_a_subscription_refund_owes(tmp_path: Path) -> None:
    run = _run(tmp_path, "owed", {
        # The request states no amount: judged against the pro-rata amount, so not told
        # as weighed against no amount (A, B); A2's calculation states none either.
        "A": _case("5.61", "29.00", request=""),
        "B": _case("5.61", "5.61", request=""),
        "A2": _case("", "29.00", request=""),
        # The last calculation is in another currency: the request is what is owed, not
        # the earlier calculation it replaced (before: 23.39 at risk against 5.61).
        "D": [*_case("5.61", "29.00")[:4], ("Calculate pro-rata amount", "6.50", "USD"),
              ("Approve refund", ""), ("Execute payout", "29.00")],
        # The pro-rata amount paid twice: a repeat beyond what was owed (before, DU001
        # read 29.00 as owed: F unseen, G "owed 29.00", 19.64 at risk).
        "F": _case("5.61", "5.61", "5.61"),
        "G": _case("24.32", "24.32", "24.32"),
        # Asked less than the pro-rata amount: owed what was asked (before: 14.32 at risk);
        # paid less than that, a shortfall against it; paid more than the pro-rata amount,
        # an excess over that.
        "N": _case("24.32", "10.00", request="10.00"),
        "N2": _case("24.32", "5.00", request="10.00"),
        "N3": _case("24.32", "30.00", request="10.00"),
    })
    assert _found(run, "EV004") == {
        "A": ("pro-rata amount 5.61 EUR, paid 29.00 EUR", 23.39),
        "F": ("pro-rata amount 5.61 EUR, paid 11.22 EUR (requested 29.00 EUR)", 5.61),
        "G": ("pro-rata amount 24.32 EUR, paid 48.64 EUR (requested 29.00 EUR)", 24.32),
        "N2": ("pro-rata amount 24.32 EUR, paid 5.00 EUR (requested 10.00 EUR)", 5.0),
        "N3": ("pro-rata amount 24.32 EUR, paid 30.00 EUR (requested 10.00 EUR)", 5.68)}
    assert _found(run, "DU001") == {
        "F": ("5.61 EUR refunded again on ch-F, already refunded in case F", 5.61),
        "G": ("24.32 EUR refunded again on ch-G, already refunded in case G", 24.32)}
    unweighed = [w for w in run["manifest"]["warnings"] if "judge no payout of" in w]
    assert unweighed == [
        "amount-mismatch and payout-exceeds-approved judge no payout of 1 case whose "
        "request and approvals state no amount: what was paid is weighed against no "
        "amount the ticket authorised (only against the charge, by refund-exceeds-charge, "
        "and the second-approval threshold)"]


def test_a_calculation_equal_to_the_request_leaves_the_finding_as_it_was(
        tmp_path: Path) -> None:
    """A waiver by fingerprint of a finding from before the control `prorate` still
    applies where the calculation is the request (as the sample logs write every one)."""
    new = default_policy_path().read_text(encoding="utf-8")
    old = new.replace("Calculate pro-rata amount: {control: prorate}",
                      "Calculate pro-rata amount: {control: other}")
    assert old != new
    cases = {"W": _case("29.00", "20.00")}
    before = [(f["message"], f["fingerprint"], f["event_ids"])
              for f in _run(tmp_path, "old", cases, policy=old)["findings"]
              if f["rule"] == "EV004"]
    after = [(f["message"], f["fingerprint"], f["event_ids"])
             for f in _run(tmp_path, "new", cases)["findings"] if f["rule"] == "EV004"]
    assert len(before) == 1 and after == before
    assert before[0][0] == "requested 29.00 EUR, paid 20.00 EUR"


def test_the_other_label_warning_is_for_a_pro_rata_calculation_only(tmp_path: Path) -> None:
    new = default_policy_path().read_text(encoding="utf-8")
    old = new.replace("Calculate pro-rata amount: {control: prorate}",
                      "Calculate pro-rata amount: {control: other}\n"
                      "  Issue goodwill voucher: {control: other}")
    voucher = {"V": [("Capture payment", "40.00"), ("Receive refund request", "40.00"),
                     ("Collect evidence", ""), ("Issue goodwill voucher", "10.00"),
                     ("Approve refund", ""), ("Execute payout", "40.00")]}
    run = _run(tmp_path, "voucher", voucher, policy=old, channel="ecommerce")
    assert [w for w in run["manifest"]["warnings"] if "prorate" in w] == []


def test_the_warning_tells_to_move_performers_other_to_prorate(tmp_path: Path) -> None:
    """Remapped to `prorate` as the warning advised, a calculation by a role listed under
    performers.other is found by unauthorized-performer (performers are keyed by control):
    the warning says to move the role."""
    new = default_policy_path().read_text(encoding="utf-8")
    listed = new.replace("performers:\n  reject: [supervisor, finance]",
                         "performers:\n  reject: [supervisor, finance]\n  other: [finance]")
    assert listed != new
    old = listed.replace("Calculate pro-rata amount: {control: prorate}",
                         "Calculate pro-rata amount: {control: other}")
    finance = {"Calculate pro-rata amount": ("Fay Fin", "finance")}
    cases = {"P": _case("29.00", "29.00")}
    run = _run(tmp_path, "perf-old", cases, policy=old, who=finance)
    told = [w for w in run["manifest"]["warnings"] if "prorate" in w]
    assert len(told) == 1 and told[0].endswith(
        "; unauthorized-performer reads performers by control: move the roles of "
        "performers.other that perform it to performers.prorate")
    assert _found(run, "SD004") == {}
    moved = listed.replace("  other: [finance]", "  prorate: [finance]")
    assert _found(_run(tmp_path, "perf-moved", cases, policy=moved, who=finance),
                  "SD004") == {}
