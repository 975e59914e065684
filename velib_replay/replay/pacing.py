"""When each snapshot of a replay is due: pure functions over recorded times, no I/O.

The schedule is absolute (offsets from the replay's start, divided by the speed),
so a late send never pushes the following ones back: errors cannot accumulate.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from velib_replay.recording import Snapshot

Offset = timedelta | datetime  # from the recording's first snapshot, or a time


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
    start: Offset | None = None,
    end: Offset | None = None,
    limit: int | None = None,
    time_shift: int = 0,
) -> Iterator[Slot]:
    """Slots in send order, lazily: ``passes`` 0 loops until ``limit`` (or forever).

    ``start`` and ``end`` are offsets from the first snapshot's fetch time, or times.
    """
    chosen = window(snapshots, start, end)
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


def window(snapshots: Sequence[Snapshot], start: Offset | None, end: Offset | None) -> list[Snapshot]:
    """The snapshots fetched between ``start`` and ``end`` (offsets from the first snapshot, or times)."""
    if not snapshots:
        return []
    first = snapshots[0].fetched_at
    since, until = at_time(start, first), at_time(end, first)
    return [
        s for s in snapshots if (since is None or s.fetched_at >= since) and (until is None or s.fetched_at <= until)
    ]


def empty_window_reason(snapshots: Sequence[Snapshot], start: Offset | None, end: Offset | None) -> str:
    """Why ``window`` selected nothing, in the options' own terms."""
    if not snapshots:
        return "the recording has no valid station_status snapshot"
    first, last = snapshots[0].fetched_at, snapshots[-1].fetched_at
    since, until = at_time(start, first), at_time(end, first)
    span = f"the recording runs from {_shown(first)} to {_shown(last)}"
    if since is not None and until is not None and until < since:
        return f"--end ({_shown(until)}) is before --start ({_shown(since)})"
    if since is not None and since > last:
        return f"--start ({_shown(since)}) is after the last snapshot: {span}"
    if until is not None and until < first:
        return f"--end ({_shown(until)}) is before the first snapshot: {span}"
    return f"no snapshot between --start and --end: {span}"


def _shown(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def at_time(offset: Offset | None, first: datetime) -> datetime | None:
    """An offset from ``first`` (or a time) as a time."""
    return first + offset if isinstance(offset, timedelta) else offset


def rebase_shift(first_snapshot_time: int, now: datetime) -> int:
    """Seconds to add so the first snapshot is stamped ``now``."""
    return int(now.timestamp()) - first_snapshot_time


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

    def slot_count(self, snapshots: int) -> int | None:
        """How many slots the plan sends from ``snapshots`` in its window (None: endless), without listing them:
        ``--loop`` may ask for more passes than memory holds."""
        if self.endless:
            return None
        total = snapshots * self.passes if self.passes else self.limit
        return min(total, self.limit) if self.limit is not None else total
