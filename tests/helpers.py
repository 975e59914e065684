"""Driving the pipeline from tests through the library entry points the CLI, demo and benchmarks call, on the
suite's plaintext brokers (``bootstrap``: their servers)."""

from __future__ import annotations

import gzip
import shutil
import time
from dataclasses import replace
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

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
from velib_replay.verify.topic import read_latest


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
    called: the tests read once their producers have flushed, so nothing waits for the topic to go quiet (which
    took 5 s a read); empty for a topic that does not exist."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(partitions) if partitions else {}
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        read: dict[TopicPartition, list] = {tp: [] for tp in partitions}
        deadline = time.monotonic() + READ_WITHIN_S
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"{topic} was not read to its end offsets {ends} in {READ_WITHIN_S} s"
            for tp, records in consumer.poll(timeout_ms=200).items():
                read[tp] += [record for record in records if record.offset < ends[tp]]
        return [(record.key, record.value, record.timestamp) for tp in partitions for record in read[tp]]
    finally:
        consumer.close()


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
