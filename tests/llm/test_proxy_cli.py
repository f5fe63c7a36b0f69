"""`baes proxy serve` as a user runs it: a foreground process printing its base URL first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import openai

from baes.llm.ledger import read_ledger
from baes.simulator import SMALL_MODEL, SimulatorOptions, start_simulator

SERVE = [sys.executable, "-c", "from baes.cli.proxy import app; app()", "serve"]


def first_line(process: subprocess.Popen[str], timeout_s: float = 20.0) -> str:
    """The first stdout line, or fail (with stderr) instead of hanging the test run."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not lines or not lines[0]:
        process.kill()
        raise AssertionError(f"no base URL printed; stderr: {process.stderr.read()}")
    return lines[0].strip()


def test_serve_prints_the_base_url_first_meters_calls_and_exits_0_on_ctrl_c(tmp_path):
    ledger = tmp_path / "usage.jsonl"
    with start_simulator(SimulatorOptions(seed=2)) as sim:
        process = subprocess.Popen(
            [
                *SERVE,
                "--upstream",
                sim.base_url,
                "--ledger",
                str(ledger),
                "--run-id",
                "by-hand",
                "--step",
                "try-1",
                "--api-key-env",
                "BAES_TEST_CLI_KEY",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "BAES_TEST_CLI_KEY": "sk-cli-real-key"},
        )
        try:
            base_url = first_line(process)
            assert base_url.startswith("http://127.0.0.1:") and "/t/" in base_url
            assert base_url.endswith("/v1")
            client = openai.OpenAI(base_url=base_url, api_key="framework-token", max_retries=0)
            answer = client.chat.completions.create(
                model=SMALL_MODEL, messages=[{"role": "user", "content": "hello"}], max_tokens=20
            )
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=20)

    assert process.returncode == 0, stderr
    [line] = read_ledger(ledger)
    assert (line.run_id, line.step, line.status_code) == ("by-hand", "try-1", 200)
    assert line.input_tokens == answer.usage.prompt_tokens
    assert "sk-cli-real-key" not in ledger.read_text() + stderr


def test_serve_keeps_a_transcript_beside_the_ledger_only_when_asked(tmp_path):
    from baes.llm.transcript_file import read_transcript

    for flags, kept in (([], False), (["--transcript"], True)):
        ledger = tmp_path / str(kept) / "usage.jsonl"
        with start_simulator(SimulatorOptions(seed=2)) as sim:
            process = subprocess.Popen(
                [*SERVE, "--upstream", sim.base_url, "--ledger", str(ledger), *flags],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                client = openai.OpenAI(base_url=first_line(process), api_key="t", max_retries=0)
                client.chat.completions.create(
                    model=SMALL_MODEL, messages=[{"role": "user", "content": "hello there"}]
                )
            finally:
                process.send_signal(signal.SIGINT)
                _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr
        transcript = ledger.parent / "transcript.jsonl.gz"
        assert transcript.exists() == kept
        if kept:
            [call] = read_transcript(transcript).lines
            assert call.request["messages"][0]["content"] == "hello there"


def test_serve_refuses_a_non_http_upstream_with_exit_2_and_one_line(tmp_path):
    result = subprocess.run(
        [*SERVE, "--upstream", "ftp://example.com/v1", "--ledger", str(tmp_path / "u.jsonl")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "http(s)" in result.stderr and "ftp://example.com/v1" in result.stderr
