"""Delivery latency is the time from handing a snapshot's batch to the client to the broker's acknowledgement of
its last message, with either client, whatever the time until the next snapshot.

librdkafka reports deliveries only when polled, and ``play`` polls at its next send: timed by the report, a
batch's latency was the gap between snapshots. A thread of the publisher's own now serves the reports."""

from __future__ import annotations

import statistics
import time

import pytest

from velib_replay.contracts.messages import snapshot_messages
from velib_replay.kafka.publisher import CLIENTS, open_publisher

pytestmark = pytest.mark.integration

GAP_S = 2.0  # between snapshots, as play paces them; an acknowledgement on loopback takes milliseconds


@pytest.mark.parametrize("client", CLIENTS)
def test_latency_is_hand_over_to_acknowledgement_not_the_gap_to_the_next_snapshot(
    sample, velib_kafka, velib_topics, client
):
    snapshots = list(sample.snapshots())[:3]
    with open_publisher(velib_kafka, velib_topics.status, client=client) as publisher:
        for snapshot in snapshots:
            publisher.send(snapshot_messages(snapshot.stations, snapshot.snapshot_time, None))
            time.sleep(GAP_S)
        stats = publisher.flush()
    assert stats.delivered == stats.sent and len(stats.latencies_ms) == len(snapshots)
    # Timed by the next send, each would be GAP_S or more; a first batch may wait on the producer's start.
    assert max(stats.latencies_ms) < GAP_S * 1000 and statistics.median(stats.latencies_ms) < GAP_S * 1000 / 2, (
        stats.latencies_ms
    )
    assert min(stats.latencies_ms) > 0
