"""One run: a fresh workspace, the scenario's steps in order, checks, the archive, the record.

A run is two halves. `perform_run` executes the steps wherever the run executes (a thread of
`baes run`, or a cluster worker) and writes steps/ and workspace.tar.gz in the folder it is given;
it leaves token usage open, because the metering proxy's ledger lives on the coordinator.
`settle_usage` then fills each step's usage and the totals from that ledger, on the coordinator.
`execute_run` is both halves in one process. None of them raises for a failing framework:
failures are data, recorded with their kind; the coordinator persists the record.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from baes.clock import utc_now
from baes.config.models import ExperimentConfig
from baes.engine.archive import archive_workspace
from baes.engine.run_record import RunIdentity, run_totals, step_label, step_usage
from baes.frameworks.check_envs import CheckEnvironments, prepare_check_environments
from baes.frameworks.checks import run_check
from baes.frameworks.contract import CheckResult, FrameworkAdapter, StepContext, StepOutcome
from baes.llm.ledger import LedgerEntry, read_ledger
from baes.redaction import key_env_names, key_values, redact
from baes.store.atomic import rewrite_text_file
from baes.store.paths import LEDGER_FILE


def run_seed(experiment_seed: int, framework: str, repetition: int) -> int:
    """The seed of a framework's `repetition`-th run: reproducible, different for every run."""
    digest = hashlib.sha256(f"{experiment_seed}:{framework}:{repetition}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class Attributions(Protocol):
    """What a run needs of the metering proxy."""

    def open_attribution(
        self, run_id: str, step: str, ledger_path: Path, seed: int | None = None
    ) -> str: ...
    def close_attribution(self, base_url_or_token: str, wait_s: float = ...) -> Any: ...


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs to know: the design, who it is, where it writes."""

    identity: RunIdentity
    design: ExperimentConfig
    run_dir: Path
    keep_workspace: bool = False
    seed: int | None = None  # the run's own seed (see run_seed)
    # Where each step's check runs, prepared before the first run; None: baes's own Python, and
    # a check whose requirements it lacks is recorded as an error (nothing is built mid-run).
    checks: CheckEnvironments | None = None


StepListener = Callable[[str, int, str], None]  # (run_id, step index, step id)


def _check_dict(check: CheckResult | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "passed": check.passed,
        "status": check.status,
        "exit_code": check.exit_code,
        "duration_s": round(check.duration_s, 6),
        "timed_out": check.timed_out,
        "error_reason": check.error_reason,
    }


def _stopped_by_cancel(check: CheckResult | None, cancel: threading.Event) -> bool:
    # A check without exit code that did not time out was stopped by Ctrl-C or never started.
    return check is not None and check.exit_code is None and not check.timed_out and cancel.is_set()


def _budget_refused(entries: list[Any]) -> bool:
    return any(e.error and e.error.startswith("budget_exceeded") for e in entries)


def execute_run(
    spec: RunSpec,
    start: dict[str, Any],
    adapter: FrameworkAdapter,
    proxy: Attributions,
    cancel: threading.Event,
    on_step: StepListener | None = None,
) -> dict[str, Any]:
    """Run every step of the scenario for one framework in this process; the finished record."""
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    ledger_path = spec.run_dir / LEDGER_FILE
    ledger_path.touch()
    record = perform_run(spec, start, adapter, proxy, cancel, on_step)
    return settle_usage(record, read_ledger(ledger_path))


def perform_run(
    spec: RunSpec,
    start: dict[str, Any],
    adapter: FrameworkAdapter,
    proxy: Attributions,
    cancel: threading.Event,
    on_step: StepListener | None = None,
) -> dict[str, Any]:
    """Run every step; the record with each step's `usage` still None (see `settle_usage`).

    Writes steps/ and workspace.tar.gz under spec.run_dir; the ledger path it gives
    `open_attribution` is spec.run_dir/usage.jsonl, which only the proxy writes.
    """
    design, run_dir, run_id = spec.design, spec.run_dir, spec.identity.run_id
    workspace = run_dir / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    ledger_path = run_dir / LEDGER_FILE
    token = "baes-run-" + secrets.token_urlsafe(16)  # what the framework sees as its API key
    withheld_env = key_env_names(design)  # never in a check's environment
    keys = key_values(withheld_env)  # never in a log or an error message
    began = time.monotonic()
    run_deadline = began + design.limits.run_timeout_s
    checks = spec.checks or prepare_check_environments(design.scenario.steps, None, build=False)

    steps: list[dict[str, Any]] = []
    error: dict[str, str] | None = None
    for index, step in enumerate(design.scenario.steps, start=1):
        label = step_label(index, step.id)
        if error is not None or cancel.is_set():
            if error is None:
                error = {"kind": "interrupted", "message": "stopped by the user before this step"}
            steps.append(_skipped(index, step.id))
            continue
        if on_step is not None:
            on_step(run_id, index, step.id)
        log_dir = run_dir / "steps" / label
        log_dir.mkdir(parents=True, exist_ok=True)
        step_started, step_began = utc_now(), time.monotonic()
        deadline = min(step_began + design.limits.step_timeout_s, run_deadline)
        check_env = {"BAES_STEP_ID": step.id, "BAES_STEP_INDEX": str(index)}

        def step_check(
            command: str | None = step.check,
            log_dir: Path = log_dir,
            env: dict[str, str] = check_env,
            step_id: str = step.id,
        ) -> CheckResult:
            assert command is not None  # handed to the adapter only when the step has a check
            return run_check(
                command,
                workspace,
                log_dir / "check.log",
                design.limits.step_timeout_s,
                env,
                cancel=cancel,
                withheld_env=withheld_env,
                environment=checks.for_step(step_id),
            )

        base_url = proxy.open_attribution(run_id, label, ledger_path, seed=spec.seed)
        try:
            outcome = adapter.run_step(
                StepContext(
                    workspace=workspace,
                    step_index=index,
                    step_id=step.id,
                    prompt=step.prompt,
                    base_url=base_url,
                    api_key=token,
                    model=design.model,
                    sampling=design.sampling,
                    hitl_text=design.scenario.hitl,
                    log_dir=log_dir,
                    deadline=deadline,
                    cancel=cancel,
                    run_check=step_check if step.check else None,
                    seed=spec.seed,
                )
            )
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the run record
            outcome = StepOutcome(
                ok=False,
                attempts=1,
                error_kind="internal",
                error_message=f"adapter crashed: {type(exc).__name__}: {exc}",
                check=None,
            )
        finally:
            proxy.close_attribution(base_url)

        check = outcome.check
        if outcome.ok and step.check and check is None and not cancel.is_set():
            check = step_check()
        if outcome.ok and _stopped_by_cancel(check, cancel):
            # A check cut short by Ctrl-C measured nothing: the run is interrupted, not completed
            # with a failing check.
            message = f"step {index} ({step.id}): stopped by the user during its check"
            error = {"kind": "interrupted", "message": message}
        if outcome.ok:
            status = "ok"
        else:
            # settle_usage makes the kind "budget" when the proxy refused one of the step's calls.
            kind = outcome.error_kind or "framework"
            status = "timeout" if kind == "timeout" else "failed"
            message = redact(outcome.error_message or "the framework failed", *keys)
            error = {"kind": kind, "message": f"step {index} ({step.id}): {message}"}
        _redact_logs(log_dir, keys)
        steps.append(
            {
                "index": index,
                "id": step.id,
                "status": status,
                "started_at": step_started,
                "ended_at": utc_now(),
                "duration_s": round(time.monotonic() - step_began, 6),
                "attempts": outcome.attempts,
                "usage": None,  # settle_usage, from the ledger
                "check": _check_dict(check),
            }
        )

    archive = archive_workspace(workspace, run_dir, spec.keep_workspace)
    ended = utc_now()
    record = dict(start)
    if error is None:
        record["status"] = "completed"
    elif error["kind"] == "interrupted":
        record["status"] = "interrupted"
    else:
        record["status"] = "failed"
    record.update(
        error=error,
        ended_at=ended,
        steps=steps,
        # Only the wall time is known here; settle_usage adds the sums over the steps.
        totals={"wall_seconds": round(time.monotonic() - began, 6)},
        archive=archive,
        # Where each step's check ran: part of the instrument, like the Python baes ran on.
        environment={**(start.get("environment") or {}), "checks": checks.descriptions()},
    )
    return record


def settle_usage(record: dict[str, Any], entries: list[LedgerEntry]) -> dict[str, Any]:
    """The record with each step's usage and the totals from the run's ledger lines.

    A step that failed while the proxy refused one of its calls for the budget failed because of
    the budget, whatever the framework made of the refusal: its error kind becomes "budget".
    """
    by_step: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_step.setdefault(entry.step, []).append(entry)
    error, status = record.get("error"), record["status"]
    steps = []
    for step in record["steps"]:
        step_entries = by_step.get(step_label(step["index"], step["id"]), [])
        step = {**step, "usage": step_usage(step_entries)}
        if (
            step["status"] in ("failed", "timeout")
            and error is not None
            and error["kind"] != "budget"
            and _budget_refused(step_entries)
        ):
            step["status"] = status = "failed"
            error = {**error, "kind": "budget"}
        steps.append(step)
    wall = (record.get("totals") or {}).get("wall_seconds")
    return {
        **record,
        "status": status,
        "error": error,
        "steps": steps,
        "totals": run_totals(steps, record["started_at"], record.get("ended_at"), wall),
    }


def _redact_logs(log_dir: Path, keys: list[str]) -> None:
    """Rewrite the step's logs without keys: a provider may echo the key in an error the
    framework prints (the proxy already removes it from what it forwards; this is the second
    belt, for everything else that ends up in the logs)."""
    for path in log_dir.iterdir():
        if path.is_file():
            rewrite_text_file(path, lambda text: redact(text, *keys))


def _skipped(index: int, step_id: str) -> dict[str, Any]:
    # A skipped step made no call: zero usage is a measurement here, not a fallback.
    return {
        "index": index,
        "id": step_id,
        "status": "skipped",
        "started_at": None,
        "ended_at": None,
        "duration_s": 0.0,
        "attempts": 0,
        "usage": step_usage([]),
        "check": None,
    }
