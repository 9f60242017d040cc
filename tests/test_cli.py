"""The command line: exit codes, one-line errors, help with examples, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit import canonical as C
from audit.cli import main
from audit.errors import ExitCode

COMMANDS = sorted(main.commands)


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), "a traceback escaped"
    return result


def test_exit_codes_are_defined_once() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert "Example" in result.output
    assert "refund-audit" in result.output


@pytest.mark.parametrize("args", [["discover", "missing.csv"],
                                  ["compare", "missing.csv", "missing.bpmn"]])
def test_discover_and_compare_refuse_missing_input_with_exit_2(args: list[str],
                                                              tmp_path: Path) -> None:
    result = run(*args, "--out", str(tmp_path / "out"), code=2)
    assert "error: missing.csv: no such file" in result.output


def test_help_does_not_import_heavy_packages() -> None:
    code = ("import sys; from audit.cli import main\n"
            "heavy = [m for m in ('pm4py', 'dask', 'pandas') if m in sys.modules]\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_sample_then_import_round_trip(tmp_path: Path) -> None:
    run("sample", "--channel", "offline", "--cases", "40", "--seed", "3", "--out",
        str(tmp_path / "s"))
    assert (tmp_path / "s" / "canonical.csv").exists()
    assert (tmp_path / "s" / "ground_truth.csv").exists()
    result = run("import", str(tmp_path / "s" / "canonical.csv"), "--out",
                 str(tmp_path / "log.parquet"))
    assert "quarantined 0" in result.output
    log = pd.read_parquet(tmp_path / "log.parquet")
    assert log[C.CASE].nunique() == 40
    assert (tmp_path / "quarantine.csv").read_text().startswith("file,row,field,value,reason")


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "naive.csv"
    bad.write_text("case,activity,timestamp\n1,a,2024-01-01 10:00:00\n", encoding="utf-8")
    result = run("import", str(bad), "--out", str(tmp_path / "log.parquet"), code=2)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and "naive.csv" in lines[0]
    assert "row 2" in lines[0] and "'timestamp'" in lines[0] and "--assume-tz" in lines[0]
    ok = run("import", str(bad), "--assume-tz", "Europe/Berlin", "--out",
             str(tmp_path / "log.parquet"))
    assert "imported 1" in ok.output
    log = pd.read_parquet(tmp_path / "log.parquet")
    assert log[C.TIMESTAMP].iloc[0] == pd.Timestamp("2024-01-01 09:00:00", tz="UTC")


def test_unknown_time_zone_and_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("case,activity,timestamp\n1,a,2024-01-01T10:00:00Z\n", encoding="utf-8")
    result = run("import", str(f), "--assume-tz", "Mars/Olympus", "--out",
                 str(tmp_path / "o.parquet"), code=2)
    assert "unknown time zone 'Mars/Olympus'" in result.output
    result = run("import", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.parquet"),
                 code=2)
    assert "nope.csv: no such file" in result.output


def test_demo_writes_its_outputs(tmp_path: Path) -> None:
    bundled = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample"
    events = len(pd.read_csv(bundled / "canonical.csv"))
    truth = pd.read_csv(bundled / "ground_truth.csv")
    result = run("demo", "--out", str(tmp_path / "demo"))
    # The demo reads the sample's ticketing and payment exports; correlated, they give back
    # canonical.csv's events (a charge refunded in two cases appears in both).
    assert "+ quarantined 0;" in result.output
    assert f"{events} events in 300 cases" in result.output
    for name in ("canonical.parquet", "quarantine.csv", "findings.json", "findings.csv"):
        assert (tmp_path / "demo" / name).exists(), name
    assert str(tmp_path / "demo") in result.output
    document = json.loads((tmp_path / "demo" / "findings.json").read_text())
    found = {(f["case_id"], f["name"]) for f in document["findings"]}
    expected = set(truth.itertuples(index=False, name=None))
    assert found == expected


def test_model_inspect(tmp_path: Path) -> None:
    models = Path(__file__).resolve().parents[1] / "models"
    result = run("model", "inspect", str(models / "ecommerce.bpmn"))
    assert "sound: yes" in result.output and "lane Supervisor: " in result.output
    report = json.loads(run("model", "inspect", str(models / "offline.bpmn"), "--json").output)
    assert report["sound"] == "yes" and report["refused"] == []
    assert {t["name"] for t in report["tasks"]} >= {"Approve refund", "Execute payout"}
    bad = tmp_path / "bad.bpmn"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><definitions/>')
    assert "must not contain a DTD" in run("model", "inspect", str(bad), code=2).output
    run("model", "inspect", str(tmp_path / "missing.bpmn"), code=2)


@pytest.mark.parametrize(("fail_on", "code"), [("never", 0), ("low", 1)])
def test_console_script_ends_the_process_with_the_exit_code(tmp_path: Path, fail_on: str,
                                                            code: int) -> None:
    """The console script (`run`) ends `check` at once (os._exit) once everything is
    written: the exit code is --fail-on's, stdout holds the whole summary, every report is
    on disk and complete, and the exit handlers ran (as at a normal exit)."""
    run("sample", "--channel", "all", "--cases", "60", "--seed", "5", "--out",
        str(tmp_path / "s"))
    marker = tmp_path / "exit-handler-ran"
    script = ("import atexit, pathlib, sys\n"
              f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
              "sys.argv = ['refund-audit', *sys.argv[1:]]\n"
              "from audit.cli import run\n"
              "run()\n"
              "raise SystemExit(99)  # not reached: check ends the process\n")
    out = tmp_path / "audit"
    done = subprocess.run([sys.executable, "-c", script, "check",
                           str(tmp_path / "s" / "canonical.csv"), "--out", str(out),
                           "--fail-on", fail_on], capture_output=True, text=True)
    assert done.returncode == code, done.stderr
    assert marker.read_text() == "yes"
    lines = done.stdout.splitlines()
    assert lines[0].startswith("audited 60 cases")
    wrote = [line.split("wrote ", 1)[1] for line in lines if "  wrote " in line]
    assert {Path(p).name for p in wrote} >= {"findings.json", "findings.csv", "report.html",
                                            "findings.xlsx", "quarantine.csv"}
    document = json.loads((out / "findings.json").read_text())
    assert document["summary"]["findings"] == len(document["findings"]) > 0
    assert (out / "report.html").read_text().rstrip().endswith("</html>")
