"""The aider preset for real: installed from the package index into a fresh cache, then one
hello step against the simulator. Slow (minutes, network to the package index): run with
`pytest -m slow`."""

from __future__ import annotations

import pytest

from baes.config.models import CommandFrameworkConfig
from baes.config.presets import framework_document
from baes.config.yaml_io import to_plain
from baes.frameworks import adapter_for
from baes.frameworks.checks import run_check
from baes.simulator import SimulatorOptions, start_simulator
from tests.frameworks.conftest import scenario_steps, step_context


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_aider_writes_the_file_the_simulator_answers_with(workspace, tmp_path):
    config = CommandFrameworkConfig.model_validate(to_plain(framework_document("aider")))
    adapter = adapter_for("aider", config)
    adapter.prepare(tmp_path / "cache")
    assert adapter.versions() == {"aider-chat": "0.86.2"}
    greet = scenario_steps("hello")[0]
    log_dir = tmp_path / "steps" / "01-greet"
    with start_simulator(SimulatorOptions(seed=0)) as sim:
        ctx = step_context(workspace, log_dir, sim.base_url, step=greet, timeout_s=300)
        outcome = adapter.run_step(ctx)
    assert outcome.ok, outcome.error_message
    source = (workspace / "greeting.py").read_text()
    assert "def greet(name)" in source
    # aider's prompts carry the date, so whether the simulator injects a defect into its answer
    # can change from day to day: the check must run, but its verdict is not what is tested.
    check = run_check(greet["check"], workspace, log_dir / "check.log", 60)
    assert check.exit_code is not None
    transcript = (log_dir / "stdout.log").read_text()
    assert "Applied edit to greeting.py" in transcript
    assert "raw.githubusercontent.com" not in transcript, "aider tried to fetch model metadata"
    assert (log_dir / "aider.chat.history.md").exists(), "aider's history belongs in the logs"
    assert sorted(p.name for p in workspace.iterdir()) == ["greeting.py"]
