"""Build a design from a base (a design file or an existing experiment) and command-line overrides."""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from baes.config.models import ExperimentConfig
from baes.config.presets import framework_document, scenario_document
from baes.config.pricing import shipped_price
from baes.config.yaml_io import ConfigError, to_plain, validate_design

REQUIRED = ("model", "frameworks")
# The scenario a design gets when neither the command line nor the design file names one: the
# original study's (README, docs/configuration.md).
DEFAULT_SCENARIO = "academic-crud"


@dataclass
class DesignOverrides:
    """Values given on the command line; None means "not given"."""

    name: str | None = None
    description: str | None = None
    model: str | None = None
    frameworks: list[str] | None = None
    scenario: str | None = None
    runs: int | None = None
    min_runs: int | None = None
    provider: str | None = None
    seed: int | None = None
    # USD per 1M tokens for the design's model, e.g. a local server's (docs/configuration.md).
    price_input: float | None = None
    price_output: float | None = None
    price_cached_input: float | None = None

    def given(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def missing_values(base: dict[str, Any] | None, overrides: DesignOverrides) -> list[str]:
    """The required values neither the base design nor the overrides provide."""
    base = base or {}
    return [key for key in REQUIRED if getattr(overrides, key) is None and not base.get(key)]


def optional_values(base: dict[str, Any] | None, overrides: DesignOverrides) -> list[str]:
    """The values with a default that neither the base design nor the overrides state.

    On a terminal `baes new` asks for these too, so a study's size is a decision, not a default.
    """
    base = base or {}
    runs = base.get("runs") or {}
    stated = {
        "scenario": overrides.scenario is not None or bool(base.get("scenario")),
        "runs": overrides.runs is not None or "max" in runs,
        "min_runs": overrides.min_runs is not None or "min" in runs,
        "description": overrides.description is not None or bool(base.get("description")),
    }
    return [key for key, given in stated.items() if not given]


def _provider_block(value: str, current: dict[str, Any]) -> dict[str, Any]:
    block = dict(current)
    if value == "sim":
        block.update(kind="sim", base_url=None)
    elif value == "openai":
        block.update(kind="openai", base_url=None)
    elif value.startswith(("http://", "https://")):
        block.update(kind="openai", base_url=value)
    else:
        raise ConfigError(f"--provider must be sim, openai or an http(s) base URL, not {value!r}")
    return block


def _price_from_flags(overrides: DesignOverrides) -> dict[str, Any] | None:
    """The model's price given with --price-input/--price-output, None when not given."""
    given = {
        "input": overrides.price_input,
        "output": overrides.price_output,
        "cached_input": overrides.price_cached_input,
    }
    if all(value is None for value in given.values()):
        return None
    if given["input"] is None or given["output"] is None:
        raise ConfigError(
            "a price from the command line needs both --price-input and --price-output "
            "(USD per 1M tokens; --price-cached-input is optional)"
        )
    return given


def _expand_scenario(value: Any, base_dir: Path | None) -> Any:
    """A scenario named by a preset or a file path, as the full scenario document.

    The full steps (prompts and checks) are what is hashed, so a design naming `hello` hashes
    like one that spells the preset out; a relative path is read next to the design file.
    """
    if not isinstance(value, str):
        return value
    if base_dir is not None and not Path(value).is_absolute():
        candidate = base_dir / value
        if candidate.is_file():
            return to_plain(scenario_document(str(candidate)))
    return to_plain(scenario_document(value))


def build_design(
    base: dict[str, Any] | None,
    overrides: DesignOverrides,
    source: str,
    base_dir: Path | None = None,
) -> ExperimentConfig:
    """Merge overrides into the base design, fill presets and prices, and validate the result.

    `base_dir` is the folder of the design file, where a scenario path in it is looked up.
    """
    document: dict[str, Any] = copy.deepcopy(to_plain(base)) if base else {}
    for key in ("name", "description", "model", "seed"):
        if getattr(overrides, key) is not None:
            document[key] = getattr(overrides, key)

    if overrides.frameworks is not None:
        if not overrides.frameworks:
            raise ConfigError("--frameworks needs at least one framework name")
        existing = document.get("frameworks") or {}
        document["frameworks"] = {
            name: existing[name] if name in existing else to_plain(framework_document(name))
            for name in overrides.frameworks
        }

    if overrides.scenario is not None:
        document["scenario"] = to_plain(scenario_document(overrides.scenario))
    elif document.get("scenario") is None:
        document["scenario"] = to_plain(scenario_document(DEFAULT_SCENARIO))
    else:
        document["scenario"] = _expand_scenario(document["scenario"], base_dir)

    if overrides.runs is not None or overrides.min_runs is not None:
        runs = dict(document.get("runs") or {})
        if overrides.runs is not None:
            runs["max"] = overrides.runs
            # Asking for fewer runs than the default minimum means "exactly this many".
            if overrides.min_runs is None and runs.get("min", 5) > overrides.runs:
                runs["min"] = overrides.runs
        if overrides.min_runs is not None:
            runs["min"] = overrides.min_runs
        document["runs"] = runs

    provider = dict(document.get("provider") or {})
    if overrides.provider is not None:
        provider = _provider_block(overrides.provider, provider)
    elif "kind" not in provider and isinstance(document.get("model"), str):
        # Without a stated provider, the model's name decides: simulator models go to the simulator.
        provider["kind"] = "sim" if document["model"].startswith("sim-") else "openai"
    if provider:
        document["provider"] = provider

    model = document.get("model")
    pricing = dict(document.get("pricing") or {})
    flag_price = _price_from_flags(overrides)
    if flag_price is not None:
        if not isinstance(model, str) or not model:
            raise ConfigError("--price-input/--price-output price the design's model: give --model")
        pricing[model] = flag_price
    elif isinstance(model, str) and model and model not in pricing:
        pricing[model] = shipped_price(model).model_dump()
    document["pricing"] = pricing

    return validate_design(document, source, lines_from=base)
