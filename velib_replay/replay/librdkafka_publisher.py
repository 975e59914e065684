"""The publisher on confluent-kafka (librdkafka), when installed (``pip install -e ".[fast]"``)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS, DELIVERY_WAIT_S
from velib_replay.errors import UserError, kafka_unreachable
from velib_replay.kafka import client_config
from velib_replay.replay.messages import Message
from velib_replay.replay.publisher import DeliveryCounter, DeliveryStats


class LibrdkafkaPublisher(DeliveryCounter):
    """The same contract on confluent-kafka (librdkafka): batches are built in C, off the GIL.

    Delivery reports run inside poll/flush; a full local queue is drained by polling,
    never by dropping messages.
    """

    def __init__(
        self, bootstrap_servers: str, topic: str, *, delivery_timeout_s: float = DELIVERY_WAIT_S, feed_time: bool = True
    ):
        try:
            from confluent_kafka import KafkaException, Producer
        except ImportError:
            raise UserError('the librdkafka client needs confluent-kafka: pip install -e ".[fast]"') from None
        super().__init__(topic, feed_time=feed_time)
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
                **client_config.active().librdkafka(),
            }
        )
        try:
            self._producer.list_topics(timeout=BOOTSTRAP_TIMEOUT_MS / 1000)
        except KafkaException:
            raise kafka_unreachable(bootstrap_servers) from None

    def send(self, messages: Iterable[Message], headers: list[tuple[str, bytes]] | None = None) -> int:
        """Queue messages for delivery; returns how many were queued. The batch's last message times it."""
        batch: Sequence[Message] = messages if isinstance(messages, Sequence) else list(messages)
        last = len(batch) - 1
        timed = functools.partial(self._report_last, time.monotonic())
        for i, message in enumerate(batch):
            self._produce(message, headers, timed if i == last else self._report)
            self._count_sent(message)
        self._producer.poll(0)
        return len(batch)

    def flush(self, timeout_s: float | None = None) -> DeliveryStats:
        self._producer.flush(-1 if timeout_s is None else timeout_s)
        return self.stats

    def close(self) -> None:
        self._producer.flush(5)

    def _produce(self, message: Message, headers: list[tuple[str, bytes]] | None, on_delivery) -> None:
        while True:
            try:
                self._producer.produce(
                    self.topic,
                    message.value,
                    message.key,
                    headers=headers,
                    on_delivery=on_delivery,
                    timestamp=self._timestamp_ms(message) or 0,  # 0: librdkafka stamps the send time
                )
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.05)

    def _report(self, error, _message) -> None:
        if error is None:
            self._delivered()
        else:
            self._failed(error)

    def _report_last(self, sent_at: float, error, message) -> None:
        self._report(error, message)
        if error is None:
            self._batch_acknowledged(sent_at)
