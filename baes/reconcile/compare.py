"""Comparing the ledger with the provider unit by unit, group by group, within a tolerance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baes.reconcile.buckets import GroupKey, LedgerView, Unit
from baes.reconcile.quantities import QUANTITY_NAMES, Quantities


@dataclass(frozen=True)
class Tolerance:
    """How far the provider may be from the ledger: requests by count, tokens by % of the ledger."""

    requests: int = 0
    tokens_pct: float = 1.0

    def allows(self, name: str, ledger: int, provider: int) -> bool:
        """Whether a quantity's difference is within the tolerance."""
        difference = abs(provider - ledger)
        if name == "requests":
            return difference <= self.requests
        return difference <= self.tokens_pct / 100 * ledger


@dataclass(frozen=True)
class GroupComparison:
    """One unit and (model, key) group: the experiment's ledger against the provider."""

    unit: Unit
    model: str | None
    api_key_id: str | None
    ledger: Quantities
    provider: Quantities
    unreported_calls: int = 0

    @property
    def delta(self) -> Quantities:
        """Provider minus ledger."""
        return self.provider.minus(self.ledger)

    def differing(self, tolerance: Tolerance) -> tuple[str, ...]:
        """Names of the quantities outside the tolerance."""
        return tuple(
            name
            for name in QUANTITY_NAMES
            if not tolerance.allows(name, getattr(self.ledger, name), getattr(self.provider, name))
        )

    def to_json(self, tolerance: Tolerance) -> dict[str, Any]:
        return {
            "unit": [self.unit.start, self.unit.end],
            "label": self.unit.label,
            "model": self.model,
            "api_key_id": self.api_key_id,
            "ledger": self.ledger.to_json(),
            "provider": self.provider.to_json(),
            "delta": self.delta.to_json(),
            "differing": list(self.differing(tolerance)),
            "unreported_calls": self.unreported_calls,
        }


def compare_units(
    view: LedgerView, provider: dict[tuple[Unit, GroupKey], Quantities], units: list[Unit]
) -> list[GroupComparison]:
    """A comparison for every group the ledger has in the given units.

    A group the provider does not report compares against zero: the provider answered and
    billed nothing there, which is a measurement (a failed read never gets here).
    """
    comparisons = []
    for unit in units:
        for group in view.groups_in(unit):
            comparisons.append(
                GroupComparison(
                    unit=unit,
                    model=group[0],
                    api_key_id=group[1],
                    ledger=view.sums[(unit, group)],
                    provider=provider.get((unit, group), Quantities()),
                    unreported_calls=view.unreported.get((unit, group), 0),
                )
            )
    return comparisons


def other_traffic(
    view: LedgerView, provider: dict[tuple[Unit, GroupKey], Quantities], units: list[Unit]
) -> dict[Unit, list[tuple[GroupKey, Quantities]]]:
    """Provider usage in the given units under groups (models, keys) the ledger has no call for."""
    wanted = set(units)
    others: dict[Unit, list[tuple[GroupKey, Quantities]]] = {}
    for (unit, group), quantities in sorted(
        provider.items(), key=lambda item: (item[0][0], str(item[0][1]))
    ):
        if unit in wanted and (unit, group) not in view.sums:
            others.setdefault(unit, []).append((group, quantities))
    return others
