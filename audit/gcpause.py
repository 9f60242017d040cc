"""Cyclic garbage collection paused around bulk work.

Python's collector walks every tracked object (lists, tuples, dicts, class instances) each
time one of its generations fills. Importing, checking and reporting a large log build
millions of such objects (per-case event lists, findings, rows) and none in cycles, so the
walks find nothing and only cost time: at 1M cases, building the conformance check's
per-case lists took 9.6 s with the collector running and 1.9 s without. Reference counting
still frees everything as usual; only cycles wait until the collector runs again. When it
resumes, what was made meanwhile is moved to its oldest generation (see `_promote_all`), so
a cycle among it waits for the next full collection.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside (nested uses keep it off until the outermost
    ends, and leave it as they found it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            _promote_all()
            gc.enable()


def _promote_all() -> None:
    """Every object the collector tracks moved into its oldest generation, none examined.

    What the bulk work made while the collector was paused is still counted as young: the
    first young collection after it would walk all of it (0.5 s for the rules' objects at
    1M cases, to free a few hundred), and the next middle one again. Moved to the oldest
    generation, it is walked only by a full collection, whose schedule this leaves as it
    was; any cycle among it is still collected then. (`gc.freeze` moves every tracked
    object to the permanent generation, `gc.unfreeze` from there into the oldest.)"""
    gc.freeze()
    gc.unfreeze()


def gc_paused(function: Callable[P, R]) -> Callable[P, R]:
    """`function` run inside `paused_gc`."""
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused_gc():
            return function(*args, **kwargs)

    return wrapper
