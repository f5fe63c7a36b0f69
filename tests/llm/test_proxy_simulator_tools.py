"""Tool-calling answers through the metering proxy: the ledger's tokens equal what the SDK saw
and what the simulator's usage API reports, for chat (plain and streamed) and the Responses API."""

from __future__ import annotations

import time

import openai

from baes.llm.ledger import read_ledger
from baes.llm.proxy import MeteringProxy
from baes.simulator import SMALL_MODEL, SimulatorOptions, start_simulator
from tests.llm.test_proxy_simulator import PRICES, simulator_usage
from tests.llm.test_simulator_tools import GREET, RESPONSES_BASH, WRITE


def test_tool_call_tokens_are_metered_like_text(tmp_path):
    ledger = tmp_path / "usage.jsonl"
    start_time = int(time.time()) - 1
    with (
        start_simulator(SimulatorOptions(seed=8)) as sim,
        MeteringProxy(sim.base_url, experiment_model=SMALL_MODEL, prices=PRICES) as proxy,
    ):
        client = openai.OpenAI(
            base_url=proxy.open_attribution("run-1", "01-greet", ledger), api_key="token"
        )
        messages = [{"role": "user", "content": GREET}]
        seen = {"input": 0, "output": 0}
        plain = client.chat.completions.create(model=SMALL_MODEL, messages=messages, tools=[WRITE])
        assert plain.choices[0].message.tool_calls
        seen["input"] += plain.usage.prompt_tokens
        seen["output"] += plain.usage.completion_tokens
        chunks = list(
            client.chat.completions.create(
                model=SMALL_MODEL,
                messages=messages,
                tools=[WRITE],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
        seen["input"] += chunks[-1].usage.prompt_tokens
        seen["output"] += chunks[-1].usage.completion_tokens
        streamed = list(
            client.responses.create(
                model=SMALL_MODEL, input=GREET, tools=[RESPONSES_BASH], stream=True
            )
        )
        final = streamed[-1].response
        assert final.output[0].type == "function_call"
        seen["input"] += final.usage.input_tokens
        seen["output"] += final.usage.output_tokens
        reported = simulator_usage(sim, start_time)
    entries = read_ledger(ledger)
    assert len(entries) == 3 and reported["calls"] == 3
    assert sum(e.input_tokens for e in entries) == seen["input"] == reported["input"]
    assert sum(e.output_tokens for e in entries) == seen["output"] == reported["output"]
