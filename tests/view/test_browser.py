"""A real `baes view` process over a demo root, loaded by headless Chromium: DOM and screenshots.

Skipped only where Chromium is not installed (`.ci/run` installs the Debian package `chromium`).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from matplotlib import image as mpimg

from .conftest import DEMO, start_view, stop

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium); the browser tests need it",
)
SMALL = DEMO[0]


@pytest.fixture(scope="module")
def server(demo_root: Path) -> Iterator[str]:
    process, url = start_view("--root", str(demo_root), "--port", "0")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), url
    base = url.rstrip("/")
    deadline = time.monotonic() + 60
    while any(t["pending"] for t in httpx.get(f"{base}/totals.json").json().values()):
        assert time.monotonic() < deadline, "totals never measured"
        time.sleep(0.1)
    yield base
    stop(process)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def dom(tmp_path: Path, url: str, *flags: str) -> str:
    done = chromium(tmp_path, *flags, "--dump-dom", url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'data-script="ready"' in done.stdout, "view.js did not run"
    return done.stdout


def screenshot(tmp_path: Path, url: str, name: str) -> Path:
    shot = tmp_path / f"{name}.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", url)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (900, 1280)
    # Not blank: many distinct shades, and a good share of the page is not background.
    assert np.std(pixels) > 0.05
    assert len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 50
    return shot


def first_run(root: Path) -> Path:
    return sorted((root / SMALL / "runs").glob("*/*/run.json"))[0].parent


def test_experiments_page(server, tmp_path):
    html = dom(tmp_path, server + "/")
    assert "pending" not in html  # measured in the background since the server started
    rows = re.findall(r'<td><a href="/e/([^"]+)">', html)
    assert sorted(rows) == sorted(DEMO)
    assert "cost so far" in html and "mean pass rate" in html
    assert re.search(r"\$\d+\.\d{4}", html) and re.search(r"\d+\.\d %", html)
    screenshot(tmp_path, server + "/", "experiments")


def test_experiment_page(server, demo_root, tmp_path):
    url = f"{server}/e/{SMALL}"
    html = dom(tmp_path, url)
    assert "config matches its hash" in html
    assert len(re.findall(r'<a href="/e/[^"]+/runs/', html)) == len(
        list((demo_root / SMALL / "runs").glob("*/*/run.json"))
    )
    assert 'id="stopping"' in html and "stopped: reached runs.max" in html
    screenshot(tmp_path, url, "experiment")


def test_run_page(server, demo_root, tmp_path):
    run = first_run(demo_root)
    url = f"{server}/e/{SMALL}/runs/{run.parent.name}/{run.name}"
    html = dom(tmp_path, url)
    calls = len((run / "usage.jsonl").read_text().splitlines())
    assert html.count('class="call"') == calls > 0
    assert "check passed" in html
    assert 'class="msg role-user' in html and 'class="msg role-assistant answer' in html
    screenshot(tmp_path, url, "run")


def test_analysis_page(server, tmp_path):
    url = f"{server}/e/{SMALL}/analysis"
    html = dom(tmp_path, url)
    assert "Analysis of experiment" in html and "<table>" in html
    assert re.search(rf'<img src="/e/{SMALL}/analysis/files/figures/\w+\.png"', html)
    screenshot(tmp_path, url, "analysis")


def test_compare_page(server, tmp_path):
    index = dom(tmp_path, server + "/compare")
    (name,) = re.findall(r'<a href="/compare/([^"]+)">', index)
    url = f"{server}/compare/{name}"
    html = dom(tmp_path, url)
    assert "<table>" in html and re.search(rf'<img src="/compare/{name}/files/figures/', html)
    screenshot(tmp_path, url, "compare")


def raw_get(url: str, path: str) -> bytes:
    """One GET with `path` exactly as given (no client normalises the dots away)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "path",
    [
        f"/e/{SMALL}/analysis/files/../../config.yaml",
        f"/e/{SMALL}/analysis/files/figures/../../../.registry.json",
        "/e/../analysis",
        "/../.registry.json",
        f"/e/{SMALL}/analysis/files/%2e%2e/%2e%2e/config.yaml",
        f"/static/../../{SMALL}/config.yaml",
        "/static/%2e%2e/app.py",
    ],
)
def test_raw_traversal_paths_are_refused(server, path):
    answer = raw_get(server, path)
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 404), (path, answer[:200])
    assert b"scenario:" not in answer and b"def create_app" not in answer
