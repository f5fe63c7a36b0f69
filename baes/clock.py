"""Time as baes writes and reads it: ISO-8601 UTC with a `Z`, to the microsecond.

Every timestamp in every baes file (registry, manifest, run.json, ledger lines, progress, locks)
comes from `utc_now`, and every reader parses it back with `parse_utc`. This module imports
nothing from baes so that any layer may use it.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_utc", "utc_now"]


def utc_now() -> str:
    """Now as ISO-8601 UTC with a Z, the one timestamp format of every baes file.

    E.g. `2026-06-21T10:00:00.123456Z`.
    """
    # isoformat rather than strftime: 3.2 against 4.3 µs a call, and the proxy calls this twice
    # per LLM call.
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_utc(text: str) -> datetime:
    """The aware datetime of a baes timestamp (`2026-06-21T10:00:00.123456Z`).

    Also accepts an explicit offset (`+00:00`) and, for files written by hand, no zone at all,
    which is taken as UTC. Raises ValueError for anything that is not an ISO-8601 timestamp.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
