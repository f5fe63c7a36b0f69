"""The run records reconcile reads (status, ledger) and the one part of them it writes:
`verification` {state, changed_at, summary}. The ledger and the totals are never touched."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baes.store.atomic import atomic_write_json
from baes.store.errors import RunRecordError
from baes.store.manifest import Manifest
from baes.store.paths import LEDGER_FILE, NAME_RE, ExperimentPaths
from baes.store.run_folders import load_run_record


@dataclass(frozen=True)
class RunRef:
    """A run as found on disk."""

    framework: str
    run_id: str
    status: str
    verification: dict[str, Any]
    totals: dict[str, Any]
    path: Path

    @property
    def ledger(self) -> Path:
        return self.path.parent / LEDGER_FILE

    @property
    def state(self) -> str:
        state = self.verification.get("state")
        return state if isinstance(state, str) else "unverified"


def _verification(record: dict[str, Any]) -> dict[str, Any]:
    value = record.get("verification")
    return value if isinstance(value, dict) else {}


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
            ref = RunRef(
                framework=str(record["framework"]),
                run_id=str(record["run_id"]),
                status=str(record["status"]),
                verification=_verification(record),
                totals=totals if isinstance(totals := record.get("totals"), dict) else {},
                path=run_json,
            )
        except RunRecordError as exc:
            problems.append(exc.message)
            continue
        runs.append((str(record.get("started_at") or ""), ref))
    return [ref for _, ref in sorted(runs, key=lambda item: (item[0], item[1].run_id))], problems


def write_verification(
    paths: ExperimentPaths, ref: RunRef, state: str, summary: dict[str, Any], now: str
) -> dict[str, Any]:
    """Set the run's verification (changed_at moves only when the state changes); returns it.

    The caller holds the experiment's reconcile lock, so no other reconcile rewrites the record
    meanwhile (and `baes run` only writes records of runs in flight, which are never judged).
    Every other field is written back exactly as read.
    """
    record = json.loads(ref.path.read_text("utf-8"))
    previous = _verification(record)
    changed = previous.get("state", "unverified") != state
    verification = {
        "state": state,
        "changed_at": now if changed else previous.get("changed_at"),
        "summary": summary,
    }
    record["verification"] = verification
    atomic_write_json(ref.path, record)
    Manifest(paths).record(record)
    return verification
