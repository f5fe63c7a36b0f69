""".meta/run-progress.json: what the `baes run`s decided per framework (stopped, why, gave up).

It is a cache for `baes list` and `baes show`, written by `baes run` while it holds the
experiment's run lock. A run restricted to some frameworks (`baes run -f NAME`) decides only
about those, so each write merges: the other frameworks keep the state their last run left.
"""

from __future__ import annotations

from pathlib import Path

from baes.clock import utc_now
from baes.records.base import RecordError, load_record
from baes.records.progress import FrameworkProgress, RunProgressRecord
from baes.store.atomic import atomic_write_json, remove_stale_temp_files

RUN_PROGRESS_SCHEMA_VERSION = RunProgressRecord.SCHEMA_VERSION


def read_run_progress(path: Path) -> RunProgressRecord | None:
    """The file's record; None when missing or unusable (a cache: the run records decide).

    NewerRecordError when a newer baes wrote it.
    """
    try:
        return load_record(RunProgressRecord, path.read_bytes(), "run-progress file")
    except (OSError, RecordError):
        return None


def merge_run_progress(
    previous: RunProgressRecord | None,
    frameworks: dict[str, FrameworkProgress],
    budget_exhausted: bool,
) -> RunProgressRecord:
    """The new file content: `frameworks` over the previous per-framework states.

    `budget_exhausted` is not merged: every `baes run` measures the whole experiment's spending.
    """
    merged = dict(previous.frameworks) if previous else {}
    merged.update(frameworks)
    return RunProgressRecord(
        updated_at=utc_now(),
        budget_exhausted=budget_exhausted,
        frameworks={name: merged[name] for name in sorted(merged)},
    )


def write_run_progress(
    path: Path, frameworks: dict[str, FrameworkProgress], budget_exhausted: bool
) -> None:
    """Merge this run's per-framework states into the file (call while holding the run lock)."""
    record = merge_run_progress(read_run_progress(path), frameworks, budget_exhausted)
    atomic_write_json(path, record.model_dump(mode="json"))
    # Under the run lock no other writer exists: a temp file of ours is left by a killed run.
    remove_stale_temp_files(path)
