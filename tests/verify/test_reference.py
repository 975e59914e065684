import json

from velib_replay.job.contract import UNKNOWN_POSTCODE
from velib_replay.verify.golden import read_golden, write_golden
from velib_replay.verify.reference import compute


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
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["snapshot_time"] for row in rows] == ["1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z"]
    assert all(list(row) == sorted(row) for row in rows)
