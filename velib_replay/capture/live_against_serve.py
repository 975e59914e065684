"""``live`` against ``serve --inject``, in one process: does a live consumer lose anything on a bad API day?

The recording is served at max speed with the faults, and ``live`` polls it until every
status body has been served correctly once (a faulted request does not use one up), so
the expected outcome is known: with ``--skip-repeated`` (a stale answer is a repeat), every distinct
snapshot published exactly once, and each fault found again in the poll accounting. The scenario
runner calls it as one step.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from velib_replay.capture.client import ClientSettings
from velib_replay.capture.faults import HttpFault, HttpInjector
from velib_replay.capture.live import Connect, LivePlan, LiveResult, live
from velib_replay.capture.recorder import Limits, Sources, StatusLine
from velib_replay.capture.server import serve
from velib_replay.contracts.messages import Message, snapshot_messages
from velib_replay.recording import STATUS_FEED, Recording
from velib_replay.recording.repeats import without_repeats
from velib_replay.signals import StopRequest

# Without retries each request is one poll, so every fault shows in the accounting as itself;
# the timeout must exceed any slow=P:D given, or a slow answer becomes a timeout.
CLIENT = ClientSettings(connect_timeout=1.0, timeout=1.0, retries=0)
POLL_INTERVAL = 0.01  # s
FINISHED = "serve reaching the end of the recording"


@dataclass
class ApiOutageResult:
    """The server's faults and the live run's accounting, side by side."""

    live: LiveResult
    faults: dict[str, int]  # injected, by kind
    requests: int  # feed requests the server decided on
    distinct_snapshots: int  # in the recording: what live must publish
    complete: bool  # every status body was served correctly before the poll limit
    gap_reasons: dict[str, int] = field(default_factory=dict)
    invalid_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Distinct snapshots of the recording live did not publish (meaningful when ``complete``)."""
        return self.distinct_snapshots - self.live.delivery.published

    def as_dict(self) -> dict[str, Any]:
        c, d = self.live.counts, self.live.delivery
        return {
            "faults": self.faults,
            "requests": self.requests,
            "complete": self.complete,
            "polls": c.polls,
            "snapshots": c.snapshots,
            "repeated": c.repeated,
            "gaps": c.gaps,
            "invalid": c.invalid,
            "gap_reasons": self.gap_reasons,
            "invalid_reasons": self.invalid_reasons,
            "published": d.published,
            "messages": d.messages,
            "distinct_snapshots": self.distinct_snapshots,
            "lost": self.lost,
            "undelivered": self.live.undelivered,
        }


def distinct_snapshots(recording: Recording) -> int:
    """Valid status snapshots, a run of the same feed clock counted once: what ``live --skip-repeated`` publishes."""
    return len(without_repeats(recording.snapshots()))


def published_once(recording: Recording, wanted: frozenset[str] | None = None) -> list[Message]:
    """What ``live --skip-repeated`` publishes from a recording: play's messages, each repeat left out."""
    fresh = without_repeats(recording.snapshots())
    return [message for s in fresh for message in snapshot_messages(s.stations, s.snapshot_time, wanted)]


def live_against_serve(
    recording: Recording,
    connect: Connect,
    faults: Sequence[HttpFault],
    *,
    seed: int,
    settings: ClientSettings = CLIENT,
    wanted: frozenset[str] | None = None,
    record: Path | None = None,
    max_polls: int | None = None,
    interval: float = POLL_INTERVAL,
) -> ApiOutageResult:
    """Serve ``recording`` with ``faults`` (seeded) on a free loopback port and run ``live`` against it.

    ``connect`` opens the publisher (``kafka_connector(kafka, topic)``); ``record`` tees the polls
    into a recording, for ``info``. Polling stops once every status body was served correctly, or after
    ``max_polls`` (default: 20 per status poll of the recording, so ``error=1`` ends too).
    """
    injector = HttpInjector(faults, seed)
    stopper = StopRequest()
    limit = max_polls or 20 * len(recording.polls(STATUS_FEED)) + 20
    server = serve(recording, speed=None, port=0, injector=injector, on_finished=lambda: stopper.set(FINISHED))
    with server.start():
        sources = Sources(f"{server.url}/{STATUS_FEED}.json", None)
        plan = LivePlan(sources, interval, Limits(count=limit), wanted, record, skip_repeated=True)
        result = live(plan, connect, settings, stopper=stopper, status=StatusLine(io.StringIO(), tty=False))
    return ApiOutageResult(
        live=result,
        faults=dict(injector.counts),
        requests=injector.requests,
        distinct_snapshots=distinct_snapshots(recording),
        complete=result.stop_reason == FINISHED,
        gap_reasons=dict(result.counts.gap_reasons),
        invalid_reasons=dict(result.counts.invalid_reasons),
    )
