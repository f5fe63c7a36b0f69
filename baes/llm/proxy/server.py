"""MeteringProxy: the handle the engine and `baes proxy serve` start and attribute calls with."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from baes.config.models import ModelPrice
from baes.llm.loopback_server import LoopbackServer, ServerAddressError, ServerStartError
from baes.llm.proxy.app import ModelPolicy, ProxyHandler, ProxySettings
from baes.llm.proxy.budget import Budget
from baes.llm.proxy.errors import (
    InvalidUpstreamError,
    MissingApiKeyError,
    ProxyConfigError,
    ProxyNotRunningError,
    ProxyStartError,
)
from baes.llm.proxy.tokens import AttributionRegistry, ClosedAttribution
from baes.records.transcript import TRANSCRIPT_FILE
from baes.redaction import remember_key_names

_UPSTREAM = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
_TOKEN_IN_URL = re.compile(r"/t/([A-Za-z0-9_-]+)(?:/|$)")


def validate_upstream(url: str) -> str:
    """The upstream base URL without a trailing slash; InvalidUpstreamError if not http(s)."""
    if not isinstance(url, str) or not _UPSTREAM.match(url.strip()):
        raise InvalidUpstreamError(
            f"upstream must be an http(s) base URL such as https://api.openai.com/v1, got {url!r}"
        )
    return url.strip().rstrip("/")


class MeteringProxy:
    """A local OpenAI-compatible reverse proxy that meters every call into per-run ledgers.

    Bound to 127.0.0.1 unless `host` says otherwise (cluster workers, docs/distributed.md). Each (run_id, step) gets its own base URL from
    `open_attribution`; the real API key (read from `api_key_env` at `start`) replaces whatever
    Authorization the framework sends. Without `api_key_env` the client's Authorization passes.
    """

    def __init__(
        self,
        upstream_base_url: str,
        *,
        api_key_env: str | None = None,
        experiment_model: str | None = None,
        model_policy: ModelPolicy = "rewrite",
        prices: Mapping[str, ModelPrice] | None = None,
        max_cost_usd: float | None = None,
        spent_usd: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 600.0,
        simulator_upstream: bool = False,
        record_transcripts: bool = False,
    ):
        if model_policy not in ("rewrite", "reject", "record"):
            raise ProxyConfigError(
                f"model_policy must be rewrite, reject or record, got {model_policy!r}"
            )
        if connect_timeout_s <= 0 or read_timeout_s <= 0:
            raise ProxyConfigError("timeouts must be > 0 seconds")
        self._settings = ProxySettings(
            upstream_base_url=validate_upstream(upstream_base_url),
            experiment_model=experiment_model,
            model_policy=model_policy,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            send_run_seed=simulator_upstream,
        )
        self._api_key_env = api_key_env
        self._host = host
        self._record_transcripts = record_transcripts
        self._port = port
        self._registry = AttributionRegistry()
        self._budget = Budget(max_cost_usd, spent_usd, prices or {}, experiment_model)
        self._handler: ProxyHandler | None = None
        self._server: LoopbackServer | None = None

    def __repr__(self) -> str:  # the key lives only inside the handler and is never shown
        state = self._server.url if self._server and self._server.port else "stopped"
        return f"MeteringProxy(upstream={self.upstream_base_url!r}, {state})"

    @property
    def upstream_base_url(self) -> str:
        """The one base URL calls are forwarded to (no trailing slash)."""
        return self._settings.upstream_base_url

    @property
    def url(self) -> str:
        """`http://HOST:PORT` of the running proxy."""
        if self._server is None or self._server.port is None:
            raise ProxyNotRunningError(
                "the metering proxy is not running", hint="call start() first"
            )
        return self._server.url

    @property
    def spent_usd(self) -> float:
        """Initial spend plus the metered cost of every call this proxy recorded."""
        return self._budget.spent_usd

    @property
    def max_cost_usd(self) -> float | None:
        """The budget in USD, or None for no budget."""
        return self._budget.max_cost_usd

    @property
    def unpriced_calls(self) -> int:
        """Successful calls recorded without usage, so missing from `spent_usd`."""
        return self._budget.unpriced_calls

    def start(self) -> MeteringProxy:
        """Read the API key from the environment and start serving on 127.0.0.1."""
        if self._server is not None:
            return self
        api_key = None
        if self._api_key_env is not None:
            remember_key_names([self._api_key_env])  # redacted from whatever baes prints
            api_key = os.environ.get(self._api_key_env, "").strip()
            if not api_key:
                raise MissingApiKeyError(
                    f"environment variable {self._api_key_env} holds no API key",
                    hint=f"export {self._api_key_env}=... first, or name another variable",
                )
        self._handler = ProxyHandler(self._settings, self._registry, self._budget, api_key)
        server = LoopbackServer(self._handler.app(), host=self._host, port=self._port)
        try:
            server.start()
        except ServerAddressError:
            raise  # a port the user must change: an input error, not failed work
        except ServerStartError as exc:
            raise ProxyStartError(
                f"the metering proxy could not start: {exc}", hint=exc.hint
            ) from None
        self._server = server
        return self

    def stop(self) -> None:
        """Close every attribution (fsyncing its ledger), the upstream client, and the server."""
        if self._server is None:
            return
        self._registry.close_all()
        if self._handler is not None:
            self._handler.close_upstream()
        self._server.stop()
        self._server = None
        self._handler = None

    def __enter__(self) -> MeteringProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def open_attribution(
        self,
        run_id: str,
        step: str,
        ledger_path: str | os.PathLike[str],
        seed: int | None = None,
    ) -> str:
        """A fresh base URL `http://HOST:PORT/t/<token>/v1`; its calls go to `ledger_path`.

        `seed` is the run's seed: a simulator upstream (`simulator_upstream=True`) gets it with
        every call of this attribution, so each run draws its own answers; never sent elsewhere.
        """
        base = self.url  # fails early if not running
        ledger_path = Path(ledger_path)
        # The transcript lives next to the ledger: runs/<fw>/<run_id>/transcript.jsonl.gz.
        transcript = ledger_path.parent / TRANSCRIPT_FILE if self._record_transcripts else None
        attribution = self._registry.open(run_id, str(step), ledger_path, seed, transcript)
        return f"{base}/t/{attribution.token}/v1"

    def close_attribution(self, base_url_or_token: str, wait_s: float = 10.0) -> ClosedAttribution:
        """Stop attributing to this base URL; waits up to `wait_s` for its calls in flight.

        Later calls to the URL get 401. Raises LedgerWriteError if a line could not be written.
        """
        match = _TOKEN_IN_URL.search(base_url_or_token)
        token = match.group(1) if match else base_url_or_token
        return self._registry.close(token, wait_s)
