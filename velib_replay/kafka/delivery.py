"""What every publisher shares, whatever its client library: delivery accounting and its statistics.

A send is counted as queued once per batch; each message then ends delivered or failed, from the client's
own delivery callbacks (which may run on the client's thread: hence the lock).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from velib_replay.contracts.messages import Message, batch_columns


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
