"""The runs of one experiment, one row each, for `baes runs` (and `baes view`).

The manifest says which runs there are; each run's own run.json (the source of truth) gives its
numbers. Cost is priced with the experiment's frozen price table through the metric catalog, so
it is the number `baes analyze` reports; a value that cannot be known is None with its reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from baes.analysis.dataset import check_outcome, verification_state
from baes.analysis.metrics import MetricContext, measure_cost_usd, measure_wall_seconds
from baes.errors import InputError
from baes.experiment.load import inspect_experiment
from baes.store.errors import RunRecordError
from baes.store.manifest import Manifest
from baes.store.paths import RUN_RECORD_FILE
from baes.store.run_folders import RUN_STATUSES, load_run_record


@dataclass(frozen=True)
class RunRow:
    """One run as `baes runs` lists it; None where the record does not say (see the reasons)."""

    run_id: str
    framework: str
    status: str
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    cost_usd: float | None
    input_tokens: int | None
    output_tokens: int | None
    calls: int | None
    checks_passed: int | None
    checks_failed: int | None
    checks_errored: int | None
    checks_total: int | None
    verification: str
    error: str | None
    # Why a None above is None (cost unpriced, tokens not reported, unreadable record).
    reasons: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunListing:
    """The rows (oldest first) and what could not be read."""

    experiment: str
    rows: list[RunRow]
    problems: list[str] = field(default_factory=list)


def list_runs(
    root: Path, name: str, *, framework: str | None = None, status: str | None = None
) -> RunListing:
    """The runs of experiment `name`, optionally of one framework and one status.

    InputError for an unknown experiment, framework or status.
    """
    experiment = inspect_experiment(root, name)
    config = experiment.config
    manifest = Manifest(experiment.paths).read()
    if status is not None and status not in RUN_STATUSES:
        raise InputError(f"unknown run status {status!r}; choose one of {', '.join(RUN_STATUSES)}")
    known = list(config.frameworks) if config else []
    known += sorted({r["framework"] for r in manifest.runs.values()} - set(known))
    if framework is not None and framework not in known:
        raise InputError(
            f"experiment {name!r} has no framework {framework!r}",
            hint=f"its frameworks: {', '.join(known) or 'none'}",
        )
    context = MetricContext(prices=config.pricing) if config else None
    rows, problems = [], list(manifest.problems)
    # Run ids start with their start time, so their order is the order the runs started in.
    for run_id, summary in sorted(manifest.runs.items()):
        if framework is not None and summary["framework"] != framework:
            continue
        if status is not None and summary["status"] != status:
            continue
        run_json = experiment.paths.run_dir(summary["framework"], run_id) / RUN_RECORD_FILE
        try:
            record = load_run_record(run_json)
        except RunRecordError as exc:
            problems.append(exc.message)
            rows.append(_unreadable_row(run_id, summary, exc.message))
            continue
        rows.append(_row(record, context))
    return RunListing(name, rows, problems)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _row(record: dict[str, Any], context: MetricContext | None) -> RunRow:
    totals = record.get("totals") if isinstance(record.get("totals"), dict) else {}
    reasons: dict[str, str] = {}
    if context is None:
        cost, reasons["cost_usd"] = None, "the experiment's config.yaml cannot be read"
    else:
        measured = measure_cost_usd(record, context)
        cost = measured.value
        if measured.reason:
            reasons["cost_usd"] = measured.reason
    duration = None
    if record.get("ended_at") is None:
        reasons["duration_s"] = "the run has not ended"
    else:
        measured_duration = measure_wall_seconds(record, context)
        duration = measured_duration.value
        if measured_duration.reason:
            reasons["duration_s"] = measured_duration.reason
    tokens = {key: _int(totals.get(key)) for key in ("input_tokens", "output_tokens")}
    if any(value is None for value in tokens.values()):
        reasons["tokens"] = (
            f"usage of {totals['unreported_calls']} call(s) not reported"
            if _int(totals.get("unreported_calls"))
            else "not recorded"
        )
    outcomes = [
        check_outcome(step["check"])
        for step in record.get("steps") or []
        if isinstance(step, dict) and isinstance(step.get("check"), dict)
    ]
    error = record.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    kind = error.get("kind") if isinstance(error, dict) else None
    return RunRow(
        run_id=record["run_id"],
        framework=record["framework"],
        status=record["status"],
        started_at=record.get("started_at"),
        ended_at=record.get("ended_at"),
        duration_s=duration,
        cost_usd=cost,
        input_tokens=tokens["input_tokens"],
        output_tokens=tokens["output_tokens"],
        calls=_int(totals.get("calls")),
        checks_passed=outcomes.count("passed"),
        checks_failed=outcomes.count("failed"),
        checks_errored=outcomes.count("error"),
        checks_total=len(outcomes),
        verification=verification_state(record),
        error=f"{kind}: {message}" if kind and message else (message or kind),
        reasons=reasons,
    )


def _unreadable_row(run_id: str, summary: dict[str, Any], problem: str) -> RunRow:
    return RunRow(
        run_id=run_id,
        framework=summary["framework"],
        status=summary["status"],
        started_at=summary.get("started_at"),
        ended_at=summary.get("ended_at"),
        duration_s=None,
        cost_usd=None,
        input_tokens=None,
        output_tokens=None,
        calls=None,
        checks_passed=None,
        checks_failed=None,
        checks_errored=None,
        checks_total=None,
        verification=summary.get("verification") or "unverified",
        error=None,
        reasons={"record": problem},
    )
