"""Driving a replay while it plays: pause, resume, step, seek and speed, from any thread (HTTP, keys, a scenario).

One ``Control`` holds the replay's position and its schedule's anchor under one condition: the player waits
on it while paused or until a snapshot is due, and every action wakes it. Pausing, seeking and changing speed
move the anchor, so time spent paused is never counted as pacing error; each action is listed with its time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from velib_replay.contracts.feed import iso_utc
from velib_replay.replay.pacing import Anchor, Offset, Slot, Timeline


@dataclass(frozen=True)
class Pace:
    """How the player sends the slot it was given: ``target`` a clock time (None: at once), ``version`` to wait on."""

    target: float | None
    version: int


def speed_text(speed: float | None) -> str:
    """A speed as ``--speed`` takes it back: ``60x``, ``0.5x``, ``max``."""
    return "max" if speed is None else f"{speed:g}x"


class Control:
    """The control state shared by the player and whoever drives it; every public method is thread-safe."""

    def __init__(self, timeline: Timeline, speed: float | None, clock: Callable[[], float] = time.monotonic):
        self.timeline = timeline
        self.clock = clock
        self._changed = threading.Condition()
        self._anchor = Anchor(speed)
        self._version = 0  # bumped by every action: a player waiting for a due time looks again
        self._position = 0  # the next slot to send
        self._seeks = 0  # a slot sent after a seek was asked does not move the position the seek set
        self._handed = (0, 0)  # (position, seeks) of the slot the player is sending
        self._steps = 0  # slots still to send while paused
        self._paused_since: float | None = None
        self._held_at: float | None = None  # the due time the schedule stood at when paused (or last stepped to)
        self._feed_time: int | None = None  # the last snapshot time sent
        self._started = clock()
        self.paused_s = 0.0
        self.snapshots = 0
        self.messages = 0
        self.finished = False
        self.actions: list[dict] = []
        self.sent_runs: list[list[int]] = []  # positions sent, as runs [from, to): what a fault log needs

    @property
    def speed(self) -> float | None:
        with self._changed:
            return self._anchor.speed

    # the driver's side ---------------------------------------------------------------------------------

    def pause(self) -> dict:
        with self._act("pause"):
            if self._paused_since is None:
                now = self.clock()
                self._paused_since, self._held_at = now, self._anchor.reached(now)
        return self.status()

    def resume(self) -> dict:
        with self._act("resume"):
            self._steps = 0
            self._unpause()
        return self.status()

    def step(self, snapshots: int) -> dict:
        """Send exactly the next ``snapshots`` slots at once, then hold (pausing first if playing)."""
        if not (isinstance(snapshots, int) and not isinstance(snapshots, bool) and snapshots >= 1):
            raise ValueError(f"snapshots {snapshots!r}: a whole number from 1")
        with self._act("step", snapshots=snapshots):
            if self._paused_since is None:
                now = self.clock()
                self._paused_since, self._held_at = now, self._anchor.reached(now)
            self._steps += snapshots
        return self.status()

    def seek(self, target: Offset) -> dict:
        """The next slot sent is the first of the current pass at or after ``target``, backwards or forwards."""
        with self._changed:
            current = self._position if self.timeline.size is None else min(self._position, self.timeline.size - 1)
            position = self.timeline.seek(target, current // len(self.timeline.snapshots))  # ValueError: no change
        shown = target.isoformat() if isinstance(target, datetime) else f"{target.total_seconds():g}s"
        with self._act("seek", to=shown, feed_time=iso_utc(self.timeline.slot(position).snapshot_time)):
            self._position, self._steps = position, 0
            self._seeks += 1
            self._anchor.hold(None, self.clock())
            self._held_at = None
        return self.status()

    def set_speed(self, speed: float | None) -> dict:
        with self._act("speed", speed=speed_text(speed)):
            self._anchor.change_speed(speed, self.clock())
        return self.status()

    def status(self) -> dict:
        with self._changed:
            timeline, position = self.timeline, self._position
            ahead = None if self.finished or (timeline.size is not None and position >= timeline.size) else position
            return {
                "position": position,
                "snapshots_total": timeline.size,
                "feed_time": iso_utc(self._feed_time) if self._feed_time is not None else None,
                "next_feed_time": iso_utc(timeline.slot(ahead).snapshot_time) if ahead is not None else None,
                "first_feed_time": iso_utc(timeline.slot(0).snapshot_time),
                "last_feed_time": iso_utc(timeline.slot(_last_of_pass(timeline, position)).snapshot_time),
                "speed": speed_text(self._anchor.speed),
                "paused": self._paused_since is not None,
                "steps_pending": self._steps,
                "snapshots_sent": self.snapshots,
                "messages_sent": self.messages,
                "paused_s": round(self._paused_total(self.clock()), 3),
                "finished": self.finished,
            }

    def sent_so_far(self) -> list[list[int]]:
        """The positions sent until now, as runs ``[from, to)``."""
        with self._changed:
            return [list(run) for run in self.sent_runs]

    # the player's side ---------------------------------------------------------------------------------

    def slots(self, stop: object) -> Iterator[Slot]:
        """The slot to send next, waiting while paused; the same one again until ``sent`` or ``skipped``
        says it is done (an action met while waiting for its due time means looking again)."""
        while True:
            with self._changed:
                while self._paused_since is not None and not self._steps and not stop and not self._at_end():
                    self._changed.wait(0.1)  # a stop request is a plain flag: look at it every tick
                if stop or self._at_end():
                    return
                position = self._position
                self._handed = (position, self._seeks)
            yield self.timeline.slot(position)

    def pace(self, slot: Slot) -> Pace:
        """When ``slot`` is due: at once while stepping, else on the (moved) schedule."""
        with self._changed:
            now = self.clock()
            target = None if self._steps else self._anchor.target(slot.due, now)
            return Pace(target, self._version)

    def wait(self, seconds: float, version: int, stop: object) -> bool:
        """Sleep ``seconds`` unless an action comes first (True: look at the slot again) or a stop is asked."""
        deadline = self.clock() + seconds
        with self._changed:
            while self._version == version and not stop and (left := deadline - self.clock()) > 0:
                self._changed.wait(min(left, 0.1))
            return self._version != version

    def sent(self, slot: Slot, messages: int) -> None:
        with self._changed:
            position = self._handed[0]
            if self.sent_runs and self.sent_runs[-1][1] == position:
                self.sent_runs[-1][1] += 1  # a whole replay without seeks is one run, however long
            else:
                self.sent_runs.append([position, position + 1])
            self._advance()
            self._feed_time = slot.snapshot_time
            self.snapshots += 1
            self.messages += messages
            if self._steps:
                self._steps -= 1
                self._held_at = slot.due
            self._changed.notify_all()

    def skipped(self) -> None:
        """The slot could not be read (and is skipped, with --skip-invalid): go on to the next one."""
        with self._changed:
            self._advance()
            self._steps = max(0, self._steps - 1)

    def finish(self) -> None:
        with self._changed:
            self.finished = True
            if self._paused_since is not None:
                self.paused_s = self._paused_total(self.clock())
                self._paused_since = None
            self._changed.notify_all()

    # inside ----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _act(self, action: str, **detail: object) -> Iterator[None]:
        """Apply an action under the lock; once applied, list it and wake the player."""
        with self._changed:
            yield
            self.actions.append({"at_s": round(self.clock() - self._started, 3), "action": action, **detail})
            self._version += 1
            self._changed.notify_all()

    def _advance(self) -> None:
        """Past the slot handed out, unless a seek has set where to go on from since."""
        position, seeks = self._handed
        if seeks == self._seeks:
            self._position = position + 1

    def _unpause(self) -> None:
        if self._paused_since is None:
            return
        now = self.clock()
        self.paused_s += now - self._paused_since
        self._paused_since = None
        self._anchor.hold(self._held_at, now)

    def _paused_total(self, now: float) -> float:
        return self.paused_s + (now - self._paused_since if self._paused_since is not None else 0.0)

    def _at_end(self) -> bool:
        return self.timeline.size is not None and self._position >= self.timeline.size


def _last_of_pass(timeline: Timeline, position: int) -> int:
    """The last position of the pass ``position`` is in (the slider's end)."""
    count = len(timeline.snapshots)
    last = (position // count) * count + count - 1
    return last if timeline.size is None else min(last, timeline.size - 1)
