"""`baes run` harness figures (issue 4): overhead per run, --jobs speed-up, peak memory.

1. Harness overhead per run on the `hello` scenario with the simulator at zero latency: the run's
   wall time minus its LLM time, archiving included (target ≤ 0.5 s per run).
2. Wall-time speed-up of --jobs 4 over --jobs 1 with 200 ms of simulated latency per call
   (target ≥ 3×).
3. Peak RSS of a `baes run --jobs 8` process (target ≤ 400 MB).
4. The cluster case (issue 15): 16 runs at 200 ms simulated latency, `--executor dask --workers 2
   --jobs 8` against local `--jobs 1` (target ≥ 5×: runs wait on the model, not the CPU), and the
   overhead per run of the Dask path against the thread path (both --jobs 1, latency 0).

Each measurement runs the real coordinator in a child process, against the embedded simulator.

    python benchmarks/run_overhead.py [--runs N] [--only-cluster]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys
from pathlib import Path
from baes.engine.coordinator import RunRequest, run_experiment
from baes.engine.services import SimulatorSettings
from baes.cli.run_progress import LineObserver
from rich.console import Console

root, name, jobs, latency = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
workers = int(sys.argv[5])
request = RunRequest(jobs=jobs, simulator=SimulatorSettings(latency_ms=latency))
if workers:
    from baes.engine.dask_executor import DaskSettings

    request.executor, request.dask = "dask", DaskSettings(workers=workers)
run_experiment(root, name, request, LineObserver(Console(stderr=True), quiet=True))
"""


def _create(root: Path, name: str, runs: int) -> None:
    from baes.config.builder import DesignOverrides, build_design
    from baes.experiment.create import create_experiment

    design = build_design(
        {"stopping_rule": {"enabled": False}},
        DesignOverrides(
            name=name, model="sim-large", frameworks=["reference"], scenario="hello", runs=runs
        ),
        "benchmark",
    )
    create_experiment(root, design)


def _run(
    root: Path, name: str, jobs: int, latency_ms: float, dask_workers: int = 0
) -> tuple[float, int]:
    """Wall seconds of the child and its own peak RSS in bytes (from wait4's rusage).

    `dask_workers` > 0: --executor dask on a LocalCluster of that many worker processes.
    """
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(root),
            name,
            str(jobs),
            str(latency_ms),
            str(dask_workers),
        ],
        stdin=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"baes run exited {child.returncode}")
    return wall, usage.ru_maxrss * 1024  # Linux reports kilobytes


def _records(root: Path, name: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in (root / name / "runs").glob("*/*/run.json")]


def _run_phase(root: Path, name: str) -> float:
    from datetime import datetime

    records = _records(root, name)
    start = min(datetime.fromisoformat(r["started_at"].replace("Z", "+00:00")) for r in records)
    end = max(datetime.fromisoformat(r["ended_at"].replace("Z", "+00:00")) for r in records)
    return (end - start).total_seconds()


def _cluster_case(root: Path) -> None:
    """4. --executor dask --workers 2 --jobs 8 against local --jobs 1; Dask's overhead per run."""
    runs = 16
    for name in ("local1", "dask8", "local8"):
        _create(root, name, runs)
    wall1, _ = _run(root, "local1", jobs=1, latency_ms=200)
    wall8, _ = _run(root, "dask8", jobs=8, latency_ms=200, dask_workers=2)
    _run(root, "local8", jobs=8, latency_ms=200)
    phase1, phase8 = _run_phase(root, "local1"), _run_phase(root, "dask8")
    phase_threads8 = _run_phase(root, "local8")
    speedup = phase1 / phase8
    print(
        f"\n4. cluster: {runs} runs, 200 ms simulated latency per call "
        f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})"
    )
    print(
        f"   runs phase: local --jobs 1 {phase1:.1f} s, --executor dask --workers 2 --jobs 8 "
        f"{phase8:.1f} s, speed-up {speedup:.2f}×   target ≥ 5×: "
        f"{'meets' if speedup >= 5 else 'MISSES'}"
    )
    print(
        f"   for reference, local --jobs 8 (threads): {phase_threads8:.1f} s, speed-up "
        f"{phase1 / phase_threads8:.2f}× (what this machine's free CPU allows at 8 runs at once)"
    )
    print(
        f"   whole command incl. start-up (the cluster's ~seconds included): local {wall1:.1f} s, "
        f"dask {wall8:.1f} s, speed-up {wall1 / wall8:.2f}×"
    )
    # Alternated rounds: on a shared machine the load moves more than the difference measured.
    differences = []
    for round_ in range(3):
        local, dask = f"local0-{round_}", f"dask0-{round_}"
        _create(root, local, runs)
        _create(root, dask, runs)
        _run(root, local, jobs=1, latency_ms=0)
        _run(root, dask, jobs=1, latency_ms=0, dask_workers=2)
        local_per_run = _run_phase(root, local) / runs
        dask_per_run = _run_phase(root, dask) / runs
        differences.append(dask_per_run - local_per_run)
        print(
            f"   overhead per run of the Dask path, round {round_ + 1} (--jobs 1, latency 0; runs "
            f"phase / runs): thread {local_per_run:.3f} s, dask {dask_per_run:.3f} s, "
            f"{dask_per_run - local_per_run:+.3f} s"
        )
    print(
        f"   median over the rounds: {statistics.median(differences):+.3f} s per run (submit, "
        f"result back, settle; load {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=24, help="runs per measurement")
    parser.add_argument(
        "--only-cluster", action="store_true", help="only measurement 4 (needs baes[dask])"
    )
    args = parser.parse_args()
    if args.only_cluster:
        with tempfile.TemporaryDirectory() as folder:
            _cluster_case(Path(folder))
        return
    print(
        f"baes run harness benchmark: {args.runs} runs of the hello scenario (2 steps, 2 checks) "
        f"per measurement; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)

        _create(root, "overhead", args.runs)
        wall, _ = _run(root, "overhead", jobs=1, latency_ms=0)
        records = _records(root, "overhead")
        overheads = [r["totals"]["wall_seconds"] - r["totals"]["llm_seconds"] for r in records]
        print("\n1. harness overhead per run (simulator latency 0, --jobs 1)")
        print(
            f"   median {statistics.median(overheads):.3f} s, max {max(overheads):.3f} s per run "
            f"(run wall time minus LLM time; steps, checks, ledger, archive)   target ≤ 0.5 s: "
            f"{'meets' if statistics.median(overheads) <= 0.5 else 'MISSES'}"
        )
        print(
            f"   whole command incl. start-up: {wall:.1f} s for {len(records)} runs = {wall / len(records):.3f} s per run"
        )

        _create(root, "jobs1", args.runs)
        _create(root, "jobs4", args.runs)
        wall1, _ = _run(root, "jobs1", jobs=1, latency_ms=200)
        wall4, _ = _run(root, "jobs4", jobs=4, latency_ms=200)
        phase1, phase4 = _run_phase(root, "jobs1"), _run_phase(root, "jobs4")
        speedup = phase1 / phase4
        print("\n2. --jobs 4 vs --jobs 1, 200 ms simulated latency per call")
        print(
            f"   runs phase (first run start to last run end): --jobs 1 {phase1:.1f} s, --jobs 4 {phase4:.1f} s, "
            f"speed-up {speedup:.2f}×   target ≥ 3×: {'meets' if speedup >= 3 else 'MISSES'}"
        )
        print(
            f"   whole command incl. start-up (~constant): --jobs 1 {wall1:.1f} s, --jobs 4 {wall4:.1f} s, "
            f"speed-up {wall1 / wall4:.2f}×"
        )

        _create(root, "jobs8", max(args.runs, 16))
        wall8, peak = _run(root, "jobs8", jobs=8, latency_ms=200)
        print("\n3. peak memory of baes run --jobs 8 (200 ms latency)")
        print(
            f"   peak RSS {peak / 2**20:.0f} MB (the baes run process; framework's children: none, builtin)   "
            f"target ≤ 400 MB: {'meets' if peak <= 400 * 2**20 else 'MISSES'}; wall {wall8:.1f} s"
        )

        try:
            import distributed  # noqa: F401
        except ImportError:
            print("\n4. cluster: skipped (pip install 'baes[dask]')")
        else:
            _cluster_case(root)


if __name__ == "__main__":
    main()
