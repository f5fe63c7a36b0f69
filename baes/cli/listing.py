"""`baes list`: every experiment under the root at a glance, from the registry alone."""

from __future__ import annotations

from typing import Annotated

import typer

from baes.cli.console import out, print_warning, reports_errors
from baes.cli.options import JsonOption, RootOption

JSON_KEYS = (
    "name",
    "status",
    "model",
    "frameworks",
    "runs_completed",
    "runs_target",
    "runs_verified",
    "created_at",
    "config_hash",
)


@reports_errors
def list_experiments(
    status: Annotated[
        str | None,
        typer.Option(
            help="Only experiments in this status (created, running, incomplete, completed, "
            "config-changed, broken)."
        ),
    ] = None,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the experiments: name, status, model, frameworks, runs done/target, verified, created."""
    from baes.experiment.registry import registry_for
    from baes.store.paths import resolve_root

    root_dir = resolve_root(root)
    view = registry_for(root_dir).view()
    for problem in view.problems:
        print_warning(f"{problem}; rebuilt it from the experiment folders")
    entries = [e for e in view.entries if status is None or e.status == status]

    if json_output:
        import json

        print(json.dumps([{key: getattr(e, key) for key in JSON_KEYS} for e in entries], indent=2))
        return
    if not entries:
        where = f" with status {status!r}" if status else ""
        out.print(f"no experiments{where} in {root_dir} — create one with [bold]baes new NAME[/]")
        return

    from rich.table import Table

    table = Table(title=f"experiments in {root_dir}", title_justify="left", header_style="bold")
    for column in ("name", "status", "model", "frameworks", "runs", "verified", "created"):
        table.add_column(column, justify="right" if column in ("runs", "verified") else "left")
    colors = {"completed": "green", "running": "cyan", "config-changed": "red", "broken": "red"}
    for e in entries:
        target = "?" if e.runs_target is None else str(e.runs_target)
        color = colors.get(e.status)
        table.add_row(
            e.name,
            f"[{color}]{e.status}[/]" if color else e.status,
            e.model or "?",
            ", ".join(e.frameworks),
            f"{e.runs_completed}/{target}",
            # Completed runs whose usage `baes reconcile` verified against the provider.
            f"{e.runs_verified}/{e.runs_completed}",
            (e.created_at or "?")[:16].replace("T", " "),
        )
    out.print(table)
