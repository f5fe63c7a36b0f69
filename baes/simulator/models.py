"""The simulated models: how big, how fast, how careful; and the names the simulator refuses."""

from __future__ import annotations

from dataclasses import dataclass

SMALL_MODEL = "sim-small"
LARGE_MODEL = "sim-large"
EMBEDDING_MODEL = "sim-embedding"


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

# Generation models (chat, Responses, legacy completions), then the one embedding model.
MODEL_NAMES: tuple[str, ...] = tuple(PROFILES)
EMBEDDING_MODEL_NAMES: tuple[str, ...] = (EMBEDDING_MODEL,)
ALL_MODEL_NAMES: tuple[str, ...] = MODEL_NAMES + EMBEDDING_MODEL_NAMES


class UnknownModelError(LookupError):
    """A model name the simulator does not serve (on this endpoint); the message lists its models.

    A real provider answers an unknown model with 404 `model_not_found`; so does the simulator,
    rather than quietly answering as some other model and letting a design measure the wrong
    thing.
    """

    def __init__(self, model: str, served: tuple[str, ...], what: str = "model"):
        self.model = model
        names = ", ".join(served)
        super().__init__(
            f"The model `{model}` does not exist or you do not have access to it. The baes "
            f"simulator serves only these {what}s: {names} (see docs/simulator.md)."
        )


def profile_for(model: str) -> ModelProfile:
    """The behaviour of a generation model; UnknownModelError for any other name."""
    try:
        return PROFILES[model]
    except KeyError:
        raise UnknownModelError(model, MODEL_NAMES, "generation model") from None


def require_embedding_model(model: str) -> str:
    """The embedding model's name back; UnknownModelError for any other name."""
    if model not in EMBEDDING_MODEL_NAMES:
        raise UnknownModelError(model, EMBEDDING_MODEL_NAMES, "embedding model")
    return model
