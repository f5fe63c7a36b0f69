"""Shared helpers of the framework tests: step contexts and the shipped scenarios' steps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from baes.config.models import SamplingConfig
from baes.config.presets import scenario_document
from baes.config.yaml_io import to_plain
from baes.frameworks.checks import run_check
from baes.frameworks.contract import CheckResult, StepContext

FIXTURES = Path(__file__).parent / "fixtures"


def scenario_steps(name: str) -> list[dict[str, Any]]:
    """The steps of a shipped scenario preset, as plain dicts (id, prompt, check)."""
    return to_plain(scenario_document(name))["steps"]


def step_context(
    workspace: Path,
    log_dir: Path,
    base_url: str,
    *,
    step: dict[str, Any] | None = None,
    index: int = 1,
    prompt: str | None = None,
    timeout_s: float = 30.0,
    cancel: threading.Event | None = None,
    api_key: str = "baes-run-test-token",
    model: str = "sim-small",
    sampling: SamplingConfig | None = None,
    hitl_text: str | None = None,
    with_check: bool = False,
) -> StepContext:
    """A StepContext for one step; `with_check` wires the step's shipped check like the engine."""
    step = step or {"id": "step", "prompt": prompt or "", "check": None}
    run: Callable[[], CheckResult] | None = None
    if with_check and step.get("check"):

        def run() -> CheckResult:
            return run_check(step["check"], workspace, log_dir / "check.log", 60)

    return StepContext(
        workspace=workspace,
        step_index=index,
        step_id=step["id"],
        prompt=prompt if prompt is not None else step["prompt"],
        base_url=base_url,
        api_key=api_key,
        model=model,
        sampling=sampling or SamplingConfig(),
        hitl_text=hitl_text,
        log_dir=log_dir,
        deadline=time.monotonic() + timeout_s,
        cancel=cancel or threading.Event(),
        run_check=run,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder
