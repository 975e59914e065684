"""The whole pipeline on the real broker and real Spark, against the sample's golden file."""

from __future__ import annotations

import io
import json
import re

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from helpers import latest_indicators, process_once, replay, topic_values

from velib_replay.cli import main
from velib_replay.contracts.messages import Message, snapshot_messages
from velib_replay.job.config import OUTPUT_COUNTS
from velib_replay.job.runner import run_once, start_query
from velib_replay.job.transformations import INDICATORS, QUARANTINE
from velib_replay.kafka.publisher import open_publisher
from velib_replay.verify import reference
from velib_replay.verify.golden import read_golden

pytestmark = pytest.mark.integration
GOLDEN = SAMPLE / "indicators.golden.jsonl"


def test_max_speed_replay_gives_the_golden_indicators(
    velib_play, velib_run_job, velib_latest, velib_expected, velib_golden, velib_topics
):
    """Through the plugin's public fixtures only, as a user's test would run velib-replay's own job."""
    played = velib_play(SAMPLE)
    summary = velib_run_job()
    latest = velib_latest(velib_topics.indicators)
    assert summary.input_rows == played.messages == 16442
    assert latest == velib_expected(SAMPLE)
    velib_golden(GOLDEN, list(latest.values()), key=("snapshot_time", "postcode"))
    assert sum(row["stations"] for key, row in latest.items() if key.endswith("|unknown")) == 10 * 84
    assert summary.quarantined == 0


def test_bad_messages_are_quarantined_and_counted(
    sample, velib_kafka, velib_kafka_target, velib_topics, velib_spark, checkpoint
):
    """With rows printed, the batch is read twice (written, then shown): each row is still counted once."""
    bad = [
        Message(b"x", b"{not json"),
        Message(None, b'{"num_bikes_available": 3, "snapshot_time": "2025-10-18T09:09:16Z"}'),
        Message(b"16107", b'{"stationCode": "16107", "num_bikes_available": 3}'),
    ]
    with open_publisher(velib_kafka_target, velib_topics.status) as publisher:
        publisher.send(bad)
        assert publisher.flush().delivered == 3
    replay(sample, velib_kafka, velib_topics.status, speed=None, limit=1)
    printed = io.StringIO()
    summary = run_once(velib_topics.job_config(checkpoint, show_rows=3), velib_spark, out=printed)
    first_snapshot = {k: v for k, v in read_golden(GOLDEN).items() if k.startswith("2025-10-18T09:09:16Z")}
    assert (summary.quarantined, summary.indicator_rows) == (3, len(first_snapshot))
    assert f"{len(first_snapshot)} indicator rows updated" in printed.getvalue()
    assert latest_indicators(velib_kafka, velib_topics) == first_snapshot
    reasons = sorted(json.loads(value)["problem"] for value in topic_values(velib_kafka, velib_topics.quarantine))
    assert reasons == ["no stationCode", "no valid snapshot_time", "not a JSON object"]


def test_both_outputs_come_from_one_read_of_each_message(
    sample, velib_kafka, velib_kafka_target, velib_topics, velib_spark, checkpoint
):
    """Indicators and quarantine records share one scan and one exchange per micro-batch: reading and parsing
    every message once per output cost the job as much again (bench/anchor.py)."""
    with open_publisher(velib_kafka_target, velib_topics.status) as publisher:
        publisher.send([Message(b"x", b"{not json")])
        assert publisher.flush().delivered == 1
    replay(sample, velib_kafka, velib_topics.status, speed=None, limit=1)
    cfg = velib_topics.job_config(checkpoint)
    query = start_query(velib_spark, cfg, once=True)
    query.awaitTermination()
    plan = query._jsq.streamingQuery().lastExecution().executedPlan().toString()  # pyspark has no API for it
    assert re.search(r"ReusedExchange \[.*\], Exchange hashpartitioning", plan), plan
    first_snapshot = [key for key in read_golden(GOLDEN) if key.startswith("2025-10-18T09:09:16Z")]
    written = [p.observedMetrics[OUTPUT_COUNTS] for p in query.recentProgress if OUTPUT_COUNTS in p.observedMetrics]
    assert sum(w[INDICATORS] for w in written) == len(first_snapshot)
    assert sum(w[QUARANTINE] for w in written) == 1


def test_stations_with_missing_or_odd_fields_count_like_the_reference(
    postcodes, velib_kafka, velib_kafka_target, velib_topics, velib_spark, checkpoint
):
    """Missing bike types or docks count as 0, and the types may be a map: job and reference agree."""
    snapshot_time = 1760778556
    stations = [
        {"stationCode": "16107", "num_bikes_available": 5, "num_bikes_available_types": {"mechanical": 1, "ebike": 4}},
        {"stationCode": "9020", "num_bikes_available": 2, "num_docks_available": 19},
        {"stationCode": "40001", "num_bikes_available_types": [{"mechanical": None}, {"ebike": 3}]},
        {"stationCode": "no-such-station", "num_bikes_available": 1, "num_bikes_available_types": [{"ebike": 1}]},
        {"stationCode": "14111", "num_bikes_available": "7", "num_docks_available": 3.5},
    ]
    with open_publisher(velib_kafka_target, velib_topics.status) as publisher:
        publisher.send(snapshot_messages(stations, snapshot_time, None))
        assert publisher.flush().delivered == len(stations)
    summary = process_once(velib_spark, velib_kafka, velib_topics, checkpoint)
    assert summary.quarantined == 0
    expected = reference.compute([(snapshot_time, stations)], postcodes)
    assert latest_indicators(velib_kafka, velib_topics) == expected
    assert sum(row["mechanical"] for row in expected.values()) == 1
    assert sum(row["ebike"] for row in expected.values()) == 8


def test_cli_play_process_verify(velib_kafka, velib_topics, velib_spark, tmp_path):
    kafka = ["--bootstrap-servers", velib_kafka]
    topics = ["--topic", velib_topics.status, "--indicators-topic", velib_topics.indicators]
    runner = CliRunner()
    played = runner.invoke(main, ["play", str(SAMPLE), "--speed", "max", *kafka, "--topic", velib_topics.status])
    assert played.exit_code == 0, played.output
    assert "16442" in played.output
    args = ["process", "--once", "--checkpoint", str(tmp_path / "cp"), *kafka, *topics]
    processed = runner.invoke(main, [*args, "--quarantine-topic", velib_topics.quarantine, "--show", "0"])
    assert processed.exit_code == 0, processed.output
    assert "16442 messages" in processed.output
    verify = ["verify", *kafka, "--indicators-topic", velib_topics.indicators, "--golden"]
    verified = runner.invoke(main, [*verify, str(GOLDEN)])
    assert verified.exit_code == 0, verified.output
    against_recording = runner.invoke(main, [*verify[:-1], "--recording", str(SAMPLE)])
    assert against_recording.exit_code == 0, against_recording.output
    assert f"equal the computation over {SAMPLE}" in against_recording.output
    subset = runner.invoke(main, [*verify[:-1], "--recording", str(SAMPLE), "--stations", "16107"])
    assert subset.exit_code == 1 and "extra" in subset.output
    assert runner.invoke(main, [*verify[:-1]]).exit_code == 2
    altered = tmp_path / "altered.jsonl"
    rows = GOLDEN.read_text().splitlines()
    first = json.loads(rows[0]) | {"bikes_available": -1}
    altered.write_text("\n".join([json.dumps(first), *rows[2:]]) + "\n")
    failed = runner.invoke(main, [*verify, str(altered)])
    assert failed.exit_code == 1
    assert "0 missing, 1 extra, 1 changed" in failed.output
    assert "bikes_available: expected -1" in failed.output
