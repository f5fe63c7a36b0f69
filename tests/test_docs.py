"""The user docs keep up with the code."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from baes.config.models import BuiltinFrameworkConfig, CommandFrameworkConfig, ExperimentConfig

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _field_paths(model: type[BaseModel], prefix: str) -> list[str]:
    paths = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += _field_paths(annotation, path + ".")  # a block is documented by its fields
            continue
        paths.append(path)
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            if isinstance(item, type) and issubclass(item, BaseModel):
                paths += _field_paths(item, path + "[].")
    return paths


def test_configuration_doc_covers_every_config_field():
    text = (DOCS / "configuration.md").read_text()
    expected = _field_paths(ExperimentConfig, "")
    expected += _field_paths(BuiltinFrameworkConfig, "frameworks.<name>.")
    expected += _field_paths(CommandFrameworkConfig, "frameworks.<name>.")
    expected += ["pricing.<model>.input", "pricing.<model>.cached_input", "pricing.<model>.output"]
    missing = sorted({path for path in expected if f"`{path}`" not in text})
    assert not missing, f"docs/configuration.md does not document: {', '.join(missing)}"
