"""The replay loop against a recording publisher and a simulated clock: pure pacing logic."""

from datetime import timedelta

import pytest
from fakes import FakeClock, FakePublisher
from helpers import corrupt_copy

from velib_replay.errors import UserError
from velib_replay.recording import Recording
from velib_replay.replay.pacing import ReplayPlan, schedule
from velib_replay.replay.player import PlayStats, check_snapshots, play, select_snapshots
from velib_replay.signals import StopRequest


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


def test_a_bad_body_met_mid_replay_stops_sending_but_keeps_the_account(sample, tmp_path):
    bad = Recording(corrupt_copy(sample.path, tmp_path / "bad", (4,)))
    publisher = FakePublisher()
    stats = play(schedule(list(bad.snapshots())), publisher, speed=None)
    assert stats.snapshots == 4 and stats.messages == stats.delivered == sum(n for _, n in publisher.sends) > 0
    assert "20251018T091600.000Z.station_status.json.gz" in stats.aborted
    assert stats.as_dict()["aborted"] == stats.aborted and stats.interrupted is None


def test_skip_invalid_skips_and_counts_every_bad_body(sample, tmp_path):
    bad = Recording(corrupt_copy(sample.path, tmp_path / "bad", (0, 4, 10)))
    stats = play(schedule(list(bad.snapshots()), passes=2), FakePublisher(), speed=None, skip_invalid=True)
    assert (stats.snapshots, stats.skipped_invalid, stats.aborted) == (16, 6, None)


def test_a_stop_request_ends_sending_at_a_snapshot_boundary_and_still_flushes(sample):
    stop = StopRequest()
    clock = FakeClock()
    publisher = FakePublisher(clock=clock)
    stats = play(
        schedule(list(sample.snapshots()), passes=0),
        publisher,
        speed=1,
        on_sent=lambda slot: stop.set("SIGTERM") if slot.due >= 120 else None,
        clock=clock,
        sleep=clock.sleep,
        stop=stop,
    )
    assert stats.snapshots == 3 and stats.delivered == stats.messages == sum(n for _, n in publisher.sends)
    assert stats.as_dict()["interrupted"] == "SIGTERM"


def test_a_stop_request_cuts_a_pending_sleep_short():
    stop = StopRequest(tick_s=0.01)
    stop.set("SIGINT")
    stop.set("SIGTERM")
    stop.sleep(3600)  # returns at once, or the test never ends
    assert stop.reason == "SIGINT"


def test_an_endless_loop_that_sends_nothing_ends_after_one_pass(sample):
    publisher = FakePublisher()
    stats = play(schedule(list(sample.snapshots()), passes=0), publisher, speed=None, wanted=frozenset({"nope"}))
    assert (stats.snapshots, stats.messages) == (11, 0)


def test_delivery_latency_is_reported_beside_the_pacing_error():
    stats = PlayStats(latencies_ms=[5.0, 1.0, 20000.0, 3.0], pacing_errors_ms=[1.0])
    assert stats.as_dict()["delivery_latency"] == {"p50_ms": 4.0, "p99_ms": 19400.15, "max_ms": 20000.0}
    assert PlayStats().as_dict()["delivery_latency"] == {}


def test_check_reads_every_body_before_sending_and_names_the_bad_file(sample, tmp_path):
    bad = list(Recording(corrupt_copy(sample.path, tmp_path / "bad", (4, 6))).snapshots())
    with pytest.raises(UserError, match=r"20251018T091600\.000Z\.station_status\.json\.gz.*and 1 more"):
        check_snapshots(bad, None)
    report = check_snapshots(bad, frozenset({"16107", "32017"}), skip_invalid=True)
    assert len(report.invalid) == 2 and sorted(report.stations.values()) == [1, 1, 2, 2, 2, 2, 2, 2, 2]


@pytest.mark.parametrize(
    ("wanted", "positions", "reason"),
    [
        (frozenset({"nope"}), (), "--stations nope matches no station"),
        (None, tuple(range(11)), "every selected snapshot has an invalid body"),
    ],
)
def test_check_refuses_a_selection_with_nothing_to_send(sample, tmp_path, wanted, positions, reason):
    snapshots = list(Recording(corrupt_copy(sample.path, tmp_path / "copy", positions)).snapshots())
    with pytest.raises(UserError, match=reason):
        check_snapshots(snapshots, wanted, skip_invalid=True)


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (timedelta(minutes=90), None, r"--start \(2025-10-18T10:42:00Z\) is after the last snapshot"),
        (timedelta(minutes=5), timedelta(minutes=2), r"--end \(.*\) is before --start"),
        (None, timedelta(minutes=-1), "is before the first snapshot"),
        (timedelta(seconds=10), timedelta(seconds=50), "no snapshot between --start and --end"),
    ],
)
def test_an_empty_window_is_refused_with_its_reason(sample, start, end, reason):
    with pytest.raises(UserError, match=reason):
        select_snapshots(sample, ReplayPlan(start=start, end=end))


def test_a_client_that_gives_up_on_the_broker_ends_the_replay_with_its_account(sample):
    stats = play(schedule(list(sample.snapshots())), FakePublisher(fail="raise"), speed=None)
    assert stats.aborted.startswith("Kafka gave up: KafkaTimeoutError") and stats.snapshots == stats.messages == 0


def test_a_stop_request_during_the_check_ends_it_without_a_verdict(sample):
    stop = StopRequest()
    checked = []

    def on_checked(snapshot):
        checked.append(snapshot)
        stop.set("SIGINT")

    report = check_snapshots(list(sample.snapshots()), frozenset({"nope"}), on_checked=on_checked, stop=stop)
    assert len(checked) == 1 and len(report.stations) == 1  # no "matches no station" error: it was cut short
