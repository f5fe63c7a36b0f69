"""The registry of a root, wired to rebuild itself from experiment folders.

Describing a folder needs the config models (pydantic, ruamel); they are imported only when a
rebuild or refresh needs them, so that `baes list` on a healthy registry stays fast.
"""

from __future__ import annotations

from pathlib import Path

from baes.store.paths import ExperimentPaths
from baes.store.registry import Registry, RegistryEntry


def _describe(paths: ExperimentPaths) -> RegistryEntry:
    from baes.experiment.describe import describe

    return describe(paths)


def registry_for(root: Path) -> Registry:
    """The registry of `root`, able to rebuild itself from the experiment folders."""
    return Registry(root, _describe)
