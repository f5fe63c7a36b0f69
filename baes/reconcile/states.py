"""The verification state machine of a run.

    unverified ──read──► pending ──two agreeing reads ≥ settle_seconds apart──► verified
                            │                       (and equal to the ledger)
                            └──two equal reads ≥ settle_seconds apart, ≠ ledger──► mismatch
    any unsettled state ──no admin key / no usage API / provider kept failing──► unavailable

Providers publish usage late and may revise it, so one read proves nothing: a run is judged only
on provider data that two reads, at least `settle_seconds` apart, saw identically. A failed read
never changes a settled (verified or mismatch) state: a failure is no evidence about the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from baes.reconcile.compare import GroupComparison, Tolerance

UNVERIFIED = "unverified"
PENDING = "pending"
VERIFIED = "verified"
MISMATCH = "mismatch"
UNAVAILABLE = "unavailable"
STATES = (UNVERIFIED, PENDING, VERIFIED, MISMATCH, UNAVAILABLE)
SETTLED = frozenset({VERIFIED, MISMATCH})


@dataclass(frozen=True)
class Judgment:
    """A run's new state and why; `differences` lists each differing group with its cause."""

    state: str
    message: str
    differences: tuple[str, ...] = ()


def duration(seconds: float) -> str:
    """`0.2 s`, `42 s`, `15 min`, `2.5 h`: for messages."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def clock_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S UTC")


def stable_since(current: object, now: float, history: Sequence[tuple[float, object]]) -> float:
    """When the provider data a run is judged on was first seen unchanged.

    `history` holds the earlier reads' views of the same units, oldest first; going back from
    the newest, reads that saw exactly `current` extend the stable stretch, the first one that
    saw something else ends it.
    """
    since = now
    for at, view in reversed(history):
        if view != current:
            break
        since = at
    return since


def judge_read(
    comparisons: Sequence[GroupComparison],
    since: float,
    now: float,
    settle_s: float,
    tolerance: Tolerance,
    explain: Callable[[GroupComparison], str],
) -> Judgment:
    """The state after a successful read, from its comparisons and how long they have held."""
    age = now - since
    settled = age >= settle_s
    differing = [c for c in comparisons if c.differing(tolerance)]
    units = len({c.unit for c in comparisons})
    if not differing:
        if settled:
            return Judgment(
                VERIFIED,
                f"the provider agrees with the ledger in {units} minute bucket(s); reads "
                f"{duration(age)} apart saw the same data",
            )
        return Judgment(
            PENDING,
            f"the provider agrees with the ledger in {units} minute bucket(s); confirming "
            f"with a read at least {duration(settle_s)} after {clock_time(since)} "
            f"(in {duration(settle_s - age)})",
        )
    differences = tuple(explain(c) for c in differing)
    if settled:
        return Judgment(MISMATCH, "; ".join(differences), differences)
    return Judgment(
        PENDING,
        f"the provider differs from the ledger in {len(differing)} of {len(comparisons)} "
        f"bucket group(s) ({differences[0]}); its data may still be arriving: re-read at "
        f"least {duration(settle_s)} after {clock_time(since)} (in {duration(settle_s - age)})",
        differences,
    )


def judge_failure(previous: str, reason: str) -> Judgment:
    """The state after a read that failed (or could not be made) for `reason`."""
    if previous in SETTLED:
        return Judgment(previous, f"{previous} by earlier reads; the latest read failed: {reason}")
    return Judgment(UNAVAILABLE, reason)


def judge_without_calls() -> Judgment:
    """A run whose ledger has no billed call: there is nothing the provider could disagree with."""
    return Judgment(VERIFIED, "no billed LLM call in the ledger: nothing to cross-check")
