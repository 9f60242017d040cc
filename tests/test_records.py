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
