"""The test doubles shared by every test: one fake clock and one fake publisher.

Kafka and Spark themselves are never faked (the integration tests use the real ones);
these stand in only where a test is about timing or delivery logic, not about Kafka.
"""

from __future__ import annotations

from kafka.errors import KafkaTimeoutError

from velib_replay.contracts.messages import Message
from velib_replay.kafka.delivery import DeliveryStats


class FakeClock:
    """A monotonic clock that moves only when told: ``sleep`` advances it (overshooting by ``lag``)."""

    def __init__(self, now: float = 100.0, lag: float = 0.0):
        self.now = now
        self.lag = lag

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds + self.lag


class FakePublisher:
    """The Publisher protocol without Kafka: keeps what it is sent, with the clock's time of each send.

    ``fail=True`` makes every delivery fail; ``fail="raise"`` makes ``send`` itself raise, as
    kafka-python does when the broker is unreachable.
    """

    def __init__(
        self,
        sink: list[Message] | None = None,
        *,
        fail: bool | str = False,
        clock: FakeClock | None = None,
        topic: str = "fake",
    ):
        self.sink = sink if sink is not None else []
        self.fail, self.clock, self.topic = fail, clock, topic
        self.stats = DeliveryStats()
        self.sends: list[tuple[float | None, int]] = []
        self.closed = False

    def send(self, messages: list[Message], headers: list[tuple[str, bytes]] | None = None) -> int:
        if self.fail == "raise":
            raise KafkaTimeoutError("Failed to update metadata after 30.0 secs.")
        messages = list(messages)
        self.sends.append((self.clock.now if self.clock else None, len(messages)))
        self.stats.sent += len(messages)
        if self.fail:
            self.stats.failed += len(messages)
            self.stats.first_error = "KafkaTimeoutError: batch expired"
        else:
            self.sink.extend(messages)
            self.stats.delivered += len(messages)
        return len(messages)

    def flush(self, timeout_s: float | None = None) -> DeliveryStats:
        return self.stats

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakePublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
