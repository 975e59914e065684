"""Determinism matrix: the indicators are a function of the recording alone.

Speed, partition count, micro-batch boundaries, republished snapshots, loops and a job
killed mid-stream must not change the latest value per key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import SAMPLE
from helpers import expected_from, latest_indicators, process_once, replay

from velib_replay.job.config import QUERY_NAME
from velib_replay.verify.golden import read_golden

pytestmark = pytest.mark.integration
GOLDEN = SAMPLE / "indicators.golden.jsonl"
SAMPLE_MESSAGES = 16442


def process_while_playing(velib_spark, bootstrap, names, checkpoint, play_args: dict, **job) -> list[int]:
    """Run the job in --once rounds while the replay goes on; returns the messages of each round."""
    player = threading.Thread(target=replay, kwargs={"bootstrap": bootstrap, "topic": names.status, **play_args})
    player.start()
    rounds = []
    while player.is_alive():
        rounds.append(process_once(velib_spark, bootstrap, names, checkpoint, **job).input_rows)
    player.join()
    rounds.append(process_once(velib_spark, bootstrap, names, checkpoint, **job).input_rows)
    return rounds


@pytest.mark.slow
def test_10x_into_3_partitions_while_the_job_runs(sample, velib_kafka, topics_with, velib_spark, checkpoint):
    names = topics_with(3)
    rounds = process_while_playing(velib_spark, velib_kafka, names, checkpoint, {"recording": sample, "speed": 10.0})
    assert sum(rounds) == SAMPLE_MESSAGES and sum(1 for n in rounds if n) >= 2, rounds
    assert latest_indicators(velib_kafka, names) == read_golden(GOLDEN)


def test_fast_replay_in_small_micro_batches(sample, velib_kafka, velib_topics, velib_spark, checkpoint):
    """~3 s replay, micro-batches of 1,000 messages: snapshots straddle batch boundaries."""
    rounds = process_while_playing(
        velib_spark,
        velib_kafka,
        velib_topics,
        checkpoint,
        {"recording": sample, "speed": 200.0},
        max_offsets_per_trigger=1000,
    )
    assert sum(rounds) == SAMPLE_MESSAGES
    assert latest_indicators(velib_kafka, velib_topics) == read_golden(GOLDEN)


def test_recording_published_twice_counts_once(sample, velib_kafka, topics_with, velib_spark, checkpoint):
    names = topics_with(3)
    replay(sample, velib_kafka, names.status, speed=None)
    replay(sample, velib_kafka, names.status, speed=None)
    assert process_once(velib_spark, velib_kafka, names, checkpoint).input_rows == 2 * SAMPLE_MESSAGES
    assert latest_indicators(velib_kafka, names) == read_golden(GOLDEN)


def test_loop_2_gives_two_distinct_passes(sample, postcodes, velib_kafka, velib_topics, velib_spark, checkpoint):
    replay(sample, velib_kafka, velib_topics.status, speed=None, passes=2)
    process_once(velib_spark, velib_kafka, velib_topics, checkpoint)
    expected = expected_from(sample, postcodes, passes=2)
    assert len(expected) == 2 * len(read_golden(GOLDEN))
    assert latest_indicators(velib_kafka, velib_topics) == expected


@pytest.mark.slow
def test_job_killed_mid_stream_resumes_from_its_checkpoint(sample, velib_kafka, velib_topics, velib_spark, checkpoint):
    """SIGKILL the job (a separate process) after it committed some micro-batches, then restart it."""
    replay(sample, velib_kafka, velib_topics.status, speed=None)
    names = velib_topics
    arguments = [
        "--bootstrap-servers", velib_kafka, "--topic", names.status, "--indicators-topic", names.indicators,
        "--quarantine-topic", names.quarantine, "--checkpoint", str(checkpoint), "--max-offsets-per-trigger", "2000",
        "--trigger-interval", "1 second", "--show", "0", "--master", "local[2]",
    ]  # fmt: skip
    job = subprocess.Popen(
        [sys.executable, "-m", "velib_replay", "process", *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    commits = checkpoint / QUERY_NAME / "commits"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(commits.glob("[0-9]*"))) < 2:
            assert job.poll() is None, "the job died on its own"
            time.sleep(0.2)
        assert len(list(commits.glob("[0-9]*"))) >= 2, "no micro-batch committed in time"
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    assert len(list(commits.glob("[0-9]*"))) < 9, "the job finished before it was killed"
    process_once(velib_spark, velib_kafka, velib_topics, checkpoint)
    assert latest_indicators(velib_kafka, velib_topics) == read_golden(GOLDEN)
