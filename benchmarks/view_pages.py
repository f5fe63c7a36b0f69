"""How fast `baes view` answers its two heaviest pages (issue 14: each within 300 ms).

Run: .venv/bin/python benchmarks/view_pages.py

1. The experiments page of a root with 200 experiments (2 frameworks, 4 completed runs each, a
   2-call ledger per run): the registry plus each experiment's cost so far (from its ledgers)
   and mean pass rate (from its run records).
2. The run page of a run whose transcript holds 200 calls of one growing conversation (each call
   re-sends every earlier message, as chat agents do; each message ~600 characters with a code
   block), rendered as a conversation.

A real `baes view` process serves the synthesized root; each page is fetched over loopback with
httpx. Reported: the first answer (cold: nothing cached) and the median and maximum of 20 further
answers (warm, as a user browsing sees them). The experiments page never waits for the cost and
pass-rate columns: they are measured in the background from the server's start (the page shows
them pending and fills them in); how long that takes for the 200 experiments is reported too.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from baes.experiment.registry import current_view  # noqa: E402
from baes.llm.transcript_file import append_transcript_line  # noqa: E402
from baes.records.transcript import (  # noqa: E402
    TRANSCRIPT_FILE,
    TranscriptLine,
    TranscriptResponse,
    TranscriptUsage,
)
from baes.store.manifest import Manifest  # noqa: E402
from tests.analysis.run_records import make_experiment, run_record, write_run_fast  # noqa: E402

EXPERIMENTS = 200
RUNS_PER_FRAMEWORK = 2
CALLS = 200
LIMIT_MS = 300.0
LEDGER_LINE = {
    "ts_start": "2026-01-01T00:00:00.000000Z",
    "ts_end": "2026-01-01T00:00:01.000000Z",
    "endpoint": "/v1/chat/completions",
    "model_requested": "sim-small",
    "model_served": "sim-small",
    "status_code": 200,
    "stream": False,
    "input_tokens": 500,
    "output_tokens": 150,
    "cached_tokens": 0,
    "reasoning_tokens": None,
    "latency_s": 1.0,
    "usage_reported": True,
    "error": None,
}


def build_root(root: Path) -> tuple[str, str, str]:
    """The synthesized root; returns (experiment, framework, run id) of the long transcript."""
    for number in range(EXPERIMENTS):
        paths, config = make_experiment(root, f"exp-{number:03d}", frameworks=["a", "b"], runs=5)
        for framework in ("a", "b"):
            for index in range(RUNS_PER_FRAMEWORK):
                record = run_record(config, framework, index, checks_passed=index + 1)
                write_run_fast(paths, record)
                run_dir = paths.run_dir(framework, record["run_id"])
                lines = [
                    json.dumps({**LEDGER_LINE, "run_id": record["run_id"], "step": f"0{s}-x"})
                    for s in (1, 2)
                ]
                (run_dir / "usage.jsonl").write_text("\n".join(lines) + "\n")
        Manifest(paths).rebuild()
    run_dir = paths.run_dir(framework, record["run_id"])
    write_transcript(run_dir / TRANSCRIPT_FILE)
    return paths.name, framework, record["run_id"]


def write_transcript(path: Path) -> None:
    messages = [{"role": "system", "content": "You write small, tested Python modules."}]
    for call in range(1, CALLS + 1):
        messages.append(
            {"role": "user", "content": f"Step {call}: extend the module. " + "Keep it tidy. " * 30}
        )
        answer = f"Here is version {call}:\n\n```python\n" + "def f(x):\n    return x + 1\n" * 12
        answer += "```\n"
        append_transcript_line(
            path,
            TranscriptLine(
                step="01-build",
                call=call,
                ts_start="2026-01-01T00:00:00Z",
                endpoint="/v1/chat/completions",
                request={"model": "sim-small", "messages": list(messages)},
                response=TranscriptResponse(
                    status_code=200,
                    stream=False,
                    body={
                        "object": "chat.completion",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": answer},
                                "finish_reason": "stop",
                            }
                        ],
                    },
                    usage=TranscriptUsage(
                        input_tokens=300 * call,
                        output_tokens=150,
                        cached_tokens=None,
                        reasoning_tokens=None,
                    ),
                    latency_s=1.0,
                    error=None,
                ),
            ),
        )
        messages.append({"role": "assistant", "content": answer})


def timed(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    answer = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return elapsed


def served_for(started_at: float) -> float:
    return time.perf_counter() - started_at


def measure(client: httpx.Client, label: str, url: str) -> bool:
    cold = timed(client, url)
    warm = [timed(client, url) for _ in range(20)]
    median, worst = statistics.median(warm), max(warm)
    within = cold <= LIMIT_MS and median <= LIMIT_MS
    verdict = "ok" if within else f"OVER {LIMIT_MS:g} ms"
    print(
        f"{label:<44} cold {cold:7.1f} ms   warm median {median:6.1f} ms   "
        f"max {worst:6.1f} ms   {verdict}"
    )
    return within


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="baes-view-bench-") as tmp:
        root = Path(tmp) / "experiments"
        started = time.perf_counter()
        name, framework, run_id = build_root(root)
        print(f"synthesized {EXPERIMENTS} experiments in {time.perf_counter() - started:.1f} s")
        # The runs were written behind the registry's back: let it catch up as any baes command
        # (`baes list`) would, so the figures below are the viewer's own.
        current_view(root)
        server = subprocess.Popen(
            [sys.executable, "-m", "baes", "view", "--root", str(root), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            base = server.stdout.readline().strip().rstrip("/")
            started_at = time.perf_counter()
            with httpx.Client(timeout=60) as client:
                client.get(f"{base}/static/view.css")  # open the connection, warm no page
                run_url = f"{base}/e/{name}/runs/{framework}/{run_id}"
                experiments_ok = measure(
                    client, f"experiments page, {EXPERIMENTS} experiments", base + "/"
                )
                run_ok = measure(client, f"run page, {CALLS}-call transcript", run_url)
                waited = time.perf_counter()
                while any(t["pending"] for t in client.get(f"{base}/totals.json").json().values()):
                    time.sleep(0.05)
                print(
                    f"every experiment's cost and pass rate measured {served_for(started_at):.1f} s "
                    f"after the server printed its URL (waited {time.perf_counter() - waited:.1f} s)"
                )
                page = client.get(f"{base}/").text
                assert page.count('<a href="/e/exp-') == EXPERIMENTS
                assert client.get(run_url).text.count('class="call"') == CALLS
        finally:
            server.terminate()
            server.wait(10)
    return 0 if experiments_ok and run_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
