"""One experiment: its design, hash state, runs, the stopping rule per framework; live."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from baes.errors import BaesError
from baes.experiment.annotations import Annotations, annotations_path, read_annotations
from baes.experiment.load import inspect_experiment
from baes.experiment.summary import experiment_summary
from baes.records.manifest import RunSummary
from baes.store.manifest import Manifest
from baes.store.paths import LEDGER_FILE, RUN_RECORD_FILE, ExperimentPaths
from baes.store.run_folders import load_run_record
from baes.store.run_progress import read_run_progress
from baes.view.rendering import render
from baes.view.safe_paths import checked_name, folder_inside_root


def experiment_paths(request: Request) -> ExperimentPaths:
    """The experiment the URL names, if its folder is inside the root; NotServed otherwise."""
    root: Path = request.app.state.root
    name = checked_name(request.path_params["name"], "experiment")
    paths = ExperimentPaths(root, name)
    folder_inside_root(paths.dir, root)
    return paths


def _run_row(paths: ExperimentPaths, run_id: str, summary: RunSummary, config: Any) -> dict:
    from baes.engine.coordinator import run_cost_usd

    framework = summary.framework
    run_dir = paths.run_dir(framework, run_id)
    row: dict[str, Any] = {"run_id": run_id, **summary.model_dump(mode="json")}
    row["record_problem"] = None
    try:
        record = load_run_record(run_dir / RUN_RECORD_FILE)
        row["totals"] = record.totals.model_dump(mode="json")
        row["error"] = record.error.model_dump(mode="json") if record.error else None
    except BaesError as exc:
        row["totals"] = {}
        row["record_problem"] = exc.message if summary.status != "running" else None
    row["cost_usd"] = None
    if config is not None and (run_dir / LEDGER_FILE).exists():
        try:
            row["cost_usd"] = run_cost_usd(run_dir, config)
        except BaesError:
            pass  # unpriceable: shown as unknown, and `baes analyze` says why
    return row


def _page_data(paths: ExperimentPaths) -> dict[str, Any]:
    summary = experiment_summary(paths.root, paths.name)
    experiment = inspect_experiment(paths.root, paths.name)
    config = experiment.config
    runs = Manifest(paths).read().runs
    rows = [_run_row(paths, run_id, s, config) for run_id, s in sorted(runs.items())]
    progress = read_run_progress(paths.run_progress)
    try:
        config_text = paths.config.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        config_text = f"(config.yaml unreadable: {exc})"
    try:
        annotations, annotations_problem = read_annotations(paths), None
    except BaesError as exc:
        annotations, annotations_problem = Annotations(), exc.message
    return {
        "summary": summary,
        "annotations": annotations,
        "annotations_problem": annotations_problem,
        "config_text": config_text,
        "rows": rows,
        "progress": progress,
        "stopping_rule": config.stopping_rule if config is not None else None,
        "has_analysis": (paths.analysis_dir / "report.md").is_file(),
        "version": _version(paths, runs),
    }


def _stamp(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "-"
    return f"{stat.st_mtime_ns}:{stat.st_size}"


def _version(paths: ExperimentPaths, runs: Mapping[str, RunSummary]) -> str:
    """Changes whenever what the page shows may have: a run starts, ends or makes a call."""
    parts = [
        _stamp(paths.manifest),
        _stamp(paths.run_progress),
        _stamp(paths.config),
        _stamp(annotations_path(paths)),
    ]
    for run_id, run in sorted(runs.items()):
        if run.status == "running":
            parts.append(_stamp(paths.run_dir(run.framework, run_id) / LEDGER_FILE))
    return "|".join(parts)


async def page(request: Request) -> Response:
    paths = experiment_paths(request)
    data = await run_in_threadpool(_page_data, paths)
    return render(request, "experiment.html", name=paths.name, title=paths.name, **data)


def _state(paths: ExperimentPaths) -> dict[str, Any]:
    runs = Manifest(paths).read().runs
    running = sum(1 for r in runs.values() if r.status == "running")
    return {"version": _version(paths, runs), "runs": len(runs), "running": running}


async def state(request: Request) -> Response:
    """What the page polls: a version that changes when the page should reload."""
    paths = experiment_paths(request)
    return JSONResponse(await run_in_threadpool(_state, paths))
