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


def complete_models(incomplete: str) -> list[str]:
    """The models baes has a price for (a design naming another one must price it)."""
    from baes.config.pricing import shipped_price_table

    models = [m for block in shipped_price_table() for m in block.models]
    return [m for m in models if m.startswith(incomplete)]


PROVIDER_CHOICES = ("sim", "openai", "http://127.0.0.1:", "https://")


def complete_providers(incomplete: str) -> list[str]:
    """`--provider`: the two kinds, and the start of a base URL (a local server, a remote one)."""
    return [p for p in PROVIDER_CHOICES if p.startswith(incomplete)]


def complete_metrics(incomplete: str) -> list[str]:
    """Metric keys of the analysis catalog."""
    from baes.analysis.metrics import METRICS

    return [key for key in METRICS if key.startswith(incomplete)]


def complete_statuses(incomplete: str) -> list[str]:
    """Experiment statuses `baes list --status` accepts."""
    from baes.records.statuses import EXPERIMENT_STATUSES as STATUSES

    return [s for s in STATUSES if s.startswith(incomplete)]


def _frameworks_of(root: Path, names: list[str]) -> list[str]:
    """The frameworks of the named experiments, from the registry (their config.yaml if absent)."""
    from baes.store.paths import REGISTRY_FILE

    try:
        entries = json.loads((root / REGISTRY_FILE).read_text("utf-8"))["experiments"]
    except (OSError, ValueError, KeyError, TypeError):
        entries = {}
    found: list[str] = []
    for name in names:
        frameworks = (
            (entries.get(name) or {}).get("frameworks") if isinstance(entries, dict) else None
        )
        if not isinstance(frameworks, list):
            frameworks = _frameworks_in_config(root / name / "config.yaml")
        found += [str(f) for f in frameworks if str(f) not in found]
    return found


def _frameworks_in_config(path: Path) -> list[str]:
    from ruamel.yaml import YAML

    try:
        document = YAML(typ="safe").load(path.read_text("utf-8"))
        return [str(name) for name in document["frameworks"]]
    except Exception:  # noqa: BLE001 - completion offers nothing rather than failing a <TAB>
        return []


def complete_experiment_frameworks(ctx: click.Context, incomplete: str) -> list[str]:
    """`-f`: the frameworks of the experiment(s) named on the command line so far.

    The names come from the words typed, not from the parsed parameters: click stops parsing at
    the `-f` still waiting for its value, so the experiment names are left unparsed in the
    context's args (the parent context holds all of the subcommand's words).
    """
    words = list(ctx.args) + (list(ctx.parent.args) if ctx.parent is not None else [])
    known = set(complete_experiment_names(ctx, ""))
    names = list(dict.fromkeys(word for word in words if word in known))
    chosen = set(ctx.params.get("framework") or ())
    chosen |= {words[i + 1] for i, word in enumerate(words[:-1]) if word in ("-f", "--framework")}
    return [
        f
        for f in _frameworks_of(_root_from(ctx), names)
        if f.startswith(incomplete) and f not in chosen
    ]
