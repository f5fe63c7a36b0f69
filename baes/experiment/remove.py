"""`baes rm`: delete an experiment's folder and its registry entry, never while it is being run.

The folder is first renamed to a hidden name under the root (one atomic step), then deleted: an
interrupted removal leaves no half experiment that `baes list` would show, only a hidden folder
that the next removal of the same name does not trip over.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from baes.engine.run_lock import ExperimentBusyError, RunLock
from baes.errors import InputError, WorkError
from baes.experiment.registry import registry_for
from baes.store.errors import ExperimentNotFoundError
from baes.store.manifest import Manifest
from baes.store.paths import ExperimentPaths, validate_name

# Hidden (leading dot) so that no listing counts it; NAME_RE never matches it.
TRASH_PREFIX = ".rm-"


@dataclass(frozen=True)
class Removal:
    """What `remove_experiment` deleted."""

    name: str
    path: str
    runs: int


class ExperimentRunningError(WorkError):
    """A `baes run` holds the experiment's run lock (exit 1: try again once it is done)."""


def experiment_folder(root: Path, name: str) -> ExperimentPaths:
    """The paths of an existing experiment, the folder checked to be a real folder inside the
    root (not a symlink to elsewhere); ExperimentNotFoundError or InputError otherwise."""
    paths = ExperimentPaths(root, validate_name(name))
    folder = paths.dir
    if folder.is_symlink():
        raise InputError(
            f"{folder} is a symbolic link; baes rm deletes only folders inside the root",
            hint="remove the link by hand (rm, not rm -r) if that is what you want",
        )
    if not (folder.is_dir() and paths.config.is_file()):
        raise ExperimentNotFoundError(
            f"no experiment {name!r} under {root}", hint="`baes list` shows the experiments there"
        )
    if folder.resolve().parent != root.resolve():
        raise InputError(f"{folder} is not inside the root {root}")
    return paths


def remove_experiment(root: Path, name: str) -> Removal:
    """Delete experiment `name` (its folder, runs and analyses) and its registry entry.

    ExperimentRunningError while a `baes run` holds it: the run lock is taken for the whole
    removal, so no run can start meanwhile either.
    """
    paths = experiment_folder(root, name)
    lock = RunLock(paths.run_lock, name)
    try:
        lock.acquire()
    except ExperimentBusyError as exc:
        raise ExperimentRunningError(
            exc.message,
            hint="wait for that `baes run` to finish, or stop it (Ctrl-C), then remove it",
        ) from None
    where = str(paths.dir.absolute())
    try:
        runs = len(Manifest(paths).read().runs)
        trash = root / f"{TRASH_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(paths.dir, trash)
        except OSError as exc:
            raise WorkError(f"cannot remove {paths.dir}: {exc.strerror or exc}") from None
        try:
            registry_for(root).remove(name)
        except WorkError as exc:
            # The folder is gone already; the registry is a cache that `baes list` rebuilds
            # from the folders, so the deletion goes on and the problem is reported after it.
            registry_problem: WorkError | None = exc
        else:
            registry_problem = None
    finally:
        lock.release()
    _delete(trash)
    if registry_problem is not None:
        raise WorkError(
            f"experiment {name!r} is deleted, but its registry entry could not be removed "
            f"({registry_problem.message})",
            hint="`baes list` rebuilds the registry from the folders",
        )
    return Removal(name=name, path=where, runs=runs)


def _delete(folder: Path) -> None:
    """Delete a renamed-away folder; symlinks inside are unlinked, never followed."""
    failures: list[str] = []
    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=lambda _f, path, exc: failures.append(f"{path}: {exc}"))
    else:
        shutil.rmtree(folder, onerror=lambda _f, path, info: failures.append(f"{path}: {info[1]}"))
    if failures:
        raise WorkError(
            f"the experiment is removed from the registry, but {len(failures)} file(s) of its "
            f"folder could not be deleted (first: {failures[0]})",
            hint=f"delete {folder} by hand",
        )
