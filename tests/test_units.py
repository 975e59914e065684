"""The syntaxes of speeds, durations and offsets: parsed once, for every command."""

from datetime import datetime, timedelta, timezone

import pytest

from velib_replay.units import (
    format_bytes,
    format_duration,
    parse_duration,
    parse_offset,
    parse_spark_interval,
    parse_speed,
    spark_interval_seconds,
)


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


SPARK_INTERVALS = [
    "1 month",
    "1 year",
    "2 weeks",
    "1 day",
    "interval 1 hour 30 minutes",
    "1.5 seconds",
    "500 milliseconds",
]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1 month", 31 * 86400),
        ("2 years", 2 * 12 * 31 * 86400),
        ("interval 1 hour 30 minutes", 5400),
        ("1.5 seconds", 1.5),
    ],
)
def test_spark_intervals_count_as_spark_does(text, seconds):
    assert spark_interval_seconds(text) == seconds


@pytest.mark.parametrize("text", ["1.5 hours", "soon", "2 fortnights", "-1 day", ""])
def test_bad_spark_intervals_are_rejected(text):
    with pytest.raises(ValueError, match="interval"):
        spark_interval_seconds(text)


def test_a_trigger_interval_refuses_calendar_units():
    assert parse_spark_interval("1 month") == "1 month"
    with pytest.raises(ValueError, match="months or years"):
        parse_spark_interval("1 month", calendar=False)


@pytest.mark.integration
@pytest.mark.parametrize("text", SPARK_INTERVALS)
def test_spark_interval_seconds_is_spark_own_watermark_delay(text, velib_spark):
    """The verifier computes what the job's watermark drops: the delay must be Spark's, months included."""
    jvm = velib_spark.sparkContext._jvm
    interval = jvm.org.apache.spark.sql.catalyst.util.IntervalUtils.stringToInterval(
        jvm.org.apache.spark.unsafe.types.UTF8String.fromString(text)
    )
    delay_ms = jvm.org.apache.spark.sql.catalyst.plans.logical.EventTimeWatermark.getDelayMs(interval)
    assert spark_interval_seconds(text) * 1000 == pytest.approx(delay_ms)
