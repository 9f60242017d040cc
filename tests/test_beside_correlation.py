"""Work run beside the correlation (which uses one core): pm4py's token replay imported
there for a run whose conformance rules will need it, not on the rules' time."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from audit.checkrun import _pm4py_replay_import, checked_policy
from audit.engines import EngineSpec
from audit.policy import default_policy_path
from audit.sources.pipeline import import_and_correlate

REPO = Path(__file__).resolve().parent.parent
EXPORTS = REPO / "sample_logs" / "refund-sample" / "exports"
CANONICAL = REPO / "sample_logs" / "refund-sample" / "canonical.csv"


def test_the_replay_is_imported_beside_for_a_local_run_with_precision(tmp_path: Path) -> None:
    policy = checked_policy(default_policy_path())
    assert policy.conformance.precision and policy.sop
    work = _pm4py_replay_import(policy, EngineSpec())
    assert work is not None
    assert getattr(work(), "__name__", None) == "pm4py.algo.conformance.tokenreplay.algorithm"
    # Not where the rules run elsewhere, or no selected rule reads the nets, or neither the
    # precision nor token replay is asked for.
    assert _pm4py_replay_import(policy, EngineSpec("dask")) is None
    ignored = replace(policy, ignore=(*policy.ignore, "conformance"))
    assert _pm4py_replay_import(ignored, EngineSpec()) is None
    without = replace(policy, conformance=replace(policy.conformance, precision=False))
    assert _pm4py_replay_import(without, EngineSpec()) is None
    replay = replace(without, conformance=replace(without.conformance, mode="token-replay"))
    assert _pm4py_replay_import(replay, EngineSpec()) is not None


def test_the_work_runs_in_another_thread_and_is_joined_before_the_return() -> None:
    seen: list[tuple[str, bool]] = []

    def work() -> None:
        seen.append((threading.current_thread().name, threading.current_thread().daemon))

    result = import_and_correlate([(p, None) for p in sorted(EXPORTS.iterdir())],
                                  beside_correlation=work)
    assert len(result.log) > 1000
    assert seen == [("beside-correlation", True)]
    assert all(t.name != "beside-correlation" for t in threading.enumerate())


def test_what_the_work_raises_is_left_to_the_callers_own_call() -> None:
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        raise ModuleNotFoundError("No module named 'pm4py'")

    result = import_and_correlate([(p, None) for p in sorted(EXPORTS.iterdir())],
                                  beside_correlation=work)
    assert calls == [1] and len(result.log) > 1000


def test_no_work_without_an_export_to_correlate() -> None:
    def work() -> None:
        pytest.fail("called for a canonical log, which is not correlated")

    assert len(import_and_correlate([(CANONICAL, None)], beside_correlation=work).log) > 1000
