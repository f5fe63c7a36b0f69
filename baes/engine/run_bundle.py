"""What a run executed elsewhere sends back, and how the coordinator writes it into the run folder.

The coordinator is the single writer of an experiment's folder. A cluster worker executes a run in
a scratch folder of its own and returns a RunBundle: the record (usage not yet settled: the ledger
is the proxy's, on the coordinator), the step logs and the workspace archive, as bytes or as a
path on storage both machines see (`--shared-dir`). `write_bundle` puts them exactly where a run
executed in a thread of `baes run` would have written them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from baes.engine.archive import ARCHIVE_NAME
from baes.errors import WorkError
from baes.store.paths import LEDGER_FILE, RUN_RECORD_FILE

WORKER_LOST = "worker-lost"


@dataclass(frozen=True)
class RunBundle:
    """One run's result as an executor hands it to the coordinator.

    `record` is None when no record came back (`lost` says why: WORKER_LOST). `files` maps paths
    relative to the run folder to their content; empty when the run wrote its folder in place (a
    thread of `baes run`). `shared_archive` is the archive's path on --shared-dir, if used.
    """

    run_id: str
    record: dict[str, Any] | None
    worker: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    shared_archive: str | None = None
    lost: str | None = None
    lost_detail: str | None = None


def pack_run_folder(
    run_dir: Path, run_id: str, record: dict[str, Any], worker: str, shared_dir: Path | None
) -> RunBundle:
    """A bundle of what a run wrote in `run_dir` (a worker's scratch folder).

    The workspace folder itself is not shipped: the archive holds it. With `shared_dir` the
    archive is moved there and only its path travels.
    """
    files: dict[str, bytes] = {}
    shared: str | None = None
    for path in sorted(run_dir.rglob("*")):
        relative = path.relative_to(run_dir)
        if not path.is_file() or path.is_symlink() or relative.parts[0] == "workspace":
            continue
        if relative.as_posix() in (LEDGER_FILE, RUN_RECORD_FILE):
            continue  # the coordinator's proxy writes the ledger; the coordinator the record
        if relative.as_posix() == ARCHIVE_NAME and shared_dir is not None:
            target = shared_dir / f"{run_id}-{ARCHIVE_NAME}"
            shutil.copyfile(path, target)
            shared = str(target)
            continue
        files[relative.as_posix()] = path.read_bytes()
    return RunBundle(run_id, record, worker, files, shared)


def write_bundle(bundle: RunBundle, run_dir: Path) -> list[Path]:
    """Write the bundle's files into `run_dir`; WorkError if it is not sound.

    Returns the step logs written (the files to redact; never the archive). The archive must
    match the sha256 its record names: a bundle damaged on the way is refused.
    """
    logs: list[Path] = []
    for name, content in bundle.files.items():
        target = _inside(run_dir, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(content)
        os.replace(partial, target)
        if name != ARCHIVE_NAME:
            logs.append(target)
    archive = run_dir / ARCHIVE_NAME
    if bundle.shared_archive is not None:
        partial = run_dir / (ARCHIVE_NAME + ".partial")
        try:
            shutil.copyfile(bundle.shared_archive, partial)
        except OSError as exc:
            raise WorkError(
                f"run {bundle.run_id}: its archive on the shared folder cannot be read: "
                f"{exc.strerror or exc}",
                hint="--shared-dir must name the same storage on the workers and this machine",
            ) from None
        os.replace(partial, archive)
        Path(bundle.shared_archive).unlink(missing_ok=True)
    archive_entry = (bundle.record or {}).get("archive") or {}
    expected = archive_entry.get("sha256")
    if expected is not None:
        actual = hashlib.sha256(archive.read_bytes()).hexdigest() if archive.exists() else None
        if actual != expected:
            raise WorkError(
                f"run {bundle.run_id}: the workspace archive that came back does not match the "
                f"sha256 its worker recorded ({expected[:12]}…, got {(actual or 'none')[:12]}…)"
            )
        if archive_entry.get("kept_workspace"):
            _extract(archive, run_dir)
    return logs


def _extract(archive: Path, run_dir: Path) -> None:
    """The archive's workspace/ into run_dir (the --keep-workspaces folder of a local run)."""
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            _inside(run_dir, member.name)  # archive_workspace writes plain files under workspace/
            if not member.isfile():
                raise WorkError(
                    f"a workspace archive holds something else than a file: {member.name!r}"
                )
        tar.extractall(run_dir, members=members)


def _inside(run_dir: Path, name: str) -> Path:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise WorkError(f"a run bundle names a file outside its run folder: {name!r}")
    return run_dir.joinpath(*relative.parts)
