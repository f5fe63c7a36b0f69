import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from baes.llm.loopback_server import LoopbackServer


def _app():
    return Starlette(routes=[Route("/ping", lambda request: PlainTextResponse("pong"))])


def test_serves_on_ephemeral_loopback_port_and_stops():
    with LoopbackServer(_app()) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url + "/ping").text == "pong"
        url = server.url
    try:
        httpx.get(url + "/ping", timeout=1)
    except httpx.ConnectError:
        pass
    else:  # pragma: no cover - the assertion is the point
        raise AssertionError("server still answering after stop()")
