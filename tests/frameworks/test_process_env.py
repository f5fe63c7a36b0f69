"""What a framework's or a check's process inherits: an allow-list, never the design's keys."""

from __future__ import annotations

from pathlib import Path

from baes.config.models import CommandFrameworkConfig
from baes.frameworks import adapter_for
from baes.frameworks.checks import run_check
from baes.frameworks.process_env import inherited_environ
from tests.frameworks.conftest import step_context

BASE_URL = "http://127.0.0.1:9/t/attribution-token/v1"
HOST = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/u",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HTTPS_PROXY": "http://proxy.test:3128",
    "SSL_CERT_FILE": "/etc/ca.pem",
    "PIP_INDEX_URL": "https://mirror.test/simple",
    "PIP_RETRIES": "0",
    "PIP_TIMEOUT": "2",
    "PIP_DEFAULT_TIMEOUT": "3",
    "PYTHONPATH": "/home/u/src",
    "EDITOR": "vim",
    "OPENAI_API_KEY": "sk-default-name-key-0123456789",
    "GITHUB_TOKEN": "ghp_0123456789",
}


def test_only_the_allow_list_is_inherited():
    env = inherited_environ(environ=HOST)
    assert env == {
        name: HOST[name]
        for name in (
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "HTTPS_PROXY",
            "SSL_CERT_FILE",
            "PIP_INDEX_URL",
            "PIP_RETRIES",
            "PIP_TIMEOUT",
            "PIP_DEFAULT_TIMEOUT",
        )
    }


def test_a_key_variable_is_withheld_even_under_an_allow_listed_name():
    # LC_AUTH matches the LC_* allow-list and no credential pattern: only its being named as
    # a key by the design keeps it out.
    host = {**HOST, "LC_AUTH": "innocent-looking-key-value"}
    assert "LC_AUTH" in inherited_environ(environ=host)
    assert "LC_AUTH" not in inherited_environ({"LC_AUTH"}, environ=host)


def test_a_command_framework_and_a_check_never_get_a_withheld_variable(
    workspace, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("LC_AUTH", "innocent-looking-key-value")
    monkeypatch.setenv("LC_COLLATE", "C")
    monkeypatch.setenv("PIP_RETRIES", "0")
    config = CommandFrameworkConfig(
        adapter="command", step="env > step-env.txt", setup=["env > {env}/setup-env.txt"]
    )
    adapter = adapter_for("tool", config, withheld_env={"LC_AUTH"})
    adapter.prepare(tmp_path / "cache")
    assert adapter.run_step(step_context(workspace, tmp_path / "logs", BASE_URL, prompt="p")).ok
    run_check(
        "env > check-env.txt", workspace, tmp_path / "check.log", 30, withheld_env={"LC_AUTH"}
    )

    [setup_env] = (tmp_path / "cache").rglob("setup-env.txt")
    for text in (
        setup_env.read_text(),
        (workspace / "step-env.txt").read_text(),
        (workspace / "check-env.txt").read_text(),
    ):
        assert "LC_COLLATE=C" in text  # the allow-list is inherited ...
        assert "PIP_RETRIES=0" in text  # (pip's own settings too: setup installs with them)
        assert "innocent-looking-key-value" not in text  # ... but never a withheld name
