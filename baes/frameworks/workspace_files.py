"""The workspace as the reference agent shows it to the model, and writing its answer back.

What is shown is bounded so that a prompt stays a prompt: text files only, at most
MAX_FILE_BYTES each and MAX_TOTAL_BYTES together. Dot-directories (.git, .venv…), bytecode
caches, SQLite databases and binaries are state, not source, and are left out.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_FILE_BYTES = 100_000  # a bigger file is data or generated output, not code to edit
MAX_TOTAL_BYTES = 400_000  # keeps a step's prompt far below any current context window
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules"})
SKIPPED_SUFFIXES = frozenset({".db", ".sqlite", ".sqlite3", ".pyc", ".pyo", ".so", ".log"})


class UnsafeWritePathError(ValueError):
    """A file the model wrote would land outside the workspace."""


def text_files(workspace: Path) -> dict[str, str]:
    """The workspace's text files, relative POSIX path -> content, sorted by path, within the limits."""
    files: dict[str, str] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(workspace):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if filename.startswith(".") or path.suffix.lower() in SKIPPED_SUFFIXES:
                continue
            if path.is_symlink() or not path.is_file():
                continue
            size = path.stat().st_size
            if size > MAX_FILE_BYTES or total + size > MAX_TOTAL_BYTES:
                continue
            content = _text_or_none(path)
            if content is None:
                continue
            files[path.relative_to(workspace).as_posix()] = content
            total += size
    return files


def _text_or_none(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def write_files(workspace: Path, files: dict[str, str]) -> list[str]:
    """Write each file under `workspace` (creating folders); returns the paths written.

    Every path is checked before anything is written, so a refused answer leaves the workspace
    as it was. UnsafeWritePathError for an absolute path, `..`, or a symlink leading out.
    """
    root = workspace.resolve()
    targets: list[tuple[Path, str]] = []
    for relative, content in files.items():
        if Path(relative).is_absolute():
            raise UnsafeWritePathError(f"file path {relative!r} is absolute")
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or target == root:
            raise UnsafeWritePathError(f"file path {relative!r} leaves the workspace")
        targets.append((target, content))
    for target, content in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return list(files)
