from datetime import datetime, timedelta, timezone

from velib_replay.replay.pacing import pass_length, rebase_shift, schedule


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
    slots = list(schedule(list(sample.snapshots()), start=timedelta(seconds=120), end=timedelta(seconds=300)))
    assert [slot.due for slot in slots] == [0, 60, 120, 180]
    assert slots[0].snapshot.poll.fetched_text == "2025-10-18T09:14:00.000Z"


def test_rebase_puts_the_first_snapshot_at_now(sample):
    snapshots = list(sample.snapshots())
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    shift = rebase_shift(snapshots[0].snapshot_time, now)
    assert next(iter(schedule(snapshots, time_shift=shift))).snapshot_time == int(now.timestamp())
