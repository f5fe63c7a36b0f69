"""`.meta/run-progress.json`: what the `baes run`s decided per framework."""

from __future__ import annotations

from typing import Literal

from baes.records.base import Record


class FrameworkProgress(Record):
    """The last `baes run`'s decision about one framework."""

    completed: int
    """Completed runs of the framework."""
    stopped: str | None
    """Why runs of the framework stopped (e.g. the stopping rule); null while more are wanted."""
    outcome: str | None
    """converged | runs_max | gave_up | budget | interrupted; null while more runs are wanted."""
    gave_up: bool
    """True when `baes run` gave the framework up (too many failures in a row)."""


class RunProgressRecord(Record):
    """`.meta/run-progress.json`: a cache for `baes list` and `baes show`, written by `baes run`."""

    schema_version: Literal[1] = 1
    """Version of this file's format."""
    updated_at: str
    """ISO-8601 UTC time of the last write."""
    budget_exhausted: bool
    """True when the last `baes run` stopped because the experiment's budget was spent."""
    frameworks: dict[str, FrameworkProgress]
    """Each framework's state, by name (a `baes run -f` updates only its frameworks)."""
