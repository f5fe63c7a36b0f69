"""`baes run --executor dask` on a real LocalCluster of worker processes, over loopback only.

One module-scoped cluster serves the tests that pass `--scheduler` (a cluster costs seconds to
start); the test of `--workers` starts its own, as a user's `baes run` would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import Future
from pathlib import Path

import pytest

from baes.engine.coordinator import RunRequest, _Coordinator, experiment_progress, run_experiment
from baes.engine.dask_executor import DaskSettings
from baes.engine.run_bundle import RunBundle, write_bundle
from baes.errors import WorkError
from baes.experiment.load import load_experiment
from baes.llm.ledger import read_ledger
from baes.simulator.usage_log import call_from_json, root_usage_log

distributed = pytest.importorskip("distributed")

# What legitimately differs between a local run and the same run on a worker: timing, identity,
# and where it ran.
VARYING = {"run_id", "experiment", "config_hash", "started_at", "ended_at", "executor"}


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, dashboard_address="127.0.0.1:0"
    ) as cluster:
        yield cluster.scheduler_address


def _records(root: Path, name: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / name / "runs").glob("*/*/run.json"))]


def _comparable(record: dict) -> dict:
    """The parts of a run record that must not depend on where the run executed."""
    kept = {k: v for k, v in record.items() if k not in VARYING}
    kept["environment"] = {"checks": record["environment"]["checks"]}
    kept["totals"] = {
        k: v for k, v in record["totals"].items() if k not in ("wall_seconds", "llm_seconds")
    }
    kept["archive"] = {k: record["archive"][k] for k in ("path", "files", "kept_workspace")}
    kept["steps"] = [
        {
            **{k: v for k, v in s.items() if k not in ("started_at", "ended_at", "duration_s")},
            "usage": {k: v for k, v in s["usage"].items() if k != "llm_seconds"},
            "check": {k: v for k, v in s["check"].items() if k != "duration_s"},
        }
        for s in record["steps"]
    ]
    return kept


def _new(cli, root: Path, name: str, *extra: str) -> None:
    result = cli(
        "new",
        name,
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
        "--root",
        root,
        *extra,
    )
    assert result.exit_code == 0, result.stderr


def test_a_cluster_run_writes_the_records_a_local_run_writes(cli, tmp_path, scheduler):
    local_root, cluster_root, shared = tmp_path / "local", tmp_path / "cluster", tmp_path / "nfs"
    shared.mkdir()
    _new(cli, local_root, "exp")
    _new(cli, cluster_root, "exp")
    keep = "--keep-workspaces"
    assert cli("run", "exp", "--root", local_root, "--jobs", "2", keep).exit_code == 0
    result = cli(
        "run", "exp", "--root", cluster_root, "--executor", "dask", "--scheduler", scheduler,
        "--jobs", "3", "--shared-dir", shared, keep, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)["frameworks"]
    assert {f: s["completed"] for f, s in summary.items()} == {
        "reference": 2,
        "reference-repair": 2,
    }

    local, cluster = _records(local_root, "exp"), _records(cluster_root, "exp")
    assert len(cluster) == 4 and {r["status"] for r in cluster} == {"completed"}
    by_seed = {(r["framework"], r["seed"]): _comparable(r) for r in local}
    assert {(r["framework"], r["seed"]): _comparable(r) for r in cluster} == by_seed
    with distributed.Client(scheduler) as client:
        workers = set(client.run(os.getpid))  # the cluster's worker addresses
    for record in cluster:
        assert record["executor"]["kind"] == "dask" and record["executor"]["worker"] in workers
        run_dir = cluster_root / "exp/runs" / record["framework"] / record["run_id"]
        assert (run_dir / "steps/01-greet/check.log").is_file()
        assert (run_dir / "workspace.tar.gz").stat().st_size == record["archive"]["bytes"]
        local_dir = local_root / "exp/runs" / record["framework"]
        (twin,) = [
            r for r in local if (r["framework"], r["seed"]) == (record["framework"], record["seed"])
        ]
        kept = sorted(p.relative_to(run_dir) for p in (run_dir / "workspace").rglob("*"))
        assert kept and kept == sorted(
            p.relative_to(local_dir / twin["run_id"])
            for p in (local_dir / twin["run_id"] / "workspace").rglob("*")
        )
    assert list(shared.iterdir()) == []  # the archives came through it and were moved home
    assert {r["executor"]["kind"] for r in local} == {"local"}
    assert {r["executor"]["worker"] for r in local} == {None}

    # The ledgers (written on the coordinator) hold exactly the calls the provider served.
    ledger = Counter()
    for path in (cluster_root / "exp/runs").glob("*/*/usage.jsonl"):
        for e in read_ledger(path):
            ledger[(e.model_served, e.input_tokens, e.cached_tokens, e.output_tokens)] += 1
    provider = Counter()
    for line in root_usage_log(cluster_root).read_text().splitlines():
        c = call_from_json(json.loads(line))
        provider[(c.model, c.input_tokens, c.cached_tokens, c.output_tokens)] += 1
    assert ledger == provider
    assert sum(ledger.values()) == sum(r["totals"]["calls"] for r in cluster) >= 8


# One LLM call, then (the first time only) tell the test who to kill and wait to be killed.
STEP = """
import json, os, sys, time, urllib.request
mark = sys.argv[1]
request = urllib.request.Request(
    os.environ["OPENAI_BASE_URL"] + "/chat/completions",
    data=json.dumps({"model": sys.argv[2], "messages": [{"role": "user", "content": "hi"}]}).encode(),
    headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"],
             "Content-Type": "application/json"},
)
urllib.request.urlopen(request).read()
if not os.path.exists(mark):
    # What the worker process (this step's parent) was started with: never the provider's key.
    if os.path.exists(f"/proc/{os.getppid()}/environ"):  # Linux
        with open(f"/proc/{os.getppid()}/environ", "rb") as handle:
            started_with = [v.split(b"=")[0] for v in handle.read().split(b"\\0")]
        with open(mark + ".env", "w") as handle:
            handle.write(" ".join(v.decode() for v in started_with))
    with open(mark + ".tmp", "w") as handle:
        handle.write(f"{os.getppid()} {os.getpid()}")
    os.replace(mark + ".tmp", mark)
    time.sleep(60)
open("out.txt", "w").write("done")
"""


def _sleeper(tmp_path: Path, root: Path, name: str) -> Path:
    script = tmp_path / "step.py"
    script.write_text(STEP)
    mark = tmp_path / f"{name}.mark"
    design = tmp_path / f"{name}.yaml"
    design.write_text(
        f"name: {name}\nmodel: sim-small\nprovider: {{kind: sim}}\nframeworks:\n"
        f'  sleeper: {{adapter: command, step: "{sys.executable} {script} {mark} {{model}}"}}\n'
        "scenario:\n  name: custom\n  steps:\n"
        "    - id: one\n      prompt: Write a file\n      check: test -f out.txt\n"
        "runs: {min: 1, max: 1}\nlimits: {step_timeout_s: 120}\n"
    )
    return design


def _kill_when_marked(mark: Path, deadline_s: float = 60) -> threading.Thread:
    """Kill -9 the worker process running the step (the step's parent), and the step itself."""

    def kill() -> None:
        end = time.monotonic() + deadline_s
        while not mark.exists() and time.monotonic() < end:
            time.sleep(0.05)
        worker, step = (int(p) for p in mark.read_text().split())
        os.kill(worker, signal.SIGKILL)
        os.kill(step, signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def _assert_worker_lost_then_repeated(root: Path, name: str) -> None:
    records = _records(root, name)
    assert sorted(r["status"] for r in records) == ["completed", "interrupted"]
    lost = next(r for r in records if r["status"] == "interrupted")
    assert lost["error"]["kind"] == "interrupted" and lost["error"]["reason"] == "worker-lost"
    assert lost["executor"]["kind"] == "dask" and lost["executor"]["worker"].startswith("tcp://")
    # Its metered call is kept, and its totals say so (the steps never came back).
    entries = read_ledger(root / name / "runs/sleeper" / lost["run_id"] / "usage.jsonl")
    assert len(entries) == 1 and entries[0].status_code == 200
    assert (
        lost["totals"]["calls"] == 1 and lost["totals"]["input_tokens"] == entries[0].input_tokens
    )
    assert lost["totals"]["wall_seconds"] is None and lost["steps"] == []
    done = next(r for r in records if r["status"] == "completed")
    assert done["seed"] != lost["seed"]  # a new repetition, not the lost one again
    # No run is counted twice: every record's calls are its own ledger's.
    calls = sum(len(read_ledger(p)) for p in (root / name / "runs").glob("*/*/usage.jsonl"))
    assert calls == 2 == len(root_usage_log(root).read_text().splitlines())


def test_a_worker_killed_mid_run_is_recorded_worker_lost_and_the_run_repeated(
    cli, root, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-only-for-the-coordinator-0123456789")
    # baes's own LocalCluster: a dead worker fails its task at once (KilledWorker). With one
    # worker, the new repetition runs on the worker its nanny started in place of the dead one.
    assert cli("new", "--config", _sleeper(tmp_path, root, "exp")).exit_code == 0
    killer = _kill_when_marked(tmp_path / "exp.mark")
    result = cli("run", "exp", "--executor", "dask", "--workers", "1", "--json")
    killer.join(5)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)["frameworks"]["sleeper"]
    assert (summary["completed"], summary["interrupted"], summary["failed"]) == (1, 1, 0)
    _assert_worker_lost_then_repeated(root, "exp")
    # The design's key variable (provider.api_key_env) was not in the worker's environment.
    if Path("/proc/self/environ").exists():  # Linux: a process's environment can be read
        worker_started_with = (tmp_path / "exp.mark.env").read_text().split()
        assert "PATH" in worker_started_with and "OPENAI_API_KEY" not in worker_started_with


def test_a_task_dask_retries_after_a_lost_worker_does_not_run_twice(cli, root, tmp_path, scheduler):
    # The module's cluster keeps Dask's default: a task whose worker dies is re-run elsewhere.
    # The re-run must refuse, or the run's calls would be made (and counted) twice.
    assert cli("new", "--config", _sleeper(tmp_path, root, "exp")).exit_code == 0
    killer = _kill_when_marked(tmp_path / "exp.mark")
    result = cli("run", "exp", "--executor", "dask", "--scheduler", scheduler)
    killer.join(5)
    assert result.exit_code == 0, result.stderr
    _assert_worker_lost_then_repeated(root, "exp")


class _Notices:
    """A RunObserver that keeps the notices and the steps started, and ignores the rest."""

    def __init__(self) -> None:
        self.notices: list[str] = []
        self.steps: list[tuple[str, int, str]] = []

    def on_notice(self, message: str) -> None:
        self.notices.append(message)

    def on_step_started(self, framework: str, run_id: str, index: int, step_id: str) -> None:
        self.steps.append((framework, index, step_id))

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


class _HeldExecutor:
    """Executes nothing: the test hands the coordinator the bundles itself."""

    kind = "dask"

    def submit(self, task) -> Future:
        self.task = task
        return Future()


def test_a_second_bundle_for_a_run_is_refused(cli, root):
    _new(cli, root, "exp")
    experiment, design = load_experiment(root, "exp")
    observer = _Notices()
    coordinator = _Coordinator(experiment, design, RunRequest(), observer, threading.Event())
    coordinator.progress = experiment_progress(experiment.paths, design, design.frameworks)
    coordinator.describe_adapters(["reference"])
    executor = _HeldExecutor()
    _, _, run_id = coordinator.launch("reference", executor)
    finished = {**executor.task.start, "status": "completed", "ended_at": "2026-01-01T00:00:00Z"}
    leaked = b"answer: Incorrect API key provided: sk-proj-abcdefghijklmnop0123\n"
    first = RunBundle(run_id, finished, "tcp://10.0.0.1:1", {"steps/01-greet/stdout.log": leaked})
    again = RunBundle(run_id, {**finished, "ended_at": "2026-01-02T00:00:00Z"}, "tcp://10.0.0.2:1")

    assert coordinator.accept("reference", first) is True
    assert coordinator.accept("reference", again) is False
    (record,) = _records(root, "exp")
    assert record["ended_at"] == "2026-01-01T00:00:00Z"
    assert record["executor"] == {"kind": "dask", "worker": "tcp://10.0.0.1:1"}
    log = root / "exp/runs/reference" / run_id / "steps/01-greet/stdout.log"
    assert log.read_text() == "answer: Incorrect API key provided: sk-[redacted]\n"
    assert len(coordinator.progress["reference"].completed) == 1
    assert observer.notices == [f"ignored a result for run {run_id} of reference: already recorded"]


def test_without_dask_installed_the_dask_executor_exits_2_with_the_install_command(
    cli, root, monkeypatch
):
    _new(cli, root, "exp")
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    result = cli("run", "exp", "--executor", "dask")
    assert result.exit_code == 2
    assert "pip install 'baes[dask]'" in result.stderr
    assert _records(root, "exp") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "2"], "--workers only apply with --executor dask"),
        (
            ["--executor", "dask", "--workers", "2", "--scheduler", "tcp://x:1"],
            "exclude each other",
        ),
        (["--executor", "ray"], "--executor must be local or dask"),
        (["--executor", "dask", "--proxy-host", "0.0.0.0"], "an address workers can call"),
        (["--executor", "dask", "--shared-dir", "/no/such/folder"], "is not a folder"),
    ],
)
def test_bad_executor_options_exit_2_in_one_line(cli, root, args, message):
    _new(cli, root, "exp")
    result = cli("run", "exp", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_stops_the_runs_on_the_workers_and_they_are_recorded_interrupted(
    cli, root, tmp_path, scheduler
):
    assert cli("new", "--config", _sleeper(tmp_path, root, "exp")).exit_code == 0
    mark, cancel = tmp_path / "exp.mark", threading.Event()

    def press_ctrl_c() -> None:
        end = time.monotonic() + 60
        while not mark.exists() and time.monotonic() < end:
            time.sleep(0.05)
        cancel.set()  # what the first Ctrl-C does

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    request = RunRequest(executor="dask", dask=DaskSettings(scheduler=scheduler))
    began = time.monotonic()
    observer = _Notices()
    summary = run_experiment(root, "exp", request, observer, cancel)
    assert summary.interrupted and time.monotonic() - began < 30  # not the step's 60 s sleep
    (record,) = _records(root, "exp")
    assert record["status"] == "interrupted" and record["error"]["kind"] == "interrupted"
    assert "reason" not in record["error"]  # stopped by the user, not a lost worker
    assert record["steps"][0]["status"] == "failed" and record["totals"]["calls"] == 1
    assert record["executor"]["worker"].startswith("tcp://")
    assert observer.steps == [("sleeper", 1, "one")]  # the worker's progress reached the view
    _, step_pid = (int(p) for p in mark.read_text().split())
    with pytest.raises(ProcessLookupError):
        os.kill(step_pid, 0)  # the framework's process was stopped on the worker


def _bundle(tmp_path: Path, files: dict[str, bytes], sha256: str) -> RunBundle:
    record = {"run_id": "r1", "archive": {"sha256": sha256, "kept_workspace": False}}
    return RunBundle("r1", record, "tcp://w:1", files)


def test_a_bundle_whose_archive_does_not_match_its_sha256_is_refused(tmp_path):
    bundle = _bundle(tmp_path, {"workspace.tar.gz": b"damaged"}, "0" * 64)
    with pytest.raises(WorkError, match="does not match the sha256"):
        write_bundle(bundle, tmp_path)


@pytest.mark.parametrize("name", ["../outside.log", "/etc/outside.log"])
def test_a_bundle_cannot_write_outside_its_run_folder(tmp_path, name):
    run_dir = tmp_path / "run"
    with pytest.raises(WorkError, match="outside its run folder"):
        write_bundle(_bundle(tmp_path, {name: b"x"}, "0" * 64), run_dir)
    assert not (tmp_path / "outside.log").exists()


def test_the_budget_stops_cluster_runs_as_it_stops_local_ones(cli, root, tmp_path, scheduler):
    # The proxy on the coordinator refuses the call; the worker's framework fails the step; the
    # coordinator, settling the run from its ledger, records the failure as the budget's.
    _new(cli, root, "exp")
    config = (root / "exp/config.yaml").read_text()
    tiny = config.replace("max_cost_usd: 25.0", "max_cost_usd: 1.0e-06").replace(
        "name: exp\n", "name: poor\n", 1
    )
    assert tiny != config
    (tmp_path / "poor.yaml").write_text(tiny)
    assert cli("new", "--config", tmp_path / "poor.yaml").exit_code == 0
    result = cli("run", "poor", "--executor", "dask", "--scheduler", scheduler, "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["budget_exhausted"] is True
    assert {s["outcome"] for s in summary["frameworks"].values()} == {"budget"}
    failed = [r for r in _records(root, "poor") if r["status"] == "failed"]
    assert failed and all(r["error"]["kind"] == "budget" for r in failed)


def test_a_setup_that_fails_on_a_worker_fails_its_runs_and_the_framework_is_given_up(
    cli, root, tmp_path, scheduler
):
    design = tmp_path / "broken.yaml"
    design.write_text(
        "name: broken\nmodel: sim-small\nprovider: {kind: sim}\nframeworks:\n"
        "  broken: {adapter: command, setup: ['exit 3'], step: 'touch out.txt'}\n"
        "scenario:\n  name: custom\n  steps:\n    - id: one\n      prompt: Write a file\n"
        "runs: {min: 3, max: 3}\nlimits: {max_consecutive_failures: 2}\n"
    )
    assert cli("new", "--config", design).exit_code == 0
    result = cli("run", "broken", "--executor", "dask", "--scheduler", scheduler)
    assert result.exit_code == 1 and "gave up on: broken" in result.stdout
    records = _records(root, "broken")
    assert len(records) == 2 and {r["status"] for r in records} == {"failed"}
    for record in records:
        assert record["error"]["kind"] == "infrastructure"
        message = record["error"]["message"]
        assert "setup of framework 'broken' failed" in message
        assert "(on the Dask worker tcp://127.0.0.1:" in message


def test_a_worker_that_cannot_reach_the_proxy_is_named(tmp_path):
    from baes.engine.dask_worker import proxy_reachable

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connections are refused
        assert proxy_reachable(f"http://127.0.0.1:{port}", timeout_s=2) == "Connection refused"


def _gone(pid: int, within_s: float) -> bool:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_after_kill_9_of_the_coordinator_its_workers_exit_and_the_next_run_resumes(
    cli, root, tmp_path
):
    assert cli("new", "--config", _sleeper(tmp_path, root, "exp")).exit_code == 0
    mark = tmp_path / "exp.mark"
    coordinator = subprocess.Popen(
        [sys.executable, "-m", "baes", "run", "exp", "--executor", "dask", "--workers", "1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 60
        while not mark.exists() and time.monotonic() < end and coordinator.poll() is None:
            time.sleep(0.05)
        worker, step = (int(p) for p in mark.read_text().split())
    finally:
        coordinator.kill()  # SIGKILL: no clean-up of any kind
        coordinator.wait()
    os.kill(step, signal.SIGKILL)  # the framework's own process group outlives baes, as locally
    assert _gone(worker, within_s=15)  # the cluster baes started does not outlive it

    result = cli("run", "exp", "--executor", "dask", "--workers", "1", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["recovered_interrupted_runs"] == 1
    records = _records(root, "exp")
    assert sorted(r["status"] for r in records) == ["completed", "interrupted"]
