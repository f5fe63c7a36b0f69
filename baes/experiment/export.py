"""`baes export`: an experiment's runs as a flat table for R, pandas or a spreadsheet.

The numbers are the analysis's own: the same run records (read and filtered as `baes analyze`
reads them) measured by the same metric catalog (baes.analysis.dataset.build_dataset). Two
levels: one row per run (every run, whatever its status; the metrics of the completed ones, which
are the runs the analysis measures) and one row per scenario step of every run.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baes.analysis.dataset import (
    build_dataset,
    check_outcome,
    read_run_records,
    verification_state,
)
from baes.analysis.metrics import CATALOG, MetricContext

EXPORT_LEVELS = ("run", "step")
EXPORT_FORMATS = ("csv", "jsonl")

RUN_COLUMNS = (
    "experiment",
    "framework",
    "run_id",
    "status",
    "analysed",
    "verification",
    "started_at",
    "ended_at",
    "error_kind",
    *(spec.key for spec in CATALOG),
    "missing",
)
STEP_COLUMNS = (
    "experiment",
    "framework",
    "run_id",
    "run_status",
    "analysed",
    "step_index",
    "step_id",
    "step_status",
    "started_at",
    "ended_at",
    "duration_s",
    "attempts",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "calls",
    "llm_seconds",
    "unreported_calls",
    "check",
    "check_exit_code",
    "check_error_reason",
)


@dataclass
class ExportTable:
    """Rows (dicts over `columns`; None for a value that is not known) and the records left out."""

    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)


def export_table(root: Path, name: str, level: str = "run") -> ExportTable:
    """The run-level or step-level table of experiment `name`.

    Refuses (ConfigChangedError, exit 2) an experiment whose design was edited, as `baes analyze`
    does: costs are priced with the frozen price table.
    """
    from baes.errors import InputError
    from baes.experiment.load import load_experiment

    if level not in EXPORT_LEVELS:
        raise InputError(f"unknown level {level!r}; choose one of {', '.join(EXPORT_LEVELS)}")
    experiment, config = load_experiment(root, name)
    frameworks = list(config.frameworks)
    records, problems = read_run_records(experiment.paths, frameworks, experiment.stored_hash)
    if level == "step":
        rows = [row for record in records for row in _step_rows(name, record)]
        return ExportTable(STEP_COLUMNS, rows, problems)
    dataset = build_dataset(records, frameworks, MetricContext(prices=config.pricing))
    measured: dict[str, dict[str, Any]] = {}
    for o in dataset.observations:
        values = measured.setdefault(o.run_id, {"missing": {}})
        values[o.metric] = o.value
        if o.value is None:
            values["missing"][o.metric] = o.reason
    rows = []
    for record in records:
        error = record.get("error") if isinstance(record.get("error"), Mapping) else {}
        values = measured.get(record["run_id"])
        row = {
            "experiment": name,
            "framework": record["framework"],
            "run_id": record["run_id"],
            "status": record["status"],
            "analysed": values is not None,
            "verification": verification_state(record),
            "started_at": record.get("started_at"),
            "ended_at": record.get("ended_at"),
            "error_kind": error.get("kind"),
        }
        for spec in CATALOG:
            row[spec.key] = values.get(spec.key) if values else None
        row["missing"] = (values["missing"] or None) if values else None
        rows.append(row)
    return ExportTable(RUN_COLUMNS, rows, problems + dataset.problems)


def _step_rows(name: str, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for step in record.get("steps") or []:
        if not isinstance(step, Mapping):
            continue
        usage = step.get("usage") if isinstance(step.get("usage"), Mapping) else {}
        check = step.get("check") if isinstance(step.get("check"), Mapping) else None
        rows.append(
            {
                "experiment": name,
                "framework": record["framework"],
                "run_id": record["run_id"],
                "run_status": record["status"],
                "analysed": record["status"] == "completed",
                "step_index": step.get("index"),
                "step_id": step.get("id"),
                "step_status": step.get("status"),
                "started_at": step.get("started_at"),
                "ended_at": step.get("ended_at"),
                "duration_s": step.get("duration_s"),
                "attempts": step.get("attempts"),
                "input_tokens": usage.get("input_tokens"),
                "output_tokens": usage.get("output_tokens"),
                "cached_tokens": usage.get("cached_tokens"),
                "calls": usage.get("calls"),
                "llm_seconds": usage.get("llm_seconds"),
                "unreported_calls": usage.get("unreported_calls", 0) if usage else None,
                "check": check_outcome(check) if check is not None else None,
                "check_exit_code": check.get("exit_code") if check else None,
                "check_error_reason": check.get("error_reason") if check else None,
            }
        )
    return rows


def to_csv(table: ExportTable) -> str:
    """CSV with a header; an unknown value is an empty cell, booleans are true/false, numbers in
    full precision, the `missing` reasons as `METRIC: reason; …`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_cell(row.get(column)) for column in table.columns])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {reason}" for key, reason in value.items())
    return str(value)


def to_jsonl(table: ExportTable) -> str:
    """One JSON object per line with every column (null for an unknown value)."""
    return "".join(
        json.dumps(
            {column: _json_value(row.get(column)) for column in table.columns},
            ensure_ascii=False,
            allow_nan=False,
        )
        + "\n"
        for row in table.rows
    )


def _json_value(value: Any) -> Any:
    # A NaN or infinity in a hand-edited record is no number JSON readers accept.
    return None if isinstance(value, float) and not math.isfinite(value) else value


def render_export(table: ExportTable, fmt: str) -> str:
    """The table in `fmt` (csv or jsonl)."""
    from baes.errors import InputError

    renderers: Mapping[str, Any] = {"csv": to_csv, "jsonl": to_jsonl}
    if fmt not in renderers:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    return renderers[fmt](table)
