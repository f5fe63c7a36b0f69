"""Mistakes a model makes on purpose: seeded, rarer for large models and for repair requests."""

from __future__ import annotations

from dataclasses import dataclass

from baes.simulator.answers.crud_spec import Change, CrudSpec
from baes.simulator.determinism import seeded_random


@dataclass(frozen=True)
class Defect:
    """One injected mistake. `target` is an entity or function name, `detail` a field or the
    other end of a link."""

    kind: str
    target: str
    detail: str | None = None

    def describe(self) -> str:
        return ":".join(part for part in (self.kind, self.target, self.detail) if part)


# Each kind breaks behaviour that the check of the step introducing the target exercises.
ENTITY_DEFECTS = (
    "create_status",
    "delete_status",
    "missing_get_one",
    "missing_404",
    "field_not_required",
)
REQUIRED_FIELD_DEFECTS = ("field_not_required", "field_dropped")
OPTIONAL_FIELD_DEFECTS = ("field_dropped",)
REFERENCE_FIELD_DEFECTS = ("reference_unchecked", "field_dropped", "reverse_listing_missing")
LINK_DEFECTS = ("link_status", "unlink_status", "link_unchecked")
FUNCTION_DEFECTS = ("wrong_result", "missing_function")


def should_inject(rate: float, *seed_parts: object) -> bool:
    """The seeded coin flip deciding whether this answer carries a defect."""
    return seeded_random("defect?", *seed_parts).random() < rate


def crud_defect(spec: CrudSpec, *seed_parts: object) -> Defect | None:
    """A defect in what the latest prompt changed (or, failing that, the last change overall)."""
    focus = spec.latest_changes or spec.changes[-1:]
    if not focus:
        return None
    # A new entity arrives with its fields; the entity as a whole is what its check tests.
    change: Change = next((c for c in reversed(focus) if c.kind == "entity"), focus[-1])
    rng = seeded_random("defect-kind", *seed_parts)
    entity = spec.entity(change.entity)
    if change.kind == "link":
        return Defect(rng.choice(LINK_DEFECTS), change.entity, change.detail)
    if entity is None:
        return None
    if change.kind == "entity":
        kinds = list(ENTITY_DEFECTS)
        required = [f for f in entity.fields if f.required]
        if not required:
            kinds.remove("field_not_required")
        kind = rng.choice(kinds)
        detail = required[-1].name if kind == "field_not_required" else None
        return Defect(kind, entity.name, detail)
    field = entity.get_field(change.detail or "")
    if field is None:
        return None
    if field.references:
        field_kinds: tuple[str, ...] = REFERENCE_FIELD_DEFECTS
    elif field.required:
        field_kinds = REQUIRED_FIELD_DEFECTS
    else:
        field_kinds = OPTIONAL_FIELD_DEFECTS
    return Defect(rng.choice(field_kinds), entity.name, field.name)


def function_defect(names: list[str], *seed_parts: object) -> Defect | None:
    """A defect in one of the functions the latest prompt asked for."""
    if not names:
        return None
    rng = seeded_random("defect-kind", *seed_parts)
    return Defect(rng.choice(FUNCTION_DEFECTS), rng.choice(names))
