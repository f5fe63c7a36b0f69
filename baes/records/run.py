"""run.json: the record of one run, the source of truth of everything baes reports about it.

Token counts come only from the metering proxy's ledger; a count that was not measured is null
(with `unreported_calls` saying how many calls lacked usage), never zero.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from baes.records.base import Record

RunStatus = Literal["running", "completed", "failed", "interrupted"]
# Keep in step with RunStatus: the Literal is what pydantic checks, the tuple what users see.


def _absent(value: Any) -> bool:
    return value is None


class RunError(Record):
    """Why a run did not complete."""

    kind: str
    """What failed: `framework`, `timeout`, `budget`, `internal`, `interrupted`, ..."""
    reason: str | None = Field(default=None, exclude_if=_absent)
    """A finer cause where one is known (e.g. `worker-lost` for a run whose Dask worker died);
    absent otherwise."""
    message: str
    """One line naming the step and the cause; keys are redacted."""


class StepUsage(Record):
    """LLM usage of one step, summed over its ledger lines."""

    input_tokens: int | None
    """Prompt tokens, cached ones included; null when a call's usage was not reported."""
    output_tokens: int | None
    """Completion tokens; null when a call's usage was not reported."""
    cached_tokens: int | None
    """Prompt tokens served from the provider's cache; null when a call's usage was not reported."""
    calls: int
    """LLM calls the proxy saw during the step."""
    llm_seconds: float
    """Sum of the calls' latencies, in seconds."""
    unreported_calls: int | None = Field(default=None, exclude_if=_absent)
    """Successful calls whose answer carried no usage (absent when there were none)."""


class CheckOutcome(Record):
    """The outcome of a step's check command."""

    passed: bool
    """True when the check exited 0."""
    status: Literal["passed", "failed", "error"]
    """`passed`; `failed` (it ran and rejected the work); `error` (the harness could not run it:
    no verdict, left out of the check pass rate)."""
    exit_code: int | None
    """The check's exit code; null when baes stopped it (timeout, Ctrl-C) or never started it."""
    duration_s: float
    """How long the check ran, in seconds."""
    timed_out: bool
    """True when the check ran past the step timeout."""
    error_reason: str | None
    """Why the check is an `error`, in one line; null otherwise."""


class Step(Record):
    """One scenario step of the run."""

    index: int
    """1-based position of the step in the scenario."""
    id: str
    """The step's id in the design."""
    status: Literal["ok", "failed", "timeout", "skipped"]
    """`ok`, `failed`, `timeout`, or `skipped` (an earlier step failed or the run was stopped)."""
    started_at: str | None
    """ISO-8601 UTC start; null for a skipped step."""
    ended_at: str | None
    """ISO-8601 UTC end; null for a skipped step."""
    duration_s: float
    """Wall time of the step, in seconds."""
    attempts: int
    """How many times the framework was invoked for the step (retries included)."""
    usage: StepUsage | None
    """The step's LLM usage from the ledger."""
    check: CheckOutcome | None
    """The step's check outcome; null when the step has no check or did not reach it."""


class Totals(Record):
    """Sums over the steps plus wall time and check counts."""

    input_tokens: int | None
    """Sum over the steps; null when any step's count is null (not measured)."""
    output_tokens: int | None
    """Sum over the steps; null when any step's count is null (not measured)."""
    cached_tokens: int | None
    """Sum over the steps; null when any step's count is null (not measured)."""
    calls: int | None
    """LLM calls over the steps."""
    llm_seconds: float
    """Sum of the calls' latencies, in seconds."""
    wall_seconds: float | None
    """Wall time of the whole run, in seconds; null while it runs."""
    checks_passed: int
    """Checks that passed."""
    checks_total: int
    """Checks run (errored ones included)."""
    checks_errored: int
    """Checks the harness could not run (no verdict; the check pass rate skips them)."""
    unreported_calls: int | None = Field(default=None, exclude_if=_absent)
    """Successful calls whose answer carried no usage (absent when there were none)."""


class Verification(Record):
    """The usage-verification state `baes reconcile` keeps for the run."""

    state: Literal["unverified", "pending", "verified", "mismatch", "unavailable"]
    """Where the run's usage stands against the provider's usage API."""
    changed_at: str | None
    """ISO-8601 UTC time the state last changed; null while unverified."""
    summary: dict[str, Any] | None
    """The last reconcile's comparison for the run (see docs/reconcile.md); null before one."""


class Archive(Record):
    """The archive of the run's workspace."""

    path: str
    """The archive's file name inside the run folder."""
    sha256: str
    """SHA-256 of the archive file."""
    bytes: int
    """Size of the archive file."""
    files: int
    """Files in the archive."""
    kept_workspace: bool
    """True when the workspace folder was kept beside the archive."""


class Executor(Record):
    """Where the run executed."""

    kind: Literal["local", "dask"]
    """`local`: a thread of `baes run`; `dask`: a worker of a Dask cluster."""
    worker: str | None
    """The Dask worker's address; null for a local run (and until a cluster run reports)."""


class RunRecord(Record):
    """run.json: one run of one framework (runs/<framework>/<run_id>/run.json)."""

    SCHEMA_VERSION = 2

    schema_version: Literal[2] = 2
    """Version of this file's format (1: keys added later may be absent; 2: every key present)."""
    run_id: str
    """The run's id; also its folder's name."""
    experiment: str
    """The experiment's name."""
    framework: str
    """The framework that ran; also the name of the folder holding the run folder."""
    config_hash: str
    """Hash of the frozen design the run executed."""
    model: str
    """The model the design asked for."""
    status: RunStatus
    """`running` while it runs, then `completed`, `failed` or `interrupted`."""
    error: RunError | None
    """Why the run did not complete; null when it did (or still runs)."""
    started_at: str
    """ISO-8601 UTC start."""
    ended_at: str | None
    """ISO-8601 UTC end; null while running."""
    steps: list[Step]
    """The scenario's steps in order."""
    totals: Totals
    """Sums over the steps."""
    verification: Verification
    """The usage-verification state kept by `baes reconcile`."""
    archive: Archive | None
    """The workspace archive; null while running."""
    environment: dict[str, Any]
    """The instrument: baes and Python versions, platform, framework versions, check
    environments."""
    seed: int | None
    """The run's own seed (from the experiment's seed, the framework and the repetition); null in
    records of baes before per-run seeds."""
    executor: Executor
    """Where the run executed (docs/running.md)."""


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 records of early baes may lack keys added later; v2 has every key.

    A check without `status` is `passed`/`failed` by its `passed` flag (errors did not exist);
    a run without (a part of) `verification` is unverified; a missing `checks_errored` counts the
    errored checks; a missing `seed` is null (no per-run seed); a missing `executor` is local
    (the only executor before the Dask one).
    """
    steps = []
    for step in raw.get("steps") or []:
        step = dict(step) if isinstance(step, dict) else step
        if isinstance(step, dict) and isinstance(step.get("check"), dict):
            check = dict(step["check"])
            check.setdefault("status", "passed" if check.get("passed") else "failed")
            check.setdefault("error_reason", None)
            check.setdefault("timed_out", False)
            step["check"] = check
        steps.append(step)
    raw["steps"] = steps
    if isinstance(raw.get("totals"), dict):
        totals = dict(raw["totals"])
        totals.setdefault(
            "checks_errored",
            sum(
                1
                for s in steps
                if isinstance(s, dict)
                and isinstance(s.get("check"), dict)
                and s["check"].get("status") == "error"
            ),
        )
        raw["totals"] = totals
    raw.setdefault("error", None)
    # Readers of v1 took a missing or null verification (or a missing part of it) as unverified.
    verification = raw.get("verification")
    verification = dict(verification) if isinstance(verification, dict) else {}
    verification.setdefault("state", "unverified")
    verification.setdefault("changed_at", None)
    verification.setdefault("summary", None)
    raw["verification"] = verification
    raw.setdefault("archive", None)
    raw.setdefault("environment", {})
    raw.setdefault("seed", None)
    # Before the Dask executor every run executed in a thread of `baes run`.
    raw.setdefault("executor", {"kind": "local", "worker": None})
    raw["schema_version"] = 2
    return raw


RunRecord.MIGRATIONS = {1: _v1_to_v2}
