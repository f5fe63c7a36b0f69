"""Checks the harness cannot run are `error`, not failures of the framework: through the real CLI.

A check declares what it imports (`check_requires`); what baes's own Python lacks is installed in
a cached virtual environment built before the first run. Here pip is pointed at a closed local
port, so nothing is downloaded: a requirement that cannot be installed makes the checks needing
it errors, said up front, shown by `run`, `show` and the report, and left out of CHECK_PASS_RATE.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from baes.frameworks.check_envs import build_commands
from baes.frameworks.environments import (
    environment_key,
    environments_dir,
    is_complete,
    setup_log_path,
)

MISSING = "baes_no_such_module_xyz"


@pytest.fixture
def offline_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty baes cache, and pip asking a closed local port (fails fast, never the network)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BAES_CACHE_DIR", str(cache))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    # Setup commands inherit pip's settings (an allow-list: PIP_CONFIG_FILE, PIP_RETRIES, ...):
    # without this file pip retries the closed port 5 times with back-off, ~8 s per build.
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nretries = 0\ntimeout = 2\nno-cache-dir = true\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    return cache


def _design(tmp_path: Path, name: str, steps: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nmodel: sim-small\n"
        "frameworks:\n  tool: {adapter: command, step: 'touch out.txt'}\n"
        f"scenario:\n  name: custom\n  steps:\n{steps}"
        "runs: {min: 2, max: 2}\nanalysis: {bootstrap_samples: 200}\n"
    )
    return path


def _step(step_id: str, check: str, requires: str | None = None) -> str:
    text = f"    - id: {step_id}\n      prompt: go\n      check: {check}\n"
    if requires is not None:
        text += f"      check_requires: {requires}\n"
    return text


def _records(root: Path, name: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / name / "runs").glob("*/*/run.json"))]


def test_checks_that_cannot_run_are_errors_left_out_of_the_pass_rate(
    cli, root, tmp_path, offline_pip
):
    steps = (
        _step("needs", f"python -c 'import {MISSING}'", f"[{MISSING}]")
        + _step("nocmd", "baes-no-such-command-xyz --check")
        + _step("fails", "test -f nothing-here.txt")
        + _step("passes", "test -f out.txt")
    )
    assert cli("new", "--config", _design(tmp_path, "mixed", steps)).exit_code == 0

    result = cli("run", "mixed")
    assert result.exit_code == 0, result.stderr
    # Said before the first run starts, with the step it concerns and pip's own last words.
    notice = result.stderr.index("the checks of step(s) needs cannot run")
    assert notice < result.stderr.index("run ") and MISSING in result.stderr
    assert "2 errored" in result.stderr

    records = _records(root, "mixed")
    assert len(records) == 2 and {r["status"] for r in records} == {"completed"}
    for record in records:
        checks = {s["id"]: s["check"] for s in record["steps"]}
        assert checks["needs"]["status"] == "error" and checks["needs"]["exit_code"] is None
        assert "check environment unavailable" in checks["needs"]["error_reason"]
        assert MISSING in checks["needs"]["error_reason"]
        assert checks["nocmd"]["status"] == "error" and checks["nocmd"]["exit_code"] == 127
        assert "not found (exit 127)" in checks["nocmd"]["error_reason"]
        assert checks["fails"]["status"] == "failed" and checks["fails"]["error_reason"] is None
        assert checks["passes"]["status"] == "passed"
        assert record["totals"]["checks_total"] == 4
        assert record["totals"]["checks_errored"] == 2
        assert record["totals"]["checks_passed"] == 1
        where = record["environment"]["checks"]
        assert where["needs"].startswith("unavailable: could not build a check environment")
        assert where["nocmd"].startswith("baes's own Python (")
    run_dir = root / "mixed/runs/tool" / records[0]["run_id"]
    assert "check not run" in (run_dir / "steps/01-needs/check.log").read_text()

    show = cli("show", "mixed")
    assert "tool: 2 passed, 2 failed, 4 could not run (error)" in show.stdout
    shown = json.loads(cli("show", "mixed", "--json").stdout)["checks"]["tool"]
    assert (shown["passed"], shown["failed"], shown["error"]) == (2, 2, 4)

    # One verdict passed, one failed: 0.5, not 1/4 (errors counted as failures) nor 1/3.
    assert cli("analyze", "mixed").exit_code == 0
    stats = json.loads((root / "mixed/analysis/stats.json").read_text())
    rate = stats["metrics"]["CHECK_PASS_RATE"]["descriptives"]["tool"]
    assert rate["n"] == 2 and rate["mean"] == pytest.approx(0.5)
    report = (root / "mixed/analysis/report.md").read_text()
    section = report[report.index("## Checks that could not run") :]
    assert "4 check(s) in 2 analysed run(s)" in section
    assert "2 × the check's command was not found (exit 127)" in section


def test_a_run_whose_checks_all_errored_has_no_pass_rate_instead_of_zero(
    cli, root, tmp_path, offline_pip
):
    steps = _step("needs", f"python -c 'import {MISSING}'", f"[{MISSING}]") + _step(
        "nocmd", "baes-no-such-command-xyz"
    )
    assert cli("new", "--config", _design(tmp_path, "broken", steps)).exit_code == 0
    assert cli("run", "broken").exit_code == 0
    # The failed build left its log in the cache, not an environment that looks usable.
    env_dir = environments_dir(offline_pip) / environment_key(build_commands((MISSING,)))
    assert "pip install" in setup_log_path(env_dir).read_text()
    assert not is_complete(env_dir)

    assert cli("analyze", "broken").exit_code == 0
    stats = json.loads((root / "broken/analysis/stats.json").read_text())
    rate = stats["metrics"]["CHECK_PASS_RATE"]["descriptives"]["tool"]
    assert rate["n"] == 0 and rate["mean"] is None
    [(reason, count)] = stats["exclusions"]["CHECK_PASS_RATE"]["tool"].items()
    assert count == 2 and reason.startswith("every check of this run was an error of the harness")
    assert "check environment unavailable" in reason
    report = (root / "broken/analysis/report.md").read_text()
    assert "2 run(s) left out (2 × every check of this run was an error" in report


def test_requirements_baes_python_has_are_used_in_place_without_building(
    cli, root, tmp_path, offline_pip
):
    # httpx is one of baes's own dependencies: nothing is installed, the check just runs.
    steps = _step("uses", "python -c 'import httpx'", '["httpx>=0.27"]')
    assert cli("new", "--config", _design(tmp_path, "inplace", steps)).exit_code == 0
    result = cli("run", "inplace")
    assert result.exit_code == 0 and "building the check environment" not in result.stderr
    env_dir = environments_dir(offline_pip) / environment_key(build_commands(("httpx>=0.27",)))
    assert not env_dir.exists() and not setup_log_path(env_dir).exists()
    assert {r["totals"]["checks_passed"] for r in _records(root, "inplace")} == {1}


def _wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel of a distribution `baes-probe` (module baes_probe), offline."""
    files = {
        "baes_probe/__init__.py": "WHERE = 'probe'\n",
        "baes_probe-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: baes-probe\nVersion: 1.0\n",
        "baes_probe-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append("baes_probe-1.0.dist-info/RECORD,,")
    files["baes_probe-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    path = folder / "baes_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_a_missing_requirement_is_installed_once_in_a_cached_environment_first_on_path(
    cli, root, tmp_path, offline_pip
):
    wheel = _wheel(tmp_path)
    # The check proves it runs in the built environment: its python is that venv's.
    check = (
        "\"python -c 'import baes_probe, sys; assert sys.prefix != sys.base_prefix; "
        "print(sys.prefix)'\""
    )
    steps = _step("probe", check, f'["baes-probe @ {wheel.as_uri()}"]')
    assert cli("new", "--config", _design(tmp_path, "probe", steps)).exit_code == 0
    result = cli("run", "probe")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("building the check environment") == 1
    records = _records(root, "probe")
    assert {r["steps"][0]["check"]["status"] for r in records} == {"passed"}
    env_dir = environments_dir(offline_pip) / environment_key(
        build_commands((f"baes-probe @ {wheel.as_uri()}",))
    )
    assert is_complete(env_dir)
    log = root / "probe/runs/tool" / records[0]["run_id"] / "steps/01-probe/check.log"
    assert str(env_dir) in log.read_text()
    # run.json names the versions the check got, read from that environment itself.
    assert records[0]["environment"]["checks"] == {
        "probe": f"virtual environment {env_dir} with baes-probe 1.0"
    }

    # A later `baes run` of another experiment with the same requirements reuses it.
    assert cli("new", "probe2", "--from", "probe").exit_code == 0
    again = cli("run", "probe2")
    assert again.exit_code == 0 and "building the check environment" not in again.stderr


# A prompt the simulator answers with a file, so the step itself succeeds.
GREET = "Create a Python module `greeting.py` with a function `greet(name)` returning a greeting."


def test_repair_mode_does_not_ask_the_model_to_fix_a_check_that_could_not_run(cli, root, tmp_path):
    path = tmp_path / "repair.yaml"
    path.write_text(
        "name: repair\nmodel: sim-small\nframeworks:\n  fixer: {adapter: builtin, mode: repair}\n"
        "scenario:\n  name: custom\n  steps:\n"
        + _step("one", "baes-no-such-command-xyz").replace("prompt: go", f"prompt: {GREET}")
        + _step("two", "exit 1").replace("prompt: go", f"prompt: {GREET}")
        + "runs: {min: 1, max: 1}\n"
    )
    assert cli("new", "--config", path).exit_code == 0
    assert cli("run", "repair").exit_code == 0
    [record] = _records(root, "repair")
    one, two = record["steps"]
    # An error: no repair round (the harness is at fault, no code change can fix it).
    assert one["check"]["status"] == "error" and one["attempts"] == 1
    # A genuine failure still gets its two repair rounds.
    assert two["check"]["status"] == "failed" and two["attempts"] == 3
