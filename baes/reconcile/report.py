"""What a reconcile found: each run's check, the read it was judged on, counts per state."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from baes.reconcile.quantities import Quantities
from baes.reconcile.states import SETTLED, STATES, UNAVAILABLE

RUNNING = "running"


@dataclass
class RunCheck:
    """One run's verification after a reconcile (or as stored, for `--list`).

    `own` is the run's billed calls in its ledger. `ledger` and `provider` sum the minute
    buckets the run touches: when runs overlap in time those include the other runs' calls
    too (`shared_with` counts the runs), since the provider cannot tell runs apart.
    """

    run_id: str
    framework: str
    status: str
    previous_state: str
    state: str
    changed_at: str | None
    message: str
    checked: bool
    own: Quantities | None = None
    buckets: list[str] = field(default_factory=list)
    shared_with: int = 0
    ledger: Quantities | None = None
    provider: Quantities | None = None
    differences: tuple[str, ...] = ()
    # False when only a change of setup (an admin key, a ledger) can move an unavailable run.
    waiting_helps: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "framework": self.framework,
            "status": self.status,
            "previous_state": self.previous_state,
            "state": self.state,
            "changed_at": self.changed_at,
            "message": self.message,
            "checked": self.checked,
            "own": self.own.to_json() if self.own else None,
            "buckets": self.buckets,
            "shared_with": self.shared_with,
            "ledger": self.ledger.to_json() if self.ledger else None,
            "provider": self.provider.to_json() if self.provider else None,
            "differences": list(self.differences),
        }


@dataclass(frozen=True)
class ReadOutcome:
    """The provider read of one reconcile: its window and pages, or why it failed."""

    read_id: str
    at: str
    window: tuple[int, int]
    ok: bool
    pages: int = 0
    attempts: int = 0
    error: str | None = None
    error_kind: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "read_id": self.read_id,
            "at": self.at,
            "window": list(self.window),
            "ok": self.ok,
            "pages": self.pages,
            "attempts": self.attempts,
            "error": self.error,
            "error_kind": self.error_kind,
        }


@dataclass
class ReconcileReport:
    """What a reconcile (or `--list`) found, run by run."""

    experiment: str
    read: ReadOutcome | None
    runs: list[RunCheck]
    problems: list[str] = field(default_factory=list)

    def counts(self, framework: str | None = None) -> Counter[str]:
        """Runs per state (for one framework, or all)."""
        return Counter(r.state for r in self.runs if framework is None or r.framework == framework)

    @property
    def frameworks(self) -> list[str]:
        return list(dict.fromkeys(r.framework for r in self.runs))

    @property
    def any_mismatch(self) -> bool:
        return any(r.state == "mismatch" for r in self.runs)

    @property
    def settled(self) -> bool:
        """Nothing more to wait for: every finished run is verified or mismatched, or the usage
        API cannot be used until the setup changes."""
        return all(
            r.state in SETTLED or (r.state == UNAVAILABLE and not r.waiting_helps)
            for r in self.runs
            if r.status != RUNNING
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "read": self.read.to_json() if self.read else None,
            "runs": [r.to_json() for r in self.runs],
            "frameworks": {
                fw: {s: self.counts(fw).get(s, 0) for s in STATES} for fw in self.frameworks
            },
            "overall": {s: self.counts().get(s, 0) for s in STATES},
            "problems": self.problems,
        }
