"""A key the upstream echoes in an error answer reaches neither the client nor the ledger."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from baes.llm.ledger import read_ledger
from baes.llm.loopback_server import LoopbackServer
from baes.llm.proxy import MeteringProxy

KEY = "lk-live-proxy-Qw81ZxPq77aRtu"  # not sk-shaped: only its value can find it
MODEL_TEXT = "use sk-proj-ThisIsModelOutput0123456789 in the example"


async def refuse(request: Request) -> JSONResponse:
    sent = request.headers.get("authorization", "").removeprefix("Bearer ")
    message = f"Incorrect API key provided: {sent}"
    return JSONResponse({"error": {"message": message, "code": "invalid_api_key"}}, 401)


async def stream_then_fail(request: Request) -> StreamingResponse:
    """A stream that breaks off with an error event quoting the key it was sent."""
    sent = request.headers.get("authorization", "").removeprefix("Bearer ")
    chunk = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    error = {"error": {"message": f"key {sent} revoked; also sk-{'Z' * 30}", "code": "revoked"}}

    async def events():
        yield f"data: {json.dumps(chunk)}\n\n".encode()
        text = f"data: {json.dumps(error)}\n\n".encode()
        yield text[:40]  # split inside the event: the proxy must not pass on its first half
        yield text[40:]
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def models(request: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [{"id": MODEL_TEXT}]})


@pytest.fixture(scope="module")
def proxy():
    import os

    server = LoopbackServer(
        Starlette(
            routes=[
                Route("/v1/chat/completions", refuse, methods=["POST"]),
                Route("/v1/completions", stream_then_fail, methods=["POST"]),
                Route("/v1/models", models, methods=["GET"]),
            ]
        )
    )
    server.start()
    os.environ["BAES_TEST_ECHOED_KEY"] = KEY
    try:
        with MeteringProxy(server.url + "/v1", api_key_env="BAES_TEST_ECHOED_KEY") as running:
            yield running
    finally:
        del os.environ["BAES_TEST_ECHOED_KEY"]
        server.stop()


def test_an_echoed_key_is_redacted_from_the_answer_and_the_ledger(proxy, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    base_url = proxy.open_attribution("run-1", "01-s", ledger)
    answer = httpx.post(
        base_url + "/chat/completions",
        json={"model": "m", "messages": []},
        headers={"Authorization": "Bearer token"},
    )
    proxy.close_attribution(base_url)

    assert answer.status_code == 401
    assert KEY not in answer.text
    assert answer.json()["error"]["message"] == "Incorrect API key provided: [redacted]"
    assert int(answer.headers["content-length"]) == len(answer.content)
    [entry] = read_ledger(ledger)
    assert entry.error == "HTTP 401 invalid_api_key: Incorrect API key provided: [redacted]"
    assert KEY not in ledger.read_text()


def test_a_successful_answer_passes_unchanged_even_with_key_shaped_text(proxy, tmp_path):
    base_url = proxy.open_attribution("run-1", "01-s", tmp_path / "usage.jsonl")
    answer = httpx.get(base_url + "/models")
    proxy.close_attribution(base_url)
    assert answer.status_code == 200 and answer.json()["data"][0]["id"] == MODEL_TEXT


def test_an_error_event_inside_a_stream_is_redacted_on_its_way_to_the_framework(proxy, tmp_path):
    ledger = tmp_path / "usage.jsonl"
    base_url = proxy.open_attribution("run-1", "01-s", ledger)
    with httpx.stream(
        "POST", base_url + "/completions", json={"model": "m", "prompt": "p", "stream": True}
    ) as answer:
        received = b"".join(answer.iter_raw())
    proxy.close_attribution(base_url)

    assert KEY.encode() not in received and b"Z" * 30 not in received
    events = [e for e in received.split(b"\n\n") if e]
    assert [json.loads(e.removeprefix(b"data: "))["error"]["message"] for e in events[1:2]] == [
        "key [redacted] revoked; also sk-[redacted]"
    ]
    assert events[0].startswith(b'data: {"id": "c"') and events[-1] == b"data: [DONE]"
    [entry] = read_ledger(ledger)
    assert entry.error == "stream error revoked: key [redacted] revoked; also sk-[redacted]"
    assert KEY not in ledger.read_text()
