"""`play` against the shared real broker: clean stops on signals, bad bodies met mid-replay, delivery latency."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from helpers import corrupt_copy, topic_values
from kafka import KafkaConsumer

from velib_replay.cli import main
from velib_replay.kafka.publisher import CLIENTS
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.player import replay_to_topic

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def wait_for_first_message(bootstrap: str, topic: str, player: subprocess.Popen) -> None:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    try:
        while not consumer.poll(timeout_ms=500):
            assert player.poll() is None, player.stderr.read()
    finally:
        consumer.close()


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_an_endless_play_cleanly_with_its_statistics(
    velib_kafka, velib_topics, tmp_path, signum, status
):
    stats = tmp_path / "stats.json"
    target = ["--bootstrap-servers", velib_kafka, "--topic", velib_topics.status, "--stats-json", str(stats)]
    player = subprocess.Popen(
        [sys.executable, "-m", "velib_replay", "play", str(SAMPLE), "--loop", "--speed", "1x", *target],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as on a terminal, even if pytest runs in &
    )
    try:
        wait_for_first_message(velib_kafka, velib_topics.status, player)
        player.send_signal(signum)
        out, err = player.communicate(timeout=120)
    finally:
        player.kill()
    assert player.returncode == status, err
    stats = json.loads(stats.read_text())
    assert stats["messages"] == stats["delivered"] > 0 and stats["undelivered"] == 0
    assert stats["interrupted"] == signal.Signals(signum).name
    assert stats["delivery_latency"]["max_ms"] > 0
    assert "Traceback" not in err + out and f"Interrupted by {signal.Signals(signum).name}" in err
    assert len(topic_values(velib_kafka, velib_topics.status)) == stats["delivered"]


def play_cli(recording: Path, bootstrap: str, topic: str, stats_file: Path, *args: str):
    target = ["--bootstrap-servers", bootstrap, "--topic", topic, "--stats-json", str(stats_file)]
    return CliRunner().invoke(main, ["play", str(recording), "--speed", "max", "--quiet", *target, *args])


@pytest.mark.slow
def test_without_the_check_a_bad_body_ends_with_the_statistics_and_one_line(
    velib_kafka, velib_topics, sample, tmp_path
):
    bad = corrupt_copy(sample.path, tmp_path / "bad", (4,))
    result = play_cli(bad, velib_kafka, velib_topics.status, tmp_path / "stats.json", "--no-check")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and len(result.output.splitlines()) == 1
    assert "20251018T091600.000Z.station_status.json.gz" in result.output
    assert "stopped after 4 snapshots" in result.output
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["snapshots"] == 4 and stats["messages"] == stats["delivered"] > 0
    assert "091600.000Z" in stats["aborted"]
    assert len(topic_values(velib_kafka, velib_topics.status)) == stats["delivered"]


@pytest.mark.slow
@pytest.mark.parametrize("check", ["--check", "--no-check"])
def test_skip_invalid_sends_the_rest_and_counts_the_skipped(velib_kafka, velib_topics, sample, tmp_path, check):
    bad = corrupt_copy(sample.path, tmp_path / "bad", (4, 7))
    result = play_cli(bad, velib_kafka, velib_topics.status, tmp_path / "stats.json", check, "--skip-invalid")
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert (stats["snapshots"], stats["skipped_invalid"]) == (9, 2)
    assert stats["messages"] == stats["delivered"] == len(topic_values(velib_kafka, velib_topics.status))


def test_without_the_check_a_play_that_sent_nothing_fails(velib_kafka, velib_topics, tmp_path):
    stats_file = tmp_path / "stats.json"
    result = play_cli(SAMPLE, velib_kafka, velib_topics.status, stats_file, "--no-check", "--stations", "99999")
    assert result.exit_code == 1
    assert result.output == "Error: nothing was sent: --stations 99999 matches no station of the selected snapshots\n"
    assert json.loads(stats_file.read_text())["messages"] == 0


@pytest.mark.parametrize("client", CLIENTS)
def test_delivery_latency_is_measured_once_per_snapshot_by_both_clients(
    velib_kafka_target, velib_topics, sample, client
):
    stats = replay_to_topic(sample, velib_kafka_target, velib_topics.status, PlayOptions(client=client))
    assert stats.delivered == stats.messages == 16442
    assert len(stats.latencies_ms) == stats.snapshots == 11
    latency = stats.as_dict()["delivery_latency"]
    assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
