"""The run records reconcile reads (status, ledger) and the one part of them it writes:
`verification` {state, changed_at, summary}. The ledger and the totals are never touched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baes.records.run import Totals, Verification
from baes.store.errors import RunRecordError
from baes.store.manifest import Manifest
from baes.store.paths import LEDGER_FILE, NAME_RE, ExperimentPaths
from baes.store.run_folders import load_run_record, write_run_record


@dataclass(frozen=True)
class RunRef:
    """A run as found on disk."""

    framework: str
    run_id: str
    status: str
    verification: Verification
    totals: Totals
    path: Path

    @property
    def ledger(self) -> Path:
        return self.path.parent / LEDGER_FILE

    @property
    def state(self) -> str:
        return self.verification.state


def find_runs(paths: ExperimentPaths) -> tuple[list[RunRef], list[str]]:
    """Every readable run record of the experiment (by start), and the unreadable ones' problems."""
    runs: list[tuple[str, RunRef]] = []
    problems = []
    if not paths.runs_dir.is_dir():
        return [], []
    for run_json in sorted(paths.runs_dir.glob("*/*/run.json")):
        if not NAME_RE.fullmatch(run_json.parent.parent.name):
            continue
        try:
            record = load_run_record(run_json)
        except RunRecordError as exc:
            problems.append(exc.message)
            continue
        ref = RunRef(
            framework=record.framework,
            run_id=record.run_id,
            status=record.status,
            verification=record.verification,
            totals=record.totals,
            path=run_json,
        )
        runs.append((record.started_at, ref))
    return [ref for _, ref in sorted(runs, key=lambda item: (item[0], item[1].run_id))], problems


def write_verification(
    paths: ExperimentPaths, ref: RunRef, state: str, summary: dict[str, Any], now: str
) -> Verification:
    """Set the run's verification (changed_at moves only when the state changes); returns it.

    The caller holds the experiment's reconcile lock, so no other reconcile rewrites the record
    meanwhile (and `baes run` only writes records of runs in flight, which are never judged).
    Every other field is written back as read (a record of an older schema_version is written
    in the current one).
    """
    record = load_run_record(ref.path)
    previous = record.verification
    verification = Verification.model_validate(
        {
            "state": state,
            "changed_at": now if previous.state != state else previous.changed_at,
            "summary": summary,
        }
    )
    record = record.model_copy(update={"verification": verification})
    write_run_record(ref.path, record)
    Manifest(paths).record(record)
    return verification
