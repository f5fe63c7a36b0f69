"""`/v1/embeddings` and legacy `/v1/completions` on the simulator (issue 13, item 6), with the
official openai SDK over loopback, metered by the proxy and in the simulator's usage records."""

from __future__ import annotations

import time

import httpx
import numpy as np
import openai
import pytest

from baes.llm.ledger import read_ledger
from baes.llm.proxy import MeteringProxy
from baes.simulator import SimulatorOptions, count_tokens, start_simulator
from baes.simulator.api.embeddings import EMBEDDING_DIMENSIONS

TEXTS = ["The student API stores names and emails.", "Students have names and emails."]


@pytest.fixture(scope="module")
def sim():
    with start_simulator(SimulatorOptions(seed=5, admin_key="sk-admin-endpoints")) as running:
        yield running


@pytest.fixture
def client(sim):
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-endpoints", max_retries=0)


def _unit(vector) -> np.ndarray:
    return np.asarray(vector, dtype=float)


def test_embeddings_are_deterministic_unit_vectors_with_usage(client):
    # The SDK asks for base64 by default and decodes it; floats are asked for explicitly here.
    first = client.embeddings.create(model="sim-embedding", input=TEXTS)
    floats = client.embeddings.create(model="sim-embedding", input=TEXTS, encoding_format="float")
    assert [d.index for d in first.data] == [0, 1]
    a, b = (_unit(d.embedding) for d in first.data)
    assert a.shape == (EMBEDDING_DIMENSIONS,)
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    # base64 and float encodings carry the same float32 vector.
    assert np.allclose(a, _unit(floats.data[0].embedding), atol=1e-7)
    # Same text, same vector; shared words make texts closer than unrelated ones.
    again = client.embeddings.create(model="sim-embedding", input=TEXTS[0])
    assert np.array_equal(_unit(again.data[0].embedding), a)
    other = _unit(
        client.embeddings.create(model="sim-embedding", input="zebra quantum").data[0].embedding
    )
    assert float(a @ b) > float(a @ other) + 0.2
    tokens = sum(count_tokens(t) for t in TEXTS)
    assert (first.usage.prompt_tokens, first.usage.total_tokens) == (tokens, tokens)
    assert first.model == "sim-embedding"


def test_embeddings_dimensions_shorten_and_renormalise(client):
    full = _unit(client.embeddings.create(model="sim-embedding", input=TEXTS[0]).data[0].embedding)
    short = client.embeddings.create(model="sim-embedding", input=TEXTS[0], dimensions=64)
    vector = _unit(short.data[0].embedding)
    assert vector.shape == (64,)
    assert np.allclose(vector, full[:64] / np.linalg.norm(full[:64]), atol=1e-6)
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(
            model="sim-embedding", input="x", dimensions=EMBEDDING_DIMENSIONS + 1
        )
    assert "dimensions" in str(caught.value)


def test_embeddings_refuse_generation_models_and_bad_input(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert "sim-embedding" in str(caught.value) and caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="sim-small", input="hi")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="sim-embedding", input="")


def test_legacy_completions_answer_text_and_default_to_16_tokens(client):
    prompt = "Write `add(a, b)` in `calc.py` that returns the sum of `a` and `b`."
    short = client.completions.create(model="sim-small", prompt=prompt)
    choice = short.choices[0]
    assert short.object == "text_completion" and choice.finish_reason == "length"
    assert short.usage.completion_tokens == 16 == count_tokens(choice.text)
    assert short.usage.prompt_tokens == count_tokens(prompt)  # a bare prompt: no chat framing
    whole = client.completions.create(model="sim-small", prompt=prompt, max_tokens=500)
    assert whole.choices[0].finish_reason == "stop" and "def add(a, b)" in whole.choices[0].text
    assert whole.choices[0].text.startswith(choice.text)
    echoed = client.completions.create(model="sim-small", prompt=prompt, max_tokens=500, echo=True)
    assert echoed.choices[0].text == prompt + whole.choices[0].text


def test_legacy_completions_stream_with_usage(client):
    prompt = "Write `add(a, b)` in `calc.py` that returns the sum of `a` and `b`."
    whole = client.completions.create(model="sim-large", prompt=prompt, max_tokens=300)
    chunks = list(
        client.completions.create(
            model="sim-large",
            prompt=prompt,
            max_tokens=300,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == whole.choices[0].text
    assert (
        chunks[-1].choices == []
        and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    )
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="davinci-002", prompt="hi")


def test_both_endpoints_are_metered_by_the_proxy_and_recorded_by_the_simulator(tmp_path):
    start = int(time.time()) - 60
    with (
        start_simulator(SimulatorOptions(seed=2, admin_key="sk-admin-meter")) as sim,
        MeteringProxy(sim.base_url, experiment_model="sim-small") as proxy,
    ):
        ledger = tmp_path / "usage.jsonl"
        base_url = proxy.open_attribution("run", "step", ledger)
        client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
        embedded = client.embeddings.create(model="sim-embedding", input=TEXTS)
        completed = client.completions.create(model="sim-small", prompt="Say hello", max_tokens=40)
        # A stream that did not ask for usage: the proxy asks for it, meters it, hides it.
        chunks = list(
            client.completions.create(
                model="sim-small", prompt="Say hi", max_tokens=40, stream=True
            )
        )
        proxy.close_attribution(base_url)
        usage = {
            kind: httpx.get(
                f"{sim.base_url}/organization/usage/{kind}",
                params={"start_time": start, "group_by": "model"},
                headers={"Authorization": f"Bearer {sim.admin_key}"},
            ).json()
            for kind in ("embeddings", "completions")
        }
        calls = sim.simulator.calls

    embedding_line, completion_line, stream_line = read_ledger(ledger)
    assert all(c.usage is None for c in chunks) and chunks[-1].choices[0].finish_reason
    streamed_text = "".join(c.choices[0].text for c in chunks)
    assert stream_line.stream and stream_line.usage_reported
    assert stream_line.output_tokens == count_tokens(streamed_text) == calls[2].output_tokens
    assert embedding_line.endpoint == "/v1/embeddings"
    assert (embedding_line.input_tokens, embedding_line.output_tokens) == (
        embedded.usage.prompt_tokens,
        0,
    )
    assert embedding_line.usage_reported and embedding_line.model_served == "sim-embedding"
    assert completion_line.endpoint == "/v1/completions"
    assert (completion_line.input_tokens, completion_line.output_tokens) == (
        completed.usage.prompt_tokens,
        completed.usage.completion_tokens,
    )
    # The provider's side: both recorded, each in its own usage endpoint (as OpenAI splits them).
    assert [(c.endpoint, c.input_tokens, c.output_tokens) for c in calls[:2]] == [
        ("/v1/embeddings", embedded.usage.prompt_tokens, 0),
        ("/v1/completions", completed.usage.prompt_tokens, completed.usage.completion_tokens),
    ]
    [embedding_result] = [r for b in usage["embeddings"]["data"] for r in b["results"]]
    assert embedding_result["object"] == "organization.usage.embeddings.result"
    assert (embedding_result["model"], embedding_result["input_tokens"]) == (
        "sim-embedding",
        embedded.usage.prompt_tokens,
    )
    [completion_result] = [r for b in usage["completions"]["data"] for r in b["results"]]
    assert (completion_result["model"], completion_result["num_model_requests"]) == ("sim-small", 2)
    assert completion_result["output_tokens"] == (
        completed.usage.completion_tokens + stream_line.output_tokens
    )
