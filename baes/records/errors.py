"""The errors of reading a record (no pydantic here: the `baes list` fast path imports these)."""

from __future__ import annotations

from baes.errors import InputError


class RecordError(ValueError):
    """A record that is not valid JSON or does not match its model; one line saying where."""


class NewerRecordError(InputError):
    """A record written by a newer baes: its schema_version is above what this baes reads."""
