"""Progress of a long run on stderr: stage lines with the elapsed time.

Shown only on a terminal (stderr is a TTY) and not with `--quiet`; `--verbose` shows the
stages and adds per-rule timings even when stderr is piped. Nothing else is ever written,
so a piped run's stderr holds only its errors.

The pipeline reports through `current()`, which is a silent reporter unless the CLI installed
one with `using(...)`; library callers see no output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from audit.rules.base import FAMILIES

if TYPE_CHECKING:
    from audit.rules.registry import RuleSet


def is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a file
        return False


class Progress:
    """Writes stage lines (`[  1.2s] correlating`) and, with `timings`, per-rule times."""

    def __init__(self, stream: TextIO | None = None, *, stages: bool = False,
                 timings: bool = False, clock: Callable[[], float] = time.perf_counter) -> None:
        self.stream = stream
        self.stages = stages and stream is not None
        self.timings = timings and stream is not None
        self.clock = clock
        self.started = clock()
        self._family: str | None = None

    @classmethod
    def for_cli(cls, *, quiet: bool, verbose: bool, stream: TextIO | None = None) -> Progress:
        """The reporter of one CLI invocation: stages on a TTY, everything with --verbose,
        nothing with --quiet."""
        stream = stream if stream is not None else sys.stderr
        if quiet:
            return cls(None)
        return cls(stream, stages=verbose or is_tty(stream), timings=verbose)

    @property
    def enabled(self) -> bool:
        return self.stages or self.timings

    def elapsed(self) -> float:
        return self.clock() - self.started

    def _write(self, text: str) -> None:
        """One line, its control characters and line breaks shown (a file name in a stage's
        line may hold an escape sequence the terminal would run, or a line break beginning
        a line of its own)."""
        from audit.safety import shown_on_one_line

        assert self.stream is not None
        self.stream.write(shown_on_one_line(text) + "\n")
        self.stream.flush()

    def stage(self, message: str) -> None:
        """A stage begins (reading, correlating, building facts, a rule family, a report)."""
        if self.stages:
            self._write(f"[{self.elapsed():6.1f}s] {message}")

    def timing(self, label: str, seconds: float) -> None:
        if self.timings:
            self._write(f"  {label:<36} {seconds:8.3f}s")

    def done(self) -> None:
        self.stage("done")

    def each(self, items: Iterable[Any], describe: Callable[[Any], str]) -> Iterator[Any]:
        """Each of `items`, with a stage line before it."""
        for item in items:
            self.stage(describe(item))
            yield item

    def time_rules(self, ruleset: RuleSet) -> None:
        """Wrap the rules of `ruleset` (fresh instances of one run) so that each rule family
        starts a stage and, with timings, each rule's time is reported."""
        if not self.enabled:
            return
        for rule in ruleset:
            setattr(rule, "check", self._timed(rule))  # noqa: B010 (instance attribute)

    def _timed(self, rule: Any) -> Callable[[Any], Any]:
        check = rule.check

        def timed(facts: Any) -> Any:
            if rule.family != self._family:
                self._family = rule.family
                name = FAMILIES.get(rule.family, rule.family)
                self.stage(f"rules: {name} ({rule.family})" + (
                    " -- aligning cases on the SOP" if rule.family == "CF"
                    and not facts.conformance_computed else ""))
            start = self.clock()
            try:
                return list(check(facts))
            finally:
                self.timing(f"rule {rule.code} {rule.name}", self.clock() - start)

        return timed


_SILENT = Progress(None)
_current: Progress = _SILENT


def current() -> Progress:
    """The reporter the running command installed (a silent one otherwise)."""
    return _current


@contextmanager
def using(progress: Progress) -> Iterator[Progress]:
    """Install `progress` as `current()` for the block."""
    global _current
    previous, _current = _current, progress
    try:
        yield progress
    finally:
        _current = previous
