"""Cliff's δ from exact integer dominance counts, and its magnitude label."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

Magnitude = Literal["negligible", "small", "medium", "large"]

# Romano et al. thresholds on |δ|, as exact fractions so a δ exactly on a threshold is classified
# by the rule (strict <), not by floating-point rounding.
MAGNITUDE_THRESHOLDS: tuple[tuple[Fraction, Magnitude], ...] = (
    (Fraction(147, 1000), "negligible"),
    (Fraction(33, 100), "small"),
    (Fraction(474, 1000), "medium"),
)


@dataclass(frozen=True)
class CliffsDelta:
    """Dominance counts of a over b; δ = (greater − less) / (n_a·n_b), positive when a is larger."""

    greater: int
    less: int
    n_a: int
    n_b: int

    @property
    def exact(self) -> Fraction:
        """δ as an exact fraction."""
        return Fraction(self.greater - self.less, self.n_a * self.n_b)

    @property
    def delta(self) -> float:
        """δ as a float (correctly rounded from the exact fraction)."""
        return float(self.exact)

    @property
    def magnitude(self) -> Magnitude:
        """negligible (|δ| < 0.147), small (< 0.33), medium (< 0.474) or large."""
        return delta_magnitude(self.exact)


def cliffs_delta(a: np.ndarray, b: np.ndarray) -> CliffsDelta:
    """Count pairs a_i > b_j and a_i < b_j in O((n_a + n_b) log n_b); both must be non-empty."""
    if a.size == 0 or b.size == 0:
        raise ValueError("Cliff's delta needs at least one value in each group")
    sorted_b = np.sort(b)
    # For each a_i: #(b < a_i) is the left insertion point, #(b > a_i) is n_b − right insertion.
    below = np.searchsorted(sorted_b, a, side="left")
    above = sorted_b.size - np.searchsorted(sorted_b, a, side="right")
    return CliffsDelta(
        greater=int(below.sum(dtype=np.int64)),
        less=int(above.sum(dtype=np.int64)),
        n_a=int(a.size),
        n_b=int(b.size),
    )


def delta_magnitude(delta: Fraction) -> Magnitude:
    """Magnitude label of an exact δ with strict `<` thresholds (|δ| = 0.147 is "small")."""
    size = abs(delta)
    for threshold, label in MAGNITUDE_THRESHOLDS:
        if size < threshold:
            return label
    return "large"
