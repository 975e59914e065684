"""Delivering station messages to Kafka without losing or duplicating any.

acks=all with the idempotent producer: retries after a broker hiccup cannot write
a message twice, and every send is accounted for as delivered or failed, so the
caller can say exactly how many messages did not make it.

Two clients keep that contract: kafka-python (the default, pure Python) and, when the
optional ``confluent-kafka`` package is installed (``pip install -e ".[fast]"``),
librdkafka, which builds batches in C and replays about 3x faster (bench/README.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS
from velib_replay.errors import UserError, kafka_unreachable
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


CLIENTS = ("kafka-python", "librdkafka")


def open_publisher(bootstrap_servers: str, topic: str, *, client: str = "kafka-python", **options) -> Publisher:
    """The publisher of the chosen client library, with the same delivery guarantees and statistics."""
    if client == "librdkafka":
        return LibrdkafkaPublisher(bootstrap_servers, topic, **options)
    if client != "kafka-python":
        raise UserError(f"unknown Kafka client {client!r} (choose {' or '.join(CLIENTS)})")
    return Publisher(bootstrap_servers, topic, **options)


class _CountingPublisher:
    """What both clients share: delivery accounting and the context-manager protocol."""

    def __init__(self, topic: str):
        self.topic = topic
        self.stats = DeliveryStats()
        self._lock = threading.Lock()  # delivery callbacks may run on the client's own thread

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _count_sent(self, message: Message) -> None:
        with self._lock:
            self.stats.sent += 1
            self.stats.bytes += len(message.value) + len(message.key or b"")

    def _delivered(self, _metadata=None) -> None:
        with self._lock:
            self.stats.delivered += 1

    def _failed(self, error: object) -> None:
        with self._lock:
            self.stats.failed += 1
            self.stats.first_error = self.stats.first_error or f"{type(error).__name__}: {error}"


class Publisher(_CountingPublisher):
    """A Kafka producer (kafka-python) that counts deliveries; use as a context manager."""

    def __init__(self, bootstrap_servers: str, topic: str, *, delivery_timeout_s: float = 120.0, **producer_config):
        super().__init__(topic)
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
            self._count_sent(message)
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


class LibrdkafkaPublisher(_CountingPublisher):
    """The same contract on confluent-kafka (librdkafka): batches are built in C, off the GIL.

    Delivery reports run inside poll/flush; a full local queue is drained by polling,
    never by dropping messages.
    """

    def __init__(self, bootstrap_servers: str, topic: str, *, delivery_timeout_s: float = 120.0):
        try:
            from confluent_kafka import KafkaException, Producer
        except ImportError:
            raise UserError('the librdkafka client needs confluent-kafka: pip install -e ".[fast]"') from None
        super().__init__(topic)
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "client.id": "velib-replay",
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "batch.size": 256 * 1024,
                "queue.buffering.max.kbytes": 1024 * 1024,
                "delivery.timeout.ms": int(delivery_timeout_s * 1000),
            }
        )
        try:
            self._producer.list_topics(timeout=BOOTSTRAP_TIMEOUT_MS / 1000)
        except KafkaException:
            raise kafka_unreachable(bootstrap_servers) from None

    def send(self, messages: Iterable[Message], headers: list[tuple[str, bytes]] | None = None) -> int:
        count = 0
        for message in messages:
            self._produce(message, headers)
            self._count_sent(message)
            count += 1
        self._producer.poll(0)
        return count

    def flush(self, timeout_s: float | None = None) -> DeliveryStats:
        self._producer.flush(-1 if timeout_s is None else timeout_s)
        return self.stats

    def close(self) -> None:
        self._producer.flush(5)

    def _produce(self, message: Message, headers: list[tuple[str, bytes]] | None) -> None:
        while True:
            try:
                self._producer.produce(
                    self.topic, message.value, message.key, headers=headers, on_delivery=self._report
                )
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.05)

    def _report(self, error, _message) -> None:
        if error is None:
            self._delivered()
        else:
            self._failed(error)
