"""``process --max-future``: a duration, listed in --help, refused as a usage error when malformed."""

from click.testing import CliRunner

from velib_replay.cli import main


def test_max_future_is_documented_and_checked():
    runner = CliRunner()
    assert "--max-future" in runner.invoke(main, ["process", "--help"]).output
    refused = runner.invoke(main, ["process", "--once", "--max-future", "soon"])
    assert refused.exit_code == 2
    assert "'--max-future'" in refused.output and "Traceback" not in refused.output
