"""A huge prompt does not hold up the simulator's other calls.

Answering a prompt of megabytes takes seconds of CPU (tokenizing, prompt caching, reading the
spec). The test uses 2 MB rather than the 20 MB of the report to stay fast: the cost grows with
the size, and any body above LARGE_REQUEST_BYTES takes the same route.
"""

from __future__ import annotations

import threading

import httpx

from baes.simulator import SMALL_MODEL, start_simulator
from baes.simulator.api.app import LARGE_REQUEST_BYTES

HEADERS = {"authorization": "Bearer sk-test-large"}


def _chat(base_url: str, text: str) -> httpx.Response:
    body = {"model": SMALL_MODEL, "messages": [{"role": "user", "content": text}]}
    return httpx.post(base_url + "/chat/completions", json=body, headers=HEADERS, timeout=120)


def test_a_small_call_is_answered_while_a_huge_prompt_is_being_worked_on():
    huge = "please build the service with every field described here " * 36_000
    assert len(huge) > 4 * LARGE_REQUEST_BYTES
    with start_simulator() as sim:
        # Mark when the simulator starts and ends working out the huge call's answer.
        working_on_huge, huge_worked_out = threading.Event(), threading.Event()
        start_call = sim.simulator.start_call

        def observed_start_call(request):
            if len(request.messages[0].text) != len(huge):
                return start_call(request)
            working_on_huge.set()
            try:
                return start_call(request)
            finally:
                huge_worked_out.set()

        sim.simulator.start_call = observed_start_call
        answers: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: answers.append(_chat(sim.base_url, huge)))
        worker.start()
        assert working_on_huge.wait(60)
        small = _chat(sim.base_url, "hello")
        # Before: the huge call held the event loop, so the small one waited for it to end.
        small_answered_first = not huge_worked_out.is_set()
        worker.join(120)

    assert small.status_code == 200 and small_answered_first
    assert [answer.status_code for answer in answers] == [200]
