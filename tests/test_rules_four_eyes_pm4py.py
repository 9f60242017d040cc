"""self-approval cross-checked against pm4py's four-eyes filter, and where pm4py falls short.

`pm4py.filter_four_eyes_principle(log, A, B, keep_violations=True)` (pm4py 2.7.23,
algo/filtering/pandas/ltl/ltl_checker.py `four_eyes_principle`) keeps the cases in which a
resource of *any* A event equals the resource of the *last* B row of the case (in frame order,
`groupby(case).last()`); rows with a missing resource drop out of the join. With one request
and one first-level approval per case, as in the generated logs, that is exactly our
self-approval restricted to the first-level approval. With two approvals, pm4py compares only
the last one, and it knows one B label only, so a requester who approves and is then followed
by another approver goes unseen; self-approval finds both.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from audit import canonical as C
from audit.ingest import import_sources
from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.engine import run_rules
from audit.rules.registry import default_rules
from audit.sample import SampleSpec, write_sample
from audit.sample import process as P
from tests.rules.logbuilder import build_log

pm4py = pytest.importorskip("pm4py")
pytestmark = pytest.mark.filterwarnings("ignore:The .lsuffix. and .rsuffix. keywords")

RULES = default_rules()


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(default_policy_path(), known_rules=RULES.known)


def pm4py_violations(log: pd.DataFrame) -> set[str]:
    # pm4py wants text columns; the imported log holds labels and people as categories.
    kept = pm4py.filter_four_eyes_principle(C.plain(log), P.REQUEST, P.APPROVE,
                                            keep_violations=True)
    return set(kept[C.CASE])


def ours(log: pd.DataFrame, policy: Policy, *, first_level_only: bool) -> set[str]:
    assert policy.as_of is not None
    result = run_rules(log, policy, RULES, as_of=policy.as_of)
    assert result.errors == []
    return {f.case_id for f in result.findings if f.name == "self-approval"
            and (not first_level_only or P.APPROVE in f.activities)}


def test_same_cases_as_pm4py_on_a_generated_log(tmp_path: Path, policy: Policy) -> None:
    write_sample(SampleSpec("all", 1000, 7, 0.3), tmp_path)
    log = import_sources([(tmp_path / "canonical.csv", None)]).log
    # pm4py's semantics fit here: at most one request and one first-level approval per case.
    per_case = log[log[C.ACTIVITY].isin([P.REQUEST, P.APPROVE])].groupby(
        [C.CASE, C.ACTIVITY]).size()
    assert per_case.max() == 1
    expected = pm4py_violations(log)
    assert len(expected) >= 3
    assert ours(log, policy, first_level_only=True) == expected


def test_pm4py_misses_a_requester_followed_by_another_approver(policy: Policy) -> None:
    log = build_log({
        # Both see it: the requester gives the only approval.
        "BOTH": [{"a": P.REQUEST, "r": "Nadia Rossi"}, {"a": P.APPROVE, "r": "Nadia Rossi"},
                 {"a": P.PAYOUT}],
        # Two first-level approvals: the requester's, then another supervisor's (the last).
        "TWICE": [{"a": P.REQUEST, "r": "Nadia Rossi"}, {"a": P.APPROVE, "r": "Nadia Rossi"},
                  {"a": P.APPROVE, "r": "Omar Farouk"}, {"a": P.PAYOUT}],
        # The requester approves at the second level, which pm4py's one B label cannot see.
        "LEVEL2": {"amount": 900, "events": [
            {"a": P.REQUEST, "r": "Tanja Vogel"}, {"a": P.APPROVE, "r": "Nadia Rossi"},
            {"a": P.APPROVE_2, "r": "Tanja Vogel"}, {"a": P.PAYOUT}]},
        # Nobody approves their own request.
        "CLEAN": [{"a": P.REQUEST, "r": "Ben Carter"}, {"a": P.APPROVE, "r": "Nadia Rossi"},
                  {"a": P.PAYOUT}],
    }, policy)
    assert C.validate(log) == []
    assert pm4py_violations(log) == {"BOTH"}
    assert ours(log, policy, first_level_only=False) == {"BOTH", "TWICE", "LEVEL2"}
