"""Driving the replay loop through a ``Control`` from another thread: pause, step, seek, speed, and the account.

The publisher is the fake one (this is about the loop's logic); the clock is the real one, the sample's
snapshots a minute apart, played at 600x (0.1 s each).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from fakes import FakePublisher
from helpers import until

from velib_replay.replay.control import Control
from velib_replay.replay.faults import parse_fault
from velib_replay.replay.ledger import open_ledger, read_ledger
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import PlayStats, plan_slots, play
from velib_replay.signals import StopRequest
from velib_replay.units import parse_offset
from velib_replay.verify.expected import replayed_stream


@pytest.fixture
def driven(sample):
    """A replay of the sample running in a thread under a Control: (control, publisher, result, thread)."""

    def start(speed: float | None = 600.0, **plan):
        timeline = plan_slots(sample, ReplayPlan(speed=speed, **plan))
        control = Control(timeline, speed)
        publisher, result = FakePublisher(), {}
        stop = StopRequest()

        def run() -> None:
            result["stats"] = play(timeline, publisher, speed=speed, control=control, stop=stop)

        thread = threading.Thread(target=run, daemon=True)
        return control, publisher, result, thread, stop

    return start


def test_paused_before_the_start_sends_nothing_then_steps_exactly(driven):
    control, publisher, result, thread, _stop = driven()
    control.pause()
    thread.start()
    time.sleep(0.5)
    assert publisher.sends == []
    control.step(2)
    until(lambda: len(publisher.sends) == 2, "2 sends", 10.0)
    time.sleep(0.5)
    assert len(publisher.sends) == 2 and control.status()["paused"]
    assert control.status()["feed_time"] == "2025-10-18T09:10:16Z"  # the second snapshot's
    control.resume()
    thread.join(10)
    stats: PlayStats = result["stats"]
    assert stats.snapshots == 11 and [a["action"] for a in stats.actions] == ["pause", "step", "resume"]
    assert stats.paused_s >= 0.9
    assert stats.pacing()["max_ms"] < 500  # time paused is not lateness
    assert 450 < stats.achieved_speed() < 800  # nor slowness: ~600x while sending (666x: the steps sent in a pause)
    assert stats.replayed_span_s / stats.wall_s < 400  # ~315x over the wall time, pause included


def test_seek_back_resends_from_there_and_seek_forward_skips(driven, sample):
    control, publisher, result, thread, _stop = driven(speed=None)
    control.pause()
    thread.start()
    control.step(5)
    until(lambda: len(publisher.sends) == 5, "5 sends", 10.0)
    control.seek(parse_offset("1m"))  # the second snapshot again
    control.step(1)
    until(lambda: len(publisher.sends) == 6, "6 sends", 10.0)
    sent = [m.value for m in publisher.sink]
    per = len(sent) // 6
    assert sent[5 * per :] == sent[per : 2 * per]
    status = control.seek(datetime.fromisoformat("2025-10-18T09:18:00+00:00"))
    assert status["next_feed_time"] == "2025-10-18T09:18:16Z"  # the first at or after it
    control.resume()
    thread.join(10)
    assert result["stats"].snapshots == 6 + 1  # the last snapshot is the first at or after 09:18


def test_a_seek_past_the_end_is_refused_and_changes_nothing(driven):
    control, _publisher, _result, _thread, _stop = driven()
    with pytest.raises(ValueError, match="after the last snapshot time"):
        control.seek(timedelta(hours=1))
    assert control.status()["position"] == 0 and control.actions == []


def test_speed_changes_keep_the_schedule_where_it_stands(driven):
    control, publisher, result, thread, _stop = driven(speed=6.0)  # 10 s a snapshot
    thread.start()
    until(lambda: len(publisher.sends) == 1, "1 send", 10.0)
    time.sleep(0.2)
    control.set_speed(None)  # max: the rest at once
    thread.join(10)
    assert result["stats"].snapshots == 11
    assert [a["speed"] for a in result["stats"].actions] == ["max"]


def test_a_stop_request_ends_a_paused_replay(driven):
    control, _publisher, result, thread, stop = driven()
    control.pause()
    thread.start()
    time.sleep(0.2)
    stop.set("SIGINT")
    thread.join(5)
    assert result["stats"].interrupted == "SIGINT" and result["stats"].snapshots == 0


def test_faults_under_control_stay_seeded_and_the_log_regenerates_the_stream(sample, tmp_path):
    """Whatever the actions, the fault log lets ``verify`` regenerate the exact stream sent (a seek back included)."""
    plan = ReplayPlan(speed=None, wanted=frozenset({"16107", "32017", "9020"}))
    faults = [parse_fault(spec) for spec in ("duplicate=0.3", "drop=0.2", "reorder=3", "corrupt=0.2")]
    timeline = plan_slots(sample, plan)
    control, publisher, log = Control(timeline, None), FakePublisher(), tmp_path / "faults.jsonl"
    control.pause()
    with open_ledger(log, plan, faults, 7) as ledger:
        thread = threading.Thread(
            target=play,
            args=(timeline, publisher),
            kwargs=dict(speed=None, wanted=plan.wanted, faults=faults, seed=7, ledger=ledger, control=control),
        )
        thread.start()
        control.step(4)
        until(lambda: control.status()["snapshots_sent"] == 4, "4 snapshots sent", 10.0)
        control.seek(parse_offset("1m"))
        control.step(2)
        until(lambda: control.status()["snapshots_sent"] == 6, "6 snapshots sent", 10.0)
        control.seek(parse_offset("8m"))
        control.resume()
        thread.join(10)
    read = read_ledger(log)
    assert read.sent == [0, 1, 2, 3, 1, 2, 9, 10]  # 8m on is 09:17:16, the tenth (one feed time repeats)
    assert [m.value for m in replayed_stream(sample, read)] == [m.value for m in publisher.sink]
    assert read.entries  # faults there were
