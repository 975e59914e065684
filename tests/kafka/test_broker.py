"""The embedded broker's life cycle and its one-line errors, on a broker of these tests' own."""

from __future__ import annotations

import collections
import json
import subprocess
import threading
import time

import pytest
from click.testing import CliRunner
from helpers import replay, topic_values

from velib_replay.cli import main
from velib_replay.contracts.feed import iso_utc
from velib_replay.errors import UserError
from velib_replay.kafka import broker, jvm, topics
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.publisher import CLIENTS, open_publisher

pytestmark = pytest.mark.integration


@pytest.fixture
def own_broker(tmp_path):
    instance = broker.on_free_ports(tmp_path / "kafka")
    yield instance
    broker.stop(instance)


def kafka_cli(*args: str):
    return CliRunner().invoke(main, ["kafka", *args])


def test_start_status_stop_from_the_cli(own_broker):
    where = ["--data-dir", str(own_broker.data_dir)]
    ports = ["--port", str(own_broker.port), "--controller-port", str(own_broker.controller_port)]
    started = kafka_cli("start", *ports, *where)
    assert started.exit_code == 0, started.output
    assert f"Kafka started on localhost:{own_broker.port}" in started.output and "broker.log" in started.output
    assert broker.accepts_connections(own_broker.port)
    again = kafka_cli("start", *ports, *where)
    assert again.exit_code == 0 and "already running" in again.output
    status = kafka_cli("status", *where)
    assert status.exit_code == 0 and "accepting connections" in status.output
    stopped = kafka_cli("stop", *where)
    assert stopped.exit_code == 0 and "Kafka stopped" in stopped.output
    assert not broker.accepts_connections(own_broker.port)
    assert kafka_cli("status", *where).exit_code == 1


def test_start_over_a_stale_pid_file_starts_a_broker_and_spares_the_pids_owner(own_broker):
    unrelated = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        own_broker.data_dir.mkdir(parents=True)
        own_broker.pid_file.write_text(f"{unrelated.pid} {own_broker.port}\n")
        ports = ["--port", str(own_broker.port), "--controller-port", str(own_broker.controller_port)]
        started = kafka_cli("start", *ports, "--data-dir", str(own_broker.data_dir))
        assert started.exit_code == 0, started.output
        assert f"pid {unrelated.pid} is not this folder's broker; removed" in started.output
        assert f"Kafka started on localhost:{own_broker.port}" in started.output
        assert own_broker.running_pid() not in (None, unrelated.pid)
        assert broker.accepts_connections(own_broker.port)
        assert broker.stop(own_broker)
        assert unrelated.poll() is None  # alive throughout: never signalled
    finally:
        unrelated.kill()
        unrelated.wait()


def test_broker_dying_at_start_up_names_its_log(own_broker, monkeypatch):
    monkeypatch.setenv("VELIB_REPLAY_KAFKA_HEAP", "not-a-size")
    with pytest.raises(UserError, match=r"died during start-up .*broker\.log"):
        broker.start(own_broker, timeout=60)


def test_missing_or_old_java(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(UserError, match="Java not found"):
        jvm.require_java()
    old_java = bin_dir / "java"
    old_java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    old_java.chmod(0o755)
    with pytest.raises(UserError, match="Java 11 is too old"):
        jvm.require_java()


def test_unreachable_broker_is_a_one_line_error():
    result = CliRunner().invoke(main, ["topics", "--bootstrap-servers", f"localhost:{broker.free_port()}"])
    assert result.exit_code == 1
    assert "Error: cannot reach Kafka at localhost:" in result.output


def test_unreachable_broker_with_librdkafka_and_an_unknown_client():
    with pytest.raises(UserError, match="cannot reach Kafka at localhost:"):
        open_publisher(KafkaTarget(f"localhost:{broker.free_port()}"), "t", client="librdkafka")
    with pytest.raises(UserError, match="unknown Kafka client"):
        open_publisher(KafkaTarget(), "t", client="rdkafka")


@pytest.mark.slow
@pytest.mark.parametrize("client", CLIENTS)
def test_replay_survives_a_broker_restart_and_delivers_every_message_once(sample, own_broker, client):
    broker.start(own_broker)
    topic = "restart-test"
    topics.ensure_topics(KafkaTarget(own_broker.bootstrap_servers), [topics.status_topic(topic, 3)])
    result = {}
    player = threading.Thread(
        target=lambda: result.setdefault("stats", replay(sample, own_broker.bootstrap_servers, topic, 40.0, client))
    )
    player.start()
    time.sleep(4)
    assert player.is_alive(), "the replay ended before the broker went away"
    broker.stop(own_broker)
    time.sleep(4)
    broker.start(own_broker)
    player.join(timeout=180)
    assert result["stats"].delivered == 16442
    received = collections.Counter(
        _station_and_time(value) for value in topic_values(own_broker.bootstrap_servers, topic)
    )
    sent = collections.Counter(
        (station["stationCode"], iso_utc(snapshot.snapshot_time))
        for snapshot in sample.snapshots()
        for station in snapshot.stations
    )
    assert received == sent  # every message exactly as often as sent: none lost, none written twice by retries


def _station_and_time(value: bytes) -> tuple[str, str]:
    station = json.loads(value)
    return station["stationCode"], station["snapshot_time"]


def test_cluster_ids_never_start_with_a_dash():
    """The storage tool reads "-t -abc" as two options: an id starting with "-" made one start in 64 fail."""
    ids = [broker.new_cluster_id() for _ in range(2000)]
    assert not [cluster_id for cluster_id in ids if cluster_id.startswith("-")]
    assert len(set(ids)) == len(ids)
