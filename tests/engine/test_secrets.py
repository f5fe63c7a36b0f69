"""Keys stay in baes (issue 10, items 1 and 2), through the real `baes run`.

1. The variables the design names as keys never reach a framework, its setup or a check,
   whatever they are called (here LLM_AUTH and USAGE_READER, names no pattern recognises).
2. A key the provider echoes back (a 401 "Incorrect API key provided: …") is in no file under the
   experiments root and not in what the CLI prints.
"""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from baes.llm.loopback_server import LoopbackServer
from baes.redaction import REDACTED, redact

PROVIDER_KEY = "lk-live-Zx81QoPq77aRtuVw"  # not sk-shaped: only its value can find it
ADMIN_KEY = "ur-admin-Hq52LmNn09sDfgKj"


def files_holding(root: Path, secret: str) -> list[str]:
    """The files under `root` (and members of its workspace archives) whose bytes hold `secret`."""
    needle, found = secret.encode(), []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if needle in data:
            found.append(str(path))
        if path.name.endswith(".tar.gz"):
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                for member in archive.getmembers():
                    if member.isfile() and needle in archive.extractfile(member).read():
                        found.append(f"{path}:{member.name}")
    return found


def archived_file(root: Path, name: str) -> str:
    [archive] = root.rglob("workspace.tar.gz")
    with tarfile.open(archive, mode="r:gz") as tar:
        return tar.extractfile(f"workspace/{name}").read().decode()


def test_keys_under_innocent_names_never_reach_a_framework_its_setup_or_its_checks(
    cli, root, tmp_path, monkeypatch
):
    monkeypatch.setenv("LLM_AUTH", PROVIDER_KEY)
    monkeypatch.setenv("USAGE_READER", ADMIN_KEY)
    monkeypatch.setenv("BAES_CACHE_DIR", str(tmp_path / "cache"))
    design = tmp_path / "exp.yaml"
    design.write_text(
        "name: exp\nmodel: sim-small\n"
        "provider: {kind: sim, api_key_env: LLM_AUTH, admin_key_env: USAGE_READER}\n"
        "frameworks:\n"
        "  leaky:\n"
        "    adapter: command\n"
        "    setup: ['env > {env}/setup-env.txt']\n"
        "    step: 'env > env.txt && echo hi > out.txt'\n"
        "    env: {TOOL_SETTING: '{model}'}\n"
        "scenario:\n  name: custom\n  steps:\n"
        "    - id: one\n      prompt: Write a file\n      check: env > check-env.txt\n"
        "runs: {min: 1, max: 1}\n"
    )
    assert cli("new", "--config", design).exit_code == 0
    result = cli("run", "exp")
    assert result.exit_code == 0, result.stdout + result.stderr

    step_env = archived_file(root, "env.txt")
    check_env = archived_file(root, "check-env.txt")
    [setup_env] = (tmp_path / "cache").rglob("setup-env.txt")
    # What they did get: the allow-list, the proxy, and what the design gives them.
    assert "\nPATH=" in "\n" + step_env and "TOOL_SETTING=sim-small" in step_env
    assert "OPENAI_BASE_URL=http://127.0.0.1:" in step_env
    assert "\nPATH=" in "\n" + check_env and "\nPATH=" in "\n" + setup_env.read_text()
    for key in (PROVIDER_KEY, ADMIN_KEY):
        assert files_holding(root, key) == []
        assert key not in setup_env.read_text()
    for name in ("LLM_AUTH", "USAGE_READER"):
        assert f"{name}=" not in step_env + check_env + setup_env.read_text()


class EchoingProvider:
    """A provider that lists its models (so baes's preflight passes) but refuses every model
    call with 401 and quotes the key it was sent, as a key without access to the model gets."""

    def __init__(self) -> None:
        self.echoed = 0
        self._lock = threading.Lock()
        models = Route("/v1/models", self._models, methods=["GET"])
        refuse = Route("/{rest:path}", self._refuse, methods=["GET", "POST"])
        self._server = LoopbackServer(Starlette(routes=[models, refuse]))

    async def _models(self, request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "gpt-test", "object": "model"}]})

    async def _refuse(self, request: Request) -> JSONResponse:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            self.echoed += sent == PROVIDER_KEY
        message = f"Incorrect API key provided: {sent}. You can find your API key at https://x."
        error = {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}
        return JSONResponse({"error": error}, status_code=401)

    def __enter__(self) -> EchoingProvider:
        self._server.start()
        self.base_url = self._server.url + "/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


# Prints the provider's whole answer to stdout and stderr and keeps it in the workspace, as a
# chatty framework would; then says it failed, with a key of its own on its last stderr line.
ECHO_FRAMEWORK = """\
import os, sys, urllib.request, urllib.error
request = urllib.request.Request(
    os.environ["OPENAI_BASE_URL"] + "/chat/completions",
    data=b'{"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}',
    headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"],
             "Content-Type": "application/json"},
)
try:
    urllib.request.urlopen(request)
except urllib.error.HTTPError as error:
    body = error.read().decode()
    print(body)
    open("answer.txt", "w").write(body)
    print(body, file=sys.stderr)
print("fatal: auth failed for sk-proj-Own0Secret1Of2The3Framework4", file=sys.stderr)
sys.exit(1)
"""


def test_a_key_the_provider_echoes_is_in_no_file_and_not_in_the_cli_output(
    cli, root, tmp_path, monkeypatch
):
    monkeypatch.setenv("LLM_AUTH", PROVIDER_KEY)
    monkeypatch.setenv("BAES_CACHE_DIR", str(tmp_path / "cache"))
    script = tmp_path / "echo_framework.py"
    script.write_text(ECHO_FRAMEWORK)
    with EchoingProvider() as provider:
        design = tmp_path / "exp.yaml"
        design.write_text(
            "name: exp\nmodel: gpt-test\n"
            f"provider: {{kind: openai, base_url: '{provider.base_url}', api_key_env: LLM_AUTH}}\n"
            "pricing: {gpt-test: {input: 1.0, output: 2.0}}\n"
            "frameworks:\n"
            "  reference: {adapter: builtin}\n"
            f"  chatty: {{adapter: command, step: '{{python}} {script}'}}\n"
            "scenario:\n  name: custom\n  steps:\n"
            "    - id: one\n      prompt: Write a file\n      check: test -f out.txt\n"
            "runs: {min: 2, max: 2}\nlimits: {max_consecutive_failures: 2}\n"
        )
        assert cli("new", "--config", design).exit_code == 0
        result = cli("run", "exp")
        analysis = cli("analyze", "exp")
        shown = cli("show", "exp")

    assert provider.echoed > 0  # the provider did answer with the key, again and again
    printed = "".join(r.stdout + r.stderr for r in (result, analysis, shown))
    assert files_holding(root, PROVIDER_KEY) == [] and PROVIDER_KEY not in printed
    assert files_holding(root, "Own0Secret1Of2The3Framework4") == []
    assert "Own0Secret1Of2The3Framework4" not in printed
    # The messages stay useful: what was refused is still said, the key replaced.
    assert files_holding(root, f"Incorrect API key provided: {REDACTED}") != []
    assert "Incorrect API key provided" in printed or "auth failed" in printed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Incorrect API key provided: sk-proj-abcDEF123456789xyz.", "sk-[redacted]."),
        ("key sk-ant-api03-AAAABBBBCCCCDDDD end", "key sk-[redacted] end"),
        ("masked sk-proj-********************abcd", "masked sk-[redacted]"),
        ("Authorization: Bearer abc.def-123_456-789xyz", "Authorization: Bearer [redacted]"),
        ("task-list and sk-learn-demo stay", "task-list and sk-learn-demo stay"),
        ("Bearer authentication failed", "Bearer authentication failed"),
    ],
)
def test_key_shaped_text_is_redacted_and_ordinary_text_is_not(text, expected):
    assert redact(text).endswith(expected)
