"""As a user who installed the package runs it: without the optional `mining` extra (pm4py,
r4pm), and from a folder that is not the checkout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.test_cli import run

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "sample_logs" / "refund-sample" / "canonical.csv"


@pytest.fixture
def without_mining(monkeypatch: pytest.MonkeyPatch) -> None:
    """pm4py and r4pm not installed: importing them fails, as in an installation without
    the `mining` extra (`importlib.util.find_spec` finds neither)."""
    for name in ("pm4py", "r4pm"):
        monkeypatch.setitem(sys.modules, name, None)


MINING = "pip install 'refund-audit[mining]'"


def test_check_without_mining_is_refused_naming_the_extra(without_mining: None,
                                                          tmp_path: Path) -> None:
    """Before: the conformance rules crashed one by one after the import, each as
    `ModuleNotFoundError: No module named 'pm4py'`."""
    out = tmp_path / "out"
    result = run("check", str(BUNDLED), "--out", str(out), code=2)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "CF001, CF002, CF003, CF004 need pm4py" in lines[0] and MINING in lines[0]
    assert "ModuleNotFoundError" not in result.output
    assert not (out / "findings.json").exists(), "refused before the import and any report"


def test_demo_without_mining_is_refused_naming_the_extra(without_mining: None,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run("demo", "--out", str(out), code=2)
    assert MINING in result.output and "ModuleNotFoundError" not in result.output
    assert not (out / "findings.json").exists()


def test_check_without_mining_runs_with_conformance_ignored(without_mining: None,
                                                            tmp_path: Path) -> None:
    """The way out the refusal names: the policy's `rules: ignore: [conformance]`."""
    policy = tmp_path / "policy.yaml"
    run("policy", "init", str(policy))
    text = policy.read_text(encoding="utf-8")
    assert "  ignore: []\n" in text
    policy.write_text(text.replace("  ignore: []\n", "  ignore: [conformance]\n"),
                      encoding="utf-8")
    run("check", str(BUNDLED), "--policy", str(policy), "--out", str(tmp_path / "out"),
        "--fail-on", "never", "--format", "json")
    document = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert document["errors"] == [] and document["findings"]
    assert not [f for f in document["findings"] if f["rule"].startswith("CF")]


def test_policy_check_without_mining_checks_the_file_alone(without_mining: None) -> None:
    """`policy check` tells whether the file is usable, not what this installation lacks."""
    run("policy", "check", str(REPO / "models" / "policy.default.yaml"))


@pytest.mark.parametrize("miner", ["inductive", "heuristics"])
def test_discover_without_mining_is_refused_naming_the_extra(without_mining: None,
                                                             tmp_path: Path,
                                                             miner: str) -> None:
    """Before: an internal error and pm4py's ImportError traceback."""
    result = run("discover", str(BUNDLED), "--miner", miner, "--out", str(tmp_path / "m"),
                 code=2)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: field '--miner'") and MINING in lines[0]
    assert "--miner dfg" in lines[0]


def test_discover_dfg_without_mining(without_mining: None, tmp_path: Path) -> None:
    run("discover", str(BUNDLED), "--miner", "dfg", "--out", str(tmp_path / "m"))
    assert (tmp_path / "m" / "discovery-dfg.svg").exists()


def test_python_m_audit_runs_from_any_folder(tmp_path: Path) -> None:
    """`python -m audit` is the command (before: "No module named audit.__main__"), and the
    demo reads its sample, policy, SOPs and templates from the package, not from the folder
    it runs in (here an empty one, the checkout only on the import path)."""
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    listed = subprocess.run([sys.executable, "-m", "audit", "rules", "--format", "json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert {r["code"] for r in json.loads(listed.stdout)} >= {"AP001", "CF001", "SD004"}
    done = subprocess.run([sys.executable, "-m", "audit", "demo"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "out" / "demo" / "findings.json").read_text())
    assert document["errors"] == [] and document["findings"]
    assert (tmp_path / "out" / "demo" / "report.html").read_text().rstrip().endswith("</html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
