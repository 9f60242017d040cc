"""Freed memory handed back to the operating system between the stages of a large run.

Freed memory is not always returned: glibc's malloc gives back only the top of its heap (and
after large frees raises its mmap threshold, so later large blocks come from the heap too),
and Arrow's allocator keeps freed pages for reuse. After importing a 1M-case log (7M events)
the process held 7.2 GB while the log needed 2.6 GB; each later stage's peak came on top of
that. `return_free_memory` asks both allocators to give free pages back (a no-op where the C
library has no malloc_trim, e.g. musl or macOS).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    # The symbols the process already has (not ctypes.util.find_library, which runs a
    # subprocess: a fork of a process holding gigabytes).
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def return_free_memory() -> None:
    """Give memory freed by Python, numpy and Arrow back to the operating system."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
