"""Re-performing a check: two runs of the bundled sample with the same arguments (an explicit
--as-of), each a process of its own writing into a folder of its own. Under SOURCE_DATE_EPOCH
(the reproducible-builds convention) every file is the same, byte for byte, SHA256SUMS too;
without it only the run's own fields differ, those docs/reports.md lists ("Reproducing a
run"): the run's start and finish, the command's output folder and the seconds conformance
took, as findings.json's manifest, report.html and findings.xlsx show them. Before, a run
under SOURCE_DATE_EPOCH wrote the time of the run and its folder all the same: findings.json,
findings.xlsx, report.html and so SHA256SUMS differed between any two runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from audit.checkrun import OUT_RECORDED, recorded_command, run_time, source_date_epoch
from audit.errors import InputError
from audit.words import moment

REPO = Path(__file__).resolve().parents[1]
EXPORTS = sorted((REPO / "sample_logs" / "refund-sample" / "exports").iterdir())
AS_OF = "2026-10-15T00:00:00Z"
EPOCH = "1792022400"  # 2026-10-15T00:00:00Z
RUN_FIELDS = {"started", "finished", "command", "conformance_seconds"}
"""The manifest's fields that differ between two runs of the same arguments into other
folders (docs/reports.md: the run's times and paths; the working directory and the inputs'
paths are the same here)."""
RUN_ROWS = ("Run started (UTC)", "Run finished (UTC)", "Command")
"""findings.xlsx's Summary rows that show them."""
DIFFERING = {"findings.json", "findings.xlsx", "report.html", "SHA256SUMS"}
"""The files that show them: the others are the same without SOURCE_DATE_EPOCH too."""


def _check(out: Path, epoch: str | None) -> Path:
    environment = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [environment.get("PYTHONPATH")])])
    if epoch is not None:
        environment["SOURCE_DATE_EPOCH"] = epoch
    done = subprocess.run(
        [sys.executable, "-m", "audit", "-q", "check", *map(str, EXPORTS), "--as-of", AS_OF,
         "--out", str(out), "--fail-on", "never"],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four runs: two under SOURCE_DATE_EPOCH, two without, each into its own folder."""
    base = tmp_path_factory.mktemp("runs")
    return {name: _check(base / name, epoch) for name, epoch in (
        ("epoch-1", EPOCH), ("epoch-2", EPOCH), ("now-1", None), ("now-2", None))}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _summary_rows(folder: Path) -> list[tuple[Any, ...]]:
    """findings.xlsx's Summary, its rows' values (the empty rows left out)."""
    from openpyxl import load_workbook

    book = load_workbook(folder / "findings.xlsx", read_only=True)
    try:
        return [row for row in book["Summary"].iter_rows(values_only=True) if row]
    finally:
        book.close()


def test_under_source_date_epoch_two_runs_write_the_same_bytes(runs: dict[str, Path]) -> None:
    one, two = _files(runs["epoch-1"]), _files(runs["epoch-2"])
    assert {"findings.json", "findings.csv", "findings.xlsx", "report.html", "dfg.svg",
            "dfg.png", "quarantine.csv", "correlation.csv", "SHA256SUMS"} <= set(one)
    assert one["SHA256SUMS"] == two["SHA256SUMS"]
    assert set(one) == set(two)
    assert [name for name in one if one[name] != two[name]] == []
    manifest = json.loads(one["findings.json"])["manifest"]
    assert manifest["started"] == manifest["finished"] == "2026-10-15T00:00:00+00:00"
    assert manifest["source_date_epoch"] == int(EPOCH)
    assert manifest["conformance_seconds"] is None
    assert manifest["command"][manifest["command"].index("--out") + 1] == OUT_RECORDED
    for name in one:  # (no folder of either run in any file)
        assert str(runs["epoch-1"]).encode() not in one[name], name
    with zipfile.ZipFile(runs["epoch-1"] / "findings.xlsx") as book:
        core = book.read("docProps/core.xml").decode()
    assert ">2026-10-15T00:00:00Z</dcterms:created>" in core
    # (the reports say the times are SOURCE_DATE_EPOCH's, not the run's)
    assert "generated 2026-10-15 00:00:00 UTC (SOURCE_DATE_EPOCH)" in one["report.html"].decode()
    assert [row[1] for row in _summary_rows(runs["epoch-1"]) if row[0] == "Run times from"] == [
        f"SOURCE_DATE_EPOCH {EPOCH}, not the time of the run"]


def test_without_it_only_the_runs_own_fields_differ(runs: dict[str, Path]) -> None:
    one, two = _files(runs["now-1"]), _files(runs["now-2"])
    assert set(one) == set(two)
    assert {name for name in one if one[name] != two[name]} <= DIFFERING
    sums = [dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode()
                 .splitlines()) for files in (one, two)]
    assert {name for name in sums[0] if sums[0][name] != sums[1][name]} <= DIFFERING

    manifests = [json.loads(files["findings.json"]) for files in (one, two)]
    firsts, seconds = (dict(m["manifest"]) for m in manifests)
    assert firsts["source_date_epoch"] is None
    assert set(firsts["conformance_seconds"]) == {"ecommerce", "offline", "subscription"}
    words = [m["command"] for m in (firsts, seconds)]
    at = words[0].index("--out") + 1
    assert (words[0][at], words[1][at]) == (str(runs["now-1"]), str(runs["now-2"]))
    assert words[0][:at] + words[0][at + 1:] == words[1][:at] + words[1][at + 1:]
    for document in manifests:
        for key in RUN_FIELDS:
            del document["manifest"][key]
    assert manifests[0] == manifests[1]

    # report.html: the generated time and the command, the run's; nothing else
    texts = []
    for files, manifest in ((one, firsts), (two, seconds)):
        text = files["report.html"].decode()
        shown = moment(manifest["finished"])  # (as report.html shows a time)
        assert f"generated {shown}" in text
        out = manifest["command"][at]
        texts.append(text.replace(shown, "TIME").replace(out, "OUT"))
    assert texts[0] == texts[1]

    # findings.xlsx: its members in the same order with the same fixed times; each member
    # the same bytes but the file properties' time and the Summary's run rows
    books = [zipfile.ZipFile(folder / "findings.xlsx") for folder in (runs["now-1"],
                                                                      runs["now-2"])]
    infos = [[(i.filename, i.date_time) for i in book.infolist()] for book in books]
    assert infos[0] == infos[1]
    assert {stamp for _, stamp in infos[0]} == {(1980, 1, 1, 0, 0, 0)}
    members = [{i.filename: book.read(i) for i in book.infolist()} for book in books]
    assert {name for name in members[0] if members[0][name] != members[1][name]} <= {
        "docProps/core.xml", "xl/worksheets/sheet1.xml"}
    summaries = [_summary_rows(runs[name]) for name in ("now-1", "now-2")]
    assert "Run times from" not in {row[0] for row in summaries[0]}
    assert "SOURCE_DATE_EPOCH" not in one["report.html"].decode()
    assert [[row for row in rows if row[0] not in RUN_ROWS] for rows in summaries[:1]] == [
        [row for row in rows if row[0] not in RUN_ROWS] for rows in summaries[1:]]


def test_recorded_command_leaves_out_the_output_folder() -> None:
    argv = ["refund-audit", "check", "a.csv", "--out", "out/q3", "--as-of", "2026-10-15Z"]
    assert recorded_command(argv, False) == argv
    assert recorded_command(argv, True) == [
        "refund-audit", "check", "a.csv", "--out", OUT_RECORDED, "--as-of", "2026-10-15Z"]
    assert recorded_command(["refund-audit", "demo", "--out=x/y"], True) == [
        "refund-audit", "demo", f"--out={OUT_RECORDED}"]
    # (after `--` a word is an input, named --out or not)
    assert recorded_command(["refund-audit", "check", "--out", "o", "--", "--out"], True) == [
        "refund-audit", "check", "--out", OUT_RECORDED, "--", "--out"]


def test_source_date_epoch_is_the_runs_time_and_checked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert source_date_epoch() is None
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "")  # (empty: unset)
    assert source_date_epoch() is None
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert run_time() == datetime(2026, 10, 15, tzinfo=UTC)
    for bad in ("1.5", "-1", "2026-10-15", " 1", "99999999999"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", bad)
        with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
            source_date_epoch()


def test_a_bad_source_date_epoch_is_exit_2_naming_it(tmp_path: Path) -> None:
    environment = {**os.environ, "SOURCE_DATE_EPOCH": "yesterday",
                   "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "audit", "check", str(EXPORTS[0]), "--out",
                           str(tmp_path / "out")], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "SOURCE_DATE_EPOCH" in done.stderr and "'yesterday'" in done.stderr
    assert not (tmp_path / "out").exists()


def _no_clock_run(tmp_path: Path, epoch: str) -> tuple[Any, Path]:
    """`check` of a 40-case sample (June to October 2026) with a policy without as_of and no
    --as-of, under SOURCE_DATE_EPOCH `epoch`."""
    from click.testing import CliRunner

    from audit.cli import main
    from audit.sample import SampleSpec, write_sample

    write_sample(SampleSpec(channel="all", cases=40, seed=3, violation_rate=0.3), tmp_path)
    policy = tmp_path / "policy.yaml"
    text = (REPO / "models" / "policy.default.yaml").read_text(encoding="utf-8")
    assert "\nas_of: " in text
    policy.write_text(text.replace("\nas_of: ", "\n# as_of: "), encoding="utf-8")
    result = CliRunner().invoke(main, [
        "check", str(tmp_path / "canonical.csv"), "--policy", str(policy), "--out",
        str(tmp_path / "out"), "--format", "json,html", "--fail-on", "never"],
        env={"SOURCE_DATE_EPOCH": epoch})
    return result, tmp_path / "out"


def test_without_a_set_clock_source_date_epoch_is_not_the_audits_clock(tmp_path: Path) -> None:
    """No --as-of, no as_of in the policy: the audit's clock is the real time of the run,
    as without SOURCE_DATE_EPOCH, which sets only the recorded times (started, finished),
    and a warning (console, manifest) says the files cannot be reproduced byte for byte
    without --as-of. This test expected the old behaviour before: the clock was
    SOURCE_DATE_EPOCH's time (here mid-log, 2026-10-15: the later events cut, with only a
    console note)."""
    before = datetime.now(UTC)
    result, out = _no_clock_run(tmp_path, EPOCH)
    after = datetime.now(UTC)
    assert result.exit_code == 0, (result.output, result.exception)
    manifest = json.loads((out / "findings.json").read_text())["manifest"]
    assert manifest["started"] == manifest["finished"] == "2026-10-15T00:00:00+00:00"
    assert manifest["as_of_source"] == "clock"
    clock = datetime.fromisoformat(manifest["as_of"])
    assert before <= clock <= after
    assert f"clock: {manifest['as_of']} (the time of the run)" in result.output
    told = [w for w in manifest["warnings"] if w.startswith("SOURCE_DATE_EPOCH")]
    assert told == [f"SOURCE_DATE_EPOCH ({EPOCH}) sets the times the files record, not the "
                    f"audit's clock: without --as-of or as_of in the policy, the clock is the "
                    f"time of the run, {manifest['as_of']}, so the files cannot be reproduced "
                    f"byte for byte; give --as-of {manifest['as_of']} (or set as_of in the "
                    "policy)"]
    assert f"warning: {told[0]}" in result.output
    assert not any("after the audit's clock" in w for w in manifest["warnings"])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"the time of the run: --as-of {manifest['as_of']} re-runs this audit" in html
    assert "the run&#39;s time under it" not in html


def test_a_source_date_epoch_before_the_log_is_no_refusal(tmp_path: Path) -> None:
    """SOURCE_DATE_EPOCH=315532800 (1980-01-01, as Nix sets it), no --as-of, no as_of in the
    policy: the run judges the log at the time of the run. Before, the clock was 1980 and
    the run was refused as judging nothing ('... (the time of the run), is before every
    event'), naming the wrong source."""
    result, out = _no_clock_run(tmp_path, "315532800")
    assert result.exit_code == 0, (result.output, result.exception)
    written = json.loads((out / "findings.json").read_text())
    manifest = written["manifest"]
    assert manifest["started"] == "1980-01-01T00:00:00+00:00"
    assert datetime.fromisoformat(manifest["as_of"]) > datetime(2026, 10, 15, tzinfo=UTC)
    assert written["summary"]["events_after_clock"] == 0 and written["findings"]
