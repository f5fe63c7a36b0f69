"""Developer sessions: `nox -s tests`, `nox -s lint`."""

import nox

nox.options.sessions = ["tests", "lint"]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, as CI runs it."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", "-n", "4", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and formatting check) and mypy (types; configured in pyproject.toml)."""
    session.install("ruff", "-e", ".[typecheck]")
    session.run("ruff", "check", "baes", "tests", "benchmarks")
    session.run("ruff", "format", "--check", "baes", "tests", "benchmarks")
    session.run("python", "-m", "mypy", "baes")
