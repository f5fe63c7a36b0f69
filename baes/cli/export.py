"""`baes export`: an experiment's runs (or their steps) as CSV or JSON lines, for R, pandas or a
spreadsheet."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from baes.cli.console import err, print_json, reports_errors, show_warnings
from baes.cli.options import ExperimentName, RootOption


@reports_errors
def export(
    name: ExperimentName,
    fmt: Annotated[
        str, typer.Option("--format", help="csv (a header, one row per line) or jsonl.")
    ] = "csv",
    level: Annotated[
        str,
        typer.Option(
            "--level",
            help="run: one row per run with its metrics; step: one row per scenario step.",
        ),
    ] = "run",
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write to this file instead of stdout.", show_default=False
        ),
    ] = None,
    root: RootOption = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="With --out: print what was written as JSON (path, rows, problems) for scripts.",
        ),
    ] = False,
) -> None:
    """Export the per-run (or per-step) data set that `baes analyze` measures."""
    from baes.errors import InputError
    from baes.experiment.export import EXPORT_FORMATS, export_table, render_export
    from baes.store.atomic import atomic_write_text
    from baes.store.paths import resolve_root, validate_name

    if fmt not in EXPORT_FORMATS:  # before reading anything
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if json_output and out_file is None:
        raise InputError(
            "--json describes the file written with --out; without --out the data itself goes "
            "to stdout",
            hint="for the data as JSON lines use --format jsonl",
        )
    table = export_table(resolve_root(root), validate_name(name), level)
    text = render_export(table, fmt)
    show_warnings(table.problems)
    if out_file is None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader stopped early (`| head`): not a failure of the export. Point stdout at
            # /dev/null so that Python's own flush at exit does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    if out_file.is_dir():
        raise InputError(f"--out {out_file} is a folder; give a file name")
    atomic_write_text(out_file, text)
    if json_output:
        print_json(
            {
                "experiment": name,
                "path": str(out_file.absolute()),
                "format": fmt,
                "level": level,
                "rows": len(table.rows),
                "problems": table.problems,
            }
        )
        return
    err.print(
        f"wrote {len(table.rows)} {level} row(s) of {escape(name)} to {escape(str(out_file))}",
        highlight=False,
    )
