"""A small scriptable OpenAI-compatible upstream for the proxy tests.

It produces what the embedded simulator cannot: answers without usage, slow streams, slow
answers, scripted statuses, embeddings and legacy completions. It records what it received,
so tests can check what the proxy forwarded (model, stream_options, Authorization).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from baes.llm.loopback_server import LoopbackServer

INPUT_TOKENS = 21
CACHED_TOKENS = 4
OUTPUT_TOKENS = 3
REASONING_TOKENS = 1
WORDS = ["Hello", " from", " the", " fake", " upstream"]


@dataclass
class Scripted:
    """One answer to give instead of the normal one."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeUpstream:
    """Serve on loopback; `base_url` ends in /v1 like a provider's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()
        routes = [
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/completions", self._completions, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/responses", self._responses, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ]
        self._server = LoopbackServer(Starlette(routes=routes))

    def reset(self) -> None:
        """Forget what was received and go back to normal answers."""
        with self._lock:
            self.received: list[dict[str, Any]] = []
            self.script: deque[Scripted] = deque()
        self.omit_usage = False
        self.stream_delay_s = 0.0
        self.answer_delay_s = 0.0

    def __enter__(self) -> FakeUpstream:
        self._server.start()
        self.base_url = self._server.url + "/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` model calls with `status` and an OpenAI error body."""
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        body = {"error": {"message": f"scripted {status}", "type": kind, "code": kind}}
        for _ in range(times):
            self.script.append(Scripted(status, body, headers or {}))

    async def _receive(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        payload = await request.json() if request.method == "POST" else {}
        with self._lock:
            self.received.append(
                {
                    "path": request.url.path,
                    "query": request.url.query,
                    "headers": dict(request.headers),
                    "json": payload,
                }
            )
            scripted = self.script.popleft() if self.script else None
        if self.answer_delay_s:
            await asyncio.sleep(self.answer_delay_s)
        if scripted is not None:
            return payload, JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        return payload, None

    def _chat_usage(self) -> dict[str, Any] | None:
        if self.omit_usage:
            return None
        return {
            "prompt_tokens": INPUT_TOKENS,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
            "prompt_tokens_details": {"cached_tokens": CACHED_TOKENS},
            "completion_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
        }

    async def _chat(self, request: Request) -> Response:
        payload, scripted = await self._receive(request)
        if scripted is not None:
            return scripted
        model = payload["model"]
        if payload.get("stream"):
            include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                self._chat_stream(model, include_usage), media_type="text/event-stream"
            )
        body: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(WORDS)},
                    "finish_reason": "stop",
                }
            ],
        }
        if (usage := self._chat_usage()) is not None:
            body["usage"] = usage
        return JSONResponse(body)

    async def _chat_stream(self, model: str, include_usage: bool):  # type: ignore[no-untyped-def]
        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            body: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if include_usage:
                body["usage"] = None  # as OpenAI does on every chunk once usage is asked for
            return b"data: " + json.dumps(body).encode() + b"\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for word in WORDS:
            if self.stream_delay_s:
                await asyncio.sleep(self.stream_delay_s)
            yield chunk({"content": word})
        yield chunk({}, "stop")
        if include_usage and not self.omit_usage:
            final = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": model,
                "choices": [],
                "usage": self._chat_usage(),
            }
            yield b"data: " + json.dumps(final).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    async def _completions(self, request: Request) -> Response:
        payload, scripted = await self._receive(request)
        if scripted is not None:
            return scripted
        body: dict[str, Any] = {
            "id": "cmpl-fake",
            "object": "text_completion",
            "created": 1,
            "model": payload["model"],
            "choices": [{"index": 0, "text": "".join(WORDS), "finish_reason": "stop"}],
        }
        if not self.omit_usage:
            body["usage"] = {
                "prompt_tokens": INPUT_TOKENS,
                "completion_tokens": OUTPUT_TOKENS,
                "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
            }
        return JSONResponse(body)

    async def _embeddings(self, request: Request) -> Response:
        payload, scripted = await self._receive(request)
        if scripted is not None:
            return scripted
        return JSONResponse(
            {
                "object": "list",
                "model": payload["model"],
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                "usage": {"prompt_tokens": 8, "total_tokens": 8},
            }
        )

    def _response_object(self, model: str, status: str) -> dict[str, Any]:
        done = status == "completed"
        return {
            "id": "resp_fake",
            "object": "response",
            "created_at": 1,
            "status": status,
            "model": model,
            "output": [
                {
                    "type": "message",
                    "id": "msg_fake",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "".join(WORDS), "annotations": []}],
                }
            ]
            if done
            else [],
            "usage": {
                "input_tokens": INPUT_TOKENS,
                "input_tokens_details": {"cached_tokens": CACHED_TOKENS},
                "output_tokens": OUTPUT_TOKENS,
                "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
                "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
            }
            if done
            else None,
        }

    async def _responses(self, request: Request) -> Response:
        payload, scripted = await self._receive(request)
        if scripted is not None:
            return scripted
        model = payload["model"]
        if not payload.get("stream"):
            return JSONResponse(self._response_object(model, "completed"))

        async def events():  # type: ignore[no-untyped-def]
            def event(kind: str, data: dict[str, Any]) -> bytes:
                return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

            yield event(
                "response.created", {"response": self._response_object(model, "in_progress")}
            )
            for word in WORDS:
                yield event(
                    "response.output_text.delta",
                    {"item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": word},
                )
            yield event(
                "response.completed", {"response": self._response_object(model, "completed")}
            )

        return StreamingResponse(events(), media_type="text/event-stream")

    async def _models(self, request: Request) -> Response:
        await self._receive(request)
        return JSONResponse({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})


def test_fake_upstream_answers_chat_with_usage():
    import httpx

    with FakeUpstream() as fake:
        body = httpx.post(
            fake.base_url + "/chat/completions", json={"model": "m", "messages": []}
        ).json()
    assert body["usage"]["prompt_tokens"] == INPUT_TOKENS
    assert fake.received[0]["json"]["model"] == "m"
