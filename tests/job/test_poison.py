"""The job never halts on data: reproductions of the robustness issue, on the real broker and Spark.

Each test publishes raw bytes, runs the real job, and compares what it wrote with
the reference's judgement of the same bytes (``verify.reference.judge``).
"""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from helpers import latest_indicators, process_once, replay
from raw_messages import expected_quarantine, quarantined, send_raw

from velib_replay.cli import main
from velib_replay.contracts.indicators import Reason
from velib_replay.verify.golden import read_golden
from velib_replay.verify.reference import judge

pytestmark = pytest.mark.integration
REAL_TIME = "2025-10-18T09:09:16Z"


def station(code: str = "16107", snapshot_time: object = REAL_TIME, **fields) -> bytes:
    return json.dumps({"stationCode": code, "snapshot_time": snapshot_time} | fields).encode()


def run_and_judge(velib_spark, velib_kafka, names, checkpoint, postcodes, values):
    """Publish ``values``, run the job once, and assert it agrees with the reference; returns the judgement."""
    offsets = send_raw(velib_kafka, names.status, values)
    now = time.time()
    summary = process_once(velib_spark, velib_kafka, names, checkpoint)
    expected = judge(values, postcodes, now)
    assert latest_indicators(velib_kafka, names) == expected.indicators
    assert quarantined(velib_kafka, names.quarantine) == expected_quarantine(offsets, expected.rejected)
    assert summary.quarantined == len(expected.rejected)
    return expected


def test_snapshot_times_that_cannot_be_parsed_are_quarantined(
    velib_spark, velib_kafka, velib_topics, checkpoint, postcodes
):
    values = [
        station(snapshot_time="yesterday"),
        station(snapshot_time=1760778000),
        station("9020", num_bikes_available=1),
    ]
    expected = run_and_judge(velib_spark, velib_kafka, velib_topics, checkpoint, postcodes, values)
    assert [reason for _index, reason in expected.rejected] == [Reason.BAD_TIME, Reason.BAD_TIME]
    assert list(expected.indicators) == [f"{REAL_TIME}|75009"]
    assert process_once(velib_spark, velib_kafka, velib_topics, checkpoint).input_rows == 0  # restarts cleanly


def test_counts_beyond_32_bits_add_0_and_sums_are_64_bit(velib_spark, velib_kafka, velib_topics, checkpoint, postcodes):
    values = [
        station("16107", num_bikes_available=2**31 - 1),
        station("16107_twin", num_bikes_available=2**31 - 1),  # unknown postcode
        station("9020", num_bikes_available=2**31 - 1, num_docks_available=2**31),
        station("9020_twin", num_bikes_available=2**31 - 1, num_docks_available=2**63 + 5),
    ]
    expected = run_and_judge(velib_spark, velib_kafka, velib_topics, checkpoint, postcodes, values)
    nine = expected.indicators[f"{REAL_TIME}|75009"]
    assert (nine["bikes_available"], nine["docks_available"]) == (2**31 - 1, 0)
    assert expected.indicators[f"{REAL_TIME}|unknown"]["bikes_available"] == 2 * (2**31 - 1)


def test_one_bad_bike_types_entry_loses_only_itself(velib_spark, velib_kafka, velib_topics, checkpoint, postcodes):
    types = [{"mechanical": 1}, {"ebike": 3}, {"ebike": "2"}, {"ebike": 7}, 4, None]
    values = [station(num_bikes_available_types=types), station("9020", num_bikes_available_types=5)]
    expected = run_and_judge(velib_spark, velib_kafka, velib_topics, checkpoint, postcodes, values)
    assert expected.indicators[f"{REAL_TIME}|75016"]["ebike"] == 10


def test_a_bad_count_in_the_feeds_two_entry_list_loses_only_itself(
    velib_spark, velib_kafka, velib_topics, checkpoint, postcodes
):
    """The feed's own shape is read typed: a count that fits no bigint, or is text, counts 0 alone."""
    types = [{"mechanical": 2**64, "ebike": 2}, {"mechanical": "3", "ebike": 1}]
    expected = run_and_judge(
        velib_spark, velib_kafka, velib_topics, checkpoint, postcodes, [station(num_bikes_available_types=types)]
    )
    row = expected.indicators[f"{REAL_TIME}|75016"]
    assert (row["mechanical"], row["ebike"]) == (0, 3)


def test_a_message_from_the_future_does_not_hold_back_real_ones(
    velib_spark, velib_kafka, velib_topics, checkpoint, postcodes
):
    first = [station(snapshot_time="2099-01-01T00:00:00Z"), station("9020")]
    run_and_judge(velib_spark, velib_kafka, velib_topics, checkpoint, postcodes, first)
    later = [station("14111", snapshot_time="2025-10-18T09:10:16Z"), station("16107")]
    send_raw(velib_kafka, velib_topics.status, later)
    summary = process_once(velib_spark, velib_kafka, velib_topics, checkpoint)
    assert (summary.input_rows, summary.dropped_late) == (2, 0)
    assert judge(first + later, postcodes, time.time()).indicators == latest_indicators(velib_kafka, velib_topics)


POISON = [
    None,
    b"",
    b"{not json",
    b"\xff\xfe garbage",
    b'[{"stationCode": "16107"}]',
    b"42",
    b"null",
    b'"16107"',
    b'{"stationCode": "16107", "stationCode": "9020", "snapshot_time": "2025-10-18T09:09:16Z"}',
    b'{"stationCode": "16107", "snapshot_time": "2025-10-18T09:09:16Z", "num_bikes_available": NaN}',
    b'{"stationCode": "\xe9", "snapshot_time": "2025-10-18T09:09:16Z"}',
    b'{"num_bikes_available": 3, "snapshot_time": "2025-10-18T09:09:16Z"}',
    station(16107),
    station(""),
    *(
        station(snapshot_time=when)
        for when in ("yesterday", 1760778000, ["x"], {"t": 1}, "", None, "2025-02-30T00:00:00Z", "0000-01-01T00:00:00Z")
    ),
    station(snapshot_time="2099-01-01T00:00:00Z"),
]


def test_sample_with_poison_of_every_kind_gives_the_golden_file(
    sample, velib_spark, velib_kafka, velib_topics, tmp_path
):
    """The issue's acceptance: ``process --once`` exits normally, golden indicators, exactly the poison quarantined."""
    names = velib_topics
    offsets = send_raw(velib_kafka, names.status, POISON)
    replay(sample, velib_kafka, names.status, speed=None)
    offsets += send_raw(velib_kafka, names.status, POISON)
    arguments = ["--bootstrap-servers", velib_kafka, "--topic", names.status, "--indicators-topic",
                 names.indicators, "--quarantine-topic", names.quarantine, "--checkpoint", str(tmp_path / "cp"),
                 "--show", "0"]  # fmt: skip
    result = CliRunner().invoke(main, ["process", "--once", *arguments])
    assert result.exit_code == 0, result.output
    assert f"{2 * len(POISON)} message(s) set aside" in result.output
    assert latest_indicators(velib_kafka, names) == read_golden(SAMPLE / "indicators.golden.jsonl")
    rejected = judge(POISON + POISON, {}, time.time()).rejected
    assert len(rejected) == 2 * len(POISON)
    assert quarantined(velib_kafka, names.quarantine) == expected_quarantine(offsets, rejected)
