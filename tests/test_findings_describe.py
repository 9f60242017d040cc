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


# An id several events hold (a source that reuses ids): "D" twice in C1, "W" in C2 and C3,
# "Z" in C1 first on an event stating no activity, then on one that does.
DUPLICATED = {
    "C1": [{"a": "Receive refund request", "r": "Ann", "id": "D"},
           {"a": "Collect evidence", "r": "Ann", "id": "Z"},
           {"a": "Approve refund", "r": "Bob", "id": "Z"},
           {"a": "Execute payout", "r": None, "role": None, "id": "D"}],
    "C2": [{"a": "Receive refund request", "r": "Cy", "id": "W"}],
    "C3": [{"a": "Approve refund", "r": "Dee", "id": "W"}],
}


def _duplicated_facts(policy: Policy, coded: bool) -> CaseFacts:
    log = build_log(DUPLICATED, policy)
    log[C.ACTIVITY] = log[C.ACTIVITY].astype(object)
    first_z = log.index[log[C.EVENT_ID].eq("Z")][0]
    log.loc[first_z, C.ACTIVITY] = None  # (Z's first event states no activity)
    if coded:
        C.compact(log)
    return CaseFacts(log, policy, datetime(2026, 12, 1, tzinfo=UTC))


@pytest.mark.parametrize("coded", [False, True])
def test_an_id_held_by_several_events_is_its_first_ones(policy: Policy, coded: bool) -> None:
    """The first event in the sorted order describes an id held by several: among the
    cases given (D: C1's request, not its payout), in the whole log (W: C2's, not C3's),
    and the cases given before the rest of the log (W asked for C3: C3's own event)."""
    facts = _duplicated_facts(policy, coded)
    assert facts.describe(["D"], pd.Index(["C1"])) == {"D": ("Receive refund request", "Ann")}
    assert facts.describe(["D"]) == {"D": ("Receive refund request", "Ann")}
    assert facts.describe(["W"], pd.Index(["C1"])) == {"W": ("Receive refund request", "Cy")}
    assert facts.describe(["W"]) == {"W": ("Receive refund request", "Cy")}
    assert facts.describe(["W"], pd.Index(["C3"])) == {"W": ("Approve refund", "Dee")}


@pytest.mark.parametrize("coded", [False, True])
def test_an_id_whose_first_event_states_no_activity_is_left_out(policy: Policy,
                                                                coded: bool) -> None:
    """Z's first event states no activity: Z is left out, not described by its second
    event (which states one), whether the cases given or the whole log are searched."""
    facts = _duplicated_facts(policy, coded)
    assert facts.describe(["Z", "D"], pd.Index(["C1"])) == {
        "D": ("Receive refund request", "Ann")}
    assert facts.describe(["Z"], pd.Index(["C2"])) == {}
    assert facts.describe(["Z"]) == {}
