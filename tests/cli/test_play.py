"""`velib-replay play` options and errors that need no broker."""

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from helpers import corrupt_copy

from velib_replay.cli import main

NO_BROKER = "localhost:1"  # nothing listens there: the dry run cannot check the topic, whoever runs on 9092


def play(*args: str):
    return CliRunner().invoke(main, ["play", str(SAMPLE), "--bootstrap-servers", NO_BROKER, *args])


def test_dry_run_prints_the_schedule_at_the_given_speed():
    result = play("--dry-run", "--speed", "30x", "--loop", "2", "--limit", "13")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 + 13 + 1
    assert lines[2].split()[:2] == ["0", "0.000"] and lines[-2].split()[1] == "24.000"
    assert lines[-2].split()[-2:] == ["1", "1495"]  # second pass
    assert lines[-1] == f"Feed times not checked against velib-projet's retention: no broker answers at {NO_BROKER}"


def test_dry_run_of_an_endless_loop_shows_a_bounded_preview():
    result = play("--dry-run", "--loop")
    assert result.exit_code == 0
    assert "\n... (looping until stopped)\n" in result.output


def test_window_by_offsets_and_iso_times():
    by_offset = play("--dry-run", "--start", "2m", "--end", "5m")
    by_time = play("--dry-run", "--start", "2025-10-18T09:14:00Z", "--end", "2025-10-18T09:17:00Z")
    assert by_offset.output == by_time.output
    assert len(by_offset.output.splitlines()) == 2 + 4 + 1


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


def stations_column(output: str) -> list[str]:
    return [line.split()[-1] for line in output.splitlines()[2:] if not line.startswith("Feed times not checked")]


NOTHING_SELECTED = [
    (["--start", "90m"], "--start (2025-10-18T10:42:00Z) is after the last snapshot"),
    (["--start", "5m", "--end", "2m"], "is before --start"),
    (["--stations", "99999"], "--stations 99999 matches no station"),
]


@pytest.mark.parametrize(
    ("args", "reason"),
    [(args, reason) for args, reason in NOTHING_SELECTED]
    + [([*args, "--dry-run"], reason) for args, reason in NOTHING_SELECTED]
    + [(["--stations", "99999", "--no-check", "--dry-run"], "--stations 99999 matches no station")],
)
def test_a_play_that_selects_nothing_says_why_before_anything_is_sent(args, reason):
    result = play(*args, "--bootstrap-servers", "localhost:1")  # never reached: refused first
    assert result.exit_code == 1, result.output
    assert len(result.output.splitlines()) == 1 and result.output.startswith("Error: ")
    assert reason in result.output and "Traceback" not in result.output


def test_dry_run_counts_the_selected_stations():
    result = play("--dry-run", "--stations", "16107,32017")
    assert result.exit_code == 0, result.output
    assert stations_column(result.output) == ["2", "2", "2", "2", "2", "1", "1", "1", "2", "2", "2"]


def test_a_bad_body_is_refused_before_anything_is_sent(sample, tmp_path):
    bad = corrupt_copy(sample.path, tmp_path / "bad", (4,))
    result = CliRunner().invoke(main, ["play", str(bad), "--bootstrap-servers", "localhost:1"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and len(result.output.splitlines()) == 1
    assert "20251018T091600.000Z.station_status.json.gz" in result.output and "nothing was sent" in result.output


def test_dry_run_with_skip_invalid_shows_the_skipped_snapshot(sample, tmp_path):
    bad = corrupt_copy(sample.path, tmp_path / "bad", (4,))
    result = CliRunner().invoke(main, ["play", str(bad), "--dry-run", "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "Skipping 1 snapshot(s) with an invalid body" in result.output
    assert stations_column(result.output)[-11:][4] == "invalid"


def test_new_options_are_in_the_help():
    result = CliRunner().invoke(main, ["play", "--help"])
    assert all(option in result.output for option in ("--check / --no-check", "--skip-invalid", "SIGTERM"))


def test_a_feed_clock_out_of_range_is_refused_as_an_unusable_snapshot(sample, tmp_path):
    copy = tmp_path / "far"
    shutil.copytree(sample.path, copy)
    meta = sorted(copy.glob("*/*.station_status.meta.json"))[2]
    meta.write_text(json.dumps(json.loads(meta.read_text()) | {"last_updated": 10**12}))
    (copy / "index.jsonl").unlink()
    result = CliRunner().invoke(main, ["play", str(copy), "--dry-run"])
    assert result.exit_code == 1 and "unusable snapshot (year 33658 is out of range)" in result.output
    assert len(result.output.splitlines()) == 1
