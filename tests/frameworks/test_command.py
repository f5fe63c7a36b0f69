"""The command adapter with real shell commands: environment, quoting, timeouts, cancel,
failures, and the setup cache."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from baes.config.models import CommandFrameworkConfig
from baes.frameworks import FrameworkSetupError, adapter_for
from baes.frameworks.environments import COMPLETE_MARKER, environment_key, environments_dir
from baes.frameworks.process_env import is_secret_name
from tests.frameworks.conftest import step_context
from tests.frameworks.process_probe import FAMILY, pids_in, running

BASE_URL = "http://127.0.0.1:9/t/attribution-token/v1"


def command_framework(step: str, tmp_path: Path, setup=(), env=None, prepare=True):
    config = CommandFrameworkConfig(
        adapter="command", step=step, setup=list(setup), env=dict(env or {})
    )
    adapter = adapter_for("tool", config)
    if prepare:
        adapter.prepare(tmp_path / "cache")
    return adapter


def env_of(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text("utf-8").split("\0") if "=" in line)


def test_the_command_talks_to_the_proxy_with_the_run_token_and_never_sees_the_real_key(
    workspace, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-key-must-not-leak")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-must-not-leak")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-must-not-leak")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-must-not-leak")
    monkeypatch.setenv("KEEP_ME", "kept")
    adapter = command_framework("env -0 > env.bin", tmp_path, env={"TOOL_MODEL": "{model}"})
    ctx = step_context(workspace, tmp_path / "logs", BASE_URL, prompt="p", index=2)
    assert adapter.run_step(ctx).ok
    env = env_of(workspace / "env.bin")
    assert env["OPENAI_BASE_URL"] == env["OPENAI_API_BASE"] == BASE_URL
    assert env["OPENAI_API_KEY"] == "baes-run-test-token"
    assert "must-not-leak" not in (workspace / "env.bin").read_text("utf-8")
    assert "ANTHROPIC_API_KEY" not in env and "GITHUB_TOKEN" not in env
    # Only the allow-list is inherited (process_env); the config's env is how to pass more.
    assert "KEEP_ME" not in env and env["TOOL_MODEL"] == "sim-small"
    assert env["BAES_STEP_ID"] == "step" and env["BAES_STEP_INDEX"] == "2"
    assert env["BAES_WORKSPACE"] == str(workspace.resolve()) and env["BAES_MODEL"] == "sim-small"


def test_placeholders_reach_the_command_intact_and_are_never_run(workspace, tmp_path):
    prompt = (
        "Say \"hi\" and 'bye'; $(touch injected) `touch injected2` && touch injected3\n"
        "second line with $HOME, {braces}, a \\ backslash and a trailing newline\n"
    )
    step = (
        "printf '%s' {prompt} > prompt.arg; cat {prompt_file} > prompt.file; "
        "printf '%s|%s|%s|%s' {step_id} {step_index} {model} {base_url} > values; "
        "cat {hitl_file} > hitl; {python} -c 'import sys; print(sys.prefix)' > python; "
        "echo {env} > env; pwd > cwd"
    )
    adapter = command_framework(step, tmp_path)
    ctx = step_context(
        workspace, tmp_path / "logs", BASE_URL, prompt=prompt, index=3, hitl_text="answer: yes"
    )
    outcome = adapter.run_step(ctx)
    assert outcome.ok, outcome.error_message
    assert (workspace / "prompt.arg").read_text() == prompt
    assert (workspace / "prompt.file").read_text() == prompt
    assert (tmp_path / "logs" / "prompt.txt").read_text() == prompt
    assert (workspace / "values").read_text() == f"step|3|sim-small|{BASE_URL}"
    assert (workspace / "hitl").read_text() == "answer: yes"
    env_dir = Path((workspace / "env").read_text().strip())
    assert env_dir.parent == environments_dir(tmp_path / "cache")
    assert (workspace / "cwd").read_text().strip() == str(workspace.resolve())
    assert not list(workspace.glob("injected*"))


def test_output_goes_to_the_step_logs(workspace, tmp_path):
    adapter = command_framework("echo working; echo warning >&2", tmp_path)
    assert adapter.run_step(step_context(workspace, tmp_path / "logs", BASE_URL, prompt="p")).ok
    assert (tmp_path / "logs" / "stdout.log").read_text() == "working\n"
    assert (tmp_path / "logs" / "stderr.log").read_text() == "warning\n"


def test_a_step_timeout_kills_the_command_with_its_children_and_grandchildren(workspace, tmp_path):
    adapter = command_framework(FAMILY, tmp_path)
    started = time.monotonic()
    outcome = adapter.run_step(
        step_context(workspace, tmp_path / "logs", BASE_URL, prompt="p", timeout_s=1)
    )
    assert time.monotonic() - started < 5
    assert not outcome.ok and outcome.error_kind == "timeout"
    assert "time limit" in outcome.error_message
    assert not [pid for pid in pids_in(workspace / "pids", 3) if running(pid)]


def test_cancel_interrupts_the_command(workspace, tmp_path):
    adapter = command_framework("sleep 1000 & echo $! > pids; wait", tmp_path)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    outcome = adapter.run_step(
        step_context(workspace, tmp_path / "logs", BASE_URL, prompt="p", cancel=cancel)
    )
    assert outcome.error_kind == "interrupted"
    assert not running(pids_in(workspace / "pids", 1)[0])


def test_a_missing_executable_is_reported_by_name(workspace, tmp_path):
    adapter = command_framework("no-such-framework-cli --message-file {prompt_file}", tmp_path)
    outcome = adapter.run_step(step_context(workspace, tmp_path / "logs", BASE_URL, prompt="p"))
    assert outcome.error_kind == "framework"
    assert outcome.error_message.startswith("command not found: no-such-framework-cli")


def test_a_non_zero_exit_fails_the_step_with_the_last_error_line(workspace, tmp_path):
    step = "echo thinking; echo 'Error: model refused' >&2; echo 'fatal: gave up' >&2; exit 3"
    adapter = command_framework(step, tmp_path)
    outcome = adapter.run_step(step_context(workspace, tmp_path / "logs", BASE_URL, prompt="p"))
    assert not outcome.ok and outcome.error_kind == "framework" and outcome.attempts == 1
    assert outcome.error_message == "framework 'tool' exited with 3: fatal: gave up"


def test_with_stderr_empty_the_failure_quotes_stdout_and_says_so(workspace, tmp_path):
    adapter = command_framework("echo 'Error: no API key'; exit 2", tmp_path)
    outcome = adapter.run_step(step_context(workspace, tmp_path / "logs", BASE_URL, prompt="p"))
    assert outcome.error_message == (
        "framework 'tool' exited with 2: (stderr empty; stdout's last line) Error: no API key"
    )


def test_setup_runs_once_per_machine_and_is_reused(workspace, tmp_path):
    setup = ["echo built >> {env}/../builds.txt", "echo ready > {env}/state"]
    first = command_framework("cat {env}/state > seen", tmp_path, setup=setup)
    second = command_framework("cat {env}/state > seen", tmp_path, setup=setup)
    envs = environments_dir(tmp_path / "cache")
    assert (envs / "builds.txt").read_text() == "built\n"
    env_dir = envs / environment_key(setup)
    assert (env_dir / COMPLETE_MARKER).is_file()
    assert second.run_step(step_context(workspace, tmp_path / "logs", BASE_URL, prompt="p")).ok
    assert (workspace / "seen").read_text() == "ready\n"
    assert first is not second


def test_concurrent_prepares_build_the_environment_once(tmp_path):
    setup = ["sleep 0.5; echo built >> {env}/../builds.txt"]
    adapters = [command_framework("true", tmp_path, setup=setup, prepare=False) for _ in range(2)]
    errors: list[BaseException] = []

    def prepare(adapter):
        try:
            adapter.prepare(tmp_path / "cache")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=prepare, args=(a,)) for a in adapters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert (environments_dir(tmp_path / "cache") / "builds.txt").read_text() == "built\n"


def test_a_half_built_environment_is_rebuilt_from_scratch(tmp_path):
    setup = ["echo fresh > {env}/state"]
    env_dir = environments_dir(tmp_path / "cache") / environment_key(setup)
    env_dir.mkdir(parents=True)
    (env_dir / "leftover").write_text("from a build that died")
    command_framework("true", tmp_path, setup=setup)
    assert not (env_dir / "leftover").exists()
    assert (env_dir / "state").read_text() == "fresh\n"


def test_a_failing_setup_raises_with_the_command_and_its_last_line(tmp_path):
    setup = ["echo installing", "echo 'ERROR: No matching distribution for nothing==9' >&2; exit 1"]
    with pytest.raises(FrameworkSetupError) as caught:
        command_framework("true", tmp_path, setup=setup)
    message = caught.value.message
    assert "setup of framework 'tool' failed: command 2 of 2" in message
    assert "exited with 1: ERROR: No matching distribution for nothing==9" in message
    assert "setup.log" in caught.value.hint
    env_dir = environments_dir(tmp_path / "cache") / environment_key(setup)
    assert not (env_dir / COMPLETE_MARKER).exists()


def test_versions_come_from_the_pins_and_the_installed_metadata(tmp_path):
    setup = [
        "mkdir -p {env}/lib/python3.11/site-packages/aider_chat-0.86.3.dist-info",
        "true pip install aider-chat==0.86.2 other[extra]==1.0",
        "true pip download --dest {env} not-installed==2.0",
    ]
    adapter = command_framework("true", tmp_path, setup=setup)
    assert adapter.versions() == {"aider-chat": "0.86.3", "other": "1.0"}


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("OPENAI_API_KEY", True),
        ("OPENAI_ADMIN_KEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("AWS_SESSION_TOKEN", True),
        ("GITHUB_TOKEN", True),
        ("HUGGINGFACEHUB_API_TOKEN", True),
        ("DB_PASSWORD", True),
        ("TIKTOKEN_CACHE_DIR", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("PATH", False),
        ("HOME", False),
    ],
)
def test_credential_names_are_recognised(name, secret):
    assert is_secret_name(name) is secret
