"""reports.records.flat_value: a finding field as one CSV/XLSX cell."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from reports.records import flat_value


@pytest.mark.parametrize("value", [
    {"approver": "Omar Farouk", "amount": 44.99, "events": ["e1", "e2"]},
    {"name": "Zoë 中文 😀", "quote": "\"=1+1\"", "nested": {"a": [1, None, True]}},
    {"when": datetime(2026, 7, 1, 8, tzinfo=UTC), "day": date(2026, 7, 1),
     "money": Decimal("19.99")},  # not JSON: their text (default=str)
    {"nan": float("nan"), "inf": float("inf"), 3: "int key"},
    {},
])
def test_a_dict_is_the_json_text_json_dumps_gives(value: dict[Any, Any]) -> None:
    assert flat_value(value) == json.dumps(value, ensure_ascii=False, default=str)


def test_lists_none_and_scalars() -> None:
    assert flat_value(["a", 1, None]) == "a; 1; None"
    assert flat_value(("x",)) == "x"
    assert flat_value(None) == ""
    assert flat_value(2.5) == 2.5 and flat_value(True) is True and flat_value("t") == "t"


def test_the_encoder_made_once_recovers_from_an_error() -> None:
    """A circular value raises as json.dumps does; the encoder made once then encodes the
    next values as a new one would (its record of open containers is cleared)."""
    from reports.records import json_encoder

    encode = json_encoder()
    assert encode.__name__ == "encoded"  # the C encoder, made once
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    value: dict[str, Any] = {"a": [1, {"b": Unprintable()}]}
    with pytest.raises(RuntimeError, match="no text"):
        encode(value)
    value["a"][1]["b"] = None  # the same containers again, now without the bad value
    assert encode(value) == '{"a": [1, {"b": null}]}'
    loop: dict[str, Any] = {"a": [1]}
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular"):
        encode(loop)
    del loop["self"]
    assert encode(loop) == '{"a": [1]}'
    inner = [1, {"b": None}]
    twice = {"x": inner, "y": inner, "z": {"w": inner}}  # one list twice: not a cycle
    assert encode(twice) == json.dumps(twice, ensure_ascii=False, default=str)


def test_without_the_c_encoder_the_plain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from reports.records import json_encoder

    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    encode = json_encoder()
    assert encode.__name__ == "encode"
    value = {"d": Decimal("1.5"), "é": [float("nan")]}
    assert encode(value) == json.dumps(value, ensure_ascii=False, default=str)


def test_lists_of_other_items_are_joined_by_their_text() -> None:
    """A list of texts is joined as it is; one with any other item by each item's str()."""
    assert flat_value(["=a", "b"]) == "=a; b"
    assert flat_value([1, "b", 2.5]) == "1; b; 2.5"
    assert flat_value((None, Decimal("1.50"))) == "None; 1.50"
    assert flat_value([]) == ""


def test_a_str_subclass_in_a_list_is_joined_by_its_str() -> None:
    """A text whose class has a str() of its own shows that, as before."""

    class Tagged(str):
        def __str__(self) -> str:
            return f"<{super().__str__()}>"

    assert flat_value([Tagged("a"), "b"]) == "<a>; b"
    assert flat_value(["x", "y"]) == "x; y"
