"""The error types every layer raises; the CLI turns them into one red line and an exit code."""

from __future__ import annotations


class BaesError(Exception):
    """Base of every error baes reports to a user. `hint` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(BaesError):
    """The user gave something invalid: a bad name, config, option or file (exit 2)."""

    exit_code = 2


class WorkError(BaesError):
    """The input was fine but the work failed: a lock timed out, a write failed (exit 1)."""

    exit_code = 1
