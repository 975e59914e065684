"""Faults through the real broker and Spark: what the job makes of them is what the ledger says it must."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from helpers import latest_indicators, process_once, topic_values
from hypothesis import given, settings
from hypothesis import strategies as st

from velib_replay.cli import main
from velib_replay.contracts.messages import parse_station_filter
from velib_replay.job.pipeline import fresh_topics
from velib_replay.replay.faults import parse_fault
from velib_replay.replay.ledger import read_ledger
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import replay_to_topic
from velib_replay.verify.expected import outcome, replayed_stream
from velib_replay.verify.reference import read_message

pytestmark = pytest.mark.integration
STATIONS = "16107,32304,14111,32017,8026,7002,6108,42016,21010,30002,17041,15047,12109,15202,42208,8050,14108"
EVERY_KIND = ["duplicate=0.3", "reorder=13", "drop=0.1", "corrupt=0.1", "skew=0.1:±2m", "late=0.2:6m", "stall=3m:0.2s"]
JOB = ["--watermark", "2 minutes", "--max-offsets-per-trigger", "50"]  # 203 messages: 5 micro-batches


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_fault_kind_through_the_job(velib_kafka, velib_topics, checkpoint, tmp_path, sample, postcodes):
    """play --inject (every kind), process --once, verify --fault-log: one Spark run proves them all."""
    log, stats, summary = tmp_path / "faults.jsonl", tmp_path / "stats.json", tmp_path / "summary.json"
    servers = ["--bootstrap-servers", velib_kafka]
    injects = [arg for spec in EVERY_KIND for arg in ("--inject", spec)]
    cli(
        "play",
        SAMPLE,
        "--speed",
        "max",
        "--stations",
        STATIONS,
        "--topic",
        velib_topics.status,
        *servers,
        *injects,
        "--seed",
        11,
        "--fault-log",
        log,
        "--stats-json",
        stats,
        "-q",
    )
    topics = ["--indicators-topic", velib_topics.indicators, "--quarantine-topic", velib_topics.quarantine]
    cli(
        "process",
        "--once",
        "--checkpoint",
        checkpoint,
        "--topic",
        velib_topics.status,
        *servers,
        *topics,
        *JOB,
        "--show",
        0,
        "--summary-json",
        summary,
    )
    checks = ["--recording", SAMPLE, "--fault-log", log, "--summary-json", summary]
    verified = cli("verify", *checks, *JOB, *servers, *topics)
    assert "quarantined" in verified and "OK:" in verified

    ledger = read_ledger(log)
    kinds = Counter(entry["fault"] for entry in ledger.entries)
    assert json.loads(stats.read_text())["faults"] == dict(kinds)
    assert set(kinds) == {spec.split("=")[0] for spec in EVERY_KIND}
    stream = [message.value for message in replayed_stream(sample, ledger)]
    expected = outcome([stream], postcodes, watermark_s=120, max_offsets=50)
    assert expected.late_groups > 0 and expected.quarantined == kinds["corrupt"] > 0  # the test can fail both ways
    assert json.loads(summary.read_text())["dropped_late"] == expected.late_groups
    corrupted = Counter(value for value in stream if isinstance(read_message(value, now=2e9), str))
    records = topic_values(velib_kafka, velib_topics.quarantine)
    quarantined = Counter(json.loads(record)["value"].encode() for record in records)
    assert quarantined == corrupted  # exactly the ledger's corrupt messages, byte for byte


@pytest.mark.slow  # ~60 s: each verify waits on the empty quarantine topic (see README, known leftovers)
def test_verify_says_what_differs(velib_kafka, velib_topics, tmp_path):
    """A fault log that is not the run's, and a count that is off, each fail in one readable line (no Spark)."""
    log = tmp_path / "faults.jsonl"
    few = ["--stations", "16107,32304", "--limit", 2, "--topic", velib_topics.status]
    cli(
        "play",
        SAMPLE,
        *few,
        "--bootstrap-servers",
        velib_kafka,
        "--inject",
        "corrupt=0.5",
        "--seed",
        1,
        "--fault-log",
        log,
        "-q",
    )
    args = ["verify", "--recording", SAMPLE, "--fault-log", log, "--bootstrap-servers", velib_kafka]
    args += ["--quarantine-topic", velib_topics.quarantine, "--indicators-topic", velib_topics.indicators]
    result = CliRunner().invoke(main, args)  # nothing processed: the quarantine topic is empty
    lines = log.read_text().splitlines()
    corrupt = len(lines) - 1
    assert corrupt > 0 and result.exit_code == 1
    assert f"Error: quarantined: expected {corrupt}, got 0" in result.output
    log.write_text("\n".join(lines[:-1]) + "\n")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and f"the fault log ({corrupt - 1} faults) differs from what a replay" in result.output


@settings(max_examples=4, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    specs=st.lists(
        st.sampled_from(["duplicate=0.4", "reorder=6", "drop=0.3", "corrupt=0.3", "skew=0.4:±1m", "late=0.4:3m"]),
        min_size=1,
        max_size=4,
        unique_by=lambda spec: spec.split("=")[0],
    ),
    max_offsets=st.sampled_from([None, 7]),
)
def test_outcome_always_equals_the_ledger_expectation(
    velib_kafka, velib_kafka_target, velib_spark, sample, postcodes, seed, specs, max_offsets
):
    """Random seeds and fault mixes on 5 stations by 5 snapshots: the job's output is the expectation, always."""
    names = fresh_topics(velib_kafka_target)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "faults.jsonl"
        plan = ReplayPlan(wanted=parse_station_filter("16107,32304,14111,8026,7002"), limit=5)
        faults = [parse_fault(spec) for spec in specs]
        replay_to_topic(sample, velib_kafka_target, names.status, PlayOptions(plan, faults, seed=seed, fault_log=log))
        summary = process_once(
            velib_spark,
            velib_kafka,
            names,
            Path(folder) / "cp",
            watermark="2 minutes",
            max_offsets_per_trigger=max_offsets,
        )
        stream = [message.value for message in replayed_stream(sample, read_ledger(log))]
    expected = outcome([stream], postcodes, watermark_s=120, max_offsets=max_offsets)
    assert latest_indicators(velib_kafka, names) == expected.indicators
    assert (summary.quarantined, summary.dropped_late) == (expected.quarantined, expected.late_groups)
