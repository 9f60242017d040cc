"""Freed memory handed back to the operating system between the stages of a large run.

Freed memory is not always returned: glibc's malloc gives back only the top of its heap (and
after large frees raises its mmap threshold, so later large blocks come from the heap too),
and Arrow's allocator keeps freed pages for reuse. After importing a 1M-case log (7M events)
the process held 7.2 GB while the log needed 2.6 GB; each later stage's peak came on top of
that. `return_free_memory` asks both allocators to give free pages back (a no-op where the C
library has no malloc_trim, e.g. musl or macOS).

`without_huge_pages` turns transparent huge pages off for the process and the processes it
starts (the CLI does so before any command runs). A run of millions of events allocates
arrays of hundreds of megabytes stage after stage and gives them back, and numpy asks for
huge pages for large arrays (madvise). On the bench machine, a virtual machine that reports
its free memory to the host, 500 MB first touched took 3.0 s of system time with huge pages
and 0.25 s without (docs/performance.md; probably the host faulting in each huge page's
memory anew, not verified on the host). Redis turns them off for itself in the same way. Set
REFUND_AUDIT_HUGE_PAGES=keep to leave the system's setting.

`reuse_freed_memory` makes glibc's malloc keep freed blocks for the next allocation (the
CLI does so before any command runs). By default glibc gives a block above its mmap
threshold (128 KiB, rising to at most 32 MiB) a mapping of its own, unmapped when freed, and
trims free memory above 128 KiB off the top of its heap: every array of a large run came
from new pages, each of them faulted in and zeroed by the kernel. With blocks of up to 1 GiB
served from the heap and nothing trimmed when freed, a stage reuses what the last one freed;
`return_free_memory` still hands it back between stages (malloc_trim trims whatever the
settings say). On the bench machine's 1M-case audit: page faults about 9.8M -> 7.6M, system
time about 4 s less, the run 3-6 s faster; the main process's peak RSS 40-70 MiB higher and
the process tree's peak PSS about 130 MiB higher (docs/performance.md). Set
REFUND_AUDIT_MALLOC=keep, or any of glibc's own malloc settings, to leave them as they are.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path

PR_SET_THP_DISABLE = 41
PR_GET_THP_DISABLE = 42
KEEP_HUGE_PAGES = "REFUND_AUDIT_HUGE_PAGES"
KEEP_MALLOC = "REFUND_AUDIT_MALLOC"
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters
MMAP_FROM = 1 << 30
"""Blocks at least this large still get a mapping of their own (mallopt takes a C int)."""
TRIM_FROM = 1 << 30
"""Free memory at the heap's top is trimmed by free() only beyond this (return_free_memory
trims it all)."""
TOP_PAD = 64 << 20
"""Extra memory asked for whenever the heap grows, so that it grows less often."""
_OWN_MALLOC_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_",
                        "MALLOC_MMAP_MAX_")


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _call(prctl: Callable[..., int], option: int, value: int = 0) -> int:
    # prctl is variadic: its further arguments are unsigned longs, all of which the kernel
    # checks (a C int would leave the register's upper half undefined).
    zero = ctypes.c_ulong(0)
    return int(prctl(ctypes.c_int(option), ctypes.c_ulong(value), zero, zero, zero))


def huge_pages_off() -> bool:
    """Whether transparent huge pages are off for this process, everywhere: the kernel
    says 1 (False where unknown; any other value, such as a newer kernel's "off except
    where advised", is not off for us, since numpy advises huge pages)."""
    prctl = _prctl()
    return prctl is not None and _call(prctl, PR_GET_THP_DISABLE) == 1


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
    _call(prctl, PR_SET_THP_DISABLE, 1)  # an error (EINVAL, EPERM) leaves them as they were
    return huge_pages_off()


def prepare_process() -> None:
    """What every command does before it runs: `without_huge_pages`, `reuse_freed_memory`."""
    without_huge_pages()
    reuse_freed_memory()


def reuse_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse, until `return_free_memory` gives it
    back (see the module's docstring). Process-wide, for its whole life; a forked process
    inherits it. Not done where REFUND_AUDIT_MALLOC is "keep" or the environment holds
    glibc's own malloc settings (MALLOC_TRIM_THRESHOLD_ and the like, or glibc.malloc
    tunables); nothing happens where the C library has no mallopt or ignores it (macOS,
    musl). Whether the settings were made."""
    if os.environ.get(KEEP_MALLOC, "").strip().lower() == "keep" or any(
            name in os.environ for name in _OWN_MALLOC_SETTINGS) or \
            "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    mallopt = _mallopt()
    if mallopt is None:
        return False
    # Each returns 1 where taken; an older glibc that refuses one leaves it as it was.
    taken = [mallopt(M_MMAP_THRESHOLD, MMAP_FROM), mallopt(M_TRIM_THRESHOLD, TRIM_FROM),
             mallopt(M_TOP_PAD, TOP_PAD)]
    return all(result == 1 for result in taken)


@functools.cache
def _mallopt() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        mallopt: Callable[[int, int], int] = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    return mallopt


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


def memory_text(size: int) -> str:
    """`size` bytes as a message shows them: in GiB from 1 GiB (one decimal), in MiB below
    (before, '0.0 GiB' was said of anything under 50 MiB), in bytes below 1 MiB."""
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GiB"
    if size >= 1 << 20:
        return f"{size / (1 << 20):,.0f} MiB"
    return f"{size:,} bytes"


def available_memory(meminfo: Path = Path("/proc/meminfo"),
                     cgroup: Path = Path("/sys/fs/cgroup"),
                     own: Path = Path("/proc/self/cgroup"),
                     status: Path = Path("/proc/self/status")) -> int | None:
    """Bytes the process can still take before the system runs short: Linux's MemAvailable
    (`meminfo`), lowered to what a memory cgroup of the process allows beyond what it holds,
    where one sets a limit (`cgroup_memory_left`), and to what its address-space limit
    allows beyond the address space it holds (`address_space_left`: `ulimit -v`); None
    where none can be read (not Linux)."""
    found: list[int] = []
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for left in (cgroup_memory_left(cgroup, own), address_space_left(status)):
        if left is not None:
            found.append(left)
    return min(found) if found else None


def address_space_left(status: Path = Path("/proc/self/status")) -> int | None:
    """What the process's address-space limit (RLIMIT_AS, `ulimit -v`) allows beyond the
    address space it holds (`VmSize` of `status`), at least 0; None where no limit is set
    or either cannot be read. Past it an allocation fails (a MemoryError, or an internal
    error of a library) though the system has memory to spare."""
    try:
        import resource
    except ImportError:  # (not on Unix)
        return None
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return None
    try:
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmSize:"):
                return max(limit - int(line.split()[1]) * 1024, 0)
    except (OSError, ValueError, IndexError):
        pass
    return None


UNLIMITED_V1 = 1 << 62
"""A cgroup v1 `memory.limit_in_bytes` this high sets no limit (unlimited reads as about
2**63, rounded down to a page)."""


def cgroup_memory_left(cgroup: Path = Path("/sys/fs/cgroup"),
                       own: Path = Path("/proc/self/cgroup")) -> int | None:
    """The least a memory cgroup of the process allows beyond what it holds, of those that
    set a limit; None where none does (or none can be read).

    The cgroups read: the process's own (its path in `own`, /proc/self/cgroup), under
    `cgroup` (cgroup v2; v1's memory controller at `cgroup`/memory), and its ancestors up to
    `cgroup`, those that exist here (in a container, `cgroup` is usually the container's own
    cgroup, and the path given is not under it). What a cgroup holds is its usage
    (v2 `memory.current`, v1 `memory.usage_in_bytes`) less its inactive file cache
    (`memory.stat`'s `inactive_file`, v1 `total_inactive_file`), as `docker stats` counts
    it: the usage counts the page cache of the files read, which the kernel reclaims before
    it runs out; active file cache is counted as held (it is reclaimed too, but later)."""
    paths = {"v2": "", "v1": ""}
    try:
        for line in own.read_text(encoding="ascii").splitlines():
            number, controllers, path = line.split(":", 2)
            if number == "0" and not controllers:
                paths["v2"] = path
            elif "memory" in controllers.split(","):
                paths["v1"] = path
    except (OSError, ValueError):
        pass
    left: list[int] = []
    for root, path, files in (
            (cgroup, paths["v2"], ("memory.max", "memory.current", "inactive_file")),
            (cgroup / "memory", paths["v1"],
             ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"))):
        parts = [part for part in path.split("/") if part and part not in (".", "..")]
        for depth in range(len(parts), -1, -1):
            found = _cgroup_left(root.joinpath(*parts[:depth]), *files)
            if found is not None:
                left.append(found)
    return min(left) if left else None


def _cgroup_left(folder: Path, limit_file: str, usage_file: str, inactive: str) -> int | None:
    """The bytes cgroup `folder` allows beyond what it holds (`cgroup_memory_left`), None
    where it sets no limit or its files cannot be read."""
    try:
        limit = (folder / limit_file).read_text(encoding="ascii").strip()
        if limit == "max" or int(limit) >= UNLIMITED_V1:
            return None
        usage = int((folder / usage_file).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    cache = 0
    try:
        for line in (folder / "memory.stat").read_text(encoding="ascii").splitlines():
            name, _, value = line.partition(" ")
            if name == inactive:
                cache = int(value)
                break
    except (OSError, ValueError):
        pass
    return max(int(limit) - max(usage - cache, 0), 0)
