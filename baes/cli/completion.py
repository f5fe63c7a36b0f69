"""Dynamic shell completion: experiment names, scenario and framework presets.

Completion runs on every <TAB>, so it reads only the registry file and lists preset files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click


def _root_from(ctx: click.Context | None) -> Path:
    from baes.store.paths import resolve_root

    value = ctx.params.get("root") if ctx is not None else None
    return resolve_root(value or os.environ.get("BAES_ROOT"))


def complete_experiment_names(ctx: click.Context, incomplete: str) -> list[str]:
    from baes.store.paths import REGISTRY_FILE

    root = _root_from(ctx)
    try:
        names = list(json.loads((root / REGISTRY_FILE).read_text("utf-8"))["experiments"])
    except (OSError, ValueError, KeyError, TypeError):
        # A missing or broken registry: fall back to the folder names, still without parsing configs.
        names = [p.parent.name for p in root.glob("*/config.yaml")] if root.is_dir() else []
    return sorted(n for n in names if n.startswith(incomplete))


def complete_scenarios(incomplete: str) -> list[str]:
    from baes.config.presets import scenario_names

    return [n for n in scenario_names() if n.startswith(incomplete)]


def complete_frameworks(incomplete: str) -> list[str]:
    """Complete the last name of a comma-separated list (`--frameworks reference,ai<TAB>`)."""
    from baes.config.presets import framework_names

    done, _, last = incomplete.rpartition(",")
    chosen = set(done.split(",")) if done else set()
    prefix = f"{done}," if done else ""
    return [prefix + n for n in framework_names() if n.startswith(last) and n not in chosen]
