from datetime import datetime, timezone

import pytest

from velib_replay.pacing import parse_duration, parse_offset, parse_speed, pass_length, rebase_shift, schedule


@pytest.mark.parametrize(("text", "speed"), [("1x", 1.0), ("10x", 10.0), ("0.5x", 0.5), ("60", 60.0), ("max", None)])
def test_speeds(text, speed):
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0x", "-2x", "fast", "", "infx"])
def test_bad_speeds_are_rejected(text):
    with pytest.raises(ValueError, match="speed"):
        parse_speed(text)


def test_durations_and_offsets():
    assert parse_duration("90m") == 5400
    assert parse_duration("500ms") == 0.5
    start = datetime(2025, 10, 18, 9, 12, tzinfo=timezone.utc)
    assert parse_offset("2025-10-18T09:15:00Z", start) == 180
    assert parse_offset("3m", start) == 180
    with pytest.raises(ValueError):
        parse_offset("soon", start)


def test_schedule_follows_fetch_times(sample):
    snapshots = list(sample.snapshots())
    slots = list(schedule(snapshots))
    assert [slot.due for slot in slots] == [60.0 * i for i in range(11)]
    assert [slot.snapshot_time for slot in slots] == [s.snapshot_time for s in snapshots]


def test_loop_passes_shift_times_so_they_stay_distinct_and_ordered(sample):
    snapshots = list(sample.snapshots())
    slots = list(schedule(snapshots, passes=3))
    length = pass_length(snapshots)
    assert length == 660
    assert len(slots) == 33
    assert slots[11].due == 660 and slots[11].snapshot_time == snapshots[0].snapshot_time + 660
    times = [slot.snapshot_time for slot in slots]
    assert times == sorted(times)
    assert len(set(times)) == 30  # each pass keeps the one repeated snapshot


def test_endless_loop_is_lazy_and_bounded_by_limit(sample):
    assert len(list(schedule(list(sample.snapshots()), passes=0, limit=25))) == 25


def test_start_end_and_limit_select_a_window(sample):
    slots = list(schedule(list(sample.snapshots()), start=120, end=300))
    assert [slot.due for slot in slots] == [0, 60, 120, 180]
    assert slots[0].snapshot.poll.fetched_at == "2025-10-18T09:14:00.000Z"


def test_rebase_puts_the_first_snapshot_at_now(sample):
    snapshots = list(sample.snapshots())
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    shift = rebase_shift(snapshots[0].snapshot_time, now)
    assert next(iter(schedule(snapshots, time_shift=shift))).snapshot_time == int(now.timestamp())
