""".meta/run-progress.json: what the `baes run`s decided per framework (stopped, why, gave up).

It is a cache for `baes list` and `baes show`, written by `baes run` while it holds the
experiment's run lock. A run restricted to some frameworks (`baes run -f NAME`) decides only
about those, so each write merges: the other frameworks keep the state their last run left.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baes.clock import utc_now
from baes.store.atomic import atomic_write_json, remove_stale_temp_files

RUN_PROGRESS_SCHEMA_VERSION = 1


def read_run_progress(path: Path) -> dict[str, Any] | None:
    """The file's content when it is a run-progress object; None when missing or unusable."""
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("frameworks"), dict):
        return None
    value["frameworks"] = {
        name: state for name, state in value["frameworks"].items() if isinstance(state, dict)
    }
    return value


def merge_run_progress(
    previous: dict[str, Any] | None,
    frameworks: dict[str, dict[str, Any]],
    budget_exhausted: bool,
) -> dict[str, Any]:
    """The new file content: `frameworks` over the previous per-framework states.

    `budget_exhausted` is not merged: every `baes run` measures the whole experiment's spending.
    """
    merged = dict(previous["frameworks"]) if previous else {}
    merged.update(frameworks)
    return {
        "schema_version": RUN_PROGRESS_SCHEMA_VERSION,
        "updated_at": utc_now(),
        "budget_exhausted": budget_exhausted,
        "frameworks": {name: merged[name] for name in sorted(merged)},
    }


def write_run_progress(
    path: Path, frameworks: dict[str, dict[str, Any]], budget_exhausted: bool
) -> None:
    """Merge this run's per-framework states into the file (call while holding the run lock)."""
    atomic_write_json(
        path, merge_run_progress(read_run_progress(path), frameworks, budget_exhausted)
    )
    # Under the run lock no other writer exists: a temp file of ours is left by a killed run.
    remove_stale_temp_files(path)
