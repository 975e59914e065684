"""``info``: the statistics on recordings built here and on the bundled sample, and ``--repair``."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime

import pytest
from click.testing import CliRunner
from conftest import SAMPLE

from velib_replay.cli import main
from velib_replay.contracts.feed import minified
from velib_replay.recording import INDEX, INFO_FEED, STATUS_FEED, Poll, Recording, RecordingWriter
from velib_replay.recording.info import (
    describe,
    format_text,
    longest_gap,
    reason_category,
    repair,
    station_changes,
)
from velib_replay.units import parse_time


def body(clock: int, *codes: str) -> bytes:
    stations = [{"stationCode": code, "num_bikes_available": 1} for code in codes]
    return minified({"lastUpdatedOther": clock, "data": {"stations": stations}})


def at(minute: int, second: int = 0) -> datetime:
    return parse_time(f"2025-10-18T09:{minute:02d}:{second:02d}.000Z")


def build(path, polls: list[tuple[Poll, bytes | None]], compression: str = "gzip") -> Recording:
    writer = RecordingWriter(path, compression=compression)
    for poll, content in polls:
        writer.write(poll, content)
    return Recording(path)


def gap(minute: int, error: str) -> tuple[Poll, None]:
    return Poll(STATUS_FEED, at(minute), error=error, attempts=4), None


def ok(minute: int, content: bytes, **fields) -> tuple[Poll, bytes]:
    return Poll(STATUS_FEED, at(minute), status=200, **fields), content


@pytest.mark.parametrize(
    ("error", "category"),
    [
        ("HTTP 503 Service Unavailable (4 attempts)", "HTTP 503 Service Unavailable"),
        ("timeout: ReadTimeoutError: Read timed out. (4 attempts)", "timeout"),
        ("not JSON (Expecting value: line 1 column 1 (char 0))", "not JSON"),
        ("no data.stations list", "no data.stations list"),
        (None, "unknown"),
    ],
)
def test_reason_category(error, category):
    assert reason_category(error) == category


def test_longest_gap_is_timed_between_the_responses_around_it():
    def answered(minute: int) -> Poll:
        return Poll(STATUS_FEED, at(minute), body_file="stored")

    polls = [
        answered(0),
        gap(1, "x")[0],
        answered(2),
        gap(3, "x")[0],
        gap(4, "x")[0],
        answered(6),  # the next response came 4 minutes after the last one before the run
        gap(7, "x")[0],
    ]
    run = longest_gap(polls)
    assert (run.polls, run.seconds, run.start) == (2, 240.0, "2025-10-18T09:03:00.000Z")
    assert longest_gap([gap(0, "x")[0]]).polls == 1
    assert longest_gap([]).polls == 0


def test_station_changes_count_each_appearance_and_vanishing():
    changes = station_changes([frozenset("ab"), frozenset("a"), frozenset("a"), frozenset("abc"), frozenset("bc")])
    assert (changes.min_per_snapshot, changes.max_per_snapshot, changes.distinct) == (1, 3, 3)
    assert changes.vanished == {"b": 1, "a": 1}
    assert changes.appeared == {"b": 1, "c": 1}
    assert station_changes([]).min_per_snapshot is None


def test_the_sample_is_described_as_its_script_says(sample):
    info = describe(sample)
    assert (info.polls, info.snapshots, info.gaps, info.invalid) == (11, 11, 0, 0)
    assert (info.distinct_feed_times, info.repeated_snapshots) == (10, 1)
    assert (info.stations.min_per_snapshot, info.stations.max_per_snapshot, info.stations.distinct) == (
        1494,
        1495,
        1495,
    )
    assert info.stations.vanished == {"32017": 1} == info.stations.appeared
    assert info.span_s == 600 and info.compression == ["gzip"]
    assert info.feeds[INFO_FEED].bodies == 1
    assert 10 < info.compression_ratio < 20 and info.disk_bytes >= info.file_bytes > info.stored_bytes


def test_every_poll_is_accounted_for_with_its_reason(tmp_path):
    recording = build(
        tmp_path,
        [
            ok(0, body(100, "1", "2"), attempts=1),
            gap(1, "HTTP 503 Service Unavailable (4 attempts)"),
            gap(2, "timeout: Read timed out. (4 attempts)"),
            ok(3, b"<html>", attempts=1),
            ok(4, body(100, "1", "2"), attempts=2, latency_ms=950.0),
            ok(5, body(220, "1")[:20], error="truncated: body cut after 20 bytes (IncompleteRead)"),
            ok(6, body(220, "1")),
            (Poll(INFO_FEED, at(0), status=200), body(1, "1", "2")),
        ],
        compression="zstd",
    )
    info = describe(recording)
    assert (info.polls, info.snapshots, info.gaps, info.invalid) == (7, 3, 2, 2) and info.accounted
    assert info.gap_reasons == {"HTTP 503 Service Unavailable": 1, "timeout": 1}
    assert info.invalid_reasons == {"not JSON": 1, "truncated": 1}
    assert (info.repeated_snapshots, info.distinct_feed_times) == (1, 2)
    assert (info.longest_gap.polls, info.longest_gap.seconds) == (2, 180.0)
    assert info.stations.vanished == {"2": 1} and info.feeds[STATUS_FEED].retried == 3
    assert info.feeds[STATUS_FEED].retries == 3 + 3 + 1  # two gaps of 4 attempts, a body at the second
    assert (info.slowest_ms, info.slowest_at) == (950, "2025-10-18T09:04:00.000Z")
    text = format_text(info)
    assert "7 = 3 snapshots + 2 gaps + 2 invalid" in text and "DOES NOT ADD UP" not in text
    assert "retried polls    3 (7 retries)" in text and "slowest poll     950 ms, at 2025-10-18T09:04:00.000Z" in text
    assert "HTTP 503 Service Unavailable x1" in text and "vanished       1 (2)" in text
    document = info.as_json()
    assert document["accounted"] and document["compression"] == ["zstd"]
    json.dumps(document)


def test_an_empty_recording_is_described_not_a_crash(tmp_path):
    RecordingWriter(tmp_path)
    info = describe(Recording(tmp_path))
    assert info.polls == 0 and "time span        empty" in format_text(info)


def test_repair_rebuilds_the_index_and_reports_what_a_crash_left(tmp_path):
    build(tmp_path, [ok(0, body(1, "1")), ok(1, body(2, "1"))])
    index = tmp_path / INDEX
    index.write_text(index.read_text()[:-30])  # torn by a crash
    orphan = tmp_path / "2025-10-18" / "20251018T090200.000Z.station_status.json.gz"
    orphan.write_bytes(b"in flight")  # its meta file was never written
    old, fresh = tmp_path / "2025-10-18" / ".tmp-old", tmp_path / "2025-10-18" / ".tmp-fresh"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")  # could be a write in progress right now: kept
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    report = repair(tmp_path)
    assert report.polls == 2 and report.removed_temp_files == 1
    assert report.orphan_bodies == ["2025-10-18/20251018T090200.000Z.station_status.json.gz"]
    assert not old.exists() and fresh.exists() and orphan.exists()
    assert len(index.read_text().splitlines()) == 2


def test_cli_info_text_json_and_repair(tmp_path):
    runner = CliRunner()
    text = runner.invoke(main, ["info", str(SAMPLE)])
    assert text.exit_code == 0 and "11 = 11 snapshots + 0 gaps + 0 invalid" in text.output
    build(tmp_path, [ok(0, body(1, "1")), gap(1, "connection: refused (4 attempts)")])
    as_json = runner.invoke(main, ["info", str(tmp_path), "--json", "--repair"])
    assert as_json.exit_code == 0
    assert "Index rebuilt: 2 polls" in as_json.stderr
    assert json.loads(as_json.stdout)["gap_reasons"] == {"connection": 1}
    missing = runner.invoke(main, ["info", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    not_one = runner.invoke(main, ["info", str(tmp_path / "2025-10-18")])
    assert not_one.exit_code == 1 and "Error:" in not_one.output and "not a recording" in not_one.output
