"""Pure logic of metrics, health and JSON logs: no broker, no Spark."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from types import SimpleNamespace

from observed_process import parse_metrics
from prometheus_client.exposition import generate_latest

from velib_replay.capture.live import Delivery
from velib_replay.capture.recorder import PollCounts
from velib_replay.job.progress import JobListener, LongBatches, processed_offsets, watermark_lag
from velib_replay.kafka.client_logs import client_libraries
from velib_replay.observe.capture_metrics import CaptureObserver
from velib_replay.observe.health import at_most, verdict
from velib_replay.observe.job_metrics import JobObserver
from velib_replay.observe.logs import JsonFormatter, JsonStatusLine
from velib_replay.recording import STATUS_FEED, Poll
from velib_replay.units import parse_time


def samples(registry) -> dict[str, float]:
    return parse_metrics(generate_latest(registry).decode())


def test_the_first_failing_check_decides_with_a_one_line_json_reason():
    assert verdict([lambda: None]) == (200, b'{"status": "ok"}\n')
    status, body = verdict([lambda: None, at_most("lag", lambda: 7, 5, "messages"), lambda: "second"])
    assert status == 503 and body.count(b"\n") == 1
    assert json.loads(body) == {"status": "unhealthy", "reason": "lag is 7 messages, above the threshold of 5 messages"}
    assert verdict([at_most("lag", lambda: None, 5, "messages")])[0] == 200  # unknown is not a failure


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def poll(clock: int, *, valid: bool = True, latency_ms: float = 120.0) -> Poll:
    fetched = parse_time("2025-10-18T09:00:00.000Z")
    return Poll(STATUS_FEED, fetched, valid=valid, last_updated=clock, latency_ms=latency_ms, body_file="b.json")


def test_capture_metrics_follow_the_counts_and_staleness_is_time_since_the_feed_clock_moved():
    clock = Clock()
    observer = CaptureObserver(clock=clock, wall=lambda: 1_000.0)
    counts = PollCounts()
    delivery = Delivery(lambda: None, JsonStatusLine(dict))
    observer.watch(SimpleNamespace(counts=counts), delivery)
    health = observer.checks(stale_after=2.0)
    for feed_clock in (990, 990):  # the second repeats the feed clock: not a new snapshot
        counts.count(poll(feed_clock))
        observer.seen(poll(feed_clock))
        clock.now += 1.5
    counts.count(Poll(STATUS_FEED, parse_time("2025-10-18T09:00:00.000Z"), error="HTTP 500"))
    found = samples(observer.observed.registry)
    assert found['velib_replay_polls_total{outcome="snapshot"}'] == 2
    assert found['velib_replay_polls_total{outcome="gap"}'] == 1
    assert found["velib_replay_feed_age_seconds"] == 10.0
    assert found["velib_replay_fetch_seconds_count"] == 2 and found["velib_replay_fetch_seconds_sum"] == 0.24
    assert found["velib_replay_seconds_since_new_snapshot"] == 3.0
    assert found["velib_replay_kafka_up"] == 1 and found["velib_replay_backlog_snapshots"] == 0
    assert json.loads(verdict(health)[1])["reason"] == "the last 1 poll(s) of station_status failed (HTTP 500)"
    counts.count(poll(990))  # a poll that works again, but the feed clock has not moved
    assert json.loads(verdict(health)[1])["reason"].startswith("time since the feed's last new snapshot is 3 s")
    delivery.lost_connection("broker gone")
    observer.seen(poll(995))
    reason = json.loads(verdict(health)[1])["reason"]
    assert reason.startswith("Kafka is unreachable since ") and reason.endswith("; 0 snapshot(s) waiting")
    facts = observer.facts()
    assert facts["kafka_down"] is True and facts["snapshots"] == 3 and facts["gaps"] == 1 and facts["waiting"] == 0


def test_json_status_lines_carry_the_status_facts_one_event_per_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("velib_replay.status")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        line = JsonStatusLine(lambda: {"polls": 3, "snapshots": 2, "feed_time": 1760778000})
        line.show("polls 3 | snapshots 2 | feed 2025-10-18T09:00:00Z")
        line.note('gap: "HTTP 500"\nsecond line')
    finally:
        logger.removeHandler(handler)
    events = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert len(events) == 2
    assert events[0]["event"] == "status" and events[0]["polls"] == 3 and events[0]["snapshots"] == 2
    assert events[0]["level"] == "info" and events[0]["time"].endswith("Z")
    assert events[1]["event"] == "warning" and events[1]["message"] == 'gap: "HTTP 500"\nsecond line'


def test_listener_arithmetic_offsets_watermark_and_failure():
    assert processed_offsets('{"t": {"0": 42, "1": 7}, "other": {"0": 9}}', "t") == {0: 42, 1: 7}
    assert processed_offsets(None, "t") == {}
    event_time = {"max": "2025-10-18T09:10:00.000Z", "watermark": "2025-10-18T07:10:00.000Z"}
    assert watermark_lag(event_time) == 7200.0 and watermark_lag({"watermark": "2025-10-18T07:10:00.000Z"}) is None
    before_any = {"max": "2025-10-18T09:10:00.000Z", "watermark": "1970-01-01T00:00:00.000Z"}  # Spark's first batch
    assert watermark_lag(before_any) is None
    listener = JobListener("t", None)
    listener.onQueryTerminated(SimpleNamespace(exception="org.apache.spark.SparkException: boom\n\tat x"))
    assert listener.failure == "org.apache.spark.SparkException: boom" and listener.terminated == 1


def test_job_health_names_a_query_not_started_yet_then_an_unreachable_kafka_then_a_failed_query():
    def unreachable(topic: str) -> dict[int, int]:
        raise OSError("Unable to bootstrap from 127.0.0.1:9")

    observer = JobObserver("t", unreachable)
    checks = observer.checks(max_lag=10)
    assert json.loads(verdict(checks)[1])["reason"] == "the query has not started yet (Spark is starting)"
    observer.listener.onQueryStarted(SimpleNamespace(name="job"))
    assert json.loads(verdict(checks)[1])["reason"] == "Kafka is unreachable (Unable to bootstrap from 127.0.0.1:9)"
    observer.listener.onQueryTerminated(SimpleNamespace(exception="StreamingQueryException: boom\n\tat x"))
    assert json.loads(verdict(checks)[1])["reason"] == "the query failed: StreamingQueryException: boom"
    assert samples(observer.observed.registry)["velib_replay_job_failed"] == 1


def test_client_library_retries_are_hidden_in_text_and_their_fatal_lines_are_one_line_each(capsys, caplog):
    client_libraries("text")
    logging.getLogger("librdkafka").warning("GETPID [producer-1]: Coordinator load in progress: retrying")
    logging.getLogger("kafka.conn").info("<BrokerConnection node_id=bootstrap-0>: connecting to localhost:9092")
    logging.getLogger("kafka.conn").error("Connection failed: KafkaConnectionError: 111 ECONNREFUSED")
    logging.getLogger("librdkafka").critical("FATAL [producer-1]: Fatal error: Inconsistent state")
    assert capsys.readouterr().err == "Kafka client CRITICAL: FATAL [producer-1]: Fatal error: Inconsistent state\n"
    client_libraries("json")  # their warnings and errors go on to the log shipper, with everything else
    logging.getLogger("librdkafka").warning("GETPID retrying")
    logging.getLogger("kafka.conn").info("connecting")
    logging.getLogger("kafka.conn").error("Connection failed")
    assert [record.getMessage() for record in caplog.records] == ["GETPID retrying", "Connection failed"]
    client_libraries("text")


class _Query:
    """What ``LongBatches`` asks of a streaming query: its status and last progress."""

    def __init__(self):
        self.status = {"isTriggerActive": True, "isDataAvailable": True}
        self.lastProgress = None


def test_a_long_batch_says_so_every_n_seconds_and_a_new_batch_starts_the_count_again(caplog):
    now = [0.0]
    watch = LongBatches(10.0, tasks=lambda: (3, 8), clock=lambda: now[0])
    query = _Query()
    caplog.set_level(logging.INFO, "velib_replay.job.progress")
    for now[0] in (0.0, 5.0, 10.5, 12.0, 21.0, 29.0):
        watch.tick(query)
    assert [record.getMessage() for record in caplog.records] == [
        "batch 0 of job still running: 10 s, 3 of 8 tasks done",
        "batch 0 of job still running: 21 s, 3 of 8 tasks done",
    ]
    assert caplog.records[0].facts == {
        "event": "batch_running", "query": "job", "batch": 0, "running_s": 10.5, "tasks_done": 3, "tasks": 8
    }  # fmt: skip
    caplog.clear()
    query.lastProgress = {"batchId": 0}  # batch 0 ended, batch 1 runs: counted from its own start
    for now[0] in (30.0, 35.0, 39.0):
        watch.tick(query)
    assert caplog.records == []
    query.status = {"isTriggerActive": False, "isDataAvailable": False}  # between batches: nothing to say
    now[0] = 60.0
    watch.tick(query)
    assert caplog.records == []


WRITES_AFTER_RELAY = """
import os
from velib_replay.observe.logs import relay_stderr_as_json
relay_stderr_as_json()
for _ in range(2000):  # 2 MB: far beyond a pipe's buffer
    os.write(2, b"x" * 1000 + b"\\n")
print("all written", flush=True)
"""


def test_a_closed_stderr_neither_breaks_nor_blocks_a_writer_of_the_relayed_descriptor():
    """A JSON-mode command whose log reader went away: the relay keeps draining the pipe, so a writer (the JVM,
    logging) neither fails on a closed pipe (it did: exit 1) nor blocks on a full one."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITES_AFTER_RELAY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    writer.stderr.close()  # the log shipper is gone
    try:
        out, _ = writer.communicate(timeout=60)
    finally:
        writer.kill()
    assert (writer.returncode, out) == (0, "all written\n")
