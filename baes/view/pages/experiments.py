"""The experiments page: `baes list` with each experiment's cost so far and mean pass rate."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from baes.cli.listing import STATUSES
from baes.errors import BaesError
from baes.experiment.registry import current_view
from baes.view.rendering import error_page, render
from baes.view.totals import ExperimentTotals


def _rows(request: Request, status: str | None) -> tuple[list[dict], list[str]]:
    root = request.app.state.root
    view = current_view(root)
    rows = []
    for entry in view.entries:
        if status is not None and entry.status != status:
            continue
        try:
            totals = request.app.state.totals.get(entry.name, running=entry.status == "running")
        except (BaesError, OSError) as exc:
            totals = ExperimentTotals(None, getattr(exc, "message", str(exc)), None, 0)
        rows.append({"entry": entry, "totals": totals})
    return rows, list(view.problems)


async def page(request: Request) -> Response:
    status = request.query_params.get("status") or None
    if status is not None and status not in STATUSES:
        known = ", ".join(STATUSES)
        return error_page(request, 400, f"unknown status {status!r}; choose one of {known}")
    rows, problems = await run_in_threadpool(_rows, request, status)
    return render(
        request,
        "experiments.html",
        rows=rows,
        problems=problems,
        statuses=STATUSES,
        status=status,
        title="experiments",
    )
