"""Issue 28, item 7: ``verify --fault-log`` judges the run its log describes, not whatever the topics hold.

The log's header says where the run started on its topic; quarantine records of other runs are not counted,
and a status topic holding more than the run is refused in one line, not judged. No Spark needed.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from kafka import KafkaProducer

from velib_replay.cli import main
from velib_replay.config import sample_recording

pytestmark = pytest.mark.integration

FEW = ["--stations", "16107,32304", "--limit", "2", "--speed", "max", "-q"]


def play(velib_kafka: str, topic: str, log, *inject: str):
    args = ["play", str(sample_recording()), *FEW, "--bootstrap-servers", velib_kafka, "--topic", topic]
    result = CliRunner().invoke(main, [*args, *(f"--inject={spec}" for spec in inject), "--fault-log", str(log)])
    assert result.exit_code == 0, result.output


def verify(velib_kafka: str, topics, log):
    args = ["verify", "--recording", str(sample_recording()), "--fault-log", str(log)]
    args += ["--bootstrap-servers", velib_kafka, "--quarantine-topic", topics.quarantine]
    return CliRunner().invoke(main, [*args, "--indicators-topic", topics.indicators])


def test_a_status_topic_holding_an_earlier_run_is_refused_not_judged(tmp_path, velib_kafka, velib_topics):
    play(velib_kafka, velib_topics.status, tmp_path / "first.jsonl", "corrupt=0.5")
    play(velib_kafka, velib_topics.status, tmp_path / "second.jsonl", "corrupt=0.5")
    result = verify(velib_kafka, velib_topics, tmp_path / "second.jsonl")
    assert result.exit_code == 1
    assert f"topic {velib_topics.status} holds " in result.output and "from before the logged run" in result.output
    assert json.loads((tmp_path / "second.jsonl").read_text().splitlines()[0])["start_offsets"]["0"] > 0


def test_quarantine_records_of_other_runs_are_not_counted(tmp_path, velib_kafka, velib_topics):
    producer = KafkaProducer(bootstrap_servers=velib_kafka)  # a stale record, from another status topic
    producer.send(velib_topics.quarantine, key=b"velib-projet:0:12", value=b'{"problem": "not a JSON object"}')
    producer.flush()
    producer.close()
    play(velib_kafka, velib_topics.status, tmp_path / "faults.jsonl", "duplicate=0.5")
    result = verify(velib_kafka, velib_topics, tmp_path / "faults.jsonl")
    assert "OK: 0 quarantined, as expected" in result.output, result.output
