"""The ledger side of a reconciliation: billed calls summed into the provider's minute buckets.

A provider stamps a call somewhere between its start and its end, on its own clock. A call that
spans a minute boundary, or ends within `clock_skew_s` of one, could land in either minute, so
such neighbouring minutes are merged into one comparison **unit**: the ledger and the provider
are compared on the unit's total, which does not depend on where the provider put the call.
Units are computed from every billed call of the experiment, so the same minutes form the same
unit whichever runs a reconcile selects.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from baes.clock import parse_utc
from baes.llm.ledger import LedgerEntry
from baes.reconcile.quantities import Quantities
from baes.reconcile.usage_client import BUCKET_SECONDS, ProviderBucket

# The completions usage API counts these; embeddings and the like have usage APIs of their own.
COMPLETIONS_ENDPOINTS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/responses"})

GroupKey = tuple[str | None, str | None]  # (model, api_key_id or None when not grouped by key)


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of a ledger timestamp (`2026-06-21T10:00:00.123456Z`)."""
    return parse_utc(text).timestamp()


@dataclass(frozen=True)
class MeteredCall:
    """A call of the ledger that the provider bills: when it ran, for which model, what it used."""

    run_id: str
    start: float
    end: float
    model: str | None
    quantities: Quantities
    usage_reported: bool


def billed_calls(entries: Iterable[LedgerEntry]) -> list[MeteredCall]:
    """The ledger lines the completions usage API counts: answered (2xx) model calls.

    A call whose answer carried no usage counts as one request with unknown tokens: its tokens
    are 0 here and `usage_reported` is False, so a difference can name it as the likely cause.
    """
    calls = []
    for entry in entries:
        if not 200 <= entry.status_code < 300 or entry.endpoint not in COMPLETIONS_ENDPOINTS:
            continue
        calls.append(
            MeteredCall(
                run_id=entry.run_id,
                start=parse_timestamp(entry.ts_start),
                end=parse_timestamp(entry.ts_end),
                model=entry.model_served or entry.model_requested,
                quantities=Quantities(
                    1, entry.input_tokens or 0, entry.cached_tokens or 0, entry.output_tokens or 0
                ),
                usage_reported=entry.usage_reported and entry.input_tokens is not None,
            )
        )
    return calls


@dataclass(frozen=True, order=True)
class Unit:
    """Consecutive minute buckets `[start, end)` compared as one (seconds since the epoch)."""

    start: int
    end: int

    @property
    def label(self) -> str:
        """`2026-06-21 14:02 UTC`, or `… 14:02–14:04 UTC` for several minutes."""
        first = datetime.fromtimestamp(self.start, UTC)
        text = first.strftime("%Y-%m-%d %H:%M")
        if self.end - self.start > BUCKET_SECONDS:
            last = datetime.fromtimestamp(self.end - BUCKET_SECONDS, UTC)
            text += "–" + last.strftime(
                "%H:%M" if last.date() == first.date() else "%Y-%m-%d %H:%M"
            )
        return text + " UTC"

    def contains(self, minute: int) -> bool:
        return self.start <= minute < self.end


def _minute(t: float) -> int:
    return int(t // BUCKET_SECONDS) * BUCKET_SECONDS


def comparison_units(calls: Iterable[MeteredCall], clock_skew_s: float) -> list[Unit]:
    """The units covering every call, sorted: minutes a call may be billed in are merged."""
    spans = sorted(
        (_minute(c.start - clock_skew_s), _minute(c.end + clock_skew_s) + BUCKET_SECONDS)
        for c in calls
    )
    units: list[Unit] = []
    for start, end in spans:
        if units and start < units[-1].end:
            # Shares a minute with the previous unit: a call could be billed in either, one unit.
            last = units[-1]
            units[-1] = Unit(last.start, max(last.end, end))
        else:
            units.append(Unit(start, end))
    return units


def unit_of(units: list[Unit], t: float) -> Unit:
    """The unit containing time `t` (which must lie inside one)."""
    index = bisect.bisect_right([u.start for u in units], t) - 1
    unit = units[index]
    if not unit.start <= t < unit.end:
        raise ValueError(f"time {t} lies in no unit")
    return unit


@dataclass
class LedgerView:
    """The experiment's billed calls per unit and group, and which runs touch which units."""

    units: list[Unit]
    sums: dict[tuple[Unit, GroupKey], Quantities] = field(default_factory=dict)
    unreported: dict[tuple[Unit, GroupKey], int] = field(default_factory=dict)
    units_by_run: dict[str, list[Unit]] = field(default_factory=dict)
    runs_by_unit: dict[Unit, set[str]] = field(default_factory=dict)
    own_by_run: dict[str, Quantities] = field(default_factory=dict)

    def groups_in(self, unit: Unit) -> list[GroupKey]:
        """The (model, key) groups the ledger has calls for in a unit, sorted."""
        return sorted(
            (g for (u, g) in self.sums if u == unit), key=lambda g: (str(g[0]), str(g[1]))
        )


def ledger_view(calls: list[MeteredCall], clock_skew_s: float, key_id: str | None) -> LedgerView:
    """Sum the calls into units; `key_id` is the experiment's key when usage is grouped by key."""
    units = comparison_units(calls, clock_skew_s)
    view = LedgerView(units=units)
    for call in calls:
        # The call's whole span lies in one unit; its midpoint names that unit.
        unit = unit_of(units, (call.start + call.end) / 2)
        group: GroupKey = (call.model, key_id)
        view.sums[(unit, group)] = view.sums.get((unit, group), Quantities()) + call.quantities
        if not call.usage_reported:
            view.unreported[(unit, group)] = view.unreported.get((unit, group), 0) + 1
        run_units = view.units_by_run.setdefault(call.run_id, [])
        if unit not in run_units:
            run_units.append(unit)
        view.runs_by_unit.setdefault(unit, set()).add(call.run_id)
        view.own_by_run[call.run_id] = (
            view.own_by_run.get(call.run_id, Quantities()) + call.quantities
        )
    for run_units in view.units_by_run.values():
        run_units.sort()
    return view


def provider_sums(
    buckets: Iterable[ProviderBucket], units: list[Unit], by_key: bool
) -> dict[tuple[Unit, GroupKey], Quantities]:
    """The provider's bucket results summed into the units (buckets outside every unit dropped)."""
    sums: dict[tuple[Unit, GroupKey], Quantities] = {}
    starts = [u.start for u in units]
    for bucket in buckets:
        index = bisect.bisect_right(starts, bucket.start) - 1
        if index < 0 or not units[index].contains(bucket.start):
            continue
        group: GroupKey = (bucket.model, bucket.api_key_id if by_key else None)
        key = (units[index], group)
        sums[key] = sums.get(key, Quantities()) + bucket.quantities
    return sums
