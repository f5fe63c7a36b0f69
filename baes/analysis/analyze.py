"""`analyze`: from an experiment (or a tidy CSV) to stats.json, report.md and the figures.

Everything here returns values; the CLI decides what to print. Progress is reported through an
optional callback taking one short line of text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baes import __version__
from baes.analysis.dataset import (
    Dataset,
    build_dataset,
    read_run_records,
    success_rates,
    tidy_csv,
    verification_coverage,
)
from baes.analysis.mean_interval import is_bounded_fraction, natural_lower_bound
from baes.analysis.metrics import MetricContext, metric_info, resolve_metric_keys
from baes.config.models import (
    CI_METHODS,
    P_ADJUST_METHODS,
    AnalysisConfig,
    ExperimentConfig,
    StoppingRuleConfig,
)
from baes.errors import InputError, WorkError
from baes.records.stats import StatsRecord

STATS_SCHEMA_VERSION = StatsRecord.SCHEMA_VERSION

Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    return None


@dataclass(frozen=True)
class AnalysisPlan:
    """The statistical choices of one analysis (the pre-registered plan, possibly overridden)."""

    alpha: float
    p_adjust: str
    ci_method: str
    bootstrap_samples: int
    confidence: float
    seed: int
    max_half_width_pct: float
    stopping_metrics: tuple[str, ...]
    max_half_width_abs: float = StoppingRuleConfig().max_half_width_abs
    primary_contrast: tuple[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        """The `plan` block of stats.json."""
        return {
            "alpha": self.alpha,
            "p_adjust": self.p_adjust,
            "ci_method": self.ci_method,
            "bootstrap_samples": self.bootstrap_samples,
            "confidence": self.confidence,
            "seed": self.seed,
            "max_half_width_pct": self.max_half_width_pct,
            "max_half_width_abs": self.max_half_width_abs,
            "stopping_metrics": list(self.stopping_metrics),
            "primary_contrast": (
                None if self.primary_contrast is None else list(self.primary_contrast)
            ),
        }


def plan_from_config(config: ExperimentConfig) -> AnalysisPlan:
    """The analysis plan frozen in a design: its analysis block, stopping rule and seed."""
    return AnalysisPlan(
        alpha=config.analysis.alpha,
        p_adjust=config.analysis.p_adjust,
        ci_method=config.analysis.ci_method,
        bootstrap_samples=config.analysis.bootstrap_samples,
        confidence=config.stopping_rule.confidence,
        seed=config.seed,
        max_half_width_pct=config.stopping_rule.max_half_width_pct,
        stopping_metrics=tuple(config.stopping_rule.metrics),
        max_half_width_abs=config.stopping_rule.max_half_width_abs,
        primary_contrast=(
            None
            if config.analysis.primary_contrast is None
            else (config.analysis.primary_contrast[0], config.analysis.primary_contrast[1])
        ),
    )


def default_plan(metrics: Sequence[str]) -> AnalysisPlan:
    """baes's default plan, for data without a design (a CSV): every metric is a stopping metric."""
    analysis, stopping = AnalysisConfig(), StoppingRuleConfig()
    return AnalysisPlan(
        alpha=analysis.alpha,
        p_adjust=analysis.p_adjust,
        ci_method=analysis.ci_method,
        bootstrap_samples=analysis.bootstrap_samples,
        confidence=stopping.confidence,
        seed=0,
        max_half_width_pct=stopping.max_half_width_pct,
        stopping_metrics=tuple(metrics),
        max_half_width_abs=stopping.max_half_width_abs,
    )


def override_plan(
    plan: AnalysisPlan, *, p_adjust: str | None = None, ci_method: str | None = None
) -> tuple[AnalysisPlan, list[dict[str, Any]]]:
    """The plan with the user's overrides and the deviations they make from it."""
    if p_adjust is not None and p_adjust not in P_ADJUST_METHODS:
        raise InputError(
            f"unknown --p-adjust {p_adjust!r}; choose one of {', '.join(P_ADJUST_METHODS)}"
        )
    if ci_method is not None and ci_method not in CI_METHODS:
        raise InputError(
            f"unknown --ci-method {ci_method!r}; choose one of {', '.join(CI_METHODS)}"
        )
    deviations = []
    changes: dict[str, Any] = {}
    for name, value in (("p_adjust", p_adjust), ("ci_method", ci_method)):
        if value is None:
            continue
        changes[name] = value
        planned = getattr(plan, name)
        if value != planned:
            deviations.append({"field": name, "planned": planned, "used": value})
    return dataclasses.replace(plan, **changes), deviations


def selected_metrics(
    requested: list[str] | None, available: Sequence[str] | None = None
) -> list[str]:
    """The metrics to analyse: validated against the catalog, or against `available` (CSV)."""
    if available is None:
        try:
            return resolve_metric_keys(requested)
        except KeyError as exc:
            raise InputError(
                f"unknown metric(s) {exc.args[0]}",
                hint="valid metrics: " + ", ".join(resolve_metric_keys(None)),
            ) from None
    if not requested:
        return list(available)
    unknown = [m for m in requested if m not in available]
    if unknown:
        raise InputError(
            f"metric(s) {', '.join(unknown)} not in the file",
            hint="metrics in the file: " + ", ".join(available),
        )
    return [m for m in available if m in requested]


PARTIAL_PREFIX = "partial-"  # a partial analysis lives in <full analysis>/partial-<slug>/
MAX_SLUG_CHARS = 80


def partial_slug(choices: Mapping[str, Sequence[str] | str | bool | None]) -> str | None:
    """The folder slug of a partial analysis ("metric-COST_USD__verified-only"), or None.

    Each choice maps a label to what was chosen: a list (the metrics or frameworks kept, in a
    canonical order, so the same selection always gets the same folder), a string (an override
    of the plan), True (a flag), or None/False when that choice leaves the full analysis as it
    is. A slug that is too long, or whose values are not safe in a folder name (CSV metric names
    can be anything), is shortened or cleaned and gets a hash of the exact selection.
    """
    import hashlib
    import re

    parts = []
    for label, value in choices.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(label)
        elif isinstance(value, str):
            parts.append(f"{label}-{value}")
        else:
            parts.append(f"{label}-" + "+".join(value))
    if not parts:
        return None
    slug = "__".join(parts)
    safe = re.sub(r"[^A-Za-z0-9._+-]", "-", slug)
    if safe != slug or len(safe) > MAX_SLUG_CHARS:
        digest = hashlib.sha256(slug.encode("utf-8")).hexdigest()[:8]
        safe = f"{safe[: MAX_SLUG_CHARS - 9]}-{digest}"
    return safe


def analysis_dir(full_dir: Path, slug: str | None, out_dir: Path | None) -> Path:
    """Where an analysis goes: `--out` when given, else the full analysis's folder, or, for a
    partial analysis, its `partial-<slug>/` subfolder, so a partial one never overwrites it."""
    if out_dir is not None:
        return out_dir
    return full_dir if slug is None else full_dir / f"{PARTIAL_PREFIX}{slug}"


def metric_statistics(
    values: Mapping[str, Sequence[float]],
    plan: AnalysisPlan,
    metric: str | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The stats.json block of one metric; groups without values are described, not tested.

    `metric` (the catalog key) decides whether the values are bounded fractions (Wilson
    intervals, absolute stopping rule); an unknown or missing key means an unbounded metric.
    `pairs` limits the tested family (compare's planned contrasts); pairs naming a group
    without values of this metric are left out of it.
    """
    from baes.analysis.stats import analyze_metric

    present = {group: list(v) for group, v in values.items() if len(v) > 0}
    if pairs is not None:
        pairs = [(a, b) for a, b in pairs if a in present and b in present]
    block = analyze_metric(
        present,
        alpha=plan.alpha,
        p_adjust=plan.p_adjust,  # type: ignore[arg-type]
        ci_method=plan.ci_method,  # type: ignore[arg-type]
        bootstrap_samples=plan.bootstrap_samples,
        confidence=plan.confidence,
        seed=plan.seed,
        max_half_width_pct=plan.max_half_width_pct,
        max_half_width_abs=plan.max_half_width_abs,
        bounded_fraction=is_bounded_fraction(metric),
        lower_bound=natural_lower_bound(metric),
        primary_contrast=plan.primary_contrast,
        pairs=pairs,
    )
    if plan.primary_contrast is not None and block["primary_contrast"] is None:
        block["primary_contrast_reason"] = (
            f"the planned contrast {' vs '.join(plan.primary_contrast)} names a group that is "
            "not among the groups analysed for this metric"
        )
    if len(present) == len(values):
        return block
    # A group with no measurable value would make every test "skipped"; it is described as
    # empty (with the reason) and left out of the tests of this metric only.
    reason = "no measurable value of this metric; left out of its tests"
    descriptives, stopping = {}, {}
    for group in values:
        if group in present:
            descriptives[group] = block["descriptives"][group]
            stopping[group] = block["stopping"][group]
        else:
            descriptives[group] = {
                "n": 0,
                "mean": None,
                "median": None,
                "std": None,
                "q1": None,
                "q3": None,
                "min": None,
                "max": None,
                "ci_low": None,
                "ci_high": None,
                "ci_method": None,
                "outliers": [],
                "reason": reason,
                "ci_reason": reason,
            }
            half_width = "half_width_abs" if is_bounded_fraction(metric) else "half_width_pct"
            stopping[group] = {half_width: None, "converged": False, "reason": reason}
    block["descriptives"], block["stopping"] = descriptives, stopping
    return block


def compute_metrics(
    values_of: Callable[[str], Mapping[str, Sequence[float]]],
    metric_keys: Sequence[str],
    plan: AnalysisPlan,
    progress: Progress = no_progress,
    block_of: Callable[[str, Mapping[str, Sequence[float]], AnalysisPlan], dict[str, Any]]
    | None = None,
) -> dict[str, dict[str, Any]]:
    """The `metrics` block of stats.json, one metric at a time; `block_of(key, values, plan)`
    computes one metric's block (default: `metric_statistics`; compare passes its families')."""
    result = {}
    for index, key in enumerate(metric_keys, start=1):
        progress(f"statistics for {key} ({index}/{len(metric_keys)})")
        values = values_of(key)
        result[key] = (
            metric_statistics(values, plan, key)
            if block_of is None
            else block_of(key, values, plan)
        )
    return result


@dataclass
class AnalysisOutcome:
    """What an analysis produced: the stats.json content and the files written.

    `partial` is the slug of a partial analysis (None for the full one); `written` is False when
    a partial analysis was only computed (`--json`), and then the paths say where it would go.
    """

    stats: dict[str, Any]
    out_dir: Path
    report_path: Path
    stats_path: Path
    figures: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    partial: str | None = None
    written: bool = True


def design_block(config: ExperimentConfig, config_hash: str) -> dict[str, Any]:
    """The design facts a reader of the report needs (stats.json `design`)."""
    return {
        "model": config.model,
        "provider": config.provider.kind,
        "base_url": config.provider.base_url,
        "frameworks": list(config.frameworks),
        "scenario": {"name": config.scenario.name, "steps": [s.id for s in config.scenario.steps]},
        "runs": {"min": config.runs.min, "max": config.runs.max},
        "stopping_rule": config.stopping_rule.model_dump(mode="json"),
        "config_hash": config_hash,
        "pricing": {
            model: {**price.model_dump(mode="json"), "fictional": _fictional_price(model, price)}
            for model, price in config.pricing.items()
        },
    }


def _fictional_price(model: str, price: Any) -> bool:
    from baes.config.pricing import shipped_price_table

    return any(
        block.fictional and block.models.get(model) == price for block in shipped_price_table()
    )


def load_experiment_dataset(
    root: Path,
    name: str,
    *,
    verified_only: bool = False,
    group_prefix: str = "",
    metric_keys: Sequence[str] | None = None,
    keep_frameworks: Sequence[str] | None = None,
) -> tuple[ExperimentConfig, str, Dataset]:
    """The frozen design, its hash and the tidy dataset; ConfigChangedError on an edited config.

    `keep_frameworks` limits the dataset to those of the design's frameworks (compare's filter).
    """
    from baes.experiment.load import load_experiment

    experiment, config = load_experiment(root, name)
    config_hash = experiment.stored_hash or ""
    records, problems = read_run_records(experiment.paths, list(config.frameworks), config_hash)
    frameworks = [f for f in config.frameworks if keep_frameworks is None or f in keep_frameworks]
    dataset = build_dataset(
        [r for r in records if r["framework"] in frameworks],
        frameworks,
        MetricContext(prices=config.pricing),
        verified_only=verified_only,
        group_prefix=group_prefix,
        metric_keys=metric_keys,
    )
    dataset.problems.extend(problems)
    return config, config_hash, dataset


def require_analysable(name: str, dataset: Dataset, verified_only: bool) -> None:
    """WorkError (exit 1) when there is nothing to analyse, saying why and what to do."""
    if dataset.groups:
        return
    completed = sum(1 for r in dataset.runs if r.status == "completed")
    if verified_only and completed:
        states = verification_coverage(dataset.runs, [])["overall"]["states"]
        shown = ", ".join(f"{count} {state}" for state, count in states.items() if count)
        raise WorkError(
            f"none of the {completed} completed runs of {name!r} has verified usage ({shown}); "
            "--verified-only leaves nothing to analyse",
            hint=f"cross-check the usage against the provider with `baes reconcile {name}`, "
            "or analyse without --verified-only",
        )
    raise WorkError(
        f"experiment {name!r} has no completed run to analyse ({len(dataset.runs)} run records)",
        hint=f"run it first: baes run {name}",
    )


def analyze_experiment(
    root: Path,
    name: str,
    *,
    metrics: list[str] | None = None,
    verified_only: bool = False,
    p_adjust: str | None = None,
    ci_method: str | None = None,
    figures: bool = True,
    out_dir: Path | None = None,
    write_partial: bool = True,
    progress: Progress = no_progress,
) -> AnalysisOutcome:
    """Analyse an experiment's runs and write report.md, stats.json, data.csv and the figures.

    A partial analysis (some metrics, verified runs only, or a plan override) goes beside the
    full one (see `analysis_dir`); with `write_partial=False` it is only returned.
    """
    metric_keys = selected_metrics(metrics)
    progress("reading the run records")
    config, config_hash, dataset = load_experiment_dataset(
        root, name, verified_only=verified_only, metric_keys=metric_keys
    )
    plan, deviations = override_plan(
        plan_from_config(config), p_adjust=p_adjust, ci_method=ci_method
    )
    require_analysable(name, dataset, verified_only)
    slug = partial_slug(
        {
            "metric": None if metric_keys == selected_metrics(None) else metric_keys,
            "verified-only": verified_only,
            **{d["field"].replace("_", "-"): d["used"] for d in deviations},
        }
    )

    stats = base_stats(plan, dataset.groups, metric_keys)
    stats["source"] = {"kind": "experiment", "experiment": name}
    stats["design"] = design_block(config, config_hash)
    stats["selection"] = {
        "completed_only": True,
        "verified_only": verified_only,
        "metrics": metric_keys,
    }
    stats["deviations"] = deviations
    add_dataset_facts(stats, dataset, list(config.frameworks))
    return finish_analysis(
        analysis_dir(root / name / "analysis", slug, out_dir),
        stats,
        plan,
        values_of=dataset.values,
        dataset=dataset,
        step_ids=[s.id for s in config.scenario.steps],
        figures=figures,
        partial=slug,
        write=write_partial or slug is None,
        progress=progress,
    )


def analyze_csv(
    path: Path,
    *,
    metrics: list[str] | None = None,
    p_adjust: str | None = None,
    ci_method: str | None = None,
    figures: bool = True,
    out_dir: Path | None = None,
    write_partial: bool = True,
    progress: Progress = no_progress,
) -> AnalysisOutcome:
    """Analyse a tidy CSV (group,metric,value[,run]) with baes's default plan.

    Some of the file's metrics or a plan override make a partial analysis, as in
    `analyze_experiment`.
    """
    from baes.analysis.csv_input import read_tidy_csv

    progress(f"reading {path}")
    table = read_tidy_csv(path)
    metric_keys = selected_metrics(metrics, table.metrics)
    plan, overrides = override_plan(
        default_plan(metric_keys), p_adjust=p_adjust, ci_method=ci_method
    )
    slug = partial_slug(
        {
            "metric": None if metric_keys == list(table.metrics) else metric_keys,
            **{d["field"].replace("_", "-"): d["used"] for d in overrides},
        }
    )
    stats = base_stats(plan, table.groups, metric_keys)
    stats["source"] = {"kind": "csv", "file": path.name, "rows": table.rows}
    stats["selection"] = {"metrics": metric_keys}
    # A CSV has no pre-registered plan, so an override is a choice, not a deviation.
    stats["deviations"] = []
    stats["n_runs"] = {
        group: max((len(table.metric_values(m)[group]) for m in metric_keys), default=0)
        for group in table.groups
    }
    stats["exclusions"] = {}
    return finish_analysis(
        analysis_dir(Path(f"analysis-{path.stem}"), slug, out_dir),
        stats,
        plan,
        values_of=table.metric_values,
        dataset=None,
        step_ids=[],
        figures=figures,
        partial=slug,
        write=write_partial or slug is None,
        progress=progress,
    )


def base_stats(
    plan: AnalysisPlan, groups: Sequence[str], metric_keys: Sequence[str]
) -> dict[str, Any]:
    """The stats.json skeleton: schema version, plan, groups, metric descriptions."""
    return {
        "schema_version": STATS_SCHEMA_VERSION,
        "created_with": f"baes {__version__}",
        "plan": plan.to_json(),
        "groups": list(groups),
        "metric_info": {key: metric_info(key) for key in metric_keys},
    }


def add_dataset_facts(stats: dict[str, Any], dataset: Dataset, all_groups: Sequence[str]) -> None:
    """Runs analysed, success rates, verification coverage, exclusions and problems."""
    stats["n_runs"] = dataset.analysed_counts()
    stats["excluded_groups"] = dataset.excluded_groups
    stats["success_rates"] = success_rates(dataset.runs, all_groups)
    stats["verification_coverage"] = verification_coverage(dataset.runs, all_groups)
    stats["exclusions"] = {
        key: excluded for key in stats["metric_info"] if (excluded := dataset.exclusions(key))
    }
    stats["problems"] = list(dataset.problems)
    stats["check_errors"] = dataset.check_errors
    stats["step_checks"] = dataset.check_counts()


def finish_analysis(
    out_dir: Path,
    stats: dict[str, Any],
    plan: AnalysisPlan,
    *,
    values_of: Callable[[str], Mapping[str, Sequence[float]]],
    dataset: Dataset | None,
    step_ids: Sequence[str],
    figures: bool,
    partial: str | None = None,
    write: bool = True,
    statistics: Callable[
        [Callable[[str], Mapping[str, Sequence[float]]], Sequence[str], AnalysisPlan, Progress],
        dict[str, dict[str, Any]],
    ] = compute_metrics,
    progress: Progress = no_progress,
) -> AnalysisOutcome:
    """Compute the statistics (while the figures are drawn), render the report, write it all.

    `stats` holds everything but `metrics` and `figures`; its `metric_info` names the metrics.
    `statistics` computes the `metrics` block (compare passes its planned contrasts).
    `partial` is the slug of a partial analysis (recorded in `selection.partial`). Every file is
    written atomically under `out_dir`; with `write=False` nothing is drawn or written.
    """
    from baes.analysis.figures import write_figures
    from baes.analysis.report import render_report
    from baes.analysis.report.html import render_report_html
    from baes.store.atomic import atomic_write_json, atomic_write_text

    stats["selection"]["partial"] = partial
    metric_keys = list(stats["metric_info"])
    values = {key: values_of(key) for key in metric_keys}
    job = None
    if figures and write:
        from baes.analysis.figures import FigureInputs, FigureJob

        job = FigureJob(
            FigureInputs(
                groups=list(stats["groups"]),
                metric_info=stats["metric_info"],
                plan=stats["plan"],
                values=values,
                step_ids=list(step_ids),
                step_usage=dataset.step_usage if dataset is not None else [],
                cost_vs_pass_rate=dataset.paired("COST_USD", "CHECK_PASS_RATE") if dataset else {},
            )
        )
    try:
        stats["metrics"] = statistics(values.__getitem__, metric_keys, plan, progress)
        if job is not None:
            progress("drawing the figures")
        drawn = job.result(stats["metrics"]) if job is not None else []
    finally:
        if job is not None:
            job.close()
    stats["figures"] = [
        {
            "file": f"figures/{f.filename}",
            "title": f.title,
            "metric": f.metric,
            "skipped": f.skipped,
        }
        for f in drawn
    ]
    stats = validated_stats(stats)
    if not write:
        return AnalysisOutcome(
            stats,
            out_dir,
            out_dir / "report.md",
            out_dir / "stats.json",
            warnings=analysis_warnings(stats),
            partial=partial,
            written=False,
        )
    progress("writing the report")
    report = render_report(stats)
    written = write_figures(drawn, out_dir / "figures")
    stats_path, report_path = out_dir / "stats.json", out_dir / "report.md"
    atomic_write_json(stats_path, stats)
    atomic_write_text(report_path, report)
    # The same report as one self-contained page, its figures embedded (report/html.py).
    embedded = {f"figures/{f.filename}": f.svg for f in drawn if f.svg is not None}
    atomic_write_text(out_dir / "report.html", render_report_html(report, embedded))
    if dataset is not None:
        atomic_write_text(out_dir / "data.csv", tidy_csv(dataset))
    return AnalysisOutcome(
        stats, out_dir, report_path, stats_path, written, analysis_warnings(stats), partial
    )


def validated_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """`stats` checked against its contract (baes.records.stats.StatsRecord), as the report
    reads it: the validated dump, with exactly the keys the builder wrote.

    A mismatch is a bug in baes, reported as one line rather than written to stats.json.
    """
    from pydantic import ValidationError

    from baes.records.base import describe_validation

    try:
        record = StatsRecord.model_validate(stats)
    except ValidationError as exc:
        raise WorkError(
            f"the statistics do not match the stats.json contract ({describe_validation(exc)})",
            hint="this is a bug in baes; please report it with the command you ran",
        ) from None
    return record.model_dump(mode="json", exclude_unset=True)


def analysis_warnings(stats: Mapping[str, Any]) -> list[str]:
    """Short lines the CLI shows on stderr: problems, exclusions, unverified usage, deviations."""
    warnings = list(stats.get("problems", []))
    for group, reason in stats.get("excluded_groups", {}).items():
        warnings.append(f"{group}: {reason}; not in the statistics")
    for metric, groups in stats.get("exclusions", {}).items():
        for group, reasons in groups.items():
            count = sum(reasons.values())
            first = next(iter(reasons))
            warnings.append(f"{metric}: {count} run(s) of {group} have no value ({first})")
    coverage = stats.get("verification_coverage", {}).get("overall")
    if coverage and coverage["completed_runs"]:
        unverified = coverage["completed_runs"] - coverage["states"].get("verified", 0)
        if unverified:
            warnings.append(
                f"usage of {unverified} of {coverage['completed_runs']} completed runs is not "
                "verified against the provider's usage records"
            )
    for deviation in stats.get("deviations", []):
        warnings.append(
            f"deviation from the pre-registered plan: {deviation['field']} "
            f"{deviation['used']} instead of {deviation['planned']}"
        )
    return warnings
