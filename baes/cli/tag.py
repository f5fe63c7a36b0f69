"""`baes tag`: add or remove an experiment's tags (outside its hashed design)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from baes.cli.console import out, print_json, reports_errors
from baes.cli.options import ExperimentName, JsonOption, RootOption


@reports_errors
def tag(
    name: ExperimentName,
    tags: Annotated[
        list[str] | None,
        typer.Argument(help="Tags to add (a-z, 0-9, '.', '_', '-').", show_default=False),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("--remove", "-r", help="A tag to remove (repeatable).", show_default=False),
    ] = None,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """Tag an experiment (`baes list --tag TAG` filters on them); without tags, show its tags."""
    from baes.experiment.annotations import change_tags, read_annotations
    from baes.experiment.load import inspect_experiment
    from baes.store.paths import resolve_root, validate_name

    paths = inspect_experiment(resolve_root(root), validate_name(name)).paths
    if tags or remove:
        # Removals first: `baes tag x new --remove old` renames a tag in one write.
        annotations = change_tags(paths, add=tags or [], remove=remove or [])
    else:
        annotations = read_annotations(paths)
    if json_output:
        print_json({"experiment": name, "tags": list(annotations.tags)})
        return
    shown = ", ".join(annotations.tags) if annotations.tags else "no tags"
    out.print(f"[bold]{escape(name)}[/]: {escape(shown)}", highlight=False)
