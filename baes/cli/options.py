"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from baes.cli.completion import complete_experiment_names

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        envvar="BAES_ROOT",
        help="Folder holding the experiments (default: ./experiments).",
        show_default=False,
    ),
]

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")
]

JobsOption = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Runs executed at once.")]

ExperimentName = Annotated[
    str,
    typer.Argument(
        help="Experiment name.", autocompletion=complete_experiment_names, show_default=False
    ),
]
