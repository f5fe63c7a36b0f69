"""The starlette app: `/t/<token>/v1/<path>` → `<upstream>/<path>`, metered, policed, budgeted."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from baes.llm.openai_errors import error_body
from baes.llm.proxy.budget import Budget
from baes.llm.proxy.headers import client_headers, upstream_headers
from baes.llm.proxy.paths import RefusedPath, upstream_url
from baes.llm.proxy.recording import CallRecorder
from baes.llm.proxy.streaming import MeteredStreamResponse
from baes.llm.proxy.tokens import AttributionRegistry
from baes.llm.proxy.transcripts import StreamCollector
from baes.llm.proxy.upstream import (
    ConnectError,
    Upstream,
    UpstreamError,
    UpstreamTimeout,
)
from baes.llm.proxy.usage import StreamMeter, error_summary, model_from_payload, usage_from_payload
from baes.redaction import redact

log = logging.getLogger(__name__)

ModelPolicy = Literal["rewrite", "reject", "record"]

# Endpoints that generate with "the model"; parity applies to them only (an embeddings model is
# not the experiment's model, so /embeddings is metered but never rewritten).
GENERATION_ENDPOINTS = frozenset({"chat/completions", "completions", "responses"})
# Endpoints whose streams carry usage only when asked for with stream_options.include_usage.
USAGE_OPTION_ENDPOINTS = frozenset({"chat/completions", "completions"})
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@dataclass(frozen=True)
class ProxySettings:
    """Where calls go and how they are policed; everything but the key and the state."""

    upstream_base_url: str
    experiment_model: str | None = None
    model_policy: ModelPolicy = "rewrite"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 600.0
    # The upstream is baes's simulator: tell it each call's run seed (run_seed_header.py).
    send_run_seed: bool = False


def error_response(
    status: int,
    message: str,
    type_: str,
    code: str | None,
    param: str | None = None,
    retry: bool | None = None,
) -> Response:
    """A JSON error answer shaped like OpenAI's; `retry=False` tells SDKs not to retry it."""
    headers = {} if retry is None else {"x-should-retry": "true" if retry else "false"}
    # The simulator's builder, so the two cannot drift apart on OpenAI's error envelope.
    body = json.dumps(error_body(message, type_, param, code), ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _raw_response(content: bytes, status: int, headers: list[tuple[bytes, bytes]]) -> Response:
    response = Response(content, status_code=status)
    framing = (
        [] if status < 200 or status in (204, 304) else [(b"content-length", b"%d" % len(content))]
    )
    response.raw_headers = [*headers, *framing]
    return response


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content) if content[:1] in (b"{", b"[") else None
    except ValueError:
        return None


class ProxyHandler:
    """Handles every proxied call; owns the one pooled upstream client."""

    def __init__(
        self,
        settings: ProxySettings,
        registry: AttributionRegistry,
        budget: Budget,
        api_key: str | None,
    ):
        self._settings = settings
        self._upstream = settings.upstream_base_url.rstrip("/")
        self._registry = registry
        self._budget = budget
        self._api_key = api_key
        self._http: Upstream | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def app(self) -> Starlette:
        """The ASGI app to serve."""
        return Starlette(
            routes=[
                Route("/t/{token}/v1/{path:path}", self.handle, methods=ALL_METHODS),
                Route("/{rest:path}", self._not_found, methods=ALL_METHODS),
            ]
        )

    def _upstream_client(self) -> Upstream:
        # Created on first use so it belongs to the server's event loop.
        if self._http is None:
            self._loop = asyncio.get_running_loop()
            self._http = Upstream(
                self._upstream,
                connect_timeout_s=self._settings.connect_timeout_s,
                read_timeout_s=self._settings.read_timeout_s,
            )
        return self._http

    def close_upstream(self, timeout_s: float = 5.0) -> None:
        """Close the upstream connections from another thread, while the server loop still runs."""
        http, loop, self._http = self._http, self._loop, None
        if http is None or loop is None or loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(http.aclose(), loop).result(timeout_s)
        except (FutureTimeout, RuntimeError) as exc:
            log.warning("upstream connections did not close cleanly: %r", exc)

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key or "")

    def _redact_body(self, content: bytes) -> bytes:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return content  # not text: nothing a key could be read from as such
        cleaned = self._redact(text)
        return content if cleaned == text else cleaned.encode("utf-8")

    async def _not_found(self, request: Request) -> Response:
        return error_response(
            404,
            "the baes metering proxy serves only /t/<token>/v1/...; use the base URL baes gave you",
            "invalid_request_error",
            "not_found",
        )

    async def handle(self, request: Request) -> Response:
        """Forward one call upstream and record it in its attribution's ledger."""
        token = request.path_params["token"]
        attribution = self._registry.begin_call(token)
        if attribution is None:
            return error_response(
                401,
                "unknown or closed attribution token in the proxy URL; use the base URL baes "
                "handed to this run step",
                "invalid_request_error",
                "invalid_attribution_token",
                retry=False,
            )
        path = request.path_params["path"]
        call = CallRecorder(self._registry, self._budget, attribution, "/v1/" + path, self._redact)
        try:
            url = upstream_url(self._upstream, token, request.scope)
        except RefusedPath as refused:
            call.finish(400, error=f"path_refused: {refused.reason}")
            return error_response(
                400,
                f"the baes metering proxy forwards only normalised paths under the upstream's "
                f"API prefix ({refused.reason}); see docs/metering.md",
                "invalid_request_error",
                "invalid_path",
                retry=False,
            )
        try:
            run_seed = attribution.seed if self._settings.send_run_seed else None
            return await self._forward(request, url, path, call, run_seed)
        except asyncio.CancelledError:
            call.finish(499, error="client disconnected before the answer")
            raise
        except ClientDisconnect:
            # Gone before its request was complete: nothing was forwarded, nobody to answer.
            call.finish(499, error="client disconnected while sending the request")
            return Response(status_code=499)
        except Exception as exc:
            log.error("metering proxy failed on %s: %s", call.endpoint, type(exc).__name__)
            log.debug("traceback of the proxy failure", exc_info=True)
            call.finish(500, error=f"proxy error: {type(exc).__name__}")
            return error_response(
                500, f"the baes metering proxy failed ({type(exc).__name__})", "proxy_error", None
            )

    async def _forward(
        self, request: Request, url: str, path: str, call: CallRecorder, run_seed: int | None
    ) -> Response:
        method = request.method
        body = await request.body()
        payload = None
        if method == "POST" and body[:1] == b"{":
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None  # the upstream will say what is wrong with it
        if isinstance(payload, dict):
            model = payload.get("model")
            call.model_requested = model if isinstance(model, str) else None
            call.stream = payload.get("stream") is True
        else:
            payload = None
        if call.transcript is not None:
            # The same object the policies below change: the transcript keeps what was forwarded.
            call.transcript.request = payload

        refusal = self._budget.refusal()
        if refusal is not None:
            call.finish(429, error=f"budget_exceeded: {refusal}")
            return error_response(429, refusal, "budget_exceeded", "budget_exceeded", retry=False)

        changed = False
        experiment_model = self._settings.experiment_model
        if (
            payload is not None
            and path in GENERATION_ENDPOINTS
            and experiment_model is not None
            and call.model_requested != experiment_model
        ):
            policy = self._settings.model_policy
            if policy == "reject" and call.model_requested is not None:
                message = (
                    f"this experiment uses model {experiment_model!r} but the request asked for "
                    f"{call.model_requested!r}; the model policy is 'reject'"
                )
                call.finish(
                    400,
                    error=f"model_rejected: asked {call.model_requested!r}, "
                    f"experiment model {experiment_model!r}",
                )
                return error_response(
                    400, message, "invalid_request_error", "model_not_allowed", param="model"
                )
            if policy == "rewrite":
                payload["model"] = experiment_model
                changed = True

        strip_usage_chunk = False
        if payload is not None and call.stream and path in USAGE_OPTION_ENDPOINTS:
            options = payload.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage") is True):
                payload["stream_options"] = {
                    **(options if isinstance(options, dict) else {}),
                    "include_usage": True,
                }
                strip_usage_chunk = changed = True
        if changed:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

        try:
            upstream = await self._upstream_client().send(
                method, url, upstream_headers(request.headers.raw, self._api_key, run_seed), body
            )
        except UpstreamError as exc:
            return self._gateway_failure(call, exc)

        headers = client_headers(upstream.headers)
        if upstream.content_type.startswith("text/event-stream"):
            call.stream = True
            if call.transcript is not None:
                call.transcript.stream = StreamCollector()
            # An error event in the stream may echo the key, like an error body (see below).
            meter = StreamMeter(strip_usage_chunk, self._redact)
            return MeteredStreamResponse(upstream, meter, call, headers)

        try:
            content = await upstream.read()
        except UpstreamError as exc:
            return self._gateway_failure(call, exc)
        status = upstream.status
        if status >= 400:
            # A provider may echo the key it was sent ("Incorrect API key provided: sk-…"): the
            # framework must not learn it, nor print it into its logs.
            content = self._redact_body(content)
        parsed = _json_or_none(content)
        if status >= 400:
            call.finish(status, error=error_summary(status, parsed), body=content)
        else:
            call.finish(
                status, usage_from_payload(parsed), model_from_payload(parsed), body=content
            )
        return _raw_response(content, status, headers)

    def _gateway_failure(self, call: CallRecorder, exc: UpstreamError) -> Response:
        """504 for an upstream that timed out, 502 for one unreachable or broken off."""
        kind = type(exc).__name__
        detail = " ".join(str(exc).split())[:160]
        if isinstance(exc, UpstreamTimeout):
            message = (
                f"the upstream {self._upstream} did not answer in time ({kind}; connect "
                f"timeout {self._settings.connect_timeout_s:g} s, read timeout "
                f"{self._settings.read_timeout_s:g} s)"
            )
            call.finish(504, error=f"upstream timeout: {kind}")
            return error_response(504, message, "upstream_timeout", "upstream_timeout")
        if isinstance(exc, ConnectError):
            message = f"the upstream {self._upstream} could not be reached ({kind}: {detail})"
            call.finish(502, error=f"upstream unreachable: {kind}: {detail}")
            code = "upstream_unreachable"
        else:
            message = f"the upstream {self._upstream} broke off the answer ({kind}: {detail})"
            call.finish(502, error=f"upstream broke off: {kind}: {detail}")
            code = "upstream_error"
        return error_response(502, self._redact(message), code, code)
