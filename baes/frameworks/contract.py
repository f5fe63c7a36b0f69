"""The adapter contract between the engine and a framework: prepare once, run one step, report.

An adapter never raises for a framework's failure: it returns a StepOutcome whose `error_kind`
says what went wrong. Only `prepare` raises, with FrameworkSetupError, because a framework that
cannot be installed cannot run at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from baes.config.models import SamplingConfig
from baes.errors import WorkError

ErrorKind = Literal["framework", "timeout", "budget", "infrastructure", "interrupted"]
# Told what a setup is doing now ("pip install …"), for the live view; never printed by adapters.
SetupProgress = Callable[[str], None]


class FrameworkSetupError(WorkError):
    """A framework's setup (its one-time installation) failed; no run of it can start."""


CheckStatus = Literal["passed", "failed", "error"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one step check.

    `passed`: exit 0. `failed`: the check ran and rejected the framework's work (a non-zero exit,
    or the generated code hung past the time limit: `timed_out`). `error`: the harness could not
    run the check (its requirements are missing, the command was not found, it was killed by a
    signal or interrupted); `error_reason` says why in one line. An error is no verdict on the
    framework and is left out of the check pass rate.
    """

    status: CheckStatus
    exit_code: int | None  # None when baes stopped it (timeout, Ctrl-C) or never started it
    duration_s: float
    timed_out: bool = False
    error_reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class StepContext:
    """Everything an adapter needs to run one scenario step."""

    workspace: Path  # the run's workspace; cwd of the framework
    step_index: int  # 1-based
    step_id: str
    prompt: str  # the scenario's prompt text, unchanged
    base_url: str  # the metering proxy URL for this (run, step)
    api_key: str  # a per-run token, NOT the real key
    model: str
    sampling: SamplingConfig
    hitl_text: str | None
    log_dir: Path  # steps/NN-<id>/: stdout.log, stderr.log, prompt.txt go here
    deadline: float  # time.monotonic() by which the step must end
    cancel: threading.Event  # set on Ctrl-C; stop promptly
    run_check: Callable[[], CheckResult] | None  # the step's check; writes check.log itself
    # The run's seed, for adapters that can pass one to the model (OpenAI's `seed` parameter):
    # repetitions then vary as sampling makes them, yet reproducibly.
    seed: int | None = None


@dataclass(frozen=True)
class StepOutcome:
    """What an adapter reports for one step.

    `ok` says the framework did its job, independently of the check. `check` is the last check
    result when the adapter ran the check itself (repair mode); otherwise None and the engine
    runs the check.
    """

    ok: bool
    attempts: int
    error_kind: str | None
    error_message: str | None
    check: CheckResult | None

    @classmethod
    def success(cls, attempts: int = 1, check: CheckResult | None = None) -> StepOutcome:
        """A step the framework completed."""
        return cls(ok=True, attempts=attempts, error_kind=None, error_message=None, check=check)

    @classmethod
    def failure(
        cls, kind: ErrorKind, message: str, attempts: int = 1, check: CheckResult | None = None
    ) -> StepOutcome:
        """A step the framework did not complete; `message` is one actionable line."""
        one_line = " ".join(message.split())
        return cls(
            ok=False, attempts=attempts, error_kind=kind, error_message=one_line, check=check
        )


class FrameworkAdapter(Protocol):
    """One framework as the engine sees it."""

    name: str

    def prepare(self, cache_dir: Path, progress: SetupProgress | None = None) -> None:
        """Once per `baes run`, before any step; raises FrameworkSetupError on failure."""
        ...

    def run_step(self, ctx: StepContext) -> StepOutcome:
        """Run one step in ctx.workspace; never raises for a framework failure."""
        ...

    def versions(self) -> dict[str, str]:
        """Package versions when known, for run.json's environment."""
        ...

    def source_record(self) -> dict[str, str] | None:
        """Where setup fetched the framework's code from, for run.json's environment."""
        ...
