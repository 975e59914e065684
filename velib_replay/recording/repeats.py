"""The one rule for "the same snapshot again", shared by ``live``, ``record``, ``info`` and ``play``.

A valid station_status snapshot repeats when its feed clock (``lastUpdatedOther``) equals the feed clock
of the valid snapshot just before it: the feed served the same snapshot again (a stale cache, or polls
faster than the feed updates). A snapshot without a feed clock never repeats, since nothing says it is
the same. Gaps and invalid bodies are not snapshots and do not break a run of repeats.

Every verb sends repeats by default, as the original producer does; ``--skip-repeated`` on ``live`` and
``play`` leaves them out, and both count them either way, so replaying a ``live`` recording sends what
``live`` sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from velib_replay.recording.format import Poll
from velib_replay.recording.reader import Snapshot

S = TypeVar("S", Poll, Snapshot)


class Repeats:
    """Follows valid snapshots in fetch order and says of each whether it repeats the one before."""

    def __init__(self) -> None:
        self._previous: int | None = None

    def check(self, poll: Poll) -> bool:
        """Whether ``poll``, the next valid snapshot, repeats the previous one."""
        repeat = poll.last_updated is not None and poll.last_updated == self._previous
        self._previous = poll.last_updated
        return repeat


def marked(snapshots: Iterable[S]) -> Iterator[tuple[S, bool]]:
    """Each valid snapshot (a Poll or a Snapshot, in fetch order) with whether it repeats the one before."""
    repeats = Repeats()
    for snapshot in snapshots:
        yield snapshot, repeats.check(snapshot.poll if isinstance(snapshot, Snapshot) else snapshot)


def count_repeats(snapshots: Iterable[S]) -> int:
    return sum(repeat for _, repeat in marked(snapshots))


def without_repeats(snapshots: Iterable[S]) -> list[S]:
    """The snapshots ``--skip-repeated`` sends: each run of one feed clock once."""
    return [snapshot for snapshot, repeat in marked(snapshots) if not repeat]
