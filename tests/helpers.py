"""Driving the pipeline from tests through the same functions the CLI calls."""

from __future__ import annotations

from pathlib import Path

from kafka import KafkaConsumer

from velib_replay import indicators, pacing, verifier
from velib_replay.job import JobConfig, JobSummary, run
from velib_replay.player import PlayStats, play
from velib_replay.publisher import open_publisher
from velib_replay.recording import Recording


def replay(
    recording: Recording, bootstrap: str, topic: str, speed: float | None, client: str = "kafka-python", **schedule
) -> PlayStats:
    with open_publisher(bootstrap, topic, client=client) as publisher:
        stats = play(pacing.schedule(list(recording.snapshots()), **schedule), publisher, speed=speed)
    assert stats.undelivered == 0, stats.first_error
    return stats


def job_config(bootstrap: str, names, checkpoint: Path, **overrides) -> JobConfig:
    return JobConfig(
        bootstrap_servers=bootstrap,
        status_topic=names.status,
        indicators_topic=names.indicators,
        quarantine_topic=names.quarantine,
        checkpoint=checkpoint,
        show_rows=0,
        **overrides,
    )


def process_once(spark, bootstrap: str, names, checkpoint: Path, **overrides) -> JobSummary:
    return run(spark, job_config(bootstrap, names, checkpoint, **overrides), once=True)


def latest_indicators(bootstrap: str, names) -> dict[str, indicators.Indicator]:
    return verifier.read_latest(bootstrap, names.indicators).latest


def topic_records(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    """Every (key, value) in a topic, read from the beginning until it has been quiet for a few seconds."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    try:
        return [(record.key, record.value) for record in consumer]
    finally:
        consumer.close()


def topic_values(bootstrap: str, topic: str) -> list[bytes]:
    return [value for _key, value in topic_records(bootstrap, topic)]


def expected_from(recording: Recording, postcodes: dict[str, str]) -> dict[str, indicators.Indicator]:
    """The independent plain-Python computation over what the recording holds."""
    return indicators.compute(((s.snapshot_time, s.stations) for s in recording.snapshots()), postcodes)
