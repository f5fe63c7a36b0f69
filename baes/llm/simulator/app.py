"""The HTTP face of the simulator: OpenAI's routes, bodies, errors and streams (starlette)."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from baes.llm.openai_errors import error_body
from baes.llm.simulator import openai_format as fmt
from baes.llm.simulator.determinism import short_hash
from baes.llm.simulator.faults import FaultKind
from baes.llm.simulator.messages import (
    Message,
    RequestFormatError,
    chat_messages,
    responses_messages,
)
from baes.llm.simulator.models import MODEL_NAMES
from baes.llm.simulator.provider import CallRequest, Completion, Fault
from baes.llm.simulator.tool_calls import ToolRequest, parse_tool_request
from baes.llm.simulator.usage_store import UsageQueryError, parse_usage_query

if TYPE_CHECKING:
    from baes.llm.simulator.provider import Simulator

MODEL_CREATED = 1_704_067_200  # 2024-01-01, a fixed "created" so model listings are stable
RETRY_AFTER_MS = 100
STREAM_PIECES_PER_CHUNK = 8
NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


class ApiError(Exception):
    """A request answered with an OpenAI error body."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = (
            status,
            message,
            type_,
            param,
            code,
        )

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body = error_body(self.message, self.type, self.param, self.code)
        return JSONResponse(body, status_code=self.status, headers=headers)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, NO_KEY_MESSAGE)
    return token.strip()


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400, "We could not parse the JSON body of your request. The body must be a JSON object."
        )
    return body


def _model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "you must provide a model parameter", param="model")
    return model


def _request_seed(body: dict[str, Any]) -> int | None:
    """OpenAI's optional `seed` parameter: an integer, or absent."""
    value = body.get("seed")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, "Invalid 'seed': expected an integer.", param="seed")
    return value


def _positive_int(body: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ApiError(400, f"Invalid '{name}': expected an integer >= 1.", param=name)
        return value
    return None


def _tooling(body: dict[str, Any], api: str) -> ToolRequest | None:
    """The request's function tools and tool_choice (tool_calls.py), or None without tools."""
    try:
        return parse_tool_request(body, api)
    except RequestFormatError as error:
        raise ApiError(400, str(error), param=error.param) from None


def _digest(body: dict[str, Any]) -> str:
    return short_hash(json.dumps(body, sort_keys=True, ensure_ascii=False), length=32)


def _fault_response(fault: Fault) -> JSONResponse:
    headers = {"x-request-id": f"req_fault_{fault.call_number}"}
    if fault.kind is FaultKind.RATE_LIMITED:
        headers["retry-after-ms"] = str(RETRY_AFTER_MS)
        headers["retry-after"] = str(math.ceil(RETRY_AFTER_MS / 1000))
        headers["x-ratelimit-remaining-requests"] = "0"
        error = ApiError(
            429,
            f"Rate limit reached for requests (simulated). Please try again in {RETRY_AFTER_MS}ms.",
            type_="requests",
            code="rate_limit_exceeded",
        )
        return error.response(headers)
    return ApiError(500, fmt.SERVER_ERROR_MESSAGE, type_="server_error").response(headers)


def _headers(completion: Completion, started: float) -> dict[str, str]:
    headers = {
        "x-request-id": f"req_{completion.id_suffix}",
        "openai-model": completion.model,
        "openai-processing-ms": str(int((time.monotonic() - started) * 1000)),
    }
    if completion.defect:
        headers["x-simulator-defect"] = completion.defect  # ground truth for experiments on repair
    return headers


def _chunks(pieces: list[str]) -> list[list[str]]:
    return [
        pieces[i : i + STREAM_PIECES_PER_CHUNK]
        for i in range(0, len(pieces), STREAM_PIECES_PER_CHUNK)
    ]


def build_app(simulator: Simulator) -> Starlette:
    """The starlette application serving one simulator."""

    async def guarded(handler: Any, request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error.response()

    async def list_models(request: Request) -> Response:
        _bearer(request)
        data = [
            {"id": name, "object": "model", "created": MODEL_CREATED, "owned_by": "baes-simulator"}
            for name in MODEL_NAMES
        ]
        return JSONResponse({"object": "list", "data": data})

    async def get_model(request: Request) -> Response:
        _bearer(request)
        name = request.path_params["model"]
        return JSONResponse(
            {"id": name, "object": "model", "created": MODEL_CREATED, "owned_by": "baes-simulator"}
        )

    async def start(
        api_key: str,
        model: str,
        messages: list[Message],
        endpoint: str,
        stream: bool,
        limit: int | None,
        body: dict[str, Any],
        tooling: ToolRequest | None = None,
    ) -> Completion | JSONResponse:
        """Start the call both generation endpoints make; a fault comes back as its response."""
        call = CallRequest(
            api_key,
            model,
            messages,
            endpoint,
            stream,
            limit,
            _digest(body),
            request_seed=_request_seed(body),
            tooling=tooling,
        )
        outcome = simulator.start_call(call)
        return _fault_response(outcome) if isinstance(outcome, Fault) else outcome

    async def chat_completions(request: Request) -> Response:
        started = time.monotonic()
        api_key = _bearer(request)
        body = await _json_body(request)
        model = _model(body)
        try:
            messages = chat_messages(body.get("messages"))
        except RequestFormatError as error:
            raise ApiError(400, str(error), param=error.param) from None
        if body.get("n") not in (None, 1):
            raise ApiError(400, "The simulator only supports n=1.", param="n")
        stream = bool(body.get("stream"))
        options = body.get("stream_options")
        if options is not None and not stream:
            raise ApiError(
                400,
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            )
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        limit = _positive_int(body, "max_completion_tokens", "max_tokens")
        tooling = _tooling(body, "chat")
        outcome = await start(
            api_key, model, messages, "/v1/chat/completions", stream, limit, body, tooling
        )
        if isinstance(outcome, JSONResponse):
            return outcome
        c = outcome
        created = int(simulator.clock())
        id_ = f"chatcmpl-{c.id_suffix}"
        fingerprint = "fp_sim" + short_hash(c.model, length=8)
        finish = "length" if not c.complete else "tool_calls" if c.tool_calls else "stop"
        usage = fmt.chat_usage(c.prompt_tokens, c.output_tokens, c.cached_tokens)
        if not stream:
            await asyncio.sleep(c.first_token_delay_s + c.per_token_delay_s * c.output_tokens)
            simulator.finish_call(c)
            body_out = fmt.chat_completion(
                id_, created, c.model, fingerprint, c.text, finish, usage
            )
            if c.tool_calls:
                body_out = fmt.with_tool_calls(body_out, c.tool_calls)
            return JSONResponse(body_out, headers=_headers(c, started))

        async def events() -> AsyncIterator[bytes]:
            recorded = False
            try:
                await asyncio.sleep(c.first_token_delay_s)
                content = None if c.tool_calls else ""
                role = {"role": "assistant", "content": content, "refusal": None}
                yield fmt.sse(
                    fmt.chat_chunk(id_, created, c.model, fingerprint, role, None, include_usage)
                )
                for delay, delta in _chat_deltas(c):
                    await asyncio.sleep(delay)
                    yield fmt.sse(
                        fmt.chat_chunk(
                            id_, created, c.model, fingerprint, delta, None, include_usage
                        )
                    )
                # Recorded before the last chunks so a client that read the whole stream sees it.
                simulator.finish_call(c)
                recorded = True
                yield fmt.sse(
                    fmt.chat_chunk(id_, created, c.model, fingerprint, {}, finish, include_usage)
                )
                if include_usage:
                    yield fmt.sse(fmt.chat_usage_chunk(id_, created, c.model, fingerprint, usage))
                yield fmt.sse("[DONE]")
            finally:
                if not recorded:  # the client went away mid-stream; the tokens were still spent
                    simulator.finish_call(c)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers=_headers(c, started)
        )

    async def responses(request: Request) -> Response:
        started = time.monotonic()
        api_key = _bearer(request)
        body = await _json_body(request)
        model = _model(body)
        if "input" not in body:
            raise ApiError(400, "Missing required parameter: 'input'.", param="input")
        try:
            messages = responses_messages(body.get("input"), body.get("instructions"))
        except RequestFormatError as error:
            raise ApiError(400, str(error), param=error.param) from None
        stream = bool(body.get("stream"))
        limit = _positive_int(body, "max_output_tokens")
        tooling = _tooling(body, "responses")
        outcome = await start(
            api_key, model, messages, "/v1/responses", stream, limit, body, tooling
        )
        if isinstance(outcome, JSONResponse):
            return outcome
        c = outcome
        created = int(simulator.clock())
        id_, message_id = f"resp_{c.id_suffix}", f"msg_{c.id_suffix}"
        usage = fmt.responses_usage(c.prompt_tokens, c.output_tokens, c.cached_tokens)
        final = fmt.response_object(
            id_, message_id, created, c.model, c.text, c.complete, usage, body, c.tool_calls
        )
        if not stream:
            await asyncio.sleep(c.first_token_delay_s + c.per_token_delay_s * c.output_tokens)
            simulator.finish_call(c)
            return JSONResponse(final, headers=_headers(c, started))
        pending = fmt.response_object(id_, message_id, created, c.model, "", True, None, body)
        events = _function_call_events if c.tool_calls else _response_events
        return StreamingResponse(
            events(simulator, c, pending, final, message_id),
            media_type="text/event-stream",
            headers=_headers(c, started),
        )

    async def usage_completions(request: Request) -> Response:
        key = _bearer(request)
        if key != simulator.admin_key:
            raise ApiError(
                403,
                "This endpoint requires an admin key (api.usage.read); the key given is not one.",
                code="insufficient_permissions",
            )
        if simulator.usage_fault():
            raise ApiError(500, fmt.SERVER_ERROR_MESSAGE, type_="server_error")
        params: dict[str, list[str]] = {}
        for name, value in request.query_params.multi_items():
            params.setdefault(name, []).append(value)
        try:
            query = parse_usage_query(params)
            return JSONResponse(simulator.usage_page(query))
        except UsageQueryError as error:
            raise ApiError(400, str(error), param=error.param) from None

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = (
            f"Invalid URL ({request.method} {request.url.path})" if status == 404 else str(exc)
        )
        return ApiError(status, message).response()

    def route(path: str, handler: Any, method: str) -> Route:
        async def endpoint(request: Request) -> Response:
            return await guarded(handler, request)

        return Route(path, endpoint, methods=[method])

    return Starlette(
        routes=[
            route("/v1/models", list_models, "GET"),
            route("/v1/models/{model:path}", get_model, "GET"),
            route("/v1/chat/completions", chat_completions, "POST"),
            route("/v1/responses", responses, "POST"),
            route("/v1/organization/usage/completions", usage_completions, "GET"),
        ],
        exception_handlers={HTTPException: http_error},
    )


def _chat_deltas(c: Completion) -> list[tuple[float, dict[str, Any]]]:
    """A chat stream's deltas after the role, each with the delay before it: content chunks,
    or the tool calls' deltas (tool_call_deltas) with their arguments in chunks."""
    if not c.tool_calls:
        return [
            (c.per_token_delay_s * len(group), {"content": "".join(group)})
            for group in _chunks(c.output_pieces)
        ]
    chunked = [["".join(g) for g in _chunks(list(pieces))] for pieces in c.argument_pieces]
    per_chunk = c.per_token_delay_s * STREAM_PIECES_PER_CHUNK
    return [(per_chunk, delta) for delta in fmt.tool_call_deltas(c.tool_calls, chunked)]


async def _function_call_events(
    simulator: Simulator,
    c: Completion,
    pending: dict[str, Any],
    final: dict[str, Any],
    message_id: str,
) -> AsyncIterator[bytes]:
    """A Responses API stream of function calls: per call, output_item.added, the arguments'
    deltas, function_call_arguments.done and output_item.done; then completed."""
    sequence = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal sequence
        sequence += 1
        return fmt.sse({"type": kind, "sequence_number": sequence - 1, **fields}, event=kind)

    recorded = False
    try:
        await asyncio.sleep(c.first_token_delay_s)
        yield event("response.created", response=pending)
        yield event("response.in_progress", response=pending)
        for index, (call, pieces) in enumerate(zip(c.tool_calls, c.argument_pieces, strict=True)):
            item_id = fmt.function_call_item_id(call)
            added = fmt.function_call_item(call, item_id, status="in_progress")
            yield event("response.output_item.added", output_index=index, item=added)
            for group in _chunks(list(pieces)):
                await asyncio.sleep(c.per_token_delay_s * len(group))
                yield event(
                    "response.function_call_arguments.delta",
                    item_id=item_id,
                    output_index=index,
                    delta="".join(group),
                )
            yield event(
                "response.function_call_arguments.done",
                item_id=item_id,
                output_index=index,
                arguments=call.arguments,
            )
            yield event(
                "response.output_item.done", output_index=index, item=final["output"][index]
            )
        simulator.finish_call(c)
        recorded = True
        yield event("response.completed" if c.complete else "response.incomplete", response=final)
    finally:
        if not recorded:
            simulator.finish_call(c)


async def _response_events(
    simulator: Simulator,
    c: Completion,
    pending: dict[str, Any],
    final: dict[str, Any],
    message_id: str,
) -> AsyncIterator[bytes]:
    """A Responses API stream: created, the text deltas, then completed (or incomplete)."""
    sequence = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal sequence
        sequence += 1
        return fmt.sse({"type": kind, "sequence_number": sequence - 1, **fields}, event=kind)

    recorded = False
    try:
        await asyncio.sleep(c.first_token_delay_s)
        yield event("response.created", response=pending)
        yield event("response.in_progress", response=pending)
        item = {
            "id": message_id,
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        yield event("response.output_item.added", output_index=0, item=item)
        empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        place = {"item_id": message_id, "output_index": 0, "content_index": 0}
        yield event("response.content_part.added", **place, part=empty_part)
        for group in _chunks(c.output_pieces):
            await asyncio.sleep(c.per_token_delay_s * len(group))
            yield event("response.output_text.delta", **place, delta="".join(group), logprobs=[])
        simulator.finish_call(c)
        recorded = True
        yield event("response.output_text.done", **place, text=c.text, logprobs=[])
        part = {"type": "output_text", "text": c.text, "annotations": [], "logprobs": []}
        yield event("response.content_part.done", **place, part=part)
        yield event("response.output_item.done", output_index=0, item=final["output"][0])
        yield event("response.completed" if c.complete else "response.incomplete", response=final)
    finally:
        if not recorded:
            simulator.finish_call(c)
