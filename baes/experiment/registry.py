"""The registry of a root, wired to rebuild itself from experiment folders.

Describing a folder needs the config models (pydantic, ruamel); they are imported only when a
rebuild or refresh needs them, so that `baes list` on a healthy registry stays fast.
"""

from __future__ import annotations

from pathlib import Path

from baes.store.paths import ExperimentPaths
from baes.store.registry import Registry, RegistryEntry, RegistryView


def _describe(paths: ExperimentPaths) -> RegistryEntry:
    from baes.experiment.describe import describe

    return describe(paths)


def registry_for(root: Path) -> Registry:
    """The registry of `root`, able to rebuild itself from the experiment folders."""
    return Registry(root, _describe)


def current_view(root: Path) -> RegistryView:
    """The registry's entries, with `running` ones re-described when no `baes run` holds them.

    A killed `baes run` cannot update the registry; its experiment would show `running` forever.
    Only those entries are checked, so a healthy listing still opens no experiment folder.
    """
    registry = registry_for(root)
    view = registry.view()
    running = [e for e in view.entries if e.status == "running"]
    if running:
        from baes.store.atomic import is_locked

        stale = [e.name for e in running if not is_locked(ExperimentPaths(root, e.name).run_lock)]
        if stale:
            fresh = registry.refresh_many(stale)
            view.entries = [fresh.get(e.name, e) for e in view.entries]
    return view
