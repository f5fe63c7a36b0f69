"""Model tiers that mean something (issue 13, item 7): sim-small and sim-large differ in defect
rate, verbosity and latency as docs/simulator.md's table says, and any other model name is
refused with OpenAI's 404 `model_not_found`, naming the models the simulator serves."""

from __future__ import annotations

import httpx
import openai
import pytest

from baes.simulator import Simulator, SimulatorOptions, generate_answer, start_simulator
from baes.simulator.messages import Message
from baes.simulator.models import PROFILES
from baes.simulator.provider import CallRequest

CODE = "Create `calc.py` with a function `add(a, b)` that returns the sum of `a` and `b`."


@pytest.fixture(scope="module")
def sim():
    with start_simulator(SimulatorOptions(seed=9)) as running:
        yield running


@pytest.fixture
def client(sim):
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-tiers", max_retries=0)


def test_the_profiles_are_the_documented_table():
    table = {
        name: (p.defect_rate, p.repair_defect_rate, p.latency_factor, p.verbose)
        for name, p in PROFILES.items()
    }
    assert table == {
        "sim-small": (0.25, 0.05, 1.0, False),
        "sim-large": (0.05, 0.01, 2.5, True),
    }


def test_defect_rates_differ_as_documented():
    def defects(model: str) -> int:
        return sum(
            generate_answer([Message("user", CODE)], model, seed).defect is not None
            for seed in range(200)
        )

    small, large = defects("sim-small"), defects("sim-large")
    assert 30 <= small <= 70  # 25 % of 200, within ±3.3 standard deviations
    assert 1 <= large <= 22  # 5 % of 200
    assert small > 2 * large


def test_large_is_verbose_and_small_is_terse():
    for seed in range(5):
        small = generate_answer([Message("user", CODE)], "sim-small", seed).text
        large = generate_answer([Message("user", CODE)], "sim-large", seed).text
        assert len(large) > len(small)
        assert '"""' in large and '"""' not in small


def test_per_token_latency_scales_with_the_model_factor():
    simulator = Simulator(SimulatorOptions(latency_ms=10, latency_per_token_ms=2))

    def delays(model: str) -> tuple[float, float]:
        call = CallRequest(
            "k", model, [Message("user", CODE)], "/v1/chat/completions", False, None, model
        )
        completion = simulator.start_call(call)
        return completion.first_token_delay_s, completion.per_token_delay_s

    assert delays("sim-small") == pytest.approx((0.010, 0.002))
    assert delays("sim-large") == pytest.approx((0.010, 0.005))


@pytest.mark.parametrize("model", ["gpt-4o-mini", "sim-medium", "sim-embedding"])
def test_other_model_names_are_refused_on_every_generation_endpoint(client, sim, model):
    calls = [
        lambda: client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}]
        ),
        lambda: client.responses.create(model=model, input="hi"),
        lambda: client.completions.create(model=model, prompt="hi"),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as caught:
            call()
        error = caught.value
        assert error.code == "model_not_found" and error.param == "model"
        assert f"`{model}` does not exist" in error.message
        assert "sim-small, sim-large" in error.message
    assert sim.simulator.calls == [] and sim.simulator.faults == []  # nothing was answered


def test_retrieving_an_unknown_model_is_404(client):
    assert client.models.retrieve("sim-large").id == "sim-large"
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-4o")
    assert "sim-small, sim-large, sim-embedding" in caught.value.message


def test_an_unknown_model_behind_the_proxy_is_a_404_in_the_ledger(sim, tmp_path):
    from baes.llm.ledger import read_ledger
    from baes.llm.proxy import MeteringProxy

    with MeteringProxy(sim.base_url, model_policy="record") as proxy:
        ledger = tmp_path / "usage.jsonl"
        base_url = proxy.open_attribution("r", "s", ledger)
        reply = httpx.post(
            f"{base_url}/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": "Bearer k"},
        )
        proxy.close_attribution(base_url)
    assert reply.status_code == 404
    [line] = read_ledger(ledger)
    assert line.status_code == 404 and "model_not_found" in line.error


def test_baes_run_refuses_a_simulator_design_with_another_model(cli, root, tmp_path):
    design = tmp_path / "exp.yaml"
    design.write_text(
        "name: exp\nmodel: gpt-4o-mini\nprovider: {kind: sim}\n"
        "frameworks:\n  reference: {adapter: builtin}\n"
        "scenario:\n  name: custom\n  steps:\n    - id: one\n      prompt: Write a file\n"
        "runs: {min: 1, max: 1}\n"
    )
    assert cli("new", "--config", design).exit_code == 0
    result = cli("run", "exp")
    assert result.exit_code == 2
    assert "'gpt-4o-mini' is not a simulator model" in result.stderr
    assert "sim-small, sim-large" in result.stderr
