"""`baes runs`: the runs of one experiment, one line each."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from baes.cli.console import out, print_json, reports_errors, show_warnings
from baes.cli.options import ExperimentName, JsonOption, RootOption
from baes.store.run_folders import RUN_STATUSES

MAX_ERRORS_SHOWN = 10


@reports_errors
def runs(
    name: ExperimentName,
    framework: Annotated[
        str | None,
        typer.Option("--framework", "-f", help="Only this framework's runs.", show_default=False),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help=f"Only runs in this status ({', '.join(RUN_STATUSES)}).", show_default=False
        ),
    ] = None,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """List one experiment's runs: status, start, duration, cost, tokens, checks, verification."""
    from baes.experiment.runs import list_runs
    from baes.store.paths import resolve_root, validate_name

    listing = list_runs(resolve_root(root), validate_name(name), framework=framework, status=status)
    if json_output:
        print_json(
            {
                "experiment": listing.experiment,
                "runs": [row.to_json() for row in listing.rows],
                "problems": listing.problems,
            },
            ensure_ascii=True,
        )
        return
    if not listing.rows:
        which = " ".join(filter(None, [status, framework and f"of {framework}"]))
        out.print(f"no {escape(which) + ' ' if which else ''}runs in {escape(name)}")
        show_warnings(listing.problems)
        return

    from baes.cli.listing import aligned_table

    header = ["run", "framework", "status", "started", "duration", "cost", "tokens in/out"]
    header += ["checks", "verified"]
    rows = [
        [
            row.run_id,
            row.framework,
            row.status,
            (row.started_at or "?")[:19].replace("T", " "),
            "—" if row.duration_s is None else f"{row.duration_s:.1f} s",
            "—" if row.cost_usd is None else f"${row.cost_usd:.4f}",
            f"{_count(row.input_tokens)}/{_count(row.output_tokens)}",
            "—" if row.checks_total is None else f"{row.checks_passed}/{row.checks_total}",
            row.verification,
        ]
        for row in listing.rows
    ]
    colors = {"completed": "green", "running": "cyan", "failed": "red", "interrupted": "yellow"}
    out.print(f"[bold]runs of {escape(name)}[/]  {len(rows)}", highlight=False)
    table = aligned_table(
        header,
        rows,
        right={4, 5, 6, 7},
        status_column=2,
        colors=colors,
        width=out.width if out.is_terminal else 1_000_000,
        shrinkable=1,
    )
    if out.is_terminal:
        out.print(table, no_wrap=True, overflow="ellipsis", crop=True)
    else:  # piped: every column in full, for the script or file that reads it
        typer.echo(table.plain)
    # Why runs failed, first line each (the whole message is in --json and run.json).
    errors = [f"{row.run_id}: {row.error.splitlines()[0]}" for row in listing.rows if row.error]
    for line in errors[:MAX_ERRORS_SHOWN]:
        out.print(line, markup=False, highlight=False, style="dim")
    if len(errors) > MAX_ERRORS_SHOWN:
        out.print(f"… and {len(errors) - MAX_ERRORS_SHOWN} more failed runs (see --json)")
    show_warnings(listing.problems)


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"
