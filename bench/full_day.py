"""A full-network day end to end: simulate, replay at max speed, process --once, verify.

1,440 snapshots x ~1,500 stations (~2.15 million station messages) made by
``velib-replay simulate`` from the sample's real snapshot; the player sends them at
--speed max; the Spark job runs once over everything (``process --once``); then the
indicators on the topic are compared with the independent plain-Python computation
(``verify.reference.compute``) over the same recording. --quick simulates the 3 busiest morning hours
(180 snapshots from 07:00 local time).

    python bench/full_day.py [--quick]
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from operator import attrgetter as by
from pathlib import Path
from typing import TypeVar

from harness import Stopwatch, machine_load, main, peak_rss_mb, print_table, say, workspace

from velib_replay import config
from velib_replay.job.config import JobConfig, JobSummary
from velib_replay.job.runner import run_once
from velib_replay.job.session import spark_session
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka import topics
from velib_replay.recording import Recording, Snapshot
from velib_replay.replay.player import PlayStats, replay_to_topic
from velib_replay.simulate.day import first_status_body, local_midnight, simulate_day
from velib_replay.verify import reference
from velib_replay.verify.diff import Difference, compare, describe
from velib_replay.verify.topic import TopicContents, read_latest

T = TypeVar("T")


@dataclass
class Stage:
    name: str
    seconds: float
    records: int | None = None
    unit: str = ""

    def row(self) -> list[object]:
        rate = f"{self.records / self.seconds:,.0f}" if self.records else ""
        return [self.name, f"{self.seconds:.1f}", f"{self.records:,}" if self.records else "", rate, self.unit]


def job_config(bootstrap: str, folder: Path) -> JobConfig:
    """Fresh topics and checkpoint, so the run processes exactly this day."""
    suffix = uuid.uuid4().hex[:8]
    cfg = JobConfig(
        bootstrap_servers=bootstrap,
        status_topic=f"bench-day-{suffix}",
        indicators_topic=f"bench-day-indicators-{suffix}",
        quarantine_topic=f"bench-day-quarantine-{suffix}",
        checkpoint=folder / "checkpoint",
        show_rows=0,
    )
    names = (cfg.status_topic, cfg.indicators_topic, cfg.quarantine_topic)
    topics.ensure_topics(bootstrap, topics.pipeline_topics(*names))
    return cfg


def timed(
    stages: list[Stage], name: str, unit: str, work: Callable[[], T], count: Callable[[T], int] | None = None
) -> T:
    """Run ``work()``, record its wall time as a stage, and return its result; ``count(result)`` gives records."""
    say(f"full day: {name} ...")
    with Stopwatch().running() as watch:
        result = work()
    stages.append(Stage(name, watch.seconds, count(result) if count else None, unit))
    return result


def run_day(quick: bool, servers: str, folder: Path) -> tuple[list[Stage], JobSummary, Difference]:
    snapshots_wanted = 180 if quick else 1440
    base, day = first_status_body(config.sample_recording()), folder / "day"
    start = local_midnight(json.loads(base)["lastUpdatedOther"]) + timedelta(hours=7 if quick else 0)
    stages: list[Stage] = []
    summary = timed(
        stages, "simulate (write the recording)", "station records",
        lambda: simulate_day(base, day, seed=1, snapshots=snapshots_wanted, start=start),
        lambda made: made.snapshots * made.stations,
    )  # fmt: skip
    snapshots: list[Snapshot] = list(Recording(day).snapshots())  # the index only: stations are read when used
    timed(
        stages, "read and parse every body (play does it as it sends)", "station records",
        lambda: sum(len(s.stations) for s in snapshots), lambda total: total,
    )  # fmt: skip
    cfg = job_config(servers, folder)
    played = timed(stages, "play --speed max", "messages", lambda: _play(servers, cfg, Recording(day)), by("messages"))
    spark = timed(stages, "start Spark", "", spark_session)
    try:
        job = timed(stages, "process --once", "messages", lambda: run_once(cfg, spark), by("input_rows"))
    finally:
        spark.stop()
    postcodes = load_postcodes(config.stations_table())
    expected = timed(
        stages, "reference computation (reference.compute)", "station records",
        lambda: reference.compute(((s.snapshot_time, s.stations) for s in snapshots), postcodes),
        lambda _rows: summary.snapshots * summary.stations,
    )  # fmt: skip
    contents = timed(stages, "read the indicators topic", "indicator records", lambda: _latest(cfg), by("records"))
    say(f"full day: {summary.trips:,} trips, {summary.outages} outages, {played.messages:,} messages played")
    return stages, job, compare(expected, contents.latest)


def _play(servers: str, cfg: JobConfig, recording: Recording) -> PlayStats:
    stats = replay_to_topic(recording, servers, cfg.status_topic)
    if stats.undelivered:
        raise RuntimeError(f"{stats.undelivered} messages undelivered: {stats.first_error}")
    return stats


def _latest(cfg: JobConfig) -> TopicContents:
    return read_latest(cfg.bootstrap_servers, cfg.indicators_topic, timeout_s=600)


def run_bench(quick: bool, bootstrap: str | None) -> None:
    with workspace(bootstrap) as (folder, servers):
        stages, job, difference = run_day(quick, servers, folder)
    total = sum(stage.seconds for stage in stages)
    rows = [stage.row() for stage in stages] + [["total", f"{total:.1f}", "", "", ""]]
    print_table("Full-network day, stage by stage", rows, ["stage", "wall s", "records", "records/s", "of"])
    print(
        f"\njob: {job.input_rows:,} messages in {job.batches} batch(es) -> {job.indicator_rows:,} indicator rows, "
        f"{job.quarantined} quarantined, {job.dropped_late} dropped late; peak memory of this process "
        f"{peak_rss_mb():,.0f} MB"
    )
    verdict = "MATCH" if difference.equal else "MISMATCH\n" + describe(difference)
    print(f"indicators on the topic vs reference.compute over the recording: {verdict}")
    print(f"machine: {machine_load()}")


if __name__ == "__main__":
    main(run_bench, __doc__.splitlines()[0])
