"""README's first command on a busy machine: another process on the default port moves the demo's broker, not
the user's --port. The "default" here is a port this test holds, so a real Kafka on 9092 changes nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from velib_replay.kafka import broker
from velib_replay.pipeline.demo import start_broker


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another process would hold: listening, with its neighbour (the default controller port) free."""
    with socket.socket() as other:
        other.bind((broker.HOST, 0))
        other.listen()
        yield other.getsockname()[1]


def test_a_port_the_user_chose_is_refused_naming_its_holder(tmp_path, held_port):
    said = []
    with pytest.raises(broker.PortTaken, match=rf"port {held_port} is taken by pid \d+ .*--port"):
        start_broker(broker.Broker(tmp_path / "kafka", held_port), said.append, move_if_taken=False)
    assert said == []
    assert not (tmp_path / "kafka").exists()


@pytest.mark.integration
def test_a_taken_default_port_moves_the_broker_to_free_ports_in_one_line(tmp_path, held_port):
    said = []
    started, running = start_broker(broker.Broker(tmp_path / "kafka", held_port), said.append, move_if_taken=True)
    try:
        assert started
        assert running.port != held_port
        assert broker.accepts_connections(running.port)
        assert said == [
            f"Port {held_port} is taken by {broker.port_holder(held_port)}: the demo's Kafka uses free ports instead"
            f" ({running.bootstrap_servers})"
        ]
        # the next demo finds it in the same folder, on the port it runs on
        again, same = start_broker(broker.Broker(tmp_path / "kafka", held_port), said.append, move_if_taken=True)
        assert (again, same.port) == (False, running.port)
    finally:
        broker.stop(running)
