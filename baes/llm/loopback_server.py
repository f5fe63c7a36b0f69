"""Run an ASGI app with uvicorn on a loopback port in a background thread.

The simulator and the metering proxy both run in-process during tests, the demo and `baes run`;
this is the one place that knows how to start and stop uvicorn that way.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class ServerStartError(RuntimeError):
    """The server did not come up on its loopback port in time."""


class LoopbackServer:
    """An ASGI app served on 127.0.0.1 (port 0 = ephemeral) from a daemon thread.

    Use as a context manager, or call start()/stop(). `url` is `http://127.0.0.1:PORT`.
    """

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 10.0
    ):
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            # One keep-alive connection pool per client; long enough for a framework between calls.
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(self._config)
        # uvicorn installs signal handlers only on the main thread; ours is never the main thread.
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread: threading.Thread | None = None
        self._start_timeout_s = start_timeout_s
        self.host = host
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerStartError("server is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._server.run, name="baes-loopback", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise ServerStartError(
                    f"server on {self.host}:{self._config.port} exited during start-up"
                )
            if time.monotonic() > deadline:
                self._server.should_exit = True
                raise ServerStartError(
                    f"server on {self.host} did not start within {self._start_timeout_s} s"
                )
            time.sleep(0.005)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1]
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout_s)
        self.port = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
