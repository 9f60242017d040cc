"""`discover`, `compare` and `sample` write through a staging folder inside --out and move
their files in all or none, as `check` and the demo do (`audit.cli.write_staged`): a writer
that fails or an interrupt (Ctrl-C, SIGTERM) midway leaves --out as it was, never the new
files beside the earlier run's or a file cut short; `import` removes the staging folders a
killed run left beside its log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.errors import Terminated
from audit.sample import SampleSpec, write_sample

REPO = Path(__file__).resolve().parents[1]
ECOMMERCE = REPO / "models" / "ecommerce.bpmn"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(SampleSpec(channel="ecommerce", cases=20, seed=5, violation_rate=0.3), out)
    return out / "canonical.csv"


@pytest.fixture(scope="module")
def other_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(SampleSpec(channel="ecommerce", cases=25, seed=6, violation_rate=0.5), out)
    return out / "canonical.csv"


def contents(folder: Path) -> dict[str, bytes | None]:
    """Every entry under `folder` (a directory as None), by its path inside it."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


def invoke(*args: str, code: int) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


INTERRUPTS = [KeyboardInterrupt, Terminated, RuntimeError]
"""Ctrl-C and SIGTERM as the console script raises them, and a writer's crash."""


def interrupted(args: list[str], interrupt: type[BaseException]) -> None:
    """Run the command, which `interrupt` ends midway."""
    if interrupt is Terminated:
        with pytest.raises(Terminated):
            CliRunner().invoke(main, args)
    else:  # (click's standalone mode: Abort, exit code 1; a crash: exit code 1)
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, (SystemExit, RuntimeError))


def raiser(interrupt: type[BaseException], calls: list[int]) -> Any:
    def raise_(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise interrupt(15) if interrupt is Terminated else interrupt("midway")
    return raise_


@pytest.mark.parametrize("interrupt", INTERRUPTS)
def test_a_discover_ended_midway_leaves_the_earlier_discovery(
        log: Path, other_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        interrupt: type[BaseException]) -> None:
    """Ended after the DFG and the model were drawn, before discovery.json: before, --out
    held the new dfg.svg beside the earlier discovery.json (of another log), and the earlier
    model.* were removed (the dfg miner draws none)."""
    out = tmp_path / "out"
    invoke("discover", str(log), "--out", str(out), code=0)  # (inductive: a model)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = contents(out)
    calls: list[int] = []
    monkeypatch.setattr("conformance.discovery.discovery_summary", raiser(interrupt, calls))
    interrupted(["discover", str(other_log), "--miner", "dfg", "--out", str(out)], interrupt)
    monkeypatch.undo()
    assert calls
    assert contents(out) == before


@pytest.mark.parametrize("interrupt", INTERRUPTS)
def test_a_compare_ended_midway_leaves_the_earlier_comparison(
        log: Path, other_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        interrupt: type[BaseException]) -> None:
    """Ended after compare.json was written: before, the new compare.json beside the
    earlier compare.md and diff graphs."""
    out = tmp_path / "out"
    invoke("compare", str(log), str(ECOMMERCE), "--out", str(out), code=0)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = contents(out)
    calls: list[int] = []
    monkeypatch.setattr("conformance.compare.comparison_markdown", raiser(interrupt, calls))
    interrupted(["compare", str(other_log), str(ECOMMERCE), "--out", str(out)], interrupt)
    monkeypatch.undo()
    assert calls
    assert contents(out) == before


class _NoDumps:
    """`json` as the generator sees it, whose `dumps` (sample.json, written last) raises."""

    def __init__(self, raise_: Any) -> None:
        self.dumps = raise_


@pytest.mark.parametrize("interrupt", INTERRUPTS)
def test_a_sample_ended_midway_leaves_the_earlier_sample(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        interrupt: type[BaseException]) -> None:
    """Ended before sample.json: before, exports/ and canonical.csv were the new sample's
    (another seed, another channel: the earlier sample's other exports removed) beside the
    earlier sample.json and its spec."""
    out = tmp_path / "out"
    invoke("sample", "--cases", "12", "--seed", "3", "--out", str(out), code=0)
    (out / "exports" / "notes.txt").write_text("mine", encoding="utf-8")
    before = contents(out)
    calls: list[int] = []
    monkeypatch.setattr("audit.sample.generator.json", _NoDumps(raiser(interrupt, calls)))
    interrupted(["sample", "--channel", "offline", "--cases", "8", "--seed", "4",
                 "--out", str(out)], interrupt)
    monkeypatch.undo()
    assert calls
    assert contents(out) == before


def test_a_sample_replaces_the_earlier_one_whole(tmp_path: Path) -> None:
    """A second sample into the folder: its files, the exports of systems it does not write
    removed from exports/ (as before), the auditor's own files there left; no staging
    folder left behind."""
    out = tmp_path / "out"
    invoke("sample", "--cases", "12", "--seed", "3", "--out", str(out), code=0)
    (out / "exports" / "notes.txt").write_text("mine", encoding="utf-8")
    invoke("sample", "--channel", "offline", "--cases", "8", "--seed", "4", "--out",
           str(out), code=0)
    fresh = tmp_path / "fresh"
    invoke("sample", "--channel", "offline", "--cases", "8", "--seed", "4", "--out",
           str(fresh), code=0)
    assert {k: v for k, v in contents(out).items() if k != "exports/notes.txt"} == \
        contents(fresh)
    assert (out / "exports" / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert hidden(out) == [] and hidden(out / "exports") == []


def sums(folder: Path) -> dict[str, str]:
    """SHA256SUMS of `folder`, as {name: sha256}, each checked against the file."""
    import hashlib

    listed = {}
    for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
        listed[name] = digest
    return listed


def test_discover_and_compare_write_sha256sums_and_keep_the_auditors_files(
        log: Path, tmp_path: Path) -> None:
    """Each lists the files its run wrote (a dfg run after an inductive one: the earlier
    model.* removed, and named); a SHA256SUMS of the auditor's own is refused, not replaced;
    a check into a folder holding discover's SHA256SUMS replaces it, as an earlier run's."""
    out = tmp_path / "out"
    first = invoke("discover", str(log), "--out", str(out), code=0)
    assert set(sums(out)) == {"model.bpmn", "model.svg", "model.png", "discovery-dfg.svg",
                              "discovery-dfg.png", "discovery.json", "discovery-quarantine.csv",
                              "variants.csv"}
    assert f"SHA256SUMS: {out / 'SHA256SUMS'}" in first.output
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    second = invoke("discover", str(log), "--miner", "dfg", "--out", str(out), code=0)
    assert set(sums(out)) == {"discovery-dfg.svg", "discovery-dfg.png", "discovery.json",
                              "discovery-quarantine.csv", "variants.csv"}
    assert not (out / "model.bpmn").exists()
    assert (f"removed 3 files of an earlier run from {out}: model.bpmn, model.png, "
            "model.svg") in second.output
    assert hidden(out) == [] and (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    invoke("check", str(log), "--out", str(out), "--format", "json", "--fail-on", "never",
           code=0)
    assert "findings.json" in sums(out) and "discovery.json" not in sums(out)

    compared = tmp_path / "compared"
    invoke("compare", str(log), str(ECOMMERCE), "--out", str(compared), code=0)
    assert set(sums(compared)) == {"compare.md", "compare.json", "diff.svg", "diff.png"}
    own = f"{'0' * 64}  exports.csv\n".encode()
    for folder, args in ((compared, ["compare", str(log), str(ECOMMERCE)]),
                         (out, ["discover", str(log), "--miner", "dfg"])):
        (folder / "SHA256SUMS").write_bytes(own)
        before = contents(folder)
        refused = invoke(*args, "--out", str(folder), code=2)
        assert f"error: {folder / 'SHA256SUMS'}: field '--out': " in refused.output
        assert "exports.csv" in refused.output
        assert contents(folder) == before


def test_a_sha256sums_of_another_commands_run_replaced_is_warned_of(
        log: Path, tmp_path: Path) -> None:
    """discover into a check's folder replaces the check's SHA256SUMS (one this tool wrote)
    with its own, which lists discover's files only: the check's reports, still there, are
    named in a warning as no longer listed (not dropped without a word); the files discover
    writes itself are not named."""
    out = tmp_path / "out"
    invoke("check", str(log), "--out", str(out), "--format", "json,graphs",
           "--fail-on", "never", code=0)
    listed = set(sums(out))
    assert {"findings.json", "quarantine.csv", "dfg.svg"} <= listed
    result = invoke("discover", str(log), "--miner", "dfg", "--out", str(out), code=0)
    others = sorted(listed)  # (discover writes no file of a check's name: all still there)
    assert (f"warning: SHA256SUMS in {out}, replaced by this run's, listed {len(others)} "
            f"files of another run still there, no longer listed: {', '.join(others)}"
            ) in result.output
    assert set(sums(out)) == {"discovery-dfg.svg", "discovery-dfg.png", "discovery.json",
                              "discovery-quarantine.csv", "variants.csv"}
    again = invoke("discover", str(log), "--miner", "dfg", "--out", str(out), code=0)
    assert "no longer listed" not in again.output


def test_check_and_discover_into_one_folder_leave_each_others_files(
        log: Path, tmp_path: Path) -> None:
    """Both drew their directly-follows graph as dfg.svg and dfg.png: a check into a folder
    discover wrote removed discover's graph as "an earlier run's report" (or replaced it
    with its own, beside discover's discovery.json), and discover replaced a check's. Now
    discover's is discovery-dfg.svg/.png: each leaves the other's files as they are, and
    a check names discover's as files it did not write."""
    out = tmp_path / "out"
    invoke("discover", str(log), "--miner", "dfg", "--out", str(out), code=0)
    discovered = {k: v for k, v in contents(out).items() if k != "SHA256SUMS"}
    for formats in ("json", "json,graphs"):
        result = invoke("check", str(log), "--out", str(out), "--format", formats,
                        "--fail-on", "never", code=0)
        assert "report file(s) of an earlier run" not in result.output
        assert {k: v for k, v in contents(out).items() if k in discovered} == discovered
        assert "files this run did not write, named as this tool's outputs" in result.output
        assert ("discovery-dfg.png, discovery-dfg.svg, discovery-quarantine.csv, "
                "discovery.json") in result.output
    checked = {k: v for k, v in contents(out).items()
               if k not in discovered and k != "SHA256SUMS"}
    assert {"findings.json", "dfg.svg", "dfg.png"} <= set(checked)
    result = invoke("discover", str(log), "--miner", "dfg", "--out", str(out), code=0)
    assert {k: v for k, v in contents(out).items() if k in checked} == checked
    assert "removed" not in result.output
    assert set(discovered) == {"discovery-dfg.svg", "discovery-dfg.png", "discovery.json",
                              "discovery-quarantine.csv", "variants.csv"}
