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
    {3: "int key", 2.5: "float key", None: "none key"},
    {},
])
def test_a_dict_is_the_json_text_json_dumps_gives(value: dict[Any, Any]) -> None:
    assert flat_value(value) == json.dumps(value, ensure_ascii=False, default=str)


def refuse(constant: str) -> None:
    raise ValueError(f"not strict JSON: {constant}")


@pytest.mark.parametrize("c_part", [True, False])
def test_a_nan_or_infinity_is_null_so_the_cell_is_strict_json(
        c_part: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """json.dumps writes NaN and Infinity, which JSON has no literal for; the cell holds null
    instead, as findings.json does (json.dumps' text otherwise, spaces included); a NaN
    key keeps json's key text. With and without json's C part."""
    from reports.records import json_encoder

    if not c_part:
        monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    encode = json_encoder()
    value = {"nan": float("nan"), "inf": [1.5, float("inf"), (-float("inf"), "t")],
             "nested": {"d": Decimal("NaN"), float("nan"): 2}, 3: "int key"}
    text = encode(value)
    assert text == json.dumps(
        {"nan": None, "inf": [1.5, None, [None, "t"]], "nested": {"d": "NaN", "NaN": 2},
         3: "int key"}, ensure_ascii=False, default=str)
    json.loads(text, parse_constant=refuse)  # strict
    assert value["nan"] != value["nan"]  # (the value itself is left as it was)
    assert encode(float("nan")) == "null"
    loop: dict[str, Any] = {"x": float("nan")}
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular"):
        encode(loop)
    assert encode({"x": 1.0}) == '{"x": 1.0}'  # the encoder goes on as new


def test_a_circular_value_after_a_nan_still_raises_jsons_error() -> None:
    """The value copied without its NaN is walked with the containers it is in, so that a
    cycle found then raises json's error, not a RecursionError."""
    from reports.records import json_encoder

    inner: list[Any] = [float("nan")]
    inner.append(inner)
    with pytest.raises(ValueError, match="Circular"):
        json_encoder()({"a": inner})


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
    assert encode.encode.__name__ == "encoded"  # the C encoder, made once
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
    assert encode.encode.__name__ == "encode"
    value = {"d": Decimal("1.5"), "é": [2.5, None]}
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
