"""What the metering proxy costs: the same small chat calls, direct and through the proxy.

Four processes, each with its own interpreter lock: the simulator (standing in for the
provider), two proxies (`baes proxy serve` as a user runs it, and with `--transcript`, keeping
each call's words as `baes run` does by default) and this one, the client (standing in for a
framework). The targets apply to the proxy as `baes run` uses it, transcripts included. The simulator answers with no added latency, so every figure is pure
overhead; against a real provider (hundreds of ms per call) the same milliseconds are a far
smaller share. Throughput is bounded by the machine's cores, which all three processes share.

    .venv/bin/python benchmarks/proxy_overhead.py [--calls 500] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from baes.llm.ledger import read_ledger

TARGET_ADDED_P50_MS = 3.0
TARGET_RATIO = 0.50
BODY = {
    "model": "sim-small",
    "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
    "max_tokens": 16,
}
HEADERS = {"Authorization": "Bearer benchmark"}

SIMULATOR = """
import sys
from baes.simulator import SimulatorOptions, start_simulator
with start_simulator(SimulatorOptions(seed=0)) as sim:
    print(sim.base_url, flush=True)
    sys.stdin.read()  # serve until the benchmark closes our stdin
"""
PROXY = [sys.executable, "-c", "from baes.cli.proxy import app; app()", "serve"]


SENT: Counter[str] = Counter()  # successful calls per URL, to check the ledger against
_sent_lock = threading.Lock()


def _call(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.post(url, json=BODY, headers=HEADERS)
    elapsed = time.perf_counter() - started
    with _sent_lock:
        SENT[url] += 1
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")
    return elapsed


def latencies(base_url: str, calls: int, warmup: int) -> list[float]:
    """Sequential calls on one keep-alive connection; seconds per call."""
    url = base_url + "/chat/completions"
    with httpx.Client(timeout=30) as client:
        for _ in range(warmup):
            _call(client, url)
        return [_call(client, url) for _ in range(calls)]


def throughput(base_url: str, calls: int, concurrency: int, warmup: int) -> float:
    """Calls per second with `concurrency` threads, each with its own connection."""
    url = base_url + "/chat/completions"
    per_thread = calls // concurrency
    clients = [httpx.Client(timeout=30) for _ in range(concurrency)]
    for client in clients:
        for _ in range(max(1, warmup // concurrency)):
            _call(client, url)
    barrier = threading.Barrier(concurrency + 1)
    errors: list[BaseException] = []

    def work(client: httpx.Client) -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                _call(client, url)
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    if errors:
        raise errors[0]
    return per_thread * concurrency / elapsed


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc only; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per measurement")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()

    proxies = {"proxy": [], "proxy+transcript": ["--transcript"]}
    with tempfile.TemporaryDirectory() as tmp:
        simulator = subprocess.Popen(
            [sys.executable, "-c", SIMULATOR],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        urls = {"direct": simulator.stdout.readline().strip()}
        ledgers = {name: Path(tmp) / name / "usage.jsonl" for name in proxies}
        logs = {name: (Path(tmp) / f"{name}.log").open("w+") for name in proxies}
        processes = {
            name: subprocess.Popen(
                [*PROXY, "--upstream", urls["direct"], "--ledger", str(ledgers[name])]
                + ["--model", "sim-small", *flags],
                stdout=subprocess.PIPE,
                stderr=logs[name],
                text=True,
            )
            for name, flags in proxies.items()
        }
        try:
            for name, process in processes.items():
                urls[name] = process.stdout.readline().strip()
                if not urls[name]:
                    logs[name].seek(0)
                    raise SystemExit(f"baes proxy serve did not start:\n{logs[name].read()}")
            cpu_before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
            lat = {name: latencies(urls[name], args.calls, args.warmup) for name in urls}
            # Alternate the order so no side always runs on a warmer machine.
            rates: dict[tuple[str, int], float] = {}
            for level in (1, args.concurrency):
                order = list(urls) if level == 1 else list(reversed(urls))
                for name in order:
                    rates[(name, level)] = throughput(urls[name], args.calls, level, args.warmup)
            cpu_after = {name: cpu_seconds(p.pid) for name, p in processes.items()}
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
            simulator.stdin.close()
            simulator.wait(timeout=30)
            for log in logs.values():
                log.close()
        recorded = {name: len(read_ledger(ledger)) for name, ledger in ledgers.items()}
        transcript = ledgers["proxy+transcript"].parent / "transcript.jsonl.gz"
        transcript_bytes = transcript.stat().st_size if transcript.exists() else 0

    ms = {name: [v * 1000 for v in values] for name, values in lat.items()}
    p50 = {name: statistics.median(values) for name, values in ms.items()}
    p99 = {name: percentile(values, 99) for name, values in ms.items()}

    print(
        f"metering proxy overhead: {args.calls} small non-streaming chat calls per figure, "
        f"{args.warmup} warm-up, simulator latency 0"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end "
        "(other work on the machine inflates every figure)"
    )
    for name in proxies:
        added_p50 = p50[name] - p50["direct"]
        added_p99 = p99[name] - p99["direct"]
        print(f"\n{'':24}{'direct':>10}{name:>18}{'added':>10}")
        print(
            f"{'latency p50 (ms)':24}{p50['direct']:10.2f}{p50[name]:18.2f}{added_p50:10.2f}"
            f"   target added p50 <= {TARGET_ADDED_P50_MS:g} ms: "
            f"{'met' if added_p50 <= TARGET_ADDED_P50_MS else 'NOT met'}"
        )
        print(f"{'latency p99 (ms)':24}{p99['direct']:10.2f}{p99[name]:18.2f}{added_p99:10.2f}")
        for level in (1, args.concurrency):
            direct, proxied = rates[("direct", level)], rates[(name, level)]
            ratio = proxied / direct
            line = (
                f"{f'throughput c={level} (/s)':24}{direct:10.1f}{proxied:18.1f}"
                f"{ratio:9.0%} of direct"
            )
            if level == args.concurrency:
                met = "met" if ratio >= TARGET_RATIO else "NOT met"
                line += f"   target >= {TARGET_RATIO:.0%}: {met}"
            print(line)
        sent = SENT[urls[name] + "/chat/completions"]
        print(f"ledger lines recorded: {recorded[name]} (calls sent through it: {sent})")
        if cpu_before[name] is not None and cpu_after[name] is not None:
            per_call = (cpu_after[name] - cpu_before[name]) / sent * 1000
            print(f"proxy process CPU time per call: {per_call:.2f} ms (server, client, metering)")
    sent = SENT[urls["proxy+transcript"] + "/chat/completions"]
    print(f"\ntranscript kept: {transcript_bytes} bytes for {sent} calls")


if __name__ == "__main__":
    main()
