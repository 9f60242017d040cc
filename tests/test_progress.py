"""Progress on a terminal, quiet when piped: stage lines on stderr only on a TTY, per-rule
timings with --verbose (even piped), nothing but errors with --quiet."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit import progress as progress_module
from audit.cli import main
from audit.progress import Progress, current, using
from audit.rules import default_rules
from audit.sample import SampleSpec, write_sample

RULE_LINE = re.compile(r"^  rule [A-Z]{2}\d{3} [a-z-]+ +\d+\.\d{3}s$")
STAGE_LINE = re.compile(r"^\[ *\d+\.\ds\] \S")


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_reporter_writes_stages_only_on_a_tty() -> None:
    clock = Clock()
    tty = FakeTTY()
    reporter = Progress.for_cli(quiet=False, verbose=False, stream=tty)
    reporter.clock = clock
    reporter.started = clock()
    reporter.stage("reading 1 input(s): log.csv")
    clock.now += 2.5
    reporter.timing("rule AP001 missing-approval", 0.5)
    reporter.stage("correlating")
    reporter.done()
    assert tty.getvalue().splitlines() == [
        "[   0.0s] reading 1 input(s): log.csv", "[   2.5s] correlating", "[   2.5s] done"]

    piped = io.StringIO()
    silent = Progress.for_cli(quiet=False, verbose=False, stream=piped)
    silent.stage("reading")
    silent.timing("rule AP001 missing-approval", 0.5)
    assert piped.getvalue() == "" and not silent.enabled

    quiet_tty = FakeTTY()
    quiet = Progress.for_cli(quiet=True, verbose=True, stream=quiet_tty)
    quiet.stage("reading")
    quiet.timing("rule AP001 missing-approval", 0.5)
    assert quiet_tty.getvalue() == "" and not quiet.enabled


def test_verbose_reports_stages_and_timings_even_when_piped() -> None:
    piped = io.StringIO()
    reporter = Progress.for_cli(quiet=False, verbose=True, stream=piped)
    reporter.stage("correlating")
    reporter.timing("rule EV002 orphan-payout", 0.25)
    lines = piped.getvalue().splitlines()
    assert STAGE_LINE.match(lines[0]) and lines[0].endswith("correlating")
    assert RULE_LINE.match(lines[1]), lines[1]
    # A file name's escape sequence is shown, not run by the terminal.
    reporter.stage("reading 1 input(s): e\x1b]0;PWNED\x07sc.csv")
    assert piped.getvalue().splitlines()[-1].endswith(
        "reading 1 input(s): e[U+001B]]0;PWNED[U+0007]sc.csv")


def test_timed_rules_keep_their_findings_and_report_each_family() -> None:
    ruleset = default_rules()
    tty = FakeTTY()
    reporter = Progress(tty, stages=True, timings=True)
    reporter.time_rules(ruleset)
    assert all("check" in vars(rule) for rule in ruleset)
    assert not any("check" in vars(rule) for rule in default_rules())  # fresh, untouched


def test_current_is_silent_outside_using() -> None:
    assert not current().enabled
    tty = FakeTTY()
    with using(Progress(tty, stages=True)) as reporter:
        assert current() is reporter
    assert not current().enabled


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("progress")
    write_sample(SampleSpec(channel="all", cases=80, seed=4, violation_rate=0.3), out)
    return out / "canonical.csv"


def check(sample: Path, out: Path, *options: str) -> Result:
    result = CliRunner().invoke(main, [*options, "check", str(sample), "--out", str(out),
                                       "--format", "json,csv", "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_piped_check_shows_no_progress(sample: Path, tmp_path: Path) -> None:
    result = check(sample, tmp_path)
    assert result.stderr == ""
    assert "findings:" in result.stdout


def test_verbose_check_shows_per_rule_timings(sample: Path, tmp_path: Path) -> None:
    result = check(sample, tmp_path, "--verbose")
    lines = result.stderr.splitlines()
    timed = {line.split()[1] for line in lines if RULE_LINE.match(line)}
    assert timed == {rule.code for rule in default_rules()}
    stages = [line for line in lines if STAGE_LINE.match(line)]
    assert any("reading 1 input(s)" in line for line in stages)
    assert any("building facts" in line for line in stages)
    assert any("rules: evidence chain (EV)" in line for line in stages)
    assert any("writing the json report" in line for line in stages)
    assert stages[-1].endswith("] done")
    assert "findings:" in result.stdout


def test_quiet_check_prints_nothing(sample: Path, tmp_path: Path) -> None:
    result = check(sample, tmp_path, "--quiet", "--verbose")
    assert result.output == ""
    assert (tmp_path / "findings.json").exists()


def test_check_on_a_terminal_shows_stages_without_timings(sample: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(progress_module, "is_tty", lambda stream: True)
    result = check(sample, tmp_path)
    lines = result.stderr.splitlines()
    assert lines and all(STAGE_LINE.match(line) for line in lines), lines
    assert not any(RULE_LINE.match(line) for line in lines)


def test_import_reports_its_stages(sample: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["-v", "import", str(sample), "--out",
                                       str(tmp_path / "log.parquet")])
    assert result.exit_code == 0, (result.output, result.exception)
    stages = result.stderr.splitlines()
    assert "reading 1 input(s): canonical.csv" in stages[0]
    assert any("writing" in line for line in stages) and stages[-1].endswith("] done")
    piped = CliRunner().invoke(main, ["import", str(sample), "--out",
                                      str(tmp_path / "again.parquet")])
    assert piped.exit_code == 0 and piped.stderr == ""


def test_errors_still_show_with_quiet(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--quiet", "check", str(tmp_path / "absent.csv"),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr.startswith("error: ")


@pytest.mark.parametrize("command, expected", [
    (["discover", "{log}", "--out", "{out}/model"],
     ["reading ", "reading 1 input(s): ", "discovering (inductive miner)",
      "drawing the directly-follows graph",
      "writing the model and reading it back", "aligning the log's variants on the model",
      "drawing the model", "writing the variants"]),
    (["compare", "{log}", "ecommerce.bpmn", "--out", "{out}/diff"],
     ["reading the as-is side ", "reading 1 input(s): ",
      "reading the to-be side ecommerce.bpmn", "comparing",
      "writing "]),
    (["sample", "--cases", "20", "--out", "{out}/sample"],
     ["generating 20 case(s) (all) into "]),
])
def test_discover_compare_and_sample_report_their_stages(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str],
        expected: list[str]) -> None:
    """discover and compare of a 1M-case log ran for minutes, and sample of a million cases
    for one, without a word on a terminal: long work shows its stages there (DESIGN's CLI
    contract), in order, and stays quiet when piped. discover and compare read a log as
    check does (since 2026-12-07): its reader's stage ('reading 1 input(s): ...') follows
    theirs."""
    args = [a.format(log=sample, out=tmp_path) for a in command]
    piped = CliRunner().invoke(main, args)
    assert piped.exit_code == 0, (piped.output, piped.exception)
    assert piped.stderr == ""
    monkeypatch.setattr(progress_module, "is_tty", lambda stream: True)
    shown = CliRunner().invoke(main, args)
    assert shown.exit_code == 0, (shown.output, shown.exception)
    stages = [line.split("] ", 1)[1] for line in shown.stderr.splitlines()]
    assert all(STAGE_LINE.match(line) for line in shown.stderr.splitlines())
    assert len(stages) == len(expected) + 1 and stages[-1] == "done", stages
    for stage, start in zip(stages, expected, strict=False):
        assert stage.startswith(start), (stage, start)


def test_verbose_and_quiet_after_the_command(sample: Path, tmp_path: Path) -> None:
    """The global options given after `check` (before, "No such option") act as before it."""
    result = CliRunner().invoke(main, ["check", str(sample), "--out", str(tmp_path / "v"),
                                       "--format", "json", "--fail-on", "never", "-v"])
    assert result.exit_code == 0, (result.output, result.exception)
    timed = {line.split()[1] for line in result.stderr.splitlines() if RULE_LINE.match(line)}
    assert timed == {rule.code for rule in default_rules()}
    quiet = CliRunner().invoke(main, ["check", str(sample), "--out", str(tmp_path / "q"),
                                      "--format", "json", "--fail-on", "never", "--quiet"])
    assert quiet.exit_code == 0 and quiet.output == ""
