import pytest

from velib_replay.recording.feed import FeedError, bikes_by_type, iso_utc, minified, parse_status


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
