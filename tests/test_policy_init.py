"""`policy init` writes the policy to a file of its own beside PATH, then moves it in whole.
Before: it wrote PATH in place, so a full disk (here: a file-size limit of 1 KiB, which
fails the write as a full disk does, midway) left 1 KiB of a policy, and `--force`
truncated the earlier policy first; a link at PATH to no file was written through."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.test_check_cli import run

REPO = Path(__file__).resolve().parents[1]

LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # (a write past the limit fails: EFBIG)
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
from audit.cli import run
sys.argv = ["refund-audit", "policy", "init", *sys.argv[1:]]
run()
"""


def init_failing_midway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LIMITED, *args], cwd=REPO, check=False,
                          capture_output=True, text=True)


def test_a_write_failing_midway_leaves_no_policy(tmp_path: Path) -> None:
    target = tmp_path / "policy.yaml"
    done = init_failing_midway(str(target))
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: {target}: cannot write: File too large\n"
    assert list(tmp_path.iterdir()) == []  # (no policy cut short, no file of its own left)


def test_a_forced_write_failing_midway_leaves_the_earlier_policy(tmp_path: Path) -> None:
    target = tmp_path / "policy.yaml"
    target.write_text("version: 1\n# my policy\n", encoding="utf-8")
    done = init_failing_midway(str(target), "--force")
    assert done.returncode == 2, done.stderr
    assert target.read_text(encoding="utf-8") == "version: 1\n# my policy\n"
    assert [p.name for p in tmp_path.iterdir()] == ["policy.yaml"]


def test_an_existing_file_or_link_is_replaced_only_with_force(tmp_path: Path) -> None:
    target = tmp_path / "policy.yaml"
    target.write_text("mine\n", encoding="utf-8")
    os.chmod(target, 0o640)
    result = run("policy", "init", str(target), code=2)
    assert result.output == f"error: {target}: exists; pass --force to overwrite\n"
    assert target.read_text(encoding="utf-8") == "mine\n"
    run("policy", "init", str(target), "--force", code=0)
    assert "# as_of:" in target.read_text(encoding="utf-8")
    assert target.stat().st_mode & 0o777 == 0o640  # (the earlier file's permissions kept)
    # A link to no file: refused (before, written through: the file it names was made).
    elsewhere = tmp_path / "elsewhere.yaml"
    link = tmp_path / "link.yaml"
    link.symlink_to(elsewhere)
    result = run("policy", "init", str(link), code=2)
    assert result.output == f"error: {link}: exists; pass --force to overwrite\n"
    assert not elsewhere.exists()
    # With --force, a link is replaced by the policy, and the file it names left as it is.
    elsewhere.write_text("theirs\n", encoding="utf-8")
    run("policy", "init", str(link), "--force", code=0)
    assert not link.is_symlink() and "# as_of:" in link.read_text(encoding="utf-8")
    assert elsewhere.read_text(encoding="utf-8") == "theirs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "elsewhere.yaml", "link.yaml", "policy.yaml"]


def test_an_unwritable_folder_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "policy.yaml"
    result = run("policy", "init", str(target), code=2)
    assert result.output == f"error: {target}: cannot write: No such file or directory\n"
