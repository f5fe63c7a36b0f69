"""`.registry.json`: an index of the experiments under a root, rebuildable from their folders.

The registry is a cache (docs/architecture.md, principle 1). A missing, corrupt or stale registry is never
fatal: readers get the problem described and the registry rebuilt from the folders.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from baes.clock import utc_now
from baes.errors import WorkError
from baes.records.errors import NewerRecordError
from baes.store.atomic import atomic_write_json, file_lock, remove_stale_temp_files
from baes.store.paths import NAME_RE, REGISTRY_FILE, ExperimentPaths

REGISTRY_SCHEMA_VERSION = 1  # baes.records.registry.RegistryRecord (a test keeps them equal)


@dataclass
class RegistryEntry:
    """What `baes list` shows of one experiment, without opening its folder.

    The contract is the typed record baes.records.registry.ExperimentEntry (its fields, in this
    order; a test keeps the two equal), through which every write goes. Reading does not use it:
    importing pydantic would cost `baes list` about 0.1 s of its 0.35 s budget, so entries are
    checked here against the same field types.
    """

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
    # The stamps of the files the entry was described from (see source_stamps): `baes list`
    # re-describes an experiment whose files changed since, without opening the others.
    sources: dict[str, list[int] | None] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> RegistryEntry:
        """The entry stored as `raw`; MalformedEntry saying what is wrong when it is not one."""
        if not isinstance(raw, dict):
            raise MalformedEntry(f"a {type(raw).__name__}, not an object")
        for key, kinds in _ENTRY_FIELD_TYPES.items():
            if key not in raw:
                if key in _REQUIRED_FIELDS:
                    raise MalformedEntry(f"no {key!r}")
                continue
            value = raw[key]
            # bool is an int to isinstance; no field of an entry is a boolean
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise MalformedEntry(f"{key!r} is {type(value).__name__} {value!r:.40}")
        if not all(isinstance(f, str) for f in raw["frameworks"]):
            raise MalformedEntry("'frameworks' is not a list of names")
        return cls(**{k: raw[k] for k in _ENTRY_FIELD_TYPES if k in raw})


class MalformedEntry(ValueError):
    """A registry entry that is not what RegistryEntry.to_json writes."""


_NONE = type(None)
_ENTRY_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "path": (str,),
    "status": (str,),
    "model": (str, _NONE),
    "frameworks": (list,),
    "runs_completed": (int,),
    "runs_target": (int, _NONE),
    "created_at": (str, _NONE),
    "updated_at": (str,),
    "config_hash": (str, _NONE),
    "problem": (str, _NONE),
    "runs_verified": (int,),
    "sources": (dict, _NONE),
}
_REQUIRED_FIELDS = {"name", "path", "status", "frameworks", "runs_completed", "updated_at"}
_REQUIRED_FIELDS |= {"model", "runs_target", "created_at", "config_hash"}

# The files an entry is derived from, relative to the experiment folder.
SOURCE_FILES = (
    "config.yaml",
    ".meta/config.hash",
    ".meta/experiment.json",
    ".meta/run-progress.json",
    "runs/manifest.json",
)


def source_stamps(folder: str) -> dict[str, list[int] | None]:
    """inode, size and mtime (ns) of each source file of the experiment in `folder` (None: absent).

    Every baes write replaces a file (a new inode) and editors change its mtime, so an entry whose
    stamps still match describes the folder as it is. A few stat calls per experiment keep
    `baes list` fast where re-describing would parse every config.yaml.
    """
    stamps: dict[str, list[int] | None] = {}
    for relative in SOURCE_FILES:
        try:
            st = os.stat(os.path.join(folder, relative))
        except OSError:
            stamps[relative] = None
        else:
            stamps[relative] = [st.st_ino, st.st_size, st.st_mtime_ns]
    return stamps


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

    def _read_file(self) -> tuple[dict[str, RegistryEntry], dict[str, str]]:
        """Entries by name, and what is wrong with each malformed entry (by name).

        FileNotFoundError or RegistryCorrupt when the file as a whole is unusable.
        """
        raw = json.loads(self.path.read_text("utf-8")) if self.path.exists() else None
        if raw is None:
            raise FileNotFoundError(self.path)
        if not isinstance(raw, dict) or not isinstance(raw.get("experiments"), dict):
            raise RegistryCorrupt("not a baes registry (no 'experiments' object)")
        version = raw.get("schema_version")
        if version != REGISTRY_SCHEMA_VERSION:
            # Entries are checked one by one below (one malformed entry is re-described, the
            # others kept), so the version is checked here rather than by the file's model.
            if isinstance(version, int) and version > REGISTRY_SCHEMA_VERSION:
                raise NewerRecordError(
                    f"registry {self.path} has schema_version {version}, written by a newer "
                    f"baes (this baes reads up to {REGISTRY_SCHEMA_VERSION})",
                    hint="upgrade baes (pip install -U baes)",
                )
            raise RegistryCorrupt(f"unknown schema_version {version!r}")
        entries: dict[str, RegistryEntry] = {}
        malformed: dict[str, str] = {}
        for name, value in raw["experiments"].items():
            try:
                entries[name] = RegistryEntry.from_json(value)
                if entries[name].name != name:
                    raise MalformedEntry(f"it names {entries.pop(name).name!r}")
            except MalformedEntry as exc:
                malformed[name] = str(exc)
        return entries, malformed

    def _entries_or_rebuilt(self) -> dict[str, RegistryEntry]:
        """For writers holding the lock: the stored entries, re-described where unusable."""
        try:
            entries, malformed = self._read_file()
        except (FileNotFoundError, RegistryCorrupt, json.JSONDecodeError, UnicodeDecodeError):
            return {n: self._describe_safely(n) for n in self.folder_names()}
        for name in malformed.keys() & self.folder_names():
            entries[name] = self._describe_safely(name)
        return entries

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
        """All entries; rebuilds (and says why) when the file is missing, corrupt or out of date,
        re-describes (and says why) a malformed entry, and quietly re-describes an entry whose
        folder changed since it was described."""
        problems: list[str] = []
        malformed: dict[str, str] = {}
        try:
            entries, malformed = self._read_file()
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
            for name in sorted(malformed.keys() & on_disk):
                problems.append(
                    f"registry {self.path}: the entry of {name!r} is malformed ({malformed[name]})"
                )
            known = entries.keys() | (malformed.keys() & on_disk)
            added, gone = on_disk - known, entries.keys() - on_disk
            if added or gone:
                detail = []
                if added:
                    detail.append("not indexed: " + ", ".join(sorted(added)))
                if gone:
                    detail.append("folder gone: " + ", ".join(sorted(gone)))
                problems.append(f"registry {self.path} is out of date ({'; '.join(detail)})")
                entries = None
        if entries is None:
            try:
                return RegistryView(entries=self.rebuild(), problems=problems, rebuilt=True)
            except WorkError as exc:  # e.g. a read-only root: list from the folders all the same
                problems.append(f"cannot update the registry ({exc.message})")
                entries = {n: self._describe_safely(n) for n in self.folder_names()}
                return RegistryView(
                    entries=sorted(entries.values(), key=lambda e: e.name),
                    problems=problems,
                    rebuilt=True,
                )
        # Entries whose folder changed since they were described (config.yaml edited, a run
        # recorded by another command, a cache rewritten) are described again.
        stale = [name for name, entry in entries.items() if not self._is_current(entry)]
        stale.extend(malformed.keys() & on_disk)
        if stale:
            try:
                entries.update(self.refresh_many(stale))
            except WorkError as exc:
                problems.append(f"cannot update the registry ({exc.message})")
                entries.update({n: self._describe_safely(n) for n in stale})
        return RegistryView(
            entries=sorted(entries.values(), key=lambda e: e.name),
            problems=problems,
            rebuilt=bool(malformed),
        )

    def _is_current(self, entry: RegistryEntry) -> bool:
        return entry.sources == source_stamps(os.path.join(self.root, entry.name))

    # writing ---------------------------------------------------------------------------------

    def _write(self, entries: dict[str, RegistryEntry]) -> None:
        from baes.records.registry import RegistryRecord

        record = RegistryRecord.model_validate(
            {"experiments": {n: entries[n].to_json() for n in sorted(entries)}}
        )
        atomic_write_json(self.path, record.model_dump(mode="json"))
        remove_stale_temp_files(self.path)  # every writer holds the lock: older ones were killed

    def _describe_safely(self, name: str) -> RegistryEntry:
        paths = ExperimentPaths(self.root, name)
        # Stamped before describing: a change made meanwhile makes the entry stale, not lost.
        stamps = source_stamps(str(paths.dir))
        try:
            entry = self._describe(paths)
        except Exception as exc:  # noqa: BLE001 - one broken folder must not hide the others
            entry = RegistryEntry(
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
                problem=getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}",
            )
        entry.sources = stamps
        return entry

    def rebuild(self) -> list[RegistryEntry]:
        """Re-index every experiment folder under the root; returns the entries sorted by name."""
        with file_lock(self.path):
            entries = {name: self._describe_safely(name) for name in self.folder_names()}
            self._write(entries)
        return sorted(entries.values(), key=lambda e: e.name)

    def refresh(self, name: str) -> RegistryEntry:
        """Re-describe one experiment from its folder and store its entry (under the lock)."""
        return self.refresh_many([name])[name]

    def refresh_many(self, names: list[str]) -> dict[str, RegistryEntry]:
        """Re-describe these experiments and store their entries in one write (under the lock)."""
        with file_lock(self.path):
            entries = self._entries_or_rebuilt()
            fresh = {name: self._describe_safely(name) for name in names}
            entries.update(fresh)
            self._write(entries)
        return fresh

    def remove(self, name: str) -> None:
        with file_lock(self.path):
            entries = self._entries_or_rebuilt()
            entries.pop(name, None)
            self._write(entries)
