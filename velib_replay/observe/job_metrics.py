"""What ``process`` exposes: the job's progress (``job.progress``) as metrics and health, plus the input lag.

The input lag (messages on the status topic not yet processed) is Kafka's end offsets, asked at scrape time,
minus the offsets the job last processed, so a stalled job still shows its lag growing; failing to ask is
how "Kafka unreachable" is told.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from prometheus_client import Histogram
from prometheus_client.registry import Collector

from velib_replay.job.config import QUERY_NAME
from velib_replay.job.progress import JobListener
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.observe.health import Check, at_most
from velib_replay.observe.metrics import PREFIX, Observed, counter, gauge

BATCH_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)

EndOffsets = Callable[[str], dict[int, int]]  # topic → partition → end offset; raises when Kafka is unreachable

LAG_TIMEOUT_MS = 5_000  # a scrape must answer even when Kafka does not


def kafka_end_offsets(kafka: KafkaTarget) -> EndOffsets:
    """Ask Kafka for a topic's end offsets, through one consumer (no group, nothing committed) opened lazily."""
    consumer: list[KafkaConsumer] = []

    def end_offsets(topic: str) -> dict[int, int]:
        if not consumer:
            consumer.append(
                KafkaConsumer(
                    request_timeout_ms=LAG_TIMEOUT_MS,
                    bootstrap_timeout_ms=LAG_TIMEOUT_MS,
                    enable_auto_commit=False,
                    **kafka.kafka_python(),
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

    def query_gone(self) -> str | None:
        """Why the query does not run: not started yet (Spark is starting: the job cannot do its work yet), stopped,
        or its JVM gone (the listener never hears that)."""
        query = self.listener.query
        if query is None:  # not started yet, or stopped as asked
            return None if self.listener.started else "the query has not started yet (Spark is starting)"
        try:
            active = query.isActive
        except Exception as error:  # Py4J's errors when the JVM is gone (connection refused, closed, ...)
            return f"the job's JVM is gone ({type(error).__name__})"
        return None if active else "the query is not running"

    def checks(self, max_lag: int) -> list[Check]:
        """Unhealthy when the query failed or is gone, Kafka cannot be asked, or the job is more than ``max_lag``
        behind."""
        lag = at_most("the job's input lag", self.lag, max_lag, "messages")
        return [
            lambda: f"the query failed: {self.listener.failure}" if self.listener.failure else None,
            self.query_gone,
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
