"""Judging runs against one provider read, with the earlier reads of the evidence as history."""

from __future__ import annotations

from baes.config.models import ExperimentConfig
from baes.reconcile.buckets import GroupKey, LedgerView, Unit, provider_sums
from baes.reconcile.causes import describe_difference, likely_cause
from baes.reconcile.compare import GroupComparison, Tolerance, compare_units, other_traffic
from baes.reconcile.evidence import PastRead
from baes.reconcile.neighbours import Neighbours
from baes.reconcile.quantities import Quantities
from baes.reconcile.source import Scope
from baes.reconcile.states import Judgment, judge_read, stable_since
from baes.reconcile.usage_client import UsageReport


class ReadJudge:
    """Judges runs against one read; `comparisons` collects every group compared (for the evidence)."""

    def __init__(
        self,
        design: ExperimentConfig,
        scope: Scope,
        view: LedgerView,
        report: UsageReport,
        history: list[PastRead],
        now: float,
        neighbours: Neighbours | None = None,
    ):
        self.design, self.scope, self.view, self.now = design, scope, view, now
        self.neighbours = neighbours or {}
        self.by_key = "api_key_id" in scope.group_by
        self.tolerance = Tolerance(
            design.reconcile.tolerance_requests, design.reconcile.tolerance_tokens_pct
        )
        self.provider = provider_sums(report.buckets, view.units, self.by_key)
        self.history = [
            (read, provider_sums(read.buckets, view.units, self.by_key)) for read in history
        ]
        self.comparisons: dict[tuple[Unit, GroupKey], GroupComparison] = {}

    def _provider_view(
        self, sums: dict[tuple[Unit, GroupKey], Quantities], comparisons: list[GroupComparison]
    ) -> tuple[Quantities, ...]:
        return tuple(sums.get((c.unit, (c.model, c.api_key_id)), Quantities()) for c in comparisons)

    def judge(self, units: list[Unit]) -> tuple[Judgment, list[GroupComparison]]:
        """The state of a run touching `units`, and the comparisons it was judged on."""
        comparisons = compare_units(self.view, self.provider, units)
        for c in comparisons:
            self.comparisons[(c.unit, (c.model, c.api_key_id))] = c
        current = self._provider_view(self.provider, comparisons)
        earlier = [
            (read.at, self._provider_view(sums, comparisons))
            for read, sums in self.history
            if all(read.covers(u.start, u.end) for u in units)
        ]
        since = stable_since(current, self.now, earlier)
        others = other_traffic(self.view, self.provider, units)

        def explain(c: GroupComparison) -> str:
            cause = likely_cause(
                c, others.get(c.unit, []), self.scope, self.neighbours.get((c.unit, c.model))
            )
            return f"{describe_difference(c, self.tolerance)}: {cause}"

        judgment = judge_read(
            comparisons,
            since,
            self.now,
            self.design.reconcile.settle_seconds_for(self.design.provider.kind),
            self.tolerance,
            explain,
        )
        return judgment, comparisons
