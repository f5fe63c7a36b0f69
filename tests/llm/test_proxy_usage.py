"""Reading usage from answers and SSE streams, however the bytes are split."""

from __future__ import annotations

import json

import pytest

from baes.llm.proxy import StreamMeter, Usage, parse_usage, usage_from_payload
from baes.llm.proxy.usage import error_summary


def sse(payload: object, event: str | None = None, newline: str = "\n") -> bytes:
    head = f"event: {event}{newline}" if event else ""
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"{head}data: {data}{newline}{newline}".encode()


CHUNK = {"id": "c", "model": "m-2026", "choices": [{"index": 0, "delta": {"content": "hi"}}]}
USAGE = {
    "prompt_tokens": 10,
    "completion_tokens": 2,
    "total_tokens": 12,
    "prompt_tokens_details": {"cached_tokens": 4},
}
USAGE_CHUNK = {"id": "c", "model": "m-2026", "choices": [], "usage": USAGE}


def test_both_api_shapes_are_read_and_missing_details_stay_none():
    assert parse_usage(USAGE) == Usage(10, 2, 4, None)
    responses = {
        "input_tokens": 7,
        "output_tokens": 3,
        "output_tokens_details": {"reasoning_tokens": 1},
    }
    assert parse_usage(responses) == Usage(7, 3, None, 1)
    assert parse_usage({"prompt_tokens": 8, "total_tokens": 8}) == Usage(8, 0, None, None)
    assert parse_usage({"prompt_tokens": True}) is None
    assert parse_usage(None) is None
    assert usage_from_payload({"type": "response.completed", "response": {"usage": responses}})


def test_the_usage_chunk_is_removed_even_when_split_across_reads():
    stream = sse(CHUNK) + sse(USAGE_CHUNK) + sse("[DONE]")
    meter = StreamMeter(strip_usage_chunk=True)
    out = b"".join(meter.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)) + meter.finish()

    assert out == sse(CHUNK) + sse("[DONE]")
    assert meter.usage == Usage(10, 2, 4, None) and meter.model_served == "m-2026" and meter.done


def test_crlf_framed_events_are_understood():
    stream = sse(CHUNK, newline="\r\n") + sse(USAGE_CHUNK, newline="\r\n")
    meter = StreamMeter(strip_usage_chunk=True)
    assert meter.feed(stream) + meter.finish() == sse(CHUNK, newline="\r\n")
    assert meter.usage is not None


def test_whole_events_pass_on_unchanged_the_moment_they_arrive():
    meter = StreamMeter()
    read = sse(CHUNK) + sse(CHUNK)
    assert meter.feed(read) is read  # the very bytes that came, nothing copied or held
    # Half an event is held until its end (an SSE client could not use it before), so that an
    # event carrying an error can still be redacted before any of it is sent.
    half = sse(USAGE_CHUNK)[:20]
    assert meter.feed(half) == b""
    assert meter.feed(sse(USAGE_CHUNK)[20:] + sse(CHUNK)[:5]) == sse(USAGE_CHUNK)
    assert meter.usage == Usage(10, 2, 4, None)
    assert meter.feed(sse(CHUNK)[5:]) + meter.finish() == sse(CHUNK)


def test_an_unterminated_last_event_is_passed_on_at_the_end():
    meter = StreamMeter()
    assert meter.feed(b"data: [DONE]") == b""
    assert meter.finish() == b"data: [DONE]" and meter.done


ECHOED = "Incorrect API key provided: sk-proj-AbCdEfGhIjKlMnOpQrSt0123"


@pytest.mark.parametrize(
    "event",
    [
        sse({"error": {"message": ECHOED, "type": "invalid_request_error"}}),
        sse({"type": "error", "code": "invalid_api_key", "message": ECHOED}, "error"),
        sse(
            {"type": "response.failed", "response": {"error": {"message": ECHOED}}},
            "response.failed",
        ),
        f"event: error\ndata: {ECHOED}\n\n".encode(),
    ],
)
def test_an_event_that_carries_an_error_is_redacted_even_split_across_reads(event):
    stream = sse(CHUNK) + event + sse("[DONE]")
    meter = StreamMeter()
    out = b"".join(meter.feed(stream[i : i + 9]) for i in range(0, len(stream), 9)) + meter.finish()
    assert b"AbCdEfGhIjKl" not in out
    assert out == stream.replace(b"sk-proj-AbCdEfGhIjKlMnOpQrSt0123", b"sk-[redacted]")


def test_key_shaped_model_output_in_a_normal_chunk_passes_unchanged():
    chunk = {**CHUNK, "choices": [{"index": 0, "delta": {"content": "error: " + ECHOED}}]}
    meter = StreamMeter()
    meter.feed(sse(CHUNK))
    assert meter.feed(sse(chunk)) == sse(chunk)


def test_a_responses_stream_ends_at_its_terminal_event():
    meter = StreamMeter()
    meter.feed(
        sse(
            {"type": "response.created", "response": {"model": "m", "usage": None}},
            "response.created",
        )
    )
    assert not meter.done and meter.model_served == "m"
    done = {
        "type": "response.completed",
        "response": {"model": "m", "usage": {"input_tokens": 5, "output_tokens": 1}},
    }
    meter.feed(sse(done, "response.completed"))
    assert meter.done and meter.usage == Usage(5, 1, None, None)


def test_an_error_event_in_a_stream_is_noted():
    meter = StreamMeter()
    meter.feed(sse({"error": {"message": "overloaded", "type": "server_error"}}))
    assert meter.error == "stream error server_error: overloaded"


def test_the_responses_apis_error_events_are_noted():
    meter = StreamMeter()
    meter.feed(
        sse({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"}, "error")
    )
    assert meter.error == "stream error rate_limit_exceeded: slow down"
    failed = {
        "type": "response.failed",
        "response": {"model": "m", "error": {"code": "server_error", "message": "overloaded"}},
    }
    meter = StreamMeter()
    meter.feed(sse(failed, "response.failed"))
    assert meter.done and meter.error == "stream error server_error: overloaded"


def test_error_summaries_are_one_short_line():
    long = {"error": {"message": "x\n" * 500, "code": "context_length_exceeded"}}
    summary = error_summary(400, long)
    assert summary.startswith("HTTP 400 context_length_exceeded: x x") and len(summary) <= 200
    assert "\n" not in summary
    assert error_summary(502, None) == "HTTP 502"
