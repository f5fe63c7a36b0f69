"""What the metering proxy costs: the same small chat calls, direct and through the proxy.

Three processes, each with its own interpreter lock: the simulator (standing in for the
provider), the proxy (`baes proxy serve`, as a user runs it) and this one, the client (standing
in for a framework). The simulator answers with no added latency, so every figure is pure
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

    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "usage.jsonl"
        simulator = subprocess.Popen(
            [sys.executable, "-c", SIMULATOR],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        urls = {"direct": simulator.stdout.readline().strip()}
        proxy_log = (Path(tmp) / "proxy.log").open("w+")
        proxy = subprocess.Popen(
            [*PROXY, "--upstream", urls["direct"], "--ledger", str(ledger), "--model", "sim-small"],
            stdout=subprocess.PIPE,
            stderr=proxy_log,
            text=True,
        )
        try:
            urls["proxy"] = proxy.stdout.readline().strip()
            if not urls["proxy"]:
                proxy_log.seek(0)
                raise SystemExit(f"baes proxy serve did not start:\n{proxy_log.read()}")
            cpu_before = cpu_seconds(proxy.pid)
            lat = {name: latencies(urls[name], args.calls, args.warmup) for name in urls}
            # Alternate the order so neither side always runs on a warmer machine.
            rates: dict[tuple[str, int], float] = {}
            for level in (1, args.concurrency):
                for name in ("direct", "proxy") if level == 1 else ("proxy", "direct"):
                    rates[(name, level)] = throughput(urls[name], args.calls, level, args.warmup)
            cpu_after = cpu_seconds(proxy.pid)
        finally:
            proxy.send_signal(signal.SIGINT)
            proxy.wait(timeout=30)
            simulator.stdin.close()
            simulator.wait(timeout=30)
            proxy_log.close()
        recorded = len(read_ledger(ledger))

    ms = {name: [v * 1000 for v in values] for name, values in lat.items()}
    p50 = {name: statistics.median(values) for name, values in ms.items()}
    p99 = {name: percentile(values, 99) for name, values in ms.items()}
    added_p50 = p50["proxy"] - p50["direct"]
    added_p99 = p99["proxy"] - p99["direct"]

    print(
        f"metering proxy overhead: {args.calls} small non-streaming chat calls per figure, "
        f"{args.warmup} warm-up, simulator latency 0"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end "
        "(other work on the machine inflates every figure)"
    )
    print(f"{'':24}{'direct':>10}{'proxy':>10}{'added':>10}")
    print(
        f"{'latency p50 (ms)':24}{p50['direct']:10.2f}{p50['proxy']:10.2f}{added_p50:10.2f}"
        f"   target added p50 <= {TARGET_ADDED_P50_MS:g} ms: "
        f"{'met' if added_p50 <= TARGET_ADDED_P50_MS else 'NOT met'}"
    )
    print(f"{'latency p99 (ms)':24}{p99['direct']:10.2f}{p99['proxy']:10.2f}{added_p99:10.2f}")
    for level in (1, args.concurrency):
        direct, proxied = rates[("direct", level)], rates[("proxy", level)]
        ratio = proxied / direct
        line = (
            f"{f'throughput c={level} (/s)':24}{direct:10.1f}{proxied:10.1f}{ratio:9.0%} of direct"
        )
        if level == args.concurrency:
            line += (
                f"   target >= {TARGET_RATIO:.0%}: {'met' if ratio >= TARGET_RATIO else 'NOT met'}"
            )
        print(line)
    proxied = SENT[urls["proxy"] + "/chat/completions"]
    print(f"ledger lines recorded by the proxy: {recorded} (calls sent through it: {proxied})")
    if cpu_before is not None and cpu_after is not None:
        per_call = (cpu_after - cpu_before) / proxied * 1000
        print(f"proxy process CPU time per call: {per_call:.2f} ms (server, client and metering)")


if __name__ == "__main__":
    main()
