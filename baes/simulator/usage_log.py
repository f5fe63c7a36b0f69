"""The simulator's usage records on disk, so that its usage endpoint outlives the process.

A real provider keeps its own record of every billed call, independent of the caller's metering.
A simulator given a usage log does the same: each recorded call is appended as one JSON line, and
the usage endpoint reads the file back. Several simulators may share one file (two `baes run` of
one experiments root, a `baes reconcile` started later): like one organisation's usage, they all
see every call, whichever process served it.

Appends are single `os.write` calls on an O_APPEND descriptor under an exclusive portalocker
lock (the ledger's discipline, `baes.llm.ledger`), so lines from concurrent processes never
interleave. Readers need no lock: they consume only complete lines and keep their offset, so a
line being written is read on the next query.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import portalocker

from baes.errors import WorkError
from baes.simulator.usage_store import SIM_PROJECT_ID, RecordedCall
from baes.store.append_only import append_line

log = logging.getLogger(__name__)

SIMULATOR_DIR = ".simulator"
USAGE_LOG_NAME = "usage.jsonl"


class UsageLogError(WorkError):
    """The simulator could not append to its usage log (disk full, permissions)."""


def root_usage_log(root: Path) -> Path:
    """The usage log of the simulators of an experiments root: `<root>/.simulator/usage.jsonl`.

    The leading dot keeps it from ever being taken for an experiment folder.
    """
    return Path(root) / SIMULATOR_DIR / USAGE_LOG_NAME


def call_to_json(call: RecordedCall) -> dict[str, Any]:
    """A recorded call as the plain JSON object stored in the log (no secrets: key ids only)."""
    return {
        "timestamp": call.timestamp,
        "api_key_id": call.api_key_id,
        "model": call.model,
        "input_tokens": call.input_tokens,
        "cached_tokens": call.cached_tokens,
        "output_tokens": call.output_tokens,
        "endpoint": call.endpoint,
        "stream": call.stream,
        "defect": call.defect,
        "project_id": call.project_id,
    }


def call_from_json(raw: Any) -> RecordedCall:
    """Parse one stored line; ValueError when it is not a recorded call."""
    if not isinstance(raw, dict):
        raise ValueError("line is not a JSON object")
    try:
        return RecordedCall(
            timestamp=float(raw["timestamp"]),
            api_key_id=str(raw["api_key_id"]),
            model=str(raw["model"]),
            input_tokens=int(raw["input_tokens"]),
            cached_tokens=int(raw["cached_tokens"]),
            output_tokens=int(raw["output_tokens"]),
            endpoint=str(raw["endpoint"]),
            stream=bool(raw["stream"]),
            defect=raw.get("defect"),
            project_id=str(raw.get("project_id") or SIM_PROJECT_ID),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a recorded call: {exc}") from None


class UsageLog:
    """One usage log file: append calls, read every call any simulator appended so far."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._identity: tuple[int, int] | None = None
        self._offset = 0
        self._calls: list[RecordedCall] = []

    def append(self, call: RecordedCall) -> None:
        """Append one call as one line, visible to every reader of the file once this returns."""
        data = (json.dumps(call_to_json(call), separators=(",", ":")) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageLogError(
                f"cannot open the simulator's usage log {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            with self._lock:  # flock does not exclude this process's other threads
                append_line(fd, data)
        except (OSError, portalocker.LockException) as exc:
            raise UsageLogError(f"cannot append to {self.path}: {exc}") from None
        finally:
            os.close(fd)  # closing releases the lock

    def calls(self) -> list[RecordedCall]:
        """Every call in the file, oldest first; reads only what was appended since last time."""
        with self._lock:
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                self._reset(None)
                return []
            identity = (stat.st_dev, stat.st_ino)
            if identity != self._identity or stat.st_size < self._offset:
                self._reset(identity)  # replaced or truncated: start over
            if stat.st_size > self._offset:
                self._read_from(self._offset, stat.st_size)
            return list(self._calls)

    def _reset(self, identity: tuple[int, int] | None) -> None:
        self._identity, self._offset, self._calls = identity, 0, []

    def _read_from(self, offset: int, size: int) -> None:
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(size - offset)
        complete = data.rfind(b"\n") + 1  # a line still being written is read next time
        for raw in data[:complete].split(b"\n"):
            if not raw.strip():
                continue
            try:
                self._calls.append(call_from_json(json.loads(raw)))
            except (ValueError, UnicodeDecodeError) as exc:
                log.warning("simulator usage log %s: skipped a damaged line (%s)", self.path, exc)
        self._offset = offset + complete
