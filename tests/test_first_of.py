"""`CaseFacts.first_of` (audit.rules.facts.first_in_runs): per case the position of its first
event in a mask. Its counting form, used for dense masks, gives what the form it replaced
(the cases of the masked events compared with their neighbours') gives, on random cases and
masks of every density: no events, no case, all false, all true, one event per case, a case
of no events (codes skipped), and events without a case (code -1) first or last."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.policy import default_policy_path, load_policy
from audit.rules.facts import CaseFacts, first_in_runs
from audit.rules.registry import default_rules
from tests.rules.logbuilder import build_log

Ints = np.ndarray[Any, np.dtype[np.int64]]


def previous_first_of(mask: np.ndarray[Any, np.dtype[np.bool_]], codes: Ints, n: int) -> Ints:
    """first_of as it was (before the counting form)."""
    at = np.flatnonzero(mask)
    cases = codes[at]
    start = np.r_[True, cases[1:] != cases[:-1]] if len(at) else np.zeros(0, dtype=bool)
    out = np.full(n, -1, dtype=np.int64)
    out[cases[start]] = at[start]
    return out


def runs_of(codes: Ints) -> tuple[Ints, Ints, Ints]:
    if not len(codes):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]).astype(np.int64)
    return starts, np.r_[starts[1:], len(codes)].astype(np.int64), codes[starts]


def random_codes(rng: np.random.Generator) -> tuple[Ints, int]:
    """Ascending case codes in one run per case, some codes without events, sometimes a
    run of -1 (events without a case) first or last."""
    n = int(rng.integers(1, 40))
    sizes = rng.integers(0, 6, n)  # 0: a case of no events
    codes = np.repeat(np.arange(n), sizes).astype(np.int64)
    where = rng.integers(0, 3)
    caseless = np.full(int(rng.integers(1, 4)), -1, dtype=np.int64)
    if where == 1:
        codes = np.r_[caseless, codes]
    elif where == 2:
        codes = np.r_[codes, caseless]
    return codes, n


@pytest.mark.parametrize("seed", range(300))
def test_first_in_runs_is_the_previous_first_of(seed: int) -> None:
    rng = np.random.default_rng(seed)
    codes, n = random_codes(rng)
    runs = runs_of(codes)
    for density in (0.0, 0.05, 0.2, 0.25, 0.3, 0.6, 0.95, 1.0):
        mask = rng.random(len(codes)) < density
        assert np.array_equal(first_in_runs(mask, codes, n, runs),
                              previous_first_of(mask, codes, n)), density


def test_edge_cases() -> None:
    none = np.zeros(0, dtype=np.int64)
    empty = first_in_runs(np.zeros(0, dtype=bool), none, 3, runs_of(none))
    assert empty.tolist() == [-1, -1, -1]
    codes = np.array([0, 0, 1, 3, 3, 3], dtype=np.int64)
    runs = runs_of(codes)
    assert first_in_runs(np.zeros(6, dtype=bool), codes, 4, runs).tolist() == [-1] * 4
    assert first_in_runs(np.ones(6, dtype=bool), codes, 4, runs).tolist() == [0, 2, -1, 3]
    dense = np.array([False, True, True, False, False, True])
    assert first_in_runs(dense, codes, 4, runs).tolist() == [1, 2, -1, 5]
    sparse = np.array([False, False, False, False, True, False])
    assert first_in_runs(sparse, codes, 4, runs).tolist() == [-1, -1, -1, 4]


def test_the_facts_first_of_on_a_built_log() -> None:
    """Through CaseFacts: the first payout, request and event of each case of a built log,
    by either form (dense: every event; sparse: the payouts)."""
    policy = load_policy(default_policy_path(), known_rules=default_rules().known)
    log = build_log({
        "C1": [{"a": "Receive refund request"}, {"a": "Approve refund"},
               {"a": "Execute payout"}],
        "C2": [{"a": "Capture payment"}],
        "C3": [{"a": "Capture payment"}, {"a": "Receive refund request"},
               {"a": "Execute payout"}, {"a": "Execute payout"}]}, policy)
    assert policy.as_of is not None
    facts = CaseFacts(log, policy, policy.as_of)
    every = np.ones(facts.n_events, dtype=bool)
    starts = pd.Series(np.arange(facts.n_events)).groupby(facts.case_code).min()
    assert facts.first_of(every).tolist() == starts.tolist()
    paid = facts.mask("paid")
    assert facts.first_of(paid).tolist() == previous_first_of(paid, facts.case_code,
                                                              facts.n_cases).tolist()
    assert [p >= 0 for p in facts.first_of(paid).tolist()] == [True, False, True]
