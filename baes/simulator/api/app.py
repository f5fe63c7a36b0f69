"""The HTTP face of the simulator: OpenAI's routes, bodies, errors and streams (starlette)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from baes.llm.openai_errors import error_body
from baes.llm.run_seed_header import RUN_SEED_HEADER
from baes.simulator.answers.structured import (
    ResponseFormat,
    StructuredOutputError,
    chat_response_format,
    require_json_word,
    responses_text_format,
)
from baes.simulator.api import openai_format as fmt
from baes.simulator.api.embeddings import (
    EmbeddingRequestError,
    embedding_inputs,
    embeddings_body,
    encoding_format_of,
    requested_dimensions,
)
from baes.simulator.api.legacy_completions import (
    LEGACY_DEFAULT_MAX_TOKENS,
    legacy_completion,
    legacy_prompt,
)
from baes.simulator.determinism import short_hash
from baes.simulator.faults import FaultKind
from baes.simulator.messages import (
    Message,
    RequestFormatError,
    chat_messages,
    responses_messages,
)
from baes.simulator.models import (
    ALL_MODEL_NAMES,
    UnknownModelError,
    profile_for,
    require_embedding_model,
)
from baes.simulator.provider import (
    LEGACY_COMPLETIONS_ENDPOINT,
    CallRequest,
    Completion,
    Fault,
    api_key_id,
)
from baes.simulator.tool_calls import ToolRequest, parse_tool_request
from baes.simulator.usage_log import UsageLogError
from baes.simulator.usage_store import RecordedCall, UsageQueryError, parse_usage_query

if TYPE_CHECKING:
    from baes.simulator.provider import Simulator

T = TypeVar("T")
log = logging.getLogger(__name__)

MODEL_CREATED = 1_704_067_200  # 2024-01-01, a fixed "created" so model listings are stable
RETRY_AFTER_MS = 100
STREAM_PIECES_PER_CHUNK = 8
# A request body larger than this is parsed and answered in a worker thread. A prompt of many
# megabytes takes seconds of CPU (tokenizing, prompt caching, reading the spec); on the event
# loop that would hold up every other call the simulator serves. Smaller calls stay on the loop,
# where they cost less than a thread hand-off.
LARGE_REQUEST_BYTES = 256 * 1024
CHAT_ENDPOINT = "/v1/chat/completions"
RESPONSES_ENDPOINT = "/v1/responses"
# What differs between the two generation APIs that take structured output and tools: how
# structured output is asked for, and the API name tool_calls.py parses tools by.
STRUCTURED_APIS = {
    CHAT_ENDPOINT: (chat_response_format, "chat"),
    RESPONSES_ENDPOINT: (responses_text_format, "responses"),
}
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


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400, "We could not parse the JSON body of your request. The body must be a JSON object."
        )
    return body


def _model(body: dict[str, Any]) -> str:
    """The requested generation model; 404 model_not_found for a name the simulator lacks."""
    model = _model_name(body)
    try:
        profile_for(model)
    except UnknownModelError as error:
        raise _unknown_model(error) from None
    return model


def _model_name(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "you must provide a model parameter", param="model")
    return model


def _unknown_model(error: UnknownModelError) -> ApiError:
    return ApiError(404, str(error), param="model", code="model_not_found")


def _run_seed(request: Request) -> int | None:
    """The run's seed the metering proxy sends (RUN_SEED_HEADER), or None outside `baes run`."""
    value = request.headers.get(RUN_SEED_HEADER)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"Invalid {RUN_SEED_HEADER} header: expected an integer.") from None


def _format(parse: Any, body: dict[str, Any]) -> ResponseFormat | None:
    try:
        return parse(body)
    except StructuredOutputError as error:
        raise ApiError(400, str(error), param=error.param) from None


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


async def _off_the_loop_if_large(raw: bytes, work: Callable[[bytes], T]) -> T:
    """`work(raw)`, in a worker thread when the body is large (see LARGE_REQUEST_BYTES)."""
    if len(raw) > LARGE_REQUEST_BYTES:
        return await run_in_threadpool(work, raw)
    return work(raw)


def _billing_failure(simulator: Simulator, c: Completion) -> str | None:
    """Record a streamed call; the reason when it cannot be (disk full, permissions).

    Once a stream has begun its status cannot become a 500: the stream ends with an error event
    instead, and the server says why on its stderr rather than with a traceback.
    """
    try:
        simulator.finish_call(c)
    except UsageLogError as error:
        log.error("%s", error.message)
        return error.message
    return None


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
        except ClientDisconnect:
            # Gone before its request was complete: no call was made, nobody to answer.
            return Response(status_code=499)
        except UsageLogError as error:
            # The answer cannot be billed (disk full, permissions): a provider-side failure.
            log.error("%s", error.message)
            return ApiError(500, error.message, type_="server_error").response()

    async def list_models(request: Request) -> Response:
        _bearer(request)
        data = [
            {"id": name, "object": "model", "created": MODEL_CREATED, "owned_by": "baes-simulator"}
            for name in ALL_MODEL_NAMES
        ]
        return JSONResponse({"object": "list", "data": data})

    async def get_model(request: Request) -> Response:
        _bearer(request)
        name = request.path_params["model"]
        if name not in ALL_MODEL_NAMES:
            raise _unknown_model(UnknownModelError(name, ALL_MODEL_NAMES))
        return JSONResponse(
            {"id": name, "object": "model", "created": MODEL_CREATED, "owned_by": "baes-simulator"}
        )

    def start(
        api_key: str,
        model: str,
        messages: list[Message],
        endpoint: str,
        stream: bool,
        limit: int | None,
        body: dict[str, Any],
        run_seed: int | None = None,
    ) -> Completion | JSONResponse:
        """Start the call every generation endpoint makes; a fault comes back as its response.

        For chat/completions and the Responses API, the body's structured-output format and
        tools are read too (STRUCTURED_APIS); the legacy completions endpoint has neither.
        """
        response_format: ResponseFormat | None = None
        tooling: ToolRequest | None = None
        if endpoint in STRUCTURED_APIS:
            format_of, api = STRUCTURED_APIS[endpoint]
            response_format = _format(format_of, body)
            tooling = _tooling(body, api)
        call = CallRequest(
            api_key,
            model,
            messages,
            endpoint,
            stream,
            limit,
            _digest(body),
            request_seed=_request_seed(body),
            run_seed=run_seed,
            response_format=response_format,
            tooling=tooling,
        )
        try:
            require_json_word(messages, response_format)
            outcome = simulator.start_call(call)
        except StructuredOutputError as error:  # a schema the simulator cannot instantiate
            raise ApiError(400, str(error), param=error.param) from None
        return _fault_response(outcome) if isinstance(outcome, Fault) else outcome

    async def answered_whole(c: Completion) -> None:
        """Wait as long as the whole answer takes to generate, then record the call (the
        non-streamed form of every endpoint)."""
        await asyncio.sleep(c.first_token_delay_s + c.per_token_delay_s * c.output_tokens)
        simulator.finish_call(c)

    async def parse_and_start(request: Request, parse: Callable[[str, bytes, int | None], T]) -> T:
        """The common opening of the chat and Responses handlers: the key, the run seed, and
        `parse(api_key, body, run_seed)` (off the event loop when the body is large)."""
        api_key = _bearer(request)
        run_seed = _run_seed(request)
        return await _off_the_loop_if_large(
            await request.body(), lambda raw: parse(api_key, raw, run_seed)
        )

    def start_chat(
        api_key: str, raw: bytes, run_seed: int | None
    ) -> tuple[Completion | JSONResponse, bool, bool]:
        """Parse and check a chat request, then start its call: (outcome, stream, include_usage).

        CPU-bound for a large prompt, so it runs in a worker thread then.
        """
        body = _json_body(raw)
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
        outcome = start(api_key, model, messages, CHAT_ENDPOINT, stream, limit, body, run_seed)
        return outcome, stream, include_usage

    async def chat_completions(request: Request) -> Response:
        started = time.monotonic()
        outcome, stream, include_usage = await parse_and_start(request, start_chat)
        if isinstance(outcome, JSONResponse):
            return outcome
        c = outcome
        created = int(simulator.clock())
        id_ = f"chatcmpl-{c.id_suffix}"
        fingerprint = "fp_sim" + short_hash(c.model, length=8)
        finish = "length" if not c.complete else "tool_calls" if c.tool_calls else "stop"
        usage = fmt.chat_usage(c.prompt_tokens, c.output_tokens, c.cached_tokens)
        if not stream:
            await answered_whole(c)
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
                failure = _billing_failure(simulator, c)
                recorded = True
                if failure is not None:
                    yield fmt.sse(error_body(failure, "server_error", None, None))
                    return
                yield fmt.sse(
                    fmt.chat_chunk(id_, created, c.model, fingerprint, {}, finish, include_usage)
                )
                if include_usage:
                    yield fmt.sse(fmt.chat_usage_chunk(id_, created, c.model, fingerprint, usage))
                yield fmt.sse("[DONE]")
            finally:
                if not recorded:  # the client went away mid-stream; the tokens were still spent
                    _billing_failure(simulator, c)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers=_headers(c, started)
        )

    def start_response(
        api_key: str, raw: bytes, run_seed: int | None
    ) -> tuple[Completion | JSONResponse, bool, dict[str, Any]]:
        """Parse and check a Responses request, then start its call: (outcome, stream, body).

        CPU-bound for a large prompt, so it runs in a worker thread then.
        """
        body = _json_body(raw)
        model = _model(body)
        if "input" not in body:
            raise ApiError(400, "Missing required parameter: 'input'.", param="input")
        try:
            messages = responses_messages(body.get("input"), body.get("instructions"))
        except RequestFormatError as error:
            raise ApiError(400, str(error), param=error.param) from None
        stream = bool(body.get("stream"))
        limit = _positive_int(body, "max_output_tokens")
        outcome = start(api_key, model, messages, RESPONSES_ENDPOINT, stream, limit, body, run_seed)
        return outcome, stream, body

    async def responses(request: Request) -> Response:
        started = time.monotonic()
        outcome, stream, body = await parse_and_start(request, start_response)
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
            await answered_whole(c)
            return JSONResponse(final, headers=_headers(c, started))
        pending = fmt.response_object(id_, message_id, created, c.model, "", True, None, body)
        events = _function_call_events if c.tool_calls else _response_events
        return StreamingResponse(
            events(simulator, c, pending, final, message_id),
            media_type="text/event-stream",
            headers=_headers(c, started),
        )

    async def embeddings(request: Request) -> Response:
        """`POST /v1/embeddings`: deterministic vectors, metered like every model call."""
        started = time.monotonic()
        key_id = api_key_id(_bearer(request))
        body = _json_body(await request.body())
        try:
            model = require_embedding_model(_model_name(body))
        except UnknownModelError as error:
            raise _unknown_model(error) from None
        try:
            inputs = embedding_inputs(body.get("input"))
            dimensions = requested_dimensions(body)
            encoding = encoding_format_of(body)
        except EmbeddingRequestError as error:
            raise ApiError(400, str(error), param=error.param) from None
        fate = simulator.decide_fault(key_id, model, _digest(body))
        if isinstance(fate, Fault):
            return _fault_response(fate)
        await asyncio.sleep(simulator.options.latency_ms / 1000)
        simulator.record_call(
            RecordedCall(
                timestamp=simulator.clock(),
                api_key_id=key_id,
                model=model,
                input_tokens=sum(item.tokens for item in inputs),
                cached_tokens=0,
                output_tokens=0,
                endpoint="/v1/embeddings",
                stream=False,
            )
        )
        headers = {
            "x-request-id": "req_" + short_hash("embeddings", simulator.options.seed, fate),
            "openai-model": model,
            "openai-processing-ms": str(int((time.monotonic() - started) * 1000)),
        }
        return JSONResponse(embeddings_body(inputs, model, dimensions, encoding), headers=headers)

    async def legacy_completions(request: Request) -> Response:
        """`POST /v1/completions`: a prompt continued as text, metered like every model call."""
        started = time.monotonic()
        api_key = _bearer(request)
        body = _json_body(await request.body())
        model = _model(body)
        try:
            prompt = legacy_prompt(body.get("prompt"))
        except RequestFormatError as error:
            raise ApiError(400, str(error), param=error.param) from None
        if body.get("n") not in (None, 1) or body.get("best_of") not in (None, 1):
            raise ApiError(400, "The simulator only supports n=1 and best_of=1.", param="n")
        stream = bool(body.get("stream"))
        options = body.get("stream_options")
        include_usage = bool(stream and isinstance(options, dict) and options.get("include_usage"))
        # OpenAI's default for this endpoint is 16 tokens; without max_tokens answers are cut.
        limit = _positive_int(body, "max_tokens") or LEGACY_DEFAULT_MAX_TOKENS
        outcome = start(
            api_key,
            model,
            [Message("user", prompt)],
            LEGACY_COMPLETIONS_ENDPOINT,
            stream,
            limit,
            body,
            run_seed=_run_seed(request),
        )
        if isinstance(outcome, JSONResponse):
            return outcome
        c = outcome
        created = int(simulator.clock())
        id_ = f"cmpl-{c.id_suffix}"
        finish = "stop" if c.complete else "length"
        usage = {
            "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.output_tokens,
            "total_tokens": c.prompt_tokens + c.output_tokens,
        }
        echo = prompt if body.get("echo") is True else ""
        if not stream:
            await answered_whole(c)
            out = legacy_completion(id_, created, c.model, echo + c.text, finish, usage)
            return JSONResponse(out, headers=_headers(c, started))

        async def events() -> AsyncIterator[bytes]:
            recorded = False
            try:
                await asyncio.sleep(c.first_token_delay_s)
                groups = ([[echo]] if echo else []) + _chunks(c.output_pieces)
                for group in groups:
                    await asyncio.sleep(c.per_token_delay_s * len(group))
                    chunk = legacy_completion(id_, created, c.model, "".join(group), None, None)
                    if include_usage:
                        chunk["usage"] = None
                    yield fmt.sse(chunk)
                simulator.finish_call(c)
                recorded = True
                last = legacy_completion(id_, created, c.model, "", finish, None)
                yield fmt.sse(last | ({"usage": None} if include_usage else {}))
                if include_usage:
                    tail = legacy_completion(id_, created, c.model, "", None, usage)
                    yield fmt.sse(tail | {"choices": []})
                yield fmt.sse("[DONE]")
            finally:
                if not recorded:
                    simulator.finish_call(c)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers=_headers(c, started)
        )

    async def usage_completions(request: Request) -> Response:
        return await usage_report(request, "completions")

    async def usage_embeddings(request: Request) -> Response:
        return await usage_report(request, "embeddings")

    async def usage_report(request: Request, usage: str) -> Response:
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
            return JSONResponse(simulator.usage_page(query, usage))
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
            route(CHAT_ENDPOINT, chat_completions, "POST"),
            route(RESPONSES_ENDPOINT, responses, "POST"),
            route("/v1/embeddings", embeddings, "POST"),
            route("/v1/completions", legacy_completions, "POST"),
            route("/v1/organization/usage/completions", usage_completions, "GET"),
            route("/v1/organization/usage/embeddings", usage_embeddings, "GET"),
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


def _numbered_events() -> Callable[..., bytes]:
    """A Responses API stream's event builder: each event gets the next sequence_number."""
    numbers = itertools.count()

    def event(kind: str, **fields: Any) -> bytes:
        return fmt.sse({"type": kind, "sequence_number": next(numbers), **fields}, event=kind)

    return event


async def _function_call_events(
    simulator: Simulator,
    c: Completion,
    pending: dict[str, Any],
    final: dict[str, Any],
    message_id: str,
) -> AsyncIterator[bytes]:
    """A Responses API stream of function calls: per call, output_item.added, the arguments'
    deltas, function_call_arguments.done and output_item.done; then completed."""
    event = _numbered_events()
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
    event = _numbered_events()
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
        failure = _billing_failure(simulator, c)
        recorded = True
        if failure is not None:
            yield event("error", code="server_error", message=failure, param=None)
            return
        yield event("response.output_text.done", **place, text=c.text, logprobs=[])
        part = {"type": "output_text", "text": c.text, "annotations": [], "logprobs": []}
        yield event("response.content_part.done", **place, part=part)
        yield event("response.output_item.done", output_index=0, item=final["output"][0])
        yield event("response.completed" if c.complete else "response.incomplete", response=final)
    finally:
        if not recorded:
            _billing_failure(simulator, c)
