"""Regenerate the screenshots of docs/view.md from a real `baes view` over a fresh demo root.

Run: .venv/bin/python benchmarks/view_screenshots.py   (needs `chromium` on the PATH)

Builds `baes demo` in a temporary folder, starts `baes view` on it, waits until every
experiment's cost and pass rate are measured, and has headless Chromium write one PNG per page
type into docs/images/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
IMAGES = REPO / "docs" / "images"


def shoot(chromium: str, url: str, out: Path, profile: Path, height: int = 900) -> None:
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={out}",
            f"--window-size=1280,{height}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"wrote {out.relative_to(REPO)}")


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="baes-view-shots-") as tmp:
        root = Path(tmp) / "experiments"
        baes = [sys.executable, "-m", "baes"]
        subprocess.run([*baes, "demo", "--root", str(root), "--quiet"], check=True, timeout=600)
        for args in (
            ["tag", "demo-sim-small", "baseline", "paper"],
            ["tag", "demo-sim-large", "paper"],
            ["note", "demo-sim-small", "First pass on the small simulated model."],
        ):
            subprocess.run([*baes, *args, "--root", str(root)], check=True, capture_output=True)
        server = subprocess.Popen(
            [*baes, "view", "--root", str(root), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            base = server.stdout.readline().strip().rstrip("/")
            while any(t["pending"] for t in httpx.get(f"{base}/totals.json").json().values()):
                time.sleep(0.1)
            name = "demo-sim-small"
            run = sorted((root / name / "runs").glob("reference-repair/*/run.json"))[0].parent
            compared = next((root / "_compare").iterdir()).name
            pages = {
                "experiments": f"{base}/",
                "experiment": f"{base}/e/{name}",
                "run": f"{base}/e/{name}/runs/{run.parent.name}/{run.name}",
                "analysis": f"{base}/e/{name}/analysis",
                "compare": f"{base}/compare/{compared}",
            }
            for page, url in pages.items():
                height = {"experiments": 600, "run": 1600}.get(page, 900)
                shoot(chromium, url, IMAGES / f"view-{page}.png", Path(tmp) / page, height)
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
