"""Hand-built stats.json content (schema_version 2) for tests of the report text.

Every number is chosen by the test, so the sentences the report writes can be asserted exactly.
"""

from __future__ import annotations

import copy
from typing import Any

from baes.analysis.metrics import metric_info


def descriptive(n: int, mean: float, *, ci=(None, None), ci_method: str | None = "t") -> dict:
    low, high = ci
    return {
        "n": n,
        "mean": mean,
        "median": mean,
        "std": 0.1,
        "q1": mean,
        "q3": mean,
        "min": mean,
        "max": mean,
        "ci_low": low,
        "ci_high": high,
        "ci_method": ci_method,
        "outliers": [],
    }


def pair(
    a: str,
    b: str,
    *,
    delta: float | None = 0.5,
    ci: list[float] | None = None,
    p: float | None = 0.01,
    p_adj: float | None = 0.01,
    significant: bool = True,
    test: str = "dunn",
    method: str | None = "asymptotic",
    magnitude: str | None = "large",
    n_power: int | None = 12,
    n_reason: str | None = None,
) -> dict:
    return {
        "a": a,
        "b": b,
        "test": test,
        "method": method,
        "z": None,
        "p": p,
        "p_adj": p_adj,
        "significant": significant,
        "cliffs_delta": delta,
        "cliffs_delta_ci": ci,
        "cliffs_delta_ci_method": "percentile bootstrap" if ci is not None else None,
        "magnitude": magnitude,
        "n_per_group_80pct_power": n_power,
        "n_per_group_reason": n_reason,
    }


def metric_block(
    descriptives: dict[str, dict],
    pairs: list[dict],
    *,
    omnibus: dict | None = None,
    primary: tuple[str, str] | None = None,
    family: str = "all pairs of 3 frameworks (3 comparisons), holm",
    stopping: dict[str, dict] | None = None,
) -> dict:
    groups = list(descriptives)
    if primary is None and len(groups) >= 2:
        primary = (groups[0], groups[1])
    return {
        "descriptives": descriptives,
        "omnibus": omnibus
        or {"test": "kruskal", "statistic": 9.5, "p": 0.004, "method": "asymptotic"},
        "pairwise": pairs,
        "stopping": stopping or {g: {"converged": False, "half_width_pct": 20.0} for g in groups},
        "primary_contrast": None if primary is None else {"a": primary[0], "b": primary[1]},
        "family": family,
    }


def design(groups: list[str], *, runs_min: int = 5, runs_max: int = 5, enabled: bool = True):
    return {
        "model": "sim-small",
        "provider": "sim",
        "base_url": None,
        "frameworks": groups,
        "scenario": {"name": "hello", "steps": ["greet", "farewell"]},
        "runs": {"min": runs_min, "max": runs_max},
        "stopping_rule": {
            "enabled": enabled,
            "metrics": ["TOK_IN"],
            "confidence": 0.95,
            "max_half_width_pct": 10.0,
        },
        "config_hash": "0" * 64,
        "pricing": {
            "sim-small": {"input": 0.5, "cached_input": 0.05, "output": 2.0, "fictional": True}
        },
    }


def experiment_stats(metrics: dict[str, dict], *, groups: list[str], **design_options) -> dict:
    """A whole stats.json of an experiment with the given metric blocks."""
    n_runs = {g: max(b["descriptives"][g]["n"] for b in metrics.values()) for g in groups}
    rate = {
        "attempted": 5,
        "completed": 5,
        "failed": 0,
        "interrupted": 0,
        "running": 0,
        "success_rate": 1.0,
        "failure_reasons": {},
    }
    coverage = {"completed_runs": 5, "states": {"verified": 5}, "verified_share": 1.0}
    return {
        "schema_version": 2,
        "created_with": "baes test",
        "plan": {
            "alpha": 0.05,
            "p_adjust": "holm",
            "ci_method": "bca",
            "bootstrap_samples": 2000,
            "confidence": 0.95,
            "seed": 0,
            "max_half_width_pct": 10.0,
            "stopping_metrics": ["TOK_IN"],
        },
        "groups": groups,
        "metric_info": {key: metric_info(key) for key in metrics},
        "source": {"kind": "experiment", "experiment": "exp"},
        "design": design(groups, **design_options),
        "selection": {"completed_only": True, "verified_only": False, "metrics": list(metrics)},
        "deviations": [],
        "n_runs": n_runs,
        "excluded_groups": {},
        "success_rates": {g: copy.deepcopy(rate) for g in groups},
        "verification_coverage": {
            "overall": {
                "completed_runs": 5 * len(groups),
                "states": {"verified": 5 * len(groups)},
                "verified_share": 1.0,
            },
            "groups": {g: copy.deepcopy(coverage) for g in groups},
        },
        "exclusions": {},
        "problems": [],
        "step_checks": {g: {} for g in groups},
        "metrics": metrics,
        "figures": [],
    }


def three_groups(**pairs_options: Any) -> dict:
    """TOK_IN over a, b, c with one pair per combination (options apply to every pair)."""
    block = metric_block(
        {
            "a": descriptive(5, 1000.0, ci=(900.0, 1100.0)),
            "b": descriptive(5, 620.0, ci=(600.0, 640.0)),
            "c": descriptive(5, 1010.0, ci=(950.0, 1070.0)),
        },
        [pair("a", "b", **pairs_options), pair("a", "c", **pairs_options)]
        + [pair("b", "c", **pairs_options)],
    )
    return experiment_stats({"TOK_IN": block}, groups=["a", "b", "c"])
