"""The proxy forwards only normalised paths under the upstream's API prefix (issue 10, item 3).

Clients such as httpx and curl normalise `..` away before sending, so these requests go out
through http.client with the path exactly as written, over real loopback, to a proxy in front
of an upstream that records every request it receives, whatever its path.
"""

from __future__ import annotations

import http.client
import json
import threading
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from baes.llm.ledger import read_ledger
from baes.llm.loopback_server import LoopbackServer
from baes.llm.proxy import MeteringProxy

REAL_KEY = "sk-paths-real-key-0123456789abcdef"


class RecordingUpstream:
    """Answers 200 to anything and remembers the path and Authorization of each request."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/{rest:path}", self._any, methods=["GET", "POST"])])
        self._server = LoopbackServer(app)

    async def _any(self, request: Request) -> JSONResponse:
        with self._lock:
            self.received.append(
                (request.scope["raw_path"].decode("latin-1"), request.headers.get("authorization"))
            )
        return JSONResponse({"object": "list", "data": []})

    def __enter__(self) -> RecordingUpstream:
        self._server.start()
        self.base_url = self._server.url + "/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


@pytest.fixture(scope="module")
def upstream():
    with RecordingUpstream() as running:
        yield running


@pytest.fixture(scope="module")
def proxy(upstream):
    import os

    os.environ["BAES_TEST_PATHS_KEY"] = REAL_KEY
    try:
        with MeteringProxy(upstream.base_url, api_key_env="BAES_TEST_PATHS_KEY") as running:
            yield running
    finally:
        del os.environ["BAES_TEST_PATHS_KEY"]


def send_as_is(base_url: str, suffix: str) -> tuple[int, dict]:
    """GET `<base path><suffix>` with the request target exactly as written."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest("GET", parts.path + suffix, skip_accept_encoding=True)
        connection.putheader("Authorization", "Bearer framework-token")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


@pytest.mark.parametrize(
    "suffix",
    [
        "/../../internal/x",
        "/../internal/x",
        "/models/../../internal/x",
        "/./models",
        "/%2e%2e/%2e%2e/internal/x",
        "/%2E%2E/internal/x",
        "/.%2e/internal/x",
        "/..%2f..%2finternal/x",
        "/..\\..\\internal\\x",
        "/%5c..%5cinternal",
        "//internal.example/x",
        "/models//x",
        "/http://internal.example/x",
        "/%252e%252e/internal/x",
    ],
)
def test_a_path_that_is_not_normalised_is_refused_recorded_and_never_forwarded(
    upstream, proxy, tmp_path, suffix
):
    ledger = tmp_path / "usage.jsonl"
    base_url = proxy.open_attribution("run-1", "01-s", ledger)
    upstream.received.clear()

    status, body = send_as_is(base_url, suffix)
    proxy.close_attribution(base_url)

    assert status == 400
    assert body["error"]["code"] == "invalid_path"
    assert upstream.received == []
    [entry] = read_ledger(ledger)
    assert entry.status_code == 400 and entry.run_id == "run-1" and entry.step == "01-s"
    assert entry.error.startswith("path_refused: ")


def test_normalised_paths_are_forwarded_under_the_prefix_with_their_encoding(
    upstream, proxy, tmp_path
):
    ledger = tmp_path / "usage.jsonl"
    base_url = proxy.open_attribution("run-1", "01-s", ledger)
    upstream.received.clear()

    assert send_as_is(base_url, "/models")[0] == 200
    assert send_as_is(base_url, "/models/ft:gpt-4o:org:custom%20id?limit=2")[0] == 200
    assert send_as_is(base_url, "/files/file-abc..def/content")[0] == 200
    proxy.close_attribution(base_url)

    assert [path for path, _ in upstream.received] == [
        "/v1/models",
        "/v1/models/ft:gpt-4o:org:custom%20id",
        "/v1/files/file-abc..def/content",
    ]
    assert all(auth == f"Bearer {REAL_KEY}" for _, auth in upstream.received)
    assert [e.status_code for e in read_ledger(ledger)] == [200, 200, 200]
