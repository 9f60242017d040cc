"""The fixed columns of a finding in tabular outputs (CSV, XLSX) and how a value is flattened."""

from __future__ import annotations

import json
from typing import Any

FINDING_COLUMNS = ("rule", "name", "severity", "case_id", "timestamp", "message",
                   "amount_at_risk", "currency", "resources", "activities", "event_ids",
                   "waived", "waiver_reason", "fingerprint", "evidence")


_json_text = json.JSONEncoder(ensure_ascii=False, default=str).encode
"""``json.dumps(value, ensure_ascii=False, default=str)``, with one encoder made once
(`json.dumps` makes one per call with these arguments: a third of its time for a finding's
evidence)."""


def flat_value(value: Any) -> Any:
    """A finding field as one cell: lists joined with '; ', dicts as JSON, None as ''.

    Numbers and booleans stay as they are; neutralising formula-like text is the writer's job.
    """
    if isinstance(value, list | tuple):
        return "; ".join(map(str, value))
    if isinstance(value, dict):
        return _json_text(value)
    if value is None:
        return ""
    return value
