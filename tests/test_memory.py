"""audit.memory: memory freed between stages goes back to the operating system."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.memory import _malloc_trim, return_free_memory

STATM = Path("/proc/self/statm")


def resident_mb() -> float:
    return int(STATM.read_text().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not STATM.exists() or _malloc_trim() is None,
                    reason="needs Linux /proc and a C library with malloc_trim (glibc)")
def test_freed_heap_memory_is_returned() -> None:
    # 300 MB of 1 kB blocks (above Python's small-object allocator: from malloc's heap),
    # freed except the last, which pins the top of the heap: free() alone returns nothing.
    blocks = [bytes(1000) + str(k).encode() for k in range(300_000)]
    last = blocks[-1]
    held = resident_mb()
    del blocks
    kept = resident_mb()
    return_free_memory()
    after = resident_mb()
    assert kept > held - 100  # freed, but still resident
    assert after < kept - 200, (held, kept, after)
    assert last.endswith(b"299999")
