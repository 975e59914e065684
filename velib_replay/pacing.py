"""When each snapshot of a replay is due: pure functions over recorded times, no I/O.

The schedule is absolute (offsets from the replay's start, divided by the speed),
so a late send never pushes the following ones back: errors cannot accumulate.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from velib_replay.recording import Snapshot, parse_time

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_speed(text: str) -> float | None:
    """``10x``, ``0.5x``, ``60`` → the multiplier; ``max`` → None (no waiting)."""
    cleaned = text.strip().lower()
    if cleaned in ("max", "top", "inf"):
        return None
    try:
        speed = float(cleaned.removesuffix("x"))
    except ValueError:
        raise ValueError(f"speed {text!r}: use a positive multiplier such as 1x, 10x, 0.5x, or max") from None
    if not speed > 0 or speed == float("inf"):
        raise ValueError(f"speed {text!r}: must be a positive multiplier, or max")
    return speed


def parse_duration(text: str) -> float:
    """``90m``, ``2h``, ``45s``, ``500ms``, ``1.5d`` or plain seconds → seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"duration {text!r}: use a number with ms, s, m, h or d (e.g. 90m, 2h)")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def parse_offset(text: str, start: datetime) -> float:
    """An offset into a recording: a duration from its start, or an ISO time."""
    try:
        return parse_duration(text)
    except ValueError:
        pass
    try:
        moment = parse_time(text) if "T" in text or "-" in text else None
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError(f"offset {text!r}: use a duration from the start (90m) or an ISO time (2025-10-18T09:15:00Z)")
    return (moment - start).total_seconds()


@dataclass(frozen=True)
class Slot:
    """One snapshot's place in the replay."""

    due: float  # seconds after the replay's start, at speed 1
    snapshot: Snapshot
    snapshot_time: int  # the feed clock as sent: shifted on later loop passes and by --rebase-time
    loop_pass: int


def pass_length(snapshots: Sequence[Snapshot]) -> float:
    """A recording's span plus one typical poll interval: the shift between loop passes."""
    times = [snapshot.fetched_at.timestamp() for snapshot in snapshots]
    gaps = [b - a for a, b in itertools.pairwise(times) if b > a]
    return (times[-1] - times[0]) + (statistics.median(gaps) if gaps else 60.0)


def schedule(
    snapshots: Sequence[Snapshot],
    *,
    passes: int = 1,
    start: float | None = None,
    end: float | None = None,
    limit: int | None = None,
    time_shift: int = 0,
) -> Iterator[Slot]:
    """Slots in send order, lazily: ``passes`` 0 loops until ``limit`` (or forever)."""
    first = snapshots[0].fetched_at if snapshots else None
    chosen = [s for s in snapshots if _within((s.fetched_at - first).total_seconds(), start, end)] if first else []
    if not chosen:
        return
    origin = chosen[0].fetched_at
    length = pass_length(chosen)
    passes_run = itertools.count() if passes == 0 else range(passes)
    slots = (
        Slot(
            due=(snapshot.fetched_at - origin).total_seconds() + loop_pass * length,
            snapshot=snapshot,
            snapshot_time=snapshot.snapshot_time + round(loop_pass * length) + time_shift,
            loop_pass=loop_pass,
        )
        for loop_pass in passes_run
        for snapshot in chosen
    )
    yield from itertools.islice(slots, limit)


def _within(offset: float, start: float | None, end: float | None) -> bool:
    return (start is None or offset >= start) and (end is None or offset <= end)


def rebase_shift(first_snapshot_time: int, now: datetime) -> int:
    """Seconds to add so the first snapshot is stamped ``now``."""
    return int(now.timestamp()) - first_snapshot_time
