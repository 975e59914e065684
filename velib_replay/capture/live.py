"""``velib-replay live``: the original pipeline's producer, done right.

Each poll of the API goes through the recorder's machinery (schedule, retries,
gaps, signals, optional tee to a recording), and each valid snapshot becomes the
very messages ``play`` would send (``snapshot_messages``), published with the
idempotent ``Publisher``; a snapshot the feed serves again (``recording.repeats``: a stale
cache, or polls faster than the feed updates) is sent again, as the original producer does, and
counted; ``--skip-repeated`` leaves it out, as ``play --skip-repeated`` does. Kafka being
down loses nothing silently and costs no poll: a thread of its own delivers, while snapshots
wait in order in a bounded backlog, retried every second; only an overflowing backlog drops
the oldest, and that is counted, reported,
and (with ``--record``) still on disk for a later ``play``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from kafka.errors import KafkaError

from velib_replay.capture.client import ApiClient, ClientSettings
from velib_replay.capture.recorder import (
    DEFAULT_COMPRESSION,
    DEFAULT_INTERVAL,
    InfoCounts,
    Limits,
    PollCounts,
    Poller,
    RecordPlan,
    Schedule,
    Sources,
    StatusLine,
    Unstored,
    Watcher,
    open_writer,
    run_loop,
    source_of,
)
from velib_replay.contracts.feed import NO_CONTEXT, SystemContext, parse_status
from velib_replay.contracts.messages import Message, snapshot_messages
from velib_replay.errors import UserError
from velib_replay.kafka import librdkafka_publisher, topics
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.publisher import Publisher, open_publisher
from velib_replay.recording import KEYFRAME_EVERY, Poll, RecordingWriter
from velib_replay.recording.repeats import Repeats
from velib_replay.signals import StopRequest
from velib_replay.units import format_duration

DEFAULT_MAX_BACKLOG = 120  # snapshots (two hours at one a minute, ~1 MB of messages each)
DELIVERY_TIMEOUT = 30.0  # s: how long a snapshot may wait on Kafka before the outage is reported
RETRY_EVERY_S = 1.0  # after a failed delivery or connection, the next attempt

Connect = Callable[[], Publisher]


def kafka_connector(
    kafka: KafkaTarget, topic: str, delivery_timeout_s: float = DELIVERY_TIMEOUT, timestamps: str = "feed"
) -> Connect:
    """A function opening a Publisher on ``topic`` (created if absent), raising when Kafka is unreachable."""

    def connect() -> Publisher:
        topics.ensure_topics(kafka, [topics.status_topic(topic)])
        return open_publisher(kafka, topic, delivery_timeout_s=delivery_timeout_s, timestamps=timestamps)

    return connect


@dataclass(frozen=True)
class Pending:
    """One snapshot's messages, waiting to be delivered."""

    fetched_at: str
    messages: list[Message]
    queued_at: float = field(default_factory=time.monotonic)


@dataclass
class DeliveryCounts:
    published: int = 0  # snapshots fully acknowledged by Kafka
    messages: int = 0
    dropped: int = 0  # snapshots pushed out of a full backlog
    repeats: int = 0  # snapshots repeating the one before (``recording.repeats``): sent, unless skip_repeated
    failures: int = 0  # connection or delivery failures seen
    dropped_span: tuple[str, str] | None = None  # fetch times of the first and last snapshot dropped
    client_errors_hidden: int = 0  # the Kafka client's own error lines during outages, counted, not printed


class ClientErrors(logging.Filter):
    """The Kafka client libraries' error lines during an outage: the first one is printed, the rest counted.

    librdkafka logs two ``Connect to ... failed`` lines a second while the broker is down; the outage is
    already said once when it starts and once when it ends, with this count.
    """

    LOGGERS = (librdkafka_publisher.log.name, "kafka")  # librdkafka's lines come through that module's logger

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self._shown = False

    def filter(self, record: logging.LogRecord) -> bool:
        client = any(record.name == name or record.name.startswith(name + ".") for name in self.LOGGERS)
        if not client or record.levelno < logging.WARNING:
            return True
        if not self._shown:
            self._shown = True
            return True
        self.hidden += 1
        return False

    def ended(self) -> int:
        """The count of lines hidden during the outage that just ended; the next outage starts afresh."""
        hidden, self.hidden, self._shown = self.hidden, 0, False
        return hidden

    @contextlib.contextmanager
    def installed(self) -> Iterator[ClientErrors]:
        """On the root logger's handlers: a logger's own filter never sees its children's records."""
        handlers = list(logging.getLogger().handlers)
        for handler in handlers:
            handler.addFilter(self)
        try:
            yield self
        finally:
            for handler in handlers:
                handler.removeFilter(self)


class Delivery:
    """Snapshots delivered to Kafka in order by a thread of their own; a failed one stays at the head, retried.

    The poll loop only queues (``accept``): it never waits on Kafka, so an outage costs no poll. The backlog is
    bounded by ``max_backlog`` snapshots (about 1 MB each for the whole network); beyond, the oldest is dropped.
    """

    def __init__(
        self,
        connect: Connect,
        status: StatusLine,
        *,
        wanted: frozenset[str] | None = None,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
        kept_in: Path | None = None,
        retry_every: float = RETRY_EVERY_S,
        skip_repeated: bool = False,
    ):
        if max_backlog < 1:
            raise UserError("the backlog must hold at least one snapshot")
        self.connect, self.status, self.wanted, self.kept_in = connect, status, wanted, kept_in
        self.backlog: deque[Pending] = deque()
        self.max_backlog, self.retry_every = max_backlog, retry_every
        self.counts = DeliveryCounts()
        self.publisher: Publisher | None = None
        self.client_errors = ClientErrors()
        self._down_since: str | None = None
        self._catching_up = False  # from a failure until the backlog is empty again
        self._changed = threading.Condition()
        self._finishing = False
        self._thread: threading.Thread | None = None
        self.context: Callable[[], SystemContext] = lambda: NO_CONTEXT  # the poller's, once it exists
        self.skip_repeated = skip_repeated
        self._repeats = Repeats()

    def accept(self, poll: Poll, body: bytes | None) -> None:
        """The poller's hook: queue a valid snapshot's messages (a repeat left out with skip_repeated); the thread
        delivers them."""
        if not (poll.valid and body is not None):
            return
        repeat = self._repeats.check(poll)
        self.counts.repeats += repeat
        if repeat and self.skip_repeated:
            return
        stations = parse_status(body).stations
        messages = snapshot_messages(stations, poll.snapshot_time, self.wanted, self.context())
        self._queue(Pending(poll.fetched_text, messages))

    def _queue(self, pending: Pending) -> None:
        with self._changed:
            if len(self.backlog) >= self.max_backlog:
                lost = self.backlog.popleft()
                self.counts.dropped += 1
                first = self.counts.dropped_span[0] if self.counts.dropped_span else lost.fetched_at
                self.counts.dropped_span = (first, lost.fetched_at)
                where = f"it is in the recording {self.kept_in}" if self.kept_in else "it is lost (no --record)"
                self.status.note(f"Kafka backlog full: dropped the snapshot fetched at {lost.fetched_at}; {where}")
            self.backlog.append(pending)
            self._changed.notify_all()

    @contextlib.contextmanager
    def running(self) -> Iterator[Delivery]:
        """Deliver in a thread for the block; on the way out, a last attempt at what waits, then the producer closes."""
        self._thread = threading.Thread(target=self._run, name="live-delivery", daemon=True)
        with self.client_errors.installed():
            self._thread.start()
            try:
                yield self
            finally:
                with self._changed:
                    self._finishing = True
                    self._changed.notify_all()
                self._thread.join()
                self.close()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self.backlog or self._finishing)
                if not self.backlog:
                    return
            if not self.deliver():
                with self._changed:
                    if self._finishing:
                        return  # the last attempt failed: what waits is counted as undelivered
                    self._changed.wait(self.retry_every)

    def deliver(self) -> bool:
        """Send waiting snapshots oldest first; stop at the first failure (False), to retry later."""
        while self.backlog:
            publisher = self._publisher()
            if publisher is None:
                return False
            head = self.backlog[0]
            failed_before = publisher.stats.failed
            try:
                publisher.send(head.messages)  # blocks, then raises, when the broker went away
                stats = publisher.flush()
            except KafkaError as error:
                self.lost_connection(f"{type(error).__name__}: {error}")
                return False
            if stats.failed > failed_before or stats.pending:
                self.lost_connection(stats.first_error or "delivery timed out")
                return False
            with self._changed:
                if self.backlog and self.backlog[0] is head:  # a full backlog may have dropped it meanwhile
                    self.backlog.popleft()
                self.counts.published += 1
                self.counts.messages += len(head.messages)
            self._recovered()
        self._catching_up = False
        return True

    def _publisher(self) -> Publisher | None:
        if self.publisher is None:
            try:
                self.publisher = self.connect()
            except (UserError, KafkaError) as error:
                self.lost_connection(str(error))
        return self.publisher

    def lost_connection(self, reason: str) -> None:
        """Report once per outage, drop the producer (a new one reconnects cleanly) and keep the backlog."""
        self.counts.failures += 1
        self._catching_up = True
        if self._down_since is None:
            self._down_since = time.strftime("%H:%M:%S")
            self.status.note(f"Kafka unavailable ({reason}); {len(self.backlog)} snapshot(s) waiting, retrying")
        self.close()

    def _recovered(self) -> None:
        if self._down_since is not None:
            hidden = self.client_errors.ended()
            self.counts.client_errors_hidden += hidden
            lines = f"; {hidden} Kafka client error lines not shown" if hidden else ""
            self.status.note(f"Kafka reachable again (down since {self._down_since}){lines}; delivering the backlog")
            self._down_since = None

    @property
    def kafka_down(self) -> bool:
        """Kafka failed the last delivery attempt and has not taken one since."""
        return self._down_since is not None

    def waiting_s(self) -> float | None:
        """How long the oldest waiting snapshot has waited; None when none waits."""
        with self._changed:
            return round(time.monotonic() - self.backlog[0].queued_at, 3) if self.backlog else None

    def problem(self, waiting_limit_s: float) -> str | None:
        """Why delivery is unhealthy, in one line: Kafka unreachable, the backlog of an outage not yet delivered,
        or a snapshot waiting too long; else None."""
        waiting = len(self.backlog)
        if self._down_since is not None:
            return f"Kafka is unreachable since {self._down_since}; {waiting} snapshot(s) waiting"
        if self._catching_up:
            return f"Kafka is back; delivering the backlog of the outage, {waiting} snapshot(s) waiting"
        oldest = self.waiting_s()
        if oldest is not None and oldest > waiting_limit_s:
            return f"{waiting} snapshot(s) waiting for Kafka, the oldest for {oldest:g} s"
        return None

    def line(self) -> str:
        waiting = f" | waiting {len(self.backlog)}" if self.backlog else ""
        down = " | KAFKA DOWN" if self._down_since else ""
        return f" | published {self.counts.published} ({self.counts.messages} msgs){waiting}{down}"

    def close(self) -> None:
        if self.publisher is not None:
            publisher, self.publisher = self.publisher, None
            with contextlib.suppress(KafkaError):  # a producer whose broker is gone; its messages stay in the backlog
                publisher.close()


@dataclass(frozen=True)
class LivePlan:
    sources: Sources = field(default_factory=lambda: Sources(info_url=None))
    interval: float = DEFAULT_INTERVAL
    limits: Limits = field(default_factory=Limits)
    wanted: frozenset[str] | None = None
    record: Path | None = None  # tee: also record every poll (and station_information) here
    compression: str = DEFAULT_COMPRESSION
    max_backlog: int = DEFAULT_MAX_BACKLOG
    keyframe_every: int = KEYFRAME_EVERY
    skip_repeated: bool = False  # leave out a snapshot repeating the one before (sent by default)


@dataclass
class LiveResult:
    counts: PollCounts
    info: InfoCounts
    delivery: DeliveryCounts
    waiting: int  # snapshots still undelivered at the end
    elapsed: float
    stop_reason: str | None
    record: Path | None
    failure: str | None = None
    skip_repeated: bool = False

    @property
    def undelivered(self) -> int:
        return self.waiting + self.delivery.dropped

    def dropped(self) -> str:
        """Which snapshots a full backlog dropped, the oldest first."""
        first, last = self.delivery.dropped_span or ("-", "-")
        return f"dropped {self.delivery.dropped} snapshot(s), the oldest first: fetched from {first} to {last}"

    def summary(self) -> str:
        d = self.delivery
        ending = f"Stopped by {self.stop_reason}" if self.stop_reason else "Done"
        lines = [
            f"{ending} after {format_duration(self.elapsed)}",
            f"  {self.counts.accounting()}",
            *self.counts.faults(),
            f"  published {d.published} snapshots ({d.messages} messages), {d.repeats} repeated "
            f"{'left out (--skip-repeated)' if self.skip_repeated else 'sent again'}; "
            f"{self.waiting} still waiting, {d.dropped} dropped, {d.failures} Kafka failures",
        ]
        if d.dropped_span:
            lines.append(f"  {self.dropped()}")
        if d.client_errors_hidden:
            lines.append(f"  {d.client_errors_hidden} Kafka client error lines not shown during outages")
        if self.record:
            lines.append(f"  recorded to {self.record}")
        return "\n".join(lines)


def live(
    plan: LivePlan,
    connect: Connect,
    settings: ClientSettings | None = None,
    *,
    stopper: StopRequest | None = None,
    status: StatusLine | None = None,
    observer: Watcher | None = None,
) -> LiveResult:
    """Poll and publish until the plan's limits or a stop; a last delivery attempt is made at the end."""
    settings, status = settings or ClientSettings(), status or StatusLine()
    stopper = stopper if stopper is not None else StopRequest()  # an unset request is falsy
    writer: RecordingWriter | Unstored = Unstored()
    sources = plan.sources
    if plan.record:
        record_plan = RecordPlan(
            plan.record, sources, plan.interval, plan.limits, plan.compression, plan.keyframe_every
        )
        writer = open_writer(plan.record, plan.compression, source_of(record_plan, settings), plan.keyframe_every)
    else:
        sources = replace(sources, info_url=None)  # the station table is only recorded; the system's feeds are used
    delivery = Delivery(
        connect,
        status,
        wanted=plan.wanted,
        max_backlog=plan.max_backlog,
        kept_in=plan.record,
        skip_repeated=plan.skip_repeated,
    )
    schedule = Schedule(plan.interval)
    with ApiClient(settings) as client:
        poller = Poller(
            sources, client, writer, stopper, status, on_status=delivery.accept, suffix=delivery.line, observer=observer
        )
        delivery.context = lambda: poller.context
        if observer:
            observer.watch(poller, delivery)
        try:
            with delivery.running():
                run_loop(schedule, plan.limits, stopper, poller.step)
        finally:
            status.close()
    return LiveResult(
        poller.counts,
        poller.info,
        delivery.counts,
        len(delivery.backlog),
        time.monotonic() - schedule.start,
        stopper.reason,
        plan.record,
        stopper.failure,
        plan.skip_repeated,
    )
