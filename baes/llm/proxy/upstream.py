"""The proxy's client to its one upstream: an aiohttp session with a keep-alive pool.

One `Upstream` per proxy, created on the server's event loop. It sends a request whose body is
already in memory and hands back the answer's head at once and its body chunk by chunk, so a
stream is relayed as it arrives; aiohttp stops reading the socket while a chunk waits for the
client (backpressure). The answer is decoded (gzip, deflate) because the proxy must read usage
from it; the proxy offers only those encodings itself (baes.llm.proxy.headers).

aiohttp's failures are translated into the few kinds the proxy tells apart (connect, read,
protocol), named as the ledger's `error` texts name them (docs/metering.md).
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterable
from urllib.parse import urlsplit

import aiohttp
import aiohttp.payload
import httpx
from yarl import URL

from baes.llm.loopback_url import is_loopback

_MAX_HEAD_LINE = 64 * 1024
_WRITE_PIECE = 256 * 1024


class UpstreamError(Exception):
    """The upstream could not be reached, or did not answer properly; the proxy answers 502/504."""


class UpstreamTimeout(UpstreamError):
    """The upstream took longer than a timeout allows (504)."""


class ConnectTimeout(UpstreamTimeout):
    """No connection to the upstream within the connect timeout."""


class ReadTimeout(UpstreamTimeout):
    """Connected, but no answer, or no next part of it, within the read timeout."""


class WriteTimeout(UpstreamTimeout):
    """The upstream stopped taking the request body for longer than the write timeout."""


class ConnectError(UpstreamError):
    """The upstream cannot be reached: refused, unknown host, TLS verification failed."""


class RemoteProtocolError(UpstreamError):
    """The upstream broke off its answer or sent something that is not HTTP."""


class LocalProtocolError(UpstreamError):
    """The request cannot be sent as it is (a header holding a line break)."""


def environment_proxy(url: str) -> str | None:
    """The HTTP(S) proxy the environment names for `url`, if any (never for loopback).

    `HTTPS_PROXY` / `HTTP_PROXY` by the upstream's scheme, else `ALL_PROXY`; `NO_PROXY` exempts.
    """
    if is_loopback(url):
        return None
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    # proxy_bypass_environment is public in urllib.request but missing from typeshed.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not proxy or bypass(parts.hostname or "", proxies):
        return None
    return proxy


def tls_context() -> ssl.SSLContext:
    """certifi's CAs, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set: as httpx and preflight do."""
    context = httpx.create_ssl_context(trust_env=True)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _translate(exc: BaseException) -> UpstreamError:
    """aiohttp's exception as the kind of failure the proxy reports."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeout(detail)
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return ReadTimeout(detail)
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Refused, DNS, TLS verification (CERTIFICATE_VERIFY_FAILED), and an environment proxy
        # that cannot be reached (then the host is the proxy's). The reason itself, as the old
        # transport wrote it, rather than aiohttp's longer sentence that the ledger cuts short.
        return ConnectError(f"{exc.host}:{exc.port}: {exc.os_error}")
    return RemoteProtocolError(detail)


def _checked_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The headers as aiohttp takes them; LocalProtocolError for one holding a line break."""
    out = []
    for name, value in headers:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
            # Refused before any connection is made, so nothing half-sent reaches the upstream.
            raise LocalProtocolError(f"header {name!r} holds a line break")
        out.append((name.decode("latin-1"), value.decode("latin-1")))
    return out


class _TimedBody(aiohttp.payload.BytesPayload):
    """A request body written piece by piece, each piece within `timeout_s`.

    aiohttp's read timeout starts once the body is written, and it has no write timeout: a body
    the upstream stopped reading would hold the call until the framework gave up. Timing each
    piece rather than the whole body lets a large body go out over a slow link.
    """

    def __init__(self, value: bytes, timeout_s: float):
        super().__init__(value)
        self.timeout_s = timeout_s
        self.timed_out = False

    async def write_with_length(
        self, writer: aiohttp.abc.AbstractStreamWriter, content_length: int | None
    ) -> None:
        body = memoryview(self._value)[:content_length]
        try:
            for start in range(0, len(body), _WRITE_PIECE):
                async with asyncio.timeout(self.timeout_s):
                    await writer.write(body[start : start + _WRITE_PIECE])
        except TimeoutError:
            self.timed_out = True
            raise


class UpstreamAnswer:
    """The head of one answer, and its decoded body to read once, whole or chunk by chunk."""

    def __init__(self, response: aiohttp.ClientResponse):
        self._response = response
        self.status: int = response.status
        # As received; content-encoding and content-length describe the wire, not the decoded
        # body the proxy passes on (baes.llm.proxy.headers drops them on the way to the client).
        self.headers: list[tuple[bytes, bytes]] = list(response.raw_headers)

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "")

    async def read(self) -> bytes:
        """The whole decoded body; the connection goes back to the pool."""
        try:
            return await self._response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _translate(exc) from exc
        finally:
            self.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The decoded body as it arrives."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _translate(exc) from exc

    def close(self) -> None:
        """Done with the answer: a whole one frees its connection, an unfinished one ends it."""
        self._response.release()


class Upstream:
    """Pooled keep-alive HTTP/1.1 connections to the upstream of one proxy.

    The environment proxy and the TLS settings are those of `upstream_base_url`; every URL sent
    is under it (baes.llm.proxy.paths makes sure of that).
    """

    def __init__(
        self,
        upstream_base_url: str,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        write_timeout_s: float = 60.0,
        keepalive_expiry_s: float = 15.0,
    ):
        # Resolved once: the environment does not change under a running proxy, and aiohttp's
        # own trust_env would look it up (and ~/.netrc, whose credentials would clash with the
        # Authorization the proxy sends) in a worker thread on every call.
        self.proxy = environment_proxy(upstream_base_url)
        self._write_timeout_s = write_timeout_s
        # Loading the CAs takes tens of milliseconds; a plain upstream (the simulator) needs none.
        tls = any(url.startswith("https:") for url in (upstream_base_url, self.proxy or ""))
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=0, keepalive_timeout=keepalive_expiry_s, ssl=tls_context() if tls else True
            ),
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=connect_timeout_s,
                # Each wait: for the answer's head, then between body chunks.
                sock_read=read_timeout_s,
            ),
            # The framework's own headers go out as they are; aiohttp adds Host and the framing.
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            cookie_jar=aiohttp.DummyCookieJar(),
            # aiohttp's 8 KiB would refuse a long header that the old transport and the client
            # accept (a large cookie, a long request id list).
            max_line_size=_MAX_HEAD_LINE,
            max_field_size=_MAX_HEAD_LINE,
            auto_decompress=True,
            trust_env=False,
        )

    async def send(
        self, method: str, url: str, headers: Iterable[tuple[bytes, bytes]], body: bytes
    ) -> UpstreamAnswer:
        """Send one request; the answer once its head has arrived. Raises UpstreamError."""
        checked = _checked_headers(headers)
        data = _TimedBody(body, self._write_timeout_s) if body else None
        try:
            response = await self._session.request(
                method,
                URL(url, encoded=True),  # the path as the client sent it, never re-quoted
                headers=checked,
                data=data,
                allow_redirects=False,
                proxy=self.proxy,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            if data is not None and data.timed_out:
                raise WriteTimeout(
                    f"the upstream took none of the request body for {self._write_timeout_s:g} s"
                ) from exc
            raise _translate(exc) from exc
        return UpstreamAnswer(response)

    async def aclose(self) -> None:
        """Close every connection, idle or still answering."""
        await self._session.close()
