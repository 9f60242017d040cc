"""Whether a share of cases moved between two logs: a two-sided test of two proportions
(Fisher's exact test where a count expected under no change is below 5, else the pooled
two-proportion z-test) and the Benjamini-Hochberg adjustment over the relations compared.

Pure Python (math.lgamma, math.erfc): no dependency for a few hundred 2x2 tables. The tests
check the p-values against scipy.stats where scipy is installed (Fisher's to 1e-9 relative on
small tables, 1e-7 at margins near a million, where lgamma's rounding shows; the pooled
z-test to 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

MIN_SHIFT_POINTS = 2.0
"""Log vs log: the least move, in percentage points, of a relation's share of cases (or of a
role's share of an activity's cases) that `compare` tells as a shift, where it is also
significant (`SHIFT_ALPHA`); `compare --min-shift` sets it."""
SHIFT_ALPHA = 0.05
"""Log vs log: a shift is told where its Benjamini-Hochberg adjusted p-value (over every
relation and role share of either log, one seen in one log only tested against 0) is at
most this: a false discovery rate of 5%."""

FISHER_BELOW = 5.0
"""Fisher's exact test where any count expected under no change is below this (the textbook
rule for the z-test's normal approximation), else the z-test."""

Test = Literal["fisher-exact", "two-proportion-z"]


@dataclass(frozen=True)
class ShiftTest:
    """A two-sided test of `cases_a` of `of_a` against `cases_b` of `of_b`."""

    test: Test
    p_value: float


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(cases_a: int, of_a: int, cases_b: int, of_b: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2x2 table (cases_a, of_a - cases_a;
    cases_b, of_b - cases_b): the probability, with the margins fixed, of a table no more
    likely than the one observed (scipy.stats.fisher_exact's two-sided definition)."""
    _check(cases_a, of_a, cases_b, of_b)
    total, taken = of_a + of_b, cases_a + cases_b
    low, high = max(0, taken - of_b), min(taken, of_a)
    whole = _log_choose(total, of_a)

    def log_p(x: int) -> float:
        return _log_choose(taken, x) + _log_choose(total - taken, of_a - x) - whole

    observed = log_p(cases_a)
    # (tables as likely as the observed one within rounding count as as likely)
    limit = observed + math.log1p(1e-7)
    p = math.fsum(math.exp(lp) for lp in (log_p(x) for x in range(low, high + 1))
                  if lp <= limit)
    return min(1.0, p)


def two_proportion_z(cases_a: int, of_a: int, cases_b: int, of_b: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test."""
    _check(cases_a, of_a, cases_b, of_b)
    pooled = (cases_a + cases_b) / (of_a + of_b)
    spread = pooled * (1 - pooled) * (1 / of_a + 1 / of_b)
    if spread <= 0:  # (both 0% or both 100%: no difference)
        return 1.0
    z = (cases_a / of_a - cases_b / of_b) / math.sqrt(spread)
    return math.erfc(abs(z) / math.sqrt(2))


def shift_test(cases_a: int, of_a: int, cases_b: int, of_b: int) -> ShiftTest:
    """The test `FISHER_BELOW` chooses, and its two-sided p-value."""
    _check(cases_a, of_a, cases_b, of_b)
    total, taken = of_a + of_b, cases_a + cases_b
    expected = min(of_a * taken, of_a * (total - taken), of_b * taken,
                   of_b * (total - taken)) / total
    if expected < FISHER_BELOW:
        return ShiftTest("fisher-exact", fisher_exact(cases_a, of_a, cases_b, of_b))
    return ShiftTest("two-proportion-z", two_proportion_z(cases_a, of_a, cases_b, of_b))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given: a test whose q
    is at most alpha is a discovery at a false discovery rate of alpha over all the tests."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        adjusted[index] = min(1.0, running)
    return adjusted


def _check(cases_a: int, of_a: int, cases_b: int, of_b: int) -> None:
    if not (0 <= cases_a <= of_a and 0 <= cases_b <= of_b and of_a > 0 and of_b > 0):
        raise ValueError(f"not two shares of cases: {cases_a} of {of_a}, {cases_b} of {of_b}")
