"""The two rich consoles (results to stdout, messages to stderr), how errors are shown, and the
output helpers the commands share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape

from baes.redaction import redact

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

MAX_WARNINGS_SHOWN = 12


def print_error(message: str, hint: str | None = None) -> None:
    """One red line (more only when the message itself lists several problems) and a dim hint.

    The message and the hint are shown as plain text: brackets in them (a path, a name) are
    not rich markup. Keys in them (a provider's answer quoted in an error) are redacted.
    """
    err.print(f"[bold red]error:[/] {escape(redact(message))}", markup=True, highlight=False)
    if hint:
        err.print(f"[dim]hint: {escape(redact(hint))}[/]")


def usage_error_line(exc: Any) -> str:
    """A click error (a refused option value, a missing argument, an unknown option) as the
    text of one `error:` line, pointing at the command's help when there is one."""
    message = exc.format_message().strip().replace("\n", " ").rstrip(".")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        message += f" (see '{ctx.command_path} {ctx.help_option_names[-1]}')"
    return message


def print_warning(message: str) -> None:
    """A yellow `warning:` then the message as plain text (brackets in it are not markup)."""
    err.print(f"[yellow]warning:[/] {escape(redact(message))}")


def show_warnings(warnings: list[str]) -> None:
    """Each warning on stderr, at most MAX_WARNINGS_SHOWN of them."""
    for warning in warnings[:MAX_WARNINGS_SHOWN]:
        print_warning(warning)
    if len(warnings) > MAX_WARNINGS_SHOWN:
        print_warning(f"… and {len(warnings) - MAX_WARNINGS_SHOWN} more (see the report)")


def print_json(value: Any, *, ensure_ascii: bool = False, allow_nan: bool = False) -> None:
    """JSON on stdout, indented by 2, unstyled, for scripts."""
    import json

    print(json.dumps(value, indent=2, ensure_ascii=ensure_ascii, allow_nan=allow_nan))


@contextmanager
def progress_on_stderr(what: str) -> Iterator[Callable[[str], None]]:
    """A rich status line on stderr (nothing when stderr is not a terminal)."""
    if not err.is_terminal:
        yield lambda _: None
        return
    with err.status(what) as status:
        yield lambda message: status.update(f"{what}: {message}")


def print_written(outcome: Any) -> None:
    """Where the report, the stats and the figures went."""
    out.print(f"report   {outcome.report_path}", markup=False)
    out.print(f"stats    {outcome.stats_path}", markup=False)
    if outcome.figures:
        out.print(
            f"figures  {len(outcome.figures)} PNG in {outcome.out_dir / 'figures'}", markup=False
        )


def describe_os_error(exc: OSError) -> tuple[str, str | None]:
    """The one line (naming the path) and the hint for a file-system error no layer caught."""
    import errno

    reason = exc.strerror or str(exc)
    if exc.filename is None:
        message = reason if exc.strerror is None else f"{reason} (errno {exc.errno})"
    else:
        where = str(exc.filename)
        if exc.filename2 is not None:
            where += f" -> {exc.filename2}"
        message = f"{where}: {reason}"
    hints = {
        errno.EROFS: "the file system is read-only; baes writes beside its experiments: copy them "
        "somewhere writable or give another --root",
        errno.EACCES: "check the owner and permissions of that folder, or give another --root",
        errno.EPERM: "check the owner and permissions of that folder, or give another --root",
        errno.ENOSPC: "the disk is full; free some space and run the command again",
        errno.EDQUOT: "the disk quota is used up; free some space and run the command again",
        errno.EFBIG: "the file is larger than the file system or the process limit "
        "(ulimit -f) allows",
    }
    return message, hints.get(exc.errno) if exc.errno is not None else None


def reports_errors(command):
    """Wrap a command so a BaesError becomes one red line and its exit code (2 input, 1 work).

    A file-system error no layer turned into a BaesError (a read-only or full disk met while
    writing results) is failed work too: one line naming the path, exit code 1.
    """
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
        except OSError as exc:
            print_error(*describe_os_error(exc))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper
