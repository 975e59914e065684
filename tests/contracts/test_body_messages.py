"""Messages built from the body's own bytes carry the same JSON values as the parse-and-encode path."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE

from velib_replay.contracts.messages import Message, Messages, batch_columns, body_messages, snapshot_messages
from velib_replay.contracts.station_bytes import station_texts
from velib_replay.recording import Recording

CLOCK = 1760778556  # 2025-10-18T09:09:16Z
ODD = [
    {"stationCode": "1", "num_bikes_available": 2, "num_bikes_available_types": [{"ebike": 1}]},
    {},
    {"stationCode": "2", "snapshot_time": "stale"},
    7,
    None,
    {"stationCode": "é", "x": "\u00e9\\n"},
    {"stationCode": "3", "num_docks_available": 1e400},
]


def values_of(messages) -> list:
    return [(message.key, json.loads(message.value)) for message in messages]


def test_the_sample_is_sent_byte_for_byte_as_before():
    recording = Recording(SAMPLE)
    for snapshot in list(recording.snapshots())[:3]:
        fast = body_messages(recording.body(snapshot.poll), snapshot.snapshot_time, None)
        plain = snapshot_messages(snapshot.stations, snapshot.snapshot_time, None)
        assert fast is not None and len(fast) == len(plain) > 1000
        assert list(fast) == plain


@pytest.mark.parametrize("spacing", [None, 2])
def test_odd_stations_and_whitespace_give_the_same_values_as_the_parse(spacing):
    body = json.dumps({"ttl": [1, {"data": 0}], "data": {"other": {}, "stations": ODD}}, indent=spacing).encode()
    fast = body_messages(body, CLOCK, None)
    assert fast is not None
    assert values_of(fast) == values_of(snapshot_messages(ODD, CLOCK, None))


def test_a_station_filter_keeps_the_named_codes():
    body = json.dumps({"data": {"stations": ODD}}).encode()
    assert body_messages(body, CLOCK, frozenset({"3", "1"})).keys == [b"1", b"3"]


def test_the_last_of_a_repeated_key_wins_as_in_json_loads():
    body = b'{"data": {"stations": [{"stationCode": "old"}]}, "data": {"stations": [{"stationCode": "new"}]}}'
    assert body_messages(body, CLOCK, None).keys == [b"new"]


@pytest.mark.parametrize(
    "body",
    [b"{ truncated", b'{"data": {"stations": [1,]}}', b'{"data": {"stations": 3}}', b"{}", b"[]", b'{"data": 1} x',
     b"\xff{}", '\ufeff{"data": {"stations": []}}'.encode()],
)  # fmt: skip
def test_anything_but_a_plain_document_is_left_to_the_parse(body):
    assert station_texts(body) is None and body_messages(body, CLOCK, None) is None


def test_messages_read_as_a_sequence_of_message():
    batch = Messages([b"a", None], [b"1", b"2"], 7000)
    assert list(batch) == [Message(b"a", b"1", 7000), Message(None, b"2", 7000)] and batch[1] == Message(
        None, b"2", 7000
    )
    assert batch_columns(batch) == ([b"a", None], [b"1", b"2"], [7000, 7000])
    assert batch_columns(iter([Message(b"k", b"v")])) == ([b"k"], [b"v"], [None])
    assert list(batch[1:]) == [Message(None, b"2", 7000)]
