"""audit.gcpause: the collector paused around bulk work, and what was made meanwhile moved
to the oldest generation when it resumes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from audit.gcpause import gc_paused, paused_gc


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _generation_of(obj: object) -> int | None:
    for generation in (0, 1, 2):
        if any(o is obj for o in gc.get_objects(generation)):
            return generation
    return None


@pytest.fixture
def collector_on() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not enabled:
            gc.disable()


def test_objects_made_while_paused_are_in_the_oldest_generation_after(
        collector_on: None) -> None:
    with paused_gc():
        assert not gc.isenabled()
        made = [Node() for _ in range(1000)]
        assert _generation_of(made[0]) == 0  # young while the work runs
    assert gc.isenabled()
    assert _generation_of(made[0]) == 2 and _generation_of(made) == 2
    assert gc.get_freeze_count() == 0  # none left in the permanent generation


def test_nested_pauses_resume_and_promote_once_at_the_outermost(collector_on: None) -> None:
    with paused_gc():
        with paused_gc():
            inner = Node()
        assert not gc.isenabled() and _generation_of(inner) == 0
        outer = Node()
    assert gc.isenabled() and _generation_of(inner) == _generation_of(outer) == 2


def test_a_pause_inside_a_disabled_collector_leaves_it_as_it_was() -> None:
    enabled = gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            made = Node()
        assert not gc.isenabled() and _generation_of(made) == 0
    finally:
        if enabled:
            gc.enable()


def test_a_cycle_made_while_paused_is_still_collected(collector_on: None) -> None:
    @gc_paused
    def make() -> None:
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle, unreachable once this returns

    def nodes() -> int:
        return sum(isinstance(o, Node) for o in gc.get_objects())

    gc.collect()
    before = nodes()
    make()
    gc.disable()  # (no collection of its own choosing while the nodes are counted)
    try:
        assert nodes() == before + 2 and gc.get_freeze_count() == 0
        gc.collect()
        assert nodes() == before
    finally:
        gc.enable()
