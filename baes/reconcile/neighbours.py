"""Calls of the root's other experiments: extra provider traffic that baes itself made.

The provider counts every call made with the same key (or project, or organisation) in a minute.
When two experiments of one root ran at once on the same provider, each one's reconcile sees the
other's calls as extra requests; saying "another process" would send the user looking for an
intruder that is their own other experiment.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from baes.config.models import ExperimentConfig
from baes.llm.ledger import LedgerNotFoundError, read_ledger
from baes.reconcile.buckets import BUCKET_SECONDS, Unit, billed_calls
from baes.reconcile.run_records import find_runs
from baes.store.paths import ExperimentPaths

# (unit, model) -> [(experiment, requests)], for the units of one reconcile.
Neighbours = dict[tuple[Unit, str | None], list[tuple[str, int]]]


def _same_provider(a: ExperimentConfig, b: ExperimentConfig) -> bool:
    if (a.provider.kind, a.provider.base_url) != (b.provider.kind, b.provider.base_url):
        return False
    # With a key filter, only calls made with the same key are in the provider's numbers.
    return a.reconcile.api_key_id is None or a.reconcile.api_key_id == b.reconcile.api_key_id


def neighbour_calls(root: Path, design: ExperimentConfig, units: list[Unit]) -> Neighbours:
    """Per unit and model, how many billed calls each other experiment of `root` made in it."""
    from baes.experiment.load import inspect_experiment

    found: dict[tuple[Unit, str | None], Counter[str]] = {}
    if not units:
        return {}
    first, last = units[0].start, units[-1].end
    for config_path in sorted(root.glob("*/config.yaml")):
        other_name = config_path.parent.name
        if other_name == design.name:
            continue
        try:
            other = inspect_experiment(root, other_name).config
        except Exception:  # noqa: BLE001 - an unreadable neighbour explains nothing
            continue
        if other is None or not _same_provider(design, other):
            continue
        runs, _ = find_runs(ExperimentPaths(root, other_name))
        for ref in runs:
            try:
                calls = billed_calls(read_ledger(ref.ledger))
            except (LedgerNotFoundError, OSError, ValueError):
                continue
            for call in calls:
                if call.end < first - BUCKET_SECONDS or call.start >= last + BUCKET_SECONDS:
                    continue
                minute = int(call.start // BUCKET_SECONDS) * BUCKET_SECONDS
                unit = next((u for u in units if u.contains(minute)), None)
                if unit is not None:
                    found.setdefault((unit, call.model), Counter())[other_name] += 1
    return {key: sorted(counter.items()) for key, counter in found.items()}
