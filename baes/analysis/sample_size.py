"""Sample-size planning: the smallest n per group at which the procedure baes runs has 80 % power.

The power is simulated, not taken from a formula: each candidate n draws SIMULATION_REPS
experiments by resampling every observed group (with replacement) to n values, runs on each the
exact procedure of the analysis (k = 2: Mann–Whitney, exact where the analysis is exact; k ≥ 3:
Kruskal–Wallis, Dunn over the family's pairs, the plan's adjustment, and the omnibus gate) and
counts how often the pair comes out significant. The search starts at the smallest n at which
the procedure can reach α at all (derived by running it on the most extreme data possible),
doubles up to MAX_N_PER_GROUP and then bisects (to the exact n up to 20, to within 5 % above),
so it costs a handful of simulations; the n reported has a simulated power of at least 80 %. Every draw
is seeded by (seed, n): the result does not depend on the order pairs are planned in.

The textbook value (Cohen's d → noncentral t, divided by the Mann–Whitney ARE bound 0.864) is
kept as a labelled second figure; it assumes normal data and ignores what the test can reach.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from baes.analysis.descriptives import power_of_two_scale, sample_mean, sample_std
from baes.analysis.hypothesis_tests import exact_is_feasible, rank_sum_p
from baes.analysis.p_adjust import adjust_p_rows
from baes.analysis.samples import is_constant
from baes.config.models import PAdjustMethod

SIMULATION_REPS = 1000
SEQUENTIAL_BATCH = 100
SETTLED_Z = 3.3
MAX_N_PER_GROUP = 500
BISECTION_TOLERANCE = 0.05
MANN_WHITNEY_ARE_LOWER_BOUND = 0.864
# Below n = 1.5 (df = 1) the noncentral t is numerically unreliable; a solution there rounds to 2.
_SMALLEST_SOLVED_N = 1.5
# Upper bound on simulated values held at once (batching does not change the draws).
_MAX_VALUES_PER_BATCH = 4_000_000


@dataclass(frozen=True)
class SampleSizePlan:
    """Simulated n per group (None with the reason) and the labelled formula value."""

    n_per_group: int | None
    reason: str | None = None
    n_formula: int | None = None


@dataclass(frozen=True)
class RankedDraws:
    """What the rank tests need from R simulated experiments of k groups of n values each.

    `rank_sums` (R × k) and each pool hold twice the average ranks, so they are integers even
    with ties; `pools` (the sorted doubled ranks of a row) is built only when an exact test
    needs it.
    """

    n: int
    rank_sums: np.ndarray
    tie_sum: np.ndarray
    pools: list[np.ndarray] | None = None

    @classmethod
    def from_values(cls, data: np.ndarray, k: int, n: int, with_pools: bool) -> RankedDraws:
        """From the values (R × k·n, group after group; small integer codes sort fastest)."""
        rows, width = data.shape
        # A stable sort of 16-bit integers is a radix sort in numpy: linear, not n·log n.
        order = np.argsort(data, axis=1, kind="stable")
        ordered = np.take_along_axis(data, order, axis=1)
        starts = np.ones((rows, width), dtype=bool)
        starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
        flat_starts = np.flatnonzero(starts.ravel())
        sizes = np.diff(np.append(flat_starts, rows * width))
        position = flat_starts % width
        # Twice the average rank of a run of ties: (first rank + last rank), ranks from 1.
        doubled_sorted = np.repeat(2 * position + sizes + 1, sizes)
        # Rank sums per group straight from the sorted order: no inverse permutation needed.
        slot = (np.arange(rows)[:, None] * k + order // n).ravel()
        rank_sums = np.bincount(slot, weights=doubled_sorted, minlength=rows * k)
        rank_sums = np.rint(rank_sums).astype(np.int64).reshape(rows, k)
        tie_sum = np.bincount(flat_starts // width, weights=sizes**3 - sizes, minlength=rows)
        pools = list(doubled_sorted.reshape(rows, width)) if with_pools else None
        return cls(n, rank_sums, tie_sum, pools)

    @classmethod
    def from_counts(cls, counts: np.ndarray, with_pools: bool) -> RankedDraws:
        """From counts (R × k × V) of each of V distinct values, in ascending value order.

        Costs O(R·k·V) whatever n is, where sorting costs O(R·k·n·log): the cheap route when
        few distinct values are resampled to a large n.
        """
        totals = counts.sum(axis=1)
        before = np.cumsum(totals, axis=1) - totals
        doubled = 2 * before + totals + 1
        rank_sums = np.einsum("rkv,rv->rk", counts, doubled)
        tie_sum = (totals**3 - totals).sum(axis=1).astype(float)
        pools = None
        if with_pools:
            pools = [np.repeat(d, t) for d, t in zip(doubled, totals, strict=True)]
        n = int(counts[0, 0].sum())
        return cls(n, rank_sums, tie_sum, pools)


@dataclass(frozen=True)
class Procedure:
    """The test procedure the analysis runs on k groups for a family of pairs (index pairs)."""

    k: int
    pairs: tuple[tuple[int, int], ...]
    alpha: float
    p_adjust: PAdjustMethod

    def needs_pools(self, n: int) -> bool:
        return self.k == 2 and exact_is_feasible(n, n)

    def significant(self, draws: RankedDraws) -> np.ndarray:
        """R × len(pairs) booleans: which simulated experiments call each pair significant."""
        n, total = draws.n, self.k * draws.n
        if self.k == 2:
            return self._mann_whitney(draws)[:, None]
        # Kruskal–Wallis (tie-corrected) as the gate, then Dunn on the same ranking.
        rank_sums = draws.rank_sums / 2.0
        correction = 1.0 - draws.tie_sum / (total**3 - total)
        h_raw = 12.0 / (total * (total + 1)) * (rank_sums**2).sum(axis=1) / n - 3.0 * (total + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(correction > 0, h_raw / correction, 0.0)
        gate = (correction > 0) & (stats.chi2.sf(h, self.k - 1) <= self.alpha)
        variance = (total * (total + 1) / 12.0 - draws.tie_sum / (12.0 * (total - 1))) * (2.0 / n)
        mean_ranks = rank_sums / n
        left = [a for a, _ in self.pairs]
        right = [b for _, b in self.pairs]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (mean_ranks[:, left] - mean_ranks[:, right]) / np.sqrt(variance)[:, None]
        p = np.where(variance[:, None] > 0, np.minimum(1.0, 2.0 * stats.norm.sf(np.abs(z))), 1.0)
        adjusted = adjust_p_rows(p, self.p_adjust)
        return (adjusted <= self.alpha) & gate[:, None]

    def _mann_whitney(self, draws: RankedDraws) -> np.ndarray:
        n = draws.n
        if draws.pools is not None:
            sums = draws.rank_sums[:, 0].tolist()
            p = np.array(
                [rank_sum_p(pool, n, s) for pool, s in zip(draws.pools, sums, strict=True)]
            )
        else:  # scipy's asymptotic form: tie-corrected variance, continuity correction
            total = 2 * n
            u = draws.rank_sums[:, 0] / 2.0 - n * (n + 1) / 2.0
            u = np.maximum(u, n * n - u)
            variance = n * n / 12.0 * ((total + 1) - draws.tie_sum / (total * (total - 1)))
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (u - n * n / 2.0 - 0.5) / np.sqrt(variance)
            p = np.where(variance > 0, np.minimum(1.0, 2.0 * stats.norm.sf(z)), 1.0)
        # One comparison: every adjustment leaves a single p unchanged.
        return p <= self.alpha


@functools.lru_cache(maxsize=256)
def smallest_reachable_n(procedure: Procedure) -> int | None:
    """The smallest n per group at which the procedure can call the family's first pair significant.

    Derived, not tabulated: the procedure runs on the most extreme data possible at each n (the
    pair's groups at the two ends of the ranking, the others between; once with distinct values
    and once with every group constant, since tie corrections can enlarge the statistics), e.g.
    4 for exact two-sided Mann–Whitney at α = 0.05 (2/C(8, 4) = 0.029; 3 per group gives 0.1).
    """
    a, b = procedure.pairs[0]
    middle = [g for g in range(procedure.k) if g not in (a, b)]
    position = {g: rank for rank, g in enumerate([a, *middle, b])}
    for n in range(2, MAX_N_PER_GROUP + 1):
        distinct = np.concatenate(
            [position[g] * n + np.arange(n, dtype=float) for g in range(procedure.k)]
        )
        constant = np.concatenate([np.full(n, float(position[g])) for g in range(procedure.k)])
        data = np.vstack([distinct, constant])
        draws = RankedDraws.from_values(data, procedure.k, n, procedure.needs_pools(n))
        if procedure.significant(draws)[:, 0].any():
            return n
    return None


def plan_sample_sizes(
    samples: Sequence[np.ndarray],
    pairs: Sequence[tuple[int, int]],
    *,
    alpha: float,
    p_adjust: PAdjustMethod,
    power: float = 0.8,
    seed: int = 0,
    reps: int = SIMULATION_REPS,
) -> list[SampleSizePlan]:
    """n per group for `power` for each pair, simulating the procedure on all k `samples`."""
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must be in (0, 1), got alpha={alpha}, power={power}")
    if not pairs:
        return []
    too_small = [i for i, s in enumerate(samples) if s.size < 2]
    if too_small:
        sizes = ", ".join(str(samples[i].size) for i in too_small)
        reason = f"needs at least 2 values in every group to resample, got {sizes}"
        return [SampleSizePlan(None, reason) for _ in pairs]
    procedure = Procedure(len(samples), tuple(pairs), alpha, p_adjust)
    start = smallest_reachable_n(procedure)
    if start is None:
        reason = f"the test cannot reach α = {alpha:g} with up to {MAX_N_PER_GROUP} per group"
        return [SampleSizePlan(None, reason) for _ in pairs]
    search = _PowerSearch(procedure, samples, seed, reps, power)
    plans = []
    for index, (a, b) in enumerate(pairs):
        formula = formula_n_per_group(samples[a], samples[b], alpha=alpha, power=power)
        formula = None if formula is None else max(formula, start)
        if is_constant(np.concatenate([samples[a], samples[b]])):
            reason = (
                "both groups hold the same single value; no sample size can detect a difference"
            )
            plans.append(SampleSizePlan(None, reason, None))
            continue
        n, reason = search.smallest_n(index, power, start)
        plans.append(SampleSizePlan(n, reason, formula))
    return plans


class _PowerSearch:
    """Simulated power per pair at candidate n, each n simulated once for all pairs."""

    def __init__(
        self,
        procedure: Procedure,
        samples: Sequence[np.ndarray],
        seed: int,
        reps: int,
        target: float = 0.8,
    ) -> None:
        self.procedure, self.seed, self.reps, self.target = procedure, seed, reps, target
        pooled = np.unique(np.concatenate(list(samples)))
        self.distinct = pooled.size
        # Each group as its distinct values (as indices into the pooled distinct values) and
        # their shares: drawing n values with replacement is one multinomial draw over them.
        # Only the order of values matters to rank tests: draw their ranks among the pooled
        # distinct values (small integers sort in linear time) instead of the values.
        code_type = np.uint16 if pooled.size <= np.iinfo(np.uint16).max else np.int64
        self.codes = [np.searchsorted(pooled, s).astype(code_type) for s in samples]
        self.groups = []
        for sample in samples:
            values, multiplicity = np.unique(sample, return_counts=True)
            self.groups.append((np.searchsorted(pooled, values), multiplicity / sample.size))
        self._power: dict[int, np.ndarray] = {}

    def power(self, n: int) -> np.ndarray:
        """Simulated power of every pair at n per group (fraction of significant draws)."""
        if n not in self._power:
            self._power[n] = self._simulate(n)
        return self._power[n]

    def _simulate(self, n: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, n])
        k = self.procedure.k
        with_pools = self.procedure.needs_pools(n)
        by_counts = self.distinct < 2 * n  # see RankedDraws.from_counts
        width = k * (self.distinct if by_counts else n)
        batch = max(1, min(SEQUENTIAL_BATCH, _MAX_VALUES_PER_BATCH // width))
        hits = np.zeros(len(self.procedure.pairs))
        done = 0
        while done < self.reps:
            size = min(batch, self.reps - done)
            if by_counts:
                counts = np.zeros((size, k, self.distinct), dtype=np.int64)
                for g, (codes, shares) in enumerate(self.groups):
                    counts[:, g, codes] = rng.multinomial(n, shares, size=size)
                draws = RankedDraws.from_counts(counts, with_pools)
            else:
                data = np.hstack([c[rng.integers(0, c.size, size=(size, n))] for c in self.codes])
                draws = RankedDraws.from_values(data, k, n, with_pools)
            hits += self.procedure.significant(draws).sum(axis=0)
            done += size
            if self._settled(hits / done, done):
                break
        return hits / done

    def _settled(self, power: np.ndarray, draws: int) -> bool:
        """Whether every pair's power is clearly (z = 3.3, 99.9 %) above or below the target.

        Candidate n far from the 80 % crossing are settled after a few hundred draws; the
        ones that decide the answer get all `reps`.
        """
        margin = SETTLED_Z * math.sqrt(self.target * (1.0 - self.target) / draws)
        return bool(np.all(np.abs(power - self.target) > margin))

    def smallest_n(self, pair: int, target: float, start: int) -> tuple[int | None, str | None]:
        failed, n = start - 1, start
        while self.power(n)[pair] < target:
            if n >= MAX_N_PER_GROUP:
                shown = f"{self.power(n)[pair]:.0%}"
                return None, (
                    f"not practically detectable: simulated power at {MAX_N_PER_GROUP} per group "
                    f"is {shown}"
                )
            failed, n = n, min(2 * n, MAX_N_PER_GROUP)
        # Narrow the bracket to the exact n below 40, and to within 5 % above: there the
        # simulated power (±1.3 % standard error at 1000 draws) cannot place the 80 % crossing
        # any closer.
        while n - failed > max(1, math.floor(n * BISECTION_TOLERANCE)):
            middle = self._next_candidate(pair, failed, n, target)
            if self.power(middle)[pair] >= target:
                n = middle
            else:
                failed = middle
        return n, None

    def _next_candidate(self, pair: int, failed: int, passed: int, target: float) -> int:
        """A point strictly inside (failed, passed): where the power curve, straight in probit
        power against log n, crosses the target; kept off the ends so the bracket shrinks by at
        least an eighth each step, and the midpoint when `failed` was never simulated."""
        middle = (failed + passed) // 2
        if failed not in self._power:
            return middle
        low, high = (
            float(np.clip(self._power[x][pair], 0.005, 0.995)) for x in (failed, passed)
        )
        z_low, z_high, z_target = stats.norm.ppf([low, high, target])
        if not z_high > z_low:
            return middle
        share = (z_target - z_low) / (z_high - z_low)
        guess = math.exp(math.log(failed) + share * (math.log(passed) - math.log(failed)))
        margin = max(1, (passed - failed) // 8)
        return int(min(max(math.ceil(guess), failed + margin), passed - margin))


def cohens_d(a: np.ndarray, b: np.ndarray) -> float | None:
    """(mean a − mean b) / pooled sd; inf or −inf for zero pooled sd, None when undefined."""
    if a.size < 2 or b.size < 2:
        return None
    # d does not depend on the unit: in units of a power of two nothing overflows near 1e308.
    scale = power_of_two_scale(np.concatenate([a, b]))
    a, b = a / scale, b / scale
    difference = sample_mean(a) - sample_mean(b)
    sd_a, sd_b = sample_std(a), sample_std(b)
    assert sd_a is not None and sd_b is not None  # n ≥ 2, and values below 2 in these units
    pooled_var = ((a.size - 1) * sd_a**2 + (b.size - 1) * sd_b**2) / (a.size + b.size - 2)
    if not math.isfinite(difference) or not math.isfinite(pooled_var):
        return None
    if pooled_var == 0.0:
        if difference == 0.0:
            return None
        return math.copysign(math.inf, difference)
    return difference / math.sqrt(pooled_var)


def t_test_power(n_per_group: float, d: float, alpha: float) -> float:
    """Power of the two-sided two-sample t-test with n per group (real-valued) at effect d."""
    df = 2.0 * n_per_group - 2.0
    noncentrality = abs(d) * math.sqrt(n_per_group / 2.0)
    critical = -float(special.stdtrit(df, alpha / 2.0))
    # scipy.special directly: the stats.nct wrappers cost ~30x more per call inside brentq.
    # P(T > c) for T ~ nct(df, nc) equals P(T' < −c) for T' ~ nct(df, −nc): both tails stay exact.
    upper = special.nctdtr(df, -noncentrality, -critical)
    lower = float(special.nctdtr(df, noncentrality, -critical))
    if not math.isfinite(lower):
        # Boost's series gives NaN only deep in the wrong-direction tail, which is bounded by
        # P(T < 0) = Φ(−nc); in every failure mapped over df ∈ [1, 1e14] that is below 3e-7, and
        # it never occurs near the root (nc ≈ 2.8 at 80 % power, α = 0.05).
        lower = 0.0
    return float(upper) + lower


def t_test_n_per_group(d: float, alpha: float, power: float) -> float:
    """Real-valued n per group giving `power` for finite d ≠ 0 (1.5 when df = 1 already does)."""
    if t_test_power(_SMALLEST_SOLVED_N, d, alpha) >= power:
        return _SMALLEST_SOLVED_N
    # The z-test solution is a lower bound for the t-test; start the bracket there.
    z_n = 2.0 * ((stats.norm.isf(alpha / 2.0) + stats.norm.ppf(power)) / abs(d)) ** 2
    low = max(_SMALLEST_SOLVED_N, z_n)
    if t_test_power(low, d, alpha) >= power:
        low = _SMALLEST_SOLVED_N
    high = max(low * 1.5, low + 10.0)
    while t_test_power(high, d, alpha) < power:
        low, high = high, high * 2.0

    def shortfall(n: float) -> float:
        return t_test_power(n, d, alpha) - power

    return float(optimize.brentq(shortfall, low, high, xtol=1e-9, rtol=1e-12))


def formula_n_per_group(
    a: np.ndarray, b: np.ndarray, *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """The textbook n per group: Cohen's d → t-test n (noncentral t) / 0.864, rounded up.

    None when d is undefined, 0 or infinite, or the answer exceeds MAX_N_PER_GROUP (near-equal
    means would otherwise give billions).
    """
    d = cohens_d(a, b)
    if d is None or d == 0.0 or math.isinf(d):
        return None
    n = math.ceil(t_test_n_per_group(d, alpha, power) / MANN_WHITNEY_ARE_LOWER_BOUND)
    return n if n <= MAX_N_PER_GROUP else None
