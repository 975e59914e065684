import json

import pytest

from velib_replay.contracts.messages import parse_station_filter, snapshot_messages, station_message

STATION = {"station_id": 1, "num_bikes_available": 2, "stationCode": "11031_relais", "station_opening_hours": None}


def test_value_keeps_feed_fields_and_adds_snapshot_time():
    message = station_message(STATION, 1760778556)
    assert message.key == b"11031_relais"
    value = json.loads(message.value)
    assert {k: value[k] for k in STATION} == STATION
    assert value["snapshot_time"] == "2025-10-18T09:09:16Z"
    assert list(value)[: len(STATION)] == list(STATION)  # field order untouched


def test_station_without_code_is_sent_without_key_not_dropped():
    message = station_message({"num_bikes_available": 1}, 0)
    assert message.key is None


def test_filter_keeps_named_stations_in_feed_order():
    stations = [{"stationCode": code} for code in ("1", "2", "3")]
    messages = snapshot_messages(stations, 0, parse_station_filter("3, 1"))
    assert [m.key for m in messages] == [b"1", b"3"]
    assert len(snapshot_messages(stations, 0, parse_station_filter("all"))) == 3


def test_empty_filter_is_an_error():
    with pytest.raises(ValueError):
        parse_station_filter(" , ")
