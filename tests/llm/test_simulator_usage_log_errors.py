"""A simulator usage log that cannot be written: refused at start by `sim serve`, and a call
that cannot be billed is answered with an OpenAI-shaped 500 that says why."""

from __future__ import annotations

import shutil

import httpx

from baes.llm.simulator import SMALL_MODEL, SimulatorOptions, start_simulator
from tests.conftest import run_baes


def test_sim_serve_refuses_a_usage_log_it_cannot_create_with_exit_1_and_one_line(tmp_path):
    (tmp_path / "a-file").write_text("not a folder\n")
    log = tmp_path / "a-file" / "usage.jsonl"

    # Before: the server started and answered every call with a plain "Internal Server Error".
    result = run_baes("sim", "serve", "--usage-log", str(log), timeout=30)

    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot append to the usage log") and str(log) in line


def test_a_call_that_cannot_be_billed_gets_an_openai_shaped_500_naming_the_log(tmp_path):
    folder = tmp_path / "usage"
    log = folder / "usage.jsonl"
    with start_simulator(SimulatorOptions(usage_log=log)) as sim:
        body = {"model": SMALL_MODEL, "messages": [{"role": "user", "content": "hi"}]}
        headers = {"authorization": "Bearer sk-test"}
        assert httpx.post(sim.base_url + "/chat/completions", json=body, headers=headers).is_success
        shutil.rmtree(folder)
        folder.write_text("the folder is gone, a file took its place\n")

        answer = httpx.post(sim.base_url + "/chat/completions", json=body, headers=headers)

    assert answer.status_code == 500
    error = answer.json()["error"]
    assert error["type"] == "server_error" and str(log) in error["message"]
