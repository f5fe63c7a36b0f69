"""One run: its steps with their checks and logs, and its transcript as a conversation."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from baes.errors import BaesError
from baes.llm.transcript_file import read_transcript
from baes.records.transcript import TRANSCRIPT_FILE
from baes.store.paths import RUN_RECORD_FILE
from baes.store.run_folders import load_run_record
from baes.view.conversation import CallView, conversation
from baes.view.pages.experiment import experiment_paths
from baes.view.rendering import render
from baes.view.safe_paths import NotServed, checked_name, folder_inside_root

# A log longer than this shows its last LOG_TAIL_BYTES (the end is where failures are).
LOG_TAIL_BYTES = 128 * 1024


def _log(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size > LOG_TAIL_BYTES:
            handle.seek(size - LOG_TAIL_BYTES)
        text = handle.read().decode("utf-8", errors="replace")
    return {"name": path.name, "text": text, "size": size, "cut": size > LOG_TAIL_BYTES}


def _step_logs(run_dir: Path, root: Path) -> dict[str, list[dict[str, Any]]]:
    logs: dict[str, list[dict[str, Any]]] = {}
    steps_dir = run_dir / "steps"
    if not steps_dir.is_dir():
        return logs
    for step_dir in sorted(steps_dir.iterdir()):
        try:
            folder_inside_root(step_dir, root)
        except NotServed:
            continue
        files = [
            p
            for p in sorted(step_dir.iterdir())
            if p.suffix in (".log", ".txt") and p.is_file() and not p.is_symlink()
        ]
        logs[step_dir.name] = [_log(p) for p in files]
    return logs


# Parsing a long transcript is most of a run page's time (every call re-sends the conversation:
# 200 calls can hold 20 MB of JSON); the last few runs viewed are kept, keyed by the file's stamp.
_CACHED_RUNS = 8
_conversations: OrderedDict[tuple[str, int, int], tuple[list[CallView], str | None]] = OrderedDict()
_conversations_lock = threading.Lock()


def _conversation(path: Path) -> tuple[list[CallView], str | None]:
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _conversations_lock:
        if key in _conversations:
            _conversations.move_to_end(key)
            return _conversations[key]
    transcript = read_transcript(path)
    value = (conversation(transcript.lines), transcript.damage)
    with _conversations_lock:
        _conversations[key] = value
        while len(_conversations) > _CACHED_RUNS:
            _conversations.popitem(last=False)
    return value


def _page_data(run_dir: Path, root: Path) -> dict[str, Any]:
    record = load_run_record(run_dir / RUN_RECORD_FILE)
    transcript_path = run_dir / TRANSCRIPT_FILE
    calls: list[CallView] = []
    damage, kept = None, transcript_path.is_file()
    if kept:
        calls, damage = _conversation(transcript_path)
    return {
        "record": record,
        "logs": _step_logs(run_dir, root),
        "calls": calls,
        "transcript_kept": kept,
        "transcript_damage": damage,
    }


async def page(request: Request) -> Response:
    paths = experiment_paths(request)
    framework = checked_name(request.path_params["framework"], "framework")
    run_id = checked_name(request.path_params["run_id"], "run")
    run_dir = folder_inside_root(paths.run_dir(framework, run_id), paths.root)
    try:
        data = await run_in_threadpool(_page_data, run_dir, paths.root)
    except BaesError as exc:
        raise NotServed(exc.message) from None
    return render(
        request,
        "run.html",
        name=paths.name,
        framework=framework,
        run_id=run_id,
        title=f"{paths.name} · {run_id}",
        **data,
    )
