"""The fixed columns of a finding in tabular outputs (CSV, XLSX) and how a value is flattened."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import chain
from types import NoneType
from typing import Any

from audit.findings import Source

FINDING_COLUMNS = ("rule", "name", "severity", "case_id", "channel", "timestamp", "message",
                   "amount_at_risk", "currency", "resources", "activities", "event_ids",
                   "sources", "waived", "waiver_reason", "waiver_expired", "fingerprint",
                   "evidence", "case_quarantined_rows")


def json_encoder() -> StrictJSON:
    """``json.dumps(value, ensure_ascii=False, default=str)``, except that a float JSON has
    no literal for (NaN, an infinity) is null, as in findings.json (see `StrictJSON`).

    Where the json module has its C encoder, that encoder is made once and called as
    `encode` calls it: `encode` makes a new one for every call (for a finding's evidence
    about 40% of the time, 0.62 -> 0.38 s for the 235,008 findings at 1M cases). Used only
    if it gives `encode`'s text for a sample value; otherwise `encode` itself. An error
    while encoding (e.g. a circular value) clears the encoder's record of the containers it
    is in, as a new encoder would start."""
    encode = json.JSONEncoder(ensure_ascii=False, default=str, allow_nan=False).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return StrictJSON(encode)
    join = "".join
    try:
        markers: dict[int, Any] = {}
        made = make(markers, str, json.encoder.encode_basestring, None, ": ", ", ", False,
                    False, False)

        def encoded(value: Any) -> str:
            try:
                return join(made(value, 0))
            except BaseException:
                markers.clear()
                raise

        sample = {"a": [1, -2.5, None, True, ("t", 10**20)], "é\n": {"q": '"'},
                  "d": Decimal("1.50"), "e": {}, 3: "int key", 2.5: "float key"}
        if encoded(sample) == encode(sample):
            return StrictJSON(encoded)
    except (TypeError, ValueError):
        pass
    return StrictJSON(encode)


_NOT_FINITE = "Out of range float values are not JSON compliant"
"""The start of json's error for a NaN or infinity where `allow_nan` is off."""


class StrictJSON:
    """A JSON text of a value, strict: json's encoder (`encode`, `allow_nan` off), and where
    it meets a NaN or an infinity, which JSON has no literal for (json's default writes
    NaN, which JavaScript's parser, jq, Go and Power Query refuse), the text of the value
    with each of them null, as msgspec writes them in findings.json (a dict key among them
    stays json's key text, "NaN"). A finding's evidence so reads the same in findings.json,
    the CSV, the XLSX and the HTML report."""

    def __init__(self, encode: Callable[[Any], str]) -> None:
        self.encode = encode

    def __call__(self, value: Any) -> str:
        try:
            return self.encode(value)
        except ValueError as exc:
            if not str(exc).startswith(_NOT_FINITE):
                raise
        return self.encode(_finite(value, set()))


def _finite(value: Any, within: set[int]) -> Any:
    """`value` with every NaN and infinity None (containers copied, tuples as lists, as
    JSON writes them); `within`: the ids of the containers it is in, so that a circular
    value raises json's error rather than recursing without end."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if not isinstance(value, dict | list | tuple):
        return value
    if id(value) in within:
        raise ValueError("Circular reference detected")
    within.add(id(value))
    try:
        if isinstance(value, dict):
            return {_key(key): _finite(item, within) for key, item in value.items()}
        return [_finite(item, within) for item in value]
    finally:
        within.discard(id(value))


def _key(key: Any) -> Any:
    """A dict key as json writes it with `allow_nan` on: a NaN or infinity as its text."""
    if isinstance(key, float) and not math.isfinite(key):
        return "NaN" if key != key else ("Infinity" if key > 0 else "-Infinity")
    return key


json_text = json_encoder()
"""``json.dumps(value, ensure_ascii=False, default=str)`` as strict JSON (`StrictJSON`), with
one encoder made once: for one thread at a time (its record of open containers is shared;
the writers that use it run one after another, or in separate processes)."""


def flat_value(value: Any) -> Any:
    """A finding field as one cell: lists joined with '; ', dicts as JSON, None as ''.

    Numbers and booleans stay as they are; neutralising formula-like text is the writer's job.
    """
    if isinstance(value, list | tuple):
        if all(type(v) is str for v in value):  # texts, as findings hold them
            return "; ".join(value)
        return "; ".join(map(str, value))  # (a str subclass may have a str() of its own)
    if isinstance(value, dict):
        return json_text(value)
    if value is None:
        return ""
    return value


def flat_texts(values: Sequence[Any]) -> list[str] | None:
    """`flat_value` of each of one column's `values`, where the column is of one kind of
    text (texts; texts or None; lists of texts; dicts, the evidence), made in C calls, not
    value by value; None for any other column (numbers, booleans, mixed kinds), whose
    values the caller flattens one by one."""
    kinds = set(map(type, values))
    if kinds == {str}:  # ids, times, messages, fingerprints
        return list(values)
    if kinds <= {str, NoneType}:  # texts or None (or no value): currencies, waivers' reasons
        return ["" if v is None else v for v in values]
    if kinds == {list} and set(map(type, chain.from_iterable(values))) <= {str, Source}:
        return list(map("; ".join, values))  # as flat_value joins them (a source: its text)
    if kinds == {dict}:  # the evidence, as flat_value encodes it
        return list(map(json_text, values))
    return None
