"""The two rich consoles (results to stdout, messages to stderr) and how errors are shown."""

from __future__ import annotations

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(message: str, hint: str | None = None) -> None:
    """One red line (more only when the message itself lists several problems) and a dim hint."""
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    if hint:
        err.print(f"[dim]hint: {hint}[/]")


def print_warning(message: str) -> None:
    err.print(f"[yellow]warning:[/] {message}")


def reports_errors(command):
    """Wrap a command so a BaesError becomes one red line and its exit code (2 input, 1 work)."""
    import functools

    import typer

    from baes.errors import BaesError

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BaesError as exc:
            print_error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper
