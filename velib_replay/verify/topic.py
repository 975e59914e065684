"""Reading a topic of indicators as its consumers must: the latest value per key."""

from __future__ import annotations

import json
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaTimeoutError

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS
from velib_replay.errors import UserError, kafka_unreachable
from velib_replay.job.contract import Indicator


@dataclass
class TopicContents:
    latest: dict[str, Indicator]
    records: int = 0
    unreadable: int = 0


def read_latest(bootstrap_servers: str, topic: str, *, timeout_s: float = 60.0) -> TopicContents:
    """Read the whole topic (up to its current end) and keep the latest value per key."""
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            enable_auto_commit=False,
            group_id=None,
            bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
        )
    except KafkaTimeoutError:
        raise kafka_unreachable(bootstrap_servers) from None
    try:
        return _read_to_end(consumer, topic, timeout_s)
    finally:
        consumer.close()


def _read_to_end(consumer: KafkaConsumer, topic: str, timeout_s: float) -> TopicContents:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise UserError(f"topic {topic} does not exist (nothing was computed yet?)")
    assigned = [TopicPartition(topic, partition) for partition in sorted(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    end_offsets = consumer.end_offsets(assigned)
    contents = TopicContents(latest={})
    remaining = {tp for tp in assigned if end_offsets[tp] > 0}
    deadline_polls = max(1, int(timeout_s * 10))
    for _ in range(deadline_polls):
        if not remaining:
            return contents
        for tp, records in consumer.poll(timeout_ms=100).items():
            for record in records:
                _keep_latest(contents, record.key, record.value)
            if consumer.position(tp) >= end_offsets[tp]:
                remaining.discard(tp)
    raise UserError(f"timed out reading {topic}: {len(remaining)} partition(s) not read to the end")


def _keep_latest(contents: TopicContents, key: bytes | None, value: bytes | None) -> None:
    contents.records += 1
    if key is None:
        contents.unreadable += 1
        return
    if value is None:  # a tombstone: the key was deleted
        contents.latest.pop(key.decode(), None)
        return
    try:
        contents.latest[key.decode()] = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        contents.unreadable += 1
