"""Retrying an HTTP request: the one retry policy of every baes HTTP client that retries.

Used by the reference agent's chat client (frameworks/chat_client.py) and by the reconcile
usage-API client (reconcile/usage_client.py). The metering proxy never retries: it forwards each
call once and the framework's own client decides (a retry there is a second metered call). The
pre-flight probe of `baes run` asks once: it checks reachability and must not delay the start.

The policy, in full:

- **Retried**: a network failure (`httpx.TransportError`: refused or reset connection, connect or
  read timeout) and the statuses 429 and 5xx. Every other answer is returned at once. A client
  that must not retry some 429 (the proxy's budget refusal) raises from its `send` function:
  any exception other than a `TransportError` ends the loop and propagates unchanged.
- **Wait**: the endpoint's `retry-after-ms`, else `Retry-After` in delta-seconds, clamped to
  `[min_wait_s, max_retry_after_s]`; a longer request is cut to the maximum (the deadline still
  bounds the total) and a zero wait becomes `min_wait_s` so a server that always answers "0"
  cannot make a hot loop. A header that is negative, not a number, not finite, or an HTTP-date is
  ignored (as if absent: the next header is consulted). Without a usable header the wait is
  exponential backoff, `first_backoff_s * 2**(failures - 1)` capped at `max_backoff_s`.
- **Stop**: after `max_attempts` (None: no limit), or when the next wait would end at or after the
  deadline (a `time.monotonic()` value). The caller then gets the last response or network error
  and the reason it stopped, and writes its own message.

Sleep and clock are injected so tests never really wait.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    stop_never,
)
from tenacity.stop import stop_base

__all__ = [
    "Attempt",
    "RetryPolicy",
    "RetryResult",
    "is_retried_status",
    "retry_after_s",
    "send_with_retries",
]

StopReason = Literal["attempts", "deadline"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry; see the module docstring for the rules."""

    max_attempts: int | None
    """Attempts in all, the first included; None retries until the deadline."""
    first_backoff_s: float
    """Wait after the first failure without a usable Retry-After; doubled after each failure."""
    max_backoff_s: float
    """The longest backoff wait."""
    max_retry_after_s: float
    """The longest wait a Retry-After header can ask for; longer requests are cut to it."""
    min_wait_s: float = 0.05
    """The shortest wait a Retry-After header can ask for (0 included)."""

    def backoff_s(self, failures: int) -> float:
        """The backoff wait after `failures` failed attempts (1 for the first)."""
        return min(self.max_backoff_s, self.first_backoff_s * 2 ** max(0, failures - 1))

    def wait_s(self, response: httpx.Response | None, failures: int) -> float:
        """The wait before the next attempt, after `failures` failures ending with `response`."""
        asked = retry_after_s(response.headers) if response is not None else None
        if asked is None:
            return self.backoff_s(failures)
        return min(self.max_retry_after_s, max(self.min_wait_s, asked))


@dataclass(frozen=True)
class Attempt:
    """A failed attempt about to be retried: what it got and how long the wait before the next."""

    number: int
    response: httpx.Response | None
    error: httpx.TransportError | None
    wait_s: float


@dataclass(frozen=True)
class RetryResult:
    """The last attempt: a response (any status) or a network error, and why the loop ended.

    `stopped` is None when the last answer was not one to retry (a 200, a 4xx other than 429);
    "attempts" or "deadline" when the loop gave up on a retried failure.
    """

    response: httpx.Response | None
    error: httpx.TransportError | None
    attempts: int
    stopped: StopReason | None


def is_retried_status(status: int) -> bool:
    """429 (rate limited) and every 5xx: the answers worth asking again."""
    return status == 429 or 500 <= status <= 599


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds the endpoint asked to wait: `retry-after-ms`, then `Retry-After` (seconds).

    None when neither holds a finite, non-negative number (HTTP-dates included: rare for LLM
    APIs, and the backoff is a fine substitute).
    """
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


class _StopAtDeadline(stop_base):
    """Stop when the wait tenacity just computed would end at or after the deadline."""

    def __init__(self, deadline: float, clock: Callable[[], float]):
        self._deadline = deadline
        self._clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock() + retry_state.upcoming_sleep >= self._deadline


def _last(retry_state: RetryCallState) -> tuple[httpx.Response | None, httpx.TransportError | None]:
    outcome = retry_state.outcome
    assert outcome is not None  # tenacity calls wait/stop/before_sleep only after an attempt
    if outcome.failed:
        error = outcome.exception()
        assert isinstance(error, httpx.TransportError)  # the only exception that is retried
        return None, error
    return outcome.result(), None


def send_with_retries(
    send: Callable[[], httpx.Response],
    *,
    policy: RetryPolicy,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[Attempt], None] | None = None,
) -> RetryResult:
    """Call `send` until it gets an answer not worth retrying, or the policy gives up.

    `sleep` may raise (the chat client's sleep ends on Ctrl-C); so may `send`, for answers that
    must not be retried: both propagate unchanged.
    """

    def wait(retry_state: RetryCallState) -> float:
        response, _ = _last(retry_state)
        return policy.wait_s(response, retry_state.attempt_number)

    def before_sleep(retry_state: RetryCallState) -> None:
        if on_retry is not None:
            response, error = _last(retry_state)
            on_retry(
                Attempt(retry_state.attempt_number, response, error, retry_state.upcoming_sleep)
            )

    def gave_up(retry_state: RetryCallState) -> RetryResult:
        response, error = _last(retry_state)
        attempts = retry_state.attempt_number
        by_count = policy.max_attempts is not None and attempts >= policy.max_attempts
        return RetryResult(response, error, attempts, "attempts" if by_count else "deadline")

    count = stop_after_attempt(policy.max_attempts) if policy.max_attempts else stop_never
    retrying = Retrying(
        retry=retry_if_exception_type(httpx.TransportError)
        | retry_if_result(lambda response: is_retried_status(response.status_code)),
        wait=wait,
        stop=count | _StopAtDeadline(deadline, clock),
        sleep=sleep,
        before_sleep=before_sleep,
        retry_error_callback=gave_up,
    )
    attempts = 0

    def counted_send() -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return send()

    result = retrying(counted_send)
    if isinstance(result, RetryResult):
        return result
    return RetryResult(result, None, attempts, None)
