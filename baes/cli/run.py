"""`baes run`: execute an experiment's runs with live progress; resumable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from baes.cli.completion import complete_experiment_frameworks
from baes.cli.console import err, out, print_json, reports_errors
from baes.cli.options import ExperimentName, JobsOption, JsonOption, RootOption


def _summary_json(summary) -> dict:
    return {
        "interrupted": summary.interrupted,
        "budget_exhausted": summary.budget_exhausted,
        "spent_usd": summary.spent_usd,
        "recovered_interrupted_runs": summary.recovered,
        "frameworks": {
            name: {
                "completed": len(state.completed),
                "failed": state.failed,
                "interrupted": state.interrupted,
                "gave_up": state.gave_up,
                "stopped": state.stopped,
                "outcome": state.outcome,
                "cost_usd": state.cost_usd,
            }
            for name, state in summary.progress.items()
        },
    }


def _print_plan(name: str, plans) -> None:
    from rich.table import Table

    table = Table(
        title=f"plan for {name} (dry run: nothing is executed)",
        title_justify="left",
        header_style="bold",
    )
    for column in ("framework", "done", "to do", "calls", "cost/run", "forecast", "basis"):
        table.add_column(column, justify="left" if column == "framework" else "right")
    bases: list[str] = []
    for p in plans:
        basis = f"{p.basis_kind}: {p.basis}"
        if basis not in bases:
            bases.append(basis)
        todo = (
            f"{p.remaining_min}"
            if p.remaining_min == p.remaining_max
            else f"{p.remaining_min}-{p.remaining_max}"
        )
        at_least = "≥" if p.basis_kind == "floor" else ""
        forecast = "-" if p.remaining_max == 0 else f"{at_least}${p.cost_low:.4f}–{p.cost_high:.4f}"
        table.add_row(
            p.framework,
            f"{p.completed}" + (f" +{p.failed} failed" if p.failed else ""),
            todo,
            f"{p.calls_per_run:.1f}",
            f"{at_least}${p.cost_per_run:.4f}",
            forecast,
            f"[{bases.index(basis) + 1}]",
        )
    out.print(table)
    for number, basis in enumerate(bases, start=1):
        out.print(f"[{number}] {basis}", markup=False)
    for p in plans:
        if p.stopped:
            out.print(f"{p.framework}: nothing to do ({p.stopped})", markup=False)
    low, high = sum(p.cost_low for p in plans), sum(p.cost_high for p in plans)
    floor = any(p.basis_kind == "floor" and p.remaining_max for p in plans)
    out.print(
        f"forecast for the remaining runs: ${low:.4f} – ${high:.4f}"
        + (
            " (at least: a framework's calls per step are unknown until it has run)"
            if floor
            else ""
        )
    )


def _dry_run(root_dir, name: str, frameworks: list[str] | None, json_output: bool) -> int:
    """Print the plan, the forecast and the preflight; the exit code `baes run` would start with
    (0, or 2/1 for the preflight problems that would stop it)."""
    from baes.engine.forecast import plan_remaining
    from baes.engine.preflight import PreflightError, PreflightProblem, dry_run_problems
    from baes.experiment.load import load_experiment

    plans = plan_remaining(root_dir, name, frameworks)
    problems: list[PreflightProblem] = []
    provider_asked = False
    checked = any(p.remaining_max > 0 for p in plans)  # like `baes run`: none with nothing to do
    if checked:
        problems, provider_asked = dry_run_problems(load_experiment(root_dir, name)[1])
    if json_output:
        import dataclasses

        print_json(
            {
                "frameworks": [dataclasses.asdict(p) for p in plans],
                "forecast_usd": {
                    "low": sum(p.cost_low for p in plans),
                    "high": sum(p.cost_high for p in plans),
                    "lower_bound_only": any(
                        p.basis_kind == "floor" and p.remaining_max for p in plans
                    ),
                },
                "preflight": {
                    "checked": checked,
                    "provider_checked": provider_asked,
                    "problems": [dataclasses.asdict(p) for p in problems],
                },
            },
            ensure_ascii=True,
            allow_nan=True,
        )
    else:
        _print_plan(name, plans)
        if problems:
            for problem in problems:
                err.print(f"[red]preflight:[/] {escape(problem.message)}")
            err.print("baes run would refuse to start (nothing was run).")
        elif checked:
            out.print(
                "preflight: ok"
                + ("" if provider_asked else " (the embedded simulator is checked by baes run)")
            )
    return PreflightError(problems).exit_code if problems else 0


def _request(
    frameworks, jobs, keep_workspaces, executor, scheduler, workers, shared_dir, proxy_host
):
    """The RunRequest of these options; InputError for a combination that cannot work."""
    from baes.engine.coordinator import DASK, LOCAL, RunRequest
    from baes.errors import InputError

    if executor not in (LOCAL, DASK):
        raise InputError(f"--executor must be {LOCAL} or {DASK}, got {executor!r}")
    dask_only = {"--scheduler": scheduler, "--workers": workers, "--shared-dir": shared_dir}
    given = [flag for flag, value in dask_only.items() if value is not None]
    if executor == LOCAL and given:
        raise InputError(f"{', '.join(given)} only apply with --executor dask")
    if scheduler is not None and workers is not None:
        raise InputError(
            "--scheduler and --workers exclude each other",
            hint="--workers starts a local cluster; --scheduler uses a running one",
        )
    if workers is not None and workers < 1:
        raise InputError("--workers must be at least 1")
    if shared_dir is not None and not shared_dir.is_dir():
        raise InputError(f"--shared-dir {shared_dir} is not a folder")
    if proxy_host.strip() in ("", "0.0.0.0", "::", "[::]"):
        raise InputError(
            f"--proxy-host must be an address workers can call, got {proxy_host!r}",
            hint="give this machine's address on the cluster's network (docs/distributed.md)",
        )
    dask = None
    if executor == DASK:
        from baes.engine.dask_executor import DaskSettings

        dask = DaskSettings(scheduler, workers, shared_dir.resolve() if shared_dir else None)
    return RunRequest(
        frameworks=frameworks,
        jobs=jobs,
        keep_workspaces=keep_workspaces,
        executor=executor,
        dask=dask,
        proxy_host=proxy_host.strip(),
    )


@reports_errors
def run(
    name: ExperimentName,
    framework: Annotated[
        list[str] | None,
        typer.Option(
            "--framework",
            "-f",
            help="Run only this framework (repeatable).",
            autocompletion=complete_experiment_frameworks,
        ),
    ] = None,
    jobs: JobsOption = 1,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and a cost forecast; run nothing.")
    ] = False,
    keep_workspaces: Annotated[
        bool,
        typer.Option(
            "--keep-workspaces", help="Keep each run's workspace folder next to its archive."
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress; only the final summary.")
    ] = False,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="Where runs execute: local (threads of this process) or dask (a Dask cluster; "
            "needs the dask extra of baes). See docs/distributed.md.",
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="With --executor dask: the address of a running `dask scheduler`."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="With --executor dask: start a local cluster of this many worker processes "
            "(the default without --scheduler: 2).",
        ),
    ] = None,
    shared_dir: Annotated[
        Path | None,
        typer.Option(
            "--shared-dir",
            help="With --executor dask: a folder the workers and this machine both see; "
            "workspace archives come back through it instead of over the network.",
        ),
    ] = None,
    proxy_host: Annotated[
        str,
        typer.Option(
            "--proxy-host",
            help="The address the metering proxy listens on; workers on other machines call it "
            "there (trusted networks only, see docs/distributed.md).",
        ),
    ] = "127.0.0.1",
    proxy_port: Annotated[
        int,
        typer.Option(
            "--proxy-port",
            min=0,
            max=65535,
            help="The port the metering proxy listens on (0: a free one); fix it for a firewall "
            "rule or an SSH tunnel.",
        ),
    ] = 0,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """Execute the experiment's runs (resumable: completed runs are kept, the rest continue)."""
    from baes.store.paths import resolve_root, validate_name

    root_dir = resolve_root(root)
    validate_name(name)
    request = _request(
        framework, jobs, keep_workspaces, executor, scheduler, workers, shared_dir, proxy_host
    )
    request.proxy_port = proxy_port
    if dry_run:
        raise typer.Exit(_dry_run(root_dir, name, framework, json_output))

    summary = execute_with_progress(root_dir, name, request, quiet=quiet or json_output)
    if json_output:
        print_json(_summary_json(summary), ensure_ascii=True, allow_nan=True)
    else:
        print_run_summary(name, summary, root)
    raise typer.Exit(run_exit_code(summary))


def execute_with_progress(root_dir, name: str, request, quiet: bool):
    """Run the experiment with the live view on a terminal, plain lines otherwise."""
    from baes.cli.run_progress import LineObserver, LiveObserver
    from baes.engine.coordinator import run_experiment

    live = sys.stderr.isatty() and not quiet
    observer = LiveObserver(err, name, request.jobs) if live else LineObserver(err, quiet)
    try:
        return run_experiment(root_dir, name, request, observer)
    finally:
        observer.close()


def run_exit_code(summary) -> int:
    """0 when every framework converged or reached runs.max; 130 after Ctrl-C; 1 when one did
    not get the runs it needs (gave up, budget spent, or anything else left it short)."""
    if summary.interrupted:
        return 130
    if summary.unmet or summary.budget_exhausted:
        return 1
    return 0


def print_run_summary(name: str, summary, root) -> None:
    from rich.table import Table

    table = Table(title=f"runs of {name}", title_justify="left", header_style="bold")
    names_width = max((len(state.name) for state in summary.progress.values()), default=9)
    for column in ("framework", "completed", "failed", "interrupted", "cost", "why it stopped"):
        table.add_column(
            column,
            justify="left" if column in ("framework", "why it stopped") else "right",
            # A framework's name is never cut to `reference-rep…` on a narrow terminal.
            min_width=names_width if column == "framework" else None,
            no_wrap=column == "framework",
            overflow="fold",
        )
    for state in summary.progress.values():
        table.add_row(
            state.name,
            str(len(state.completed)),
            str(state.failed),
            str(state.interrupted),
            f"${state.cost_usd:.4f}",
            state.stopped or "",
        )
    out.print(table)
    out.print(f"experiment cost so far: ${summary.spent_usd:.4f}")
    root_flag = "" if root is None else escape(f" --root {root}")
    if summary.interrupted:
        out.print(f"[yellow]interrupted.[/] Resume with: [bold]baes run {name}{root_flag}[/]")
    elif summary.budget_exhausted:
        out.print("[red]stopped: the experiment's budget (limits.max_cost_usd) is spent[/]")
    elif summary.gave_up:
        out.print(
            f"[red]gave up on: {', '.join(summary.gave_up)}[/] (see the failed runs' run.json and logs)"
        )
    elif summary.unmet:
        out.print(f"[red]short of their target: {escape(', '.join(summary.unmet))}[/]")
    else:
        out.print(f"next: [bold]baes analyze {name}{root_flag}[/]")
