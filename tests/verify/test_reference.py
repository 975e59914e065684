import json

import pytest

from velib_replay.contracts.indicators import UNKNOWN_POSTCODE, Reason
from velib_replay.verify.golden import read_golden, write_golden
from velib_replay.verify.reference import Judgement, compute, judge, read_message


def station(code, bikes, mechanical, ebike, docks):
    return {
        "stationCode": code,
        "num_bikes_available": bikes,
        "num_bikes_available_types": [{"mechanical": mechanical}, {"ebike": ebike}],
        "num_docks_available": docks,
    }


POSTCODES = {"a": "75001", "b": "75001", "c": "75002"}


def test_sums_per_postcode_and_unknown_stations_are_kept():
    result = compute([(0, [station("a", 3, 1, 2, 7), station("b", 1, 1, 0, 9), station("z", 4, 4, 0, 1)])], POSTCODES)
    assert result["1970-01-01T00:00:00Z|75001"] == {
        "snapshot_time": "1970-01-01T00:00:00Z",
        "postcode": "75001",
        "stations": 2,
        "bikes_available": 4,
        "mechanical": 2,
        "ebike": 2,
        "docks_available": 16,
    }
    assert result[f"1970-01-01T00:00:00Z|{UNKNOWN_POSTCODE}"]["stations"] == 1


def test_a_snapshot_published_twice_counts_once():
    snapshot = (60, [station("a", 3, 1, 2, 7)])
    once = compute([snapshot], POSTCODES)
    assert compute([snapshot, snapshot], POSTCODES) == once
    assert once["1970-01-01T00:01:00Z|75001"]["bikes_available"] == 3


def test_conflicting_readings_resolve_the_same_whatever_the_order():
    first, second = station("a", 3, 1, 2, 7), station("a", 2, 1, 1, 8)
    assert compute([(0, [first]), (0, [second])], POSTCODES) == compute([(0, [second]), (0, [first])], POSTCODES)


def test_golden_round_trip(tmp_path):
    result = compute([(0, [station("a", 3, 1, 2, 7)]), (60, [station("c", 1, 0, 1, 2)])], POSTCODES)
    path = tmp_path / "golden.jsonl"
    write_golden(path, result)
    assert read_golden(path) == result
    rows = [json.loads(line) for line in path.read_text().splitlines()[1:]]  # after the header line
    assert [row["snapshot_time"] for row in rows] == ["1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z"]
    assert all(list(row) == sorted(row) for row in rows)


NOW = 1760778556  # 2025-10-18T09:09:16Z
FUTURE_HOUR = 3600


def message(**fields) -> bytes:
    return json.dumps({"stationCode": "a", "snapshot_time": "2025-10-18T09:09:16Z"} | fields).encode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, Reason.NO_VALUE),
        (b"", Reason.NOT_OBJECT),
        (b"{not json", Reason.NOT_OBJECT),
        (b"\xff{}", Reason.NOT_OBJECT),
        (b'{"stationCode": "\xff", "snapshot_time": "2025-10-18T09:09:16Z"}', Reason.NOT_OBJECT),
        (b"[1, 2]", Reason.NOT_OBJECT),
        (b"12", Reason.NOT_OBJECT),
        (b"null", Reason.NOT_OBJECT),
        (b'"x"', Reason.NOT_OBJECT),
        (b'{"stationCode": "a", "stationCode": "b"}', Reason.NOT_OBJECT),
        (b'{"stationCode": "a", "num_bikes_available": NaN}', Reason.NOT_OBJECT),
        (b'{"stationCode": "\\ud800"}', Reason.NOT_OBJECT),
        (b'{"n": ' + b"1" * 1001 + b"}", Reason.NOT_OBJECT),
        (b'{"snapshot_time": "2025-10-18T09:09:16Z"}', Reason.NO_STATION_CODE),
        (message(stationCode=16107), Reason.NO_STATION_CODE),
        (message(stationCode=""), Reason.NO_STATION_CODE),
        (message(snapshot_time="yesterday"), Reason.BAD_TIME),
        (message(snapshot_time=1760778000), Reason.BAD_TIME),
        (message(snapshot_time=["2025-10-18T09:09:16Z"]), Reason.BAD_TIME),
        (message(snapshot_time={"t": 1}), Reason.BAD_TIME),
        (message(snapshot_time=""), Reason.BAD_TIME),
        (message(snapshot_time=None), Reason.BAD_TIME),
        (message(snapshot_time="2025-02-29T00:00:00Z"), Reason.BAD_TIME),
        (message(snapshot_time="2025-10-18T24:00:00Z"), Reason.BAD_TIME),
        (message(snapshot_time="2025-10-18T09:09:16Z "), Reason.BAD_TIME),
        (message(snapshot_time="2025-10-18 09:09:16Z"), Reason.BAD_TIME),
        (message(snapshot_time="0000-01-01T00:00:00Z"), Reason.BAD_TIME),
        (message(snapshot_time="1999-12-31T23:59:59Z"), Reason.BAD_TIME),
        (message(snapshot_time="2099-01-01T00:00:00Z"), Reason.FUTURE),
        (message(snapshot_time="2025-10-18T10:09:17Z"), Reason.FUTURE),
    ],
)
def test_unusable_messages_get_the_jobs_reason(value, reason):
    assert read_message(value, NOW, FUTURE_HOUR) == reason
    assert judge([value], POSTCODES, NOW, FUTURE_HOUR) == Judgement({}, [(0, reason)])


def test_usable_messages_count_with_out_of_range_counts_adding_0():
    values = [
        message(num_bikes_available=2**31, num_docks_available=3),
        message(stationCode="b", num_bikes_available=2**31 - 1, num_docks_available="4"),
        message(stationCode="c", snapshot_time="2025-10-18T10:09:16Z", num_bikes_available_types=[{"ebike": "2"}, 5]),
        b' \n{"stationCode": "z", "snapshot_time": "2000-01-01T00:00:00Z", "num_bikes_available": true} trailing',
    ]
    result = judge(values, POSTCODES, NOW, FUTURE_HOUR)
    assert result.rejected == []
    assert result.indicators["2025-10-18T09:09:16Z|75001"] == {
        "snapshot_time": "2025-10-18T09:09:16Z",
        "postcode": "75001",
        "stations": 2,
        "bikes_available": 2**31 - 1,
        "mechanical": 0,
        "ebike": 0,
        "docks_available": 3,
    }
    assert result.indicators["2025-10-18T10:09:16Z|75002"]["ebike"] == 0
    assert result.indicators[f"2000-01-01T00:00:00Z|{UNKNOWN_POSTCODE}"]["bikes_available"] == 0


def test_sums_of_counts_are_not_capped_at_32_bits():
    values = [message(stationCode=code, num_bikes_available=2**31 - 1) for code in ("a", "b")]
    assert judge(values, POSTCODES, NOW).indicators["2025-10-18T09:09:16Z|75001"]["bikes_available"] == 2**32 - 2
