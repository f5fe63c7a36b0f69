"""`baes run` end to end: the real CLI, the embedded simulator, the metering proxy, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from baes.engine.run_lock import RunLock
from baes.llm.ledger import read_ledger
from baes.simulator import SimulatorOptions, start_simulator
from baes.store.paths import ExperimentPaths
from tests.conftest import run_baes

RUN_KEYS = {
    "schema_version",
    "run_id",
    "experiment",
    "framework",
    "config_hash",
    "model",
    "status",
    "error",
    "started_at",
    "ended_at",
    "steps",
    "totals",
    "verification",
    "archive",
    "environment",
}
STEP_KEYS = {
    "index",
    "id",
    "status",
    "started_at",
    "ended_at",
    "duration_s",
    "attempts",
    "usage",
    "check",
}


def _records(root: Path, name: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / name / "runs").glob("*/*/run.json"))]


def _design(
    tmp_path: Path, name: str, frameworks: str, extra: str = "", steps: str | None = None
) -> Path:
    steps = steps or (
        "    - id: one\n      prompt: Write a file\n      check: test -f out.txt\n"
        "    - id: two\n      prompt: Write it again\n      check: test -f out.txt\n"
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nmodel: sim-small\nframeworks:\n{frameworks}\n"
        f"scenario:\n  name: custom\n  steps:\n{steps}{extra}"
    )
    return path


def test_run_writes_records_whose_totals_match_the_ledger_and_the_provider(cli, root, tmp_path):
    with start_simulator(SimulatorOptions(seed=3)) as sim:
        assert (
            cli(
                "new",
                "exp",
                "--model",
                "sim-small",
                "--frameworks",
                "reference,reference-repair",
                "--scenario",
                "hello",
                "--runs",
                "2",
                "--provider",
                "sim",
            ).exit_code
            == 0
        )
        # Point the frozen design at this simulator so its usage endpoint can be asked afterwards.
        design = root / "exp/config.yaml"
        text = design.read_text().replace("base_url: null", f"base_url: {sim.base_url}", 1)
        assert cli("new", "exp2", "--config", _write(tmp_path / "d.yaml", text)).exit_code == 0
        window_start = int(time.time()) - 60
        result = cli("run", "exp2", "--json")
        assert result.exit_code == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["frameworks"]["reference"]["completed"] == 2
        records = _records(root, "exp2")
        assert len(records) == 4 and {r["status"] for r in records} == {"completed"}
        ledger_totals = {"input_tokens": 0, "output_tokens": 0, "cached_tokens": 0, "calls": 0}
        for record in records:
            assert set(record) >= RUN_KEYS and record["schema_version"] == 1
            assert record["config_hash"] == (root / "exp2/.meta/config.hash").read_text().strip()
            assert [s["id"] for s in record["steps"]] == ["greet", "farewell"]
            for step in record["steps"]:
                assert set(step) >= STEP_KEYS and step["status"] == "ok"
                assert set(step["check"]) >= {"passed", "exit_code", "duration_s"}
            run_dir = ExperimentPaths(root, "exp2").run_dir(record["framework"], record["run_id"])
            entries = read_ledger(run_dir / "usage.jsonl")
            assert entries and all(e.run_id == record["run_id"] for e in entries)
            assert record["totals"]["input_tokens"] == sum(e.input_tokens for e in entries)
            assert record["totals"]["output_tokens"] == sum(e.output_tokens for e in entries)
            assert record["totals"]["calls"] == len(entries)
            assert record["totals"]["checks_total"] == 2
            assert (run_dir / "workspace.tar.gz").is_file() and not (run_dir / "workspace").exists()
            assert len(record["archive"]["sha256"]) == 64
            assert (run_dir / "steps/01-greet/check.log").is_file()
            for key in ledger_totals:
                ledger_totals[key] += record["totals"][key]
        time.sleep(0.1)
        usage = httpx.get(
            f"{sim.base_url}/organization/usage/completions",
            params={"start_time": window_start, "bucket_width": "1d"},
            headers={"Authorization": f"Bearer {sim.admin_key}"},
        ).json()
        provider = {"input_tokens": 0, "output_tokens": 0, "cached_tokens": 0, "calls": 0}
        for bucket in usage["data"]:
            for result_row in bucket["results"]:
                provider["input_tokens"] += result_row["input_tokens"]
                provider["output_tokens"] += result_row["output_tokens"]
                provider["cached_tokens"] += result_row["input_cached_tokens"]
                provider["calls"] += result_row["num_model_requests"]
        assert provider == ledger_totals
    manifest = json.loads((root / "exp2/runs/manifest.json").read_text())["runs"]
    assert len(manifest) == 4 and {r["status"] for r in manifest.values()} == {"completed"}
    assert json.loads(cli("list", "--json").stdout)[1]["runs_completed"] == 4


def _write(path: Path, text: str) -> Path:
    path.write_text(text.replace("name: exp\n", "name: exp2\n", 1))
    return path


def test_tampered_config_is_refused_with_exit_2(cli, root):
    assert (
        cli(
            "new", "exp", "--model", "sim-small", "--frameworks", "reference", "--scenario", "hello"
        ).exit_code
        == 0
    )
    config = root / "exp/config.yaml"
    config.write_text(config.read_text().replace("seed: 0", "seed: 1"))
    result = cli("run", "exp")
    assert result.exit_code == 2 and "changed after the experiment was created" in result.stderr
    assert _records(root, "exp") == []


def test_a_second_run_on_the_same_experiment_exits_2_naming_the_holder(cli, root):
    assert (
        cli(
            "new", "exp", "--model", "sim-small", "--frameworks", "reference", "--scenario", "hello"
        ).exit_code
        == 0
    )
    paths = ExperimentPaths(root, "exp")
    with RunLock(paths.run_lock, "exp"):
        result = run_baes("run", "exp")
    assert result.returncode == 2
    assert f"already being run by process {os.getpid()}" in result.stderr


def test_missing_command_fails_runs_clearly_and_the_framework_gives_up(cli, root, tmp_path):
    design = _design(
        tmp_path,
        "exp",
        "  ghost: {adapter: command, step: 'no-such-tool-xyz {prompt_file}'}",
        "runs: {min: 5, max: 5}\nlimits: {max_consecutive_failures: 2}\n",
    )
    assert cli("new", "--config", design).exit_code == 0
    result = cli("run", "exp")
    assert result.exit_code == 1
    assert "gave up on: ghost" in result.stdout
    records = _records(root, "exp")
    assert len(records) == 2 and {r["status"] for r in records} == {"failed"}
    assert all(
        "not found" in r["error"]["message"] and r["error"]["kind"] == "framework" for r in records
    )
    assert [s["status"] for s in records[0]["steps"]] == ["failed", "skipped"]


def test_step_timeout_kills_the_whole_process_group(cli, root, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    step = f"sh -c 'sleep 300 & echo $! > {pid_file}; wait'"
    design = _design(
        tmp_path,
        "exp",
        f'  slow: {{adapter: command, step: "{step}"}}',
        "runs: {min: 1, max: 1}\nlimits: {step_timeout_s: 1, max_consecutive_failures: 1}\n",
    )
    assert cli("new", "--config", design).exit_code == 0
    started = time.monotonic()
    result = cli("run", "exp")
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    [record] = _records(root, "exp")
    assert record["status"] == "failed" and record["error"]["kind"] == "timeout"
    assert record["steps"][0]["status"] == "timeout"
    assert not _alive(int(pid_file.read_text()))


def _alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (a killed orphan may await reaping by init)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_budget_stops_the_runs_with_error_kind_budget(cli, root, tmp_path):
    assert (
        cli(
            "new",
            "exp",
            "--model",
            "sim-large",
            "--frameworks",
            "reference",
            "--scenario",
            "hello",
            "--runs",
            "3",
        ).exit_code
        == 0
    )
    config = root / "exp/config.yaml"
    tiny = config.read_text().replace("max_cost_usd: 25.0", "max_cost_usd: 1.0e-06")
    (tmp_path / "d.yaml").write_text(tiny.replace("name: exp\n", "name: poor\n", 1))
    assert cli("new", "--config", tmp_path / "d.yaml").exit_code == 0
    result = cli("run", "poor")
    assert result.exit_code == 1 and "budget" in result.stdout
    records = _records(root, "poor")
    assert len(records) == 1
    assert _status(cli, "poor") == "stopped"
    assert records[0]["status"] == "failed" and records[0]["error"]["kind"] == "budget"


def test_stopping_rule_stops_a_steady_metric_early_and_runs_a_noisy_one_to_max(cli, root, tmp_path):
    steady = "  steady: {adapter: command, step: 'touch out.txt'}"
    noisy = (
        "  noisy: {adapter: command, step: \"python -c 'import random,time; "
        "time.sleep(random.random()*0.3)'; touch out.txt\"}"
    )
    design = _design(
        tmp_path,
        "exp",
        steady + "\n" + noisy,
        "runs: {min: 3, max: 7}\nstopping_rule: {metrics: [T_WALL_seconds, CHECK_PASS_RATE], "
        "max_half_width_pct: 1.0, max_half_width_abs: 0.2}\nanalysis: {bootstrap_samples: 200}\n",
        steps="    - id: one\n      prompt: go\n      check: test -f out.txt\n",
    )
    # steady's wall time is not steady enough for 1 %, so the steady metric is the check pass rate:
    text = design.read_text().replace(
        "metrics: [T_WALL_seconds, CHECK_PASS_RATE]", "metrics: [CHECK_PASS_RATE]"
    )
    design.write_text(text)
    assert cli("new", "--config", design).exit_code == 0
    noisy_design = tmp_path / "noisy.yaml"
    noisy_design.write_text(
        text.replace("name: exp", "name: exp-noisy").replace(
            "[CHECK_PASS_RATE]", "[T_WALL_seconds]"
        )
    )
    assert cli("new", "--config", noisy_design).exit_code == 0

    assert cli("run", "exp", "--framework", "steady").exit_code == 0
    # All checks pass in every run. The pass rate's Wilson interval is within ±0.2 only from 6
    # runs on (5/5: [0.57, 1], half-width 0.22; 6/6: [0.61, 1], 0.195), so it stops at 6, past
    # runs.min = 3 and before runs.max = 7.
    assert len(_records(root, "exp")) == 6
    assert _status(cli, "exp") == "incomplete"  # `noisy` has not run yet
    assert cli("run", "exp-noisy", "--framework", "noisy").exit_code == 0
    assert len(_records(root, "exp-noisy")) == 7  # never within ±1 %: runs to runs.max


def _registry_entry(root: Path, name: str) -> dict:
    try:
        return json.loads((root / ".registry.json").read_text())["experiments"][name]
    except (OSError, ValueError, KeyError):
        return {}


def _status(cli, name: str) -> str:
    return {e["name"]: e["status"] for e in json.loads(cli("list", "--json").stdout)}[name]


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def _slow_design(tmp_path: Path, name: str, runs: int) -> Path:
    return _design(
        tmp_path,
        name,
        "  slow: {adapter: command, step: 'sleep 0.4; touch out.txt'}",
        f"runs: {{min: {runs}, max: {runs}}}\n",
    )


def test_sigkill_mid_run_then_resume_keeps_completed_runs(cli, root, tmp_path):
    assert cli("new", "--config", _slow_design(tmp_path, "exp", 4)).exit_code == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "baes", "run", "exp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    _wait_for(
        lambda: (
            # the registry is refreshed as each run starts: running, with one completed before it
            _registry_entry(root, "exp").get("status") == "running"
            and _registry_entry(root, "exp").get("runs_completed", 0) >= 1
        )
    )
    process.kill()
    process.wait()
    before = {r["run_id"]: r["status"] for r in _records(root, "exp")}
    completed_before = {rid for rid, status in before.items() if status == "completed"}
    dead = {rid for rid, status in before.items() if status == "running"}
    assert dead
    assert _status(cli, "exp") == "interrupted"  # a run marked running, but nobody holds the lock

    result = cli("run", "exp")
    assert result.exit_code == 0, result.stderr
    after = {r["run_id"]: r for r in _records(root, "exp")}
    assert completed_before <= {rid for rid, r in after.items() if r["status"] == "completed"}
    assert all(after[rid]["status"] == "interrupted" for rid in dead)
    assert all(after[rid]["error"]["kind"] == "interrupted" for rid in dead)
    assert sum(1 for r in after.values() if r["status"] == "completed") == 4
    manifest = json.loads((root / "exp/runs/manifest.json").read_text())["runs"]
    assert set(manifest) == set(after) and len(after) == len(set(after))


def test_ctrl_c_interrupts_in_flight_runs_and_says_how_to_resume(cli, root, tmp_path):
    assert cli("new", "--config", _slow_design(tmp_path, "exp", 50)).exit_code == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "baes", "run", "exp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    _wait_for(lambda: [r["status"] for r in _records(root, "exp")][-2:] == ["completed", "running"])
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Resume with: baes run exp" in stdout
    statuses = [r["status"] for r in _records(root, "exp")]
    assert "running" not in statuses and "interrupted" in statuses
    assert not RunLock(ExperimentPaths(root, "exp").run_lock, "exp").acquire().release()


def test_an_experiment_whose_frameworks_converged_is_completed(cli, root, tmp_path):
    design = _design(
        tmp_path,
        "exp",
        "  steady: {adapter: command, step: 'touch out.txt'}",
        "runs: {min: 2, max: 9}\n"
        "stopping_rule: {metrics: [CHECK_PASS_RATE], max_half_width_abs: 0.2}\n"
        "analysis: {bootstrap_samples: 200}\n",
        steps="    - id: one\n      prompt: go\n      check: test -f out.txt\n",
    )
    assert cli("new", "--config", design).exit_code == 0
    assert cli("run", "exp").exit_code == 0
    # Converged below runs.max, but not on 2 all-pass runs, nor on 5: Wilson's interval of 6/6,
    # [0.61, 1], is the first within ±0.2 (the widest limit allowed).
    assert len(_records(root, "exp")) == 6
    assert _status(cli, "exp") == "completed"
    shown = json.loads(cli("show", "exp", "--json").stdout)
    assert shown["status"] == "completed"
