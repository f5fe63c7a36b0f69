"""The metering proxy over real loopback HTTP, with the official openai SDK as the client.

These tests use a scriptable fake upstream (test_proxy_upstream_fake.py) for the cases the
simulator cannot produce; test_proxy_simulator.py runs the end-to-end ones against the simulator.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

from baes.config.models import ModelPrice
from baes.llm.ledger import read_ledger
from baes.llm.loopback_server import LoopbackServer
from baes.llm.proxy import InvalidUpstreamError, MeteringProxy, MissingApiKeyError
from baes.llm.proxy.errors import ProxyConfigError
from tests.llm.test_proxy_upstream_fake import (
    CACHED_TOKENS,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    REASONING_TOKENS,
    WORDS,
    FakeUpstream,
)

REAL_KEY = "sk-real-secret-key-0123456789abcdef"
MODEL = "exp-model"
PRICES = {MODEL: ModelPrice(input=1000.0, cached_input=100.0, output=2000.0)}
LEDGER_FIELDS = [
    "schema_version",
    "ts_start",
    "ts_end",
    "run_id",
    "step",
    "endpoint",
    "model_requested",
    "model_served",
    "status_code",
    "stream",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "latency_s",
    "usage_reported",
    "error",
]


# Servers are shared by the module (starting and stopping uvicorn costs ~0.2 s each); every test
# gets a reset upstream and its own attributions and ledgers.
@pytest.fixture(scope="module")
def shared_fake():
    with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
def fake(shared_fake):
    shared_fake.reset()
    return shared_fake


@pytest.fixture(scope="module")
def real_key():
    os.environ["BAES_TEST_REAL_KEY"] = REAL_KEY
    yield "BAES_TEST_REAL_KEY"
    del os.environ["BAES_TEST_REAL_KEY"]


@pytest.fixture(scope="module")
def proxy(shared_fake, real_key):
    with MeteringProxy(
        shared_fake.base_url, api_key_env=real_key, experiment_model=MODEL, prices=PRICES
    ) as running:
        yield running


def sdk(base_url: str, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="framework-token", max_retries=max_retries)


def chat(client: openai.OpenAI, model: str = MODEL, **kwargs):
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], **kwargs
    )


def test_non_streaming_call_is_forwarded_and_recorded_with_exact_fields(fake, proxy, tmp_path):
    ledger = tmp_path / "run" / "usage.jsonl"
    base_url = proxy.open_attribution("run-1", "01-setup", ledger)
    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")

    answer = chat(sdk(base_url))

    assert answer.choices[0].message.content == "".join(WORDS)
    line = json.loads(ledger.read_text().splitlines()[0])
    assert list(line) == LEDGER_FIELDS
    assert line["run_id"] == "run-1" and line["step"] == "01-setup"
    assert line["endpoint"] == "/v1/chat/completions"
    assert (line["model_requested"], line["model_served"]) == (MODEL, MODEL)
    assert (line["status_code"], line["stream"], line["usage_reported"]) == (200, False, True)
    assert line["input_tokens"] == answer.usage.prompt_tokens == INPUT_TOKENS
    assert line["output_tokens"] == answer.usage.completion_tokens == OUTPUT_TOKENS
    assert line["cached_tokens"] == CACHED_TOKENS and line["reasoning_tokens"] == REASONING_TOKENS
    assert line["error"] is None and 0 < line["latency_s"] < 5
    assert line["ts_start"].endswith("Z") and len(line["ts_start"]) == len(
        "2026-01-01T00:00:00.000000Z"
    )
    assert line["ts_start"] <= line["ts_end"]


def test_the_real_key_replaces_the_framework_token_and_never_leaks(fake, proxy, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    ledger = tmp_path / "usage.jsonl"
    base_url = proxy.open_attribution("run-1", "s", ledger)
    chat(sdk(base_url))
    fake.fail_next(401)
    with pytest.raises(openai.AuthenticationError):
        chat(sdk(base_url))
    proxy.close_attribution(base_url)

    assert fake.received[0]["headers"]["authorization"] == f"Bearer {REAL_KEY}"
    assert "framework-token" not in json.dumps(fake.received)
    assert REAL_KEY not in ledger.read_text()
    assert REAL_KEY not in caplog.text
    assert REAL_KEY not in repr(proxy)


def test_without_api_key_env_the_client_authorization_passes_through(fake, tmp_path):
    with MeteringProxy(fake.base_url) as proxy:
        chat(sdk(proxy.open_attribution("r", "s", tmp_path / "u.jsonl")))
    assert fake.received[0]["headers"]["authorization"] == "Bearer framework-token"


def test_stream_passes_chunks_and_hides_the_usage_chunk_the_client_did_not_ask_for(
    fake, proxy, tmp_path
):
    ledger = tmp_path / "usage.jsonl"
    chunks = list(chat(sdk(proxy.open_attribution("r", "s", ledger)), stream=True))

    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "".join(WORDS)
    assert all(c.choices for c in chunks)  # no usage-only chunk reached the client
    assert fake.received[0]["json"]["stream_options"] == {"include_usage": True}
    [line] = read_ledger(ledger)
    assert line.stream and line.usage_reported
    assert (line.input_tokens, line.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)


def test_stream_keeps_the_usage_chunk_when_the_client_asked(fake, proxy, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    base_url = proxy.open_attribution("r", "s", ledger)
    chunks = list(chat(sdk(base_url), stream=True, stream_options={"include_usage": True}))

    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == INPUT_TOKENS
    assert read_ledger(ledger)[0].output_tokens == OUTPUT_TOKENS


def test_stream_chunks_reach_the_client_before_the_upstream_finishes(fake, proxy, tmp_path):
    fake.stream_delay_s = 0.2  # five words: the upstream needs >= 1 s for the whole answer
    base_url = proxy.open_attribution("r", "s", tmp_path / "usage.jsonl")
    started = time.perf_counter()
    arrivals = []
    for _chunk in chat(sdk(base_url), stream=True):
        arrivals.append(time.perf_counter() - started)

    # Relative to the last chunk, so a slow start on a busy machine cannot fail the test: the
    # role chunk (sent before the first sleep) and the first word each come >= 0.6 s earlier.
    assert arrivals[-1] - arrivals[0] >= 0.9
    assert arrivals[1] <= arrivals[-1] - 0.6


def test_responses_api_usage_is_read_from_body_and_completed_event(fake, proxy, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    client = sdk(proxy.open_attribution("r", "s", ledger))
    answer = client.responses.create(model=MODEL, input="hi")
    events = list(client.responses.create(model=MODEL, input="hi", stream=True))

    assert answer.output_text == "".join(WORDS)
    assert events[-1].type == "response.completed"
    plain, streamed = read_ledger(ledger)
    for line in (plain, streamed):
        assert line.endpoint == "/v1/responses" and line.model_served == MODEL
        assert (line.input_tokens, line.cached_tokens) == (INPUT_TOKENS, CACHED_TOKENS)
        assert (line.output_tokens, line.reasoning_tokens) == (OUTPUT_TOKENS, REASONING_TOKENS)
    assert (plain.stream, streamed.stream) == (False, True)
    assert "stream_options" not in fake.received[1]["json"]


def test_completions_and_embeddings_usage_is_recorded(fake, proxy, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    client = sdk(proxy.open_attribution("r", "s", ledger))
    client.completions.create(model=MODEL, prompt="hi")
    client.embeddings.create(model="text-embedding-3-small", input="hi")

    completion, embedding = read_ledger(ledger)
    assert completion.endpoint == "/v1/completions" and completion.input_tokens == INPUT_TOKENS
    assert completion.cached_tokens is None  # not reported by this endpoint: unknown, not 0
    assert embedding.endpoint == "/v1/embeddings"
    assert (embedding.input_tokens, embedding.output_tokens) == (8, 0)
    # Parity applies to generation only: the embeddings model is not the experiment's model.
    assert fake.received[1]["json"]["model"] == "text-embedding-3-small"


def test_a_response_without_usage_is_recorded_as_unreported_not_as_zero(fake, proxy, tmp_path):
    fake.omit_usage = True
    ledger = tmp_path / "usage.jsonl"
    client = sdk(proxy.open_attribution("r", "s", ledger))
    chat(client)
    list(chat(client, stream=True))

    for line in read_ledger(ledger):
        assert line.status_code == 200 and line.usage_reported is False
        assert line.input_tokens is None and line.output_tokens is None
        assert line.cached_tokens is None and line.reasoning_tokens is None


def test_other_paths_are_forwarded_with_their_query_string(fake, proxy, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    base_url = proxy.open_attribution("r", "s", ledger)
    models = httpx.get(base_url + "/models?limit=5&after=x")

    assert models.status_code == 200 and models.json()["data"][0]["id"] == "fake-model"
    assert (
        fake.received[0]["path"] == "/v1/models" and fake.received[0]["query"] == "limit=5&after=x"
    )
    [line] = read_ledger(ledger)
    assert line.endpoint == "/v1/models" and line.usage_reported is False


def test_parity_rewrite_serves_the_experiment_model(fake, proxy, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    answer = chat(sdk(proxy.open_attribution("r", "s", ledger)), model="gpt-4o")

    assert fake.received[0]["json"]["model"] == MODEL
    assert answer.model == MODEL
    [line] = read_ledger(ledger)
    assert (line.model_requested, line.model_served) == ("gpt-4o", MODEL)


def test_parity_reject_refuses_another_model_and_records_it(fake, real_key, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    with MeteringProxy(
        fake.base_url, api_key_env=real_key, experiment_model=MODEL, model_policy="reject"
    ) as proxy:
        client = sdk(proxy.open_attribution("r", "s", ledger))
        with pytest.raises(openai.BadRequestError) as refused:
            chat(client, model="gpt-4o")
        chat(client)

    assert "gpt-4o" in refused.value.message and MODEL in refused.value.message
    assert refused.value.code == "model_not_allowed"
    assert [r["json"]["model"] for r in fake.received] == [MODEL]
    rejected, served = read_ledger(ledger)
    assert (rejected.status_code, rejected.model_requested) == (400, "gpt-4o")
    assert rejected.error.startswith("model_rejected") and not rejected.usage_reported
    assert served.status_code == 200


def test_parity_record_forwards_the_asked_model_unchanged(fake, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    with MeteringProxy(fake.base_url, experiment_model=MODEL, model_policy="record") as proxy:
        chat(sdk(proxy.open_attribution("r", "s", ledger)), model="gpt-4o")
    assert fake.received[0]["json"]["model"] == "gpt-4o"
    [line] = read_ledger(ledger)
    assert (line.model_requested, line.model_served) == ("gpt-4o", "gpt-4o")


def test_calls_past_the_budget_get_429_budget_exceeded_and_are_recorded(fake, real_key, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    # One call costs (17*1000 + 4*100 + 3*2000) / 1e6 = $0.0234, well above the budget.
    with MeteringProxy(
        fake.base_url,
        api_key_env=real_key,
        experiment_model=MODEL,
        prices=PRICES,
        max_cost_usd=0.01,
    ) as proxy:
        client = sdk(proxy.open_attribution("r", "s", ledger), max_retries=2)
        chat(client)
        assert proxy.spent_usd == pytest.approx(0.0234)
        with pytest.raises(openai.RateLimitError) as refused:
            chat(client)

    assert refused.value.code == "budget_exceeded"
    assert refused.value.body["type"] == "budget_exceeded"
    assert refused.value.body["message"].startswith(
        "experiment budget of $0.01 reached ($0.02 spent)"
    )
    assert len(fake.received) == 1  # refused locally, and the SDK was told not to retry
    served, refusal = read_ledger(ledger)
    assert served.status_code == 200
    assert refusal.status_code == 429 and refusal.error.startswith("budget_exceeded")


def test_an_initial_spend_at_the_budget_refuses_the_first_call(fake, tmp_path):
    with MeteringProxy(
        fake.base_url, experiment_model=MODEL, prices=PRICES, max_cost_usd=5.0, spent_usd=5.0
    ) as proxy:
        with pytest.raises(openai.RateLimitError):
            chat(sdk(proxy.open_attribution("r", "s", tmp_path / "u.jsonl")))
    assert fake.received == []


def test_unknown_and_closed_tokens_get_401(fake, proxy, tmp_path):
    base_url = proxy.open_attribution("r", "s", tmp_path / "u.jsonl")
    guessed = base_url.rsplit("/t/", 1)[0] + "/t/guessed-token/v1"
    with pytest.raises(openai.AuthenticationError) as unknown:
        chat(sdk(guessed))
    assert unknown.value.code == "invalid_attribution_token"

    closed = proxy.close_attribution(base_url)
    assert closed.calls_recorded == 0
    with pytest.raises(openai.AuthenticationError):
        chat(sdk(base_url))
    assert fake.received == []


def test_upstream_errors_pass_through_unchanged_and_are_recorded(fake, proxy, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    fake.fail_next(500)
    with pytest.raises(openai.InternalServerError) as failed:
        chat(sdk(proxy.open_attribution("r", "s", ledger)))

    assert failed.value.status_code == 500 and failed.value.message.endswith("scripted 500")
    [line] = read_ledger(ledger)
    assert line.status_code == 500 and line.error == "HTTP 500 server_error: scripted 500"
    assert line.usage_reported is False


def test_the_sdk_retries_a_429_and_the_ledger_shows_both_calls(fake, proxy, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    fake.fail_next(429, headers={"retry-after-ms": "10"})
    answer = chat(sdk(proxy.open_attribution("r", "s", ledger), max_retries=2))

    assert answer.usage.prompt_tokens == INPUT_TOKENS
    assert [line.status_code for line in read_ledger(ledger)] == [429, 200]


def test_refused_upstream_connection_gives_502_and_is_recorded(real_key, tmp_path):
    with LoopbackServer(lambda scope, receive, send: None) as gone:
        dead_url = gone.url + "/v1"
    ledger = tmp_path / "usage.jsonl"
    with MeteringProxy(dead_url, api_key_env=real_key) as proxy:
        with pytest.raises(openai.InternalServerError) as failed:
            chat(sdk(proxy.open_attribution("r", "s", ledger)))

    assert failed.value.status_code == 502 and failed.value.code == "upstream_unreachable"
    [line] = read_ledger(ledger)
    assert line.status_code == 502 and line.error.startswith("upstream unreachable: ConnectError")
    assert REAL_KEY not in ledger.read_text()


def test_upstream_timeout_gives_504_and_is_recorded(fake, tmp_path):
    fake.answer_delay_s = 1.0
    ledger = tmp_path / "usage.jsonl"
    with MeteringProxy(fake.base_url, read_timeout_s=0.2) as proxy:
        with pytest.raises(openai.InternalServerError) as failed:
            chat(sdk(proxy.open_attribution("r", "s", ledger)))

    assert failed.value.status_code == 504 and failed.value.code == "upstream_timeout"
    [line] = read_ledger(ledger)
    assert line.status_code == 504 and line.error == "upstream timeout: ReadTimeout"


def test_a_client_hanging_up_mid_stream_is_still_recorded(fake, proxy, tmp_path):
    fake.stream_delay_s = 0.2
    ledger = tmp_path / "usage.jsonl"
    base_url = proxy.open_attribution("r", "s", ledger)
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", base_url + "/chat/completions", json=body) as response:
        next(response.iter_bytes())
    proxy.close_attribution(base_url, wait_s=5)

    [line] = read_ledger(ledger)
    assert line.status_code == 200 and line.stream
    assert line.error == "client disconnected before the stream ended"
    assert line.usage_reported is False


def test_concurrent_calls_from_many_threads_are_each_recorded_once(fake, proxy, tmp_path):
    urls = [
        proxy.open_attribution(f"run-{i}", f"step-{i}", tmp_path / "usage.jsonl") for i in range(4)
    ]

    def work(url: str) -> None:
        client = sdk(url)
        for _ in range(10):
            chat(client)

    threads = [threading.Thread(target=work, args=(url,)) for url in urls * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for url in urls:
        assert proxy.close_attribution(url).calls_recorded == 20

    entries = read_ledger(tmp_path / "usage.jsonl")
    assert len(entries) == 80 and not entries.damaged
    assert {(e.run_id, e.step) for e in entries} == {(f"run-{i}", f"step-{i}") for i in range(4)}


def test_bad_settings_are_refused_with_typed_errors(fake, monkeypatch):
    with pytest.raises(InvalidUpstreamError):
        MeteringProxy("ftp://example.com/v1")
    with pytest.raises(ProxyConfigError):
        MeteringProxy(fake.base_url, experiment_model="unpriced", max_cost_usd=1.0, prices=PRICES)
    monkeypatch.delenv("BAES_TEST_UNSET_KEY", raising=False)
    with pytest.raises(MissingApiKeyError) as missing:
        MeteringProxy(fake.base_url, api_key_env="BAES_TEST_UNSET_KEY").start()
    assert "BAES_TEST_UNSET_KEY" in missing.value.message
    assert missing.value.exit_code == 2


def test_close_attribution_accepts_the_token_and_fsyncs(fake, proxy, tmp_path: Path):
    base_url = proxy.open_attribution("r", "s", tmp_path / "usage.jsonl")
    chat(sdk(base_url))
    token = base_url.split("/t/")[1].split("/")[0]
    closed = proxy.close_attribution(token)
    assert (closed.run_id, closed.step, closed.calls_recorded) == ("r", "s", 1)
    assert closed.unfinished_calls == 0
