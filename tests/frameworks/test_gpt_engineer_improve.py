"""gpt-engineer for real on academic-crud against the simulator: step 1 generates main.py,
steps 2-6 run improve mode, whose unified diffs the simulator computes from the numbered files
gpt-engineer shows, and gpt-engineer applies them. Slow (installs gpt-engineer from the package
index): run with `pytest -m slow`."""

from __future__ import annotations

import pytest

from baes.config.models import CommandFrameworkConfig
from baes.config.presets import framework_document
from baes.config.yaml_io import to_plain
from baes.frameworks import adapter_for
from tests.frameworks.framework_runs import failures_explained_by_defects, run_scenario


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_gpt_engineer_improve_steps_apply_their_diffs(tmp_path, monkeypatch):
    config = CommandFrameworkConfig.model_validate(to_plain(framework_document("gpt-engineer")))
    adapter = adapter_for("gpt-engineer", config)
    adapter.prepare(tmp_path / "cache")
    runs = run_scenario(
        adapter, "academic-crud", tmp_path / "ws", tmp_path / "logs", 0, monkeypatch
    )
    assert all(r.ok for r in runs), [(r.step_id, r.error) for r in runs]
    for run in runs[1:]:
        diffs = [a for _, a in run.answers if a.files]
        assert diffs and all("```diff\n--- main.py\n+++ main.py\n@@ -" in a.text for a in diffs)
        assert "No changes applied" not in run.stdout, run.stdout[-3000:]
        assert "Invalid Hunk" not in run.stdout and "not found in the code" not in run.stdout
    assert failures_explained_by_defects(runs), [
        (r.step_id, r.check_passed, r.defects) for r in runs
    ]
    assert sum(r.check_passed for r in runs) >= 5
