"""`baes list`: every experiment under the root at a glance, from the registry alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from pathlib import Path

    from rich.text import Text

from baes.cli.console import out, print_json, print_warning, reports_errors
from baes.cli.options import JsonOption, RootOption

# Every status an experiment can have (baes.experiment.describe.experiment_status, and "broken"
# for a folder that cannot be read); `--status` accepts only these.
STATUSES = (
    "created",
    "running",
    "interrupted",
    "incomplete",
    "stopped",
    "completed",
    "config-changed",
    "broken",
)

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
        aligned_table(header, rows, right={4, 5}, status_column=1, colors=colors, width=out.width),
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


def aligned_table(
    header: list[str],
    rows: list[list[str]],
    right: set[int],
    status_column: int,
    colors: dict[str, str],
    width: int,
    shrinkable: int = 3,
) -> Text:
    """Columns padded to their widest cell, the header bold, the status coloured.

    rich's Table measures every cell and takes 0.2-0.4 s for a couple of hundred rows, most of
    `baes list`'s start-up budget; fixed-width lines render in a few milliseconds.
    """
    from rich.text import Text

    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    # Let the widest free-text column (`shrinkable`, list's frameworks) give way when the
    # terminal is narrow.
    overflow = sum(widths) + 2 * (len(widths) - 1) - width
    if overflow > 0:
        widths[shrinkable] = max(len(header[shrinkable]), widths[shrinkable] - overflow)

    def cell(text: str, index: int) -> str:
        if len(text) > widths[index]:
            text = text[: max(0, widths[index] - 1)] + "…"
        return text.rjust(widths[index]) if index in right else text.ljust(widths[index])

    table = Text()
    table.append(
        "  ".join(cell(name, i) for i, name in enumerate(header)).rstrip() + "\n", style="bold"
    )
    for row in rows:
        for index, value in enumerate(row):
            if index:
                table.append("  ")
            table.append(
                cell(value, index), style=colors.get(value) if index == status_column else None
            )
        table.append("\n")
    table.rstrip()
    return table
