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

SIGTERM in the copy (this process stopping it, or a signal to the whole process group, as
`timeout` sends it) raises `audit.errors.Terminated` there, so that its cleanup runs (a
writer removes its partial file); the error comes back, and this process ends as
terminated too. The reading and aligning processes of a ProcessPoolExecutor are stopped
with the process that started them where it is interrupted (`workers_stopped`).

Python runs a signal's handler in the main thread, at its next bytecode. The kernel may give a
signal sent to the process (SIGTERM from `kill` or a scheduler, SIGINT from Ctrl-C) to any of
its threads (pyarrow's jemalloc thread, a process pool's manager thread, the input digests'
thread): the main thread, blocked in a wait without a time limit (a worker's result, a forked
copy's pipe), did not wake to run it, and the command ran on until that work was done (a
worker reading a FIFO: for ever). The waits here (`waited`, `Forked.result`, `joined`) wake
every WAKE seconds, so that a pending handler runs within it.
"""

from __future__ import annotations

import gc
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from audit.errors import Terminated

if TYPE_CHECKING:
    import threading
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")

#: Seconds a wait of the main thread blocks before it wakes to run a pending signal handler.
WAKE = 0.2


def waited(future: Future[T]) -> T:
    """`future.result()`, woken every WAKE seconds (a signal's handler runs meanwhile)."""
    from concurrent.futures import wait

    while not wait((future,), timeout=WAKE).done:
        pass
    return future.result()


def joined(thread: threading.Thread) -> None:
    """`thread.join()`, woken every WAKE seconds (a signal's handler runs meanwhile)."""
    while thread.is_alive():
        thread.join(WAKE)


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
        """The copy's value; the copy's error raised here (its traceback as a note).
        Interrupted while it waits (SIGTERM, Ctrl-C), it raises at once: the caller stops the
        copy (`stop`). Before, it waited for the copy to end on its own."""
        try:
            while not self._receive.poll(WAKE):  # (readable at the copy's end too)
                pass
            outcome = self._receive.recv()
        except EOFError:  # ended without a word: killed, or out of memory
            outcome = None
        self._process.join()
        self._receive.close()
        if outcome is None and self._process.exitcode == -signal.SIGTERM:
            # (SIGTERM's default action, before the copy set its handler: terminated as a
            # whole, as where the copy raised it)
            ended = Terminated(signal.SIGTERM)
            ended.add_note(f"the process {self.doing} was ended by SIGTERM")
            raise ended
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
        first (SIGTERM, raised in the copy as Terminated, so that its cleanup runs: a writer
        removes its partial file), then killed if it has not ended within 10 s."""
        self._process.terminate()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._receive.close()


def _stop(signum: int, frame: Any) -> None:
    # In the copy: its cleanup runs, and is not cut short by a second SIGTERM (one to the
    # process group, then this process's `stop`).
    signal.signal(signum, signal.SIG_IGN)
    raise Terminated(signum)


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


@contextmanager
def workers_stopped(pool: ProcessPoolExecutor) -> Iterator[ProcessPoolExecutor]:
    """`pool`, whose worker processes are stopped where the work in it is interrupted
    (KeyboardInterrupt, Terminated: not an error, after which the pool is left to finish
    as before): its queued work cancelled and each worker asked to end (SIGTERM), then
    killed if it has not ended within 10 s. Without it, leaving `with ProcessPoolExecutor`
    waits for every file or variant given to the workers, and a worker the signal did not
    reach (a SIGTERM to the command alone) ran on after it. Use it inside the pool's
    `with`: `with ProcessPoolExecutor(n) as pool, workers_stopped(pool):`."""
    try:
        yield pool
    except Exception:
        raise
    except BaseException:
        # (the executor's own table of its processes: 3.14's terminate_workers does this)
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
        raise
