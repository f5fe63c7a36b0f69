"""Rendering a page: the app's template environment, the root, and the page's values."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse


def render(
    request: Request, template: str, *, http_status: int = 200, **context: Any
) -> HTMLResponse:
    """A page from `template` with `context` (every value escaped unless marked safe)."""
    env: Environment = request.app.state.templates
    html = env.get_template(template).render(root=str(request.app.state.root), **context)
    return HTMLResponse(html, status_code=http_status)


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    """The error page with HTTP `status`."""
    return render(request, "error.html", http_status=status, code=status, detail=detail)
