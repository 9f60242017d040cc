"""Mutated exports never crash the import: each is imported or refused with an InputError.

A fixed-seed sample of mutations of the hand-written exports in tests/data/sources (values
replaced by other JSON kinds, cells by junk, lines cut, repeated or corrupted, headers
renamed, bytes flipped). Anything but an InputError (a traceback, exit code 1) fails. This
is how the crashes fixed with the JSON shape checks were found.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from audit.errors import InputError
from audit.sources.pipeline import import_and_correlate

SOURCES = Path(__file__).parent / "data" / "sources"
EXPORTS = sorted(p for p in SOURCES.rglob("*") if p.suffix in (".json", ".jsonl", ".csv")
                 and p.parent.name != "roles")
JUNK: list[Any] = [None, 1, -1, 1.5, True, "", " ", "x", "=1+1", [], {}, [1], {"a": 1},
                   "2026-13-45T99:99:99Z", "\u0000", "\U0001F600", "1e309", "-0.00"]


def _mutate_json(value: Any, rng: random.Random, depth: int = 0) -> None:
    """Replace one value somewhere below `value` (an object's or a list's) by junk."""
    slot: Any
    if isinstance(value, dict) and value:
        slot = rng.choice(list(value))
    elif isinstance(value, list) and value:
        slot = rng.randrange(len(value))
    else:
        return
    if rng.random() < 0.3 or depth > 6:
        value[slot] = rng.choice(JUNK)
    else:
        _mutate_json(value[slot], rng, depth + 1)


def _mutate_text(text: str, rng: random.Random) -> bytes:
    lines = text.split("\n")
    r = rng.random()
    if r < 0.2 and len(lines) > 2:
        k = rng.randrange(1, len(lines))
        lines[k] = lines[k][: rng.randrange(len(lines[k]) + 1)]
    elif r < 0.4 and len(lines) > 2:
        k = rng.randrange(1, len(lines))
        cells = lines[k].split(",")
        cells[rng.randrange(len(cells))] = str(rng.choice(JUNK))
        lines[k] = ",".join(cells)
    elif r < 0.55 and len(lines) > 2:
        k = rng.randrange(1, len(lines))
        lines.insert(k, lines[k])
    elif r < 0.7:
        return text[: rng.randrange(len(text) + 1)].encode("utf-8", "surrogatepass")
    elif r < 0.85:
        cells = lines[0].split(",")
        cells[rng.randrange(len(cells))] += "x"
        lines[0] = ",".join(cells)
    else:
        data = bytearray(text.encode("utf-8"))
        for _ in range(3):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("seed", range(60))
def test_a_mutated_export_is_imported_or_refused(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    source = rng.choice(EXPORTS)
    system = source.parent.name
    target = tmp_path / source.name
    text = source.read_text(encoding="utf-8")
    if source.suffix == ".json":
        document = json.loads(text)
        for _ in range(rng.randint(1, 3)):
            _mutate_json(document, rng)
        target.write_text(json.dumps(document), encoding="utf-8")
    else:
        target.write_bytes(_mutate_text(text, rng))
    try:
        import_and_correlate([(target, system)], assume_tz="UTC")
    except InputError as exc:  # refused: the message names the file (row, field if known)
        assert exc.file is not None and Path(exc.file).name == target.name, exc
