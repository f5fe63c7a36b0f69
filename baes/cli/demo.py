"""`baes demo`: the main job end to end on the embedded simulator, offline, with no key."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape

from baes.cli.console import err, out, print_written, progress_on_stderr, reports_errors
from baes.cli.options import JobsOption, RootOption


@reports_errors
def demo(
    root: RootOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace earlier demo experiments of the same name.")
    ] = False,
    jobs: JobsOption = 2,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress.")] = False,
) -> None:
    """Create two experiments on the simulator, run them, analyse each and compare them."""
    from baes.analysis.analyze import analyze_experiment
    from baes.analysis.compare import compare_experiments
    from baes.cli.analyze import summary_table
    from baes.cli.run import execute_with_progress, print_run_summary, run_exit_code
    from baes.engine.coordinator import RunRequest
    from baes.experiment.create import create_experiment
    from baes.experiment.demo import demo_designs
    from baes.store.paths import resolve_root

    started = time.monotonic()
    root_dir = resolve_root(root)
    designs = demo_designs(root_dir, replace=force)
    names = [d.name for d in designs]
    for design in designs:
        create_experiment(root_dir, design)
        err.print(
            f"[green]created[/] {design.name}: {', '.join(design.frameworks)} on {design.model}, "
            f"scenario {design.scenario.name}, {design.runs.max} runs each"
        )
    for name in names:
        summary = execute_with_progress(root_dir, name, RunRequest(jobs=jobs), quiet=quiet)
        print_run_summary(name, summary, root)
        if run_exit_code(summary) != 0:
            raise typer.Exit(run_exit_code(summary))
    for name in names:
        with progress_on_stderr(f"analysing {name}") as progress:
            outcome = analyze_experiment(root_dir, name, progress=progress)
        out.print(f"\n[bold]analysis of {name}[/]")
        out.print(summary_table(outcome.stats))
        print_written(outcome)
    with progress_on_stderr("comparing") as progress:
        comparison = compare_experiments(root_dir, names, progress=progress)
    out.print(f"\n[bold]comparison of {' and '.join(names)}[/]")
    print_written(comparison)

    root_flag = "" if root is None else escape(f" --root {root_dir}")
    out.print(
        f"\ndemo finished in {time.monotonic() - started:.0f} s. Made under {escape(str(root_dir))}:"
    )
    for name in names:
        out.print(f"  {name}/  (config.yaml, runs/, analysis/report.md)")
    out.print(
        f"  {escape(str(comparison.out_dir.relative_to(root_dir) if comparison.out_dir.is_relative_to(root_dir) else comparison.out_dir))}/"
    )
    out.print("next:")
    out.print(f"  baes list{root_flag}")
    out.print(f"  baes show {names[0]}{root_flag}")
    out.print(f"  less {escape(str(root_dir / names[0] / 'analysis' / 'report.md'))}")
    out.print(f"  baes new my-exp --from {names[0]} --runs 10{root_flag}   # your own variant")
