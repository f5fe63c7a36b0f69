"""`baes analyze`: statistics, report and figures of one experiment (or of a tidy CSV)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from baes.cli.completion import complete_experiment_names, complete_metrics
from baes.cli.console import (
    err,
    out,
    print_json,
    print_written,
    progress_on_stderr,
    reports_errors,
    show_warnings,
)
from baes.cli.options import RootOption

if TYPE_CHECKING:
    from baes.analysis.analyze import AnalysisOutcome

MetricOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metric",
        "-m",
        help="Analyse only this metric (repeatable), e.g. TOK_IN or COST_USD; an unknown name "
        "lists the valid ones. A partial analysis: written beside the full one.",
        autocompletion=complete_metrics,
        show_default=False,
    ),
]
NoFiguresOption = Annotated[
    bool, typer.Option("--no-figures", help="Do not draw the PNG figures (faster).")
]


def print_wrapped(text: str, indent: str = "", hanging: str = "  ") -> None:
    """Plain text wrapped to the terminal's width (stdout is soft-wrapped: rich would not)."""
    for line in textwrap.wrap(
        text,
        width=max(out.width, 40),
        initial_indent=indent,
        subsequent_indent=indent + hanging,
        break_on_hyphens=False,
    ):
        out.print(line, markup=False)


def print_outcome_location(outcome: AnalysisOutcome, what: str) -> None:
    """Where the files went; a partial analysis says that the full one was left as it was."""
    if not outcome.written:
        err.print(
            f"partial {what} ({outcome.partial}): printed only, nothing written; the full "
            f"{what} is left as it was (add --out DIR to keep this one, or drop --json to "
            f"write it to {outcome.out_dir})",
            markup=False,
        )
        return
    if outcome.partial is not None:
        print_wrapped(
            f"partial {what} ({outcome.partial}), written beside the full {what}, which is "
            "left as it was:"
        )
    print_written(outcome)


def summary_table(stats: Mapping[str, Any], width: int | None = None) -> Any:
    """Per metric and group: n, mean [CI], median; per metric: omnibus p and the best group.

    On a narrow terminal (`width`, default the console's) cells wrap between words, never
    inside a number or a name; if even that does not fit, the `best` column is left out (the
    best group is still shown in bold green in the group column).
    """
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from baes.analysis.report import best_group, format_number, format_p, mean_ci

    confidence = f"{stats['plan']['confidence'] * 100:g} %"
    header = [
        ("metric", "left"),
        ("group", "left"),
        ("n", "right"),
        (f"mean [{confidence} CI]", "right"),
        ("median", "right"),
        ("omnibus p", "right"),
        ("best", "left"),
    ]
    rows: list[tuple[list[str], bool]] = []
    keys = list(stats["metrics"])
    for index, key in enumerate(keys):
        block = stats["metrics"][key]
        unit = stats["metric_info"][key].get("unit")
        best = best_group(stats, key)
        p = block["omnibus"].get("p")
        significant = p is not None and p < stats["plan"]["alpha"]
        groups = list(block["descriptives"])
        for row, group in enumerate(groups):
            entry = block["descriptives"][group]
            first = row == 0
            name = escape(group)
            cells = [
                (f"{escape(key)}\n[dim]({escape(unit)})[/]" if unit else escape(key))
                if first
                else "",
                f"[bold green]{name}[/]" if group == best else name,
                str(entry["n"]),
                escape(mean_ci(entry)),
                format_number(entry["median"]),
                (f"[bold]{format_p(p)}[/]" if significant else format_p(p)) if first else "",
                escape(best or "—") if first else "",
            ]
            rows.append((cells, row == len(groups) - 1 and index < len(keys) - 1))

    def narrowest(column: int) -> int:
        """The longest word of the column: it may wrap between words, never inside one."""
        texts = [header[column][0]] + [Text.from_markup(cells[column]).plain for cells, _ in rows]
        return max(len(word) for text in texts for word in text.split() or [""])

    from baes.cli.console import out

    available = out.width if width is None else width
    shown = list(range(len(header)))
    # 3 characters per column (padding and rule) and one for the closing rule.
    if sum(narrowest(i) + 3 for i in shown) + 1 > available:
        shown.remove(len(header) - 1)  # `best`: the group column already shows it in bold green
    table = Table(title="summary", title_justify="left", header_style="bold")
    for column in shown:
        title, justify = header[column]
        table.add_column(
            escape(title),
            justify=justify,  # type: ignore[arg-type]
            min_width=narrowest(column),
            no_wrap=column < 2,  # names and metric keys stay whole
        )
    for cells, end_section in rows:
        table.add_row(*(cells[i] for i in shown), end_section=end_section)
    return table


@reports_errors
def analyze(
    name: Annotated[
        str | None,
        typer.Argument(
            help="Experiment name (omit it with --from-csv).",
            autocompletion=complete_experiment_names,
            show_default=False,
        ),
    ] = None,
    metric: MetricOption = None,
    verified_only: Annotated[
        bool,
        typer.Option(
            "--verified-only",
            help="Only runs whose token usage is verified against the provider (baes "
            "reconcile). A partial analysis: written beside the full one.",
        ),
    ] = False,
    p_adjust: Annotated[
        str | None,
        typer.Option(
            "--p-adjust",
            help="Override the plan's p-value adjustment: holm, sidak, bonferroni or none "
            "(stated in the report as a deviation).",
            show_default=False,
        ),
    ] = None,
    ci_method: Annotated[
        str | None,
        typer.Option(
            "--ci-method",
            help="Override the plan's interval of the mean from 30 runs on: bootstrap-t, bca or "
            "percentile (a stated deviation).",
            show_default=False,
        ),
    ] = None,
    no_figures: NoFiguresOption = False,
    from_csv: Annotated[
        Path | None,
        typer.Option(
            "--from-csv",
            help="Analyse a tidy CSV with columns group,metric,value (an optional run column is "
            "ignored) instead of an experiment.",
            show_default=False,
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output folder (default: the experiment's analysis/ folder, or "
            "./analysis-<file stem>/ with --from-csv).",
            show_default=False,
        ),
    ] = None,
    root: RootOption = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print stats.json to stdout instead of the summary (a partial analysis is then "
            "not written unless --out is given).",
        ),
    ] = False,
) -> None:
    """Analyse an experiment: statistics per metric, report.md, stats.json and figures."""
    from baes.errors import InputError

    if (name is None) == (from_csv is None):
        raise InputError(
            "give either an experiment NAME or --from-csv FILE"
            if name is None
            else "give an experiment NAME or --from-csv FILE, not both",
            hint="baes analyze NAME, or baes analyze --from-csv results.csv",
        )
    if from_csv is not None and verified_only:
        raise InputError("--verified-only needs an experiment: a CSV carries no verification")

    with progress_on_stderr("analysing") as progress:
        if from_csv is not None:
            from baes.analysis.analyze import analyze_csv

            outcome = analyze_csv(
                from_csv,
                metrics=metric,
                p_adjust=p_adjust,
                ci_method=ci_method,
                figures=not no_figures,
                out_dir=out_dir,
                write_partial=not json_output or out_dir is not None,
                progress=progress,
            )
        else:
            from baes.analysis.analyze import analyze_experiment
            from baes.store.paths import resolve_root, validate_name

            outcome = analyze_experiment(
                resolve_root(root),
                validate_name(name or ""),
                metrics=metric,
                verified_only=verified_only,
                p_adjust=p_adjust,
                ci_method=ci_method,
                figures=not no_figures,
                out_dir=out_dir,
                write_partial=not json_output or out_dir is not None,
                progress=progress,
            )
    if verified_only:
        coverage = outcome.stats["verification_coverage"]["overall"]
        err.print(
            f"--verified-only: {coverage['states'].get('verified', 0)} of "
            f"{coverage['completed_runs']} completed runs have verified usage; only those "
            "are analysed",
            markup=False,
        )
    show_warnings(outcome.warnings)
    if json_output:
        print_json(outcome.stats)
        if not outcome.written:
            print_outcome_location(outcome, "analysis")
        return
    out.print(summary_table(outcome.stats))
    print_outcome_location(outcome, "analysis")
