"""One call from arrival to its ledger line: timing, attribution, usage, budget charge."""

from __future__ import annotations

import time
from collections.abc import Callable

from baes.clock import utc_now
from baes.llm.ledger import LedgerEntry
from baes.llm.proxy.budget import Budget
from baes.llm.proxy.tokens import Attribution, AttributionRegistry
from baes.llm.proxy.transcripts import CallOutcome, CallTranscript
from baes.llm.proxy.usage import Usage


class CallRecorder:
    """Collects what is known about one call and writes its ledger line exactly once."""

    def __init__(
        self,
        registry: AttributionRegistry,
        budget: Budget,
        attribution: Attribution,
        endpoint: str,
        redact: Callable[[str], str],
    ):
        self._registry = registry
        self._budget = budget
        self._attribution = attribution
        self._redact = redact
        self.endpoint = endpoint
        self.ts_start = utc_now()
        self._t0 = time.perf_counter()
        self.model_requested: str | None = None
        self.stream = False
        self.finished = False
        self.transcript: CallTranscript | None = None
        if attribution.transcript_path is not None:
            self.transcript = CallTranscript(
                attribution.transcript_path, attribution.step, attribution.calls_begun, redact
            )

    def finish(
        self,
        status_code: int,
        usage: Usage | None = None,
        model_served: str | None = None,
        error: str | None = None,
        body: bytes | None = None,
    ) -> None:
        """Write the transcript line (if kept) and the ledger line, charge the budget.

        A no-op after the first time. `body` is the whole answer when it was not streamed (a
        stream's bytes were collected by `transcript.stream`). The transcript line goes first,
        so it is on disk once the step's attribution closes (which waits for the ledger lines).
        """
        if self.finished:
            return
        self.finished = True
        latency_s = round(time.perf_counter() - self._t0, 6)
        error = self._redact(error) if error else None
        if self.transcript is not None:
            outcome = CallOutcome(
                self.ts_start,
                self.endpoint,
                status_code,
                self.stream,
                body,
                usage,
                latency_s,
                error,
            )
            self.transcript.write(outcome)
        entry = LedgerEntry(
            ts_start=self.ts_start,
            ts_end=utc_now(),
            run_id=self._attribution.run_id,
            step=self._attribution.step,
            endpoint=self.endpoint,
            model_requested=self.model_requested,
            model_served=model_served,
            status_code=status_code,
            stream=self.stream,
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            cached_tokens=usage.cached_tokens if usage else None,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
            latency_s=latency_s,
            usage_reported=usage is not None,
            error=error,
        )
        self._registry.record(self._attribution, entry)
        self._budget.charge(entry)
