"""SIGTERM (a scheduler, `timeout`, a container's stop) ends the console script as Ctrl-C
does: its cleanup runs (the staging folder of `check --out` removed, a forked copy and
reading workers stopped), "error: interrupted (SIGTERM)" on stderr and exit code 143 (128 +
SIGTERM, as a shell says). Before, the default action of SIGTERM ended the process at once:
its staging folder stayed in --out (until a later run removed it), a forked copy writing
the XLSX and the workers reading inputs ran on, orphaned.

Each run is held at a known point (a writer that waits, an input that is a FIFO), found by
what it left on disk, before the signal is sent: no timing guesses."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit.sample import SampleSpec, write_sample
from tests.test_check_cli import run

REPO = Path(__file__).resolve().parents[1]

HELD = """
import os, sys, time
from pathlib import Path

import reports.writers as writers
from audit.cli import run

hold = Path(sys.argv[1])

def tell_pid(name):
    # (written aside and renamed: a test waiting for the file never reads it empty)
    aside = hold / f".{name}.pid"
    aside.write_text(str(os.getpid()), encoding="utf-8")
    os.replace(aside, hold / f"{name}.pid")

def held(name):
    def write(run, out):
        path = out / ("report.html" if name == "html" else "findings.xlsx")
        path.write_text("cut short", encoding="utf-8")  # a partial file in the staging folder
        tell_pid(name)
        time.sleep(120)
        raise AssertionError("not interrupted")
    return write

if not os.environ.get("HTML_NOT_HELD"):
    writers.WRITERS["html"] = held("html")
if os.environ.get("HOLD_XLSX_IN_COPY"):  # the XLSX written (and held) in a forked copy
    writers.FORK_XLSX_FROM = 0
    writers.write_xlsx = held("xlsx")
if os.environ.get("READ_IN_WORKERS"):  # inputs read in worker processes, held.csv held
    import audit.ingest
    audit.ingest.PARALLEL_FROM_BYTES = 0
    read_one = audit.ingest._read_one

    def held_read(source, **options):
        if source[0].name == "held.csv":
            tell_pid("reader")
            time.sleep(120)
        return read_one(source, **options)

    audit.ingest._read_one = held_read
sys.argv = ["refund-audit", *sys.argv[2:]]
run()
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(SampleSpec(channel="offline", cases=20, seed=5, violation_rate=0.3), out)
    return out / "canonical.csv"


def _running(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, ended but not reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _wait_for(found: object, child: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not callable(found) or not found():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, f"the command never got to {what}"
        time.sleep(0.05)


def _stderr(child: subprocess.Popen[str]) -> str:
    """What the command wrote on stderr (read once it and what it left running ended:
    a process left running holds the pipe open)."""
    assert child.stderr is not None
    return child.stderr.read()


def _end(child: subprocess.Popen[str], pids: list[int]) -> None:
    """After a test: the command, and any process of it left running, killed."""
    if child.poll() is None:
        child.kill()
        child.wait()
    for pid in pids:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(sys.platform != "linux", reason="fork, /proc")
@pytest.mark.parametrize(("copy", "signalled"), [(False, "command"), (True, "command"),
                                                 (True, "group"), (True, "copy")],
                         ids=["one-process", "forked-copy", "forked-copy-group",
                              "forked-copy-alone"])
def test_sigterm_while_writing_cleans_up_and_exits_143(
        sample: Path, tmp_path: Path, copy: bool, signalled: str) -> None:
    """SIGTERM while the reports are written into the staging folder (report.html, and in
    `copy` findings.xlsx in a forked copy of the process, each held half written): the
    staging folder is removed, the earlier run's reports in --out are as they were, the
    copy has ended, exit code 143. The signal goes to the command alone (`kill PID`, a
    container's stop), to its whole process group (as `timeout` sends it: the copy gets it
    too), or to the copy alone (report.html not held: the command waits for the copy's
    result; before, the copy's SystemExit(1) came back and ended the command with exit
    code 1, "findings")."""
    out = tmp_path / "out"
    run("check", str(sample), "--out", str(out), "--fail-on", "never", code=0)
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"findings.json", "report.html", "findings.xlsx"} <= set(earlier)
    hold = tmp_path / "hold"
    hold.mkdir()
    env = {**os.environ, "HOLD_XLSX_IN_COPY": "1" if copy else "",
           "HTML_NOT_HELD": "1" if signalled == "copy" else ""}
    child = subprocess.Popen(
        [sys.executable, "-c", HELD, str(hold), "check", str(sample), "--out", str(out),
         "--fail-on", "never"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
        start_new_session=True)
    held = [*(["html"] if signalled != "copy" else []), *(["xlsx"] if copy else [])]
    pids: list[int] = []
    try:
        _wait_for(lambda: all((hold / f"{n}.pid").exists() for n in held), child,
                  "writing its reports")
        pids = [int((hold / f"{n}.pid").read_text()) for n in held]
        staging = [p for p in out.iterdir() if p.name.startswith(".refund-audit-")]
        assert len(staging) == 1
        assert (staging[0] / ("findings.xlsx" if signalled == "copy" else "report.html")).exists()
        if signalled == "group":
            os.killpg(child.pid, signal.SIGTERM)
        elif signalled == "copy":
            os.kill(pids[-1], signal.SIGTERM)
        else:
            child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
        left = [pid for pid in pids if _running(pid)]
    finally:
        _end(child, pids)
    err = _stderr(child)
    assert child.returncode == 143, err
    assert err.strip().splitlines()[-1] == "error: interrupted (SIGTERM)", err
    assert "Traceback" not in err
    assert left == [], "a forked copy is still running"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier


@pytest.mark.skipif(sys.platform != "linux", reason="fork, /proc")
def test_sigterm_while_workers_read_stops_them_and_exits_143(sample: Path,
                                                             tmp_path: Path) -> None:
    """SIGTERM to the command while a worker process reads an input (held there; the other
    input is read by the command itself): the workers end with the command, exit code 143.
    Before, the worker outlived the command (and with the signal raised in the command but
    the pool waited for, the command waited for every worker's file)."""
    held = tmp_path / "held.csv"
    held.write_bytes(sample.read_bytes())
    out = tmp_path / "out"
    env = {**os.environ, "READ_IN_WORKERS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", HELD, str(tmp_path), "check", str(sample), str(held),
         "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
        start_new_session=True)
    workers: list[int] = []
    try:
        _wait_for(lambda: (tmp_path / "reader.pid").exists(), child, "reading its inputs")
        workers = _children(child.pid)
        assert int((tmp_path / "reader.pid").read_text()) in workers
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
        left = [pid for pid in workers if _running(pid)]
    finally:
        _end(child, workers)
    err = _stderr(child)
    assert child.returncode == 143, err
    assert err.strip().splitlines()[-1] == "error: interrupted (SIGTERM)", err
    assert "Traceback" not in err
    assert left == [], "a reading worker is still running"
    # (no staging folder left: `out`, which the run made and wrote nothing into, removed)
    assert not out.exists()


def _another_thread(pid: int) -> int:
    """A thread of process `pid` other than its main one, that does not block SIGTERM."""
    for task in sorted(Path(f"/proc/{pid}/task").iterdir(), key=lambda t: int(t.name)):
        status = dict(line.split(":\t", 1) for line in
                      (task / "status").read_text().splitlines() if ":\t" in line)
        if int(task.name) != pid and not int(status["SigBlk"], 16) >> (signal.SIGTERM - 1) & 1:
            return int(task.name)
    raise AssertionError(f"process {pid} has no other thread taking SIGTERM")


def _sleeping(pid: int) -> bool:
    """Whether the main thread of process `pid` sleeps, in 25 looks over half a second (the
    copy's work is held, but the command writes its own reports meanwhile)."""
    for _ in range(25):
        stat = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2] != "S":
            return False
        time.sleep(0.02)
    return True


def _tgkill(pid: int, tid: int, signum: int) -> None:
    """Signal `signum` to thread `tid` of process `pid` (Linux's tgkill: no Python call)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(TGKILL[platform.machine()], pid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill {pid} {tid}")


TGKILL = {"x86_64": 234, "aarch64": 131}  # the system call's number on each architecture


@pytest.mark.skipif(sys.platform != "linux" or platform.machine() not in TGKILL,
                    reason="fork, /proc, tgkill")
@pytest.mark.parametrize("waiting", ["reading-worker", "forked-copy"])
@pytest.mark.parametrize("thread", ["another-thread", "main-thread"])
def test_sigterm_while_the_command_waits_ends_it(sample: Path, tmp_path: Path, waiting: str,
                                                 thread: str) -> None:
    """SIGTERM to the command while its main thread waits for a worker reading an input or
    for a forked copy writing the XLSX, each held for 120 s: the command ends within seconds,
    exit code 143, the worker or copy stopped. The signal is taken by the main thread, or by
    another (a signal sent to a process may go to any thread not blocking it: here it is
    sent to such a thread). Before, taken by another thread it never woke the main thread,
    blocked in its wait, to run the handler: the command ran on until the worker's or copy's
    work was done (a worker reading a FIFO: for ever); and taken by the main thread while it
    waited for the copy, the command waited for the copy to end on its own."""
    out = tmp_path / "out"
    if waiting == "reading-worker":
        held = tmp_path / "held.csv"
        held.write_bytes(sample.read_bytes())
        args = [str(sample), str(held)]
        env = {**os.environ, "READ_IN_WORKERS": "1"}
        pid_file = tmp_path / "reader.pid"
    else:
        args = [str(sample), "--fail-on", "never"]
        env = {**os.environ, "HOLD_XLSX_IN_COPY": "1", "HTML_NOT_HELD": "1"}
        pid_file = tmp_path / "xlsx.pid"
    child = subprocess.Popen(
        [sys.executable, "-c", HELD, str(tmp_path), "check", *args, "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
        start_new_session=True)
    workers: list[int] = []
    try:
        _wait_for(pid_file.exists, child, "its held work")
        workers = _children(child.pid)
        assert int(pid_file.read_text()) in workers
        _wait_for(lambda: _sleeping(child.pid), child, "waiting for its held work")
        _tgkill(child.pid, child.pid if thread == "main-thread" else _another_thread(child.pid),
                signal.SIGTERM)
        child.wait(timeout=30)
        left = [pid for pid in workers if _running(pid)]
    finally:
        _end(child, workers)
    err = _stderr(child)
    assert child.returncode == 143, err
    assert err.strip().splitlines()[-1] == "error: interrupted (SIGTERM)", err
    assert "Traceback" not in err
    assert left == [], "a worker or forked copy is still running"
    # (no staging folder left: `out`, which the run made and moved nothing into, removed)
    assert not out.exists()


def test_sigterm_is_not_handled_in_process(sample: Path, tmp_path: Path) -> None:
    """In-process callers (CliRunner, a program calling `main`) keep their own SIGTERM
    handling: only the console script (`run`) installs its handler."""
    before = signal.getsignal(signal.SIGTERM)
    run("check", str(sample), "--out", str(tmp_path / "out"), "--format", "json",
        "--fail-on", "never", code=0)
    assert signal.getsignal(signal.SIGTERM) is before


def _held_alignment(variants: list[tuple[str, ...]]) -> list[object]:
    """An alignment worker's work, held (the worker names itself by a file first)."""
    (Path(os.environ["HELD_ALIGNMENT"]) / f"{os.getpid()}.pid").write_text("", encoding="utf-8")
    time.sleep(30)
    return []


@pytest.mark.skipif(sys.platform != "linux", reason="fork, /proc")
def test_sigterm_while_aligning_stops_the_workers(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM, with the console script's handler (installed here, then put back), while
    the variants are aligned in worker processes (r4pm's or pm4py's searches; each held
    here for 30 s): Terminated is raised at once and the workers are stopped. Before,
    leaving the pool waited for every worker's variants. (SIGTERM to this thread alone,
    as it reaches the command alone: the workers do not get it.)"""
    import threading

    import conformance.align as align
    from audit.cli import _handle_sigterm
    from audit.errors import Terminated
    from conformance.petri import bpmn_to_workflow_net

    net = bpmn_to_workflow_net(REPO / "models" / "offline.bpmn").net
    assert net is not None
    monkeypatch.setenv("HELD_ALIGNMENT", str(tmp_path))
    monkeypatch.setattr(align, "_align_in_worker", _held_alignment)
    aligner = align.Aligner(net, processes=2, parallel_from=1, replay_first=False)
    main = threading.main_thread().ident
    assert main is not None

    def terminate() -> None:  # once both workers are in their work
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        signal.pthread_kill(main, signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    _handle_sigterm()
    try:
        threading.Thread(target=terminate, daemon=True).start()
        start = time.monotonic()
        with pytest.raises(Terminated):
            aligner.align([("x",), ("y",), ("z",), ("x", "y")])
        spent = time.monotonic() - start
    finally:
        signal.signal(signal.SIGTERM, before)
    workers = [int(p.stem) for p in tmp_path.glob("*.pid")]
    assert len(workers) == 2
    assert [pid for pid in workers if _running(pid)] == []
    assert spent < 20, f"the pool was waited for ({spent:.1f} s)"


def _ended_by_default_sigterm(hold: Path) -> int:
    """A forked copy's work that takes SIGTERM's default action (as it does before it sets
    its handler), named by a file, then held."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    (hold / "copy.pid").write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(60)
    return 0


@pytest.mark.skipif(sys.platform != "linux", reason="fork")
def test_a_forked_copy_ended_by_sigterm_is_terminated_not_an_error(tmp_path: Path) -> None:
    """A forked copy ended by SIGTERM's default action (no word sent back) is the run
    terminated (exit code 143 in the console script), as where its handler raised it.
    Before, a RuntimeError ("ended with exit code -15 and no result"): an internal error,
    exit code 2."""
    from audit.errors import Terminated
    from audit.forked import Forked

    copy: Forked[int] = Forked(_ended_by_default_sigterm, tmp_path, doing="holding")
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "copy.pid").exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(int((tmp_path / "copy.pid").read_text()), signal.SIGTERM)
        with pytest.raises(Terminated):
            copy.result()
    finally:
        copy.stop()
