"""Errors of the on-disk store."""

from __future__ import annotations

from baes.errors import InputError, WorkError


class InvalidNameError(InputError):
    """An experiment name that could escape its folder or break the layout."""


class ExperimentNotFoundError(InputError):
    """No experiment of that name under the root."""


class ExperimentExistsError(InputError):
    """An experiment of that name already exists."""


class LockTimeoutError(WorkError):
    """Another process held a lock for longer than we were willing to wait."""


class RunRecordError(InputError):
    """A run folder whose run.json is unreadable or does not belong to it."""
