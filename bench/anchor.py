"""The plain-Spark anchor: the least a Structured Streaming job needs to compute the same sums.

``from_json`` with a fixed schema, ``dropDuplicatesWithinWatermark(snapshot_ts, stationCode)``,
a broadcast join on the station table, ``groupBy(snapshot_ts, postcode).sum``, a Kafka sink in
update mode, ``availableNow``. None of the job's guarantees (quarantine, bad-value rules, an
order-independent pick between two readings of one station): it is the yardstick that
``process --once`` is held to (at most ``JOB_BUDGET`` times its wall time), on the same topic in
the same run. Run alone, it measures both on a simulated slice of the morning peak:

    python bench/anchor.py [--quick]
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from harness import Stopwatch, machine_load, main, print_table, say, workspace
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from velib_replay import config
from velib_replay.job.config import JobConfig
from velib_replay.job.pipeline import fresh_topics
from velib_replay.job.runner import run_once
from velib_replay.job.session import spark_session
from velib_replay.job.stations_table import load_postcodes
from velib_replay.job.transformations import SPARK_TIME_FORMAT, read_messages
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording
from velib_replay.replay.player import replay_to_topic
from velib_replay.simulate.day import first_status_body, local_midnight, simulate_day

COUNTS = ("bikes", "mechanical", "ebike", "docks")
JOB_BUDGET = 1.15  # issue 12: process --once at most 1.15 x the anchor
SCHEMA = (
    "stationCode string, snapshot_time string, num_bikes_available bigint, num_docks_available bigint, "
    "num_bikes_available_types array<map<string, bigint>>"
)


def postcode_table(spark: SparkSession, stations_table: Path) -> DataFrame:
    """The station table as a DataFrame, for the anchor's broadcast join (the issue's definition of it)."""
    return spark.createDataFrame(sorted(load_postcodes(stations_table).items()), "stationCode string, postcode string")


def anchor_rows(spark: SparkSession, cfg: JobConfig) -> DataFrame:
    """Indicator records, computed the plain way."""
    messages = read_messages(spark, cfg)  # the job's own source: the same Kafka options
    station = F.from_json(F.col("value").cast("string"), SCHEMA).alias("s")
    types = F.col("s.num_bikes_available_types")

    def of_type(kind: str):
        return F.aggregate(types, F.lit(0).cast("bigint"), lambda sum_, entry: sum_ + F.coalesce(entry[kind], F.lit(0)))

    stations = messages.select(station).select(
        "s.stationCode",
        F.to_timestamp("s.snapshot_time", SPARK_TIME_FORMAT).alias("snapshot_ts"),
        F.col("s.num_bikes_available").alias("bikes"),
        of_type("mechanical").alias("mechanical"),
        of_type("ebike").alias("ebike"),
        F.col("s.num_docks_available").alias("docks"),
    )
    rows = (
        stations.withWatermark("snapshot_ts", cfg.watermark)
        .dropDuplicatesWithinWatermark(["snapshot_ts", "stationCode"])
        .join(F.broadcast(postcode_table(spark, cfg.stations_table)), "stationCode", "left")
        .groupBy("snapshot_ts", "postcode")
        .agg(F.count("*").alias("stations"), *(F.sum(name).alias(name) for name in COUNTS))
    )
    key = F.concat_ws("|", F.date_format("snapshot_ts", SPARK_TIME_FORMAT), "postcode")
    return rows.select(key.alias("key"), F.to_json(F.struct(*rows.columns)).alias("value"))


def run_anchor(spark: SparkSession, cfg: JobConfig) -> int:
    """Process everything on ``cfg.status_topic`` once; returns the messages read."""
    query = (
        anchor_rows(spark, cfg)
        .writeStream.format("kafka")
        .options(**cfg.kafka.spark())
        .option("topic", cfg.indicators_topic)
        .option("checkpointLocation", str(cfg.checkpoint))
        .outputMode("update")
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    return sum(progress.numInputRows for progress in query.recentProgress)


def fresh_config(servers: str, folder: Path, status_topic: str, name: str) -> JobConfig:
    """Own output topics and checkpoint on a shared input topic, so job and anchor read the same messages."""
    names = replace(fresh_topics(KafkaTarget(servers)), status=status_topic)
    return names.job_config(folder / f"checkpoint-{name}-{names.indicators.removeprefix('indicators-')}")


def job_vs_anchor(spark: SparkSession, servers: str, folder: Path, status_topic: str, rounds: int) -> list[list]:
    """The job and the anchor, interleaved ``rounds`` times on the same topic; each one's best run counts."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, work in (("anchor", run_anchor), ("job", lambda s, c: run_once(c, s).input_rows)):
            cfg = fresh_config(servers, folder, status_topic, name)
            say(f"  {name} ...")
            with Stopwatch().running() as watch:
                messages = work(spark, cfg)
            best[name] = min(best.get(name, watch.seconds), watch.seconds)
            say(f"  {name}: {messages:,} messages in {watch.seconds:.1f} s")
    ratio = best["job"] / best["anchor"]
    verdict = "met" if ratio <= JOB_BUDGET else "NOT met"
    return [
        ["plain-Spark anchor", f"{best['anchor']:.1f}", "1.00", ""],
        ["process --once", f"{best['job']:.1f}", f"{ratio:.2f}", f"<= {JOB_BUDGET}: {verdict}"],
    ]


def run(quick: bool, bootstrap: str | None) -> None:
    snapshots, rounds = (30, 2) if quick else (240, 2)
    with workspace(bootstrap) as (folder, servers):
        base = first_status_body(config.sample_recording())
        start = local_midnight(json.loads(base)["lastUpdatedOther"]) + timedelta(hours=7)
        say(f"anchor: simulating {snapshots} snapshots and playing them ...")
        simulate_day(base, folder / "slice", seed=1, snapshots=snapshots, start=start)
        topic = f"bench-anchor-{uuid.uuid4().hex[:8]}"
        played = replay_to_topic(Recording(folder / "slice"), KafkaTarget(servers), topic)
        spark = spark_session()
        try:
            rows = job_vs_anchor(spark, servers, folder, topic, rounds)
        finally:
            spark.stop()
    title = f"Job against the plain-Spark anchor ({played.messages:,} messages, best of {rounds})"
    print_table(title, rows, ["job", "wall s", "vs anchor", "target"])
    print(f"machine: {machine_load()}")


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
