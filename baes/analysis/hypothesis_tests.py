"""Rank-based tests across groups: the omnibus test (Kruskal–Wallis or Mann–Whitney U) and Dunn's
pairwise test.

Mann–Whitney's p is exact (the permutation distribution of the rank sum, ties included, counted
in full) whenever the smaller group has at most EXACT_MAX_SMALLER_GROUP values and the count
stays within EXACT_MAX_WORK additions; only larger samples use the tie-corrected normal
approximation. Every result names the method that produced its p ("exact" or "asymptotic").

Every group must hold at least MIN_GROUP_SIZE values and the pooled data must not be all identical;
otherwise the result is `skipped` with the reason, never NaN and never an exception.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from baes.analysis.samples import is_constant

# A single value shows no within-group variation, and against it even a total separation cannot
# reach conventional significance (exact Mann–Whitney p ≥ 2/(n+1)); skip rather than pretend.
MIN_GROUP_SIZE = 2

# Exact up to 20 values in the smaller group: that covers the 5–30 runs per framework people run,
# and above it the tie-corrected normal approximation with continuity correction is within a few
# thousandths of the exact p near α (tests/analysis/test_hypothesis_tests.py measures it at 21 vs
# 21). The count costs N·(m + 1)·(2·N·m) additions for N values and m in the smaller group; the
# bound keeps it under ~0.2 s (20 vs 180: 3.4e7; 5 vs 1000: 6.1e7; 20 vs 500: 2.3e8, asymptotic).
EXACT_MAX_SMALLER_GROUP = 20
EXACT_MAX_WORK = 100_000_000

OmnibusTest = Literal["kruskal", "mannwhitney"]
TestMethod = Literal["exact", "permutation", "asymptotic"]


@dataclass(frozen=True)
class OmnibusResult:
    """Result of the omnibus test; statistic and p are None when `skipped` gives a reason."""

    test: OmnibusTest | None
    statistic: float | None
    p: float | None
    skipped: str | None
    method: TestMethod | None = None


@dataclass(frozen=True)
class DunnComparison:
    """One two-sided Dunn comparison of groups a and b (indices); z > 0 when a ranks higher."""

    a: int
    b: int
    z: float
    p: float


@dataclass(frozen=True)
class DunnResult:
    """All pairwise comparisons (a < b, in group order), or none with the reason."""

    comparisons: tuple[DunnComparison, ...]
    skipped: str | None


def rank_test_precondition(
    groups: Sequence[np.ndarray], names: Sequence[str] | None = None
) -> str | None:
    """Why a rank test across `groups` cannot be run, or None when it can."""
    labels = list(names) if names is not None else [f"#{i + 1}" for i in range(len(groups))]
    if len(groups) < 2:
        return f"needs at least 2 groups, got {len(groups)}"
    small = [
        f"{label!r} (n={g.size})"
        for label, g in zip(labels, groups, strict=True)
        if g.size < MIN_GROUP_SIZE
    ]
    if small:
        return f"every group needs at least {MIN_GROUP_SIZE} values; too few in " + ", ".join(small)
    pooled = np.concatenate(groups)
    if is_constant(pooled):
        return f"all values are identical ({float(pooled[0])!r}); there are no ranks to compare"
    return None


def omnibus_test(groups: Sequence[np.ndarray], names: Sequence[str] | None = None) -> OmnibusResult:
    """Kruskal–Wallis (tie-corrected) for k ≥ 3 groups, two-sided Mann–Whitney U for k = 2."""
    k = len(groups)
    test: OmnibusTest | None = "kruskal" if k >= 3 else "mannwhitney" if k == 2 else None
    reason = rank_test_precondition(groups, names)
    if reason is not None:
        return OmnibusResult(test, None, None, skipped=reason)
    method: TestMethod
    if test == "kruskal":
        result = stats.kruskal(*groups)
        statistic, p, method = float(result.statistic), float(result.pvalue), "asymptotic"
    else:
        statistic, p, method = mann_whitney(groups[0], groups[1])
    if not (math.isfinite(statistic) and math.isfinite(p)):
        reason = f"scipy's {test} returned a non-finite result"
        return OmnibusResult(test, None, None, skipped=reason)
    return OmnibusResult(test, statistic, p, skipped=None, method=method)


def exact_is_feasible(n_a: int, n_b: int) -> bool:
    """Whether Mann–Whitney's p is counted exactly at these group sizes (see the module doc)."""
    smaller, total = min(n_a, n_b), n_a + n_b
    work = total * (smaller + 1) * (2 * total * smaller)
    return smaller <= EXACT_MAX_SMALLER_GROUP and work <= EXACT_MAX_WORK


def mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[float, float, TestMethod]:
    """Two-sided Mann–Whitney U of a vs b: (U of a, p, method); exact when feasible."""
    if not exact_is_feasible(a.size, b.size):
        result = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
        return float(result.statistic), float(result.pvalue), "asymptotic"
    pooled = np.concatenate([a, b])
    doubled = doubled_ranks(pooled)
    u_a = float(doubled[: a.size].sum()) / 2.0 - a.size * (a.size + 1) / 2.0
    return u_a, exact_rank_sum_p(doubled, a.size), "exact"


def doubled_ranks(pooled: np.ndarray) -> np.ndarray:
    """Twice the average ranks (1-based) of `pooled`: integers even with ties."""
    return np.rint(2.0 * stats.rankdata(pooled, method="average")).astype(np.int64)


def exact_rank_sum_p(doubled: np.ndarray, n_first: int) -> float:
    """Exact two-sided permutation p of the rank sum of the first `n_first` items (ties included).

    `doubled` holds twice the average ranks of all items, so every rank sum is an integer. The
    null distribution counts every way to choose the smaller group's items from the pool
    (C(N, m) equally likely arrangements); p = 2·min(P(S ≤ s), P(S ≥ s)), capped at 1, the
    convention of scipy.stats.permutation_test.
    """
    return rank_sum_p(np.sort(doubled), n_first, int(doubled[:n_first].sum()))


def rank_sum_p(pool: np.ndarray, m: int, observed: int) -> float:
    """exact_rank_sum_p from the sorted pool of doubled ranks and one group's size and sum."""
    if 2 * m > pool.size:  # count the smaller group: same p, less work
        m, observed = pool.size - m, int(pool.sum()) - observed
    cdf, sf = _rank_sum_tails(pool.astype(np.int64).tobytes(), m)
    return min(1.0, 2.0 * min(float(cdf[observed]), float(sf[observed])))


@functools.lru_cache(maxsize=1024)
def _rank_sum_tails(sorted_doubled: bytes, m: int) -> tuple[np.ndarray, np.ndarray]:
    """P(S ≤ s) and P(S ≥ s) for the sum S of m items drawn without replacement from the pool.

    Cached by the pool's tie pattern: resampled data (sample-size planning) repeat patterns often.
    """
    ranks = np.frombuffer(sorted_doubled, dtype=np.int64)
    top = int(ranks[-m:].sum()) if m else 0
    # ways[j, s]: number of j-item subsets of the items seen so far whose rank sum is s (floats:
    # the counts reach C(200, 20) ≈ 1.6e27; only their ratios matter).
    ways = np.zeros((m + 1, top + 1))
    ways[0, 0] = 1.0
    n_total = ranks.size
    for seen, rank in enumerate(ranks.tolist()):
        # Subsets of j items can grow only up to j = m, and need not be tracked once too few
        # items remain to complete them: rows [low, high] change at this item.
        high = min(seen + 1, m)
        low = max(1, m - (n_total - seen - 1))
        if rank <= top and low <= high:
            ways[low : high + 1, rank:] += ways[low - 1 : high, : top + 1 - rank].copy()
    distribution = ways[m] / ways[m].sum()
    cdf = np.cumsum(distribution)
    sf = np.cumsum(distribution[::-1])[::-1]
    return cdf, sf


def dunn_test(groups: Sequence[np.ndarray], names: Sequence[str] | None = None) -> DunnResult:
    """Dunn's two-sided pairwise test on pooled average ranks, with the tie-corrected variance."""
    if len(groups) < 3:
        return DunnResult((), skipped=f"Dunn's test is for 3 or more groups, got {len(groups)}")
    reason = rank_test_precondition(groups, names)
    if reason is not None:
        return DunnResult((), skipped=reason)
    pooled = np.concatenate(groups)
    n_total = int(pooled.size)
    ranks = stats.rankdata(pooled, method="average")
    _, tie_sizes = np.unique(pooled, return_counts=True)
    tie_sum = sum(t**3 - t for t in tie_sizes.tolist())  # Python ints: exact
    # 12(N−1)·[N(N+1)/12 − Σ(t³−t)/(12(N−1))], in integers so "zero variance" is an exact test.
    variance_numerator = n_total * (n_total + 1) * (n_total - 1) - tie_sum
    # Σ(t³−t) < N³−N unless one tie group holds all N values, which the precondition rejects for
    # finite data; all-NaN input (np.unique merges NaNs, == does not) still reaches this branch.
    if variance_numerator <= 0:
        return DunnResult((), skipped="the rank variance is zero (all values identical)")
    rank_variance = variance_numerator / (12 * (n_total - 1))
    sizes = [int(g.size) for g in groups]
    mean_ranks = [float(r.mean()) for r in np.split(ranks, np.cumsum(sizes)[:-1])]
    comparisons = []
    for a, b in itertools.combinations(range(len(groups)), 2):
        sigma = math.sqrt(rank_variance * (1.0 / sizes[a] + 1.0 / sizes[b]))
        z = (mean_ranks[a] - mean_ranks[b]) / sigma
        p = min(1.0, 2.0 * float(stats.norm.sf(abs(z))))
        comparisons.append(DunnComparison(a=a, b=b, z=z, p=p))
    return DunnResult(tuple(comparisons), skipped=None)
