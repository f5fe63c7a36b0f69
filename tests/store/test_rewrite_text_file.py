"""store.atomic.rewrite_text_file: how step logs are rewritten without keys."""

from __future__ import annotations

from baes.store.atomic import rewrite_text_file


def test_a_changed_file_is_rewritten_and_undecodable_bytes_survive(tmp_path):
    path = tmp_path / "stderr.log"
    path.write_bytes(b"key sk-secret\n\xff\xfe binary tail\n")
    assert rewrite_text_file(path, lambda text: text.replace("sk-secret", "***")) is True
    assert path.read_bytes() == b"key ***\n\xff\xfe binary tail\n"


def test_an_unchanged_or_absent_file_is_left_alone(tmp_path):
    path = tmp_path / "stdout.log"
    path.write_text("nothing secret\n")
    before = path.stat().st_mtime_ns
    assert rewrite_text_file(path, lambda text: text) is False
    assert path.stat().st_mtime_ns == before
    assert rewrite_text_file(tmp_path / "missing.log", str.upper) is False
    assert not (tmp_path / "missing.log").exists()
