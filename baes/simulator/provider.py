"""The simulator's state and its one operation: answering a model call."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from baes.simulator.answers.codegen import Answer, generate_answer
from baes.simulator.answers.prompt_json import prompt_json_answer, requested_json
from baes.simulator.answers.structured import ResponseFormat, structured_answer
from baes.simulator.answers.tagged_json import requested_tagged_json, tagged_json_answer
from baes.simulator.determinism import digest, short_hash
from baes.simulator.faults import FaultKind, FaultPlan
from baes.simulator.messages import Message, ToolCall
from baes.simulator.models import profile_for
from baes.simulator.options import SimulatorOptions
from baes.simulator.prompt_cache import PromptCache
from baes.simulator.tokens import prompt_tokens, tokenize
from baes.simulator.tool_calls import ToolRequest
from baes.simulator.usage_log import UsageLog
from baes.simulator.usage_store import FaultEvent, RecordedCall, UsageQuery, UsageStore

LEGACY_COMPLETIONS_ENDPOINT = "/v1/completions"


def api_key_id(api_key: str) -> str:
    """The stable, non-secret id of an API key, as usage records and the usage API show it."""
    return "key_" + short_hash("api-key", api_key, length=16)


@dataclass(frozen=True)
class CallRequest:
    """A validated model call, whichever endpoint it came through."""

    api_key: str
    model: str
    messages: Sequence[Message]
    endpoint: str
    stream: bool
    max_output_tokens: int | None
    body_digest: str
    # OpenAI's `seed` request parameter: a different seed draws a different answer, as sampling
    # does on a real model; the same seed and messages give the same answer.
    request_seed: int | None = None
    # The run's seed, sent by baes's metering proxy (header RUN_SEED_HEADER): each run of a
    # framework draws its own answers, as repeated runs against a real model do.
    run_seed: int | None = None
    # `response_format` / `text.format`: the answer is JSON (see structured.py).
    response_format: ResponseFormat | None = None
    # The request's function tools and tool_choice (None without tools): see tool_agent.py.
    tooling: ToolRequest | None = None


@dataclass(frozen=True)
class Completion:
    """The answer to a call, with everything needed to send and meter it."""

    call_number: int
    id_suffix: str
    model: str
    text: str
    output_pieces: list[str]
    complete: bool
    prompt_tokens: int
    cached_tokens: int
    first_token_delay_s: float
    per_token_delay_s: float
    api_key_id: str
    endpoint: str
    stream: bool
    defect: str | None
    # A tool-calling answer: the calls (text is then empty), each call's arguments as tokens.
    tool_calls: tuple[ToolCall, ...] = ()
    argument_pieces: tuple[tuple[str, ...], ...] = ()

    @property
    def output_tokens(self) -> int:
        return len(self.output_pieces) + tool_call_tokens(self.tool_calls, self.argument_pieces)


@dataclass(frozen=True)
class Fault:
    """A call answered with an injected error."""

    call_number: int
    kind: FaultKind


def tool_call_tokens(calls: Sequence[ToolCall], argument_pieces: Sequence[Sequence[str]]) -> int:
    """Output tokens of tool calls: each function's name and its arguments' tokens."""
    return sum(len(tokenize(c.name)) + len(p) for c, p in zip(calls, argument_pieces, strict=True))


def cut_tool_calls(
    calls: Sequence[ToolCall], limit: int | None
) -> tuple[tuple[ToolCall, ...], tuple[tuple[str, ...], ...], bool]:
    """The tool calls that fit in `limit` output tokens (the last one's arguments cut off, as
    a real model's are at max_tokens), their argument tokens, and whether all of them fit."""
    kept: list[ToolCall] = []
    pieces: list[tuple[str, ...]] = []
    budget = limit
    for call in calls:
        arguments = tokenize(call.arguments)
        cost = len(tokenize(call.name)) + len(arguments)
        if budget is not None and cost > budget:
            room = max(0, budget - len(tokenize(call.name)))
            if room:
                cut = tuple(arguments[:room])
                kept.append(ToolCall(call.id, call.name, "".join(cut)))
                pieces.append(cut)
            return tuple(kept), tuple(pieces), False
        kept.append(call)
        pieces.append(tuple(arguments))
        budget = None if budget is None else budget - cost
    return tuple(kept), tuple(pieces), True


class Simulator:
    """An OpenAI-compatible provider in memory: deterministic answers, latency, faults,
    prompt caching and usage records. Its HTTP face is baes.simulator.api.app.build_app(it).

    `clock` (seconds since the epoch) stamps recorded calls and drives the usage lag; tests
    may pass their own to place calls in chosen buckets.
    """

    def __init__(
        self, options: SimulatorOptions | None = None, *, clock: Callable[[], float] = time.time
    ):
        self.options = options or SimulatorOptions()
        self.admin_key = self.options.admin_key or "sk-admin-sim-" + secrets.token_urlsafe(24)
        self.clock = clock
        # Usage records carry their cached-token counts and key ids (hashes of the key), so a
        # usage log read back after a restart reports exactly what was billed; the prompt cache
        # itself starts empty again, as a real provider's expires.
        log = UsageLog(self.options.usage_log) if self.options.usage_log is not None else None
        self._usage = UsageStore(log)
        self._cache = PromptCache(self.options.prompt_cache_ttl_s, clock)
        self._faults = FaultPlan(
            self.options.seed, self.options.error_rate, self.options.rate_limit_rate
        )
        self._usage_faults = FaultPlan(self.options.seed, self.options.usage_error_rate, 0)

    @property
    def calls(self) -> list[RecordedCall]:
        """Every successful model call so far, oldest first."""
        return self._usage.calls()

    @property
    def faults(self) -> list[FaultEvent]:
        """Every call answered with an injected 500 or 429, oldest first."""
        return self._usage.faults()

    def answer_seed(self, request: CallRequest) -> int:
        """The simulator's seed, mixed with the run's seed and the request's own `seed` when
        they are given (without either, the simulator's seed alone, as before run seeds)."""
        if request.request_seed is None and request.run_seed is None:
            return self.options.seed
        if request.run_seed is None:
            parts: tuple[object, ...] = ("request-seed", self.options.seed, request.request_seed)
        else:
            parts = ("run-seed", self.options.seed, request.run_seed, request.request_seed)
        return int.from_bytes(digest(*parts)[:8], "big")

    def cache_namespace(self, key_id: str, run_seed: int | None) -> str:
        """Whose cached prefixes a call may hit: its key's, or (scope "run") its run's only."""
        if self.options.prompt_cache_scope == "run" and run_seed is not None:
            return f"{key_id}:run:{run_seed}"
        return key_id

    def decide_fault(self, key_id: str, model: str, body_digest: str) -> Fault | int:
        """The injected fault of the next model call (recorded), or its call number."""
        decision = self._faults.decide(f"{key_id}:{body_digest}")
        if decision.fault is None:
            return decision.call_number
        self._usage.record_fault(
            FaultEvent(self.clock(), key_id, model, decision.fault.value, decision.call_number)
        )
        return Fault(decision.call_number, decision.fault)

    def record_call(self, call: RecordedCall) -> None:
        """Record a call that was answered (every endpoint's usage goes through here)."""
        self._usage.record(call)

    def start_call(self, request: CallRequest) -> Completion | Fault:
        """Decide the call's fate and, unless it faults, compute its answer and usage."""
        key_id = api_key_id(request.api_key)
        fate = self.decide_fault(key_id, request.model, request.body_digest)
        if isinstance(fate, Fault):
            return fate
        seed = self.answer_seed(request)
        answer = generate_answer(request.messages, request.model, seed, request.tooling)
        # JSON asked for in words (no response_format), unless the answer is a tool call:
        # between markers a format example shows, or plain.
        in_words = not request.response_format and not answer.tool_calls
        tagged = requested_tagged_json(request.messages) if in_words else None
        asked = requested_json(request.messages) if in_words and tagged is None else None
        if tagged is not None:
            text = tagged_json_answer(request.messages, tagged)
            answer = Answer(text)  # JSON carries no injected defect
        elif asked is not None:
            text = prompt_json_answer(request.messages, request.model, seed, asked, answer)
            answer = Answer(text)  # JSON carries no injected defect
        elif request.response_format is not None:
            text = structured_answer(
                request.messages, request.model, seed, request.response_format, answer
            )
            answer = Answer(text)  # JSON carries no injected defect
        pieces = tokenize(answer.text)
        complete = request.max_output_tokens is None or len(pieces) <= request.max_output_tokens
        if not complete:
            pieces = pieces[: request.max_output_tokens]
        calls, argument_pieces, calls_complete = cut_tool_calls(
            answer.tool_calls, request.max_output_tokens
        )
        complete = complete and calls_complete
        prompt = (
            tokenize(request.messages[0].text)  # a legacy prompt is bare text, no chat framing
            if request.endpoint == LEGACY_COMPLETIONS_ENDPOINT
            else prompt_tokens(request.messages)
        )
        profile = profile_for(request.model)
        return Completion(
            call_number=fate,
            id_suffix=short_hash("call", self.options.seed, fate, length=24),
            model=request.model,
            text="".join(pieces),
            output_pieces=pieces,
            complete=complete,
            prompt_tokens=len(prompt),
            cached_tokens=self._cache.lookup_and_store(
                self.cache_namespace(key_id, request.run_seed), prompt
            ),
            first_token_delay_s=self.options.latency_ms / 1000,
            per_token_delay_s=self.options.latency_per_token_ms * profile.latency_factor / 1000,
            api_key_id=key_id,
            endpoint=request.endpoint,
            stream=request.stream,
            defect=answer.defect.describe() if answer.defect else None,
            tool_calls=calls,
            argument_pieces=argument_pieces,
        )

    def finish_call(self, completion: Completion) -> None:
        """Record a call once its answer has been produced."""
        self.record_call(
            RecordedCall(
                timestamp=self.clock(),
                api_key_id=completion.api_key_id,
                model=completion.model,
                input_tokens=completion.prompt_tokens,
                cached_tokens=completion.cached_tokens,
                output_tokens=completion.output_tokens,
                endpoint=completion.endpoint,
                stream=completion.stream,
                defect=completion.defect,
            )
        )

    def usage_fault(self) -> bool:
        """Whether this usage-API request is answered with an injected 500 (`usage_error_rate`)."""
        return self._usage_faults.decide("usage").fault is not None

    def usage_page(self, query: UsageQuery, usage: str = "completions") -> dict[str, Any]:
        """One page of the organization's completions (or embeddings) usage, as the usage API
        returns it."""
        return self._usage.page(query, self.clock(), self.options.usage_lag_s, usage)
