"""The simulator's usage log: usage records that outlive the process, shared like a provider's."""

from __future__ import annotations

import httpx
import openai

from baes.simulator import Simulator, SimulatorOptions, api_key_id
from baes.simulator.api.running import RunningSimulator

T0 = 1_767_225_600


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _call(sim: RunningSimulator, key: str, text: str) -> openai.types.CompletionUsage:
    client = openai.OpenAI(base_url=sim.base_url, api_key=key, max_retries=0)
    return client.chat.completions.create(
        model="sim-small", messages=[{"role": "user", "content": text}]
    ).usage


def _usage(sim: RunningSimulator, admin_key: str) -> list[dict]:
    answer = httpx.get(
        sim.base_url + "/organization/usage/completions",
        params={
            "start_time": T0,
            "end_time": T0 + 180,
            "bucket_width": "1m",
            "group_by": "api_key_id",
        },
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert answer.status_code == 200, answer.text
    return [(b["start_time"], r) for b in answer.json()["data"] for r in b["results"]]


def test_usage_records_survive_a_restart_and_are_shared_between_simulators(tmp_path):
    log = tmp_path / ".simulator" / "usage.jsonl"
    clock = Clock(T0 + 5)
    first = RunningSimulator(Simulator(SimulatorOptions(usage_log=log), clock=clock)).start()
    long_prompt = "word " * 1500  # long enough for the prompt cache
    _call(first, "sk-alice", long_prompt)
    clock.now = T0 + 65
    cached = _call(first, "sk-alice", long_prompt).prompt_tokens_details.cached_tokens
    assert cached > 0
    first.stop()
    assert len(log.read_text().splitlines()) == 2

    # A new process (another admin key, an empty prompt cache) reports what the first billed,
    # and records its own calls in the same file; a concurrent one sees them too.
    clock = Clock(T0 + 70)
    restarted = RunningSimulator(
        Simulator(SimulatorOptions(usage_log=log, admin_key="sk-admin-2"), clock=clock)
    ).start()
    neighbour = RunningSimulator(
        Simulator(SimulatorOptions(usage_log=log, admin_key="sk-admin-3"), clock=clock)
    ).start()
    try:
        _call(restarted, "sk-bob", "hello")
        clock.now = T0 + 130
        _call(neighbour, "sk-alice", "bye")
        seen = _usage(neighbour, "sk-admin-3")
        assert _usage(restarted, "sk-admin-2") == seen
    finally:
        restarted.stop()
        neighbour.stop()
    by_bucket = {(start - T0, r["api_key_id"]): r for start, r in seen}
    assert set(by_bucket) == {
        (0, api_key_id("sk-alice")),
        (60, api_key_id("sk-alice")),
        (60, api_key_id("sk-bob")),
        (120, api_key_id("sk-alice")),
    }
    assert by_bucket[(60, api_key_id("sk-alice"))]["input_cached_tokens"] == cached


def test_a_damaged_line_is_skipped_not_fatal(tmp_path):
    log = tmp_path / "usage.jsonl"
    sim = RunningSimulator(Simulator(SimulatorOptions(usage_log=log), clock=Clock(T0 + 1))).start()
    try:
        _call(sim, "sk-a", "one")
        with log.open("a") as handle:
            handle.write('{"timestamp": 1, "api_key')  # a writer killed mid-line
        _call(sim, "sk-a", "two")
        assert len(sim.simulator.calls) == 2
    finally:
        sim.stop()
