"""Running the job: two streaming queries (indicators, quarantine) through counting Kafka sinks.

velib-projet ─▶ parse ─▶ join station table ─▶ group by (snapshot_time, postcode) ─▶ velib-projet-final-data
                  └──▶ unparseable messages ─▶ velib-projet-quarantine
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from velib_replay.errors import UserError
from velib_replay.job.config import JobConfig, JobSummary
from velib_replay.job.session import spark_session
from velib_replay.job.transformations import (
    as_kafka_records,
    indicators,
    parse_stations,
    postcode_table,
    quarantine_records,
    read_messages,
)
from velib_replay.kafka import topics


class _BatchWriter:
    """foreachBatch sink: writes a micro-batch to a topic as key/value records, counts it, optionally prints it."""

    def __init__(
        self,
        cfg: JobConfig,
        topic: str,
        to_records: Callable[[DataFrame], DataFrame],
        show_rows: int = 0,
        out=sys.stdout,
    ):
        self.cfg, self.topic, self.to_records, self.show_rows, self.out = cfg, topic, to_records, show_rows, out
        self.batches = 0
        self.rows = 0

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        batch.persist()
        try:
            count = batch.count()
            if count:
                self.to_records(batch).write.format("kafka").option(
                    "kafka.bootstrap.servers", self.cfg.bootstrap_servers
                ).option("topic", self.topic).save()
            self.batches += 1
            self.rows += count
            if self.show_rows and count:
                print(f"-- batch {batch_id}: {count} indicator rows updated", file=self.out, flush=True)
                batch.orderBy("snapshot_time", "postcode").show(self.show_rows, truncate=False)
        finally:
            batch.unpersist()


def _start(frame: DataFrame, name: str, sink: _BatchWriter, cfg: JobConfig, once: bool) -> StreamingQuery:
    """One streaming query through a foreachBatch sink, with its own checkpoint folder."""
    trigger = {"availableNow": True} if once else {"processingTime": cfg.trigger_interval}
    return (
        frame.writeStream.outputMode("update")
        .foreachBatch(sink)
        .option("checkpointLocation", str(cfg.checkpoint / name))
        .trigger(**trigger)
        .queryName(name)
        .start()
    )


def run(
    spark: SparkSession, cfg: JobConfig, *, once: bool, out=sys.stdout, stop: threading.Event | None = None
) -> JobSummary:
    """Start both queries; with ``once``, process everything available and return.

    Without ``once`` it runs until ``stop`` is set (the CLI sets it on Ctrl-C or SIGTERM), then returns its
    summary. Waiting in short slices rather than one blocking call keeps signals out of Py4J's calls.
    """
    topics.ensure_topics(
        cfg.bootstrap_servers, topics.pipeline_topics(cfg.status_topic, cfg.indicators_topic, cfg.quarantine_topic)
    )
    parsed = parse_stations(read_messages(spark, cfg), cfg.max_future)
    rows = indicators(parsed.where(F.col("problem").isNull()), postcode_table(spark, cfg.stations_table), cfg.watermark)
    publish = _BatchWriter(cfg, cfg.indicators_topic, as_kafka_records, cfg.show_rows, out)
    set_aside = _BatchWriter(cfg, cfg.quarantine_topic, lambda records: records)
    problems = quarantine_records(parsed.where(F.col("problem").isNotNull()))
    queries = [_start(rows, "indicators", publish, cfg, once), _start(problems, "quarantine", set_aside, cfg, once)]
    try:
        while not (stop and stop.is_set()) and (active := [query for query in queries if query.isActive]):
            active[0].awaitTermination(timeout=1)
        if stop and stop.is_set():
            print("Stopping: the checkpoint keeps the progress; a restart resumes from it.", file=out, flush=True)
    finally:
        for query in queries:
            query.stop()
    for query in queries:
        if query.exception():
            raise UserError(f"the {query.name} query failed: {str(query.exception()).splitlines()[0]}")
    progress = queries[0].recentProgress
    return JobSummary(
        batches=publish.batches,
        input_rows=sum(p.numInputRows for p in progress),
        indicator_rows=publish.rows,
        quarantined=set_aside.rows,
        dropped_late=sum(op.numRowsDroppedByWatermark for p in progress for op in p.stateOperators),
    )


def run_once(cfg: JobConfig, spark: SparkSession | None = None, *, out=sys.stdout) -> JobSummary:
    """Process all that is available, then return: what CI, ``demo``, the tests and the benchmarks run."""
    return run(spark or spark_session(), cfg, once=True, out=out)
