"""`baes sim serve` prints its base URL first, serves until Ctrl-C, and exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import openai
import pytest
from typer.testing import CliRunner

from baes.cli.sim import app

LAUNCH = [sys.executable, "-c", "from baes.cli.sim import app; app()", "serve"]


def test_serve_prints_base_url_first_and_stops_cleanly_on_ctrl_c():
    process = subprocess.Popen(
        [*LAUNCH, "--port", "0", "--seed", "4", "--admin-key", "sk-admin-cli"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        client = openai.OpenAI(base_url=base_url, api_key="k", admin_api_key="sk-admin-cli")
        reply = client.chat.completions.create(
            model="sim-small", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.usage.total_tokens > 0
        usage = client.admin.organization.usage.completions(start_time=int(time.time()) - 60)
        assert sum(r.num_model_requests for b in usage.data for r in b.results) == 1
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_serve_prints_a_generated_admin_key():
    process = subprocess.Popen(
        [*LAUNCH, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().startswith("http://127.0.0.1:")
        assert process.stdout.readline().startswith("admin key: sk-admin-sim-")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize(
    "option",
    [
        ["--error-rate", "1.5"],
        ["--prompt-cache-scope", "organisation"],
        ["--prompt-cache-ttl-s", "0"],
    ],
)
def test_serve_rejects_bad_options_with_exit_code_2(option):
    result = CliRunner().invoke(app, ["serve", *option])
    assert result.exit_code == 2


def _serve_once(log, calls: int) -> int:
    """Start `baes sim serve --usage-log`, make `calls` calls, return the requests the usage API shows."""
    process = subprocess.Popen(
        [*LAUNCH, "--port", "0", "--admin-key", "sk-admin-log", "--usage-log", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        client = openai.OpenAI(base_url=base_url, api_key="k", admin_api_key="sk-admin-log")
        for _ in range(calls):
            client.chat.completions.create(
                model="sim-small", messages=[{"role": "user", "content": "hi"}]
            )
        usage = client.admin.organization.usage.completions(
            start_time=int(time.time()) - 120, end_time=int(time.time()) + 60
        )
        return sum(r.num_model_requests for b in usage.data for r in b.results)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_serve_with_a_usage_log_keeps_usage_across_restarts(tmp_path):
    log = tmp_path / "usage.jsonl"
    assert _serve_once(log, calls=2) == 2
    assert _serve_once(log, calls=1) == 3  # the second server read the first one's records
