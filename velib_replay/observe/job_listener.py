"""What ``process`` exposes: a StreamingQueryListener's view of every micro-batch, plus the input lag.

Spark reports the query's progress after each batch; the listener keeps running totals and the
latest gauges (the job's summary is read from them too). Indicator and quarantined rows are the
query's observed metrics, counted as the rows are written. The input lag (messages
on the status topic not yet processed) is Kafka's end offsets, asked at scrape time, minus the offsets
the job last processed, so a stalled job still shows its lag growing; failing to ask is how "Kafka
unreachable" is told.
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

from kafka import KafkaConsumer, TopicPartition
from prometheus_client import Histogram
from prometheus_client.registry import Collector
from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQueryListener

from velib_replay.job.config import OUTPUT_COUNTS, QUERY_NAME, JobSummary
from velib_replay.job.transformations import INDICATORS, QUARANTINE
from velib_replay.observe.health import Check, at_most
from velib_replay.observe.metrics import PREFIX, Observed, counter, gauge

log = logging.getLogger(__name__)

BATCH_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)


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
        spark.streams.removeListener(listener)


EndOffsets = Callable[[str], dict[int, int]]  # topic → partition → end offset; raises when Kafka is unreachable

DRAIN_TIMEOUT_S = 5.0
LAG_TIMEOUT_MS = 5_000  # a scrape must answer even when Kafka does not


def kafka_end_offsets(bootstrap_servers: str) -> EndOffsets:
    """Ask Kafka for a topic's end offsets, through one consumer (no group, nothing committed) opened lazily."""
    consumer: list[KafkaConsumer] = []

    def end_offsets(topic: str) -> dict[int, int]:
        if not consumer:
            consumer.append(
                KafkaConsumer(
                    bootstrap_servers=bootstrap_servers,
                    request_timeout_ms=LAG_TIMEOUT_MS,
                    bootstrap_timeout_ms=LAG_TIMEOUT_MS,
                    enable_auto_commit=False,
                )
            )
        partitions = [TopicPartition(topic, p) for p in consumer[0].partitions_for_topic(topic) or ()]
        return {tp.partition: offset for tp, offset in consumer[0].end_offsets(partitions).items()}

    return end_offsets


class JobObserver(Collector):
    """Metrics and health of one ``process`` run; the runner attaches its ``listener`` to the query."""

    def __init__(self, topic: str, end_offsets: EndOffsets):
        self.topic, self.end_offsets = topic, end_offsets
        self.observed = Observed()
        batch_seconds = Histogram(
            PREFIX + "job_batch_duration_seconds",
            "Micro-batch duration, per query.",
            ["query"],
            buckets=BATCH_BUCKETS,
            registry=self.observed.registry,
        )
        self.listener = JobListener(topic, batch_seconds)
        self.observed.registry.register(self)
        self.kafka_error: str | None = None

    def lag(self) -> int | None:
        """Messages on the status topic the job has not processed yet; None when Kafka cannot be asked."""
        try:
            ends = self.end_offsets(self.topic)
        except Exception as error:  # any client failure means the same thing here: Kafka cannot be asked
            self.kafka_error = str(error) or type(error).__name__
            return None
        self.kafka_error = None
        main = self.listener.main()
        processed = main.processed if main else {}
        return sum(max(0, end - processed.get(partition, 0)) for partition, end in ends.items())

    def checks(self, max_lag: int) -> list[Check]:
        """Unhealthy when the query failed, Kafka cannot be asked, or the job is more than ``max_lag`` behind."""
        lag = at_most("the job's input lag", self.lag, max_lag, "messages")
        return [
            lambda: f"the query failed: {self.listener.failure}" if self.listener.failure else None,
            lambda: lag() or (f"Kafka is unreachable ({self.kafka_error})" if self.kafka_error else None),
        ]

    def serving_health(self, max_lag: int) -> Observed:
        self.observed.checks = self.checks(max_lag)
        return self.observed

    def collect(self) -> Iterator[Any]:
        with self.listener.lock:
            queries = {name: vars(totals).copy() for name, totals in self.listener.queries.items()}
        per_query = [
            ("job_batches", "Micro-batches run.", "batches", counter),
            ("job_input_rows", "Rows read from Kafka.", "input_rows", counter),
            ("job_input_rows_per_second", "Input rate of the latest batch.", "input_rate", gauge),
        ]
        for name, documentation, key, family in per_query:
            for query, totals in queries.items():
                yield family(name, documentation, totals[key], {"query": query})
        main = queries.get(QUERY_NAME, {})
        yield counter("job_late_rows_dropped", "Rows dropped as later than the watermark.", main.get("dropped_late", 0))
        yield gauge("job_state_rows", "Rows held in the aggregation's state.", main.get("state_rows", 0))
        if main.get("watermark_lag") is not None:
            yield gauge("job_watermark_lag_seconds", "Latest event time minus the watermark.", main["watermark_lag"])
        yield counter("job_indicator_rows", "Indicator rows written.", main.get("indicator_rows", 0))
        yield counter("job_quarantined_rows", "Messages set aside in the quarantine topic.", main.get("quarantined", 0))
        lag = self.lag()
        yield gauge("job_kafka_up", "1 when Kafka answered the end-offset request.", 0 if lag is None else 1)
        if lag is not None:
            yield gauge("job_input_lag_messages", "Kafka end offsets minus the offsets processed.", lag)
        yield gauge("job_failed", "1 once the query failed.", 1 if self.listener.failure else 0)
