"""The organization usage endpoint: admin-only, bucketed, grouped, paginated, lagging."""

from __future__ import annotations

import httpx
import openai
import pytest

from baes.simulator import Simulator, SimulatorOptions, api_key_id, start_simulator
from baes.simulator.api.running import RunningSimulator

DAY = 86400
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a day boundary


class FakeClock:
    """Time the test controls, so calls land in chosen buckets."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _admin(sim: RunningSimulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.base_url, api_key="unused", admin_api_key=sim.admin_key)


def _call(
    sim: RunningSimulator, key: str, model: str, text: str = "hello"
) -> openai.types.CompletionUsage:
    client = openai.OpenAI(base_url=sim.base_url, api_key=key)
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}]
    ).usage


@pytest.fixture
def clocked():
    clock = FakeClock(T0 + 3600)
    with RunningSimulator(
        Simulator(SimulatorOptions(admin_key="sk-admin-test"), clock=clock)
    ).start() as sim:
        yield sim, clock


def test_usage_endpoint_requires_the_admin_key(clocked):
    sim, _ = clocked
    url = sim.base_url + "/organization/usage/completions"
    assert httpx.get(url, params={"start_time": T0}).status_code == 401
    forbidden = httpx.get(
        url, params={"start_time": T0}, headers={"Authorization": "Bearer sk-user"}
    )
    assert forbidden.status_code == 403 and "error" in forbidden.json()
    ok = httpx.get(
        url, params={"start_time": T0}, headers={"Authorization": "Bearer sk-admin-test"}
    )
    assert ok.status_code == 200 and ok.json()["object"] == "page"


def test_generated_admin_key_is_secret_and_reported():
    with start_simulator() as sim:
        assert sim.admin_key.startswith("sk-admin-sim-") and len(sim.admin_key) > 30


def test_usage_sums_equal_what_the_sdk_saw_grouped_by_model_and_key(clocked):
    sim, clock = clocked
    seen: dict[tuple[str, str], list[int]] = {}
    for key, model, text in [
        ("alice", "sim-small", "a"),
        ("alice", "sim-large", "b"),
        ("bob", "sim-small", "c"),
        ("alice", "sim-small", "d"),
    ]:
        usage = _call(sim, key, model, text)
        totals = seen.setdefault((api_key_id(key), model), [0, 0, 0, 0])
        totals[0] += usage.prompt_tokens
        totals[1] += usage.completion_tokens
        totals[2] += usage.prompt_tokens_details.cached_tokens
        totals[3] += 1
    clock.now += 10
    page = _admin(sim).admin.organization.usage.completions(
        start_time=T0, end_time=T0 + DAY, group_by=["model", "api_key_id"]
    )
    assert len(page.data) == 1 and page.has_more is False and page.next_page is None
    bucket = page.data[0]
    assert (bucket.start_time, bucket.end_time) == (T0, T0 + DAY)
    reported = {
        (r.api_key_id, r.model): [
            r.input_tokens,
            r.output_tokens,
            r.input_cached_tokens,
            r.num_model_requests,
        ]
        for r in bucket.results
    }
    assert reported == seen
    assert all(
        r.project_id is None and r.user_id is None and r.batch is None for r in bucket.results
    )

    ungrouped = _admin(sim).admin.organization.usage.completions(start_time=T0, end_time=T0 + DAY)
    (total,) = ungrouped.data[0].results
    assert total.model is None and total.api_key_id is None
    assert total.num_model_requests == 4
    assert total.input_tokens == sum(v[0] for v in seen.values())

    only_bob = _admin(sim).admin.organization.usage.completions(
        start_time=T0, end_time=T0 + DAY, api_key_ids=[api_key_id("bob")], models=["sim-small"]
    )
    assert only_bob.data[0].results[0].num_model_requests == 1


def test_pagination_walks_every_bucket_exactly_once(clocked):
    sim, clock = clocked
    minutes = [0, 0, 3, 7, 8]
    for minute in minutes:
        clock.now = T0 + minute * 60 + 5
        _call(sim, "k", "sim-small", f"minute {minute}")
    clock.now = T0 + 3600
    admin = _admin(sim)
    starts, requests, cursor = [], 0, None
    while True:
        kwargs = {"page": cursor} if cursor else {}
        page = admin.admin.organization.usage.completions(
            start_time=T0, end_time=T0 + 10 * 60, bucket_width="1m", limit=3, **kwargs
        )
        starts += [b.start_time for b in page.data]
        requests += sum(r.num_model_requests for b in page.data for r in b.results)
        assert len(page.data) <= 3
        if not page.has_more:
            assert page.next_page is None
            break
        cursor = page.next_page
    assert starts == [T0 + 60 * i for i in range(10)]  # empty buckets included, in order
    assert requests == len(minutes)


def test_default_limits_follow_openai(clocked):
    sim, _ = clocked
    admin = _admin(sim)
    assert len(admin.admin.organization.usage.completions(start_time=T0 - 30 * DAY).data) == 7
    hourly = admin.admin.organization.usage.completions(start_time=T0 - DAY, bucket_width="1h")
    assert len(hourly.data) == 24 and hourly.has_more


def test_usage_lag_hides_recent_calls():
    clock = FakeClock(T0 + 100)
    options = SimulatorOptions(usage_lag_s=60)
    with RunningSimulator(Simulator(options, clock=clock)).start() as sim:
        _call(sim, "k", "sim-small")
        clock.now += 30
        page = _admin(sim).admin.organization.usage.completions(start_time=T0, end_time=T0 + DAY)
        assert page.data[0].results == []
        clock.now += 31
        page = _admin(sim).admin.organization.usage.completions(start_time=T0, end_time=T0 + DAY)
        assert page.data[0].results[0].num_model_requests == 1


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"start_time": T0, "bucket_width": "2h"},
        {"start_time": T0, "limit": 0},
        {"start_time": T0, "group_by": "colour"},
        {"start_time": T0, "page": "garbage"},
    ],
)
def test_invalid_usage_queries_are_400(clocked, params):
    sim, _ = clocked
    response = httpx.get(
        sim.base_url + "/organization/usage/completions",
        params=params,
        headers={"Authorization": "Bearer sk-admin-test"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_group_by_accepts_bracketed_and_repeated_parameters(clocked):
    sim, clock = clocked
    _call(sim, "k", "sim-small")
    clock.now += 1  # end_time defaults to now, exclusive
    headers = {"Authorization": "Bearer sk-admin-test"}
    url = sim.base_url + "/organization/usage/completions"
    for query in (
        f"start_time={T0}&group_by[]=model&group_by[]=project_id",
        f"start_time={T0}&group_by=model&group_by=project_id",
    ):
        (result,) = httpx.get(f"{url}?{query}", headers=headers).json()["data"][0]["results"]
        assert result["model"] == "sim-small" and result["project_id"] == "proj_simulator"
        assert result["api_key_id"] is None
