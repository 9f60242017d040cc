"""A test helper: msgspec's JSON encoder made to refuse every value, so that the writers'
fallback to json's encoder (`reports.writers._finding_encoder`) is what writes."""

from __future__ import annotations

import pytest


def refuse_msgspec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace `msgspec.json.Encoder` (for this test) by one whose `encode` raises
    msgspec's EncodeError for any value."""
    import msgspec

    class Refusing:
        def __init__(self, **options: object) -> None:
            pass

        def encode(self, value: object) -> bytes:
            raise msgspec.EncodeError("refused")

    monkeypatch.setattr(msgspec.json, "Encoder", Refusing)
