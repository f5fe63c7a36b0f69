"""The experiments page: `baes list` with each experiment's cost so far and mean pass rate."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from baes.errors import BaesError, InputError
from baes.experiment.annotations import Annotations, read_annotations, validate_tag
from baes.experiment.registry import current_view
from baes.records.statuses import EXPERIMENT_STATUSES as STATUSES
from baes.store.paths import ExperimentPaths
from baes.view.filters import money, percent
from baes.view.rendering import error_page, render


def _rows(
    request: Request, status: str | None, tags: set[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    root = request.app.state.root
    view = current_view(root)
    problems = list(view.problems)
    rows = []
    for entry in view.entries:
        if status is not None and entry.status != status:
            continue
        try:
            annotations = read_annotations(ExperimentPaths(root, entry.name))
        except BaesError as exc:  # a damaged annotations file: named, its tags not shown
            problems.append(exc.message)
            annotations = Annotations()
        if not tags <= set(annotations.tags):
            continue
        totals = request.app.state.totals.lookup(entry.name, running=entry.status == "running")
        rows.append({"entry": entry, "totals": totals, "tags": annotations.tags})
    return rows, problems


async def page(request: Request) -> Response:
    status = request.query_params.get("status") or None
    if status is not None and status not in STATUSES:
        known = ", ".join(STATUSES)
        return error_page(request, 400, f"unknown status {status!r}; choose one of {known}")
    try:
        tags = {validate_tag(t) for t in request.query_params.getlist("tag")}
    except InputError as exc:
        return error_page(request, 400, exc.message)
    rows, problems = await run_in_threadpool(_rows, request, status, tags)
    return render(
        request,
        "experiments.html",
        rows=rows,
        problems=problems,
        statuses=STATUSES,
        status=status,
        tags=sorted(tags),
        show_tags=any(row["tags"] for row in rows),
        title="experiments",
    )


def _totals(request: Request) -> dict[str, Any]:
    cache = request.app.state.totals
    answer: dict[str, Any] = {}
    for entry in current_view(request.app.state.root).entries:
        totals = cache.lookup(entry.name, running=entry.status == "running")
        answer[entry.name] = (
            {"pending": True}
            if totals is None
            else {
                "pending": False,
                "cost": money(totals.cost_usd),
                "cost_usd": totals.cost_usd,
                "cost_note": totals.cost_note,
                "pass_rate": percent(totals.mean_pass_rate),
                "mean_pass_rate": totals.mean_pass_rate,
                "rated_runs": totals.rated_runs,
            }
        )
    return answer


async def totals(request: Request) -> Response:
    """Every experiment's cost and pass rate as measured so far (`pending` while measuring)."""
    return JSONResponse(await run_in_threadpool(_totals, request))
