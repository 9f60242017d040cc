"""The policy's SOP and conformance settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.errors import InputError
from audit.policy import default_policy_path, load_policy

MODELS = Path(__file__).resolve().parents[1] / "models"


def _policy(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("activities:\n  Approve refund: {control: approve, sop_task: approve}\n"
                    "  Capture payment: {control: purchase}\n" + extra, encoding="utf-8")
    return path


def test_default_policy_has_an_sop_per_channel() -> None:
    policy = load_policy(default_policy_path())
    for channel in ("ecommerce", "subscription", "offline"):
        path = policy.sop_path(channel)
        assert path == MODELS / f"{channel}.bpmn" and path.exists()
    assert policy.conformance.mode == "alignments" and policy.conformance.min_fitness is None


def test_sop_paths_and_task_names(tmp_path: Path) -> None:
    (tmp_path / "mine.bpmn").write_text("<x/>", encoding="utf-8")
    policy = load_policy(_policy(tmp_path, "sop: {ecommerce: mine.bpmn, '*': offline.bpmn}\n"))
    assert policy.sop_path("ecommerce") == tmp_path / "mine.bpmn"
    # A bare bundled name not beside the policy is the bundled model; '*' covers the rest.
    assert policy.sop_path("offline") == MODELS / "offline.bpmn"
    assert policy.sop_path(None) == MODELS / "offline.bpmn"
    # The purchase is context: not an SOP task; sop_task renames.
    assert policy.sop_tasks() == {"Approve refund": "approve"}


@pytest.mark.parametrize("extra,message", [
    ("sop: {web: a.bpmn}\n", "unknown channel 'web'"),
    ("conformance: {mode: fast}\n", "mode must be one of"),
    ("conformance: {min_fitness: 2}\n", "from 0 to 1"),
    ("conformance: {bound: 2}\n", "unknown key 'bound'"),
])
def test_bad_conformance_settings_name_the_line(tmp_path: Path, extra: str,
                                                message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        load_policy(_policy(tmp_path, extra))
    assert caught.value.row == 4
