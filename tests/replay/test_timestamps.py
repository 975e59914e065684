"""Feed time as Kafka time: a replay's records carry their snapshot time, so Kafka's time-based tools work on it."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from kafka import KafkaConsumer, TopicPartition

from velib_replay.capture.live import kafka_connector
from velib_replay.contracts.feed import iso_utc
from velib_replay.contracts.messages import snapshot_messages
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import replay_to_topic

SNAPSHOTS = 4
WANTED = frozenset({"16107", "32017"})  # a few records per snapshot keep the Spark read short


@pytest.mark.integration
@pytest.mark.slow
def test_offsets_for_times_and_starting_offsets_by_timestamp_find_feed_times_in_a_replay(
    sample, velib_kafka, velib_kafka_target, topics_with, velib_spark
):
    topic = topics_with(1).status
    stats = replay_to_topic(sample, velib_kafka_target, topic, PlayOptions(ReplayPlan(limit=SNAPSHOTS, wanted=WANTED)))
    assert stats.undelivered == 0
    snapshots = list(sample.snapshots())[:SNAPSHOTS]
    sizes = [len(snapshot_messages(s.stations, s.snapshot_time, WANTED)) for s in snapshots]
    third_ms = snapshots[2].snapshot_time * 1000
    partition = TopicPartition(topic, 0)

    consumer = KafkaConsumer(bootstrap_servers=velib_kafka, consumer_timeout_ms=5000)
    try:
        found = consumer.offsets_for_times({partition: third_ms})[partition]
        assert (found.offset, found.timestamp) == (sizes[0] + sizes[1], third_ms)  # the third snapshot's first record
        consumer.assign([partition])
        consumer.seek(partition, found.offset - 1)
        before, first = next(consumer), next(consumer)
    finally:
        consumer.close()
    assert before.timestamp == snapshots[1].snapshot_time * 1000 and first.timestamp == third_ms
    assert json.loads(first.value)["snapshot_time"] == iso_utc(snapshots[2].snapshot_time)  # the field's own time

    starting = json.dumps({topic: {"0": third_ms}})
    read = (
        velib_spark.read.format("kafka")
        .option("kafka.bootstrap.servers", velib_kafka)
        .option("subscribe", topic)
        .option("startingOffsetsByTimestamp", starting)
        .load()
    )
    [row] = read.selectExpr("count(*) AS n", "min(offset) AS first", "min(timestamp) AS earliest").collect()
    assert (row.n, row.first) == (sizes[2] + sizes[3], sizes[0] + sizes[1])
    assert int(row.earliest.timestamp()) == snapshots[2].snapshot_time


@pytest.mark.integration
def test_feed_times_ahead_of_the_broker_are_taken_and_send_timestamps_stamp_the_time_of_sending(
    sample, velib_kafka, velib_kafka_target, topics_with
):
    topic = topics_with(1).status
    ahead = ReplayPlan(limit=1, wanted=frozenset({"16107"}), rebase_to=datetime.now(timezone.utc) + timedelta(hours=3))
    assert (
        replay_to_topic(sample, velib_kafka_target, topic, PlayOptions(ahead, client="librdkafka")).delivered == 1
    )  # Kafka 4
    # refuses records more than 1 h ahead by default: the status topic's own setting lets them in
    before_ms = int(time.time() * 1000)
    plan = ReplayPlan(limit=1, wanted=frozenset({"16107"}))
    assert replay_to_topic(sample, velib_kafka_target, topic, PlayOptions(plan, timestamps="send")).delivered == 1
    consumer = KafkaConsumer(topic, bootstrap_servers=velib_kafka, auto_offset_reset="earliest")
    try:
        records = _records(consumer, 2)
    finally:
        consumer.close()
    assert records[0].timestamp > time.time() * 1000 + 2.9 * 3600_000
    assert before_ms <= records[1].timestamp <= time.time() * 1000
    with kafka_connector(velib_kafka_target, topic, timestamps="send")() as publisher:  # `live --timestamps send`
        assert publisher.feed_time is False


def _records(consumer: KafkaConsumer, count: int) -> list:
    """The first ``count`` records (fewer if 20 s pass first)."""
    records, deadline = [], time.monotonic() + 20
    while len(records) < count and time.monotonic() < deadline:
        records += [record for batch in consumer.poll(timeout_ms=1000).values() for record in batch]
    return records
