"""Replaying a recording to Kafka on schedule, and accounting for every message.

Each slot's messages are built before the slot is due, then sent together when
it is, so message encoding does not eat into the pacing; the pacing error
(actual minus scheduled send time) is measured for every snapshot.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from velib_replay.config import DELIVERY_WAIT_S
from velib_replay.errors import UserError
from velib_replay.kafka.topics import ensure_topics, status_topic
from velib_replay.recording import Recording
from velib_replay.replay.messages import snapshot_messages
from velib_replay.replay.pacing import Offset, Slot, rebase_shift, schedule
from velib_replay.replay.publisher import Publisher, open_publisher


@dataclass
class PlayStats:
    """End-of-replay statistics, in the spirit of tcpreplay's."""

    snapshots: int = 0
    messages: int = 0
    bytes: int = 0
    delivered: int = 0
    failed: int = 0
    first_error: str | None = None
    wall_s: float = 0.0
    replayed_span_s: float = 0.0
    pacing_errors_ms: list[float] = field(default_factory=list)

    @property
    def undelivered(self) -> int:
        return self.messages - self.delivered

    def pacing(self) -> dict[str, float]:
        """p50 / p99 / max of the pacing error in ms (empty at max speed, where nothing is scheduled)."""
        errors = sorted(self.pacing_errors_ms)
        if not errors:
            return {}
        p99 = statistics.quantiles(errors, n=100, method="inclusive")[98] if len(errors) > 1 else errors[0]
        return {"p50_ms": statistics.median(errors), "p99_ms": p99, "max_ms": errors[-1]}

    def as_dict(self) -> dict:
        wall = self.wall_s or float("nan")
        return {
            "snapshots": self.snapshots,
            "messages": self.messages,
            "bytes": self.bytes,
            "delivered": self.delivered,
            "failed": self.failed,
            "undelivered": self.undelivered,
            "first_error": self.first_error,
            "wall_s": round(self.wall_s, 3),
            "replayed_span_s": self.replayed_span_s,
            "achieved_speed": round(self.replayed_span_s / wall, 2) if self.replayed_span_s else None,
            "messages_per_s": round(self.messages / wall, 1),
            "mb_per_s": round(self.bytes / wall / 1e6, 3),
            "pacing": {name: round(value, 3) for name, value in self.pacing().items()},
        }


def play(
    slots: Iterable[Slot],
    publisher: Publisher,
    *,
    speed: float | None,
    wanted: frozenset[str] | None = None,
    on_sent: Callable[[Slot], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PlayStats:
    """Send every slot at its due time (scaled by ``speed``; None = no waiting), then flush."""
    stats = PlayStats()
    started = clock()
    origin: tuple[float, float] | None = None  # (clock, due) of the first slot: the schedule's zero
    try:
        for slot in slots:
            messages = snapshot_messages(slot.snapshot.stations, slot.snapshot_time, wanted)
            origin = origin or (clock(), slot.due)
            if speed is not None:
                target = origin[0] + (slot.due - origin[1]) / speed
                delay = target - clock()
                if delay > 0:
                    sleep(delay)
                stats.pacing_errors_ms.append((clock() - target) * 1000)
            publisher.send(messages)
            stats.snapshots += 1
            stats.messages += len(messages)
            stats.replayed_span_s = slot.due - origin[1]
            if on_sent:
                on_sent(slot)
    finally:
        delivery = publisher.flush()
        stats.wall_s = clock() - started
        stats.bytes, stats.delivered, stats.failed = delivery.bytes, delivery.delivered, delivery.failed
        stats.first_error = delivery.first_error
    return stats


@dataclass(frozen=True)
class ReplayPlan:
    """Which snapshots of a recording to send, stamped how, and how fast: ``play``'s options as values."""

    speed: float | None = None  # a multiplier of recorded time; None sends as fast as possible
    wanted: frozenset[str] | None = None  # station codes; None keeps all
    passes: int = 1  # 0 loops until stopped (or until ``limit``)
    start: Offset | None = None
    end: Offset | None = None
    limit: int | None = None
    rebase_to: datetime | None = None  # stamp the first snapshot at this time

    @property
    def endless(self) -> bool:
        return self.passes == 0 and self.limit is None


def plan_slots(recording: Recording, plan: ReplayPlan) -> Iterator[Slot]:
    """The slots ``plan`` selects from ``recording``, in send order (lazily: a loop may be endless)."""
    snapshots = list(recording.snapshots())
    if not snapshots:
        raise UserError(f"{recording.path}: no valid station_status snapshot to play")
    shift = rebase_shift(snapshots[0].snapshot_time, plan.rebase_to) if plan.rebase_to else 0
    return schedule(snapshots, passes=plan.passes, start=plan.start, end=plan.end, limit=plan.limit, time_shift=shift)


def replay_to_topic(
    recording: Recording,
    bootstrap_servers: str,
    topic: str,
    plan: ReplayPlan = ReplayPlan(),
    *,
    client: str = "kafka-python",
    partitions: int = 1,
    delivery_timeout_s: float = DELIVERY_WAIT_S,
    slots: Iterable[Slot] | None = None,
    on_sent: Callable[[Slot], None] | None = None,
) -> PlayStats:
    """Replay ``recording`` to ``topic`` (created if absent) as ``plan`` says; every message accounted for.

    ``slots`` replaces the plan's own selection when the caller already computed it (to count it).
    """
    ensure_topics(bootstrap_servers, [status_topic(topic, partitions)])
    with open_publisher(bootstrap_servers, topic, client=client, delivery_timeout_s=delivery_timeout_s) as publisher:
        return play(
            slots if slots is not None else plan_slots(recording, plan),
            publisher,
            speed=plan.speed,
            wanted=plan.wanted,
            on_sent=on_sent,
        )
