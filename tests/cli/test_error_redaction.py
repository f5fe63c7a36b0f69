"""The CLI's error and warning lines never show a key, whatever variable holds it."""

from __future__ import annotations

from baes.cli.console import print_error, print_warning
from baes.redaction import remember_key_names


def test_errors_and_warnings_are_printed_without_keys(capsys, monkeypatch):
    monkeypatch.setenv("BAES_TEST_CONSOLE_AUTH", "plain-looking-credential-77")
    remember_key_names(["BAES_TEST_CONSOLE_AUTH"])
    print_error(
        "the provider said: Incorrect API key provided: plain-looking-credential-77",
        hint="check sk-proj-AbCdEf0123456789xyz",
    )
    print_warning("retrying with Bearer plain-looking-credential-77")
    printed = capsys.readouterr().err
    assert "plain-looking-credential-77" not in printed and "AbCdEf0123456789" not in printed
    assert "Incorrect API key provided: [redacted]" in printed
    assert "sk-[redacted]" in printed and "Bearer [redacted]" in printed
