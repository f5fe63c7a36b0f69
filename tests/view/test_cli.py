"""`baes view` as a command: its URL first, warnings, --open, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from .conftest import start_view, stop


@pytest.fixture
def root(root):
    root.mkdir(parents=True, exist_ok=True)
    return root


def test_url_first_and_serves_until_ctrl_c(root):
    process, url = start_view("--root", str(root), "--port", "0")
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        assert "No experiments" in httpx.get(url).text
    finally:
        err = stop(process)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_a_non_loopback_host_is_warned_about(root):
    process, url = start_view("--root", str(root), "--host", "0.0.0.0", "--port", "0")
    err = stop(process)
    assert url.startswith("http://0.0.0.0:")
    assert "not only this machine" in err


def test_open_hands_the_url_to_the_browser(root, tmp_path):
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    # Written aside then renamed: the test must never read the file half-written (it did, once,
    # under load: `>` creates it empty before echo writes).
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}.part && mv {opened}.part {opened}\n')
    browser.chmod(0o755)
    env = {**os.environ, "BROWSER": str(browser)}
    process, url = start_view("--root", str(root), "--port", "0", "--open", env=env)
    try:
        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text().strip() == url
    finally:
        stop(process)


def test_a_missing_root_is_an_input_error(tmp_path):
    process = subprocess.run(
        [sys.executable, "-m", "baes", "view", "--root", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode == 2
    assert "no experiments root" in process.stderr and "Traceback" not in process.stderr


def test_a_port_in_use_is_reported_in_one_line(root):
    first, url = start_view("--root", str(root), "--port", "0")
    try:
        port = url.rstrip("/").rsplit(":", 1)[1]
        second = subprocess.run(
            [sys.executable, "-m", "baes", "view", "--root", str(root), "--port", port],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1, second.stderr
        assert "Traceback" not in second.stderr and second.stderr.strip()
    finally:
        stop(first)
