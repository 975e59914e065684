"""``kafka start`` refuses bad ports and data folders before anything runs, naming the option really at fault."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.kafka import broker


def kafka_cli(*args: str):
    return CliRunner().invoke(main, ["kafka", *args])


@pytest.fixture
def squatted() -> Iterator[int]:
    """A listening port whose predecessor is free: what a default controller port (PORT+1) can run into."""
    while True:
        squatter = socket.socket()
        squatter.bind((broker.HOST, 0))
        port = squatter.getsockname()[1]
        if broker.port_free(port - 1):
            break
        squatter.close()
    with squatter:
        squatter.listen()
        yield port


def this_process() -> str:
    """How ``kafka start`` names the squatter: this very test process."""
    return f"pid {os.getpid()} ({Path('/proc/self/comm').read_text().strip()})"


def test_a_taken_default_controller_port_names_controller_port(tmp_path, squatted):
    result = kafka_cli("start", "--port", str(squatted - 1), "--data-dir", str(tmp_path / "kafka"))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: port {squatted} is taken by {this_process()}: it is PORT+1, the default controller port; "
        "choose another with --controller-port\n"
    )
    assert not (tmp_path / "kafka").exists()


def test_a_taken_explicit_controller_port_names_controller_port(tmp_path, squatted):
    args = ["--port", str(broker.free_port()), "--controller-port", str(squatted)]
    result = kafka_cli("start", *args, "--data-dir", str(tmp_path / "kafka"))
    assert result.exit_code == 1
    expected = f"Error: port {squatted} is taken by {this_process()}: it is --controller-port; choose another\n"
    assert result.output == expected


def test_a_taken_broker_port_names_port(tmp_path, squatted):
    result = kafka_cli("start", "--port", str(squatted), "--data-dir", str(tmp_path / "kafka"))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: port {squatted} is taken by {this_process()}: stop it, "
        "or choose another port with --port or VELIB_REPLAY_KAFKA_PORT\n"
    )


def test_the_holder_of_a_port_is_named_only_while_it_listens(squatted):
    assert broker.port_holder(squatted) == this_process()
    assert broker.port_holder(broker.free_port()) is None


def test_start_with_a_data_dir_under_a_regular_file_is_a_one_line_error(tmp_path):
    regular = tmp_path / "file"
    regular.write_text("")
    data_dir = regular / "kafka"
    ports = ["--port", str(broker.free_port()), "--controller-port", str(broker.free_port())]  # PORT+1 may be taken
    result = kafka_cli("start", *ports, "--data-dir", str(data_dir))
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: cannot use {data_dir} as the broker's data folder: Not a directory\n"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--port", "70000"], "--port"),
        (["--port", "0"], "--port"),
        (["--controller-port", "65536"], "--controller-port"),
    ],
)
def test_impossible_ports_are_usage_errors(tmp_path, args, option):
    result = kafka_cli("start", *args, "--data-dir", str(tmp_path / "kafka"))
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert not (tmp_path / "kafka").exists()


def test_the_default_controller_port_past_65535_names_controller_port(tmp_path):
    result = kafka_cli("start", "--port", "65535", "--data-dir", str(tmp_path / "kafka"))
    assert result.exit_code == 1
    assert result.output == (
        "Error: port 65536 does not exist: it is PORT+1, the default controller port; "
        "choose another with --controller-port\n"
    )


def test_equal_broker_and_controller_ports_are_refused(tmp_path):
    port = str(broker.free_port())
    result = kafka_cli("start", "--port", port, "--controller-port", port, "--data-dir", str(tmp_path / "kafka"))
    assert result.exit_code == 1
    assert result.output == f"Error: --controller-port {port} is --port too: the two must differ\n"
