"""audit.ingest.jsontext.loads: json.loads' value or error, decoded by msgspec where it can.

Values are compared by repr, which tells -0.0 from 0.0, 1 from 1.0 and True, and keeps the
order of keys."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from audit.errors import InputError
from audit.ingest import import_sources, jsontext
from audit.ingest.jsontext import loads
from audit.sources import detect_system, jira, zendesk

EDGES = [
    '{"a": 1, "a": 2}', "[NaN]", "[Infinity]", "[-Infinity]", "[1e400]", "[-1e400]",
    "[123456789012345678901234567890]", "[18446744073709551616]", "[-9223372036854775809]",
    '["\\ud800"]', '["\\udc00x"]', '["\\ud83d\\ude00"]', '{"\\ud83d\\ude00": 1}',
    "[1.0000000000000002]", "[-0.0]", "[-0]", "[0.1]", "[1.5e-310]", "[1E+2]", "[1e-0]",
    '["\\u0000"]', '["a\\/b"]', "\n\r\t [1]\n", "[1]  ", "[1] x", '["a\nb"]', '["\\x41"]',
    "[01]", "[+1]", "[1,]", '{"a":1,}', "[.5]", "[5.]", "['a']", "[tru]", "[1]\n[2]",
    "[1]\x00", "\x0c[1]", "[]", "{}", '""', "null", "true", "0", "", " ", "[" * 5000 + "]" * 5000,
    '{"a": {"b": [true, false, null, "é", "中文"]}}',
]


def outcome(function: Any, text: str) -> str:
    try:
        return "value " + repr(function(text))
    except (ValueError, RecursionError) as exc:
        return "error " + type(exc).__name__


@pytest.mark.parametrize("text", EDGES, ids=range(len(EDGES)))
def test_the_value_or_the_error_of_json_loads(text: str) -> None:
    assert outcome(loads, text) == outcome(json.loads, text)


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 2**70, rng.randrange(-10**6,
                                                                                   10**6)])
    if kind == 2:
        return rng.choice([0.0, -0.0, 0.1, 1e308, -1e-308, 5e-324, 1.5e-310, 2.0**53 + 1,
                           rng.uniform(-1e6, 1e6)])
    if kind in (3, 4, 5):
        alphabet = "ab \"\\/\b\f\n\r\t\x00\x1féü中文😀\u2028"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
    if kind in (6, 7):
        return [_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {str(_value(rng, 5)): _value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_random_documents_decode_to_json_loads_value() -> None:
    rng = random.Random(7)
    for _ in range(400):
        value = _value(rng)
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
        if rng.random() < 0.3 and text.startswith("{") and len(text) > 2:  # a repeated key
            text = '{"k": 1, ' + text[1:-1] + ', "k": [2]}'
        assert outcome(loads, text) == outcome(json.loads, text), text


def test_msgspec_decodes_and_json_loads_only_what_it_refuses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(text: str) -> Any:
        raise AssertionError("json.loads called")

    monkeypatch.setattr(jsontext.json, "loads", refused)
    assert loads('{"audits": [{"id": 1, "value": -0.0}]}') == {"audits": [{"id": 1,
                                                                         "value": -0.0}]}
    with pytest.raises(AssertionError, match=r"json\.loads called"):
        loads("[NaN]")


def test_a_number_too_long_for_python_is_bad_input_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(json.JSONDecodeError, match="4300"):
        loads("[" + "9" * 5000 + "]")
    number = "9" * 5000
    audits = tmp_path / "audits.json"
    audits.write_text('{"audits": [{"ticket_id": ' + number + ', "created_at": "x", '
                      '"events": []}]}', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        zendesk.load_audits(audits)
    assert "4300" in str(caught.value) and caught.value.row == 1
    issues = tmp_path / "issues.json"
    issues.write_text('{"issues": [' + number + "]}", encoding="utf-8")
    with pytest.raises(InputError, match="not JSON"):
        jira.load_issues(issues)
    ocel = tmp_path / "log.jsonocel"
    ocel.write_text('{"objectTypes": [], "eventTypes": [], "objects": [], "events": '
                    '[{"id": ' + number + "}]}", encoding="utf-8")
    with pytest.raises(InputError, match="malformed JSON"):
        import_sources([(ocel, None)])
    lines = tmp_path / "audits.jsonl"
    lines.write_text('{"ticket_id": ' + number + ', "events": []}\n', encoding="utf-8")
    assert detect_system(lines) is None  # not recognised, not a crash


CONTENTS = [
    b'{"audits": []}', b'{"audits": []}\r\n', b'{"a":\r"b",\r\n"c": 1}\r', b"",
    b'\xef\xbb\xbf{"audits": []}', b'{"name": "Zo\xc3\xab"}\r\n', b'\xef\xbb\xbf\r\n[1]\r',
    b'{"x": "\\ud83d\\ude00"}',
]


@pytest.mark.parametrize("data", CONTENTS, ids=range(len(CONTENTS)))
def test_read_export_gives_the_text_a_text_read_gives(tmp_path: Path, data: bytes) -> None:
    """The bytes as they are where all are ASCII (no byte order mark), else the text; either
    way `as_text` is the text Path.read_text gives, line endings translated."""
    path = tmp_path / "export.json"
    path.write_bytes(data)
    content = jsontext.read_export(path)
    assert content == (data if data.isascii() else data.decode("utf-8-sig").replace(
        "\r\n", "\n").replace("\r", "\n"))
    assert jsontext.as_text(content) == path.read_text(encoding="utf-8-sig")
    assert jsontext.may_hold(content) == jsontext.may_hold(path.read_text(encoding="utf-8"))


def test_read_export_refuses_what_a_text_read_refuses(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(b'\xef\xbb\xbf{"name": "\xff"}')
    with pytest.raises(UnicodeDecodeError) as decoding:
        path.read_text(encoding="utf-8-sig")
    with pytest.raises(InputError) as caught:
        jsontext.read_export(path)
    # (named by line and byte of the file, the BOM counted: 3 + 10 + 1)
    assert str(caught.value).endswith(
        f"not UTF-8 text: byte 0xff at line 1 (byte 14 of the file): {decoding.value.reason}")
    with pytest.raises(InputError, match="cannot read"):
        jsontext.read_export(tmp_path / "missing.json")


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "with BOM"])
def test_a_json_export_not_utf8_names_the_line_of_the_bad_byte(tmp_path: Path,
                                                                bom: bytes) -> None:
    """The error named the byte's offset in Python's words ("'utf-8' codec can't decode
    byte 0xff in position 57: invalid start byte"), not the line an auditor opens the file
    at (found by tests/fuzz_imports.py)."""
    path = tmp_path / "audits.json"
    path.write_bytes(bom + b'{"audits": [\n {"id": 1,\n  "ticket_id": "T\xff1"}\n]}\n')
    with pytest.raises(InputError) as caught:
        jsontext.read_export(path)
    assert "line 3" in caught.value.message and "0xff" in caught.value.message
    assert caught.value.file == str(path)


def test_a_number_too_long_is_told_at_its_line_without_pythons_advice() -> None:
    """An integer of 5,000 digits was refused with Python's own advice, 'use
    sys.set_int_max_str_digits() to increase the limit' (no user can), at line 1 wherever it
    stood: the error names its line and says what the limit is."""
    with pytest.raises(json.JSONDecodeError) as caught:
        loads('{\n "a": 1,\n "b": ' + "9" * 5000 + "\n}")
    assert "sys.set_int_max_str_digits" not in caught.value.msg
    assert "more than 4300 digits" in caught.value.msg
    assert caught.value.lineno == 3
