"""The analysis plan for one metric across ordered groups, as a plain JSON-ready dict.

This composes the pure pieces (descriptives, bootstrap CI, omnibus, Dunn, Cliff's δ, sample size,
stopping rule) into the shape stored in stats.json. Every undefined value is None with a reason
key next to it; no NaN or infinity ever reaches the output.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from baes.analysis.bootstrap_ci import CI_METHODS, CIMethod, bootstrap_mean_ci
from baes.analysis.convergence import ci_convergence
from baes.analysis.descriptives import describe, find_outliers
from baes.analysis.effect_size import cliffs_delta
from baes.analysis.hypothesis_tests import DunnComparison, dunn_test, omnibus_test
from baes.analysis.p_adjust import P_ADJUST_METHODS, PAdjustMethod, adjust_p_values
from baes.analysis.sample_size import plan_sample_size
from baes.analysis.samples import as_sample

PLANNED_POWER = 0.8  # the output key says "80pct"; keep the two together


def analyze_metric(
    groups: Mapping[str, Sequence[float]],
    *,
    alpha: float = 0.05,
    p_adjust: PAdjustMethod = "holm",
    ci_method: CIMethod = "bca",
    bootstrap_samples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
    max_half_width_pct: float = 10.0,
) -> dict[str, Any]:
    """Descriptives, omnibus, pairwise tests, effect sizes, sample sizes, stopping: one metric.

    Group order is the mapping's insertion order; pairs are (a, b) with a before b.
    """
    _check_parameters(alpha, p_adjust, ci_method, bootstrap_samples, confidence, max_half_width_pct)
    names = list(groups)
    samples = [as_sample(groups[name], name=f"group {name!r}") for name in names]

    descriptives: dict[str, dict[str, Any]] = {}
    stopping: dict[str, dict[str, Any]] = {}
    for name, sample in zip(names, samples, strict=True):
        entry = _descriptives_entry(sample, ci_method, bootstrap_samples, confidence, seed)
        descriptives[name] = entry
        convergence = ci_convergence(
            entry["mean"], entry["ci_low"], entry["ci_high"], max_half_width_pct=max_half_width_pct
        )
        stopping[name] = {
            "half_width_pct": convergence.half_width_pct,
            "converged": convergence.converged,
        }
        if convergence.reason is not None:
            stopping[name]["reason"] = convergence.reason

    omnibus = omnibus_test(samples, names)
    return {
        "descriptives": descriptives,
        "omnibus": {
            "test": omnibus.test,
            "statistic": omnibus.statistic,
            "p": omnibus.p,
            "skipped": omnibus.skipped,
        },
        "pairwise": _pairwise_entries(names, samples, omnibus.p, omnibus.skipped, alpha, p_adjust),
        "stopping": stopping,
    }


def _check_parameters(
    alpha: float,
    p_adjust: str,
    ci_method: str,
    bootstrap_samples: int,
    confidence: float,
    max_half_width_pct: float,
) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
    if p_adjust not in P_ADJUST_METHODS:
        raise ValueError(f"p_adjust must be one of {', '.join(P_ADJUST_METHODS)}, got {p_adjust!r}")
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {', '.join(CI_METHODS)}, got {ci_method!r}")
    if bootstrap_samples < 1:
        raise ValueError(f"bootstrap_samples must be at least 1, got {bootstrap_samples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    if not max_half_width_pct >= 0.0:
        raise ValueError(f"max_half_width_pct must be 0 or more, got {max_half_width_pct}")


def _descriptives_entry(
    sample: np.ndarray, ci_method: CIMethod, bootstrap_samples: int, confidence: float, seed: int
) -> dict[str, Any]:
    summary = describe(sample)
    # Every group gets a generator seeded with the same seed, so a group's CI does not depend on
    # which other groups are analysed alongside it or in what order.
    ci = bootstrap_mean_ci(
        sample, method=ci_method, confidence=confidence, n_resamples=bootstrap_samples, seed=seed
    )
    entry: dict[str, Any] = {
        "n": summary.n,
        "mean": summary.mean,
        "median": summary.median,
        "std": summary.std,
        "q1": summary.q1,
        "q3": summary.q3,
        "min": summary.min,
        "max": summary.max,
        "ci_low": ci.low,
        "ci_high": ci.high,
        "outliers": find_outliers(sample),
    }
    if summary.reason is not None:
        entry["reason"] = summary.reason
    if summary.std_reason is not None:
        entry["std_reason"] = summary.std_reason
    if ci.reason is not None:
        entry["ci_reason"] = ci.reason
    return entry


def _pairwise_entries(
    names: list[str],
    samples: list[np.ndarray],
    omnibus_p: float | None,
    omnibus_skipped: str | None,
    alpha: float,
    p_adjust: PAdjustMethod,
) -> list[dict[str, Any]]:
    pairs = list(itertools.combinations(range(len(names)), 2))
    if not pairs:
        return []

    test = "mannwhitney" if len(names) == 2 else "dunn"
    z_values: dict[tuple[int, int], float | None] = dict.fromkeys(pairs)
    raw_p: dict[tuple[int, int], float | None] = dict.fromkeys(pairs)
    adjusted_p: dict[tuple[int, int], float | None] = dict.fromkeys(pairs)
    p_reason: str | None
    if test == "mannwhitney":
        # One comparison: the omnibus Mann–Whitney U is the pairwise test and needs no adjustment.
        raw_p[pairs[0]] = adjusted_p[pairs[0]] = omnibus_p
        p_reason = omnibus_skipped
    else:
        dunn = dunn_test(samples, names)
        p_reason = dunn.skipped
        comparisons: tuple[DunnComparison, ...] = dunn.comparisons
        adjusted = adjust_p_values([c.p for c in comparisons], p_adjust)
        for comparison, p_adj in zip(comparisons, adjusted, strict=True):
            key = (comparison.a, comparison.b)
            z_values[key], raw_p[key], adjusted_p[key] = comparison.z, comparison.p, p_adj

    entries = []
    for a, b in pairs:
        entry: dict[str, Any] = {
            "a": names[a],
            "b": names[b],
            "test": test,
            "z": z_values[(a, b)],
            "p": raw_p[(a, b)],
            "p_adj": adjusted_p[(a, b)],
        }
        if p_reason is not None:
            entry["p_reason"] = p_reason
        entry.update(_effect_fields(names[a], names[b], samples[a], samples[b]))
        plan = plan_sample_size(samples[a], samples[b], alpha=alpha, power=PLANNED_POWER)
        entry["n_per_group_80pct_power"] = plan.n_per_group
        if plan.reason is not None:
            entry["n_per_group_reason"] = plan.reason
        entries.append(entry)
    return entries


def _effect_fields(name_a: str, name_b: str, a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    if a.size == 0 or b.size == 0:
        empty = name_a if a.size == 0 else name_b
        return {
            "cliffs_delta": None,
            "magnitude": None,
            "effect_reason": f"group {empty!r} has no values",
        }
    delta = cliffs_delta(a, b)
    return {"cliffs_delta": delta.delta, "magnitude": delta.magnitude}
