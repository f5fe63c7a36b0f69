"""The simulated models: how big, how fast, how careful."""

from __future__ import annotations

from dataclasses import dataclass

SMALL_MODEL = "sim-small"
LARGE_MODEL = "sim-large"


@dataclass(frozen=True)
class ModelProfile:
    """Behaviour of one simulated model size.

    `latency_factor` multiplies the per-token latency; `defect_rate` is the chance that a code
    answer carries an injected defect, `repair_defect_rate` the same chance when the request
    reports a failing check (lower, so repair loops converge); `verbose` answers carry prose,
    docstrings and comments.
    """

    name: str
    latency_factor: float
    defect_rate: float
    repair_defect_rate: float
    verbose: bool


PROFILES: dict[str, ModelProfile] = {
    SMALL_MODEL: ModelProfile(
        SMALL_MODEL, latency_factor=1.0, defect_rate=0.25, repair_defect_rate=0.05, verbose=False
    ),
    LARGE_MODEL: ModelProfile(
        LARGE_MODEL, latency_factor=2.5, defect_rate=0.05, repair_defect_rate=0.01, verbose=True
    ),
}

MODEL_NAMES: tuple[str, ...] = tuple(PROFILES)


def profile_for(model: str) -> ModelProfile:
    """The behaviour for a requested model name; unknown names behave like sim-large."""
    return PROFILES.get(model, PROFILES[LARGE_MODEL])
