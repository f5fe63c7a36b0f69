"""`baes run --executor dask`: runs execute on a Dask cluster; the coordinator keeps the rest.

The coordinator opens each run's per-step proxy URLs before submitting it, so a worker gets URLs
and never a key; the ledger, the budget and every file of the experiment stay on the
coordinator's machine. A worker lost mid-run is reported as a bundle without record (WORKER_LOST);
a task Dask re-runs after such a loss refuses to execute again (engine/dask_worker.py), so no run
is executed or counted twice.

dask and distributed are an optional extra, imported only here and only when asked for.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baes.engine.dask_worker import CLAIMS, WorkerJob, ready_for_runs, run_job
from baes.engine.executors import RunTask, failed_record
from baes.engine.run_bundle import WORKER_LOST, RunBundle
from baes.engine.run_record import step_label
from baes.errors import InputError, WorkError
from baes.store.paths import LEDGER_FILE

INSTALL_COMMAND = "pip install 'baes[dask]'"
DEFAULT_LOCAL_WORKERS = 2


@dataclass(frozen=True)
class DaskSettings:
    """Where the cluster is: an existing scheduler, or a LocalCluster of `workers` processes."""

    scheduler: str | None = None
    workers: int | None = None
    shared_dir: Path | None = None  # storage the workers and this machine both see


def require_distributed() -> Any:
    """The `distributed` module; InputError with the install command when it is missing."""
    try:
        import distributed
    except ImportError:
        raise InputError(
            "--executor dask needs the optional packages dask and distributed, not installed here",
            hint=f"install them with: {INSTALL_COMMAND}",
        ) from None
    return distributed


@contextlib.contextmanager
def _environment_without(names: Collection[str]) -> Iterator[None]:
    """Worker processes started meanwhile do not inherit these variables (the provider's key:
    the proxy already holds it, and workers only ever get per-run proxy URLs)."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class DaskExecutor:
    """Submits each run as one Dask task and relays its bundle as a concurrent future."""

    kind = "dask"

    def __init__(
        self,
        settings: DaskSettings,
        jobs: int,
        proxy: Any,
        withheld_env: Collection[str],
        notify: Callable[[str], None],
    ):
        distributed = require_distributed()
        self._proxy = proxy
        self._settings = settings
        self._session = secrets.token_hex(8)
        self._cluster = None
        self._open: dict[str, list[str]] = {}  # run id → its proxy URLs, closed when it ends
        self._on_step: dict[str, Callable[[str, int, str], None]] = {}
        self._futures: dict[str, Any] = {}
        if settings.scheduler is not None:
            try:
                self._client = distributed.Client(settings.scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"cannot connect to the Dask scheduler at {settings.scheduler}: {exc}",
                    hint="start one with `dask scheduler` and give the address it prints",
                ) from None
        else:
            import dask

            workers = settings.workers or DEFAULT_LOCAL_WORKERS
            # A worker that dies fails its run at once (KilledWorker) instead of being re-run.
            config = {"distributed.scheduler.allowed-failures": 0}
            with dask.config.set(config), _environment_without(withheld_env):
                self._cluster = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=max(1, math.ceil(jobs / workers)),
                    processes=True,
                    dashboard_address="127.0.0.1:0",  # its HTTP routes: loopback only
                    # Workers its nannies restart later, once the variables are back, get them
                    # emptied.
                    env={name: "" for name in withheld_env},
                )
            self._client = distributed.Client(self._cluster)
        try:
            self._check_workers(notify)
            self._client.subscribe_topic(f"baes-progress-{self._session}", self._on_event)
        except BaseException:
            self.shutdown()
            raise

    def _check_workers(self, notify: Callable[[str], None]) -> None:
        """Every connected worker must reach the metering proxy, or each of its runs would fail."""
        url = self._proxy.url
        notify(f"Dask workers call the metering proxy at {url}")
        answers = self._client.run(ready_for_runs, url)
        if not answers:
            notify(f"no Dask worker is connected to {self._settings.scheduler} yet; runs wait")
        unreachable = {worker: why for worker, why in answers.items() if why is not None}
        if unreachable:
            worker, why = next(iter(unreachable.items()))
            raise InputError(
                f"{len(unreachable)} Dask worker(s) cannot reach the metering proxy at {url} "
                f"(e.g. {worker}: {why})",
                hint="give --proxy-host an address of this machine the workers can reach "
                "(see docs/distributed.md)",
            )

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        message = event[1]
        run_id = message.get("run_id")
        listener = self._on_step.get(run_id) if isinstance(run_id, str) else None
        if listener is not None:
            listener(message["run_id"], message["index"], message["step"])

    def submit(self, task: RunTask) -> Future[RunBundle]:
        spec = task.spec
        run_id = spec.identity.run_id
        ledger = spec.run_dir / LEDGER_FILE
        urls = {}
        for index, step in enumerate(spec.design.scenario.steps, start=1):
            label = step_label(index, step.id)
            # The run's seed travels with its calls through the proxy, as for a local run.
            urls[label] = self._proxy.open_attribution(run_id, label, ledger, seed=spec.seed)
        self._open[run_id] = list(urls.values())
        self._on_step[run_id] = task.on_step
        job = WorkerJob(
            session=self._session,
            identity=spec.identity,
            design=spec.design,
            start=task.start,
            step_urls=urls,
            keep_workspace=spec.keep_workspace,
            seed=spec.seed,
            shared_dir=str(self._settings.shared_dir) if self._settings.shared_dir else None,
        )
        relay: Future[RunBundle] = Future()
        future = self._client.submit(run_job, job, key=f"baes-run-{run_id}", pure=False, retries=0)
        self._futures[run_id] = future
        future.add_done_callback(lambda done: self._relay(done, relay, task))
        return relay

    def _relay(self, done: Any, relay: Future[RunBundle], task: RunTask) -> None:
        """Called in Dask's callback thread when a task ends, however it ended.

        The run's proxy URLs are closed first, whatever happened: its ledger is complete before
        the coordinator settles the run from it.
        """
        run_id = task.spec.identity.run_id
        error: WorkError | None = None
        try:
            bundle = self._bundle_of(done, task)
        except BaseException as exc:  # noqa: BLE001 - the coordinator must hear of every run
            error = WorkError(f"run {run_id}: its result was lost: {type(exc).__name__}: {exc}")
        try:
            self._release(run_id)
        except BaseException as exc:  # noqa: BLE001 - e.g. a ledger line that could not be written
            error = error or WorkError(f"run {run_id}: its ledger could not be completed: {exc}")
        if error is not None:
            relay.set_exception(error)
        else:
            relay.set_result(bundle)

    def _bundle_of(self, done: Any, task: RunTask) -> RunBundle:
        from distributed.scheduler import KilledWorker

        run_id = task.spec.identity.run_id
        if done.status == "finished":
            return done.result()
        exc = None if done.status == "cancelled" else done.exception()
        if exc is None or isinstance(exc, KilledWorker):
            detail = (
                "its task was cancelled (the scheduler lost track of it)"
                if exc is None
                else "its process died or left the cluster (Dask: KilledWorker)"
            )
            worker = self._claimed_by(run_id)
            return RunBundle(run_id, None, worker, lost=WORKER_LOST, lost_detail=detail)
        message = f"the Dask task failed: {type(exc).__name__}: {exc}"
        return RunBundle(run_id, failed_record(task.start, "internal", message))

    def _claimed_by(self, run_id: str) -> str | None:
        try:
            return self._client.get_metadata([CLAIMS, self._session, run_id], default=None)
        except Exception:  # noqa: BLE001 - the scheduler may be gone too; the worker is unknown
            return None

    def _release(self, run_id: str) -> None:
        """Close the run's proxy URLs (waiting for calls in flight): its ledger is complete."""
        self._on_step.pop(run_id, None)
        self._futures.pop(run_id, None)
        for url in self._open.pop(run_id, []):
            self._proxy.close_attribution(url)

    def cancel(self) -> None:
        from distributed import Event

        Event(f"baes-cancel-{self._session}", client=self._client).set()

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            if self._futures:
                self.cancel()  # runs still executing stop their frameworks
                self._client.cancel(list(self._futures.values()), force=True)
        with contextlib.suppress(Exception):
            self._client.unsubscribe_topic(f"baes-progress-{self._session}")
        with contextlib.suppress(Exception):
            self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()
