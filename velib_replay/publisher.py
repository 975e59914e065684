"""Delivering station messages to Kafka without losing or duplicating any.

acks=all with the idempotent producer: retries after a broker hiccup cannot write
a message twice, and every send is accounted for as delivered or failed, so the
caller can say exactly how many messages did not make it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS
from velib_replay.errors import kafka_unreachable
from velib_replay.messages import Message


@dataclass
class DeliveryStats:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    bytes: int = 0
    first_error: str | None = None

    @property
    def pending(self) -> int:
        return self.sent - self.delivered - self.failed


class Publisher:
    """A Kafka producer that counts deliveries; use as a context manager."""

    def __init__(self, bootstrap_servers: str, topic: str, *, delivery_timeout_s: float = 120.0, **producer_config):
        self.topic = topic
        self.stats = DeliveryStats()
        self._lock = threading.Lock()
        timeout_ms = int(delivery_timeout_s * 1000)
        settings = {
            "bootstrap_servers": bootstrap_servers,
            "client_id": "velib-replay",
            "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
            "acks": "all",
            "enable_idempotence": True,
            "max_in_flight_requests_per_connection": 5,
            "linger_ms": 5,
            "batch_size": 256 * 1024,
            "delivery_timeout_ms": timeout_ms,
            "request_timeout_ms": min(30000, timeout_ms // 2),  # Kafka wants it below delivery.timeout.ms
            "max_block_ms": timeout_ms,
            **producer_config,
        }
        try:
            self._producer = KafkaProducer(**settings)
        except KafkaTimeoutError:
            raise kafka_unreachable(bootstrap_servers) from None

    def send(self, messages: Iterable[Message], headers: list[tuple[str, bytes]] | None = None) -> int:
        """Queue messages for delivery; returns how many were queued."""
        count = 0
        for message in messages:
            future = self._producer.send(self.topic, key=message.key, value=message.value, headers=headers)
            future.add_callback(self._delivered).add_errback(self._failed)
            with self._lock:
                self.stats.sent += 1
                self.stats.bytes += len(message.value) + len(message.key or b"")
            count += 1
        return count

    def flush(self, timeout_s: float | None = None) -> DeliveryStats:
        """Wait until every queued message is delivered or has failed."""
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as error:
            with self._lock:
                self.stats.first_error = self.stats.first_error or str(error)
        return self.stats

    def close(self) -> None:
        self._producer.close(timeout=5)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _delivered(self, _metadata) -> None:
        with self._lock:
            self.stats.delivered += 1

    def _failed(self, error: Exception) -> None:
        with self._lock:
            self.stats.failed += 1
            self.stats.first_error = self.stats.first_error or f"{type(error).__name__}: {error}"
