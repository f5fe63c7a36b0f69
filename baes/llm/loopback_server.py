"""Run an ASGI app with uvicorn on a loopback port in a background thread.

The simulator and the metering proxy both run in-process during tests, the demo and `baes run`;
this is the one place that knows how to start and stop uvicorn that way.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from typing import Any

import uvicorn

from baes.errors import InputError, WorkError

# Bind failures that mean the address itself is wrong for this machine (a user's choice to fix);
# any other failure (the port is taken, too many open files) is failed work.
_ADDRESS_ERRNOS = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EINVAL}


class ServerStartError(WorkError):
    """The server could not start: its port is in use, or it did not come up in time."""


class ServerAddressError(InputError, ServerStartError):
    """The host or port to bind is invalid: out of range, unknown, or not an address of this host."""


def bind_listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and listening; the error says what was wrong.

    Bound here rather than by uvicorn, which logs a bind failure and exits its thread, leaving
    only "exited during start-up" to report. The first address the host resolves to is used: with
    port 0 every address would get a different port.
    """
    if not isinstance(port, int) or not 0 <= port <= 65535:
        # Checked first: getaddrinfo silently wraps 70000 to 4464.
        raise ServerAddressError(
            f"port must be between 0 and 65535, got {port}", hint="0 picks a free port"
        )
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise ServerAddressError(
            f"cannot bind to host {host!r}: {reason}",
            hint="give an IP address of this machine, e.g. 127.0.0.1",
        ) from None
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listening.bind(address)
        listening.listen(2048)
    except OSError as exc:
        listening.close()
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise ServerStartError(
                f"{where} is already in use", hint="choose another port, or 0 to pick a free one"
            ) from None
        if exc.errno == errno.EACCES:
            raise ServerAddressError(
                f"not allowed to bind to {where}: {exc.strerror}",
                hint="ports below 1024 need privileges; choose another port, or 0",
            ) from None
        if exc.errno in _ADDRESS_ERRNOS:
            raise ServerAddressError(
                f"cannot bind to {where}: {exc.strerror}",
                hint="give an IP address of this machine, e.g. 127.0.0.1",
            ) from None
        raise ServerStartError(f"cannot bind to {where}: {exc.strerror or exc}") from None
    return listening


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
        # uvicorn (0.29+) installs signal handlers only on the main thread; ours never is.
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._start_timeout_s = start_timeout_s
        self.host = host
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerStartError("server is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        return f"http://{host}:{self.port}"

    def start(self) -> LoopbackServer:
        """Bind, then serve from a daemon thread; ServerAddressError or ServerStartError if not."""
        listening = bind_listening_socket(self.host, self._config.port)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [listening]},
            name="baes-loopback",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                listening.close()
                raise ServerStartError(
                    f"server on {self.host}:{self._config.port} exited during start-up"
                )
            if time.monotonic() > deadline:
                self._server.should_exit = True
                listening.close()
                raise ServerStartError(
                    f"server on {self.host} did not start within {self._start_timeout_s} s"
                )
            time.sleep(0.005)
        self.port = listening.getsockname()[1]
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
