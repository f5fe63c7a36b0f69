"""The root `baes` command: registers the commands and turns errors into one line and an exit code."""

from __future__ import annotations

import typer

from baes import __version__
from baes.cli import (
    analyze,
    compare,
    demo,
    export,
    listing,
    new,
    note,
    proxy,
    reconcile,
    rm,
    run,
    runs,
    schema,
    show,
    sim,
    tag,
    view,
)

app = typer.Typer(
    name="baes",
    help="Create, run, meter, analyse and compare experiments on LLM-driven software-development "
    "frameworks.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"baes {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Create, run, meter, analyse and compare experiments on LLM-driven software-development frameworks."""


app.command("demo")(demo.demo)
app.command("new")(new.new)
app.command("list")(listing.list_experiments)
app.command("show")(show.show)
app.command("runs")(runs.runs)
app.command("run")(run.run)
app.command("analyze")(analyze.analyze)
app.command("compare")(compare.compare)
app.command("reconcile")(reconcile.reconcile)
app.command("export")(export.export)
app.command("note")(note.note)
app.command("tag")(tag.tag)
app.command("rm")(rm.rm)
app.command("schema")(schema.schema)
app.command("view")(view.view)
app.add_typer(sim.app, name="sim", help="The embedded OpenAI-compatible simulator.")
app.add_typer(proxy.app, name="proxy", help="The metering proxy, to meter any tool by hand.")


def main() -> None:
    """Entry point of the `baes` console script.

    click is run outside its standalone mode so that a value typer or click refuses (a port out
    of range, a missing argument, an unknown option) ends like every other bad input of baes:
    one `error:` line and exit 2, instead of click's usage box.
    """
    import sys

    from baes.cli.console import err, print_error, usage_error_line

    # typer 0.26 ships its own copy of click (typer._click); older typers use click itself.
    # Take the exception classes from wherever typer.Exit comes from, so both are caught.
    clicks = sys.modules[typer.Exit.__module__]
    try:
        exit_code = app(prog_name="baes", standalone_mode=False)
    except clicks.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # `baes` or `baes sim` alone: the help is already printed; keep click's exit code.
            sys.exit(exc.exit_code)
        print_error(usage_error_line(exc))
        sys.exit(exc.exit_code)
    except clicks.Abort as exc:
        # click turns Ctrl-C (KeyboardInterrupt) and the end of input at a prompt (EOFError,
        # `baes rm`'s confirmation) into Abort: Ctrl-C ends with 130, as everywhere in baes.
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            err.print("\n[yellow]interrupted[/]")
            sys.exit(130)
        err.print("\n[yellow]aborted[/]")  # after the prompt, on a line of its own
        sys.exit(1)
    # Outside standalone mode click returns the code of a `typer.Exit` (also `--help`,
    # `--version`, Ctrl-C while parsing: 130); no baes command returns a value of its own.
    sys.exit(exit_code if isinstance(exit_code, int) else 0)
