"""A scripted OpenAI-compatible endpoint on loopback, for what the simulator never does:
refuse a call for the budget the way the metering proxy does, answer with an unsafe path, or
show exactly which headers and body the reference agent sent."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from baes.llm.loopback_server import LoopbackServer


@dataclass
class Reply:
    """One scripted answer: a chat completion with `content`, or an error `status` + `body`."""

    content: str | None = None
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def budget_refusal() -> Reply:
    """What the metering proxy answers once the experiment's budget is spent."""
    error = {
        "message": "the experiment's budget of $0.01 is spent",
        "type": "budget_exceeded",
        "code": "budget_exceeded",
        "param": None,
    }
    return Reply(status=429, body={"error": error}, headers={"x-should-retry": "false"})


class ScriptedProvider:
    """Answers chat completions from a script (the last reply repeats); records every request."""

    def __init__(self, *replies: Reply):
        self.script: deque[Reply] = deque(replies)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])
        self._server = LoopbackServer(app)

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self.requests.append({"headers": dict(request.headers), "body": body})
            reply = self.script.popleft() if len(self.script) > 1 else self.script[0]
        if reply.status != 200:
            return JSONResponse(reply.body or {}, status_code=reply.status, headers=reply.headers)
        message = {"role": "assistant", "content": reply.content}
        completion = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
        return JSONResponse(completion, headers=reply.headers)

    @property
    def base_url(self) -> str:
        return self._server.url + "/v1"

    def __enter__(self) -> ScriptedProvider:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
