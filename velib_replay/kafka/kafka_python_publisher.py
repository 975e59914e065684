"""The publisher on kafka-python, the pure-Python client: always installed, the default."""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS, DELIVERY_WAIT_S
from velib_replay.contracts.messages import Message
from velib_replay.kafka.client_config import KafkaTarget, bootstrapping
from velib_replay.kafka.delivery import DeliveryCounter, DeliveryStats


class KafkaPythonPublisher(DeliveryCounter):
    """The publisher on kafka-python (pure Python): the default client."""

    def __init__(
        self,
        target: KafkaTarget,
        topic: str,
        *,
        delivery_timeout_s: float = DELIVERY_WAIT_S,
        feed_time: bool = True,
        **producer_config,
    ):
        super().__init__(topic, feed_time=feed_time)
        timeout_ms = int(delivery_timeout_s * 1000)
        settings = {
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
            **target.kafka_python(),
            **producer_config,
        }
        with bootstrapping(target, KafkaTimeoutError):
            self._producer = KafkaProducer(**settings)

    def send(self, messages: Iterable[Message], headers: list[tuple[str, bytes]] | None = None) -> int:
        """Queue messages for delivery; returns how many were queued. The batch's last message times it.

        kafka-python reports delivery per message only (a future each); the queued count is kept per batch.
        """
        keys, values, stamps = self._columns(messages)
        sent_at, send, queued, future = time.monotonic(), self._producer.send, 0, None
        try:
            for key, value, stamp in zip(keys, values, stamps, strict=True):
                future = send(self.topic, key=key, value=value, headers=headers, timestamp_ms=stamp)
                future.add_callback(self._delivered).add_errback(self._failed)
                queued += 1
        finally:  # a send that raised half-way still accounts for what it queued
            self._count_sent(keys[:queued], values[:queued])
        if future is not None:
            future.add_callback(lambda _metadata: self._batch_acknowledged(sent_at))
        return queued

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
