"""The finding record: its dict form is what `dataclasses.asdict` gives, a copy, and its
fingerprint."""

from __future__ import annotations

import dataclasses
from typing import Any

from audit.findings import Finding


def _finding() -> Finding:
    return Finding(rule="SD001", name="self-approval", severity="high", case_id="C-1",
                   event_ids=["e2", "e1"], activities=["Approve refund"],
                   resources=["ana"], timestamp="2026-03-02T10:00:00+00:00",
                   message="approved own request",
                   evidence={"approver": "ana", "steps": [{"at": "e1", "who": ["ana"]}],
                             "pair": ("a", "b"), "amount": 12.5},
                   amount_at_risk=12.5, currency="EUR")


def test_as_dict_equals_dataclasses_asdict_in_order() -> None:
    finding = _finding()
    mine, generic = finding.as_dict(), dataclasses.asdict(finding)
    assert mine == generic
    assert list(mine) == list(generic) == [f.name for f in dataclasses.fields(Finding)]
    assert Finding.from_dict(mine) == finding


def test_as_dict_is_a_copy() -> None:
    finding = _finding()
    data = finding.as_dict()
    data["event_ids"].append("e9")
    data["evidence"]["steps"][0]["who"].append("bob")
    assert finding.event_ids == ["e2", "e1"]
    assert finding.evidence["steps"][0]["who"] == ["ana"]


def test_fingerprint_is_the_hash_of_the_json_of_name_case_and_sorted_ids() -> None:
    """The fingerprint put together from each text's JSON string is the hash of
    json.dumps([...], ensure_ascii=True): non-ASCII, quotes, control characters, lone
    surrogates, no ids; ids that are not texts go through json.dumps itself."""
    import hashlib
    import json
    import random

    from audit.findings import fingerprint

    def reference(name: str, case_id: str, event_ids: list[Any]) -> str:
        key = json.dumps([name, case_id, sorted(event_ids)], ensure_ascii=True)
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    rng = random.Random(5)
    alphabet = ["a", "Z", "9", " ", '"', "\\", "/", "\n", "\t", "\x00", "\x7f", "é", "中",
                "😀", "\u2028", "\ud800", ":", ","]
    for _ in range(500):
        def text() -> str:
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 6)))
        ids = [text() for _ in range(rng.randrange(0, 4))]
        name, case_id = text(), text()
        assert fingerprint(name, case_id, ids) == reference(name, case_id, ids)
    assert fingerprint("x", "c1", [3, 1]) == reference("x", "c1", [3, 1])  # type: ignore[list-item]
    assert fingerprint("self-approval", "EC-1", ["b", "a"]) == \
        fingerprint("self-approval", "EC-1", ["a", "b"])
