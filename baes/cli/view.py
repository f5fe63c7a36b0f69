"""`baes view`: serve the read-only web app over the experiments root until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from baes.cli.console import print_warning, reports_errors
from baes.cli.options import RootOption
from baes.cli.serving import stop_on_signals, wait_until

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@reports_errors
def view(
    root: RootOption = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; keep the loopback default (see docs/view.md).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to bind; 0 picks a free one.")
    ] = 8500,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the URL in the default web browser.")
    ] = False,
) -> None:
    """Browse experiments, runs, transcripts and reports in a local web app (read-only).

    The first line printed is the URL. Ctrl-C stops it.
    """
    # Imported here so `baes list` and `baes --help` never load jinja2 and the pages.
    from baes.errors import InputError
    from baes.llm.loopback_server import LoopbackServer
    from baes.store.paths import resolve_root
    from baes.view.app import create_app, start_measuring_totals

    root_dir = resolve_root(root)
    if not root_dir.is_dir():
        raise InputError(
            f"no experiments root at {root_dir}",
            hint="pass --root (or set BAES_ROOT) to the folder holding your experiments",
        )
    with stop_on_signals() as stopped:
        app = create_app(root_dir.resolve(), host)
        server = LoopbackServer(app, host=host, port=port)
        server.start()
        start_measuring_totals(app)
        typer.echo(f"{server.url}/")
        if host not in LOOPBACK_HOSTS:
            print_warning(
                f"baes view listens on {host}, not only this machine: anyone who can reach it "
                "can read every experiment, run log and transcript under the root (no login)"
            )
        typer.echo("baes view running (read-only); press Ctrl-C to stop.", err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(f"{server.url}/")
        try:
            wait_until(stopped)
        finally:
            server.stop()
