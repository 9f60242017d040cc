"""Decoding JSON exports, and JSON that decodes to text no column can hold: a lone UTF-16
surrogate.

`loads` is `json.loads` made faster: msgspec's strict decoder (BSD-3-Clause) reads the text
where it accepts it, and whatever it refuses is left to `json.loads`, which gives the value or
the error it always gave.

JSON writes characters outside the Basic Multilingual Plane as a pair of escapes
(`\\ud83d\\ude00`), and Python's decoder joins a pair into one character. An escape of half
a pair alone (`\\ud800`) decodes to a lone surrogate: not a character, not encodable as
UTF-8, so no Arrow column, CSV, XLSX or HTML report can hold it. A corrupt export is refused
with the record and the field where the first one is, instead of failing somewhere later.

Only a text with an escaped surrogate can hold one (UTF-8 bytes cannot encode one), so
`may_hold` looks for such an escape first (a regex over the text: about 0.05 s for 120 MB)
and the decoded records are walked only then.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from audit.errors import InputError

_decode = msgspec.json.Decoder().decode


def loads(text: str) -> Any:
    """`json.loads(text)`: the same value, or the same error.

    msgspec decodes the text when it can (Zendesk's 120 MB audits: 0.3 s against 0.7 s, and
    its objects are freed in half the time). It is stricter than `json.loads`: it refuses
    NaN and Infinity, numbers beyond 64 bits or a double's range, escapes of lone surrogates,
    nesting deeper than its limit, and everything malformed; where it accepts a text, the
    value equals `json.loads`' (tests/test_jsontext.py), keys repeated in an object included
    (the last wins). What it refuses is decoded by `json.loads`. An integer of more than
    4,300 digits, which `json.loads` refuses with a plain ValueError, is a JSONDecodeError
    here, as any other malformed number is, so that callers report it as bad input."""
    try:
        return _decode(text)
    except (msgspec.DecodeError, RecursionError):  # a ValidationError is a DecodeError
        pass
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # sys.get_int_max_str_digits(): a number too long
        # (told at the number, without Python's advice to raise the limit, which no user can)
        found = _LONG_NUMBER.search(text)
        raise json.JSONDecodeError(
            f"a number of more than {_DIGITS_READ} digits (longer than an integer is read)",
            text, found.start() if found else 0) from exc


_DIGITS_READ = 4300
"""Python's limit of digits for reading an integer (sys.get_int_max_str_digits' default)."""
_LONG_NUMBER = re.compile(rf"-?[0-9]{{{_DIGITS_READ + 1},}}")


def read_export(path: Path) -> bytes | str:
    """A JSON export's content for the decoders: its bytes where all are ASCII (msgspec
    decodes bytes as they are, and they are the text's own UTF-8; a byte order mark is not
    ASCII); else the text ``path.read_text(encoding="utf-8-sig")`` gives. InputError where the file
    cannot be read or is not UTF-8.

    Zendesk's 120 MB audits took 0.15 s to read as a text, mostly the text layer's line
    endings, and the text was only handed to msgspec, which reads UTF-8. `as_text` gives
    the text where a reader needs one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", file=path) from exc
    if data.isascii():  # no byte order mark (not ASCII), and UTF-8 as it is
        return data
    try:
        return _universal_newlines(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {undecodable_at(data, exc)[1]}",
                         file=path) from exc


def undecodable_at(data: bytes, exc: UnicodeDecodeError) -> tuple[int, str]:
    """Where in `data` (a file's bytes) the byte `exc` (of decoding them as UTF-8, or them
    after a UTF-8 byte order mark) could not be decoded: its line, and the byte, line and
    offset in words, as an auditor opens the file there (Python's "can't decode byte 0xff
    in position 57" named no line)."""
    at = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
    line = data.count(b"\n", 0, at) + 1
    return line, (f"byte 0x{data[at]:02x} at line {line} (byte {at + 1} of the file): "
                  f"{exc.reason}")


def as_text(content: bytes | str) -> str:
    """`read_export`'s content as the text ``Path.read_text`` gives."""
    if isinstance(content, str):
        return content
    return _universal_newlines(content.decode("ascii"))


def _universal_newlines(text: str) -> str:
    """Line endings as a text file read gives them: \\r\\n and \\r each a \\n."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


_SPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, at: int) -> int:
    """`at` past any JSON white space."""
    return _SPACE.match(text, at).end()  # type: ignore[union-attr]  # (always matches)


def line_of_value(text: str, steps: Sequence[str | int], start: int = 0) -> int | None:
    """The line (1-based) on which the value at `steps` starts in a JSON text (in the value
    that starts at `start`, where several follow one another): each step a key of an object
    (given twice: the last, as the decoders take it) or a 0-based index of a list, e.g.
    ``["events", 2]`` for the third event. None where the text does not hold that value, or
    breaks before it. For an error's location only: the values passed over are decoded (one
    walk over the text, as `loads` makes)."""
    decoder = json.JSONDecoder()
    at = _skip(text, 1 if start == 0 and text.startswith("\ufeff") else start)
    try:
        for step in steps:
            found: int | None = None
            if isinstance(step, str) and text.startswith("{", at):
                at = _skip(text, at + 1)
                while text.startswith('"', at):
                    key, at = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
                    at = _skip(text, at)
                    if not text.startswith(":", at):
                        return None
                    at = _skip(text, at + 1)
                    if key == step:
                        found = at
                    at = _skip(text, decoder.raw_decode(text, at)[1])
                    if not text.startswith(",", at):
                        break
                    at = _skip(text, at + 1)
            elif isinstance(step, int) and step >= 0 and text.startswith("[", at):
                at = _skip(text, at + 1)
                for index in range(step + 1):
                    if text.startswith("]", at):
                        break
                    if index == step:
                        found = at
                        break
                    at = _skip(text, decoder.raw_decode(text, at)[1])
                    if not text.startswith(",", at):
                        break
                    at = _skip(text, at + 1)
            if found is None:
                return None
            at = found
    except (ValueError, RecursionError):  # (JSONDecodeError: the text breaks before it)
        return None
    return text.count("\n", 0, at) + 1


def record_line(text: str, keys: Sequence[str], number: int) -> int | None:
    """The line on which record `number` (1-based, counted through the file) of a JSON
    export starts; None where the file holds no such record or breaks before it. Each JSON
    value of the file (one, or several one after another: pages, JSON lines) lists records
    under one of `keys` (an object holding the list; an object there is one record), or is
    a list of such objects (pages saved as one list), or a list of records, or else is one
    record itself. For an error's location only."""
    decoder = json.JSONDecoder()
    at = _skip(text, 1 if text.startswith("\ufeff") else 0)
    left = number
    try:
        while at < len(text) and left > 0:
            start = at
            value, end = decoder.raw_decode(text, at)
            at = _skip(text, end)
            holders = ([(value, [])] if isinstance(value, dict) else
                       [(page, [k]) for k, page in enumerate(value) if isinstance(page, dict)]
                       if isinstance(value, list) and value and all(
                           isinstance(page, dict) and any(key in page for key in keys)
                           for page in value) else [])
            if not holders:
                if isinstance(value, list):
                    if left <= len(value):
                        return line_of_value(text, [left - 1], start)
                    left -= len(value)
                    continue
                left -= 1  # (one record, a line of JSON lines)
                if left == 0:
                    return text.count("\n", 0, start) + 1
                continue
            for holder, steps in holders:
                key = next((key for key in keys if key in holder), None)
                listed = holder.get(key) if key is not None else None
                if key is None or isinstance(listed, dict):
                    left -= 1
                    if left == 0:
                        return line_of_value(text, [*steps, *([key] if key else [])], start)
                elif isinstance(listed, list):
                    if left <= len(listed):
                        return line_of_value(text, [*steps, key, left - 1], start)
                    left -= len(listed)
    except (ValueError, RecursionError):  # (the file breaks before the record)
        return None
    return None


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_ESCAPED_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def may_hold(text: str | bytes) -> bool:
    """Whether a JSON text, or its bytes (decoded strictly, so with no surrogate of its
    own), escapes a surrogate, paired or not, anywhere."""
    if isinstance(text, bytes):
        return _ESCAPED_SURROGATE_BYTES.search(text) is not None
    return _ESCAPED_SURROGATE.search(text) is not None


def _lone(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def shown(text: str) -> str:
    """A text with its surrogates written as escapes (printable, encodable)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def lone_surrogate(value: object, path: str = "") -> tuple[str, str] | None:
    """(field path, text) of the first text in a decoded JSON value, keys included, in
    document order, that holds a lone surrogate; None if there is none."""
    stack: list[tuple[str, object]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if _lone(item):
                return where, item
        elif isinstance(item, dict):
            children: list[tuple[str, object]] = []
            for key, child in item.items():
                name = str(key)
                if _lone(name):
                    return (f"{where}." if where else "") + shown(name), name
                children.append(((f"{where}." if where else "") + name, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend((f"{where}[{k}]", child) for k, child in reversed(list(
                enumerate(item))))
    return None


def refuse_lone_surrogates(records: Iterable[tuple[int | None, str, object]], *,
                           file: Path) -> None:
    """InputError at the first (record number, field path prefix, value) holding a lone
    surrogate."""
    for number, path, value in records:
        found = lone_surrogate(value, path)
        if found is not None:
            where, text = found
            raise InputError(
                f"a text holds a lone UTF-16 surrogate ('{shown(text)[:80]}'): an escape "
                "such as \\ud800 that is half of a character, so the export is corrupt here",
                file=file, record=number, field=where or None)
