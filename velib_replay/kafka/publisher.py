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
from collections.abc import Iterable
from typing import Protocol

from velib_replay.config import DELIVERY_WAIT_S
from velib_replay.contracts.messages import Message
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.delivery import DeliveryStats

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
    target: KafkaTarget,
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
        from velib_replay.kafka.librdkafka_publisher import LibrdkafkaPublisher

        return LibrdkafkaPublisher(target, topic, delivery_timeout_s=delivery_timeout_s, feed_time=feed_time)
    if client != "kafka-python":
        raise UserError(f"unknown Kafka client {client!r} (choose {' or '.join(CLIENTS)})")
    from velib_replay.kafka.kafka_python_publisher import KafkaPythonPublisher

    return KafkaPythonPublisher(target, topic, delivery_timeout_s=delivery_timeout_s, feed_time=feed_time)
