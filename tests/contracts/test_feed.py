import pytest

from velib_replay.contracts.feed import (
    FeedError,
    bikes_by_type,
    count_of,
    iso_utc,
    minified,
    parse_status,
    station_code,
)


def test_parses_the_real_snapshot_shape(sample):
    poll = sample.polls("station_status")[0]
    document = parse_status(sample.body(poll))
    assert document.last_updated == 1760778556
    assert len(document.stations) == 1495
    assert document.stations[0]["stationCode"] == "16107"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"data": {"stations": [', "not JSON"),
        (b"<html>502</html>", "not JSON"),
        (b'{"data": {}}', "no data.stations"),
    ],
)
def test_unusable_bodies_raise_a_one_line_reason(body, reason):
    with pytest.raises(FeedError, match=reason):
        parse_status(body)


def test_bike_types_from_list_of_one_key_objects_or_a_map():
    assert bikes_by_type({"num_bikes_available_types": [{"mechanical": 3}, {"ebike": 4}]}) == (3, 4)
    assert bikes_by_type({"num_bikes_available_types": {"mechanical": 1, "ebike": 2}}) == (1, 2)
    assert bikes_by_type({"num_bikes_available_types": [{"ebike": 5}]}) == (0, 5)
    assert bikes_by_type({}) == (0, 0)
    assert bikes_by_type({"num_bikes_available_types": [{"mechanical": "3"}, {"ebike": True}]}) == (0, 0)


def test_time_format_of_the_contract():
    assert iso_utc(1760778556) == "2025-10-18T09:09:16Z"


def test_minified_matches_the_feed_bytes(sample):
    import json

    body = sample.body(sample.polls("station_status")[0])
    assert minified(json.loads(body)) == body


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (0, 0),
        (7, 7),
        (2**31 - 1, 2**31 - 1),
        (2**31, 0),
        (2**63, 0),
        (-1, 0),
        ("7", 0),
        (7.0, 0),
        (True, 0),
        (None, 0),
        ([7], 0),
        ({"n": 7}, 0),
    ],
)
def test_a_count_is_an_integer_from_0_to_2_31_minus_1(value, count):
    assert count_of(value) == count


def test_each_bike_types_entry_is_judged_on_its_own():
    types = [{"mechanical": 3}, {"ebike": "2"}, {"ebike": 7}, 5, "x", None, [{"ebike": 1}], {"ebike": 3}]
    assert bikes_by_type({"num_bikes_available_types": types}) == (3, 10)
    assert bikes_by_type({"num_bikes_available_types": {"mechanical": 2**31, "ebike": 4}}) == (0, 4)


@pytest.mark.parametrize("types", [None, 3, "mechanical", True, [], {}, [[]]])
def test_bike_types_of_any_other_shape_count_0(types):
    assert bikes_by_type({"num_bikes_available_types": types}) == (0, 0)


@pytest.mark.parametrize("station", [1, "x", None, [], {"stationCode": 16107}, {"stationCode": ""}, {}])
def test_a_station_without_a_string_code_has_no_code(station):
    assert station_code(station) is None
    assert bikes_by_type(station) == (0, 0) or isinstance(station, dict)


def test_a_station_list_holding_non_objects_parses():
    body = b'{"data":{"stations":[1,"x",{"stationCode":"16107","num_bikes_available_types":4}]}}'
    stations = parse_status(body).stations
    assert [station_code(station) for station in stations] == [None, None, "16107"]
    assert bikes_by_type(stations[2]) == (0, 0)
