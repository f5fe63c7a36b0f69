"""`compare`: several experiments side by side, with what differs between their designs.

Groups are experiment×framework (`exp-a/reference`). Each experiment's runs are measured with its
own price table; the statistics use the first experiment's analysis plan for every group, and say
so when the other experiments planned differently.

Which groups are tested against which is planned: by default each framework is contrasted with
itself across the experiments (one family of tests per framework and metric, adjusted within
the family), the question a comparison of experiments asks; `contrasts="all"` tests every pair
of groups as one family, confounded pairs (another framework in another experiment) included.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baes.analysis.analyze import (
    AnalysisOutcome,
    AnalysisPlan,
    Progress,
    add_dataset_facts,
    analysis_dir,
    base_stats,
    compute_metrics,
    design_block,
    finish_analysis,
    load_experiment_dataset,
    metric_statistics,
    no_progress,
    partial_slug,
    plan_from_config,
    selected_metrics,
)
from baes.analysis.dataset import Dataset, combine_datasets
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
CONTRASTS = ("same-framework", "all")
DEFAULT_CONTRASTS = "same-framework"
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


@dataclass(frozen=True)
class ContrastFamily:
    """Groups tested against each other, with the p-values adjusted within the family."""

    name: str  # the framework (same-framework contrasts) or "all groups"
    groups: tuple[str, ...]

    def pairs(self) -> list[tuple[str, str]]:
        return list(itertools.combinations(self.groups, 2))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "groups": list(self.groups),
            "pairs": [list(pair) for pair in self.pairs()],
        }


def contrast_families(
    contrasts: str,
    configs: Mapping[str, ExperimentConfig],
    groups: Sequence[str],
) -> tuple[list[ContrastFamily], list[dict[str, str]]]:
    """The planned families of tests, and the groups left out of every family with the reason.

    `groups` are the groups with analysable runs (`exp/framework`, after compare's framework
    filter), in order. Same-framework contrasts make one family per framework that at least two
    experiments have runs of.
    """
    _check_contrasts(contrasts)
    if contrasts == "all":
        return ([ContrastFamily("all groups", tuple(groups))] if len(groups) >= 2 else []), []
    names = list(configs)
    present = set(groups)
    ordered = dict.fromkeys(f for c in configs.values() for f in c.frameworks)
    families: list[ContrastFamily] = []
    not_compared: list[dict[str, str]] = []
    for framework in ordered:
        designed = [n for n in names if framework in configs[n].frameworks]
        members = tuple(f"{n}/{framework}" for n in designed if f"{n}/{framework}" in present)
        if len(members) >= 2:
            families.append(ContrastFamily(framework, members))
            continue
        if len(designed) == 1:
            reason = f"only {designed[0]} has {framework} in its design"
        else:
            having = [m.split("/", 1)[0] for m in members]
            reason = (
                f"only {having[0]} has analysable runs of {framework}"
                if having
                else f"no experiment has analysable runs of {framework}"
            )
        not_compared.extend(
            {"group": group, "framework": framework, "reason": reason} for group in members
        )
    return families, not_compared


def _check_contrasts(contrasts: str) -> None:
    if contrasts not in CONTRASTS:
        raise InputError(
            f"unknown --contrasts {contrasts!r}; choose one of {', '.join(CONTRASTS)}",
            hint="same-framework: each framework across the experiments; all: every pair",
        )


def _family_text(family: ContrastFamily, plan: AnalysisPlan) -> str:
    count = len(family.pairs())
    adjustment = "no adjustment needed" if count == 1 else f"{plan.p_adjust} within the family"
    return f"{family.name}: {count} comparison{'s' if count != 1 else ''}, {adjustment}"


def _empty_omnibus(reason: str) -> dict[str, Any]:
    return {"test": None, "statistic": None, "p": None, "method": None, "skipped": reason}


def planned_statistics(
    families: Sequence[ContrastFamily], groups: Sequence[str], contrasts: str
) -> Callable[..., dict[str, dict[str, Any]]]:
    """The `metrics` block of a compare: each family tested on its own (the statistics come
    from `metric_statistics`), every group described, the families recorded per metric."""

    def block_of(
        key: str, values: Mapping[str, Sequence[float]], plan: AnalysisPlan
    ) -> dict[str, Any]:
        return _planned_block(key, values, families, groups, contrasts, plan)

    return functools.partial(compute_metrics, block_of=block_of)


def _statistics(
    key: str, values: Mapping[str, Sequence[float]], plan: AnalysisPlan
) -> dict[str, Any]:
    # Through analyze's own per-metric route, which knows how each metric is treated (its
    # interval, its stopping rule), so a compare family gets exactly what an analysis would.
    return metric_statistics(values, plan, key)


def _planned_omnibus(family_blocks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The one family's omnibus test, or why there is no single test across the groups."""
    if len(family_blocks) == 1:
        return family_blocks[0]["omnibus"]
    if family_blocks:
        return _empty_omnibus(
            f"planned contrasts: one test per framework across the experiments "
            f"({len(family_blocks)} families), no test across all groups"
        )
    return _empty_omnibus("no framework was run in two or more of the experiments")


def _family_summary(
    contrasts: str,
    families: Sequence[ContrastFamily],
    family_blocks: Sequence[Mapping[str, Any]],
    comparisons: int,
    plan: AnalysisPlan,
) -> str:
    """One sentence for stats.json's `family`: which pairs were compared, in which families."""
    if contrasts == "all":
        if not families:
            return "no family (fewer than 2 groups)"
        return (
            f"all pairs of {len(families[0].groups)} experiment/framework groups "
            f"({comparisons} comparisons), {plan.p_adjust}"
        )
    if not family_blocks:
        return "no family (no framework was run in two or more of the experiments)"
    return (
        "the same framework across experiments, one family per framework ("
        + "; ".join(f["family"] for f in family_blocks)
        + ")"
    )


def _planned_block(
    key: str,
    values: Mapping[str, Sequence[float]],
    families: Sequence[ContrastFamily],
    groups: Sequence[str],
    contrasts: str,
    plan: AnalysisPlan,
) -> dict[str, Any]:
    descriptives: dict[str, Any] = {}
    stopping: dict[str, Any] = {}
    pairwise: list[dict[str, Any]] = []
    family_blocks = []
    for family in families:
        block = _statistics(key, {g: values[g] for g in family.groups}, plan)
        descriptives.update(block["descriptives"])
        stopping.update(block["stopping"])
        for pair in block["pairwise"]:
            pairwise.append({**pair, "family": family.name})
        family_blocks.append(
            {
                "name": family.name,
                "groups": list(family.groups),
                "omnibus": block["omnibus"],
                "family": _family_text(family, plan),
            }
        )
    for group in groups:
        if group not in descriptives:  # in no family: described, not tested
            alone = _statistics(key, {group: values[group]}, plan)
            descriptives[group] = alone["descriptives"][group]
            stopping[group] = alone["stopping"][group]
    first = families[0].groups if families else ()
    return {
        "descriptives": {g: descriptives[g] for g in groups},
        "omnibus": _planned_omnibus(family_blocks),
        "pairwise": pairwise,
        "stopping": {g: stopping[g] for g in groups},
        "family": _family_summary(contrasts, families, family_blocks, len(pairwise), plan),
        "families": family_blocks,
        "primary_contrast": {"a": first[0], "b": first[1]} if len(first) >= 2 else None,
    }


def _read_experiments(
    root: Path,
    names: Sequence[str],
    metric_keys: list[str],
    frameworks: list[str] | None,
    progress: Progress,
) -> tuple[dict[str, ExperimentConfig], dict[str, str], Dataset]:
    """Each experiment's design and hash, and their runs as one dataset of `name/framework`
    groups."""
    configs: dict[str, ExperimentConfig] = {}
    hashes: dict[str, str] = {}
    datasets = []
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
    return configs, hashes, combine_datasets(datasets)


def _kept_frameworks(known: list[str], frameworks: list[str] | None) -> list[str]:
    """The frameworks compared, in design order; InputError for one in none of the experiments."""
    if frameworks:
        unknown = [f for f in frameworks if f not in known]
        if unknown:
            raise InputError(
                f"framework(s) {', '.join(unknown)} in none of the experiments",
                hint="frameworks there: " + ", ".join(sorted(known)),
            )
    return [f for f in known if not frameworks or f in frameworks]


def _compare_stats(
    plan: AnalysisPlan,
    dataset: Dataset,
    configs: dict[str, ExperimentConfig],
    hashes: dict[str, str],
    metric_keys: list[str],
    frameworks: list[str] | None,
    contrasts: str,
    families: list[ContrastFamily],
    not_compared: list[dict[str, str]],
) -> dict[str, Any]:
    """stats.json of a comparison before its statistics: sources, designs, selection, contrasts."""
    names = list(configs)
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
    stats["contrasts"] = contrasts
    stats["families"] = [family.to_json() for family in families]
    stats["not_compared"] = not_compared
    stats["deviations"] = []
    stats["plan_notes"] = _plan_notes(configs)
    all_groups = [
        f"{n}/{f}"
        for n in names
        for f in configs[n].frameworks
        if not frameworks or f in frameworks
    ]
    add_dataset_facts(stats, dataset, all_groups)
    return stats


def compare_experiments(
    root: Path,
    names: Sequence[str],
    *,
    frameworks: list[str] | None = None,
    metrics: list[str] | None = None,
    contrasts: str = DEFAULT_CONTRASTS,
    figures: bool = True,
    out_dir: Path | None = None,
    write_partial: bool = True,
    progress: Progress = no_progress,
) -> AnalysisOutcome:
    """Compare experiments group by group and write report.md, stats.json and the figures.

    A partial comparison (some frameworks or metrics, or all-pairs contrasts) goes beside the
    full one, in `partial-<slug>/` of the compare folder; with `write_partial=False` it is only
    returned.
    """
    names = _check_names(names)
    _check_contrasts(contrasts)  # before reading any run
    metric_keys = selected_metrics(metrics)
    configs, hashes, dataset = _read_experiments(root, names, metric_keys, frameworks, progress)
    known = list(dict.fromkeys(f for c in configs.values() for f in c.frameworks))
    kept = _kept_frameworks(known, frameworks)
    if not dataset.groups:
        raise WorkError(
            "none of the experiments has a completed run to compare",
            hint="run them first: baes run NAME",
        )
    plan = plan_from_config(configs[names[0]])
    families, not_compared = contrast_families(contrasts, configs, dataset.groups)
    stats = _compare_stats(
        plan, dataset, configs, hashes, metric_keys, frameworks, contrasts, families, not_compared
    )

    # Union of the step ids in scenario order: with different scenarios each step shows the
    # groups that had it.
    step_ids = list(dict.fromkeys(s.id for c in configs.values() for s in c.scenario.steps))
    slug = partial_slug(
        {
            "framework": None if kept == known else kept,
            "metric": None if metric_keys == selected_metrics(None) else metric_keys,
            "contrasts": None if contrasts == DEFAULT_CONTRASTS else contrasts,
        }
    )
    outcome = finish_analysis(
        analysis_dir(compare_out_dir(root, names), slug, out_dir),
        stats,
        plan,
        values_of=dataset.values,
        dataset=dataset,
        step_ids=step_ids,
        figures=figures,
        partial=slug,
        write=write_partial or slug is None,
        statistics=planned_statistics(families, dataset.groups, contrasts),
        progress=progress,
    )
    if any(entry["field"] == "scenario" for entry in stats["design_diff"]):
        outcome.warnings.insert(
            0,
            "the scenarios differ: the experiments did not solve the same "
            "task, so differences mix the framework and the task",
        )
    outcome.warnings.extend(stats["plan_notes"])
    outcome.warnings.extend(
        f"{entry['group']} is not compared: {entry['reason']}" for entry in not_compared
    )
    return outcome
