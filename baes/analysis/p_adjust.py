"""Multiple-comparison adjustment of p-values: holm, sidak, bonferroni or none."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from baes.config.models import P_ADJUST_METHODS, PAdjustMethod


def adjust_p_values(p_values: Sequence[float], method: PAdjustMethod) -> list[float]:
    """Adjust raw p-values over all m of them; same order as the input, each capped at 1."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        _check_method(method)
        return []
    return [float(v) for v in adjust_p_rows(p[None, :], method)[0]]


def adjust_p_rows(p: np.ndarray, method: PAdjustMethod) -> np.ndarray:
    """Adjust each row of a 2-D array of raw p-values as one family of m = p.shape[1] tests.

    One implementation for the analysis (one row) and sample-size planning (one row per
    simulated experiment), so the planning simulates exactly the adjustment that is reported.
    """
    _check_method(method)
    m = p.shape[1]
    if method == "none":
        adjusted = p.copy()
    elif method == "bonferroni":
        adjusted = m * p
    elif method == "sidak":
        # 1 − (1 − p)^m loses all precision for small p; this form is exact to rounding.
        with np.errstate(divide="ignore"):
            adjusted = -np.expm1(m * np.log1p(-p))
    else:  # holm: step-down, made monotone in the sorted order
        order = np.argsort(p, axis=1, kind="stable")
        stepped = (m - np.arange(m)) * np.take_along_axis(p, order, axis=1)
        adjusted = np.empty_like(p)
        np.put_along_axis(adjusted, order, np.maximum.accumulate(stepped, axis=1), axis=1)
    return np.minimum(adjusted, 1.0)


def _check_method(method: str) -> None:
    if method not in P_ADJUST_METHODS:
        raise ValueError(
            f"unknown p-value adjustment {method!r}; expected one of {', '.join(P_ADJUST_METHODS)}"
        )
