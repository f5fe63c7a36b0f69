"""Multiple-comparison adjustment of p-values: holm, sidak, bonferroni or none."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from baes.config.models import P_ADJUST_METHODS, PAdjustMethod


def adjust_p_values(p_values: Sequence[float], method: PAdjustMethod) -> list[float]:
    """Adjust raw p-values over all m of them; same order as the input, each capped at 1."""
    if method not in P_ADJUST_METHODS:
        raise ValueError(
            f"unknown p-value adjustment {method!r}; expected one of {', '.join(P_ADJUST_METHODS)}"
        )
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return []
    if method == "none":
        adjusted = p.copy()
    elif method == "bonferroni":
        adjusted = m * p
    elif method == "sidak":
        # 1 − (1 − p)^m loses all precision for small p; this form is exact to rounding.
        with np.errstate(divide="ignore"):
            adjusted = -np.expm1(m * np.log1p(-p))
    else:  # holm: step-down, made monotone in the sorted order
        order = np.argsort(p, kind="stable")
        stepped = (m - np.arange(m)) * p[order]
        adjusted = np.empty(m)
        adjusted[order] = np.maximum.accumulate(stepped)
    return [float(v) for v in np.minimum(adjusted, 1.0)]
