"""Progress of `baes run`: a rich live table on a terminal, plain lines elsewhere, or nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console, JustifyMethod
from rich.live import Live
from rich.table import Table

from baes.engine.coordinator import FrameworkProgress


def _eta(state: FrameworkProgress, jobs: int) -> str:
    remaining = max(0, state.target_max - len(state.completed)) if not state.stopped else 0
    if not remaining:
        return "-"
    if not state.run_seconds:
        return "?"
    seconds = remaining * (sum(state.run_seconds) / len(state.run_seconds)) / max(1, jobs)
    return f"≤{seconds / 60:.0f} min" if seconds >= 90 else f"≤{seconds:.0f} s"


def _elapsed(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def progress_table(
    progress: dict[str, FrameworkProgress],
    spent_usd: float,
    jobs: int,
    title: str,
    setups: dict[str, tuple[str, float]] | None = None,
) -> Table:
    """One row per framework: done/target, failures, current runs, tokens, cost, ETA.

    `setups` maps a framework being set up to (what its setup does now, monotonic start time).
    """
    table = Table(title=title, title_justify="left", header_style="bold")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("framework", "left"),
        ("done", "right"),
        ("failed", "right"),
        ("now", "left"),
        ("tokens", "right"),
        ("cost", "right"),
        ("eta", "right"),
        ("state", "left"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for state in progress.values():
        target = (
            f"{state.target_min}"
            if state.target_min == state.target_max
            else f"{state.target_min}-{state.target_max}"
        )
        now = ", ".join(state.in_flight.values()) or "-"
        if setups and state.name in setups:
            activity, since = setups[state.name]
            now = f"setting up: {activity} ({_elapsed(time.monotonic() - since)})"
        table.add_row(
            state.name,
            f"{len(state.completed)}/{target}",
            str(state.failed),
            now,
            f"{state.tokens:,}",
            f"${state.cost_usd:.4f}",
            _eta(state, jobs),
            state.stopped or state.decision.reason,
        )
    table.caption = f"experiment cost so far: ${spent_usd:.4f}"
    return table


def check_errors_note(record: dict[str, Any]) -> str:
    """' (2 errored: <first reason>)' when checks of the run could not run, else ''."""
    reasons = [
        step["check"].get("error_reason") or "unknown"
        for step in record.get("steps") or []
        if isinstance(step.get("check"), dict) and step["check"].get("status") == "error"
    ]
    return f" ({len(reasons)} errored: {reasons[0]})" if reasons else ""


class LiveObserver:
    """Renders the progress table live on a terminal (thread-safe: runs report from threads)."""

    def __init__(self, console: Console, experiment: str, jobs: int):
        self.console = console
        self.experiment = experiment
        self.jobs = jobs
        self.lock = threading.Lock()
        self.progress: dict[str, FrameworkProgress] = {}
        self.spent_usd = 0.0
        self.live: Live | None = None
        self.setups: dict[str, tuple[str, float]] = {}  # framework → (activity, started)

    def _render(self) -> Table:
        with self.lock:
            return progress_table(
                self.progress,
                self.spent_usd,
                self.jobs,
                f"baes run {self.experiment}",
                dict(self.setups),
            )

    def on_start(
        self, progress: dict[str, FrameworkProgress], recovered: int, spent_usd: float
    ) -> None:
        self.progress, self.spent_usd = progress, spent_usd
        if recovered:
            self.console.print(
                f"[yellow]{recovered} run(s) left running by a dead process marked interrupted[/]"
            )
        self.live = Live(
            get_renderable=self._render, console=self.console, refresh_per_second=4, transient=False
        )
        self.live.start()

    def on_setup(self, framework: str, activity: str) -> None:
        with self.lock:  # elapsed counts from the setup's first activity
            since = self.setups.get(framework, ("", time.monotonic()))[1]
            self.setups[framework] = (activity, since)

    def on_setup_finished(self, framework: str, ok: bool) -> None:
        with self.lock:
            self.setups.pop(framework, None)

    def on_run_started(self, framework: str, run_id: str) -> None:
        pass

    def on_step_started(self, framework: str, run_id: str, index: int, step_id: str) -> None:
        pass

    def on_run_finished(self, framework: str, record: dict[str, Any], cost_usd: float) -> None:
        with self.lock:
            self.spent_usd += cost_usd
        note = check_errors_note(record)
        if note:
            self.on_notice(f"{framework}: run {record['run_id']}: checks{note}")

    def on_framework_stopped(self, framework: str, reason: str) -> None:
        pass

    def on_interrupt(self) -> None:
        self.console.print(
            "[yellow]interrupted: stopping the runs in flight (Ctrl-C again to abandon them)[/]"
        )

    def on_notice(self, message: str) -> None:
        self.console.print(message, style="yellow", markup=False, highlight=False)

    def close(self) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.stop()


class LineObserver:
    """Plain lines, one per event that matters, for logs and pipes; `quiet` prints none."""

    def __init__(self, console: Console, quiet: bool):
        self.console = console
        self.quiet = quiet
        self.lock = threading.Lock()
        self.spent_usd = 0.0
        self.started = time.monotonic()
        self.setup_started: dict[str, float] = {}

    def _line(self, text: str) -> None:
        if not self.quiet:
            with self.lock:
                self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def on_start(
        self, progress: dict[str, FrameworkProgress], recovered: int, spent_usd: float
    ) -> None:
        self.spent_usd = spent_usd
        if recovered:
            self._line(f"{recovered} run(s) left running by a dead process marked interrupted")
        for state in progress.values():
            self._line(
                f"{state.name}: {len(state.completed)} completed, target {state.target_min}-{state.target_max}"
                + (f" ({state.stopped})" if state.stopped else "")
            )

    def on_setup(self, framework: str, activity: str) -> None:
        since = self.setup_started.setdefault(framework, time.monotonic())
        self._line(
            f"{framework}: setting up: {activity} ({_elapsed(time.monotonic() - since)} so far)"
        )

    def on_setup_finished(self, framework: str, ok: bool) -> None:
        since = self.setup_started.pop(framework, None)
        if since is not None:  # nothing was said when nothing had to be installed
            took = _elapsed(time.monotonic() - since)
            self._line(
                f"{framework}: set up in {took}"
                if ok
                else f"{framework}: setup failed after {took}"
            )

    def on_run_started(self, framework: str, run_id: str) -> None:
        self._line(f"{framework}: run {run_id} started")

    def on_step_started(self, framework: str, run_id: str, index: int, step_id: str) -> None:
        pass

    def on_run_finished(self, framework: str, record: dict[str, Any], cost_usd: float) -> None:
        with self.lock:
            self.spent_usd += cost_usd
        totals = record.get("totals") or {}
        error = record.get("error")
        detail = f" ({error['kind']}: {error['message']})" if error else ""
        self._line(
            f"{framework}: run {record['run_id']} {record['status']}{detail}; "
            f"checks {totals.get('checks_passed', 0)}/{totals.get('checks_total', 0)}"
            f"{check_errors_note(record)}, "
            f"cost ${cost_usd:.4f}, experiment ${self.spent_usd:.4f}"
        )

    def on_framework_stopped(self, framework: str, reason: str) -> None:
        self._line(f"{framework}: no more runs: {reason}")

    def on_interrupt(self) -> None:
        self._line("interrupted: stopping the runs in flight")

    def on_notice(self, message: str) -> None:
        self._line(message)

    def close(self) -> None:
        pass
