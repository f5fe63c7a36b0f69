"""Each experiment's cost so far and mean check pass rate, cached until its files change.

Both need the design and every run's files (the ledgers for the cost, run.json for the checks):
too slow to read again for every page of a large root. An entry is kept until the stamps
(mtime, size) of the run manifest, config.yaml or run-progress change; an experiment being run
is measured afresh every time (its ledgers grow without the manifest changing).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

from baes.store.paths import RUN_RECORD_FILE, ExperimentPaths


@dataclass(frozen=True)
class ExperimentTotals:
    """What the experiments page adds to `baes list`: None with a reason when not measurable."""

    cost_usd: float | None
    cost_note: str | None
    mean_pass_rate: float | None
    rated_runs: int  # completed runs whose checks gave a verdict (the mean is over these)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def measure_totals(paths: ExperimentPaths) -> ExperimentTotals:
    """Read the experiment's design, ledgers and run records (the library's own functions)."""
    from baes.analysis.metrics import MetricContext, measure_check_pass_rate
    from baes.engine.coordinator import experiment_spent_usd
    from baes.errors import BaesError
    from baes.experiment.load import inspect_experiment
    from baes.store.manifest import Manifest
    from baes.store.run_folders import load_run_record

    experiment = inspect_experiment(paths.root, paths.name)
    config = experiment.config
    cost: float | None = None
    note: str | None = None
    if config is None:
        note = "config.yaml unreadable"
    else:
        try:
            cost = experiment_spent_usd(paths, config)
        except BaesError as exc:
            note = exc.message
    rates: list[float] = []
    if config is not None:
        context = MetricContext(config.pricing)
        for run_id, run in Manifest(paths).read().runs.items():
            if run.status != "completed":
                continue
            try:
                record = load_run_record(paths.run_dir(run.framework, run_id) / RUN_RECORD_FILE)
            except (BaesError, OSError, ValueError):
                continue
            # Measured as the analysis measures: on the record's JSON form.
            rate = measure_check_pass_rate(record.model_dump(mode="json"), context).value
            if rate is not None:
                rates.append(rate)
    return ExperimentTotals(cost, note, fmean(rates) if rates else None, len(rates))


class TotalsCache:
    """Each experiment's totals, measured by one background thread and kept until its files change.

    Measuring reads the design (YAML: tens of milliseconds each), so a root of hundreds of
    experiments takes seconds; pages never wait for it. `lookup` answers from the cache at once
    and queues what is missing or stale; the experiments page shows those cells as pending and
    fills them in from /totals.json as they are measured.
    """

    def __init__(self, root: Path, busy: Callable[[], bool] = lambda: False):
        self._root = root
        # Measuring parses YAML in Python and holds the GIL: it waits while a page is being
        # answered (`busy`), so a page never shares the interpreter with it.
        self._busy = busy
        self._entries: dict[str, tuple[object, ExperimentTotals]] = {}
        self._queued: set[str] = set()
        self._queue: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def _stamp(self, name: str) -> object:
        paths = ExperimentPaths(self._root, name)
        return (_stamp(paths.manifest), _stamp(paths.config), _stamp(paths.run_progress))

    def lookup(self, name: str, running: bool) -> ExperimentTotals | None:
        """The totals if measured since the experiment last changed, else None (now queued).

        A running experiment changes with every call: its last totals are returned and a fresh
        measurement is queued each time.
        """
        stamp = self._stamp(name)
        with self._lock:
            cached = self._entries.get(name)
        if cached is not None and cached[0] == stamp and not running:
            return cached[1]
        self._request(name)
        return cached[1] if cached is not None and running else None

    def _request(self, name: str) -> None:
        with self._lock:
            if name in self._queued:
                return
            self._queued.add(name)
            # Queued under the lock: the worker decides to exit under it, seeing the queue empty.
            self._queue.put(name)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="baes-view-totals", daemon=True
                )
                self._worker.start()

    def _work(self) -> None:
        while True:
            try:
                name = self._queue.get(timeout=30)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._worker = None
                        return
                continue
            while self._busy():
                time.sleep(0.005)
            stamp = self._stamp(name)
            try:
                totals = measure_totals(ExperimentPaths(self._root, name))
            except Exception as exc:  # noqa: BLE001 - one broken folder must not stop the rest
                totals = ExperimentTotals(None, getattr(exc, "message", str(exc)), None, 0)
            with self._lock:
                self._entries[name] = (stamp, totals)
                self._queued.discard(name)
