"""One chat-completions call of the reference agent, with bounded retries, a deadline and Ctrl-C.

Failures become ChatCallError with the kind the run record uses: the budget guard of the
metering proxy → "budget", the deadline → "timeout", Ctrl-C → "interrupted", anything else the
endpoint or the network did → "infrastructure" (after retries for 429 and 5xx).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from baes.config.models import SamplingConfig
from baes.http_retry import Attempt, RetryPolicy, RetryResult, send_with_retries

# A transient 429/5xx or network failure gets two more tries (more would hide a real outage):
# 1 s then 2 s without a Retry-After; a Retry-After over 30 s is cut to 30 s (the step deadline
# still bounds the whole call). The rules are baes.http_retry's.
RETRY_POLICY = RetryPolicy(
    max_attempts=3, first_backoff_s=1.0, max_backoff_s=30.0, max_retry_after_s=30.0
)
CONNECT_TIMEOUT_S = 10.0
MESSAGE_LIMIT = 300  # characters of a provider's error message kept in the one-line report


class ChatCallError(Exception):
    """A call that did not produce an answer; `kind` is a StepOutcome error kind."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class ChatClient:
    """Chat completions against one base URL until `deadline`, abandoned when `cancel` is set."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        sampling: SamplingConfig,
        deadline: float,
        cancel: threading.Event,
        note: Callable[[str], None] = lambda _: None,
        seed: int | None = None,
    ):
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._endpoint = _public_origin(base_url)
        self._api_key = api_key
        self._model = model
        self._sampling = sampling
        self._deadline = deadline
        self._cancel = cancel
        self._note = note
        self._seed = seed
        self._http = httpx.Client(headers={"Authorization": f"Bearer {api_key}"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The assistant's text for `messages`; ChatCallError when there is none."""
        body = {
            "model": self._model,
            "messages": messages,
            "temperature": self._sampling.temperature,
            "top_p": self._sampling.top_p,
        }
        if self._seed is not None:
            body["seed"] = self._seed
        outcome = send_with_retries(
            lambda: self._attempt(body),
            policy=RETRY_POLICY,
            deadline=self._deadline,
            sleep=self._sleep_unless_cancelled,
            on_retry=lambda attempt: self._note(
                f"{self._failure(attempt)}; retrying in {attempt.wait_s:.1f} s"
            ),
        )
        if outcome.stopped is None:
            assert outcome.response is not None  # only a network error is retried to the end
            if outcome.response.status_code == 200:
                return self._answer_text(outcome.response)
            raise ChatCallError("infrastructure", self._http_failure(outcome.response))
        failure = self._failure(outcome)
        if outcome.stopped == "attempts":
            raise ChatCallError("infrastructure", f"{failure} (after {outcome.attempts} attempts)")
        raise ChatCallError(
            "infrastructure", f"{failure} (no time left before the step deadline to retry)"
        )

    def _attempt(self, body: dict[str, Any]) -> httpx.Response:
        """One POST; ChatCallError for what must not be retried (budget, Ctrl-C, the deadline)."""
        self._stop_if_cancelled_or_late()
        try:
            response = self._post(body)
        except httpx.TransportError:
            if time.monotonic() >= self._deadline:
                raise self._timeout() from None
            raise  # a refused or black-holed connection (connect timeout) before the deadline
        if response.status_code == 429:
            error_type, message = _provider_error(response)
            if error_type == "budget_exceeded":
                message = self._redact(message)
                raise ChatCallError("budget", f"the experiment's cost budget is used up: {message}")
        return response

    def _sleep_unless_cancelled(self, seconds: float) -> None:
        if self._cancel.wait(seconds):
            raise ChatCallError("interrupted", "stopped by the user")

    def _failure(self, attempt: Attempt | RetryResult) -> str:
        """What went wrong with a retried attempt, in one line."""
        if attempt.response is not None:
            return self._http_failure(attempt.response)
        reason = str(attempt.error) or type(attempt.error).__name__
        return f"cannot reach the LLM endpoint {self._endpoint}: {reason}"

    def _stop_if_cancelled_or_late(self) -> None:
        if self._cancel.is_set():
            raise ChatCallError("interrupted", "stopped by the user")
        if time.monotonic() >= self._deadline:
            raise self._timeout()

    def _timeout(self) -> ChatCallError:
        return ChatCallError(
            "timeout", "the step's time limit was reached while waiting for the model"
        )

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST in a worker thread so that Ctrl-C and the deadline end the wait at once.

        httpx's timeouts bound each read, not the whole call; the waiting loop bounds the total.
        An abandoned request finishes (or times out) in its daemon thread and is discarded.
        """
        remaining = max(0.001, self._deadline - time.monotonic())
        timeout = httpx.Timeout(remaining, connect=min(CONNECT_TIMEOUT_S, remaining))
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def send() -> None:
            try:
                outcome["response"] = self._http.post(self._url, json=body, timeout=timeout)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=send, name="baes-chat-call", daemon=True).start()
        while not done.wait(0.05):
            if self._cancel.is_set():
                raise ChatCallError("interrupted", "stopped by the user")
            if time.monotonic() >= self._deadline:
                raise self._timeout()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["response"]

    def _http_failure(self, response: httpx.Response) -> str:
        """What a non-200 answer says, with the status and the endpoint (never the key)."""
        message = self._redact(_provider_error(response)[1])
        return f"HTTP {response.status_code} from the LLM endpoint {self._endpoint}: {message}"

    def _answer_text(self, response: httpx.Response) -> str:
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ChatCallError(
                "infrastructure",
                f"the LLM endpoint {self._endpoint} answered 200 without a chat completion "
                f"(body starts {response.text[:80]!r})",
            ) from None
        return content if isinstance(content, str) else ""

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


def _public_origin(base_url: str) -> str:
    """scheme://host:port of a base URL: its path carries the run's attribution token."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else base_url


def _provider_error(response: httpx.Response) -> tuple[str | None, str]:
    """The OpenAI-style error type and message of a failed response, one line, bounded."""
    error_type = None
    try:
        error = response.json().get("error")
    except ValueError:
        error = None
    if isinstance(error, dict):
        error_type = error.get("type") if isinstance(error.get("type"), str) else None
        if error.get("code") == "budget_exceeded":
            error_type = "budget_exceeded"
        message = str(error.get("message") or response.reason_phrase)
    else:
        message = response.text.strip() or response.reason_phrase
    message = " ".join(message.split())
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    return error_type, message
