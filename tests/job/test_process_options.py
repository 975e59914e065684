"""``process`` refuses bad options as usage errors naming the option, before a JVM starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from velib_replay.cli import main, options

PROCESS = ["process", "--once", "--bootstrap-servers", "127.0.0.1:1"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--watermark", "two hours"),
        ("--watermark", "2 hourz"),
        ("--watermark", "1.5 hours"),
        ("--watermark", "-2 hours"),
        ("--watermark", ""),
        ("--trigger-interval", "5"),
        ("--trigger-interval", "1 month"),
        ("--trigger-interval", "5 seconds later"),
        ("--master", "foo"),
        ("--master", "local[abc]"),
        ("--master", "local[0]"),
        ("--master", "spark://host"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_option(option, value, tmp_path):
    result = CliRunner().invoke(main, [*PROCESS, "--checkpoint", str(tmp_path / "cp"), option, value])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "cp").exists()


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("2 hours", "2 hours"),
        ("  5   seconds ", "5 seconds"),
        ("500 milliseconds", "500 milliseconds"),
        ("1 hour 30 minutes", "1 hour 30 minutes"),
        ("interval 1.5 seconds", "interval 1.5 seconds"),
        ("1 Day", "1 Day"),
    ],
)
def test_spark_intervals_are_accepted_and_normalised(text, normalised):
    assert options.SPARK_INTERVAL.convert(text, None, None) == normalised
    assert options.SPARK_TRIGGER_INTERVAL.convert(text, None, None) == normalised


def test_months_are_a_watermark_delay_but_not_a_trigger_interval():
    assert options.SPARK_INTERVAL.convert("1 month", None, None) == "1 month"
    with pytest.raises(Exception, match="months or years"):
        options.SPARK_TRIGGER_INTERVAL.convert("1 month", None, None)


@pytest.mark.parametrize("master", ["local", "local[*]", "local[2]", "local[*,3]", "spark://a:7077,b:7077", "yarn"])
def test_master_urls_spark_parses_are_accepted(master):
    assert options.SPARK_MASTER.convert(master, None, None) == master
