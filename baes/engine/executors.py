"""Where runs execute, behind one interface: threads of `baes run`, or a Dask cluster.

The coordinator hands an executor a RunTask (the run's spec and its start record) and gets back
a future of a RunBundle; it persists what comes back, so it stays the single writer of the
experiment's folder whatever executes the runs (engine/run_bundle.py). The Dask executor lives in
engine/dask_executor.py, imported only when asked for (dask is an optional extra).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from baes.clock import utc_now
from baes.engine.one_run import Attributions, RunSpec, StepListener, perform_run
from baes.engine.run_bundle import RunBundle


@dataclass(frozen=True)
class RunTask:
    """One run for an executor: what to execute, and who to tell when a step starts."""

    spec: RunSpec
    start: dict[str, Any]
    on_step: StepListener


class Executor(Protocol):
    """Runs up to `jobs` runs at once and hands back their bundles."""

    kind: str  # run.json's executor.kind

    def submit(self, task: RunTask) -> Future[RunBundle]: ...
    def cancel(self) -> None:
        """Ctrl-C: tell the runs in flight to stop (they end as interrupted records)."""

    def shutdown(self) -> None: ...


def failed_record(start: dict[str, Any], kind: str, message: str) -> dict[str, Any]:
    """A record for a run the harness itself could not carry out (not the framework's failure)."""
    return {
        **start,
        "status": "failed",
        "ended_at": utc_now(),
        "error": {"kind": kind, "message": message},
    }


class LocalThreadExecutor:
    """Runs up to `jobs` runs at once in threads of this process (frameworks are subprocesses or I/O).

    A run writes its folder in place; the bundle carries only its record.
    """

    kind = "local"

    def __init__(
        self,
        jobs: int,
        adapters: dict[str, Any],
        proxy: Attributions,
        cancel: threading.Event,
    ):
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="baes-run")
        self._adapters = adapters
        self._proxy = proxy
        self._cancel = cancel

    def submit(self, task: RunTask) -> Future[RunBundle]:
        return self._pool.submit(self._run, task)

    def _run(self, task: RunTask) -> RunBundle:
        spec = task.spec
        adapter = self._adapters[spec.identity.framework]
        try:
            record = perform_run(spec, task.start, adapter, self._proxy, self._cancel, task.on_step)
        except Exception as exc:  # noqa: BLE001 - a harness bug still ends in a record
            record = failed_record(task.start, "internal", f"{type(exc).__name__}: {exc}")
        return RunBundle(spec.identity.run_id, record)

    def cancel(self) -> None:
        pass  # the runs watch the coordinator's own cancel event

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
