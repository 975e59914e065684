"""Running the job: two streaming queries (indicators, quarantine) through counting Kafka sinks.

velib-projet ─▶ parse ─▶ join station table ─▶ group by (snapshot_time, postcode) ─▶ velib-projet-final-data
                  └──▶ unparseable messages ─▶ velib-projet-quarantine
"""

from __future__ import annotations

import fcntl
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from velib_replay.errors import UserError
from velib_replay.job.config import JobConfig, JobSummary
from velib_replay.job.session import SPARK_ERRORS, spark_error_message, spark_session
from velib_replay.job.transformations import (
    as_kafka_records,
    indicators,
    parse_stations,
    postcode_table,
    quarantine_records,
    read_messages,
)
from velib_replay.kafka import topics

if TYPE_CHECKING:
    from velib_replay.observe.job_listener import JobObserver


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
                ).options(**self.cfg.kafka_options).option("topic", self.topic).save()
            self.batches += 1
            self.rows += count
            if self.show_rows and count:
                print(f"-- batch {batch_id}: {count} indicator rows updated", file=self.out, flush=True)
                batch.orderBy("snapshot_time", "postcode").show(self.show_rows, truncate=False)
        finally:
            batch.unpersist()


def _start(frame: DataFrame, name: str, sink: _BatchWriter, cfg: JobConfig, interval: str | None) -> StreamingQuery:
    """One streaming query through a foreachBatch sink, with its own checkpoint folder; no interval: --once."""
    trigger = {"processingTime": interval} if interval else {"availableNow": True}
    return (
        frame.writeStream.outputMode("update")
        .foreachBatch(sink)
        .option("checkpointLocation", str(cfg.checkpoint / name))
        .trigger(**trigger)
        .queryName(name)
        .start()
    )


def run(
    spark: SparkSession,
    cfg: JobConfig,
    *,
    once: bool,
    out=sys.stdout,
    stop: threading.Event | None = None,
    observer: JobObserver | None = None,
) -> JobSummary:
    """Start both queries; with ``once``, process everything available and return.

    Without ``once`` it runs until ``stop`` is set (the CLI sets it on Ctrl-C or SIGTERM), then returns its
    summary. Waiting in short slices rather than one blocking call keeps signals out of Py4J's calls.
    Whatever Spark raises (at start, while waiting or on stop) comes out as a one-line UserError.
    ``observer`` (metrics, /healthz) listens to the queries' progress while they run.
    """
    stop = stop or threading.Event()
    with claim_checkpoint(cfg.checkpoint), ExitStack() as observing:
        topics.ensure_topics(
            cfg.bootstrap_servers, topics.pipeline_topics(cfg.status_topic, cfg.indicators_topic, cfg.quarantine_topic)
        )
        publish = _BatchWriter(cfg, cfg.indicators_topic, as_kafka_records, cfg.show_rows, out)
        set_aside = _BatchWriter(cfg, cfg.quarantine_topic, lambda records: records)
        queries: list[StreamingQuery] = []
        if observer:
            observing.enter_context(observer.watching(spark, publish, set_aside))
        try:
            with _spark_errors("cannot start the job", cfg.checkpoint):
                parsed = parse_stations(read_messages(spark, cfg), cfg.max_future)
                usable = parsed.where(F.col("problem").isNull())
                rows = indicators(usable, postcode_table(spark, cfg.stations_table), cfg.watermark)
                problems = quarantine_records(parsed.where(F.col("problem").isNotNull()))
                queries.append(_start(rows, "indicators", publish, cfg, None if once else cfg.trigger_interval))
                # its own, slower cadence: each micro-batch costs a fixed second or so, taken from the indicators
                queries.append(
                    _start(problems, "quarantine", set_aside, cfg, None if once else cfg.quarantine_trigger_interval)
                )
            _wait(queries, stop, out, cfg.checkpoint)
        except BaseException:
            _stop_all(queries, cfg.checkpoint, quietly=True)
            raise
        _stop_all(queries, cfg.checkpoint)
        with _spark_errors("cannot read how the job ended", cfg.checkpoint):
            failures = [(query.name, query.exception()) for query in queries]
            summary = _summary(queries[0], publish, set_aside)
        for name, failure in failures:
            if failure:
                raise UserError(_failure_message(f"the {name} query failed", failure, cfg.checkpoint))
        return summary


@contextmanager
def claim_checkpoint(checkpoint: Path) -> Iterator[None]:
    """Hold a lock in a local checkpoint folder so a second job on it is refused up front, naming it.

    Spark only notices two jobs on one checkpoint once both write to it, and then fails either one.
    Checkpoints on other file systems (hdfs://, s3a://…) are left to Spark, whose refusal is mapped too.
    """
    if ":" in checkpoint.parts[0]:
        yield
        return
    try:
        checkpoint.mkdir(parents=True, exist_ok=True)
        handle = open(checkpoint / ".velib-replay.lock", "a")  # noqa: SIM115 (held for the whole run)
    except OSError as error:
        raise UserError(f"cannot use checkpoint {checkpoint}: {error.strerror or error}") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(_in_use(checkpoint)) from None
        yield


def _wait(queries: list[StreamingQuery], stop: threading.Event, out, checkpoint: Path) -> None:
    """Until ``stop`` is set or every query has ended; a failed query ends the wait (reported after stop)."""
    with _spark_errors("the job stopped unexpectedly", checkpoint):
        try:
            while not stop.is_set() and (active := [query for query in queries if query.isActive]):
                active[0].awaitTermination(timeout=1)
        except StreamingQueryException:
            return
    if stop.is_set():
        print("Stopping: the checkpoint keeps the progress; a restart resumes from it.", file=out, flush=True)


def _stop_all(queries: list[StreamingQuery], checkpoint: Path, quietly: bool = False) -> None:
    """Stop every query, even when one cannot be stopped; ``quietly`` when another error is on its way already."""
    failures = []
    for query in queries:
        try:
            query.stop()
        except SPARK_ERRORS as error:
            failures.append(_failure_message(f"cannot stop the {query.name} query", error, checkpoint))
    if failures and not quietly:
        raise UserError(failures[0])


@contextmanager
def _spark_errors(what: str, checkpoint: Path) -> Iterator[None]:
    try:
        yield
    except SPARK_ERRORS as error:
        raise UserError(_failure_message(what, error, checkpoint)) from None


_CONCURRENT = ("concurrently using", "same id is already active", "CONCURRENT_QUERY")


def _failure_message(what: str, error: BaseException, checkpoint: Path) -> str:
    message = spark_error_message(error)
    if any(sign in message for sign in _CONCURRENT):
        return _in_use(checkpoint)
    return f"{what}: {message}"


def _in_use(checkpoint: Path) -> str:
    return f"checkpoint {checkpoint} is in use by another job (stop that one, or give this one its own --checkpoint)"


def _summary(query: StreamingQuery, publish: _BatchWriter, set_aside: _BatchWriter) -> JobSummary:
    progress = query.recentProgress
    return JobSummary(
        batches=publish.batches,
        input_rows=sum(p.numInputRows for p in progress),
        indicator_rows=publish.rows,
        quarantined=set_aside.rows,
        dropped_late=sum(op.numRowsDroppedByWatermark for p in progress for op in p.stateOperators),
        state_rows=sum(op.numRowsTotal for op in progress[-1].stateOperators) if progress else 0,
    )


def run_once(
    cfg: JobConfig, spark: SparkSession | None = None, *, out=sys.stdout, observer: JobObserver | None = None
) -> JobSummary:
    """Process all that is available, then return: what CI, ``demo``, the tests and the benchmarks run."""
    return run(spark or spark_session(), cfg, once=True, out=out, observer=observer)
