"""Rank-based tests across groups: the omnibus test (Kruskal–Wallis or Mann–Whitney U) and Dunn's
pairwise test.

Every group must hold at least MIN_GROUP_SIZE values and the pooled data must not be all identical;
otherwise the result is `skipped` with the reason, never NaN and never an exception.
"""

from __future__ import annotations

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

OmnibusTest = Literal["kruskal", "mannwhitney"]


@dataclass(frozen=True)
class OmnibusResult:
    """Result of the omnibus test; statistic and p are None when `skipped` gives a reason."""

    test: OmnibusTest | None
    statistic: float | None
    p: float | None
    skipped: str | None


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
    if test == "kruskal":
        result = stats.kruskal(*groups)
    else:
        result = stats.mannwhitneyu(groups[0], groups[1], alternative="two-sided")
    statistic, p = float(result.statistic), float(result.pvalue)
    if not (math.isfinite(statistic) and math.isfinite(p)):
        reason = f"scipy's {test} returned a non-finite result"
        return OmnibusResult(test, None, None, skipped=reason)
    return OmnibusResult(test, statistic, p, skipped=None)


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
