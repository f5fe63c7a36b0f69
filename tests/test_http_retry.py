"""baes.http_retry: the one retry policy, through both HTTP clients that use it (the reference
agent's chat client and the reconcile usage client) against a loopback endpoint that answers
429/5xx before 200. Sleeping is injected: no test really waits."""

from __future__ import annotations

import threading
import time
from collections import deque

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from baes.config.models import SamplingConfig
from baes.frameworks import chat_client
from baes.frameworks.chat_client import ChatCallError, ChatClient
from baes.http_retry import RetryPolicy, retry_after_s, send_with_retries
from baes.llm.loopback_server import LoopbackServer
from baes.reconcile.usage_client import UsageApiError, UsageClient

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
USAGE_PAGE = {
    "object": "page",
    "data": [
        {
            "start_time": T0,
            "end_time": T0 + 60,
            "results": [
                {
                    "num_model_requests": 1,
                    "input_tokens": 3,
                    "input_cached_tokens": 0,
                    "output_tokens": 2,
                    "model": "m",
                }
            ],
        }
    ],
    "has_more": False,
    "next_page": None,
}
COMPLETION = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}}]}


class ScriptedEndpoint:
    """A loopback server answering every request with the next (status, headers) of a script;
    a 200 answers `body`. The last entry repeats."""

    def __init__(self, body: object, *script: tuple[int, dict[str, str]]):
        self.body = body
        self.script = deque(script)
        self.requests = 0
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/{path:path}", self._answer, methods=["GET", "POST"])])
        self._server = LoopbackServer(app)

    async def _answer(self, request: Request) -> JSONResponse:
        with self._lock:
            self.requests += 1
            status, headers = self.script.popleft() if len(self.script) > 1 else self.script[0]
        body = self.body if status == 200 else {"error": {"message": f"scripted {status}"}}
        return JSONResponse(body, status_code=status, headers=headers)

    @property
    def base_url(self) -> str:
        return self._server.url + "/v1"

    def __enter__(self) -> ScriptedEndpoint:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


class RecordedWaits(threading.Event):
    """A cancel event whose waits return at once and are recorded (the chat client's sleep)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return self.is_set()


def chat(base_url: str, cancel: threading.Event, deadline_s: float = 600.0) -> ChatClient:
    return ChatClient(
        base_url,
        "sk-test",
        "m",
        SamplingConfig(),
        deadline=time.monotonic() + deadline_s,
        cancel=cancel,
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after-ms": "-5", "retry-after": "3"}, 3.0),  # a negative header is ignored
        ({"retry-after": "-1"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),
    ],
)
def test_retry_after_reads_ms_then_seconds_and_ignores_what_is_not_a_wait(headers, expected):
    assert retry_after_s(httpx.Headers(headers)) == expected


def test_the_chat_client_retries_429_and_500_with_the_policys_waits_then_answers():
    # A negative Retry-After is ignored (backoff 1 s); 120 s asked is cut to the 30 s maximum.
    script = [(429, {"retry-after": "-3"}), (500, {"retry-after-ms": "120000"}), (200, {})]
    waits = RecordedWaits()
    with (
        ScriptedEndpoint(COMPLETION, *script) as endpoint,
        chat(endpoint.base_url, waits) as client,
    ):
        assert client.complete([{"role": "user", "content": "hi"}]) == "hello"
        assert endpoint.requests == 3
    assert waits.waits == [1.0, 30.0]


def test_the_chat_client_gives_up_after_three_attempts_and_says_so():
    waits = RecordedWaits()
    with (
        ScriptedEndpoint(COMPLETION, (503, {})) as endpoint,
        chat(endpoint.base_url, waits) as client,
    ):
        with pytest.raises(ChatCallError) as failure:
            client.complete([{"role": "user", "content": "hi"}])
        assert endpoint.requests == chat_client.RETRY_POLICY.max_attempts == 3
    assert waits.waits == [1.0, 2.0]
    assert failure.value.kind == "infrastructure"
    assert "HTTP 503" in failure.value.message and "after 3 attempts" in failure.value.message


def test_the_chat_client_does_not_wait_past_the_step_deadline():
    waits = RecordedWaits()
    script = [(429, {"retry-after": "20"}), (200, {})]
    with ScriptedEndpoint(COMPLETION, *script) as endpoint:
        with chat(endpoint.base_url, waits, deadline_s=10) as client:
            with pytest.raises(ChatCallError) as failure:
                client.complete([{"role": "user", "content": "hi"}])
        assert endpoint.requests == 1
    assert waits.waits == [] and "no time left before the step deadline" in failure.value.message


def test_the_usage_client_retries_500_and_429_with_the_same_rules_then_reads_the_page():
    # Garbage Retry-After: backoff 0.5 s; a negative one is ignored too (it was clamped to 0
    # here and skipped by the chat client); "0" is honoured as the 0.05 s floor.
    script = [
        (500, {"retry-after": "soon"}),
        (429, {"retry-after": "-1"}),
        (429, {"retry-after": "0"}),
        (200, {}),
    ]
    sleeps: list[float] = []
    with ScriptedEndpoint(USAGE_PAGE, *script) as endpoint:
        client = UsageClient(endpoint.base_url, "sk-admin", sleep=sleeps.append)
        report = client.completions(T0, T0 + 60)
        assert endpoint.requests == 4
    assert sleeps == [0.5, 1.0, 0.05]
    assert report.attempts == 4 and report.buckets[0].quantities.requests == 1


def test_the_usage_client_stops_when_the_next_wait_would_pass_its_deadline():
    sleeps: list[float] = []
    with ScriptedEndpoint(USAGE_PAGE, (429, {"retry-after": "600"})) as endpoint:
        # 600 s asked is cut to 60 s, which the 30 s deadline cannot hold: no retry at all.
        client = UsageClient(endpoint.base_url, "sk-admin", deadline_s=30, sleep=sleeps.append)
        with pytest.raises(UsageApiError) as failure:
            client.completions(T0, T0 + 60)
        assert endpoint.requests == 1
    assert sleeps == [] and failure.value.attempts == 1
    assert failure.value.kind == "provider-failing" and "HTTP 429" in failure.value.message


def test_an_exception_from_send_or_sleep_is_not_retried_and_propagates():
    policy = RetryPolicy(max_attempts=None, first_backoff_s=1, max_backoff_s=1, max_retry_after_s=1)
    calls = []

    def send() -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        raise KeyboardInterrupt  # not a TransportError: ends the loop as it is

    with pytest.raises(KeyboardInterrupt):
        send_with_retries(send, policy=policy, deadline=time.monotonic() + 60, sleep=lambda _: None)
    assert len(calls) == 2

    def stop(_: float) -> None:
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        send_with_retries(
            lambda: httpx.Response(503), policy=policy, deadline=time.monotonic() + 60, sleep=stop
        )


def test_a_200_that_is_not_a_completion_is_an_infrastructure_error_not_a_crash():
    # Only a 429 is read for the budget refusal; a 200 holding a JSON list is reported as such.
    with ScriptedEndpoint([1, 2], (200, {})) as endpoint:
        with chat(endpoint.base_url, RecordedWaits()) as client:
            with pytest.raises(ChatCallError) as failure:
                client.complete([{"role": "user", "content": "hi"}])
    assert failure.value.kind == "infrastructure"
    assert "answered 200 without a chat completion" in failure.value.message
