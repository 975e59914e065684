"""Raw message values to and from the real broker, for the tests that judge the job against the reference."""

from __future__ import annotations

import json
from collections.abc import Sequence

from helpers import topic_values
from kafka import KafkaProducer


def send_raw(bootstrap: str, topic: str, values: Sequence[bytes | None]) -> list[int]:
    """Publish values as they are (None is a tombstone) to a one-partition topic; returns each one's offset."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_in_flight_requests_per_connection=1)
    try:
        futures = [producer.send(topic, key=b"k", value=value) for value in values]
        producer.flush()
        return [future.get(timeout=30).offset for future in futures]
    finally:
        producer.close()


def quarantined(bootstrap: str, topic: str) -> list[tuple[int, str]]:
    """(offset, reason) of every quarantine record, sorted."""
    records = [json.loads(value) for value in topic_values(bootstrap, topic)]
    return sorted((record["offset"], record["problem"]) for record in records)


def expected_quarantine(offsets: Sequence[int], rejected: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """The reference's rejections (by index) as (offset, reason), sorted."""
    return sorted((offsets[index], reason) for index, reason in rejected)
