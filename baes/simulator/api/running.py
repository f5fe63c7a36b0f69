"""Running a simulator on a loopback port for the duration of a `with` block."""

from __future__ import annotations

from baes.llm.loopback_server import LoopbackServer
from baes.simulator.api.app import build_app
from baes.simulator.options import SimulatorOptions
from baes.simulator.provider import Simulator


class RunningSimulator:
    """A simulator served on 127.0.0.1; `base_url` ends in `/v1`, ready for an OpenAI client."""

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0):
        self.simulator = simulator
        self._server = LoopbackServer(build_app(simulator), host=host, port=port)

    def start(self) -> RunningSimulator:
        """Bind the port and start serving (done by start_simulator)."""
        self._server.start()
        return self

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, without the API prefix."""
        return self._server.url

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`, what OPENAI_BASE_URL should be."""
        return self._server.url + "/v1"

    @property
    def admin_key(self) -> str:
        return self.simulator.admin_key

    def stop(self) -> None:
        """Stop serving; safe to call twice."""
        self._server.stop()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator(
    options: SimulatorOptions | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Start a simulator on a loopback port (0 = ephemeral); use as a context manager."""
    return RunningSimulator(Simulator(options), host=host, port=port).start()
