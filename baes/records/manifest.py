"""runs/manifest.json: an index of an experiment's runs, rebuildable from their run.json files."""

from __future__ import annotations

from typing import Literal

from baes.records.base import Record
from baes.records.run import RunStatus


class RunSummary(Record):
    """What the manifest keeps of one run record."""

    framework: str
    """The framework that ran."""
    status: RunStatus
    """The run's status as its run.json says."""
    started_at: str | None
    """ISO-8601 UTC start."""
    ended_at: str | None
    """ISO-8601 UTC end; null while running."""
    verification: str = "unverified"
    """The run's usage-verification state (so `baes list` shows the verified share)."""


class ManifestRecord(Record):
    """runs/manifest.json: a cache of the experiment's runs; a damaged one is rebuilt."""

    schema_version: Literal[1] = 1
    """Version of this file's format."""
    runs: dict[str, RunSummary]
    """Each run's summary by run id, sorted."""
