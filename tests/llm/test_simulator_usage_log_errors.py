"""A simulator usage log that cannot be written: refused at start by `sim serve`, and a call
that cannot be billed is answered with an OpenAI-shaped 500 that says why."""

from __future__ import annotations

import shutil

import httpx
import openai
import pytest

from baes.simulator import SMALL_MODEL, SimulatorOptions, start_simulator
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


def _unbillable(tmp_path):
    """A simulator whose usage log's folder is then replaced by a file."""
    folder = tmp_path / "usage"
    sim = start_simulator(SimulatorOptions(usage_log=folder / "usage.jsonl"))
    folder.write_text("a file where the log's folder should be\n")
    return sim, folder / "usage.jsonl"


def test_a_chat_stream_that_cannot_be_billed_ends_with_an_error_naming_the_log(tmp_path):
    sim, log = _unbillable(tmp_path)
    with sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
        # Before: the stream broke off (the server logged a traceback), with no reason given.
        with pytest.raises(openai.APIError) as failure:
            for _ in client.chat.completions.create(
                model=SMALL_MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
            ):
                pass

    assert str(log) in str(failure.value)


def test_a_responses_stream_that_cannot_be_billed_ends_with_an_error_event(tmp_path):
    sim, log = _unbillable(tmp_path)
    with sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
        events = list(client.responses.create(model=SMALL_MODEL, input="hi", stream=True))

    assert events[-1].type == "error" and str(log) in events[-1].message
    assert events[-1].code == "server_error"
