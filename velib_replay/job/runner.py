"""Running the job: one streaming query, its rows counted as observed metrics, one Kafka sink for both topics.

velib-projet ─▶ parse ─▶ postcode lookup ─▶ group by (snapshot_time, postcode) ─▶ velib-projet-final-data
                  └──▶ unparseable messages ─▶ velib-projet-quarantine
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import DataStreamWriter, StreamingQuery

from velib_replay.errors import UserError
from velib_replay.job.config import OUTPUT_COUNTS, QUERY_NAME, JobConfig, JobSummary
from velib_replay.job.progress import JobListener, LongBatches, QueryTotals, listening, stage_tasks
from velib_replay.job.session import SPARK_ERRORS, spark_error_message, spark_session
from velib_replay.job.transformations import (
    INDICATORS,
    OUTPUT,
    QUARANTINE,
    job_output,
    on_kafka,
    postcode_lookup,
    read_messages,
)
from velib_replay.kafka import topics
from velib_replay.signals import StopRequest


class _BatchWriter:
    """foreachBatch sink, used when indicator rows are printed: writes a micro-batch's rows, then prints them.

    Printing reads the batch a second time, so it is cached first and the query's plan (the Kafka read,
    the parse, the state) runs once.
    """

    def __init__(self, cfg: JobConfig, out=sys.stdout):
        self.cfg, self.out = cfg, out

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        batch.persist()
        try:
            on_kafka(_kafka_records(batch, self.cfg).write, self.cfg).save()
            rows = batch.where(F.col(OUTPUT) == INDICATORS).drop(OUTPUT, "key", "value")
            if updated := rows.count():
                print(f"-- batch {batch_id}: {updated} indicator rows updated", file=self.out, flush=True)
                rows.orderBy("snapshot_time", "postcode").show(self.cfg.show_rows, truncate=False)
        finally:
            batch.unpersist()


def _kafka_records(output: DataFrame, cfg: JobConfig) -> DataFrame:
    """Each row as a record for its own topic, so both outputs go out in one Kafka write."""
    topic = F.when(F.col(OUTPUT) == INDICATORS, cfg.indicators_topic).otherwise(cfg.quarantine_topic)
    return output.select(topic.alias("topic"), "key", "value")


def run(
    spark: SparkSession,
    cfg: JobConfig,
    *,
    once: bool,
    out=sys.stdout,
    stop: StopRequest | None = None,
    listener: JobListener | None = None,
) -> JobSummary:
    """Start the query; with ``once``, process everything available and return.

    Without ``once`` it runs until ``stop`` is set (the CLI sets it on Ctrl-C or SIGTERM), then returns its
    summary. Waiting in short slices rather than one blocking call keeps signals out of Py4J's calls.
    Whatever Spark raises (at start, while waiting or on stop) comes out as a one-line UserError.
    ``listener`` hears the query's progress (the summary is read from it); ``observe.job_metrics`` hands its own
    to show the progress on /metrics while the job runs.
    """
    stop = stop if stop is not None else StopRequest()
    with claim_checkpoint(cfg.checkpoint), ExitStack() as observing:
        refuse_two_query_layout(cfg.checkpoint)
        topics.ensure_topics(
            cfg.kafka, topics.pipeline_topics(cfg.status_topic, cfg.indicators_topic, cfg.quarantine_topic)
        )
        listener = listener or JobListener(cfg.status_topic)
        observing.enter_context(listening(spark, listener))
        with _spark_errors("cannot start the job", cfg.checkpoint):
            query = start_query(spark, cfg, once, out)
        listener.query = query
        try:
            _wait(query, stop, out, cfg.checkpoint, LongBatches(cfg.progress_every_s, stage_tasks(spark)))
        except BaseException:
            with contextlib.suppress(*SPARK_ERRORS):  # the error on its way says more than a failed stop
                query.stop()
            raise
        with _spark_errors("cannot stop the job", cfg.checkpoint):
            query.stop()
        listener.query = None  # stopped as asked: not a query gone
        with _spark_errors("cannot read how the job ended", cfg.checkpoint):
            failure = query.exception()
        if failure:
            raise UserError(failure_message("the job failed", failure, cfg.checkpoint))
    return _summary(listener)  # once listening has ended: every batch's progress has been heard


def start_query(spark: SparkSession, cfg: JobConfig, once: bool, out=sys.stdout) -> StreamingQuery:
    """The job's one streaming query, in update mode; ``once``: what is available, then stop."""
    output = job_output(read_messages(spark, cfg), postcode_lookup(cfg.stations_table), cfg.watermark, cfg.max_future)
    counted = (F.count_if(F.col(OUTPUT) == name).alias(name) for name in (INDICATORS, QUARANTINE))
    output = output.observe(OUTPUT_COUNTS, *counted)  # in each batch's progress: see JobListener
    trigger = {"availableNow": True} if once else {"processingTime": cfg.trigger_interval}
    write_checkpoint_files_plainly(spark, cfg.checkpoint)
    return (
        _sink(output, cfg, out)
        .outputMode("update")
        .option("checkpointLocation", str(cfg.checkpoint / QUERY_NAME))
        .trigger(**trigger)
        .queryName(QUERY_NAME)
        .start()
    )


def _sink(output: DataFrame, cfg: JobConfig, out) -> DataStreamWriter:
    """Spark's own Kafka sink, unless rows are printed too: then a foreachBatch sink that does both.

    The Kafka sink writes within the micro-batch's own plan. foreachBatch hands each batch to Python, which
    plans a batch write of its own: 0.15 to 0.25 s of a 1 s trigger (the live pipeline at a 1 s trigger, 90
    snapshots: p50 latency 1.59 s → 1.32 s).
    """
    if cfg.show_rows:
        return output.writeStream.foreachBatch(_BatchWriter(cfg, out))
    return on_kafka(_kafka_records(output, cfg).writeStream, cfg)


CHECKPOINT_FILE_MANAGER = "spark.sql.streaming.checkpointFileManagerClass"
PLAIN_FILE_MANAGER = "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager"


def write_checkpoint_files_plainly(spark: SparkSession, checkpoint: Path) -> None:
    """A local checkpoint's files written through Hadoop's FileSystem API rather than its FileContext (Spark's default).

    Without Hadoop's native library, which pyspark does not ship, FileContext forks ``readlink`` and ``chmod``
    ten times a file: about 60 ms for each offset log, commit log and state changelog file, several a
    micro-batch, against 17 ms. Spark prefers FileContext for its atomic overwriting rename, which matters on
    HDFS; a local rename is atomic either way. Checkpoints elsewhere (hdfs://, s3a://…), and a manager the
    user chose (``--conf``), keep Spark's choice.
    """
    if _is_local(checkpoint) and spark.conf.get(CHECKPOINT_FILE_MANAGER, None) is None:
        spark.conf.set(CHECKPOINT_FILE_MANAGER, PLAIN_FILE_MANAGER)


def _is_local(checkpoint: Path) -> bool:
    return ":" not in checkpoint.parts[0]


@contextmanager
def claim_checkpoint(checkpoint: Path) -> Iterator[None]:
    """Hold a lock in a local checkpoint folder so a second job on it is refused up front, naming it.

    Spark only notices two jobs on one checkpoint once both write to it, and then fails either one.
    Checkpoints on other file systems (hdfs://, s3a://…) are left to Spark, whose refusal is mapped too.
    """
    if not _is_local(checkpoint):
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


def refuse_two_query_layout(checkpoint: Path) -> None:
    """A checkpoint from when the job ran one query per output (``indicators/``, ``quarantine/``): Spark cannot
    resume those offsets in the single query, and would fail with an assertion about source counts."""
    if (checkpoint / "indicators" / "offsets").is_dir() and not (checkpoint / QUERY_NAME).exists():
        raise UserError(
            f"checkpoint {checkpoint} was written by an earlier velib-replay (one query per output), which this "
            "version cannot resume: give a new --checkpoint (the job then starts from the topic's earliest "
            "offset and writes the same rows again) or remove this one"
        )


def _wait(query: StreamingQuery, stop: StopRequest, out, checkpoint: Path, long_batches: LongBatches) -> None:
    """Until ``stop`` is set or the query has ended; a failure ends the wait (it is reported after the stop)."""
    with _spark_errors("the job stopped unexpectedly", checkpoint):
        try:
            while not stop and query.isActive:
                if not query.awaitTermination(timeout=min(1.0, long_batches.every_s)):
                    long_batches.tick(query)
        except StreamingQueryException:
            return
    if stop:
        print(
            f"Stopped by {stop.reason}: the checkpoint keeps the progress; a restart resumes from it.",
            file=out,
            flush=True,
        )


@contextmanager
def _spark_errors(what: str, checkpoint: Path) -> Iterator[None]:
    try:
        yield
    except SPARK_ERRORS as error:
        raise UserError(failure_message(what, error, checkpoint)) from None


_CONCURRENT = ("concurrently using", "same id is already active", "CONCURRENT_QUERY")


def failure_message(what: str, error: BaseException, checkpoint: Path) -> str:
    message = spark_error_message(error)
    if any(sign in message for sign in _CONCURRENT):
        return _in_use(checkpoint)
    return f"{what}: {message}"


def _in_use(checkpoint: Path) -> str:
    return f"checkpoint {checkpoint} is in use by another job (stop that one, or give this one its own --checkpoint)"


def _summary(listener: JobListener) -> JobSummary:
    """The run's totals, from Spark's progress of every batch (``recentProgress`` keeps only the last 100)."""
    totals = listener.main() or QueryTotals()
    return JobSummary(**{field.name: getattr(totals, field.name) for field in dataclasses.fields(JobSummary)})


def run_once(
    cfg: JobConfig, spark: SparkSession | None = None, *, out=sys.stdout, listener: JobListener | None = None
) -> JobSummary:
    """Process all that is available, then return: what CI, ``demo``, the tests and the benchmarks run."""
    return run(spark or spark_session(), cfg, once=True, out=out, listener=listener)
