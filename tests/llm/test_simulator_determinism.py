"""Same seed and request, same answer; token counts and prompt caching follow documented rules."""

from __future__ import annotations

import openai

from baes.simulator import SimulatorOptions, count_tokens, start_simulator, tokenize

PROMPTS = [
    "Create a Python module `greeting.py` with a function `greet(name)` that returns the string `Hello, <name>!`.",
    "What should I measure when comparing two coding agents?",
    "Write a plan for a small inventory web API. Do not write code yet.",
]
# A prompt far above the 1024-token caching threshold (the sentence is ~12 tokens).
LONG_CONTEXT = " ".join(f"Requirement {i}: the service must keep working." for i in range(200))


def _answers(seed: int, model: str = "sim-small") -> list[tuple[str, int, int]]:
    with start_simulator(SimulatorOptions(seed=seed)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k")
        out = []
        for prompt in PROMPTS:
            reply = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": prompt}]
            )
            out.append(
                (
                    reply.choices[0].message.content,
                    reply.usage.prompt_tokens,
                    reply.usage.completion_tokens,
                )
            )
        return out


def test_same_seed_gives_same_text_and_usage_across_simulators():
    assert _answers(seed=11) == _answers(seed=11)


def test_different_seed_may_give_different_text():
    assert _answers(seed=11) != _answers(seed=12)


def test_tokenizer_round_trips_and_counts_long_words_as_several_tokens():
    text = 'def greet(name):\n    return f"Hello, {name}!"  # internationalization'
    assert "".join(tokenize(text)) == text
    assert count_tokens("hello") == 1
    assert count_tokens(" internationalization") == 5  # 20 letters / 4 per token
    assert count_tokens("") == 0


def _cached(client: openai.OpenAI, content: str) -> tuple[int, int]:
    reply = client.chat.completions.create(
        model="sim-small", messages=[{"role": "user", "content": content}]
    )
    return reply.usage.prompt_tokens_details.cached_tokens, reply.usage.prompt_tokens


def test_repeated_long_prefix_is_cached_in_128_token_steps_from_1024():
    with start_simulator() as sim:
        alice = openai.OpenAI(base_url=sim.base_url, api_key="alice")
        bob = openai.OpenAI(base_url=sim.base_url, api_key="bob")

        first, prompt_tokens = _cached(
            alice, LONG_CONTEXT + "\nQuestion: what is the first requirement?"
        )
        assert first == 0 and prompt_tokens > 1400
        repeat, _ = _cached(alice, LONG_CONTEXT + "\nQuestion: what is the last requirement?")
        shared = 3 + len(tokenize(LONG_CONTEXT + "\nQuestion: what is the"))
        assert repeat >= 1024 and repeat % 128 == 0
        assert repeat == 1024 + (shared - 1024) // 128 * 128

        other_key, _ = _cached(bob, LONG_CONTEXT + "\nQuestion: what is the first requirement?")
        assert other_key == 0  # caches are per API key

        assert _cached(alice, "short prompt")[0] == 0
        assert _cached(alice, "short prompt")[0] == 0  # repeated, but under 1024 tokens


def test_cached_tokens_are_included_in_prompt_tokens():
    with start_simulator() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k")
        _cached(client, LONG_CONTEXT)
        cached, prompt_tokens = _cached(client, LONG_CONTEXT)
        assert 1024 <= cached <= prompt_tokens
        assert prompt_tokens - cached < 128


def test_request_seed_draws_a_reproducible_answer_per_seed():
    with start_simulator(SimulatorOptions(seed=5)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k")

        def answer(seed: int | None) -> str:
            reply = client.chat.completions.create(
                model="sim-large", messages=[{"role": "user", "content": PROMPTS[1]}], seed=seed
            )
            return reply.choices[0].message.content

        assert answer(1) == answer(1)
        assert len({answer(seed) for seed in range(6)}) > 1  # seeds vary the answer, like sampling
