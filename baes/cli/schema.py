"""`baes schema`: the JSON Schema of config.yaml, or with --record of one of baes's files."""

from __future__ import annotations

from typing import Annotated

import typer

from baes.cli.console import print_json, reports_errors

RecordOption = Annotated[
    str | None,
    typer.Option(
        "--record",
        help="Print the schema of a record instead: run, manifest, registry, ledger, progress, "
        "evidence or stats (docs/records.md).",
        metavar="NAME",
    ),
]


@reports_errors
def schema(record: RecordOption = None) -> None:
    """Print the JSON Schema of an experiment design (config.yaml), or of a record (--record)."""
    if record is not None:
        from baes.records.schemas import record_schema

        print_json(record_schema(record), ensure_ascii=True)
        return
    from baes.config.models import ExperimentConfig

    document = ExperimentConfig.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "baes experiment design (config.yaml)"
    print_json(document, ensure_ascii=True)
