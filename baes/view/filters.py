"""Jinja filters: numbers as the CLI prints them, and markdown."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, Undefined

from baes.view.markdown import render_markdown


def _missing(value: Any) -> bool:
    # A record written by another version may lack a field: shown as unknown, never as 0.
    return value is None or isinstance(value, Undefined)


def money(value: float | None) -> str:
    return "—" if value is None or _missing(value) else f"${value:,.4f}"


def percent(value: float | None) -> str:
    return "—" if value is None or _missing(value) else f"{100 * value:.1f} %"


def seconds(value: float | None) -> str:
    if value is None or _missing(value):
        return "—"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(value, 60)
    return f"{int(minutes)} min {rest:02.0f} s"


def count(value: Any) -> str:
    return "—" if _missing(value) else f"{value:,}"


def register(env: Environment) -> None:
    env.filters.update(
        money=money, percent=percent, seconds=seconds, count=count, markdown=render_markdown
    )
