"""``live``: delivery with Kafka coming and going (fake publishers), then the real broker and Spark job,
and a bad API day (``serve --inject``) on the real broker."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from fake_api import FAST, ok, reset, status, status_body
from fakes import FakePublisher
from helpers import expected_from, latest_indicators, process_once, topic_messages, topic_records

from velib_replay.capture.faults import HttpInjector, parse_http_fault
from velib_replay.capture.live import Delivery, LivePlan, kafka_connector, live
from velib_replay.capture.live_against_serve import live_against_serve, published_once
from velib_replay.capture.recorder import Limits, Sources, StatusLine
from velib_replay.capture.server import serve
from velib_replay.cli import main
from velib_replay.contracts.feed import parse_status
from velib_replay.contracts.messages import Message, snapshot_messages
from velib_replay.errors import UserError
from velib_replay.recording import INFO_FEED, STATUS_FEED, Poll, Recording
from velib_replay.recording.info import describe
from velib_replay.recording.repeats import without_repeats
from velib_replay.units import parse_time
from velib_replay.verify.golden import read_golden

T0 = parse_time("2025-10-18T09:00:00.000Z")

FAST_POLLS = 0.02


class Kafka:
    """A connector whose broker is down for the first ``down`` connections, or fails sends while ``failing``."""

    def __init__(self, down: int = 0):
        self.down, self.failing = down, False
        self.sent: list[Message] = []
        self.publishers: list[FakePublisher] = []

    def __call__(self) -> FakePublisher:
        if self.down:
            self.down -= 1
            raise UserError("cannot reach Kafka at localhost:1")
        self.publishers.append(FakePublisher(self.sent, fail=self.failing))
        return self.publishers[-1]


def quiet() -> tuple[StatusLine, io.StringIO]:
    screen = io.StringIO()
    return StatusLine(screen, tty=True), screen


def snapshot_poll(clock: int) -> tuple[Poll, bytes]:
    poll = Poll(STATUS_FEED, parse_time(f"2025-10-18T09:00:{clock:02d}.000Z"), valid=True, last_updated=clock)
    return poll, status_body(clock)


def expected(*clocks: int) -> list[Message]:
    """What play would send for the snapshots with these feed clocks."""
    return [m for clock in clocks for m in snapshot_messages(parse_status(status_body(clock)).stations, clock, None)]


def test_snapshots_wait_while_kafka_is_down_and_go_out_in_order_when_it_is_back():
    kafka, (line, screen) = Kafka(down=2), quiet()
    delivery = Delivery(kafka, line)
    for clock in (1, 2, 3):
        delivery.accept(*snapshot_poll(clock))
        delivery.deliver()  # what the delivery thread does at each retry
    assert kafka.sent == expected(1, 2, 3)  # nothing lost, nothing reordered
    assert delivery.counts.published == 3 and delivery.counts.failures == 2 and not delivery.backlog
    assert screen.getvalue().count("Kafka unavailable") == 1 and "Kafka reachable again" in screen.getvalue()


@pytest.mark.parametrize("failure", [True, "raise"])
def test_a_failed_delivery_keeps_the_snapshot_and_retries_it_on_a_new_producer(failure):
    kafka, (line, screen) = Kafka(), quiet()
    kafka.failing = failure
    delivery = Delivery(kafka, line)
    delivery.accept(*snapshot_poll(1))
    assert not delivery.deliver()
    assert len(delivery.backlog) == 1 and kafka.publishers[0].closed
    assert "KafkaTimeoutError" in screen.getvalue()
    kafka.failing = False
    delivery.accept(*snapshot_poll(2))
    assert delivery.deliver()
    assert kafka.sent == expected(1, 2) and len(kafka.publishers) == 2


def test_a_full_backlog_drops_the_oldest_and_says_where_it_is_kept(tmp_path):
    kafka, (line, screen) = Kafka(down=99), quiet()
    delivery = Delivery(kafka, line, max_backlog=2, kept_in=tmp_path)
    for clock in (1, 2, 3):
        delivery.accept(*snapshot_poll(clock))
    assert delivery.counts.dropped == 1 and len(delivery.backlog) == 2
    assert f"dropped the snapshot fetched at 2025-10-18T09:00:01.000Z; it is in the recording {tmp_path}" in (
        screen.getvalue()
    )


@pytest.mark.parametrize(("skip_repeated", "sent"), [(False, (1, 1, 2, 2, 2, 1)), (True, (1, 2, 1))])
def test_a_snapshot_the_feed_serves_again_is_counted_and_sent_unless_skip_repeated(skip_repeated, sent):
    """The original producer sends every poll; --skip-repeated leaves a repeat out. Counted either way."""
    kafka, (line, _) = Kafka(), quiet()
    delivery = Delivery(kafka, line, skip_repeated=skip_repeated)
    for clock in (1, 1, 2, 2, 2, 1):  # a stale answer, a feed polled faster than it updates, then an older one
        delivery.accept(*snapshot_poll(clock))
    delivery.deliver()
    assert kafka.sent == expected(*sent) and delivery.counts.repeats == 3 and delivery.counts.published == len(sent)


def test_gaps_and_invalid_bodies_publish_nothing():
    kafka, (line, _) = Kafka(), quiet()
    delivery = Delivery(kafka, line)
    delivery.accept(Poll(STATUS_FEED, T0, error="timeout"), None)
    delivery.accept(Poll(STATUS_FEED, T0, valid=False, body_file="x"), b"<html>")
    delivery.deliver()
    assert kafka.sent == [] and delivery.counts.published == 0


def test_live_publishes_what_play_would_and_tees_a_recording(sample, tmp_path):
    kafka = Kafka()
    wanted = frozenset({"16107", "32017"})
    with serve(sample, speed=None, port=0).start() as server:
        plan = LivePlan(
            Sources(f"{server.url}/station_status.json", f"{server.url}/station_information.json"),
            FAST_POLLS,
            Limits(count=11),
            wanted,
            record=tmp_path / "tee",
        )
        result = live(plan, kafka, status=quiet()[0])
    played = [m for s in sample.snapshots() for m in snapshot_messages(s.stations, s.snapshot_time, wanted)]
    assert len(played) == 2 * 11 - 3  # 32017 is absent from three polls
    assert kafka.sent == played  # minute 5 twice, as the feed served it
    assert result.undelivered == 0 and result.delivery.published == 11 and result.delivery.repeats == 1
    tee = Recording(tmp_path / "tee")
    for feed in (STATUS_FEED, INFO_FEED):
        assert [poll.sha256 for poll in tee.polls(feed)] == [poll.sha256 for poll in sample.polls(feed)]


def test_live_survives_api_faults_like_record(api):
    api.script("/s.json", ok(status_body(1)), *[status(503)] * 4, *[reset] * 4, ok(b"{oops"), then=ok(status_body(2)))
    kafka = Kafka()
    plan = LivePlan(Sources(api.url("/s.json"), None), FAST_POLLS, Limits(count=5))
    result = live(plan, kafka, FAST, status=quiet()[0])
    c = result.counts
    assert (c.polls, c.snapshots, c.gaps, c.invalid) == (5, 2, 2, 1)
    assert kafka.sent == expected(1, 2)


@pytest.mark.slow
def test_cli_live_with_kafka_down_exits_1_and_says_where_the_snapshots_are(sample, tmp_path):
    with serve(sample, speed=None, port=0).start() as server:
        args = ["live", "--url", f"{server.url}/station_status.json", "--interval", "0.05", "--count", "1"]
        done = CliRunner().invoke(main, [*args, "--bootstrap-servers", "127.0.0.1:9", "--record", str(tmp_path)])
    assert done.exit_code == 1
    assert "1 still waiting" in done.output
    assert f"Error: 1 snapshot(s) were not delivered to Kafka; they are in {tmp_path}" in done.output
    assert len(Recording(tmp_path).polls(STATUS_FEED)) == 1


def test_sigterm_stops_live_cleanly_with_the_account_and_exit_143(api, tmp_path):
    """Like every verb: a stop by signal ends cleanly, then exits 128 + the signal (143)."""
    api.script("/station_status.json", then=status(503))
    out = tmp_path / "rec"
    args = ["live", "--url", api.url("/station_status.json"), "--info-url", "none", "--record", str(out)]
    command = [sys.executable, "-c", "from velib_replay.cli import main; main()", *args]
    command += ["--interval", "0.05", "--retries", "0", "--bootstrap-servers", "127.0.0.1:9"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(list(out.glob("*/*.station_status.meta.json"))) < 3 and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr
    assert "Stopped by SIGTERM" in stdout, stdout + stderr
    account = re.search(r"(\d+) polls = 0 snapshots \(0 repeated\) \+ (\d+) gaps \+ 0 invalid", stdout)
    polls, gaps = map(int, account.groups())
    assert polls == gaps >= 3, stdout
    assert "published 0 snapshots (0 messages), 0 repeated sent again; 0 still waiting, 0 dropped" in stdout
    assert f"gaps: HTTP 503 SERVICE UNAVAILABLE x{gaps}" in stdout
    info = describe(Recording(out))
    assert info.accounted and (info.polls, info.gaps) == (polls, gaps)


# ------------------------------------------------------------------ the real broker and Spark job
@pytest.mark.integration
def test_live_against_serve_gives_the_messages_and_indicators_of_play(
    sample, postcodes, velib_kafka, velib_topics, velib_spark, tmp_path
):
    """live --url against serve: the very messages play sends (so the job cannot tell them apart), the
    snapshot the feed served twice sent twice (the original producer's way), and the job's indicators equal
    the golden file of play and the independent computation."""

    with serve(sample, speed=None, port=0).start() as server:
        args = ["live", "--url", f"{server.url}/station_status.json", "--interval", "0.05", "--count", "11"]
        kafka = ["--bootstrap-servers", velib_kafka, "--topic", velib_topics.status]
        done = CliRunner().invoke(main, [*args, *kafka, "--record", str(tmp_path / "tee")])
    assert done.exit_code == 0, done.output
    played = [m for s in sample.snapshots() for m in snapshot_messages(s.stations, s.snapshot_time, None)]
    assert f"published 11 snapshots ({len(played)} messages), 1 repeated sent again" in done.output
    assert topic_records(velib_kafka, velib_topics.status) == [(m.key, m.value) for m in played]

    process_once(velib_spark, velib_kafka, velib_topics, tmp_path / "checkpoint")
    from_live = latest_indicators(velib_kafka, velib_topics)
    assert from_live == read_golden(SAMPLE / "indicators.golden.jsonl") == expected_from(sample, postcodes)
    tee = Recording(tmp_path / "tee")
    for feed in (STATUS_FEED, INFO_FEED):
        assert [poll.sha256 for poll in tee.polls(feed)] == [poll.sha256 for poll in sample.polls(feed)]


@pytest.mark.integration
@pytest.mark.parametrize("skip", [[], ["--skip-repeated"]], ids=["every-poll", "skip-repeated"])
def test_play_of_a_recording_made_by_live_sends_exactly_what_live_sent(
    sample, velib_kafka, topics_with, tmp_path, skip
):
    """One rule for a repeated snapshot, one default: live's tee replayed by play gives the same keys, values and
    timestamps in the same order, and both summaries count the sample's one repeat."""
    live_topic, play_topic = topics_with(1).status, topics_with(1).status
    with serve(sample, speed=None, port=0).start() as server:
        args = ["live", "--url", f"{server.url}/station_status.json", "--interval", "0.05", "--count", "11"]
        done = CliRunner().invoke(
            main, [*args, "--bootstrap-servers", velib_kafka, "--topic", live_topic, "--record", str(tmp_path), *skip]
        )
    assert done.exit_code == 0, done.output
    assert ("1 repeated left out (--skip-repeated)" if skip else "1 repeated sent again") in done.output
    stats = tmp_path.parent / f"{tmp_path.name}-stats.json"
    args = ["play", str(tmp_path), "--speed", "max", "--bootstrap-servers", velib_kafka, "--topic", play_topic]
    played = CliRunner().invoke(main, [*args, "--stats-json", str(stats), *skip])
    assert played.exit_code == 0, played.output
    sent = topic_messages(velib_kafka, live_topic)
    assert topic_messages(velib_kafka, play_topic) == sent
    expected_snapshots = without_repeats(sample.snapshots()) if skip else list(sample.snapshots())
    assert len(sent) == sum(len(s.stations) for s in expected_snapshots)
    summary = json.loads(stats.read_text())
    counted = (summary["snapshots"], summary["repeated"], summary["skipped_repeated"])
    assert counted == ((10, 0, 1) if skip else (11, 1, 0))


@pytest.mark.integration
@pytest.mark.slow
def test_live_against_serve_inject_loses_nothing_served_correctly_and_accounts_for_every_fault(
    sample, velib_kafka, velib_kafka_target, velib_topics, tmp_path
):
    """The API on a bad day: every distinct snapshot on Kafka exactly once, and each injected fault found
    again, by kind, in live's accounting and in the tee'd recording's ``info`` (no retries: a request is a poll)."""
    specs = ["error=0.2", "timeout=0.1", "truncate=0.1", "stale=0.1", "slow=0.1:200ms", "reset=0.1"]
    faults = [parse_http_fault(spec) for spec in specs]
    connect = kafka_connector(velib_kafka_target, velib_topics.status)
    result = live_against_serve(sample, connect, faults, seed=3, record=tmp_path / "tee")
    n, c = result.faults, result.live.counts
    assert result.complete and result.lost == 0 and result.live.undelivered == 0
    assert result.live.delivery.published == result.distinct_snapshots == 10
    assert topic_records(velib_kafka, velib_topics.status) == [(m.key, m.value) for m in published_once(sample)]
    assert set(n) == {spec.partition("=")[0] for spec in specs}  # seed 3 draws every kind
    replayed = HttpInjector(faults, 3)
    drawn = (replayed.decide(STATUS_FEED) for _ in range(result.requests))
    assert Counter(fault.kind for fault in drawn if fault) == n  # one draw per request, in order: the seed's run
    assert c.polls == result.requests and c.retries == 0
    gaps = {"HTTP 503 Service Unavailable": n["error"], "timeout": n["timeout"], "connection": n["reset"]}
    assert result.gap_reasons == gaps and result.invalid_reasons == {"truncated": n["truncate"]}
    assert c.repeated == result.live.delivery.repeats == n["stale"] + 1  # the sample serves minute 5 twice itself
    assert c.snapshots == 11 + n["stale"]
    tee = Recording(tmp_path / "tee")
    info = describe(tee)
    assert info.accounted and info.polls == result.requests
    assert (info.gap_reasons, info.invalid_reasons) == (gaps, {"truncated": n["truncate"]})
    assert info.repeated_snapshots == n["stale"] + 1
    assert sum(poll.latency_ms >= 200 for poll in tee.polls(STATUS_FEED) if poll.valid) >= n["slow"]
