"""Simulated coverage of nominal 95 % intervals of a mean, per sample size and method.

Run: .venv/bin/python benchmarks/ci_coverage.py [--reps 2000] [--resamples 1999]

For each distribution and n, draws `reps` samples with a known mean and counts how often each
interval contains it. "baes" is the interval baes reports (baes/analysis/mean_interval.py picks it
by n and metric kind); the other columns are the candidates it was chosen from. A method is
honest at n when its coverage is near 0.95; "± SE" is the Monte Carlo standard error of the
"baes" figure (≈ 0.005 at 2000 reps). The skewed rows (lognormal σ = 1, exponential, gamma with
shape 0.5) run to n = 100 because that is where BCa stays short of nominal (0.89–0.94).
Every distribution but the normal one is non-negative, like baes's counts, costs and times: baes
gets the natural lower bound 0 there (it clips its intervals to it and reads a bootstrap-t
interval reaching below it as erratic). "t" and "boot-t" are the raw intervals. The count rows
are discrete data: zero-inflated Poisson and two clusters of token counts (the shape that made
bootstrap-t erratic at n = 5); "width" is the median width of baes's interval over the t
interval's. The fractions rows are per-run pass rates: 0/1 runs (Bernoulli) and 4 checks per run
(Binomial(4, p)/4), where baes reports Wilson's interval.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from baes.analysis.mean_interval import (  # noqa: E402
    bootstrap_t_interval,
    mean_interval,
    t_interval,
)

SIZES = (2, 3, 5, 10, 15, 20, 30, 50, 100)
FRACTION_SIZES = (2, 3, 5, 10, 15, 20, 30)
CONTINUOUS = {
    "normal(10, 2)": (lambda rng, size: rng.normal(10.0, 2.0, size), 10.0),
    "lognormal(0, 0.5)": (lambda rng, size: rng.lognormal(0.0, 0.5, size), float(np.exp(0.125))),
    "lognormal(0, 1)": (lambda rng, size: rng.lognormal(0.0, 1.0, size), float(np.exp(0.5))),
    "exponential(1)": (lambda rng, size: rng.exponential(1.0, size), 1.0),
    "gamma(shape 0.5)": (lambda rng, size: rng.gamma(0.5, 1.0, size), 0.5),
    "0-inflated Poisson": (
        lambda rng, size: np.where(rng.random(size) < 0.4, 0.0, rng.poisson(5.0, size)),
        3.0,
    ),
    "Poisson(2)": (lambda rng, size: rng.poisson(2.0, size).astype(float), 2.0),
    "tokens, 2 clusters": (
        lambda rng, size: np.where(rng.random(size) < 0.4, 85.0, 115.0) + rng.integers(-3, 4, size),
        103.0,
    ),
}
NEGATIVE_POSSIBLE = {"normal(10, 2)"}
FRACTIONS = {
    "pass/fail, p = 0.9": (lambda rng, size: (rng.random(size) < 0.9).astype(float), 0.9),
    "pass/fail, p = 0.5": (lambda rng, size: (rng.random(size) < 0.5).astype(float), 0.5),
    "4 checks, p = 0.95": (lambda rng, size: rng.binomial(4, 0.95, size) / 4.0, 0.95),
}


def coverage(intervals: list[tuple[float | None, float | None]], truth: float) -> float:
    hits = [
        low is not None and high is not None and low <= truth <= high for low, high in intervals
    ]
    return float(np.mean(hits))


def monte_carlo_se(covered: float, reps: int) -> float:
    """Standard error of a coverage estimated from `reps` independent samples (binomial)."""
    return float(np.sqrt(covered * (1.0 - covered) / reps))


def bca_coverage(samples: np.ndarray, truth: float, resamples: int, seed: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.bootstrap(
            (samples,),
            np.mean,
            axis=-1,
            vectorized=True,
            n_resamples=resamples,
            method="BCa",
            rng=np.random.default_rng(seed),
        )
    low, high = result.confidence_interval
    return float(np.mean((low <= truth) & (truth <= high)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--resamples", type=int, default=1999)
    args = parser.parse_args()
    rng = np.random.default_rng(20261201)
    started = time.perf_counter()
    print(f"coverage of nominal 95 % intervals, {args.reps} samples per cell\n")
    header = (
        f"{'distribution':22} {'n':>3}  {'baes':>6} {'± SE':>5} {'(method)':28} {'t':>6} "
        f"{'boot-t':>6} {'BCa':>6} {'width':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, (draw, truth) in CONTINUOUS.items():
        for n in SIZES:
            samples = draw(rng, (args.reps, n))
            bound = None if name in NEGATIVE_POSSIBLE else 0.0
            reported = [
                mean_interval(
                    s,
                    bounded_fraction=False,
                    lower_bound=bound,
                    n_resamples=args.resamples,
                    seed=i,
                )
                for i, s in enumerate(samples)
            ]
            methods = sorted({r.method for r in reported if r.method})
            t_intervals = [t_interval(s, 0.95) for s in samples]
            t_cov = coverage(t_intervals, truth)
            ratios = [
                (r.high - r.low) / (high - low)
                for r, (low, high) in zip(reported, t_intervals, strict=True)
                if r.low is not None and r.high is not None and high > low
            ]
            boot_t = (
                coverage(
                    [
                        bootstrap_t_interval(s, 0.95, args.resamples, i)
                        for i, s in enumerate(samples)
                    ],
                    truth,
                )
                if n >= 4
                else float("nan")
            )
            bca = bca_coverage(samples, truth, args.resamples, n) if n >= 3 else float("nan")
            covered = coverage([(r.low, r.high) for r in reported], truth)
            print(
                f"{name:22} {n:>3}  {covered:6.3f} {monte_carlo_se(covered, args.reps):5.3f} "
                f"{'/'.join(methods):28} {t_cov:6.3f} {boot_t:6.3f} {bca:6.3f} "
                f"{float(np.median(ratios)):6.2f}"
            )
        print()
    header = f"{'fraction':22} {'n':>3}  {'baes':>6} {'(method)':16} {'median width':>12}"
    print(header)
    print("-" * len(header))
    for name, (draw, truth) in FRACTIONS.items():
        for n in FRACTION_SIZES:
            samples = draw(rng, (args.reps, n))
            reported = [mean_interval(s, bounded_fraction=True) for s in samples]
            methods = sorted({r.method for r in reported if r.method})
            widths = [r.high - r.low for r in reported if r.low is not None and r.high is not None]
            print(
                f"{name:22} {n:>3}  {coverage([(r.low, r.high) for r in reported], truth):6.3f} "
                f"{'/'.join(methods):16} {float(np.median(widths)):12.3f}"
            )
        print()
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
