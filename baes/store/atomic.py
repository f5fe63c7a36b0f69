"""Atomic writes (temp file, fsync, os.replace) and the file locks around shared files."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from baes.errors import WorkError
from baes.store.errors import LockTimeoutError

DEFAULT_LOCK_TIMEOUT_S = 30.0


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a mix."""
    tmp: Path | None = None
    try:
        # Inside the try: a read-only or full disk fails here already, and the error must name
        # `path`, not the temp file that was never made.
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise WorkError(f"could not write {path}: {exc.strerror or exc}") from exc
    _fsync_dir(path.parent)


# A temp file older than this is a leftover of a killed writer: an atomic write of ours lasts
# milliseconds. Only the command that owns a file (holds its lock) removes its leftovers.
STALE_TEMP_AGE_S = 60.0


def remove_stale_temp_files(
    path: Path, clock: Path | None = None, older_than_s: float = STALE_TEMP_AGE_S
) -> list[Path]:
    """Delete the temp files that atomic writes of `path` left behind when killed; returns them.

    Call only while owning `path` (holding its lock), right after writing `clock` (default:
    `path`): its modification time is "now" by the file system's clock, which on a network share
    may differ from ours.
    """
    removed: list[Path] = []
    try:
        cutoff = (clock or path).stat().st_mtime - older_than_s
        with os.scandir(path.parent) as entries:
            stale = [
                entry
                for entry in entries
                if entry.name.startswith(f".{path.name}.")
                and entry.name.endswith(".tmp")
                and entry.is_file(follow_symlinks=False)
                and entry.stat().st_mtime < cutoff
            ]
    except OSError:
        return removed  # nothing written, or an unreadable folder: nothing of ours to clean
    for entry in stale:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def rewrite_text_file(path: Path, transform: Callable[[str], str]) -> bool:
    """Rewrite a text file through `transform`, atomically; whether it changed (False if absent).

    Undecodable bytes are kept as they are (surrogateescape), so a binary log is not mangled.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return False
    text = raw.decode("utf-8", errors="surrogateescape")
    rewritten = transform(text)
    if rewritten == text:
        return False
    atomic_write_bytes(path, rewritten.encode("utf-8", errors="surrogateescape"))
    return True


def lock_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def file_lock(path: Path, timeout_s: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path`'s sibling `.lock` file; LockTimeoutError after `timeout_s`."""
    if timeout_s is None:
        timeout_s = float(os.environ.get("BAES_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_S))
    import portalocker  # imported here: it costs ~0.1 s and `baes list` rarely needs a lock

    lock_file = lock_path_for(path)
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkError(f"cannot lock {path}: {exc.strerror or exc}") from exc
    lock = portalocker.Lock(
        str(lock_file),
        mode="a",
        timeout=timeout_s,
        check_interval=0.02,
        flags=portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING,
    )
    try:
        lock.acquire()
    except OSError as exc:  # the lock file cannot be created (read-only folder, a dir there)
        raise WorkError(f"cannot lock {path}: {exc.strerror or exc}") from exc
    except portalocker.exceptions.LockException as exc:
        raise LockTimeoutError(
            f"timed out after {timeout_s:g} s waiting for the lock on {path}",
            hint="another baes command is writing it; wait for it to finish and try again "
            "(set BAES_LOCK_TIMEOUT to wait longer)",
        ) from exc
    try:
        yield
    finally:
        lock.release()


def is_locked(path: Path) -> bool:
    """True while another process holds an exclusive lock on `path` itself (e.g. the run lock)."""
    import portalocker

    if not path.exists():
        return False
    try:
        with portalocker.Lock(
            str(path),
            mode="a",
            timeout=0,
            fail_when_locked=True,
            flags=portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING,
        ):
            return False
    except portalocker.exceptions.LockException:
        return True
