"""A command framework's `source` and its per-machine override BAES_SOURCE_<NAME>: validation,
resolution, what is hashed, and what the logs show."""

from __future__ import annotations

import json

import pytest

from baes.cli.completion import complete_frameworks
from baes.config.canonical import design_hash
from baes.config.models import CommandFrameworkConfig
from baes.config.presets import framework_document
from baes.config.yaml_io import load_design, to_plain, validate_design
from baes.frameworks.command import CommandAdapter
from baes.frameworks.environments import ensure_environment, setup_log_path
from baes.frameworks.sources import (
    FrameworkSource,
    FrameworkSourceError,
    displayed_location,
    resolve_source,
    source_variable,
)

SEED_PRESETS = ("baes", "chatdev", "metagpt", "spec-kit")


def _config(source: str | None = "https://example.org/fw.git") -> CommandFrameworkConfig:
    setup = ["git clone --quiet --no-checkout {source} {env}/src"] if source else []
    return CommandFrameworkConfig(adapter="command", setup=setup, step="true", source=source)


def test_the_variable_is_the_framework_name_upper_cased():
    assert source_variable("spec-kit") == "BAES_SOURCE_SPEC_KIT"
    assert source_variable("baes") == "BAES_SOURCE_BAES"
    assert source_variable("my.fw_2") == "BAES_SOURCE_MY_FW_2"


def test_the_design_source_is_used_unless_the_variable_overrides_it(tmp_path, monkeypatch):
    config = _config()
    resolved = resolve_source("fw", config, environ={})
    assert (resolved.location, resolved.origin) == ("https://example.org/fw.git", "design")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.chdir(tmp_path)
    # A relative path means the same folder when setup runs in the environment folder.
    resolved = resolve_source("fw", config, environ={"BAES_SOURCE_FW": "mirror"})
    assert (resolved.location, resolved.origin) == (str(mirror), "BAES_SOURCE_FW")
    for remote in ("https://mirror.example.org/fw.git", "git@mirror.example.org:team/fw.git"):
        assert resolve_source("fw", config, environ={"BAES_SOURCE_FW": remote}).location == remote


def test_unusable_overrides_are_input_errors(tmp_path):
    with pytest.raises(FrameworkSourceError, match="does not exist") as caught:
        resolve_source("fw", _config(), environ={"BAES_SOURCE_FW": str(tmp_path / "nope")})
    assert caught.value.exit_code == 2
    with pytest.raises(FrameworkSourceError, match="is empty"):
        resolve_source("fw", _config(), environ={"BAES_SOURCE_FW": " "})
    with pytest.raises(FrameworkSourceError, match="has no `source`"):
        resolve_source("fw", _config(None), environ={"BAES_SOURCE_FW": str(tmp_path)})
    assert resolve_source("fw", _config(None), environ={}) is None


def test_source_and_its_placeholder_go_together():
    with pytest.raises(ValueError, match="no setup command uses"):
        CommandFrameworkConfig(adapter="command", setup=["true"], step="true", source="x")
    with pytest.raises(ValueError, match="`source` is not set"):
        CommandFrameworkConfig(adapter="command", setup=["git clone {source} x"], step="true")
    with pytest.raises(ValueError, match="unknown placeholder"):
        CommandFrameworkConfig(adapter="command", step="echo {source}")


def test_url_credentials_are_masked():
    assert displayed_location("https://me:s3cr3t@git.example.org/fw.git") == (
        "https://***@git.example.org/fw.git"
    )
    assert displayed_location("https://ghp_t0ken@github.com/o/fw.git") == (
        "https://***@github.com/o/fw.git"
    )
    assert displayed_location("git@github.com:o/fw.git") == "git@github.com:o/fw.git"
    assert displayed_location("https://git.example.org/fw.git") == "https://git.example.org/fw.git"


def test_the_setup_log_and_marker_never_show_a_url_password(tmp_path):
    setup = ["printf '%s' {source} > fetched-from"]
    url = "https://me:s3cr3t@git.example.org/fw.git"
    env_dir = ensure_environment("fw", setup, tmp_path, source=FrameworkSource(url, "design"))
    assert (env_dir / "fetched-from").read_text() == "https://me:s3cr3t@git.example.org/fw.git"
    log = setup_log_path(env_dir).read_text()
    assert "https://***@git.example.org/fw.git" in log and "s3cr3t" not in log
    assert "s3cr3t" not in (env_dir / ".baes-complete").read_text()


def _design(source: str, commit: str = "a" * 40) -> dict:
    return {
        "name": "x",
        "model": "sim-small",
        "frameworks": {
            "fw": {
                "adapter": "command",
                "source": source,
                "setup": [
                    "git clone --quiet --no-checkout {source} {env}/src",
                    f"git -C {{env}}/src checkout --quiet --detach {commit}",
                ],
                "step": "true",
            }
        },
        "scenario": {"name": "s", "steps": [{"id": "a", "prompt": "p"}]},
        "pricing": {"sim-small": {"input": 1.0, "cached_input": 0.5, "output": 2.0}},
    }


def test_the_source_is_not_hashed_but_the_pinned_commit_is():
    upstream = design_hash(validate_design(_design("https://github.com/o/fw.git"), "test"))
    mirror = design_hash(validate_design(_design("/srv/mirrors/fw"), "test"))
    other_commit = design_hash(validate_design(_design("/srv/mirrors/fw", "b" * 40), "test"))
    assert upstream == mirror != other_commit


@pytest.mark.parametrize("preset", SEED_PRESETS)
def test_seed_presets_clone_their_source_and_check_out_a_full_commit(preset):
    config = CommandFrameworkConfig.model_validate(to_plain(framework_document(preset)))
    assert config.source and config.source.startswith("https://github.com/")
    assert config.setup[0] == "git clone --quiet --no-checkout {source} {env}/src"
    checkout = config.setup[1]
    commit = checkout.removeprefix("git -C {env}/src checkout --quiet --detach ")
    assert len(commit) == 40 and set(commit) <= set("0123456789abcdef"), checkout


def test_completion_offers_the_seed_presets():
    offered = complete_frameworks("")
    assert set(SEED_PRESETS) <= set(offered)
    assert complete_frameworks("reference,ch") == ["reference,chatdev"]
    assert "reference,spec-kit" in complete_frameworks("reference,s")


def test_the_original_command_creates_the_experiment(cli, root):
    result = cli(
        "new", "baseline_gpt4o", "--model", "gpt-4o", "--frameworks", "baes", "--runs", "10",
        "--scenario", "academic-crud", "--yes",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    design = load_design(root / "baseline_gpt4o" / "config.yaml")
    assert design.frameworks["baes"].source == "https://github.com/gesad-lab/baes_demo.git"
    assert design.pricing["gpt-4o"].input == 2.50  # the shipped price, $ per million tokens
    assert design.runs.max == 10


def test_run_records_name_the_source_the_cached_environment_was_built_from(tmp_path, monkeypatch):
    upstream, mirror = tmp_path / "upstream", tmp_path / "mirror"
    upstream.mkdir()
    mirror.mkdir()
    config = CommandFrameworkConfig(
        adapter="command",
        setup=["printf '%s' {source} > fetched-from"],
        step="true",
        source=str(upstream),
    )
    monkeypatch.delenv("BAES_SOURCE_FW", raising=False)
    adapter = CommandAdapter("fw", config)
    adapter.prepare(tmp_path / "cache")
    assert adapter.source_record() == {"location": str(upstream), "origin": "design"}
    # The override does not rebuild a cached environment, so the record keeps its true origin.
    monkeypatch.setenv("BAES_SOURCE_FW", str(mirror))
    adapter = CommandAdapter("fw", config)
    adapter.prepare(tmp_path / "cache")
    assert adapter.source_record() == {"location": str(upstream), "origin": "design"}
    adapter = CommandAdapter("fw", config)
    adapter.prepare(tmp_path / "other-cache")
    assert adapter.source_record() == {"location": str(mirror), "origin": "BAES_SOURCE_FW"}
    [fetched] = (tmp_path / "other-cache").glob("envs/*/fetched-from")
    assert fetched.read_text() == str(mirror)


def test_baes_run_refuses_a_missing_override_before_running_anything(tmp_path):
    from tests.conftest import run_baes

    design = tmp_path / "design.yaml"
    design.write_text(json.dumps(_design("https://github.com/o/fw.git")))
    env = {"BAES_ROOT": str(tmp_path / "exp"), "BAES_CACHE_DIR": str(tmp_path / "cache")}
    assert run_baes("new", "--config", str(design), "--yes", env=env).returncode == 0
    ran = run_baes("run", "x", env={**env, "BAES_SOURCE_FW": str(tmp_path / "missing")})
    assert ran.returncode == 2, ran.stderr
    assert f"BAES_SOURCE_FW names {str(tmp_path / 'missing')!r}, which does not exist" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert not (tmp_path / "exp" / "x" / "runs" / "fw").exists()
