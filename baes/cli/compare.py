"""`baes compare`: experiments side by side, after showing what differs between their designs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from baes.cli.analyze import (
    MetricOption,
    NoFiguresOption,
    print_outcome_location,
    print_wrapped,
)
from baes.cli.completion import complete_experiment_frameworks, complete_experiment_names
from baes.cli.console import out, print_json, progress_on_stderr, reports_errors, show_warnings
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
            print_wrapped(f"{change['path']}  {values}", indent="    ")
        if len(changes) > MAX_CHANGES_SHOWN:
            out.print(f"    … and {len(changes) - MAX_CHANGES_SHOWN} more (see the report)")


def contrasts_text(stats: Mapping[str, Any]) -> str:
    """One sentence on which groups were tested against which."""
    adjustment = stats["plan"]["p_adjust"]
    if stats["contrasts"] == "all":
        return (
            f"contrasts: every pair of groups, one family ({adjustment}); pairs of different "
            "frameworks in different experiments mix both differences"
        )
    names = ", ".join(f["name"] for f in stats["families"]) or "none"
    return (
        "contrasts: each framework against itself across the experiments, one family per "
        f"framework ({names}), {adjustment} within a family; --contrasts all tests every pair"
    )


def metric_table(stats: Mapping[str, Any], key: str) -> Any:
    """One row per group (framework, experiment), grouped by contrast family: n, mean [CI],
    median, and the family's test on its first row; groups in no family last."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from baes.analysis.report import format_number, mean_ci, metric_title, omnibus_text

    block = stats["metrics"][key]
    unit = stats["metric_info"][key].get("unit")
    title = metric_title(stats, key) + (f" [{unit}]" if unit else "")
    # No vertical rules: their 7 columns would cost the table a third of a line at 100 columns.
    table = Table(
        title=escape(title),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    confidence = f"{stats['plan']['confidence'] * 100:g} %"
    table.add_column("framework", overflow="fold")
    table.add_column("experiment", overflow="fold")
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column(escape(f"mean [{confidence} CI]"), justify="right", no_wrap=True)
    table.add_column("median", justify="right", no_wrap=True)
    table.add_column("family test", min_width=16)
    descriptives = block["descriptives"]
    per_framework = stats["contrasts"] != "all"

    def add(group: str, test: str, first: bool, last: bool) -> None:
        experiment, framework = group.split("/", 1)
        entry = descriptives[group]
        table.add_row(
            escape(framework) if first or not per_framework else "",
            escape(experiment),
            str(entry["n"]),
            escape(mean_ci(entry)),
            format_number(entry["median"]),
            escape(test),
            end_section=last,
        )

    in_family = set()
    for family in block["families"]:
        groups = family["groups"]
        for row, group in enumerate(groups):
            test = omnibus_text({"omnibus": family["omnibus"]}) if row == 0 else ""
            add(group, test, row == 0, row == len(groups) - 1)
            in_family.add(group)
    for group in descriptives:
        if group not in in_family:
            add(group, "not compared", True, False)
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
            help="Keep only this framework (repeatable; a partial comparison, written beside "
            "the full one).",
            autocompletion=complete_experiment_frameworks,
            show_default=False,
        ),
    ] = None,
    metric: MetricOption = None,
    contrasts: Annotated[
        str,
        typer.Option(
            "--contrasts",
            help="same-framework: each framework against itself across the experiments, one "
            "family per framework; all: every pair of groups as one family (written beside the "
            "default comparison).",
        ),
    ] = "same-framework",
    no_figures: NoFiguresOption = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output folder (default: <root>/_compare/<a>__<b>…/, a partial comparison in "
            "its partial-<selection>/ subfolder).",
            show_default=False,
        ),
    ] = None,
    root: RootOption = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the stats.json content plus design_diff to stdout (a partial comparison "
            "is then not written unless --out is given).",
        ),
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
            contrasts=contrasts,
            figures=not no_figures,
            out_dir=out_dir,
            write_partial=not json_output or out_dir is not None,
            progress=progress,
        )
    show_warnings(outcome.warnings)
    stats = outcome.stats
    if json_output:
        print_json(stats)
        if not outcome.written:
            print_outcome_location(outcome, "comparison")
        return
    print_design_diff(stats)
    out.print()
    print_wrapped(contrasts_text(stats))
    for key in stats["metrics"]:
        out.print()
        out.print(metric_table(stats, key))
        for sentence in significant_sentences(stats, key):
            print_wrapped(f"• {sentence}", indent="  ")
    out.print()
    print_outcome_location(outcome, "comparison")
