"""``serve``: the replay clock in isolation, then real HTTP, and the serve → record round trip."""

from __future__ import annotations

import io
import logging
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import requests
from conftest import SAMPLE
from fakes import FakeClock

from velib_replay.capture.client import ApiClient, discover_feeds
from velib_replay.capture.recorder import Limits, RecordPlan, Sources, StatusLine, record
from velib_replay.capture.server import ReplayClock, serve
from velib_replay.contracts.feed import minified
from velib_replay.errors import UserError
from velib_replay.recording import INFO_FEED, STATUS_FEED, Poll, Recording, RecordingWriter
from velib_replay.units import parse_time

T0 = parse_time("2025-10-18T09:00:00.000Z")


def body(clock: int) -> bytes:
    return minified({"lastUpdatedOther": clock, "data": {"stations": [{"stationCode": "1"}]}})


@pytest.fixture
def three_minutes(tmp_path) -> Recording:
    """Status polls at +0, +60 (a gap), +120 and +180 s; station_information at +0.5 s."""
    writer = RecordingWriter(tmp_path)
    writer.write(Poll(STATUS_FEED, parse_time("2025-10-18T09:00:00.000Z"), status=200), body(0))
    writer.write(Poll(INFO_FEED, parse_time("2025-10-18T09:00:00.500Z"), status=200), body(1))
    writer.write(Poll(STATUS_FEED, parse_time("2025-10-18T09:01:00.000Z"), error="timeout: read timed out"), None)
    writer.write(Poll(STATUS_FEED, parse_time("2025-10-18T09:02:00.000Z"), status=200), body(120))
    writer.write(Poll(STATUS_FEED, parse_time("2025-10-18T09:03:00.000Z"), status=200), body(180))
    return Recording(tmp_path)


def fetched(replay: ReplayClock, feed: str = STATUS_FEED) -> str:
    return replay.current(feed)[0].fetched_text[14:19]  # "MM:SS"


def test_the_body_current_at_the_scaled_replay_time(three_minutes):
    clock = FakeClock(500.0)
    replay = ReplayClock(three_minutes, 10.0, clock=clock)
    seen = []
    for offset in (0, 5.9, 6.0, 11.9, 12.0, 18.0, 100.0):  # real seconds, times 10 in recording time
        clock.now = 500.0 + offset
        seen.append(fetched(replay))
    assert seen == ["00:00", "00:00", "00:00", "00:00", "02:00", "03:00", "03:00"]  # the gap is skipped
    clock.now = 500.0
    assert fetched(replay, INFO_FEED) == "00:00"  # before its first poll, a feed answers its first body


def test_looping_wraps_after_the_last_poll_plus_one_interval(three_minutes):
    clock = FakeClock(500.0)
    replay = ReplayClock(three_minutes, 1.0, loop=True, clock=clock)
    assert replay.span == 240.0
    clock.now = 500.0 + 239.0
    assert fetched(replay) == "03:00"
    clock.now = 500.0 + 240.0 + 121.0
    assert fetched(replay) == "02:00"


def test_max_speed_answers_the_next_body_each_time(three_minutes):
    replay = ReplayClock(three_minutes, None)
    assert [fetched(replay) for _ in range(5)] == ["00:00", "02:00", "03:00", "03:00", "03:00"]
    looping = ReplayClock(three_minutes, None, loop=True)
    assert [fetched(looping) for _ in range(4)] == ["00:00", "02:00", "03:00", "00:00"]


def test_gaps_can_be_replayed_as_503(three_minutes):
    with serve(three_minutes, speed=None, port=0, gaps=True).start() as server:
        answers = [requests.get(f"{server.url}/station_status.json", timeout=5) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 503, 200]
    assert "timeout: read timed out" in answers[1].json()["error"]


def test_a_recording_without_status_bodies_cannot_be_served(tmp_path):
    RecordingWriter(tmp_path).write(Poll(STATUS_FEED, parse_time("2025-10-18T09:00:00.000Z"), error="timeout"), None)
    with pytest.raises(UserError, match="no station_status body"):
        serve(Recording(tmp_path), speed=None, port=0)


def test_http_bodies_are_byte_exact_and_paths_match_the_real_api(sample):
    status_bodies = [sample.body(poll) for poll in sample.polls(STATUS_FEED)]
    info_body = sample.body(sample.polls(INFO_FEED)[0])
    with serve(sample, speed=None, port=0).start() as server:
        answers = [requests.get(f"{server.url}/station_status.json", timeout=5) for _ in status_bodies]
        info = requests.get(f"{server.url}/opendata/Velib_Metropole/station_information.json?x=1", timeout=5)
        head = requests.head(f"{server.url}/station_status.json", timeout=5)
        missing = requests.get(f"{server.url}/free_bike_status.json", timeout=5)
    assert [answer.content for answer in answers] == status_bodies
    assert answers[0].headers["Content-Type"] == "application/json"
    assert answers[0].headers["X-Velib-Replay-Poll"] == "1/11"
    assert answers[6].headers["X-Velib-Replay-Fetched-At"] == sample.polls(STATUS_FEED)[6].fetched_text
    assert info.content == info_body
    assert head.status_code == 200 and head.content == b"" and int(head.headers["Content-Length"]) > 400_000
    assert missing.status_code == 404 and "/station_status.json" in missing.json()["error"]


def test_gbfs_json_lists_the_feeds_for_discovery(sample):
    with serve(sample, speed=1.0, port=0).start() as server, ApiClient() as client:
        feeds = discover_feeds(client, f"{server.url}/gbfs.json")
    assert feeds == {
        STATUS_FEED: f"{server.url}/station_status.json",
        INFO_FEED: f"{server.url}/station_information.json",
    }


def test_round_trip_serve_then_record_gives_byte_identical_bodies(sample, tmp_path):
    out = tmp_path / "again"
    with serve(sample, speed=None, port=0).start() as server:
        sources = Sources(f"{server.url}/station_status.json", f"{server.url}/station_information.json")
        plan = RecordPlan(out, sources, 0.05, Limits(count=len(sample.polls(STATUS_FEED))))
        record(plan, status=StatusLine(io.StringIO(), tty=False))
    again = Recording(out)
    for feed in (STATUS_FEED, INFO_FEED):
        assert [poll.sha256 for poll in again.polls(feed)] == [poll.sha256 for poll in sample.polls(feed)]
        assert [again.body(poll) for poll in again.polls(feed)] == [sample.body(poll) for poll in sample.polls(feed)]


def test_cli_serve_runs_until_sigint_and_says_what_it_served_and_which_faults_it_injected():
    args = ["serve", str(SAMPLE), "--port", "0", "--speed", "max", "--inject", "error=0.5", "--seed", "1"]
    command = [sys.executable, "-c", "from velib_replay.cli import main; main()", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stderr.readline()
        assert "injecting error=0.5 (seed 1)" in banner
        url = re.search(r"(http://127\.0\.0\.1:\d+)/gbfs\.json", banner).group(1)
        statuses = [requests.get(f"{url}/station_status.json", timeout=5).status_code for _ in range(2)]
        assert statuses == [503, 200]  # seed 1 draws the fault for the first request only
        assert requests.get(f"{url}/gbfs.json", timeout=5).status_code == 200  # discovery is never faulted
    finally:
        time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 130  # 128 + SIGINT: every verb's exit status after a stop by signal
    assert "Stopped by SIGINT: 3 requests served; faults injected (seed 1) in 2 feed requests: error 1" in stdout
    assert "request 1 (station_status): injected error=0.5" in stderr


@pytest.mark.parametrize(
    ("compression", "damage"),
    [
        ("gzip", lambda data: data[: len(data) // 2]),  # truncated
        ("zstd", lambda data: data[: len(data) // 2]),
        ("gzip", lambda data: data[:20] + bytes(len(data) - 28) + data[-8:]),  # corrupt deflate data
    ],
)
def test_a_body_it_cannot_read_is_answered_500_logged_and_counted_as_failed(tmp_path, caplog, compression, damage):
    writer = RecordingWriter(tmp_path, compression=compression)
    polls = [writer.write(Poll(STATUS_FEED, T0 + timedelta(minutes=i), status=200), body(i)) for i in range(3)]
    damaged = tmp_path / polls[1].body_file
    damaged.write_bytes(damage(damaged.read_bytes()))
    with caplog.at_level(logging.ERROR), serve(Recording(tmp_path), speed=None, port=0).start() as server:
        answers = [requests.get(f"{server.url}/station_status.json", timeout=5) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 500, 200]
    assert answers[2].content == body(2)
    assert answers[1].json()["error"] == f"recorded body unreadable: {polls[1].body_file}"
    assert (server.requests_served, server.requests_failed) == (2, 1)
    assert server.summary() == "2 requests served, 1 failed (unreadable recorded bodies, see the log)"
    [record] = caplog.records
    assert str(damaged) in record.getMessage() and "\n" not in record.getMessage()
