"""`run`, `analyze`, `compare` and `reconcile` on an experiment root they cannot write: one line
naming the path, exit 1, no traceback, nothing half-written.

Permission bits prove nothing when the tests run as root (root ignores them), so the file
systems are real ones set up in a private user and mount namespace (`unshare`): a read-only bind
mount of the root (EROFS), and a small tmpfs that fills up while the results are written
(ENOSPC). Those tests are skipped where the kernel allows no unprivileged namespaces; where
the tests do not run as root, folders without write permission (EACCES) are tried as well.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analysis.run_records import make_experiment, run_record, write_run
from tests.conftest import run_baes

NAMESPACE = ["unshare", "--user", "--map-root-user", "--mount"]


def _namespaces_work() -> bool:
    try:
        return subprocess.run([*NAMESPACE, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


needs_namespaces = pytest.mark.skipif(
    not _namespaces_work(), reason="needs unshare and unprivileged user+mount namespaces"
)


def _experiments(root: Path) -> None:
    """Two experiments of two frameworks with five completed runs each (analysable)."""
    for name, shift in (("alpha", 0), ("beta", 200)):
        paths, config = make_experiment(root, name, frameworks=["reference", "reference-plan"])
        for index in range(10):
            framework = list(config.frameworks)[index % 2]
            tokens = 1000 + shift + 37 * index + (300 if framework == "reference-plan" else 0)
            write_run(paths, run_record(config, framework, index + 1, input_tokens=tokens))


def _baes_in_namespace(
    setup: str, root: Path, args: list[str], out: Path
) -> subprocess.CompletedProcess[str]:
    """`baes ARGS --root ROOT` after the shell commands `setup`, inside a private namespace.

    The namespace's mounts vanish with it, so the root as the command left it is copied to
    `out/after` before the namespace ends.
    """
    q = shlex.quote
    command = " ".join(q(a) for a in [sys.executable, "-m", "baes", *args, "--root", str(root)])
    script = (
        f"set -e\n{setup}\nstatus=0\n{command} || status=$?\n"
        f"cp -a {q(str(root))} {q(str(out / 'after'))}\nexit $status"
    )
    return subprocess.run(
        [*NAMESPACE, "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _assert_one_line_naming(result: subprocess.CompletedProcess[str], root: Path, reason: str):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) <= 2, result.stderr
    assert all(line.startswith("hint: ") for line in lines[1:]), result.stderr
    assert str(root) in lines[0] and reason in lines[0], lines[0]


COMMANDS = pytest.mark.parametrize(
    "args",
    [
        ["run", "alpha"],
        # Without figures, to stay fast: the first file written fails all the same.
        ["analyze", "alpha", "--no-figures"],
        ["compare", "alpha", "beta", "--no-figures"],
        ["reconcile", "alpha"],
    ],
    ids=lambda args: args[0],
)


@needs_namespaces
@COMMANDS
def test_a_read_only_root_gives_one_line_naming_the_path_and_exit_1(tmp_path, args):
    root = tmp_path / "experiments"
    _experiments(root)
    before = _snapshot(root)
    quoted = shlex.quote(str(root))
    read_only = f"mount --bind {quoted} {quoted}\nmount -o remount,ro,bind {quoted} {quoted}"

    result = _baes_in_namespace(read_only, root, args, tmp_path)

    # Before: a traceback ending in OSError: [Errno 30] Read-only file system.
    _assert_one_line_naming(result, root, "Read-only file system")
    assert _snapshot(tmp_path / "after") == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
@COMMANDS
def test_a_root_without_write_permission_gives_one_line_naming_the_path_and_exit_1(tmp_path, args):
    # Where namespaces are not allowed (CI runners) but the tests do not run as root.
    root = tmp_path / "experiments"
    _experiments(root)
    before = _snapshot(root)
    folders = [root, *(p for p in root.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        result = run_baes(*args, "--root", str(root), timeout=120)
    finally:
        for folder in folders:
            folder.chmod(0o755)

    _assert_one_line_naming(result, root, "Permission denied")
    assert _snapshot(root) == before


def _complete(name: str, data: bytes) -> bool:
    """A PNG ends with its IEND chunk; a JSON file parses."""
    if name.endswith(".png"):
        return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    if name.endswith(".json"):
        json.loads(data)
    return True


@needs_namespaces
def test_a_disk_that_fills_up_while_analyze_writes_gives_one_line_and_leaves_no_partial_file(
    tmp_path,
):
    source = tmp_path / "experiments"
    _experiments(source)
    disk = tmp_path / "small-disk"
    disk.mkdir()
    root = disk / "experiments"
    q = shlex.quote
    # A 1 MiB tmpfs holding the experiments, then filled until 48 KiB are left: the first
    # results fit, a later one meets ENOSPC partway through.
    full_disk = "\n".join(
        [
            f"mount -t tmpfs -o size=1m tmpfs {q(str(disk))}",
            f"cp -a {q(str(source))} {q(str(root))}",
            f"dd if=/dev/zero of={q(str(disk / 'filler'))} bs=4k 2>/dev/null || true",
            f"truncate -s -48k {q(str(disk / 'filler'))}",
        ]
    )

    result = _baes_in_namespace(full_disk, root, ["analyze", "alpha"], tmp_path)

    _assert_one_line_naming(result, root, "No space left on device")
    assert str(root / "alpha" / "analysis") in result.stderr  # it failed writing the results
    after = _snapshot(tmp_path / "after")
    assert not [name for name in after if name.endswith(".tmp")]
    # Whatever was written before the disk filled up is whole.
    written = {name: data for name, data in after.items() if name not in _snapshot(source)}
    assert all(_complete(name, data) for name, data in written.items())
