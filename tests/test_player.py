"""The replay loop against a recording publisher and a simulated clock: pure pacing logic."""

from velib_replay.pacing import schedule
from velib_replay.player import play
from velib_replay.publisher import DeliveryStats


class RecordingPublisher:
    def __init__(self, clock):
        self.clock = clock
        self.sends: list[tuple[float, int]] = []
        self.stats = DeliveryStats()

    def send(self, messages):
        self.sends.append((self.clock.now, len(messages)))
        self.stats.sent += len(messages)
        self.stats.delivered += len(messages)
        return len(messages)

    def flush(self):
        return self.stats


class FakeClock:
    def __init__(self, lag: float = 0.0):
        self.now = 100.0
        self.lag = lag  # each sleep overshoots by this much

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds + self.lag


def test_sends_on_an_absolute_schedule_without_drift(sample):
    clock = FakeClock(lag=0.004)
    publisher = RecordingPublisher(clock)
    stats = play(schedule(list(sample.snapshots())), publisher, speed=10, clock=clock, sleep=clock.sleep)
    send_times = [at - 100.0 for at, _ in publisher.sends]
    # every send is 4 ms late at most: the lag of one sleep, never accumulated
    assert all(abs(at - 6.0 * i - 0.004) < 1e-6 for i, at in enumerate(send_times[1:], start=1))
    assert stats.snapshots == 11 and stats.messages == sum(n for _, n in publisher.sends)
    assert round(stats.pacing()["max_ms"], 6) == 4.0
    assert stats.replayed_span_s == 600


def test_max_speed_never_waits(sample):
    clock = FakeClock()
    publisher = RecordingPublisher(clock)
    stats = play(schedule(list(sample.snapshots())), publisher, speed=None, clock=clock, sleep=clock.sleep)
    assert {at for at, _ in publisher.sends} == {100.0}
    assert stats.pacing() == {}
    assert stats.undelivered == 0


def test_station_filter_applies_to_every_snapshot(sample):
    clock = FakeClock()
    publisher = RecordingPublisher(clock)
    play(schedule(list(sample.snapshots())), publisher, speed=None, wanted=frozenset({"16107", "32017"}), clock=clock)
    assert [n for _, n in publisher.sends] == [2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2]
