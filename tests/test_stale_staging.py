"""A check killed while writing (SIGKILL; SIGTERM where no handler raises it: the console
script's does, tests/test_terminated.py) leaves the folder its reports were staged in
inside --out. A later check into the folder removes the
staging folders of a process that is no longer running on this machine, and names them;
those of a process still running, of an older version (no process in the name) or holding
the earlier files a run moved aside are left and named."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from audit.sample import SampleSpec, write_sample
from tests.test_check_cli import run

REPO = Path(__file__).resolve().parents[1]

KILLED_WHILE_WRITING = """
import os, signal, sys
from pathlib import Path
from audit.cli import _write_all

def write_reports(run, staging, chosen):
    (staging / "findings.json").write_text("{", encoding="utf-8")  # (cut short)
    os.kill(os.getpid(), signal.SIGKILL)

_write_all(None, Path(sys.argv[1]), ["json"], write_reports)
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(SampleSpec(channel="offline", cases=10, seed=5, violation_rate=0.3), out)
    return out / "canonical.csv"


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_later_check_removes_the_staging_folder_of_a_killed_run(
        sample: Path, tmp_path: Path) -> None:
    """Before: the killed run's `.refund-audit-XXXX` (a findings.json cut short) stayed in
    --out through every later run, unnamed."""
    out = tmp_path / "out"
    out.mkdir()
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_WRITING, str(out)],
                            cwd=REPO, check=False)
    assert killed.returncode == -signal.SIGKILL
    left = hidden(out)
    assert len(left) == 1 and left[0].startswith(".refund-audit-")
    assert (out / left[0] / "findings.json").read_text(encoding="utf-8") == "{"
    result = run("check", str(sample), "--out", str(out), "--format", "json",
                 "--fail-on", "never", code=0)
    assert hidden(out) == []
    assert (f"  removed 1 staging folder of a run that ended while writing (its process is "
            f"not running) from {out}: {left[0]}") in result.output
    assert (out / "findings.json").read_text(encoding="utf-8").startswith("{\n")


def test_staging_folders_of_running_or_unknown_processes_are_named_and_left(
        sample: Path, tmp_path: Path) -> None:
    """A folder of a process still running (this one), one of an older version whose name
    holds no process, and the folder aside of a dead run (it may hold the earlier files it
    moved out of --out): left as they are, and named in a warning."""
    from audit.cli import staging_prefix

    out = tmp_path / "out"
    out.mkdir()
    running = out / f"{staging_prefix()}abcd1234"
    older = out / ".refund-audit-x1y2z3w4"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    aside = out / f"{staging_prefix(earlier=True, pid=gone.pid)}q1w2e3r4"
    for folder in (running, older, aside):
        folder.mkdir()
        (folder / "findings.json").write_text("{}", encoding="utf-8")
    result = run("check", str(sample), "--out", str(out), "--format", "json",
                 "--fail-on", "never", code=0)
    assert hidden(out) == sorted([running.name, older.name, aside.name])
    assert (f"warning: {out} holds 3 folders of other runs of this tool, left as they are: "
            f"{running.name} (of a process that is running), {aside.name} (of a run that "
            "ended while moving its files in: it may hold the earlier files it moved aside; "
            f"put back what you need, then remove it), {older.name} (of an older version, "
            "or of another machine: whether its process ended is not known)") in result.output
    assert "removed" not in result.output
    assert all((f / "findings.json").read_text(encoding="utf-8") == "{}"
               for f in (running, older, aside))


def test_a_staging_name_whose_process_number_no_process_can_have_is_left(
        sample: Path, tmp_path: Path) -> None:
    """A folder named as a staging folder of this machine but with a process number beyond
    any process id (a folder made by hand, or copied from elsewhere): before, asking
    whether that process runs raised OverflowError and the check ended with an internal
    error after its rules; it is left as a folder whose process is not known."""
    from audit.cli import staging_prefix

    out = tmp_path / "out"
    out.mkdir()
    odd = out / f"{staging_prefix(pid=10**20)}abcd1234"
    odd.mkdir()
    result = run("check", str(sample), "--out", str(out), "--format", "json",
                 "--fail-on", "never", code=0)
    assert odd.is_dir() and (out / "findings.json").is_file()
    assert (f"{odd.name} (of an older version, or of another machine: whether its process "
            "ended is not known)") in result.output


KILLED_IMPORT = """
import os, signal, sys
from pathlib import Path
import pyarrow.parquet as pq
from audit.ingest import import_sources
from audit.store import write_import

def killed(table, where, *args, **kwargs):
    Path(where).write_bytes(b"PAR1")  # (the log cut short)
    os.kill(os.getpid(), signal.SIGKILL)

pq.write_table = killed
write_import(import_sources([(Path(sys.argv[1]), None)]), Path(sys.argv[2]))
"""


def test_a_later_import_removes_the_staging_folder_of_a_killed_import(
        sample: Path, tmp_path: Path) -> None:
    """An import killed while writing leaves its staging folder beside the log (a
    quarantine and a log cut short). Before, a later import into the folder left it there
    (only a check or demo into the folder removed it); now it is removed and named, as
    check does, while the folder of a running process and one of another machine are left
    and named."""
    from audit.cli import staging_prefix

    out = tmp_path / "work"
    out.mkdir()
    killed = subprocess.run([sys.executable, "-c", KILLED_IMPORT, str(sample),
                             str(out / "log.parquet")], cwd=REPO, check=False)
    assert killed.returncode == -signal.SIGKILL
    left = hidden(out)
    assert len(left) == 1 and left[0].startswith(".refund-audit-")
    assert (out / left[0] / "log.parquet").read_bytes() == b"PAR1"
    running = out / f"{staging_prefix()}abcd1234"
    elsewhere = out / ".refund-audit-12345@another-machine-abcd1234"
    for folder in (running, elsewhere):
        folder.mkdir()
        (folder / "log.parquet").write_bytes(b"PAR1")
    result = run("import", str(sample), "--out", str(out / "log.parquet"), code=0)
    assert hidden(out) == sorted([running.name, elsewhere.name])
    assert (f"removed 1 staging folder of a run that ended while writing (its process is "
            f"not running) from {out}: {left[0]}") in result.output
    # (named in the order of their names: this process's id may sort before 12345 or after)
    told = sorted([(elsewhere.name, "of an older version, or of another machine: whether "
                                    "its process ended is not known"),
                   (running.name, "of a process that is running")])
    assert (f"warning: {out} holds 2 folders of other runs of this tool, left as they are: "
            + ", ".join(f"{name} ({why})" for name, why in told)) in result.output
    assert (out / "log.parquet").read_bytes()[-4:] == b"PAR1"
    assert (out / "log.parquet").stat().st_size > 4


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux's /proc")
def test_a_staging_folder_whose_process_id_was_given_again_is_removed(
        sample: Path, tmp_path: Path) -> None:
    """A folder of a killed run whose process id a later process was given (ids are reused:
    32,768 of them by default): the name holds when its process started, and a process of
    that id started at another time is not the one that wrote it, so the folder is removed.
    Before, the later process (here this one, its id in a name with another start) kept the
    killed run's folder as "of a process that is running"."""
    from audit.cli import staging_prefix

    out = tmp_path / "out"
    out.mkdir()
    mine = staging_prefix()
    assert re.fullmatch(rf"\.refund-audit-{os.getpid()}\.[0-9]+@.+-", mine)
    pid_started, machine = mine.removeprefix(".refund-audit-").split("@", 1)
    pid, started = pid_started.split(".")
    earlier = out / f".refund-audit-{pid}.{int(started) - 1}@{machine}abcd1234"
    running = out / f"{mine}q1w2e3r4"
    for folder in (earlier, running):
        folder.mkdir()
        (folder / "findings.json").write_text("{", encoding="utf-8")
    result = run("check", str(sample), "--out", str(out), "--format", "json",
                 "--fail-on", "never", code=0)
    assert hidden(out) == [running.name]
    assert (f"  removed 1 staging folder of a run that ended while writing (its process is "
            f"not running) from {out}: {earlier.name}") in result.output
    assert (f"warning: {out} holds 1 folder of other runs of this tool, left as they are: "
            f"{running.name} (of a process that is running)") in result.output
