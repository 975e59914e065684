"""Delivering station messages to Kafka without losing or duplicating any.

acks=all with the idempotent producer: retries after a broker hiccup cannot write
a message twice, and every send is accounted for as delivered or failed, so the
caller can say exactly how many messages did not make it.

Two clients keep that contract: librdkafka (``confluent-kafka``, a dependency, used by
default when installed), which builds batches in C and replays 2-3x faster
(bench/README.md), and kafka-python, pure Python, always there as the fallback.
"""

from __future__ import annotations

import importlib.util
import statistics
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from velib_replay.config import DELIVERY_WAIT_S
from velib_replay.errors import UserError
from velib_replay.replay.messages import Message, batch_columns


def percentiles_ms(values: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / max of durations in ms; empty when there are none."""
    ordered = sorted(values)
    if not ordered:
        return {}
    p99 = statistics.quantiles(ordered, n=100, method="inclusive")[98] if len(ordered) > 1 else ordered[0]
    return {"p50_ms": statistics.median(ordered), "p99_ms": p99, "max_ms": ordered[-1]}


@dataclass
class DeliveryStats:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    bytes: int = 0
    first_error: str | None = None
    # send-to-acknowledgement time of each batch's last message: one sample per send() call, so the
    # per-message path stays untouched, yet a broker outage shows as the time its batches waited
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.sent - self.delivered - self.failed


CLIENTS = ("kafka-python", "librdkafka")
TIMESTAMPS = ("feed", "send")  # a record's Kafka timestamp: its snapshot time, or when it was sent
AUTO = "auto"  # librdkafka when confluent-kafka is installed, else kafka-python


def resolve_client(client: str) -> str:
    """The client library ``auto`` stands for here: librdkafka replays ~2-3x faster when it is installed."""
    if client != AUTO:
        return client
    return "librdkafka" if importlib.util.find_spec("confluent_kafka") is not None else "kafka-python"


class Publisher(Protocol):
    """What the player and ``live`` need of a Kafka client: send, flush, count; one class per client library."""

    topic: str
    stats: DeliveryStats

    def send(self, messages: Iterable[Message], headers: list[tuple[str, bytes]] | None = None) -> int:
        """Queue messages for delivery; returns how many were queued."""

    def flush(self, timeout_s: float | None = None) -> DeliveryStats:
        """Wait until every queued message is delivered or has failed."""

    def close(self) -> None: ...

    def __enter__(self) -> Publisher: ...

    def __exit__(self, *exc_info: object) -> None: ...


def open_publisher(
    bootstrap_servers: str,
    topic: str,
    *,
    client: str = AUTO,
    delivery_timeout_s: float = DELIVERY_WAIT_S,
    timestamps: str = "feed",
) -> Publisher:
    """The publisher of the chosen client library, with the same delivery guarantees and statistics.

    ``timestamps="send"`` ignores the messages' own timestamps: the client stamps the send time.
    """
    if timestamps not in TIMESTAMPS:
        raise UserError(f"unknown timestamps {timestamps!r} (choose {' or '.join(TIMESTAMPS)})")
    feed_time = timestamps == "feed"
    client = resolve_client(client)
    if client == "librdkafka":
        from velib_replay.replay.librdkafka_publisher import LibrdkafkaPublisher

        return LibrdkafkaPublisher(bootstrap_servers, topic, delivery_timeout_s=delivery_timeout_s, feed_time=feed_time)
    if client != "kafka-python":
        raise UserError(f"unknown Kafka client {client!r} (choose {' or '.join(CLIENTS)})")
    from velib_replay.replay.kafka_python_publisher import KafkaPythonPublisher

    return KafkaPythonPublisher(bootstrap_servers, topic, delivery_timeout_s=delivery_timeout_s, feed_time=feed_time)


class DeliveryCounter:
    """What every publisher shares: delivery accounting and the context-manager protocol."""

    def __init__(self, topic: str, *, feed_time: bool = True):
        self.topic = topic
        self.feed_time = feed_time  # send each message's own timestamp; else let the client stamp send time
        self.stats = DeliveryStats()
        self._lock = threading.Lock()  # delivery callbacks may run on the client's own thread

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _columns(
        self, messages: Iterable[Message]
    ) -> tuple[Sequence[bytes | None], Sequence[bytes], Sequence[int | None]]:
        """A batch's keys, values and Kafka timestamps (None, the send time, unless feed time is wanted)."""
        keys, values, stamps = batch_columns(messages)
        return keys, values, stamps if self.feed_time else [None] * len(values)

    def _count_sent(self, keys: Sequence[bytes | None], values: Sequence[bytes]) -> None:
        """A batch queued: counted once, not message by message."""
        size = sum(map(len, values)) + sum(len(key) for key in keys if key)
        with self._lock:
            self.stats.sent += len(values)
            self.stats.bytes += size

    def _delivered(self, _metadata=None) -> None:
        with self._lock:
            self.stats.delivered += 1

    def _batch_acknowledged(self, sent_at: float) -> None:
        """The last message of a batch sent at ``sent_at`` (``time.monotonic``) is acknowledged."""
        latency_ms = (time.monotonic() - sent_at) * 1000
        with self._lock:
            self.stats.latencies_ms.append(latency_ms)

    def _failed(self, error: object) -> None:
        with self._lock:
            self.stats.failed += 1
            self.stats.first_error = self.stats.first_error or f"{type(error).__name__}: {error}"
