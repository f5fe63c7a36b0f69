"""The confidence interval of a group mean that baes reports: chosen by sample size and metric kind.

Nominal 95 % intervals must cover at the 5–30 runs people run, and at the 50–100 some run
(benchmarks/ci_coverage.py prints the simulated coverage per n and method;
tests/analysis/test_mean_interval.py asserts it):

- a bounded fraction (catalog unit "fraction", e.g. CHECK_PASS_RATE): the Wilson score interval,
  at every n. With 0/1 values it is Wilson on the pooled counts ("wilson"). With fractional
  per-run values ("wilson-bound") it is the same score interval on the mean, which is
  conservative because a variable in [0, 1] with mean μ has variance at most μ(1 − μ). It never
  collapses to a point: 5 passes out of 5 give [0.57, 1].
- n = 2–4: Student's t interval ("t"). A studentized bootstrap is undefined there (too many
  resamples repeat one value and have no spread); for the same reason "t" replaces bootstrap-t
  for larger groups with very few distinct values, and `reason` says so.
- n ≥ 5: the studentized bootstrap, bootstrap-t ("bootstrap-t"), at every n. Simulated
  coverage (2000 samples each, Monte Carlo SE ≈ 0.005): 0.94–0.95 for normal and
  lognormal(σ = 0.5) data at n = 5–100, where BCa covers only 0.82–0.90 at n = 5–10 and
  0.90–0.94 at n = 20–30, and the t interval 0.92 for the skewed data. On strongly skewed data
  BCa stays short of nominal well past 30 (exponential, gamma(shape 0.5): 0.92–0.93 at
  n = 30–50; lognormal(σ = 1): 0.90–0.92 at n = 30–100), bootstrap-t covers 0.94–0.95 there
  (lognormal(σ = 1): 0.928 ± 0.003 at n = 30, 0.930 at 50, 0.94 at 100; no candidate did
  better on it). Bootstrap-t is erratic when the values form clusters (a count metric with
  runs at 83–86 and at 114–118 tokens): resamples from one cluster have
  se* ≈ 0 and huge t*, and the interval stretches far past the data, below 0 for a count
  ([−32, 121] for a mean of 104). So another interval replaces it, and `reason` says why, when
  its interval is unbounded, reaches past the metric's natural bound (a mean of non-negative
  values cannot be negative) while the t interval does not, or is more than
  DEGENERATE_WIDTH_RATIO times as wide as the t interval: Student's t below
  SMALL_SAMPLE_LIMIT (30) runs, BCa ("bootstrap-bca") from there; on clustered and
  zero-inflated counts BCa covers 0.95–0.96 at n = 30–100.
- from 30 runs on, a design whose `analysis.ci_method` is `bca` or `percentile` (designs made
  before `bootstrap-t` became the default pre-registered BCa there) gets that interval
  ("bootstrap-bca", "bootstrap-percentile"), as it asked, with the coverage above.
- every interval of a metric with a natural lower bound (`natural_lower_bound`: counts, costs
  and times from the catalog are ≥ 0) is clipped to it; the mean lies above the bound, so
  clipping cannot lose coverage. A bootstrap-t interval that reaches below the bound where the
  t interval does too is clipped, not replaced: the data are skewed near the bound, and t
  would lose coverage (gamma(shape 0.5) at n = 5: 0.86 with t, 0.89 with bootstrap-t).
- a constant non-fraction group: [c, c] ("constant"); no interval of any kind can be wider
  without assuming something the data do not show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from baes.analysis.bootstrap_ci import bootstrap_mean_ci
from baes.analysis.descriptives import sample_mean, sample_std
from baes.analysis.metrics import metric_spec
from baes.analysis.samples import is_constant
from baes.config.models import BootstrapMethod, CIMethod

SMALL_SAMPLE_LIMIT = 30
BOOTSTRAP_T_MIN_N = 5
# Bootstrap-t wider than this multiple of the t interval signals clustered values (see the module
# doc). Skewed data widen it less: lognormal(σ = 1) samples of 5 give a median ratio of 1.8, and
# the rule costs them about 0.01 of coverage (benchmarks/ci_coverage.py, column "baes").
DEGENERATE_WIDTH_RATIO = 3.0
# Catalog units whose values cannot be negative (the measurements reject negative values).
NON_NEGATIVE_UNITS = frozenset({"tokens", "calls", "USD", "s", "fraction"})

# Upper bound on resampled values held in memory at once (batching does not change the draws).
_MAX_VALUES_PER_BATCH = 2_000_000


@dataclass(frozen=True)
class MeanInterval:
    """low/high of the mean and the method that produced them; None with the reason when none."""

    low: float | None
    high: float | None
    method: str | None
    reason: str | None = None


def is_bounded_fraction(metric: str | None) -> bool:
    """Whether the catalog says the metric's values are fractions in [0, 1] (unit "fraction")."""
    spec = None if metric is None else metric_spec(metric)
    return spec is not None and spec.unit == "fraction"


def natural_lower_bound(metric: str | None) -> float | None:
    """0.0 when the catalog says the metric's values cannot be negative; None when unknown."""
    spec = None if metric is None else metric_spec(metric)
    return 0.0 if spec is not None and spec.unit in NON_NEGATIVE_UNITS else None


def mean_interval(
    sample: np.ndarray,
    *,
    bounded_fraction: bool,
    lower_bound: float | None = None,
    bootstrap_method: CIMethod = "bootstrap-t",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> MeanInterval:
    """The reported interval of the mean of `sample` (see the module doc for the choice).

    `lower_bound` is the metric's natural lower bound (`natural_lower_bound`); it is ignored when
    a value lies below it, since the data then contradict it.
    """
    n = int(sample.size)
    if n == 0:
        return MeanInterval(None, None, None, "the group has no values")
    if bounded_fraction:
        if np.any((sample < 0.0) | (sample > 1.0)):
            return MeanInterval(
                None, None, None, "a fraction must lie in [0, 1]; some values do not"
            )
        binary = bool(np.all((sample == 0.0) | (sample == 1.0)))
        low, high = wilson_interval(sample_mean(sample), n, confidence)
        return MeanInterval(low, high, "wilson" if binary else "wilson-bound")
    if n < 2:
        return MeanInterval(None, None, None, f"an interval needs at least 2 values, got {n}")
    if is_constant(sample):
        value = float(sample[0])
        return MeanInterval(value, value, "constant")
    if sample_std(sample) is None:
        return MeanInterval(None, None, None, "the values are too large for an interval")
    if lower_bound is not None and float(sample.min()) < lower_bound:
        lower_bound = None
    if n < BOOTSTRAP_T_MIN_N:
        return _clipped(_checked(*t_interval(sample, confidence), "t"), lower_bound)
    if n >= SMALL_SAMPLE_LIMIT and bootstrap_method != "bootstrap-t":
        # A design that chose BCa or the percentile interval for 30 runs on gets it (designs made
        # before bootstrap-t was the default pre-registered that choice).
        resampled = _resampled(sample, bootstrap_method, confidence, n_resamples, seed, None)
        return _clipped(resampled, lower_bound)
    low, high = bootstrap_t_interval(sample, confidence, n_resamples, seed)
    t = _checked(*t_interval(sample, confidence), "t")
    why = _bootstrap_t_degenerate(low, high, t, lower_bound)
    if why is None:
        return _clipped(_checked(low, high, "bootstrap-t"), lower_bound)
    if n < SMALL_SAMPLE_LIMIT:
        reason = f"the bootstrap-t interval {why}; Student's t interval is reported instead"
        return _clipped(
            MeanInterval(t.low, t.high, t.method, reason if t.method else t.reason), lower_bound
        )
    reason = f"the bootstrap-t interval {why}; the BCa bootstrap interval is reported instead"
    return _clipped(_resampled(sample, "bca", confidence, n_resamples, seed, reason), lower_bound)


def _resampled(
    sample: np.ndarray,
    method: BootstrapMethod,
    confidence: float,
    n_resamples: int,
    seed: int,
    reason: str | None,
) -> MeanInterval:
    """The BCa or percentile bootstrap interval, `reason` saying why it is the one reported."""
    ci = bootstrap_mean_ci(
        sample, method=method, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
    named = None if ci.method is None else f"bootstrap-{ci.method}"
    joined = "; ".join(r for r in (reason, ci.reason) if r) or None
    return MeanInterval(ci.low, ci.high, named, joined)


def _bootstrap_t_degenerate(
    low: float, high: float, t: MeanInterval, lower_bound: float | None
) -> str | None:
    """Why this bootstrap-t interval cannot be reported (t or the plan's bootstrap replaces it)."""
    if math.isinf(low) or math.isinf(high):
        # So many resamples repeat one value (few distinct values, e.g. mostly zeros) that a
        # t* quantile is infinite: the studentized bootstrap has no bound to offer.
        return "is unbounded here (too many resamples without spread)"
    if lower_bound is not None and low < lower_bound and t.low is not None and t.low >= lower_bound:
        # The t interval has the same centre and scale: when it reaches below the bound too, the
        # data are skewed near it (costs close to 0) and clipping keeps bootstrap-t's coverage;
        # when only bootstrap-t does, its t* come from resamples without spread (clusters).
        return (
            f"reaches below {lower_bound:g}, where the mean of these values cannot lie, while "
            "Student's t interval does not (its studentized resamples are too erratic at this n)"
        )
    if (
        t.low is not None
        and t.high is not None
        and high - low > DEGENERATE_WIDTH_RATIO * (t.high - t.low)
    ):
        return (
            f"is more than {DEGENERATE_WIDTH_RATIO:g} times as wide as the t interval "
            "(resamples from a cluster of values without spread)"
        )
    return None


def _clipped(interval: MeanInterval, lower_bound: float | None) -> MeanInterval:
    """The interval with its low end raised to the natural lower bound (never loses coverage)."""
    if lower_bound is None or interval.low is None or interval.low >= lower_bound:
        return interval
    reason = f"clipped at {lower_bound:g}, below which the mean cannot lie"
    joined = reason if interval.reason is None else f"{interval.reason}; {reason}"
    return MeanInterval(lower_bound, interval.high, interval.method, joined)


def _checked(low: float, high: float, method: str) -> MeanInterval:
    if math.isfinite(low) and math.isfinite(high):
        return MeanInterval(low, high, method)
    return MeanInterval(
        None, None, None, f"the {method} interval is not finite (values too large to square)"
    )


def wilson_interval(p_hat: float, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a proportion p̂ over n trials (p̂ may be a mean of fractions)."""
    z = float(stats.norm.isf((1.0 - confidence) / 2.0))
    denominator = 1.0 + z * z / n
    centre = (p_hat + z * z / (2 * n)) / denominator
    spread = z / denominator * math.sqrt(p_hat * (1.0 - p_hat) / n + z * z / (4 * n * n))
    # At p̂ = 0 or 1 the bound on that side is exactly 0 or 1; rounding must not move it.
    low = 0.0 if p_hat == 0.0 else max(0.0, centre - spread)
    high = 1.0 if p_hat == 1.0 else min(1.0, centre + spread)
    return low, high


def t_interval(sample: np.ndarray, confidence: float) -> tuple[float, float]:
    """Student's t interval of the mean: mean ± t(n−1) · sd/√n."""
    n = sample.size
    mean, sd = sample_mean(sample), sample_std(sample)
    assert sd is not None  # n ≥ 2
    half = float(stats.t.isf((1.0 - confidence) / 2.0, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def bootstrap_t_interval(
    sample: np.ndarray, confidence: float, n_resamples: int, seed: int
) -> tuple[float, float]:
    """Studentized (bootstrap-t) interval: mean − q_hi·se, mean − q_lo·se with t* quantiles.

    t* = (mean* − mean)/se* over `n_resamples` seeded resamples. A resample with no spread has
    se* = 0: its t* is ±∞ by the sign of mean* − mean (0 when equal), so it counts as the most
    extreme value rather than being dropped, which would shorten the interval.
    """
    n = sample.size
    mean, sd = sample_mean(sample), sample_std(sample)
    assert sd is not None
    se = sd / math.sqrt(n)
    rng = np.random.default_rng(seed)
    batch = max(1, min(n_resamples, _MAX_VALUES_PER_BATCH // n))
    t_values = []
    done = 0
    while done < n_resamples:
        size = min(batch, n_resamples - done)
        resampled = sample[rng.integers(0, n, size=(size, n))]
        means = resampled.mean(axis=1)
        spread = resampled.std(axis=1, ddof=1) / math.sqrt(n)
        # 0/0 and 0·∞ when a resample without spread hits the mean: t* = 0 there (nan_to_num).
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (means - mean) / spread
            t = np.where(spread > 0.0, t, np.sign(means - mean) * np.inf)
        t_values.append(np.nan_to_num(t, nan=0.0, posinf=np.inf, neginf=-np.inf))
        done += size
    # Order statistics, no interpolation (next to an infinite t* it would give NaN): the
    # ⌈q·B⌉-th smallest, with q·B rounded first so that 0.025·200 is 5, not 5.000000000000004.
    ordered = np.sort(np.concatenate(t_values))
    tail = (1.0 - confidence) / 2.0
    q_low = ordered[max(0, math.ceil(round(tail * ordered.size, 9)) - 1)]
    q_high = ordered[max(0, math.ceil(round((1.0 - tail) * ordered.size, 9)) - 1)]
    return mean - float(q_high) * se, mean - float(q_low) * se
