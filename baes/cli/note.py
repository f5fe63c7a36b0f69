"""`baes note`: add a free-text note to an experiment (outside its hashed design)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from baes.cli.console import out, print_json, reports_errors
from baes.cli.options import ExperimentName, JsonOption, RootOption


@reports_errors
def note(
    name: ExperimentName,
    text: Annotated[str, typer.Argument(help="The note (quote it).", show_default=False)],
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add a note to an experiment; `baes show` lists its notes. The design's hash is unchanged."""
    from baes.experiment.annotations import add_note
    from baes.experiment.load import inspect_experiment
    from baes.store.paths import resolve_root, validate_name

    paths = inspect_experiment(resolve_root(root), validate_name(name)).paths
    annotations = add_note(paths, text)
    if json_output:
        print_json({"experiment": name, **annotations.to_json()})
        return
    out.print(
        f"noted on [bold]{escape(name)}[/] ({len(annotations.notes)} note(s))", highlight=False
    )
