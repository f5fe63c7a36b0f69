"""Reading usage from answers and SSE streams, however the bytes are split."""

from __future__ import annotations

import json

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


def test_without_stripping_bytes_pass_on_the_moment_they_arrive():
    meter = StreamMeter()
    half = sse(USAGE_CHUNK)[:20]
    assert meter.feed(half) == half  # not held back waiting for the event's end
    meter.feed(sse(USAGE_CHUNK)[20:])
    assert meter.usage == Usage(10, 2, 4, None)


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


def test_error_summaries_are_one_short_line():
    long = {"error": {"message": "x\n" * 500, "code": "context_length_exceeded"}}
    summary = error_summary(400, long)
    assert summary.startswith("HTTP 400 context_length_exceeded: x x") and len(summary) <= 200
    assert "\n" not in summary
    assert error_summary(502, None) == "HTTP 502"
