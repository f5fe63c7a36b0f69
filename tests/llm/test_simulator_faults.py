"""Injected 500s and 429s are seeded and retryable; latency never blocks other calls."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from baes.simulator import SimulatorOptions, SimulatorOptionsError, start_simulator

MESSAGES = [{"role": "user", "content": "hello"}]


def test_rate_limited_call_succeeds_on_the_sdk_retry():
    with start_simulator(SimulatorOptions(rate_limit_rate=1.0)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k")  # default max_retries=2
        started = time.monotonic()
        reply = client.chat.completions.create(model="sim-small", messages=MESSAGES)
        assert reply.choices[0].message.content
        assert time.monotonic() - started < 2  # Retry-After is short
        assert [f.status_code for f in sim.simulator.faults] == [429]
        assert len(sim.simulator.calls) == 1


def test_rate_limit_response_carries_retry_after_and_openai_error():
    with start_simulator(SimulatorOptions(rate_limit_rate=1.0)) as sim:
        response = httpx.post(
            sim.base_url + "/chat/completions",
            headers={"Authorization": "Bearer k"},
            json={"model": "sim-small", "messages": MESSAGES},
        )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) <= 1
    assert int(response.headers["retry-after-ms"]) <= 1000
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_error_rate_one_surfaces_as_internal_server_error():
    with start_simulator(SimulatorOptions(error_rate=1.0)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="sim-small", messages=MESSAGES)
        assert caught.value.status_code == 500
        assert caught.value.body["type"] == "server_error"
        assert sim.simulator.calls == []


def _statuses(seed: int) -> list[int]:
    with start_simulator(SimulatorOptions(seed=seed, error_rate=0.5)) as sim:
        with httpx.Client(headers={"Authorization": "Bearer k"}) as http:
            return [
                http.post(
                    sim.base_url + "/chat/completions",
                    json={"model": "sim-small", "messages": MESSAGES},
                ).status_code
                for _ in range(12)
            ]


def test_fault_sequence_is_fixed_by_seed_and_call_number():
    assert _statuses(seed=3) == _statuses(seed=3)
    assert {200, 500} <= set(_statuses(seed=3))


def test_latency_is_applied_without_blocking_other_calls():
    with start_simulator(SimulatorOptions(latency_ms=300)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k")
        started = time.monotonic()
        with ThreadPoolExecutor(6) as pool:
            replies = list(
                pool.map(
                    lambda i: client.chat.completions.create(
                        model="sim-small", messages=[{"role": "user", "content": f"call {i}"}]
                    ),
                    range(6),
                )
            )
        elapsed = time.monotonic() - started
    assert len(replies) == 6
    assert 0.3 <= elapsed < 1.2  # six 300 ms calls overlapped on the event loop


def test_options_reject_impossible_rates():
    with pytest.raises(SimulatorOptionsError):
        SimulatorOptions(error_rate=0.7, rate_limit_rate=0.5)
    with pytest.raises(SimulatorOptionsError):
        SimulatorOptions(latency_ms=-1)
