"""A subscription refund owes its pro-rata amount (the unused share of the renewal), which
the default policy maps to the control `prorate` (`Calculate pro-rata amount`), and
amount-mismatch weighs the payouts against it, not against the request. A policy written
before `prorate` maps the calculation to `other`: the check then warns that its amounts go
unread (before, nothing said so, and a refund of the whole renewal after most of the period
was used passed)."""

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


def _log(path: Path) -> Path:
    """S1 asks for the whole 29.00 renewal, 25 of 31 days used: calculated 5.61, approved and
    paid 29.00. S2 asks for 29.00, calculated and paid 24.32."""
    steps = [("Charge subscription renewal", "2026-07-05T04:00:00Z", "stripe-billing", "",
              "29.00"),
             ("Receive refund request", "2026-07-30T08:00:00Z", "Ann Agent",
              "customer-service", "29.00"),
             ("Collect evidence", "2026-07-30T09:00:00Z", "Ann Agent", "customer-service", ""),
             ("Calculate pro-rata amount", "2026-07-30T10:00:00Z", "Ann Agent",
              "customer-service", None),
             ("Approve refund", "2026-07-30T13:00:00Z", "Sam Super", "supervisor", None),
             ("Execute payout", "2026-07-31T10:00:00Z", "Pat Pay", "payments", None)]
    owed = {"S1": ("5.61", "29.00"), "S2": ("24.32", "24.32")}
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEAD)
        for case, (prorata, paid) in owed.items():
            for activity, time, who, role, amount in steps:
                if amount is None:
                    amount = prorata if activity == "Calculate pro-rata amount" else paid
                paying = activity in ("Charge subscription renewal", "Execute payout")
                evidence = activity == "Collect evidence"
                writer.writerow([case, activity, time, who, role, amount, "EUR" if amount
                                 else "", "subscription", case, f"sub-{case}", f"ch-{case}",
                                 "card" if paying else "", "succeeded" if paying else "",
                                 "2026-07-05" if evidence else "",
                                 "25 of 31 days used" if evidence else ""])
    return path


def _run(tmp_path: Path, policy: Path) -> dict[str, Any]:
    out = tmp_path / f"out-{policy.stem}"
    result = CliRunner().invoke(main, [
        "check", str(_log(tmp_path / "sub.csv")), "--policy", str(policy), "--out", str(out),
        "--format", "json", "--fail-on", "never", "--as-of", "2026-10-15T00:00:00Z"])
    assert result.exit_code == 0, (result.output, result.exception)
    return dict(json.loads((out / "findings.json").read_text(encoding="utf-8")))


def _told(run: dict[str, Any]) -> list[str]:
    return [w for w in run["manifest"]["warnings"] if "prorate" in w]


def test_amount_mismatch_weighs_the_payouts_against_the_pro_rata_amount(
        tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(default_policy_path().read_text(encoding="utf-8"), encoding="utf-8")
    run = _run(tmp_path, policy)
    found = {f["case_id"]: (f["message"], f["amount_at_risk"]) for f in run["findings"]
             if f["rule"] == "EV004"}
    assert found == {"S1": ("pro-rata amount 5.61 EUR, paid 29.00 EUR (requested 29.00 EUR)",
                            23.39)}
    assert _told(run) == []


def test_a_policy_mapping_the_calculation_to_other_is_told(tmp_path: Path) -> None:
    text = default_policy_path().read_text(encoding="utf-8")
    assert "Calculate pro-rata amount: {control: prorate}" in text
    policy = tmp_path / "old-policy.yaml"
    policy.write_text(text.replace("Calculate pro-rata amount: {control: prorate}",
                                   "Calculate pro-rata amount: {control: other}"),
                      encoding="utf-8")
    run = _run(tmp_path, policy)
    # Read as before: the payouts against the request (S2's 24.32 against 29.00).
    found = {f["case_id"]: f["message"] for f in run["findings"] if f["rule"] == "EV004"}
    assert found == {"S2": "requested 29.00 EUR, paid 24.32 EUR"}
    assert _told(run) == [
        "the label 'Calculate pro-rata amount' (2 events stating an amount) is mapped to "
        "the control other, and the policy maps no label to prorate: amount-mismatch reads "
        "none of these amounts and weighs the payouts against the request; if it is the "
        "pro-rata calculation of a subscription refund, map it to '{control: prorate}' (as "
        "`refund-audit policy init` writes it)"]
