"""Money the log does not state: a successful payout without `refund:amount` (a generic CSV
can leave it blank; the payment exports quarantine such a row) is never read as 0 paid nor
as "within the limit". The amount rules either judge what the stated amounts prove, saying
what they left out, or leave it to `payout-without-amount`; the run says what the money at
risk leaves out."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.findings import Finding
from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.engine import run_rules
from audit.rules.registry import default_rules
from tests.rules.logbuilder import build_log

RULES = default_rules()


@pytest.fixture(scope="module")
def policy() -> Policy:
    return replace(load_policy(default_policy_path(), known_rules=RULES.known), sop={})


def _findings(log: dict[str, Any], policy: Policy) -> dict[tuple[str, str], Finding]:
    result = run_rules(build_log(log, policy), policy, RULES, as_of=policy.as_of)
    assert result.errors == []
    return {(f.case_id, f.name): f for f in result.findings}


def _refund(case: str, day: int, amount: float | None) -> dict[str, Any]:
    return {"charge": "ch_1", "events": [
        {"a": "Capture payment", "t": "2026-06-20T09:00Z", "id": f"{case}-purchase"},
        {"a": "Receive refund request", "t": f"2026-07-{day:02d}T09:00Z", "amount": amount},
        {"a": "Collect evidence"}, {"a": "Approve refund", "amount": amount},
        {"a": "Execute payout", "amount": amount}]}


def test_a_payout_of_unknown_amount_beyond_the_charge_has_no_zero_at_risk(
        policy: Policy) -> None:
    """A 100 on a charge of 100, B 50, then C pays an amount not stated: C's payout is
    beyond the charge whatever it paid. EV005 found C with 0.00 at risk (the unknown
    payout added as 0): told "no money at risk" of money out of unknown size."""
    found = _findings({"A": _refund("A", 1, 100), "B": _refund("B", 2, 50),
                       "C": _refund("C", 3, None)}, policy)
    b, c = found["B", "refund-exceeds-charge"], found["C", "refund-exceeds-charge"]
    assert b.amount_at_risk == 50.0
    assert b.message == ("refunds on charge ch_1 reach 150.00 EUR, above the captured 100.00 "
                         "EUR (with the payouts of case A)")
    assert c.amount_at_risk is None and c.currency == "EUR"
    assert c.message == ("refunds on charge ch_1 reach 150.00 EUR and 1 payout stating no "
                         "amount, above the captured 100.00 EUR (with the payouts of cases A, "
                         "B)")
    assert found["C", "payout-without-amount"].amount_at_risk is None


def test_an_excess_beside_a_payout_of_unknown_amount_says_so(policy: Policy) -> None:
    """A pays an unknown amount, B 60, C 50 on a charge of 100: C crosses the line by what
    is known (10.00 at least), and the message says the sum leaves a payout out."""
    found = _findings({"A": _refund("A", 1, None), "B": _refund("B", 2, 60),
                       "C": _refund("C", 3, 50)}, policy)
    c = found["C", "refund-exceeds-charge"]
    assert c.amount_at_risk == 10.0
    assert c.message == ("refunds on charge ch_1 reach 110.00 EUR and 1 payout stating no "
                         "amount, above the captured 100.00 EUR (with the payouts of cases A, "
                         "B)")
    assert ("B", "refund-exceeds-charge") not in found
    assert ("A", "refund-exceeds-charge") not in found and ("A", "payout-without-amount") in found


def test_amount_mismatch_tells_the_payouts_of_unknown_amount(policy: Policy) -> None:
    """Request 100, approval 200, paid 150 and an amount not stated: at least 50 too
    much, and the message says which payouts the sum leaves out."""
    found = _findings({"C1": {"charged": 500, "events": [
        {"a": "Capture payment"}, {"a": "Receive refund request"}, {"a": "Collect evidence"},
        {"a": "Approve refund", "amount": 200}, {"a": "Execute payout", "amount": 150},
        {"a": "Execute payout", "amount": None}]}}, policy)
    mismatch = found["C1", "amount-mismatch"]
    assert mismatch.amount_at_risk == 50.0
    assert mismatch.message == ("requested 100.00 EUR, paid 150.00 EUR, and 1 payout stating "
                                "no amount")
    assert mismatch.event_ids == ["C1-02", "C1-05", "C1-06"]
    dq = found["C1", "payout-without-amount"]
    assert dq.event_ids == ["C1-06"] and dq.severity == "high"
    assert dq.evidence["payouts_without_amount"] == 1


def _check(tmp_path: Path, rows: list[tuple[str, str, str, str]],
           ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    log = tmp_path / "log.csv"
    options: list[str] = []
    if ignore:  # the bundled policy, with these rules left out
        import yaml

        from audit.policy import default_policy_path

        policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
        policy["rules"]["ignore"] = list(ignore)
        (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
        options = ["--policy", str(tmp_path / "policy.yaml")]
    log.write_text("case,activity,timestamp,amount,currency,resource\n" + "".join(
        f"{case},{activity},2026-07-0{n % 9 + 1}T09:00:00Z,{amount},{code},p{n % 3}\n"
        for n, (case, activity, amount, code) in enumerate(rows)), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--format",
                                       "json", "--fail-on", "never", *options])
    assert result.exit_code == 0, (result.output, result.exception)
    data: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return data


def test_a_generic_csv_payout_with_a_blank_amount_is_imported_and_reported(
        tmp_path: Path) -> None:
    """A generic CSV leaves a payout's amount blank: the row is imported (the column is
    optional), and the run reports the payout, puts no 0 at risk for it, and warns that
    the money at risk leaves it out. Before, the case had no finding and no word."""
    data = _check(tmp_path, [
        ("C1", "Receive refund request", "100.00", "EUR"),
        ("C1", "Approve refund", "100.00", "EUR"),
        ("C1", "Execute payout", "", "EUR"),
        ("C2", "Receive refund request", "80.00", "EUR"),
        ("C2", "Approve refund", "80.00", "EUR"),
        ("C2", "Execute payout", "", ""),
        ("C2", "Execute payout", "", "")])
    dq = {f["case_id"]: f for f in data["findings"] if f["name"] == "payout-without-amount"}
    assert sorted(dq) == ["C1", "C2"]
    assert dq["C1"]["amount_at_risk"] is None and dq["C2"]["amount_at_risk"] is None
    assert dq["C2"]["message"].startswith("2 successful payouts with no amount stated: the "
                                          "amount at risk is unknown")
    told = [w for w in data["manifest"]["warnings"] if "state no amount" in w]
    assert told == ["3 successful payouts in 2 cases state no amount "
                    "(payout-without-amount): the money at risk does not count what they "
                    "paid, and no amount rule could weigh them"]


def test_a_refund_stating_no_currency_is_told_unjudged_by_missing_second_approval(
        tmp_path: Path) -> None:
    """A refund of 1,200 with no currency anywhere in its case, paid 1,300: no threshold
    applies, and neither the request nor a charge has a currency to compare in, so
    missing-second-approval and amount-mismatch judged it by nothing, silently."""
    data = _check(tmp_path, [
        ("C1", "Receive refund request", "1200.00", ""),
        ("C1", "Approve refund", "", ""),
        ("C1", "Execute payout", "1300.00", ""),
        ("C2", "Receive refund request", "10.00", "EUR"),
        ("C2", "Approve refund", "10.00", "EUR"),
        ("C2", "Execute payout", "10.00", "EUR")])
    assert not [f for f in data["findings"] if f["name"] == "missing-second-approval"]
    assert not [f for f in data["findings"] if f["name"] == "amount-mismatch"]
    told = [w for w in data["manifest"]["warnings"] if "stating amounts but no currency" in w]
    assert told == ["missing-second-approval, amount-mismatch and refund-exceeds-charge "
                    "judge no refund of 1 case stating amounts but no currency (in none of "
                    "its events): no threshold applies, nor a comparison with the request or "
                    "the charge; record the currency"]


def test_a_payout_of_unknown_amount_beside_others_is_told_in_the_paid_text(
        policy: Policy) -> None:
    """An orphan payout of 30 EUR and one stating no amount read "payout of 30.00 EUR with
    no ticket", as if 30.00 were all that left; an unapproved case paid so read "paid 30.00
    EUR". Both now count the payout of unknown amount; its amount at risk stays what is
    known (30.00), and a case whose every payout states none still reads not recorded."""
    found = _findings({
        "O1": [{"a": "Capture payment"}, {"a": "Execute payout", "amount": 30},
               {"a": "Execute payout", "amount": None}],
        "O2": [{"a": "Capture payment"}, {"a": "Execute payout", "amount": None}],
        "U1": [{"a": "Capture payment"}, {"a": "Receive refund request"},
               {"a": "Execute payout", "amount": 30},
               {"a": "Execute payout", "amount": None}]}, policy)
    o1, o2 = found["O1", "orphan-payout"], found["O2", "orphan-payout"]
    assert o1.message == "payout of 30.00 EUR and 1 payout stating no amount with no ticket"
    assert o1.amount_at_risk == 30.0 and o1.currency == "EUR"
    assert o2.message == "payout of (not recorded) EUR with no ticket"
    assert o2.amount_at_risk is None
    u1 = found["U1", "missing-approval"]
    assert u1.message.startswith("paid 30.00 EUR and 1 payout stating no amount")


def test_payouts_weighed_against_no_authorised_amount_are_told(tmp_path: Path) -> None:
    """A ticket whose request and approval state no amount, paid 150: amount-mismatch and
    payout-exceeds-approved each judged nothing (no amount to compare with), silently. The
    run now counts such cases; a case whose approval states the amount is not counted, nor
    is one whose payout states none (payout-without-amount tells that)."""
    data = _check(tmp_path, [
        ("C1", "Receive refund request", "", "EUR"),
        ("C1", "Approve refund", "", "EUR"),
        ("C1", "Execute payout", "150.00", "EUR"),
        ("C2", "Receive refund request", "", "EUR"),
        ("C2", "Approve refund", "80.00", "EUR"),
        ("C2", "Execute payout", "80.00", "EUR"),
        ("C3", "Receive refund request", "", "EUR"),
        ("C3", "Approve refund", "", "EUR"),
        ("C3", "Execute payout", "", "EUR")])
    assert not [f for f in data["findings"]
                if f["name"] in ("amount-mismatch", "payout-exceeds-approved")]
    told = [w for w in data["manifest"]["warnings"]
            if w.startswith("amount-mismatch and payout-exceeds-approved judge no payout")]
    assert told == ["amount-mismatch and payout-exceeds-approved judge no payout of 1 case "
                    "whose request and approvals state no amount: what was paid is weighed "
                    "against no amount the ticket authorised (only against the charge, by "
                    "refund-exceeds-charge, and the second-approval threshold)"]


def test_the_warning_names_only_the_rules_that_ran(tmp_path: Path) -> None:
    """With payout-exceeds-approved left out by the policy, the warning names
    amount-mismatch alone. Before, it named both rules whichever of them ran."""
    data = _check(tmp_path, [
        ("C1", "Receive refund request", "", "EUR"),
        ("C1", "Approve refund", "", "EUR"),
        ("C1", "Execute payout", "150.00", "EUR")], ignore=("AP005",))
    told = [w for w in data["manifest"]["warnings"] if "judge" in w and "no payout of" in w]
    assert told == ["amount-mismatch judges no payout of 1 case whose request and approvals "
                    "state no amount: what was paid is weighed against no amount the ticket "
                    "authorised (only against the charge, by refund-exceeds-charge, and the "
                    "second-approval threshold)"]


def test_payouts_on_a_charge_of_no_stated_amount_are_told(tmp_path: Path) -> None:
    """A purchase stating no amount, refunded 150: refund-exceeds-charge had nothing to
    weigh the refund against, and said nothing (no-prior-purchase does not fire: the
    purchase is there). The run now counts such cases; a charge another purchase of which
    states its amount is judged, and not counted."""
    log = tmp_path / "log.csv"
    rows = [("C1", "Capture payment", "", "EUR", "ch_1"),
            ("C1", "Receive refund request", "150.00", "EUR", ""),
            ("C1", "Approve refund", "150.00", "EUR", ""),
            ("C1", "Execute payout", "150.00", "EUR", "ch_1"),
            ("C2", "Capture payment", "", "EUR", "ch_2"),
            ("C2", "Capture payment", "100.00", "EUR", "ch_2"),
            ("C2", "Receive refund request", "150.00", "EUR", ""),
            ("C2", "Approve refund", "150.00", "EUR", ""),
            ("C2", "Execute payout", "150.00", "EUR", "ch_2")]
    log.write_text("case,activity,timestamp,amount,currency,payment:charge_id,resource\n" + "".join(
        f"{case},{activity},2026-07-0{n % 9 + 1}T09:00:00Z,{amount},{code},{charge},p\n"
        for n, (case, activity, amount, code, charge) in enumerate(rows)), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--format",
                                       "json", "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    exceeds = {f["case_id"] for f in data["findings"] if f["name"] == "refund-exceeds-charge"}
    assert exceeds == {"C2"}
    told = [w for w in data["manifest"]["warnings"]
            if w.startswith("refund-exceeds-charge judges no payout")]
    assert told == ["refund-exceeds-charge judges no payout of 1 case on a charge whose "
                    "purchase states no amount or no currency: what was refunded is weighed "
                    "against nothing captured"]


@pytest.mark.parametrize(("ignore", "told"), [
    ((), "the amount controls (payout-exceeds-approved, amount-mismatch, "
         "refund-exceeds-charge, duplicate-refund, missing-second-approval) could not check"),
    (("duplicate-refund", "AP003"), "the amount controls (payout-exceeds-approved, "
                                    "amount-mismatch, refund-exceeds-charge) could not check"),
    (("AP005", "EV004", "EV005", "DU001", "AP003"),
     "no amount control runs in this check to weigh"),
])
def test_payout_without_amount_names_only_the_amount_controls_that_ran(
        policy: Policy, ignore: tuple[str, ...], told: str) -> None:
    """DQ003 named all five amount controls as unable to check the payout, also those the
    policy does not run (which checked nothing either way)."""
    chosen = replace(policy, ignore=tuple(policy.ignore) + ignore)
    finding = _findings({"C": _refund("C", 3, None)}, chosen)["C", "payout-without-amount"]
    assert finding.message == ("1 successful payout with no amount stated: the amount at "
                               f"risk is unknown, and {told} it")
    assert finding.evidence["not_judged"] == told.partition("(")[2].partition(")")[0]


def test_a_dask_partition_names_the_amount_controls_the_run_sends(policy: Policy) -> None:
    """A partition's facts knew no selection and read the policy's choice of the default
    rules: a run sending DQ003 alone named all five amount controls (the local engine,
    none). Run as a task would be, without a cluster."""
    from audit.engines.dask_engine import run_partition

    dq003 = type(RULES.get("DQ003"))
    log = build_log({"C": _refund("C", 3, None)}, policy)
    part = run_partition(log, policy, [], [dq003], policy.as_of)
    local = run_rules(log, replace(policy, select=("DQ003",)), RULES, as_of=policy.as_of)
    assert [f.message for f in part.findings["DQ003"]] == [f.message for f in local.findings]
    assert part.findings["DQ003"][0].message.endswith(
        "no amount control runs in this check to weigh it")


def test_a_payout_with_no_prior_purchase_tells_what_it_paid_as_the_other_rules_do(
        policy: Policy) -> None:
    """no-prior-purchase told the payout by the case's sum and currency alone: a payout
    stating neither read "paid (not recorded) (not recorded)" (pm4py's running example,
    mapped as refunds, gave that on each paid case), one of a stated amount beside one
    stating none hid the second, and a case asking in EUR and paid in USD read "paid (not
    recorded) EUR". It now tells them as missing-approval and orphan-payout do."""
    found = _findings({
        "N1": [{"a": "Receive refund request"}, {"a": "Execute payout", "amount": 30},
               {"a": "Execute payout", "amount": None}],
        "N2": [{"a": "Receive refund request", "amount": None, "cur": None},
               {"a": "Execute payout", "amount": None, "cur": None}],
        "N3": [{"a": "Receive refund request", "amount": 40},
               {"a": "Execute payout", "amount": 40, "cur": "USD"}]}, policy)
    n1, n2, n3 = (found[c, "no-prior-purchase"] for c in ("N1", "N2", "N3"))
    assert n1.message == ("paid 30.00 EUR and 1 payout stating no amount with no purchase "
                          "before the payout")
    assert n1.amount_at_risk == 30.0
    assert n2.message == "paid (not recorded) with no purchase before the payout"
    assert n2.amount_at_risk is None
    assert n3.message == "paid 40.00 USD with no purchase before the payout"
