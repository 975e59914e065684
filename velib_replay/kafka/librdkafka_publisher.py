"""The publisher on confluent-kafka (librdkafka): the default client whenever the package is installed."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterable

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS, DELIVERY_WAIT_S
from velib_replay.contracts.messages import Message
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import KafkaTarget, bootstrapping
from velib_replay.kafka.delivery import DeliveryCounter, DeliveryStats

log = logging.getLogger("librdkafka")  # its lines, shown or not as kafka.client_logs says
REPORT_POLL_S = 0.05  # the reports' thread waits at most this long for one: a stop is heard within it


class LibrdkafkaPublisher(DeliveryCounter):
    """The same contract on confluent-kafka (librdkafka): batches are built in C, off the GIL.

    Delivery reports run inside poll/flush, so a thread of its own polls all the time: a batch's acknowledgement
    is timed when it arrives, not at the next send (``play`` sends a snapshot's batch, then sleeps until the next:
    timed at the next poll, a latency was the gap between snapshots). A full local queue is drained by polling,
    never by dropping messages.
    """

    def __init__(
        self, target: KafkaTarget, topic: str, *, delivery_timeout_s: float = DELIVERY_WAIT_S, feed_time: bool = True
    ):
        try:
            from confluent_kafka import KafkaException, Producer
        except ImportError:
            raise UserError("the librdkafka client needs confluent-kafka: pip install confluent-kafka") from None
        super().__init__(topic, feed_time=feed_time)
        with bootstrapping(target, KafkaException):
            self._producer = Producer(
                {
                    "client.id": "velib-replay",
                    "acks": "all",
                    "enable.idempotence": True,
                    "linger.ms": 5,
                    "batch.size": 256 * 1024,
                    "queue.buffering.max.kbytes": 1024 * 1024,
                    "delivery.timeout.ms": int(delivery_timeout_s * 1000),
                    **target.librdkafka(),
                    "logger": log,  # through Python logging, as kafka-python's, not printed raw on stderr
                }
            )
            self._producer.list_topics(timeout=BOOTSTRAP_TIMEOUT_MS / 1000)
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._serve_reports, name="librdkafka-reports", daemon=True)
        self._poller.start()

    def _serve_reports(self) -> None:
        while not self._closing.is_set():
            self._producer.poll(REPORT_POLL_S)

    def send(self, messages: Iterable[Message], headers: list[tuple[str, bytes]] | None = None) -> int:
        """Queue messages for delivery; returns how many were queued. The batch's last message times it.

        Counting is per batch; each delivery report only bumps a counter.
        """
        keys, values, stamps = self._columns(messages)
        if not values:
            return 0
        produce, topic, report, last = self._producer.produce, self.topic, self._report, len(values) - 1
        extra = {"headers": headers} if headers else {}
        for key, value, stamp in zip(keys[:last], values[:last], stamps[:last], strict=True):
            try:  # timestamp 0: librdkafka stamps the send time
                produce(topic, value, key, on_delivery=report, timestamp=stamp or 0, **extra)
            except BufferError:  # the local queue is full: let deliveries drain it, then queue it
                self._produce_when_room(value, key, stamp, report, extra)
        timed = functools.partial(self._report_last, time.monotonic())
        self._produce_when_room(values[last], keys[last], stamps[last], timed, extra)
        self._count_sent(keys, values)
        self._producer.poll(0)
        return len(values)

    def flush(self, timeout_s: float | None = None) -> DeliveryStats:
        self._producer.flush(-1 if timeout_s is None else timeout_s)
        return self.stats

    def close(self) -> None:
        self._closing.set()
        self._poller.join(timeout=5)
        self._producer.flush(5)

    def _produce_when_room(self, value: bytes, key: bytes | None, stamp: int | None, on_delivery, extra: dict) -> None:
        while True:
            try:
                self._producer.produce(self.topic, value, key, on_delivery=on_delivery, timestamp=stamp or 0, **extra)
                return
            except BufferError:
                self._producer.poll(0.05)

    def _report(self, error, _message) -> None:
        if error is None:
            self._delivered()  # the reports' thread, or flush on the sending one: counted under the lock
        else:
            self._failed(error)

    def _report_last(self, sent_at: float, error, message) -> None:
        self._report(error, message)
        if error is None:
            self._batch_acknowledged(sent_at)
