"""The LLM services of a `baes run`: the embedded simulator when the design asks for it, and the
metering proxy every framework talks to."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from baes.config.models import ExperimentConfig
from baes.llm.proxy import MeteringProxy

if TYPE_CHECKING:  # the simulator package loads only when a run uses it
    from baes.simulator.options import PromptCacheScope

OPENAI_BASE_URL = "https://api.openai.com/v1"
# The simulator accepts any key; one fixed key per `baes run` makes all runs one caller, as with
# a real provider (prompt caching and the usage endpoint group by key).
SIM_KEY_ENV = "BAES_SIM_API_KEY"


@dataclass(frozen=True)
class SimulatorSettings:
    """How the embedded simulator behaves in this run (latency for demos and benchmarks)."""

    latency_ms: float = 0.0
    latency_per_token_ms: float = 0.0
    prompt_cache_scope: PromptCacheScope = "key"  # "run": no run hits another run's cache


def simulator_usage_log(root: Path) -> Path:
    """Where the embedded simulators of an experiments root keep their usage records."""
    from baes.simulator.usage_log import root_usage_log

    return root_usage_log(root)


def provider_endpoint(design: ExperimentConfig) -> tuple[str | None, str]:
    """The upstream base URL and the environment variable holding its key.

    The URL is None for the embedded simulator, which `llm_services` starts on a free port.
    """
    if design.provider.kind == "sim":
        os.environ.setdefault(SIM_KEY_ENV, "sk-baes-simulator")
        return design.provider.base_url, SIM_KEY_ENV  # base_url: a `baes sim serve` elsewhere
    return design.provider.base_url or OPENAI_BASE_URL, design.provider.api_key_env


def provider_key(key_env: str) -> str:
    """The key in `key_env`, stripped as the proxy strips it ("" when unset)."""
    return os.environ.get(key_env, "").strip()


@contextlib.contextmanager
def llm_services(
    design: ExperimentConfig,
    spent_usd: float,
    simulator: SimulatorSettings | None = None,
    *,
    usage_log: Path | None = None,
    proxy_host: str = "127.0.0.1",
    proxy_port: int = 0,
) -> Iterator[MeteringProxy]:
    """Start the upstream (simulator or real provider) and the metering proxy in front of it.

    `usage_log` is where an embedded simulator keeps its usage records (the provider's side of
    `baes reconcile`); None keeps them in memory only. `proxy_host` and `proxy_port` are where
    the proxy listens (other than loopback only for cluster workers, docs/distributed.md; port 0
    picks a free one).
    """
    with contextlib.ExitStack() as stack:
        upstream, key_env = provider_endpoint(design)
        if upstream is None:
            from baes.simulator import SimulatorOptions, start_simulator

            settings = simulator or SimulatorSettings()
            sim = stack.enter_context(
                start_simulator(
                    SimulatorOptions(
                        seed=design.seed,
                        latency_ms=settings.latency_ms,
                        latency_per_token_ms=settings.latency_per_token_ms,
                        usage_log=usage_log,
                        prompt_cache_scope=settings.prompt_cache_scope,
                    )
                )
            )
            upstream = sim.base_url
        proxy = MeteringProxy(
            upstream,
            api_key_env=key_env,
            experiment_model=design.model,
            model_policy=design.provider.model_policy,
            prices=design.pricing,
            max_cost_usd=design.limits.max_cost_usd,
            spent_usd=spent_usd,
            host=proxy_host,
            port=proxy_port,
            # Every `kind: sim` upstream is a baes simulator (embedded or `baes sim serve`): it
            # gets each call's run seed, so runs of one framework differ as real runs do.
            simulator_upstream=design.provider.kind == "sim",
            record_transcripts=design.record_transcripts,
        )
        stack.enter_context(proxy)
        yield proxy
