"""Issue 28, item 6: a recording is checked on read; a body swapped for another poll's is refused, never replayed.

Each meta file holds its body's sha256 (v2: of the snapshot rebuilt from its delta chain): every reader
stops with one line naming the damaged file and its poll time, and ``info`` names every damaged body.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.config import sample_recording
from velib_replay.kafka.broker import free_port
from velib_replay.recording import STATUS_FEED, DamagedBody, Recording
from velib_replay.recording.convert import convert


def _status_polls(path: Path):
    return [poll for poll in Recording(path).polls(STATUS_FEED) if not poll.is_gap]


def swapped(dest: Path, *positions: int, source: Path | None = None) -> list:
    """A copy of the sample (or ``source``) whose status bodies at ``positions`` hold the next poll's body."""
    shutil.copytree(source or sample_recording(), dest)
    polls = _status_polls(dest)
    for position in positions:
        other = next(p for p in polls[position + 1 :] if p.sha256 != polls[position].sha256)
        (dest / polls[position].body_file).write_bytes((dest / other.body_file).read_bytes())
    return [polls[position] for position in positions]


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_play_dry_run_refuses_a_body_swapped_for_another_polls(tmp_path):
    (damaged,) = swapped(tmp_path / "rec", 3)
    result = _run("play", str(tmp_path / "rec"), "--dry-run")
    assert result.exit_code == 1, result.output
    assert damaged.body_file in result.output and damaged.fetched_text in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_info_names_every_damaged_body_and_fails(tmp_path):
    damaged = swapped(tmp_path / "rec", 2, 6)
    result = _run("info", str(tmp_path / "rec"))
    assert result.exit_code == 1, result.output
    assert "damaged bodies   2" in result.output
    for poll in damaged:
        assert poll.body_file in result.output and poll.fetched_text in result.output


@pytest.mark.parametrize("verb", ["convert", "report"])
def test_convert_and_report_refuse_a_damaged_body(tmp_path, verb):
    (damaged,) = swapped(tmp_path / "rec", 4)
    out = ["convert", str(tmp_path / "rec"), str(tmp_path / "out")] if verb == "convert" else \
        ["report", str(tmp_path / "rec"), "--out", str(tmp_path / "r.html"), "--no-images"]  # fmt: skip
    result = _run(*out)
    assert result.exit_code == 1, result.output
    assert f"{damaged.body_file}: damaged body" in result.output and damaged.fetched_text in result.output


def test_a_swapped_keyframe_is_blamed_on_itself_not_on_the_next_delta(tmp_path):
    convert(sample_recording(), tmp_path / "v2", "zstd-delta", keyframe_every=4)
    polls = _status_polls(tmp_path / "v2")
    keyframes = [poll for poll in polls if poll.delta_of is None]
    (tmp_path / "v2" / keyframes[1].body_file).write_bytes((tmp_path / "v2" / keyframes[2].body_file).read_bytes())
    result = _run("play", str(tmp_path / "v2"), "--dry-run")
    assert result.exit_code == 1, result.output
    assert f"{keyframes[1].body_file}: damaged body" in result.output and keyframes[1].fetched_text in result.output


def test_a_body_swapped_after_it_was_checked_is_refused_when_read_again(tmp_path):
    """``play`` reads each body twice (its check, then the replay): the second read is checked too."""
    shutil.copytree(sample_recording(), tmp_path / "rec")
    recording = Recording(tmp_path / "rec")
    first, second, other = _status_polls(tmp_path / "rec")[:3]
    for poll in (first, second):
        recording.body(poll)  # both checked
    (tmp_path / "rec" / first.body_file).write_bytes((tmp_path / "rec" / other.body_file).read_bytes())
    with pytest.raises(DamagedBody, match=f"{first.body_file}: damaged body: not the one polled at"):
        recording.body(first)


def test_serve_stops_at_a_damaged_body_with_one_line(tmp_path):
    (damaged,) = swapped(tmp_path / "rec", 1)
    port = free_port()
    command = [sys.executable, "-c", "from velib_replay.cli import main; main()", "serve", str(tmp_path / "rec"),
               "--speed", "max", "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/station_status.json", timeout=5).read()
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError):  # the server may stop mid-body
                time.sleep(0.2)
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert damaged.body_file in last and damaged.fetched_text in last and "stopped serving" in last
