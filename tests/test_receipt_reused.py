"""receipt-reused (DU002) on real-shaped data and its comparison of receipts.

The bundled sample's receipts are each a case's own (`receipt-<case>.jpg`): no finding. With
one receipt planted again in a later offline case, written as another hand would write it,
the later case alone is found, naming the earlier, at risk for its payout, and no other
rule's findings change; a different document of the same receipt number is not one.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from audit import canonical as C
from audit.checkrun import run_check
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
        "earlier_cases": ["CS0000038"], "earlier_cases_n": [1], "payouts_sum": 212.56,
        "currency": "EUR"}
    assert "already refunded in case CS0000038 (paid 2026-07-23 08:37:40 UTC)" in str(
        found[0]["message"])
    # Every other finding as before (the planted values are still receipts: no
    # missing-evidence).
    assert [f for f in after if f["rule"] != "DU002"] == before


@pytest.mark.parametrize(("text", "key"), [
    ("R-000123", "r-123"), (" r - 123 ", "r-123"), ("R\t0012", "r12"), ("007", "7"),
    ("0", "0"), ("00", "0"), ("x00", "x0"), ("0-001", "0-1"), ("a0102", "a102"),
    ("a01b02", "a1b2"), ("1 000", "1000"), ("0.50", "0.50"), ("12-345", "12-345"),
    ("123-45", "123-45"), ("a\x0bb1", "ab1"), ("a\x1cb1", "ab1"),
    ("Ｒ－００１２", "r-12"), ("Straße-01", "strasse-1"), ("STRASSE-1", "strasse-1"),
    ("receipt.jpg", None), ("scan", None)])
def test_receipts_are_compared_as_the_receipt_they_name(text: str, key: str | None) -> None:
    """The comparison documented (NFKC, case folded, no white space, no leading zeros of a
    digit run, no digit: none), alike one value at a time and a column at a time (the ASCII
    texts by Arrow, the others in Python), plain or coded."""
    assert receipt_key(text) == key
    column = pd.array([text, None, "n/a", "-", text], dtype="string")
    for values in (column, pd.Categorical(column)):
        assert receipt_keys(values).tolist() == [key, None, None, None, key]


def test_a_receipt_held_by_thousands_of_cases_is_walked_once_and_named_in_part() -> None:
    """A value held by every case (a phone's `IMG_0001.jpg`, or a hostile export) makes a
    finding in every paid case but the first, each naming at most 100 cases in its
    evidence and 5 in its message, counting them all, in one walk (before the cap, the
    last finding named every earlier case: 3,000 cases, 4.5 million names)."""
    import time
    from dataclasses import replace

    from audit.policy import load_policy
    from audit.rules.duplicates.du002_receipt_reused import ReceiptReused
    from audit.rules.engine import run_rules
    from audit.rules.registry import RuleSet
    from tests.rules.logbuilder import build_log

    n = 3000
    policy = replace(load_policy(default_policy_path()), sop={})
    log = build_log({f"C{i:04d}": {"channel": "offline", "start": f"2026-07-01T{i % 24:02d}:00Z",
                                   "events": [{"a": "Receive refund request", "t": f"+{i}m"},
                                              {"a": "Collect evidence",
                                               "ev": {"receipt": "IMG_0001.jpg"}},
                                              {"a": "Approve refund"}, {"a": "Execute payout"}]}
                     for i in range(n)}, policy)
    started = time.perf_counter()
    result = run_rules(log, policy, RuleSet([ReceiptReused]),
                       as_of=pd.Timestamp(AS_OF).to_pydatetime())
    assert time.perf_counter() - started < 30
    found = result.findings
    assert len(found) == n - 1
    longest = max(found, key=lambda f: f.evidence["earlier_cases_n"][0])
    assert longest.evidence["earlier_cases_n"] == [n - 1]
    assert longest.evidence["sharing_cases_n"] == [n]
    assert len(longest.evidence["earlier_cases"]) == len(longest.evidence["sharing_cases"]) == 100
    assert f"and {n - 1 - 5:,} other cases; held by {n:,} cases: " in longest.message
    assert longest.message.endswith(f"and {n - 5:,} other cases")
    assert len(longest.event_ids) == 1 + 1 + 5
