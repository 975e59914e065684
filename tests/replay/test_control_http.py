"""``play --control`` driven over HTTP, as a user would: the real CLI in a subprocess, the real broker, the job.

Pause, and no message arrives for 3 s; step 2, and exactly two snapshots' messages arrive; seek back 10 minutes,
speed max, resume. The job's indicators then equal the reference over the recording (every snapshot was sent,
some twice: a snapshot sent again counts once), and the topic holds exactly what those actions sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from helpers import process_once, until
from kafka import KafkaConsumer, TopicPartition

from velib_replay.cli import main
from velib_replay.contracts.messages import selected

pytestmark = pytest.mark.integration

QUIET_S = 3.0
WAIT_S = 60.0  # for a send to be acknowledged on a busy 2-core machine


def call(url: str, path: str, body: dict | None = None, content_type: str = "application/json") -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path.lstrip("/"), data=data, method="GET" if body is None else "POST")
    request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def refused(url: str, path: str, body: dict, content_type: str = "application/json") -> tuple[int, str]:
    with pytest.raises(urllib.error.HTTPError) as raised:
        call(url, path, body, content_type)
    return raised.value.code, json.load(raised.value)["error"]


class Topic:
    """How many messages one-partition ``topic`` holds (its end offset)."""

    def __init__(self, bootstrap: str, topic: str):
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap)
        self.partition = TopicPartition(topic, 0)

    def count(self) -> int:
        return self.consumer.end_offsets([self.partition])[self.partition]

    def reaches(self, expected: int) -> int:
        deadline = time.monotonic() + WAIT_S
        while (count := self.count()) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        return count


def start_play(bootstrap: str, topic: str, stats: str) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "velib_replay", "play", str(SAMPLE), "--speed", "30x", "--control"]
    command += ["--bootstrap-servers", bootstrap, "--topic", topic, "--stats-json", stats, "--quiet"]
    player = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    line = player.stderr.readline()
    assert line.startswith("Control endpoint: http://127.0.0.1:"), line
    return player, line.split()[2]


def test_pause_step_seek_and_speed_over_http(sample, velib_spark, velib_kafka, velib_topics, checkpoint, tmp_path):
    stations = [len(selected(snapshot.stations, None)) for snapshot in sample.snapshots()]
    topic = Topic(velib_kafka, velib_topics.status)
    player, url = start_play(velib_kafka, velib_topics.status, str(tmp_path / "stats.json"))
    try:
        until(lambda: call(url, "status")["snapshots_sent"] >= 1, "the first snapshot", WAIT_S)
        paused = call(url, "pause", {})
        held = paused["snapshots_sent"]
        assert paused["paused"] and topic.reaches(paused["messages_sent"]) == sum(stations[:held])
        time.sleep(QUIET_S)
        assert topic.count() == sum(stations[:held]), "a message arrived while paused"

        stepped = call(url, "step", {"snapshots": 2})
        assert stepped["paused"] and stepped["steps_pending"] == 2
        until(lambda: call(url, "status")["snapshots_sent"] == held + 2, "two steps", WAIT_S)
        assert topic.reaches(sum(stations[: held + 2])) == sum(stations[: held + 2])
        time.sleep(1.0)
        assert topic.count() == sum(stations[: held + 2]), "more than two snapshots were stepped"

        assert refused(url, "speed", {"speed": "fast"}) == (
            400,
            "speed 'fast': use a positive multiplier such as 1x, 10x, 0.5x, or max",
        )
        assert refused(url, "pause", {}, "text/plain")[0] == 400  # what a web page could send without CORS
        feed_time = datetime.fromisoformat(call(url, "status")["feed_time"])
        seeked = call(url, "seek", {"to": (feed_time - timedelta(minutes=10)).isoformat()})
        assert seeked["next_feed_time"] == seeked["first_feed_time"]  # ten minutes back is before the start
        assert call(url, "speed", {"speed": "max"})["speed"] == "max"
        assert not call(url, "resume", {})["paused"]
        assert player.wait(timeout=WAIT_S) == 0, player.stderr.read()
    finally:
        player.kill()
        player.wait()
    sent = sum(stations[: held + 2]) + sum(stations)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert (stats["messages"], stats["delivered"], stats["snapshots"]) == (sent, sent, held + 2 + len(stations))
    assert [action["action"] for action in stats["control_actions"]] == ["pause", "step", "seek", "speed", "resume"]
    assert stats["paused_s"] >= QUIET_S
    assert topic.count() == sent

    process_once(velib_spark, velib_kafka, velib_topics, checkpoint)
    args = ["verify", "--recording", str(SAMPLE), "--bootstrap-servers", velib_kafka]
    result = CliRunner().invoke(main, [*args, "--indicators-topic", velib_topics.indicators])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: ")
