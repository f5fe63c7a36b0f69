"""Which calls fail: a seeded draw per call number, so a run of calls fails the same way twice."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum

from baes.simulator.determinism import unit_interval


class FaultKind(Enum):
    """An injected failure of a model call."""

    SERVER_ERROR = 500
    RATE_LIMITED = 429


@dataclass(frozen=True)
class FaultDecision:
    """The fault for one call (None: answer normally) and the call's number."""

    call_number: int
    fault: FaultKind | None


class FaultPlan:
    """Decides faults from (seed, call number); numbers count every model call, failed or not.

    A request that was just rate-limited is never rate-limited again on its next attempt:
    a 429 is transient by nature, and the SDK's own retry must be able to get through even at
    rate_limit_rate=1. Server errors have no such memory: error_rate=1 fails every call.
    """

    def __init__(self, seed: int, error_rate: float, rate_limit_rate: float):
        self._seed = seed
        self._error_rate = error_rate
        self._rate_limit_rate = rate_limit_rate
        self._counter = 0
        self._rate_limited: set[str] = set()
        self._lock = threading.Lock()

    def decide(self, fingerprint: str) -> FaultDecision:
        """The fault for the next call; `fingerprint` identifies the request (key + body)."""
        with self._lock:
            self._counter += 1
            number = self._counter
            draw = unit_interval("fault", self._seed, number)
            fault = None
            if draw < self._error_rate:
                fault = FaultKind.SERVER_ERROR
            elif draw < self._error_rate + self._rate_limit_rate:
                if fingerprint in self._rate_limited:
                    self._rate_limited.discard(fingerprint)
                else:
                    self._rate_limited.add(fingerprint)
                    fault = FaultKind.RATE_LIMITED
            else:
                self._rate_limited.discard(fingerprint)
            return FaultDecision(number, fault)
