"""`.registry.json`: an index of the experiments under a root, rebuildable from their folders.

The registry is a cache (DESIGN.md, principle 1). A missing, corrupt or stale registry is never
fatal: readers get the problem described and the registry rebuilt from the folders.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baes.store.atomic import atomic_write_json, file_lock
from baes.store.paths import NAME_RE, REGISTRY_FILE, ExperimentPaths

REGISTRY_SCHEMA_VERSION = 1


def utc_now() -> str:
    """Now as ISO-8601 UTC with a Z, the one timestamp format of every baes file.

    E.g. `2026-06-21T10:00:00.123456Z`.
    """
    # isoformat is several times faster than strftime; the proxy calls this twice per LLM call.
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass
class RegistryEntry:
    """What `baes list` shows of one experiment, without opening its folder."""

    name: str
    path: str
    status: str
    model: str | None
    frameworks: list[str]
    runs_completed: int
    runs_target: int | None
    created_at: str | None
    updated_at: str
    config_hash: str | None
    problem: str | None = None
    runs_verified: int = 0  # completed runs whose usage `baes reconcile` verified

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RegistryEntry:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in raw.items() if k in known})


Describer = Callable[[ExperimentPaths], RegistryEntry]


@dataclass
class RegistryView:
    """The entries, sorted by name, and what was wrong with the registry file if anything."""

    entries: list[RegistryEntry]
    problems: list[str] = field(default_factory=list)
    rebuilt: bool = False


class RegistryCorrupt(ValueError):
    """The registry file exists but is not a registry (parse error, wrong shape)."""


class Registry:
    """The registry of one root. `describe` turns an experiment folder into its entry."""

    def __init__(self, root: Path, describe: Describer):
        self.root = root
        self.path = root / REGISTRY_FILE
        self._describe = describe

    # reading ---------------------------------------------------------------------------------

    def _read_file(self) -> dict[str, RegistryEntry]:
        """Entries by name; FileNotFoundError or RegistryCorrupt when unusable."""
        raw = json.loads(self.path.read_text("utf-8")) if self.path.exists() else None
        if raw is None:
            raise FileNotFoundError(self.path)
        if not isinstance(raw, dict) or not isinstance(raw.get("experiments"), dict):
            raise RegistryCorrupt("not a baes registry (no 'experiments' object)")
        try:
            return {name: RegistryEntry.from_json(e) for name, e in raw["experiments"].items()}
        except TypeError as exc:
            raise RegistryCorrupt(f"malformed entry: {exc}") from exc

    def folder_names(self) -> set[str]:
        """Names of the experiment folders on disk (a valid name and a config.yaml inside)."""
        if not self.root.is_dir():
            return set()
        names = set()
        with os.scandir(self.root) as it:
            for item in it:
                if (
                    item.is_dir()
                    and NAME_RE.fullmatch(item.name)
                    and os.path.exists(os.path.join(item.path, "config.yaml"))
                ):
                    names.add(item.name)
        return names

    def view(self) -> RegistryView:
        """All entries; rebuilds (and says why) when the file is missing, corrupt or stale."""
        problems: list[str] = []
        try:
            entries = self._read_file()
        except FileNotFoundError:
            if not self.folder_names():
                return RegistryView(entries=[])
            problems.append(f"registry {self.path} is missing")
            entries = None
        except (RegistryCorrupt, json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"registry {self.path} is corrupt ({exc})")
            entries = None
        if entries is not None:
            on_disk = self.folder_names()
            added, gone = on_disk - entries.keys(), entries.keys() - on_disk
            if added or gone:
                detail = []
                if added:
                    detail.append("not indexed: " + ", ".join(sorted(added)))
                if gone:
                    detail.append("folder gone: " + ", ".join(sorted(gone)))
                problems.append(f"registry {self.path} is out of date ({'; '.join(detail)})")
                entries = None
        if entries is None:
            return RegistryView(entries=self.rebuild(), problems=problems, rebuilt=True)
        return RegistryView(entries=sorted(entries.values(), key=lambda e: e.name))

    # writing ---------------------------------------------------------------------------------

    def _write(self, entries: dict[str, RegistryEntry]) -> None:
        atomic_write_json(
            self.path,
            {
                "schema_version": REGISTRY_SCHEMA_VERSION,
                "experiments": {n: entries[n].to_json() for n in sorted(entries)},
            },
        )

    def _describe_safely(self, name: str) -> RegistryEntry:
        paths = ExperimentPaths(self.root, name)
        try:
            return self._describe(paths)
        except Exception as exc:  # noqa: BLE001 - one broken folder must not hide the others
            return RegistryEntry(
                name=name,
                path=name,
                status="broken",
                model=None,
                frameworks=[],
                runs_completed=0,
                runs_target=None,
                created_at=None,
                updated_at=utc_now(),
                config_hash=None,
                problem=f"{type(exc).__name__}: {exc}",
            )

    def rebuild(self) -> list[RegistryEntry]:
        """Re-index every experiment folder under the root; returns the entries sorted by name."""
        with file_lock(self.path):
            entries = {name: self._describe_safely(name) for name in self.folder_names()}
            self._write(entries)
        return sorted(entries.values(), key=lambda e: e.name)

    def refresh(self, name: str) -> RegistryEntry:
        """Re-describe one experiment from its folder and store its entry (under the lock)."""
        with file_lock(self.path):
            try:
                entries = self._read_file()
            except (FileNotFoundError, RegistryCorrupt, json.JSONDecodeError, UnicodeDecodeError):
                entries = {n: self._describe_safely(n) for n in self.folder_names()}
            entry = self._describe_safely(name)
            entries[name] = entry
            self._write(entries)
        return entry

    def remove(self, name: str) -> None:
        with file_lock(self.path):
            try:
                entries = self._read_file()
            except (FileNotFoundError, RegistryCorrupt, json.JSONDecodeError, UnicodeDecodeError):
                entries = {n: self._describe_safely(n) for n in self.folder_names()}
            entries.pop(name, None)
            self._write(entries)
