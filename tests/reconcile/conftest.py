"""Experiments made and run through the real CLI against the simulator, for reconcile's tests."""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from baes.simulator import SimulatorOptions, start_simulator
from baes.simulator.api.running import RunningSimulator

STREAMER = """
import sys

import openai

base_url, api_key, model, prompt_file = sys.argv[1:5]
client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
stream = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": open(prompt_file).read()}],
    stream=True,
)
text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
open("answer.txt", "w").write(text)
"""


def design_text(name: str, tmp_path: Path, streamer: bool, **provider: Any) -> str:
    """A small design: two builtin frameworks (and a command framework that streams), 2 runs
    each, a settle interval of 0.3 s and a short retry deadline."""
    script = tmp_path / "streamer.py"
    script.write_text(STREAMER)
    provider_lines = "\n".join(
        f"  {key}: {'null' if value is None else value}" for key, value in provider.items()
    )
    streamer_block = (
        "  streamer:\n"
        "    adapter: command\n"
        f'    step: "{{python}} {script} {{base_url}} {{api_key}} {{model}} {{prompt_file}}"\n'
    )
    return textwrap.dedent(
        """\
        name: {name}
        model: sim-small
        provider:
        {provider}
        frameworks:
          reference:
            adapter: builtin
          reference-repair:
            adapter: builtin
            mode: repair
        {streamer}scenario:
          name: greet
          steps:
            - id: greet
              prompt: Create a Python module `greeting.py` with a function `greet(name)` that returns the string `Hello, <name>!`.
              check: python -c "from greeting import greet; assert greet('Ada') == 'Hello, Ada!'"
        runs:
          min: 2
          max: 2
        stopping_rule:
          enabled: false
        pricing:
          sim-small:
            input: 0.5
            cached_input: 0.05
            output: 2.0
        analysis:
          bootstrap_samples: 200
        reconcile:
          settle_seconds: 0.3
          retry_deadline_s: 1.0
          request_timeout_s: 5.0
        """
    ).format(
        name=name,
        provider=provider_lines or "  kind: sim",
        streamer=streamer_block if streamer else "",
    )


def make_experiment(
    cli, tmp_path: Path, name: str = "exp", *, streamer: bool = False, **provider: Any
) -> None:
    """`baes new` from the design above, then `baes run --jobs 3` (runs overlap in time)."""
    design = tmp_path / f"{name}.yaml"
    design.write_text(design_text(name, tmp_path, streamer, **provider))
    created = cli("new", name, "--config", design, "--yes")
    assert created.exit_code == 0, created.stderr
    ran = cli("run", name, "--jobs", "3")
    assert ran.exit_code == 0, ran.stderr


@pytest.fixture(scope="session")
def ran_experiment(tmp_path_factory) -> Path:
    """An experiments root holding `exp`, made and run once (embedded simulator, 3 frameworks
    including the streaming one); tests get a copy with `sim_experiment`."""
    from tests.conftest import Cli, built_once

    def build(folder: Path) -> dict[str, Any]:
        cli = Cli()

        def at_root(*args: Any):
            return cli(*args, "--root", folder / "experiments")

        make_experiment(at_root, folder, streamer=True)
        return {}

    folder, _ = built_once(tmp_path_factory, "reconcile-template", build)
    return folder / "experiments"


@pytest.fixture
def sim_experiment(ran_experiment: Path, root: Path) -> Path:
    """A fresh copy of the run experiment's root (its simulator usage records included)."""
    shutil.copytree(ran_experiment, root)
    return root


def run_records(root: Path, name: str = "exp") -> dict[str, dict[str, Any]]:
    """run.json of every run, by run id."""
    records = {}
    for path in sorted((root / name / "runs").glob("*/*/run.json")):
        record = json.loads(path.read_text())
        records[record["run_id"]] = record
    return records


def states(root: Path, name: str = "exp") -> dict[str, str]:
    return {rid: r["verification"]["state"] for rid, r in run_records(root, name).items()}


def measurements_fingerprint(root: Path, name: str = "exp") -> str:
    """A hash of every ledger and every run's totals: what reconcile must never change."""
    digest = hashlib.sha256()
    for path in sorted((root / name / "runs").glob("*/*/usage.jsonl")):
        digest.update(path.read_bytes())
    for run_id, record in sorted(run_records(root, name).items()):
        digest.update(json.dumps([run_id, record["totals"], record["steps"]]).encode())
    return digest.hexdigest()


def evidence(root: Path, name: str = "exp") -> list[dict[str, Any]]:
    path = root / name / ".meta" / "reconcile.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


ADMIN_KEY = "sk-admin-test-0123456789abcdef"


@pytest.fixture
def provider_sim() -> Iterator[Callable[..., RunningSimulator]]:
    """Starts simulators on loopback as remote providers (admin key ADMIN_KEY); stops them after."""
    started: list[RunningSimulator] = []

    def start(**options: Any) -> RunningSimulator:
        sim = start_simulator(SimulatorOptions(admin_key=ADMIN_KEY, **options))
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
