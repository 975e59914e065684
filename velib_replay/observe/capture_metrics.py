"""What ``record``, ``live`` and ``serve`` expose: read at scrape time from the counts they keep anyway.

Only the fetch latency is observed poll by poll (a histogram needs every sample); everything else is
a view of ``PollCounts`` and ``DeliveryCounts``, so the metrics can never disagree with the summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import Histogram
from prometheus_client.registry import Collector

from velib_replay.config import WAITING_UNHEALTHY_S
from velib_replay.observe.health import Check, at_most
from velib_replay.observe.metrics import PREFIX, Observed, counter, gauge, labelled_counter
from velib_replay.recording import Poll

if TYPE_CHECKING:
    from velib_replay.capture.live import Delivery
    from velib_replay.capture.recorder import Poller
    from velib_replay.capture.server import ReplayServer

FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class CaptureObserver(Collector):
    """Metrics, health checks and status facts of one polling run; ``watch`` is called once it has started."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time):
        self.clock, self.wall = clock, wall
        self.observed = Observed()
        self.fetch_seconds = Histogram(
            PREFIX + "fetch_seconds",
            "Time to fetch station_status, retries included.",
            buckets=FETCH_BUCKETS,
            registry=self.observed.registry,
        )
        self.observed.registry.register(self)
        self.poller: Poller | None = None
        self.delivery: Delivery | None = None
        self._fresh_at = clock()  # when the feed clock last moved (the start, before any snapshot)
        self._feed_time: int | None = None

    def watch(self, poller: Poller, delivery: Delivery | None = None) -> None:
        self.poller, self.delivery = poller, delivery
        self._fresh_at = self.clock()

    def seen(self, poll: Poll) -> None:
        """Every status poll: its fetch time, and whether the feed clock moved (a new snapshot)."""
        if poll.latency_ms is not None:
            self.fetch_seconds.observe(poll.latency_ms / 1000)
        if poll.valid and poll.last_updated is not None and poll.last_updated != self._feed_time:
            self._feed_time = poll.last_updated
            self._fresh_at = self.clock()

    def since_new_snapshot(self) -> float:
        return round(self.clock() - self._fresh_at, 3)

    def feed_age(self) -> float | None:
        """Now minus the feed's own clock (``lastUpdatedOther``) of the latest snapshot."""
        return None if self._feed_time is None else round(self.wall() - self._feed_time, 3)

    def checks(self, stale_after: float) -> list[Check]:
        """Unhealthy while Kafka is unreachable or a snapshot waits undelivered too long (``live``), while polls
        fail, and when no new snapshot came for ``stale_after`` seconds; in that order, the first one says why."""
        stale = at_most("time since the feed's last new snapshot", self.since_new_snapshot, stale_after, "s")
        return [self.delivery_problem, self.polls_failing, stale]

    def delivery_problem(self) -> str | None:
        """Read when asked: the checks are made before ``watch`` names the delivery (the Kafka check never ran)."""
        return self.delivery.problem(WAITING_UNHEALTHY_S) if self.delivery is not None else None

    def polls_failing(self) -> str | None:
        counts = self.poller.counts if self.poller is not None else None
        if counts is None or not counts.failing:
            return None
        return f"the last {counts.failing} poll(s) of station_status failed ({counts.last_failure})"

    def serving_health(self, stale_after: float) -> Observed:
        self.observed.checks = self.checks(stale_after)
        return self.observed

    def facts(self) -> dict[str, Any]:
        """The status line's facts as fields (JSON logs)."""
        facts: dict[str, Any] = {}
        if self.poller is not None:
            c = self.poller.counts
            facts |= {"polls": c.polls, "snapshots": c.snapshots, "repeated": c.repeated, "gaps": c.gaps}
            facts |= {"invalid": c.invalid, "stored_bytes": c.stored_bytes, "feed_time": c.latest_feed_time}
        if self.delivery is not None:
            d = self.delivery.counts
            facts |= {"published": d.published, "messages": d.messages, "waiting": len(self.delivery.backlog)}
            facts |= {"dropped": d.dropped, "kafka_failures": d.failures, "kafka_down": self.delivery.kafka_down}
        return facts

    def collect(self) -> Iterator[Any]:
        if self.poller is not None:
            c = self.poller.counts
            outcomes = {"snapshot": c.snapshots, "gap": c.gaps, "invalid": c.invalid}
            yield labelled_counter("polls", "station_status polls by outcome.", "outcome", outcomes)
            yield gauge(
                "seconds_since_new_snapshot", "Seconds since the feed clock last moved.", self.since_new_snapshot()
            )
            age = self.feed_age()
            if age is not None:
                yield gauge("feed_age_seconds", "Now minus the latest snapshot's lastUpdatedOther.", age)
        if self.delivery is not None:
            d = self.delivery.counts
            yield counter("snapshots_published", "Snapshots fully acknowledged by Kafka.", d.published)
            yield counter("messages_published", "Station messages acknowledged by Kafka.", d.messages)
            yield counter("snapshots_dropped", "Snapshots pushed out of a full backlog.", d.dropped)
            yield counter("kafka_failures", "Kafka connection or delivery failures.", d.failures)
            yield gauge("backlog_snapshots", "Snapshots waiting for Kafka.", len(self.delivery.backlog))
            yield gauge(
                "kafka_up", "1 while Kafka takes deliveries, 0 during an outage.", 0 if self.delivery.kafka_down else 1
            )


class ServerObserver(Collector):
    """``serve``: requests answered and failed (unreadable recorded bodies)."""

    def __init__(self, server: ReplayServer):
        self.server = server
        self.observed = Observed()
        self.observed.registry.register(self)

    def collect(self) -> Iterator[Any]:
        answered = {"served": self.server.requests_served, "failed": self.server.requests_failed}
        yield labelled_counter("serve_requests", "Requests answered by serve, by outcome.", "outcome", answered)
