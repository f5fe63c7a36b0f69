"""The proxy's upstream transport on the wire: a scripted raw HTTP server over real loopback TCP.

The proxy tests exercise the transport end to end against the simulator and the fake upstream;
these cover what those servers never do: chunked and close-delimited answers, HEAD, connections
closed at every awkward moment, stalls, malformed answers, TLS, backpressure.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import ssl
import threading
from collections.abc import Awaitable, Callable

import httpx
import openai
import pytest
import trustme

from baes.llm.ledger import read_ledger
from baes.llm.loopback_url import is_loopback
from baes.llm.proxy import MeteringProxy
from baes.llm.proxy.transport import (
    UpstreamTransport,
    environment_proxy,
    upstream_transport,
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


def run(coro_fn: Callable[[httpx.AsyncClient], Awaitable[object]], timeout: float = 5.0) -> object:
    """Run `coro_fn(client)` with a client on a fresh UpstreamTransport."""

    async def main() -> object:
        async with httpx.AsyncClient(
            transport=UpstreamTransport(), timeout=timeout, trust_env=False
        ) as client:
            return await coro_fn(client)

    return asyncio.run(main())


def test_sequential_calls_reuse_one_keep_alive_connection():
    with RawServer(keep_alive_server(lambda request: answer())) as server:

        async def calls(client: httpx.AsyncClient) -> list[int]:
            statuses = []
            for _ in range(20):
                response = await client.post(server.url + "/v1/x", content=b'{"a":1}')
                assert response.content == JSON_OK
                statuses.append(response.status_code)
            return statuses

        assert run(calls) == [200] * 20
        assert server.connections == 1
        assert len(server.requests) == 20


def test_the_request_goes_out_with_its_method_path_query_headers_and_body():
    with RawServer(keep_alive_server(lambda request: answer())) as server:

        async def call(client: httpx.AsyncClient) -> None:
            await client.post(
                server.url + "/v1/a%2Fb?x=1&y=%20",
                content=b'{"model":"m"}',
                headers={"Authorization": "Bearer k", "X-Thing": "1"},
            )

        run(call)
        head, _, body = server.requests[0].partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        assert lines[0] == b"POST /v1/a%2Fb?x=1&y=%20 HTTP/1.1"
        assert f"Host: 127.0.0.1:{server.port}".encode() in lines
        assert b"Authorization: Bearer k" in lines
        assert b"Content-Length: 13" in lines
        assert body == b'{"model":"m"}'


def test_a_streamed_request_body_is_sent_chunked():
    with RawServer(
        keep_alive_server(lambda request: answer(request.partition(b"\r\n\r\n")[2]))
    ) as s:

        async def parts():
            for part in (b"one,", b"two,", b"three"):
                yield part

        async def call(client: httpx.AsyncClient) -> bytes:
            return (await client.post(s.url + "/", content=parts())).content

        assert run(call) == b"one,two,three"
        assert b"Transfer-Encoding: chunked" in s.requests[0]


def test_chunked_and_gzip_answers_are_decoded():
    payload = b'{"usage":{"prompt_tokens":3}}' * 50
    packed = gzip.compress(payload)
    chunks = [packed[i : i + 100] for i in range(0, len(packed), 100)]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-encoding: gzip\r\n\r\n"
    with RawServer(keep_alive_server(lambda request: head + wire)) as server:

        async def calls(client: httpx.AsyncClient) -> list[bytes]:
            return [(await client.get(server.url + "/")).content for _ in range(3)]

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

        async def calls(client: httpx.AsyncClient) -> list[bytes]:
            return [(await client.get(server.url + "/")).content for _ in range(2)]

        assert run(calls) == [b"part one, part two"] * 2
        assert server.connections == 2


def test_head_answers_have_no_body_and_their_connection_is_not_reused():
    with RawServer(keep_alive_server(lambda request: answer(b"x" * 10)[:-10])) as server:

        async def calls(client: httpx.AsyncClient) -> list[tuple[int, bytes, str]]:
            out = []
            for _ in range(2):
                response = await client.head(server.url + "/")
                out.append(
                    (response.status_code, response.content, response.headers["content-length"])
                )
            return out

        assert run(calls) == [(200, b"", "10")] * 2
        assert server.connections == 2


def test_204_and_an_informational_answer_before_the_real_one():
    replies = iter(
        [
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + answer(status=b"201 Created"),
            answer(),
        ]
    )
    with RawServer(keep_alive_server(lambda request: next(replies))) as server:

        async def calls(client: httpx.AsyncClient) -> list[tuple[int, bytes, str]]:
            out = []
            for _ in range(3):
                response = await client.post(server.url + "/")
                out.append((response.status_code, response.content, response.reason_phrase))
            return out

        assert run(calls) == [
            (204, b"", "No Content"),
            (201, JSON_OK, "Created"),
            (200, JSON_OK, "OK"),
        ]
        assert server.connections == 1


def test_a_connection_the_upstream_closed_while_idle_is_replaced_without_error():
    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(answer())  # keep-alive by default, then closed anyway
        await writer.drain()

    with RawServer(handler) as server:

        async def calls(client: httpx.AsyncClient) -> list[int]:
            statuses = []
            for _ in range(3):
                statuses.append((await client.get(server.url + "/")).status_code)
                await asyncio.sleep(0.05)  # the close reaches the client while idle
            return statuses

        assert run(calls) == [200, 200, 200]
        assert server.connections == 3


def test_an_extra_answer_after_the_real_one_drops_the_connection_but_keeps_the_answer():
    with RawServer(keep_alive_server(lambda request: answer(b'{"n":1}') + answer(b'{"n":2}'))) as s:

        async def calls(client: httpx.AsyncClient) -> list[bytes]:
            return [(await client.get(s.url + "/")).content for _ in range(2)]

        assert run(calls) == [b'{"n":1}'] * 2
        assert s.connections == 2


def test_a_head_answer_followed_by_a_body_by_mistake_still_has_no_body():
    with RawServer(keep_alive_server(lambda request: answer(b"0123456789"))) as server:

        async def calls(client: httpx.AsyncClient) -> list[bytes]:
            return [(await client.head(server.url + "/")).content for _ in range(2)]

        assert run(calls) == [b"", b""]
        assert server.connections == 2


def test_connection_close_in_the_answer_is_honoured():
    with RawServer(keep_alive_server(lambda request: answer(extra=b"connection: close\r\n"))) as s:

        async def calls(client: httpx.AsyncClient) -> None:
            for _ in range(3):
                assert (await client.get(s.url + "/")).status_code == 200

        run(calls)
        assert s.connections == 3


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"", "without an answer"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort", "before its answer was complete"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel", "was complete"),
        (b"SMTP ready\r\n\r\n", "malformed answer"),
    ],
)
def test_broken_answers_raise_remote_protocol_error(wire, message):
    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(wire)
        await writer.drain()

    with RawServer(handler) as server:

        async def call(client: httpx.AsyncClient) -> None:
            await client.get(server.url + "/")

        with pytest.raises(httpx.RemoteProtocolError, match=message):
            run(call)


def test_a_silent_upstream_raises_read_timeout_and_a_stalled_body_too():
    async def silent(server, reader, writer):
        await server.read_request(reader)
        await asyncio.sleep(5)

    with RawServer(silent) as server:
        with pytest.raises(httpx.ReadTimeout):
            run(lambda client: client.get(server.url + "/"), timeout=0.2)

    async def stalls(server, reader, writer):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(5)

    with RawServer(stalls) as server:
        with pytest.raises(httpx.ReadTimeout):
            run(lambda client: client.get(server.url + "/"), timeout=0.2)


def test_a_refused_connection_raises_connect_error():
    with RawServer(keep_alive_server(lambda request: answer())) as server:
        url = server.url
    with pytest.raises(httpx.ConnectError, match="127.0.0.1"):
        run(lambda client: client.get(url + "/"))


def test_a_body_abandoned_half_way_closes_its_connection_and_the_next_call_works():
    big = b"y" * 2_000_000
    with RawServer(keep_alive_server(lambda request: answer(big))) as server:

        async def calls(client: httpx.AsyncClient) -> int:
            async with client.stream("GET", server.url + "/") as response:
                async for _ in response.aiter_raw():
                    break
            return len((await client.get(server.url + "/")).content)

        assert run(calls) == len(big)
        assert server.connections == 2


def test_a_large_answer_read_slowly_arrives_intact():
    big = bytes(range(256)) * 20_000  # 5 MB, well past the read-ahead limit
    with RawServer(keep_alive_server(lambda request: answer(big))) as server:

        async def call(client: httpx.AsyncClient) -> bytes:
            parts = []
            async with client.stream("GET", server.url + "/") as response:
                async for part in response.aiter_raw():
                    parts.append(part)
                    await asyncio.sleep(0.001)
            return b"".join(parts)

        assert run(call, timeout=30) == big


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

        async def call(client: httpx.AsyncClient) -> tuple[bool, int]:
            async with client.stream("GET", server.url + "/") as response:
                await asyncio.sleep(0.5)  # a reader that does not read
                stalled = not sent_all.is_set()
                received = sum([len(part) async for part in response.aiter_raw()])
            return stalled, received

        assert run(call, timeout=30) == (True, size)


def test_closing_the_transport_closes_connections_still_answering():
    hung_up = threading.Event()

    async def handler(server, reader, writer):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")
        await writer.drain()
        await reader.read()  # returns when the client closes the connection
        hung_up.set()

    with RawServer(handler) as server:

        async def main() -> bool:
            transport = UpstreamTransport()
            response = await transport.handle_async_request(httpx.Request("GET", server.url + "/"))
            await transport.aclose()
            for _ in range(100):
                if hung_up.is_set():
                    break
                await asyncio.sleep(0.01)
            return response.status_code == 200 and hung_up.is_set()

        assert asyncio.run(main())


def test_headers_with_line_breaks_are_refused_before_connecting():
    request = httpx.Request("GET", "http://127.0.0.1:9/")  # nothing listens on port 9
    request.headers._list.append((b"x-evil", b"x-evil", b"a\r\nInjected: 1"))  # past httpx's check

    with pytest.raises(httpx.LocalProtocolError, match="line break"):
        asyncio.run(UpstreamTransport().handle_async_request(request))


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

        async def calls(client: httpx.AsyncClient) -> list[bytes]:
            return [(await client.get(server.url + "/")).content for _ in range(3)]

        assert run(calls) == [JSON_OK] * 3
        assert server.connections == 1

        monkeypatch.delenv("SSL_CERT_FILE")  # certifi's CAs do not know our test CA
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            run(lambda client: client.get(server.url + "/"))


def test_environment_proxies_apply_to_remote_upstreams_only(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    remote = "https://api.example.test/v1"
    assert environment_proxy(remote) is None
    assert isinstance(upstream_transport(remote), UpstreamTransport)

    monkeypatch.setenv("HTTPS_PROXY", "http://corporate-proxy.test:3128")
    assert environment_proxy(remote) == "http://corporate-proxy.test:3128"
    assert isinstance(upstream_transport(remote), httpx.AsyncHTTPTransport)
    assert environment_proxy("http://api.example.test/v1") is None  # only https is proxied
    assert environment_proxy("https://127.0.0.1:8000/v1") is None
    assert environment_proxy("https://localhost:8000/v1") is None

    monkeypatch.setenv("NO_PROXY", "example.test")
    assert environment_proxy(remote) is None
    assert isinstance(upstream_transport(remote), UpstreamTransport)


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
    assert line.status_code == 502 and "CERTIFICATE_VERIFY_FAILED" in line.error


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
