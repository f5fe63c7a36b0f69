"""baes.clock: the one timestamp format of every baes file, written and read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baes.clock import parse_utc, utc_now


def test_utc_now_is_iso_utc_with_microseconds_and_a_z():
    stamp = utc_now()
    assert stamp.endswith("Z") and len(stamp) == len("2026-06-21T10:00:00.000000Z")
    assert abs(parse_utc(stamp) - datetime.now(UTC)) < timedelta(seconds=5)


def test_parse_utc_reads_z_offsets_and_naive_stamps_as_the_same_instant():
    expected = datetime(2026, 6, 21, 10, 0, 0, 123456, tzinfo=UTC)
    assert parse_utc("2026-06-21T10:00:00.123456Z") == expected
    assert parse_utc("2026-06-21T10:00:00.123456+00:00") == expected
    assert parse_utc("2026-06-21T12:00:00.123456+02:00") == expected
    assert parse_utc("2026-06-21T10:00:00.123456") == expected  # hand-written: taken as UTC
    assert parse_utc("2026-06-21T10:00:00.123456Z").timestamp() == expected.timestamp()


def test_parse_utc_rejects_what_is_not_a_timestamp():
    with pytest.raises(ValueError):
        parse_utc("yesterday")
