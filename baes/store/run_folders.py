"""Run folders, `runs/<framework>/<run_id>/`: which hold a usable run record, and what is left over.

A run counts only through its run.json, and only when the record belongs to its folder: a valid
run record (baes.records.run) whose run_id and framework are the folder's names. A
record copied into another folder, or damaged, would otherwise be counted twice or wrongly.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from baes.errors import WorkError
from baes.records.base import NewerRecordError, RecordError, describe_validation, load_record
from baes.records.run import RunRecord
from baes.redaction import redact
from baes.store.atomic import atomic_write_json
from baes.store.errors import RunRecordError
from baes.store.paths import NAME_RE, RUN_RECORD_FILE

# Files of the manifest that live in runs/ beside the framework folders.
_RUNS_DIR_FILES = {"manifest.json", "manifest.json.lock"}
DAMAGED_RUN_HINT = (
    "restore the run.json, or move the run folder (or file) out of runs/; what is moved out "
    "is not counted"
)


def record_problem(record: RunRecord, framework: str, run_id: str) -> str | None:
    """Why `record` is not the run record of runs/<framework>/<run_id>/, or None when it is."""
    if record.run_id != run_id:
        return f"its run_id {record.run_id!r} is not its folder's name {run_id!r}"
    if record.framework != framework:
        return f"its framework {record.framework!r} is not its folder's name {framework!r}"
    return None


def parse_run_record(run_json: Path | str, data: bytes) -> RunRecord:
    """The run record in `data` (the bytes of `run_json`), migrated to the current version;
    RunRecordError naming the file when it is not one (a newer baes's record says so)."""
    try:
        return load_record(RunRecord, data, "run record")
    except RecordError as exc:
        raise RunRecordError(
            f"{run_json}: not a run record ({exc})", hint=DAMAGED_RUN_HINT
        ) from None
    except NewerRecordError as exc:
        raise RunRecordError(f"{run_json}: {exc.message}", hint=exc.hint) from None


def load_run_record(run_json: Path) -> RunRecord:
    """The run record in `run_json`, checked against its folder; RunRecordError naming the file."""
    try:
        data = run_json.read_bytes()
    except OSError as exc:
        raise RunRecordError(
            f"{run_json}: unreadable run record ({exc.strerror or exc})", hint=DAMAGED_RUN_HINT
        ) from None
    record = parse_run_record(run_json, data)
    problem = record_problem(record, run_json.parent.parent.name, run_json.parent.name)
    if problem:
        raise RunRecordError(f"{run_json}: {problem}", hint=DAMAGED_RUN_HINT)
    return record


def write_run_record(path: Path, record: RunRecord | Mapping[str, Any]) -> RunRecord:
    """Write run.json from the typed record (a dict is validated into one first: a record that
    breaks the contract is never written); its error message never holds a key
    (baes.redaction), whoever wrote it. Returns the record as written."""
    try:
        typed = record if isinstance(record, RunRecord) else RunRecord.model_validate(record)
    except ValidationError as exc:
        raise WorkError(
            f"{path}: the run record breaks its contract ({describe_validation(exc)}); not written",
            hint="this is a bug in baes; please report it with the command you ran",
        ) from None
    if typed.error is not None:
        error = typed.error.model_copy(update={"message": redact(typed.error.message)})
        typed = typed.model_copy(update={"error": error})
    atomic_write_json(path, typed.model_dump(mode="json"))
    return typed


@dataclass
class RunFolderScan:
    """The usable records by run id, what is wrong elsewhere, and leftovers of killed runs."""

    records: dict[str, RunRecord] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Run folders with no run.json and nothing but temp files in them: `baes run` was killed
    # between creating the folder and writing the record. They never count as runs.
    leftovers: list[Path] = field(default_factory=list)


def scan_run_folders(runs_dir: Path) -> RunFolderScan:
    """Read every run folder under `runs_dir` (sorted), without changing anything."""
    scan = RunFolderScan()
    try:
        framework_entries = sorted(os.scandir(runs_dir), key=lambda e: e.name)
    except FileNotFoundError:
        return scan  # no runs yet
    except OSError as exc:
        scan.problems.append(f"{runs_dir} cannot be read as the folder of runs ({exc.strerror})")
        return scan
    for framework_entry in framework_entries:
        name = framework_entry.name
        if name in _RUNS_DIR_FILES or not NAME_RE.fullmatch(name):
            continue
        if not framework_entry.is_dir():
            scan.problems.append(
                f"{framework_entry.path} is not a folder (a framework's runs belong there)"
            )
            continue
        for run_entry in sorted(os.scandir(framework_entry.path), key=lambda e: e.name):
            if not run_entry.is_dir() or not NAME_RE.fullmatch(run_entry.name):
                continue
            run_dir = Path(run_entry.path)
            run_json = run_dir / RUN_RECORD_FILE
            if not run_json.exists():
                if _holds_only_temp_files(run_dir):
                    scan.leftovers.append(run_dir)
                else:
                    scan.problems.append(f"{run_dir} has no {RUN_RECORD_FILE}; not counted")
                continue
            try:
                scan.records[run_entry.name] = load_run_record(run_json)
            except RunRecordError as exc:
                scan.problems.append(exc.message)
    return scan


def _holds_only_temp_files(folder: Path) -> bool:
    try:
        return all(
            entry.is_file(follow_symlinks=False) and entry.name.endswith(".tmp")
            for entry in os.scandir(folder)
        )
    except OSError:
        return False


def remove_leftovers(scan: RunFolderScan) -> None:
    """Delete the scan's leftover run folders (only while holding the experiment's run lock)."""
    for folder in scan.leftovers:
        shutil.rmtree(folder, ignore_errors=True)
