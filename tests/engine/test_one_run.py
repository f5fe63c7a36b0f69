"""execute_run on its own, with a stand-in adapter and proxy."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from baes.config.yaml_io import load_design
from baes.engine.one_run import RunSpec, execute_run
from baes.engine.run_record import RunIdentity, start_record
from baes.frameworks.contract import StepContext, StepOutcome


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
