"""`CaseFacts.first_of` (audit.rules.facts.first_in_runs): per case the position of its first
event in a mask. Both its forms (the sparse one, the masked events' cases compared with their
neighbours', and the counting one used for dense masks) give what a scan of the events for
each case gives, on random cases and masks of every density: no events, no case, all false,
all true, one event per case, a case of no events (codes skipped), and events without a case
(code -1) first or last, which are no case's (they wrote their position into the last case's
slot)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.policy import default_policy_path, load_policy
from audit.rules.facts import CaseFacts, first_in_runs
from audit.rules.registry import default_rules
from tests.rules.logbuilder import build_log

Ints = np.ndarray[Any, np.dtype[np.int64]]


def scanned_first_of(mask: np.ndarray[Any, np.dtype[np.bool_]], codes: Ints, n: int) -> Ints:
    """The reference: for each case 0..n-1, the first event of that case in `mask`, by a
    scan of the events (-1 where none; an event of code -1 is of no case)."""
    out = [-1] * n
    for position, (code, masked) in enumerate(zip(codes.tolist(), mask.tolist(),
                                                  strict=True)):
        if masked and code >= 0 and out[code] == -1:
            out[code] = position
    return np.asarray(out, dtype=np.int64)


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
def test_first_in_runs_is_the_scanned_first_of(seed: int) -> None:
    rng = np.random.default_rng(seed)
    codes, n = random_codes(rng)
    runs = runs_of(codes)
    for density in (0.0, 0.05, 0.2, 0.25, 0.3, 0.6, 0.95, 1.0):
        mask = rng.random(len(codes)) < density
        assert np.array_equal(first_in_runs(mask, codes, n, runs),
                              scanned_first_of(mask, codes, n)), density


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
    assert facts.first_of(paid).tolist() == scanned_first_of(paid, facts.case_code,
                                                             facts.n_cases).tolist()
    assert [p >= 0 for p in facts.first_of(paid).tolist()] == [True, False, True]


@pytest.mark.parametrize("where", ["first", "last"])
def test_events_without_a_case_are_no_cases(where: str) -> None:
    """An event without a case (code -1, first or last) is in no case's first event, by
    either form (it wrote its position into the last case's slot: first_of(every) was
    [0, 3] where C2's first event is 2)."""
    codes = np.array([0, 0, 0, 0, 1, -1] if where == "last" else [-1, 0, 0, 0, 0, 1],
                     dtype=np.int64)
    runs = runs_of(codes)
    caseless = codes == -1
    for mask in (np.ones(6, dtype=bool), caseless,  # dense; sparse (1 * 4 < 6)
                 caseless | (np.arange(6) == (4 if where == "last" else 5))):
        assert first_in_runs(mask, codes, 2, runs).tolist() == \
            scanned_first_of(mask, codes, 2).tolist()
    assert first_in_runs(caseless, codes, 2, runs).tolist() == [-1, -1]
    assert first_in_runs(np.ones(6, dtype=bool), codes, 2, runs).tolist() == (
        [0, 4] if where == "last" else [1, 5])


def test_the_facts_first_of_skips_events_without_a_case() -> None:
    """Through CaseFacts, on a log whose last case's events lost their case id (import
    quarantines such events, so check never gives the rules one; a caller of the library
    can): C2's first event is its own, not the caseless event after it."""
    policy = load_policy(default_policy_path(), known_rules=default_rules().known)
    log = build_log({"C1": [{"a": "Receive refund request"}, {"a": "Approve refund"},
                            {"a": "Execute payout"}, {"a": "Approve refund"}],
                     "C2": [{"a": "Receive refund request"}],
                     "C3": [{"a": "Capture payment"}]}, policy)
    log.loc[log["case:concept:name"] == "C3", "case:concept:name"] = None
    assert policy.as_of is not None
    facts = CaseFacts(log, policy, policy.as_of)
    assert list(facts.case_ids) == ["C1", "C2"]
    assert facts.case_code.tolist() == [0, 0, 0, 0, 1, -1]
    every = np.ones(facts.n_events, dtype=bool)
    assert facts.first_of(every).tolist() == [0, 4]
    caseless = facts.case_code == -1  # one event of six: the sparse form
    assert facts.first_of(caseless).tolist() == [-1, -1]


def test_rows_of_cases_are_the_events_whose_case_is_chosen() -> None:
    """`CaseFacts.rows_of_cases` (the spans of the chosen cases put together) gives the
    positions a pass over every event's case gives, ascending: any choice of cases, in any
    order, with repeats, none; and with an event of no case (code -1), where the pass reads
    it as the last case's, the same as the pass."""
    policy = load_policy(default_policy_path(), known_rules=default_rules().known)
    cases = {f"C{i}": [{"a": "Receive refund request"}, {"a": "Approve refund"},
                       {"a": "Execute payout"}][:1 + i % 3] for i in range(1, 13)}
    rng = np.random.default_rng(3)
    for caseless in (False, True):
        log = build_log(cases, policy)
        if caseless:
            log.loc[log["case:concept:name"] == "C12", "case:concept:name"] = None
        assert policy.as_of is not None
        facts = CaseFacts(log, policy, policy.as_of)
        assert (facts._case_spans is None) == caseless
        for _ in range(200):
            chosen = rng.integers(0, facts.n_cases, int(rng.integers(0, 2 * facts.n_cases)))
            mask = np.zeros(facts.n_cases, dtype=bool)
            mask[chosen] = True
            passed = np.flatnonzero(mask[facts.case_code])
            got = facts.rows_of_cases(chosen.astype(np.int64))
            assert got.tolist() == passed.tolist()


def test_case_positions_by_the_sorted_bytes_are_those_a_scan_finds() -> None:
    """`CaseFacts.case_positions` by a binary search of the case ids as fixed-width bytes
    (`_sorted_positions`) gives, in the order asked, the position of each asked id that is
    a case (a repeated one as often), as a scan does: ids of other lengths, prefixes of
    each other, non-ASCII, empty; ids not there. Where it cannot apply (ids too long, a
    NUL, a missing or non-text id) `_fixed_bytes` and `_sorted_positions` say so (None)."""
    import pyarrow as pa

    from audit.rules.facts import _fixed_bytes, _sorted_positions

    rng = np.random.default_rng(11)
    alphabet = ["a", "b", "z", "0", "9", "-", "é", "中", "😀", " "]
    for _ in range(200):
        texts = {"".join(rng.choice(alphabet, int(rng.integers(0, 6))))
                 for _ in range(int(rng.integers(1, 40)))}
        ids = sorted(texts)  # (code point order: the case ids' order)
        keys = _fixed_bytes(pa.array(ids, type=pa.string()))
        assert keys is not None
        asked = [str(rng.choice(ids)) if rng.random() < 0.6 else
                 "".join(rng.choice(alphabet, int(rng.integers(0, 7))))
                 for _ in range(int(rng.integers(1, 20)))]
        expected = [ids.index(a) for a in asked if a in ids]
        got = _sorted_positions(keys, pd.Index(asked, dtype=object))
        assert got is not None and got.tolist() == expected
    assert _fixed_bytes(pa.array(["a" * 33])) is None
    assert _fixed_bytes(pa.array(["a\x00"])) is None
    assert _fixed_bytes(pa.array(["a", None])) is None
    keys = _fixed_bytes(pa.array(["a", "b"]))
    assert keys is not None
    assert _sorted_positions(keys, pd.Index(["a", None], dtype=object)) is None
    assert _sorted_positions(keys, pd.Index([1, 2])) is None
    assert _sorted_positions(keys, pd.Index(["b", "a" * 40], dtype=object)) is None
    sliced = _fixed_bytes(pa.array(["x", "ab", "abc", "b"]).slice(1, 2))
    assert sliced is not None and sliced.tolist() == [b"ab", b"abc"]



@pytest.mark.parametrize(("ids", "expected"), [(["b", "a", "c"], [1, 0, 2]),
                                               (["a", "b", "b", "c"], None)])
def test_case_positions_where_the_case_ids_are_not_strictly_ascending(
        ids: list[str], expected: list[int] | None) -> None:
    """Case ids not strictly ascending as bytes (unsorted, or a repeated id) take no binary
    search (`_case_keys` None): `case_positions` finds each asked id where a scan does (a
    binary search of ["b", "a", "c"] finds "a" nowhere and "b" at 2)."""
    policy = load_policy(default_policy_path())
    facts = CaseFacts(pd.DataFrame(), policy, datetime(2026, 10, 15, tzinfo=UTC))
    index = pd.Index(ids, dtype="string[pyarrow]")
    facts.__dict__["_order_and_codes"] = (None, np.zeros(0, dtype=np.int64), index)
    assert facts._case_keys is None
    got = facts.case_positions(pd.Index(["a", "b", "c", "z"], dtype=object))
    assert got is not None
    if expected is not None:
        assert got.tolist() == expected
    else:  # (a repeated id: each asked id found, at a place holding it)
        assert sorted({ids[i] for i in got.tolist()}) == ["a", "b", "c"]
