"""Preflight of `baes run` (issue 10, item 6): key, provider and price are checked before any
framework's setup starts; `--dry-run` reports the same problems; setup shows its progress."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from baes.config.models import ExperimentConfig
from baes.engine.preflight import design_problems
from baes.llm.loopback_server import LoopbackServer

KEY = "sk-preflight-secret-0123456789abcdef"


def _design(tmp_path: Path, name: str, provider: str, marker: Path) -> Path:
    """A design whose only framework's setup leaves `marker` behind if it ever starts."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nmodel: gpt-4o-mini\n"
        f"provider: {provider}\n"
        "frameworks:\n"
        f"  tool: {{adapter: command, setup: ['touch {marker}'], step: 'true'}}\n"
        "scenario:\n  name: custom\n  steps:\n"
        "    - id: one\n      prompt: Write a file\n      check: 'true'\n"
        "runs: {min: 1, max: 1}\n"
    )
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("BAES_CACHE_DIR", str(folder))
    return folder


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_missing_key_exits_2_with_one_line_before_any_setup(
    cli, root, tmp_path, cache, monkeypatch
):
    monkeypatch.delenv("LLM_AUTH", raising=False)
    marker = tmp_path / "setup-ran"
    provider = (
        f"{{kind: openai, base_url: 'http://127.0.0.1:{_closed_port()}/v1', api_key_env: LLM_AUTH}}"
    )
    assert cli("new", "--config", _design(tmp_path, "exp", provider, marker)).exit_code == 0
    result = cli("run", "exp")
    assert result.exit_code == 2
    (line,) = _errors(result.stderr)
    assert "LLM_AUTH" in line and "not set" in line
    assert not marker.exists() and not (cache / "envs").exists()
    assert not list((root / "exp/runs").glob("*/*/run.json"))


def test_unreachable_provider_exits_1_before_setup(cli, root, tmp_path, cache, monkeypatch):
    monkeypatch.setenv("LLM_AUTH", KEY)
    marker = tmp_path / "setup-ran"
    port = _closed_port()
    provider = f"{{kind: openai, base_url: 'http://127.0.0.1:{port}/v1', api_key_env: LLM_AUTH}}"
    assert cli("new", "--config", _design(tmp_path, "exp", provider, marker)).exit_code == 0
    result = cli("run", "exp")
    assert result.exit_code == 1
    (line,) = _errors(result.stderr)
    assert f"127.0.0.1:{port}" in line and "unreachable" in line
    assert not marker.exists()


class _Rejecting:
    """A fake provider over loopback that refuses every key, echoing it back as OpenAI does."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.server = LoopbackServer(Starlette(routes=[Route("/v1/{rest:path}", self.answer)]))

    async def answer(self, request: Request) -> JSONResponse:
        self.paths.append(request.url.path)
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        message = f"Incorrect API key provided: {key}."
        return JSONResponse({"error": {"message": message, "code": "invalid_api_key"}}, 401)


def test_a_provider_refusing_the_key_exits_1_with_a_clear_line(
    cli, root, tmp_path, cache, monkeypatch
):
    monkeypatch.setenv("LLM_AUTH", KEY)
    marker = tmp_path / "setup-ran"
    fake = _Rejecting()
    fake.server.start()
    try:
        provider = f"{{kind: openai, base_url: '{fake.server.url}/v1', api_key_env: LLM_AUTH}}"
        assert cli("new", "--config", _design(tmp_path, "exp", provider, marker)).exit_code == 0
        result = cli("run", "exp")
    finally:
        fake.server.stop()
    assert result.exit_code == 1
    (line,) = _errors(result.stderr)
    assert "rejected the API key" in line and "HTTP 401" in line
    assert KEY not in result.stderr + result.stdout  # the echoed key is never shown
    assert fake.paths == ["/v1/models"] and not marker.exists()


def test_an_external_simulator_that_does_not_answer_is_reported(cli, root, tmp_path, cache):
    marker = tmp_path / "setup-ran"
    port = _closed_port()
    design = _design(
        tmp_path, "exp", f"{{kind: sim, base_url: 'http://127.0.0.1:{port}/v1'}}", marker
    )
    design.write_text(design.read_text().replace("model: gpt-4o-mini", "model: sim-small"))
    assert cli("new", "--config", design).exit_code == 0
    result = cli("run", "exp")
    assert result.exit_code == 1 and "unreachable" in _errors(result.stderr)[0]
    assert not marker.exists()


def test_dry_run_reports_the_same_problems_and_exit_code(cli, root, tmp_path, cache, monkeypatch):
    monkeypatch.delenv("LLM_AUTH", raising=False)
    marker = tmp_path / "setup-ran"
    provider = (
        f"{{kind: openai, base_url: 'http://127.0.0.1:{_closed_port()}/v1', api_key_env: LLM_AUTH}}"
    )
    assert cli("new", "--config", _design(tmp_path, "exp", provider, marker)).exit_code == 0
    text = cli("run", "exp", "--dry-run")
    assert text.exit_code == 2
    assert "preflight:" in text.stderr and "LLM_AUTH" in text.stderr
    assert "plan for exp" in text.stdout  # the plan is still shown
    as_json = cli("run", "exp", "--dry-run", "--json")
    assert as_json.exit_code == 2
    preflight = json.loads(as_json.stdout)["preflight"]
    assert [p["kind"] for p in preflight["problems"]] == ["missing_key"]
    assert preflight["provider_checked"] is False
    # With the key set, the dry run asks the provider, which here does not answer.
    monkeypatch.setenv("LLM_AUTH", KEY)
    asked = cli("run", "exp", "--dry-run", "--json")
    assert asked.exit_code == 1
    preflight = json.loads(asked.stdout)["preflight"]
    assert preflight["provider_checked"] is True
    assert [p["kind"] for p in preflight["problems"]] == ["unreachable"]
    assert not marker.exists()


def test_an_unpriced_model_is_an_input_problem():
    design = ExperimentConfig.model_validate(
        {
            "name": "x",
            "model": "sim-small",
            "frameworks": {"reference": {"adapter": "builtin"}},
            "scenario": {"name": "s", "steps": [{"id": "a", "prompt": "p", "check": "true"}]},
            "pricing": {"sim-small": {"input": 1.0, "cached_input": 0.5, "output": 2.0}},
        }
    )
    assert design_problems(design) == []
    unpriced = design.model_copy(update={"pricing": {}})
    (problem,) = design_problems(unpriced)
    assert problem.kind == "unpriced_model" and problem.is_input_error


def test_setup_reports_what_it_does_and_for_how_long(cli, root, tmp_path, cache):
    design = tmp_path / "exp.yaml"
    design.write_text(
        "name: exp\nmodel: sim-small\nframeworks:\n"
        "  tool: {adapter: command, setup: ['sleep 0.2', 'true'], step: 'true'}\n"
        "scenario:\n  name: custom\n  steps:\n"
        "    - id: one\n      prompt: Write a file\n      check: 'true'\n"
        "runs: {min: 1, max: 1}\n"
    )
    assert cli("new", "--config", design).exit_code == 0
    result = cli("run", "exp")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "tool: setting up: command 1/2: sleep 0.2 (0 s so far)" in lines
    assert any(line.startswith("tool: setting up: command 2/2: true (") for line in lines)
    assert any(line.startswith("tool: set up in ") for line in lines)
    # A second run finds the environment cached and says nothing about setup.
    assert cli("new", "exp2", "--from", "exp").exit_code == 0
    again = cli("run", "exp2")
    assert again.exit_code == 0 and "setting up" not in again.stderr


def test_the_live_view_shows_the_setup_activity_and_its_elapsed_time():
    import time

    from rich.console import Console

    from baes.cli.run_progress import progress_table
    from baes.engine.coordinator import FrameworkProgress
    from baes.engine.stopping import StoppingDecision

    progress = {"aider": FrameworkProgress("aider", 2, 2, StoppingDecision(True, "0 of 2"))}
    setups = {"aider": ("command 2/3: pip install aider-chat==0.86.2", time.monotonic() - 42.4)}
    console = Console(record=True, width=200)
    console.print(progress_table(progress, 0.0, 1, "baes run x", setups))
    assert "setting up: command 2/3: pip install aider-chat==0.86.2 (42 s)" in console.export_text()
