"""Start-up time of `baes --help` and `baes list` (200 experiments), beside `python -c pass`.

Prints the median wall time over repeated runs. Target (issue 2): `baes list` with 200
experiments within 0.35 s on a 2-core machine.

    python benchmarks/cli_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_LIST_S = 0.35


def _median_seconds(command: list[str], env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _populate(root: Path, count: int) -> None:
    from baes.config.builder import DesignOverrides, build_design
    from baes.experiment.create import create_experiment

    template = build_design(
        None,
        DesignOverrides(
            name="bench-000", model="sim-small", frameworks=["reference", "aider"], scenario="hello"
        ),
        "benchmark",
    )
    for i in range(count):
        create_experiment(root, template.model_copy(update={"name": f"bench-{i:03d}"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--experiments", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "experiments"
        _populate(root, args.experiments)
        env = {**os.environ, "BAES_ROOT": str(root), "COLUMNS": "120"}
        baes = [sys.executable, "-m", "baes"]
        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("baes --help", [*baes, "--help"]),
            (f"baes list ({args.experiments} experiments)", [*baes, "list"]),
            (f"baes list --json ({args.experiments} experiments)", [*baes, "list", "--json"]),
        ]
        baseline = None
        print(f"median of {args.repeat} runs, {os.cpu_count()} cores")
        for label, command in rows:
            seconds = _median_seconds(command, env, args.repeat)
            baseline = baseline or seconds
            print(
                f"  {label:<36} {seconds * 1000:7.1f} ms   ({seconds / baseline:4.1f}× python -c pass)"
            )
            if label.startswith("baes list ("):
                verdict = "meets" if seconds <= TARGET_LIST_S else "MISSES"
                print(f"  {'':<36} target ≤ {TARGET_LIST_S * 1000:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
