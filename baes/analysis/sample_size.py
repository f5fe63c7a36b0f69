"""Sample-size planning: the smallest n per group at which the procedure baes runs has 80 % power.

The power is simulated, not taken from a formula: each candidate n draws experiments by
resampling every observed group (with replacement) to n values, runs on each the exact procedure
of the analysis (k = 2: Mann–Whitney, exact where the analysis is exact; k ≥ 3: Kruskal–Wallis,
Dunn over the family's pairs, the plan's adjustment, and the omnibus gate) and counts how often
the pair comes out significant. The search starts at the smallest n at which the procedure can
reach α at all (derived by running it on the most extreme data possible), doubles up to
MAX_N_PER_GROUP and then bisects over candidate n (every n up to 20, steps of 10 % above), so it
costs a handful of simulations.

A candidate counts as reaching the target power only when the simulation shows it. With p̂ the
share of significant draws after N draws and z = (p̂ − 0.8) / √(0.8 · 0.2 / N), draws are made in
batches of 100 until z > 3.3 (reached) or z < −3.3 (not reached), or until SIMULATION_REPS = 1000
draws, where the candidate counts as reached only if z ≥ 1.645 (p̂ ≥ 0.821; a one-sided test of
"power ≤ 80 %" at 5 %). The rule before (the smallest candidate whose 500-draw estimate was
≥ 80 %) selected on noise: re-simulated with scipy (benchmarks/sample_size_power.py), the power
at the n it reported was as low as 0.76 and below 0.792 (80 % − 2 SE) for 15 of 75 plans; now
none is, the lowest is 0.81. Now a candidate with power of exactly 80 % is accepted with
probability 0.05 (0.008 at 79 %), so the n reported has power ≥ 80 % unless that happened; the
price is that a candidate with power 81–83 % is often passed over for the next one (accepted
with probability 0.20 at 81 %, 0.49 at 82 %, 0.79 at 83 %, 0.95 at 84 %): n is one grid step
larger than the old rule's for about 45 % of pairs, about 5 % larger on average. The draws at each n are one seeded stream (seed, n)
shared by all pairs: reruns give the same answers.

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
SETTLED_Z = 3.3  # two-sided 99.9 %: few false calls over the up to 10 looks at a candidate
CONFIRMED_Z = 1.645  # one-sided 95 %: what a candidate needs when all its draws are made
MAX_N_PER_GROUP = 500


def _candidate_n() -> tuple[int, ...]:
    """Every n up to 20, then steps of 10 % (rounded up) to MAX_N_PER_GROUP.

    Above 20 a step of 10 % in n moves the power near 80 % by about 4 points, three times the
    simulation's standard error at SIMULATION_REPS draws; and a shared grid keeps the work
    bounded when a family has many pairs (190 for 20 groups).
    """
    values = list(range(2, 21))
    while values[-1] < MAX_N_PER_GROUP:
        values.append(min(MAX_N_PER_GROUP, math.ceil(values[-1] * 1.1)))
    return tuple(values)


CANDIDATE_N = _candidate_n()
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
    def from_counts(
        cls,
        counts: Sequence[np.ndarray],
        codes: Sequence[np.ndarray],
        distinct: int,
        with_pools: bool,
    ) -> RankedDraws:
        """From how often each value was drawn: `counts[g]` (R × m_g) counts group g's values,
        whose positions among the V = `distinct` pooled distinct values (ascending) are
        `codes[g]`. Costs O(R·V) whatever n is: no sorting, since the values' order is known.
        """
        rows = counts[0].shape[0]
        offsets = np.arange(rows)[:, None] * distinct
        totals = np.bincount(
            np.concatenate([(offsets + c[None, :]).ravel() for c in codes]),
            weights=np.concatenate([c.ravel() for c in counts]).astype(float),
            minlength=rows * distinct,
        ).reshape(rows, distinct)
        # Twice the average rank of the values at each position: 2·(values below) + ties + 1.
        doubled = 2.0 * (np.cumsum(totals, axis=1) - totals) + totals + 1.0
        rank_sums = np.column_stack(
            [(c * doubled[:, g]).sum(axis=1) for c, g in zip(counts, codes, strict=True)]
        )
        tie_sum = (totals**3 - totals).sum(axis=1)
        pools = None
        if with_pools:
            whole = doubled.astype(np.int64)
            repeats = totals.astype(np.int64)
            pools = [np.repeat(d, t) for d, t in zip(whole, repeats, strict=True)]
        n = int(counts[0][0].sum())
        return cls(n, np.rint(rank_sums).astype(np.int64), tie_sum, pools)

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
        n, why_none = search.smallest_n(index, start)
        plans.append(SampleSizePlan(n, why_none, formula))
    return plans


class _PowerSearch:
    """Simulated power per pair at candidate n; the draws at each n are shared by all pairs."""

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
        # Only the order of values matters to rank tests: each group is its distinct values (as
        # positions among the pooled distinct values) and their shares of the group; drawing n
        # values with replacement is drawing how often each one comes up.
        self.groups = []
        for sample in samples:
            values, which, multiplicity = np.unique(sample, return_inverse=True, return_counts=True)
            self.groups.append((np.searchsorted(pooled, values), which, multiplicity / sample.size))
        self.codes = [codes for codes, _, _ in self.groups]
        # For sorting: every observation as its position among the pooled distinct values
        # (16-bit when possible: numpy sorts those with a linear-time radix sort).
        code_type = np.uint16 if pooled.size <= np.iinfo(np.uint16).max else np.int64
        self.observed = [np.searchsorted(pooled, s).astype(code_type) for s in samples]
        self._state: dict[int, _Simulation] = {}

    def power(self, n: int, pair: int) -> float:
        """Simulated power of `pair` at n per group: the share of draws calling it significant.

        Draws for n continue one seeded stream (seed, n) in batches, shared by every pair, until
        this pair's power is clearly above or below the target (|z| > 3.3) or `reps` draws
        are made.
        """
        state = self._simulation(n)
        while state.done < self.reps and abs(self._z(state, pair)) <= SETTLED_Z:
            state.draw_batch()
        return float(state.hits[pair] / state.done)

    def reaches(self, n: int, pair: int) -> bool:
        """Whether the simulation shows `pair`'s power at n to be above the target: z > 3.3
        early, or z ≥ 1.645 once all `reps` draws are made (see the module doc)."""
        self.power(n, pair)
        state = self._simulation(n)
        z = self._z(state, pair)
        return z > SETTLED_Z or (state.done >= self.reps and z >= CONFIRMED_Z)

    def _simulation(self, n: int) -> _Simulation:
        state = self._state.get(n)
        if state is None:
            state = self._state[n] = _Simulation(np.random.default_rng([self.seed, n]), n, self)
        return state

    def _z(self, state: _Simulation, pair: int) -> float:
        """(p̂ − target) in standard errors of a power exactly at the target; 0 before any draw."""
        if state.done == 0:
            return 0.0
        standard_error = math.sqrt(self.target * (1.0 - self.target) / state.done)
        return float(state.hits[pair] / state.done - self.target) / standard_error

    def draws(self, rng: np.random.Generator, n: int, size: int) -> RankedDraws:
        """`size` simulated experiments at n per group, ranked."""
        k = self.procedure.k
        with_pools = self.procedure.needs_pools(n)
        # Counting costs O(V) per experiment, sorting O(k·n): count when there are fewer
        # distinct values than drawn ones (measured break-even).
        if self.distinct <= k * n:
            counts = [
                self._draw_counts(rng, which, shares, n, size) for _, which, shares in self.groups
            ]
            return RankedDraws.from_counts(counts, self.codes, self.distinct, with_pools)
        data = np.hstack([c[rng.integers(0, c.size, size=(size, n))] for c in self.observed])
        return RankedDraws.from_values(data, k, n, with_pools)

    def batch_size(self, n: int) -> int:
        width = min(self.distinct, self.procedure.k * n)
        return max(1, min(SEQUENTIAL_BATCH, _MAX_VALUES_PER_BATCH // width))

    @staticmethod
    def _draw_counts(
        rng: np.random.Generator, which: np.ndarray, shares: np.ndarray, n: int, size: int
    ) -> np.ndarray:
        """How often each of a group's distinct values comes up in n draws with replacement
        from the group (`which[i]`: the distinct value of observation i; `shares`: their
        shares of the group)."""
        if shares.size < n:  # one multinomial per row: O(distinct values)
            return rng.multinomial(n, shares, size=size)
        # Few draws from many values: draw observations and count their values, O(n) per row.
        picks = which[rng.integers(0, which.size, size=(size, n))]
        offsets = np.arange(size)[:, None] * shares.size
        return np.bincount((offsets + picks).ravel(), minlength=size * shares.size).reshape(
            size, shares.size
        )

    def smallest_n(self, pair: int, start: int) -> tuple[int | None, str | None]:
        """The smallest candidate n ≥ start shown to reach the target, or None with the reason.

        Doubling, then bisection over the candidate grid (CANDIDATE_N): every pair walks the
        same grid from the same points, so pairs with nearby answers share their simulations.
        """
        grid = [n for n in CANDIDATE_N if n >= start]
        if not grid or grid[0] != start:
            grid.insert(0, start)
        failed, index = -1, 0
        while not self.reaches(grid[index], pair):
            if index == len(grid) - 1:
                power = self.power(grid[index], pair)
                unproven = "" if power < self.target else f", not shown above {self.target:.0%}"
                return None, (
                    f"not practically detectable: simulated power at {MAX_N_PER_GROUP} per group "
                    f"is {power:.0%}{unproven}"
                )
            doubled = next((i for i, n in enumerate(grid) if n >= 2 * grid[index]), len(grid) - 1)
            failed, index = index, doubled
        while index - failed > 1:
            middle = (failed + index) // 2
            if self.reaches(grid[middle], pair):
                index = middle
            else:
                failed = middle
        return grid[index], None


class _Simulation:
    """The draws made so far at one n: its seeded stream, how many, and hits per pair."""

    def __init__(self, rng: np.random.Generator, n: int, search: _PowerSearch) -> None:
        self.rng, self.n, self.search = rng, n, search
        self.done = 0
        self.hits = np.zeros(len(search.procedure.pairs))

    def draw_batch(self) -> None:
        size = min(self.search.batch_size(self.n), self.search.reps - self.done)
        draws = self.search.draws(self.rng, self.n, size)
        self.hits += self.search.procedure.significant(draws).sum(axis=0)
        self.done += size


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
