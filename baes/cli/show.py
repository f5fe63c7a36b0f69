"""`baes show`: one experiment's design, whether it still matches its hash, its runs and paths."""

from __future__ import annotations

import textwrap

from rich.markup import escape

from baes.cli.console import out, print_json, reports_errors, show_warnings
from baes.cli.options import ExperimentName, JsonOption, RootOption


@reports_errors
def show(name: ExperimentName, root: RootOption = None, json_output: JsonOption = False) -> None:
    """Show an experiment: design summary, hash check, runs per framework and status, paths."""
    from baes.experiment.annotations import Annotations, AnnotationsError, read_annotations
    from baes.experiment.summary import experiment_summary
    from baes.store.paths import ExperimentPaths, resolve_root, validate_name

    root_dir = resolve_root(root)
    summary = experiment_summary(root_dir, validate_name(name))
    try:
        annotations = read_annotations(ExperimentPaths(root_dir, name))
    except AnnotationsError as exc:  # a damaged notes file must not hide the rest
        summary["problems"].append(exc.message)
        annotations = Annotations()
    if json_output:
        notes = [n.to_json() for n in annotations.notes]
        print_json(
            {**summary, "tags": list(annotations.tags), "notes": notes},
            ensure_ascii=True,
            allow_nan=True,
        )
        return

    from rich.table import Table

    design = summary["design"]
    out.print(f"[bold]{summary['name']}[/]  {summary['status']}")
    if summary["description"]:
        out.print(summary["description"], markup=False)
    if summary["config_ok"]:
        out.print(f"[green]config matches its hash[/] {summary['config_hash']}")
    else:
        out.print(
            f"[bold red]config does not match its frozen hash[/]: {summary['config_problem']}"
        )
    if annotations.tags:
        out.print(f"tags        {', '.join(annotations.tags)}", markup=False)
    if design:
        out.print(f"model       {design['model']} (provider {design['provider']})")
        out.print(f"scenario    {design['scenario']} ({design['steps']} steps)")
        out.print(f"runs        {design['runs_min']}..{design['runs_max']} per framework")
    table = Table(title="runs", title_justify="left", header_style="bold")
    statuses = ("completed", "failed", "interrupted", "running")
    table.add_column("framework")
    for status in statuses:
        table.add_column(status, justify="right")
    for framework, counts in summary["runs"].items():
        table.add_row(framework, *(str(counts.get(s, 0)) for s in statuses))
    out.print(table)
    for framework, checks in summary["checks"].items():
        if checks["passed"] + checks["failed"] + checks["error"] == 0:
            continue
        line = (
            f"checks      {framework}: {checks['passed']} passed, {checks['failed']} failed, "
            f"{checks['error']} could not run (error)"
        )
        reasons = "; ".join(f"{n} × {why}" for why, n in checks["error_reasons"].items())
        out.print(line + (f": {reasons}" if reasons else ""), markup=False, highlight=False)
    for label, path in summary["paths"].items():
        out.print(f"{label:<11} {escape(str(path))}")
    for note in annotations.notes:
        out.print(f"note        {note.created_at[:16].replace('T', ' ')}", highlight=False)
        out.print(textwrap.indent(note.text, " " * 12), markup=False, highlight=False)
    show_warnings(summary["problems"])
