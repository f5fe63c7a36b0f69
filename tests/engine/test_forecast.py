"""The --dry-run cost forecast (issue 10, item 7): measured runs when there are any, else a
labelled per-framework prior."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from baes.engine.coordinator import RunRequest, run_experiment

# gpt-4o-mini's price in baes's price table, USD per 1M tokens (input, cached input, output).
PRICE = {"input": 0.15, "cached_input": 0.075, "output": 0.6}


class _StopAfter:
    """An observer that asks the run to stop once `count` runs have finished."""

    def __init__(self, cancel: threading.Event, count: int):
        self.cancel, self.count = cancel, count

    def on_run_finished(self, framework, record, cost_usd):
        self.count -= 1
        if self.count == 0:
            self.cancel.set()

    def __getattr__(self, name):  # every other event is ignored
        return lambda *args, **kwargs: None


def _design(tmp_path: Path, frameworks: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: exp\nmodel: sim-small\n"
        f"frameworks:\n{frameworks}\n"
        "scenario:\n  name: custom\n  steps:\n"
        "    - id: one\n      prompt: Write greeting.py printing hello\n      check: 'true'\n"
        "    - id: two\n      prompt: Make it print goodbye too\n      check: 'true'\n"
        "runs: {min: 5, max: 5}\n"
        f"pricing: {{sim-small: {json.dumps(PRICE)}}}\n"
    )
    return path


def _hand_cost(ledger: Path) -> tuple[float, int]:
    """A run's cost and calls, summed by hand from its usage.jsonl."""
    cost, calls = 0.0, 0
    for line in ledger.read_text().splitlines():
        entry = json.loads(line)
        calls += 1
        uncached = entry["input_tokens"] - entry["cached_tokens"]
        cost += (
            uncached * PRICE["input"]
            + entry["cached_tokens"] * PRICE["cached_input"]
            + entry["output_tokens"] * PRICE["output"]
        ) / 1e6
    return cost, calls


def test_with_completed_runs_the_forecast_is_their_mean_times_the_runs_left(cli, root, tmp_path):
    design = _design(tmp_path, "  reference: {adapter: builtin, mode: plan}")
    assert cli("new", "--config", design).exit_code == 0
    cancel = threading.Event()
    run_experiment(root, "exp", RunRequest(), _StopAfter(cancel, 2), cancel)
    runs = sorted((root / "exp/runs/reference").glob("*/run.json"))
    assert [json.loads(r.read_text())["status"] for r in runs] == ["completed", "completed"]
    measured = [_hand_cost(r.parent / "usage.jsonl") for r in runs]
    assert measured[0] != measured[1]  # the simulator varies per run: a real mean is taken
    mean_cost = (measured[0][0] + measured[1][0]) / 2
    mean_calls = (measured[0][1] + measured[1][1]) / 2

    result = cli("run", "exp", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    (plan,) = json.loads(result.stdout)["frameworks"]
    assert plan["basis_kind"] == "measured" and plan["runs_measured"] == 2
    assert plan["remaining_min"] == plan["remaining_max"] == 3
    assert plan["calls_per_run"] == pytest.approx(mean_calls)
    assert plan["cost_per_run"] == pytest.approx(mean_cost, rel=1e-12)
    assert plan["cost_low"] == plan["cost_high"] == pytest.approx(3 * mean_cost, rel=1e-12)
    text = cli("run", "exp", "--dry-run")
    assert "measured: mean of this framework's 2 completed run(s)" in text.stdout


def test_without_runs_the_forecast_is_a_labelled_prior(cli, root, tmp_path):
    from baes.config.presets import framework_document

    aider = json.dumps(framework_document("aider"))  # the preset, unchanged (JSON is YAML)
    frameworks = (
        "  reference: {adapter: builtin}\n"
        "  plan: {adapter: builtin, mode: plan}\n"
        "  tool: {adapter: command, step: 'true'}\n"
        f"  aider: {aider}"
    )
    assert cli("new", "--config", _design(tmp_path, frameworks)).exit_code == 0
    result = cli("run", "exp", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    plans = {p["framework"]: p for p in json.loads(result.stdout)["frameworks"]}
    assert {name: p["basis_kind"] for name, p in plans.items()} == {
        "reference": "prior",
        "plan": "prior",
        "tool": "floor",
        "aider": "prior",
    }
    assert all(p["runs_measured"] == 0 for p in plans.values())
    assert plans["reference"]["calls_per_run"] == 2 and plans["plan"]["calls_per_run"] == 4
    assert plans["plan"]["cost_per_run"] == pytest.approx(2 * plans["reference"]["cost_per_run"])
    assert plans["aider"]["cost_per_run"] == pytest.approx(3.5 * plans["reference"]["cost_per_run"])
    assert "3-4×" in plans["aider"]["basis"]
    assert json.loads(result.stdout)["forecast_usd"]["lower_bound_only"] is True
    text = cli("run", "exp", "--dry-run").stdout
    assert "prior: no completed run yet" in text and "floor: no completed run yet" in text
    assert "≥$" in text


# A framework that asks the model once per step and fails its first run (a marker file outside
# the workspaces says whether the first run has happened).
FAILS_ONCE = """\
import json, os, pathlib, sys, urllib.request
body = {"model": os.environ["BAES_MODEL"], "messages": [{"role": "user", "content": "Hello?"}]}
request = urllib.request.Request(
    os.environ["OPENAI_BASE_URL"] + "/chat/completions", data=json.dumps(body).encode(),
    headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"],
             "Content-Type": "application/json"})
urllib.request.urlopen(request).read()
marker = pathlib.Path(sys.argv[1])
if not marker.exists():
    marker.write_text("failed once")
    sys.exit(1)
"""


def test_the_measured_forecast_includes_the_cost_of_failed_runs(cli, root, tmp_path):
    script = tmp_path / "client.py"
    script.write_text(FAILS_ONCE)
    marker = tmp_path / "first-run-failed"
    design = _design(
        tmp_path, f"  client: {{adapter: command, step: '{{python}} {script} {marker}'}}"
    )
    assert cli("new", "--config", design).exit_code == 0
    cancel = threading.Event()
    run_experiment(root, "exp", RunRequest(), _StopAfter(cancel, 3), cancel)
    records = [json.loads(r.read_text()) for r in (root / "exp/runs/client").glob("*/run.json")]
    assert sorted(r["status"] for r in records) == ["completed", "completed", "failed"]
    ledgers = [root / "exp/runs/client" / r["run_id"] / "usage.jsonl" for r in records]
    spent = sum(_hand_cost(ledger)[0] for ledger in ledgers)
    assert all(_hand_cost(ledger)[0] > 0 for ledger in ledgers)  # the failed run cost something

    result = cli("run", "exp", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    (plan,) = json.loads(result.stdout)["frameworks"]
    assert plan["basis_kind"] == "measured" and plan["runs_measured"] == 2
    assert plan["failed"] == 1 and plan["remaining_max"] == 3
    # What was spent, failures included, per completed run: a failed run is repeated.
    assert plan["cost_per_run"] == pytest.approx(spent / 2, rel=1e-12)
    assert plan["cost_high"] == pytest.approx(3 * spent / 2, rel=1e-12)
    assert "including that of its 1 failed run(s)" in plan["basis"]
