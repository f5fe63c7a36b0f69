"""Each experiment's cost so far and mean check pass rate, cached until its files change.

Both need every run's files (the ledgers for the cost, run.json for the checks): too slow to read
again for every page of a large root. An entry is kept until the stamps (mtime, size) of the run
manifest, config.yaml or run-progress change; an experiment being run is read afresh every time
(its ledgers grow without the manifest changing).
"""

from __future__ import annotations

import threading
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
            if run.get("status") != "completed":
                continue
            try:
                record = load_run_record(paths.run_dir(run["framework"], run_id) / RUN_RECORD_FILE)
            except (BaesError, OSError, ValueError):
                continue
            rate = measure_check_pass_rate(record, context).value
            if rate is not None:
                rates.append(rate)
    return ExperimentTotals(cost, note, fmean(rates) if rates else None, len(rates))


class TotalsCache:
    """Thread-safe cache of `measure_totals` per experiment name."""

    def __init__(self, root: Path):
        self._root = root
        self._entries: dict[str, tuple[object, ExperimentTotals]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, running: bool) -> ExperimentTotals:
        paths = ExperimentPaths(self._root, name)
        stamp = (
            _stamp(paths.manifest),
            _stamp(paths.config),
            _stamp(paths.run_progress),
        )
        with self._lock:
            cached = self._entries.get(name)
        if cached is not None and cached[0] == stamp and not running:
            return cached[1]
        totals = measure_totals(paths)
        with self._lock:
            self._entries[name] = (stamp, totals)
        return totals
