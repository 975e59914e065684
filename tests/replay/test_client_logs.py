"""Client-library log lines reach the user only when they matter: a play right after `kafka start` does not print
librdkafka's "Coordinator load in progress: retrying" (a retry that succeeds), and a broker that is not there is
one line. The same holds for a library caller (the pytest plugin, bench/, a user's script), which never goes
through the CLI. Real processes on a broker of the test's own, fresh as `kafka start` leaves it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from velib_replay import config
from velib_replay.kafka import broker

pytestmark = pytest.mark.integration


def velib_replay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "velib_replay", *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def fresh_broker(tmp_path) -> Iterator[broker.Broker]:
    """A broker no producer has used yet: its transaction coordinator still loads on the first idempotent one."""
    embedded = broker.on_free_ports(tmp_path / "kafka")
    broker.start(embedded, timeout=180)
    try:
        yield embedded
    finally:
        broker.stop(embedded)


@pytest.mark.parametrize("client", ["librdkafka", "kafka-python"])
def test_a_play_right_after_kafka_start_prints_no_client_chatter(fresh_broker, client):
    servers = ["--bootstrap-servers", fresh_broker.bootstrap_servers]
    assert velib_replay("topics", *servers).returncode == 0
    played = velib_replay(
        "play", str(config.sample_recording()), *servers, "--speed", "max", "--limit", "2", "--client", client
    )
    assert played.returncode == 0, played.stderr
    assert played.stderr == ""
    assert "Sent to velib-projet" in played.stdout


@pytest.mark.parametrize("client", ["librdkafka", "kafka-python"])
def test_an_unreachable_broker_is_one_line(client):
    servers = ["--bootstrap-servers", f"localhost:{broker.free_port()}"]
    played = velib_replay("play", str(config.sample_recording()), *servers, "--client", client, "--limit", "2")
    assert played.returncode == 1
    assert played.stderr.splitlines() == [
        f"Error: cannot reach Kafka at {servers[1]} (is it running? `velib-replay kafka start`;"
        " a secured cluster needs --kafka-config)"
    ]


LIBRARY_PLAY = """
import sys
import kafka  # imported first, as a script may: the NullHandler it gives its logger is no configuration of ours
from velib_replay.contracts.messages import Message
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.publisher import open_publisher
try:
    with open_publisher(KafkaTarget(sys.argv[1]), "library-play", client=sys.argv[2]) as publisher:
        publisher.send([Message(key=b"1", value=b"{}")])
        stats = publisher.flush(30)
except UserError as error:
    sys.exit(f"Error: {error}")
print(stats.delivered)
"""


def library_play(bootstrap_servers: str, client: str) -> subprocess.CompletedProcess:
    """A publisher used as a library, as bench/ and the plugin use it: no CLI, no logging set up by anyone."""
    return subprocess.run(
        [sys.executable, "-c", LIBRARY_PLAY, bootstrap_servers, client],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("client", ["librdkafka", "kafka-python"])
def test_a_library_publisher_right_after_a_broker_start_prints_no_client_chatter(fresh_broker, client):
    played = library_play(fresh_broker.bootstrap_servers, client)
    assert (played.returncode, played.stdout, played.stderr) == (0, "1\n", "")


@pytest.mark.parametrize("client", ["librdkafka", "kafka-python"])
def test_a_library_publisher_without_a_broker_fails_in_one_line(client):
    servers = f"localhost:{broker.free_port()}"
    played = library_play(servers, client)
    assert played.returncode == 1
    assert played.stderr.splitlines() == [
        f"Error: cannot reach Kafka at {servers} (is it running? `velib-replay kafka start`;"
        " a secured cluster needs --kafka-config)"
    ]
