"""Issue 28, items 3-4: ``live`` through a real broker outage (a broker of the test's own, stopped and restarted).

The poll loop never waits on Kafka: polls go on at ``--interval`` while snapshots wait in the backlog;
``/healthz`` says 503 with the reason within seconds, and 200 again once the backlog is delivered; the
client library's error lines are one at the start of the outage and a count at its end; nothing is lost.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from helpers import topic_values
from observed_process import Observed

from velib_replay.capture.server import serve
from velib_replay.kafka import broker, librdkafka_publisher
from velib_replay.recording import STATUS_FEED, Recording

pytestmark = pytest.mark.integration

UNHEALTHY_WITHIN_S = 30.0
CLIENTS = ("kafka", librdkafka_publisher.log.name)  # the client libraries' loggers


@pytest.fixture
def own_broker(tmp_path):
    instance = broker.Broker(tmp_path / "kafka", broker.free_port(), broker.free_port())
    broker.start(instance, timeout=180)
    yield instance
    broker.stop(instance)


def through_an_outage(sample, own_broker, outage_s: float, record: Path, duration_s: float | None = None) -> None:
    """``live`` through an outage of ``outage_s``, then stopped by SIGTERM (exit 143, the one exit rule), or, with
    ``duration_s``, left to end by itself (``--duration``: exit 0)."""
    topic = "velib-outage"
    ending = ("--duration", f"{duration_s:g}s") if duration_s else ()
    with serve(sample, speed=None, loop=True, port=0).start() as api:
        live = Observed(
            *("live", "--url", f"{api.url}/station_status.json", "--info-url", "none", "--interval", "1"),
            *("--bootstrap-servers", own_broker.bootstrap_servers, "--topic", topic, "--delivery-timeout", "5"),
            *("--record", str(record), *ending),
        )
        try:
            live.until(lambda: live.metrics().get("velib_replay_snapshots_published_total", 0) >= 3, "3 published")
            assert live.health()[0] == 200
            polls_before = live.metrics()['velib_replay_polls_total{outcome="snapshot"}']
            broker.stop(own_broker)
            down_at = time.monotonic()
            _, answer = live.until(lambda: (got := live.health())[0] == 503 and got, "a 503", UNHEALTHY_WITHIN_S)
            unhealthy_after = time.monotonic() - down_at
            assert "Kafka" in answer["reason"], answer
            time.sleep(max(0.0, outage_s - (time.monotonic() - down_at)))
            during = live.metrics()
            polls_during = during['velib_replay_polls_total{outcome="snapshot"}'] - polls_before
            assert polls_during >= 0.7 * outage_s, f"{polls_during} polls in a {outage_s} s outage"
            assert during["velib_replay_backlog_snapshots"] > 0 and during["velib_replay_kafka_up"] == 0
            broker.start(own_broker, timeout=180)
            live.until(lambda: live.health() == (200, {"status": "ok"}), "healthy again", 120)
            after = live.metrics()
            assert after["velib_replay_backlog_snapshots"] <= 1  # a snapshot polled since may be on its way
            exit_code, summary = live.stop(None if duration_s else signal.SIGTERM, timeout=(duration_s or 0) + 60)
        finally:
            live.process.kill()
    expected = 0 if duration_s else 128 + signal.SIGTERM  # the one exit rule: 128+N for a signal
    assert exit_code == expected, summary + "\n".join(live.lines[-30:])
    assert "0 still waiting, 0 dropped" in summary
    published = after["velib_replay_messages_published_total"]
    assert len(topic_values(own_broker.bootstrap_servers, topic)) >= published > 0
    client = [e for e in live.events() if e["level"] in ("warning", "error") and e["logger"].startswith(CLIENTS)]
    assert len(client) <= 2, client[:10]  # the first one of each outage seen; the rest are counted
    assert "Kafka client error lines not shown during outages" in summary
    polls = int(re.search(r"(\d+) polls = ", summary).group(1))
    assert len(Recording(record).polls(STATUS_FEED)) == polls  # the recording is whole, whatever Kafka did
    print(f"unhealthy {unhealthy_after:.1f} s after the broker stopped; {polls_during:.0f} polls during the outage")


def test_live_keeps_polling_through_a_short_outage_and_tells_the_truth(sample, own_broker, tmp_path):
    through_an_outage(sample, own_broker, outage_s=10, record=tmp_path / "rec")


@pytest.mark.slow
def test_live_through_a_45_second_broker_outage(sample, own_broker, tmp_path):
    """The issue's case: 45 s without Kafka, then ``live`` ends by itself (``--duration``) and exits 0."""
    through_an_outage(sample, own_broker, outage_s=45, record=tmp_path / "rec", duration_s=45 + 150)
