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
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from anchor import job_vs_anchor
from harness import Stopwatch, machine_load, main, peak_rss_mb, print_table, say, workspace

from velib_replay import config
from velib_replay.job.config import JobConfig, JobSummary
from velib_replay.job.pipeline import fresh_topics
from velib_replay.job.runner import run_once
from velib_replay.job.session import spark_session
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording, Snapshot
from velib_replay.replay.player import PlayStats, replay_delivered
from velib_replay.simulate.day import first_status_body, local_midnight, simulate_day
from velib_replay.verify import reference
from velib_replay.verify.diff import Difference, compare, describe
from velib_replay.verify.topic import TopicContents, read_latest

T = TypeVar("T")
DAY_BUDGET_S = 60  # issue 12: play + process of a full-network day, simulation excluded
MSGS = "messages"
IN_TOTAL = ("start Spark", "play + process --once, end to end")


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
    return fresh_topics(KafkaTarget(bootstrap)).job_config(folder / "checkpoint")


def timed(
    stages: list[Stage], name: str, unit: str, work: Callable[[], T], count: Callable[[T], int] | None = None
) -> T:
    """Run ``work()``, record its wall time as a stage, and return its result; ``count(result)`` gives records."""
    say(f"full day: {name} ...")
    with Stopwatch().running() as watch:
        result = work()
    stages.append(Stage(name, watch.seconds, count(result) if count else None, unit))
    return result


def run_day(quick: bool, servers: str, folder: Path) -> tuple[list[Stage], JobSummary, Difference, list[list]]:
    snapshots_wanted = 180 if quick else 1440
    base, day = first_status_body(config.sample_recording()), folder / "day"
    start = local_midnight(json.loads(base)["lastUpdatedOther"]) + timedelta(hours=7 if quick else 0)
    stages: list[Stage] = []
    summary = timed(
        stages, "simulate (write the recording; not in the total)", "station records",
        lambda: simulate_day(base, day, seed=1, snapshots=snapshots_wanted, start=start),
        lambda made: made.snapshots * made.stations,
    )  # fmt: skip
    cfg = job_config(servers, folder)
    spark = timed(stages, "start Spark", "", spark_session)
    try:
        say("full day: play --speed max, process --once in rounds while it plays, then once more ...")
        with Stopwatch().running() as end_to_end:
            played, job = play_and_process(servers, cfg, Recording(day), spark)
        stages.append(Stage("play --speed max (overlapped with processing)", played.wall_s, played.messages, MSGS))
        stages.append(Stage("play + process --once, end to end", end_to_end.seconds, job.input_rows, MSGS))
        say("full day: the job alone against the plain-Spark anchor, same topic ...")
        against_anchor = job_vs_anchor(spark, servers, folder, cfg.status_topic, rounds=1)
    finally:
        spark.stop()
    postcodes = load_postcodes(config.stations_table())
    snapshots: list[Snapshot] = list(Recording(day).snapshots())
    expected = timed(
        stages, "reference computation (reference.compute; not in the total)", "station records",
        lambda: reference.compute(((s.snapshot_time, s.stations) for s in snapshots), postcodes),
        lambda _rows: summary.snapshots * summary.stations,
    )  # fmt: skip
    contents = _latest(cfg)
    say(f"full day: {summary.trips:,} trips, {summary.outages} outages, {played.messages:,} messages played")
    return stages, job, compare(expected, contents.latest), against_anchor


def play_and_process(servers: str, cfg: JobConfig, recording: Recording, spark) -> tuple[PlayStats, JobSummary]:
    """The player in a thread while ``process --once`` runs round after round, then a last round once it is done."""
    played: dict[str, PlayStats] = {}
    player = threading.Thread(target=lambda: played.setdefault("stats", _play(servers, cfg, recording)))
    player.start()
    rounds: list[JobSummary] = []
    while player.is_alive():
        rounds.append(run_once(cfg, spark))
    player.join()
    rounds.append(run_once(cfg, spark))
    if "stats" not in played:
        raise RuntimeError("the player failed (see above)")
    total = JobSummary(
        batches=sum(r.batches for r in rounds),
        input_rows=sum(r.input_rows for r in rounds),
        indicator_rows=sum(r.indicator_rows for r in rounds),
        quarantined=sum(r.quarantined for r in rounds),
        dropped_late=sum(r.dropped_late for r in rounds),
    )
    return played["stats"], total


def _play(servers: str, cfg: JobConfig, recording: Recording) -> PlayStats:
    return replay_delivered(recording, cfg.kafka, cfg.status_topic)


def _latest(cfg: JobConfig) -> TopicContents:
    return read_latest(cfg.kafka, cfg.indicators_topic, timeout_s=600)


def run_bench(quick: bool, bootstrap: str | None) -> None:
    with workspace(bootstrap) as (folder, servers):
        stages, job, difference, against_anchor = run_day(quick, servers, folder)
    total = sum(stage.seconds for stage in stages if stage.name in IN_TOTAL)
    verdict = "met" if total <= DAY_BUDGET_S else "NOT met"
    rows = [stage.row() for stage in stages] + [[f"total (start Spark + end to end; <= {DAY_BUDGET_S} s: {verdict})",
                                                  f"{total:.1f}", "", "", ""]]  # fmt: skip
    print_table("Full-network day, stage by stage", rows, ["stage", "wall s", "records", "records/s", "of"])
    print_table("The job alone against the plain-Spark anchor, same topic", against_anchor,
                ["job", "wall s", "vs anchor", "target"])  # fmt: skip
    print(
        f"\njob, overlapped rounds: {job.input_rows:,} messages in {job.batches} batch(es) -> "
        f"{job.indicator_rows:,} indicator rows, {job.quarantined} quarantined, {job.dropped_late} dropped late; "
        f"peak memory of this process "
        f"{peak_rss_mb():,.0f} MB"
    )
    verdict = "MATCH" if difference.equal else "MISMATCH\n" + describe(difference)
    print(f"indicators on the topic vs reference.compute over the recording: {verdict}")
    print(f"machine: {machine_load()}")


if __name__ == "__main__":
    main(run_bench, __doc__.splitlines()[0])
