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


def test_a_copy_of_a_shared_record_counts_as_the_record_in_the_fingerprint() -> None:
    """Correlation names the copy of a charge in case C `<id>@C` once another case refunds
    the charge too, e.g. next month. A finding of C citing the charge then got another
    fingerprint, though nothing in C changed (a waiver by its fingerprint stopped matching,
    and period-over-period tracking read it as closed and new). The copy's id counts as the
    record's now; an id ending in another case's name is left as it is; and a waiver given
    the fingerprint that earlier versions gave such a finding still matches it."""
    import hashlib
    import json
    from datetime import date

    from audit.findings import fingerprint

    def earlier(name: str, case_id: str, ids: list[str]) -> str:  # the hash as it was
        key = json.dumps([name, case_id, sorted(ids)], ensure_ascii=True)
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    alone = fingerprint("instrument-mismatch", "40024", ["stripe:ch_1", "stripe:re_2"])
    shared = fingerprint("instrument-mismatch", "40024", ["stripe:re_2", "stripe:ch_1@40024"])
    assert shared == alone == earlier("instrument-mismatch", "40024",
                                      ["stripe:ch_1", "stripe:re_2"])
    other = ["stripe:ch_1@40025", "stripe:re_2"]  # (no copy of this case)
    assert fingerprint("instrument-mismatch", "40024", other) == earlier(
        "instrument-mismatch", "40024", other)
    finding = Finding(rule="EV006", name="instrument-mismatch", severity="medium",
                      case_id="40024", event_ids=["stripe:ch_1@40024", "stripe:re_2"],
                      activities=[], resources=[], timestamp=None, message="m")
    assert finding.fingerprint == alone
    from audit.findings import copy_fingerprint
    from audit.policy import Waiver
    from audit.rules.engine import WaiverStatus

    before = earlier("instrument-mismatch", "40024", ["stripe:ch_1@40024", "stripe:re_2"])
    assert copy_fingerprint(finding) == before != alone
    assert copy_fingerprint(_finding()) is None  # (no copy cited)
    for given in (alone, before):
        waiver = Waiver(rule="EV006", reason="r", approved_by="a", expires=date(2099, 1, 1),
                        fingerprint=given)
        assert WaiverStatus(waiver, frozenset({"EV006"})).matches(finding)


def test_fingerprint_of_plain_ascii_texts_is_the_hash_of_their_json() -> None:
    """The key put together in one piece where every text is printable ASCII without a
    quote or backslash is json.dumps' own; a text that only looks like the key's own
    punctuation (`a", "b`, a quote, a backslash, a tab, DEL, a non-ASCII letter), a copy's
    id and ids that are not texts are hashed as json.dumps writes them."""
    import hashlib
    import json
    import random

    from audit.findings import fingerprint

    def reference(name: str, case_id: str, event_ids: list[Any]) -> str:
        key = json.dumps([name, case_id, sorted(event_ids)], ensure_ascii=True)
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    rng = random.Random(7)
    printable = [chr(c) for c in range(0x20, 0x7f) if chr(c) not in '"\\@']
    for _ in range(2000):
        def text() -> str:
            return "".join(rng.choice(printable) for _ in range(rng.randrange(1, 12)))
        ids = [text() for _ in range(rng.randrange(1, 5))]
        name, case_id = text(), text()
        assert fingerprint(name, case_id, ids) == reference(name, case_id, ids)
    for ids in (['a", "b'], ["a", "b"], ['a"'], ["a\\"], ["a\t"], ["a\x7f"], ["é"],
                ["x", 'y", "z'], ['"', '"']):
        for name, case_id in (("n", "c"), ('n"', "c"), ("n", "c\\"), ("n\n", "c")):
            assert fingerprint(name, case_id, ids) == reference(name, case_id, ids)
    assert fingerprint("n", "c", ['a", "b']) != fingerprint("n", "c", ["a", "b"])
    assert fingerprint("n", "c", []) == reference("n", "c", [])
    assert fingerprint("n", "c", ["x@c"]) == reference("n", "c", ["x"])  # (a copy's id)
    assert fingerprint("n", "c", ["x@d"]) == reference("n", "c", ["x@d"])


def test_a_fingerprint_of_ids_given_as_an_array_is_that_of_the_list() -> None:
    """The fast path's test of "any ids" is by length, so ids given as a numpy array (no
    rule does, but the function takes any sequence) are fingerprinted as the same list
    (`if event_ids` raised ValueError for an array of two or more)."""
    import numpy as np

    from audit.findings import fingerprint

    for ids in (["a"], ["b", "a"], ["x", "y", "z"]):
        as_array: Any = np.array(ids)
        assert fingerprint("n", "c", as_array) == fingerprint("n", "c", ids)
