"""The job on local[2] against the job on a standalone cluster (a master, two one-core workers), same day, same topic.

A simulated full-network day (--quick: the 3 busiest morning hours) is played once; then ``process --once`` runs
twice over the same topic, each with its own checkpoint and indicators topic: in this process on ``local[2]``,
and with ``spark-submit`` on a cluster started from pyspark's ``spark-class``. Both results are compared with
the independent computation over the recording.

    python bench/cluster.py [--quick]
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import full_day
from harness import Stopwatch, machine_load, main, print_table, say, workspace

from velib_replay import config
from velib_replay.cli.submit import spark_submit_command
from velib_replay.job.config import JobConfig
from velib_replay.job.runner import run_once
from velib_replay.job.session import spark_session
from velib_replay.job.standalone import standalone_cluster
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka import topics
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording
from velib_replay.replay.player import replay_to_topic
from velib_replay.simulate.day import first_status_body, local_midnight, simulate_day
from velib_replay.verify import reference
from velib_replay.verify.diff import compare
from velib_replay.verify.topic import read_latest

WORKERS = 2


def _elsewhere(cfg: JobConfig, folder: Path, run: str) -> JobConfig:
    """The same input topic, its own indicators topic and checkpoint: one run cannot see the other's output."""
    suffix = f"{run}-{uuid.uuid4().hex[:6]}"
    indicators, quarantine = f"{cfg.indicators_topic}-{suffix}", f"{cfg.quarantine_topic}-{suffix}"
    topics.ensure_topics(cfg.kafka, topics.pipeline_topics(cfg.status_topic, indicators, quarantine))
    return dataclasses.replace(
        cfg, indicators_topic=indicators, quarantine_topic=quarantine, checkpoint=folder / f"checkpoint-{suffix}"
    )


def _options(cfg: JobConfig) -> list[str]:
    """``process`` options naming this run's topics and checkpoint."""
    return [
        "--once", "--show", "0", "--bootstrap-servers", cfg.kafka.servers, "--topic", cfg.status_topic,
        "--indicators-topic", cfg.indicators_topic, "--quarantine-topic", cfg.quarantine_topic,
        "--checkpoint", str(cfg.checkpoint),
    ]  # fmt: skip


def _on_local(cfg: JobConfig) -> float:
    """Seconds of ``process --once`` on local[2], the Spark session's start included as spark-submit's is."""
    with Stopwatch().running() as watch:
        spark = spark_session("local[2]")
        try:
            run_once(cfg, spark)
        finally:
            spark.stop()
    return watch.seconds


def _on_cluster(cfg: JobConfig, folder: Path) -> tuple[float, float]:
    """(seconds to start the cluster, seconds of spark-submit from launch to exit)."""
    started = time.monotonic()
    with standalone_cluster(folder / "spark", workers=WORKERS, memory="1g") as cluster:
        ready = time.monotonic() - started
        command = spark_submit_command(cluster.master_url, _options(cfg), executor_memory="768m")
        with Stopwatch().running() as watch:
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return ready, watch.seconds


def _verdict(expected: dict, cfg: JobConfig) -> str:
    got = read_latest(cfg.kafka, cfg.indicators_topic, timeout_s=600).latest
    return f"{len(got):,} rows, " + ("equal to the reference" if compare(expected, got).equal else "DIFFERENT")


def run_bench(quick: bool, bootstrap: str | None) -> None:
    with workspace(bootstrap) as (folder, servers):
        base = first_status_body(config.sample_recording())
        start = local_midnight(json.loads(base)["lastUpdatedOther"]) + timedelta(hours=7 if quick else 0)
        say("cluster: simulate and play the day ...")
        simulate_day(base, folder / "day", seed=1, snapshots=180 if quick else 1440, start=start)
        day = Recording(folder / "day")
        cfg = full_day.job_config(servers, folder)
        played = replay_to_topic(day, KafkaTarget(servers), cfg.status_topic)
        postcodes = load_postcodes(config.stations_table())
        expected = reference.compute(((s.snapshot_time, s.stations) for s in day.snapshots()), postcodes)
        say("cluster: process --once on local[2] ...")
        local = _elsewhere(cfg, folder, "local")
        rows = [["local[2], in process", f"{_on_local(local):.1f}", _verdict(expected, local)]]
        say(f"cluster: process --once with spark-submit on a master and {WORKERS} one-core workers ...")
        remote = _elsewhere(cfg, folder, "cluster")
        ready, seconds = _on_cluster(remote, folder)
        rows.append([f"spark-submit, {WORKERS} workers", f"{seconds:.1f}", _verdict(expected, remote)])
    print_table(f"process --once over {played.messages:,} messages", rows, ["where", "wall s", "indicators"])
    print(f"(the cluster's own start-up, {ready:.1f} s, is not counted)\nmachine: {machine_load()}")


if __name__ == "__main__":
    main(run_bench, __doc__.splitlines()[0])
