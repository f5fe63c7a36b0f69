"""The usage-API client against the simulator over loopback (and a scripted edge for OpenAI-only
behaviour): pagination, retries within a deadline, typed failures, never numbers on failure."""

from __future__ import annotations

import httpx
import openai
import pytest

from baes.reconcile.quantities import Quantities
from baes.reconcile.usage_client import UsageApiError, UsageClient
from baes.simulator import Simulator, SimulatorOptions, api_key_id
from baes.simulator.api.running import RunningSimulator

ADMIN = "sk-admin-client-test-0123456789"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _call(sim: RunningSimulator, key: str = "sk-user") -> None:
    client = openai.OpenAI(base_url=sim.base_url, api_key=key, max_retries=0)
    client.chat.completions.create(model="sim-small", messages=[{"role": "user", "content": "hi"}])


def test_a_window_longer_than_a_page_is_read_page_by_page():
    clock = Clock(T0)
    with RunningSimulator(Simulator(SimulatorOptions(admin_key=ADMIN), clock=clock)).start() as sim:
        for minute in (0, 7, 19, 33, 34):
            clock.now = T0 + minute * 60 + 5
            _call(sim)
        clock.now = T0 + 3600
        client = UsageClient(sim.base_url, ADMIN, page_limit=10)
        report = client.completions(T0, T0 + 35 * 60, group_by=("model", "api_key_id"))
    assert report.pages == 4  # 35 one-minute buckets, 10 per page
    assert [b.start for b in report.buckets] == [T0 + m * 60 for m in (0, 7, 19, 33, 34)]
    assert {(b.model, b.api_key_id) for b in report.buckets} == {
        ("sim-small", api_key_id("sk-user"))
    }
    assert all(b.quantities.requests == 1 for b in report.buckets)


def test_server_errors_are_retried_then_reported_as_a_failure_not_as_zeros():
    # With seed 1 the first usage request draws a 500, the second gets through.
    options = SimulatorOptions(admin_key=ADMIN, seed=1, usage_error_rate=0.5)
    with RunningSimulator(Simulator(options)).start() as sim:
        _call(sim)
        now = int(sim.simulator.calls[0].timestamp) // 60 * 60
        sleeps: list[float] = []
        client = UsageClient(sim.base_url, ADMIN, deadline_s=30, sleep=sleeps.append)
        report = client.completions(now, now + 60)
        assert report.buckets[0].quantities.requests == 1
        assert report.attempts == 2 and sleeps == [0.5]  # the first backoff

    always = SimulatorOptions(admin_key=ADMIN, usage_error_rate=1.0)
    with RunningSimulator(Simulator(always)).start() as sim:
        # No real sleeping: it retries until the next backoff (0.5, 1, 2, 4, 8 s) would pass the
        # deadline, so it retries even when each request is slow on a busy machine.
        client = UsageClient(sim.base_url, ADMIN, deadline_s=5, sleep=lambda _: None)
        with pytest.raises(UsageApiError) as failure:
            client.completions(T0, T0 + 60)
    error = failure.value
    assert error.kind == "provider-failing" and not error.permanent and error.attempts >= 2
    assert "HTTP 500" in error.message and "kept failing" in error.message


def test_a_refused_admin_key_is_permanent_and_never_shown():
    with RunningSimulator(Simulator(SimulatorOptions(admin_key=ADMIN))).start() as sim:
        with pytest.raises(UsageApiError) as refused:
            UsageClient(sim.base_url, "sk-user-not-admin-abcdef").completions(T0, T0 + 60)
        with pytest.raises(UsageApiError) as missing:
            UsageClient(sim.base_url + "/nothing-here", ADMIN).completions(T0, T0 + 60)
    assert refused.value.kind == "admin-key-refused" and refused.value.permanent
    assert "sk-user-not-admin-abcdef" not in refused.value.message + str(refused.value.hint)
    assert missing.value.kind == "no-usage-api" and "HTTP 404" in missing.value.message


def test_an_unreachable_provider_fails_within_the_deadline():
    with RunningSimulator(Simulator()).start() as sim:
        url = sim.base_url
    with pytest.raises(UsageApiError) as failure:
        UsageClient(url, ADMIN, deadline_s=0.4, timeout_s=0.2).completions(T0, T0 + 60)
    assert failure.value.kind == "provider-failing" and "cannot reach" in failure.value.message


def _scripted(*responses: httpx.Response) -> httpx.MockTransport:
    """A remote provider's edge answering the given responses in order."""
    queue = list(responses)
    return httpx.MockTransport(lambda request: queue.pop(0))


def test_retry_after_is_honoured_and_a_malformed_page_is_a_failure():
    page = {
        "object": "page",
        "data": [
            {
                "start_time": T0,
                "end_time": T0 + 60,
                "results": [
                    {
                        "num_model_requests": 2,
                        "input_tokens": 10,
                        "input_cached_tokens": 0,
                        "output_tokens": 4,
                        "model": "gpt-x",
                    }
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    sleeps: list[float] = []
    transport = _scripted(
        httpx.Response(
            429, headers={"retry-after-ms": "1500"}, json={"error": {"message": "slow"}}
        ),
        httpx.Response(200, json=page),
    )
    report = UsageClient(
        "https://provider.test/v1", ADMIN, transport=transport, sleep=sleeps.append
    ).completions(T0, T0 + 60)
    assert sleeps == [1.5]
    assert report.buckets[0].quantities == Quantities(2, 10, 0, 4)

    del page["data"][0]["results"][0]["input_cached_tokens"]  # a number missing is not a zero
    transport = _scripted(httpx.Response(200, json=page))
    with pytest.raises(UsageApiError) as failure:
        UsageClient("https://provider.test/v1", ADMIN, transport=transport).completions(T0, T0 + 60)
    assert failure.value.kind == "malformed" and "input_cached_tokens" in failure.value.message
