"""Recorded model calls and the organization usage endpoint computed from them."""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baes.simulator.usage_log import UsageLog

SIM_PROJECT_ID = "proj_simulator"
# Which recorded calls each usage endpoint reports, as OpenAI splits them: completions usage
# never includes embeddings, which have a usage endpoint of their own.
USAGE_ENDPOINTS = {
    "completions": frozenset({"/v1/chat/completions", "/v1/responses", "/v1/completions"}),
    "embeddings": frozenset({"/v1/embeddings"}),
}
BUCKET_WIDTHS = {"1m": 60, "1h": 3600, "1d": 86400}
# Default and maximum bucket counts per page, as OpenAI documents them.
BUCKET_LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}
GROUP_FIELDS = (
    "project_id",
    "user_id",
    "api_key_id",
    "model",
    "batch",
    "service_tier",
    "api_source",
)


@dataclass(frozen=True)
class RecordedCall:
    """One successful model call. `input_tokens` includes `cached_tokens`, as OpenAI reports."""

    timestamp: float
    api_key_id: str
    model: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    endpoint: str
    stream: bool
    defect: str | None = None
    project_id: str = SIM_PROJECT_ID


@dataclass(frozen=True)
class FaultEvent:
    """A model call answered with an injected error instead of a completion."""

    timestamp: float
    api_key_id: str
    model: str
    status_code: int
    call_number: int


class UsageQueryError(ValueError):
    """A usage query parameter is missing or invalid."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class UsageQuery:
    """The parameters of GET /v1/organization/usage/completions."""

    start_time: int
    end_time: int | None = None
    bucket_width: str = "1d"
    group_by: tuple[str, ...] = ()
    api_key_ids: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    project_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    batch: bool | None = None
    limit: int | None = None
    page: str | None = None


def _values(params: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    """A list parameter given repeated (`x=a&x=b`), with brackets (`x[]=a`) or comma-separated."""
    raw = list(params.get(name, ())) + list(params.get(f"{name}[]", ()))
    return tuple(v.strip() for item in raw for v in item.split(",") if v.strip())


def _last(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The last value of a repeated query parameter, None when it is absent."""
    values = params.get(name)
    return values[-1] if values else None


def _integer(params: Mapping[str, Sequence[str]], name: str) -> int | None:
    values = params.get(name)
    if not values:
        return None
    try:
        return int(values[-1])
    except ValueError:
        raise UsageQueryError(
            f"Invalid '{name}': expected an integer, got {values[-1]!r}.", name
        ) from None


def parse_usage_query(params: Mapping[str, Sequence[str]]) -> UsageQuery:
    """Validate the query string of a usage request (values as lists, like a multidict)."""
    start_time = _integer(params, "start_time")
    if start_time is None:
        raise UsageQueryError("Missing required parameter: 'start_time'.", "start_time")
    end_time = _integer(params, "end_time")
    if end_time is not None and end_time <= start_time:
        raise UsageQueryError("'end_time' must be greater than 'start_time'.", "end_time")
    width = (params.get("bucket_width") or ["1d"])[-1]
    if width not in BUCKET_WIDTHS:
        raise UsageQueryError(
            f"Invalid 'bucket_width' {width!r}: expected 1m, 1h or 1d.", "bucket_width"
        )
    group_by = _values(params, "group_by")
    for name in group_by:
        if name not in GROUP_FIELDS:
            raise UsageQueryError(f"Invalid 'group_by' value {name!r}.", "group_by")
    limit = _integer(params, "limit")
    maximum = BUCKET_LIMITS[width][1]
    if limit is not None and not 1 <= limit <= maximum:
        raise UsageQueryError(
            f"'limit' must be between 1 and {maximum} for bucket_width={width}.", "limit"
        )
    batch_raw = _last(params, "batch")
    batch = None if batch_raw is None else batch_raw.lower() in ("true", "1")
    return UsageQuery(
        start_time=start_time,
        end_time=end_time,
        bucket_width=width,
        group_by=tuple(dict.fromkeys(group_by)),
        api_key_ids=_values(params, "api_key_ids"),
        models=_values(params, "models"),
        project_ids=_values(params, "project_ids"),
        user_ids=_values(params, "user_ids"),
        batch=batch,
        limit=limit,
        page=_last(params, "page"),
    )


def encode_page(bucket_start: int) -> str:
    """The opaque cursor of the page that starts at a bucket."""
    return "page_" + base64.urlsafe_b64encode(f"bucket:{bucket_start}".encode()).decode()


def decode_page(cursor: str) -> int:
    """The bucket start a cursor points at; UsageQueryError for a cursor we did not issue."""
    try:
        text = base64.urlsafe_b64decode(cursor.removeprefix("page_").encode()).decode()
        kind, _, value = text.partition(":")
        if kind != "bucket":
            raise ValueError(text)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UsageQueryError(f"Invalid 'page' cursor {cursor!r}.", "page") from None


def _group_value(call: RecordedCall, name: str) -> Any:
    return {
        "project_id": call.project_id,
        "user_id": None,
        "api_key_id": call.api_key_id,
        "model": call.model,
        "batch": False,
        "service_tier": "default",
        "api_source": "unlabeled",
    }[name]


def _matches(call: RecordedCall, query: UsageQuery) -> bool:
    if query.api_key_ids and call.api_key_id not in query.api_key_ids:
        return False
    if query.models and call.model not in query.models:
        return False
    if query.project_ids and call.project_id not in query.project_ids:
        return False
    if query.user_ids:
        return False  # simulated calls carry no user id
    return query.batch is not True  # simulated calls are never batch jobs


def _results(
    calls: Iterable[RecordedCall], group_by: tuple[str, ...], usage: str
) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[RecordedCall]] = {}
    for call in calls:
        groups.setdefault(tuple(_group_value(call, g) for g in group_by), []).append(call)
    results = []
    for key in sorted(groups, key=lambda k: tuple(str(v) for v in k)):
        members = groups[key]
        result: dict[str, Any] = {
            "object": f"organization.usage.{usage}.result",
            "input_tokens": sum(c.input_tokens for c in members),
        }
        if usage == "completions":
            result |= {
                "output_tokens": sum(c.output_tokens for c in members),
                "input_cached_tokens": sum(c.cached_tokens for c in members),
                "input_audio_tokens": 0,
                "output_audio_tokens": 0,
            }
        result |= {
            "num_model_requests": len(members),
            "project_id": None,
            "user_id": None,
            "api_key_id": None,
            "model": None,
        }
        if usage == "completions":
            result["batch"] = None
        result.update(zip(group_by, key, strict=True))
        results.append(result)
    return results


class UsageStore:
    """Thread-safe list of recorded calls and faults (the app writes, tests read).

    With a usage log the calls live in that file instead of in memory: the usage endpoint then
    reports every call any simulator sharing the file recorded, across restarts. Faults are
    never persisted; they are not usage.
    """

    def __init__(self, log: UsageLog | None = None) -> None:
        self._calls: list[RecordedCall] = []
        self._faults: list[FaultEvent] = []
        self._lock = threading.Lock()
        self._log = log

    def record(self, call: RecordedCall) -> None:
        if self._log is not None:
            self._log.append(call)
            return
        with self._lock:
            self._calls.append(call)

    def record_fault(self, fault: FaultEvent) -> None:
        with self._lock:
            self._faults.append(fault)

    def calls(self) -> list[RecordedCall]:
        if self._log is not None:
            return self._log.calls()
        with self._lock:
            return list(self._calls)

    def faults(self) -> list[FaultEvent]:
        with self._lock:
            return list(self._faults)

    def page(
        self, query: UsageQuery, now: float, lag_s: float, usage: str = "completions"
    ) -> dict[str, Any]:
        """One page of `usage` buckets ("completions" or "embeddings"); calls younger than
        `lag_s` are not reported yet."""
        endpoints = USAGE_ENDPOINTS[usage]
        width = BUCKET_WIDTHS[query.bucket_width]
        end: float = query.end_time if query.end_time is not None else now
        first = query.start_time - query.start_time % width  # buckets are aligned in UTC
        start = decode_page(query.page) if query.page else first
        if start % width or start < first:
            raise UsageQueryError("The 'page' cursor does not belong to this query.", "page")
        limit = query.limit or BUCKET_LIMITS[query.bucket_width][0]
        visible_before = now - lag_s
        calls = [
            c
            for c in self.calls()
            if c.endpoint in endpoints
            and c.timestamp <= visible_before
            and query.start_time <= c.timestamp < end
            and _matches(c, query)
        ]
        data: list[dict[str, Any]] = []
        bucket = start
        while bucket < end and len(data) < limit:
            members = [c for c in calls if bucket <= c.timestamp < bucket + width]
            data.append(
                {
                    "object": "bucket",
                    "start_time": bucket,
                    "end_time": bucket + width,
                    "results": _results(members, query.group_by, usage),
                }
            )
            bucket += width
        has_more = bucket < end
        return {
            "object": "page",
            "data": data,
            "has_more": has_more,
            "next_page": encode_page(bucket) if has_more else None,
        }
