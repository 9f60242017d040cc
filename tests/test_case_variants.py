"""The cases' variants as check_conformance numbers them (`case_variants`): the same variants,
in the same order, as one dict of tuples filled case by case (the way they were computed
before, kept here as the reference)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import conformance.deviations as D
from conformance.deviations import case_variants


def _by_dict(names: list[str], codes: np.ndarray, starts: np.ndarray
             ) -> tuple[list[tuple[str, ...]], list[int]]:
    labels = [names[c] for c in codes.tolist()]
    bounds = [*starts.tolist(), len(labels)]
    variants: list[tuple[str, ...]] = []
    number: dict[tuple[str, ...], int] = {}
    of_case = []
    for s, e in itertools.pairwise(bounds):
        variant = tuple(labels[s:e])
        if variant not in number:
            number[variant] = len(variants)
            variants.append(variant)
        of_case.append(number[variant])
    return variants, of_case


def _check(names: list[str], codes: np.ndarray, lengths: np.ndarray) -> None:
    starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    expected, expected_of_case = _by_dict(names, codes, starts)
    # As it comes, word by word to the end (never few cases left), and whole at once (the
    # remaining tasks of every case hashed from the start): each way the dict's variants.
    for few in (D._FEW_LONG_CASES, 0, len(lengths) + 1):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(D, "_FEW_LONG_CASES", few)
            variants, of_case = case_variants(codes, names, starts)
        assert variants == expected
        assert of_case.tolist() == expected_of_case


@pytest.mark.parametrize("seed", range(40))
def test_random_logs_give_the_dicts_variants(seed: int) -> None:
    # few tasks (many cases share a variant) to hundreds (several words a case), short and
    # geometric lengths
    rng = np.random.default_rng(seed)
    n_tasks = int(rng.choice([1, 2, 3, 8, 9, 300]))
    n_cases = int(rng.integers(1, 500))
    lengths = (rng.integers(1, 6, n_cases) if seed % 2 else rng.geometric(0.2, n_cases))
    used = min(n_tasks, int(rng.integers(1, 4))) if seed % 3 == 0 else n_tasks
    codes = rng.integers(0, used, int(lengths.sum()))
    _check([f"task {i}" for i in range(n_tasks)], codes, lengths)


def test_long_cases_over_several_words() -> None:
    # 9 tasks: 4 bits a task, 15 tasks a word; cases of 1,000+ events differing only at
    # their end, at a word's border and in its middle
    names = [f"t{i}" for i in range(9)]
    base = np.tile(np.arange(9), 120)  # 1,080 events
    ends = [base.copy() for _ in range(5)]
    ends[1][-1] = 0
    ends[2][15 * 40] = 8
    ends[3][15 * 40 - 1] = 8
    cases = [ends[0], ends[1], ends[0], ends[2], ends[3], ends[2], np.array([3]), ends[4]]
    _check(names, np.concatenate(cases), np.array([len(c) for c in cases]))


def test_one_very_long_case_among_many_short() -> None:
    # 300 short cases (more than _FEW_LONG_CASES: the first words are packed) and one of
    # 20,000 events, alone after the short ones' words (its rest hashed whole); two long
    # cases alike but the last event, one like the first, and a short one like its start
    rng = np.random.default_rng(5)
    names = [f"t{i}" for i in range(12)]
    short = [rng.integers(0, 3, int(n)) for n in rng.integers(1, 9, 300)]
    long = rng.integers(0, 12, 20_000)
    other = long.copy()
    other[-1] = (other[-1] + 1) % 12
    cases = [*short[:150], long, *short[150:], other, long.copy(), long[:5].copy()]
    assert len(cases) > D._FEW_LONG_CASES
    _check(names, np.concatenate(cases), np.array([len(c) for c in cases]))


def test_length_tells_variants_apart() -> None:
    # task 0 packs as zero bits: (0,), (0, 0) and (0, 0, 0) are three variants
    _check(["a", "b"], np.array([0, 0, 0, 0, 0, 0, 1]), np.array([1, 2, 3, 1]))


def test_no_cases() -> None:
    variants, of_case = case_variants(np.zeros(0, dtype=np.int64), ["a"],
                                      np.zeros(0, dtype=np.int64))
    assert variants == [] and len(of_case) == 0
