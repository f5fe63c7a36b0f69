"""Transcripts: every call's request and answer, through the real proxy and simulator."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time

import openai
import pytest

from baes.config.canonical import design_hash
from baes.config.models import ExperimentConfig
from baes.config.pricing import shipped_price
from baes.llm.proxy import MeteringProxy
from baes.llm.proxy.transcripts import reassemble
from baes.llm.transcript_file import append_transcript_line, gzip_member, read_transcript
from baes.records.transcript import (
    MAX_STRING_CHARS,
    TRANSCRIPT_FILE,
    TranscriptLine,
    TranscriptResponse,
)
from baes.simulator import SMALL_MODEL, SimulatorOptions, start_simulator

PRICES = {SMALL_MODEL: shipped_price(SMALL_MODEL)}
FAKE_KEY = "sk-proj-" + "A1b2C3d4" * 6


def _proxy(sim, record: bool = True) -> MeteringProxy:
    return MeteringProxy(
        sim.base_url, experiment_model=SMALL_MODEL, prices=PRICES, record_transcripts=record
    )


def test_transcript_keeps_requests_and_answers_streamed_or_not(tmp_path):
    ledger = tmp_path / "usage.jsonl"
    with start_simulator(SimulatorOptions(seed=5)) as sim, _proxy(sim) as proxy:
        base = proxy.open_attribution("run-1", "01-build", ledger)
        client = openai.OpenAI(base_url=base, api_key="framework-token", max_retries=0)
        plain = client.chat.completions.create(
            model="some-other-model",  # rewritten by the model policy: the transcript shows it
            messages=[{"role": "user", "content": f"my key is {FAKE_KEY}; write a function"}],
            max_tokens=30,
        )
        chunks = list(
            client.chat.completions.create(
                model=SMALL_MODEL,
                messages=[{"role": "user", "content": "stream please"}],
                max_tokens=30,
                stream=True,
            )
        )
        streamed_text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        events = list(
            client.responses.create(model=SMALL_MODEL, input="a responses stream", stream=True)
        )
        final = next(e for e in events if e.type == "response.completed").response
        proxy.close_attribution(base)
        base2 = proxy.open_attribution("run-1", "02-extend", ledger)
        client2 = openai.OpenAI(base_url=base2, api_key="framework-token", max_retries=0)
        client2.chat.completions.create(
            model=SMALL_MODEL, messages=[{"role": "user", "content": "step two"}], max_tokens=10
        )
        proxy.close_attribution(base2)

    transcript = read_transcript(tmp_path / TRANSCRIPT_FILE)
    assert transcript.damage is None
    lines = transcript.lines
    assert [(line.step, line.call) for line in lines] == [
        ("01-build", 1),
        ("01-build", 2),
        ("01-build", 3),
        ("02-extend", 1),
    ]
    first, second, third, _ = lines
    assert first.endpoint == "/v1/chat/completions"
    assert first.request["model"] == SMALL_MODEL
    sent = first.request["messages"][0]["content"]
    assert FAKE_KEY not in sent and "[redacted]" in sent
    assert first.response.body["choices"][0]["message"]["content"] == (
        plain.choices[0].message.content
    )
    assert first.response.usage.input_tokens == plain.usage.prompt_tokens
    assert first.response.status_code == 200 and not first.response.stream
    # The stream is reassembled into one chat.completion with the text the client read.
    assert second.response.stream
    assert second.response.body["object"] == "chat.completion"
    assert second.response.body["choices"][0]["message"]["content"] == streamed_text
    assert second.response.body["choices"][0]["finish_reason"] == "stop"
    assert second.response.usage is not None  # the proxy asked for usage in the stream
    assert third.endpoint == "/v1/responses"
    assert third.response.body["id"] == final.id
    assert third.response.body["output"][0]["content"][0]["text"] == final.output_text
    # Nothing of the headers, the framework's token or the key anywhere in the file.
    raw = gzip.decompress((tmp_path / TRANSCRIPT_FILE).read_bytes()).decode()
    assert FAKE_KEY not in raw and "framework-token" not in raw
    assert "authorization" not in raw.lower()


def test_record_transcripts_false_keeps_none(tmp_path):
    with start_simulator(SimulatorOptions(seed=5)) as sim, _proxy(sim, record=False) as proxy:
        base = proxy.open_attribution("run-1", "01-build", tmp_path / "usage.jsonl")
        client = openai.OpenAI(base_url=base, api_key="x", max_retries=0)
        client.chat.completions.create(
            model=SMALL_MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=5
        )
        proxy.close_attribution(base)
    assert not (tmp_path / TRANSCRIPT_FILE).exists()
    assert (tmp_path / "usage.jsonl").read_text().count("\n") == 1


def test_long_text_is_cut_with_a_marker(tmp_path):
    long_text = "x" * (MAX_STRING_CHARS + 5000)
    with start_simulator(SimulatorOptions(seed=5)) as sim, _proxy(sim) as proxy:
        base = proxy.open_attribution("run-1", "01-build", tmp_path / "usage.jsonl")
        client = openai.OpenAI(base_url=base, api_key="x", max_retries=0)
        client.chat.completions.create(
            model=SMALL_MODEL, messages=[{"role": "user", "content": long_text}], max_tokens=5
        )
        proxy.close_attribution(base)
    (line,) = read_transcript(tmp_path / TRANSCRIPT_FILE).lines
    assert line.truncated
    content = line.request["messages"][0]["content"]
    assert content.startswith("x" * MAX_STRING_CHARS)
    assert content.endswith("[baes: truncated, 5000 more characters]")


def test_streamed_tool_calls_are_joined():
    chunks = [
        {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": "call_1", "type": "function",
                 "function": {"name": "write_file", "arguments": ""}}]}}]},
        {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [
            {"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": '{"path": "a.py",'}}]}}]},
        {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [
            {"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": ' "text": "x"}'}},
                {"index": 1, "id": "call_2", "function": {"name": "run", "arguments": "{}"}}]}}]},
        {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [
            {"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [],
         "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}},
    ]  # fmt: skip
    answer = reassemble(chunks)
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["write_file", "run"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"path": "a.py", "text": "x"}
    assert calls[1]["id"] == "call_2"
    assert answer["usage"]["prompt_tokens"] == 9


def _line(call: int) -> TranscriptLine:
    return TranscriptLine(
        step="01-build",
        call=call,
        ts_start="2026-01-01T00:00:00Z",
        endpoint="/v1/chat/completions",
        request={"messages": [{"role": "user", "content": "hello " * 50}]},
        response=TranscriptResponse(
            status_code=200, stream=False, body={}, usage=None, latency_s=0.1, error=None
        ),
    )


def test_a_cut_off_last_call_leaves_the_earlier_ones_readable(tmp_path):
    path = tmp_path / TRANSCRIPT_FILE
    for call in (1, 2, 3):
        append_transcript_line(path, _line(call))
    member = gzip_member(_line(4).model_dump_json().encode() + b"\n")
    with path.open("ab") as handle:
        handle.write(member[: len(member) // 2])
    transcript = read_transcript(path)
    assert [line.call for line in transcript.lines] == [1, 2, 3]
    assert "cut off" in transcript.damage


_WRITER = """
import sys
from pathlib import Path
from tests.llm.test_proxy_transcripts import _line
from baes.llm.transcript_file import append_transcript_line
path = Path(sys.argv[1])
call = 0
while True:
    call += 1
    append_transcript_line(path, _line(call))
    if call == 20:
        print("ready", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")
def test_a_writer_killed_with_sigkill_leaves_a_readable_transcript(tmp_path):
    path = tmp_path / TRANSCRIPT_FILE
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert writer.stdout.readline().strip() == b"ready"
    time.sleep(0.05)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    transcript = read_transcript(path)
    calls = [line.call for line in transcript.lines]
    assert len(calls) >= 20
    assert calls == list(range(1, len(calls) + 1))


def _design(**extra) -> ExperimentConfig:
    return ExperimentConfig.model_validate(
        {
            "name": "t",
            "model": SMALL_MODEL,
            "frameworks": {"a": {"adapter": "builtin"}},
            "scenario": {"name": "s", "steps": [{"id": "one", "prompt": "p"}]},
            "pricing": {SMALL_MODEL: {"input": 1, "cached_input": 0.5, "output": 2}},
            **extra,
        }
    )


def test_record_transcripts_is_hashed_and_its_default_changes_no_hash():
    plain = _design()
    assert plain.record_transcripts is True
    assert design_hash(_design(record_transcripts=True)) == design_hash(plain)
    assert design_hash(_design(record_transcripts=False)) != design_hash(plain)


def test_a_refused_call_is_in_the_transcript_with_its_request(tmp_path):
    with (
        start_simulator(SimulatorOptions(seed=5)) as sim,
        MeteringProxy(
            sim.base_url,
            experiment_model=SMALL_MODEL,
            prices=PRICES,
            max_cost_usd=0.01,
            spent_usd=0.02,  # already over budget: the proxy refuses the call itself
            record_transcripts=True,
        ) as proxy,
    ):
        base = proxy.open_attribution("run-1", "01-build", tmp_path / "usage.jsonl")
        client = openai.OpenAI(base_url=base, api_key="x", max_retries=0)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model=SMALL_MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=5
            )
        proxy.close_attribution(base)
    (line,) = read_transcript(tmp_path / TRANSCRIPT_FILE).lines
    assert line.response.status_code == 429
    assert line.response.error.startswith("budget_exceeded")
    assert line.request["messages"] == [{"role": "user", "content": "hi"}]
    assert line.response.body is None
