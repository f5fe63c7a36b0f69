"""The web app's pages, in-process (starlette's TestClient): content, numbers, safety."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from baes.config.yaml_io import load_design
from baes.llm.transcript_file import append_transcript_line, read_transcript
from baes.records.transcript import TRANSCRIPT_FILE, TranscriptLine, TranscriptResponse
from baes.view.app import create_app

from .conftest import DEMO

SMALL = DEMO[0]


def client(root: Path) -> TestClient:
    return TestClient(create_app(root), base_url="http://127.0.0.1:8500")


def test_totals_of_a_changed_experiment_are_measured_again(demo_copy):
    app = client(demo_copy)
    before = measured(app)[SMALL]["cost_usd"]
    run = runs_of(demo_copy, SMALL)[0]
    ledger = run / "usage.jsonl"
    ledger.write_text(ledger.read_text() * 2)  # the same calls again: twice the cost of this run
    assert measured(app)[SMALL]["cost_usd"] == before  # the manifest did not change: cached
    manifest = demo_copy / SMALL / "runs" / "manifest.json"
    manifest.write_text(manifest.read_text() + " ")
    assert measured(app)[SMALL]["cost_usd"] == pytest.approx(expected_cost(demo_copy, SMALL))
    assert measured(app)[SMALL]["cost_usd"] > before


def runs_of(root: Path, name: str) -> list[Path]:
    return sorted(p.parent for p in (root / name / "runs").glob("*/*/run.json"))


def expected_cost(root: Path, name: str) -> float:
    """Tokens × price summed over every ledger line, by hand (not baes's cost functions)."""
    prices = load_design(root / name / "config.yaml").pricing
    total = 0.0
    for ledger in (root / name / "runs").glob("*/*/usage.jsonl"):
        for raw in ledger.read_text().splitlines():
            line = json.loads(raw)
            if not line["usage_reported"]:
                continue
            price = prices[line["model_served"] or line["model_requested"]]
            cached = line["cached_tokens"] or 0
            total += (
                (line["input_tokens"] - cached) * price.input
                + cached * price.cached_input
                + (line["output_tokens"] or 0) * price.output
            ) / 1e6
    return total


def expected_pass_rate(root: Path, name: str) -> float:
    rates = []
    for run in runs_of(root, name):
        record = json.loads((run / "run.json").read_text())
        totals = record["totals"]
        if record["status"] == "completed" and totals["checks_total"]:
            rates.append(totals["checks_passed"] / totals["checks_total"])
    return sum(rates) / len(rates)


def measured(app: TestClient) -> dict:
    """/totals.json once every experiment's totals are measured (in the background)."""
    deadline = time.monotonic() + 30
    while True:
        totals = app.get("/totals.json").json()
        if not any(t["pending"] for t in totals.values()) or time.monotonic() > deadline:
            return totals
        time.sleep(0.05)


def test_experiments_page_lists_the_registry_with_cost_and_pass_rate(demo_root):
    app = client(demo_root)
    first = app.get("/")
    assert first.status_code == 200
    assert set(re.findall(r'<td><a href="/e/([^"]+)">', first.text)) == set(DEMO)
    totals = measured(app)
    for name in DEMO:
        assert totals[name]["cost_usd"] == pytest.approx(expected_cost(demo_root, name))
        assert totals[name]["mean_pass_rate"] == pytest.approx(expected_pass_rate(demo_root, name))
    page = app.get("/")
    for name in DEMO:
        row = re.search(
            rf'<tr>\s*<td><a href="/e/{name}">{name}</a></td>(.*?)</tr>', page.text, re.S
        )
        assert row, name
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
        assert cells[5] == f"${expected_cost(demo_root, name):,.4f}"
        assert cells[6] == f"{100 * expected_pass_rate(demo_root, name):.1f} %"
    assert "content-security-policy" in page.headers


def test_status_filter(demo_root):
    app = client(demo_root)
    assert SMALL in app.get("/?status=completed").text
    assert "No experiments with status created" in app.get("/?status=created").text
    bad = app.get("/?status=nonsense")
    assert bad.status_code == 400 and "unknown status" in bad.text


def test_experiment_page_shows_design_hash_runs_and_stopping_state(demo_root):
    page = client(demo_root).get(f"/e/{SMALL}")
    assert page.status_code == 200
    assert "config matches its hash" in page.text
    assert "scenario:" in page.text  # config.yaml itself
    for run in runs_of(demo_root, SMALL):
        assert f'/e/{SMALL}/runs/{run.parent.name}/{run.name}"' in page.text
    progress = json.loads((demo_root / SMALL / ".meta" / "run-progress.json").read_text())
    for framework, state in progress["frameworks"].items():
        if state["stopped"]:
            assert f"stopped: {state['stopped']}" in page.text, framework
    state = client(demo_root).get(f"/e/{SMALL}/state.json").json()
    assert state["runs"] == len(runs_of(demo_root, SMALL)) and state["running"] == 0


def test_state_version_changes_when_a_run_is_written(demo_copy):
    app = client(demo_copy)
    before = app.get(f"/e/{SMALL}/state.json").json()["version"]
    manifest = demo_copy / SMALL / "runs" / "manifest.json"
    manifest.write_text(manifest.read_text() + " ")
    assert app.get(f"/e/{SMALL}/state.json").json()["version"] != before


def test_run_page_shows_steps_checks_logs_and_the_transcript(demo_root):
    run = runs_of(demo_root, SMALL)[0]
    page = client(demo_root).get(f"/e/{SMALL}/runs/{run.parent.name}/{run.name}")
    assert page.status_code == 200
    record = json.loads((run / "run.json").read_text())
    for step in record["steps"]:
        label = f"{step['index']:02d}-{step['id']}"
        assert f'id="step-{label}"' in page.text
        assert f"check {step['check']['status']}" in page.text
    assert "stdout.log" in page.text
    lines = read_transcript(run / TRANSCRIPT_FILE).lines
    ledger = (run / "usage.jsonl").read_text().splitlines()
    assert len(lines) == len(ledger) == page.text.count('class="call"')
    answer = lines[0].response.body["choices"][0]["message"]["content"]
    first_line = answer.strip().splitlines()[0]
    assert first_line.replace("'", "&#39;").replace('"', "&#34;")[:40] in page.text


def test_analysis_and_compare_pages_render_the_report_with_figures(demo_root):
    app = client(demo_root)
    page = app.get(f"/e/{SMALL}/analysis")
    assert page.status_code == 200
    assert "<table>" in page.text and "<h1>" in page.text
    figures = re.findall(r'<img src="([^"]+)"', page.text)
    assert figures and all(f.startswith(f"/e/{SMALL}/analysis/files/figures/") for f in figures)
    image = app.get(figures[0])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
    index = app.get("/compare")
    (name,) = re.findall(r'<a href="/compare/([^"]+)">', index.text)
    compared = app.get(f"/compare/{name}")
    assert compared.status_code == 200 and "<table>" in compared.text
    image = re.findall(r'<img src="([^"]+)"', compared.text)[0]
    assert app.get(image).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        f"/e/{SMALL}/analysis/files/figures/..%2f..%2fconfig.yaml",
        f"/e/{SMALL}/analysis/files/%2e%2e/config.yaml",
        f"/e/{SMALL}/analysis/files/..%2F..%2F..%2F.registry.json",
        "/e/%2e%2e/analysis",
        "/e/..%2f..%2fetc/analysis",
        f"/e/{SMALL}/runs/%2e%2e/%2e%2e",
        f"/e/{SMALL}/analysis/files/stats.json",  # inside, but not a figure
        f"/e/{SMALL}/analysis/files/.hidden.png",
        "/compare/%2e%2e/files/config.yaml",
        "/e/.meta",
    ],
)
def test_path_traversal_is_refused(demo_root, path):
    answer = client(demo_root).get(path)
    assert answer.status_code == 404, path
    assert "config:" not in answer.text and "schema_version" not in answer.text


def test_symlinks_out_of_the_root_are_not_followed(demo_copy, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\nSECRET")
    figures = demo_copy / SMALL / "analysis" / "figures"
    (figures / "leak.png").symlink_to(secret)
    (demo_copy / "linked").symlink_to(outside, target_is_directory=True)
    app = client(demo_copy)
    assert app.get(f"/e/{SMALL}/analysis/files/figures/leak.png").status_code == 404
    assert app.get("/e/linked").status_code == 404
    # A symlink that stays inside the root is served.
    (figures / "alias.png").symlink_to(next(figures.glob("*.png")))
    assert app.get(f"/e/{SMALL}/analysis/files/figures/alias.png").status_code == 200


def test_user_supplied_strings_are_escaped(cli, root):
    evil = '<script>alert("x")</script>'
    flags = ["--model", "sim-small", "--frameworks", "reference", "--scenario", "hello"]
    assert cli("new", "evil", *flags, "--description", evil).exit_code == 0
    page = client(root).get("/e/evil")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_transcript_text_is_escaped_and_markdown_cannot_inject(demo_copy):
    run = runs_of(demo_copy, SMALL)[0]
    evil = "<img src=x onerror=alert(1)> [click](javascript:alert(1))\n\n```\n<script>x()</script>\n```"
    append_transcript_line(
        run / TRANSCRIPT_FILE,
        TranscriptLine(
            step="01-greet",
            call=99,
            ts_start="2026-01-01T00:00:00Z",
            endpoint="/v1/chat/completions",
            request={"messages": [{"role": "user", "content": evil}]},
            response=TranscriptResponse(
                status_code=200, stream=False, body=None, usage=None, latency_s=0.1, error=None
            ),
        ),
    )
    page = client(demo_copy).get(f"/e/{SMALL}/runs/{run.parent.name}/{run.name}")
    assert page.status_code == 200
    assert "<img src=x" not in page.text and "<script>x()" not in page.text
    assert 'href="javascript:' not in page.text
    assert "&lt;script&gt;x()&lt;/script&gt;" in page.text  # shown, in a code block


def test_a_foreign_host_header_is_refused(demo_root):
    # DNS rebinding: a page of another site must not be able to read the root through the browser.
    answer = client(demo_root).get("/", headers={"host": "evil.example"})
    assert answer.status_code == 400


def test_only_reading_methods(demo_root):
    assert client(demo_root).post("/").status_code == 405


def test_a_running_run_page_reloads_itself(demo_copy):
    run = runs_of(demo_copy, SMALL)[0]
    record = json.loads((run / "run.json").read_text())
    record.update(status="running", ended_at=None, steps=[], error=None)
    (run / "run.json").write_text(json.dumps(record))
    page = client(demo_copy).get(f"/e/{SMALL}/runs/{run.parent.name}/{run.name}")
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in page.text
    assert page.text.count('class="call"') == len(read_transcript(run / TRANSCRIPT_FILE).lines)


def test_notes_and_tags_are_shown_and_tags_filter(cli, demo_copy):
    assert cli("tag", SMALL, "baseline", "paper", "--root", demo_copy).exit_code == 0
    assert cli("tag", DEMO[1], "paper", "--root", demo_copy).exit_code == 0
    note = "ran on the <b>old</b> simulator\nsecond line"
    assert cli("note", SMALL, note, "--root", demo_copy).exit_code == 0
    app = client(demo_copy)
    listed = app.get("/").text
    assert '<a class="tag" href="/?tag=baseline">baseline</a>' in listed
    only = app.get("/?tag=baseline").text
    assert re.findall(r'<td><a href="/e/([^"]+)">', only) == [SMALL]
    both = app.get("/?tag=paper&tag=baseline").text
    assert re.findall(r'<td><a href="/e/([^"]+)">', both) == [SMALL]
    assert len(re.findall(r'<td><a href="/e/([^"]+)">', app.get("/?tag=paper").text)) == 2
    assert "No experiments tagged nothing-here" in app.get("/?tag=nothing-here").text
    assert app.get("/?tag=Bad%20Tag").status_code == 400
    page = app.get(f"/e/{SMALL}").text
    assert 'id="tags"' in page and ">paper</a>" in page
    assert "ran on the &lt;b&gt;old&lt;/b&gt; simulator\nsecond line" in page


def test_a_damaged_annotations_file_is_named_not_fatal(demo_copy):
    (demo_copy / SMALL / ".meta" / "annotations.json").write_text("{not json")
    app = client(demo_copy)
    listed = app.get("/")
    assert listed.status_code == 200 and "annotations.json" in listed.text
    assert SMALL in listed.text
    page = app.get(f"/e/{SMALL}")
    assert page.status_code == 200 and "not a baes annotations file" in page.text
