"""`baes rm`: delete an experiment (its folder and registry entry), asking first."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from baes.cli.console import out, print_json, reports_errors
from baes.cli.options import ExperimentName, JsonOption, RootOption


@reports_errors
def rm(
    name: ExperimentName,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking (needed without a terminal).")
    ] = False,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete an experiment: its folder (design, runs, analyses) and its registry entry.

    Refused while a `baes run` runs it. Asks first unless --yes.
    """
    from baes.errors import InputError
    from baes.experiment.remove import experiment_folder, remove_experiment
    from baes.store.manifest import Manifest
    from baes.store.paths import resolve_root, validate_name

    root_dir = resolve_root(root)
    paths = experiment_folder(root_dir, validate_name(name))
    if not yes:
        if not sys.stdin.isatty():
            raise InputError(
                f"not deleting {name!r} without confirmation: there is no terminal to ask on",
                hint=f"pass --yes to delete it: baes rm {name} --yes",
            )
        runs = len(Manifest(paths).read().runs)
        if not typer.confirm(
            f"Delete experiment {name!r} and its {runs} run(s) in {paths.dir}? This cannot be undone",
            default=False,
            err=True,
        ):
            raise InputError(f"{name!r} not deleted")
    removal = remove_experiment(root_dir, name)
    if json_output:
        print_json({"removed": removal.name, "path": removal.path, "runs": removal.runs})
        return
    out.print(
        f"removed experiment [bold]{escape(removal.name)}[/] ({removal.runs} run(s)) "
        f"and its folder {escape(removal.path)}",
        highlight=False,
    )
