"""Validated numeric samples: the one entry point that turns user data into float arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class InvalidSampleError(ValueError):
    """A sample is not a one-dimensional sequence of finite numbers."""


def as_sample(values: Sequence[float] | np.ndarray, *, name: str = "sample") -> np.ndarray:
    """Return `values` as a 1-D float64 array; raise InvalidSampleError on NaN, inf or bad shape."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidSampleError(f"{name}: values must be numbers ({exc})") from exc
    if array.ndim != 1:
        raise InvalidSampleError(f"{name}: expected a flat list of numbers, got {array.shape}")
    if not np.all(np.isfinite(array)):
        # Missing measurements must be dropped (with their reason) before analysis, not here.
        raise InvalidSampleError(f"{name}: contains NaN or infinite values; drop them first")
    return array


def is_constant(sample: np.ndarray) -> bool:
    """True when the sample has at least one value and all values are exactly equal."""
    return sample.size > 0 and bool(np.all(sample == sample[0]))
