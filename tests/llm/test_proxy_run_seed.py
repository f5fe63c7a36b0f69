"""The run's seed reaches a simulator upstream, and only a simulator (issue 13, item 1)."""

from __future__ import annotations

import openai
import pytest

from baes.llm.proxy import MeteringProxy
from baes.llm.run_seed_header import RUN_SEED_HEADER
from baes.simulator import SimulatorOptions, start_simulator
from tests.llm.test_proxy_upstream_fake import FakeUpstream


@pytest.fixture(scope="module")
def fake():
    with FakeUpstream() as upstream:
        yield upstream


def _call(proxy: MeteringProxy, tmp_path, seed: int | None, model: str = "m") -> str:
    base_url = proxy.open_attribution("run", "step", tmp_path / "usage.jsonl", seed=seed)
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    reply = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What should the next step be?"}],
        extra_headers={RUN_SEED_HEADER: "777"},  # a framework cannot pick its run's seed
    )
    proxy.close_attribution(base_url)
    return reply.choices[0].message.content


@pytest.mark.parametrize("simulator_upstream", [False, True])
def test_the_header_is_the_proxys_alone_and_only_a_simulator_gets_it(
    fake, tmp_path, simulator_upstream
):
    fake.reset()
    with MeteringProxy(fake.base_url, simulator_upstream=simulator_upstream) as proxy:
        _call(proxy, tmp_path, seed=41)
        _call(proxy, tmp_path, seed=None)
    sent = [request["headers"].get(RUN_SEED_HEADER) for request in fake.received]
    assert sent == (["41", None] if simulator_upstream else [None, None])


def test_run_seeds_change_a_seedless_clients_answers_reproducibly(tmp_path):
    with (
        start_simulator(SimulatorOptions(seed=3)) as sim,
        MeteringProxy(sim.base_url, simulator_upstream=True) as proxy,
    ):
        answers = {seed: _call(proxy, tmp_path, seed, "sim-large") for seed in range(6)}
        assert _call(proxy, tmp_path, 2, "sim-large") == answers[2]
    assert len(set(answers.values())) >= 5


@pytest.mark.parametrize(("scope", "cached_in_other_run"), [("key", True), ("run", False)])
def test_prompt_cache_scope_decides_whether_runs_share_cached_prefixes(
    tmp_path, scope, cached_in_other_run
):
    long_prompt = "Describe the student registry. " * 300  # well over 1024 tokens

    def cached(proxy: MeteringProxy, seed: int) -> int:
        base_url = proxy.open_attribution("run", "step", tmp_path / "usage.jsonl", seed=seed)
        client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
        reply = client.chat.completions.create(
            model="sim-small", messages=[{"role": "user", "content": long_prompt}]
        )
        proxy.close_attribution(base_url)
        return reply.usage.prompt_tokens_details.cached_tokens

    options = SimulatorOptions(prompt_cache_scope=scope)
    with (
        start_simulator(options) as sim,
        MeteringProxy(sim.base_url, simulator_upstream=True) as proxy,
    ):
        first, same_run, other_run = cached(proxy, 1), cached(proxy, 1), cached(proxy, 2)
    assert first == 0 and same_run >= 1024
    assert (other_run >= 1024) is cached_in_other_run


def test_cached_prefixes_expire_after_the_ttl_of_inactivity():
    from baes.simulator import Simulator
    from baes.simulator.messages import Message
    from baes.simulator.provider import CallRequest

    now = [1000.0]
    simulator = Simulator(SimulatorOptions(prompt_cache_ttl_s=300), clock=lambda: now[0])
    prompt = [Message("user", "Describe the student registry. " * 300)]

    def cached_at(t: float) -> int:
        now[0] = t
        call = CallRequest("k", "sim-small", prompt, "/v1/chat/completions", False, 1, "d")
        return simulator.start_call(call).cached_tokens

    # Each hit refreshes the entry: 290 s apart keeps it alive, 301 s of silence expires it.
    first, hit, again = (cached_at(t) for t in (1000, 1290, 1580))
    assert first == 0 and hit >= 1024 and again == hit
    assert cached_at(1881) == 0 and cached_at(1882) == hit
