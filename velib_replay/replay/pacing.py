"""When each snapshot of a replay is due: pure functions over recorded times, no I/O.

The schedule is absolute (offsets from the replay's start, divided by the speed),
so a late send never pushes the following ones back: errors cannot accumulate.
"""

from __future__ import annotations

import functools
import itertools
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from velib_replay import config
from velib_replay.recording import Snapshot
from velib_replay.recording.repeats import marked
from velib_replay.units import parse_speed

Offset = timedelta | datetime  # from the recording's first snapshot, or a time


@dataclass(frozen=True)
class Slot:
    """One snapshot's place in the replay."""

    due: float  # seconds after the replay's start, at speed 1
    snapshot: Snapshot
    snapshot_time: int  # the feed clock as sent: shifted on later loop passes and by --rebase-time
    loop_pass: int
    repeat: bool = False  # the snapshot repeats the one before it in the pass (``recording.repeats``)
    left_out: int = 0  # with skip_repeated: the repeats of this snapshot that follow it, not sent


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
    skip_repeated: bool = False,
) -> Iterator[Slot]:
    """Slots in send order, lazily: ``passes`` 0 loops until ``limit`` (or forever); ``skip_repeated`` leaves
    out each snapshot repeating the one before it in the pass (``limit`` counts the slots that remain).

    ``start`` and ``end`` are offsets from the first snapshot's fetch time, or times.
    """
    chosen = window(snapshots, start, end)
    if chosen:
        yield from Timeline.of(chosen, skip_repeated=skip_repeated, passes=passes, limit=limit, time_shift=time_shift)


def _repeats_marked(snapshots: Sequence[Snapshot], skip_repeated: bool) -> list[tuple[Snapshot, bool, int]]:
    """(snapshot, repeats the one before, repeats of it left out) for the snapshots a pass sends."""
    sent: list[tuple[Snapshot, bool, int]] = []
    for snapshot, repeat in marked(snapshots):
        if repeat and skip_repeated:
            kept, _, left_out = sent[-1]  # the first snapshot is never a repeat
            sent[-1] = (kept, False, left_out + 1)
        else:
            sent.append((snapshot, repeat, 0))
    return sent


@dataclass(frozen=True)
class Timeline:
    """A replay's slots by position (0, 1, 2...), so a controlled replay can seek in them; iterating walks them
    in send order."""

    snapshots: Sequence[Snapshot]  # the selected window, in fetch order (not empty)
    passes: int = 1  # 0 loops until ``limit`` (or forever)
    limit: int | None = None
    time_shift: int = 0  # seconds added to every snapshot time (--rebase-time)
    marks: Sequence[tuple[bool, int]] = ()  # per snapshot: (repeats the one before, repeats of it left out)

    @classmethod
    def of(cls, chosen: Sequence[Snapshot], *, skip_repeated: bool = False, **settings) -> Timeline:
        """The timeline of ``chosen``, each repeat marked, and left out with ``skip_repeated`` (then counted on
        the snapshot it repeats)."""
        sent = _repeats_marked(chosen, skip_repeated)
        return cls([snapshot for snapshot, *_ in sent], marks=[tuple(mark) for _, *mark in sent], **settings)

    @functools.cached_property
    def length(self) -> float:
        return pass_length(self.snapshots)

    @property
    def size(self) -> int | None:
        """How many slots there are (None: endless), without listing them: ``--loop`` may ask for more passes
        than memory holds."""
        total = len(self.snapshots) * self.passes if self.passes else None
        if self.limit is None:
            return total
        return self.limit if total is None else min(total, self.limit)

    def slot(self, position: int) -> Slot:
        loop_pass, index = divmod(position, len(self.snapshots))
        snapshot = self.snapshots[index]
        return Slot(
            due=(snapshot.fetched_at - self.snapshots[0].fetched_at).total_seconds() + loop_pass * self.length,
            snapshot=snapshot,
            snapshot_time=snapshot.snapshot_time + round(loop_pass * self.length) + self.time_shift,
            loop_pass=loop_pass,
            repeat=self.marks[index][0] if self.marks else False,
            left_out=self.marks[index][1] if self.marks else 0,
        )

    def __iter__(self) -> Iterator[Slot]:
        positions = itertools.count() if self.size is None else range(self.size)
        return (self.slot(position) for position in positions)

    def seek(self, target: Offset, loop_pass: int) -> int:
        """The position of ``loop_pass``'s first slot whose feed time (as sent) is at or after ``target``:
        a time, or an offset from the pass's first feed time. A ValueError when no slot of the pass is."""
        first = self.slot(loop_pass * len(self.snapshots))
        start = datetime.fromtimestamp(first.snapshot_time, timezone.utc)
        moment = start + target if isinstance(target, timedelta) else target
        for index in range(len(self.snapshots)):
            position = loop_pass * len(self.snapshots) + index
            if self.size is not None and position >= self.size:
                break
            if self.slot(position).snapshot_time >= moment.timestamp():
                return position
        raise ValueError(f"{_shown(moment)} is after the last snapshot time of the replay")


class Anchor:
    """Where the absolute schedule stands: the clock time at which a given due time is reached, at ``speed``.

    Set by the first slot sent; moved (never counted as lateness) when the replay is paused, seeks or changes speed.
    """

    def __init__(self, speed: float | None):
        self.speed = speed  # None: no waiting
        self.origin: tuple[float, float] | None = None  # (clock, due)

    def target(self, due: float, now: float) -> float | None:
        """The clock time ``due`` is to be sent at (None: at once, at max speed); the first call anchors it."""
        if self.origin is None:
            self.origin = (now, due)
        return None if self.speed is None else self.origin[0] + (due - self.origin[1]) / self.speed

    def reached(self, now: float) -> float | None:
        """The due time the schedule has reached at ``now`` (None before the first slot or at max speed)."""
        if self.origin is None or self.speed is None:
            return None
        return self.origin[1] + max(0.0, now - self.origin[0]) * self.speed

    def hold(self, due: float | None, now: float) -> None:
        """Restart the schedule at ``now`` from ``due`` (None: from the next slot sent)."""
        self.origin = None if due is None else (now, due)

    def change_speed(self, speed: float | None, now: float) -> None:
        """The new speed from where the schedule stands now: nothing sent is moved, nothing waited is lost."""
        self.hold(self.reached(now), now)
        self.speed = speed


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
    """Which snapshots of a recording to send, stamped how, and how fast: the plan inside ``PlayOptions``."""

    speed: float | None = parse_speed(config.TEST_SPEED)  # a multiplier of recorded time; None: as fast as possible
    wanted: frozenset[str] | None = None  # station codes; None keeps all
    passes: int = 1  # 0 loops until stopped (or until ``limit``)
    start: Offset | None = None
    end: Offset | None = None
    limit: int | None = None
    rebase_to: datetime | None = None  # stamp the first snapshot at this time
    skip_repeated: bool = False  # leave out a snapshot repeating the one before (``recording.repeats``)

    @property
    def endless(self) -> bool:
        return self.passes == 0 and self.limit is None
