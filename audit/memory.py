"""Freed memory handed back to the operating system between the stages of a large run.

Freed memory is not always returned: glibc's malloc gives back only the top of its heap (and
after large frees raises its mmap threshold, so later large blocks come from the heap too),
and Arrow's allocator keeps freed pages for reuse. After importing a 1M-case log (7M events)
the process held 7.2 GB while the log needed 2.6 GB; each later stage's peak came on top of
that. `return_free_memory` asks both allocators to give free pages back (a no-op where the C
library has no malloc_trim, e.g. musl or macOS).

`without_huge_pages` turns transparent huge pages off for the process and the processes it
starts (the CLI does so before any command runs). A run of millions of events allocates
arrays of hundreds of megabytes stage after stage and gives them back; with huge pages the
kernel zeroes 2 MiB per page fault, and on a virtual machine whose host reclaims the guest's
free memory (free page reporting: Firecracker, many cloud VMs) a huge page that is fresh to
the host costs about 12 times what its 512 small pages do. Measured on the bench machine
(docs/performance.md): 500 MB first touched in 3.0 s of system time with huge pages, 0.25 s
without. Databases do the same (Redis turns them off for itself). Set
REFUND_AUDIT_HUGE_PAGES=keep to leave the system's setting.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable

PR_SET_THP_DISABLE = 41
PR_GET_THP_DISABLE = 42
KEEP_HUGE_PAGES = "REFUND_AUDIT_HUGE_PAGES"


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def huge_pages_off() -> bool:
    """Whether transparent huge pages are off for this process (False where unknown)."""
    prctl = _prctl()
    return prctl is not None and prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1


def without_huge_pages() -> bool:
    """Turn transparent huge pages off for this process and the processes it starts (the
    setting is inherited by fork and kept across exec): see the module's docstring. Memory
    already in huge pages stays so. Not done where REFUND_AUDIT_HUGE_PAGES is "keep";
    nothing happens where the system has no such setting (not Linux, a kernel before 3.15,
    a sandbox that refuses prctl). Whether they are off afterwards."""
    if os.environ.get(KEEP_HUGE_PAGES, "").strip().lower() == "keep":
        return huge_pages_off()
    prctl = _prctl()
    if prctl is None:
        return False
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)  # an error (EINVAL, EPERM) leaves them as they were
    return huge_pages_off()


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
