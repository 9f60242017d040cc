"""Work done by a forked copy of this process while this one goes on.

A forked copy shares this process's memory and copies only the pages it writes: the log of
millions of events is neither pickled nor sent. The audit uses it where it has two pieces of
independent work and two cores: the rules (audit.rules.engine) and the reports
(reports.writers). Only where processes fork (Linux), and not from a daemonic process (a
multiprocessing worker may not have children).

The copy runs without the cyclic garbage collector (its walks would touch, and so copy, every
page of the parent's objects) and ends with `os._exit` (multiprocessing's fork start), so the
parent's objects are never finalised twice. Its result comes back pickled; its error is raised
in this process with the copy's traceback as a note.
"""

from __future__ import annotations

import gc
import pickle
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """Whether work can go to a forked copy of this process here."""
    import multiprocessing

    return (sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


class Forked(Generic[T]):
    """`function(*args)` run in a forked copy; `result` waits for its value.

    `doing` says what the copy does, for messages ("writing a report")."""

    def __init__(self, function: Callable[..., T], *args: Any, doing: str) -> None:
        import multiprocessing

        self.doing = doing
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_in_child, args=(function, args, send),
                                        name=f"refund-audit {doing}", daemon=True)
        self._process.start()
        send.close()

    def result(self) -> T:
        """The copy's value; the copy's error raised here (its traceback as a note)."""
        try:
            outcome = self._receive.recv()
        except EOFError:  # ended without a word: killed, or out of memory
            outcome = None
        finally:
            self._process.join()
            self._receive.close()
        if outcome is None:
            raise RuntimeError(f"the process {self.doing} ended with exit code "
                               f"{self._process.exitcode} and no result")
        if outcome[0] == "ok":
            return outcome[1]  # type: ignore[no-any-return]
        _, error, trace = outcome
        error.add_note(f"in the process {self.doing}:\n{trace}")
        raise error

    def stop(self) -> None:
        """Ends the copy if it still runs (this process failed or was interrupted): asked
        first (SIGTERM, raised in the copy as SystemExit, so that its cleanup runs: a writer
        removes its partial file), then killed if it has not ended within 10 s."""
        self._process.terminate()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._receive.close()


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(1)  # in the copy: its cleanup runs


def _in_child(function: Callable[..., Any], args: tuple[Any, ...], send: Any) -> None:
    gc.disable()
    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            value = function(*args)
            send.send(("ok", value))
        except BaseException as exc:  # handed to the parent, which raises it
            trace = traceback.format_exc()
            try:
                pickle.loads(pickle.dumps(exc))  # noqa: S301 (our own bytes, this process)
            except Exception:  # an error that does not survive pickling: its text does
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            send.send(("error", exc, trace))
    finally:
        send.close()
