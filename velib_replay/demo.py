"""The whole pipeline on the embedded defaults, in one call: what README's first command runs."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from velib_replay import broker, config, pacing, topics, verifier
from velib_replay.indicators import read_golden
from velib_replay.job import JobConfig, JobSummary, run, spark_session
from velib_replay.player import PlayStats, play
from velib_replay.publisher import Publisher
from velib_replay.recording import Recording

GOLDEN_NAME = "indicators.golden.jsonl"


@dataclass
class DemoResult:
    played: PlayStats
    job: JobSummary
    contents: verifier.TopicContents
    difference: verifier.Difference


def run_demo(
    recording_path: Path, embedded: broker.Broker, checkpoint: Path, say: Callable[[str], None] = print
) -> DemoResult:
    """Broker (started if needed) → topics → play at max speed → job --once → verify against the golden file."""
    started, running = broker.start(embedded)
    say(f"Kafka {'started' if started else 'already running'} on {running.bootstrap_servers} (log: {running.log_file})")
    bootstrap = running.bootstrap_servers
    job_config = JobConfig(bootstrap_servers=bootstrap, checkpoint=checkpoint, show_rows=0)
    topics.ensure_topics(
        bootstrap,
        topics.pipeline_topics(job_config.status_topic, job_config.indicators_topic, job_config.quarantine_topic),
    )
    recording = Recording(recording_path)
    with Publisher(bootstrap, job_config.status_topic) as publisher:
        played = play(pacing.schedule(list(recording.snapshots())), publisher, speed=None)
    say(f"Played {played.snapshots} snapshots ({played.messages} messages) to {job_config.status_topic}")
    say("Running the Spark job until all is processed...")
    summary = run(spark_session(), job_config, once=True)
    contents = verifier.read_latest(bootstrap, job_config.indicators_topic)
    difference = verifier.compare(read_golden(recording_path / GOLDEN_NAME), contents.latest)
    return DemoResult(played, summary, contents, difference)


@contextlib.contextmanager
def fresh_checkpoint() -> Iterator[Path]:
    """A checkpoint of the demo's own, removed afterwards: each demo reprocesses the topic from its start."""
    config.cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="velib-replay-demo-", dir=config.cache_dir()) as folder:
        yield Path(folder)
