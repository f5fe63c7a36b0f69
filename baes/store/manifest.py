"""`runs/manifest.json`: an index of an experiment's runs, rebuildable from their run.json files."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baes.store.atomic import atomic_write_json, file_lock
from baes.store.paths import NAME_RE, RUN_RECORD_FILE, ExperimentPaths

MANIFEST_SCHEMA_VERSION = 1
RUN_STATUSES = ("running", "completed", "failed", "interrupted")
_SUMMARY_FIELDS = ("framework", "status", "started_at", "ended_at")


@dataclass
class ManifestView:
    """Runs by run id (each a summary: framework, status, started_at, ended_at)."""

    runs: dict[str, dict[str, Any]]
    problems: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Counter[str]]:
        """Per framework, how many runs are in each status."""
        result: dict[str, Counter[str]] = {}
        for run in self.runs.values():
            result.setdefault(run["framework"], Counter())[run["status"]] += 1
        return result

    def completed(self) -> int:
        return sum(1 for run in self.runs.values() if run["status"] == "completed")


class Manifest:
    """The run index of one experiment."""

    def __init__(self, paths: ExperimentPaths):
        self.paths = paths
        self.path = paths.manifest

    def _read_file(self) -> dict[str, dict[str, Any]]:
        raw = json.loads(self.path.read_text("utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("runs"), dict):
            raise ValueError("not a baes run manifest (no 'runs' object)")
        return raw["runs"]

    def read(self) -> ManifestView:
        """The index; rebuilt from run.json files (and the problem stated) when unusable."""
        if not self.path.exists():
            if any(self._run_files()):
                return ManifestView(
                    self.rebuild(), [f"run manifest {self.path} is missing; rebuilt"]
                )
            return ManifestView({})
        try:
            return ManifestView(self._read_file())
        except (ValueError, UnicodeDecodeError) as exc:
            return ManifestView(
                self.rebuild(), [f"run manifest {self.path} is corrupt ({exc}); rebuilt"]
            )

    def _run_files(self):
        if not self.paths.runs_dir.is_dir():
            return iter(())
        return (
            run_json
            for run_json in self.paths.runs_dir.glob(f"*/*/{RUN_RECORD_FILE}")
            if NAME_RE.fullmatch(run_json.parent.parent.name)
        )

    @staticmethod
    def summary_of(record: dict[str, Any]) -> dict[str, Any]:
        """The manifest's summary of a run record."""
        summary = {key: record.get(key) for key in _SUMMARY_FIELDS}
        # The usage-verification state (baes reconcile) is indexed too, so that `baes list` can
        # show the verified share without opening every run record.
        verification = record.get("verification")
        state = verification.get("state") if isinstance(verification, dict) else None
        summary["verification"] = state if isinstance(state, str) else "unverified"
        return summary

    def _scan(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        runs: dict[str, dict[str, Any]] = {}
        problems: list[str] = []
        for run_json in sorted(self._run_files()):
            try:
                record = json.loads(run_json.read_text("utf-8"))
                runs[record["run_id"]] = self.summary_of(record)
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
                problems.append(f"{run_json}: unreadable run record ({exc})")
        return runs, problems

    def rebuild(self) -> dict[str, dict[str, Any]]:
        """Re-index every run.json of the experiment."""
        with file_lock(self.path):
            runs, _ = self._scan()
            self._write(runs)
        return runs

    def _write(self, runs: dict[str, dict[str, Any]]) -> None:
        atomic_write_json(
            self.path,
            {
                "schema_version": MANIFEST_SCHEMA_VERSION,
                "runs": {rid: runs[rid] for rid in sorted(runs)},
            },
        )

    def record(self, record: dict[str, Any]) -> None:
        """Store the summary of one run record (insert or replace), under the manifest's lock."""
        if record.get("status") not in RUN_STATUSES:
            raise ValueError(
                f"run status must be one of {RUN_STATUSES}, not {record.get('status')!r}"
            )
        with file_lock(self.path):
            try:
                runs = self._read_file() if self.path.exists() else {}
            except (ValueError, UnicodeDecodeError):
                runs, _ = self._scan()
            runs[record["run_id"]] = self.summary_of(record)
            self._write(runs)


def write_empty_manifest(path: Path) -> None:
    atomic_write_json(path, {"schema_version": MANIFEST_SCHEMA_VERSION, "runs": {}})
