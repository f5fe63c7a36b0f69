"""Archiving a run's workspace as workspace.tar.gz with its sha256."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

from baes.errors import WorkError

ARCHIVE_NAME = "workspace.tar.gz"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def archive_workspace(workspace: Path, run_dir: Path, keep_workspace: bool) -> dict[str, Any]:
    """Pack `workspace` into run_dir/workspace.tar.gz; remove the folder unless asked to keep it.

    Returns run.json's `archive` block: path, sha256, bytes, files, kept_workspace.
    """
    target = run_dir / ARCHIVE_NAME
    partial = run_dir / (ARCHIVE_NAME + ".partial")
    files = 0
    try:
        # compresslevel 6: nearly the size of 9 at a fraction of the time; runs archive often.
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            for path in sorted(workspace.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    tar.add(
                        path,
                        arcname=str(Path("workspace") / path.relative_to(workspace)),
                        recursive=False,
                    )
                    files += 1
        with open(partial, "rb+") as raw:
            os.fsync(raw.fileno())
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise WorkError(f"could not archive {workspace}: {exc.strerror or exc}") from exc
    if not keep_workspace:
        shutil.rmtree(workspace, ignore_errors=True)
    return {
        "path": ARCHIVE_NAME,
        "sha256": _sha256(target),
        "bytes": target.stat().st_size,
        "files": files,
        "kept_workspace": keep_workspace,
    }
