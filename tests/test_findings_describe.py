"""`CaseFacts.describe`, what each finding's activities and resources are read from: read
off the columns as lists (no frame indexed by id, reindexed), the same on a coded log and
on a log of plain texts, each distinct text one object, and an id the cases given do not
hold found in the whole log."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from audit import canonical as C
from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.facts import CaseFacts
from audit.rules.registry import default_rules
from tests.rules.logbuilder import build_log

CASES = {
    "C1": [{"a": "Receive refund request", "r": "Ann", "id": "C1-1"},
           {"a": "Approve refund", "r": "Bob", "id": "C1-2"},
           {"a": "Execute payout", "r": None, "role": None, "id": "C1-3"}],
    "C2": [{"a": "Receive refund request", "r": "Ann", "id": "C2-1"},
           {"a": "Approve refund", "r": "Bob", "id": "C2-2"}],
}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(default_policy_path(), known_rules=default_rules().known)


@pytest.mark.parametrize("coded", [False, True])
def test_describe_reads_activity_and_resource_of_each_id(policy: Policy, coded: bool) -> None:
    log = build_log(CASES, policy)
    if coded:
        C.compact(log)
    facts = CaseFacts(log, policy, datetime(2026, 12, 1, tzinfo=UTC))
    # C2-2 is not among C1's events: looked up in the whole log; "nope" is nowhere.
    got = facts.describe(["C1-3", "C1-2", "C2-2", "C1-2", "nope"], pd.Index(["C1"]))
    assert got == {"C1-3": ("Execute payout", None), "C1-2": ("Approve refund", "Bob"),
                   "C2-2": ("Approve refund", "Bob")}
    assert list(got) == ["C1-3", "C1-2", "C2-2"]  # (in the order asked, each once)
    # One object per distinct text: a run's findings hold each activity and person once.
    assert got["C1-2"][0] is got["C2-2"][0]
    assert got["C1-2"][1] is got["C2-2"][1]
    assert facts.describe([], pd.Index(["C1"])) == {}


def test_describe_leaves_out_an_event_stating_no_activity(policy: Policy) -> None:
    log = build_log(CASES, policy)
    log[C.ACTIVITY] = log[C.ACTIVITY].astype(object)
    log.loc[log[C.EVENT_ID] == "C1-2", C.ACTIVITY] = None
    facts = CaseFacts(log, policy, datetime(2026, 12, 1, tzinfo=UTC))
    assert facts.describe(["C1-1", "C1-2"], pd.Index(["C1"])) == {
        "C1-1": ("Receive refund request", "Ann")}
