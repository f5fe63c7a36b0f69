"""The analysis report of an experiment, and the comparisons under `_compare/`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from baes.analysis.compare import COMPARE_DIR
from baes.view.markdown import render_markdown
from baes.view.pages.experiment import experiment_paths
from baes.view.rendering import render
from baes.view.safe_paths import NotServed, checked_name, folder_inside_root, inside

REPORT = "report.md"
SERVED_SUFFIXES = frozenset({".png", ".svg"})


def _figures(folder: Path) -> list[str]:
    figures = folder / "figures"
    if not figures.is_dir():
        return []
    return sorted(f"figures/{p.name}" for p in figures.iterdir() if p.suffix in SERVED_SUFFIXES)


def _report(folder: Path, files_url: str) -> dict:
    """The rendered report and the figures it does not show inline (e.g. the SVG twins)."""
    path = folder / REPORT
    if not path.is_file():
        raise NotServed(f"no {REPORT} here yet: run `baes analyze` (or `baes compare`) first")
    text = path.read_text("utf-8", errors="replace")
    shown: set[str] = set()

    def image_url(src: str) -> str | None:
        if "://" in src or src.startswith(("/", "data:")):
            return None  # only the report's own figures are shown; nothing is fetched
        shown.add(src)
        return f"{files_url}/{quote(src)}"

    html = render_markdown(text, image_url)
    figures = _figures(folder)
    stems = {Path(s).with_suffix("").as_posix() for s in shown}
    others = [
        f for f in figures if f not in shown and Path(f).with_suffix("").as_posix() not in stems
    ]
    return {"report_html": html, "other_figures": others}


def _serve(folder: Path, root: Path, relative: str) -> Response:
    target = inside(folder, relative, root, SERVED_SUFFIXES)
    media = "image/svg+xml" if target.suffix.lower() == ".svg" else "image/png"
    return FileResponse(target, media_type=media)


async def experiment_report(request: Request) -> Response:
    paths = experiment_paths(request)
    folder = folder_inside_root(paths.analysis_dir, paths.root)
    url = f"/e/{paths.name}/analysis/files"
    data = await run_in_threadpool(_report, folder, url)
    return render(
        request,
        "analysis.html",
        name=paths.name,
        kind="experiment",
        files_url=url,
        title=f"{paths.name} · analysis",
        **data,
    )


async def experiment_file(request: Request) -> Response:
    paths = experiment_paths(request)
    folder = folder_inside_root(paths.analysis_dir, paths.root)
    return _serve(folder, paths.root, request.path_params["path"])


def _compare_folder(request: Request) -> tuple[str, Path]:
    root: Path = request.app.state.root
    name = checked_name(request.path_params["name"], "comparison")
    return name, folder_inside_root(root / COMPARE_DIR / name, root)


async def compare_index(request: Request) -> Response:
    root: Path = request.app.state.root
    base = root / COMPARE_DIR
    names = []
    if base.is_dir():
        names = sorted(p.name for p in base.iterdir() if p.is_dir() and (p / REPORT).is_file())
    return render(request, "compare_index.html", names=names, title="comparisons")


async def compare_report(request: Request) -> Response:
    name, folder = _compare_folder(request)
    url = f"/compare/{name}/files"
    data = await run_in_threadpool(_report, folder, url)
    return render(
        request,
        "analysis.html",
        name=name,
        kind="comparison",
        files_url=url,
        title=f"comparison {name}",
        **data,
    )


async def compare_file(request: Request) -> Response:
    _, folder = _compare_folder(request)
    return _serve(folder, request.app.state.root, request.path_params["path"])
