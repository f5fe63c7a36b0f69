"""`.registry.json`: an index of the experiments under a root, rebuildable from their folders."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, StrictInt

from baes.records.base import Record


class ExperimentEntry(Record):
    """What `baes list` shows of one experiment, without opening its folder."""

    model_config = ConfigDict(strict=True)

    name: str
    """The experiment's name."""
    path: str
    """Its folder, relative to the root."""
    status: str
    """created | running | interrupted | incomplete | stopped | completed | config-changed |
    broken."""
    model: str | None
    """The model of its design; null when the design cannot be read."""
    frameworks: list[str]
    """The frameworks of its design."""
    runs_completed: StrictInt
    """Completed runs."""
    runs_target: StrictInt | None
    """Runs the design asks for; null when the design cannot be read."""
    created_at: str | None
    """ISO-8601 UTC creation time."""
    updated_at: str
    """ISO-8601 UTC time the entry was described."""
    config_hash: str | None
    """The stored hash of its design."""
    problem: str | None = None
    """What is wrong with the experiment's design, if anything."""
    runs_verified: StrictInt = 0
    """Completed runs whose usage `baes reconcile` verified."""
    sources: dict[str, list[StrictInt] | None] | None = None
    """inode, size and mtime (ns) of each file the entry was described from (null: absent):
    `baes list` re-describes an experiment whose files changed since."""


class RegistryRecord(Record):
    """`.registry.json` at the root: a cache; a missing, damaged or stale one is rebuilt."""

    schema_version: Literal[1] = 1
    """Version of this file's format."""
    experiments: dict[str, ExperimentEntry]
    """Each experiment's entry by name, sorted."""
