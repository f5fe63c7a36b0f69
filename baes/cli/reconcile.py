"""`baes reconcile`: cross-check the metered usage against the provider's usage API."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from baes.cli.completion import complete_experiment_frameworks
from baes.cli.console import err, out, print_json, print_warning, reports_errors
from baes.cli.options import ExperimentName, JsonOption, RootOption

if TYPE_CHECKING:
    from baes.reconcile.report import ReconcileReport, RunCheck

DEFAULT_INTERVAL_S = 60.0
STATE_STYLES = {
    "verified": "green",
    "mismatch": "bold red",
    "pending": "yellow",
    "unavailable": "magenta",
    "unverified": "dim",
}


def _state(state: str) -> str:
    return f"[{STATE_STYLES.get(state, 'white')}]{state}[/]"


def _counts(report: ReconcileReport, framework: str | None = None) -> str:
    """`6 runs: 4 verified, 2 pending`."""
    from baes.reconcile.states import STATES

    counts = report.counts(framework)
    runs = sum(counts.values())
    shown = ", ".join(f"{counts[s]} {_state(s)}" for s in STATES if counts.get(s))
    return f"{runs} run{'s' if runs != 1 else ''}: {shown or 'none'}"


def _percent(delta: int, ledger: int) -> str:
    if ledger == 0:
        return "—" if delta == 0 else "new"
    return f"{delta / ledger * 100:+.2f} %"


def _run_table(check: RunCheck) -> None:
    from rich.table import Table

    from baes.reconcile.quantities import QUANTITY_LABELS, QUANTITY_NAMES

    title = f"{check.run_id} · {check.framework} · {_state(check.state)}"
    if check.previous_state != check.state:
        title += f" (was {check.previous_state})"
    if check.ledger is None:
        out.print(f"{title}: {escape(check.message)}")
        return
    table = Table(title=title, title_justify="left", header_style="bold")
    columns = ("quantity", "this run", "ledger", "provider", "Δ", "Δ %")
    for column in columns:
        table.add_column(column, justify="left" if column == "quantity" else "right")
    for name in QUANTITY_NAMES:
        ledger = getattr(check.ledger, name)
        provider = getattr(check.provider, name) if check.provider else None
        delta = None if provider is None else provider - ledger
        table.add_row(
            QUANTITY_LABELS[name],
            f"{getattr(check.own, name):,}" if check.own else "—",
            f"{ledger:,}",
            "—" if provider is None else f"{provider:,}",
            "—" if delta is None else f"{delta:+,}",
            "—" if delta is None else _percent(delta, ledger),
        )
    where = ", ".join(check.buckets)
    shared = (
        f" (ledger: all {check.shared_with + 1} runs with calls in these minutes)"
        if check.shared_with
        else ""
    )
    table.caption = f"minutes {where}{shared}. {check.message}"
    table.caption_justify = "left"
    out.print(table)


def _run_line(check: RunCheck) -> None:
    """One line: the run, its framework, its state (and what it was), and why when it matters."""
    was = f" (was {check.previous_state})" if check.previous_state != check.state else ""
    line = f"{check.run_id}  {escape(check.framework)}  {_state(check.state)}{was}"
    if check.state in ("pending", "mismatch", "unavailable") and check.message:
        line += f": {escape(check.message)}"
    out.print(line)


def _list_table(report: ReconcileReport) -> None:
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"usage verification of {report.experiment}",
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )
    for column in ("run", "framework", "status", "state", "since (UTC)"):
        table.add_column(column, no_wrap=column in ("run", "state"), overflow="fold")
    for check in report.runs:
        table.add_row(
            check.run_id,
            check.framework,
            check.status,
            _state(check.state),
            (check.changed_at or "—")[5:16].replace("T", " "),
        )
    out.print(table)
    # Why a run is not verified, for the states that need a reader's attention.
    for check in report.runs:
        if check.state in ("pending", "mismatch", "unavailable") and check.message:
            out.print(f"{check.run_id} {_state(check.state)}: {escape(check.message)}")


def _render(report: ReconcileReport, listing: bool, verbose: bool) -> None:
    if not report.runs:
        out.print(f"no runs to reconcile in {report.experiment}")
        return
    if listing:
        _list_table(report)
    else:
        read = report.read
        if read is not None and read.ok:
            out.print(
                f"read the provider's usage for {read.window[1] // 60 - read.window[0] // 60} "
                f"minute(s) in {read.pages} page(s) (read {read.read_id})"
            )
        elif read is not None:
            out.print(
                f"[bold red]the usage read failed[/]: {escape(read.error or 'no reason recorded')}"
            )
        for check in report.runs:
            if verbose:
                _run_table(check)
            else:
                _run_line(check)
    for framework in report.frameworks:
        out.print(f"{framework}: {_counts(report, framework)}")
    out.print(f"overall: {_counts(report)}")


@reports_errors
def reconcile(
    name: ExperimentName,
    framework: Annotated[
        str | None,
        typer.Option(
            "--framework",
            "-f",
            help="Only this framework's runs.",
            autocompletion=complete_experiment_frameworks,
        ),
    ] = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Only this run (its id or a unique prefix).")
    ] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="Show the stored states; call no provider.")
    ] = False,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Read again every --interval until no run is left pending."),
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval",
            min=0.01,
            help=f"Seconds between reads with --watch (default {DEFAULT_INTERVAL_S:g}).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Per run, a table of the ledger's and the provider's counts in its minutes.",
        ),
    ] = False,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """Cross-check the runs' metered usage against the provider's usage API (exit 1 on a mismatch).

    Each run goes unverified → pending → verified, or mismatch when settled provider data
    disagrees with the ledger; unavailable says why no check was possible. See docs/reconcile.md.
    """
    from baes.errors import InputError
    from baes.reconcile.reconcile import Selection, list_states, reconcile_experiment
    from baes.store.paths import resolve_root, validate_name

    if list_only and watch:
        raise InputError("--list shows stored states and --watch reads the provider; give one")
    if list_only and verbose:
        raise InputError("--verbose details a read of the provider; --list reads nothing")
    if interval is not None and not watch:
        raise InputError("--interval needs --watch")
    root_dir = resolve_root(root)
    validate_name(name)
    selection = Selection(framework=framework, run=run)
    if list_only:
        report = list_states(root_dir, name, selection)
    else:
        report = reconcile_experiment(root_dir, name, selection)
        rounds = 1
        while watch and not report.settled:
            wait = DEFAULT_INTERVAL_S if interval is None else interval
            err.print(
                f"[dim]read {rounds}: {_counts(report)}; "
                f"reading again in {wait:g} s (Ctrl-C stops)[/]"
            )
            time.sleep(wait)
            report = reconcile_experiment(root_dir, name, selection)
            rounds += 1
    for problem in report.problems:
        print_warning(problem)
    if json_output:
        print_json(report.to_json(), allow_nan=True)
    else:
        _render(report, list_only, verbose)
    if report.any_mismatch:
        raise typer.Exit(1)
