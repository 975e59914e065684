"""The replay loop against a recording publisher and a simulated clock: pure pacing logic."""

from fakes import FakeClock, FakePublisher

from velib_replay.replay.pacing import schedule
from velib_replay.replay.player import play


def test_sends_on_an_absolute_schedule_without_drift(sample):
    clock = FakeClock(lag=0.004)
    publisher = FakePublisher(clock=clock)
    stats = play(schedule(list(sample.snapshots())), publisher, speed=10, clock=clock, sleep=clock.sleep)
    send_times = [at - 100.0 for at, _ in publisher.sends]
    # every send is 4 ms late at most: the lag of one sleep, never accumulated
    assert all(abs(at - 6.0 * i - 0.004) < 1e-6 for i, at in enumerate(send_times[1:], start=1))
    assert stats.snapshots == 11 and stats.messages == sum(n for _, n in publisher.sends)
    assert round(stats.pacing()["max_ms"], 6) == 4.0
    assert stats.replayed_span_s == 600


def test_max_speed_never_waits(sample):
    clock = FakeClock()
    publisher = FakePublisher(clock=clock)
    stats = play(schedule(list(sample.snapshots())), publisher, speed=None, clock=clock, sleep=clock.sleep)
    assert {at for at, _ in publisher.sends} == {100.0}
    assert stats.pacing() == {}
    assert stats.undelivered == 0


def test_station_filter_applies_to_every_snapshot(sample):
    clock = FakeClock()
    publisher = FakePublisher(clock=clock)
    play(schedule(list(sample.snapshots())), publisher, speed=None, wanted=frozenset({"16107", "32017"}), clock=clock)
    assert [n for _, n in publisher.sends] == [2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2]
