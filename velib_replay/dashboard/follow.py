"""Following the indicators topic from its beginning, in a thread, as the dashboard's one source of truth.

Rows are kept as ``verify`` reads them (``TopicContents``: the latest value per key, unreadable records
counted, never dropped silently). The job's lag is measured in feed time: how far the newest indicator
trails the newest message on the status topic, read from the last record of each of its partitions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from velib_replay.contracts.indicators import INDICATOR_FIELDS, Indicator, snapshot_epoch
from velib_replay.contracts.messages import SNAPSHOT_TIME_FIELD
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.report.data import (
    TOTAL_FIELDS,
    fitting,
    latest_by_postcode,
    latest_time,
    main_field,
    network_totals,
    shown_fields,
)
from velib_replay.units import format_duration
from velib_replay.verify.reference import json_object
from velib_replay.verify.topic import TopicContents, reader

LAG_EVERY_S = 2.0  # how often the status topic's newest feed time is read


def _assign(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions assigned to the consumer; none while the topic does not exist yet."""
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if partitions:
        consumer.assign(partitions)
    return partitions


def newest_feed_time(consumer: KafkaConsumer, topic: str) -> int | None:
    """The newest ``snapshot_time`` (epoch s) among the last records of the topic's partitions."""
    partitions = _assign(consumer, topic)
    ends = consumer.end_offsets(partitions) if partitions else {}
    for partition, end in ends.items():
        consumer.seek(partition, max(0, end - 1))
    newest, pending = None, {tp for tp, end in ends.items() if end > 0}
    deadline = time.monotonic() + 2.0
    while pending and time.monotonic() < deadline:
        for partition, records in consumer.poll(timeout_ms=200).items():
            pending.discard(partition)
            for record in records:
                station = json_object(record.value) if record.value is not None else None
                epoch = snapshot_epoch(station.get(SNAPSHOT_TIME_FIELD)) if station else None
                newest = max(newest or 0, epoch or 0) or None
    return newest


class Follower:
    """The indicators topic's contents, kept up to date by a thread; ``wait`` blocks until they change."""

    def __init__(
        self,
        kafka: KafkaTarget,
        indicators_topic: str,
        status_topic: str,
        *,
        quiet_after: float,
        clock: Callable[[], float] = time.time,
        key_fields: tuple[str, ...] | None = None,
    ):
        self.indicators_topic, self.status_topic, self.quiet_after, self.clock = (
            indicators_topic,
            status_topic,
            quiet_after,
            clock,
        )
        self.contents = TopicContents(latest={}, key_fields=key_fields)  # None: the Kafka key
        self.own_rows = key_fields is not None  # a user's job's rows (see report.data.own_row_problem)
        self.version = 0
        self.started_at = clock()
        self.last_arrival: float | None = None
        self.status_time: int | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._rows = reader(kafka)
        self._peek = reader(kafka)
        self._thread = threading.Thread(target=self._run, name="dashboard-follower", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._rows.close()
        self._peek.close()

    def wait(self, seen: int, timeout: float) -> int:
        """The contents' version, once it differs from ``seen`` or after ``timeout`` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen or self._stop.is_set(), timeout)
            return self.version

    def _run(self) -> None:
        assigned, next_lag = False, 0.0
        while not self._stop.is_set():
            try:
                if not assigned and (assigned := bool(_assign(self._rows, self.indicators_topic))):
                    self._rows.seek_to_beginning()
                batches = self._rows.poll(timeout_ms=300) if assigned else {}
                if not assigned:
                    self._stop.wait(0.5)
                if time.monotonic() >= next_lag:
                    next_lag = time.monotonic() + LAG_EVERY_S
                    status_time = newest_feed_time(self._peek, self.status_topic)
                else:
                    status_time = self.status_time
            except KafkaError:  # the broker went away for a moment: kafka-python reconnects by itself
                self._stop.wait(1.0)
                continue
            self._take(batches, status_time)

    def _take(self, batches: dict, status_time: int | None) -> None:
        records = [record for batch in batches.values() for record in batch]
        if not records and status_time == self.status_time:
            return
        with self._changed:
            for record in records:
                self.contents.keep(record.key, record.value)
            if records:
                self.last_arrival = self.clock()
            self.status_time = status_time
            self.version += 1
            self._changed.notify_all()

    def state(self) -> dict[str, Any]:
        with self._changed:
            rows = list(self.contents.latest.values())
            unreadable = self.contents.unreadable_summary()
        return view(rows, unreadable, self.own_rows)

    def status(self) -> dict[str, Any]:
        with self._changed:
            rows, _ = fitting(self.contents.latest.values(), own_rows=self.own_rows)
            latest = latest_time(rows)
            since = self.last_arrival or self.started_at
            return freshness(latest, self.status_time, self.clock() - since, self.quiet_after, self.clock())


def view(rows: list[Indicator], unreadable: str | None, own_rows: bool = False) -> dict[str, Any]:
    """What the page draws: the network over time, and the latest snapshot per postcode (the contract's fields and
    the counts shown). A row that does not fit is counted beside the unreadable records, never drawn."""
    rows, misfits = fitting(rows, own_rows)
    totals = network_totals(rows)
    latest, by_postcode = latest_by_postcode(rows)
    fields = shown_fields(rows)
    names = (*INDICATOR_FIELDS, *fields)
    return {
        "fields": fields,  # the counts shown: the contract's, or the rows' own (the original consumer's)
        "main_field": main_field(fields),
        "latest_time": latest,
        "times": list(totals),
        "totals": {name: [total[name] for total in totals.values()] for name in TOTAL_FIELDS},
        "postcodes": {pc: {name: row.get(name) for name in names} for pc, row in by_postcode.items()},
        "rows": len(rows),
        "unreadable": "; ".join(note for note in (unreadable, misfits) if note) or None,
    }


def freshness(
    latest: str | None, status_time: int | None, quiet_s: float, quiet_after: float, now: float
) -> dict[str, Any]:
    """How fresh the data is: the latest snapshot's age, the job's lag (feed time), the quiet notice's duration."""
    latest_epoch = snapshot_epoch(latest)
    lag = max(0, status_time - latest_epoch) if status_time and latest_epoch else None
    return {
        "latest_time": latest,
        "age": _age(now - latest_epoch) if latest_epoch else None,
        "lag": format_duration(lag) if lag is not None else None,
        "quiet": format_duration(quiet_s) if quiet_s >= quiet_after else None,
    }


def _age(seconds: float) -> str:
    """A replayed recording's snapshots can be months old: days read better than thousands of hours."""
    return f"{seconds // 86400:.0f} days" if seconds >= 2 * 86400 else format_duration(seconds)
