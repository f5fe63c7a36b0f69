"""Read a tidy CSV (`group,metric,value[,run]`) so results from other tools can be analysed.

The contract: UTF-8 (a BOM is allowed), comma-separated, a header naming the columns `group`,
`metric` and `value` in any order, optionally `run` (ignored); one row per observation; every
value a finite number within ±1e150. Groups and metrics are ordered by first appearance. Blank lines are
skipped. Anything else is an error naming the file and the line, so it can be fixed.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from baes.errors import InputError

REQUIRED_COLUMNS = ("group", "metric", "value")
# Squares and sums of squares (variances, intervals, figure axes) must stay finite: 1e150 squared
# is 1e300, below the float limit of 1.8e308. No measurement comes anywhere near it.
MAX_ABS_VALUE = 1e150
OPTIONAL_COLUMNS = ("run",)


class CsvInputError(InputError):
    """The CSV breaks the contract; the message names the file and line."""


@dataclass
class TidyCsv:
    """Values per metric and group, both in first-appearance order."""

    groups: list[str]
    metrics: list[str]
    values: dict[str, dict[str, list[float]]]
    rows: int

    def metric_values(self, metric: str) -> dict[str, list[float]]:
        """The values of `metric` for every group of the file (empty for groups without any)."""
        present = self.values.get(metric, {})
        return {group: present.get(group, []) for group in self.groups}


def _fail(path: Path, line: int, message: str) -> CsvInputError:
    return CsvInputError(
        f"{path}, line {line}: {message}",
        hint="the CSV needs a header with group,metric,value (an optional run column is "
        "ignored) and one finite number per row; see docs/analysis.md",
    )


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CsvInputError(f"no such file: {path}") from None
    except OSError as exc:
        raise CsvInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _fail(path, line, f"not UTF-8 text (byte {exc.start})") from None


def _header(path: Path, header: list[str]) -> dict[str, int]:
    names = [name.strip().lower() for name in header]
    shown = ",".join(header)
    duplicated = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicated:
        raise _fail(path, 1, f"column(s) {', '.join(duplicated)} appear more than once")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise _fail(
            path,
            1,
            f"missing column(s) {', '.join(missing)}; the header is {shown!r} "
            "(expected comma-separated group,metric,value)",
        )
    unexpected = [
        h
        for h, n in zip(header, names, strict=True)
        if n not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    ]
    if unexpected:
        raise _fail(
            path,
            1,
            f"unexpected column(s) {', '.join(map(repr, unexpected))}; "
            f"allowed: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}",
        )
    return {name: names.index(name) for name in REQUIRED_COLUMNS}


def _value(path: Path, line: int, text: str) -> float:
    stripped = text.strip()
    if not stripped:
        raise _fail(path, line, "the value is empty")
    try:
        value = float(stripped)
    except ValueError:
        raise _fail(path, line, f"value {stripped!r} is not a number") from None
    if not math.isfinite(value):
        raise _fail(path, line, f"value {stripped!r} is not a finite number")
    if abs(value) > MAX_ABS_VALUE:
        raise _fail(
            path,
            line,
            f"value {stripped!r} is too large to analyse; values must lie within ±1e150",
        )
    return value


def read_tidy_csv(path: Path) -> TidyCsv:
    """Parse and validate the file; CsvInputError (exit 2) with the line number on any problem."""
    reader = csv.reader(_decode(path).splitlines(keepends=True), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise _fail(path, 1, "the file is empty; expected a header group,metric,value")
        columns = _header(path, header)
        values: dict[str, dict[str, list[float]]] = {}
        groups: dict[str, None] = {}
        rows = 0
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise _fail(path, line, f"expected {len(header)} fields, found {len(row)}")
            group = row[columns["group"]].strip()
            metric = row[columns["metric"]].strip()
            if not group:
                raise _fail(path, line, "the group is empty")
            if not metric:
                raise _fail(path, line, "the metric is empty")
            value = _value(path, line, row[columns["value"]])
            groups.setdefault(group)
            values.setdefault(metric, {}).setdefault(group, []).append(value)
            rows += 1
    except csv.Error as exc:
        raise _fail(path, reader.line_num, f"malformed CSV ({exc})") from None
    if rows == 0:
        raise _fail(path, 2, "the file has a header but no data rows")
    return TidyCsv(list(groups), list(values), values, rows)
