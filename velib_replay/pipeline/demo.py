"""The whole pipeline on the embedded defaults, in one call: what README's first command runs."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from velib_replay import config
from velib_replay.job.config import JobSummary
from velib_replay.job.pipeline import PipelineTopics
from velib_replay.job.runner import run_once
from velib_replay.kafka import broker
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording
from velib_replay.replay.player import PlayStats, replay_to_topic
from velib_replay.report import Written, write_report
from velib_replay.report.data import from_contents
from velib_replay.verify.diff import Difference, compare
from velib_replay.verify.golden import read_golden
from velib_replay.verify.topic import TopicContents, read_latest

GOLDEN_NAME = "indicators.golden.jsonl"


@dataclass
class DemoResult:
    kafka: KafkaTarget
    played: PlayStats
    job: JobSummary
    contents: TopicContents
    difference: Difference
    report: Written


def demo_topics(kafka: KafkaTarget, run_id: str) -> PipelineTopics:
    """Topics of this demo run's own, so an earlier replay on ``velib-projet`` cannot change its result."""
    names = (
        f"{name}-demo-{run_id}" for name in (config.STATUS_TOPIC, config.INDICATORS_TOPIC, config.QUARANTINE_TOPIC)
    )
    return PipelineTopics(*names, kafka=kafka)


def run_demo(
    recording_path: Path,
    embedded: broker.Broker,
    checkpoint: Path,
    say: Callable[[str], None] = print,
    *,
    move_if_taken: bool = False,
) -> DemoResult:
    """Broker (if needed) → topics → play at max speed → job --once → verify against the golden file → report."""
    started, running = start_broker(embedded, say, move_if_taken=move_if_taken)
    say(f"Kafka {'started' if started else 'already running'} on {running.bootstrap_servers} (log: {running.log_file})")
    bootstrap = KafkaTarget(running.bootstrap_servers)
    job_config = demo_topics(bootstrap, time.strftime("%Y%m%dT%H%M%S")).job_config(checkpoint)
    played = replay_to_topic(Recording(recording_path), bootstrap, job_config.status_topic)
    say(f"Played {played.snapshots} snapshots ({played.messages} messages) to {job_config.status_topic}")
    say("Running the Spark job until all is processed...")
    summary = run_once(job_config)
    contents = read_latest(bootstrap, job_config.indicators_topic)
    difference = compare(read_golden(recording_path / GOLDEN_NAME), contents.latest)
    name = recording_path.name
    data = from_contents(contents, f"topic {job_config.indicators_topic}", name, Recording(recording_path))
    report = write_report(data, config.reports_dir() / f"{name}.html", images=False)
    return DemoResult(bootstrap, played, summary, contents, difference, report)


def start_broker(
    embedded: broker.Broker, say: Callable[[str], None], *, move_if_taken: bool
) -> tuple[bool, broker.Broker]:
    """Start the demo's broker; with ``move_if_taken`` (the port was not the user's choice) on free ports when
    another process holds its port, so another Kafka on 9092 never stops README's first command."""
    try:
        return broker.start(embedded)
    except broker.PortTaken as taken:
        if not move_if_taken:
            raise
        moved = broker.on_free_ports(embedded.data_dir)
        by = f" by {taken.holder}" if taken.holder else ""
        say(f"Port {taken.port} is taken{by}: the demo's Kafka uses free ports instead ({moved.bootstrap_servers})")
        return broker.start(moved)


@contextlib.contextmanager
def fresh_checkpoint() -> Iterator[Path]:
    """A checkpoint of the demo's own, removed afterwards: each demo reprocesses its topic from the start."""
    config.cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="velib-replay-demo-", dir=config.cache_dir()) as folder:
        yield Path(folder)
