"""``velib-replay record``: poll the API for hours or days and lose nothing.

Polls run on a monotonic-clock schedule (start + k·interval): they neither drift
by the time each poll takes nor bunch up after a slow one (missed ticks are
skipped and counted). Every poll is stored by RecordingWriter, atomically, as a
snapshot, an invalid body or a gap with its reason, so ``polls = snapshots +
gaps + invalid`` always holds. station_information is checked every
``info_every`` seconds and stored only when its content changed.

SIGINT/SIGTERM never cut a write: a signal during a fetch or a wait abandons it
(nothing half-written), a signal during a write lets it finish, then the loop
stops and the summary is printed. The schedule, the stop logic and the status
line are shared with ``live``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit, urlunsplit

from velib_replay import config
from velib_replay.capture.client import USER_AGENT, ApiClient, ClientSettings, check_url, discover_feeds, redact_url
from velib_replay.contracts.feed import NO_CONTEXT, FeedError, iso_utc, parse_document, system_context
from velib_replay.errors import UserError
from velib_replay.recording import (
    CONTEXT_FEEDS,
    DELTA,
    INFO_FEED,
    KEYFRAME_EVERY,
    MANIFEST,
    STATUS_FEED,
    SYSTEM_FEED,
    TYPES_FEED,
    Poll,
    Recording,
    RecordingWriter,
    checked,
)
from velib_replay.recording.info import reason_category
from velib_replay.recording.repeats import Repeats
from velib_replay.signals import Interrupted, StopRequest
from velib_replay.units import format_bytes, format_duration

log = logging.getLogger(__name__)


class Watcher(Protocol):
    """Whoever watches a polling run (``observe``'s CaptureObserver): told of the run once, then of every poll.

    A protocol, so capture never imports what watches it.
    """

    def watch(self, poller: Poller, delivery: Any = None) -> None: ...

    def seen(self, poll: Poll) -> None: ...


DEFAULT_INTERVAL = 60.0
DEFAULT_INFO_EVERY = 3600.0
DEFAULT_COMPRESSION = DELTA  # ~6 KB per realistic poll vs 25.5 KB zstd-15 and 33.5 KB gzip-6: see recording.codec
_VOLATILE_KEYS = ("lastUpdatedOther", "last_updated", "ttl")


def default_out_dir(now: datetime | None = None) -> Path:
    """A new folder named after the UTC start time, under the checkout's recordings/."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return config.recordings_dir() / moment.strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class Limits:
    """When a run ends by itself: after ``count`` polls or once ``duration`` seconds are over."""

    count: int | None = None
    duration: float | None = None

    def reached(self, polls: int, elapsed: float) -> bool:
        return (self.count is not None and polls >= self.count) or (
            self.duration is not None and elapsed >= self.duration
        )


class Schedule:
    """Poll times on the monotonic clock: start + k·interval, skipping ticks a slow poll overran."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        if not (math.isfinite(interval) and interval > 0):  # nan would pass "<= 0" and make a busy loop
            raise UserError(f"interval must be a finite number of seconds above 0, not {interval}")
        self.interval = interval
        self.clock = clock
        self.start = self.next_at = clock()
        self.skipped = 0

    def delay(self) -> float:
        """Seconds to wait before the next poll."""
        return max(0.0, self.next_at - self.clock())

    def elapsed_at_next(self) -> float:
        return self.next_at - self.start

    def advance(self, not_before: float | None = None) -> None:
        """Move to the next tick still ahead; ``not_before`` (a Retry-After, s) pushes it further."""
        now = self.clock()
        self.next_at += self.interval
        if self.next_at <= now:  # even after a laptop slept for days: arithmetic, not a loop
            missed = math.floor((now - self.next_at) / self.interval) + 1
            self.next_at += missed * self.interval
            self.skipped += missed
        if not_before:
            self.next_at = max(self.next_at, now + not_before)


class StatusLine:
    """A one-line status refreshed in place on a terminal, logged lines otherwise."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._shown = ""

    def show(self, text: str) -> None:
        if not self.tty:
            log.info(text)
            return
        self.stream.write("\r\x1b[2K" + text)
        self.stream.flush()
        self._shown = text

    def note(self, text: str) -> None:
        """A warning that must stay visible (a gap, an invalid body), printed above the status."""
        if not self.tty:
            log.warning(text)
            return
        self.stream.write("\r\x1b[2K" + text + "\n" + self._shown)
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = ""


def run_loop(schedule: Schedule, limits: Limits, stopper: StopRequest, step: Callable[[], float | None]) -> int:
    """Call ``step`` at each tick until a limit or a stop; ``step`` returns a Retry-After or None."""
    ticks = 0
    while not limits.reached(ticks, schedule.elapsed_at_next()) and not stopper.wait(schedule.delay()):
        try:
            not_before = step()
        except Interrupted:
            break
        except OSError as error:  # the recording cannot be written: stop, say why; what is written stays readable
            stopper.fail(f"cannot write the recording: {error}")
            break
        ticks += 1
        schedule.advance(not_before)
    return ticks


@dataclass
class PollCounts:
    """Status polls by outcome: ``polls == snapshots + gaps + invalid``."""

    polls: int = 0
    snapshots: int = 0
    repeated: int = 0  # snapshots repeating the one before (``recording.repeats``)
    gaps: int = 0
    invalid: int = 0
    stored_bytes: int = 0
    latest_feed_time: int | None = None
    gap_reasons: Counter[str] = field(default_factory=Counter)  # by the stable head of the reason (``timeout``…)
    invalid_reasons: Counter[str] = field(default_factory=Counter)
    retries: int = 0  # attempts beyond each poll's first: faults a retry made good (or that preceded a gap)
    failing: int = 0  # polls in a row, up to the last, that gave no valid snapshot
    last_failure: str | None = None  # why the last of them failed
    repeats: Repeats = field(default_factory=Repeats, repr=False)

    def count(self, poll: Poll) -> None:
        self.polls += 1
        self.stored_bytes += poll.stored_size
        self.retries += max(0, (poll.attempts or 1) - 1)
        failed = poll.is_gap or not poll.valid
        self.failing = self.failing + 1 if failed else 0
        self.last_failure = reason_category(poll.error) if failed else None
        if poll.is_gap:
            self.gaps += 1
            self.gap_reasons[reason_category(poll.error)] += 1
        elif not poll.valid:
            self.invalid += 1
            self.invalid_reasons[reason_category(poll.error)] += 1
        else:
            self.snapshots += 1
            self.repeated += self.repeats.check(poll)
            self.latest_feed_time = poll.last_updated if poll.last_updated is not None else self.latest_feed_time

    def accounting(self) -> str:
        return (
            f"{self.polls} polls = {self.snapshots} snapshots ({self.repeated} repeated)"
            f" + {self.gaps} gaps + {self.invalid} invalid"
        )

    def faults(self) -> list[str]:
        """What went wrong, by reason, in summary lines (none when nothing did)."""
        lines = [
            f"  {label}: " + ", ".join(f"{reason} x{count}" for reason, count in reasons.most_common())
            for label, reasons in (("gaps", self.gap_reasons), ("invalid", self.invalid_reasons))
            if reasons
        ]
        if self.retries:
            lines.append(f"  retries: {self.retries} (failed attempts tried again)")
        return lines

    def line(self) -> str:
        feed_time = iso_utc(self.latest_feed_time) if self.latest_feed_time is not None else "-"
        return (
            f"polls {self.polls} | snapshots {self.snapshots} ({self.repeated} repeated) | gaps {self.gaps} "
            f"| invalid {self.invalid} | {format_bytes(self.stored_bytes)} | feed {feed_time}"
        )


def problem(poll: Poll) -> str | None:
    """The warning a poll deserves, if any."""
    if poll.is_gap:
        return f"{poll.fetched_text} {poll.feed}: gap: {poll.error}"
    if not poll.valid:
        return f"{poll.fetched_text} {poll.feed}: invalid body stored ({poll.size} bytes): {poll.error}"
    return None


def content_key(body: bytes) -> str | None:
    """A hash of a feed document without its clock fields, to tell a changed station table; None if not JSON."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(document, dict):
        document = {key: value for key, value in document.items() if key not in _VOLATILE_KEYS}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Sources:
    """The feeds to poll; station_information is optional (None) and checked every ``info_every`` s.

    ``others``: system_information, vehicle_types and system_regions where the system's gbfs.json lists
    them, each checked again when its own ``ttl`` is over, and stored when its content changed.
    """

    status_url: str = config.STATUS_URL
    info_url: str | None = config.INFO_URL
    info_every: float = DEFAULT_INFO_EVERY
    others: tuple[tuple[str, str], ...] = ()  # (feed name, url)


@dataclass(frozen=True)
class RecordPlan:
    """What to record, where, how often, and until when."""

    out: Path
    sources: Sources = field(default_factory=Sources)
    interval: float = DEFAULT_INTERVAL
    limits: Limits = field(default_factory=Limits)
    compression: str = DEFAULT_COMPRESSION
    keyframe_every: int = KEYFRAME_EVERY


@dataclass
class InfoCounts:
    checks: int = 0
    stored: int = 0
    failed: int = 0


class Poller:
    """One tick: poll station_status, then station_information when its check is due, and hand each
    poll to the writer (a recording, or ``Unstored`` when ``live`` keeps none).

    ``record`` and ``live`` share it; ``on_status`` sees every status poll with its body (``live``
    publishes from it); ``suffix`` adds to the status line.
    """

    def __init__(
        self,
        sources: Sources,
        client: ApiClient,
        writer: RecordingWriter | Unstored,
        stopper: StopRequest,
        status: StatusLine,
        *,
        on_status: Callable[[Poll, bytes | None], None] | None = None,
        suffix: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        observer: Watcher | None = None,
    ):
        self.sources, self.client, self.writer, self.stopper, self.status = sources, client, writer, stopper, status
        self.on_status, self.suffix, self.clock, self.observer = on_status, suffix, clock, observer
        self.counts = PollCounts()
        self.info = InfoCounts()
        self._info_due = clock()
        self._info_key: str | None = None
        self._due = {feed: clock() for feed, _ in sources.others}
        self._keys: dict[str, str] = {}
        self._latest: dict[str, bytes] = {}  # the last usable body of each other feed
        self.context = NO_CONTEXT  # what ``live``'s messages add from the system's feeds (``feed.added_fields``)

    def step(self) -> float | None:
        for feed, url in self.sources.others:  # first, so the first snapshot already has the system's context
            if self.clock() >= self._due[feed]:
                self.check_other(feed, url)
        retry_after = self.poll_status()
        if self.sources.info_url and self.clock() >= self._info_due:
            self.check_info(self.sources.info_url)
        return retry_after

    def poll_status(self) -> float | None:
        with self.stopper.interruptible():
            fetch = self.client.fetch(self.sources.status_url)
        poll = self.writer.write(fetch.to_poll(STATUS_FEED), fetch.body)
        self.counts.count(poll)
        if self.observer:
            self.observer.seen(poll)
        if self.on_status:
            self.on_status(poll, fetch.body)
        self._report(poll)
        return fetch.retry_after

    def check_info(self, url: str) -> None:
        """Store the station table when it changed; retry at the next tick when the check failed."""
        with self.stopper.interruptible():
            fetch = self.client.fetch(url)
        self.info.checks += 1
        key = content_key(fetch.body) if fetch.body is not None and fetch.error is None else None
        if key is not None and key == self._info_key:
            self._info_due = self.clock() + self.sources.info_every
            return
        poll = self.writer.write(fetch.to_poll(INFO_FEED), fetch.body)
        if key is None or not poll.valid:
            self.info.failed += 1
            self.status.note(problem(poll) or f"{poll.fetched_text} {INFO_FEED}: unusable body")
            return
        self._info_key = key
        self.info.stored += 1
        self._info_due = self.clock() + self.sources.info_every

    def check_other(self, feed: str, url: str) -> None:
        """Store a system feed when it changed; checked again after its ``ttl`` (at the next tick when the
        check failed, or every ``info_every`` when it states no ttl)."""
        with self.stopper.interruptible():
            fetch = self.client.fetch(url)
        key = content_key(fetch.body) if fetch.body is not None and fetch.error is None else None
        self._due[feed] = self.clock() + (_ttl(fetch.body) if key is not None else 0.0)
        if key is None or key != self._keys.get(feed):
            poll = self.writer.write(fetch.to_poll(feed), fetch.body)
            if key is None or not poll.valid:
                self.status.note(problem(poll) or f"{poll.fetched_text} {feed}: unusable body")
                return
            self._keys[feed] = key
            self._latest[feed] = fetch.body or b""
            self.context = system_context(self._latest.get(SYSTEM_FEED), self._latest.get(TYPES_FEED))

    def _report(self, poll: Poll) -> None:
        warning = problem(poll)
        if warning:
            self.status.note(warning)
        self.status.show(self.counts.line() + (self.suffix() if self.suffix else ""))


class Unstored:
    """Stands in for a RecordingWriter when nothing is recorded: assesses the poll, writes nothing."""

    NOT_STORED = "(not stored)"  # a body_file that marks a body received but not written: not a gap

    def write(self, poll: Poll, body: bytes | None) -> Poll:
        assessed = checked(poll, body)
        return assessed if body is None else replace(assessed, body_file=self.NOT_STORED)


@dataclass
class RecordResult:
    out: Path
    counts: PollCounts
    info: InfoCounts
    elapsed: float
    skipped_ticks: int
    stop_reason: str | None
    abandoned: bool
    failure: str | None = None

    def summary(self) -> str:
        c = self.counts
        ending = f"Stopped by {self.stop_reason}" if self.stop_reason else "Done"
        if self.abandoned:
            ending += " (the fetch in flight was abandoned, nothing half-written)"
        lines = [
            f"{ending} after {format_duration(self.elapsed)}: {self.out}",
            f"  {STATUS_FEED}: {c.accounting()}; latest feed time "
            f"{iso_utc(c.latest_feed_time) if c.latest_feed_time is not None else '-'}",
            *c.faults(),
            f"  {INFO_FEED}: {self.info.checks} checks, {self.info.stored} stored, {self.info.failed} failed",
            f"  {format_bytes(c.stored_bytes)} of status bodies stored",
        ]
        if self.skipped_ticks:
            lines.append(f"  ticks skipped because a poll overran the interval: {self.skipped_ticks}")
        return "\n".join(lines)


def _ttl(body: bytes | None, fallback: float = DEFAULT_INFO_EVERY) -> float:
    """A feed's ``ttl`` in seconds (0 means: check at every poll); ``fallback`` when it states none."""
    try:
        ttl = parse_document(body).ttl if body is not None else None
    except FeedError:
        ttl = None
    return float(ttl) if ttl is not None else fallback


def open_writer(
    out: Path, compression: str, source: dict[str, Any], keyframe_every: int = KEYFRAME_EVERY
) -> RecordingWriter:
    """A writer on a new folder, or appending to an existing recording (to resume after a crash)."""
    try:
        if out.exists() and not out.is_dir():
            raise UserError(f"{out} exists and is not a folder")
        if out.is_dir() and any(out.iterdir()):
            if not (out / MANIFEST).is_file():
                raise UserError(f"{out} is a non-empty folder that is not a recording; choose another --out")
            Recording(out)  # checks the format before appending to it
        return RecordingWriter(out, compression=compression, source=source, keyframe_every=keyframe_every)
    except OSError as error:  # under a regular file, no permission…: said in one line, before any poll
        raise UserError(f"cannot create the recording {out}: {error.strerror or error}") from None


def source_of(plan: RecordPlan, settings: ClientSettings) -> dict[str, Any]:
    """What the manifest says about how the recording was made, without any credential."""
    return {
        "source": {
            "tool": USER_AGENT,
            "status_url": redact_url(plan.sources.status_url),
            "info_url": redact_url(plan.sources.info_url) if plan.sources.info_url else None,
            "interval_s": plan.interval,
            "info_every_s": plan.sources.info_every,
            "other_feeds": {feed: redact_url(url) for feed, url in plan.sources.others},
            "compression": plan.compression,
            "request_headers": sorted(settings.headers),  # names only: values may be keys
        }
    }


def record(
    plan: RecordPlan,
    settings: ClientSettings | None = None,
    *,
    stopper: StopRequest | None = None,
    status: StatusLine | None = None,
    observer: Watcher | None = None,
) -> RecordResult:
    """Record until the plan's limits or a stop; the CLI wraps this in ``stopper.handled()``."""
    settings = settings or ClientSettings()
    stopper = stopper if stopper is not None else StopRequest()  # an unset request is falsy
    status = status or StatusLine()
    writer = open_writer(plan.out, plan.compression, source_of(plan, settings), plan.keyframe_every)
    schedule = Schedule(plan.interval)
    with ApiClient(settings) as client:
        poller = Poller(plan.sources, client, writer, stopper, status, observer=observer)
        if observer:
            observer.watch(poller)
        try:
            run_loop(schedule, plan.limits, stopper, poller.step)
        finally:
            status.close()
    elapsed = time.monotonic() - schedule.start
    return RecordResult(
        plan.out,
        poller.counts,
        poller.info,
        elapsed,
        schedule.skipped,
        stopper.reason,
        stopper.abandoned,
        stopper.failure,
    )


def resolve_sources(
    status_url: str | None,
    info_url: str | None,
    gbfs_url: str | None,
    info_every: float = DEFAULT_INFO_EVERY,
    settings: ClientSettings | None = None,
    lang: str | None = None,
) -> Sources:
    """The feeds to poll: explicit URLs first, then those a gbfs.json lists, then Vélib' Métropole's.

    Without ``info_url``, station_information is looked for beside an explicit
    ``status_url`` (never at another API than the one recorded); ``none`` turns it off.
    """
    listed: dict[str, str] = {}
    if gbfs_url:
        with ApiClient(settings) as client:
            listed = discover_feeds(client, check_url(gbfs_url, "--gbfs"), lang)
    status = check_url(status_url or listed.get("station_status") or config.STATUS_URL, "--url")
    if info_url is None:
        info_url = listed.get("station_information") if gbfs_url else sibling_info_url(status)
    if info_url and info_url.strip().lower() == "none":
        info_url = None
    others = tuple((feed, listed[feed]) for feed in CONTEXT_FEEDS if feed in listed)
    return Sources(status, check_url(info_url, "--info-url") if info_url else None, info_every, others)


def sibling_info_url(status_url: str) -> str | None:
    """``…/station_information.json`` beside a ``…/station_status.json`` URL (GBFS feeds are siblings)."""
    parts = urlsplit(status_url)
    folder, _, name = parts.path.rpartition("/")
    if name != f"{STATUS_FEED}.json":
        return None
    return urlunsplit((parts.scheme, parts.netloc, f"{folder}/{INFO_FEED}.json", parts.query, ""))
