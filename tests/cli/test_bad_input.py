"""Bad options of `sim serve`, `proxy serve` and `list`: one line and exit 2 (bad input) or 1
(failed work), never a traceback and never a server bound somewhere else than asked."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import run_baes

UPSTREAM = "http://127.0.0.1:9/v1"


def _one_error_line(result) -> str:
    """The stderr of a refused command: an `error:` line, at most a hint, no traceback."""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) <= 2, result.stderr
    assert all(line.startswith("hint: ") for line in lines[1:]), result.stderr
    assert result.stdout == ""
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["sim", "serve"],
        ["proxy", "serve", "--upstream", UPSTREAM, "--ledger", "usage.jsonl"],
    ],
)
def test_a_port_out_of_range_is_refused_with_exit_2(command, tmp_path):
    # Before: `sim serve --port 70000` served on port 4464 (getaddrinfo wraps the number).
    result = run_baes(*command, "--port", "70000", cwd=tmp_path, timeout=20)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "70000" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_sim_serve_refuses_an_unknown_host_with_exit_2_and_one_line():
    # Before: uvicorn's "ERROR: [Errno -2]" log line, then "exited during start-up", exit 1.
    result = run_baes("sim", "serve", "--host", "not-a-host.invalid", timeout=20)
    assert result.returncode == 2
    assert "not-a-host.invalid" in _one_error_line(result)


def test_proxy_serve_has_no_host_option_and_says_so_with_exit_2(tmp_path):
    proxy = ["proxy", "serve", "--upstream", UPSTREAM, "--ledger", "u.jsonl"]
    result = run_baes(*proxy, "--host", "x", cwd=tmp_path, timeout=20)
    assert result.returncode == 2 and "--host" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def busy_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_sim_serve_on_a_port_in_use_exits_1_with_one_line(busy_port):
    result = run_baes("sim", "serve", "--port", str(busy_port), timeout=20)
    assert result.returncode == 1
    assert f"127.0.0.1:{busy_port} is already in use" in _one_error_line(result)


def test_proxy_serve_on_a_port_in_use_exits_1_with_one_line(busy_port, tmp_path):
    proxy = ["proxy", "serve", "--upstream", UPSTREAM, "--ledger", str(tmp_path / "u.jsonl")]
    result = run_baes(*proxy, "--port", str(busy_port), timeout=20)
    assert result.returncode == 1
    assert f"127.0.0.1:{busy_port} is already in use" in _one_error_line(result)


def test_proxy_serve_refuses_a_ledger_that_is_a_directory_with_exit_2(tmp_path):
    # Before: exit 1 ("cannot open ledger …: Is a directory"), as if the work had failed.
    result = run_baes(
        "proxy", "serve", "--upstream", UPSTREAM, "--ledger", str(tmp_path), timeout=20
    )
    assert result.returncode == 2
    assert f"--ledger {tmp_path} is a directory" in _one_error_line(result)


def test_list_refuses_an_unknown_status_with_exit_2_and_the_valid_choices(cli, root):
    # Before: exit 0 and "no experiments with status 'nope'".
    result = cli("list", "--status", "nope")
    assert result.exit_code == 2
    assert result.stdout == ""
    line = result.stderr.strip()
    assert "'nope'" in line and len(line.splitlines()) == 1
    for status in ("created", "incomplete", "completed", "config-changed", "broken"):
        assert status in line


def test_list_accepts_every_status_it_can_show(cli, root):
    from baes.cli.listing import STATUSES

    for status in STATUSES:
        assert cli("list", "--status", status).exit_code == 0


BOX = set("╭╮╰╯│─")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["sim", "serve", "--port", "70000"], ["'--port'", "70000", "0<=x<=65535"]),
        (["run", "exp", "--jobs", "0"], ["'--jobs'", "0 is not in the range x>=1"]),
        (["run", "exp", "--jobs", "many"], ["'--jobs'", "'many'"]),
        (["run"], ["missing argument 'NAME'"]),
        (["show"], ["missing argument 'NAME'"]),
        (["list", "--bogus"], ["no such option", "--bogus"]),
        (["nosuch"], ["no such command 'nosuch'"]),
        (["sim", "serve", "stray"], ["unexpected extra argument", "stray"]),
    ],
)
def test_values_typer_refuses_end_in_one_error_line_and_exit_2(args, says, tmp_path):
    # Before: click's usage line, a "Try" line and a boxed "Error" panel (five lines).
    result = run_baes(*args, env={"BAES_ROOT": str(tmp_path)}, timeout=20)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and all(part in line for part in says), line
    command = " ".join(["baes", *args[: 2 if args[0] == "sim" else 1]])
    help_of = "baes" if args == ["nosuch"] else command
    assert line.endswith(f"(see '{help_of} --help')"), line
    assert not BOX & set(result.stderr) and result.stdout == ""


def test_help_version_and_no_arguments_keep_their_output_and_exit_codes():
    helped = run_baes("run", "--help", timeout=20)
    assert helped.returncode == 0 and "Usage: baes run [OPTIONS] NAME" in helped.stdout
    assert helped.stderr == ""
    version = run_baes("--version", timeout=20)
    assert version.returncode == 0 and version.stdout.startswith("baes ")
    # `baes sim` alone prints its help, as click does, with click's exit code 2.
    bare = run_baes("sim", timeout=20)
    assert bare.returncode == 2 and "Usage: baes sim" in bare.stdout and bare.stderr == ""


def test_a_refused_command_keeps_its_own_exit_code(tmp_path):
    # typer.Exit codes raised by a command (a BaesError: 2 for input) come through unchanged.
    result = run_baes("show", "nope", env={"BAES_ROOT": str(tmp_path)}, timeout=20)
    assert result.returncode == 2
    assert _one_error_line(result) == f"error: no experiment 'nope' under {tmp_path}"
