"""How long `baes analyze` takes, and how much memory it needs, on large synthesized experiments.

Run: .venv/bin/python benchmarks/analysis_scale.py [--keep]

Each case synthesizes an experiment in a temporary folder (run.json records exactly per
docs/records.md), then runs the real command in a child process and reports its wall time (interpreter
start and imports included, as a user sees it) and its peak resident memory (ru_maxrss of that
child, from wait4). The child is `python -m baes analyze` when the command is wired into the
app, otherwise the same `analyze` function mounted on a one-command typer app.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.analysis.run_records import make_experiment, run_record, write_run_fast  # noqa: E402

STANDALONE = (
    "import sys, typer; from baes.cli.analyze import analyze; app = typer.Typer(); "
    "app.command()(analyze); app(args=sys.argv[1:], prog_name='baes analyze')"
)


@dataclass(frozen=True)
class Case:
    label: str
    frameworks: int
    runs: int
    figures: bool
    target_s: float
    target_mb: float | None


CASES = (
    Case("5 frameworks × 200 runs, 10,000 resamples, figures", 5, 200, True, 15.0, 1024.0),
    Case("20 frameworks × 1,000 runs, 10,000 resamples, --no-figures", 20, 1000, False, 90.0, None),
)


def synthesize(root: Path, name: str, frameworks: int, runs: int) -> float:
    """Create the experiment and its run records; returns the seconds it took."""
    import numpy as np

    from baes.store.manifest import Manifest

    started = time.perf_counter()
    names = [f"fw-{i:02d}" for i in range(frameworks)]
    paths, config = make_experiment(
        root, name, frameworks=names, runs=runs, bootstrap_samples=10_000
    )
    rng = np.random.default_rng(2026)
    for f_index, framework in enumerate(names):
        scale = 1.0 + 0.08 * f_index
        for run in range(runs):
            tokens_in = int(rng.lognormal(np.log(40_000 * scale), 0.25))
            record = run_record(
                config,
                framework,
                f_index * runs + run,
                input_tokens=tokens_in,
                output_tokens=int(rng.lognormal(np.log(6_000 * scale), 0.3)),
                cached_tokens=int(tokens_in * rng.uniform(0.1, 0.6)),
                calls=int(rng.poisson(6 * scale)) + 1,
                llm_seconds=float(rng.gamma(4.0, 5.0 * scale)),
                wall_seconds=float(rng.gamma(6.0, 6.0 * scale)),
                checks_passed=int(rng.binomial(2, 0.9 - 0.02 * f_index)),
                checks_total=2,
            )
            write_run_fast(paths, record)
    Manifest(paths).rebuild()  # one index write instead of one per run
    return time.perf_counter() - started


def analyze_command() -> list[str]:
    """`python -m baes analyze` once it is wired into the app, else the standalone mount."""
    probe = subprocess.run(
        [sys.executable, "-m", "baes", "analyze", "--help"],
        capture_output=True,
        cwd=REPO,
        timeout=120,
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "baes", "analyze"]
    return [sys.executable, "-c", STANDALONE]


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (Linux)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as handle:
                total += next(
                    (int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0
                )
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


@dataclass
class Measurement:
    seconds: float
    largest_mb: float  # ru_maxrss from wait4: the largest single process of the tree
    tree_mb: float  # peak of the summed RSS of the whole tree, sampled every 20 ms
    cpu_seconds: float  # user + system time of the child and the workers it waited for
    exit_code: int
    stderr: str


def measure(command: list[str]) -> Measurement:
    """Wall time, peak memory, exit code and stderr tail of one child process (and its workers)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "120"},
    )
    peak_tree = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.is_set():
            peak_tree = max(peak_tree, _tree_rss_kb(child.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert child.stderr is not None
    stderr = child.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(
        elapsed,
        usage.ru_maxrss / 1024.0,
        peak_tree / 1024.0,
        usage.ru_utime + usage.ru_stime,
        child.returncode,
        stderr[-2000:],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the synthesized experiments")
    parser.add_argument("--only", type=int, help="run only case N (1-based)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="baes-analysis-scale-"))
    command = analyze_command()
    print(
        f"entry point: {' '.join(command[:4]) if command[1] == '-m' else 'analyze() via python -c'}"
    )
    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    failures = 0
    try:
        for number, case in enumerate(CASES, start=1):
            if args.only and args.only != number:
                continue
            root = workdir / f"case{number}"
            name = f"scale-{number}"
            seconds = synthesize(root, name, case.frameworks, case.runs)
            extra = [] if case.figures else ["--no-figures"]
            load_before = os.getloadavg()[0]
            result = measure([*command, name, "--root", str(root), *extra])
            time_ok = result.seconds <= case.target_s
            peak_mb = max(result.tree_mb, result.largest_mb)
            mem_ok = case.target_mb is None or peak_mb <= case.target_mb
            mem_target = f"≤ {case.target_mb:,.0f} MB" if case.target_mb else "no target"
            print(
                f"\n{case.label}  ({case.frameworks * case.runs:,} runs × 8 metrics, "
                f"synthesized in {seconds:.1f} s; 1-min load average {load_before:.1f} before)"
            )
            print(
                f"  wall time  {result.seconds:7.1f} s    target ≤ {case.target_s:g} s   "
                f"{'ok' if time_ok else 'OVER'}   (CPU time {result.cpu_seconds:.1f} s, "
                "all processes)"
            )
            print(
                f"  peak RSS   {peak_mb:7.0f} MB   target {mem_target}   "
                f"{'ok' if mem_ok else 'OVER'}   (all processes summed, sampled; largest "
                f"single process {result.largest_mb:.0f} MB)"
            )
            code, stderr = result.exit_code, result.stderr
            if case.figures:
                figures = sorted((root / name / "analysis" / "figures").glob("*.png"))
                print(f"  figures    {len(figures)} PNG")
            if code != 0:
                print(f"  exit code {code}:\n{stderr}")
            failures += int(code != 0 or not time_ok or not mem_ok)
    finally:
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
