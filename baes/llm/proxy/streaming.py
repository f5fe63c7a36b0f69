"""Relay an upstream SSE stream to the client chunk by chunk, metering it on the way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from baes.llm.proxy.recording import CallRecorder
from baes.llm.proxy.upstream import UpstreamAnswer, UpstreamError, UpstreamTimeout
from baes.llm.proxy.usage import StreamMeter


class MeteredStreamResponse(StreamingResponse):
    """Pass each upstream chunk on as it arrives; record the call when the stream ends.

    The ledger line is written however the stream ends: completed, upstream failure, or the
    client hanging up (then starlette cancels the relay and the line says so).
    """

    def __init__(
        self,
        upstream: UpstreamAnswer,
        meter: StreamMeter,
        call: CallRecorder,
        headers: list[tuple[bytes, bytes]],
    ):
        self._upstream = upstream
        self._meter = meter
        self._call = call
        self._error: str | None = None
        self._completed = False
        super().__init__(self._relay(), status_code=upstream.status)
        self.raw_headers = headers

    async def _relay(self) -> AsyncIterator[bytes]:
        transcript = self._call.transcript
        collector = transcript.stream if transcript is not None else None
        try:
            async for chunk in self._upstream.chunks():
                if collector is not None:
                    collector.feed(chunk)
                out = self._meter.feed(chunk)
                if self._meter.done:
                    # Record before the client sees the end, so a client that has its whole
                    # answer can rely on the ledger line being there.
                    self._completed = True
                    self._record()
                if out:
                    yield out
            tail = self._meter.finish()
            self._completed = True
            self._record()
            if tail:
                yield tail
        except UpstreamTimeout as exc:
            self._error = f"upstream stream timed out ({type(exc).__name__})"
            raise
        except UpstreamError as exc:
            self._error = f"upstream stream broke off ({type(exc).__name__})"
            raise

    def _record(self) -> None:
        """Write the ledger line (once; later calls are no-ops)."""
        self._call.finish(
            self._upstream.status,
            usage=self._meter.usage,
            model_served=self._meter.model_served,
            error=self._error or self._meter.error,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Recording first and synchronously: it must happen even while being cancelled.
            if not self._completed and self._error is None:
                self._error = "client disconnected before the stream ended"
            self._record()
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
                self._upstream.close()
