"""The finding record: its dict form is what `dataclasses.asdict` gives, and a copy."""

from __future__ import annotations

import dataclasses

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
