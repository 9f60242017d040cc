"""Alignments, and so the events a conformance finding names, do not depend on luck.

pm4py's A* breaks ties between equally cheap alignments by the iteration order of sets of
net objects, which depends on their memory addresses: the same trace aligned on two fresh
copies of one net could move different tasks (e.g. the payout instead of the approval), so a
finding's events and fingerprint changed between runs. conformance/align.py adds fixed
tie-breakers; this test aligns swap-heavy variants on many fresh copies of a net and demands
one answer, with both engines, and with r4pm's in fresh processes too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.align import Aligner
from conformance.petri import bpmn_to_workflow_net

MODELS = Path(__file__).resolve().parents[1] / "models"

SWAPS = [
    ("Receive refund request", "Collect evidence", "Execute payout", "Approve refund",
     "Notify customer", "Close ticket"),
    ("Receive refund request", "Approve refund", "Collect evidence", "Execute payout",
     "Notify customer", "Close ticket"),
    ("Receive refund request", "Collect evidence", "Approve refund", "Notify customer",
     "Execute payout", "Close ticket"),
    ("Receive refund request", "Collect evidence", "Approve refund", "Execute payout",
     "Close ticket", "Notify customer"),
    ("Collect evidence", "Receive refund request", "Approve refund", "Execute payout",
     "Notify customer", "Close ticket"),
]


@pytest.mark.parametrize("engine", ["r4pm", "pm4py"])
def test_alignments_are_the_same_on_fresh_copies_of_the_net(engine: str) -> None:
    answers = set()
    keep_alive = []  # different memory layouts for every copy
    for _ in range(12):
        net = bpmn_to_workflow_net(MODELS / "ecommerce.bpmn").net
        assert net is not None
        aligner = Aligner(net, engine=engine)
        result = aligner.align(SWAPS)
        answers.add(tuple(tuple(result[v].moves) for v in SWAPS))
        keep_alive.append((net, aligner, [object() for _ in range(1000)]))
    assert len(answers) == 1, f"{len(answers)} different alignments of the same variants"


SCRIPT = """
import json, sys
from pathlib import Path
from conformance.align import Aligner
from conformance.petri import bpmn_to_workflow_net
swaps = json.loads(sys.argv[1])
net = bpmn_to_workflow_net(Path(sys.argv[2])).net
result = Aligner(net, engine="r4pm", processes=1).align([tuple(v) for v in swaps])
print(json.dumps([[[m.log, m.model] for m in result[tuple(v)].moves] for v in swaps]))
"""


def test_r4pm_alignments_are_the_same_in_fresh_processes() -> None:
    """r4pm's search runs in Rust, whose hash maps are seeded per process: two interpreters
    must still pick the same alignment among equally cheap ones."""
    outputs = {subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(SWAPS),
                               str(MODELS / "ecommerce.bpmn")], capture_output=True, text=True,
                              check=True, cwd=MODELS.parent).stdout.strip().splitlines()[-1]
               for _ in range(3)}
    assert len(outputs) == 1
