"""The tidy dataset: one row per analysed run and metric, built from the run records.

Only completed runs are measured (optionally only those whose usage is verified); every readable
record, whatever its status, feeds the success-rate table and the verification coverage. A value
that cannot be measured stays in the table as None with its reason, so the analysis can state how
many values it left out and why.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from baes.analysis.metrics import CATALOG, MetricContext
from baes.store.manifest import RUN_STATUSES
from baes.store.paths import NAME_RE, RUN_RECORD_FILE, ExperimentPaths

VERIFICATION_STATES = ("unverified", "pending", "verified", "mismatch", "unavailable")
CHECK_OUTCOMES = ("passed", "failed", "error")


@dataclass(frozen=True, slots=True)
class Observation:
    """One metric of one analysed run; value None when it could not be measured (see reason)."""

    run_id: str
    group: str
    metric: str
    value: float | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class StepUsage:
    """Tokens of one scenario step of one analysed run (None when not reported)."""

    run_id: str
    group: str
    step: str
    input_tokens: int | None
    output_tokens: int | None


@dataclass(frozen=True, slots=True)
class StepCheck:
    """How the check of one scenario step of one analysed run ended: passed, failed or error."""

    run_id: str
    group: str
    step: str
    outcome: str


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What the success-rate and verification tables need of any run record."""

    run_id: str
    group: str
    status: str
    error_kind: str | None
    error_message: str | None
    verification: str


@dataclass
class Dataset:
    """The tidy table plus the facts about every run that was read.

    `groups` are the groups with at least one analysed run, in the design's order;
    `excluded_groups` says why the others are not analysed.
    """

    groups: list[str]
    observations: list[Observation]
    step_usage: list[StepUsage]
    runs: list[RunInfo]
    problems: list[str] = field(default_factory=list)
    excluded_groups: dict[str, str] = field(default_factory=dict)
    # Per group, the analysed runs' checks the harness could not run (see check_errors()).
    check_errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    step_checks: list[StepCheck] = field(default_factory=list)

    def values(self, metric: str) -> dict[str, list[float]]:
        """The measurable values of `metric` per group (every group, possibly empty)."""
        result: dict[str, list[float]] = {group: [] for group in self.groups}
        for o in self.observations:
            if o.metric == metric and o.value is not None:
                result[o.group].append(o.value)
        return result

    def exclusions(self, metric: str) -> dict[str, dict[str, int]]:
        """Per group, how many analysed runs have no value of `metric`, by reason."""
        result: dict[str, Counter[str]] = {}
        for o in self.observations:
            if o.metric == metric and o.value is None:
                result.setdefault(o.group, Counter())[o.reason or "unknown"] += 1
        return {group: dict(counts) for group, counts in result.items()}

    def paired(self, metric_x: str, metric_y: str) -> dict[str, list[tuple[float, float]]]:
        """Per group, (x, y) of the runs where both metrics were measured, in run order."""
        by_run: dict[tuple[str, str], dict[str, float]] = {}
        for o in self.observations:
            if o.value is not None and o.metric in (metric_x, metric_y):
                by_run.setdefault((o.group, o.run_id), {})[o.metric] = o.value
        result: dict[str, list[tuple[float, float]]] = {group: [] for group in self.groups}
        for (group, _), values in by_run.items():
            if metric_x in values and metric_y in values:
                result[group].append((values[metric_x], values[metric_y]))
        return result

    def check_counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """Per group and step (in run order), the analysed runs' checks by outcome."""
        result: dict[str, dict[str, dict[str, int]]] = {group: {} for group in self.groups}
        for check in self.step_checks:
            counts = result[check.group].setdefault(
                check.step, {outcome: 0 for outcome in CHECK_OUTCOMES}
            )
            counts[check.outcome] += 1
        return result

    def analysed_counts(self) -> dict[str, int]:
        """Analysed runs per group."""
        runs: dict[str, set[str]] = {group: set() for group in self.groups}
        for o in self.observations:
            runs[o.group].add(o.run_id)
        return {group: len(ids) for group, ids in runs.items()}


def combine_datasets(datasets: Sequence[Dataset]) -> Dataset:
    """One dataset from several with distinct group names (compare's experiment×framework)."""
    combined = Dataset([], [], [], [])
    for dataset in datasets:
        combined.groups.extend(dataset.groups)
        combined.observations.extend(dataset.observations)
        combined.step_usage.extend(dataset.step_usage)
        combined.runs.extend(dataset.runs)
        combined.problems.extend(dataset.problems)
        combined.excluded_groups.update(dataset.excluded_groups)
        combined.check_errors.update(dataset.check_errors)
        combined.step_checks.extend(dataset.step_checks)
    return combined


def read_run_records(
    paths: ExperimentPaths, frameworks: Sequence[str], config_hash: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every usable run.json of the experiment (by framework, then run id) and the problems.

    The run.json files are the source of truth, so they are read directly rather than through the
    manifest (a cache). A record of a framework outside the design or of another design is left
    out, and the problem says so.
    """
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    if not paths.runs_dir.is_dir():
        return records, problems
    known = set(frameworks)
    for framework_dir in sorted(os.scandir(paths.runs_dir), key=lambda e: e.name):
        if not framework_dir.is_dir() or not NAME_RE.fullmatch(framework_dir.name):
            continue
        for run_dir in sorted(os.scandir(framework_dir.path), key=lambda e: e.name):
            run_json = os.path.join(run_dir.path, RUN_RECORD_FILE)
            if not run_dir.is_dir() or not os.path.exists(run_json):
                continue
            record, problem = _read_record(run_json, framework_dir.name, known, config_hash)
            if problem is not None:
                problems.append(problem)
            if record is not None:
                records.append(record)
    return records, problems


def _read_record(
    run_json: str, folder_framework: str, known: set[str], config_hash: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    try:
        with open(run_json, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        return None, f"{run_json}: unreadable run record ({exc}); left out"
    if not isinstance(record, dict) or not isinstance(record.get("run_id"), str):
        return None, f"{run_json}: not a run record (no run_id); left out"
    if record["run_id"] != os.path.basename(os.path.dirname(run_json)):
        # e.g. a copied run folder: counting it would count one run twice
        return None, f"{run_json}: run_id {record['run_id']!r} is not its folder's name; left out"
    framework = record.get("framework")
    if framework != folder_framework:
        return None, (
            f"{run_json}: framework {framework!r} does not match its folder "
            f"{folder_framework!r}; left out"
        )
    if framework not in known:
        return None, f"{run_json}: framework {framework!r} is not in the design; left out"
    if record.get("status") not in RUN_STATUSES:
        return None, f"{run_json}: unknown status {record.get('status')!r}; left out"
    recorded_hash = record.get("config_hash")
    if config_hash is not None and recorded_hash is not None and recorded_hash != config_hash:
        return None, (
            f"{run_json}: recorded under another design (config hash {str(recorded_hash)[:12]}…); "
            "left out"
        )
    return record, None


def verification_state(record: Mapping[str, Any]) -> str:
    """The run's usage-verification state; a missing or null verification is `unverified`."""
    verification = record.get("verification")
    if isinstance(verification, Mapping) and isinstance(verification.get("state"), str):
        return verification["state"]
    return "unverified"


def build_dataset(
    records: Iterable[Mapping[str, Any]],
    frameworks: Sequence[str],
    context: MetricContext,
    *,
    verified_only: bool = False,
    group_prefix: str = "",
    metric_keys: Sequence[str] | None = None,
) -> Dataset:
    """Measure the completed runs (verified ones only on request) with the metric catalog.

    Groups are `group_prefix + framework` in the design's order.
    """
    specs = [spec for spec in CATALOG if metric_keys is None or spec.key in metric_keys]
    observations: list[Observation] = []
    step_usage: list[StepUsage] = []
    step_checks: list[StepCheck] = []
    runs: list[RunInfo] = []
    analysed: Counter[str] = Counter()
    analysed_records: list[Mapping[str, Any]] = []
    for record in records:
        group = group_prefix + record["framework"]
        error = record.get("error") if isinstance(record.get("error"), Mapping) else {}
        state = verification_state(record)
        runs.append(
            RunInfo(
                run_id=record["run_id"],
                group=group,
                status=record["status"],
                error_kind=_text(error.get("kind")),
                error_message=_text(error.get("message")),
                verification=state,
            )
        )
        if record["status"] != "completed" or (verified_only and state != "verified"):
            continue
        analysed[group] += 1
        analysed_records.append(record)
        for spec in specs:
            measured = spec.measure(record, context)
            observations.append(
                Observation(record["run_id"], group, spec.key, measured.value, measured.reason)
            )
        step_usage.extend(_step_usage(record, group))
        step_checks.extend(_step_checks(record, group))

    all_groups = [group_prefix + f for f in frameworks]
    groups = [g for g in all_groups if analysed[g] > 0]
    excluded = {
        g: ("no completed run with verified usage" if verified_only else "no completed run")
        for g in all_groups
        if analysed[g] == 0
    }
    return Dataset(
        groups,
        observations,
        step_usage,
        runs,
        excluded_groups=excluded,
        check_errors=check_errors(analysed_records, group_prefix),
        step_checks=step_checks,
    )


def check_errors(
    records: Iterable[Mapping[str, Any]], group_prefix: str = ""
) -> dict[str, dict[str, Any]]:
    """Per group, the checks with status `error` (the harness could not run them, so they are no
    verdict and are left out of CHECK_PASS_RATE): how many, in how many runs, and why."""
    result: dict[str, dict[str, Any]] = {}
    for record in records:
        reasons = [
            str(check.get("error_reason") or "no reason recorded")
            for step in record.get("steps") or []
            if isinstance(step, Mapping)
            and isinstance(check := step.get("check"), Mapping)
            and check.get("status") == "error"
        ]
        if not reasons:
            continue
        entry = result.setdefault(
            group_prefix + record["framework"], {"checks": 0, "runs": 0, "reasons": {}}
        )
        entry["checks"] += len(reasons)
        entry["runs"] += 1
        for reason in reasons:
            entry["reasons"][reason] = entry["reasons"].get(reason, 0) + 1
    return result


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _tokens(usage: Mapping[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _step_usage(record: Mapping[str, Any], group: str) -> list[StepUsage]:
    rows = []
    for step in record.get("steps") or []:
        if not isinstance(step, Mapping) or not isinstance(step.get("id"), str):
            continue
        usage = step.get("usage") if isinstance(step.get("usage"), Mapping) else {}
        rows.append(
            StepUsage(
                record["run_id"],
                group,
                step["id"],
                _tokens(usage, "input_tokens"),
                _tokens(usage, "output_tokens"),
            )
        )
    return rows


def check_outcome(check: Mapping[str, Any]) -> str | None:
    """passed | failed | error of a step's check record; None when the record is unreadable.

    Records written before harness errors were told apart carry only `passed`.
    """
    status = check.get("status")
    if status in CHECK_OUTCOMES:
        return status
    if "status" not in check and isinstance(check.get("passed"), bool):
        return "passed" if check["passed"] else "failed"
    return None


def _step_checks(record: Mapping[str, Any], group: str) -> list[StepCheck]:
    rows = []
    for step in record.get("steps") or []:
        if not isinstance(step, Mapping) or not isinstance(step.get("id"), str):
            continue
        check = step.get("check")
        if isinstance(check, Mapping) and (outcome := check_outcome(check)) is not None:
            rows.append(StepCheck(record["run_id"], group, step["id"], outcome))
    return rows


def success_rates(runs: Sequence[RunInfo], groups: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per group: runs by status, completed / attempted, and the failure reasons by error kind.

    Attempted runs are the finished ones (completed, failed, interrupted); a run still `running`
    is counted apart and not in the rate.
    """
    result: dict[str, dict[str, Any]] = {}
    for group in groups:
        mine = [r for r in runs if r.group == group]
        counts = Counter(r.status for r in mine)
        attempted = counts["completed"] + counts["failed"] + counts["interrupted"]
        reasons: dict[str, dict[str, Any]] = {}
        for run in mine:
            if run.status not in ("failed", "interrupted"):
                continue
            kind = run.error_kind or ("interrupted" if run.status == "interrupted" else "unknown")
            entry = reasons.setdefault(kind, {"count": 0, "example": run.error_message})
            entry["count"] += 1
            if entry["example"] is None:
                entry["example"] = run.error_message
        result[group] = {
            "attempted": attempted,
            "completed": counts["completed"],
            "failed": counts["failed"],
            "interrupted": counts["interrupted"],
            "running": counts["running"],
            "success_rate": counts["completed"] / attempted if attempted else None,
            "failure_reasons": reasons,
        }
    return result


def verification_coverage(runs: Sequence[RunInfo], groups: Sequence[str]) -> dict[str, Any]:
    """Completed runs by verification state, per group and overall, with the verified share."""

    def summarize(selected: list[RunInfo]) -> dict[str, Any]:
        counts = Counter(r.verification for r in selected)
        states = {state: counts.get(state, 0) for state in VERIFICATION_STATES}
        states.update({s: c for s, c in counts.items() if s not in states})
        total = len(selected)
        return {
            "completed_runs": total,
            "states": states,
            "verified_share": counts["verified"] / total if total else None,
        }

    completed = [r for r in runs if r.status == "completed"]
    return {
        "overall": summarize(completed),
        "groups": {g: summarize([r for r in completed if r.group == g]) for g in groups},
    }


def tidy_csv(dataset: Dataset) -> str:
    """The measurable values as CSV (group,metric,value,run): the input `--from-csv` reads."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["group", "metric", "value", "run"])
    for o in dataset.observations:
        if o.value is not None:
            writer.writerow([o.group, o.metric, repr(o.value), o.run_id])
    return buffer.getvalue()
