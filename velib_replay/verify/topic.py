"""Reading a topic of JSON objects (indicators, or any pipeline's output) as its consumers must: the latest
value per key, the record's Kafka key or, for a topic written without keys, some fields of its value.

Nothing is skipped silently: a record that cannot be read is counted with its reason, and a key
whose latest value cannot be read has no value at all (never an older one), so a verdict built on
these contents can say exactly what it could not check.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaTimeoutError

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS
from velib_replay.contracts.indicators import Indicator
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import KafkaTarget, bootstrapping
from velib_replay.verify.keys import field_key

NEW_TOPIC_SETTLE_S = 5.0


@dataclass
class TopicContents:
    latest: dict[str, Indicator]
    records: int = 0
    unreadable_by_reason: Counter[str] = field(default_factory=Counter)
    unreadable_latest: dict[str, str] = field(default_factory=dict)  # key -> why its latest value is unreadable
    unkeyed: int = 0  # records no key can be read from: they belong to no row
    key_fields: tuple[str, ...] | None = None  # value fields that make the key; None: the Kafka key

    @property
    def unreadable(self) -> int:
        return sum(self.unreadable_by_reason.values())

    def unreadable_summary(self) -> str | None:
        """One line counting the unreadable records by reason; None when every record was readable."""
        if not self.unreadable:
            return None
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(self.unreadable_by_reason.items()))
        return f"{_records(self.unreadable)} of {self.records} unreadable ({reasons})"

    def doubt(self) -> str | None:
        """Why the latest value per key is not known for certain, in one line; None when it is."""
        parts = []
        if self.unreadable_latest:
            parts.append(f"the latest value of {_plural(len(self.unreadable_latest), 'key')} is unreadable")
        if self.unkeyed:
            parts.append(f"{_records(self.unkeyed)} without a readable key")
        return ", and ".join(parts) or None

    def describe_unreadable_latest(self, *, limit: int = 20) -> list[str]:
        lines = [f"  unreadable latest value: {key} ({why})" for key, why in sorted(self.unreadable_latest.items())]
        if len(lines) > limit:
            lines[limit:] = [f"  ... and {len(lines) - limit} more unreadable latest values"]
        return lines

    def keep(self, key: bytes | None, value: bytes | None) -> None:
        """Take one record in topic order: the last one of a key wins, readable or not."""
        self.records += 1
        if self.key_fields is not None:
            self._keep_by_fields(value, self.key_fields)
            return
        name = _decoded_key(key)
        if isinstance(name, _Unreadable):
            self.unreadable_by_reason[name.reason] += 1
            self.unkeyed += 1
            return
        self.latest.pop(name, None)
        self.unreadable_latest.pop(name, None)
        if value is None:  # a tombstone: the key was deleted
            return
        row = _decoded_row(value)
        if isinstance(row, _Unreadable):
            self.unreadable_by_reason[row.reason] += 1
            self.unreadable_latest[name] = row.reason
        else:
            self.latest[name] = row

    def _keep_by_fields(self, value: bytes | None, fields: tuple[str, ...]) -> None:
        """A value that cannot be read has no key either: it is counted as unkeyed, so it raises doubt. A key field
        that is null or absent is the null key (see ``field_key``), as Spark's group by has a null group."""
        row = _Unreadable("without a value") if value is None else _decoded_row(value)
        if not isinstance(row, _Unreadable):
            try:
                self.latest[field_key(row, fields)] = row
                return
            except ValueError:
                row = _Unreadable(f"with key fields {','.join(fields)} not strings or integers")
        self.unreadable_by_reason[row.reason] += 1
        self.unkeyed += 1


@dataclass(frozen=True)
class _Unreadable:
    reason: str


def _decoded_key(key: bytes | None) -> str | _Unreadable:
    if key is None:
        return _Unreadable("without a key")
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return _Unreadable("with a key not UTF-8")


def _decoded_row(value: bytes) -> Indicator | _Unreadable:
    try:
        row = json.loads(value.decode("utf-8"))
    except UnicodeDecodeError:
        return _Unreadable("not UTF-8")
    except json.JSONDecodeError:
        return _Unreadable("not JSON")
    return row if isinstance(row, dict) else _Unreadable("not a JSON object")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _records(count: int) -> str:
    return _plural(count, "record")


def read_latest(
    kafka: KafkaTarget, topic: str, *, timeout_s: float = 60.0, key_fields: tuple[str, ...] | None = None
) -> TopicContents:
    """Read the whole topic (up to its current end) and keep the latest value per key (see ``key_fields``)."""
    consumer = reader(kafka)
    try:
        return _read_to_end(consumer, topic, timeout_s, TopicContents(latest={}, key_fields=key_fields))
    finally:
        consumer.close()


def reader(kafka: KafkaTarget) -> KafkaConsumer:
    """A consumer outside any group, committing nothing: it reads topics without disturbing anyone's offsets."""
    with bootstrapping(kafka, KafkaTimeoutError):
        return KafkaConsumer(
            enable_auto_commit=False,
            group_id=None,
            bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
            **kafka.kafka_python(),
        )


def _read_to_end(consumer: KafkaConsumer, topic: str, timeout_s: float, contents: TopicContents) -> TopicContents:
    for record in records_to_end(consumer, topic, timeout_s):
        contents.keep(record.key, record.value)
    return contents


def records_to_end(consumer: KafkaConsumer, topic: str, timeout_s: float) -> Iterator[ConsumerRecord]:
    """Every record of ``topic`` from the beginning up to the end offsets it has when asked, as they arrive; a
    UserError when it does not exist, or is not read to those ends within ``timeout_s``."""
    partitions = _partitions(consumer, topic)
    if not partitions:
        raise UserError(f"topic {topic} does not exist (nothing was computed yet?)")
    assigned = [TopicPartition(topic, partition) for partition in sorted(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    end_offsets = consumer.end_offsets(assigned)
    remaining = {tp for tp in assigned if end_offsets[tp] > 0}
    deadline = time.monotonic() + timeout_s  # wall time: a poll returns at most max_poll_records (500)
    while remaining:
        if time.monotonic() > deadline:
            raise UserError(f"timed out reading {topic}: {len(remaining)} partition(s) not read to the end")
        for records in consumer.poll(timeout_ms=100).values():
            yield from records
        # asked of every partition, not only of those the poll returned records for: a fetch that ends on offsets
        # holding no record to hand out (a transactional producer's commit marker) returns none
        remaining = {tp for tp in remaining if consumer.position(tp) < end_offsets[tp]}


def _partitions(consumer: KafkaConsumer, topic: str, *, settle_s: float = NEW_TOPIC_SETTLE_S) -> set[int]:
    """The topic's partitions; a topic created a moment ago has none in the metadata until its leader is elected."""
    deadline = time.monotonic() + settle_s
    while not (partitions := consumer.partitions_for_topic(topic)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return partitions
