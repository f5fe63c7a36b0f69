"""`baes reconcile` as a library: read the provider's usage for the selected runs' minutes,
compare it with the experiment's ledgers, move each run's verification state, keep the evidence.

Order of writes: the evidence line first, then each run.json's `verification`, then the manifest
and the registry. A reconcile killed in between leaves evidence that the next one re-judges from;
it never leaves a state without the read that justified it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baes.config.models import ExperimentConfig
from baes.errors import InputError
from baes.experiment.load import inspect_experiment, load_experiment
from baes.experiment.registry import registry_for
from baes.llm.ledger import LedgerNotFoundError, read_ledger
from baes.reconcile.buckets import LedgerView, MeteredCall, Unit, billed_calls, ledger_view
from baes.reconcile.compare import GroupComparison
from baes.reconcile.evidence import EVIDENCE_SCHEMA_VERSION, EvidenceLog, evidence_path
from baes.reconcile.judge import ReadJudge
from baes.reconcile.neighbours import neighbour_calls
from baes.reconcile.quantities import Quantities, total
from baes.reconcile.report import RUNNING, ReadOutcome, ReconcileReport, RunCheck
from baes.reconcile.run_records import RunRef, find_runs, write_verification
from baes.reconcile.source import Scope, read_scope, usage_client_for
from baes.reconcile.states import judge_failure, judge_without_calls
from baes.reconcile.usage_client import UsageApiError, UsageReport
from baes.records.evidence import EvidenceRecord
from baes.store.atomic import file_lock
from baes.store.paths import ExperimentPaths


@dataclass(frozen=True)
class Selection:
    """Which runs to reconcile: all, one framework's, or one run (id or unique prefix)."""

    framework: str | None = None
    run: str | None = None


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _select(
    runs: list[RunRef], frameworks: list[str], name: str, selection: Selection
) -> list[RunRef]:
    # Grouped by framework in the design's order, each framework's runs by start time.
    order = {fw: i for i, fw in enumerate(frameworks)}
    chosen = sorted(runs, key=lambda r: order.get(r.framework, len(order)))
    if selection.framework is not None:
        if selection.framework not in frameworks and not any(
            r.framework == selection.framework for r in runs
        ):
            raise InputError(
                f"experiment {name!r} has no framework {selection.framework!r}",
                hint=f"its frameworks: {', '.join(frameworks)}",
            )
        chosen = [r for r in chosen if r.framework == selection.framework]
    if selection.run is not None:
        exact = [r for r in chosen if r.run_id == selection.run]
        matches = exact or [r for r in chosen if r.run_id.startswith(selection.run)]
        if not matches:
            raise InputError(
                f"experiment {name!r} has no run {selection.run!r}"
                + (f" of framework {selection.framework!r}" if selection.framework else ""),
                hint=f"`baes reconcile {name} --list` shows its runs",
            )
        if len(matches) > 1:
            shown = ", ".join(f"{r.run_id} ({r.framework})" for r in matches[:MAX_MATCHES_SHOWN])
            more = len(matches) - MAX_MATCHES_SHOWN
            raise InputError(
                f"run id prefix {selection.run!r} matches {len(matches)} runs: {shown}"
                + (f" and {more} more" if more > 0 else ""),
                hint="give more characters of the run id; "
                f"`baes reconcile {name} --list` shows them all",
            )
        chosen = matches
    return chosen


MAX_MATCHES_SHOWN = 8


def _stored_message(ref: RunRef) -> str:
    summary = ref.verification.summary
    if isinstance(summary, dict) and isinstance(summary.get("message"), str):
        return summary["message"]
    return "never checked against the provider" if ref.state == "unverified" else ""


def _as_stored(ref: RunRef, message: str | None = None) -> RunCheck:
    return RunCheck(
        run_id=ref.run_id,
        framework=ref.framework,
        status=ref.status,
        previous_state=ref.state,
        state=ref.state,
        changed_at=ref.verification.changed_at,
        message=message if message is not None else _stored_message(ref),
        checked=False,
    )


def list_states(root: Path, name: str, selection: Selection | None = None) -> ReconcileReport:
    """The stored verification state of each selected run; calls no provider."""
    experiment = inspect_experiment(root, name)
    runs, problems = find_runs(experiment.paths)
    frameworks = list(experiment.config.frameworks) if experiment.config else []
    selected = _select(runs, frameworks, name, selection or Selection())
    return ReconcileReport(name, None, [_as_stored(r) for r in selected], problems)


@dataclass
class _Ledger:
    calls: list[MeteredCall]
    missing: set[str]
    damaged: dict[str, int]


def _experiment_ledger(runs: list[RunRef]) -> _Ledger:
    """Every billed call of every run (running ones too: they share the provider's minutes)."""
    ledger = _Ledger([], set(), {})
    for ref in runs:
        try:
            entries = read_ledger(ref.ledger)
        except LedgerNotFoundError:
            ledger.missing.add(ref.run_id)
            continue
        ledger.calls += billed_calls(entries)
        if entries.damaged:
            ledger.damaged[ref.run_id] = len(entries.damaged)
    return ledger


def _read_provider(
    design: ExperimentConfig, root: Path, scope: Scope, window: tuple[int, int]
) -> UsageReport | UsageApiError:
    try:
        with usage_client_for(design, root) as client:
            return client.completions(
                *window,
                group_by=scope.group_by,
                project_ids=[scope.project_id] if scope.project_id else [],
            )
    except UsageApiError as error:
        return error


def _error_text(error: UsageApiError) -> str:
    return error.message + (f" ({error.hint})" if error.hint else "")


def reconcile_experiment(
    root: Path, name: str, selection: Selection | None = None
) -> ReconcileReport:
    """Read the provider once for the selected runs and move their states; see the module doc."""
    experiment, design = load_experiment(root, name)
    paths = experiment.paths
    runs, problems = find_runs(paths)
    selected = _select(runs, list(design.frameworks), name, selection or Selection())
    targets = [r for r in selected if r.status != RUNNING]
    scope = read_scope(design)
    ledger = _experiment_ledger(runs)
    for run_id, count in ledger.damaged.items():
        problems.append(f"run {run_id}: {count} damaged ledger line(s) are not counted")
    view = ledger_view(ledger.calls, design.reconcile.clock_skew_s, design.reconcile.api_key_id)
    units = sorted({u for r in targets for u in view.units_by_run.get(r.run_id, [])})
    outcome: UsageReport | UsageApiError | None = None
    if units:
        outcome = _read_provider(design, root, scope, (units[0].start, units[-1].end))
    now = time.time()
    # One reconcile judges and writes at a time (evidence, run records); see write_verification.
    with file_lock(paths.meta_dir / "reconcile"):
        return _judge_and_record(
            paths=paths,
            design=design,
            scope=scope,
            selected=selected,
            targets=targets,
            ledger=ledger,
            view=view,
            units=units,
            outcome=outcome,
            now=now,
            problems=problems,
        )


def _judge_and_record(
    *,
    paths: ExperimentPaths,
    design: ExperimentConfig,
    scope: Scope,
    selected: list[RunRef],
    targets: list[RunRef],
    ledger: _Ledger,
    view: LedgerView,
    units: list[Unit],
    outcome: UsageReport | UsageApiError | None,
    now: float,
    problems: list[str],
) -> ReconcileReport:
    evidence = EvidenceLog(evidence_path(paths))
    read_id = (
        datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    )
    judge = None
    if isinstance(outcome, UsageReport):
        neighbours = neighbour_calls(paths.root, design, units)
        judge = ReadJudge(
            design, scope, view, outcome, evidence.reads(scope.signature()), now, neighbours
        )
    checks: dict[str, RunCheck] = {}
    for ref in targets:
        run_units = view.units_by_run.get(ref.run_id, [])
        comparisons: list[GroupComparison] = []
        waiting_helps = True
        if ref.run_id in ledger.missing and (ref.totals.calls or 0) > 0:
            judgment = judge_failure(
                ref.state, f"the run's ledger {ref.ledger} is missing; its calls cannot be checked"
            )
            waiting_helps = False
        elif not run_units:
            judgment = judge_without_calls()
        elif isinstance(outcome, UsageApiError):
            judgment = judge_failure(ref.state, _error_text(outcome))
            waiting_helps = not outcome.permanent
        else:
            assert judge is not None
            judgment, comparisons = judge.judge(run_units)
        message = judgment.message
        if ref.run_id in ledger.damaged:
            message = f"{ledger.damaged[ref.run_id]} damaged ledger line(s) not counted; {message}"
        sharing = set().union(*(view.runs_by_unit[u] for u in run_units)) if run_units else set()
        checks[ref.run_id] = RunCheck(
            run_id=ref.run_id,
            framework=ref.framework,
            status=ref.status,
            previous_state=ref.state,
            state=judgment.state,
            changed_at=None,
            message=message,
            checked=True,
            own=view.own_by_run.get(ref.run_id, Quantities()),
            buckets=[u.label for u in run_units],
            shared_with=len(sharing - {ref.run_id}),
            ledger=total([c.ledger for c in comparisons]) if comparisons else None,
            provider=total([c.provider for c in comparisons]) if comparisons else None,
            differences=judgment.differences,
            waiting_helps=waiting_helps,
        )
    read = None
    if outcome is not None:
        read = _record_evidence(evidence, read_id, now, scope, units, outcome, judge, checks, paths)
    checked_at = _utc(now)
    for ref in targets:
        check = checks[ref.run_id]
        summary = {
            "checked_at": checked_at,
            "read_id": read.read_id if read else None,
            "message": check.message,
            "differences": list(check.differences),
        }
        verification = write_verification(paths, ref, check.state, summary, checked_at)
        check.changed_at = verification.changed_at
    registry_for(paths.root).refresh(paths.name)
    ordered = [
        checks.get(ref.run_id) or _as_stored(ref, "still running: checked once it has ended")
        for ref in selected
    ]
    return ReconcileReport(paths.name, read, ordered, problems)


def _record_evidence(
    evidence: EvidenceLog,
    read_id: str,
    now: float,
    scope: Scope,
    units: list[Unit],
    outcome: UsageReport | UsageApiError,
    judge: ReadJudge | None,
    checks: dict[str, RunCheck],
    paths: ExperimentPaths,
) -> ReadOutcome:
    """Append this read to the evidence; a failed read is recorded with its cause, no numbers."""
    window = (units[0].start, units[-1].end)
    ok = isinstance(outcome, UsageReport)
    record: dict[str, Any] = {
        "schema_version": EVIDENCE_SCHEMA_VERSION,
        "read_id": read_id,
        "experiment": paths.name,
        "at": _utc(now),
        "t": now,
        "scope": scope.signature(),
        "window": list(window),
        "ok": ok,
    }
    if isinstance(outcome, UsageReport):
        assert judge is not None
        record |= {
            "pages": outcome.pages,
            "attempts": outcome.attempts,
            "error": None,
            "buckets": [b.to_json() for b in outcome.buckets],
            "comparisons": [
                c.to_json(judge.tolerance)
                for _, c in sorted(judge.comparisons.items(), key=lambda i: (i[0][0], str(i[0][1])))
            ],
        }
        read = ReadOutcome(read_id, _utc(now), window, True, outcome.pages, outcome.attempts)
    else:
        record |= {
            "pages": None,
            "attempts": outcome.attempts,
            "error": {
                "kind": outcome.kind,
                "message": outcome.message,
                "permanent": outcome.permanent,
            },
            "buckets": None,
            "comparisons": None,
        }
        read = ReadOutcome(
            read_id,
            _utc(now),
            window,
            False,
            attempts=outcome.attempts,
            error=_error_text(outcome),
            error_kind=outcome.kind,
        )
    record["runs"] = {
        run_id: {
            "framework": check.framework,
            "previous": check.previous_state,
            "state": check.state,
            "message": check.message,
        }
        for run_id, check in checks.items()
    }
    evidence.append(EvidenceRecord.model_validate(record))
    return read
