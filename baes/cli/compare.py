"""`baes compare`: experiments side by side, after showing what differs between their designs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from baes.cli.analyze import MetricOption, NoFiguresOption
from baes.cli.completion import complete_experiment_names
from baes.cli.console import (
    out,
    print_json,
    print_written,
    progress_on_stderr,
    reports_errors,
    show_warnings,
)
from baes.cli.options import RootOption

MAX_CHANGES_SHOWN = 6


def _short(value: Any, limit: int = 48) -> str:
    text = "(absent)" if value is None else " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_design_diff(stats: Mapping[str, Any]) -> None:
    """The design fields that differ, with the values per experiment."""
    diff = stats["design_diff"]
    if not diff:
        out.print("[green]the designs are the same[/] in every field that can change results")
        return
    out.print("[bold]what differs between the designs[/]")
    for entry in diff:
        changes = entry["changes"]
        out.print(f"  {entry['field']}", style="bold", markup=False)
        for change in changes[:MAX_CHANGES_SHOWN]:
            values = "  ".join(f"{n}: {_short(v)}" for n, v in change["values"].items())
            out.print(f"    {change['path']}  {values}", markup=False)
        if len(changes) > MAX_CHANGES_SHOWN:
            out.print(f"    … and {len(changes) - MAX_CHANGES_SHOWN} more (see the report)")


def metric_table(stats: Mapping[str, Any], key: str) -> Any:
    """One column per group: mean [CI] and n; the omnibus result as the caption."""
    from rich.markup import escape
    from rich.table import Table

    from baes.analysis.report import format_number, mean_ci, metric_title, omnibus_text

    block = stats["metrics"][key]
    unit = stats["metric_info"][key].get("unit")
    title = metric_title(stats, key) + (f" [{unit}]" if unit else "")
    table = Table(
        title=escape(title),
        title_justify="left",
        header_style="bold",
        caption=escape(omnibus_text(block)),
        caption_justify="left",
    )
    table.add_column("")
    for group in block["descriptives"]:
        table.add_column(escape(group), justify="right")
    entries = list(block["descriptives"].values())
    confidence = f"{stats['plan']['confidence'] * 100:g} %"
    table.add_row(escape(f"mean [{confidence} CI]"), *(escape(mean_ci(e)) for e in entries))
    table.add_row("median", *(format_number(e["median"]) for e in entries))
    table.add_row("n", *(str(e["n"]) for e in entries))
    return table


@reports_errors
def compare(
    names: Annotated[
        list[str],
        typer.Argument(
            help="Two or more experiment names.",
            autocompletion=complete_experiment_names,
            show_default=False,
        ),
    ],
    framework: Annotated[
        list[str] | None,
        typer.Option(
            "--framework",
            "-f",
            help="Keep only this framework (repeatable).",
            show_default=False,
        ),
    ] = None,
    metric: MetricOption = None,
    no_figures: NoFiguresOption = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output folder (default: <root>/_compare/<a>__<b>…/).",
            show_default=False,
        ),
    ] = None,
    root: RootOption = None,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the stats.json content plus design_diff to stdout."),
    ] = False,
) -> None:
    """Compare experiments: what differs between their designs, then every metric per group."""
    from baes.analysis.compare import compare_experiments
    from baes.analysis.report import significant_sentences
    from baes.store.paths import resolve_root

    with progress_on_stderr("comparing") as progress:
        outcome = compare_experiments(
            resolve_root(root),
            names,
            frameworks=framework,
            metrics=metric,
            figures=not no_figures,
            out_dir=out_dir,
            progress=progress,
        )
    show_warnings(outcome.warnings)
    stats = outcome.stats
    if json_output:
        print_json(stats)
        return
    print_design_diff(stats)
    for key in stats["metrics"]:
        out.print()
        out.print(metric_table(stats, key))
        for sentence in significant_sentences(stats, key):
            out.print(f"  • {sentence}", markup=False)
    out.print()
    print_written(outcome)
