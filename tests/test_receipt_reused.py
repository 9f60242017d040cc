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
        "sharing_cases": ["CS0000038", "CS0000015"], "earlier_cases": ["CS0000038"],
        "payouts_sum": 212.56, "currency": "EUR"}
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
