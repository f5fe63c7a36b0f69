"""The bash-tool agent example (examples/bash-tool-agent): a tool-calling agent that acts only
through one `bash` tool completes the hello scenario under `baes run` on the simulator."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

from baes.config.yaml_io import load_design

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bash-tool-agent"


def test_the_design_installs_agent_py_exactly():
    design = load_design(EXAMPLE / "design.yaml")
    (setup,) = design.frameworks["bash-agent"].setup
    body = re.search(r"<<'PY'\n(.*)\nPY$", setup, re.S)
    assert body is not None, setup
    assert body.group(1) + "\n" == (EXAMPLE / "agent.py").read_text()


def test_baes_run_completes_hello_with_the_bash_tool_agent(cli, root):
    assert cli("new", "--config", EXAMPLE / "design.yaml", "--yes").exit_code == 0
    result = cli("run", "bash-tool-agent")
    assert result.exit_code == 0, result.stdout + result.stderr
    runs = sorted((root / "bash-tool-agent/runs/bash-agent").glob("*/run.json"))
    assert len(runs) == 2
    for path in runs:
        record = json.loads(path.read_text())
        assert record["status"] == "completed"
        assert [(s["id"], s["check"]["passed"]) for s in record["steps"]] == [
            ("greet", True),
            ("farewell", True),
        ]
        # Per step: list the files, write, check, then the final answer.
        assert record["totals"]["calls"] >= 8
        steps = path.parent / "steps"
        greet = (steps / "01-greet/stdout.log").read_text()
        assert "$ cat > greeting.py <<'BAES_EOF'" in greet
        assert "baes-sim: all checks passed\n[exit status 0]" in greet
        assert greet.rstrip().endswith("they pass.")
        with tarfile.open(path.parent / "workspace.tar.gz") as archive:
            names = archive.getnames()
        assert "workspace/greeting.py" in names
        assert not any("__pycache__" in n for n in names), "the agent's checks left bytecode"
        farewell = (steps / "02-farewell/stdout.log").read_text()
        # The second step read the file the first one wrote (the listing shows it) and kept it.
        assert "greeting.py\n````\n" in farewell and "def farewell(name)" in farewell
