"""The simulator speaks OpenAI's HTTP API: models, chat (plain and streamed), responses, errors."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from baes.simulator import SimulatorOptions, count_tokens, start_simulator

HELLO = "Create a Python module `greeting.py` with a function `greet(name)` that returns the string `Hello, <name>!`."


@pytest.fixture(scope="module")
def sim():
    with start_simulator(SimulatorOptions(seed=7)) as running:
        yield running


@pytest.fixture
def client(sim):
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-test-api")


def test_lists_both_model_sizes_and_the_embedding_model(client):
    assert [m.id for m in client.models.list()] == ["sim-small", "sim-large", "sim-embedding"]


def test_large_model_answers_at_greater_length_than_small(client):
    messages = [{"role": "user", "content": HELLO}]
    small = client.chat.completions.create(model="sim-small", messages=messages)
    large = client.chat.completions.create(model="sim-large", messages=messages)
    assert large.usage.completion_tokens > small.usage.completion_tokens


def test_stream_has_usage_chunk_only_when_asked(client):
    messages = [{"role": "user", "content": HELLO}]
    plain = client.chat.completions.create(model="sim-large", messages=messages)
    with_usage = list(
        client.chat.completions.create(
            model="sim-large",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    without = list(
        client.chat.completions.create(model="sim-large", messages=messages, stream=True)
    )

    assert all(c.object == "chat.completion.chunk" for c in with_usage + without)
    assert with_usage[-1].choices == [] and with_usage[-1].usage is not None
    assert all(c.usage is None for c in with_usage[:-1])
    assert all(c.usage is None and c.choices for c in without)
    for chunks in (with_usage, without):
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == plain.choices[0].message.content
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert with_usage[-1].usage.completion_tokens == plain.usage.completion_tokens


def test_stream_is_server_sent_events_ending_with_done(sim):
    body = {
        "model": "sim-small",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = httpx.post(
        sim.base_url + "/chat/completions", json=body, headers={"Authorization": "Bearer k"}
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = response.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    first = json.loads(events[0].removeprefix("data: "))
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert json.loads(events[-3].removeprefix("data: "))["usage"]["total_tokens"] > 0


def test_responses_api_has_responses_usage_shape(sim, client):
    reply = client.responses.create(
        model="sim-large", input=HELLO, instructions="You write Python."
    )
    assert reply.object == "response" and reply.status == "completed"
    assert reply.output[0].type == "message"
    assert reply.output[0].content[0].type == "output_text"
    assert "def greet(name)" in reply.output_text
    usage = reply.usage
    assert usage.input_tokens == count_tokens(HELLO) + count_tokens("You write Python.") + 9
    assert usage.output_tokens == count_tokens(reply.output_text)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    raw = httpx.post(
        sim.base_url + "/responses",
        json={"model": "sim-large", "input": "hi"},
        headers={"Authorization": "Bearer k"},
    ).json()
    assert "output_text" not in raw  # the SDKs compute it; the server never sends it


def test_responses_api_streams_text_deltas(client):
    with client.responses.stream(model="sim-small", input=HELLO) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text
    assert final.usage.output_tokens == count_tokens(final.output_text)


def test_max_tokens_truncates_with_finish_reason_length(client):
    reply = client.chat.completions.create(
        model="sim-large", messages=[{"role": "user", "content": HELLO}], max_completion_tokens=5
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 5


def test_missing_api_key_is_401_with_openai_error_body(sim):
    response = httpx.post(
        sim.base_url + "/chat/completions",
        json={"model": "sim-small", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_malformed_request_is_400_bad_request(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="sim-small", messages=[])
    assert caught.value.body["param"] == "messages"


def test_unknown_route_is_404_with_error_body(sim):
    response = httpx.get(sim.base_url + "/nope", headers={"Authorization": "Bearer k"})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"
