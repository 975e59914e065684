"""``verify`` never says OK on doubt, on real topics holding what a faulty writer could leave there.

Each test is a reproduction kept as a regression test: before, an unreadable latest value silently
fell back to an older one, and an empty topic made an empty golden file that then verified "OK: 0 rows".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from kafka import KafkaProducer

from velib_replay.cli import main

pytestmark = pytest.mark.integration

ROW = {
    "snapshot_time": "2025-10-18T09:09:16Z",
    "postcode": "75001",
    "stations": 26,
    "bikes_available": 385,
    "mechanical": 214,
    "ebike": 171,
    "docks_available": 322,
}
KEY = f"{ROW['snapshot_time']}|{ROW['postcode']}".encode()
GOOD = json.dumps(ROW).encode()


def write(bootstrap: str, topic: str, *records: tuple[bytes | None, bytes | None]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close()


def verify(bootstrap: str, topic: str, *args: str):
    return CliRunner().invoke(main, ["verify", *args, "--bootstrap-servers", bootstrap, "--indicators-topic", topic])


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    path = tmp_path / "golden.jsonl"
    path.write_text(json.dumps(ROW, sort_keys=True) + "\n")
    return path


@pytest.mark.parametrize(("bad", "reason"), [(b'{"stations": 2', "not JSON"), (b"\xff\xfe{}", "not UTF-8")])
def test_an_unreadable_latest_value_fails_instead_of_falling_back(velib_kafka, velib_topics, golden, bad, reason):
    write(velib_kafka, velib_topics.indicators, (KEY, GOOD), (KEY, bad))
    result = verify(velib_kafka, velib_topics.indicators, "--golden", str(golden))
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        f"{velib_topics.indicators}: 1 record of 2 unreadable (1 {reason})",
        f"  unreadable latest value: {KEY.decode()} ({reason})",
        f"Error: {velib_topics.indicators} cannot be verified: the latest value of 1 key is unreadable",
    ]


def test_unreadable_records_superseded_by_readable_values_are_reported(velib_kafka, velib_topics, golden):
    write(velib_kafka, velib_topics.indicators, (KEY, b"garbage"), (KEY, GOOD))
    result = verify(velib_kafka, velib_topics.indicators, "--golden", str(golden))
    assert result.exit_code == 0, result.output
    topic = velib_topics.indicators
    assert result.output.splitlines() == [
        f"{topic}: 1 record of 2 unreadable (1 not JSON), each superseded by a later readable value of its key",
        f"OK: 1 rows in {topic} equal {golden} (2 records read, 1 unreadable but superseded)",
    ]


def test_records_without_a_key_fail(velib_kafka, velib_topics, golden):
    topic = velib_topics.indicators  # plain (not compacted): the broker takes records without a key there
    write(velib_kafka, topic, (KEY, GOOD), (None, GOOD), (b"\xff", GOOD))
    result = verify(velib_kafka, topic, "--golden", str(golden))
    assert result.exit_code == 1, result.output
    assert f"{topic}: 2 records of 3 unreadable (1 with a key not UTF-8, 1 without a key)" in result.output
    assert result.output.endswith(f"Error: {topic} cannot be verified: 2 records without a readable key\n")


def test_update_refuses_to_write_a_golden_file_from_a_doubtful_topic(velib_kafka, velib_topics, tmp_path):
    write(velib_kafka, velib_topics.indicators, (KEY, GOOD), (KEY, b"garbage"))
    target = tmp_path / "new.jsonl"
    result = verify(velib_kafka, velib_topics.indicators, "--golden", str(target), "--update")
    assert result.exit_code == 1 and "cannot be verified" in result.output
    assert not target.exists()


def test_an_empty_topic_makes_no_golden_file_unless_allowed(velib_kafka, velib_topics, tmp_path):
    topic = velib_topics.indicators
    target = tmp_path / "empty.jsonl"
    refused = verify(velib_kafka, topic, "--golden", str(target), "--update")
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: {topic} is empty: not writing an empty golden file {target} (pass --allow-empty if that is expected)\n"
    )
    assert not target.exists()
    allowed = verify(velib_kafka, topic, "--golden", str(target), "--update", "--allow-empty")
    assert allowed.exit_code == 0 and allowed.output == f"Wrote 0 rows to {target}\n"
    assert target.read_text().splitlines()[1:] == []  # the header line alone
    empty_vs_empty = verify(velib_kafka, topic, "--golden", str(target))
    assert empty_vs_empty.exit_code == 1
    assert empty_vs_empty.output == (
        f"Error: {topic} and {target} are both empty: nothing was compared (pass --allow-empty if that is expected)\n"
    )
    accepted = verify(velib_kafka, topic, "--golden", str(target), "--allow-empty")
    assert accepted.exit_code == 0 and accepted.output.startswith(f"OK: 0 rows in {topic}")


def test_an_empty_golden_file_against_rows_and_rows_against_an_empty_topic_differ(
    velib_kafka, velib_topics, golden, tmp_path
):
    empty_golden = tmp_path / "empty.jsonl"
    empty_golden.write_text("")
    empty_topic = velib_topics.quarantine
    missing = verify(velib_kafka, empty_topic, "--golden", str(golden), "--allow-empty")
    assert missing.exit_code == 1 and "1 missing, 0 extra, 0 changed" in missing.output
    assert missing.output.endswith(f"differs from {golden} (the topic is empty: has the job run?)\n")
    write(velib_kafka, velib_topics.indicators, (KEY, GOOD))
    extra = verify(velib_kafka, velib_topics.indicators, "--golden", str(empty_golden), "--allow-empty")
    assert extra.exit_code == 1 and "0 missing, 1 extra, 0 changed" in extra.output
    assert extra.output.endswith(f"Error: {velib_topics.indicators} differs from {empty_golden}\n")


def test_update_then_verify_round_trip(velib_kafka, velib_topics, tmp_path):
    write(velib_kafka, velib_topics.indicators, (KEY, GOOD))
    target = tmp_path / "golden.jsonl"
    written = verify(velib_kafka, velib_topics.indicators, "--golden", str(target), "--update")
    assert written.exit_code == 0 and written.output == f"Wrote 1 rows to {target}\n"
    checked = verify(velib_kafka, velib_topics.indicators, "--golden", str(target))
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith(f"OK: 1 rows in {velib_topics.indicators} equal {target}")


def test_an_empty_expectation_from_a_recording_is_not_ok_on_an_empty_topic(velib_kafka, velib_topics, sample):
    args = ["--recording", str(sample.path), "--stations", "99999"]  # a station the sample does not hold
    refused = verify(velib_kafka, velib_topics.indicators, *args)
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: {velib_topics.indicators} and the computation over {sample.path} are both empty: "
        "nothing was compared (pass --allow-empty if that is expected)\n"
    )


def test_a_missing_topic_is_a_one_line_error(velib_kafka, golden):
    result = verify(velib_kafka, "no-such-indicators-topic", "--golden", str(golden))
    assert result.exit_code == 1
    assert result.output == "Error: topic no-such-indicators-topic does not exist (nothing was computed yet?)\n"


def test_any_topic_written_without_keys_verifies_by_its_key_fields(velib_kafka, velib_topics, tmp_path):
    """The original consumer's output on the (plain) indicators topic: rows without Kafka keys, the latest row per
    postcode counts, and a row without its postcode (Spark's to_json drops null fields) is the null postcode's."""
    topic, target = velib_topics.indicators, tmp_path / "by_postcode.jsonl"
    old, new, other = {"cp": 75001, "velos": 1}, {"cp": 75001, "velos": 2}, {"cp": 75002, "velos": 9}
    no_cp_old, no_cp, null_cp = {"velos": 3}, {"velos": 4}, {"cp": None, "velos": 4}
    rows = (old, no_cp_old, other, new, no_cp)
    write(velib_kafka, topic, *((None, json.dumps(row).encode()) for row in rows))
    by_postcode = ("--topic", topic, "--golden", str(target), "--key-fields", "cp")
    written = verify(velib_kafka, "unused", *by_postcode, "--update")
    assert written.exit_code == 0 and written.output == f"Wrote 3 rows to {target}\n"
    assert target.read_text().splitlines()[1:] == [json.dumps(row, sort_keys=True) for row in (new, other, no_cp)]
    assert verify(velib_kafka, "unused", *by_postcode).output.startswith(f"OK: 3 rows in {topic} equal {target}")
    target.write_text(target.read_text().replace(json.dumps(no_cp), json.dumps(null_cp)))
    assert verify(velib_kafka, "unused", *by_postcode).exit_code == 0  # a golden row with "cp": null is that key's
    target.write_text(target.read_text().replace('"velos": 9', '"velos": 8'))
    changed = verify(velib_kafka, "unused", *by_postcode)
    assert changed.exit_code == 1
    assert "  changed: 75002: velos: expected 8, got 9" in changed.output.splitlines()
    write(velib_kafka, velib_topics.status, (KEY, GOOD))
    keyed = verify(velib_kafka, "unused", "--topic", velib_topics.status, "--golden", str(target))
    assert keyed.exit_code == 1 and "  missing: 75001" in keyed.output  # the file says its key: cp
