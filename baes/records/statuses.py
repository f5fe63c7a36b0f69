"""The status vocabularies of the records, without pydantic, for code on the start-up path
(`baes list`, the CLI's option help) that must not pay for importing it."""

from __future__ import annotations

RUN_STATUSES: tuple[str, ...] = ("running", "completed", "failed", "interrupted")
