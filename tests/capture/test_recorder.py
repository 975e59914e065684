"""The recorder: schedule and stop logic in isolation, then real recordings from a misbehaving loopback API."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from fake_api import (
    CHUNK,
    CHUNKED_HEAD,
    DRIP_HEAD,
    FAST,
    RawServer,
    dripping,
    ok,
    reset,
    slow,
    status,
    status_body,
    truncated,
)
from fakes import FakeClock
from freezegun import freeze_time

from velib_replay import config
from velib_replay.capture.client import ClientSettings
from velib_replay.capture.recorder import (
    Limits,
    PollCounts,
    RecordPlan,
    Schedule,
    Sources,
    StatusLine,
    content_key,
    default_out_dir,
    record,
    resolve_sources,
)
from velib_replay.cli import main
from velib_replay.contracts.feed import minified, parse_status
from velib_replay.errors import UserError
from velib_replay.recording import INFO_FEED, STATUS_FEED, Poll, Recording, RecordingWriter
from velib_replay.recording.info import describe
from velib_replay.signals import Interrupted, StopRequest
from velib_replay.units import parse_time
from velib_replay.verify import reference

T0 = parse_time("2025-10-18T09:00:00.000Z")

QUIET = StatusLine(io.StringIO(), tty=False)


def info_body(clock: int, codes: tuple[str, ...] = ("16107", "32017")) -> bytes:
    stations = [{"stationCode": code, "station_id": i, "name": f"Station {code}"} for i, code in enumerate(codes)]
    return minified({"lastUpdatedOther": clock, "ttl": 3600, "data": {"stations": stations}})


def plan_for(api, out: Path, *, count: int, interval: float = 0.05, info: str | None = None, **more) -> RecordPlan:
    info_url = api.url(info) if info else None
    sources = Sources(api.url("/station_status.json"), info_url, more.pop("info_every", 3600.0))
    return RecordPlan(out, sources, interval, Limits(count=count), **more)


def bodies_of(recording: Recording, feed: str = STATUS_FEED) -> list[bytes | None]:
    return [None if poll.is_gap else recording.body(poll) for poll in recording.polls(feed)]


# ------------------------------------------------------------------ pure parts
def test_schedule_keeps_to_start_plus_k_intervals_and_skips_overrun_ticks():
    clock = FakeClock(1000.0)
    schedule = Schedule(10.0, clock)
    assert schedule.delay() == 0
    clock.now += 3  # a 3 s poll does not push the next one back
    schedule.advance()
    assert schedule.delay() == 7
    clock.now = 1000 + 10 + 25  # a poll that overran two ticks
    schedule.advance()
    assert (schedule.next_at, schedule.skipped) == (1040.0, 2)
    schedule.advance(not_before=30)  # a Retry-After pushes further
    assert schedule.next_at == clock.now + 30
    for interval in (0, -1, math.nan, math.inf):  # each would make a busy loop, or none at all
        with pytest.raises(UserError, match="finite number of seconds above 0"):
            Schedule(interval)


def test_limits():
    assert Limits(count=3).reached(3, 0) and not Limits(count=3).reached(2, 1e9)
    assert Limits(duration=60).reached(0, 60) and not Limits(duration=60).reached(99, 59.9)
    assert not Limits().reached(10**9, 1e9)


def test_content_key_ignores_the_feed_clock_only():
    assert content_key(info_body(1)) == content_key(info_body(2))
    assert content_key(info_body(1)) != content_key(info_body(1, ("16107",)))
    assert content_key(b"<html>") is None


def test_poll_counts_add_up_and_spot_repeats():
    counts = PollCounts()
    for poll in [
        Poll("station_status", T0, valid=True, body_file="a", last_updated=1),
        Poll("station_status", T0, valid=True, body_file="b", last_updated=1),
        Poll("station_status", T0, valid=False, body_file="c"),
        Poll("station_status", T0),
    ]:
        counts.count(poll)
    assert (counts.polls, counts.snapshots, counts.repeated, counts.invalid, counts.gaps) == (4, 2, 1, 1, 1)
    assert "polls 4 | snapshots 2 (1 repeated) | gaps 1 | invalid 1" in counts.line()


def test_a_signal_abandons_a_fetch_but_not_a_write():
    stopper = StopRequest()
    stopper.received(signal.SIGINT)  # outside a fetch (a write, a wait): only asks to stop
    assert stopper and stopper.reason == "SIGINT" and not stopper.abandoned
    fresh = StopRequest()
    with pytest.raises(Interrupted), fresh.interruptible():
        fresh.received(signal.SIGTERM)
    assert fresh.abandoned and fresh.reason == "SIGTERM"
    with pytest.raises(Interrupted), fresh.interruptible():
        pass  # once stopped, no new fetch starts


def test_status_line_refreshes_in_place_on_a_terminal_and_logs_otherwise(caplog):
    screen = io.StringIO()
    line = StatusLine(screen, tty=True)
    line.show("polls 1")
    line.note("gap!")
    line.show("polls 2")
    line.close()
    assert screen.getvalue() == "\r\x1b[2Kpolls 1\r\x1b[2Kgap!\npolls 1\r\x1b[2Kpolls 2\n"
    with caplog.at_level(logging.INFO):
        StatusLine(io.StringIO(), tty=False).show("polls 3")
    assert "polls 3" in caplog.text


def test_default_out_dir_is_named_after_the_utc_start():
    with freeze_time("2025-10-18T09:12:00.500Z"):
        assert default_out_dir() == config.project_root() / "recordings" / "20251018T091200Z"


def test_sources_explicit_then_gbfs_then_default(api):
    listed = {"data": {"en": {"feeds": [{"name": "station_status", "url": "/s.json"}]}}}
    gbfs = api.script("/gbfs.json", then=ok(minified(listed)))
    assert resolve_sources(None, None, None) == Sources(config.STATUS_URL, config.INFO_URL)
    assert resolve_sources(None, "none", None).info_url is None
    beside = resolve_sources("http://h:1/v/station_status.json?key=k", None, None)
    assert beside.info_url == "http://h:1/v/station_information.json?key=k"  # never another API's table
    assert resolve_sources("http://h:1/status", None, None).info_url is None
    with pytest.raises(UserError, match=r"--url 'velib\.example/s\.json' is not an http"):
        resolve_sources("velib.example/s.json?token=abc", None, None)
    with pytest.raises(UserError, match="--info-url"):
        resolve_sources(None, "ftp://h/i.json", None)
    assert resolve_sources(None, None, gbfs, settings=FAST) == Sources(api.url("/s.json"), None)
    assert resolve_sources("http://x/s.json", None, gbfs, settings=FAST).status_url == "http://x/s.json"


# ------------------------------------------------------------------ recording a faulty API
def test_every_fault_is_recorded_and_every_poll_accounted_for(api, tmp_path):
    """The fault matrix: each poll meets one fault; none crashes the recorder, none is lost."""
    b1, b2, b3 = status_body(100), status_body(160), status_body(220, ("16107",))
    api.script(
        "/station_status.json",
        ok(b1),  # 1 snapshot
        status(503), status(502), ok(b2),  # 2 snapshot after a 5xx burst (3 attempts)
        *[status(503)] * 4,  # 3 gap: 5xx outlasting the retries
        *[slow(0.6)] * 4,  # 4 gap: read timeouts
        *[reset] * 4,  # 5 gap: connection resets
        truncated(b3, 100),  # 6 invalid: truncated body, kept
        ok(b"<html>maintenance</html>", "text/html"),  # 7 invalid: not JSON, kept
        status(429, "1"),  # 8 gap: rate limited, next poll deferred by Retry-After
        ok(b3),  # 9 snapshot (a station vanished)
        ok(b3),  # 10 repeated snapshot
    )  # fmt: skip
    settings = ClientSettings(**{**FAST.__dict__, "max_retry_after": 0.5})
    result = record(plan_for(api, tmp_path, count=10), settings, status=QUIET)

    recording = Recording(tmp_path)
    info = describe(recording)
    assert (info.polls, info.snapshots, info.gaps, info.invalid) == (10, 4, 4, 2)
    assert (result.counts.polls, result.counts.snapshots, result.counts.gaps, result.counts.invalid) == (10, 4, 4, 2)
    assert info.accounted and info.repeated_snapshots == 1 and info.distinct_feed_times == 3
    assert info.gap_reasons == {"HTTP 503 SERVICE UNAVAILABLE": 1, "timeout": 1, "connection": 1, "rate limited": 1}
    assert info.invalid_reasons == {"truncated": 1, "not JSON": 1}
    assert (info.longest_gap.polls, info.stations.vanished) == (3, {"32017": 1})
    assert bodies_of(recording) == [b1, b2, None, None, None, b3[:100], b"<html>maintenance</html>", None, b3, b3]
    assert [poll.attempts for poll in recording.polls()] == [1, 3, 4, 4, 4, 1, 1, 1, 1, 1]
    times = [moment for moment, _ in api.requests["/station_status.json"]]
    assert times[-2] - times[-3] >= 0.95  # the poll after the 429 waited for Retry-After


def test_station_information_is_stored_at_start_and_when_it_changes(api, tmp_path):
    v1, v1_later, v2 = info_body(1), info_body(2), info_body(3, ("16107",))
    api.script("/station_status.json", then=ok(status_body(100)))
    api.script("/i.json", ok(v1), ok(v1_later), status(503), ok(v2), then=ok(v2))
    plan = plan_for(api, tmp_path, count=12, interval=0.05, info="/i.json", info_every=0.12)
    result = record(plan, ClientSettings(**{**FAST.__dict__, "retries": 0}), status=QUIET)
    assert bodies_of(Recording(tmp_path), INFO_FEED) == [v1, None, v2]  # the unchanged v1 is not stored again
    assert (result.info.stored, result.info.failed) == (2, 1) and result.info.checks >= 5
    assert describe(Recording(tmp_path)).polls == 12


def test_no_credential_reaches_the_recording(api, tmp_path):
    api.script("/station_status.json", ok(status_body(1)), then=status(503))
    plan = plan_for(api, tmp_path, count=2)
    plan = RecordPlan(tmp_path, Sources(plan.sources.status_url + "?apikey=QS-SECRET-7&lang=fr", None), 0.05, Limits(2))
    settings = ClientSettings(**{**FAST.__dict__, "retries": 0, "headers": {"Authorization": "Bearer HDR-SECRET-8"}})
    record(plan, settings, status=QUIET)
    assert api.requests["/station_status.json"][0][1].headers["Authorization"] == "Bearer HDR-SECRET-8"
    stored = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    assert b"SECRET" not in stored
    assert b"lang=fr" in stored and b'"Authorization"' in stored  # the header's name only


def test_file_names_follow_the_wall_clock_in_utc(api, tmp_path):
    api.script("/station_status.json", then=ok(status_body(1)))
    with freeze_time("2025-10-18T09:12:00.123Z"):
        record(plan_for(api, tmp_path, count=1), FAST, status=QUIET)
    assert (tmp_path / "2025-10-18" / "20251018T091200.123Z.station_status.json.zst").is_file()
    assert Recording(tmp_path).polls()[0].fetched_text == "2025-10-18T09:12:00.123Z"


def test_recording_again_into_a_recording_resumes_it(api, tmp_path):
    api.script("/station_status.json", then=ok(status_body(1)))
    record(plan_for(api, tmp_path, count=2), FAST, status=QUIET)
    manifest = (tmp_path / "recording.json").read_bytes()
    record(plan_for(api, tmp_path, count=2, compression="gzip"), FAST, status=QUIET)
    assert len(Recording(tmp_path).polls()) == 4 and (tmp_path / "recording.json").read_bytes() == manifest
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a recording"):
        record(plan_for(api, other, count=1), FAST, status=QUIET)


def test_a_full_disk_stops_the_recorder_with_a_reason_and_a_readable_recording(api, tmp_path, monkeypatch):
    api.script("/station_status.json", then=ok(status_body(1)))
    real_write, written = RecordingWriter.write, []

    def write_until_full(self, poll, content):
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        written.append(poll)
        return real_write(self, poll, content)

    monkeypatch.setattr(RecordingWriter, "write", write_until_full)
    result = record(plan_for(api, tmp_path, count=5), FAST, status=QUIET)
    assert result.failure == "cannot write the recording: [Errno 28] No space left on device"
    assert result.counts.polls == 2 and len(Recording(tmp_path).polls()) == 2


# ------------------------------------------------------------------ the CLI, and processes killed or stopped
def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from velib_replay.cli import main; main()", *args]


def record_args(api, out: Path, *more: str) -> list[str]:
    return ["record", "--url", api.url("/station_status.json"), "--info-url", "none", "--out", str(out), *more]


def test_cli_record_and_its_one_line_errors(api, tmp_path):
    api.script("/station_status.json", then=ok(status_body(1)))
    runner = CliRunner()
    done = runner.invoke(main, record_args(api, tmp_path / "r", "--interval", "0.05", "--count", "3"))
    assert done.exit_code == 0, done.output
    assert "3 polls = 3 snapshots (2 repeated) + 0 gaps + 0 invalid" in done.output
    both = runner.invoke(main, record_args(api, tmp_path / "x", "--count", "3", "--duration", "1h"))
    assert both.exit_code == 1 and "Error: give --count or --duration, not both" in both.output
    bad = runner.invoke(main, record_args(api, tmp_path / "y", "--header", "oops"))
    assert bad.exit_code == 1 and "Error: header 'oops'" in bad.output


def test_cli_record_ends_a_dripping_or_endless_answer_as_a_gap_with_its_reason(tmp_path):
    """The issue's reproductions: 1,000 bytes every half second held ``record --timeout 2`` forever;
    an endless chunked body grew until MemoryError. Both are gaps now, and every poll is accounted for."""
    runner = CliRunner()
    with RawServer(dripping(DRIP_HEAD, b"x" * 1000, every=0.5)) as drip:
        args = ["record", "--url", drip.url, "--info-url", "none", "--count", "1", "--retries", "0"]
        timed_out = runner.invoke(main, [*args, "--out", str(tmp_path / "drip"), "--timeout", "2"])
    with RawServer(dripping(CHUNKED_HEAD, CHUNK)) as endless:
        args = ["record", "--url", endless.url, "--info-url", "none", "--count", "1", "--retries", "0"]
        too_big = runner.invoke(main, [*args, "--out", str(tmp_path / "endless"), "--max-body", "500KB"])
    assert timed_out.exit_code == 0 and too_big.exit_code == 0, timed_out.output + too_big.output
    for name, reason in [
        ("drip", "timeout: whole response not received within 2 s"),
        ("endless", "body over --max-body (500.0 KB)"),
    ]:
        recording = Recording(tmp_path / name)
        [poll] = recording.polls()
        assert poll.is_gap and poll.error.startswith(reason)
        assert describe(recording).accounted and "1 polls = 0 snapshots (0 repeated) + 1 gaps" in (
            timed_out.output if name == "drip" else too_big.output
        )


@pytest.mark.parametrize("command", ["record", "live"])
def test_an_out_folder_under_a_regular_file_is_a_one_line_error(api, tmp_path, command):
    api.script("/station_status.json", then=ok(status_body(1)))
    (tmp_path / "file").write_text("not a folder")
    under = str(tmp_path / "file" / "rec")
    where = ["--out", under] if command == "record" else ["--record", under, "--bootstrap-servers", "127.0.0.1:9"]
    done = CliRunner().invoke(main, [command, "--url", api.url("/station_status.json"), "--count", "1", *where])
    assert done.exit_code == 1 and done.output.strip().splitlines()[-1].startswith(
        f"Error: cannot create the recording {under}: Not a directory"
    ), done.output
    assert api.count("/station_status.json") == 0  # refused before anything is polled


def test_max_body_takes_sizes_and_refuses_the_rest(api, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(main, record_args(api, tmp_path / "r", "--max-body", "lots"))
    assert bad.exit_code == 2 and "--max-body" in bad.output and "16MB, 500KB" in bad.output
    assert "--max-body" in runner.invoke(main, ["record", "--help"]).output


def test_no_credential_reaches_the_console_either(api, tmp_path):
    api.script("/station_status.json", status(503), reset, then=ok(status_body(1)))
    url = api.url("/station_status.json") + "?apikey=QS-SECRET-5"
    args = ["record", "--url", url, "--info-url", "none", "--out", str(tmp_path), "--interval", "0.05", "--count", "2"]
    done = subprocess.run(
        cli(*args, "--retries", "1", "--header", "X-Api-Key: HDR-SECRET-6"), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Retrying" not in done.stderr and "gap: connection" in done.stderr
    assert "SECRET" not in done.stdout + done.stderr
    assert api.requests["/station_status.json"][0][1].headers["X-Api-Key"] == "HDR-SECRET-6"


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_a_readable_recording(api, tmp_path, sample):
    """Three runs into the same folder, each killed -9 at a random moment mid-run (resuming after each)."""
    bodies = [sample.body(poll) for poll in sample.polls(STATUS_FEED)]
    api.script("/station_status.json", then=lambda _request: ok(random.choice(bodies))(_request))
    out, rng = tmp_path / "rec", random.Random(9)
    for run in range(3):
        process = subprocess.Popen(cli(*record_args(api, out, "--interval", "0.02")), stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while len(list(out.glob("*/*.meta.json"))) < 5 * (run + 1) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    recording = Recording(out)
    polls = recording.polls()
    assert len(polls) >= 15 and all(poll.valid for poll in polls)
    hashes = {hashlib.sha256(body).hexdigest() for body in bodies}
    assert all(hashlib.sha256(recording.body(poll)).hexdigest() == poll.sha256 in hashes for poll in polls)
    assert describe(recording).accounted


@pytest.mark.parametrize(("sig", "in_flight"), [(signal.SIGINT, False), (signal.SIGTERM, True)])
def test_sigint_and_sigterm_stop_cleanly_with_a_summary(api, tmp_path, sig, in_flight):
    """Stopped while waiting between polls, or while a fetch hangs: exit 128 + the signal, summary, readable
    recording."""
    answer = slow(30, status_body(1)) if in_flight else ok(status_body(1))
    api.script("/station_status.json", ok(status_body(1)), ok(status_body(1)), then=answer)
    out = tmp_path / "rec"
    interval = "0.05" if in_flight else "0.5"
    args = [*record_args(api, out, "--interval", interval, "--timeout", "60")]
    process = subprocess.Popen(cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while api.count("/station_status.json") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    started = time.monotonic()
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 128 + sig, stderr
    assert time.monotonic() - started < 5  # a hanging fetch does not hold the stop back
    assert f"Stopped by {signal.Signals(sig).name}" in stdout
    assert ("abandoned" in stdout) == in_flight
    info = describe(Recording(out))
    assert info.accounted and info.snapshots >= 2 and f"{info.polls} polls" in stdout


# ------------------------------------------------------------------ the "done when", through Kafka and Spark
@pytest.mark.integration
def test_record_then_play_and_process_equals_an_independent_computation(
    api, tmp_path, postcodes, velib_kafka, velib_topics, velib_spark, checkpoint
):
    """Record the sample's bodies from a local API, then play + process: the indicators equal a plain
    computation over the bodies the server sent (one snapshot served twice, a station gone for two)."""
    from helpers import latest_indicators, process_once, replay

    sent = [Recording(SAMPLE).body(poll) for poll in Recording(SAMPLE).polls(STATUS_FEED)]
    api.script("/station_status.json", *map(ok, sent), then=status(503))
    api.script("/station_information.json", then=ok(info_body(1)))
    out = tmp_path / "rec"
    args = ["record", "--url", api.url("/station_status.json"), "--info-url", api.url("/station_information.json")]
    done = CliRunner().invoke(main, [*args, "--out", str(out), "--interval", "0.2", "--count", str(len(sent))])
    assert done.exit_code == 0, done.output
    recording = Recording(out)
    assert bodies_of(recording) == sent

    replay(recording, velib_kafka, velib_topics.status, speed=None)
    process_once(velib_spark, velib_kafka, velib_topics, checkpoint)
    documents = [parse_status(body) for body in sent]
    expected = reference.compute(((doc.last_updated, doc.stations) for doc in documents), postcodes)
    assert latest_indicators(velib_kafka, velib_topics) == expected
    assert len({key.split("|")[0] for key in expected}) == len(sent) - 1  # the repeated snapshot counted once


def test_writer_output_is_what_the_recorder_reads(tmp_path):
    """Guards the format extension: a poll's attempts survive the round trip through meta files and index."""
    writer = RecordingWriter(tmp_path, compression="none")
    writer.write(Poll(STATUS_FEED, parse_time("2025-10-18T09:12:00.000Z"), status=200, attempts=3), status_body(1))
    (tmp_path / "index.jsonl").unlink()
    assert Recording(tmp_path).polls()[0].attempts == 3
    assert json.loads(next(tmp_path.glob("*/*.meta.json")).read_text())["attempts"] == 3
    assert os.access(tmp_path / "index.jsonl", os.R_OK)
