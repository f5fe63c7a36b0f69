"""`baes run` as a library: plan, schedule, execute and persist every run of an experiment.

The coordinator holds the experiment's run lock, turns runs left `running` by a dead process into
`interrupted`, interleaves frameworks in seeded counterbalanced blocks, runs up to `jobs` runs at
once, applies the stopping rule after each completed run, persists each finished record (run.json,
manifest, registry) and stops cleanly on Ctrl-C or when the budget is spent.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from baes.clock import utc_now
from baes.config.models import ExperimentConfig
from baes.engine.environment import capture_environment
from baes.engine.executors import Executor, LocalThreadExecutor, RunTask, failed_record
from baes.engine.one_run import RunSpec, run_seed, settle_usage
from baes.engine.preflight import PreflightError, design_problems, provider_problems
from baes.engine.run_bundle import WORKER_LOST, RunBundle, write_bundle
from baes.engine.run_ids import new_run_id
from baes.engine.run_lock import RunLock
from baes.engine.run_record import (
    RunIdentity,
    mark_interrupted,
    read_record,
    run_totals,
    start_record,
    step_usage,
    write_record,
)
from baes.engine.schedule import Interleaver
from baes.engine.services import (
    SimulatorSettings,
    llm_services,
    provider_endpoint,
    provider_key,
    simulator_usage_log,
)
from baes.engine.stopping import StoppingDecision, decide
from baes.errors import InputError, WorkError
from baes.experiment.load import Experiment, load_experiment
from baes.experiment.registry import registry_for
from baes.frameworks.check_envs import CheckEnvironments, prepare_check_environments
from baes.llm.ledger import read_ledger
from baes.records.progress import FrameworkProgress as FrameworkProgressRecord
from baes.redaction import key_env_names, key_values, redact
from baes.store.atomic import rewrite_text_file
from baes.store.manifest import Manifest
from baes.store.paths import LEDGER_FILE, RUN_RECORD_FILE, ExperimentPaths
from baes.store.run_progress import write_run_progress

# How a framework's part of a `baes run` ended. The first two are the design's targets; the
# others mean the framework did not get the runs it needs (the exit code says so).
CONVERGED, REACHED_MAX, GAVE_UP, BUDGET, INTERRUPTED = (
    "converged",
    "runs_max",
    "gave_up",
    "budget",
    "interrupted",
)
TARGET_MET = frozenset({CONVERGED, REACHED_MAX})
BUDGET_REASON = "the experiment's budget (limits.max_cost_usd) is spent"

STALE_RUN_REASON = (
    "the `baes run` that started this run ended before it finished (killed or crashed)"
)


LOCAL, DASK = "local", "dask"  # where runs execute (run.json's executor.kind)


@dataclass
class RunRequest:
    """What the user asked of `baes run`."""

    frameworks: list[str] | None = None
    jobs: int = 1
    keep_workspaces: bool = False
    simulator: SimulatorSettings | None = None
    executor: str = LOCAL
    dask: Any = None  # DaskSettings (engine/dask_executor.py) when executor is DASK
    proxy_host: str = "127.0.0.1"  # where the metering proxy listens (workers call it there)
    proxy_port: int = 0  # 0: a free port


@dataclass
class FrameworkProgress:
    """One framework's state during a `baes run` (what the live view shows)."""

    name: str
    target_min: int
    target_max: int
    decision: StoppingDecision  # the stopping rule applied to `completed`
    completed: list[dict[str, Any]] = field(default_factory=list)
    failed: int = 0
    interrupted: int = 0
    failures_in_a_row: int = 0
    in_flight: dict[str, str] = field(default_factory=dict)  # run id → current step
    cost_usd: float = 0.0
    tokens: int = 0
    stopped: str | None = None  # why no more runs are scheduled, in words
    outcome: str | None = None  # CONVERGED, REACHED_MAX, ...: None while runs are still wanted
    gave_up: bool = False
    run_seconds: list[float] = field(default_factory=list)


class RunObserver(Protocol):
    """Receives progress; called from worker threads, so implementations must be thread-safe."""

    def on_start(
        self, progress: dict[str, FrameworkProgress], recovered: int, spent_usd: float
    ) -> None: ...
    def on_setup(self, framework: str, activity: str) -> None:
        """What a framework's setup is doing now (called only while it installs something)."""

    def on_setup_finished(self, framework: str, ok: bool) -> None: ...
    def on_run_started(self, framework: str, run_id: str) -> None: ...
    def on_step_started(self, framework: str, run_id: str, index: int, step_id: str) -> None: ...
    def on_run_finished(self, framework: str, record: dict[str, Any], cost_usd: float) -> None: ...
    def on_framework_stopped(self, framework: str, reason: str) -> None: ...
    def on_interrupt(self) -> None: ...
    def on_notice(self, message: str) -> None: ...


@dataclass
class RunSummary:
    """How a `baes run` ended."""

    progress: dict[str, FrameworkProgress]
    interrupted: bool
    budget_exhausted: bool
    spent_usd: float
    recovered: int

    @property
    def gave_up(self) -> list[str]:
        return [p.name for p in self.progress.values() if p.gave_up]

    @property
    def unmet(self) -> list[str]:
        """Frameworks that ended without reaching their target (converged or runs.max)."""
        return [p.name for p in self.progress.values() if p.outcome not in TARGET_MET]


def select_frameworks(design: ExperimentConfig, requested: list[str] | None) -> list[str]:
    """The frameworks to run, in design order; InputError for a name the design lacks."""
    if not requested:
        return list(design.frameworks)
    unknown = [f for f in requested if f not in design.frameworks]
    if unknown:
        raise InputError(
            f"framework(s) not in this experiment: {', '.join(unknown)}",
            hint=f"its frameworks: {', '.join(design.frameworks)}",
        )
    return [f for f in design.frameworks if f in requested]


def recover_stale_runs(paths: ExperimentPaths) -> int:
    """Rebuild the manifest from run.json files and mark `running` records interrupted.

    Call only while holding the run lock: then no live process owns a `running` record.
    """
    manifest = Manifest(paths)
    runs = manifest.rebuild()
    recovered = 0
    for run_id, summary in runs.items():
        if summary.status != "running":
            continue
        path = paths.run_dir(summary.framework, run_id) / RUN_RECORD_FILE
        record = mark_interrupted(read_record(path), STALE_RUN_REASON + f"; noticed at {utc_now()}")
        manifest.record(write_record(path, record))
        recovered += 1
    return recovered


def experiment_progress(
    paths: ExperimentPaths, design: ExperimentConfig, frameworks: list[str]
) -> dict[str, FrameworkProgress]:
    """Each framework's completed records and counts, from the run records on disk."""
    # Records are gathered first so that each FrameworkProgress starts with its decision.
    completed: dict[str, list[dict[str, Any]]] = {f: [] for f in frameworks}
    counts: dict[str, Counter[str]] = {f: Counter() for f in frameworks}
    for run_id, summary in sorted(Manifest(paths).read().runs.items()):
        framework, status = summary.framework, summary.status
        if framework not in completed:
            continue
        if status == "completed":
            # The stopping rule measures records through the metric catalog (their JSON form).
            record = read_record(paths.run_dir(framework, run_id) / RUN_RECORD_FILE)
            completed[framework].append(record.model_dump(mode="json"))
        else:
            counts[framework][status] += 1
    return {
        f: FrameworkProgress(
            f,
            design.runs.min,
            design.runs.max,
            decide(design, completed[f]),
            completed=completed[f],
            failed=counts[f]["failed"],
            interrupted=counts[f]["interrupted"],
        )
        for f in frameworks
    }


def experiment_spent_usd(paths: ExperimentPaths, design: ExperimentConfig) -> float:
    """What the experiment's runs have cost so far, from their ledgers (for the budget)."""
    ledgers = paths.runs_dir.glob(f"*/*/{LEDGER_FILE}")
    return sum((run_cost_usd(ledger.parent, design) for ledger in ledgers), 0.0)


def run_cost_usd(run_dir: Path, design: ExperimentConfig) -> float:
    from baes.llm.ledger_cost import ledger_cost

    return ledger_cost(read_ledger(run_dir / LEDGER_FILE), design.pricing, design.model).cost_usd


class _Coordinator:
    def __init__(
        self,
        experiment: Experiment,
        design: ExperimentConfig,
        request: RunRequest,
        observer: RunObserver,
        cancel: threading.Event,
    ):
        self.experiment = experiment
        self.paths = experiment.paths
        self.design = design
        self.request = request
        self.observer = observer
        self.cancel = cancel
        self.frameworks = select_frameworks(design, request.frameworks)
        self.progress: dict[str, FrameworkProgress] = {}
        self.budget_exhausted = False
        self.adapters: dict[str, Any] = {}
        self.checks: CheckEnvironments | None = None  # prepared before the first run
        self.starts: dict[str, dict[str, Any]] = {}  # run id → its start record, while in flight
        self.accepted: set[str] = set()  # run ids whose result is persisted

    # -- scheduling -----------------------------------------------------------------------------

    def wants_run(self, framework: str) -> bool:
        state = self.progress[framework]
        if state.stopped or self.budget_exhausted or self.cancel.is_set():
            return False
        started = len(state.completed) + len(state.in_flight)
        if started >= self.design.runs.max:
            return False
        if started < self.design.runs.min:
            return True
        # Past the minimum the stopping rule decides, on the completed runs. Runs in flight are
        # not waited for: with --jobs N a framework may end up to N-1 runs past convergence
        # (never past runs.max), which costs a little and keeps every slot busy.
        return state.decision.needs_more

    def _stop(self, state: FrameworkProgress, reason: str, outcome: str) -> None:
        if state.stopped is None:
            state.stopped, state.outcome = reason, outcome
            self.observer.on_framework_stopped(state.name, reason)

    # -- one run --------------------------------------------------------------------------------

    def launch(self, framework: str, executor: Executor) -> tuple[Future[RunBundle], str, str]:
        adapter = self.adapters[framework]
        run_id = new_run_id()
        run_dir = self.paths.run_dir(framework, run_id)
        run_dir.mkdir(parents=True)
        (run_dir / LEDGER_FILE).touch()  # the proxy appends to it; a run without calls has it too
        identity = RunIdentity(
            run_id, self.paths.name, framework, self.experiment.stored_hash or "", self.design.model
        )
        state = self.progress[framework]
        repetition = len(state.completed) + state.failed + state.interrupted + len(state.in_flight)
        seed = run_seed(self.design.seed, framework, repetition)
        # A cluster run's environment (versions, source) is recorded by the worker that set the
        # framework up; here, where nothing was set up, only a local run can say it.
        source = adapter.source_record() if executor.kind == "local" else None
        start = start_record(identity, capture_environment(adapter.versions(), source))
        start["seed"] = seed
        start["executor"] = {"kind": executor.kind, "worker": None}
        write_record(run_dir / RUN_RECORD_FILE, start)
        Manifest(self.paths).record(start)
        registry_for(self.paths.root).refresh(self.paths.name)  # `baes list` shows it running
        state.in_flight[run_id] = "starting"
        self.starts[run_id] = start
        self.observer.on_run_started(framework, run_id)
        spec = RunSpec(
            identity, self.design, run_dir, self.request.keep_workspaces, seed, self.checks
        )

        def on_step(run_id: str, index: int, step_id: str) -> None:
            state.in_flight[run_id] = f"{index}/{len(self.design.scenario.steps)} {step_id}"
            self.observer.on_step_started(framework, run_id, index, step_id)

        return executor.submit(RunTask(spec, start, on_step)), framework, run_id

    def accept(self, framework: str, bundle: RunBundle) -> bool:
        """Persist a run's bundle where a local run's files go; False for one not expected.

        Refused: a second bundle for a run already persisted (Dask may run a task twice), or a
        bundle for a run this `baes run` did not launch. Nothing is written for them.
        """
        run_id = bundle.run_id
        state = self.progress[framework]
        record_id = (bundle.record or {}).get("run_id", run_id)
        if run_id in self.accepted or run_id not in state.in_flight or record_id != run_id:
            self.observer.on_notice(
                f"ignored a result for run {run_id} of {framework}: "
                + ("already recorded" if run_id in self.accepted else "not a run in flight")
            )
            return False
        self.accepted.add(run_id)
        self.finish(framework, run_id, self._record_of(framework, bundle))
        return True

    def _record_of(self, framework: str, bundle: RunBundle) -> dict[str, Any]:
        """The finished record: the bundle's files written, usage settled from the ledger."""
        run_dir = self.paths.run_dir(framework, bundle.run_id)
        start = self.starts.pop(bundle.run_id)
        executor = {**start["executor"], "worker": bundle.worker}
        entries = read_ledger(run_dir / LEDGER_FILE)
        if bundle.record is None:
            return _lost_record(start, bundle, entries) | {"executor": executor}
        record = bundle.record
        try:
            keys = key_values(key_env_names(self.design))
            for path in write_bundle(bundle, run_dir):
                # A worker's logs, as a local run's (the second belt).
                rewrite_text_file(path, lambda text: redact(text, *keys))
        except (OSError, WorkError) as exc:
            message = exc.message if isinstance(exc, WorkError) else str(exc)
            record = failed_record(start, "internal", f"its result could not be written: {message}")
        return settle_usage(record, entries) | {"executor": executor}

    def write_progress(self) -> None:
        """Record what this `baes run` decided per framework, for `baes list` and `baes show`."""
        write_run_progress(
            self.paths.run_progress,
            {
                name: FrameworkProgressRecord(
                    completed=len(state.completed),
                    stopped=state.stopped,
                    outcome=state.outcome,
                    gave_up=state.gave_up,
                )
                for name, state in self.progress.items()
            },
            self.budget_exhausted,
        )

    def finish(self, framework: str, run_id: str, record: dict[str, Any]) -> None:
        run_dir = self.paths.run_dir(framework, run_id)
        write_record(run_dir / RUN_RECORD_FILE, record)
        Manifest(self.paths).record(record)
        state = self.progress[framework]
        state.in_flight.pop(run_id, None)
        cost = run_cost_usd(run_dir, self.design)
        state.cost_usd += cost
        totals = record.get("totals") or {}
        state.tokens += (totals.get("input_tokens") or 0) + (totals.get("output_tokens") or 0)
        status = record["status"]
        if status == "completed":
            state.completed.append(record)
            state.failures_in_a_row = 0
            if totals.get("wall_seconds") is not None:
                state.run_seconds.append(totals["wall_seconds"])
            state.decision = decide(self.design, state.completed)
            if not state.decision.needs_more:
                self._stop(state, state.decision.reason, target_outcome(self.design, state))
        elif status == "interrupted":
            state.interrupted += 1
        else:
            state.failed += 1
            state.failures_in_a_row += 1
            if (record.get("error") or {}).get("kind") == "budget":
                self.budget_exhausted = True
                for other in self.progress.values():
                    self._stop(other, BUDGET_REASON, BUDGET)
            elif state.failures_in_a_row >= self.design.limits.max_consecutive_failures:
                state.gave_up = True
                self._stop(
                    state,
                    f"gave up after {state.failures_in_a_row} failed runs in a row "
                    f"(last: {(record.get('error') or {}).get('message', 'unknown error')})",
                    GAVE_UP,
                )
        self.write_progress()
        registry_for(self.paths.root).refresh(self.paths.name)
        self.observer.on_run_finished(framework, record, cost)

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> RunSummary:
        with RunLock(self.paths.run_lock, self.paths.name):
            recovered = recover_stale_runs(self.paths)
            self.progress = experiment_progress(self.paths, self.design, self.frameworks)
            for state in self.progress.values():
                if not state.decision.needs_more:
                    state.stopped = state.decision.reason
                    state.outcome = target_outcome(self.design, state)
            spent = experiment_spent_usd(self.paths, self.design)
            limit = self.design.limits.max_cost_usd
            if limit is not None and spent >= limit:
                self.budget_exhausted = True
                for state in self.progress.values():
                    if state.stopped is None:
                        state.stopped, state.outcome = BUDGET_REASON, BUDGET
            wanted = [f for f in self.frameworks if self.progress[f].stopped is None]
            with contextlib.ExitStack() as services:
                proxy = self.start_services(services, spent) if wanted else None
                self.write_progress()
                self.observer.on_start(self.progress, recovered, spent)
                interrupted = False
                if proxy is not None:
                    if self.request.executor == DASK:
                        self.describe_adapters(wanted)  # the workers set frameworks up
                    else:
                        self.prepare_adapters(wanted)
                    interrupted = self.run_all(proxy)
                spent_now = spent if proxy is None else proxy.spent_usd
            interrupted = interrupted or self.cancel.is_set()
            for state in self.progress.values():
                if state.outcome is None and interrupted:
                    state.outcome = INTERRUPTED
            self.write_progress()
            registry_for(self.paths.root).refresh(self.paths.name)
        return RunSummary(self.progress, interrupted, self.budget_exhausted, spent_now, recovered)

    def start_services(self, services: contextlib.ExitStack, spent: float) -> Any:
        """Preflight, then the simulator (if embedded) and the proxy; before any setup, so that
        a missing key or an unreachable provider is reported at once, not after installs."""
        problems = design_problems(self.design)
        if problems:
            raise PreflightError(problems)
        _, key_env = provider_endpoint(self.design)
        proxy = services.enter_context(
            llm_services(
                self.design,
                spent,
                self.request.simulator,
                usage_log=simulator_usage_log(self.paths.root),
                proxy_host=self.request.proxy_host,
                proxy_port=self.request.proxy_port,
            )
        )
        problems = provider_problems(proxy.upstream_base_url, provider_key(key_env))
        if problems:
            raise PreflightError(problems)
        return proxy

    def describe_adapters(self, frameworks: list[str]) -> None:
        """Adapters not set up here, for the start records (a worker records its own setup)."""
        from baes.frameworks.registry import adapter_for

        for framework in frameworks:
            config = self.design.frameworks[framework]
            self.adapters[framework] = adapter_for(framework, config, key_env_names(self.design))

    def prepare_adapters(self, frameworks: list[str]) -> None:
        """Set up each framework (a command framework's cached environment) with live progress."""
        from baes.frameworks.environments import default_cache_dir
        from baes.frameworks.registry import adapter_for

        cache_dir = default_cache_dir()
        # The checks' environment first: a problem with it is reported before any long setup.
        self.checks = _prepare_checks(self.design, cache_dir, self.observer)
        for framework in frameworks:
            adapter = adapter_for(
                framework, self.design.frameworks[framework], key_env_names(self.design)
            )

            def on_progress(activity: str, framework: str = framework) -> None:
                self.observer.on_setup(framework, activity)

            try:
                adapter.prepare(cache_dir, on_progress)
            except BaseException:
                self.observer.on_setup_finished(framework, False)
                raise
            self.observer.on_setup_finished(framework, True)
            self.adapters[framework] = adapter

    def make_executor(self, proxy: Any) -> Executor:
        """Where the runs execute: threads of this process, or a Dask cluster."""
        if self.request.executor == DASK:
            from baes.engine.dask_executor import DaskExecutor

            return DaskExecutor(
                self.request.dask,
                self.request.jobs,
                proxy,
                key_env_names(self.design),
                self.observer.on_notice,
            )
        return LocalThreadExecutor(self.request.jobs, self.adapters, proxy, self.cancel)

    def run_all(self, proxy: Any) -> bool:
        """Launch runs while a framework wants one, up to `jobs` at once; True if interrupted.

        No framework wanting a run while runs are in flight is not the end: one of them may fail
        and be wanted again. The loop ends only when nothing is in flight and nobody wants a run.
        """
        executor = self.make_executor(proxy)
        interleaver = Interleaver(self.frameworks, self.design.seed)
        pending: dict[Future[RunBundle], tuple[str, str]] = {}
        interrupted = False
        try:
            with _interrupt_sets(self.cancel):
                while True:
                    while len(pending) < self.request.jobs and not self.cancel.is_set():
                        framework = interleaver.next(self.wants_run)
                        if framework is None:  # nobody wants a run now (maybe after `pending`)
                            break
                        future, fw, run_id = self.launch(framework, executor)
                        pending[future] = (fw, run_id)
                    if not pending:
                        break
                    # Short waits so that a Ctrl-C (which only sets the flag) is noticed.
                    done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    if self.cancel.is_set() and not interrupted:
                        interrupted = True
                        executor.cancel()
                        self.observer.on_interrupt()
                    for future in done:
                        framework, run_id = pending.pop(future)
                        try:
                            bundle = future.result()
                        except WorkError as exc:  # its result was lost on the way: still a record
                            start = self.starts[run_id]
                            bundle = RunBundle(
                                run_id, failed_record(start, "internal", exc.message)
                            )
                        self.accept(framework, bundle)
        finally:
            executor.shutdown()
        return interrupted


def _lost_record(start: dict[str, Any], bundle: RunBundle, entries: list[Any]) -> dict[str, Any]:
    """The record of a run whose worker was lost: interrupted, with what its ledger measured.

    Its steps are unknown (the worker never reported them); the totals are the ledger's sums,
    which are what the run cost, and its wall time is unknown (null).
    """
    worker = bundle.worker or "an unknown worker"
    ended = utc_now()
    totals = run_totals(
        [{"usage": step_usage(entries), "check": None}], start["started_at"], ended, None
    )
    return {
        **start,
        "status": "interrupted",
        "ended_at": ended,
        "error": {
            "kind": "interrupted",
            "reason": bundle.lost or WORKER_LOST,
            "message": f"the Dask worker running this run ({worker}) was lost before it sent its "
            f"result: {bundle.lost_detail or 'no detail'}; its metered calls are kept in "
            f"{LEDGER_FILE}",
        },
        "totals": totals,
    }


def target_outcome(design: ExperimentConfig, state: FrameworkProgress) -> str:
    """Converged or reached runs.max, for a framework the stopping rule says needs no more."""
    return REACHED_MAX if len(state.completed) >= design.runs.max else CONVERGED


def _prepare_checks(
    design: ExperimentConfig, cache_dir: Path, observer: RunObserver
) -> CheckEnvironments:
    """The checks' environments, built before the first run; what cannot be had is said now."""
    checks = prepare_check_environments(design.scenario.steps, cache_dir, notify=observer.on_notice)
    for problem in checks.problems():
        observer.on_notice(problem)
    return checks


@contextlib.contextmanager
def _interrupt_sets(cancel: threading.Event) -> Iterator[None]:
    """While running, the first Ctrl-C sets `cancel` (runs in flight stop and are recorded as
    interrupted); a second one raises KeyboardInterrupt as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def first_interrupt(signum: int, frame: Any) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, first_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_experiment(
    root: Path,
    name: str,
    request: RunRequest,
    observer: RunObserver,
    cancel: threading.Event | None = None,
) -> RunSummary:
    """Execute the experiment's remaining runs; refuses a design that no longer matches its hash."""
    experiment, design = load_experiment(root, name)
    if request.jobs < 1:
        raise InputError("--jobs must be at least 1")
    if request.executor == DASK:
        from baes.engine.dask_executor import require_distributed

        require_distributed()  # before anything starts: the install command, exit 2
    return _Coordinator(experiment, design, request, observer, cancel or threading.Event()).run()
