"""Delivery latency is the time from handing a snapshot's batch to the client to the broker's acknowledgement of
its last message, with either client, whatever the time until the next snapshot.

librdkafka reports deliveries only when polled, and ``play`` polls at its next send: timed by the report, a
batch's latency was the gap between snapshots. A thread of the publisher's own now serves the reports.

Against a broker behind a proxy that delays its responses (advertised at the proxy's port, so clients never
bypass it after their first metadata), ``play``'s reported latency grows by the injected delay, and no more."""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from delaying_proxy import DelayingProxy

from velib_replay import config
from velib_replay.cli import main
from velib_replay.contracts.messages import snapshot_messages
from velib_replay.job.pipeline import fresh_topics
from velib_replay.kafka import broker
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.publisher import CLIENTS, open_publisher

pytestmark = pytest.mark.integration

GAP_S = 2.0  # between snapshots, as play paces them; an acknowledgement on loopback takes milliseconds


@pytest.mark.parametrize("client", CLIENTS)
def test_latency_is_hand_over_to_acknowledgement_not_the_gap_to_the_next_snapshot(
    sample, velib_kafka_target, velib_topics, client
):
    snapshots = list(sample.snapshots())[:3]
    with open_publisher(velib_kafka_target, velib_topics.status, client=client) as publisher:
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


DELAY_S = 0.3  # injected on every response of the broker
MARGIN_S = 0.7  # what else a batch's acknowledgement may take on a busy 2-core machine


@pytest.fixture(scope="module")
def slow_broker(tmp_path_factory) -> Iterator[DelayingProxy]:
    """A broker of the module's own, reached only through a delaying proxy (yielded: set its ``delay_s``)."""
    embedded = broker.on_free_ports(tmp_path_factory.mktemp("slow-kafka"))
    with DelayingProxy(embedded.port) as proxy:
        embedded = dataclasses.replace(embedded, advertised_port=proxy.port)
        broker.start(embedded, timeout=180)
        try:
            yield proxy
        finally:
            broker.stop(embedded)


def played_latency(proxy: DelayingProxy, client: str, tmp_path) -> dict[str, float]:
    """``play`` of five snapshots half a second apart through the proxy: its reported delivery latency, in ms.

    Two stations a snapshot: one produce request a batch, so one delayed response (a whole snapshot, 500 kB,
    takes three: both clients send a partition's requests one after the other)."""
    servers = f"127.0.0.1:{proxy.port}"
    stats = tmp_path / f"stats-{client}-{proxy.delay_s}.json"
    played = CliRunner().invoke(
        main,
        ["play", str(config.sample_recording()), "--bootstrap-servers", servers, "--topic",
         fresh_topics(KafkaTarget(servers)).status, "--client", client, "--speed", "120x", "--limit", "5",
         "--stations", "16107,32017", "--quiet", "--stats-json", str(stats)],
    )  # fmt: skip
    assert played.exit_code == 0, played.output
    return json.loads(stats.read_text())["delivery_latency"]


@pytest.mark.parametrize("client", CLIENTS)
def test_latency_grows_by_an_injected_broker_delay_and_no_more(slow_broker, client, tmp_path):
    slow_broker.delay_s = 0.0
    prompt = played_latency(slow_broker, client, tmp_path)
    slow_broker.delay_s = DELAY_S
    try:
        delayed = played_latency(slow_broker, client, tmp_path)
    finally:
        slow_broker.delay_s = 0.0
    assert prompt["p50_ms"] < DELAY_S * 1000, prompt
    # The median: a first batch may also wait on the producer's start (metadata, producer id: more round trips).
    assert DELAY_S * 1000 <= delayed["p50_ms"] < (DELAY_S + MARGIN_S) * 1000, delayed
