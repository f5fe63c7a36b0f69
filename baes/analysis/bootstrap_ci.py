"""Seeded bootstrap confidence interval of a group mean (scipy.stats.bootstrap).

Degenerate cases are decided here, explicitly:
- n < 2: no interval (None) with a reason;
- a constant group: [c, c] without resampling (BCa is undefined there, and every resample is c);
- BCa returning NaN (degenerate resampling distribution): the percentile interval is computed
  from the same resamples, and `reason` says so. The interval is never silently replaced:
  `method` always names the method that produced the numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from baes.analysis.samples import is_constant
from baes.config.models import BOOTSTRAP_METHODS, BootstrapMethod

_SCIPY_METHOD = {"bca": "BCa", "percentile": "percentile"}

# Upper bound on resampled values held in memory at once (batching does not change the draws).
_MAX_VALUES_PER_BATCH = 2_000_000


@dataclass(frozen=True)
class MeanCI:
    """A confidence interval of the mean; low/high are None when undefined, with the reason."""

    low: float | None
    high: float | None
    method: Literal["bca", "percentile", "constant"] | None
    reason: str | None = None


def bootstrap_mean_ci(
    sample: np.ndarray,
    *,
    method: BootstrapMethod = "bca",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> MeanCI:
    """Bootstrap CI of the mean of `sample` (BCa by default), seeded so reruns are identical."""
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(
            f"unknown CI method {method!r}; expected one of {', '.join(BOOTSTRAP_METHODS)}"
        )
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    n = int(sample.size)
    if n < 2:
        return MeanCI(None, None, None, reason=f"a bootstrap CI needs at least 2 values, got {n}")
    if is_constant(sample):
        value = float(sample[0])
        return MeanCI(value, value, "constant", reason=None)

    result = _scipy_bootstrap(sample, method, confidence, n_resamples, seed)
    low, high = _interval(result)
    if np.isfinite(low) and np.isfinite(high):
        return MeanCI(low, high, method)
    if method == "bca":
        # The same resamples (same seed): reuse BCa's bootstrap distribution instead of redrawing.
        low, high = _interval(_scipy_bootstrap(sample, "percentile", confidence, 0, seed, result))
        if np.isfinite(low) and np.isfinite(high):
            return MeanCI(
                low,
                high,
                "percentile",
                reason="the BCa interval is undefined here (the observed mean lies outside the "
                "bootstrap distribution or the jackknife is degenerate); the percentile bootstrap "
                "interval is reported instead",
            )
    return MeanCI(None, None, None, reason=f"the {method} bootstrap produced no finite interval")


def _scipy_bootstrap(
    sample: np.ndarray,
    method: str,
    confidence: float,
    n_resamples: int,
    seed: int,
    earlier: Any = None,
) -> Any:
    """scipy's bootstrap result; with `earlier` (and n_resamples=0) its resamples are reused."""
    batch = max(1, min(n_resamples, _MAX_VALUES_PER_BATCH // sample.size))
    with warnings.catch_warnings():
        # scipy warns (DegenerateDataWarning, divide) when BCa is undefined; we check the result.
        warnings.simplefilter("ignore")
        result = stats.bootstrap(
            (sample,),
            np.mean,
            n_resamples=n_resamples,
            batch=batch,
            vectorized=True,
            confidence_level=confidence,
            method=_SCIPY_METHOD[method],
            rng=np.random.default_rng(seed),
            bootstrap_result=earlier,
        )
    return result


def _interval(result: Any) -> tuple[float, float]:
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)
