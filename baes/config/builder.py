"""Build a design from a base (a design file or an existing experiment) and command-line overrides."""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from typing import Any

from baes.config.models import ExperimentConfig
from baes.config.presets import framework_document, scenario_document
from baes.config.pricing import shipped_price
from baes.config.yaml_io import ConfigError, to_plain, validate_design

REQUIRED = ("model", "frameworks", "scenario")


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

    def given(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def missing_values(base: dict[str, Any] | None, overrides: DesignOverrides) -> list[str]:
    """The required values neither the base design nor the overrides provide."""
    base = base or {}
    return [key for key in REQUIRED if getattr(overrides, key) is None and not base.get(key)]


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


def build_design(
    base: dict[str, Any] | None, overrides: DesignOverrides, source: str
) -> ExperimentConfig:
    """Merge overrides into the base design, fill presets and prices, and validate the result."""
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
    if isinstance(model, str) and model and model not in pricing:
        pricing[model] = shipped_price(model).model_dump()
    document["pricing"] = pricing

    return validate_design(document, source)
