"""Attribution tokens: which run and step a call belongs to, read from the URL it was sent to.

The engine opens one attribution per (run_id, step) and hands the framework a base URL with the
token in it. Tokens are unguessable, so a call can only be attributed by a framework that was
given the URL. The registry is used from the engine's thread and the proxy's event loop.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from baes.llm.ledger import LedgerEntry, LedgerWriteError, LedgerWriter, append_entry
from baes.llm.proxy.errors import UnknownAttributionError

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Attribution:
    """One open (run_id, step) and the ledger its calls are appended to."""

    token: str
    run_id: str
    step: str
    ledger_path: Path
    writer: LedgerWriter | None
    calls_recorded: int = 0
    in_flight: int = 0
    write_errors: list[str] = field(default_factory=list)
    seed: int | None = None  # the run's seed, passed on to a simulator upstream
    # Where each call's request and answer are appended (transcript.jsonl.gz); None: not kept.
    transcript_path: Path | None = None
    calls_begun: int = 0  # numbers the calls of this step in their order of arrival


@dataclass(frozen=True)
class ClosedAttribution:
    """What an attribution recorded, reported when it is closed."""

    run_id: str
    step: str
    ledger_path: Path
    calls_recorded: int
    unfinished_calls: int  # still in flight when close gave up waiting; recorded when they end


class AttributionRegistry:
    """The open attributions by token; thread-safe."""

    def __init__(self) -> None:
        self._by_token: dict[str, Attribution] = {}
        # One condition guards the table, the in-flight counts and every ledger write, so a
        # write can never race with the close of its writer.
        self._cond = threading.Condition()

    def open(
        self,
        run_id: str,
        step: str,
        ledger_path: str | os.PathLike[str],
        seed: int | None = None,
        transcript_path: Path | None = None,
    ) -> Attribution:
        """Register a new attribution; the ledger file is created now, so a bad path fails here."""
        writer = LedgerWriter(ledger_path)
        token = secrets.token_urlsafe(24)
        attribution = Attribution(
            token,
            run_id,
            step,
            Path(ledger_path),
            writer,
            seed=seed,
            transcript_path=transcript_path,
        )
        with self._cond:
            self._by_token[token] = attribution
        return attribution

    def begin_call(self, token: str) -> Attribution | None:
        """The open attribution of `token`, counting one more call in flight; None if unknown."""
        with self._cond:
            attribution = self._by_token.get(token)
            if attribution is not None:
                attribution.in_flight += 1
                attribution.calls_begun += 1
            return attribution

    def record(self, attribution: Attribution, entry: LedgerEntry) -> None:
        """Append the ledger line of one finished call and count it as no longer in flight."""
        with self._cond:
            try:
                if attribution.writer is not None:
                    attribution.writer.append(entry)
                else:
                    # The step was closed while this call was still running: still record it.
                    append_entry(attribution.ledger_path, entry)
                attribution.calls_recorded += 1
            except LedgerWriteError as exc:
                attribution.write_errors.append(exc.message)
                log.error("%s", exc.message)
            finally:
                attribution.in_flight -= 1
                self._cond.notify_all()

    def close(self, token: str, wait_s: float = 10.0) -> ClosedAttribution:
        """Stop accepting calls for `token`, wait up to `wait_s` for calls in flight, fsync.

        Raises LedgerWriteError if any line of this attribution could not be written.
        """
        with self._cond:
            attribution = self._by_token.pop(token, None)
            if attribution is None:
                raise UnknownAttributionError(
                    "no open attribution has this token",
                    hint="pass the base URL or token open_attribution() returned, once",
                )
            self._cond.wait_for(lambda: attribution.in_flight == 0, timeout=wait_s)
            writer, attribution.writer = attribution.writer, None
            try:
                if writer is not None:
                    writer.sync()
            except LedgerWriteError as exc:
                attribution.write_errors.append(exc.message)
            finally:
                if writer is not None:
                    writer.close()
            unfinished = attribution.in_flight
        if attribution.write_errors:
            raise LedgerWriteError(
                f"{len(attribution.write_errors)} ledger line(s) of run {attribution.run_id} step "
                f"{attribution.step} could not be written; first: {attribution.write_errors[0]}"
            )
        return ClosedAttribution(
            attribution.run_id,
            attribution.step,
            attribution.ledger_path,
            attribution.calls_recorded,
            unfinished,
        )

    def close_all(self, wait_s: float = 5.0) -> None:
        """Close every open attribution (at proxy shutdown); write errors are logged."""
        with self._cond:
            tokens = list(self._by_token)
        for token in tokens:
            try:
                self.close(token, wait_s)
            except (LedgerWriteError, UnknownAttributionError) as exc:
                log.error("%s", exc.message)
