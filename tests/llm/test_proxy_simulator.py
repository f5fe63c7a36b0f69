"""End to end: the official openai SDK → metering proxy → embedded simulator, over loopback."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest

from baes.config.pricing import shipped_price
from baes.llm.ledger import read_ledger
from baes.llm.ledger_cost import ledger_cost
from baes.llm.proxy import MeteringProxy
from baes.simulator import SMALL_MODEL, SimulatorOptions, start_simulator

PRICES = {SMALL_MODEL: shipped_price(SMALL_MODEL)}


def sdk(base_url: str, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="framework-token", max_retries=max_retries)


def ask(client: openai.OpenAI, text: str, system: str | None = None, **kwargs):
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": text})
    return client.chat.completions.create(
        model=SMALL_MODEL, messages=messages, max_tokens=40, **kwargs
    )


def simulator_usage(sim, start_time: int) -> dict[str, int]:
    """Token sums the simulator's organization usage endpoint reports since `start_time`."""
    page = httpx.get(
        f"{sim.base_url}/organization/usage/completions",
        params={"start_time": start_time, "end_time": int(time.time()) + 120, "bucket_width": "1m"},
        headers={"Authorization": f"Bearer {sim.admin_key}"},
    ).json()
    results = [r for bucket in page["data"] for r in bucket["results"]]
    return {
        "input": sum(r["input_tokens"] for r in results),
        "cached": sum(r["input_cached_tokens"] for r in results),
        "output": sum(r["output_tokens"] for r in results),
        "calls": sum(r["num_model_requests"] for r in results),
    }


def test_ledger_tokens_equal_what_the_sdk_saw_and_the_simulator_usage_api(tmp_path):
    ledger = tmp_path / "usage.jsonl"
    start_time = int(time.time()) - 1
    with (
        start_simulator(SimulatorOptions(seed=3)) as sim,
        MeteringProxy(sim.base_url, experiment_model=SMALL_MODEL, prices=PRICES) as proxy,
    ):
        client = sdk(proxy.open_attribution("run-1", "01-build", ledger))
        seen = {"input": 0, "cached": 0, "output": 0}
        # A long shared prefix (> 1024 tokens), so later calls are served from the prompt cache.
        system = "You are a careful engineer who writes small tested modules. " * 150
        for i in range(3):
            usage = ask(client, f"write function number {i}", system=system).usage
            seen["input"] += usage.prompt_tokens
            seen["cached"] += usage.prompt_tokens_details.cached_tokens
            seen["output"] += usage.completion_tokens
        for i in range(2):
            chunks = list(
                ask(
                    client,
                    f"stream {i}",
                    system,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
            usage = chunks[-1].usage
            seen["input"] += usage.prompt_tokens
            seen["cached"] += usage.prompt_tokens_details.cached_tokens
            seen["output"] += usage.completion_tokens
        reported = simulator_usage(sim, start_time)
        spent = proxy.spent_usd

    entries = read_ledger(ledger)
    assert len(entries) == 5 and all(e.usage_reported and e.status_code == 200 for e in entries)
    assert [e.stream for e in entries] == [False, False, False, True, True]
    recorded = {
        "input": sum(e.input_tokens for e in entries),
        "cached": sum(e.cached_tokens for e in entries),
        "output": sum(e.output_tokens for e in entries),
    }
    assert recorded == seen
    assert reported == {**seen, "calls": 5}
    assert seen["cached"] > 0  # the shared prefix was served from the simulator's cache
    cost = ledger_cost(entries, PRICES, SMALL_MODEL)
    assert cost.priced_calls == 5 and cost.unpriced_calls == 0
    assert cost.cost_usd == pytest.approx(spent)


def test_streaming_through_the_proxy_matches_a_direct_stream(tmp_path):
    ledger = tmp_path / "usage.jsonl"
    with (
        start_simulator(SimulatorOptions(seed=5)) as sim,
        MeteringProxy(sim.base_url, experiment_model=SMALL_MODEL) as proxy,
    ):
        direct = list(ask(sdk(sim.base_url), "tell me a story", stream=True))
        proxied = list(
            ask(sdk(proxy.open_attribution("r", "s", ledger)), "tell me a story", stream=True)
        )

    text = "".join(c.choices[0].delta.content or "" for c in proxied if c.choices)
    assert text == "".join(c.choices[0].delta.content or "" for c in direct if c.choices)
    assert len(proxied) == len(direct)  # the usage chunk the proxy asked for was removed
    [line] = read_ledger(ledger)
    assert line.stream and line.usage_reported and line.output_tokens > 0


def test_the_sdk_retry_on_a_simulated_429_succeeds_and_both_calls_are_recorded(tmp_path):
    ledger = tmp_path / "usage.jsonl"
    # At rate_limit_rate=1 every first attempt is refused and its retry gets through.
    with (
        start_simulator(SimulatorOptions(seed=0, rate_limit_rate=1.0)) as sim,
        MeteringProxy(sim.base_url, experiment_model=SMALL_MODEL) as proxy,
    ):
        answer = ask(sdk(proxy.open_attribution("r", "s", ledger), max_retries=2), "hello")

    assert answer.choices[0].message.content
    refused, served = read_ledger(ledger)
    assert refused.status_code == 429 and "rate_limit_exceeded" in refused.error
    assert not refused.usage_reported and refused.input_tokens is None
    assert served.status_code == 200 and served.output_tokens == answer.usage.completion_tokens


def test_a_simulated_500_is_passed_through_and_recorded(tmp_path):
    ledger = tmp_path / "usage.jsonl"
    with (
        start_simulator(SimulatorOptions(seed=0, error_rate=1.0)) as sim,
        MeteringProxy(sim.base_url, experiment_model=SMALL_MODEL) as proxy,
    ):
        direct_error = httpx.post(
            sim.base_url + "/chat/completions",
            json={"model": SMALL_MODEL, "messages": [{"role": "user", "content": "x"}]},
            headers={"Authorization": "Bearer k"},
        ).json()
        with pytest.raises(openai.InternalServerError) as failed:
            ask(sdk(proxy.open_attribution("r", "s", ledger)), "hello")

    assert failed.value.status_code == 500
    assert failed.value.body == direct_error["error"]  # the body is passed back unchanged
    [line] = read_ledger(ledger)
    assert line.status_code == 500 and line.error.startswith("HTTP 500")


def test_eight_threads_times_fifty_calls_over_eight_tokens_give_400_attributed_lines(tmp_path):
    ledger = tmp_path / "usage.jsonl"
    with (
        start_simulator(SimulatorOptions(seed=1)) as sim,
        MeteringProxy(sim.base_url, experiment_model=SMALL_MODEL) as proxy,
    ):
        urls = [proxy.open_attribution(f"run-{i}", f"step-{i}", ledger) for i in range(8)]
        failures: list[BaseException] = []

        def work(index: int) -> None:
            try:
                client = sdk(urls[index])
                for call in range(50):
                    ask(client, f"thread {index} call {call}")
            except BaseException as exc:  # reported below; a thread cannot fail the test itself
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        closed = [proxy.close_attribution(url) for url in urls]

    assert not failures
    assert [c.calls_recorded for c in closed] == [50] * 8
    entries = read_ledger(ledger)
    assert len(entries) == 400 and not entries.damaged
    for i in range(8):
        mine = [e for e in entries if e.run_id == f"run-{i}"]
        assert len(mine) == 50 and {e.step for e in mine} == {f"step-{i}"}
    assert all(e.status_code == 200 and e.usage_reported for e in entries)
