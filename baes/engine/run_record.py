"""run.json: building it from steps and the ledger, reading and rewriting it.

The run record is the source of truth of a run (docs/records.md). Token counts come only from the
metering proxy's ledger; a step with a call whose usage was not reported has null token counts
and says how many calls were unmeasured, never zeros. The record's contract is the typed model
baes.records.run.RunRecord: every write goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baes.clock import utc_now
from baes.llm.ledger import LedgerEntry
from baes.records.run import RunError, RunRecord
from baes.store.run_folders import load_run_record, write_run_record

RUN_SCHEMA_VERSION = RunRecord.SCHEMA_VERSION


def step_label(index: int, step_id: str) -> str:
    """`NN-<id>`: the step's folder name under steps/ and its name in the ledger."""
    return f"{index:02d}-{step_id}"


def step_usage(entries: Iterable[LedgerEntry]) -> dict[str, Any]:
    """Usage of one step from its ledger lines; token sums are null if any answer lacked usage."""
    entries = list(entries)
    unreported = sum(1 for e in entries if 200 <= e.status_code < 300 and not e.usage_reported)
    usage: dict[str, Any] = {
        "input_tokens": sum(e.input_tokens or 0 for e in entries),
        "output_tokens": sum(e.output_tokens or 0 for e in entries),
        "cached_tokens": sum(e.cached_tokens or 0 for e in entries),
        "calls": len(entries),
        "llm_seconds": round(sum(e.latency_s for e in entries), 6),
    }
    if unreported:
        for key in ("input_tokens", "output_tokens", "cached_tokens"):
            usage[key] = None
        usage["unreported_calls"] = unreported
    return usage


def _sum_or_none(values: list[Any]) -> Any:
    return None if any(v is None for v in values) else sum(values)


def run_totals(
    steps: list[dict[str, Any]], started_at: str, ended_at: str | None, wall_seconds: float | None
) -> dict[str, Any]:
    """Sums over steps plus wall time and check counts (docs/records.md, `totals`)."""
    usages = [s["usage"] for s in steps if s.get("usage") is not None]
    totals: dict[str, Any] = {
        key: _sum_or_none([u[key] for u in usages])
        for key in ("input_tokens", "output_tokens", "cached_tokens", "calls")
    }
    totals["llm_seconds"] = round(sum(u["llm_seconds"] for u in usages), 6)
    totals["wall_seconds"] = None if wall_seconds is None else round(wall_seconds, 6)
    checks = [s["check"] for s in steps if s.get("check") is not None]
    totals["checks_passed"] = sum(1 for c in checks if c["passed"])
    totals["checks_total"] = len(checks)
    # Checks the harness could not run: in checks_total, but no verdict (CHECK_PASS_RATE skips them).
    totals["checks_errored"] = sum(1 for c in checks if c.get("status") == "error")
    unreported = sum(u.get("unreported_calls", 0) for u in usages)
    if unreported:
        totals["unreported_calls"] = unreported
    return totals


@dataclass(frozen=True)
class RunIdentity:
    """What identifies a run in its record."""

    run_id: str
    experiment: str
    framework: str
    config_hash: str
    model: str


def start_record(identity: RunIdentity, environment: dict[str, Any]) -> dict[str, Any]:
    """The record written when a run starts (status running)."""
    started = utc_now()
    return {
        "schema_version": RUN_SCHEMA_VERSION,
        "run_id": identity.run_id,
        "experiment": identity.experiment,
        "framework": identity.framework,
        "config_hash": identity.config_hash,
        "model": identity.model,
        "status": "running",
        "error": None,
        "started_at": started,
        "ended_at": None,
        "steps": [],
        "totals": run_totals([], started, None, None),
        "verification": {"state": "unverified", "changed_at": None, "summary": None},
        "archive": None,
        "environment": environment,
        "seed": None,  # set by the coordinator (one_run.run_seed)
        "executor": {"kind": "local", "worker": None},  # set by the coordinator
    }


def write_record(path: Path, record: RunRecord | Mapping[str, Any]) -> RunRecord:
    """Write run.json through its typed model, keys redacted (store.run_folders)."""
    return write_run_record(path, record)


def read_record(path: Path) -> RunRecord:
    """The run record at `path`; RunRecordError (exit 2, naming the file) when it is unreadable
    or is not its folder's record (another run_id or framework, an unknown status)."""
    return load_run_record(path)


def mark_interrupted(record: RunRecord, reason: str) -> RunRecord:
    """A copy of a `running` record left by a process that died, marked interrupted."""
    return record.model_copy(
        update={"status": "interrupted", "error": RunError(kind="interrupted", message=reason)}
    )
