"""Jinja filters: numbers as the CLI prints them, and markdown."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from baes.view.markdown import render_markdown


def money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.4f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(value, 60)
    return f"{int(minutes)} min {rest:02.0f} s"


def count(value: Any) -> str:
    return "—" if value is None else f"{value:,}"


def register(env: Environment) -> None:
    env.filters.update(
        money=money, percent=percent, seconds=seconds, count=count, markdown=render_markdown
    )
