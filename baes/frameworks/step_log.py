"""The readable record of the reference agent's conversation in a step's log folder.

Not the run's transcript.jsonl.gz (baes.records.transcript), which the metering proxy keeps for
every framework: this is the builtin agent's own account, written as it works.

stdout.log holds every message sent (each only once, as the conversation grows) and every
answer, in order; stderr.log holds what went wrong along the way (retries, refusals).
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO


class StepLog:
    """Appends a conversation to `log_dir`/stdout.log and notes to `log_dir`/stderr.log."""

    def __init__(self, log_dir: Path):
        log_dir.mkdir(parents=True, exist_ok=True)
        self._out: TextIO = open(log_dir / "stdout.log", "a", encoding="utf-8")
        self._err: TextIO = open(log_dir / "stderr.log", "a", encoding="utf-8")
        self._requests = 0
        self._logged_messages = 0

    def request(self, label: str, messages: list[dict[str, str]]) -> None:
        """Record a request: the messages not recorded by an earlier request of this step."""
        self._requests += 1
        self._out.write(f"=== request {self._requests}: {label} ===\n")
        for message in messages[self._logged_messages :]:
            self._out.write(f"--- {message['role']} ---\n{message['content'].rstrip()}\n")
        self._logged_messages = len(messages)
        self._out.flush()

    def answer(self, text: str) -> None:
        """Record the model's answer to the latest request."""
        self._out.write(f"=== answer {self._requests} ===\n{text.rstrip()}\n")
        # The answer becomes the next request's assistant message; don't print it twice.
        self._logged_messages += 1
        self._out.flush()

    def event(self, text: str) -> None:
        """Record something baes did (files written, a check's result) in the transcript."""
        self._out.write(f"[baes] {text}\n")
        self._out.flush()

    def note(self, text: str) -> None:
        """Record a problem (a retry, a refused answer) in stderr.log."""
        self._err.write(f"[baes] {text}\n")
        self._err.flush()

    def close(self) -> None:
        self._out.close()
        self._err.close()

    def __enter__(self) -> StepLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
