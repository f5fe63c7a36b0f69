"""`compare`: several experiments side by side, with what differs between their designs.

Groups are experiment×framework (`exp-a/reference`). Each experiment's runs are measured with its
own price table; the statistics use the first experiment's analysis plan for every group, and say
so when the other experiments planned differently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from baes.analysis.analyze import (
    AnalysisOutcome,
    Progress,
    add_dataset_facts,
    base_stats,
    design_block,
    finish_analysis,
    load_experiment_dataset,
    no_progress,
    plan_from_config,
    selected_metrics,
)
from baes.analysis.dataset import combine_datasets
from baes.config.models import ExperimentConfig
from baes.errors import InputError, WorkError
from baes.store.paths import validate_name

# The parts of a design that can change results, in the order a reader thinks of them.
DESIGN_FIELDS = (
    "model",
    "provider",
    "sampling",
    "frameworks",
    "scenario",
    "runs",
    "stopping_rule",
    "limits",
    "seed",
    "pricing",
    "analysis",
)
COMPARE_DIR = "_compare"  # starts with "_": never a valid experiment name, never listed as one
PLAN_FIELDS = (
    "alpha",
    "p_adjust",
    "ci_method",
    "bootstrap_samples",
    "confidence",
    "seed",
    "max_half_width_pct",
    "stopping_metrics",
)


def design_sections(config: ExperimentConfig) -> dict[str, Any]:
    """The result-relevant fields of a design as JSON values, defaults included."""
    dumped = config.model_dump(mode="json")
    provider = dict(dumped["provider"])
    # Which environment variable holds a key does not change results.
    provider.pop("api_key_env", None)
    provider.pop("admin_key_env", None)
    dumped["provider"] = provider
    return {field: dumped[field] for field in DESIGN_FIELDS}


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _leaves(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        result: dict[str, Any] = {}
        for key, item in value.items():
            result.update(_leaves(item, f"{path}.{key}"))
        return result
    if isinstance(value, list) and value:
        result = {}
        for index, item in enumerate(value):
            result.update(_leaves(item, f"{path}[{index}]"))
        return result
    return {path: value}


def design_diff(configs: Mapping[str, ExperimentConfig]) -> list[dict[str, Any]]:
    """The design fields whose hashes differ, with each experiment's value and the changed leaves.

    Each entry: field, hashes (per experiment), values (the field's whole value per experiment)
    and changes (dotted paths whose values differ, a missing path shown as None).
    """
    sections = {name: design_sections(config) for name, config in configs.items()}
    diff = []
    for field in DESIGN_FIELDS:
        values = {name: sections[name][field] for name in configs}
        hashes = {name: _hash(value) for name, value in values.items()}
        if len(set(hashes.values())) == 1:
            continue
        leaves = {name: _leaves(value, field) for name, value in values.items()}
        paths = list(dict.fromkeys(p for flat in leaves.values() for p in flat))
        changes = []
        for path in paths:
            per_experiment = {name: leaves[name].get(path) for name in configs}
            if len({json.dumps(v, sort_keys=True) for v in per_experiment.values()}) > 1:
                changes.append({"path": path, "values": per_experiment})
        diff.append({"field": field, "hashes": hashes, "values": values, "changes": changes})
    return diff


def compare_out_dir(root: Path, names: Sequence[str]) -> Path:
    """Default output folder: <root>/_compare/<a>__<b>…/."""
    return root / COMPARE_DIR / "__".join(names)


def _check_names(names: Sequence[str]) -> list[str]:
    if len(names) < 2:
        raise InputError(
            "compare needs at least two experiments", hint="baes compare EXP_A EXP_B [EXP_C …]"
        )
    duplicated = sorted({n for n in names if list(names).count(n) > 1})
    if duplicated:
        raise InputError(f"experiment(s) named more than once: {', '.join(duplicated)}")
    return [validate_name(n) for n in names]


def _plan_notes(configs: Mapping[str, ExperimentConfig]) -> list[str]:
    names = list(configs)
    first = plan_from_config(configs[names[0]]).to_json()
    notes = []
    for name in names[1:]:
        other = plan_from_config(configs[name]).to_json()
        differing = [f"{f} {other[f]} vs {first[f]}" for f in PLAN_FIELDS if other[f] != first[f]]
        if differing:
            notes.append(
                f"{name} pre-registered a different analysis plan ({'; '.join(differing)});"
                f" the plan of {names[0]} was used for every group."
            )
    return notes


def compare_experiments(
    root: Path,
    names: Sequence[str],
    *,
    frameworks: list[str] | None = None,
    metrics: list[str] | None = None,
    figures: bool = True,
    out_dir: Path | None = None,
    progress: Progress = no_progress,
) -> AnalysisOutcome:
    """Compare experiments group by group and write report.md, stats.json and the figures."""
    names = _check_names(names)
    metric_keys = selected_metrics(metrics)
    configs: dict[str, ExperimentConfig] = {}
    datasets = []
    hashes: dict[str, str] = {}
    for name in names:
        progress(f"reading the run records of {name}")
        config, config_hash, dataset = load_experiment_dataset(
            root,
            name,
            group_prefix=f"{name}/",
            metric_keys=metric_keys,
            keep_frameworks=frameworks,
        )
        configs[name], hashes[name] = config, config_hash
        datasets.append(dataset)
    if frameworks:
        known = {f for c in configs.values() for f in c.frameworks}
        unknown = [f for f in frameworks if f not in known]
        if unknown:
            raise InputError(
                f"framework(s) {', '.join(unknown)} in none of the experiments",
                hint="frameworks there: " + ", ".join(sorted(known)),
            )
    dataset = combine_datasets(datasets)
    if not dataset.groups:
        raise WorkError(
            "none of the experiments has a completed run to compare",
            hint="run them first: baes run NAME",
        )

    plan = plan_from_config(configs[names[0]])
    stats = base_stats(plan, dataset.groups, metric_keys)
    stats["source"] = {"kind": "compare", "experiments": names}
    stats["experiments"] = {n: design_block(configs[n], hashes[n]) for n in names}
    stats["design_diff"] = design_diff(configs)
    stats["selection"] = {
        "completed_only": True,
        "verified_only": False,
        "metrics": metric_keys,
        "frameworks": list(frameworks) if frameworks else None,
    }
    stats["deviations"] = []
    stats["plan_notes"] = _plan_notes(configs)
    all_groups = [
        f"{n}/{f}"
        for n in names
        for f in configs[n].frameworks
        if not frameworks or f in frameworks
    ]
    add_dataset_facts(stats, dataset, all_groups)

    # Union of the step ids in scenario order: with different scenarios each step shows the
    # groups that had it.
    step_ids = list(dict.fromkeys(s.id for c in configs.values() for s in c.scenario.steps))
    outcome = finish_analysis(
        out_dir if out_dir is not None else compare_out_dir(root, names),
        stats,
        plan,
        values_of=dataset.values,
        dataset=dataset,
        step_ids=step_ids,
        figures=figures,
        progress=progress,
    )
    if any(entry["field"] == "scenario" for entry in stats["design_diff"]):
        outcome.warnings.insert(
            0,
            "the scenarios differ: the experiments did not solve the same "
            "task, so differences mix the framework and the task",
        )
    outcome.warnings.extend(stats["plan_notes"])
    return outcome
