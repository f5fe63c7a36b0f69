"""The README's quick start works as written (after its install step, which the test env has done)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _quickstart_commands() -> list[str]:
    block = README.read_text().split("<!-- quickstart -->")[1].split("<!-- /quickstart -->")[0]
    return re.findall(r"```sh\n(.*?)\n```", block, flags=re.S)


def test_readme_quickstart_has_two_commands():
    commands = _quickstart_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert "pytest" in commands[1]


def test_readme_first_command_runs_the_demo(tmp_path: Path):
    first = _quickstart_commands()[0]
    # The venv and install parts are what the test environment already is; run the rest as written.
    segments = [s.strip() for s in first.split("&&")]
    assert any("pip install" in s for s in segments)
    runnable = " && ".join(s for s in segments if "venv" not in s and "pip install" not in s)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("BAES_ROOT", None)
    result = subprocess.run(
        ["bash", "-c", runnable],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    # What the demo promises: two experiments run, analysed and compared.
    root = tmp_path / "experiments"
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
