"""Shared parameter types: the same syntax gives the same usage error (exit 2) in every command."""

import pytest
from click.testing import CliRunner
from conftest import SAMPLE

from velib_replay import config
from velib_replay.cli import main
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.units import parse_speed


@pytest.mark.parametrize(
    "args",
    [
        ["play", str(SAMPLE), "--speed", "fast"],
        ["serve", str(SAMPLE), "--speed", "fast"],
    ],
)
def test_a_bad_speed_is_the_same_usage_error_everywhere(args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--speed': speed 'fast': use a positive multiplier" in result.output


@pytest.mark.parametrize("interval", ["nan", "inf", "0", "-1", "soon"])
def test_intervals_must_be_finite_and_positive(interval, tmp_path):
    for verb in ("record", "live"):
        result = CliRunner().invoke(
            main, [verb, "--interval", interval, "--count", "1", "--url", "http://127.0.0.1:1/x"]
        )
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--interval'" in result.output


def test_durations_share_one_syntax():
    result = CliRunner().invoke(main, ["record", "--duration", "two hours", "--url", "http://127.0.0.1:1/x"])
    assert result.exit_code == 2
    assert "Invalid value for '--duration': duration 'two hours'" in result.output


def test_each_speed_default_is_defined_once():
    """`play` and `serve` run at recorded time for people; the library (and the plugin, scenarios) at max."""
    for verb in ("play", "serve"):
        (speed,) = [param for param in main.commands[verb].params if param.name == "speed"]
        assert speed.default == config.PLAY_SPEED
    assert ReplayPlan().speed == parse_speed(config.TEST_SPEED) is None
