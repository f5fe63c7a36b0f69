"""The README's quick start works as written (after its install step, which the test env has done)."""

from __future__ import annotations

import json

from tests.conftest import quickstart_commands


def test_readme_quickstart_has_two_commands():
    commands = quickstart_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert "pytest" in commands[1]


def test_readme_first_command_runs_the_demo(readme_demo):
    # The command runs once per session in the `readme_demo` fixture (the view tests read its
    # experiments); nothing writes to that folder.
    folder, result = readme_demo
    assert result.returncode == 0, result.stderr
    # What the demo promises: two experiments run, analysed and compared.
    root = folder / "experiments"
    names = ["demo-sim-small", "demo-sim-large"]
    for name in names:
        records = [json.loads(p.read_text()) for p in (root / name / "runs").glob("*/*/run.json")]
        assert len(records) == 15 and all(r["status"] == "completed" for r in records)
        stats = json.loads((root / name / "analysis/stats.json").read_text())
        assert stats["groups"] == ["reference", "reference-plan", "reference-repair"]
        assert (root / name / "analysis/report.md").is_file()
    compared = root / "_compare" / "__".join(names)
    assert "design_diff" in json.loads((compared / "stats.json").read_text())
    assert "demo finished" in result.stdout and "baes show demo-sim-small" in result.stdout
    assert "demo-sim-large" in result.stdout
