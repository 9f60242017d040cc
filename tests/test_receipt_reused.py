"""receipt-reused (DU002) on real-shaped data and its comparison of receipts.

The bundled sample's receipts are each a case's own (`receipt-<case>.jpg`): no finding. With
one receipt planted again in a later offline case, written as another hand would write it,
the later case alone is found, naming the earlier, at risk for its payout, and no other
rule's findings change; a different document of the same receipt number is not one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from audit import canonical as C
from audit.checkrun import run_check
from audit.findings import Finding
from audit.policy import default_policy_path
from audit.rules.duplicates.du002_receipt_reused import receipt_key, receipt_keys

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "canonical.csv"
AS_OF = "2026-10-15T00:00:00+00:00"


def _findings(path: Path) -> list[dict[str, object]]:
    run = run_check([path], default_policy_path(), as_of=pd.Timestamp(AS_OF).to_pydatetime())
    return [f.as_dict() for f in run.result.findings]


def test_a_receipt_planted_again_in_the_sample_is_found_in_the_later_case(
        tmp_path: Path) -> None:
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    receipt = frame["evidence:receipt"]
    # CS0000038 was paid on 2026-07-23 (28.74 EUR), CS0000015 on 2026-08-14 (212.56 EUR),
    # CS0000020 on 2026-08-31: the later two present CS0000038's receipt again, one as the
    # same receipt written otherwise, one as another document of it (a .png).
    assert receipt[frame[C.CASE] == "CS0000038"].tolist().count("receipt-CS0000038.jpg") == 1
    frame.loc[(frame[C.CASE] == "CS0000015") & (receipt != ""),
              "evidence:receipt"] = " Receipt-CS38.JPG"
    frame.loc[(frame[C.CASE] == "CS0000020") & (receipt != ""),
              "evidence:receipt"] = "receipt-CS0000038.png"
    planted = tmp_path / "planted.csv"
    frame.to_csv(planted, index=False)
    before, after = _findings(SAMPLE), _findings(planted)
    assert [f for f in before if f["rule"] == "DU002"] == []
    found = [f for f in after if f["rule"] == "DU002"]
    assert [(f["case_id"], f["amount_at_risk"], f["currency"]) for f in found] == [
        ("CS0000015", 212.56, "EUR")]
    assert found[0]["evidence"] == {
        "receipts": ["Receipt-CS38.JPG"], "compared_as": ["receipt-cs38.jpg"],
        "sharing_cases": ["CS0000038", "CS0000015"], "sharing_cases_n": [2],
        "earlier_cases": ["CS0000038"], "earlier_cases_n": [1], "amount": 212.56,
        "currency": "EUR", "approved_not_paid": False}
    assert "already refunded in case CS0000038 (paid 2026-07-23 08:37:40 UTC)" in str(
        found[0]["message"])
    # Every other finding as before (the planted values are still receipts: no
    # missing-evidence).
    assert [f for f in after if f["rule"] != "DU002"] == before


@pytest.mark.parametrize(("text", "key"), [
    ("R-000123", "r-123"), (" r - 123 ", "r-123"), ("R\t0012", "r12"), ("R 12", "r12"),
    ("007", "7"), ("0-001", "0-1"), ("a0102", "a102"), ("a01b02", "a1b2"),
    ("12-345", "12-345"), ("123-45", "123-45"), ("a\x0bb1", "ab1"), ("a\x1cb1", "ab1"),
    ("Ｒ－００１２", "r-12"), ("Straße-01", "strasse-1"), ("STRASSE-1", "strasse-1"),
    ("receipt.jpg", None), ("scan", None),
    # White space between two digits is a separator (a run of it one space), each run of
    # digits losing its own leading zeros: store 1's receipt 23 is not store 10's 23.
    ("S1 0023", "s1 23"), ("S10 023", "s10 23"), ("S100 23", "s100 23"),
    ("S1 23", "s1 23"), ("S12 3", "s12 3"), ("S 0123", "s123"), ("S12 000123", "s12 123"),
    ("S12 123", "s12 123"), ("R 1 0012", "r1 12"), ("R 1  \t 12", "r1 12"),
    ("1 000", "1 0"), ("1\x0b 2", "1 2"), ("Ｒ　１　００１２", "r1 12"),
    # A decimal fraction keeps its zeros: 1.05 is not 1.5.
    ("1.05", "1.05"), ("1,05", "1,05"), ("0.50", "0.50"), ("1.5", "1.5"), ("a.05", "a.5"),
    # Digits all zeros: a blank till number, no receipt.
    ("0", None), ("00", None), ("000", None), ("x00", None), ("R-000", None), ("0 0", None),
    ("０", None)])
def test_receipts_are_compared_as_the_receipt_they_name(text: str, key: str | None) -> None:
    """The comparison documented (NFKC, case folded, white space only between two digits,
    one space, no leading zeros of a digit run but of a decimal fraction, no digit but
    zeros: none), alike one value at a time and a column at a time (the ASCII
    texts by Arrow, the others in Python), plain or coded."""
    assert receipt_key(text) == key
    column = pd.array([text, None, "n/a", "-", text], dtype="string")
    for values in (column, pd.Categorical(column)):
        assert receipt_keys(values).tolist() == [key, None, None, None, key]


def _one_receipt_log(n: int, receipt: str = "IMG_0001.jpg") -> pd.DataFrame:
    """`n` offline cases, each paid, all holding `receipt`, paid one after another."""
    from dataclasses import replace

    from audit.policy import load_policy
    from tests.rules.logbuilder import build_log

    policy = replace(load_policy(default_policy_path()), sop={})
    return build_log({f"C{i:04d}": {
        "channel": "offline", "start": f"2026-07-01T{i % 24:02d}:00Z",
        "events": [{"a": "Receive refund request", "t": f"+{i}m"},
                   {"a": "Collect evidence", "ev": {"receipt": receipt}},
                   {"a": "Approve refund"}, {"a": "Execute payout"}]} for i in range(n)},
        policy)


def test_a_receipt_held_by_more_cases_than_the_limit_is_generic_and_not_compared() -> None:
    """A value held by more cases than `thresholds.receipt_max_cases` (default 10) is no
    receipt (a phone's `IMG_0001.jpg` in every case): no finding, each of its cases listed
    as not judged (`unjudged_cases.DU002.receipt_generic`) and check warns; held by 10 it is
    compared. (Before, every paid case but the first was found, high.)"""
    from dataclasses import replace

    from audit.policy import load_policy
    from audit.rules.duplicates.du002_receipt_reused import ReceiptReused
    from audit.rules.engine import run_rules
    from audit.rules.registry import RuleSet

    policy = replace(load_policy(default_policy_path()), sop={})
    as_of = pd.Timestamp(AS_OF).to_pydatetime()
    many = run_rules(_one_receipt_log(11), policy, RuleSet([ReceiptReused]), as_of=as_of)
    assert many.findings == []
    assert many.extra["unjudged_cases"] == {
        "DU002": {"receipt_generic": [f"C{i:04d}" for i in range(11)]}}
    ten = run_rules(_one_receipt_log(10), policy, RuleSet([ReceiptReused]), as_of=as_of)
    assert len(ten.findings) == 9
    assert ten.extra["unjudged_cases"] == {"DU002": {"receipt_generic": []}}
    # The limit is the policy's.
    raised = run_rules(_one_receipt_log(11), replace(policy, receipt_max_cases=11),
                       RuleSet([ReceiptReused]), as_of=as_of)
    assert len(raised.findings) == 10


def test_the_limit_is_read_from_the_policy(tmp_path: Path) -> None:
    """`thresholds.receipt_max_cases`: a whole number from 2; anything else refused, naming
    the key."""
    from audit.errors import InputError
    from audit.policy import load_policy

    text = default_policy_path().read_text(encoding="utf-8")
    assert "receipt_max_cases" not in text
    assert load_policy(default_policy_path()).receipt_max_cases == 10
    for value, ok in (("3", True), ("1", False), ("2.5", False), ("yes", False)):
        path = tmp_path / f"policy-{value}.yaml"
        path.write_text(text.replace("thresholds:\n", f"thresholds:\n  receipt_max_cases: "
                                                      f"{value}\n", 1), encoding="utf-8")
        if ok:
            assert load_policy(path).receipt_max_cases == int(value)
        else:
            with pytest.raises(InputError, match="receipt_max_cases"):
                load_policy(path)


def test_a_receipt_held_by_thousands_of_cases_is_walked_once_and_named_in_part() -> None:
    """With the limit raised above them, a value held by every case makes a finding in every
    paid case but the first, each naming at most 100 cases in its evidence and 5 in its
    message, counting them all (before the cap, the last finding named every earlier case:
    3,000 cases, 4.5 million names)."""
    from dataclasses import replace

    from audit.policy import load_policy
    from audit.rules.duplicates.du002_receipt_reused import ReceiptReused
    from audit.rules.engine import run_rules
    from audit.rules.registry import RuleSet

    n = 3000
    policy = replace(load_policy(default_policy_path()), sop={}, receipt_max_cases=n)
    result = run_rules(_one_receipt_log(n), policy, RuleSet([ReceiptReused]),
                       as_of=pd.Timestamp(AS_OF).to_pydatetime())
    found = result.findings
    assert len(found) == n - 1
    longest = max(found, key=lambda f: f.evidence["earlier_cases_n"][0])
    assert longest.evidence["earlier_cases_n"] == [n - 1]
    assert longest.evidence["sharing_cases_n"] == [n]
    assert len(longest.evidence["earlier_cases"]) == len(longest.evidence["sharing_cases"]) == 100
    assert f"and {n - 1 - 5:,} other cases; held by {n:,} cases: " in longest.message
    assert longest.message.endswith(f"and {n - 5:,} other cases")
    assert len(longest.event_ids) == 1 + 1 + 5


def _run(spec: dict[str, Any], as_of: str = AS_OF, **changes: Any) -> list[Finding]:
    from dataclasses import replace

    from audit.policy import load_policy
    from audit.rules.duplicates.du002_receipt_reused import ReceiptReused
    from audit.rules.engine import run_rules
    from audit.rules.registry import RuleSet
    from tests.rules.logbuilder import build_log

    policy = replace(load_policy(default_policy_path()), sop={}, **changes)
    return list(run_rules(build_log(spec, policy), policy, RuleSet([ReceiptReused]),
                          as_of=pd.Timestamp(as_of).to_pydatetime()).findings)


def _offline(day: int, receipts: list[str], **case: Any) -> dict[str, Any]:
    return {"channel": "offline", **case, "events": [
        {"a": "Receive refund request", "t": f"2026-07-{day:02d}T09:00Z"},
        *({"a": "Collect evidence", "ev": {"receipt": r}} for r in receipts),
        {"a": "Approve refund"}, {"a": "Execute payout"}]}


def test_a_case_paid_only_in_another_currency_is_at_risk_in_that_currency() -> None:
    """The later case paid 100.00 USD only (its case's currency EUR): at risk 100.00 USD, as
    duplicate-refund reports a repeat in its payout's currency where the case has none in
    its own (before: the message told 100.00 USD, the amount at risk was empty)."""
    a, b = _offline(1, ["R-9"]), _offline(2, ["R-9"])
    b["events"][-1]["cur"] = "USD"
    found = _run({"A": a, "B": b})
    assert [(f.case_id, f.amount_at_risk, f.currency) for f in found] == [
        ("B", 100.0, "USD")]


def test_a_case_holding_two_reused_receipts_gets_one_finding_naming_both() -> None:
    """C presents A's receipt and B's: one finding, its lists a value per receipt, the
    earlier cases merged, its money counted once."""
    found = _run({"A": _offline(1, ["R-1"]), "B": _offline(2, ["R-2"]),
                  "C": _offline(3, ["R-1", "R-2"])})
    assert len(found) == 1
    f = found[0]
    assert (f.case_id, f.amount_at_risk) == ("C", 100.0)
    evidence = f.evidence
    assert evidence["compared_as"] == ["r-1", "r-2"]
    assert evidence["receipts"] == ["R-1", "R-2"]
    assert evidence["sharing_cases"] == ["A", "C", "B"]
    assert evidence["sharing_cases_n"] == [2, 2]
    assert evidence["earlier_cases"] == ["A", "B"]
    assert evidence["earlier_cases_n"] == [1, 1]
    assert f.message.count("already refunded in case") == 2


def test_partial_returns_on_a_receipt_whose_sale_is_unknown_are_found_whole() -> None:
    """No purchase in the first paid case: the sale is unknown, and two returns on one
    receipt are found (the later at risk whole), as documented."""
    found = _run({"A": _offline(1, ["R-5"], amount=30), "B": _offline(2, ["R-5"], amount=20)})
    assert [(f.case_id, f.amount_at_risk) for f in found] == [("B", 20.0)]


def test_check_warns_of_the_cases_holding_a_generic_receipt(tmp_path: Path) -> None:
    """Every offline case of the sample holding `IMG_0001.jpg` (more than 10): no DU002
    finding, findings.json lists them under `unjudged_cases.DU002.receipt_generic`, and
    check warns, naming the first five."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame.loc[frame["evidence:receipt"] != "", "evidence:receipt"] = "IMG_0001.jpg"
    holders = sorted(frame.loc[frame["evidence:receipt"] != "", C.CASE].unique())
    assert len(holders) > 10
    generic = tmp_path / "generic.csv"
    frame.to_csv(generic, index=False)
    run = run_check([generic], default_policy_path(),
                    as_of=pd.Timestamp(AS_OF).to_pydatetime())
    assert [f for f in run.result.findings if f.rule == "DU002"] == []
    assert run.unjudged_case_ids()["DU002"] == {"receipt_generic": holders}
    told = [w for w in run.warnings() if w.startswith("receipt-reused")]
    assert told == [
        f"receipt-reused did not compare the receipts of {len(holders)} cases: they hold a "
        "receipt (evidence:receipt) held by more than 10 cases, a generic value (a file "
        "name, a placeholder), not one receipt (thresholds.receipt_max_cases) ("
        + ", ".join(holders[:5]) + f" and {len(holders) - 5} more)"]


def _approved(day: int, receipts: list[str], *after: str, **case: Any) -> dict[str, Any]:
    """An offline case asking on `day`, approved, not paid; then the activities `after`."""
    return {"channel": "offline", **case, "events": [
        {"a": "Receive refund request", "t": f"2026-07-{day:02d}T09:00Z"},
        *({"a": "Collect evidence", "ev": {"receipt": r}} for r in receipts),
        {"a": "Approve refund"}, *({"a": a} for a in after)]}


def test_a_case_approved_not_paid_on_a_receipt_already_refunded_is_found_at_its_approval(
        ) -> None:
    """A paid on R-123, then B approved on it and not paid: the approval decided to pay a
    receipt already refunded, the last point to stop it. B is found, timed at its approval
    and citing it, its approved amount at risk, the message saying approved, not paid.
    (Before: nothing; approved-not-paid told B as a wait to pay, not as a reuse.)"""
    found = _run({"A": _offline(1, ["R-000123"]), "B": _approved(5, ["r-123"], amount=45)})
    assert [(f.case_id, f.amount_at_risk, f.currency) for f in found] == [("B", 45.0, "EUR")]
    f = found[0]
    assert f.timestamp == "2026-07-05T11:00:00+00:00"  # (B's approval)
    assert f.event_ids == ["B-02", "B-03", "A-02"]  # (its receipt, its approval, A's)
    assert f.message == (
        "refund of 45.00 EUR approved and not paid on a reused receipt: receipt r-123 "
        "already refunded in case A (paid 2026-07-01 12:00:00 UTC); held by 2 cases: A, B")
    assert f.evidence["earlier_cases"] == ["A"]
    assert f.evidence["sharing_cases"] == ["A", "B"]
    assert f.evidence["approved_not_paid"] is True


def test_a_case_approved_then_rejected_or_closed_on_a_reused_receipt_is_not_found() -> None:
    """An approval a later rejection withdrew decides no payment (as missing-evidence's
    evidence_due: approval reads an approval standing); a case whose ticket was closed
    after its approval, unpaid, awaits no payment: nothing found."""
    for after in ("Reject refund", "Close ticket"):
        found = _run({"A": _offline(1, ["R-7"]), "B": _approved(5, ["R-7"], after)})
        assert found == [], after
    # Rejected, then approved again on appeal: the approval stands.
    found = _run({"A": _offline(1, ["R-7"]),
                  "B": _approved(5, ["R-7"], "Reject refund", "Approve refund")})
    assert [(f.case_id, f.timestamp) for f in found] == [("B", "2026-07-05T13:00:00+00:00")]


def test_a_paid_case_after_an_earlier_approval_not_paid_is_the_reuse() -> None:
    """B approved on R-7 on 1 July and not paid; A paid on it on 5 July: the payout is the
    harm, A is found (at its payout, its payout at risk), B, first on the receipt, is not.
    (Before: nothing, A the only payout on the receipt.)"""
    found = _run({"B": _approved(1, ["R-7"]), "A": _offline(5, ["R-7"], amount=60)})
    assert [(f.case_id, f.amount_at_risk, f.timestamp) for f in found] == [
        ("A", 60.0, "2026-07-05T12:00:00+00:00")]
    assert found[0].message == (
        "refund of 60.00 EUR paid on a reused receipt: receipt R-7 already approved in "
        "case B (approved 2026-07-01 11:00:00 UTC, not paid); held by 2 cases: B, A")
    assert found[0].evidence["approved_not_paid"] is False
    assert found[0].evidence["earlier_cases"] == ["B"]


def test_an_approval_not_paid_within_the_receipts_sale_is_a_partial_return() -> None:
    """A and B name the same till sale of 50.00: A paid 30.00, B approved 20.00 is within
    it (nothing); approved 40.00 passes it by 20.00, at risk 20.00."""
    sale = {"a": "Record store sale", "t": "2026-06-20T09:00Z"}

    def with_sale(case: dict[str, Any]) -> dict[str, Any]:
        return {**case, "charged": 50, "events": [sale, *case["events"]]}

    a = with_sale(_offline(1, ["R-555"], amount=30))
    assert _run({"A": a, "B": with_sale(_approved(5, ["R-555"], amount=20))}) == []
    found = _run({"A": a, "B": with_sale(_approved(5, ["R-555"], amount=40))})
    assert [(f.case_id, f.amount_at_risk) for f in found] == [("B", 20.0)]
    assert "(20.00 EUR of it at risk: the receipt's sale was 50.00 EUR)" in found[0].message


def test_approvals_and_payouts_on_one_receipt_are_taken_in_time_order() -> None:
    """A paid on 1 July, B approved on 3 July (not paid), C paid on 5 July: B is found
    after A, C after both (its message naming A paid and B approved). Two approvals alone,
    no payout on the receipt, refunded nothing yet: not found (approved-not-paid waits on
    them)."""
    found = _run({"A": _offline(1, ["R-3"]), "B": _approved(3, ["R-3"]),
                  "C": _offline(5, ["R-3"])})
    assert [(f.case_id, f.evidence["earlier_cases"], f.evidence["approved_not_paid"])
            for f in found] == [("B", ["A"], True), ("C", ["A", "B"], False)]
    assert ("already refunded or approved in cases A (paid 2026-07-01 12:00:00 UTC), B "
            "(approved 2026-07-03 11:00:00 UTC, not paid); held by 3 cases: A, B, C"
            in found[1].message)
    assert _run({"X": _approved(1, ["R-4"]), "Y": _approved(3, ["R-4"])}) == []


def _decided(asked: int, approved: str, paid: str | None, receipt: str,
             **case: Any) -> dict[str, Any]:
    """An offline case asking on `asked` July, approved at `approved`, paid at `paid` (None:
    not paid)."""
    return {"channel": "offline", **case, "events": [
        {"a": "Receive refund request", "t": f"2026-07-{asked:02d}T09:00Z"},
        {"a": "Collect evidence", "ev": {"receipt": receipt}},
        {"a": "Approve refund", "t": approved},
        *([{"a": "Execute payout", "t": paid}] if paid else [])]}


def test_cases_on_one_receipt_are_taken_in_the_order_their_refunds_were_decided() -> None:
    """A approved on 1 July, paid on 10 July; B on the same receipt approved on 5 July,
    paid on 12 July. A, decided first, is the first use at every clock: on 11 July B is
    found approved and not paid, on 13 July paid; A never. Before, a paid case was placed
    at its payout and one not paid at its approval: on 11 July A (paid 10 July) came after
    B (approved 5 July) and was found 'already approved in case B', on 13 July B was found
    and A's finding gone, no refund having changed. With the receipt's sale of 50.00 (A
    30.00, B 40.00) the part beyond it, 20.00, is B's at both clocks (before: A's on 11
    July)."""
    spec = {"A": _decided(1, "2026-07-01T11:00Z", "2026-07-10T12:00Z", "R-7"),
            "B": _decided(5, "2026-07-05T11:00Z", "2026-07-12T12:00Z", "R-7")}
    first = _run(spec, as_of="2026-07-11T00:00Z")
    later = _run(spec, as_of="2026-07-13T00:00Z")
    assert [(f.case_id, f.evidence["approved_not_paid"], f.timestamp) for f in first] == [
        ("B", True, "2026-07-05T11:00:00+00:00")]
    # (timed at B's approval on 5 July, before A's payout: A told as approved then, not
    # "already refunded (paid 10 July)", a payout 5 days after the finding's time)
    assert first[0].message == (
        "refund of 100.00 EUR approved and not paid on a reused receipt: receipt R-7 "
        "already approved in case A (approved 2026-07-01 11:00:00 UTC, paid 2026-07-10 "
        "12:00:00 UTC after this case's approval); held by 2 cases: A, B")
    assert [(f.case_id, f.evidence["approved_not_paid"], f.timestamp) for f in later] == [
        ("B", False, "2026-07-12T12:00:00+00:00")]
    assert later[0].evidence["earlier_cases"] == ["A"]
    sale = {"a": "Record store sale", "t": "2026-06-20T09:00Z"}
    parts = {k: {**case, "amount": amount, "charged": 50,
                 "events": [sale, *case["events"]]}
             for (k, case), amount in zip(spec.items(), (30, 40), strict=True)}
    for as_of in ("2026-07-11T00:00Z", "2026-07-13T00:00Z"):
        found = _run(parts, as_of=as_of)
        assert [(f.case_id, f.amount_at_risk) for f in found] == [("B", 20.0)], as_of


def test_a_paid_case_is_placed_at_its_approval_or_without_one_at_its_payout() -> None:
    """A paid on 3 July unapproved (placed at its payout), B approved on 2 July and paid on
    4 July (placed at its approval): B decided first, A found, at its payout (before: B
    found, both placed at their payouts)."""
    a = {"channel": "offline", "events": [
        {"a": "Receive refund request", "t": "2026-07-01T09:00Z"},
        {"a": "Collect evidence", "ev": {"receipt": "R-8"}},
        {"a": "Execute payout", "t": "2026-07-03T12:00Z"}]}
    b = _decided(1, "2026-07-02T11:00Z", "2026-07-04T12:00Z", "R-8")
    found = _run({"A": a, "B": b})
    assert [(f.case_id, f.timestamp, f.evidence["earlier_cases"]) for f in found] == [
        ("A", "2026-07-03T12:00:00+00:00", ["B"])]


def test_an_approval_not_paid_is_at_risk_for_what_its_standing_approvals_approved() -> None:
    """B approved 30.00, its ticket closed, the refund asked for again and approved 100.00,
    not paid: the finding cites the approval of 100.00 and is at risk for 100.00 (before:
    30.00, the least of all its approvals, the one a close and a new request ended)."""
    b = {"channel": "offline", "events": [
        {"a": "Receive refund request", "t": "2026-07-05T09:00Z"},
        {"a": "Collect evidence", "ev": {"receipt": "R-5"}},
        {"a": "Approve refund", "amount": 30}, {"a": "Close ticket"},
        {"a": "Receive refund request"}, {"a": "Approve refund", "amount": 100}]}
    found = _run({"A": _offline(1, ["R-5"]), "B": b})
    assert [(f.case_id, f.amount_at_risk, f.event_ids) for f in found] == [
        ("B", 100.0, ["B-02", "B-06", "A-02"])]
    assert found[0].message.startswith("refund of 100.00 EUR approved and not paid")
    assert found[0].evidence["amount"] == 100.0


def test_a_close_logged_before_an_approval_at_its_time_does_not_settle_it() -> None:
    """B's ticket closed and then approved at the same second, in that order: the approval
    stands after the close, a payment awaited; B is found (before: the close at the
    approval's time counted as closing it, nothing found). Logged the other way round, the
    close ends it: nothing."""
    def b(*first: str) -> dict[str, Any]:
        return {"channel": "offline", "events": [
            {"a": "Receive refund request", "t": "2026-07-05T09:00Z"},
            {"a": "Collect evidence", "ev": {"receipt": "R-5"}},
            *({"a": a, "t": "2026-07-05T12:00Z"} for a in first)]}

    found = _run({"A": _offline(1, ["R-5"]), "B": b("Close ticket", "Approve refund")})
    assert [(f.case_id, f.timestamp, f.evidence["approved_not_paid"]) for f in found] == [
        ("B", "2026-07-05T12:00:00+00:00", True)]
    assert _run({"A": _offline(1, ["R-5"]), "B": b("Approve refund", "Close ticket")}) == []


def test_an_earlier_case_paid_after_the_reuse_is_told_as_approved_then() -> None:
    """A approved 1 July, paid 20 July; B approved 5 July, paid 6 July: B is the reuse (its
    refund decided after A's), timed at its payout on 6 July. At a clock after both, its
    message named A "already refunded ... (paid 20 July)", a payout 14 days after the
    finding's own time; now A is told as approved then, paid after this case's payout."""
    spec = {"A": _decided(1, "2026-07-01T11:00Z", "2026-07-20T12:00Z", "R-7"),
            "B": _decided(5, "2026-07-05T11:00Z", "2026-07-06T12:00Z", "R-7")}
    found = _run(spec, as_of="2026-07-21T00:00Z")
    assert [(f.case_id, f.timestamp) for f in found] == [("B", "2026-07-06T12:00:00+00:00")]
    assert found[0].message == (
        "refund of 100.00 EUR paid on a reused receipt: receipt R-7 already approved in "
        "case A (approved 2026-07-01 11:00:00 UTC, paid 2026-07-20 12:00:00 UTC after this "
        "case's payout); held by 2 cases: A, B")
    # (at a clock between the two payouts: A approved, not paid, as before)
    found = _run(spec, as_of="2026-07-07T00:00Z")
    assert found[0].message == (
        "refund of 100.00 EUR paid on a reused receipt: receipt R-7 already approved in "
        "case A (approved 2026-07-01 11:00:00 UTC, not paid); held by 2 cases: A, B")


def test_an_earlier_case_paid_at_no_stated_time_is_told_as_refunded() -> None:
    """A approved 1 July and paid at no stated time (its payout's timestamp missing); B
    approved 5 July on A's receipt, not paid. A's payout is placed after no time: B is found
    with A 'already refunded ... (paid at no stated time)' (before: 'already approved in
    case A (approved ..., paid at no stated time after this case's approval)', a payout
    told as after B's approval with no time to say so)."""
    from dataclasses import replace

    from audit.policy import load_policy
    from audit.rules.duplicates.du002_receipt_reused import ReceiptReused
    from audit.rules.engine import run_rules
    from audit.rules.registry import RuleSet
    from tests.rules.logbuilder import build_log

    policy = replace(load_policy(default_policy_path()), sop={})
    spec = {"A": _decided(1, "2026-07-01T11:00Z", "2026-07-01T12:00Z", "R-7"),
            "B": _decided(5, "2026-07-05T11:00Z", None, "R-7")}
    log = build_log(spec, policy)
    log.loc[log[C.EVENT_ID] == "A-04", C.TIMESTAMP] = pd.NaT
    found = run_rules(log, policy, RuleSet([ReceiptReused]),
                      as_of=pd.Timestamp(AS_OF).to_pydatetime()).findings
    assert [(f.case_id, f.evidence["approved_not_paid"]) for f in found] == [("B", True)]
    assert found[0].message == (
        "refund of 100.00 EUR approved and not paid on a reused receipt: receipt R-7 "
        "already refunded in case A (paid at no stated time); held by 2 cases: A, B")
