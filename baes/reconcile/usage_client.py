"""A client of OpenAI's organization usage API (`GET /v1/organization/usage/completions`).

It reads one time window in minute buckets, follows `next_page` until `has_more` is false, and
retries 429s, 5xx and network errors with exponential backoff (honouring `Retry-After`) until a
deadline. Every failure is a `UsageApiError` that says what went wrong; a failed read never
yields numbers. The simulator serves the same endpoint, so the same code checks both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from baes.errors import WorkError
from baes.http_retry import RetryPolicy, send_with_retries
from baes.llm.loopback_url import is_loopback
from baes.reconcile.quantities import Quantities
from baes.redaction import redact

BUCKET_SECONDS = 60
# Query items as httpx types them (a list, since group_by[] repeats; lists are invariant).
Query = list[tuple[str, str | int | float | bool | None]]
MAX_BUCKETS_PER_PAGE = 1440  # OpenAI's maximum `limit` for bucket_width=1m
# Retried until the caller's deadline (reconcile.retry_deadline_s): 0.5, 1, 2, 4, 8, 8 … s without
# a Retry-After; a Retry-After over a minute is cut to one. The rules are baes.http_retry's.
RETRY_POLICY = RetryPolicy(
    max_attempts=None, first_backoff_s=0.5, max_backoff_s=8.0, max_retry_after_s=60.0
)


class UsageApiError(WorkError):
    """A usage read that failed. `permanent`: retrying later will not help (fix the setup first)."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        permanent: bool,
        attempts: int = 0,
        status: int | None = None,
        hint: str | None = None,
    ):
        super().__init__(message, hint)
        self.kind = kind
        self.permanent = permanent
        self.attempts = attempts
        self.status = status


@dataclass(frozen=True)
class ProviderBucket:
    """One result of one minute bucket: what the provider billed for a model (and key)."""

    start: int
    model: str | None
    api_key_id: str | None
    quantities: Quantities

    def to_json(self) -> list[Any]:
        q = self.quantities
        return [
            self.start,
            self.model,
            self.api_key_id,
            q.requests,
            q.input_tokens,
            q.cached_tokens,
            q.output_tokens,
        ]

    @classmethod
    def from_json(cls, raw: Any) -> ProviderBucket:
        """The compact list form `to_json` writes; ValueError otherwise."""
        if not isinstance(raw, list) or len(raw) != 7:
            raise ValueError("a provider bucket is a list of 7 values")
        start, model, key, *numbers = raw
        if not isinstance(start, int) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in numbers
        ):
            raise ValueError("bucket start and counts must be integers")
        return cls(start, model, key, Quantities(*numbers))


@dataclass(frozen=True)
class UsageReport:
    """Every non-empty bucket result of a window, and how many pages and attempts it took."""

    start: int
    end: int
    buckets: list[ProviderBucket]
    pages: int
    attempts: int


def _error_detail(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        message = error.get("message") or ""
    except (ValueError, AttributeError):
        message = response.text[:200]
    return f"HTTP {response.status_code}" + (f": {message}" if message else "")


def _integer(result: dict[str, Any], name: str) -> int:
    value = result.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"result field {name!r} is {value!r}, not an integer")
    return value


def parse_page(body: Any, start: int, end: int) -> tuple[list[ProviderBucket], str | None]:
    """The bucket results of one page and the next cursor; ValueError when it is not a page."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ValueError("the answer has no 'data' list")
    buckets: list[ProviderBucket] = []
    for bucket in body["data"]:
        if not isinstance(bucket, dict):
            raise ValueError("a bucket is not an object")
        bucket_start = bucket.get("start_time")
        if not isinstance(bucket_start, int):
            raise ValueError(f"bucket start_time is {bucket_start!r}")
        if not start <= bucket_start < end:
            raise ValueError(f"bucket {bucket_start} lies outside the window {start}..{end}")
        for result in bucket.get("results") or []:
            if not isinstance(result, dict):
                raise ValueError("a bucket result is not an object")
            quantities = Quantities(
                _integer(result, "num_model_requests"),
                _integer(result, "input_tokens"),
                _integer(result, "input_cached_tokens"),
                _integer(result, "output_tokens"),
            )
            if quantities != Quantities():
                buckets.append(
                    ProviderBucket(
                        bucket_start, result.get("model"), result.get("api_key_id"), quantities
                    )
                )
    has_more = body.get("has_more")
    cursor = body.get("next_page")
    if has_more is True:
        if not isinstance(cursor, str) or not cursor:
            raise ValueError("has_more is true but next_page is missing")
        return buckets, cursor
    return buckets, None


class UsageClient:
    """Reads minute buckets of completions usage with an admin key, within a deadline."""

    def __init__(
        self,
        base_url: str,
        admin_key: str,
        *,
        timeout_s: float = 30.0,
        deadline_s: float = 120.0,
        page_limit: int = MAX_BUCKETS_PER_PAGE,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.url = base_url.rstrip("/") + "/organization/usage/completions"
        self._admin_key = admin_key
        self._timeout_s = timeout_s
        self._deadline_s = deadline_s
        self._page_limit = page_limit
        self._transport = transport
        self._sleep = sleep
        self._monotonic = monotonic

    def completions(
        self,
        start: int,
        end: int,
        *,
        group_by: Sequence[str] = ("model",),
        project_ids: Sequence[str] = (),
    ) -> UsageReport:
        """Usage in `[start, end)` (both on minute boundaries), every page, grouped as asked."""
        if start % BUCKET_SECONDS or end % BUCKET_SECONDS or end <= start:
            raise ValueError("the window must be whole minutes, start before end")
        deadline = self._monotonic() + self._deadline_s
        params: Query = [
            ("start_time", start),
            ("end_time", end),
            ("bucket_width", "1m"),
            ("limit", self._page_limit),
        ]
        params += [("group_by[]", name) for name in group_by]
        params += [("project_ids[]", project) for project in project_ids]
        buckets: list[ProviderBucket] = []
        pages = attempts = 0
        # Each page holds at least one bucket, so more pages than buckets means a looping cursor.
        max_pages = (end - start) // BUCKET_SECONDS + 1
        cursor: str | None = None
        with httpx.Client(
            transport=self._transport,
            headers={"Authorization": f"Bearer {self._admin_key}"},
            trust_env=not is_loopback(self.url),
        ) as client:
            while True:
                page_params = params + ([("page", cursor)] if cursor else [])
                body, used = self._get(client, page_params, deadline)
                attempts += used
                pages += 1
                try:
                    found, cursor = parse_page(body, start, end)
                except ValueError as exc:
                    raise UsageApiError(
                        f"the usage API at {self.url} gave a malformed page ({exc})",
                        kind="malformed",
                        permanent=False,
                        attempts=attempts,
                    ) from None
                buckets += found
                if cursor is None:
                    break
                if pages >= max_pages:
                    raise UsageApiError(
                        f"the usage API at {self.url} kept returning pages ({pages} for "
                        f"{max_pages - 1} buckets); its pagination does not end",
                        kind="malformed",
                        permanent=False,
                        attempts=attempts,
                    )
        return UsageReport(start, end, buckets, pages, attempts)

    def _get(self, client: httpx.Client, params: Query, deadline: float) -> tuple[Any, int]:
        """One page, retried on 429/5xx/network errors until the deadline; (body, attempts)."""
        started = self._monotonic()
        timeouts: list[float] = []

        def send() -> httpx.Response:
            timeouts.append(max(0.1, min(self._timeout_s, deadline - self._monotonic())))
            timeout = timeouts[-1]
            return client.get(self.url, params=params, timeout=timeout)

        outcome = send_with_retries(
            send, policy=RETRY_POLICY, deadline=deadline, clock=self._monotonic, sleep=self._sleep
        )
        response, attempts = outcome.response, outcome.attempts
        if outcome.stopped is None:
            assert response is not None  # only a network error is retried to the end
            if response.status_code != 200:
                raise self._refused(response, attempts)
            try:
                return response.json(), attempts
            except ValueError:
                raise UsageApiError(
                    f"the usage API at {self.url} answered 200 with a body that is not JSON",
                    kind="malformed",
                    permanent=False,
                    attempts=attempts,
                    status=200,
                ) from None
        if response is not None:
            problem = _error_detail(response)
        elif isinstance(outcome.error, httpx.TimeoutException):
            problem = f"no answer within {timeouts[-1]:.3g} s"
        else:
            problem = f"cannot reach {self.url} ({type(outcome.error).__name__}: {outcome.error})"
        spent = self._monotonic() - started
        raise UsageApiError(
            redact(
                f"the usage API kept failing: {problem} ({attempts} attempt"
                f"{'s' if attempts != 1 else ''} over {spent:.1f} s)",
                self._admin_key,
            ),
            kind="provider-failing",
            permanent=False,
            attempts=attempts,
            hint="try again later (reconcile.retry_deadline_s sets how long to keep trying)",
        )

    def _refused(self, response: httpx.Response, attempts: int) -> UsageApiError:
        """A 4xx other than 429: retrying the same request cannot help."""
        status = response.status_code
        detail = redact(_error_detail(response), self._admin_key)
        if status in (401, 403):
            return UsageApiError(
                f"the usage API refused the admin key ({detail})",
                kind="admin-key-refused",
                permanent=True,
                attempts=attempts,
                status=status,
                hint="use an admin key of the organisation the calls were billed to, with the "
                "usage-read permission (api.usage.read); see docs/reconcile.md",
            )
        if status in (404, 405):
            return UsageApiError(
                f"the provider has no usage API at {self.url} ({detail})",
                kind="no-usage-api",
                permanent=True,
                attempts=attempts,
                status=status,
                hint="reconcile needs OpenAI's organization usage endpoint; this provider "
                "does not offer it",
            )
        return UsageApiError(
            f"the usage API rejected the query ({detail})",
            kind="bad-request",
            permanent=True,
            attempts=attempts,
            status=status,
        )
