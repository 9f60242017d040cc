"""A refund paid in another currency than the purchase it refunds: instrument-mismatch
(EV006) finds it, but states no amount where only the currency differs, and no amount rule
weighs it (they compare amounts of one currency), so the money at risk did not count it and
nothing said so: 15,000 JPY paid on a 100.00 EUR purchase and approval showed `money at
risk: none` (the case's other findings, in EUR, put none of it at risk either). The check
now warns of such cases, with what their payouts paid per currency."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from audit.cli import main

MODELS = Path(__file__).resolve().parents[1] / "models"
HEADER = ("event:id,case:concept:name,concept:name,time:timestamp,org:resource,org:role,"
          "refund:amount,refund:currency,refund:channel,payment:charge_id,payment:refund_id,"
          "payment:status")


def _case(case: str, amount: str, paid: str, currency: str, status: str = "succeeded"
          ) -> list[str]:
    return [f"{case}-1,{case},Capture payment,2026-06-01T10:00:00Z,stripe-api,system,"
            f"{amount},EUR,ecommerce,ch_{case},,succeeded",
            f"{case}-2,{case},Receive refund request,2026-06-02T10:00:00Z,ann,"
            f"customer-service,{amount},EUR,ecommerce,,,",
            f"{case}-3,{case},Approve refund,2026-06-03T10:00:00Z,bob,team-lead,{amount},EUR,"
            "ecommerce,,,",
            f"{case}-4,{case},Execute payout,2026-06-04T10:00:00Z,carl,finance,{paid},"
            f"{currency},ecommerce,ch_{case},re_{case},{status}"]


def _check(tmp_path: Path, *lines: str) -> tuple[dict[str, Any], str]:
    log = tmp_path / "log.csv"
    log.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    policy = tmp_path / "policy.yaml"  # (the conformance rules left out: they need pm4py)
    policy.write_text((MODELS / "policy.default.yaml").read_text(encoding="utf-8").replace(
        "  ignore: []", "  ignore: [conformance]").replace(
        ": ecommerce.bpmn", f": {MODELS / 'ecommerce.bpmn'}").replace(
        ": subscription.bpmn", f": {MODELS / 'subscription.bpmn'}").replace(
        ": offline.bpmn", f": {MODELS / 'offline.bpmn'}"), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--out",
                                       str(out), "--as-of", "2026-07-01T00:00:00Z",
                                       "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document, result.output


def test_a_payout_in_another_currency_is_told_with_what_it_paid(tmp_path: Path) -> None:
    document, output = _check(
        tmp_path, *_case("C1", "100.00", "15000", "JPY"), *_case("C2", "50.00", "60.00", "USD"),
        *_case("C3", "40.00", "40.00", "EUR"),
        # (a failed payout in another currency paid nothing: its case is told, its amount not)
        *_case("C4", "30.00", "5000", "JPY", status="failed"))
    summary = document["summary"]
    # (C3's findings put its 40.00 EUR at risk, C4's approved-not-paid its 30.00 EUR; C1's
    # and C2's findings, in EUR, put none of the JPY and USD paid at risk)
    assert summary["money_at_risk"] == {"EUR": 70.0}
    assert sorted(f["case_id"] for f in document["findings"]
                  if f["rule"] == "EV006") == ["C1", "C2"]
    told = [w for w in document["manifest"]["warnings"]
            if w.startswith("instrument-mismatch found")]
    assert told == [
        "instrument-mismatch found 2 cases paid in another currency than the purchase "
        "refunded (15,000 JPY, 60.00 USD paid so): the money at risk counts none of these "
        "payouts (no finding of these cases states their amount: a case's findings are in "
        "its own currency, and instrument-mismatch states none where only the currency "
        "differs) and no amount rule weighs them (amount-mismatch, payout-exceeds-approved and "
        "refund-exceeds-charge compare amounts of one currency); check what was paid "
        "against the approval in cases C1, C2"]
    assert f"warning: {told[0]}" in output.splitlines()


def test_payouts_in_the_purchases_currency_are_not_told(tmp_path: Path) -> None:
    document, _ = _check(tmp_path, *_case("C1", "100.00", "100.00", "EUR"))
    assert not [w for w in document["manifest"]["warnings"]
                if "another currency" in w]
