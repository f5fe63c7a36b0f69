"""The usage ledger: exact fields, concurrent appends (threads and processes), damaged lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import pytest

from baes.llm.ledger import (
    LedgerEntry,
    LedgerNotFoundError,
    LedgerWriteError,
    LedgerWriter,
    append_entry,
    read_ledger,
)

FIELDS = (
    "schema_version ts_start ts_end run_id step endpoint model_requested model_served status_code stream "
    "input_tokens output_tokens cached_tokens reasoning_tokens latency_s usage_reported error"
).split()


def entry(**changes) -> LedgerEntry:
    base = LedgerEntry(
        ts_start="2026-06-21T10:00:00.000001Z",
        ts_end="2026-06-21T10:00:01.500000Z",
        run_id="run-1",
        step="01-setup",
        endpoint="/v1/chat/completions",
        model_requested="gpt-4o",
        model_served="sim-small",
        status_code=200,
        stream=False,
        input_tokens=120,
        output_tokens=30,
        cached_tokens=100,
        reasoning_tokens=0,
        latency_s=1.499999,
        usage_reported=True,
        error=None,
    )
    return base.model_copy(update=changes)


def test_an_entry_is_one_json_line_with_exactly_the_design_fields(tmp_path):
    path = tmp_path / "run" / "usage.jsonl"
    append_entry(path, entry())
    text = path.read_text()
    assert text.endswith("\n") and text.count("\n") == 1
    assert list(json.loads(text)) == FIELDS
    assert read_ledger(path) == [entry()]


def test_threads_sharing_a_writer_or_not_never_interleave_lines(tmp_path):
    path = tmp_path / "usage.jsonl"
    shared = LedgerWriter(path)
    long_error = "x" * 20_000  # far beyond PIPE_BUF: atomicity comes from the locks

    def work(index: int) -> None:
        own = LedgerWriter(path)
        for n in range(100):
            writer = shared if n % 2 else own
            writer.append(
                entry(run_id=f"t{index}", step=str(n), error=long_error if n % 7 == 0 else None)
            )
        own.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shared.close()

    entries = read_ledger(path)
    assert len(entries) == 800 and not entries.damaged
    for i in range(8):
        assert sorted(int(e.step) for e in entries if e.run_id == f"t{i}") == list(range(100))


def test_processes_appending_to_one_file_never_interleave_lines(tmp_path):
    path = tmp_path / "usage.jsonl"
    script = textwrap.dedent(
        """
        import sys
        from baes.llm.ledger import LedgerEntry, LedgerWriter
        path, name = sys.argv[1], sys.argv[2]
        base = LedgerEntry(
            ts_start="a", ts_end="b", run_id=name, step="s", endpoint="/v1/chat/completions",
            model_requested=None, model_served=None, status_code=200, stream=False,
            input_tokens=1, output_tokens=1, cached_tokens=0, reasoning_tokens=0,
            latency_s=0.1, usage_reported=True, error=None,
        )
        with LedgerWriter(path) as writer:
            for n in range(150):
                writer.append(base.model_copy(update=dict(step=str(n), error="y" * (9000 if n % 5 == 0 else 10))))
        """
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(path), f"p{i}"]) for i in range(4)
    ]
    assert [worker.wait(timeout=60) for worker in workers] == [0] * 4

    entries = read_ledger(path)
    assert len(entries) == 600 and not entries.damaged
    for i in range(4):
        assert sorted(int(e.step) for e in entries if e.run_id == f"p{i}") == list(range(150))


def test_a_truncated_last_line_is_reported_not_raised(tmp_path):
    path = tmp_path / "usage.jsonl"
    for n in range(3):
        append_entry(path, entry(step=str(n)))
    with path.open("a") as killed_writer:
        killed_writer.write(entry(step="3").model_dump_json()[:57])

    entries = read_ledger(path)
    assert [e.step for e in entries] == ["0", "1", "2"]
    tail = entries.truncated_tail
    assert tail is not None and tail.line_number == 4 and tail.truncated
    assert "truncated" in tail.reason


def test_appending_after_a_killed_writer_starts_on_a_fresh_line(tmp_path):
    path = tmp_path / "usage.jsonl"
    append_entry(path, entry(step="0"))
    with path.open("a") as killed_writer:
        killed_writer.write('{"ts_start": "2026-')
    append_entry(path, entry(step="1"))

    entries = read_ledger(path)
    assert [e.step for e in entries] == ["0", "1"]
    [damaged] = entries.damaged
    assert damaged.line_number == 2 and not damaged.truncated
    assert entries.truncated_tail is None


def test_lines_that_are_not_entries_are_reported_with_a_reason(tmp_path):
    path = tmp_path / "usage.jsonl"
    good = json.loads(entry().model_dump_json())
    lines = [
        json.dumps(good),
        json.dumps({k: v for k, v in good.items() if k != "status_code"}),
        json.dumps({**good, "input_tokens": True}),
        json.dumps({**good, "stream": "yes"}),
        "[1, 2]",
        json.dumps({**good, "future_field": 1}),  # newer writers may add fields
        json.dumps({**good, "schema_version": 9}),  # a newer format: not mis-read
    ]
    path.write_text("\n".join(lines) + "\n")

    entries = read_ledger(path)
    assert len(entries) == 2
    reasons = [d.reason for d in entries.damaged]
    assert reasons == [
        "status_code: Field required",
        "input_tokens: Input should be a valid integer, not True",
        "stream: Input should be a valid boolean, not 'yes'",
        "a JSON list, not an object",
        "a ledger line of schema_version 9, written by a newer baes (this baes reads up to 1)",
    ]


def test_a_missing_ledger_is_a_typed_error(tmp_path):
    with pytest.raises(LedgerNotFoundError) as missing:
        read_ledger(tmp_path / "nope.jsonl")
    assert missing.value.exit_code == 2


def test_an_unwritable_ledger_is_a_typed_error(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(LedgerWriteError) as failed:
        LedgerWriter(tmp_path / "a-file" / "usage.jsonl")
    assert "a-file" in failed.value.message


def test_a_closed_writer_refuses_to_append_and_sync_is_safe(tmp_path):
    writer = LedgerWriter(tmp_path / "usage.jsonl")
    writer.append(entry())
    writer.sync()
    writer.close()
    writer.close()
    with pytest.raises(LedgerWriteError):
        writer.append(entry())
