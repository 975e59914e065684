"""The latest value per key, record by record: an unreadable latest value hides no older one."""

from __future__ import annotations

import json

from velib_replay.verify.topic import TopicContents

ROW = {"snapshot_time": "t", "postcode": "75001", "stations": 1}
GOOD = json.dumps(ROW).encode()


def contents_of(*records: tuple[bytes | None, bytes | None]) -> TopicContents:
    contents = TopicContents(latest={})
    for key, value in records:
        contents.keep(key, value)
    return contents


def test_an_unreadable_latest_value_replaces_the_older_readable_one():
    contents = contents_of((b"t|75001", GOOD), (b"t|75001", b"{truncated"))
    assert contents.latest == {}
    assert contents.unreadable_latest == {"t|75001": "not JSON"}
    assert contents.doubt() == "the latest value of 1 key is unreadable"
    assert contents.unreadable_summary() == "1 record of 2 unreadable (1 not JSON)"
    assert contents.describe_unreadable_latest() == ["  unreadable latest value: t|75001 (not JSON)"]


def test_a_later_readable_value_or_a_tombstone_settles_the_key():
    contents = contents_of((b"a", b"\xff\xfe"), (b"a", GOOD), (b"b", b"[1]"), (b"b", None))
    assert contents.latest == {"a": ROW}
    assert contents.doubt() is None
    assert contents.unreadable == 2
    assert contents.unreadable_summary() == "2 records of 4 unreadable (1 not UTF-8, 1 not a JSON object)"


def test_records_without_a_readable_key_are_doubt():
    contents = contents_of((None, GOOD), (b"\xff", GOOD), (b"k", GOOD))
    assert contents.latest == {"k": ROW}
    assert contents.unkeyed == 2
    assert contents.doubt() == "2 records without a readable key"
    assert contents.unreadable_summary() == "2 records of 3 unreadable (1 with a key not UTF-8, 1 without a key)"


def test_utf16_json_is_not_utf8():
    contents = contents_of((b"k", json.dumps(ROW).encode("utf-16")))
    assert contents.unreadable_latest == {"k": "not UTF-8"}


def test_many_unreadable_latest_values_are_cut():
    contents = contents_of(*((f"k{i:02}".encode(), b"?") for i in range(25)))
    lines = contents.describe_unreadable_latest(limit=3)
    assert lines[-1] == "  ... and 22 more unreadable latest values" and len(lines) == 4
    assert contents.doubt() == "the latest value of 25 keys is unreadable"
