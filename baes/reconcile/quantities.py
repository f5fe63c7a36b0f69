"""The four usage quantities both sides of a reconciliation count, per bucket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUANTITY_NAMES = ("requests", "input_tokens", "cached_tokens", "output_tokens")
QUANTITY_LABELS = {
    "requests": "requests",
    "input_tokens": "input tokens",
    "cached_tokens": "cached input tokens",
    "output_tokens": "output tokens",
}


@dataclass(frozen=True)
class Quantities:
    """Requests and tokens of some calls; `input_tokens` includes `cached_tokens`, as OpenAI counts."""

    requests: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Quantities) -> Quantities:
        return Quantities(*(getattr(self, name) + getattr(other, name) for name in QUANTITY_NAMES))

    def minus(self, other: Quantities) -> Quantities:
        """`self - other`, quantity by quantity (a delta may be negative)."""
        return Quantities(*(getattr(self, name) - getattr(other, name) for name in QUANTITY_NAMES))

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in QUANTITY_NAMES}

    @classmethod
    def from_json(cls, raw: Any) -> Quantities:
        """Parse `{requests, input_tokens, cached_tokens, output_tokens}`; ValueError otherwise."""
        if not isinstance(raw, dict):
            raise ValueError("quantities must be an object")
        values = []
        for name in QUANTITY_NAMES:
            value = raw.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            values.append(value)
        return cls(*values)


def total(items: list[Quantities]) -> Quantities:
    """The sum of several quantities (zero for none)."""
    result = Quantities()
    for item in items:
        result = result + item
    return result
