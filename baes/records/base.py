"""What every record shares: strict field docs, reading with migration, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from baes.records.errors import NewerRecordError, RecordError

__all__ = ["NewerRecordError", "Record", "RecordError", "load_record", "validate_record"]

Migration = Callable[[dict[str, Any]], dict[str, Any]]
R = TypeVar("R", bound="Record")


class Record(BaseModel):
    """Base of the typed records: every field is documented, unknown keys are refused."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")

    # The current version, and for each older version n the function turning n into n + 1.
    SCHEMA_VERSION: ClassVar[int] = 1
    MIGRATIONS: ClassVar[Mapping[int, Migration]] = {}


def describe_validation(error: ValidationError) -> str:
    """The first problem of a validation error in one line, e.g. `steps.0.usage.calls: ...`."""
    problems = error.errors(include_url=False)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "the record"
    value = first.get("input")
    got = f", not {value!r:.40}" if isinstance(value, str | int | float) else ""
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{got}{more}"


def load_record(model: type[R], data: str | bytes, what: str = "record") -> R:
    """The record in `data` (JSON text), migrated to the current schema_version.

    RecordError when it is not one; NewerRecordError when a newer baes wrote it. `what` names
    the record in messages (e.g. `run record`).
    """
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        first_problem = exc
    try:
        raw = json.loads(data)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise RecordError(f"invalid JSON: {exc}") from None
    return migrate(model, raw, what, first_problem)


def validate_record(model: type[R], raw: Any, what: str = "record") -> R:
    """`raw` (decoded JSON) as the model, migrated from an older schema_version if need be."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        return migrate(model, raw, what, exc)


def migrate(model: type[R], raw: Any, what: str, problem: ValidationError) -> R:
    """Bring `raw`, which failed validation as the current version, up to date (or say why not)."""
    if not isinstance(raw, dict):
        raise RecordError(f"a JSON {type(raw).__name__}, not an object")
    version = raw.get("schema_version")
    current = model.SCHEMA_VERSION
    if not isinstance(version, int) or isinstance(version, bool) or version == current:
        raise RecordError(describe_validation(problem))
    if version > current:
        raise NewerRecordError(
            f"a {what} of schema_version {version}, written by a newer baes "
            f"(this baes reads up to {current})",
            hint="upgrade baes (pip install -U baes)",
        )
    if version < 1 or any(v not in model.MIGRATIONS for v in range(version, current)):
        raise RecordError(
            f"a {what} of schema_version {version}, which this baes cannot migrate to {current}"
        )
    for step in range(version, current):
        raw = model.MIGRATIONS[step](dict(raw))
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RecordError(
            f"schema_version {version}, migrated to {current}: {describe_validation(exc)}"
        ) from None
