"""`runs/manifest.json`: an index of an experiment's runs, rebuildable from their run.json files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from baes.records.base import RecordError, describe_validation, load_record
from baes.records.manifest import ManifestRecord, RunSummary
from baes.records.run import RunRecord
from baes.records.statuses import RUN_STATUSES
from baes.store.atomic import atomic_write_json, file_lock, remove_stale_temp_files
from baes.store.errors import RunRecordError
from baes.store.paths import NAME_RE, RUN_RECORD_FILE, ExperimentPaths
from baes.store.run_folders import DAMAGED_RUN_HINT, remove_leftovers, scan_run_folders

MANIFEST_SCHEMA_VERSION = ManifestRecord.SCHEMA_VERSION


@dataclass
class ManifestView:
    """Runs by run id (each a summary: framework, status, started_at, ended_at, verification)."""

    runs: dict[str, RunSummary]
    problems: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Counter[str]]:
        """Per framework, how many runs are in each status."""
        result: dict[str, Counter[str]] = {}
        for run in self.runs.values():
            result.setdefault(run.framework, Counter())[run.status] += 1
        return result

    def completed(self) -> int:
        return sum(1 for run in self.runs.values() if run.status == "completed")


class Manifest:
    """The run index of one experiment."""

    def __init__(self, paths: ExperimentPaths):
        self.paths = paths
        self.path = paths.manifest

    def _read_file(self) -> dict[str, RunSummary]:
        """The stored summaries; RecordError when the file is not a manifest (then rebuilt),
        NewerRecordError when a newer baes wrote it."""
        record = load_record(ManifestRecord, self.path.read_bytes(), "run manifest")
        for run_id in record.runs:
            if not NAME_RE.fullmatch(run_id):
                raise RecordError(f"run id {run_id!r} is not a valid name")
        return dict(record.runs)

    def read(self) -> ManifestView:
        """The index; rebuilt from run.json files (and the problem stated) when unusable.

        A rebuild reports the run folders it could not count, without refusing anything.
        """
        runs_dir = self.paths.runs_dir
        if runs_dir.exists() and not runs_dir.is_dir():
            return ManifestView({}, scan_run_folders(runs_dir).problems)
        if not self.path.exists():
            if runs_dir.is_dir() and any(runs_dir.iterdir()):
                runs, problems = self._rebuild()
                return ManifestView(
                    runs, [f"run manifest {self.path} is missing; rebuilt"] + problems
                )
            return ManifestView({})
        try:
            return ManifestView(self._read_file())
        except RecordError as exc:
            runs, problems = self._rebuild()
            return ManifestView(
                runs, [f"run manifest {self.path} is corrupt ({exc}); rebuilt"] + problems
            )

    @staticmethod
    def summary_of(record: RunRecord | Mapping[str, Any]) -> RunSummary:
        """The manifest's summary of a run record (typed, or a dict with at least framework and
        status); ValueError when its status is not a run status."""
        if isinstance(record, RunRecord):
            return RunSummary(
                framework=record.framework,
                status=record.status,
                started_at=record.started_at,
                ended_at=record.ended_at,
                # The usage-verification state (baes reconcile) is indexed too, so that
                # `baes list` can show the verified share without opening every run record.
                verification=record.verification.state,
            )
        verification = record.get("verification")
        state = verification.get("state") if isinstance(verification, Mapping) else None
        try:
            return RunSummary(
                framework=record.get("framework"),
                status=record.get("status"),
                started_at=record.get("started_at"),
                ended_at=record.get("ended_at"),
                verification=state if isinstance(state, str) else "unverified",
            )
        except ValidationError as exc:
            raise ValueError(
                f"run status must be one of {RUN_STATUSES} ({describe_validation(exc)})"
            ) from None

    def _scan(self) -> tuple[dict[str, RunSummary], list[str]]:
        scan = scan_run_folders(self.paths.runs_dir)
        return {rid: self.summary_of(r) for rid, r in scan.records.items()}, scan.problems

    def _rebuild(self) -> tuple[dict[str, RunSummary], list[str]]:
        with file_lock(self.path):
            runs, problems = self._scan()
            self._write(runs)
        return runs, problems

    def rebuild(self) -> dict[str, RunSummary]:
        """Re-index every run.json of the experiment, for `baes run` while it holds the run lock.

        Removes what killed runs left (run folders without run.json holding only temp files,
        temp files of run.json rewrites) and refuses (RunRecordError) run folders it cannot
        count: a run is never scheduled around a record that is damaged or not its folder's.
        """
        if self.paths.runs_dir.exists() and not self.paths.runs_dir.is_dir():
            raise RunRecordError(
                scan_run_folders(self.paths.runs_dir).problems[0], hint=DAMAGED_RUN_HINT
            )
        with file_lock(self.path):
            scan = scan_run_folders(self.paths.runs_dir)
            remove_leftovers(scan)
            runs = {rid: self.summary_of(r) for rid, r in scan.records.items()}
            self._write(runs)
            for record in scan.records.values():
                remove_stale_temp_files(
                    self.paths.run_dir(record.framework, record.run_id) / RUN_RECORD_FILE,
                    clock=self.path,  # just written
                )
        if len(scan.problems) == 1:
            raise RunRecordError(scan.problems[0], hint=DAMAGED_RUN_HINT)
        if scan.problems:
            raise RunRecordError(
                f"{len(scan.problems)} run folders cannot be counted:\n  "
                + "\n  ".join(scan.problems),
                hint=DAMAGED_RUN_HINT,
            )
        return runs

    def _write(self, runs: dict[str, RunSummary]) -> None:
        record = ManifestRecord(runs={rid: runs[rid] for rid in sorted(runs)})
        atomic_write_json(self.path, record.model_dump(mode="json"))
        remove_stale_temp_files(self.path)  # every writer holds the lock: older ones were killed

    def record(self, record: RunRecord | Mapping[str, Any]) -> None:
        """Store the summary of one run record (insert or replace), under the manifest's lock."""
        summary = self.summary_of(record)
        run_id = record.run_id if isinstance(record, RunRecord) else record["run_id"]
        with file_lock(self.path):
            try:
                runs = self._read_file() if self.path.exists() else {}
            except RecordError:
                runs, _ = self._scan()
            runs[run_id] = summary
            self._write(runs)


def write_empty_manifest(path: Path) -> None:
    atomic_write_json(path, ManifestRecord(runs={}).model_dump(mode="json"))
