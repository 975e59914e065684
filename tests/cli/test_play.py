"""`velib-replay play` options and errors that need no broker."""

import pytest
from click.testing import CliRunner
from conftest import SAMPLE

from velib_replay.cli import main


def play(*args: str):
    return CliRunner().invoke(main, ["play", str(SAMPLE), *args])


def test_dry_run_prints_the_schedule_at_the_given_speed():
    result = play("--dry-run", "--speed", "30x", "--loop", "2", "--limit", "13")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 + 13
    assert lines[2].split()[:2] == ["0", "0.000"] and lines[-1].split()[1] == "24.000"
    assert lines[-1].split()[-2:] == ["1", "1495"]  # second pass


def test_dry_run_of_an_endless_loop_shows_a_bounded_preview():
    result = play("--dry-run", "--loop")
    assert result.exit_code == 0
    assert result.output.rstrip().endswith("(looping until stopped)")


def test_window_by_offsets_and_iso_times():
    by_offset = play("--dry-run", "--start", "2m", "--end", "5m")
    by_time = play("--dry-run", "--start", "2025-10-18T09:14:00Z", "--end", "2025-10-18T09:17:00Z")
    assert by_offset.output == by_time.output
    assert len(by_offset.output.splitlines()) == 2 + 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--speed", "fast"], "Invalid value for '--speed'"),
        (["--stations", ","], "Invalid value for '--stations'"),
        (["--start", "soon"], "Invalid value for '--start'"),
        (["--loop", "x"], "Invalid value for '--loop'"),
    ],
)
def test_bad_options_are_rejected_before_anything_is_sent(args, message):
    result = play(*args, "--bootstrap-servers", "localhost:1")
    assert result.exit_code == 2
    assert message in result.output


def test_not_a_recording(tmp_path):
    result = CliRunner().invoke(main, ["play", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a recording" in result.output
