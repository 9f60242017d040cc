"""Alignments, and so the events a conformance finding names, do not depend on luck.

pm4py's A* breaks ties between equally cheap alignments by the iteration order of sets of
net objects, which depends on their memory addresses: the same trace aligned on two fresh
copies of one net could move different tasks (e.g. the payout instead of the approval), so a
finding's events and fingerprint changed between runs. conformance/align.py adds fixed
tie-breakers; this test aligns swap-heavy variants on many fresh copies of a net and demands
one answer.
"""

from __future__ import annotations

from pathlib import Path

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


def test_alignments_are_the_same_on_fresh_copies_of_the_net() -> None:
    answers = set()
    keep_alive = []  # different memory layouts for every copy
    for _ in range(12):
        net = bpmn_to_workflow_net(MODELS / "ecommerce.bpmn").net
        assert net is not None
        aligner = Aligner(net)
        result = aligner.align(SWAPS)
        answers.add(tuple(tuple(result[v].moves) for v in SWAPS))
        keep_alive.append((net, aligner, [object() for _ in range(1000)]))
    assert len(answers) == 1, f"{len(answers)} different alignments of the same variants"
