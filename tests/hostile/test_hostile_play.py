"""Issue 28, item 5: play does all that was asked, or refuses before sending (``--dry-run`` included)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fakes import FakePublisher
from helpers import topic_values

from velib_replay.cli import main
from velib_replay.config import sample_recording
from velib_replay.replay.faults import parse_fault
from velib_replay.replay.pacing import schedule
from velib_replay.replay.player import play

TWENTY = sorted(["16107", "9020", "31104", "44015", "8048", "42016", "15047", "12109", "17041", "6015",
                 "11104", "10013", "13007", "14014", "16021", "18010", "19005", "20044", "21010", "5001"])  # fmt: skip


def test_a_loop_with_a_reorder_window_wider_than_a_pass_sends_every_pass(sample):
    first = list(sample.snapshots())[:1]
    one_pass = play(schedule(first), FakePublisher(), speed=None, wanted=frozenset(TWENTY)).messages
    stats = play(schedule(first, passes=3), FakePublisher(), speed=None, wanted=frozenset(TWENTY),
                 faults=[parse_fault("reorder=50")])  # fmt: skip
    assert one_pass > 0 and stats.messages == 3 * one_pass


@pytest.mark.integration
def test_play_loop_3_with_reorder_50_sends_three_passes_to_kafka(velib_kafka, velib_topics):
    args = ["play", str(sample_recording()), "--bootstrap-servers", velib_kafka, "--topic", velib_topics.status,
            "--speed", "max", "--end", "0m", "--stations", ",".join(TWENTY), "-q"]  # fmt: skip
    CliRunner().invoke(main, [*args, "--topic", f"{velib_topics.status}-once"], catch_exceptions=False)
    one_pass = len(topic_values(velib_kafka, f"{velib_topics.status}-once"))
    result = CliRunner().invoke(main, [*args, "--loop", "3", "--inject", "reorder=50"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert one_pass > 0 and len(topic_values(velib_kafka, velib_topics.status)) == 3 * one_pass


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
def test_a_stall_past_the_replay_is_refused_before_sending(dry_run):
    args = ["play", str(sample_recording()), "--bootstrap-servers", "127.0.0.1:1", "--speed", "max", "--end", "0m",
            "--loop", "2", "--inject", "stall=1d:1s", *dry_run]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "stall=1d:1s" in result.output and "would never happen" in result.output
