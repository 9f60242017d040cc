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


def _check(tmp_path: Path, *lines: str, header: str = HEADER
           ) -> tuple[dict[str, Any], str]:
    log = tmp_path / "log.csv"
    log.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
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
        # (a failed payout in another currency paid nothing: instrument-mismatch judges
        # successful payouts alone, so its case is neither found nor told)
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
        "refunded (15,000 JPY, 60.00 USD paid so): of these payouts, those in another "
        "currency than their case's (15,000 JPY, 60.00 USD) the money at risk counts none "
        "of (a case's findings state amounts in its own currency, and instrument-mismatch "
        "states none where only the currency differs) and no amount rule weighs "
        "(amount-mismatch, payout-exceeds-approved and refund-exceeds-charge compare amounts "
        "of one currency); check what was paid "
        "against the approval in cases C1, C2"]
    assert f"warning: {told[0]}" in output.splitlines()


def test_payouts_in_the_purchases_currency_are_not_told(tmp_path: Path) -> None:
    document, _ = _check(tmp_path, *_case("C1", "100.00", "100.00", "EUR"))
    assert not [w for w in document["manifest"]["warnings"]
                if "another currency" in w]


def _lines(case: str, rows: list[tuple[str, str, str, str, str, str, str]]) -> list[str]:
    """A case's events: (activity, amount, currency, charge, refund, status, method)."""
    out = []
    for n, (activity, amount, currency, charge, refund, status, method) in enumerate(rows):
        out.append(f"{case}-{n + 1},{case},{activity},2026-06-0{n + 1}T10:00:00Z,ann,"
                   f"finance,{amount},{currency},ecommerce,{charge},{refund},{status},"
                   f"{method}")
    return out


def _check_methods(tmp_path: Path, *lines: str) -> tuple[dict[str, Any], str]:
    return _check(tmp_path, *lines, header=HEADER + ",payment:method")


def test_a_payout_in_the_case_currency_is_not_said_left_out_of_the_money_at_risk(
        tmp_path: Path) -> None:
    """A 100 EUR purchase whose request and approval state no currency, paid 15,000 JPY: the
    case's currency is the first payout's, JPY, and its findings put the JPY at risk. Before,
    the warning said the money at risk counted none of these payouts beside `money at risk:
    15,000 JPY`."""
    document, _ = _check_methods(tmp_path, *_lines("C1", [
        ("Capture payment", "100.00", "EUR", "ch_1", "", "succeeded", "card"),
        ("Receive refund request", "100.00", "", "", "", "", ""),
        ("Approve refund", "100.00", "", "", "", "", ""),
        ("Execute payout", "15000", "JPY", "ch_1", "re_1", "succeeded", "card")]))
    assert "JPY" in document["summary"]["money_at_risk"]
    [told] = [w for w in document["manifest"]["warnings"]
              if w.startswith("instrument-mismatch found")]
    assert "counts none" not in told
    assert told == (
        "instrument-mismatch found 1 case paid in another currency than the purchase "
        "refunded (15,000 JPY paid so): of these payouts, those in their case's own currency "
        "(15,000 JPY: the case's currency is its first request's, else its first payout's) "
        "the amount rules weigh in that currency, against amounts that may be in the "
        "purchase's, and the money at risk counts only where another finding of the case "
        "states them (instrument-mismatch states none where only the currency differs); "
        "check what was paid against the approval in cases C1")
    [finding] = [f for f in document["findings"] if f["rule"] == "EV006"]
    assert finding["evidence"]["other_currency_payout_eids"] == ["C1-4"]


def test_a_payout_in_its_own_charges_currency_is_told_apart_where_not_the_cases(
        tmp_path: Path) -> None:
    """ch_A 100 EUR by card and ch_B 80 USD by PayPal; re_A 100 EUR by bank transfer (another
    method), re_B 80 USD to PayPal; the request and approval 100 EUR. Each payout is in its
    own charge's currency, so instrument-mismatch names none in another currency than its
    purchase (before the v2 rule, the warning compared both with the first purchase and told
    "80.00 USD paid so" as paid in another currency than the purchase). But the 80 USD is in
    another currency than the case's (EUR): no amount rule weighs it and the money at risk
    counts none of it, beside a 100 EUR approval. Before, nothing told of it."""
    document, output = _check_methods(tmp_path, *_lines("C1", [
        ("Capture payment", "100.00", "EUR", "ch_A", "", "succeeded", "card"),
        ("Capture payment", "80.00", "USD", "ch_B", "", "succeeded", "paypal"),
        ("Receive refund request", "100.00", "EUR", "", "", "", ""),
        ("Approve refund", "100.00", "EUR", "", "", "", ""),
        ("Execute payout", "100.00", "EUR", "ch_A", "re_A", "succeeded", "bank_transfer"),
        ("Execute payout", "80.00", "USD", "ch_B", "re_B", "succeeded", "paypal")]))
    warnings = document["manifest"]["warnings"]
    assert not [w for w in warnings if w.startswith("instrument-mismatch found")]
    [finding] = [f for f in document["findings"] if f["rule"] == "EV006"]
    assert finding["evidence"]["other_currency_payout_eids"] == []
    assert "USD" not in document["summary"]["money_at_risk"]
    told = [w for w in warnings if "another currency than the case's" in w]
    assert told == [
        "1 case paid in another currency than the case's (EUR: its first request's, else its "
        "first payout's), in the currency of the purchase each such payout refunds (80.00 USD "
        "paid so): no amount rule weighs these payouts (amount-mismatch, "
        "payout-exceeds-approved and refund-exceeds-charge compare amounts of one currency, "
        "the case's) and the money at risk counts none of them; check what was paid against "
        "the approval in cases C1"]
    assert f"warning: {told[0]}" in output.splitlines()


def test_a_payout_outside_both_currencies_is_told_once(tmp_path: Path) -> None:
    """A payout in another currency than its purchase's and than its case's is told by the
    instrument-mismatch warning alone, not again as paid beside the case's currency; a case
    of one currency in all is told by neither."""
    document, _ = _check(
        tmp_path, *_case("C1", "100.00", "15000", "JPY"), *_case("C3", "40.00", "40.00", "EUR"))
    warnings = document["manifest"]["warnings"]
    assert len([w for w in warnings if w.startswith("instrument-mismatch found")]) == 1
    assert not [w for w in warnings if "another currency than the case's (" in w]


def test_a_clean_case_paid_in_its_own_currency_is_not_said_counted_at_risk(
        tmp_path: Path) -> None:
    """A 100 EUR purchase whose request, approval and payout all state 15,000 JPY, by three
    people, with the evidence: the case's currency is JPY, the amount rules weigh the payout
    in it and find nothing, and instrument-mismatch states no amount where only the currency
    differs, so the money at risk is none. Before, the warning said the money at risk
    counted these payouts (beside `money at risk: none`)."""
    header = HEADER + ",evidence:order,evidence:payment_voucher"
    document, _ = _check(tmp_path, *[
        "C1-1,C1,Capture payment,2026-06-01T10:00:00Z,stripe-api,system,100.00,EUR,"
        "ecommerce,ch_1,,succeeded,,",
        "C1-2,C1,Receive refund request,2026-06-02T10:00:00Z,ann,customer-service,15000,JPY,"
        "ecommerce,,,,O-1,V-1",
        "C1-3,C1,Approve refund,2026-06-03T10:00:00Z,bob,supervisor,15000,JPY,ecommerce,,,,,",
        "C1-4,C1,Execute payout,2026-06-04T10:00:00Z,carl,payments,15000,JPY,ecommerce,ch_1,"
        "re_1,succeeded,,"], header=header)
    assert document["summary"]["money_at_risk"] == {}
    assert [(f["rule"], f["amount_at_risk"]) for f in document["findings"]] == [
        ("EV006", None)]
    [told] = [w for w in document["manifest"]["warnings"]
              if w.startswith("instrument-mismatch found")]
    assert "money at risk counts, in that currency" not in told
    assert ("those in their case's own currency (15,000 JPY: the case's currency is its "
            "first request's, else its first payout's) the amount rules weigh in that "
            "currency, against amounts that may be in the purchase's, and the money at risk "
            "counts only where another finding of the case states them (instrument-mismatch "
            "states none where only the currency differs)") in told
