"""The experiment's run lock: one `baes run` per experiment, and who holds it when refused."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import IO, TYPE_CHECKING

from baes.clock import utc_now
from baes.errors import InputError

if TYPE_CHECKING:  # portalocker loads only when a run takes the lock
    import portalocker


class ExperimentBusyError(InputError):
    """Another `baes run` holds this experiment's run lock."""


class RunLock:
    """An exclusive, non-blocking flock on `.meta/run.lock`, released when the process dies."""

    def __init__(self, path: Path, experiment: str):
        self.path = path
        self.experiment = experiment
        self._lock: portalocker.Lock[IO[str]] | None = None

    def acquire(self) -> RunLock:
        import portalocker

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = portalocker.Lock(
            str(self.path),
            mode="a+",
            timeout=0,
            fail_when_locked=True,
            flags=portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING,
        )
        try:
            handle = lock.acquire()
        except portalocker.exceptions.LockException:
            raise ExperimentBusyError(
                f"experiment {self.experiment!r} is already being run by {self._holder()}",
                hint="wait for that `baes run` to finish, or stop it (Ctrl-C) first",
            ) from None
        # Who holds it, for the message above; the lock itself is the flock, not this text.
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": utc_now()})
        )
        handle.flush()
        self._lock = lock
        return self

    def _holder(self) -> str:
        try:
            holder = json.loads(self.path.read_text("utf-8"))
            return f"process {holder['pid']} on {holder['host']} since {holder['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
