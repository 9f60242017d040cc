"""A failed check leaves --out as it was (README): a report that cannot be moved in (a
directory in the way, a move that fails midway) is an input error naming it, and the files
of the earlier run stay, none replaced or removed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.errors import Terminated
from audit.sample import SampleSpec, write_sample
from tests.test_check_cli import run


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(SampleSpec(channel="all", cases=60, seed=5, violation_rate=0.3), out)
    return out / "canonical.csv"


def contents(folder: Path) -> dict[str, bytes | None]:
    """Every entry of `folder` (a directory as None), by name."""
    return {p.name: None if p.is_dir() else p.read_bytes() for p in folder.iterdir()}


def earlier_run(sample: Path, out: Path) -> None:
    """A full run into `out`, then a JSON-only run's files to come beside it: `notes.txt`
    of the auditor's own."""
    run("check", str(sample), "--out", str(out), "--fail-on", "never", code=0)
    (out / "notes.txt").write_text("mine", encoding="utf-8")


def test_a_directory_in_the_way_is_refused_before_any_report_is_replaced(
        sample: Path, tmp_path: Path) -> None:
    """out/report.html a directory: before, exit 2 with an IsADirectoryError traceback after
    findings.json, findings.csv, findings.xlsx, the graphs and quarantine.csv were already
    replaced by the new run's."""
    out = tmp_path / "out"
    earlier_run(sample, out)
    (out / "report.html").unlink()
    (out / "report.html").mkdir()
    (out / "report.html" / "inside.txt").write_text("kept", encoding="utf-8")
    before = contents(out)
    result = run("check", str(sample), "--as-of", "2026-11-01T00:00:00Z", "--out", str(out),
                 "--fail-on", "never", code=2)
    assert "Traceback" not in result.output and result.exception is not None
    assert (f"error: {out / 'report.html'}: field '--out': cannot write report.html into "
            f"{out}: a directory is in the way (nothing was replaced)") in result.output
    assert contents(out) == before
    assert (out / "report.html" / "inside.txt").read_text(encoding="utf-8") == "kept"


def test_a_move_that_fails_midway_puts_the_earlier_files_back(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A move that fails after others were done (here: quarantine.csv, after findings.json
    and the removals): the new files moved in are taken out and the earlier ones put back,
    those it would have removed too (a JSON-only run removes the earlier findings.csv, the
    XLSX, the HTML and the graphs)."""
    out = tmp_path / "out"
    earlier_run(sample, out)
    before = contents(out)
    replace = os.replace
    failed: list[Path] = []

    def failing(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if Path(dst) == out / "quarantine.csv" and not failed:  # (the new one, once)
            failed.append(Path(src))
            raise PermissionError(13, "Permission denied")
        replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing)
    result = run("check", str(sample), "--as-of", "2026-11-01T00:00:00Z", "--out", str(out),
                 "--format", "json", "--fail-on", "never", code=2)
    monkeypatch.undo()
    assert failed and "Traceback" not in result.output
    assert (f"error: {out / 'quarantine.csv'}: field '--out': cannot write into {out}: "
            "Permission denied (the earlier files were put back: nothing was replaced)"
            ) in result.output
    assert contents(out) == before
    # And where nothing fails, the same run goes through.
    run("check", str(sample), "--out", str(out), "--format", "json", "--fail-on", "never",
        code=0)
    assert sorted(contents(out)) == ["SHA256SUMS", "findings.json", "notes.txt",
                                     "quarantine.csv"]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, Terminated])
def test_an_interrupt_while_moving_in_puts_the_earlier_files_back(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        interrupt: type[BaseException]) -> None:
    """Ctrl-C or SIGTERM (as the console script raises them) while the files are moved in,
    here after findings.json and the removals: undone as a failed move is, and the
    interrupt raised. Before, --out held the new findings.json beside none of the earlier
    other reports, which were left in the folder aside."""
    out = tmp_path / "out"
    earlier_run(sample, out)
    before = contents(out)
    replace = os.replace
    raised: list[Path] = []

    def interrupted(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if Path(dst) == out / "quarantine.csv" and not raised:  # (the new one, once)
            raised.append(Path(src))
            raise interrupt()
        replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", interrupted)
    args = ["check", str(sample), "--as-of", "2026-11-01T00:00:00Z", "--out", str(out),
            "--format", "json", "--fail-on", "never"]
    if interrupt is Terminated:
        with pytest.raises(Terminated):
            CliRunner().invoke(main, args)
    else:  # (click's standalone mode: Abort, exit code 1; the console script's is 130)
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
    monkeypatch.undo()
    assert raised
    assert contents(out) == before


@pytest.mark.parametrize("moved", ["aside", "placed"])
def test_an_interrupt_just_after_a_move_puts_the_earlier_files_back(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moved: str) -> None:
    """A signal that arrives while a file is renamed is raised as the rename returns (the
    rename itself is done): here Terminated right after an earlier report was moved into
    the folder aside (`aside`: before, that report was not yet in the moves to undo, and
    was removed with the folder aside: lost), or right after a new file was moved in where
    none was (`placed`: before, it was left in --out)."""
    out = tmp_path / "out"
    earlier_run(sample, out)
    if moved == "placed":
        (out / "SHA256SUMS").unlink()
    before = contents(out)
    replace = os.replace
    raised: list[Path] = []

    def interrupted(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        replace(src, dst, *args, **kwargs)
        hit = (Path(src) == out / "findings.csv" if moved == "aside"
               else Path(dst) == out / "SHA256SUMS")
        if hit and not raised:
            raised.append(Path(dst))
            raise Terminated(15)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(Terminated):
        CliRunner().invoke(main, ["check", str(sample), "--as-of", "2026-11-01T00:00:00Z",
                                  "--out", str(out), "--format", "json",
                                  "--fail-on", "never"])
    monkeypatch.undo()
    assert raised
    assert contents(out) == before


def test_a_sha256sums_the_tool_did_not_write_is_refused_not_replaced(
        sample: Path, tmp_path: Path) -> None:
    """--out holding a SHA256SUMS of the auditor's own (here: of the exports beside it, a
    common way to keep evidence): refused before the run, naming it, exit code 2. Before,
    the run replaced it with its own listing of the reports: the auditor's checksums were
    lost without a word. A SHA256SUMS of an earlier run is replaced as before."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "exports.csv").write_text("a,b\n", encoding="utf-8")
    own = f"{'0' * 64}  exports.csv\n".encode()
    (out / "SHA256SUMS").write_bytes(own)
    before = contents(out)
    result = run("check", str(sample), "--out", str(out), "--format", "json",
                 "--fail-on", "never", code=2)
    assert f"error: {out / 'SHA256SUMS'}: " in result.output
    assert "exports.csv" in result.output
    assert contents(out) == before
    # An earlier run's, and an empty one, are replaced.
    (out / "SHA256SUMS").unlink()
    run("check", str(sample), "--out", str(out), "--format", "json", "--fail-on", "never",
        code=0)
    run("check", str(sample), "--out", str(out), "--format", "json", "--fail-on", "never",
        code=0)
    (out / "SHA256SUMS").write_bytes(b"")
    run("check", str(sample), "--out", str(out), "--format", "json", "--fail-on", "never",
        code=0)
    assert (out / "SHA256SUMS").read_bytes() != b""
