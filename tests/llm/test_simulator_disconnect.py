"""`baes sim serve` takes a client that hangs up while sending its request in its stride: no
traceback on its stderr, no call billed, and the next call is answered."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx

from baes.simulator import SMALL_MODEL

SERVE = [sys.executable, "-m", "baes", "sim", "serve", "--admin-key", "sk-admin-disconnect"]


def test_a_client_gone_while_sending_leaves_no_traceback_and_no_billed_call():
    process = subprocess.Popen(
        SERVE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    try:
        base_url = process.stdout.readline().strip()
        where = urlsplit(base_url)
        with socket.create_connection((where.hostname, where.port)) as client:
            client.sendall(
                f"POST {where.path}/chat/completions HTTP/1.1\r\nHost: {where.netloc}\r\n"
                "Authorization: Bearer sk-test\r\nContent-Type: application/json\r\n"
                "Content-Length: 10000\r\n\r\n".encode()
                + b'{"model": "sim-small", "messages": [{"role": "user", "content": "'
            )
        body = {"model": SMALL_MODEL, "messages": [{"role": "user", "content": "hi"}]}
        headers = {"authorization": "Bearer sk-test"}
        answer = httpx.post(base_url + "/chat/completions", json=body, headers=headers)
        usage = httpx.get(
            base_url + "/organization/usage/completions",
            params={"start_time": int(time.time()) - 3600, "bucket_width": "1h", "limit": 2},
            headers={"authorization": "Bearer sk-admin-disconnect"},
        )
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)

    assert answer.status_code == 200
    # Before: "ERROR: Exception in ASGI application" and a traceback ending in ClientDisconnect.
    assert "Traceback" not in stderr and "Exception" not in stderr, stderr
    requests = sum(r["num_model_requests"] for b in usage.json()["data"] for r in b["results"])
    assert requests == 1, usage.json()
    assert process.returncode == 0
