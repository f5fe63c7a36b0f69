"""The starlette app of `baes view`: read-only pages over one experiments root."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from baes.errors import BaesError
from baes.experiment.registry import current_view
from baes.store.errors import ExperimentNotFoundError
from baes.view import filters
from baes.view.pages import analysis, experiment, experiments, run
from baes.view.safe_paths import NotServed
from baes.view.totals import TotalsCache

_HERE = Path(__file__).parent
# Everything the pages load comes from this server; inline scripts and styles are refused, so
# even a string that escaped escaping could not run.
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        b"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class _SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


class _RequestGauge:
    """Counts the requests being answered, for the background measuring to give way to them."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The count lives in app.state, changed on the event loop only; the measuring thread
        # only reads it.
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gauge = scope["app"].state.request_gauge
        gauge[0] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            gauge[0] -= 1


def templates() -> Environment:
    """The page templates; autoescape on for every template, whatever its name."""
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"), autoescape=True, auto_reload=False
    )
    filters.register(env)
    # Compiled now rather than on the first request of each page (tens of milliseconds each).
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    return env


def create_app(root: Path, host: str = "127.0.0.1") -> Starlette:
    """The app serving `root`; requests must name `host` or a loopback name (DNS rebinding)."""
    env = templates()

    async def not_found(request: Request, exc: Exception) -> Response:
        detail = getattr(exc, "message", None) or "not found"
        if isinstance(exc, HTTPException):
            detail = exc.detail
            status = exc.status_code
        elif isinstance(exc, NotServed | ExperimentNotFoundError):
            status = 404
        else:
            status = 500
        html = env.get_template("error.html").render(code=status, detail=str(detail))
        return HTMLResponse(html, status_code=status)

    app = Starlette(
        routes=[
            Route("/", experiments.page),
            Route("/totals.json", experiments.totals),
            Route("/compare", analysis.compare_index),
            Route("/compare/{name}", analysis.compare_report),
            Route("/compare/{name}/files/{path:path}", analysis.compare_file),
            Route("/e/{name}", experiment.page),
            Route("/e/{name}/state.json", experiment.state),
            Route("/e/{name}/analysis", analysis.experiment_report),
            Route("/e/{name}/analysis/files/{path:path}", analysis.experiment_file),
            Route("/e/{name}/runs/{framework}/{run_id}", run.page),
            Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        ],
        middleware=[
            Middleware(
                TrustedHostMiddleware,
                allowed_hosts=sorted({"127.0.0.1", "localhost", "[::1]", "::1", host}),
            ),
            Middleware(_SecurityHeaders),
            Middleware(_RequestGauge),
        ],
        exception_handlers={
            NotServed: not_found,
            BaesError: not_found,
            HTTPException: not_found,
        },
    )
    app.state.root = root
    app.state.templates = env
    gauge = [0]  # requests being answered (see _RequestGauge)
    app.state.request_gauge = gauge
    app.state.totals = TotalsCache(root, busy=lambda: gauge[0] > 0)
    return app


def start_measuring_totals(app: Starlette) -> None:
    """Queue every experiment's cost and pass rate for measuring, in the background.

    The experiments page is the first one opened: measured from the start, its cost and
    pass-rate columns are ready, or nearly, by the time a browser asks.
    """
    cache: TotalsCache = app.state.totals
    for entry in current_view(app.state.root).entries:
        cache.lookup(entry.name, running=entry.status == "running")
