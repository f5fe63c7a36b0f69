"""`baes list`: every experiment under the root at a glance, from the registry alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from pathlib import Path

    from rich.text import Text

from baes.cli.completion import complete_statuses
from baes.cli.console import out, print_json, print_warning, reports_errors
from baes.cli.options import JsonOption, RootOption
from baes.records.statuses import EXPERIMENT_STATUSES

STATUSES = EXPERIMENT_STATUSES

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
            help=f"Only experiments in this status ({', '.join(STATUSES)}).",
            autocompletion=complete_statuses,
            show_default=False,
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            help="Only experiments with this tag (repeat: with every one of them).",
            show_default=False,
        ),
    ] = None,
    root: RootOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the experiments: name, status, model, frameworks, runs, verified, created, tags."""
    from baes.errors import InputError
    from baes.experiment.annotations import validate_tag
    from baes.experiment.registry import current_view
    from baes.store.paths import resolve_root

    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r}; choose one of {', '.join(STATUSES)}")
    root_dir = resolve_root(root)
    view = current_view(root_dir)
    for problem in view.problems:
        print_warning(f"{problem}; rebuilt it from the experiment folders")
    entries = [e for e in view.entries if status is None or e.status == status]
    tags = _tags_of(root_dir, [e.name for e in entries])
    if tag:
        wanted = {validate_tag(t) for t in tag}
        entries = [e for e in entries if wanted <= set(tags[e.name])]

    if json_output:
        print_json(
            [
                {**{key: getattr(e, key) for key in JSON_KEYS}, "tags": tags[e.name]}
                for e in entries
            ],
            ensure_ascii=True,
            allow_nan=True,
        )
        return
    if not entries:
        where = f" with status {status!r}" if status else ""
        if tag:
            where += f" tagged {', '.join(sorted(set(tag)))}"
        out.print(
            f"no experiments{where} in {escape(str(root_dir))} — create one with [bold]baes new NAME[/]"
        )
        return

    colors = {"completed": "green", "running": "cyan", "config-changed": "red", "broken": "red"}
    rows = [
        [
            e.name,
            e.status,
            e.model or "?",
            ", ".join(e.frameworks),
            f"{e.runs_completed}/{'?' if e.runs_target is None else e.runs_target}",
            # Completed runs whose usage `baes reconcile` verified against the provider.
            f"{e.runs_verified}/{e.runs_completed}",
            (e.created_at or "?")[:16].replace("T", " "),
        ]
        for e in entries
    ]
    header = ["name", "status", "model", "frameworks", "runs", "verified", "created"]
    if any(tags[e.name] for e in entries):  # the column only when some experiment has tags
        header.append("tags")
        for row, e in zip(rows, entries, strict=True):
            row.append(", ".join(tags[e.name]))
    out.print(f"[bold]experiments in {escape(str(root_dir))}[/]", highlight=False)
    out.print(
        aligned_table(
            header,
            rows,
            right={4, 5},
            status_column=1,
            colors=colors,
            width=out.width,
            wrap={"created": " ", "frameworks": ", ", "tags": ", "},
        ),
        no_wrap=True,
        overflow="ellipsis",
        crop=True,
    )


def _tags_of(root: Path, names: list[str]) -> dict[str, list[str]]:
    """Each experiment's tags; a damaged annotations file is warned about and shows none."""
    from baes.errors import BaesError
    from baes.experiment.annotations import read_annotations
    from baes.store.paths import ExperimentPaths

    tags: dict[str, list[str]] = {}
    for name in names:
        try:
            tags[name] = list(read_annotations(ExperimentPaths(root, name)).tags)
        except BaesError as exc:
            print_warning(exc.message)
            tags[name] = []
    return tags


def _wrap_cell(text: str, width: int, separator: str) -> list[str]:
    """`text` over lines of at most `width`, broken only after `separator` (items kept whole)."""
    mark = separator.rstrip()  # ", " leaves its comma at the end of the line
    lines: list[str] = []
    for item in text.split(separator):
        if lines and len(lines[-1]) + len(separator) + len(item) <= width:
            lines[-1] += separator + item
        else:
            if lines:
                lines[-1] += mark
            lines.append(item)
    return lines or [""]


def aligned_table(
    header: list[str],
    rows: list[list[str]],
    right: set[int],
    status_column: int,
    colors: dict[str, str],
    width: int,
    wrap: dict[str, str] | None = None,
    drop: tuple[str, ...] = ("verified", "created", "model"),
) -> Text:
    """Columns padded to their widest cell, the header bold, the status coloured.

    To fit `width`, the `wrap` columns continue on further lines, broken only at their
    separator (frameworks after a comma, the creation time between date and time), then the
    `drop` columns are left out in that order (both by header name; names not in `header` are
    ignored); a cell is never cut (a date cut to `2026-12-…` would mislead).

    rich's Table measures every cell and takes 0.2-0.4 s for a couple of hundred rows, most of
    `baes list`'s start-up budget; fixed-width lines render in a few milliseconds.
    """
    from rich.text import Text

    by_name = {"created": " ", "frameworks": ", "} if wrap is None else wrap
    wrap_at = {header.index(name): sep for name, sep in by_name.items() if name in header}
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    shown = list(range(len(header)))

    def overflow() -> int:
        return sum(widths[i] for i in shown) + 2 * (len(shown) - 1) - width

    for index, separator in wrap_at.items():
        if overflow() > 0:
            mark = len(separator.rstrip())
            narrowest = max(
                [len(header[index])]
                + [len(item) + mark for row in rows for item in row[index].split(separator)]
            )
            widths[index] = max(narrowest, widths[index] - overflow())
    for name in drop:
        if overflow() > 0 and name in header and header.index(name) in shown:
            shown.remove(header.index(name))

    def cell(text: str, index: int) -> str:
        return text.rjust(widths[index]) if index in right else text.ljust(widths[index])

    table = Text()
    table.append("  ".join(cell(header[i], i) for i in shown).rstrip() + "\n", style="bold")
    for row in rows:
        cells = {
            i: _wrap_cell(row[i], widths[i], wrap_at[i]) if i in wrap_at else [row[i]]
            for i in shown
        }
        for line in range(max(len(lines) for lines in cells.values())):
            for position, index in enumerate(shown):
                if position:
                    table.append("  ")
                value = cells[index][line] if line < len(cells[index]) else ""
                style = colors.get(value) if index == status_column else None
                table.append(cell(value, index), style=style)
            table.rstrip()
            table.append("\n")
    table.rstrip()
    return table
