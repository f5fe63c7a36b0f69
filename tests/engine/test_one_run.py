"""execute_run on its own, with a stand-in adapter and proxy; settle_usage on its own."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from baes.config.yaml_io import load_design
from baes.engine.one_run import RunSpec, execute_run, settle_usage
from baes.engine.run_record import RunIdentity, start_record
from baes.frameworks.contract import StepContext, StepOutcome
from baes.llm.ledger import LedgerEntry


class _DoneAdapter:
    name = "fw"

    def prepare(self, cache_dir: Path) -> None: ...

    def run_step(self, ctx: StepContext) -> StepOutcome:
        return StepOutcome.success()

    def versions(self) -> dict[str, str]:
        return {}


class _NoProxy:
    def open_attribution(
        self, run_id: str, step: str, ledger_path: Path, seed: int | None = None
    ) -> str:
        return "http://127.0.0.1:9/v1"

    def close_attribution(self, base_url_or_token: str, wait_s: float = 0.0) -> None: ...


def test_ctrl_c_stops_a_running_check_and_the_run_is_interrupted(tmp_path):
    design_path = tmp_path / "exp.yaml"
    design_path.write_text(
        "name: exp\nmodel: sim-small\nframeworks:\n  fw: {adapter: command, step: 'true'}\n"
        "scenario:\n  name: custom\n  steps:\n"
        "    - id: one\n      prompt: Wait\n      check: sleep 30\n"
        "pricing:\n  sim-small: {input: 0, cached_input: 0, output: 0}\n"
    )
    identity = RunIdentity("run-1", "exp", "fw", "hash", "sim-small")
    spec = RunSpec(identity, load_design(design_path), tmp_path / "run")
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()

    began = time.monotonic()
    record = execute_run(spec, start_record(identity, {}), _DoneAdapter(), _NoProxy(), cancel)

    assert time.monotonic() - began < 15
    assert record["status"] == "interrupted"
    assert record["error"]["kind"] == "interrupted"


def _entry(step: str, status: int, error: str | None = None, tokens: int = 0) -> LedgerEntry:
    return LedgerEntry(
        ts_start="2026-01-01T00:00:00Z", ts_end="2026-01-01T00:00:01Z", run_id="run-1", step=step,
        endpoint="/v1/chat/completions", model_requested="m", model_served="m", status_code=status,
        stream=False, input_tokens=tokens, output_tokens=tokens, cached_tokens=0,
        reasoning_tokens=None, latency_s=0.5, usage_reported=status == 200, error=error,
    )  # fmt: skip


def _performed(kind: str, run_status: str) -> dict:
    """A record as perform_run leaves it: step 1 ok, step 2 failed with `kind`, usage open."""
    step = {"started_at": None, "ended_at": None, "duration_s": 1.0, "attempts": 1, "usage": None}
    return {
        "status": run_status,
        "started_at": "2026-01-01T00:00:00Z",
        "ended_at": "2026-01-01T00:00:09Z",
        "error": {"kind": kind, "message": "step 2 (two): the framework gave up"},
        "steps": [
            {**step, "index": 1, "id": "one", "status": "ok", "check": None},
            {**step, "index": 2, "id": "two", "status": "failed", "check": None},
        ],
        "totals": {"wall_seconds": 9.0},
    }


def test_settle_usage_sums_each_step_from_the_ledger_and_names_the_budget_a_failure_s_cause():
    entries = [
        _entry("01-one", 200, tokens=5),
        _entry("01-one", 200, tokens=7),
        _entry("02-two", 429, error="budget_exceeded: spent $1.00 of $1.00"),
    ]
    for kind, run_status in (("framework", "failed"), ("interrupted", "interrupted")):
        record = settle_usage(_performed(kind, run_status), entries)
        assert record["steps"][0]["usage"]["input_tokens"] == 12
        assert (
            record["steps"][0]["usage"]["calls"] == 2 and record["steps"][1]["usage"]["calls"] == 1
        )
        assert record["totals"]["calls"] == 3 and record["totals"]["output_tokens"] == 12
        assert record["totals"]["wall_seconds"] == 9.0
        assert record["error"]["kind"] == "budget" and record["status"] == "failed"
    # Without a refused call the framework's own kind stands.
    record = settle_usage(_performed("framework", "failed"), entries[:2])
    assert record["error"]["kind"] == "framework" and record["steps"][1]["usage"]["calls"] == 0
