"""`check --out DIR` into a folder where `import`, `demo`, `sample`, `discover` or `compare`
wrote their files: those are never removed (the run did not write them), but a warning
names them (console, findings.json's manifest, report.html, findings.xlsx), so that a stale
canonical log or side file is not handed on as the new run's."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from audit.sample import SampleSpec, write_sample
from tests.test_check_cli import run


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(SampleSpec(channel="offline", cases=20, seed=5, violation_rate=0.3), out)
    return out / "canonical.csv"


def warned(out: Path) -> list[str]:
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return [w for w in document["manifest"]["warnings"] if "did not write" in w]


def test_a_demos_canonical_log_in_the_folder_is_named_not_removed(
        sample: Path, tmp_path: Path) -> None:
    """Before: `demo --out D` then `check ... --out D` left canonical.parquet and its side
    files beside the new reports without a word (the removal of earlier reports named only
    the report files), and nothing in the manifest or the report said they were not the
    run's."""
    out = tmp_path / "d"
    run("demo", "--out", str(out), code=0)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    others = ["canonical.correlation.csv", "canonical.parquet", "canonical.quarantine.csv"]
    kept = {name: (out / name).read_bytes() for name in [*others, "notes.txt"]}
    result = run("check", str(sample), "--out", str(out), "--format", "json,html,xlsx",
                 "--fail-on", "never", code=0)
    told = (f"the output folder also holds {len(others)} files this run did not write, "
            "named as this tool's outputs (a canonical log and its side files, a sample's, "
            f"discover's or compare's): {', '.join(others)}; they are not this run's: hand "
            "on only the files it wrote")
    assert f"warning: {told}" in result.output
    assert warned(out) == [told]
    assert f"Warning: {told}." in html.unescape((out / "report.html").read_text(
        encoding="utf-8"))
    from openpyxl import load_workbook

    cells = [c for r in load_workbook(out / "findings.xlsx", read_only=True)[
        "Summary"].iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert any(told in c for c in cells)
    # Never removed: the run did not write them (nor the auditor's notes, never named).
    assert {name: (out / name).read_bytes() for name in kept} == kept
    assert "notes.txt" not in result.output


def test_the_checked_log_and_its_side_files_are_not_named(
        sample: Path, tmp_path: Path) -> None:
    """`check w/log.parquet --out w`: the input and the side files its import wrote are the
    run's inputs (the report names them), not stale outputs; another log beside it, a
    sample's and discover's files are."""
    folder = tmp_path / "w"
    run("import", str(sample), "--out", str(folder / "log.parquet"), code=0)
    run("import", str(sample), "--out", str(folder / "other.parquet"), code=0)
    write_sample(SampleSpec(channel="offline", cases=3, seed=1), folder)
    (folder / "model.bpmn").write_text("<definitions/>", encoding="utf-8")
    plain = folder / "plain.parquet"  # (a Parquet file of no import: not this tool's)
    plain.write_bytes(b"PAR1")
    result = run("check", str(folder / "log.parquet"), "--out", str(folder), "--format",
                 "json", "--fail-on", "never", code=0)
    named = ["canonical.csv", "ground_truth.csv", "model.bpmn", "other.parquet",
             "other.quarantine.csv", "sample.json", "sample_project.yaml",
             "sample_sources.yaml"]
    assert warned(folder) == [
        f"the output folder also holds {len(named)} files this run did not write, named as this "
        "tool's outputs (a canonical log and its side files, a sample's, discover's or "
        f"compare's): {', '.join(named)}; they are not this run's: hand on only the files "
        "it wrote"]
    assert "log.quarantine.csv" not in warned(folder)[0].split(": ", 1)[1]
    assert result.exit_code == 0
    # A folder holding nothing else: no warning.
    clean = tmp_path / "clean"
    run("check", str(folder / "log.parquet"), "--out", str(clean), "--format", "json",
        "--fail-on", "never", code=0)
    assert warned(clean) == []


def test_the_demo_names_an_imports_log_in_its_folder(sample: Path, tmp_path: Path) -> None:
    """`import ... --out D/log.parquet` then `demo --out D`: the demo writes its own
    canonical.parquet and side files (not named), and names the import's log and quarantine,
    which it leaves."""
    out = tmp_path / "d"
    run("import", str(sample), "--out", str(out / "log.parquet"), code=0)
    result = run("demo", "--out", str(out), code=0)
    told = ("the output folder also holds 2 files this run did not write, named as this "
            "tool's outputs (a canonical log and its side files, a sample's, discover's or "
            "compare's): log.parquet, log.quarantine.csv; they are not this run's: hand on "
            "only the files it wrote")
    assert f"warning: {told}" in result.output
    assert warned(out) == [told]
    assert (out / "log.parquet").is_file() and (out / "canonical.parquet").is_file()


@pytest.mark.parametrize("how", ["--sop FILE#PROCESS", "the policy's sop:"])
def test_the_runs_own_sop_in_the_folder_is_not_named(
        sample: Path, tmp_path: Path, how: str) -> None:
    """The SOP the run reads is its input, not another command's output, however it is
    named: before, `--sop D/model.bpmn#PROCESS` (a process of the file) and a policy in D
    whose `sop:` names model.bpmn beside it had the run's own model.bpmn warned of as 'not
    this run's' (only the --sop text itself was compared, and the policy's SOPs not at
    all)."""
    from audit.policy import default_policy_path

    out = tmp_path / "d"
    out.mkdir()
    bundled = Path(__file__).resolve().parents[1] / "models" / "offline.bpmn"
    (out / "model.bpmn").write_bytes(bundled.read_bytes())
    process = bundled.read_text(encoding="utf-8").split('process id="', 1)[1].split('"')[0]
    if how == "--sop FILE#PROCESS":
        given = ["--sop", f"{out / 'model.bpmn'}#{process}"]
    else:
        policy = default_policy_path().read_text(encoding="utf-8")
        assert "offline.bpmn" in policy
        (out / "policy.yaml").write_text(policy.replace("offline.bpmn", "model.bpmn"),
                                         encoding="utf-8")
        given = ["--policy", str(out / "policy.yaml")]
    run("check", str(sample), "--out", str(out), "--format", "json", "--fail-on", "never",
        *given, code=0)
    assert warned(out) == []
    (out / "other.bpmn").write_bytes(bundled.read_bytes())  # (not named: not an output's name)
    (out / "sample.json").write_text("{}", encoding="utf-8")  # another command's: named
    run("check", str(sample), "--out", str(out), "--format", "json", "--fail-on", "never",
        *given, code=0)
    assert len(warned(out)) == 1 and warned(out)[0].split(": ", 1)[1].startswith(
        "sample.json;")


def test_a_log_checked_through_a_link_has_its_side_files_not_named(
        sample: Path, tmp_path: Path) -> None:
    """`check w/current.parquet --out w`, current.parquet a link to w/log.parquet: the run
    reads the log's own quarantine and correlation problems (log.*.csv, which its console
    line names), so they are its inputs' side files; before, only the link's names
    (current.*.csv) were taken for them and the log's were warned of as 'not this run's'."""
    folder = tmp_path / "w"
    run("import", str(sample), "--out", str(folder / "log.parquet"), code=0)
    (folder / "current.parquet").symlink_to("log.parquet")
    result = run("check", str(folder / "current.parquet"), "--out", str(folder), "--format",
                 "json", "--fail-on", "never", code=0)
    assert f"(see {folder / 'log.quarantine.csv'})" in result.output
    assert warned(folder) == []
