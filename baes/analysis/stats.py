"""The analysis plan for one metric across ordered groups, as a plain JSON-ready dict.

This composes the pure pieces (descriptives, the interval of the mean, omnibus, Dunn, Cliff's δ
and its interval, simulated sample size, stopping rule) into the shape stored in stats.json.
Every undefined value is None with a reason key next to it; no NaN or infinity ever reaches the
output.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from baes.analysis.convergence import ci_convergence
from baes.analysis.descriptives import describe, find_outliers
from baes.analysis.effect_size import cliffs_delta, cliffs_delta_interval
from baes.analysis.hypothesis_tests import DunnComparison, dunn_test, omnibus_test
from baes.analysis.mean_interval import mean_interval
from baes.analysis.p_adjust import adjust_p_values
from baes.analysis.sample_size import plan_sample_sizes
from baes.analysis.samples import as_sample
from baes.config.models import CI_METHODS, P_ADJUST_METHODS, CIMethod, PAdjustMethod

PLANNED_POWER = 0.8  # the output key says "80pct"; keep the two together


def analyze_metric(
    groups: Mapping[str, Sequence[float]],
    *,
    alpha: float = 0.05,
    p_adjust: PAdjustMethod = "holm",
    ci_method: CIMethod = "bootstrap-t",
    bootstrap_samples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
    max_half_width_pct: float = 10.0,
    max_half_width_abs: float = 0.05,
    bounded_fraction: bool = False,
    lower_bound: float | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    primary_contrast: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Descriptives, omnibus, pairwise tests, effect sizes, sample sizes, stopping: one metric.

    Group order is the mapping's insertion order; pairs are (a, b) with a before b. `pairs`
    limits the tested family (default: every pair); the adjustment runs over that family only.
    `bounded_fraction` marks a metric whose values are fractions in [0, 1] (Wilson intervals,
    absolute stopping rule); `lower_bound` is its natural lower bound, if any (intervals of the
    mean are clipped to it). `primary_contrast` names the planned headline pair (default: the
    first two groups).
    """
    _check_parameters(
        alpha,
        p_adjust,
        ci_method,
        bootstrap_samples,
        confidence,
        max_half_width_pct,
        max_half_width_abs,
    )
    names = list(groups)
    samples = [as_sample(groups[name], name=f"group {name!r}") for name in names]
    family = _family_pairs(names, pairs)

    descriptives: dict[str, dict[str, Any]] = {}
    stopping: dict[str, dict[str, Any]] = {}
    for name, sample in zip(names, samples, strict=True):
        entry = _descriptives_entry(
            sample, bounded_fraction, lower_bound, ci_method, bootstrap_samples, confidence, seed
        )
        descriptives[name] = entry
        convergence = ci_convergence(
            entry["n"],
            entry["mean"],
            entry["ci_low"],
            entry["ci_high"],
            bounded_fraction=bounded_fraction,
            max_half_width_pct=max_half_width_pct,
            max_half_width_abs=max_half_width_abs,
        )
        stopping[name] = convergence.to_json()

    omnibus = omnibus_test(samples, names)
    settings = (alpha, p_adjust, confidence, seed)
    return {
        "descriptives": descriptives,
        "omnibus": {
            "test": omnibus.test,
            "method": omnibus.method,
            "statistic": omnibus.statistic,
            "p": omnibus.p,
            "skipped": omnibus.skipped,
        },
        "pairwise": _pairwise_entries(names, samples, family, omnibus, settings),
        "stopping": stopping,
        "primary_contrast": _primary_contrast(names, primary_contrast),
        "family": _family_label(names, family, p_adjust),
    }


def _family_pairs(
    names: list[str], pairs: Sequence[tuple[str, str]] | None
) -> list[tuple[int, int]]:
    """The tested pairs as (index a, index b) in group order, a before b."""
    every = list(itertools.combinations(range(len(names)), 2))
    if pairs is None:
        return every
    index = {name: i for i, name in enumerate(names)}
    wanted = set()
    for a, b in pairs:
        if a not in index or b not in index or a == b:
            raise ValueError(f"pair ({a!r}, {b!r}) must name two different groups of {names}")
        wanted.add((min(index[a], index[b]), max(index[a], index[b])))
    return [pair for pair in every if pair in wanted]


def _family_label(names: list[str], family: list[tuple[int, int]], p_adjust: str) -> str:
    k, m = len(names), len(family)
    if m == 0:
        return "no comparisons"
    if k == 2:
        return f"one comparison ({names[0]} vs {names[1]}); no adjustment needed"
    if m == k * (k - 1) // 2:
        return f"all pairs of {k} groups ({m} comparisons), {p_adjust}"
    return f"{m} planned comparison{'s' if m > 1 else ''} among {k} groups, {p_adjust}"


def _primary_contrast(names: list[str], planned: Sequence[str] | None) -> dict[str, str] | None:
    """The headline pair, in the order `pairwise` lists it (design order)."""
    if planned is None:
        return {"a": names[0], "b": names[1]} if len(names) >= 2 else None
    a, b = planned
    if a not in names or b not in names:
        return None
    first, second = sorted((a, b), key=names.index)
    return {"a": first, "b": second}


def _check_parameters(
    alpha: float,
    p_adjust: str,
    ci_method: str,
    bootstrap_samples: int,
    confidence: float,
    max_half_width_pct: float,
    max_half_width_abs: float,
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
    if not max_half_width_abs > 0.0:
        raise ValueError(f"max_half_width_abs must be above 0, got {max_half_width_abs}")


def _descriptives_entry(
    sample: np.ndarray,
    bounded_fraction: bool,
    lower_bound: float | None,
    ci_method: CIMethod,
    bootstrap_samples: int,
    confidence: float,
    seed: int,
) -> dict[str, Any]:
    summary = describe(sample)
    # Every group gets a generator seeded with the same seed, so a group's CI does not depend on
    # which other groups are analysed alongside it or in what order.
    ci = mean_interval(
        sample,
        bounded_fraction=bounded_fraction,
        lower_bound=lower_bound,
        bootstrap_method=ci_method,
        confidence=confidence,
        n_resamples=bootstrap_samples,
        seed=seed,
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
        "ci_method": ci.method,
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
    family: list[tuple[int, int]],
    omnibus: Any,
    settings: tuple[float, PAdjustMethod, float, int],
) -> list[dict[str, Any]]:
    alpha, p_adjust, confidence, seed = settings
    if not family:
        return []
    k = len(names)
    test = "mannwhitney" if k == 2 else "dunn"
    z_values: dict[tuple[int, int], float | None] = dict.fromkeys(family)
    raw_p: dict[tuple[int, int], float | None] = dict.fromkeys(family)
    adjusted_p: dict[tuple[int, int], float | None] = dict.fromkeys(family)
    p_reason: str | None
    if test == "mannwhitney":
        # One comparison: the omnibus Mann–Whitney U is the pairwise test and needs no adjustment.
        raw_p[family[0]] = adjusted_p[family[0]] = omnibus.p
        p_reason, method = omnibus.skipped, omnibus.method
    else:
        dunn = dunn_test(samples, names)
        p_reason, method = dunn.skipped, "asymptotic" if dunn.skipped is None else None
        comparisons: list[DunnComparison] = [c for c in dunn.comparisons if (c.a, c.b) in z_values]
        adjusted = adjust_p_values([c.p for c in comparisons], p_adjust)
        for comparison, adjusted_one in zip(comparisons, adjusted, strict=True):
            key = (comparison.a, comparison.b)
            z_values[key], raw_p[key], adjusted_p[key] = comparison.z, comparison.p, adjusted_one
    # Post-hoc pairs are read only behind a significant omnibus test (k ≥ 3).
    gate = k == 2 or (omnibus.p is not None and omnibus.p <= alpha)

    plans = plan_sample_sizes(
        samples, family, alpha=alpha, p_adjust=p_adjust, power=PLANNED_POWER, seed=seed
    )
    entries = []
    for (a, b), plan in zip(family, plans, strict=True):
        p_adj = adjusted_p[(a, b)]
        entry: dict[str, Any] = {
            "a": names[a],
            "b": names[b],
            "test": test,
            "method": method,
            "z": z_values[(a, b)],
            "p": raw_p[(a, b)],
            "p_adj": p_adj,
            "significant": bool(p_adj is not None and p_adj <= alpha and gate),
        }
        if p_reason is not None:
            entry["p_reason"] = p_reason
        entry.update(_effect_fields(names[a], names[b], samples[a], samples[b], confidence))
        entry["n_per_group_80pct_power"] = plan.n_per_group
        if plan.reason is not None:
            entry["n_per_group_reason"] = plan.reason
        entry["n_per_group_formula"] = plan.n_formula
        entries.append(entry)
    return entries


def _effect_fields(
    name_a: str, name_b: str, a: np.ndarray, b: np.ndarray, confidence: float
) -> dict[str, Any]:
    if a.size == 0 or b.size == 0:
        empty = name_a if a.size == 0 else name_b
        return {
            "cliffs_delta": None,
            "cliffs_delta_ci": None,
            "cliffs_delta_ci_method": None,
            "magnitude": None,
            "effect_reason": f"group {empty!r} has no values",
        }
    delta = cliffs_delta(a, b)
    interval = cliffs_delta_interval(delta, confidence)
    return {
        "cliffs_delta": delta.delta,
        "cliffs_delta_ci": [interval.low, interval.high],
        "cliffs_delta_ci_method": interval.method,
        "magnitude": delta.magnitude,
    }
