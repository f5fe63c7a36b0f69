"""The proxy's upstream HTTP/1.1 transport: pooled keep-alive connections on asyncio + httptools.

Why not httpx's own transport: httpcore, h11 and anyio cost about 1.1 ms of CPU per call in pure
Python. With them and an httpx.AsyncClient the proxy spent 3.7 ms of CPU per call; with this
transport it spends about 1.4 ms (benchmarks/proxy_overhead.py, 2 cores). It keeps httpx's
request and response types (timeouts, streamed answers, content decoding, exception types) and
replaces only the wire: the request goes out in one write and the answer is parsed by httptools
(llhttp, in C), as uvicorn does on the server side.

It serves every directly reached upstream, plain or TLS, loopback or remote, so the path the
tests take is the path real providers take. Only an upstream reached through an HTTP(S) proxy
named in the environment goes through httpx's own transport (`upstream_transport`).
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httptools
import httpx

from baes.llm.loopback_url import is_loopback

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Body bytes buffered ahead of a slow reader before the socket stops being read.
_HIGH_WATER = 256 * 1024
_Origin = tuple[str, str, int]


def environment_proxy(url: str) -> str | None:
    """The HTTP(S) proxy the environment names for `url`, if any (never for loopback)."""
    if is_loopback(url):
        return None
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):
        return None
    return proxy


def upstream_transport(url: str, keepalive_expiry_s: float = 15.0) -> httpx.AsyncBaseTransport:
    """The transport for calls to `url`: ours, or httpx's when an environment proxy applies."""
    proxy = environment_proxy(url)
    if proxy is not None:
        return httpx.AsyncHTTPTransport(
            proxy=proxy,
            limits=httpx.Limits(
                max_connections=None,
                max_keepalive_connections=64,
                keepalive_expiry=keepalive_expiry_s,
            ),
        )
    return UpstreamTransport(keepalive_expiry_s=keepalive_expiry_s)


def _request_head(request: httpx.Request) -> tuple[bytes, bool]:
    """The request line and headers on the wire, and whether the body goes chunked."""
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path)]
    chunked = False
    for name, value in request.headers.raw:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
            raise httpx.LocalProtocolError(f"header {name!r} holds a line break")
        if name.lower() == b"transfer-encoding" and value.lower() == b"chunked":
            chunked = True
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"\r\n")
    return b"".join(lines), chunked


def _expire(future: asyncio.Future, error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: _Origin):
        self.origin = origin
        self.idle_since = 0.0
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._closed = False
        self.lost = loop.create_future()  # resolved once the socket is really closed
        self._writable: asyncio.Future | None = None
        # State of the answer in flight.
        self._busy = False
        self._head_request = False
        self._head: asyncio.Future | None = None
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._until_close = False
        self._informational = False
        self._body: deque[bytes] = deque()
        self._buffered = 0
        self._reading_paused = False
        self._body_waiter: asyncio.Future | None = None
        self._complete = False
        self._keep_alive = False
        self._error: Exception | None = None

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self._busy:  # an idle connection has nothing to say; whatever it is, drop it
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if not self._complete:
                self._fail(httpx.RemoteProtocolError(f"malformed answer from the upstream: {exc}"))
            # else the answer was whole and only what followed it is wrong: keep the answer,
            # drop the connection.
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if not self.lost.done():
            self.lost.set_result(None)
        if self._writable is not None and not self._writable.done():
            self._writable.set_exception(httpx.WriteError("the upstream closed the connection"))
        if not self._busy or self._complete:
            return
        if self._head is not None and not self._head.done():
            self._fail(
                httpx.RemoteProtocolError("the upstream closed the connection without an answer")
            )
        elif self._until_close:
            self._complete, self._keep_alive = True, False
            self._wake()
        else:
            self._fail(
                httpx.RemoteProtocolError(
                    "the upstream closed the connection before its answer was complete"
                )
            )

    def pause_writing(self) -> None:
        self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # --- httptools callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._complete:  # a second answer to one request: the connection is out of step
            raise httpx.RemoteProtocolError("the upstream sent more than one answer")
        self._headers = []
        self._reason = b""

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        self._informational = 100 <= status < 200
        if self._informational:  # e.g. 103 Early Hints: the real answer follows
            return
        names = {name.lower() for name, _ in self._headers}
        self._until_close = (
            b"content-length" not in names
            and b"transfer-encoding" not in names
            and status not in (204, 304)
            and not self._head_request
        )
        if self._head is not None and not self._head.done():
            self._head.set_result((status, self._reason, self._headers))
        if self._head_request:
            # llhttp does not know the request was HEAD and would wait for a body; there is none.
            # The connection cannot be parsed past this point, so it is not reused.
            self._complete, self._keep_alive = True, False

    def on_body(self, body: bytes) -> None:
        if self._complete:  # bytes after a HEAD answer; there is no body to give them to
            return
        self._body.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._reading_paused and self._transport:
            self._transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._complete = True
        self._keep_alive = self._parser.should_keep_alive() and not self._head_request
        self._wake()

    # --- used by the transport ------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        return not self._closed and self._transport is not None and not self._transport.is_closing()

    @property
    def reusable(self) -> bool:
        return self._complete and self._keep_alive and self._error is None and self.usable

    async def send(
        self, request: httpx.Request, head: bytes, chunked: bool, timeouts: dict[str, float | None]
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Write the request; return the answer's status, reason phrase and headers."""
        assert self._transport is not None
        self._busy, self._complete, self._keep_alive, self._error = True, False, False, None
        self._body.clear()
        self._buffered = 0
        self._head_request = request.method == "HEAD"
        self._head = self._loop.create_future()
        try:
            body = request.content  # already in memory for bytes content
        except httpx.RequestNotRead:
            self._transport.write(head)
            async for chunk in request.stream:  # type: ignore[union-attr]
                if chunk:
                    self._transport.write(
                        b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
                    )
                    await self._drain(timeouts.get("write"))
            if chunked:
                self._transport.write(b"0\r\n\r\n")
        else:
            self._transport.write(head + body)
        await self._drain(timeouts.get("write"))
        return await self._wait(self._head, timeouts.get("read"), "no answer")

    async def next_chunk(self, read_timeout: float | None) -> bytes | None:
        """The body bytes that arrived since the last call, or None at the end of the answer."""
        while True:
            if self._body:
                chunk = self._body[0] if len(self._body) == 1 else b"".join(self._body)
                self._body.clear()
                self._buffered = 0
                if self._reading_paused and self._transport is not None:
                    self._reading_paused = False
                    self._transport.resume_reading()
                return chunk
            if self._error is not None:
                raise self._error
            if self._complete:
                return None
            self._body_waiter = self._loop.create_future()
            try:
                await self._wait(self._body_waiter, read_timeout, "the answer stalled")
            finally:
                self._body_waiter = None

    def finish(self) -> None:
        """The answer is done with (read or abandoned); an unfinished one ends the connection."""
        self._busy = False
        if not self.reusable:
            self.close()

    def close(self) -> None:
        self._closed = True
        if self._head is not None and not self._head.done():
            self._head.cancel()  # nobody waits for this answer any more
        if self._transport is not None:
            self._transport.close()

    # --- internals ------------------------------------------------------------------------------

    async def _drain(self, write_timeout: float | None) -> None:
        if self._writable is not None:
            await self._wait(self._writable, write_timeout, "could not send", httpx.WriteTimeout)
        if self._closed:
            raise httpx.WriteError("the upstream closed the connection while it was being written")

    async def _wait(
        self,
        future: asyncio.Future,
        timeout: float | None,
        what: str,
        error: type[httpx.TimeoutException] = httpx.ReadTimeout,
    ):  # type: ignore[no-untyped-def]
        # A timer on the future itself: cheaper than asyncio.wait_for's extra task per call.
        if timeout is None:
            return await future
        timer = self._loop.call_later(timeout, _expire, future, error(f"{what} in {timeout:g} s"))
        try:
            return await future
        finally:
            timer.cancel()

    def _fail(self, error: Exception) -> None:
        self._error = error
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
        self._wake()

    def _wake(self) -> None:
        waiter = self._body_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _AnswerStream(httpx.AsyncByteStream):
    """The body of one answer, read off its connection; the connection goes back when done."""

    def __init__(
        self, connection: _Connection, transport: UpstreamTransport, read_timeout: float | None
    ):
        self._connection: _Connection | None = connection
        self._transport = transport
        self._read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            raise httpx.StreamClosed()
        while (chunk := await connection.next_chunk(self._read_timeout)) is not None:
            yield chunk

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.finish()
            if connection.reusable:
                self._transport.give_back(connection)


class UpstreamTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 to any http(s) origin, with a keep-alive pool per origin; no proxy support."""

    def __init__(self, keepalive_expiry_s: float = 15.0, max_idle_per_origin: int = 64):
        self._keepalive_expiry_s = keepalive_expiry_s
        self._max_idle = max_idle_per_origin
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._ssl_context = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scheme = request.url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"the upstream URL must be http(s), got {scheme!r}")
        origin = (scheme, request.url.host, request.url.port or _DEFAULT_PORTS[scheme])
        timeouts = request.extensions.get("timeout", {})
        head, chunked = _request_head(request)
        connection = self._take_idle(origin) or await self._connect(origin, timeouts)
        try:
            status, reason, headers = await connection.send(request, head, chunked, timeouts)
        except BaseException:
            connection.close()
            raise
        return httpx.Response(
            status,
            headers=headers,
            stream=_AnswerStream(connection, self, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    def give_back(self, connection: _Connection) -> None:
        idle = self._idle.setdefault(connection.origin, [])
        if len(idle) >= self._max_idle:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    async def aclose(self) -> None:
        """Close every connection, idle or still answering, and wait until they are closed."""
        self._idle.clear()
        connections = list(self._open)
        for connection in connections:
            connection.close()
        if connections:  # a TLS close is a short exchange; let it finish before the loop may end
            await asyncio.wait([connection.lost for connection in connections], timeout=2.0)

    def _take_idle(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        expired_before = time.monotonic() - self._keepalive_expiry_s
        while idle:
            connection = idle.pop()  # the most recently used is the least likely to be closed
            if connection.usable and connection.idle_since > expired_before:
                return connection
            connection.close()
        return None

    async def _connect(self, origin: _Origin, timeouts: dict[str, float | None]) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = None
        if scheme == "https":
            if self._ssl_context is None:
                # certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR when set, as httpx does.
                self._ssl_context = httpx.create_ssl_context(trust_env=True)
                self._ssl_context.set_alpn_protocols(["http/1.1"])
            tls = self._ssl_context
        timeout = timeouts.get("connect")
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, origin),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} in {timeout:g} s") from None
        except OSError as exc:  # refused, unreachable, unknown host, TLS verification failed
            raise httpx.ConnectError(f"{host}:{port}: {exc}") from None
        self._open.add(connection)
        connection.lost.add_done_callback(lambda _: self._open.discard(connection))
        return connection
