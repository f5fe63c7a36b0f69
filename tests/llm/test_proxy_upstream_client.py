"""The proxy's upstream client on the wire: a scripted raw HTTP server over real loopback TCP.

The proxy tests exercise the client end to end against the simulator and the fake upstream;
these cover what those servers never do: chunked and close-delimited answers, HEAD, connections
closed at every awkward moment, stalls, malformed answers, TLS, backpressure, an HTTP proxy
named in the environment. Most go through `Upstream` itself; those that the ledger and the
client's answer show go through a whole MeteringProxy.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json
import ssl
import threading
import time
from collections.abc import Awaitable, Callable

import httpx
import openai
import pytest
import trustme

from baes.llm.ledger import read_ledger
from baes.llm.loopback_url import is_loopback
from baes.llm.proxy import MeteringProxy
from baes.llm.proxy.upstream import (
    ConnectError,
    LocalProtocolError,
    ReadTimeout,
    RemoteProtocolError,
    Upstream,
    WriteTimeout,
    environment_proxy,
)

Handler = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
JSON_OK = b'{"ok":true}'
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "remote-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }
).encode()


class RawServer:
    """Runs `handler` for each TCP connection on 127.0.0.1, on a loop in its own thread."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None):
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self._tls = tls
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls), self._loop
        ).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        scheme = "https" if self._tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            self._server.close()
            handlers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            # Transports close on the next loop turns (call_soon); let them before stopping.
            await asyncio.sleep(0.01)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        """One request, head and body (Content-Length or chunked); IncompleteReadError at the end."""
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        body = b""
        if chunked:
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        elif length:
            body = await reader.readexactly(length)
        self.requests.append(head + body)
        return head + body


def answer(body: bytes = JSON_OK, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (
        status,
        len(body),
        extra,
        body,
    )


def keep_alive_server(respond: Callable[[bytes], bytes]) -> Handler:
    """Answer every request on a connection with `respond(request)` until the client leaves."""

    async def handler(server: RawServer, reader, writer) -> None:
        while not reader.at_eof():
            try:
                request = await server.read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(respond(request))
            await writer.drain()

    return handler


Answer = tuple[int, bytes]


def run(
    coro_fn: Callable[[Upstream], Awaitable[object]],
    timeout: float = 5.0,
    base_url: str = "http://127.0.0.1:1/v1",
) -> object:
    """Run `coro_fn(upstream)` with a fresh Upstream, closed afterwards."""

    async def main() -> object:
        upstream = Upstream(base_url, connect_timeout_s=timeout, read_timeout_s=timeout)
        try:
            return await coro_fn(upstream)
        finally:
            await upstream.aclose()

    return asyncio.run(main())


async def call(
    upstream: Upstream,
    url: str,
    method: str = "POST",
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Answer:
    """One call read whole: status and decoded body."""
    answer_ = await upstream.send(method, url, headers or [], body)
    return answer_.status, await answer_.read()


def test_sequential_calls_reuse_one_keep_alive_connection():
    with RawServer(keep_alive_server(lambda request: answer())) as server:

        async def calls(upstream: Upstream) -> list[Answer]:
            return [await call(upstream, server.url + "/v1/x", body=b'{"a":1}') for _ in range(20)]

        assert run(calls) == [(200, JSON_OK)] * 20
        assert server.connections == 1
        assert len(server.requests) == 20


def test_the_request_goes_out_with_its_method_path_query_headers_and_body_and_nothing_else():
    with RawServer(keep_alive_server(lambda request: answer())) as server:
        headers = [(b"Authorization", b"Bearer k"), (b"X-Thing", b"1")]
        run(
            lambda up: call(
                up, server.url + "/v1/a%2Fb?x=1&y=%20", "POST", b'{"model":"m"}', headers
            )
        )
        head, _, body = server.requests[0].partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        assert lines[0] == b"POST /v1/a%2Fb?x=1&y=%20 HTTP/1.1"  # never re-quoted
        # The framework's headers and the framing, without a user agent or content type of
        # the client library's own.
        assert sorted(lines[1:]) == sorted(
            [
                f"Host: 127.0.0.1:{server.port}".encode(),
                b"Authorization: Bearer k",
                b"X-Thing: 1",
                b"Content-Length: 13",
            ]
        )
        assert body == b'{"model":"m"}'


def test_an_answer_with_a_long_header_is_taken():
    long = b"x-long: " + b"v" * 20_000 + b"\r\n"
    with RawServer(keep_alive_server(lambda request: answer(extra=long))) as server:

        async def one(upstream: Upstream) -> tuple[int, int]:
            answer_ = await upstream.send("GET", server.url + "/", [], b"")
            await answer_.read()
            return answer_.status, len(dict(answer_.headers)[b"x-long"])

        assert run(one) == (200, 20_000)


def test_chunked_and_gzip_answers_are_decoded():
    payload = b'{"usage":{"prompt_tokens":3}}' * 50
    packed = gzip.compress(payload)
    chunks = [packed[i : i + 100] for i in range(0, len(packed), 100)]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-encoding: gzip\r\n\r\n"
    with RawServer(keep_alive_server(lambda request: head + wire)) as server:

        async def calls(upstream: Upstream) -> list[bytes]:
            return [(await call(upstream, server.url + "/", "GET"))[1] for _ in range(3)]

        assert run(calls) == [payload] * 3
        assert server.connections == 1


def test_an_answer_delimited_by_the_connection_closing_is_read_whole():
    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\npart one, ")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"part two")
        await writer.drain()

    with RawServer(handler) as server:

        async def calls(upstream: Upstream) -> list[bytes]:
            return [(await call(upstream, server.url + "/", "GET"))[1] for _ in range(2)]

        assert run(calls) == [b"part one, part two"] * 2
        assert server.connections == 2


def test_head_answers_have_no_body_and_keep_their_headers():
    def respond(request: bytes) -> bytes:
        return answer(b"x" * 10)[:-10] if request.startswith(b"HEAD") else answer(b"x" * 10)

    with RawServer(keep_alive_server(respond)) as server:

        async def calls(upstream: Upstream) -> list[tuple[int, bytes, bytes]]:
            out = []
            for method in ("HEAD", "HEAD", "GET"):
                answer_ = await upstream.send(method, server.url + "/", [], b"")
                length = dict(answer_.headers)[b"content-length"]
                out.append((answer_.status, await answer_.read(), length))
            return out

        assert run(calls, timeout=1) == [(200, b"", b"10"), (200, b"", b"10")] + [
            (200, b"x" * 10, b"10")
        ]


def test_204_and_an_informational_answer_before_the_real_one():
    replies = iter(
        [
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + answer(status=b"201 Created"),
            answer(),
        ]
    )
    with RawServer(keep_alive_server(lambda request: next(replies))) as server:

        async def calls(upstream: Upstream) -> list[Answer]:
            return [await call(upstream, server.url + "/") for _ in range(3)]

        assert run(calls) == [
            (204, b""),
            (201, JSON_OK),
            (200, JSON_OK),
        ]
        assert server.connections == 1


def test_a_connection_the_upstream_closed_while_idle_is_replaced_without_error():
    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(answer())  # keep-alive by default, then closed anyway
        await writer.drain()

    with RawServer(handler) as server:

        async def calls(upstream: Upstream) -> list[int]:
            statuses = []
            for _ in range(3):  # POST: not retried by the client, so a stale pick would fail
                statuses.append((await call(upstream, server.url + "/", body=b"{}"))[0])
                await asyncio.sleep(0.05)  # the close reaches the client while idle
            return statuses

        assert run(calls) == [200, 200, 200]
        assert server.connections == 3


def test_an_extra_answer_after_the_real_one_drops_the_connection_but_keeps_the_answer():
    with RawServer(keep_alive_server(lambda request: answer(b'{"n":1}') + answer(b'{"n":2}'))) as s:

        async def calls(upstream: Upstream) -> list[bytes]:
            return [(await call(upstream, s.url + "/"))[1] for _ in range(2)]

        assert run(calls) == [b'{"n":1}'] * 2
        assert s.connections == 2


def test_connection_close_in_the_answer_is_honoured():
    with RawServer(keep_alive_server(lambda request: answer(extra=b"connection: close\r\n"))) as s:

        async def calls(upstream: Upstream) -> list[int]:
            return [(await call(upstream, s.url + "/"))[0] for _ in range(3)]

        assert run(calls) == [200] * 3
        assert s.connections == 3


@pytest.mark.parametrize(
    "wire",
    [
        b"",
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel",
        b"SMTP ready\r\n\r\n",
    ],
)
def test_broken_answers_raise_remote_protocol_error(wire):
    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(wire)
        await writer.drain()

    with RawServer(handler) as server:
        with pytest.raises(RemoteProtocolError):
            run(lambda upstream: call(upstream, server.url + "/"))


def test_a_silent_upstream_raises_read_timeout_and_a_stalled_body_too():
    async def silent(server, reader, writer):
        await server.read_request(reader)
        await asyncio.sleep(5)

    with RawServer(silent) as server:
        with pytest.raises(ReadTimeout):
            run(lambda upstream: call(upstream, server.url + "/"), timeout=0.2)

    async def stalls(server, reader, writer):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(5)

    with RawServer(stalls) as server:
        with pytest.raises(ReadTimeout):
            run(lambda upstream: call(upstream, server.url + "/"), timeout=0.2)


def test_an_upstream_that_stops_reading_the_body_raises_write_timeout():
    async def never_reads(server, reader, writer):
        await asyncio.sleep(5)

    body = b"x" * (64 * 1024 * 1024)  # more than the kernel's socket buffers can hold
    with RawServer(never_reads) as server:

        async def main() -> None:
            upstream = Upstream(
                server.url, connect_timeout_s=5, read_timeout_s=5, write_timeout_s=0.3
            )
            try:
                await upstream.send("POST", server.url + "/", [], body)
            finally:
                await upstream.aclose()

        with pytest.raises(WriteTimeout, match="0.3 s"):
            asyncio.run(main())


def test_a_large_body_read_slowly_is_not_cut_by_the_write_timeout():
    async def slow_reader(server, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while length:
            tick = min(length, 1024 * 1024)
            await reader.readexactly(tick)
            length -= tick
            await asyncio.sleep(0.1)  # about 10 MB/s: the whole body takes over a second
        writer.write(answer())
        await writer.drain()

    body = b"x" * (16 * 1024 * 1024)
    with RawServer(slow_reader) as server:

        async def main() -> tuple[int, float]:
            upstream = Upstream(
                server.url, connect_timeout_s=5, read_timeout_s=5, write_timeout_s=0.5
            )
            started = time.monotonic()
            try:
                status, _ = await call(upstream, server.url + "/", body=body)
            finally:
                await upstream.aclose()
            return status, time.monotonic() - started

        status, took = asyncio.run(main())
        assert status == 200 and took > 0.5


def test_a_refused_connection_raises_connect_error():
    with RawServer(keep_alive_server(lambda request: answer())) as server:
        url = server.url
    with pytest.raises(ConnectError, match="127.0.0.1"):
        run(lambda upstream: call(upstream, url + "/"))


def test_a_body_abandoned_half_way_closes_its_connection_and_the_next_call_works():
    big = b"y" * 2_000_000
    with RawServer(keep_alive_server(lambda request: answer(big))) as server:

        async def calls(upstream: Upstream) -> int:
            first = await upstream.send("GET", server.url + "/", [], b"")
            async for _ in first.chunks():
                break
            first.close()
            return len((await call(upstream, server.url + "/", "GET"))[1])

        assert run(calls) == len(big)
        assert server.connections == 2


def test_a_large_answer_read_slowly_arrives_intact():
    big = bytes(range(256)) * 20_000  # 5 MB, well past the read-ahead limit
    with RawServer(keep_alive_server(lambda request: answer(big))) as server:

        async def slowly(upstream: Upstream) -> bytes:
            parts = []
            answer_ = await upstream.send("GET", server.url + "/", [], b"")
            async for part in answer_.chunks():
                parts.append(part)
                await asyncio.sleep(0.001)
            answer_.close()
            return b"".join(parts)

        assert run(slowly, timeout=30) == big


def test_an_answer_nobody_reads_stops_being_read_off_the_socket():
    size = 48 * 1024 * 1024  # more than the kernel's socket buffers can hold
    sent_all = threading.Event()

    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        block = b"z" * (1024 * 1024)
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()
        sent_all.set()

    with RawServer(handler) as server:

        async def reader_that_waits(upstream: Upstream) -> tuple[bool, int]:
            answer_ = await upstream.send("GET", server.url + "/", [], b"")
            await asyncio.sleep(0.5)  # a reader that does not read
            stalled = not sent_all.is_set()
            received = sum([len(part) async for part in answer_.chunks()])
            answer_.close()
            return stalled, received

        assert run(reader_that_waits, timeout=30) == (True, size)


def test_closing_the_client_closes_connections_still_answering():
    hung_up = threading.Event()

    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")
        await writer.drain()
        await reader.read()  # returns when the client closes the connection
        hung_up.set()

    with RawServer(handler) as server:

        async def main() -> bool:
            upstream = Upstream(server.url, connect_timeout_s=5, read_timeout_s=5)
            answer_ = await upstream.send("GET", server.url + "/", [], b"")
            await upstream.aclose()
            for _ in range(100):
                if hung_up.is_set():
                    break
                await asyncio.sleep(0.01)
            return answer_.status == 200 and hung_up.is_set()

        assert asyncio.run(main())


def test_headers_with_line_breaks_are_refused_before_connecting():
    with RawServer(keep_alive_server(lambda request: answer())) as server:
        with pytest.raises(LocalProtocolError, match="line break"):
            run(
                lambda upstream: call(
                    upstream, server.url + "/", headers=[(b"x-evil", b"a\r\nInjected: 1")]
                )
            )
        assert server.connections == 0


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def test_tls_upstreams_are_verified_against_ssl_cert_file(
    certificate_authority, tmp_path, monkeypatch
):
    ca_file = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    tls = tls_server_context(certificate_authority)
    with RawServer(keep_alive_server(lambda request: answer()), tls=tls) as server:
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))

        async def calls(upstream: Upstream) -> list[bytes]:
            return [(await call(upstream, server.url + "/", "GET"))[1] for _ in range(3)]

        assert run(calls, base_url=server.url) == [JSON_OK] * 3
        assert server.connections == 1

        monkeypatch.delenv("SSL_CERT_FILE")  # certifi's CAs do not know our test CA
        with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            run(lambda upstream: call(upstream, server.url + "/", "GET"), base_url=server.url)


def _clear_proxy_environment(monkeypatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_environment_proxies_apply_to_remote_upstreams_only(monkeypatch):
    _clear_proxy_environment(monkeypatch)
    remote = "https://api.example.test/v1"
    assert environment_proxy(remote) is None

    monkeypatch.setenv("HTTPS_PROXY", "http://corporate-proxy.test:3128")
    assert environment_proxy(remote) == "http://corporate-proxy.test:3128"
    assert environment_proxy("http://api.example.test/v1") is None  # only https is proxied
    assert environment_proxy("https://127.0.0.1:8000/v1") is None
    assert environment_proxy("https://localhost:8000/v1") is None

    monkeypatch.setenv("ALL_PROXY", "http://any-proxy.test:8080")
    assert environment_proxy("http://api.example.test/v1") == "http://any-proxy.test:8080"

    monkeypatch.setenv("NO_PROXY", "example.test")
    assert environment_proxy(remote) is None


def test_the_proxy_reaches_a_remote_upstream_through_the_environment_proxy(tmp_path, monkeypatch):
    """The forward proxy gets the absolute URL; the ledger has the usage it relayed."""
    _clear_proxy_environment(monkeypatch)
    netrc = tmp_path / "netrc"  # credentials for the upstream must not clash with the key
    netrc.write_text("machine api.example.test login user password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("UPSTREAM_KEY", "sk-real")
    ledger = tmp_path / "usage.jsonl"
    with RawServer(keep_alive_server(lambda request: answer(COMPLETION))) as forward_proxy:
        monkeypatch.setenv("HTTP_PROXY", forward_proxy.url.replace("//", "//me:pw@"))
        with MeteringProxy("http://api.example.test/v1", api_key_env="UPSTREAM_KEY") as proxy:
            client = openai.OpenAI(
                base_url=proxy.open_attribution("r", "s", ledger),
                api_key="k",
                max_retries=0,
                http_client=httpx.Client(trust_env=False),  # the framework reaches baes directly
            )
            reply = client.chat.completions.create(
                model="remote-model", messages=[{"role": "user", "content": "hi"}]
            )

    head = forward_proxy.requests[0].partition(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0] == b"POST http://api.example.test/v1/chat/completions HTTP/1.1"
    assert b"authorization: Bearer sk-real" in head
    assert b"Proxy-Authorization: Basic " + base64.b64encode(b"me:pw") in head
    assert reply.usage.prompt_tokens == 7
    [line] = read_ledger(ledger)
    assert (line.status_code, line.input_tokens, line.output_tokens) == (200, 7, 3)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:1/v1", True),
        ("http://127.3.2.1/v1", True),
        ("http://[::1]:8/v1", True),
        ("http://localhost/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.1/v1", False),
    ],
)
def test_is_loopback(url, loopback):
    assert is_loopback(url) is loopback


def test_the_proxy_meters_a_tls_upstream_and_refuses_an_untrusted_one(
    certificate_authority, tmp_path, monkeypatch
):
    ca_file = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls = tls_server_context(certificate_authority)
    trusted, untrusted = tmp_path / "trusted.jsonl", tmp_path / "untrusted.jsonl"
    with RawServer(keep_alive_server(lambda request: answer(COMPLETION)), tls) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        with MeteringProxy(server.url + "/v1") as proxy:
            client = openai.OpenAI(
                base_url=proxy.open_attribution("r", "s", trusted), api_key="k", max_retries=0
            )
            for _ in range(2):
                client.chat.completions.create(
                    model="remote-model", messages=[{"role": "user", "content": "hi"}]
                )

        monkeypatch.delenv("SSL_CERT_FILE")
        with MeteringProxy(server.url + "/v1") as proxy:
            client = openai.OpenAI(
                base_url=proxy.open_attribution("r", "s", untrusted), api_key="k", max_retries=0
            )
            with pytest.raises(openai.InternalServerError) as refused:
                client.chat.completions.create(
                    model="remote-model", messages=[{"role": "user", "content": "hi"}]
                )

    assert [
        (line.status_code, line.input_tokens, line.output_tokens) for line in read_ledger(trusted)
    ] == [(200, 7, 3)] * 2
    assert server.connections == 1  # kept alive for both calls; the refused handshake never got one
    assert refused.value.status_code == 502
    [line] = read_ledger(untrusted)
    assert line.status_code == 502
    assert line.error.startswith(f"upstream unreachable: ConnectError: 127.0.0.1:{server.port}: ")
    assert "CERTIFICATE_VERIFY_FAILED" in line.error


def test_the_proxy_asks_for_gzip_and_reads_usage_from_a_compressed_answer(tmp_path):
    def respond(request: bytes) -> bytes:
        head = request.partition(b"\r\n\r\n")[0].lower()
        if b"accept-encoding: gzip" not in head:
            return answer(COMPLETION)
        return answer(gzip.compress(COMPLETION), extra=b"content-encoding: gzip\r\n")

    ledger = tmp_path / "usage.jsonl"
    with (
        RawServer(keep_alive_server(respond)) as server,
        MeteringProxy(server.url + "/v1") as proxy,
    ):
        client = openai.OpenAI(
            base_url=proxy.open_attribution("r", "s", ledger), api_key="k", max_retries=0
        )
        reply = client.chat.completions.create(
            model="remote-model", messages=[{"role": "user", "content": "hi"}]
        )

    assert b"accept-encoding: gzip" in server.requests[0].lower()
    assert reply.usage.prompt_tokens == 7
    [line] = read_ledger(ledger)
    assert (line.input_tokens, line.output_tokens, line.usage_reported) == (7, 3, True)


def sse(event: dict) -> bytes:
    return b"data: " + json.dumps(event).encode() + b"\n\n"


CHUNK = {"id": "c", "object": "chat.completion.chunk", "model": "remote-model", "choices": []}
USAGE_CHUNK = {**CHUNK, "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n%s\r\n"
)


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def stream_through_proxy(
    handler: Handler, ledger, read_timeout_s: float = 5.0, on_first=None
) -> tuple[list[bytes], str | None]:
    """POST a streamed chat call through a MeteringProxy; the parts the client got, and how it
    ended (None, or the name of the error the client saw)."""
    parts: list[bytes] = []
    with (
        RawServer(handler) as server,
        MeteringProxy(server.url + "/v1", read_timeout_s=read_timeout_s) as proxy,
    ):
        url = proxy.open_attribution("r", "s", ledger) + "/chat/completions"
        body = {"model": "remote-model", "stream": True, "messages": []}
        ended = None
        try:
            with httpx.Client(timeout=10, trust_env=False) as client:
                with client.stream("POST", url, json=body) as response:
                    for part in response.iter_raw():
                        parts.append(part)
                        if on_first is not None and len(parts) == 1:
                            on_first()
        except httpx.HTTPError as exc:
            ended = type(exc).__name__
        proxy.close_attribution(url.rsplit("/chat", 1)[0])
    return parts, ended


def test_a_stream_is_relayed_as_it_arrives_and_metered(tmp_path):
    """The first event reaches the client while the upstream still holds back the rest."""
    go_on = threading.Event()

    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(STREAM_HEAD % b"" + chunked(sse({**CHUNK, "choices": [{"index": 0}]})))
        await writer.drain()
        while not go_on.is_set():
            await asyncio.sleep(0.01)
        writer.write(chunked(sse(USAGE_CHUNK) + b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        await reader.read()

    ledger = tmp_path / "usage.jsonl"
    parts, ended = stream_through_proxy(handler, ledger, on_first=go_on.set)

    assert ended is None and go_on.is_set()
    text = b"".join(parts)
    assert text.startswith(b"data: ") and text.endswith(b"data: [DONE]\n\n")
    # The proxy asked for usage itself (include_usage), so it strips the usage chunk it added.
    assert b'"usage"' not in text
    [line] = read_ledger(ledger)
    assert (line.status_code, line.input_tokens, line.output_tokens, line.error) == (
        200,
        7,
        3,
        None,
    )


def test_a_gzip_stream_reaches_the_client_decoded_and_is_metered(tmp_path):
    packed = gzip.compress(sse(USAGE_CHUNK) + b"data: [DONE]\n\n")

    async def handler(server, reader, writer):
        await server.read_request(reader)
        head = STREAM_HEAD % b"content-encoding: gzip\r\n"
        writer.write(head + chunked(packed[:20]) + chunked(packed[20:]) + b"0\r\n\r\n")
        await writer.drain()
        await reader.read()

    ledger = tmp_path / "usage.jsonl"
    parts, ended = stream_through_proxy(handler, ledger)

    assert ended is None
    assert b"".join(parts) == b"data: [DONE]\n\n"  # decoded; the added usage chunk stripped
    [line] = read_ledger(ledger)
    assert (line.status_code, line.input_tokens, line.usage_reported) == (200, 7, True)


@pytest.mark.parametrize(
    ("after_first_event", "error"),
    [
        ("close", "upstream stream broke off (RemoteProtocolError)"),
        ("stall", "upstream stream timed out (ReadTimeout)"),
    ],
)
def test_a_stream_that_breaks_off_or_stalls_is_cut_and_recorded(tmp_path, after_first_event, error):
    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(STREAM_HEAD % b"" + chunked(sse({**CHUNK, "choices": [{"index": 0}]})))
        await writer.drain()
        if after_first_event == "stall":
            await asyncio.sleep(5)
        # "close": the handler returns and the connection closes before the last chunk.

    ledger = tmp_path / "usage.jsonl"
    parts, ended = stream_through_proxy(handler, ledger, read_timeout_s=0.3)

    assert len(parts) == 1 and ended == "RemoteProtocolError"  # the client's answer is cut
    [line] = read_ledger(ledger)
    assert (line.status_code, line.error, line.usage_reported) == (200, error, False)
