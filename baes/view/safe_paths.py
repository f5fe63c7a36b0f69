"""Resolving what a URL names to a file inside the root, and nothing outside it."""

from __future__ import annotations

from pathlib import Path

from baes.store.paths import NAME_RE


class NotServed(Exception):
    """The URL names something the viewer does not serve (missing, outside the root, a bad name)."""


def checked_name(value: str, what: str) -> str:
    """`value` if it is a valid baes name (no '/', no '..', no leading dot), else NotServed."""
    if not NAME_RE.fullmatch(value):
        raise NotServed(f"no such {what}")
    return value


def inside(base: Path, relative: str, root: Path, suffixes: frozenset[str]) -> Path:
    """The existing file `base`/`relative`, resolved, if it stays inside both `base` and `root`
    (so neither '..' nor a symlink leads out) and has one of `suffixes`; else NotServed."""
    if not relative or "\\" in relative or "\x00" in relative:
        raise NotServed("no such file")
    parts = relative.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        raise NotServed("no such file")
    try:
        base_resolved = base.resolve(strict=True)
        target = (base / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        raise NotServed("no such file") from None
    root_resolved = root.resolve()
    if not (target.is_relative_to(base_resolved) and target.is_relative_to(root_resolved)):
        raise NotServed("no such file")
    if target.suffix.lower() not in suffixes or not target.is_file():
        raise NotServed("no such file")
    return target


def folder_inside_root(folder: Path, root: Path) -> Path:
    """`folder` resolved if it exists and stays inside `root` (a symlink out is refused)."""
    try:
        resolved = folder.resolve(strict=True)
    except (OSError, RuntimeError):
        raise NotServed("no such folder") from None
    if not resolved.is_relative_to(root.resolve()) or not resolved.is_dir():
        raise NotServed("no such folder")
    return resolved
