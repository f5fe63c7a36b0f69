"""Create an experiment folder from a validated design, atomically, and register it."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from baes import __version__
from baes.clock import utc_now
from baes.config.canonical import design_hash
from baes.config.models import ExperimentConfig
from baes.config.yaml_io import dump_design
from baes.errors import WorkError
from baes.experiment.readme import experiment_readme
from baes.experiment.registry import registry_for
from baes.store.atomic import STALE_TEMP_AGE_S, atomic_write_json, atomic_write_text
from baes.store.errors import ExperimentExistsError
from baes.store.manifest import write_empty_manifest
from baes.store.paths import ExperimentPaths


def _exists_error(name: str) -> ExperimentExistsError:
    return ExperimentExistsError(
        f"experiment {name!r} already exists",
        hint=f"choose another name, or start from its design: baes new NEW_NAME --from {name}",
    )


STAGING_PREFIX = ".new-"


def remove_stale_staging(
    root: Path, own: Path, older_than_s: float = STALE_TEMP_AGE_S
) -> list[Path]:
    """Delete the staging folders of `baes new`s killed before they finished; returns them.

    A `baes new` fills its staging folder within milliseconds, so one untouched for longer than
    `older_than_s` belongs to no live process. Ages are measured against the modification time
    of our own staging folder `own`, just created: the file system's clock, which on a network
    share may differ from ours.
    """
    removed: list[Path] = []
    with contextlib.suppress(OSError):  # an unreadable root: nothing we could clean
        cutoff = own.stat().st_mtime - older_than_s
        with os.scandir(root) as entries:
            stale = [
                entry
                for entry in entries
                if entry.name.startswith(STAGING_PREFIX)
                and entry.path != str(own)
                and entry.is_dir(follow_symlinks=False)
                and entry.stat().st_mtime < cutoff
            ]
        for entry in stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def create_experiment(root: Path, config: ExperimentConfig) -> ExperimentPaths:
    """Write config.yaml, the hash, README.md and an empty manifest, then register the experiment.

    The folder is built under a temporary name and renamed into place, so a crash leaves either
    no experiment or a complete one.
    """
    paths = ExperimentPaths(root, config.name)
    if paths.dir.exists():
        raise _exists_error(config.name)
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{config.name}.", dir=root))
    except OSError as exc:
        raise WorkError(
            f"cannot create the experiments root {root}: {exc.strerror or exc}"
        ) from exc
    try:
        remove_stale_staging(root, staging)
        layout = ExperimentPaths(root, config.name, staging_dir=staging)
        config_hash = design_hash(config)
        created_at = utc_now()
        atomic_write_text(
            layout.config, dump_design(config, header=_HEADER.format(name=config.name))
        )
        atomic_write_text(layout.config_hash, config_hash + "\n")
        atomic_write_json(
            layout.experiment_meta,
            {"schema_version": 1, "created_at": created_at, "created_with": f"baes {__version__}"},
        )
        atomic_write_text(layout.readme, experiment_readme(config, config_hash, paths, created_at))
        write_empty_manifest(layout.manifest)
        layout.analysis_dir.mkdir()
        try:
            # rename(2) refuses a non-empty target: of two concurrent creators, one wins cleanly.
            os.rename(staging, paths.dir)
        except OSError as exc:
            if paths.dir.exists():
                raise _exists_error(config.name) from exc
            raise WorkError(f"cannot create {paths.dir}: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            with contextlib.suppress(OSError):
                shutil.rmtree(staging)
    registry_for(root).refresh(config.name)
    return paths


_HEADER = (
    "baes experiment design for {name}. This file is frozen: its hash is in .meta/config.hash and\n"
    "`baes run`/`baes analyze` refuse it once edited. Every field is documented in\n"
    "docs/configuration.md; `baes schema` prints the JSON Schema for editors."
)
