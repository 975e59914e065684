"""Issue 28, item 10: files a user names are never clobbered, and a full disk never passes for a complete run.

``--fault-log`` refuses a path inside a recording and any existing file that is not a fault log; a disk that
fills while the log is written stops the replay with its statistics, a non-zero exit and the log said incomplete.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.config import sample_recording

pytestmark = pytest.mark.integration


def play(velib_kafka: str, topic: str, *args: str):
    base = ["play", "--bootstrap-servers", velib_kafka, "--topic", topic, "--speed", "max", "--inject", "drop=0.1"]
    return CliRunner().invoke(main, [*base, *args])


def test_a_fault_log_inside_a_recording_is_refused_and_the_manifest_kept(tmp_path, velib_kafka, velib_topics):
    recording = shutil.copytree(sample_recording(), tmp_path / "rec")
    manifest = (recording / "recording.json").read_bytes()
    result = play(velib_kafka, velib_topics.status, str(recording), "--fault-log", str(recording / "recording.json"))
    assert result.exit_code == 1, result.output
    assert f"is inside the recording {recording}" in result.output
    assert (recording / "recording.json").read_bytes() == manifest


def test_an_existing_file_that_is_not_a_fault_log_is_refused(tmp_path, velib_kafka, velib_topics):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    result = play(velib_kafka, velib_topics.status, str(sample_recording()), "--fault-log", str(notes))
    assert result.exit_code == 1 and "exists and is not a fault log" in result.output, result.output
    assert notes.read_text() == "my notes\n"
    log = tmp_path / "faults.jsonl"
    assert play(velib_kafka, velib_topics.status, str(sample_recording()), "--fault-log", str(log)).exit_code == 0
    again = play(velib_kafka, f"{velib_topics.status}-2", str(sample_recording()), "--fault-log", str(log))
    assert again.exit_code == 0, again.output  # a fault log may be written again


@pytest.fixture
def full_disk(tmp_path):
    """A 16 KiB tmpfs: it fills after a few hundred fault lines (root only; skipped elsewhere)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_stops_the_replay_with_its_statistics_and_says_the_log_is_incomplete(
    full_disk, velib_kafka, velib_topics
):
    log = full_disk / "faults.jsonl"
    result = CliRunner().invoke(main, ["play", str(sample_recording()), "--bootstrap-servers", velib_kafka, "--topic",
                                       velib_topics.status, "--speed", "max", "--inject", "duplicate=1",
                                       "--fault-log", str(log)])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Sent to " in result.output and "statistic" in result.output  # the summary, before the error
    assert f"cannot write the fault log {log} (No space left on device): it is incomplete" in result.output
    assert "Traceback" not in result.output
