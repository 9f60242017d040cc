"""The fixed columns of a finding in tabular outputs (CSV, XLSX) and how a value is flattened."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

FINDING_COLUMNS = ("rule", "name", "severity", "case_id", "timestamp", "message",
                   "amount_at_risk", "currency", "resources", "activities", "event_ids",
                   "waived", "waiver_reason", "fingerprint", "evidence")


def json_encoder() -> Callable[[Any], str]:
    """``JSONEncoder(ensure_ascii=False, default=str).encode``, i.e. ``json.dumps(value,
    ensure_ascii=False, default=str)``. Where the json module has its C encoder, that
    encoder is made once and called as `encode` calls it: `encode` makes a new one for
    every call (for a finding's evidence about 40% of the time, 0.62 -> 0.38 s for the
    235,008 findings at 1M cases; findings.json's records, about a sixth of its time).
    Used only if it gives `encode`'s text for a sample value; otherwise `encode` itself.
    An error while encoding (e.g. a circular value) clears the encoder's record of the
    containers it is in, as a new encoder would start."""
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encode
    join = "".join
    try:
        markers: dict[int, Any] = {}
        made = make(markers, str, json.encoder.encode_basestring, None, ": ", ", ", False,
                    False, True)

        def encoded(value: Any) -> str:
            try:
                return join(made(value, 0))
            except BaseException:
                markers.clear()
                raise

        sample = {"a": [1, -2.5, None, True, float("nan"), ("t", 10**20)], "é\n": {"q": '"'},
                  "d": Decimal("1.50"), "e": {}, 3: "int key"}
        if encoded(sample) == encode(sample):
            return encoded
    except (TypeError, ValueError):
        pass
    return encode


json_text = json_encoder()
"""``json.dumps(value, ensure_ascii=False, default=str)``, with one encoder made once: for
one thread at a time (its record of open containers is shared; the writers that use it run
in separate processes)."""


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
