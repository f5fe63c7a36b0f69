"""A client that hangs up while still sending its request is recorded as 499 (docs/metering.md),
not as a proxy failure, and nothing of the half-sent call reaches the upstream."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from baes.llm.ledger import read_ledger
from baes.llm.proxy import MeteringProxy
from tests.llm.test_proxy_upstream_fake import FakeUpstream


def _wait_for_a_line(ledger, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not (ledger.exists() and ledger.read_bytes().endswith(b"\n")):
        assert time.monotonic() < deadline, "the proxy recorded nothing"
        time.sleep(0.01)


def test_a_client_gone_while_sending_the_body_is_recorded_as_499(tmp_path):
    ledger = tmp_path / "usage.jsonl"
    with FakeUpstream() as upstream, MeteringProxy(upstream.base_url) as proxy:
        base_url = proxy.open_attribution("run-1", "step-1", ledger)
        where = urlsplit(base_url)
        body = b'{"model": "m", "messages": [{"role": "user", "content": "' + b"x" * 4000
        with socket.create_connection((where.hostname, where.port)) as client:
            client.sendall(
                f"POST {where.path}/chat/completions HTTP/1.1\r\n"
                f"Host: {where.netloc}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body) + 100_000}\r\n\r\n".encode()
                + body
            )
        # The proxy may not have begun the call yet when the socket closes: wait for its line.
        _wait_for_a_line(ledger)
        proxy.close_attribution(base_url, wait_s=10)
        received = upstream.received

    [line] = read_ledger(ledger)
    assert line.status_code == 499
    assert line.error == "client disconnected while sending the request"
    assert line.endpoint == "/v1/chat/completions" and line.usage_reported is False
    assert received == []
