"""The knobs of one simulator instance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# Who shares a prompt cache: every call of one API key (as at a real provider, where one
# organisation's key shares cached prefixes across processes for minutes), or only the calls of
# one run (the proxy's run seed header), so no run is cheaper because another ran before it.
PromptCacheScope = Literal["key", "run"]
PROMPT_CACHE_SCOPES: tuple[str, ...] = ("key", "run")


class SimulatorOptionsError(ValueError):
    """A simulator option is out of range."""


@dataclass(frozen=True)
class SimulatorOptions:
    """How a simulator behaves: seed, latency, faults, usage-reporting lag and admin key.

    `error_rate` and `rate_limit_rate` are fractions of model calls answered 500 and 429;
    their sum must not exceed 1. `usage_error_rate` is the fraction of usage-API requests
    answered 500. `admin_key=None` means "generate one with `secrets`". `usage_log` is a JSONL
    file where usage records are kept (appended per call, read back by the usage endpoint, shared
    by every simulator using it); None keeps them in memory for the simulator's lifetime.
    `prompt_cache_scope` is "key" (runs of one key share cached prefixes, the default) or "run"
    (each run seed sent by the metering proxy has a cache of its own); see PromptCacheScope.
    `prompt_cache_ttl_s` expires a cached prefix that long after its last use (OpenAI keeps them
    5 to 10 minutes of inactivity, at most an hour); None keeps them while the simulator runs.
    """

    seed: int = 0
    latency_ms: float = 0
    latency_per_token_ms: float = 0
    error_rate: float = 0
    rate_limit_rate: float = 0
    usage_lag_s: float = 0
    admin_key: str | None = None
    usage_error_rate: float = 0
    usage_log: Path | None = None
    prompt_cache_scope: PromptCacheScope = "key"
    prompt_cache_ttl_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("latency_ms", "latency_per_token_ms", "usage_lag_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise SimulatorOptionsError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("error_rate", "rate_limit_rate", "usage_error_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise SimulatorOptionsError(f"{name} must be between 0 and 1, got {value!r}")
        if self.error_rate + self.rate_limit_rate > 1:
            raise SimulatorOptionsError(
                "error_rate + rate_limit_rate must not exceed 1 "
                f"(got {self.error_rate} + {self.rate_limit_rate})"
            )
        ttl = self.prompt_cache_ttl_s
        if ttl is not None and (not math.isfinite(ttl) or ttl <= 0):
            raise SimulatorOptionsError(
                f"prompt_cache_ttl_s must be a finite number > 0 (or None), got {ttl!r}"
            )
        if self.prompt_cache_scope not in PROMPT_CACHE_SCOPES:
            raise SimulatorOptionsError(
                f"prompt_cache_scope must be 'key' or 'run', got {self.prompt_cache_scope!r}"
            )
        if self.admin_key is not None and not self.admin_key.strip():
            raise SimulatorOptionsError("admin_key must not be empty; omit it to generate one")
