"""``velib-replay info``: what a recording holds, and whether every poll is accounted for.

The statistics are plain functions over a Recording's polls and bodies, so tests
check them on recordings they build. Station sets are read only from snapshots
whose body changed (same sha256, same stations), which keeps a week-long
recording's ``info`` to one parse per distinct body.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from velib_replay.contracts.feed import declared_version, parse_status, station_code
from velib_replay.recording import CONTEXT_FEEDS, INFO_FEED, STATUS_FEED, DamagedBody, Poll, Recording
from velib_replay.recording.codec import NAMES
from velib_replay.recording.repeats import count_repeats
from velib_replay.recording.validation import findings
from velib_replay.units import format_bytes, format_duration

_REASON_END = re.compile(r"[:(]")
_TEMP_AGE_S = 3600  # a .tmp- file this old belongs to no write in progress


@dataclass(frozen=True)
class GapRun:
    """Consecutive gap polls: how many, and how long the feed went without a response."""

    polls: int = 0
    seconds: float = 0.0
    start: str | None = None


@dataclass(frozen=True)
class StationChanges:
    min_per_snapshot: int | None = None
    max_per_snapshot: int | None = None
    distinct: int = 0
    appeared: dict[str, int] = field(default_factory=dict)  # code → times it (re)appeared after the first snapshot
    vanished: dict[str, int] = field(default_factory=dict)  # code → times it was missing from the next snapshot


@dataclass(frozen=True)
class FeedSummary:
    polls: int
    bodies: int
    valid: int
    invalid: int
    gaps: int
    retried: int  # polls that needed more than one HTTP attempt
    retries: int  # the attempts beyond each poll's first: faults a retry made good (or that preceded a gap)
    raw_bytes: int
    stored_bytes: int


@dataclass(frozen=True)
class RecordingInfo:
    path: str
    first: str | None
    last: str | None
    span_s: float
    polls: int
    snapshots: int
    distinct_feed_times: int
    repeated_snapshots: int
    gaps: int
    longest_gap: GapRun
    invalid: int
    gap_reasons: dict[str, int]
    invalid_reasons: dict[str, int]
    slowest_ms: float | None  # the longest status poll latency: a slow API shows here, not as a gap
    slowest_at: str | None
    stations: StationChanges
    feeds: dict[str, FeedSummary]
    disk_bytes: int  # allocated blocks: what the folder costs (small meta files take a block each)
    file_bytes: int  # the files' own sizes
    raw_bytes: int
    stored_bytes: int
    compression: list[str]
    codec: str  # how the recording stores bodies: v1's whole files, or v2's deltas with their keyframe interval
    system: str | None = None  # system_information's system_id, when recorded
    gbfs_version: str | None = None  # the version the first status body declares (Vélib' declares none)
    findings: dict[str, int] = field(default_factory=dict)  # feed → schema findings in its latest valid body
    damaged: list[str] = field(default_factory=list)  # one line per body that is not the one its meta file names

    @property
    def compression_ratio(self) -> float | None:
        return self.raw_bytes / self.stored_bytes if self.stored_bytes else None

    @property
    def accounted(self) -> bool:
        return self.polls == self.snapshots + self.gaps + self.invalid

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["compression_ratio"] = round(self.compression_ratio, 2) if self.compression_ratio else None
        document["accounted"] = self.accounted
        return document


def reason_category(error: str | None) -> str:
    """The stable head of a reason (``HTTP 503 Service Unavailable``, ``timeout``, ``not JSON``)."""
    text = (error or "unknown").strip()
    match = _REASON_END.search(text)
    return (text[: match.start()] if match else text).strip() or "unknown"


def reasons(polls: Iterable[Poll]) -> dict[str, int]:
    return dict(Counter(reason_category(poll.error) for poll in polls).most_common())


def longest_gap(polls: Sequence[Poll]) -> GapRun:
    """The longest run of consecutive gaps, timed from the last response before it to the first after."""
    best, run_start = GapRun(), None
    for index, poll in enumerate(polls):
        if not poll.is_gap:
            run_start = None
            continue
        run_start = index if run_start is None else run_start
        before = polls[run_start - 1] if run_start > 0 else polls[run_start]
        after = polls[index + 1] if index + 1 < len(polls) else poll
        seconds = (after.fetched_at - before.fetched_at).total_seconds()
        run = GapRun(index - run_start + 1, seconds, polls[run_start].fetched_text)
        if (run.polls, run.seconds) > (best.polls, best.seconds):
            best = run
    return best


def station_changes(snapshots: Iterable[frozenset[str]]) -> StationChanges:
    """Min/max stations per snapshot, and which stations appeared or vanished between snapshots."""
    sizes: list[int] = []
    appeared: Counter[str] = Counter()
    vanished: Counter[str] = Counter()
    seen: set[str] = set()
    previous: frozenset[str] | None = None
    for codes in snapshots:
        sizes.append(len(codes))
        if previous is not None:
            appeared.update(codes - previous)
            vanished.update(previous - codes)
        seen |= codes
        previous = codes
    return StationChanges(min(sizes, default=None), max(sizes, default=None), len(seen), dict(appeared), dict(vanished))


def damaged_bodies(recording: Recording) -> dict[str, str]:
    """Every body checked against its meta file's sha256 (v2: the rebuilt snapshot): the body files that cannot
    be had whole, each with the line naming the damaged file (in a v2 chain, maybe the keyframe it rests on)."""
    damaged = {}
    for poll in recording.polls():
        if not poll.is_gap:
            try:
                recording.body(poll)
            except DamagedBody as error:
                damaged[str(poll.body_file)] = str(error)
    return damaged


def station_sets(recording: Recording, snapshots: Iterable[Poll]) -> Iterable[frozenset[str]]:
    """The station codes of each snapshot, parsing a body only when it differs from the previous one."""
    previous_sha, previous_codes = None, frozenset()
    for poll in snapshots:
        if poll.sha256 is None or poll.sha256 != previous_sha:
            stations = parse_status(recording.body(poll)).stations
            previous_codes = frozenset(code for code in map(station_code, stations) if code is not None)
            previous_sha = poll.sha256
        yield previous_codes


def feed_summary(polls: Sequence[Poll]) -> FeedSummary:
    bodies = [poll for poll in polls if not poll.is_gap]
    valid = sum(poll.valid for poll in bodies)
    return FeedSummary(
        polls=len(polls),
        bodies=len(bodies),
        valid=valid,
        invalid=len(bodies) - valid,
        gaps=len(polls) - len(bodies),
        retried=sum((poll.attempts or 1) > 1 for poll in polls),
        retries=sum(max(0, (poll.attempts or 1) - 1) for poll in polls),
        raw_bytes=sum(poll.size for poll in bodies),
        stored_bytes=sum(poll.stored_size for poll in bodies),
    )


def disk_usage(path: Path) -> tuple[int, int]:
    """(allocated bytes, file bytes) of every file in the folder."""
    stats = [entry.stat() for entry in path.rglob("*") if entry.is_file()]
    return sum(getattr(stat, "st_blocks", 0) * 512 or stat.st_size for stat in stats), sum(s.st_size for s in stats)


def describe(recording: Recording) -> RecordingInfo:
    """Every statistic ``info`` prints, computed from the recording's polls and bodies."""
    polls = recording.polls()
    status = recording.polls(STATUS_FEED)
    damaged = damaged_bodies(recording)
    snapshots = [poll for poll in status if poll.valid and not poll.is_gap]
    whole = [poll for poll in snapshots if poll.body_file not in damaged]
    feed_times = [poll.snapshot_time for poll in snapshots]
    feeds = {feed: feed_summary(recording.polls(feed)) for feed in (STATUS_FEED, INFO_FEED)}
    feeds |= {feed: feed_summary(recording.polls(feed)) for feed in CONTEXT_FEEDS if recording.polls(feed)}
    suffixes = {Path(poll.body_file).suffix for poll in polls if poll.body_file}
    disk_bytes, file_bytes = disk_usage(recording.path)
    slowest = max((poll for poll in status if poll.latency_ms is not None), key=_latency, default=None)
    return RecordingInfo(
        path=str(recording.path),
        first=polls[0].fetched_text if polls else None,
        last=polls[-1].fetched_text if polls else None,
        span_s=(polls[-1].fetched_at - polls[0].fetched_at).total_seconds() if polls else 0.0,
        polls=len(status),
        snapshots=len(snapshots),
        distinct_feed_times=len(set(feed_times)),
        repeated_snapshots=count_repeats(snapshots),
        gaps=feeds[STATUS_FEED].gaps,
        longest_gap=longest_gap(status),
        invalid=feeds[STATUS_FEED].invalid,
        gap_reasons=reasons(poll for poll in status if poll.is_gap),
        invalid_reasons=reasons(poll for poll in status if not poll.is_gap and not poll.valid),
        slowest_ms=slowest.latency_ms if slowest else None,
        slowest_at=slowest.fetched_text if slowest else None,
        stations=station_changes(station_sets(recording, whole)),
        feeds=feeds,
        disk_bytes=disk_bytes,
        file_bytes=file_bytes,
        raw_bytes=sum(feed.raw_bytes for feed in feeds.values()),
        stored_bytes=sum(feed.stored_bytes for feed in feeds.values()),
        compression=sorted(NAMES.get(s, s) for s in suffixes),
        codec=codec_of(recording),
        system=recording.context_at(snapshots[-1]).system_id if snapshots else None,
        gbfs_version=declared_version(recording.body(whole[0])) if whole else None,
        findings=schema_findings(recording, list(feeds)),
        damaged=sorted(set(damaged.values())),
    )


def schema_findings(recording: Recording, feeds: list[str]) -> dict[str, int]:
    """feed → findings of its latest valid body against its version's schema (feeds without one left out)."""
    found = {}
    for feed in feeds:
        bodies = [poll for poll in recording.polls(feed) if poll.valid and not poll.is_gap]
        count = findings(feed, recording.body(bodies[-1])) if bodies else None
        if count is not None:
            found[feed] = count
    return found


def codec_of(recording: Recording) -> str:
    """``v2 zstd-delta (level 9, a keyframe every 60 polls)`` from the manifest, or ``v1`` (one file per body)."""
    codec = recording.manifest.get("codec")
    version = recording.manifest.get("version")
    if not isinstance(codec, dict):
        return f"v{version}: each body compressed on its own"
    return (
        f"v{version} {codec.get('name')} (level {codec.get('level')}, a keyframe every"
        f" {codec.get('keyframe_every')} polls)"
    )


def _latency(poll: Poll) -> float:
    return poll.latency_ms or 0.0


def _codes(counts: dict[str, int], limit: int = 8) -> str:
    codes = sorted(counts)
    shown = ", ".join(codes[:limit]) + (f", … ({len(codes) - limit} more)" if len(codes) > limit else "")
    return f"{sum(counts.values())} ({shown})" if codes else "0"


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} x{count}" for reason, count in counts.items())


def format_text(info: RecordingInfo) -> str:
    """The human-readable report: one fact per line."""
    s, gap = info.stations, info.longest_gap
    ratio = f"{info.compression_ratio:.1f}" if info.compression_ratio else "-"
    span = f"{info.first} → {info.last} ({format_duration(info.span_s)})" if info.first else "empty"
    lines = [
        f"recording        {info.path}",
        f"time span        {span}",
        f"polls            {info.polls} = {info.snapshots} snapshots + {info.gaps} gaps + {info.invalid} invalid"
        + ("" if info.accounted else "  (DOES NOT ADD UP)"),
        f"feed timestamps  {info.distinct_feed_times} distinct, {info.repeated_snapshots} repeated snapshots",
        f"gaps             {info.gaps}" + (f": {_reasons(info.gap_reasons)}" if info.gaps else ""),
        f"longest gap      {gap.polls} polls, {gap.seconds:.1f} s without a response, from {gap.start}"
        if gap.polls
        else "longest gap      none",
        f"invalid bodies   {info.invalid}" + (f": {_reasons(info.invalid_reasons)}" if info.invalid else ""),
        f"stations         {s.min_per_snapshot} to {s.max_per_snapshot} per snapshot, {s.distinct} distinct",
        f"  vanished       {_codes(s.vanished)}",
        f"  appeared       {_codes(s.appeared)}",
        f"retried polls    {info.feeds[STATUS_FEED].retried} ({info.feeds[STATUS_FEED].retries} retries)",
        f"slowest poll     {info.slowest_ms:.0f} ms, at {info.slowest_at}"
        if info.slowest_ms is not None
        else "slowest poll     -",
        f"station table    {info.feeds[INFO_FEED].bodies} stored, {info.feeds[INFO_FEED].gaps} failed checks",
        f"system           {info.system or '-'}, GBFS {info.gbfs_version or 'version not declared'}; feeds "
        + ", ".join(f"{feed} ({summary.bodies})" for feed, summary in info.feeds.items() if summary.polls),
        f"schema findings  {sum(info.findings.values())} in the latest bodies against GBFS "
        f"{info.gbfs_version or '1.0'}'s schemas (reported, not refused)"
        + "".join(f"; {feed} {count}" for feed, count in info.findings.items())
        if info.findings
        else "schema findings  none checked (no schema for these feeds, or no gbfs-validator: it needs Python 3.11+)",
        f"codec            {info.codec}; compression ratio {ratio}",
        f"size on disk     {format_bytes(info.disk_bytes)} ({format_bytes(info.file_bytes)} of files,"
        f" {', '.join(info.compression) or 'no bodies'});"
        f" bodies {format_bytes(info.raw_bytes)} raw → {format_bytes(info.stored_bytes)} stored, ratio {ratio}",
        f"damaged bodies   {len(info.damaged)}" + "".join(f"\n  {line}" for line in info.damaged),
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class RepairReport:
    polls: int
    orphan_bodies: list[str]
    removed_temp_files: int


def repair(path: Path, *, now: float | None = None) -> RepairReport:
    """Rebuild the index from the meta files, list bodies a crash left without meta, drop stale temp files.

    An orphan body is the poll that was in flight at a crash: it was never committed,
    so it stays out of the index; it is reported, not deleted.
    """
    recording = Recording(path)
    count = recording.repair()
    committed = {poll.body_file for poll in recording.polls() if poll.body_file}
    orphans = sorted(
        entry.relative_to(path).as_posix()
        for entry in path.glob("*/*.json*")
        if not entry.name.endswith(".meta.json") and entry.relative_to(path).as_posix() not in committed
    )
    cutoff = (now if now is not None else time.time()) - _TEMP_AGE_S
    stale = [entry for entry in path.rglob(".tmp-*") if entry.stat().st_mtime < cutoff]
    for entry in stale:
        entry.unlink(missing_ok=True)
    return RepairReport(count, orphans, len(stale))
