"""The syntaxes of speeds, durations and offsets: parsed once, for every command."""

from datetime import datetime, timedelta, timezone

import pytest

from velib_replay.units import format_bytes, format_duration, parse_duration, parse_offset, parse_speed


@pytest.mark.parametrize(("text", "speed"), [("1x", 1.0), ("10x", 10.0), ("0.5x", 0.5), ("60", 60.0), ("max", None)])
def test_speeds(text, speed):
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0x", "-2x", "fast", "", "infx", "1e-300", "nanx"])
def test_bad_speeds_are_rejected(text):
    with pytest.raises(ValueError, match="speed"):
        parse_speed(text)


@pytest.mark.parametrize(("text", "seconds"), [("2h", 7200), ("90s", 90), ("1.5d", 129600), ("45", 45), ("500ms", 0.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["two hours", "-1h", "2w", "inf", "nan"])
def test_bad_durations_are_rejected(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_offsets_are_durations_or_times():
    assert parse_offset("3m") == timedelta(minutes=3)
    assert parse_offset("2025-10-18T09:15:00Z") == datetime(2025, 10, 18, 9, 15, tzinfo=timezone.utc)
    for bad in ("soon", "2025-10-18T09:15:00"):  # a time without a zone is ambiguous
        with pytest.raises(ValueError, match="offset"):
            parse_offset(bad)


def test_formats():
    assert format_duration(3725) == "1h02m05s" and format_duration(61) == "1m01s" and format_duration(2.5) == "2.5s"
    assert format_bytes(999) == "999 B" and format_bytes(25_500) == "25.5 KB" and format_bytes(3e9) == "3.0 GB"


def test_an_offset_too_large_for_any_recording_is_refused():
    with pytest.raises(ValueError, match="longer than any recording"):
        parse_offset("99999999999999999999999")
