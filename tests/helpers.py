"""Driving the pipeline from tests through the library entry points the CLI, demo and benchmarks call, on the
suite's plaintext brokers (``bootstrap``: their servers)."""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from velib_replay.contracts.indicators import Indicator
from velib_replay.job.config import JobSummary
from velib_replay.job.pipeline import PipelineTopics
from velib_replay.job.runner import run_once
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import PlayStats, replay_delivered
from velib_replay.verify.reference import over_recording
from velib_replay.verify.topic import read_latest, reader, records_to_end


def replay(
    recording: Recording, bootstrap: str, topic: str, speed: float | None, client: str = "kafka-python", **plan
) -> PlayStats:
    options = PlayOptions(ReplayPlan(speed=speed, **plan), client=client)
    return replay_delivered(recording, KafkaTarget(bootstrap), topic, options)


def process_once(spark, bootstrap: str, names: PipelineTopics, checkpoint: Path, **overrides) -> JobSummary:
    """The job once over ``names`` on ``bootstrap`` (a cluster's servers, for names made elsewhere)."""
    return run_once(replace(names, kafka=KafkaTarget(bootstrap)).job_config(checkpoint, **overrides), spark)


def latest_indicators(bootstrap: str, names) -> dict[str, Indicator]:
    return read_latest(KafkaTarget(bootstrap), names.indicators).latest


READ_WITHIN_S = 60.0


def topic_records(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    """Every (key, value) in a topic (``topic_messages``)."""
    return [(key, value) for key, value, _timestamp in topic_messages(bootstrap, topic)]


def topic_messages(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes, int]]:
    """Every (key, value, timestamp in ms) in a topic, partition after partition, up to the end offsets it has when
    called (``verify.topic.records_to_end``): the tests read once their producers have flushed, so nothing waits
    for the topic to go quiet (which took 5 s a read)."""
    consumer = reader(KafkaTarget(bootstrap))
    try:
        records = list(records_to_end(consumer, topic, READ_WITHIN_S))
    finally:
        consumer.close()
    records.sort(key=lambda record: (record.partition, record.offset))
    return [(record.key, record.value, record.timestamp) for record in records]


def topic_values(bootstrap: str, topic: str) -> list[bytes]:
    return [value for _key, value in topic_records(bootstrap, topic)]


def expected_from(recording: Recording, postcodes: dict[str, str], **plan) -> dict[str, Indicator]:
    """The independent plain-Python computation over what the recording holds."""
    return over_recording(recording, postcodes, **plan)


def corrupt_copy(recording: Path, dest: Path, positions: tuple[int, ...]) -> Path:
    """A copy of ``recording`` whose station_status bodies at ``positions`` (0-based) no longer parse."""
    shutil.copytree(recording, dest)
    bodies = sorted(dest.glob("*/*.station_status.json*"))
    bodies = [body for body in bodies if not body.name.endswith(".meta.json")]
    for position in positions:
        bodies[position].write_bytes(gzip.compress(b"{ truncated"))
    return dest


def until(condition: Callable[[], object], what: str, timeout_s: float) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` once ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
