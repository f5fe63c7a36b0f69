"""The part of `baes run --executor dask` that executes on a cluster worker: one run per task.

A task prepares the framework once per worker process (the setup cache on the worker's disk makes
later processes fast too), executes the run in a scratch folder of the worker, and returns a
RunBundle. It talks to the coordinator only through the metering proxy (with the per-step base
URLs the coordinator opened for this run: no key reaches the worker) and through the scheduler
(progress events, the Ctrl-C event, the claim that makes a retried task refuse to run again).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baes.clock import utc_now
from baes.config.models import ExperimentConfig
from baes.engine.environment import capture_environment
from baes.engine.executors import failed_record
from baes.engine.one_run import RunSpec, perform_run
from baes.engine.run_bundle import WORKER_LOST, RunBundle, pack_run_folder
from baes.engine.run_record import RunIdentity

CLAIMS = "baes-claims"  # scheduler metadata: run id → the worker that took it


@dataclass(frozen=True)
class WorkerJob:
    """Everything a worker needs for one run (pickled to it with the task)."""

    session: str  # one `baes run`: names its cancel event, progress topic and claims
    identity: RunIdentity
    design: ExperimentConfig
    start: dict[str, Any]
    step_urls: dict[str, str]  # step label → the proxy base URL opened for it
    keep_workspace: bool
    seed: int | None
    shared_dir: str | None

    @property
    def cancel_event(self) -> str:
        return f"baes-cancel-{self.session}"

    @property
    def progress_topic(self) -> str:
        return f"baes-progress-{self.session}"


class _OpenedAttributions:
    """The proxy as a worker sees it: the coordinator opened each step's base URL beforehand and
    closes them when the run's bundle (or its loss) reaches it."""

    def __init__(self, step_urls: dict[str, str]):
        self._step_urls = step_urls

    def open_attribution(
        self, run_id: str, step: str, ledger_path: Path, seed: int | None = None
    ) -> str:
        return self._step_urls[step]  # opened with the run's seed by the coordinator

    def close_attribution(self, base_url_or_token: str, wait_s: float = 0.0) -> None:
        return None


_setup_lock = threading.Lock()
_prepared: dict[str, tuple[Any, Any]] = {}  # framework config (json) → (adapter, checks)


def _prepared_framework(design: ExperimentConfig, framework: str) -> tuple[Any, Any]:
    """The framework's adapter and the checks' environments, set up once per worker process."""
    from baes.frameworks.check_envs import prepare_check_environments
    from baes.frameworks.environments import default_cache_dir
    from baes.frameworks.registry import adapter_for
    from baes.redaction import key_env_names

    config = design.frameworks[framework]
    key = f"{framework}\0{config.model_dump_json()}\0{design.scenario.model_dump_json()}"
    with _setup_lock:  # runs of one worker share its setup; the disk cache has its own lock
        if key not in _prepared:
            cache_dir = default_cache_dir()
            adapter = adapter_for(framework, config, key_env_names(design))
            adapter.prepare(cache_dir)
            checks = prepare_check_environments(design.scenario.steps, cache_dir)
            _prepared[key] = (adapter, checks)
        return _prepared[key]


def run_job(job: WorkerJob) -> RunBundle:
    """Execute one run on this worker (the Dask task); never raises for a failing run."""
    from distributed import Event, get_client, get_worker

    worker = get_worker()
    client = get_client()
    run_id = job.identity.run_id
    claimed_by = client.get_metadata([CLAIMS, job.session, run_id], default=None)
    if claimed_by is not None:
        # Dask re-ran the task after the worker running it was lost. Its calls are in the run's
        # ledger already; running it again would count the run twice.
        detail = f"it died; Dask re-ran its task on {worker.address}, which refused to run it again"
        return RunBundle(run_id, None, claimed_by, lost=WORKER_LOST, lost_detail=detail)
    client.set_metadata([CLAIMS, job.session, run_id], worker.address)

    cancel, done = threading.Event(), threading.Event()
    stop_event = Event(job.cancel_event, client=client)

    def watch_for_ctrl_c() -> None:
        # Short questions, not a long wait on the scheduler: this ends as soon as the run does,
        # leaving nothing pending on a scheduler that may be closing.
        try:
            while not done.wait(0.5):
                if stop_event.is_set():
                    cancel.set()
                    return
        except Exception:  # noqa: BLE001 - the scheduler is gone: so is the coordinator's Ctrl-C
            return

    threading.Thread(target=watch_for_ctrl_c, name="baes-cancel-watch", daemon=True).start()

    def on_step(run_id: str, index: int, step_id: str) -> None:
        worker.log_event(job.progress_topic, {"run_id": run_id, "index": index, "step": step_id})

    scratch = Path(tempfile.mkdtemp(prefix=f"baes-{run_id}-"))
    try:
        record = _execute(job, scratch, cancel, on_step, worker.address)
        shared = Path(job.shared_dir) if job.shared_dir else None
        return pack_run_folder(scratch, run_id, record, worker.address, shared)
    finally:
        done.set()
        shutil.rmtree(scratch, ignore_errors=True)


def _execute(
    job: WorkerJob, scratch: Path, cancel: threading.Event, on_step: Any, address: str
) -> dict[str, Any]:
    from baes.frameworks.contract import FrameworkSetupError

    framework = job.identity.framework
    try:
        adapter, checks = _prepared_framework(job.design, framework)
    except FrameworkSetupError as exc:
        return failed_record(job.start, "infrastructure", f"{exc} (on the Dask worker {address})")
    # The run executes here and now: the record describes this machine, as a local run describes
    # its own, and starts when a worker thread took it, not when it was queued.
    environment = capture_environment(adapter.versions(), adapter.source_record())
    start = {**job.start, "started_at": utc_now(), "environment": environment}
    spec = RunSpec(job.identity, job.design, scratch, job.keep_workspace, job.seed, checks)
    try:
        return perform_run(
            spec, start, adapter, _OpenedAttributions(job.step_urls), cancel, on_step
        )
    except Exception as exc:  # noqa: BLE001 - a harness bug still ends in a record
        return failed_record(start, "internal", f"{type(exc).__name__}: {exc}")


# What a run imports on a worker; imported when the worker joins the run (see `ready_for_runs`),
# as `baes run` imports them before its first local run, so the first runs do not pay for it.
RUN_MODULES = (
    "baes.frameworks.builtin",
    "baes.frameworks.command",
    "baes.frameworks.checks",
    "baes.frameworks.check_envs",
    "baes.frameworks.environments",
)


def ready_for_runs(proxy_url: str) -> str | None:
    """Run on every worker before the first run: import what runs need, then None if the worker
    reaches the proxy at `proxy_url`, else why not."""
    import importlib

    for module in RUN_MODULES:
        importlib.import_module(module)
    return proxy_reachable(proxy_url)


def proxy_reachable(url: str, timeout_s: float = 3.0) -> str | None:
    """None if this worker can open a connection to the proxy at `url`, else why not."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout_s):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)
