"""The job's progress: a StreamingQueryListener's view of every micro-batch, from which its summary is read.

Spark reports the query's progress after each batch; the listener keeps running totals and the
latest gauges. Indicator and quarantined rows are the query's observed metrics, counted as the rows are
written. ``observe.job_metrics`` shows the same totals on /metrics; the job itself knows nothing of it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import Histogram
from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

from velib_replay.job.config import OUTPUT_COUNTS, QUERY_NAME, JobSummary
from velib_replay.job.session import SPARK_ERRORS, is_connect
from velib_replay.job.transformations import INDICATORS, QUARANTINE

log = logging.getLogger(__name__)


@dataclass
class QueryTotals(JobSummary):
    """The run's summary, kept up to date batch by batch, plus the gauges only ``/metrics`` shows."""

    input_rate: float = 0.0
    watermark_lag: float | None = None  # s: latest event time minus the watermark
    processed: dict[int, int] = field(default_factory=dict)  # partition → next offset to process


def processed_offsets(end_offset: str | None, topic: str) -> dict[int, int]:
    """A Kafka source's ``endOffset`` JSON ({"topic": {"0": 42}}) as partition → offset."""
    if not end_offset:
        return {}
    return {int(partition): offset for partition, offset in json.loads(end_offset).get(topic, {}).items()}


def watermark_lag(event_time: dict[str, str]) -> float | None:
    """Seconds from the watermark to the latest event time of the batch (None before both are known)."""
    latest, watermark = event_time.get("max"), event_time.get("watermark")
    if not latest or not watermark or _instant(watermark).timestamp() == 0:  # Spark's "no watermark yet"
        return None
    return (_instant(latest) - _instant(watermark)).total_seconds()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class JobListener(StreamingQueryListener):
    """Running totals per query, updated by Spark's listener bus (another thread: hence the lock)."""

    def __init__(self, topic: str, batch_seconds: Histogram | None = None):
        self.topic, self.batch_seconds = topic, batch_seconds
        self.queries: dict[str, QueryTotals] = {}
        self.failure: str | None = None
        self.lock = threading.Lock()
        self.started = self.terminated = 0
        self.query: StreamingQuery | None = None  # the running query (the runner sets it): asked if it is gone

    def onQueryStarted(self, event: Any) -> None:
        with self.lock:
            self.started += 1
        log.info("query %s started", event.name, extra={"facts": {"event": "started", "query": event.name}})

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryProgress(self, event: Any) -> None:
        progress = event.progress
        name = progress.name or str(progress.id)
        with self.lock:
            totals = self.queries.setdefault(name, QueryTotals())
            totals.batches += 1
            totals.input_rows += progress.numInputRows
            totals.input_rate = progress.inputRowsPerSecond or 0.0
            if written := progress.observedMetrics.get(OUTPUT_COUNTS):
                totals.indicator_rows += written[INDICATORS]
                totals.quarantined += written[QUARANTINE]
            totals.dropped_late += sum(op.numRowsDroppedByWatermark for op in progress.stateOperators)
            totals.state_rows = sum(op.numRowsTotal for op in progress.stateOperators)
            totals.watermark_lag = watermark_lag(progress.eventTime) or totals.watermark_lag
            for source in progress.sources:
                totals.processed |= processed_offsets(source.endOffset, self.topic)
        if self.batch_seconds:
            self.batch_seconds.labels(name).observe(progress.batchDuration / 1000)
        facts = {**vars(totals), "phases_ms": progress.durationMs}  # where a batch's time went, as Spark says
        log.info(
            "batch %s of %s: %s rows in %.2f s",
            progress.batchId,
            name,
            progress.numInputRows,
            progress.batchDuration / 1000,
            extra={"facts": {"event": "batch", "query": name, "batch": progress.batchId, **facts}},
        )

    def onQueryTerminated(self, event: Any) -> None:
        with self.lock:
            self.terminated += 1
            if event.exception:
                self.failure = self.failure or event.exception.strip().splitlines()[0]

    def drain(self, timeout: float) -> None:
        """Wait until every started query's end has been heard: Spark's listener bus is asynchronous, and
        events still queued when the listener is removed would be lost (the last batch of a ``--once`` run)."""
        deadline = time.monotonic() + timeout
        while self.terminated < self.started and time.monotonic() < deadline:
            time.sleep(0.05)

    def main(self) -> QueryTotals | None:
        with self.lock:
            return self.queries.get(QUERY_NAME)


@contextlib.contextmanager
def listening(spark: SparkSession, listener: JobListener) -> Iterator[JobListener]:
    """``listener`` hears the session's queries; on the way out, every event Spark queued is heard first."""
    spark.streams.addListener(listener)
    try:
        yield listener
    finally:
        listener.drain(DRAIN_TIMEOUT_S)
        with contextlib.suppress(*SPARK_ERRORS):  # a JVM gone can no longer be told; the error on its way says why
            spark.streams.removeListener(listener)


DRAIN_TIMEOUT_S = 5.0


@dataclass
class LongBatches:
    """A line every ``every_s`` seconds while one batch runs: a first batch over a day's backlog takes minutes,
    and a job silent that long looks stuck. Spark reports a batch's rows only once it ends; what it tells while it
    runs is its stages' tasks (the status tracker), so the line says how many are done."""

    every_s: float
    tasks: Callable[[], tuple[int, int] | None] = lambda: None  # (done, total) over the active stages
    clock: Callable[[], float] = time.monotonic
    _batch: int | None = None
    _since: float = 0.0
    _said: int = 0

    def tick(self, query: StreamingQuery) -> None:
        """Called by the runner's wait (every second, or ``every_s``): notes when a batch began, speaks when due."""
        status = query.status
        if not (status["isTriggerActive"] and status["isDataAvailable"]):
            self._batch = None
            return
        last = query.lastProgress
        batch, now = (last["batchId"] + 1 if last else 0), self.clock()
        if batch != self._batch:
            self._batch, self._since, self._said = batch, now, 0
            return
        running = now - self._since
        if running < (self._said + 1) * self.every_s:
            return
        self._said = int(running // self.every_s)
        facts: dict[str, Any] = {"event": "batch_running", "query": QUERY_NAME, "batch": batch, "running_s": running}
        text = f"batch {batch} of {QUERY_NAME} still running: {running:.0f} s"
        if (tasks := self.tasks()) is not None:
            facts |= {"tasks_done": tasks[0], "tasks": tasks[1]}
            text += f", {tasks[0]} of {tasks[1]} tasks done"
        log.info(text, extra={"facts": facts})


def stage_tasks(spark: SparkSession) -> Callable[[], tuple[int, int] | None]:
    """(done, total) tasks of the stages running now, from Spark's status tracker (None without a SparkContext:
    a Spark Connect session)."""
    if is_connect(spark):
        return lambda: None
    tracker = spark.sparkContext.statusTracker()

    def tasks() -> tuple[int, int] | None:
        stages = [info for stage in tracker.getActiveStageIds() if (info := tracker.getStageInfo(stage))]
        return sum(info.numCompletedTasks for info in stages), sum(info.numTasks for info in stages)

    return tasks
