"""`baes schema`: the JSON Schema of config.yaml, for editors and validators."""

from __future__ import annotations

from baes.cli.console import print_json, reports_errors


@reports_errors
def schema() -> None:
    """Print the JSON Schema of an experiment design (config.yaml)."""
    from baes.config.models import ExperimentConfig

    document = ExperimentConfig.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "baes experiment design (config.yaml)"
    print_json(document, ensure_ascii=True)
