"""Running a real framework through a shipped scenario against the simulator, step by step, with
a spy on every answer the simulator gives (the slow framework tests share this)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from baes.frameworks.checks import run_check
from baes.frameworks.contract import FrameworkAdapter
from baes.simulator import SimulatorOptions, start_simulator
from baes.simulator import provider as provider_module
from baes.simulator.answers.codegen import Answer
from baes.simulator.messages import Message
from tests.frameworks.conftest import scenario_steps, step_context


@dataclass
class StepRun:
    step_id: str
    ok: bool
    error: str | None
    check_passed: bool
    stdout: str
    answers: list[tuple[list[Message], Answer]] = field(default_factory=list)

    @property
    def defects(self) -> list[str]:
        return [a.defect.describe() for _, a in self.answers if a.defect is not None]


def run_scenario(
    adapter: FrameworkAdapter,
    scenario: str,
    workspace: Path,
    logs: Path,
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
    model: str = "sim-large",
) -> list[StepRun]:
    """Every step of `scenario` in `workspace`, each followed by its check, as the engine does."""
    answers: list[tuple[list[Message], Answer]] = []
    real: Callable[..., Answer] = provider_module.generate_answer

    def spy(messages: Any, *args: Any, **kwargs: Any) -> Answer:
        answer = real(messages, *args, **kwargs)
        answers.append((list(messages), answer))
        return answer

    monkeypatch.setattr(provider_module, "generate_answer", spy)
    runs = []
    workspace.mkdir(parents=True, exist_ok=True)
    with start_simulator(SimulatorOptions(seed=seed)) as sim:
        for index, step in enumerate(scenario_steps(scenario), start=1):
            log_dir = logs / f"{index:02d}-{step['id']}"
            ctx = step_context(
                workspace, log_dir, sim.base_url, step=step, index=index, timeout_s=600, model=model
            )
            answers.clear()
            outcome = adapter.run_step(ctx)
            check = run_check(step["check"], workspace, log_dir / "check.log", 120)
            stdout = (
                (log_dir / "stdout.log").read_text() if (log_dir / "stdout.log").exists() else ""
            )
            runs.append(
                StepRun(
                    step["id"],
                    outcome.ok,
                    outcome.error_message,
                    check.passed,
                    stdout,
                    list(answers),
                )
            )
    return runs


def failures_explained_by_defects(runs: list[StepRun]) -> bool:
    """Whether every failed check comes at or after a step whose answer carried an injected
    defect (a defect can break the data later steps' checks rely on)."""
    seen_defect = False
    for run in runs:
        seen_defect = seen_defect or bool(run.defects)
        if not run.check_passed and not seen_defect:
            return False
    return True
