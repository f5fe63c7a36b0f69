"""The canonical form of a design and its sha256: the identity of an experiment's plan.

The hash covers everything that can change results or the analysis and nothing else: the name,
the description, the names of the key variables, the reconcile settings and what checks need
installed (`check_requires`) are excluded. Defaults are excluded too, so a design that spells out
a default hashes like one that leaves it out, and a field added to the schema later (with a
default) does not change the hash of existing experiments.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from baes.config.models import ExperimentConfig

_EXCLUDED: dict[str, Any] = {
    "name": True,
    "description": True,
    "provider": {"api_key_env": True, "admin_key_env": True},
    # How the usage cross-check is done (settle time, tolerances, the key id to filter on) does
    # not change what a run measures nor the analysis plan; it can be learnt after creation.
    "reconcile": True,
    # What a check needs installed is the harness's instrument, like the Python baes runs on:
    # recorded with each run, not part of the plan, so an experiment created before a scenario
    # declared it can declare it without being refused as changed.
    "scenario": {"steps": {"__all__": {"check_requires": True}}},
    # Where a command framework's setup fetches its code (a mirror or the upstream): setup pins
    # the commit it checks out, so the source changes where the code came from, not what ran.
    # Recorded in each run's environment instead (frameworks/sources.py).
    "frameworks": {"__all__": {"source": True}},
}


def _drop_empty_mappings(value: Any) -> Any:
    # A block left empty by the exclusions (say a provider block that only named key variables)
    # means "all defaults", exactly like the block left out.
    if isinstance(value, dict):
        cleaned = {k: _drop_empty_mappings(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v != {}}
    if isinstance(value, list):
        return [_drop_empty_mappings(v) for v in value]
    return value


def canonical_design(config: ExperimentConfig) -> dict[str, Any]:
    """The hashed part of a design as plain JSON values."""
    return _drop_empty_mappings(
        config.model_dump(mode="json", exclude_defaults=True, exclude=_EXCLUDED)
    )


def canonical_json(config: ExperimentConfig) -> str:
    """Sorted keys, no whitespace, floats in Python's shortest round-trip form."""
    return json.dumps(
        canonical_design(config),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def design_hash(config: ExperimentConfig) -> str:
    """sha256 hex of the canonical design."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()
